//! How many jobs the batch keeps running at once: as many as `--concurrency` allows and
//! the team's parallel-job limit accepts, learned as TCP learns a path's capacity.
//!
//! Scenario caps the jobs a team runs in parallel; a generate past the cap answers 429
//! with `details.actionLimit` (see `kling_client::TeamLimit`), and trying again at once
//! only repeats the refusal. So the window starts small ([`INITIAL`] jobs) and, while
//! none is refused, makes room for twice what runs as answers come (slow start: it
//! doubles each round of answers). A
//! refusal shrinks it to what was running then (at most the limit the API named: other
//! members of the team may hold slots too), and no submit is sent until a job of ours
//! ends or the hold ([`HOLD`], doubling per refusal in a row) passes. Past a refusal it
//! probes upward by one only after [`PROBE_AFTER`] jobs started without one, doubling
//! that count after each failed probe, so a hard limit costs a handful of refusals, not
//! one per round. A job counts from the moment its submit leaves until the batch sees
//! it end (downloads take no slot).

use std::time::{Duration, Instant};

/// Jobs in flight at the start.
pub(crate) const INITIAL: usize = 2;
/// The pause after a refusal before the next submit, if no job ends first.
pub(crate) const HOLD: Duration = Duration::from_secs(1);
/// The longest such pause.
const MAX_HOLD: Duration = Duration::from_secs(30);
/// Jobs started without a refusal before the window probes past a limit it learned.
pub(crate) const PROBE_AFTER: u32 = 20;

