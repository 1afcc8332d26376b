//! The schema dialect of the kling workspace (`schema/README.md`), read in one place.
//!
//! - [`check`] reads one schema file, refuses anything it does not fully understand
//!   ([`SchemaError`]: file, JSON pointer, what to do) and gives its one checked form,
//!   [`Checked`]: the facts the generator, the parameter tables and `schema-diff` act on.
//! - [`import`] turns Scenario's description of a model (`GET /v1/models/{id}`) into a
//!   schema of the dialect ([`ImportError`] names the input and field it cannot map), and
//!   [`merge`] puts a curated schema's own keys (`$comment`s, `x-enum-names`, flags) back
//!   over an import.
//! - [`diff_model`] and [`diff_api`] check two versions of a schema and word every
//!   [`Change`] between their checked forms with the semver [`Bump`] it needs ([`DiffError`]
//!   when the dialect refuses one); [`verdict`] is the largest.
//! - The naming functions ([`request_type_name`], [`variant_name`], [`kebab`], …) decide
//!   every Rust and flag name the dialect implies; [`RESERVED_FLAGS`] are the flags of
//!   `kling generate` itself, which no parameter may take.
//!
//! It carries no code generator (no `quote`, `syn` or typify): `xtask` builds on it to
//! write code, and the `kling` binary links it to check a model's live description
//! against its built-in schema, so it stays small.
//!
//! ```
//! let schema = r#"{
//!     "$schema": "http://json-schema.org/draft-07/schema#",
//!     "x-model-id": "model_demo",
//!     "title": "Demo",
//!     "type": "object",
//!     "additionalProperties": false,
//!     "required": ["prompt"],
//!     "properties": {"prompt": {"type": "string", "maxLength": 10}}
//! }"#;
//! let checked = kling_dialect::check("demo.json", schema, kling_dialect::Kind::Model, "kling_types")?;
//! assert_eq!(checked.properties[0].flag, "prompt");
//! assert!(checked.properties[0].required);
//! # Ok::<(), kling_dialect::SchemaError>(())
//! ```

#![warn(missing_docs)]

mod check;
mod diff;
mod flags;
mod import;
mod naming;

pub use check::{
    ASSET_KINDS, AssetFacts, Bounds, Checked, Condition, DOCUMENTATION, DRAFT_07, Docs, EnumDef,
    IdKind, Kind, ModelMeta, ObjectDef, Property, Rule, SchemaError, Shape, Variant, VariantValue,
    annotation, check, check_value, is_multiple_of,
};
pub use diff::{
    Bump, Change, DiffError, Version, diff_api, diff_file, diff_model, kind_of, verdict,
};
pub use flags::{RESERVED_FLAGS, is_reserved_flag, renamed_flag};
pub use import::merge::{CURATED, Merged, carry_enum_names, merge};
pub use import::{HELP_SAVE, ImportError, MODEL_TYPES, UI_FIELDS, import};
pub use naming::{
    kebab, module_name, property_type_name, request_type_name, upper_camel, variant_name,
};
