//! Bad input: every file in `tests/data/bad/` (named for what it tests) through
//! `cdp-purge plan ... --json --rejects R`. Never a panic or a crash (exit 0 or 2 only);
//! either a clear error naming the file (and line/column where there is one) or per-row
//! rejects with the right row numbers; and nothing valid lost (the kept count is exact).
//! A directory, a missing file and a 10 MB single-field file are made at test time.

mod support;

use std::path::{Path, PathBuf};

use support::*;

#[derive(Clone, Copy)]
enum Kind {
    /// mParticle customer ids from column `id`.
    Customer,
    /// mParticle MPIDs from column `mpid`.
    Mpid,
    /// Lytics emails from column `email`.
    Email,
    /// mParticle customer ids from this column / key path.
    Column(&'static str),
}

enum Expect {
    /// Exit 0 with these counts; rejects at these rows (in order).
    Rows {
        rows: u64,
        kept: u64,
        duplicates: u64,
        rejected: &'static [(&'static str, u64)],
        reject_rows: &'static [u64],
        /// Text every reject reason must contain.
        reason: Option<&'static str>,
    },
    /// Exit 2; stderr names the file and says all of these.
    Error(&'static [&'static str]),
}

use Expect::*;
use Kind::*;

const fn kept(n: u64) -> Expect {
    Rows {
        rows: n,
        kept: n,
        duplicates: 0,
        rejected: &[],
        reject_rows: &[],
        reason: None,
    }
}

const fn rej(
    rows: u64,
    kept: u64,
    code: &'static [(&'static str, u64)],
    at: &'static [u64],
) -> Expect {
    Rows {
        rows,
        kept,
        duplicates: 0,
        rejected: code,
        reject_rows: at,
        reason: None,
    }
}

const fn why(e: Expect, reason: &'static str) -> Expect {
    match e {
        Rows {
            rows,
            kept,
            duplicates,
            rejected,
            reject_rows,
            ..
        } => Rows {
            rows,
            kept,
            duplicates,
            rejected,
            reject_rows,
            reason: Some(reason),
        },
        e => e,
    }
}

const INVALID: &[(&str, u64)] = &[("invalid", 1)];
const MALFORMED: &[(&str, u64)] = &[("malformed", 1)];

