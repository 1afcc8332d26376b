//! The importer (used by `cargo xtask import-model FILE` and `kling`'s drift check): turns
//! Scenario's description of a model (the answer
//! of `GET /v1/models/{modelId}`, as `kling models schema ID` prints it) into a draft
//! schema of our dialect (`schema/README.md`), one property per entry of its `inputs`.
//!
//! Like the generator, the importer never drops a constraint silently: every input field
//! is either mapped, left out on purpose because it only shapes Scenario's web form
//! ([`UI_FIELDS`]), or refused with an [`ImportError`] that names the input, the field,
//! and what to do. The output is deterministic (no timestamp), so importing the same
//! description twice writes the same bytes.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::flags::{is_reserved_flag, renamed_flag};
use crate::{ASSET_KINDS, kebab};

pub(crate) mod merge;

/// Input fields that shape Scenario's web form (or its price display) and say nothing
/// about which requests the API accepts. `label` and `hint` become documentation; every
/// other one is kept as it is under the property's `x-ui` (nothing is dropped), which the
/// generator carries into the parameter table (`Param::ui`) and never checks.
/// `(field, what becomes of it)`.
///
/// The list is the UI part of `ModelInput` in Scenario's SDK (`scenario-sdk` 2.4.0,
/// `types/model_retrieve_response.py`). Anything not listed here, nor mapped, is refused.
pub const UI_FIELDS: &[(&str, &str)] = &[
    (
        "label",
        "becomes the property's `title` (unless it only repeats the name)",
    ),
    (
        "hint",
        "appended to the property's `description` as a second sentence",
    ),
    (
        "placeholder",
        "example text of a text field: kept in `x-ui`",
    ),
    (
        "group",
        "the form section the field is shown in: kept in `x-ui`",
    ),
    (
        "costImpact",
        "tells the form that the price depends on the field: kept in `x-ui` (`kling models ID` says it)",
    ),
    (
        "prompt",
        "shows a text field as a prompt area: kept in `x-ui`",
    ),
    (
        "promptSpark",
        "offers Scenario's prompt suggestions on a text field: kept in `x-ui`",
    ),
    (
        "parent",
        "the file becomes the parent of the produced assets: kept in `x-ui`",
    ),
    (
        "color",
        "shows a text field as a colour picker: kept in `x-ui`",
    ),
    (
        "backgroundBehavior",
        "`opaque` or `transparent`, how the form shows an image's background: kept in `x-ui`",
    ),
    (
        "maskFrom",
        "the file input the form draws this mask on (checked to name an input): kept in `x-ui`",
    ),
];

/// The values of `backgroundBehavior` (Scenario's SDK).
const BACKGROUND_BEHAVIORS: &[&str] = &["opaque", "transparent"];

/// Limits on the file of a `file` or `file_array` input: `(field, extension, what)`.
/// The size is a count of bytes (the `kling` command checks it before uploading); the
/// durations are seconds, for video and audio only (the API checks them).
const FILE_LIMITS: &[(&str, &str, &str)] = &[
    ("maxSize", "x-max-size", "the largest file accepted"),
    (
        "minDuration",
        "x-min-duration",
        "the shortest media accepted",
    ),
    (
        "maxDuration",
        "x-max-duration",
        "the longest media accepted",
    ),
];

/// The model types a `model` or `model_array` input may name in `modelTypes` (Scenario's
/// SDK); written as `x-model-types`.
pub const MODEL_TYPES: &[&str] = &[
    "custom",
    "elevenlabs-voice",
    "flux.1",
    "flux.1-composition",
    "flux.1-kontext-dev",
    "flux.1-kontext-lora",
    "flux.1-krea-dev",
    "flux.1-krea-lora",
    "flux.1-lora",
    "flux.1-pro",
    "flux.1.1-pro-ultra",
    "flux.2-dev-edit-lora",
    "flux.2-dev-lora",
    "flux.2-klein-4b-edit-lora",
    "flux.2-klein-4b-lora",
    "flux.2-klein-9b-edit-lora",
    "flux.2-klein-9b-lora",
    "flux.2-klein-base-4b-edit-lora",
    "flux.2-klein-base-4b-lora",
    "flux.2-klein-base-9b-edit-lora",
    "flux.2-klein-base-9b-lora",
    "flux1.1-pro",
    "gpt-image-1",
    "qwen-image-2512-lora",
    "qwen-image-edit-2509-lora",
    "qwen-image-edit-2511-lora",
    "qwen-image-edit-lora",
    "qwen-image-lora",
    "zimage-de-turbo-lora",
    "zimage-lora",
    "zimage-turbo-lora",
];

