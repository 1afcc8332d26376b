//! `kling generate`'s per-model flags, built from each model's JSON Schema in
//! `kling_types::MODELS` (names in kebab-case or `x-cli-flag`, help from descriptions,
//! allowed values, defaults, "ignored when" and "requires" rules), and the conversion
//! of the parsed flags back into the model's JSON request. A new model in `schema/`
//! gets its flags with no code here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, builder::PossibleValuesParser};
use kling_types::ModelInfo;
use serde_json::{Map, Value};

/// What a parameter holds.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Text,
    Integer,
    Number,
    Boolean,
    /// An asset id, or a local image file to upload.
    Image,
    /// One of the listed values (strings or integers, as the schema has them).
    Choice(Vec<Value>),
}

/// One flag of `kling generate`, and the parameter of each model it stands for.
#[derive(Clone, Debug)]
pub(crate) struct Param {
    /// The flag without dashes (`reference-image`), also the clap id.
    pub(crate) flag: String,
    /// The parameter's JSON name (`referenceImages`).
    pub(crate) json_name: String,
    kind: Kind,
    repeated: bool,
    help: String,
    /// The models that have it, and whether it is required there.
    pub(crate) models: BTreeMap<&'static str, bool>,
}

/// An image given on the command line: a file to upload, or an asset id.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ImageRef {
    File(PathBuf),
    Asset(String),
}

impl ImageRef {
    pub(crate) fn parse(flag: &str, value: &str) -> anyhow::Result<Self> {
        let path = PathBuf::from(value);
        if path.is_file() {
            Ok(Self::File(path))
        } else if value.starts_with("asset_") {
            Ok(Self::Asset(value.to_owned()))
        } else if path.exists() {
            Err(crate::exit::usage(format!(
                "--{flag} {value}: that is a folder, not an image file"
            )))
        } else {
            Err(crate::exit::usage(format!(
                "--{flag} {value}: no such file, and not an asset id (asset_…): give a local image or an asset id"
            )))
        }
    }
}

/// A request read from the command line: the JSON body, with the images to upload
/// first (their JSON pointer in the body, and the file).
#[derive(Debug)]
pub(crate) struct RawRequest {
    pub(crate) body: Map<String, Value>,
    pub(crate) uploads: Vec<(String, PathBuf)>,
}

fn kebab(name: &str) -> String {
    let mut flag = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            flag.push('-');
            flag.push(c.to_ascii_lowercase());
        } else if c == '_' {
            flag.push('-');
        } else {
            flag.push(c);
        }
    }
    flag.trim_start_matches('-').to_owned()
}

fn kind_of(schema: &Value) -> Kind {
    if let Some(values) = schema["enum"].as_array() {
        return Kind::Choice(values.clone());
    }
    match schema["type"].as_str() {
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("string") if schema["format"] == "asset-id" => Kind::Image,
        _ => Kind::Text,
    }
}

/// Every flag of every model, in the order of the first model that has it.
pub(crate) fn params() -> Vec<Param> {
    let mut params: Vec<Param> = Vec::new();
    for model in kling_types::MODELS {
        let Ok(schema) = serde_json::from_str::<Value>(model.schema) else {
            continue;
        };
        let Some(properties) = schema["properties"].as_object() else {
            continue;
        };
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let flag_of = |name: &str| {
            properties
                .get(name)
                .and_then(|property| property["x-cli-flag"].as_str())
                .map_or_else(|| kebab(name), str::to_owned)
        };
        for (name, property) in properties {
            let flag = flag_of(name);
            let repeated = property["type"] == "array";
            let item = if repeated {
                &property["items"]
            } else {
                property
            };
            let kind = kind_of(item);
            if let Some(known) = params.iter_mut().find(|param| param.flag == flag) {
                known
                    .models
                    .insert(model.id, required.contains(&name.as_str()));
                continue;
            }
            let mut help = property["description"]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_owned();
            if required.contains(&name.as_str()) {
                help = format!("(required) {help}");
            }
            if kind == Kind::Image {
                help.push_str(". A local image file (uploaded first) or an asset id");
            }
            if repeated {
                let limit = property["maxItems"]
                    .as_u64()
                    .map(|max| format!(", up to {max} times"))
                    .unwrap_or_default();
                help.push_str(&format!(". Repeat the flag for several{limit}"));
            }
            for (key, bound) in [
                ("minimum", "at least"),
                ("maximum", "at most"),
                ("exclusiveMinimum", "more than"),
                ("exclusiveMaximum", "less than"),
            ] {
                if let Some(value) = item.get(key) {
                    help.push_str(&format!(", {bound} {value}"));
                }
            }
            if let Some(max) = item["maxLength"].as_u64() {
                help.push_str(&format!(", at most {max} characters"));
            }
            if let Some(rules) = property["x-ignored-when-present"].as_object() {
                for (other, why) in rules {
                    help.push_str(&format!(
                        ". Ignored with --{}: {}",
                        flag_of(other),
                        why.as_str().unwrap_or_default()
                    ));
                }
            }
            if let Some(needs) = schema["dependencies"][name].as_array() {
                let needs: Vec<String> = needs
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|need| format!("--{}", flag_of(need)))
                    .collect();
                help.push_str(&format!(". Needs {}", needs.join(" and ")));
            }
            help.push('.');
            if let Some(default) = property.get("default") {
                let shown = default.as_str().map_or_else(
                    || default.to_string(),
                    |text| {
                        if text.is_empty() {
                            "\"\"".to_owned()
                        } else {
                            text.to_owned()
                        }
                    },
                );
                help.push_str(&format!(" [default: {shown}]"));
            }
            params.push(Param {
                flag,
                json_name: name.clone(),
                kind,
                repeated,
                help,
                models: BTreeMap::from([(model.id, required.contains(&name.as_str()))]),
            });
        }
    }
    params
}

