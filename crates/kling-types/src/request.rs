//! The trait that ties a generated request to its model, and the registry entry
//! that describes a model at run time.

use crate::{ModelId, Param, Validation};

/// A request for one model: what `kling-client` needs to submit any model's request
/// without knowing which model it is.
///
/// Every request type generated from `schema/models/` implements it.
///
/// ```
/// use kling_types::ModelRequest;
/// use kling_types::kling_v1_6_pro::Kling16ProRequest;
///
/// let request = Kling16ProRequest::new("a lighthouse in a storm");
/// assert_eq!(request.model_id().as_str(), "model_kling-v1-6-pro");
/// assert!(request.validate().is_valid());
/// ```
pub trait ModelRequest: serde::Serialize {
    /// The model id, as used in `POST /v1/generate/custom/{modelId}`.
    const MODEL_ID: &'static str;

    /// The model id as a typed id.
    fn model_id(&self) -> ModelId {
        ModelId::new(Self::MODEL_ID)
    }

    /// Checks every constraint of the model's schema at once: the problems that would
    /// make the API reject the request, and the parameters the API would ignore.
    fn validate(&self) -> Validation;
}

/// A model as the registry describes it at run time (see [`crate::MODELS`]).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ModelInfo {
    /// The model id (`model_kling-v1-6-pro`).
    pub id: &'static str,
    /// The model's human name (`Kling 1.6 Pro`).
    pub title: &'static str,
    /// What the model does.
    pub description: &'static str,
    /// The JSON Schema the request types were generated from, verbatim.
    pub schema: &'static str,
    /// The model's parameters, in the schema's order.
    pub params: &'static [Param],
    /// Decodes a JSON request for this model and validates it: an `Err` when the JSON
    /// does not fit the request's shape (unknown field, wrong type), otherwise the
    /// [`Validation`] of the decoded request.
    pub validate_json: fn(serde_json::Value) -> Result<Validation, serde_json::Error>,
}

impl ModelInfo {
    /// The parameter of this model with this JSON name.
    ///
    /// ```
    /// let model = kling_types::find_model("model_kling-v1-6-pro").unwrap();
    /// assert_eq!(model.param("cfgScale").unwrap().flag, "cfg-scale");
    /// assert!(model.param("fps").is_none());
    /// ```
    pub fn param(&self, json_name: &str) -> Option<&'static Param> {
        self.params
            .iter()
            .find(|param| param.json_name == json_name)
    }
}

/// A registry entry (generated registries call it: `ModelInfo` is `#[non_exhaustive]`).
pub const fn model_info(
    id: &'static str,
    title: &'static str,
    description: &'static str,
    schema: &'static str,
    params: &'static [Param],
    validate_json: fn(serde_json::Value) -> Result<Validation, serde_json::Error>,
) -> ModelInfo {
    ModelInfo {
        id,
        title,
        description,
        schema,
        params,
        validate_json,
    }
}

/// Finds a model of the registry by id.
///
/// ```
/// let model = kling_types::find_model("model_kling-v1-6-pro").unwrap();
/// assert_eq!(model.title, "Kling 1.6 Pro");
/// let validation = (model.validate_json)(serde_json::json!({"prompt": "a cat", "duration": 10})).unwrap();
/// assert!(validation.is_valid());
/// ```
pub fn find_model(id: &str) -> Option<&'static ModelInfo> {
    crate::MODELS.iter().find(|model| model.id == id)
}

/// The `validate_json` of a generated request type (used by the generated registry).
pub fn validate_json<R>(value: serde_json::Value) -> Result<Validation, serde_json::Error>
where
    R: ModelRequest + serde::de::DeserializeOwned,
{
    serde_json::from_value::<R>(value).map(|request| request.validate())
}
