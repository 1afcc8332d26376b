//! Reads one schema file in our dialect (see `schema/README.md`), refuses anything it
//! does not fully understand, and turns it into its one checked form ([`Checked`]): the
//! facts the generator acts on (parameters and their kinds, constraints, enums, ids,
//! "ignored when" rules). Every other reading of a schema goes through this one: the
//! generated code and parameter tables, `schema-diff`'s names. For an api schema it also
//! gives the *lowered* schema typify reads, stripped of those facts, in which every type
//! we generate ourselves is a `$ref` that typify replaces with our type.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value, json};

use crate::flags::{is_reserved_flag, renamed_flag};
use crate::naming::{
    is_upper_camel_ident, kebab, module_name, property_type_name, request_type_name, upper_camel,
    variant_name,
};

/// `multipleOf` in decimal: the very file `kling-types` checks it with.
#[path = "../../kling-types/src/decimal.rs"]
mod decimal;

/// Whether a schema describes a model's request or the platform's wire types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `schema/models/*.json`: one request, validated before it is sent; closed enums.
    Model,
    /// `schema/api/*.json`: response types, decoded leniently; every enum is open.
    Api,
}

impl Kind {
    /// How messages name the kind, with its article: `a model`, `an api`.
    ///
    /// ```
    /// assert_eq!(kling_dialect::Kind::Api.noun(), "an api");
    /// ```
    pub fn noun(self) -> &'static str {
        match self {
            Self::Model => "a model",
            Self::Api => "an api",
        }
    }
}

/// A schema the generator refuses, with where and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    /// The schema file, as given to the generator.
    pub file: String,
    /// A JSON pointer into the file (`/properties/cfgScale/maximum`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{}: at `{pointer}`: {}\n  help: {}",
            self.file, self.message, self.help
        )
    }
}

impl std::error::Error for SchemaError {}

/// The ids that are strings on the wire and newtypes in Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// An asset (`format: asset-id`): `AssetId`.
    Asset,
    /// A job (`format: job-id`): `JobId`.
    Job,
    /// A model (`format: model-id`): `ModelId`.
    Model,
}

impl IdKind {
    /// The id a string's `format` names (`asset-id`, `job-id`, `model-id`).
    pub fn from_format(format: &str) -> Option<Self> {
        match format {
            "asset-id" => Some(Self::Asset),
            "job-id" => Some(Self::Job),
            "model-id" => Some(Self::Model),
            _ => None,
        }
    }

    /// The Rust newtype of the id (`AssetId`).
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Asset => "AssetId",
            Self::Job => "JobId",
            Self::Model => "ModelId",
        }
    }
}

/// A value's type and the constraints `validate()` checks on it.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Text (`String`), with its length limits.
    String {
        /// `minLength`.
        min_length: Option<u64>,
        /// `maxLength`.
        max_length: Option<u64>,
    },
    /// An id, a newtype in Rust (`format: asset-id`, …).
    Id(IdKind),
    /// Index into [`Checked::enums`].
    Enum(usize),
    /// A whole number (`i64`) within its bounds.
    Integer(Bounds),
    /// A number (`f64`) within its bounds.
    Number(Bounds),
    /// A flag (`bool`).
    Boolean,
    /// A list (`Vec<_>`) of one shape, with its item count limits.
    Array {
        /// The shape of every item.
        items: Box<Shape>,
        /// `minItems`.
        min_items: Option<u64>,
        /// `maxItems`.
        max_items: Option<u64>,
    },
    /// An object of named fields: the items of an array of objects (Scenario's
    /// `inputs_array`), a struct in Rust. Index into [`Checked::objects`].
    Object(usize),
    /// Anything typify maps on its own (api schemas only): objects, references, any JSON.
    Typify,
}

/// The object each item of an array of objects is (`"items": {"type": "object", …}` of a
/// model's parameter): a struct we generate, its fields checked like parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDef {
    /// Its Rust name: the parameter's type name and `Item`, as typify names an array's
    /// items (`shots` → `ShotsItem`).
    pub rust_name: String,
    /// The JSON name of the parameter whose items it is, for messages.
    pub field: String,
    /// Its documentation, from the items' `description`.
    pub description: Option<String>,
    /// Its fields, in the schema's order: each a [`Property`] with its own shape, default
    /// and checks (`required` from the items' `required`; `flag` is the name in
    /// kebab-case; no `x-cli-flag` or `x-ignored-when-present` inside items).
    pub fields: Vec<Property>,
    /// The items accept fields they do not list (`additionalProperties` left out or `true`).
    pub open: bool,
    /// Where the items are written, as a JSON pointer (`/properties/shots/items`).
    pub pointer: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
/// The range (and step) of a number, as its keywords say it.
pub struct Bounds {
    /// `minimum`: the value is at least this.
    pub minimum: Option<f64>,
    /// `maximum`: the value is at most this.
    pub maximum: Option<f64>,
    /// `exclusiveMinimum`: the value is above this.
    pub exclusive_minimum: Option<f64>,
    /// `exclusiveMaximum`: the value is below this.
    pub exclusive_maximum: Option<f64>,
    /// `multipleOf` (Scenario's `step`): each value is a whole multiple of it.
    pub multiple_of: Option<f64>,
}

impl Bounds {
    /// Whether no keyword bounds the value.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether a minimum or maximum is set (`multipleOf` aside).
    pub fn has_range(&self) -> bool {
        Self {
            multiple_of: None,
            ..*self
        } != Self::default()
    }

    fn admits(&self, value: f64) -> bool {
        self.minimum.is_none_or(|min| value >= min)
            && self.maximum.is_none_or(|max| value <= max)
            && self.exclusive_minimum.is_none_or(|min| value > min)
            && self.exclusive_maximum.is_none_or(|max| value < max)
            && self
                .multiple_of
                .is_none_or(|step| decimal::is_multiple_of(value, step))
    }
}

/// An enum we generate ourselves (typify's variant names are `X169`; its enums are closed).
#[derive(Clone, Debug, PartialEq)]
pub struct EnumDef {
    /// Its Rust name (`AspectRatio`).
    pub rust_name: String,
    /// The JSON name of the field it belongs to, for error messages.
    pub field: String,
    /// Its documentation, from the schema's `description`.
    pub description: Option<String>,
    /// Its members, in the schema's order.
    pub variants: Vec<Variant>,
    /// Whether unknown values decode (api enums: a newer server's values).
    pub open: bool,
    /// The member the property's `default` names, by index in `variants`.
    pub default: Option<usize>,
    /// Where the enum is written, as a JSON pointer (`/definitions/JobStatus`): how
    /// `schema-diff` finds an api schema's enum again.
    pub pointer: String,
}

#[derive(Clone, Debug, PartialEq)]
/// One member of an [`EnumDef`].
pub struct Variant {
    /// Its Rust name (`Landscape16x9`).
    pub rust_name: String,
    /// Its value on the wire.
    pub value: VariantValue,
}

#[derive(Clone, Debug, PartialEq)]
/// A member's value on the wire.
pub enum VariantValue {
    /// A string (`"16:9"`).
    String(String),
    /// A whole number (`5`).
    Integer(i64),
    /// A member of an enum of `"type": "number"` with a fractional member (`0.5`).
    Number(f64),
}

impl VariantValue {
    /// The value as text, as messages and flags show it (`16:9`, `5`, `0.5`).
    pub fn text(&self) -> String {
        match self {
            Self::String(text) => text.clone(),
            Self::Integer(number) => number.to_string(),
            Self::Number(number) => number.to_string(),
        }
    }
}

/// One parameter of a model's request.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    /// Its name in JSON (`cfgScale`).
    pub json_name: String,
    /// The `kling generate` flag: `x-cli-flag`, or the name in kebab-case.
    pub flag: String,
    /// Whether the request must carry it (the root's `required`).
    pub required: bool,
    /// Its type and the constraints on it.
    pub shape: Shape,
    /// Its documentation, from the schema's `description`.
    pub description: Option<String>,
    /// Its `default`, checked against its shape.
    pub default: Option<Value>,
    /// `(other field, why)`: the API ignores this field when the other is set.
    pub ignored_when_present: Vec<(String, String)>,
    /// The asset's kind and file limits (`x-asset-kind`, `x-max-size`, …), for an asset
    /// parameter or a list of assets.
    pub asset: Option<AssetFacts>,
    /// `x-model-types`: the kinds of model a model parameter takes (documentation).
    pub model_types: Vec<String>,
    /// `x-ui`: what Scenario's web form shows of the parameter, kept as it is.
    pub ui: Option<Value>,
    /// `uniqueItems: true` on an array: no item twice.
    pub unique_items: bool,
    /// `pattern` on a text parameter (regex-lite's syntax, searched, not anchored).
    pub pattern: Option<String>,
}

