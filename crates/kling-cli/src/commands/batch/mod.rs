//! `kling batch FILE.jsonl`: many generations, resumable, within the team's limits and
//! the user's budget.
//!
//! A run: read the file ([`input`]: each line known by its request), lock the output
//! folder and read its journal ([`journal`]), plan each line from what the journal
//! knows (done, failed, running, maybe submitted, new), estimate what it will cost when
//! a budget or a confirmation needs it, then run a scheduler: new submits leave as the
//! [`window::Window`] admits them (the team's parallel-job limit, learned), every job
//! in flight is watched by one [`kling_client::JobBoard`] (one job-list request per
//! tick), outputs are downloaded and the line recorded done. A failure a retry can fix
//! sends the line back to the queue with backoff until its `--timeout`; only failures
//! no retry fixes end it. `report.json` tells what became of every line, with its cost.

mod gallery;
mod input;
mod journal;
mod records;
mod uploads;
mod window;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use kling_client::WaitOptions;
use kling_types::JobId;
use kling_types::api::Job;
use serde::Serialize;
use serde_json::json;

use self::input::Line;
use self::journal::{Event, Journal, Known};
use self::uploads::Uploads;
use self::window::Window;
use super::{Ctx, download_outputs, unless_interrupted};
use crate::cli::Batch;
use crate::exit::{Exit, Failure};
use crate::history::{EventKind, History};
use crate::output::{BatchCounts, BatchProgress};

const REPORT: &str = "report.json";
/// The longest pause before a line that failed is tried again.
const MAX_REQUEUE_PAUSE: Duration = Duration::from_secs(60);

/// Where a line ended (in `report.json`, `status`), or stands in a dry run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineStatus {
    /// Its outputs were saved by this run.
    Done,
    /// Done by an earlier run, its files still there.
    AlreadyDone,
    /// Its job failed or was canceled (now or in an earlier run).
    Failed,
    /// Not a request (not JSON, not valid for its model, …).
    Bad,
    /// Not submitted: it would have gone past `--max-cu`.
    NotStartedBudget,
    /// Not submitted: an earlier submit met a refusal it would meet too.
    NotStarted,
    /// A request of the journal the file no longer has, whose job was started.
    Removed,
    /// Left for the next run: its time ran out, or nothing more could be saved.
    Unfinished,
    /// Ended by an error no retry fixes (validation, credentials, …).
    Error,
    /// `--dry-run`: would be submitted.
    WouldStart,
    /// `--dry-run`: its job is running (or its lost submit is looked for).
    Running,
}

impl LineStatus {
    /// As `report.json` and the progress lines write it.
    fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::AlreadyDone => "already done",
            Self::Failed => "failed",
            Self::Bad => "bad",
            Self::NotStartedBudget => "not started: budget",
            Self::NotStarted => "not started",
            Self::Removed => "removed",
            Self::Unfinished => "unfinished",
            Self::Error => "error",
            Self::WouldStart => "would start",
            Self::Running => "running",
        }
    }
}

impl Serialize for LineStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for LineStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of a line (or of a request the file no longer has).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    /// Its position in the file (absent for a removed request).
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    status: LineStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quoted_cu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    charged_cu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip)]
    exit: Exit,
}

impl Outcome {
    fn of(task: &Task, status: LineStatus, exit: Exit) -> Self {
        Self {
            line: Some(task.line.number),
            status,
            name: Some(task.name.clone()),
            job_id: task.known().job_id.clone(),
            files: task.known().files.clone().unwrap_or_default(),
            quoted_cu: task.known().quoted_cu,
            charged_cu: task.known().charged_cu,
            error: None,
            exit,
        }
    }

    fn bad(number: usize, reason: String) -> Self {
        Self {
            line: Some(number),
            status: LineStatus::Bad,
            name: None,
            job_id: None,
            files: Vec::new(),
            quoted_cu: None,
            charged_cu: None,
            error: Some(reason),
            exit: Exit::Usage,
        }
    }

    fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// Where a line stands in this run.
#[derive(Clone, Debug)]
enum Stage {
    /// Nothing of it reached the API: submit it (when the window and the budget agree).
    Submit,
    /// A submit may have started a job whose answer was lost: look for that job first.
    Recover { since: SystemTime },
    /// Its job runs (we have the job as the submit answered, or only its id).
    Wait {
        job: Option<Box<Job>>,
        job_id: String,
    },
    /// Its job succeeded: download its outputs.
    Download { job: Box<Job> },
}

/// One line on its way through the run.
#[derive(Debug)]
struct Task {
    line: Line,
    /// The name of its outputs (kept in the journal: a line that moves keeps its files).
    name: String,
    /// What earlier runs knew of it, and this run learns (`None`: nothing yet, as for
    /// every line of a new batch: 8 bytes a line, not a whole [`Known`]).
    known: Option<Box<Known>>,
    stage: Stage,
    /// When this run first tried it, and how often it went back to the queue.
    first_try: Option<Instant>,
    requeues: u32,
    /// Whether it counts in the window (its submit left, its job not seen to end).
    in_window: bool,
    /// Whether its submit was admitted and has no answer yet.
    pending: bool,
}

/// What a task hands back to the scheduler.
enum Step {
    Finished(Outcome),
    /// Back to the queue, to be tried again after the pause.
    Requeue(Box<Task>, Duration),
}

/// What every task of a run shares.
struct Run<'a> {
    ctx: &'a Ctx,
    args: &'a Batch,
    journal: Journal,
    board: kling_client::JobBoard,
    window: Mutex<Window>,
    /// Wakes the scheduler when the window has room again.
    room: tokio::sync::Notify,
    budget: Mutex<Budget>,
    /// Quotes of the requests this run will submit, by request (model and parameters).
    quotes: HashMap<String, f64>,
    /// The asset id of each local file's content, uploaded before its first line leaves.
    uploads: Uploads,
    downloads: tokio::sync::Semaphore,
    /// Lines whose job succeeded and whose files are not saved yet (waiting for a
    /// download or downloading). No new submit leaves while they are `--concurrency`
    /// or more: outputs are fetched before more jobs are paid for, and a slow disk or
    /// link never piles up an unbounded number of finished lines in memory.
    saving: std::sync::atomic::AtomicUsize,
    /// Failures of a submit that every later submit would meet too: no more are sent.
    halts: Mutex<Vec<Halt>>,
    progress: BatchProgress,
    counts: Mutex<BatchCounts>,
    /// The output folder's `index.html`.
    gallery: gallery::Gallery,
    /// `KLING_BATCH_WATCH=each`: each job polled alone, as before the board (kept so
    /// that `cargo xtask bench` measures both side by side).
    watch_alone: bool,
}

