//! Status lookups: one GET per vendor job (or mParticle profile), paced by the engine's
//! limiter, held back by its 429 pause gate and retried by its retry policy, so polling
//! behaves exactly like delivery towards the vendor's quota.

pub mod jobs;
pub mod obs;
pub mod sample;
pub mod select;
mod values;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::engine::limiter::{Limits, Pacer};
use crate::engine::pause::PauseGate;
use crate::engine::retry::RetryPolicy;
use crate::protocol::answer::{MAX_ANSWER, Unread, read_capped, too_large};
use crate::protocol::{Request, Response, VendorSpec, Verdict, classify_common};

/// What one lookup came to, after retries.
#[derive(Debug)]
pub enum Fetched {
    /// A 2xx answer.
    Ok { status: u16, body: Vec<u8> },
    /// A final non-2xx the caller interprets (a 404 for an unknown ID or a deleted profile).
    Refused {
        status: u16,
        reason: String,
        body: Vec<u8>,
    },
    /// Retries ran out, or (`oversized`) the answer was too large to read
    /// ([`MAX_ANSWER`]): asking again would only be cut off again.
    GaveUp {
        reason: String,
        throttled: bool,
        oversized: bool,
    },
    /// Credentials refused (or the like): nothing else will work.
    Fatal {
        reason: String,
        hint: String,
        auth: bool,
    },
    /// The run is stopping (Ctrl-C or another lookup's fatal error).
    Stopped,
}

/// Counters for the summary and the progress line.
#[derive(Debug, Default)]
pub struct PollStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
}

impl PollStats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Sends lookups for one vendor (one quota).
pub struct Poller {
    client: reqwest::Client,
    pacer: Pacer,
    pause: PauseGate,
    slots: Semaphore,
    concurrency: usize,
    retry: RetryPolicy,
    spec: &'static VendorSpec,
    /// Replaces the hint of a refused credential (the Profile API uses other credentials
    /// than the deletion API).
    auth_hint: Option<String>,
    pub stats: PollStats,
    stopped: AtomicBool,
    fatal: Mutex<Option<(String, String, bool)>>,
}

