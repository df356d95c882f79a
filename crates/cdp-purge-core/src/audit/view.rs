//! A ledger read back as runs, per-row outcomes and the latest vendor states: what `status`
//! polls and `report` prints.
//!
//! Reading is lenient like resume: lines that do not parse (a torn write) are counted and
//! skipped. Whether the file is intact is `verify`'s question, not this one's.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context;

use crate::batch::BatchHash;
use crate::error::UserError;
use crate::ledger::{End, Header, ItemStatus, Outcome, Record, StatusCheck};

/// One delete run, from its header to its end record (if it had one).
#[derive(Debug, Clone)]
pub struct Run {
    /// 1-based line of the header.
    pub line: u64,
    pub header: Header,
    pub end: Option<End>,
    /// HTTP requests sent (`sent` attempt records).
    pub requests: u64,
    /// Attempts the engine decided to retry.
    pub retries: u64,
    /// Answers with HTTP 429.
    pub throttled: u64,
    /// Top-level outcomes (bisected halves are folded into their parent's outcome).
    pub outcomes: Vec<Outcome>,
    /// Latest `received_at` per batch (and per parent of a bisected half).
    pub last_at: HashMap<BatchHash, String>,
}

impl Run {
    pub fn vendor(&self) -> &str {
        &self.header.vendor
    }
}

/// The ledger's content, grouped.
#[derive(Debug, Default)]
pub struct View {
    pub runs: Vec<Run>,
    /// Every status record, in file order.
    pub checks: Vec<StatusCheck>,
    /// Lines that did not parse.
    pub torn: u64,
    pub lines: u64,
}

/// One kept input row and what finally happened to it.
#[derive(Debug, Clone)]
pub struct Row {
    /// Index into [`View::runs`] of the run that settled it last.
    pub run: usize,
    pub input: String,
    pub row: u64,
    pub id_hmac: String,
    /// The top-level batch (the resume key).
    pub batch: BatchHash,
    pub status: ItemStatus,
    pub vendor_id: Option<String>,
    pub message: Option<String>,
    /// The raw identifier, only in ledgers written with `--ledger-include-identifiers`.
    pub value: Option<String>,
    /// When the vendor answered that batch.
    pub at: Option<String>,
}

