//! The batch journal: `.kling-batch.jsonl` in the output folder, what a rerun knows of
//! every request an earlier run saw.
//!
//! Format (version 3): JSON Lines written through [`AppendLog`] (each record atomic and
//! durable before the step it allows). The first line is the header
//! `{"journal":"kling-batch","version":3}`; every other line is a record
//! `{"key":…,"at":…,"event":…,…}` about one request, keyed by [`Line::key`] (never by
//! its position in the batch file), or about one local file's upload, keyed by
//! `sha256:` and the SHA-256 of what it held:
//!
//! | event | written | fields |
//! |---|---|---|
//! | `submitting` | before its generate request leaves | `line`, `name`, `model`, `params`, `quotedCu`?, `entry`? (of the job history) |
//! | `submitted` | once the job id is known (answered, or found again) | `jobId`, `quotedCu`? |
//! | `done` | once every output is on disk | `files`, `chargedCu`? |
//! | `failed` | when the job failed or was canceled | `reason`, `chargedCu`? |
//! | `uploaded` | once a local file is an asset (before any line using it is submitted) | `file`, `assetId` |
//!
//! Format 2 is format 3 without uploads (the kling that wrote it sent no local files):
//! it is read as it is, and its header is rewritten to 3 when a run opens it, so that a
//! kling that knows no uploads refuses the journal instead of skipping their records.
//! A `submitting` after a `failed` starts a new attempt (`--retry-failed`). A journal of
//! format 1 (no header; lines known by number and a `DefaultHasher` hash of their text)
//! is carried over once: each record goes to the line of the file with that text, the
//! rest are kept as requests no longer in the file, and the old file stays beside the
//! new one as `.kling-batch.v1.jsonl`. A journal of any other version is refused with a
//! message, never guessed at. One run at a time owns the folder: `.kling-batch.lock` is
//! locked (`flock`) for the whole run.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::input::Line;
use crate::append_log::{AppendLog, read_records};

pub(crate) const JOURNAL: &str = ".kling-batch.jsonl";
/// Where a carried-over journal of format 1 is kept.
const JOURNAL_V1: &str = ".kling-batch.v1.jsonl";
const LOCK: &str = ".kling-batch.lock";
const VERSION: u32 = 3;
/// The format before uploads, read as [`VERSION`].
const VERSION_WITHOUT_UPLOADS: u32 = 2;
/// How the key of an `uploaded` record starts (a SHA-256 in hex follows).
const UPLOAD_KEY: &str = "sha256:";

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    journal: String,
    version: u32,
}

/// One record of the journal.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    key: String,
    at: String,
    #[serde(flatten)]
    event: Event,
}

/// What happened to a request.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub(crate) enum Event {
    #[serde(rename_all = "camelCase")]
    Submitting {
        line: usize,
        name: String,
        model: String,
        params: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted_cu: Option<f64>,
        /// The job history's entry of this submit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Submitted {
        job_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted_cu: Option<f64>,
    },
    #[serde(rename_all = "camelCase")]
    Done {
        files: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        charged_cu: Option<f64>,
    },
    #[serde(rename_all = "camelCase")]
    Failed {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        charged_cu: Option<f64>,
    },
    /// A local file is an asset (the record's key: `sha256:` and what the file held).
    #[serde(rename_all = "camelCase")]
    Uploaded { file: String, asset_id: String },
}

/// What the journal knows of one request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Known {
    /// Where it stood in the batch file when last submitted.
    pub(crate) line: usize,
    /// The name its outputs were given (kept, so a line that moves keeps its files).
    pub(crate) name: String,
    pub(crate) model: String,
    pub(crate) params: Value,
    /// When its latest submit was about to be sent.
    pub(crate) submitting_at: Option<SystemTime>,
    pub(crate) job_id: Option<String>,
    pub(crate) quoted_cu: Option<f64>,
    pub(crate) charged_cu: Option<f64>,
    pub(crate) files: Option<Vec<String>>,
    pub(crate) failed: Option<String>,
    /// The jobs of its earlier attempts (before `--retry-failed` started it again).
    pub(crate) earlier_jobs: Vec<String>,
    /// The job history's entry of its latest submit.
    pub(crate) entry: Option<String>,
}

impl Default for Known {
    fn default() -> Self {
        Self::NOTHING
    }
}

