//! `GET /v1/models/{modelId}`: each model of `kling_types::MODELS`, described the way
//! Scenario describes models, with the `inputs` list derived from its parameter table.

use kling_types::{Choice, ChoiceValue, Param, ParamKind, RequiredWhen};
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

/// Scenario's `type` of a parameter's input, and the fields that type brings (`kind`,
/// `step`, the `inputs` of a list of objects).
fn input_type(param: &Param) -> (&'static str, Value) {
    let step = |whole: bool| match (param.multiple_of, whole) {
        (Some(step), _) => json!({"step": number(step)}),
        // Scenario has one "number" type; a step of 1 says it takes whole numbers.
        (None, true) => json!({"step": 1}),
        (None, false) => json!({}),
    };
    match &param.kind {
        ParamKind::List { items, .. } => match items {
            // A list of objects: each object's fields described as inputs of their own.
            ParamKind::Object(fields) => ("inputs_array", json!({"inputs": inputs(fields)})),
            ParamKind::Asset(file) => ("file_array", json!({"kind": file.name()})),
            ParamKind::ModelId => ("model_array", json!({})),
            ParamKind::Integer(_) => ("number_array", step(true)),
            ParamKind::Number(_) => ("number_array", step(false)),
            _ => ("string_array", json!({})),
        },
        ParamKind::Asset(file) => ("file", json!({"kind": file.name()})),
        ParamKind::ModelId => ("model", json!({})),
        ParamKind::Integer(_) => ("number", step(true)),
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
        ParamKind::Choice(choices)
            if matches!(
                choices.first(),
                Some(Choice {
                    value: ChoiceValue::Number(_),
                    ..
                })
            ) =>
        {
            ("number", json!({}))
        }
        ParamKind::Number(_) => ("number", step(false)),
        ParamKind::Boolean => ("boolean", json!({})),
        _ => ("string", json!({})),
    }
}

fn input(params: &[Param], param: &Param) -> Value {
    let (kind, mut input) = input_type(param);
    input["name"] = json!(param.json_name);
    input["type"] = json!(kind);
    input["label"] = json!(param.json_name);
    if !param.description.is_empty() {
        input["description"] = json!(param.description);
    }
    if let Some(default) = param.default_json() {
        input["default"] = default;
    }
    let limits = param.file_limits;
    if let Some(size) = limits.max_size {
        input["maxSize"] = json!(size);
    }
    if let Some(seconds) = limits.min_duration {
        input["minDuration"] = number(seconds);
    }
    if let Some(seconds) = limits.max_duration {
        input["maxDuration"] = number(seconds);
    }
    if !param.model_types.is_empty() {
        input["modelTypes"] = json!(param.model_types);
    }
    // Scenario's form fields, as the schema kept them (`x-ui`); the messages of its
    // `required` rules go with the rules, below.
    let mut ui = match serde_json::from_str::<Value>(param.ui) {
        Ok(Value::Object(ui)) => ui,
        _ => Map::new(),
    };
    let messages = ui.remove("required").unwrap_or(Value::Null);
    for (field, value) in ui {
        input[field] = value;
    }
    match param.value_kind() {
        ParamKind::Choice(choices) if param.is_list() => {
            input["allowedValues"] = choices
                .iter()
                .map(|choice| choice.value.to_json())
                .collect();
        }
        ParamKind::Integer(bounds) | ParamKind::Number(bounds) if param.is_list() => {
            if let Some(min) = bounds.minimum {
                input["min"] = number(min);
            }
            if let Some(max) = bounds.maximum {
                input["max"] = number(max);
            }
        }
        _ => {}
    }
    match &param.kind {
        ParamKind::Choice(choices) => {
            input["allowedValues"] = choices
                .iter()
                .map(|choice| choice.value.to_json())
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
    if let Some(required) = required(params, param, &messages) {
        input["required"] = required;
    }
    input
}

/// The input's `required`: `always`, or the rules that make it required (`ifDefined` for
/// each parameter that needs it, `ifNotDefined` and `conditional` from its conditions),
/// with the form's messages the schema kept (`x-ui.required`) or worded here.
fn required(params: &[Param], param: &Param, messages: &Value) -> Option<Value> {
    if param.required {
        return Some(json!({"always": true}));
    }
    // "endImage needs startImage" is, seen from startImage, "required if endImage is defined".
    let needed_by: Map<String, Value> = params
        .iter()
        .filter(|other| other.needs.contains(&param.json_name))
        .map(|other| {
            let said = message(messages, "ifDefined", other.json_name, || {
                format!(
                    "`{}` is required when `{}` is set.",
                    param.json_name, other.json_name
                )
            });
            (other.json_name.to_owned(), said)
        })
        .collect();
    let mut required = Map::new();
    if !needed_by.is_empty() {
        required.insert("ifDefined".to_owned(), Value::Object(needed_by));
    }
    required.extend(required_when(param, messages));
    (!required.is_empty()).then_some(Value::Object(required))
}

/// What the form says for the rule `rule` (`ifDefined`) naming `other`: the schema's
/// kept message (`x-ui.required`), or `worded` (`{"message": …}`) when it kept none.
fn message(messages: &Value, rule: &str, other: &str, worded: impl FnOnce() -> String) -> Value {
    match &messages[rule][other] {
        Value::Null => json!({ "message": worded() }),
        kept => kept.clone(),
    }
}

/// `ifNotDefined` and `conditional` from the parameter's conditions: several conditions
/// on one parameter each are `or`, one condition on several is `and`. `messages`: what
/// the schema kept of the form's messages (`x-ui.required`), worded here when absent.
fn required_when(param: &Param, messages: &Value) -> Map<String, Value> {
    let mut required = Map::new();
    let absent: Map<String, Value> = param
        .required_when
        .iter()
        .filter_map(|rule| match rule {
            RequiredWhen::Absent { other } => {
                let said = message(messages, "ifNotDefined", other, || {
                    format!("`{}` or `{other}` is required.", param.json_name)
                });
                Some(((*other).to_owned(), said))
            }
            RequiredWhen::Values(_) => None,
        })
        .collect();
    if !absent.is_empty() {
        required.insert("ifNotDefined".to_owned(), Value::Object(absent));
    }
    let groups: Vec<Map<String, Value>> = param
        .required_when
        .iter()
        .filter_map(|rule| match rule {
            RequiredWhen::Values(conditions) => Some(
                conditions
                    .iter()
                    .map(|condition| {
                        let values: Vec<Value> = condition
                            .values
                            .iter()
                            .filter_map(|text| serde_json::from_str(text).ok())
                            .collect();
                        (condition.field.to_owned(), Value::Array(values))
                    })
                    .collect(),
            ),
            RequiredWhen::Absent { .. } => None,
        })
        .collect();
    let conditional = match groups.as_slice() {
        [] => None,
        [one] => Some(json!({"values": one, "operator": "and"})),
        many if many.iter().all(|group| group.len() == 1) => {
            let values: Map<String, Value> = many
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // Two conditions on one parameter cannot be one `or` of a map: keep the first.
            (values.len() == many.len()).then(|| json!({"values": values, "operator": "or"}))
        }
        _ => None,
    };
    if let Some(conditional) = conditional {
        required.insert("conditional".to_owned(), conditional);
    }
    required
}

/// A bound as the schema wrote it: `0`, not `0.0`, for a whole number.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        json!(value as i64)
    } else {
        json!(value)
    }
}
