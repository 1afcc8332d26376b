//! `cargo xtask schema-diff`: what a change to `schema/` means for users of `kling-types`,
//! and which semver bump it needs, with the rules of [`kling_dialect`]'s diff
//! ([`diff_model`], [`diff_api`], [`diff_file`]).
//!
//! A version the dialect refuses is an error ([`DiffError::Refused`], exit code 2) named
//! after its own file (`old.json`, or `schema/models/x.json (at HEAD)`), never a change.
//!
//! This module reads the schemas to compare: two files ([`diff_paths`]), or whole
//! `schema/` trees (files added and removed included, [`diff_sources`]) through a
//! [`SchemaSource`]: a git revision ([`GitRevision`]) or the working tree
//! ([`WorkingTree`]); it renders the report (plain or `--markdown`) and runs the command.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use kling_dialect::{Bump, Change, diff_api, diff_file, diff_model, kind_of, verdict};
use kling_dialect::{Kind, SchemaError, Version};
use serde_json::Value;

/// Something `cargo xtask schema-diff` could not read.
#[derive(Debug)]
pub enum DiffError {
    /// A file could not be read.
    Read {
        /// The file, as the user named it or relative to the workspace root.
        file: String,
        /// Why.
        error: std::io::Error,
    },
    /// A file is not JSON.
    Json {
        /// The file (and the revision it was read at).
        file: String,
        /// Where and why.
        error: serde_json::Error,
    },
    /// A git command failed (a revision that does not exist, no repository, no git).
    Git {
        /// The command, as a user would type it.
        command: String,
        /// What git said.
        message: String,
    },
    /// The dialect refuses one of the versions compared: there is nothing to compare.
    Refused(SchemaError),
    /// The two files given are not the same kind of schema.
    KindMismatch {
        /// The old file and its kind.
        old: (String, Kind),
        /// The new file and its kind.
        new: (String, Kind),
    },
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { file, error } => write!(
                f,
                "cannot read {file}: {error}\n  help: check the path (relative paths start at the current directory)"
            ),
            Self::Json { file, error } => write!(
                f,
                "{file} is not valid JSON: {error}\n  help: fix the syntax; `python3 -m json.tool FILE` points at the same place"
            ),
            Self::Git { command, message } => write!(
                f,
                "`{command}` failed: {message}\n  help: run it inside the workspace's git repository, with a revision that exists (see `git log --oneline`)"
            ),
            Self::Refused(error) => write!(f, "{error}"),
            Self::KindMismatch { old, new } => write!(
                f,
                "{} is {} schema but {} is {} schema\n  help: compare a model schema with a model schema, or an api schema with an api schema",
                old.0,
                old.1.noun(),
                new.0,
                new.1.noun()
            ),
        }
    }
}

impl std::error::Error for DiffError {}

impl DiffError {
    /// The dialect's refusal of one version, named as `old` and `new` name the versions.
    fn refused(error: kling_dialect::DiffError, old: &str, new: &str) -> Self {
        let file = match error.version {
            Version::Old => old,
            Version::New => new,
        };
        Self::Refused(SchemaError {
            file: file.to_owned(),
            ..error.error
        })
    }
}

/// Compares two schema files (the two-file form of the command). The kind comes from the
/// new file (see [`kind_of`]); changes are reported under the new file's path.
pub fn diff_paths(old: &Path, new: &Path) -> Result<Vec<Change>, DiffError> {
    let read = |path: &Path| -> Result<(String, Value), DiffError> {
        let file = path.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(path).map_err(|error| DiffError::Read {
            file: file.clone(),
            error,
        })?;
        let value = parse(&file, &text)?;
        Ok((file, value))
    };
    let (old_file, old_value) = read(old)?;
    let (new_file, new_value) = read(new)?;
    let old_kind = kind_of(&old_file, &old_value);
    let new_kind = kind_of(&new_file, &new_value);
    if old_kind != new_kind {
        return Err(DiffError::KindMismatch {
            old: (old_file, old_kind),
            new: (new_file, new_kind),
        });
    }
    diff_file(&new_file, new_kind, Some(&old_value), Some(&new_value))
        .map_err(|error| DiffError::refused(error, &old_file, &new_file))
}

fn parse(file: &str, text: &str) -> Result<Value, DiffError> {
    serde_json::from_str(text).map_err(|error| DiffError::Json {
        file: file.to_owned(),
        error,
    })
}

/// The schema directories compared by `--against`, and the kind of schema each holds.
pub const SCHEMA_DIRS: [(&str, Kind); 2] =
    [("schema/models", Kind::Model), ("schema/api", Kind::Api)];

