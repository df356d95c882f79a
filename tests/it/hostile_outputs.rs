//! What the tool prints and writes, under hostile conditions, through the real binary:
//! row numbers that are physical lines everywhere (rejects, ledger, report); files with
//! personal data created 0600; CSV outputs safe to open in a spreadsheet; credentials in
//! `--base-url` or a broken config file never printed; closed stdout and stderr never a
//! panic nor a change of exit code.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use cdp_purge_sandbox::{Fault, FaultPlan};
use support::*;

/// `cdp-purge <sub> <mParticle customer ids from column id> <args>`.
fn mp(sub: &[&str], args: &[&str]) -> Command {
    let mut c = cdp_purge();
    c.args(sub);
    mparticle_args(&mut c, "production", "customerid", "id").args(args);
    c
}

fn sandbox_delete(input: &Path, ledger: &Path) -> Command {
    let mut c = mp(&["delete", "--sandbox", "--yes"], &["--ledger"]);
    c.arg(ledger).arg("-i").arg(input);
    c
}

fn run(c: &mut Command) -> (Option<i32>, String, String) {
    let o = c.output().unwrap();
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

/// A pipe whose reader is already gone: every write to it fails with EPIPE. From
/// `std::io::pipe` (close-on-exec): a raw pipe(2) could leak its read end into a child that
/// another test spawns meanwhile, and that child would keep the "closed" pipe open.
fn closed() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn row_numbers_are_physical_lines_in_rejects_ledger_and_report() {
    let dir = tempfile::tempdir().unwrap();
    // Blank lines, a quoted value, a quoted line break, a reject: line numbers drift in a
    // reader that counts records instead of lines.
    let input = write_file(
        dir.path(),
        "rows.csv",
        b"id,note\n\nA1,x\n\"A2\",\n\nB3,\"multi\nline\"\nnull,z\n\n\nC4,w\n",
    );
    let ledger = dir.path().join("rows.ledger.jsonl");
    let rejects = dir.path().join("rejects.csv");
    let (code, _, err) = run(sandbox_delete(&input, &ledger)
        .arg("--rejects")
        .arg(&rejects));
    assert_eq!(code, Some(0), "{err}");
    let rej = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(
        rej.lines().nth(1).unwrap().split(',').nth(1),
        Some("8"),
        "{rej}"
    );
    for (id, line) in [("A1", 3), ("A2", 4), ("B3", 6), ("C4", 11)] {
        let (code, out, err) = run(cdp_purge()
            .args(["report", "--json", "--lookup", id, "--ledger"])
            .arg(&ledger));
        assert_eq!(code, Some(0), "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["rows"][0]["row"], line, "{id}: {out}");
    }
    let (_, csv, _) = run(cdp_purge()
        .args(["report", "--csv", "--ledger"])
        .arg(&ledger));
    let mut rows: Vec<u64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    rows.sort_unstable();
    assert_eq!(rows, [3, 4, 6, 11], "{csv}");
}

#[test]
fn rejects_with_values_are_private_and_safe_in_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad/formula-injection.csv");
    let rejects = dir.path().join("rejects.csv");
    // An existing world-readable file must not stay so once it holds values.
    std::fs::write(&rejects, "old").unwrap();
    std::fs::set_permissions(&rejects, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = run(lytics_args(cdp_purge().arg("plan"))
        .arg("-i")
        .arg(&input)
        .arg("--rejects")
        .arg(&rejects)
        .arg("--rejects-include-values"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(mode(&rejects), 0o600);
    let mut r = csv::Reader::from_path(&rejects).unwrap();
    let values: Vec<String> = r.records().map(|x| x.unwrap()[4].to_owned()).collect();
    assert_eq!(
        values,
        [
            "'=HYPERLINK(\"http://x\")",
            "'+1-2",
            "'-3+4",
            "'@SUM(A1)",
            "'\t=1+1"
        ]
    );
    // Without values nothing personal is in it, and its mode is left to the umask.
    let plain = dir.path().join("plain.csv");
    let (code, _, _) = run(lytics_args(cdp_purge().arg("plan"))
        .arg("-i")
        .arg(&input)
        .arg("--rejects")
        .arg(&plain));
    assert_eq!(code, Some(0));
    assert!(
        !std::fs::read_to_string(&plain)
            .unwrap()
            .contains("HYPERLINK")
    );
}

#[test]
fn report_csv_cells_are_safe_in_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "=cmd.csv", b"id\nA1\n");
    let ledger = dir.path().join("l.jsonl");
    let (code, _, err) =
        run(sandbox_delete(Path::new("=cmd.csv"), &ledger).current_dir(dir.path()));
    assert_eq!(code, Some(0), "{err}");
    let (_, csv, _) = run(cdp_purge()
        .args(["report", "--csv", "--ledger"])
        .arg(&ledger));
    let row = csv.lines().nth(1).unwrap();
    assert!(row.contains(",'=cmd.csv,"), "{csv}");
    // JSON is for programs: the name stays exact there.
    let (_, json, _) = run(cdp_purge()
        .args(["report", "--format", "json", "--lookup", "A1", "--ledger"])
        .arg(&ledger));
    assert!(json.contains("\"input_file\": \"=cmd.csv\""), "{json}");
}

#[test]
fn credentials_in_base_url_are_refused_and_never_printed_or_stored() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_file(dir.path(), "ids.csv", b"id\nA1\n");
    let ledger = dir.path().join("l.jsonl");
    for url in [
        "https://user:SENTINELpw@127.0.0.1:9",
        "https://127.0.0.1:9/?api_key=SENTINELpw",
        "https://SENTINELpw@127.0.0.1:9/",
    ] {
        let (code, out, err) = run(mp(&["delete", "--yes"], &["--base-url", url, "--ledger"])
            .env("MPARTICLE_API_KEY", "k")
            .env("MPARTICLE_API_SECRET", "s")
            .arg(&ledger)
            .arg("-i")
            .arg(&input));
        assert_eq!(code, Some(2), "{url}: {err}");
        assert!(
            !err.contains("SENTINEL") && !out.contains("SENTINEL"),
            "{err}"
        );
        assert!(err.contains("environment"), "{err}");
        let stored = std::fs::read_to_string(&ledger).unwrap_or_default();
        assert!(!stored.contains("SENTINEL"), "stored in the ledger");
    }
    // Plain http to another host: refused unless asked for (plan sends nothing, so the
    // allowed case is checked without any traffic).
    let plan = |extra: &[&str]| {
        run(mp(&["plan"], &["--base-url", "http://cdp.example.invalid"])
            .args(extra)
            .arg("-i")
            .arg(&input))
    };
    let (code, _, err) = plan(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--allow-insecure-http"), "{err}");
    assert_eq!(plan(&["--allow-insecure-http"]).0, Some(0));
}

#[test]
fn a_broken_config_file_never_prints_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_file(dir.path(), "ids.csv", b"email\na@b.co\n");
    let cfg = dir.path().join("cdp-purge.toml");
    for body in [
        "[targets.ly]\nvendor = \"lytics\"\nfield = \"email\"\n[targets.ly.secrets]\ntoken = \"SENTINEL-tok\n",
        "[targets.ly]\nvendor = \"lytics\"\nfield = \"email\"\n[targets.ly.secrets]\ntoken = 4242SENTINEL\n",
    ] {
        std::fs::write(&cfg, body).unwrap();
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (code, out, err) = run(cdp_purge()
            .args(["plan", "--target", "ly", "--column", "email", "--config"])
            .arg(&cfg)
            .arg("-i")
            .arg(&input));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("line 5"), "{err}");
        assert!(
            !err.contains("SENTINEL") && !out.contains("SENTINEL"),
            "{err}"
        );
    }
}

