use std::time::Duration;

use cdp_purge_sandbox::VendorKind;
use cdp_purge_sandbox::{Fault, RetryAfter, Sandbox, SandboxConfig};

use super::*;

fn sandbox(step_ms: u64) -> Sandbox {
    Sandbox::start_blocking(SandboxConfig {
        lytics_state_step: Duration::from_millis(step_ms),
        hightouch_state_step: Duration::from_millis(step_ms),
        ..SandboxConfig::default()
    })
    .unwrap()
}

fn status(ledger: &Path) -> Command {
    let mut c = bin();
    c.args(["status", "--ledger"]).arg(ledger);
    c
}

#[test]
fn watch_follows_lytics_jobs_to_done_and_records_each_state_change() {
    // Five states of 150 ms each: done after 600 ms; polls start at 5 s × 0.01 = 50 ms.
    let sb = sandbox(150);
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(12));
    sb.clear_log();

    let (code, out, err) = run(status(&ledger).args(["--watch", "--until", "20s"]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("jobs      12: done 12"), "{out}");
    assert!(out.contains("result: all 12 finished"), "{out}");
    assert!(
        out.contains("delete the source data"),
        "re-ingestion reminder: {out}"
    );
    assert!(!out.contains("@example.com") && !err.contains("@example.com"));

    // Polled through the account-wide list only: one request per round, several rounds.
    let log = sb.log();
    assert!(
        log.iter()
            .all(|r| r.path == "/v2/identity/deletestatus/list"),
        "{log:?}"
    );
    assert!(log.len() > 1, "{} polls", log.len());
    assert!(
        out.contains("12 answered by the account-wide status list"),
        "{out}"
    );

    // Appended to the same chain: each job's states in order, ending in done.
    let recs = records(&ledger);
    let st: Vec<&serde_json::Value> = recs.iter().filter(|r| r["type"] == "status").collect();
    let ids: std::collections::BTreeSet<&str> = st
        .iter()
        .map(|r| r["vendor_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 12);
    for id in ids {
        let states: Vec<&str> = st
            .iter()
            .filter(|r| r["vendor_id"] == id)
            .map(|r| r["vendor_state"].as_str().unwrap())
            .collect();
        assert_eq!(states.last(), Some(&"done"), "{id}: {states:?}");
        assert!(
            states.windows(2).all(|w| w[0] != w[1]),
            "only changes: {states:?}"
        );
    }
    let (code, out, _) = run(bin().args(["report", "--verify", "--ledger"]).arg(&ledger));
    assert_eq!(code, Some(0), "{out}");

    // Nothing left to poll: a second status sends nothing, needs no credentials, and
    // still exits 0.
    sb.clear_log();
    let (code, out, _) = run(status(&ledger).env_remove("LYTICS_API_TOKEN"));
    assert_eq!(code, Some(0), "{out}");
    assert!(sb.log().is_empty());

    // Status records do not confuse resume: the same delete again sends nothing, and the
    // chain still holds across delete, status and delete lines.
    delete_lytics(&sb, dir.path(), "users.csv", &emails(12));
    assert!(
        sb.log().is_empty(),
        "resume resent something: {:?}",
        sb.log()
    );
    let (code, out, _) = run(bin().args(["report", "--verify", "--ledger"]).arg(&ledger));
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_job_stuck_in_secondary_is_not_done_and_watch_gives_up_at_until() {
    let sb = sandbox(40);
    let dir = tempfile::tempdir().unwrap();
    let mut values = emails(3);
    values.push("stuck-forever@example.com".into());
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &values);

    let (code, out, err) = run(status(&ledger).args(["--watch", "--until", "1500ms"]));
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("jobs      4: secondary 1, done 3"), "{out}");
    assert!(out.contains("`secondary` is the final pass"), "{out}");
    assert!(
        err.contains("still not finished after --until 1s 500ms"),
        "{err}"
    );
    assert!(err.contains("Lytics secondary 1"), "{err}");

    let recs = records(&ledger);
    let last_secondary = recs
        .iter()
        .rfind(|r| r["type"] == "status" && r["vendor_state"] == "secondary")
        .expect("the stuck job is recorded");
    assert_eq!(last_secondary["state"], "pending");
}

#[test]
fn polls_ride_out_429_and_5xx_and_refused_credentials_exit_3() {
    let sb = sandbox(0);
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(3));
    sb.clear_log();
    let (code, _, err) = run(status(&ledger).env("LYTICS_API_TOKEN", "wrong-token"));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("LYTICS_API_TOKEN"), "{err}");
    assert!(
        !err.contains("wrong-token"),
        "the secret is not echoed: {err}"
    );
    assert!(
        records(&ledger).iter().all(|r| r["type"] != "status"),
        "nothing learnt, nothing recorded"
    );

    sb.push_fault(
        Some(VendorKind::Lytics),
        Fault::TooManyRequests(RetryAfter::Seconds(2)),
    );
    sb.push_fault(Some(VendorKind::Lytics), Fault::Unavailable(None));
    let (code, out, err) = run(status(&ledger).arg("--json"));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let g = &v["groups"][0];
    assert_eq!(
        (g["done"].as_u64(), g["throttled"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(g["retries"], 2);
    assert_eq!(v["exit_code"], 0);
}

#[test]
fn hightouch_requests_reach_reprocessed_and_a_failed_one_fails_the_exit_code() {
    let sb = sandbox(60);
    let dir = tempfile::tempdir().unwrap();
    let run_delete = |name: &str, values: &[String]| {
        let input = write_csv(dir.path(), name, "email", values);
        let (code, _, err) = run(bin()
            .args(["delete", "--vendor", "hightouch", "--graph", "g1"])
            .args([
                "--id-type",
                "email",
                "--column",
                "email",
                "--batch-size",
                "2",
            ])
            .args(["--yes", "--base-url", &sb.base_url(), "-i"])
            .arg(&input));
        assert_eq!(code, Some(0), "{err}");
        ledger_of(&input)
    };
    let good = run_delete("good.csv", &emails(4));
    let (code, out, err) = run(status(&good).args(["--watch", "--until", "20s"]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("jobs      2: reprocessed 2"), "{out}");
    assert!(out.contains("warehouse source tables first"), "{out}");

    let bad = run_delete("bad.csv", &["a-htfail@example.com".to_owned()]);
    let (code, out, err) = run(status(&bad).args(["--watch", "--until", "20s"]));
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("1 failed"), "{out}");
}

#[test]
fn only_429s_in_the_way_exit_4_and_the_next_status_picks_up() {
    let sb = sandbox(0);
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(1));
    sb.push_fault(
        Some(VendorKind::Lytics),
        Fault::TooManyRequests(RetryAfter::Absent),
    );
    let (code, out, err) = run(status(&ledger).args(["--max-retries", "0", "--per-job"]));
    assert_eq!(code, Some(4), "{out}\n{err}");
    assert!(out.contains("jobs      1: error 1"), "{out}");
    let (code, out, _) = run(&mut status(&ledger));
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn vendors_without_a_status_api_are_accepted_with_their_documented_delay() {
    let sb = sandbox(0);
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "ids.csv", "id", &emails(5));
    let c = cdp_purge_sandbox::Credentials::default();
    let (code, _, err) = run(bin()
        .env("CLEVERTAP_ACCOUNT_ID", &c.clevertap_account_id)
        .env("CLEVERTAP_PASSCODE", &c.clevertap_passcode)
        .args([
            "delete",
            "--vendor",
            "clevertap",
            "--id-type",
            "identity",
            "--column",
            "id",
        ])
        .args(["--yes", "--base-url", &sb.base_url(), "-i"])
        .arg(&input));
    assert_eq!(code, Some(0), "{err}");
    let ledger = ledger_of(&input);
    sb.clear_log();
    let (code, out, err) = run(&mut status(&ledger));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("CleverTap (run "), "{out}");
    assert!(
        out.contains(
            "5 identifiers accepted; no status API: CleverTap processes deletions after 24 h"
        ),
        "{out}"
    );
    assert!(sb.log().is_empty(), "nothing to poll");
    // Issue 17: until CleverTap has processed them (24 h after they were queued), nothing
    // can verify them, and both status and the report say until when.
    let when = |text: &str| {
        let at = text.find("not yet verifiable before ").expect(text) + 26;
        let t = humantime::parse_rfc3339_weak(&text[at..at + 20]).unwrap();
        t.duration_since(std::time::SystemTime::now()).unwrap()
    };
    let wait = when(&out);
    assert!(wait > std::time::Duration::from_secs(23 * 3600), "{out}");
    assert!(wait <= std::time::Duration::from_secs(24 * 3600), "{out}");
    let (_, out, _) = run(bin().args(["report", "--csv", "--ledger"]).arg(&ledger));
    assert_eq!(
        out.matches("queued (not yet verifiable before ").count(),
        5,
        "{out}"
    );
    assert!(
        when(&out) > std::time::Duration::from_secs(23 * 3600),
        "{out}"
    );
}

