//! Typed requests for the video models of the Scenario API (Kling 1.6 Pro first), and
//! the platform's wire types (jobs, assets, errors), generated from the JSON Schemas
//! in `schema/` by `cargo xtask codegen`.
//!
//! This crate depends on serde only: bring any HTTP stack, or use `kling-client`.
//!
//! Each model is a cargo feature (`kling-v1-6-pro`, …; `all-models` is the default), so
//! a dependent that needs one model compiles only that one:
//! `kling-types = { version = "0.1", default-features = false, features = ["kling-v1-6-pro"] }`.
//!
//! # Building and validating a request
//!
//! ```
//! use kling_types::{AssetId, ModelRequest};
//! use kling_types::kling_v1_6_pro::{AspectRatio, DurationValue, Kling16ProRequest};
//!
//! let request = Kling16ProRequest::new("a red fox running through snow")
//!     .with_aspect_ratio(AspectRatio::Portrait9x16)
//!     .with_duration(DurationValue::Seconds10)
//!     .with_cfg_scale(0.7);
//!
//! // Every problem at once; an empty report means the API will accept it.
//! let warnings = request.validate().into_result()?;
//! assert!(warnings.is_empty());
//!
//! // Exactly the JSON the API documents; parameters left unset are left out.
//! assert_eq!(
//!     serde_json::to_value(&request)?,
//!     serde_json::json!({
//!         "prompt": "a red fox running through snow",
//!         "aspectRatio": "9:16",
//!         "cfgScale": 0.7,
//!         "duration": 10,
//!     })
//! );
//!
//! // Image to video: the first frame decides the aspect ratio, so setting one is a warning.
//! let image_to_video = Kling16ProRequest::new("the cat wakes up")
//!     .with_start_image(AssetId::new("asset_cat"))
//!     .with_aspect_ratio(AspectRatio::Square1x1);
//! let validation = image_to_video.validate();
//! assert!(validation.is_valid());
//! assert_eq!(validation.warnings()[0].field, "aspectRatio");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decoding responses
//!
//! Wire types in [`api`] ignore fields they do not know and keep enum values they do
//! not know ([`api::JobStatus::Other`]), so a newer server never breaks decoding.
//!
//! ```
//! use kling_types::api::{JobResponse, JobStatus};
//!
//! let body = r#"{"job": {"jobId": "job_1", "status": "thinking-hard", "progress": 0.5, "newField": 1}}"#;
//! let response: JobResponse = serde_json::from_str(body)?;
//! assert_eq!(response.job.status, JobStatus::Other("thinking-hard".into()));
//! assert!(!response.job.status.is_terminal());
//! # Ok::<(), serde_json::Error>(())
//! ```
#![warn(missing_docs)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod api_ext;
mod decimal;
mod enums;
#[rustfmt::skip]
mod generated;
mod ids;
mod params;
mod request;
mod validation;

pub use enums::ParseEnumError;
// The models this build includes (one cargo feature each, all by default), `api` and
// `MODELS`.
pub use generated::*;
pub use ids::{AssetId, JobId, ModelId};
pub use params::{
    Bounds, Choice, ChoiceValue, FileKind, FileLimits, IgnoredWhen, Length, Literal, Param,
    ParamKind, RequiredWhen, ValueCondition,
};
pub use request::{AssetValue, ModelInfo, ModelRequest, find_model};
pub use validation::{Finding, Validation, ValidationError};
