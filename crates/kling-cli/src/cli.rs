//! The command line, as clap derive types; `kling generate`'s model flags are added
//! at run time from the schemas (see `params`).

use std::path::PathBuf;

use clap::{Args, CommandFactory as _, Parser, Subcommand};

use crate::exit::EXIT_CODES;

/// Generate videos with Kling on the Scenario API, one or a thousand, without losing any.
///
/// Credentials come from SCENARIO_SDK_API_KEY and SCENARIO_SDK_API_SECRET (or the config
/// file, see `kling config`). To try everything without keys, add --sandbox: a local
/// stand-in of the API runs inside this process.
#[derive(Debug, Parser)]
#[command(name = "kling", version, propagate_version = true, after_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes, before or after its name.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Run against a sandbox started in this process: no keys, no network, nothing kept.
    #[arg(long, global = true, help_heading = "Global options")]
    pub(crate) sandbox: bool,
    /// Print results as JSON on stdout.
    #[arg(long, global = true, help_heading = "Global options")]
    pub(crate) json: bool,
    /// Print nothing but results: no progress, no notes, no warnings.
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub(crate) quiet: bool,
    /// Diagnostics on stderr: -v for each request and retry, -vv for everything (RUST_LOG works too).
    #[arg(long, short, action = clap::ArgAction::Count, global = true, help_heading = "Global options")]
    pub(crate) verbose: u8,
    /// Do not wait for downloads to reach the disk before naming them (faster on slow disks; a
    /// power cut could then leave an empty file under the final name).
    #[arg(long, global = true, help_heading = "Global options")]
    pub(crate) no_fsync: bool,
    // The help is an attribute, not a doc comment: rustdoc would want the URL in <>.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Global options",
        help = "The API's base URL [default: https://api.cloud.scenario.com/v1; env SCENARIO_BASE_URL]"
    )]
    pub(crate) base_url: Option<String>,
    /// The API key [env SCENARIO_SDK_API_KEY]; prefer the environment (flags show in shell history).
    #[arg(
        long,
        global = true,
        value_name = "KEY",
        help_heading = "Global options"
    )]
    pub(crate) api_key: Option<String>,
    /// The API secret [env SCENARIO_SDK_API_SECRET]; prefer the environment.
    #[arg(
        long,
        global = true,
        value_name = "SECRET",
        help_heading = "Global options"
    )]
    pub(crate) api_secret: Option<String>,
    /// Also trust the certificate authorities of this PEM file (a TLS-inspecting proxy's, the
    /// sandbox's --tls certificate) [env SSL_CERT_FILE; config ca_cert].
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Global options",
        value_hint = clap::ValueHint::FilePath
    )]
    pub(crate) ca_cert: Option<String>,
    /// The config file [default: the platform's config folder; env KLING_CONFIG].
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Global options",
        value_hint = clap::ValueHint::FilePath
    )]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a video: upload local images, submit, wait with progress, download.
    Generate(Generate),
    /// Jobs: look one up, wait for it, list them, cancel, or see the local history.
    #[command(subcommand)]
    Jobs(Jobs),
    /// Assets: look one up, or download its file.
    #[command(subcommand)]
    Assets(Assets),
    /// Upload an image and print its asset id (for --start-image and friends).
    Upload {
        /// The image (JPEG, PNG, GIF, WebP, AVIF, TIFF, HEIC or SVG).
        #[arg(value_hint = clap::ValueHint::FilePath)]
        file: PathBuf,
    },
    /// Run many generations from a JSON Lines file, resumable after a crash or Ctrl-C.
    ///
    /// Each line of FILE is one request: the model's parameters as JSON, e.g.
    /// {"prompt": "a red fox running through snow", "duration": 5}, with an optional "model"
    /// (default model_kling-v1-6-pro) and "name" (the output's file name, default
    /// line-NNNN).
    ///
    /// Where the model takes an image, a line may give a local file instead of an asset id:
    /// {"prompt": "the cat wakes up", "startImage": "cat.png"}. Relative paths are read from
    /// the folder FILE is in (not the working directory). Every file is checked before
    /// anything is paid for (it exists, is not empty or too large, is an image the API
    /// accepts: else the line is bad), uploaded once per content however many lines name
    /// it (--dry-run lists them), and the job gets its asset id. A file is known by what it
    /// holds: renaming it changes nothing, changing its content makes its lines new
    /// requests.
    ///
    /// A journal in the output folder knows each line by its request (model, parameters and
    /// name), not by its position: rerun the same command after a crash, Ctrl-C or an edit of
    /// the file, and no request whose job was started is submitted again (it is waited for
    /// and downloaded); new or changed lines are new requests; requests removed from the
    /// file whose jobs were started are listed in the report. One run at a time per output
    /// folder. Failures a retry can fix (5xx, 429, network) are retried in the same run
    /// until --timeout; failed jobs end their line (--retry-failed starts them again, and
    /// pays again). Jobs in flight follow the team's parallel-job limit the API reports.
    /// Bad lines are reported by number and do not stop the rest; a refusal every line
    /// would meet (credentials, credit, a model the plan lacks) stops new submits, and the
    /// rest are reported "not started". report.json in the output folder tells what became
    /// of each line, with its cost.
    ///
    /// Beside each video: its poster (NAME.poster.png) and its record (NAME.kling.json: the
    /// request, ids, costs, SHA-256; a failed line gets one with the server's reason).
    /// index.html in the output folder shows every line as a card, kept current as lines
    /// finish. FILE may be a folder of records instead: each record is a line (its request
    /// and its name), so `kling batch old-batch/ -o new-batch` runs a batch again.
    ///
    /// Spending: --dry-run prints what each line and the whole batch would cost, and writes
    /// nothing (it may run while another batch works on the folder); --max-cu
    /// stops starting jobs at a ceiling (lines left "not started: budget", exit 6); on a
    /// terminal, a batch estimated above `confirm_above_cu` (config, default 500) asks
    /// first (--yes skips); KLING_NO_SPEND=1 refuses every paid submit.
    Batch(Batch),
    /// Submit again the exact requests that made these outputs, from their records.
    ///
    /// Each RECORD is a NAME.kling.json that kling wrote beside an output. Each is a new
    /// job, paid again: the cost is shown first, and the spending controls of `kling batch`
    /// apply (--dry-run, --max-cu, a confirmation above `confirm_above_cu` on a terminal,
    /// --yes, KLING_NO_SPEND). The new videos go beside their records, as NAME-JOB_ID.mp4,
    /// with records of their own. For many records, `kling batch FOLDER` reruns a folder.
    Rerun(Rerun),
    /// What this machine spent: quoted and charged creative units per day and model.
    Spend {
        /// Only the last 30d, 2w, 12h, ….
        #[arg(long, value_name = "AGE", value_parser = crate::history::parse_since)]
        since: Option<std::time::SystemTime>,
    },
    /// Write index.html into a folder of records: a page to look at its videos, offline.
    Gallery {
        /// A folder holding NAME.kling.json records (a batch's output folder, say).
        dir: PathBuf,
    },
    /// List the models, show one's parameters, or print what the API says of one (`schema`).
    ///
    /// `kling models` and `kling models ID` read the models built into this kling (no
    /// network). `kling models schema ID` prints the API's own description of a model, for
    /// `cargo xtask import-model`.
    #[command(args_conflicts_with_subcommands = true)]
    Models {
        /// The model to show (all when left out).
        id: Option<String>,
        #[command(subcommand)]
        command: Option<Models>,
    },
    /// Show the settings in use and where each comes from (secrets masked).
    Config,
    /// Print a shell completion script: `kling completions bash > ~/.local/share/bash-completion/completions/kling`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Writes the man pages (kling.1 and one per subcommand) into DIR: what `cargo xtask
    /// man` runs.
    #[command(name = "__man-pages", hide = true)]
    ManPages {
        #[arg(value_hint = clap::ValueHint::DirPath)]
        dir: PathBuf,
    },
}

