//! How much of a shared quota is ours: the policy behind "a 429 slows the run".
//!
//! A vendor's quota is per account. A 429 while our own requests were within it means that
//! someone else is using part of it, and the refusal says how much room there was: our own
//! usage of the vendor's window when the refused request arrived (`usage`, a fraction of
//! the quota) did not fit beside theirs. So the whole run slows to just under that level
//! (the refused request alone waits for its `Retry-After`) and holds there. Every
//! [`Share::PROBE_GAP`] windows it probes the refused level again with one request, sent
//! alone ([`Share::is_probe`]): against a caller that keeps its pace, that costs one 429
//! per probe, and the plateau carries everything the other caller leaves. A probe that
//! goes through means the room grew: the run climbs back to the whole quota at once, each
//! new level again a request sent alone, so the climb is paced by the vendor's answers and
//! a refusal on the way costs one request. Everything stops only when the vendor asks for
//! a long wait or when 429s keep coming after slowing down.
//!
//! The gap between probes is the trade: a probe every `g` windows costs one 429 per `g`
//! windows of the run's requests while the quota stays shared, and the run notices that the
//! other caller stopped up to `g` windows late.
//!
//! A refusal at a level the vendor accepted repeatedly is noise and cuts nothing, but a
//! caller that starts while the run fills the whole quota makes only such refusals. When
//! they are a share of a window's answers that noise rarely reaches, the run makes a
//! *trial*: it goes to three quarters of what the vendor took from it over that window and
//! watches the requests that meet a window made at that pace. One refused: the refusals did
//! not follow our pace (noise), the pace before comes back. Enough answers without one:
//! they did (the room shrank), and the run climbs from there as after any cut.
//!
//! Pure state over caller-supplied instants: unit-testable without sleeping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What the pacer should do about an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reaction {
    /// Nothing beyond retrying the refused request.
    None,
    /// The run slowed to this fraction of the quota.
    Slowed(f64),
    /// Every worker waits at least this long; the run then goes on at this fraction.
    PauseAll(Duration, f64),
}

/// Where the pace stands after a cut: it holds `level`, then probes `refused_at` again.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Schedule {
    /// The fraction we slowed to (1 before any cut).
    level: f64,
    /// The usage that was refused.
    refused_at: f64,
    cut_at: Option<Instant>,
}

impl Schedule {
    const FULL: Self = Self {
        level: 1.0,
        refused_at: 1.0,
        cut_at: None,
    };
}

/// The largest usages the vendor accepted in one window-long bucket, largest first.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Accepted {
    bucket: u64,
    top: [f64; Share::CONFIRMED],
}

impl Accepted {
    const NONE: Self = Self {
        bucket: 0,
        top: [0.0; Share::CONFIRMED],
    };

    fn add(&mut self, usage: f64) {
        if let Some(i) = self.top.iter().position(|&u| usage > u) {
            self.top.copy_within(i..Share::CONFIRMED - 1, i + 1);
            self.top[i] = usage;
        }
    }
}

/// A trial cut (see [`Share::on_refused`]): the run went well below what the vendor took
/// from it, to see whether the refusals follow its pace.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Trial {
    started: Instant,
    /// The schedule and bound to go back to if they do not (noise).
    before: Schedule,
    before_bound: f64,
    /// The levels the vendor had confirmed, to count as confirmed again after noise.
    before_accepted: [f64; Share::CONFIRMED],
    /// What the vendor took from us in the window before the trial.
    room: f64,
    /// The trial's level.
    level: f64,
    /// Answers without a 429 so far, for requests admitted once the window had turned over
    /// at its pace.
    clean: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Probation {
    schedule: Schedule,
    bound: f64,
    level: f64,
    accepted: usize,
}

