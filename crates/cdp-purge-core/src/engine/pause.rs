//! The shared pause gate: one 429 stops every worker until the vendor's Retry-After.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Holds the instant until which nobody may send. Cloning shares the gate.
#[derive(Clone)]
pub struct PauseGate {
    tx: std::sync::Arc<watch::Sender<Option<Instant>>>,
}

impl Default for PauseGate {
    fn default() -> Self {
        Self::new()
    }
}

impl PauseGate {
    pub fn new() -> Self {
        let (tx, _) = watch::channel(None);
        Self {
            tx: std::sync::Arc::new(tx),
        }
    }

    /// Pause everyone for `d` from now; an existing longer pause wins.
    pub fn pause_for(&self, d: Duration) {
        let until = Instant::now() + d;
        self.tx.send_if_modified(|cur| match cur {
            Some(t) if *t >= until => false,
            _ => {
                *cur = Some(until);
                true
            }
        });
    }

    /// Remaining pause, if any.
    pub fn remaining(&self) -> Option<Duration> {
        let until = (*self.tx.borrow())?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Wait until no pause is in force (re-checking if it is extended meanwhile).
    /// Returns true if it had to wait.
    pub async fn wait(&self) -> bool {
        let mut waited = false;
        loop {
            let until = *self.tx.borrow();
            match until {
                Some(t) if t > Instant::now() => {
                    waited = true;
                    tokio::time::sleep_until(t).await;
                }
                _ => return waited,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn longest_pause_wins_and_everyone_waits() {
        let g = PauseGate::new();
        assert!(!g.wait().await);
        g.pause_for(Duration::from_secs(5));
        g.pause_for(Duration::from_secs(1));
        let t0 = Instant::now();
        let (a, b) = tokio::join!(g.wait(), g.clone().wait_owned());
        assert!(a && b);
        assert_eq!(Instant::now() - t0, Duration::from_secs(5));
        assert_eq!(g.remaining(), None);
    }

    impl PauseGate {
        async fn wait_owned(self) -> bool {
            self.wait().await
        }
    }
}
