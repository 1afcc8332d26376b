//! What generated code needs from this crate and users never call: the checks that
//! `validate()` runs, the serde helpers that make decoding agree with JSON Schema, the
//! registry's glue, and the dates of the wire. `#[doc(hidden)]` and private by
//! convention, as progenitor's `progenitor_client` is: it may change in any release.
//!
//! Public only because code generated outside this crate (the generator's test
//! fixtures) and this workspace's other crates reach it.

#[path = "checks.rs"]
pub mod checks;
#[path = "de.rs"]
pub mod de;
#[path = "time.rs"]
pub mod time;
#[path = "wording.rs"]
pub mod wording;

pub use crate::request::{model_info, validate_json};