/// Our share of a quota over time.
#[derive(Debug, Clone)]
pub struct Share {
    /// The quota's window (the longest, when there are two): the unit of every delay here.
    window: Duration,
    schedule: Schedule,
    /// The lowest usage refused since a larger one was accepted: more than what is left
    /// for us (infinite when nothing says so).
    bound: f64,
    /// The schedule before a cut that went only halfway down (the refused usage was far
    /// below our pace): restored if a request above the refused usage goes through.
    undo: Option<Schedule>,
    /// A refusal at or above `bound` came while the cut was only halfway.
    confirming: bool,
    /// A probe went through, but its level is not yet confirmed: the plateau and bound it
    /// left, and the probe's usage. A probe can slip through while the other caller waits
    /// out a 429 of its own; if the climb is refused before the vendor has accepted the
    /// probe's level [`Self::CONFIRMED`] times, the run goes back to that plateau.
    probation: Option<Probation>,
    /// 429s in a row for requests admitted after the last cut, with no other answer between.
    strikes: u32,
    /// Since the first cut, a request above every level the vendor confirmed lately goes
    /// alone (see [`Share::is_probe`]). Before it, the run starts at full speed.
    careful: bool,
    /// The usages the vendor accepted, per window-long bucket (current, previous).
    accepted: [Accepted; 2],
    /// The last 429, whatever was made of it: requests go in groups only well after it
    /// (see [`Share::calm`]).
    last_refused: Option<Instant>,
    /// What the vendor took from us in the last window: when each accepted request was
    /// answered and its part of the quota.
    took: VecDeque<(Instant, f64)>,
    /// When each 429 of the last window that was dismissed as noise came.
    noise: VecDeque<Instant>,
    trial: Option<Trial>,
    /// The share of a window's answers that refusals dismissed as noise must reach to start
    /// a trial: [`Self::NOISE_SHARE`], doubled after each trial until
    /// [`Self::TRIAL_MEMORY`] windows pass without one.
    storm_share: f64,
    last_trial: Option<Instant>,
    epoch: Instant,
}

impl Share {
    /// A cut lands this far below the refused usage.
    pub const MARGIN: f64 = 0.04;
    /// Windows at the cut level before the refused level is probed again. Recovery after
    /// the other caller stops takes up to this plus the climb (about two windows).
    pub const PROBE_GAP: f64 = 7.5;
    /// A probe that is not answered (a lost ticket) holds the others at most this many
    /// windows.
    pub const PROBE_WAIT: f64 = 1.0;
    /// While probing goes unanswered, the allowance climbs above the refused level from
    /// this fraction of the quota ...
    pub const FIRST_STEP: f64 = 0.01;
    /// ... doubling every this many windows (it only matters for an idle run: each new
    /// level waits for the answer to the last).
    pub const DOUBLING: f64 = 0.5;
    /// Never below this fraction of the quota.
    pub const FLOOR: f64 = 0.02;
    /// 429s in a row after slowing down that stop everything.
    pub const STRIKES: u32 = 4;
    /// A level the vendor accepted this many times in the last two windows works: a
    /// refusal there is noise. Once is not enough: a probe can slip through while the
    /// other caller waits out its own 429, and comes back for the room.
    const CONFIRMED: usize = 3;
    /// Windows without a 429 before requests may go in groups again: more than
    /// [`Self::PROBE_GAP`], so a run that probes a shared quota never groups.
    pub const CALM_AFTER_429: f64 = 10.0;
    /// Windows from the start before the first group: a quota shared from the start shows
    /// it with a 429 in the first window, met by requests spaced one at a time.
    pub const CALM_AT_START: f64 = 2.0;
    /// 429s dismissed as noise in one window that start a trial, when they are also at
    /// least [`Self::NOISE_SHARE`] of its answers (noise at 10% does that in about one
    /// window in six; a caller that starts mid-run, ~29% of them, in the first).
    pub const NOISE_STORM: usize = 3;
    pub const NOISE_SHARE: f64 = 0.2;
    /// A trial holds this fraction of what the vendor took from us in the window before it
    /// (what another caller left us, with a margin for its backlog) ...
    pub const TRIAL_DEPTH: f64 = 0.75;
    /// ... until one 429 says noise, or [`Self::TRIAL_ANSWERS`] answers without one say
    /// the room shrank, or this many windows pass (noise: nothing said otherwise).
    pub const TRIAL: f64 = 6.0;
    /// Answers without a 429 that prove the refusals followed our pace: noise that refuses
    /// one request in ten would have refused one of them 19 times in 20 (0.9^29 < 0.05).
    pub const TRIAL_ANSWERS: u32 = 29;
    /// Windows after a trial during which the next one needs twice the share of refusals.
    pub const TRIAL_MEMORY: f64 = 30.0;

    pub fn new(window: Duration, now: Instant) -> Self {
        Self {
            window: window.max(Duration::from_millis(1)),
            schedule: Schedule::FULL,
            bound: f64::INFINITY,
            undo: None,
            confirming: false,
            probation: None,
            strikes: 0,
            careful: false,
            accepted: [Accepted::NONE; 2],
            last_refused: None,
            took: VecDeque::new(),
            noise: VecDeque::new(),
            trial: None,
            storm_share: Self::NOISE_SHARE,
            last_trial: None,
            epoch: now,
        }
    }

    /// The vendor took a request whose part of the quota was `weight` (answered at `now`).
    pub fn took(&mut self, now: Instant, weight: f64) {
        self.took.push_back((now, weight));
        self.forget(now);
    }

