//! `kling generate`'s model flags, built from the model's parameter table
//! (`ModelInfo::params`, generated from its schema), and the conversion of the parsed
//! flags into the model's JSON request. A new model in `schema/` gets its flags with no
//! code here.
//!
//! Each flag's value is read once, by its clap value parser ([`Reader`]), into a
//! [`Read`]; a value that does not fit is not clap's to refuse: [`request`] reports it
//! with every other problem of the request, by flag. The flags of the other models are
//! accepted too, hidden, so that [`request`] can say which model has them.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Arg, ArgAction, ArgMatches};
use kling_types::__private::wording;
use kling_types::{ChoiceValue, FileKind, Literal, ModelInfo, Param, ParamKind, RequiredWhen};
use serde_json::{Map, Value};

/// An image given on the command line: a file to upload, or an asset id.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ImageRef {
    File(PathBuf),
    Asset(String),
}

impl ImageRef {
    /// The value `raw` of an asset parameter (named `label` in messages: `--start-image`
    /// on the command line, `startImage` in a batch line): a local file of `kind`, or an
    /// asset id. A relative path is read from `base` (the batch file's folder), or from
    /// the working directory when `None`. A file is checked before anything is uploaded
    /// or paid for: not empty, within the parameter's size limit, and of a type the API
    /// takes for `kind` (by its first bytes, as the upload will declare it). The one
    /// reading of "asset id or file" for `kling generate` and `kling batch`.
    pub(crate) fn resolve(
        label: &str,
        raw: &str,
        param: &Param,
        kind: FileKind,
        base: Option<&Path>,
    ) -> Result<Self, String> {
        let path = match base {
            Some(base) => base.join(raw),
            None => PathBuf::from(raw),
        };
        let noun = file_noun(kind);
        match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => {
                check_file(label, raw, &path, metadata.len(), param, kind)?;
                Ok(Self::File(path))
            }
            Ok(_) => Err(format!("{label} {raw}: that is a folder, not {noun} file")),
            Err(_) if raw.starts_with("asset_") => Ok(Self::Asset(raw.to_owned())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let place = base.map_or_else(String::new, |base| {
                    format!(" in {} (the batch file's folder)", base.display())
                });
                Err(format!(
                    "{label} {raw}: no such file{place}, and not an asset id (asset_…): give a local {} or an asset id",
                    kind_word(kind)
                ))
            }
            Err(error) => Err(format!(
                "{label} {raw}: cannot read {}: {error}",
                path.display()
            )),
        }
    }
}

/// A local file for `param` is one the upload will take: not empty, within the
/// parameter's size limit, and of a type the API takes for `kind`.
fn check_file(
    label: &str,
    raw: &str,
    path: &Path,
    size: u64,
    param: &Param,
    kind: FileKind,
) -> Result<(), String> {
    if size == 0 {
        return Err(format!("{label} {raw}: the file is empty"));
    }
    if let Some(max) = param.file_limits.max_size.filter(|max| size > *max) {
        return Err(format!(
            "{label} {raw} is {size} bytes but may be at most {max}"
        ));
    }
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|file| std::io::Read::read_to_end(&mut std::io::Read::take(file, 512), &mut head))
        .map_err(|error| format!("{label} {raw}: cannot read {}: {error}", path.display()))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    if kling_client::sniff_file_type(&head, kind, &name).is_none() {
        return Err(match kind {
            FileKind::Image => format!(
                "{label} {raw}: not an image the API accepts ({})",
                kling_client::IMAGE_FORMATS
            ),
            _ => format!(
                "{label} {raw}: not {} file the API accepts (by its first bytes and its name)",
                file_noun(kind)
            ),
        });
    }
    Ok(())
}

/// The kind of file in words: `image`, `video`, `3d model`.
pub(crate) fn kind_word(kind: FileKind) -> &'static str {
    match kind {
        FileKind::ThreeD => "3d model",
        FileKind::ImageHdr => "HDR image",
        FileKind::Audio => "sound",
        FileKind::Json => "JSON",
        kind => kind.name(),
    }
}

/// `an image`, `a video`, `a 3d model`.
fn file_noun(kind: FileKind) -> String {
    let word = kind_word(kind);
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u', 'H']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

/// One value of a model flag, as its value parser read it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Read {
    /// The JSON value of the parameter (or of one item of a list).
    Value(Value),
    /// A local file of this kind to upload; the asset id it gets is the value.
    Upload(PathBuf, FileKind),
    /// What is wrong with the value, worded in full (`--duration is 7 but must be one of 5, 10`).
    Bad(String),
    /// The JSON array of a list of objects (`--shots '[{"prompt": "…"}]'`): its value, with
    /// a stand-in asset id where an item names a local file; those files to upload (their
    /// JSON pointer under the parameter, `/0/startImage`); what does not fit the items'
    /// fields, worded in full (`--shots[1].seconds is "5" but must be one of -1, 5, 10`).
    Objects {
        value: Value,
        uploads: Vec<(String, PathBuf, FileKind)>,
        problems: Vec<String>,
    },
}

