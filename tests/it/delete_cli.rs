//! `cdp-purge delete` end to end: the real binary against the in-process fake vendors.

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cdp_purge_sandbox::{Credentials, Sandbox, SandboxConfig};
use support::default_ledger;

fn ids_csv(dir: &Path, name: &str, header: &str, values: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    writeln!(f, "{header}").unwrap();
    for v in values {
        writeln!(f, "{v}").unwrap();
    }
    p
}

fn customer_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("CUST-{i:06}")).collect()
}

/// The binary set up for the sandbox's mParticle, with fast (scaled) backoff.
fn mparticle_cmd(sb: &Sandbox, input: &Path) -> Command {
    let mut cmd = support::cdp_purge_with_credentials();
    cmd.arg("delete");
    support::mparticle_args(&mut cmd, "production", "customerid", "customerid")
        // Full batches, so request counts in these tests are easy to reason about.
        .args(["--batch-size", "100"])
        .arg("--base-url")
        .arg(sb.base_url())
        .arg("-i")
        .arg(input);
    cmd
}

fn lytics_cmd(sb: &Sandbox, input: &Path) -> Command {
    let mut cmd = support::cdp_purge_with_credentials();
    cmd.arg("delete");
    support::lytics_args(&mut cmd)
        .arg("--base-url")
        .arg(sb.base_url())
        .arg("-i")
        .arg(input);
    cmd
}

fn ledger_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn without_yes_and_without_a_terminal_nothing_is_sent() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &customer_ids(10));
    let out = mparticle_cmd(&sb, &input).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--yes"), "{err}");
    assert!(sb.log().is_empty());
}

#[test]
fn a_clean_run_acknowledges_everything_and_a_rerun_sends_nothing() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids(250);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let out = mparticle_cmd(&sb, &input)
        .args(["--yes", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["acknowledged"], 250);
    assert_eq!(summary["requests"], 3);
    // Never an identifier or a secret on stdout/stderr.
    let c = Credentials::default();
    for s in [&stdout, &stderr] {
        assert!(!s.contains("CUST-"), "identifier leaked: {s}");
        assert!(!s.contains(&c.mparticle_secret) && !s.contains(&c.mparticle_key));
    }
    // The default ledger sits beside the input, with its key.
    let ledger = default_ledger(dir.path(), "ids.csv");
    assert!(ledger.with_extension("jsonl.key").exists());
    assert!(
        ledger
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ids.csv.ledger.mparticle-"),
        "{ledger:?}"
    );
    let recs = ledger_lines(&ledger);
    assert_eq!(recs[0]["type"], "header");
    assert_eq!(recs[0]["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(recs.last().unwrap()["type"], "end");
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert!(
        !text.contains("CUST-"),
        "no raw identifiers in the ledger by default"
    );
    assert!(!text.contains(&c.mparticle_secret));

    sb.clear_log();
    let out = mparticle_cmd(&sb, &input).arg("--yes").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("resuming: 250 of 250 identifiers already deleted here")
    );
    assert!(sb.log().is_empty(), "nothing sent twice");
}

#[test]
fn a_locked_ledger_refuses_a_second_run() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &customer_ids(5));
    let ledger = dir.path().join("shared.ledger.jsonl");
    let held = cdp_purge::ledger::Ledger::open(&ledger).unwrap();
    let out = mparticle_cmd(&sb, &input)
        .arg("--yes")
        .arg("--ledger")
        .arg(&ledger)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
    assert!(sb.log().is_empty());
    held.close().unwrap();
}

#[test]
fn refused_credentials_stop_the_run_with_exit_3() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &customer_ids(3000));
    let out = mparticle_cmd(&sb, &input)
        .env("MPARTICLE_API_SECRET", "wrong-secret-123")
        .args(["--yes", "--concurrency", "4"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("MPARTICLE_API_SECRET") || stderr.contains("MPARTICLE_API_KEY"));
    assert!(!stderr.contains("wrong-secret-123"));
    let n = sb.log().len();
    assert!((1..=4).contains(&n), "{n} requests after a 401");
}

#[test]
fn lytics_per_item_errors_are_per_item_failures_and_exit_1() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut emails: Vec<String> = (0..20).map(|i| format!("person{i}@example.com")).collect();
    emails[7] = "invalid-7@example.com".into();
    let input = ids_csv(dir.path(), "users.csv", "email", &emails);
    let out = lytics_cmd(&sb, &input)
        .args(["--yes", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["acknowledged"], 19);
    assert_eq!(summary["failed"]["invalid"], 1);
    let recs = ledger_lines(&default_ledger(dir.path(), "users.csv"));
    let results: Vec<_> = recs
        .iter()
        .filter(|r| r["type"] == "outcome")
        .flat_map(|r| r["results"].as_array().unwrap().clone())
        .collect();
    let bad: Vec<_> = results
        .iter()
        .filter(|r| r["status"] == "invalid")
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["row"], 9, "header is row 1, the 8th value row 9");
    assert!(
        results
            .iter()
            .filter(|r| r["status"] == "acknowledged")
            .all(|r| r["vendor_id"].is_string()),
        "Lytics request_id per identifier"
    );
}

