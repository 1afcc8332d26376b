//! `kling`: generate videos with Kling on the Scenario API from a terminal.
//!
//! A thin binary over `kling-client`: clap parses the flags (`cli`), the model flags
//! come from each model's parameter table (`params`), each command lives in `commands`, `output` is the
//! only place that prints, and `main` turns the outcome into an exit code.

mod append_log;
mod cli;
mod commands;
mod drift;
mod exit;
/// The generator's fixture models (`tests/fixtures/schemas/`), whose flags and help are
/// tested here as the built-in models' are.
#[cfg(test)]
#[rustfmt::skip]
#[allow(dead_code, unreachable_pub, reason = "generated code, used only by the tests of params")]
#[path = "../../../tests/src/fixtures/generated/mod.rs"]
mod fixture_models;
#[cfg(test)]
mod fuzz;
mod gallery;
mod history;
mod man_pages;
mod output;
mod params;
mod records;
mod sandbox;
#[cfg(test)]
mod scratch;
mod settings;
mod signals;
mod terminal;

use std::process::ExitCode;

use clap::FromArgMatches as _;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::cli::{Cli, Command, Models};
use crate::exit::Exit;
use crate::output::Output;
use crate::settings::{Overrides, Settings};

fn main() -> ExitCode {
    let matches = match cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => {
            // --help and --version land here too, and succeed.
            let code = if error.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Success.code()
            };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(Exit::Usage.code());
        }
    };
    init_diagnostics(cli.global.verbose);
    let out = Output::new(cli.global.json, cli.global.quiet);
    // One thread: a command waits on the network, and a download is fastest when the
    // connection, the body and the file writes share one thread (no wake-ups between
    // threads: 1.5× the throughput of a multi-threaded runtime, BENCHMARKS.md). Blocking
    // work (fsync, slow disks, file reads) goes to tokio's blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            out.error(&format!("cannot start the async runtime: {error}"));
            return ExitCode::from(Exit::Failure.code());
        }
    };
    // Commands that talk to the API stop cleanly on SIGINT, SIGTERM and SIGHUP; the
    // others end in a moment and keep the default (a blocked write to a full pipe still
    // ends at the first Ctrl-C).
    if cli.command.needs_api()
        && let Err(error) = signals::listen(out)
    {
        out.error(&exit::message(&error));
        return ExitCode::from(Exit::Failure.code());
    }
    let outcome = runtime.block_on(async {
        let command = run(&cli, &matches, out);
        tokio::pin!(command);
        tokio::select! {
            biased;
            outcome = &mut command => outcome,
            signal = signals::received() => {
                // Where the command waits on something, it stops with a message of its
                // own that says how to resume: the signal may have come while it was
                // being polled, so it gets one more poll to see it.
                futures_util::FutureExt::now_or_never(&mut command).unwrap_or_else(|| {
                    Err(exit::interrupted(signal, format!("interrupted by {}", signal.name())))
                })
            }
        }
    });
    // Do not wait for background tasks (an in-process sandbox): the work is done.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if exit::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            out.error(&exit::message(&error));
            ExitCode::from(exit::exit_for(&error).code())
        }
    }
}

async fn run(cli: &Cli, matches: &clap::ArgMatches, out: Output) -> anyhow::Result<()> {
    let global = &cli.global;
    let settings = || {
        Settings::resolve(Overrides {
            api_key: global.api_key.clone(),
            api_secret: global.api_secret.clone(),
            base_url: global.base_url.clone(),
            ca_cert: global.ca_cert.clone(),
            config: global.config.clone(),
        })
    };
    // Commands that need no API.
    match &cli.command {
        Command::Models { id, command: None } => {
            return commands::misc::models(&out, id.as_deref());
        }
        Command::Config => return commands::misc::config(&out, &settings()?),
        Command::Completions { shell } => return commands::misc::completions(*shell),
        Command::Gallery { dir } => return commands::kept::gallery(&out, dir),
        Command::Spend { since } => {
            if global.sandbox {
                out.note("--sandbox keeps no ledger: nothing was spent");
                return Ok(());
            }
            let history = history::History::in_dir(&settings()?.data_dir);
            return commands::kept::spend(&out, &history, *since);
        }
        Command::ManPages { dir } => return man_pages::write(dir),
        _ => {}
    }
    // A generate request is read and validated before anything is set up or sent.
    let prepared = match &cli.command {
        Command::Generate(args) => {
            let generate = matches
                .subcommand_matches("generate")
                .ok_or_else(|| anyhow::anyhow!("no generate arguments"))?;
            Some(commands::generate::prepare(&out, args, generate)?)
        }
        _ => None,
    };
    let ctx = commands::Ctx::new(global, &settings()?, out).await?;
    match &cli.command {
        Command::Generate(args) => {
            let prepared = prepared.ok_or_else(|| anyhow::anyhow!("generate was not prepared"))?;
            commands::generate::run(&ctx, args, prepared).await
        }
        Command::Jobs(command) => commands::jobs::run(&ctx, command).await,
        Command::Assets(command) => commands::assets::run(&ctx, command).await,
        Command::Upload { file } => commands::misc::upload(&ctx, file).await,
        Command::Batch(args) => commands::batch::run(&ctx, args).await,
        Command::Rerun(args) => commands::rerun::run(&ctx, args).await,
        Command::Models {
            command: Some(Models::Schema { id }),
            ..
        } => commands::misc::model_schema(&ctx, id).await,
        Command::Models { command: None, .. }
        | Command::Config
        | Command::Completions { .. }
        | Command::Gallery { .. }
        | Command::Spend { .. }
        | Command::ManPages { .. } => Ok(()),
    }
}

/// `-v` shows each request (method, path, status, timing) and retry, `-vv` everything;
/// `RUST_LOG` overrides both. Credentials and signed URLs never reach a log line.
fn init_diagnostics(verbose: u8) {
    let default = match verbose {
        0 => "off",
        1 => "kling_client=debug,kling_sandbox=info,kling=info",
        2 => "kling_client=trace,kling_sandbox=debug,info",
        _ => "trace",
    };
    // `RUST_LOG` as `target=level,…` (`kling_client=debug,info`); one it cannot read is
    // left aside for the default, as a typo must not silence `-v`.
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| default.parse().unwrap_or_default());
    let colour = terminal::Conventions::from_env()
        .colour(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let log = tracing_subscriber::fmt::layer()
        // Each line hides the live bars while it is written.
        .with_writer(terminal::Diagnostics)
        // Colours only for a terminal, unless NO_COLOR or CLICOLOR_FORCE says otherwise:
        // `2>log` gets plain text.
        .with_ansi(colour)
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(log.with_filter(filter))
        .try_init();
}