/// A problem of the request and where `--help` lists the flag it is about (problems are
/// shown in that order).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Problem {
    pub(crate) rank: usize,
    pub(crate) text: String,
}

/// A request read from the command line: the JSON body, with the images to upload
/// first (their JSON pointer in the body, and the file), and the problems found in the
/// flags themselves.
#[derive(Debug)]
pub(crate) struct RawRequest {
    pub(crate) body: Map<String, Value>,
    pub(crate) uploads: Vec<(String, PathBuf, FileKind)>,
    pub(crate) problems: Vec<Problem>,
    /// The parameters (JSON names, or `name[index]` for an item of a repeated flag) those
    /// problems are about: what the model's validation says of them is not shown again (it
    /// would be about a stand-in, or a left-out value).
    pub(crate) flagged: BTreeSet<String>,
}

/// The value parser of a model flag: reads each value into a [`Read`], and lists the
/// allowed values of a choice (or `true`, `false`) for `--help` and shell completions.
#[derive(Clone, Debug)]
struct Reader(&'static Param);

impl TypedValueParser for Reader {
    type Value = Read;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<Read, clap::Error> {
        let raw = clap::builder::StringValueParser::new().parse_ref(command, arg, value)?;
        Ok(read(self.0, &raw))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        match self.0.value_kind() {
            ParamKind::Choice(choices) => Some(Box::new(
                choices
                    .iter()
                    .map(|choice| PossibleValue::new(choice.text())),
            )),
            ParamKind::Boolean => Some(Box::new(
                ["true", "false"].into_iter().map(PossibleValue::new),
            )),
            _ => None,
        }
    }
}

/// A value as a message shows it: as written, quoted when empty or spaced.
fn shown(raw: &str) -> String {
    if raw.is_empty() || raw.contains(char::is_whitespace) {
        format!("{raw:?}")
    } else {
        raw.to_owned()
    }
}

/// Whether the parameter is a list of objects, given as one flag's JSON array.
pub(crate) fn is_objects(param: &Param) -> bool {
    !param.fields().is_empty()
}

/// One raw value of `param`'s flag (one item, for a list), read by the parameter's kind.
fn read(param: &Param, raw: &str) -> Read {
    if is_objects(param) {
        return read_objects(param, raw);
    }
    let flag = param.flag;
    let must_be = |what: &str| Read::Bad(format!("--{flag} is {} but must be {what}", shown(raw)));
    match param.value_kind() {
        ParamKind::Integer(_) => raw.parse::<i64>().map_or_else(
            |_| must_be("an integer"),
            |number| Read::Value(number.into()),
        ),
        // `nan` and `inf` parse, but JSON has no such numbers.
        ParamKind::Number(_) => match raw.parse::<f64>() {
            Ok(number) if number.is_finite() => Read::Value(number.into()),
            Ok(_) => must_be("a finite number"),
            Err(_) => must_be("a number"),
        },
        ParamKind::Boolean => raw.parse::<bool>().map_or_else(
            |_| must_be("true or false"),
            |value| Read::Value(value.into()),
        ),
        ParamKind::Choice(choices) => choices
            .iter()
            .find(|choice| choice.text() == raw)
            .map_or_else(
                || {
                    let allowed: Vec<String> = choices.iter().map(|choice| choice.text()).collect();
                    must_be(&format!("one of {}", allowed.join(", ")))
                },
                |choice| Read::Value(choice_json(choice.value)),
            ),
        ParamKind::Asset(kind) => read_asset(param, flag, raw, *kind),
        _ => Read::Value(raw.into()),
    }
}

/// A file of `kind` to upload, or an asset id, for `param` (named `--{flag}` in messages).
fn read_asset(param: &Param, flag: &str, raw: &str, kind: FileKind) -> Read {
    match ImageRef::resolve(&format!("--{flag}"), raw, param, kind, None) {
        Ok(ImageRef::Asset(id)) => Read::Value(id.into()),
        Ok(ImageRef::File(path)) => Read::Upload(path, kind),
        Err(text) => Read::Bad(text),
    }
}

/// The JSON array of a list of objects: each item's fields read by their kinds (local
/// files of asset fields to upload, as asset flags are), every misfit listed. The bounds
/// are the model's validation's to check, with the rest of the request.
fn read_objects(param: &Param, raw: &str) -> Read {
    let flag = param.flag;
    let items = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Array(items)) => items,
        Ok(_) | Err(_) => {
            return Read::Bad(format!(
                "--{flag} is {raw} but must be a JSON array of objects, e.g. '{}'",
                example(param)
            ));
        }
    };
    let mut uploads = Vec::new();
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let at = format!("{flag}[{index}]");
        let Value::Object(item) = item else {
            problems.push(format!("--{at} is {item} but must be an object"));
            continue;
        };
        let fields = param.fields();
        for missing in fields
            .iter()
            .filter(|field| field.required && !item.contains_key(field.json_name))
        {
            problems.push(format!("--{at}.{} is required", missing.json_name));
        }
        let mut object = Map::new();
        for (key, value) in item {
            let Some(field) = fields.iter().find(|field| field.json_name == key) else {
                let names: Vec<&str> = fields.iter().map(|field| field.json_name).collect();
                problems.push(format!(
                    "--{at} has no field `{key}`: its fields are {}",
                    names.join(", ")
                ));
                continue;
            };
            match read_field(field, &value, &format!("{at}.{key}")) {
                Ok((value, files)) => {
                    for (suffix, path, kind) in files {
                        uploads.push((format!("/{index}/{key}{suffix}"), path, kind));
                    }
                    object.insert(key, value);
                }
                Err(text) => problems.push(text),
            }
        }
        values.push(Value::Object(object));
    }
    Read::Objects {
        value: Value::Array(values),
        uploads,
        problems,
    }
}

