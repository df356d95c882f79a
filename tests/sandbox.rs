//! The vendor sandbox, driven over real HTTP: each vendor's contract, quotas and faults.

use std::time::Duration;

use cdp_purge::sandbox::{Sandbox, SandboxConfig};
use cdp_purge::vendor::VendorKind;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

async fn start(cfg: SandboxConfig) -> (Sandbox, Client) {
    let sandbox = Sandbox::start(cfg).await.expect("sandbox starts");
    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    (sandbox, client)
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let body = resp.bytes().await.expect("whole body");
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("JSON body")
    };
    (status, value)
}

// ---------------------------------------------------------------- Lytics

fn lytics(sb: &Sandbox, c: &Client, token: &str, body: &Value) -> reqwest::RequestBuilder {
    c.request(
        Method::DELETE,
        format!("{}/v2/identity/queue/bulk/user/email", sb.base_url()),
    )
    .header("authorization", token)
    .json(body)
}

async fn lytics_status(sb: &Sandbox, c: &Client, id: &str) -> (StatusCode, Value) {
    let resp = c
        .get(format!("{}/v2/identity/deletestatus/{id}", sb.base_url()))
        .header("authorization", "sandbox-token")
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

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
    assert_eq!(s["data"]["state"], "initial");
    assert_eq!(s["data"]["completed"], false);

    let mut seen = vec!["initial".to_owned()];
    for _ in 0..40 {
        tokio::time::sleep(step / 2).await;
        let (_, s) = lytics_status(&sb, &c, &ok).await;
        let state = s["data"]["state"].as_str().unwrap().to_owned();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "done" {
            assert_eq!(s["data"]["completed"], true);
            break;
        }
    }
    assert_eq!(seen, ["initial", "primary", "archive", "secondary", "done"]);

    let (_, s) = lytics_status(&sb, &c, &stuck).await;
    assert_eq!(s["data"]["state"], "secondary");
    assert_eq!(s["data"]["completed"], false);

    let (status, _) = lytics_status(&sb, &c, "no-such-request").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- mParticle

fn profile(mpid: i64) -> Value {
    json!({ "environment_type": "production", "action": "delete", "mpid": mpid.to_string() })
}

async fn mparticle(
    sb: &Sandbox,
    c: &Client,
    auth: (&str, &str),
    body: &Value,
) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{}/userprofile/bulkdelete", sb.base_url()))
        .basic_auth(auth.0, Some(auth.1))
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

const MP: (&str, &str) = ("sandbox-key", "sandbox-secret");

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
        let got = v["message"].as_str().unwrap();
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
