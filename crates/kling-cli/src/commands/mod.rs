//! The commands, and what several of them share: the context (output, client,
//! history, maybe a sandbox), waiting for a job and downloading its outputs with
//! progress, Ctrl-C handling, and naming output files.

pub(crate) mod assets;
pub(crate) mod batch;
pub(crate) mod generate;
pub(crate) mod jobs;
pub(crate) mod kept;
pub(crate) mod misc;
pub(crate) mod rerun;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use kling_client::{Client, WaitOptions};
use kling_types::api::{Asset, AssetStatus, Job, JobStatus};
use kling_types::{AssetId, JobId};

use crate::history::{EventKind, History};
use crate::output::Output;
use crate::records::{self, Provenance, Record};

/// What a command runs with.
pub(crate) struct Ctx {
    pub(crate) out: Output,
    pub(crate) client: Client,
    /// The local job history (`None` with `--sandbox`: its jobs vanish with the process).
    pub(crate) history: Option<History>,
    /// The in-process sandbox of `--sandbox`, kept alive while the command runs.
    pub(crate) sandbox: Option<crate::sandbox::Handle>,
    /// What commands may spend.
    pub(crate) spending: crate::settings::Spending,
    /// Where the drift check keeps its results, for which API, as the config sets it
    /// (`None` with `--sandbox`: it serves the built-in schemas, and nothing is paid).
    drift: Option<(PathBuf, String, crate::drift::Policy)>,
}

impl Ctx {
    pub(crate) async fn new(
        global: &crate::cli::Global,
        settings: &crate::settings::Settings,
        out: Output,
    ) -> anyhow::Result<Self> {
        if global.sandbox {
            let sandbox = crate::sandbox::start().await?;
            let client = Client::new(sandbox.credentials)
                .with_base_url(sandbox.base_url.clone())
                .with_durable_downloads(!global.no_fsync);
            out.note(&format!(
                "sandbox: a local stand-in of the API at {} (no keys, nothing leaves this machine)",
                sandbox.base_url
            ));
            return Ok(Self {
                out,
                client,
                history: None,
                sandbox: Some(sandbox.handle),
                spending: settings.spending.clone(),
                drift: None,
            });
        }
        let client = settings.client()?.with_durable_downloads(!global.no_fsync);
        Ok(Self {
            out,
            client,
            history: Some(History::in_dir(&settings.data_dir)),
            sandbox: None,
            spending: settings.spending.clone(),
            drift: Some((
                settings.data_dir.clone(),
                settings.base_url.value.clone(),
                settings.drift,
            )),
        })
    }

    /// Records a history event, if there is a history. A history that cannot be written
    /// stops the command before anything paid is sent.
    pub(crate) fn record(&self, entry: &str, kind: EventKind) -> anyhow::Result<()> {
        match &self.history {
            Some(history) => history.record(entry, kind),
            None => Ok(()),
        }
    }

    /// [`Self::record`] without blocking the runtime while the disk works.
    pub(crate) async fn record_async(&self, entry: &str, kind: EventKind) -> anyhow::Result<()> {
        match &self.history {
            Some(history) => history.record_async(entry, kind).await,
            None => Ok(()),
        }
    }

    /// Checks that the history can be written, if there is one (see
    /// `History::ensure_writable`).
    pub(crate) fn ensure_history_writable(&self) -> anyhow::Result<()> {
        match &self.history {
            Some(history) => history.ensure_writable(),
            None => Ok(()),
        }
    }

    /// Refuses a paid submit when spending is off (`KLING_NO_SPEND=1`, `no_spend` in the
    /// config): exit 2, nothing sent. The sandbox spends nothing and is never refused.
    pub(crate) fn ensure_may_spend(&self, what: &str) -> anyhow::Result<()> {
        match (&self.spending.no_spend, &self.sandbox) {
            (Some(source), None) => Err(crate::exit::usage(format!(
                "spending is off ({source}): {what} would start paid jobs, so nothing was sent; \
                 unset it to spend, or try with --sandbox or --dry-run"
            ))),
            _ => Ok(()),
        }
    }

