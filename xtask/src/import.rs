//! `cargo xtask import-model FILE`: turns Scenario's description of a model (the answer
//! of `GET /v1/models/{modelId}`, as `kling models schema ID` prints it) into a draft
//! schema of our dialect (`schema/README.md`), one property per entry of its `inputs`.
//!
//! Like the generator, the importer never drops a constraint silently: every input field
//! is either mapped, left out on purpose because it only shapes Scenario's web form
//! ([`UI_FIELDS`]), or refused with an [`ImportError`] that names the input, the field,
//! and what to do. The output is deterministic (no timestamp), so importing the same
//! description twice writes the same bytes.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value, json};

use crate::codegen::{self, SchemaError};

/// Input fields that shape Scenario's web form (or its price display) and say nothing
/// about which requests the API accepts: the importer leaves them out on purpose, after
/// using the two that make good documentation. `(field, what becomes of it)`.
///
/// The list comes from Scenario's model description (`label`, `description`, `hint`,
/// `placeholder`, `group` are "UI text"; `costImpact`, `prompt`, `parent` are "flags for
/// the UI and billing"). Anything not listed here, nor mapped, is refused.
pub const UI_FIELDS: &[(&str, &str)] = &[
    (
        "label",
        "becomes the property's `title` (unless it only repeats the name)",
    ),
    (
        "hint",
        "appended to the property's `description` as a second sentence",
    ),
    ("placeholder", "example text of the form field: left out"),
    ("group", "the form section the field is shown in: left out"),
    (
        "costImpact",
        "tells the form that the price depends on the field: left out",
    ),
    (
        "prompt",
        "marks the form field that holds the prompt: left out",
    ),
    ("parent", "nests the form field under another one: left out"),
];

/// Limits on file inputs that our dialect cannot check (an asset id says nothing of the
/// asset's duration or size): an input with one of them is refused.
const FILE_LIMITS: &[(&str, &str)] = &[
    ("minDuration", "the shortest media accepted"),
    ("maxDuration", "the longest media accepted"),
    ("maxSize", "the largest file accepted"),
];

/// The keywords of an imported property, in the order they are written (every keyword
/// the importer writes is listed).
const PROPERTY_ORDER: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "default",
];

/// Fields every input may carry, whatever its type.
const COMMON_FIELDS: &[&str] = &["name", "type", "required", "default", "description"];

/// Input types the importer refuses: `(type, why, what to do)`.
const REFUSED_TYPES: &[(&str, &str, &str)] = &[
    (
        "model",
        "a `model` input takes another model (a LoRA, a style), and the description does not say which models it accepts",
        "remove the input from the saved description, import again, and write its property by hand ({\"type\": \"string\", \"format\": \"model-id\"})",
    ),
    (
        "model_array",
        "a `model_array` input takes other models, and the description does not say which ones it accepts",
        "remove the input from the saved description, import again, and write its property by hand ({\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": \"model-id\"}})",
    ),
    (
        "inputs_array",
        "an `inputs_array` input is a list of nested objects, and a model's request in our dialect is one flat object",
        "remove the input from the saved description and import again; the model cannot be used with this parameter until the dialect has nested objects",
    ),
];

/// The command's usage, for `cargo xtask help` and usage errors.
pub const USAGE: &str = "cargo xtask import-model FILE [-o OUT] [--force]";

/// A model description the importer cannot turn into a schema of our dialect, with the
/// input and field at fault and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// The input at fault, by index in `inputs` and name (`None` when the model itself
    /// is at fault, or for an input without a name).
    pub input: Option<(usize, Option<String>)>,
    /// The field at fault (`allowedValues`), when one is.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.input {
            Some((index, Some(name))) => write!(f, "input `{name}` (inputs[{index}])")?,
            Some((index, None)) => write!(f, "inputs[{index}]")?,
            None => f.write_str("the model")?,
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}\n  help: {}", self.message, self.help)
    }
}

impl std::error::Error for ImportError {}

fn model_error(field: &str, message: impl Into<String>, help: impl Into<String>) -> ImportError {
    ImportError {
        input: None,
        field: Some(field.to_owned()),
        message: message.into(),
        help: help.into(),
    }
}

