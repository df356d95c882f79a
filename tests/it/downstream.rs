//! Amplitude, Iterable and PostHog through the binary, against their fakes: batching at the
//! documented cap, the quota in every window, retries and per-item classes, status from the
//! vendor's own lists; then a group over one CSV with several identifier columns, which
//! fans out to every target and resumes per target after SIGKILL.

use std::path::Path;
use std::time::{Duration, Instant};

use cdp_purge_sandbox::{Fault, RetryAfter, SandboxConfig, VendorKind, peak};

use crate::support::*;

/// Deletion requests (not status lookups) the fake received for `vendor`.
fn deletions_of(fake: &Fake, vendor: VendorKind) -> Vec<cdp_purge_sandbox::RequestRecord> {
    fake.log()
        .into_iter()
        .filter(|r| r.vendor == Some(vendor) && r.method == "POST")
        .collect()
}

fn delete(ctx: &TestContext, args: &[&str], input: &Path) -> Outcome {
    let mut cmd = ctx.cmd_with_credentials();
    cmd.arg("delete")
        .args(args)
        .args(["--yes", "--base-url", &ctx.fake().base_url()])
        .arg(input);
    ctx.run(&mut cmd)
}

fn status(ctx: &TestContext, ledger: &Path) -> Outcome {
    let mut cmd = ctx.cmd_with_credentials();
    cmd.args(["status", "--ledger"]).arg(ledger);
    ctx.run(&mut cmd)
}

fn ledger_of(ctx: &TestContext, vendor: &str) -> std::path::PathBuf {
    let mut found: Vec<_> = std::fs::read_dir(ctx.dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.contains(&format!(".ledger.{vendor}-")) && n.ends_with(".jsonl")
        })
        .collect();
    assert_eq!(found.len(), 1, "one {vendor} ledger in {:?}", ctx.dir());
    found.remove(0)
}

#[test]
fn amplitude_sends_100_per_request_at_one_per_second_and_is_done_only_when_the_job_is() {
    let _serial = serial();
    let ctx = TestContext::with_fake(SandboxConfig {
        amplitude_day: Duration::from_secs(3600),
        ..SandboxConfig::default()
    });
    let mut csv = String::from("user_id\n");
    for i in 0..201 {
        csv.push_str(&format!("user-{i}\n"));
    }
    csv.push_str("unknown-7\n");
    let input = ctx.file("users.csv", csv);
    let out = delete(
        &ctx,
        &[
            "--vendor",
            "amplitude",
            "--id-type",
            "user_id",
            "--column",
            "user_id",
        ],
        &input,
    );
    // The unknown user is not found: that is a failure for its row (exit 1), not the run's.
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    let sent = deletions_of(ctx.fake(), VendorKind::Amplitude);
    let shown: Vec<_> = sent.iter().map(|r| (r.status, r.items)).collect();
    let applied: Vec<_> = sent.iter().filter(|r| r.applied).cloned().collect();
    assert_eq!(
        applied.len(),
        3,
        "202 users in 3 requests of at most 100: {shown:?}"
    );
    assert!(sent.iter().all(|r| r.items <= 100));
    // What Amplitude took never exceeded 1 a second. The run's first request opens the
    // connection and can reach the fake late enough that the second, paced a second after
    // it left, arrives a little under a second after it: that one is refused (429), and
    // the pacer widens its margin, so it happens at most once.
    assert_eq!(
        peak(
            &applied,
            VendorKind::Amplitude,
            Duration::from_secs(1),
            false
        ),
        1
    );
    assert!(quota_refusals(&sent) <= 1, "{shown:?}");
    let ledger = ledger_of(&ctx, "amplitude");
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert!(
        text.contains("not_found"),
        "the unknown user is recorded not found"
    );
    assert!(!text.contains("user-1"), "no identifier in the ledger");

    // The job is staged: status says pending (exit 1: not finished).
    let s = status(&ctx, &ledger);
    assert!(s.stdout.contains("staging"), "{}", s.transcript());
    assert_ne!(s.code, Some(0));
    // Three days on it runs (submitted), still not done.
    ctx.fake().advance(Duration::from_secs(3 * 3600));
    std::thread::sleep(Duration::from_millis(1100));
    let s = status(&ctx, &ledger);
    assert!(s.stdout.contains("submitted"), "{}", s.transcript());
    assert_ne!(s.code, Some(0));
    // Once the backups are gone the job is done, and only then.
    ctx.fake().advance(Duration::from_secs(6 * 3600));
    std::thread::sleep(Duration::from_millis(1100));
    let s = status(&ctx, &ledger);
    assert!(s.stdout.contains("done"), "{}", s.transcript());
    assert_eq!(s.code, Some(0), "{}", s.transcript());
    let mut report = ctx.cmd();
    report.args(["report", "--csv", "--ledger"]).arg(&ledger);
    let r = ctx.run(&mut report);
    assert_eq!(
        r.stdout.lines().filter(|l| l.contains(",done,")).count(),
        201,
        "{}",
        r.stdout
    );
}

