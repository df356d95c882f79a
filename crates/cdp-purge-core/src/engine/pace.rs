//! Admission: when may the next request go, and how much of the quota did it use?
//!
//! Each budget (requests/s, items/s) is a lane with two parts:
//! - an exact sliding window over our own admissions: no window of the vendor's length
//!   (plus [`ARRIVAL_JITTER`]) ever holds more than our share of the quota. This is what
//!   keeps us under the quota, from the first request on and at any batch size, and it
//!   does so without the `rate + burst ≤ quota` sizing a token bucket alone needs (which
//!   left 7% of mParticle's quota unused at 100 per request);
//! - governor's GCRA for spacing: batches leave one at a time, a little faster than the
//!   window's average ([`SPREAD`]), so a window's quota is spread over most of it instead of
//!   leaving at its start, and nothing bursts at start-up.
//!
//! While nothing suggests that anyone else uses the quota ([`Share::calm`]), requests leave
//! in small groups ([`MAX_GROUP`]): a group waits until the spacing and the window have room
//! for all of it, then its requests are admitted back to back, so the run wakes up once to
//! send several and once to read their answers. Per request that halves much of a paced
//! run's CPU (each wake-up between requests 67 ms apart starts with cold caches). The window
//! guard counts every request of a group as before, so no window holds more than the quota;
//! a 429 turns grouping off at once and the run goes back to one request at a time.
//!
//! Pure state over caller-supplied instants (governor runs on a clock we set), so tests
//! drive it without sleeping; [`super::limiter::Pacer`] is the async wrapper.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota as GQuota, RateLimiter};

use super::limiter::{Budget, Limits};
use super::share::{Reaction, Share};
use crate::protocol::Rate;

/// How much closer together than we sent them requests may arrive at the vendor (network
/// and scheduling jitter); the window guard counts each request this much longer than the
/// vendor's window. A 429 that only bunching explains adds [`ARRIVAL_JITTER`] more, up to
/// [`MAX_JITTER`]; every [`CALM`] without one takes it back.
pub const ARRIVAL_JITTER: Duration = Duration::from_millis(5);
const MAX_JITTER: Duration = Duration::from_millis(40);
const CALM: Duration = Duration::from_secs(30);

/// At a few requests per window the margin is at least 1/SLOW_MARGIN of the spacing
/// between two of them (10 ms at one request a second). Why: there a request that reached
/// the vendor 6 ms late and the next one on time were 0.999 s apart on a loaded machine, a
/// 429 that cost a second, while 1% of the pace costs 10 ms a request. From 20 requests a
/// window on, the fixed [`ARRIVAL_JITTER`] is the larger and nothing changes (mParticle at
/// 100 profiles a request, Segment, Lytics).
const SLOW_MARGIN: u32 = 100;

/// Spacing runs this much faster than the quota's average: a window's share leaves in
/// ~91% of the window and the guard holds the rest. Spacing at exactly the average would
/// leave part of every window unused whenever a request waits on anything else.
pub const SPREAD: f64 = 1.1;

/// Outside a long run ([`LONG_RUN_WINDOWS`]), at most this many requests leave together,
/// and only as many as keep a group within a fifth of every budget's quota (so a window
/// holds at least five groups, and the spacing still spreads it), divide a window of full
/// batches, and stay within half the requests allowed in flight.
pub const MAX_GROUP: u32 = 4;

/// A run that plans at least this many windows of requests (five minutes at mParticle's
/// and Segment's one-second windows) sends a whole window's requests in one group while the
/// quota is calm: see [`PaceState::plan`].
pub const LONG_RUN_WINDOWS: u64 = 300;

/// What the vendor said about an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A 2xx: the quota counted it.
    Accepted,
    /// A 429.
    Refused,
    /// Anything else (an error status, a transport failure).
    Other,
}

/// One admitted request.
#[derive(Debug, Clone)]
pub struct Ticket {
    id: u64,
    admitted: Instant,
    /// Our usage of the quota with this request, as a fraction (the busiest lane).
    usage: f64,
    /// This request's own part of the quota, as a fraction (the busiest lane).
    weight: f64,
}

impl Ticket {
    pub fn admitted(&self) -> Instant {
        self.admitted
    }
    pub fn usage(&self) -> f64 {
        self.usage
    }
}

/// governor's clock, set by the caller before each check.
#[derive(Debug, Clone, Default)]
struct SetClock(Arc<AtomicU64>);

impl Clock for SetClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

type Gcra = RateLimiter<NotKeyed, InMemoryState, SetClock, NoOpMiddleware<Duration>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Requests,
    Items,
}

struct Admission {
    /// Until when it counts: a window (plus the margins) after it left, or after when it
    /// is estimated to have arrived (see [`PaceState::on_answer`]).
    until: Instant,
    weight: u32,
    id: u64,
    /// When it left, and when its answer came.
    sent: Instant,
    answered: Option<Instant>,
}

struct Lane {
    unit: Unit,
    budget: Budget,
    gcra: Gcra,
    /// The share the spacing was built for.
    spaced_for: f64,
    /// Our admissions still inside the guard's window, in admission order (a restamped one
    /// may be counted longer than its successors).
    window: VecDeque<Admission>,
    total: u64,
    /// The most cells one request takes (its batch; 1 for requests).
    cells: u32,
    /// The group `gcra` is built to let through at once (1: none).
    grouped: u32,
    /// A restamp or an out-of-order push may have left `window` unsorted by `until`; while
    /// it is sorted (the usual case) expiry and `room` look at the front only, which keeps
    /// a 20,000-request window (Braze's minute) cheap per admission.
    unsorted: bool,
}

