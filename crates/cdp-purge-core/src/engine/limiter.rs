//! Pacing: the budgets a run keeps under (requests/s, items/s, in flight) and the shared
//! pacer every request goes through.
//!
//! Vendors state quotas as "N per window" over *every* window, not on average. A token
//! bucket alone admits `burst + rate·T` in a window of `T`, so keeping it under the quota
//! meant `rate + burst ≤ quota` with the burst at least one batch: at 100 profiles per
//! request that left 7% of mParticle's quota unused. The pacer now keeps an exact sliding
//! window of its own admissions ([`super::pace`]) and uses governor's GCRA only to space
//! requests out, so the whole quota is usable at any batch size and no window ever holds
//! more than it. When 429s show that the quota is shared, [`super::share`] decides how much
//! of it is ours.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::UserError;
use crate::protocol::{Quota, Rate};

use super::pace::PaceState;
pub use super::pace::{ARRIVAL_JITTER, Answer, SPREAD, Ticket};
pub use super::share::Reaction;

/// One budget: a quota kept exactly, and the spacing that spreads it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Budget {
    /// Spacing: cells per second (a little above the quota's average, see [`SPREAD`]).
    pub rate: f64,
    /// Spacing: cells that may leave back to back (one batch).
    pub burst: u32,
    /// The most cells one request carries (its batch).
    #[serde(skip)]
    pub batch: u32,
    /// The quota this budget keeps under (`count` per `per`), exactly, over every window.
    pub quota: Rate,
}

impl Budget {
    /// The budget for a quota whose requests carry up to `min_burst` cells. `None` when
    /// the quota is too small to ever admit `min_burst` cells at once.
    pub fn for_quota(quota: Rate, min_burst: u32) -> Option<Self> {
        let batch = min_burst.max(1);
        if batch > quota.count || quota.per.is_zero() {
            return None;
        }
        // 2% of the quota on top of a batch: a waiter that wakes late (timer granularity,
        // a busy machine) catches up instead of losing that time for good. The window
        // guard, not the bucket, keeps the quota, so this costs nothing in exactness.
        let burst = if quota.per >= crate::ledger::window::LONG_WINDOW {
            // A window longer than a run (Segment regulations: 30 days) is planned from the
            // ledger before the run starts; spacing its quota out would stretch a run that
            // fits over weeks. The exact window still keeps it.
            quota.count
        } else {
            batch.saturating_add(quota.count / 50).min(quota.count)
        };
        Some(Self {
            rate: quota.per_sec() * SPREAD,
            burst,
            batch,
            quota,
        })
    }
}

/// The limits a run uses, after defaults and overrides.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Limits {
    pub requests: Option<Budget>,
    pub items: Option<Budget>,
    /// Requests in flight at once.
    pub concurrency: u32,
    /// The vendor limits concurrency (CleverTap): a 429 lowers the in-flight cap, not the rate.
    pub concurrency_limited: bool,
}

/// Overrides from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub max_rps: Option<f64>,
    pub max_items_per_sec: Option<f64>,
    pub concurrency: Option<u32>,
    /// `--max-per-window N/DURATION`: the account's own terms for the vendor's quota. It
    /// replaces the item quota where the vendor counts items, else the request quota.
    pub max_per_window: Option<Rate>,
}

