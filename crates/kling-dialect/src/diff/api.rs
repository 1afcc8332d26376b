//! An api schema's change (the wire types of `schema/api/`), over the two schemas' JSON
//! once the checker has accepted both: why it is JSON and which keywords it reads is in
//! the parent module's docs. Enums and documentation come from the checked forms.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::shape::ShapeDiff;
use super::{Bump, Changes, shown};
use crate::check::escape;
use crate::{Checked, IdKind, Shape};

/// A schema's JSON and its checked form.
type Version<'v> = (&'v Value, &'v Checked);

/// Compares two versions of one api schema, both accepted by the checker.
pub(super) fn diff(changes: &mut Changes<'_>, old: Version<'_>, new: Version<'_>) {
    let mut differ = Differ {
        old: old.1,
        new: new.1,
        changes,
    };
    differ.root(old.0, new.0);
}

struct Differ<'c, 'f> {
    old: &'c Checked,
    new: &'c Checked,
    changes: &'c mut Changes<'f>,
}

/// An object-valued keyword (`definitions`, `properties`): absent is empty. The checker
/// has made sure it is an object.
fn object<'v>(node: &'v Map<String, Value>, keyword: &str) -> Option<&'v Map<String, Value>> {
    node.get(keyword).and_then(Value::as_object)
}

