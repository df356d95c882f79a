//! Quotas over long windows are planned from the ledger before anything is sent: a run that
//! would exceed one is refused (exit 4) with the time enough of it frees up.

use std::time::{Duration, SystemTime};

use cdp_purge_sandbox::SandboxConfig;

use crate::support::{TestContext, deletions};

fn emails(prefix: &str, n: usize) -> String {
    let mut s = String::from("email\n");
    for i in 0..n {
        s.push_str(&format!("{prefix}{i}@example.com\n"));
    }
    s
}

#[test]
fn a_run_past_a_long_window_is_refused_before_sending_with_the_time_it_fits() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let ledger = cx.dir().join("lytics.ledger.jsonl");
    let run = |name: &str, n: usize| {
        let input = cx.file(name, emails(name, n));
        let mut cmd = cx.lytics_delete(&input);
        cmd.args(["--batch-size", "1", "--max-per-window", "5/2h", "--ledger"])
            .arg(&ledger);
        cx.run(&mut cmd)
    };
    let first = run("a", 3);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains("quota window: 5 per 120 min requests; 0 used"),
        "{}",
        first.stderr
    );
    assert_eq!(deletions(&cx.fake().log()).len(), 3);

    let before = SystemTime::now();
    let refused = run("b", 3);
    assert_eq!(refused.code, Some(4), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("3 were sent in the window")
            && refused.stderr.contains("nothing was sent"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        deletions(&cx.fake().log()).len(),
        3,
        "the refused run sent nothing"
    );
    // The first run's oldest request leaves the window two hours after it was sent.
    let at = crate::erasure_vendors::frees_up_at(&refused.stderr);
    let two_hours = Duration::from_secs(7200);
    assert!(at <= before + two_hours, "{at:?}");
    assert!(
        at + Duration::from_secs(120) >= before + two_hours,
        "{at:?}"
    );

    // What is left of the window still goes out.
    let rest = run("c", 2);
    assert_eq!(rest.code, Some(0), "{}", rest.stderr);
    assert_eq!(deletions(&cx.fake().log()).len(), 5);

    // More than a whole window never fits, whatever the history.
    let never = run("d", 6);
    assert_eq!(never.code, Some(4), "{}", never.stderr);
    assert!(
        never.stderr.contains("more than the whole quota"),
        "{}",
        never.stderr
    );
}
