//! Generates a video end to end, against a local sandbox: no keys, no network.
//!
//! ```sh
//! cargo run -p kling-client --example generate -- "a red fox running through snow"
//! ```
//!
//! Against the real API, build the client with `Client::from_env()` instead (it reads
//! `SCENARIO_SDK_API_KEY` and `SCENARIO_SDK_API_SECRET`), and drop the sandbox.

use std::path::PathBuf;
use std::time::Duration;

use kling_client::{Client, Credentials, WaitOptions};
use kling_sandbox::{Sandbox, SandboxConfig};
use kling_types::kling_v1_6_pro::{AspectRatio, Kling16ProRequest};

#[tokio::main]
#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example reports on its streams"
)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "a red fox running through snow".to_owned());

    // A sandbox whose jobs take 3 seconds, like a (very fast) real generation.
    let sandbox =
        Sandbox::start(SandboxConfig::default().with_job_duration(Duration::from_secs(3))).await?;
    let credentials = sandbox.credentials();
    let client = Client::new(Credentials::new(
        credentials.key.clone(),
        credentials.secret.clone(),
    ))
    .with_base_url(sandbox.base_url());

    let request = Kling16ProRequest::new(prompt).with_aspect_ratio(AspectRatio::Landscape16x9);
    let submitted = client.submit(&request).await?;
    eprintln!(
        "submitted {} ({} creative units)",
        submitted.job_id(),
        submitted.cost.unwrap_or_default()
    );

    let options = WaitOptions::default().with_polling(
        Duration::from_millis(250),
        Duration::from_secs(2),
        1.5,
    );
    let job = client
        .wait_with(submitted.job_id(), options, |update| {
            eprintln!(
                "  {:<12} {:>3.0}%  after {:.1} s",
                update.status().to_string(),
                update.progress().unwrap_or(0.0) * 100.0,
                update.elapsed.as_secs_f64()
            );
        })
        .await?;

    for asset_id in job.metadata.unwrap_or_default().asset_ids {
        let path = PathBuf::from(format!("{}.mp4", job.job_id));
        let downloaded = client.download(&asset_id, &path).await?;
        eprintln!(
            "downloaded {} bytes, SHA-256 {}",
            downloaded.bytes,
            downloaded.sha256_hex().unwrap_or_default()
        );
        println!("{}", path.display());
    }
    Ok(())
}
