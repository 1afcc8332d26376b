//! `cargo xtask import-model`: each mapping rule from Scenario's model `inputs` to our
//! dialect, each refusal (naming the input and saying what to do), the command's writing
//! rules, and the round trip: the sandbox describes Kling 1.6 Pro from our schema, the
//! importer turns that description back into a schema, and the two accept exactly the
//! same requests (checked with the `jsonschema` crate on thousands of instances).

use std::path::Path;

use kling_client::{Client, Credentials};
use kling_dialect::{ImportError, import};
use kling_sandbox::{Sandbox, SandboxConfig};
use kling_types::ModelId;
use serde_json::{Value, json};
use xtask::codegen;
use xtask::import::{self, CommandError, Options, Outcome};

use crate::agreement::{Candidates, candidates};
use crate::support::Scratch;

const KLING: &str = "model_kling-v1-6-pro";

/// A model description with these inputs, as `GET /v1/models/{id}` answers.
fn described(inputs: Value) -> Value {
    json!({"model": {
        "id": "model_fixture-import",
        "name": "Fixture Import",
        "shortDescription": "A model of the importer's tests.",
        "inputs": inputs,
    }})
}

/// Checks that the generator accepts an imported schema, as `cargo xtask codegen` would.
#[track_caller]
fn assert_generates(schema: &Value) {
    let text = serde_json::to_string_pretty(schema).unwrap();
    if let Err(error) = codegen::generate_model("imported.json", &text, "kling_types") {
        panic!("the generator refuses the import:\n{error}\n{text}");
    }
}