const HELP_SAVE: &str =
    "save the API's answer as it is: `kling models schema MODEL_ID > model.json`";
const HELP_EDIT: &str = "fix the description (or remove the input from it), import again, and write what is missing into the schema by hand";

/// Turns Scenario's description of a model into a draft-07 schema of our dialect.
///
/// `description` is the answer of `GET /v1/models/{modelId}` (`{"model": {…}}`) or the
/// bare model object. The schema has `x-model-id` (the model's `id`), `title` (`name`),
/// `description` (`shortDescription`), one property per input in the order of `inputs`,
/// `required` (`required: {"always": true}`) and `dependencies` (`required: {"ifDefined":
/// …}`), and a `$comment` naming where it came from. See the module docs and
/// `schema/README.md` for the dialect.
pub fn import(description: &Value) -> Result<Value, ImportError> {
    let model = match description.get("model") {
        Some(model @ Value::Object(_)) if description.get("inputs").is_none() => model,
        _ => description,
    };
    let model = model
        .as_object()
        .ok_or_else(|| model_error("model", "the description is not a JSON object", HELP_SAVE))?;
    let id = model_id(model)?;
    let text = |field: &str| -> Result<Option<String>, ImportError> {
        match model.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(model_error(
                field,
                format!("the model's `{field}` is not a string"),
                HELP_SAVE,
            )),
        }
    };
    let title = text("name")?;
    let summary = text("shortDescription")?;
    let inputs = model
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            model_error(
                "inputs",
                "the description has no `inputs` list: nothing says which parameters the model takes",
                HELP_SAVE,
            )
        })?;

    // Every input needs a name first: `required` rules name other inputs.
    let names = input_names(inputs)?;
    let (properties, required, dependencies) = parameters(inputs, &names)?;
    let mut schema = Map::new();
    schema.insert("$schema".to_owned(), json!(crate::codegen::DRAFT_07));
    schema.insert(
        "$comment".to_owned(),
        json!(format!(
            "Imported by `cargo xtask import-model` from Scenario's description of {id} (GET /v1/models/{id}). \
             Before committing: name the source of each constraint in a $comment, and add what the description cannot say \
             (x-enum-names, x-ignored-when-present, x-cli-flag)."
        )),
    );
    schema.insert("x-model-id".to_owned(), json!(id));
    if let Some(title) = title {
        schema.insert("title".to_owned(), json!(title));
    }
    if let Some(summary) = summary {
        schema.insert("description".to_owned(), json!(summary));
    }
    schema.insert("type".to_owned(), json!("object"));
    schema.insert("additionalProperties".to_owned(), json!(false));
    schema.insert("required".to_owned(), Value::Array(required));
    schema.insert("properties".to_owned(), Value::Object(properties));
    if !dependencies.is_empty() {
        schema.insert("dependencies".to_owned(), Value::Object(dependencies));
    }
    Ok(Value::Object(schema))
}

/// The model's id, which names its schema file.
fn model_id(model: &Map<String, Value>) -> Result<String, ImportError> {
    match model.get("id") {
        Some(Value::String(id)) if is_file_name(id) => Ok(id.clone()),
        Some(Value::String(id)) => Err(model_error(
            "id",
            format!("the model id `{id}` cannot name a file under schema/models/"),
            "a model id is made of letters, digits, `-`, `_` and `.` (`model_kling-v1-6-pro`): check that the file is a model description",
        )),
        _ => Err(model_error(
            "id",
            "the description has no model `id`",
            HELP_SAVE,
        )),
    }
}

