//! The fakes of Segment regulations, Mixpanel's GDPR API and Braze, over real HTTP: their
//! documented contracts, quotas (30 days, 1/s, per minute) and the answers a client must not
//! over-read.

use super::*;

fn regs(sb: &Sandbox, c: &Client, path: &str, body: &Value) -> reqwest::RequestBuilder {
    c.post(format!("{}{path}", sb.base_url()))
        .header("authorization", "Bearer sandbox-token")
        .header("content-type", "application/vnd.segment.v1+json")
        .body(body.to_string())
}

/// POST a regulation of `ids` to `path`; the answer's status and body.
async fn regulate(sb: &Sandbox, c: &Client, path: &str, ids: &[String]) -> (StatusCode, Value) {
    json_of(regs(sb, c, path, &regulation(ids)).send().await.unwrap()).await
}

fn regulation(ids: &[String]) -> Value {
    json!({ "regulationType": "SUPPRESS_WITH_DELETE", "subjectType": "USER_ID", "subjectIds": ids })
}

fn users(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

async fn regs_status(sb: &Sandbox, c: &Client, id: &str) -> Value {
    let resp = c
        .get(format!("{}/regulations/{id}", sb.base_url()))
        .header("authorization", "Bearer sandbox-token")
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["data"]["regulation"]["overallStatus"].clone()
}

#[tokio::test]
async fn segment_regs_counts_users_over_thirty_days_and_says_when_the_quota_resets() {
    let thirty_days = Duration::from_secs(30 * 86_400);
    let cfg = SandboxConfig {
        segment_regs_state_step: Duration::from_secs(3600),
        ..SandboxConfig::default()
    }
    .with_quota(
        VendorKind::SegmentRegs,
        Quota {
            items: Some(Rate {
                count: 12,
                per: thirty_days,
            }),
            ..Quota::NONE
        },
    );
    let (sb, c) = start(cfg).await;
    let resp = regs(&sb, &c, "/regulations", &regulation(&users("u", 10)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["x-regulation-ratelimit-remaining"],
        "2",
        "12 - 10"
    );
    assert!(
        resp.headers()
            .contains_key("x-regulation-ratelimit-quota-reset")
    );
    let (_, v) = json_of(resp).await;
    let id = v["data"]["regulateId"].as_str().unwrap().to_owned();
    // Source scope spends the same workspace quota: 3 more do not fit, 2 do.
    let (status, v) = regulate(&sb, &c, "/regulations/sources/src1", &users("v", 3)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["errors"][0]["type"], "rate-limit", "{v}");
    let (status, _) = regulate(&sb, &c, "/regulations/sources/src1", &users("v", 2)).await;
    assert_eq!(status, StatusCode::OK);
    // The regulation moves on with the sandbox's clock, as does the window.
    assert_eq!(regs_status(&sb, &c, &id).await, "INITIALIZED");
    sb.advance(Duration::from_secs(3600));
    assert_eq!(regs_status(&sb, &c, &id).await, "RUNNING");
    sb.advance(Duration::from_secs(7200));
    assert_eq!(regs_status(&sb, &c, &id).await, "FINISHED");
    let (status, _) = regulate(&sb, &c, "/regulations", &users("w", 1)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    sb.advance(thirty_days);
    let (status, _) = regulate(&sb, &c, "/regulations", &users("w", 12)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn segment_regs_validates_like_the_public_api_and_ends_in_every_documented_state() {
    let cfg = SandboxConfig {
        segment_regs_state_step: Duration::ZERO,
        ..SandboxConfig::default()
    };
    let (sb, c) = start(cfg).await;
    let (status, v) = regulate(&sb, &c, "/regulations", &users("u", 5001)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["type"], "validation");
    let (status, _) = regulate(&sb, &c, "/regulations", &users("u", 5000)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = regulate(&sb, &c, "/regulations/sources/missing", &users("u", 1)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let bad_token = c
        .post(format!("{}/regulations", sb.base_url()))
        .header("authorization", "Bearer nope")
        .json(&regulation(&users("u", 1)));
    assert_eq!(
        bad_token.send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    for (id, end) in [
        ("a-partial-one", "PARTIAL_SUCCESS"),
        ("segfail-1", "FAILED"),
        ("oddstatus-1", "ARCHIVED"),
        ("plain", "FINISHED"),
    ] {
        let (_, v) = regulate(&sb, &c, "/regulations", &[id.to_owned()]).await;
        let rid = v["data"]["regulateId"].as_str().unwrap().to_owned();
        assert_eq!(regs_status(&sb, &c, &rid).await, end, "{id}");
    }
    let resp = c
        .get(format!("{}/regulations/nope", sb.base_url()))
        .header("authorization", "Bearer sandbox-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

fn mixpanel(sb: &Sandbox, c: &Client, token: &str, ids: &[&str]) -> reqwest::RequestBuilder {
    c.post(format!(
        "{}/api/app/data-deletions/v3.0/?token={token}",
        sb.base_url()
    ))
    .header("authorization", "Bearer sandbox-token")
    .json(&json!({ "distinct_ids": ids, "compliance_type": "GDPR" }))
}

async fn mixpanel_status(sb: &Sandbox, c: &Client, id: &str) -> Value {
    let resp = c
        .get(format!(
            "{}/api/app/data-deletions/v3.0/{id}?token=sandbox-project",
            sb.base_url()
        ))
        .header("authorization", "Bearer sandbox-token")
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["results"].clone()
}

#[tokio::test]
async fn mixpanel_allows_one_call_per_second_and_refuses_ids_already_pending() {
    let cfg = SandboxConfig {
        mixpanel_state_step: Duration::from_secs(60),
        ..SandboxConfig::default()
    };
    let (sb, c) = start(cfg).await;
    let (status, v) = json_of(
        mixpanel(&sb, &c, "sandbox-project", &["a", "b"])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let task = v["results"]["task_id"].as_str().unwrap().to_owned();
    // A second call in the same second: 429, status checks included.
    let (status, v) = json_of(
        mixpanel(&sb, &c, "sandbox-project", &["c"])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["status"], "error");
    sb.advance(Duration::from_secs(1));
    assert_eq!(mixpanel_status(&sb, &c, &task).await["status"], "PENDING");
    sb.advance(Duration::from_secs(1));
    // "b" still has a task running: the request is refused whole and names it.
    let (status, v) = json_of(
        mixpanel(&sb, &c, "sandbox-project", &["b", "c"])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["conflicting_distinct_ids"], json!(["b"]));
    sb.advance(Duration::from_secs(240));
    assert_eq!(mixpanel_status(&sb, &c, &task).await["status"], "SUCCESS");
    sb.advance(Duration::from_secs(1));
    assert_eq!(
        mixpanel_status(&sb, &c, "no-such-task").await["status"],
        "NOT_FOUND"
    );
    sb.advance(Duration::from_secs(1));
    let (status, _) = json_of(
        mixpanel(&sb, &c, "sandbox-project", &["b", "c"])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "done ids may be asked again");
}

#[tokio::test]
async fn mixpanel_checks_both_tokens_and_the_documented_cap() {
    let (sb, c) =
        start(SandboxConfig::default().with_quota(VendorKind::Mixpanel, Quota::NONE)).await;
    let (status, v) = json_of(mixpanel(&sb, &c, "other", &["a"]).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["status"], "error");
    let no_bearer = c
        .post(format!(
            "{}/api/app/data-deletions/v3.0/?token=sandbox-project",
            sb.base_url()
        ))
        .json(&json!({ "distinct_ids": ["a"] }));
    assert_eq!(
        no_bearer.send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let many: Vec<String> = users("d", 2000);
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (status, _) = json_of(
        mixpanel(&sb, &c, "sandbox-project", &many)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the page says up to 1999");
    let (status, _) = json_of(
        mixpanel(&sb, &c, "sandbox-project", &many[..1999])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

fn braze(sb: &Sandbox, c: &Client, body: &Value) -> reqwest::RequestBuilder {
    c.post(format!("{}/users/delete", sb.base_url()))
        .header("authorization", "Bearer sandbox-token")
        .json(body)
}

#[tokio::test]
async fn braze_counts_what_it_deleted_not_which_and_limits_requests_per_minute() {
    let cfg = SandboxConfig::default().with_quota(
        VendorKind::Braze,
        Quota {
            requests: Some(Rate {
                count: 3,
                per: Duration::from_secs(60),
            }),
            ..Quota::NONE
        },
    );
    let (sb, c) = start(cfg).await;
    let body = json!({ "external_ids": ["a", "an-unknown-one", "b"] });
    let resp = braze(&sb, &c, &body).send().await.unwrap();
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "2");
    let (status, v) = json_of(resp).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["deleted"], 2, "{v}");
    // Deleting again deletes nothing, and says only that.
    let (_, v) = json_of(braze(&sb, &c, &body).send().await.unwrap()).await;
    assert_eq!(v["deleted"], 0);
    let two_kinds = json!({ "external_ids": ["a"], "braze_ids": ["b"] });
    let (status, v) = json_of(braze(&sb, &c, &two_kinds).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let fifty_one: Vec<String> = users("e", 51);
    let (status, _) = json_of(
        braze(&sb, &c, &json!({ "email_addresses": fifty_one }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let alias = json!({ "user_aliases": [{ "alias_name": "n", "alias_label": "l" }] });
    let resp = braze(&sb, &c, &alias).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = braze(&sb, &c, &alias).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("x-ratelimit-reset"));
    sb.advance(Duration::from_secs(60));
    assert_eq!(
        braze(&sb, &c, &alias).send().await.unwrap().status(),
        StatusCode::CREATED
    );
}
