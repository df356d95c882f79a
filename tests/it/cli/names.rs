//! One name per concept: `--id-type` for every vendor (old names still work, with a note),
//! `--format` for input only, inputs as FILE arguments, a flag of another vendor refused,
//! every missing setting in one message, `plan` asking only for what changes the plan.

use std::path::Path;

use predicates::prelude::*;

use super::bin;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Run and return (exit code, stdout, stderr).
fn run(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// No vendor credentials from the developer's shell: `plan` must not need any.
fn plan() -> assert_cmd::Command {
    let mut c = bin();
    for v in [
        "LYTICS_API_TOKEN",
        "MPARTICLE_API_KEY",
        "MPARTICLE_API_SECRET",
        "CLEVERTAP_ACCOUNT_ID",
        "CLEVERTAP_PASSCODE",
        "SEGMENT_TOKEN",
        "HIGHTOUCH_API_KEY",
        "CDP_PURGE_CONFIG",
    ] {
        c.env_remove(v);
    }
    c.arg("plan");
    c
}

/// `delete --sandbox` of `dir/a.csv` (emails) into `dir/l.jsonl`, given as a FILE argument.
fn sandbox_delete(dir: &Path) {
    let (code, _, err) = run(bin()
        .current_dir(dir)
        .args([
            "delete",
            "--sandbox",
            "--yes",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
        ])
        .args(["--ledger", "l.jsonl", "a.csv"]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn every_vendor_takes_id_type_and_its_old_name_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "ids.csv",
        "id,kind,uid\nann@example.com,email,u1\n",
    );
    let f = f.to_str().unwrap();
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("lytics", "--field", "email", &[]),
        ("mparticle", "--identity-type", "email", &[]),
        ("clevertap", "--id-kind", "identity", &[]),
        ("segment", "", "email", &["--user-id-column", "uid"]),
        ("hightouch", "--identifier-type", "email", &[]),
    ];
    for (vendor, old, value, extra) in cases {
        let base = ["--vendor", vendor, f, "--column", "id", "--json"];
        let (code, out, err) = run(plan().args(base).args(["--id-type", value]).args(*extra));
        assert_eq!(code, 0, "{vendor}: {err}");
        assert!(out.contains("\"kept\":1"), "{vendor}: {out}");
        assert!(!err.contains("deprecated"), "{vendor}: {err}");
        if old.is_empty() {
            continue;
        }
        let (code, old_out, err) = run(plan().args(base).args([old, value]).args(*extra));
        assert_eq!(code, 0, "{vendor} {old}: {err}");
        assert_eq!(old_out, out, "{vendor}: the old name plans the same");
        assert!(
            err.contains(&format!("`{old}` is deprecated")) && err.contains("use `--id-type`"),
            "{vendor}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        // --quiet asks for errors only (as uv and cargo silence warnings).
        let (code, _, err) = run(plan().arg("-q").args(base).args([old, value]).args(*extra));
        assert_eq!((code, err.as_str()), (0, ""), "{vendor}");
        // Both names at once is a usage error.
        let (code, _, err) = run(plan()
            .args(base)
            .args([old, value, "--id-type", value])
            .args(*extra));
        assert_eq!(code, 2, "{vendor}: {err}");
    }
}

#[test]
fn the_old_type_column_name_works_with_the_same_note() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "ids.csv",
        "id,kind,uid\nann@example.com,email,u1\n",
    );
    let f = f.to_str().unwrap();
    for (vendor, extra) in [
        ("segment", &["--user-id-column", "uid"][..]),
        ("hightouch", &[][..]),
    ] {
        let base = ["--vendor", vendor, f, "--column", "id", "--json"];
        let (code, out, err) = run(plan()
            .args(base)
            .args(["--id-type-column", "kind"])
            .args(extra));
        assert_eq!(code, 0, "{vendor}: {err}");
        assert!(!err.contains("deprecated"), "{vendor}: {err}");
        let (code, old_out, err) = run(plan()
            .args(base)
            .args(["--identifier-type-column", "kind"])
            .args(extra));
        assert_eq!(code, 0, "{vendor}: {err}");
        assert_eq!(old_out, out, "{vendor}: the old name plans the same");
        assert!(
            err.contains("`--identifier-type-column` is deprecated")
                && err.contains("use `--id-type-column`"),
            "{vendor}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    // A vendor without a type column names the ones that have it, as for the new name.
    let (code, _, err) = run(plan().args([
        "--vendor",
        "lytics",
        "--id-type",
        "email",
        "--identifier-type-column",
        "kind",
        f,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Twilio Segment and Hightouch"), "{err}");
}

#[test]
fn each_vendor_accepts_the_values_it_did_and_clevertaps_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ids.csv", "id\n123\nnot-a-number\n");
    let f = f.to_str().unwrap();
    for old in ["--id-type", "--id-kind"] {
        let (code, _, err) = run(plan().args(["--vendor", "clevertap", old, "email", f]));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("identity, guid"), "{err}");
    }
    // mParticle's `mpid` still validates the values as MPIDs.
    let (code, out, err) = run(plan().args([
        "--vendor",
        "mparticle",
        "--id-type",
        "mpid",
        f,
        "--column",
        "id",
        "--json",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"kept\":1"), "{out}");
}

#[test]
fn a_flag_of_another_vendor_is_an_error_naming_its_vendor() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ids.csv", "email\nann@example.com\n");
    let f = f.to_str().unwrap();
    let (code, _, err) = run(plan().args([
        "--vendor",
        "lytics",
        "--id-type",
        "email",
        "--pod",
        "eu1",
        "--graph",
        "g",
        f,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`--pod` is a flag of mParticle")
            && err.contains("`--graph` is a flag of Hightouch")
            && err.contains("--vendor lytics does not take them"),
        "{err}"
    );
    // An old name stays its vendor's.
    let (code, _, err) = run(plan().args(["--vendor", "mparticle", "--field", "email", f]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`--field` (now --id-type) is a flag of Lytics"),
        "{err}"
    );
    // `check` too.
    let (code, _, err) = run(bin().args([
        "check",
        "--vendor",
        "lytics",
        "--id-type",
        "email",
        "--space",
        "s",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`--space` is a flag of Twilio Segment"),
        "{err}"
    );

    // Over config targets: a flag must fit one of the selected targets, and applies to those.
    let cfg = write(
        dir.path(),
        "c.toml",
        "[targets.lyt]\nvendor = \"lytics\"\nid_type = \"email\"\n\n[targets.mp]\nvendor = \"mparticle\"\nid_type = \"email\"\n",
    );
    let (code, _, err) = run(plan()
        .arg("--config")
        .arg(&cfg)
        .args(["--target", "lyt", "--pod", "eu1", f]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`--pod` is a flag of mParticle") && err.contains("target `lyt`"),
        "{err}"
    );
    let (code, out, err) =
        run(plan()
            .arg("--config")
            .arg(&cfg)
            .args(["--all-targets", "--pod", "eu1", f, "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn every_missing_setting_is_reported_in_one_message() {
    let (code, _, err) = run(bin()
        .env_remove("SEGMENT_TOKEN")
        .args(["delete", "--vendor", "segment", "--yes"]));
    assert_eq!(code, 2, "{err}");
    for needed in [
        "FILE",
        "--space",
        "--id-type or --id-type-column",
        "--user-id-column",
    ] {
        assert!(err.contains(needed), "{needed}: {err}");
    }
    assert_eq!(err.matches("error:").count(), 1, "{err}");
}

#[test]
fn plan_asks_only_for_what_changes_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ids.csv", "id,uid\nann@example.com,u1\n");
    let f = f.to_str().unwrap();
    for args in [
        &["--vendor", "mparticle", "--id-type", "email"][..],
        &[
            "--vendor",
            "segment",
            "--id-type",
            "email",
            "--user-id-column",
            "uid",
        ][..],
        &["--vendor", "hightouch", "--id-type", "email"][..],
    ] {
        let (code, _, err) = run(plan().args(args).args([f, "--column", "id"]));
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    // A deletion does need them.
    let (code, _, err) = run(bin().args([
        "delete",
        "--sandbox",
        "--yes",
        "--vendor",
        "mparticle",
        "--id-type",
        "email",
        f,
        "--column",
        "id",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--environment"), "{err}");
}

#[test]
fn inputs_are_also_file_arguments_read_in_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", "email\na@example.com\n");
    let b = write(dir.path(), "b.csv", "email\nb@example.com\n");
    let c = write(dir.path(), "c.csv", "email\nc@example.com\n");
    let (code, out, err) = run(plan()
        .args([
            "--vendor",
            "lytics",
            "--id-type",
            "email",
            "--column",
            "email",
            "--json",
        ])
        .arg(&a)
        .arg("-i")
        .arg(&b)
        .arg(&c));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let files: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(files, ["a.csv", "b.csv", "c.csv"]);

    // `-` is stdin.
    plan()
        .args(["--vendor", "lytics", "--id-type", "email", "-", "--json"])
        .write_stdin("email\nx@example.com\ny@example.com\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("\"kept\":2"));

    // delete, then report --verify and status --verify take them too.
    sandbox_delete(dir.path());
    let (code, out, err) = run(bin()
        .current_dir(dir.path())
        .args(["report", "--ledger", "l.jsonl", "--verify", "a.csv"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("input a.csv: sha256 matches"), "{out}");
    let (code, out, _) = run(bin()
        .current_dir(dir.path())
        .args(["report", "--ledger", "l.jsonl", "--verify", "b.csv"]));
    assert_eq!(code, 1, "another file is reported: {out}");
    // Without --verify a FILE means nothing to report or status: refused, not ignored.
    for cmd in ["report", "status"] {
        let (code, _, err) = run(bin()
            .current_dir(dir.path())
            .args([cmd, "--ledger", "l.jsonl", "a.csv"]));
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains("--verify"), "{cmd}: {err}");
    }
}

#[test]
fn report_output_is_json_or_csv_and_the_old_format_flag_still_works() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.csv", "email\na@example.com\n");
    sandbox_delete(dir.path());
    let report = |args: &[&str]| {
        run(bin()
            .current_dir(dir.path())
            .args(["report", "--ledger", "l.jsonl"])
            .args(args))
    };
    for (new, old) in [("--csv", "csv"), ("--json", "json")] {
        let (code, out, err) = report(&[new]);
        assert_eq!((code, err.as_str()), (0, ""), "{new}");
        let (code, old_out, err) = report(&["--format", old]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(old_out, out, "--format {old} is --{old}");
        assert!(err.contains("`report --format` is deprecated"), "{err}");
    }
    assert!(report(&["--csv"]).1.starts_with("vendor,input_file,row"));
    let (code, _, err) = report(&["--json", "--csv"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn config_files_take_id_type_and_old_keys_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ids.csv", "email\nann@example.com\n");
    for (key, note) in [("id_type", false), ("field", true)] {
        let cfg = write(
            dir.path(),
            "c.toml",
            &format!("[targets.lyt]\nvendor = \"lytics\"\n{key} = \"email\"\n"),
        );
        let (code, _, err) = run(plan()
            .arg("--config")
            .arg(&cfg)
            .args(["--target", "lyt"])
            .arg(&f));
        assert_eq!(code, 0, "{key}: {err}");
        assert_eq!(
            err.contains("`field` is deprecated") && err.contains("use `id_type`"),
            note,
            "{key}: {err}"
        );
    }
}
