//! `kling rerun RECORD…`: the exact requests of earlier outputs, submitted again as new
//! jobs. Every record is read and checked, and the whole cost shown, before anything is
//! sent; the spending controls of `kling batch` apply (`--dry-run`, `--max-cu`, the
//! confirmation above `confirm_above_cu`, `--yes`, `KLING_NO_SPEND`). Jobs are all
//! submitted, then waited for one after the other (they run side by side on the server),
//! each downloaded beside its record as `NAME-JOB_ID.mp4` with a record of its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::{Ctx, finish_job, unless_interrupted};
use crate::cli::Rerun;
use crate::exit::{Exit, Failure};
use crate::history::{EventKind, History};
use crate::records::{self, Provenance, Record};

/// A record to run again, checked.
struct Rerunnable {
    path: PathBuf,
    model: &'static str,
    request: Value,
    /// Where its new output goes (without the job id yet): `DIR/NAME`.
    stem: PathBuf,
    quote: f64,
}

/// `kling rerun`: checks every record and quotes the total before anything is sent,
/// then submits them all and waits for each in turn.
pub(crate) async fn run(ctx: &Ctx, args: &Rerun) -> anyhow::Result<()> {
    let mut reruns = Vec::with_capacity(args.records.len());
    for path in &args.records {
        reruns.push(checked(ctx, path, args.out.as_deref())?);
    }
    let total = quote(ctx, &mut reruns).await?;
    if args.dry_run {
        return report_dry_run(ctx, &reruns, total);
    }
    may_start(ctx, args, &reruns, total).await?;
    let mut started = Vec::with_capacity(reruns.len());
    for rerun in &reruns {
        started.push(submit(ctx, rerun).await?);
    }
    let files = finish(ctx, args, &reruns, &started).await?;
    if ctx.out.json {
        ctx.out.json(&json!({"jobIds": started.iter().map(|(job_id, _, _)| job_id.as_str()).collect::<Vec<_>>(), "files": files}))?;
    }
    Ok(())
}

/// Asks the API for each rerun's cost, notes each, and returns their total.
async fn quote(ctx: &Ctx, reruns: &mut [Rerunnable]) -> anyhow::Result<f64> {
    for rerun in reruns.iter_mut() {
        rerun.quote = ctx
            .client
            .estimate_json(rerun.model, rerun.request.clone())
            .await
            .with_context(|| format!("cannot estimate the cost of {}", rerun.path.display()))?
            .creative_units_cost
            .unwrap_or(0.0);
    }
    for rerun in reruns.iter() {
        ctx.out.note(&format!(
            "{}: {} CU ({})",
            rerun.path.display(),
            rerun.quote,
            rerun.model
        ));
    }
    Ok(reruns.iter().fold(0.0, |total, rerun| total + rerun.quote))
}

/// `--dry-run`: what would start, and for how much; nothing is sent.
fn report_dry_run(ctx: &Ctx, reruns: &[Rerunnable], total: f64) -> anyhow::Result<()> {
    let jobs = reruns.len();
    if ctx.out.json {
        let lines: Vec<Value> = reruns
            .iter()
            .map(|rerun| json!({"record": rerun.path.display().to_string(), "model": rerun.model, "quotedCu": rerun.quote}))
            .collect();
        ctx.out.json(
            &json!({"dryRun": true, "wouldStart": jobs, "estimatedCu": total, "records": lines}),
        )?;
    } else {
        ctx.out.result(&format!(
            "{jobs} jobs would start for {total} creative units (nothing was started)"
        ))?;
    }
    Ok(())
}

/// The checks before anything is paid for: every output can be saved and recorded,
/// spending is on, the models did not drift, `--max-cu` allows the total and, above
/// `confirm_above_cu` on a terminal, the user said yes.
async fn may_start(
    ctx: &Ctx,
    args: &Rerun,
    reruns: &[Rerunnable],
    total: f64,
) -> anyhow::Result<()> {
    let jobs = reruns.len();
    // Nothing is paid for that cannot be saved, or recorded.
    for rerun in reruns {
        super::ensure_writable(Some(&rerun.stem.with_extension("mp4")))?;
    }
    ctx.ensure_history_writable()?;
    ctx.ensure_may_spend("kling rerun")?;
    let models: Vec<&'static kling_types::ModelInfo> = reruns
        .iter()
        .filter_map(|rerun| kling_types::find_model(rerun.model))
        .collect();
    ctx.check_drift(&args.drift, &models).await?;
    let max_cu = args
        .max_cu
        .or_else(|| ctx.spending.max_cu.as_ref().map(|(max, _)| *max));
    if let Some(max) = max_cu.filter(|max| total > *max) {
        return Err(Failure {
            exit: Exit::Budget,
            message: format!(
                "these {jobs} reruns cost {total} creative units, more than the {max} --max-cu allows: nothing was started"
            ),
        }
        .into());
    }
    if !args.yes && ctx.out.can_ask() && total > ctx.spending.confirm_above_cu {
        let question = format!(
            "{jobs} new jobs for about {total} creative units (above confirm_above_cu = {}). Start them?",
            ctx.spending.confirm_above_cu
        );
        if !ctx.out.ask(&question)? {
            return Err(crate::exit::usage("nothing was started (answered no)"));
        }
    }
    Ok(())
}

