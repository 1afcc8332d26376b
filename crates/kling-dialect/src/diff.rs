//! The semver rules of a schema change: what a change to a schema of the dialect means
//! for users of `kling-types`, and which bump it needs (`cargo xtask schema-diff`, the
//! importer's merge report, `kling`'s drift check).
//!
//! [`diff_model`] and [`diff_api`] check both versions of one schema with
//! [`check`](crate::check) (a version the dialect refuses is a [`DiffError`] naming the
//! version, file, JSON pointer and keyword: never a change "to review by hand") and list
//! every [`Change`] with its [`Bump`]; [`verdict`] is the largest; [`diff_file`] also words
//! a file added or removed. The rules follow what the generator makes of the checked form
//! (see `schema/README.md`): request structs are `#[non_exhaustive]` and built with
//! `new(required…)`/`with_*`, enums are `#[non_exhaustive]`, response types decode
//! leniently. Two versions whose checked forms agree are no change, however they are
//! spelled (`$schema` or `additionalProperties: true` written out or left out, `1` or
//! `1.0`, `x-enum-names` that repeat the derived names, an `x-cli-flag` that repeats the
//! kebab-case name).
//!
//! # A model (`schema/models/…`), over the two checked forms
//!
//! | What changed | Bump | Why |
//! |---|---|---|
//! | `x-model-id` | major | the module, cargo feature, `MODELS` entry and the id sent change |
//! | `title`, when the request struct's name changes | major | the type is renamed |
//! | `title`, same struct name; `description`, `$comment`, `examples` anywhere | patch | docs only |
//! | `additionalProperties` true → false / false → true | major / minor | unlisted parameters fail / pass |
//! | parameter added: optional / required | minor / major | a new `with_*` / a new argument of `new` |
//! | parameter removed, or renamed (same checked form, another name) | major | its field, setter, flag and JSON name go |
//! | required ↔ optional | major | `T` ↔ `Option<T>`, and the arguments of `new` |
//! | the Rust type (`String`, `i64`, `f64`, `bool`, an id, an enum of strings / integers / numbers, `Vec<…>`) | major | code and requests break |
//! | enum value removed; its Rust variant renamed (`x-enum-names`) | major | the variant is gone |
//! | enum value added | minor | enums are `#[non_exhaustive]` |
//! | enum values reordered | patch | `ALL` and `VALUES` follow the order |
//! | a bound (`minimum`, `exclusiveMinimum`, `maximum`, `exclusiveMaximum`, `minLength`, `maxLength`, `minItems`, `maxItems`) narrowed / widened | major / minor | valid requests fail / more pass |
//! | `multipleOf` added or coarser / removed or finer (every old value still fits) | major / minor | as a bound |
//! | `pattern` added or changed / removed | major / minor | a regex cannot be proved wider, so a change is taken as narrower |
//! | `uniqueItems` added / removed | major / minor | as a bound |
//! | `const` | — | it is an enum of one value: the enum rules apply |
//! | `default` added, changed or removed | minor | a request that leaves the field out sends nothing, and the API applies its default: no code breaks and no request turns invalid, but such requests behave differently |
//! | `default` of an enum removed | major | the enum no longer implements `Default` |
//! | the flag (`x-cli-flag`, or the name in kebab-case) | major | scripts passing the old `kling generate` flag fail (kling-types' Rust API stays the same) |
//! | `x-asset-kind` | major | other files are uploaded and accepted |
//! | `x-max-size` smaller or added / larger or removed | major / minor | `kling` refuses larger files before uploading |
//! | `x-min-duration`, `x-max-duration`, `x-model-types`, `x-ui` | patch | documentation and the parameter table; the API checks them, `validate()` does not |
//! | `x-ignored-when-present` | patch | warnings of `validate()` only |
//! | `dependencies`: added / on a new parameter / removed | major / minor / minor | valid requests fail / none existed / more pass |
//! | a "required when" condition (`allOf`) added / removed | major / minor | valid requests fail / more pass |
//!
//! # An api schema (`schema/api/…`), over JSON that passed the checker
//!
//! The checked form of an api schema is the *lowered* schema typify reads, the enums we
//! generate and typify's replacements: it does not carry the fields of an object type
//! (typify reads those), so [`diff_api`] walks the two schemas' JSON, after
//! [`check`](crate::check) accepted both. It reads `definitions`, `type`, `format` (ids
//! through [`IdKind::from_format`](crate::IdKind::from_format)), `$ref`, `items`,
//! `properties`, `required`, `additionalProperties` and `default` from the JSON; enums
//! (`enum`, `x-enum-names`, `const`) and the documentation keywords from the checked form
//! ([`EnumDef`](crate::EnumDef) by its `pointer`, [`Checked::docs`](crate::Checked::docs)).
//! Every other keyword the checker refuses in an api schema. Rules: a definition or
//! required field added is minor / major, a field added minor, removed major, required ↔
//! optional major, the Rust type major, an enum value added minor (api enums are open)
//! and removed major, a `format` or `$ref` spelling with the same Rust type, a `default`
//! (documentation in a response type) and the documentation patch, except an object
//! type's `title`: typify may name the Rust type after it, so major.

