//! `delete`'s side of resume: what the ledger already settled for this destination, the
//! checks before appending to it, and the second read that feeds the engine what is left.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::batch::{Batch, Batcher};
use crate::engine::StopReason;
use crate::exit::UserError;
use crate::input;
use crate::ledger::{self, Destination, KeyState, Ledger, Resume};
use crate::printer::Printer;
use crate::progress::RunSummary;
use crate::settings;

/// How this run's identifiers stand against what the ledger settled for the destination.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    pub done: u64,
    pub failed_before: u64,
    /// Of `failed_before`, those whose earlier outcome was `unknown`.
    pub unknown_before: u64,
    pub to_send: u64,
    pub maybe_delivered: u64,
}

/// Why a run that is not a success ended as it did, in one line under the summary.
pub(super) fn explain_exit(s: &RunSummary, maybe: u64, printer: &Printer) {
    let mut why = Vec::new();
    if s.failed_total > 0 {
        why.push(format!("{} failed in this run", s.failed_total));
    }
    if s.unknown > 0 {
        why.push(format!(
            "{} have an unknown outcome: the vendor's answer did not prove them deleted or absent (see `report`)",
            s.unknown
        ));
    }
    let refused_before = s.failed_earlier.saturating_sub(s.unknown_earlier);
    if refused_before > 0 {
        why.push(format!(
            "{refused_before} failed in an earlier run and were not resent (--retry-failed)"
        ));
    }
    if s.unknown_earlier > 0 {
        why.push(format!(
            "{} had an unknown outcome in an earlier run and were not resent: asking again cannot prove what the first request did (--retry-failed resends them)",
            s.unknown_earlier
        ));
    }
    if s.unsent_items > 0 {
        why.push(format!(
            "{} were not sent (the run stopped first)",
            s.unsent_items
        ));
    }
    if maybe > 0 {
        why.push(format!(
            "{maybe} had been sent by an interrupted run without an answer (resent)"
        ));
    }
    if !why.is_empty() {
        printer.info(format!(
            "not every identifier is deleted: {}",
            why.join("; ")
        ));
    }
}

/// A ledger holds one destination's resume state; using it for another would resend (or
/// skip) deletions by mistake. Refused unless the user said so.
pub(super) fn check_destination(
    ledger: &Ledger,
    dest: &Destination,
    any_destination: bool,
) -> anyhow::Result<()> {
    let Some(other) = ledger.scan.other_runs(dest).next() else {
        return Ok(());
    };
    if any_destination {
        return Ok(());
    }
    let theirs = match &other.destination {
        Some(o) => o.to_string(),
        None => format!(
            "an unrecorded destination (line {} was written by an older cdp-purge, ledger \
             schema {}, which did not record destinations)",
            other.line, other.version
        ),
    };
    Err(UserError::usage(format!(
        "the ledger {} records deletions for {theirs}, and this run deletes from {dest}",
        ledger.path.display()
    ))
    .with_hint(
        "use a ledger per destination (drop --ledger for the default name, which includes the \
         destination), or pass --ledger-any-destination to add this destination's runs to it \
         (each destination resumes only from its own records)",
    )
    .into())
}

/// A ledger that stores raw identifiers is personal data: only its owner may read it.
pub(super) fn restrict_to_owner(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            UserError::usage(format!(
                "cannot make the ledger {} private (mode 0600): {e}",
                path.display()
            ))
        })?;
    }
    let _ = path;
    Ok(())
}

/// The list differs from the one the latest run to this destination read. Resume matches
/// identifiers one by one, so this is only worth knowing.
pub(super) fn warn_if_input_changed(
    resume: &Resume,
    files: &[input::FileStats],
    printer: &Printer,
) {
    let Some(before) = &resume.previous_inputs else {
        return;
    };
    let now: Vec<&str> = files.iter().map(|f| f.sha256.as_str()).collect();
    let then: Vec<&str> = before.iter().map(|f| f.sha256.as_str()).collect();
    if now != then {
        let short = |v: &[&str]| {
            v.iter()
                .map(|s| &s[..s.len().min(12)])
                .collect::<Vec<_>>()
                .join(", ")
        };
        printer.warn(format!(
            "the input differs from the previous run's (sha256 {}… then, \
             {}… now); identifiers it acknowledged are still skipped one by one",
            short(&then),
            short(&now)
        ));
    }
}

/// Where one identifier stands for this destination (its keyed hash is computed only when
/// the ledger has earlier runs here).
pub(super) fn state_of(
    resume: &Resume,
    hasher: &ledger::Hasher,
    it: &crate::batch::Item,
) -> KeyState {
    if resume.is_empty() {
        return KeyState::Send {
            maybe_delivered: false,
        };
    }
    resume.state(hasher.item_key(it))
}