impl Known {
    /// Nothing known: a line no run has submitted (also [`Default`]; a `const`, so that
    /// a line without a journal entry can lend a `&'static` one).
    pub(crate) const NOTHING: Self = Self {
        line: 0,
        name: String::new(),
        model: String::new(),
        params: Value::Null,
        submitting_at: None,
        job_id: None,
        quoted_cu: None,
        charged_cu: None,
        files: None,
        failed: None,
        earlier_jobs: Vec::new(),
        entry: None,
    };

    /// Without the request it was of (model and parameters): once matched to a line of
    /// the file, the line holds the request, and a parsed copy for each of many thousand
    /// lines would be kept for nothing.
    pub(crate) fn without_request(mut self) -> Self {
        self.model = String::new();
        self.params = Value::Null;
        self
    }

    /// Creative units this request has cost or will cost: charged when known, else quoted.
    pub(crate) fn cost(&self) -> f64 {
        if self.job_id.is_none() && self.submitting_at.is_none() {
            return 0.0;
        }
        self.charged_cu.or(self.quoted_cu).unwrap_or(0.0)
    }

    fn apply(&mut self, at: Option<SystemTime>, event: Event) {
        match event {
            Event::Submitting {
                line,
                name,
                model,
                params,
                quoted_cu,
                entry,
            } => {
                // A new attempt (after a failure, with --retry-failed) starts afresh,
                // remembering the jobs it is not (a search for its job must skip them).
                let mut earlier_jobs = std::mem::take(&mut self.earlier_jobs);
                earlier_jobs.extend(self.job_id.take());
                *self = Self {
                    line,
                    name,
                    model,
                    params,
                    submitting_at: at,
                    quoted_cu,
                    earlier_jobs,
                    entry,
                    ..Self::default()
                };
            }
            Event::Submitted { job_id, quoted_cu } => {
                self.job_id = Some(job_id);
                self.quoted_cu = quoted_cu.or(self.quoted_cu);
            }
            Event::Done { files, charged_cu } => {
                self.files = Some(files);
                self.charged_cu = charged_cu.or(self.charged_cu);
            }
            Event::Failed { reason, charged_cu } => {
                self.failed = Some(reason);
                self.charged_cu = charged_cu.or(self.charged_cu);
            }
            // About a file, not a request: `read` keeps it apart.
            Event::Uploaded { .. } => {}
        }
    }
}

/// The journal of one output folder, owned by this run.
#[derive(Debug)]
pub(crate) struct Journal {
    log: AppendLog,
    /// The asset id of each local file earlier runs uploaded, by the SHA-256 (hex) of
    /// what it held.
    uploaded: BTreeMap<String, String>,
    /// Held for the whole run: a second run on the folder is refused.
    _lock: File,
}

impl Journal {
    /// Locks the folder, reads what earlier runs recorded, and opens the journal for
    /// this run. Also returns warnings about records that could not be read.
    pub(crate) fn open(
        dir: &Path,
        lines: &[Line],
    ) -> anyhow::Result<(Self, BTreeMap<String, Known>, Vec<String>)> {
        let lock = lock(dir)?;
        let path = dir.join(JOURNAL);
        let (known, uploaded, warnings) = match read(&path)? {
            Read::Current {
                known,
                uploaded,
                warnings,
                version,
            } => {
                if version == VERSION_WITHOUT_UPLOADS {
                    rewrite_header(&path)?;
                }
                (known, uploaded, warnings)
            }
            Read::Version1(records) => {
                let known = migrate_v1(&path, &records, lines)?;
                (
                    known,
                    BTreeMap::new(),
                    vec![format!(
                        "{} was written by an earlier kling (journal format 1): carried over to format {VERSION}; the old file is {}",
                        path.display(),
                        dir.join(JOURNAL_V1).display()
                    )],
                )
            }
        };
        let header = serde_json::to_string(&Header {
            journal: "kling-batch".to_owned(),
            version: VERSION,
        })?;
        let log = AppendLog::open(&path, Some(&header))
            .with_context(|| format!("cannot write the batch journal {}", path.display()))?;
        Ok((
            Self {
                log,
                uploaded,
                _lock: lock,
            },
            known,
            warnings,
        ))
    }

