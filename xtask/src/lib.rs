//! The workspace's own tasks, as a library so that the `tests` package can run the
//! generator on fixtures and check that the checked-in code is fresh.
//!
//! Nothing at run time depends on this crate: only the `xtask` binary and the tests.

#[cfg(feature = "bench")]
pub mod bench;
pub mod bench_page;
mod cargo;
pub mod codegen;
pub mod import;
pub mod man;
pub mod schema_diff;
pub mod soak;
