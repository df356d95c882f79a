//! Segment regulations' 30-day quota at its real size, 110,000 users, through the binary
//! against the fake (whose own quota is the documented one): a run that fits is sent in
//! full, one that would cross it is refused before sending with the date it fits. No
//! sleeping: the window is counted from the ledger and the plan, not waited out.
//! (Braze's 20,000 requests a minute at its real size is simulated in the limiter's tests:
//! `braze_at_its_real_quota_never_puts_more_than_20000_requests_in_a_minute`.)

use std::path::Path;
use std::time::{Duration, SystemTime};

use cdp_purge_sandbox::SandboxConfig;

use crate::erasure_vendors::frees_up_at;
use crate::support::{Outcome, TestContext, deletions, read_ledger};

fn ids_file(cx: &TestContext, name: &str, n: usize) -> std::path::PathBuf {
    let mut s = String::with_capacity(n * 16 + 8);
    s.push_str("user_id\n");
    for i in 0..n {
        s.push_str(&format!("{name}-{i:07}\n"));
    }
    cx.file(&format!("{name}.csv"), s)
}

fn regs(cx: &TestContext, input: &Path, ledger: &Path) -> Outcome {
    let mut cmd = cx.cmd_with_credentials();
    cmd.args(["delete", "--vendor", "segment-regs", "--id-type", "user_id"])
        .args(["--column", "user_id", "--yes"])
        .args(["--base-url", &cx.fake().base_url()])
        .arg("--ledger")
        .arg(ledger)
        .arg("-i")
        .arg(input);
    cx.run(&mut cmd)
}

#[test]
fn segment_regs_fills_110000_in_30_days_and_refuses_one_more_with_the_date() {
    let thirty_days = Duration::from_secs(30 * 86_400);
    let cx = TestContext::with_fake(SandboxConfig {
        segment_regs_state_step: Duration::ZERO,
        ..SandboxConfig::default()
    });
    let ledger = cx.dir().join("regs.ledger.jsonl");
    let started = SystemTime::now();

    let out = regs(&cx, &ids_file(&cx, "a", 105_000), &ledger);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let sizes: Vec<usize> = deletions(&cx.fake().log())
        .iter()
        .map(|r| r.items)
        .collect();
    assert_eq!(sizes, [5000; 21], "batches at the 5,000 cap");

    // 5,001 more would cross 110,000: refused before anything is sent, with the time the
    // first run's regulations leave the window.
    let out = regs(&cx, &ids_file(&cx, "b", 5_001), &ledger);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("105000 were sent in the window"),
        "{}",
        out.stderr
    );
    assert_eq!(deletions(&cx.fake().log()).len(), 21, "nothing sent");
    let at = frees_up_at(&out.stderr);
    assert!(
        at >= started + thirty_days - Duration::from_secs(1)
            && at <= SystemTime::now() + thirty_days,
        "{at:?}"
    );

    // 5,000 fit exactly: sent, and the fake (counting the documented 110,000 itself)
    // accepted every one.
    let out = regs(&cx, &ids_file(&cx, "c", 5_000), &ledger);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let log = cx.fake().log();
    let sent: usize = deletions(&log).iter().map(|r| r.items).sum();
    assert_eq!(sent, 110_000);
    assert!(log.iter().all(|r| r.status == Some(200)), "none refused");
    assert_eq!(
        read_ledger(&ledger).statuses().get("acknowledged"),
        Some(&110_000)
    );
}
