//! The hostile suite's harness: a per-test fault-injecting fake vendor (the crate's sandbox
//! on its own thread and runtime), the real binary set up against it with scaled backoff,
//! and checks read from the fake's request log and from the ledger.
//!
//! Every check here is computed from what the fake *saw* (arrival times, bodies, whether the
//! deletion was applied) or from the ledger on disk, never from the client's own counters, so
//! a client that lies about what it did still fails.
#![allow(dead_code)]

mod context;
pub mod measure;

pub use context::*;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cdp_purge_sandbox::{Credentials, Fault, FaultPlan, RequestRecord, Sandbox, SandboxConfig};
use cdp_purge_sandbox::{Quota, Rate, VendorKind};
use sha2::{Digest, Sha256};

/// Backoff, Retry-After and 429 pauses are multiplied by this in the child (no real sleeps).
pub const TIME_SCALE: &str = "0.01";

/// The fault mix of the issue: 10% 429, 5% 503, 2% resets, 1% truncated, 1% hung.
pub fn fault_mix(seed: u64) -> FaultPlan {
    FaultPlan {
        seed,
        ..FaultPlan::none()
    }
    .with_rate(
        Fault::TooManyRequests(cdp_purge_sandbox::RetryAfter::Seconds(1)),
        0.10,
    )
    .with_rate(Fault::Unavailable(None), 0.05)
    .with_rate(Fault::Reset, 0.02)
    .with_rate(Fault::Truncate, 0.01)
    .with_rate(Fault::Hang, 0.01)
}

/// An mParticle items quota of `items`/s (to keep long runs short, the fake's quota and the
/// client's `--max-items-per-sec` are raised together).
pub fn mparticle_quota(items: u32) -> Quota {
    Quota {
        requests: None,
        items: Some(Rate::per_second(items)),
        in_flight: None,
    }
}

/// A fake vendor for one test. Stops when dropped.
pub struct Fake {
    sb: Sandbox,
    pub cfg: SandboxConfig,
}

impl Fake {
    pub fn start(cfg: SandboxConfig) -> Self {
        let sb = Sandbox::start_blocking(cfg.clone()).expect("start the fake vendor");
        Self { sb, cfg }
    }

    /// Default vendors with `faults` and, for mParticle, an items quota of `items`/s.
    pub fn mparticle(faults: FaultPlan, items: u32, latency: Duration) -> Self {
        Self::start(
            SandboxConfig {
                faults,
                latency,
                ..SandboxConfig::default()
            }
            .with_quota(VendorKind::Mparticle, mparticle_quota(items)),
        )
    }

    pub fn base_url(&self) -> String {
        self.sb.base_url()
    }
    pub fn credentials(&self) -> &Credentials {
        self.sb.credentials()
    }
    pub fn log(&self) -> Vec<RequestRecord> {
        self.sb.log()
    }
    pub fn clear_log(&self) {
        self.sb.clear_log();
    }
    pub fn push_fault(&self, vendor: Option<VendorKind>, fault: Fault) {
        self.sb.push_fault(vendor, fault);
    }
    pub fn go_unreachable(&self, d: Duration) {
        self.sb.go_unreachable(d);
    }
    /// Run the fake's clock ahead (its quota windows and job states), not the child's.
    pub fn advance(&self, by: Duration) {
        self.sb.advance(by);
    }
    /// Bring deleted profiles back (a re-ingestion, a replay).
    pub fn recreate(&self, vendor: VendorKind, values: &[&str]) -> usize {
        self.sb.recreate(vendor, values)
    }
}

/// Deletion requests only (no status polls, no stray paths).
pub fn deletions(log: &[RequestRecord]) -> Vec<&RequestRecord> {
    log.iter()
        .filter(|r| r.vendor.is_some() && r.method != "GET")
        .collect()
}

/// The most `weight` that arrived in any window of `window` (half-open, like the vendors'
/// quotas): the pacing the vendor saw, failed requests included.
pub fn max_in_window(
    log: &[RequestRecord],
    window: Duration,
    weight: impl Fn(&RequestRecord) -> u64,
) -> u64 {
    let mut ev: Vec<_> = log.iter().map(|r| (r.at, weight(r))).collect();
    ev.sort_by_key(|e| e.0);
    let (mut lo, mut sum, mut best) = (0, 0u64, 0u64);
    for hi in 0..ev.len() {
        sum += ev[hi].1;
        while ev[hi].0.duration_since(ev[lo].0) >= window {
            sum -= ev[lo].1;
            lo += 1;
        }
        best = best.max(sum);
    }
    best
}

/// Times each identifier's deletion was applied by the fake.
pub fn applied_per_value(log: &[RequestRecord]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in log.iter().filter(|r| r.applied) {
        for v in &r.values {
            *m.entry(v.clone()).or_default() += 1;
        }
    }
    m
}

/// Times each distinct request body (a batch, retries included) was applied by the fake.
pub fn applied_per_body(log: &[RequestRecord]) -> HashMap<u64, usize> {
    let mut m = HashMap::new();
    for r in log.iter().filter(|r| r.applied) {
        *m.entry(r.body_hash).or_default() += 1;
    }
    m
}

