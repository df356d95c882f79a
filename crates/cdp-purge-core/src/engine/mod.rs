//! The delivery engine: vendor-agnostic pacing, retries, pausing, bisection and recording.
//!
//! Adapters only build requests and classify responses; everything here works the same for
//! every vendor.

pub mod breaker;
mod dispatch;
mod inflight;
pub mod limiter;
mod pace;
pub mod pause;
pub mod retry;
mod share;
#[cfg(test)]
mod sim;

pub use dispatch::{Engine, EngineConfig, RunEnd, StopReason, Stopper};

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::ledger::ItemStatus;

/// Live counters, shared by the engine, the progress display and the summary.
#[derive(Debug)]
pub struct Stats {
    pub started: Instant,
    /// Identifiers this run has to settle (after resume skipped the done ones).
    pub total_items: AtomicU64,
    pub total_batches: AtomicU64,
    /// Skipped because the ledger already has their final outcome.
    pub skipped_items: AtomicU64,
    pub skipped_batches: AtomicU64,
    /// Not sent because an earlier run recorded a permanent failure (without
    /// `--retry-failed`): they have no success, so the run cannot exit 0.
    pub skipped_failed: AtomicU64,
    /// Of `skipped_failed`, those whose earlier outcome was `unknown`.
    pub skipped_unknown: AtomicU64,
    /// Items with a final status this run.
    pub items_done: AtomicU64,
    pub items_ok: AtomicU64,
    pub batches_done: AtomicU64,
    /// HTTP requests sent (including retries, bisection and lookups).
    pub requests: AtomicU64,
    /// Of `requests`, profile lookups made before a deletion (Segment `--lookup-type`).
    pub lookups: AtomicU64,
    /// Items whose lookup found no profile: recorded `not_found`, but not a failure of the
    /// run (there is nothing of that person to delete).
    pub absent: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub bisect_requests: AtomicU64,
    /// Items that ran out of retries on a 429 (the quota stayed exhausted).
    pub throttled_out: AtomicU64,
    pub failed: Mutex<BTreeMap<&'static str, u64>>,
}

/// The HTTP client every vendor call goes through (deletions, status polls, preflight):
/// one connect-and-total timeout, rustls, the standard proxy variables, our user agent.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    client_builder(timeout).timeout(timeout).build()
}

/// The engine's client: the same, but without reqwest's total timeout. The engine puts its
/// own deadline around every exchange (see `dispatch`), and a second timer per request
/// (registered, then cancelled, and waking the runtime's driver when it is the earliest)
/// cost a few percent of a paced run's CPU for a limit that never fired first.
fn engine_client(connect_timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    client_builder(connect_timeout).build()
}

/// No redirect is followed: a vendor's answer is the endpoint's own or none. Followed
/// (reqwest's default, up to ten, a POST turned into a GET on 301–303), a deletion answered
/// 302 to a sign-in page that answers 200 counted as deleted; a 3xx is now the batch's
/// answer, a failure that says so (`protocol::classify_common`).
///
/// Nor does reqwest resend anything on its own: every send is an attempt the engine
/// counts, paces and records. (Its default resends what an HTTP/2 server refused unread,
/// and to be able to, copied every request's URI, headers and extensions before sending
/// it: allocations per request for a resend the ledger would never have seen.)
fn client_builder(connect_timeout: std::time::Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .connect_timeout(connect_timeout)
        .user_agent(concat!("cdp-purge/", env!("CARGO_PKG_VERSION")))
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            total_items: AtomicU64::new(0),
            total_batches: AtomicU64::new(0),
            skipped_items: AtomicU64::new(0),
            skipped_batches: AtomicU64::new(0),
            skipped_failed: AtomicU64::new(0),
            skipped_unknown: AtomicU64::new(0),
            items_done: AtomicU64::new(0),
            items_ok: AtomicU64::new(0),
            batches_done: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
            absent: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            bisect_requests: AtomicU64::new(0),
            throttled_out: AtomicU64::new(0),
            failed: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub fn settle(&self, statuses: impl IntoIterator<Item = ItemStatus>) {
        let mut failed = self.failed.lock().expect("stats lock");
        // Counted here and added once: two locked adds per identifier were ~1% of a paced
        // run's CPU.
        let (mut done, mut ok) = (0, 0);
        for s in statuses {
            done += 1;
            if s.is_success() {
                ok += 1;
            } else {
                *failed.entry(s.code()).or_default() += 1;
            }
        }
        Self::add(&self.items_done, done);
        Self::add(&self.items_ok, ok);
        Self::add(&self.batches_done, 1);
    }

    /// Every failure is an item that ran out of retries on 429s: the quota, not the data,
    /// is the problem (exit code 4).
    pub fn only_throttled_failures(&self) -> bool {
        let failed = self.failed.lock().expect("stats lock");
        let total: u64 = failed.values().sum();
        total > 0
            && failed.get("failed_retryable") == Some(&total)
            && Self::get(&self.throttled_out) >= total
    }

    pub fn failed_total(&self) -> u64 {
        let failed: u64 = self.failed.lock().expect("stats lock").values().sum();
        failed.saturating_sub(Self::get(&self.absent))
    }
}
