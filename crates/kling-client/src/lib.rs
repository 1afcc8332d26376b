//! The async client for Kling video generation on the Scenario API: submit, wait,
//! download, upload, without ever losing a paid job or a downloaded file.
//!
//! Thin over [`kling_types`]: any generated request can be submitted, and every answer
//! decodes into its wire types. What this crate adds is what a job API needs to be
//! trustworthy:
//!
//! - **no paid job twice**: a generate request is retried blindly only when it
//!   provably started nothing; otherwise the job list is searched first
//!   ([`Client::submit`]);
//! - **retries that help**: backoff with jitter on broken connections, timeouts, 408,
//!   429, 5xx; `Retry-After` honoured up to a cap; a budget so a failing server is not
//!   hammered; never on answers retrying cannot fix ([`RetryPolicy`]);
//! - **waiting** with a deadline, polling that starts fast and backs off, and a stream
//!   of updates ([`Client::watch`], [`Client::wait_with`]);
//! - **downloads** that resume after a cut, renew expired URLs, and never leave a half
//!   file at the target ([`Client::download`]);
//! - **no secret in sight**: credentials and signed URLs never appear in `Debug`,
//!   errors or logs.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
//! # // SAFETY of the example: a doctest is its own process.
//! # unsafe { std::env::set_var("SCENARIO_SDK_API_KEY", "sandbox-key"); }
//! # unsafe { std::env::set_var("SCENARIO_SDK_API_SECRET", "sandbox-secret"); }
//! # unsafe { std::env::set_var("SCENARIO_BASE_URL", sandbox.base_url()); }
//! # let dir = std::env::temp_dir().join(format!("kling-doc-lib-{}", std::process::id()));
//! use kling_client::{Client, WaitOptions};
//! use kling_types::kling_v1_6_pro::{AspectRatio, Kling16ProRequest};
//!
//! let client = Client::from_env()?; // SCENARIO_SDK_API_KEY, _SECRET, SCENARIO_BASE_URL
//! let request = Kling16ProRequest::new("a red fox running through snow").with_aspect_ratio(AspectRatio::Portrait9x16);
//!
//! let submitted = client.submit(&request).await?;
//! let job = client.wait(submitted.job_id(), WaitOptions::default()).await?;
//! for asset_id in job.metadata.unwrap_or_default().asset_ids {
//!     client.download(&asset_id, &dir.join(format!("{asset_id}.mp4"))).await?;
//! }
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod board;
mod client;
mod config;
mod download;
mod error;
mod jobs;
mod models;
mod redact;
mod upload;

pub use board::JobBoard;
pub use client::{Client, TRANSFER_CONNECTIONS};
pub use config::{
    Credentials, DEFAULT_BASE_URL, ENV_API_KEY, ENV_API_SECRET, ENV_BASE_URL, RetryPolicy, Timeouts,
};
pub use download::{DownloadProgress, Downloaded, is_output_folder, output_path};
pub use error::{Error, JobLookup, TeamLimit};
pub use jobs::{JobFilter, JobUpdate, Submitted, WaitOptions};
pub use redact::redact;
pub use upload::{IMAGE_FORMATS, MAX_INLINE_IMAGE_BYTES, sniff_file_type, sniff_image_type};

/// The settings of this crate's fuzz targets (the `fuzz_*` proptest tests):
/// `KLING_FUZZ_CASES` cases (2000 unless set; `cargo xtask fuzz` sets 100000), and no
/// failure files (a failure prints its minimal input, which becomes a unit test).
#[cfg(test)]
pub(crate) fn fuzz_config() -> proptest::test_runner::Config {
    let cases = std::env::var("KLING_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.trim().parse().ok())
        .unwrap_or(2000);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..Default::default()
    }
}