/// Repeated applications of one request body, and how many of them the ledger explains.
#[derive(Debug, Default)]
pub struct Repeats {
    /// Applications beyond the first that follow an attempt the ledger records as maybe
    /// delivered (the client could not know the vendor had it).
    pub explained: usize,
    /// Applications beyond the first with no such attempt: a real double send.
    pub unexplained: usize,
}

/// Compare the fake's repeated applications with the ledger's maybe-delivered attempts.
pub fn unexplained_repeats(log: &[RequestRecord], ledger: &LedgerView) -> Repeats {
    let batch_of = ledger.batch_of_hmac();
    repeats_against(log, ledger, |value| {
        batch_of.get(&ledger.hmac(value)).cloned()
    })
}

/// [`unexplained_repeats`] with the value → batch mapping given.
pub fn repeats_against(
    log: &[RequestRecord],
    ledger: &LedgerView,
    batch_of: impl Fn(&str) -> Option<String>,
) -> Repeats {
    let maybe = ledger.maybe_delivered_attempts();
    let mut first_value: HashMap<u64, String> = HashMap::new();
    for r in log.iter().filter(|r| r.applied) {
        if let Some(v) = r.values.first() {
            first_value.entry(r.body_hash).or_insert_with(|| v.clone());
        }
    }
    let mut out = Repeats::default();
    for (body, n) in applied_per_body(log) {
        let extra = n.saturating_sub(1);
        if extra == 0 {
            continue;
        }
        let allowed = first_value
            .get(&body)
            .and_then(|v| batch_of(v))
            .and_then(|b| maybe.get(&b).copied())
            .unwrap_or(0);
        out.explained += extra.min(allowed);
        out.unexplained += extra.saturating_sub(allowed);
    }
    out
}

/// 429s the fake answered on its own (quota or concurrency), not as an injected fault.
pub fn quota_refusals(log: &[RequestRecord]) -> usize {
    log.iter()
        .filter(|r| r.status == Some(429) && r.fault.is_none())
        .count()
}

/// Injected faults by kind (for the figures).
pub fn faults_seen(log: &[RequestRecord]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in log {
        if let Some(f) = r.fault {
            let name = match f {
                Fault::TooManyRequests(_) => "429",
                Fault::Unavailable(_) => "503",
                Fault::Reset => "reset",
                Fault::Truncate => "truncated",
                Fault::Hang => "hang",
                _ => "other",
            };
            *m.entry(name.to_owned()).or_default() += 1;
        }
    }
    m
}

/// Files in `dir` named like a default ledger of the input `input_name`
/// (`<input_name>.ledger.<destination>.jsonl`), sorted.
pub fn default_ledgers(dir: &Path, input_name: &str) -> Vec<PathBuf> {
    let prefix = format!("{input_name}.ledger.");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with(&prefix) && n.ends_with(".jsonl")
        })
        .collect();
    found.sort();
    found
}

/// The one default ledger a run wrote for `input_name` in `dir`.
pub fn default_ledger(dir: &Path, input_name: &str) -> PathBuf {
    let found = default_ledgers(dir, input_name);
    assert_eq!(
        found.len(),
        1,
        "one default ledger for {input_name}: {found:?}"
    );
    found[0].clone()
}

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A one-column CSV with a header.
pub fn ids_csv(dir: &Path, name: &str, header: &str, values: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    writeln!(f, "{header}").unwrap();
    for v in values {
        writeln!(f, "{v}").unwrap();
    }
    f.flush().unwrap();
    p
}

pub fn customer_ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:07}")).collect()
}

/// `cdp-purge delete --vendor mparticle` (customer ids) against `fake`, confirmed, quiet.
pub fn mparticle_delete(fake: &Fake, input: &Path, ledger: &Path) -> Command {
    let mut cmd = mparticle_delete_to(&fake.base_url(), "customerid", "customerid", input);
    credentials(&mut cmd, fake.credentials());
    // Full batches: the scenarios count batches of 100.
    cmd.args(["--batch-size", "100", "--quiet", "--ledger"])
        .arg(ledger);
    cmd
}

/// A ledger as read back from disk, with its hash chain checked.
#[derive(Debug)]
pub struct LedgerView {
    pub records: Vec<serde_json::Value>,
    /// Lines that did not parse (torn by a crash).
    pub torn: usize,
    pub key: [u8; 32],
}

/// Read a ledger like a resuming run would, and check that every good line chains to the
/// previous good one (`prev` = SHA-256 of its bytes). Panics with the line number otherwise.
pub fn read_ledger(path: &Path) -> LedgerView {
    let bytes = std::fs::read(path).unwrap();
    let mut records = Vec::new();
    let mut torn = 0;
    let mut last: Option<String> = None;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            torn += 1;
            continue;
        };
        assert_eq!(
            v["prev"].as_str(),
            last.as_deref(),
            "{}: line {} breaks the hash chain",
            path.display(),
            i + 1
        );
        last = Some(hex::encode(Sha256::digest(line)));
        records.push(v);
    }
    let key = cdp_purge::ledger::load_or_create_key(&cdp_purge::ledger::key_path(path)).unwrap();
    LedgerView { records, torn, key }
}