/// What the schema says of the file behind an asset parameter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AssetFacts {
    /// `x-asset-kind` (`video`); `image` when left out.
    pub kind: String,
    /// `x-max-size`: the largest file, in bytes.
    pub max_size: Option<u64>,
    /// `x-min-duration`: the shortest media, in seconds.
    pub min_duration: Option<f64>,
    /// `x-max-duration`: the longest media, in seconds.
    pub max_duration: Option<f64>,
}

/// The asset kinds `x-asset-kind` names (Scenario's `kind`, as the SDK lists them).
pub const ASSET_KINDS: &[&str] = &[
    "3d",
    "audio",
    "document",
    "image",
    "image-hdr",
    "json",
    "text",
    "video",
];

/// "`field` is required when …": one entry of the model's root `allOf` (draft-07
/// `if`/`then`).
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The property `then` requires.
    pub field: String,
    /// When it is required.
    pub rule: Rule,
}

/// When a [`Condition`] holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// `{"if": {"not": {"required": [other]}}}`: the other property is left out.
    Absent(String),
    /// `{"if": {"required": [a, …], "properties": {a: {"enum": […]}, …}}}`: every
    /// property named is set to one of its values.
    Values(Vec<(String, Vec<Value>)>),
}

/// The value schema being checked, and what its checks need to know of where it is.
#[derive(Clone, Copy)]
struct Site<'n> {
    node: &'n Map<String, Value>,
    /// Its JSON pointer in the file.
    pointer: &'n str,
    /// The Rust name its own type (an enum) gets.
    type_name: &'n str,
    /// The JSON name of the property it belongs to, for messages.
    field: &'n str,
    /// Keywords of a model's property (`x-cli-flag`, …), allowed beside the type's own.
    property_keywords: &'static [&'static str],
    /// What the value is of.
    place: Place,
}

/// What a value schema is the value of: where objects may be, and which property
/// keywords are allowed beside the type's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// A model's parameter (or a property of an api object).
    Property,
    /// A field of the item objects of a model's array parameter.
    Field,
    /// The items of an array: `of_parameter` when the array is a model's parameter, the
    /// one place a model may have objects (an array of objects).
    Items { of_parameter: bool },
    /// An api definition, or the values of a map.
    Other,
}

impl Site<'_> {
    /// The keywords allowed here: the type's `own` and the property's.
    fn keywords(&self, own: &[&'static str]) -> Vec<&'static str> {
        own.iter().chain(self.property_keywords).copied().collect()
    }

    /// `lowered` with the node's description, for typify's docs.
    fn annotate(&self, mut lowered: Value) -> Value {
        if let (Some(description), Some(object)) =
            (self.node.get("description"), lowered.as_object_mut())
        {
            object.insert("description".to_owned(), description.clone());
        }
        lowered
    }
}

/// A parameter or item field to check (see [`Walker::member`]).
#[derive(Clone, Copy)]
struct Member<'m> {
    /// Its JSON name.
    name: &'m str,
    node: &'m Map<String, Value>,
    /// Its JSON pointer in the file.
    pointer: &'m str,
    /// The Rust name its own type (an enum, an item object) gets.
    type_name: &'m str,
    /// Whether the object it belongs to requires it.
    required: bool,
    place: Place,
}

/// The model's identity, from `x-model-id` and `title`.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelMeta {
    /// The model's id, `x-model-id` (`model_kling-v1-6-pro`).
    pub id: String,
    /// Its `title` (or its id without one).
    pub title: String,
    /// Its `description` (empty without one).
    pub description: String,
    /// Its request struct's name (`Kling16ProRequest`).
    pub rust_name: String,
    /// The module its code goes into (`kling_v1_6_pro`).
    pub module: String,
}

/// What one schema node says for readers only: the keywords of [`DOCUMENTATION`], as
/// written (any JSON: the checker accepts them anywhere and generates no code from them
/// but descriptions and a model's title, which [`Property`], [`EnumDef`] and
/// [`ModelMeta`] also carry).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Docs {
    /// `description`.
    pub description: Option<Value>,
    /// `title`.
    pub title: Option<Value>,
    /// `$comment`: a note for maintainers.
    pub comment: Option<Value>,
    /// `examples`.
    pub examples: Option<Value>,
}

impl Docs {
    /// The documentation of `node`.
    fn of(node: &Map<String, Value>) -> Self {
        let get = |keyword: &str| node.get(keyword).cloned();
        Self {
            description: get("description"),
            title: get("title"),
            comment: get("$comment"),
            examples: get("examples"),
        }
    }

    /// Each keyword of [`DOCUMENTATION`] with its value here, in that order.
    ///
    /// ```
    /// let docs = kling_dialect::Docs::default();
    /// assert_eq!(docs.entries().map(|(keyword, _)| keyword), kling_dialect::DOCUMENTATION);
    /// ```
    pub fn entries(&self) -> [(&'static str, Option<&Value>); 4] {
        [
            ("description", self.description.as_ref()),
            ("title", self.title.as_ref()),
            ("$comment", self.comment.as_ref()),
            ("examples", self.examples.as_ref()),
        ]
    }
}

/// A schema file that passed every check.
#[derive(Clone, Debug)]
pub struct Checked {
    /// A model or an api schema.
    pub kind: Kind,
    /// The model's identity (model schemas only).
    pub model: Option<ModelMeta>,
    /// A model's parameters, in the schema's order (empty for an api schema).
    pub properties: Vec<Property>,
    /// `(field, fields it requires)` from draft-07 `dependencies`.
    pub dependencies: Vec<(String, Vec<String>)>,
    /// Conditional requirements, from the root's `allOf` of `if`/`then`.
    pub conditions: Vec<Condition>,
    /// The enums generated for it; [`Shape::Enum`] indexes them.
    pub enums: Vec<EnumDef>,
    /// The item objects of its arrays of objects; [`Shape::Object`] indexes them.
    pub objects: Vec<ObjectDef>,
    /// A model's request accepts parameters its schema does not list
    /// (`additionalProperties` left out or `true`).
    pub open_request: bool,
    /// What typify reads (api schemas; `Null` for a model, whose code is ours).
    pub lowered: Value,
    /// `(definition name, Rust type)` for typify's `with_replacement`.
    pub replacements: BTreeMap<String, String>,
    /// The documentation of every schema node checked, by JSON pointer (`""` for the
    /// root, `/properties/prompt`, `/properties/images/items`, `/allOf/0/if`, …); a
    /// node without any is there with empty [`Docs`]. Only `schema-diff` reads it.
    pub docs: BTreeMap<String, Docs>,
}

impl Checked {
    /// The Rust type the generator gives a value of `shape` (`String`, `AssetId`,
    /// `AspectRatio`, `Vec<AssetId>`), as messages name it: ids without their crate.
    ///
    /// ```
    /// let schema = r#"{"x-model-id": "model_demo", "type": "object", "properties": {
    ///     "images": {"type": "array", "items": {"type": "string", "format": "asset-id"}}}}"#;
    /// let checked = kling_dialect::check("demo.json", schema, kling_dialect::Kind::Model, "kling_types")?;
    /// assert_eq!(checked.rust_type(&checked.properties[0].shape), "Vec<AssetId>");
    /// # Ok::<(), kling_dialect::SchemaError>(())
    /// ```
    pub fn rust_type(&self, shape: &Shape) -> String {
        rust_type(shape, self.names(), &|id| id.type_name().to_owned())
    }

    /// The names of the types the generator writes for this schema.
    fn names(&self) -> Names<'_> {
        Names {
            enums: &self.enums,
            objects: &self.objects,
        }
    }
}

/// Reads a list of a model's property names at a pointer (`allOf` conditions).
type PropertyNames<'f> = dyn Fn(Option<&Value>, &str) -> Result<Vec<String>, SchemaError> + 'f;

/// The types a schema's shapes index: its enums and item objects.
#[derive(Clone, Copy)]
struct Names<'a> {
    enums: &'a [EnumDef],
    objects: &'a [ObjectDef],
}

/// The Rust type of `shape`, its enums and objects named from `names`, its ids by `id`.
fn rust_type(shape: &Shape, names: Names<'_>, id: &dyn Fn(IdKind) -> String) -> String {
    let enums = names.enums;
    match shape {
        Shape::String { .. } => "String".to_owned(),
        Shape::Id(kind) => id(*kind),
        Shape::Enum(index) => enums[*index].rust_name.clone(),
        Shape::Integer(_) => "i64".to_owned(),
        Shape::Number(_) => "f64".to_owned(),
        Shape::Boolean => "bool".to_owned(),
        Shape::Array { items, .. } => format!("Vec<{}>", rust_type(items, names, id)),
        Shape::Object(index) => names.objects[*index].rust_name.clone(),
        Shape::Typify => "serde_json::Value".to_owned(),
    }
}

/// The one dialect of JSON Schema the generator reads (typify 0.8's).
pub const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";
/// Keywords that document a schema and never change its code (what `schema-diff`
/// reports as patch changes), in the order `schema-diff` reports them.
pub const DOCUMENTATION: &[&str] = &["description", "title", "$comment", "examples"];

