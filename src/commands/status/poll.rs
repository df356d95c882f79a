//! The polling rounds of `status`: the account-wide list where the vendor has one and it
//! answers, then one lookup per remaining job, paced and retried like deliveries; progress
//! on stderr while it runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::audit;
use crate::cli::StatusArgs;
use crate::commands::signals::Signals;
use crate::engine::retry::{scale, time_scale_from_env};
use crate::exit::Signal;
use crate::ledger::{self, LedgerHandle, Record};
use crate::printer::Printer;
use crate::progress::{Progress, Tick};
use crate::status::jobs::{Group, Job, Subject};
use crate::status::obs::{About, Interner, Obs, Phase};
use crate::status::select::Overlay;
use crate::status::{Fetched, Poller};
use crate::vendor::mparticle_lookup::{Profile, ProfileApi};
use crate::vendor::verify::clevertap::CleverTapProfiles;
use crate::vendor::verify::segment::SegmentProfiles;
use crate::vendor::{Adapter, JobReport, JobState};

/// How a group's subjects are looked up.
#[derive(Clone)]
pub(super) enum Lookup {
    Job(Arc<dyn Adapter>),
    /// mParticle's Profile API: by MPID, or through its resolve route by identity.
    Profile(Arc<ProfileApi>),
    /// Segment's Profile API: the profile's external ids.
    Segment(Arc<SegmentProfiles>),
    /// CleverTap's profile lookup, after its 24-hour delay.
    Clevertap(Arc<CleverTapProfiles>),
    /// Every job already has a terminal state in the ledger: nothing to send, so no
    /// credentials are needed either.
    Idle,
}

/// Whether any job lacks a terminal state in the ledger.
pub(super) fn has_open_jobs(g: &Group) -> bool {
    g.jobs
        .iter()
        .any(|j| !j.recorded.as_ref().is_some_and(|o| o.phase.is_terminal()))
}

/// Whether the vendor's account-wide list is worth asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ListUse {
    Try,
    /// It answered with something this tool cannot use: per job from now on.
    Unavailable(String),
    Off,
}

/// One group being polled, and what is known about each of its jobs.
pub(super) struct Tracked {
    pub group: Group,
    lookup: Lookup,
    pub poller: Arc<Poller>,
    /// The jobs this invocation looks at (indices into `group.jobs`).
    pub scope: Vec<usize>,
    /// The latest observation per job (this invocation, or the ledger's).
    pub latest: Vec<Option<Obs>>,
    /// The latest observation is not in the ledger yet (unchanged since the last record).
    unwritten: Vec<bool>,
    /// The latest observation is an answer of this invocation.
    pub fresh: Vec<bool>,
    /// With a bounded selection: every answer of this invocation, for the next round's
    /// selection and the summary.
    pub overlay: Overlay,
    list: ListUse,
    /// `--recheck`: this group's part in the pass.
    pub recheck: Option<super::recheck::State>,
}

impl Tracked {
    /// `group` holds the jobs to look at: all of them, or the sample
    /// [`jobs::job_groups`](crate::status::jobs::job_groups) picked.
    pub fn new(group: Group, lookup: Lookup, poller: Poller, per_job: bool) -> Self {
        let list = match &lookup {
            Lookup::Job(a) if !per_job && a.status_list_request().ok().flatten().is_some() => {
                ListUse::Try
            }
            _ => ListUse::Off,
        };
        let mut t = Self {
            group,
            lookup,
            poller: Arc::new(poller),
            scope: Vec::new(),
            latest: Vec::new(),
            unwritten: Vec::new(),
            fresh: Vec::new(),
            overlay: Overlay::default(),
            list,
            recheck: None,
        };
        t.take_jobs();
        t
    }

    /// Start on the group's jobs: their recorded states become the latest known.
    fn take_jobs(&mut self) {
        self.latest = self
            .group
            .jobs
            .iter_mut()
            .map(|j| j.recorded.take())
            .collect();
        let n = self.latest.len();
        self.scope = (0..n).collect();
        self.unwritten = vec![false; n];
        self.fresh = vec![false; n];
    }