/// The keywords of an imported property, in the order they are written (every keyword
/// the importer writes is listed).
const PROPERTY_ORDER: &[&str] = &[
    "$comment",
    "type",
    "format",
    "title",
    "description",
    "items",
    "enum",
    "minimum",
    "maximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "x-asset-kind",
    "x-max-size",
    "x-min-duration",
    "x-max-duration",
    "x-model-types",
    "default",
    "x-cli-flag",
    "x-ui",
];

/// Fields every input may carry, whatever its type.
const COMMON_FIELDS: &[&str] = &["name", "type", "required", "default", "description"];

/// The field that only an `inputs_array` input carries: the inputs of each of its objects
/// (the SDK's `ModelInput`s again), imported as the fields of the array's item objects.
const INPUTS_ARRAY_FIELD: &str = "inputs";

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

/// What to do when a description cannot be read: save the API's answer as it is.
pub const HELP_SAVE: &str =
    "save the API's answer as it is: `kling models schema MODEL_ID > model.json`";
/// What Scenario writes in an input's `required`.
const REQUIRED_HELP: &str = "Scenario writes {\"always\": true}, {\"ifDefined\": {\"otherInput\": …}}, {\"ifNotDefined\": {\"otherInput\": …}}, {\"when\": {\"otherInput\": [values]}} or {\"conditional\": {\"values\": {\"otherInput\": [values]}, \"operator\": \"and\"}}: save the API's answer as it is";
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
    let id = match model.get("id") {
        Some(Value::String(id)) if is_file_name(id) => id.clone(),
        Some(Value::String(id)) => {
            return Err(model_error(
                "id",
                format!("the model id `{id}` cannot name a file under schema/models/"),
                "a model id is made of letters, digits, `-`, `_` and `.` (`model_kling-v1-6-pro`): check that the file is a model description",
            ));
        }
        _ => {
            return Err(model_error(
                "id",
                "the description has no model `id`",
                HELP_SAVE,
            ));
        }
    };
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
    let names = input_names(inputs, None)?;
    distinct_flags(&names)?;

    let mut properties = Map::new();
    let mut rules = Rules::default();
    for (index, (input, name)) in inputs.iter().zip(&names).enumerate() {
        let input = Input::new(index, name, input, None);
        let property = input.property(&names)?;
        rules.add(name, input.requirement(&names)?);
        properties.insert((*name).to_owned(), property);
    }
    let Rules {
        required,
        dependencies,
        conditions,
    } = rules;

    let mut schema = Map::new();
    schema.insert(
        "$schema".to_owned(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
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
    if !conditions.is_empty() {
        schema.insert("allOf".to_owned(), Value::Array(conditions));
    }
    Ok(Value::Object(schema))
}

/// The names of `inputs` (of the model, or of the objects of the `inputs_array` input
/// `outer`): each input an object with a name of its own.
fn input_names<'v>(
    inputs: &'v [Value],
    outer: Option<&Input<'_>>,
) -> Result<Vec<&'v str>, ImportError> {
    let mut names: Vec<&str> = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let error = |name: Option<&str>, message: String| match outer {
            Some(outer) => outer.error(
                "inputs",
                format!("inputs[{index}] of its objects: {message}"),
                HELP_EDIT,
            ),
            None => ImportError {
                input: Some((index, name.map(str::to_owned))),
                field: Some("name".to_owned()),
                message,
                help: HELP_EDIT.to_owned(),
            },
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

/// The root's requirements, gathered input by input: `required`, `dependencies` and the
/// conditions of `allOf`.
#[derive(Default)]
struct Rules {
    required: Vec<Value>,
    dependencies: Map<String, Value>,
    conditions: Vec<Value>,
}

impl Rules {
    /// The rules that make the input `name` required.
    fn add(&mut self, name: &str, requirement: Requirement) {
        let rules = match requirement {
            Requirement::Optional => return,
            Requirement::Always => {
                self.required.push(json!(name));
                return;
            }
            Requirement::When(rules) => rules,
        };
        for rule in rules {
            match rule {
                When::Defined(other) => {
                    if let Value::Array(needs) = self
                        .dependencies
                        .entry(other)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        needs.push(json!(name));
                    }
                }
                When::NotDefined(other) => self.conditions.push(json!({
                    "if": {"not": {"required": [other]}},
                    "then": {"required": [name]},
                })),
                When::Values(group) => {
                    let others: Vec<&String> = group.iter().map(|(other, _)| other).collect();
                    let values: Map<String, Value> = group
                        .iter()
                        .map(|(other, values)| (other.clone(), json!({"enum": values})))
                        .collect();
                    self.conditions.push(json!({
                        "if": {"required": others, "properties": values},
                        "then": {"required": [name]},
                    }));
                }
            }
        }
    }
}

