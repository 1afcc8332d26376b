//! The record beside each output: `NAME.kling.json`, everything needed to know what a
//! file is and to make it again (Kling 1.6 Pro has no seed: the request is the recipe).
//!
//! Format version 1, described by `docs/kling-record.schema.json`: the model and a
//! SHA-256 of the schema this kling has for it, the exact request sent, the job and
//! asset ids, quoted and charged creative units, the file's size and SHA-256, the job's
//! timestamps and the `kling` version. A failed batch line gets a record too (no file,
//! the server's reason and hint), so that a folder of records tells the whole batch.
//!
//! Records are written whole or not at all (a temporary file beside the target, synced,
//! then renamed, then the folder synced), only once the output itself is whole. A reader
//! refuses a record of a newer version, naming it, rather than guessing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use kling_types::api::{Asset, Job, JobStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;

/// The version of the records this kling writes (and the newest it reads).
pub(crate) const VERSION: u32 = 1;
/// What every record's file name ends with.
pub(crate) const SUFFIX: &str = ".kling.json";

/// `NAME.kling.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    /// The format version ([`VERSION`]).
    pub(crate) version: u32,
    /// The version of the `kling` that wrote it.
    pub(crate) kling: String,
    /// `success`, or how the job ended (`failure`, `canceled`).
    pub(crate) status: String,
    pub(crate) model: ModelRef,
    /// The exact request body sent (`null` when the API kept none and no local history
    /// knew it: such a record cannot be rerun).
    pub(crate) request: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) asset_id: Option<String>,
    /// The output, beside the record (absent for a failed line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<FileFacts>,
    /// The poster image (the video's thumbnail or first frame), beside the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) poster: Option<String>,
    #[serde(default)]
    pub(crate) cost: Cost,
    #[serde(default)]
    pub(crate) times: Times,
    /// The server's reason, for a job that did not succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// What the server suggests doing about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hint: Option<String>,
}

/// The model a record's request is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelRef {
    pub(crate) id: String,
    /// SHA-256 (hex) of the JSON Schema this kling has for the model; absent for a
    /// model it does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema_sha256: Option<String>,
}

/// The output file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileFacts {
    /// Its name, in the record's folder.
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// Creative units.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Cost {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) quoted_cu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) charged_cu: Option<f64>,
}

/// When things happened (ISO 8601, UTC).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Times {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) submitted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) finished: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) downloaded: Option<String>,
}

impl Times {
    /// The job's times, from its creation and status history.
    pub(crate) fn of_job(job: &Job) -> Self {
        let date_of = |wanted: &dyn Fn(&JobStatus) -> bool| {
            job.status_history
                .iter()
                .find(|change| wanted(&change.status))
                .and_then(|change| change.date.clone())
        };
        let finished = date_of(&|status| status.is_terminal()).or_else(|| {
            job.status
                .is_terminal()
                .then(|| job.updated_at.clone())
                .flatten()
        });
        Self {
            submitted: job.created_at.clone(),
            started: date_of(&|status| *status == JobStatus::InProgress),
            finished,
            downloaded: None,
        }
    }
}

/// What is known of an output besides its job and asset: what this machine sent.
#[derive(Clone, Debug, Default)]
pub(crate) struct Provenance {
    pub(crate) model: Option<String>,
    /// The request body as sent.
    pub(crate) request: Option<Value>,
    pub(crate) quoted_cu: Option<f64>,
}

impl Provenance {
    /// What the local history knows of a submit.
    pub(crate) fn of_entry(entry: &crate::history::Entry) -> Self {
        Self {
            model: Some(entry.model.clone()),
            request: Some(entry.params.clone()),
            quoted_cu: entry.quoted_cu,
        }
    }
}