/// A submit's failure that no other line would escape: the credentials, the account's
/// credit, or (for one model) a model the API or the plan does not have. Ten thousand
/// lines must not make ten thousand refused requests.
#[derive(Debug)]
struct Halt {
    /// The model it is about; `None`: every model.
    model: Option<&'static str>,
    reason: String,
    exit: Exit,
}

impl Halt {
    /// The halt an error of `model`'s submit means, if any.
    fn of(
        error: &kling_client::Error,
        model: &'static str,
        message: String,
        exit: Exit,
    ) -> Option<Self> {
        let model = match error {
            kling_client::Error::Auth { .. } | kling_client::Error::Api { status: 402, .. } => None,
            kling_client::Error::Api {
                status: 403 | 404, ..
            } => Some(model),
            _ => return None,
        };
        Some(Self {
            model,
            reason: message,
            exit,
        })
    }

    /// The halt of a full disk (or a spent quota), if that is what `error` comes from.
    fn disk_full(error: &anyhow::Error) -> Option<Self> {
        let full = error.chain().any(|cause| {
            cause.downcast_ref::<std::io::Error>().is_some_and(|error| {
                matches!(
                    error.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                )
            })
        });
        full.then(|| Self {
            model: None,
            reason: "the disk is full: free some space, then run the same command again (jobs that ended are downloaded then)".to_owned(),
            exit: Exit::Failure,
        })
    }

    fn stops(&self, line: &Line) -> bool {
        self.model.is_none_or(|model| model == line.model)
    }
}

/// What may still be spent.
#[derive(Debug)]
struct Budget {
    max: Option<f64>,
    /// Charged, or quoted for jobs not yet charged (in flight included), in every run
    /// on this folder.
    committed: f64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) async fn run(ctx: &Ctx, args: &Batch) -> anyhow::Result<()> {
    let (lines, bad) = input::read(&args.file)?;
    if args.dry_run {
        // A look, not a run: no lock, no journal written, no folder made.
        let (known, uploaded, warnings) = Journal::peek(&args.out, &lines)?;
        let uploads = Uploads::new(&uploaded);
        let (plan, outcomes, _) = plan_lines(ctx, lines, bad, known, &warnings, args);
        let quotes = estimate(ctx, &uploads, &plan.may_submit()).await?;
        return dry_run(ctx, args, &plan, &uploads, &quotes, outcomes);
    }
    // Nothing is paid for that cannot be saved, or recorded.
    super::ensure_writable(Some(&args.out.join("")))?;
    ctx.ensure_history_writable()?;
    let (journal, known, warnings) = Journal::open(&args.out, &lines)?;
    let uploads = Uploads::new(journal.uploaded());
    let (plan, mut outcomes, total) = plan_lines(ctx, lines, bad, known, &warnings, args);

    let max_cu = args
        .max_cu
        .or_else(|| ctx.spending.max_cu.as_ref().map(|(max, _)| *max));
    let to_submit = plan.to_submit().len();
    let quotes = agree_to_spend(ctx, args, &plan, &uploads, to_submit, max_cu).await?;
    ctx.out.note(&format!(
        "{} requests from {} ({} done before, {} running, {to_submit} to start), up to {} at a time, into {}",
        plan.tasks.len(),
        args.file.display(),
        plan.count(|task| task.known().files.is_some()),
        plan.count(|task| matches!(task.stage, Stage::Wait { .. } | Stage::Recover { .. })),
        args.concurrency,
        args.out.display()
    ));
    let journal_path = journal.path().to_path_buf();
    let budget = Budget {
        max: max_cu,
        committed: plan.committed,
    };
    let run = Run::new(
        ctx,
        args,
        journal,
        budget,
        (quotes, uploads),
        plan.tasks.len(),
    );
    let finished = unless_interrupted(run.schedule(plan.tasks), || {
        format!(
            "interrupted: started jobs keep running; run the same command again to pick up where this run stopped (journal: {})",
            journal_path.display()
        )
    })
    .await;
    run.progress.finish();
    run.gallery.write(&ctx.out);
    outcomes.extend(finished?);
    outcomes.sort_by_key(|outcome| (outcome.line.is_none(), outcome.line));
    report(ctx, args, total, &outcomes)
}

/// Before anything is paid for: spending is allowed (`KLING_NO_SPEND`), the API still
/// describes each model as the built-in schema does, and, on a terminal, the user agrees
/// to an estimate above `confirm_above_cu`. `to_submit`: the plan's new requests. The
/// quotes asked on the way (for the budget).
async fn agree_to_spend(
    ctx: &Ctx,
    args: &Batch,
    plan: &Plan,
    uploads: &Uploads,
    to_submit: usize,
    max_cu: Option<f64>,
) -> anyhow::Result<HashMap<String, f64>> {
    if to_submit > 0 {
        ctx.ensure_may_spend(&format!("this batch ({to_submit} new requests)"))?;
    }
    // Once per model of the run, before any line is paid for (not per line).
    let models: Vec<&'static kling_types::ModelInfo> = plan
        .may_submit()
        .iter()
        .filter_map(|line| kling_types::find_model(line.model))
        .collect();
    ctx.check_drift(&args.drift, &models).await?;
    let confirm = !args.yes && ctx.out.can_ask() && to_submit > 0;
    if max_cu.is_none() && !confirm {
        return Ok(HashMap::new());
    }
    // Lines whose lost submit may have started nothing are priced too: if their job is
    // not found, they are submitted, and the budget must know what they cost.
    let quotes = estimate(ctx, uploads, &plan.may_submit()).await?;
    let estimate_cu = plan.estimate_cu(&quotes);
    if confirm && estimate_cu > ctx.spending.confirm_above_cu {
        let question = format!(
            "{to_submit} new jobs for about {estimate_cu} creative units (above confirm_above_cu = {}). Start them?",
            ctx.spending.confirm_above_cu
        );
        if !ctx.out.ask(&question)? {
            return Err(crate::exit::usage("nothing was started (answered no)"));
        }
    }
    Ok(quotes)
}

