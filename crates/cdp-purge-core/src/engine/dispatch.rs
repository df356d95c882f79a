//! Workers: take batches, wait for the pause gate, a slot and the pacer, record the intent,
//! send, classify, then retry, bisect, settle or stop the run.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::Stats;
use super::breaker::{Breaker, Write};
use super::inflight::InFlight;
use super::limiter::{Answer as PaceAnswer, Limits, Pacer, Reaction};
use super::pause::PauseGate;
use super::retry::RetryPolicy;
use crate::batch::{Batch, BatchHash};
use crate::ledger::{self, Attempt, DraftItem, ItemStatus, LedgerHandle, OutcomeDraft, Phase};
use crate::protocol::answer::{MAX_ANSWER, Unread, read_capped};
use crate::protocol::{Adapter, Request, Resolution, Response, Verdict};

/// How long an answer may still be taken after the request's deadline passed, if it is
/// already there (see `send`).
const TIMEOUT_GRACE: Duration = Duration::from_millis(250);

/// Response headers whose values identify a request on the vendor's side.
const REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-mp-trace-id",
    "x-correlation-id",
    "x-trace-id",
];

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub limits: Limits,
    pub retry: RetryPolicy,
    /// Connect and total timeout of one request.
    pub timeout: Duration,
    pub include_identifiers: bool,
    /// Global cap on extra requests spent on bisection.
    pub bisect_budget: u64,
    pub run_id: String,
    pub key: [u8; 32],
    /// Stop the run when this many first identifiers all failed permanently for the same
    /// reason (see [`super::breaker`]); 0 turns the breaker off.
    pub breaker_after: u64,
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Interrupted,
    Fatal {
        reason: String,
        hint: String,
        auth: bool,
    },
    Ledger(String),
}

#[derive(Debug, Clone)]
pub struct RunEnd {
    pub stopped: Option<StopReason>,
    /// Batches received but never settled (stopped before or during delivery).
    pub abandoned_batches: u64,
}

pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    adapter: Arc<dyn Adapter>,
    client: reqwest::Client,
    pacer: Pacer,
    pause: PauseGate,
    inflight: InFlight,
    ledger: LedgerHandle,
    cfg: EngineConfig,
    hasher: ledger::Hasher,
    stats: Arc<Stats>,
    stop_tx: watch::Sender<bool>,
    stop: Mutex<Option<StopReason>>,
    /// Outcomes wait here while the breaker is undecided.
    breaker: Breaker<Pending>,
    /// The breaker's stop was issued (once).
    tripped: std::sync::atomic::AtomicBool,
}

/// An outcome not written yet: the batch, its parent (for a bisected half) and how it
/// settled.
struct Pending {
    batch: Batch,
    parent: Option<BatchHash>,
    settled: Settled,
}

/// A deletion request, and what its item's lookup resolved to.
type Resolved = (Request, Option<String>);

/// How a (sub-)batch settled.
struct Settled {
    results: Vec<(ItemStatus, Option<String>, Option<String>)>,
    /// Each item's resume key, computed once for the intent and the outcome.
    keys: Vec<u128>,
    attempts: u32,
    bisected: bool,
    /// The last attempt's result record, written together with the outcome: one round
    /// trip to the ledger writer instead of two (each wakes two idle threads).
    last_attempt: Option<Attempt>,
    /// What a one-item batch's lookup resolved to (Segment: the user_id), for its keyed hash
    /// in the outcome.
    resolved: Option<String>,
}

/// What came back from one attempt.
struct Answer {
    verdict: Verdict,
    status: Option<u16>,
    error: Option<&'static str>,
    request_ids: BTreeMap<String, String>,
    maybe_delivered: bool,
}

