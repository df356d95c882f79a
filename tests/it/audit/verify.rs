use cdp_purge_sandbox::{Sandbox, SandboxConfig};

use super::*;

fn verify(ledger: &Path) -> Command {
    let mut c = bin();
    c.args(["report", "--verify", "--ledger"]).arg(ledger);
    c
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(p: &Path, lines: &[String]) {
    std::fs::write(
        p,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// A real ledger, and the sandbox that wrote it (kept alive for `status`).
fn ledger(dir: &Path) -> (PathBuf, PathBuf, Sandbox) {
    let sb = Sandbox::start_blocking(SandboxConfig {
        lytics_state_step: std::time::Duration::ZERO,
        ..SandboxConfig::default()
    })
    .unwrap();
    let input = write_csv(dir, "users.csv", "email", &emails(25));
    let (code, _, err) =
        run(support::lytics_delete_to(&sb.base_url(), &input).args(["--batch-size", "5"]));
    assert_eq!(code, Some(0), "{err}");
    (ledger_of(&input), input, sb)
}

#[test]
fn an_intact_ledger_passes_and_prints_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _sb) = ledger(dir.path());
    let (code, out, err) = run(&mut verify(&ledger));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("chain: intact"), "{out}");
    assert!(out.contains("head sha256 "), "{out}");
    assert!(out.contains("users.csv: sha256 matches"), "{out}");
}

#[test]
fn one_changed_byte_is_named_by_line_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _sb) = ledger(dir.path());
    let mut l = lines(&ledger);
    // Line 5 is an outcome or attempt; flip one digit of its batch hash.
    let i = 4;
    let at = l[i].find("\"batch\":\"").unwrap() + 9;
    let mut bytes = l[i].clone().into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    l[i] = String::from_utf8(bytes).unwrap();
    let next_type = serde_json::from_str::<serde_json::Value>(&l[5]).unwrap()["type"]
        .as_str()
        .unwrap()
        .to_owned();
    write_lines(&ledger, &l);

    let (code, out, _) = run(&mut verify(&ledger));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("chain: BROKEN at line 6 ({next_type} record)")),
        "{out}"
    );
    assert!(out.contains("line 5 was changed"), "{out}");
    // Expected vs actual hashes are both shown.
    let broken = out.lines().next().unwrap();
    assert!(
        broken.matches(|c: char| c.is_ascii_hexdigit()).count() >= 128,
        "{broken}"
    );

    let (code, out, _) = run(verify(&ledger).args(["--json"]));
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["chain"]["broken"]["line"], 6);
    assert_ne!(
        v["chain"]["broken"]["expected"],
        v["chain"]["broken"]["actual"]
    );
}

#[test]
fn a_removed_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _sb) = ledger(dir.path());
    let mut l = lines(&ledger);
    l.remove(3);
    write_lines(&ledger, &l);
    let (code, out, _) = run(&mut verify(&ledger));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("chain: BROKEN at line 4 ("), "{out}");
    assert!(
        out.contains("lines were removed between line 3 and line 4"),
        "{out}"
    );
}

#[test]
fn a_torn_tail_is_a_crash_not_tampering_and_the_next_append_steps_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _sb) = ledger(dir.path());
    let n = lines(&ledger).len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&ledger)
        .unwrap();
    f.write_all(br#"{"v":1,"type":"attempt","phase":"se"#)
        .unwrap();
    drop(f);
    let (code, out, _) = run(&mut verify(&ledger));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&format!("line {}: torn tail", n + 1)), "{out}");

    // `status` appends through the engine's writer, which starts on a fresh line and chains
    // past the torn one.
    let (code, _, err) = run(bin()
        .args(["status", "--max-rps", "200", "--ledger"])
        .arg(&ledger));
    assert_eq!(code, Some(0), "{err}");
    let (code, out, _) = run(&mut verify(&ledger));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("line {}: torn write from a crash", n + 1)),
        "{out}"
    );
}

#[test]
fn a_changed_input_file_fails_and_input_points_at_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, input, _sb) = ledger(dir.path());
    let archive = dir.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    std::fs::copy(&input, archive.join("users.csv")).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    f.write_all(b"late@example.com\n").unwrap();
    drop(f);

    let (code, out, _) = run(&mut verify(&ledger));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("chain: intact"), "{out}");
    assert!(out.contains("CHANGED: sha256"), "{out}");

    let (code, out, _) = run(verify(&ledger).arg("-i").arg(archive.join("users.csv")));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("sha256 matches"), "{out}");
}
