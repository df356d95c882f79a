//! `cdp-purge status`: poll every vendor job a ledger recorded (Lytics delete requests,
//! Hightouch reprocessing requests), or with `--verify` look mParticle profiles up, and
//! append what was found to the same ledger.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::audit::{self, View};
use crate::cli::{GlobalArgs, StatusArgs};
use crate::engine::limiter::{self, Overrides};
use crate::engine::retry::{RetryPolicy, scale, time_scale_from_env};
use crate::exit::{Code, UserError};
use crate::ledger::{self, Ledger, LedgerHandle, Record, StatusCheck};
use crate::report::ProgressMode;
use crate::settings;
use crate::status::jobs::{self, Group, Job, MpidSource, Subject};
use crate::status::mparticle::{self, Profile, ProfileApi, ProfileApiConfig};
use crate::status::{Fetched, Poller};
use crate::vendor::{self, Adapter, JobState, Quota, Rate, VendorKind};

/// How a group's subjects are looked up.
enum Lookup {
    Job(Arc<dyn Adapter>),
    Profile(Arc<ProfileApi>),
    /// Every job already has a terminal state in the ledger: nothing to send, so no
    /// credentials are needed either.
    Idle,
}

/// Whether any job lacks a terminal state in the ledger.
fn has_open_jobs(g: &Group) -> bool {
    g.jobs
        .iter()
        .any(|j| !j.recorded.as_ref().is_some_and(StatusCheck::is_terminal))
}

/// One group being polled, and what is known about each of its jobs.
struct Tracked {
    group: Group,
    lookup: Lookup,
    poller: Arc<Poller>,
    /// The latest observation per job (this invocation, or the ledger's).
    latest: Vec<Option<StatusCheck>>,
    /// The latest observation is not in the ledger yet (unchanged since the last record).
    unwritten: Vec<bool>,
    /// The latest observation is a give-up after 429s (exit 4 when that is all that is wrong).
    throttled: Vec<bool>,
}

impl Tracked {
    fn pending(&self) -> Vec<usize> {
        (0..self.group.jobs.len())
            .filter(|&i| {
                !self.latest[i]
                    .as_ref()
                    .is_some_and(StatusCheck::is_terminal)
            })
            .filter(|&i| match (&self.group.jobs[i].subject, &self.lookup) {
                (Subject::Profile(_), _) => self.group.jobs[i].mpid.is_some(),
                _ => true,
            })
            .collect()
    }

    /// Counts by the vendor's own state name (`secondary`, `queued`, `deleted`, ...).
    fn states(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for l in &self.latest {
            *m.entry(label(l.as_ref())).or_default() += 1;
        }
        m
    }

    fn all_success(&self) -> bool {
        self.latest
            .iter()
            .all(|l| l.as_ref().is_some_and(StatusCheck::is_success))
    }
}

fn label(c: Option<&StatusCheck>) -> String {
    match c {
        None => "not checked".into(),
        Some(c) if c.state == "error" => "error".into(),
        Some(c) => c.vendor_state.clone().unwrap_or_else(|| c.state.clone()),
    }
}