impl Lane {
    fn new(unit: Unit, budget: Budget, clock: &SetClock) -> Self {
        let cells = match unit {
            Unit::Requests => 1,
            Unit::Items => budget.batch.max(1),
        };
        Self {
            unit,
            budget,
            gcra: Self::spacing(&budget, 1.0, clock),
            spaced_for: 1.0,
            window: VecDeque::new(),
            total: 0,
            cells,
            grouped: 1,
            unsorted: false,
        }
    }

    /// Whether this lane takes groups of `k`: within a fifth of its quota, and a whole
    /// number of them in a window of full batches. A group waits for room for all of it,
    /// so a window that is not a whole number of groups would leave its rest unused. A
    /// window longer than a run is not spaced out at all (see [`Budget::for_quota`]):
    /// nothing to group.
    fn takes_groups_of(&self, k: u32) -> bool {
        k == 1
            || (self.takes_window_groups_of(k)
                && k.saturating_mul(self.cells) <= self.budget.quota.count / 5)
    }

    /// Whether this lane takes a long run's group of `k`: a whole number of them (one at
    /// least) in a window of full batches.
    fn takes_window_groups_of(&self, k: u32) -> bool {
        let n = self.per_window();
        self.budget.quota.per < crate::ledger::window::LONG_WINDOW
            && n >= u64::from(k)
            && n.is_multiple_of(u64::from(k))
    }

    /// Full-batch requests a window holds.
    fn per_window(&self) -> u64 {
        u64::from(self.budget.quota.count / self.cells)
    }

    /// Whether `window` is in `until` order, checked again after a restamp.
    fn sorted(&mut self) -> bool {
        if self.unsorted {
            let mut it = self.window.iter().map(|a| a.until);
            let first = it.next();
            self.unsorted = it
                .try_fold(first, |prev, u| (prev <= Some(u)).then_some(Some(u)))
                .is_none();
        }
        !self.unsorted
    }

    /// governor's bucket at the budget's rate, scaled to our share; room for `group`
    /// requests of `cells` at once on top of the budget's burst.
    fn spacing_for(&self, share: f64, group: u32, clock: &SetClock) -> Gcra {
        let extra = group.saturating_sub(1).saturating_mul(self.cells);
        let b = Budget {
            burst: self.budget.burst.saturating_add(extra),
            ..self.budget
        };
        Self::spacing(&b, share, clock)
    }

