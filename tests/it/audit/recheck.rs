//! `status --recheck` (issue 17): every identifier the ledger shows as deleted is looked up
//! again through the vendor's own verification route (the sandbox's mParticle Profile API
//! here), each answer is recorded with its time, profiles that came back are counted per
//! vendor with exit 1, and an interrupted pass is finished by the next invocation.

use cdp_purge_sandbox::{Credentials, Fault, SandboxConfig, VendorKind};
use support::TestContext;

use super::*;

/// `status` against the context's fake, with the Profile API settings and credentials.
fn status(cx: &TestContext, ledger: &Path, input: &Path, extra: &[&str]) -> Command {
    let base = cx.fake().base_url();
    let mut c = cx.cmd_with_credentials();
    for (k, v) in Credentials::default().lookup_env_lines() {
        c.env(k, v);
    }
    c.arg("status")
        .args(extra)
        .args([
            "--org-id",
            "11",
            "--account-id",
            "22",
            "--workspace-id",
            "33",
        ])
        .args(["--auth-url", &format!("{base}/oauth/token")])
        .args(["--base-url", &base, "--ledger"])
        .arg(ledger)
        .arg("-i")
        .arg(input)
        .args(["--column", "mpid"]);
    c
}

/// 20 MPIDs deleted from the fake, and verified deleted.
fn deleted_and_verified(cx: &TestContext) -> (PathBuf, PathBuf, Vec<String>) {
    let ids = mpids(20);
    let input = write_csv(cx.dir(), "mpids.csv", "mpid", &ids);
    let (code, _, err) = run(&mut mparticle_delete(&cx.fake().base_url(), &input));
    assert_eq!(code, Some(0), "{err}");
    let ledger = ledger_of(&input);
    let (code, out, err) = run(&mut status(cx, &ledger, &input, &["--verify"]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("profiles  20: deleted 20"), "{out}");
    (ledger, input, ids)
}

fn profile_lookups(cx: &TestContext) -> usize {
    cx.fake()
        .log()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/userprofile/v1/"))
        .count()
}

fn recheck_records(ledger: &Path) -> Vec<serde_json::Value> {
    records(ledger)
        .into_iter()
        .filter(|r| r["type"] == "status" && r.get("recheck").is_some())
        .collect()
}

#[test]
fn recheck_finds_three_recreated_profiles_and_exits_1() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let (ledger, input, ids) = deleted_and_verified(&cx);
    let back: Vec<&str> = ids[4..7].iter().map(String::as_str).collect();
    assert_eq!(cx.fake().recreate(VendorKind::Mparticle, &back), 3);
    cx.fake().clear_log();

    let (code, out, err) = run(&mut status(&cx, &ledger, &input, &["--recheck"]));
    assert_eq!(code, Some(1), "profiles came back: {out}\n{err}");
    assert!(
        out.contains(
            "20 checked: 17 still deleted, 3 present again (3 after a verified deletion), 0 unknown"
        ),
        "{out}"
    );
    assert!(
        out.contains("result: 3 deleted profile(s) are present again (mParticle 3)"),
        "{out}"
    );
    // Profiles already verified deleted are looked up again: that is the point.
    assert_eq!(profile_lookups(&cx), 20);
    for id in &ids {
        assert!(!out.contains(id.as_str()) && !err.contains(id.as_str()));
    }

    // One record per answer, tagged with the pass and what the ledger showed before.
    let recs = recheck_records(&ledger);
    assert_eq!(recs.len(), 20);
    let pass = recs[0]["recheck"]["pass"].as_str().unwrap().to_owned();
    assert!(recs.iter().all(|r| r["recheck"]["pass"] == pass.as_str()
        && r["recheck"]["of"] == 20
        && r["recheck"]["before"] == "deleted"));
    assert_eq!(recs.iter().filter(|r| r["state"] == "present").count(), 3);

    // JSON: per vendor, and the total.
    let (code, out, _) = run(&mut status(&cx, &ledger, &input, &["--recheck", "--json"]));
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["present_again"], 3);
    assert_eq!(v["exit_code"], 1);
    let g = &v["groups"][0];
    assert_eq!(g["recheck"]["present"], 3);
    assert_eq!(g["recheck"]["checked"], 20);
    assert_ne!(
        g["recheck"]["pass"],
        pass.as_str(),
        "a finished pass is not resumed"
    );

    // The report shows each row's last check, and the three that came back.
    let (code, out, err) = run(bin().args(["report", "--csv", "--ledger"]).arg(&ledger));
    assert_eq!(code, Some(0), "{err}");
    let mut rd = csv::Reader::from_reader(out.as_bytes());
    let h = rd.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter()
            .all(|r| r[col("last_checked_at")].len() >= 20
                && r[col("last_checked_at")].ends_with('Z'))
    );
    assert_eq!(
        rows.iter()
            .filter(|r| &r[col("state")] == "present")
            .count(),
        3
    );
}

