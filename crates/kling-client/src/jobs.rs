//! Jobs: submit without ever starting a paid job twice, estimate, look up, list,
//! cancel, and wait (as a stream of updates, or with a callback).

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use futures_util::{Stream, StreamExt as _};
use kling_types::api::{EstimateResponse, GenerateResponse, Job, JobList, JobResponse, JobStatus};
use kling_types::{Finding, JobId, ModelRequest, Validation};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::client::{Call, Client, Reply, segment};
use crate::error::{Error, JobLookup, chain};

/// A job that was started (or found again after a lost answer), with what the request
/// produced on the way.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Submitted {
    /// The job, as the API described it when it started.
    pub job: Job,
    /// Parameters the API will ignore, and why (the request was sent anyway).
    pub warnings: Vec<Finding>,
    /// Creative units the job costs, when the API said.
    pub cost: Option<f64>,
    /// `true` when the answer to the submit was lost and the job was found again in the
    /// job list instead of being submitted a second time.
    pub recovered: bool,
}

impl Submitted {
    /// The job's id.
    pub fn job_id(&self) -> &JobId {
        &self.job.job_id
    }
}

/// Which jobs [`Client::jobs`] lists.
///
/// ```
/// use kling_client::JobFilter;
/// use kling_types::api::JobStatus;
/// let filter = JobFilter::default().with_status(JobStatus::Success).with_page_size(100);
/// assert_eq!(filter.page_size, Some(100));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct JobFilter {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this type (`custom` for generations).
    pub job_type: Option<String>,
    /// Only jobs created after this moment (the API refuses it with a status or type filter).
    pub created_after: Option<SystemTime>,
    /// Only jobs changed after this moment.
    pub updated_after: Option<SystemTime>,
    /// Jobs per page, 1 to 100 (the API's default is 50).
    pub page_size: Option<u32>,
}

impl JobFilter {
    /// Only jobs in `status`.
    #[must_use]
    pub fn with_status(mut self, status: JobStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only jobs created after `moment`.
    #[must_use]
    pub fn with_created_after(mut self, moment: SystemTime) -> Self {
        self.created_after = Some(moment);
        self
    }

    /// Jobs per page.
    #[must_use]
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
}

/// How to wait for a job.
///
/// The first look is immediate. Then the pauses start short (`first_poll`) and grow by
/// `factor` up to `max_poll`, while nothing says when the job will end. Once the job's
/// progress moves, the client aims at the moment it will reach 100% (halving the
/// distance while it is far, up to `far_poll`), and once it is finalizing, looks again
/// after `near_ratio` of the time waited so far: the job's end is seen within about
/// that share of its duration, with few requests (a 5-minute job: about 25 looks, seen
/// within 10 s of its end; a 2-second one within 0.1 s). `Retry-After` answers are
/// honoured.
///
/// ```
/// use std::time::Duration;
/// let options = kling_client::WaitOptions::default().with_deadline(Duration::from_secs(600));
/// assert_eq!(options.deadline, Some(Duration::from_secs(600)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Stop waiting after this long (the job goes on); `None` waits as long as it takes.
    /// Default 30 minutes.
    pub deadline: Option<Duration>,
    /// The pause after the first look (default 200 ms).
    pub first_poll: Duration,
    /// The longest pause while nothing says when the job will end (default 10 s).
    pub max_poll: Duration,
    /// How much longer each such pause is than the one before (default 1.5).
    pub factor: f64,
    /// The longest pause while the job's progress says its end is far (default 60 s).
    pub far_poll: Duration,
    /// Once finalizing, the pause as a share of the time waited so far (default 0.05).
    pub near_ratio: f64,
    /// The shortest pause between two looks (default 50 ms).
    pub min_poll: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            deadline: Some(Duration::from_secs(30 * 60)),
            first_poll: Duration::from_millis(200),
            max_poll: Duration::from_secs(10),
            factor: 1.5,
            far_poll: Duration::from_secs(60),
            near_ratio: 0.05,
            min_poll: Duration::from_millis(50),
        }
    }
}