/// One case per mapping rule: an input, and the property it must become.
#[test]
fn each_input_rule_maps_to_the_dialect() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "string",
            json!({"name": "p", "type": "string"}),
            json!({"type": "string"}),
        ),
        (
            "string: allowedValues become an enum",
            json!({"name": "p", "type": "string", "allowedValues": ["16:9", "1:1"]}),
            json!({"type": "string", "enum": ["16:9", "1:1"]}),
        ),
        (
            "string: minLength/maxLength in characters stay",
            json!({"name": "p", "type": "string", "minLength": 1, "maxLength": 2500}),
            json!({"type": "string", "minLength": 1, "maxLength": 2500}),
        ),
        (
            "string: length limits every allowed value fits add nothing to the enum",
            json!({"name": "p", "type": "string", "allowedValues": ["ab", "abc"], "minLength": 2, "maxLength": 3}),
            json!({"type": "string", "enum": ["ab", "abc"]}),
        ),
        (
            "number: min/max become minimum/maximum",
            json!({"name": "p", "type": "number", "min": 0, "max": 1}),
            json!({"type": "number", "minimum": 0, "maximum": 1}),
        ),
        (
            "number: whole allowedValues become an integer enum (10.0 is 10)",
            json!({"name": "p", "type": "number", "allowedValues": [5, 10.0]}),
            json!({"type": "integer", "enum": [5, 10]}),
        ),
        (
            "number: bounds every allowed value fits add nothing to the enum",
            json!({"name": "p", "type": "number", "allowedValues": [5, 10], "min": 5, "max": 10}),
            json!({"type": "integer", "enum": [5, 10]}),
        ),
        (
            "number: step 1 with whole bounds is an integer",
            json!({"name": "p", "type": "number", "min": 1.0, "max": 50, "step": 1}),
            json!({"type": "integer", "minimum": 1, "maximum": 50}),
        ),
        (
            "number: any whole step with whole bounds is an integer, the step its multipleOf",
            json!({"name": "p", "type": "number", "min": 0, "max": 100, "step": 10}),
            json!({"type": "integer", "minimum": 0, "maximum": 100, "multipleOf": 10}),
        ),
        (
            "number: a fractional step is multipleOf",
            json!({"name": "p", "type": "number", "min": 0, "max": 1, "step": 0.05}),
            json!({"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.05}),
        ),
        (
            "number: fractional allowed values are an enum of numbers",
            json!({"name": "p", "type": "number", "allowedValues": [0.5, 1, 1.5], "default": 1}),
            json!({"type": "number", "enum": [0.5, 1, 1.5], "default": 1}),
        ),
        (
            "number: a sentinel among whole allowed values stays in the enum",
            json!({"name": "p", "type": "number", "allowedValues": [-1, 4, 5, 15], "default": -1}),
            json!({"type": "integer", "enum": [-1, 4, 5, 15], "default": -1}),
        ),
        (
            "number_array: whole numbers are integer items",
            json!({"name": "p", "type": "number_array", "min": 0, "max": 9, "step": 1, "maxLength": 3}),
            json!({"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9}, "maxItems": 3}),
        ),
        (
            "file: a video with its size and durations",
            json!({"name": "p", "type": "file", "kind": "video", "maxSize": 10_000_000, "minDuration": 2, "maxDuration": 10.5}),
            json!({"type": "string", "format": "asset-id", "x-asset-kind": "video", "x-max-size": 10_000_000, "x-min-duration": 2, "x-max-duration": 10.5}),
        ),
        (
            "file_array: the kind and limits go on the items",
            json!({"name": "p", "type": "file_array", "kind": "audio", "maxSize": 5_000_000, "maxLength": 2}),
            json!({"type": "array", "items": {"type": "string", "format": "asset-id", "x-asset-kind": "audio", "x-max-size": 5_000_000}, "maxItems": 2}),
        ),
        (
            "file: a 3d model",
            json!({"name": "p", "type": "file", "kind": "3d"}),
            json!({"type": "string", "format": "asset-id", "x-asset-kind": "3d"}),
        ),
        (
            "model: a model id with its model types",
            json!({"name": "p", "type": "model", "modelTypes": ["flux.1-lora"]}),
            json!({"type": "string", "format": "model-id", "x-model-types": ["flux.1-lora"]}),
        ),
        (
            "model: a model id's length is the API's to check (x-ui)",
            json!({"name": "p", "type": "model", "minLength": 1, "maxLength": 40}),
            json!({"type": "string", "format": "model-id", "x-ui": {"minLength": 1, "maxLength": 40}}),
        ),
        (
            "model_array: model ids, counted",
            json!({"name": "p", "type": "model_array", "modelTypes": ["flux.1-lora", "custom"], "minLength": 1, "maxLength": 3}),
            json!({"type": "array", "items": {"type": "string", "format": "model-id"}, "minItems": 1, "maxItems": 3, "x-model-types": ["flux.1-lora", "custom"]}),
        ),
        (
            "number: a whole step from a fractional bound is not an integer, and counts from min: the form's (x-ui)",
            json!({"name": "p", "type": "number", "min": 0.5, "max": 9.5, "step": 1}),
            json!({"type": "number", "minimum": 0.5, "maximum": 9.5, "x-ui": {"step": 1}}),
        ),
        (
            "number: no step, no values: a number",
            json!({"name": "p", "type": "number", "min": 1, "max": 3}),
            json!({"type": "number", "minimum": 1, "maximum": 3}),
        ),
        (
            "boolean",
            json!({"name": "p", "type": "boolean"}),
            json!({"type": "boolean"}),
        ),
        (
            "file without a kind: an asset id",
            json!({"name": "p", "type": "file"}),
            json!({"type": "string", "format": "asset-id"}),
        ),
        (
            "file of kind image: an asset id",
            json!({"name": "p", "type": "file", "kind": "image"}),
            json!({"type": "string", "format": "asset-id"}),
        ),
        (
            "file_array: asset ids, minLength/maxLength count items",
            json!({"name": "p", "type": "file_array", "kind": "image", "minLength": 1, "maxLength": 4}),
            json!({"type": "array", "items": {"type": "string", "format": "asset-id"}, "minItems": 1, "maxItems": 4}),
        ),
        (
            "string_array: strings, minLength/maxLength count items",
            json!({"name": "p", "type": "string_array", "maxLength": 3}),
            json!({"type": "array", "items": {"type": "string"}, "maxItems": 3}),
        ),
        (
            "string_array: allowedValues are the items' enum",
            json!({"name": "p", "type": "string_array", "allowedValues": ["calm", "wild"]}),
            json!({"type": "array", "items": {"type": "string", "enum": ["calm", "wild"]}}),
        ),
        (
            "number_array: numbers, min/max bound each item",
            json!({"name": "p", "type": "number_array", "min": -1, "max": 1, "minLength": 1}),
            json!({"type": "array", "items": {"type": "number", "minimum": -1, "maximum": 1}, "minItems": 1}),
        ),
        (
            "number_array: whole allowedValues are the items' integer enum",
            json!({"name": "p", "type": "number_array", "allowedValues": [1, 2]}),
            json!({"type": "array", "items": {"type": "integer", "enum": [1, 2]}}),
        ),
        (
            "default stays",
            json!({"name": "p", "type": "string", "default": "16:9", "allowedValues": ["16:9", "1:1"]}),
            json!({"type": "string", "enum": ["16:9", "1:1"], "default": "16:9"}),
        ),
        (
            "default of an integer is written whole",
            json!({"name": "p", "type": "number", "allowedValues": [5, 10], "default": 5.0}),
            json!({"type": "integer", "enum": [5, 10], "default": 5}),
        ),
        (
            "description stays",
            json!({"name": "p", "type": "boolean", "description": "Loop the video."}),
            json!({"type": "boolean", "description": "Loop the video."}),
        ),
        (
            "hint is the description's second sentence",
            json!({"name": "p", "type": "boolean", "description": "Loop the video", "hint": "Costs nothing."}),
            json!({"type": "boolean", "description": "Loop the video. Costs nothing."}),
        ),
        (
            "hint alone is the description",
            json!({"name": "p", "type": "boolean", "hint": "Costs nothing."}),
            json!({"type": "boolean", "description": "Costs nothing."}),
        ),
        (
            "label is the title",
            json!({"name": "p", "type": "boolean", "label": "Loop"}),
            json!({"type": "boolean", "title": "Loop"}),
        ),
        (
            "a label that repeats the name is no title",
            json!({"name": "p", "type": "boolean", "label": "p"}),
            json!({"type": "boolean"}),
        ),
        (
            "UI-only fields are kept under x-ui, in the input's order",
            json!({"name": "p", "type": "string", "placeholder": "a fox", "group": "main", "costImpact": true, "prompt": true, "promptSpark": true, "color": false, "parent": "q"}),
            json!({"type": "string", "x-ui": {"placeholder": "a fox", "group": "main", "costImpact": true, "prompt": true, "promptSpark": true, "color": false, "parent": "q"}}),
        ),
        (
            "an image's background behaviour is UI-only",
            json!({"name": "p", "type": "file", "kind": "image", "backgroundBehavior": "transparent", "parent": true}),
            json!({"type": "string", "format": "asset-id", "x-ui": {"backgroundBehavior": "transparent", "parent": true}}),
        ),
        (
            "a null field is a field not set",
            json!({"name": "p", "type": "number", "min": null, "description": null, "default": null}),
            json!({"type": "number"}),
        ),
    ];
    for (rule, input, expected) in cases {
        let schema = import(&described(json!([input])))
            .unwrap_or_else(|error| panic!("{rule}: refused:\n{error}"));
        assert_eq!(schema["properties"]["p"], expected, "{rule}");
        assert_eq!(
            schema["properties"]["p"].to_string(),
            expected.to_string(),
            "{rule}: keyword order"
        );
        assert_generates(&schema);
    }
}

/// An `inputs_array` (a list of objects, each described by its own `inputs`) becomes an
/// array whose items are an object: each input of `inputs` a field, imported by the rules
/// of top-level inputs, `required.always` in the items' `required`, `minLength` and
/// `maxLength` the count of objects. An item input named like a flag of `kling generate`
/// keeps its name: items have no flags of their own.
#[test]
fn an_inputs_array_becomes_an_array_of_objects() {
    let schema = import(&described(json!([{
        "name": "shots", "type": "inputs_array", "label": "Shots", "minLength": 1, "maxLength": 4,
        "costImpact": true, "required": {"always": true},
        "inputs": [
            {"name": "prompt", "type": "string", "maxLength": 500, "prompt": true, "required": {"always": true}},
            {"name": "seconds", "type": "number", "allowedValues": [-1, 5, 10], "default": 5},
            {"name": "strength", "type": "number", "min": 0, "max": 1, "step": 0.05},
            {"name": "image", "type": "file", "kind": "video", "maxSize": 1000},
            {"name": "output", "type": "string"},
            {"name": "loras", "type": "model_array", "modelTypes": ["flux.1-lora"], "maxLength": 2},
        ],
    }])))
    .unwrap_or_else(|error| panic!("refused:\n{error}"));
    let expected = json!({
        "type": "array",
        "title": "Shots",
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string", "maxLength": 500, "x-ui": {"prompt": true}},
                "seconds": {"type": "integer", "enum": [-1, 5, 10], "default": 5},
                "strength": {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.05},
                "image": {"type": "string", "format": "asset-id", "x-asset-kind": "video", "x-max-size": 1000},
                "output": {"type": "string"},
                "loras": {"type": "array", "items": {"type": "string", "format": "model-id"}, "maxItems": 2, "x-model-types": ["flux.1-lora"]},
            },
        },
        "minItems": 1,
        "maxItems": 4,
        "x-ui": {"costImpact": true},
    });
    assert_eq!(schema["properties"]["shots"], expected);
    assert_eq!(
        schema["properties"]["shots"].to_string(),
        expected.to_string(),
        "keyword order"
    );
    assert_eq!(schema["required"], json!(["shots"]));
    assert_generates(&schema);
}

