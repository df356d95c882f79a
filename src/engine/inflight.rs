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

    /// Lower the cap by one (at most once a second, never below 1).
    pub fn lower(&self) -> Option<u32> {
        let mut s = self.state.lock().expect("inflight lock");
        if s.current <= 1 || s.last_change.elapsed() < Duration::from_secs(1) {
            return None;
        }
        s.current -= 1;
        s.last_change = Instant::now();
        if self.sem.forget_permits(1) == 0 {
            self.debt.fetch_add(1, Ordering::AcqRel);
        }
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
    async fn lowering_while_all_slots_are_out_retires_one_on_return() {
        let f = InFlight::new(2);
        let a = f.acquire().await;
        let b = f.acquire().await;
        f.state.lock().unwrap().last_change -= Duration::from_secs(2);
        assert_eq!(f.lower(), Some(1));
        assert_eq!(f.lower(), None, "at most once a second");
        drop(a);
        assert_eq!(
            f.sem.available_permits(),
            0,
            "the returned slot was retired"
        );
        drop(b);
        assert_eq!(f.sem.available_permits(), 1);
    }
}
