//! `GET /v1/models/{modelId}`: each model of `kling_types::MODELS`, described the way
//! Scenario describes models, with the `inputs` list derived from our schema.

use serde_json::{Map, Value, json};

/// The model description, or `None` for an unknown model.
pub(crate) fn describe(model: &kling_types::ModelInfo) -> Option<Value> {
    let schema: Value = serde_json::from_str(model.schema).ok()?;
    Some(json!({
        "id": model.id,
        "name": model.title,
        "shortDescription": model.description,
        "capabilities": ["txt2video", "img2video"],
        "collectionIds": [],
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": "2025-01-01T00:00:00.000Z",
        "custom": false,
        "exampleAssetIds": [],
        "privacy": "public",
        "source": "scenario",
        "status": "trained",
        "tags": [],
        "trainingImagesNumber": 0,
        "type": "custom",
        "inputs": inputs(&schema),
    }))
}

/// The `inputs` of a model, one per property of its schema.
pub(crate) fn inputs(schema: &Value) -> Vec<Value> {
    let empty = Map::new();
    let properties = schema["properties"].as_object().unwrap_or(&empty);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let dependencies = schema["dependencies"].as_object().unwrap_or(&empty);
    properties
        .iter()
        .map(|(name, property)| {
            let is_file = |node: &Value| node["format"] == "asset-id";
            let (kind, mut input) = match property["type"].as_str().unwrap_or_default() {
                "array" if is_file(&property["items"]) => ("file_array", json!({"kind": "image"})),
                "array" if property["items"]["type"] == "number" || property["items"]["type"] == "integer" => ("number_array", json!({})),
                "array" => ("string_array", json!({})),
                "string" if is_file(property) => ("file", json!({"kind": "image"})),
                // Scenario has one "number" type; a step of 1 says it takes whole numbers.
                "integer" => ("number", json!({"step": 1})),
                "number" => ("number", json!({})),
                "boolean" => ("boolean", json!({})),
                _ => ("string", json!({})),
            };
            input["name"] = json!(name);
            input["type"] = json!(kind);
            input["label"] = json!(name);
            for (ours, theirs) in [("description", "description"), ("default", "default"), ("enum", "allowedValues"), ("minimum", "min"), ("maximum", "max")] {
                if let Some(value) = property.get(ours) {
                    input[theirs] = value.clone();
                }
            }
            for (ours, theirs) in [("minLength", "minLength"), ("maxLength", "maxLength"), ("minItems", "minLength"), ("maxItems", "maxLength")] {
                if let Some(value) = property.get(ours) {
                    input[theirs] = value.clone();
                }
            }
            if required.contains(&name.as_str()) {
                input["required"] = json!({"always": true});
            } else {
                // "endImage needs startImage" is, seen from startImage, "required if endImage is defined".
                let needed_by: Map<String, Value> = dependencies
                    .iter()
                    .filter(|(_, needs)| needs.as_array().is_some_and(|needs| needs.iter().any(|need| need == name)))
                    .map(|(dependent, _)| (dependent.clone(), json!({"message": format!("`{name}` is required when `{dependent}` is set.")})))
                    .collect();
                if !needed_by.is_empty() {
                    input["required"] = json!({"ifDefined": needed_by});
                }
            }
            input
        })
        .collect()
}
