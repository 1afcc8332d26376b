//! `kling batch FILE.jsonl`: many generations with bounded concurrency, resumable.
//!
//! A journal (`.kling-batch.jsonl` in the output folder, append-only) records each line
//! before it is submitted, its job once known, and its files once downloaded. A rerun
//! reads it and, per line: skips what is done; waits for and downloads what was
//! submitted; looks for the job of a submit whose answer was lost (a crash, Ctrl-C)
//! and adopts it, submitting again only when no job was started; submits the rest.
//! Nothing is submitted twice. Bad lines are reported with their number and do not
//! stop the others. `report.json` in the output folder tells what happened to each line.

use std::collections::BTreeMap;
use std::hash::{Hash as _, Hasher as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kling_client::WaitOptions;
use kling_types::JobId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Ctx, download_all, unless_interrupted};
use crate::cli::Batch;
use crate::exit::{Exit, Failure};

const JOURNAL: &str = ".kling-batch.jsonl";
const REPORT: &str = "report.json";
const DEFAULT_MODEL: &str = "model_kling-v1-6-pro";

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    line: usize,
    /// A hash of the line's text: a line that changed is not mistaken for the old one.
    hash: String,
    at: String,
    #[serde(flatten)]
    event: Event,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
enum Event {
    Submitting,
    #[serde(rename_all = "camelCase")]
    Submitted {
        job_id: String,
    },
    Done {
        files: Vec<String>,
    },
    Failed {
        reason: String,
    },
}

/// What the journal knows of a line.
#[derive(Clone, Debug, Default)]
struct Known {
    hash: String,
    submitting_at: Option<SystemTime>,
    job_id: Option<String>,
    files: Option<Vec<String>>,
    failed: Option<String>,
}

/// The journal file, shared by the tasks.
struct Journal {
    file: Mutex<std::fs::File>,
}

impl Journal {
    fn record(&self, line: &Line, event: Event) -> anyhow::Result<()> {
        let record = Record {
            line: line.number,
            hash: line.hash.clone(),
            at: kling_types::time::format_iso8601(SystemTime::now()),
            event,
        };
        let mut text = serde_json::to_string(&record)?;
        text.push('\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(text.as_bytes())?;
        // Durable before the next step: a submit must be on disk before it is sent.
        file.sync_data()?;
        Ok(())
    }
}

/// One request of the batch file.
#[derive(Clone, Debug)]
struct Line {
    number: usize,
    hash: String,
    model: String,
    params: Value,
    name: String,
}

/// What became of a line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    line: usize,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip)]
    exit: Exit,
}

impl Outcome {
    fn new(line: usize, status: &'static str, exit: Exit) -> Self {
        Self {
            line,
            status,
            job_id: None,
            files: Vec::new(),
            error: None,
            exit,
        }
    }
}

