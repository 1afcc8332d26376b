//! A model schema's change, over the two checked forms: its identity, its parameters
//! (added, removed, renamed, and each one's [`Property`] fact by fact), `dependencies`
//! and the "required when" conditions. Every fact of the checked form is destructured
//! here, so a fact the checker learns does not go unnoticed: it fails to compile until
//! it has a rule.

use std::collections::{BTreeMap, BTreeSet};

use super::shape::ShapeDiff;
use super::{Bump, Changes, shown};
use crate::check::escape;
use crate::{AssetFacts, Checked, Condition, ModelMeta, ObjectDef, Property, Rule, Shape};

/// Compares two checked versions of one model schema.
pub(super) fn diff(changes: &mut Changes<'_>, old: &Checked, new: &Checked) {
    let mut differ = Differ {
        old,
        new,
        renamed: BTreeMap::new(),
        changes,
    };
    differ.root();
}

struct Differ<'c, 'f> {
    old: &'c Checked,
    new: &'c Checked,
    /// Parameters renamed: old name → new name.
    renamed: BTreeMap<String, String>,
    changes: &'c mut Changes<'f>,
}

impl Differ<'_, '_> {
    fn push(&mut self, bump: Bump, pointer: &str, what: impl Into<String>) {
        self.changes.push(bump, pointer, what);
    }

    /// A parameter's name in the new version.
    fn new_name<'n>(&'n self, old_name: &'n str) -> &'n str {
        self.renamed.get(old_name).map_or(old_name, String::as_str)
    }

    fn root(&mut self) {
        // Every fact of the root, so that a new one needs a rule here.
        let Checked {
            kind: _,
            model: _,
            properties: _,
            dependencies: _,
            conditions: _,
            // Reached through the properties' shapes.
            enums: _,
            objects: _,
            open_request: _,
            // Derived from the above for typify: nothing of its own.
            lowered: _,
            replacements: _,
            docs: _,
        } = self.old;
        if let (Some(old_model), Some(new_model)) = (&self.old.model, &self.new.model) {
            self.identity(old_model, new_model);
        }
        let (old_docs, new_docs) = (self.old.docs.get(""), self.new.docs.get(""));
        for (keyword, old, new, what) in [
            (
                "$comment",
                old_docs.and_then(|docs| docs.comment.as_ref()),
                new_docs.and_then(|docs| docs.comment.as_ref()),
                "`$comment` changed",
            ),
            (
                "examples",
                old_docs.and_then(|docs| docs.examples.as_ref()),
                new_docs.and_then(|docs| docs.examples.as_ref()),
                "examples changed",
            ),
        ] {
            if old != new {
                self.push(Bump::Patch, &format!("/{keyword}"), what);
            }
        }
        self.open_request();
        let added = self.properties();
        self.dependencies(&added);
        self.conditions();
    }

    /// The model's id, title (the request struct's name) and description.
    fn identity(&mut self, old: &ModelMeta, new: &ModelMeta) {
        let ModelMeta {
            id,
            title,
            description,
            rust_name,
            // Derived from the id.
            module: _,
        } = old;
        if *id != new.id {
            self.push(
                Bump::Major,
                "/x-model-id",
                format!(
                    "model id changed: \"{id}\" → \"{}\" (its module, cargo feature, `MODELS` entry and the id sent to the API change)",
                    new.id
                ),
            );
        }
        if *rust_name != new.rust_name {
            self.push(
                Bump::Major,
                "/title",
                format!(
                    "title changed: `{title}` → `{}` renames the request struct `{rust_name}` → `{}`",
                    new.title, new.rust_name
                ),
            );
        } else if *title != new.title {
            self.push(
                Bump::Patch,
                "/title",
                format!(
                    "title changed: `{title}` → `{}` (the request struct keeps its name `{rust_name}`)",
                    new.title
                ),
            );
        }
        if *description != new.description {
            self.push(
                Bump::Patch,
                "/description",
                "description of the model changed (docs and `ModelInfo::description`)",
            );
        }
    }