/// The name of each input, in order: every input has one, and no two share it.
fn input_names(inputs: &[Value]) -> Result<Vec<&str>, ImportError> {
    let mut names: Vec<&str> = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let error = |name: Option<&str>, message: String| ImportError {
            input: Some((index, name.map(str::to_owned))),
            field: Some("name".to_owned()),
            message,
            help: HELP_EDIT.to_owned(),
        };
        if !input.is_object() {
            return Err(error(
                None,
                format!("the input is not a JSON object: {input}"),
            ));
        }
        let name = input
            .get("name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| error(None, "the input has no `name`".to_owned()))?;
        if names.contains(&name) {
            return Err(error(
                Some(name),
                format!("a second input is named `{name}`"),
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// A schema's `properties`, `required` and `dependencies`.
type Parameters = (Map<String, Value>, Vec<Value>, Map<String, Value>);

/// The schema's `properties`, `required` and `dependencies` from the inputs.
fn parameters(inputs: &[Value], names: &[&str]) -> Result<Parameters, ImportError> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut dependencies = Map::new();
    for (index, (input, name)) in inputs.iter().zip(names).enumerate() {
        let input = Input {
            index,
            name,
            // `null` is how a JSON API says "not set".
            fields: input
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.as_str(), value))
                .collect(),
        };
        let property = input.property()?;
        match input.requirement(names)? {
            Requirement::Always => required.push(json!(name)),
            Requirement::IfDefined(others) => {
                for other in others {
                    if let Value::Array(needs) = dependencies
                        .entry(other)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        needs.push(json!(name));
                    }
                }
            }
            Requirement::Optional => {}
        }
        properties.insert((*name).to_owned(), property);
    }
    Ok((properties, required, dependencies))
}

/// A name that is safe as a file name under `schema/models/`.
fn is_file_name(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The input types the dialect can say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InputType {
    Boolean,
    Number,
    String,
    File,
    FileArray,
    NumberArray,
    StringArray,
}

impl InputType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "boolean" => Self::Boolean,
            "number" => Self::Number,
            "string" => Self::String,
            "file" => Self::File,
            "file_array" => Self::FileArray,
            "number_array" => Self::NumberArray,
            "string_array" => Self::StringArray,
            _ => return None,
        })
    }

    /// The fields that mean something for this type, besides [`COMMON_FIELDS`].
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Boolean => &[],
            Self::Number => &["allowedValues", "min", "max", "step"],
            Self::String => &["allowedValues", "minLength", "maxLength"],
            Self::File => &["kind"],
            Self::FileArray => &["kind", "minLength", "maxLength"],
            Self::NumberArray => &[
                "allowedValues",
                "min",
                "max",
                "step",
                "minLength",
                "maxLength",
            ],
            Self::StringArray => &["allowedValues", "minLength", "maxLength"],
        }
    }

    const ALL: [Self; 7] = [
        Self::Boolean,
        Self::Number,
        Self::String,
        Self::File,
        Self::FileArray,
        Self::NumberArray,
        Self::StringArray,
    ];
}

/// When an input is required.
enum Requirement {
    Optional,
    Always,
    /// Required when any of these inputs is set.
    IfDefined(Vec<String>),
}

/// One entry of `inputs`, its `null` fields left out.
struct Input<'a> {
    index: usize,
    name: &'a str,
    fields: Vec<(&'a str, &'a Value)>,
}

