//! The semver rules of a schema change: what a change to a schema of the dialect means
//! for users of `kling-types`, and which bump it needs (`cargo xtask schema-diff`, the
//! importer's merge report, `kling`'s drift check).
//!
//! [`diff_model`] and [`diff_api`] compare two versions of one schema and list every
//! [`Change`] with its [`Bump`]; [`verdict`] is the largest; [`diff_file`] also words a
//! file added or removed. The rules follow what the generator makes of each keyword (see
//! `schema/README.md`): request structs are `#[non_exhaustive]` and built with
//! `new(required…)`/`with_*`, enums are `#[non_exhaustive]`, response types decode
//! leniently. A keyword this module does not know is never skipped: it is reported as a
//! major change to review by hand.
//!
//! The comparison still walks the two schemas' JSON side by side (it names things with
//! the checker's naming functions and keyword lists); comparing two [`Checked`](crate::Checked)
//! values instead is issue 14's aim and not done yet. Callers that must not let a keyword
//! the checker refuses pass as "a change to review" run [`check`](crate::check) on both
//! sides first, as the drift check does.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::{DOCUMENTATION, DRAFT_07, IdKind, Kind, annotation, request_type_name, variant_name};

/// A JSON object, as a schema node is.
type Object = Map<String, Value>;

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

/// The bump a set of changes needs: the largest of theirs, or `None` when nothing changed.
pub fn verdict(changes: &[Change]) -> Option<Bump> {
    changes.iter().map(|change| change.bump).max()
}

/// The kind of the schema at `path` (as typed by the user) holding `schema`: an api
/// schema when it is under `schema/api/`, or has top-level `definitions` and no
/// `x-model-id`; a model schema otherwise.
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

/// Every change between two versions of a model schema (`schema/models/…`).
///
/// ```
/// use kling_dialect::{Bump, diff_model, verdict};
/// use serde_json::json;
/// let old = json!({"x-model-id": "model_demo", "type": "object", "properties": {
///     "duration": {"type": "integer", "enum": [5, 10]}}});
/// let new = json!({"x-model-id": "model_demo", "type": "object", "properties": {
///     "duration": {"type": "integer", "enum": [5]}}});
/// let changes = diff_model("demo.json", &old, &new);
/// assert_eq!(changes[0].pointer, "/properties/duration");
/// assert!(changes[0].what.contains("enum value removed: 10"));
/// assert_eq!(verdict(&changes), Some(Bump::Major));
/// ```
pub fn diff_model(file: &str, old: &Value, new: &Value) -> Vec<Change> {
    let mut differ = Differ::new(file, Kind::Model);
    differ.model_root(old, new);
    differ.changes
}

/// Every change between two versions of an api schema (`schema/api/…`, definitions only).
pub fn diff_api(file: &str, old: &Value, new: &Value) -> Vec<Change> {
    let mut differ = Differ::new(file, Kind::Api);
    differ.api_root(old, new);
    differ.changes
}

/// Every change to one schema file of `kind`, which may be new (`old` is `None`) or
/// deleted (`new` is `None`).
pub fn diff_file(file: &str, kind: Kind, old: Option<&Value>, new: Option<&Value>) -> Vec<Change> {
    let whole_file = |bump, what: String| {
        vec![Change {
            bump,
            file: file.to_owned(),
            pointer: String::new(),
            what,
        }]
    };
    let model_id = |schema: &Value| {
        schema
            .get("x-model-id")
            .and_then(Value::as_str)
            .map_or_else(|| file.to_owned(), str::to_owned)
    };
    match (kind, old, new) {
        (_, None, None) => Vec::new(),
        (Kind::Model, Some(old), Some(new)) => diff_model(file, old, new),
        (Kind::Api, Some(old), Some(new)) => diff_api(file, old, new),
        (Kind::Model, None, Some(new)) => whole_file(
            Bump::Minor,
            format!(
                "model added: `{}` (a new module, cargo feature and `MODELS` entry)",
                model_id(new)
            ),
        ),
        (Kind::Model, Some(old), None) => whole_file(
            Bump::Major,
            format!(
                "model removed: `{}` (its module, cargo feature and `MODELS` entry are gone)",
                model_id(old)
            ),
        ),
        (Kind::Api, None, Some(_)) => whole_file(
            Bump::Minor,
            "api schema added: its types join `kling_types::api`".to_owned(),
        ),
        (Kind::Api, Some(_), None) => whole_file(
            Bump::Major,
            "api schema removed: its types are gone from `kling_types::api`".to_owned(),
        ),
    }
}

/// Walks two versions of one schema side by side and collects the changes.
struct Differ<'a> {
    file: &'a str,
    kind: Kind,
    /// Model parameters renamed: old name → new name.
    renamed: BTreeMap<String, String>,
    changes: Vec<Change>,
}

impl<'a> Differ<'a> {
    fn new(file: &'a str, kind: Kind) -> Self {
        Self {
            file,
            kind,
            renamed: BTreeMap::new(),
            changes: Vec::new(),
        }
    }

    fn push(&mut self, bump: Bump, pointer: &str, what: impl Into<String>) {
        self.changes.push(Change {
            bump,
            file: self.file.to_owned(),
            pointer: pointer.to_owned(),
            what: what.into(),
        });
    }

