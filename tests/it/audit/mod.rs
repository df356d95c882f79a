//! `status` and `report` end to end: real ledgers written by the real `delete` against the
//! in-process fake vendors (or wiremock for the mParticle Profile API), then the real
//! binary reading, polling and verifying them. Waits are scaled with CDP_PURGE_TIME_SCALE;
//! no test sleeps for a backoff or a poll interval.
//!
//! The `truth_*` modules hold issue 13's "vendor truth" checks: the tool acts only on
//! answers in the vendors' documented terms, reads every documented error envelope, stops a
//! run whose first identifiers all fail alike, proves in `check` only what a call proves,
//! and runs `status` out loud and at scale — against fakes that offer several shapes where a
//! vendor documents none.

mod lookup_verify;
mod mparticle;
mod proof;
mod recheck;
mod report;
mod status;
mod status_limit;
use crate::support;
mod truth_breaker;
mod truth_check;
mod truth_status;
mod truth_verify;
mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};
pub use std::process::{Command, Output, Stdio};

use cdp_purge_sandbox::{RequestRecord, Sandbox};

pub fn write_csv(dir: &Path, name: &str, header: &str, values: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    writeln!(f, "{header}").unwrap();
    for v in values {
        writeln!(f, "{v}").unwrap();
    }
    p
}

/// `n` MPIDs (signed 64-bit integers as text).
pub fn mpids(n: i64) -> Vec<String> {
    (0..n)
        .map(|i| (7_000_000_000_000_000_i64 + i).to_string())
        .collect()
}

pub fn emails(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user{i}@example.com")).collect()
}

/// The binary with a clean environment, the sandbox's credentials and scaled waits.
pub use support::cdp_purge_with_credentials as bin;

pub fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out: Output = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `delete --vendor lytics` of `values` (column `email`) into its default ledger beside
/// `<dir>/<name>`.
pub fn delete_lytics(sb: &Sandbox, dir: &Path, name: &str, values: &[String]) -> PathBuf {
    let input = write_csv(dir, name, "email", values);
    let (code, _, err) = run(&mut support::lytics_delete_to(&sb.base_url(), &input));
    assert!(matches!(code, Some(0 | 1)), "delete failed: {err}");
    ledger_of(&input)
}

/// The default ledger a `delete` wrote beside `input` (`<input>.ledger.<destination>.jsonl`).
pub fn ledger_of(input: &Path) -> PathBuf {
    let name = input.file_name().unwrap().to_string_lossy();
    support::default_ledger(input.parent().unwrap(), &name)
}

pub fn records(ledger: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ledger)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `delete --vendor mparticle --environment production --yes` against `base`, for MPIDs in
/// column `mpid` of `input`.
pub fn mparticle_delete(base: &str, input: &Path) -> Command {
    mparticle_delete_by(base, input, "mpid", "mpid")
}

/// [`mparticle_delete`] by another identity type, read from `column`.
pub fn mparticle_delete_by(base: &str, input: &Path, identity_type: &str, column: &str) -> Command {
    support::mparticle_delete_to(base, identity_type, column, input)
}

/// Every item result of every top-level outcome, as (status, message).
pub fn results(ledger: &Path) -> Vec<(String, String)> {
    records(ledger)
        .iter()
        .filter(|r| r["type"] == "outcome" && r.get("parent").is_none())
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .map(|x| {
            (
                x["status"].as_str().unwrap_or_default().to_owned(),
                x["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Deletion requests a fake received (no status polls, no preflight reads).
pub fn deletions(log: &[RequestRecord]) -> usize {
    log.iter()
        .filter(|r| r.vendor.is_some() && r.method != "GET")
        .count()
}