/// An item's JSON as the help shows it: its required fields with a value of their kind.
fn example(param: &Param) -> String {
    let fields: Vec<String> = param
        .fields()
        .iter()
        .filter(|field| field.required)
        .map(|field| format!("\"{}\": {}", field.json_name, stand_in(field)))
        .collect();
    format!("[{{{}}}]", fields.join(", "))
}

/// A local file to upload at a JSON pointer (under the field's value: `""`, `/2`).
type FieldUpload = (String, PathBuf, FileKind);

/// One field of an item (named `at` in messages: `shots[1].seconds`), read by its kind.
fn read_field(field: &Param, value: &Value, at: &str) -> Result<(Value, Vec<FieldUpload>), String> {
    let ParamKind::List { items, .. } = &field.kind else {
        return read_item_value(field, &field.kind, value, at, "");
    };
    let Value::Array(values) = value else {
        return Err(format!("--{at} is {value} but must be a list"));
    };
    let mut read = Vec::new();
    let mut uploads = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let (value, files) = read_item_value(
            field,
            items,
            value,
            &format!("{at}[{index}]"),
            &format!("/{index}"),
        )?;
        read.push(value);
        uploads.extend(files);
    }
    Ok((Value::Array(read), uploads))
}

/// One JSON value of an item's field, of `kind`; a local file of an asset field is a
/// stand-in id until it is uploaded (to `pointer`, under the field).
fn read_item_value(
    field: &Param,
    kind: &ParamKind,
    value: &Value,
    at: &str,
    pointer: &str,
) -> Result<(Value, Vec<FieldUpload>), String> {
    let must_be = |what: &str| Err(format!("--{at} is {value} but must be {what}"));
    let fits = match kind {
        ParamKind::Text(_) | ParamKind::JobId | ParamKind::ModelId => value.is_string(),
        ParamKind::Integer(_) => value.as_f64().is_some_and(|number| number.fract() == 0.0),
        ParamKind::Number(_) => value.is_number(),
        ParamKind::Boolean => value.is_boolean(),
        ParamKind::Choice(choices) => {
            let member = choices.iter().find(|choice| {
                let json = choice_json(choice.value);
                json == *value || (json.is_number() && json.as_f64() == value.as_f64())
            });
            if member.is_none() {
                let allowed: Vec<String> = choices.iter().map(|choice| choice.text()).collect();
                return must_be(&format!("one of {}", allowed.join(", ")));
            }
            true
        }
        ParamKind::Asset(file) => {
            let Some(raw) = value.as_str() else {
                return must_be(&format!("a local {} file or an asset id", kind_word(*file)));
            };
            return match read_asset(field, at, raw, *file) {
                Read::Upload(path, file) => Ok((
                    Value::from(format!(
                        "asset_to_upload_{}",
                        at.replace(['[', ']', '.'], "_")
                    )),
                    vec![(pointer.to_owned(), path, file)],
                )),
                Read::Bad(text) => Err(text),
                _ => Ok((value.clone(), Vec::new())),
            };
        }
        _ => true,
    };
    if fits {
        Ok((value.clone(), Vec::new()))
    } else {
        must_be(match kind {
            ParamKind::Integer(_) => "an integer",
            ParamKind::Number(_) => "a number",
            ParamKind::Boolean => "true or false",
            _ => "text",
        })
    }
}

fn choice_json(value: ChoiceValue) -> Value {
    match value {
        ChoiceValue::Text(text) => text.into(),
        ChoiceValue::Integer(number) => number.into(),
        ChoiceValue::Number(number) => number.into(),
        // A kind of value this version does not know: its text.
        other => other.to_string().into(),
    }
}