    /// The drift check before paying for `models` (see `drift`): the config's policy
    /// with the command's flags on top; a warning, or an error (exit 7) when strict.
    pub(crate) async fn check_drift(
        &self,
        flags: &crate::cli::DriftFlags,
        models: &[&'static kling_types::ModelInfo],
    ) -> anyhow::Result<()> {
        let Some((data_dir, base_url, config)) = &self.drift else {
            return Ok(());
        };
        let policy = crate::drift::Policy {
            check: config.check && !flags.no_drift_check,
            strict: config.strict || flags.strict_schema,
        };
        crate::drift::DriftCheck::new(data_dir, base_url, policy)
            .before_paying(&self.out, &self.client, models)
            .await
    }

    /// How to pick a job up again after an interruption.
    pub(crate) fn resume_hint(&self, job_id: &JobId, output: Option<&Path>) -> String {
        if self.sandbox.is_some() {
            return format!("job {job_id} ran in this process's sandbox, which stops with it");
        }
        let output = output
            .map(|path| format!(" -o {}", shell_quote(&path.display().to_string())))
            .unwrap_or_default();
        format!(
            "job {job_id} keeps running on the server; pick it up with: kling jobs wait {job_id}{output}"
        )
    }
}

fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Runs `work` unless SIGINT (Ctrl-C), SIGTERM or SIGHUP comes first, or came already;
/// then `work` is dropped where it stands and the error is `message` (which says how to
/// resume), with the exit code of the signal.
pub(crate) async fn unless_interrupted<T>(
    work: impl Future<Output = anyhow::Result<T>>,
    message: impl FnOnce() -> String,
) -> anyhow::Result<T> {
    tokio::select! {
        // A signal that came before is seen before `work` starts anything.
        biased;
        signal = crate::signals::received() => Err(crate::exit::interrupted(signal, message())),
        outcome = work => outcome,
    }
}

/// A finished job and the files of its outputs.
pub(crate) struct Finished {
    pub(crate) job: Job,
    pub(crate) files: Vec<PathBuf>,
}

/// Waits for a job with progress, downloads its outputs to `output`, and records both
/// in the history entry (if any). Ctrl-C leaves the job running and says how to resume;
/// a download cut short leaves no file at the target.
pub(crate) async fn finish_job(
    ctx: &Ctx,
    job_id: &JobId,
    output: Option<&Path>,
    timeout: Duration,
    entry: Option<&str>,
    record: Option<&Provenance>,
) -> anyhow::Result<Finished> {
    let progress = ctx.out.job_progress(job_id.as_str());
    let options = WaitOptions::default().with_deadline(timeout);
    let waited = unless_interrupted(
        async {
            Ok(ctx
                .client
                .wait_with(job_id, options, |update| progress.update(update))
                .await?)
        },
        || format!("interrupted: {}", ctx.resume_hint(job_id, output)),
    )
    .await;
    progress.finish();
    let job = match waited {
        Ok(job) => job,
        Err(error) => {
            if let (
                Some(entry),
                Some(
                    kling_client::Error::JobFailed { .. } | kling_client::Error::JobCanceled { .. },
                ),
            ) = (entry, error.downcast_ref::<kling_client::Error>())
            {
                let status = if matches!(
                    error.downcast_ref(),
                    Some(kling_client::Error::JobCanceled { .. })
                ) {
                    "canceled"
                } else {
                    "failure"
                };
                ctx.record(
                    entry,
                    EventKind::Finished {
                        status: status.to_owned(),
                    },
                )?;
            }
            return Err(error);
        }
    };
    if let Some(entry) = entry {
        ctx.record(
            entry,
            EventKind::Finished {
                status: job.status.to_string(),
            },
        )?;
        if let Some(charged) = job.billing.as_ref().and_then(|billing| billing.cu_cost) {
            ctx.record(
                entry,
                EventKind::Cost {
                    quoted_cu: None,
                    charged_cu: Some(charged),
                },
            )?;
        }
    }
    let files =
        download_outputs(ctx, &ctx.out, &job, job_id.as_str(), output, entry, record).await?;
    Ok(Finished { job, files })
}

/// Downloads the outputs of a finished job to `output` (a file, or a folder), named after
/// `stem` (the job id, or a batch line's name), and records the files in the history
/// entry, if any. A job without outputs is an error (a success that leaves nothing to
/// download must not pass for one), and so is an output in error on the server; both
/// name the job. With `record`, each file gets its `NAME.kling.json` (see [`records`]).
pub(crate) async fn download_outputs(
    ctx: &Ctx,
    out: &Output,
    job: &Job,
    stem: &str,
    output: Option<&Path>,
    entry: Option<&str>,
    record: Option<&Provenance>,
) -> anyhow::Result<Vec<PathBuf>> {
    let job_id = &job.job_id;
    let asset_ids = job
        .metadata
        .as_ref()
        .map(|metadata| metadata.asset_ids.clone())
        .unwrap_or_default();
    if asset_ids.is_empty() {
        return Err(if job.status == JobStatus::Success {
            anyhow::anyhow!(
                "job {job_id} succeeded but has no outputs to download: the API lists no asset for it; \
                 `kling jobs get {job_id}` shows the job, and Scenario's support can look into it with its id"
            )
        } else {
            anyhow::anyhow!(
                "job {job_id} ended {} with no outputs: `kling jobs get {job_id}` shows why",
                job.status
            )
        });
    }
    let keep = Keep {
        job: Some(job),
        record,
    };
    download_assets(ctx, out, stem, &asset_ids, output, entry, &keep).await
}

/// Downloads assets to `output` (a file, or a folder), naming them after `stem`, and
/// records the files in the history entry, if any. An asset in error on the server is
/// an error, after the others were downloaded.
pub(crate) async fn download_all(
    ctx: &Ctx,
    out: &Output,
    stem: &str,
    asset_ids: &[AssetId],
    output: Option<&Path>,
    entry: Option<&str>,
    record: Option<&Provenance>,
) -> anyhow::Result<Vec<PathBuf>> {
    let keep = Keep { job: None, record };
    download_assets(ctx, out, stem, asset_ids, output, entry, &keep).await
}

/// What a download keeps besides the files: the job they come from (messages name it,
/// records describe it), and whether to write records, with what this machine sent.
struct Keep<'a> {
    job: Option<&'a Job>,
    record: Option<&'a Provenance>,
}