#[test]
fn ctrl_c_stops_cleanly_and_prints_the_resume_command() {
    let sb = Sandbox::start_blocking(SandboxConfig {
        latency: Duration::from_millis(100),
        ..SandboxConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &customer_ids(5000));
    let child = mparticle_cmd(&sb, &input)
        .args(["--yes", "--concurrency", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the sandbox has answered, the run is sending (its handlers are installed before
    // the first request): a fixed sleep raced the first read on a loaded machine, and a
    // Ctrl-C before sending starts still ends the process the default way.
    let t = std::time::Instant::now();
    while sb.log().is_empty() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(150));
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("to resume:"), "{stderr}");
    assert!(stderr.contains("--ledger"), "{stderr}");
    let recs = ledger_lines(&default_ledger(dir.path(), "ids.csv"));
    assert_eq!(recs.last().unwrap()["reason"], "interrupted");
}

#[test]
fn stdin_is_spooled_and_its_ledger_defaults_to_the_working_directory() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("customerid\n");
    for v in customer_ids(150) {
        csv.push_str(&v);
        csv.push('\n');
    }
    let run = || {
        let mut cmd = mparticle_cmd(&sb, Path::new("-"));
        cmd.current_dir(dir.path())
            .args(["--yes", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(csv.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["acknowledged"], 150);
    let ledger = default_ledger(dir.path(), "cdp-purge-stdin");
    let recs = ledger_lines(&ledger);
    assert_eq!(recs[0]["inputs"][0]["path"], "-");
    // Same stdin again: everything is already done.
    sb.clear_log();
    let out = run();
    assert_eq!(out.status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["skipped_items"], 150);
    assert!(sb.log().is_empty());
}

/// A full disk, simulated with a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored so writes
/// fail with EFBIG): the run stops, and every request the vendor saw has a `sent` line.
#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_ledger_stops_the_run_before_more_deletions() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &customer_ids(3000));
    // `ulimit -f 40`: 40 blocks of 512 bytes.
    let mut cmd = support::mparticle_delete_to(&sb.base_url(), "customerid", "customerid", &input);
    cmd.args(["--concurrency", "2"]);
    support::with_disk_full_at(&mut cmd, 40 * 512);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ledger"), "{stderr}");
    let requests = sb.log().len();
    assert!(requests >= 1, "the limit leaves room for the first batches");
    assert!(requests < 30, "the run went on: {requests} requests");
    let sent = ledger_lines(&default_ledger(dir.path(), "ids.csv"))
        .iter()
        .filter(|r| r["type"] == "attempt" && r["phase"] == "sent")
        .count();
    assert!(
        requests <= sent,
        "{requests} requests but {sent} sent records"
    );
}

/// `delete --all-targets` over a config with a Lytics target `ly` and a Hightouch target `ht`,
/// both pointed at `sb`; 30 emails prefixed with `prefix`.
fn run_two_targets(
    sb: &Sandbox,
    dir: &Path,
    prefix: &str,
    lytics_token: &str,
) -> std::process::Output {
    let cfg = dir.join("cdp-purge.toml");
    std::fs::write(
        &cfg,
        format!(
            "[targets.ly]\nvendor = \"lytics\"\nfield = \"email\"\nbase_url = \"{0}\"\n\n\
             [targets.ht]\nvendor = \"hightouch\"\ngraph = \"g1\"\nidentifier_type = \"email\"\nbase_url = \"{0}\"\n",
            sb.base_url()
        ),
    )
    .unwrap();
    let emails: Vec<String> = (0..30)
        .map(|i| format!("{prefix}{i}@example.com"))
        .collect();
    let input = ids_csv(dir, "ids.csv", "email", &emails);
    support::cdp_purge()
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .env_remove("CDP_PURGE_CONFIG")
        .env_remove("CDP_PURGE_BASE_URL")
        .env("LYTICS_API_TOKEN", lytics_token)
        .env(
            "HIGHTOUCH_API_KEY",
            Credentials::default().hightouch_api_key,
        )
        .arg("--config")
        .arg(&cfg)
        .args([
            "delete",
            "--all-targets",
            "--column",
            "email",
            "--yes",
            "--json",
            "-i",
        ])
        .arg(&input)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn all_targets_run_one_after_another_each_with_its_own_ledger() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run_two_targets(&sb, dir.path(), "m", &Credentials::default().lytics_token);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut summaries: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One summary per target, then the overall verdict.
    let overall = summaries.pop().unwrap();
    assert_eq!(overall["exit_code"], 0);
    assert_eq!(overall["targets"].as_array().map(Vec::len), Some(2));
    assert_eq!(summaries.len(), 2);
    let mut ledgers: Vec<String> = summaries
        .iter()
        .map(|s| {
            assert_eq!(s["acknowledged"], 30);
            s["ledger"].as_str().unwrap().to_owned()
        })
        .collect();
    ledgers.dedup();
    assert_eq!(ledgers.len(), 2, "one ledger per target: {ledgers:?}");
    for l in &ledgers {
        assert!(Path::new(l).exists());
    }
}

/// Issue: one target refusing the credentials must not stop the others; the exit code and
/// the summary say which target failed and how.
#[test]
fn one_target_refused_the_other_completes() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run_two_targets(&sb, dir.path(), "r", "not-the-sandbox-token");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let overall = lines.last().unwrap();
    assert_eq!(overall["exit_code"], 3);
    let per: Vec<(String, u64)> = overall["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap().to_owned(),
                t["exit_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        per.contains(&("ly".into(), 3)) && per.contains(&("ht".into(), 0)),
        "{per:?}"
    );
    let ht = lines
        .iter()
        .find(|l| l["vendor"] == "hightouch")
        .expect("hightouch summary");
    assert_eq!(ht["acknowledged"], 30);
    assert!(
        stderr.contains("target ly") && stderr.contains("LYTICS_API_TOKEN"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-sandbox-token"));
    // The hightouch target really deleted; the lytics one stopped at its first refusal.
    let log = sb.log();
    let ly = log.iter().filter(|r| r.path.starts_with("/v2/")).count();
    assert!((1..=2).contains(&ly), "{ly} lytics requests after a 401");
    assert!(
        log.iter()
            .any(|r| r.path.contains("queue-for-reprocessing") && r.applied)
    );
}

/// `delete --sandbox` needs no account: it starts the fake vendors in-process and uses their
/// credentials (the README's first command).
#[test]
fn sandbox_flag_deletes_the_example_list_without_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/suppression-list.csv");
    let ledger = dir.path().join("example.ledger.jsonl");
    let out = support::cdp_purge()
        .args([
            "delete",
            "--sandbox",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
        ])
        .args(["--column", "email", "--yes", "--json", "-i"])
        .arg(&example)
        .arg("--ledger")
        .arg(&ledger)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["acknowledged"], 120);
    assert_eq!(summary["failed_total"], 0);
    assert!(
        stderr.contains("sandbox: fake vendors at http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: Lytics deletes asynchronously"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "input: 131 rows read, 120 kept, 8 rejected (empty 2, invalid 1, null_token 5), 3 duplicates"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("user001@example.com"));
    assert!(ledger.exists());
}

/// Each vendor's caveat follows its summary, and Hightouch warns before sending unless the
/// user confirms the warehouse rows are gone.
#[test]
fn vendor_caveats_and_the_hightouch_warehouse_warning() {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let list = examples.join("suppression-list.csv");
    let run = |n: usize, vendor_args: &[&str], input: &Path, column: &str| {
        let out = support::cdp_purge()
            .args(["delete", "--sandbox", "--yes", "--ledger"])
            .arg(dir.path().join(format!("l{n}.jsonl")))
            .args(vendor_args)
            .args(["--column", column, "-i"])
            .arg(input)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let ct = run(
        1,
        &["--vendor", "clevertap", "--id-type", "identity"],
        &list,
        "customer_id",
    );
    assert!(
        ct.contains("after 24 hours") && ct.contains("cannot be undone"),
        "{ct}"
    );

    let seg_args = [
        "--vendor",
        "segment",
        "--space",
        "spa_x",
        "--id-type-column",
        "type",
        "--user-id-column",
        "user_id",
    ];
    let seg = run(
        2,
        &seg_args,
        &examples.join("segment-pairs.csv"),
        "identifier",
    );
    assert!(
        seg.contains("downstream destinations are not touched"),
        "{seg}"
    );
    assert!(seg.contains("replaying archived events"), "{seg}");

    let ht = [
        "--vendor",
        "hightouch",
        "--graph",
        "g1",
        "--id-type",
        "email",
    ];
    let warned = run(3, &ht, &list, "email");
    assert!(warned.contains("warehouse source tables first"), "{warned}");
    assert!(warned.contains("next IDR run"), "{warned}");
    let confirmed = run(
        4,
        &[&ht[..], &["--source-data-deleted"]].concat(),
        &list,
        "email",
    );
    assert!(
        !confirmed.contains("warehouse source tables first"),
        "{confirmed}"
    );
    let args = [&ht[..], &["--source-data-deleted", "--no-block"]].concat();
    let unblocked = run(5, &args, &list, "email");
    assert!(
        unblocked.contains("--no-block: the values are not blocklisted"),
        "{unblocked}"
    );
}