/// The window's state; every change goes through one of its event methods.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Window {
    /// `--concurrency`: never more.
    max: usize,
    /// Jobs allowed in flight now.
    size: usize,
    /// The size at which growth stops being exponential (set by a refusal).
    limit: Option<usize>,
    /// Jobs of ours in flight: submits on their way and jobs not seen to end.
    running: usize,
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
            size: INITIAL.min(max),
            limit: None,
            running: 0,
            hold_until: None,
            refusals: 0,
            started_since_refusal: 0,
            probe_after: PROBE_AFTER,
        }
    }

    /// Whether a submit may leave now; if not, when to ask again (`None`: when a job ends).
    pub(crate) fn admits(&self, now: Instant) -> Result<(), Option<Instant>> {
        if let Some(until) = self.hold_until.filter(|until| *until > now) {
            return Err(Some(until));
        }
        if self.running < self.size {
            Ok(())
        } else {
            Err(None)
        }
    }

    /// A submit leaves (after [`Self::admits`] said yes), or a job of an earlier run is
    /// adopted (it runs whatever the window says).
    pub(crate) fn enter(&mut self) {
        self.running += 1;
    }

    /// The API accepted a submit: the job runs.
    pub(crate) fn started(&mut self) {
        self.refusals = 0;
        self.hold_until = None;
        self.started_since_refusal = self.started_since_refusal.saturating_add(1);
        match self.limit {
            // Slow start: room for twice what runs, a doubling per round of answers.
            None => self.size = self.size.max(self.running.saturating_mul(2)).min(self.max),
            // Past a refusal: probe one higher only now and then.
            Some(_) if self.started_since_refusal >= self.probe_after => {
                self.size = (self.size + 1).min(self.max);
                self.started_since_refusal = 0;
            }
            Some(_) => {}
        }
    }

    /// The API refused a submit for the team's parallel-job limit (`limit` when it
    /// said): the submit started nothing and goes back in the queue.
    pub(crate) fn refused(&mut self, limit: Option<usize>, now: Instant) {
        self.running = self.running.saturating_sub(1);
        let probing = self.limit.is_some_and(|known| self.size > known);
        // What ran when the refusal came is what the team has room for (others may use
        // slots too, so not more than that even when the API named a higher limit).
        let room = limit.map_or(self.running, |limit| limit.min(self.running.max(1)));
        self.size = room.clamp(1, self.max);
        self.limit = Some(self.size);
        if probing {
            self.probe_after = self.probe_after.saturating_mul(2);
        }
        self.started_since_refusal = 0;
        let hold = HOLD
            .checked_mul(1 << self.refusals.min(5))
            .unwrap_or(MAX_HOLD)
            .min(MAX_HOLD);
        self.refusals = self.refusals.saturating_add(1);
        self.hold_until = Some(now + hold);
    }

    /// A job of ours ended (or a submit failed for another reason): its slot is free,
    /// and a hold after a refusal is over (the team has room again).
    pub(crate) fn ended(&mut self) {
        self.running = self.running.saturating_sub(1);
        self.hold_until = None;
    }

    /// Jobs of ours in flight.
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// Jobs allowed in flight now.
    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills the window: submits until it says no, each accepted while the team has
    /// room (`team_limit`), refused past it. Returns how many were refused.
    fn fill(window: &mut Window, team_limit: usize, now: Instant) -> usize {
        let mut refused = 0;
        while window.admits(now).is_ok() {
            window.enter();
            if window.running() <= team_limit {
                window.started();
            } else {
                window.refused(Some(team_limit), now);
                refused += 1;
            }
        }
        refused
    }

    #[test]
    fn it_starts_small_and_doubles_each_round_while_nothing_is_refused() {
        let now = Instant::now();
        let mut window = Window::new(64);
        assert_eq!(window.size(), INITIAL);
        let mut in_flight = Vec::new();
        for _ in 0..7 {
            // A round: every submit the window admits leaves, then their answers come.
            let mut sent = 0;
            while window.admits(now).is_ok() {
                window.enter();
                sent += 1;
            }
            for _ in 0..sent {
                window.started();
            }
            in_flight.push(window.running());
        }
        assert_eq!(
            in_flight,
            [2, 4, 8, 16, 32, 64, 64],
            "never more than --concurrency"
        );
    }

    #[test]
    fn a_refusal_sets_the_window_to_the_team_limit_and_holds_submits() {
        let now = Instant::now();
        let mut window = Window::new(32);
        let mut refused = 0;
        for _ in 0..4 {
            refused += fill(&mut window, 5, now);
            assert!(window.running() <= 5);
            while window.running() > 0 {
                window.ended();
            }
        }
        assert_eq!(refused, 1, "one refusal teaches the limit");
        assert_eq!(window.size(), 5);
    }

    #[test]
    fn after_a_refusal_nothing_is_sent_until_a_job_ends_or_the_hold_passes() {
        let now = Instant::now();
        let mut window = Window::new(8);
        for _ in 0..2 {
            window.enter();
            window.started();
        }
        window.enter();
        window.refused(Some(2), now);
        assert_eq!(
            window.admits(now),
            Err(Some(now + HOLD)),
            "never again at once"
        );
        window.ended();
        assert_eq!(window.admits(now), Ok(()), "a job ended: its slot is free");
        window.enter();
        window.refused(None, now);
        assert_eq!(
            window.admits(now),
            Err(Some(now + HOLD * 2)),
            "the hold doubles"
        );
        assert_eq!(
            window.admits(now + HOLD * 2),
            Err(None),
            "past the hold, the window is what ran at the refusal: one job, running"
        );
        window.ended();
        assert_eq!(window.admits(now + HOLD * 2), Ok(()));
    }

    #[test]
    fn it_probes_past_a_learned_limit_rarely_and_more_rarely_after_each_failed_probe() {
        let now = Instant::now();
        let mut window = Window::new(32);
        let mut refusals = 0;
        let mut started = 0;
        // 200 jobs against a hard limit of 5, one round at a time.
        while started < 200 {
            let before = window.running();
            refusals += fill(&mut window, 5, now);
            started += window.running() - before.min(window.running());
            window.ended();
        }
        assert!(refusals <= 5, "{refusals} refusals for 200 jobs");
        assert_eq!(window.size(), 5);
    }

    #[test]
    fn the_team_may_have_less_room_than_its_limit() {
        let now = Instant::now();
        let mut window = Window::new(16);
        for _ in 0..3 {
            window.enter();
            window.started();
        }
        // Others in the team run 7 of its 10 slots: ours were refused at 3.
        window.enter();
        window.refused(Some(10), now);
        assert_eq!(window.size(), 3);
    }
}