/// [`download_all`] of the outputs of `keep.job`, when known.
async fn download_assets(
    ctx: &Ctx,
    out: &Output,
    stem: &str,
    asset_ids: &[AssetId],
    output: Option<&Path>,
    entry: Option<&str>,
    keep: &Keep<'_>,
) -> anyhow::Result<Vec<PathBuf>> {
    let job = keep.job.map(|job| &job.job_id);
    // The SHA-256 of each file is the record's: without one, a download only moves bytes.
    let client = ctx
        .client
        .clone()
        .with_download_digests(keep.record.is_some());
    let mut files = Vec::new();
    let mut in_error = Vec::new();
    for (index, asset_id) in asset_ids.iter().enumerate() {
        // The whole step stops at a signal, its look-up included; the download's partial
        // file goes with its future (kling_client removes it when dropped).
        let shown_target = std::cell::RefCell::new(None);
        let step = async {
            let asset = ctx.client.asset(asset_id).await?;
            if asset.status == Some(AssetStatus::Error) {
                return Ok(None);
            }
            let target = kling_client::output_path(
                output,
                stem,
                index,
                asset_ids.len(),
                asset.mime_type.as_deref(),
            );
            let name = target.display().to_string();
            *shown_target.borrow_mut() = Some(name.clone());
            let bar = out.download_progress(&name);
            let downloaded = client
                .download_asset_with(&asset, &target, |step| bar.update(step))
                .await?;
            bar.finish(downloaded.bytes);
            let poster = download_poster(ctx, out, &asset, &target).await;
            if let Some(provenance) = keep.record {
                write_record(
                    ctx,
                    provenance,
                    keep.job,
                    &asset,
                    &target,
                    &downloaded,
                    poster.as_deref(),
                )
                .await?;
            }
            Ok(Some(target))
        };
        let target = unless_interrupted(step, || {
            let left = shown_target
                .take()
                .map(|name| format!("nothing was left at {name}; "))
                .unwrap_or_default();
            let resume = job.map_or_else(
                || "run the same command again to download it".to_owned(),
                |job_id| ctx.resume_hint(job_id, output),
            );
            format!("interrupted: {left}{resume}")
        })
        .await?;
        match target {
            Some(target) => files.push(target),
            None => in_error.push(asset_id.as_str()),
        }
    }
    let shown: Vec<String> = files
        .iter()
        .map(|file| file.display().to_string())
        .collect();
    if let Some(entry) = entry.filter(|_| !files.is_empty()) {
        ctx.record(
            entry,
            EventKind::Downloaded {
                files: shown.clone(),
            },
        )?;
    }
    if in_error.is_empty() {
        return Ok(files);
    }
    let (assets, are) = match in_error.as_slice() {
        [one] => (format!("asset {one}"), "is"),
        many => (format!("assets {}", many.join(", ")), "are"),
    };
    let of_job = job
        .map(|job_id| format!(" of job {job_id}"))
        .unwrap_or_default();
    let saved = if shown.is_empty() {
        String::new()
    } else {
        format!(" (the other outputs were saved: {})", shown.join(", "))
    };
    Err(anyhow::anyhow!(
        "{assets}{of_job} {are} in error on the server: there is no file to download{saved}; \
         `kling assets get {}` shows it",
        in_error[0]
    ))
}

/// Downloads the poster of a video (its `thumbnail`, or else its `firstFrame`) beside
/// it: `NAME.poster.EXT`. A poster is a nicety: one that cannot be had is a warning.
async fn download_poster(ctx: &Ctx, out: &Output, asset: &Asset, video: &Path) -> Option<PathBuf> {
    let frame = asset.thumbnail.as_ref().or(asset.first_frame.as_ref())?;
    let frame_id = frame.asset_id.as_ref()?;
    let fetched = async {
        let frame = ctx.client.asset(frame_id).await?;
        let extension = frame
            .mime_type
            .as_deref()
            .and_then(|mime| mime.split('/').nth(1))
            .unwrap_or("png");
        let target = records::poster_path_for(video, extension);
        ctx.client
            .download_asset_with(&frame, &target, |_| {})
            .await?;
        Ok::<_, kling_client::Error>(target)
    };
    match fetched.await {
        Ok(target) => Some(target),
        Err(error) => {
            out.warn(&format!("no poster for {}: {error}", video.display()));
            None
        }
    }
}