/// The `kling generate` flag of the input `name`: its kebab-case, renamed with
/// [`renamed_flag`] when that is one of `kling generate`'s own flags (`version` →
/// `model-version`).
fn input_flag(name: &str) -> (String, bool) {
    let flag = kebab(name);
    if is_reserved_flag(&flag) {
        (renamed_flag(&flag), true)
    } else {
        (flag, false)
    }
}

/// Two inputs whose flags would be the same (`fooBar` and `foo_bar`, or `version` and
/// `modelVersion` once `version` is renamed): clap would refuse the command.
fn distinct_flags(names: &[&str]) -> Result<(), ImportError> {
    let flags: Vec<String> = names.iter().map(|name| input_flag(name).0).collect();
    for (index, flag) in flags.iter().enumerate() {
        if let Some(first) = flags[..index].iter().position(|other| other == flag) {
            return Err(ImportError {
                input: Some((index, Some(names[index].to_owned()))),
                field: Some("name".to_owned()),
                message: format!(
                    "`{}` and `{}` would both be the flag `--{flag}` of `kling generate`",
                    names[first], names[index]
                ),
                help: "import without one of them, then add it by hand to the schema with an `x-cli-flag` of its own (schema/README.md, Extensions)".to_owned(),
            });
        }
    }
    Ok(())
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
    Model,
    ModelArray,
    /// A list of objects, each with the fields its `inputs` describe.
    InputsArray,
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
            "model" => Self::Model,
            "model_array" => Self::ModelArray,
            "inputs_array" => Self::InputsArray,
            _ => return None,
        })
    }

    /// The fields that mean something for this type, besides [`COMMON_FIELDS`].
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Boolean => &[],
            Self::Number => &["allowedValues", "min", "max", "step"],
            Self::String => &["allowedValues", "minLength", "maxLength"],
            Self::File => &["kind", "maxSize", "minDuration", "maxDuration"],
            Self::FileArray => &[
                "kind",
                "maxSize",
                "minDuration",
                "maxDuration",
                "minLength",
                "maxLength",
            ],
            // A model id's length, in characters (the SDK's `minLength`/`maxLength` of a
            // `model` input): kept under `x-ui` (see `ui`).
            Self::Model => &["modelTypes", "minLength", "maxLength"],
            Self::ModelArray => &["modelTypes", "minLength", "maxLength"],
            Self::NumberArray => &[
                "allowedValues",
                "min",
                "max",
                "step",
                "minLength",
                "maxLength",
            ],
            Self::StringArray => &["allowedValues", "minLength", "maxLength"],
            Self::InputsArray => &[INPUTS_ARRAY_FIELD, "minLength", "maxLength"],
        }
    }

    const ALL: [Self; 10] = [
        Self::Boolean,
        Self::Number,
        Self::String,
        Self::File,
        Self::FileArray,
        Self::NumberArray,
        Self::StringArray,
        Self::Model,
        Self::ModelArray,
        Self::InputsArray,
    ];
}

/// When an input is required.
enum Requirement {
    Optional,
    Always,
    /// Required when any of these holds.
    When(Vec<When>),
}

/// One reason an input becomes required.
enum When {
    /// `ifDefined`: another input is set (draft-07 `dependencies`).
    Defined(String),
    /// `ifNotDefined`: another input is left out (`allOf`: `if` `not` `required`).
    NotDefined(String),
    /// `when` / `conditional`: every input named has one of its values (`allOf`: `if`
    /// `required` + `properties` `enum`).
    Values(Vec<(String, Vec<Value>)>),
}