/// An import over a curated schema keeps the curated keys of an array's item fields as
/// it keeps a parameter's (`x-enum-names` while the values stay, `$comment`s).
#[test]
fn a_merge_keeps_the_curated_keys_of_item_fields() {
    let shots = |values: Value| {
        described(json!([{"name": "shots", "type": "inputs_array", "inputs": [
            {"name": "seconds", "type": "number", "allowedValues": values},
        ]}]))
    };
    let imported = import(&shots(json!([5, 10]))).unwrap();
    let mut curated = imported.clone();
    let seconds = "/properties/shots/items/properties/seconds";
    let field = curated.pointer_mut(seconds).unwrap();
    field["x-enum-names"] = json!(["Five", "Ten"]);
    field["$comment"] = json!("From Scenario's docs.");
    let (merged, report) = kling_dialect::merge(&curated, &imported);
    assert_eq!(merged.pointer(seconds), curated.pointer(seconds));
    assert_eq!(
        report.kept,
        [
            "/$comment".to_owned(),
            format!("{seconds}/$comment"),
            format!("{seconds}/x-enum-names"),
        ]
    );
    assert_generates(&merged);
    let (merged, report) = kling_dialect::merge(&curated, &import(&shots(json!([5, 15]))).unwrap());
    assert_eq!(merged.pointer(&format!("{seconds}/x-enum-names")), None);
    assert_eq!(
        report.dropped,
        [format!(
            "{seconds}/x-enum-names: the enum's values changed: name the new ones"
        )]
    );
}

/// An input named like a flag of `kling generate` itself (`version`, `output`, …) gets
/// the flag `--model-NAME` (`x-cli-flag`), and a `$comment` that says why; the generator
/// accepts the schema, and the import command says so.
#[test]
fn an_input_named_like_a_flag_of_kling_generate_gets_a_flag_of_its_own() {
    let schema = import(&described(json!([
        {"name": "version", "type": "string", "allowedValues": ["1", "2"]},
        {"name": "dry_run", "type": "boolean"},
        {"name": "seed", "type": "number", "step": 1},
    ])))
    .unwrap();
    assert_eq!(
        schema["properties"]["version"],
        json!({
            "$comment": "`--version` is a flag of `kling generate` itself: the importer named this parameter's flag `--model-version`",
            "type": "string",
            "enum": ["1", "2"],
            "x-cli-flag": "model-version",
        })
    );
    assert_eq!(
        schema["properties"]["dry_run"]["x-cli-flag"],
        "model-dry-run"
    );
    assert!(schema["properties"]["seed"].get("x-cli-flag").is_none());
    assert_generates(&schema);
    assert_eq!(
        import::notes(&schema),
        [
            "input `version`: `--version` is a flag of `kling generate` itself, so its flag is `--model-version` (x-cli-flag)",
            "input `dry_run`: `--dry-run` is a flag of `kling generate` itself, so its flag is `--model-dry-run` (x-cli-flag)",
        ]
    );
}

/// `required` rules: always, never, and "when another is set" as draft-07 dependencies.
#[test]
fn required_rules_become_required_and_dependencies() {
    let schema = import(&described(json!([
        {"name": "prompt", "type": "string", "required": {"always": true}},
        {"name": "startImage", "type": "file", "required": {"ifDefined": {"endImage": {"message": "A first frame is required when an end frame is set."}}}},
        {"name": "endImage", "type": "file"},
        {"name": "mask", "type": "file", "required": {"ifDefined": {"endImage": {"message": "…"}, "tail": {"message": "…"}}}},
        {"name": "tail", "type": "boolean", "required": {"always": false}},
        {"name": "seed", "type": "number", "required": {"always": true, "ifDefined": {"tail": {"message": "…"}}}},
    ])))
    .unwrap();
    assert_eq!(schema["required"], json!(["prompt", "seed"]));
    assert_eq!(
        schema["properties"]["startImage"]["x-ui"],
        json!({"required": {"ifDefined": {"endImage": {"message": "A first frame is required when an end frame is set."}}}}),
        "the form's message is kept under x-ui, not dropped"
    );
    assert_eq!(
        schema["properties"]["seed"]["x-ui"],
        json!({"required": {"ifDefined": {"tail": {"message": "…"}}}}),
        "kept also when `always` makes the rule itself moot"
    );
    assert!(
        schema["properties"]["prompt"].get("x-ui").is_none(),
        "`always` carries no message"
    );
    assert_eq!(
        schema["dependencies"],
        json!({"endImage": ["startImage", "mask"], "tail": ["mask"]}),
        "X required if `other` is set: other needs X; an always-required input needs no dependency"
    );
    assert_generates(&schema);

    let optional = import(&described(json!([{"name": "p", "type": "string"}]))).unwrap();
    assert_eq!(optional["required"], json!([]));
    assert!(optional.get("dependencies").is_none());
    assert!(optional.get("allOf").is_none());
}