impl Engine {
    pub fn new(
        adapter: Arc<dyn Adapter>,
        cfg: EngineConfig,
        ledger: LedgerHandle,
        stats: Arc<Stats>,
    ) -> anyhow::Result<Self> {
        let client = super::engine_client(cfg.timeout)?;
        let (stop_tx, _) = watch::channel(false);
        let pacer = Pacer::new(cfg.limits.clone());
        // What the run plans to send, as counted before it starts: a long run paces in
        // larger groups.
        pacer.plan(
            stats
                .total_batches
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                adapter,
                client,
                pacer,
                pause: PauseGate::new(),
                inflight: InFlight::new(cfg.limits.concurrency),
                ledger,
                hasher: ledger::Hasher::new(&cfg.key),
                stats,
                stop_tx,
                stop: Mutex::new(None),
                breaker: Breaker::new(cfg.breaker_after),
                tripped: std::sync::atomic::AtomicBool::new(false),
                cfg,
            }),
        })
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.inner.stats
    }

    /// The remaining 429 pause, for the progress display.
    pub fn paused_for(&self) -> Option<Duration> {
        self.inner.pause.remaining()
    }

    /// A closure reporting the remaining pause (for the progress display).
    pub fn pause_view(&self) -> impl Fn() -> Option<Duration> + Send + Sync + 'static {
        let gate = self.inner.pause.clone();
        move || gate.remaining()
    }

    /// The current request-rate factor (AIMD) and in-flight cap.
    pub fn throttle_state(&self) -> (f64, u32) {
        (self.inner.pacer.factor(), self.inner.inflight.current())
    }

    /// A handle that can stop the run (Ctrl-C).
    pub fn stopper(&self) -> Stopper {
        Stopper(self.inner.clone())
    }

    /// Deliver every batch from `rx` until it closes or the run stops.
    pub async fn run(&self, mut rx: mpsc::Receiver<Batch>) -> RunEnd {
        let inner = &self.inner;
        let mut stop_rx = inner.stop_tx.subscribe();
        // Bound the batches being worked on (in flight, waiting or backing off) so memory
        // stays flat and the intake thread feels backpressure.
        let outstanding = Arc::new(Semaphore::new(
            (inner.cfg.limits.concurrency as usize)
                .saturating_mul(2)
                .max(2),
        ));
        let mut tasks = JoinSet::new();
        let mut abandoned = 0u64;
        loop {
            if *stop_rx.borrow() {
                break;
            }
            let slot = tokio::select! {
                biased;
                _ = stop_rx.changed() => break,
                s = outstanding.clone().acquire_owned() => s.expect("never closed"),
            };
            let batch = tokio::select! {
                biased;
                _ = stop_rx.changed() => break,
                b = rx.recv() => match b { Some(b) => b, None => break },
            };
            let inner = inner.clone();
            tasks.spawn(async move {
                let _slot = slot;
                inner.deliver_top(batch).await
            });
            while let Some(r) = tasks.try_join_next() {
                abandoned += u64::from(!r.unwrap_or(false));
            }
        }
        // Closing the channel stops the intake thread.
        drop(rx);
        while let Some(r) = tasks.join_next().await {
            abandoned += u64::from(!r.unwrap_or(false));
        }
        // Whatever the breaker still holds was never decided on (the run ended first): it
        // is written as the vendor answered it.
        for p in inner.breaker.drain() {
            if inner.write_outcome(&p, None).await.is_err() {
                break;
            }
        }
        RunEnd {
            stopped: inner.stop.lock().expect("stop lock").clone(),
            abandoned_batches: abandoned,
        }
    }
}

/// Stops a running engine from outside.
#[derive(Clone)]
pub struct Stopper(Arc<Inner>);

impl Stopper {
    pub fn stop(&self, why: StopReason) {
        self.0.stop(why);
    }
    pub fn is_stopped(&self) -> bool {
        *self.0.stop_tx.borrow()
    }
}

impl Inner {
    fn stop(&self, why: StopReason) {
        let mut s = self.stop.lock().expect("stop lock");
        // The first reason wins, except that a fatal error outranks a Ctrl-C.
        if s.is_none()
            || (matches!(*s, Some(StopReason::Interrupted)) && why != StopReason::Interrupted)
        {
            *s = Some(why);
        }
        drop(s);
        self.stop_tx.send_replace(true);
    }

    fn stopped(&self) -> bool {
        *self.stop_tx.borrow()
    }

    /// Run `fut` unless the run stops first.
    async fn or_stop<T>(&self, fut: impl Future<Output = T>) -> Option<T> {
        let mut rx = self.stop_tx.subscribe();
        if *rx.borrow() {
            return None;
        }
        tokio::select! {
            biased;
            _ = rx.wait_for(|s| *s) => None,
            v = fut => Some(v),
        }
    }

