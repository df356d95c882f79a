//! One test per bug reported in the issues' "Why" sections, each the smallest run of the real
//! binary that showed it, named `issueN_…` for the issue that reported it. The broader
//! scenarios around each bug stay with their suites (`trust` for issue 11, `hostile_*` for
//! issue 12, `audit::truth_*` for issue 13); this file is the index a reader checks first.
//!
//! Issue 14's "Why" reports figures, not bugs (pacing ratios, CPU, memory): they are
//! benchmarks (BENCHMARKS.md), and its window checks are in `hostile_faults`.

use cdp_purge_sandbox::SandboxConfig;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    Fake, Outcome, TestContext, default_ledger, mparticle_args, sandbox_credentials,
};

/// Two emails to delete, one invalid row, one duplicate.
const USERS: &str = "email\na@example.com\nb@example.com\nnot-an-email\na@example.com\n";

/// Every value the fake applied a deletion for, in order of arrival.
fn applied(fake: &Fake) -> Vec<String> {
    let mut v: Vec<String> = fake
        .log()
        .iter()
        .filter(|r| r.applied)
        .flat_map(|r| r.values.clone())
        .collect();
    v.sort();
    v
}

const BOTH: [&str; 2] = ["a@example.com", "b@example.com"];

/// Issue 11: `delete --sandbox` and then the same list against the real vendor printed
/// "resuming: 1 of 1 batches already done", sent 0 and exited 0.
#[test]
fn issue11_a_sandbox_rehearsal_does_not_turn_the_real_run_into_a_no_op() {
    let ctx = TestContext::with_fake(SandboxConfig::default());
    let input = ctx.file("users.csv", USERS);
    let rehearsal = ctx.run(
        ctx.lytics("delete")
            .args(["--sandbox", "--yes", "-i"])
            .arg(&input),
    );
    assert_eq!(rehearsal.code, Some(0), "{}", rehearsal.stderr);
    assert!(
        ctx.fake().log().is_empty(),
        "the rehearsal reached the real fake"
    );
    let real = ctx.run(&mut ctx.lytics_delete(&input));
    assert_eq!(real.code, Some(0), "{}", real.stderr);
    assert_eq!(applied(ctx.fake()), BOTH, "{}", real.stderr);
}