/// `ifNotDefined`, `when` and `conditional` become the root's `allOf` of draft-07
/// `if`/`then`, one entry per condition, which the generator checks in `validate()`.
#[test]
fn conditional_rules_become_if_then() {
    let schema = import(&described(json!([
        {"name": "inferenceType", "type": "string", "allowedValues": ["txt2img", "img2img", "inpaint"]},
        {"name": "prompt", "type": "string", "required": {"ifNotDefined": {"image": {"message": "A prompt or an image."}}}},
        {"name": "image", "type": "file", "required": {"when": {"inferenceType": ["img2img", "inpaint"]}}},
        {"name": "mask", "type": "file", "maskFrom": "image", "required": {"conditional": {"values": {"inferenceType": ["inpaint"], "strength": [1]}, "operator": "and"}}},
        {"name": "strength", "type": "number", "allowedValues": [1, 2]},
        {"name": "seed", "type": "number", "required": {"conditional": {"values": {"inferenceType": "img2img", "strength": [2]}, "operator": "or"}}},
    ])))
    .unwrap();
    assert_eq!(
        schema["allOf"],
        json!([
            {"if": {"not": {"required": ["image"]}}, "then": {"required": ["prompt"]}},
            {"if": {"required": ["inferenceType"], "properties": {"inferenceType": {"enum": ["img2img", "inpaint"]}}}, "then": {"required": ["image"]}},
            {"if": {"required": ["inferenceType", "strength"], "properties": {"inferenceType": {"enum": ["inpaint"]}, "strength": {"enum": [1]}}}, "then": {"required": ["mask"]}},
            {"if": {"required": ["inferenceType"], "properties": {"inferenceType": {"enum": ["img2img"]}}}, "then": {"required": ["seed"]}},
            {"if": {"required": ["strength"], "properties": {"strength": {"enum": [2]}}}, "then": {"required": ["seed"]}},
        ])
    );
    assert_eq!(
        schema["properties"]["mask"]["x-ui"],
        json!({"maskFrom": "image"})
    );
    assert_eq!(
        schema["properties"]["prompt"]["x-ui"],
        json!({"required": {"ifNotDefined": {"image": {"message": "A prompt or an image."}}}})
    );
    assert_generates(&schema);
}

#[test]
fn the_model_becomes_the_root() {
    let schema = import(&described(json!([{"name": "p", "type": "string"}]))).unwrap();
    let keys: Vec<&str> = schema
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "$schema",
            "$comment",
            "x-model-id",
            "title",
            "description",
            "type",
            "additionalProperties",
            "required",
            "properties"
        ]
    );
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["x-model-id"], "model_fixture-import");
    assert_eq!(schema["title"], "Fixture Import");
    assert_eq!(schema["description"], "A model of the importer's tests.");
    assert_eq!(schema["additionalProperties"], false);
    let comment = schema["$comment"].as_str().unwrap();
    assert!(
        comment.contains("import-model") && comment.contains("model_fixture-import"),
        "{comment}"
    );
    // The bare model object (without `{"model": …}`) is read the same.
    let bare = described(json!([{"name": "p", "type": "string"}]))["model"].clone();
    assert_eq!(import(&bare).unwrap(), schema);
    // Deterministic: no timestamp, the same bytes every time.
    assert_eq!(
        serde_json::to_string(&import(&bare).unwrap()).unwrap(),
        serde_json::to_string(&schema).unwrap()
    );
    // Properties keep the order of `inputs`, not the alphabet.
    let schema = import(&described(json!([
        {"name": "zeta", "type": "string"},
        {"name": "alpha", "type": "string"},
        {"name": "mid", "type": "string"},
    ])))
    .unwrap();
    let names: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
}

