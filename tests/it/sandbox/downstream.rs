//! The downstream fakes (Amplitude, Iterable, PostHog) over real HTTP: their contracts as
//! the vendors document them, their quotas and their status progressions.

use super::*;
use cdp_purge_sandbox::IterableProjectType;

const AMP: (&str, &str) = ("sandbox-key", "sandbox-secret");

async fn amplitude_post(sb: &Sandbox, c: &Client, body: &Value) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{}/api/2/deletions/users", sb.base_url()))
        .basic_auth(AMP.0, Some(AMP.1))
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

async fn amplitude_jobs(sb: &Sandbox, c: &Client, start: &str, end: &str) -> (StatusCode, Value) {
    let resp = c
        .get(format!(
            "{}/api/2/deletions/users?start_day={start}&end_day={end}",
            sb.base_url()
        ))
        .basic_auth(AMP.0, Some(AMP.1))
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

/// No quota, so a test can talk to the fake as fast as it likes.
fn unmetered() -> SandboxConfig {
    SandboxConfig {
        enforce_quota: false,
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn amplitude_jobs_are_staged_then_submitted_then_done_on_its_calendar() {
    let (sb, c) = start(SandboxConfig {
        amplitude_day: Duration::from_secs(3600),
        ..unmetered()
    })
    .await;
    let (status, v) = amplitude_post(
        &sb,
        &c,
        &json!({ "user_ids": ["u1", "u2"], "requester": "dpo@example.com", "include_mapped_user_ids": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "staging");
    let day = v["day"].as_str().unwrap().to_owned();
    let ids = v["amplitude_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0]["user_id"], "u1");
    let state = |v: &Value| v[0]["status"].as_str().unwrap_or("").to_owned();
    let (_, jobs) = amplitude_jobs(&sb, &c, &day, &day).await;
    assert_eq!(state(&jobs), "staging");
    assert_eq!(jobs[0]["amplitude_ids"].as_array().unwrap().len(), 2);
    sb.advance(Duration::from_secs(3 * 3600));
    let (_, jobs) = amplitude_jobs(&sb, &c, &day, &day).await;
    assert_eq!(state(&jobs), "submitted");
    sb.advance(Duration::from_secs(6 * 3600));
    let (_, jobs) = amplitude_jobs(&sb, &c, &day, &day).await;
    assert_eq!(state(&jobs), "done", "{jobs}");
    assert!(jobs[0]["active_scrub_done_date"].is_string());
}

#[tokio::test]
async fn amplitude_refuses_unknown_users_unless_told_to_ignore_them_and_more_than_100() {
    let (sb, c) = start(unmetered()).await;
    let (status, _) = amplitude_post(&sb, &c, &json!({ "user_ids": ["u1", "unknown-1"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, v) = amplitude_post(
        &sb,
        &c,
        &json!({ "user_ids": ["u1", "unknown-1"], "ignore_invalid_ids": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["invalid_ids"], json!(["unknown-1"]));
    assert_eq!(v["amplitude_ids"].as_array().unwrap().len(), 1);
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let (status, _) = amplitude_post(&sb, &c, &json!({ "user_ids": many })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let resp = c
        .post(format!("{}/api/2/deletions/users", sb.base_url()))
        .basic_auth("sandbox-key", Some("wrong"))
        .json(&json!({ "user_ids": ["u1"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = amplitude_jobs(&sb, &c, "2026-01-01", "2027-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "more than six months");
}

#[tokio::test]
async fn amplitude_admits_one_request_per_second() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let (first, _) = amplitude_post(&sb, &c, &json!({ "user_ids": ["u1"] })).await;
    let (second, _) = amplitude_post(&sb, &c, &json!({ "user_ids": ["u2"] })).await;
    assert_eq!(
        (first, second),
        (StatusCode::OK, StatusCode::TOO_MANY_REQUESTS)
    );
}

async fn iterable_forget(sb: &Sandbox, c: &Client, body: &Value) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{}/api/users/forget", sb.base_url()))
        .header("api-key", "sandbox-key")
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

async fn iterable_forgotten(sb: &Sandbox, c: &Client) -> Value {
    let resp = c
        .get(format!("{}/api/users/forgotten", sb.base_url()))
        .header("api-key", "sandbox-key")
        .send()
        .await
        .unwrap();
    json_of(resp).await.1
}

#[tokio::test]
async fn iterable_lists_the_sha256_of_a_forgotten_user_after_its_delay() {
    let (sb, c) = start(SandboxConfig {
        iterable_forget_delay: Duration::from_secs(600),
        ..unmetered()
    })
    .await;
    let (status, v) = iterable_forget(&sb, &c, &json!({ "email": " Ann@Example.com" })).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::OK, Some("Success"))
    );
    assert_eq!(iterable_forgotten(&sb, &c).await["emails"], json!([]));
    sb.advance(Duration::from_secs(600));
    let listed = iterable_forgotten(&sb, &c).await;
    // sha256 of the address lowercased and trimmed, never the address.
    use sha2::Digest;
    let expected = hex::encode(sha2::Sha256::digest(b"ann@example.com"));
    assert_eq!(listed["emails"], json!([expected]));
    assert!(!listed.to_string().contains("example.com"));
}

#[tokio::test]
async fn iterable_forgets_by_the_identifier_its_project_type_takes() {
    let (sb, c) = start(SandboxConfig {
        iterable_project_type: IterableProjectType::EmailBased,
        ..unmetered()
    })
    .await;
    let (status, v) = iterable_forget(&sb, &c, &json!({ "userId": "u1" })).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BadParams"))
    );
    let (status, _) = iterable_forget(&sb, &c, &json!({ "email": "not-an-email" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let resp = c
        .post(format!("{}/api/users/forget", sb.base_url()))
        .header("api-key", "wrong")
        .json(&json!({ "email": "a@b.co" }))
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(resp).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("BadApiKey"))
    );
}

#[tokio::test]
async fn iterable_admits_three_requests_per_second() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(
            iterable_forget(&sb, &c, &json!({ "email": format!("u{i}@x.co") }))
                .await
                .0,
        );
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 3);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
}

async fn posthog_delete(sb: &Sandbox, c: &Client, key: &str, body: &Value) -> (StatusCode, Value) {
    let resp = c
        .post(format!(
            "{}/api/projects/12/persons/bulk_delete/",
            sb.base_url()
        ))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

#[tokio::test]
async fn posthog_queues_persons_and_reports_a_summary() {
    let (sb, c) = start(unmetered()).await;
    let body =
        json!({ "distinct_ids": ["a", "b", "unknown-c", "d-phfail"], "delete_events": true });
    let (status, v) = posthog_delete(&sb, &c, "phx_sandbox", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["persons_found"], 3);
    assert_eq!(v["persons_queued_for_deletion"], 2);
    assert_eq!(v["persons_deleted"], 0);
    assert_eq!(v["events_queued_for_deletion"], true);
    assert_eq!(v["deletion_errors"].as_array().unwrap().len(), 1);
    // Deleted persons are not found again.
    let (_, again) =
        posthog_delete(&sb, &c, "phx_sandbox", &json!({ "distinct_ids": ["a"] })).await;
    assert_eq!(again["persons_found"], 0);
    let (status, v) = posthog_delete(&sb, &c, "phx_read_only", &body).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission_denied"))
    );
    let (status, _) = posthog_delete(&sb, &c, "wrong", &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let many: Vec<String> = (0..1001).map(|i| format!("p{i}")).collect();
    let (status, v) =
        posthog_delete(&sb, &c, "phx_sandbox", &json!({ "distinct_ids": many })).await;
    assert_eq!(
        (status, v["type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("validation_error"))
    );
}

#[tokio::test]
async fn posthog_counts_the_hour_beside_the_minute() {
    let (sb, c) = start(SandboxConfig {
        posthog_hourly: Some(Rate {
            count: 2,
            per: Duration::from_secs(3600),
        }),
        ..SandboxConfig::default()
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let body = json!({ "distinct_ids": [format!("h{i}")] });
        statuses.push(posthog_delete(&sb, &c, "phx_sandbox", &body).await.0);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::ACCEPTED,
            StatusCode::ACCEPTED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}
