//! Waiting for many jobs at once with one job-list request per tick
//! (`GET /v1/jobs?updatedAfter=…`, every page) instead of one request per job.
//!
//! Each job keeps the schedule [`WaitOptions`] gives it alone (fast at first, aiming
//! at its end, a share of the wait once finalizing); the board looks at the list when
//! the earliest of those looks is due, so no job's end is seen later than it would be
//! polled alone, and a thousand jobs in flight cost one request per tick, not a
//! thousand. A list shows only jobs that changed; a job the lists have not shown for
//! [`JobBoard::STALE_AFTER`] (a server whose list lags, a job stuck in one status) gets
//! a `GET /v1/jobs/{id}` of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use kling_types::JobId;
use kling_types::api::Job;

use crate::client::Client;
use crate::error::Error;
use crate::jobs::{JobFilter, ProgressTrack, WaitOptions};

/// How far back each list reaches before the newest change it has seen, so that a
/// change stamped in the same instant as the last one seen is not missed.
const OVERLAP: Duration = Duration::from_secs(1);

/// Many jobs waited for together. Cheap to share (`&JobBoard` across tasks); the
/// polling runs in a task of its own, which ends when the board is dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = kling_sandbox::Sandbox::start(kling_sandbox::SandboxConfig::default()).await?;
/// # let client = kling_client::Client::new(kling_client::Credentials::new("sandbox-key", "sandbox-secret")).with_base_url(sandbox.base_url());
/// use kling_types::kling_v1_6_pro::Kling16ProRequest;
///
/// let board = client.job_board(kling_client::WaitOptions::default());
/// let first = client.submit(&Kling16ProRequest::new("a fox")).await?;
/// let second = client.submit(&Kling16ProRequest::new("a hare")).await?;
/// let (first, second) = tokio::join!(board.wait(first.job_id()), board.wait(second.job_id()));
/// assert!(first.is_ok() && second.is_ok());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct JobBoard {
    shared: Arc<Shared>,
    poller: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    client: Client,
    options: WaitOptions,
    state: Mutex<State>,
    /// Wakes the poller when a job is added.
    added: tokio::sync::Notify,
}

/// What the board knows: the jobs it waits for and how far the lists have read.
#[derive(Debug, Default)]
struct State {
    jobs: HashMap<String, Tracked>,
    /// `updatedAfter` of the next list: the newest change seen, less [`OVERLAP`].
    cursor: Option<SystemTime>,
    /// Requests made: lists (each page counts) and single looks.
    requests: u64,
}

#[derive(Debug)]
struct Tracked {
    /// The latest look, to whoever waits.
    sender: tokio::sync::watch::Sender<Option<Job>>,
    added: Instant,
    /// When a list or a single look last showed it, and how many looks it had.
    seen: Instant,
    looks: u32,
    /// When the next look at it is due, by its own schedule.
    due: Instant,
    progress: ProgressTrack,
    /// Added without knowing when it was created (an id from a journal): the lists may
    /// never show it if it does not change again, so its first look is one of its own.
    first_alone: bool,
}

impl JobBoard {
    /// How long a job may go unseen in the lists before it is looked up alone.
    pub const STALE_AFTER: Duration = Duration::from_secs(30);

    fn new(client: Client, options: WaitOptions) -> Self {
        let shared = Arc::new(Shared {
            client,
            options,
            state: Mutex::new(State::default()),
            added: tokio::sync::Notify::new(),
        });
        let poller = tokio::spawn(Arc::clone(&shared).poll());
        Self { shared, poller }
    }

    /// Waits until the job ends, as [`Client::wait`] does: `Ok` with the job on
    /// success, [`Error::JobFailed`] or [`Error::JobCanceled`] otherwise, and
    /// [`Error::Deadline`] (the job goes on) when the options' deadline passes.
    pub async fn wait(&self, job_id: &JobId) -> Result<Job, Error> {
        let updates = self.shared.add(job_id, None);
        self.wait_on(job_id, updates).await
    }

    /// [`Self::wait`] for a job just started ([`Submitted::job`](crate::Submitted::job)):
    /// what the job already says saves a look.
    pub async fn wait_for(&self, job: &Job) -> Result<Job, Error> {
        let updates = self.shared.add(&job.job_id, Some(job));
        self.wait_on(&job.job_id, updates).await
    }