#[test]
fn a_closed_stderr_or_stdout_never_panics_nor_changes_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_file(dir.path(), "ids.csv", b"id\nA1\nA2\n");
    // Closed stderr: start-up banner, progress, -v logs and the summary all fail to write.
    let l1 = dir.path().join("l1.jsonl");
    let o = sandbox_delete(&input, &l1)
        .args(["-v", "--json"])
        .stderr(closed())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("\"acknowledged\":2"));
    // Closed stdout: the --json summary is lost, the code is not.
    let l2 = dir.path().join("l2.jsonl");
    let o = sandbox_delete(&input, &l2)
        .arg("--json")
        .stdout(closed())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("panicked"));

    // A partial failure stays exit 1 when nobody reads the summary.
    let fake = Fake::start(cdp_purge_sandbox::SandboxConfig {
        faults: FaultPlan::none().with_rate(Fault::Unavailable(None), 1.0),
        ..cdp_purge_sandbox::SandboxConfig::default()
    });
    let ids = ids_csv(dir.path(), "c.csv", "customerid", &customer_ids("P", 3));
    let o = mparticle_delete(&fake, &ids, &dir.path().join("l3.jsonl"))
        .args(["--json", "--max-retries", "0"])
        .stdout(closed())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));

    // An input error stays exit 2 with both closed.
    let empty = write_file(dir.path(), "empty.csv", b"");
    for (out, err) in [(closed(), Stdio::piped()), (Stdio::piped(), closed())] {
        let o = mp(&["plan"], &["--json", "-i"])
            .arg(&empty)
            .stdout(out)
            .stderr(err)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    }
}