    /// Deliver a top-level batch and record its outcome. Returns false when abandoned.
    async fn deliver_top(self: Arc<Self>, batch: Batch) -> bool {
        let Some(settled) = self.deliver(&batch, None).await else {
            return false;
        };
        self.record_outcome(batch, None, settled).await.is_ok()
    }

    /// Hand an outcome to the breaker, then write what it releases: this outcome, or
    /// nothing yet (held), or everything it held.
    async fn record_outcome(
        &self,
        batch: Batch,
        parent: Option<BatchHash>,
        settled: Settled,
    ) -> anyhow::Result<()> {
        let leaf = !settled.bisected;
        // Owned copies: the outcome itself moves into the breaker.
        let owned: Vec<(ItemStatus, Option<String>)> = settled
            .results
            .iter()
            .map(|(s, _, m)| (*s, if s.is_success() { None } else { m.clone() }))
            .collect();
        let views: Vec<_> = owned.iter().map(|(s, m)| (*s, m.as_deref())).collect();
        let (out, how) = self.breaker.judge(
            &views,
            leaf,
            Pending {
                batch,
                parent,
                settled,
            },
        );
        let retryable = match how {
            Write::AsIs => None,
            Write::Retryable {
                reason,
                tripped_after,
            } => {
                if let Some(n) = tripped_after {
                    self.trip(&reason, n);
                }
                Some(reason)
            }
        };
        for p in &out {
            self.write_outcome(p, retryable.as_deref()).await?;
        }
        Ok(())
    }

    /// The breaker tripped: stop the run with the vendor's reason and the adapter's
    /// diagnosis of it.
    fn trip(&self, reason: &str, items: u64) {
        if self.tripped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let vendor = self.adapter.spec().name;
        let d = self.adapter.systemic(reason);
        tracing::warn!("breaker: the first {items} identifiers all failed alike; stopping");
        self.stop(StopReason::Fatal {
            reason: format!(
                "stopped after the first {items} identifiers all failed the same way at {vendor}: {reason}"
            ),
            hint: format!(
                "{}; rerun the same command once fixed (those identifiers are resent), or pass --no-breaker if these failures are real",
                d.hint
            ),
            auth: d.auth,
        });
    }

    /// Write one outcome record; `retryable` replaces every failed item's status (the
    /// breaker tripped on that reason, so a rerun must send them again). A top-level
    /// outcome also settles the live counters.
    async fn write_outcome(&self, p: &Pending, retryable: Option<&str>) -> anyhow::Result<()> {
        let (batch, parent, s) = (&p.batch, p.parent, &p.settled);
        let lookup_hmac = s.resolved.as_deref().map(|v| self.hasher.id_hmac_bytes(v));
        let id_hmacs = self
            .hasher
            .id_hmacs(batch.items.iter().map(|it| it.value.as_str()));
        let results = batch
            .items
            .iter()
            .zip(&s.results)
            .zip(&s.keys)
            .zip(id_hmacs)
            .map(|(((it, (status, vendor_id, message)), key), id_hmac)| {
                let (status, message) = match retryable {
                    Some(reason) if !status.is_success() => (
                        ItemStatus::FailedRetryable,
                        Some(Cow::Owned(format!(
                            "{reason} (the run stopped: every identifier so far failed this way; a rerun resends it)"
                        ))),
                    ),
                    _ => (*status, message.as_deref().map(Cow::Borrowed)),
                };
                DraftItem {
                    file: it.file,
                    row: it.row,
                    id_hmac,
                    key: *key,
                    status,
                    vendor_id: vendor_id.as_deref(),
                    message,
                    value: self.cfg.include_identifiers.then_some(it.value.as_str()),
                    lookup_hmac,
                }
            })
            .collect::<Vec<_>>();
        let statuses: Vec<ItemStatus> = results.iter().map(|r| r.status).collect();
        let rec = OutcomeDraft {
            run_id: &self.cfg.run_id,
            batch: batch.hash,
            parent,
            seq: batch.seq,
            items: batch.len() as u32,
            attempts: s.attempts,
            bisected: s.bisected,
            results,
        };
        // The result precedes the outcome it led to.
        let written = match &s.last_attempt {
            Some(a) => self.ledger.write_result_and_outcome(a, &rec).await,
            None => self.ledger.write_outcome(&rec).await,
        };
        written.inspect_err(|e| {
            self.stop(StopReason::Ledger(e.to_string()));
        })?;
        if parent.is_none() {
            self.stats.settle(statuses);
        }
        Ok(())
    }

