//! Segment regulations, Mixpanel and Braze through the binary against their fakes: batching
//! at each cap, each quota never exceeded in any window (30 days, 1 s, a minute scaled
//! down; tests/it/quota_unscaled.rs runs the real sizes), retries and per-item classes,
//! status, and the 30-day refusal.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use cdp_purge_sandbox::{Fault, Quota, Rate, RequestRecord, SandboxConfig, VendorKind};

use crate::support::{Fake, Outcome, TestContext, deletions, read_ledger};

fn ids_file(cx: &TestContext, name: &str, header: &str, ids: &[String]) -> std::path::PathBuf {
    let mut s = format!("{header}\n");
    for v in ids {
        s.push_str(v);
        s.push('\n');
    }
    cx.file(name, s)
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:06}")).collect()
}

fn delete(cx: &TestContext, vendor: &[&str], column: &str, input: &Path, ledger: &Path) -> Command {
    let mut cmd = cx.cmd_with_credentials();
    cmd.arg("delete")
        .args(["--vendor"])
        .args(vendor)
        .args([
            "--column",
            column,
            "--yes",
            "--base-url",
            &cx.fake().base_url(),
        ])
        .arg("--ledger")
        .arg(ledger)
        .arg("-i")
        .arg(input);
    cmd
}

fn status(cx: &TestContext, ledger: &Path) -> Outcome {
    let mut cmd = cx.cmd_with_credentials();
    cmd.args([
        "status",
        "--json",
        "--base-url",
        &cx.fake().base_url(),
        "--ledger",
    ])
    .arg(ledger);
    cx.run(&mut cmd)
}

/// The most Mixpanel calls the fake answered (429s aside) in any second.
fn mixpanel_peak(fake: &Fake) -> u64 {
    peak_of(&fake.log())
}

/// The most Mixpanel requests the fake accepted within one second (a 429 was not applied).
fn peak_of(log: &[RequestRecord]) -> u64 {
    let answered: Vec<_> = log
        .iter()
        .filter(|r| r.status != Some(429))
        .cloned()
        .collect();
    cdp_purge_sandbox::peak(
        &answered,
        VendorKind::Mixpanel,
        Duration::from_secs(1),
        false,
    )
}

/// The instant a refusal says enough of the window frees up.
pub fn frees_up_at(stderr: &str) -> SystemTime {
    stderr
        .split("frees up at ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| humantime::parse_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("no time in: {stderr}"))
}

fn items_of(fake: &Fake) -> Vec<usize> {
    deletions(&fake.log()).iter().map(|r| r.items).collect()
}

#[test]
fn segment_regs_batches_5000_fills_the_30_day_quota_exactly_then_refuses_with_the_date() {
    // The 110,000 of 30 days scaled to 11,000 on both sides (the fake's quota and the
    // account's terms), so the run stays small; the window stays 30 days.
    let thirty_days = Duration::from_secs(30 * 86_400);
    let terms = Rate {
        count: 11_000,
        per: thirty_days,
    };
    let cx = TestContext::with_fake(
        SandboxConfig {
            segment_regs_state_step: Duration::ZERO,
            ..SandboxConfig::default()
        }
        .with_quota(
            VendorKind::SegmentRegs,
            Quota {
                items: Some(terms),
                ..Quota::NONE
            },
        ),
    );
    let ledger = cx.dir().join("regs.ledger.jsonl");
    let run = |name: &str, n: usize| {
        let input = ids_file(&cx, name, "user_id", &ids(name, n));
        let mut cmd = delete(
            &cx,
            &["segment-regs", "--id-type", "user_id"],
            "user_id",
            &input,
            &ledger,
        );
        cmd.args(["--max-per-window", "11000/30d"]);
        cx.run(&mut cmd)
    };
    let out = run("a", 10_700);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(items_of(cx.fake()), [5000, 5000, 700], "batches at the cap");
    // Every request was a regulation the fake accepted: none past the 30-day quota.
    assert!(cx.fake().log().iter().all(|r| r.status == Some(200)));
    let l = read_ledger(&ledger);
    assert_eq!(l.statuses().get("acknowledged"), Some(&10_700));

    // 300 more fit exactly; 301 would not, and nothing is sent.
    let before = SystemTime::now();
    let out = run("b", 301);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("10700 were sent in the window"),
        "{}",
        out.stderr
    );
    assert_eq!(
        deletions(&cx.fake().log()).len(),
        3,
        "the refused run sent nothing"
    );
    let at = frees_up_at(&out.stderr);
    assert!(at <= before + thirty_days && at + Duration::from_secs(300) >= before + thirty_days);

    let out = run("c", 300);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        items_of(cx.fake()).iter().sum::<usize>(),
        11_000,
        "exactly the quota, and the fake refused none"
    );
    assert!(cx.fake().log().iter().all(|r| r.status == Some(200)));

    // Every regulation is FINISHED at once (step 0): status records it done.
    let st = status(&cx, &ledger);
    assert_eq!(st.code, Some(0), "{}\n{}", st.stdout, st.stderr);
    let l = read_ledger(&ledger);
    let states: Vec<&str> = l
        .of_type("status")
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert!(
        !states.is_empty() && states.iter().all(|s| *s == "done"),
        "{states:?}"
    );
}

