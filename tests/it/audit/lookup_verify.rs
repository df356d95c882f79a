//! Verification by profile lookup at every vendor that can answer (issue 17): Segment's
//! Profile API lists a profile's external ids, mParticle resolves an identity to a profile,
//! CleverTap returns a profile 24 h after a deletion was queued. Each is checked against
//! the sandbox's fakes, written from the vendors' documents: deleted → verified deleted
//! where the vendor documents a "not found" (Segment), unknown where it documents none
//! (CleverTap's profile lookup, mParticle's resolve: whatever their error says), re-created
//! → present again with exit 1, and answers outside the documented shapes (another shape,
//! several profiles, a 5xx every time) → unknown, never deleted.

use std::time::Duration;

use cdp_purge_sandbox::{Credentials, SandboxConfig, VendorKind};
use support::TestContext;

use super::*;

/// The latest status record per identifier hash: its state.
fn states(ledger: &Path) -> std::collections::HashMap<String, String> {
    records(ledger)
        .into_iter()
        .filter(|r| r["type"] == "status")
        .filter_map(|r| {
            Some((
                r["id_hmac"].as_str()?.to_owned(),
                r["state"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn count(states: &std::collections::HashMap<String, String>, state: &str) -> usize {
    states.values().filter(|s| *s == state).count()
}

/// `delete ARGS --yes -i input` against the context's fake, which must succeed; its ledger.
fn deleted(cx: &TestContext, args: &[&str], input: &Path) -> PathBuf {
    let mut del = cx.cmd_with_credentials();
    del.arg("delete")
        .args(args)
        .args(["--yes", "--base-url", &cx.fake().base_url(), "-i"])
        .arg(input);
    let (code, out, err) = run(&mut del);
    assert_eq!(code, Some(0), "{out}\n{err}");
    ledger_of(input)
}

/// `n` identifiers `{prefix}{i}`, then three the fakes answer outside the documented shapes:
/// several profiles, another shape, a 500 every time.
fn with_odd_ones(prefix: &str, n: usize) -> Vec<String> {
    let mut ids: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    ids.extend(["several", "undocumented", "broken"].map(|o| format!("{prefix}{o}")));
    ids
}

/// Three deleted `values` come back at the fake; the re-check `recheck` finds exactly them
/// and exits 1.
fn three_come_back(
    cx: &TestContext,
    vendor: VendorKind,
    values: &[&str],
    recheck: &mut Command,
    ledger: &Path,
) {
    assert_eq!(cx.fake().recreate(vendor, values), 3);
    let (code, out, err) = run(recheck);
    assert_eq!(code, Some(1), "{out}\n{err}");
    let name = match vendor {
        VendorKind::Mparticle => "mParticle",
        VendorKind::Clevertap => "CleverTap",
        _ => "Twilio Segment",
    };
    assert!(
        out.contains(&format!(
            "result: 3 deleted profile(s) are present again ({name} 3)"
        )),
        "{out}"
    );
    assert_eq!(count(&states(ledger), "present"), 3, "{out}");
}

/// A `status --verify` at a vendor that documents no answer for a missing profile: all `n`
/// profiles end unknown, none deleted; the grouped reason (`count  HTTP status: the vendor's
/// words; why`) says why that proves nothing, and the summary that the vendor proves
/// presence only.
fn nothing_proven(ledger: &Path, (out, err): (&str, &str), n: usize, reason: &str) {
    let s = states(ledger);
    assert_eq!(s.len(), n, "{out}\n{err}");
    assert_eq!(count(&s, "deleted"), 0, "{out}\n{err}");
    assert_eq!(count(&s, "error"), n, "{out}\n{err}");
    assert!(
        err.contains(&format!("{reason}, so this cannot prove the deletion")),
        "{err}"
    );
    assert!(out.contains("  proves    present only: "), "{out}");
}

fn lookups(cx: &TestContext, path_has: &str) -> usize {
    cx.fake()
        .log()
        .iter()
        .filter(|r| r.path.contains(path_has))
        .count()
}

/// `status EXTRA` against the context's fake, re-reading `input`'s `column`; one retry.
fn lookup_status(
    cx: &TestContext,
    ledger: &Path,
    input: &Path,
    column: &str,
    extra: &[&str],
) -> Command {
    let mut c = cx.cmd_with_credentials();
    c.arg("status")
        .args(extra)
        .args(["--max-retries", "1", "--base-url", &cx.fake().base_url()])
        .arg("--ledger")
        .arg(ledger)
        .arg("-i")
        .arg(input)
        .args(["--column", column]);
    c
}

/// `delete` arguments for Segment space `spa_1` by email, with each row's user_id.
const SEGMENT_BY_EMAIL: [&str; 10] = [
    "--vendor",
    "segment",
    "--space",
    "spa_1",
    "--id-type",
    "email",
    "--column",
    "email",
    "--user-id-column",
    "user_id",
];

fn segment_status(cx: &TestContext, ledger: &Path, input: &Path, extra: &[&str]) -> Command {
    let mut c = lookup_status(cx, ledger, input, "email", extra);
    c.args(["--lookup-column", "user_id"]);
    c
}

#[test]
fn segment_verifies_the_removed_external_id_is_absent_and_finds_it_again_after_a_replay() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    // Row 12 is answered in an undocumented shape, row 13 with a 500 every time: neither
    // may be taken for a deletion. They come after the first row, whose answer proves the
    // space and host.
    let mut rows: Vec<String> = (0..12)
        .map(|i| format!("u-{i},person{i}@example.com"))
        .collect();
    rows.push("u-undocumented,odd@example.com".into());
    rows.push("u-broken,down@example.com".into());
    let input = cx.file(
        "people.csv",
        format!("user_id,email\n{}\n", rows.join("\n")),
    );
    let ledger = deleted(&cx, &SEGMENT_BY_EMAIL, &input);

    // Without the input, status says what it needs rather than guess.
    let mut bare = cx.cmd_with_credentials();
    bare.args(["status", "--verify", "--base-url", &cx.fake().base_url()])
        .arg("--ledger")
        .arg(&ledger);
    let (code, _, err) = run(&mut bare);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--lookup-column"), "{err}");

    cx.fake().clear_log();
    let (code, out, err) = run(&mut segment_status(&cx, &ledger, &input, &["--verify"]));
    assert_eq!(code, Some(1), "two answers are unknown: {out}\n{err}");
    let s = states(&ledger);
    assert_eq!(s.len(), 14, "{out}");
    assert_eq!(count(&s, "deleted"), 12, "{out}");
    assert_eq!(count(&s, "error"), 2, "{out}");
    assert_eq!(count(&s, "present"), 0, "{out}");
    assert!(
        err.contains("not the documented external_ids list"),
        "{err}"
    );
    assert!(lookups(&cx, "/profiles/user_id:") >= 14);
    for r in &rows {
        let email = r.split(',').nth(1).unwrap();
        assert!(!out.contains(email) && !err.contains(email), "{email}");
    }

    // An Event Archive replay brings three identifiers back: the re-check finds them.
    let back = [
        "person3@example.com",
        "person4@example.com",
        "person5@example.com",
    ];
    assert_eq!(cx.fake().recreate(VendorKind::Segment, &back), 3);
    let (code, out, err) = run(&mut segment_status(&cx, &ledger, &input, &["--recheck"]));
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("3 present again"), "{out}");
    assert!(
        out.contains("result: 3 deleted profile(s) are present again (Twilio Segment 3)"),
        "{out}"
    );
    let s = states(&ledger);
    assert_eq!(count(&s, "present"), 3, "{out}");
    assert_eq!(count(&s, "deleted"), 9, "{out}");

    // The report shows what the last check found.
    let (code, out, err) = run(bin().args(["report", "--csv", "--ledger"]).arg(&ledger));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.matches(",present,").count(), 3, "{out}");
}

#[test]
fn a_bounded_verify_passes_over_profiles_the_input_lacks_and_gets_through_the_rest() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let rows: Vec<String> = (0..8)
        .map(|i| format!("u-{i},person{i}@example.com"))
        .collect();
    let input = cx.file(
        "people.csv",
        format!("user_id,email\n{}\n", rows.join("\n")),
    );
    let ledger = deleted(&cx, &SEGMENT_BY_EMAIL, &input);
    // Only the last four rows: the first four come first in the ledger and are never
    // checked, yet no invocation with this input can look them up.
    let partial = cx.file(
        "later.csv",
        format!("user_id,email\n{}\n", rows[4..].join("\n")),
    );
    let limited = ["--verify", "--limit", "2"];
    for (round, deleted_so_far) in [(1, 2), (2, 4)] {
        cx.fake().clear_log();
        let (code, out, err) = run(&mut segment_status(&cx, &ledger, &partial, &limited));
        assert_eq!(code, Some(1), "round {round}: {out}\n{err}");
        assert_eq!(count(&states(&ledger), "deleted"), deleted_so_far, "{out}");
        assert!(lookups(&cx, "/profiles/user_id:") >= 2, "round {round}");
        assert!(
            out.contains(
                "input     4 open profiles are not in the given input: they cannot be looked up"
            ),
            "{out}"
        );
        assert!(
            out.contains(&format!("{} not checked", 8 - deleted_so_far)),
            "{out}"
        );
    }
    // Everything the partial input can give is done: nothing more is asked with it.
    cx.fake().clear_log();
    let (code, out, _) = run(&mut segment_status(&cx, &ledger, &partial, &limited));
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(lookups(&cx, "/profiles/user_id:"), 0, "{out}");
    // The whole input gets the other four, and only then is everything proven.
    let all = ["--verify", "--limit", "4"];
    let (code, out, err) = run(&mut segment_status(&cx, &ledger, &input, &all));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(count(&states(&ledger), "deleted"), 8, "{out}");
    assert!(out.contains("result: all 8 finished"), "{out}");
}

#[test]
fn segment_runs_by_lookup_type_are_verified_by_the_value_looked_up() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let emails: Vec<String> = (0..6).map(|i| format!("p{i}@example.com")).collect();
    let input = write_csv(cx.dir(), "emails.csv", "email", &emails);
    let ledger = deleted(
        &cx,
        &[
            "--vendor",
            "segment",
            "--space",
            "spa_1",
            "--id-type",
            "email",
            "--column",
            "email",
            "--lookup-type",
            "email",
        ],
        &input,
    );
    cx.fake().clear_log();
    let mut st = cx.cmd_with_credentials();
    st.args(["status", "--verify", "--base-url", &cx.fake().base_url()])
        .arg("--ledger")
        .arg(&ledger)
        .arg("-i")
        .arg(&input)
        .args(["--column", "email"]);
    let (code, out, err) = run(&mut st);
    // The deleted email no longer finds its profile: the documented 404.
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(count(&states(&ledger), "deleted"), 6, "{out}");
    let log: Vec<String> = cx.fake().log().iter().map(|r| r.path.clone()).collect();
    assert_eq!(lookups(&cx, "/profiles/email:"), 6, "{log:?}");
}

fn mparticle_status(cx: &TestContext, ledger: &Path, input: &Path, extra: &[&str]) -> Command {
    let base = cx.fake().base_url();
    let mut c = lookup_status(cx, ledger, input, "cid", extra);
    c.envs(Credentials::default().lookup_env_lines())
        .args([
            "--org-id",
            "11",
            "--account-id",
            "22",
            "--workspace-id",
            "33",
        ])
        .args(["--auth-url", &format!("{base}/oauth/token")]);
    c
}

#[test]
fn mparticle_verifies_a_customerid_run_through_the_resolve_route() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let ids = with_odd_ones("C-", 10);
    let input = write_csv(cx.dir(), "customers.csv", "cid", &ids);
    let (code, out, err) = run(&mut mparticle_delete_by(
        &cx.fake().base_url(),
        &input,
        "customerid",
        "cid",
    ));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let ledger = ledger_of(&input);
    cx.fake().clear_log();

    let (code, out, err) = run(&mut mparticle_status(&cx, &ledger, &input, &["--verify"]));
    assert_eq!(code, Some(1), "no answer proves a deletion: {out}\n{err}");
    assert!(!out.contains("MPID only"), "{out}");
    // mParticle documents no "not found" for resolve: its 404 "Profile not found" for the
    // ten deleted customers proves nothing, and is recorded unknown with what it said.
    nothing_proven(
        &ledger,
        (&out, &err),
        13,
        "10  HTTP 404: mParticle answered 'Profile not found'; mParticle documents no answer for an identity that resolves to no profile",
    );
    assert!(err.contains("2 profiles for one identity"), "{err}");
    assert!(
        out.contains("(13 unknown: no answer proved them deleted)"),
        "{out}"
    );
    for id in &ids {
        assert!(
            !err.contains(id.as_str()) && !out.contains(id.as_str()),
            "{id}"
        );
    }
    let resolves: Vec<_> = cx
        .fake()
        .log()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/userprofile/v1/resolve/11/22/33"))
        .collect();
    assert!(resolves.len() >= 13, "{}", resolves.len());

    // Re-created customers resolve to a profile again.
    three_come_back(
        &cx,
        VendorKind::Mparticle,
        &["C-1", "C-2", "C-3"],
        &mut mparticle_status(&cx, &ledger, &input, &["--recheck"]),
        &ledger,
    );
}

