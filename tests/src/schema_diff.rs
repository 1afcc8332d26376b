//! `cargo xtask schema-diff`: every kind of schema change with the semver bump it needs
//! (one line per case, model and api schemas), the real schemas against themselves, the
//! report for a realistic edit of the Kling schema, `--against` on a real git
//! repository, and the command's arguments and exit codes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kling_dialect::{Kind, Version};
use serde_json::{Value, json};
use xtask::codegen;
use xtask::schema_diff::{
    self, Bump, Bump::Major, Bump::Minor, Bump::Patch, Change, Input, Options,
};

/// Compares `old` with `new` (an api schema when it has `definitions` and no
/// `x-model-id`, a model schema otherwise) and checks the changes, in order: each
/// `(bump, pointer, a substring of what)`.
#[track_caller]
fn check(old: Value, new: Value, expected: &[(Bump, &str, &str)]) {
    let changes = diff("test.json", &old, &new)
        .unwrap_or_else(|error| panic!("{error}\nold: {old}\nnew: {new}"));
    let matches = changes.len() == expected.len()
        && changes
            .iter()
            .zip(expected)
            .all(|(change, (bump, pointer, what))| {
                change.bump == *bump && change.pointer == *pointer && change.what.contains(what)
            });
    assert!(
        matches,
        "expected {expected:#?}\ngot {changes:#?}\nold: {old}\nnew: {new}"
    );
    assert!(
        changes.iter().all(|change| change.file == "test.json"),
        "{changes:#?}"
    );
}

/// Compares two versions of a model schema, or of an api schema when `old` has
/// `definitions` and no `x-model-id`.
fn diff(file: &str, old: &Value, new: &Value) -> Result<Vec<Change>, kling_dialect::DiffError> {
    match schema_diff::kind_of(file, old) {
        Kind::Model => schema_diff::diff_model(file, old, new),
        Kind::Api => schema_diff::diff_api(file, old, new),
    }
}

/// Compares `old` with `new` and checks that the dialect refuses `version` of them, at
/// `pointer`, with a message that names the file and `keyword`.
#[track_caller]
fn refused(old: Value, new: Value, version: Version, pointer: &str, keyword: &str) {
    let error = match diff("test.json", &old, &new) {
        Ok(changes) => panic!(
            "expected the {} version to be refused, got {changes:#?}",
            version.name()
        ),
        Err(error) => error,
    };
    let message = error.to_string();
    assert_eq!(
        (error.version, error.error.pointer.as_str()),
        (version, pointer),
        "{message}"
    );
    assert!(
        message.starts_with(&format!(
            "the {} version of test.json: at `",
            version.name()
        )) && message.contains(keyword),
        "{message}"
    );
}

/// A model with these parameters, none required.
fn model(properties: Value) -> Value {
    model_requiring(properties, json!([]))
}