    /// governor's bucket at the budget's rate, scaled to our share.
    fn spacing(b: &Budget, share: f64, clock: &SetClock) -> Gcra {
        let rate = (b.rate * share).max(1e-3);
        let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
        let burst = NonZeroU32::new(b.burst).unwrap_or(NonZeroU32::MIN);
        let q = GQuota::with_period(period)
            .unwrap_or_else(|| GQuota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        RateLimiter::direct_with_clock(q, clock.clone())
    }

    fn weight(&self, items: usize) -> u32 {
        match self.unit {
            Unit::Requests => 1,
            Unit::Items => u32::try_from(items).unwrap_or(u32::MAX).max(1),
        }
    }

    fn quota(&self) -> Rate {
        self.budget.quota
    }

    /// How long the guard counts an admission: the vendor's window plus the arrival-jitter
    /// margin, and at least 1/[`SLOW_MARGIN`] of the spacing between two admissions at the
    /// full quota.
    fn span(&self, jitter: Duration) -> Duration {
        let q = self.quota();
        q.per + jitter.max(q.per / q.count.max(1).saturating_mul(SLOW_MARGIN))
    }

    fn expire(&mut self, now: Instant) {
        if self.sorted() {
            while let Some(a) = self.window.front().filter(|a| a.until <= now) {
                self.total -= u64::from(a.weight);
                self.window.pop_front();
            }
            return;
        }
        // Restamped admissions may outlive later ones: drop every expired one, not only
        // those at the front, so one long-counted request does not hold the rest.
        if self.window.iter().any(|a| a.until <= now) {
            let mut freed = 0u64;
            self.window.retain(|a| {
                let keep = a.until > now;
                if !keep {
                    freed += u64::from(a.weight);
                }
                keep
            });
            self.total -= freed;
        }
    }

    /// Our share of this lane's quota at `share`, never less than one request's weight (a
    /// batch always gets through eventually).
    fn allowance(&self, share: f64, weight: u32) -> f64 {
        (share * f64::from(self.quota().count)).max(f64::from(weight))
    }

    /// When `weight` more fits in the window (`Ok` now).
    fn room(&mut self, now: Instant, weight: u32, allowance: f64) -> Result<(), Instant> {
        let need = (self.total + u64::from(weight)) as f64 - allowance;
        if need <= 0.0 {
            return Ok(());
        }
        if self.sorted() {
            // In `until` order already: the oldest leave first.
            let mut freed = 0u64;
            let mut latest = now;
            for a in &self.window {
                freed += u64::from(a.weight);
                latest = latest.max(a.until);
                if freed as f64 >= need {
                    break;
                }
            }
            return Err(latest);
        }
        // The earliest instant by which enough admissions have expired, whatever their
        // order in the window.
        let mut by_until: Vec<(Instant, u32)> =
            self.window.iter().map(|a| (a.until, a.weight)).collect();
        by_until.sort_unstable_by_key(|&(t, _)| t);
        let mut freed = 0u64;
        let mut latest = now;
        for (until, w) in by_until {
            freed += u64::from(w);
            latest = latest.max(until);
            if freed as f64 >= need {
                break;
            }
        }
        // The window holds at most our allowance, so freeing all of it always makes room.
        Err(latest)
    }

    fn usage(&self) -> f64 {
        self.total as f64 / f64::from(self.quota().count.max(1))
    }
}

/// The pacing state of a run: every lane, our share, the jitter margin.
pub struct PaceState {
    lanes: Vec<Lane>,
    share: Share,
    clock: SetClock,
    epoch: Instant,
    margins: Margins,
    next_id: u64,
    rtts: Fastest,
    /// A probe in flight ([`Share::is_probe`]): nothing else is admitted until its answer
    /// or this instant.
    probe: Option<(u64, Instant)>,
    /// The largest group ([`MAX_GROUP`], the lanes, the requests in flight).
    group: u32,
    /// The largest group of a long run ([`LONG_RUN_WINDOWS`]): a whole window's requests
    /// where the requests in flight allow, or a whole fraction of them.
    long_group: u32,
    /// The run is long enough for [`Self::long_group`] ([`Self::plan`]).
    long: bool,
    /// The fewest full-batch requests any lane's window holds.
    per_window: u64,
    /// Requests that may still join the group admitted last without waiting on the
    /// spacing (its cells are taken): the window guard still counts each.
    group_left: u32,
}

/// The two shortest round trips seen. What an answer's round trip has beyond the shortest
/// was most likely spent before the request reached the vendor (a new connection's
/// handshake). A request is measured against the shortest of the *others*: the run's first
/// answer has nothing to be compared with, and taking its own round trip as the norm would
/// count a first request that spent 300 ms on a handshake from when it left.
#[derive(Debug, Default)]
struct Fastest {
    first: Option<(u64, Duration)>,
    second: Option<Duration>,
}

impl Fastest {
    /// Record request `id`'s round trip; whether any request's floor changed.
    fn record(&mut self, id: u64, rtt: Duration) -> bool {
        match self.first {
            Some((_, f)) if rtt >= f => {
                let lower = self.second.is_none_or(|s| rtt < s);
                if lower {
                    self.second = Some(rtt);
                }
                lower
            }
            _ => {
                self.second = self.first.map(|(_, f)| f);
                self.first = Some((id, rtt));
                true
            }
        }
    }

    /// The least time request `id` can have spent on the way out and back once there; zero
    /// with nothing else measured yet (its arrival is then only known to precede its answer).
    fn floor_for(&self, id: u64) -> Duration {
        match self.first {
            Some((fid, _)) if fid == id => self.second.unwrap_or(Duration::ZERO),
            Some((_, f)) => f,
            None => Duration::ZERO,
        }
    }
}

/// How much longer than the vendor's window each request is counted.
#[derive(Debug, Clone)]
struct Margins {
    /// For arrivals bunching on the way (see [`ARRIVAL_JITTER`]).
    jitter: Duration,
    jitter_raised: Option<Instant>,
}

impl Margins {
    fn new() -> Self {
        Self {
            jitter: ARRIVAL_JITTER,
            jitter_raised: None,
        }
    }

    fn raise_jitter(&mut self, now: Instant) {
        self.jitter = (self.jitter + ARRIVAL_JITTER).min(MAX_JITTER);
        self.jitter_raised = Some(now);
    }

    /// Calm long enough since the last raise: take one step back.
    fn calm_down(&mut self, now: Instant) {
        if let Some(t) = self.jitter_raised
            && now.saturating_duration_since(t) >= CALM
        {
            self.jitter = self
                .jitter
                .saturating_sub(ARRIVAL_JITTER)
                .max(ARRIVAL_JITTER);
            self.jitter_raised = (self.jitter > ARRIVAL_JITTER).then_some(now);
        }
    }
}

impl PaceState {
    pub fn new(limits: &Limits, now: Instant) -> Self {
        let clock = SetClock::default();
        let lanes: Vec<Lane> = [
            (Unit::Requests, limits.requests),
            (Unit::Items, limits.items),
        ]
        .into_iter()
        .filter_map(|(u, b)| b.map(|b| Lane::new(u, b, &clock)))
        .collect();
        let window = lanes
            .iter()
            .map(|l| l.quota().per)
            .max()
            .unwrap_or(Duration::from_secs(1));
        let group = (1..=MAX_GROUP.min(limits.concurrency / 2).max(1))
            .rev()
            .find(|&k| lanes.iter().all(|l| l.takes_groups_of(k)))
            .unwrap_or(1);
        // Never below `group`: every group a fifth of the quota takes is a whole number of
        // them in a window, within half the requests in flight.
        let long_group = (1..=(limits.concurrency / 2).max(1))
            .rev()
            .find(|&k| lanes.iter().all(|l| l.takes_window_groups_of(k)))
            .unwrap_or(1);
        let per_window = lanes.iter().map(Lane::per_window).min().unwrap_or(0);
        Self {
            lanes,
            share: Share::new(window, now),
            clock,
            epoch: now,
            margins: Margins::new(),
            next_id: 0,
            rtts: Fastest::default(),
            probe: None,
            group,
            long_group,
            long: false,
            per_window,
            group_left: 0,
        }
    }