impl WaitOptions {
    /// Stops waiting after `deadline`.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Waits as long as the job takes.
    #[must_use]
    pub fn without_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// Sets the pauses while nothing says when the job will end (the far pause is raised
    /// to `max` if it was shorter).
    #[must_use]
    pub fn with_polling(mut self, first: Duration, max: Duration, factor: f64) -> Self {
        self.first_poll = first;
        self.max_poll = max.max(first);
        self.far_poll = self.far_poll.max(self.max_poll);
        self.factor = if factor.is_finite() && factor >= 1.0 {
            factor
        } else {
            1.0
        };
        self
    }

    /// The backoff pause after look number `looks`.
    fn backoff(&self, looks: u32) -> Duration {
        let factor = self
            .factor
            .powi(i32::try_from(looks.saturating_sub(1)).unwrap_or(i32::MAX));
        Duration::try_from_secs_f64(self.first_poll.as_secs_f64() * factor)
            .unwrap_or(self.max_poll)
            .min(self.max_poll)
    }

    /// Every pause divided by `speed`: for a server whose clock runs `speed` times faster
    /// (a sandbox in a benchmark).
    #[must_use]
    pub fn scaled(mut self, speed: f64) -> Self {
        if speed.is_finite() && speed > 0.0 {
            let scale = |duration: Duration| {
                Duration::try_from_secs_f64(duration.as_secs_f64() / speed).unwrap_or(duration)
            };
            self.first_poll = scale(self.first_poll);
            self.max_poll = scale(self.max_poll);
            self.far_poll = scale(self.far_poll);
            self.min_poll = scale(self.min_poll);
        }
        self
    }

    /// The pause before the next look, from what the looks so far showed.
    pub(crate) fn next_pause(
        &self,
        looks: u32,
        waited: Duration,
        job: &Job,
        progress: &ProgressTrack,
    ) -> Duration {
        let backoff = self.backoff(looks).max(self.min_poll);
        if job.status == JobStatus::Finalizing
            || job.progress.is_some_and(|progress| progress >= 1.0)
        {
            let near = Duration::try_from_secs_f64(waited.as_secs_f64() * self.near_ratio.max(0.0))
                .unwrap_or(self.max_poll);
            return near.clamp(self.min_poll, self.max_poll.max(self.min_poll));
        }
        match progress.until_full() {
            // Far from the end: halve the distance (the estimate sharpens on the way).
            Some(until_full) if until_full > backoff.saturating_mul(2) => {
                (until_full / 2).clamp(self.min_poll, self.far_poll.max(self.min_poll))
            }
            Some(until_full) => until_full.clamp(self.min_poll, self.far_poll.max(self.min_poll)),
            None => backoff,
        }
    }
}

/// The first and the latest progress seen while a job is in progress: how fast it goes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ProgressTrack {
    first: Option<(Instant, f64)>,
    latest: Option<(Instant, f64)>,
}

impl ProgressTrack {
    pub(crate) fn record(&mut self, job: &Job, at: Instant) {
        let (JobStatus::InProgress, Some(progress)) = (&job.status, job.progress) else {
            return;
        };
        self.first.get_or_insert((at, progress));
        self.latest = Some((at, progress));
    }

    /// When progress will reach 100% at the pace seen so far, if it moved.
    fn until_full(&self) -> Option<Duration> {
        let ((first_at, first), (latest_at, latest)) = (self.first?, self.latest?);
        let seconds = latest_at.duration_since(first_at).as_secs_f64();
        let rate = (latest - first) / seconds;
        (rate.is_finite() && rate > 0.0)
            .then(|| Duration::try_from_secs_f64((1.0 - latest).max(0.0) / rate).ok())
            .flatten()
    }
}

/// A change seen while waiting: a new status or new progress.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JobUpdate {
    /// The job as it is now.
    pub job: Job,
    /// Time since the wait began.
    pub elapsed: Duration,
}

