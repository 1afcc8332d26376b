// @generated from schema/models/model_kling-v1-6-pro.json by `cargo xtask codegen`. Do not edit by hand.
//! Kling 1.6 Pro (`model_kling-v1-6-pro`): [`Kling16ProRequest`] and its enums.

use std::fmt;
use std::str::FromStr;
use crate::__private::{checks, de};
use crate::{
    AssetId, Bounds, Choice, ChoiceValue, FileKind, IgnoredWhen, Length, Literal,
    ModelRequest, Param, ParamKind, ParseEnumError, Validation,
};

/// Kling 1.6 Pro: text-to-video and image-to-video generation of 5 or 10 second clips.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Kling16ProRequest {
    /// Describe your video.
    ///
    /// 1 to 2500 characters.
    pub prompt: String,
    /// Image used as the first frame of the video.
    ///
    /// Ignored when `referenceImages` is set: start and end images are ignored when reference images are used.
    #[serde(
        rename = "startImage",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::__private::de::present"
    )]
    pub start_image: Option<AssetId>,
    /// Used to generate a video that transitions from the first frame to this image.
    ///
    /// Requires `startImage`.
    ///
    /// Ignored when `referenceImages` is set: start and end images are ignored when reference images are used.
    #[serde(
        rename = "endImage",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::__private::de::present"
    )]
    pub end_image: Option<AssetId>,
    /// Things you do not want to see in the video.
    ///
    /// At most 2500 characters.
    ///
    /// Left out, the API uses `""`.
    #[serde(
        rename = "negativePrompt",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::__private::de::present"
    )]
    pub negative_prompt: Option<String>,
    /// Use up to 4 reference images (scene elements) for video generation. Start/end images are ignored when using references.
    ///
    /// 1 to 4 items.
    #[serde(
        rename = "referenceImages",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::__private::de::present"
    )]
    pub reference_images: Option<Vec<AssetId>>,
    /// Aspect ratio of the video.
    ///
    /// One of `16:9`, `9:16`, `1:1`.
    ///
    /// Left out, the API uses [`AspectRatio::Landscape16x9`].
    ///
    /// Ignored when `startImage` is set: the video takes the aspect ratio of its first frame.
    #[serde(
        rename = "aspectRatio",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::__private::de::present"
    )]
    pub aspect_ratio: Option<AspectRatio>,
    /// Higher values follow the prompt more closely, lower values are more creative.
    ///
    /// Between 0 and 1.
    ///
    /// Left out, the API uses `0.5`.
    #[serde(
        rename = "cfgScale",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::__private::de::present"
    )]
    pub cfg_scale: Option<f64>,
    /// Duration in seconds.
    ///
    /// One of `5`, `10`.
    ///
    /// Left out, the API uses [`DurationValue::Seconds5`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::__private::de::present"
    )]
    pub duration: Option<DurationValue>,
}

/// Aspect ratio of the video.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize
)]
#[non_exhaustive]
pub enum AspectRatio {
    /// `16:9`, the value the API uses when the parameter is left out.
    #[default]
    #[serde(rename = "16:9")]
    Landscape16x9,
    /// `9:16`
    #[serde(rename = "9:16")]
    Portrait9x16,
    /// `1:1`
    #[serde(rename = "1:1")]
    Square1x1,
}

impl AspectRatio {
    /// Every value, in the schema's order.
    pub const ALL: &[Self] = &[Self::Landscape16x9, Self::Portrait9x16, Self::Square1x1];

    /// The allowed values as the API spells them.
    pub const VALUES: &[&str] = &["16:9", "9:16", "1:1"];

    /// The value as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Landscape16x9 => "16:9",
            Self::Portrait9x16 => "9:16",
            Self::Square1x1 => "1:1",
        }
    }
}

impl FromStr for AspectRatio {
    type Err = ParseEnumError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "16:9" => Ok(Self::Landscape16x9),
            "9:16" => Ok(Self::Portrait9x16),
            "1:1" => Ok(Self::Square1x1),
            _ => Err(ParseEnumError::new("aspectRatio", value, Self::VALUES)),
        }
    }
}

