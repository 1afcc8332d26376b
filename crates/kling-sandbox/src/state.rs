//! What a sandbox remembers: jobs (whose status follows the sandbox clock), assets,
//! uploads, the fault rules, and a log of every request for tests to inspect.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

pub(crate) use kling_types::__private::time::{format_iso8601 as iso8601, parse_iso8601};

use serde_json::Value;

use crate::config::SandboxConfig;
use crate::faults::{FaultRule, Faults};
use crate::mp4::{Mp4, VideoSpec};

/// One request as the sandbox saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// The `x-request-id` the sandbox answered with.
    pub request_id: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The status answered; `None` when the connection was dropped instead.
    pub status: Option<u16>,
    /// The fault injected into this request, by name.
    pub fault: Option<String>,
}

/// A job the sandbox created, as a soak test checks it: "every line of the batch has
/// exactly one job on the server, with its input".
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct JobRecord {
    /// Its id.
    pub id: String,
    /// The model it runs.
    pub model_id: String,
    /// The request body it was created from.
    pub input: Value,
    /// The request that created it (its `x-request-id`, as in [`RequestRecord`]).
    pub request_id: String,
    /// The fault injected into that request, by name: `reset-after-handling` or
    /// `truncate-body` mean the client never saw the answer.
    pub fault: Option<String>,
    /// When it was created.
    pub created_at: SystemTime,
    /// Its status now (`queued` … `success`, `failure`, `canceled`), as the API shows
    /// it, but never a fault's unknown status.
    pub status: String,
    /// The id of the asset it produces (listed in `metadata.assetIds` once it succeeds).
    pub output_asset_id: String,
}

/// How a job ends.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    Success,
    Failure { error: String, hint: Option<String> },
    Canceled,
}

#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) id: String,
    /// The request that created it.
    pub(crate) request_id: String,
    /// The fault injected into that request, by name.
    pub(crate) fault: Option<&'static str>,
    pub(crate) model_id: String,
    pub(crate) input: Value,
    /// Sandbox time at creation.
    pub(crate) created: Duration,
    pub(crate) created_at: SystemTime,
    pub(crate) outcome: Outcome,
    /// Reported instead of `in-progress` (a status from a newer server).
    pub(crate) odd_status: Option<String>,
    pub(crate) output_asset: String,
    pub(crate) cost: f64,
}

#[derive(Debug)]
pub(crate) enum Content {
    /// Bytes someone uploaded.
    Uploaded(Arc<Vec<u8>>),
    /// A generated video, rendered on demand.
    Video(Arc<Mp4>),
    /// A generated video's poster, rendered on demand.
    Poster(crate::png::Poster),
}

#[derive(Debug)]
pub(crate) struct Asset {
    pub(crate) id: String,
    pub(crate) kind: &'static str,
    pub(crate) mime_type: String,
    pub(crate) file_name: String,
    pub(crate) created_at: SystemTime,
    pub(crate) source: &'static str,
    /// The job that generates it (its status follows the job's).
    pub(crate) job_id: Option<String>,
    pub(crate) content: Content,
    pub(crate) width: Option<u32>,
    pub(crate) height: Option<u32>,
    pub(crate) duration_secs: Option<u32>,
    pub(crate) metadata: Value,
    /// The poster of a generated video: the image asset its `thumbnail` and
    /// `firstFrame` name once the video is ready.
    pub(crate) poster: Option<String>,
}

