//! A model's parameters as data: what `cargo xtask codegen` read in the model's schema,
//! emitted as a static table next to the request type (`kling_v1_6_pro::PARAMS`) and
//! reachable from [`crate::ModelInfo::params`]. Tools that serve every model the same
//! way (the `kling` command's flags, `kling models ID`) read it instead of the schema.
//!
//! ```
//! use kling_types::{ParamKind, find_model};
//!
//! let model = find_model("model_kling-v1-6-pro").unwrap();
//! let duration = model.param("duration").unwrap();
//! assert_eq!(duration.flag, "duration");
//! assert!(!duration.required);
//! let ParamKind::Choice(choices) = duration.kind else { panic!("duration is a choice") };
//! assert_eq!(choices[1].text(), "10");
//! assert_eq!(choices[1].rust_name, "Seconds10");
//! ```

use std::fmt;

use crate::__private::wording;

/// One parameter of a model's request.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Param {
    /// The name on the wire (`cfgScale`).
    pub json_name: &'static str,
    /// The `kling generate` flag, without dashes: kebab-case of the name, or the schema's
    /// `x-cli-flag` (`reference-image`).
    pub flag: &'static str,
    /// What the parameter holds, with its constraints.
    pub kind: ParamKind,
    /// Whether every request must set it.
    pub required: bool,
    /// The value the API uses when the parameter is left out.
    pub default: Option<Literal>,
    /// The schema's description (may be empty).
    pub description: &'static str,
    /// The parameters this one needs (draft-07 `dependencies`), by JSON name.
    pub needs: &'static [&'static str],
    /// When the API ignores this parameter (`x-ignored-when-present`).
    pub ignored_when: &'static [IgnoredWhen],
    /// Each value must be a whole multiple of this (`multipleOf`, Scenario's `step`).
    pub multiple_of: Option<f64>,
    /// When this parameter becomes required although it is optional on its own (a
    /// condition of the schema's `allOf`, Scenario's `ifNotDefined`, `when`, `conditional`).
    pub required_when: &'static [RequiredWhen],
    /// Limits on the file behind an asset parameter (`x-max-size`, `x-min-duration`,
    /// `x-max-duration`): the size is checked before uploading, durations by the API.
    pub file_limits: FileLimits,
    /// The kinds of model a model parameter takes (`x-model-types`: `flux.1-lora`), as
    /// documentation; empty when any model.
    pub model_types: &'static [&'static str],
    /// What Scenario's web form shows of the parameter (`x-ui`), as its JSON text
    /// (`{"costImpact":true}`); empty when none. Never sent, never checked.
    pub ui: &'static str,
    /// The regular expression a text must match (`pattern`, searched anywhere in it).
    pub pattern: Option<&'static str>,
}

impl Param {
    /// An optional parameter with no description, default or rules; generated tables
    /// add the rest with the `const` setters below.
    pub const fn new(json_name: &'static str, flag: &'static str, kind: ParamKind) -> Self {
        Self {
            json_name,
            flag,
            kind,
            required: false,
            default: None,
            description: "",
            needs: &[],
            ignored_when: &[],
            multiple_of: None,
            required_when: &[],
            file_limits: FileLimits {
                max_size: None,
                min_duration: None,
                max_duration: None,
            },
            model_types: &[],
            ui: "",
            pattern: None,
        }
    }

    /// The same parameter, required.
    #[must_use]
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The same parameter, with the API's default.
    #[must_use]
    pub const fn with_default(mut self, default: Literal) -> Self {
        self.default = Some(default);
        self
    }