/// Writes the record of a downloaded output beside it (the file is whole by now). An
/// asset downloaded by id names its job: the job is asked for, to describe it.
async fn write_record(
    ctx: &Ctx,
    provenance: &Provenance,
    job: Option<&Job>,
    asset: &Asset,
    file: &Path,
    downloaded: &kling_client::Downloaded,
    poster: Option<&Path>,
) -> anyhow::Result<()> {
    let parent = match (
        job,
        asset
            .metadata
            .as_ref()
            .and_then(|m| m.parent_job_id.as_ref()),
    ) {
        (None, Some(job_id)) => ctx.client.job(job_id).await.ok(),
        _ => None,
    };
    let job = job.or(parent.as_ref()).cloned();
    let (provenance, asset) = (provenance.clone(), asset.clone());
    let (file, poster, downloaded) = (
        file.to_path_buf(),
        poster.map(Path::to_path_buf),
        *downloaded,
    );
    // The record reaches the disk before the call returns (fsync): off the runtime's thread.
    tokio::task::spawn_blocking(move || {
        let record = Record::of_output(
            &provenance,
            job.as_ref(),
            &asset,
            &file,
            &downloaded,
            poster.as_deref(),
        );
        records::write(&records::path_for(&file), &record)
    })
    .await
    .context("the record's writer stopped")?
}

/// Checks, before anything is uploaded, submitted or downloaded, that outputs can be
/// saved at `output` (as `target_path` names them): the folder they go to exists or is
/// made, no part of the path is a regular file, and a file can be created there (a probe,
/// created and removed). `output` may be a file (its folder is checked; an existing file
/// is replaced), a folder (existing, or ending with `/`: pass `dir.join("")` for a folder
/// that may not exist yet), or `None` (here). A failure is a usage error (exit 2) that
/// names the path and what to do.
pub(crate) fn ensure_writable(output: Option<&Path>) -> anyhow::Result<()> {
    let (folder, shown) = match output {
        None => (PathBuf::from("."), "here".to_owned()),
        Some(path) => {
            let folder = if kling_client::is_output_folder(path) {
                path.to_path_buf()
            } else {
                match path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                    _ => PathBuf::from("."),
                }
            };
            (folder, path.display().to_string())
        }
    };
    let what_to_do = if output.is_some() {
        "give -o a path in a folder you can write to"
    } else {
        "run kling from a folder you can write to, or give -o"
    };
    // Without a trailing separator: `afile/` must be seen as the file `afile`.
    let folder: PathBuf = folder.components().collect();
    if let Some(file) = folder.ancestors().find(|part| part.is_file()) {
        return Err(crate::exit::usage(format!(
            "cannot save to {shown}: {} is a file, not a folder: {what_to_do}",
            file.display()
        )));
    }
    std::fs::create_dir_all(&folder).map_err(|error| {
        crate::exit::usage_because(
            format!(
                "cannot save to {shown}: cannot create the folder {} ({what_to_do})",
                folder.display()
            ),
            error,
        )
    })?;
    let probe = folder.join(format!(
        ".kling-probe-{}",
        crate::history::History::new_entry()
    ));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|error| {
            crate::exit::usage_because(
                format!(
                    "cannot save to {shown}: cannot create a file in {} ({what_to_do})",
                    folder.display()
                ),
                error,
            )
        })?;
    // The probe is empty and hidden; should it stay behind, nothing depends on it.
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_named_sensibly() {
        let path = |output: Option<&str>, index, count| {
            kling_client::output_path(
                output.map(Path::new),
                "job_1",
                index,
                count,
                Some("video/mp4"),
            )
        };
        assert_eq!(path(None, 0, 1), PathBuf::from("job_1.mp4"));
        assert_eq!(path(Some("fox.mp4"), 0, 1), PathBuf::from("fox.mp4"));
        assert_eq!(path(Some("clips/"), 0, 1), PathBuf::from("clips/job_1.mp4"));
        assert_eq!(path(Some("fox.mp4"), 1, 2), PathBuf::from("fox-2.mp4"));
        assert_eq!(path(None, 0, 2), PathBuf::from("job_1-1.mp4"));
        assert_eq!(shell_quote("out dir/fox.mp4"), "'out dir/fox.mp4'");
    }
}