pub fn run(args: &StatusArgs, global: &GlobalArgs) -> anyhow::Result<Code> {
    audit::require_ledger(&args.ledger)?;
    let key = audit::existing_key(&args.ledger)?;
    if let Some(b) = &args.base_url {
        settings::check_base_url(b, args.allow_insecure_http)?;
    }
    // The lock first: a `delete` appending meanwhile would fork the chain.
    let ledger = Ledger::open(&args.ledger)?;
    let view = View::open(&args.ledger)?;
    let file_creds = match args.credentials_file.as_deref() {
        Some(path) => settings::read_credentials_file(path)?,
        None => Default::default(),
    };
    let p = &args.polling;
    let retry = RetryPolicy::new(p.max_retries, p.max_backoff, time_scale_from_env());

    let mut tracked = Vec::new();
    for g in jobs::job_groups(&view, args.base_url.as_deref())? {
        let info = g.vendor.info();
        let lookup = if has_open_jobs(&g) {
            let mut target = g.target()?;
            target.credentials =
                settings::load_credentials(g.vendor, args.credentials_file.as_deref())?;
            Lookup::Job(vendor::adapter(&target)?)
        } else {
            Lookup::Idle
        };
        let (limits, warnings) = limiter::resolve(
            &info.quota,
            info.default_concurrency,
            1,
            Overrides {
                max_rps: p.max_rps,
                max_items_per_sec: None,
                concurrency: p.concurrency,
            },
        )?;
        warn(&warnings, global);
        let poller = Poller::new(g.vendor, limits, retry.clone(), p.timeout, None)?;
        tracked.push(new_tracked(g, lookup, poller));
    }
    let mut unverifiable = Vec::new();
    if args.verify.verify {
        let v = &args.verify;
        let base = args
            .base_url
            .clone()
            .unwrap_or_else(|| mparticle::DEFAULT_BASE_URL.into());
        let src = MpidSource {
            inputs: &v.inputs,
            column: v.column.as_deref(),
            format: v.format,
        };
        let (group, other) = jobs::mparticle_group(&view, &key, &base, &src)?;
        unverifiable = other;
        if let Some(g) = group {
            let lookup = if has_open_jobs(&g) {
                let api = ProfileApi::new(profile_config(args, &base, &file_creds)?);
                Lookup::Profile(Arc::new(api))
            } else {
                Lookup::Idle
            };
            // The Profile API's own quota: 1500 requests/s.
            let quota = Quota {
                requests: Some(Rate::per_second(1500)),
                items: None,
                in_flight: None,
                documented: true,
            };
            let (limits, warnings) = limiter::resolve(
                &quota,
                32,
                1,
                Overrides {
                    max_rps: p.max_rps,
                    max_items_per_sec: None,
                    concurrency: p.concurrency,
                },
            )?;
            warn(&warnings, global);
            let hint = format!(
                "check {} and {} (a credential with Profile API access)",
                mparticle::CLIENT_ID,
                mparticle::CLIENT_SECRET
            );
            let poller = Poller::new(
                VendorKind::Mparticle,
                limits,
                retry.clone(),
                p.timeout,
                Some(hint),
            )?;
            tracked.push(new_tracked(g, lookup, poller));
        }
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let handle = ledger.handle();
    let outcome = rt.block_on(watch_loop(args, global, &mut tracked, &handle));
    drop(handle);
    let closed = ledger.close();
    let outcome = outcome?;
    closed?;

    let report = Summary::build(&view, &tracked, &unverifiable, &outcome, args.verify.verify);
    if args.json {
        audit::stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report.json())?
        ))?;
    } else if !global.quiet {
        audit::stdout(&report.text())?;
    }
    if outcome.timed_out && !global.quiet {
        eprintln!("{}", report.timeout_message(args.until.unwrap_or_default()));
    }
    if let Some((reason, hint, auth)) = outcome.fatal {
        let code = if auth { Code::Auth } else { Code::Usage };
        return Err(UserError::new(code, reason).with_hint(hint).into());
    }
    Ok(report.code(outcome.interrupted))
}

fn new_tracked(group: Group, lookup: Lookup, poller: Poller) -> Tracked {
    let latest: Vec<Option<StatusCheck>> = group.jobs.iter().map(|j| j.recorded.clone()).collect();
    let n = latest.len();
    Tracked {
        group,
        lookup,
        poller: Arc::new(poller),
        latest,
        unwritten: vec![false; n],
        throttled: vec![false; n],
    }
}

fn warn(warnings: &[String], global: &GlobalArgs) {
    if !global.quiet {
        for w in warnings {
            eprintln!("cdp-purge: warning: {w}");
        }
    }
}

fn profile_config(
    args: &StatusArgs,
    base: &str,
    file: &BTreeMap<String, String>,
) -> anyhow::Result<ProfileApiConfig> {
    let v = &args.verify;
    let need = |o: &Option<String>, flag: &str, env: &str| {
        o.clone().ok_or_else(|| {
            UserError::usage(format!("--verify needs {flag}"))
                .with_hint(format!("pass {flag} ID or export {env}=ID"))
        })
    };
    let secret = |name: &str| {
        settings::credential(name, file).ok_or_else(|| {
            UserError::usage(format!("--verify needs {name}"))
                .with_hint(format!(
                    "export {name}=... or put it in a --credentials-file (the Profile API credential, not the bulk-deletion key)"
                ))
        })
    };
    Ok(ProfileApiConfig {
        auth_url: v.auth_url.clone(),
        base_url: base.trim_end_matches('/').to_owned(),
        org_id: need(&v.org_id, "--org-id", "MPARTICLE_ORG_ID")?,
        account_id: need(&v.account_id, "--account-id", "MPARTICLE_ACCOUNT_ID")?,
        workspace_id: need(&v.workspace_id, "--workspace-id", "MPARTICLE_WORKSPACE_ID")?,
        client_id: secret(mparticle::CLIENT_ID)?,
        client_secret: secret(mparticle::CLIENT_SECRET)?,
    })
}

