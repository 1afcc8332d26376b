//! How many jobs the batch keeps running at once: as many as `--concurrency` allows and
//! the team's parallel-job limit accepts, learned as TCP learns a path's capacity.
//!
//! Scenario caps the jobs a team runs in parallel; a generate past the cap answers 429
//! with `details.actionLimit` (`kling_client::TeamLimit`), and trying again at once only
//! repeats the refusal. Two numbers bound what leaves:
//! - **jobs in flight** (`running`): submits on their way and jobs not yet seen to end,
//!   at most `--concurrency`, and at most the team's limit once a refusal taught it;
//! - **submits in a burst**: a burst is sent, then no more until every one of its
//!   answers is in; [`INITIAL`] at first, doubling after each burst accepted whole (slow
//!   start: each round of answers doubles it), so a large `--concurrency` against a
//!   small limit begins with a couple of probes, not a wall of refusals (and never
//!   more than [`MAX_BURST`] submits, and so connections, at once).
//!
//! A refusal sets the limit to what was running then (at most the limit the API named:
//! other members of the team may hold slots too), and nothing is sent until a job of
//! ours ends or the hold ([`HOLD`], doubling per refusal in a row) passes. Past a
//! refusal the limit is probed one higher only after [`PROBE_AFTER`] jobs started without
//! one, that count doubling after each failed probe: a hard limit costs a handful of
//! refusals, not one per round. Downloads take no slot.

use std::time::{Duration, Instant};

/// Submits in the first burst.
pub(crate) const INITIAL: usize = 2;
/// The largest burst: a submit takes one round trip, so 32 at a time fill any window
/// in a few rounds, without opening hundreds of connections at once.
pub(crate) const MAX_BURST: usize = 32;
/// The pause after a refusal before the next submit, if no job ends first.
pub(crate) const HOLD: Duration = Duration::from_secs(1);
/// The longest such pause.
const MAX_HOLD: Duration = Duration::from_secs(30);
/// Jobs started without a refusal before the window probes past a limit it learned.
pub(crate) const PROBE_AFTER: u32 = 20;

/// The window's state; every change goes through one of its event methods.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Window {
    /// `--concurrency`: never more jobs in flight.
    max: usize,
    /// The team's limit as learned from refusals (`None`: none seen).
    limit: Option<usize>,
    /// Submits a burst may hold.
    burst: usize,
    /// Submits of the current burst so far, and how many of them were accepted.
    in_burst: usize,
    accepted: usize,
    /// Jobs of ours in flight: submits on their way and jobs not seen to end.
    running: usize,
    /// Submits sent (or about to be) that have no answer yet.
    pending: usize,
    /// No submit before this moment (after a refusal), unless a job ends first.
    hold_until: Option<Instant>,
    /// Refusals in a row, for the hold.
    refusals: u32,
    /// Jobs started since the last refusal, and how many a probe needs.
    started_since_refusal: u32,
    probe_after: u32,
}

