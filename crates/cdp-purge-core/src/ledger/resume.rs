//! Reading a ledger back before appending to it, in two streaming passes.
//!
//! [`scan`] (when the ledger is opened) checks the hash chain line by line with the same rules
//! as `report --verify`, finds where the next record must chain from, lists the runs with their
//! destinations, and counts each run's successful identifiers. [`collect`] (before a `delete`
//! resumes) reads the file again and keeps, for the runs to the same destination only, the
//! resume key of every identifier that ended in a success, those that failed, and those that
//! may have been delivered by a request that never got its answer.
//!
//! Why two passes: the success set is the one structure that grows with the ledger, and
//! knowing its size first lets it be allocated once, at about 19 bytes per identifier,
//! instead of growing (and briefly holding two copies) as it fills.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};

use super::{Destination, Header, InputFile, ItemStatus, Phase, parse_key_hex};
use crate::audit::verify::{self, Break, ChainChecker, ChainReport, Envelope};
use crate::batch::BatchHash;
use crate::input::dedupe::HashSet128;

/// One run as its header describes it.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// 1-based line of the header.
    pub line: u64,
    pub run_id: String,
    /// The schema version the header was written with.
    pub version: u32,
    /// `None` in version 1 headers.
    pub destination: Option<Destination>,
    pub inputs: Vec<InputFile>,
}

/// What [`scan`] learnt.
#[derive(Debug, Default)]
pub struct Scan {
    pub lines: u64,
    pub records: u64,
    /// SHA-256 of the last good line: the next record's `prev`.
    pub head: Option<String>,
    /// The file does not end in a newline (a torn last line): start on a fresh one.
    pub needs_newline: bool,
    /// Lines that are not records (torn by crashes).
    pub torn: u32,
    pub chain: ChainReport,
    pub runs: Vec<RunInfo>,
    /// Identifiers recorded as successes, per run id (an upper bound for the skip set).
    successes: HashMap<String, u64>,
}

impl Scan {
    pub fn broken(&self) -> Option<&Break> {
        self.chain.broken.as_ref()
    }

    /// Runs recorded for another destination (or, schema 1, for an unknown one).
    pub fn other_runs<'a>(&'a self, dest: &'a Destination) -> impl Iterator<Item = &'a RunInfo> {
        self.runs
            .iter()
            .filter(move |r| r.destination.as_ref() != Some(dest))
    }

    /// Runs recorded for `dest`.
    pub fn runs_for<'a>(&'a self, dest: &'a Destination) -> impl Iterator<Item = &'a RunInfo> {
        self.runs
            .iter()
            .filter(move |r| r.destination.as_ref() == Some(dest))
    }
}

#[derive(serde::Deserialize)]
struct ScanLine<'a> {
    #[serde(borrow, rename = "type")]
    record_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    prev: Option<Cow<'a, str>>,
    #[serde(borrow)]
    check_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    run_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    results: Vec<StatusOnly<'a>>,
}

#[derive(serde::Deserialize)]
struct StatusOnly<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
}

fn is_success(status: &str) -> bool {
    matches!(status, "acknowledged" | "already_done")
}