/// The clap arguments of `model`'s flags, then, hidden, those of the other `models`
/// that `model` lacks (so that [`request`] can refuse them naming their model).
pub(crate) fn args(model: Option<&'static ModelInfo>, models: &'static [ModelInfo]) -> Vec<Arg> {
    let own = model.map_or(&[][..], |model| model.params);
    let mut args: Vec<Arg> = model
        .iter()
        .flat_map(|model| model.params.iter().map(|param| arg(model, param)))
        .collect();
    let mut known: BTreeSet<&str> = own.iter().map(|param| param.flag).collect();
    for param in models.iter().flat_map(|other| other.params) {
        if known.insert(param.flag) {
            args.push(
                Arg::new(param.flag)
                    .long(param.flag)
                    .hide(true)
                    .num_args(0..=1)
                    .allow_negative_numbers(true)
                    .action(ArgAction::Append),
            );
        }
    }
    args
}

fn arg(model: &ModelInfo, param: &'static Param) -> Arg {
    let value_name = match param.value_kind() {
        ParamKind::Object(_) => "JSON",
        ParamKind::Asset(_) => "FILE|ASSET_ID",
        ParamKind::ModelId => "MODEL_ID",
        ParamKind::Integer(_) => "INTEGER",
        ParamKind::Number(_) => "NUMBER",
        ParamKind::Boolean => "true|false",
        ParamKind::Choice(_) => "VALUE",
        _ => "TEXT",
    };
    let arg = Arg::new(param.flag)
        .long(param.flag)
        .help(help(model, param))
        .help_heading("Model parameters")
        .value_name(value_name)
        .value_parser(Reader(param));
    let arg = match param.value_kind() {
        // `--seed -1` is a value to check, not an unknown flag.
        ParamKind::Integer(_) | ParamKind::Number(_) => arg.allow_negative_numbers(true),
        ParamKind::Boolean => arg.num_args(0..=1).default_missing_value("true"),
        // Shells complete file names for files (an asset id is typed).
        ParamKind::Asset(_) => arg.value_hint(clap::ValueHint::FilePath),
        _ => arg,
    };
    if param.is_list() && !is_objects(param) {
        arg.action(ArgAction::Append)
    } else {
        arg.action(ArgAction::Set)
    }
}

/// A flag's help: the parameter's description, then what it takes and its rules, in the
/// wording of kling-types (`between 0 and 1`).
fn help(model: &ModelInfo, param: &Param) -> String {
    let mut first = param.description.trim_end_matches('.').to_owned();
    if let Some(limits) = value_limits(param) {
        let limits = if param.is_list() {
            format!("each {limits}")
        } else {
            limits
        };
        first = if first.is_empty() {
            capitalized(&limits)
        } else {
            format!("{first}, {limits}")
        };
    }
    let mut sentences: Vec<String> = Vec::from_iter((!first.is_empty()).then_some(first));
    if let ParamKind::Asset(kind) = param.value_kind() {
        sentences.push(format!(
            "A local {} file (uploaded first) or an asset id",
            kind_word(*kind)
        ));
        if let Some(limits) = file_limits(param) {
            sentences.push(capitalized(&limits));
        }
    }
    if !param.model_types.is_empty() {
        sentences.push(format!("A model of type {}", param.model_types.join(", ")));
    }
    if let Some(pattern) = param.pattern {
        sentences.push(format!("Matches {pattern}"));
    }
    if is_objects(param) {
        sentences.push(capitalized(&describe_kind(param)));
        let fields: Vec<String> = param.fields().iter().map(describe_field).collect();
        sentences.push(format!("Each item: {}", fields.join("; ")));
    } else if let ParamKind::List { count, .. } = &param.kind {
        let limit = count
            .max
            .map(|max| format!(", up to {max} times"))
            .unwrap_or_default();
        sentences.push(format!("Repeat the flag for several{limit}"));
    }
    for rule in param.ignored_when {
        sentences.push(format!(
            "Ignored with {}: {}",
            flag_of(model, rule.other),
            rule.reason
        ));
    }
    if !param.needs.is_empty() {
        let needs: Vec<String> = param
            .needs
            .iter()
            .map(|need| flag_of(model, need))
            .collect();
        sentences.push(format!("Needs {}", needs.join(" and ")));
    }
    for rule in param.required_when {
        sentences.push(required_when(model, rule));
    }
    let mut help = sentences.join(". ");
    if !help.is_empty() {
        help.push('.');
    }
    if param.required {
        help = format!("(required) {help}").trim_end().to_owned();
    }
    if let Some(default) = default_text(param) {
        help = format!("{help} [default: {default}]")
            .trim_start()
            .to_owned();
    }
    help
}