impl fmt::Display for AspectRatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Duration in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DurationValue {
    /// `5`, the value the API uses when the parameter is left out.
    #[default]
    Seconds5,
    /// `10`
    Seconds10,
}

impl DurationValue {
    /// Every value, in the schema's order.
    pub const ALL: &[Self] = &[Self::Seconds5, Self::Seconds10];

    /// The allowed values as the API spells them.
    pub const VALUES: &[&str] = &["5", "10"];

    /// The value as the API sends it.
    pub fn value(self) -> i64 {
        match self {
            Self::Seconds5 => 5,
            Self::Seconds10 => 10,
        }
    }
}

impl TryFrom<i64> for DurationValue {
    type Error = ParseEnumError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match value {
            5 => Ok(Self::Seconds5),
            10 => Ok(Self::Seconds10),
            _ => Err(ParseEnumError::new("duration", value.to_string(), Self::VALUES)),
        }
    }
}

impl FromStr for DurationValue {
    type Err = ParseEnumError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "5" => Ok(Self::Seconds5),
            "10" => Ok(Self::Seconds10),
            _ => Err(ParseEnumError::new("duration", value, Self::VALUES)),
        }
    }
}

impl fmt::Display for DurationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value())
    }
}

impl serde::Serialize for DurationValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.value())
    }
}

impl<'de> serde::Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        let value = de::integer(deserializer)?;
        Self::try_from(value).map_err(serde::de::Error::custom)
    }
}

impl Kling16ProRequest {
    /// A request with its required `prompt`; every other parameter left out (the API applies its defaults).
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            start_image: None,
            end_image: None,
            negative_prompt: None,
            reference_images: None,
            aspect_ratio: None,
            cfg_scale: None,
            duration: None,
        }
    }

    /// Sets [`start_image`](Self::start_image).
    #[must_use]
    pub fn with_start_image(mut self, start_image: impl Into<AssetId>) -> Self {
        self.start_image = Some(start_image.into());
        self
    }

    /// Sets [`end_image`](Self::end_image).
    #[must_use]
    pub fn with_end_image(mut self, end_image: impl Into<AssetId>) -> Self {
        self.end_image = Some(end_image.into());
        self
    }

    /// Sets [`negative_prompt`](Self::negative_prompt).
    #[must_use]
    pub fn with_negative_prompt(mut self, negative_prompt: impl Into<String>) -> Self {
        self.negative_prompt = Some(negative_prompt.into());
        self
    }

    /// Sets [`reference_images`](Self::reference_images).
    #[must_use]
    pub fn with_reference_images(
        mut self,
        reference_images: impl IntoIterator<Item = AssetId>,
    ) -> Self {
        self.reference_images = Some(reference_images.into_iter().collect());
        self
    }

    /// Sets [`aspect_ratio`](Self::aspect_ratio).
    #[must_use]
    pub fn with_aspect_ratio(mut self, aspect_ratio: AspectRatio) -> Self {
        self.aspect_ratio = Some(aspect_ratio);
        self
    }

    /// Sets [`cfg_scale`](Self::cfg_scale).
    #[must_use]
    pub fn with_cfg_scale(mut self, cfg_scale: f64) -> Self {
        self.cfg_scale = Some(cfg_scale);
        self
    }

    /// Sets [`duration`](Self::duration).
    #[must_use]
    pub fn with_duration(mut self, duration: DurationValue) -> Self {
        self.duration = Some(duration);
        self
    }
}

impl ModelRequest for Kling16ProRequest {
    const MODEL_ID: &'static str = "model_kling-v1-6-pro";