    async fn wait_on(
        &self,
        job_id: &JobId,
        mut updates: tokio::sync::watch::Receiver<Option<Job>>,
    ) -> Result<Job, Error> {
        let started = Instant::now();
        let ended = async {
            loop {
                if let Some(job) = updates
                    .borrow_and_update()
                    .as_ref()
                    .filter(|job| job.status.is_terminal())
                {
                    return Ok(job.clone());
                }
                if updates.changed().await.is_err() {
                    return Err(Error::Ended {
                        what: "the job board stopped",
                    });
                }
            }
        };
        let outcome = match self.shared.options.deadline {
            Some(deadline) => match tokio::time::timeout(deadline, ended).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    let status = updates
                        .borrow()
                        .as_ref()
                        .map(|job| job.status.clone())
                        .unwrap_or(kling_types::api::JobStatus::Queued);
                    Err(Error::Deadline {
                        job_id: job_id.clone(),
                        status,
                        waited: started.elapsed(),
                    })
                }
            },
            None => ended.await,
        };
        self.shared.state().jobs.remove(job_id.as_str());
        crate::jobs::outcome(outcome?)
    }

    /// How many requests the board made so far (each page of a list counts).
    pub fn requests(&self) -> u64 {
        self.shared.state().requests
    }
}

impl Drop for JobBoard {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, job_id: &JobId, job: Option<&Job>) -> tokio::sync::watch::Receiver<Option<Job>> {
        let now = Instant::now();
        let created = job
            .and_then(|job| job.created_at.as_deref())
            .and_then(kling_types::__private::time::parse_iso8601);
        let mut state = self.state();
        let receiver = match state.jobs.get(job_id.as_str()) {
            Some(tracked) => tracked.sender.subscribe(),
            None => {
                let (sender, receiver) = tokio::sync::watch::channel(job.cloned());
                let mut tracked = Tracked {
                    sender,
                    added: now,
                    seen: now,
                    looks: 0,
                    // The first look is immediate, as when waiting alone.
                    due: now,
                    progress: ProgressTrack::default(),
                    first_alone: created.is_none(),
                };
                if let Some(job) = job {
                    // The submit's answer was the first look.
                    tracked.looks = 1;
                    tracked.progress.record(job, now);
                    tracked.due = now + tracked.pause(&self.options, now, Some(job));
                }
                state.jobs.insert(job_id.as_str().to_owned(), tracked);
                receiver
            }
        };
        // Lists must reach back to the job's creation (server time); a job of unknown
        // creation gets its first look alone, and the lists only need to show changes
        // from now on.
        let from = match created {
            Some(created) => created.checked_sub(OVERLAP),
            None => SystemTime::now().checked_sub(self.client.retry.clock_skew),
        }
        .unwrap_or(SystemTime::UNIX_EPOCH);
        state.cursor = Some(match (state.cursor, created) {
            (Some(cursor), Some(_)) => cursor.min(from),
            (Some(cursor), None) => cursor,
            (None, _) => from,
        });
        drop(state);
        self.added.notify_one();
        receiver
    }

    /// The poller: sleeps until the earliest look is due, then lists what changed.
    async fn poll(self: Arc<Self>) {
        loop {
            let due = self.state().jobs.values().map(|tracked| tracked.due).min();
            match due {
                None => self.added.notified().await,
                Some(due) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(due.into()) => self.look().await,
                        // A job was added: its first look may be due sooner.
                        () = self.added.notified() => {}
                    }
                }
            }
        }
    }

    /// One tick: every page of the jobs changed since the cursor, then a look of its
    /// own for each job the lists have not shown for long.
    async fn look(&self) {
        let Some(cursor) = self.state().cursor else {
            return;
        };
        let looked_at = Instant::now();
        let filter = JobFilter {
            updated_after: Some(cursor),
            page_size: Some(100),
            ..JobFilter::default()
        };
        let mut token: Option<String> = None;
        let mut listed = Vec::new();
        loop {
            self.state().requests += 1;
            match self.client.jobs_page(&filter, token.as_deref()).await {
                Ok(page) => {
                    // Stamped when the page came (not when the look began): a page that
                    // needed retries must not make a job's progress look slow.
                    let arrived = Instant::now();
                    listed.extend(page.jobs.into_iter().map(|job| (job, arrived)));
                    token = page.next_pagination_token;
                    if token.is_none() {
                        break;
                    }
                }
                Err(error) => {
                    // The client retried already; the next tick tries again.
                    tracing::warn!(%error, "listing the jobs in flight failed");
                    self.postpone(looked_at);
                    return;
                }
            }
        }
        let newest = listed
            .iter()
            .filter_map(|(job, _)| job.updated_at.as_deref())
            .filter_map(kling_types::__private::time::parse_iso8601)
            .max();
        {
            let mut state = self.state();
            if let Some(newest) = newest {
                let cursor = newest
                    .checked_sub(OVERLAP)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                state.cursor = Some(state.cursor.map_or(cursor, |old| old.max(cursor)));
            }
            for (job, arrived) in listed {
                if let Some(tracked) = state.jobs.get_mut(job.job_id.as_str()) {
                    tracked.show(job, arrived, &self.options);
                }
            }
            state.looked(looked_at, &self.options);
        }
        let stale: Vec<String> = self
            .state()
            .jobs
            .iter()
            .filter(|(_, tracked)| {
                looked_at.duration_since(tracked.seen) >= JobBoard::STALE_AFTER
                    || (tracked.first_alone && tracked.seen <= tracked.added)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            self.state().requests += 1;
            match self.client.job(&JobId::new(id.clone())).await {
                Ok(job) => {
                    if let Some(tracked) = self.state().jobs.get_mut(&id) {
                        tracked.show(job, Instant::now(), &self.options);
                    }
                }
                Err(error) => tracing::warn!(%error, job_id = %id, "looking up a job failed"),
            }
        }
    }

    /// After a failed list: look again after the longest backoff pause.
    fn postpone(&self, looked_at: Instant) {
        for tracked in self.state().jobs.values_mut() {
            tracked.due = tracked
                .due
                .max(looked_at + self.options.max_poll.min(Duration::from_secs(5)));
        }
    }
}

