//! `cdp-purge plan` end to end through the real binary: every input format, stdin, gzip,
//! the awkward CSV cases, the errors a user must fix, and the rejects file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// Identifiers must never reach the terminal.
    fn assert_hides(&self, values: &[&str]) -> &Self {
        for v in values {
            assert!(
                !self.stdout.contains(v),
                "stdout shows {v:?}: {}",
                self.stdout
            );
            assert!(
                !self.stderr.contains(v),
                "stderr shows {v:?}: {}",
                self.stderr
            );
        }
        self
    }
}

fn cdp(args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = crate::support::assert_cdp_purge();
    cmd.args(args).timeout(std::time::Duration::from_secs(60));
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_vec());
    }
    let out = cmd.output().expect("runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `plan --vendor lytics --id-type email -i FILE --column email --json` plus `extra`.
fn plan(file: &Path, extra: &[&str]) -> Out {
    let f = file.to_str().expect("utf-8 temp path");
    let mut args = vec![
        "plan",
        "--vendor",
        "lytics",
        "--id-type",
        "email",
        "-i",
        f,
        "--column",
        "email",
        "--json",
    ];
    args.extend_from_slice(extra);
    cdp(&args, None)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write test input");
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// rows_read, kept, duplicates, rejected total, batches.
fn counts(v: &Value) -> (u64, u64, u64, u64, u64) {
    let n = |k: &str| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {v}"))
    };
    let rejected: u64 = v["rejected"]
        .as_object()
        .expect("rejected is an object")
        .values()
        .map(|x| x.as_u64().expect("count"))
        .sum();
    (
        n("rows_read"),
        n("kept"),
        n("duplicates"),
        rejected,
        n("batches"),
    )
}

const EMAILS: [&str; 3] = ["alice@example.com", "bob@example.org", "carol@example.net"];

#[test]
fn csv_counts_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "in.csv",
        b"id,email\n1,alice@example.com\n2,  bob@example.org \n3,alice@example.com\n4,NULL\n5,\n6,not-an-email\n7,carol@example.net\n",
    );
    let out = plan(&f, &[]);
    let v = out.assert_hides(&EMAILS).json();
    assert_eq!(counts(&v), (7, 3, 1, 3, 1));
    assert_eq!(v["rejected"]["null_token"], 1);
    assert_eq!(v["rejected"]["empty"], 1);
    assert_eq!(v["rejected"]["invalid"], 1);
    assert_eq!(v["files"][0]["rows"], 7);
    assert_eq!(v["files"][0]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn tsv_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "in.tsv",
        b"email\tnote\nalice@example.com\ta, b\nbob@example.org\tx\n",
    );
    let v = plan(&f, &[]).assert_hides(&EMAILS).json();
    assert_eq!(counts(&v), (2, 2, 0, 0, 1));
}

#[test]
fn json_array_of_strings_keeps_big_numbers_exact() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "in.json",
        br#"[ "alice@example.com", "bob@example.org", null, "NaN", "alice@example.com", 12 ]"#,
    );
    let v = plan(&f, &[]).assert_hides(&EMAILS).json();
    assert_eq!(counts(&v), (6, 2, 1, 3, 1));
    assert_eq!(v["rejected"]["null"], 1);
    assert_eq!(v["rejected"]["null_token"], 1);
    assert_eq!(v["rejected"]["invalid"], 1, "a number is not an email");
}

#[test]
fn json_array_of_objects_with_dotted_path() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "in.json",
        br#"[
  {"user": {"contact": {"email": "alice@example.com"}}, "x": [1, 2]},
  {"user": {"contact": {"email": "bob@example.org"}}},
  {"user": {"contact": {}}},
  {"user": "flat"},
  {"user": {"contact": {"email": null}}}
]"#,
    );
    let f = f.to_str().unwrap();
    let out = cdp(
        &[
            "plan",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
            "-i",
            f,
            "--column",
            "user.contact.email",
            "--json",
        ],
        None,
    );
    let v = out.assert_hides(&EMAILS).json();
    assert_eq!(counts(&v), (5, 2, 0, 3, 1));
    assert_eq!(v["rejected"]["missing_value"], 2);
    assert_eq!(v["rejected"]["null"], 1);
}