    /// The run plans to send `requests` requests. At [`LONG_RUN_WINDOWS`] windows or more, a
    /// calm quota takes groups of a whole window (15 requests of 100 for mParticle) instead
    /// of a fifth: one wake-up sends a second's requests, which is most of what a long paced
    /// run's CPU goes to (each wake-up starts with cold caches). Why only then, and for the
    /// rest of the run once chosen, measured on mParticle's quota:
    /// - the first group waits until all 15 requests of the window before it have left the
    ///   window, and those were spread over it: aligning them costs about 0.4 s of sending
    ///   once (0.4% of a 100-s run, under 0.07% of an 11-minute one);
    /// - a vendor that answers 15 simultaneous requests one after another makes the last
    ///   of them look a few ms late, and the next group waits for it: over the middle of a
    ///   run of 1M profiles, 0.9913 of the quota against 0.9932 in groups of 3 (0.2%).
    pub fn plan(&mut self, requests: u64) {
        self.long =
            self.per_window > 0 && requests >= LONG_RUN_WINDOWS.saturating_mul(self.per_window);
    }

    /// The largest group: a long run's or a fifth of the quota's.
    fn group_now(&self) -> u32 {
        if self.long {
            self.long_group
        } else {
            self.group
        }
    }

    pub fn is_unlimited(&self) -> bool {
        self.lanes.is_empty()
    }

    /// The fraction of the quota we may use now.
    pub fn share(&self, now: Instant) -> f64 {
        self.share.factor(now)
    }

    pub fn long_wait(&self) -> Duration {
        self.share.long_wait()
    }

    pub fn window(&self) -> Duration {
        self.share.window()
    }

    /// Admit one request carrying `items` identifiers at `now`, or say when to ask again.
    /// It goes alone: see [`Self::try_admit_among`].
    #[cfg(test)]
    pub fn try_admit(&mut self, now: Instant, items: usize) -> Result<Ticket, Instant> {
        self.try_admit_among(now, items, 1)
    }