/// The clap arguments of the flags.
pub(crate) fn args(params: &[Param]) -> Vec<Arg> {
    params
        .iter()
        .map(|param| {
            let mut arg = Arg::new(param.flag.clone())
                .long(param.flag.clone())
                .help(param.help.clone())
                .help_heading("Model parameters");
            let value_name = match &param.kind {
                Kind::Image => "FILE|ASSET_ID",
                Kind::Integer => "INTEGER",
                Kind::Number => "NUMBER",
                Kind::Boolean => "true|false",
                Kind::Choice(_) => "VALUE",
                Kind::Text => "TEXT",
            };
            arg = arg.value_name(value_name);
            arg = match &param.kind {
                // `--seed -1` is a value to check, not an unknown flag.
                Kind::Integer => arg
                    .value_parser(clap::value_parser!(i64))
                    .allow_negative_numbers(true),
                Kind::Number => arg
                    .value_parser(clap::value_parser!(f64))
                    .allow_negative_numbers(true),
                Kind::Boolean => arg
                    .value_parser(clap::value_parser!(bool))
                    .num_args(0..=1)
                    .default_missing_value("true"),
                Kind::Choice(values) => {
                    let values: Vec<String> = values
                        .iter()
                        .map(|value| {
                            value
                                .as_str()
                                .map_or_else(|| value.to_string(), str::to_owned)
                        })
                        .collect();
                    arg.value_parser(PossibleValuesParser::new(values))
                }
                Kind::Text | Kind::Image => arg,
            };
            if param.repeated {
                arg.action(ArgAction::Append)
            } else {
                arg.action(ArgAction::Set)
            }
        })
        .collect()
}

/// The JSON request for `model` from the flags given; images are checked (a file that
/// exists, or an asset id) and listed for upload.
pub(crate) fn request(
    model: &ModelInfo,
    params: &[Param],
    matches: &ArgMatches,
) -> anyhow::Result<RawRequest> {
    let mut body = Map::new();
    let mut uploads = Vec::new();
    let mut problems = Vec::new();
    for param in params {
        let given = matches.contains_id(&param.flag)
            && matches.value_source(&param.flag) == Some(clap::parser::ValueSource::CommandLine);
        let Some(&required) = param.models.get(model.id) else {
            if given {
                problems.push(format!(
                    "--{} is not a parameter of {} (`kling models {}` lists them)",
                    param.flag, model.title, model.id
                ));
            }
            continue;
        };
        if !given {
            if required {
                problems.push(format!("--{} is required for {}", param.flag, model.title));
            }
            continue;
        }
        let mut value = |raw: &str, index: usize| -> anyhow::Result<Value> {
            Ok(match &param.kind {
                Kind::Integer => Value::from(raw.parse::<i64>()?),
                Kind::Number => Value::from(raw.parse::<f64>()?),
                Kind::Boolean => Value::from(raw.parse::<bool>()?),
                Kind::Choice(values) => values
                    .iter()
                    .find(|value| {
                        value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_owned)
                            == raw
                    })
                    .cloned()
                    .unwrap_or(Value::Null),
                Kind::Text => Value::from(raw),
                Kind::Image => match ImageRef::parse(&param.flag, raw)? {
                    ImageRef::Asset(id) => Value::from(id),
                    ImageRef::File(path) => {
                        let pointer = if param.repeated {
                            format!("/{}/{index}", param.json_name)
                        } else {
                            format!("/{}", param.json_name)
                        };
                        uploads.push((pointer, path.clone()));
                        // A stand-in until the upload gives the asset id; it validates like one.
                        Value::from(format!("asset_to_upload_{index}"))
                    }
                },
            })
        };
        let raw: Vec<String> = match &param.kind {
            Kind::Integer => matches
                .get_many::<i64>(&param.flag)
                .into_iter()
                .flatten()
                .map(ToString::to_string)
                .collect(),
            Kind::Number => matches
                .get_many::<f64>(&param.flag)
                .into_iter()
                .flatten()
                .map(ToString::to_string)
                .collect(),
            Kind::Boolean => matches
                .get_many::<bool>(&param.flag)
                .into_iter()
                .flatten()
                .map(ToString::to_string)
                .collect(),
            _ => matches
                .get_many::<String>(&param.flag)
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        };
        let mut values = Vec::new();
        for (index, raw) in raw.iter().enumerate() {
            match value(raw, index) {
                Ok(value) => values.push(value),
                Err(error) => problems.push(error.to_string()),
            }
        }
        let value = if param.repeated {
            Value::Array(values)
        } else {
            values.into_iter().next().unwrap_or(Value::Null)
        };
        body.insert(param.json_name.clone(), value);
    }
    if problems.is_empty() {
        Ok(RawRequest { body, uploads })
    } else {
        Err(crate::exit::usage(problems.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_kebab_case_unless_the_schema_says() {
        assert_eq!(kebab("cfgScale"), "cfg-scale");
        assert_eq!(kebab("negativePrompt"), "negative-prompt");
        let flags: Vec<String> = params().into_iter().map(|param| param.flag).collect();
        assert_eq!(
            flags,
            [
                "prompt",
                "start-image",
                "end-image",
                "negative-prompt",
                "reference-image",
                "aspect-ratio",
                "cfg-scale",
                "duration"
            ]
        );
    }
}