impl Input<'_> {
    fn error(
        &self,
        field: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> ImportError {
        ImportError {
            input: Some((self.index, Some(self.name.to_owned()))),
            field: Some(field.to_owned()),
            message: message.into(),
            help: help.into(),
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(key, _)| *key == field)
            .map(|(_, value)| *value)
    }

    fn text(&self, field: &str) -> Result<Option<&str>, ImportError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.error(field, format!("`{field}` is not a string"), HELP_EDIT)),
        }
    }

    /// A non-negative whole number (`4`, or `4.0`).
    fn count(&self, field: &str) -> Result<Option<u64>, ImportError> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => integer(value)
                .and_then(|count| u64::try_from(count).ok())
                .map(Some)
                .ok_or_else(|| {
                    self.error(
                        field,
                        format!("`{field}` must be a count, got {value}"),
                        HELP_EDIT,
                    )
                }),
        }
    }

    fn number(&self, field: &str) -> Result<Option<f64>, ImportError> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => value.as_f64().map(Some).ok_or_else(|| {
                self.error(
                    field,
                    format!("`{field}` must be a number, got {value}"),
                    HELP_EDIT,
                )
            }),
        }
    }

    fn allowed_values(&self) -> Result<Option<&[Value]>, ImportError> {
        match self.get("allowedValues") {
            None => Ok(None),
            Some(Value::Array(values)) if !values.is_empty() => Ok(Some(values)),
            Some(_) => Err(self.error(
                "allowedValues",
                "`allowedValues` must be a non-empty list",
                HELP_EDIT,
            )),
        }
    }

    /// The input's type, after refusing the fields and types the dialect cannot say.
    fn input_type(&self) -> Result<InputType, ImportError> {
        let name = self.text("type")?.ok_or_else(|| {
            self.error(
                "type",
                "the input has no `type`",
                "Scenario gives every input a type; save the API's answer as it is",
            )
        })?;
        if let Some((_, why, help)) = REFUSED_TYPES.iter().find(|(refused, ..)| *refused == name) {
            return Err(self.error(
                "type",
                format!("`{name}` inputs are not imported: {why}"),
                *help,
            ));
        }
        let ty = InputType::parse(name).ok_or_else(|| {
            self.error(
                "type",
                format!("unknown input type `{name}`"),
                "the importer knows boolean, number, string, file, file_array, number_array and string_array: teach xtask/src/import.rs the new type",
            )
        })?;
        for (field, _) in &self.fields {
            let known = COMMON_FIELDS.contains(field)
                || UI_FIELDS.iter().any(|(ui, _)| ui == field)
                || FILE_LIMITS.iter().any(|(limit, _)| limit == field)
                || InputType::ALL.iter().any(|ty| ty.fields().contains(field));
            if !known {
                return Err(self.error(
                    field,
                    format!(
                        "unknown field `{field}` on input `{}`: the importer would drop it silently",
                        self.name
                    ),
                    "find out what it means; then map it in xtask/src/import.rs, or list it in `UI_FIELDS` if it only shapes the web form",
                ));
            }
            if let Some((_, what)) = FILE_LIMITS.iter().find(|(limit, _)| limit == field) {
                return Err(self.error(
                    field,
                    format!(
                        "`{field}` ({what}) is a limit our dialect cannot check: an asset id says nothing of the file's duration or size"
                    ),
                    "the API checks it when the job runs; remove the field from the saved description to import the input without it, and say it in the property's description",
                ));
            }
            if !COMMON_FIELDS.contains(field)
                && !UI_FIELDS.iter().any(|(ui, _)| ui == field)
                && !ty.fields().contains(field)
            {
                return Err(self.error(
                    field,
                    format!("`{field}` on a `{name}` input: the importer does not know what it means there"),
                    HELP_EDIT,
                ));
            }
        }
        Ok(ty)
    }

    /// The input's property schema.
    fn property(&self) -> Result<Value, ImportError> {
        let ty = self.input_type()?;
        let mut shape = match ty {
            InputType::Boolean => json!({"type": "boolean"}),
            InputType::String => self.string_shape()?,
            InputType::Number => self.number_shape(false)?,
            InputType::File => self.file_shape()?,
            InputType::FileArray | InputType::StringArray | InputType::NumberArray => {
                let items = match ty {
                    InputType::FileArray => self.file_shape()?,
                    InputType::StringArray => self.string_items()?,
                    _ => self.number_items()?,
                };
                let mut array = json!({"type": "array", "items": items});
                if let Some(min) = self.count("minLength")? {
                    array["minItems"] = json!(min);
                }
                if let Some(max) = self.count("maxLength")? {
                    array["maxItems"] = json!(max);
                }
                if let (Some(min), Some(max)) = (array.get("minItems"), array.get("maxItems"))
                    && min.as_u64() > max.as_u64()
                {
                    return Err(self.error(
                        "minLength",
                        "`minLength` is greater than `maxLength`: no list would be accepted",
                        HELP_EDIT,
                    ));
                }
                array
            }
        };
        if let Some(default) = self.get("default") {
            shape["default"] = self.default(default, &shape);
        }

        // The type first, then the words, then the constraints, then the default.
        let Value::Object(mut shape) = shape else {
            return Ok(shape);
        };
        // A label that only repeats the name says nothing.
        if let Some(label) = self.text("label")?.filter(|label| *label != self.name) {
            shape.insert("title".to_owned(), json!(label));
        }
        if let Some(description) = self.description()? {
            shape.insert("description".to_owned(), json!(description));
        }
        let mut property = Map::new();
        for key in PROPERTY_ORDER {
            if let Some(value) = shape.get(*key) {
                property.insert((*key).to_owned(), value.clone());
            }
        }
        Ok(Value::Object(property))
    }

    /// `description`, with `hint` as a second sentence.
    fn description(&self) -> Result<Option<String>, ImportError> {
        let words = |field| -> Result<Option<&str>, ImportError> {
            Ok(self
                .text(field)?
                .map(str::trim)
                .filter(|text| !text.is_empty()))
        };
        Ok(match (words("description")?, words("hint")?) {
            (Some(description), Some(hint)) => {
                let stop = if description.ends_with(['.', '!', '?']) {
                    ""
                } else {
                    "."
                };
                Some(format!("{description}{stop} {hint}"))
            }
            (Some(text), None) | (None, Some(text)) => Some(text.to_owned()),
            (None, None) => None,
        })
    }

    /// The default, in the property's own terms: `5.0` is `5` for an integer.
    fn default(&self, default: &Value, shape: &Value) -> Value {
        let integers = |shape: &Value| shape["type"] == "integer";
        match default {
            Value::Number(_) if integers(shape) => {
                integer(default).map_or(default.clone(), |n| json!(n))
            }
            Value::Array(items) if integers(&shape["items"]) => Value::Array(
                items
                    .iter()
                    .map(|item| integer(item).map_or(item.clone(), |n| json!(n)))
                    .collect(),
            ),
            _ => default.clone(),
        }
    }

    fn file_shape(&self) -> Result<Value, ImportError> {
        match self.text("kind")? {
            None | Some("image") => Ok(json!({"type": "string", "format": "asset-id"})),
            Some(kind) => Err(self.error(
                "kind",
                format!(
                    "a file of kind `{kind}`: our dialect's `format: asset-id` cannot say that the asset must be a {kind}"
                ),
                "only image inputs are imported today: teach the dialect an asset kind (schema/README.md, xtask/src/codegen/schema.rs) first, or write the property by hand",
            )),
        }
    }

    /// A string input: `allowedValues` become an enum, `minLength`/`maxLength` stay.
    fn string_shape(&self) -> Result<Value, ImportError> {
        let min = self.count("minLength")?;
        let max = self.count("maxLength")?;
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(self.error(
                "minLength",
                "`minLength` is greater than `maxLength`: no text would be accepted",
                HELP_EDIT,
            ));
        }
        if let Some(values) = self.allowed_values()? {
            let values = self.string_values(values)?;
            // An enum fixes the values, so length limits add nothing when every value
            // fits them (and our dialect refuses both together). A value that does not
            // fit would be refused by the API: which of the two is right is for a human.
            if let Some(value) = values.iter().find(|value| {
                let length = value.chars().count() as u64;
                min.is_some_and(|min| length < min) || max.is_some_and(|max| length > max)
            }) {
                return Err(self.error(
                    "allowedValues",
                    format!(
                        "the allowed value {value:?} breaks the input's own `minLength`/`maxLength`"
                    ),
                    "find out which is right, fix the description, and import again",
                ));
            }
            return Ok(json!({"type": "string", "enum": values}));
        }
        let mut shape = json!({"type": "string"});
        if let Some(min) = min {
            shape["minLength"] = json!(min);
        }
        if let Some(max) = max {
            shape["maxLength"] = json!(max);
        }
        Ok(shape)
    }

    /// The items of a `string_array`: strings, or an enum of `allowedValues`.
    fn string_items(&self) -> Result<Value, ImportError> {
        Ok(match self.allowed_values()? {
            Some(values) => json!({"type": "string", "enum": self.string_values(values)?}),
            None => json!({"type": "string"}),
        })
    }

    fn string_values<'v>(&self, values: &'v [Value]) -> Result<Vec<&'v str>, ImportError> {
        values
            .iter()
            .map(|value| {
                value.as_str().ok_or_else(|| {
                    self.error(
                        "allowedValues",
                        format!("the allowed value {value} of a text input is not a string"),
                        HELP_EDIT,
                    )
                })
            })
            .collect()
    }

    /// A number input: integer when its values or its step and bounds are whole.
    /// `items` is true for the items of a `number_array` (whose default is a list).
    fn number_shape(&self, items: bool) -> Result<Value, ImportError> {
        let min = self.number("min")?;
        let max = self.number("max")?;
        let step = self.number("step")?;
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(self.error(
                "min",
                format!("`min` ({min}) is greater than `max` ({max}): no number would be accepted"),
                HELP_EDIT,
            ));
        }
        if let Some(step) = step
            && step <= 0.0
        {
            return Err(self.error(
                "step",
                format!("`step` must be positive, got {step}"),
                HELP_EDIT,
            ));
        }
        if let Some(values) = self.allowed_values()? {
            let mut whole = Vec::new();
            for value in values {
                if !value.is_number() {
                    return Err(self.error(
                        "allowedValues",
                        format!("the allowed value {value} of a number input is not a number"),
                        HELP_EDIT,
                    ));
                }
                let number = integer(value).ok_or_else(|| {
                    self.error(
                        "allowedValues",
                        format!("the allowed value {value} is not a whole number: our dialect has no enums of fractional numbers"),
                        "remove `allowedValues` from the saved description and import again (the input becomes a number with `min`/`max`), then document the values in its description; or teach the dialect fractional enums first",
                    )
                })?;
                // The values decide; bounds they all satisfy add nothing (and our dialect
                // refuses bounds on an enum). A value outside them is a contradiction.
                let outside = min.is_some_and(|min| (number as f64) < min)
                    || max.is_some_and(|max| (number as f64) > max);
                if outside {
                    return Err(self.error(
                        "allowedValues",
                        format!("the allowed value {value} is outside the input's own `min`/`max`"),
                        "find out which is right, fix the description, and import again",
                    ));
                }
                whole.push(number);
            }
            return Ok(json!({"type": "integer", "enum": whole}));
        }
        // `step` is the web form's slider step, not a documented check of the API; it only
        // tells whole numbers (step 1, or any whole step with whole bounds) from others.
        let whole = |bound: Option<f64>| {
            bound.is_none_or(|bound| bound.fract() == 0.0 && bound.abs() < 9e15)
        };
        let is_integer = step.is_some_and(|step| step.fract() == 0.0) && whole(min) && whole(max);
        let mut shape = json!({"type": if is_integer { "integer" } else { "number" }});
        for (key, bound, field) in [("minimum", min, "min"), ("maximum", max, "max")] {
            if bound.is_some() {
                let value = self.get(field).cloned().unwrap_or_default();
                shape[key] = if is_integer {
                    integer(&value).map_or(value, |n| json!(n))
                } else {
                    value
                };
            }
        }
        if is_integer
            && !items
            && let Some(default) = self.get("default")
            && integer(default).is_none()
        {
            return Err(self.error(
                "default",
                format!("the default {default} is not a whole number, but the input's `step` makes it an integer"),
                "find out which is right, fix the description, and import again",
            ));
        }
        Ok(shape)
    }

    /// The items of a `number_array`: `min`/`max`/`allowedValues` apply to each item.
    fn number_items(&self) -> Result<Value, ImportError> {
        let items = self.number_shape(true)?;
        if items["type"] == "integer" && items.get("enum").is_none() {
            return Err(self.error(
                "step",
                "a list of whole numbers (a whole `step`): our dialect has no arrays of plain integers",
                "remove `step` from the saved description to import the items as numbers (fractions then pass `validate()`, and the API refuses them), or teach the dialect integer items first",
            ));
        }
        Ok(items)
    }

    /// `required`: always, when another input is set, or never.
    fn requirement(&self, names: &[&str]) -> Result<Requirement, ImportError> {
        let Some(rule) = self.get("required") else {
            return Ok(Requirement::Optional);
        };
        let shape_help = "Scenario writes {\"always\": true} or {\"ifDefined\": {\"otherInput\": {\"message\": \"…\"}}}: save the API's answer as it is";
        let rule = rule.as_object().ok_or_else(|| {
            self.error(
                "required",
                format!("`required` must be an object, got {rule}"),
                shape_help,
            )
        })?;
        let mut always = false;
        let mut if_defined = Vec::new();
        for (key, value) in rule {
            match key.as_str() {
                "always" => {
                    always = value.as_bool().ok_or_else(|| {
                        self.error(
                            "required",
                            format!("`required.always` must be true or false, got {value}"),
                            shape_help,
                        )
                    })?;
                }
                "ifDefined" => {
                    let others = value.as_object().ok_or_else(|| {
                        self.error(
                            "required",
                            "`required.ifDefined` must be an object keyed by input names",
                            shape_help,
                        )
                    })?;
                    for other in others.keys() {
                        if !names.contains(&other.as_str()) {
                            return Err(self.error(
                                "required",
                                format!("`required.ifDefined` names `{other}`, which is not an input of this model"),
                                HELP_EDIT,
                            ));
                        }
                        if_defined.push(other.clone());
                    }
                }
                "ifNotDefined" | "conditional" => {
                    let (what, help) = if key == "ifNotDefined" {
                        (
                            "required when another input is *not* set",
                            "draft-07 `dependencies` only say \"when A is set, B must be too\", and our dialect refuses `oneOf`/`anyOf`/`if`",
                        )
                    } else {
                        (
                            "required when other inputs have given values",
                            "draft-07 `dependencies` cannot look at values, and our dialect refuses `if`/`then`",
                        )
                    };
                    return Err(self.error(
                        "required",
                        format!("`required.{key}` ({what}) cannot be said in our dialect: {help}"),
                        "remove `required` from the input in the saved description and import again: the input becomes optional, and the API checks the rule; say the rule in the property's description",
                    ));
                }
                other => {
                    return Err(self.error(
                        "required",
                        format!(
                            "unknown rule `required.{other}`: the importer would drop it silently"
                        ),
                        "find out what it means, then teach xtask/src/import.rs",
                    ));
                }
            }
        }
        Ok(if always {
            // Always required: "required when X is set" adds nothing.
            Requirement::Always
        } else if if_defined.is_empty() {
            Requirement::Optional
        } else {
            Requirement::IfDefined(if_defined)
        })
    }
}

