//! `kling generate`: read the model's flags, show every problem at once before anything
//! is sent, upload local images, record the submit in the history, submit, then wait
//! and download (or print the job id with `--no-wait`, or the cost with `--dry-run`).

use std::time::Duration;

use anyhow::Context as _;
use clap::ArgMatches;
use serde_json::{Value, json};

use super::{Ctx, finish_job, unless_interrupted};
use crate::cli::Generate;
use crate::history::{EventKind, History};
use crate::output::Output;
use crate::params;

/// A request read from the flags and validated: nothing was sent yet.
pub(crate) struct Prepared {
    model: &'static kling_types::ModelInfo,
    body: Value,
    uploads: Vec<(String, std::path::PathBuf, kling_types::FileKind)>,
}

/// Reads the model's flags and shows every problem at once, named by flag, before
/// anything is set up, uploaded or sent; warnings are shown and do not block.
pub(crate) fn prepare(
    out: &Output,
    args: &Generate,
    matches: &ArgMatches,
) -> anyhow::Result<Prepared> {
    let model = kling_types::find_model(&args.model).ok_or_else(|| {
        let known: Vec<&str> = kling_types::MODELS.iter().map(|model| model.id).collect();
        crate::exit::usage(format!(
            "unknown model `{}`: use one of {}",
            args.model,
            known.join(", ")
        ))
    })?;
    let request = params::request(model, kling_types::MODELS, matches);
    let body = Value::Object(request.body);
    // In messages, parameters go by their flags: `startImage` is `--start-image`.
    let flag_of = |json_name: &str| params::flag_of(model, json_name);
    let named = |finding: &kling_types::Finding| {
        let index = &finding.field[finding.parameter().len()..];
        format!(
            "{}{index} {}",
            flag_of(finding.parameter()),
            finding.message_naming(flag_of)
        )
    };
    let rank = |finding: &kling_types::Finding| {
        model
            .params
            .iter()
            .position(|param| param.json_name == finding.parameter())
            .unwrap_or(model.params.len())
    };
    // What the flags themselves got wrong is already said: the model's findings about
    // those parameters (or naming them: "needs `startImage`") would be about a stand-in
    // or a value left out.
    let about_flagged = |finding: &kling_types::Finding| {
        [
            Some(finding.parameter()),
            Some(finding.field.as_str()),
            finding.other.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|name| request.flagged.contains(name))
    };
    let mut problems = request.problems;
    match (model.validate_json)(body.clone()) {
        Ok(validation) => {
            for warning in validation
                .warnings()
                .iter()
                .filter(|warning| !about_flagged(warning))
            {
                out.warn(&named(warning));
            }
            problems.extend(
                validation
                    .problems()
                    .iter()
                    .filter(|problem| !about_flagged(problem))
                    .map(|problem| params::Problem {
                        rank: rank(problem),
                        text: named(problem),
                    }),
            );
        }
        // The flags' own problems say more than a request that does not decode.
        Err(_) if !problems.is_empty() => {}
        Err(error) => {
            return Err(crate::exit::usage_because(
                format!("the request does not fit {}", model.title),
                error,
            ));
        }
    }
    if !problems.is_empty() {
        // In the order of the flags in `--help` (a stable sort keeps each flag's own order).
        problems.sort_by_key(|problem| problem.rank);
        let count = problems.len();
        let title = if count == 1 {
            "the request has a problem".to_owned()
        } else {
            format!("the request has {count} problems")
        };
        let problems: Vec<String> = problems.into_iter().map(|problem| problem.text).collect();
        return Err(crate::exit::usage(format!(
            "{title} (nothing was sent):\n  {}",
            problems.join("\n  ")
        )));
    }
    Ok(Prepared {
        model,
        body,
        uploads: request.uploads,
    })
}

pub(crate) async fn run(ctx: &Ctx, args: &Generate, prepared: Prepared) -> anyhow::Result<()> {
    let Prepared {
        model,
        mut body,
        uploads,
    } = prepared;
    if args.dry_run {
        return dry_run(ctx, model, body, &uploads).await;
    }

    // Nothing is paid for that cannot be saved, or recorded.
    if !(args.no_wait && args.output.is_none()) {
        super::ensure_writable(args.output.as_deref())?;
    }
    ctx.ensure_history_writable()?;
    ctx.ensure_may_spend("kling generate")?;
    ctx.check_drift(&args.drift, &[model]).await?;
    within_budget(ctx, args, model, &body).await?;
    upload_images(ctx, &uploads, &mut body).await?;

    // Written before the answer is awaited: a crash now leaves a trace to pick up.
    let entry = History::new_entry();
    let submitted = submit(ctx, args, model, body.clone(), &entry).await?;
    let job_id = submitted.job_id().clone();
    if args.no_wait {
        if ctx.out.json {
            ctx.out.json(
                &json!({"jobId": job_id, "status": submitted.job.status, "cost": submitted.cost}),
            )?;
        } else {
            ctx.out.note(&format!(
                "started {job_id}; `kling jobs wait {job_id}` picks it up"
            ));
            ctx.out.result(job_id.as_str())?;
        }
        return Ok(());
    }

    ctx.out.note(&format!(
        "started {job_id}{}",
        submitted
            .cost
            .map(|cost| format!(" ({cost} creative units)"))
            .unwrap_or_default()
    ));
    let provenance = crate::records::Provenance {
        model: Some(model.id.to_owned()),
        request: Some(body),
        quoted_cu: submitted.cost,
    };
    let finished = finish_job(
        ctx,
        &job_id,
        args.output.as_deref(),
        Duration::from_secs(args.timeout),
        Some(&entry),
        (!args.no_record).then_some(&provenance),
    )
    .await?;
    report(ctx, &finished)
}

