//! `kling generate`'s per-model flags, built from each model's JSON Schema in
//! `kling_types::MODELS` (names in kebab-case or `x-cli-flag`, help from descriptions,
//! allowed values, defaults, "ignored when" and "requires" rules), and the conversion
//! of the parsed flags back into the model's JSON request. A new model in `schema/`
//! gets its flags with no code here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
use clap::{Arg, ArgAction, ArgMatches};
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
/// first (their JSON pointer in the body, and the file), and the problems found in the
/// flags themselves.
#[derive(Debug)]
pub(crate) struct RawRequest {
    pub(crate) body: Map<String, Value>,
    pub(crate) uploads: Vec<(String, PathBuf)>,
    /// Each problem, worded in full (`--duration is 7 but must be one of 5, 10`).
    pub(crate) problems: Vec<String>,
    /// The parameters (JSON names, or `name[index]` for an item of a repeated flag) those
    /// problems are about: what the model's validation says of them is not shown again (it
    /// would be about a stand-in, or a left-out value).
    pub(crate) flagged: BTreeSet<String>,
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

/// A value parser that takes any text and lists `values` as the possible ones, for
/// `--help` and shell completions. A value outside them is not clap's to refuse: it is
/// reported by [`request`] with every other problem of the request, by flag.
#[derive(Clone, Debug)]
struct AnyOf(Vec<String>);

impl TypedValueParser for AnyOf {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(command, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.0.iter().cloned().map(PossibleValue::new)))
    }
}

/// A choice as the command line writes it: `16:9`, `5`.
fn choice_text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// The clap arguments of the flags. Every one takes text: numbers, booleans and
/// choices are read by [`request`], so that a bad value is one problem among the others
/// rather than the only one clap reports.
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
                Kind::Integer | Kind::Number => arg.allow_negative_numbers(true),
                Kind::Boolean => arg
                    .value_parser(AnyOf(vec!["true".to_owned(), "false".to_owned()]))
                    .num_args(0..=1)
                    .default_missing_value("true"),
                Kind::Choice(values) => {
                    arg.value_parser(AnyOf(values.iter().map(choice_text).collect()))
                }
                // Shells complete file names for images (an asset id is typed).
                Kind::Image => arg.value_hint(clap::ValueHint::FilePath),
                Kind::Text => arg,
            };
            if param.repeated {
                arg.action(ArgAction::Append)
            } else {
                arg.action(ArgAction::Set)
            }
        })
        .collect()
}

/// A value as a message shows it: as written, quoted when empty or spaced.
fn shown(raw: &str) -> String {
    if raw.is_empty() || raw.contains(char::is_whitespace) {
        format!("{raw:?}")
    } else {
        raw.to_owned()
    }
}

impl Param {
    /// The JSON value of one raw value of the flag, or what is wrong with it (worded as
    /// the model's own validation words it: "is X but must be …").
    fn value(&self, raw: &str) -> Result<Value, String> {
        let must_be = |what: &str| format!("--{} is {} but must be {what}", self.flag, shown(raw));
        match &self.kind {
            Kind::Integer => raw
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| must_be("an integer")),
            // `nan` and `inf` parse, but JSON has no such numbers.
            Kind::Number => match raw.parse::<f64>() {
                Ok(number) if number.is_finite() => Ok(Value::from(number)),
                Ok(_) => Err(must_be("a finite number")),
                Err(_) => Err(must_be("a number")),
            },
            Kind::Boolean => raw
                .parse::<bool>()
                .map(Value::from)
                .map_err(|_| must_be("true or false")),
            Kind::Choice(values) => values
                .iter()
                .find(|value| choice_text(value) == raw)
                .cloned()
                .ok_or_else(|| {
                    let allowed: Vec<String> = values.iter().map(choice_text).collect();
                    must_be(&format!("one of {}", allowed.join(", ")))
                }),
            Kind::Text => Ok(Value::from(raw)),
            // Images are read by `request`, which lists the files to upload.
            Kind::Image => Ok(Value::from(raw)),
        }
    }

    /// A value of the right type that stands in for a required parameter that is missing
    /// or unreadable, so that the model's validation still checks every other parameter.
    /// Nothing it says about the stand-in is shown, and a request with one is never sent.
    fn stand_in(&self) -> Value {
        if self.repeated {
            Value::Array(Vec::new())
        } else {
            self.stand_in_item()
        }
    }

    /// A stand-in for one value (also one item of a repeated flag, so that the count of
    /// items is still checked).
    fn stand_in_item(&self) -> Value {
        match &self.kind {
            Kind::Integer => Value::from(0),
            Kind::Number => Value::from(0.0),
            Kind::Boolean => Value::from(false),
            Kind::Choice(values) => values.first().cloned().unwrap_or(Value::Null),
            Kind::Text => Value::from("stand-in"),
            Kind::Image => Value::from("asset_stand_in"),
        }
    }
}

