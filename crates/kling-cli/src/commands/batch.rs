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

/// A record on its way to the journal, and who waits for it to be on disk.
type Pending = (String, tokio::sync::oneshot::Sender<std::io::Result<()>>);

/// The journal file, written by a thread of its own with group commit: the records
/// that arrive while one `fsync` runs are written together and made durable by the
/// next, and each task waits for its own record without holding up the runtime
/// (64 jobs at a time make 3 records each, one `fsync` apiece before this).
struct Journal {
    records: std::sync::mpsc::Sender<Pending>,
}

impl Journal {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write the journal {}", path.display()))?;
        let (records, queue) = std::sync::mpsc::channel::<Pending>();
        std::thread::Builder::new()
            .name("kling-journal".to_owned())
            .spawn(move || {
                // Ends when the journal is dropped (every sender gone).
                while let Ok(first) = queue.recv() {
                    let group: Vec<Pending> =
                        std::iter::once(first).chain(queue.try_iter()).collect();
                    let text: String = group.iter().map(|(text, _)| text.as_str()).collect();
                    let written = file
                        .write_all(text.as_bytes())
                        .and_then(|()| file.sync_data());
                    for (_, durable) in group {
                        let _ = durable.send(match &written {
                            Ok(()) => Ok(()),
                            Err(error) => Err(std::io::Error::new(error.kind(), error.to_string())),
                        });
                    }
                }
            })
            .context("cannot start the journal's writer")?;
        Ok(Self { records })
    }

    /// Appends a record; returns once it is on disk.
    async fn record(&self, line: &Line, event: Event) -> anyhow::Result<()> {
        let record = Record {
            line: line.number,
            hash: line.hash.clone(),
            at: kling_types::time::format_iso8601(SystemTime::now()),
            event,
        };
        let mut text = serde_json::to_string(&record)?;
        text.push('\n');
        let (durable, written) = tokio::sync::oneshot::channel();
        let stopped = || anyhow::anyhow!("the batch journal's writer stopped");
        self.records.send((text, durable)).map_err(|_| stopped())?;
        written
            .await
            .map_err(|_| stopped())?
            .context("cannot write the batch journal")
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
    let journal = Journal::open(&args.out.join(JOURNAL))?;

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
                let _ = journal
                    .record(
                        &line,
                        Event::Failed {
                            reason: error.to_string(),
                        },
                    )
                    .await;
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
                    journal
                        .record(
                            line,
                            Event::Submitted {
                                job_id: job.job_id.as_str().to_owned(),
                            },
                        )
                        .await?;
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
    journal
        .record(
            line,
            Event::Done {
                files: files.clone(),
            },
        )
        .await?;
    Ok(Outcome {
        job_id: Some(job_id.into_string()),
        files,
        ..Outcome::new(line.number, "done", Exit::Success)
    })
}

async fn submit(ctx: &Ctx, journal: &Journal, line: &Line) -> anyhow::Result<String> {
    journal.record(line, Event::Submitting).await?;
    let submitted = ctx
        .client
        .submit_json(&line.model, line.params.clone())
        .await?;
    let job_id = submitted.job_id().as_str().to_owned();
    journal
        .record(
            line,
            Event::Submitted {
                job_id: job_id.clone(),
            },
        )
        .await?;
    Ok(job_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(number: usize) -> Line {
        Line {
            number,
            hash: format!("hash{number}"),
            model: DEFAULT_MODEL.to_owned(),
            params: json!({"prompt": format!("clip {number}")}),
            name: format!("line-{number:04}"),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn records_of_many_tasks_at_once_each_reach_the_journal_once() {
        let dir = std::env::temp_dir().join(format!("kling-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(JOURNAL);
        let journal = Journal::open(&path).unwrap();
        let lines: Vec<Line> = (1..=200).map(line).collect();
        let written = futures_util::future::join_all(
            lines
                .iter()
                .map(|line| journal.record(line, Event::Submitting)),
        )
        .await;
        assert!(written.iter().all(Result::is_ok));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 200, "one line per record");
        let known = read_journal(&path).unwrap();
        assert_eq!(
            known.keys().copied().collect::<Vec<_>>(),
            (1..=200).collect::<Vec<_>>()
        );
        assert!(known.values().all(|known| known.submitting_at.is_some()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "current_thread")]
    async fn a_record_that_cannot_be_written_is_an_error_for_its_task() {
        // Every write to /dev/full fails with "No space left on device".
        let journal = Journal::open(Path::new("/dev/full")).unwrap();
        let error = journal
            .record(&line(1), Event::Submitting)
            .await
            .unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.starts_with("cannot write the batch journal: No space left on device"),
            "{message}"
        );
    }
}
