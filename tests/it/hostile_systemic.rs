//! Systemic failures: credentials revoked mid-run, a ledger that cannot be written (full
//! disk from the start, a disk that fills mid-run, an unwritable location), and a vendor
//! unreachable for longer than the retry budget. In each case nothing is deleted without a
//! ledger record, the run stops promptly, and a rerun finishes the job without resending
//! what was acknowledged.

use crate::support;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use cdp_purge_sandbox::VendorKind;
use cdp_purge_sandbox::{Fault, FaultPlan};
use support::*;

fn acked(ledger: &Path) -> HashSet<String> {
    read_ledger(ledger).acked_hmacs().into_keys().collect()
}

fn resent(fake: &Fake, ledger: &Path, before: &HashSet<String>) -> usize {
    let l = read_ledger(ledger);
    deletions(&fake.log())
        .iter()
        .flat_map(|r| r.values.iter())
        .filter(|v| before.contains(&l.hmac(v)))
        .count()
}

#[test]
fn a_401_mid_run_stops_every_worker_and_a_rerun_finishes() {
    const WORKERS: usize = 4;
    // Slow answers and a raised quota keep all four workers in flight when the 401 lands.
    let latency = Duration::from_millis(100);
    let fake = Fake::mparticle(FaultPlan::none(), 20_000, latency);
    for _ in 0..10 {
        fake.push_fault(Some(VendorKind::Mparticle), Fault::Pass);
    }
    fake.push_fault(Some(VendorKind::Mparticle), Fault::Status(401));
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("AUTH", 4_000);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let out = mparticle_delete(&fake, &input, &ledger)
        .args(["--concurrency", &WORKERS.to_string()])
        .args(["--max-items-per-sec", "20000"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("MPARTICLE_API"),
        "names the credentials: {stderr}"
    );
    assert!(stderr.contains("to resume:"), "{stderr}");

    let log = deletions(&fake.log())
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    let t401 = log
        .iter()
        .find(|r| r.status == Some(401))
        .expect("the 401 was served")
        .at;
    // Only requests already on their way when the 401 was answered may follow it.
    let after = log.iter().filter(|r| r.at > t401).count();
    let in_flight = log
        .iter()
        .filter(|r| r.at <= t401 && r.at + latency > t401)
        .count();
    assert!(
        after < WORKERS,
        "{after} requests after the 401 with {WORKERS} workers"
    );
    let late = log.iter().filter(|r| r.at > t401 + latency * 3).count();
    assert_eq!(late, 0, "requests long after the 401 was answered");

    let l = read_ledger(&ledger);
    assert_eq!(l.torn, 0);
    assert_eq!(l.of_type("end").last().unwrap()["reason"], "fatal");
    let sent_first = log.len();
    let acked_first = acked(&ledger);
    assert!(
        !acked_first.is_empty(),
        "some batches were acknowledged first"
    );

    // Good credentials again (the scripted 401 is spent): the rerun completes.
    fake.clear_log();
    let out = mparticle_delete(&fake, &input, &ledger)
        .args(["--concurrency", &WORKERS.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        resent(&fake, &ledger, &acked_first),
        0,
        "acknowledged batches resent"
    );
    assert_acked_exactly_once(&read_ledger(&ledger), &ids, "after the 401 and a rerun");
    eprintln!(
        "figures: 401 after 10 successes: in_flight_at_401={in_flight} requests_after_401={after} (workers {WORKERS}), \
         first_run_requests={sent_first}, rerun lost=0 resent_acknowledged=0"
    );
}

/// Wait for a child at most `limit`, killing it after (a hung or runaway child must fail the
/// test, not the machine).
fn output_within(cmd: &mut std::process::Command, limit: Duration) -> std::process::Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: our own child, not yet reaped (the waiting thread still holds it).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("still running after {limit:?}");
        }
    }
}