/// Keywords the generator accepts anywhere and acts on as annotations: the documentation
/// and `default` (checked against its property, and shown in docs).
fn is_annotation(key: &str) -> bool {
    DOCUMENTATION.contains(&key) || key == "default"
}
const HELP_UNKNOWN: &str = "the generator would drop it silently, so it refuses it: remove it, or teach \
     crates/kling-dialect/src/check.rs what it means and document it in schema/README.md";

/// Checks `text` (the contents of `file`) and lowers it for typify.
///
/// `runtime` is the path of the crate that holds `AssetId` and friends (`crate` inside
/// kling-types, `kling_types` elsewhere).
pub fn check(file: &str, text: &str, kind: Kind, runtime: &str) -> Result<Checked, SchemaError> {
    let root: Value = serde_json::from_str(text).map_err(|error| SchemaError {
        file: file.to_owned(),
        pointer: String::new(),
        message: format!("not valid JSON: {error}"),
        help: "fix the syntax; `python3 -m json.tool FILE` points at the same place".to_owned(),
    })?;
    check_value(file, &root, kind, runtime)
}

/// [`check`] of a schema already parsed.
///
/// ```
/// let schema = serde_json::json!({"x-model-id": "model_demo", "type": "object", "pattern": "a"});
/// let error = kling_dialect::check_value("demo.json", &schema, kling_dialect::Kind::Model, "kling_types")
///     .unwrap_err();
/// assert_eq!(error.pointer, "/pattern");
/// ```
pub fn check_value(
    file: &str,
    root: &Value,
    kind: Kind,
    runtime: &str,
) -> Result<Checked, SchemaError> {
    let walker = Walker {
        file,
        pattern: None,
        asset: None,
        kind,
        runtime,
        enums: Vec::new(),
        objects: Vec::new(),
        replacements: BTreeMap::new(),
        definitions: Map::new(),
        docs: RefCell::new(BTreeMap::new()),
    };
    match kind {
        Kind::Model => walker.model(root),
        Kind::Api => walker.api(root),
    }
}

struct Walker<'a> {
    file: &'a str,
    /// The `pattern` of the property being read.
    pattern: Option<String>,
    /// The asset facts of the property being read (its value or items).
    asset: Option<AssetFacts>,
    kind: Kind,
    runtime: &'a str,
    enums: Vec<EnumDef>,
    objects: Vec<ObjectDef>,
    replacements: BTreeMap<String, String>,
    /// Placeholder definitions that typify replaces with our types.
    definitions: Map<String, Value>,
    /// [`Checked::docs`], filled as each node's keywords are accepted.
    docs: RefCell<BTreeMap<String, Docs>>,
}

