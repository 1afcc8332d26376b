//! The trait that ties a generated request to its model, and the registry entry
//! that describes a model at run time.

use crate::{FileKind, ModelId, Param, ParamKind, Validation};

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

    /// Every asset a JSON request of this model names: each text value of an asset
    /// parameter, of an item of a list of them, or of an asset field of a list of objects
    /// (Scenario's `inputs_array`), with where it stands (a JSON pointer) and the kind of
    /// file it is. Values of the wrong JSON type are the validation's to report; they are
    /// left out here. The one reading of "where does a request name an asset", for
    /// whoever uploads local files in their place or checks that the assets exist.
    ///
    /// ```
    /// use kling_types::FileKind;
    ///
    /// let model = kling_types::find_model("model_kling-v1-6-pro").unwrap();
    /// let request = serde_json::json!({
    ///     "prompt": "the cat wakes up",
    ///     "startImage": "cat.png",
    ///     "referenceImages": ["asset_1", "dog.jpg"],
    /// });
    /// let assets: Vec<(String, &str)> = model
    ///     .asset_values(&request)
    ///     .into_iter()
    ///     .map(|asset| (asset.pointer, asset.value))
    ///     .collect();
    /// assert_eq!(
    ///     assets,
    ///     [
    ///         ("/startImage".to_owned(), "cat.png"),
    ///         ("/referenceImages/0".to_owned(), "asset_1"),
    ///         ("/referenceImages/1".to_owned(), "dog.jpg"),
    ///     ]
    /// );
    /// assert_eq!(model.asset_values(&request)[0].kind, FileKind::Image);
    /// ```
    pub fn asset_values<'v>(&self, request: &'v serde_json::Value) -> Vec<AssetValue<'v>> {
        let mut found = Vec::new();
        if let serde_json::Value::Object(object) = request {
            collect_assets(self.params, object, "", &mut found);
        }
        found
    }
}

/// An asset a request names (see [`ModelInfo::asset_values`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AssetValue<'v> {
    /// Where it stands in the request, as a JSON pointer (`/startImage`,
    /// `/shots/0/startImage`): `serde_json::Value::pointer` finds it.
    pub pointer: String,
    /// The parameter (or the field of a list of objects) it is the value of.
    pub param: &'static Param,
    /// The kind of file the asset is.
    pub kind: FileKind,
    /// The value as the request gives it: an asset id, or whatever stands for one.
    pub value: &'v str,
}

/// The assets of `object`, whose fields are `params`, under the pointer `prefix`.
fn collect_assets<'v>(
    params: &'static [Param],
    object: &'v serde_json::Map<String, serde_json::Value>,
    prefix: &str,
    found: &mut Vec<AssetValue<'v>>,
) {
    for param in params {
        if let Some(value) = object.get(param.json_name) {
            // RFC 6901: `~` and `/` in a name are escaped.
            let name = param.json_name.replace('~', "~0").replace('/', "~1");
            visit_assets(param, &param.kind, value, format!("{prefix}/{name}"), found);
        }
    }
}

/// The assets of one value of `param`, of `kind` (the parameter's, or its items').
fn visit_assets<'v>(
    param: &'static Param,
    kind: &ParamKind,
    value: &'v serde_json::Value,
    pointer: String,
    found: &mut Vec<AssetValue<'v>>,
) {
    match (kind, value) {
        (ParamKind::Asset(file), serde_json::Value::String(text)) => found.push(AssetValue {
            pointer,
            param,
            kind: *file,
            value: text,
        }),
        (ParamKind::List { items, .. }, serde_json::Value::Array(values)) => {
            for (index, value) in values.iter().enumerate() {
                visit_assets(param, items, value, format!("{pointer}/{index}"), found);
            }
        }
        (ParamKind::Object(fields), serde_json::Value::Object(object)) => {
            collect_assets(fields, object, &pointer, found);
        }
        _ => {}
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