    /// What the journal of `dir` knows, read without locking the folder or writing
    /// anything (`--dry-run`: a look while another run may be at work): the requests, the
    /// uploads (as [`Self::uploaded`]), and warnings.
    pub(crate) fn peek(dir: &Path, lines: &[Line]) -> anyhow::Result<Peek> {
        let path = dir.join(JOURNAL);
        match read(&path)? {
            Read::Current {
                known,
                uploaded,
                warnings,
                ..
            } => Ok((known, uploaded, warnings)),
            Read::Version1(records) => {
                let (known, _) = convert_v1(&records, lines)?;
                let warning = format!(
                    "{} was written by an earlier kling (journal format 1): read as format {VERSION}; a run that is not a dry run carries it over",
                    path.display()
                );
                Ok((known, BTreeMap::new(), vec![warning]))
            }
        }
    }

    /// The asset id of each local file earlier runs uploaded, by the SHA-256 (hex) of
    /// what it held.
    pub(crate) fn uploaded(&self) -> &BTreeMap<String, String> {
        &self.uploaded
    }

    /// Records that the local file at `file`, holding bytes of this SHA-256 (hex), is
    /// the asset `asset_id`; returns once it is on disk.
    pub(crate) async fn record_upload(
        &self,
        sha256_hex: &str,
        file: &Path,
        asset_id: &str,
    ) -> anyhow::Result<()> {
        let event = Event::Uploaded {
            file: file.display().to_string(),
            asset_id: asset_id.to_owned(),
        };
        self.record(&format!("{UPLOAD_KEY}{sha256_hex}"), event)
            .await
    }

    /// The journal file.
    pub(crate) fn path(&self) -> &Path {
        self.log.path()
    }

    /// Appends a record about `line`; returns once it is on disk.
    pub(crate) async fn record(&self, key: &str, event: Event) -> anyhow::Result<()> {
        let record = Record {
            key: key.to_owned(),
            at: kling_types::__private::time::format_iso8601(SystemTime::now()),
            event,
        };
        let text = serde_json::to_string(&record)?;
        self.log
            .append(text)
            .await
            .with_context(|| format!("cannot write the batch journal {}", self.path().display()))
    }

    /// The `submitting` record of a line that sends `params` (its own, with each local
    /// file's asset id).
    pub(crate) fn submitting(
        line: &Line,
        params: Value,
        name: &str,
        quoted_cu: Option<f64>,
        entry: Option<&str>,
    ) -> Event {
        Event::Submitting {
            line: line.number,
            name: name.to_owned(),
            model: line.model.to_owned(),
            params,
            quoted_cu,
            entry: entry.map(str::to_owned),
        }
    }
}

/// Locks `dir` for this run, or says which run holds it.
fn lock(dir: &Path) -> anyhow::Result<File> {
    let path: PathBuf = dir.join(LOCK);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot create the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                String::new()
            } else {
                format!(" ({holder})")
            };
            return Err(crate::exit::usage(format!(
                "another kling batch is running on {}{holder}: wait for it to end, or give this run another --out",
                dir.display()
            )));
        }
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    // Who holds it, for the message a second run shows (best effort).
    let _ = file.set_len(0).and_then(|()| {
        writeln!(
            file,
            "process {}, since {}",
            std::process::id(),
            kling_types::__private::time::format_iso8601(SystemTime::now())
        )
    });
    Ok(file)
}

/// What [`Journal::peek`] reads: the requests by key, the uploads by SHA-256 (hex), and
/// warnings about records that could not be read.
pub(crate) type Peek = (
    BTreeMap<String, Known>,
    BTreeMap<String, String>,
    Vec<String>,
);

/// What a journal file holds.
enum Read {
    /// Format 3 (or 2, which it reads the same): what it knows of each request by key,
    /// the uploads, and warnings about unreadable records.
    Current {
        known: BTreeMap<String, Known>,
        uploaded: BTreeMap<String, String>,
        warnings: Vec<String>,
        version: u32,
    },
    /// Format 1, to carry over.
    Version1(Vec<V1Record>),
}

/// A record of format 1.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Record {
    line: usize,
    hash: String,
    at: String,
    event: String,
    job_id: Option<String>,
    files: Option<Vec<String>>,
    reason: Option<String>,
}