#[test]
fn delete_of_an_empty_list_is_exit_2_unless_allow_empty() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [("empty.csv", &b""[..]), ("junk.csv", b"id\nnull\nN/A\n")] {
        let input = write_file(dir.path(), name, body);
        let ledger = dir.path().join(format!("{name}.ledger.jsonl"));
        let (code, out, err) = run(sandbox_delete(&input, &ledger).arg("--json"));
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains("--allow-empty"), "{err}");
        assert!(!out.contains("\"acknowledged\""), "sent: {out}");
        let (code, _, err) = run(sandbox_delete(&input, &ledger).arg("--allow-empty"));
        assert_eq!(code, Some(0), "{name}: {err}");
    }
}

/// The test switch for terminal detection (debug builds only): `streams` are terminals.
fn on_terminal<'a>(c: &'a mut Command, streams: &str) -> &'a mut Command {
    c.env("CDP_PURGE_TEST_TERMINAL", streams)
}

#[test]
fn the_progress_bar_is_drawn_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_file(dir.path(), "ids.csv", b"id\nA1\nA2\nA3\n");
    // On a terminal: the bar, redrawn in place, cleared at the end; the summary after it.
    let (code, out, err) = run(on_terminal(
        &mut sandbox_delete(&input, &dir.path().join("a.jsonl")),
        "stderr",
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("items") && err.contains("ETA"), "{err}");
    assert!(err.contains("\x1b[2K"), "the bar is cleared: {err:?}");
    assert!(out.contains("acknowledged 3"), "{out}");
    // In a log: no bar and no escape sequence at all.
    let (code, _, err) = run(&mut sandbox_delete(&input, &dir.path().join("b.jsonl")));
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains('\x1b') && !err.contains("ETA"), "{err:?}");
    // --quiet: nothing but errors, even on a terminal.
    let (code, out, err) = run(on_terminal(
        sandbox_delete(&input, &dir.path().join("c.jsonl")).arg("-q"),
        "stderr",
    ));
    assert_eq!(code, Some(0));
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
}

#[test]
fn a_terminal_is_asked_before_deleting_and_a_pipe_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_file(dir.path(), "ids.csv", b"id\nA1\nA2\n");
    let ask = |answer: &str, ledger: &str| {
        let mut c = mp(&["delete", "--sandbox"], &["-i"]);
        c.arg(&input).arg("--ledger").arg(dir.path().join(ledger));
        let mut child = on_terminal(&mut c, "stdin,stderr")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(answer.as_bytes()).unwrap();
        drop(stdin);
        let o = child.wait_with_output().unwrap();
        (o.status.code(), text(&o.stdout), text(&o.stderr))
    };
    let (code, out, err) = ask("yes\n", "yes.jsonl");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("Delete 2 profiles from mParticle") && err.contains("Type yes"),
        "{err}"
    );
    assert!(out.contains("acknowledged 2"), "{out}");
    let (code, out, err) = ask("no\n", "no.jsonl");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not confirmed; nothing was sent"), "{err}");
    assert!(!out.contains("acknowledged"), "{out}");
    // Not a terminal: never a prompt, a refusal that names --yes.
    let (code, _, err) = run(mp(&["delete", "--sandbox"], &["-i"]).arg(&input));
    assert_eq!(code, Some(2));
    assert!(err.contains("--yes") && !err.contains("Type yes"), "{err}");
}

#[test]
fn colour_follows_color_then_no_color_then_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write_file(dir.path(), "empty.csv", b"");
    // An input error: `cdp-purge: error:` on stderr, red and bold when coloured.
    let err_of = |c: &mut Command| {
        let (code, _, err) = run(c);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("error:"), "{err}");
        err.contains("\x1b[")
    };
    let plan = || {
        let mut c = mp(&["plan"], &["-i"]);
        c.arg(&empty);
        c
    };
    assert!(!err_of(&mut plan()), "a pipe gets no colour");
    assert!(err_of(on_terminal(&mut plan(), "stderr")));
    assert!(!err_of(
        on_terminal(&mut plan(), "stderr").env("NO_COLOR", "1")
    ));
    assert!(!err_of(
        on_terminal(&mut plan(), "stderr").args(["--color", "never"])
    ));
    assert!(err_of(
        plan().args(["--color", "always"]).env("NO_COLOR", "1")
    ));
    assert!(err_of(plan().env("CLICOLOR_FORCE", "1")));
    assert!(!err_of(
        plan().env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1")
    ));
}