    /// Admit one request carrying `items` identifiers at `now`, or say when to ask again,
    /// with `waiting` requests (this one included) ready to go. While the quota is calm
    /// ([`Share::calm`]) the first of them opens a group of up to [`Self::group`] requests,
    /// admitted once the spacing and the window have room for all of it; the others then
    /// join it without waiting on the spacing, each still counted by the window guard.
    pub fn try_admit_among(
        &mut self,
        now: Instant,
        items: usize,
        waiting: usize,
    ) -> Result<Ticket, Instant> {
        if let Some((_, until)) = self.probe {
            if now < until {
                return Err(until);
            }
            self.probe = None;
        }
        let share = self.share.factor(now);
        self.margins.calm_down(now);
        let group = self.group_now();
        let grouping = group > 1 && self.share.calm(now);
        if !grouping {
            self.group_left = 0;
        }
        let joins = self.group_left > 0;
        let size = if grouping && !joins {
            u32::try_from(waiting).unwrap_or(u32::MAX).clamp(1, group)
        } else {
            1
        };
        // 1. Every lane's window must have room (for the whole group): no side effects
        //    until all agree.
        let mut wait: Option<Instant> = None;
        for lane in &mut self.lanes {
            lane.expire(now);
            let w = lane.weight(items);
            let need = w.saturating_mul(size);
            if let Err(t) = lane.room(now, need, lane.allowance(share, w)) {
                wait = Some(wait.map_or(t, |x| x.max(t)));
            }
        }
        if let Some(t) = wait {
            return Err(t.max(now));
        }
        // 2. Spacing, for the whole group at once (its others join without it). A lane
        //    whose cells were taken before another lane said "not yet" only spaces the next
        //    request a little more.
        self.clock.0.store(
            u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let built_for = if grouping { group } else { 1 };
        for lane in &mut self.lanes {
            if (share - lane.spaced_for).abs() > 0.05 * lane.spaced_for || lane.grouped != built_for
            {
                lane.gcra = lane.spacing_for(share, built_for, &self.clock);
                lane.spaced_for = share;
                lane.grouped = built_for;
            }
            if joins {
                continue;
            }
            let Some(n) = NonZeroU32::new(lane.weight(items).saturating_mul(size)) else {
                continue;
            };
            // More cells than the bucket holds (a batch above the configured size) are
            // spaced by the window guard alone.
            if let Ok(Err(not_until)) = lane.gcra.check_n(n) {
                let t = self.epoch + not_until.earliest_possible();
                return Err(t.max(now));
            }
        }
        // 3. Commit.
        self.group_left = if joins { self.group_left - 1 } else { size - 1 };
        let id = self.next_id;
        self.next_id += 1;
        let mut usage: f64 = 0.0;
        let mut part: f64 = 0.0;
        for lane in &mut self.lanes {
            let weight = lane.weight(items);
            part = part.max(f64::from(weight) / f64::from(lane.quota().count.max(1)));
            let until = now + lane.span(self.margins.jitter);
            lane.unsorted |= lane.window.back().is_some_and(|b| b.until > until);
            lane.window.push_back(Admission {
                until,
                weight,
                id,
                sent: now,
                answered: None,
            });
            lane.total += u64::from(weight);
            usage = usage.max(lane.usage());
        }
        if self.share.is_probe(now, usage) {
            self.probe = Some((id, now + self.share.probe_wait()));
            self.group_left = 0;
        }
        Ok(Ticket {
            id,
            admitted: now,
            usage,
            weight: part,
        })
    }

    /// The request is leaving now (its intent record is written): count it from now, so
    /// that a slow ledger write does not let it arrive closer to later ones than counted.
    pub fn sent(&mut self, ticket: &Ticket, now: Instant) {
        let jitter = self.margins.jitter;
        for lane in &mut self.lanes {
            let span = lane.span(jitter);
            if let Some(a) = lane.window.iter_mut().rev().find(|a| a.id == ticket.id) {
                lane.unsorted |= now + span > a.until;
                a.until = a.until.max(now + span);
                a.sent = a.sent.max(now);
            }
        }
    }

    /// An answer came: the request reached the vendor between when it left and now. A
    /// request on a new connection spends its handshake before it gets there (tens of ms on
    /// a busy machine, a TLS handshake's round trips in production), so counting it from
    /// when it left lets the request a window later arrive less than a window after it.
    /// When its round trip exceeds the shortest of the others by more than the jitter
    /// margin, its arrival is estimated as the answer less that round trip, and it is
    /// counted a window from then. The run's first answer has no other to go by: it is
    /// counted from the answer itself (at one request a second, the second request would
    /// otherwise leave before anything shows that the first arrived late). A new shortest
    /// round trip re-estimates every answered request still counted; an estimate only ever
    /// moves later.
    fn answered(&mut self, ticket: &Ticket, now: Instant) {
        let mut rtt = None;
        for lane in &mut self.lanes {
            if let Some(a) = lane.window.iter_mut().rev().find(|a| a.id == ticket.id) {
                a.answered = Some(now);
                rtt = Some(now.saturating_duration_since(a.sent));
            }
        }
        let Some(rtt) = rtt else {
            return;
        };
        let changed = self.rtts.record(ticket.id, rtt);
        let jitter = self.margins.jitter;
        for lane in &mut self.lanes {
            let span = lane.span(jitter);
            for a in lane.window.iter_mut() {
                if !changed && a.id != ticket.id {
                    continue;
                }
                let Some(t) = a.answered else { continue };
                let floor = self.rtts.floor_for(a.id);
                // A delay within the jitter margin is what the margin is for; counting
                // those longer too would only cost throughput.
                if t.saturating_duration_since(a.sent) > floor + jitter {
                    let arrived = t.checked_sub(floor).unwrap_or(a.sent).max(a.sent);
                    lane.unsorted |= arrived + span > a.until;
                    a.until = a.until.max(arrived + span);
                }
            }
        }
    }

    /// What the vendor answered; returns what the run must do about it.
    pub fn on_answer(&mut self, ticket: &Ticket, now: Instant, answer: Answer) -> Reaction {
        self.answered(ticket, now);
        if self.probe.is_some_and(|(id, _)| id == ticket.id) {
            self.probe = None;
        }
        match answer {
            Answer::Accepted => {
                self.share.took(now, ticket.weight);
                self.share.on_accepted(now, ticket.admitted, ticket.usage);
                Reaction::None
            }
            Answer::Other => {
                self.share.on_other();
                Reaction::None
            }
            Answer::Refused => {
                let full = self.share.factor(ticket.admitted) >= 1.0;
                if full && ticket.usage > 1.0 - Share::MARGIN / 2.0 {
                    // We alone nearly filled the window: arrivals bunched more than the
                    // margin allows for. Count each request longer from now on.
                    self.margins.raise_jitter(now);
                }
                self.share.on_refused(now, ticket.admitted, ticket.usage)
            }
        }
    }

    /// The most requests admitted together while the quota is calm.
    #[cfg(test)]
    pub fn group(&self) -> u32 {
        self.group
    }

    /// Whether a probe in flight holds every other admission.
    pub fn holding(&self) -> bool {
        self.probe.is_some()
    }

    /// A ticket for an answer that came without one (a caller that does not track its
    /// requests): admitted now, at our current usage.
    pub fn untracked(&self, now: Instant) -> Ticket {
        Ticket {
            id: u64::MAX,
            admitted: now,
            usage: self.lanes.iter().map(Lane::usage).fold(0.0, f64::max),
            weight: 0.0,
        }
    }

    /// Current arrival-jitter margin.
    #[cfg(test)]
    pub fn jitter(&self) -> Duration {
        self.margins.jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::limiter::{Budget, Limits};

    fn ten_per_second() -> Limits {
        Limits {
            requests: Budget::for_quota(Rate::per_second(10), 1),
            items: None,
            concurrency: 4,
            concurrency_limited: false,
        }
    }

    /// Admit greedily from `t` on, in 1 ms steps, until `n` admissions; their instants.
    fn admit(p: &mut PaceState, t: Instant, n: usize) -> Vec<Instant> {
        let mut out = Vec::new();
        let mut now = t;
        while out.len() < n {
            match p.try_admit(now, 1) {
                Ok(ticket) => out.push(ticket.admitted()),
                Err(at) => now = at.max(now + Duration::from_millis(1)),
            }
        }
        out
    }

    /// mParticle's terms: 1500 profiles a second, batches of 100, 32 in flight.
    fn mparticle() -> Limits {
        Limits {
            requests: None,
            items: Budget::for_quota(Rate::per_second(1500), 100),
            concurrency: 32,
            concurrency_limited: false,
        }
    }

    /// Admit greedily, `waiting` ready at every instant, until `until`; each request leaves
    /// 0–6 ms after its admission (its intent record). (admitted, sent) instants.
    fn admit_among(
        p: &mut PaceState,
        t: Instant,
        until: Instant,
        waiting: usize,
    ) -> Vec<(Instant, Instant)> {
        admit_answered(p, t, until, waiting, false)
    }

    /// The same, and with `answer` each is accepted as it leaves (the clock moves on to it).
    fn admit_answered(
        p: &mut PaceState,
        t: Instant,
        until: Instant,
        waiting: usize,
        answer: bool,
    ) -> Vec<(Instant, Instant)> {
        let mut out = Vec::new();
        let mut now = t;
        while now < until {
            match p.try_admit_among(now, 100, waiting) {
                Ok(ticket) => {
                    let sent = now + Duration::from_millis(out.len() as u64 % 7);
                    p.sent(&ticket, sent);
                    out.push((now, sent));
                    if answer {
                        p.on_answer(&ticket, sent, Answer::Accepted);
                        now = sent;
                    }
                }
                Err(at) => now = at.max(now + Duration::from_micros(100)),
            }
        }
        out
    }

    /// The most profiles (100 a request) that left within any window of `len`.
    fn busiest(sent: &[Instant], len: Duration) -> usize {
        let mut sent = sent.to_vec();
        sent.sort_unstable();
        (0..sent.len())
            .map(|i| sent[i..].iter().take_while(|&&s| s < sent[i] + len).count() * 100)
            .max()
            .unwrap_or(0)
    }

    /// Sizes of the runs of admissions at one instant, in order.
    fn groups(admitted: &[(Instant, Instant)]) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for (i, (a, _)) in admitted.iter().enumerate() {
            if i > 0 && admitted[i - 1].0 == *a {
                *out.last_mut().expect("one before") += 1;
            } else {
                out.push(1);
            }
        }
        out
    }

    /// The sizes of the groups admitted once the start's calm stretch is over, after
    /// checking that each request before it went alone.
    fn groups_once_calm(all: &[(Instant, Instant)], t0: Instant) -> Vec<usize> {
        let calm = t0 + Duration::from_secs_f64(Share::CALM_AT_START);
        let (early, late): (Vec<_>, Vec<_>) = all.iter().partition(|(a, _)| *a < calm);
        assert!(
            groups(&early).iter().all(|&g| g == 1),
            "{:?}",
            groups(&early)
        );
        groups(&late)
    }

    #[test]
    fn groups_form_once_calm_and_no_window_holds_more_than_the_quota() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut p = PaceState::new(&mparticle(), t0);
        assert_eq!(p.group(), 3, "300 profiles: a fifth of the quota");
        let all = admit_among(&mut p, t0, t0 + s(12), 20);
        // One at a time for the first CALM_AT_START windows, then in threes.
        let g = groups_once_calm(&all, t0);
        assert!(g.len() > 20 && g.iter().all(|&g| g == 3), "{g:?}");
        // The vendor's window (one second) never sees more than 1500 from us ...
        let sent: Vec<Instant> = all.iter().map(|a| a.1).collect();
        assert!(busiest(&sent, s(1)) <= 1500, "{}", busiest(&sent, s(1)));
        // ... and the whole quota is used: 10 windows after the start, ~15,000.
        let in_ten = all.iter().filter(|(a, _)| *a < t0 + s(10)).count() * 100;
        assert!(in_ten >= 14_700, "{in_ten}");
        // Fewer ready than a group: the group is as large as what waits, and a request
        // alone does not wait for others to join it.
        let pairs = admit_among(&mut p, t0 + s(12), t0 + s(14), 2);
        assert!(
            groups(&pairs).iter().all(|&g| g == 2),
            "{:?}",
            groups(&pairs)
        );
        let lone = admit_among(&mut p, t0 + s(14), t0 + s(16), 1);
        // Spaced as one request each (had each waited for a group's cells, a third of it).
        assert!(lone.len() >= 25, "{}", lone.len());
        let sent: Vec<Instant> = all.iter().chain(&pairs).chain(&lone).map(|a| a.1).collect();
        assert!(busiest(&sent, s(1)) <= 1500);
    }