fn read(path: &Path) -> anyhow::Result<Read> {
    let records = read_records(path)
        .with_context(|| format!("cannot read the batch journal {}", path.display()))?;
    let mut known: BTreeMap<String, Known> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut uploaded = BTreeMap::new();
    let Some((_, first)) = records.first() else {
        return Ok(Read::Current {
            known,
            uploaded,
            warnings,
            version: VERSION,
        });
    };
    let version = match serde_json::from_str::<Header>(first) {
        Ok(header)
            if header.journal == "kling-batch"
                && (header.version == VERSION || header.version == VERSION_WITHOUT_UPLOADS) =>
        {
            header.version
        }
        Ok(header) if header.journal == "kling-batch" => {
            return Err(crate::exit::usage(format!(
                "the batch journal {} has format version {}, which this kling ({}) does not know: \
                 continue this batch with the kling that wrote it (or a newer one), or give this run another --out",
                path.display(),
                header.version,
                env!("CARGO_PKG_VERSION")
            )));
        }
        _ => {
            let v1: Option<Vec<V1Record>> = records
                .iter()
                .map(|(_, text)| serde_json::from_str(text).ok())
                .collect();
            return match v1 {
                Some(v1) => Ok(Read::Version1(v1)),
                None => Err(crate::exit::usage(format!(
                    "{} is not a batch journal this kling can read: move it away if it is not one, \
                     or give this run another --out",
                    path.display()
                ))),
            };
        }
    };
    for (number, text) in &records[1..] {
        match serde_json::from_str::<Record>(text) {
            Ok(Record {
                key,
                event: Event::Uploaded { asset_id, .. },
                ..
            }) => match key.strip_prefix(UPLOAD_KEY) {
                Some(digest) => {
                    uploaded.insert(digest.to_owned(), asset_id);
                }
                None => warnings.push(format!(
                    "{} line {number} is an upload record without its file's digest: skipped",
                    path.display()
                )),
            },
            Ok(record) => known.entry(record.key).or_default().apply(
                kling_types::__private::time::parse_iso8601(&record.at),
                record.event,
            ),
            Err(error) => warnings.push(format!(
                "{} line {number} is not a record this kling knows ({error}): skipped",
                path.display()
            )),
        }
    }
    Ok(Read::Current {
        known,
        uploaded,
        warnings,
        version,
    })
}

/// Rewrites a journal of format 2 as format 3: the same records under the new header,
/// replacing the old file atomically (the folder is locked: no one else writes it).
fn rewrite_header(path: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the batch journal {}", path.display()))?;
    let body = text.split_once('\n').map_or("", |(_, rest)| rest);
    let header = serde_json::to_string(&Header {
        journal: "kling-batch".to_owned(),
        version: VERSION,
    })?;
    replace(path, &format!("{header}\n{body}"), None)
}

/// Replaces the journal at `path` with `text` (in the current format), atomically: a
/// temporary file made durable, then renamed over it, then the folder synced. The old
/// file is first copied beside it as `keep_old`, when given.
fn replace(path: &Path, text: &str, keep_old: Option<&str>) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fresh = dir.join(".kling-batch.tmp");
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&fresh)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if let Some(old) = keep_old {
            std::fs::copy(path, dir.join(old))?;
        }
        std::fs::rename(&fresh, path)?;
        File::open(dir)?.sync_all()
    };
    write().with_context(|| {
        format!(
            "cannot carry the batch journal {} over to format {VERSION}",
            path.display()
        )
    })
}

/// Carries a journal of format 1 over to the current format: each record goes to the
/// line of the file with the same text (format 1 knew lines by number and a hash of
/// their text; the text decides, wherever it now stands), the others are kept under a key
/// of their own (requests no longer in the file). The new journal replaces the old
/// atomically; the old one stays beside it.
fn migrate_v1(
    path: &Path,
    records: &[V1Record],
    lines: &[Line],
) -> anyhow::Result<BTreeMap<String, Known>> {
    let (known, text) = convert_v1(records, lines)?;
    replace(path, &text, Some(JOURNAL_V1))?;
    Ok(known)
}