impl Asset {
    pub(crate) fn size(&self) -> u64 {
        match &self.content {
            Content::Uploaded(bytes) => bytes.len() as u64,
            Content::Video(mp4) => mp4.len(),
            Content::Poster(poster) => poster.len(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Upload {
    pub(crate) id: String,
    pub(crate) file_name: String,
    pub(crate) content_type: String,
    pub(crate) file_size: u64,
    pub(crate) kind: String,
    pub(crate) parts: BTreeMap<u32, Vec<u8>>,
    pub(crate) part_count: u32,
    pub(crate) status: &'static str,
    pub(crate) error_message: Option<String>,
    pub(crate) asset_id: Option<String>,
    pub(crate) created_at: SystemTime,
    /// When its status last changed.
    pub(crate) updated_at: SystemTime,
}

#[derive(Debug)]
pub(crate) struct Inner {
    next_id: u64,
    pub(crate) jobs: Vec<Job>,
    pub(crate) assets: BTreeMap<String, Asset>,
    pub(crate) uploads: BTreeMap<String, Upload>,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) faults: Faults,
    /// Generates refused with a 429 for the team's parallel-job limit.
    pub(crate) team_limit_refusals: u64,
    /// The most jobs that were ever running (not yet terminal) at once.
    pub(crate) max_running_jobs: u32,
}

impl Inner {
    /// A fresh id: `job_…`, `asset_…`, `upload_…`, `req_…`.
    pub(crate) fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_sbx{:06}", self.next_id)
    }
}

/// Shared state of one sandbox.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: SandboxConfig,
    /// `http://127.0.0.1:PORT`, without `/v1`.
    pub(crate) origin: String,
    started: Instant,
    /// Key of URL signatures.
    pub(crate) signing_key: u64,
    pub(crate) validators: BTreeMap<&'static str, jsonschema::Validator>,
    inner: Mutex<Inner>,
}

impl State {
    pub(crate) fn new(config: SandboxConfig, origin: String) -> Self {
        let validators = kling_types::MODELS
            .iter()
            .filter_map(|model| {
                let schema: Value = serde_json::from_str(model.schema).ok()?;
                Some((model.id, jsonschema::draft7::new(&schema).ok()?))
            })
            .collect();
        let faults = Faults::new(config.faults.clone(), config.seed);
        let signing_key = crate::faults::SplitMix64(config.seed ^ 0x5EED).next_u64();
        Self {
            config,
            origin,
            started: Instant::now(),
            signing_key,
            validators,
            inner: Mutex::new(Inner {
                next_id: 0,
                jobs: Vec::new(),
                assets: BTreeMap::new(),
                uploads: BTreeMap::new(),
                requests: Vec::new(),
                faults,
                team_limit_refusals: 0,
                max_running_jobs: 0,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves data that is still consistent enough
        // for a test server; keep serving rather than poisoning every later request.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sandbox time: real time since start, sped up by `clock_speed`.
    pub(crate) fn now(&self) -> Duration {
        scale(self.started.elapsed(), self.speed())
    }

    /// Real time that corresponds to a span of sandbox time.
    pub(crate) fn real(&self, sandbox: Duration) -> Duration {
        scale(sandbox, 1.0 / self.speed())
    }

    /// The clock speed, clamped (the field is public: it may hold anything).
    fn speed(&self) -> f64 {
        crate::config::clamp_speed(self.config.clock_speed)
    }

    pub(crate) fn add_faults(&self, rules: Vec<FaultRule>) {
        self.lock().faults.extend(rules);
    }

    /// The video a generation with these parameters renders.
    pub(crate) fn video_spec(&self, aspect_ratio: &str, duration_secs: u32) -> VideoSpec {
        let mut spec = VideoSpec::for_aspect_ratio(aspect_ratio, duration_secs);
        spec.target_size = self.config.output_size;
        spec
    }
}

/// `duration × factor`, saturating instead of panicking.
fn scale(duration: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(duration.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// The longest span the sandbox adds to a moment: a century. Longer spans (a job of
/// `Duration::MAX`, a clock a thousand times slower) would overflow `SystemTime`.
const LONGEST_SPAN: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `moment + span`, with spans beyond a century read as a century.
pub(crate) fn later(moment: SystemTime, span: Duration) -> SystemTime {
    moment.checked_add(span.min(LONGEST_SPAN)).unwrap_or(moment)
}

/// One moment of a job's life at which what it shows changes: from `at` hundredths of
/// its duration on, it is in `status` (`None`: its outcome) with `progress`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Step {
    pub(crate) at: u8,
    pub(crate) status: Option<&'static str>,
    pub(crate) progress: f64,
}

const fn step(at: u8, status: &'static str, progress: f64) -> Step {
    Step {
        at,
        status: Some(status),
        progress,
    }
}

/// A job's whole life: queued, warming up at 10% of its duration, in progress from 20%
/// with its progress moving a tenth every 7% (so that every change is a step of the
/// sandbox clock, and `updatedAt` names the moment of the last one), finalizing at 90%,
/// and its outcome at 100%.
pub(crate) const STEPS: [Step; 14] = [
    step(0, "queued", 0.0),
    step(10, "warming-up", 0.0),
    step(20, "in-progress", 0.0),
    step(27, "in-progress", 0.1),
    step(34, "in-progress", 0.2),
    step(41, "in-progress", 0.3),
    step(48, "in-progress", 0.4),
    step(55, "in-progress", 0.5),
    step(62, "in-progress", 0.6),
    step(69, "in-progress", 0.7),
    step(76, "in-progress", 0.8),
    step(83, "in-progress", 0.9),
    step(90, "finalizing", 1.0),
    Step {
        at: 100,
        status: None,
        progress: 1.0,
    },
];

/// The index of the last step, the outcome.
const END: usize = STEPS.len() - 1;

/// Sandbox time from a job's creation to step `index` of its life, exactly (integer
/// arithmetic: the status and `updatedAt` of one answer come from the same step).
pub(crate) fn step_time(duration: Duration, index: usize) -> Duration {
    let at = STEPS.get(index).map_or(100, |step| step.at);
    let nanos = duration.as_nanos() * u128::from(at) / 100;
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    // Below a billion: it fits.
    let subsec = (nanos % 1_000_000_000) as u32;
    Duration::new(secs, subsec)
}

/// Where a job is now: the step of its life it has reached and what it shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct JobNow {
    pub(crate) step: usize,
    /// Its status (the fault's odd status is shown by the view, not here).
    pub(crate) status: &'static str,
    pub(crate) progress: f64,
    /// When it reached `step`: `updatedAt`.
    pub(crate) updated_at: SystemTime,
}

impl JobNow {
    pub(crate) fn is_terminal(&self) -> bool {
        self.step == END
    }
}

impl Job {
    /// The status a step shows for this job.
    pub(crate) fn status_at(&self, index: usize) -> &'static str {
        match STEPS.get(index).and_then(|step| step.status) {
            Some(status) => status,
            None => match self.outcome {
                Outcome::Success => "success",
                Outcome::Failure { .. } => "failure",
                Outcome::Canceled => "canceled",
            },
        }
    }
}

impl State {
    /// Where `job` is now on the sandbox clock.
    pub(crate) fn job_now(&self, job: &Job) -> JobNow {
        let duration = self.config.job_duration;
        let age = self.now().saturating_sub(job.created);
        let step = (0..=END)
            .rev()
            .find(|index| step_time(duration, *index) <= age)
            .unwrap_or(0);
        JobNow {
            step,
            status: job.status_at(step),
            progress: STEPS[step.min(END)].progress,
            updated_at: self.step_moment(job, step),
        }
    }

    /// The jobs not yet terminal now. Every job takes the same time and they are kept in
    /// the order they were created, so those are the newest ones.
    pub(crate) fn running_jobs(&self, inner: &Inner) -> Running {
        let duration = self.config.job_duration;
        let now = self.now();
        let running: Vec<&Job> = inner
            .jobs
            .iter()
            .rev()
            .take_while(|job| now.saturating_sub(job.created) < duration)
            .collect();
        Running {
            count: u32::try_from(running.len()).unwrap_or(u32::MAX),
            first_end: running
                .last()
                .map(|job| job.created.saturating_add(duration)),
        }
    }

    /// The moment (real time) at which `job` reaches step `index`.
    pub(crate) fn step_moment(&self, job: &Job, index: usize) -> SystemTime {
        later(
            job.created_at,
            self.real(step_time(self.config.job_duration, index)),
        )
    }
}

/// The jobs running at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Running {
    pub(crate) count: u32,
    /// When the first of them ends (sandbox time).
    pub(crate) first_end: Option<Duration>,
}

/// The steps at which a job's status changes (what `statusHistory` lists), up to `step`.
pub(crate) fn status_changes(step: usize) -> impl Iterator<Item = usize> {
    (0..=step.min(END))
        .filter(|index| *index == 0 || STEPS[*index].status != STEPS[*index - 1].status)
}

/// Milliseconds since the epoch: the precision of the API's dates, at which filters
/// compare them.
pub(crate) fn millis(moment: SystemTime) -> u128 {
    moment
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}
