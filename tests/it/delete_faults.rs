//! The engine against the fault-injecting fake vendor (mParticle): connection resets,
//! truncated bodies, hangs and 5xx are retried, and every batch is applied exactly once.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use cdp_purge_sandbox::VendorKind;
use cdp_purge_sandbox::{Fault, RetryAfter, Sandbox, SandboxConfig};
use common::*;

#[tokio::test]
async fn resets_truncation_hangs_and_5xx_are_retried_and_applied_once() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for f in [
        Fault::Reset,
        Fault::Truncate,
        Fault::Hang,
        Fault::Unavailable(Some(1)),
        Fault::ServerError,
        Fault::TooManyRequests(RetryAfter::Garbage),
        Fault::TooManyRequests(RetryAfter::PastDate),
    ] {
        sb.push_fault(Some(VendorKind::Mparticle), f);
    }
    let opts = Opts {
        concurrency: 1,
        timeout: Duration::from_millis(500),
        ..Opts::default()
    };
    let run = run_engine_with(mparticle(&sb.base_url()), mp_batches(4, 25), opts).await;
    assert_eq!(run.end.stopped, None);
    assert_eq!(get(&run.stats.items_ok), 100);
    assert_eq!(get(&run.stats.retries), 7);
    let log = sb.log();
    assert_eq!(log.len(), 4 + 7);
    let mut applied: HashMap<u64, usize> = HashMap::new();
    for r in &log {
        if r.applied {
            *applied.entry(r.body_hash).or_default() += 1;
        }
    }
    assert_eq!(applied.len(), 4, "every batch applied");
    assert!(applied.values().all(|&n| n == 1), "none applied twice");
    let errors: Vec<_> = records(&run.ledger, "attempt")
        .filter_map(|a| a["error"].as_str())
        .collect();
    for kind in ["reset", "truncated", "timeout"] {
        assert!(errors.contains(&kind), "{kind} recorded in {errors:?}");
    }
}

#[tokio::test]
async fn the_mparticle_fake_enforces_a_quota_the_pacer_keeps_under() {
    // A small quota keeps the test short: 300 items/s over every window, batches of 50.
    let quota = cdp_purge_sandbox::Quota {
        requests: None,
        items: Some(cdp_purge_sandbox::Rate::per_second(300)),
        in_flight: None,
    };
    let sb = Sandbox::start(SandboxConfig::default().with_quota(VendorKind::Mparticle, quota))
        .await
        .unwrap();
    // The client is told the same quota; the fake keeps its own copy.
    let told = cdp_purge::vendor::Quota {
        requests: None,
        items: Some(cdp_purge::vendor::Rate::per_second(300)),
        in_flight: None,
        documented: true,
    };
    let (limits, _) = cdp_purge::engine::limiter::resolve(
        &told,
        8,
        50,
        cdp_purge::engine::limiter::Overrides::default(),
    )
    .unwrap();
    let opts = Opts {
        concurrency: 8,
        limits: Some(limits),
        ..Opts::default()
    };
    let run = run_engine_with(mparticle(&sb.base_url()), mp_batches(10, 50), opts).await;
    assert_eq!(get(&run.stats.items_ok), 500);
    assert_eq!(get(&run.stats.throttled), 0, "no 429 from the quota");
    assert!(sb.log().iter().all(|r| r.status == Some(202)));
}