/// Waits for each started job in turn and downloads it beside its record as
/// `NAME-JOB_ID.mp4` (with a record of its own unless `--no-record`); the files, as shown.
async fn finish(
    ctx: &Ctx,
    args: &Rerun,
    reruns: &[Rerunnable],
    started: &[(kling_types::JobId, String, Option<f64>)],
) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    for (rerun, (job_id, entry, quoted)) in reruns.iter().zip(started) {
        let output = PathBuf::from(format!("{}-{job_id}.mp4", rerun.stem.display()));
        let provenance = Provenance {
            model: Some(rerun.model.to_owned()),
            request: Some(rerun.request.clone()),
            quoted_cu: *quoted,
        };
        let finished = finish_job(
            ctx,
            job_id,
            Some(&output),
            Duration::from_secs(args.timeout),
            Some(entry),
            (!args.no_record).then_some(&provenance),
        )
        .await?;
        for file in &finished.files {
            ctx.out.result(&file.display().to_string())?;
        }
        files.extend(finished.files.iter().map(|file| file.display().to_string()));
    }
    Ok(files)
}

/// Reads a record and checks it can be run again: it keeps its request, and its model
/// is one this kling knows (a schema that changed since is a warning).
fn checked(ctx: &Ctx, path: &Path, out: Option<&Path>) -> anyhow::Result<Rerunnable> {
    let record: Record =
        records::read(path).map_err(|error| crate::exit::usage(format!("{error:#}")))?;
    if !record.request.is_object() {
        return Err(crate::exit::usage(format!(
            "{} keeps no request (its job was not started from this machine): it cannot be rerun",
            path.display()
        )));
    }
    let model = kling_types::find_model(&record.model.id).ok_or_else(|| {
        crate::exit::usage(format!(
            "{}: this kling does not know the model `{}`: update kling",
            path.display(),
            record.model.id
        ))
    })?;
    let now = records::schema_digest(model.id);
    if record.model.schema_sha256.is_some() && record.model.schema_sha256 != now {
        ctx.out.warn(&format!(
            "{}: the schema of {} changed since this record was written: the request is sent as it was, and the API may read it differently",
            path.display(),
            model.id
        ));
    }
    let dir = out.map(Path::to_path_buf).unwrap_or_else(|| {
        path.parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    Ok(Rerunnable {
        path: path.to_path_buf(),
        model: model.id,
        request: record.request,
        stem: dir.join(records::stem_of(path)),
        quote: 0.0,
    })
}

/// Submits one rerun, recorded in the ledger first: its job, ledger entry and quote.
async fn submit(
    ctx: &Ctx,
    rerun: &Rerunnable,
) -> anyhow::Result<(kling_types::JobId, String, Option<f64>)> {
    let entry = History::new_entry();
    ctx.record(
        &entry,
        EventKind::Submitting {
            model: rerun.model.to_owned(),
            params: rerun.request.clone(),
            // A folder: `kling jobs wait` names the file after the job.
            output: rerun
                .stem
                .parent()
                .map(|dir| dir.join("").display().to_string()),
        },
    )?;
    let submitted = unless_interrupted(
        async {
            Ok(ctx
                .client
                .submit_json(rerun.model, rerun.request.clone())
                .await?)
        },
        || "interrupted while submitting: the job may have started; `kling jobs wait --last` finds it".to_owned(),
    )
    .await?;
    let job_id = submitted.job_id().clone();
    ctx.record(
        &entry,
        EventKind::Submitted {
            job_id: job_id.as_str().to_owned(),
        },
    )?;
    if submitted.cost.is_some() {
        ctx.record(
            &entry,
            EventKind::Cost {
                quoted_cu: submitted.cost,
                charged_cu: None,
            },
        )?;
    }
    ctx.out
        .note(&format!("started {job_id} from {}", rerun.path.display()));
    Ok((job_id, entry, submitted.cost))
}
