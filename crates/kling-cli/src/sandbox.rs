//! `--sandbox`: a local stand-in of the API started inside this process, when `kling` is
//! built with the `sandbox` feature (the default); without it, a usage error that says
//! how to install a `kling` that has it.

use kling_client::Credentials;

/// How long `--sandbox` jobs take: long enough to see progress, short enough to wait.
#[cfg(feature = "sandbox")]
const SANDBOX_JOB_SECONDS: u64 = 4;

/// A running sandbox, kept alive while the command runs.
#[cfg(feature = "sandbox")]
pub(crate) type Handle = kling_sandbox::SandboxHandle;

/// A running sandbox: none can exist in a `kling` built without the `sandbox` feature.
#[cfg(not(feature = "sandbox"))]
#[derive(Debug)]
pub(crate) enum Handle {}

/// A started sandbox: the handle that keeps it alive, where it listens, and its keys.
pub(crate) struct Started {
    pub(crate) handle: Handle,
    pub(crate) base_url: String,
    pub(crate) credentials: Credentials,
}

/// Starts the in-process sandbox of `--sandbox`.
#[cfg(feature = "sandbox")]
pub(crate) async fn start() -> anyhow::Result<Started> {
    use std::time::Duration;

    use anyhow::Context as _;

    let config = kling_sandbox::SandboxConfig::default()
        .with_job_duration(Duration::from_secs(SANDBOX_JOB_SECONDS));
    let handle = kling_sandbox::Sandbox::start(config)
        .await
        .context("cannot start the sandbox")?;
    let keys = handle.credentials();
    let credentials = Credentials::new(keys.key.clone(), keys.secret.clone());
    Ok(Started {
        base_url: handle.base_url().to_owned(),
        credentials,
        handle,
    })
}

/// `--sandbox` in a `kling` built without it: a usage error naming the install command.
#[cfg(not(feature = "sandbox"))]
#[expect(
    clippy::unused_async,
    reason = "the same signature as with the sandbox"
)]
pub(crate) async fn start() -> anyhow::Result<Started> {
    Err(crate::exit::usage(
        "this kling was built without the sandbox (the `sandbox` feature); \
         install one that has it with: cargo install kling-cli --features sandbox --force",
    ))
}
