// @generated from schema/ by `cargo xtask codegen`. Do not edit by hand.
//! Everything `cargo xtask codegen` writes from `schema/`.

#[cfg(feature = "kling-v1-6-pro")]
pub mod kling_v1_6_pro;
mod api_assets;
mod api_errors;
mod api_jobs;
mod api_models;
mod api_uploads;

/// The platform's wire types: jobs, assets, errors, generate responses.
pub mod api {
    pub use super::api_assets::*;
    pub use super::api_errors::*;
    pub use super::api_jobs::*;
    pub use super::api_models::*;
    pub use super::api_uploads::*;
}

/// Every model of `schema/models/` this build includes (one cargo feature each), in
/// the order of their ids.
pub static MODELS: &[crate::ModelInfo] = &[
    #[cfg(feature = "kling-v1-6-pro")]
    crate::__private::model_info(
        "model_kling-v1-6-pro",
        "Kling 1.6 Pro",
        "Kling 1.6 Pro: text-to-video and image-to-video generation of 5 or 10 second clips.",
        kling_v1_6_pro::SCHEMA,
        kling_v1_6_pro::PARAMS,
        crate::__private::validate_json::<kling_v1_6_pro::Kling16ProRequest>,
    ),
];
