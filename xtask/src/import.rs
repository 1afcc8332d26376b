//! `cargo xtask import-model FILE`: the command around the importer of
//! `kling_dialect` ([`kling_dialect::import`], [`kling_dialect::merge`]): reads the saved
//! description (a file or stdin), checks the imported schema with the generator, merges it
//! into a curated schema of the same model (or replaces it with `--force`), writes it,
//! and reports what changed as `schema-diff` words it.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kling_dialect::{HELP_SAVE, ImportError, Merged, import, merge};
use serde_json::{Map, Value};

use crate::codegen::{self, SchemaError};
use crate::schema_diff::{self, Change};

/// The command's usage, for `cargo xtask help` and usage errors.
pub const USAGE: &str = "cargo xtask import-model FILE [-o OUT] [--force]";

/// The options of `cargo xtask import-model`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The model description to read (`-` for stdin).
    pub file: PathBuf,
    /// Where to write the schema (`-` for stdout); default `schema/models/<model id>.json`.
    pub output: Option<PathBuf>,
    /// Overwrite an existing file that differs.
    pub force: bool,
}

impl Options {
    /// Reads the command line after `import-model`.
    pub fn parse(args: &[&str]) -> Result<Self, CommandError> {
        let mut file = None;
        let mut output = None;
        let mut force = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--force" | "-f" => force = true,
                "-o" | "--output" => {
                    let out = args
                        .next()
                        .ok_or_else(|| CommandError::Usage(format!("`{arg}` needs a file name")))?;
                    output = Some(PathBuf::from(out));
                }
                flag if flag.starts_with('-') && flag != "-" => {
                    return Err(CommandError::Usage(format!("unknown flag `{flag}`")));
                }
                path if file.is_none() => file = Some(PathBuf::from(path)),
                extra => {
                    return Err(CommandError::Usage(format!(
                        "one description at a time (`{extra}` is a second FILE)"
                    )));
                }
            }
        }
        let file = file.ok_or_else(|| {
            CommandError::Usage(
                "FILE is missing: the model description (`kling models schema MODEL_ID > FILE`)"
                    .to_owned(),
            )
        })?;
        Ok(Self {
            file,
            output,
            force,
        })
    }
}

/// What `cargo xtask import-model` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Wrote the schema to `path`.
    Wrote {
        /// The file.
        path: PathBuf,
        /// The model's id.
        model_id: String,
        /// How many parameters the schema has.
        parameters: usize,
        /// What the importer decided on its own ([`notes`]).
        notes: Vec<String>,
    },
    /// `path` held a curated schema of the model: the import was merged into it (its
    /// curated keys kept) and written.
    Merged {
        /// The file.
        path: PathBuf,
        /// What the merge kept of the curated schema, and what it let go.
        report: Merged,
        /// What the description changed, as `schema-diff` words it (old file → merged).
        changes: Vec<Change>,
        /// What the importer decided on its own ([`notes`]).
        notes: Vec<String>,
    },
    /// `path` already holds exactly this schema.
    Unchanged {
        /// The file.
        path: PathBuf,
    },
    /// `-o -`: the schema, to print on stdout.
    Printed(String),
}

