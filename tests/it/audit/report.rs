use cdp_purge_sandbox::{Sandbox, SandboxConfig};

use super::*;

/// 20 good emails, two duplicates, three rejects, and one Lytics refuses per item.
fn messy() -> Vec<String> {
    let mut v = emails(20);
    v.insert(3, "user1@example.com".into());
    v.insert(7, "   ".into());
    v.insert(9, "null".into());
    v.insert(11, "not-an-email".into());
    v.push("user2@example.com".into());
    v.push("invalid-x@example.com".into());
    v
}

fn report(ledger: &Path) -> Command {
    let mut c = bin();
    c.args(["report", "--ledger"]).arg(ledger);
    c
}

#[test]
fn csv_has_one_line_per_kept_row_and_no_identifier() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &messy());

    let (code, out, err) = run(report(&ledger).args(["--csv"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "a finished run warns about nothing: {err}");
    let mut rd = csv::Reader::from_reader(out.as_bytes());
    let headers = rd.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "vendor",
            "input_file",
            "row",
            "id_hmac",
            "batch",
            "outcome",
            "vendor_id",
            "state",
            "when",
            "run_id",
            "completed_at",
            "completed_source",
            "completed_by",
            "last_checked_at"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    // 26 data rows: 3 rejected, 2 duplicates, 21 kept.
    assert_eq!(rows.len(), 21);
    let mut nums: Vec<u64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    nums.dedup();
    assert_eq!(nums.len(), 21, "one line per row");
    let invalid: Vec<_> = rows.iter().filter(|r| &r[5] == "invalid").collect();
    assert_eq!(invalid.len(), 1);
    assert_eq!(&invalid[0][2], "27", "the last data row (header is row 1)");
    assert!(rows.iter().filter(|r| &r[5] == "acknowledged").all(|r| {
        r[6].starts_with("") && !r[6].is_empty() && r[3].len() == 64 && r[4].len() == 64
    }));
    assert!(!out.contains("@example.com"), "no identifier in the CSV");

    // The text report breaks the numbers down per run.
    let (code, out, _) = run(&mut report(&ledger));
    assert_eq!(code, Some(0));
    assert!(out.contains("26 read, 21 kept, 3 rejected ("), "{out}");
    assert!(out.contains("empty 1"), "{out}");
    assert!(out.contains("2 duplicates"), "{out}");
    assert!(
        out.contains("21: 20 acknowledged, 1 failed (invalid 1)"),
        "{out}"
    );
    assert!(out.contains("value does not match field"), "{out}");
    assert!(out.contains("accepted (not polled yet) 20"), "{out}");
    assert!(!out.contains("@example.com"));

    // After `status`, the CSV carries the vendor's state.
    let (code, _, err) = run(bin()
        .args(["status", "--max-rps", "200", "--ledger"])
        .arg(&ledger));
    assert!(matches!(code, Some(0 | 1)), "{err}");
    let (_, out, _) = run(report(&ledger).args(["--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["overall"]["rows_recorded"], 21);
    assert_eq!(v["runs"][0]["vendor_ids"].as_array().unwrap().len(), 20);
    let states = v["overall"]["states"].as_object().unwrap();
    assert_eq!(
        states.values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        20
    );
    assert!(
        !states.contains_key("accepted (not polled yet)"),
        "{states:?}"
    );
}

#[test]
fn an_unfinished_run_is_reported_on_stderr() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "users.csv", "email", &emails(30));
    let (code, _, err) =
        run(support::lytics_delete_to(&sb.base_url(), &input).args(["--batch-size", "10"]));
    assert_eq!(code, Some(0), "{err}");
    let ledger = ledger_of(&input);
    // What a crash after the first batch leaves: everything up to its outcome.
    let text = std::fs::read_to_string(&ledger).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first_outcome = lines
        .iter()
        .position(|l| l.contains("\"type\":\"outcome\""))
        .unwrap();
    let cut: String = lines[..=first_outcome]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&ledger, cut).unwrap();

    let (code, out, err) = run(report(&ledger).args(["--format", "csv"]));
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 11, "header and the 10 recorded rows");
    assert!(err.contains("records 10 of 30 kept rows"), "{err}");
    assert!(err.contains("did not finish"), "{err}");
}

#[test]
fn lookup_finds_a_person_in_a_ledger_of_hashes_without_printing_them() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = delete_lytics(&sb, dir.path(), "users.csv", &emails(10));
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert!(
        !text.contains("user3@example.com"),
        "the ledger holds hashes only"
    );

    let (code, out, err) = run(report(&ledger).args(["--lookup", "user3@example.com"]));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("lookup 1 (id_hmac "), "{out}");
    assert!(out.contains(": 1 row"), "{out}");
    assert!(out.contains("lytics "), "{out}");
    assert!(
        out.contains(" row 5: acknowledged"),
        "user3 is data row 4, file row 5: {out}"
    );
    assert!(!out.contains("user3@example.com") && !err.contains("user3@example.com"));

    let list = dir.path().join("people.txt");
    std::fs::write(&list, "user7@example.com\n\nnobody@example.com\n").unwrap();
    let (code, out, _) = run(report(&ledger).args(["--json", "--lookup-file"]).arg(&list));
    assert_eq!(code, Some(1), "a value with no row exits 1: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["rows"].as_array().unwrap().len(), 1);
    assert_eq!(v[0]["rows"][0]["row"], 9);
    assert_eq!(v[1]["rows"].as_array().unwrap().len(), 0);
    assert!(!out.contains("@example.com"));

    // Without the key there is nothing to hash with.
    std::fs::remove_file(cdp_purge::ledger::key_path(&ledger)).unwrap();
    let (code, _, err) = run(report(&ledger).args(["--lookup", "user3@example.com"]));
    assert_eq!(code, Some(2));
    assert!(err.contains(".key is missing"), "{err}");
}
