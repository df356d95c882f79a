//! A ledger read back as runs, per-row outcomes and the latest vendor states: what `status`
//! polls and `report` prints.
//!
//! Reading is lenient like resume: lines that do not parse (a torn write) are counted and
//! skipped. Whether the file is intact is `verify`'s question, not this one's.
//!
//! Memory does not grow with the ledger's rows (see [`super::rows`]): the first read keeps
//! runs, per-run counts and a 4-byte "latest occurrence" entry per row; rows are read again
//! from the file when asked for ([`View::for_each_row`], [`View::for_each_row_sorted`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use xxhash_rust::xxh3::xxh3_64;

use super::rows::{
    self, AttemptLine, HashSet64, ItemLine, Latest, LineReader, OutcomeAt, OutcomeLine, Source,
};
use crate::batch::BatchHash;
use crate::error::UserError;
use crate::ledger::{End, Header, InputFile, ItemStatus, Phase, Record, StatusCheck};

/// Vendor IDs a run's text report shows before "... (N more)".
const SHOWN_IDS: usize = 5;

/// Called with an item's ordinal, its input file (`None`: an index its header lacks) and the
/// item.
type LatestItemFn<'a> =
    dyn FnMut(u32, Option<&InputFile>, &ItemLine<'_>) -> anyhow::Result<()> + 'a;

/// Rows built at a time when they are read sorted (~400 bytes each).
const SORT_CHUNK: usize = 1 << 16;

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
    /// Item results of this run's top-level outcomes (bisected halves are folded into their
    /// parent's outcome), whether or not a later run settled the row again.
    pub sent: u64,
    pub acknowledged: u64,
    /// Failed results by status code, and by the vendor's (or the engine's) message.
    pub failed: BTreeMap<String, u64>,
    pub failure_reasons: BTreeMap<String, u64>,
    /// Distinct vendor IDs in this run's results, and the first few of them.
    pub vendor_ids: u64,
    pub first_vendor_ids: Vec<String>,
    /// Latest `received_at` per batch (and per parent of a bisected half).
    last_at: HashMap<BatchHash, String>,
    seen_ids: HashSet64,
}

impl Run {
    pub fn vendor(&self) -> &str {
        &self.header.vendor
    }
}

/// The ledger's content, grouped.
#[derive(Debug)]
pub struct View {
    pub runs: Vec<Run>,
    /// Every status record, in file order.
    pub checks: Vec<StatusCheck>,
    /// Lines that did not parse.
    pub torn: u64,
    pub lines: u64,
    source: Source,
    outcomes: Vec<OutcomeAt>,
    latest: Latest,
}