#[test]
fn iterable_forgets_one_per_request_within_3_per_second_and_proves_it_by_hash() {
    let _serial = serial();
    let ctx = TestContext::with_fake(SandboxConfig {
        iterable_forget_delay: Duration::from_secs(600),
        ..SandboxConfig::default()
    });
    let mut csv = String::from("email\n");
    for i in 0..8 {
        csv.push_str(&format!("Person{i}@Example.com\n"));
    }
    let input = ctx.file("list.csv", csv);
    // One 429 with Retry-After and one 503: retried, nothing lost.
    ctx.fake().push_fault(
        Some(VendorKind::Iterable),
        Fault::TooManyRequests(RetryAfter::Seconds(1)),
    );
    ctx.fake()
        .push_fault(Some(VendorKind::Iterable), Fault::Unavailable(None));
    let out = delete(
        &ctx,
        &[
            "--vendor",
            "iterable",
            "--id-type",
            "email",
            "--column",
            "email",
        ],
        &input,
    );
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let sent = deletions_of(ctx.fake(), VendorKind::Iterable);
    assert!(sent.iter().all(|r| r.items == 1));
    assert_eq!(sent.iter().filter(|r| r.applied).count(), 8);
    assert!(
        peak(
            &ctx.fake().log(),
            VendorKind::Iterable,
            Duration::from_secs(1),
            false
        ) <= 3
    );
    let ledger = ledger_of(&ctx, "iterable");
    let text = std::fs::read_to_string(&ledger).unwrap().to_lowercase();
    assert!(!text.contains("example.com"), "no identifier in the ledger");

    // Not yet in the forgotten list: pending, never done.
    let s = status(&ctx, &ledger);
    assert!(
        s.stdout.contains("not in the list yet"),
        "{}",
        s.transcript()
    );
    assert_ne!(s.code, Some(0));
    ctx.fake().advance(Duration::from_secs(600));
    let s = status(&ctx, &ledger);
    assert!(s.stdout.contains("forgotten 8"), "{}", s.transcript());
    assert_eq!(s.code, Some(0), "{}", s.transcript());
}

/// Iterable by userId, from a `user_id` column.
const ITERABLE_BY_USER_ID: &[&str] = &[
    "--vendor",
    "iterable",
    "--id-type",
    "user_id",
    "--column",
    "user_id",
];

#[test]
fn iterable_userid_project_is_verified_through_the_documented_emails_list() {
    // A userID-based project: its forgotten IDs come back hashed in the one list the
    // OpenAPI documents (`emails`), as the support page says ("the email address or ID").
    let ctx = TestContext::with_fake(SandboxConfig {
        iterable_project_type: cdp_purge_sandbox::IterableProjectType::UserIdBased,
        ..SandboxConfig::default()
    });
    let input = ctx.file("ids.csv", "user_id\nUser-1\nuser-2\nUSER-3\n");
    let out = delete(&ctx, ITERABLE_BY_USER_ID, &input);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let ledger = ledger_of(&ctx, "iterable");
    ctx.fake().advance(Duration::from_secs(600));
    let s = status(&ctx, &ledger);
    assert!(s.stdout.contains("forgotten 3"), "{}", s.transcript());
    assert_eq!(s.code, Some(0), "{}", s.transcript());
    let list = ctx
        .fake()
        .log()
        .into_iter()
        .filter(|r| r.method == "GET" && r.vendor == Some(VendorKind::Iterable))
        .count();
    assert!(list >= 1, "status read the forgotten list");
}

