//! The `unknown` outcome through the binary: an answer that proves neither a deletion nor
//! its absence (Braze's `deleted` count short of the request, a 2xx without the documented
//! body) is recorded `unknown`, exits 1, is counted in the summary and every report form,
//! and is not resent by a rerun without `--retry-failed`.

use std::path::Path;
use std::process::Command;

use cdp_purge_sandbox::{Fault, SandboxConfig, VendorKind};

use crate::support::{Outcome, TestContext, deletions, read_ledger};

fn ids_file(cx: &TestContext, name: &str, header: &str, ids: &[String]) -> std::path::PathBuf {
    let mut s = format!("{header}\n");
    for v in ids {
        s.push_str(v);
        s.push('\n');
    }
    cx.file(name, s)
}

fn braze(cx: &TestContext, input: &Path, ledger: &Path, extra: &[&str]) -> Command {
    let mut cmd = cx.cmd_with_credentials();
    cmd.args(["delete", "--vendor", "braze", "--column", "external_id"])
        .args(["--id-type", "external_id", "--instance", "iad-01", "--yes"])
        .args(["--no-breaker", "--base-url", &cx.fake().base_url()])
        .arg("--ledger")
        .arg(ledger)
        .arg("-i")
        .arg(input)
        .args(extra);
    cmd
}

fn report(cx: &TestContext, ledger: &Path, form: &[&str]) -> Outcome {
    let mut cmd = cx.cmd();
    cmd.arg("report").args(form).arg("--ledger").arg(ledger);
    cx.run(&mut cmd)
}

fn json_summary(out: &Outcome) -> serde_json::Value {
    let last = out.stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {}", out.transcript()))
}

#[test]
fn braze_short_count_and_a_countless_2xx_are_unknown_everywhere() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    // 120 identifiers: batches of 50, 50, 20. The first batch holds one identifier that
    // matches no profile (deleted 49 of 50); the second gets a 201 without its count.
    let mut values: Vec<String> = (0..120).map(|i| format!("ext-{i:04}")).collect();
    values[7] = "an-unknown-7".into();
    let input = ids_file(&cx, "a.csv", "external_id", &values);
    let ledger = cx.dir().join("braze.ledger.jsonl");
    cx.fake().push_fault(Some(VendorKind::Braze), Fault::Pass);
    cx.fake()
        .push_fault(Some(VendorKind::Braze), Fault::BareSuccess);
    let out = cx.run(&mut braze(&cx, &input, &ledger, &["--json"]));
    assert_eq!(
        out.code,
        Some(1),
        "unknown is not success: {}",
        out.transcript()
    );
    let s = json_summary(&out);
    assert_eq!(s["unknown"], 100, "{s}");
    assert_eq!(s["acknowledged"], 20, "{s}");
    assert_eq!(
        s["failed_total"], 0,
        "unknown is not counted as failed: {s}"
    );
    assert!(
        out.stderr.contains("100 have an unknown outcome"),
        "{}",
        out.stderr
    );
    // The fake applied all three requests: 49 + 50 + 20 profiles are gone.
    let applied: usize = deletions(&cx.fake().log())
        .iter()
        .filter(|r| r.applied)
        .map(|r| r.items)
        .sum();
    assert_eq!(applied, 120);

    let l = read_ledger(&ledger);
    let st = l.statuses();
    assert_eq!(st.get("unknown"), Some(&100), "{st:?}");
    assert_eq!(st.get("acknowledged"), Some(&20), "{st:?}");
    assert_eq!(st.get("not_found"), None, "{st:?}");
    let messages: Vec<String> = l
        .top_outcomes()
        .flat_map(|o| o["results"].as_array().unwrap().clone())
        .filter(|r| r["status"] == "unknown")
        .filter_map(|r| r["message"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("49 of the 50"))
            .count(),
        50
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("without a readable `deleted` count"))
            .count(),
        50
    );

    // Every report form says unknown, never deleted.
    let csv = report(&cx, &ledger, &["--csv"]);
    assert_eq!(csv.code, Some(0), "{}", csv.transcript());
    let header: Vec<&str> = csv.stdout.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "outcome").unwrap();
    let outcomes: Vec<String> = csv
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(col).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| *o == "unknown").count(), 100);
    assert_eq!(outcomes.len(), 120);
    let json = report(&cx, &ledger, &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["overall"]["outcomes"]["unknown"], 100, "{}", json.stdout);
    let text = report(&cx, &ledger, &[]);
    assert!(
        text.stdout
            .contains("20 acknowledged, 0 failed, 100 unknown"),
        "{}",
        text.stdout
    );
    // Row 9 is the eighth identifier, in the short-counted batch.
    let mut proof = cx.cmd();
    proof
        .args(["report", "--json", "--proof", "9", "--ledger"])
        .arg(&ledger);
    let p = cx.run(&mut proof);
    assert!(p.stdout.contains("\"unknown\""), "{}", p.transcript());

    // `status` has nothing to follow for them and does not call them proven.
    let mut st = cx.cmd_with_credentials();
    st.args(["status", "--base-url", &cx.fake().base_url(), "--ledger"])
        .arg(&ledger);
    let so = cx.run(&mut st);
    assert_eq!(so.code, Some(1), "{}", so.transcript());
    assert!(
        so.stdout
            .contains("100 identifiers have an unknown outcome"),
        "{}",
        so.stdout
    );
    // A rerun does not count them as done and does not resend them; it says why, and
    // exits 1 still.
    cx.fake().clear_log();
    let again = cx.run(&mut braze(&cx, &input, &ledger, &[]));
    assert_eq!(again.code, Some(1), "{}", again.transcript());
    assert!(deletions(&cx.fake().log()).is_empty(), "nothing resent");
    assert!(
        again.stdout.contains("unknown before 100"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stderr
            .contains("cannot prove what the first request did"),
        "{}",
        again.stderr
    );
}

#[test]
fn clevertap_2xx_without_a_status_is_unknown() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let values: Vec<String> = (0..150).map(|i| format!("client-{i:04}")).collect();
    let input = ids_file(&cx, "c.csv", "customer_id", &values);
    let ledger = cx.dir().join("ct.ledger.jsonl");
    cx.fake()
        .push_fault(Some(VendorKind::Clevertap), Fault::BareSuccess);
    let mut cmd = cx.cmd_with_credentials();
    cmd.args(["delete", "--vendor", "clevertap", "--id-kind", "identity"])
        .args(["--column", "customer_id", "--yes", "--json"])
        .args(["--base-url", &cx.fake().base_url()])
        .arg("--ledger")
        .arg(&ledger)
        .arg("-i")
        .arg(&input);
    let out = cx.run(&mut cmd);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    let s = json_summary(&out);
    assert_eq!(
        (s["unknown"].as_u64(), s["acknowledged"].as_u64()),
        (Some(100), Some(50)),
        "{s}"
    );
    let st = read_ledger(&ledger).statuses();
    assert_eq!(st.get("unknown"), Some(&100), "{st:?}");
    assert_eq!(st.get("acknowledged"), Some(&50), "{st:?}");
}