/// One case per refusal: the inputs, then which input (index, name) and field are
/// blamed, words the message must contain, and words of what to do.
struct Refusal {
    rule: &'static str,
    inputs: Value,
    input: Option<(usize, Option<&'static str>)>,
    field: &'static str,
    message: &'static str,
    help: &'static str,
}

fn refusals() -> Vec<Refusal> {
    let refusal = |rule, inputs, input: (usize, &'static str), field, message, help| Refusal {
        rule,
        inputs,
        input: Some((input.0, Some(input.1))),
        field,
        message,
        help,
    };
    vec![
        refusal(
            "required.ifNotDefined naming no input",
            json!([{"name": "image", "type": "file", "required": {"ifNotDefined": {"ghost": {"message": "…"}}}}]),
            (0, "image"),
            "required",
            "`ghost`, which is not an input",
            "fix the description",
        ),
        refusal(
            "required.when without values",
            json!([{"name": "mode", "type": "string"}, {"name": "image", "type": "file", "required": {"when": {"mode": []}}}]),
            (1, "image"),
            "required",
            "must list the values",
            "save the API's answer",
        ),
        refusal(
            "an unknown conditional operator",
            json!([{"name": "mode", "type": "string"}, {"name": "image", "type": "file", "required": {"conditional": {"values": {"mode": ["a"]}, "operator": "xor"}}}]),
            (1, "image"),
            "required",
            "unknown `required.conditional.operator`",
            "`and` and `or`",
        ),
        refusal(
            "an unknown field of a conditional",
            json!([{"name": "mode", "type": "string"}, {"name": "image", "type": "file", "required": {"conditional": {"values": {"mode": ["a"]}, "negate": true}}}]),
            (1, "image"),
            "required",
            "unknown field `required.conditional.negate`",
            "teach crates/kling-dialect/src/import.rs",
        ),
        refusal(
            "a rule naming the input itself",
            json!([{"name": "image", "type": "file", "required": {"ifNotDefined": {"image": {"message": "…"}}}}]),
            (0, "image"),
            "required",
            "names the input itself",
            "fix the description",
        ),
        refusal(
            "an unknown required rule",
            json!([{"name": "p", "type": "string", "required": {"sometimes": true}}]),
            (0, "p"),
            "required",
            "unknown rule `required.sometimes`",
            "teach crates/kling-dialect/src/import.rs",
        ),
        refusal(
            "required.ifDefined naming no input",
            json!([{"name": "p", "type": "string", "required": {"ifDefined": {"ghost": {"message": "…"}}}}]),
            (0, "p"),
            "required",
            "`ghost`, which is not an input",
            "fix the description",
        ),
        refusal(
            "required that is not an object",
            json!([{"name": "p", "type": "string", "required": true}]),
            (0, "p"),
            "required",
            "must be an object",
            "{\"always\": true}",
        ),
        refusal(
            "allowedValues outside min/max",
            json!([{"name": "p", "type": "number", "allowedValues": [5, 10], "max": 8}]),
            (0, "p"),
            "allowedValues",
            "outside the input's own `min`/`max`",
            "find out which is right",
        ),
        refusal(
            "allowedValues breaking maxLength",
            json!([{"name": "p", "type": "string", "allowedValues": ["short", "much too long"], "maxLength": 5}]),
            (0, "p"),
            "allowedValues",
            "breaks the input's own `minLength`/`maxLength`",
            "find out which is right",
        ),
        refusal(
            "a fractional default of an integer",
            json!([{"name": "p", "type": "number", "min": 0, "max": 10, "step": 1, "default": 2.5}]),
            (0, "p"),
            "default",
            "not a whole number",
            "find out which is right",
        ),
        refusal(
            "min greater than max",
            json!([{"name": "p", "type": "number", "min": 2, "max": 1}]),
            (0, "p"),
            "min",
            "greater than `max`",
            "fix the description",
        ),
        refusal(
            "a step that is not positive",
            json!([{"name": "p", "type": "number", "step": 0}]),
            (0, "p"),
            "step",
            "must be positive",
            "fix the description",
        ),
        refusal(
            "an allowed value off the step's grid",
            json!([{"name": "p", "type": "number", "allowedValues": [2, 3], "step": 2}]),
            (0, "p"),
            "allowedValues",
            "not a multiple of the input's own `step`",
            "find out which is right",
        ),
        refusal(
            "an unknown model type",
            json!([{"name": "lora", "type": "model", "modelTypes": ["sdxl-lora"]}]),
            (0, "lora"),
            "modelTypes",
            "unknown model type \"sdxl-lora\"",
            "add it to `MODEL_TYPES`",
        ),
        refusal(
            "an inputs_array inside an inputs_array",
            json!([{"name": "shots", "type": "inputs_array", "inputs": [{"name": "image", "type": "file"}, {"name": "layers", "type": "inputs_array", "inputs": [{"name": "mask", "type": "file"}]}]}]),
            (0, "shots"),
            "inputs[1].type",
            "the objects' input `layers`: an `inputs_array` inside an `inputs_array` (a list of objects in each object) cannot be said: the dialect has one level of objects",
            "remove the inner input from the saved description",
        ),
        refusal(
            "an inputs_array without inputs",
            json!([{"name": "shots", "type": "inputs_array", "required": {"always": true}}]),
            (0, "shots"),
            "inputs",
            "needs `inputs`, a non-empty list of the inputs of each object",
            "save the API's answer",
        ),
        refusal(
            "a requirement between the inputs of one object",
            json!([{"name": "shots", "type": "inputs_array", "inputs": [{"name": "image", "type": "file"}, {"name": "mask", "type": "file", "required": {"ifDefined": {"image": {}}}}]}]),
            (0, "shots"),
            "inputs[1].required",
            "the objects' input `mask`: a requirement on another input of the same object",
            "remove that `required` rule",
        ),
        refusal(
            "an item input the importer refuses on its own",
            json!([{"name": "shots", "type": "inputs_array", "inputs": [{"name": "seconds", "type": "number", "min": 10, "max": 5}]}]),
            (0, "shots"),
            "inputs[0].min",
            "the objects' input `seconds`: `min` (10) is greater than `max` (5)",
            "fix the description",
        ),
        refusal(
            "two item inputs of one name",
            json!([{"name": "shots", "type": "inputs_array", "inputs": [{"name": "image", "type": "file"}, {"name": "image", "type": "string"}]}]),
            (0, "shots"),
            "inputs",
            "inputs[1] of its objects: a second input is named `image`",
            "fix the description",
        ),
        refusal(
            "the items of an inputs_array on another type",
            json!([{"name": "p", "type": "string", "inputs": []}]),
            (0, "p"),
            "inputs",
            "`inputs` on a `string` input",
            "fix the description",
        ),
        refusal(
            "two inputs of one flag",
            json!([{"name": "fooBar", "type": "string"}, {"name": "foo_bar", "type": "string"}]),
            (1, "foo_bar"),
            "name",
            "`fooBar` and `foo_bar` would both be the flag `--foo-bar`",
            "x-cli-flag",
        ),
        refusal(
            "an input whose renamed flag is another input's",
            json!([{"name": "version", "type": "string"}, {"name": "modelVersion", "type": "string"}]),
            (1, "modelVersion"),
            "name",
            "`version` and `modelVersion` would both be the flag `--model-version`",
            "x-cli-flag",
        ),
        refusal(
            "an unknown type",
            json!([{"name": "p", "type": "color"}]),
            (0, "p"),
            "type",
            "unknown input type `color`",
            "teach crates/kling-dialect/src/import.rs",
        ),
        refusal(
            "a missing type",
            json!([{"name": "p"}]),
            (0, "p"),
            "type",
            "no `type`",
            "save the API's answer",
        ),
        refusal(
            "an unknown field",
            json!([{"name": "p", "type": "string"}, {"name": "q", "type": "string", "pattern": "^a"}]),
            (1, "q"),
            "pattern",
            "unknown field `pattern` on input `q`: the importer would drop it silently",
            "map it in crates/kling-dialect/src/import.rs",
        ),
        refusal(
            "a field of another type",
            json!([{"name": "p", "type": "string", "min": 1}]),
            (0, "p"),
            "min",
            "`min` on a `string` input",
            "fix the description",
        ),
        refusal(
            "a duration on an image",
            json!([{"name": "clip", "type": "file", "kind": "image", "minDuration": 1}]),
            (0, "clip"),
            "minDuration",
            "which has no duration",
            "fix `kind`",
        ),
        refusal(
            "a duration on a file of no kind (an image)",
            json!([{"name": "clip", "type": "file", "maxDuration": 10}]),
            (0, "clip"),
            "maxDuration",
            "of kind `image`",
            "fix `kind`",
        ),
        refusal(
            "a size that is not a count of bytes",
            json!([{"name": "clips", "type": "file_array", "maxSize": 1.5}]),
            (0, "clips"),
            "maxSize",
            "must be a count",
            "fix the description",
        ),
        refusal(
            "minDuration greater than maxDuration",
            json!([{"name": "clip", "type": "file", "kind": "video", "minDuration": 10, "maxDuration": 5}]),
            (0, "clip"),
            "minDuration",
            "greater than `maxDuration`",
            "fix the description",
        ),
        refusal(
            "an unknown asset kind",
            json!([{"name": "clip", "type": "file", "kind": "hologram"}]),
            (0, "clip"),
            "kind",
            "unknown asset kind `hologram`",
            "teach crates/kling-dialect/src/import.rs",
        ),
        refusal(
            "an unknown background behaviour",
            json!([{"name": "p", "type": "file", "backgroundBehavior": "blurred"}]),
            (0, "p"),
            "backgroundBehavior",
            "unknown `backgroundBehavior`",
            "`BACKGROUND_BEHAVIORS`",
        ),
        refusal(
            "a mask drawn on no input",
            json!([{"name": "mask", "type": "file", "maskFrom": "ghost"}]),
            (0, "mask"),
            "maskFrom",
            "not an input of this model",
            "fix the description",
        ),
        refusal(
            "a count that is not one",
            json!([{"name": "p", "type": "string", "maxLength": -1}]),
            (0, "p"),
            "maxLength",
            "must be a count",
            "fix the description",
        ),
        refusal(
            "an allowed value of the wrong type",
            json!([{"name": "p", "type": "string", "allowedValues": ["a", 1]}]),
            (0, "p"),
            "allowedValues",
            "is not a string",
            "fix the description",
        ),
        refusal(
            "two inputs of one name",
            json!([{"name": "p", "type": "string"}, {"name": "p", "type": "boolean"}]),
            (1, "p"),
            "name",
            "a second input is named `p`",
            "fix the description",
        ),
        Refusal {
            rule: "an input that is not an object",
            inputs: json!(["prompt"]),
            input: Some((0, None)),
            field: "name",
            message: "not a JSON object",
            help: "fix the description",
        },
        Refusal {
            rule: "an input without a name",
            inputs: json!([{"name": "p", "type": "string"}, {"type": "string"}]),
            input: Some((1, None)),
            field: "name",
            message: "no `name`",
            help: "fix the description",
        },
    ]
}

#[test]
fn each_refusal_names_the_input_and_says_what_to_do() {
    let mut report = String::new();
    for case in refusals() {
        let error: ImportError = match import(&described(case.inputs.clone())) {
            Ok(schema) => panic!("{}: accepted as {schema}", case.rule),
            Err(error) => error,
        };
        let input = case
            .input
            .map(|(index, name)| (index, name.map(str::to_owned)));
        assert_eq!(error.input, input, "{}: {error}", case.rule);
        assert_eq!(
            error.field.as_deref(),
            Some(case.field),
            "{}: {error}",
            case.rule
        );
        assert!(
            error.message.contains(case.message),
            "{}: the message should say {:?}: {error}",
            case.rule,
            case.message
        );
        assert!(
            error.help.contains(case.help),
            "{}: the help should say {:?}: {error}",
            case.rule,
            case.help
        );
        let shown = error.to_string();
        if let Some((index, name)) = &error.input {
            assert!(shown.contains(&format!("inputs[{index}]")), "{shown}");
            if let Some(name) = name {
                assert!(shown.contains(&format!("`{name}`")), "{shown}");
            }
        }
        assert!(shown.contains("\n  help: "), "{shown}");
        report.push_str(&format!("# {}\n{shown}\n\n", case.rule));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn a_description_without_a_model_is_refused() {
    let cases = [
        (json!([]), "model", "not a JSON object"),
        (
            json!({"model": {"name": "x", "inputs": []}}),
            "id",
            "no model `id`",
        ),
        (
            json!({"model": {"id": "../escape", "inputs": []}}),
            "id",
            "cannot name a file under schema/models/",
        ),
        (
            json!({"model": {"id": "model_x"}}),
            "inputs",
            "no `inputs` list",
        ),
        (
            json!({"model": {"id": "model_x", "name": 3, "inputs": []}}),
            "name",
            "not a string",
        ),
    ];
    for (description, field, message) in cases {
        let error = import(&description).unwrap_err();
        assert_eq!(error.input, None, "{error}");
        assert_eq!(error.field.as_deref(), Some(field), "{error}");
        assert!(error.message.contains(message), "{error}");
        assert!(
            error.to_string().starts_with("the model, field "),
            "{error}"
        );
        assert!(error.help.len() > 10, "{error}");
    }
}

/// The imports of the fixtures under `fixtures/import/`, for reviewers, and accepted by
/// the generator.
#[test]
fn fixture_descriptions_import() {
    insta::glob!("../fixtures", "import/*.json", |path| {
        let description: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let schema = import(&description).unwrap_or_else(|error| panic!("{error}"));
        assert_generates(&schema);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({ snapshot_suffix => name }, {
            insta::assert_snapshot!(serde_json::to_string_pretty(&schema).unwrap());
        });
    });
}

fn options(file: &Path, output: &Path, force: bool) -> Options {
    Options {
        file: file.to_path_buf(),
        output: Some(output.to_path_buf()),
        force,
    }
}

#[test]
fn the_command_writes_once_and_never_overwrites_silently() {
    let scratch = Scratch::new("command");
    let input = scratch.path("description.json");
    let output = scratch.path("out/model_fixture-import.json");
    std::fs::write(
        &input,
        described(json!([{"name": "prompt", "type": "string", "required": {"always": true}}]))
            .to_string(),
    )
    .unwrap();

    let outcome = import::run(&options(&input, &output, false)).unwrap();
    assert_eq!(
        outcome,
        Outcome::Wrote {
            path: output.clone(),
            model_id: "model_fixture-import".to_owned(),
            parameters: 1,
            notes: Vec::new(),
        }
    );
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(
        written.ends_with("}\n"),
        "pretty JSON with a trailing newline"
    );
    assert!(written.contains("\n  \"properties\": {\n"), "{written}");

    // The same import again: nothing to do.
    assert_eq!(
        import::run(&options(&input, &output, false)).unwrap(),
        Outcome::Unchanged {
            path: output.clone()
        }
    );

    // A different file is there: refused without --force, and left alone.
    std::fs::write(&output, "{}\n").unwrap();
    let error = import::run(&options(&input, &output, false)).unwrap_err();
    assert!(matches!(error, CommandError::Exists(_)), "{error}");
    assert!(error.to_string().contains("--force"), "{error}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "{}\n");
    assert!(matches!(
        import::run(&options(&input, &output, true)).unwrap(),
        Outcome::Wrote { .. }
    ));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), written);

    // `-o -` prints instead.
    assert_eq!(
        import::run(&options(&input, Path::new("-"), false)).unwrap(),
        Outcome::Printed(written)
    );

    // By default, the schema goes to schema/models/<model id>.json.
    assert_eq!(
        import::default_output("model_x"),
        codegen::workspace_root().join("schema/models/model_x.json")
    );
}

#[test]
fn the_command_writes_nothing_the_generator_refuses() {
    let scratch = Scratch::new("refused");
    let input = scratch.path("description.json");
    let output = scratch.path("model_fixture-import.json");
    // A default outside the input's own range: the importer maps it, the generator refuses it.
    std::fs::write(
        &input,
        described(json!([{"name": "p", "type": "number", "min": 0, "max": 1, "default": 2}]))
            .to_string(),
    )
    .unwrap();
    let error = import::run(&options(&input, &output, false)).unwrap_err();
    assert!(matches!(error, CommandError::Generator(_)), "{error}");
    assert!(error.to_string().contains("nothing was written"), "{error}");
    assert!(!output.exists());

    std::fs::write(&input, "not json").unwrap();
    let error = import::run(&options(&input, &output, false)).unwrap_err();
    assert!(matches!(error, CommandError::NotJson(..)), "{error}");
    assert!(error.to_string().contains("kling models schema"), "{error}");
}

#[test]
fn the_command_line_is_read() {
    assert_eq!(
        Options::parse(&["x.json"]).unwrap(),
        Options {
            file: "x.json".into(),
            output: None,
            force: false
        }
    );
    assert_eq!(
        Options::parse(&["-", "-o", "out.json", "--force"]).unwrap(),
        Options {
            file: "-".into(),
            output: Some("out.json".into()),
            force: true
        }
    );
    for bad in [
        &[][..],
        &["x.json", "y.json"],
        &["x.json", "-o"],
        &["x.json", "--nope"],
    ] {
        let error = Options::parse(bad).unwrap_err();
        assert!(matches!(error, CommandError::Usage(_)), "{bad:?}");
        assert!(error.to_string().contains("usage: "), "{error}");
    }
}

/// Every keyword of a schema except the annotations the importer cannot recover from a
/// model description (our `$comment`s and `x-` extensions) and `title`.
fn constraints(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| {
                    !matches!(
                        key.as_str(),
                        "$comment"
                            | "title"
                            | "x-enum-names"
                            | "x-ignored-when-present"
                            | "x-cli-flag"
                    )
                })
                .filter_map(|(key, value)| {
                    if key != "x-ui" {
                        return Some((key.clone(), constraints(value)));
                    }
                    // The form's messages of `required` rules, which a description
                    // words from the rule (the sandbox does): no constraint.
                    let mut ui = value.as_object()?.clone();
                    ui.remove("required");
                    (!ui.is_empty()).then(|| (key.clone(), Value::Object(ui)))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(constraints).collect()),
        other => other.clone(),
    }
}

/// Both schemas give the same verdict on thousands of instances built around every
/// constraint of either (values that fit, values at and beyond each limit, JSON of the
/// wrong type, missing required fields, unknown fields).
#[track_caller]
fn assert_same_verdicts(original: &Value, imported: &Value) {
    let theirs = jsonschema::draft7::new(original).unwrap();
    let ours = jsonschema::draft7::new(imported).unwrap();
    let mut names: Vec<String> = Vec::new();
    for schema in [original, imported] {
        for name in schema["properties"].as_object().unwrap().keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    let properties: Vec<(String, Candidates)> = names
        .into_iter()
        .map(|name| {
            let mut values = candidates(&original["properties"][&name]);
            let more = candidates(&imported["properties"][&name]);
            values.fitting.extend(more.fitting);
            values.edge.extend(more.edge);
            values.junk.extend(more.junk);
            (name, values)
        })
        .collect();

    let required: Vec<&str> = original["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    crate::agreement::assert_agree_on_instances(
        &properties,
        &required,
        4000,
        500,
        "the original and the imported schema",
        |instance| theirs.is_valid(instance),
        |instance| ours.is_valid(instance),
    );
}

/// The sandbox describes Kling 1.6 Pro the way Scenario describes models, from our schema;
/// importing that description gives back a schema with the same constraints, which the
/// generator accepts and which accepts exactly the same requests.
#[tokio::test]
async fn kling_round_trips_through_the_api_description() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let credentials = sandbox.credentials();
    let client = Client::new(Credentials::new(
        credentials.key.clone(),
        credentials.secret.clone(),
    ))
    .with_base_url(sandbox.base_url());
    let description = client
        .model_description(&ModelId::new(KLING))
        .await
        .unwrap();
    assert_eq!(description["model"]["inputs"].as_array().unwrap().len(), 8);

    let imported = import(&description).unwrap_or_else(|error| panic!("{error}"));
    assert_generates(&imported);
    let original: Value = serde_json::from_str(kling_types::kling_v1_6_pro::SCHEMA).unwrap();
    assert_eq!(
        constraints(&imported),
        constraints(&original),
        "the same schema but for comments, titles and x- extensions"
    );
    assert_same_verdicts(&original, &imported);

    // The dependency in both directions, explicitly.
    let both = jsonschema::draft7::new(&imported).unwrap();
    assert!(!both.is_valid(&json!({"prompt": "x", "endImage": "asset_b"})));
    assert!(both.is_valid(&json!({"prompt": "x", "startImage": "asset_a", "endImage": "asset_b"})));
    assert!(both.is_valid(&json!({"prompt": "x", "startImage": "asset_a"})));
}

/// The verdict comparison has teeth: a schema one limit away from Kling's is caught.
#[test]
fn the_verdict_comparison_sees_any_loosened_or_tightened_limit() {
    let original: Value = serde_json::from_str(kling_types::kling_v1_6_pro::SCHEMA).unwrap();
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: [Mutation; 6] = [
        ("cfgScale maximum 2", |schema| {
            schema["properties"]["cfgScale"]["maximum"] = json!(2)
        }),
        ("prompt maxLength 2499", |schema| {
            schema["properties"]["prompt"]["maxLength"] = json!(2499)
        }),
        ("referenceImages maxItems 5", |schema| {
            schema["properties"]["referenceImages"]["maxItems"] = json!(5)
        }),
        ("duration 7 allowed", |schema| {
            schema["properties"]["duration"]["enum"] = json!([5, 7, 10])
        }),
        ("no dependencies", |schema| {
            schema.as_object_mut().unwrap().remove("dependencies");
        }),
        ("duration a number", |schema| {
            schema["properties"]["duration"] =
                json!({"type": "number", "minimum": 5, "maximum": 10})
        }),
    ];
    for (mutation, mutate) in mutations {
        let mut other = original.clone();
        mutate(&mut other);
        let caught = std::panic::catch_unwind(|| assert_same_verdicts(&original, &other))
            .expect_err(mutation);
        let message = caught.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("disagree"), "{mutation}: {message}");
    }
}