#[test]
fn the_ledger_header_names_the_host_and_base_url_overrides_it() {
    let first = sandbox(0);
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&first, dir.path(), "users.csv", &emails(2));
    first.clear_log();
    let second = sandbox(0);
    let (code, out, _) = run(status(&ledger)
        .args(["--base-url", &second.base_url()])
        .args(["--json", "--per-job"]));
    // The second fake never queued these IDs: 404 for each, recorded as errors.
    assert_eq!(code, Some(1), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["groups"][0]["errors"], 2);
    assert_eq!(v["groups"][0]["endpoint"], second.base_url());
    assert!(first.log().is_empty());
    assert_eq!(second.log().len(), 2);
    // Without the override: the host the delete run talked to, where the account-wide
    // list answers for both jobs in one request.
    let (code, _, _) = run(&mut status(&ledger));
    assert_eq!(code, Some(0));
    let log = first.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].path, "/v2/identity/deletestatus/list");
}

#[test]
fn ctrl_c_during_watch_exits_130_with_what_it_found_recorded() {
    let sb = sandbox(40);
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(
        &sb,
        dir.path(),
        "users.csv",
        &["stuck-1@example.com".into()],
    );
    let child = status(&ledger)
        .args(["--watch", "--interval", "30s"])
        .env("CDP_PURGE_TIME_SCALE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first round records the job's state; then the watch waits 30 s for the next.
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(&ledger)
        .unwrap()
        .contains("\"type\":\"status\"")
    {
        assert!(t0.elapsed() < Duration::from_secs(20), "no status record");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Our own child, by its id.
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "stopped at once, not after the wait"
    );
    assert_eq!(out.status.code(), Some(130));
    let (code, out, _) = run(bin().args(["report", "--verify", "--ledger"]).arg(&ledger));
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn verbose_says_what_status_asks_and_never_an_identifier_or_the_token() {
    let sb = sandbox(10_000);
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(3));
    let (code, _, plain) = run(&mut status(&ledger));
    assert_eq!(code, Some(1), "{plain}");
    assert!(!plain.contains("info:"), "{plain}");
    for v in ["-v", "-vv"] {
        let (code, out, err) = run(status(&ledger).arg(v));
        assert_eq!(code, Some(1), "{v}: {err}");
        assert!(err.contains("info: Lytics: 3 jobs of run(s)"), "{v}: {err}");
        assert!(err.contains("account-wide status list"), "{v}: {err}");
        for secret in ["@example.com", "sandbox-token"] {
            assert!(
                !err.contains(secret) && !out.contains(secret),
                "{v} printed {secret}: {err}"
            );
        }
    }
}