/// One value of `param` in words, as a noun (`integer`, `one of 5, 10`, `an image file
/// or asset id`) and, for text and numbers, its limits (`between 0 and 2`) apart: a list
/// says them of each item.
fn describe_value(param: &Param) -> (String, Option<String>) {
    let noun = match param.value_kind() {
        ParamKind::Choice(choices) => {
            let values: Vec<String> = choices.iter().map(|choice| choice.text()).collect();
            format!("one of {}", values.join(", "))
        }
        ParamKind::Asset(FileKind::Image) => "an image file or asset id".to_owned(),
        ParamKind::Asset(kind) => format!("a {} file or asset id", kind_word(*kind)),
        ParamKind::JobId => "a job id".to_owned(),
        ParamKind::ModelId => "a model id".to_owned(),
        ParamKind::Boolean => "true or false".to_owned(),
        ParamKind::Object(_) => "a JSON array of objects".to_owned(),
        ParamKind::Integer(_) => return ("integer".to_owned(), value_limits(param)),
        ParamKind::Number(_) => return ("number".to_owned(), value_limits(param)),
        _ => return ("text".to_owned(), value_limits(param)),
    };
    (noun, None)
}

/// What a parameter (or an item's field) takes, in words: `number, between 0 and 1`,
/// `one of 5, 10`, `a JSON array of objects, 1 to 6 items`, …
pub(crate) fn describe_kind(param: &Param) -> String {
    let single = match describe_value(param) {
        (noun, Some(limits)) => format!("{noun}, {limits}"),
        (noun, None) => noun,
    };
    match &param.kind {
        ParamKind::List { count, .. } if is_objects(param) => match count.describe("item") {
            limit if limit.is_empty() => single,
            limit => format!("{single}, {limit}"),
        },
        ParamKind::List { count, .. } => {
            let limit = match count.describe("time") {
                limit if limit.is_empty() => String::new(),
                limit => format!(", {limit}"),
            };
            format!("{single} (repeat the flag{limit})")
        }
        _ => single,
    }
}

