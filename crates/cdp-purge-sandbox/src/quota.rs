//! Exact quota accounting: a sliding window over a ring buffer of timestamps.
//!
//! Vendors state quotas as "N per second"; the engine must stay under N in *every* window of
//! one second, not on average. A token bucket or a fixed-window counter would let bursts of
//! up to 2N through a window that straddles a boundary, and the engine would pass tests it
//! should fail. So the sandbox keeps every admitted event (with its weight, e.g. the number
//! of profiles in an mParticle batch) and sums the ones younger than the window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `limit` units in any window of length `window`.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: u64,
    window: Duration,
    /// Admitted events, oldest first: (time, weight).
    events: VecDeque<(Instant, u64)>,
    /// Sum of the weights in `events`.
    total: u64,
}

impl SlidingWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: u64::from(limit),
            window,
            events: VecDeque::new(),
            total: 0,
        }
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