impl JobUpdate {
    /// The job's status (an unknown one shows as [`JobStatus::Other`]; waiting goes on).
    pub fn status(&self) -> &JobStatus {
        &self.job.status
    }

    /// The job's progress, from 0 to 1, when the API said.
    pub fn progress(&self) -> Option<f64> {
        self.job.progress
    }
}

/// The answer to a generate, when it names the job it started. A 2xx that does not
/// decode, or whose job has no id, is an [`Error::Decode`]: it may have started a job.
fn started_job(reply: &Reply, what: &str) -> Result<GenerateResponse, Error> {
    let response: GenerateResponse = reply.decode(what)?;
    if response.job.job_id.as_str().trim().is_empty() {
        return Err(Error::Decode {
            what: what.to_owned(),
            answer: "a job without an id".to_owned(),
            request_id: reply.request_id.clone(),
            source: serde::de::Error::custom("`job.jobId` is empty"),
        });
    }
    Ok(response)
}

/// How many empty pages in a row the listing follows before it gives up on a server
/// that keeps promising more.
const MAX_EMPTY_PAGES: u32 = 50;
/// How many pages reconciliation reads before it concludes the job is not there.
const MAX_RECONCILE_PAGES: u32 = 20;

impl Client {
    /// Validates `request` and starts a job; a request with problems never leaves the
    /// machine ([`Error::Validation`], with every problem). Warnings come back in
    /// [`Submitted::warnings`].
    ///
    /// **A paid job is never started twice.** The API has no idempotency key, so a
    /// submit is retried blindly only when the request provably did not start a job:
    /// the connection could not be made, or the API answered 429 or 503. When the
    /// outcome is unknown (the connection broke or timed out after sending, or a 500,
    /// 502 or 504), the client looks for the job in the job list first (created since
    /// just before the submit, with the same `metadata.input`), and adopts it if found
    /// ([`Submitted::recovered`]); only when it is still not there after
    /// [`RetryPolicy::reconcile_grace`](crate::RetryPolicy::reconcile_grace) does it
    /// submit again. If retries run out with the outcome unknown, the error is
    /// [`Error::SubmitUncertain`]. A 2xx whose answer cannot be read (or names no job)
    /// said yes: it is looked for the same way, and never submitted again
    /// ([`Error::SubmitUncertain`] when not found).
    ///
    /// A 429 that names the team's limit of parallel jobs ([`Error::team_limit`]) is
    /// returned at once, without a retry or spending the retry budget: submit again
    /// once one of the team's jobs has ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// use kling_types::kling_v1_6_pro::{DurationValue, Kling16ProRequest};
    ///
    /// let request = Kling16ProRequest::new("a red fox running through snow").with_duration(DurationValue::Seconds10);
    /// let submitted = client.submit(&request).await?;
    /// println!("started {} for {:?} creative units", submitted.job_id(), submitted.cost);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn submit<R: ModelRequest>(&self, request: &R) -> Result<Submitted, Error> {
        let warnings = request.validate().into_result()?;
        let body = serde_json::to_value(request).map_err(Error::Encode)?;
        self.submit_checked(R::MODEL_ID, body, warnings).await
    }

    /// [`Self::submit`] for a request given as JSON (a batch file, another tool). It is
    /// validated when the model is in [`kling_types::MODELS`], and sent as it is otherwise.
    pub async fn submit_json(&self, model_id: &str, body: Value) -> Result<Submitted, Error> {
        let warnings = match kling_types::find_model(model_id) {
            Some(model) => match (model.validate_json)(body.clone()) {
                Ok(validation) => validation.into_result()?,
                Err(error) => {
                    let mut validation = Validation::new();
                    validation.problem(
                        "(body)",
                        format!("{error}: check the parameters against `kling models {model_id}`"),
                    );
                    return Err(validation.into_result().err().map_or_else(
                        || Error::Request {
                            model_id: model_id.to_owned(),
                            source: error,
                        },
                        Error::Validation,
                    ));
                }
            },
            None => Vec::new(),
        };
        self.submit_checked(model_id, body, warnings).await
    }

    async fn submit_checked(
        &self,
        model_id: &str,
        body: Value,
        warnings: Vec<Finding>,
    ) -> Result<Submitted, Error> {
        let since = SystemTime::now()
            .checked_sub(self.retry.clock_skew)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let path = format!("/generate/custom/{}", segment(model_id));
        let mut backoff = self.backoff();
        let mut retry: u32 = 0;
        loop {
            let call = Call::api(Method::POST, path.clone()).json(body.clone());
            let error = match self.attempt(&call, retry).await {
                Ok(reply) => match started_job(&reply, &call.what) {
                    Ok(response) => {
                        self.claim(&response.job.job_id);
                        tracing::info!(job_id = %response.job.job_id, "job started");
                        return Ok(Submitted {
                            job: response.job,
                            warnings,
                            cost: response.creative_units_cost,
                            recovered: false,
                        });
                    }
                    Err(error) => error,
                },
                Err(error) => error,
            };
            // A 2xx this client cannot read said yes: a job most likely started.
            let answered_yes = matches!(error, Error::Decode { .. });
            let outcome_unknown = answered_yes
                || matches!(error, Error::Timeout { .. } | Error::Transport { .. })
                || matches!(error.status(), Some(500 | 502 | 504));
            if outcome_unknown {
                tracing::warn!(error = %chain(&error), "the submit's outcome is unknown: looking for its job before anything else");
                for pause in [Duration::ZERO, self.retry.reconcile_grace] {
                    tokio::time::sleep(pause).await;
                    match self.recover_submitted(model_id, &body, since).await {
                        Ok(Some(job)) => {
                            tracing::info!(job_id = %job.job_id, "found the job the lost answer was about: adopting it");
                            return Ok(Submitted {
                                job,
                                warnings,
                                cost: None,
                                recovered: true,
                            });
                        }
                        Ok(None) => {}
                        Err(list_error) => {
                            return Err(Error::SubmitUncertain {
                                lookup: JobLookup::Failed(Box::new(list_error)),
                                source: Box::new(error),
                            });
                        }
                    }
                }
                // The server said yes and no job is to be seen: submitting again could
                // start a second one. Only the user can tell.
                if answered_yes {
                    return Err(Error::SubmitUncertain {
                        lookup: JobLookup::NotListed,
                        source: Box::new(error),
                    });
                }
            }
            // A team limit helps no retry until one of the team's jobs ends: the caller
            // (a batch scheduler) holds its submits and comes back; no budget is spent.
            if error.team_limit().is_some() {
                tracing::info!(error = %chain(&error), "the team's limit of parallel jobs is reached: not retrying");
                return Err(error);
            }
            retry = retry.saturating_add(1);
            match self.retry_delay(retry, &error, &mut backoff) {
                Some(delay) => {
                    tracing::info!(retry, delay_ms = crate::client::millis(delay), error = %chain(&error), "submitting again: no job was started");
                    tokio::time::sleep(delay).await;
                }
                None if outcome_unknown => {
                    return Err(Error::SubmitUncertain {
                        lookup: JobLookup::NotListed,
                        source: Box::new(error),
                    });
                }
                None => return Err(error),
            }
        }
    }

    /// Tells reconciliation that `job_id` already belongs to a request (one a journal
    /// knows), so that [`Self::recover_submitted`] never adopts it for another, identical
    /// request. Returns `false` when it was known already.
    pub fn claim(&self, job_id: &JobId) -> bool {
        self.shared
            .claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(job_id.as_str().to_owned())
    }

    /// Finds the job a submit whose answer was lost may have created (a crash, a closed
    /// terminal): created since `since`, for `model_id`, whose input is the request of
    /// `body` (the same parameters, where one that is left out equals the model's
    /// default: the server may fill defaults in), and not already known to this client.
    /// The oldest job whose input is exactly `body` wins, else the oldest equal to it
    /// with defaults; it is then known to this client. [`Self::submit`] does this itself; a tool
    /// that recorded a submit before sending it (a batch journal) calls it on restart.
    pub async fn recover_submitted(
        &self,
        model_id: &str,
        body: &Value,
        since: SystemTime,
    ) -> Result<Option<Job>, Error> {
        let filter = JobFilter::default()
            .with_created_after(since)
            .with_page_size(100);
        let mut pages = 0;
        let mut token = None;
        // The oldest job whose input is exactly the body, else the oldest whose input
        // is the body with defaults filled in (a server may add them to
        // `metadata.input`; but when an exact one is there, the other is another
        // request's). A job with another value for a parameter the body leaves out is
        // another request: `{"prompt": "a"}` never adopts `{"prompt": "a", "duration": 10}`.
        let defaults = model_defaults(model_id);
        let (mut exact, mut wider) = (None, None);
        loop {
            let page = self.jobs_page(&filter, token.as_deref()).await?;
            for job in page.jobs {
                let Some(metadata) = &job.metadata else {
                    continue;
                };
                let same_model = metadata
                    .model_id
                    .as_ref()
                    .is_none_or(|id| id.as_str() == model_id);
                let same_input = body
                    .as_object()
                    .is_some_and(|sent| same_request(sent, &metadata.input, defaults));
                let known = self
                    .shared
                    .claimed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(job.job_id.as_str());
                if same_model && same_input && !known {
                    let same_keys = body
                        .as_object()
                        .is_some_and(|sent| sent.len() == metadata.input.len());
                    // Newest first: the last match is the oldest.
                    if same_keys {
                        exact = Some(job);
                    } else {
                        wider = Some(job);
                    }
                }
            }
            pages += 1;
            token = page.next_pagination_token;
            if token.is_none() || pages >= MAX_RECONCILE_PAGES {
                break;
            }
        }
        Ok(exact.or(wider).filter(|job| self.claim(&job.job_id)))
    }

    /// What `request` would cost, without starting a job (the API's dry run).
    pub async fn estimate<R: ModelRequest>(&self, request: &R) -> Result<EstimateResponse, Error> {
        request.validate().into_result()?;
        let body = serde_json::to_value(request).map_err(Error::Encode)?;
        let call = Call::api(
            Method::POST,
            format!("/generate/custom/{}", segment(R::MODEL_ID)),
        )
        .query("dryRun", "true")
        .json(body);
        self.send(&call).await?.decode(&call.what)
    }

    /// [`Self::estimate`] for a request given as JSON; validated when the model is in
    /// [`kling_types::MODELS`].
    pub async fn estimate_json(
        &self,
        model_id: &str,
        body: Value,
    ) -> Result<EstimateResponse, Error> {
        if let Some(model) = kling_types::find_model(model_id) {
            let validation =
                (model.validate_json)(body.clone()).map_err(|source| Error::Request {
                    model_id: model_id.to_owned(),
                    source,
                })?;
            validation.into_result()?;
        }
        let call = Call::api(
            Method::POST,
            format!("/generate/custom/{}", segment(model_id)),
        )
        .query("dryRun", "true")
        .json(body);
        self.send(&call).await?.decode(&call.what)
    }

    /// A job as it is now.
    pub async fn job(&self, job_id: &JobId) -> Result<Job, Error> {
        let call = Call::api(Method::GET, format!("/jobs/{}", segment(job_id.as_str())));
        Ok(self
            .send(&call)
            .await?
            .decode::<JobResponse>(&call.what)?
            .job)
    }

    /// Every job that `filter` selects, newest first, page after page: short and empty
    /// pages are followed as long as the API gives a `nextPaginationToken`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// use futures_util::TryStreamExt as _;
    /// let jobs: Vec<_> = client.jobs(kling_client::JobFilter::default()).try_collect().await?;
    /// assert!(jobs.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn jobs(
        &self,
        filter: JobFilter,
    ) -> impl Stream<Item = Result<Job, Error>> + Send + 'static {
        struct Pager {
            client: Client,
            filter: JobFilter,
            buffer: VecDeque<Job>,
            token: Option<String>,
            started: bool,
            empty_pages: u32,
        }
        let pager = Pager {
            client: self.clone(),
            filter,
            buffer: VecDeque::new(),
            token: None,
            started: false,
            empty_pages: 0,
        };
        futures_util::stream::unfold(Some(pager), |pager| async move {
            let mut pager = pager?;
            loop {
                if let Some(job) = pager.buffer.pop_front() {
                    return Some((Ok(job), Some(pager)));
                }
                if pager.started && pager.token.is_none() {
                    return None;
                }
                pager.started = true;
                match pager
                    .client
                    .jobs_page(&pager.filter, pager.token.as_deref())
                    .await
                {
                    Ok(page) => {
                        pager.empty_pages = if page.jobs.is_empty() {
                            pager.empty_pages + 1
                        } else {
                            0
                        };
                        if pager.empty_pages > MAX_EMPTY_PAGES {
                            let error = Error::Protocol {
                                what: format!(
                                    "the API answered {MAX_EMPTY_PAGES} empty pages in a row while promising more: stopping"
                                ),
                            };
                            return Some((Err(error), None));
                        }
                        pager.buffer.extend(page.jobs);
                        pager.token = page.next_pagination_token;
                    }
                    Err(error) => return Some((Err(error), None)),
                }
            }
        })
    }

    pub(crate) async fn jobs_page(
        &self,
        filter: &JobFilter,
        token: Option<&str>,
    ) -> Result<JobList, Error> {
        let mut call = Call::api(Method::GET, "/jobs".to_owned()).with_large_answer();
        if let Some(size) = filter.page_size {
            call = call.query("pageSize", size.clamp(1, 100).to_string());
        }
        if let Some(status) = &filter.status {
            call = call.query("status", status.as_str());
        }
        if let Some(job_type) = &filter.job_type {
            call = call.query("type", job_type.clone());
        }
        if let Some(moment) = filter.created_after {
            call = call.query(
                "createdAfter",
                kling_types::__private::time::format_iso8601(moment),
            );
        }
        if let Some(moment) = filter.updated_after {
            call = call.query(
                "updatedAfter",
                kling_types::__private::time::format_iso8601(moment),
            );
        }
        if let Some(token) = token {
            call = call.query("paginationToken", token);
        }
        self.send(&call).await?.decode(&call.what)
    }

    /// Asks the API to cancel a job. Generation jobs cannot be canceled today: the API
    /// refuses, and so this returns [`Error::CancelRefused`] (the job keeps running).
    pub async fn cancel(&self, job_id: &JobId) -> Result<Job, Error> {
        let call = Call::api(
            Method::POST,
            format!("/jobs/{}/action", segment(job_id.as_str())),
        )
        .json(serde_json::json!({"action": "cancel"}));
        match self.send(&call).await {
            Ok(reply) => Ok(reply.decode::<JobResponse>(&call.what)?.job),
            Err(Error::Api {
                status: 400 | 403 | 409,
                reason,
                ..
            }) => Err(Error::CancelRefused {
                job_id: job_id.clone(),
                reason,
            }),
            Err(error) => Err(error),
        }
    }

    /// The job's updates until it ends: one item per change of status or progress (the
    /// first look always yields one), the last one final (`success`, `failure`,
    /// `canceled`). Past the deadline the stream yields [`Error::Deadline`] and ends; the
    /// job goes on. An unknown status is reported and waiting goes on.
    pub fn watch(
        &self,
        job_id: &JobId,
        options: WaitOptions,
    ) -> impl Stream<Item = Result<JobUpdate, Error>> + Send + 'static {
        struct Watch {
            client: Client,
            job_id: JobId,
            options: WaitOptions,
            started: Instant,
            looks: u32,
            last: Option<(JobStatus, Option<f64>)>,
            pause: Duration,
            progress: ProgressTrack,
        }
        let watch = Watch {
            client: self.clone(),
            job_id: job_id.clone(),
            options,
            started: Instant::now(),
            looks: 0,
            last: None,
            pause: Duration::ZERO,
            progress: ProgressTrack::default(),
        };
        futures_util::stream::unfold(Some(watch), |watch| async move {
            let mut watch = watch?;
            loop {
                if watch.looks > 0 {
                    let mut pause = watch.pause;
                    if let Some(deadline) = watch.options.deadline {
                        pause = pause.min(deadline.saturating_sub(watch.started.elapsed()));
                    }
                    tokio::time::sleep(pause).await;
                }
                watch.looks += 1;
                let job = match watch.client.job(&watch.job_id).await {
                    Ok(job) => job,
                    Err(error) => return Some((Err(error), None)),
                };
                let elapsed = watch.started.elapsed();
                watch.progress.record(&job, Instant::now());
                watch.pause = watch
                    .options
                    .next_pause(watch.looks, elapsed, &job, &watch.progress);
                let now = (job.status.clone(), job.progress);
                let changed = watch.last.as_ref() != Some(&now);
                let terminal = job.status.is_terminal();
                if terminal {
                    return Some((Ok(JobUpdate { job, elapsed }), None));
                }
                if watch
                    .options
                    .deadline
                    .is_some_and(|deadline| elapsed >= deadline)
                {
                    let error = Error::Deadline {
                        job_id: watch.job_id.clone(),
                        status: job.status,
                        waited: elapsed,
                    };
                    return Some((Err(error), None));
                }
                if let JobStatus::Other(status) = &job.status {
                    tracing::warn!(job_id = %watch.job_id, status, "unknown job status: waiting on");
                }
                if changed {
                    watch.last = Some(now);
                    return Some((Ok(JobUpdate { job, elapsed }), Some(watch)));
                }
            }
        })
    }

    /// Waits until the job ends; `Ok` with the job on success, its reason otherwise
    /// ([`Error::JobFailed`], [`Error::JobCanceled`], [`Error::Deadline`] with the job id
    /// to resume).
    pub async fn wait(&self, job_id: &JobId, options: WaitOptions) -> Result<Job, Error> {
        self.wait_with(job_id, options, |_| {}).await
    }

    /// [`Self::wait`], calling `on_update` with each change of status or progress.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
    /// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
    /// # let request = kling_types::kling_v1_6_pro::Kling16ProRequest::new("a lighthouse");
    /// let submitted = client.submit(&request).await?;
    /// let job = client
    ///     .wait_with(submitted.job_id(), kling_client::WaitOptions::default(), |update| {
    ///         eprintln!("{} {:.0}%", update.status(), update.progress().unwrap_or(0.0) * 100.0);
    ///     })
    ///     .await?;
    /// assert_eq!(job.metadata.unwrap().asset_ids.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_with(
        &self,
        job_id: &JobId,
        options: WaitOptions,
        mut on_update: impl FnMut(&JobUpdate),
    ) -> Result<Job, Error> {
        let updates = self.watch(job_id, options);
        futures_util::pin_mut!(updates);
        let mut last = None;
        while let Some(update) = updates.next().await {
            let update = update?;
            on_update(&update);
            last = Some(update.job);
        }
        let job = last.ok_or(Error::Ended {
            what: "the job watch ended without news",
        })?;
        outcome(job)
    }
}