impl Poller {
    pub fn new(
        spec: &'static VendorSpec,
        limits: Limits,
        retry: RetryPolicy,
        timeout: Duration,
        auth_hint: Option<String>,
    ) -> anyhow::Result<Self> {
        let client = crate::engine::http_client(timeout)?;
        Ok(Self {
            client,
            slots: Semaphore::new(limits.concurrency.max(1) as usize),
            concurrency: limits.concurrency.max(1) as usize,
            pacer: Pacer::new(limits),
            pause: PauseGate::new(),
            retry,
            spec,
            auth_hint,
            stats: PollStats::default(),
            stopped: AtomicBool::new(false),
            fatal: Mutex::new(None),
        })
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// The first fatal error, if any: (reason, hint, auth).
    pub fn fatal(&self) -> Option<(String, String, bool)> {
        self.fatal.lock().expect("fatal lock").clone()
    }

    /// Replace the recorded fatal error with a more precise one (the caller knows which call
    /// it was).
    pub fn override_fatal(&self, reason: String, hint: String, auth: bool) -> Fetched {
        self.stop();
        *self.fatal.lock().expect("fatal lock") = Some((reason.clone(), hint.clone(), auth));
        Fetched::Fatal { reason, hint, auth }
    }

    /// Stop every lookup for a reason found outside [`Poller::fetch`] (a refused token, an
    /// account path the vendor does not know), and return it as a [`Fetched::Fatal`].
    pub fn set_fatal(&self, reason: String, hint: String, auth: bool) -> Fetched {
        self.stop();
        let mut f = self.fatal.lock().expect("fatal lock");
        if f.is_none() {
            *f = Some((reason.clone(), hint.clone(), auth));
        }
        Fetched::Fatal { reason, hint, auth }
    }

    /// Lookups in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// One lookup (and the attempts it took) through the pause gate, an in-flight slot and the pacer, retried on 429,
    /// 5xx and transport errors with the engine's backoff.
    pub async fn fetch(&self, req: &Request) -> (Fetched, u32) {
        let mut attempt = 0u32;
        let f = loop {
            // Checked before queueing for the pacer too: after Ctrl-C or a fatal answer, a
            // million queued lookups must not each wait for a token just to give up.
            if self.is_stopped() {
                break Fetched::Stopped;
            }
            attempt += 1;
            let slot = loop {
                self.pause.wait().await;
                let slot = self.slots.acquire().await.expect("never closed");
                self.pacer.acquire(1).await;
                if self.pause.remaining().is_none() {
                    break slot;
                }
            };
            if self.is_stopped() {
                break Fetched::Stopped;
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let verdict = match self.send(req, attempt).await {
                Answer::Success { status, body } => break Fetched::Ok { status, body },
                Answer::Refused {
                    status,
                    reason,
                    body,
                } => {
                    break Fetched::Refused {
                        status,
                        reason,
                        body,
                    };
                }
                Answer::TooLarge(reason) => {
                    break Fetched::GaveUp {
                        reason,
                        throttled: false,
                        oversized: true,
                    };
                }
                Answer::Again(v) => v,
            };
            match verdict {
                Verdict::Retry {
                    throttled,
                    retry_after,
                    reason,
                } => {
                    let delay = self.retry.delay(attempt, retry_after, fastrand::f64());
                    if throttled {
                        self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                        self.pacer.on_response(true);
                        // Account-wide, as for deletions: everyone waits.
                        self.pause.pause_for(self.retry.scaled(delay));
                    }
                    drop(slot);
                    tracing::info!(
                        "{} lookup attempt {attempt}: {reason}; retry in {delay:?}",
                        self.spec.id
                    );
                    if !self.retry.may_retry(attempt) {
                        break Fetched::GaveUp {
                            reason: format!("gave up after {attempt} attempts: {reason}"),
                            throttled,
                            oversized: false,
                        };
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.retry.scaled(delay)).await;
                }
                Verdict::Fatal { reason, hint, auth } => {
                    let hint = self.auth_hint.clone().filter(|_| auth).unwrap_or(hint);
                    break self.set_fatal(reason, hint, auth);
                }
                Verdict::Failed { .. } | Verdict::Items(_) => {
                    unreachable!("send returns refusals as Answer::Refused")
                }
            }
        };
        (f, attempt)
    }

    /// Send once and classify the answer like the engine does.
    async fn send(&self, req: &Request, attempt: u32) -> Answer {
        let rb = req.builder(&self.client);
        // reqwest's error text holds the URL, which may hold an identifier (an MPID in the
        // Profile API path): say what failed, never where.
        let transport = |e: &reqwest::Error| {
            Answer::Again(Verdict::Retry {
                throttled: false,
                retry_after: None,
                reason: format!(
                    "transport error: {}",
                    if e.is_timeout() {
                        "timeout"
                    } else if e.is_connect() {
                        "connect"
                    } else {
                        "connection"
                    }
                ),
            })
        };
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => return transport(&e),
        };
        let status = resp.status().as_u16();
        if status != 429 {
            // Only repeated 429s slow the pacer; any other answer counts as a clean one.
            self.pacer.on_response(false);
        }
        let headers = resp.headers().clone();
        let body = match read_capped(resp, MAX_ANSWER).await {
            Ok(b) => b,
            Err(Unread::TooLarge) => {
                return Answer::TooLarge(format!("HTTP {status}: {}", too_large()));
            }
            Err(Unread::Transport(e)) => return transport(&e),
        };
        if (200..300).contains(&status) {
            return Answer::Success { status, body };
        }
        let verdict = classify_common(
            self.spec,
            &Response {
                status,
                headers: &headers,
                body: &body,
                attempt,
                maybe_delivered_before: false,
            },
        );
        match verdict {
            Verdict::Failed { reason, .. } => Answer::Refused {
                status,
                reason,
                body,
            },
            v => Answer::Again(v),
        }
    }
}

enum Answer {
    /// A 2xx (or other) answer too large to read: nothing can be proved from it.
    TooLarge(String),
    Success {
        status: u16,
        body: Vec<u8>,
    },
    Refused {
        status: u16,
        reason: String,
        body: Vec<u8>,
    },
    /// Retry or stop.
    Again(Verdict),
}