impl State {
    /// A list asked at `looked_at` did not show the jobs that did not change. For each
    /// whose own look was due, that was it. A tick that came early for a job (another
    /// job's look) leaves its schedule as it was: counting it would stretch its pauses
    /// and push its next look past the end it aims at.
    fn looked(&mut self, looked_at: Instant, options: &WaitOptions) {
        for tracked in self.jobs.values_mut() {
            if tracked.added <= looked_at && tracked.seen < looked_at && tracked.due <= looked_at {
                tracked.looks += 1;
                tracked.due = looked_at + tracked.pause(options, looked_at, None);
            }
        }
    }
}

impl Tracked {
    /// A look showed `job` as it is now.
    fn show(&mut self, job: Job, at: Instant, options: &WaitOptions) {
        self.seen = at;
        self.first_alone = false;
        self.looks += 1;
        self.progress.record(&job, at);
        self.due = at + self.pause(options, at, Some(&job));
        let changed = self.sender.borrow().as_ref().is_none_or(|old| {
            old.status != job.status || old.progress != job.progress || job.status.is_terminal()
        });
        if changed {
            self.sender.send_replace(Some(job));
        }
    }

    /// The pause before its next look, by its own schedule.
    fn pause(&self, options: &WaitOptions, at: Instant, job: Option<&Job>) -> Duration {
        let latest = self.sender.borrow();
        match job.or(latest.as_ref()) {
            Some(job) => options.next_pause(
                self.looks,
                at.duration_since(self.added),
                job,
                &self.progress,
            ),
            None => options.first_poll,
        }
    }
}

impl Client {
    /// A board to wait for many jobs with one job-list request per tick
    /// ([`JobBoard`]). Must be called inside a tokio runtime.
    pub fn job_board(&self, options: WaitOptions) -> JobBoard {
        JobBoard::new(self.clone(), options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(added: Instant, due: Instant) -> Tracked {
        let (sender, _) = tokio::sync::watch::channel(None);
        Tracked {
            sender,
            added,
            seen: added,
            looks: 1,
            due,
            progress: ProgressTrack::default(),
            first_alone: false,
        }
    }

    #[test]
    fn a_tick_early_for_a_job_leaves_its_schedule_as_it_was() {
        let options = WaitOptions::default();
        let added = Instant::now();
        let mut state = State::default();
        state.jobs.insert(
            "early".into(),
            tracked(added, added + Duration::from_secs(2)),
        );
        state.jobs.insert(
            "due".into(),
            tracked(added, added + Duration::from_millis(500)),
        );
        // A list at 1 s, for the job whose look was due; neither changed.
        let looked_at = added + Duration::from_secs(1);
        state.looked(looked_at, &options);
        let early = &state.jobs["early"];
        assert_eq!(
            early.due,
            added + Duration::from_secs(2),
            "its own look stands"
        );
        assert_eq!(early.looks, 1, "an early tick is not one of its looks");
        let due = &state.jobs["due"];
        assert_eq!(due.looks, 2);
        assert!(
            due.due > looked_at,
            "its next look follows its own schedule"
        );
    }
}