/// `status` as if it ran at `now` (RFC 3339): CleverTap's 24 hours cannot be waited for.
fn clevertap_status(
    cx: &TestContext,
    ledger: &Path,
    input: &Path,
    now: &str,
    extra: &[&str],
) -> Command {
    let mut c = lookup_status(cx, ledger, input, "identity", extra);
    c.env("CDP_PURGE_NOW", now);
    c
}

#[test]
fn clevertap_is_verified_by_profile_lookup_only_after_its_24_hour_delay() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let ids = with_odd_ones("ct-", 8);
    let input = write_csv(cx.dir(), "ct.csv", "identity", &ids);
    let ledger = deleted(
        &cx,
        &[
            "--vendor",
            "clevertap",
            "--id-type",
            "identity",
            "--column",
            "identity",
            "--region",
            "in1",
        ],
        &input,
    );
    cx.fake().clear_log();
    let at = |d: Duration| {
        humantime::format_rfc3339_seconds(std::time::SystemTime::now() + d).to_string()
    };

    // Before the delay nothing is looked up: status says until when.
    let (code, out, err) = run(&mut clevertap_status(
        &cx,
        &ledger,
        &input,
        &at(Duration::from_secs(3600)),
        &["--verify"],
    ));
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("not yet verifiable before "), "{out}");
    assert_eq!(lookups(&cx, "/1/profile.json"), 0);

    // 25 hours later (for the tool and the fake alike) CleverTap has processed them.
    cx.fake().advance(Duration::from_secs(25 * 3600));
    let later = at(Duration::from_secs(25 * 3600));
    let (code, out, err) = run(&mut clevertap_status(
        &cx,
        &ledger,
        &input,
        &later,
        &["--verify"],
    ));
    assert_eq!(code, Some(1), "no answer proves a deletion: {out}\n{err}");
    // CleverTap documents no answer for a missing profile: its fail "Profile not found"
    // proves nothing, and is recorded unknown with what it said.
    nothing_proven(
        &ledger,
        (&out, &err),
        11,
        "8  HTTP 404: CleverTap answered fail: 'Profile not found'; CleverTap documents no answer for a missing profile",
    );
    assert!(err.contains("2 profiles for one identifier"), "{err}");
    assert!(lookups(&cx, "/1/profile.json") >= 11);

    // The report calls them unknown, never deleted; the proof says why.
    let (code, out, err) = run(bin().args(["report", "--csv", "--ledger"]).arg(&ledger));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out.matches(",unknown (not proven deleted),").count(),
        11,
        "{out}"
    );
    assert!(!out.contains(",deleted,"), "{out}");
    // Row 2 is the first data row (ct-0; the header is row 1).
    let (code, out, err) = run(bin()
        .args(["report", "--proof", "2", "--ledger"])
        .arg(&ledger));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("unknown (not proven deleted), HTTP 404; CleverTap answered fail"),
        "{out}"
    );
    assert!(!out.contains("ct-0"), "{out}");

    three_come_back(
        &cx,
        VendorKind::Clevertap,
        &["ct-0", "ct-1", "ct-2"],
        &mut clevertap_status(&cx, &ledger, &input, &later, &["--recheck"]),
        &ledger,
    );
}