/// A whole number: `5`, or `5.0` (the same number to JSON Schema).
fn integer(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|number| number.fract() == 0.0 && number.abs() < 9e15)
            .map(|number| number as i64)
    })
}

/// The options of `cargo xtask import-model`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The model description to read (`-` for stdin).
    pub file: PathBuf,
    /// Where to write the schema (`-` for stdout); default `schema/models/<model id>.json`.
    pub output: Option<PathBuf>,
    /// Overwrite an existing file that differs.
    pub force: bool,
}

impl Options {
    /// Reads the command line after `import-model`.
    pub fn parse(args: &[&str]) -> Result<Self, CommandError> {
        let mut file = None;
        let mut output = None;
        let mut force = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--force" | "-f" => force = true,
                "-o" | "--output" => {
                    let out = args
                        .next()
                        .ok_or_else(|| CommandError::Usage(format!("`{arg}` needs a file name")))?;
                    output = Some(PathBuf::from(out));
                }
                flag if flag.starts_with('-') && flag != "-" => {
                    return Err(CommandError::Usage(format!("unknown flag `{flag}`")));
                }
                path if file.is_none() => file = Some(PathBuf::from(path)),
                extra => {
                    return Err(CommandError::Usage(format!(
                        "one description at a time (`{extra}` is a second FILE)"
                    )));
                }
            }
        }
        let file = file.ok_or_else(|| {
            CommandError::Usage(
                "FILE is missing: the model description (`kling models schema MODEL_ID > FILE`)"
                    .to_owned(),
            )
        })?;
        Ok(Self {
            file,
            output,
            force,
        })
    }
}