impl Command {
    /// Whether the command talks to the API (all but `models [ID]`, `config`,
    /// `completions`, `gallery` and `spend`).
    pub(crate) fn needs_api(&self) -> bool {
        !matches!(
            self,
            Self::Models { command: None, .. }
                | Self::Config
                | Self::Completions { .. }
                | Self::Gallery { .. }
                | Self::Spend { .. }
                | Self::ManPages { .. }
        )
    }
}

/// The model's own flags follow, under "Model parameters".
#[derive(Debug, Args)]
pub(crate) struct Generate {
    /// The model.
    #[arg(long, default_value = DEFAULT_MODEL, value_name = "ID")]
    pub(crate) model: String,
    /// Where to save the video: a file, or a folder (named after the job) [default: JOB_ID.mp4 here].
    #[arg(short, long, value_name = "PATH")]
    pub(crate) output: Option<PathBuf>,
    /// Submit, print the job id, and exit (`kling jobs wait ID` picks it up).
    #[arg(long, conflicts_with = "dry_run")]
    pub(crate) no_wait: bool,
    /// Print what the generation would cost, start nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Start nothing that costs more than this many creative units (the cost is asked
    /// first) [config: max_cu].
    #[arg(long, value_name = "CU", value_parser = creative_units)]
    pub(crate) max_cu: Option<f64>,
    /// Stop waiting after this many seconds (the job goes on).
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub(crate) timeout: u64,
    /// Write no NAME.kling.json record beside the output (the request, ids, costs, SHA-256).
    #[arg(long)]
    pub(crate) no_record: bool,
    #[command(flatten)]
    pub(crate) drift: DriftFlags,
}

