//! Whole-CLI output, snapshotted: what a user sees from a few representative commands, both
//! streams and the exit code, with ports, run ids, request ids, times and rates filtered.
//!
//! A change to any of these outputs fails here (in CI too: `.ci/run` sets `INSTA_UPDATE=no`).
//! When the change is intended: `INSTA_UPDATE=always cargo test --test it cli_output`, then
//! read the diff of `tests/it/snapshots/` before committing it.

use crate::support::{Outcome, TestContext};

/// Four rows: two good emails, one invalid, one duplicate (and a blank line, skipped).
const USERS: &str = "email\na@example.com\nb@example.com\nnot-an-email\n\na@example.com\n";

fn snapshot(ctx: &TestContext, name: &str, out: &Outcome) {
    ctx.snapshot_settings()
        .bind(|| insta::assert_snapshot!(name, out.transcript()));
}

#[test]
fn vendors_table() {
    let ctx = TestContext::new();
    let out = ctx.run(ctx.cmd().arg("vendors"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    snapshot(&ctx, "vendors", &out);
}

#[test]
fn plan_text_and_json() {
    let ctx = TestContext::new();
    ctx.file("users.csv", USERS);
    let plan = || {
        let mut cmd = ctx.lytics("plan");
        cmd.args(["-i", "users.csv"]);
        cmd
    };
    let text = ctx.run(&mut plan());
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    snapshot(&ctx, "plan_text", &text);
    let json = ctx.run(plan().arg("--json"));
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan --json is JSON");
    assert_eq!(v["kept"], 2);
    snapshot(&ctx, "plan_json", &json);
}

/// `delete --sandbox` and then `report` on the ledger it left: the summary a user reads after
/// a run, and the account of it afterwards.
#[test]
fn sandbox_delete_summary_then_report() {
    let ctx = TestContext::new();
    ctx.file("users.csv", USERS);
    let delete = ctx.run(
        ctx.lytics("delete")
            .args(["--sandbox", "--yes", "-i", "users.csv"]),
    );
    assert_eq!(delete.code, Some(0), "{}", delete.stderr);
    snapshot(&ctx, "sandbox_delete", &delete);

    let ledger = crate::support::default_ledger(ctx.dir(), "users.csv");
    let report = ctx.run(
        ctx.cmd()
            .arg("report")
            .arg("--ledger")
            .arg(ledger.file_name().unwrap()),
    );
    assert_eq!(report.code, Some(0), "{}", report.stderr);
    snapshot(&ctx, "report_text", &report);
}