/// Work out the effective limits. Returns the limits and warnings for stderr (overrides above
/// a documented quota).
pub fn resolve(
    quota: &Quota,
    default_concurrency: u32,
    batch_size: usize,
    o: Overrides,
) -> anyhow::Result<(Limits, Vec<String>)> {
    let mut warnings = Vec::new();
    let batch = u32::try_from(batch_size).unwrap_or(u32::MAX).max(1);
    let mut terms = *quota;
    if let Some(w) = o.max_per_window {
        let slot = if quota.items.is_some() {
            &mut terms.items
        } else {
            &mut terms.requests
        };
        if let Some(d) = *slot
            && quota.documented
            && w.per_sec() > d.per_sec()
        {
            warnings.push(format!(
                "--max-per-window {w} is above the vendor's documented quota of {d}; expect 429s unless the account has these terms"
            ));
        }
        *slot = Some(w);
    }
    let quota = &terms;
    let pick = |name: &str,
                flag: &str,
                documented: Option<Rate>,
                over: Option<f64>,
                min_burst: u32,
                warnings: &mut Vec<String>|
     -> anyhow::Result<Option<Budget>> {
        let Some(q) = over.map(per_second_quota).transpose()?.or(documented) else {
            return Ok(None);
        };
        if let (Some(o), Some(d)) = (over, documented)
            && quota.documented
            && o > d.per_sec()
        {
            warnings.push(format!(
                "{flag} {o} is above the vendor's documented quota of {d} {name}; expect 429s"
            ));
        }
        Budget::for_quota(q, min_burst).map(Some).ok_or_else(|| {
            UserError::usage(format!(
                "{flag}: a quota of {q} {name} cannot carry batches of {min_burst}"
            ))
            .with_hint("raise the limit or lower --batch-size")
            .into()
        })
    };
    let requests = pick(
        "requests",
        "--max-rps",
        quota.requests,
        o.max_rps,
        1,
        &mut warnings,
    )?;
    let items = pick(
        "items",
        "--max-items-per-sec",
        quota.items,
        o.max_items_per_sec,
        batch,
        &mut warnings,
    )?;
    let concurrency = match (o.concurrency, quota.in_flight) {
        (Some(0), _) => return Err(UserError::usage("--concurrency must be at least 1").into()),
        (Some(c), Some(max)) if c > max && quota.documented => {
            warnings.push(format!(
                "--concurrency {c} is above the vendor's documented limit of {max} in flight; expect 429s"
            ));
            c
        }
        (Some(c), _) => c,
        (None, _) => default_concurrency.max(1),
    };
    Ok((
        Limits {
            requests,
            items,
            concurrency,
            concurrency_limited: quota.in_flight.is_some(),
        },
        warnings,
    ))
}

/// A `--max-rps`-style number as a quota: N per second, or for N < 1 one per 1/N seconds.
fn per_second_quota(n: f64) -> anyhow::Result<Rate> {
    if !(n.is_finite() && n > 0.0) {
        return Err(UserError::usage(format!("a rate must be a positive number, got {n}")).into());
    }
    if n >= 2.0 {
        Ok(Rate::per_second(n.floor() as u32))
    } else {
        // Two cells per 2/n seconds: a budget of burst 1 and rate n/2 keeps under it.
        Ok(Rate {
            count: 2,
            per: Duration::from_secs_f64(2.0 / n),
        })
    }
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (name, b) in [("requests", self.requests), ("items", self.items)] {
            if let Some(b) = b {
                parts.push(format!(
                    "{name} (quota {}) over every sliding window",
                    b.quota
                ));
            }
        }
        parts.push(format!("{} in flight", self.concurrency));
        f.write_str(&parts.join(", "))
    }
}

/// The shared pacer: every request waits here for its turn and its budgets.
pub struct Pacer {
    limits: Limits,
    state: Mutex<PaceState>,
    /// One waiter at a time, first come first served, so batches leave in the order
    /// workers asked and only the head of the queue holds a timer.
    turn: tokio::sync::Mutex<()>,
    /// Woken when the answer to a probe that held every admission comes.
    probe_answered: tokio::sync::Notify,
    /// Requests waiting in [`Pacer::acquire`]: how large a group may be.
    waiting: AtomicUsize,
}