    /// Drop what left the last window from `took` and `noise`.
    fn forget(&mut self, now: Instant) {
        let old = |t: Instant| now.saturating_duration_since(t) >= self.window;
        while self.took.front().is_some_and(|&(t, _)| old(t)) {
            self.took.pop_front();
        }
        while self.noise.front().is_some_and(|&t| old(t)) {
            self.noise.pop_front();
        }
    }

    /// Settle a trial. `shared`: the refusals followed our pace (the room shrank): the run
    /// climbs from the trial's level, each new level a probe, and the first refusal on the
    /// way sets where it holds, as after any cut. Otherwise (noise, or the trial ran out of
    /// time) the pace before comes back and the levels confirmed before count again. Either
    /// way the next trial, within [`Self::TRIAL_MEMORY`] windows, needs twice the share of
    /// refusals.
    fn settle_trial(&mut self, now: Instant, shared: bool) {
        let Some(t) = self.trial.take() else { return };
        self.storm_share = (self.storm_share * 2.0).min(1.0);
        self.last_trial = Some(now);
        if shared {
            self.bound = t.room;
            let climb_from = now
                .checked_sub(self.window.mul_f64(Self::PROBE_GAP))
                .unwrap_or(now);
            self.schedule = Schedule {
                level: t.level,
                refused_at: t.level,
                cut_at: Some(climb_from),
            };
            self.careful = true;
        } else {
            self.schedule = t.before;
            self.bound = t.before_bound;
            let b = self.bucket(now);
            self.accepted[0] = Accepted {
                bucket: b,
                top: t.before_accepted,
            };
            self.accepted[1] = Accepted::NONE;
        }
    }

    /// Whether a request admitted at `admitted` met a window made at the trial's pace.
    fn in_trial(&self, admitted: Instant) -> bool {
        self.trial
            .is_some_and(|t| admitted >= t.started + self.window)
    }

    /// Whether nothing suggests that anyone else uses the quota: the whole of it is ours,
    /// no climb is on probation, and no 429 came for a while ([`Self::CALM_AT_START`]
    /// windows from the start, [`Self::CALM_AFTER_429`] after the last one). Only then may
    /// requests leave in groups; a 429 turns it off at once.
    pub fn calm(&self, now: Instant) -> bool {
        let (since, windows) = match self.last_refused {
            Some(t) => (t, Self::CALM_AFTER_429),
            None => (self.epoch, Self::CALM_AT_START),
        };
        self.probation.is_none()
            && self.factor(now) >= 1.0
            && self.windows_since(since, now) >= windows
    }

    /// A `Retry-After` longer than this stops every worker: the vendor is not asking for a
    /// window to pass but for a break (two windows, at least two seconds).
    pub fn long_wait(&self) -> Duration {
        (self.window * 2).max(Duration::from_secs(2))
    }

    /// The quota's window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// How long a probe holds the others when its answer never comes.
    pub fn probe_wait(&self) -> Duration {
        self.window.mul_f64(Self::PROBE_WAIT)
    }

    /// The fraction of the quota we may use at `now`.
    pub fn factor(&self, now: Instant) -> f64 {
        let Schedule {
            level,
            refused_at,
            cut_at,
        } = self.schedule;
        let Some(cut) = cut_at else {
            return 1.0;
        };
        let t = self.windows_since(cut, now);
        let f = if t < Self::PROBE_GAP {
            level
        } else {
            let probe = t - Self::PROBE_GAP;
            level.max(refused_at) + Self::FIRST_STEP * ((probe / Self::DOUBLING).exp2() - 1.0)
        };
        f.min(1.0)
    }

    /// Whether a request admitted at `now` with our usage at `usage` must go alone (no
    /// other is admitted until its answer): once the quota has shown itself shared, a
    /// level above every one the vendor confirmed lately is a probe, and a probe refused
    /// with another request behind it would cost two 429s instead of one.
    pub fn is_probe(&self, now: Instant, usage: f64) -> bool {
        self.careful && usage > self.recently_accepted(now, 0) + 1e-9
    }

    fn windows_since(&self, from: Instant, now: Instant) -> f64 {
        now.saturating_duration_since(from).as_secs_f64() / self.window.as_secs_f64()
    }

