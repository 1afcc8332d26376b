//! Identifier newtypes: an asset id, a job id and a model id are all strings on the
//! wire, but never interchangeable in code.

use std::fmt;

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident, $example:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier as the API spells it.
            ///
            /// ```
            #[doc = concat!("let id = kling_types::", stringify!($name), "::new(\"", $example, "\");")]
            #[doc = concat!("assert_eq!(id.as_str(), \"", $example, "\");")]
            /// ```
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as the API spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Gives back the inner string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_newtype!(
    /// The id of an asset (an uploaded image, a generated video): `asset_…`.
    AssetId,
    "asset_abc123"
);
id_newtype!(
    /// The id of a job (one generation): `job_…`.
    JobId,
    "job_abc123"
);
id_newtype!(
    /// The id of a model, as used in `POST /v1/generate/custom/{modelId}`.
    ModelId,
    "model_kling-v1-6-pro"
);