mod api;
mod model;
mod shape;

use std::fmt;

use serde_json::Value;

use crate::{Checked, Docs, Kind, SchemaError, check_value};

/// The semver bump a change needs, smallest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bump {
    /// Documentation, comments, warnings: nothing a user's code or request notices.
    Patch,
    /// Additive: new parameters, fields, values, wider ranges, other defaults.
    Minor,
    /// Breaking: code that compiled, or requests that were valid, may now fail.
    Major,
}

impl Bump {
    /// `patch`, `minor` or `major`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Patch => "patch",
            Self::Minor => "minor",
            Self::Major => "major",
        }
    }

    /// The bump of a [`Self::name`]; `None` for any other text.
    ///
    /// ```
    /// use kling_dialect::Bump;
    /// assert_eq!(Bump::from_name("minor"), Some(Bump::Minor));
    /// assert_eq!(Bump::from_name("huge"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Patch, Self::Minor, Self::Major]
            .into_iter()
            .find(|bump| bump.name() == name)
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One difference between two versions of a schema, and what it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The semver bump this change needs.
    pub bump: Bump,
    /// The schema file, relative to the workspace root (`schema/models/…json`).
    pub file: String,
    /// Where in the file, as a JSON pointer (`/properties/duration`); empty for the
    /// whole file.
    pub pointer: String,
    /// What changed, and why it needs `bump` when that is not obvious.
    pub what: String,
}

/// Which of the two versions compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// The version compared from.
    Old,
    /// The version compared to.
    New,
}

impl Version {
    /// `old` or `new`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Old => "old",
            Self::New => "new",
        }
    }
}

/// A version of a schema the dialect refuses, so that there is nothing to compare.
///
/// Its message is the checker's, after the version: `the new version of
/// schema/models/x.json: at `/properties/p/x-deprecated`: the keyword … help: …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffError {
    /// The version refused.
    pub version: Version,
    /// Why: the file, the JSON pointer, the keyword and what to do.
    pub error: SchemaError,
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} version of {}", self.version.name(), self.error)
    }
}

impl std::error::Error for DiffError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The bump a set of changes needs: the largest of theirs, or `None` when nothing changed.
pub fn verdict(changes: &[Change]) -> Option<Bump> {
    changes.iter().map(|change| change.bump).max()
}

/// The kind of the schema at `path` (as typed by the user) holding `schema`: an api
/// schema when it is under `schema/api/`, or has top-level `definitions` and no
/// `x-model-id`; a model schema otherwise. (It only picks the reading [`check`](crate::check)
/// then applies.)
pub fn kind_of(path: &str, schema: &Value) -> Kind {
    let path = path.replace('\\', "/");
    let under_api = path.starts_with("schema/api/") || path.contains("/schema/api/");
    let looks_like_api = schema.get("definitions").is_some() && schema.get("x-model-id").is_none();
    if under_api || looks_like_api {
        Kind::Api
    } else {
        Kind::Model
    }
}

/// Every change between two versions of a model schema (`schema/models/…`), or the
/// version the dialect refuses.
///
/// ```
/// use kling_dialect::{Bump, diff_model, verdict};
/// use serde_json::json;
/// let old = json!({"x-model-id": "model_demo", "type": "object", "properties": {
///     "duration": {"type": "integer", "enum": [5, 10]}}});
/// let new = json!({"x-model-id": "model_demo", "type": "object", "properties": {
///     "duration": {"type": "integer", "enum": [5]}}});
/// let changes = diff_model("demo.json", &old, &new)?;
/// assert_eq!(changes[0].pointer, "/properties/duration");
/// assert!(changes[0].what.contains("enum value removed: 10"));
/// assert_eq!(verdict(&changes), Some(Bump::Major));
///
/// let refused = json!({"x-model-id": "model_demo", "type": "object", "x-deprecated": true});
/// let error = diff_model("demo.json", &old, &refused).unwrap_err();
/// assert_eq!(error.error.pointer, "/x-deprecated");
/// # Ok::<(), kling_dialect::DiffError>(())
/// ```
pub fn diff_model(file: &str, old: &Value, new: &Value) -> Result<Vec<Change>, DiffError> {
    let (old_checked, new_checked) = checked(file, Kind::Model, old, new)?;
    let mut changes = Changes::new(file);
    model::diff(&mut changes, &old_checked, &new_checked);
    Ok(changes.list)
}