fn table() -> Vec<(&'static str, Kind, Expect)> {
    vec![
        // --- CSV structure
        ("empty.csv", Customer, kept(0)),
        ("header-only.csv", Customer, kept(0)),
        ("only-blank-lines.csv", Customer, kept(0)),
        ("no-trailing-newline.csv", Customer, kept(2)),
        ("crlf.csv", Customer, kept(3)),
        (
            "cr-only-line-endings.csv",
            Customer,
            Error(&["no column \"id\""]),
        ),
        (
            "unterminated-quote.csv",
            Customer,
            why(rej(2, 1, INVALID, &[3]), "unterminated quote"),
        ),
        ("quote-in-unquoted-field.csv", Customer, kept(3)),
        (
            "ragged-rows.csv",
            Customer,
            why(
                rej(4, 2, &[("malformed", 2)], &[3, 4]),
                "where the header has 2",
            ),
        ),
        ("quoted-fields-with-commas.csv", Customer, kept(2)),
        ("newline-inside-quoted-field.csv", Customer, kept(2)),
        ("whitespace-padded.csv", Customer, kept(2)),
        (
            "null-tokens.csv",
            Customer,
            rej(6, 1, &[("null_token", 5)], &[2, 3, 4, 5, 6]),
        ),
        (
            "empty-quoted-values.csv",
            Customer,
            rej(3, 1, &[("empty", 2)], &[2, 3]),
        ),
        (
            "duplicates.csv",
            Customer,
            Rows {
                rows: 4,
                kept: 2,
                duplicates: 2,
                rejected: &[],
                reject_rows: &[],
                reason: None,
            },
        ),
        (
            "value-over-1024-bytes.csv",
            Customer,
            why(rej(3, 2, INVALID, &[3]), "longer than 1024 bytes"),
        ),
        ("semicolon-delimited.csv", Customer, Error(&["no column"])),
        (
            "missing-column.csv",
            Customer,
            Error(&["no column \"id\"", "\"email\""]),
        ),
        ("duplicate-header-names.csv", Customer, kept(2)),
        ("many-columns.csv", Customer, kept(1)),
        ("binary-garbage.csv", Customer, Error(&["no column"])),
        ("quoted-tsv.tsv", Customer, kept(2)),
        // --- encodings
        ("bom-at-start.csv", Customer, kept(2)),
        ("header-with-bom-and-spaces.csv", Customer, kept(1)),
        (
            "bom-in-middle.csv",
            Customer,
            why(rej(3, 2, INVALID, &[3]), "invisible"),
        ),
        (
            "zero-width-characters.csv",
            Customer,
            why(rej(4, 2, &[("invalid", 2)], &[3, 4]), "invisible"),
        ),
        (
            "invalid-utf8.csv",
            Customer,
            why(rej(3, 2, MALFORMED, &[3]), "invalid UTF-8"),
        ),
        (
            "latin1-bytes.csv",
            Customer,
            why(rej(3, 2, MALFORMED, &[2]), "invalid UTF-8"),
        ),
        ("utf16le-with-bom.csv", Customer, Error(&["no column"])),
        (
            "nul-bytes.csv",
            Customer,
            why(rej(3, 2, INVALID, &[3]), "control character"),
        ),
        (
            "control-characters.csv",
            Customer,
            rej(4, 2, &[("invalid", 2)], &[3, 4]),
        ),
        // --- identifier kinds
        (
            "mpid-beyond-2-63.csv",
            Mpid,
            why(rej(5, 2, &[("invalid", 3)], &[3, 5, 6]), "signed 64-bit"),
        ),
        (
            "scientific-notation-ids.csv",
            Mpid,
            rej(4, 2, &[("invalid", 2)], &[2, 5]),
        ),
        (
            "mpid-odd-number-forms.csv",
            Mpid,
            rej(6, 1, &[("invalid", 5)], &[2, 3, 4, 5, 7]),
        ),
        (
            "emails-malformed.csv",
            Email,
            rej(7, 2, &[("invalid", 5)], &[3, 4, 5, 6, 7]),
        ),
        // --- gzip
        ("gzip-valid.csv.gz", Customer, kept(3)),
        ("gzip-concatenated-members.csv.gz", Customer, kept(3)),
        ("truncated.csv.gz", Customer, Error(&["gzip", "truncated"])),
        (
            "gz-extension-but-plain-text.csv.gz",
            Customer,
            Error(&["gzip"]),
        ),
        ("gzip-trailing-garbage.csv.gz", Customer, Error(&["gzip"])),
        (
            "gzip-of-invalid-utf8.csv.gz",
            Customer,
            rej(3, 2, MALFORMED, &[3]),
        ),
        // --- JSON
        ("deeply-nested.json", Customer, rej(1, 0, INVALID, &[1])),
        (
            "deeply-nested-value.json",
            Customer,
            rej(2, 1, INVALID, &[1]),
        ),
        (
            "trailing-garbage.json",
            Customer,
            Error(&["line 1, column 13", "trailing characters"]),
        ),
        (
            "trailing-comma.json",
            Customer,
            Error(&["line 1, column 12", "trailing comma"]),
        ),
        ("truncated.json", Customer, Error(&["line 1", "ends early"])),
        (
            "top-level-object.json",
            Customer,
            Error(&["line 1, column 1", "JSON array"]),
        ),
        (
            "mixed-types.json",
            Customer,
            rej(
                9,
                4,
                &[("invalid", 3), ("missing_value", 1), ("null", 1)],
                &[3, 4, 5, 6, 7],
            ),
        ),
        (
            "nan-and-infinity.json",
            Customer,
            Error(&["line 1, column 8"]),
        ),
        ("duplicate-keys.json", Customer, kept(2)),
        (
            "lone-surrogate-escape.json",
            Customer,
            rej(3, 2, MALFORMED, &[2]),
        ),
        (
            "big-number-mpids.json",
            Mpid,
            rej(5, 3, &[("invalid", 2)], &[2, 4]),
        ),
        ("bom.json", Customer, kept(2)),
        ("empty-array.json", Customer, kept(0)),
        ("whitespace-only.json", Customer, kept(0)),
        (
            "nested-key-path.json",
            Column("user.id"),
            rej(3, 2, &[("missing_value", 1)], &[3]),
        ),
        (
            "invalid-utf8-in-string.json",
            Customer,
            Error(&["line 1, column 10"]),
        ),
        // --- NDJSON
        (
            "ndjson-one-broken-line.ndjson",
            Customer,
            why(rej(5, 4, MALFORMED, &[3]), "invalid JSON"),
        ),
        ("ndjson-crlf-and-blank-lines.ndjson", Customer, kept(2)),
        (
            "ndjson-invalid-utf8-line.ndjson",
            Customer,
            rej(3, 2, MALFORMED, &[2]),
        ),
        (
            "ndjson-missing-key.ndjson",
            Customer,
            rej(3, 2, &[("missing_value", 1)], &[2]),
        ),
        (
            "ndjson-array-line.ndjson",
            Customer,
            rej(2, 1, INVALID, &[1]),
        ),
        (
            "ndjson-nul-escape.ndjson",
            Customer,
            rej(2, 1, INVALID, &[1]),
        ),
        (
            "ndjson-two-values-on-one-line.ndjson",
            Customer,
            why(rej(2, 1, MALFORMED, &[1]), "trailing characters"),
        ),
        ("ndjson-no-trailing-newline.ndjson", Customer, kept(2)),
    ]
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

/// Run `plan` on `input`; returns (exit code, stdout, stderr, rejects CSV).
fn plan(kind: Kind, input: &Path, rejects: &Path) -> (Option<i32>, String, String, String) {
    let mut cmd = cdp_purge();
    cmd.arg("plan");
    match kind {
        Customer | Column(_) => {
            let col = if let Column(c) = kind { c } else { "id" };
            cmd.args(["--vendor", "mparticle", "--environment", "production"])
                .args(["--identity-type", "customerid", "--column", col]);
        }
        Mpid => {
            cmd.args(["--vendor", "mparticle", "--environment", "production"])
                .args(["--identity-type", "mpid", "--column", "mpid"]);
        }
        Email => {
            cmd.args([
                "--vendor", "lytics", "--field", "email", "--column", "email",
            ]);
        }
    }
    let out = cmd
        .arg("-i")
        .arg(input)
        .arg("--json")
        .arg("--rejects")
        .arg(rejects)
        .output()
        .unwrap();
    let rej = std::fs::read_to_string(rejects).unwrap_or_default();
    let _ = std::fs::remove_file(rejects);
    (out.status.code(), text(&out.stdout), text(&out.stderr), rej)
}

/// Check one outcome; returns what is wrong, if anything.
fn check(name: &str, expect: &Expect, got: (Option<i32>, String, String, String)) -> Vec<String> {
    let (code, stdout, stderr, rejects) = got;
    let mut bad = Vec::new();
    let mut fail = |m: String| bad.push(format!("{name}: {m}"));
    if stderr.contains("panicked") || !matches!(code, Some(0 | 2)) {
        fail(format!("crashed (exit {code:?}): {stderr}"));
        return bad;
    }
    match expect {
        Error(says) => {
            if code != Some(2) {
                fail(format!(
                    "expected an error (exit 2), got {code:?}: {stdout}"
                ));
            }
            if !stderr.contains(name) {
                fail(format!("the error does not name the file: {stderr}"));
            }
            for s in *says {
                if !stderr.contains(s) {
                    fail(format!("the error does not say {s:?}: {stderr}"));
                }
            }
        }
        Rows {
            rows,
            kept,
            duplicates,
            rejected,
            reject_rows,
            reason,
        } => {
            if code != Some(0) {
                fail(format!("expected exit 0, got {code:?}: {stderr}"));
                return bad;
            }
            let p: serde_json::Value = match serde_json::from_str(stdout.trim()) {
                Ok(p) => p,
                Err(e) => {
                    fail(format!("--json output does not parse ({e}): {stdout}"));
                    return bad;
                }
            };
            for (field, want) in [
                ("rows_read", rows),
                ("kept", kept),
                ("duplicates", duplicates),
            ] {
                if p[field] != *want {
                    fail(format!("{field} {} (expected {want})", p[field]));
                }
            }
            let want: serde_json::Map<String, serde_json::Value> = rejected
                .iter()
                .map(|(k, n)| ((*k).to_owned(), (*n).into()))
                .collect();
            if p["rejected"] != serde_json::Value::Object(want.clone()) {
                fail(format!("rejected {} (expected {want:?})", p["rejected"]));
            }
            // The rejects file: a header, then one line per reject with its row number.
            let mut r = csv::Reader::from_reader(rejects.as_bytes());
            let headers = r.headers().cloned().unwrap_or_default();
            if headers.iter().collect::<Vec<_>>() != ["file", "row", "column", "reason"] {
                fail(format!(
                    "rejects header {headers:?} (values must not be written)"
                ));
            }
            let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
            let got_rows: Vec<u64> = recs.iter().map(|x| x[1].parse().unwrap()).collect();
            if got_rows != *reject_rows {
                fail(format!(
                    "reject rows {got_rows:?} (expected {reject_rows:?})"
                ));
            }
            if let Some(s) = reason
                && !recs.iter().all(|x| x[3].contains(s))
            {
                fail(format!("reject reasons {recs:?} do not say {s:?}"));
            }
        }
    }
    bad
}

#[test]
fn every_bad_file_gives_a_clear_error_or_exact_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let table = table();
    let mut bad = Vec::new();
    for (name, kind, expect) in &table {
        let got = plan(*kind, &corpus().join(name), &rejects);
        bad.extend(check(name, expect, got));
    }
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_corpus_is_all_in_the_table() {
    let table: Vec<&str> = table().iter().map(|t| t.0).collect();
    let mut files: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f != "README.md")
        .collect();
    files.sort();
    assert!(files.len() >= 40, "only {} bad files", files.len());
    for f in &files {
        assert!(table.contains(&f.as_str()), "{f} has no expected outcome");
    }
    for t in &table {
        assert!(
            files.iter().any(|f| f == t),
            "{t} is missing from the corpus"
        );
    }
}