#[test]
fn a_full_disk_stops_the_run_before_anything_is_sent() {
    let fake = Fake::mparticle(FaultPlan::none(), 1500, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let input = ids_csv(
        dir.path(),
        "ids.csv",
        "customerid",
        &customer_ids("FULL", 500),
    );

    // Full from the start: the key file fits, the header line does not.
    let ledger = dir.path().join("run.ledger.jsonl");
    let mut cmd = mparticle_delete(&fake, &input, &ledger);
    with_disk_full_at(&mut cmd, 200);
    let out = output_within(&mut cmd, Duration::from_secs(30));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ledger"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(fake.log().len(), 0, "deletions sent without a ledger");

    // /dev/full (ENOSPC on every write) behind a link: refused up front, and not read
    // forever (it reads as endless zeros).
    let ledger = dir.path().join("full.ledger.jsonl");
    std::os::unix::fs::symlink("/dev/full", &ledger).unwrap();
    let out = output_within(
        &mut mparticle_delete(&fake, &input, &ledger),
        Duration::from_secs(30),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("full.ledger.jsonl"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(fake.log().len(), 0, "deletions sent without a ledger");
}

#[test]
fn an_unwritable_ledger_location_sends_nothing() {
    let fake = Fake::mparticle(FaultPlan::none(), 1500, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &customer_ids("RO", 50));
    let ro = dir.path().join("read-only");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    // Root ignores directory permissions; /sys refuses new files even to root.
    let probe = std::fs::write(ro.join("probe"), b"x").is_ok();
    let mut places = vec![
        dir.path().join("a-directory"),
        Path::new("/sys/cdp-purge.ledger.jsonl").to_owned(),
    ];
    std::fs::create_dir(&places[0]).unwrap();
    if !probe {
        places.push(ro.join("run.ledger.jsonl"));
    }
    for ledger in &places {
        let out = mparticle_delete(&fake, &input, ledger).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", ledger.display());
        assert!(stderr.contains("ledger"), "{stderr}");
        assert!(stderr.contains(&ledger.display().to_string()), "{stderr}");
    }
    assert_eq!(fake.log().len(), 0, "deletions sent without a ledger");
}

#[test]
fn a_disk_filling_mid_run_stops_sending_and_the_rerun_finishes() {
    // RLIMIT_FSIZE stands in for a disk that fills: once the ledger reaches the limit every
    // write fails. About 4 outcomes of 100 identifiers fit.
    const LIMIT: u64 = 64 * 1024;
    let fake = Fake::mparticle(FaultPlan::none(), 1500, Duration::from_millis(20));
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("FILL", 3_000);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let mut cmd = mparticle_delete(&fake, &input, &ledger);
    cmd.args(["--concurrency", "4"]);
    with_disk_full_at(&mut cmd, LIMIT);
    let out = output_within(&mut cmd, Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ledger"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let size = std::fs::metadata(&ledger).unwrap().len();
    assert!(size <= LIMIT, "{size}");

    // No deletion without a ledger record: every request the fake saw has its `sent` line.
    let l = read_ledger(&ledger);
    let requests = deletions(&fake.log()).len();
    assert!(requests > 0, "the run started");
    assert!(
        requests <= l.sent_attempts(),
        "{requests} requests, {} sent records",
        l.sent_attempts()
    );
    assert!(
        requests < 30,
        "{requests} requests: the run went on after the disk filled"
    );
    let acked_first = acked(&ledger);

    fake.clear_log();
    let out = mparticle_delete(&fake, &input, &ledger).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(resent(&fake, &ledger, &acked_first), 0);
    assert_acked_exactly_once(&read_ledger(&ledger), &ids, "after the disk filled");
    eprintln!(
        "figures: disk full at {LIMIT} B: first run requests={requests}, sent_records={}, \
         acknowledged={} ids; rerun lost=0 resent_acknowledged=0",
        l.sent_attempts(),
        acked_first.len()
    );
}

/// The disk fills exactly inside an intent (`sent`) record: that request must not leave.
/// One worker, one identifier per batch, no faults, paced: every run writes the same bytes,
/// so a reference run tells where the 10th `sent` line starts, and the limit is set inside it.
#[test]
fn a_failed_intent_record_means_the_request_is_never_sent() {
    const K: usize = 10;
    let fake = Fake::mparticle(FaultPlan::none(), 1500, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("INTENT", 30);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let run = |ledger: &Path, limit: Option<u64>| {
        let mut cmd = mparticle_delete(&fake, &input, ledger);
        // Paced 50 ms apart, so each batch's result and outcome are written before the next
        // batch's intent (the order, hence every byte offset, is the same in every run).
        cmd.args(["--batch-size", "1", "--concurrency", "1", "--max-rps", "20"]);
        if let Some(l) = limit {
            with_disk_full_at(&mut cmd, l);
        }
        output_within(&mut cmd, Duration::from_secs(60))
    };
    let reference = dir.path().join("reference.ledger.jsonl");
    assert_eq!(run(&reference, None).status.code(), Some(0));
    let bytes = std::fs::read(&reference).unwrap();
    let mut offset = 0u64;
    let mut sent_starts = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        if v["type"] == "attempt" && v["phase"] == "sent" {
            sent_starts.push(offset);
        }
        offset += line.len() as u64;
    }
    let limit = sent_starts[K - 1] + 40;

    fake.clear_log();
    let ledger = dir.path().join("run.ledger.jsonl");
    let out = run(&ledger, Some(limit));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        std::fs::metadata(&ledger).unwrap().len(),
        limit,
        "the disk filled there"
    );
    let written = std::fs::read(&ledger).unwrap();
    let torn = written.rsplit(|&b| b == b'\n').next().unwrap();
    assert!(
        torn.starts_with(&bytes[sent_starts[K - 1] as usize..][..torn.len()]),
        "the disk filled inside the {K}th intent record, not in {:?}",
        String::from_utf8_lossy(torn)
    );
    let l = read_ledger(&ledger);
    assert_eq!(l.sent_attempts(), K - 1, "the K-th intent is the torn line");
    assert_eq!(l.torn, 1);
    let requests = deletions(&fake.log()).len();
    assert_eq!(requests, K - 1, "a request left without its intent record");
}

#[test]
fn an_outage_longer_than_the_retry_budget_fails_retryable_and_a_rerun_sends_it() {
    // Scaled time: a 2 s outage against 3 retries whose backoff (0.5 + 1 + 2 s ceilings)
    // runs at CDP_PURGE_TIME_SCALE 0.01, i.e. the 30 s outage of a real run against a 3.5 s
    // retry budget, a hundred times faster.
    // Every attempt takes its share of the items quota (a refused connect included), so the
    // quota is raised with the client's limit to let the retries run out well inside the
    // outage.
    let outage = Duration::from_millis(2000);
    let fake = Fake::mparticle(FaultPlan::none(), 20_000, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("DOWN", 500);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let started = Instant::now();
    fake.go_unreachable(outage);
    let out = mparticle_delete(&fake, &input, &ledger)
        .args(["--max-retries", "3", "--concurrency", "2", "--json"])
        .args(["--max-items-per-sec", "20000"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    assert!(
        took < outage,
        "the first run outlasted the outage ({took:?}): exit {:?} {} {stderr} {:?}",
        out.status.code(),
        text(&out.stdout),
        std::fs::read_to_string(&ledger)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("attempt"))
            .take(12)
            .collect::<Vec<_>>()
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["failed"]["failed_retryable"], 500, "{summary}");
    let l = read_ledger(&ledger);
    assert_eq!(l.statuses().get("failed_retryable"), Some(&500));
    assert!(l.acked_hmacs().is_empty());
    let errors: HashSet<&str> = l
        .of_type("attempt")
        .filter_map(|a| a["error"].as_str())
        .collect();
    assert_eq!(errors, HashSet::from(["connect"]), "{errors:?}");

    // Back up: the rerun sends every batch, and each is deleted exactly once.
    while started.elapsed() < outage + Duration::from_millis(300) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = mparticle_delete(&fake, &input, &ledger).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let per_value = applied_per_value(&fake.log());
    assert_eq!(per_value.len(), 500);
    assert!(per_value.values().all(|&n| n == 1));
    assert_acked_exactly_once(&read_ledger(&ledger), &ids, "after the outage");
    eprintln!(
        "figures: outage {outage:?} vs 3 scaled retries: first run {took:?}, 500 failed_retryable, \
         rerun lost=0 duplicates=0"
    );
}
