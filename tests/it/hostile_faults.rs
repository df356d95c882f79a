//! Delivery under a hostile network: the real binary against the fake mParticle with the
//! issue's fault mix (10% 429, 5% 503, 2% resets, 1% truncated bodies, 1% hangs) over 20,000
//! identifiers (200 batches), for several seeds. Checked from the fake's log and the ledger:
//! every identifier acknowledged exactly once, no batch applied twice, the sliding-window
//! quota never exceeded, exit 0.
//!
//! To keep the run short the fake's items quota and the client's `--max-items-per-sec` are
//! raised together (10,000/s instead of 1,500/s), backoff is scaled (CDP_PURGE_TIME_SCALE),
//! and hangs end at a 1 s `--timeout`.

use crate::support;

use std::time::{Duration, Instant};

use cdp_purge_sandbox::Fault;
use support::*;

const IDS: usize = 20_000;
const QUOTA: u32 = 10_000;

fn run_seed(seed: u64) {
    let _serial = serial();
    let fake = Fake::mparticle(fault_mix(seed), QUOTA, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids(&format!("S{seed}"), IDS);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let started = Instant::now();
    let out = mparticle_delete(&fake, &input, &ledger)
        .args(["--json", "--timeout", "1s", "--concurrency", "16"])
        .args(["--max-items-per-sec", &QUOTA.to_string()])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "seed {seed}: {stderr}");
    assert!(!stderr.contains("panicked"), "seed {seed}: {stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["acknowledged"], IDS as u64, "seed {seed}");

    let log = fake.log();
    let dels = deletions(&log);
    // The fault mix really happened (a seed that injected nothing would prove nothing).
    let faults = faults_seen(&log);
    for kind in ["429", "503", "reset"] {
        assert!(
            faults.get(kind).copied().unwrap_or(0) > 0,
            "seed {seed}: no {kind} injected: {faults:?}"
        );
    }

    // As the vendor saw it: every identifier deleted, and a batch applied more than once
    // only where the client could not know the first one arrived. That happens: a request
    // the fake applied whose answer came after the 1 s timeout (the fake or the client
    // starved of CPU on a loaded 2-core machine; a paused client reproduces it every time)
    // is retried, as it must be (mParticle's bulk deletion is idempotent, and Segment's
    // "already gone" after a maybe-delivered attempt counts as done). Each extra application
    // must match an attempt the ledger records as maybe delivered (an error after the request
    // was written: timeout, reset, truncated). A resend without one is a bug.
    let l = read_ledger(&ledger);
    let per_value = applied_per_value(&log);
    assert_eq!(per_value.len(), IDS, "seed {seed}: identifiers deleted");
    assert_eq!(
        applied_per_body(&log).len(),
        IDS / 100,
        "seed {seed}: batches applied"
    );
    let repeats = unexplained_repeats(&log, &l);
    assert_eq!(
        repeats.unexplained, 0,
        "seed {seed}: a batch was applied again without a maybe-delivered attempt before it"
    );

    // Exactly once, as the ledger says.
    assert_eq!(l.torn, 0);
    assert_acked_exactly_once(&l, &ids, &format!("seed {seed}"));
    assert!(
        l.acked_batches().values().all(|&n| n == 1),
        "seed {seed}: a batch acknowledged twice in the ledger"
    );
    assert_eq!(
        l.sent_attempts(),
        dels.len(),
        "seed {seed}: one `sent` record per request"
    );

    // Pacing: what arrived in any one-second window, failed requests included.
    let items = max_in_window(&log, Duration::from_secs(1), |r| r.items as u64);
    assert!(
        items <= u64::from(QUOTA),
        "seed {seed}: {items} items in one second (quota {QUOTA})"
    );
    assert_eq!(
        quota_refusals(&log),
        0,
        "seed {seed}: the fake refused for quota"
    );

    let retries = summary["retries"].as_u64().unwrap_or(0);
    eprintln!(
        "figures: seed={seed} ids={IDS} requests={} faults={faults:?} retries={retries} \
         max_items_1s={items} lost=0 repeats_after_timeouts={} elapsed={took:.1?}",
        dels.len(),
        repeats.explained
    );
}

#[test]
fn fault_mix_seed_1() {
    run_seed(1);
}

#[test]
fn fault_mix_seed_2() {
    run_seed(2);
}

#[test]
fn fault_mix_seed_3() {
    run_seed(3);
}

/// The fault mix slows the client down (429s cut its rate), so the quota check above is
/// rarely near its limit. Without 429s the client runs as fast as its pacer lets it, with
/// 16 requests in flight and 20,000 identifiers to send: four windows' worth that it would
/// send in well under one without the pacer.
///
/// The strict check is on what the client controls: when its pacer let each request go (the
/// ledger's `sent` records, on the client's own clock). What the fake observes also carries
/// the fake's own scheduling delays on a shared 2-core machine running every test at once,
/// which compressed arrivals enough to read 5,100 and 5,200 in a second at 5,000/s; there
/// only a gross overshoot (+10%) fails, and the fake does not refuse, so a scheduling
/// hiccup cannot turn into a retry.
///
/// How close to the quota the run gets is a speed, and a starved machine cannot reach it
/// (busiest seconds of 2,300-3,700 items under load 14 on 2 cores). The pacer's ratio is
/// proven on virtual time (`engine::limiter::tests`, >= 0.99 at every batch size) and
/// measured by `examples/pacing` (BENCHMARKS.md), not asserted here.
#[test]
fn without_429s_the_client_never_goes_over_the_quota() {
    let _serial = serial();
    let faults = cdp_purge_sandbox::FaultPlan {
        seed: 11,
        ..cdp_purge_sandbox::FaultPlan::none()
    }
    .with_rate(Fault::Unavailable(None), 0.05)
    .with_rate(Fault::Reset, 0.02)
    .with_rate(Fault::Truncate, 0.01);
    let quota = 5_000;
    let fake = Fake::start(
        cdp_purge_sandbox::SandboxConfig {
            faults,
            enforce_quota: false,
            ..cdp_purge_sandbox::SandboxConfig::default()
        }
        .with_quota(
            cdp_purge_sandbox::VendorKind::Mparticle,
            mparticle_quota(quota),
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("PACE", IDS);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let out = mparticle_delete(&fake, &input, &ledger)
        .args(["--timeout", "1s", "--concurrency", "16"])
        .args(["--max-items-per-sec", &quota.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let view = read_ledger(&ledger);
    let admitted = view.max_sent_in_window(Duration::from_secs(1));
    assert!(
        admitted <= u64::from(quota),
        "the client let {admitted} items go in one second (quota {quota})"
    );
    let log = fake.log();
    let items = max_in_window(&log, Duration::from_secs(1), |r| r.items as u64);
    // A guard against gross overshoot only (a pacer with 10x its burst showed 6,300 here):
    // the fake's arrival clock on a starved 2-core CI machine has read 5,100 and 5,200 for
    // runs whose admissions stayed within 5,000.
    assert!(
        items * 10 <= u64::from(quota) * 11,
        "{items} items arrived in one second (quota {quota}; the client admitted {admitted})"
    );
    assert_acked_exactly_once(&read_ledger(&ledger), &ids, "at the quota");
    eprintln!(
        "figures: no-429 mix quota={quota} max_sent_1s={admitted} max_items_1s={items} requests={}",
        log.len()
    );
}

/// The checks above must be able to fail: a log where one batch was applied twice and a
/// second carried 2× the quota is caught by the same helpers.
#[test]
fn the_checks_catch_a_duplicate_and_a_burst() {
    use cdp_purge_sandbox::RequestRecord;
    let t0 = Instant::now();
    let rec = |ms: u64, hash: u64, values: &[&str]| RequestRecord {
        at: t0 + Duration::from_millis(ms),
        vendor: Some(cdp_purge_sandbox::VendorKind::Mparticle),
        method: "POST".into(),
        path: "/userprofile/bulkdelete".into(),
        status: Some(202),
        items: values.len(),
        values: values.iter().map(|s| (*s).to_owned()).collect(),
        body_hash: hash,
        fault: None::<Fault>,
        applied: true,
    };
    let log = vec![
        rec(0, 1, &["a", "b"]),
        rec(500, 2, &["c", "d"]),
        rec(999, 1, &["a", "b"]),
        rec(1999, 3, &["e"]),
    ];
    assert_eq!(applied_per_body(&log)[&1], 2);
    // A ledger that shows no maybe-delivered attempt cannot explain the repeat of body 1.
    let empty = LedgerView {
        records: Vec::new(),
        torn: 0,
        key: [0; 32],
    };
    let by_body = repeats_against(&log, &empty, |_| None);
    assert_eq!((by_body.unexplained, by_body.explained), (1, 0));
    assert_eq!(applied_per_value(&log)["a"], 2);
    assert_eq!(
        max_in_window(&log, Duration::from_secs(1), |r| r.items as u64),
        6
    );
    // Requests exactly one second apart never share a window (windows are half-open).
    assert_eq!(max_in_window(&log[1..], Duration::from_secs(1), |_| 1), 2);
    assert_eq!(max_in_window(&log[2..], Duration::from_secs(1), |_| 1), 1);
}

/// The cause of the fault-mix flake (`identifiers deleted more than once, left: 100`): a
/// request the vendor applied whose answer reached the client after its `--timeout`. The
/// client cannot know the deletion happened, so it must send the batch again: the vendor then
/// applies it twice, and the ledger must say why (the first attempt timed out, the retry is
/// marked `maybe_delivered_before`). Here the fake applies the first request and never
/// answers.
#[test]
fn a_timeout_after_the_vendor_applied_is_resent_and_the_ledger_says_why() {
    let _serial = serial();
    let fake = Fake::mparticle(
        cdp_purge_sandbox::FaultPlan::none(),
        100_000,
        Duration::ZERO,
    );
    fake.push_fault(
        Some(cdp_purge_sandbox::VendorKind::Mparticle),
        Fault::HangAfterProcessing,
    );
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("HANG", 300);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let out = mparticle_delete(&fake, &input, &ledger)
        .args(["--timeout", "1s", "--concurrency", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let l = read_ledger(&ledger);
    let repeats = unexplained_repeats(&fake.log(), &l);
    assert_eq!(
        (repeats.explained, repeats.unexplained),
        (1, 0),
        "{repeats:?}"
    );
    assert!(
        l.of_type("attempt")
            .any(|a| a["phase"] == "sent" && a["maybe_delivered_before"] == true),
        "the retry after the timeout is marked maybe delivered"
    );
    assert_acked_exactly_once(&l, &ids, "after a timeout");
}

/// The other half of the flake's cause was the client's: after a stall (a starved or paused
/// process) its deadline and the vendor's answer are both due when it runs again, and the
/// deadline used to win, throwing away an answer that had arrived and sending the batch
/// again. Now an answer that is there is taken. The client is paused (SIGSTOP) past its 1 s
/// timeout while the fake answers its first request.
#[test]
fn a_paused_client_takes_the_answer_that_arrived_instead_of_resending() {
    let _serial = serial();
    // Each request takes the fake 400 ms: the pause starts while the first one is there.
    let fake = Fake::mparticle(
        cdp_purge_sandbox::FaultPlan::none(),
        100_000,
        Duration::from_millis(400),
    );
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("STALL", 300);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let child = mparticle_delete(&fake, &input, &ledger)
        .args(["--timeout", "1s", "--concurrency", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first intent is on disk: its request leaves right after.
    let t0 = Instant::now();
    while !std::fs::read_to_string(&ledger).is_ok_and(|t| t.contains("\"phase\":\"sent\""))
        && t0.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    signal(&child, libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, libc::SIGCONT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let l = read_ledger(&ledger);
    let repeats = unexplained_repeats(&fake.log(), &l);
    assert_eq!(
        (repeats.explained, repeats.unexplained),
        (0, 0),
        "an answer that had arrived was thrown away: {repeats:?}"
    );
    assert!(
        l.of_type("attempt").all(|a| a["error"].is_null()),
        "no attempt timed out"
    );
    assert_acked_exactly_once(&l, &ids, "after a pause");
}
