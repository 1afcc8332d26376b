//! What a sandbox remembers: jobs (whose status follows the sandbox clock), assets,
//! uploads, the fault rules, and a log of every request for tests to inspect.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

pub(crate) use kling_types::time::{format_iso8601 as iso8601, parse_iso8601};

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

/// A job the sandbox created.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    /// Its id.
    pub id: String,
    /// The model it runs.
    pub model_id: String,
    /// The request body it was created from.
    pub input: Value,
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
}

impl Asset {
    pub(crate) fn size(&self) -> u64 {
        match &self.content {
            Content::Uploaded(bytes) => bytes.len() as u64,
            Content::Video(mp4) => mp4.len(),
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

/// Where a job is in its life, from its age and its outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Progress {
    pub(crate) status: &'static str,
    pub(crate) progress: f64,
}

/// The statuses a job goes through, with the fraction of its duration at which it
/// enters each (the final status comes at 1.0).
pub(crate) const LIFE: [(&str, f64); 4] = [
    ("queued", 0.0),
    ("warming-up", 0.1),
    ("in-progress", 0.2),
    ("finalizing", 0.9),
];

impl Job {
    /// How far the job is after `age` of sandbox time, for jobs taking `duration`.
    pub(crate) fn progress(&self, age: Duration, duration: Duration) -> Progress {
        let fraction = if duration.is_zero() {
            1.0
        } else {
            age.as_secs_f64() / duration.as_secs_f64()
        };
        if fraction >= 1.0 {
            let status = match self.outcome {
                Outcome::Success => "success",
                Outcome::Failure { .. } => "failure",
                Outcome::Canceled => "canceled",
            };
            return Progress {
                status,
                progress: if self.outcome == Outcome::Success {
                    1.0
                } else {
                    fraction.min(1.0)
                },
            };
        }
        let status = LIFE
            .iter()
            .rev()
            .find(|(_, start)| fraction >= *start)
            .map_or("queued", |(status, _)| status);
        // Progress moves during in-progress only, from 0 to 1.
        let progress = ((fraction - 0.2) / 0.7).clamp(0.0, 1.0);
        Progress {
            status,
            progress: (progress * 100.0).round() / 100.0,
        }
    }
}
