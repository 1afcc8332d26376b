//! `kling-sandbox`: the local stand-in of the Scenario API, as a server.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kling_sandbox::{Credentials, FaultRule, Sandbox, SandboxConfig};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

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
    #[arg(long, default_value_t = 8080, allow_negative_numbers = true)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Seconds a job takes from creation to success (0 or more; fractions too), in sandbox time.
    #[arg(long, default_value = "8", value_parser = seconds, allow_negative_numbers = true)]
    job_seconds: Duration,
    /// How many times faster than real time the sandbox clock runs (from 0.001 to 1000000).
    #[arg(long, default_value_t = 1.0, value_parser = clock_speed, allow_negative_numbers = true)]
    clock_speed: f64,
    /// Seconds a signed asset URL stays valid (up to ten years).
    #[arg(
        long,
        default_value_t = 3600,
        value_parser = clap::value_parser!(u64).range(..=MAX_URL_TTL_SECS),
        allow_negative_numbers = true
    )]
    url_ttl_seconds: u64,
    /// Pad generated videos to this many bytes (for download benchmarks).
    #[arg(long, allow_negative_numbers = true)]
    output_size: Option<u64>,
    /// Seed of probabilistic fault rules.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,
    /// The team's limit of parallel jobs: a generate while this many jobs run answers 429.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
    parallel_jobs: Option<u32>,
    /// A JSON file with a list of fault rules (see the README); more can be added with
    /// POST /_sandbox/faults.
    #[arg(long, value_parser = fault_file)]
    faults: Option<FaultFile>,
    /// Serve HTTPS, with a self-signed certificate made at start and written to --cert-file
    /// (trust it with `kling --ca-cert FILE` or SSL_CERT_FILE=FILE).
    #[arg(long)]
    tls: bool,
    /// Where --tls writes its certificate (PEM) [default: kling-sandbox-PORT.pem in the
    /// temporary folder]; removed at shutdown.
    #[arg(long, value_name = "FILE", requires = "tls", value_hint = clap::ValueHint::FilePath)]
    cert_file: Option<PathBuf>,
    /// Serve this JSON file (what GET /v1/models/{id} answers, `{"model": {"id": …}}`) for
    /// the model it names instead of the sandbox's own description (a drifted model, for
    /// `kling`'s drift check); may be given once per model.
    #[arg(long, value_name = "FILE", value_parser = description_file, value_hint = clap::ValueHint::FilePath)]
    model_description: Vec<DescriptionFile>,
}

/// Whether the log shows colours, by the rule of `kling` (and ripgrep, gh):
/// `CLICOLOR_FORCE` (set, not `0`) forces them; otherwise only on a terminal that is not
/// `TERM=dumb`, with `NO_COLOR` unset or empty.
fn colour(is_terminal: bool, var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    let forced = set("CLICOLOR_FORCE").is_some_and(|value| value != "0");
    let dumb = var("TERM").is_some_and(|term| term == "dumb");
    forced || (is_terminal && set("NO_COLOR").is_none() && !dumb)
}

/// Ten years: a longer `--url-ttl-seconds` is surely a mistake.
const MAX_URL_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// `--job-seconds`: a number of seconds, 0 or more.
fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("`{text}` is not a number of seconds, 0 or more"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is too many seconds"))
}

/// `--clock-speed`: a factor the sandbox can run at.
fn clock_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    let range = SandboxConfig::MIN_CLOCK_SPEED..=SandboxConfig::MAX_CLOCK_SPEED;
    if !range.contains(&speed) {
        return Err(format!(
            "`{text}` is not from {} to {}",
            range.start(),
            range.end()
        ));
    }
    Ok(speed)
}

/// The rules of a `--faults` file.
#[derive(Clone, Debug)]
struct FaultFile(Vec<FaultRule>);

/// `--faults`: a file holding a JSON list of fault rules, each of which can apply.
fn fault_file(path: &str) -> Result<FaultFile, String> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    let rules: Vec<FaultRule> = serde_json::from_str(&text)
        .map_err(|error| format!("{path} is not a list of fault rules: {error}"))?;
    for (index, rule) in rules.iter().enumerate() {
        rule.check()
            .map_err(|error| format!("{path}, rule {}: {error}", index + 1))?;
    }
    Ok(FaultFile(rules))
}

/// A `--model-description` file, read and checked at start.
#[derive(Clone, Debug)]
struct DescriptionFile(serde_json::Value);

/// `--model-description`: a file holding a model description the sandbox can serve.
fn description_file(path: &str) -> Result<DescriptionFile, String> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    let description: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("{path} is not JSON: {error}"))?;
    // The same check `SandboxConfig::with_model_description` makes when the server starts.
    SandboxConfig::default()
        .with_model_description(description.clone())
        .map_err(|error| format!("{path}: {error}"))?;
    Ok(DescriptionFile(description))
}