/// Every corpus model the sandbox describes (from its parameter table) imports back into
/// a schema with the same constraints and the same `jsonschema` verdicts as the schema it
/// was generated from: asset kinds and file limits, model ids and their types, `step`,
/// sentinel enums, integer lists and every `required` form survive the trip.
#[test]
fn the_corpus_round_trips_through_the_sandbox_description() {
    for model in crate::fixtures::generated::MODELS
        .iter()
        .filter(|model| model.id.starts_with("model_corpus-"))
    {
        let description = kling_sandbox::describe_model(model);
        let imported = import(&description).unwrap_or_else(|error| panic!("{}: {error}", model.id));
        assert_generates(&imported);
        let original: Value = serde_json::from_str(model.schema).unwrap();
        assert_eq!(
            constraints(&imported),
            constraints(&original),
            "{}: the same schema but for comments, titles and x- extensions",
            model.id
        );
        // The sandbox labels each input with its name: titles do not come back (nor
        // those of the fields of an array's item objects).
        fn untitled(properties: &Value) -> Value {
            let mut properties = properties.clone();
            for property in properties.as_object_mut().unwrap().values_mut() {
                let property = property.as_object_mut().unwrap();
                property.remove("title");
                if let Some(fields) = property
                    .get("items")
                    .and_then(|items| items.get("properties"))
                {
                    let fields = untitled(fields);
                    property["items"]["properties"] = fields;
                }
            }
            properties
        }
        let untitled = |schema: &Value| untitled(&schema["properties"]);
        assert_eq!(
            untitled(&imported),
            untitled(&original),
            "{}: the x- extensions too (x-ui, x-asset-kind, …), but for titles",
            model.id
        );
        assert_same_verdicts(&original, &imported);
    }
}