/// `required`: absent is empty (the checker has made sure it is a list of names).
fn required(node: &Map<String, Value>) -> BTreeSet<&str> {
    node.get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

impl Differ<'_, '_> {
    fn push(&mut self, bump: Bump, pointer: &str, what: impl Into<String>) {
        self.changes.push(bump, pointer, what);
    }

    fn docs(&mut self, pointer: &str, title_names_type: bool) {
        self.changes.docs(
            pointer,
            self.old.docs.get(pointer),
            self.new.docs.get(pointer),
            title_names_type,
        );
    }

    fn root(&mut self, old: &Value, new: &Value) {
        let empty = Map::new();
        let node = |root: &Value| root.as_object().cloned().unwrap_or_default();
        let (old, new) = (node(old), node(new));
        let (old_comment, new_comment) = (
            self.old.docs.get("").and_then(|docs| docs.comment.as_ref()),
            self.new.docs.get("").and_then(|docs| docs.comment.as_ref()),
        );
        if old_comment != new_comment {
            self.push(Bump::Patch, "/$comment", "`$comment` changed");
        }
        let old_definitions = object(&old, "definitions").unwrap_or(&empty);
        let new_definitions = object(&new, "definitions").unwrap_or(&empty);
        for (name, old_definition) in old_definitions {
            let pointer = format!("/definitions/{}", escape(name));
            match new_definitions.get(name) {
                Some(new_definition) => {
                    self.schema(&pointer, old_definition, new_definition, false)
                }
                None => self.push(
                    Bump::Major,
                    &pointer,
                    format!("definition removed: `{name}` (`kling_types::api::{name}` is gone)"),
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

    /// The fields and `required` of an object type.
    fn properties(&mut self, pointer: &str, old: &Map<String, Value>, new: &Map<String, Value>) {
        let empty = Map::new();
        let old_properties = object(old, "properties").unwrap_or(&empty);
        let new_properties = object(new, "properties").unwrap_or(&empty);
        let (old_required, new_required) = (required(old), required(new));
        for (name, old_schema) in old_properties {
            let here = format!("{pointer}/properties/{}", escape(name));
            match new_properties.get(name) {
                Some(new_schema) => {
                    self.requirement(
                        &here,
                        old_required.contains(name.as_str()),
                        new_required.contains(name.as_str()),
                    );
                    self.schema(&here, old_schema, new_schema, false);
                }
                None => self.push(Bump::Major, &here, format!("field removed: `{name}`")),
            }
        }
        for name in new_properties
            .keys()
            .filter(|name| !old_properties.contains_key(*name))
        {
            let here = format!("{pointer}/properties/{}", escape(name));
            if new_required.contains(name.as_str()) {
                self.push(
                    Bump::Major,
                    &here,
                    format!("required field added: `{name}` (answers without it fail to decode)"),
                );
            } else {
                self.push(Bump::Minor, &here, format!("field added: `{name}`"));
            }
        }
    }

    fn requirement(&mut self, pointer: &str, was_required: bool, is_required: bool) {
        let what = match (was_required, is_required) {
            (false, false) | (true, true) => return,
            (false, true) => {
                "field now required: answers without it fail to decode, and the field changes from `Option<T>` to `T`"
            }
            (true, false) => "field no longer required: the field changes from `T` to `Option<T>`",
        };
        self.push(Bump::Major, pointer, what);
    }

    /// One value schema: a definition, a field, array items, map values.
    fn schema(&mut self, pointer: &str, old: &Value, new: &Value, items: bool) {
        let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
            return;
        };
        let (old_type, new_type) = (
            self.rust_type(self.old, pointer, old),
            self.rust_type(self.new, pointer, new),
        );
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
        if let (Some((old_index, _)), Some((new_index, _))) = (
            self.enum_at(self.old, pointer),
            self.enum_at(self.new, pointer),
        ) {
            let mut shapes = ShapeDiff {
                old: self.old,
                new: self.new,
                changes: self.changes,
            };
            shapes.shape(
                pointer,
                &Shape::Enum(old_index),
                &Shape::Enum(new_index),
                items,
            );
        }
        if old.get("default") != new.get("default") {
            self.push(
                Bump::Patch,
                pointer,
                format!(
                    "default changed: {} → {} (documentation only in a response type)",
                    shown(old.get("default")),
                    shown(new.get("default"))
                ),
            );
        }
        if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
            self.schema(&format!("{pointer}/items"), old_items, new_items, true);
        }
        self.properties(pointer, old, new);
        if let (Some(old_values), Some(new_values)) = (
            old.get("additionalProperties"),
            new.get("additionalProperties"),
        ) {
            self.schema(
                &format!("{pointer}/additionalProperties"),
                old_values,
                new_values,
                false,
            );
        }
        let title_names_type = old.get("type").and_then(Value::as_str) == Some("object");
        self.docs(pointer, title_names_type);
    }

    /// The enum the checker read at `pointer`, if any.
    fn enum_at<'c>(
        &self,
        checked: &'c Checked,
        pointer: &str,
    ) -> Option<(usize, &'c crate::EnumDef)> {
        checked
            .enums
            .iter()
            .enumerate()
            .find(|(_, definition)| definition.pointer == pointer)
    }

    /// The Rust type the generator (or typify) gives a value schema, as messages name
    /// it. Two schemas with different answers have different Rust types: a breaking change.
    fn rust_type(&self, checked: &Checked, pointer: &str, node: &Map<String, Value>) -> String {
        if let Some((_, definition)) = self.enum_at(checked, pointer) {
            let kind = match definition.variants.first().map(|variant| &variant.value) {
                Some(crate::VariantValue::Integer(_)) => "integers",
                Some(crate::VariantValue::Number(_)) => "numbers",
                _ => "strings",
            };
            return format!("an enum of {kind}");
        }
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            return format!("`{}`", target.rsplit('/').next().unwrap_or(target));
        }
        let ty = node.get("type").and_then(Value::as_str);
        match ty {
            None => "any JSON (`serde_json::Value`)".to_owned(),
            Some("string") => match node
                .get("format")
                .and_then(Value::as_str)
                .and_then(IdKind::from_format)
            {
                Some(id) => format!("`{}`", id.type_name()),
                None => "`String`".to_owned(),
            },
            Some("integer") => "`i64`".to_owned(),
            Some("number") => "`f64`".to_owned(),
            Some("boolean") => "`bool`".to_owned(),
            Some("array") => "`Vec<_>`".to_owned(),
            Some("object") if node.contains_key("properties") => "a struct".to_owned(),
            Some("object")
                if node
                    .get("additionalProperties")
                    .is_some_and(Value::is_object) =>
            {
                "a map".to_owned()
            }
            Some(_) => "a JSON object (`serde_json::Map`)".to_owned(),
        }
    }
}