    /// The same parameter, described.
    #[must_use]
    pub const fn with_description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// The same parameter, needing `needs`.
    #[must_use]
    pub const fn with_needs(mut self, needs: &'static [&'static str]) -> Self {
        self.needs = needs;
        self
    }

    /// The same parameter, ignored under `rules`.
    #[must_use]
    pub const fn with_ignored_when(mut self, rules: &'static [IgnoredWhen]) -> Self {
        self.ignored_when = rules;
        self
    }

    /// The same parameter, its values whole multiples of `step`.
    #[must_use]
    pub const fn with_multiple_of(mut self, step: f64) -> Self {
        self.multiple_of = Some(step);
        self
    }

    /// The same parameter, required under `rules`.
    #[must_use]
    pub const fn with_required_when(mut self, rules: &'static [RequiredWhen]) -> Self {
        self.required_when = rules;
        self
    }

    /// The same parameter, its file limited by `limits`.
    #[must_use]
    pub const fn with_file_limits(mut self, limits: FileLimits) -> Self {
        self.file_limits = limits;
        self
    }

    /// The same parameter, taking models of `types`.
    #[must_use]
    pub const fn with_model_types(mut self, types: &'static [&'static str]) -> Self {
        self.model_types = types;
        self
    }

    /// The same parameter, its text matching `pattern`.
    #[must_use]
    pub const fn with_pattern(mut self, pattern: &'static str) -> Self {
        self.pattern = Some(pattern);
        self
    }

    /// The same parameter, with Scenario's form hints (`x-ui`, as JSON text).
    #[must_use]
    pub const fn with_ui(mut self, ui: &'static str) -> Self {
        self.ui = ui;
        self
    }

    /// The kind of one value: the items' kind for a list, otherwise the kind itself.
    pub fn value_kind(&self) -> &ParamKind {
        match &self.kind {
            ParamKind::List { items, .. } => items,
            kind => kind,
        }
    }

    /// Whether the parameter takes several values (a JSON array).
    pub fn is_list(&self) -> bool {
        matches!(self.kind, ParamKind::List { .. })
    }

    /// The fields of each value, for a list of objects (empty otherwise).
    ///
    /// ```
    /// let model = kling_types::find_model("model_kling-v1-6-pro").unwrap();
    /// assert!(model.param("prompt").unwrap().fields().is_empty());
    /// ```
    pub fn fields(&self) -> &'static [Param] {
        match self.value_kind() {
            ParamKind::Object(fields) => fields,
            _ => &[],
        }
    }

    /// The default as the JSON a request would send (what the API assumes when the
    /// parameter is left out).
    ///
    /// ```
    /// let model = kling_types::find_model("model_kling-v1-6-pro").unwrap();
    /// let aspect = model.param("aspectRatio").unwrap();
    /// assert_eq!(aspect.default_json(), Some(serde_json::json!("16:9")));
    /// ```
    pub fn default_json(&self) -> Option<serde_json::Value> {
        Some(match self.default? {
            Literal::Text(text) => serde_json::Value::from(text),
            Literal::Integer(value) => serde_json::Value::from(value),
            Literal::Number(value) => json_number(value),
            Literal::Boolean(value) => serde_json::Value::from(value),
            Literal::Choice(index) => match self.value_kind() {
                ParamKind::Choice(choices) => choices.get(index)?.value.to_json(),
                _ => return None,
            },
            Literal::List(text) => serde_json::from_str(text).ok()?,
        })
    }
}

/// A number as JSON: a whole one as an integer (`5`, not `5.0`), as schemas write them.
fn json_number(value: f64) -> serde_json::Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        serde_json::Value::from(value as i64)
    } else {
        serde_json::Value::from(value)
    }
}

/// What a parameter holds. `#[non_exhaustive]`: the dialect may learn more kinds.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ParamKind {
    /// Text, within these lengths (in characters).
    Text(Length),
    /// An integer within these bounds.
    Integer(Bounds),
    /// A number within these bounds.
    Number(Bounds),
    /// `true` or `false`.
    Boolean,
    /// An asset of the platform (`asset_…`), that a user may give as a file to upload.
    Asset(FileKind),
    /// A job id (`job_…`).
    JobId,
    /// A model id (`model_…`).
    ModelId,
    /// One of these values, in the schema's order.
    Choice(&'static [Choice]),
    /// An object of named fields, each described as a parameter of its own (its `flag` is
    /// the name in kebab-case, unused: such objects are the items of a [`ParamKind::List`],
    /// given as one flag's JSON). Scenario's `inputs_array`: `shots`, each shot with its
    /// `prompt` and `seconds`.
    Object(&'static [Param]),
    /// Several values of one kind, as many as these bounds allow.
    List {
        /// The kind of each item.
        items: &'static ParamKind,
        /// How many items.
        count: Length,
    },
}

/// The kind of file an asset parameter stands for (`x-asset-kind`, Scenario's `kind`).
/// `#[non_exhaustive]`: Scenario may add kinds.
///
/// ```
/// use kling_types::FileKind;
/// assert_eq!(FileKind::from_name("3d"), Some(FileKind::ThreeD));
/// assert_eq!(FileKind::Video.name(), "video");
/// assert!(FileKind::Audio.has_duration());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// An image (PNG, JPEG, WebP, GIF).
    Image,
    /// A high dynamic range image (`image-hdr`: EXR, HDR).
    ImageHdr,
    /// A video (MP4, MOV, WebM).
    Video,
    /// A sound (MP3, WAV, OGG).
    Audio,
    /// A 3D model (`3d`: GLB, GLTF, OBJ).
    ThreeD,
    /// A document (PDF).
    Document,
    /// A JSON file.
    Json,
    /// A text file.
    Text,
}

impl FileKind {
    /// Every kind, in the order of Scenario's SDK.
    pub const ALL: [Self; 8] = [
        Self::ThreeD,
        Self::Audio,
        Self::Document,
        Self::Image,
        Self::ImageHdr,
        Self::Json,
        Self::Text,
        Self::Video,
    ];

    /// The kind's name as Scenario and `x-asset-kind` spell it (`3d`, `image-hdr`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::ImageHdr => "image-hdr",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::ThreeD => "3d",
            Self::Document => "document",
            Self::Json => "json",
            Self::Text => "text",
        }
    }

    /// The kind named `name` (`video`), if Scenario has it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Whether files of this kind last (videos and sounds: `x-min-duration` applies).
    pub const fn has_duration(self) -> bool {
        matches!(self, Self::Video | Self::Audio)
    }
}