/// Issue 11: `-i <(cat list.csv)` reported "completed" with 0 of 500 sent, exit 0.
#[test]
fn issue11_process_substitution_input_delivers_every_row() {
    let ctx = TestContext::with_fake(SandboxConfig::default());
    ctx.file("users.csv", USERS);
    let out = ctx.run(&mut ctx.shell(
        r#""$CDP_PURGE" delete --vendor lytics --id-type email --column email --yes \
           --base-url "$1" -i <(cat users.csv)"#,
        &[&ctx.fake().base_url()],
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(applied(ctx.fake()), BOTH, "{}", out.stderr);
}

/// Issue 11: `--rejects` naming the input file wiped it.
#[test]
fn issue11_rejects_naming_the_input_is_refused_and_the_input_kept() {
    let ctx = TestContext::new();
    let input = ctx.file("users.csv", USERS);
    let out = ctx.run(ctx.lytics("delete").args([
        "--sandbox",
        "--yes",
        "-i",
        "users.csv",
        "--rejects",
        "users.csv",
    ]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--rejects"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(input).unwrap(), USERS);
}

/// Issue 11: a full disk on the first run left a 0-byte key file, and every later run
/// stopped with "not a ledger key".
#[test]
fn issue11_a_full_disk_on_the_first_run_leaves_no_key_that_blocks_the_next() {
    let ctx = TestContext::with_fake(SandboxConfig::default());
    let input = ctx.file("users.csv", USERS);
    let ledger = ctx.dir().join("run.ledger.jsonl");
    let mut full = ctx.lytics_delete(&input);
    full.arg("--ledger").arg(&ledger);
    crate::support::with_disk_full_at(&mut full, 0);
    let first = ctx.run(&mut full);
    assert_eq!(first.code, Some(2), "{}", first.stderr);
    assert!(ctx.fake().log().is_empty(), "sent without a ledger");
    let key = cdp_purge::ledger::key_path(&ledger);
    assert!(
        !key.exists(),
        "a key file was left behind by a failed write"
    );

    let second = ctx.run(ctx.lytics_delete(&input).arg("--ledger").arg(&ledger));
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(applied(ctx.fake()), BOTH);
}

/// Issue 12: a UTF-16 file was never named as such ("no column \"email\"; its columns are
/// \"��\0e\0m…\"").
#[test]
fn issue12_utf16_input_is_named_as_utf16() {
    let ctx = TestContext::new();
    let mut bytes = vec![0xff, 0xfe];
    for u in "email\na@example.com\n".encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    ctx.file("users.csv", bytes);
    let out = ctx.run(ctx.lytics("plan").args(["-i", "users.csv"]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("UTF-16"), "{}", out.stderr);
    assert!(
        !out.stderr.contains('\0'),
        "raw UTF-16 echoed: {}",
        out.stderr
    );
}

/// Issue 12: `cdp-purge … 2>&1 | head -1` exited 101 ("failed printing to stderr"), even
/// after a fully completed deletion.
#[test]
fn issue12_a_closed_stderr_does_not_exit_101() {
    let ctx = TestContext::new();
    ctx.file("users.csv", USERS);
    let out = ctx.run(&mut ctx.shell(
        r#""$CDP_PURGE" delete --sandbox --vendor lytics --id-type email --yes -i users.csv \
           2>&1 | head -1 >/dev/null; exit "${PIPESTATUS[0]}""#,
        &[],
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The deletion completed: its ledger records both identifiers acknowledged.
    let ledger = crate::support::read_ledger(&default_ledger(ctx.dir(), "users.csv"));
    assert_eq!(ledger.acked_hmacs().len(), 2);
}

/// Issue 12: a 0-byte CSV ended "completed", exit 0: a silent no-op in a cron job.
#[test]
fn issue12_an_empty_csv_is_not_a_silent_success() {
    let ctx = TestContext::new();
    ctx.file("empty.csv", "");
    let out = ctx.run(
        ctx.lytics("delete")
            .args(["--sandbox", "--yes", "-i", "empty.csv"]),
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("no rows read"), "{}", out.stderr);
}

/// Issue 12: `-0` was accepted as an mParticle MPID.
#[test]
fn issue12_negative_zero_is_not_an_mpid() {
    let ctx = TestContext::new();
    ctx.file("mpids.csv", "mpid\n-0\n7000000000000001\n");
    let mut cmd = ctx.cmd();
    cmd.arg("plan");
    mparticle_args(&mut cmd, "production", "mpid", "mpid").args(["-i", "mpids.csv", "--json"]);
    let out = ctx.run(&mut cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["kept"], 1, "{plan}");
    assert_eq!(plan["rejected"].as_object().unwrap().len(), 1, "{plan}");
}

/// Issue 13: mParticle `status --verify` counted any 404 (a wrong workspace, a wrong base
/// URL) as proof of deletion and wrote "deleted" into the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue13_mparticle_verify_never_counts_a_bare_404_as_deleted() {
    let ctx = TestContext::new();
    ctx.file("mpids.csv", "mpid\n7000000000000001\n7000000000000002\n");
    let mut delete = ctx.cmd();
    delete.args([
        "delete",
        "--sandbox",
        "--yes",
        "--ledger-include-identifiers",
    ]);
    mparticle_args(&mut delete, "production", "mpid", "mpid").args(["-i", "mpids.csv"]);
    let out = blocking(delete).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let ledger = default_ledger(ctx.dir(), "mpids.csv");

    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "tok", "expires_in": 28800, "token_type": "Bearer"
        })))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let mut verify = ctx.cmd();
    sandbox_credentials(&mut verify)
        .env("MPARTICLE_CLIENT_ID", "cid")
        .env("MPARTICLE_CLIENT_SECRET", "csecret")
        .args(["status", "--verify", "--org-id", "11", "--account-id", "22"])
        .args(["--workspace-id", "33", "--auth-url"])
        .arg(format!("{}/oauth/token", server.uri()))
        .args(["--base-url", &server.uri(), "--ledger"])
        .arg(&ledger);
    let out = blocking(verify).await;
    assert_ne!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let text = std::fs::read_to_string(&ledger).unwrap();
    let deleted = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["type"] == "status" && r["state"] == "deleted")
        .count();
    assert_eq!(deleted, 0, "a bare 404 was recorded as deleted");
}

/// Run `cmd` off the runtime's workers, which serve the mock server meanwhile.
async fn blocking(mut cmd: std::process::Command) -> Outcome {
    tokio::task::spawn_blocking(move || Outcome::of(&mut cmd))
        .await
        .unwrap()
}

/// Issue 13: a Hightouch base URL ending in `/api/v1` (the OpenAPI's server value) was
/// doubled into `/api/v1/api/v1`, which answers 404 for every request. Now it is refused
/// before any request, with the URL to use instead.
#[test]
fn issue13_a_hightouch_base_url_ending_in_api_v1_is_not_doubled() {
    let ctx = TestContext::with_fake(SandboxConfig::default());
    let input = ctx.file("users.csv", USERS);
    let root = ctx.fake().base_url();
    let out = ctx.run(
        ctx.cmd_with_credentials()
            .args(["delete", "--vendor", "hightouch", "--graph", "g1"])
            .args(["--id-type", "email", "--column", "email"])
            .args(["--source-data-deleted", "--yes", "--base-url"])
            .arg(format!("{root}/api/v1"))
            .arg("-i")
            .arg(&input),
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("--base-url {root}\n")),
        "{}",
        out.stderr
    );
    assert!(ctx.fake().log().is_empty(), "requests were sent");
}