    /// Open jobs the bounded selection left out of this round that a later round can
    /// look up.
    pub fn left_out(&self) -> u64 {
        self.group.tally.as_ref().map_or(0, |t| {
            t.open
                .saturating_sub(t.no_value)
                .saturating_sub(self.group.jobs.len() as u64)
        })
    }

    /// Remember this round's answers for the next selection (bounded selections only).
    fn note_answers(&mut self) {
        if self.group.tally.is_none() {
            return;
        }
        for &i in &self.scope {
            if let (true, Some(o)) = (self.fresh[i], &self.latest[i]) {
                let job = &self.group.jobs[i];
                let key = job.vendor_id().or(job.id_hmac()).unwrap_or_default();
                self.overlay.note(key, o);
            }
        }
    }

    /// The next round's selection replaces this one (whose answers are all recorded).
    fn replace(&mut self, group: Group) {
        self.group = group;
        self.take_jobs();
    }

    /// Selected jobs this invocation did not look up (stopped before their turn).
    pub fn unreached(&self, i: usize) -> bool {
        !self.fresh[i] && !self.group.jobs[i].seen_now
    }

    pub fn pending(&self) -> Vec<usize> {
        self.scope
            .iter()
            .copied()
            .filter(|&i| match &self.recheck {
                // A re-check asks once per subject, whatever it last showed.
                Some(r) => !r.answered[i],
                // An unproven answer will not turn into a deletion by asking again: `--watch`
                // does not wait on it (the next invocation asks again).
                None => !self.latest[i]
                    .as_ref()
                    .is_some_and(|o| o.phase.is_terminal() || o.unproven),
            })
            .filter(|&i| {
                let j = &self.group.jobs[i];
                match (&j.subject, &self.lookup) {
                    (Subject::Profile(_), Lookup::Segment(_)) => j.lookup.is_some(),
                    (Subject::Profile(_), _) => j.value.is_some(),
                    (Subject::Job(_), _) => true,
                }
            })
            .collect()
    }

    /// Counts by the vendor's own state name (`secondary`, `queued`, `deleted`, ...) over
    /// the jobs in scope.
    pub fn states(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for &i in &self.scope {
            let l = self.latest[i].as_ref().map_or("not checked", Obs::label);
            *m.entry(l.to_owned()).or_default() += 1;
        }
        m
    }

    pub fn all_success(&self) -> bool {
        self.scope.iter().all(|&i| {
            self.latest[i]
                .as_ref()
                .is_some_and(|o| o.phase.is_success())
        })
    }

    /// What lookup tasks need of the group.
    pub(super) fn shared_group(&self) -> LookupContext {
        LookupContext {
            vendor: self.group.vendor.name,
            run_kinds: Arc::from(self.group.run_kinds.clone()),
            environment: self
                .group
                .account
                .get("environment")
                .cloned()
                .unwrap_or_else(|| "production".into()),
        }
    }