/// The plan of a run from the file's lines and what the journal knows, with the
/// outcomes known before anything runs (lines that are not requests, requests the file
/// no longer has) and the number of lines of the file.
fn plan_lines(
    ctx: &Ctx,
    lines: Vec<Line>,
    bad: Vec<input::BadLine>,
    known: BTreeMap<String, Known>,
    warnings: &[String],
    args: &Batch,
) -> (Plan, Vec<Outcome>, usize) {
    for warning in warnings {
        ctx.out.warn(warning);
    }
    let mut outcomes: Vec<Outcome> = bad
        .into_iter()
        .map(|bad| {
            ctx.out
                .warn(&format!("line {}: {}", bad.number, bad.reason));
            Outcome::bad(bad.number, bad.reason)
        })
        .collect();
    let total = lines.len() + outcomes.len();
    // Every job the journal gives to a request (any attempt of any request) is that
    // request's: the client, which knows only the jobs of this process, must never take
    // one for the lost answer of an identical (or narrower) request, in the batch's own
    // recovery or in a submit's.
    for job_id in known
        .values()
        .flat_map(|known| known.job_id.iter().chain(&known.earlier_jobs))
    {
        ctx.client.claim(&JobId::new(job_id.clone()));
    }
    let plan = Plan::new(lines, known, args.retry_failed);
    outcomes.extend(plan.removed_outcomes());
    (plan, outcomes, total)
}

/// Each line of the file, planned from what the journal knows.
struct Plan {
    tasks: Vec<Task>,
    /// Requests of the journal the file no longer has, whose jobs were started.
    removed: Vec<Known>,
    /// What the folder's runs have spent or committed so far.
    committed: f64,
    retry_failed: bool,
}

impl Plan {
    fn new(lines: Vec<Line>, mut known: BTreeMap<String, Known>, retry_failed: bool) -> Self {
        let committed = total_cu(known.values().map(Known::cost));
        let mut used: HashSet<String> = known.values().map(|known| known.name.clone()).collect();
        let mut tasks = Vec::with_capacity(lines.len());
        for line in lines {
            let known = known.remove(&line.key).unwrap_or_default();
            let name = if known.name.is_empty() {
                let name = fresh_name(&line, &used);
                used.insert(name.clone());
                name
            } else {
                known.name.clone()
            };
            let stage = match (&known.job_id, known.submitting_at) {
                _ if known.failed.is_some() && retry_failed => Stage::Submit,
                (Some(job_id), _) => Stage::Wait {
                    job: None,
                    job_id: job_id.clone(),
                },
                (None, Some(at)) => Stage::Recover {
                    since: recover_since(at),
                },
                (None, None) => Stage::Submit,
            };
            // A lost submit is looked for by what it sent (the journal's parameters,
            // with the asset ids of then); every other line drops its copy.
            let keep_request = matches!(stage, Stage::Recover { .. });
            tasks.push(Task {
                line,
                name,
                known: (known != Known::NOTHING).then(|| {
                    Box::new(if keep_request {
                        known
                    } else {
                        known.without_request()
                    })
                }),
                stage,
                first_try: None,
                requeues: 0,
                in_window: false,
                pending: false,
            });
        }
        let removed = known
            .into_values()
            .filter(|known| known.job_id.is_some() || known.submitting_at.is_some())
            .collect();
        Self {
            tasks,
            removed,
            committed,
            retry_failed,
        }
    }

    /// The lines this run will submit (if nothing else stops them).
    fn to_submit(&self) -> Vec<&Line> {
        self.tasks
            .iter()
            .filter(|task| {
                task.ended_before(self.retry_failed).is_none()
                    && matches!(task.stage, Stage::Submit)
            })
            .map(|task| &task.line)
            .collect()
    }

    /// The lines this run may submit: those above, and those whose lost submit is looked
    /// for first (submitted again when it started nothing).
    fn may_submit(&self) -> Vec<&Line> {
        self.tasks
            .iter()
            .filter(|task| {
                task.ended_before(self.retry_failed).is_none()
                    && matches!(task.stage, Stage::Submit | Stage::Recover { .. })
            })
            .map(|task| &task.line)
            .collect()
    }

    /// What the lines this run will submit cost, by the quotes asked.
    fn estimate_cu(&self, quotes: &HashMap<String, f64>) -> f64 {
        total_cu(
            self.to_submit()
                .iter()
                .map(|line| quotes.get(&request_key(line)).copied().unwrap_or(0.0)),
        )
    }

    fn count(&self, what: impl Fn(&Task) -> bool) -> usize {
        self.tasks.iter().filter(|task| what(task)).count()
    }

    fn removed_outcomes(&self) -> Vec<Outcome> {
        self.removed
            .iter()
            .map(|known| Outcome {
                line: None,
                status: LineStatus::Removed,
                name: Some(known.name.clone()),
                job_id: known.job_id.clone(),
                files: known.files.clone().unwrap_or_default(),
                quoted_cu: known.quoted_cu,
                charged_cu: known.charged_cu,
                error: Some(format!(
                    "no longer in the file (it was line {}); its job {} was started by an earlier run",
                    known.line,
                    known.job_id.as_deref().unwrap_or("(answer lost)")
                )),
                exit: Exit::Success,
            })
            .collect()
    }
}

/// What is known of a line no run has submitted.
static NOTHING_KNOWN: Known = Known::NOTHING;

impl Task {
    /// What is known of the line so far.
    fn known(&self) -> &Known {
        self.known.as_deref().unwrap_or(&NOTHING_KNOWN)
    }

    /// What is known of the line, to learn more.
    fn known_mut(&mut self) -> &mut Known {
        self.known.get_or_insert_with(Box::default)
    }

    /// The job history's entry of its submit: an earlier run's, or a new one (made when
    /// first needed, not for every line of a large file up front).
    fn entry(&mut self) -> String {
        self.known_mut()
            .entry
            .get_or_insert_with(History::new_entry)
            .clone()
    }

    /// Done by an earlier run, with its files still there.
    fn done_before(&self) -> bool {
        self.known()
            .files
            .as_ref()
            .is_some_and(|files| files.iter().all(|file| Path::new(file).exists()))
    }

    /// How the line ended in an earlier run, if this run has nothing to do with it:
    /// done (its files still there), or failed (unless `--retry-failed`).
    fn ended_before(&self, retry_failed: bool) -> Option<Outcome> {
        if self.done_before() {
            return Some(Outcome::of(self, LineStatus::AlreadyDone, Exit::Success));
        }
        let reason = self.known().failed.as_ref().filter(|_| !retry_failed)?;
        Some(
            Outcome::of(self, LineStatus::Failed, Exit::JobFailed).with_error(format!(
                "{reason} (in an earlier run; --retry-failed starts it again, and pays again)"
            )),
        )
    }
}

