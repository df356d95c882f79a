//! `status --group NAME --verify -i INPUT`: a target verified by profile lookups (Segment
//! here) re-reads the group's input the way its own intake read it (recorded in the group's
//! index), and only when the input is the one its ledger recorded: a changed file is
//! refused for that target, with nothing looked up and nothing claimed, while the other
//! targets are followed as usual.

use std::path::{Path, PathBuf};

use cdp_purge_sandbox::SandboxConfig;

use crate::support::TestContext;

fn config(base: &str) -> String {
    format!(
        r#"{}
[targets.seg]
vendor = "segment"
base_url = "{base}"
space = "spa_1"
id_type = "email"
column = "email"
user_id_column = "uid"

[groups]
erasure = ["cdp", "seg"]
"#,
        crate::support::lytics_email_target("cdp", base)
    )
}

/// The ledger the group's index names for `target`.
fn ledger_of(input: &Path, target: &str) -> PathBuf {
    let index = format!("{}.ledger.group-erasure.json", input.display());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index).unwrap()).unwrap();
    let m = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["target"] == target)
        .unwrap_or_else(|| panic!("{target} not in {v}"));
    PathBuf::from(m["ledger"].as_str().unwrap())
}

/// The states of the ledger's profile status records (Segment's: by identifier hash).
fn profile_states(ledger: &Path) -> Vec<String> {
    std::fs::read_to_string(ledger)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["type"] == "status" && r["id_hmac"].is_string())
        .map(|r| r["state"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn profile_lookups(cx: &TestContext) -> usize {
    cx.fake()
        .log()
        .iter()
        .filter(|r| r.path.contains("/profiles/"))
        .count()
}

#[test]
fn a_group_verifies_its_lookup_target_from_the_recorded_intake_and_only_on_the_same_input() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let cfg = cx.file("cdp-purge.toml", config(&cx.fake().base_url()));
    // The user_id column is the target's own intake setting (`uid`), which the status
    // command is never told: it comes from the group's index.
    let rows: Vec<String> = (0..6).map(|i| format!("p{i}@x.co,u-{i}")).collect();
    let original = format!("email,uid\n{}\n", rows.join("\n"));
    let input = cx.file("list.csv", &original);
    let mut del = cx.cmd_with_credentials();
    del.arg("--config")
        .arg(&cfg)
        .args(["delete", "--group", "erasure", "--yes", "-i"])
        .arg(&input);
    let out = cx.run(&mut del);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let seg = ledger_of(&input, "seg");
    let status = || {
        let mut c = cx.cmd_with_credentials();
        c.arg("--config")
            .arg(&cfg)
            .args([
                "status",
                "--group",
                "erasure",
                "--verify",
                "--max-retries",
                "1",
            ])
            .arg("-i")
            .arg(&input);
        c
    };

    // A changed input (one address differs): Segment's target is refused, says why, looks
    // nothing up and records nothing; Lytics, which needs no input, is still followed.
    std::fs::write(&input, original.replace("p0@x.co", "q0@x.co")).unwrap();
    cx.fake().clear_log();
    let out = cx.run(&mut status());
    let all = out.transcript();
    assert_ne!(out.code, Some(0), "{all}");
    assert!(
        out.stderr
            .contains("target seg: ")
            && out.stderr.contains("is not the input its ledger recorded (its SHA-256 differs): its profiles are not looked up and nothing is recorded for them"),
        "{all}"
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("seg ") && l.contains("exit 2")),
        "{all}"
    );
    assert_eq!(profile_lookups(&cx), 0, "{all}");
    assert!(profile_states(&seg).is_empty(), "{all}");
    assert!(
        cx.fake()
            .log()
            .iter()
            .any(|r| r.path.contains("deletestatus")),
        "Lytics is still polled: {all}"
    );
    assert!(!all.contains("@x.co") && !all.contains("u-1"), "{all}");

    // The input as the group's delete read it: every Segment profile is looked up by the
    // user_id column its intake recorded, and the removed external id is absent.
    std::fs::write(&input, &original).unwrap();
    cx.fake().clear_log();
    let out = cx.run(&mut status());
    let all = out.transcript();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("seg ") && l.contains("exit 0")),
        "{all}"
    );
    let states = profile_states(&seg);
    assert_eq!(states.len(), 6, "{all}");
    assert!(states.iter().all(|s| s == "deleted"), "{states:?}\n{all}");
    let by_user_id = cx
        .fake()
        .log()
        .iter()
        .filter(|r| r.path.contains("/profiles/user_id:u-"))
        .count();
    assert_eq!(by_user_id, 6, "{all}");
    assert!(!all.contains("@x.co") && !all.contains("u-1"), "{all}");
}