    pub fn note_list(&self) -> Option<&str> {
        match &self.list {
            ListUse::Unavailable(why) => Some(why),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct LoopOutcome {
    pub rounds: u32,
    pub timed_out: bool,
    /// The signal that stopped the polling.
    pub signal: Option<Signal>,
    pub fatal: Option<(String, String, bool)>,
}

/// Lookups done and due in the current round, for the progress display.
#[derive(Default)]
struct Counters {
    due: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
}

/// The next round's selection of every group, in `tracked` order, given what this
/// invocation has learnt so far (`None` for a group whose selection is not bounded).
pub(super) type Reselect<'a> = dyn FnMut(&[Option<&Overlay>]) -> anyhow::Result<Vec<Group>> + 'a;

pub(super) async fn watch_loop(
    args: &StatusArgs,
    printer: &Printer,
    tracked: &mut [Tracked],
    ledger: &LedgerHandle,
    reselect: &mut Reselect<'_>,
) -> anyhow::Result<LoopOutcome> {
    let check_id = ledger::new_run_id();
    let scale_f = time_scale_from_env();
    let deadline = args.until.map(|d| Instant::now() + d);
    let (stop_tx, mut stop_rx) = watch::channel(None::<Signal>);
    let pollers: Vec<Arc<Poller>> = tracked.iter().map(|t| t.poller.clone()).collect();
    let signals = Signals::listen();
    let p = printer.clone();
    let watcher = tokio::spawn(async move {
        let Ok(mut signals) = signals else {
            return;
        };
        let s = signals.next().await;
        p.important("\ncdp-purge: stopping: recording what was found so far");
        pollers.iter().for_each(|p| p.stop());
        let _ = stop_tx.send(Some(s));
    });
    let mut strings = Interner::default();
    let mut out = LoopOutcome::default();
    let mut wait = args.interval;
    loop {
        let pending: usize = tracked.iter().map(|t| t.pending().len()).sum();
        if pending == 0 {
            break;
        }
        out.rounds += 1;
        tracing::info!("round {}: {pending} lookups due", out.rounds);
        let counters = Arc::new(Counters::default());
        counters.due.store(pending as u64, Ordering::Relaxed);
        let progress = round_progress(printer, counters.clone(), out.rounds, scale_f);
        for t in tracked.iter_mut() {
            let r = poll_round(t, &check_id, ledger, &counters, &mut strings).await;
            if let Some(f) = t.poller.fatal() {
                out.fatal.get_or_insert(f);
            }
            if let Err(e) = r {
                progress.finish();
                return Err(e);
            }
            if out.fatal.is_some() {
                break;
            }
        }
        progress.finish();
        out.signal = *stop_rx.borrow();
        let pending: usize = tracked.iter().map(|t| t.pending().len()).sum();
        let more = tracked.iter().any(|t| t.left_out() > 0);
        if out.fatal.is_some() || out.signal.is_some() || (pending == 0 && !more) || !args.watch {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            out.timed_out = true;
            break;
        }
        if more {
            // The limit left open jobs out: record this round's answers, then take the
            // least recently checked again (this round's jobs are now the most recent).
            for t in tracked.iter_mut().filter(|t| t.left_out() > 0) {
                flush(t, &check_id, ledger).await?;
                t.note_answers();
            }
            let overlays: Vec<Option<&Overlay>> = tracked
                .iter()
                .map(|t| t.group.tally.is_some().then_some(&t.overlay))
                .collect();
            let groups = reselect(&overlays)?;
            if groups.len() != tracked.len() {
                anyhow::bail!("the ledger's runs changed while status was reading it");
            }
            for (t, g) in tracked.iter_mut().zip(groups) {
                if t.left_out() > 0 {
                    t.replace(g);
                }
            }
            // Jobs this invocation has not looked up yet are not waited for: each was
            // last checked before any job of this round.
            let unseen: u64 = tracked
                .iter()
                .map(|t| {
                    t.group.tally.as_ref().map_or(0, |x| x.not_checked)
                        + t.group.jobs.iter().filter(|j| !j.seen_now).count() as u64
                })
                .sum();
            if tracked
                .iter()
                .any(|t| t.group.jobs.iter().any(|j| !j.seen_now))
            {
                printer.info(format!(
                    "status: round {}: {unseen} open jobs not looked up yet in this invocation; next round now",
                    out.rounds
                ));
                continue;
            }
        }
        let next = Instant::now() + scale(wait, scale_f);
        let until = deadline.map_or(next, |d| next.min(d));
        // One line per round (the bar is gone between rounds, and rounds are minutes
        // apart), on a terminal and in logs alike.
        printer.info(format!(
            "status: round {}: {pending} pending ({}); next poll in {}",
            out.rounds,
            tracked
                .iter()
                .map(|t| audit::format_counts(&t.states()))
                .collect::<Vec<_>>()
                .join("; "),
            human(until.saturating_duration_since(Instant::now()))
        ));
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {}
            _ = stop_rx.changed() => { out.signal = *stop_rx.borrow(); break; }
        }
        wait = wait.mul_f64(1.5).min(args.max_interval.max(args.interval));
    }
    // Every job's latest observation ends up in the ledger, even when it did not change:
    // its time is what the next invocation's least-recently-checked order goes by.
    for t in tracked.iter_mut() {
        flush(t, &check_id, ledger).await?;
        t.note_answers();
    }
    watcher.abort();
    Ok(out)
}

/// Write the observations of `t` not in the ledger yet.
async fn flush(t: &mut Tracked, check_id: &str, ledger: &LedgerHandle) -> anyhow::Result<()> {
    for i in 0..t.latest.len() {
        if std::mem::take(&mut t.unwritten[i])
            && let Some(o) = &t.latest[i]
        {
            let rec = record(t, i, o, check_id, None);
            ledger.write(rec).await?;
        }
    }
    Ok(())
}

/// The ledger record of job `i`'s observation `o`.
fn record(t: &Tracked, i: usize, o: &Obs, check_id: &str, previous: Option<&str>) -> Record {
    let job = &t.group.jobs[i];
    let run_id = t
        .group
        .run_ids
        .get(job.run as usize)
        .map_or("", String::as_str);
    Record::Status(o.to_check(&About {
        check_id,
        run_id,
        vendor: t.group.vendor.id,
        vendor_id: job.vendor_id(),
        id_hmac: job.id_hmac(),
        previous_state: previous,
        recheck: t.recheck.as_ref().map(|r| r.record(i)),
    }))
}

/// Keep an observation: write it when it is news, else remember it is unwritten.
async fn settle(
    t: &mut Tracked,
    i: usize,
    mut o: Obs,
    check_id: &str,
    ledger: &LedgerHandle,
    strings: &mut Interner,
) -> anyhow::Result<()> {
    o.intern(strings);
    let before = t.latest[i].as_ref();
    // A re-check records every answer as it comes: that is what makes it resumable and
    // what gives each row its last check time.
    let changed = o.changed_from(before) || t.recheck.is_some();
    if let Some(r) = &mut t.recheck {
        r.answered[i] = true;
    }
    if changed {
        let previous = before
            .filter(|b| b.phase != Phase::Error)
            .and_then(|b| b.vendor_state.clone());
        let rec = record(t, i, &o, check_id, previous.as_deref());
        ledger.write(rec).await?;
    }
    t.unwritten[i] = !changed;
    t.fresh[i] = true;
    t.latest[i] = Some(o);
    Ok(())
}

/// Look up every pending job of one group once, recording state changes as they come.
async fn poll_round(
    t: &mut Tracked,
    check_id: &str,
    ledger: &LedgerHandle,
    counters: &Counters,
    strings: &mut Interner,
) -> anyhow::Result<()> {
    let mut pending = t.pending();
    if pending.is_empty() {
        return Ok(());
    }
    if t.list == ListUse::Try
        && let Lookup::Job(adapter) = t.lookup.clone()
    {
        pending = from_list(
            t,
            adapter.as_ref(),
            pending,
            check_id,
            ledger,
            counters,
            strings,
        )
        .await?;
        if t.poller.is_stopped() {
            return Ok(());
        }
    }
    // Profile lookups: the first goes alone. Its answer proves the account path (org,
    // account, workspace or space, and host) before hundreds of lookups could each record
    // an undocumented answer; if it is not one of the documented answers, nothing more is
    // asked. An unproven answer (the vendor's own error shape where it documents no "not
    // found") is the vendor answering: it is recorded unknown and the lookups go on, since
    // each can still find a profile present.
    if let Some(what) = t.lookup.documented_answers()
        && let Some((&first, rest)) = pending.split_first()
    {
        let job = t.group.jobs[first].clone();
        let found = look_up(&t.poller, &t.lookup, &job, &t.shared_group()).await;
        counters.done.fetch_add(1, Ordering::Relaxed);
        let Some(o) = found else { return Ok(()) };
        if o.phase == Phase::Error && o.http_status.is_some() && !o.throttled && !o.unproven {
            t.poller.set_fatal(
                format!(
                    "the {} answer to the first lookup was none of its documented answers ({what}) (HTTP {}: {})",
                    t.group.vendor.name,
                    o.http_status.unwrap_or_default(),
                    o.message.as_deref().unwrap_or("no message")
                ),
                format!(
                    "{}; no identifier was recorded as deleted",
                    t.lookup.account_hint()
                ),
                false,
            );
            return Ok(());
        }
        settle(t, first, o, check_id, ledger, strings).await?;
        pending = rest.to_vec();
    }
    // Bounded like the engine's outstanding batches: memory stays flat for a million IDs.
    let outstanding = Arc::new(Semaphore::new(t.poller.concurrency() * 2));
    let mut set: JoinSet<(usize, Option<Obs>)> = JoinSet::new();
    let mut next = pending.into_iter();
    loop {
        // Keep the set topped up, then take one answer.
        while let Ok(permit) = outstanding.clone().try_acquire_owned() {
            if t.poller.is_stopped() {
                break;
            }
            let Some(i) = next.next() else {
                drop(permit);
                break;
            };
            let job = t.group.jobs[i].clone();
            let poller = t.poller.clone();
            let lookup = t.lookup.clone();
            let group = t.shared_group();
            set.spawn(async move {
                let _permit = permit;
                (i, look_up(&poller, &lookup, &job, &group).await)
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (i, found) = joined?;
        counters.done.fetch_add(1, Ordering::Relaxed);
        let Some(o) = found else { continue };
        if o.phase == Phase::Error {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        settle(t, i, o, check_id, ledger, strings).await?;
    }
    Ok(())
}

/// Ask the account-wide list once and settle every pending job it answers for. Returns the
/// jobs it did not answer for (asked one by one next).
async fn from_list(
    t: &mut Tracked,
    adapter: &dyn Adapter,
    pending: Vec<usize>,
    check_id: &str,
    ledger: &LedgerHandle,
    counters: &Counters,
    strings: &mut Interner,
) -> anyhow::Result<Vec<usize>> {
    let Ok(Some(req)) = adapter.status_list_request() else {
        t.list = ListUse::Off;
        return Ok(pending);
    };
    let name = t.group.vendor.name;
    tracing::info!("{name}: asking the account-wide status list");
    let started = std::time::Instant::now();
    let (fetched, attempts) = t.poller.fetch(&req).await;
    let (entries, list_status) = match fetched {
        Fetched::Ok { status, body } => match adapter.parse_status_list(&body) {
            Some(e) => (
                e.into_iter()
                    .map(|(id, r)| (id, (r, status)))
                    .collect::<HashMap<_, _>>(),
                status,
            ),
            None => {
                let why = format!(
                    "the status list answered in a shape this tool cannot read ({} bytes)",
                    body.len()
                );
                tracing::info!("{name}: {why}; asking per job");
                t.list = ListUse::Unavailable(why);
                return Ok(pending);
            }
        },
        Fetched::Refused { status, reason, .. } => {
            let why = format!("the status list is not available (HTTP {status}: {reason})");
            tracing::info!("{name}: {why}; asking per job");
            t.list = ListUse::Unavailable(why);
            return Ok(pending);
        }
        Fetched::GaveUp {
            reason,
            oversized: true,
            ..
        } => {
            // Another round would only be cut off again: per job for the rest of this
            // invocation.
            let why = format!("the status list is too large to read ({reason})");
            tracing::info!("{name}: {why}; asking per job");
            t.list = ListUse::Unavailable(why);
            return Ok(pending);
        }
        Fetched::GaveUp { reason, .. } => {
            tracing::warn!(
                "{name}: the status list did not answer ({reason}); asking per job this round"
            );
            return Ok(pending);
        }
        Fetched::Fatal { .. } | Fetched::Stopped => return Ok(pending),
    };
    tracing::info!(
        "{name}: the status list answered {} entries in {:.1?}",
        entries.len(),
        started.elapsed()
    );
    let mut rest = Vec::new();
    let mut answered = 0u64;
    // A complete list proves a job it lacks unfinished; otherwise ask about it alone.
    let unlisted = adapter.status_list_complete().then(|| {
        JobReport::new(JobState::Pending("not listed yet".into()))
            .with_vendor_state("not in the list yet")
    });
    for i in pending {
        let hit = t.group.jobs[i].vendor_id().and_then(|id| entries.get(id));
        let hit = match (hit, &unlisted) {
            (None, Some(r)) => Some((r.clone(), list_status)),
            (h, _) => h.cloned(),
        };
        match hit.as_ref() {
            Some((r, status)) => {
                let mut o = Obs::from_report(r.clone(), *status);
                o.via_list = true;
                o.attempts = attempts;
                answered += 1;
                counters.done.fetch_add(1, Ordering::Relaxed);
                settle(t, i, o, check_id, ledger, strings).await?;
            }
            None => rest.push(i),
        }
    }
    tracing::info!(
        "{name}: the list answered for {answered} of our jobs; {} asked one by one",
        rest.len()
    );
    Ok(rest)
}

/// One lookup. `None` when the run is stopping or a fatal answer stopped it.
async fn look_up(
    poller: &Poller,
    lookup: &Lookup,
    job: &Job,
    group: &LookupContext,
) -> Option<Obs> {
    match (lookup, &job.subject) {
        (Lookup::Job(adapter), Subject::Job(id)) => {
            let req = match adapter.status_request(id) {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(e) => return Some(Obs::error(None, e.to_string())),
            };
            let (fetched, attempts) = poller.fetch(&req).await;
            let mut o = match fetched {
                Fetched::Ok { status, body } => match adapter.parse_status_of(id, &body) {
                    Ok(r) => Obs::from_report(r, status),
                    // Not in the vendor's documented terms: unknown, never done.
                    Err(e) => Obs::error(Some(status), format!("unknown: {e}")),
                },
                Fetched::Refused { status, reason, .. } => Obs::error(Some(status), reason),
                Fetched::GaveUp {
                    reason, throttled, ..
                } => {
                    let mut o = Obs::error(None, reason);
                    o.throttled = throttled;
                    o
                }
                Fetched::Fatal { .. } | Fetched::Stopped => return None,
            };
            tracing::debug!(
                "{} job {id}: {} (HTTP {}, {attempts} attempt(s))",
                job_vendor(adapter.as_ref()),
                o.label(),
                o.http_status.map_or("-".into(), |s| s.to_string())
            );
            o.attempts = attempts;
            Some(o)
        }
        (Lookup::Profile(_) | Lookup::Segment(_) | Lookup::Clevertap(_), Subject::Profile(h)) => {
            let kind = group.kind_of(job);
            let answer = match lookup {
                Lookup::Profile(api) if kind == "mpid" => {
                    api.lookup(poller, job.value.as_deref()?).await
                }
                Lookup::Profile(api) => {
                    api.resolve(poller, &group.environment, kind, job.value.as_deref()?)
                        .await
                }
                Lookup::Segment(api) => api.check(poller, kind, job.lookup.as_deref()?, h).await,
                Lookup::Clevertap(api) => api.check(poller, kind, job.value.as_deref()?).await,
                _ => return None,
            };
            let (profile, attempts) = answer.ok()?;
            let mut o = profile_obs(profile);
            // The identifier is personal data: only a prefix of its keyed hash is logged.
            tracing::debug!(
                "{} profile {}…: {} ({attempts} attempt(s))",
                group.vendor,
                &h[..h.len().min(12)],
                o.label()
            );
            o.attempts = attempts;
            Some(o)
        }
        _ => None,
    }
}

/// What a profile lookup's answer is as an observation.
fn profile_obs(p: Profile) -> Obs {
    let with = |phase, status, why: String| {
        let mut o = Obs::new(phase);
        o.http_status = Some(status);
        o.message = Some(Arc::from(why.as_str()));
        o
    };
    match p {
        Profile::Absent(status, why) => with(Phase::Deleted, status, why),
        Profile::Found(status, why) => with(Phase::Present, status, why),
        Profile::Unproven(status, why) => {
            let mut o = Obs::error(Some(status), why);
            o.unproven = true;
            o
        }
        Profile::Unknown(status, reason) => Obs::error(status, reason),
    }
}

/// What a lookup task needs of its group: owned, so tasks can be spawned.
#[derive(Clone)]
pub(super) struct LookupContext {
    vendor: &'static str,
    run_kinds: Arc<[String]>,
    /// mParticle: the runs' environment (`production` or `development`), for resolve.
    environment: String,
}

impl LookupContext {
    fn kind_of(&self, j: &Job) -> &str {
        self.run_kinds
            .get(j.run as usize)
            .map_or("", String::as_str)
    }
}

impl Lookup {
    /// For a profile lookup, its documented answers (for the first-lookup check).
    fn documented_answers(&self) -> Option<&'static str> {
        match self {
            Lookup::Profile(_) => Some(
                "a profile, \"MPID could not be found\", or for resolve an error in mParticle's error shape",
            ),
            Lookup::Segment(_) => {
                Some("the external_ids list, or 404 not_found \"Profile was not found.\"")
            }
            Lookup::Clevertap(_) => Some("a profile record, or a fail in CleverTap's error shape"),
            Lookup::Job(_) | Lookup::Idle => None,
        }
    }

    fn account_hint(&self) -> &'static str {
        match self {
            Lookup::Segment(_) => {
                "check --base-url (the Profile API host) and the space the ledger recorded"
            }
            Lookup::Clevertap(_) => "check --base-url (the region's API host) and the account",
            _ => {
                "check --org-id, --account-id, --workspace-id and --base-url (the Profile API host, https://api.mparticle.com)"
            }
        }
    }
}

fn job_vendor(a: &dyn Adapter) -> &'static str {
    a.spec().name
}

/// The progress display of one round: a bar on a terminal, a line every 5 s (scaled in
/// tests) in a log, so a long poll is never silent, nothing with `--quiet`.
fn round_progress(printer: &Printer, c: Arc<Counters>, round: u32, time_scale: f64) -> Progress {
    let started = std::time::Instant::now();
    let every = scale(Duration::from_secs(5), time_scale).max(Duration::from_millis(20));
    Progress::show(
        printer,
        "{elapsed_precise} [{bar:30}] {msg}",
        every,
        move || {
            let (done, due) = (
                c.done.load(Ordering::Relaxed),
                c.due.load(Ordering::Relaxed),
            );
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            let rate = done as f64 / secs;
            let eta = if rate > 0.0 && due > done {
                human(Duration::from_secs_f64((due - done) as f64 / rate)).to_string()
            } else {
                "-".into()
            };
            let text = format!(
                "{done}/{due} lookups, {rate:.0}/s, ETA {eta}, {} errors",
                c.errors.load(Ordering::Relaxed)
            );
            Tick {
                pos: done,
                len: due,
                message: format!("round {round}: {text}"),
                line: format!("status: round {round}: {text}"),
            }
        },
    )
}

/// `2m 30s`, `4s`, `250ms`: whole seconds from a second up, as a person reads a wait.
pub(super) fn human(d: Duration) -> humantime::FormattedDuration {
    if d >= Duration::from_secs(1) {
        humantime::format_duration(Duration::from_secs(d.as_secs_f64().round() as u64))
    } else {
        humantime::format_duration(Duration::from_millis(d.as_millis() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_like_a_person_would_say_them() {
        assert_eq!(human(Duration::from_millis(999)).to_string(), "999ms");
        assert_eq!(human(Duration::from_millis(1499)).to_string(), "1s");
        assert_eq!(human(Duration::from_millis(150_600)).to_string(), "2m 31s");
    }
}