impl Walker<'_> {
    fn error(
        &self,
        pointer: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> SchemaError {
        SchemaError {
            file: self.file.to_owned(),
            pointer: pointer.to_owned(),
            message: message.into(),
            help: help.into(),
        }
    }

    fn object<'v>(
        &self,
        node: &'v Value,
        pointer: &str,
    ) -> Result<&'v Map<String, Value>, SchemaError> {
        node.as_object().ok_or_else(|| {
            self.error(
                pointer,
                "expected a schema (a JSON object)",
                "write the schema as an object, e.g. {\"type\": \"string\"}",
            )
        })
    }

    fn only_keywords(
        &self,
        node: &Map<String, Value>,
        pointer: &str,
        allowed: &[&str],
    ) -> Result<(), SchemaError> {
        if let Some(description) = node.get("description")
            && !description.is_string()
        {
            return Err(self.error(
                &format!("{pointer}/description"),
                format!("`description` must be a string, got {description}"),
                "write the documentation as one JSON string: it becomes rustdoc and help, and anything else would be dropped",
            ));
        }
        self.docs
            .borrow_mut()
            .insert(pointer.to_owned(), Docs::of(node));
        match node
            .keys()
            .find(|key| !allowed.contains(&key.as_str()) && !is_annotation(key))
        {
            Some(key) => Err(self.error(
                &format!("{pointer}/{}", escape(key)),
                format!("the keyword `{key}` is not understood here"),
                HELP_UNKNOWN,
            )),
            None => Ok(()),
        }
    }

    fn string<'v>(
        &self,
        node: &'v Map<String, Value>,
        key: &str,
        pointer: &str,
    ) -> Result<Option<&'v str>, SchemaError> {
        match node.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.error(
                &format!("{pointer}/{key}"),
                format!("`{key}` must be a string"),
                "write it as a JSON string",
            )),
        }
    }

    fn count(
        &self,
        node: &Map<String, Value>,
        key: &str,
        pointer: &str,
    ) -> Result<Option<u64>, SchemaError> {
        match node.get(key) {
            None => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                self.error(
                    &format!("{pointer}/{key}"),
                    format!("`{key}` must be a non-negative integer"),
                    "write a count such as 4",
                )
            }),
        }
    }

    fn number(
        &self,
        node: &Map<String, Value>,
        key: &str,
        pointer: &str,
    ) -> Result<Option<f64>, SchemaError> {
        match node.get(key) {
            None => Ok(None),
            Some(value) => value.as_f64().map(Some).ok_or_else(|| {
                self.error(
                    &format!("{pointer}/{key}"),
                    format!("`{key}` must be a number"),
                    "draft-07 writes bounds as numbers (`exclusiveMinimum: 0`, not `true`)",
                )
            }),
        }
    }

    fn model(mut self, root: &Value) -> Result<Checked, SchemaError> {
        let node = self.object(root, "")?;
        self.only_keywords(
            node,
            "",
            &[
                "$schema",
                "x-model-id",
                "type",
                "properties",
                "required",
                "additionalProperties",
                "dependencies",
                "allOf",
            ],
        )?;
        let meta = self.model_meta(node)?;
        let open_request = self.open_request(node)?;
        let required = self.required(node, "")?;
        let empty = Map::new();
        let properties_node = match node.get("properties") {
            Some(properties) => self.object(properties, "/properties")?,
            None => &empty,
        };
        if let Some(missing) = required
            .iter()
            .find(|name| !properties_node.contains_key(*name))
        {
            return Err(self.error(
                "/required",
                format!("`{missing}` is required but not under `properties`"),
                "describe it under `properties`",
            ));
        }
        let properties = properties_node
            .iter()
            .map(|(name, property)| self.property(name, property, properties_node, &required))
            .collect::<Result<Vec<_>, _>>()?;
        self.distinct_flags(&properties)?;
        let dependencies = self.dependencies(node, properties_node)?;
        let conditions = self.conditions(node, &properties)?;
        Ok(Checked {
            kind: self.kind,
            model: Some(meta),
            properties,
            dependencies,
            conditions,
            enums: self.enums,
            objects: self.objects,
            open_request,
            // Typify writes no model's code: the generator writes it from the above.
            lowered: Value::Null,
            replacements: self.replacements,
            docs: self.docs.into_inner(),
        })
    }

    /// `$schema`, when the root has one, names draft-07 (models and api schemas alike).
    fn draft_07(&self, node: &Map<String, Value>) -> Result<(), SchemaError> {
        match self.string(node, "$schema", "")? {
            Some(DRAFT_07) | None => Ok(()),
            Some(other) => Err(self.error(
                "/$schema",
                format!("`{other}` is not JSON Schema draft-07"),
                format!("the generator (typify 0.8) reads draft-07: write \"{DRAFT_07}\""),
            )),
        }
    }

    /// The model's identity: draft-07, an object, its id, title and description.
    fn model_meta(&self, node: &Map<String, Value>) -> Result<ModelMeta, SchemaError> {
        self.draft_07(node)?;
        if node.get("type") != Some(&json!("object")) {
            return Err(self.error(
                "/type",
                "a model's schema must be `\"type\": \"object\"`",
                "describe the request body as an object",
            ));
        }
        let id = self.string(node, "x-model-id", "")?.ok_or_else(|| {
            self.error(
                "",
                "`x-model-id` is missing",
                "add the model id the API uses, e.g. \"x-model-id\": \"model_kling-v1-6-pro\"",
            )
        })?;
        let title = self.string(node, "title", "")?.unwrap_or(id).to_owned();
        let description = self
            .string(node, "description", "")?
            .unwrap_or_default()
            .to_owned();
        let rust_name = request_type_name(&title);
        let meta = ModelMeta {
            id: id.to_owned(),
            title,
            description,
            module: module_name(id),
            rust_name,
        };
        Ok(meta)
    }

    /// Whether the request accepts parameters it does not list (`additionalProperties`).
    fn open_request(&self, node: &Map<String, Value>) -> Result<bool, SchemaError> {
        Ok(match node.get("additionalProperties") {
            None | Some(Value::Bool(true)) => true,
            Some(Value::Bool(false)) => false,
            Some(_) => {
                return Err(self.error(
                    "/additionalProperties",
                    "only `true` or `false` is supported for a model",
                    "a model's parameters are named: list each under `properties`",
                ));
            }
        })
    }

    /// One parameter of a model, under `/properties/NAME`.
    fn property(
        &mut self,
        name: &str,
        property: &Value,
        siblings: &Map<String, Value>,
        required: &[String],
    ) -> Result<Property, SchemaError> {
        let pointer = format!("/properties/{}", escape(name));
        let property_node = self.object(property, &pointer)?;
        let ignored_when_present = self.ignored_when_present(property_node, &pointer, siblings)?;
        let flag = self
            .cli_flag(property_node, &pointer)?
            .unwrap_or_else(|| kebab(name));
        self.unreserved_flag(name, &flag, property_node, &pointer)?;
        let member = Member {
            name,
            node: property_node,
            pointer: &pointer,
            type_name: &property_type_name(name),
            required: required.iter().any(|need| need == name),
            place: Place::Property,
        };
        Ok(Property {
            flag,
            ignored_when_present,
            ..self.member(&member)?
        })
    }

    /// A parameter, or a field of an array's item objects: its shape and the facts
    /// beside it (asset, pattern, model types, `x-ui`, default). Its flag is the name in
    /// kebab-case, and it is ignored when nothing: [`Self::property`] sets both.
    fn member(&mut self, member: &Member<'_>) -> Result<Property, SchemaError> {
        let Member {
            name,
            node,
            pointer,
            type_name,
            required,
            place,
        } = *member;
        self.asset = None;
        self.pattern = None;
        let (_, shape) = self.value(node, pointer, type_name, name, place)?;
        let asset = self.asset.take();
        let pattern = self.pattern.take();
        if let Some(pattern) = &pattern
            && let Some(default) = node.get("default").and_then(Value::as_str)
            && !regex_lite::Regex::new(pattern).is_ok_and(|regex| regex.is_match(default))
        {
            return Err(self.error(
                &format!("{pointer}/default"),
                format!("the default {default:?} does not match the property's `pattern`"),
                "make the default a value the schema accepts",
            ));
        }
        let model_types = self.model_types(node, pointer, &shape)?;
        let ui = match node.get("x-ui") {
            None => None,
            Some(ui @ Value::Object(_)) => Some(ui.clone()),
            Some(_) => {
                return Err(self.error(
                    &format!("{pointer}/x-ui"),
                    "`x-ui` must be an object of Scenario's form fields",
                    "write e.g. {\"costImpact\": true, \"group\": \"main\"}",
                ));
            }
        };
        let default = node.get("default").cloned();
        if let Some(default) = &default {
            self.check_default(&shape, default, &format!("{pointer}/default"))?;
        }
        Ok(Property {
            json_name: name.to_owned(),
            flag: kebab(name),
            required,
            shape,
            description: node
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            default,
            ignored_when_present: Vec::new(),
            asset,
            model_types,
            ui,
            unique_items: node.get("uniqueItems") == Some(&Value::Bool(true)),
            pattern,
        })
    }

    /// `x-model-types`: a list of model kinds, on a model id or a list of them.
    fn model_types(
        &self,
        node: &Map<String, Value>,
        pointer: &str,
        shape: &Shape,
    ) -> Result<Vec<String>, SchemaError> {
        let Some(types) = node.get("x-model-types") else {
            return Ok(Vec::new());
        };
        let pointer = format!("{pointer}/x-model-types");
        let is_model = match shape {
            Shape::Id(IdKind::Model) => true,
            Shape::Array { items, .. } => **items == Shape::Id(IdKind::Model),
            _ => false,
        };
        if !is_model {
            return Err(self.error(
                &pointer,
                "`x-model-types` belongs to a model parameter",
                "use it beside \"format\": \"model-id\" (or on an array of model ids)",
            ));
        }
        types
            .as_array()
            .and_then(|types| {
                types
                    .iter()
                    .map(|kind| {
                        kind.as_str()
                            .filter(|kind| !kind.is_empty())
                            .map(str::to_owned)
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                self.error(
                    &pointer,
                    "`x-model-types` must be a list of model types",
                    "write e.g. [\"flux.1-lora\"]",
                )
            })
    }

    /// The root's `allOf`: conditional requirements, each `{"if": …, "then": {"required": [field]}}`.
    fn conditions(
        &self,
        node: &Map<String, Value>,
        properties: &[Property],
    ) -> Result<Vec<Condition>, SchemaError> {
        let Some(all_of) = node.get("allOf") else {
            return Ok(Vec::new());
        };
        let help = "write {\"if\": {\"not\": {\"required\": [\"other\"]}}, \"then\": {\"required\": [\"field\"]}} or \
             {\"if\": {\"required\": [\"other\"], \"properties\": {\"other\": {\"enum\": [\"value\"]}}}, \"then\": {\"required\": [\"field\"]}}";
        let entries = all_of
            .as_array()
            .ok_or_else(|| self.error("/allOf", "`allOf` must be a list of conditions", help))?;
        let property = |name: &str| {
            properties
                .iter()
                .find(|property| property.json_name == name)
        };
        entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let pointer = format!("/allOf/{index}");
                let entry = self.object(entry, &pointer)?;
                self.only_keywords(entry, &pointer, &["if", "then"])?;
                let names = |node: Option<&Value>, at: &str| -> Result<Vec<String>, SchemaError> {
                    let names = node
                        .and_then(Value::as_array)
                        .and_then(|names| {
                            names
                                .iter()
                                .map(|name| name.as_str().map(str::to_owned))
                                .collect::<Option<Vec<_>>>()
                        })
                        .filter(|names| !names.is_empty())
                        .ok_or_else(|| {
                            self.error(at, "expected a non-empty list of property names", help)
                        })?;
                    match names.iter().find(|name| property(name).is_none()) {
                        Some(unknown) => Err(self.error(
                            at,
                            format!("`{unknown}` is not a property of this model"),
                            "name properties listed under `properties`",
                        )),
                        None => Ok(names),
                    }
                };
                let then = entry
                    .get("then")
                    .and_then(Value::as_object)
                    .ok_or_else(|| self.error(&pointer, "a condition needs `then`", help))?;
                self.only_keywords(then, &format!("{pointer}/then"), &["required"])?;
                let then_pointer = format!("{pointer}/then/required");
                let fields = names(then.get("required"), &then_pointer)?;
                let [field] = fields.as_slice() else {
                    return Err(self.error(&then_pointer, "`then` requires one property", help));
                };
                let condition = entry
                    .get("if")
                    .and_then(Value::as_object)
                    .ok_or_else(|| self.error(&pointer, "a condition needs `if`", help))?;
                let if_pointer = format!("{pointer}/if");
                let rule = if let Some(not) = condition.get("not") {
                    self.only_keywords(condition, &if_pointer, &["not"])?;
                    let not = self.object(not, &format!("{if_pointer}/not"))?;
                    self.only_keywords(not, &format!("{if_pointer}/not"), &["required"])?;
                    let others = names(not.get("required"), &format!("{if_pointer}/not/required"))?;
                    let [other] = others.as_slice() else {
                        return Err(self.error(&if_pointer, "`not` names one property", help));
                    };
                    Rule::Absent(other.clone())
                } else {
                    self.value_rule(condition, &if_pointer, &names, help)?
                };
                if property(field).is_some_and(|property| property.required) {
                    return Err(self.error(
                        &then_pointer,
                        format!("`{field}` is always required: the condition adds nothing"),
                        "remove the condition, or `field` from the root's `required`",
                    ));
                }
                Ok(Condition {
                    field: field.clone(),
                    rule,
                })
            })
            .collect()
    }

    /// `{"if": {"required": [a, …], "properties": {a: {"enum": […]}, …}}}`: the rule of a
    /// condition that holds when every property named has one of its values (`names`
    /// reads a list of this model's property names).
    fn value_rule(
        &self,
        condition: &Map<String, Value>,
        if_pointer: &str,
        names: &PropertyNames<'_>,
        help: &str,
    ) -> Result<Rule, SchemaError> {
        self.only_keywords(condition, if_pointer, &["required", "properties"])?;
        let others = names(condition.get("required"), &format!("{if_pointer}/required"))?;
        let values = condition
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                self.error(if_pointer, "`if` needs `properties` with the values", help)
            })?;
        if values.len() != others.len() || others.iter().any(|other| !values.contains_key(other)) {
            return Err(self.error(
                if_pointer,
                "`if` must list the same properties under `required` and `properties`",
                "without `required`, draft-07 holds the condition when the property is left out",
            ));
        }
        let mut rule = Vec::new();
        for other in &others {
            let at = format!("{if_pointer}/properties/{}", escape(other));
            let allowed = self.object(&values[other], &at)?;
            self.only_keywords(allowed, &at, &["enum"])?;
            let allowed = allowed
                .get("enum")
                .and_then(Value::as_array)
                .filter(|allowed| !allowed.is_empty())
                .ok_or_else(|| self.error(&at, "list the values under `enum`", help))?;
            rule.push((other.clone(), allowed.clone()));
        }
        Ok(Rule::Values(rule))
    }

    fn api(mut self, root: &Value) -> Result<Checked, SchemaError> {
        let node = self.object(root, "")?;
        self.only_keywords(node, "", &["$schema", "definitions"])?;
        self.draft_07(node)?;
        let definitions = match node.get("definitions") {
            Some(definitions) => self.object(definitions, "/definitions")?,
            None => {
                return Err(self.error(
                    "",
                    "an api schema needs `definitions`",
                    "define each wire type under `definitions`",
                ));
            }
        };
        let mut lowered = Map::new();
        for (name, definition) in definitions {
            let pointer = format!("/definitions/{}", escape(name));
            let definition_node = self.object(definition, &pointer)?;
            let (value, shape) = self.value(definition_node, &pointer, name, name, Place::Other)?;
            // An enum or id definition becomes our own type under the definition's name.
            if !matches!(shape, Shape::Typify) {
                let rust = self.rust_type(&shape);
                if rust != *name {
                    self.replacements.insert(name.clone(), rust);
                }
                continue;
            }
            lowered.insert(name.clone(), value);
        }
        for (name, placeholder) in std::mem::take(&mut self.definitions) {
            lowered.insert(name, placeholder);
        }
        Ok(Checked {
            kind: self.kind,
            model: None,
            properties: Vec::new(),
            dependencies: Vec::new(),
            conditions: Vec::new(),
            enums: self.enums,
            objects: self.objects,
            open_request: false,
            lowered: json!({ "$schema": DRAFT_07, "definitions": lowered }),
            replacements: self.replacements,
            docs: self.docs.into_inner(),
        })
    }

    fn required(
        &self,
        node: &Map<String, Value>,
        pointer: &str,
    ) -> Result<Vec<String>, SchemaError> {
        let Some(required) = node.get("required") else {
            return Ok(Vec::new());
        };
        required
            .as_array()
            .and_then(|names| {
                names
                    .iter()
                    .map(|name| name.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                self.error(
                    &format!("{pointer}/required"),
                    "`required` must be a list of property names",
                    "write e.g. [\"prompt\"]",
                )
            })
    }

    fn ignored_when_present(
        &self,
        node: &Map<String, Value>,
        pointer: &str,
        siblings: &Map<String, Value>,
    ) -> Result<Vec<(String, String)>, SchemaError> {
        let Some(rules) = node.get("x-ignored-when-present") else {
            return Ok(Vec::new());
        };
        let pointer = format!("{pointer}/x-ignored-when-present");
        let help =
            "write {\"otherField\": \"why the API ignores this field when otherField is set\"}";
        let rules = rules.as_object().ok_or_else(|| {
            self.error(&pointer, "`x-ignored-when-present` must be an object", help)
        })?;
        rules
            .iter()
            .map(|(other, why)| {
                let here = format!("{pointer}/{}", escape(other));
                if !siblings.contains_key(other) {
                    return Err(self.error(
                        &here,
                        format!("`{other}` is not a property of this model"),
                        "name a property listed under `properties`",
                    ));
                }
                let why = why.as_str().filter(|why| !why.is_empty()).ok_or_else(|| {
                    self.error(&here, "the reason must be a non-empty string", help)
                })?;
                Ok((other.clone(), why.to_owned()))
            })
            .collect()
    }

    /// `x-cli-flag`: the `kling generate` flag of a parameter, when kebab-case of its
    /// name reads wrong (`referenceImages`, repeatable, is `--reference-image`).
    fn cli_flag(
        &self,
        node: &Map<String, Value>,
        pointer: &str,
    ) -> Result<Option<String>, SchemaError> {
        let Some(flag) = node.get("x-cli-flag") else {
            return Ok(None);
        };
        let is_kebab = |flag: &str| {
            flag.starts_with(|first: char| first.is_ascii_lowercase())
                && flag
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !flag.ends_with('-')
                && !flag.contains("--")
        };
        match flag.as_str() {
            Some(flag) if is_kebab(flag) => Ok(Some(flag.to_owned())),
            _ => Err(self.error(
                &format!("{pointer}/x-cli-flag"),
                format!("`x-cli-flag` must be a flag name in kebab-case, got {flag}"),
                "write the name without dashes in front, e.g. \"reference-image\"",
            )),
        }
    }

    /// A parameter's flag must not be one of `kling generate`'s own (clap would refuse the
    /// command, and `kling generate` panic at start).
    fn unreserved_flag(
        &self,
        name: &str,
        flag: &str,
        node: &Map<String, Value>,
        pointer: &str,
    ) -> Result<(), SchemaError> {
        if !is_reserved_flag(flag) {
            return Ok(());
        }
        let (pointer, whose) = if node.contains_key("x-cli-flag") {
            (format!("{pointer}/x-cli-flag"), "the `x-cli-flag`")
        } else {
            (pointer.to_owned(), "the flag")
        };
        Err(self.error(
            &pointer,
            format!(
                "{whose} `--{flag}` of `{name}` is one of `kling generate`'s own flags: clap would refuse the command"
            ),
            format!(
                "give the parameter another flag, e.g. \"x-cli-flag\": \"{}\" (what the importer writes; see schema/README.md, Extensions)",
                renamed_flag(flag)
            ),
        ))
    }

    /// Two parameters of one model must not share a flag.
    fn distinct_flags(&self, properties: &[Property]) -> Result<(), SchemaError> {
        for (index, property) in properties.iter().enumerate() {
            if let Some(first) = properties[..index]
                .iter()
                .find(|other| other.flag == property.flag)
            {
                return Err(self.error(
                    &format!("/properties/{}", escape(&property.json_name)),
                    format!(
                        "`{}` and `{}` would both be `--{}`: clap would refuse the command",
                        first.json_name, property.json_name, property.flag
                    ),
                    "give one of them another flag with `x-cli-flag` (schema/README.md, Extensions)",
                ));
            }
        }
        Ok(())
    }

    fn dependencies(
        &self,
        node: &Map<String, Value>,
        properties: &Map<String, Value>,
    ) -> Result<Vec<(String, Vec<String>)>, SchemaError> {
        let Some(dependencies) = node.get("dependencies") else {
            return Ok(Vec::new());
        };
        let dependencies = self.object(dependencies, "/dependencies")?;
        let help = "draft-07 property dependencies: {\"endImage\": [\"startImage\"]} (schema dependencies are not supported)";
        dependencies
            .iter()
            .map(|(name, needs)| {
                let pointer = format!("/dependencies/{}", escape(name));
                let needs = needs
                    .as_array()
                    .and_then(|needs| {
                        needs
                            .iter()
                            .map(|need| need.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| {
                        self.error(
                            &pointer,
                            "a dependency must be a list of property names",
                            help,
                        )
                    })?;
                if let Some(unknown) = std::iter::once(name)
                    .chain(&needs)
                    .find(|name| !properties.contains_key(*name))
                {
                    return Err(self.error(
                        &pointer,
                        format!("`{unknown}` is not a property of this model"),
                        "name properties listed under `properties`",
                    ));
                }
                Ok((name.clone(), needs))
            })
            .collect()
    }

    /// Checks one value schema; returns its lowered form and its shape. One function
    /// per type of value follows.
    fn value(
        &mut self,
        node: &Map<String, Value>,
        pointer: &str,
        type_name: &str,
        field: &str,
        place: Place,
    ) -> Result<(Value, Shape), SchemaError> {
        let site = Site {
            node,
            pointer,
            type_name,
            field,
            property_keywords: match (place, self.kind) {
                (Place::Property, Kind::Model) => &[
                    "x-ignored-when-present",
                    "x-cli-flag",
                    "x-ui",
                    "x-model-types",
                ],
                (Place::Field, _) => &["x-ui", "x-model-types"],
                _ => &[],
            },
            place,
        };
        if node.contains_key("$ref") {
            return self.reference(&site);
        }
        let Some(ty) = node.get("type") else {
            return self.untyped(&site);
        };
        let ty = ty.as_str().ok_or_else(|| {
            self.error(
                &format!("{pointer}/type"),
                "`type` must be a single type name",
                "a list of types (or \"null\") has no Rust type here: pick one, and leave the property out of `required` to make it optional",
            )
        })?;
        match ty {
            "string" => self.string_value(&site),
            "integer" | "number" => self.number_value(&site, ty),
            "boolean" => self.boolean_value(&site),
            "array" => self.array_value(&site),
            "object" if self.kind == Kind::Api => self.object_value(&site),
            "object" if place == (Place::Items { of_parameter: true }) => self.object_items(&site),
            "object" if place == Place::Property => Err(self.error(
                &format!("{pointer}/type"),
                "nested objects are not supported in a model's request",
                "Scenario's models take flat parameters: split it into several properties (a list of objects is an array whose `items` is the object)",
            )),
            "object" => Err(self.error(
                &format!("{pointer}/type"),
                "an object inside the items of an array of objects: the dialect has one level of objects, a parameter's items",
                "give the item flat fields (strings, numbers, booleans, enums, ids, or arrays of those)",
            )),
            other => Err(self.error(
                &format!("{pointer}/type"),
                format!("the type `{other}` has no Rust type here"),
                "use one of string, integer, number, boolean, array (and object in api schemas)",
            )),
        }
    }

    /// `$ref` (api schemas only): a type of this file's `definitions`.
    fn reference(&mut self, site: &Site<'_>) -> Result<(Value, Shape), SchemaError> {
        let Site { node, pointer, .. } = *site;
        let with = |own: &[&'static str]| site.keywords(own);
        let annotate = |lowered: Value| site.annotate(lowered);
        let reference = &node["$ref"];
        if self.kind == Kind::Model {
            return Err(self.error(
                &format!("{pointer}/$ref"),
                "`$ref` is not supported in a model's schema",
                "write the parameter's schema in place; a model's request is one flat object",
            ));
        }
        self.only_keywords(node, pointer, &with(&["$ref"]))?;
        let target = reference.as_str().unwrap_or_default();
        if !target.starts_with("#/definitions/") {
            return Err(self.error(
                &format!("{pointer}/$ref"),
                format!("`{target}` does not point into this file's `definitions`"),
                "references to other files or URLs are not followed: define the type under this file's `definitions` and use \"#/definitions/Name\"",
            ));
        }
        Ok((annotate(json!({ "$ref": target })), Shape::Typify))
    }

    /// No `type`: any JSON in an api schema (annotations only), refused otherwise.
    fn untyped(&mut self, site: &Site<'_>) -> Result<(Value, Shape), SchemaError> {
        let Site { node, pointer, .. } = *site;
        let annotate = |lowered: Value| site.annotate(lowered);
        if self.kind == Kind::Api && node.keys().all(|key| is_annotation(key)) {
            self.only_keywords(node, pointer, &[])?;
            return Ok((annotate(json!({})), Shape::Typify));
        }
        Err(self.error(
            pointer,
            "no `type`: the generator cannot tell what Rust type to use",
            "add \"type\": one of string, integer, number, boolean, array (and object in api schemas)",
        ))
    }

    /// `"type": "string"`: text, an id (`format`) or an enum of strings.
    fn string_value(&mut self, site: &Site<'_>) -> Result<(Value, Shape), SchemaError> {
        let Site { node, pointer, .. } = *site;
        let with = |own: &[&'static str]| site.keywords(own);
        let annotate = |lowered: Value| site.annotate(lowered);
        self.only_keywords(
            node,
            pointer,
            &with(&[
                "type",
                "minLength",
                "maxLength",
                "enum",
                "x-enum-names",
                "format",
                "x-asset-kind",
                "x-max-size",
                "x-min-duration",
                "x-max-duration",
                "const",
                "pattern",
            ]),
        )?;
        let single = self.const_as_enum(node, pointer)?;
        self.text_pattern(node, pointer, single.is_some())?;
        let asset_keywords = [
            "x-asset-kind",
            "x-max-size",
            "x-min-duration",
            "x-max-duration",
        ];
        if let Some(keyword) = asset_keywords
            .iter()
            .find(|keyword| node.contains_key(**keyword))
            && (self.kind == Kind::Api || node.get("format") != Some(&json!("asset-id")))
        {
            return Err(self.error(
                &format!("{pointer}/{keyword}"),
                format!("`{keyword}` belongs to an asset of a model (`\"format\": \"asset-id\"`)"),
                "move it beside `\"format\": \"asset-id\"`, or remove it",
            ));
        }
        if let Some(values) = single.as_ref().or(node.get("enum")) {
            return self.string_enum(site, values);
        }
        if let Some(format) = self.string(node, "format", pointer)? {
            if let Some(id) = IdKind::from_format(format) {
                if node.contains_key("minLength") || node.contains_key("maxLength") {
                    return Err(self.error(
                        pointer,
                        "an id cannot have length limits",
                        "leave them out; ids are opaque",
                    ));
                }
                if id == IdKind::Asset && self.kind == Kind::Model {
                    self.asset = Some(self.asset_facts(node, pointer)?);
                }
                return Ok((
                    annotate(self.replace(id.type_name(), &self.rust_id(id))),
                    Shape::Id(id),
                ));
            }
            if self.kind == Kind::Model || !["date-time", "uri"].contains(&format) {
                return Err(self.error(
                    &format!("{pointer}/format"),
                    format!("the format `{format}` is not understood here"),
                    "known formats: asset-id, job-id, model-id (typed ids); date-time and uri in api schemas (kept as strings)",
                ));
            }
        }
        let shape = Shape::String {
            min_length: self.count(node, "minLength", pointer)?,
            max_length: self.count(node, "maxLength", pointer)?,
        };
        if self.kind == Kind::Api
            && shape
                != (Shape::String {
                    min_length: None,
                    max_length: None,
                })
        {
            return Err(self.error(
                pointer,
                "length limits mean nothing in a response type",
                "leave them out of api schemas",
            ));
        }
        Ok((annotate(json!({ "type": "string" })), shape))
    }

    /// `pattern` on a model's plain text (`enumerated`: an enum or `const` is beside it),
    /// compiled as `validate()` will: kept for the property being read.
    fn text_pattern(
        &mut self,
        node: &Map<String, Value>,
        pointer: &str,
        enumerated: bool,
    ) -> Result<(), SchemaError> {
        let Some(pattern) = self.string(node, "pattern", pointer)? else {
            return Ok(());
        };
        if self.kind == Kind::Api
            || enumerated
            || node.contains_key("enum")
            || node.contains_key("format")
        {
            return Err(self.error(
                &format!("{pointer}/pattern"),
                "`pattern` belongs to a model's plain text (not an enum, an id, or a response)",
                "remove it, or the enum or format beside it",
            ));
        }
        if let Err(error) = regex_lite::Regex::new(pattern) {
            return Err(self.error(
                &format!("{pointer}/pattern"),
                format!("`{pattern}` is not a regular expression `validate()` can check: {error}"),
                "write it in the common subset of ECMA 262 (JSON Schema's) and the regex-lite crate: classes, groups, alternation, repetition, anchors",
            ));
        }
        self.pattern = Some(pattern.to_owned());
        Ok(())
    }

    /// A string enum (`enum`, or `const` read as one: `values`), with no length or format.
    fn string_enum(
        &mut self,
        site: &Site<'_>,
        values: &Value,
    ) -> Result<(Value, Shape), SchemaError> {
        let Site {
            node,
            pointer,
            type_name,
            field,
            ..
        } = *site;
        if node.contains_key("minLength")
            || node.contains_key("maxLength")
            || node.contains_key("format")
        {
            return Err(self.error(
                pointer,
                "an enum cannot also have length limits or a format",
                "list the allowed values only",
            ));
        }
        let values = values
            .as_array()
            .and_then(|values| {
                values
                    .iter()
                    .map(|value| {
                        value
                            .as_str()
                            .map(|text| VariantValue::String(text.to_owned()))
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                self.error(
                    &format!("{pointer}/enum"),
                    "a string enum must list strings",
                    "write e.g. [\"16:9\", \"9:16\"]",
                )
            })?;
        self.own_enum(node, pointer, type_name, field, values)
    }

    /// `const`: the one value allowed, read as an enum of it (a model's strings and
    /// integers only; never beside `enum`).
    fn const_as_enum(
        &self,
        node: &Map<String, Value>,
        pointer: &str,
    ) -> Result<Option<Value>, SchemaError> {
        let Some(value) = node.get("const") else {
            return Ok(None);
        };
        if self.kind == Kind::Api || node.contains_key("enum") {
            return Err(self.error(
                &format!("{pointer}/const"),
                "`const` is read as an enum of one value in a model, never beside `enum`",
                "keep one of `const` and `enum`",
            ));
        }
        Ok(Some(Value::Array(vec![value.clone()])))
    }

    /// `x-asset-kind` and the file limits of an asset.
    fn asset_facts(
        &self,
        node: &Map<String, Value>,
        pointer: &str,
    ) -> Result<AssetFacts, SchemaError> {
        let kind = self
            .string(node, "x-asset-kind", pointer)?
            .unwrap_or("image");
        if !ASSET_KINDS.contains(&kind) {
            return Err(self.error(
                &format!("{pointer}/x-asset-kind"),
                format!("`{kind}` is not an asset kind"),
                format!("Scenario's kinds: {}", ASSET_KINDS.join(", ")),
            ));
        }
        let seconds = |key: &str| -> Result<Option<f64>, SchemaError> {
            match self.number(node, key, pointer)? {
                Some(seconds) if seconds < 0.0 => Err(self.error(
                    &format!("{pointer}/{key}"),
                    format!("`{key}` must not be negative"),
                    "write a duration in seconds, e.g. 2.5",
                )),
                seconds => Ok(seconds),
            }
        };
        let facts = AssetFacts {
            kind: kind.to_owned(),
            max_size: self.count(node, "x-max-size", pointer)?,
            min_duration: seconds("x-min-duration")?,
            max_duration: seconds("x-max-duration")?,
        };
        if (facts.min_duration.is_some() || facts.max_duration.is_some())
            && !["video", "audio"].contains(&kind)
        {
            return Err(self.error(
                pointer,
                format!("a file of kind `{kind}` has no duration"),
                "durations belong to video and audio assets: set `x-asset-kind`, or remove them",
            ));
        }
        if let (Some(min), Some(max)) = (facts.min_duration, facts.max_duration)
            && min > max
        {
            return Err(self.error(
                &format!("{pointer}/x-min-duration"),
                "`x-min-duration` is greater than `x-max-duration`: no file would be accepted",
                "fix one of them",
            ));
        }
        Ok(facts)
    }

    /// `"type": "integer"` or `"number"`: bounds, or an enum of integers.
    fn number_value(&mut self, site: &Site<'_>, ty: &str) -> Result<(Value, Shape), SchemaError> {
        let Site {
            node,
            pointer,
            type_name,
            field,
            ..
        } = *site;
        let with = |own: &[&'static str]| site.keywords(own);
        let annotate = |lowered: Value| site.annotate(lowered);
        self.only_keywords(
            node,
            pointer,
            &with(&[
                "type",
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
                "multipleOf",
                "enum",
                "x-enum-names",
                "const",
            ]),
        )?;
        let single = self.const_as_enum(node, pointer)?;
        let bounds = Bounds {
            minimum: self.number(node, "minimum", pointer)?,
            maximum: self.number(node, "maximum", pointer)?,
            exclusive_minimum: self.number(node, "exclusiveMinimum", pointer)?,
            exclusive_maximum: self.number(node, "exclusiveMaximum", pointer)?,
            multiple_of: self.number(node, "multipleOf", pointer)?,
        };
        if let Some(step) = bounds.multiple_of
            && !(step > 0.0 && step.is_finite())
        {
            return Err(self.error(
                &format!("{pointer}/multipleOf"),
                format!("`multipleOf` must be greater than 0, got {step}"),
                "write the step between allowed values, e.g. 0.5",
            ));
        }
        if let Some(values) = single.as_ref().or(node.get("enum")) {
            if !bounds.is_empty() {
                return Err(self.error(
                    pointer,
                    "an enum cannot also have bounds",
                    "list the allowed values only",
                ));
            }
            let members = values
                .as_array()
                .filter(|members| members.iter().all(Value::is_number));
            let fractional = members.is_some_and(|members| {
                members
                    .iter()
                    .any(|member| member.as_i64().is_none() && member.as_u64().is_none())
            });
            let values = members
                .and_then(|members| {
                    members
                        .iter()
                        .map(|member| match (fractional, ty) {
                            // An enum of fractional numbers (`[0.5, 1, 1.5]`) is one of numbers.
                            (true, "number") => member.as_f64().map(VariantValue::Number),
                            (true, _) => None,
                            (false, _) => member.as_i64().map(VariantValue::Integer),
                        })
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    self.error(
                        &format!("{pointer}/enum"),
                        "a numeric enum must list integers, or numbers with `\"type\": \"number\"`",
                        "write whole numbers for an integer, or make the type \"number\" for fractional values",
                    )
                })?;
            return self.own_enum(node, pointer, type_name, field, values);
        }
        if self.kind == Kind::Api && !bounds.is_empty() {
            return Err(self.error(
                pointer,
                "bounds mean nothing in a response type",
                "leave them out of api schemas",
            ));
        }
        if ty == "integer" {
            Ok((
                annotate(json!({ "type": "integer", "format": "int64" })),
                Shape::Integer(bounds),
            ))
        } else {
            Ok((
                annotate(json!({ "type": "number", "format": "double" })),
                Shape::Number(bounds),
            ))
        }
    }

    /// `"type": "boolean"`.
    fn boolean_value(&mut self, site: &Site<'_>) -> Result<(Value, Shape), SchemaError> {
        let Site { node, pointer, .. } = *site;
        let with = |own: &[&'static str]| site.keywords(own);
        let annotate = |lowered: Value| site.annotate(lowered);
        self.only_keywords(node, pointer, &with(&["type"]))?;
        Ok((annotate(json!({ "type": "boolean" })), Shape::Boolean))
    }

    /// `"type": "array"`: items of one kind, counted in a model.
    fn array_value(&mut self, site: &Site<'_>) -> Result<(Value, Shape), SchemaError> {
        let Site {
            node,
            pointer,
            type_name,
            field,
            ..
        } = *site;
        let with = |own: &[&'static str]| site.keywords(own);
        let annotate = |lowered: Value| site.annotate(lowered);
        self.only_keywords(
            node,
            pointer,
            &with(&["type", "items", "minItems", "maxItems", "uniqueItems"]),
        )?;
        if let Some(unique) = node.get("uniqueItems")
            && (!unique.is_boolean() || self.kind == Kind::Api)
        {
            return Err(self.error(
                &format!("{pointer}/uniqueItems"),
                "`uniqueItems` must be true or false, on a model's array",
                "write \"uniqueItems\": true",
            ));
        }
        let items_pointer = format!("{pointer}/items");
        let items = node.get("items").ok_or_else(|| {
            self.error(pointer, "an array needs `items`", "describe the items, e.g. \"items\": {\"type\": \"string\", \"format\": \"asset-id\"}")
        })?;
        let items = self.object(items, &items_pointer)?;
        let of_parameter = site.place == Place::Property && self.kind == Kind::Model;
        let (lowered_items, items_shape) = self.value(
            items,
            &items_pointer,
            &format!("{type_name}Item"),
            field,
            Place::Items { of_parameter },
        )?;
        let min_items = self.count(node, "minItems", pointer)?;
        let max_items = self.count(node, "maxItems", pointer)?;
        if self.kind == Kind::Api {
            if min_items.is_some() || max_items.is_some() {
                return Err(self.error(
                    pointer,
                    "item counts mean nothing in a response type",
                    "leave them out of api schemas",
                ));
            }
            return Ok((
                annotate(json!({ "type": "array", "items": lowered_items })),
                Shape::Array {
                    items: Box::new(items_shape),
                    min_items,
                    max_items,
                },
            ));
        }
        if matches!(items_shape, Shape::Array { .. }) {
            return Err(self.error(
                &items_pointer,
                "arrays of arrays are not supported in a model",
                "use strings, integers, numbers, booleans, ids or an enum as items",
            ));
        }
        let shape = Shape::Array {
            items: Box::new(items_shape),
            min_items,
            max_items,
        };
        // An optional array is `Option<Vec<T>>`, not typify's `Vec<T>` (which cannot
        // tell "left out" from "empty", and `minItems: 1` needs to).
        let rust = self.rust_type(&shape);
        Ok((
            annotate(self.replace(&format!("{type_name}List"), &rust)),
            shape,
        ))
    }

    /// `"type": "object"` (api schemas only): a struct typify writes, or a map.
    fn object_value(&mut self, site: &Site<'_>) -> Result<(Value, Shape), SchemaError> {
        let Site {
            node,
            pointer,
            type_name,
            field,
            ..
        } = *site;
        let annotate = |lowered: Value| site.annotate(lowered);
        self.only_keywords(
            node,
            pointer,
            &["type", "properties", "required", "additionalProperties"],
        )?;
        let required = self.required(node, pointer)?;
        let mut lowered_properties = Map::new();
        if let Some(properties) = node.get("properties") {
            for (name, property) in self.object(properties, &format!("{pointer}/properties"))? {
                let here = format!("{pointer}/properties/{}", escape(name));
                let property = self.object(property, &here)?;
                let (lowered, _) = self.value(
                    property,
                    &here,
                    &format!("{type_name}{}", upper_camel(name)),
                    name,
                    Place::Property,
                )?;
                lowered_properties.insert(name.clone(), lowered);
            }
        }
        let mut lowered =
            json!({ "type": "object", "properties": lowered_properties, "required": required });
        match node.get("additionalProperties") {
            None => {}
            Some(Value::Object(values)) => {
                let here = format!("{pointer}/additionalProperties");
                let (values, _) = self.value(
                    values,
                    &here,
                    &format!("{type_name}Value"),
                    field,
                    Place::Other,
                )?;
                lowered["additionalProperties"] = values;
            }
            Some(_) => {
                return Err(self.error(
                    &format!("{pointer}/additionalProperties"),
                    "a response type must accept fields it does not know",
                    "leave `additionalProperties` out (or give the schema of a map's values): a newer server must never break decoding",
                ));
            }
        }
        if node.get("title").is_some() {
            lowered["title"] = node["title"].clone();
        }
        Ok((annotate(lowered), Shape::Typify))
    }

    /// `"type": "object"` as the items of a model's array parameter: a struct we write,
    /// its fields checked like parameters (one level: no object inside).
    fn object_items(&mut self, site: &Site<'_>) -> Result<(Value, Shape), SchemaError> {
        let Site {
            node,
            pointer,
            type_name,
            field,
            ..
        } = *site;
        self.only_keywords(
            node,
            pointer,
            &["type", "properties", "required", "additionalProperties"],
        )?;
        let required = self.required(node, pointer)?;
        let properties = match node.get("properties") {
            Some(properties) => self.object(properties, &format!("{pointer}/properties"))?,
            None => &Map::new(),
        };
        if properties.is_empty() {
            return Err(self.error(
                pointer,
                "an item object needs `properties`: its fields",
                "list each field of an item under `properties`",
            ));
        }
        if let Some(missing) = required.iter().find(|name| !properties.contains_key(*name)) {
            return Err(self.error(
                &format!("{pointer}/required"),
                format!("`{missing}` is required but not under `properties`"),
                "describe it under the items' `properties`",
            ));
        }
        let open = match node.get("additionalProperties") {
            None | Some(Value::Bool(true)) => true,
            Some(Value::Bool(false)) => false,
            Some(_) => {
                return Err(self.error(
                    &format!("{pointer}/additionalProperties"),
                    "only `true` or `false` is supported for an item object",
                    "an item's fields are named: list each under `properties`",
                ));
            }
        };
        let mut fields: Vec<Property> = Vec::new();
        for (name, property) in properties {
            let here = format!("{pointer}/properties/{}", escape(name));
            if let Some(first) = fields.iter().find(|other| other.flag == kebab(name)) {
                return Err(self.error(
                    &here,
                    format!(
                        "`{}` and `{name}` would both be the Rust field `{}`",
                        first.json_name,
                        kebab(name).replace('-', "_")
                    ),
                    "rename one of the item's fields",
                ));
            }
            let member = Member {
                name,
                node: self.object(property, &here)?,
                pointer: &here,
                type_name: &format!("{type_name}{}", upper_camel(name)),
                required: required.contains(name),
                place: Place::Field,
            };
            fields.push(self.member(&member)?);
        }
        // The facts of the last field are not the parameter's.
        self.asset = None;
        self.pattern = None;
        self.unique_type_name(pointer, type_name)?;
        self.objects.push(ObjectDef {
            rust_name: type_name.to_owned(),
            field: field.to_owned(),
            description: node
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            fields,
            open,
            pointer: pointer.to_owned(),
        });
        Ok((Value::Null, Shape::Object(self.objects.len() - 1)))
    }

    /// No two generated types (enums, item objects) of one schema share a name.
    fn unique_type_name(&self, pointer: &str, type_name: &str) -> Result<(), SchemaError> {
        let taken = self
            .enums
            .iter()
            .any(|existing| existing.rust_name == type_name)
            || self
                .objects
                .iter()
                .any(|existing| existing.rust_name == type_name);
        if taken {
            return Err(self.error(
                pointer,
                format!("a second type would be named `{type_name}`"),
                "rename the property, or its definition",
            ));
        }
        Ok(())
    }

    fn own_enum(
        &mut self,
        node: &Map<String, Value>,
        pointer: &str,
        type_name: &str,
        field: &str,
        values: Vec<VariantValue>,
    ) -> Result<(Value, Shape), SchemaError> {
        if values.is_empty() {
            return Err(self.error(
                &format!("{pointer}/enum"),
                "an enum needs at least one value",
                "list the allowed values",
            ));
        }
        let names: Vec<String> = match node.get("x-enum-names") {
            Some(names) => {
                let here = format!("{pointer}/x-enum-names");
                let names = names
                    .as_array()
                    .and_then(|names| names.iter().map(|name| name.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
                    .filter(|names| names.len() == values.len())
                    .ok_or_else(|| self.error(&here, "`x-enum-names` must list one name per value of `enum`, in the same order", "write e.g. [\"Landscape16x9\", \"Portrait9x16\"]"))?;
                if let Some(bad) = names.iter().find(|name| !is_upper_camel_ident(name)) {
                    return Err(self.error(
                        &here,
                        format!("`{bad}` is not an UpperCamelCase Rust identifier"),
                        "use names such as `Landscape16x9`",
                    ));
                }
                names
            }
            None => values
                .iter()
                .map(|value| variant_name(&value.text()))
                .collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = names.iter().find(|name| !seen.insert(name.as_str())) {
            return Err(self.error(
                pointer,
                format!("two values of the enum would both be named `{twice}`"),
                "give readable names with \"x-enum-names\": [one UpperCamelCase name per value]",
            ));
        }
        if self.kind == Kind::Api && names.iter().any(|name| name == "Other") {
            return Err(self.error(
                pointer,
                "`Other` is reserved for values a newer server may send",
                "name that value differently in \"x-enum-names\"",
            ));
        }
        let default = match node.get("default") {
            None => None,
            Some(default) => Some(
                values
                    .iter()
                    .position(|value| value_matches(value, default))
                    .ok_or_else(|| {
                        self.error(
                            &format!("{pointer}/default"),
                            format!("the default {default} is not one of the enum's values"),
                            "make the default one of `enum`",
                        )
                    })?,
            ),
        };
        self.unique_type_name(pointer, type_name)?;
        self.enums.push(EnumDef {
            rust_name: type_name.to_owned(),
            field: field.to_owned(),
            description: node
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            variants: names
                .into_iter()
                .zip(values)
                .map(|(rust_name, value)| Variant { rust_name, value })
                .collect(),
            open: self.kind == Kind::Api,
            default,
            pointer: pointer.to_owned(),
        });
        let mut lowered = self.replace(type_name, type_name);
        if let Some(description) = node.get("description") {
            lowered["description"] = description.clone();
        }
        Ok((lowered, Shape::Enum(self.enums.len() - 1)))
    }

    /// A `$ref` to a placeholder definition that typify replaces with `rust`.
    fn replace(&mut self, definition: &str, rust: &str) -> Value {
        self.definitions
            .insert(definition.to_owned(), json!({ "type": "string" }));
        self.replacements
            .insert(definition.to_owned(), rust.to_owned());
        json!({ "$ref": format!("#/definitions/{definition}") })
    }

    fn rust_id(&self, id: IdKind) -> String {
        format!("{}::{}", self.runtime, id.type_name())
    }

    fn rust_type(&self, shape: &Shape) -> String {
        let names = Names {
            enums: &self.enums,
            objects: &self.objects,
        };
        rust_type(shape, names, &|id| self.rust_id(id))
    }

    /// A default the schema's own constraints reject would be a lie in the docs.
    fn check_default(
        &self,
        shape: &Shape,
        default: &Value,
        pointer: &str,
    ) -> Result<(), SchemaError> {
        let fits = match shape {
            Shape::String {
                min_length,
                max_length,
            } => default.as_str().is_some_and(|text| {
                let length = text.chars().count() as u64;
                min_length.is_none_or(|min| length >= min)
                    && max_length.is_none_or(|max| length <= max)
            }),
            Shape::Id(_) => default.is_string(),
            Shape::Enum(index) => self.enums[*index].default.is_some(),
            Shape::Integer(bounds) => default
                .as_i64()
                .is_some_and(|value| bounds.admits(value as f64)),
            Shape::Number(bounds) => default.as_f64().is_some_and(|value| bounds.admits(value)),
            Shape::Boolean => default.is_boolean(),
            Shape::Array {
                min_items,
                max_items,
                ..
            } => default.as_array().is_some_and(|items| {
                let count = items.len() as u64;
                min_items.is_none_or(|min| count >= min) && max_items.is_none_or(|max| count <= max)
            }),
            Shape::Object(_) => default.is_object(),
            Shape::Typify => true,
        };
        if fits {
            Ok(())
        } else {
            Err(self.error(
                pointer,
                format!("the default {default} breaks the property's own constraints"),
                "make the default a value the schema accepts",
            ))
        }
    }
}

fn value_matches(value: &VariantValue, json: &Value) -> bool {
    match value {
        VariantValue::String(text) => json.as_str() == Some(text),
        VariantValue::Integer(number) => json.as_f64() == Some(*number as f64),
        VariantValue::Number(number) => json.as_f64() == Some(*number),
    }
}

/// Escapes a property name for a JSON pointer (RFC 6901).
pub(crate) fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Whether `value` is a whole multiple of `step` in decimal, as `multipleOf` means it:
/// the very check the generated `validate()` runs (one source file, shared with
/// kling-types), for the importer and `schema-diff`.
///
/// ```
/// assert!(kling_dialect::is_multiple_of(0.3, 0.1));
/// assert!(!kling_dialect::is_multiple_of(0.35, 0.1));
/// ```
pub fn is_multiple_of(value: f64, step: f64) -> bool {
    decimal::is_multiple_of(value, step)
}

/// Whether the generator treats `key` as an annotation (see [`DOCUMENTATION`]).
pub fn annotation(key: &str) -> bool {
    is_annotation(key)
}