/// One entry of `inputs` (of the model, or of the objects of an `inputs_array`), its
/// `null` fields left out.
struct Input<'a> {
    index: usize,
    name: &'a str,
    fields: Vec<(&'a str, &'a Value)>,
    /// For an input of an `inputs_array`'s objects: that input's index and name.
    outer: Option<(usize, &'a str)>,
}

impl<'a> Input<'a> {
    fn new(index: usize, name: &'a str, input: &'a Value, outer: Option<(usize, &'a str)>) -> Self {
        Self {
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
            outer,
        }
    }

    /// An error of this input: of the model's input, or of the `inputs_array` input
    /// holding it (`field` then `inputs[1].min`, the message naming the item's input).
    fn error(
        &self,
        field: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> ImportError {
        match self.outer {
            None => ImportError {
                input: Some((self.index, Some(self.name.to_owned()))),
                field: Some(field.to_owned()),
                message: message.into(),
                help: help.into(),
            },
            Some((outer, outer_name)) => ImportError {
                input: Some((outer, Some(outer_name.to_owned()))),
                field: Some(format!("inputs[{}].{field}", self.index)),
                message: format!("the objects' input `{}`: {}", self.name, message.into()),
                help: help.into(),
            },
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
        let ty = InputType::parse(name).ok_or_else(|| {
            self.error(
                "type",
                format!("unknown input type `{name}`"),
                "the importer knows boolean, number, string, file, file_array, number_array, string_array, model, model_array and inputs_array: teach crates/kling-dialect/src/import.rs the new type",
            )
        })?;
        if ty == InputType::InputsArray && self.outer.is_some() {
            return Err(self.error(
                "type",
                "an `inputs_array` inside an `inputs_array` (a list of objects in each object) cannot be said: the dialect has one level of objects, the items of a parameter",
                "remove the inner input from the saved description and import again (requests then never send it), or flatten its inputs into the outer objects' inputs",
            ));
        }
        for (field, _) in &self.fields {
            let known = COMMON_FIELDS.contains(field)
                || UI_FIELDS.iter().any(|(ui, _)| ui == field)
                || InputType::ALL.iter().any(|ty| ty.fields().contains(field));
            if !known {
                return Err(self.error(
                    field,
                    format!(
                        "unknown field `{field}` on input `{}`: the importer would drop it silently",
                        self.name
                    ),
                    "find out what it means; then map it in crates/kling-dialect/src/import.rs, or list it in `UI_FIELDS` if it only shapes the web form",
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

    /// The input's property schema (`names`: every input's, for fields that name one).
    fn property(&self, names: &[&str]) -> Result<Value, ImportError> {
        let ty = self.input_type()?;
        let mut shape = match ty {
            InputType::Boolean => json!({"type": "boolean"}),
            InputType::String => self.string_shape()?,
            InputType::Number => self.number_shape(false)?,
            InputType::File => self.file_shape()?,
            InputType::Model => {
                let mut shape = json!({"type": "string", "format": "model-id"});
                if let Some(types) = self.model_types()? {
                    shape["x-model-types"] = types;
                }
                shape
            }
            InputType::FileArray
            | InputType::StringArray
            | InputType::NumberArray
            | InputType::ModelArray
            | InputType::InputsArray => self.array_shape(ty)?,
        };
        if let Some(ui) = self.ui(ty, names)? {
            shape["x-ui"] = ui;
        }
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
        // An item's field has no flag of its own (the objects are one flag's JSON).
        let (flag, renamed) = input_flag(self.name);
        if renamed && self.outer.is_none() {
            let own = kebab(self.name);
            shape.insert(
                "$comment".to_owned(),
                json!(format!(
                    "`--{own}` is a flag of `kling generate` itself: the importer named this parameter's flag `--{flag}`"
                )),
            );
            shape.insert("x-cli-flag".to_owned(), json!(flag));
        }
        let mut property = Map::new();
        for key in PROPERTY_ORDER {
            if let Some(value) = shape.get(*key) {
                property.insert((*key).to_owned(), value.clone());
            }
        }
        Ok(Value::Object(property))
    }

    /// A list input: its items (files, text, numbers, model ids, or the objects of an
    /// `inputs_array`) and their count (`minLength`, `maxLength`).
    fn array_shape(&self, ty: InputType) -> Result<Value, ImportError> {
        let items = match ty {
            InputType::FileArray => self.file_shape()?,
            InputType::StringArray => self.string_items()?,
            InputType::ModelArray => json!({"type": "string", "format": "model-id"}),
            InputType::InputsArray => self.item_object()?,
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
        if ty == InputType::ModelArray
            && let Some(types) = self.model_types()?
        {
            array["x-model-types"] = types;
        }
        Ok(array)
    }

    /// The objects of an `inputs_array`: one field per input of its `inputs`, imported as
    /// the model's inputs are; `required.always` makes a field required in each object.
    /// What only the request's root can say (`ifDefined`, `ifNotDefined`, `when` between
    /// an object's fields) is refused.
    fn item_object(&self) -> Result<Value, ImportError> {
        let inputs = self
            .get(INPUTS_ARRAY_FIELD)
            .and_then(Value::as_array)
            .filter(|inputs| !inputs.is_empty())
            .ok_or_else(|| {
                self.error(
                    INPUTS_ARRAY_FIELD,
                    "an `inputs_array` input needs `inputs`, a non-empty list of the inputs of each object",
                    HELP_SAVE,
                )
            })?;
        let names = input_names(inputs, Some(self))?;
        let mut required = Vec::new();
        let mut properties = Map::new();
        for (index, (input, name)) in inputs.iter().zip(&names).enumerate() {
            let input = Input::new(index, name, input, Some((self.index, self.name)));
            let property = input.property(&names)?;
            match input.requirement(&names)? {
                Requirement::Optional => {}
                Requirement::Always => required.push(json!(name)),
                Requirement::When(_) => {
                    return Err(input.error(
                        "required",
                        "a requirement on another input of the same object (`ifDefined`, `ifNotDefined`, `when`, `conditional`) cannot be said: the dialect's `dependencies` and conditions are the request's, not an item's",
                        "remove that `required` rule from the saved description and import again (the API still checks it), or make it `{\"always\": true}` if every object has the field",
                    ));
                }
            }
            properties.insert((*name).to_owned(), property);
        }
        Ok(json!({
            "type": "object",
            "additionalProperties": false,
            "required": required,
            "properties": properties,
        }))
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

    /// A file (or the items of a `file_array`): an asset id of its kind, with its limits.
    fn file_shape(&self) -> Result<Value, ImportError> {
        let mut shape = json!({"type": "string", "format": "asset-id"});
        let kind = self.text("kind")?.unwrap_or("image");
        if !ASSET_KINDS.contains(&kind) {
            return Err(self.error(
                "kind",
                format!("unknown asset kind `{kind}`"),
                format!(
                    "Scenario's kinds are {}: teach crates/kling-dialect/src/import.rs and the dialect (x-asset-kind) the new one",
                    ASSET_KINDS.join(", ")
                ),
            ));
        }
        // `image` is the dialect's default: a schema says only what differs.
        if kind != "image" {
            shape["x-asset-kind"] = json!(kind);
        }
        for (field, extension, what) in FILE_LIMITS {
            let value = if *field == "maxSize" {
                self.count(field)?.map(|bytes| json!(bytes))
            } else {
                match self.number(field)? {
                    Some(seconds) if !matches!(kind, "video" | "audio") => {
                        return Err(self.error(
                            field,
                            format!("`{field}` ({what}, {seconds} s) on a file of kind `{kind}`, which has no duration"),
                            "durations apply to video and audio files: fix `kind` or remove the field, and import again",
                        ));
                    }
                    Some(seconds) if seconds < 0.0 => {
                        return Err(self.error(
                            field,
                            format!("`{field}` must not be negative, got {seconds}"),
                            HELP_EDIT,
                        ));
                    }
                    seconds => seconds.map(|seconds| {
                        integer(&json!(seconds)).map_or(json!(seconds), |whole| json!(whole))
                    }),
                }
            };
            if let Some(value) = value {
                shape[*extension] = value;
            }
        }
        if let (Some(min), Some(max)) = (self.number("minDuration")?, self.number("maxDuration")?)
            && min > max
        {
            return Err(self.error(
                "minDuration",
                "`minDuration` is greater than `maxDuration`: no file would be accepted",
                HELP_EDIT,
            ));
        }
        Ok(shape)
    }

    /// `modelTypes`, checked against Scenario's list.
    fn model_types(&self) -> Result<Option<Value>, ImportError> {
        let Some(types) = self.get("modelTypes") else {
            return Ok(None);
        };
        let types = types
            .as_array()
            .filter(|types| !types.is_empty())
            .ok_or_else(|| {
                self.error(
                    "modelTypes",
                    "`modelTypes` must be a non-empty list of model types",
                    HELP_EDIT,
                )
            })?;
        for kind in types {
            match kind.as_str() {
                Some(kind) if MODEL_TYPES.contains(&kind) => {}
                _ => {
                    return Err(self.error(
                        "modelTypes",
                        format!("unknown model type {kind}: the importer would pass on a value it does not know"),
                        "if Scenario lists it (its SDK's `modelTypes`), add it to `MODEL_TYPES` in crates/kling-dialect/src/import.rs",
                    ));
                }
            }
        }
        Ok(Some(Value::Array(types.clone())))
    }

    /// The web form's fields (every [`UI_FIELDS`] entry but `label` and `hint`, which
    /// become documentation), as they are, for `x-ui`; and what the dialect cannot say of
    /// a value: a `step` off its bounds' grid, the length of a model id (`minLength`,
    /// `maxLength` of a `model` input: a model id is opaque, the API checks it).
    fn ui(&self, ty: InputType, names: &[&str]) -> Result<Option<Value>, ImportError> {
        let mut ui = Map::new();
        if ty == InputType::Model {
            for field in ["minLength", "maxLength"] {
                if let Some(count) = self.count(field)? {
                    ui.insert(field.to_owned(), json!(count));
                }
            }
        }
        for (field, value) in &self.fields {
            if matches!(*field, "label" | "hint") || !UI_FIELDS.iter().any(|(ui, _)| ui == field) {
                continue;
            }
            match *field {
                "backgroundBehavior"
                    if !value
                        .as_str()
                        .is_some_and(|value| BACKGROUND_BEHAVIORS.contains(&value)) =>
                {
                    return Err(self.error(
                        field,
                        format!("unknown `backgroundBehavior` {value}: Scenario's values are `opaque` and `transparent`"),
                        "if Scenario added one, add it to `BACKGROUND_BEHAVIORS` in crates/kling-dialect/src/import.rs",
                    ));
                }
                "maskFrom" if !value.as_str().is_some_and(|other| names.contains(&other)) => {
                    return Err(self.error(
                        field,
                        format!("`maskFrom` names {value}, which is not an input of this model"),
                        HELP_EDIT,
                    ));
                }
                _ => {}
            }
            ui.insert((*field).to_owned(), (*value).clone());
        }
        if let Some(step) = self.off_grid_step()? {
            ui.insert("step".to_owned(), step.clone());
        }
        if let Some(messages) = self.required_messages() {
            ui.insert("required".to_owned(), messages);
        }
        Ok((!ui.is_empty()).then_some(Value::Object(ui)))
    }

    /// What the form says when `ifDefined`/`ifNotDefined` make the input required
    /// (`{"ifDefined": {"endImage": {"message": "…"}}}`), as it is: the rule itself
    /// becomes `dependencies` or `allOf` (see [`Self::requirement`]), and `validate()`
    /// words its own finding, but the form's text is kept, not dropped. `None` when no
    /// rule carries anything but the other input's name.
    fn required_messages(&self) -> Option<Value> {
        let rule = self.get("required")?.as_object()?;
        let said = |value: &Value| match value {
            Value::Object(fields) => !fields.is_empty(),
            Value::String(text) => !text.is_empty(),
            _ => false,
        };
        let kept: Map<String, Value> = ["ifDefined", "ifNotDefined"]
            .into_iter()
            .filter_map(|key| {
                let others = rule.get(key)?.as_object()?;
                let said: Map<String, Value> = others
                    .iter()
                    .filter(|(_, value)| said(value))
                    .map(|(other, value)| (other.clone(), value.clone()))
                    .collect();
                (!said.is_empty()).then(|| (key.to_owned(), Value::Object(said)))
            })
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    }

    /// A `step` that `multipleOf` cannot say: a bound is not a multiple of it, so the
    /// form counts it from `min` (`min` 0.5, `step` 1: 0.5, 1.5, …).
    fn off_grid_step(&self) -> Result<Option<&Value>, ImportError> {
        let Some(step) = self.number("step")?.filter(|step| *step > 0.0) else {
            return Ok(None);
        };
        if self.get("allowedValues").is_some() {
            return Ok(None);
        }
        let off = [self.number("min")?, self.number("max")?]
            .into_iter()
            .flatten()
            .any(|bound| !crate::is_multiple_of(bound, step));
        Ok(if off { self.get("step") } else { None })
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
            return self.number_enum(values, min, max, step);
        }
        // A whole step with whole bounds makes whole numbers; any step other than 1 is a
        // `multipleOf` (counted from 0, as JSON Schema counts it: a bound off the grid
        // would be refused by the schema itself, so it is refused here).
        let whole = |bound: Option<f64>| {
            bound.is_none_or(|bound| bound.fract() == 0.0 && bound.abs() < 9e15)
        };
        let is_integer = step.is_some_and(|step| step.fract() == 0.0) && whole(min) && whole(max);
        let mut shape = json!({"type": if is_integer { "integer" } else { "number" }});
        if let Some(step) = step.filter(|step| *step != 1.0 || !is_integer) {
            let on_grid = [min, max]
                .into_iter()
                .flatten()
                .all(|bound| crate::is_multiple_of(bound, step));
            // Off the grid, the step counts from `min` (0.5, 1.5, …), which `multipleOf`
            // cannot say: it stays the form's slider step, kept under `x-ui` by `ui()`.
            if on_grid {
                shape["multipleOf"] =
                    integer(&json!(step)).map_or(json!(step), |whole| json!(whole));
            }
        }
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

    /// The `allowedValues` of a number input: an enum of integers when every value is
    /// whole (sentinels such as -1 too), of numbers otherwise; each value within the
    /// input's own `min`, `max` and `step`.
    fn number_enum(
        &self,
        values: &[Value],
        min: Option<f64>,
        max: Option<f64>,
        step: Option<f64>,
    ) -> Result<Value, ImportError> {
        let mut numbers = Vec::new();
        for value in values {
            let number = value.as_f64().ok_or_else(|| {
                self.error(
                    "allowedValues",
                    format!("the allowed value {value} of a number input is not a number"),
                    HELP_EDIT,
                )
            })?;
            // The values decide; bounds they all satisfy add nothing (and our dialect
            // refuses bounds on an enum). A value outside them is a contradiction.
            let outside =
                min.is_some_and(|min| number < min) || max.is_some_and(|max| number > max);
            if outside {
                return Err(self.error(
                    "allowedValues",
                    format!("the allowed value {value} is outside the input's own `min`/`max`"),
                    "find out which is right, fix the description, and import again",
                ));
            }
            if let Some(step) = step
                && !crate::is_multiple_of(number, step)
            {
                return Err(self.error(
                    "allowedValues",
                    format!("the allowed value {value} is not a multiple of the input's own `step` ({step})"),
                    "find out which is right, fix the description, and import again",
                ));
            }
            numbers.push(value);
        }
        // Whole values (sentinels such as -1 too) make an integer enum; one fraction
        // makes an enum of numbers. A `step` they all keep to adds nothing.
        Ok(
            match numbers
                .iter()
                .map(|value| integer(value))
                .collect::<Option<Vec<i64>>>()
            {
                Some(whole) => json!({"type": "integer", "enum": whole}),
                None => json!({"type": "number", "enum": numbers}),
            },
        )
    }

    /// The items of a `number_array`: `min`/`max`/`step`/`allowedValues` apply to each item.
    fn number_items(&self) -> Result<Value, ImportError> {
        self.number_shape(true)
    }

    /// `required`: always, when other inputs are (or are not) set or have given values,
    /// or never.
    fn requirement(&self, names: &[&str]) -> Result<Requirement, ImportError> {
        let Some(rule) = self.get("required") else {
            return Ok(Requirement::Optional);
        };
        let rule = rule.as_object().ok_or_else(|| {
            self.error(
                "required",
                format!("`required` must be an object, got {rule}"),
                REQUIRED_HELP,
            )
        })?;
        let mut always = false;
        let mut rules = Vec::new();
        for (key, value) in rule {
            match key.as_str() {
                "always" => {
                    always = value.as_bool().ok_or_else(|| {
                        self.error(
                            "required",
                            format!("`required.always` must be true or false, got {value}"),
                            REQUIRED_HELP,
                        )
                    })?;
                }
                "ifDefined" => {
                    rules.extend(
                        self.keyed(names, key, value)?
                            .into_iter()
                            .map(When::Defined),
                    );
                }
                "ifNotDefined" => {
                    rules.extend(
                        self.keyed(names, key, value)?
                            .into_iter()
                            .map(When::NotDefined),
                    );
                }
                // Real records write `when` for what the SDK calls `conditional`: all of
                // its inputs must have one of their values.
                "when" => rules.push(When::Values(self.value_conditions(names, key, value)?)),
                "conditional" => rules.extend(self.conditional(names, value)?),
                other => {
                    return Err(self.error(
                        "required",
                        format!(
                            "unknown rule `required.{other}`: the importer would drop it silently"
                        ),
                        "find out what it means, then teach crates/kling-dialect/src/import.rs",
                    ));
                }
            }
        }
        Ok(if always {
            // Always required: "required when …" adds nothing.
            Requirement::Always
        } else if rules.is_empty() {
            Requirement::Optional
        } else {
            Requirement::When(rules)
        })
    }

    /// The other input a rule `required.{key}` names: one of `names`, not this one.
    fn other_input(&self, names: &[&str], key: &str, other: &str) -> Result<String, ImportError> {
        if other == self.name {
            return Err(self.error(
                "required",
                format!("`required.{key}` names the input itself"),
                HELP_EDIT,
            ));
        }
        if !names.contains(&other) {
            return Err(self.error(
                "required",
                format!("`required.{key}` names `{other}`, which is not an input of this model"),
                HELP_EDIT,
            ));
        }
        Ok(other.to_owned())
    }

    /// `{"otherInput": …}`: the inputs a rule `required.{key}` names.
    fn keyed(&self, names: &[&str], key: &str, value: &Value) -> Result<Vec<String>, ImportError> {
        let others = value
            .as_object()
            .filter(|others| !others.is_empty())
            .ok_or_else(|| {
                self.error(
                    "required",
                    format!("`required.{key}` must be an object keyed by input names"),
                    REQUIRED_HELP,
                )
            })?;
        others
            .keys()
            .map(|other| self.other_input(names, key, other))
            .collect()
    }

    /// `{"input": [values]}` (or one value): each input named has one of its values.
    fn value_conditions(
        &self,
        names: &[&str],
        key: &str,
        value: &Value,
    ) -> Result<Vec<(String, Vec<Value>)>, ImportError> {
        let conditions = value
            .as_object()
            .filter(|conditions| !conditions.is_empty())
            .ok_or_else(|| {
                self.error(
                    "required",
                    format!("`required.{key}` must be an object of input names and their values"),
                    REQUIRED_HELP,
                )
            })?;
        conditions
            .iter()
            .map(|(other, allowed)| {
                let other = self.other_input(names, key, other)?;
                let allowed = match allowed {
                    Value::Array(allowed) if !allowed.is_empty() => allowed.clone(),
                    Value::Array(_) | Value::Null | Value::Object(_) => {
                        return Err(self.error(
                            "required",
                            format!("`required.{key}.{other}` must list the values that make this input required"),
                            REQUIRED_HELP,
                        ));
                    }
                    one => vec![one.clone()],
                };
                Ok((other, allowed))
            })
            .collect()
    }

    /// `required.conditional`: `values` with `operator` `and` (one condition over every
    /// input) or `or` (one condition per input).
    fn conditional(&self, names: &[&str], value: &Value) -> Result<Vec<When>, ImportError> {
        let conditional = value.as_object().ok_or_else(|| {
            self.error(
                "required",
                "`required.conditional` must be an object",
                REQUIRED_HELP,
            )
        })?;
        if let Some(unknown) = conditional
            .keys()
            .find(|key| !["values", "operator"].contains(&key.as_str()))
        {
            return Err(self.error(
                "required",
                format!("unknown field `required.conditional.{unknown}`: the importer would drop it silently"),
                "find out what it means, then teach crates/kling-dialect/src/import.rs",
            ));
        }
        let group = self.value_conditions(
            names,
            "conditional.values",
            conditional.get("values").unwrap_or(&Value::Null),
        )?;
        match conditional
            .get("operator")
            .map(|operator| operator.as_str())
        {
            // `and` (the default): one condition over every input.
            None | Some(Some("and")) => Ok(vec![When::Values(group)]),
            // `or`: one condition per input.
            Some(Some("or")) => Ok(group
                .into_iter()
                .map(|one| When::Values(vec![one]))
                .collect()),
            Some(_) => Err(self.error(
                "required",
                format!(
                    "unknown `required.conditional.operator` {}",
                    conditional["operator"]
                ),
                "Scenario's operators are `and` and `or`: save the API's answer as it is",
            )),
        }
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