    #[test]
    fn a_long_run_sends_a_window_at_once_and_no_window_holds_more_than_the_quota() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        // 300 windows of 15 requests planned: groups of 15 once calm.
        let mut p = PaceState::new(&mparticle(), t0);
        p.plan(15 * LONG_RUN_WINDOWS);
        let all = admit_among(&mut p, t0, t0 + s(30), 20);
        let g = groups_once_calm(&all, t0);
        assert!(g.len() >= 25 && g.iter().all(|&n| n == 15), "{g:?}");
        // No window of the vendor's sees more than 1500 from us, and the quota is used
        // (less the one-time wait that lines the first group up).
        let sent: Vec<Instant> = all.iter().map(|a| a.1).collect();
        assert!(busiest(&sent, s(1)) <= 1500, "{}", busiest(&sent, s(1)));
        let in_thirty = all.len() * 100;
        assert!(in_thirty >= 43_000, "{in_thirty}");

        // Fewer windows planned: groups of a fifth, as before.
        let mut short = PaceState::new(&mparticle(), t0);
        short.plan(15 * LONG_RUN_WINDOWS - 1);
        let g = groups(&admit_among(&mut short, t0, t0 + s(10), 20));
        assert!(g.iter().all(|&n| n <= 3) && g.contains(&3), "{g:?}");
    }