#[derive(Debug, Default)]
struct LoopOutcome {
    rounds: u32,
    timed_out: bool,
    interrupted: bool,
    fatal: Option<(String, String, bool)>,
}

async fn watch_loop(
    args: &StatusArgs,
    global: &GlobalArgs,
    tracked: &mut [Tracked],
    ledger: &LedgerHandle,
) -> anyhow::Result<LoopOutcome> {
    let check_id = ledger::new_run_id();
    let scale_f = time_scale_from_env();
    let deadline = args.until.map(|d| Instant::now() + d);
    let mode = ProgressMode::detect(global.quiet);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let pollers: Vec<Arc<Poller>> = tracked.iter().map(|t| t.poller.clone()).collect();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ncdp-purge: stopping: recording what was found so far");
            pollers.iter().for_each(|p| p.stop());
            let _ = stop_tx.send(true);
        }
    });
    let mut out = LoopOutcome::default();
    let mut wait = args.interval;
    loop {
        let pending: usize = tracked.iter().map(|t| t.pending().len()).sum();
        if pending == 0 {
            break;
        }
        out.rounds += 1;
        let bar = match mode {
            ProgressMode::Bar => {
                ProgressBar::with_draw_target(Some(pending as u64), ProgressDrawTarget::stderr())
            }
            _ => ProgressBar::hidden(),
        };
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} lookups  {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(format!("round {}", out.rounds));
        for t in tracked.iter_mut() {
            poll_round(t, &check_id, ledger, &bar).await?;
            if let Some(f) = t.poller.fatal() {
                out.fatal = Some(f);
            }
        }
        bar.finish_and_clear();
        out.interrupted = *stop_rx.borrow();
        let pending: usize = tracked.iter().map(|t| t.pending().len()).sum();
        if out.fatal.is_some() || out.interrupted || pending == 0 || !args.watch {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            out.timed_out = true;
            break;
        }
        let next = Instant::now() + scale(wait, scale_f);
        let until = deadline.map_or(next, |d| next.min(d));
        // One line per round (the bar is gone between rounds, and rounds are minutes
        // apart), on a terminal and in logs alike.
        if mode != ProgressMode::Off {
            eprintln!(
                "status: round {}: {pending} pending ({}); next poll in {}",
                out.rounds,
                tracked
                    .iter()
                    .map(|t| audit::format_counts(&t.states()))
                    .collect::<Vec<_>>()
                    .join("; "),
                human(until.saturating_duration_since(Instant::now()))
            );
        }
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {}
            _ = stop_rx.changed() => { out.interrupted = true; break; }
        }
        wait = wait.mul_f64(1.5).min(args.max_interval.max(args.interval));
    }
    // Every ID's latest observation ends up in the ledger, even when it did not change.
    for t in tracked.iter_mut() {
        for i in 0..t.latest.len() {
            if std::mem::take(&mut t.unwritten[i])
                && let Some(c) = &t.latest[i]
            {
                ledger.write(Record::Status(c.clone())).await?;
            }
        }
    }
    Ok(out)
}

/// `2m 30s`, `4s`, `250ms`: whole seconds from a second up, as a person reads a wait.
fn human(d: Duration) -> humantime::FormattedDuration {
    if d >= Duration::from_secs(1) {
        humantime::format_duration(Duration::from_secs(d.as_secs_f64().round() as u64))
    } else {
        humantime::format_duration(Duration::from_millis(d.as_millis() as u64))
    }
}

