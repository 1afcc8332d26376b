//! `kling jobs get|wait|list|cancel|history`.

use std::time::{Duration, SystemTime};

use futures_util::{StreamExt as _, TryStreamExt as _};
use kling_client::JobFilter;
use kling_types::JobId;
use kling_types::api::{Job, JobStatus};

use super::{Ctx, finish_job};
use crate::cli::Jobs;
use crate::history::{EventKind, Query};
use crate::records::Provenance;

pub(crate) async fn run(ctx: &Ctx, command: &Jobs) -> anyhow::Result<()> {
    match command {
        Jobs::Get { id } => show(ctx, &ctx.client.job(&JobId::new(id.as_str())).await?),
        Jobs::Wait {
            id,
            last,
            output,
            timeout,
            no_record,
        } => {
            let wait_for = Wait {
                id: id.as_deref(),
                last: *last,
                output: output.as_deref(),
                timeout: *timeout,
                record: !no_record,
            };
            wait(ctx, wait_for).await
        }
        Jobs::List { status, limit } => list(ctx, status.as_deref(), *limit).await,
        Jobs::Cancel { id } => show(ctx, &ctx.client.cancel(&JobId::new(id.as_str())).await?),
        Jobs::History {
            limit,
            since,
            status,
            model,
        } => {
            let query = Query {
                since: *since,
                status: status.clone(),
                model: model.clone(),
                limit: Some(*limit),
            };
            history(ctx, &query)
        }
    }
}

/// A job, as a line or JSON.
fn show(ctx: &Ctx, job: &Job) -> anyhow::Result<()> {
    if ctx.out.json {
        ctx.out.json(&serde_json::to_value(job)?)?;
    } else {
        ctx.out.result(&describe(job))?;
    }
    Ok(())
}

/// What `kling jobs wait` was asked.
struct Wait<'a> {
    id: Option<&'a str>,
    last: bool,
    output: Option<&'a std::path::Path>,
    timeout: u64,
    /// Whether to write a record beside each output (not `--no-record`).
    record: bool,
}

/// `kling jobs wait ID|--last`: waits and downloads where the submit said (or `output`).
async fn wait(ctx: &Ctx, asked: Wait<'_>) -> anyhow::Result<()> {
    let Wait {
        id,
        last,
        output,
        timeout,
        record,
    } = asked;
    debug_assert!(id.is_some() || last, "clap requires an id or --last");
    let (job_id, entry, remembered_output, provenance) = match id {
        Some(id) => {
            let entry = ctx
                .history
                .as_ref()
                .map(|history| history.find_job(id))
                .transpose()?
                .flatten();
            let provenance = entry.as_ref().map(Provenance::of_entry).unwrap_or_default();
            (
                JobId::new(id),
                entry.as_ref().map(|entry| entry.entry.clone()),
                entry.and_then(|entry| entry.output),
                provenance,
            )
        }
        None => {
            let entry = last_entry(ctx).await?;
            let job_id = entry
                .job_id
                .clone()
                .map(JobId::new)
                .ok_or_else(|| anyhow::anyhow!("the last submit has no job"))?;
            let provenance = Provenance::of_entry(&entry);
            (job_id, Some(entry.entry), entry.output, provenance)
        }
    };
    let output = output
        .map(std::path::Path::to_path_buf)
        .or(remembered_output.map(std::path::PathBuf::from));
    super::ensure_writable(output.as_deref())?;
    if entry.is_some() {
        ctx.ensure_history_writable()?;
    }
    let finished = finish_job(
        ctx,
        &job_id,
        output.as_deref(),
        Duration::from_secs(timeout),
        entry.as_deref(),
        record.then_some(&provenance),
    )
    .await?;
    super::generate::report(ctx, &finished)?;
    Ok(())
}