pub(crate) async fn run(ctx: &Ctx, args: &Batch) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let known = read_journal(&args.out.join(JOURNAL))?;
    let journal = Journal {
        file: Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(args.out.join(JOURNAL))
                .with_context(|| format!("cannot write the journal in {}", args.out.display()))?,
        ),
    };

    let mut outcomes = Vec::new();
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(index + 1, raw) {
            Ok(line) => lines.push(line),
            Err(error) => {
                ctx.out.warn(&format!("line {}: {error}", index + 1));
                outcomes.push(Outcome {
                    error: Some(error),
                    ..Outcome::new(index + 1, "bad", Exit::Usage)
                });
            }
        }
    }
    let total = lines.len() + outcomes.len();
    ctx.out.note(&format!(
        "{} requests from {}, {} at a time, into {}",
        lines.len(),
        args.file.display(),
        args.concurrency,
        args.out.display()
    ));

    let bar = ctx.out.animated().then(|| {
        let bar =
            ProgressBar::with_draw_target(Some(lines.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} lines  {msg}  {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let timeout = Duration::from_secs(args.timeout);
    let work = futures_util::stream::iter(lines)
        .map(|line| {
            let known = known.get(&line.number).cloned();
            let journal = &journal;
            async move { process(ctx, journal, &args.out, line, known, timeout).await }
        })
        .buffer_unordered(usize::from(args.concurrency));
    futures_util::pin_mut!(work);
    let finished = unless_interrupted(
        async {
            let mut finished = Vec::new();
            while let Some(outcome) = work.next().await {
                let message = match (&outcome.files.first(), &outcome.error) {
                    (_, Some(error)) => format!("line {}: {} ({error})", outcome.line, outcome.status),
                    (Some(file), None) => format!("line {}: {} {file}", outcome.line, outcome.status),
                    (None, None) => format!("line {}: {}", outcome.line, outcome.status),
                };
                match &bar {
                    Some(bar) => {
                        bar.inc(1);
                        if outcome.error.is_some() {
                            bar.println(message);
                        }
                    }
                    None => ctx.out.note(&message),
                }
                finished.push(outcome);
            }
            Ok(finished)
        },
        || format!("interrupted: started jobs keep running; run the same command again to pick up where this run stopped (journal: {})", args.out.join(JOURNAL).display()),
    )
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    outcomes.extend(finished?);
    outcomes.sort_by_key(|outcome| outcome.line);

    let count = |status: &str| {
        outcomes
            .iter()
            .filter(|outcome| outcome.status == status)
            .count()
    };
    let (done, skipped) = (count("done"), count("already done"));
    let failed = outcomes
        .iter()
        .filter(|outcome| outcome.exit == Exit::JobFailed)
        .count();
    let bad = count("bad");
    let unfinished = outcomes
        .iter()
        .filter(|outcome| matches!(outcome.exit, Exit::Timeout | Exit::Failure))
        .count();
    let report = json!({
        "file": args.file.display().to_string(),
        "total": total,
        "done": done + skipped,
        "failed": failed,
        "bad": bad,
        "unfinished": unfinished,
        "lines": outcomes,
    });
    let report_path = args.out.join(REPORT);
    std::fs::write(&report_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    let summary = format!(
        "{} of {total} done ({skipped} from an earlier run), {failed} failed, {bad} bad lines, {unfinished} unfinished; report: {}",
        done + skipped,
        report_path.display()
    );
    if ctx.out.json {
        ctx.out.json(&report)?
    } else {
        ctx.out.result(&summary)?
    }

    let worst = [Exit::JobFailed, Exit::Timeout, Exit::Failure, Exit::Usage]
        .into_iter()
        .find(|exit| outcomes.iter().any(|outcome| outcome.exit == *exit));
    match worst {
        None => Ok(()),
        Some(exit) => {
            let missing = total - done - skipped;
            Err(Failure {
                exit,
                message: format!(
                    "{missing} of {total} lines are not done: see {}",
                    report_path.display()
                ),
            }
            .into())
        }
    }
}

fn parse_line(number: usize, raw: &str) -> Result<Line, String> {
    let value: Value = serde_json::from_str(raw).map_err(|error| format!("not JSON: {error}"))?;
    let Value::Object(mut fields) = value else {
        return Err("not a JSON object".to_owned());
    };
    let model = match fields.remove("model") {
        None => DEFAULT_MODEL.to_owned(),
        Some(Value::String(model)) => model,
        Some(_) => return Err("`model` must be a string".to_owned()),
    };
    let name = match fields.remove("name") {
        None => None,
        Some(Value::String(name))
            if !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".." =>
        {
            Some(name)
        }
        Some(_) => return Err("`name` must be a plain file name (no folders)".to_owned()),
    };
    let model_info =
        kling_types::find_model(&model).ok_or_else(|| format!("unknown model `{model}`"))?;
    let params = Value::Object(fields.into_iter().collect::<Map<String, Value>>());
    let validation =
        (model_info.validate_json)(params.clone()).map_err(|error| error.to_string())?;
    if !validation.is_valid() {
        let problems: Vec<String> = validation
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        return Err(problems.join("; "));
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    raw.trim().hash(&mut hasher);
    Ok(Line {
        number,
        hash: format!("{:016x}", hasher.finish()),
        model,
        params,
        name: name.unwrap_or_else(|| format!("line-{number:04}")),
    })
}

fn read_journal(path: &Path) -> anyhow::Result<BTreeMap<usize, Known>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot read the journal {}", path.display()));
        }
    };
    let mut known: BTreeMap<usize, Known> = BTreeMap::new();
    // A line cut by a crash does not parse: skip it.
    for record in text
        .lines()
        .filter_map(|line| serde_json::from_str::<Record>(line).ok())
    {
        let entry = known.entry(record.line).or_default();
        if entry.hash != record.hash {
            *entry = Known {
                hash: record.hash.clone(),
                ..Known::default()
            };
        }
        match record.event {
            Event::Submitting => entry.submitting_at = kling_types::time::parse_iso8601(&record.at),
            Event::Submitted { job_id } => entry.job_id = Some(job_id),
            Event::Done { files } => entry.files = Some(files),
            Event::Failed { reason } => entry.failed = Some(reason),
        }
    }
    Ok(known)
}

async fn process(
    ctx: &Ctx,
    journal: &Journal,
    out_dir: &Path,
    line: Line,
    known: Option<Known>,
    timeout: Duration,
) -> Outcome {
    let number = line.number;
    let known = known
        .filter(|known| known.hash == line.hash)
        .unwrap_or_default();
    match step(ctx, journal, out_dir, &line, known, timeout).await {
        Ok(outcome) => outcome,
        Err(error) => {
            let exit = crate::exit::exit_for(&error);
            let job_id = error.chain().find_map(|cause| {
                cause
                    .downcast_ref::<kling_client::Error>()
                    .and_then(|error| error.job_id().map(ToString::to_string))
            });
            if exit == Exit::JobFailed {
                let _ = journal.record(
                    &line,
                    Event::Failed {
                        reason: error.to_string(),
                    },
                );
            }
            let status = match exit {
                Exit::JobFailed => "failed",
                Exit::Timeout => "unfinished",
                _ => "error",
            };
            Outcome {
                job_id,
                error: Some(format!("{error:#}")),
                ..Outcome::new(number, status, exit)
            }
        }
    }
}

async fn step(
    ctx: &Ctx,
    journal: &Journal,
    out_dir: &Path,
    line: &Line,
    known: Known,
    timeout: Duration,
) -> anyhow::Result<Outcome> {
    if let Some(files) = known
        .files
        .filter(|files| files.iter().all(|file| Path::new(file).exists()))
    {
        return Ok(Outcome {
            job_id: known.job_id,
            files,
            ..Outcome::new(line.number, "already done", Exit::Success)
        });
    }
    if let Some(reason) = known.failed {
        return Ok(Outcome {
            job_id: known.job_id,
            error: Some(reason),
            ..Outcome::new(line.number, "failed", Exit::JobFailed)
        });
    }
    let job_id = match (known.job_id, known.submitting_at) {
        (Some(job_id), _) => job_id,
        (None, Some(at)) => {
            // Submitted by an earlier run whose answer never came: find that job first.
            let since = at
                .checked_sub(Duration::from_secs(60))
                .unwrap_or(SystemTime::UNIX_EPOCH);
            match ctx
                .client
                .recover_submitted(&line.model, &line.params, since)
                .await?
            {
                Some(job) => {
                    journal.record(
                        line,
                        Event::Submitted {
                            job_id: job.job_id.as_str().to_owned(),
                        },
                    )?;
                    job.job_id.into_string()
                }
                None => submit(ctx, journal, line).await?,
            }
        }
        (None, None) => submit(ctx, journal, line).await?,
    };
    let job_id = JobId::new(job_id);
    let options = WaitOptions::default().with_deadline(timeout);
    let job = ctx.client.wait(&job_id, options).await?;
    let asset_ids = job
        .metadata
        .map(|metadata| metadata.asset_ids)
        .unwrap_or_default();
    let dir: PathBuf = out_dir.join("");
    let files = download_all(
        ctx,
        &ctx.out.silent(),
        &line.name,
        &asset_ids,
        Some(&dir),
        None,
    )
    .await?;
    let files: Vec<String> = files
        .iter()
        .map(|file| file.display().to_string())
        .collect();
    journal.record(
        line,
        Event::Done {
            files: files.clone(),
        },
    )?;
    Ok(Outcome {
        job_id: Some(job_id.into_string()),
        files,
        ..Outcome::new(line.number, "done", Exit::Success)
    })
}

async fn submit(ctx: &Ctx, journal: &Journal, line: &Line) -> anyhow::Result<String> {
    journal.record(line, Event::Submitting)?;
    let submitted = ctx
        .client
        .submit_json(&line.model, line.params.clone())
        .await?;
    let job_id = submitted.job_id().as_str().to_owned();
    journal.record(
        line,
        Event::Submitted {
            job_id: job_id.clone(),
        },
    )?;
    Ok(job_id)
}
