//! `cdp-purge check` for the downstream vendors against their sandbox fakes: a good key
//! passes through a documented read-only call (exit 0, nothing deleted), a refused one
//! exits 3 naming the variable to fix, and Braze, which has no such call, says so.

use cdp_purge_sandbox::SandboxConfig;

use crate::support::{Outcome, TestContext};

/// Each vendor's `check` flags and the variable its refused key is read from.
const CASES: &[(&[&str], &str)] = &[
    (&["segment-regs"], "SEGMENT_PUBLIC_API_TOKEN"),
    (&["mixpanel"], "MIXPANEL_GDPR_TOKEN"),
    (&["amplitude", "--id-type", "user_id"], "AMPLITUDE_API_KEY"),
    (&["iterable", "--id-type", "email"], "ITERABLE_API_KEY"),
    (
        &["posthog", "--id-type", "distinct_id", "--project-id", "12"],
        "POSTHOG_PERSONAL_API_KEY",
    ),
];

fn check(cx: &TestContext, vendor: &[&str], env: Option<(&str, &str)>) -> Outcome {
    let mut cmd = cx.cmd_with_credentials();
    cmd.args(["check", "--json", "--vendor"])
        .args(vendor)
        .args(["--base-url", &cx.fake().base_url()]);
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    cx.run(&mut cmd)
}

fn result(out: &Outcome) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {}", out.transcript()));
    v[0].clone()
}

#[test]
fn each_downstream_vendor_proves_its_key_and_refuses_a_wrong_one() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    for (vendor, var) in CASES {
        let out = check(&cx, vendor, None);
        assert_eq!(out.code, Some(0), "{vendor:?}: {}", out.transcript());
        let r = result(&out);
        assert_eq!(r["result"], "ok", "{vendor:?}: {r}");
        assert_eq!(r["probes"].as_array().map(Vec::len), Some(1), "{r}");

        let out = check(&cx, vendor, Some((var, "wrong-key-9f3")));
        assert_eq!(out.code, Some(3), "{vendor:?}: {}", out.transcript());
        let r = result(&out);
        assert_eq!(r["result"], "refused", "{vendor:?}: {r}");
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains(var), "{vendor:?} names {var}: {all}");
        assert!(!all.contains("wrong-key-9f3"), "{vendor:?} leaks the key");
    }
    // Read-only: the fake saw no deletion.
    assert!(
        cx.fake().log().iter().all(|r| r.method == "GET"),
        "{:?}",
        cx.fake().log().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn posthog_project_and_scope_are_told_apart() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let out = check(
        &cx,
        &[
            "posthog",
            "--id-type",
            "distinct_id",
            "--project-id",
            "not-a-project",
        ],
        None,
    );
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert!(
        result(&out)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no project not-a-project"))
    );
    // A key without project:read works but cannot prove the project: not a refusal.
    let out = check(
        &cx,
        &["posthog", "--id-type", "distinct_id", "--project-id", "12"],
        Some(("POSTHOG_PERSONAL_API_KEY", "phx_read_only")),
    );
    let r = result(&out);
    assert_ne!(out.code, Some(3), "{}", out.transcript());
    assert!(r["result"] == "ok" || r["result"] == "unverified", "{r}");
}

#[test]
fn braze_says_its_key_is_unchecked_and_calls_nothing() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let out = check(
        &cx,
        &["braze", "--id-type", "email", "--instance", "fra-02"],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let r = result(&out);
    assert_eq!(r["result"], "unverified", "{r}");
    let not_checked = r["not_checked"].to_string();
    assert!(
        not_checked.contains("BRAZE_API_KEY") && not_checked.contains("fra-02"),
        "{r}"
    );
    assert!(cx.fake().log().is_empty());
}
