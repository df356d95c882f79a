//! `status` out loud and at scale: the account-wide list in any shape, a sample with its
//! confidence interval, every fatal error with its reason and exit code, errors grouped by
//! reason, progress and logs; completion times in the ledger and the report.

use std::time::Duration;

use cdp_purge_sandbox::{LyticsListShape, LyticsStatusShape, Sandbox, SandboxConfig};

use super::*;

fn sandbox(step_ms: u64) -> SandboxConfig {
    SandboxConfig {
        lytics_state_step: Duration::from_millis(step_ms),
        hightouch_state_step: Duration::from_millis(step_ms),
        ..SandboxConfig::default()
    }
}

/// A Lytics ledger of `n` identifiers, deleted fast (the sandbox publishes no Lytics quota,
/// so the client's pace is raised with it).
fn lytics_ledger(sb: &Sandbox, dir: &Path, n: usize) -> PathBuf {
    let input = write_csv(dir, "users.csv", "email", &emails(n));
    let (code, _, err) = run(support::lytics_delete_to(&sb.base_url(), &input).args([
        "--batch-size",
        "1000",
        "--max-rps",
        "1000",
        "-q",
    ]));
    assert_eq!(code, Some(0), "{err}");
    ledger_of(&input)
}

fn status(ledger: &Path) -> Command {
    let mut c = bin();
    c.args(["status", "--ledger"]).arg(ledger);
    c
}