    /// `additionalProperties`: whether the request takes parameters it does not list.
    fn open_request(&mut self) {
        let pointer = "/additionalProperties";
        match (self.old.open_request, self.new.open_request) {
            (true, false) => self.push(
                Bump::Major,
                pointer,
                "additionalProperties true → false: requests with parameters the schema does not list now fail",
            ),
            (false, true) => self.push(
                Bump::Minor,
                pointer,
                "additionalProperties false → true: parameters the schema does not list are now accepted",
            ),
            _ => {}
        }
    }

    /// The parameters: added, removed, renamed, changed. Returns the names of those
    /// added (renames aside).
    fn properties(&mut self) -> BTreeSet<String> {
        let (old, new) = (self.old, self.new);
        let find = |checked: &'_ Checked, name: &str| {
            checked
                .properties
                .iter()
                .position(|property| property.json_name == name)
        };
        let removed: Vec<&Property> = old
            .properties
            .iter()
            .filter(|property| find(new, &property.json_name).is_none())
            .collect();
        let mut added: Vec<&Property> = new
            .properties
            .iter()
            .filter(|property| find(old, &property.json_name).is_none())
            .collect();
        for old_property in removed {
            if let Some(index) = added
                .iter()
                .position(|new_property| self.is_renamed(old_property, new_property))
            {
                let new_property = added.remove(index);
                self.renamed.insert(
                    old_property.json_name.clone(),
                    new_property.json_name.clone(),
                );
            }
        }
        for old_property in &old.properties {
            let name = &old_property.json_name;
            let here = pointer(name);
            if let Some(index) = find(new, name) {
                self.property(&here, old_property, &new.properties[index]);
            } else if let Some(new_name) = self.renamed.get(name).cloned() {
                let there = pointer(&new_name);
                self.push(
                    Bump::Major,
                    &there,
                    format!("parameter renamed: `{name}` → `{new_name}` (its field, setter, flag and JSON name change)"),
                );
                let is_required =
                    find(new, &new_name).is_some_and(|index| new.properties[index].required);
                self.requirement(&there, old_property.required, is_required);
            } else {
                self.push(Bump::Major, &here, format!("parameter removed: `{name}`"));
            }
        }
        for property in &added {
            let name = &property.json_name;
            if property.required {
                self.push(
                    Bump::Major,
                    &pointer(name),
                    format!("required parameter added: `{name}` (a new argument of `new`; requests without it fail)"),
                );
            } else {
                self.push(
                    Bump::Minor,
                    &pointer(name),
                    format!("parameter added (optional): `{name}`"),
                );
            }
        }
        added
            .into_iter()
            .map(|property| property.json_name.clone())
            .collect()
    }

    /// Whether `new` is `old` under another name: every fact the same but the name, the
    /// flag derived from it, whether it is required (reported on its own) and the docs.
    fn is_renamed(&self, old: &Property, new: &Property) -> bool {
        let Property {
            json_name: _,
            flag: _,
            required: _,
            shape,
            description: _,
            default,
            ignored_when_present,
            asset,
            model_types,
            ui,
            unique_items,
            pattern,
        } = old;
        ShapeDiff::same(self.old, shape, self.new, &new.shape)
            && *default == new.default
            && *ignored_when_present == new.ignored_when_present
            && *asset == new.asset
            && *model_types == new.model_types
            && *ui == new.ui
            && *unique_items == new.unique_items
            && *pattern == new.pattern
    }

    /// One parameter in both versions, fact by fact.
    fn property(&mut self, pointer: &str, old: &Property, new: &Property) {
        let Property {
            json_name: _,
            flag,
            required,
            shape,
            // Read from the docs, with the other documentation keywords.
            description: _,
            default,
            ignored_when_present,
            asset,
            model_types,
            ui,
            unique_items,
            pattern,
        } = old;
        self.requirement(pointer, *required, new.required);
        if *flag != new.flag {
            self.push(
                Bump::Major,
                pointer,
                format!(
                    "flag changed (x-cli-flag): `--{flag}` → `--{}`: breaking for the `kling` CLI (scripts passing `--{flag}` fail); the Rust API of kling-types stays the same",
                    new.flag
                ),
            );
        }
        let mut shapes = ShapeDiff {
            old: self.old,
            new: self.new,
            changes: self.changes,
        };
        if !shapes.shape(pointer, shape, &new.shape, false) {
            return;
        }
        shapes.default(pointer, shape, default.as_ref(), new.default.as_ref());
        shapes.unique_items(pointer, *unique_items, new.unique_items);
        shapes.pattern(pointer, pattern.as_deref(), new.pattern.as_deref());
        if let (
            Shape::Array {
                items: old_items, ..
            },
            Shape::Array {
                items: new_items, ..
            },
        ) = (shape, &new.shape)
            && let (Shape::Object(old_index), Shape::Object(new_index)) =
                (&**old_items, &**new_items)
        {
            let (old_object, new_object) =
                (&self.old.objects[*old_index], &self.new.objects[*new_index]);
            self.item_fields(&format!("{pointer}/items"), old_object, new_object);
        }
        let items = if matches!(shape, Shape::Array { .. }) {
            format!("{pointer}/items")
        } else {
            pointer.to_owned()
        };
        if let (Some(old_asset), Some(new_asset)) = (asset, &new.asset) {
            self.asset(&items, old_asset, new_asset);
        }
        for (keyword, at, old_value, new_value) in [
            (
                "x-model-types",
                pointer,
                (!model_types.is_empty()).then(|| serde_json::json!(model_types)),
                (!new.model_types.is_empty()).then(|| serde_json::json!(new.model_types)),
            ),
            ("x-ui", pointer, ui.clone(), new.ui.clone()),
        ] {
            if old_value != new_value {
                self.push(
                    Bump::Patch,
                    at,
                    format!(
                        "{keyword} changed: {} → {} (documentation and the parameter table; the API checks it, `validate()` does not)",
                        shown(old_value.as_ref()),
                        shown(new_value.as_ref())
                    ),
                );
            }
        }
        self.ignored_when_present(pointer, ignored_when_present, &new.ignored_when_present);
        for at in [pointer.to_owned(), format!("{pointer}/items")] {
            self.changes
                .docs(&at, self.old.docs.get(&at), self.new.docs.get(&at), false);
        }
    }

    /// The fields of an array's item objects (at `pointer`, the items), judged as
    /// parameters are: a required field added is major, an optional one minor, a field
    /// removed major, and each field in both versions fact by fact.
    fn item_fields(&mut self, pointer: &str, old: &ObjectDef, new: &ObjectDef) {
        let ObjectDef {
            rust_name,
            // Reported through the docs of the items (`pointer`).
            description: _,
            fields,
            open,
            // The parameter it belongs to and where it is: the caller's.
            field: _,
            pointer: _,
        } = old;
        if *rust_name != new.rust_name {
            self.push(
                Bump::Major,
                pointer,
                format!("item type renamed: `{rust_name}` → `{}`", new.rust_name),
            );
        }
        match (*open, new.open) {
            (true, false) => self.push(
                Bump::Major,
                pointer,
                "additionalProperties of the items true → false: items with fields the schema does not list now fail",
            ),
            (false, true) => self.push(
                Bump::Minor,
                pointer,
                "additionalProperties of the items false → true: fields the schema does not list are now accepted",
            ),
            _ => {}
        }
        let at = |name: &str| format!("{pointer}/properties/{}", escape(name));
        fn find<'o>(object: &'o ObjectDef, name: &str) -> Option<&'o Property> {
            object.fields.iter().find(|field| field.json_name == name)
        }
        for old_field in fields {
            let name = &old_field.json_name;
            match find(new, name) {
                Some(new_field) => self.property(&at(name), old_field, new_field),
                None => self.push(
                    Bump::Major,
                    &at(name),
                    format!("item field removed: `{name}` of `{}`", old.field),
                ),
            }
        }
        for new_field in new
            .fields
            .iter()
            .filter(|field| find(old, &field.json_name).is_none())
        {
            let name = &new_field.json_name;
            if new_field.required {
                self.push(
                    Bump::Major,
                    &at(name),
                    format!("required item field added: `{name}` of `{}` (a new argument of the item's `new`; items without it fail)", new.field),
                );
            } else {
                self.push(
                    Bump::Minor,
                    &at(name),
                    format!("item field added (optional): `{name}` of `{}`", new.field),
                );
            }
        }
    }

    fn requirement(&mut self, pointer: &str, was_required: bool, is_required: bool) {
        let what = match (was_required, is_required) {
            (false, false) | (true, true) => return,
            (false, true) => {
                "now required: requests without it fail, and `new` takes it as an argument"
            }
            (true, false) => {
                "no longer required: every request stays valid, but the Rust field changes from `T` to `Option<T>` and leaves the arguments of `new`"
            }
        };
        self.push(Bump::Major, pointer, what);
    }

    /// The file behind an asset parameter (at `pointer`: the items of a list of assets).
    fn asset(&mut self, pointer: &str, old: &AssetFacts, new: &AssetFacts) {
        let AssetFacts {
            kind,
            max_size,
            min_duration,
            max_duration,
        } = old;
        if *kind != new.kind {
            self.push(
                Bump::Major,
                pointer,
                format!("x-asset-kind changed: {kind} → {} (`ParamKind::Asset` changes; other files are uploaded and accepted)", new.kind),
            );
        }
        match (*max_size, new.max_size) {
            (old_size, new_size) if old_size == new_size => {}
            (old_size, Some(new_size)) if old_size.is_none_or(|old_size| new_size < old_size) => {
                self.push(
                    Bump::Major,
                    pointer,
                    format!("x-max-size narrowed to {new_size} bytes (the `kling` command refuses larger files before uploading)"),
                );
            }
            (old_size, new_size) => {
                let bytes = |size: Option<u64>| {
                    size.map_or_else(|| "(none)".to_owned(), |size| size.to_string())
                };
                self.push(
                    Bump::Minor,
                    pointer,
                    format!(
                        "x-max-size widened: {} → {}",
                        bytes(old_size),
                        bytes(new_size)
                    ),
                );
            }
        }
        for (keyword, old_seconds, new_seconds) in [
            ("x-min-duration", *min_duration, new.min_duration),
            ("x-max-duration", *max_duration, new.max_duration),
        ] {
            if old_seconds != new_seconds {
                let seconds = |value: Option<f64>| {
                    value.map_or_else(|| "(none)".to_owned(), |value| value.to_string())
                };
                self.push(
                    Bump::Patch,
                    pointer,
                    format!(
                        "{keyword} changed: {} → {} (documentation and the parameter table; the API checks it, `validate()` does not)",
                        seconds(old_seconds),
                        seconds(new_seconds)
                    ),
                );
            }
        }
    }

    /// `x-ignored-when-present`: warnings of `validate()` only, so patch.
    fn ignored_when_present(
        &mut self,
        pointer: &str,
        old: &[(String, String)],
        new: &[(String, String)],
    ) {
        // Rules on a renamed parameter name it by its new name.
        let old_rules: BTreeMap<&str, &str> = old
            .iter()
            .map(|(other, why)| (self.new_name(other), why.as_str()))
            .collect();
        let new_rules: BTreeMap<&str, &str> = new
            .iter()
            .map(|(other, why)| (other.as_str(), why.as_str()))
            .collect();
        let mut found = Vec::new();
        for (other, why) in &new_rules {
            match old_rules.get(other) {
                None => found.push(format!(
                    "now ignored when `{other}` is set (a warning of `validate()`)"
                )),
                Some(old_why) if old_why != why => found.push(format!(
                    "reason it is ignored when `{other}` is set changed (a warning of `validate()`)"
                )),
                Some(_) => {}
            }
        }
        for other in old_rules.keys() {
            if !new_rules.contains_key(other) {
                found.push(format!(
                    "no longer ignored when `{other}` is set (one warning of `validate()` less)"
                ));
            }
        }
        for what in found {
            self.push(Bump::Patch, pointer, what);
        }
    }

    /// Draft-07 property `dependencies`; `added` are the parameters new in this version
    /// (a requirement on them breaks no request that exists).
    fn dependencies(&mut self, added: &BTreeSet<String>) {
        let pairs = |dependencies: &[(String, Vec<String>)]| -> BTreeSet<(String, String)> {
            dependencies
                .iter()
                .flat_map(|(field, needs)| {
                    needs.iter().map(move |need| (field.clone(), need.clone()))
                })
                .collect()
        };
        let old_pairs: BTreeSet<(String, String)> = pairs(&self.old.dependencies)
            .into_iter()
            .map(|(field, need)| {
                (
                    self.new_name(&field).to_owned(),
                    self.new_name(&need).to_owned(),
                )
            })
            .collect();
        let new_pairs = pairs(&self.new.dependencies);
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

    /// The root's `allOf` of `if`/`then` (conditional requirements): a condition added
    /// is major (requests that were valid now fail), one removed minor; their docs patch.
    fn conditions(&mut self) {
        let old: Vec<Condition> = self
            .old
            .conditions
            .iter()
            .map(|condition| self.renamed_condition(condition))
            .collect();
        let new = &self.new.conditions;
        for condition in new.iter().filter(|condition| !old.contains(condition)) {
            self.push(
                Bump::Major,
                "/allOf",
                format!(
                    "condition added: {} (requests that were valid now fail)",
                    words(condition)
                ),
            );
        }
        for condition in old.iter().filter(|condition| !new.contains(condition)) {
            self.push(
                Bump::Minor,
                "/allOf",
                format!("condition removed: {}", words(condition)),
            );
        }
        let docs = |checked: &Checked| -> Vec<_> {
            checked
                .docs
                .iter()
                .filter(|(pointer, _)| pointer.starts_with("/allOf/"))
                .map(|(pointer, docs)| (pointer.clone(), docs.clone()))
                .collect()
        };
        if old == *new && docs(self.old) != docs(self.new) {
            self.push(Bump::Patch, "/allOf", "conditions' annotations changed");
        }
    }

    /// `condition` with the parameters it names by their new names.
    fn renamed_condition(&self, condition: &Condition) -> Condition {
        let Condition { field, rule } = condition;
        let rule = match rule {
            Rule::Absent(other) => Rule::Absent(self.new_name(other).to_owned()),
            Rule::Values(values) => Rule::Values(
                values
                    .iter()
                    .map(|(other, allowed)| (self.new_name(other).to_owned(), allowed.clone()))
                    .collect(),
            ),
        };
        Condition {
            field: self.new_name(field).to_owned(),
            rule,
        }
    }
}

/// `/properties/NAME`.
fn pointer(name: &str) -> String {
    format!("/properties/{}", escape(name))
}

/// A condition in words: "`b` is required when `a` is left out".
fn words(condition: &Condition) -> String {
    let when = match &condition.rule {
        Rule::Absent(other) => format!("`{other}` is left out"),
        Rule::Values(values) => values
            .iter()
            .map(|(other, allowed)| {
                let allowed: Vec<String> =
                    allowed.iter().map(serde_json::Value::to_string).collect();
                format!("`{other}` is {}", allowed.join(" or "))
            })
            .collect::<Vec<_>>()
            .join(" and "),
    };
    format!("`{}` is required when {when}", condition.field)
}