/// Format 1's records as the current format knows them, and the text of that journal.
fn convert_v1(
    records: &[V1Record],
    lines: &[Line],
) -> anyhow::Result<(BTreeMap<String, Known>, String)> {
    // Format 1's entries: by (line, hash), the last submit's records.
    let mut entries: BTreeMap<(usize, String), Vec<&V1Record>> = BTreeMap::new();
    for record in records {
        let entry = entries
            .entry((record.line, record.hash.clone()))
            .or_default();
        if record.event == "submitting" {
            entry.clear();
        }
        entry.push(record);
    }
    let mut claimed = std::collections::HashSet::new();
    let mut out: Vec<(String, Event, String)> = Vec::new();
    let mut known: BTreeMap<String, Known> = BTreeMap::new();
    for ((number, hash), records) in &entries {
        // The line with this text: where it was if it still is, else the first with it.
        let line = lines
            .iter()
            .filter(|line| {
                u64::from_str_radix(hash, 16) == Ok(line.v1_hash) && !claimed.contains(&line.key)
            })
            .min_by_key(|line| (line.number != *number, line.number));
        let (key, model, params, name) = match line {
            Some(line) => {
                claimed.insert(line.key.clone());
                let name = line
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("line-{number:04}"));
                (line.key.clone(), line.model.to_owned(), line.params(), name)
            }
            None => (
                format!("v1:{number}:{hash}"),
                String::new(),
                Value::Null,
                format!("line-{number:04}"),
            ),
        };
        for record in records {
            let event = match record.event.as_str() {
                "submitting" => Event::Submitting {
                    line: *number,
                    name: name.clone(),
                    model: model.clone(),
                    params: params.clone(),
                    quoted_cu: None,
                    entry: None,
                },
                "submitted" => match &record.job_id {
                    Some(job_id) => Event::Submitted {
                        job_id: job_id.clone(),
                        quoted_cu: None,
                    },
                    None => continue,
                },
                "done" => Event::Done {
                    files: record.files.clone().unwrap_or_default(),
                    charged_cu: None,
                },
                "failed" => Event::Failed {
                    reason: record.reason.clone().unwrap_or_default(),
                    charged_cu: None,
                },
                _ => continue,
            };
            known.entry(key.clone()).or_default().apply(
                kling_types::__private::time::parse_iso8601(&record.at),
                event.clone(),
            );
            out.push((key.clone(), event, record.at.clone()));
        }
    }
    let mut text = serde_json::to_string(&Header {
        journal: "kling-batch".to_owned(),
        version: VERSION,
    })?;
    text.push('\n');
    for (key, event, at) in out {
        text.push_str(&serde_json::to_string(&Record { key, at, event })?);
        text.push('\n');
    }
    Ok((known, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scratch::Scratch;

    fn line(number: usize) -> Line {
        Line::new(
            number,
            &format!("digest{number}#1"),
            "model_kling-v1-6-pro",
            &serde_json::json!({"prompt": format!("clip {number}")}),
        )
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_rerun_reads_what_each_request_reached() {
        let scratch = Scratch::new("journal-reread");
        {
            let (journal, known, _) = Journal::open(&scratch.0, &[]).unwrap();
            assert!(known.is_empty());
            for number in 1..=3 {
                let line = line(number);
                journal
                    .record(
                        &line.key,
                        Journal::submitting(&line, line.params(), "clip", Some(40.0), None),
                    )
                    .await
                    .unwrap();
            }
            let submitted = Event::Submitted {
                job_id: "job_2".to_owned(),
                quoted_cu: None,
            };
            journal.record("digest2#1", submitted).await.unwrap();
            journal
                .record(
                    "digest3#1",
                    Event::Submitted {
                        job_id: "job_3".to_owned(),
                        quoted_cu: None,
                    },
                )
                .await
                .unwrap();
            journal
                .record(
                    "digest3#1",
                    Event::Done {
                        files: vec!["out/clip.mp4".to_owned()],
                        charged_cu: Some(35.0),
                    },
                )
                .await
                .unwrap();
        }
        let (_journal, known, warnings) = Journal::open(&scratch.0, &[]).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(known["digest1#1"].submitting_at.is_some() && known["digest1#1"].job_id.is_none());
        assert_eq!(known["digest2#1"].job_id.as_deref(), Some("job_2"));
        assert_eq!(known["digest2#1"].cost(), 40.0, "quoted until charged");
        assert_eq!(
            known["digest3#1"].files.as_deref(),
            Some(&["out/clip.mp4".to_owned()][..])
        );
        assert_eq!(known["digest3#1"].cost(), 35.0);
        assert_eq!(
            known["digest3#1"].params,
            serde_json::json!({"prompt": "clip 3"})
        );
    }

    #[test]
    fn a_new_attempt_remembers_the_jobs_of_the_earlier_ones() {
        let mut known = Known::default();
        for attempt in 1..=3 {
            known.apply(
                None,
                Journal::submitting(&line(1), line(1).params(), "clip", None, None),
            );
            known.apply(
                None,
                Event::Submitted {
                    job_id: format!("job_{attempt}"),
                    quoted_cu: None,
                },
            );
            known.apply(
                None,
                Event::Failed {
                    reason: "failed".to_owned(),
                    charged_cu: None,
                },
            );
        }
        known.apply(
            None,
            Journal::submitting(&line(1), line(1).params(), "clip", None, None),
        );
        assert_eq!(known.job_id, None, "the new attempt has no job yet");
        assert_eq!(known.failed, None);
        assert_eq!(known.earlier_jobs, ["job_1", "job_2", "job_3"]);
    }

    #[test]
    fn a_second_run_on_the_folder_is_refused() {
        let scratch = Scratch::new("journal-lock");
        let (_first, _, _) = Journal::open(&scratch.0, &[]).unwrap();
        let error = Journal::open(&scratch.0, &[]).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.starts_with("another kling batch is running on"),
            "{message}"
        );
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
        assert_eq!(crate::exit::exit_for(&error), crate::exit::Exit::Usage);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn uploads_are_kept_apart_from_requests_and_read_back() {
        let scratch = Scratch::new("journal-uploads");
        {
            let (journal, _, _) = Journal::open(&scratch.0, &[]).unwrap();
            assert!(journal.uploaded().is_empty());
            journal
                .record_upload("ab12", Path::new("shots/cat.png"), "asset_cat")
                .await
                .unwrap();
        }
        let (journal, known, warnings) = Journal::open(&scratch.0, &[]).unwrap();
        assert_eq!(warnings, Vec::<String>::new());
        assert!(known.is_empty(), "an upload is no request: {known:?}");
        assert_eq!(
            journal.uploaded().iter().collect::<Vec<_>>(),
            [(&"ab12".to_owned(), &"asset_cat".to_owned())]
        );
        let (_, peeked, _) = Journal::peek(&scratch.0, &[]).unwrap();
        assert_eq!(&peeked, journal.uploaded());
    }

    #[test]
    fn a_journal_of_format_2_is_read_as_it_is_and_its_header_moves_to_3() {
        let scratch = Scratch::new("journal-v2");
        let path = scratch.0.join(JOURNAL);
        let record =
            r#"{"key":"k#1","at":"2026-11-30T10:00:00.000Z","event":"submitted","jobId":"job_a"}"#;
        std::fs::write(
            &path,
            format!("{{\"journal\":\"kling-batch\",\"version\":2}}\n{record}\n"),
        )
        .unwrap();
        let (peeked, _, _) = Journal::peek(&scratch.0, &[]).unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("\"version\":2"),
            "a look changes nothing"
        );
        let (_journal, known, warnings) = Journal::open(&scratch.0, &[]).unwrap();
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(known, peeked);
        assert_eq!(known["k#1"].job_id.as_deref(), Some("job_a"));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{{\"journal\":\"kling-batch\",\"version\":3}}\n{record}\n")
        );
    }

    #[test]
    fn a_journal_of_another_format_is_refused_with_what_to_do() {
        let scratch = Scratch::new("journal-format");
        let path = scratch.0.join(JOURNAL);
        std::fs::write(&path, "{\"journal\":\"kling-batch\",\"version\":4}\n").unwrap();
        let message = format!("{:#}", Journal::open(&scratch.0, &[]).unwrap_err());
        assert!(
            message.contains("format version 4, which this kling"),
            "{message}"
        );
        std::fs::write(&path, "{\"some\":\"other file\"}\n").unwrap();
        let message = format!("{:#}", Journal::open(&scratch.0, &[]).unwrap_err());
        assert!(
            message.contains("is not a batch journal this kling can read"),
            "{message}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"some\":\"other file\"}\n",
            "a refused journal is left as it was"
        );
    }

    #[test]
    fn a_journal_of_format_1_is_carried_over_by_the_text_of_its_lines() {
        let scratch = Scratch::new("journal-v1");
        let text = "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n{\"prompt\": \"c\"}\n";
        let (old_lines, _) =
            super::super::input::read_from(text.as_bytes(), Path::new(".")).unwrap();
        let hash = |n: usize| format!("{:016x}", old_lines[n - 1].v1_hash);
        let at = "2026-11-30T10:00:00.000Z";
        let v1 = [
            format!(
                "{{\"line\":1,\"hash\":\"{}\",\"at\":\"{at}\",\"event\":\"submitting\"}}",
                hash(1)
            ),
            format!(
                "{{\"line\":1,\"hash\":\"{}\",\"at\":\"{at}\",\"event\":\"submitted\",\"jobId\":\"job_a\"}}",
                hash(1)
            ),
            format!(
                "{{\"line\":1,\"hash\":\"{}\",\"at\":\"{at}\",\"event\":\"done\",\"files\":[\"out/line-0001.mp4\"]}}",
                hash(1)
            ),
            format!(
                "{{\"line\":2,\"hash\":\"{}\",\"at\":\"{at}\",\"event\":\"submitting\"}}",
                hash(2)
            ),
            format!(
                "{{\"line\":2,\"hash\":\"{}\",\"at\":\"{at}\",\"event\":\"submitted\",\"jobId\":\"job_b\"}}",
                hash(2)
            ),
            format!(
                "{{\"line\":3,\"hash\":\"{}\",\"at\":\"{at}\",\"event\":\"submitting\"}}",
                hash(3)
            ),
        ];
        let path = scratch.0.join(JOURNAL);
        std::fs::write(&path, v1.join("\n") + "\n").unwrap();
        // Since then: "b" moved to the top, "c" was changed, "d" is new.
        let (lines, _) = super::super::input::read_from(
            "{\"prompt\": \"b\"}\n{\"prompt\": \"a\"}\n{\"prompt\": \"c, changed\"}\n{\"prompt\": \"d\"}\n".as_bytes(),
            Path::new("."),
        )
        .unwrap();
        let (_journal, known, warnings) = Journal::open(&scratch.0, &lines).unwrap();
        assert!(
            warnings[0].contains("carried over to format 3"),
            "{warnings:?}"
        );
        assert_eq!(
            known[&lines[0].key].job_id.as_deref(),
            Some("job_b"),
            "b, wherever it is now"
        );
        assert_eq!(known[&lines[0].key].name, "line-0002", "and its old name");
        assert_eq!(
            known[&lines[1].key].files.as_deref(),
            Some(&["out/line-0001.mp4".to_owned()][..])
        );
        assert!(!known.contains_key(&lines[2].key) && !known.contains_key(&lines[3].key));
        let gone: Vec<&Known> = known
            .iter()
            .filter(|(key, _)| key.starts_with("v1:3:"))
            .map(|(_, known)| known)
            .collect();
        assert_eq!(gone.len(), 1, "the old c is kept, its submit not forgotten");
        assert!(gone[0].submitting_at.is_some());
        assert!(
            scratch.0.join(JOURNAL_V1).exists(),
            "the old file stays beside"
        );
        drop(_journal);
        // Carried over once: the next run reads the current format.
        let (_journal, again, warnings) = Journal::open(&scratch.0, &lines).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(again, known);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_torn_record_costs_only_itself() {
        let scratch = Scratch::new("journal-torn");
        {
            let (journal, _, _) = Journal::open(&scratch.0, &[]).unwrap();
            let line = line(1);
            journal
                .record(
                    &line.key,
                    Journal::submitting(&line, line.params(), "clip", None, None),
                )
                .await
                .unwrap();
        }
        // A crash in the middle of the next record.
        let path = scratch.0.join(JOURNAL);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"key\":\"digest1#1\",\"at\":\"2026-01-01T00:00:00Z\",\"event\":\"subm")
            .unwrap();
        drop(file);
        {
            let (journal, known, warnings) = Journal::open(&scratch.0, &[]).unwrap();
            assert!(warnings.is_empty());
            assert!(known["digest1#1"].submitting_at.is_some());
            journal
                .record(
                    "digest1#1",
                    Event::Submitted {
                        job_id: "job_1".to_owned(),
                        quoted_cu: None,
                    },
                )
                .await
                .unwrap();
        }
        let (_journal, known, warnings) = Journal::open(&scratch.0, &[]).unwrap();
        assert!(
            warnings.is_empty(),
            "the torn record was cut off, not glued: {warnings:?}"
        );
        assert_eq!(known["digest1#1"].job_id.as_deref(), Some("job_1"));
    }
}
