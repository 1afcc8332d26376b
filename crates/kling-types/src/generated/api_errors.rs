// @generated from schema/api/errors.json by `cargo xtask codegen`. Do not edit by hand.
//! Wire types of the Scenario API from `schema/api/errors.json`.

/// What the API says went wrong.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ErrorBody {
    /// A human-readable explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// More about the error; on a 429, the limit that was hit (`actionName`, `actionLimit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}