#[test]
fn a_directory_and_a_missing_file_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("r.csv");
    let sub = dir.path().join("a-directory.csv");
    std::fs::create_dir(&sub).unwrap();
    let got = plan(Customer, &sub, &rejects);
    let mut bad = check("a-directory.csv", &Error(&["directory"]), got);
    let got = plan(Customer, &dir.path().join("missing-file.csv"), &rejects);
    bad.extend(check("missing-file.csv", &Error(&["No such file"]), got));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_10_mb_single_field_is_one_reject_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = b"id\nA1\n".to_vec();
    body.extend(std::iter::repeat_n(b'x', 10 << 20));
    body.extend(b"\nA3\n");
    let p = write_file(dir.path(), "ten-mb-field.csv", &body);
    let got = plan(Customer, &p, &dir.path().join("r.csv"));
    let expect = why(rej(3, 2, INVALID, &[3]), "longer than 1024 bytes");
    let bad = check("ten-mb-field.csv", &expect, got);
    assert!(bad.is_empty(), "{}", bad.join("\n"));

    // The same as one NDJSON line.
    let mut body = b"{\"id\":\"A1\"}\n{\"id\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'y', 10 << 20));
    body.extend(b"\"}\n{\"id\":\"A3\"}\n");
    let p = write_file(dir.path(), "ten-mb-line.ndjson", &body);
    let got = plan(Customer, &p, &dir.path().join("r.csv"));
    let expect = why(rej(3, 2, INVALID, &[2]), "longer than 1024 bytes");
    let bad = check("ten-mb-line.ndjson", &expect, got);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The checker itself must fail on a wrong count, a crash and an error that names no file.
#[test]
fn the_checker_catches_wrong_outcomes() {
    let ok = (
        Some(0),
        r#"{"rows_read":2,"kept":1,"duplicates":0,"rejected":{}}"#.to_owned(),
        String::new(),
        "file,row,column,reason\n".to_owned(),
    );
    assert!(!check("x.csv", &kept(2), ok).is_empty(), "wrong kept count");
    let crash = (None, String::new(), String::new(), String::new());
    assert!(
        !check("x.csv", &kept(0), crash).is_empty(),
        "killed by a signal"
    );
    let panic = (
        Some(101),
        String::new(),
        "thread 'main' panicked".into(),
        String::new(),
    );
    assert!(!check("x.csv", &kept(0), panic).is_empty(), "a panic");
    let vague = (
        Some(2),
        String::new(),
        "error: bad input".into(),
        String::new(),
    );
    assert!(
        !check("x.csv", &Error(&[]), vague).is_empty(),
        "no file name"
    );
}