/// Look up every pending job of one group once, recording state changes as they come.
async fn poll_round(
    t: &mut Tracked,
    check_id: &str,
    ledger: &LedgerHandle,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let pending = t.pending();
    // Bounded like the engine's outstanding batches: memory stays flat for a million IDs.
    let outstanding = Arc::new(Semaphore::new(t.poller.concurrency() * 2));
    let mut set: JoinSet<(usize, Option<(StatusCheck, bool)>)> = JoinSet::new();
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
            let lookup = match &t.lookup {
                Lookup::Job(a) => Lookup::Job(a.clone()),
                Lookup::Profile(p) => Lookup::Profile(p.clone()),
                Lookup::Idle => Lookup::Idle,
            };
            let (vendor, check_id) = (t.group.vendor, check_id.to_owned());
            set.spawn(async move {
                let _permit = permit;
                (i, look_up(&poller, &lookup, vendor, &job, &check_id).await)
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (i, found) = joined?;
        bar.inc(1);
        let Some((check, throttled)) = found else {
            continue;
        };
        t.throttled[i] = throttled;
        let changed = t.latest[i]
            .as_ref()
            .is_none_or(|l| (&l.state, &l.vendor_state) != (&check.state, &check.vendor_state));
        if changed {
            ledger.write(Record::Status(check.clone())).await?;
        }
        t.unwritten[i] = !changed;
        t.latest[i] = Some(check);
    }
    Ok(())
}

/// One lookup. `None` when the run is stopping; the bool marks a give-up after 429s.
async fn look_up(
    poller: &Poller,
    lookup: &Lookup,
    vendor: VendorKind,
    job: &Job,
    check_id: &str,
) -> Option<(StatusCheck, bool)> {
    let mut c = StatusCheck {
        check_id: check_id.to_owned(),
        run_id: job.run_id.clone(),
        vendor: vendor.id().to_owned(),
        vendor_id: None,
        id_hmac: None,
        state: "error".into(),
        vendor_state: None,
        http_status: None,
        message: None,
        checked_at: String::new(),
        attempts: 0,
    };
    let mut throttled = false;
    match (lookup, &job.subject) {
        (Lookup::Job(adapter), Subject::Job(id)) => {
            c.vendor_id = Some(id.clone());
            let req = match adapter.status_request(id) {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(e) => {
                    c.message = Some(e.to_string());
                    c.checked_at = ledger::now_rfc3339();
                    return Some((c, false));
                }
            };
            let (fetched, attempts) = poller.fetch(&req).await;
            c.attempts = attempts;
            match fetched {
                Fetched::Ok { status, body } => {
                    c.http_status = Some(status);
                    c.vendor_state = raw_state(&body);
                    match adapter.parse_status(&body) {
                        Ok(JobState::Done) => c.state = "done".into(),
                        Ok(JobState::Pending(s)) => {
                            c.state = "pending".into();
                            c.vendor_state.get_or_insert(s);
                        }
                        Ok(JobState::Failed(m)) => {
                            c.state = "failed".into();
                            c.message = Some(m);
                        }
                        Err(e) => c.message = Some(e.to_string()),
                    }
                }
                Fetched::Refused { status, reason, .. } => {
                    c.http_status = Some(status);
                    c.message = Some(reason);
                }
                Fetched::GaveUp {
                    reason,
                    throttled: t,
                } => {
                    throttled = t;
                    c.message = Some(reason);
                }
                Fetched::Fatal { .. } | Fetched::Stopped => return None,
            }
        }
        (Lookup::Profile(api), Subject::Profile(h)) => {
            c.id_hmac = Some(h.clone());
            let mpid = job.mpid.as_deref()?;
            let (profile, attempts) = api.lookup(poller, mpid).await.ok()?;
            c.attempts = attempts;
            match profile {
                Profile::Deleted => {
                    c.state = "deleted".into();
                    c.http_status = Some(404);
                }
                Profile::Present => {
                    c.state = "present".into();
                    c.http_status = Some(200);
                    c.message = Some("the Profile API still returns this profile".into());
                }
                Profile::Unknown(status, reason) => {
                    c.http_status = status;
                    c.message = Some(reason);
                }
            }
        }
        _ => return None,
    }
    c.checked_at = ledger::now_rfc3339();
    Some((c, throttled))
}

/// The vendor's state word, whatever the envelope: `data.state`, `state` or `status`.
fn raw_state(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let s = v
        .pointer("/data/state")
        .or_else(|| v.get("state"))
        .or_else(|| v.get("status"))?
        .as_str()?;
    Some(s.chars().filter(|c| !c.is_control()).take(64).collect())
}

mod summary;
use summary::Summary;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_like_a_person_would_say_them() {
        assert_eq!(human(Duration::from_millis(999)).to_string(), "999ms");
        assert_eq!(human(Duration::from_millis(1499)).to_string(), "1s");
        assert_eq!(human(Duration::from_millis(150_600)).to_string(), "2m 31s");
    }

    #[test]
    fn the_vendor_state_word_is_read_from_any_envelope() {
        assert_eq!(
            raw_state(br#"{"data":{"state":"secondary"}}"#).as_deref(),
            Some("secondary")
        );
        assert_eq!(
            raw_state(br#"{"status":"queued"}"#).as_deref(),
            Some("queued")
        );
        assert_eq!(raw_state(b"nope"), None);
    }
}