/// The JSON request for `model` from the flags given; images are checked (a file that
/// exists, or an asset id) and listed for upload. Every problem found here is listed, by
/// flag; a parameter with a problem is left out of the body, or stood in for when the
/// model requires it (see [`Param::stand_in`]).
pub(crate) fn request(model: &ModelInfo, params: &[Param], matches: &ArgMatches) -> RawRequest {
    let mut body = Map::new();
    let mut uploads = Vec::new();
    let mut problems = Vec::new();
    let mut flagged = BTreeSet::new();
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
        let raw: Vec<&String> = if given {
            matches
                .get_many::<String>(&param.flag)
                .into_iter()
                .flatten()
                .collect()
        } else {
            Vec::new()
        };
        if !given && required {
            problems.push(format!("--{} is required for {}", param.flag, model.title));
        }
        let mut values = Vec::new();
        let mut readable = given;
        for (index, raw) in raw.into_iter().enumerate() {
            let value = match &param.kind {
                Kind::Image => match ImageRef::parse(&param.flag, raw) {
                    Ok(ImageRef::Asset(id)) => Ok(Value::from(id)),
                    Ok(ImageRef::File(path)) => {
                        let pointer = if param.repeated {
                            format!("/{}/{index}", param.json_name)
                        } else {
                            format!("/{}", param.json_name)
                        };
                        uploads.push((pointer, path));
                        // A stand-in until the upload gives the asset id; it validates like one.
                        Ok(Value::from(format!("asset_to_upload_{index}")))
                    }
                    Err(error) => Err(error.to_string()),
                },
                _ => param.value(raw),
            };
            match value {
                Ok(value) => values.push(value),
                Err(problem) if param.repeated => {
                    problems.push(problem);
                    values.push(param.stand_in_item());
                    flagged.insert(format!("{}[{index}]", param.json_name));
                }
                Err(problem) => {
                    problems.push(problem);
                    readable = false;
                }
            }
        }
        if readable {
            let value = if param.repeated {
                Value::Array(values)
            } else {
                values.into_iter().next().unwrap_or(Value::Null)
            };
            body.insert(param.json_name.clone(), value);
        } else if given || required {
            flagged.insert(param.json_name.clone());
            if required {
                body.insert(param.json_name.clone(), param.stand_in());
            }
        }
    }
    RawRequest {
        body,
        uploads,
        problems,
        flagged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_list_their_values_for_help_and_completions_but_take_any_text() {
        let command = clap::Command::new("generate").args(args(&params()));
        let duration = command
            .get_arguments()
            .find(|arg| arg.get_id() == "duration")
            .unwrap();
        let listed: Vec<String> = duration
            .get_possible_values()
            .iter()
            .map(|value| value.get_name().to_owned())
            .collect();
        assert_eq!(listed, ["5", "10"]);
        // clap lets a bad value through, for `request` to report with the others.
        let matches = command
            .try_get_matches_from(["generate", "--duration", "7", "--cfg-scale", "lots"])
            .unwrap();
        let model = kling_types::find_model("model_kling-v1-6-pro").unwrap();
        let request = request(model, &params(), &matches);
        assert_eq!(
            request.problems,
            [
                "--prompt is required for Kling 1.6 Pro",
                "--cfg-scale is lots but must be a number",
                "--duration is 7 but must be one of 5, 10",
            ]
        );
        assert_eq!(
            request.flagged.into_iter().collect::<Vec<_>>(),
            ["cfgScale", "duration", "prompt"]
        );
        // The required prompt is stood in for, so the rest can still be validated.
        assert_eq!(request.body.keys().collect::<Vec<_>>(), ["prompt"]);
    }

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