    #[test]
    fn a_429_turns_grouping_off_until_a_calm_stretch() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut p = PaceState::new(&mparticle(), t0);
        let mut all = admit_among(&mut p, t0, t0 + s(4), 20);
        // Accepted at the whole quota many times: a refusal there is noise (no cut) ...
        for (i, (_, sent)) in all.iter().enumerate().rev().take(6) {
            let t = Ticket {
                id: i as u64,
                admitted: *sent,
                usage: 1.0,
                weight: 0.0,
            };
            p.on_answer(&t, t0 + s(4), Answer::Accepted);
        }
        let refused = Ticket {
            id: (all.len() - 1) as u64,
            admitted: all[all.len() - 1].0,
            usage: 0.8,
            weight: 0.0,
        };
        assert_eq!(
            p.on_answer(&refused, t0 + s(4), Answer::Refused),
            Reaction::None
        );
        assert_eq!(p.share(t0 + s(4)), 1.0);
        // ... but it turns grouping off: one at a time for CALM_AFTER_429 windows.
        let calm = t0 + s(4) + Duration::from_secs_f64(Share::CALM_AFTER_429);
        let after = admit_among(&mut p, t0 + s(4), calm + s(3), 20);
        let (alone, again): (Vec<_>, Vec<_>) = after.iter().partition(|(a, _)| *a < calm);
        assert!(alone.len() > 100, "{}", alone.len());
        assert!(
            groups(&alone).iter().all(|&g| g == 1),
            "{:?}",
            groups(&alone)
        );
        // Then groups again.
        assert!(groups(&again).iter().filter(|&&g| g == 3).count() >= 10);
        all.extend(after);
        let sent: Vec<Instant> = all.iter().map(|a| a.1).collect();
        assert!(busiest(&sent, s(1)) <= 1500);
    }

    #[test]
    fn a_cut_share_goes_one_at_a_time() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut p = PaceState::new(&mparticle(), t0);
        let _ = admit_among(&mut p, t0, t0 + s(3), 20);
        // Another caller: refused at 60% of the quota, far above anything confirmed there.
        let t = Ticket {
            id: 0,
            admitted: t0 + s(3),
            usage: 0.6,
            weight: 0.0,
        };
        assert!(matches!(
            p.on_answer(&t, t0 + s(3), Answer::Refused),
            Reaction::Slowed(_)
        ));
        let after = admit_answered(&mut p, t0 + s(3), t0 + s(8), 20, true);
        assert!(after.len() > 20, "{}", after.len());
        assert!(
            groups(&after).iter().all(|&g| g == 1),
            "{:?}",
            groups(&after)
        );
    }

    #[test]
    fn small_quotas_and_few_in_flight_do_not_group() {
        let t0 = Instant::now();
        // Six in flight at most: groups of three. Four: none, as 15 requests a window are
        // not a whole number of pairs. One: none.
        let mut l = mparticle();
        l.concurrency = 6;
        assert_eq!(PaceState::new(&l, t0).group(), 3);
        l.concurrency = 4;
        assert_eq!(PaceState::new(&l, t0).group(), 1);
        l.concurrency = 1;
        assert_eq!(PaceState::new(&l, t0).group(), 1);
        // Batches of 20: 75 a window, groups of three (not four) within a fifth of it.
        let twenty = Limits {
            items: Budget::for_quota(Rate::per_second(1500), 20),
            ..mparticle()
        };
        assert_eq!(PaceState::new(&twenty, t0).group(), 3);
        // 10 requests a second: a fifth is two. 4 a second: none.
        assert_eq!(PaceState::new(&ten_per_second(), t0).group(), 2);
        let four = Limits {
            requests: Budget::for_quota(Rate::per_second(4), 1),
            ..ten_per_second()
        };
        assert_eq!(PaceState::new(&four, t0).group(), 1);
        // 1500 a second in batches of 500: a group would be a third of the quota.
        let big = Limits {
            items: Budget::for_quota(Rate::per_second(1500), 500),
            ..mparticle()
        };
        assert_eq!(PaceState::new(&big, t0).group(), 1);
        // A long run's group is a whole window where the requests in flight allow (half of
        // them at most), else the largest whole fraction of one.
        assert_eq!(PaceState::new(&mparticle(), t0).long_group, 15);
        l.concurrency = 20;
        assert_eq!(PaceState::new(&l, t0).long_group, 5);
        assert_eq!(PaceState::new(&ten_per_second(), t0).long_group, 2);
        let segment = Limits {
            requests: Budget::for_quota(Rate::per_second(100), 1),
            concurrency: 32,
            ..ten_per_second()
        };
        assert_eq!(PaceState::new(&segment, t0).long_group, 10);
    }

    #[test]
    fn at_one_request_a_second_the_margin_is_a_hundredth_of_the_spacing() {
        let t0 = Instant::now();
        let one = Limits {
            requests: Budget::for_quota(Rate::per_second(1), 1),
            ..ten_per_second()
        };
        let mut p = PaceState::new(&one, t0);
        let times = admit(&mut p, t0, 3);
        let ms = Duration::from_millis;
        for w in times.windows(2) {
            assert!(w[1] - w[0] >= ms(1010), "{:?}", w[1] - w[0]);
            assert!(w[1] - w[0] < ms(1020), "{:?}", w[1] - w[0]);
        }
        // At ten a second the fixed margin is the larger (1% of 100 ms is 1 ms).
        let mut q = PaceState::new(&ten_per_second(), t0);
        let times = admit(&mut q, t0, 11);
        assert!(times[10] - times[0] >= Duration::from_secs(1) + ARRIVAL_JITTER);
        assert!(times[10] - times[0] < Duration::from_secs(1) + ms(20));
    }

    #[test]
    fn a_late_send_is_counted_from_when_it_left() {
        let t0 = Instant::now();
        let mut p = PaceState::new(&ten_per_second(), t0);
        let first = p.try_admit(t0, 1).unwrap();
        // Its intent record took 300 ms to write: it left at t0 + 300 ms.
        p.sent(&first, t0 + Duration::from_millis(300));
        let rest = admit(&mut p, t0, 20);
        // Counted from when each left (the first at 300 ms), no window holds more than 10.
        let mut sent = vec![t0 + Duration::from_millis(300)];
        sent.extend(rest);
        sent.sort_unstable();
        let window = Duration::from_secs(1) + ARRIVAL_JITTER;
        for &start in &sent {
            let n = sent
                .iter()
                .filter(|&&s| s >= start && s < start + window)
                .count();
            assert!(n <= 10, "{n} in the window from {:?}", start - t0);
        }
        // Had it been counted from its admission, the 11th could have left at ~1.0 s and
        // arrived within a window of the first; it went no earlier than 1.305 s less the
        // spacing the others left.
        assert!(sent[10] > t0 + Duration::from_millis(1000) + ARRIVAL_JITTER);
    }

    #[test]
    fn a_request_that_reached_the_vendor_late_is_counted_from_when_it_arrived() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut p = PaceState::new(&ten_per_second(), t0);
        // The first request opens a connection: it arrives ~110 ms after it left, and its
        // answer (a 2 ms round trip once there) comes at 112 ms.
        let first = p.try_admit(t0, 1).unwrap();
        p.sent(&first, t0);
        p.on_answer(&first, t0 + ms(112), Answer::Accepted);
        // The second rides a warm connection: 2 ms there and back. Only now is it known
        // that the first spent ~110 ms before it arrived.
        let second = p
            .try_admit(t0 + ms(150), 1)
            .expect("the second request has room at 150 ms");
        p.sent(&second, t0 + ms(150));
        p.on_answer(&second, t0 + ms(152), Answer::Accepted);
        let rest = admit(&mut p, t0 + ms(152), 9);
        // The tenth after the first may only go a window after the first arrived.
        let last = *rest.last().unwrap();
        assert!(
            last >= t0 + ms(110) + Duration::from_secs(1) + ARRIVAL_JITTER,
            "{:?}",
            last - t0
        );
        // Answers as fast as the fastest (no handshake) change nothing.
        let mut q = PaceState::new(&ten_per_second(), t0);
        let a = q.try_admit(t0, 1).unwrap();
        q.sent(&a, t0);
        q.on_answer(&a, t0 + ms(2), Answer::Accepted);
        let rest = admit(&mut q, t0, 10);
        assert!(
            rest[9] < t0 + Duration::from_secs(1) + ARRIVAL_JITTER + ms(2),
            "{:?}",
            rest[9] - t0
        );
    }

    #[test]
    fn a_429_only_bunching_explains_widens_the_margin() {
        let t0 = Instant::now();
        let mut p = PaceState::new(&ten_per_second(), t0);
        let times = admit(&mut p, t0, 10);
        assert!(times[9] < t0 + Duration::from_secs(1));
        // The tenth (our usage 100%) is refused: nobody else is there, so arrivals bunched.
        let t = Ticket {
            id: 9,
            admitted: times[9],
            usage: 1.0,
            weight: 0.0,
        };
        assert_eq!(p.jitter(), ARRIVAL_JITTER);
        p.on_answer(&t, times[9] + Duration::from_millis(50), Answer::Refused);
        assert_eq!(p.jitter(), ARRIVAL_JITTER * 2);
        // Calm for a while: back to where it started.
        let later = times[9] + CALM + Duration::from_secs(1);
        let _ = p.try_admit(later, 1);
        assert_eq!(p.jitter(), ARRIVAL_JITTER);
        // At 60% usage a refusal means another caller, not bunching: the margin stays.
        let mut q = PaceState::new(&ten_per_second(), t0);
        let u = Ticket {
            id: 0,
            admitted: t0,
            usage: 0.6,
            weight: 0.0,
        };
        q.on_answer(&u, t0 + Duration::from_millis(50), Answer::Refused);
        assert_eq!(q.jitter(), ARRIVAL_JITTER);
        assert!(q.share(t0 + Duration::from_millis(60)) < 0.6);
    }
}
