//! Crash safety: kill the real binary with SIGKILL at a random point, rerun, and check that
//! every remaining batch is sent and no acknowledged batch is sent again.

use std::collections::HashSet;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use cdp_purge_sandbox::{Credentials, Sandbox, SandboxConfig};

#[test]
fn a_rerun_after_sigkill_sends_the_rest_and_nothing_acknowledged_twice() {
    let sb = Sandbox::start_blocking(SandboxConfig {
        latency: Duration::from_millis(40),
        ..SandboxConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    let mut f = std::fs::File::create(&input).unwrap();
    writeln!(f, "customerid").unwrap();
    let ids: Vec<String> = (0..4000).map(|i| format!("K-{i:05}")).collect();
    for v in &ids {
        writeln!(f, "{v}").unwrap();
    }
    drop(f);
    let ledger = dir.path().join("run.ledger.jsonl");
    let c = Credentials::default();
    let cmd = || {
        let mut cmd = crate::support::cdp_purge();
        cmd.env("MPARTICLE_API_KEY", &c.mparticle_key)
            .env("MPARTICLE_API_SECRET", &c.mparticle_secret)
            .env("CDP_PURGE_TIME_SCALE", "0.01")
            .args([
                "delete",
                "--vendor",
                "mparticle",
                "--environment",
                "production",
            ])
            .args(["--id-type", "customerid", "--column", "customerid"])
            .args([
                "--yes",
                "--quiet",
                "--concurrency",
                "3",
                "--ledger-include-identifiers",
            ])
            .arg("--base-url")
            .arg(sb.base_url())
            .arg("--ledger")
            .arg(&ledger)
            .arg("-i")
            .arg(&input)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let mut child = cmd().spawn().unwrap();
    // 40 batches at 40 ms each, 3 in flight: about half a second of work.
    let delay = Duration::from_millis(150 + fastrand::u64(0..350));
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // What the first run settled, by identifier (the ledger may end in a torn line).
    let text = std::fs::read_to_string(&ledger).unwrap();
    let mut settled: HashSet<String> = HashSet::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["type"] == "outcome" && v["parent"].is_null() {
            for r in v["results"].as_array().unwrap() {
                assert_eq!(r["status"], "acknowledged");
                settled.insert(r["value"].as_str().unwrap().to_owned());
            }
        }
    }
    let first: HashSet<String> = sb
        .log()
        .iter()
        .filter(|r| r.applied)
        .flat_map(|r| r.values.clone())
        .collect();
    assert!(settled.is_subset(&first));
    sb.clear_log();

    let out = cmd().output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "rerun after a kill at {delay:?}"
    );
    let second = sb.log();
    for r in &second {
        for v in &r.values {
            assert!(
                !settled.contains(v),
                "an acknowledged batch was sent again (kill at {delay:?})"
            );
        }
    }
    let mut all = first;
    all.extend(
        second
            .iter()
            .filter(|r| r.applied)
            .flat_map(|r| r.values.clone()),
    );
    assert_eq!(
        all.len(),
        ids.len(),
        "every identifier deleted (kill at {delay:?})"
    );
}