    fn unrecognised(&mut self, pointer: &str, keyword: &str) {
        self.push(
            Bump::Major,
            pointer,
            format!("unrecognised change to `{keyword}`: review by hand"),
        );
    }

    /// Reports every key of `old` or `new` that is not in `handled` and differs.
    fn leftovers(
        &mut self,
        pointer: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        handled: &[&str],
    ) {
        for key in union_of_keys(old, new) {
            if !handled.contains(&key) && old.get(key) != new.get(key) {
                self.unrecognised(pointer, key);
            }
        }
    }

    /// Annotations, wherever they are: patch. Except the `title` of an object in an api
    /// schema (`title_names_type`): the generator hands it to typify, which may name the
    /// Rust type after it.
    fn annotations(
        &mut self,
        pointer: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        title_names_type: bool,
    ) {
        // Documentation only, never code (except a model's root `title`).
        for &keyword in DOCUMENTATION {
            let label = match keyword {
                "$comment" => "`$comment`",
                other => other,
            };
            match (old.get(keyword), new.get(keyword)) {
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

    /// `$schema` absent means draft-07, the only dialect the generator reads.
    fn dialect(&mut self, old: &Map<String, Value>, new: &Map<String, Value>) {
        let draft_07 = Value::String(DRAFT_07.to_owned());
        let effective =
            |node: &Map<String, Value>| node.get("$schema").unwrap_or(&draft_07).clone();
        if old.get("$schema") == new.get("$schema") {
            return;
        }
        if effective(old) == effective(new) {
            self.push(
                Bump::Patch,
                "/$schema",
                "`$schema` written out or left out: draft-07 either way",
            );
        } else {
            self.unrecognised("/$schema", "$schema");
        }
    }

    /// Both roots as objects, their dialect compared; `None` when there is nothing more
    /// to compare (equal, or not objects: then reported).
    fn roots<'v>(&mut self, old: &'v Value, new: &'v Value) -> Option<(&'v Object, &'v Object)> {
        if old == new {
            return None;
        }
        let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
            self.push(
                Bump::Major,
                "",
                "the schema is not a JSON object: review by hand",
            );
            return None;
        };
        self.dialect(old, new);
        Some((old, new))
    }

    fn model_root(&mut self, old: &Value, new: &Value) {
        let Some((old, new)) = self.roots(old, new) else {
            return;
        };

        let old_id = old.get("x-model-id").and_then(Value::as_str);
        let new_id = new.get("x-model-id").and_then(Value::as_str);
        if old.get("x-model-id") != new.get("x-model-id") {
            self.push(
                Bump::Major,
                "/x-model-id",
                format!(
                    "model id changed: {} → {} (its module, cargo feature, `MODELS` entry and the id sent to the API change)",
                    shown(old.get("x-model-id")),
                    shown(new.get("x-model-id"))
                ),
            );
        }
        // The request struct is named after the title, or the model id without one.
        let old_title = old.get("title").and_then(Value::as_str).or(old_id);
        let new_title = new.get("title").and_then(Value::as_str).or(new_id);
        let (old_name, new_name) = (
            old_title.map(request_type_name),
            new_title.map(request_type_name),
        );
        if old_name != new_name {
            self.push(
                Bump::Major,
                "/title",
                format!(
                    "title changed: `{}` → `{}` renames the request struct `{}` → `{}`",
                    old_title.unwrap_or_default(),
                    new_title.unwrap_or_default(),
                    old_name.unwrap_or_default(),
                    new_name.unwrap_or_default()
                ),
            );
        } else if old_title != new_title {
            self.push(
                Bump::Patch,
                "/title",
                format!(
                    "title changed: `{}` → `{}` (the request struct keeps its name `{}`)",
                    old_title.unwrap_or_default(),
                    new_title.unwrap_or_default(),
                    new_name.unwrap_or_default()
                ),
            );
        } else if old.get("title") != new.get("title") {
            self.push(
                Bump::Patch,
                "/title",
                "title written out or left out: the same name either way",
            );
        }
        for (keyword, what) in [
            (
                "description",
                "description of the model changed (docs and `ModelInfo::description`)",
            ),
            ("$comment", "`$comment` changed"),
            ("examples", "examples changed"),
        ] {
            if old.get(keyword) != new.get(keyword) {
                self.push(Bump::Patch, &format!("/{keyword}"), what);
            }
        }
        if old.get("type") != new.get("type") {
            self.unrecognised("/type", "type");
        }
        self.additional_parameters(old, new);
        let added = self.properties("", old, new);
        self.dependencies(old, new, &added);
        self.conditions(old, new);
        self.leftovers(
            "",
            old,
            new,
            &[
                "$schema",
                "x-model-id",
                "title",
                "description",
                "$comment",
                "examples",
                "type",
                "additionalProperties",
                "properties",
                "required",
                "dependencies",
                "allOf",
            ],
        );
    }

    /// The root's `allOf` of `if`/`then` (conditional requirements): a condition added
    /// is major (requests that were valid now fail), one removed minor.
    fn conditions(&mut self, old: &Map<String, Value>, new: &Map<String, Value>) {
        let entries = |node: &Map<String, Value>| -> Vec<Value> {
            node.get("allOf")
                .and_then(Value::as_array)
                .map(|entries| entries.iter().map(without_annotations).collect())
                .unwrap_or_default()
        };
        let (old_entries, new_entries) = (entries(old), entries(new));
        for entry in new_entries
            .iter()
            .filter(|entry| !old_entries.contains(entry))
        {
            self.push(
                Bump::Major,
                "/allOf",
                format!("condition added: {entry} (requests that were valid now fail)"),
            );
        }
        for entry in old_entries
            .iter()
            .filter(|entry| !new_entries.contains(entry))
        {
            self.push(Bump::Minor, "/allOf", format!("condition removed: {entry}"));
        }
        if old_entries == new_entries && old.get("allOf") != new.get("allOf") {
            self.push(Bump::Patch, "/allOf", "conditions' annotations changed");
        }
    }

    /// A model's `additionalProperties`: absent means `true`.
    fn additional_parameters(&mut self, old: &Map<String, Value>, new: &Map<String, Value>) {
        let pointer = "/additionalProperties";
        let effective = |node: &Map<String, Value>| match node.get("additionalProperties") {
            None => Some(true),
            Some(value) => value.as_bool(),
        };
        match (effective(old), effective(new)) {
            (Some(true), Some(false)) => self.push(
                Bump::Major,
                pointer,
                "additionalProperties true → false: requests with parameters the schema does not list now fail",
            ),
            (Some(false), Some(true)) => self.push(
                Bump::Minor,
                pointer,
                "additionalProperties false → true: parameters the schema does not list are now accepted",
            ),
            (Some(_), Some(_)) => {
                if old.get("additionalProperties") != new.get("additionalProperties") {
                    self.push(
                        Bump::Patch,
                        pointer,
                        "`additionalProperties: true` written out or left out: the same either way",
                    );
                }
            }
            _ => {
                if old.get("additionalProperties") != new.get("additionalProperties") {
                    self.unrecognised(pointer, "additionalProperties");
                }
            }
        }
    }

    fn api_root(&mut self, old: &Value, new: &Value) {
        let Some((old, new)) = self.roots(old, new) else {
            return;
        };
        if old.get("$comment") != new.get("$comment") {
            self.push(Bump::Patch, "/$comment", "`$comment` changed");
        }
        let empty = Map::new();
        match (
            definitions(old.get("definitions"), &empty),
            definitions(new.get("definitions"), &empty),
        ) {
            (Some(old_definitions), Some(new_definitions)) => {
                for (name, old_definition) in old_definitions {
                    let pointer = format!("/definitions/{}", escape(name));
                    match new_definitions.get(name) {
                        Some(new_definition) => {
                            self.schema(&pointer, old_definition, new_definition, false);
                        }
                        None => self.push(
                            Bump::Major,
                            &pointer,
                            format!(
                                "definition removed: `{name}` (`kling_types::api::{name}` is gone)"
                            ),
                        ),
                    }
                }
                for name in new_definitions.keys() {
                    if !old_definitions.contains_key(name) {
                        self.push(
                            Bump::Minor,
                            &format!("/definitions/{}", escape(name)),
                            format!("definition added: `{name}` (`kling_types::api::{name}`)"),
                        );
                    }
                }
            }
            _ => self.unrecognised("/definitions", "definitions"),
        }
        self.leftovers("", old, new, &["$schema", "$comment", "definitions"]);
    }

    /// The properties and `required` of an object: a model's root (its parameters) or an
    /// object of an api schema (its fields). Returns the names of the properties added.
    fn properties(
        &mut self,
        pointer: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> BTreeSet<String> {
        let empty = Map::new();
        let (Some(old_properties), Some(new_properties)) = (
            definitions(old.get("properties"), &empty),
            definitions(new.get("properties"), &empty),
        ) else {
            self.unrecognised(&format!("{pointer}/properties"), "properties");
            return BTreeSet::new();
        };
        let (Some(old_required), Some(new_required)) =
            (names(old.get("required")), names(new.get("required")))
        else {
            self.unrecognised(&format!("{pointer}/required"), "required");
            return BTreeSet::new();
        };
        // Names required but not described: the generator refuses them, so say so.
        let undescribed = |required: &BTreeSet<String>, properties: &Map<String, Value>| {
            required
                .iter()
                .filter(|name| !properties.contains_key(*name))
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        if undescribed(&old_required, old_properties) != undescribed(&new_required, new_properties)
        {
            self.unrecognised(&format!("{pointer}/required"), "required");
        }

        let model = self.kind == Kind::Model;
        let noun = if model { "parameter" } else { "field" };
        let removed: Vec<&String> = old_properties
            .keys()
            .filter(|name| !new_properties.contains_key(*name))
            .collect();
        let mut added: Vec<&String> = new_properties
            .keys()
            .filter(|name| !old_properties.contains_key(*name))
            .collect();
        let mut renamed = BTreeMap::new();
        if model {
            for old_name in &removed {
                let old_schema = without_annotations(&old_properties[old_name.as_str()]);
                if let Some(index) = added.iter().position(|new_name| {
                    without_annotations(&new_properties[new_name.as_str()]) == old_schema
                }) {
                    renamed.insert((*old_name).clone(), added.remove(index).clone());
                }
            }
            self.renamed.extend(renamed.clone());
        }

        for (name, old_schema) in old_properties {
            let here = format!("{pointer}/properties/{}", escape(name));
            let was_required = old_required.contains(name);
            if let Some(new_schema) = new_properties.get(name) {
                self.requirement(&here, was_required, new_required.contains(name));
                self.schema(&here, old_schema, new_schema, false);
            } else if let Some(new_name) = renamed.get(name) {
                let there = format!("{pointer}/properties/{}", escape(new_name));
                self.push(
                    Bump::Major,
                    &there,
                    format!("parameter renamed: `{name}` → `{new_name}` (its field, setter and JSON name change)"),
                );
                self.requirement(&there, was_required, new_required.contains(new_name));
            } else {
                self.push(Bump::Major, &here, format!("{noun} removed: `{name}`"));
            }
        }
        for name in &added {
            let here = format!("{pointer}/properties/{}", escape(name));
            match (model, new_required.contains(*name)) {
                (true, false) => self.push(
                    Bump::Minor,
                    &here,
                    format!("parameter added (optional): `{name}`"),
                ),
                (true, true) => self.push(
                    Bump::Major,
                    &here,
                    format!("required parameter added: `{name}` (a new argument of `new`; requests without it fail)"),
                ),
                (false, false) => {
                    self.push(Bump::Minor, &here, format!("field added: `{name}`"));
                }
                (false, true) => self.push(
                    Bump::Major,
                    &here,
                    format!("required field added: `{name}` (answers without it fail to decode)"),
                ),
            }
        }
        added.into_iter().cloned().collect()
    }

    fn requirement(&mut self, pointer: &str, was_required: bool, is_required: bool) {
        let what = match (self.kind, was_required, is_required) {
            (_, false, false) | (_, true, true) => return,
            (Kind::Model, false, true) => {
                "now required: requests without it fail, and `new` takes it as an argument"
            }
            (Kind::Model, true, false) => {
                "no longer required: every request stays valid, but the Rust field changes from `T` to `Option<T>` and leaves the arguments of `new`"
            }
            (Kind::Api, false, true) => {
                "field now required: answers without it fail to decode, and the field changes from `Option<T>` to `T`"
            }
            (Kind::Api, true, false) => {
                "field no longer required: the field changes from `T` to `Option<T>`"
            }
        };
        self.push(Bump::Major, pointer, what);
    }

    /// A model's draft-07 property `dependencies`; `added` are the parameters new in
    /// this version (a requirement on them breaks no request that exists).
    fn dependencies(
        &mut self,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        added: &BTreeSet<String>,
    ) {
        if old.get("dependencies") == new.get("dependencies") {
            return;
        }
        let (Some(old_pairs), Some(new_pairs)) = (
            dependency_pairs(old.get("dependencies")),
            dependency_pairs(new.get("dependencies")),
        ) else {
            self.unrecognised("/dependencies", "dependencies");
            return;
        };
        let new_name = |name: &String| self.renamed.get(name).unwrap_or(name).clone();
        let old_pairs: BTreeSet<(String, String)> = old_pairs
            .into_iter()
            .map(|(field, need)| (new_name(&field), new_name(&need)))
            .collect();
        for (field, need) in new_pairs.difference(&old_pairs) {
            let pointer = format!("/dependencies/{}", escape(field));
            if added.contains(field) {
                self.push(
                    Bump::Minor,
                    &pointer,
                    format!("dependency of a new parameter: `{field}` requires `{need}`"),
                );
            } else {
                self.push(
                    Bump::Major,
                    &pointer,
                    format!("dependency added: `{field}` now requires `{need}` (requests with `{field}` but without `{need}` fail)"),
                );
            }
        }
        for (field, need) in old_pairs.difference(&new_pairs) {
            self.push(
                Bump::Minor,
                &format!("/dependencies/{}", escape(field)),
                format!("dependency removed: `{field}` no longer requires `{need}`"),
            );
        }
    }

    /// One value schema: a parameter, a field, a definition, array items, map values.
    fn schema(&mut self, pointer: &str, old: &Value, new: &Value, items: bool) {
        if old == new {
            return;
        }
        let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
            self.push(
                Bump::Major,
                pointer,
                "the schema is not a JSON object: review by hand",
            );
            return;
        };
        let (old_type, new_type) = (rust_type(old), rust_type(new));
        if old_type != new_type {
            let label = if items { "item type" } else { "type" };
            self.push(
                Bump::Major,
                pointer,
                format!("{label} changed: {old_type} → {new_type}"),
            );
            return;
        }
        for keyword in ["type", "format", "$ref"] {
            if old.get(keyword) != new.get(keyword) {
                self.push(
                    Bump::Patch,
                    pointer,
                    format!(
                        "`{keyword}` changed: {} → {} (the Rust type stays {old_type})",
                        shown(old.get(keyword)),
                        shown(new.get(keyword))
                    ),
                );
            }
        }
        self.enum_values(pointer, old, new);
        self.bound(
            pointer,
            old,
            new,
            "range",
            Side::Lower,
            &[("minimum", false), ("exclusiveMinimum", true)],
        );
        self.bound(
            pointer,
            old,
            new,
            "range",
            Side::Upper,
            &[("maximum", false), ("exclusiveMaximum", true)],
        );
        self.bound(
            pointer,
            old,
            new,
            "length",
            Side::Lower,
            &[("minLength", false)],
        );
        self.bound(
            pointer,
            old,
            new,
            "length",
            Side::Upper,
            &[("maxLength", false)],
        );
        self.bound(
            pointer,
            old,
            new,
            "item count",
            Side::Lower,
            &[("minItems", false)],
        );
        self.bound(
            pointer,
            old,
            new,
            "item count",
            Side::Upper,
            &[("maxItems", false)],
        );
        self.default_value(pointer, old, new);
        match (old.get("items"), new.get("items")) {
            (Some(old_items), Some(new_items)) => {
                self.schema(&format!("{pointer}/items"), old_items, new_items, true);
            }
            (old_items, new_items) if old_items != new_items => {
                self.unrecognised(pointer, "items");
            }
            _ => {}
        }
        if ["properties", "required"]
            .iter()
            .any(|keyword| old.get(*keyword) != new.get(*keyword))
        {
            self.properties(pointer, old, new);
        }
        match (
            old.get("additionalProperties"),
            new.get("additionalProperties"),
        ) {
            (Some(old_values @ Value::Object(_)), Some(new_values @ Value::Object(_))) => {
                self.schema(
                    &format!("{pointer}/additionalProperties"),
                    old_values,
                    new_values,
                    false,
                );
            }
            (old_values, new_values) if old_values != new_values => {
                self.unrecognised(pointer, "additionalProperties");
            }
            _ => {}
        }
        self.ignored_when_present(pointer, old, new);
        self.vocabulary(pointer, old, new);
        if old.get("x-cli-flag") != new.get("x-cli-flag") {
            let flag = |value: Option<&Value>| match value {
                None => "(none: the kebab-case of the name)".to_owned(),
                Some(value) => shown(Some(value)),
            };
            self.push(
                Bump::Patch,
                pointer,
                format!(
                    "x-cli-flag changed: {} → {}: no change for kling-types, but breaking for the `kling` CLI (scripts passing the old flag fail)",
                    flag(old.get("x-cli-flag")),
                    flag(new.get("x-cli-flag"))
                ),
            );
        }
        let title_names_type =
            self.kind == Kind::Api && old.get("type").and_then(Value::as_str) == Some("object");
        self.annotations(pointer, old, new, title_names_type);
        self.leftovers(
            pointer,
            old,
            new,
            &[
                "type",
                "format",
                "$ref",
                "enum",
                "x-enum-names",
                "minimum",
                "exclusiveMinimum",
                "maximum",
                "exclusiveMaximum",
                "minLength",
                "maxLength",
                "minItems",
                "maxItems",
                "default",
                "items",
                "properties",
                "required",
                "additionalProperties",
                "x-ignored-when-present",
                "x-cli-flag",
                "description",
                "title",
                "$comment",
                "examples",
                "multipleOf",
                "x-asset-kind",
                "x-max-size",
                "x-min-duration",
                "x-max-duration",
                "x-model-types",
                "x-ui",
                "uniqueItems",
                "const",
            ],
        );
    }

    /// The keywords of Scenario's vocabulary (issue 15): `multipleOf` like a bound
    /// (added or a coarser step: major; removed or a finer step that keeps every old
    /// value: minor); the asset's kind (major: other files are uploaded and accepted);
    /// `x-max-size` (the `kling` command refuses larger files before uploading: smaller
    /// is major, larger or removed minor); durations, model types and `x-ui` (documented,
    /// checked by the API, never by `validate()`): patch.
    fn vocabulary(&mut self, pointer: &str, old: &Map<String, Value>, new: &Map<String, Value>) {
        let number = |node: &Map<String, Value>, key: &str| node.get(key).and_then(Value::as_f64);
        match (number(old, "multipleOf"), number(new, "multipleOf")) {
            (old_step, new_step) if old_step == new_step => {}
            (None, Some(step)) => self.push(
                Bump::Major,
                pointer,
                format!("multipleOf {step} added (requests that were valid now fail)"),
            ),
            (Some(step), None) => {
                self.push(Bump::Minor, pointer, format!("multipleOf {step} removed"));
            }
            (Some(old_step), Some(new_step)) => {
                if crate::is_multiple_of(old_step, new_step) {
                    self.push(
                        Bump::Minor,
                        pointer,
                        format!("multipleOf widened: {old_step} → {new_step} (every old value still fits)"),
                    );
                } else {
                    self.push(
                        Bump::Major,
                        pointer,
                        format!("multipleOf changed: {old_step} → {new_step} (requests that were valid now fail)"),
                    );
                }
            }
            _ => {}
        }
        if old.get("x-asset-kind") != new.get("x-asset-kind") {
            let kind = |node: &Map<String, Value>| {
                node.get("x-asset-kind")
                    .and_then(Value::as_str)
                    .unwrap_or("image")
                    .to_owned()
            };
            let (old_kind, new_kind) = (kind(old), kind(new));
            if old_kind == new_kind {
                self.push(
                    Bump::Patch,
                    pointer,
                    "x-asset-kind written out or left out: image either way",
                );
            } else {
                self.push(
                    Bump::Major,
                    pointer,
                    format!("x-asset-kind changed: {old_kind} → {new_kind} (`ParamKind::Asset` changes; other files are uploaded and accepted)"),
                );
            }
        }
        let count = |node: &Map<String, Value>| node.get("x-max-size").and_then(Value::as_u64);
        match (count(old), count(new)) {
            (old_size, new_size) if old_size == new_size => {}
            (old_size, Some(new_size)) if old_size.is_none_or(|old_size| new_size < old_size) => self.push(
                Bump::Major,
                pointer,
                format!("x-max-size narrowed to {new_size} bytes (the `kling` command refuses larger files before uploading)"),
            ),
            (old_size, new_size) => self.push(
                Bump::Minor,
                pointer,
                format!("x-max-size widened: {} → {}", shown(old_size.map(Value::from).as_ref()), shown(new_size.map(Value::from).as_ref())),
            ),
        }
        let unique =
            |node: &Map<String, Value>| node.get("uniqueItems") == Some(&Value::Bool(true));
        match (unique(old), unique(new)) {
            (false, true) => self.push(
                Bump::Major,
                pointer,
                "uniqueItems added (requests that were valid now fail)",
            ),
            (true, false) => self.push(Bump::Minor, pointer, "uniqueItems removed"),
            _ => {}
        }
        match (old.get("const"), new.get("const")) {
            (old_value, new_value) if old_value == new_value => {}
            (Some(value), None) => {
                self.push(Bump::Minor, pointer, format!("const {value} removed"));
            }
            (old_value, new_value) => self.push(
                Bump::Major,
                pointer,
                format!(
                    "const changed: {} → {} (its enum's one variant changes)",
                    shown(old_value),
                    shown(new_value)
                ),
            ),
        }
        for keyword in ["x-min-duration", "x-max-duration", "x-model-types", "x-ui"] {
            if old.get(keyword) != new.get(keyword) {
                self.push(
                    Bump::Patch,
                    pointer,
                    format!(
                        "{keyword} changed: {} → {} (documentation and the parameter table; the API checks it, `validate()` does not)",
                        shown(old.get(keyword)),
                        shown(new.get(keyword))
                    ),
                );
            }
        }
    }

    /// `enum` and `x-enum-names`: values added and removed, Rust variants renamed.
    fn enum_values(&mut self, pointer: &str, old: &Map<String, Value>, new: &Map<String, Value>) {
        if old.get("enum") == new.get("enum") && old.get("x-enum-names") == new.get("x-enum-names")
        {
            return;
        }
        let (Some(old_variants), Some(new_variants)) = (variants(old), variants(new)) else {
            let keyword = if old.get("enum") == new.get("enum") {
                "x-enum-names"
            } else {
                "enum"
            };
            self.unrecognised(pointer, keyword);
            return;
        };
        let before = self.changes.len();
        for (value, name) in &old_variants {
            if !new_variants.iter().any(|(new_value, _)| new_value == value) {
                self.push(
                    Bump::Major,
                    pointer,
                    format!(
                        "enum value removed: {} (the variant `{name}` is gone)",
                        enum_value(value)
                    ),
                );
            }
        }
        for (value, name) in &new_variants {
            if !old_variants.iter().any(|(old_value, _)| old_value == value) {
                self.push(
                    Bump::Minor,
                    pointer,
                    format!(
                        "enum value added: {} (a new variant `{name}`)",
                        enum_value(value)
                    ),
                );
            }
        }
        for (value, old_name) in &old_variants {
            if let Some((_, new_name)) = new_variants
                .iter()
                .find(|(new_value, _)| new_value == value)
                && new_name != old_name
            {
                self.push(
                    Bump::Major,
                    pointer,
                    format!(
                        "Rust variant of {} renamed (x-enum-names): `{old_name}` → `{new_name}`",
                        enum_value(value)
                    ),
                );
            }
        }
        if self.changes.len() > before {
            return;
        }
        if old.get("enum") != new.get("enum") {
            self.push(
                Bump::Patch,
                pointer,
                "enum values reordered: `ALL` and `VALUES` follow the new order",
            );
        } else {
            self.push(
                Bump::Patch,
                pointer,
                "x-enum-names written out or left out: the Rust names stay the same",
            );
        }
    }

    /// One side of a range, length or item count, which may be written with several
    /// keywords (`minimum` and `exclusiveMinimum`): compares the effective limits.
    fn bound(
        &mut self,
        pointer: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        label: &str,
        side: Side,
        keywords: &[(&'static str, bool)],
    ) {
        if keywords
            .iter()
            .all(|(keyword, _)| old.get(*keyword) == new.get(*keyword))
        {
            return;
        }
        let (old_limit, new_limit) = match (limit(old, side, keywords), limit(new, side, keywords))
        {
            (Ok(old_limit), Ok(new_limit)) => (old_limit, new_limit),
            (Err(keyword), _) | (_, Err(keyword)) => {
                self.unrecognised(pointer, keyword);
                return;
            }
        };
        let narrowed = "(requests that were valid now fail)";
        match (old_limit, new_limit) {
            (None, None) => {}
            (None, Some(new_limit)) => self.push(
                Bump::Major,
                pointer,
                format!("{label} narrowed: {new_limit} added {narrowed}"),
            ),
            (Some(old_limit), None) => self.push(
                Bump::Minor,
                pointer,
                format!("{label} widened: {old_limit} removed"),
            ),
            (Some(old_limit), Some(new_limit)) => {
                if new_limit.is_tighter_than(&old_limit, side) {
                    self.push(
                        Bump::Major,
                        pointer,
                        format!("{label} narrowed: {} {narrowed}", old_limit.to(&new_limit)),
                    );
                } else if old_limit.is_tighter_than(&new_limit, side) {
                    self.push(
                        Bump::Minor,
                        pointer,
                        format!("{label} widened: {}", old_limit.to(&new_limit)),
                    );
                } else {
                    self.push(
                        Bump::Patch,
                        pointer,
                        format!(
                            "{label} rewritten: {}, the same limit",
                            old_limit.to(&new_limit)
                        ),
                    );
                }
            }
        }
    }

    fn default_value(&mut self, pointer: &str, old: &Map<String, Value>, new: &Map<String, Value>) {
        let (old_default, new_default) = (old.get("default"), new.get("default"));
        if old_default == new_default {
            return;
        }
        if self.kind == Kind::Api {
            self.push(
                Bump::Patch,
                pointer,
                format!(
                    "default changed: {} → {} (documentation only in a response type)",
                    shown(old_default),
                    shown(new_default)
                ),
            );
            return;
        }
        match (old_default, new_default) {
            (None, Some(new_default)) => self.push(
                Bump::Minor,
                pointer,
                format!("default added: {new_default}"),
            ),
            (Some(old_default), None) if new.contains_key("enum") => self.push(
                Bump::Major,
                pointer,
                format!("default removed: {old_default} (the enum's `impl Default` goes away)"),
            ),
            (Some(old_default), None) => self.push(
                Bump::Minor,
                pointer,
                format!("default removed: {old_default} (requests that leave it out may behave differently)"),
            ),
            (old_default, new_default) => self.push(
                Bump::Minor,
                pointer,
                format!(
                    "default changed: {} → {} (requests that leave it out behave differently)",
                    shown(old_default),
                    shown(new_default)
                ),
            ),
        }
    }

    /// `x-ignored-when-present`: warnings of `validate()` only, so patch.
    fn ignored_when_present(
        &mut self,
        pointer: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) {
        let keyword = "x-ignored-when-present";
        if old.get(keyword) == new.get(keyword) {
            return;
        }
        let empty = Map::new();
        let (Some(old_rules), Some(new_rules)) = (
            definitions(old.get(keyword), &empty),
            definitions(new.get(keyword), &empty),
        ) else {
            self.unrecognised(pointer, keyword);
            return;
        };
        // Rules on a renamed parameter name it by its new name.
        let old_rules: BTreeMap<&String, &Value> = old_rules
            .iter()
            .map(|(other, why)| (self.renamed.get(other).unwrap_or(other), why))
            .collect();
        let new_rules: BTreeMap<&String, &Value> = new_rules.iter().collect();
        let mut changes = Vec::new();
        for (other, why) in &new_rules {
            match old_rules.get(other) {
                None => changes.push(format!(
                    "now ignored when `{other}` is set (a warning of `validate()`)"
                )),
                Some(old_why) if old_why != why => changes.push(format!(
                    "reason it is ignored when `{other}` is set changed (a warning of `validate()`)"
                )),
                Some(_) => {}
            }
        }
        for other in old_rules.keys() {
            if !new_rules.contains_key(other) {
                changes.push(format!(
                    "no longer ignored when `{other}` is set (one warning of `validate()` less)"
                ));
            }
        }
        for what in changes {
            self.push(Bump::Patch, pointer, what);
        }
    }
}

/// Which end of a range a limit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Lower,
    Upper,
}

/// The effective limit of one side of a range, and the keyword that sets it.
struct Limit<'v> {
    keyword: &'static str,
    value: &'v Value,
    number: f64,
    exclusive: bool,
}

impl Limit<'_> {
    /// Whether this limit admits fewer values than `other` on the same side.
    fn is_tighter_than(&self, other: &Self, side: Side) -> bool {
        let same_number = self.number == other.number;
        match side {
            Side::Lower => {
                self.number > other.number || (same_number && self.exclusive && !other.exclusive)
            }
            Side::Upper => {
                self.number < other.number || (same_number && self.exclusive && !other.exclusive)
            }
        }
    }
}

impl Limit<'_> {
    /// `maximum 1 → 2`, or `minimum 0 → exclusiveMinimum 0` when the keyword changes.
    fn to(&self, new: &Self) -> String {
        if self.keyword == new.keyword {
            format!("{self} → {}", new.value)
        } else {
            format!("{self} → {new}")
        }
    }
}