/// Somewhere schema files can be listed and read: a git revision, the working tree, or
/// (in tests) a map of file names to contents.
pub trait SchemaSource {
    /// How messages name this source (`HEAD`, `the working tree`).
    fn describe(&self) -> String;
    /// The `.json` files directly in `dir` (relative to the workspace root), as
    /// `dir/name.json`; none when `dir` does not exist.
    fn list(&self, dir: &str) -> Result<Vec<String>, DiffError>;
    /// The contents of `path` (relative to the workspace root).
    fn read(&self, path: &str) -> Result<String, DiffError>;
}

/// The schemas of a git revision, read with `git ls-tree` and `git show`.
#[derive(Clone, Debug)]
pub struct GitRevision {
    root: PathBuf,
    revision: String,
}

impl GitRevision {
    /// The revision `revision` of the repository holding `root` (the workspace root);
    /// fails when it names no commit.
    pub fn open(root: &Path, revision: &str) -> Result<Self, DiffError> {
        let git = Self {
            root: root.to_path_buf(),
            revision: revision.to_owned(),
        };
        git.run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{revision}^{{commit}}"),
        ])
        .map_err(|error| match error {
            DiffError::Git { command, message } if message.is_empty() => DiffError::Git {
                command,
                message: format!("`{revision}` names no commit of this repository"),
            },
            other => other,
        })?;
        Ok(git)
    }

    fn run(&self, args: &[&str]) -> Result<String, DiffError> {
        let command = format!("git {}", args.join(" "));
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .output()
            .map_err(|error| DiffError::Git {
                command: command.clone(),
                message: format!("cannot run git: {error}"),
            })?;
        if !output.status.success() {
            return Err(DiffError::Git {
                command,
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        String::from_utf8(output.stdout).map_err(|error| DiffError::Git {
            command,
            message: format!("the output is not UTF-8: {error}"),
        })
    }
}

impl SchemaSource for GitRevision {
    fn describe(&self) -> String {
        self.revision.clone()
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, DiffError> {
        let listing = self.run(&[
            "ls-tree",
            "--name-only",
            &self.revision,
            "--",
            &format!("{dir}/"),
        ])?;
        Ok(listing
            .lines()
            .filter(|path| path.ends_with(".json"))
            .map(str::to_owned)
            .collect())
    }

    fn read(&self, path: &str) -> Result<String, DiffError> {
        // `./` makes the path relative to `root`, wherever the repository starts.
        self.run(&["show", &format!("{}:./{path}", self.revision)])
    }
}

/// The schemas as they are on disk under the workspace root.
#[derive(Clone, Debug)]
pub struct WorkingTree {
    root: PathBuf,
}

impl WorkingTree {
    /// The files under `root` (the workspace root).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
}

impl SchemaSource for WorkingTree {
    fn describe(&self) -> String {
        "the working tree".to_owned()
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, DiffError> {
        let entries = match std::fs::read_dir(self.root.join(dir)) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(DiffError::Read {
                    file: dir.to_owned(),
                    error,
                });
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| DiffError::Read {
                file: dir.to_owned(),
                error,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") && entry.path().is_file() {
                files.push(format!("{dir}/{name}"));
            }
        }
        Ok(files)
    }

    fn read(&self, path: &str) -> Result<String, DiffError> {
        std::fs::read_to_string(self.root.join(path)).map_err(|error| DiffError::Read {
            file: path.to_owned(),
            error,
        })
    }
}

/// In-memory schemas (path → contents), for tests.
impl SchemaSource for BTreeMap<String, String> {
    fn describe(&self) -> String {
        "the given files".to_owned()
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, DiffError> {
        let prefix = format!("{dir}/");
        Ok(self
            .keys()
            .filter(|path| {
                path.strip_prefix(&prefix)
                    .is_some_and(|name| !name.contains('/') && name.ends_with(".json"))
            })
            .cloned()
            .collect())
    }

    fn read(&self, path: &str) -> Result<String, DiffError> {
        self.get(path).cloned().ok_or_else(|| DiffError::Read {
            file: path.to_owned(),
            error: std::io::Error::from(std::io::ErrorKind::NotFound),
        })
    }
}

/// Compares every schema of [`SCHEMA_DIRS`] in `old` with `new`, files added and
/// removed included, in the order of the directories and then of the file names.
pub fn diff_sources(
    old: &dyn SchemaSource,
    new: &dyn SchemaSource,
) -> Result<Vec<Change>, DiffError> {
    let mut changes = Vec::new();
    for (dir, kind) in SCHEMA_DIRS {
        let old_files: BTreeSet<String> = old.list(dir)?.into_iter().collect();
        let new_files: BTreeSet<String> = new.list(dir)?.into_iter().collect();
        for file in old_files.union(&new_files) {
            let at = |source: &dyn SchemaSource| format!("{file} (at {})", source.describe());
            let read = |source: &dyn SchemaSource, files: &BTreeSet<String>| {
                if !files.contains(file) {
                    return Ok(None);
                }
                let text = source.read(file)?;
                parse(&at(source), &text).map(Some)
            };
            let old_value = read(old, &old_files)?;
            let new_value = read(new, &new_files)?;
            changes.extend(
                diff_file(file, kind, old_value.as_ref(), new_value.as_ref())
                    .map_err(|error| DiffError::refused(error, &at(old), &at(new)))?,
            );
        }
    }
    Ok(changes)
}

/// `--against REV`: every schema at git revision `revision` against the working tree
/// under `root` (the workspace root).
pub fn diff_against(root: &Path, revision: &str) -> Result<Vec<Change>, DiffError> {
    let old = GitRevision::open(root, revision)?;
    diff_sources(&old, &WorkingTree::new(root))
}

// ---------------------------------------------------------------------------------------
// The command line.

/// What `cargo xtask schema-diff` compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Two schema files.
    Files {
        /// The old version.
        old: PathBuf,
        /// The new version.
        new: PathBuf,
    },
    /// Every schema at a git revision, against the working tree.
    Against(String),
}

/// The arguments of `cargo xtask schema-diff`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// What to compare.
    pub input: Input,
    /// `--allow-breaking`: succeed even with a major change.
    pub allow_breaking: bool,
    /// `--markdown`: a Markdown table (for a GitHub job summary) instead of lines.
    pub markdown: bool,
}

impl Options {
    /// Parses the arguments after `schema-diff`; the error says what was wrong.
    pub fn parse(args: &[&str]) -> Result<Self, String> {
        let mut files = Vec::new();
        let mut against = None;
        let mut allow_breaking = false;
        let mut markdown = false;
        let mut args = args.iter();
        while let Some(&arg) = args.next() {
            match arg {
                "--allow-breaking" => allow_breaking = true,
                "--markdown" => markdown = true,
                "--against" => match args.next() {
                    Some(revision) if !revision.starts_with('-') => {
                        against = Some((*revision).to_owned());
                    }
                    _ => {
                        return Err(
                            "`--against` needs a git revision, e.g. `--against origin/main`"
                                .to_owned(),
                        );
                    }
                },
                _ if arg.starts_with("--against=") => {
                    let revision = arg.trim_start_matches("--against=");
                    if revision.is_empty() || revision.starts_with('-') {
                        return Err(
                            "`--against` needs a git revision, e.g. `--against origin/main`"
                                .to_owned(),
                        );
                    }
                    against = Some(revision.to_owned());
                }
                _ if arg.starts_with('-') => return Err(format!("unknown option `{arg}`")),
                file => files.push(PathBuf::from(file)),
            }
        }
        let input = match (against, <[PathBuf; 2]>::try_from(files)) {
            (Some(revision), Err(files)) if files.is_empty() => Input::Against(revision),
            (None, Ok([old, new])) => Input::Files { old, new },
            (Some(_), _) => {
                return Err("give either `--against GIT_REV` or two files, not both".to_owned());
            }
            (None, Err(files)) => {
                return Err(format!(
                    "expected two schema files (OLD.json NEW.json) or `--against GIT_REV`, got {} file(s)",
                    files.len()
                ));
            }
        };
        Ok(Self {
            input,
            allow_breaking,
            markdown,
        })
    }
}

/// The changes `input` asks for; `root` is the workspace root (for `--against`).
pub fn changes_for(input: &Input, root: &Path) -> Result<Vec<Change>, DiffError> {
    match input {
        Input::Files { old, new } => diff_paths(old, new),
        Input::Against(revision) => diff_against(root, revision),
    }
}

/// `changes` sorted by bump, major first, each bump in the order found.
pub fn sorted(changes: &[Change]) -> Vec<Change> {
    let mut sorted = changes.to_vec();
    sorted.sort_by_key(|change| std::cmp::Reverse(change.bump));
    sorted
}

/// The last line of a report: the bump `changes` need, and what to do.
pub fn verdict_line(changes: &[Change]) -> String {
    let advice = match verdict(changes) {
        None => return "semver: no change for users".to_owned(),
        Some(Bump::Major) => {
            "breaking: bump the major version of kling-types, or the minor while below 1.0"
        }
        Some(Bump::Minor) => {
            "additive: bump the minor version of kling-types, or the patch while below 1.0"
        }
        Some(Bump::Patch) => {
            "docs, comments and warnings only: bump the patch version of kling-types"
        }
    };
    format!(
        "semver: {} ({advice})",
        verdict(changes).map_or("none", Bump::name)
    )
}

/// How a pointer shows in a report: the whole file's (empty) pointer reads `(whole file)`.
fn location(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(whole file)"
    } else {
        pointer
    }
}

/// The plain report: one aligned line per change (major first), then the verdict.
pub fn render_plain(changes: &[Change]) -> String {
    let changes = sorted(changes);
    let file_width = changes
        .iter()
        .map(|change| change.file.chars().count())
        .max()
        .unwrap_or(0);
    let pointer_width = changes
        .iter()
        .map(|change| location(&change.pointer).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for change in &changes {
        out.push_str(&format!(
            "{:<5}  {:<file_width$}  {:<pointer_width$}  {}\n",
            change.bump.name(),
            change.file,
            location(&change.pointer),
            change.what
        ));
    }
    out.push_str(&verdict_line(&changes));
    out.push('\n');
    out
}

/// The Markdown report, for a GitHub job summary: a table, then the verdict.
pub fn render_markdown(changes: &[Change]) -> String {
    let cell = |text: &str| text.replace('|', "\\|");
    let mut out = String::from("### Schema changes\n\n");
    if changes.is_empty() {
        out.push_str("No change to `schema/`.\n");
    } else {
        out.push_str("| bump | file | where | what |\n|---|---|---|---|\n");
        for change in sorted(changes) {
            out.push_str(&format!(
                "| {} | `{}` | `{}` | {} |\n",
                change.bump.name(),
                cell(&change.file),
                cell(location(&change.pointer)),
                cell(&change.what)
            ));
        }
    }
    let line = verdict_line(changes);
    let (head, advice) = line.split_once(" (").unwrap_or((&line, ""));
    out.push_str(&format!("\n**{head}**"));
    if !advice.is_empty() {
        out.push_str(&format!(" ({advice}"));
    }
    out.push('\n');
    out
}

/// The usage line of the command, repeated in its usage errors.
const USAGE: &str = "usage: cargo xtask schema-diff [--markdown] [--allow-breaking] (OLD.json NEW.json | --against GIT_REV)";

/// What `cargo xtask schema-diff` prints, and its exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The report.
    pub stdout: String,
    /// Errors, with what to do.
    pub stderr: String,
    /// 0 fine; 1 a breaking change without `--allow-breaking`; 2 bad usage, a file
    /// that cannot be read, or a version the dialect refuses.
    pub code: u8,
}

/// Runs `cargo xtask schema-diff ARGS` (the arguments after `schema-diff`) in the
/// workspace at `root`, without printing.
pub fn run(args: &[&str], root: &Path) -> Outcome {
    let failed = |stderr: String| Outcome {
        stdout: String::new(),
        stderr,
        code: 2,
    };
    let options = match Options::parse(args) {
        Ok(options) => options,
        Err(message) => {
            return failed(format!(
                "error: {message}\n{USAGE}\n  help: `cargo xtask help` describes every option\n"
            ));
        }
    };
    let changes = match changes_for(&options.input, root) {
        Ok(changes) => changes,
        Err(error) => return failed(format!("error: {error}\n")),
    };
    let stdout = if options.markdown {
        render_markdown(&changes)
    } else {
        render_plain(&changes)
    };
    if verdict(&changes) == Some(Bump::Major) && !options.allow_breaking {
        return Outcome {
            stdout,
            stderr: "error: the schema change is breaking for users of kling-types (the `major` lines)\n  \
                     help: if that is intended, bump the version as the verdict says and rerun with --allow-breaking\n"
                .to_owned(),
            code: 1,
        };
    }
    Outcome {
        stdout,
        stderr: String::new(),
        code: 0,
    }
}

/// `cargo xtask schema-diff ARGS`: [`run`] in the workspace, printing the report on
/// stdout and errors on stderr; the exit code is [`Outcome::code`].
#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "the xtask command reports on its streams"
)]
pub fn main(args: &[&str]) -> std::process::ExitCode {
    let outcome = run(args, &crate::codegen::workspace_root());
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    std::process::ExitCode::from(outcome.code)
}
