//! Whole-CLI checks: help text, the vendors table, exit codes reachable without a vendor, and
//! that the committed completions and man page match the binary.
//!
//! Regenerate the committed files with `CDP_PURGE_UPDATE_GENERATED=1 cargo test --test it cli::`.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

mod names;

fn bin() -> Command {
    let mut c = crate::support::assert_cdp_purge();
    // clap wraps help at $COLUMNS when set: the committed copies use its default width.
    c.env_remove("COLUMNS").env_remove("LINES");
    // Help shows the value of a flag's variable when it is set.
    for v in [
        "CDP_PURGE_BASE_URL",
        "MPARTICLE_ORG_ID",
        "MPARTICLE_ACCOUNT_ID",
        "MPARTICLE_WORKSPACE_ID",
    ] {
        c.env_remove(v);
    }
    c
}

fn check_generated(args: &[&str], committed: &str) {
    let out = bin().args(args).output().expect("runs");
    assert!(out.status.success(), "{args:?} failed");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(committed);
    if std::env::var_os("CDP_PURGE_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &out.stdout).expect("write generated file");
        return;
    }
    let on_disk = std::fs::read(&path).unwrap_or_default();
    assert!(
        on_disk == out.stdout,
        "{committed} is stale: run `CDP_PURGE_UPDATE_GENERATED=1 cargo test --test it cli::` and commit it"
    );
}

#[test]
fn committed_completions_are_current() {
    for (shell, file) in [
        ("bash", "completions/cdp-purge.bash"),
        ("zsh", "completions/_cdp-purge"),
        ("fish", "completions/cdp-purge.fish"),
        ("powershell", "completions/_cdp-purge.ps1"),
        ("elvish", "completions/cdp-purge.elv"),
    ] {
        check_generated(&["completions", shell], file);
    }
}

/// Each command's `--help`, committed, so that a renamed or added flag shows in review.
#[test]
fn committed_help_is_current() {
    check_generated(&["--help"], "tests/it/cli/help/cdp-purge.txt");
    for cmd in [
        "plan",
        "delete",
        "status",
        "report",
        "vendors",
        "targets",
        "check",
        "sandbox",
        "completions",
    ] {
        check_generated(&[cmd, "--help"], &format!("tests/it/cli/help/{cmd}.txt"));
    }
}

#[test]
fn committed_man_page_is_current() {
    check_generated(&["man"], "doc/cdp-purge.1");
}

#[test]
fn help_documents_exit_codes() {
    bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:").and(predicate::str::contains("130")));
}

#[test]
fn vendors_lists_every_vendor_with_caps_and_credentials() {
    let out = bin().args(["vendors", "--json"]).output().expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = v.as_array().expect("array");
    let ids: Vec<_> = rows.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "lytics",
            "mparticle",
            "clevertap",
            "segment",
            "hightouch",
            "amplitude",
            "iterable",
            "posthog",
            "segment-regs",
            "mixpanel",
            "braze"
        ]
    );
    // The downstream vendors' documented caps and quotas.
    assert_eq!(rows[5]["max_batch"], 100);
    assert_eq!(rows[5]["quota"]["requests"]["count"], 1);
    assert_eq!(rows[6]["max_batch"], 1);
    assert_eq!(rows[6]["quota"]["requests"]["count"], 3);
    assert_eq!(rows[7]["max_batch"], 1000);
    assert_eq!(rows[7]["quota"]["requests"]["per"], 60.0);
    let mp = &rows[1];
    assert_eq!(mp["max_batch"], 100);
    assert_eq!(mp["quota"]["items"]["count"], 1500);
    assert_eq!(rows[3]["max_batch"], 1);
    assert_eq!(rows[3]["quota"]["requests"]["count"], 100);
    assert_eq!(rows[2]["quota"]["in_flight"], 3);
    assert!(mp["credentials"].as_array().is_some_and(|c| c.len() == 2));

    bin().arg("vendors").assert().success().stdout(
        predicate::str::contains("MPARTICLE_API_SECRET")
            .and(predicate::str::contains("1500/s items")),
    );
}

#[test]
fn usage_errors_exit_2() {
    // Unknown vendor: clap's own usage error.
    bin()
        .args(["plan", "--vendor", "nope", "-i", "x.csv"])
        .assert()
        .code(2);
    // A vendor flag missing.
    bin()
        .args([
            "plan", "--vendor", "lytics", "-i", "x.csv", "--column", "email",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--id-type"));
    // Batch size above the cap names the cap.
    bin()
        .args([
            "plan",
            "--vendor",
            "mparticle",
            "--environment",
            "production",
            "--id-type",
            "customerid",
            "-i",
            "x.csv",
            "--column",
            "id",
            "--batch-size",
            "101",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cap of 100"));
}

#[test]
fn a_closed_stdout_exits_quietly() {
    // The reader is gone before the process starts, so every write gets EPIPE: no race.
    for args in [
        &["vendors", "--json"][..],
        &["vendors"],
        &["completions", "bash"],
        &["man"],
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = crate::support::cdp_purge()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.is_empty(),
            "{args:?} printed on a broken pipe: {stderr}"
        );
    }
}

#[test]
fn readme_usage_matches_the_binary() {
    const START: &str = "<!-- usage:start (generated from `cdp-purge --help`; tests/it/cli.rs checks it) -->\n```text\n";
    const END: &str = "```\n<!-- usage:end -->";
    let out = bin().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).expect("utf-8 help");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme
        .find(START)
        .expect("README has the usage start marker")
        + START.len();
    let end = start
        + readme[start..]
            .find(END)
            .expect("README has the usage end marker");
    if std::env::var_os("CDP_PURGE_UPDATE_GENERATED").is_some() {
        let updated = format!("{}{help}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    assert!(
        readme[start..end] == help,
        "README.md's usage block is stale: run `CDP_PURGE_UPDATE_GENERATED=1 cargo test --test it cli::`"
    );
}
