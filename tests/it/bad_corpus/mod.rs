//! The expected outcome of every file in `tests/data/bad/`, and how to run `plan` or
//! `delete` on it. Shared by `hostile_input.rs` (every file, both commands, memory measured)
//! and `hostile_memory.rs` (the endless inputs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// mParticle customer ids from column `id`.
    Customer,
    /// mParticle MPIDs from column `mpid`.
    Mpid,
    /// Lytics emails from column `email`.
    Email,
    /// mParticle customer ids from this column / key path.
    Column(&'static str),
    /// Segment emails from column `email`, looked up by column `user_id`.
    Segment,
}

#[derive(Debug)]
pub enum Expect {
    /// These counts; rejects at these rows (in order). With nothing kept the run must stop
    /// with exit 2 ("no rows read" / "nothing to send"), after printing the same counts.
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

pub const fn kept(n: u64) -> Expect {
    Rows {
        rows: n,
        kept: n,
        duplicates: 0,
        rejected: &[],
        reject_rows: &[],
        reason: None,
    }
}

pub const fn rej(
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

pub const fn why(e: Expect, reason: &'static str) -> Expect {
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
const OVER_CAP: &str = "longer than 1 MiB";

/// One case: file, how it is read, what must happen, and text that must never be printed
/// (personal data from the file).
pub struct Case {
    pub file: &'static str,
    pub kind: Kind,
    pub expect: Expect,
    pub never_printed: &'static [&'static str],
}

fn c(file: &'static str, kind: Kind, expect: Expect) -> Case {
    Case {
        file,
        kind,
        expect,
        never_printed: &[],
    }
}

pub fn table() -> Vec<Case> {
    let mut t = vec![
        // --- CSV structure
        c("empty.csv", Customer, kept(0)),
        // An empty file with a wrong --column is still "nothing read", not success.
        c("empty.csv", Column("nope"), kept(0)),
        c("header-only.csv", Customer, kept(0)),
        c("only-blank-lines.csv", Customer, kept(0)),
        c("no-trailing-newline.csv", Customer, kept(2)),
        c("crlf.csv", Customer, kept(3)),
        c(
            "cr-only-line-endings.csv",
            Customer,
            Error(&["CR-only line endings", "tr '\\r' '\\n'"]),
        ),
        c(
            "unterminated-quote.csv",
            Customer,
            Error(&["line 3", "never closed"]),
        ),
        c(
            "unterminated-quote-mid-file.csv",
            Customer,
            Error(&["line 3", "never closed"]),
        ),
        c(
            "stray-quote-closed-later.csv",
            Customer,
            why(rej(3, 2, INVALID, &[3]), "spans lines 3-5"),
        ),
        c("quote-in-unquoted-field.csv", Customer, kept(3)),
        c(
            "ragged-rows.csv",
            Customer,
            why(
                rej(4, 2, &[("malformed", 2)], &[3, 4]),
                "where the header has 2",
            ),
        ),
        c("quoted-fields-with-commas.csv", Customer, kept(2)),
        c("newline-inside-quoted-field.csv", Customer, kept(2)),
        c("whitespace-padded.csv", Customer, kept(2)),
        c(
            "null-tokens.csv",
            Customer,
            rej(6, 1, &[("null_token", 5)], &[2, 3, 4, 5, 6]),
        ),
        c(
            "empty-quoted-values.csv",
            Customer,
            rej(3, 1, &[("empty", 2)], &[2, 3]),
        ),
        c(
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
        c(
            "value-over-1024-bytes.csv",
            Customer,
            why(rej(3, 2, INVALID, &[3]), "longer than 1024 bytes"),
        ),
        c("semicolon-delimited.csv", Customer, Error(&["no column"])),
        c(
            "missing-column.csv",
            Customer,
            Error(&["no column \"id\"", "\"email\""]),
        ),
        c(
            "duplicate-header-names.csv",
            Customer,
            Error(&["duplicate column names", "\"id\""]),
        ),
        c(
            "duplicate-column-email-name-email.csv",
            Email,
            Error(&["duplicate column names", "\"email\"", "0, 2"]),
        ),
        c(
            "ambiguous-case-columns.csv",
            Email,
            Error(&["matches several columns", "\"EMAIL\""]),
        ),
        c("many-columns.csv", Customer, kept(1)),
        c("binary-garbage.csv", Customer, Error(&["no column"])),
        c("quoted-tsv.tsv", Customer, kept(2)),
        // --- row numbers are physical lines, whatever comes before
        c(
            "blank-lines-row-numbers.csv",
            Customer,
            rej(4, 2, &[("null_token", 2)], &[6, 9]),
        ),
        c(
            "crlf-blank-lines-row-numbers.csv",
            Customer,
            rej(3, 2, &[("null_token", 1)], &[6]),
        ),
        c(
            "quoted-multiline-then-reject.csv",
            Customer,
            rej(3, 2, &[("null_token", 1)], &[5]),
        ),
        c(
            "tsv-quotes-and-blank-lines.tsv",
            Customer,
            rej(3, 2, &[("null_token", 1)], &[5]),
        ),
        // --- encodings
        c("bom-at-start.csv", Customer, kept(2)),
        c("header-with-bom-and-spaces.csv", Customer, kept(1)),
        c(
            "bom-in-middle.csv",
            Customer,
            why(rej(3, 2, INVALID, &[3]), "invisible"),
        ),
        c(
            "zero-width-characters.csv",
            Customer,
            why(rej(4, 2, &[("invalid", 2)], &[3, 4]), "invisible"),
        ),
        c(
            "invalid-utf8.csv",
            Customer,
            why(rej(3, 2, MALFORMED, &[3]), "invalid UTF-8"),
        ),
        c(
            "latin1-bytes.csv",
            Customer,
            why(rej(3, 2, MALFORMED, &[2]), "invalid UTF-8"),
        ),
        c("latin1-in-other-column.csv", Customer, kept(2)),
        c(
            "utf16le-with-bom.csv",
            Customer,
            Error(&["UTF-16", "byte-order mark", "iconv -f UTF-16 -t UTF-8"]),
        ),
        c(
            "utf16be-with-bom.csv",
            Customer,
            Error(&["UTF-16", "iconv"]),
        ),
        c(
            "utf16le-no-bom.csv",
            Customer,
            Error(&["UTF-16LE", "iconv -f UTF-16LE"]),
        ),
        c(
            "utf16be-no-bom.csv",
            Customer,
            Error(&["UTF-16BE", "iconv -f UTF-16BE"]),
        ),
        c(
            "utf32le-with-bom.csv",
            Customer,
            Error(&["UTF-32", "iconv"]),
        ),
        c(
            "utf32be-no-bom.csv",
            Customer,
            Error(&["UTF-32BE", "iconv"]),
        ),
        c("utf16le.ndjson", Customer, Error(&["UTF-16", "iconv"])),
        c(
            "utf16le-no-bom.json",
            Customer,
            Error(&["UTF-16LE", "iconv"]),
        ),
        c(
            "utf16le.csv.gz",
            Customer,
            Error(&["UTF-16", "gunzip -c", "iconv"]),
        ),
        c("xlsx-workbook.csv", Customer, Error(&["ZIP", "CSV"])),
        c("nul-filled.csv", Customer, Error(&["NUL bytes"])),
        c(
            "nul-bytes.csv",
            Customer,
            why(rej(3, 2, INVALID, &[3]), "control character"),
        ),
        c(
            "control-characters.csv",
            Customer,
            rej(4, 2, &[("invalid", 2)], &[3, 4]),
        ),
        // --- junk that must not be sent
        c(
            "null-tokens-any-case.csv",
            Customer,
            rej(
                20,
                1,
                &[("null_token", 19)],
                &[
                    2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                ],
            ),
        ),
        c(
            "invisible-characters.csv",
            Customer,
            why(
                rej(
                    13,
                    1,
                    &[("invalid", 12)],
                    &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
                ),
                "invisible",
            ),
        ),
        c(
            "control-characters-everywhere.csv",
            Customer,
            why(
                rej(6, 2, &[("invalid", 4)], &[3, 4, 5, 6]),
                "control character",
            ),
        ),
        c(
            "zero-width-in-email.csv",
            Email,
            why(rej(3, 1, &[("invalid", 2)], &[3, 4]), "invisible"),
        ),
        c(
            "segment-control-in-user-id.csv",
            Segment,
            why(
                rej(4, 1, &[("invalid", 3)], &[3, 4, 5]),
                "control character",
            ),
        ),
        // --- identifier kinds
        c(
            "mpid-beyond-2-63.csv",
            Mpid,
            why(rej(5, 2, &[("invalid", 3)], &[3, 5, 6]), "signed 64-bit"),
        ),
        c(
            "scientific-notation-ids.csv",
            Mpid,
            rej(4, 2, &[("invalid", 2)], &[2, 5]),
        ),
        c(
            "mpid-odd-number-forms.csv",
            Mpid,
            rej(6, 1, &[("invalid", 5)], &[2, 3, 4, 5, 7]),
        ),
        c(
            "mpid-negative-zero.csv",
            Mpid,
            why(rej(5, 2, &[("invalid", 3)], &[2, 3, 4]), "never 0"),
        ),
        c(
            "emails-malformed.csv",
            Email,
            rej(7, 2, &[("invalid", 5)], &[3, 4, 5, 6, 7]),
        ),
        c(
            "formula-injection.csv",
            Email,
            rej(6, 1, &[("invalid", 5)], &[3, 4, 5, 6, 7]),
        ),
        // --- empty and mismatched input
        c(
            "all-rejected.csv",
            Customer,
            rej(3, 0, &[("empty", 1), ("null_token", 2)], &[2, 4, 5]),
        ),
        c(
            "json-key-in-no-record.json",
            Customer,
            Error(&["none of its 5 records has the key \"id\"", "\"email\""]),
        ),
        c(
            "ndjson-key-in-no-record.ndjson",
            Customer,
            Error(&["none of its 5 records has the key \"id\"", "\"email\""]),
        ),
        c("empty.ndjson", Customer, kept(0)),
        c("empty.json.gz", Customer, kept(0)),
        c(
            "json-all-null.json",
            Customer,
            rej(2, 0, &[("null", 2)], &[1, 2]),
        ),
        // --- nothing personal printed from the input
        Case {
            file: "headerless-personal-first-row.csv",
            kind: Customer,
            expect: Error(&["no column \"id\"", "looks like data", "--no-header"]),
            // "555 0100", not "555": the sandbox banner prints its random port.
            never_printed: &["10042", "Jane", "555 0100"],
        },
        Case {
            file: "first-row-emails.csv",
            kind: Customer,
            expect: Error(&["no column \"id\"", "looks like data"]),
            never_printed: &["jane.doe", "example.com"],
        },
        Case {
            file: "long-header-line.csv",
            kind: Customer,
            expect: Error(&["no column \"id\"", "5000 bytes", "\"name\""]),
            never_printed: &["hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"],
        },
        // --- gzip
        c("gzip-valid.csv.gz", Customer, kept(3)),
        c("gzip-concatenated-members.csv.gz", Customer, kept(3)),
        c("truncated.csv.gz", Customer, Error(&["gzip", "truncated"])),
        c(
            "gz-extension-but-plain-text.csv.gz",
            Customer,
            Error(&["gzip"]),
        ),
        c("gzip-trailing-garbage.csv.gz", Customer, Error(&["gzip"])),
        c(
            "gzip-of-invalid-utf8.csv.gz",
            Customer,
            rej(3, 2, MALFORMED, &[3]),
        ),
        // --- bounded memory: records past the cap are skipped, endless ones stop the read
        c(
            "record-over-1mib.csv.gz",
            Customer,
            why(rej(3, 2, MALFORMED, &[3]), OVER_CAP),
        ),
        c(
            "line-of-commas-10mb.csv.gz",
            Customer,
            why(rej(3, 2, MALFORMED, &[3]), OVER_CAP),
        ),
        c(
            "endless-field.csv.gz",
            Customer,
            Error(&["line 3", "past 16 MiB"]),
        ),
        c(
            "line-of-commas-50mb.csv.gz",
            Customer,
            Error(&["line 1", "past 16 MiB"]),
        ),
        c(
            "one-2mib-line.csv.gz",
            Customer,
            Error(&["first row is longer than 1 MiB"]),
        ),
        c(
            "unterminated-quote-endless.csv.gz",
            Customer,
            Error(&["line 3", "never closed", "past 16 MiB"]),
        ),
        c(
            "ndjson-line-over-1mib.ndjson.gz",
            Customer,
            why(rej(3, 2, MALFORMED, &[2]), OVER_CAP),
        ),
        c(
            "ndjson-endless-line.ndjson.gz",
            Customer,
            Error(&["line 2", "past 16 MiB"]),
        ),
        c(
            "json-element-over-1mib.json.gz",
            Customer,
            why(rej(3, 2, MALFORMED, &[2]), OVER_CAP),
        ),
        c(
            "json-endless-string.json.gz",
            Customer,
            Error(&["element 2", "past 16 MiB"]),
        ),
    ];
    t.extend(json_cases());
    t
}

fn json_cases() -> Vec<Case> {
    vec![
        c("deeply-nested.json", Customer, rej(1, 0, INVALID, &[1])),
        c(
            "deeply-nested-value.json",
            Customer,
            rej(2, 1, INVALID, &[1]),
        ),
        c(
            "trailing-garbage.json",
            Customer,
            Error(&["line 1, column 13", "trailing characters"]),
        ),
        c(
            "trailing-comma.json",
            Customer,
            Error(&["line 1, column 12", "trailing comma"]),
        ),
        c("truncated.json", Customer, Error(&["line 1", "ends early"])),
        c(
            "top-level-object.json",
            Customer,
            Error(&["line 1, column 1", "JSON array"]),
        ),
        c(
            "mixed-types.json",
            Customer,
            rej(
                9,
                4,
                &[("invalid", 3), ("missing_value", 1), ("null", 1)],
                &[3, 4, 5, 6, 7],
            ),
        ),
        c(
            "nan-and-infinity.json",
            Customer,
            Error(&["line 1, column 8"]),
        ),
        c(
            "json-pretty-nan.json",
            Customer,
            Error(&["line 3, column 3"]),
        ),
        c(
            "json-invalid-utf8-line-2.json",
            Customer,
            Error(&["line 3, column 4", "UTF-8"]),
        ),
        c("duplicate-keys.json", Customer, kept(2)),
        c(
            "lone-surrogate-escape.json",
            Customer,
            rej(3, 2, MALFORMED, &[2]),
        ),
        c(
            "big-number-mpids.json",
            Mpid,
            rej(5, 3, &[("invalid", 2)], &[2, 4]),
        ),
        c("bom.json", Customer, kept(2)),
        c("empty-array.json", Customer, kept(0)),
        c("whitespace-only.json", Customer, kept(0)),
        c(
            "nested-key-path.json",
            Column("user.id"),
            rej(3, 2, &[("missing_value", 1)], &[3]),
        ),
        c(
            "invalid-utf8-in-string.json",
            Customer,
            Error(&["line 1, column 10"]),
        ),
        // --- NDJSON
        c(
            "ndjson-one-broken-line.ndjson",
            Customer,
            why(rej(5, 4, MALFORMED, &[3]), "invalid JSON"),
        ),
        c("ndjson-crlf-and-blank-lines.ndjson", Customer, kept(2)),
        c(
            "ndjson-invalid-utf8-line.ndjson",
            Customer,
            rej(3, 2, MALFORMED, &[2]),
        ),
        c(
            "ndjson-missing-key.ndjson",
            Customer,
            rej(3, 2, &[("missing_value", 1)], &[2]),
        ),
        c(
            "ndjson-array-line.ndjson",
            Customer,
            rej(2, 1, INVALID, &[1]),
        ),
        c(
            "ndjson-nul-escape.ndjson",
            Customer,
            rej(2, 1, INVALID, &[1]),
        ),
        c(
            "ndjson-two-values-on-one-line.ndjson",
            Customer,
            why(rej(2, 1, MALFORMED, &[1]), "trailing characters"),
        ),
        c("ndjson-no-trailing-newline.ndjson", Customer, kept(2)),
    ]
}

pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

/// The vendor and column flags of a kind.
pub fn vendor_args(cmd: &mut Command, kind: Kind) {
    match kind {
        Customer | Column(_) => {
            let col = if let Column(c) = kind { c } else { "id" };
            crate::support::mparticle_args(cmd, "production", "customerid", col);
        }
        Mpid => {
            crate::support::mparticle_args(cmd, "production", "mpid", "mpid");
        }
        Email => {
            crate::support::lytics_args(cmd);
        }
        Segment => {
            cmd.args(["--vendor", "segment", "--space", "spa_corpus"])
                .args(["--id-type", "email", "--user-id-column", "user_id"])
                .args(["--column", "email"]);
        }
    }
}
