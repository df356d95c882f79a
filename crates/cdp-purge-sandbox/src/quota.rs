//! Exact quota accounting: a sliding window over a ring buffer of timestamps. The fake
//! vendors enforce quotas with it, and the core's pacing simulation counts with it (a
//! dev-dependency: the vendor side of the simulation is the sandbox's, not the pacer's).
//!
//! Vendors state quotas as "N per second"; the engine must stay under N in *every* window of
//! one second, not on average. A token bucket or a fixed-window counter would let bursts of
//! up to 2N through a window that straddles a boundary, and the engine would pass tests it
//! should fail. So the sandbox keeps every admitted event (with its weight, e.g. the number
//! of profiles in an mParticle batch) and sums the ones younger than the window.
//!
//! A window can also carry another caller's load ([`Competing`]): a quota is per account,
//! and what matters to a client sharing it is how fast it finds and uses what is left.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Another caller sharing every quota window: from `since` on it takes `rate` units per
/// second (items for an item quota, requests for a request quota), a little every
/// [`Competing::TICK`], whenever the window has room. It sends what it owes in requests of
/// one tick's share; a request that does not fit is retried at the next tick, as a real
/// caller would retry its 429, up to one window's worth of debt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Competing {
    pub since: Instant,
    pub rate: f64,
}

impl Competing {
    pub const TICK: Duration = Duration::from_millis(10);
}

/// The competitor's progress inside one window.
#[derive(Debug)]
struct Competitor {
    next_tick: Instant,
    /// Units owed (fractions accumulate between ticks).
    debt: f64,
    /// Units it got through.
    taken: u64,
}

/// At most `limit` units in any window of length `window`.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: u64,
    window: Duration,
    /// Admitted events, oldest first: (time, weight).
    events: VecDeque<(Instant, u64)>,
    /// Sum of the weights in `events`.
    total: u64,
    competitor: Option<Competitor>,
}