/// What `cargo xtask import-model` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Wrote the schema to `path`.
    Wrote {
        /// The file.
        path: PathBuf,
        /// The model's id.
        model_id: String,
        /// How many parameters the schema has.
        parameters: usize,
    },
    /// `path` already holds exactly this schema.
    Unchanged {
        /// The file.
        path: PathBuf,
    },
    /// `-o -`: the schema, to print on stdout.
    Printed(String),
}

/// Something `cargo xtask import-model` could not do.
#[derive(Debug)]
pub enum CommandError {
    /// The command line is wrong.
    Usage(String),
    /// The description is not JSON.
    NotJson(PathBuf, serde_json::Error),
    /// The description says something our dialect cannot.
    Import(ImportError),
    /// The generator refuses the imported schema.
    Generator(SchemaError),
    /// The output exists and differs; `--force` was not given.
    Exists(PathBuf),
    /// Reading or writing a file failed.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) => write!(f, "{message}\n  usage: {USAGE}"),
            Self::NotJson(path, error) => write!(
                f,
                "{}: not JSON: {error}\n  help: {HELP_SAVE}",
                path.display()
            ),
            Self::Import(error) => write!(f, "{error}"),
            Self::Generator(error) => write!(
                f,
                "the generator refuses the imported schema, so nothing was written:\n{error}\n  \
                 help: the description contradicts itself (fix it and import again), or the importer \
                 misses a rule of the dialect (teach xtask/src/import.rs)"
            ),
            Self::Exists(path) => write!(
                f,
                "{} exists and differs from the import: nothing was written\n  \
                 help: pass --force to overwrite it (then review `git diff`), or `-o -` to print the import instead",
                path.display()
            ),
            Self::Io(path, error) => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<ImportError> for CommandError {
    fn from(error: ImportError) -> Self {
        Self::Import(error)
    }
}

/// Imports the description in `options.file` and writes the schema, unless the generator
/// would refuse it or it would overwrite a different file without `--force`.
pub fn run(options: &Options) -> Result<Outcome, CommandError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| CommandError::Io(path, error)
    };
    let text = if options.file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(io(&options.file))?;
        text
    } else {
        std::fs::read_to_string(&options.file).map_err(io(&options.file))?
    };
    let description: Value = serde_json::from_str(&text)
        .map_err(|error| CommandError::NotJson(options.file.clone(), error))?;
    let schema = import(&description)?;
    let model_id = schema["x-model-id"].as_str().unwrap_or_default().to_owned();
    let parameters = schema["properties"].as_object().map_or(0, Map::len);
    let mut out = serde_json::to_string_pretty(&schema)
        .map_err(|error| CommandError::NotJson(options.file.clone(), error))?;
    out.push('\n');

    let path = options
        .output
        .clone()
        .unwrap_or_else(|| default_output(&model_id));
    // Never leave a schema that `cargo xtask codegen` refuses.
    let shown = path.display().to_string();
    codegen::generate_model(&shown, &out, "kling_types").map_err(CommandError::Generator)?;

    if path == Path::new("-") {
        return Ok(Outcome::Printed(out));
    }
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == out => return Ok(Outcome::Unchanged { path }),
        Ok(_) if !options.force => return Err(CommandError::Exists(path)),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(CommandError::Io(path, error)),
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(&path, out).map_err(io(&path))?;
    Ok(Outcome::Wrote {
        path,
        model_id,
        parameters,
    })
}