/// What the feeder needs to leave out what the ledger settled.
pub(super) struct Feed {
    pub resume: Arc<Resume>,
    pub key: [u8; 32],
    pub retry_failed: bool,
}

/// The second read, on a blocking thread: batches what is left to send and feeds the engine
/// through a bounded channel. An input that changed since the first read stops the run.
pub(super) fn spawn_feeder(
    spec: input::IntakeSpec,
    target: &settings::Target,
    feed: Feed,
    tx: mpsc::Sender<Batch>,
    stopper: crate::engine::Stopper,
) -> tokio::task::JoinHandle<()> {
    let info = target.vendor.info();
    let cap = target.batch_size;
    tokio::task::spawn_blocking(move || {
        let batcher = Batcher::new(info.id, cap, info.one_kind_per_request);
        let Feed {
            resume,
            key,
            retry_failed,
        } = feed;
        let hasher = ledger::Hasher::new(&key);
        // Room for a burst of batches is taken at once: sending one batch per freed slot
        // woke this thread (and its cold caches) once per request of a paced run.
        let burst = (tx.max_capacity() / 4).max(1);
        let rt = tokio::runtime::Handle::current();
        let mut room: Option<mpsc::PermitIterator<'_, Batch>> = None;
        let fed = input::run_batched(
            &spec,
            batcher,
            &mut |it| match state_of(&resume, &hasher, it) {
                KeyState::Done => false,
                KeyState::FailedPermanent | KeyState::Unknown => retry_failed,
                KeyState::Send { .. } => true,
            },
            &mut |mut b| {
                b.maybe_delivered = b.items.iter().any(|it| {
                    state_of(&resume, &hasher, it)
                        == KeyState::Send {
                            maybe_delivered: true,
                        }
                });
                let permit = match room.as_mut().and_then(Iterator::next) {
                    Some(p) => p,
                    None => room
                        .insert(
                            rt.block_on(tx.reserve_many(burst))
                                .map_err(|_| anyhow::anyhow!("the engine stopped"))?,
                        )
                        .next()
                        .ok_or_else(|| anyhow::anyhow!("the engine stopped"))?,
                };
                permit.send(b);
                Ok(())
            },
            &mut |_| Ok(()),
        );
        if let Err(e) = fed
            && !tx.is_closed()
        {
            let (_, hint) = crate::exit::classify(&e);
            stopper.stop(StopReason::Fatal {
                reason: format!("{e:#}"),
                hint: hint.unwrap_or_else(|| "check the input and rerun".into()),
                auth: false,
            });
        }
    })
}

/// Quotas over long windows (Segment regulations: 110,000 users per 30 days) are planned
/// here, before anything is sent: what this ledger's earlier runs to the vendor sent inside
/// the window, plus this run, must fit, or the run is refused with the time it will fit.
pub(super) fn check_long_windows(
    ledger: &Ledger,
    dest: &Destination,
    limits: &crate::engine::limiter::Limits,
    items: u64,
    requests: u64,
    printer: &Printer,
) -> anyhow::Result<()> {
    use crate::ledger::window::{self, LONG_WINDOW, Verdict};
    let now = std::time::SystemTime::now();
    for (budget, planned, unit) in [
        (limits.items, items, "identifiers"),
        (limits.requests, requests, "requests"),
    ] {
        let Some(quota) = budget.map(|b| b.quota).filter(|q| q.per >= LONG_WINDOW) else {
            continue;
        };
        let since = now.checked_sub(quota.per).unwrap_or(std::time::UNIX_EPOCH);
        let history = ledger.sent_since(&dest.vendor, &dest.origin, since)?;
        let p = window::plan(&history, planned, quota, now);
        let when = |t: std::time::SystemTime| humantime::format_rfc3339_seconds(t).to_string();
        match p.verdict {
            Verdict::Fits => printer.info(format!(
                "quota window: {quota} {unit}; {} used by earlier runs in this ledger, {} in this run, {} left after it",
                p.used,
                p.planned,
                u64::from(quota.count) - p.used - p.planned
            )),
            Verdict::FitsAt(at) => {
                return Err(UserError::quota(format!(
                    "this run would exceed the quota of {quota} {unit}: {} were sent in the window by earlier runs in {} and this run sends {}; nothing was sent",
                    p.used,
                    ledger.path.display(),
                    p.planned
                ))
                .with_hint(format!(
                    "enough of the quota frees up at {} (UTC): rerun then, or send fewer now; an account with other terms sets them with --max-per-window N/DURATION",
                    when(at)
                ))
                .into());
            }
            Verdict::Never => {
                return Err(UserError::quota(format!(
                    "this run sends {} {unit}, more than the whole quota of {quota}; nothing was sent",
                    p.planned
                ))
                .with_hint(
                    "split the list into runs of at most the quota, one window apart, or, if the account has other terms, set them with --max-per-window N/DURATION",
                )
                .into());
            }
        }
    }
    Ok(())
}