impl Record {
    /// The record of a downloaded output: `file` (whole, on disk) of `asset`, from `job`;
    /// its size and SHA-256 as the download took them.
    pub(crate) fn of_output(
        provenance: &Provenance,
        job: Option<&Job>,
        asset: &Asset,
        file: &Path,
        downloaded: &kling_client::Downloaded,
        poster: Option<&Path>,
    ) -> Self {
        let mut record = Self::of_job(provenance, job);
        let model = asset
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.model_id.as_ref())
            .map(|id| id.as_str().to_owned());
        if provenance.model.is_none()
            && job.is_none()
            && let Some(model) = model
        {
            record.model = model_ref(&model);
        }
        record.status = "success".to_owned();
        record.asset_id = Some(asset.id.as_str().to_owned());
        record.file = Some(FileFacts {
            name: file_name(file),
            size: downloaded.bytes,
            // Taken by every download that keeps a record (`download_assets`).
            sha256: downloaded.sha256_hex().unwrap_or_default(),
        });
        record.poster = poster.map(file_name);
        record.times.downloaded = Some(kling_types::__private::time::format_iso8601(
            SystemTime::now(),
        ));
        record
    }

    /// The record of a job (no file yet): a failed one, or the base of an output's.
    pub(crate) fn of_job(provenance: &Provenance, job: Option<&Job>) -> Self {
        let metadata = job.and_then(|job| job.metadata.as_ref());
        let model = provenance
            .model
            .clone()
            .or_else(|| {
                metadata
                    .and_then(|metadata| metadata.model_id.as_ref())
                    .map(|id| id.as_str().to_owned())
            })
            .unwrap_or_default();
        let request = provenance.request.clone().unwrap_or_else(|| {
            metadata
                .filter(|metadata| !metadata.input.is_empty())
                .map_or(Value::Null, |metadata| {
                    Value::Object(metadata.input.clone())
                })
        });
        Self {
            version: VERSION,
            kling: env!("CARGO_PKG_VERSION").to_owned(),
            status: job.map_or_else(|| "unknown".to_owned(), |job| job.status.to_string()),
            model: model_ref(&model),
            request,
            job_id: job.map(|job| job.job_id.as_str().to_owned()),
            asset_id: None,
            file: None,
            poster: None,
            cost: Cost {
                quoted_cu: provenance.quoted_cu,
                charged_cu: job
                    .and_then(|job| job.billing.as_ref())
                    .and_then(|billing| billing.cu_cost),
            },
            times: job.map(Times::of_job).unwrap_or_default(),
            error: metadata.and_then(|metadata| metadata.error.clone()),
            hint: metadata.and_then(|metadata| metadata.hint.clone()),
        }
    }

    /// The prompt of its request, if any.
    pub(crate) fn prompt(&self) -> Option<&str> {
        self.request.get("prompt").and_then(Value::as_str)
    }
}

/// The model's id and the digest of the schema this kling has for it.
pub(crate) fn model_ref(id: &str) -> ModelRef {
    ModelRef {
        id: id.to_owned(),
        schema_sha256: schema_digest(id),
    }
}

/// SHA-256 (hex) of the schema built into this kling for `model_id`.
pub(crate) fn schema_digest(model_id: &str) -> Option<String> {
    kling_types::find_model(model_id).map(|model| sha256_hex(model.schema.as_bytes()))
}

/// Where the record of `output` goes: `fox.mp4` → `fox.kling.json`.
pub(crate) fn path_for(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}{SUFFIX}"))
}

/// Where the poster of `output` goes: `fox.mp4` → `fox.poster.png`.
pub(crate) fn poster_path_for(output: &Path, extension: &str) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}.poster.{extension}"))
}

/// The name a record gives its path (`NAME` of `NAME.kling.json`).
pub(crate) fn stem_of(path: &Path) -> String {
    let name = file_name(path);
    name.strip_suffix(SUFFIX).unwrap_or(&name).to_owned()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
}

/// Writes `record` at `path` whole or not at all: a temporary file beside it, synced,
/// renamed into place, and the folder synced (so the new name survives a power cut).
pub(crate) fn write(path: &Path, record: &Record) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(record)?;
    text.push(b'\n');
    write_atomically(path, &text).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `bytes` at `path` whole or not at all (see [`write()`]).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// [`write_atomically`] of what `fill` writes (streamed: a 10,000-card gallery is