/// `schema/models/<model id>.json` in the workspace.
pub fn default_output(model_id: &str) -> PathBuf {
    codegen::workspace_root()
        .join("schema/models")
        .join(format!("{model_id}.json"))
}

/// A path relative to the workspace root when it is inside, for messages.
fn shown(path: &Path) -> String {
    let root = codegen::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `cargo xtask import-model ARGS`: parses, runs, reports; the exit code.
#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "the xtask command reports on its streams"
)]
pub fn main(args: &[&str]) -> ExitCode {
    let outcome = Options::parse(args).and_then(|options| run(&options));
    match outcome {
        Ok(Outcome::Printed(schema)) => {
            print!("{schema}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Unchanged { path }) => {
            eprintln!("{} is up to date: nothing to do", shown(&path));
            ExitCode::SUCCESS
        }
        Ok(Outcome::Wrote {
            path,
            model_id,
            parameters,
        }) => {
            eprintln!(
                "wrote {} ({parameters} parameters of {model_id})\n\
                 next: review it (a $comment for each constraint, x-enum-names), then run `cargo xtask codegen` \
                 and `cargo test --workspace` (see schema/README.md, \"Adding or changing a model\")",
                shown(&path)
            );
            ExitCode::SUCCESS
        }
        Err(error @ CommandError::Usage(_)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
