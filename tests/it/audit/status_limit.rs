//! `status` without `--sample` looks up at most `--limit` open jobs per invocation (or
//! `--watch` round): never checked first, then the least recently checked, ties in file
//! order; the rest are counted as not checked and keep the exit code non-zero.

use std::collections::BTreeSet;
use std::time::Duration;

use cdp_purge_sandbox::{Sandbox, SandboxConfig};

use super::*;

fn sandbox(step: Duration) -> Sandbox {
    Sandbox::start_blocking(SandboxConfig {
        lytics_state_step: step,
        ..SandboxConfig::default()
    })
    .unwrap()
}

fn status(ledger: &Path) -> Command {
    let mut c = bin();
    c.args(["status", "--ledger"]).arg(ledger);
    c
}

/// The ledger's Lytics request IDs, in file order.
fn job_ids(ledger: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for r in records(ledger).iter().filter(|r| r["type"] == "outcome") {
        for item in r["results"].as_array().unwrap() {
            if let Some(id) = item["vendor_id"].as_str()
                && !ids.iter().any(|x| x == id)
            {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

/// The job IDs the sandbox was asked about one by one, in order.
fn asked(sb: &Sandbox) -> Vec<String> {
    sb.log()
        .iter()
        .filter_map(|r| r.path.strip_prefix("/v2/identity/deletestatus/"))
        .filter(|id| *id != "list")
        .map(str::to_owned)
        .collect()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

#[test]
fn each_invocation_checks_the_least_recently_checked_and_counts_the_rest() {
    // Jobs stay pending for an hour: every invocation finds them open.
    let sb = sandbox(Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(10));
    let ids = job_ids(&ledger);
    assert_eq!(ids.len(), 10);

    // First: the first four in file order (none checked before).
    sb.clear_log();
    let (code, out, err) = run(status(&ledger).args(["--limit", "4", "--per-job", "--json"]));
    assert_eq!(code, Some(1), "open jobs not checked: {out}\n{err}");
    let first = asked(&sb);
    assert_eq!(first.len(), 4);
    assert_eq!(set(&first), set(&ids[..4]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let g = &v["groups"][0];
    assert_eq!(g["jobs"], 10);
    assert_eq!(g["pending"], 4);
    assert_eq!(g["not_checked"], 6);
    assert_eq!(g["bounded"]["checked"], 4);
    assert_eq!(g["bounded"]["open"], 10);
    assert_eq!(g["bounded"]["limit"], 4);
    assert_eq!(g["all_done"], false);
    assert_eq!(v["exit_code"], 1);

    // Second: the next four, none of the first.
    sb.clear_log();
    let (code, out, err) = run(status(&ledger).args(["--limit", "4", "--per-job"]));
    assert_eq!(code, Some(1), "{out}\n{err}");
    let second = asked(&sb);
    assert_eq!((second.len(), set(&second)), (4, set(&ids[4..8])));
    assert!(
        out.contains("checked   4 of 10 open jobs in this invocation (at most 4 a round, least recently checked first); 6 not checked"),
        "{out}"
    );
    assert!(
        out.contains("finished  0 of 10 (0 done, 0 failed, 4 pending, 0 errors, 6 not checked)"),
        "{out}"
    );
    assert!(
        out.contains("result: 10 of 10 not finished (6 not checked in this invocation)"),
        "{out}"
    );

    // Third: the two never checked, then the two whose last check is the oldest (the first
    // invocation's, by the time each was recorded, ties in file order).
    let mut checked: Vec<(String, usize, String)> = records(&ledger)
        .iter()
        .filter(|r| r["type"] == "status")
        .map(|r| {
            let id = r["vendor_id"].as_str().unwrap().to_owned();
            let pos = ids.iter().position(|x| *x == id).unwrap();
            (r["checked_at"].as_str().unwrap().to_owned(), pos, id)
        })
        .collect();
    assert_eq!(checked.len(), 8, "one record per job checked");
    checked.sort();
    sb.clear_log();
    let (code, out, err) = run(status(&ledger).args(["--limit", "4", "--per-job"]));
    assert_eq!(code, Some(1), "{out}\n{err}");
    let third = asked(&sb);
    assert_eq!(third.len(), 4);
    assert_eq!(set(&third[..2]), set(&ids[8..]), "never checked first");
    assert_eq!(
        set(&third[2..]),
        set(&[checked[0].2.clone(), checked[1].2.clone()]),
        "then the oldest checks"
    );
    assert!(set(&third[2..]).is_subset(&set(&first)));

    // Through the account-wide list: one request, and still only four jobs recorded.
    let before = records(&ledger)
        .iter()
        .filter(|r| r["type"] == "status")
        .count();
    sb.clear_log();
    let (code, out, _) = run(status(&ledger).args(["--limit", "4"]));
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(sb.log().len(), 1);
    let after = records(&ledger)
        .iter()
        .filter(|r| r["type"] == "status")
        .count();
    assert_eq!(after - before, 4);
    assert!(
        out.contains("4 answered by the account-wide status list"),
        "{out}"
    );
}

#[test]
fn finished_jobs_are_counted_not_asked_and_the_exit_code_waits_for_every_job() {
    // Done at the first look.
    let sb = sandbox(Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(10));
    let ids = job_ids(&ledger);
    let mut seen = BTreeSet::new();
    for (n, expect) in [(4, 1), (4, 1), (2, 0)] {
        sb.clear_log();
        let (code, out, err) = run(status(&ledger).args(["--limit", "4", "--per-job", "--json"]));
        assert_eq!(code, Some(expect), "{out}\n{err}");
        let now = asked(&sb);
        assert_eq!(now.len(), n, "{now:?}");
        assert!(
            now.iter().all(|id| seen.insert(id.clone())),
            "asked again: {now:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let g = &v["groups"][0];
        assert_eq!(g["done"].as_u64(), Some(seen.len() as u64), "{g}");
        assert_eq!(g["not_checked"].as_u64(), Some(10 - seen.len() as u64));
        assert_eq!(g["states"]["done"].as_u64(), Some(seen.len() as u64));
    }
    assert_eq!(seen, set(&ids));
    // Nothing open: nothing asked, no credentials needed, exit 0, every job counted done.
    sb.clear_log();
    let (code, out, _) = run(status(&ledger)
        .args(["--limit", "4"])
        .env_remove("LYTICS_API_TOKEN"));
    assert_eq!(code, Some(0), "{out}");
    assert!(sb.log().is_empty());
    assert!(out.contains("jobs      10: done 10"), "{out}");
    assert!(out.contains("result: all 10 finished"), "{out}");
}

#[test]
fn watch_cycles_through_every_open_job_before_asking_any_again() {
    // Done after five steps of 100 ms; three jobs a round.
    let sb = sandbox(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(10));
    let ids = job_ids(&ledger);
    sb.clear_log();
    let (code, out, err) =
        run(status(&ledger).args(["--watch", "--until", "30s", "--limit", "3", "--per-job"]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("jobs      10: done 10"), "{out}");
    assert!(out.contains("result: all 10 finished"), "{out}");
    let log = asked(&sb);
    // Each job once, in rounds of three in file order, before any is asked again.
    assert_eq!(set(&log[..10]), set(&ids), "{log:?}");
    for (round, chunk) in log[..9].chunks(3).enumerate() {
        assert_eq!(set(chunk), set(&ids[round * 3..round * 3 + 3]), "{log:?}");
    }
    assert!(
        err.contains("open jobs not looked up yet in this invocation; next round now"),
        "{err}"
    );
    // Every job ends done in the ledger.
    let recs = records(&ledger);
    for id in &ids {
        let last = recs
            .iter()
            .rfind(|r| r["type"] == "status" && r["vendor_id"] == id.as_str())
            .unwrap();
        assert_eq!(last["state"], "done", "{id}");
    }
}

/// A job list too large to read is asked once per invocation, not again every `--watch`
/// round (each time to be cut off at the cap): the jobs are then asked one by one, and the
/// summary says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_list_too_large_to_read_is_not_asked_again_every_round() {
    use wiremock::ResponseTemplate;
    let sb = sandbox(Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(3));
    let jobs = job_ids(&ledger).len();
    assert!(jobs > 0, "the delete left jobs to look up");
    // The vendor from here on: a list past the cap, every job still in its last pass.
    let big = vec![b' '; cdp_purge::protocol::answer::MAX_ANSWER + 1];
    let vendor = lytics_vendor(ResponseTemplate::new(200).set_body_bytes(big)).await;
    let (code, out, err) = run(status(&ledger).args([
        "--base-url",
        &vendor.uri(),
        "--watch",
        "--until",
        "4s",
        "--interval",
        "1s",
    ]));
    assert_ne!(code, Some(0), "jobs are still pending: {out}\n{err}");
    let paths = crate::common::received_paths(&vendor).await;
    let lists = paths.iter().filter(|p| p.ends_with("/list")).count();
    let per_job = paths.len() - lists;
    assert_eq!(lists, 1, "the list is asked once: {paths:?}");
    assert!(per_job >= 2 * jobs, "several rounds per job: {paths:?}");
    assert!(
        format!("{out}{err}").contains("too large to read"),
        "says why: {out}\n{err}"
    );
}

/// A list slow to answer (a vendor building a list of millions) does not hold every lookup
/// up: jobs are asked one by one meanwhile, and when the list comes it settles the jobs not
/// asked yet.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_list_is_raced_by_per_job_lookups() {
    use wiremock::ResponseTemplate;
    let sb = sandbox(Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(30));
    let ids = job_ids(&ledger);
    assert_eq!(ids.len(), 30, "one job per identifier");
    // The vendor from here on: every job done in the list, which takes 1.5 s to come;
    // asked one by one, every job is still in its last pass.
    let list: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"request_id": id, "state": "done", "completed": true}))
        .collect();
    let vendor = lytics_vendor(
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({ "data": list }))
            .set_delay(Duration::from_millis(1500)),
    )
    .await;
    // Lytics' 10 lookups a second: 30 one by one would take 3 s.
    let (code, out, err) = run(status(&ledger).env("CDP_PURGE_TIME_SCALE", "0.01").args([
        "--base-url",
        &vendor.uri(),
        "--json",
    ]));
    assert_eq!(code, Some(1), "some jobs are still pending: {out}\n{err}");
    let asked = crate::common::received_paths(&vendor)
        .await
        .iter()
        .filter(|p| !p.ends_with("/list"))
        .count();
    // Lookups went on while the list was coming, and the list spared the rest.
    assert!(asked > 0 && asked < 30, "asked one by one: {asked}\n{err}");
    // Each job settled once: by its own answer (still in its last pass) or by the list
    // (done). A lookup called off after it left may count as asked; its job is the list's.
    let mut settled: std::collections::HashMap<String, Vec<String>> = Default::default();
    for r in records(&ledger).iter().filter(|r| r["type"] == "status") {
        if let (Some(id), Some(state)) = (r["vendor_id"].as_str(), r["state"].as_str()) {
            settled
                .entry(id.to_owned())
                .or_default()
                .push(state.to_owned());
        }
    }
    assert_eq!(settled.len(), 30, "{settled:?}");
    assert!(settled.values().all(|s| s.len() == 1), "{settled:?}");
    let done = settled.values().filter(|s| s[0] == "done").count();
    assert!(
        done > 0 && 30 - done <= asked,
        "{done} done by the list, {asked} asked"
    );
}

/// A Lytics that answers its job list with `list` and each job as still in its last pass
/// (`secondary`, `completed: false`).
async fn lytics_vendor(list: wiremock::ResponseTemplate) -> wiremock::MockServer {
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let vendor = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/identity/deletestatus/list"))
        .respond_with(list)
        .mount(&vendor)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v2/identity/deletestatus/[^/]+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"data":{"state":"secondary","completed":false}}"#),
        )
        .mount(&vendor)
        .await;
    vendor
}