/// `kling jobs list`: the newest jobs, with a status when given.
async fn list(ctx: &Ctx, status: Option<&str>, limit: usize) -> anyhow::Result<()> {
    let mut filter = JobFilter::default().with_page_size(limit.clamp(1, 100) as u32);
    if let Some(status) = status {
        filter = filter.with_status(JobStatus::from(status));
    }
    let jobs: Vec<Job> = ctx.client.jobs(filter).take(limit).try_collect().await?;
    if ctx.out.json {
        ctx.out.json(&serde_json::to_value(&jobs)?)?;
    } else {
        for job in &jobs {
            ctx.out.result(&describe(job))?;
        }
        if jobs.is_empty() {
            ctx.out.note("no jobs");
        }
    }
    Ok(())
}

/// `kling jobs history`: the newest submits of this machine, as the query filters them.
fn history(ctx: &Ctx, query: &Query) -> anyhow::Result<()> {
    let Some(history) = &ctx.history else {
        ctx.out.note("--sandbox keeps no history");
        return Ok(());
    };
    let entries = history.query(query)?;
    if ctx.out.json {
        ctx.out.json(&serde_json::to_value(&entries)?)?;
        return Ok(());
    }
    if entries.is_empty() {
        ctx.out.note(&format!(
            "no submits yet (the history is {})",
            history.path().display()
        ));
    }
    for entry in entries {
        let job = entry
            .job_id
            .as_deref()
            .unwrap_or("(answer lost: `kling jobs wait --last` looks for it)");
        let status = entry
            .status
            .as_deref()
            .unwrap_or(if entry.job_id.is_some() {
                "submitted"
            } else {
                "unknown"
            });
        let prompt: String = entry.params["prompt"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(48)
            .collect();
        let files = if entry.files.is_empty() {
            String::new()
        } else {
            format!("  -> {}", entry.files.join(", "))
        };
        ctx.out.result(&format!(
            "{}  {job}  {status}  {}  \"{prompt}\"{files}",
            entry.submitted_at, entry.model
        ))?;
    }
    Ok(())
}

/// The newest history entry, with its job found again if its answer was lost.
async fn last_entry(ctx: &Ctx) -> anyhow::Result<crate::history::Entry> {
    let history = ctx.history.as_ref().ok_or_else(|| {
        crate::exit::usage("--last needs the local history, which --sandbox does not keep")
    })?;
    let mut entry = history.entries()?.pop().ok_or_else(|| {
        crate::exit::usage(format!(
            "the history is empty ({})",
            history.path().display()
        ))
    })?;
    if entry.job_id.is_none() {
        ctx.out
            .note("the last submit's answer was lost: looking for its job");
        // A minute of clock skew; a date the history mangled means "since ever".
        let since = kling_types::__private::time::parse_iso8601(&entry.submitted_at)
            .and_then(|at| at.checked_sub(Duration::from_secs(60)))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match ctx
            .client
            .recover_submitted(&entry.model, &entry.params, since)
            .await?
        {
            Some(job) => {
                history.record(
                    &entry.entry,
                    EventKind::Submitted {
                        job_id: job.job_id.as_str().to_owned(),
                    },
                )?;
                ctx.out.note(&format!("found {}", job.job_id));
                entry.job_id = Some(job.job_id.into_string());
            }
            None => {
                return Err(anyhow::anyhow!(
                    "the last submit ({}) started no job the API knows of: nothing was charged; submit it again",
                    entry.submitted_at
                ));
            }
        }
    }
    Ok(entry)
}

/// One line about a job.
fn describe(job: &Job) -> String {
    let progress = job
        .progress
        .map(|progress| format!(" {:.0}%", progress * 100.0))
        .unwrap_or_default();
    let created = job.created_at.as_deref().unwrap_or("");
    let mut line = format!("{}  {}{progress}  {created}", job.job_id, job.status);
    if let Some(metadata) = &job.metadata {
        if let Some(error) = &metadata.error {
            line.push_str(&format!("  error: {error}"));
        }
        if !metadata.asset_ids.is_empty() {
            let assets: Vec<&str> = metadata.asset_ids.iter().map(|id| id.as_str()).collect();
            line.push_str(&format!("  assets: {}", assets.join(",")));
        }
    }
    line
}