impl LedgerView {
    pub fn of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = &'a serde_json::Value> {
        self.records.iter().filter(move |r| r["type"] == ty)
    }

    /// Top-level outcomes (bisected halves carry a `parent` and are folded into it).
    pub fn top_outcomes(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.of_type("outcome").filter(|o| o["parent"].is_null())
    }

    /// How many times each identifier's HMAC was recorded as acknowledged (or already done).
    pub fn acked_hmacs(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for o in self.top_outcomes() {
            for r in o["results"].as_array().unwrap() {
                if r["status"] == "acknowledged" || r["status"] == "already_done" {
                    *m.entry(r["id_hmac"].as_str().unwrap().to_owned())
                        .or_default() += 1;
                }
            }
        }
        m
    }

    /// Batch hashes whose top-level outcome is all-success.
    pub fn acked_batches(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for o in self.top_outcomes() {
            let ok = o["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == "acknowledged" || r["status"] == "already_done");
            if ok {
                *m.entry(o["batch"].to_string()).or_default() += 1;
            }
        }
        m
    }

    /// Item statuses of the top-level outcomes, counted.
    pub fn statuses(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for o in self.top_outcomes() {
            for r in o["results"].as_array().unwrap() {
                *m.entry(r["status"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        m
    }

    /// Most identifiers the client admitted in any sliding `window`, from the `sent` intent
    /// records, which are stamped right after the pacer lets a request go: the client's own
    /// pacing, free of the fake's scheduling delays.
    pub fn max_sent_in_window(&self, window: Duration) -> u64 {
        let mut sent: Vec<(std::time::SystemTime, u64)> = self
            .of_type("attempt")
            .filter(|r| r["phase"] == "sent")
            .map(|r| {
                let at = humantime::parse_rfc3339(r["sent_at"].as_str().expect("sent_at"))
                    .expect("sent_at is RFC 3339");
                (at, r["items"].as_u64().expect("items"))
            })
            .collect();
        sent.sort();
        let (mut best, mut sum, mut lo) = (0, 0, 0);
        for hi in 0..sent.len() {
            sum += sent[hi].1;
            while sent[hi].0.duration_since(sent[lo].0).unwrap_or_default() >= window {
                sum -= sent[lo].1;
                lo += 1;
            }
            best = best.max(sum);
        }
        best
    }

    /// The batch (hash, as JSON text) each identifier's HMAC was settled in.
    pub fn batch_of_hmac(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        for o in self.top_outcomes() {
            for r in o["results"].as_array().unwrap() {
                m.insert(
                    r["id_hmac"].as_str().unwrap().to_owned(),
                    o["batch"].to_string(),
                );
            }
        }
        m
    }

    /// Per batch (hash, as JSON text): attempts whose result may have been delivered: an
    /// error after the request was written (anything but a refused connection).
    pub fn maybe_delivered_attempts(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for a in self.of_type("attempt").filter(|a| a["phase"] == "result") {
            if a["error"].as_str().is_some_and(|e| e != "connect") {
                *m.entry(a["batch"].to_string()).or_default() += 1;
            }
        }
        m
    }

    pub fn sent_attempts(&self) -> usize {
        self.of_type("attempt")
            .filter(|a| a["phase"] == "sent")
            .count()
    }

    pub fn hmac(&self, id: &str) -> String {
        cdp_purge::ledger::id_hmac(&self.key, id)
    }
}

/// Peak resident set (VmHWM, kB) of a running process.
pub fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Send `sig` to a child we started.
pub fn signal(child: &std::process::Child, sig: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on the pid of our own, not yet reaped, child.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

/// Everything the child printed, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every identifier in `ids` acknowledged exactly once in `ledger`, nothing else acknowledged.
pub fn assert_acked_exactly_once(ledger: &LedgerView, ids: &[String], what: &str) {
    let acked = ledger.acked_hmacs();
    let want: HashSet<String> = ids.iter().map(|v| ledger.hmac(v)).collect();
    let missing = want.iter().filter(|h| !acked.contains_key(*h)).count();
    let twice = acked.values().filter(|&&n| n > 1).count();
    let extra = acked.keys().filter(|h| !want.contains(*h)).count();
    assert_eq!(
        missing, 0,
        "{what}: {missing} identifiers never acknowledged"
    );
    assert_eq!(twice, 0, "{what}: {twice} identifiers acknowledged twice");
    assert_eq!(extra, 0, "{what}: {extra} unknown identifiers acknowledged");
}

/// A config-file target `name` for Lytics by email at `base`: the CDP the group tests pair
/// with other targets over one input.
pub fn lytics_email_target(name: &str, base: &str) -> String {
    format!(
        r#"[targets.{name}]
vendor = "lytics"
base_url = "{base}"
id_type = "email"
column = "email"
"#
    )
}