    /// Deliver one (sub-)batch until it settles. `None`: the run stopped first.
    async fn deliver(&self, batch: &Batch, parent: Option<BatchHash>) -> Option<Settled> {
        let keys = self.hasher.item_keys(&batch.items);
        let (request, resolved) = match self.request_for(batch).await? {
            Ok(r) => r,
            Err(mut s) => {
                s.keys = keys;
                return Some(*s);
            }
        };
        let mut s = self.deliver_keyed(batch, parent, &keys, request).await?;
        s.keys = keys;
        s.resolved = resolved;
        Some(s)
    }

    /// The deletion request for `batch`, and what its lookup resolved to. Where the adapter
    /// must find the profile first (one item: Segment by email), the lookup goes through
    /// the same gate, slot and pacer as a deletion — it spends the same quota — and is
    /// retried like one; a profile it does not find, or finds ambiguously, settles the item
    /// without a deletion. `None`: the run stopped.
    async fn request_for(&self, batch: &Batch) -> Option<Result<Resolved, Box<Settled>>> {
        let n = batch.len();
        let invalid = |e: anyhow::Error| {
            let msg = format!("could not build the request: {e}");
            Box::new(uniform(n, ItemStatus::Invalid, Some(msg), 0))
        };
        let lookup = match batch.items.as_slice() {
            [item] => match self.adapter.resolve_request(item) {
                Ok(l) => l.map(|r| (item, r)),
                Err(e) => return Some(Err(invalid(e))),
            },
            _ => None,
        };
        let Some((item, req)) = lookup else {
            return Some(
                self.adapter
                    .build(batch)
                    .map(|r| (r, None))
                    .map_err(invalid),
            );
        };
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (slot, ticket) = loop {
                self.or_stop(self.pause.wait()).await?;
                let slot = self.or_stop(self.inflight.acquire()).await?;
                let ticket = self.or_stop(self.pacer.acquire(1)).await?;
                if self.pause.remaining().is_none() {
                    break (slot, ticket);
                }
            };
            if self.stopped() {
                return None;
            }
            Stats::add(&self.stats.requests, 1);
            Stats::add(&self.stats.lookups, 1);
            self.pacer.sent(&ticket);
            let mut said = None;
            let ans = self
                .send_with(&req, attempt, false, |r| {
                    said = Some(self.adapter.classify_resolve(item, r));
                    Verdict::Items(Vec::new())
                })
                .await;
            let settled = |st, m: String| {
                let m = if m.is_empty() {
                    "the profile lookup's answer cannot be acted on".to_owned()
                } else {
                    m
                };
                Err(Box::new(uniform(1, st, Some(m), attempt)))
            };
            let done = match said {
                Some(Resolution::Again(v)) => Err(v),
                Some(Resolution::Found(v)) => Ok(match self.adapter.build_resolved(batch, &v) {
                    Ok(r) => Ok((r, Some(v))),
                    Err(e) => Err(invalid(e)),
                }),
                Some(Resolution::Absent(m)) => {
                    Stats::add(&self.stats.absent, 1);
                    Ok(settled(ItemStatus::NotFound, m))
                }
                Some(Resolution::Refused(m)) => Ok(settled(ItemStatus::Invalid, m)),
                // No answer to read (transport): the send's own retry verdict.
                None => Err(ans.verdict.clone()),
            };
            let verdict = match done {
                Ok(result) => {
                    self.pacer.on_answer(&ticket, PaceAnswer::Accepted);
                    drop(slot);
                    return Some(result);
                }
                Err(v) => v,
            };
            let pace = pace_answer(&Answer {
                verdict: verdict.clone(),
                ..ans
            });
            let reaction = self.pacer.on_answer(&ticket, pace);
            match verdict {
                Verdict::Retry {
                    throttled,
                    retry_after,
                    reason,
                } => {
                    let delay = self.retry_delay(attempt, throttled, retry_after, reaction);
                    drop(slot);
                    tracing::info!("lookup for batch {} attempt {attempt}: {reason}", batch.seq);
                    if !self.cfg.retry.may_retry(attempt) {
                        if throttled {
                            Stats::add(&self.stats.throttled_out, 1);
                        }
                        let msg = format!(
                            "the profile lookup gave up after {attempt} attempts: {reason}"
                        );
                        return Some(Err(Box::new(uniform(
                            1,
                            ItemStatus::FailedRetryable,
                            Some(msg),
                            attempt,
                        ))));
                    }
                    Stats::add(&self.stats.retries, 1);
                    self.or_stop(tokio::time::sleep(self.cfg.retry.scaled(delay)))
                        .await?;
                }
                Verdict::Fatal { reason, hint, auth } => {
                    self.stop(StopReason::Fatal { reason, hint, auth });
                    return None;
                }
                Verdict::Failed { reason, .. } => {
                    drop(slot);
                    let msg = format!("the profile lookup failed: {reason}");
                    return Some(Err(Box::new(uniform(
                        1,
                        ItemStatus::Invalid,
                        Some(msg),
                        attempt,
                    ))));
                }
                Verdict::Items(_) => {
                    drop(slot);
                    let msg = "the profile lookup gave no answer this tool can read".to_owned();
                    return Some(Err(Box::new(uniform(
                        1,
                        ItemStatus::Invalid,
                        Some(msg),
                        attempt,
                    ))));
                }
            }
        }
    }

    async fn deliver_keyed(
        &self,
        batch: &Batch,
        parent: Option<BatchHash>,
        keys: &[u128],
        request: Request,
    ) -> Option<Settled> {
        let n = batch.len();
        let mut attempt = 0u32;
        // An earlier run may have delivered it already (its request never got an answer).
        let mut maybe_delivered = batch.maybe_delivered;
        loop {
            attempt += 1;
            // Wait for the gate, a slot and the budgets; a 429 that lands meanwhile sends
            // us back to the gate.
            let (slot, ticket) = loop {
                self.or_stop(self.pause.wait()).await?;
                let slot = self.or_stop(self.inflight.acquire()).await?;
                let ticket = self.or_stop(self.pacer.acquire(n)).await?;
                if self.pause.remaining().is_none() {
                    break (slot, ticket);
                }
            };
            if self.stopped() {
                return None;
            }
            let sent_at = ledger::now_rfc3339();
            let mut rec = Attempt {
                phase: Phase::Sent,
                run_id: self.cfg.run_id.clone(),
                batch: batch.hash,
                parent,
                attempt,
                items: n as u32,
                sent_at: sent_at.clone(),
                received_at: None,
                status: None,
                error: None,
                request_ids: BTreeMap::new(),
                decision: None,
                delay_ms: None,
                reason: None,
                maybe_delivered_before: maybe_delivered,
                keys: Vec::new(),
            };
            // The first intent lists what it carries: if the process dies with it in
            // flight, the next run knows which identifiers may have been delivered.
            let sent = ledger::AttemptLine {
                rec: &rec,
                keys: if attempt == 1 { keys } else { &[] },
            };
            // No deletion without a ledger line: wait for the writer before sending.
            if let Err(e) = self.ledger.write_attempt(&sent).await {
                self.stop(StopReason::Ledger(e.to_string()));
                return None;
            }
            Stats::add(&self.stats.requests, 1);
            if parent.is_some() {
                Stats::add(&self.stats.bisect_requests, 1);
            }
            if self.stopped() {
                // Stopped while the intent was being written: the line says "sent" but
                // nothing left; a rerun sends the batch.
                return None;
            }
            // Counted from now in the pacer's window: the intent write above may have taken
            // a while, and what the vendor counts is when the request arrives.
            self.pacer.sent(&ticket);
            let ans = self.send(&request, batch, attempt, maybe_delivered).await;
            let reaction = self.pacer.on_answer(&ticket, pace_answer(&ans));
            maybe_delivered |= ans.maybe_delivered;
            rec.phase = Phase::Result;
            rec.received_at = Some(ledger::now_rfc3339());
            rec.status = ans.status;
            rec.error = ans.error.map(str::to_owned);
            rec.request_ids = ans.request_ids;

            let (decision, settled, delay) = match ans.verdict {
                Verdict::Items(outcomes) if outcomes.len() == n => {
                    let results = outcomes
                        .into_iter()
                        .map(|o| (ItemStatus::from(o.class), o.vendor_id, o.message))
                        .collect();
                    let s = Settled {
                        results,
                        keys: Vec::new(),
                        attempts: attempt,
                        bisected: false,
                        last_attempt: None,
                        resolved: None,
                    };
                    ("done", Some(s), None)
                }
                Verdict::Items(outcomes) => {
                    rec.reason = Some(format!(
                        "the adapter returned {} outcomes for {n} items",
                        outcomes.len()
                    ));
                    let s = uniform(n, ItemStatus::FailedRetryable, rec.reason.clone(), attempt);
                    ("failed", Some(s), None)
                }
                Verdict::Retry {
                    throttled,
                    retry_after,
                    reason,
                } => {
                    let delay = self.retry_delay(attempt, throttled, retry_after, reaction);
                    tracing::info!(
                        "batch {} attempt {attempt}: {reason}; retry in {delay:?}",
                        batch.seq
                    );
                    rec.reason = Some(reason.clone());
                    if self.cfg.retry.may_retry(attempt) {
                        ("retry", None, Some(delay))
                    } else {
                        if throttled {
                            Stats::add(&self.stats.throttled_out, n as u64);
                        }
                        let msg = format!("gave up after {attempt} attempts: {reason}");
                        let s = uniform(n, ItemStatus::FailedRetryable, Some(msg), attempt);
                        ("give_up", Some(s), None)
                    }
                }
                Verdict::Failed { reason, bisect } => {
                    rec.reason = Some(reason.clone());
                    if bisect && n > 1 && self.take_bisect_budget() {
                        ("bisect", None, None)
                    } else {
                        let s = uniform(n, ItemStatus::Invalid, Some(reason), attempt);
                        ("failed", Some(s), None)
                    }
                }
                Verdict::Fatal { reason, hint, auth } => {
                    // Stop before giving the slot back, so no other worker sends meanwhile.
                    self.stop(StopReason::Fatal {
                        reason: reason.clone(),
                        hint,
                        auth,
                    });
                    drop(slot);
                    rec.reason = Some(reason);
                    rec.decision = Some("fatal".into());
                    let _ = self
                        .ledger
                        .write_attempt(&ledger::AttemptLine {
                            rec: &rec,
                            keys: &[],
                        })
                        .await;
                    return None;
                }
            };
            // A settled leaf that trips the breaker stops the run now, before the slot is
            // given back (the outcome itself is judged again when it is recorded).
            if let Some(s) = &settled {
                let views: Vec<_> = s
                    .results
                    .iter()
                    .map(|(st, _, m)| (*st, m.as_deref()))
                    .collect();
                if let Some((reason, n)) = self.breaker.would_trip(&views, true) {
                    self.trip(&reason, n);
                }
            }
            // Held until the verdict took effect (a 429's pause, a fatal stop), so no worker
            // slips a request past it.
            drop(slot);
            rec.decision = Some(decision.into());
            rec.delay_ms = delay.map(|d| d.as_millis() as u64);
            if let Some(mut s) = settled {
                s.last_attempt = Some(rec);
                return Some(s);
            }
            // A refusal in a 2xx (PostHog's `deletion_errors`) may have deleted the rest of
            // the batch: its halves' "already gone" answers are then our own success.
            let accepted = rec.status.is_some_and(|s| (200..300).contains(&s));
            let line = ledger::AttemptLine {
                rec: &rec,
                keys: &[],
            };
            if let Err(e) = self.ledger.write_attempt(&line).await {
                self.stop(StopReason::Ledger(e.to_string()));
                return None;
            }
            if decision == "bisect" {
                return self
                    .bisect(
                        batch,
                        parent.unwrap_or(batch.hash),
                        attempt,
                        maybe_delivered || accepted,
                    )
                    .await;
            }
            if let Some(d) = delay {
                Stats::add(&self.stats.retries, 1);
                self.or_stop(tokio::time::sleep(self.cfg.retry.scaled(d)))
                    .await?;
            }
        }
    }

    /// How long a request refused with a retryable answer waits before its next attempt;
    /// a 429 is counted and handled first ([`Self::on_throttled`]).
    fn retry_delay(
        &self,
        attempt: u32,
        throttled: bool,
        retry_after: Option<Duration>,
        reaction: Reaction,
    ) -> Duration {
        let delay = self.cfg.retry.delay(attempt, retry_after, fastrand::f64());
        if throttled {
            Stats::add(&self.stats.throttled, 1);
            self.on_throttled(reaction, retry_after, delay);
        }
        delay
    }

    /// A 429: the refused request waits its own `Retry-After` (the caller sleeps it);
    /// the run as a whole slows down when the pacer says the quota is shared, and stops
    /// only for a long wait or for 429s that keep coming after slowing down.
    fn on_throttled(&self, reaction: Reaction, retry_after: Option<Duration>, delay: Duration) {
        if self.cfg.limits.concurrency_limited
            && let Some(cap) = self.inflight.lower()
        {
            tracing::warn!("429 for concurrency: in-flight cap lowered to {cap}");
        }
        let mut pause = None;
        match reaction {
            Reaction::None => {}
            Reaction::Slowed(f) => tracing::warn!(
                "429 within our pace: the quota is shared; slowing to {:.0}% of it",
                f * 100.0
            ),
            Reaction::PauseAll(d, f) => {
                tracing::warn!(
                    "429s keep coming after slowing down: pausing every worker, then {:.0}% of the quota",
                    f * 100.0
                );
                pause = Some(d.max(delay));
            }
        }
        if retry_after.is_some_and(|ra| ra > self.pacer.long_wait()) {
            tracing::warn!("429 asks for a long wait ({delay:?}): pausing every worker");
            pause = Some(pause.unwrap_or_default().max(delay));
        }
        if let Some(p) = pause {
            self.pause.pause_for(self.cfg.retry.scaled(p));
        }
    }

    /// Split a refused batch in halves and deliver each, so one bad identifier does not sink
    /// the good ones. Costs at most two requests per level, about 2·log2(n) per bad item.
    async fn bisect(
        &self,
        batch: &Batch,
        top: BatchHash,
        attempts: u32,
        maybe_delivered: bool,
    ) -> Option<Settled> {
        let (a, b) = batch.split(self.adapter.spec().id);
        let mut results = Vec::with_capacity(batch.len());
        for mut half in [a, b] {
            half.maybe_delivered |= maybe_delivered;
            let s = Box::pin(self.deliver(&half, Some(top))).await?;
            results.extend(s.results.iter().cloned());
            if self.record_outcome(half, Some(top), s).await.is_err() {
                return None;
            }
        }
        Some(Settled {
            results,
            keys: Vec::new(),
            attempts,
            bisected: true,
            last_attempt: None,
            resolved: None,
        })
    }

    /// Two more requests for one split, if the global budget allows.
    fn take_bisect_budget(&self) -> bool {
        let used = Stats::get(&self.stats.bisect_requests);
        used + 2 <= self.cfg.bisect_budget
    }

    async fn send(
        &self,
        req: &Request,
        batch: &Batch,
        attempt: u32,
        maybe_delivered_before: bool,
    ) -> Answer {
        self.send_with(req, attempt, maybe_delivered_before, |r| {
            self.adapter.classify(batch, r)
        })
        .await
    }

    /// Send once and read the answer with `classify` (transport failures are retry
    /// verdicts of their own).
    async fn send_with(
        &self,
        req: &Request,
        attempt: u32,
        maybe_delivered_before: bool,
        classify: impl FnOnce(&Response<'_>) -> Verdict,
    ) -> Answer {
        let rb = req.builder(&self.client);
        let transport = |e: &reqwest::Error, body: bool| -> Answer {
            let kind = transport_kind(e, body);
            Answer {
                verdict: Verdict::Retry {
                    throttled: false,
                    retry_after: None,
                    reason: format!("transport error: {kind}"),
                },
                status: None,
                error: Some(kind),
                request_ids: BTreeMap::new(),
                // Only a failed connect proves the request never reached the vendor.
                maybe_delivered: kind != "connect",
            }
        };
        // Delivered, most likely, but what the vendor made of it is unknown.
        let too_large = || Answer {
            verdict: Verdict::Retry {
                throttled: false,
                retry_after: None,
                reason: crate::protocol::answer::too_large(),
            },
            status: None,
            error: Some("too large"),
            request_ids: BTreeMap::new(),
            maybe_delivered: true,
        };
        // Our own deadline instead of reqwest's (the engine's client has none): when it
        // passes, an answer that already arrived (the process was not scheduled while it
        // came in: a stall, a starved CPU) is still taken, rather than thrown away and the
        // deletion sent again. Every exchange is dropped, and its request cancelled, at the
        // deadline and its grace at the latest.
        let deadline = self.cfg.timeout;
        // The answer's body is read up to a cap, so memory stays bounded whatever comes
        // back; an answer past it proves nothing and is treated like one cut off.
        let exchange = async {
            let mut resp = rb.send().await.map_err(|e| (Some(e), false, None))?;
            let status = resp.status().as_u16();
            // Taken, not copied: reading the body needs none of them (its length is the
            // body's own, from when hyper parsed the head).
            let headers = std::mem::take(resp.headers_mut());
            match read_capped(resp, MAX_ANSWER).await {
                Ok(body) => Ok((status, headers, body)),
                Err(Unread::Transport(e)) => Err((Some(e), true, Some((status, headers)))),
                Err(Unread::TooLarge) => Err((None, true, Some((status, headers)))),
            }
        };
        tokio::pin!(exchange);
        let done = match tokio::time::timeout(deadline, &mut exchange).await {
            Ok(r) => Some(r),
            Err(_) => tokio::time::timeout(TIMEOUT_GRACE, &mut exchange)
                .await
                .ok(),
        };
        let Some(done) = done else {
            return Answer {
                verdict: Verdict::Retry {
                    throttled: false,
                    retry_after: None,
                    reason: "transport error: timeout".into(),
                },
                status: None,
                error: Some("timeout"),
                request_ids: BTreeMap::new(),
                maybe_delivered: true,
            };
        };
        let request_ids_of = |headers: &reqwest::header::HeaderMap| -> BTreeMap<String, String> {
            REQUEST_ID_HEADERS
                .iter()
                .filter_map(|h| {
                    let v = headers.get(*h)?.to_str().ok()?;
                    Some(((*h).to_owned(), v.chars().take(200).collect()))
                })
                .collect()
        };
        let (status, headers, body) = match done {
            Ok(r) => r,
            Err((e, body, head)) => {
                let mut a = match e {
                    Some(e) => transport(&e, body),
                    None => too_large(),
                };
                if let Some((status, headers)) = head {
                    a.status = Some(status);
                    a.request_ids = request_ids_of(&headers);
                }
                return a;
            }
        };
        let request_ids = request_ids_of(&headers);
        let verdict = classify(&Response {
            status,
            headers: &headers,
            body: &body,
            attempt,
            maybe_delivered_before,
        });
        Answer {
            verdict,
            status: Some(status),
            error: None,
            request_ids,
            maybe_delivered: false,
        }
    }
}