/// never held in memory whole).
pub(crate) fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let name = file_name(path);
    let (file, temporary) = temporary_for(path, &name)?;
    let written = (|| {
        let mut file = std::io::BufWriter::new(file);
        fill(&mut file)?;
        let file = file.into_inner().map_err(|error| error.into_error())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    sync_folder(path);
    Ok(())
}

/// The temporary file a write of `path` fills: `.NAME.tmp`, locked while it is written,
/// so that one a killed process left behind is taken over (and renamed away) by the next
/// write of the same file instead of staying beside it forever; while another process
/// holds it (two writes of one file at once), one of this process's own.
fn temporary_for(path: &Path, name: &str) -> std::io::Result<(std::fs::File, PathBuf)> {
    let shared = path.with_file_name(format!(".{name}.tmp"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&shared)?;
    let locked = match file.try_lock() {
        Ok(()) => true,
        Err(std::fs::TryLockError::WouldBlock) => false,
        // A file system without locks: a file of this process's own.
        Err(std::fs::TryLockError::Error(error))
            if error.kind() == std::io::ErrorKind::Unsupported =>
        {
            false
        }
        Err(std::fs::TryLockError::Error(error)) => return Err(error),
    };
    if locked {
        file.set_len(0)?;
        return Ok((file, shared));
    }
    let own = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    Ok((std::fs::File::create(&own)?, own))
}

/// Syncs the folder of `path` (on Unix; elsewhere a rename is made durable by the OS).
fn sync_folder(path: &Path) {
    #[cfg(unix)]
    if let Some(folder) = path.parent() {
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        // A folder that cannot be synced (some file systems refuse) keeps the rename.
        if let Ok(folder) = std::fs::File::open(folder) {
            let _ = folder.sync_all();
        }
    }
}

/// Reads a record, refusing one of a newer format.
pub(crate) fn read(path: &Path) -> anyhow::Result<Record> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("{} is not a kling record", path.display()))
}

/// [`read`] of a record's text.
pub(crate) fn parse(text: &str) -> anyhow::Result<Record> {
    let value: Value = serde_json::from_str(text)?;
    match value.get("version").and_then(Value::as_u64) {
        Some(version) if version > u64::from(VERSION) => anyhow::bail!(
            "its format version is {version}, newer than this kling reads ({VERSION}): update kling"
        ),
        None => anyhow::bail!("it has no `version`"),
        Some(_) => {}
    }
    Ok(serde_json::from_value(value)?)
}

/// Every record in `dir` (not below it), by file name; each one that cannot be read is
/// an `Err` naming it.
pub(crate) fn in_folder(dir: &Path) -> anyhow::Result<Vec<(PathBuf, anyhow::Result<Record>)>> {
    Ok(paths_in_folder(dir)?
        .into_iter()
        .map(|path| {
            let record = read(&path);
            (path, record)
        })
        .collect())
}

/// The paths of the records in `dir` (not below it), by file name.
pub(crate) fn paths_in_folder(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().ends_with(SUFFIX))
                && !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// The SHA-256 of `bytes` in lowercase hex (as `sha256sum` prints it): the one spelling
/// of the CLI's digests (schemas, batch lines, imported histories).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