/// A job that ended, as the result of waiting for it: `Ok` on success, its reason
/// otherwise.
pub(crate) fn outcome(job: Job) -> Result<Job, Error> {
    match job.status {
        JobStatus::Success => Ok(job),
        JobStatus::Failure => {
            let metadata = job.metadata.unwrap_or_default();
            Err(Error::JobFailed {
                job_id: job.job_id,
                reason: metadata
                    .error
                    .unwrap_or_else(|| "the API gave no reason".to_owned()),
                hint: metadata.hint,
            })
        }
        JobStatus::Canceled => Err(Error::JobCanceled { job_id: job.job_id }),
        status => Err(Error::Deadline {
            job_id: job.job_id,
            status,
            waited: Duration::ZERO,
        }),
    }
}

/// Whether a job's `input` is the request `sent`: every parameter equal, a parameter
/// that one of them leaves out counting as the model's default.
fn same_request(
    sent: &Map<String, Value>,
    input: &Map<String, Value>,
    defaults: &Map<String, Value>,
) -> bool {
    fn value<'a>(
        map: &'a Map<String, Value>,
        defaults: &'a Map<String, Value>,
        key: &str,
    ) -> Option<&'a Value> {
        map.get(key).or_else(|| defaults.get(key))
    }
    sent.keys()
        .chain(input.keys())
        .all(|key| value(sent, defaults, key) == value(input, defaults, key))
}