/// A model with these parameters and required ones.
fn model_requiring(properties: Value, required: Value) -> Value {
    json!({
        "x-model-id": "model_test",
        "title": "Test",
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// A model with one optional parameter `p`.
fn param(schema: Value) -> Value {
    model(json!({ "p": schema }))
}

/// An api schema with these definitions.
fn api(definitions: Value) -> Value {
    json!({ "definitions": definitions })
}

/// An api schema whose definition `T` has these fields and required ones.
fn object(properties: Value, required: Value) -> Value {
    api(json!({ "T": { "type": "object", "required": required, "properties": properties } }))
}

/// An api schema whose definition `T` has one optional field `f`.
fn field(schema: Value) -> Value {
    object(json!({ "f": schema }), json!([]))
}

const P: &str = "/properties/p";
const F: &str = "/definitions/T/properties/f";

#[test]
#[rustfmt::skip]
fn model_parameters_added_removed_renamed() {
    check(model(json!({})), param(json!({"type": "integer"})), &[(Minor, P, "parameter added (optional): `p`")]);
    check(model(json!({})), model_requiring(json!({"p": {"type": "integer"}}), json!(["p"])), &[(Major, P, "required parameter added: `p`")]);
    check(param(json!({"type": "integer"})), model(json!({})), &[(Major, P, "parameter removed: `p`")]);
    check(param(json!({"type": "integer", "description": "Old."})), model(json!({"q": {"type": "integer", "description": "New."}})), &[(Major, "/properties/q", "parameter renamed: `p` → `q`")]);
    check(model_requiring(json!({"p": {"type": "integer"}}), json!(["p"])), model(json!({"q": {"type": "integer"}})), &[(Major, "/properties/q", "parameter renamed"), (Major, "/properties/q", "no longer required")]);
    check(param(json!({"type": "integer"})), model(json!({"q": {"type": "string"}})), &[(Major, P, "parameter removed: `p`"), (Minor, "/properties/q", "parameter added (optional): `q`")]);
}

#[test]
#[rustfmt::skip]
fn model_types() {
    check(param(json!({"type": "string"})), param(json!({"type": "integer"})), &[(Major, P, "type changed: `String` → `i64`")]);
    check(param(json!({"type": "integer"})), param(json!({"type": "number"})), &[(Major, P, "type changed: `i64` → `f64`")]);
    check(param(json!({"type": "string"})), param(json!({"type": "string", "format": "asset-id"})), &[(Major, P, "type changed: `String` → `AssetId`")]);
    check(param(json!({"type": "string", "format": "job-id"})), param(json!({"type": "string", "format": "model-id"})), &[(Major, P, "type changed: `JobId` → `ModelId`")]);
    check(param(json!({"type": "string"})), param(json!({"type": "string", "enum": ["a"]})), &[(Major, P, "type changed: `String` → `P` (an enum of strings)")]);
    check(param(json!({"type": "array", "items": {"type": "string", "format": "asset-id"}})), param(json!({"type": "array", "items": {"type": "string"}})), &[(Major, "/properties/p/items", "item type changed: `AssetId` → `String`")]);
    check(param(json!({"type": "boolean"})), param(json!({"type": "array", "items": {"type": "boolean"}})), &[(Major, P, "type changed: `bool` → `Vec<bool>`")]);
}

#[test]
#[rustfmt::skip]
fn model_ranges_and_lengths() {
    let number = |bounds: Value| {
        let mut schema = json!({"type": "number"});
        schema.as_object_mut().unwrap().extend(bounds.as_object().unwrap().clone());
        param(schema)
    };
    check(number(json!({"minimum": 0})), number(json!({"minimum": 1})), &[(Major, P, "range narrowed: minimum 0 → 1")]);
    check(number(json!({"minimum": 1})), number(json!({"minimum": 0})), &[(Minor, P, "range widened: minimum 1 → 0")]);
    check(number(json!({"exclusiveMinimum": 0})), number(json!({"exclusiveMinimum": 0.5})), &[(Major, P, "range narrowed: exclusiveMinimum 0 → 0.5")]);
    check(number(json!({"minimum": 0})), number(json!({"exclusiveMinimum": 0})), &[(Major, P, "range narrowed: minimum 0 → exclusiveMinimum 0")]);
    check(number(json!({"exclusiveMinimum": 0})), number(json!({"minimum": 0})), &[(Minor, P, "range widened: exclusiveMinimum 0 → minimum 0")]);
    check(number(json!({"maximum": 1})), number(json!({"maximum": 0.8})), &[(Major, P, "range narrowed: maximum 1 → 0.8")]);
    check(number(json!({"maximum": 1})), number(json!({"maximum": 2})), &[(Minor, P, "range widened: maximum 1 → 2")]);
    check(number(json!({"exclusiveMaximum": 10})), number(json!({"exclusiveMaximum": 9})), &[(Major, P, "range narrowed: exclusiveMaximum 10 → 9")]);
    check(number(json!({})), number(json!({"maximum": 10})), &[(Major, P, "range narrowed: maximum 10 added")]);
    check(number(json!({"minimum": 0})), number(json!({})), &[(Minor, P, "range widened: minimum 0 removed")]);
    // The same limit, spelled another way: the checked forms agree.
    check(number(json!({"minimum": 1})), number(json!({"minimum": 1.0})), &[]);
    check(param(json!({"type": "string", "minLength": 1})), param(json!({"type": "string", "minLength": 2})), &[(Major, P, "length narrowed: minLength 1 → 2")]);
    check(param(json!({"type": "string", "maxLength": 2500})), param(json!({"type": "string", "maxLength": 2000})), &[(Major, P, "length narrowed: maxLength 2500 → 2000")]);
    check(param(json!({"type": "string", "maxLength": 2000})), param(json!({"type": "string", "maxLength": 2500})), &[(Minor, P, "length widened: maxLength 2000 → 2500")]);
    check(param(json!({"type": "string"})), param(json!({"type": "string", "minLength": 1})), &[(Major, P, "length narrowed: minLength 1 added")]);
    check(param(json!({"type": "string", "maxLength": 9})), param(json!({"type": "string"})), &[(Minor, P, "length widened: maxLength 9 removed")]);
    check(param(json!({"type": "array", "items": {"type": "string"}, "minItems": 1})), param(json!({"type": "array", "items": {"type": "string"}, "minItems": 2})), &[(Major, P, "item count narrowed: minItems 1 → 2")]);
    check(param(json!({"type": "array", "items": {"type": "string"}, "maxItems": 4})), param(json!({"type": "array", "items": {"type": "string"}, "maxItems": 3})), &[(Major, P, "item count narrowed: maxItems 4 → 3")]);
    check(param(json!({"type": "array", "items": {"type": "string"}, "maxItems": 4})), param(json!({"type": "array", "items": {"type": "string"}})), &[(Minor, P, "item count widened: maxItems 4 removed")]);
    check(param(json!({"type": "array", "items": {"type": "number", "maximum": 1}})), param(json!({"type": "array", "items": {"type": "number", "maximum": 2}})), &[(Minor, "/properties/p/items", "range widened")]);
}

#[test]
#[rustfmt::skip]
fn model_defaults() {
    check(param(json!({"type": "number", "default": 0.5})), param(json!({"type": "number", "default": 0.7})), &[(Minor, P, "default changed: 0.5 → 0.7")]);
    check(param(json!({"type": "number"})), param(json!({"type": "number", "default": 0.5})), &[(Minor, P, "default added: 0.5")]);
    check(param(json!({"type": "number", "default": 0.5})), param(json!({"type": "number"})), &[(Minor, P, "default removed: 0.5")]);
    check(param(json!({"type": "string", "enum": ["a", "b"], "default": "a"})), param(json!({"type": "string", "enum": ["a", "b"]})), &[(Major, P, "`impl Default` goes away")]);
    check(param(json!({"type": "string", "enum": ["a", "b"], "default": "a"})), param(json!({"type": "string", "enum": ["a", "b"], "default": "b"})), &[(Minor, P, "default changed: \"a\" → \"b\"")]);
}

#[test]
#[rustfmt::skip]
fn model_enums() {
    let ratio = |values: Value, names: Value| param(json!({"type": "string", "enum": values, "x-enum-names": names}));
    check(ratio(json!(["16:9", "1:1"]), json!(["Wide", "Square"])), ratio(json!(["16:9", "1:1", "2:3"]), json!(["Wide", "Square", "Tall"])), &[(Minor, P, "enum value added: 2:3")]);
    check(ratio(json!(["16:9", "1:1"]), json!(["Wide", "Square"])), ratio(json!(["16:9"]), json!(["Wide"])), &[(Major, P, "enum value removed: 1:1")]);
    check(ratio(json!(["16:9", "1:1"]), json!(["Wide", "Square"])), ratio(json!(["16:9", "1:1"]), json!(["Landscape", "Square"])), &[(Major, P, "Rust variant of 16:9 renamed (x-enum-names): `Wide` → `Landscape`")]);
    check(ratio(json!(["16:9", "1:1"]), json!(["Wide", "Square"])), ratio(json!(["1:1", "16:9"]), json!(["Square", "Wide"])), &[(Patch, P, "enum values reordered")]);
    check(param(json!({"type": "integer", "enum": [5, 10]})), param(json!({"type": "integer", "enum": [5]})), &[(Major, P, "enum value removed: 10")]);
    check(param(json!({"type": "integer", "enum": [5, 10]})), param(json!({"type": "integer", "enum": [5, 10], "x-enum-names": ["Seconds5", "Seconds10"]})), &[(Major, P, "Rust variant of 5 renamed (x-enum-names): `V5` → `Seconds5`"), (Major, P, "`V10` → `Seconds10`")]);
    check(param(json!({"type": "string", "enum": ["in-progress"]})), param(json!({"type": "string", "enum": ["in-progress"], "x-enum-names": ["InProgress"]})), &[]);
    check(param(json!({"type": "string", "enum": ["a"]})), param(json!({"type": "integer", "enum": [1]})), &[(Major, P, "type changed: `P` (an enum of strings) → `P` (an enum of integers)")]);
}

/// A model whose optional parameter `p` is a list of objects with these fields and
/// required ones.
fn objects(fields: Value, required: Value) -> Value {
    param(
        json!({"type": "array", "items": {"type": "object", "additionalProperties": false, "required": required, "properties": fields}}),
    )
}

const ITEMS: &str = "/properties/p/items";

/// The fields of an array's item objects are judged by the rules of parameters.
#[test]
#[rustfmt::skip]
fn model_item_fields() {
    let a = json!({"a": {"type": "integer", "maximum": 5}});
    check(objects(a.clone(), json!([])), objects(json!({"a": {"type": "integer", "maximum": 5}, "b": {"type": "string"}}), json!([])), &[(Minor, "/properties/p/items/properties/b", "item field added (optional): `b` of `p`")]);
    check(objects(a.clone(), json!([])), objects(json!({"a": {"type": "integer", "maximum": 5}, "b": {"type": "string"}}), json!(["b"])), &[(Major, "/properties/p/items/properties/b", "required item field added: `b` of `p`")]);
    check(objects(json!({"a": {"type": "integer", "maximum": 5}, "b": {"type": "string"}}), json!([])), objects(a.clone(), json!([])), &[(Major, "/properties/p/items/properties/b", "item field removed: `b` of `p`")]);
    check(objects(a.clone(), json!([])), objects(json!({"a": {"type": "integer", "maximum": 4}}), json!([])), &[(Major, "/properties/p/items/properties/a", "range narrowed: maximum 5 → 4")]);
    check(objects(a.clone(), json!([])), objects(json!({"a": {"type": "integer", "maximum": 6}}), json!([])), &[(Minor, "/properties/p/items/properties/a", "range widened: maximum 5 → 6")]);
    check(objects(a.clone(), json!([])), objects(a.clone(), json!(["a"])), &[(Major, "/properties/p/items/properties/a", "now required")]);
    check(objects(a.clone(), json!([])), objects(json!({"a": {"type": "string"}}), json!([])), &[(Major, "/properties/p/items/properties/a", "type changed: `i64` → `String`")]);
    check(objects(json!({"e": {"type": "string", "enum": ["x"]}}), json!([])), objects(json!({"e": {"type": "string", "enum": ["x", "y"]}}), json!([])), &[(Minor, "/properties/p/items/properties/e", "enum value added: y")]);
    check(objects(a.clone(), json!([])), objects(json!({"a": {"type": "integer", "maximum": 5, "description": "Now documented."}}), json!([])), &[(Patch, "/properties/p/items/properties/a", "description")]);
    let mut open = objects(a.clone(), json!([]));
    open["properties"]["p"]["items"]["additionalProperties"] = json!(true);
    check(objects(a.clone(), json!([])), open.clone(), &[(Minor, ITEMS, "fields the schema does not list are now accepted")]);
    check(open, objects(a.clone(), json!([])), &[(Major, ITEMS, "items with fields the schema does not list now fail")]);
    check(param(json!({"type": "array", "items": {"type": "string"}})), objects(a.clone(), json!([])), &[(Major, ITEMS, "item type changed: `String` → `PItem`")]);
    // A list of objects renamed, its fields unchanged, is a rename.
    check(objects(a.clone(), json!([])), model(json!({"q": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": [], "properties": a}}})), &[(Major, "/properties/q", "parameter renamed: `p` → `q`")]);
    refused(objects(a.clone(), json!([])), objects(json!({"a": {"type": "object", "properties": {}}}), json!([])), Version::New, "/properties/p/items/properties/a/type", "one level of objects");
}

#[test]
#[rustfmt::skip]
fn model_requirements() {
    check(param(json!({"type": "integer"})), model_requiring(json!({"p": {"type": "integer"}}), json!(["p"])), &[(Major, P, "now required: requests without it fail")]);
    check(model_requiring(json!({"p": {"type": "integer"}}), json!(["p"])), param(json!({"type": "integer"})), &[(Major, P, "from `T` to `Option<T>`")]);
    refused(model_requiring(json!({"p": {"type": "integer"}}), json!(["p", "ghost"])), param(json!({"type": "integer"})), Version::Old, "/required", "`ghost`");
}

#[test]
#[rustfmt::skip]
fn model_dependencies() {
    let two = |dependencies: Value| {
        let mut schema = model(json!({"a": {"type": "string"}, "b": {"type": "string"}}));
        schema["dependencies"] = dependencies;
        schema
    };
    check(two(json!({})), two(json!({"a": ["b"]})), &[(Major, "/dependencies/a", "dependency added: `a` now requires `b`")]);
    check(two(json!({"a": ["b"]})), two(json!({})), &[(Minor, "/dependencies/a", "dependency removed: `a` no longer requires `b`")]);
    let mut with_new = two(json!({"c": ["a"]}));
    with_new["properties"]["c"] = json!({"type": "string"});
    check(two(json!({})), with_new, &[(Minor, "/properties/c", "parameter added"), (Minor, "/dependencies/c", "dependency of a new parameter: `c` requires `a`")]);
    let mut renamed = model(json!({"a": {"type": "string"}, "first": {"type": "string"}}));
    renamed["dependencies"] = json!({"a": ["first"]});
    check(two(json!({"a": ["b"]})), renamed, &[(Major, "/properties/first", "parameter renamed: `b` → `first`")]);
    refused(two(json!({"a": ["b"]})), two(json!({"a": "b"})), Version::New, "/dependencies/a", "a dependency must be a list of property names");
}

#[test]
#[rustfmt::skip]
fn model_extensions_and_annotations() {
    let ignored = |rules: Value| model(json!({"a": {"type": "string"}, "p": {"type": "string", "x-ignored-when-present": rules}}));
    check(ignored(json!({})), ignored(json!({"a": "why"})), &[(Patch, P, "now ignored when `a` is set")]);
    check(ignored(json!({"a": "why"})), ignored(json!({})), &[(Patch, P, "no longer ignored when `a` is set")]);
    check(ignored(json!({"a": "why"})), ignored(json!({"a": "because"})), &[(Patch, P, "reason it is ignored when `a` is set changed")]);
    check(param(json!({"type": "string", "description": "Old."})), param(json!({"type": "string", "description": "New."})), &[(Patch, P, "description changed")]);
    check(param(json!({"type": "string"})), param(json!({"type": "string", "title": "P"})), &[(Patch, P, "title added")]);
    check(param(json!({"type": "string", "$comment": "Source A."})), param(json!({"type": "string", "$comment": "Source B."})), &[(Patch, P, "`$comment` changed")]);
    check(param(json!({"type": "string", "examples": ["a"]})), param(json!({"type": "string"})), &[(Patch, P, "examples removed")]);
    check(param(json!({"type": "string"})), param(json!({"type": "string", "x-cli-flag": "param"})), &[(Major, P, "flag changed (x-cli-flag): `--p` → `--param`: breaking for the `kling` CLI")]);
    check(param(json!({"type": "string"})), param(json!({"type": "string", "x-cli-flag": "p"})), &[]);
}

#[test]
#[rustfmt::skip]
fn model_root() {
    let mut renamed = param(json!({"type": "string"}));
    renamed["title"] = json!("Test Two");
    check(param(json!({"type": "string"})), renamed, &[(Major, "/title", "title changed: `Test` → `Test Two` renames the request struct `TestRequest` → `TestTwoRequest`")]);
    let mut punctuated = param(json!({"type": "string"}));
    punctuated["title"] = json!("test");
    check(param(json!({"type": "string"})), punctuated, &[(Patch, "/title", "title changed: `Test` → `test` (the request struct keeps its name `TestRequest`)")]);
    let mut moved = param(json!({"type": "string"}));
    moved["x-model-id"] = json!("model_other");
    check(param(json!({"type": "string"})), moved, &[(Major, "/x-model-id", "model id changed")]);
    let mut described = param(json!({"type": "string"}));
    described["description"] = json!("What it does.");
    check(param(json!({"type": "string"})), described, &[(Patch, "/description", "description of the model changed")]);
    let mut commented = param(json!({"type": "string"}));
    commented["$comment"] = json!("Sources.");
    check(param(json!({"type": "string"})), commented, &[(Patch, "/$comment", "`$comment` changed")]);
    let open = |additional: Value| {
        let mut schema = param(json!({"type": "string"}));
        schema["additionalProperties"] = additional;
        schema
    };
    check(open(json!(true)), open(json!(false)), &[(Major, "/additionalProperties", "true → false")]);
    check(open(json!(false)), open(json!(true)), &[(Minor, "/additionalProperties", "false → true")]);
    let mut unwritten = param(json!({"type": "string"}));
    unwritten.as_object_mut().unwrap().remove("additionalProperties");
    check(open(json!(true)), unwritten, &[]);
    let mut drafted = param(json!({"type": "string"}));
    drafted["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    check(param(json!({"type": "string"})), drafted.clone(), &[]);
    let mut newer = drafted.clone();
    newer["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    refused(drafted, newer, Version::New, "/$schema", "is not JSON Schema draft-07");
}

#[test]
#[rustfmt::skip]
fn a_version_the_dialect_refuses_is_an_error_naming_file_pointer_and_keyword() {
    refused(param(json!({"type": "number", "minimum": 1})), param(json!({"type": "number", "minimum": "1"})), Version::New, "/properties/p/minimum", "`minimum` must be a number");
    let mut extended = param(json!({"type": "string"}));
    extended["x-deprecated"] = json!(true);
    refused(param(json!({"type": "string"})), extended.clone(), Version::New, "/x-deprecated", "the keyword `x-deprecated` is not understood here");
    refused(extended, param(json!({"type": "string"})), Version::Old, "/x-deprecated", "`x-deprecated`");
    refused(param(json!({"type": "string"})), param(json!(true)), Version::New, P, "expected a schema (a JSON object)");
    refused(field(json!({"type": "string"})), field(json!({"type": "string", "x-nullable": true})), Version::New, "/definitions/T/properties/f/x-nullable", "the keyword `x-nullable` is not understood here");
}

#[test]
#[rustfmt::skip]
fn model_patterns_and_steps() {
    check(param(json!({"type": "string"})), param(json!({"type": "string", "pattern": "^a"})), &[(Major, P, "pattern `^a` added (requests that were valid may now fail)")]);
    check(param(json!({"type": "string", "pattern": "^a"})), param(json!({"type": "string", "pattern": "^[ab]"})), &[(Major, P, "pattern changed: `^a` → `^[ab]`")]);
    check(param(json!({"type": "string", "pattern": "^a"})), param(json!({"type": "string"})), &[(Minor, P, "pattern `^a` removed")]);
    check(param(json!({"type": "number", "multipleOf": 1})), param(json!({"type": "number", "multipleOf": 2})), &[(Major, P, "multipleOf changed: 1 → 2")]);
    check(param(json!({"type": "string", "const": "a"})), param(json!({"type": "string", "const": "b"})), &[(Major, P, "enum value removed: a"), (Minor, P, "enum value added: b")]);
    check(param(json!({"type": "string", "const": "a"})), param(json!({"type": "string"})), &[(Major, P, "type changed: `P` (an enum of strings) → `String`")]);
    check(param(json!({"type": "string", "const": "a"})), param(json!({"type": "string", "enum": ["a"]})), &[]);
}

#[test]
#[rustfmt::skip]
fn api_changes() {
    check(api(json!({})), api(json!({"New": {"type": "object", "properties": {}}})), &[(Minor, "/definitions/New", "definition added: `New`")]);
    check(api(json!({"Old": {"type": "string"}})), api(json!({})), &[(Major, "/definitions/Old", "definition removed: `Old`")]);
    check(object(json!({}), json!([])), field(json!({"type": "string"})), &[(Minor, F, "field added: `f`")]);
    check(object(json!({}), json!([])), object(json!({"f": {"type": "string"}}), json!(["f"])), &[(Major, F, "required field added: `f` (answers without it fail to decode)")]);
    check(field(json!({"type": "string"})), object(json!({}), json!([])), &[(Major, F, "field removed: `f`")]);
    check(field(json!({"type": "string"})), field(json!({"type": "number"})), &[(Major, F, "type changed: `String` → `f64`")]);
    check(field(json!({"$ref": "#/definitions/Job"})), field(json!({"$ref": "#/definitions/Asset"})), &[(Major, F, "type changed: `Job` → `Asset`")]);
    check(field(json!({"description": "Any JSON."})), field(json!({"type": "object"})), &[(Major, F, "type changed: any JSON (`serde_json::Value`) → a JSON object")]);
    check(field(json!({"type": "array", "items": {"type": "string"}})), field(json!({"type": "array", "items": {"type": "string", "format": "asset-id"}})), &[(Major, "/definitions/T/properties/f/items", "item type changed: `String` → `AssetId`")]);
    check(field(json!({"type": "string"})), object(json!({"f": {"type": "string"}}), json!(["f"])), &[(Major, F, "field now required: answers without it fail to decode")]);
    check(object(json!({"f": {"type": "string"}}), json!(["f"])), field(json!({"type": "string"})), &[(Major, F, "from `T` to `Option<T>`")]);
    check(api(json!({"S": {"type": "string", "enum": ["a"]}})), api(json!({"S": {"type": "string", "enum": ["a", "b"]}})), &[(Minor, "/definitions/S", "enum value added: b")]);
    check(api(json!({"S": {"type": "string", "enum": ["a", "b"]}})), api(json!({"S": {"type": "string", "enum": ["a"]}})), &[(Major, "/definitions/S", "enum value removed: b")]);
    check(field(json!({"type": "string", "description": "Old."})), field(json!({"type": "string", "description": "New."})), &[(Patch, F, "description changed")]);
    check(field(json!({"type": "string"})), field(json!({"type": "string", "format": "date-time"})), &[(Patch, F, "`format` changed: (none) → \"date-time\" (the Rust type stays `String`)")]);
    check(field(json!({"type": "string"})), field(json!({"type": "string", "default": "x"})), &[(Patch, F, "documentation only in a response type")]);
    check(field(json!({"type": "object", "additionalProperties": {"type": "number"}})), field(json!({"type": "object", "additionalProperties": {"type": "string"}})), &[(Major, "/definitions/T/properties/f/additionalProperties", "type changed: `f64` → `String`")]);
    check(field(json!({"type": "object", "properties": {}})), field(json!({"type": "object", "title": "Named", "properties": {}})), &[(Major, F, "title of an object type changed")]);
    let mut commented = api(json!({}));
    commented["$comment"] = json!("Sources.");
    check(api(json!({})), commented, &[(Patch, "/$comment", "`$comment` changed")]);
}

#[test]
fn files_added_and_removed() {
    let kling = kling_schema();
    let one = |kind, old, new| schema_diff::diff_file("schema/x.json", kind, old, new).unwrap();
    assert_eq!(one(Kind::Model, None, Some(&kling))[0].bump, Minor);
    assert!(
        one(Kind::Model, None, Some(&kling))[0]
            .what
            .contains("model added: `model_kling-v1-6-pro`")
    );
    assert_eq!(one(Kind::Model, Some(&kling), None)[0].bump, Major);
    assert!(
        one(Kind::Model, Some(&kling), None)[0]
            .what
            .contains("model removed: `model_kling-v1-6-pro`")
    );
    let jobs = api(json!({}));
    assert_eq!(one(Kind::Api, None, Some(&jobs))[0].bump, Minor);
    assert_eq!(one(Kind::Api, Some(&jobs), None)[0].bump, Major);
    assert!(one(Kind::Api, None, None).is_empty());
}

#[test]
#[rustfmt::skip]
fn kinds_are_told_apart() {
    assert_eq!(schema_diff::kind_of("schema/api/jobs.json", &json!({})), Kind::Api);
    assert_eq!(schema_diff::kind_of("/work/x/schema/api/jobs.json", &json!({})), Kind::Api);
    assert_eq!(schema_diff::kind_of("old.json", &api(json!({}))), Kind::Api);
    assert_eq!(schema_diff::kind_of("old.json", &kling_schema()), Kind::Model);
    assert_eq!(schema_diff::kind_of("schema/models/a.json", &json!({"x-model-id": "a", "definitions": {}})), Kind::Model);
}

#[test]
fn verdict_is_the_largest_bump() {
    let change = |bump| Change {
        bump,
        file: "f.json".to_owned(),
        pointer: String::new(),
        what: String::new(),
    };
    assert!(Patch < Minor && Minor < Major);
    assert_eq!(schema_diff::verdict(&[]), None);
    assert_eq!(schema_diff::verdict(&[change(Patch)]), Some(Patch));
    assert_eq!(
        schema_diff::verdict(&[change(Patch), change(Minor)]),
        Some(Minor)
    );
    assert_eq!(
        schema_diff::verdict(&[change(Minor), change(Major), change(Patch)]),
        Some(Major)
    );
    assert_eq!(
        schema_diff::verdict_line(&[]),
        "semver: no change for users"
    );
    assert!(schema_diff::verdict_line(&[change(Major)]).starts_with("semver: major (breaking: bump the major version of kling-types, or the minor while below 1.0)"));
    assert!(schema_diff::verdict_line(&[change(Minor)]).starts_with("semver: minor ("));
    assert!(schema_diff::verdict_line(&[change(Patch)]).starts_with("semver: patch ("));
}

fn workspace_file(path: &str) -> PathBuf {
    codegen::workspace_root().join(path)
}

fn kling_schema() -> Value {
    let text =
        std::fs::read_to_string(workspace_file("schema/models/model_kling-v1-6-pro.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn real_schemas_against_themselves_have_no_change() {
    let kling = kling_schema();
    assert_eq!(
        schema_diff::diff_model("schema/models/model_kling-v1-6-pro.json", &kling, &kling).unwrap(),
        []
    );
    for entry in std::fs::read_dir(workspace_file("schema/api")).unwrap() {
        let path = entry.unwrap().path();
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            schema_diff::diff_api("schema/api/x.json", &schema, &schema).unwrap(),
            [],
            "{}",
            path.display()
        );
    }
}

/// The Kling schema after a realistic edit: an optional `seed`, `1:1` dropped from
/// `aspectRatio`, `cfgScale` widened to 2, a clearer `duration` description.
fn edited_kling_schema() -> Value {
    let mut edited = kling_schema();
    let properties = edited["properties"].as_object_mut().unwrap();
    properties.insert(
        "seed".to_owned(),
        json!({"type": "integer", "description": "Same seed, same video.", "minimum": 0}),
    );
    properties["aspectRatio"]["enum"] = json!(["16:9", "9:16"]);
    properties["aspectRatio"]["x-enum-names"] = json!(["Landscape16x9", "Portrait9x16"]);
    properties["cfgScale"]["maximum"] = json!(2);
    properties["duration"]["description"] = json!("Length of the video, in seconds.");
    edited
}

#[test]
fn kling_realistic_edit_report() {
    let changes = schema_diff::diff_model(
        "schema/models/model_kling-v1-6-pro.json",
        &kling_schema(),
        &edited_kling_schema(),
    )
    .unwrap();
    insta::assert_snapshot!(schema_diff::render_plain(&changes));
}

#[test]
fn kling_realistic_edit_markdown() {
    let changes = schema_diff::diff_model(
        "schema/models/model_kling-v1-6-pro.json",
        &kling_schema(),
        &edited_kling_schema(),
    )
    .unwrap();
    insta::assert_snapshot!(schema_diff::render_markdown(&changes));
}

#[test]
fn reports_without_changes() {
    assert_eq!(
        schema_diff::render_plain(&[]),
        "semver: no change for users\n"
    );
    assert!(
        schema_diff::render_markdown(&[])
            .contains("No change to `schema/`.\n\n**semver: no change for users**\n")
    );
}

#[test]
fn sources_compare_files_added_changed_and_removed() {
    let kling = serde_json::to_string(&kling_schema()).unwrap();
    let files = |entries: &[(&str, &str)]| -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
            .collect()
    };
    let old = files(&[
        ("schema/models/model_kling-v1-6-pro.json", &kling),
        (
            "schema/models/model_gone.json",
            r#"{"x-model-id": "model_gone", "type": "object"}"#,
        ),
        (
            "schema/api/jobs.json",
            r#"{"definitions": {"A": {"type": "string"}}}"#,
        ),
        ("schema/README.md", "not a schema"),
    ]);
    let new = files(&[
        (
            "schema/models/model_kling-v1-6-pro.json",
            &serde_json::to_string(&edited_kling_schema()).unwrap(),
        ),
        (
            "schema/models/model_new.json",
            r#"{"x-model-id": "model_new", "type": "object"}"#,
        ),
        (
            "schema/api/jobs.json",
            r#"{"definitions": {"A": {"type": "string", "description": "A."}}}"#,
        ),
        ("schema/api/extra.json", r#"{"definitions": {}}"#),
    ]);
    let changes = schema_diff::diff_sources(&old, &new).unwrap();
    let summary: Vec<(Bump, &str, &str)> = changes
        .iter()
        .map(|change| (change.bump, change.file.as_str(), change.pointer.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (Major, "schema/models/model_gone.json", ""),
            (
                Major,
                "schema/models/model_kling-v1-6-pro.json",
                "/properties/aspectRatio"
            ),
            (
                Minor,
                "schema/models/model_kling-v1-6-pro.json",
                "/properties/cfgScale"
            ),
            (
                Patch,
                "schema/models/model_kling-v1-6-pro.json",
                "/properties/duration"
            ),
            (
                Minor,
                "schema/models/model_kling-v1-6-pro.json",
                "/properties/seed"
            ),
            (Minor, "schema/models/model_new.json", ""),
            (Minor, "schema/api/extra.json", ""),
            (Patch, "schema/api/jobs.json", "/definitions/A"),
        ]
    );

    let broken = files(&[("schema/api/jobs.json", "{ not json")]);
    let error = schema_diff::diff_sources(&broken, &new)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("schema/api/jobs.json (at the given files) is not valid JSON"),
        "{error}"
    );
}

/// A git repository under the system's temporary directory, removed when dropped.
struct TempRepo(PathBuf);

impl TempRepo {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("kling-schema-diff-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let repo = Self(dir);
        repo.git(&["init", "--quiet"]);
        repo
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(&self.0)
            .args([
                "-c",
                "user.name=schema-diff test",
                "-c",
                "user.email=test@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?} failed");
    }

    fn write(&self, path: &str, schema: &Value) {
        let path = self.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_string_pretty(schema).unwrap()).unwrap();
    }

    fn remove(&self, path: &str) {
        std::fs::remove_file(self.0.join(path)).unwrap();
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempRepo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn against_a_git_revision() {
    let repo = TempRepo::new("against");
    let kling = "schema/models/model_kling-v1-6-pro.json";
    repo.write(kling, &kling_schema());
    repo.write(
        "schema/models/model_gone.json",
        &json!({"x-model-id": "model_gone", "type": "object"}),
    );
    repo.write(
        "schema/api/jobs.json",
        &api(json!({"A": {"type": "string"}})),
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "--quiet", "-m", "schemas"]);

    // Unchanged: nothing to report.
    assert_eq!(schema_diff::diff_against(repo.path(), "HEAD").unwrap(), []);

    repo.write(kling, &edited_kling_schema());
    repo.remove("schema/models/model_gone.json");
    repo.write(
        "schema/models/model_new.json",
        &json!({"x-model-id": "model_new", "type": "object"}),
    );
    repo.write("schema/api/jobs.json", &api(json!({})));
    let changes = schema_diff::diff_against(repo.path(), "HEAD").unwrap();
    let summary: Vec<(Bump, &str, &str)> = changes
        .iter()
        .map(|change| (change.bump, change.file.as_str(), change.what.as_str()))
        .collect();
    assert_eq!(summary.len(), 7, "{summary:#?}");
    assert_eq!(
        summary[0],
        (
            Major,
            "schema/models/model_gone.json",
            "model removed: `model_gone` (its module, cargo feature and `MODELS` entry are gone)"
        )
    );
    assert_eq!(
        summary[5],
        (
            Minor,
            "schema/models/model_new.json",
            "model added: `model_new` (a new module, cargo feature and `MODELS` entry)"
        )
    );
    assert_eq!(
        summary[6],
        (
            Major,
            "schema/api/jobs.json",
            "definition removed: `A` (`kling_types::api::A` is gone)"
        )
    );

    // The command: a breaking change fails unless allowed.
    let outcome = schema_diff::run(&["--against", "HEAD"], repo.path());
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    assert!(
        outcome
            .stdout
            .starts_with("major  schema/models/model_gone.json"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.ends_with("semver: major (breaking: bump the major version of kling-types, or the minor while below 1.0)\n"), "{}", outcome.stdout);
    assert!(
        outcome.stderr.contains("--allow-breaking"),
        "{}",
        outcome.stderr
    );
    let allowed = schema_diff::run(&["--against", "HEAD", "--allow-breaking"], repo.path());
    assert_eq!(
        (
            allowed.code,
            allowed.stdout.as_str(),
            allowed.stderr.as_str()
        ),
        (0, outcome.stdout.as_str(), "")
    );

    let error = schema_diff::diff_against(repo.path(), "no-such-revision")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`no-such-revision` names no commit"),
        "{error}"
    );
    let outcome = schema_diff::run(&["--against", "no-such-revision"], repo.path());
    assert_eq!(outcome.code, 2, "{outcome:#?}");
}

#[test]
fn command_on_two_files() {
    let dir = TempRepo::new("files");
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    std::fs::write(&old, serde_json::to_string(&kling_schema()).unwrap()).unwrap();
    let mut widened = kling_schema();
    widened["properties"]["cfgScale"]["maximum"] = json!(2);
    std::fs::write(&new, serde_json::to_string(&widened).unwrap()).unwrap();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let root = dir.path();

    let outcome = schema_diff::run(&[old, new], root);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert_eq!(
        outcome.stdout,
        format!(
            "minor  {new}  /properties/cfgScale  range widened: maximum 1 → 2\nsemver: minor (additive: bump the minor version of kling-types, or the patch while below 1.0)\n"
        )
    );

    let markdown = schema_diff::run(&["--markdown", old, new], root);
    assert!(
        markdown.stdout.contains("| minor | `"),
        "{}",
        markdown.stdout
    );

    let narrowed = schema_diff::run(&[new, old], root);
    assert_eq!(narrowed.code, 1, "{narrowed:#?}");

    let missing = schema_diff::run(&[old, "/nonexistent/new.json"], root);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("cannot read /nonexistent/new.json"),
        "{}",
        missing.stderr
    );

    let jobs = workspace_file("schema/api/jobs.json");
    let mismatch = schema_diff::run(&[old, jobs.to_str().unwrap()], root);
    assert_eq!(mismatch.code, 2);
    assert!(
        mismatch.stderr.contains("is a model schema but"),
        "{}",
        mismatch.stderr
    );
}

#[test]
fn a_version_the_dialect_refuses_exits_2_naming_its_own_file() {
    let dir = TempRepo::new("refused");
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    let mut refused = kling_schema();
    refused["properties"]["cfgScale"]["x-step"] = json!(0.1);
    std::fs::write(&old, serde_json::to_string(&refused).unwrap()).unwrap();
    std::fs::write(&new, serde_json::to_string(&kling_schema()).unwrap()).unwrap();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let outcome = schema_diff::run(&[old, new], dir.path());
    assert_eq!(
        (outcome.code, outcome.stdout.as_str()),
        (2, ""),
        "{outcome:#?}"
    );
    assert!(
        outcome.stderr.starts_with(&format!(
            "error: {old}: at `/properties/cfgScale/x-step`: the keyword `x-step` is not understood here\n  help: "
        )),
        "{}",
        outcome.stderr
    );

    let repo = TempRepo::new("refused-against");
    let kling = "schema/models/model_kling-v1-6-pro.json";
    repo.write(kling, &kling_schema());
    repo.git(&["add", "."]);
    repo.git(&["commit", "--quiet", "-m", "schemas"]);
    repo.write(kling, &refused);
    let error = schema_diff::diff_against(repo.path(), "HEAD")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "{kling} (at the working tree): at `/properties/cfgScale/x-step`"
        )),
        "{error}"
    );
}

#[test]
fn arguments() {
    let parse = Options::parse;
    assert_eq!(
        parse(&["old.json", "new.json"]).unwrap(),
        Options {
            input: Input::Files {
                old: "old.json".into(),
                new: "new.json".into()
            },
            allow_breaking: false,
            markdown: false
        }
    );
    assert_eq!(
        parse(&["--markdown", "--against", "origin/main", "--allow-breaking"]).unwrap(),
        Options {
            input: Input::Against("origin/main".to_owned()),
            allow_breaking: true,
            markdown: true
        }
    );
    assert_eq!(
        parse(&["--against=v0.1.0"]).unwrap().input,
        Input::Against("v0.1.0".to_owned())
    );
    let refused: [&[&str]; 7] = [
        &[],
        &["one.json"],
        &["a", "b", "c"],
        &["--against"],
        &["--against", "--markdown"],
        &["--against", "HEAD", "a.json"],
        &["--frobnicate", "a", "b"],
    ];
    for bad in refused {
        assert!(parse(bad).is_err(), "{bad:?} should be refused");
    }
    let usage = schema_diff::run(&["--against"], Path::new("."));
    assert_eq!(usage.code, 2);
    assert!(
        usage.stderr.contains("usage: cargo xtask schema-diff"),
        "{}",
        usage.stderr
    );
}

/// The variant names schema-diff derives for enum values without `x-enum-names` are the
/// generator's: writing the generated names out is no change.
#[test]
fn derived_variant_names_agree_with_the_generator() {
    let values = ["in-progress", "16:9", "1:10", "11:0", "5", "a b"];
    let plain = param(json!({"type": "string", "enum": values}));
    let code = codegen::generate_model("test.json", &plain.to_string(), "kling_types").unwrap();
    let generated_names: Vec<String> = values
        .iter()
        .map(|value| {
            let arm = code
                .lines()
                .find(|line| {
                    line.contains("Self::")
                        && line
                            .trim_end_matches(',')
                            .ends_with(&format!("=> \"{value}\""))
                })
                .unwrap_or_else(|| panic!("no match arm for {value} in\n{code}"));
            let name = arm.trim().trim_start_matches("Self::");
            name[..name.find(' ').unwrap()].to_owned()
        })
        .collect();
    let named = param(json!({"type": "string", "enum": values, "x-enum-names": generated_names}));
    check(plain, named, &[]);
}

/// The keywords of Scenario's vocabulary, each with its semver rule.
#[test]
fn the_vocabulary_keywords_have_their_bumps() {
    let number = |extra: Value| {
        let mut schema = json!({"type": "number", "minimum": 0, "maximum": 1});
        schema
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        param(schema)
    };
    check(
        number(json!({})),
        number(json!({"multipleOf": 0.1})),
        &[(Major, P, "multipleOf 0.1 added")],
    );
    check(
        number(json!({"multipleOf": 0.1})),
        number(json!({})),
        &[(Minor, P, "multipleOf 0.1 removed")],
    );
    check(
        number(json!({"multipleOf": 0.1})),
        number(json!({"multipleOf": 0.05})),
        &[(Minor, P, "multipleOf widened: 0.1 → 0.05")],
    );
    check(
        number(json!({"multipleOf": 0.1})),
        number(json!({"multipleOf": 0.2})),
        &[(Major, P, "multipleOf changed: 0.1 → 0.2")],
    );
    let asset = |extra: Value| {
        let mut schema = json!({"type": "string", "format": "asset-id"});
        schema
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        param(schema)
    };
    check(
        asset(json!({})),
        asset(json!({"x-asset-kind": "video"})),
        &[(Major, P, "x-asset-kind changed: image → video")],
    );
    check(
        asset(json!({})),
        asset(json!({"x-asset-kind": "image"})),
        &[],
    );
    check(
        asset(json!({"x-max-size": 10})),
        asset(json!({"x-max-size": 5})),
        &[(Major, P, "x-max-size narrowed to 5")],
    );
    check(
        asset(json!({})),
        asset(json!({"x-max-size": 5})),
        &[(Major, P, "x-max-size narrowed to 5")],
    );
    check(
        asset(json!({"x-max-size": 5})),
        asset(json!({})),
        &[(Minor, P, "x-max-size widened")],
    );
    check(
        asset(json!({"x-asset-kind": "video"})),
        asset(json!({"x-asset-kind": "video", "x-max-duration": 10})),
        &[(Patch, P, "x-max-duration changed")],
    );
    check(
        param(json!({"type": "string", "format": "model-id"})),
        param(json!({"type": "string", "format": "model-id", "x-model-types": ["flux.1-lora"]})),
        &[(Patch, P, "x-model-types changed")],
    );
    check(
        param(json!({"type": "boolean"})),
        param(json!({"type": "boolean", "x-ui": {"costImpact": true}})),
        &[(Patch, P, "x-ui changed")],
    );
    let conditional = |all_of: Value| {
        let mut schema = model(json!({"a": {"type": "string"}, "b": {"type": "string"}}));
        if !all_of.is_null() {
            schema["allOf"] = all_of;
        }
        schema
    };
    let unless = json!([{"if": {"not": {"required": ["a"]}}, "then": {"required": ["b"]}}]);
    check(
        conditional(Value::Null),
        conditional(unless.clone()),
        &[(Major, "/allOf", "condition added")],
    );
    check(
        conditional(unless),
        conditional(Value::Null),
        &[(Minor, "/allOf", "condition removed")],
    );
}
