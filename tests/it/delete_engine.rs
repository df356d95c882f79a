//! The delivery engine against a scripted HTTP server on 127.0.0.1 (wiremock): retries,
//! the shared 429 pause, bisection, fatal errors and the ledger. Delays are scaled down
//! with the engine's time scale; no test sleeps for a real backoff.

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use cdp_purge::engine::StopReason;
use common::*;
use wiremock::ResponseTemplate;

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(202).set_body_json(serde_json::json!({}))
}

fn entries(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

/// Every batch got exactly one 2xx (`failed` lists the request indices the script refused).
fn acked_once(log: &[Seen], failed: &[usize], n_batches: usize) {
    let mut count: HashMap<&Vec<String>, usize> = HashMap::new();
    for (i, s) in log.iter().enumerate() {
        if !failed.contains(&i) {
            *count.entry(&s.values).or_default() += 1;
        }
    }
    assert_eq!(count.len(), n_batches, "every batch acknowledged");
    assert!(
        count.values().all(|&c| c == 1),
        "no batch acknowledged twice"
    );
}

/// No request arrived between `from + grace` and `from + pause - slack`.
fn quiet_window(log: &[Seen], from: Instant, grace: Duration, until: Duration) -> usize {
    log.iter()
        .filter(|s| {
            s.at > from && {
                let d = s.at - from;
                d > grace && d < until
            }
        })
        .count()
}

// The pause tests: Retry-After × time scale 0.2 gives a pause of 600+ ms. Responses take
// 10 ms, so without the shared pause the other workers would keep sending through it.
// Requests already in flight when the 429 came back may land within the first 150 ms
// (generous, for a loaded machine).
const GRACE: Duration = Duration::from_millis(150);

#[tokio::test]
async fn a_429_with_retry_after_seconds_pauses_every_worker() {
    let (srv, log) = server(|n, _| {
        if n == 3 {
            ResponseTemplate::new(429).insert_header("retry-after", "3")
        } else {
            ok().set_delay(Duration::from_millis(10))
        }
    })
    .await;
    let opts = Opts {
        concurrency: 4,
        time_scale: 0.2,
        ..Opts::default()
    };
    let run = run_engine(&srv.uri(), batches(200, 2), opts).await;
    assert_eq!(run.end.stopped, None);
    assert_eq!(get(&run.stats.throttled), 1);
    assert_eq!(get(&run.stats.items_ok), 400);
    let log = entries(&log);
    let t429 = log[3].at;
    let inside = quiet_window(&log, t429, GRACE, Duration::from_millis(590));
    assert_eq!(inside, 0, "requests inside the pause window");
    let after = log
        .iter()
        .filter(|s| s.at.saturating_duration_since(t429) >= Duration::from_millis(590))
        .count();
    assert!(after >= 100, "the run went on after the pause ({after})");
    acked_once(&log, &[3], 200);
}

#[tokio::test]
async fn a_429_with_an_http_date_pauses_every_worker() {
    let (srv, log) = server(|n, _| {
        if n == 5 {
            let when = SystemTime::now() + Duration::from_secs(4);
            ResponseTemplate::new(429).insert_header("retry-after", httpdate::fmt_http_date(when))
        } else {
            ok().set_delay(Duration::from_millis(10))
        }
    })
    .await;
    let opts = Opts {
        concurrency: 6,
        time_scale: 0.2,
        ..Opts::default()
    };
    let run = run_engine(&srv.uri(), batches(300, 2), opts).await;
    assert_eq!(get(&run.stats.throttled), 1);
    let log = entries(&log);
    // An HTTP-date has whole seconds: 3 to 4 s from now, scaled to 600-800 ms.
    let inside = quiet_window(&log, log[5].at, GRACE, Duration::from_millis(580));
    assert_eq!(inside, 0, "requests inside the pause window");
    acked_once(&log, &[5], 300);
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried_and_acknowledged_once() {
    let (srv, log) = server(|n, _| match n {
        0 => ResponseTemplate::new(503),
        1 => ResponseTemplate::new(500),
        2 => ResponseTemplate::new(502),
        3 => ok().set_delay(Duration::from_secs(3)),
        _ => ok(),
    })
    .await;
    let opts = Opts {
        concurrency: 1,
        timeout: Duration::from_millis(300),
        ..Opts::default()
    };
    let run = run_engine(&srv.uri(), batches(3, 4), opts).await;
    assert_eq!(run.end.stopped, None);
    assert_eq!(get(&run.stats.items_ok), 12);
    assert_eq!(get(&run.stats.retries), 4);
    let log = entries(&log);
    // Request 3 timed out on our side, so it may have been acknowledged by the server; the
    // other failures were refused.
    acked_once(&log, &[0, 1, 2, 3], 3);
    let attempts: Vec<_> = records(&run.ledger, "attempt").collect();
    let sent = attempts.iter().filter(|a| a["phase"] == "sent").count();
    let results: Vec<_> = attempts.iter().filter(|a| a["phase"] == "result").collect();
    assert_eq!(sent, log.len(), "one sent record per request");
    assert_eq!(results.len(), log.len(), "one result record per request");
    let statuses: Vec<_> = results.iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses[0], 503);
    assert_eq!(results[0]["decision"], "retry");
    assert!(results[0]["delay_ms"].is_u64());
    assert!(results.iter().any(|a| a["error"] == "timeout"));
    // The attempt after a timeout knows the batch may already be delivered.
    let after_timeout = attempts
        .iter()
        .filter(|a| a["phase"] == "sent" && a["maybe_delivered_before"] == true)
        .count();
    assert_eq!(after_timeout, 1);
    let outcomes: Vec<_> = records(&run.ledger, "outcome").collect();
    assert_eq!(outcomes.len(), 3);
    for o in outcomes {
        for r in o["results"].as_array().unwrap() {
            assert_eq!(r["status"], "acknowledged");
            assert_eq!(r["id_hmac"].as_str().unwrap().len(), 64);
            assert!(r.get("value").is_none(), "no raw identifiers by default");
        }
    }
}

#[tokio::test]
async fn exhausted_retries_end_failed_retryable() {
    let (srv, log) = server(|_, _| ResponseTemplate::new(503)).await;
    let opts = Opts {
        max_retries: 2,
        ..Opts::default()
    };
    let run = run_engine(&srv.uri(), batches(1, 3), opts).await;
    assert_eq!(entries(&log).len(), 3, "first attempt and two retries");
    let o = records(&run.ledger, "outcome").next().unwrap();
    assert!(
        o["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "failed_retryable")
    );
    assert_eq!(
        run.stats.failed.lock().unwrap().get("failed_retryable"),
        Some(&3)
    );
}

#[tokio::test]
async fn a_400_is_not_retried_and_bisection_isolates_one_bad_item_of_100() {
    let bad = "user37@example.com";
    let (srv, log) = server(move |_, values| {
        if values.iter().any(|v| v == bad) {
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"message": "malformed identifier"}))
        } else {
            ok()
        }
    })
    .await;
    let run = run_engine(&srv.uri(), batches(1, 100), Opts::default()).await;
    let log = entries(&log);
    assert!(
        log.len() <= 15,
        "{} requests to isolate one bad item",
        log.len()
    );
    assert_eq!(get(&run.stats.items_ok), 99);
    assert_eq!(get(&run.stats.retries), 0, "a 400 is never retried as-is");
    assert_eq!(get(&run.stats.bisect_requests), log.len() as u64 - 1);
    // The same content is never sent twice.
    let mut seen = std::collections::HashSet::new();
    assert!(log.iter().all(|s| seen.insert(s.values.clone())));
    let top = records(&run.ledger, "outcome")
        .find(|o| o["parent"].is_null())
        .expect("an outcome for the parent batch");
    assert_eq!(top["bisected"], true);
    let results = top["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    let invalid: Vec<_> = results
        .iter()
        .filter(|r| r["status"] == "invalid")
        .collect();
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0]["row"], 37 + 2);
    assert!(
        invalid[0]["message"]
            .as_str()
            .unwrap()
            .contains("malformed identifier")
    );
}