#[test]
fn ndjson_rejects_broken_lines_and_skips_blank_ones() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let f = write(
        dir.path(),
        "in.ndjson",
        b"{\"email\": \"alice@example.com\"}\n\n\"bob@example.org\"\n{\"email\": \"carol@exa\n   \n{\"email\": \"carol@example.net\"}\n",
    );
    let v = plan(&f, &["--rejects", rejects.to_str().unwrap()])
        .assert_hides(&EMAILS)
        .json();
    assert_eq!(counts(&v), (4, 3, 0, 1, 1));
    assert_eq!(v["rejected"]["malformed"], 1);
    let text = std::fs::read_to_string(&rejects).unwrap();
    let line = text.lines().nth(1).expect("one reject");
    assert!(line.contains(",4,email,malformed: invalid JSON"), "{line}");
}

#[test]
fn stdin_defaults_to_csv() {
    let out = cdp(
        &[
            "plan",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
            "-i",
            "-",
            "--column",
            "email",
            "--json",
        ],
        Some(b"email\nalice@example.com\nbob@example.org\nalice@example.com\n"),
    );
    let v = out.assert_hides(&EMAILS).json();
    assert_eq!(counts(&v), (3, 2, 1, 0, 1));
    assert_eq!(v["files"][0]["path"], "-");
}

#[test]
fn gzip_is_decompressed_and_hashed_as_stored() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    // With a BOM, which must be skipped after decompression too.
    let stored = gzip(b"\xEF\xBB\xBFemail\nalice@example.com\nbob@example.org\n");
    let f = write(dir.path(), "in.csv.gz", &stored);
    let v = plan(&f, &[]).assert_hides(&EMAILS).json();
    assert_eq!(counts(&v), (2, 2, 0, 0, 1));
    assert_eq!(
        v["files"][0]["sha256"],
        hex::encode(sha2::Sha256::digest(&stored))
    );
    // ndjson inside gzip: the format comes from the name before `.gz`.
    let f = write(
        dir.path(),
        "in.ndjson.gz",
        &gzip(b"\"alice@example.com\"\n\"bob@example.org\"\n"),
    );
    assert_eq!(counts(&plan(&f, &[]).json()), (2, 2, 0, 0, 1));
}

#[test]
fn truncated_gzip_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let body = "email\n".to_owned() + &"alice@example.com\n".repeat(2000);
    let stored = gzip(body.as_bytes());
    let f = write(dir.path(), "cut.csv.gz", &stored[..stored.len() / 2]);
    let out = plan(&f, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cut.csv.gz"), "{}", out.stderr);
    assert!(out.stderr.contains("gzip"), "{}", out.stderr);
    out.assert_hides(&EMAILS);
}

#[test]
fn bom_crlf_and_quoted_fields() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let f = write(
        dir.path(),
        "in.csv",
        b"\xEF\xBB\xBFemail,note\r\nalice@example.com,\"a, b\"\r\n\"bob@example.org\",\"two\r\nlines\"\r\nnull,x\r\n\"carol@example.net\",\"3\"\r\n",
    );
    let v = plan(&f, &["--rejects", rejects.to_str().unwrap()])
        .assert_hides(&EMAILS)
        .json();
    assert_eq!(counts(&v), (4, 3, 0, 1, 1));
    // The null row starts on physical line 5 (the quoted newline spans lines 3-4).
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "file,row,column,reason",
            &format!("{},5,email,null_token", f.display())
        ]
    );
}

#[test]
fn missing_column_lists_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "in.csv",
        b"id,mail,source\n1,alice@example.com,crm\n",
    );
    let out = plan(&f, &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("in.csv"), "{}", out.stderr);
    for col in ["\"id\"", "\"mail\"", "\"source\""] {
        assert!(out.stderr.contains(col), "{}", out.stderr);
    }
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    out.assert_hides(&EMAILS);
}

