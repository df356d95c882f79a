//! `report --group NAME -i INPUT` says why a target sent nothing for a row: its intake
//! rejected the row (the reason and the column), the row repeats an earlier one, or the
//! target's run stopped before reaching it. Each is read by replaying that target's intake
//! over the same input, checked against the digest its ledger recorded.

use cdp_purge_sandbox::{Fault, SandboxConfig, VendorKind};

use crate::support::TestContext;

#[test]
fn not_sent_cells_tell_a_reject_from_a_duplicate_from_a_row_not_reached() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let base = cx.fake().base_url();
    let cfg = cx.file(
        "cdp-purge.toml",
        format!(
            r#"{}
[targets.ph]
vendor = "posthog"
base_url = "{base}"
id_type = "distinct_id"
project_id = "7"
column = "distinct_id"

[groups]
erasure = ["cdp", "ph"]
"#,
            crate::support::lytics_email_target("cdp", &base)
        ),
    );
    // Row 3 has no email (Lytics' reject); row 4 repeats row 2's email (Lytics' duplicate).
    let input = cx.file(
        "list.csv",
        "email,distinct_id\na@x.co,d1\n,d2\na@x.co,d3\nc@x.co,d4\n",
    );
    // PostHog refuses the key on its first request: its run stops before sending anything.
    cx.fake()
        .push_fault(Some(VendorKind::Posthog), Fault::Status(401));
    let mut cmd = cx.cmd_with_credentials();
    cmd.arg("--config")
        .arg(&cfg)
        .args(["delete", "--group", "erasure", "--yes", "-i"])
        .arg(&input);
    let out = cx.run(&mut cmd);
    assert_eq!(out.code, Some(3), "{}", out.transcript());

    let mut report = cx.cmd();
    report
        .arg("--config")
        .arg(&cfg)
        .args(["report", "--group", "erasure", "--csv", "-i"])
        .arg(&input);
    let r = cx.run(&mut report);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("input_file,row,cdp,ph"));
    let cells: Vec<Vec<String>> = lines
        .map(|l| {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(l.as_bytes())
                .records()
                .next()
                .unwrap()
                .unwrap()
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let at = |row: &str, col: usize| -> &str {
        &cells
            .iter()
            .find(|c| c[1] == row)
            .unwrap_or_else(|| panic!("row {row} missing: {}", r.stdout))[col]
    };
    assert_eq!(cells.len(), 4, "every input row: {}", r.stdout);
    assert_eq!(at("3", 2), "rejected: empty (email)", "{}", r.stdout);
    assert_eq!(
        at("4", 2),
        "not sent: duplicate of an earlier row",
        "{}",
        r.stdout
    );
    for row in ["2", "5"] {
        assert!(!at(row, 2).starts_with("not sent"), "{}", r.stdout);
    }
    for row in ["2", "3", "4", "5"] {
        assert!(
            at(row, 3).starts_with("not sent yet"),
            "row {row} at ph: {}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains("a@x.co") && !r.stdout.contains(",d1"));
}