    fn validate(&self) -> Validation {
        let mut validation = Validation::new();
        let value = &self.prompt;
        checks::string_length(&mut validation, "prompt", value, Some(1), Some(2500));
        if let Some(value) = &self.negative_prompt {
            checks::string_length(
                &mut validation,
                "negativePrompt",
                value,
                None,
                Some(2500),
            );
        }
        if let Some(value) = &self.reference_images {
            checks::item_count(
                &mut validation,
                "referenceImages",
                value.len(),
                Some(1),
                Some(4),
            );
        }
        if let Some(value) = &self.cfg_scale {
            checks::number(
                &mut validation,
                "cfgScale",
                *value,
                &Bounds {
                    minimum: Some(0.0),
                    maximum: Some(1.0),
                    exclusive_minimum: None,
                    exclusive_maximum: None,
                },
            );
        }
        if self.end_image.is_some() && self.start_image.is_none() {
            checks::requires(&mut validation, "endImage", "startImage");
        }
        if self.start_image.is_some() && self.reference_images.is_some() {
            checks::ignored(
                &mut validation,
                "startImage",
                "referenceImages",
                "start and end images are ignored when reference images are used",
            );
        }
        if self.end_image.is_some() && self.reference_images.is_some() {
            checks::ignored(
                &mut validation,
                "endImage",
                "referenceImages",
                "start and end images are ignored when reference images are used",
            );
        }
        if self.aspect_ratio.is_some() && self.start_image.is_some() {
            checks::ignored(
                &mut validation,
                "aspectRatio",
                "startImage",
                "the video takes the aspect ratio of its first frame",
            );
        }
        validation
    }
}

/// The JSON Schema this module was generated from, verbatim.
pub const SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$comment": "Parameters from Scenario's reference page for model_kling-v1-6-pro; ranges from Kling's own API reference and other hosts of the model (see each $comment).",
  "x-model-id": "model_kling-v1-6-pro",
  "title": "Kling 1.6 Pro",
  "description": "Kling 1.6 Pro: text-to-video and image-to-video generation of 5 or 10 second clips.",
  "type": "object",
  "additionalProperties": false,
  "required": ["prompt"],
  "properties": {
    "prompt": {
      "$comment": "Kling API reference (text2video, image2video): cannot exceed 2500 characters. Scenario answers an over-long prompt with 400; it is never trimmed.",
      "type": "string",
      "description": "Describe your video.",
      "minLength": 1,
      "maxLength": 2500
    },
    "startImage": {
      "$comment": "Scenario reference page: an asset id; upload the image first.",
      "type": "string",
      "format": "asset-id",
      "description": "Image used as the first frame of the video.",
      "x-ignored-when-present": {
        "referenceImages": "start and end images are ignored when reference images are used"
      }
    },
    "endImage": {
      "$comment": "Scenario reference page: requires a first frame image (see dependencies).",
      "type": "string",
      "format": "asset-id",
      "description": "Used to generate a video that transitions from the first frame to this image.",
      "x-ignored-when-present": {
        "referenceImages": "start and end images are ignored when reference images are used"
      }
    },
    "negativePrompt": {
      "$comment": "Kling API reference: cannot exceed 2500 characters.",
      "type": "string",
      "description": "Things you do not want to see in the video.",
      "default": "",
      "maxLength": 2500
    },
    "referenceImages": {
      "$comment": "Scenario reference page: up to 4 reference images (scene elements).",
      "type": "array",
      "description": "Use up to 4 reference images (scene elements) for video generation. Start/end images are ignored when using references.",
      "items": { "type": "string", "format": "asset-id" },
      "minItems": 1,
      "maxItems": 4,
      "x-cli-flag": "reference-image"
    },
    "aspectRatio": {
      "$comment": "Kling API reference and Replicate: one of 16:9, 9:16, 1:1; ignored when a first frame is given.",
      "type": "string",
      "description": "Aspect ratio of the video.",
      "enum": ["16:9", "9:16", "1:1"],
      "x-enum-names": ["Landscape16x9", "Portrait9x16", "Square1x1"],
      "default": "16:9",
      "x-ignored-when-present": {
        "startImage": "the video takes the aspect ratio of its first frame"
      }
    },
    "cfgScale": {
      "$comment": "Kling API reference: range [0, 1]; Replicate: maximum 1.",
      "type": "number",
      "description": "Higher values follow the prompt more closely, lower values are more creative.",
      "default": 0.5,
      "minimum": 0,
      "maximum": 1
    },
    "duration": {
      "$comment": "Kling API reference; Replicate (integer enum 5, 10); WaveSpeed; fal.",
      "type": "integer",
      "description": "Duration in seconds.",
      "enum": [5, 10],
      "x-enum-names": ["Seconds5", "Seconds10"],
      "default": 5
    }
  },
  "dependencies": {
    "endImage": ["startImage"]
  }
}
"#;