#[tokio::main]
async fn main() -> ExitCode {
    // `RUST_LOG` as `target=level,…` (`kling_sandbox=debug`).
    let filter: tracing_subscriber::filter::Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new()
                .with_target("kling_sandbox", tracing::Level::INFO)
        });
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // `2>log` gets plain text.
        .with_ansi(colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            |name| std::env::var_os(name),
        ));
    tracing_subscriber::registry()
        .with(log.with_filter(filter))
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
    let mut config = SandboxConfig::default()
        .with_credentials(credentials.clone())
        .with_job_duration(args.job_seconds)
        .with_clock_speed(args.clock_speed)
        .with_url_ttl(Duration::from_secs(args.url_ttl_seconds))
        .with_seed(args.seed);
    if let Some(size) = args.output_size {
        config = config.with_output_size(size);
    }
    if let Some(jobs) = args.parallel_jobs {
        config = config.with_parallel_jobs(jobs);
    }
    if let Some(FaultFile(rules)) = args.faults {
        config.faults = rules;
    }
    if args.tls {
        config = config.with_tls();
    }
    for DescriptionFile(description) in args.model_description {
        config = config
            .with_model_description(description)
            .map_err(|error| error.to_string())?;
    }
    let sandbox = Sandbox::bind(SocketAddr::new(args.host, args.port), config)
        .await
        .map_err(|error| {
            format!(
                "cannot listen on {}:{}: {error} (try another --port, or --port 0)",
                args.host, args.port
            )
        })?;
    let from_env = credentials != Credentials::sandbox();
    let certificate = match sandbox.certificate_pem() {
        Some(pem) => {
            let path = args.cert_file.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("kling-sandbox-{}.pem", sandbox.address().port()))
            });
            std::fs::write(&path, pem).map_err(|error| {
                format!(
                    "cannot write the certificate to {}: {error} (try another --cert-file)",
                    path.display()
                )
            })?;
            Some(path)
        }
        None => None,
    };
    tracing::info!("listening on {}", sandbox.base_url());
    if let Some(path) = &certificate {
        tracing::info!(
            "certificate: {} (self-signed; trust it with kling --ca-cert {0} or SSL_CERT_FILE={0})",
            path.display()
        );
    }
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
    if let Some(path) = certificate {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::Args;

    #[test]
    fn colours_follow_the_terminal_no_color_and_clicolor_force() {
        let check = |vars: &[(&str, &str)], terminal: bool| {
            super::colour(terminal, |name| {
                vars.iter()
                    .find(|(var, _)| *var == name)
                    .map(|(_, value)| value.into())
            })
        };
        assert!(check(&[], true));
        assert!(!check(&[], false));
        assert!(!check(&[("NO_COLOR", "1")], true));
        assert!(check(&[("NO_COLOR", "")], true));
        assert!(!check(&[("TERM", "dumb")], true));
        assert!(check(&[("CLICOLOR_FORCE", "1")], false));
        assert!(check(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], false));
        assert!(!check(&[("CLICOLOR_FORCE", "0")], false));
    }

    #[test]
    fn the_flags_are_consistent() {
        Args::command().debug_assert();
    }

    /// Every value a flag cannot take is a usage error (exit 2) that names the flag,
    /// never a panic at start.
    #[test]
    fn bad_flag_values_are_usage_errors() {
        let faults =
            std::env::temp_dir().join(format!("kling-sandbox-faults-{}.json", std::process::id()));
        std::fs::write(&faults, r#"[{"fault": {"kind": "status", "status": 200}}]"#).unwrap();
        let faults = faults.to_string_lossy().into_owned();
        for (flag, value) in [
            ("--job-seconds", "-1"),
            ("--job-seconds", "NaN"),
            ("--job-seconds", "inf"),
            ("--job-seconds", "1e300"),
            ("--job-seconds", "soon"),
            ("--clock-speed", "0"),
            ("--clock-speed", "-3"),
            ("--clock-speed", "inf"),
            ("--clock-speed", "NaN"),
            ("--clock-speed", "1e7"),
            ("--url-ttl-seconds", "-1"),
            ("--url-ttl-seconds", "18446744073709551615"),
            ("--output-size", "-5"),
            ("--port", "70000"),
            ("--port", "-1"),
            ("--seed", "-1"),
            ("--parallel-jobs", "0"),
            ("--parallel-jobs", "-2"),
            ("--host", "localhost:80"),
            ("--faults", "/nonexistent/faults.json"),
            ("--faults", faults.as_str()),
        ] {
            let error = Args::try_parse_from(["kling-sandbox", flag, value])
                .expect_err(&format!("{flag} {value}"));
            assert_eq!(error.exit_code(), 2, "{flag} {value}");
            let message = error.to_string();
            assert!(message.contains(flag), "{flag} {value}: {message}");
        }
        let _ = std::fs::remove_file(&faults);
    }

    #[test]
    fn good_flag_values_are_taken() {
        let args = Args::try_parse_from([
            "kling-sandbox",
            "--job-seconds",
            "0.5",
            "--clock-speed",
            "0.001",
            "--url-ttl-seconds",
            "0",
        ])
        .unwrap();
        assert_eq!(args.job_seconds, std::time::Duration::from_millis(500));
        assert_eq!(args.clock_speed, 0.001);
        assert_eq!(args.url_ttl_seconds, 0);
        assert_eq!(
            Args::try_parse_from(["kling-sandbox", "--job-seconds", "0"])
                .unwrap()
                .job_seconds,
            std::time::Duration::ZERO
        );
    }
}
