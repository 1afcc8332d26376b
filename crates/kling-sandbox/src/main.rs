//! `kling-sandbox`: the local stand-in of the Scenario API, as a server.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kling_sandbox::{Credentials, FaultRule, Sandbox, SandboxConfig};

/// A local stand-in of the Scenario API (Kling video generation), with fault injection.
///
/// Serves the API under /v1, like https://api.cloud.scenario.com/v1: point any client at
/// http://HOST:PORT/v1 (for the official SDKs and `kling`, set SCENARIO_BASE_URL).
/// Accepts the key and secret of SCENARIO_SDK_API_KEY / SCENARIO_SDK_API_SECRET, or
/// fixed sandbox credentials (printed at start) when those are unset.
#[derive(Debug, Parser)]
#[command(name = "kling-sandbox", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Seconds a job takes from creation to success.
    #[arg(long, default_value_t = 8.0)]
    job_seconds: f64,
    /// How many times faster than real time the sandbox clock runs.
    #[arg(long, default_value_t = 1.0)]
    clock_speed: f64,
    /// Seconds a signed asset URL stays valid.
    #[arg(long, default_value_t = 3600)]
    url_ttl_seconds: u64,
    /// Pad generated videos to this many bytes (for download benchmarks).
    #[arg(long)]
    output_size: Option<u64>,
    /// Seed of probabilistic fault rules.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A JSON file with a list of fault rules (see the README); more can be added with
    /// POST /_sandbox/faults.
    #[arg(long)]
    faults: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "kling_sandbox=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let credentials = match (
        std::env::var("SCENARIO_SDK_API_KEY"),
        std::env::var("SCENARIO_SDK_API_SECRET"),
    ) {
        (Ok(key), Ok(secret)) if !key.is_empty() && !secret.is_empty() => {
            Credentials { key, secret }
        }
        _ => Credentials::sandbox(),
    };
    let faults: Vec<FaultRule> = match &args.faults {
        None => Vec::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            serde_json::from_str(&text).map_err(|error| {
                format!("{} is not a list of fault rules: {error}", path.display())
            })?
        }
    };
    let positive = |value: f64| value.is_finite() && value > 0.0;
    if !positive(args.clock_speed) || !(positive(args.job_seconds) || args.job_seconds == 0.0) {
        return Err("--clock-speed must be a positive number and --job-seconds a number of seconds, 0 or more".to_owned());
    }
    let mut config = SandboxConfig::default()
        .with_credentials(credentials.clone())
        .with_job_duration(Duration::from_secs_f64(args.job_seconds))
        .with_clock_speed(args.clock_speed)
        .with_url_ttl(Duration::from_secs(args.url_ttl_seconds))
        .with_seed(args.seed);
    if let Some(size) = args.output_size {
        config = config.with_output_size(size);
    }
    config.faults = faults;
    let sandbox = Sandbox::bind(SocketAddr::new(args.host, args.port), config)
        .await
        .map_err(|error| {
            format!(
                "cannot listen on {}:{}: {error} (try another --port, or --port 0)",
                args.host, args.port
            )
        })?;
    let from_env = credentials != Credentials::sandbox();
    tracing::info!("listening on {}", sandbox.base_url());
    if from_env {
        tracing::info!(
            "credentials: the key and secret of SCENARIO_SDK_API_KEY / SCENARIO_SDK_API_SECRET"
        );
    } else {
        tracing::info!(
            "credentials: SCENARIO_SDK_API_KEY={} SCENARIO_SDK_API_SECRET={}",
            credentials.key,
            credentials.secret
        );
    }
    tracing::info!("try: export SCENARIO_BASE_URL={}", sandbox.base_url());
    tokio::signal::ctrl_c()
        .await
        .map_err(|error| format!("cannot wait for Ctrl-C: {error}"))?;
    tracing::info!("shutting down");
    sandbox.shutdown().await;
    Ok(())
}