/// A digest in lowercase hex.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_file_a_killed_write_left_is_taken_over_by_the_next_write() {
        let scratch = crate::scratch::Scratch::new("records-leftover");
        let path = scratch.0.join("clip.kling.json");
        // A write killed half-way: its temporary holds part of a record, and no lock.
        std::fs::write(scratch.0.join(".clip.kling.json.tmp"), b"{\"half").unwrap();
        write_atomically(&path, b"{}\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}\n");
        let names: Vec<String> = std::fs::read_dir(&scratch.0)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["clip.kling.json"], "nothing left beside it");

        // While another write holds the temporary, a write uses one of its own.
        let held = std::fs::File::create(scratch.0.join(".clip.kling.json.tmp")).unwrap();
        held.lock().unwrap();
        write_atomically(&path, b"[]\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"[]\n");
    }

    fn job() -> Job {
        serde_json::from_value(serde_json::json!({
            "jobId": "job_1",
            "status": "success",
            "createdAt": "2026-12-01T10:00:00.000Z",
            "updatedAt": "2026-12-01T10:01:00.000Z",
            "statusHistory": [
                {"status": "queued", "date": "2026-12-01T10:00:00.000Z"},
                {"status": "in-progress", "date": "2026-12-01T10:00:05.000Z"},
                {"status": "success", "date": "2026-12-01T10:00:59.000Z"}
            ],
            "metadata": {"modelId": "model_kling-v1-6-pro", "input": {"prompt": "from the api"}, "assetIds": ["asset_1"]},
            "billing": {"cuCost": 40}
        }))
        .unwrap()
    }

    #[test]
    fn a_record_sits_beside_its_output_and_names_its_poster() {
        assert_eq!(
            path_for(Path::new("out/fox.mp4")),
            PathBuf::from("out/fox.kling.json")
        );
        assert_eq!(
            poster_path_for(Path::new("out/fox-2.mp4"), "png"),
            PathBuf::from("out/fox-2.poster.png")
        );
        assert_eq!(stem_of(Path::new("out/fox.kling.json")), "fox");
    }

    #[test]
    fn the_request_sent_wins_over_what_the_api_kept() {
        let sent = Provenance {
            model: Some("model_kling-v1-6-pro".to_owned()),
            request: Some(serde_json::json!({"prompt": "as sent"})),
            quoted_cu: Some(40.0),
        };
        let record = Record::of_job(&sent, Some(&job()));
        assert_eq!(record.request["prompt"], "as sent");
        assert_eq!(record.cost.quoted_cu, Some(40.0));
        assert_eq!(record.cost.charged_cu, Some(40.0));
        let kept = Record::of_job(&Provenance::default(), Some(&job()));
        assert_eq!(kept.request["prompt"], "from the api");
        assert_eq!(kept.model.id, "model_kling-v1-6-pro");
    }

    #[test]
    fn times_come_from_the_status_history() {
        let times = Times::of_job(&job());
        assert_eq!(times.submitted.as_deref(), Some("2026-12-01T10:00:00.000Z"));
        assert_eq!(times.started.as_deref(), Some("2026-12-01T10:00:05.000Z"));
        assert_eq!(times.finished.as_deref(), Some("2026-12-01T10:00:59.000Z"));
    }

    #[test]
    fn the_schema_digest_is_the_sha256_of_the_built_in_schema() {
        let digest = schema_digest("model_kling-v1-6-pro").unwrap();
        assert_eq!(digest.len(), 64);
        assert_eq!(schema_digest("model_kling-v1-6-pro"), Some(digest));
        assert_eq!(schema_digest("model_unknown"), None);
    }

    #[test]
    fn a_record_of_a_newer_format_is_refused_by_name() {
        let error = parse(r#"{"version": 2}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("newer than this kling reads (1)")
        );
        assert!(parse(r#"{"kling": "0.1.0"}"#).is_err());
    }

    #[test]
    fn records_are_written_whole_and_read_back() {
        let dir = crate::scratch::Scratch::new("records");
        let video = dir.0.join("fox.mp4");
        std::fs::write(&video, b"not really a video").unwrap();
        let asset: Asset = serde_json::from_value(serde_json::json!({"id": "asset_1"})).unwrap();
        let downloaded = kling_client::Downloaded::of(b"not really a video");
        let record = Record::of_output(
            &Provenance::default(),
            Some(&job()),
            &asset,
            &video,
            &downloaded,
            None,
        );
        let file = record.file.as_ref().unwrap();
        assert_eq!(file.size, 18);
        assert_eq!(file.name, "fox.mp4");
        assert_eq!(
            Some(file.sha256.as_str()),
            downloaded.sha256_hex().as_deref()
        );
        let path = path_for(&video);
        write(&path, &record).unwrap();
        assert_eq!(read(&path).unwrap(), record);
        let names: Vec<String> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('.'))
            .collect();
        assert!(names.is_empty(), "no temporary file is left: {names:?}");
    }
}
