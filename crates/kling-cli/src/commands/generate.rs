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
    uploads: Vec<(String, std::path::PathBuf)>,
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
    let params = params::params();
    let request = params::request(model, &params, matches);
    let body = Value::Object(request.body);
    // In messages, parameters go by their flags: `startImage` is `--start-image`.
    let in_flags = |text: &str| {
        params.iter().fold(text.to_owned(), |text, param| {
            text.replace(
                &format!("`{}`", param.json_name),
                &format!("--{}", param.flag),
            )
        })
    };
    let flag_of = |field: &str| {
        let json_name = field.split('[').next().unwrap_or(field);
        params
            .iter()
            .find(|param| param.json_name == json_name)
            .map_or_else(
                || field.to_owned(),
                |param| format!("--{}{}", param.flag, &field[json_name.len()..]),
            )
    };
    // What the flags themselves got wrong is already said: the model's findings about
    // those parameters (or naming them: "needs `startImage`") would be about a stand-in
    // or a value left out.
    let about_flagged = |finding: &kling_types::Finding| {
        let field = finding.field.split('[').next().unwrap_or(&finding.field);
        request.flagged.iter().any(|flagged| {
            flagged == field
                || *flagged == finding.field
                || finding.message.contains(&format!("`{flagged}`"))
        })
    };
    let mut problems = request.problems;
    match (model.validate_json)(body.clone()) {
        Ok(validation) => {
            for warning in validation
                .warnings()
                .iter()
                .filter(|warning| !about_flagged(warning))
            {
                out.warn(&format!(
                    "{} {}",
                    flag_of(&warning.field),
                    in_flags(&warning.message)
                ));
            }
            problems.extend(
                validation
                    .problems()
                    .iter()
                    .filter(|problem| !about_flagged(problem))
                    .map(|problem| {
                        format!("{} {}", flag_of(&problem.field), in_flags(&problem.message))
                    }),
            );
        }
        // The flags' own problems say more than a request that does not decode.
        Err(_) if !problems.is_empty() => {}
        Err(error) => {
            return Err(crate::exit::usage(format!(
                "the request does not fit {}: {}",
                model.title,
                in_flags(&error.to_string())
            )));
        }
    }
    if !problems.is_empty() {
        // In the order of the flags in `--help`.
        let rank = |problem: &String| {
            params
                .iter()
                .position(|param| {
                    problem
                        .strip_prefix(&format!("--{}", param.flag))
                        .is_some_and(|rest| rest.starts_with([' ', '[', ':']))
                })
                .unwrap_or(params.len())
        };
        problems.sort_by_key(rank);
        let count = problems.len();
        let title = if count == 1 {
            "the request has a problem".to_owned()
        } else {
            format!("the request has {count} problems")
        };
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
        for (pointer, path) in &uploads {
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
        return Ok(());
    }

    // Nothing is paid for that cannot be saved, or recorded.
    if !(args.no_wait && args.output.is_none()) {
        super::ensure_writable(args.output.as_deref())?;
    }
    ctx.ensure_history_writable()?;
    ctx.ensure_may_spend("kling generate")?;
    let max_cu = args
        .max_cu
        .or_else(|| ctx.spending.max_cu.as_ref().map(|(max, _)| *max));
    if let Some(max) = max_cu {
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
    }

    for (pointer, path) in &uploads {
        ctx.out.note(&format!("uploading {}", path.display()));
        let asset_id =
            unless_interrupted(async { Ok(ctx.client.upload_image(path).await?) }, || {
                format!(
                    "interrupted while uploading {}: nothing was submitted",
                    path.display()
                )
            })
            .await?;
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = Value::from(asset_id.as_str());
        }
    }

    // Written before the answer is awaited: a crash now leaves a trace to pick up.
    let entry = History::new_entry();
    let output = args.output.as_ref().map(|path| path.display().to_string());
    ctx.record(
        &entry,
        EventKind::Submitting {
            model: model.id.to_owned(),
            params: body.clone(),
            output: output.clone(),
        },
    )?;
    let submitted = unless_interrupted(async { Ok(ctx.client.submit_json(model.id, body.clone()).await?) }, || {
        "interrupted while submitting: the job may have started; `kling jobs wait --last` finds it".to_owned()
    })
    .await?;
    let job_id = submitted.job_id().clone();
    ctx.record(
        &entry,
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
            &entry,
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
