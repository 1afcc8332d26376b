// @generated from schema/api/assets.json by `cargo xtask codegen`. Do not edit by hand.
//! Wire types of the Scenario API from `schema/api/assets.json`.

use std::fmt;
use std::str::FromStr;

/// An uploaded or generated file, with a temporary signed URL to fetch it.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Asset {
    /// The asset's id (`asset_…`).
    pub id: crate::AssetId,
    /// What the asset holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<AssetKind>,
    /// The file's media type, e.g. `video/mp4`.
    #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Whether the asset is ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AssetStatus>,
    /// A signed CDN link that expires (answering 403 then): fetch the asset again, or ask for a download link, for a fresh one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Facts about the file: size, dimensions, duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<AssetProperties>,
    /// How the asset was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<AssetMetadata>,
    /// When the asset was created (ISO 8601).
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the asset last changed (ISO 8601).
    #[serde(rename = "updatedAt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Who created the asset.
    #[serde(rename = "authorId", skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    /// The project or team that owns the asset.
    #[serde(rename = "ownerId", skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Who may see the asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<String>,
    /// The collections holding the asset.
    #[serde(
        rename = "collectionIds",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub collection_ids: Vec<String>,
    /// The asset's tags.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub tags: Vec<String>,
    /// The edits the platform offers for the asset.
    #[serde(
        rename = "editCapabilities",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub edit_capabilities: Vec<String>,
    /// How the asset came to be (`uploaded`, a job type, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The first frame of a video.
    #[serde(rename = "firstFrame", skip_serializing_if = "Option::is_none")]
    pub first_frame: Option<FrameRef>,
    /// The last frame of a video.
    #[serde(rename = "lastFrame", skip_serializing_if = "Option::is_none")]
    pub last_frame: Option<FrameRef>,
    /// A still image that stands for the asset (a video's poster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<FrameRef>,
}

/// How the asset was made.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct AssetMetadata {
    /// What the asset holds, as the metadata spells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// How it was made: `txt2video`, `img2video`, `uploaded`, …
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The model that generated it.
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<crate::ModelId>,
    /// The prompt it was generated from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The job that generated it.
    #[serde(rename = "parentJobId", skip_serializing_if = "Option::is_none")]
    pub parent_job_id: Option<crate::JobId>,
    /// The file name an uploaded asset was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Facts about the file.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct AssetProperties {
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Width in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    /// Height in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    /// Length of a video or sound, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Frames per second of a video.
    #[serde(rename = "frameRate", skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<f64>,
    /// Number of frames of a video.
    #[serde(rename = "nbFrames", skip_serializing_if = "Option::is_none")]
    pub nb_frames: Option<i64>,
    /// The codec of a video or sound.
    #[serde(rename = "codecName", skip_serializing_if = "Option::is_none")]
    pub codec_name: Option<String>,
}

/// The body of `GET /v1/assets/{assetId}` and of `POST /v1/assets` (an upload).
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AssetResponse {
    /// The asset.
    pub asset: Asset,
}

/// The body of `POST /v1/assets/{assetId}/download`: a fresh signed link.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DownloadLink {
    /// A fresh signed link; it may redirect.
    pub url: String,
    /// The media type of the file behind the link.
    #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// A still frame of a video, itself an asset.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct FrameRef {
    /// The frame's asset id.
    #[serde(rename = "assetId", skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<crate::AssetId>,
    /// A signed, temporary link to the frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What an asset holds.
///
/// Open: a value this version does not know decodes as [`Self::Other`], so a
/// newer server never breaks decoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AssetKind {
    /// `image`
    Image,
    /// `video`
    Video,
    /// `audio`
    Audio,
    /// A value this version does not know.
    Other(String),
}

impl AssetKind {
    /// The value as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Other(value) => value,
        }
    }
}

impl From<&str> for AssetKind {
    fn from(value: &str) -> Self {
        match value {
            "image" => Self::Image,
            "video" => Self::Video,
            "audio" => Self::Audio,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl From<String> for AssetKind {
    fn from(value: String) -> Self {
        match value.as_str() {
            "image" => Self::Image,
            "video" => Self::Video,
            "audio" => Self::Audio,
            _ => Self::Other(value),
        }
    }
}

impl FromStr for AssetKind {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(value))
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for AssetKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for AssetKind {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

/// Whether an asset is ready.
///
/// Open: a value this version does not know decodes as [`Self::Other`], so a
/// newer server never breaks decoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AssetStatus {
    /// `pending`
    Pending,
    /// `success`
    Success,
    /// `error`
    Error,
    /// A value this version does not know.
    Other(String),
}

impl AssetStatus {
    /// The value as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Error => "error",
            Self::Other(value) => value,
        }
    }
}

impl From<&str> for AssetStatus {
    fn from(value: &str) -> Self {
        match value {
            "pending" => Self::Pending,
            "success" => Self::Success,
            "error" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl From<String> for AssetStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "pending" => Self::Pending,
            "success" => Self::Success,
            "error" => Self::Error,
            _ => Self::Other(value),
        }
    }
}

impl FromStr for AssetStatus {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(value))
    }
}

impl fmt::Display for AssetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for AssetStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for AssetStatus {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}
