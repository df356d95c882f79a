use super::*;

#[tokio::test]
async fn lytics_queues_values_and_reports_junk_per_value() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let body = json!({ "values": ["ann@example.com", "", "null", "0", "NaN", "an-invalid-one"] });
    let (status, v) = json_of(
        lytics(&sb, &c, "sandbox-token", &body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let successes = v["data"]["successes"].as_object().unwrap();
    assert_eq!(successes.len(), 1);
    assert!(
        successes["ann@example.com"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let errors = v["data"]["errors"].as_object().unwrap();
    for junk in ["", "null", "0", "NaN", "an-invalid-one"] {
        assert!(
            errors.contains_key(junk),
            "{junk:?} should be an error: {v}"
        );
    }
    let log = sb.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].vendor, Some(VendorKind::Lytics));
    assert_eq!(
        (log[0].status, log[0].items, log[0].applied),
        (Some(202), 6, true)
    );
}

#[tokio::test]
async fn lytics_resubmission_returns_the_original_request_id() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let first = json!({ "values": ["a@x.com", "b@x.com"] });
    let (_, v1) = json_of(
        lytics(&sb, &c, "sandbox-token", &first)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let second = json!({ "values": ["b@x.com", "c@x.com"] });
    let (_, v2) = json_of(
        lytics(&sb, &c, "sandbox-token", &second)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (s1, s2) = (&v1["data"]["successes"], &v2["data"]["successes"]);
    assert_eq!(s1["b@x.com"], s2["b@x.com"], "same value, same request_id");
    assert_ne!(s1["a@x.com"], s2["c@x.com"], "new value, new request_id");
    assert_ne!(s1["a@x.com"], s1["b@x.com"]);
}

#[tokio::test]
async fn lytics_refuses_bearer_tokens_and_bare_arrays() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let body = json!({ "values": ["a@x.com"] });
    for token in ["Bearer sandbox-token", "wrong", ""] {
        let (status, v) = json_of(lytics(&sb, &c, token, &body).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}");
        assert_eq!(v["status"], 401);
        assert!(v["message"].is_string());
    }
    let bare = json!(["a@x.com"]);
    let (status, v) = json_of(
        lytics(&sb, &c, "sandbox-token", &bare)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["status"], 400);
    assert!(sb.log().iter().all(|r| !r.applied));
}

#[tokio::test]
async fn lytics_states_advance_to_done_and_stuck_values_stay_in_secondary() {
    let step = Duration::from_millis(50);
    let cfg = SandboxConfig {
        lytics_state_step: step,
        ..SandboxConfig::default()
    };
    let (sb, c) = start(cfg).await;
    let body = json!({ "values": ["ok@x.com", "stuck@x.com"] });
    let (_, v) = json_of(
        lytics(&sb, &c, "sandbox-token", &body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ok = v["data"]["successes"]["ok@x.com"]
        .as_str()
        .unwrap()
        .to_owned();
    let stuck = v["data"]["successes"]["stuck@x.com"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, s) = lytics_status(&sb, &c, &ok).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["data"]["request_id"], ok.as_str());

    // Poll faster than the step. The exact timing is unit-tested; here the states must come
    // in order, `completed` must track `done`, and `done` must arrive.
    const ORDER: [&str; 5] = ["initial", "primary", "archive", "secondary", "done"];
    let mut seen: Vec<usize> = Vec::new();
    let mut s = s;
    for _ in 0..100 {
        let state = s["data"]["state"].as_str().unwrap();
        let index = ORDER
            .iter()
            .position(|o| *o == state)
            .expect("a known state");
        assert_eq!(s["data"]["completed"], state == "done", "{s}");
        if seen.last() != Some(&index) {
            seen.push(index);
        }
        if state == "done" {
            break;
        }
        tokio::time::sleep(step / 3).await;
        s = lytics_status(&sb, &c, &ok).await.1;
    }
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "out of order: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&4), "never done: {seen:?}");
    assert!(seen.len() >= 3, "polling every step/3 saw only {seen:?}");

    let (_, s) = lytics_status(&sb, &c, &stuck).await;
    assert_eq!(s["data"]["state"], "secondary");
    assert_eq!(s["data"]["completed"], false);

    let (status, _) = lytics_status(&sb, &c, "no-such-request").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn mparticle_accepts_mpids_and_identities() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let body = json!([
        profile(-3728190466419522015),
        { "environment_type": "development", "action": "delete", "mpid": 42 },
        { "environment_type": "production", "action": "delete", "identities": { "customerid": "C-1" } },
    ]);
    let (status, v) = mparticle(&sb, &c, MP, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(v, Value::Null, "202 has no body");
    let rec = &sb.log()[0];
    assert_eq!(rec.items, 3);
    assert_eq!(rec.values, ["-3728190466419522015", "42", "C-1"]);
    assert!(rec.applied);
}

#[tokio::test]
async fn mparticle_rejects_bad_auth_and_bad_shapes_with_the_documented_messages() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let (status, _) = mparticle(&sb, &c, ("sandbox-key", "nope"), &json!([profile(1)])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let too_many: Vec<Value> = (0..101).map(profile).collect();
    let cases = [
        (json!([]), "single array of 1-100 objects"),
        (json!(too_many), "single array of 1-100 objects"),
        (profile(1), "single array of 1-100 objects"),
        (
            Value::Null,
            "Invalid request. Please ensure the request is not null.",
        ),
        (
            json!([{ "environment_type": "production", "action": "remove", "mpid": "1" }]),
            "Invalid request. Please ensure the action is set to delete.",
        ),
        (
            json!([{ "environment_type": "production", "action": "delete" }]),
            "Invalid request. Please ensure the request contains an MPID or identities.",
        ),
        (
            json!([{ "environment_type": "production", "action": "delete", "identities": {} }]),
            "Invalid request. Please ensure the request contains an MPID or identities.",
        ),
        (
            json!([{ "environment_type": "production", "action": "delete", "mpid": "9223372036854775808" }]),
            "signed 64-bit integer",
        ),
        (
            json!([{ "environment_type": "staging", "action": "delete", "mpid": "1" }]),
            "environment_type",
        ),
        (
            json!([{ "environment_type": "production", "action": "delete", "identities": { "shoe_size": "9" } }]),
            "Invalid request. The identity type(s) must be unique.",
        ),
    ];
    for (body, message) in cases {
        let (status, v) = mparticle(&sb, &c, MP, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        // The s2s APIs' envelope: `{"errors":[{"code","message"}]}`.
        let got = v["errors"][0]["message"].as_str().unwrap();
        assert!(got.contains(message), "{body}: {got:?} lacks {message:?}");
    }
    assert!(sb.log().iter().all(|r| !r.applied));
}

#[tokio::test]
async fn mparticle_counts_profiles_over_a_sliding_second() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let batch = json!((0..100).map(profile).collect::<Vec<_>>());
    let mut statuses = Vec::new();
    for _ in 0..16 {
        statuses.push(mparticle(&sb, &c, MP, &batch).await.0);
    }
    // 15 batches of 100 fill the 1500 profiles/s quota; the 16th is refused (the loop
    // takes far less than a second on any machine that runs these tests).
    assert_eq!(statuses[..15], [StatusCode::ACCEPTED; 15]);
    assert_eq!(statuses[15], StatusCode::TOO_MANY_REQUESTS);
    assert!(!sb.log()[15].applied);
}

// ---------------------------------------------------------------- CleverTap

#[tokio::test]
async fn clevertap_accepts_one_kind_and_rejects_the_rest_with_its_texts() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let ok = clevertap(
        &sb,
        &c,
        "sandbox-passcode",
        &json!({ "identity": ["a", "b"] }),
    )
    .await;
    assert_eq!(ok, (StatusCode::OK, json!({ "status": "success" })));
    let ok = clevertap(&sb, &c, "sandbox-passcode", &json!({ "guid": "z1" })).await;
    assert_eq!(ok.0, StatusCode::OK);

    let (status, v) = clevertap(&sb, &c, "wrong", &json!({ "identity": "a" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["status"], "fail");

    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("g{i}")).collect();
    let cases = [
        (json!({}), "Invalid payload. Empty payload is not allowed."),
        (
            json!({ "identity": [] }),
            "Invalid payload. Empty payload is not allowed.",
        ),
        (
            json!({ "other": 1 }),
            "Sending either identities or guids in payload is mandatory",
        ),
        (
            json!({ "identity": "a", "guid": "b" }),
            "Invalid payload. Received both guid and identity. Only one of them is allowed.",
        ),
        (
            json!({ "guid": hundred_and_one }),
            "Invalid payload. Max 100 guids allowed per request.",
        ),
        (
            json!({ "identity": hundred_and_one }),
            "Invalid payload. Max 100 identities allowed per request.",
        ),
    ];
    for (body, error) in cases {
        let (status, v) = clevertap(&sb, &c, "sandbox-passcode", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(v["status"], "fail");
        assert_eq!(v["error"], error, "{body}");
        assert_eq!(v["code"], 400);
    }
    let applied: Vec<bool> = sb.log().iter().map(|r| r.applied).collect();
    assert_eq!(applied.iter().filter(|a| **a).count(), 2);
}

#[tokio::test]
async fn clevertap_refuses_a_fourth_request_in_flight() {
    let cfg = SandboxConfig {
        latency: Duration::from_millis(300),
        ..SandboxConfig::default()
    };
    let (sb, c) = start(cfg).await;
    let sb = std::sync::Arc::new(sb);
    let body = json!({ "identity": ["a"] });
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let (sb, c, body) = (sb.clone(), c.clone(), body.clone());
            tokio::spawn(async move { clevertap(&sb, &c, "sandbox-passcode", &body).await })
        })
        .collect();
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap());
    }
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let refused: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!((ok, refused.len()), (3, 2), "{results:?}");
    assert_eq!(refused[0].1["error"], "Too many concurrent requests");
    // Once the first three finished, there is room again.
    assert_eq!(
        clevertap(&sb, &c, "sandbox-passcode", &body).await.0,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------- Segment

#[tokio::test]
async fn segment_deletes_once_then_reports_eid_not_found() {
    let (sb, c) = start(SandboxConfig::default()).await;
    // `+` must travel as %2B; the sandbox decodes the user_id once.
    let url = segment_url(&sb, "spa_1", "user+1@x");
    assert!(url.contains("user%2B1%40x"));
    let body = eid("email", "old@example.com");
    let (status, v) = segment(&c, &url, "sandbox-token", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v,
        json!({ "code": "success", "message": "External identifier has been deleted." })
    );
    let (status, v) = segment(&c, &url, "sandbox-token", &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "eid_not_found");
    // Deleting the lookup id itself is refused, and the decoded value is what is compared.
    let (status, _) = segment(&c, &url, "sandbox-token", &eid("user_id", "user+1@x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let applied: Vec<bool> = sb.log().iter().map(|r| r.applied).collect();
    assert_eq!(applied, [true, false, false]);
}

#[tokio::test]
async fn segment_rejects_what_the_real_api_rejects() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let url = segment_url(&sb, "spa_1", "u1");
    let code = |got: &(StatusCode, Value)| {
        let code = got.1["error"]["code"].as_str().unwrap_or("").to_owned();
        (got.0.as_u16(), code)
    };
    let expect = |status: u16, code: &str| (status, code.to_owned());

    let got = segment(&c, &url, "wrong", &eid("email", "a@x")).await;
    assert_eq!(code(&got), expect(401, "unauthorized"));
    assert_eq!(got.1["error"]["message"], "The specified token is invalid");

    let got = segment(&c, &url, "sandbox-token", &eid("user_id", "u1")).await;
    assert_eq!(code(&got), expect(400, "bad_request"));
    assert_eq!(
        got.1["error"]["message"],
        "External id specification must differ from lookup id"
    );

    let got = segment(&c, &url, "sandbox-token", &eid("group_id", "g1")).await;
    assert_eq!(code(&got), expect(400, "unsupported_eid_type"));

    let two = json!({ "delete_external_ids": [
        { "id": "a@x", "type": "email" }, { "id": "b@x", "type": "email" } ] });
    let got = segment(&c, &url, "sandbox-token", &two).await;
    assert_eq!(code(&got), expect(400, "bad_request"));
    assert_eq!(
        got.1["error"]["message"],
        "Only one external_id can be deleted at a time"
    );

    let unknown = segment_url(&sb, "spa_1", "unknown-user");
    let got = segment(&c, &unknown, "sandbox-token", &eid("email", "a@x")).await;
    assert_eq!(code(&got), expect(404, "not_found"));

    let inactive = segment_url(&sb, "spa_notactivated", "u1");
    let got = segment(&c, &inactive, "sandbox-token", &eid("email", "a@x")).await;
    assert_eq!(code(&got), expect(403, "forbidden"));
    assert!(
        got.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not activated")
    );

    let by_email = url.replace("user_id:u1", "email:a%40x");
    let got = segment(&c, &by_email, "sandbox-token", &eid("email", "b@x")).await;
    assert_eq!(code(&got), expect(400, "bad_request"));

    let accounts = url.replace("/collections/users/", "/collections/accounts/");
    let got = segment(&c, &accounts, "sandbox-token", &eid("email", "b@x")).await;
    assert_eq!(got.1["error"]["message"], "Invalid collection: accounts");
    assert!(sb.log().iter().all(|r| !r.applied));
}

#[tokio::test]
async fn segment_quota_is_per_space_over_a_sliding_second() {
    let quota = Quota {
        requests: Some(Rate::per_second(10)),
        items: None,
        in_flight: None,
    };
    let (sb, c) = start(SandboxConfig::default().with_quota(VendorKind::Segment, quota)).await;
    let mut limited = 0;
    for i in 0..20 {
        let url = segment_url(&sb, "spa_1", &format!("u{i}"));
        let (status, v) = segment(&c, &url, "sandbox-token", &eid("email", "a@x")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(v["error"]["code"], "rate_limit_error");
            limited += 1;
        }
    }
    // 20 requests in well under two seconds against 10/s: some are refused, and the
    // accepted ones never exceed 10 in any one-second window.
    assert!(limited > 0);
    let accepted: Vec<_> = sb
        .log()
        .into_iter()
        .filter(|r| r.status == Some(200))
        .collect();
    let busiest = cdp_purge_sandbox::peak(
        &accepted,
        VendorKind::Segment,
        Duration::from_secs(1),
        false,
    );
    assert!(busiest <= 10, "{busiest} accepted in one second");
    // Another space has its own budget.
    let url = segment_url(&sb, "spa_2", "u1");
    let (status, _) = segment(&c, &url, "sandbox-token", &eid("email", "a@x")).await;
    assert_eq!(status, StatusCode::OK);
}

// ---------------------------------------------------------------- Hightouch

#[tokio::test]
async fn hightouch_queues_and_reports_progress() {
    let step = Duration::from_millis(50);
    let cfg = SandboxConfig {
        hightouch_state_step: step,
        ..SandboxConfig::default()
    };
    let (sb, c) = start(cfg).await;
    let body = json!({ "identifiers": [{ "identifier": "email", "value": "a@x" }], "block": true });
    let (status, v) = hightouch(&sb, &c, "g1", "sandbox-token", &body).await;
    assert_eq!(status, StatusCode::OK);
    let id = v["requestId"].as_str().unwrap().to_owned();
    let (_, again) = hightouch(&sb, &c, "g1", "sandbox-token", &body).await;
    assert_ne!(
        again["requestId"],
        id.as_str(),
        "no idempotency is documented"
    );

    let (status, s) = hightouch_status(&sb, &c, "g1", &id).await;
    assert_eq!(status, StatusCode::OK);
    // Timing is unit-tested; a loaded machine may already be one step further.
    assert!(
        matches!(s["status"].as_str(), Some("queueing" | "queued")),
        "{s}"
    );
    for key in ["queuedAt", "reprocessedAt", "reprocessedRunId", "error"] {
        assert!(s.get(key).is_some(), "{key} is always present");
    }
    tokio::time::sleep(step * 3).await;
    let (_, s) = hightouch_status(&sb, &c, "g1", &id).await;
    assert_eq!(s["status"], "reprocessed");
    assert!(s["reprocessedAt"].is_string() && s["reprocessedRunId"].is_string());

    assert_eq!(
        hightouch_status(&sb, &c, "g2", &id).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn hightouch_validates_like_its_openapi() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let good = json!({ "identifiers": [{ "identifier": "email", "value": "a@x" }] });
    let (status, _) = hightouch(&sb, &c, "g1", "wrong", &good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = hightouch(&sb, &c, "missing", "sandbox-token", &good).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let extra = json!({ "identifiers": [{ "identifier": "email", "value": "a@x", "kind": 1 }] });
    let (status, v) = hightouch(&sb, &c, "g1", "sandbox-token", &extra).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["message"], "Validation failed");
    assert!(
        v["details"]["requestBody.identifiers.$0.kind"].is_object(),
        "{v}"
    );

    for bad in [
        json!({ "identifiers": [{ "identifier": "phone", "value": 123 }] }),
        json!({ "values": ["a@x"] }),
        json!({ "identifiers": [], "block": "yes" }),
    ] {
        let (status, v) = hightouch(&sb, &c, "g1", "sandbox-token", &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(v["message"], "Validation failed");
    }
    assert!(sb.log().iter().all(|r| !r.applied));
}

#[tokio::test]
async fn hightouch_status_polls_spend_the_api_quota_too() {
    let quota = Quota {
        requests: Some(Rate {
            count: 2,
            per: Duration::from_secs(10),
        }),
        items: None,
        in_flight: None,
    };
    let cfg = SandboxConfig::default().with_quota(VendorKind::Hightouch, quota);
    let (sb, c) = start(cfg).await;
    let body = json!({ "identifiers": [{ "identifier": "email", "value": "a@x" }] });
    let (_, v) = hightouch(&sb, &c, "g1", "sandbox-token", &body).await;
    let id = v["requestId"].as_str().unwrap();
    assert_eq!(hightouch_status(&sb, &c, "g1", id).await.0, StatusCode::OK);
    assert_eq!(
        hightouch_status(&sb, &c, "g1", id).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let peak = cdp_purge_sandbox::peak(
        &sb.log(),
        VendorKind::Hightouch,
        Duration::from_secs(10),
        false,
    );
    assert_eq!(peak, 3, "the refused poll was received too");
}

// ---------------------------------------------------------------- Documented shapes

#[tokio::test]
async fn every_json_endpoint_checks_the_content_type_and_answers_in_the_vendors_shape() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let base = sb.base_url();
    // Method, URL, Basic credentials, where the message is.
    type Case<'a> = (Method, String, Option<(&'a str, &'a str)>, &'a str);
    let cases: [Case<'_>; 4] = [
        (
            Method::DELETE,
            format!("{base}/v2/identity/queue/bulk/user/email"),
            None,
            "/errors/0/message",
        ),
        (
            Method::POST,
            format!("{base}/userprofile/bulkdelete"),
            Some(MP),
            "/errors/0/message",
        ),
        (
            Method::POST,
            format!("{base}/1/delete/profiles.json"),
            None,
            "/error",
        ),
        (
            Method::POST,
            format!("{base}/api/v1/idr/g/queue-for-reprocessing"),
            None,
            "/message",
        ),
    ];
    for (m, url, basic, pointer) in cases {
        let mut rb = c
            .request(m, &url)
            .header("content-type", "text/plain")
            .header("authorization", "sandbox-token")
            .body(r#"{"values":["a@x.com"]}"#);
        if let Some((u, p)) = basic {
            rb = rb.basic_auth(u, Some(p));
        }
        let (status, v) = json_of(rb.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{url}");
        assert!(
            v.pointer(pointer)
                .and_then(Value::as_str)
                .is_some_and(|m| m.contains("application/json")),
            "{url}: {v}"
        );
    }
    assert!(sb.log().iter().all(|r| !r.applied));
}

#[tokio::test]
async fn lytics_v2_errors_use_the_errors_array_and_a_rejected_token_the_api_shape() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let (status, v) = json_of(
        lytics(&sb, &c, "sandbox-token", &json!(["bare"]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["errors"][0]["message"].is_string(), "{v}");
    assert!(v["errors"][0]["code"].is_string(), "{v}");
    let (status, v) = json_of(
        lytics(&sb, &c, "wrong", &json!({"values": ["a@x.com"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v, json!({"message": "Not authorized", "status": 401}));
}

#[tokio::test]
async fn lytics_reports_a_missing_permission_and_an_unknown_field_per_value() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let body = json!({ "values": ["a@x.com", "b@x.com"] });
    let (status, v) = json_of(
        lytics(&sb, &c, "sandbox-read-only-token", &body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "not an HTTP error: {v}");
    let errors = v["data"]["errors"].as_object().unwrap();
    assert_eq!(errors.len(), 2);
    assert!(
        errors
            .values()
            .all(|m| m.as_str().unwrap().contains("Entity: Delete"))
    );
    assert!(v["data"]["successes"].as_object().unwrap().is_empty());
    // A field that is not an identity field.
    let resp = c
        .request(
            Method::DELETE,
            format!("{}/v2/identity/queue/bulk/user/emial", sb.base_url()),
        )
        .header("authorization", "sandbox-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(resp).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let errors = v["data"]["errors"].as_object().unwrap();
    assert!(
        errors
            .values()
            .all(|m| m.as_str().unwrap().contains("emial")),
        "{v}"
    );
    // The read-only token may read.
    let resp = c
        .get(format!("{}/v2/identity/deletestatus/list", sb.base_url()))
        .header("authorization", "sandbox-read-only-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(sb.log().iter().all(|r| !r.applied));
}
