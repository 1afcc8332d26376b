//! The local job history: every submit is written here before its answer is awaited,
//! and updated as the job goes on, so that no paid job is lost to a crash or a closed
//! terminal. An append-only JSON Lines file in the platform's data folder
//! (`KLING_DATA_DIR` overrides it), written through [`AppendLog`]: records are atomic
//! (a torn last line after a crash is skipped and never glues onto the next record),
//! and several `kling` processes can write to it at once.
//!
//! Format: one JSON object per line with `entry`, `at`, `event` and the event's fields,
//! and `v` (the format version, 2; records without `v` are version 1, which had no
//! cost events and is otherwise the same). Records of an unknown version are skipped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::append_log::{AppendLog, read_records};

/// The version of the records this kling writes.
const FORMAT: u32 = 2;

/// One line of the history file.
#[derive(Debug, Serialize, Deserialize)]
struct Event {
    /// The format version (absent in version 1).
    #[serde(default = "version_1")]
    v: u32,
    /// The history entry (one submit) this event belongs to.
    entry: String,
    at: String,
    #[serde(flatten)]
    kind: EventKind,
}

/// What happened to an entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub(crate) enum EventKind {
    /// About to send: the model, the parameters and where the output should go.
    #[serde(rename_all = "camelCase")]
    Submitting {
        model: String,
        params: Value,
        output: Option<String>,
    },
    /// The API answered with a job (or the job was found again).
    #[serde(rename_all = "camelCase")]
    Submitted { job_id: String },
    /// The job ended.
    Finished { status: String },
    /// Its outputs were downloaded.
    Downloaded { files: Vec<String> },
    /// What the job costs in creative units: quoted when it was started, charged
    /// (`billing.cuCost`) once it ended.
    #[serde(rename_all = "camelCase")]
    Cost {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted_cu: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        charged_cu: Option<f64>,
    },
}

fn version_1() -> u32 {
    1
}

/// Everything known about one submit.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    pub(crate) entry: String,
    pub(crate) submitted_at: String,
    pub(crate) model: String,
    pub(crate) params: Value,
    pub(crate) output: Option<String>,
    pub(crate) job_id: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) quoted_cu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) charged_cu: Option<f64>,
}

/// The history file.
#[derive(Clone, Debug)]
pub(crate) struct History {
    path: PathBuf,
    /// Opened on the first record (most commands only read the history).
    log: Arc<OnceLock<AppendLog>>,
}

impl History {
    pub(crate) fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join("history.jsonl"),
            log: Arc::new(OnceLock::new()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A new entry id: unique on this machine.
    pub(crate) fn new_entry() -> String {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        format!(
            "{}-{}-{}",
            now.as_secs(),
            now.subsec_nanos(),
            std::process::id()
        )
    }

    /// Checks, before anything paid is sent, that events can be appended: the folder is
    /// made and the file opened for appending (created empty when missing). A failure is a
    /// usage error (exit 2) naming the path and what to do.
    pub(crate) fn ensure_writable(&self) -> anyhow::Result<()> {
        let what_to_do = "set KLING_DATA_DIR to a folder you can write to";
        if let Some(file) = self.path.ancestors().skip(1).find(|part| part.is_file()) {
            return Err(crate::exit::usage(format!(
                "cannot write the job history {}: {} is a file, not a folder: {what_to_do}",
                self.path.display(),
                file.display()
            )));
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|error| {
                crate::exit::usage(format!(
                    "cannot create the history folder {}: {error}: {what_to_do}",
                    dir.display()
                ))
            })?;
        }
        self.open().map_err(|error| {
            crate::exit::usage(format!(
                "cannot write the job history {}: {error}: {what_to_do}",
                self.path.display()
            ))
        })?;
        Ok(())
    }

    fn open(&self) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
    }

    /// Appends an event and makes it durable before returning.
    pub(crate) fn record(&self, entry: &str, kind: EventKind) -> anyhow::Result<()> {
        let text = Self::text(entry, kind)?;
        self.log()?
            .append_blocking(text)
            .with_context(|| format!("cannot write the job history {}", self.path.display()))
    }

    /// [`Self::record`] without blocking the async runtime while the disk works.
    pub(crate) async fn record_async(&self, entry: &str, kind: EventKind) -> anyhow::Result<()> {
        let text = Self::text(entry, kind)?;
        self.log()?
            .append(text)
            .await
            .with_context(|| format!("cannot write the job history {}", self.path.display()))
    }

    fn text(entry: &str, kind: EventKind) -> anyhow::Result<String> {
        let event = Event {
            v: FORMAT,
            entry: entry.to_owned(),
            at: kling_types::__private::time::format_iso8601(SystemTime::now()),
            kind,
        };
        Ok(serde_json::to_string(&event)?)
    }

    fn log(&self) -> anyhow::Result<&AppendLog> {
        if let Some(log) = self.log.get() {
            return Ok(log);
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the history folder {}", dir.display()))?;
        }
        let log = AppendLog::open(&self.path, None)
            .with_context(|| format!("cannot write the job history {}", self.path.display()))?;
        Ok(self.log.get_or_init(|| log))
    }

    /// Every entry, oldest first.
    pub(crate) fn entries(&self) -> anyhow::Result<Vec<Entry>> {
        let records = read_records(&self.path)
            .with_context(|| format!("cannot read the job history {}", self.path.display()))?;
        let mut entries: Vec<Entry> = Vec::new();
        for event in records
            .iter()
            .filter_map(|(_, line)| serde_json::from_str::<Event>(line).ok())
            .filter(|event| event.v <= FORMAT)
        {
            match event.kind {
                EventKind::Submitting {
                    model,
                    params,
                    output,
                } => entries.push(Entry {
                    entry: event.entry,
                    submitted_at: event.at,
                    model,
                    params,
                    output,
                    job_id: None,
                    status: None,
                    files: Vec::new(),
                    quoted_cu: None,
                    charged_cu: None,
                }),
                other => {
                    let Some(entry) = entries
                        .iter_mut()
                        .rev()
                        .find(|entry| entry.entry == event.entry)
                    else {
                        continue;
                    };
                    match other {
                        EventKind::Submitted { job_id } => entry.job_id = Some(job_id),
                        EventKind::Finished { status } => entry.status = Some(status),
                        EventKind::Downloaded { files } => entry.files = files,
                        EventKind::Cost {
                            quoted_cu,
                            charged_cu,
                        } => {
                            entry.quoted_cu = quoted_cu.or(entry.quoted_cu);
                            entry.charged_cu = charged_cu.or(entry.charged_cu);
                        }
                        EventKind::Submitting { .. } => {}
                    }
                }
            }
        }
        Ok(entries)
    }

    /// The entry of a job.
    pub(crate) fn find_job(&self, job_id: &str) -> anyhow::Result<Option<Entry>> {
        Ok(self
            .entries()?
            .into_iter()
            .rev()
            .find(|entry| entry.job_id.as_deref() == Some(job_id)))
    }
}
