//! Models: Scenario's own description of a model, its parameters (`inputs`) included,
//! which `cargo xtask import-model` turns into a schema.

use kling_types::ModelId;
use reqwest::Method;
use serde_json::Value;

use crate::client::{Call, Client, segment};
use crate::error::Error;

impl Client {
    /// The model's description, `GET /models/{modelId}`, exactly as the API answered it:
    /// `{"model": {"id": …, "name": …, "inputs": [{"name": …, "type": …, …}, …], …}}`.
    ///
    /// Nothing is decoded into a type, so nothing is dropped: fields this client does not
    /// know are what `cargo xtask import-model` must see (it refuses what it cannot map).
    /// An unknown model is [`Error::Api`] with status 404.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// use kling_types::ModelId;
    ///
    /// let description = client.model_description(&ModelId::new("model_kling-v1-6-pro")).await?;
    /// let inputs = description["model"]["inputs"].as_array().map_or(0, Vec::len);
    /// assert_eq!(inputs, 8);
    ///
    /// let unknown = client.model_description(&ModelId::new("model_nope")).await;
    /// assert!(matches!(unknown, Err(kling_client::Error::Api { status: 404, .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn model_description(&self, model_id: &ModelId) -> Result<Value, Error> {
        let call = Call::api(
            Method::GET,
            format!("/models/{}", segment(model_id.as_str())),
        );
        self.send(&call).await?.decode(&call.what)
    }
}
