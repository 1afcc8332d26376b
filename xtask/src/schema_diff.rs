//! `cargo xtask schema-diff`: what a change to `schema/` means for users of `kling-types`,
//! and which semver bump it needs.
//!
//! [`diff_model`] and [`diff_api`] compare two versions of one schema and list every
//! [`Change`] with its [`Bump`]; [`verdict`] is the largest. [`diff_sources`] compares
//! whole `schema/` trees (files added and removed included), read through a
//! [`SchemaSource`]: a git revision ([`GitRevision`]) or the working tree
//! ([`WorkingTree`]). The rules follow what the generator makes of each keyword (see
//! `schema/README.md`): request structs are `#[non_exhaustive]` and built with
//! `new(required…)`/`with_*`, enums are `#[non_exhaustive]`, response types decode
//! leniently. A keyword this module does not know is never skipped: it is reported as a
//! major change to review by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

use kling_dialect::{DOCUMENTATION, DRAFT_07, IdKind, annotation, request_type_name, variant_name};

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

/// Which dialect a schema file is written in (see `schema/README.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaKind {
    /// `schema/models/*.json`: the request of one model.
    Model,
    /// `schema/api/*.json`: response wire types, `definitions` only.
    Api,
}

impl SchemaKind {
    /// How messages name the kind, with its article.
    fn noun(self) -> &'static str {
        match self {
            Self::Model => "a model",
            Self::Api => "an api",
        }
    }
}

/// The kind of the schema at `path` (as typed by the user) holding `schema`: an api
/// schema when it is under `schema/api/`, or has top-level `definitions` and no
/// `x-model-id`; a model schema otherwise.
pub fn kind_of(path: &str, schema: &Value) -> SchemaKind {
    let path = path.replace('\\', "/");
    let under_api = path.starts_with("schema/api/") || path.contains("/schema/api/");
    let looks_like_api = schema.get("definitions").is_some() && schema.get("x-model-id").is_none();
    if under_api || looks_like_api {
        SchemaKind::Api
    } else {
        SchemaKind::Model
    }
}

/// Every change between two versions of a model schema (`schema/models/…`).
pub fn diff_model(file: &str, old: &Value, new: &Value) -> Vec<Change> {
    let mut differ = Differ::new(file, SchemaKind::Model);
    differ.model_root(old, new);
    differ.changes
}

/// Every change between two versions of an api schema (`schema/api/…`, definitions only).
pub fn diff_api(file: &str, old: &Value, new: &Value) -> Vec<Change> {
    let mut differ = Differ::new(file, SchemaKind::Api);
    differ.api_root(old, new);
    differ.changes
}

/// Every change to one schema file of `kind`, which may be new (`old` is `None`) or
/// deleted (`new` is `None`).
pub fn diff_file(
    file: &str,
    kind: SchemaKind,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Vec<Change> {
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
        (SchemaKind::Model, Some(old), Some(new)) => diff_model(file, old, new),
        (SchemaKind::Api, Some(old), Some(new)) => diff_api(file, old, new),
        (SchemaKind::Model, None, Some(new)) => whole_file(
            Bump::Minor,
            format!(
                "model added: `{}` (a new module, cargo feature and `MODELS` entry)",
                model_id(new)
            ),
        ),
        (SchemaKind::Model, Some(old), None) => whole_file(
            Bump::Major,
            format!(
                "model removed: `{}` (its module, cargo feature and `MODELS` entry are gone)",
                model_id(old)
            ),
        ),
        (SchemaKind::Api, None, Some(_)) => whole_file(
            Bump::Minor,
            "api schema added: its types join `kling_types::api`".to_owned(),
        ),
        (SchemaKind::Api, Some(_), None) => whole_file(
            Bump::Major,
            "api schema removed: its types are gone from `kling_types::api`".to_owned(),
        ),
    }
}

/// Walks two versions of one schema side by side and collects the changes.
struct Differ<'a> {
    file: &'a str,
    kind: SchemaKind,
    /// Model parameters renamed: old name → new name.
    renamed: BTreeMap<String, String>,
    changes: Vec<Change>,
}

