//! An import over a schema that is already there: the import brings
//! what Scenario's description says, the curated file keeps what only a person can say
//! (`$comment`s naming each constraint's source, `x-enum-names`, `x-cli-flag`,
//! `x-ignored-when-present`, `examples`). Merging never clobbers those; `--force`
//! replaces the file with the bare import instead.

use serde_json::{Map, Value};

/// Keys of a curated property that the description cannot say, kept by a merge.
pub const CURATED: &[&str] = &[
    "$comment",
    "examples",
    "x-enum-names",
    "x-cli-flag",
    "x-ignored-when-present",
];

/// What a merge kept of the curated schema, and what it had to let go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// JSON pointers of the curated keys the merge kept (`/properties/duration/x-enum-names`).
    pub kept: Vec<String>,
    /// Curated keys the import made wrong, each with why (`x-enum-names` of an enum whose
    /// values changed).
    pub dropped: Vec<String>,
}

/// `imported` with the curated keys of `curated` put back, property by property (and
/// on the items of arrays, and the fields of their item objects); the root keeps the
/// curated `$comment`.
///
/// ```
/// use serde_json::json;
/// let curated = json!({"$comment": "sources", "properties": {
///     "duration": {"type": "integer", "enum": [5, 10], "x-enum-names": ["Seconds5", "Seconds10"]}}});
/// let imported = json!({"$comment": "Imported by …", "properties": {
///     "duration": {"type": "integer", "enum": [5, 10]}}});
/// let (merged, report) = kling_dialect::merge(&curated, &imported);
/// assert_eq!(merged["properties"]["duration"]["x-enum-names"], json!(["Seconds5", "Seconds10"]));
/// assert_eq!(merged["$comment"], "sources");
/// assert_eq!(report.kept, ["/$comment", "/properties/duration/x-enum-names"]);
/// ```
pub fn merge(curated: &Value, imported: &Value) -> (Value, Merged) {
    let mut merged = imported.clone();
    let mut report = Merged::default();
    if let (Some(comment), Some(root)) = (curated.get("$comment"), merged.as_object_mut()) {
        root.insert("$comment".to_owned(), comment.clone());
        report.kept.push("/$comment".to_owned());
    }
    let names: Vec<String> = imported["properties"]
        .as_object()
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default();
    if let (Some(old), Some(new)) = (
        curated["properties"].as_object(),
        merged.get_mut("properties").and_then(Value::as_object_mut),
    ) {
        for (name, property) in new.iter_mut() {
            if let (Some(old), Some(new)) = (
                old.get(name).and_then(Value::as_object),
                property.as_object_mut(),
            ) {
                let pointer = format!("/properties/{}", name.replace('~', "~0").replace('/', "~1"));
                keep(old, new, &pointer, &names, &mut report);
            }
        }
    }
    (merged, report)
}

/// `merged` (a [`merge`] of an import over `curated`) with the Rust names of enum values
/// that both keep carried over where the merge had to drop `x-enum-names` (the values
/// changed), and the generator's own names ([`variant_name`](crate::variant_name)) for new
/// values: what a comparison with `curated` needs, so that a value added or removed does
/// not also read as every other variant renamed. Not for writing a schema: a person names
/// new values.
///
/// ```
/// use serde_json::json;
/// let curated = json!({"properties": {"duration": {"type": "integer", "enum": [5, 10],
///     "x-enum-names": ["Seconds5", "Seconds10"]}}});
/// let imported = json!({"properties": {"duration": {"type": "integer", "enum": [5]}}});
/// let (mut merged, _) = kling_dialect::merge(&curated, &imported);
/// kling_dialect::carry_enum_names(&curated, &mut merged);
/// assert_eq!(merged["properties"]["duration"]["x-enum-names"], json!(["Seconds5"]));
/// ```
pub fn carry_enum_names(curated: &Value, merged: &mut Value) {
    let (Some(old), Some(new)) = (
        curated["properties"].as_object(),
        merged.get_mut("properties").and_then(Value::as_object_mut),
    ) else {
        return;
    };
    for (name, property) in new.iter_mut() {
        if let (Some(old), Some(new)) = (old.get(name), property.as_object_mut()) {
            carry_names(old, new);
            if let (Some(old_items), Some(Value::Object(new_items))) =
                (old.get("items"), new.get_mut("items"))
            {
                carry_names(old_items, new_items);
                // The fields of an array's item objects.
                if let (Some(old_fields), Some(Value::Object(new_fields))) = (
                    old_items.get("properties").and_then(Value::as_object),
                    new_items.get_mut("properties"),
                ) {
                    for (field, new_field) in new_fields.iter_mut() {
                        if let (Some(old_field), Some(new_field)) =
                            (old_fields.get(field), new_field.as_object_mut())
                        {
                            carry_names(old_field, new_field);
                        }
                    }
                }
            }
        }
    }
}

