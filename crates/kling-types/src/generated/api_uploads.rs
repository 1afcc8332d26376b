// @generated from schema/api/uploads.json by `cargo xtask codegen`. Do not edit by hand.
//! Wire types of the Scenario API from `schema/api/uploads.json`.

use std::fmt;
use std::str::FromStr;

/// A file being uploaded in parts.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Upload {
    /// The upload's id.
    pub id: String,
    /// The file's name.
    #[serde(rename = "fileName", skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The file's media type.
    #[serde(rename = "contentType", skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The file's size in bytes.
    #[serde(rename = "fileSize", skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
    /// What the file holds (`image`, `video`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The parts to PUT, while the upload is pending.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub parts: Vec<UploadPart>,
    /// Where the upload is.
    pub status: UploadStatus,
    /// The asset the upload became, once imported.
    #[serde(rename = "entityId", skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<crate::AssetId>,
    /// The asset the upload became (another spelling seen for `entityId`).
    #[serde(rename = "assetId", skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<crate::AssetId>,
    /// Why the upload failed.
    #[serde(rename = "errorMessage", skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// When the upload was created (ISO 8601).
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Who uploaded.
    #[serde(rename = "authorId", skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    /// The project or team that owns the upload.
    #[serde(rename = "ownerId", skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
}

/// One part to PUT, with its own pre-signed URL.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UploadPart {
    /// The part's number, from 1.
    pub number: i64,
    /// Where to PUT the part's bytes (pre-signed: send no credentials).
    pub url: String,
    /// When the URL stops working (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// The body of every `/v1/uploads` endpoint.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UploadResponse {
    /// The upload.
    pub upload: Upload,
}

/// Where an upload is.
///
/// Open: a value this version does not know decodes as [`Self::Other`], so a
/// newer server never breaks decoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UploadStatus {
    /// `pending`
    Pending,
    /// `imported`
    Imported,
    /// `failed`
    Failed,
    /// `canceled`
    Canceled,
    /// A value this version does not know.
    Other(String),
}

impl UploadStatus {
    /// The value as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Imported => "imported",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Other(value) => value,
        }
    }
}

impl From<&str> for UploadStatus {
    fn from(value: &str) -> Self {
        match value {
            "pending" => Self::Pending,
            "imported" => Self::Imported,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl From<String> for UploadStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "pending" => Self::Pending,
            "imported" => Self::Imported,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            _ => Self::Other(value),
        }
    }
}

impl FromStr for UploadStatus {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(value))
    }
}

impl fmt::Display for UploadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for UploadStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for UploadStatus {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}