impl fmt::Display for Limit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.keyword, self.value)
    }
}

/// The tightest limit `keywords` set on `side` of `node`, or the keyword that is not a number.
fn limit<'v>(
    node: &'v Map<String, Value>,
    side: Side,
    keywords: &[(&'static str, bool)],
) -> Result<Option<Limit<'v>>, &'static str> {
    let mut tightest: Option<Limit<'v>> = None;
    for &(keyword, exclusive) in keywords {
        let Some(value) = node.get(keyword) else {
            continue;
        };
        let number = value.as_f64().ok_or(keyword)?;
        let candidate = Limit {
            keyword,
            value,
            number,
            exclusive,
        };
        if tightest
            .as_ref()
            .is_none_or(|current| candidate.is_tighter_than(current, side))
        {
            tightest = Some(candidate);
        }
    }
    Ok(tightest)
}

/// The Rust type the generator gives a value schema, as messages name it. Two schemas
/// with different answers have different Rust types: a breaking change.
fn rust_type(node: &Map<String, Value>) -> String {
    if let Some(target) = node.get("$ref") {
        return match target.as_str() {
            Some(target) => format!("`{}`", target.rsplit('/').next().unwrap_or(target)),
            None => format!("`$ref: {target}`"),
        };
    }
    let is_enum = node.contains_key("enum");
    let Some(ty) = node.get("type") else {
        return if is_enum {
            "an enum without `type`".to_owned()
        } else if node.keys().all(|key| annotation(key)) {
            "any JSON (`serde_json::Value`)".to_owned()
        } else {
            "a schema without `type`".to_owned()
        };
    };
    match (ty.as_str(), is_enum) {
        (Some("string"), true) => "an enum of strings".to_owned(),
        (Some("integer"), true) => "an enum of integers".to_owned(),
        (Some("string"), false) => match node
            .get("format")
            .and_then(Value::as_str)
            .and_then(IdKind::from_format)
        {
            Some(id) => format!("`{}`", id.type_name()),
            None => "`String`".to_owned(),
        },
        (Some("integer"), false) => "`i64`".to_owned(),
        (Some("number"), _) => "`f64`".to_owned(),
        (Some("boolean"), _) => "`bool`".to_owned(),
        (Some("array"), _) => "`Vec<_>`".to_owned(),
        (Some("object"), _) if node.contains_key("properties") => "a struct".to_owned(),
        (Some("object"), _)
            if node
                .get("additionalProperties")
                .is_some_and(Value::is_object) =>
        {
            "a map".to_owned()
        }
        (Some("object"), _) => "a JSON object (`serde_json::Map`)".to_owned(),
        _ => format!("`type: {ty}`"),
    }
}

/// The enum's values with their Rust variant names, or `None` when `enum` or
/// `x-enum-names` is malformed (the generator refuses those).
fn variants(node: &Map<String, Value>) -> Option<Vec<(Value, String)>> {
    let values = node.get("enum")?.as_array()?;
    let names: Vec<String> = match node.get("x-enum-names") {
        None => values
            .iter()
            .map(|value| variant_name(&enum_value(value)))
            .collect(),
        Some(names) => names
            .as_array()?
            .iter()
            .map(|name| name.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .filter(|names| names.len() == values.len())?,
    };
    Some(values.iter().cloned().zip(names).collect())
}

/// An enum value as the API spells it: `16:9`, `10`.
fn enum_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A keyword's value in a message: its JSON, or `(none)`.
fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(none)".to_owned(), Value::to_string)
}

/// An object-valued keyword (`definitions`, `properties`, …): absent is empty; `None`
/// when it is not an object.
fn definitions<'v>(
    value: Option<&'v Value>,
    empty: &'v Map<String, Value>,
) -> Option<&'v Map<String, Value>> {
    match value {
        None => Some(empty),
        Some(value) => value.as_object(),
    }
}

