//! Each vendor's 429 and 503 through the real binary: the sandbox answers a scripted 429
//! (with `Retry-After`) and then a 503 in that vendor's own error shape before behaving;
//! the run must retry both and delete every identifier exactly once.

use std::path::Path;
use std::process::Stdio;

use cdp_purge_sandbox::VendorKind;
use cdp_purge_sandbox::{Fault, RetryAfter, Sandbox, SandboxConfig};

struct Case {
    vendor: VendorKind,
    args: &'static [&'static str],
    input: &'static str,
    column: &'static str,
    /// Identifiers the example file yields after cleaning.
    kept: u64,
}

const CASES: &[Case] = &[
    Case {
        vendor: VendorKind::Lytics,
        args: &["--vendor", "lytics", "--field", "email"],
        input: "suppression-list.csv",
        column: "email",
        kept: 120,
    },
    Case {
        vendor: VendorKind::Mparticle,
        args: &[
            "--vendor",
            "mparticle",
            "--environment",
            "production",
            "--identity-type",
            "customerid",
        ],
        input: "suppression-list.csv",
        column: "customer_id",
        kept: 128,
    },
    Case {
        vendor: VendorKind::Clevertap,
        args: &["--vendor", "clevertap", "--id-kind", "identity"],
        input: "suppression-list.csv",
        column: "customer_id",
        kept: 128,
    },
    Case {
        vendor: VendorKind::Segment,
        args: &[
            "--vendor",
            "segment",
            "--space",
            "spa_t",
            "--id-type-column",
            "type",
            "--user-id-column",
            "user_id",
        ],
        input: "segment-pairs.csv",
        column: "identifier",
        kept: 3,
    },
    Case {
        vendor: VendorKind::Hightouch,
        args: &[
            "--vendor",
            "hightouch",
            "--graph",
            "g1",
            "--identifier-type",
            "email",
            "--source-data-deleted",
        ],
        input: "suppression-list.csv",
        column: "email",
        kept: 120,
    },
];

#[test]
fn every_vendor_retries_its_429_and_503_and_deletes_once() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for case in CASES {
        let sb = Sandbox::start_blocking(SandboxConfig::default()).expect("sandbox");
        sb.push_fault(
            Some(case.vendor),
            Fault::TooManyRequests(RetryAfter::Seconds(1)),
        );
        sb.push_fault(Some(case.vendor), Fault::Unavailable(None));
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = crate::support::cdp_purge();
        crate::support::credentials(&mut cmd, sb.credentials());
        let out = cmd
            .args(["delete", "--yes", "--json", "--base-url", &sb.base_url()])
            .args(case.args)
            .args(["--column", case.column, "--ledger"])
            .arg(dir.path().join("run.ledger.jsonl"))
            .arg("-i")
            .arg(examples.join(case.input))
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", case.vendor);
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
        assert_eq!(
            summary["acknowledged"], case.kept,
            "{}: {summary}",
            case.vendor
        );
        assert!(
            summary["retries"].as_u64() >= Some(2),
            "{}: {summary}",
            case.vendor
        );
        assert_eq!(summary["throttled"], 1, "{}: {summary}", case.vendor);

        let log = sb.log();
        let statuses: Vec<Option<u16>> = log.iter().take(2).map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [Some(429), Some(503)],
            "{}: the script ran first",
            case.vendor
        );
        let mut applied: Vec<&String> = log
            .iter()
            .filter(|r| r.applied)
            .flat_map(|r| &r.values)
            .collect();
        let total = applied.len();
        applied.sort();
        applied.dedup();
        assert_eq!(
            total as u64, case.kept,
            "{}: each identifier deleted once",
            case.vendor
        );
        assert_eq!(
            applied.len(),
            total,
            "{}: an identifier was deleted twice",
            case.vendor
        );
    }
}