/// Limits on the file behind an asset parameter; `None` where the schema sets none.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FileLimits {
    /// The largest file accepted, in bytes (`x-max-size`).
    pub max_size: Option<u64>,
    /// The shortest media accepted, in seconds (`x-min-duration`).
    pub min_duration: Option<f64>,
    /// The longest media accepted, in seconds (`x-max-duration`).
    pub max_duration: Option<f64>,
}

impl FileLimits {
    /// Whether any limit is set.
    pub fn is_limited(&self) -> bool {
        *self != Self::default()
    }
}

/// "This parameter is required when …": one condition of the schema's `allOf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequiredWhen {
    /// Required when `other` is left out (Scenario's `ifNotDefined`): set one of the two.
    Absent {
        /// The other parameter, by JSON name.
        other: &'static str,
    },
    /// Required when every one of these parameters is set to one of its values
    /// (Scenario's `when` and `conditional`).
    Values(&'static [ValueCondition]),
}

/// "`field` is set to one of `values`" (each value as its JSON text: `"img2img"`, `5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueCondition {
    /// The parameter looked at, by JSON name.
    pub field: &'static str,
    /// Its values that make the condition hold, as JSON text.
    pub values: &'static [&'static str],
}

/// One allowed value of a choice, and the variant of the generated enum that holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Choice {
    /// The value as the API has it.
    pub value: ChoiceValue,
    /// The Rust name of the variant (`Landscape16x9`).
    pub rust_name: &'static str,
}

impl Choice {
    /// The value as the API spells it in text (`16:9`, `5`).
    pub fn text(&self) -> String {
        self.value.to_string()
    }
}

/// The value of a [`Choice`]: text, an integer or a number, as in the schema's `enum`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ChoiceValue {
    /// A string value (`"16:9"`).
    Text(&'static str),
    /// An integer value (`5`, or the sentinel `-1`).
    Integer(i64),
    /// A number of an enum with fractions (`0.5`).
    Number(f64),
}

impl ChoiceValue {
    /// The value as JSON (`"16:9"`, `5`, `0.5`).
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Self::Text(text) => serde_json::Value::from(text),
            Self::Integer(number) => serde_json::Value::from(number),
            Self::Number(value) => json_number(value),
        }
    }
}

impl fmt::Display for ChoiceValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Integer(number) => write!(f, "{number}"),
            Self::Number(number) => write!(f, "{number}"),
        }
    }
}

/// A value of the schema (a default), typed by the parameter's kind.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Literal {
    /// Text (`""`).
    Text(&'static str),
    /// An integer.
    Integer(i64),
    /// A number.
    Number(f64),
    /// A boolean.
    Boolean(bool),
    /// One of a choice's values, by its index in [`ParamKind::Choice`].
    Choice(usize),
    /// A list, as its JSON text (`[]`).
    List(&'static str),
}

/// "The API ignores this parameter when `other` is set", and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IgnoredWhen {
    /// The other parameter, by JSON name.
    pub other: &'static str,
    /// Why, as one lowercase clause.
    pub reason: &'static str,
}

/// The bounds of a number (`minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`).
///
/// ```
/// let bounds = kling_types::Bounds { minimum: Some(0.0), maximum: Some(1.0), ..Default::default() };
/// assert_eq!(bounds.to_string(), "between 0 and 1");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bounds {
    /// The smallest allowed value.
    pub minimum: Option<f64>,
    /// The largest allowed value.
    pub maximum: Option<f64>,
    /// Values must be greater than this.
    pub exclusive_minimum: Option<f64>,
    /// Values must be less than this.
    pub exclusive_maximum: Option<f64>,
}

impl Bounds {
    /// Whether `value` is within the bounds.
    pub fn admits(&self, value: f64) -> bool {
        self.minimum.is_none_or(|min| value >= min)
            && self.maximum.is_none_or(|max| value <= max)
            && self.exclusive_minimum.is_none_or(|min| value > min)
            && self.exclusive_maximum.is_none_or(|max| value < max)
    }

    /// Whether any bound is set.
    pub fn is_limited(&self) -> bool {
        *self != Self::default()
    }
}

/// The bounds in words: `between 0 and 1`, `greater than 0 and less than 1`, `at least 0`
/// (as every place that says them words them: `__private::wording`).
impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = wording::range(
            self.minimum,
            self.maximum,
            self.exclusive_minimum,
            self.exclusive_maximum,
        );
        f.write_str(words.as_deref().unwrap_or("any number"))
    }
}

/// Limits on a count: the characters of a text (`minLength`, `maxLength`) or the items of
/// a list (`minItems`, `maxItems`).
///
/// ```
/// let length = kling_types::Length { min: Some(1), max: Some(2500) };
/// assert_eq!(length.describe("character"), "1 to 2500 characters");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Length {
    /// The least allowed.
    pub min: Option<u64>,
    /// The most allowed.
    pub max: Option<u64>,
}

impl Length {
    /// Whether any limit is set.
    pub fn is_limited(&self) -> bool {
        self.min.is_some() || self.max.is_some()
    }

    /// The limits in words, counting `noun`s (`at most 4 items`); empty when unlimited.
    pub fn describe(&self, noun: &str) -> String {
        wording::count(self.min, self.max, noun).unwrap_or_default()
    }
}