/// One request counted in [`Pacer::waiting`] until it is admitted or gives up (a stop
/// drops the `acquire` future).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Self(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Now, on tokio's clock (which tests can pause and advance).
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl Pacer {
    pub fn new(limits: Limits) -> Self {
        let state = PaceState::new(&limits, now());
        Self {
            limits,
            state: Mutex::new(state),
            turn: tokio::sync::Mutex::new(()),
            probe_answered: tokio::sync::Notify::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The run plans to send `requests` requests (see [`PaceState::plan`]).
    pub fn plan(&self, requests: u64) {
        self.state().plan(requests);
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fraction of the quota the run may use now (1.0 = all of it).
    pub fn factor(&self) -> f64 {
        self.state().share(now())
    }

    /// A `Retry-After` longer than this pauses every worker.
    pub fn long_wait(&self) -> Duration {
        self.state().long_wait()
    }

    /// The quota's window (the longest of the budgets; one second without any).
    pub fn window(&self) -> Duration {
        self.state().window()
    }

    /// Wait until one request carrying `items` identifiers may go out. Requests waiting
    /// together may be admitted as a group (see [`PaceState::try_admit_among`]).
    pub async fn acquire(&self, items: usize) -> Ticket {
        {
            let s = self.state();
            if s.is_unlimited() {
                return s.untracked(now());
            }
        }
        let _waiting = Waiting::enter(&self.waiting);
        let _turn = self.turn.lock().await;
        loop {
            let waiting = self.waiting.load(Ordering::Relaxed);
            let at = match self.state().try_admit_among(now(), items, waiting) {
                Ok(ticket) => return ticket,
                Err(at) => at,
            };
            // A probe's answer may open the way before `at` (its deadline); a permit left
            // by an earlier answer only costs one more look.
            tokio::select! {
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
                () = self.probe_answered.notified() => {}
            }
        }
    }

    /// The admitted request is leaving now.
    pub fn sent(&self, ticket: &Ticket) {
        self.state().sent(ticket, now());
    }

    /// What the vendor answered to an admitted request.
    pub fn on_answer(&self, ticket: &Ticket, answer: Answer) -> Reaction {
        let (reaction, released) = {
            let mut s = self.state();
            let held = s.holding();
            let r = s.on_answer(ticket, now(), answer);
            (r, held && !s.holding())
        };
        if released {
            self.probe_answered.notify_one();
        }
        reaction
    }

    /// For callers that do not keep tickets: a 429 (`throttled`) or any other answer.
    /// Returns the new share when the run slowed.
    pub fn on_response(&self, throttled: bool) -> Option<f64> {
        let now = now();
        let mut s = self.state();
        if s.is_unlimited() {
            return None;
        }
        let t = s.untracked(now);
        let answer = if throttled {
            Answer::Refused
        } else {
            Answer::Other
        };
        match s.on_answer(&t, now, answer) {
            Reaction::Slowed(f) | Reaction::PauseAll(_, f) => Some(f),
            Reaction::None => None,
        }
    }
}

/// Proves on a fake clock that the pacing [`resolve`] gives a vendor row (its quota, default
/// concurrency and batch size) never admits more than the quota in any window, and keeps at
/// least 90% of it. The adapters' registry test runs it for every row: the rows live there,
/// the pacing here.
pub fn check_row_pacing(quota: &Quota, concurrency: u32, batch: usize) -> Result<(), String> {
    let (limits, _) =
        resolve(quota, concurrency, batch, Overrides::default()).map_err(|e| e.to_string())?;
    let Some(per) = limits.requests.or(limits.items).map(|b| b.quota.per) else {
        return Ok(());
    };
    // Greedy admissions, each leaving at once, for four windows.
    let t0 = std::time::Instant::now();
    let end = t0 + per * 4;
    let mut pace = PaceState::new(&limits, t0);
    let mut now = t0;
    let mut admitted = Vec::new();
    while now < end {
        // As many waiting as may be in flight: groups form once the start is calm.
        match pace.try_admit_among(now, batch, concurrency as usize) {
            Ok(t) => {
                pace.sent(&t, now);
                admitted.push(now);
            }
            Err(at) => now = at.max(now + Duration::from_micros(250)),
        }
    }
    let take = u64::try_from(batch).map_err(|e| e.to_string())?;
    for (b, weight) in [(limits.requests, 1), (limits.items, take)] {
        let Some(b) = b else { continue };
        let count = u64::from(b.quota.count);
        let mut lo = 0;
        for hi in 0..admitted.len() {
            while admitted[hi] - admitted[lo] >= b.quota.per {
                lo += 1;
            }
            let seen = (hi - lo + 1) as u64 * weight;
            if seen > count {
                return Err(format!(
                    "{seen} cells in one window of {:?}, quota {count}",
                    b.quota.per
                ));
            }
        }
        // And it is not needlessly slow.
        let total = admitted.len() as u64 * weight;
        if (total as f64) < 0.9 * 4.0 * count as f64 - weight as f64 {
            return Err(format!(
                "{total} cells in four windows of {:?}: less than 90% of the quota {count}",
                b.quota.per
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
