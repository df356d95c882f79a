//! The in-flight cap: a semaphore whose size can shrink (CleverTap answers 429 "too many
//! concurrent requests") and grow back slowly, never above the configured cap.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct InFlight {
    sem: Arc<Semaphore>,
    /// Permits still to be retired when they come back (the cap was lowered while they were out).
    debt: Arc<AtomicU32>,
    state: Mutex<CapState>,
}

struct CapState {
    current: u32,
    max: u32,
    last_change: Instant,
}

/// A held slot; retires itself instead of returning when the cap was lowered.
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    debt: Arc<AtomicU32>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(p) = self.permit.take() else { return };
        let paid = self
            .debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
            .is_ok();
        if paid {
            p.forget();
        }
    }
}

impl InFlight {
    const RECOVER_EVERY: Duration = Duration::from_secs(10);

    pub fn new(max: u32) -> Self {
        let max = max.max(1);
        Self {
            sem: Arc::new(Semaphore::new(max as usize)),
            debt: Arc::new(AtomicU32::new(0)),
            state: Mutex::new(CapState {
                current: max,
                max,
                last_change: Instant::now(),
            }),
        }
    }

    pub fn current(&self) -> u32 {
        self.state.lock().expect("inflight lock").current
    }

    pub async fn acquire(&self) -> Slot {
        self.maybe_recover();
        let permit = self
            .sem
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        Slot {
            permit: Some(permit),
            debt: self.debt.clone(),
        }
    }

    /// The vendor refused a request for concurrency: at that moment the requests we had in
    /// flight (this one included) were more than it allows, so the cap drops to one less
    /// than that, never below 1. Several refusals from one burst converge on the limit.
    pub fn lower(&self) -> Option<u32> {
        let mut s = self.state.lock().expect("inflight lock");
        let total = s.current + self.debt.load(Ordering::Acquire);
        let in_use = total.saturating_sub(self.sem.available_permits() as u32);
        let target = in_use
            .saturating_sub(1)
            .max(1)
            .min(s.current.saturating_sub(1));
        if target == 0 || target >= s.current {
            return None;
        }
        let drop_by = s.current - target;
        s.current = target;
        s.last_change = Instant::now();
        let forgotten = self.sem.forget_permits(drop_by as usize) as u32;
        self.debt.fetch_add(drop_by - forgotten, Ordering::AcqRel);
        Some(s.current)
    }

    fn maybe_recover(&self) {
        let mut s = self.state.lock().expect("inflight lock");
        if s.current < s.max && s.last_change.elapsed() >= Self::RECOVER_EVERY {
            s.current += 1;
            s.last_change = Instant::now();
            let paid = self
                .debt
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
                .is_ok();
            if !paid {
                self.sem.add_permits(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refusal_lowers_the_cap_below_what_was_in_flight() {
        let f = InFlight::new(6);
        let slots: Vec<_> = futures_slots(&f, 6).await;
        // Six in flight and refused: the vendor allows at most five.
        assert_eq!(f.lower(), Some(5));
        let mut slots = slots.into_iter();
        drop(slots.next());
        assert_eq!(
            f.sem.available_permits(),
            0,
            "the returned slot was retired"
        );
        // Five in flight, refused again: four.
        assert_eq!(f.lower(), Some(4));
        drop(slots.next());
        assert_eq!(f.sem.available_permits(), 0);
        drop(slots.next());
        assert_eq!(f.sem.available_permits(), 1, "three out, cap four");
        // A stale refusal with fewer in flight than the cap still lowers only below in-use.
        assert_eq!(f.lower(), Some(2));
        drop(slots);
        assert_eq!(f.sem.available_permits(), 2);
        assert_eq!(f.current(), 2);
    }

    async fn futures_slots(f: &InFlight, n: usize) -> Vec<Slot> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(f.acquire().await);
        }
        v
    }
}