/// The corpus schemas compiled as generator fixtures are exactly the imports of the
/// corpus descriptions (so that they are regenerated, never edited by hand).
#[test]
fn the_compiled_corpus_is_the_import_of_the_descriptions() {
    for name in [
        "corpus-video-edit",
        "corpus-lora-image",
        "corpus-reserved-names",
        "corpus-storyboard",
    ] {
        let root = codegen::workspace_root();
        let description: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("tests/fixtures/import/{name}.json")))
                .unwrap(),
        )
        .unwrap();
        let mut imported = serde_json::to_string_pretty(&import(&description).unwrap()).unwrap();
        imported.push('\n');
        let compiled =
            std::fs::read_to_string(root.join(format!("tests/fixtures/schemas/model_{name}.json")))
                .unwrap();
        assert_eq!(
            compiled, imported,
            "run `cargo xtask import-model tests/fixtures/import/{name}.json -o tests/fixtures/schemas/model_{name}.json --force`"
        );
    }
}

/// Importing a model whose schema is already curated merges: the curated `$comment`s,
/// `x-enum-names`, `x-cli-flag` and `x-ignored-when-present` stay, the description's
/// changes come in and are shown as `schema-diff` words them; `--force` replaces.
#[test]
fn an_import_over_a_curated_schema_merges_and_shows_what_changed() {
    let scratch = Scratch::new("merge");
    let root = codegen::workspace_root();
    let input = root.join("tests/fixtures/import/kling-v1-6-pro-live.json");
    let output = scratch.path("model_kling-v1-6-pro.json");
    let curated_text =
        std::fs::read_to_string(root.join("schema/models/model_kling-v1-6-pro.json")).unwrap();
    std::fs::write(&output, &curated_text).unwrap();

    let Outcome::Merged {
        path,
        report,
        changes,
        ..
    } = import::run(&options(&input, &output, false)).unwrap()
    else {
        panic!("a curated schema of the same model is merged into");
    };
    assert_eq!(path, output);
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let curated: Value = serde_json::from_str(&curated_text).unwrap();
    for pointer in [
        "/$comment",
        "/properties/prompt/$comment",
        "/properties/aspectRatio/x-enum-names",
        "/properties/aspectRatio/x-ignored-when-present",
        "/properties/duration/x-enum-names",
        "/properties/referenceImages/x-cli-flag",
        "/properties/startImage/x-ignored-when-present",
    ] {
        assert_eq!(
            merged.pointer(pointer),
            curated.pointer(pointer),
            "{pointer} is kept"
        );
        assert!(
            report.kept.contains(&pointer.to_owned()),
            "{pointer}: {report:?}"
        );
    }
    assert!(report.dropped.is_empty(), "{report:?}");
    // What the live description says that the curated schema did not.
    assert_eq!(merged["properties"]["cfgScale"]["multipleOf"], json!(0.1));
    assert_eq!(
        merged["properties"]["duration"]["x-ui"],
        json!({"costImpact": true})
    );
    let shown: Vec<String> = changes
        .iter()
        .map(|change| format!("{} {} {}", change.bump, change.pointer, change.what))
        .collect();
    assert!(
        shown
            .iter()
            .any(|line| line.starts_with("major /properties/cfgScale multipleOf 0.1 added")),
        "{shown:#?}"
    );
    assert!(
        shown
            .iter()
            .any(|line| line.starts_with("patch /properties/duration x-ui changed")),
        "{shown:#?}"
    );
    assert_generates(&merged);

    // Merging again changes nothing.
    assert_eq!(
        import::run(&options(&input, &output, false)).unwrap(),
        Outcome::Unchanged {
            path: output.clone()
        }
    );

    // Curated names of an enum whose values the description changed are let go, and said.
    let mut stale = curated.clone();
    stale["properties"]["duration"]["enum"] = json!([5, 10, 15]);
    stale["properties"]["duration"]["x-enum-names"] = json!(["Seconds5", "Seconds10", "Seconds15"]);
    let (_, report) = kling_dialect::merge(&stale, &merged);
    assert!(
        report
            .dropped
            .iter()
            .any(|line| line.starts_with("/properties/duration/x-enum-names")),
        "{report:?}"
    );

    // `--force` replaces the file with the bare import.
    assert!(matches!(
        import::run(&options(&input, &output, true)).unwrap(),
        Outcome::Wrote { .. }
    ));
    let replaced: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert!(
        replaced["properties"]["duration"]
            .get("x-enum-names")
            .is_none()
    );
}

/// A curated schema the dialect refuses is not merged into: the import says which file,
/// where and why, and leaves it as it was.
#[test]
fn an_import_over_a_curated_schema_the_dialect_refuses_writes_nothing() {
    let scratch = Scratch::new("merge-refused");
    let root = codegen::workspace_root();
    let input = root.join("tests/fixtures/import/kling-v1-6-pro-live.json");
    let output = scratch.path("model_kling-v1-6-pro.json");
    let mut curated: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schema/models/model_kling-v1-6-pro.json")).unwrap(),
    )
    .unwrap();
    curated["properties"]["prompt"]["x-deprecated"] = json!(true);
    let curated_text = serde_json::to_string_pretty(&curated).unwrap();
    std::fs::write(&output, &curated_text).unwrap();

    let Err(error) = import::run(&options(&input, &output, false)) else {
        panic!("a refused curated schema is an error");
    };
    let error = error.to_string();
    assert!(
        error.contains("does not pass the dialect's checks, so nothing was merged or written")
            && error.contains("at `/properties/prompt/x-deprecated`: the keyword `x-deprecated`"),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), curated_text);
}