/// `--dry-run`: what the generation would cost, and the files that would be uploaded.
async fn dry_run(
    ctx: &Ctx,
    model: &kling_types::ModelInfo,
    body: Value,
    uploads: &[(String, std::path::PathBuf, kling_types::FileKind)],
) -> anyhow::Result<()> {
    for (pointer, path, _) in uploads {
        ctx.out.note(&format!(
            "{} would be uploaded first ({pointer})",
            path.display()
        ));
    }
    let estimate = ctx.client.estimate_json(model.id, body).await?;
    let cost = estimate.creative_units_cost.unwrap_or_default();
    if ctx.out.json {
        ctx.out.json(&json!({"model": model.id, "creativeUnitsCost": cost, "creativeUnitsDiscount": estimate.creative_units_discount, "costDetails": estimate.cost_details}))?;
    } else {
        ctx.out.result(&format!("{cost} creative units"))?;
    }
    Ok(())
}

/// Refuses a generation that costs more than `--max-cu` (or the config's `max_cu`).
async fn within_budget(
    ctx: &Ctx,
    args: &Generate,
    model: &kling_types::ModelInfo,
    body: &Value,
) -> anyhow::Result<()> {
    let max_cu = args
        .max_cu
        .or_else(|| ctx.spending.max_cu.as_ref().map(|(max, _)| *max));
    let Some(max) = max_cu else {
        return Ok(());
    };
    let cost = ctx
        .client
        .estimate_json(model.id, body.clone())
        .await?
        .creative_units_cost
        .unwrap_or_default();
    if cost > max {
        return Err(crate::exit::Failure {
            exit: crate::exit::Exit::Budget,
            message: format!(
                "this generation costs {cost} creative units, more than the {max} --max-cu allows: nothing was started"
            ),
        }
        .into());
    }
    Ok(())
}

/// Uploads the local images and puts their asset ids into the body.
async fn upload_images(
    ctx: &Ctx,
    uploads: &[(String, std::path::PathBuf, kling_types::FileKind)],
    body: &mut Value,
) -> anyhow::Result<()> {
    for (pointer, path, kind) in uploads {
        ctx.out.note(&format!("uploading {}", path.display()));
        let asset_id = unless_interrupted(
            async { Ok(ctx.client.upload_file(path, *kind).await?) },
            || {
                format!(
                    "interrupted while uploading {}: nothing was submitted",
                    path.display()
                )
            },
        )
        .await?;
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = Value::from(asset_id.as_str());
        }
    }
    Ok(())
}

/// Submits, with the history recording the submit before it leaves, then its job and cost.
async fn submit(
    ctx: &Ctx,
    args: &Generate,
    model: &kling_types::ModelInfo,
    body: Value,
    entry: &str,
) -> anyhow::Result<kling_client::Submitted> {
    let output = args.output.as_ref().map(|path| path.display().to_string());
    ctx.record(
        entry,
        EventKind::Submitting {
            model: model.id.to_owned(),
            params: body.clone(),
            output,
        },
    )?;
    let submitted = unless_interrupted(async { Ok(ctx.client.submit_json(model.id, body).await?) }, || {
        "interrupted while submitting: the job may have started; `kling jobs wait --last` finds it".to_owned()
    })
    .await?;
    let job_id = submitted.job_id().clone();
    ctx.record(
        entry,
        EventKind::Submitted {
            job_id: job_id.as_str().to_owned(),
        },
    )
    .with_context(|| {
        format!(
            "job {job_id} started but the history could not be updated (`kling jobs wait {job_id}` picks the job up)"
        )
    })?;
    if submitted.cost.is_some() {
        ctx.record(
            entry,
            EventKind::Cost {
                quoted_cu: submitted.cost,
                charged_cu: None,
            },
        )?;
    }
    if submitted.recovered {
        ctx.out.note(&format!(
            "the API's answer was lost; found job {job_id} instead of starting a second one"
        ));
    }
    Ok(submitted)
}

/// Prints a finished job: its files, or JSON.
pub(crate) fn report(ctx: &Ctx, finished: &super::Finished) -> anyhow::Result<()> {
    if ctx.out.json {
        let asset_ids = finished
            .job
            .metadata
            .as_ref()
            .map(|metadata| metadata.asset_ids.clone())
            .unwrap_or_default();
        let files: Vec<String> = finished
            .files
            .iter()
            .map(|file| file.display().to_string())
            .collect();
        ctx.out.json(&json!({"jobId": finished.job.job_id, "status": finished.job.status, "assetIds": asset_ids, "files": files}))?;
    } else {
        for file in &finished.files {
            ctx.out.result(&file.display().to_string())?;
        }
    }
    Ok(())
}