impl View {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let f = std::fs::File::open(path).map_err(|e| {
            UserError::usage(format!("cannot open the ledger {}: {e}", path.display()))
        })?;
        Self::read(f).with_context(|| format!("reading the ledger {}", path.display()))
    }

    pub fn read(r: impl Read) -> anyhow::Result<Self> {
        let mut view = View::default();
        let mut by_run: HashMap<String, usize> = HashMap::new();
        let mut rd = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if rd.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            view.lines += 1;
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if line.is_empty() {
                continue;
            }
            let Ok(rec) = serde_json::from_slice::<Record>(line) else {
                // Unknown record types from a newer version parse as JSON but not as a
                // Record; only count what is not JSON at all as torn.
                if serde_json::from_slice::<serde::de::IgnoredAny>(line).is_err() {
                    view.torn += 1;
                }
                continue;
            };
            let line_no = view.lines;
            match rec {
                Record::Header(h) => {
                    by_run.insert(h.run_id.clone(), view.runs.len());
                    view.runs.push(Run {
                        line: line_no,
                        header: h,
                        end: None,
                        requests: 0,
                        retries: 0,
                        throttled: 0,
                        outcomes: Vec::new(),
                        last_at: HashMap::new(),
                    });
                }
                Record::Attempt(a) => {
                    let Some(run) = by_run.get(&a.run_id).map(|&i| &mut view.runs[i]) else {
                        continue;
                    };
                    match a.phase {
                        crate::ledger::Phase::Sent => run.requests += 1,
                        crate::ledger::Phase::Result => {
                            if a.status == Some(429) {
                                run.throttled += 1;
                            }
                            if a.decision.as_deref() == Some("retry") {
                                run.retries += 1;
                            }
                            if let Some(at) = &a.received_at {
                                run.last_at.insert(a.batch, at.clone());
                                if let Some(p) = a.parent {
                                    run.last_at.insert(p, at.clone());
                                }
                            }
                        }
                    }
                }
                Record::Outcome(o) => {
                    if o.parent.is_some() {
                        continue;
                    }
                    if let Some(&i) = by_run.get(&o.run_id) {
                        view.runs[i].outcomes.push(o);
                    }
                }
                Record::End(e) => {
                    if let Some(&i) = by_run.get(&e.run_id) {
                        view.runs[i].end = Some(e);
                    }
                }
                Record::Status(s) => view.checks.push(s),
            }
        }
        Ok(view)
    }

    /// One entry per kept input row the ledger recorded, the latest outcome winning (a
    /// resumed run settles what an earlier one left as `failed_retryable`). Rows are keyed
    /// by vendor, the input file's content digest and the row number, so the same file under
    /// another path is still the same row, and the same list deleted from two vendors is two
    /// rows. Sorted by input, row, then vendor.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: HashMap<(&str, String, u64), Row> = HashMap::new();
        for (ri, run) in self.runs.iter().enumerate() {
            for o in &run.outcomes {
                let at = run.last_at.get(&o.batch).cloned();
                for r in &o.results {
                    let (input, digest) = match run.header.inputs.get(r.file as usize) {
                        Some(f) => (f.path.clone(), f.sha256.clone()),
                        None => (format!("#{}", r.file), format!("#{}", r.file)),
                    };
                    rows.insert(
                        (run.vendor(), digest, r.row),
                        Row {
                            run: ri,
                            input,
                            row: r.row,
                            id_hmac: r.id_hmac.clone(),
                            batch: o.batch,
                            status: r.status,
                            vendor_id: r.vendor_id.clone(),
                            message: r.message.clone(),
                            value: r.value.clone(),
                            at: at.clone(),
                        },
                    );
                }
            }
        }
        let mut out: Vec<Row> = rows.into_values().collect();
        out.sort_by(|a, b| {
            (&a.input, a.row, self.runs[a.run].vendor()).cmp(&(
                &b.input,
                b.row,
                self.runs[b.run].vendor(),
            ))
        });
        out
    }

    /// Kept rows the runs planned, per vendor and distinct set of inputs (a resumed run
    /// plans the same rows again, so the largest plan of each counts once).
    pub fn kept_planned(&self) -> u64 {
        let mut by_inputs: HashMap<Vec<&str>, u64> = HashMap::new();
        for run in &self.runs {
            let key: Vec<&str> = std::iter::once(run.vendor())
                .chain(run.header.inputs.iter().map(|f| f.sha256.as_str()))
                .collect();
            let e = by_inputs.entry(key).or_default();
            *e = (*e).max(run.header.plan.kept);
        }
        by_inputs.values().sum()
    }

    /// The latest status record per vendor job ID.
    pub fn job_states(&self) -> HashMap<&str, &StatusCheck> {
        let mut m = HashMap::new();
        for c in &self.checks {
            if let Some(id) = &c.vendor_id {
                m.insert(id.as_str(), c);
            }
        }
        m
    }

    /// When each job (by vendor ID) or profile (by identifier hash) was first seen finished
    /// successfully: the vendor's own time where it gives one (Hightouch `reprocessedAt`),
    /// else when `status` first observed it, and the vendor's run that did it, if named.
    pub fn completions(&self) -> HashMap<&str, Completion<'_>> {
        let mut m = HashMap::new();
        for c in &self.checks {
            if !c.is_success() {
                continue;
            }
            let Some(key) = c.vendor_id.as_deref().or(c.id_hmac.as_deref()) else {
                continue;
            };
            m.entry(key).or_insert_with(|| Completion {
                at: c.completed_at.as_deref().unwrap_or(&c.checked_at),
                by_vendor: c.completed_at.is_some(),
                run: c.vendor_run_id.as_deref(),
            });
        }
        m
    }

    /// The latest mParticle verification per identifier hash.
    pub fn profile_states(&self) -> HashMap<&str, &StatusCheck> {
        let mut m = HashMap::new();
        for c in &self.checks {
            if let (None, Some(h)) = (&c.vendor_id, &c.id_hmac) {
                m.insert(h.as_str(), c);
            }
        }
        m
    }
}