/// Every change between two versions of an api schema (`schema/api/…`, definitions
/// only), or the version the dialect refuses.
///
/// ```
/// use serde_json::json;
/// let old = json!({"definitions": {"Status": {"type": "string", "enum": ["queued"]}}});
/// let new = json!({"definitions": {"Status": {"type": "string", "enum": ["queued", "done"]}}});
/// let changes = kling_dialect::diff_api("jobs.json", &old, &new)?;
/// assert_eq!(changes[0].what, "enum value added: done (a new variant `Done`)");
/// # Ok::<(), kling_dialect::DiffError>(())
/// ```
pub fn diff_api(file: &str, old: &Value, new: &Value) -> Result<Vec<Change>, DiffError> {
    let (old_checked, new_checked) = checked(file, Kind::Api, old, new)?;
    let mut changes = Changes::new(file);
    api::diff(&mut changes, (old, &old_checked), (new, &new_checked));
    Ok(changes.list)
}

/// Every change to one schema file of `kind`, which may be new (`old` is `None`) or
/// deleted (`new` is `None`); a file there is checked like the two of a change.
pub fn diff_file(
    file: &str,
    kind: Kind,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Result<Vec<Change>, DiffError> {
    let whole_file = |bump, what: String| {
        vec![Change {
            bump,
            file: file.to_owned(),
            pointer: String::new(),
            what,
        }]
    };
    let model_id = |version, schema: &Value| -> Result<String, DiffError> {
        let checked = check_one(file, kind, version, schema)?;
        Ok(checked
            .model
            .map_or_else(|| file.to_owned(), |model| model.id))
    };
    Ok(match (kind, old, new) {
        (_, None, None) => Vec::new(),
        (Kind::Model, Some(old), Some(new)) => diff_model(file, old, new)?,
        (Kind::Api, Some(old), Some(new)) => diff_api(file, old, new)?,
        (Kind::Model, None, Some(new)) => whole_file(
            Bump::Minor,
            format!(
                "model added: `{}` (a new module, cargo feature and `MODELS` entry)",
                model_id(Version::New, new)?
            ),
        ),
        (Kind::Model, Some(old), None) => whole_file(
            Bump::Major,
            format!(
                "model removed: `{}` (its module, cargo feature and `MODELS` entry are gone)",
                model_id(Version::Old, old)?
            ),
        ),
        (Kind::Api, None, Some(new)) => {
            check_one(file, kind, Version::New, new)?;
            whole_file(
                Bump::Minor,
                "api schema added: its types join `kling_types::api`".to_owned(),
            )
        }
        (Kind::Api, Some(old), None) => {
            check_one(file, kind, Version::Old, old)?;
            whole_file(
                Bump::Major,
                "api schema removed: its types are gone from `kling_types::api`".to_owned(),
            )
        }
    })
}

/// Both versions, checked.
fn checked(
    file: &str,
    kind: Kind,
    old: &Value,
    new: &Value,
) -> Result<(Checked, Checked), DiffError> {
    Ok((
        check_one(file, kind, Version::Old, old)?,
        check_one(file, kind, Version::New, new)?,
    ))
}

fn check_one(
    file: &str,
    kind: Kind,
    version: Version,
    schema: &Value,
) -> Result<Checked, DiffError> {
    // The runtime path only names ids in typify's replacements, which no rule reads.
    check_value(file, schema, kind, "kling_types").map_err(|error| DiffError { version, error })
}

/// The changes found so far in one file.
struct Changes<'a> {
    file: &'a str,
    list: Vec<Change>,
}

impl<'a> Changes<'a> {
    fn new(file: &'a str) -> Self {
        Self {
            file,
            list: Vec::new(),
        }
    }

    fn push(&mut self, bump: Bump, pointer: &str, what: impl Into<String>) {
        self.list.push(Change {
            bump,
            file: self.file.to_owned(),
            pointer: pointer.to_owned(),
            what: what.into(),
        });
    }

    /// The documentation of the node at `pointer`: patch, except the `title` of an
    /// object in an api schema (`title_names_type`): the generator hands it to typify,
    /// which may name the Rust type after it.
    fn docs(
        &mut self,
        pointer: &str,
        old: Option<&Docs>,
        new: Option<&Docs>,
        title_names_type: bool,
    ) {
        let (Some(old), Some(new)) = (old, new) else {
            return;
        };
        for ((keyword, old), (_, new)) in old.entries().into_iter().zip(new.entries()) {
            let label = match keyword {
                "$comment" => "`$comment`",
                other => other,
            };
            match (old, new) {
                (old, new) if old == new => {}
                _ if keyword == "title" && title_names_type => self.push(
                    Bump::Major,
                    pointer,
                    "title of an object type changed: typify may name the Rust type after it: review by hand",
                ),
                (None, Some(_)) => self.push(Bump::Patch, pointer, format!("{label} added")),
                (Some(_), None) => self.push(Bump::Patch, pointer, format!("{label} removed")),
                _ => self.push(Bump::Patch, pointer, format!("{label} changed")),
            }
        }
    }
}

/// A value in a message: its JSON, or `(none)`.
fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(none)".to_owned(), Value::to_string)
}