impl Window {
    pub(crate) fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            max,
            limit: None,
            burst: INITIAL.min(max),
            in_burst: 0,
            accepted: 0,
            running: 0,
            pending: 0,
            hold_until: None,
            refusals: 0,
            started_since_refusal: 0,
            probe_after: PROBE_AFTER,
        }
    }

    /// Jobs allowed in flight now.
    pub(crate) fn size(&self) -> usize {
        self.limit.unwrap_or(self.max).min(self.max)
    }

    /// Whether a submit may leave now; if not, when to ask again (`None`: when a job
    /// ends or an answer comes).
    pub(crate) fn admits(&self, now: Instant) -> Result<(), Option<Instant>> {
        if let Some(until) = self.hold_until.filter(|until| *until > now) {
            return Err(Some(until));
        }
        if self.running < self.size() && self.in_burst < self.burst {
            Ok(())
        } else {
            Err(None)
        }
    }

    /// A submit will leave (after [`Self::admits`] said yes).
    pub(crate) fn admit(&mut self) {
        self.running += 1;
        self.pending += 1;
        self.in_burst += 1;
    }

    /// An answer to a submit came (or will not): once the burst's last is in, the next
    /// burst starts, twice as large if the whole burst was accepted.
    fn answer(&mut self, accepted: bool) {
        self.pending = self.pending.saturating_sub(1);
        if accepted {
            self.accepted += 1;
        }
        if self.pending == 0 {
            if self.in_burst >= self.burst && self.accepted >= self.in_burst {
                self.burst = self.burst.saturating_mul(2).min(self.max).min(MAX_BURST);
            }
            self.in_burst = 0;
            self.accepted = 0;
        }
    }

    /// A job of an earlier run is watched: it runs whatever the window says.
    pub(crate) fn adopt(&mut self) {
        self.running += 1;
    }

    /// The API accepted a submit: the job runs.
    pub(crate) fn started(&mut self) {
        self.answer(true);
        self.refusals = 0;
        self.hold_until = None;
        self.started_since_refusal = self.started_since_refusal.saturating_add(1);
        let probe_due = self.started_since_refusal >= self.probe_after;
        if let Some(limit) = self.limit.filter(|limit| *limit < self.max && probe_due) {
            // Room may have grown (a teammate's jobs ended, the plan changed).
            self.limit = Some(limit + 1);
            self.started_since_refusal = 0;
        }
    }

    /// The API refused a submit for the team's parallel-job limit (`limit` when it
    /// said): the submit started nothing, its slot is free, and it goes back in the queue.
    pub(crate) fn refused(&mut self, limit: Option<usize>, now: Instant) {
        self.answer(false);
        self.running = self.running.saturating_sub(1);
        let probing = self.limit.is_some();
        // What ran when the refusal came is what the team has room for (others may use
        // slots too, so not more than that even when the API named a higher limit).
        let room = limit.map_or(self.running, |limit| limit.min(self.running));
        self.limit = Some(room.clamp(1, self.max));
        if probing {
            self.probe_after = self.probe_after.saturating_mul(2);
        }
        self.started_since_refusal = 0;
        self.burst = 1;
        let hold = HOLD
            .checked_mul(1 << self.refusals.min(5))
            .unwrap_or(MAX_HOLD)
            .min(MAX_HOLD);
        self.refusals = self.refusals.saturating_add(1);
        self.hold_until = Some(now + hold);
    }

    /// A submit that was admitted did not get an answer about a job (it was not sent,
    /// or failed in another way): it no longer counts as pending.
    pub(crate) fn unanswered(&mut self) {
        self.answer(false);
    }

    /// A job of ours ended (or a task gave its slot up): the slot is free, and a hold
    /// after a refusal is over (the team has room again).
    pub(crate) fn ended(&mut self) {
        self.running = self.running.saturating_sub(1);
        self.hold_until = None;
    }

    /// Jobs of ours in flight.
    pub(crate) fn running(&self) -> usize {
        self.running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One round: every submit the window admits leaves, then the answers come, each
    /// accepted while the team has room (`team_limit` jobs of ours at once). Returns how
    /// many were sent and how many refused.
    fn round(window: &mut Window, team_limit: usize, now: Instant) -> (usize, usize) {
        let mut sent = 0;
        while window.admits(now).is_ok() {
            window.admit();
            sent += 1;
        }
        let before = window.running() - sent;
        let mut refused = 0;
        for n in 0..sent {
            if before + n < team_limit {
                window.started();
            } else {
                window.refused(Some(team_limit), now);
                refused += 1;
            }
        }
        (sent, refused)
    }

    #[test]
    fn submits_without_an_answer_start_few_and_double_each_round() {
        let now = Instant::now();
        let mut window = Window::new(64);
        let sent: Vec<usize> = (0..7)
            .map(|_| round(&mut window, usize::MAX, now).0)
            .collect();
        assert_eq!(
            sent,
            [2, 4, 8, 16, 32, 2, 0],
            "until --concurrency is reached"
        );
        assert_eq!(window.running(), 64, "never more than --concurrency");
    }

    #[test]
    fn a_small_team_limit_under_a_large_concurrency_costs_one_refusal() {
        let now = Instant::now();
        let mut window = Window::new(32);
        let mut refused = 0;
        for _ in 0..3 {
            refused += round(&mut window, 5, now).1;
        }
        assert_eq!(refused, 1, "2 accepted, then 4 sent: 3 accepted, 1 refused");
        assert_eq!(window.size(), 5);
        assert_eq!(window.running(), 5);
    }

    #[test]
    fn after_a_refusal_nothing_is_sent_until_a_job_ends_or_the_hold_passes() {
        let now = Instant::now();
        let mut window = Window::new(8);
        for _ in 0..2 {
            window.admit();
            window.started();
        }
        window.admit();
        window.refused(Some(2), now);
        assert_eq!(
            window.admits(now),
            Err(Some(now + HOLD)),
            "never again at once"
        );
        window.ended();
        assert_eq!(window.admits(now), Ok(()), "a job ended: its slot is free");
        window.admit();
        window.refused(None, now);
        assert_eq!(
            window.admits(now),
            Err(Some(now + HOLD * 2)),
            "the hold doubles"
        );
        assert_eq!(
            window.admits(now + HOLD * 2),
            Err(None),
            "past the hold, the limit is what ran at the refusal: one job, running"
        );
        window.ended();
        assert_eq!(window.admits(now + HOLD * 2), Ok(()));
    }

    #[test]
    fn it_probes_past_a_learned_limit_rarely_and_more_rarely_after_each_failed_probe() {
        let now = Instant::now();
        let mut window = Window::new(32);
        // 200 jobs of 20 rounds (an answer takes one) against a hard limit of 5.
        let (mut started, mut refusals, mut ends) = (0, 0, Vec::<usize>::new());
        for tick in 0.. {
            let ended = ends.iter().filter(|end| **end == tick).count();
            for _ in 0..ended {
                window.ended();
            }
            if started >= 200 {
                break;
            }
            let (sent, refused) = round(&mut window, 5, now + HOLD * 100);
            ends.extend(std::iter::repeat_n(tick + 20, sent - refused));
            started += sent - refused;
            refusals += refused;
        }
        assert!(refusals <= 5, "{refusals} refusals for 200 jobs");
        assert!(window.size() <= 6);
    }

    #[test]
    fn the_team_may_have_less_room_than_its_limit() {
        let now = Instant::now();
        let mut window = Window::new(16);
        for _ in 0..3 {
            window.admit();
            window.started();
        }
        // Others in the team run 7 of its 10 slots: ours were refused at 3.
        window.admit();
        window.refused(Some(10), now);
        assert_eq!(window.size(), 3);
    }
}
