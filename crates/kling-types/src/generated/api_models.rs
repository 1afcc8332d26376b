// @generated from schema/api/models.json by `cargo xtask codegen`. Do not edit by hand.
//! Wire types of the Scenario API from `schema/api/models.json`.

/// A model and the parameters it takes.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Model {
    /// The model id (`model_…`).
    pub id: crate::ModelId,
    /// The model's human name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the model does.
    #[serde(rename = "shortDescription", skip_serializing_if = "Option::is_none")]
    pub short_description: Option<String>,
    /// What it can do: `txt2video`, `img2video`, …
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub capabilities: Vec<String>,
    /// The kind of model.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Whether the model is ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Whether the model is a custom (trained) one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<bool>,
    /// Who may use the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<String>,
    /// Where the model comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The model's tags.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub tags: Vec<String>,
    /// The collections holding the model.
    #[serde(
        rename = "collectionIds",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub collection_ids: Vec<String>,
    /// Example outputs.
    #[serde(
        rename = "exampleAssetIds",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub example_asset_ids: Vec<crate::AssetId>,
    /// How many images the model was trained on.
    #[serde(rename = "trainingImagesNumber", skip_serializing_if = "Option::is_none")]
    pub training_images_number: Option<i64>,
    /// When the model was created (ISO 8601).
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the model last changed (ISO 8601).
    #[serde(rename = "updatedAt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The parameters a generation takes.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub inputs: Vec<ModelInput>,
}

/// One parameter of a model, as Scenario describes it.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ModelInput {
    /// The parameter's JSON name.
    pub name: String,
    /// `boolean`, `number`, `string`, `file`, `file_array`, `number_array`, `string_array`, `model`, `model_array` or `inputs_array`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short name for forms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What the parameter does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Advice shown next to the parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Example text for forms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// The form section the parameter belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The value used when the parameter is left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// The only values accepted.
    #[serde(
        rename = "allowedValues",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub allowed_values: Vec<serde_json::Value>,
    /// The smallest number accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest number accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The step between accepted numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Fewest characters (strings) or items (arrays).
    #[serde(rename = "minLength", skip_serializing_if = "Option::is_none")]
    pub min_length: Option<i64>,
    /// Most characters (strings) or items (arrays).
    #[serde(rename = "maxLength", skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i64>,
    /// For files: `image`, `video`, `audio`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Shortest accepted media, in seconds.
    #[serde(rename = "minDuration", skip_serializing_if = "Option::is_none")]
    pub min_duration: Option<f64>,
    /// Longest accepted media, in seconds.
    #[serde(rename = "maxDuration", skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<f64>,
    /// Largest accepted file, in bytes.
    #[serde(rename = "maxSize", skip_serializing_if = "Option::is_none")]
    pub max_size: Option<i64>,
    /// When the parameter is required: `{"always": true}`, `{"ifDefined": {…}}`, `{"ifNotDefined": {…}}` or `{"conditional": {…}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<serde_json::Value>,
}

/// The body of `GET /v1/models`.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ModelList {
    /// The models of this page.
    pub models: Vec<Model>,
    /// Pass as `paginationToken` for the next page; absent on the last page.
    #[serde(rename = "nextPaginationToken", skip_serializing_if = "Option::is_none")]
    pub next_pagination_token: Option<String>,
}

/// The body of `GET /v1/models/{modelId}`.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ModelResponse {
    /// The model.
    pub model: Model,
}