/// The parameters of [`Kling16ProRequest`], in the schema's order.
pub static PARAMS: &[Param] = &[
    Param::new(
            "prompt",
            "prompt",
            ParamKind::Text(Length {
                min: Some(1),
                max: Some(2500),
            }),
        )
        .required()
        .with_description("Describe your video."),
    Param::new("startImage", "start-image", ParamKind::Asset(FileKind::Image))
        .with_description("Image used as the first frame of the video.")
        .with_ignored_when(
            &[
                IgnoredWhen {
                    other: "referenceImages",
                    reason: "start and end images are ignored when reference images are used",
                },
            ],
        ),
    Param::new("endImage", "end-image", ParamKind::Asset(FileKind::Image))
        .with_description(
            "Used to generate a video that transitions from the first frame to this image.",
        )
        .with_needs(&["startImage"])
        .with_ignored_when(
            &[
                IgnoredWhen {
                    other: "referenceImages",
                    reason: "start and end images are ignored when reference images are used",
                },
            ],
        ),
    Param::new(
            "negativePrompt",
            "negative-prompt",
            ParamKind::Text(Length {
                min: None,
                max: Some(2500),
            }),
        )
        .with_default(Literal::Text(""))
        .with_description("Things you do not want to see in the video."),
    Param::new(
            "referenceImages",
            "reference-image",
            ParamKind::List {
                items: &ParamKind::Asset(FileKind::Image),
                count: Length {
                    min: Some(1),
                    max: Some(4),
                },
            },
        )
        .with_description(
            "Use up to 4 reference images (scene elements) for video generation. Start/end images are ignored when using references.",
        ),
    Param::new(
            "aspectRatio",
            "aspect-ratio",
            ParamKind::Choice(
                &[
                    Choice {
                        value: ChoiceValue::Text("16:9"),
                        rust_name: "Landscape16x9",
                    },
                    Choice {
                        value: ChoiceValue::Text("9:16"),
                        rust_name: "Portrait9x16",
                    },
                    Choice {
                        value: ChoiceValue::Text("1:1"),
                        rust_name: "Square1x1",
                    },
                ],
            ),
        )
        .with_default(Literal::Choice(0))
        .with_description("Aspect ratio of the video.")
        .with_ignored_when(
            &[
                IgnoredWhen {
                    other: "startImage",
                    reason: "the video takes the aspect ratio of its first frame",
                },
            ],
        ),
    Param::new(
            "cfgScale",
            "cfg-scale",
            ParamKind::Number(Bounds {
                minimum: Some(0.0),
                maximum: Some(1.0),
                exclusive_minimum: None,
                exclusive_maximum: None,
            }),
        )
        .with_default(Literal::Number(0.5))
        .with_description(
            "Higher values follow the prompt more closely, lower values are more creative.",
        ),
    Param::new(
            "duration",
            "duration",
            ParamKind::Choice(
                &[
                    Choice {
                        value: ChoiceValue::Integer(5),
                        rust_name: "Seconds5",
                    },
                    Choice {
                        value: ChoiceValue::Integer(10),
                        rust_name: "Seconds10",
                    },
                ],
            ),
        )
        .with_default(Literal::Choice(0))
        .with_description("Duration in seconds."),
];