/// Pass one: the chain, the runs and the per-run success counts, in memory that does not grow
/// with the ledger (a few bytes per run).
pub fn scan<R: Read + Seek>(mut r: R) -> std::io::Result<Scan> {
    let mut out = Scan::default();
    let mut checker = ChainChecker::new();
    let mut last_complete = true;
    verify::for_each_line(&mut r, |n, line, complete| {
        out.lines = n;
        last_complete = complete;
        let parsed = if line.is_empty() {
            None
        } else {
            serde_json::from_slice::<ScanLine>(line).ok()
        };
        let env = parsed.as_ref().map(|p| Envelope {
            record_type: p.record_type.as_deref().map(str::to_owned),
            prev: p.prev.as_deref().map(str::to_owned),
            check_id: p.check_id.as_deref().map(str::to_owned),
        });
        if !checker.push(n, line, complete, env.as_ref()) {
            return Ok(false);
        }
        let Some(p) = parsed else {
            out.torn += u32::from(!line.is_empty());
            return Ok(true);
        };
        out.records += 1;
        match p.record_type.as_deref() {
            Some("header") => {
                // A header that does not read as one is still chained; it names no
                // destination, so resume treats its run as someone else's.
                let h = serde_json::from_slice::<Header>(line).ok();
                let version = serde_json::from_slice::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("v")?.as_u64())
                    .unwrap_or(1) as u32;
                out.runs.push(RunInfo {
                    line: n,
                    run_id: h.as_ref().map(|h| h.run_id.clone()).unwrap_or_default(),
                    version,
                    destination: h.as_ref().and_then(|h| h.destination.clone()),
                    inputs: h.map(|h| h.inputs).unwrap_or_default(),
                });
            }
            Some("outcome") => {
                let ok = p.results.iter().filter(|r| is_success(&r.status)).count();
                if let Some(run) = p.run_id {
                    *out.successes.entry(run.into_owned()).or_default() += ok as u64;
                }
            }
            _ => {}
        }
        Ok(true)
    })?;
    out.needs_newline = out.lines > 0 && !last_complete;
    out.head = checker.head().map(str::to_owned);
    out.chain = checker.finish(|hash, before| {
        r.seek(SeekFrom::Start(0)).ok()?;
        verify::find_line(&mut r, hash, before)
    });
    Ok(out)
}

/// Where an identifier stands for this destination, from earlier runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Acknowledged or already gone: never sent again.
    Done,
    /// Refused for good (`not_found`, `invalid`): sent again only with `--retry-failed`.
    FailedPermanent,
    /// The vendor's answer proved nothing either way (`unknown`): sent again only with
    /// `--retry-failed`, like a refusal, because asking again cannot prove what the first
    /// request did (Braze counts only what the new request deletes).
    Unknown,
    /// To send. `maybe_delivered`: an earlier request carrying it got no answer (or lost
    /// it), so an "already gone" reply is this tool's own earlier success.
    Send { maybe_delivered: bool },
}

/// How an identifier's latest non-success ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prior {
    Retryable,
    Permanent,
    Unknown,
}

/// What earlier runs to one destination settled, keyed by each identifier's resume key.
#[derive(Default)]
pub struct Resume {
    done: HashSet128,
    /// Non-successes by key. A later record wins.
    failed: HashMap<u128, Prior>,
    maybe: HashSet<u128>,
    /// Runs to this destination.
    pub runs: u32,
    /// The inputs of the latest run to this destination.
    pub previous_inputs: Option<Vec<InputFile>>,
}

impl Resume {
    /// No earlier run to this destination: every identifier is to send (and none needs its
    /// key computed to know it).
    pub fn is_empty(&self) -> bool {
        self.runs == 0
    }

    pub fn state(&self, key: u128) -> KeyState {
        if self.done.contains(key) {
            return KeyState::Done;
        }
        match self.failed.get(&key) {
            Some(Prior::Permanent) => return KeyState::FailedPermanent,
            Some(Prior::Unknown) => return KeyState::Unknown,
            Some(Prior::Retryable) | None => {}
        }
        KeyState::Send {
            maybe_delivered: self.maybe.contains(&key),
        }
    }

    /// Distinct identifiers this destination already has a success for.
    pub fn done_len(&self) -> usize {
        self.done.len()
    }

    /// Bytes held by the success set (for the memory figures).
    pub fn done_bytes(&self) -> usize {
        self.done.allocated_bytes()
    }
}

#[derive(serde::Deserialize)]
struct CollectLine<'a> {
    #[serde(borrow, rename = "type")]
    record_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    run_id: Option<Cow<'a, str>>,
    phase: Option<Phase>,
    batch: Option<BatchHash>,
    #[serde(borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(borrow)]
    decision: Option<Cow<'a, str>>,
    #[serde(default)]
    maybe_delivered_before: bool,
    #[serde(default, borrow)]
    keys: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    results: Vec<KeyStatus<'a>>,
}