/// When a deletion completed, as far as the ledger shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion<'a> {
    /// RFC 3339.
    pub at: &'a str,
    /// `at` is the vendor's own time; otherwise it is when `status` first saw it done (the
    /// deletion finished at or before that).
    pub by_vendor: bool,
    /// The vendor's run that completed it (Hightouch `reprocessedRunId`).
    pub run: Option<&'a str>,
}

/// The last known state of a row, for the report: the vendor's status if `status` polled
/// it, else what the delete answer alone says.
pub fn row_state<'a>(
    row: &Row,
    vendor: &str,
    jobs: &HashMap<&str, &'a StatusCheck>,
    profiles: &HashMap<&str, &'a StatusCheck>,
) -> (String, Option<&'a StatusCheck>) {
    if !row.status.is_success() {
        return (row.status.code().to_owned(), None);
    }
    let check = row
        .vendor_id
        .as_deref()
        .and_then(|id| jobs.get(id))
        .or_else(|| profiles.get(row.id_hmac.as_str()))
        .copied();
    if let Some(c) = check {
        let s = match &c.vendor_state {
            Some(v) if c.state == "pending" => v.clone(),
            _ => c.state.clone(),
        };
        return (s, Some(c));
    }
    let s = match vendor {
        "lytics" | "hightouch" => "accepted (not polled yet)",
        "clevertap" => "queued (processed after 24 h)",
        "segment" => "deleted (synchronous)",
        "mparticle" => "accepted (not verified)",
        _ => "accepted",
    };
    (s.to_owned(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEDGER: &str = r#"{"v":1,"type":"header","run_id":"r1","tool":"cdp-purge","version":"0","vendor":"lytics","endpoint":"DELETE http://h/v2/identity/queue/bulk/user/email","account":{"table":"user","field":"email"},"inputs":[{"index":0,"path":"a.csv","rows":3,"sha256":"aa"}],"limits":{},"started_at":"t0","plan":{"rows_read":3,"kept":3,"rejected":0,"duplicates":0,"batches":1},"resumed":false,"include_identifiers":false,"prev":null}
{"v":1,"type":"attempt","phase":"result","run_id":"r1","batch":"0000000000000000000000000000000000000000000000000000000000000001","attempt":1,"items":2,"sent_at":"t1","received_at":"t2","status":429,"decision":"retry","prev":"x"}
{"v":1,"type":"outcome","run_id":"r1","batch":"0000000000000000000000000000000000000000000000000000000000000001","seq":0,"items":2,"attempts":2,"results":[{"file":0,"row":2,"id_hmac":"h2","status":"failed_retryable"},{"file":0,"row":3,"id_hmac":"h3","status":"acknowledged","vendor_id":"q3"}],"prev":"x"}
{"v":1,"type"
{"v":1,"type":"outcome","run_id":"r1","batch":"0000000000000000000000000000000000000000000000000000000000000001","seq":0,"items":1,"attempts":1,"results":[{"file":0,"row":2,"id_hmac":"h2","status":"acknowledged","vendor_id":"q2"}],"prev":"x"}
{"v":1,"type":"status","check_id":"c","run_id":"r1","vendor":"lytics","vendor_id":"q3","state":"pending","vendor_state":"secondary","checked_at":"t3","prev":"x"}
"#;

    #[test]
    fn latest_outcome_wins_and_torn_lines_are_counted() {
        let v = View::read(LEDGER.as_bytes()).unwrap();
        assert_eq!((v.runs.len(), v.torn, v.lines), (1, 1, 6));
        let run = &v.runs[0];
        assert_eq!((run.throttled, run.retries), (1, 1));
        let rows = v.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[0].status, ItemStatus::Acknowledged);
        assert_eq!(rows[0].at.as_deref(), Some("t2"));
        let (jobs, profiles) = (v.job_states(), v.profile_states());
        assert_eq!(
            row_state(&rows[1], "lytics", &jobs, &profiles).0,
            "secondary"
        );
        assert_eq!(
            row_state(&rows[0], "lytics", &jobs, &profiles).0,
            "accepted (not polled yet)"
        );
        assert_eq!(v.kept_planned(), 3);
    }
}
