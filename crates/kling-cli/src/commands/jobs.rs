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
        Jobs::Get { id } => {
            let job = ctx.client.job(&JobId::new(id.as_str())).await?;
            if ctx.out.json {
                ctx.out.json(&serde_json::to_value(&job)?)?
            } else {
                ctx.out.result(&describe(&job))?
            }
        }
        Jobs::Wait {
            id,
            last,
            output,
            timeout,
            no_record,
        } => {
            let (job_id, entry, remembered_output, provenance) = match (id, last) {
                (Some(id), _) => {
                    let entry = ctx
                        .history
                        .as_ref()
                        .map(|history| history.find_job(id))
                        .transpose()?
                        .flatten();
                    let provenance = entry.as_ref().map(Provenance::of_entry).unwrap_or_default();
                    (
                        JobId::new(id.as_str()),
                        entry.as_ref().map(|entry| entry.entry.clone()),
                        entry.and_then(|entry| entry.output),
                        provenance,
                    )
                }
                (None, _) => {
                    let _ = last;
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
                .clone()
                .or(remembered_output.map(std::path::PathBuf::from));
            super::ensure_writable(output.as_deref())?;
            if entry.is_some() {
                ctx.ensure_history_writable()?;
            }
            let finished = finish_job(
                ctx,
                &job_id,
                output.as_deref(),
                Duration::from_secs(*timeout),
                entry.as_deref(),
                (!no_record).then_some(&provenance),
            )
            .await?;
            super::generate::report(ctx, &finished)?;
        }
        Jobs::List { status, limit } => {
            let mut filter = JobFilter::default().with_page_size((*limit).clamp(1, 100) as u32);
            if let Some(status) = status {
                filter = filter.with_status(JobStatus::from(status.as_str()));
            }
            let jobs: Vec<Job> = ctx.client.jobs(filter).take(*limit).try_collect().await?;
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
        }
        Jobs::Cancel { id } => {
            let job = ctx.client.cancel(&JobId::new(id.as_str())).await?;
            if ctx.out.json {
                ctx.out.json(&serde_json::to_value(&job)?)?
            } else {
                ctx.out.result(&describe(&job))?
            }
        }
        Jobs::History {
            limit,
            since,
            status,
            model,
        } => {
            let Some(history) = &ctx.history else {
                ctx.out.note("--sandbox keeps no history");
                return Ok(());
            };
            let entries = history.query(&Query {
                since: *since,
                status: status.clone(),
                model: model.clone(),
                limit: Some(*limit),
            })?;
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
        }
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
        let since = kling_types::time::parse_iso8601(&entry.submitted_at)
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