#[test]
fn iterable_refuses_the_wrong_identifier_for_its_project_and_the_breaker_says_so() {
    let ctx = TestContext::with_fake(SandboxConfig {
        iterable_project_type: cdp_purge_sandbox::IterableProjectType::EmailBased,
        enforce_quota: false,
        ..SandboxConfig::default()
    });
    let mut csv = String::from("user_id\n");
    for i in 0..25 {
        csv.push_str(&format!("u{i}\n"));
    }
    let input = ctx.file("ids.csv", csv);
    let out = delete(&ctx, ITERABLE_BY_USER_ID, &input);
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert!(out.stderr.contains("BadParams"), "{}", out.stderr);
    assert!(deletions_of(ctx.fake(), VendorKind::Iterable).len() <= 21);
}

#[test]
fn posthog_sends_1000_per_request_isolates_a_failing_person_and_stops_on_a_missing_scope() {
    let ctx = TestContext::with_fake(SandboxConfig::default());
    let mut csv = String::from("distinct_id\n");
    for i in 0..2500 {
        csv.push_str(&format!("d{i}\n"));
    }
    let input = ctx.file("persons.csv", csv);
    let args = [
        "--vendor",
        "posthog",
        "--id-type",
        "distinct_id",
        "--project-id",
        "12",
        "--column",
        "distinct_id",
    ];
    let out = delete(&ctx, &args, &input);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let sent = deletions_of(ctx.fake(), VendorKind::Posthog);
    let sizes: Vec<usize> = sent.iter().map(|r| r.items).collect();
    assert_eq!(sizes, [1000, 1000, 500]);

    // One person PostHog cannot delete: the batch is halved until it stands alone; the
    // others, deleted by the first request, are not reported as unknown.
    let input = ctx.file("few.csv", "distinct_id\nf1\nf2\nf3\nf-phfail\nf5\nf6\n");
    let out = delete(&ctx, &args, &input);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    // 20 a minute keeps 240/minute and 1,200/hour.
    assert!(
        peak(
            &ctx.fake().log(),
            VendorKind::Posthog,
            Duration::from_secs(60),
            false
        ) <= 20
    );
    let ledger = ctx.dir().join(
        std::fs::read_dir(ctx.dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("few.csv.ledger.posthog-") && n.ends_with(".jsonl"))
            .unwrap(),
    );
    let mut report = ctx.cmd();
    report.args(["report", "--json", "--ledger"]).arg(&ledger);
    let r = ctx.run(&mut report);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let outcomes = &v["overall"]["outcomes"];
    assert_eq!(outcomes["invalid"], 1, "{}", r.stdout);
    assert!(outcomes.get("not_found").is_none(), "{}", r.stdout);
    assert_eq!(
        outcomes["already_done"].as_u64().unwrap_or(0)
            + outcomes["acknowledged"].as_u64().unwrap_or(0),
        5,
        "{}",
        r.stdout
    );

    // A key without person:write stops the run with exit 3 and sends nothing more.
    let ctx = TestContext::with_fake(SandboxConfig::default());
    let input = ctx.file("persons.csv", "distinct_id\na\nb\n");
    let mut cmd = ctx.cmd_with_credentials();
    cmd.env("POSTHOG_PERSONAL_API_KEY", "phx_read_only")
        .arg("delete")
        .args(args)
        .args(["--yes", "--base-url", &ctx.fake().base_url()])
        .arg(&input);
    let out = ctx.run(&mut cmd);
    assert_eq!(out.code, Some(3), "{}", out.transcript());
    assert!(out.stderr.contains("person:write"), "{}", out.stderr);
}

/// Three downstream targets and Lytics over one CSV, each reading its own column.
fn group_config(base: &str) -> String {
    format!(
        r#"{}
[targets.amp]
vendor = "amplitude"
base_url = "{base}"
id_type = "user_id"
column = "user_id"

[targets.it]
vendor = "iterable"
base_url = "{base}"
id_type = "email"
column = "email"

[targets.ph]
vendor = "posthog"
base_url = "{base}"
id_type = "distinct_id"
project_id = "7"
column = "distinct_id"

[groups]
erasure = ["cdp", "amp", "it", "ph"]
"#,
        crate::support::lytics_email_target("cdp", base)
    )
}

fn group_delete(ctx: &TestContext, cfg: &Path, input: &Path) -> std::process::Command {
    let mut cmd = ctx.cmd_with_credentials();
    cmd.arg("--config")
        .arg(cfg)
        .args(["delete", "--group", "erasure", "--yes", "--json"])
        .arg(input);
    cmd
}