#[test]
fn headerless_file_mistaken_for_header_does_not_leak_the_first_row() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "in.csv",
        b"alice@example.com\nbob@example.org\n",
    );
    let out = plan(&f, &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--no-header"), "{}", out.stderr);
    out.assert_hides(&EMAILS);
    // Without --column, the first row would be taken as the header: refused too.
    let f_str = f.to_str().unwrap();
    let out = cdp(
        &[
            "plan",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
            "-i",
            f_str,
            "--json",
        ],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("--no-header"), "{}", out.stderr);
    out.assert_hides(&EMAILS);
    // ... and with --no-header it reads both rows.
    let f = f.to_str().unwrap();
    let v = cdp(
        &[
            "plan",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
            "-i",
            f,
            "--no-header",
            "--json",
        ],
        None,
    )
    .json();
    assert_eq!(counts(&v), (2, 2, 0, 0, 1));
}

#[test]
fn malformed_json_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "in.json",
        b"[\n  \"alice@example.com\",\n  \"bob@example.org\" \"carol@example.net\"\n]\n",
    );
    let out = plan(&f, &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("in.json"), "{}", out.stderr);
    assert!(out.stderr.contains("line 3, column 21"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    out.assert_hides(&EMAILS);

    // Leading blank lines still count.
    let f = write(dir.path(), "lead.json", b"\n\n  [\"alice@example.com\" 1]");
    let out = plan(&f, &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("line 3, column 24"), "{}", out.stderr);

    let f = write(dir.path(), "cut.json", b"[\"alice@example.com\", \"bo");
    let out = plan(&f, &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("ends early"), "{}", out.stderr);
    out.assert_hides(&EMAILS);
}

#[test]
fn empty_file_and_junk_only_file_exit_2_unless_allow_empty() {
    let dir = tempfile::tempdir().unwrap();
    let junk = b"email\nnull\nNaN\n0\n \n#N/A\nundefined\n";
    for (name, body, says, want) in [
        ("empty.csv", &b""[..], "no rows read", (0, 0, 0, 0, 0)),
        ("empty.json", b"", "no rows read", (0, 0, 0, 0, 0)),
        ("e.ndjson", b"", "no rows read", (0, 0, 0, 0, 0)),
        (
            "junk.csv",
            junk,
            "all 6 rows read were rejected",
            (6, 0, 0, 6, 0),
        ),
    ] {
        let f = write(dir.path(), name, body);
        // The plan is still printed, then the run fails: a cron job must notice.
        let out = plan(&f, &[]);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{name}: {}", out.stderr);
        assert!(out.stderr.contains("--allow-empty"), "{}", out.stderr);
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(counts(&v), want, "{name}");
        assert_eq!(counts(&plan(&f, &["--allow-empty"]).json()), want, "{name}");
    }
}

#[test]
fn invalid_utf8_is_a_row_reject_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let f = write(
        dir.path(),
        "in.csv",
        b"email,n\nalice@example.com,1\nb\xffd@example.org,2\nbob@example.org,3\n",
    );
    let v = plan(&f, &["--rejects", rejects.to_str().unwrap()]).json();
    assert_eq!(counts(&v), (3, 2, 0, 1, 1));
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(text.contains(",3,email,malformed: invalid UTF-8"), "{text}");
}

#[test]
fn rejects_file_has_values_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let f = write(
        dir.path(),
        "in.csv",
        b"email\nalice@example.com\nbroken-address\nNULL\n",
    );
    let r = rejects.to_str().unwrap();
    plan(&f, &["--rejects", r]).json();
    let text = std::fs::read_to_string(&rejects).unwrap();
    let name = f.display();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "file,row,column,reason".to_owned(),
            format!("{name},3,email,invalid: email has no @"),
            format!("{name},4,email,null_token"),
        ]
    );
    assert!(!text.contains("broken-address"));

    plan(&f, &["--rejects", r, "--rejects-include-values"]).json();
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "file,row,column,reason,value".to_owned(),
            format!("{name},3,email,invalid: email has no @,broken-address"),
            format!("{name},4,email,null_token,NULL"),
        ]
    );
}

#[test]
fn batch_size_above_the_vendor_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "in.csv", b"id\n1\n");
    let out = cdp(
        &[
            "plan",
            "--vendor",
            "mparticle",
            "--environment",
            "production",
            "--id-type",
            "customerid",
            "-i",
            f.to_str().unwrap(),
            "--column",
            "id",
            "--batch-size",
            "101",
        ],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("100"), "{}", out.stderr);
}

