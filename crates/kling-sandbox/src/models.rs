//! `GET /v1/models/{modelId}`: each model of `kling_types::MODELS`, described the way
//! Scenario describes models, with the `inputs` list derived from its parameter table.

use kling_types::{Choice, ChoiceValue, FileKind, Literal, Param, ParamKind};
use serde_json::{Map, Value, json};

/// The model description, or `None` for an unknown model.
pub(crate) fn describe(model: &kling_types::ModelInfo) -> Option<Value> {
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
        "inputs": inputs(model.params),
    }))
}

/// The `inputs` of a model, one per parameter of its table, in the schema's order.
pub(crate) fn inputs(params: &[Param]) -> Vec<Value> {
    params.iter().map(|param| input(params, param)).collect()
}

fn input(params: &[Param], param: &Param) -> Value {
    let (kind, mut input) = match &param.kind {
        ParamKind::List { items, .. } => match items {
            ParamKind::Asset(FileKind::Image) => ("file_array", json!({"kind": "image"})),
            ParamKind::Integer(_) | ParamKind::Number(_) => ("number_array", json!({})),
            _ => ("string_array", json!({})),
        },
        ParamKind::Asset(FileKind::Image) => ("file", json!({"kind": "image"})),
        // Scenario has one "number" type; a step of 1 says it takes whole numbers.
        ParamKind::Integer(_) => ("number", json!({"step": 1})),
        ParamKind::Choice(choices)
            if matches!(
                choices.first(),
                Some(Choice {
                    value: ChoiceValue::Integer(_),
                    ..
                })
            ) =>
        {
            ("number", json!({"step": 1}))
        }
        ParamKind::Number(_) => ("number", json!({})),
        ParamKind::Boolean => ("boolean", json!({})),
        _ => ("string", json!({})),
    };
    input["name"] = json!(param.json_name);
    input["type"] = json!(kind);
    input["label"] = json!(param.json_name);
    if !param.description.is_empty() {
        input["description"] = json!(param.description);
    }
    if let Some(default) = param.default.and_then(|default| literal(param, default)) {
        input["default"] = default;
    }
    match &param.kind {
        ParamKind::Choice(choices) => {
            input["allowedValues"] = choices
                .iter()
                .map(|choice| choice_json(choice.value))
                .collect();
        }
        ParamKind::Integer(bounds) | ParamKind::Number(bounds) => {
            if let Some(min) = bounds.minimum {
                input["min"] = number(min);
            }
            if let Some(max) = bounds.maximum {
                input["max"] = number(max);
            }
        }
        ParamKind::Text(length) | ParamKind::List { count: length, .. } => {
            if let Some(min) = length.min {
                input["minLength"] = json!(min);
            }
            if let Some(max) = length.max {
                input["maxLength"] = json!(max);
            }
        }
        _ => {}
    }
    if param.required {
        input["required"] = json!({"always": true});
    } else {
        // "endImage needs startImage" is, seen from startImage, "required if endImage is defined".
        let needed_by: Map<String, Value> = params
            .iter()
            .filter(|other| other.needs.contains(&param.json_name))
            .map(|other| {
                let message = format!(
                    "`{}` is required when `{}` is set.",
                    param.json_name, other.json_name
                );
                (other.json_name.to_owned(), json!({"message": message}))
            })
            .collect();
        if !needed_by.is_empty() {
            input["required"] = json!({"ifDefined": needed_by});
        }
    }
    input
}

/// A bound as the schema wrote it: `0`, not `0.0`, for a whole number.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

fn choice_json(value: ChoiceValue) -> Value {
    match value {
        ChoiceValue::Text(text) => json!(text),
        ChoiceValue::Integer(number) => json!(number),
    }
}

fn literal(param: &Param, default: Literal) -> Option<Value> {
    Some(match default {
        Literal::Text(text) => json!(text),
        Literal::Integer(value) => json!(value),
        Literal::Number(value) => number(value),
        Literal::Boolean(value) => json!(value),
        Literal::Choice(index) => match &param.kind {
            ParamKind::Choice(choices) => choice_json(choices.get(index)?.value),
            _ => return None,
        },
        Literal::List(text) => serde_json::from_str(text).ok()?,
        _ => return None,
    })
}