/// A list of names (`required`): absent is empty; `None` when it is not a list of strings.
fn names(value: Option<&Value>) -> Option<BTreeSet<String>> {
    match value {
        None => Some(BTreeSet::new()),
        Some(value) => value
            .as_array()?
            .iter()
            .map(|name| name.as_str().map(str::to_owned))
            .collect(),
    }
}

/// Draft-07 property dependencies as `(field, field it requires)` pairs; `None` when they
/// are not property dependencies.
fn dependency_pairs(value: Option<&Value>) -> Option<BTreeSet<(String, String)>> {
    let empty = Map::new();
    let mut pairs = BTreeSet::new();
    for (field, needs) in definitions(value, &empty)? {
        for need in names(Some(needs))? {
            pairs.insert((field.clone(), need));
        }
    }
    Some(pairs)
}

/// A schema without its annotations: what two parameters must share to be a rename.
fn without_annotations(schema: &Value) -> Value {
    match schema.as_object() {
        Some(node) => Value::Object(
            node.iter()
                .filter(|(key, _)| !DOCUMENTATION.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        None => schema.clone(),
    }
}

/// The keys of `old`, then those only in `new`.
fn union_of_keys<'m>(old: &'m Map<String, Value>, new: &'m Map<String, Value>) -> Vec<&'m str> {
    old.keys()
        .chain(new.keys().filter(|key| !old.contains_key(*key)))
        .map(String::as_str)
        .collect()
}

/// Escapes a name for a JSON pointer (RFC 6901).
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}