#[test]
fn mpids_must_be_signed_64_bit_integers() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let f = write(
        dir.path(),
        "in.json",
        br#"[{"mpid": 9007199254740993}, {"mpid": "-42"}, {"mpid": 1.2E+18}, {"mpid": 9223372036854775808}, {"mpid": "12.5"}, {"mpid": 9223372036854775807}]"#,
    );
    let out = cdp(
        &[
            "plan",
            "--vendor",
            "mparticle",
            "--environment",
            "production",
            "--id-type",
            "mpid",
            "-i",
            f.to_str().unwrap(),
            "--column",
            "mpid",
            "--json",
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        None,
    );
    let v = out
        .assert_hides(&["9007199254740993", "9223372036854775807"])
        .json();
    assert_eq!(counts(&v), (6, 3, 0, 3, 1));
    assert_eq!(v["rejected"]["invalid"], 3);
    let rows: Vec<String> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(rows, ["3", "4", "5"]);
}

#[test]
fn unreadable_inputs_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = plan(dir.path(), &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    assert!(out.stderr.contains("directory"), "{}", out.stderr);
    let out = plan(&dir.path().join("nope.csv"), &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    assert!(out.stderr.contains("nope.csv"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn several_inputs_are_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let a = write(dir.path(), "a.csv", b"email\nalice@example.com\nnull\n");
    let b = write(
        dir.path(),
        "b.ndjson",
        b"{\"email\":\"alice@example.com\"}\n{\"email\":\"bob@example.org\"}\n{\"email\":\"\"}\n",
    );
    let out = cdp(
        &[
            "plan",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
            "-i",
            a.to_str().unwrap(),
            "-i",
            b.to_str().unwrap(),
            "--column",
            "email",
            "--json",
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        None,
    );
    let v = out.assert_hides(&EMAILS).json();
    assert_eq!(counts(&v), (5, 2, 1, 2, 1));
    assert_eq!(v["files"][0]["rows"], 2);
    assert_eq!(v["files"][1]["rows"], 3);
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        text.contains(&format!("{},3,email,null_token", a.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("{},3,email,empty", b.display())),
        "{text}"
    );
}

#[test]
fn text_plan_shows_counts_not_values() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "in.csv",
        b"email\nalice@example.com\nbob@example.org\n",
    );
    let out = cdp(
        &[
            "plan",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
            "-i",
            f.to_str().unwrap(),
            "--column",
            "email",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("kept         2"), "{}", out.stdout);
    out.assert_hides(&EMAILS);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_once_from_the_start() {
    // `-i <(zcat list.csv.gz)` hands over a pipe: nothing may read it ahead of the parser.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ids.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(&fifo, "email\nalice@example.com\nbob@example.org\n")
        })
    };
    let v = plan(&fifo, &[]).assert_hides(&EMAILS).json();
    writer.join().unwrap().expect("the whole input was read");
    assert_eq!(counts(&v), (2, 2, 0, 0, 1));
}

#[test]
fn ragged_rows_and_missing_cells_are_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let f = write(
        dir.path(),
        "in.csv",
        b"id,email\n1,alice@example.com\n2\n3,bob@example.org,extra\n4,carol@example.net\n",
    );
    let v = plan(&f, &["--rejects", rejects.to_str().unwrap()])
        .assert_hides(&EMAILS)
        .json();
    assert_eq!(counts(&v), (4, 2, 0, 2, 1));
    assert_eq!(v["rejected"]["malformed"], 2);
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        text.contains(",3,email,malformed: 1 field where the header has 2"),
        "{text}"
    );
    assert!(
        text.contains(",4,email,malformed: 3 fields where the header has 2"),
        "{text}"
    );

    // Headerless, by position: a short row lacks the cell.
    let f = write(
        dir.path(),
        "nohdr.csv",
        b"1,alice@example.com\n2\n3,bob@example.org\n",
    );
    let out = cdp(
        &[
            "plan",
            "--vendor",
            "lytics",
            "--id-type",
            "email",
            "-i",
            f.to_str().unwrap(),
            "--no-header",
            "--column-index",
            "1",
            "--json",
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        None,
    );
    let v = out.assert_hides(&EMAILS).json();
    assert_eq!(counts(&v), (3, 2, 0, 1, 1));
    assert_eq!(v["rejected"]["missing_value"], 1);
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(text.contains(",2,#1,missing_value"), "{text}");
}