#[test]
fn recheck_with_everything_still_deleted_exits_0() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let (ledger, input, _) = deleted_and_verified(&cx);
    let (code, out, err) = run(&mut status(&cx, &ledger, &input, &["--recheck"]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        out.contains("result: every identifier re-checked is still deleted"),
        "{out}"
    );
}

#[test]
fn an_interrupted_recheck_is_finished_by_the_next_one() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let (ledger, input, _) = deleted_and_verified(&cx);
    cx.fake().clear_log();
    // The token and five lookups pass; the next answer refuses the credential, which
    // stops the pass part-way (exit 3).
    for _ in 0..6 {
        cx.fake()
            .push_fault(Some(VendorKind::Mparticle), Fault::Pass);
    }
    cx.fake()
        .push_fault(Some(VendorKind::Mparticle), Fault::Status(401));
    let (code, out, err) = run(&mut status(&cx, &ledger, &input, &["--recheck"]));
    assert_eq!(code, Some(3), "{out}\n{err}");
    let first = recheck_records(&ledger);
    let k = first.len();
    assert!((5..20).contains(&k), "the pass stopped part-way: {k}");
    let pass = first[0]["recheck"]["pass"].as_str().unwrap().to_owned();

    cx.fake().clear_log();
    let (code, out, err) = run(&mut status(&cx, &ledger, &input, &["--recheck"]));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        err.contains(&format!("re-check pass {pass} (finishing")),
        "{err}"
    );
    assert!(
        out.contains(&format!(
            "pass {pass} (resumed): 20 checked: 20 still deleted"
        )),
        "{out}"
    );
    assert_eq!(
        profile_lookups(&cx),
        20 - k,
        "only what the pass had not reached"
    );
    let all = recheck_records(&ledger);
    assert_eq!(all.len(), 20);
    assert!(all.iter().all(|r| r["recheck"]["pass"] == pass.as_str()));
}

#[test]
fn recheck_of_lytics_jobs_says_what_a_job_status_cannot_show() {
    let cx = TestContext::with_fake(SandboxConfig {
        lytics_state_step: std::time::Duration::ZERO,
        ..SandboxConfig::default()
    });
    let input = write_csv(cx.dir(), "users.csv", "email", &emails(6));
    let (code, _, err) = run(&mut cx.lytics_delete(&input));
    assert_eq!(code, Some(0), "{err}");
    let ledger = ledger_of(&input);
    let poll = |extra: &[&str]| {
        let mut c = cx.cmd_with_credentials();
        c.args(["status", "--max-rps", "200", "--ledger"])
            .arg(&ledger)
            .args(extra);
        run(&mut c)
    };
    let (code, out, err) = poll(&[]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let (code, out, err) = poll(&["--recheck"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("6 checked: 6 still deleted"), "{out}");
    assert!(
        out.contains("it cannot show a profile re-created since"),
        "{out}"
    );
    assert_eq!(recheck_records(&ledger).len(), 6);
}