impl SlidingWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: u64::from(limit),
            window,
            events: VecDeque::new(),
            total: 0,
            competitor: None,
        }
    }

    /// Share this window with another caller whose load follows `schedule` (rate changes,
    /// oldest first). Created at `now`, the competitor has already been running for a
    /// window, so the first request meets a window that is as full as it will stay.
    pub fn with_competitor(mut self, now: Instant, schedule: &[Competing]) -> Self {
        let start = now.checked_sub(self.window).unwrap_or(now);
        self.competitor = Some(Competitor {
            next_tick: start,
            debt: 0.0,
            taken: 0,
        });
        self.catch_up(now, schedule);
        self
    }

    /// Units the competitor got through so far.
    pub fn competitor_taken(&self) -> u64 {
        self.competitor.as_ref().map_or(0, |c| c.taken)
    }

    /// Play the competitor's ticks up to `now`, each at its own instant, so that our
    /// request at `now` meets the window the two callers made together.
    pub fn catch_up(&mut self, now: Instant, schedule: &[Competing]) {
        // A competitor that arrives after the window was made starts when it arrives.
        let Some(mut c) = self.competitor.take().or_else(|| {
            schedule.first().map(|s| Competitor {
                next_tick: s.since,
                debt: 0.0,
                taken: 0,
            })
        }) else {
            return;
        };
        let cap = self.window.as_secs_f64();
        while c.next_tick <= now {
            let t = c.next_tick;
            // Before the first entry of the schedule the competitor runs at that rate too.
            let rate = schedule
                .iter()
                .rev()
                .find(|s| s.since <= t)
                .or(schedule.first())
                .map_or(0.0, |s| s.rate);
            if rate > 0.0 {
                c.debt = (c.debt + rate * Competing::TICK.as_secs_f64()).min(rate * cap);
            } else {
                c.debt = 0.0;
            }
            // What it owes goes in requests of one tick's size, each admitted or refused on
            // its own. One request of the whole debt would grow by a tick's share at every
            // refusal, past any room a paced caller leaves, and never fit again.
            let piece = ((rate * Competing::TICK.as_secs_f64()).ceil() as u64).max(1);
            let mut owed = c.debt.floor() as u64;
            while owed > 0 {
                let n = owed.min(piece);
                if !self.fits(t, n) {
                    break;
                }
                self.admit(t, n);
                owed -= n;
                c.debt -= n as f64;
                c.taken += n;
            }
            c.next_tick += Competing::TICK;
        }
        self.competitor = Some(c);
    }

    /// Admit `weight` units at `now` if the window ending at `now` stays within the limit.
    /// A refused event is not recorded: like the real vendors, a 429 does not consume quota.
    /// `now` must not go backwards between calls (it comes from a monotonic clock).
    pub fn try_admit(&mut self, now: Instant, weight: u64) -> bool {
        if !self.fits(now, weight) {
            return false;
        }
        self.admit(now, weight);
        true
    }

    /// Whether `weight` more units at `now` stay within the limit (records nothing).
    pub fn fits(&mut self, now: Instant, weight: u64) -> bool {
        self.expire(now);
        self.total + weight <= self.limit
    }

    /// Record `weight` units at `now` unconditionally (after [`Self::fits`] said yes, when
    /// several windows must admit an event together).
    pub fn admit(&mut self, now: Instant, weight: u64) {
        self.expire(now);
        self.events.push_back((now, weight));
        self.total += weight;
    }

    /// Units admitted in the window ending at `now`.
    pub fn in_window(&mut self, now: Instant) -> u64 {
        self.expire(now);
        self.total
    }

    /// When the oldest event still counted was admitted.
    pub fn oldest(&self) -> Option<Instant> {
        self.events.front().map(|e| e.0)
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Drop events that left the window. An event at `t` still counts at `t + window - ε`
    /// and no longer at `t + window`: windows are half-open, `(now - window, now]`.
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, weight)) = self.events.front() {
            if now.saturating_duration_since(at) >= self.window {
                self.events.pop_front();
                self.total -= weight;
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn admits_up_to_the_limit_then_refuses() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(3, SEC);
        assert!(w.try_admit(t0, 1));
        assert!(w.try_admit(t0, 2));
        assert!(!w.try_admit(t0, 1));
        assert_eq!(w.in_window(t0), 3);
    }

    #[test]
    fn the_window_slides_instead_of_resetting() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = SlidingWindow::new(10, SEC);
        assert!(w.try_admit(t0, 5));
        assert!(w.try_admit(t0 + ms(900), 5));
        // A fixed window starting at t0 + 1 s would admit here; the sliding one must not,
        // because (t0 + 0.9 s, t0 + 1.1 s] already holds 5 and the earlier 5 ...
        assert!(!w.try_admit(t0 + ms(999), 1));
        // ... leaves at exactly t0 + 1 s.
        assert!(w.try_admit(t0 + ms(1000), 5));
        assert!(!w.try_admit(t0 + ms(1899), 1));
        assert!(w.try_admit(t0 + ms(1900), 5));
    }

    #[test]
    fn refused_events_do_not_consume_quota() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(100, SEC);
        assert!(w.try_admit(t0, 100));
        for i in 1..50 {
            assert!(!w.try_admit(t0 + Duration::from_millis(i * 10), 1));
        }
        assert!(w.try_admit(t0 + SEC, 100));
    }

    #[test]
    fn a_batch_larger_than_the_limit_never_fits() {
        let mut w = SlidingWindow::new(10, SEC);
        assert!(!w.try_admit(Instant::now(), 11));
        assert_eq!(w.in_window(Instant::now()), 0);
    }

    #[test]
    fn a_competitor_takes_its_share_and_leaves_the_rest() {
        let t0 = Instant::now() + SEC;
        let schedule = [Competing {
            since: t0,
            rate: 500.0,
        }];
        let mut w = SlidingWindow::new(1500, SEC).with_competitor(t0, &schedule);
        // It has been running for a window already: 500 units in it.
        assert_eq!(w.in_window(t0), 500);
        // We ask for more than is left: 1200/s, in 120s every 100 ms.
        let mut ours = 0;
        let mut refused = 0;
        for i in 0..100u64 {
            let t = t0 + Duration::from_millis(i * 100);
            w.catch_up(t, &schedule);
            if w.try_admit(t, 120) {
                ours += 120;
            } else {
                refused += 1;
            }
            assert!(w.in_window(t) <= 1500);
        }
        // Ten seconds: the competitor got its 500/s throughout, we got about 1000/s.
        let theirs = w.competitor_taken();
        assert!((4900..=5500).contains(&theirs), "competitor took {theirs}");
        assert!((9000..=10_100).contains(&ours), "we took {ours}");
        assert!(
            refused > 0,
            "asking for more than is left must be refused sometimes"
        );
    }

    /// A client paced window-exact (as `cdp-purge`'s guard paces) keeps the window full and
    /// leaves room only for the moment between a request leaving the window and its next
    /// one arriving. A competitor that starts then must still get in, at whatever phase its
    /// ticks fall: a real caller retries its refused requests at its own size; it does not
    /// pile them into one request that must fit whole and so never fits again.
    #[test]
    fn a_late_competitor_gets_into_a_window_kept_full_by_an_evenly_paced_caller() {
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        let t0 = Instant::now() + SEC;
        // The caller's next request goes 1 s (+ 2 ms of margin) after the one 15 before it;
        // the first 15 are spread over a second. A refused request is retried 1 ms later,
        // the hardest case for the competitor.
        let margin = ms(2);
        let mut starved = Vec::new();
        for phase in 0..40u64 {
            let since = t0 + 3 * SEC + us(phase * 250);
            let schedule = [Competing { since, rate: 500.0 }];
            let mut w = SlidingWindow::new(1500, SEC);
            let mut sent: Vec<Instant> = Vec::new();
            let mut next = t0;
            let mut t = t0;
            while t < since + 5 * SEC {
                w.catch_up(t, &schedule);
                if t >= next {
                    if w.try_admit(t, 100) {
                        sent.push(t);
                        next = if sent.len() < 15 {
                            t0 + ms(1000 * sent.len() as u64 / 15)
                        } else {
                            sent[sent.len() - 15] + SEC + margin
                        };
                    } else {
                        next = t + ms(1);
                    }
                }
                assert!(w.in_window(t) <= 1500);
                t += us(250);
            }
            // At least the room one of our requests leaves: it got in, not a crumb.
            if w.competitor_taken() < 100 {
                starved.push((phase, w.competitor_taken()));
            }
        }
        assert!(
            starved.is_empty(),
            "the competitor got less than one request's room in five seconds at (phase, units) {starved:?} (of 40 phases)"
        );
    }

    #[test]
    fn a_competitor_that_stops_frees_the_window_one_window_later() {
        let t0 = Instant::now() + SEC;
        let stop = t0 + 2 * SEC;
        let schedule = [
            Competing {
                since: t0,
                rate: 500.0,
            },
            Competing {
                since: stop,
                rate: 0.0,
            },
        ];
        let mut w = SlidingWindow::new(1500, SEC).with_competitor(t0, &schedule);
        w.catch_up(stop, &schedule);
        let before = w.in_window(stop);
        assert!((490..=500).contains(&before), "{before}");
        w.catch_up(stop + SEC, &schedule);
        assert_eq!(w.in_window(stop + SEC), 0);
        assert!(w.try_admit(stop + SEC, 1500));
    }

    #[test]
    fn never_more_than_the_limit_in_any_window() {
        // Offer events at pseudo-random times and check every window afterwards.
        let t0 = Instant::now();
        let mut rng = fastrand::Rng::with_seed(42);
        let mut w = SlidingWindow::new(20, SEC);
        let mut admitted = Vec::new();
        let mut t = t0;
        for _ in 0..2000 {
            t += Duration::from_millis(rng.u64(0..15));
            let weight = rng.u64(1..4);
            if w.try_admit(t, weight) {
                admitted.push((t, weight));
            }
        }
        for (i, &(start, _)) in admitted.iter().enumerate() {
            let sum: u64 = admitted[i..]
                .iter()
                .take_while(|(at, _)| at.duration_since(start) < SEC)
                .map(|&(_, w)| w)
                .sum();
            assert!(sum <= 20, "window starting at event {i} holds {sum}");
        }
        assert!(admitted.len() > 100, "the limiter admitted too little");
    }
}