/// A name for the outputs of a line the journal has not seen: its own `name` (with
/// its occurrence when identical lines repeat it), or `line-NNNN`; never one an
/// earlier request of this folder has.
fn fresh_name(line: &Line, used: &HashSet<String>) -> String {
    let occurrence = line
        .key
        .rsplit('#')
        .next()
        .and_then(|occurrence| occurrence.parse::<usize>().ok())
        .unwrap_or(1);
    let base = match &line.name {
        Some(name) if occurrence > 1 => format!("{name}-{occurrence}"),
        Some(name) => return name.clone(),
        None => format!("line-{:04}", line.number),
    };
    if !used.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !used.contains(name))
        .unwrap_or(base)
}

/// What identifies a request's price: its model and parameters (not its name).
fn request_key(line: &Line) -> String {
    format!("{} {}", line.model, line.params_json())
}

/// The price of each distinct request, asked once each (the API's dry run).
async fn estimate(
    ctx: &Ctx,
    uploads: &Uploads,
    lines: &[&Line],
) -> anyhow::Result<HashMap<String, f64>> {
    let mut distinct: BTreeMap<String, &Line> = BTreeMap::new();
    for line in lines {
        distinct.entry(request_key(line)).or_insert(line);
    }
    let quotes: Vec<(String, anyhow::Result<f64>)> = futures_util::stream::iter(distinct)
        .map(|(key, line)| async move {
            let quote = ctx
                .client
                .estimate_json(line.model, uploads.params_of(line))
                .await
                .map(|estimate| estimate.creative_units_cost.unwrap_or(0.0))
                .with_context(|| format!("cannot estimate the cost of line {}", line.number));
            (key, quote)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    quotes
        .into_iter()
        .map(|(key, quote)| quote.map(|quote| (key, quote)))
        .collect()
}

/// `--dry-run`: what each line and the batch would cost; nothing is started.
fn dry_run(
    ctx: &Ctx,
    args: &Batch,
    plan: &Plan,
    uploads: &Uploads,
    quotes: &HashMap<String, f64>,
    mut outcomes: Vec<Outcome>,
) -> anyhow::Result<()> {
    let estimate_cu = plan.estimate_cu(quotes);
    // Each content once, however many lines name it.
    let to_upload: Vec<serde_json::Value> = uploads
        .to_upload(&plan.to_submit())
        .into_iter()
        .map(|(file, lines)| {
            let numbers: Vec<String> = lines.iter().map(ToString::to_string).collect();
            let lines_word = if numbers.len() == 1 { "line" } else { "lines" };
            ctx.out.note(&format!(
                "{} would be uploaded first ({lines_word} {})",
                file.path.display(),
                numbers.join(", ")
            ));
            json!({"file": file.path.display().to_string(), "sha256": file.sha256_hex(), "lines": lines})
        })
        .collect();
    for task in &plan.tasks {
        let (status, quoted) = if let Some(ended) = task.ended_before(args.retry_failed) {
            (ended.status, None)
        } else if matches!(task.stage, Stage::Submit) {
            (
                LineStatus::WouldStart,
                quotes.get(&request_key(&task.line)).copied(),
            )
        } else {
            (LineStatus::Running, None)
        };
        let mut outcome = Outcome::of(task, status, Exit::Success);
        if quoted.is_some() {
            outcome.quoted_cu = quoted;
        }
        ctx.out.note(&format!(
            "line {} ({}): {status}{}",
            task.line.number,
            task.name,
            quoted.map(|cu| format!(", {cu} CU")).unwrap_or_default()
        ));
        outcomes.push(outcome);
    }
    outcomes.sort_by_key(|outcome| (outcome.line.is_none(), outcome.line));
    let starts = outcomes
        .iter()
        .filter(|outcome| outcome.status == LineStatus::WouldStart)
        .count();
    let summary = format!(
        "{starts} jobs would start for {estimate_cu} creative units (nothing was started; {} spent on {} so far)",
        plan.committed,
        args.out.display()
    );
    if ctx.out.json {
        ctx.out.json(&json!({
            "file": args.file.display().to_string(),
            "dryRun": true,
            "wouldStart": starts,
            "estimatedCu": estimate_cu,
            "spentCu": plan.committed,
            "uploads": to_upload,
            "lines": outcomes,
        }))?;
    } else {
        ctx.out.result(&summary)?;
    }
    Ok(())
}

impl<'a> Run<'a> {
    /// What the lines of a run share, before the first is scheduled.
    fn new(
        ctx: &'a Ctx,
        args: &'a Batch,
        journal: Journal,
        budget: Budget,
        (quotes, uploads): (HashMap<String, f64>, Uploads),
        lines: usize,
    ) -> Self {
        let spent_cu = budget.committed;
        Run {
            ctx,
            args,
            journal,
            board: ctx
                .client
                .job_board(WaitOptions::default().with_deadline(Duration::from_secs(args.timeout))),
            window: Mutex::new(Window::new(usize::from(args.concurrency))),
            room: tokio::sync::Notify::new(),
            budget: Mutex::new(budget),
            quotes,
            uploads,
            downloads: tokio::sync::Semaphore::new(
                // Whatever `--concurrency` says: a handful keeps up with any number of jobs.
                usize::from(args.concurrency).min(kling_client::TRANSFER_CONNECTIONS),
            ),
            saving: std::sync::atomic::AtomicUsize::new(0),
            halts: Mutex::new(Vec::new()),
            progress: ctx.out.batch_progress(lines),
            counts: Mutex::new(BatchCounts {
                spent_cu,
                ..BatchCounts::default()
            }),
            watch_alone: std::env::var("KLING_BATCH_WATCH").is_ok_and(|watch| watch == "each"),
            gallery: gallery::Gallery::new(args.out.clone(), args.no_gallery || args.no_record),
        }
    }
}

impl Run<'_> {
    /// The scheduler: admits new submits as the window allows, runs every line to its
    /// end, and puts lines that can be retried back in the queue.
    async fn schedule(&self, mut tasks: Vec<Task>) -> anyhow::Result<Vec<Outcome>> {
        // One outcome per line: room for them all at once, not doubled as they come
        // (10,000 lines would otherwise hold room for 16,384).
        let mut outcomes = Vec::with_capacity(tasks.len());
        let mut active = FuturesUnordered::new();
        // Later tries, by when they are due.
        let mut later: Vec<(Instant, Task)> = Vec::new();
        let retry_failed = self.args.retry_failed;
        let not_queued = tasks.extract_if(.., |task| {
            task.ended_before(retry_failed).is_some() || !matches!(task.stage, Stage::Submit)
        });
        for mut task in not_queued {
            if let Some(outcome) = task.ended_before(retry_failed) {
                outcomes.push(outcome);
            } else {
                // Its job may be running: watch it now, whatever the window says.
                self.enter_window(&mut task);
                active.push(self.process(task));
            }
        }
        // The rest wait for the window, in the file's order. Made from the plan's own
        // buffer (no copy), and given back as it drains: a file of many thousands of
        // lines is held once.
        let mut queue = VecDeque::from(tasks);
        for outcome in &outcomes {
            self.finished(outcome);
        }
        self.show(queue.len() + later.len());
        loop {
            let now = Instant::now();
            // Tries that are due go to the front of the queue.
            let (due, not_yet): (Vec<_>, Vec<_>) =
                later.into_iter().partition(|(at, _)| *at <= now);
            later = not_yet;
            for (_, task) in due.into_iter().rev() {
                queue.push_front(task);
            }
            // Admit what the window takes.
            let mut wake = later.iter().map(|(at, _)| *at).min();
            while let Some(task) = queue.front() {
                if let Some(outcome) = self.halted(task) {
                    queue.pop_front();
                    self.finished(&outcome);
                    outcomes.push(outcome);
                    continue;
                }
                let admitted = match task.stage {
                    Stage::Submit if self.saving_backlog() => Err(None),
                    Stage::Submit => lock(&self.window).admits(now),
                    _ => Ok(()),
                };
                match admitted {
                    Ok(()) => {
                        let Some(mut task) = queue.pop_front() else {
                            break;
                        };
                        if queue.len() < queue.capacity() / 4 {
                            queue.shrink_to(queue.len() * 2);
                        }
                        self.enter_window(&mut task);
                        active.push(self.process(task));
                    }
                    Err(until) => {
                        wake = match (wake, until) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        break;
                    }
                }
            }
            self.show(queue.len() + later.len());
            if active.is_empty() && queue.is_empty() && later.is_empty() {
                return Ok(outcomes);
            }
            let room = self.room.notified();
            tokio::select! {
                Some(step) = active.next() => match step {
                    Step::Finished(outcome) => {
                        self.finished(&outcome);
                        self.gallery.line_ended(&self.ctx.out);
                        outcomes.push(outcome);
                    }
                    Step::Requeue(task, pause) => later.push((Instant::now() + pause, *task)),
                },
                () = room => {}
                () = sleep_until(wake) => {}
            }
        }
    }

    /// A line that will not be submitted because an earlier submit met a failure it
    /// would meet too.
    fn halted(&self, task: &Task) -> Option<Outcome> {
        if !matches!(task.stage, Stage::Submit) {
            return None;
        }
        let halts = lock(&self.halts);
        let halt = halts.iter().find(|halt| halt.stops(&task.line))?;
        Some(
            Outcome::of(task, LineStatus::NotStarted, halt.exit).with_error(format!(
                "not submitted: an earlier submit of this run was refused ({}); fix that and run the same command again",
                halt.reason
            )),
        )
    }

    /// Whether finished lines waiting to be saved hold new submits back.
    fn saving_backlog(&self) -> bool {
        self.saving.load(std::sync::atomic::Ordering::Relaxed) >= usize::from(self.args.concurrency)
    }

    /// The task takes a slot: for a submit the window admitted, or to watch a job that
    /// may be running.
    fn enter_window(&self, task: &mut Task) {
        if !task.in_window {
            let mut window = lock(&self.window);
            if matches!(task.stage, Stage::Submit) {
                window.admit();
                task.pending = true;
            } else {
                window.adopt();
            }
            task.in_window = true;
        }
        task.first_try.get_or_insert_with(Instant::now);
    }

    /// The task's submit got its answer, or will get none: it no longer counts as pending.
    fn answered(&self, task: &mut Task, outcome: impl FnOnce(&mut Window)) {
        if task.pending {
            outcome(&mut lock(&self.window));
            task.pending = false;
            // The burst may allow another submit now.
            self.room.notify_one();
        }
    }

    /// The task's job ended (or its submit started nothing): its slot is free.
    fn leave_window(&self, task: &mut Task) {
        self.answered(task, Window::unanswered);
        if task.in_window {
            lock(&self.window).ended();
            task.in_window = false;
            self.room.notify_one();
        }
    }

    fn finished(&self, outcome: &Outcome) {
        let mut counts = lock(&self.counts);
        counts.finished += 1;
        if outcome.exit != Exit::Success {
            counts.failed += 1;
        }
        drop(counts);
        let mut message = format!("line {}: {}", outcome.line.unwrap_or(0), outcome.status);
        match (&outcome.error, outcome.files.first()) {
            (Some(error), _) => message.push_str(&format!(" ({error})")),
            (None, Some(file)) => message.push_str(&format!(" {file}")),
            (None, None) => {}
        }
        self.progress.line(&message, outcome.exit != Exit::Success);
    }

    fn show(&self, queued: usize) {
        let mut counts = lock(&self.counts);
        counts.in_flight = lock(&self.window).running();
        counts.queued = queued;
        counts.spent_cu = lock(&self.budget).committed;
        self.progress.update(*counts);
    }

    /// Runs a line until it ends or must wait in the queue.
    async fn process(&self, mut task: Task) -> Step {
        loop {
            if matches!(task.stage, Stage::Submit) && !task.pending {
                // A submit leaves only when the window admits it (after a lost answer
                // whose job was not found, say): back to the scheduler for that.
                self.leave_window(&mut task);
                return Step::Requeue(Box::new(task), Duration::ZERO);
            }
            match self.advance(&mut task).await {
                Ok(Some(outcome)) => {
                    self.leave_window(&mut task);
                    return Step::Finished(outcome);
                }
                Ok(None) => {}
                // Boxed: a failure's handling is larger than any step, and rare.
                Err(error) => return Box::pin(self.failed(task, error)).await,
            }
        }
    }

    /// One step of a line: `Some` when it ended.
    ///
    /// Each step is a future of its own, boxed: a line in flight holds only the step it
    /// is at, not room for the largest of them (at 256 lines in flight, a few kB each
    /// add up to megabytes).
    async fn advance(&self, task: &mut Task) -> anyhow::Result<Option<Outcome>> {
        match &task.stage {
            Stage::Submit => Box::pin(self.submit(task)).await,
            Stage::Recover { since } => {
                let since = *since;
                Box::pin(self.recover(task, since)).await.map(|()| None)
            }
            Stage::Wait { job, job_id } => {
                let (job, job_id) = (job.clone(), JobId::new(job_id.clone()));
                Box::pin(self.wait(task, job, job_id)).await.map(|()| None)
            }
            Stage::Download { job } => {
                let job = job.clone();
                Box::pin(self.download(task, &job)).await.map(Some)
            }
        }
    }

    /// Looks for the job of a submit whose answer was lost: waits for it when found,
    /// submits again when the submit started nothing.
    async fn recover(&self, task: &mut Task, since: SystemTime) -> anyhow::Result<()> {
        // Looked for as it was sent: the journal's parameters (the asset ids of its
        // files then), or the line's with its files' ids.
        let params = match &task.known().params {
            params @ serde_json::Value::Object(_) => params.clone(),
            _ => self.uploads.params_of(&task.line),
        };
        let found = Box::pin(
            self.ctx
                .client
                .recover_submitted(task.line.model, &params, since),
        )
        .await?;
        match found {
            Some(job) => {
                Box::pin(self.submitted(task, &job, None)).await?;
                task.stage = Stage::Wait {
                    job_id: job.job_id.as_str().to_owned(),
                    job: Some(Box::new(job)),
                };
            }
            None => {
                // The lost submit started nothing: what it committed is free again (the
                // next submit commits its quote anew).
                lock(&self.budget).committed -= task.known().quoted_cu.unwrap_or(0.0);
                task.known_mut().quoted_cu = None;
                task.known_mut().submitting_at = None;
                task.stage = Stage::Submit;
            }
        }
        Ok(())
    }

    /// Waits for the line's job to end (with the job board, or alone), and records how
    /// it ended and what it was charged.
    async fn wait(
        &self,
        task: &mut Task,
        job: Option<Box<Job>>,
        job_id: JobId,
    ) -> anyhow::Result<()> {
        if job.is_none() && task.known().entry.is_some() {
            // Resumed from the journal, which hears of a job before the history does: a
            // run killed between the two left the history without it. Telling it again
            // is harmless (the same job on the same entry).
            let submitted = EventKind::Submitted {
                job_id: job_id.as_str().to_owned(),
            };
            self.ctx.record_async(&task.entry(), submitted).await?;
        }
        let ended = match &job {
            _ if self.watch_alone => {
                let options =
                    WaitOptions::default().with_deadline(Duration::from_secs(self.args.timeout));
                Box::pin(self.ctx.client.wait(&job_id, options)).await
            }
            Some(job) => Box::pin(self.board.wait_for(job)).await,
            None => Box::pin(self.board.wait(&job_id)).await,
        };
        // Seen to end (or given up): the job no longer holds one of our slots.
        let job_ended = !matches!(
            ended,
            Err(ref error) if error.is_retryable() || matches!(error, kling_client::Error::Deadline { .. })
        );
        if job_ended {
            self.leave_window(task);
        }
        // Boxed at once: a job is large, and the records below are awaited.
        let job = Box::new(ended?);
        self.charged(task, &job);
        let finished = EventKind::Finished {
            status: job.status.to_string(),
        };
        self.ctx.record_async(&task.entry(), finished).await?;
        if task.known().charged_cu.is_some() {
            let charged = EventKind::Cost {
                quoted_cu: None,
                charged_cu: task.known().charged_cu,
            };
            self.ctx.record_async(&task.entry(), charged).await?;
        }
        task.stage = Stage::Download { job };
        Ok(())
    }

    /// Downloads the outputs of the line's job (a few at once, whatever the number in
    /// flight), then records the line done.
    async fn download(&self, task: &mut Task, job: &Job) -> anyhow::Result<Outcome> {
        let _saving = Saving::enter(self);
        let permit = self.downloads.acquire().await.ok();
        let dir: PathBuf = self.args.out.join("");
        let provenance = records::provenance_of_line(
            &task.line,
            self.uploads.params_of(&task.line),
            task.known().quoted_cu,
        );
        let files = Box::pin(download_outputs(
            self.ctx,
            &self.ctx.out.silent(),
            job,
            &task.name,
            Some(&dir),
            None,
            (!self.args.no_record).then_some(&provenance),
        ))
        .await?;
        drop(permit);
        let files: Vec<String> = files
            .iter()
            .map(|file| file.display().to_string())
            .collect();
        let done = Event::Done {
            files: files.clone(),
            charged_cu: task.known().charged_cu,
        };
        self.journal.record(&task.line.key, done).await?;
        let downloaded = EventKind::Downloaded {
            files: files.clone(),
        };
        self.ctx.record_async(&task.entry(), downloaded).await?;
        task.known_mut().files = Some(files);
        Ok(Outcome::of(task, LineStatus::Done, Exit::Success))
    }

    /// Submits a line, if the budget allows: journal first, then the request.
    async fn submit(&self, task: &mut Task) -> anyhow::Result<Option<Outcome>> {
        let quote = self.quotes.get(&request_key(&task.line)).copied();
        {
            let mut budget = lock(&self.budget);
            if let Some(max) = budget.max {
                let cost = quote.unwrap_or(0.0);
                if budget.committed + cost > max {
                    let spent = budget.committed;
                    drop(budget);
                    self.leave_window(task);
                    return Ok(Some(
                        Outcome::of(task, LineStatus::NotStartedBudget, Exit::Budget).with_error(format!(
                            "{cost} CU would take the spending to {} of the {max} CU --max-cu allows ({spent} spent or committed)",
                            spent + cost
                        )),
                    ));
                }
            }
            budget.committed += quote.unwrap_or(0.0);
        }
        // Its local files become assets first (each content once): nothing is sent
        // until every file has its asset id.
        if let Err(error) = self
            .uploads
            .upload(self.ctx, &self.journal, &task.line)
            .await
        {
            lock(&self.budget).committed -= quote.unwrap_or(0.0);
            return Err(error);
        }
        let params = self.uploads.params_of(&task.line);
        task.known_mut().quoted_cu = quote;
        task.known_mut().failed = None;
        task.known_mut().job_id = None;
        let entry = task.entry();
        self.journal
            .record(
                &task.line.key,
                Journal::submitting(&task.line, params.clone(), &task.name, quote, Some(&entry)),
            )
            .await?;
        task.known_mut().submitting_at = Some(SystemTime::now());
        self.ctx
            .record_async(
                &task.entry(),
                EventKind::Submitting {
                    model: task.line.model.to_owned(),
                    params: params.clone(),
                    output: Some(self.args.out.join(&task.name).display().to_string()),
                },
            )
            .await?;
        match self.ctx.client.submit_json(task.line.model, params).await {
            Ok(submitted) => {
                self.answered(task, Window::started);
                let job = submitted.job.clone();
                Box::pin(self.submitted(task, &job, submitted.cost)).await?;
                task.stage = Stage::Wait {
                    job_id: job.job_id.as_str().to_owned(),
                    job: Some(Box::new(job)),
                };
                Ok(None)
            }
            Err(error) => {
                let uncertain = matches!(error, kling_client::Error::SubmitUncertain { .. });
                if !uncertain {
                    // It started nothing: nothing is committed.
                    lock(&self.budget).committed -= quote.unwrap_or(0.0);
                    task.known_mut().submitting_at = None;
                } else if let Some(at) = task.known().submitting_at {
                    task.stage = Stage::Recover {
                        since: recover_since(at),
                    };
                }
                Err(error.into())
            }
        }
    }

    /// Records a job the line started (answered, or found again).
    async fn submitted(&self, task: &mut Task, job: &Job, cost: Option<f64>) -> anyhow::Result<()> {
        let quoted = cost.or(task.known().quoted_cu);
        if let Some(cost) = cost {
            // The API's own price replaces the estimate committed before the submit.
            lock(&self.budget).committed += cost - task.known().quoted_cu.unwrap_or(0.0);
        }
        task.known_mut().quoted_cu = quoted;
        task.known_mut().job_id = Some(job.job_id.as_str().to_owned());
        self.journal
            .record(
                &task.line.key,
                Event::Submitted {
                    job_id: job.job_id.as_str().to_owned(),
                    quoted_cu: quoted,
                },
            )
            .await?;
        self.ctx
            .record_async(
                &task.entry(),
                EventKind::Submitted {
                    job_id: job.job_id.as_str().to_owned(),
                },
            )
            .await?;
        self.ctx
            .record_async(
                &task.entry(),
                EventKind::Cost {
                    quoted_cu: quoted,
                    charged_cu: None,
                },
            )
            .await
    }

    /// What the ended job was charged (`billing.cuCost`), once known.
    fn charged(&self, task: &mut Task, job: &Job) {
        let Some(charged) = job.billing.as_ref().and_then(|billing| billing.cu_cost) else {
            return;
        };
        let before = task
            .known()
            .charged_cu
            .or(task.known().quoted_cu)
            .unwrap_or(0.0);
        lock(&self.budget).committed += charged - before;
        task.known_mut().charged_cu = Some(charged);
    }

    /// A step failed: back to the queue when a retry can fix it (until the line's
    /// `--timeout`), the line's end otherwise.
    async fn failed(&self, mut task: Task, error: anyhow::Error) -> Step {
        let client_error = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<kling_client::Error>());
        let team_limit = client_error.and_then(team_limit);
        if let Some(limit) = team_limit {
            // The submit started nothing, its slot is free; the window holds submits back.
            if task.pending && task.in_window {
                lock(&self.window).refused(limit, Instant::now());
                task.pending = false;
                task.in_window = false;
                self.room.notify_one();
            }
        }
        if let Some(halt) = Halt::disk_full(&error) {
            // Nothing more can be saved: no more jobs are paid for, and this line's job
            // (done on the server, in the journal) is downloaded by the next run.
            let message = format!("{}: {}", halt.reason, crate::exit::message(&error));
            lock(&self.halts).push(halt);
            self.leave_window(&mut task);
            return Step::Finished(
                Outcome::of(&task, LineStatus::Unfinished, Exit::Failure).with_error(message),
            );
        }
        let retryable = team_limit.is_some()
            || client_error.is_some_and(|error| {
                error.is_retryable()
                    || matches!(
                        error,
                        kling_client::Error::SubmitUncertain { .. }
                            | kling_client::Error::Download { .. }
                    )
            });
        let exit = crate::exit::exit_for(&error);
        let deadline = Duration::from_secs(self.args.timeout);
        let within = task
            .first_try
            .is_none_or(|first| first.elapsed() < deadline);
        if retryable && within && exit != Exit::Timeout {
            // A job whose end was seen keeps its slot free; one still running keeps it.
            if !matches!(task.stage, Stage::Wait { .. }) {
                self.leave_window(&mut task);
            }
            task.requeues += 1;
            let pause = if team_limit.is_some() {
                Duration::ZERO // the window decides when
            } else {
                requeue_pause(task.requeues)
            };
            tracing::info!(line = task.line.number, requeues = task.requeues, error = %crate::exit::message(&error), "back in the queue");
            return Step::Requeue(Box::new(task), pause);
        }
        self.leave_window(&mut task);
        let message = crate::exit::message(&error);
        if let Some(halt) = client_error
            .filter(|_| matches!(task.stage, Stage::Submit))
            .and_then(|error| Halt::of(error, task.line.model, message.clone(), exit))
        {
            lock(&self.halts).push(halt);
        }
        let outcome = match exit {
            Exit::JobFailed => {
                // Final for this line: the next run knows it (--retry-failed sends it again).
                let record = Event::Failed {
                    reason: message.clone(),
                    charged_cu: task.known().charged_cu,
                };
                if let Err(error) = self.journal.record(&task.line.key, record).await {
                    self.ctx.out.warn(&format!("{error:#}"));
                }
                records::line_failed(self, &mut task, client_error).await;
                Outcome::of(&task, LineStatus::Failed, Exit::JobFailed)
            }
            Exit::Timeout => Outcome::of(&task, LineStatus::Unfinished, Exit::Timeout),
            _ if retryable => Outcome::of(&task, LineStatus::Unfinished, Exit::Timeout),
            _ => Outcome::of(&task, LineStatus::Error, exit),
        };
        Step::Finished(outcome.with_error(message))
    }
}

