//! The end of `status`: per-vendor state counts as text or JSON, the notes on what a
//! deletion does not cover, and the exit code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{LoopOutcome, Tracked};
use crate::audit::{self, View};
use crate::exit::Code;
use crate::status::PollStats;
use crate::status::jobs::vendor_of;
use crate::vendor::VendorKind;

#[derive(Debug, Serialize)]
pub(super) struct GroupSummary {
    vendor: &'static str,
    endpoint: String,
    account: BTreeMap<String, String>,
    runs: Vec<String>,
    /// Jobs (or, for mParticle, profiles) in the ledger.
    jobs: u64,
    /// By the vendor's state name.
    states: BTreeMap<String, u64>,
    done: u64,
    failed: u64,
    pending: u64,
    errors: u64,
    requests: u64,
    retries: u64,
    throttled: u64,
    all_done: bool,
    /// Errors that are give-ups after 429s.
    #[serde(skip)]
    throttled_errors: u64,
}

#[derive(Debug, Serialize)]
pub(super) struct NoStatus {
    vendor: String,
    run_id: String,
    acknowledged: u64,
    note: &'static str,
}

#[derive(Debug, Serialize)]
pub(super) struct Summary {
    groups: Vec<GroupSummary>,
    no_status_api: Vec<NoStatus>,
    /// mParticle runs that deleted by another identity than the MPID.
    not_verifiable: Vec<String>,
    notes: Vec<&'static str>,
    rounds: u32,
    timed_out: bool,
    interrupted: bool,
    all_done: bool,
}

impl Summary {
    pub(super) fn build(
        view: &View,
        tracked: &[Tracked],
        not_verifiable: &[String],
        out: &LoopOutcome,
        verified: bool,
    ) -> Self {
        let groups: Vec<GroupSummary> = tracked
            .iter()
            .map(|t| {
                let mut g = GroupSummary {
                    vendor: t.group.vendor.info().name,
                    endpoint: t.group.base_url.clone(),
                    account: t.group.account.clone(),
                    runs: t.group.run_ids.clone(),
                    jobs: t.latest.len() as u64,
                    states: t.states(),
                    done: 0,
                    failed: 0,
                    pending: 0,
                    errors: 0,
                    requests: PollStats::get(&t.poller.stats.requests),
                    retries: PollStats::get(&t.poller.stats.retries),
                    throttled: PollStats::get(&t.poller.stats.throttled),
                    all_done: t.all_success(),
                    throttled_errors: 0,
                };
                for (l, &throttled) in t.latest.iter().zip(&t.throttled) {
                    match l.as_ref().map(|c| c.state.as_str()) {
                        Some("done" | "deleted") => g.done += 1,
                        Some("failed") => g.failed += 1,
                        Some("error") => {
                            g.errors += 1;
                            g.throttled_errors += u64::from(throttled);
                        }
                        _ => g.pending += 1,
                    }
                }
                g
            })
            .collect();
        let mut no_status_api = Vec::new();
        let mut notes = Vec::new();
        for run in &view.runs {
            let Some(kind) = vendor_of(&run.header) else {
                continue;
            };
            if let Some(n) = audit::reingestion_note(kind.id())
                && !notes.contains(&n)
            {
                notes.push(n);
            }
            let polled = matches!(kind, VendorKind::Lytics | VendorKind::Hightouch)
                || (kind == VendorKind::Mparticle
                    && verified
                    && !not_verifiable.contains(&run.header.run_id));
            if polled {
                continue;
            }
            if let Some(note) = audit::no_status_note(kind.id()) {
                let acknowledged = run
                    .outcomes
                    .iter()
                    .flat_map(|o| &o.results)
                    .filter(|r| r.status.is_success())
                    .count() as u64;
                no_status_api.push(NoStatus {
                    vendor: kind.info().name.to_owned(),
                    run_id: run.header.run_id.clone(),
                    acknowledged,
                    note,
                });
            }
        }
        let all_done = groups.iter().all(|g| g.all_done);
        Self {
            groups,
            no_status_api,
            not_verifiable: not_verifiable.to_vec(),
            notes,
            rounds: out.rounds,
            timed_out: out.timed_out,
            interrupted: out.interrupted,
            all_done,
        }
    }

    /// 0 only when every polled job finished and succeeded. Vendors without a status API do
    /// not hold it up: there is nothing more to learn from them.
    pub(super) fn code(&self, interrupted: bool) -> Code {
        if interrupted {
            return Code::Interrupted;
        }
        if self.all_done {
            return Code::Success;
        }
        let only_throttled = self.groups.iter().all(|g| {
            g.all_done || (g.failed == 0 && g.pending == 0 && g.errors == g.throttled_errors)
        });
        if only_throttled {
            Code::RateLimited
        } else {
            Code::Partial
        }
    }

    pub(super) fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("serialisable");
        v["exit_code"] = (self.code(self.interrupted) as u8).into();
        v
    }

    pub(super) fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for g in &self.groups {
            let account: Vec<String> = g.account.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                s,
                "{} at {} ({}); run {}",
                g.vendor,
                g.endpoint,
                account.join(", "),
                g.runs.join(", ")
            );
            let what = if g.vendor == "mParticle" {
                "profiles"
            } else {
                "jobs"
            };
            let _ = writeln!(
                s,
                "  {what:<9} {}: {}",
                g.jobs,
                audit::format_counts(&g.states)
            );
            let _ = writeln!(
                s,
                "  finished  {} of {} ({} done, {} failed, {} pending, {} errors)",
                g.done + g.failed,
                g.jobs,
                g.done,
                g.failed,
                g.pending,
                g.errors
            );
            let _ = writeln!(
                s,
                "  lookups   {} requests ({} retries, {} throttled with 429)",
                g.requests, g.retries, g.throttled
            );
        }
        for n in &self.no_status_api {
            let _ = writeln!(
                s,
                "{} (run {}): {} identifiers {}",
                n.vendor, n.run_id, n.acknowledged, n.note
            );
        }
        for r in &self.not_verifiable {
            let _ = writeln!(
                s,
                "mParticle (run {r}): deleted by an identity other than the MPID; --verify looks profiles up by MPID only"
            );
        }
        if self.groups.is_empty() && self.no_status_api.is_empty() {
            let _ = writeln!(
                s,
                "nothing to poll: the ledger records no acknowledged deletion"
            );
        } else if !self.groups.is_empty() {
            let pending: u64 = self.groups.iter().map(|g| g.pending + g.errors).sum();
            let failed: u64 = self.groups.iter().map(|g| g.failed).sum();
            let total: u64 = self.groups.iter().map(|g| g.jobs).sum();
            let _ = if self.all_done {
                writeln!(s, "result: all {total} finished")
            } else {
                writeln!(
                    s,
                    "result: {pending} of {total} not finished, {failed} failed{}",
                    if self
                        .groups
                        .iter()
                        .any(|g| g.states.contains_key("secondary"))
                    {
                        " (Lytics `secondary` is the final pass, not the end)"
                    } else {
                        ""
                    }
                )
            };
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }

    pub(super) fn timeout_message(&self, until: Duration) -> String {
        let pending: Vec<String> = self
            .groups
            .iter()
            .filter(|g| !g.all_done)
            .map(|g| {
                let mut st = g.states.clone();
                st.retain(|k, _| !matches!(k.as_str(), "done" | "reprocessed" | "deleted"));
                format!("{} {}", g.vendor, audit::format_counts(&st))
            })
            .collect();
        format!(
            "cdp-purge: still not finished after --until {}: {}; run `status --watch` again later",
            humantime::format_duration(until),
            pending.join("; ")
        )
    }
}