impl<'a> Differ<'a> {
    fn new(file: &'a str, kind: SchemaKind) -> Self {
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

        let model = self.kind == SchemaKind::Model;
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
            (SchemaKind::Model, false, true) => {
                "now required: requests without it fail, and `new` takes it as an argument"
            }
            (SchemaKind::Model, true, false) => {
                "no longer required: every request stays valid, but the Rust field changes from `T` to `Option<T>` and leaves the arguments of `new`"
            }
            (SchemaKind::Api, false, true) => {
                "field now required: answers without it fail to decode, and the field changes from `Option<T>` to `T`"
            }
            (SchemaKind::Api, true, false) => {
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
        let title_names_type = self.kind == SchemaKind::Api
            && old.get("type").and_then(Value::as_str) == Some("object");
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
                if kling_dialect::is_multiple_of(old_step, new_step) {
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
        if self.kind == SchemaKind::Api {
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

// ---------------------------------------------------------------------------------------
// Reading schemas: two files, or every schema at a git revision against the working tree.

/// Something `cargo xtask schema-diff` could not read.
#[derive(Debug)]
pub enum DiffError {
    /// A file could not be read.
    Read {
        /// The file, as the user named it or relative to the workspace root.
        file: String,
        /// Why.
        error: std::io::Error,
    },
    /// A file is not JSON.
    Json {
        /// The file (and the revision it was read at).
        file: String,
        /// Where and why.
        error: serde_json::Error,
    },
    /// A git command failed (a revision that does not exist, no repository, no git).
    Git {
        /// The command, as a user would type it.
        command: String,
        /// What git said.
        message: String,
    },
    /// The two files given are not the same kind of schema.
    KindMismatch {
        /// The old file and its kind.
        old: (String, SchemaKind),
        /// The new file and its kind.
        new: (String, SchemaKind),
    },
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { file, error } => write!(
                f,
                "cannot read {file}: {error}\n  help: check the path (relative paths start at the current directory)"
            ),
            Self::Json { file, error } => write!(
                f,
                "{file} is not valid JSON: {error}\n  help: fix the syntax; `python3 -m json.tool FILE` points at the same place"
            ),
            Self::Git { command, message } => write!(
                f,
                "`{command}` failed: {message}\n  help: run it inside the workspace's git repository, with a revision that exists (see `git log --oneline`)"
            ),
            Self::KindMismatch { old, new } => write!(
                f,
                "{} is {} schema but {} is {} schema\n  help: compare a model schema with a model schema, or an api schema with an api schema",
                old.0,
                old.1.noun(),
                new.0,
                new.1.noun()
            ),
        }
    }
}

impl std::error::Error for DiffError {}

/// Compares two schema files (the two-file form of the command). The kind comes from the
/// new file (see [`kind_of`]); changes are reported under the new file's path.
pub fn diff_paths(old: &Path, new: &Path) -> Result<Vec<Change>, DiffError> {
    let read = |path: &Path| -> Result<(String, Value), DiffError> {
        let file = path.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(path).map_err(|error| DiffError::Read {
            file: file.clone(),
            error,
        })?;
        let value = parse(&file, &text)?;
        Ok((file, value))
    };
    let (old_file, old_value) = read(old)?;
    let (new_file, new_value) = read(new)?;
    let old_kind = kind_of(&old_file, &old_value);
    let new_kind = kind_of(&new_file, &new_value);
    if old_kind != new_kind {
        return Err(DiffError::KindMismatch {
            old: (old_file, old_kind),
            new: (new_file, new_kind),
        });
    }
    Ok(diff_file(
        &new_file,
        new_kind,
        Some(&old_value),
        Some(&new_value),
    ))
}

fn parse(file: &str, text: &str) -> Result<Value, DiffError> {
    serde_json::from_str(text).map_err(|error| DiffError::Json {
        file: file.to_owned(),
        error,
    })
}

/// The schema directories compared by `--against`, and the kind of schema each holds.
pub const SCHEMA_DIRS: [(&str, SchemaKind); 2] = [
    ("schema/models", SchemaKind::Model),
    ("schema/api", SchemaKind::Api),
];

/// Somewhere schema files can be listed and read: a git revision, the working tree, or
/// (in tests) a map of file names to contents.
pub trait SchemaSource {
    /// How messages name this source (`HEAD`, `the working tree`).
    fn describe(&self) -> String;
    /// The `.json` files directly in `dir` (relative to the workspace root), as
    /// `dir/name.json`; none when `dir` does not exist.
    fn list(&self, dir: &str) -> Result<Vec<String>, DiffError>;
    /// The contents of `path` (relative to the workspace root).
    fn read(&self, path: &str) -> Result<String, DiffError>;
}

/// The schemas of a git revision, read with `git ls-tree` and `git show`.
#[derive(Clone, Debug)]
pub struct GitRevision {
    root: PathBuf,
    revision: String,
}

impl GitRevision {
    /// The revision `revision` of the repository holding `root` (the workspace root);
    /// fails when it names no commit.
    pub fn open(root: &Path, revision: &str) -> Result<Self, DiffError> {
        let git = Self {
            root: root.to_path_buf(),
            revision: revision.to_owned(),
        };
        git.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{revision}^{{commit}}"),
        ])
        .map_err(|error| match error {
            DiffError::Git { command, message } if message.is_empty() => DiffError::Git {
                command,
                message: format!("`{revision}` names no commit of this repository"),
            },
            other => other,
        })?;
        Ok(git)
    }

    fn run(&self, args: &[&str]) -> Result<String, DiffError> {
        let command = format!("git {}", args.join(" "));
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .output()
            .map_err(|error| DiffError::Git {
                command: command.clone(),
                message: format!("cannot run git: {error}"),
            })?;
        if !output.status.success() {
            return Err(DiffError::Git {
                command,
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        String::from_utf8(output.stdout).map_err(|error| DiffError::Git {
            command,
            message: format!("the output is not UTF-8: {error}"),
        })
    }
}

impl SchemaSource for GitRevision {
    fn describe(&self) -> String {
        self.revision.clone()
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, DiffError> {
        let listing = self.run(&[
            "ls-tree",
            "--name-only",
            &self.revision,
            "--",
            &format!("{dir}/"),
        ])?;
        Ok(listing
            .lines()
            .filter(|path| path.ends_with(".json"))
            .map(str::to_owned)
            .collect())
    }

    fn read(&self, path: &str) -> Result<String, DiffError> {
        // `./` makes the path relative to `root`, wherever the repository starts.
        self.run(&["show", &format!("{}:./{path}", self.revision)])
    }
}

/// The schemas as they are on disk under the workspace root.
#[derive(Clone, Debug)]
pub struct WorkingTree {
    root: PathBuf,
}

impl WorkingTree {
    /// The files under `root` (the workspace root).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
}

impl SchemaSource for WorkingTree {
    fn describe(&self) -> String {
        "the working tree".to_owned()
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, DiffError> {
        let entries = match std::fs::read_dir(self.root.join(dir)) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(DiffError::Read {
                    file: dir.to_owned(),
                    error,
                });
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| DiffError::Read {
                file: dir.to_owned(),
                error,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") && entry.path().is_file() {
                files.push(format!("{dir}/{name}"));
            }
        }
        Ok(files)
    }

    fn read(&self, path: &str) -> Result<String, DiffError> {
        std::fs::read_to_string(self.root.join(path)).map_err(|error| DiffError::Read {
            file: path.to_owned(),
            error,
        })
    }
}

/// In-memory schemas (path → contents), for tests.
impl SchemaSource for BTreeMap<String, String> {
    fn describe(&self) -> String {
        "the given files".to_owned()
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, DiffError> {
        let prefix = format!("{dir}/");
        Ok(self
            .keys()
            .filter(|path| {
                path.strip_prefix(&prefix)
                    .is_some_and(|name| !name.contains('/') && name.ends_with(".json"))
            })
            .cloned()
            .collect())
    }

    fn read(&self, path: &str) -> Result<String, DiffError> {
        self.get(path).cloned().ok_or_else(|| DiffError::Read {
            file: path.to_owned(),
            error: std::io::Error::from(std::io::ErrorKind::NotFound),
        })
    }
}

/// Compares every schema of [`SCHEMA_DIRS`] in `old` with `new`, files added and
/// removed included, in the order of the directories and then of the file names.
pub fn diff_sources(
    old: &dyn SchemaSource,
    new: &dyn SchemaSource,
) -> Result<Vec<Change>, DiffError> {
    let mut changes = Vec::new();
    for (dir, kind) in SCHEMA_DIRS {
        let old_files: BTreeSet<String> = old.list(dir)?.into_iter().collect();
        let new_files: BTreeSet<String> = new.list(dir)?.into_iter().collect();
        for file in old_files.union(&new_files) {
            let read = |source: &dyn SchemaSource, files: &BTreeSet<String>| {
                if !files.contains(file) {
                    return Ok(None);
                }
                let text = source.read(file)?;
                parse(&format!("{file} (at {})", source.describe()), &text).map(Some)
            };
            let old_value = read(old, &old_files)?;
            let new_value = read(new, &new_files)?;
            changes.extend(diff_file(
                file,
                kind,
                old_value.as_ref(),
                new_value.as_ref(),
            ));
        }
    }
    Ok(changes)
}

/// `--against REV`: every schema at git revision `revision` against the working tree
/// under `root` (the workspace root).
pub fn diff_against(root: &Path, revision: &str) -> Result<Vec<Change>, DiffError> {
    let old = GitRevision::open(root, revision)?;
    diff_sources(&old, &WorkingTree::new(root))
}

// ---------------------------------------------------------------------------------------
// The command line.

/// What `cargo xtask schema-diff` compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Two schema files.
    Files {
        /// The old version.
        old: PathBuf,
        /// The new version.
        new: PathBuf,
    },
    /// Every schema at a git revision, against the working tree.
    Against(String),
}

/// The arguments of `cargo xtask schema-diff`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// What to compare.
    pub input: Input,
    /// `--allow-breaking`: succeed even with a major change.
    pub allow_breaking: bool,
    /// `--markdown`: a Markdown table (for a GitHub job summary) instead of lines.
    pub markdown: bool,
}

impl Options {
    /// Parses the arguments after `schema-diff`; the error says what was wrong.
    pub fn parse(args: &[&str]) -> Result<Self, String> {
        let mut files = Vec::new();
        let mut against = None;
        let mut allow_breaking = false;
        let mut markdown = false;
        let mut args = args.iter();
        while let Some(&arg) = args.next() {
            match arg {
                "--allow-breaking" => allow_breaking = true,
                "--markdown" => markdown = true,
                "--against" => match args.next() {
                    Some(revision) if !revision.starts_with('-') => {
                        against = Some((*revision).to_owned());
                    }
                    _ => {
                        return Err(
                            "`--against` needs a git revision, e.g. `--against origin/main`"
                                .to_owned(),
                        );
                    }
                },
                _ if arg.starts_with("--against=") => {
                    let revision = arg.trim_start_matches("--against=");
                    if revision.is_empty() || revision.starts_with('-') {
                        return Err(
                            "`--against` needs a git revision, e.g. `--against origin/main`"
                                .to_owned(),
                        );
                    }
                    against = Some(revision.to_owned());
                }
                _ if arg.starts_with('-') => return Err(format!("unknown option `{arg}`")),
                file => files.push(PathBuf::from(file)),
            }
        }
        let input = match (against, <[PathBuf; 2]>::try_from(files)) {
            (Some(revision), Err(files)) if files.is_empty() => Input::Against(revision),
            (None, Ok([old, new])) => Input::Files { old, new },
            (Some(_), _) => {
                return Err("give either `--against GIT_REV` or two files, not both".to_owned());
            }
            (None, Err(files)) => {
                return Err(format!(
                    "expected two schema files (OLD.json NEW.json) or `--against GIT_REV`, got {} file(s)",
                    files.len()
                ));
            }
        };
        Ok(Self {
            input,
            allow_breaking,
            markdown,
        })
    }
}

/// The changes `input` asks for; `root` is the workspace root (for `--against`).
pub fn changes_for(input: &Input, root: &Path) -> Result<Vec<Change>, DiffError> {
    match input {
        Input::Files { old, new } => diff_paths(old, new),
        Input::Against(revision) => diff_against(root, revision),
    }
}

/// `changes` sorted by bump, major first, each bump in the order found.
pub fn sorted(changes: &[Change]) -> Vec<Change> {
    let mut sorted = changes.to_vec();
    sorted.sort_by_key(|change| std::cmp::Reverse(change.bump));
    sorted
}

/// The last line of a report: the bump `changes` need, and what to do.
pub fn verdict_line(changes: &[Change]) -> String {
    let advice = match verdict(changes) {
        None => return "semver: no change for users".to_owned(),
        Some(Bump::Major) => {
            "breaking: bump the major version of kling-types, or the minor while below 1.0"
        }
        Some(Bump::Minor) => {
            "additive: bump the minor version of kling-types, or the patch while below 1.0"
        }
        Some(Bump::Patch) => {
            "docs, comments and warnings only: bump the patch version of kling-types"
        }
    };
    format!(
        "semver: {} ({advice})",
        verdict(changes).map_or("none", Bump::name)
    )
}

/// How a pointer shows in a report: the whole file's (empty) pointer reads `(whole file)`.
fn location(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(whole file)"
    } else {
        pointer
    }
}

/// The plain report: one aligned line per change (major first), then the verdict.
pub fn render_plain(changes: &[Change]) -> String {
    let changes = sorted(changes);
    let file_width = changes
        .iter()
        .map(|change| change.file.chars().count())
        .max()
        .unwrap_or(0);
    let pointer_width = changes
        .iter()
        .map(|change| location(&change.pointer).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for change in &changes {
        out.push_str(&format!(
            "{:<5}  {:<file_width$}  {:<pointer_width$}  {}\n",
            change.bump.name(),
            change.file,
            location(&change.pointer),
            change.what
        ));
    }
    out.push_str(&verdict_line(&changes));
    out.push('\n');
    out
}

/// The Markdown report, for a GitHub job summary: a table, then the verdict.
pub fn render_markdown(changes: &[Change]) -> String {
    let cell = |text: &str| text.replace('|', "\\|");
    let mut out = String::from("### Schema changes\n\n");
    if changes.is_empty() {
        out.push_str("No change to `schema/`.\n");
    } else {
        out.push_str("| bump | file | where | what |\n|---|---|---|---|\n");
        for change in sorted(changes) {
            out.push_str(&format!(
                "| {} | `{}` | `{}` | {} |\n",
                change.bump.name(),
                cell(&change.file),
                cell(location(&change.pointer)),
                cell(&change.what)
            ));
        }
    }
    let line = verdict_line(changes);
    let (head, advice) = line.split_once(" (").unwrap_or((&line, ""));
    out.push_str(&format!("\n**{head}**"));
    if !advice.is_empty() {
        out.push_str(&format!(" ({advice}"));
    }
    out.push('\n');
    out
}

/// The usage line of the command, repeated in its usage errors.
const USAGE: &str = "usage: cargo xtask schema-diff [--markdown] [--allow-breaking] (OLD.json NEW.json | --against GIT_REV)";

/// What `cargo xtask schema-diff` prints, and its exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The report.
    pub stdout: String,
    /// Errors, with what to do.
    pub stderr: String,
    /// 0 fine; 1 a breaking change without `--allow-breaking`; 2 bad usage or a file
    /// that cannot be read.
    pub code: u8,
}

/// Runs `cargo xtask schema-diff ARGS` (the arguments after `schema-diff`) in the
/// workspace at `root`, without printing.
pub fn run(args: &[&str], root: &Path) -> Outcome {
    let failed = |stderr: String| Outcome {
        stdout: String::new(),
        stderr,
        code: 2,
    };
    let options = match Options::parse(args) {
        Ok(options) => options,
        Err(message) => {
            return failed(format!(
                "error: {message}\n{USAGE}\n  help: `cargo xtask help` describes every option\n"
            ));
        }
    };
    let changes = match changes_for(&options.input, root) {
        Ok(changes) => changes,
        Err(error) => return failed(format!("error: {error}\n")),
    };
    let stdout = if options.markdown {
        render_markdown(&changes)
    } else {
        render_plain(&changes)
    };
    if verdict(&changes) == Some(Bump::Major) && !options.allow_breaking {
        return Outcome {
            stdout,
            stderr: "error: the schema change is breaking for users of kling-types (the `major` lines)\n  \
                     help: if that is intended, bump the version as the verdict says and rerun with --allow-breaking\n"
                .to_owned(),
            code: 1,
        };
    }
    Outcome {
        stdout,
        stderr: String::new(),
        code: 0,
    }
}

/// `cargo xtask schema-diff ARGS`: [`run`] in the workspace, printing the report on
/// stdout and errors on stderr; the exit code is [`Outcome::code`].
#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "the xtask command reports on its streams"
)]
pub fn main(args: &[&str]) -> std::process::ExitCode {
    let outcome = run(args, &crate::codegen::workspace_root());
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    std::process::ExitCode::from(outcome.code)
}