fn carry_names(old: &Value, new: &mut Map<String, Value>) {
    let (Some(values), Some(names), Some(now)) = (
        old.get("enum").and_then(Value::as_array),
        old.get("x-enum-names").and_then(Value::as_array),
        new.get("enum").and_then(Value::as_array),
    ) else {
        return;
    };
    if new.contains_key("x-enum-names") {
        return;
    }
    let carried: Vec<Value> = now
        .iter()
        .map(|value| {
            values
                .iter()
                .position(|old_value| old_value == value)
                .and_then(|index| names.get(index).cloned())
                .unwrap_or_else(|| {
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    Value::String(crate::variant_name(&text))
                })
        })
        .collect();
    new.insert("x-enum-names".to_owned(), Value::Array(carried));
}

/// Puts the curated keys of `old` into `new` where they still hold.
fn keep(
    old: &Map<String, Value>,
    new: &mut Map<String, Value>,
    pointer: &str,
    names: &[String],
    report: &mut Merged,
) {
    for key in CURATED {
        let Some(value) = old.get(*key) else {
            continue;
        };
        let here = format!("{pointer}/{key}");
        let still_holds = match *key {
            // The names go with the values, in order: other values need other names.
            "x-enum-names" => old.get("enum") == new.get("enum"),
            // Each rule names another parameter, which must still be there.
            "x-ignored-when-present" => value
                .as_object()
                .is_some_and(|rules| rules.keys().all(|other| names.contains(other))),
            _ => true,
        };
        if still_holds {
            new.insert((*key).to_owned(), value.clone());
            report.kept.push(here);
        } else {
            report.dropped.push(format!(
                "{here}: {}",
                if *key == "x-enum-names" {
                    "the enum's values changed: name the new ones"
                } else {
                    "it names a parameter the model no longer has"
                }
            ));
        }
    }
    if let (Some(old_items), Some(new_items)) = (
        old.get("items").and_then(Value::as_object),
        new.get_mut("items").and_then(Value::as_object_mut),
    ) {
        keep(
            old_items,
            new_items,
            &format!("{pointer}/items"),
            names,
            report,
        );
    }
    // The fields of an array's item objects: their curated keys too.
    if let (Some(old_fields), Some(new_fields)) = (
        old.get("properties").and_then(Value::as_object),
        new.get_mut("properties").and_then(Value::as_object_mut),
    ) {
        let field_names: Vec<String> = new_fields.keys().cloned().collect();
        for (name, new_field) in new_fields.iter_mut() {
            if let (Some(old_field), Some(new_field)) = (
                old_fields.get(name).and_then(Value::as_object),
                new_field.as_object_mut(),
            ) {
                let here = format!(
                    "{pointer}/properties/{}",
                    name.replace('~', "~0").replace('/', "~1")
                );
                keep(old_field, new_field, &here, &field_names, report);
            }
        }
    }
}