#[test]
fn segment_regs_default_terms_are_the_documented_110000_per_30_days() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let input = ids_file(&cx, "a.csv", "user_id", &ids("u", 3));
    let mut cmd = cx.cmd_with_credentials();
    cmd.args([
        "plan",
        "--vendor",
        "segment-regs",
        "--id-type",
        "user_id",
        "--column",
        "user_id",
        "-i",
    ])
    .arg(&input);
    let out = cx.run(&mut cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("window       3 of 110000 per 30 days identifiers"),
        "{}",
        out.stdout
    );
}

#[test]
fn segment_regs_statuses_that_prove_nothing_are_not_done() {
    let cx = TestContext::with_fake(SandboxConfig {
        segment_regs_state_step: Duration::ZERO,
        ..SandboxConfig::default()
    });
    let ledger = cx.dir().join("regs.ledger.jsonl");
    // One userId per regulation, each ending another way.
    let input = ids_file(
        &cx,
        "a.csv",
        "user_id",
        &[
            "ok-1".into(),
            "a-partial-1".into(),
            "segfail-1".into(),
            "oddstatus-1".into(),
        ],
    );
    // No --id-type: userIds are all Segment regulations take, so it is the default.
    let mut cmd = delete(&cx, &["segment-regs"], "user_id", &input, &ledger);
    cmd.args(["--batch-size", "1", "--regulation-type", "delete_only"]);
    let out = cx.run(&mut cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let st = status(&cx, &ledger);
    assert_ne!(
        st.code,
        Some(0),
        "failed and unknown regulations are not success"
    );
    let l = read_ledger(&ledger);
    let mut by_word: Vec<(String, String)> = l
        .of_type("status")
        .map(|s| {
            (
                s["vendor_state"].as_str().unwrap_or("-").to_owned(),
                s["state"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    by_word.sort();
    by_word.dedup();
    assert!(
        by_word.contains(&("FINISHED".into(), "done".into())),
        "{by_word:?}"
    );
    assert!(
        by_word.contains(&("PARTIAL_SUCCESS".into(), "failed".into())),
        "{by_word:?}"
    );
    assert!(
        by_word.contains(&("FAILED".into(), "failed".into())),
        "{by_word:?}"
    );
    assert!(
        by_word.iter().any(|(w, s)| s == "error" && w != "ARCHIVED"),
        "an undocumented overallStatus is recorded as unknown: {by_word:?}"
    );
}

#[test]
fn mixpanel_paces_one_request_a_second_and_takes_a_409_as_already_pending() {
    let cx = TestContext::with_fake(SandboxConfig {
        mixpanel_state_step: Duration::from_secs(600),
        ..SandboxConfig::default()
    });
    let _serial = crate::support::serial();
    let first = ids_file(&cx, "a.csv", "distinct_id", &ids("d", 2 * 1999 + 2));
    let ledger = cx.dir().join("mp.ledger.jsonl");
    let out = cx.run(&mut delete(
        &cx,
        &["mixpanel", "--id-type", "distinct_id"],
        "distinct_id",
        &first,
        &ledger,
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let log = cx.fake().log();
    let accepted: Vec<_> = log.iter().filter(|r| r.applied).cloned().collect();
    let mut sizes: Vec<usize> = accepted.iter().map(|r| r.items).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [2, 1999, 1999]);
    // Never two GDPR calls accepted in one second; a 429 (the fake's own refusal, if the
    // arrivals bunched on a loaded machine) was retried and is not a deletion.
    assert_eq!(
        cdp_purge_sandbox::peak(
            &accepted,
            VendorKind::Mixpanel,
            Duration::from_secs(1),
            false
        ),
        1
    );
    assert!(log.iter().all(|r| matches!(r.status, Some(201 | 429))));

    // d000000 still has a task running: the new request is refused with 409 naming it,
    // split, and that id recorded as already done; the other goes through.
    let second = ids_file(
        &cx,
        "b.csv",
        "distinct_id",
        &["d000000".into(), "new-1".into()],
    );
    let ledger2 = cx.dir().join("mp2.ledger.jsonl");
    let out = cx.run(&mut delete(
        &cx,
        &["mixpanel", "--id-type", "distinct_id"],
        "distinct_id",
        &second,
        &ledger2,
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let l = read_ledger(&ledger2);
    let s = l.statuses();
    assert_eq!(
        (s.get("already_done"), s.get("acknowledged")),
        (Some(&1), Some(&1)),
        "{s:?}"
    );
    let log = cx.fake().log();
    assert!(log.iter().any(|r| r.status == Some(409)));
    assert_eq!(mixpanel_peak(cx.fake()), 1);

    // The fake's clock runs past the tasks' states: status finds them SUCCESS, at 1/s too.
    cx.fake().advance(Duration::from_secs(3600));
    let before_status = cx.fake().log().len();
    let st = status(&cx, &ledger);
    assert_eq!(st.code, Some(0), "{}\n{}", st.stdout, st.stderr);
    let l = read_ledger(&ledger);
    assert!(
        l.of_type("status")
            .all(|s| s["state"] == "done" && s["vendor_state"] == "SUCCESS")
    );
    // Only the status run's own requests: the fake's clock was moved an hour on, so the
    // last deletion and the first status check are an hour apart for its quota, whatever
    // the wall clock says.
    let checks: Vec<_> = cx.fake().log().split_off(before_status);
    assert!(checks.iter().all(|r| r.method == "GET"), "{checks:?}");
    assert_eq!(peak_of(&checks), 1);
}

#[test]
fn one_request_a_second_holds_at_arrival_though_the_first_request_opened_the_connection() {
    // The fake reads a new connection's first request 300 ms late (a TLS handshake in
    // production). Spaced by departures alone, the second request reached it 0.7 s after
    // the first and drew a 429. Nothing here depends on how fast the machine is: the
    // second may only leave after the first's answer, so after the first arrived.
    let cx = TestContext::with_fake(SandboxConfig {
        handshake: Duration::from_millis(300),
        mixpanel_state_step: Duration::from_secs(600),
        ..SandboxConfig::default()
    });
    let _serial = crate::support::serial();
    let input = ids_file(&cx, "h.csv", "distinct_id", &ids("h", 3));
    let ledger = cx.dir().join("h.ledger.jsonl");
    let mut cmd = delete(
        &cx,
        &["mixpanel", "--id-type", "distinct_id"],
        "distinct_id",
        &input,
        &ledger,
    );
    let out = cx.run(cmd.args(["--batch-size", "1"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let log = cx.fake().log();
    let refused = log.iter().filter(|r| r.status == Some(429)).count();
    assert_eq!(refused, 0, "{log:?}");
    assert_eq!(log.iter().filter(|r| r.applied).count(), 3, "{log:?}");
    // Arrival times as the fake logged them: never two in one second.
    assert_eq!(peak_of(&log), 1, "{log:?}");
}

#[test]
fn mixpanel_retries_a_503_and_keeps_the_project_token_out_of_the_ledger() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    cx.fake()
        .push_fault(Some(VendorKind::Mixpanel), Fault::Unavailable(None));
    let input = ids_file(&cx, "a.csv", "distinct_id", &ids("d", 3));
    let ledger = cx.dir().join("mp.ledger.jsonl");
    // No --id-type: distinct_ids are all Mixpanel's deletions take, so it is the default.
    let out = cx.run(&mut delete(
        &cx,
        &["mixpanel"],
        "distinct_id",
        &input,
        &ledger,
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let log = deletions(&cx.fake().log()).len();
    assert_eq!(log, 2, "one 503, then the retry");
    // Another type is still refused before anything is sent.
    let refused = cx.run(&mut delete(
        &cx,
        &["mixpanel", "--id-type", "email"],
        "distinct_id",
        &input,
        &cx.dir().join("other.ledger.jsonl"),
    ));
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--id-type distinct_id"),
        "{}",
        refused.stderr
    );
    assert_eq!(deletions(&cx.fake().log()).len(), 2, "nothing more sent");
    let text = std::fs::read_to_string(&ledger).unwrap();
    let project = &cx.fake().credentials().mixpanel_project_token;
    assert!(!text.contains(project.as_str()) && !out.stderr.contains(project.as_str()));
    assert_eq!(
        read_ledger(&ledger).statuses().get("acknowledged"),
        Some(&3)
    );
}

#[test]
fn braze_batches_50_of_one_type_keeps_its_window_and_never_over_reads_the_count() {
    // A minute scaled down to two seconds on both sides: the fake allows 3 requests per 2 s
    // and the client is told the same terms.
    let cx = TestContext::with_fake(SandboxConfig::default().with_quota(
        VendorKind::Braze,
        Quota {
            requests: Some(Rate {
                count: 3,
                per: Duration::from_secs(2),
            }),
            ..Quota::NONE
        },
    ));
    let _serial = crate::support::serial();
    let mut values = ids("ext-", 300);
    // Two identifiers match no profile: their batch's count falls short.
    values[110] = "an-unknown-1".into();
    values[111] = "an-unknown-2".into();
    let input = ids_file(&cx, "a.csv", "external_id", &values);
    let ledger = cx.dir().join("braze.ledger.jsonl");
    let braze_run = |ledger: &Path, extra: &[&str]| {
        let mut cmd = delete(&cx, &["braze"], "external_id", &input, ledger);
        cmd.args(["--id-type", "external_id", "--instance", "iad-01"])
            .args(["--max-per-window", "3/2s"])
            .args(extra);
        cx.run(&mut cmd)
    };
    let out = braze_run(&ledger, &[]);
    assert_eq!(
        out.code,
        Some(1),
        "the ambiguous batch is not a success: {}",
        out.stderr
    );
    let log = cx.fake().log();
    let accepted: Vec<_> = log.iter().filter(|r| r.applied).cloned().collect();
    assert_eq!(
        accepted.iter().map(|r| r.items).collect::<Vec<_>>(),
        [50; 6]
    );
    assert!(
        cdp_purge_sandbox::peak(&accepted, VendorKind::Braze, Duration::from_secs(2), false) <= 3
    );
    let l = read_ledger(&ledger);
    let s = l.statuses();
    assert_eq!(s.get("acknowledged"), Some(&250), "{s:?}");
    assert_eq!(s.get("unknown"), Some(&50), "{s:?}");
    let short = l
        .top_outcomes()
        .flat_map(|o| o["results"].as_array().unwrap().clone())
        .filter(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.contains("48 of the 50"))
        })
        .count();
    assert_eq!(short, 50);

    // Again: everything is gone, so Braze deletes nothing and says so.
    let ledger2 = cx.dir().join("braze2.ledger.jsonl");
    let out = braze_run(&ledger2, &["--no-breaker"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        read_ledger(&ledger2).statuses().get("not_found"),
        Some(&300)
    );
}

#[test]
fn braze_by_email_sends_one_address_a_request_so_each_count_proves_its_address() {
    // Braze counts profiles, and one address can name several: two addresses that together
    // deleted 2 profiles may be one shared address and one unmatched. Only alone is a count
    // proof of its address.
    let cx = TestContext::with_fake(SandboxConfig::default());
    let values: Vec<String> = ["a-shared@x.com", "b@x.com", "c-unknown@x.com", "d@x.com"]
        .map(String::from)
        .into();
    let input = ids_file(&cx, "a.csv", "email", &values);
    let run = |ledger: &Path, extra: &[&str]| {
        let mut cmd = delete(&cx, &["braze"], "email", &input, ledger);
        cmd.args(["--id-type", "email", "--instance", "iad-01", "--no-breaker"])
            .args(extra);
        cx.run(&mut cmd)
    };
    // A larger batch would prove nothing: refused before anything is sent.
    let refused = run(&cx.dir().join("wide.ledger.jsonl"), &["--batch-size", "2"]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--batch-size 2") && refused.stderr.contains("several profiles"),
        "{}",
        refused.stderr
    );
    assert!(deletions(&cx.fake().log()).is_empty(), "nothing sent");

    let ledger = cx.dir().join("braze.ledger.jsonl");
    let out = run(&ledger, &[]);
    // The unmatched address is not deleted, and the run says so.
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let log = cx.fake().log();
    let sent = deletions(&log);
    assert_eq!(sent.iter().map(|r| r.items).collect::<Vec<_>>(), [1; 4]);
    let s = read_ledger(&ledger).statuses();
    assert_eq!(s.get("acknowledged"), Some(&3), "{s:?}");
    assert_eq!(s.get("not_found"), Some(&1), "{s:?}");
    assert!(!std::fs::read_to_string(&ledger).unwrap().contains("@x.com"));
}

#[test]
fn braze_refused_key_is_fatal_and_a_wrong_instance_is_not_success() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let input = ids_file(&cx, "a.csv", "email", &["a@x.com".into()]);
    let ledger = cx.dir().join("braze.ledger.jsonl");
    let mut cmd = delete(&cx, &["braze"], "email", &input, &ledger);
    cmd.args(["--id-type", "email", "--instance", "fra-02"])
        .env("BRAZE_API_KEY", "wrong");
    let out = cx.run(&mut cmd);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("BRAZE_API_KEY") && !out.stderr.contains("wrong"));
    // A 404 (a wrong URL, as Braze documents it) stops the run instead of counting as done.
    let mut cmd = cx.cmd_with_credentials();
    cmd.args([
        "delete",
        "--vendor",
        "braze",
        "--id-type",
        "email",
        "--column",
        "email",
    ])
    .args(["--yes", "--ledger"])
    .arg(cx.dir().join("b2.ledger.jsonl"))
    .args([
        "--base-url",
        &format!("{}/nowhere", cx.fake().base_url()),
        "-i",
    ])
    .arg(&input);
    let out = cx.run(&mut cmd);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}