/// Something `cargo xtask import-model` could not do.
#[derive(Debug)]
pub enum CommandError {
    /// The command line is wrong.
    Usage(String),
    /// The description is not JSON.
    NotJson(PathBuf, serde_json::Error),
    /// The description says something our dialect cannot.
    Import(ImportError),
    /// The generator refuses the imported schema.
    Generator(SchemaError),
    /// The output exists and differs; `--force` was not given.
    Exists(PathBuf),
    /// The curated schema to merge into is one the dialect refuses.
    Curated(PathBuf, SchemaError),
    /// Reading or writing a file failed.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) => write!(f, "{message}\n  usage: {USAGE}"),
            Self::NotJson(path, error) => write!(
                f,
                "{}: not JSON: {error}\n  help: {HELP_SAVE}",
                path.display()
            ),
            Self::Import(error) => write!(f, "{error}"),
            Self::Generator(error) => write!(
                f,
                "the generator refuses the imported schema, so nothing was written:\n{error}\n  \
                 help: the description contradicts itself (fix it and import again), or the importer \
                 misses a rule of the dialect (teach crates/kling-dialect/src/import.rs)"
            ),
            Self::Exists(path) => write!(
                f,
                "{} exists and differs from the import: nothing was written\n  \
                 help: pass --force to overwrite it (then review `git diff`), or `-o -` to print the import instead",
                path.display()
            ),
            Self::Curated(path, error) => write!(
                f,
                "the curated schema {} does not pass the dialect's checks, so nothing was merged or written:\n{error}\n  \
                 help: fix it (`cargo xtask codegen` shows the same error), or pass --force to replace it with the import",
                path.display()
            ),
            Self::Io(path, error) => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<ImportError> for CommandError {
    fn from(error: ImportError) -> Self {
        Self::Import(error)
    }
}

/// Imports the description in `options.file` and writes the schema, unless the generator
/// would refuse it or it would overwrite a different file without `--force`.
pub fn run(options: &Options) -> Result<Outcome, CommandError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| CommandError::Io(path, error)
    };
    let text = if options.file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(io(&options.file))?;
        text
    } else {
        std::fs::read_to_string(&options.file).map_err(io(&options.file))?
    };
    let description: Value = serde_json::from_str(&text)
        .map_err(|error| CommandError::NotJson(options.file.clone(), error))?;
    let schema = import(&description)?;
    let model_id = schema["x-model-id"].as_str().unwrap_or_default().to_owned();
    let parameters = schema["properties"].as_object().map_or(0, Map::len);
    let notes = notes(&schema);
    let mut out = serde_json::to_string_pretty(&schema)
        .map_err(|error| CommandError::NotJson(options.file.clone(), error))?;
    out.push('\n');

    let path = options
        .output
        .clone()
        .unwrap_or_else(|| default_output(&model_id));
    // Never leave a schema that `cargo xtask codegen` refuses.
    let shown = path.display().to_string();
    codegen::generate_model(&shown, &out, "kling_types").map_err(CommandError::Generator)?;

    if path == Path::new("-") {
        return Ok(Outcome::Printed(out));
    }
    let mut merged = None;
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == out => return Ok(Outcome::Unchanged { path }),
        Ok(existing) if !options.force => {
            // A curated schema of this very model is merged into; anything else is left
            // alone unless `--force` says to replace it.
            let curated = serde_json::from_str::<Value>(&existing)
                .ok()
                .filter(|curated| curated["x-model-id"] == schema["x-model-id"])
                .ok_or_else(|| CommandError::Exists(path.clone()))?;
            let (schema, report) = merge(&curated, &schema);
            out = serde_json::to_string_pretty(&schema)
                .map_err(|error| CommandError::NotJson(options.file.clone(), error))?;
            out.push('\n');
            if out == existing {
                return Ok(Outcome::Unchanged { path });
            }
            codegen::generate_model(&shown, &out, "kling_types")
                .map_err(CommandError::Generator)?;
            // The merge passed the generator above: only the curated version can be refused.
            let changes = schema_diff::diff_model(&shown, &curated, &schema)
                .map_err(|error| CommandError::Curated(path.clone(), error.error))?;
            merged = Some((report, changes));
        }
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(CommandError::Io(path, error)),
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(&path, out).map_err(io(&path))?;
    Ok(match merged {
        Some((report, changes)) => Outcome::Merged {
            path,
            report,
            changes,
            notes,
        },
        None => Outcome::Wrote {
            path,
            model_id,
            parameters,
            notes,
        },
    })
}

/// What the importer decided on its own, for the maintainer to review: each input whose
/// flag would be one of `kling generate`'s own, and the `x-cli-flag` it got instead.
pub fn notes(schema: &Value) -> Vec<String> {
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .filter(|(name, _)| kling_dialect::is_reserved_flag(&kling_dialect::kebab(name)))
        .filter_map(|(name, property)| {
            let flag = property["x-cli-flag"].as_str()?;
            Some(format!(
                "input `{name}`: `--{}` is a flag of `kling generate` itself, so its flag is `--{flag}` (x-cli-flag)",
                kling_dialect::kebab(name)
            ))
        })
        .collect()
}

/// `schema/models/<model id>.json` in the workspace.
pub fn default_output(model_id: &str) -> PathBuf {
    codegen::workspace_root()
        .join("schema/models")
        .join(format!("{model_id}.json"))
}

/// A path relative to the workspace root when it is inside, for messages.
fn shown(path: &Path) -> String {
    let root = codegen::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `cargo xtask import-model ARGS`: parses, runs, reports; the exit code.
#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "the xtask command reports on its streams"
)]
pub fn main(args: &[&str]) -> ExitCode {
    let outcome = Options::parse(args).and_then(|options| run(&options));
    match outcome {
        Ok(Outcome::Printed(schema)) => {
            print!("{schema}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Unchanged { path }) => {
            eprintln!("{} is up to date: nothing to do", shown(&path));
            ExitCode::SUCCESS
        }
        Ok(Outcome::Merged {
            path,
            report,
            changes,
            notes,
        }) => {
            print_notes(&notes);
            eprintln!(
                "merged into {} (kept {} curated keys; --force replaces the file instead)",
                shown(&path),
                report.kept.len()
            );
            for dropped in &report.dropped {
                eprintln!("  dropped {dropped}");
            }
            if changes.is_empty() {
                eprintln!("the description changed nothing the schema checks");
            } else {
                eprintln!("what the description changed:");
                for change in schema_diff::sorted(&changes) {
                    eprintln!("  {}: {} {}", change.bump, change.pointer, change.what);
                }
                eprintln!("{}", schema_diff::verdict_line(&changes));
            }
            ExitCode::SUCCESS
        }
        Ok(Outcome::Wrote {
            path,
            model_id,
            parameters,
            notes,
        }) => {
            print_notes(&notes);
            eprintln!(
                "wrote {} ({parameters} parameters of {model_id})\n\
                 next: review it (a $comment for each constraint, x-enum-names), then run `cargo xtask codegen` \
                 and `cargo test --workspace` (see schema/README.md, \"Adding or changing a model\")",
                shown(&path)
            );
            ExitCode::SUCCESS
        }
        Err(error @ CommandError::Usage(_)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

#[expect(clippy::print_stderr, reason = "the xtask command reports on stderr")]
fn print_notes(notes: &[String]) {
    for note in notes {
        eprintln!("note: {note}");
    }
}