/// The drift check's flags, on the commands that pay.
#[derive(Clone, Copy, Debug, Args)]
pub(crate) struct DriftFlags {
    /// Refuse to submit when the API's description of the model breaks the schema built into
    /// kling, or cannot be checked (exit 7) [config: strict_schema].
    #[arg(long)]
    pub(crate) strict_schema: bool,
    /// Do not compare the API's description of the model with the built-in schema before
    /// paying (checked once a day per model otherwise) [config: drift_check].
    #[arg(long)]
    pub(crate) no_drift_check: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Jobs {
    /// Show a job.
    Get {
        /// The job id (job_…).
        id: String,
    },
    /// Wait for a job and download its outputs.
    Wait {
        /// The job id (job_…); see --last.
        #[arg(required_unless_present = "last")]
        id: Option<String>,
        /// The most recent job of the local history, even one whose answer was lost.
        #[arg(long, conflicts_with = "id")]
        last: bool,
        /// Where to save the video: a file or a folder [default: the path given when it was submitted, or JOB_ID.mp4 here].
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Stop waiting after this many seconds (the job goes on).
        #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
        timeout: u64,
        /// Write no NAME.kling.json record beside the output (the request, ids, costs, SHA-256).
        #[arg(long)]
        no_record: bool,
    },
    /// List jobs, newest first.
    List {
        /// Only jobs in this status (queued, in-progress, success, failure, …).
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Ask the API to cancel a job (it refuses for generations today, and this says so).
    Cancel {
        /// The job id (job_…).
        id: String,
    },
    /// The local ledger of submits, newest first, also the ones whose answer was lost.
    History {
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only submits of the last 7d, 12h, 30m, 2w, ….
        #[arg(long, value_name = "AGE", value_parser = crate::history::parse_since)]
        since: Option<std::time::SystemTime>,
        /// Only jobs in this status (success, failure, canceled; submitted: not seen to end;
        /// unknown: the answer was lost).
        #[arg(long)]
        status: Option<String>,
        /// Only jobs of this model.
        #[arg(long, value_name = "ID")]
        model: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum Models {
    /// Print the API's description of a model as JSON: its parameters with their limits.
    ///
    /// For a model this kling does not know yet, or to see what changed:
    /// `kling models schema ID > model.json && cargo xtask import-model model.json`.
    Schema {
        /// The model id (model_…).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum Assets {
    /// Show an asset.
    Get {
        /// The asset id (asset_…).
        id: String,
    },
    /// Download an asset's file, or every output of a job.
    Download {
        /// The asset id (asset_…); see --job.
        #[arg(required_unless_present = "job")]
        id: Option<String>,
        /// Download every output of this job instead.
        #[arg(long, value_name = "JOB_ID", conflicts_with = "id")]
        job: Option<String>,
        /// Where to save: a file or a folder [default: here, named after the asset or job].
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Write no NAME.kling.json record beside the output (the request, ids, costs, SHA-256).
        #[arg(long)]
        no_record: bool,
    },
}

/// The flags of `kling batch`.
#[derive(Debug, Args)]
pub(crate) struct Batch {
    /// The JSON Lines file, or a folder of NAME.kling.json records.
    #[arg(value_hint = clap::ValueHint::AnyPath)]
    pub(crate) file: PathBuf,
    /// Where the videos, the journal and the report go.
    #[arg(short, long, value_name = "DIR", default_value = "kling-batch", value_hint = clap::ValueHint::DirPath)]
    pub(crate) out: PathBuf,
    /// Jobs in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) concurrency: u16,
    /// Give a line this many seconds: waiting for its job, and retrying what failed in a way
    /// a retry can fix (the job goes on after that; a rerun picks it up).
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub(crate) timeout: u64,
    /// Print what each line and the whole batch would cost; start nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Spend at most this many creative units on this output folder (all its runs): a line
    /// whose cost would pass it is not started [config: max_cu].
    #[arg(long, value_name = "CU", value_parser = creative_units)]
    pub(crate) max_cu: Option<f64>,
    /// Start without asking, whatever the estimate.
    #[arg(long, short)]
    pub(crate) yes: bool,
    /// Submit again the lines whose job failed or was canceled (each is paid again).
    #[arg(long)]
    pub(crate) retry_failed: bool,
    /// Write no NAME.kling.json record beside each output (the request, ids, costs, SHA-256),
    /// and so no gallery (it is made from the records).
    #[arg(long)]
    pub(crate) no_record: bool,
    /// Write no index.html gallery into the output folder.
    #[arg(long)]
    pub(crate) no_gallery: bool,
    #[command(flatten)]
    pub(crate) drift: DriftFlags,
}

/// The flags of `kling rerun`.
#[derive(Debug, Args)]
pub(crate) struct Rerun {
    /// The records (NAME.kling.json).
    #[arg(required = true, value_name = "RECORD")]
    pub(crate) records: Vec<PathBuf>,
    /// Where the new videos go [default: beside each record].
    #[arg(short, long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Print what the reruns would cost; start nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Start nothing if the reruns together would cost more than this many creative
    /// units [config: max_cu].
    #[arg(long, value_name = "CU", value_parser = creative_units)]
    pub(crate) max_cu: Option<f64>,
    /// Start without asking, whatever the estimate.
    #[arg(long, short)]
    pub(crate) yes: bool,
    /// Stop waiting after this many seconds (the jobs go on).
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub(crate) timeout: u64,
    /// Write no NAME.kling.json record beside the new outputs.
    #[arg(long)]
    pub(crate) no_record: bool,
    #[command(flatten)]
    pub(crate) drift: DriftFlags,
}

/// A number of creative units: finite, 0 or more.
fn creative_units(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ => Err("expected a number of creative units, 0 or more (e.g. 400)".to_owned()),
    }
}

/// The whole command, with the flags of the model that `kling generate --model ID` names
/// on this process's command line (the default model's without one).
pub(crate) fn command() -> clap::Command {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    command_for(generate_model(&args), kling_types::MODELS)
}

/// The whole command, with `model`'s flags under `kling generate` (and, hidden, those of
/// the other `models`, for a message that names their model).
pub(crate) fn command_for(
    model: Option<&'static kling_types::ModelInfo>,
    models: &'static [kling_types::ModelInfo],
) -> clap::Command {
    Cli::command().mut_subcommand("generate", |generate| {
        generate.args(crate::params::args(model, models))
    })
}

/// The model `kling generate` is asked for (`--model ID` or `--model=ID`), before clap
/// parses: its flags are the ones to parse. `None` for a model this kling does not know
/// (`kling generate` then says so).
pub(crate) fn generate_model(
    args: &[std::ffi::OsString],
) -> Option<&'static kling_types::ModelInfo> {
    let mut words = args.iter().skip(1).filter_map(|arg| arg.to_str());
    let mut id = DEFAULT_MODEL;
    if words.by_ref().any(|word| word == "generate") {
        while let Some(word) = words.next() {
            if word == "--model" {
                id = words.next().unwrap_or(DEFAULT_MODEL);
            } else if let Some(value) = word.strip_prefix("--model=") {
                id = value;
            }
        }
    }
    kling_types::find_model(id)
}

/// The model of `kling generate` when `--model` is left out.
pub(crate) const DEFAULT_MODEL: &str = "model_kling-v1-6-pro";

#[cfg(test)]
mod tests {
    use super::*;

    /// `kling generate --model ID --help` of each model of `models`.
    fn generate_help(models: &'static [kling_types::ModelInfo]) {
        for model in models {
            let mut command = command_for(Some(model), models);
            command.build();
            let generate = command
                .find_subcommand_mut("generate")
                .expect("kling generate exists");
            let help = generate.render_help().to_string();
            insta::with_settings!({ snapshot_suffix => model.id }, {
                insta::assert_snapshot!(help);
            });
        }
    }

    #[test]
    fn generate_help_lists_the_parameters_of_its_model_only() {
        generate_help(kling_types::MODELS);
    }

    #[test]
    fn generate_help_of_the_fixture_models() {
        generate_help(crate::fixture_models::MODELS);
    }

    /// The reserved flags the dialect refuses as model flags are exactly the long flags
    /// `kling generate` has of its own (global ones and clap's included): a flag added to
    /// the command without adding it to `kling_dialect::RESERVED_FLAGS` fails here.
    #[test]
    fn the_reserved_flags_are_the_flags_of_kling_generate() {
        let mut command = command_for(None, &[]);
        command.build();
        let generate = command
            .find_subcommand("generate")
            .expect("kling generate exists");
        let actual: std::collections::BTreeSet<&str> = generate
            .get_arguments()
            .filter_map(clap::Arg::get_long)
            .collect();
        let reserved: std::collections::BTreeSet<&str> =
            kling_dialect::RESERVED_FLAGS.iter().copied().collect();
        assert_eq!(
            actual, reserved,
            "update kling_dialect::RESERVED_FLAGS (crates/kling-dialect/src/flags.rs)"
        );
        // Model flags are long only: a short flag cannot collide, but only while every
        // short one belongs to a reserved long one.
        for arg in generate
            .get_arguments()
            .filter(|arg| arg.get_short().is_some())
        {
            assert!(arg.get_long().is_some_and(kling_dialect::is_reserved_flag));
        }
    }

    #[test]
    fn the_model_is_read_before_clap_parses() {
        let args = |words: &[&str]| -> Vec<std::ffi::OsString> {
            words.iter().map(std::ffi::OsString::from).collect()
        };
        let id = |words: &[&str]| generate_model(&args(words)).map(|model| model.id);
        assert_eq!(id(&["kling", "generate"]), Some(DEFAULT_MODEL));
        assert_eq!(
            id(&["kling", "generate", "--model", "model_kling-v1-6-pro"]),
            Some(DEFAULT_MODEL)
        );
        assert_eq!(
            id(&["kling", "generate", "--model=model_kling-v1-6-pro"]),
            Some(DEFAULT_MODEL)
        );
        assert_eq!(id(&["kling", "generate", "--model", "model_nope"]), None);
    }
}