/// A field of an item in words, for help texts: `seconds (required): one of -1, 5, 10`,
/// with its default, file limits and model types.
pub(crate) fn describe_field(field: &Param) -> String {
    let required = if field.required { " (required)" } else { "" };
    let mut text = format!("{}{required}: ", field.json_name);
    match &field.kind {
        // A list inside an item is a JSON list, not a repeated flag.
        ParamKind::List { count, .. } => {
            let mut one = *field;
            one.kind = *field.value_kind();
            // `a list of numbers, each between 0 and 2`; `a list, each one of a, b`.
            let list = match describe_value(&one) {
                (noun, limits) if matches!(noun.as_str(), "text" | "integer" | "number") => {
                    let each = limits.map(|limits| format!(", each {limits}"));
                    format!("a list of {noun}s{}", each.unwrap_or_default())
                }
                _ => format!("a list, each {}", describe_kind(&one)),
            };
            text.push_str(&list);
            let count = count.describe("item");
            if !count.is_empty() {
                text.push_str(&format!(" ({count})"));
            }
        }
        _ => text.push_str(&describe_kind(field)),
    }
    if let Some(limits) = file_limits(field) {
        text.push_str(&format!(", {limits}"));
    }
    if !field.model_types.is_empty() {
        text.push_str(&format!(", of type {}", field.model_types.join(", ")));
    }
    if let Some(default) = default_text(field) {
        text.push_str(&format!(", default {default}"));
    }
    text
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The flag of `model`'s parameter `json_name` (the name itself when it has none).
pub(crate) fn flag_of(model: &ModelInfo, json_name: &str) -> String {
    model
        .param(json_name)
        .map_or_else(|| json_name.to_owned(), |param| format!("--{}", param.flag))
}

/// The limits of a value in words (`between 0 and 1`, `1 to 2500 characters`).
pub(crate) fn limits(kind: &ParamKind) -> Option<String> {
    match kind {
        ParamKind::Text(length) if length.is_limited() => Some(length.describe("character")),
        ParamKind::Integer(bounds) | ParamKind::Number(bounds) if bounds.is_limited() => {
            Some(bounds.to_string())
        }
        _ => None,
    }
}

/// [`limits`] with the step of a number (`between 0 and 1, in steps of 0.05`).
pub(crate) fn value_limits(param: &Param) -> Option<String> {
    let range = limits(param.value_kind());
    let step = param.multiple_of.map(wording::steps);
    match (range, step) {
        (Some(range), Some(step)) => Some(format!("{range}, {step}")),
        (range, step) => range.or(step),
    }
}

/// The limits of an asset's file in words (`at most 10485760 bytes, 1 to 30.5 s long`).
pub(crate) fn file_limits(param: &Param) -> Option<String> {
    let limits = param.file_limits;
    wording::file(limits.max_size, limits.min_duration, limits.max_duration)
}

/// "Required without --style-image", "Required when --mode is lipsync".
pub(crate) fn required_when(model: &ModelInfo, rule: &RequiredWhen) -> String {
    match rule {
        RequiredWhen::Absent { other } => format!("Required without {}", flag_of(model, other)),
        RequiredWhen::Values(conditions) => {
            let parts: Vec<String> = conditions
                .iter()
                .map(|condition| {
                    let values: Vec<String> = condition
                        .values
                        .iter()
                        .map(|text| {
                            serde_json::from_str::<Value>(text)
                                .ok()
                                .and_then(|value| value.as_str().map(str::to_owned))
                                .unwrap_or_else(|| (*text).to_owned())
                        })
                        .collect();
                    let flag = flag_of(model, condition.field);
                    match values.as_slice() {
                        [one] => format!("{flag} is {one}"),
                        _ => format!("{flag} is {}", values.join(" or ")),
                    }
                })
                .collect();
            format!("Required when {}", parts.join(" and "))
        }
    }
}

/// The default as the command line writes it (`16:9`, `0.5`, `""`).
pub(crate) fn default_text(param: &Param) -> Option<String> {
    Some(match param.default? {
        Literal::Text("") => "\"\"".to_owned(),
        Literal::Text(text) => text.to_owned(),
        Literal::Integer(number) => number.to_string(),
        Literal::Number(number) => number.to_string(),
        Literal::Boolean(value) => value.to_string(),
        Literal::Choice(index) => match param.value_kind() {
            ParamKind::Choice(choices) => choices.get(index)?.text(),
            _ => return None,
        },
        Literal::List(json) => json.to_owned(),
        _ => return None,
    })
}

/// A value of the right type that stands in for a required parameter that is missing
/// or unreadable, so that the model's validation still checks every other parameter.
/// Nothing it says about the stand-in is shown, and a request with one is never sent.
fn stand_in(param: &Param) -> Value {
    if param.is_list() {
        Value::Array(Vec::new())
    } else {
        stand_in_item(param)
    }
}

/// A stand-in for one value (also one item of a repeated flag, so that the count of
/// items is still checked).
fn stand_in_item(param: &Param) -> Value {
    match param.value_kind() {
        ParamKind::Integer(_) => Value::from(0),
        ParamKind::Number(_) => Value::from(0.0),
        ParamKind::Boolean => Value::from(false),
        ParamKind::Choice(choices) => choices
            .first()
            .map_or(Value::Null, |choice| choice_json(choice.value)),
        ParamKind::Asset(_) => Value::from("asset_stand_in"),
        ParamKind::JobId => Value::from("job_stand_in"),
        ParamKind::ModelId => Value::from("model_stand_in"),
        _ => Value::from("stand-in"),
    }
}

fn given(matches: &ArgMatches, flag: &str) -> bool {
    matches.value_source(flag) == Some(clap::parser::ValueSource::CommandLine)
}

/// The JSON request for `model` from the flags given; images are checked (a file that
/// exists, or an asset id) and listed for upload. Every problem found here is listed, by
/// flag; a parameter with a problem is left out of the body, or stood in for when the
/// model requires it (see [`stand_in`]). A flag of another of `models` is refused, naming
/// the model that has it.
pub(crate) fn request(model: &ModelInfo, models: &[ModelInfo], matches: &ArgMatches) -> RawRequest {
    let mut request = RawRequest {
        body: Map::new(),
        uploads: Vec::new(),
        problems: Vec::new(),
        flagged: BTreeSet::new(),
    };
    for (rank, param) in model.params.iter().enumerate() {
        let problem = |text: String| Problem { rank, text };
        let reads: Vec<&Read> = if given(matches, param.flag) {
            matches
                .get_many::<Read>(param.flag)
                .into_iter()
                .flatten()
                .collect()
        } else {
            if param.required {
                request.problems.push(problem(format!(
                    "--{} is required for {}",
                    param.flag, model.title
                )));
                request.flagged.insert(param.json_name.to_owned());
                request
                    .body
                    .insert(param.json_name.to_owned(), stand_in(param));
            }
            continue;
        };
        let mut values = Vec::new();
        let mut readable = true;
        for (index, read) in reads.into_iter().enumerate() {
            match read {
                Read::Value(value) => values.push(value.clone()),
                Read::Upload(path, kind) => {
                    let pointer = if param.is_list() {
                        format!("/{}/{index}", param.json_name)
                    } else {
                        format!("/{}", param.json_name)
                    };
                    request.uploads.push((pointer, path.clone(), *kind));
                    // A stand-in until the upload gives the asset id; it validates like one.
                    values.push(Value::from(format!("asset_to_upload_{index}")));
                }
                Read::Bad(text) if param.is_list() => {
                    request.problems.push(problem(text.clone()));
                    values.push(stand_in_item(param));
                    request
                        .flagged
                        .insert(format!("{}[{index}]", param.json_name));
                }
                Read::Bad(text) => {
                    request.problems.push(problem(text.clone()));
                    readable = false;
                }
                Read::Objects {
                    value,
                    uploads,
                    problems,
                } => {
                    request
                        .problems
                        .extend(problems.iter().map(|text| problem(text.clone())));
                    readable = problems.is_empty();
                    for (pointer, path, kind) in uploads {
                        let pointer = format!("/{}{pointer}", param.json_name);
                        request.uploads.push((pointer, path.clone(), *kind));
                    }
                    values.push(value.clone());
                }
            }
        }
        if readable {
            let value = if param.is_list() && !is_objects(param) {
                Value::Array(values)
            } else {
                values.into_iter().next().unwrap_or(Value::Null)
            };
            request.body.insert(param.json_name.to_owned(), value);
        } else {
            request.flagged.insert(param.json_name.to_owned());
            if param.required {
                request
                    .body
                    .insert(param.json_name.to_owned(), stand_in(param));
            }
        }
    }
    refuse_other_models_flags(model, models, matches, &mut request.problems);
    request
}

/// A flag given that `model` lacks but another model has: refused, naming that model.
fn refuse_other_models_flags(
    model: &ModelInfo,
    models: &[ModelInfo],
    matches: &ArgMatches,
    problems: &mut Vec<Problem>,
) {
    let mut refused = BTreeSet::new();
    for other in models.iter().filter(|other| other.id != model.id) {
        for param in other.params {
            if model.params.iter().any(|own| own.flag == param.flag)
                || !given(matches, param.flag)
                || !refused.insert(param.flag)
            {
                continue;
            }
            problems.push(Problem {
                rank: model.params.len(),
                text: format!(
                    "--{} is not a parameter of {} but of {} (`kling generate --model {}`)",
                    param.flag, model.title, other.title, other.id
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kling() -> &'static ModelInfo {
        kling_types::find_model("model_kling-v1-6-pro").unwrap()
    }

    fn command(model: &'static ModelInfo, models: &'static [ModelInfo]) -> clap::Command {
        clap::Command::new("generate").args(args(Some(model), models))
    }

    #[test]
    fn choices_list_their_values_for_help_and_completions_but_take_any_text() {
        let command = command(kling(), kling_types::MODELS);
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
        let request = request(kling(), kling_types::MODELS, &matches);
        let problems: Vec<&str> = request
            .problems
            .iter()
            .map(|problem| problem.text.as_str())
            .collect();
        assert_eq!(
            problems,
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
    fn flags_come_from_the_table_in_the_schemas_order() {
        let flags: Vec<&str> = kling().params.iter().map(|param| param.flag).collect();
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

    fn storyboard() -> &'static ModelInfo {
        crate::fixture_models::MODELS
            .iter()
            .find(|model| model.id == "model_corpus-storyboard")
            .unwrap()
    }

    fn problems(request: &RawRequest) -> Vec<&str> {
        request
            .problems
            .iter()
            .map(|problem| problem.text.as_str())
            .collect()
    }

    #[test]
    fn a_list_of_objects_is_one_json_flag_whose_local_files_are_uploaded() {
        let scratch = crate::scratch::Scratch::new("objects");
        let image = scratch.0.join("first.png");
        std::fs::write(&image, b"\x89PNG\r\n\x1a\n a picture").unwrap();
        let shots = serde_json::json!([
            {"prompt": "a cat", "seconds": 5, "startImage": image.to_str().unwrap(), "tags": ["x"]},
            {"prompt": "a dog", "seconds": -1.0, "startImage": "asset_1", "camera": "pan"},
        ])
        .to_string();
        let matches = command(storyboard(), crate::fixture_models::MODELS)
            .try_get_matches_from(["generate", "--shots", shots.as_str()])
            .unwrap();
        let request = request(storyboard(), crate::fixture_models::MODELS, &matches);
        assert_eq!(problems(&request), Vec::<&str>::new());
        assert_eq!(
            request.uploads,
            [("/shots/0/startImage".to_owned(), image, FileKind::Image)]
        );
        // A stand-in until the upload gives the asset id; the rest is sent as given.
        assert_eq!(
            request.body["shots"][0]["startImage"],
            "asset_to_upload_shots_0__startImage"
        );
        assert_eq!(request.body["shots"][1]["startImage"], "asset_1");
        assert_eq!(request.body["shots"][1]["camera"], "pan");
        let validation = (storyboard().validate_json)(Value::Object(request.body)).unwrap();
        assert!(validation.is_valid(), "{:?}", validation.problems());
    }

    #[test]
    fn each_misfit_of_a_list_of_objects_is_named_by_its_item_path() {
        let shots = r#"[{"prompt": "a cat", "seconds": "5", "camera": "tilt", "startImage": "nowhere.png", "lens": 35}, {"seconds": 5, "tags": "x"}, 7]"#;
        let matches = command(storyboard(), crate::fixture_models::MODELS)
            .try_get_matches_from(["generate", "--shots", shots, "--shots-nope"])
            .err();
        // An unknown flag is clap's; the value of a known one is ours to read.
        assert!(matches.is_some());
        let matches = command(storyboard(), crate::fixture_models::MODELS)
            .try_get_matches_from(["generate", "--shots", shots])
            .unwrap();
        let read = request(storyboard(), crate::fixture_models::MODELS, &matches);
        assert_eq!(
            problems(&read),
            [
                "--shots[0].seconds is \"5\" but must be one of -1, 5, 10",
                "--shots[0].camera is \"tilt\" but must be one of static, pan, zoom",
                "--shots[0].startImage nowhere.png: no such file, and not an asset id (asset_…): give a local image or an asset id",
                "--shots[0] has no field `lens`: its fields are prompt, seconds, camera, motion, speed, frames, startImage, style, tags, weights, loop",
                "--shots[1].prompt is required",
                "--shots[1].tags is \"x\" but must be a list",
                "--shots[2] is 7 but must be an object",
            ]
        );
        // The required parameter is stood in for; what validation says of it is not shown.
        assert!(read.flagged.contains("shots"));
        assert_eq!(read.body["shots"], serde_json::json!([]));
        let matches = command(storyboard(), crate::fixture_models::MODELS)
            .try_get_matches_from(["generate", "--shots", "{\"prompt\": \"a\"}"])
            .unwrap();
        let refused = request(storyboard(), crate::fixture_models::MODELS, &matches);
        assert_eq!(
            problems(&refused),
            [
                r#"--shots is {"prompt": "a"} but must be a JSON array of objects, e.g. '[{"prompt": "stand-in", "seconds": -1}]'"#
            ]
        );
    }

    /// Any JSON, with keys that are often the storyboard's item fields.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON numbers are finite", |number| number.is_finite())
                .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 48, 5, |inner| {
            let key = prop_oneof![
                Just("prompt".to_owned()),
                Just("seconds".to_owned()),
                Just("startImage".to_owned()),
                Just("tags".to_owned()),
                Just("weights".to_owned()),
                ".{0,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(key, inner, 0..5)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(crate::fuzz::config())]

        /// Whatever a list of objects' flag is given, reading it does not panic: it gives
        /// the items, each misfit worded in full, or one problem with the whole value; a
        /// valid list is read exactly.
        #[test]
        fn fuzz_list_of_objects_flag(
            raw in proptest::prop_oneof![
                proptest::strategy::Strategy::prop_map(".{0,80}", |text: String| text),
                proptest::strategy::Strategy::prop_map(any_json(), |value| value.to_string()),
            ],
            prompt in "[a-z ]{1,20}",
            seconds in proptest::sample::select(vec![-1_i64, 5, 10]),
        ) {
            let shots = storyboard().param("shots").unwrap();
            match read(shots, &raw) {
                Read::Objects { value, problems, .. } => {
                    proptest::prop_assert!(value.is_array());
                    proptest::prop_assert!(problems.iter().all(|text| text.starts_with("--shots[")));
                }
                Read::Bad(text) => proptest::prop_assert!(text.starts_with("--shots is ")),
                other => proptest::prop_assert!(false, "{other:?}"),
            }
            let valid = serde_json::json!([{"prompt": prompt, "seconds": seconds, "tags": ["a"]}]);
            proptest::prop_assert_eq!(
                read(shots, &valid.to_string()),
                Read::Objects { value: valid, uploads: Vec::new(), problems: Vec::new() }
            );
        }
    }

    #[test]
    fn a_flag_of_another_model_is_refused_naming_the_model_that_has_it() {
        let models = crate::fixture_models::MODELS;
        let by_id = |id: &str| models.iter().find(|model| model.id == id).unwrap();
        let plain = by_id("model_fixture-plain");
        let motion = by_id("model_fixture-motion");
        let matches = command(plain, models)
            .try_get_matches_from(["generate", "--text", "a cat", "--fps", "30", "--loop"])
            .unwrap();
        let request = request(plain, models, &matches);
        let problems: Vec<&str> = request
            .problems
            .iter()
            .map(|problem| problem.text.as_str())
            .collect();
        assert_eq!(
            problems,
            [
                format!(
                    "--fps is not a parameter of {} but of {} (`kling generate --model {}`)",
                    plain.title, motion.title, motion.id
                ),
                format!(
                    "--loop is not a parameter of {} but of {} (`kling generate --model {}`)",
                    plain.title, motion.title, motion.id
                ),
            ]
        );
    }
}
