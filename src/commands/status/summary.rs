//! The end of `status`: per-vendor state counts as text or JSON, the sample's confidence
//! interval, errors grouped by reason, the notes on what a deletion does not cover, and the
//! exit code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::poll::{LoopOutcome, Tracked};
use super::recheck;
use crate::audit::{self, View};
use crate::exit::{self, Code, Signal};
use crate::status::PollStats;
use crate::status::jobs::vendor_of;
use crate::status::obs::{Obs, Phase};
use crate::status::sample;
use crate::status::select;
use crate::vendor::{StatusSupport, VENDORS};

/// What a sample says about all the jobs.
#[derive(Debug, Serialize)]
pub(super) struct SampleSummary {
    /// Jobs looked at.
    size: u64,
    /// Jobs in the ledger.
    population: u64,
    seed: u64,
    done: u64,
    /// 95% Wilson interval of the share of all jobs that is done.
    done_share_low: f64,
    done_share_high: f64,
}

#[derive(Debug, Serialize)]
pub(super) struct GroupSummary {
    vendor: &'static str,
    endpoint: String,
    account: BTreeMap<String, String>,
    runs: Vec<String>,
    /// Jobs (or, for mParticle, profiles) in the ledger.
    jobs: u64,
    /// By the vendor's state name, over the jobs looked at (all, or the sample).
    states: BTreeMap<String, u64>,
    done: u64,
    failed: u64,
    pending: u64,
    errors: u64,
    /// Open jobs this invocation did not look up (the limit left them out, or it stopped
    /// first): nothing new is known of them, and they hold the exit code non-zero.
    not_checked: u64,
    /// Of `not_checked`, profiles whose value is neither in the ledger nor in the given
    /// input: no invocation can look them up with this input.
    #[serde(skip_serializing_if = "is_zero")]
    not_in_input: u64,
    /// Errors by reason, most frequent first.
    error_reasons: Vec<(String, u64)>,
    requests: u64,
    retries: u64,
    throttled: u64,
    /// Jobs answered by the account-wide status list rather than one by one.
    via_list: u64,
    /// Why the account-wide list was not used, if it was tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    list_unavailable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample: Option<SampleSummary>,
    /// Without `--sample` or `--recheck`: how many open jobs this invocation looked up, at
    /// most `limit` a round, least recently checked first.
    #[serde(skip_serializing_if = "Option::is_none")]
    bounded: Option<Bounded>,
    all_done: bool,
    /// `--recheck`: what this vendor's part of the pass found.
    #[serde(skip_serializing_if = "Option::is_none")]
    recheck: Option<recheck::Counts>,
    /// Errors that are give-ups after 429s.
    #[serde(skip)]
    throttled_errors: u64,
    /// Profiles looked up (mParticle, Segment, CleverTap) rather than vendor jobs.
    #[serde(skip)]
    profiles: bool,
    /// Why this group's lookups can prove a profile present but never gone (the vendor
    /// documents no answer for a missing profile on the route used).
    #[serde(skip_serializing_if = "Option::is_none")]
    present_only: Option<&'static str>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Serialize)]
pub(super) struct Bounded {
    /// Jobs looked up in this invocation (every round).
    checked: u64,
    /// Jobs without a terminal state when the last round was picked.
    open: u64,
    limit: u64,
}

#[derive(Debug, Serialize)]
pub(super) struct NoStatus {
    vendor: String,
    run_id: String,
    acknowledged: u64,
    note: &'static str,
    /// CleverTap: its deletions are processed 24 h after they were queued; nothing can
    /// verify them before this time (the run's end + 24 h).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_verifiable_before: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct StatusSummary {
    groups: Vec<GroupSummary>,
    no_status_api: Vec<NoStatus>,
    /// mParticle runs that deleted by another identity than the MPID.
    not_verifiable: Vec<String>,
    notes: Vec<&'static str>,
    rounds: u32,
    timed_out: bool,
    interrupted: bool,
    /// Which signal stopped the polling, for the exit code.
    #[serde(skip)]
    signal: Option<Signal>,
    all_done: bool,
    /// `--recheck`: profiles present again, over every vendor.
    #[serde(skip_serializing_if = "Option::is_none")]
    present_again: Option<u64>,
    /// Rows whose latest outcome is `unknown`: the vendor's answer proved nothing, so
    /// nothing can be followed and they are not proven deleted (exit 1).
    unknown: u64,
}

/// Rows whose latest outcome is `unknown` (the second pass over the ledger only when a run
/// recorded any; should it fail, every `unknown` recorded counts).
fn unknown_rows(view: &View) -> u64 {
    let recorded: u64 = view
        .runs
        .iter()
        .filter_map(|r| r.failed.get(crate::ledger::ItemStatus::Unknown.code()))
        .sum();
    if recorded == 0 {
        return 0;
    }
    let mut n = 0;
    let walked = view.for_each_brief(&mut |b| {
        n += u64::from(b.status == crate::ledger::ItemStatus::Unknown);
        Ok(())
    });
    if walked.is_ok() { n } else { recorded }
}

/// For the profile lookups that cannot prove a deletion, why: CleverTap's profile lookup
/// and mParticle's resolve (runs by another identity than the MPID) have no documented
/// answer for a missing profile, so their answers are "present" or unknown.
fn present_only(vendor: &str, run_kinds: &[String]) -> Option<&'static str> {
    match vendor {
        "clevertap" => Some(
            "CleverTap documents no answer for a missing profile: a lookup proves a profile still there (or back), never that it is gone",
        ),
        "mparticle" if run_kinds.iter().any(|k| !k.is_empty() && k != "mpid") => Some(
            "mParticle documents no answer for an identity that resolves to no profile: a resolve proves a profile still there (or back), never that it is gone (a run by MPID can)",
        ),
        _ => None,
    }
}