    fn bucket(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.epoch).as_secs_f64() / self.window.as_secs_f64()) as u64
    }

    /// The vendor accepted a request admitted at `admitted` with our usage at `usage`.
    pub fn on_accepted(&mut self, now: Instant, admitted: Instant, usage: f64) {
        self.strikes = 0;
        if let Some(t) = self.trial {
            if self.windows_since(t.started, now) >= Self::TRIAL {
                self.settle_trial(now, false);
            } else if self.in_trial(admitted) {
                let clean = t.clean + 1;
                self.trial = Some(Trial { clean, ..t });
                if clean >= Self::TRIAL_ANSWERS {
                    self.settle_trial(now, true);
                }
            }
        }
        if let Some(p) = &mut self.probation
            && usage >= p.level - 1e-9
        {
            p.accepted += 1;
            if p.accepted >= Self::CONFIRMED {
                self.probation = None;
            }
        }
        if usage >= self.bound - 1e-9 {
            // The refused usage went through: that refusal was not the quota, or the room
            // grew (the other caller slowed down or stopped).
            if let Some(before) = self.undo.take() {
                // A halfway cut on one refusal far below our pace: undone.
                self.schedule = before;
                self.bound = f64::INFINITY;
                self.confirming = false;
            } else if self.schedule.cut_at.is_some_and(|c| admitted >= c) {
                // Admitted under the cut: a probe (or a later request) that the vendor
                // took. Back to the whole quota; each new level on the way goes alone, so
                // the climb is paced by the answers. A request admitted before the cut
                // says nothing about the room now: it may have met the vendor's window
                // in a better moment than our count of it (ours is a little longer).
                self.probation = Some(Probation {
                    schedule: self.schedule,
                    bound: self.bound,
                    level: usage,
                    accepted: 1,
                });
                self.schedule = Schedule::FULL;
                self.bound = f64::INFINITY;
                self.confirming = false;
            }
        }
        let b = self.bucket(now);
        if self.accepted[0].bucket != b {
            self.accepted[1] = if self.accepted[0].bucket + 1 == b {
                self.accepted[0]
            } else {
                Accepted::NONE
            };
            self.accepted[0] = Accepted {
                bucket: b,
                ..Accepted::NONE
            };
        }
        self.accepted[0].add(usage);
    }

    /// Any answer other than a 429 (an error, a 5xx): not a refusal for quota.
    pub fn on_other(&mut self) {
        self.strikes = 0;
    }

    /// The largest usage the vendor accepted [`Self::CONFIRMED`] times in the current and
    /// the previous window.
    fn confirmed(&self, now: Instant) -> f64 {
        self.recently_accepted(now, Self::CONFIRMED - 1)
    }

    /// The `rank`-th largest usage (0: the largest) the vendor accepted in the current and
    /// the previous window.
    fn recently_accepted(&self, now: Instant, rank: usize) -> f64 {
        let b = self.bucket(now);
        let mut all = Accepted::NONE;
        for a in self
            .accepted
            .iter()
            .filter(|a| a.bucket == b || a.bucket + 1 == b)
        {
            for &u in &a.top {
                all.add(u);
            }
        }
        all.top[rank]
    }

    /// The vendor refused (429) a request admitted at `admitted` with our usage of the
    /// quota at `usage` (this request included).
    pub fn on_refused(&mut self, now: Instant, admitted: Instant, usage: f64) -> Reaction {
        self.last_refused = Some(self.last_refused.map_or(now, |t| t.max(now)));
        if let Some(t) = self.trial {
            // A trial decides on the requests that met a window made at its pace: one
            // refused says noise. One sent before it began is covered by it, as by any cut;
            // one sent since, into a window that still held the old pace, says nothing,
            // unless they keep coming (see `STRIKES`: the trial ends and everyone waits).
            if admitted < t.started {
                return Reaction::None;
            }
            if self.in_trial(admitted) {
                self.settle_trial(now, false);
                return Reaction::None;
            }
            if self.strikes + 1 < Self::STRIKES {
                self.strikes += 1;
                return Reaction::None;
            }
            self.trial = None;
        }
        let after_cut = self.schedule.cut_at.is_none_or(|c| admitted >= c);
        if !after_cut {
            // Sent at the old pace before the cut took effect: the cut already covers it.
            return Reaction::None;
        }
        if let Some(p) = self.probation.take() {
            // Refused on the way up before the probe's level was confirmed: the probe
            // slipped through, the room did not grow. Back to the plateau it left.
            self.bound = p.bound;
            self.cut(now, p.schedule.level, p.schedule.refused_at, false);
            return Reaction::Slowed(p.schedule.level);
        }
        let current = self.factor(now);
        self.strikes += 1;
        if self.strikes >= Self::STRIKES {
            // Slowing down did not help: everyone waits, then goes on at half the pace.
            self.strikes = 0;
            let half = (current.min(usage) * 0.5).max(Self::FLOOR);
            self.bound = self.bound.min(usage);
            self.cut(now, half, usage.min(1.0), false);
            return Reaction::PauseAll(self.window, half);
        }
        // The vendor accepted this much repeatedly within the last two windows: a refusal
        // at a level that works is noise (a hiccup, arrival jitter), not a smaller share.
        // Cutting on it would ratchet the pace down for as long as the noise lasts; a
        // share that really shrank refuses most requests and trips the strikes above.
        if usage <= self.confirmed(now) {
            // Unless they keep coming: every level a run used while it had the whole quota
            // was accepted many times, so a caller that starts mid-run makes only refusals
            // "at a level that works". A share of a window's answers that noise rarely
            // makes starts a trial. (Below the whole quota the run holds a level cut just
            // under a refusal, and probes decide.)
            self.noise.push_back(now);
            self.forget(now);
            if self
                .last_trial
                .is_some_and(|t| self.windows_since(t, now) >= Self::TRIAL_MEMORY)
            {
                self.storm_share = Self::NOISE_SHARE;
            }
            let answers = self.took.len() + self.noise.len();
            if current < 1.0
                || self.probation.is_some()
                || self.noise.len() < Self::NOISE_STORM
                || (self.noise.len() as f64) < self.storm_share * answers as f64
            {
                return Reaction::None;
            }
            return self.start_trial(now, usage, current);
        }
        if usage >= self.bound && self.undo.is_some() && !self.confirming {
            // Halfway down after one refusal far below our pace: one more at or above it
            // before anything larger goes through confirms it.
            self.confirming = true;
            return Reaction::None;
        }
        if usage >= self.bound {
            // Refused again at or above what was refused before (a probe, or a halfway
            // cut confirmed): back to just under it.
            let to = (self.bound * (1.0 - Self::MARGIN))
                .min(current)
                .max(Self::FLOOR);
            self.cut(now, to, self.bound.min(1.0), false);
            return Reaction::Slowed(to);
        }
        // New news: less is left than we thought.
        self.bound = usage;
        let to = (usage * (1.0 - Self::MARGIN)).min(current).max(Self::FLOOR);
        // At most half per refusal: one refused while our window was nearly empty (start-up,
        // after a pause) says little about how much is left, and noise looks the same. It
        // is undone as soon as something larger goes through.
        let provisional = to < current * 0.5;
        let to = if provisional { current * 0.5 } else { to }.max(Self::FLOOR);
        self.cut(now, to, usage.min(1.0), provisional);
        Reaction::Slowed(to)
    }

    /// Go well below what the vendor took from us over the last window, to see whether the
    /// refusals follow our pace (see [`Self::settle_trial`]).
    fn start_trial(&mut self, now: Instant, usage: f64, current: f64) -> Reaction {
        let room: f64 = self.took.iter().map(|t| t.1).sum::<f64>().min(usage);
        let level = (room * Self::TRIAL_DEPTH).min(current).max(Self::FLOOR);
        self.trial = Some(Trial {
            started: now,
            before: self.schedule,
            before_bound: self.bound,
            before_accepted: std::array::from_fn(|r| self.recently_accepted(now, r)),
            room,
            level,
            clean: 0,
        });
        self.noise.clear();
        // The levels that worked before say nothing about the room now.
        self.accepted = [Accepted::NONE; 2];
        self.schedule = Schedule {
            level,
            refused_at: room.max(level),
            cut_at: Some(now),
        };
        self.undo = None;
        self.confirming = false;
        self.careful = true;
        Reaction::Slowed(level)
    }

    fn cut(&mut self, now: Instant, level: f64, refused_at: f64, provisional: bool) {
        let before = self.schedule;
        self.schedule = Schedule {
            level,
            refused_at: refused_at.max(level),
            cut_at: Some(now),
        };
        self.confirming = false;
        self.careful = true;
        self.undo = if provisional {
            // Undoing a provisional cut goes back to before the first of a chain of them.
            Some(self.undo.unwrap_or(before))
        } else {
            None
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(1);

    fn at(t0: Instant, secs: f64) -> Instant {
        t0 + Duration::from_secs_f64(secs)
    }

    /// A share whose first `n` requests, 0.1 s apart from `t0`, went through at `usage`.
    fn accepted(t0: Instant, n: u32, usage: f64) -> Share {
        let mut s = Share::new(W, t0);
        for k in 0..n {
            let t = at(t0, 0.1 * f64::from(k));
            s.on_accepted(t, t, usage);
        }
        s
    }

    #[test]
    fn a_refusal_below_the_quota_holds_just_under_it_and_probes_it_rarely() {
        let t0 = Instant::now();
        let mut s = Share::new(W, t0);
        assert_eq!(s.factor(t0), 1.0);
        // Before any refusal nothing goes alone: the run starts at full speed.
        assert!(!s.is_probe(t0, 0.9));
        // Our requests went through up to 60% of the quota, then one at 67% was refused.
        s.on_accepted(at(t0, 0.5), at(t0, 0.5), 0.60);
        let r = s.on_refused(at(t0, 0.7), at(t0, 0.6), 0.67);
        let Reaction::Slowed(f) = r else {
            panic!("{r:?}")
        };
        assert!((f - 0.67 * 0.96).abs() < 1e-9, "{f}");
        // It holds there for PROBE_GAP windows, whatever comes back meanwhile ...
        let probe_at = 0.7 + Share::PROBE_GAP;
        for k in 0..70 {
            let t = 0.8 + f64::from(k) * 0.1;
            if t < probe_at - 0.05 {
                assert_eq!(s.factor(at(t0, t)), f, "at {t}");
                s.on_accepted(at(t0, t), at(t0, t), 0.62);
            }
        }
        // ... then lets the refused level through again, and only that: a probe, which
        // goes alone (it is above everything accepted lately).
        let p = at(t0, probe_at + 0.01);
        assert!(s.factor(p) >= 0.67 && s.factor(p) < 0.69, "{}", s.factor(p));
        assert!(s.is_probe(p, 0.67));
        assert!(!s.is_probe(p, 0.62));
        // Refused: back to the plateau for another PROBE_GAP, not lower.
        let r = s.on_refused(at(t0, probe_at + 0.1), p, 0.67);
        assert_eq!(r, Reaction::Slowed(f));
        let next = probe_at + 0.1 + Share::PROBE_GAP;
        assert_eq!(s.factor(at(t0, next - 0.05)), f);
        assert!(s.factor(at(t0, next + 0.01)) >= 0.67);
        // Through: the room grew, the whole quota is ours again at once; each new level on
        // the way up is still a probe until the vendor has accepted it.
        s.on_accepted(at(t0, next + 0.1), at(t0, next + 0.1), 0.67);
        assert_eq!(s.factor(at(t0, next + 0.11)), 1.0);
        assert!(s.is_probe(at(t0, next + 0.12), 0.73));
        s.on_accepted(at(t0, next + 0.2), at(t0, next + 0.2), 0.73);
        assert!(!s.is_probe(at(t0, next + 0.21), 0.73));
    }

    #[test]
    fn a_probe_that_slipped_through_once_does_not_make_its_level_noise() {
        let t0 = Instant::now();
        let mut s = accepted(t0, 5, 0.6);
        assert!(matches!(
            s.on_refused(at(t0, 0.6), at(t0, 0.55), 0.67),
            Reaction::Slowed(_)
        ));
        // A probe at 0.67 goes through while the other caller waits out its own 429 ...
        let t = 0.6 + Share::PROBE_GAP + 0.1;
        s.on_accepted(at(t0, t), at(t0, t), 0.67);
        // ... a request at 0.73 is refused: cut just under it (0.70) ...
        let r = s.on_refused(at(t0, t + 0.1), at(t0, t + 0.05), 0.73);
        assert!(matches!(r, Reaction::Slowed(_)), "{r:?}");
        // ... and when the other caller takes its room back, 0.67 (accepted once) is
        // refused: news, not noise.
        let r = s.on_refused(at(t0, t + 0.3), at(t0, t + 0.25), 0.67);
        let Reaction::Slowed(f) = r else {
            panic!("{r:?}")
        };
        assert!((f - 0.67 * 0.96).abs() < 1e-9, "{f}");
    }

    #[test]
    fn requests_sent_before_a_cut_do_not_cut_again() {
        let t0 = Instant::now();
        let mut s = Share::new(W, t0);
        assert!(matches!(
            s.on_refused(at(t0, 1.0), at(t0, 0.9), 0.7),
            Reaction::Slowed(_)
        ));
        let f = s.factor(at(t0, 1.0));
        // Two more that were already in flight come back refused.
        assert_eq!(
            s.on_refused(at(t0, 1.05), at(t0, 0.95), 0.75),
            Reaction::None
        );
        assert_eq!(
            s.on_refused(at(t0, 1.06), at(t0, 0.99), 0.8),
            Reaction::None
        );
        assert_eq!(s.factor(at(t0, 1.1)), f);
    }

    #[test]
    fn refusals_that_keep_coming_after_slowing_down_stop_everyone() {
        let t0 = Instant::now();
        let mut s = Share::new(W, t0);
        let mut t = 1.0;
        let mut pause = None;
        for i in 0..10 {
            t += 0.1;
            match s.on_refused(at(t0, t), at(t0, t - 0.05), 0.5) {
                Reaction::PauseAll(d, f) => {
                    pause = Some((i, d, f));
                    break;
                }
                Reaction::Slowed(_) | Reaction::None => {}
            }
        }
        let (i, d, f) = pause.expect("persistent 429s must stop everyone");
        assert_eq!(i, 3, "the fourth refusal in a row");
        assert_eq!(d, W);
        assert!(f <= 0.25 + 1e-9, "{f}");
        // Any other answer in between resets the count.
        let mut s = Share::new(W, t0);
        for k in 0..20 {
            let t = 1.0 + f64::from(k) * 0.1;
            let r = s.on_refused(at(t0, t), at(t0, t - 0.01), 0.5);
            assert!(!matches!(r, Reaction::PauseAll(..)), "{k}: {r:?}");
            s.on_other();
        }
    }

    #[test]
    fn refusals_at_a_level_that_works_are_noise_until_they_come_in_a_row() {
        let t0 = Instant::now();
        let mut s = accepted(t0, 10, 0.99);
        // One in ten refused while the rest go through at the same level: no cut.
        for k in 0..20 {
            let t = 1.0 + 0.1 * f64::from(k);
            if k % 10 == 3 {
                assert_eq!(
                    s.on_refused(at(t0, t), at(t0, t - 0.05), 0.98),
                    Reaction::None
                );
            } else {
                s.on_accepted(at(t0, t), at(t0, t), 0.99);
            }
        }
        assert_eq!(s.factor(at(t0, 3.0)), 1.0);
        // Four in a row at that level: the share shrank under us.
        let r: Vec<_> = (0..4)
            .map(|k| {
                let t = 3.1 + 0.1 * f64::from(k);
                s.on_refused(at(t0, t), at(t0, t - 0.05), 0.98)
            })
            .collect();
        assert!(matches!(r[3], Reaction::PauseAll(..)), "{r:?}");
        assert!(s.factor(at(t0, 3.5)) <= 0.5);
        // A refusal above anything accepted lately is never noise.
        let mut s = Share::new(W, t0);
        s.on_accepted(at(t0, 0.5), at(t0, 0.5), 0.5);
        assert!(matches!(
            s.on_refused(at(t0, 0.9), at(t0, 0.8), 0.6),
            Reaction::Slowed(_)
        ));
        // Acceptances older than two windows prove nothing.
        let mut s = Share::new(W, t0);
        s.on_accepted(at(t0, 0.5), at(t0, 0.5), 0.99);
        assert!(matches!(
            s.on_refused(at(t0, 2.5), at(t0, 2.4), 0.9),
            Reaction::Slowed(_)
        ));
    }

    #[test]
    fn never_below_the_floor_and_long_waits() {
        let t0 = Instant::now();
        let mut s = Share::new(W, t0);
        for k in 0..200 {
            let t = f64::from(k) * 0.05;
            s.on_refused(at(t0, t), at(t0, t), 0.01);
        }
        assert!(s.factor(at(t0, 10.0)) >= Share::FLOOR);
        assert_eq!(s.long_wait(), Duration::from_secs(2));
        assert_eq!(
            Share::new(Duration::from_secs(10), t0).long_wait(),
            Duration::from_secs(20)
        );
    }

    /// A run at the whole quota for two windows: 15 requests a window, each 1/15 of it,
    /// answered 0.1 s after they left, all taken. Returns the share and the next instant.
    fn at_full(t0: Instant) -> (Share, f64) {
        let mut s = Share::new(W, t0);
        let mut t = 0.0;
        for k in 0..30 {
            t = 0.1 + f64::from(k) / 15.0;
            let usage = (f64::from(k.min(14) + 1) / 15.0).min(1.0);
            s.took(at(t0, t), 1.0 / 15.0);
            s.on_accepted(at(t0, t), at(t0, t - 0.1), usage);
        }
        (s, t)
    }

    /// The third window of [`at_full`]: the vendor takes 11 requests and refuses 4, at
    /// levels it accepted many times. Returns the reactions and the next instant.
    fn storm(s: &mut Share, t0: Instant, from: f64) -> (Vec<Reaction>, f64) {
        let mut reactions = Vec::new();
        let mut t = from;
        for k in 0..15 {
            t = from + f64::from(k + 1) / 15.0;
            if k % 4 == 3 {
                reactions.push(s.on_refused(at(t0, t), at(t0, t - 0.1), 0.93));
            } else {
                s.took(at(t0, t), 1.0 / 15.0);
                s.on_accepted(at(t0, t), at(t0, t - 0.1), 0.93);
            }
        }
        (reactions, t)
    }

    #[test]
    fn refusals_that_keep_coming_at_levels_that_worked_start_a_trial() {
        let t0 = Instant::now();
        let (mut s, t) = at_full(t0);
        assert_eq!(s.factor(at(t0, t)), 1.0);
        let (reactions, t) = storm(&mut s, t0, t);
        // The first two are noise; the third, in a window of 11 taken, is not.
        assert_eq!(reactions[..2], [Reaction::None, Reaction::None]);
        let Reaction::Slowed(level) = reactions[2] else {
            panic!("{reactions:?}")
        };
        // Three quarters of what the vendor took over the window before it: the last 3
        // answers at the whole quota and 9 of the storm's, each 1/15.
        assert!(
            (level - 12.0 / 15.0 * Share::TRIAL_DEPTH).abs() < 1e-9,
            "{level}"
        );
        assert_eq!(s.factor(at(t0, t)), level);
        // A refusal of a request sent before the window turned over at the trial's pace
        // decides nothing.
        let started = t - 4.0 / 15.0;
        assert_eq!(
            s.on_refused(at(t0, started + 0.5), at(t0, started + 0.4), 0.9),
            Reaction::None
        );
        assert_eq!(s.factor(at(t0, started + 0.5)), level);
        // Nor do requests sent before it began, however many are refused: they neither
        // count toward the pause nor end the trial ...
        for k in 0..Share::STRIKES + 1 {
            let a = started - 0.05 - 0.01 * f64::from(k);
            assert_eq!(
                s.on_refused(at(t0, started + 0.6), at(t0, a), 1.0),
                Reaction::None
            );
        }
        // ... which a request that met a window made at its pace still decides (noise).
        let u = started + 1.2;
        assert_eq!(
            s.on_refused(at(t0, u), at(t0, u - 0.1), level),
            Reaction::None
        );
        assert_eq!(s.factor(at(t0, u)), 1.0);
    }

    #[test]
    fn a_trial_without_429s_holds_below_the_room_and_climbs_by_probes() {
        let t0 = Instant::now();
        let (mut s, t) = at_full(t0);
        let (reactions, t) = storm(&mut s, t0, t);
        let Some(&Reaction::Slowed(level)) = reactions.last() else {
            panic!("{reactions:?}")
        };
        // Answers for requests that met a window made at the trial's pace: all taken. One
        // fewer than needed still decides nothing.
        let first = t + 1.0;
        let mut u = first;
        for k in 0..Share::TRIAL_ANSWERS {
            u = first + f64::from(k) * 0.1;
            if k + 1 == Share::TRIAL_ANSWERS {
                assert_eq!(s.factor(at(t0, u)), level, "still a trial");
            }
            s.took(at(t0, u), 1.0 / 15.0);
            s.on_accepted(at(t0, u), at(t0, u - 0.1), level);
        }
        // The room shrank: the run climbs from the trial's level, each new level a probe.
        let now = at(t0, u + 0.01);
        let f = s.factor(now);
        assert!(f >= level && f < level + 0.02, "{f} from {level}");
        assert!(s.factor(at(t0, u + 1.0)) > f + 0.02);
        assert!(s.is_probe(now, level + 0.07));
        // The first refusal on the way sets where it holds: under it, not lower than
        // where the climb had got to.
        let refused = level + 0.07;
        let climbed = s.factor(at(t0, u + 0.5));
        let r = s.on_refused(at(t0, u + 0.5), at(t0, u + 0.4), refused);
        assert_eq!(
            r,
            Reaction::Slowed(climbed.min(refused * (1.0 - Share::MARGIN)))
        );
    }

    #[test]
    fn a_429_in_a_trial_is_noise_and_the_pace_before_comes_back() {
        let t0 = Instant::now();
        let (mut s, t) = at_full(t0);
        let (reactions, t) = storm(&mut s, t0, t);
        assert!(matches!(reactions.last(), Some(Reaction::Slowed(_))));
        let u = t + 1.2;
        for k in 0..5 {
            let v = u + f64::from(k) * 0.1;
            s.took(at(t0, v), 1.0 / 15.0);
            s.on_accepted(at(t0, v), at(t0, v - 0.1), 0.5);
        }
        // Refused at the trial's pace: noise. The whole quota is back, and the levels the
        // vendor confirmed before count again: the next refusal there is noise too.
        let v = u + 0.6;
        assert_eq!(
            s.on_refused(at(t0, v), at(t0, v - 0.1), 0.5),
            Reaction::None
        );
        assert_eq!(s.factor(at(t0, v)), 1.0);
        assert_eq!(
            s.on_refused(at(t0, v + 0.1), at(t0, v), 0.93),
            Reaction::None
        );
        // The next storm within TRIAL_MEMORY windows needs twice the share: the same
        // four refusals in fifteen answers start nothing.
        let (reactions, t) = storm(&mut s, t0, v + 1.0);
        assert!(
            reactions.iter().all(|r| *r == Reaction::None),
            "{reactions:?}"
        );
        // Long after, it is back to NOISE_SHARE.
        let (reactions, _) = storm(&mut s, t0, t + Share::TRIAL_MEMORY);
        assert!(
            matches!(reactions.last(), Some(Reaction::Slowed(_))),
            "{reactions:?}"
        );
    }
}