#[derive(serde::Deserialize)]
struct KeyStatus<'a> {
    #[serde(borrow)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Cow<'a, str>,
}

/// A (sub-)batch of the current run whose outcome is not recorded yet.
struct Open {
    keys: Vec<u128>,
    /// A `sent` attempt has no `result` yet.
    pending: bool,
    /// An attempt ended in a way that may have delivered it (timeout, reset, truncated), or
    /// was answered and settled without its outcome being recorded.
    maybe: bool,
}

impl Open {
    fn maybe_delivered(&self) -> bool {
        self.pending || self.maybe
    }
}

/// Pass two: the keys, for the runs to `dest` only.
pub fn collect(r: impl Read, scan: &Scan, dest: &Destination) -> std::io::Result<Resume> {
    let mine: HashSet<&str> = scan.runs_for(dest).map(|r| r.run_id.as_str()).collect();
    let mut out = Resume {
        runs: mine.len() as u32,
        previous_inputs: scan.runs_for(dest).last().map(|r| r.inputs.clone()),
        ..Resume::default()
    };
    let expected: u64 = mine.iter().filter_map(|r| scan.successes.get(*r)).sum();
    out.done.reserve(expected as usize);
    let mut open: HashMap<BatchHash, Open> = HashMap::new();
    let flush = |open: &mut HashMap<BatchHash, Open>, maybe: &mut HashSet<u128>| {
        for (_, o) in open.drain() {
            if o.maybe_delivered() {
                maybe.extend(o.keys);
            }
        }
    };
    verify::for_each_line(r, |_, line, _| {
        let Ok(l) = serde_json::from_slice::<CollectLine>(line) else {
            return Ok(true);
        };
        let ty = l.record_type.as_deref().unwrap_or("");
        if ty == "header" {
            flush(&mut open, &mut out.maybe);
            return Ok(true);
        }
        if !l.run_id.as_deref().is_some_and(|r| mine.contains(r)) {
            return Ok(true);
        }
        match (ty, l.batch) {
            ("attempt", Some(batch)) => {
                let o = open.entry(batch).or_insert_with(|| Open {
                    keys: Vec::new(),
                    pending: false,
                    maybe: false,
                });
                if o.keys.is_empty() {
                    o.keys = l.keys.iter().filter_map(|k| parse_key_hex(k)).collect();
                }
                match l.phase {
                    Some(Phase::Sent) => {
                        o.pending = true;
                        o.maybe |= l.maybe_delivered_before;
                    }
                    Some(Phase::Result) => {
                        o.pending = false;
                        // Only a refused connection proves the request never left; and an
                        // answer the engine settled ("done") whose outcome never made it to
                        // the ledger (killed in between) was delivered.
                        o.maybe |= l.error.as_deref().is_some_and(|e| e != "connect")
                            || l.decision.as_deref() == Some("done");
                    }
                    None => {}
                }
            }
            ("outcome", Some(batch)) => {
                let o = open.remove(&batch);
                let maybe = o.as_ref().is_some_and(Open::maybe_delivered);
                for r in &l.results {
                    let Some(k) = r.key.as_deref().and_then(parse_key_hex) else {
                        continue;
                    };
                    if is_success(&r.status) {
                        out.done.insert(k);
                        continue;
                    }
                    let prior = if r.status == ItemStatus::FailedRetryable.code() {
                        Prior::Retryable
                    } else if r.status == ItemStatus::Unknown.code() {
                        Prior::Unknown
                    } else {
                        Prior::Permanent
                    };
                    out.failed.insert(k, prior);
                    if maybe {
                        out.maybe.insert(k);
                    }
                }
            }
            _ => {}
        }
        Ok(true)
    })?;
    flush(&mut open, &mut out.maybe);
    Ok(out)
}