#[test]
fn a_group_fans_one_multi_column_csv_out_and_resumes_each_target_after_sigkill() {
    let _serial = serial();
    let ctx = TestContext::with_fake(SandboxConfig {
        latency: Duration::from_millis(30),
        ..SandboxConfig::default()
    });
    let cfg = ctx.file("cdp-purge.toml", group_config(&ctx.fake().base_url()));
    // Row 4 has no user_id: Amplitude's reject, nobody else's.
    let mut csv = String::from("email,user_id,distinct_id\n");
    for i in 0..12 {
        let uid = if i == 2 {
            String::new()
        } else {
            format!("u{i}")
        };
        csv.push_str(&format!("p{i}@x.co,{uid},d{i}\n"));
    }
    let input = ctx.file("list.csv", csv);

    // Killed while Iterable (one per request at 3/s) is under way.
    let mut child = group_delete(&ctx, &cfg, &input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while deletions_of(ctx.fake(), VendorKind::Iterable).len() < 3
        && t.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&child, libc::SIGKILL);
    let _ = child.wait();
    // Let the fake finish what it was applying when the client died (30 ms latency).
    std::thread::sleep(Duration::from_millis(200));
    // What the killed run's Iterable ledger shows answered: only these must never repeat.
    let answered_before = read_ledger(&ledger_of(&ctx, "iterable"));
    let forgotten_before = deletions_of(ctx.fake(), VendorKind::Iterable)
        .iter()
        .filter(|r| r.applied)
        .count();
    assert!((3..12).contains(&forgotten_before), "{forgotten_before}");
    let cdp_before = deletions_of_method(ctx.fake(), VendorKind::Lytics, "DELETE");

    let started = Instant::now();
    let out = ctx.run(&mut group_delete(&ctx, &cfg, &input));
    let wall = started.elapsed();
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let summary: serde_json::Value =
        serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    let targets = summary["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 4, "{summary}");
    for (t, name) in targets.iter().zip(["cdp", "amp", "it", "ph"]) {
        assert_eq!(t["target"], name);
        assert_eq!(t["exit_code"], 0, "{summary}");
    }
    // Lytics had finished before the kill: the rerun sends it nothing again.
    assert_eq!(
        deletions_of_method(ctx.fake(), VendorKind::Lytics, "DELETE"),
        cdp_before
    );
    // Iterable resumed where it stopped: every address forgotten, none lost. Only a request
    // in flight at the kill (applied by the vendor, no answer in the ledger) may be sent
    // again; an address the ledger had answered is never sent twice.
    let per_value = applied_per_value(&deletions_of(ctx.fake(), VendorKind::Iterable));
    assert_eq!(per_value.len(), 12);
    let acked_before = answered_before.acked_hmacs();
    for (value, &n) in &per_value {
        let answered = acked_before.contains_key(&answered_before.hmac(value));
        assert!(
            n == 1 || (n == 2 && !answered),
            "{value} forgotten {n} times (answered before the kill: {answered}): {per_value:?}"
        );
    }
    // Amplitude got the 11 rows with a user_id; PostHog all 12 distinct_ids.
    let amp: usize = deletions_of(ctx.fake(), VendorKind::Amplitude)
        .iter()
        .filter(|r| r.applied)
        .map(|r| r.items)
        .sum();
    assert_eq!(amp, 11);
    let ph: usize = deletions_of(ctx.fake(), VendorKind::Posthog)
        .iter()
        .filter(|r| r.applied)
        .map(|r| r.items)
        .sum();
    assert_eq!(ph, 12);

    // Per input row, the state at every target; no identifier printed.
    let mut report = ctx.cmd();
    report
        .arg("--config")
        .arg(&cfg)
        .args(["report", "--group", "erasure", "--csv", "-i"])
        .arg(&input);
    let r = ctx.run(&mut report);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "input_file,row,cdp,amp,it,ph");
    assert_eq!(lines.len(), 13, "{}", r.stdout);
    let row4 = lines.iter().find(|l| l.contains(",4,")).unwrap();
    assert!(row4.contains("rejected: empty (user_id)"), "{row4}");
    assert!(!r.stdout.contains("@x.co") && !r.stdout.contains(",u1,"));
    eprintln!(
        "figures: group erasure (lytics, amplitude, iterable, posthog) 12 rows, resumed after \
         SIGKILL with {forgotten_before} of 12 forgotten: wall {wall:?}, exit 0"
    );
}

fn deletions_of_method(fake: &Fake, vendor: VendorKind, method: &str) -> usize {
    fake.log()
        .iter()
        .filter(|r| r.vendor == Some(vendor) && r.method == method)
        .count()
}