/// A line counted in [`Run::saving`] while it lives (until its download ends, well or
/// not); the scheduler is woken when it ends.
struct Saving<'a, 'b>(&'a Run<'b>);

impl<'a, 'b> Saving<'a, 'b> {
    fn enter(run: &'a Run<'b>) -> Self {
        run.saving
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(run)
    }
}

impl Drop for Saving<'_, '_> {
    fn drop(&mut self) {
        self.0
            .saving
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.0.room.notify_one();
    }
}

/// The team-limit refusal in an error: `Some(limit)`, the parallel jobs the API allows.
fn team_limit(error: &kling_client::Error) -> Option<Option<usize>> {
    error
        .team_limit()
        .map(|limit| usize::try_from(limit.action_limit).ok())
}

/// Where to start looking for the job of a submit sent at `at` whose answer was lost:
/// a minute before, for clocks that disagree.
fn recover_since(at: SystemTime) -> SystemTime {
    at.checked_sub(Duration::from_secs(60))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A sum of creative units (from 0, where `Iterator::sum` of no floats gives `-0`).
fn total_cu(amounts: impl Iterator<Item = f64>) -> f64 {
    amounts.fold(0.0, |total, amount| total + amount)
}

/// The pause before try `requeues` + 1 of a line: 1 s, 2 s, 4 s, … up to a minute.
fn requeue_pause(requeues: u32) -> Duration {
    Duration::from_secs(1)
        .checked_mul(1 << requeues.saturating_sub(1).min(6))
        .unwrap_or(MAX_REQUEUE_PAUSE)
        .min(MAX_REQUEUE_PAUSE)
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Writes `report.json`, prints the summary, and ends with the worst line's exit code.
fn report(ctx: &Ctx, args: &Batch, total: usize, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let count = |status: LineStatus| {
        outcomes
            .iter()
            .filter(|outcome| outcome.status == status)
            .count()
    };
    let (done, skipped) = (count(LineStatus::Done), count(LineStatus::AlreadyDone));
    let failed = outcomes
        .iter()
        .filter(|outcome| outcome.exit == Exit::JobFailed)
        .count();
    let bad = count(LineStatus::Bad);
    let budget = count(LineStatus::NotStartedBudget);
    let halted = count(LineStatus::NotStarted);
    let removed = count(LineStatus::Removed);
    let unfinished = outcomes
        .iter()
        .filter(|outcome| {
            matches!(outcome.exit, Exit::Timeout | Exit::Failure | Exit::Auth)
                && outcome.status != LineStatus::NotStarted
        })
        .count();
    let quoted = total_cu(outcomes.iter().filter_map(|outcome| outcome.quoted_cu));
    let charged = total_cu(outcomes.iter().filter_map(|outcome| outcome.charged_cu));
    let report = Report {
        file: args.file.display().to_string(),
        total,
        done: done + skipped,
        failed,
        bad,
        unfinished,
        not_started: budget + halted,
        removed,
        quoted_cu: quoted,
        charged_cu: charged,
        lines: outcomes,
    };
    let report_path = args.out.join(REPORT);
    write_atomically(&report_path, &report)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    let mut summary = format!(
        "{} of {total} done ({skipped} from an earlier run), {failed} failed, {bad} bad lines, {unfinished} unfinished",
        done + skipped
    );
    if budget > 0 {
        summary.push_str(&format!(", {budget} not started (budget)"));
    }
    if halted > 0 {
        summary.push_str(&format!(
            ", {halted} not started (an earlier submit was refused: see the report)"
        ));
    }
    if removed > 0 {
        summary.push_str(&format!(
            ", {removed} removed from the file (jobs listed in the report)"
        ));
    }
    summary.push_str(&format!(
        "; {charged} CU charged, {quoted} quoted; report: {}",
        report_path.display()
    ));
    if ctx.out.json {
        ctx.out.json(&report)?;
    } else {
        ctx.out.result(&summary)?;
    }
    let worst = [
        Exit::Auth,
        Exit::JobFailed,
        Exit::Timeout,
        Exit::Budget,
        Exit::Failure,
        Exit::Usage,
    ]
    .into_iter()
    .find(|exit| outcomes.iter().any(|outcome| outcome.exit == *exit));
    match worst {
        None => Ok(()),
        Some(exit) => Err(Failure {
            exit,
            message: format!(
                "{} of {} lines are not done: see {}",
                total - done - skipped,
                total,
                report_path.display()
            ),
        }
        .into()),
    }
}

/// `report.json`: the run's totals and what became of each line.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    file: String,
    total: usize,
    done: usize,
    failed: usize,
    bad: usize,
    unfinished: usize,
    not_started: usize,
    removed: usize,
    quoted_cu: f64,
    charged_cu: f64,
    lines: &'a [Outcome],
}

/// Writes JSON whole or not at all: streamed into a temporary file beside `path` (no
/// copy of a 10,000-line report in memory), then renamed into place.
fn write_atomically(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let temporary = path.with_extension("json.tmp");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
    serde_json::to_writer_pretty(&mut file, value)?;
    std::io::Write::flush(&mut file)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(number: usize, key: &str, name: Option<&str>) -> Line {
        let mut line = Line::new(number, key, input::DEFAULT_MODEL, &json!({"prompt": "a"}));
        line.name = name.map(str::to_owned);
        line
    }

    #[test]
    fn new_lines_never_take_the_name_of_an_earlier_request() {
        let used: HashSet<String> = ["line-0001".to_owned(), "fox".to_owned()].into();
        assert_eq!(fresh_name(&line(1, "d#1", None), &used), "line-0001-2");
        assert_eq!(fresh_name(&line(2, "d#1", None), &used), "line-0002");
        assert_eq!(fresh_name(&line(3, "d#1", Some("hare")), &used), "hare");
        assert_eq!(fresh_name(&line(4, "d#2", Some("hare")), &used), "hare-2");
    }

    #[test]
    fn a_moved_line_keeps_its_name_and_a_removed_one_is_not_forgotten() {
        let known = BTreeMap::from([
            (
                "a#1".to_owned(),
                Known {
                    line: 1,
                    name: "line-0001".to_owned(),
                    job_id: Some("job_a".to_owned()),
                    files: Some(vec!["out/line-0001.mp4".to_owned()]),
                    quoted_cu: Some(40.0),
                    ..Known::default()
                },
            ),
            (
                "gone#1".to_owned(),
                Known {
                    line: 2,
                    name: "line-0002".to_owned(),
                    job_id: Some("job_gone".to_owned()),
                    charged_cu: Some(40.0),
                    ..Known::default()
                },
            ),
        ]);
        let plan = Plan::new(
            vec![line(1, "new#1", None), line(2, "a#1", None)],
            known,
            false,
        );
        let names: Vec<&str> = plan.tasks.iter().map(|task| task.name.as_str()).collect();
        assert_eq!(names, ["line-0001-2", "line-0001"]);
        assert!(matches!(plan.tasks[0].stage, Stage::Submit));
        assert!(matches!(&plan.tasks[1].stage, Stage::Wait { job_id, .. } if job_id == "job_a"));
        assert_eq!(plan.removed.len(), 1);
        assert_eq!(plan.removed[0].job_id.as_deref(), Some("job_gone"));
        assert_eq!(
            plan.committed, 80.0,
            "what every run on the folder spent counts"
        );
    }

    #[test]
    fn a_full_disk_halts_the_batch_wherever_it_is_in_the_chain() {
        let full = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::StorageFull))
            .context("cannot write out/line-0001.mp4")
            .context("cannot save the outputs of job job_1");
        let halt = Halt::disk_full(&full).unwrap();
        assert!(halt.model.is_none(), "every model");
        assert!(halt.stops(&line(1, "d#1", None)));
        let other = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(Halt::disk_full(&other).is_none());
    }

    #[test]
    fn requeue_pauses_grow_to_a_minute() {
        let pauses: Vec<u64> = (1..=9).map(|n| requeue_pause(n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