#[tokio::test]
async fn a_401_stops_the_run_after_at_most_one_request_per_worker() {
    let (srv, log) = server(|_, _| {
        ResponseTemplate::new(401)
            .set_body_json(serde_json::json!({"message": "bad token"}))
            .set_delay(Duration::from_millis(50))
    })
    .await;
    let opts = Opts {
        concurrency: 4,
        ..Opts::default()
    };
    let run = run_engine(&srv.uri(), batches(50, 2), opts).await;
    assert!(matches!(
        run.end.stopped,
        Some(StopReason::Fatal { auth: true, .. })
    ));
    let n = entries(&log).len();
    assert!((1..=4).contains(&n), "{n} requests after a 401");
    assert_eq!(records(&run.ledger, "outcome").count(), 0);
    assert!(run.started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn per_item_errors_become_per_item_failures() {
    let (srv, _log) = server(|_, values| {
        ResponseTemplate::new(202).set_body_json(serde_json::json!({
            "errors": { values[1].clone(): "not a valid email" }
        }))
    })
    .await;
    let run = run_engine(&srv.uri(), batches(2, 3), Opts::default()).await;
    assert_eq!(get(&run.stats.items_ok), 4);
    assert_eq!(run.stats.failed.lock().unwrap().get("invalid"), Some(&2));
    for o in records(&run.ledger, "outcome") {
        let r = o["results"].as_array().unwrap();
        assert_eq!(r[0]["status"], "acknowledged");
        assert!(r[0]["vendor_id"].as_str().unwrap().starts_with("req-"));
        assert_eq!(r[1]["status"], "invalid");
        assert_eq!(r[1]["message"], "not a valid email");
    }
}

#[tokio::test]
async fn the_request_budget_paces_requests() {
    let (srv, log) = server(|_, _| ok()).await;
    let opts = Opts {
        concurrency: 8,
        rps: Some(40),
        ..Opts::default()
    };
    // 40/s → rate 38/s, burst 2: 80 requests need about two seconds, and request k+40 is
    // due 40/38 s after request k, 50 ms more than a window.
    let run = run_engine(&srv.uri(), batches(80, 1), opts).await;
    assert_eq!(get(&run.stats.items_ok), 80);
    let log = entries(&log);
    let span = log.last().unwrap().at - log[0].at;
    assert!(span >= Duration::from_millis(1900), "{span:?}");
    // No sliding second carries more than the quota.
    for (i, s) in log.iter().enumerate() {
        let n = log[i..]
            .iter()
            .take_while(|t| t.at - s.at < Duration::from_secs(1))
            .count();
        assert!(n <= 40, "{n} requests in one second");
    }
}

#[tokio::test]
async fn a_quota_that_stays_exhausted_ends_failed_retryable_and_counts_as_throttled() {
    let (srv, log) =
        server(|_, _| ResponseTemplate::new(429).insert_header("retry-after", "1")).await;
    let opts = Opts {
        max_retries: 2,
        concurrency: 1,
        ..Opts::default()
    };
    let run = run_engine(&srv.uri(), batches(1, 2), opts).await;
    assert_eq!(entries(&log).len(), 3);
    assert_eq!(get(&run.stats.throttled), 3);
    assert!(run.stats.only_throttled_failures());
}