#[test]
fn status_with_a_refused_token_prints_why_and_exits_3() {
    let sb = Sandbox::start_blocking(sandbox(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = lytics_ledger(&sb, dir.path(), 10);
    let (code, out, err) = run(status(&ledger).env("LYTICS_API_TOKEN", "revoked"));
    assert_eq!(code, Some(3), "{out}\n{err}");
    assert!(err.contains("refused the credentials"), "{err}");
    assert!(
        err.contains("LYTICS_API_TOKEN"),
        "names the variable: {err}"
    );
    assert!(err.contains("exit 3"), "names the exit code: {err}");
    assert!(!err.contains("revoked"), "never the token: {err}");
}

#[test]
fn the_account_wide_list_answers_in_any_shape_and_per_job_is_the_fallback() {
    let shapes = [
        (LyticsListShape::Array, 1),
        (LyticsListShape::Map, 1),
        // No list: one failed list call, then one lookup per job.
        (LyticsListShape::Absent, 1 + 30),
    ];
    for (shape, requests) in shapes {
        let sb = Sandbox::start_blocking(SandboxConfig {
            lytics_list_shape: shape,
            ..sandbox(0)
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ledger = lytics_ledger(&sb, dir.path(), 30);
        sb.clear_log();
        let (code, out, err) = run(&mut status(&ledger));
        assert_eq!(code, Some(0), "{shape:?}: {out}\n{err}");
        assert!(out.contains("jobs      30: done 30"), "{shape:?}: {out}");
        assert_eq!(sb.log().len(), requests, "{shape:?}");
        if shape == LyticsListShape::Absent {
            assert!(
                out.contains("the status list is not available (HTTP 404"),
                "{out}"
            );
        }
    }
}

#[test]
fn every_documented_status_body_is_read_and_nothing_else_counts_as_done() {
    for shape in [
        LyticsStatusShape::Data,
        LyticsStatusShape::Bare,
        LyticsStatusShape::IdentityPage,
    ] {
        let sb = Sandbox::start_blocking(SandboxConfig {
            lytics_status_shape: shape,
            ..sandbox(0)
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ledger = lytics_ledger(&sb, dir.path(), 5);
        let (code, out, err) = run(status(&ledger).arg("--per-job"));
        assert_eq!(code, Some(0), "{shape:?}: {out}\n{err}");
        assert!(out.contains("5 done"), "{shape:?}: {out}");
    }
}

#[test]
fn status_sample_100_on_a_100k_job_ledger() {
    let sb = Sandbox::start_blocking(sandbox(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = lytics_ledger(&sb, dir.path(), 100_000);
    sb.clear_log();
    // Per job: exactly the 100 sampled jobs are asked for.
    let (code, out, err) = run(status(&ledger).args([
        "--sample",
        "100",
        "--per-job",
        "--json",
        "--max-rps",
        "1000",
    ]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let g = &v["groups"][0];
    assert_eq!(g["jobs"], 100_000);
    assert_eq!(g["sample"]["size"], 100);
    assert_eq!(g["sample"]["done"], 100);
    let low = g["sample"]["done_share_low"].as_f64().unwrap();
    assert!((0.95..0.97).contains(&low), "{low}");
    assert_eq!(sb.log().len(), 100);
    let mut asked: Vec<String> = sb.log().iter().map(|r| r.path.clone()).collect();
    asked.sort();
    // The same ledger samples the same jobs: the ledger already has them done, so nothing
    // is asked and the estimate stands.
    sb.clear_log();
    let (code, out, _) = run(status(&ledger).args(["--sample", "100", "--per-job"]));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("sample    100 of 100000 jobs"), "{out}");
    assert!(
        out.contains("96.3% to 100.0% of all 100000 jobs are done (95% confidence"),
        "{out}"
    );
    assert!(sb.log().is_empty(), "{:?}", sb.log().len());
    // Another seed, another sample: 100 jobs none of which was asked before.
    let (code, _, _) = run(status(&ledger).args([
        "--sample",
        "100",
        "--seed",
        "7",
        "--per-job",
        "--max-rps",
        "1000",
    ]));
    assert_eq!(code, Some(0));
    // Jobs the first sample already found done are not asked again (two samples of 100
    // out of 100,000 share about 0.1 jobs on average).
    let other: Vec<String> = sb.log().iter().map(|r| r.path.clone()).collect();
    assert!((90..=100).contains(&other.len()), "{}", other.len());
    assert!(other.iter().all(|p| asked.binary_search(p).is_err()));
    let checks = records(&ledger)
        .iter()
        .filter(|r| r["type"] == "status")
        .count();
    assert_eq!(checks, 100 + other.len(), "only sampled jobs are recorded");
}

#[test]
fn errors_are_grouped_by_reason_and_progress_and_logs_are_on_stderr() {
    let first = Sandbox::start_blocking(sandbox(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = lytics_ledger(&first, dir.path(), 40);
    // A second fake never queued these: 404 for each job.
    let second = Sandbox::start_blocking(sandbox(0)).unwrap();
    let (code, out, err) = run(status(&ledger)
        .args(["--base-url", &second.base_url(), "-v", "--per-job"])
        .args(["--max-rps", "20"]));
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(
        err.contains("Lytics 40 jobs without a usable answer, by reason:"),
        "{err}"
    );
    assert!(
        err.contains("40  HTTP 404: Deletion request not found"),
        "{err}"
    );
    // -v says what status does; the progress line comes at least once in a 2 s poll.
    assert!(err.contains("40 jobs of run(s)"), "{err}");
    assert!(err.contains("round 1: 40 lookups due"), "{err}");
    assert!(err.contains("lookups, "), "progress: {err}");
    assert!(!err.contains("@example.com"));
}

#[test]
fn lytics_transitions_and_hightouch_completions_reach_the_ledger_and_the_report() {
    let sb = Sandbox::start_blocking(sandbox(200)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = lytics_ledger(&sb, dir.path(), 3);
    let (code, out, err) = run(status(&ledger).args(["--watch", "--until", "20s", "--per-job"]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    // Each job's records chain its transitions: every record names the state the one
    // before it recorded, and the first names none.
    let recs = records(&ledger);
    let mut by_id: std::collections::BTreeMap<String, Vec<&serde_json::Value>> =
        std::collections::BTreeMap::new();
    for r in recs.iter().filter(|r| r["type"] == "status") {
        by_id
            .entry(r["vendor_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(r);
    }
    assert_eq!(by_id.len(), 3);
    for (id, rs) in &by_id {
        assert_eq!(rs.last().unwrap()["state"], "done", "{id}");
        assert!(rs[0].get("previous_state").is_none(), "{id}: {rs:?}");
        for w in rs.windows(2) {
            assert_eq!(w[1]["previous_state"], w[0]["vendor_state"], "{id}: {rs:?}");
        }
    }
    assert!(by_id.values().any(|rs| rs.len() > 1), "{by_id:?}");
    let (_, csv, _) = run(bin().args(["report", "--csv", "--ledger"]).arg(&ledger));
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let h = rd.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    for r in rd.records().map(Result::unwrap) {
        assert!(!r[col("completed_at")].is_empty(), "{r:?}");
        assert_eq!(&r[col("completed_source")], "observed");
    }

    let input = write_csv(dir.path(), "ht.csv", "email", &emails(4));
    let (code, _, err) = run(bin()
        .args(["delete", "--vendor", "hightouch", "--graph", "g1"])
        .args(["--id-type", "email", "--column", "email", "--yes"])
        .args(["--source-data-deleted", "--base-url", &sb.base_url(), "-i"])
        .arg(&input));
    assert_eq!(code, Some(0), "{err}");
    let ledger = ledger_of(&input);
    let (code, out, err) = run(status(&ledger).args(["--watch", "--until", "20s"]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let recs = records(&ledger);
    let done = recs
        .iter()
        .find(|r| r["type"] == "status" && r["state"] == "done")
        .expect("a reprocessed request");
    assert!(
        done["completed_at"].as_str().unwrap().ends_with('Z'),
        "{done}"
    );
    assert!(
        done["vendor_run_id"].as_str().unwrap().starts_with("run-"),
        "{done}"
    );
    let (_, text, _) = run(bin().args(["report", "--ledger"]).arg(&ledger));
    assert!(text.contains("completed  4 of 4 acknowledged"), "{text}");
    let (_, csv, _) = run(bin().args(["report", "--csv", "--ledger"]).arg(&ledger));
    assert!(csv.contains(",vendor,run-"), "{csv}");
}

#[test]
fn status_reads_and_names_the_variables_a_config_target_names() {
    let sb = Sandbox::start_blocking(sandbox(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = lytics_ledger(&sb, dir.path(), 5);
    let config = dir.path().join("cdp-purge.toml");
    std::fs::write(
        &config,
        "[targets.sbx]\nvendor = \"lytics\"\nfield = \"email\"\ncredentials = { token = \"SBX_LYTICS_TOKEN\" }\n",
    )
    .unwrap();
    let with_target = |token: &str| {
        let mut c = status(&ledger);
        c.env_remove("LYTICS_API_TOKEN")
            .env("SBX_LYTICS_TOKEN", token)
            .arg("--config")
            .arg(&config)
            .args(["--target", "sbx"]);
        c
    };
    let (code, out, err) = run(&mut with_target("wrong"));
    assert_eq!(code, Some(3), "{out}\n{err}");
    assert!(err.contains("check SBX_LYTICS_TOKEN"), "{err}");
    assert!(!err.contains("LYTICS_API_TOKEN"), "{err}");
    let token = cdp_purge_sandbox::Credentials::default().lytics_token;
    let (code, out, err) = run(&mut with_target(&token));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("done 5"), "{out}");
}

/// A vendor whose status endpoint redirects (a proxy's sign-in page) proves no job's state:
/// the redirect is not followed (the page's 200 would read as the vendor's "done"), the
/// run says why and exits non-zero, and no status record says done.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirected_status_lookup_proves_nothing() {
    let sb = Sandbox::start_blocking(sandbox(3_600_000)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = lytics_ledger(&sb, dir.path(), 3);
    let vendor =
        crate::common::redirecting_to_a_page(r#"{"data":{"state":"done","completed":true}}"#).await;
    let uri = vendor.uri();
    let l = ledger.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run(bin()
            .args(["status", "--ledger"])
            .arg(&l)
            .args(["--base-url", &uri]))
    })
    .await
    .unwrap();
    assert!(matches!(code, Some(c) if c != 0), "{out}\n{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("302") && all.contains("redirect"),
        "says why: {all}"
    );
    let paths = crate::common::received_paths(&vendor).await;
    assert!(!paths.is_empty(), "the vendor was asked");
    assert!(
        paths.iter().all(|p| p != "/sign-in"),
        "a redirect was followed: {paths:?}"
    );
    let done = records(&ledger)
        .iter()
        .filter(|r| r["type"] == "status" && r["state"] == "done")
        .count();
    assert_eq!(done, 0, "no job is done on a redirect's word");
}