fn group_summary(t: &Tracked, seed: Option<u64>, resumed: bool) -> GroupSummary {
    let mut g = GroupSummary {
        vendor: t.group.vendor.name,
        endpoint: t.group.base_url.clone(),
        account: t.group.account.clone(),
        runs: t.group.run_ids.clone(),
        jobs: t.group.population,
        states: BTreeMap::new(),
        done: 0,
        failed: 0,
        pending: 0,
        errors: 0,
        not_checked: 0,
        not_in_input: 0,
        error_reasons: Vec::new(),
        requests: PollStats::get(&t.poller.stats.requests),
        retries: PollStats::get(&t.poller.stats.retries),
        throttled: PollStats::get(&t.poller.stats.throttled),
        via_list: t
            .scope
            .iter()
            .filter(|&&i| t.latest[i].as_ref().is_some_and(|o| o.via_list))
            .count() as u64,
        list_unavailable: t.note_list().map(str::to_owned),
        sample: None,
        bounded: None,
        all_done: t.all_success(),
        recheck: recheck::counts(t).map(|c| recheck::Counts { resumed, ..c }),
        throttled_errors: 0,
        profiles: !t.group.run_kinds.is_empty(),
        present_only: present_only(t.group.vendor.id, &t.group.run_kinds),
    };
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for &i in &t.scope {
        if t.group.tally.is_some() && t.unreached(i) {
            // A bounded selection says what it did: a job it took but did not reach (a
            // stop) is not checked, whatever an earlier invocation recorded.
            g.not_checked += 1;
            *g.states.entry(select::NOT_CHECKED.to_owned()).or_default() += 1;
            continue;
        }
        let l = t.latest[i].as_ref();
        *g.states
            .entry(l.map_or(select::NOT_CHECKED, Obs::label).to_owned())
            .or_default() += 1;
        match l.map(|o| o.phase) {
            Some(Phase::Done | Phase::Deleted) => g.done += 1,
            Some(Phase::Failed) => g.failed += 1,
            Some(Phase::Error) => {
                g.errors += 1;
                let o = l.expect("matched Some");
                g.throttled_errors += u64::from(o.throttled);
                *reasons.entry(o.reason()).or_default() += 1;
            }
            _ => g.pending += 1,
        }
    }
    if let Some(x) = &t.group.tally {
        // The jobs the selection left out, counted as the ledger streamed past.
        for (label, n) in &x.states {
            *g.states.entry(label.clone()).or_default() += n;
        }
        for (why, n) in &x.reasons {
            *reasons.entry(why.clone()).or_default() += n;
        }
        g.done += x.done;
        g.failed += x.failed;
        g.pending += x.pending;
        g.errors += x.errors;
        g.throttled_errors += x.throttled_errors;
        g.not_checked += x.not_checked;
        g.not_in_input = x.no_value;
        g.all_done = g.done == g.jobs;
        g.bounded = Some(Bounded {
            checked: t.overlay.len(),
            open: x.open,
            limit: x.limit,
        });
    }
    let mut reasons: Vec<(String, u64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    g.error_reasons = reasons;
    if let Some(seed) = seed {
        let size = t.scope.len() as u64;
        let (lo, hi) = sample::wilson95(g.done, size, g.jobs);
        g.sample = Some(SampleSummary {
            size,
            population: g.jobs,
            seed,
            done: g.done,
            done_share_low: lo,
            done_share_high: hi,
        });
    }
    g
}

impl StatusSummary {
    pub(super) fn build(
        view: &View,
        tracked: &[Tracked],
        not_verifiable: &[String],
        out: &LoopOutcome,
        verified: bool,
        sample_seed: Option<u64>,
        recheck_resumed: Option<bool>,
    ) -> Self {
        let groups: Vec<GroupSummary> = tracked
            .iter()
            .map(|t| group_summary(t, sample_seed, recheck_resumed == Some(true)))
            .collect();
        let mut no_status_api = Vec::new();
        let mut notes = Vec::new();
        for run in &view.runs {
            let Some(spec) = vendor_of(&run.header, VENDORS) else {
                continue;
            };
            if let Some(n) = spec.reingestion
                && !notes.contains(&n)
            {
                notes.push(n);
            }
            let polled = match spec.status {
                StatusSupport::Jobs => true,
                StatusSupport::Lookup { .. } => {
                    verified && !not_verifiable.contains(&run.header.run_id)
                }
                StatusSupport::None => false,
            };
            if polled {
                continue;
            }
            if let Some(note) = spec.accepted_means {
                let acknowledged = run.acknowledged;
                let not_verifiable_before = (spec.id == "clevertap")
                    .then(|| run.end.as_ref().map(|e| e.ended_at.as_str()))
                    .flatten()
                    .and_then(crate::audit::view::verifiable_after);
                no_status_api.push(NoStatus {
                    vendor: spec.name.to_owned(),
                    run_id: run.header.run_id.clone(),
                    acknowledged,
                    note,
                    not_verifiable_before,
                });
            }
        }
        let all_done = groups.iter().all(|g| g.all_done);
        let present_again = recheck_resumed.map(|_| {
            groups
                .iter()
                .filter_map(|g| g.recheck.as_ref())
                .map(|c| c.present)
                .sum()
        });
        // CleverTap runs not yet 24 h old are listed with their time, above.
        let not_verifiable = not_verifiable
            .iter()
            .filter(|r| {
                view.runs
                    .iter()
                    .any(|run| &run.header.run_id == *r && run.header.vendor == "mparticle")
            })
            .cloned()
            .collect();
        Self {
            present_again,
            unknown: unknown_rows(view),
            groups,
            no_status_api,
            not_verifiable,
            notes,
            rounds: out.rounds,
            timed_out: out.timed_out,
            interrupted: out.signal.is_some(),
            signal: out.signal,
            all_done,
        }
    }

    /// 0 only when every job looked at finished and succeeded (with `--sample`, every job
    /// of the sample; the summary says how far that carries). Vendors without a status API
    /// do not hold it up: there is nothing more to learn from them.
    pub(super) fn code(&self) -> Code {
        let only_throttled = self.groups.iter().all(|g| {
            g.all_done
                || (g.failed == 0
                    && g.pending == 0
                    && g.not_checked == 0
                    && g.errors == g.throttled_errors)
        });
        match exit::polling(self.signal, self.all_done, only_throttled) {
            Code::Success if self.unknown > 0 => Code::Partial,
            c => c,
        }
    }

    pub(super) fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("serialisable");
        v["exit_code"] = (self.code() as u8).into();
        v
    }

    /// Errors grouped by reason, for stderr: the first lines of each vendor's list.
    pub(super) fn error_lines(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for g in self.groups.iter().filter(|g| g.errors > 0) {
            let _ = writeln!(
                s,
                "cdp-purge: {} {} without a usable answer, by reason:",
                g.vendor,
                if g.profiles {
                    format!("{} profiles", g.errors)
                } else {
                    format!("{} jobs", g.errors)
                }
            );
            for (why, n) in g.error_reasons.iter().take(10) {
                let _ = writeln!(s, "  {n:>8}  {why}");
            }
            if g.error_reasons.len() > 10 {
                let _ = writeln!(
                    s,
                    "  ({} more reasons in --json)",
                    g.error_reasons.len() - 10
                );
            }
        }
        s
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
            let what = if g.profiles { "profiles" } else { "jobs" };
            let looked = g.sample.as_ref().map_or(g.jobs, |x| x.size);
            if let Some(x) = &g.sample {
                let _ = writeln!(
                    s,
                    "  sample    {} of {} {what} (seed {}); the other {} were not looked up",
                    x.size,
                    x.population,
                    x.seed,
                    x.population - x.size
                );
            }
            let _ = writeln!(
                s,
                "  {what:<9} {looked}: {}",
                audit::format_counts(&g.states)
            );
            let _ = writeln!(
                s,
                "  finished  {} of {} ({} done, {} failed, {} pending, {} errors{})",
                g.done + g.failed,
                looked,
                g.done,
                g.failed,
                g.pending,
                g.errors,
                if g.not_checked > 0 {
                    format!(", {} not checked", g.not_checked)
                } else {
                    String::new()
                }
            );
            if let Some(b) = &g.bounded
                && (g.not_checked > 0 || b.open > b.limit)
            {
                let _ = writeln!(
                    s,
                    "  checked   {} of {} open {what} in this invocation (at most {} a round, least recently checked first); {} not checked: run `status` again, or raise --limit",
                    b.checked, b.open, b.limit, g.not_checked
                );
            }
            if let Some(x) = &g.sample {
                let _ = writeln!(
                    s,
                    "  estimate  {:.1}% to {:.1}% of all {} {what} are done (95% confidence, Wilson interval)",
                    x.done_share_low * 100.0,
                    x.done_share_high * 100.0,
                    x.population
                );
            }
            let _ = writeln!(
                s,
                "  lookups   {} requests ({} retries, {} throttled with 429){}",
                g.requests,
                g.retries,
                g.throttled,
                if g.via_list > 0 {
                    format!("; {} answered by the account-wide status list", g.via_list)
                } else {
                    String::new()
                }
            );
            if g.not_in_input > 0 {
                let _ = writeln!(
                    s,
                    "  input     {} open {what} are not in the given input: they cannot be looked up (pass the input the delete run read)",
                    g.not_in_input
                );
            }
            if let Some(why) = &g.list_unavailable {
                let _ = writeln!(s, "  note      {why}; asked one by one");
            }
            if let Some(why) = g.present_only {
                let _ = writeln!(s, "  proves    present only: {why}");
            }
            if let Some(r) = &g.recheck {
                recheck_lines(&mut s, g.vendor, g.profiles, r);
            }
        }
        for n in &self.no_status_api {
            let _ = writeln!(
                s,
                "{} (run {}): {} identifiers {}{}",
                n.vendor,
                n.run_id,
                n.acknowledged,
                n.note,
                n.not_verifiable_before
                    .as_deref()
                    .map(|t| {
                        let past = humantime::parse_rfc3339_weak(t)
                            .is_ok_and(|at| at <= crate::audit::view::now());
                        if past {
                            format!(" (verifiable since {t}: `status --verify -i FILE --column NAME` looks the profiles up)")
                        } else {
                            format!(" (not yet verifiable before {t})")
                        }
                    })
                    .unwrap_or_default()
            );
        }
        for r in &self.not_verifiable {
            let _ = writeln!(
                s,
                "mParticle (run {r}): the ledger records no identity type; its profiles cannot be looked up"
            );
        }
        if self.unknown > 0 {
            let _ = writeln!(
                s,
                "unknown: {} identifiers have an unknown outcome (the vendor's answer proved neither deletion nor absence); nothing to follow, not proven deleted (see `report`)",
                self.unknown
            );
        }
        if self.groups.is_empty() && self.no_status_api.is_empty() {
            let _ = writeln!(
                s,
                "nothing to poll: the ledger records no acknowledged deletion"
            );
        } else if let Some(present) = self.present_again {
            let by_vendor: Vec<String> = self
                .groups
                .iter()
                .filter_map(|g| g.recheck.as_ref().map(|r| (g.vendor, r.present)))
                .filter(|(_, n)| *n > 0)
                .map(|(v, n)| format!("{v} {n}"))
                .collect();
            let _ = if present > 0 {
                writeln!(
                    s,
                    "result: {present} deleted profile(s) are present again ({})",
                    by_vendor.join(", ")
                )
            } else if self.all_done {
                writeln!(s, "result: every identifier re-checked is still deleted")
            } else {
                writeln!(
                    s,
                    "result: no profile found present again, but not every answer proves a deletion (see above)"
                )
            };
        } else if !self.groups.is_empty() {
            let pending: u64 = self
                .groups
                .iter()
                .map(|g| g.pending + g.errors + g.not_checked)
                .sum();
            let not_checked: u64 = self.groups.iter().map(|g| g.not_checked).sum();
            let errors: u64 = self.groups.iter().map(|g| g.errors).sum();
            let failed: u64 = self.groups.iter().map(|g| g.failed).sum();
            let total: u64 = self
                .groups
                .iter()
                .map(|g| g.sample.as_ref().map_or(g.jobs, |x| x.size))
                .sum();
            let sampled = self.groups.iter().any(|g| g.sample.is_some());
            let of = if sampled { "sampled " } else { "" };
            let _ = if self.all_done {
                writeln!(s, "result: all {total} {of}finished")
            } else {
                writeln!(
                    s,
                    "result: {pending} of {total} {of}not finished{}, {failed} failed{}",
                    {
                        let mut why = Vec::new();
                        if errors > 0 {
                            why.push(format!("{errors} unknown: no answer proved them deleted"));
                        }
                        if not_checked > 0 {
                            why.push(format!("{not_checked} not checked in this invocation"));
                        }
                        if why.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", why.join("; "))
                        }
                    },
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

/// A group's re-check, in words: what still holds and what does not.
fn recheck_lines(s: &mut String, vendor: &str, profiles: bool, r: &recheck::Counts) {
    use std::fmt::Write as _;
    let _ = writeln!(
        s,
        "  re-check  pass {}{}: {} checked: {} still deleted, {} present again ({} after a verified deletion), {} unknown{}{}",
        r.pass,
        if r.resumed { " (resumed)" } else { "" },
        r.checked,
        r.deleted,
        r.present,
        r.came_back,
        r.unknown,
        if r.not_done > 0 {
            format!(", {} not done", r.not_done)
        } else {
            String::new()
        },
        if r.not_checked > 0 {
            format!(", {} not checked", r.not_checked)
        } else {
            String::new()
        }
    );
    if !profiles {
        let _ = writeln!(
            s,
            "  note      {vendor}'s job status shows that the deletion ran; it cannot show a profile re-created since"
        );
    }
}