/// The defaults of a model's parameters, from its parameter table (made once per process).
fn model_defaults(model_id: &str) -> &'static Map<String, Value> {
    static DEFAULTS: std::sync::OnceLock<
        std::collections::HashMap<&'static str, Map<String, Value>>,
    > = std::sync::OnceLock::new();
    static NONE: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let defaults = DEFAULTS.get_or_init(|| {
        kling_types::MODELS
            .iter()
            .map(|model| {
                let defaults = model
                    .params
                    .iter()
                    .filter_map(|param| Some((param.json_name.to_owned(), param.default_json()?)))
                    .collect();
                (model.id, defaults)
            })
            .collect()
    });
    defaults
        .get(model_id)
        .unwrap_or_else(|| NONE.get_or_init(Map::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: &str, progress: f64) -> Job {
        serde_json::from_value(
            serde_json::json!({"jobId": "job_1", "status": status, "progress": progress}),
        )
        .unwrap()
    }

    #[test]
    fn pauses_back_off_while_nothing_says_when_the_job_ends() {
        let options = WaitOptions::default();
        let track = ProgressTrack::default();
        let pauses: Vec<u128> = (1..=12)
            .map(|looks| {
                options
                    .next_pause(looks, Duration::ZERO, &job("queued", 0.0), &track)
                    .as_millis()
            })
            .collect();
        assert_eq!(
            pauses,
            [
                200, 300, 450, 675, 1012, 1518, 2278, 3417, 5125, 7688, 10000, 10000
            ]
        );
    }

    #[test]
    fn moving_progress_aims_at_its_end() {
        let options = WaitOptions::default();
        let start = Instant::now();
        let mut track = ProgressTrack::default();
        track.record(&job("in-progress", 0.1), start);
        track.record(&job("in-progress", 0.2), start + Duration::from_secs(1));
        // 10% a second, 80% to go: the end is 8 s away; far, so halve the distance.
        assert_eq!(
            options.next_pause(3, Duration::from_secs(5), &job("in-progress", 0.2), &track),
            Duration::from_secs(4)
        );
        track.record(&job("in-progress", 0.9), start + Duration::from_secs(8));
        // Near: straight to it.
        assert_eq!(
            options.next_pause(6, Duration::from_secs(12), &job("in-progress", 0.9), &track),
            Duration::from_secs(1)
        );
        // A status from a newer server does not move the estimate.
        track.record(&job("thinking", 0.95), start + Duration::from_secs(9));
        assert_eq!(track.latest.map(|(_, progress)| progress), Some(0.9));
    }

    #[test]
    fn finalizing_looks_again_after_a_share_of_the_wait() {
        let options = WaitOptions::default();
        let track = ProgressTrack::default();
        assert_eq!(
            options.next_pause(9, Duration::from_secs(100), &job("finalizing", 1.0), &track),
            Duration::from_secs(5)
        );
        assert_eq!(
            options.next_pause(
                9,
                Duration::from_millis(100),
                &job("finalizing", 1.0),
                &track
            ),
            Duration::from_millis(50)
        );
        // 100 times faster: 10 ms waited is 1 s of the server's time, and the floor is 0.5 ms.
        let scaled = options.scaled(100.0);
        assert_eq!(
            scaled.next_pause(
                9,
                Duration::from_millis(10),
                &job("finalizing", 1.0),
                &track
            ),
            Duration::from_micros(500)
        );
    }
}
