//! Issue 13, "vendor truth": the tool acts only on answers in the vendors' documented terms,
//! reads every documented error envelope, stops a run whose first identifiers all fail
//! alike, proves in `check` only what a call proves, and runs `status` out loud and at scale.
//! Against the built-in sandbox (whose fakes offer several shapes where a vendor documents
//! none) and wiremock; the real binary throughout.

mod breaker;
mod check;
mod status;
mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use cdp_purge::sandbox::{Credentials, RequestRecord};

/// The binary with a clean environment, the sandbox's credentials and scaled waits.
pub fn bin() -> Command {
    let c = Credentials::default();
    let mut cmd = Command::cargo_bin("cdp-purge").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LYTICS_API_TOKEN", &c.lytics_token)
        .env("HIGHTOUCH_API_KEY", &c.hightouch_api_key)
        .env("MPARTICLE_API_KEY", &c.mparticle_key)
        .env("MPARTICLE_API_SECRET", &c.mparticle_secret)
        .env("SEGMENT_TOKEN", &c.segment_token)
        .env("CDP_PURGE_TIME_SCALE", "0.01")
        .stdin(Stdio::null());
    cmd
}

pub fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn write_csv(dir: &Path, name: &str, header: &str, rows: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    writeln!(f, "{header}").unwrap();
    for r in rows {
        writeln!(f, "{r}").unwrap();
    }
    p
}

pub fn emails(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user{i}@example.com")).collect()
}

pub fn ledger_of(input: &Path) -> PathBuf {
    let mut s = input.as_os_str().to_owned();
    s.push(".ledger.jsonl");
    PathBuf::from(s)
}

pub fn records(ledger: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ledger)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
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

/// Deletion requests the fake received (no status polls, no preflight reads).
pub fn deletions(log: &[RequestRecord]) -> usize {
    log.iter()
        .filter(|r| r.vendor.is_some() && r.method != "GET")
        .count()
}