/// What the pacer needs to know about an answer.
fn pace_answer(ans: &Answer) -> PaceAnswer {
    match (&ans.verdict, ans.status) {
        (
            Verdict::Retry {
                throttled: true, ..
            },
            _,
        ) => PaceAnswer::Refused,
        (_, Some(s)) if (200..300).contains(&s) => PaceAnswer::Accepted,
        _ => PaceAnswer::Other,
    }
}

fn uniform(n: usize, status: ItemStatus, msg: Option<String>, attempts: u32) -> Settled {
    Settled {
        results: (0..n).map(|_| (status, None, msg.clone())).collect(),
        keys: Vec::new(),
        attempts,
        bisected: false,
        last_attempt: None,
        resolved: None,
    }
}

/// A short, identifier-free name for a transport failure (reqwest's own message includes the
/// URL, which may carry personal data).
fn transport_kind(e: &reqwest::Error, reading_body: bool) -> &'static str {
    if e.is_timeout() {
        return "timeout";
    }
    if e.is_connect() {
        return "connect";
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionReset | ConnectionAborted | BrokenPipe => return "reset",
                TimedOut => return "timeout",
                UnexpectedEof => return "truncated",
                _ => {}
            }
        }
        src = s.source();
    }
    if reading_body || e.is_body() || e.is_decode() {
        "truncated"
    } else {
        "request"
    }
}