/// The fields of a final row that `status` picks its jobs by, borrowed from the ledger line.
#[derive(Debug, Clone, Copy)]
pub struct Brief<'a> {
    /// Index into [`View::runs`] of the run that settled it last.
    pub run: usize,
    pub status: ItemStatus,
    pub id_hmac: &'a str,
    pub vendor_id: Option<&'a str>,
    /// The raw identifier, only in ledgers written with `--ledger-include-identifiers`.
    pub value: Option<&'a str>,
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
        Self::scan(f, Source::File(path.to_owned()))
            .with_context(|| format!("reading the ledger {}", path.display()))
    }

    /// Read a ledger from memory (it is kept, to read its rows again).
    pub fn read(mut r: impl Read) -> anyhow::Result<Self> {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)?;
        let source = Source::Bytes(Arc::new(bytes));
        Self::scan(source.open()?, source)
    }

    fn scan(r: impl Read, source: Source) -> anyhow::Result<Self> {
        let mut view = View {
            runs: Vec::new(),
            checks: Vec::new(),
            torn: 0,
            lines: 0,
            source,
            outcomes: Vec::new(),
            latest: Latest::default(),
        };
        let mut by_run: HashMap<String, usize> = HashMap::new();
        let mut rd = BufReader::with_capacity(1 << 20, r);
        let mut buf = Vec::new();
        let mut offset = 0u64;
        let mut ordinal = 0u32;
        loop {
            buf.clear();
            let n = rd.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            let at = offset;
            offset += n as u64;
            view.lines += 1;
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if line.is_empty() {
                continue;
            }
            // Outcomes and attempts are nearly all of a ledger's bytes: they are read into
            // borrowed structs of the fields used, not through `Record` (an internally
            // tagged enum buffers every line as a tree of values first).
            match rows::record_type(line) {
                Some(b"outcome") => {
                    if let Ok(o) = serde_json::from_slice::<OutcomeLine<'_>>(line) {
                        view.outcome(&by_run, &o, at, &mut ordinal)?;
                        continue;
                    }
                }
                Some(b"attempt") => {
                    if let Ok(a) = serde_json::from_slice::<AttemptLine<'_>>(line) {
                        view.attempt(&by_run, &a);
                        continue;
                    }
                }
                _ => {}
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
                        sent: 0,
                        acknowledged: 0,
                        failed: BTreeMap::new(),
                        failure_reasons: BTreeMap::new(),
                        vendor_ids: 0,
                        first_vendor_ids: Vec::new(),
                        last_at: HashMap::new(),
                        seen_ids: HashSet64::default(),
                    });
                }
                // Written by something other than this tool's writer (`type` not among
                // the first keys): read as above.
                Record::Attempt(_) => {
                    if let Ok(a) = serde_json::from_slice::<AttemptLine<'_>>(line) {
                        view.attempt(&by_run, &a);
                    }
                }
                Record::Outcome(_) => {
                    if let Ok(o) = serde_json::from_slice::<OutcomeLine<'_>>(line) {
                        view.outcome(&by_run, &o, at, &mut ordinal)?;
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
        for run in &mut view.runs {
            run.seen_ids = HashSet64::default();
        }
        Ok(view)
    }

    /// Count an attempt into its run.
    fn attempt(&mut self, by_run: &HashMap<String, usize>, a: &AttemptLine<'_>) {
        let Some(run) = by_run.get(a.run_id.as_ref()).map(|&i| &mut self.runs[i]) else {
            return;
        };
        match a.phase {
            Phase::Sent => run.requests += 1,
            Phase::Result => {
                if a.status == Some(429) {
                    run.throttled += 1;
                }
                if a.decision.as_deref() == Some("retry") {
                    run.retries += 1;
                }
                if let Some(at) = &a.received_at {
                    run.last_at.insert(a.batch, at.to_string());
                    if let Some(p) = a.parent {
                        run.last_at.insert(p, at.to_string());
                    }
                }
            }
        }
    }

    /// Count a top-level outcome into its run and note each row's latest occurrence.
    fn outcome(
        &mut self,
        by_run: &HashMap<String, usize>,
        o: &OutcomeLine<'_>,
        offset: u64,
        ordinal: &mut u32,
    ) -> anyhow::Result<()> {
        if o.parent.is_some() {
            return Ok(());
        }
        let Some(&ri) = by_run.get(o.run_id.as_ref()) else {
            return Ok(());
        };
        let batch = o.batch;
        let first = *ordinal;
        let items = u32::try_from(o.results.len()).unwrap_or(u32::MAX);
        *ordinal = ordinal
            .checked_add(items)
            .ok_or_else(|| anyhow::anyhow!("more than 4 billion item results"))?;
        self.outcomes.push(OutcomeAt {
            offset,
            first,
            run: ri as u32,
            batch,
        });
        let run = &mut self.runs[ri];
        let vendor = run.header.vendor.clone();
        let mut group: Option<(u32, usize)> = None;
        for (k, r) in o.results.iter().enumerate() {
            run.sent += 1;
            if r.status.is_success() {
                run.acknowledged += 1;
            } else {
                *run.failed.entry(r.status.code().to_owned()).or_default() += 1;
                let msg = r.message.as_deref().unwrap_or(r.status.code());
                if let Some(n) = run.failure_reasons.get_mut(msg) {
                    *n += 1;
                } else {
                    run.failure_reasons.insert(msg.to_owned(), 1);
                }
            }
            if let Some(id) = &r.vendor_id
                && run.seen_ids.insert(xxh3_64(id.as_bytes()))
            {
                run.vendor_ids += 1;
                if run.first_vendor_ids.len() < SHOWN_IDS {
                    run.first_vendor_ids.push(id.to_string());
                }
            }
            // An outcome's items nearly always come from one input file.
            let g = match group {
                Some((file, g)) if file == r.file => g,
                _ => {
                    let digest = match run.header.inputs.get(r.file as usize) {
                        Some(f) => Cow::Borrowed(f.sha256.as_str()),
                        None => Cow::Owned(format!("#{}", r.file)),
                    };
                    let g = self.latest.group(&vendor, &digest);
                    group = Some((r.file, g));
                    g
                }
            };
            self.latest.set(g, r.row, first + k as u32);
        }
        Ok(())
    }

    /// Rows the ledger recorded (one per kept input row, however often it was sent).
    pub fn row_count(&self) -> u64 {
        self.latest.rows
    }

    /// Every kept input row the ledger recorded, the latest outcome winning (a resumed run
    /// settles what an earlier one left as `failed_retryable`), in file order. Rows are
    /// keyed by vendor, the input file's content digest and the row number, so the same file
    /// under another path is still the same row, and the same list deleted from two vendors
    /// is two rows.
    pub fn for_each_row(&self, f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.walk(&mut |_, row| f(row))
    }

    /// Every final row in file order, as borrowed [`Brief`]s: what a pass over millions of
    /// rows that keeps few of them needs, without building each row's strings.
    pub fn for_each_brief(
        &self,
        f: &mut dyn FnMut(Brief<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut rd = LineReader::open(&self.source)?;
        let mut buf = Vec::new();
        for o in &self.outcomes {
            rd.line_at(o.offset, &mut buf)?;
            self.latest_items(o, &buf, &mut |_, _, r| {
                f(Brief {
                    run: o.run as usize,
                    status: r.status,
                    id_hmac: &r.id_hmac,
                    vendor_id: r.vendor_id.as_deref(),
                    value: r.value.as_deref(),
                })
            })?;
        }
        Ok(())
    }

    /// [`Self::for_each_row`], with each row's ordinal among all item results.
    fn walk(&self, f: &mut dyn FnMut(u32, Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        let mut rd = LineReader::open(&self.source)?;
        let mut buf = Vec::new();
        for o in &self.outcomes {
            rd.line_at(o.offset, &mut buf)?;
            self.rows_of(o, &buf, &|_| true, f)?;
        }
        Ok(())
    }

    /// The final rows of outcome `o` whose ordinals `keep` wants, read from its `line`.
    fn rows_of(
        &self,
        o: &OutcomeAt,
        line: &[u8],
        keep: &dyn Fn(u32) -> bool,
        f: &mut dyn FnMut(u32, Row) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let at = self.runs[o.run as usize].last_at.get(&o.batch);
        self.latest_items(o, line, &mut |ordinal, input, r| {
            if !keep(ordinal) {
                return Ok(());
            }
            f(
                ordinal,
                Row {
                    run: o.run as usize,
                    input: match input {
                        Some(fl) => fl.path.clone(),
                        None => format!("#{}", r.file),
                    },
                    row: r.row,
                    id_hmac: r.id_hmac.to_string(),
                    batch: o.batch,
                    status: r.status,
                    vendor_id: r.vendor_id.as_deref().map(str::to_owned),
                    message: r.message.as_deref().map(str::to_owned),
                    value: r.value.as_deref().map(str::to_owned),
                    at: at.cloned(),
                },
            )
        })
    }

    /// The items of outcome `o` that are their row's latest occurrence, read from its
    /// `line`, with their ordinals and input file (`None`: an index its header lacks).
    fn latest_items(
        &self,
        o: &OutcomeAt,
        line: &[u8],
        f: &mut LatestItemFn<'_>,
    ) -> anyhow::Result<()> {
        let parsed: OutcomeLine<'_> =
            serde_json::from_slice(line).context("the ledger changed while it was being read")?;
        let run = &self.runs[o.run as usize];
        let mut group: Option<(u32, Option<usize>)> = None;
        for (k, r) in parsed.results.iter().enumerate() {
            let ordinal = o.first + k as u32;
            let input = run.header.inputs.get(r.file as usize);
            // An outcome's items nearly always come from one input file.
            let g = match group {
                Some((file, g)) if file == r.file => g,
                _ => {
                    let digest = match input {
                        Some(fl) => Cow::Borrowed(fl.sha256.as_str()),
                        None => Cow::Owned(format!("#{}", r.file)),
                    };
                    let g = self.latest.find(run.vendor(), &digest);
                    group = Some((r.file, g));
                    g
                }
            };
            if g.is_some_and(|g| self.latest.is_latest(g, r.row, ordinal)) {
                f(ordinal, input, r)?;
            }
        }
        Ok(())
    }

    /// [`Self::for_each_row`], sorted by input, row, then vendor. Holds a 24-byte key per row,
    /// then reads the outcome records again in that order (each once per run of its rows).
    pub fn for_each_row_sorted(
        &self,
        f: &mut dyn FnMut(Row) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        // Input paths and vendors by rank, so a key is a few integers.
        let mut paths: Vec<&str> = self
            .runs
            .iter()
            .flat_map(|r| r.header.inputs.iter().map(|f| f.path.as_str()))
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let mut vendors: Vec<&str> = self.runs.iter().map(Run::vendor).collect();
        vendors.sort_unstable();
        vendors.dedup();
        // A `#N` input (a file index its header does not list) falls between the names it
        // sorts between, as its text would.
        let rank = |v: &[&str], s: &str| match v.binary_search(&s) {
            Ok(i) => 2 * i as u32,
            Err(i) => 2 * i as u32 + 1,
        };
        let mut keys: Vec<(u32, u64, u32, u32)> = Vec::with_capacity(self.latest.rows as usize);
        let mut rd = LineReader::open(&self.source)?;
        let mut buf = Vec::new();
        for o in &self.outcomes {
            rd.line_at(o.offset, &mut buf)?;
            let vendor = rank(&vendors, self.runs[o.run as usize].vendor());
            self.latest_items(o, &buf, &mut |ordinal, input, r| {
                let path = match input {
                    Some(fl) => rank(&paths, &fl.path),
                    None => rank(&paths, &format!("#{}", r.file)),
                };
                keys.push((path, r.row, vendor, ordinal));
                Ok(())
            })?;
        }
        keys.sort_unstable();
        // Rows are built a chunk of keys at a time, each chunk's outcome records read in file
        // order: memory stays at a chunk of rows, and a ledger whose sorted order jumps
        // between records (a resumed run's retries) costs a read per chunk, not per row.
        let mut want: Vec<u32> = Vec::new();
        let mut rows: Vec<Option<Row>> = Vec::new();
        for chunk in keys.chunks(SORT_CHUNK) {
            want.clear();
            want.extend(chunk.iter().map(|k| k.3));
            want.sort_unstable();
            rows.clear();
            rows.resize_with(want.len(), || None);
            let mut last = None;
            for &ordinal in &want {
                let oi = self.outcomes.partition_point(|o| o.first <= ordinal) - 1;
                if last == Some(oi) {
                    continue;
                }
                last = Some(oi);
                let o = &self.outcomes[oi];
                rd.line_at(o.offset, &mut buf)?;
                self.rows_of(o, &buf, &|n| want.binary_search(&n).is_ok(), &mut |n, r| {
                    if let Ok(i) = want.binary_search(&n) {
                        rows[i] = Some(r);
                    }
                    Ok(())
                })?;
            }
            for k in chunk {
                if let Some(r) = want.binary_search(&k.3).ok().and_then(|i| rows[i].take()) {
                    f(r)?;
                }
            }
        }
        Ok(())
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

    /// Stream this run's distinct vendor IDs, in order (for the JSON report).
    pub fn for_each_vendor_id(
        &self,
        run: usize,
        f: &mut dyn FnMut(&str) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut seen = HashSet64::default();
        let mut rd = LineReader::open(&self.source)?;
        let mut buf = Vec::new();
        for o in self.outcomes.iter().filter(|o| o.run as usize == run) {
            rd.line_at(o.offset, &mut buf)?;
            let parsed: OutcomeLine<'_> = serde_json::from_slice(&buf)
                .context("the ledger changed while it was being read")?;
            for r in &parsed.results {
                if let Some(id) = &r.vendor_id
                    && seen.insert(xxh3_64(id.as_bytes()))
                {
                    f(id)?;
                }
            }
        }
        Ok(())
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

/// A row's state in `report` when its last check proved nothing either way.
pub const UNKNOWN_CHECK: &str = "unknown (not proven deleted)";

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
            // The ledger's `error`: no answer proved anything (an undocumented answer, or
            // one a vendor gives where it documents no "not found").
            _ if c.state == "error" => UNKNOWN_CHECK.to_owned(),
            _ => c.state.clone(),
        };
        return (s, Some(c));
    }
    if vendor == "clevertap" {
        return (clevertap_state(row.at.as_deref()), None);
    }
    let s = match vendor {
        "lytics" | "hightouch" => "accepted (not polled yet)",
        "segment" => "deleted (synchronous)",
        "mparticle" => "accepted (not verified)",
        _ => "accepted",
    };
    (s.to_owned(), None)
}

/// CleverTap processes a deletion 24 hours after it queued it (seed 002); before then no
/// lookup can show it.
pub const CLEVERTAP_DELAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The time CleverTap's 24-hour delay is measured against: now, or for tests (which cannot
/// wait a day) the RFC 3339 time in `CDP_PURGE_NOW`.
pub fn now() -> std::time::SystemTime {
    std::env::var("CDP_PURGE_NOW")
        .ok()
        .and_then(|t| humantime::parse_rfc3339_weak(&t).ok())
        .unwrap_or_else(std::time::SystemTime::now)
}

/// Whether a CleverTap deletion answered at `at` (RFC 3339) can be verified now.
pub fn verifiable_now(at: &str) -> bool {
    verifiable_after(at)
        .and_then(|t| humantime::parse_rfc3339_weak(&t).ok())
        .is_some_and(|t| t <= now())
}

/// When a CleverTap deletion answered at `at` (RFC 3339) can first be verified.
pub fn verifiable_after(at: &str) -> Option<String> {
    let t = humantime::parse_rfc3339_weak(at).ok()? + CLEVERTAP_DELAY;
    Some(humantime::format_rfc3339_seconds(t).to_string())
}

/// A CleverTap row's state: queued, and until when nothing can be verified.
fn clevertap_state(at: Option<&str>) -> String {
    let Some(after) = at.and_then(verifiable_after) else {
        return "queued (processed after 24 h)".into();
    };
    let due = humantime::parse_rfc3339_weak(&after).is_ok_and(|t| t <= now());
    if due {
        format!("queued (processed after 24 h: verifiable since {after}, not checked)")
    } else {
        format!("queued (not yet verifiable before {after})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clevertap_rows_say_when_they_can_be_verified() {
        assert_eq!(
            verifiable_after("2026-11-30T12:00:00.123Z").as_deref(),
            Some("2026-12-01T12:00:00Z")
        );
        assert_eq!(
            clevertap_state(Some("2099-01-01T00:00:00Z")),
            "queued (not yet verifiable before 2099-01-02T00:00:00Z)"
        );
        assert!(
            clevertap_state(Some("2020-01-01T00:00:00Z")).contains("verifiable since 2020-01-02")
        );
        assert_eq!(clevertap_state(None), "queued (processed after 24 h)");
    }

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
        let mut rows = Vec::new();
        v.for_each_row_sorted(&mut |r| {
            rows.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(v.row_count(), 2);
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