#[tokio::test]
async fn clevertap_concurrency_429s_lower_the_in_flight_cap() {
    // The fake allows 3 requests in flight and holds each for 150 ms; we start with 6.
    let sb = Sandbox::start(SandboxConfig {
        latency: Duration::from_millis(150),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let limits = cdp_purge::engine::limiter::Limits {
        requests: None,
        items: None,
        concurrency: 6,
        concurrency_limited: true,
    };
    let batches: Vec<_> = mp_batches(40, 5)
        .into_iter()
        .map(|b| {
            let items = b
                .items
                .into_iter()
                .map(|mut i| {
                    i.kind = "identity".into();
                    i
                })
                .collect();
            cdp_purge::batch::Batch::new(b.seq, "clevertap", Some("identity".into()), items)
        })
        .collect();
    let opts = Opts {
        limits: Some(limits),
        time_scale: 0.05,
        ..Opts::default()
    };
    let run = run_engine_with(clevertap(&sb.base_url()), batches, opts).await;
    assert_eq!(run.end.stopped, None);
    assert_eq!(get(&run.stats.items_ok), 200);
    let log = sb.log();
    let throttled = log.iter().filter(|r| r.status == Some(429)).count();
    assert!(
        throttled > 0,
        "6 in flight against a limit of 3 must be refused"
    );
    // Once the cap is down to 3, the rest go through: the late requests are not refused.
    let tail = &log[log.len() - 10..];
    assert!(
        tail.iter().all(|r| r.status == Some(200)),
        "still refused at the end: {throttled} 429s in {} requests",
        log.len()
    );
}

/// One mParticle batch of three identifiers, one request at a time, two retries.
async fn three_ids_two_retries(base: &str) -> Run {
    let opts = Opts {
        concurrency: 1,
        max_retries: 2,
        ..Opts::default()
    };
    run_engine_with(mparticle(base), mp_batches(1, 3), opts).await
}

/// An answer longer than the cap is not read (memory stays bounded whatever comes back),
/// and a 2xx that could not be read proves nothing: its identifiers are not acknowledged,
/// and each attempt says why.
#[tokio::test]
async fn an_answer_past_the_cap_is_not_read_and_proves_nothing() {
    use cdp_purge::protocol::answer::MAX_ANSWER;
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202).set_body_bytes(vec![b' '; MAX_ANSWER + 1]))
        .mount(&server)
        .await;
    let run = three_ids_two_retries(&server.uri()).await;
    assert_eq!(get(&run.stats.items_ok), 0, "nothing proved acknowledged");
    let errors: Vec<_> = records(&run.ledger, "attempt")
        .filter_map(|a| a["error"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(errors, ["too large"; 3], "every attempt says why");
    let statuses: Vec<String> = records(&run.ledger, "outcome")
        .flat_map(|o| o["results"].as_array().cloned().unwrap_or_default())
        .map(|r| r["status"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    // Retries ran out on answers nobody read: a rerun sends them again.
    assert!(
        statuses.iter().all(|s| s == "failed_retryable"),
        "{statuses:?}"
    );
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), 3);
}

/// A redirect is not followed. A deletion POST answered with a 302 to a page that answers
/// 200 (a proxy's or a portal's sign-in page) deleted nothing; followed (reqwest's default,
/// as a GET), the page's 200 counted as mParticle's 202 and every identifier was
/// "acknowledged". Now the page is never asked, and the run stops saying why (every request
/// to that endpoint would be redirected alike), with nothing recorded as settled.
#[tokio::test]
async fn a_redirected_deletion_is_not_followed_and_stops_the_run() {
    use cdp_purge::engine::StopReason;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    for status in [302u16, 307] {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/userprofile/bulkdelete"))
            .respond_with(ResponseTemplate::new(status).insert_header(
                "location",
                format!("{}/sign-in?next=x", server.uri()).as_str(),
            ))
            .mount(&server)
            .await;
        Mock::given(path("/sign-in"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>sign in</html>"))
            .mount(&server)
            .await;
        let run = three_ids_two_retries(&server.uri()).await;
        assert_eq!(
            get(&run.stats.items_ok),
            0,
            "HTTP {status}: nothing acknowledged"
        );
        assert_eq!(
            received_paths(&server).await,
            ["/userprofile/bulkdelete"],
            "HTTP {status}: one request, not followed"
        );
        let Some(StopReason::Fatal { reason, hint, auth }) = run.end.stopped.clone() else {
            panic!("HTTP {status}: the run must stop: {:?}", run.end.stopped);
        };
        assert!(!auth);
        assert!(
            reason.contains(&format!("HTTP {status}")) && reason.contains("redirect"),
            "{reason}"
        );
        // The origin it points to, never its path or query (they could carry an identifier).
        assert!(
            reason.contains(&server.uri()) && !reason.contains("sign-in"),
            "{reason}"
        );
        assert!(hint.contains("--base-url"), "{hint}");
        assert_eq!(
            records(&run.ledger, "outcome").count(),
            0,
            "nothing settled"
        );
    }
}
