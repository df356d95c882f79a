//! `cdp-purge check` against a real HTTP server on 127.0.0.1.

use assert_cmd::Command;
use predicates::prelude::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "lytics-secret-token-123";

fn check(server: &str, vendor_args: &[&str]) -> Command {
    let mut c = crate::support::assert_cdp_purge();
    c.arg("check")
        .args(vendor_args)
        .args(["--base-url", server])
        .env_remove("CDP_PURGE_CONFIG")
        .env("LYTICS_API_TOKEN", TOKEN)
        .env("SEGMENT_TOKEN", "segment-secret-token")
        .env("MPARTICLE_API_KEY", "mp-key")
        .env("MPARTICLE_API_SECRET", "mp-secret-value");
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn lytics_token_accepted_and_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/schema/user/idconfig"))
        .and(header("authorization", TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"data":{"table":"user","fields":["email","_uid"]}}"#),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string(r#"{"message":"bad token"}"#))
        .mount(&server)
        .await;

    check(&server.uri(), &["--vendor", "lytics", "--id-type", "email"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("ok"));

    let out = check(&server.uri(), &["--vendor", "lytics", "--id-type", "email"])
        .env("LYTICS_API_TOKEN", "wrong-token-456")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("LYTICS_API_TOKEN"),
        "names the variable: {all}"
    );
    assert!(
        !all.contains("wrong-token-456") && !all.contains(TOKEN),
        "token leaked: {all}"
    );

    // Nothing but GETs: a preflight never deletes.
    let received = server.received_requests().await.expect("recorded");
    assert!(received.iter().all(|r| r.method.as_str() == "GET"));
}

#[tokio::test(flavor = "multi_thread")]
async fn segment_not_found_proves_the_space_and_missing_source_fails() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/v1/spaces/spa_ok/collections/users/profiles/user_id:cdp-purge-preflight/external_ids",
        ))
        .and(header(
            "authorization",
            "Basic c2VnbWVudC1zZWNyZXQtdG9rZW46",
        ))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            r#"{"error":{"code":"not_found","message":"Profile was not found."}}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            r#"{"error":{"code":"source_id_not_found","message":"No source attached to space_id spa_nosrc"}}"#,
        ))
        .mount(&server)
        .await;

    check(
        &server.uri(),
        &["--vendor", "segment", "--space", "spa_ok", "--json"],
    )
    .assert()
    .code(0)
    .stdout(predicate::str::contains(r#""result":"ok""#));
    check(
        &server.uri(),
        &["--vendor", "segment", "--space", "spa_nosrc"],
    )
    .assert()
    .code(2)
    .stdout(predicate::str::contains("no source is attached"));
}

#[tokio::test(flavor = "multi_thread")]
async fn mparticle_is_configured_but_unverified_and_sends_nothing() {
    let server = MockServer::start().await;
    check(
        &server.uri(),
        &[
            "--vendor",
            "mparticle",
            "--environment",
            "production",
            "--id-type",
            "customerid",
        ],
    )
    .assert()
    .code(0)
    .stdout(
        predicate::str::starts_with("unverified")
            .and(predicate::str::contains("MPARTICLE_API_SECRET")),
    )
    .stdout(predicate::str::contains("mp-secret-value").not());
    assert!(
        server
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
}

#[test]
fn missing_credentials_name_the_variable() {
    crate::support::assert_cdp_purge()
        .args(["check", "--vendor", "lytics", "--id-type", "email"])
        .env_remove("LYTICS_API_TOKEN")
        .env_remove("CDP_PURGE_CONFIG")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LYTICS_API_TOKEN"));
}

/// `check` against the built-in sandbox: the harmless calls it makes exist there, accept the
/// sandbox credentials and refuse others, and nothing is deleted.
#[test]
fn check_against_the_sandbox() {
    use cdp_purge_sandbox::{Sandbox, SandboxConfig};
    let sandbox = Sandbox::start_blocking(SandboxConfig::default()).expect("sandbox starts");
    let creds: Vec<(String, String)> = sandbox
        .credentials()
        .env_lines()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let cases: [&[&str]; 3] = [
        &["--vendor", "lytics", "--id-type", "email"],
        &["--vendor", "segment", "--space", "spa_sandbox"],
        &["--vendor", "hightouch", "--graph", "g-1"],
    ];
    for args in cases {
        let mut ok = crate::support::assert_cdp_purge();
        ok.arg("check")
            .args(args)
            .args(["--base-url", &sandbox.base_url()]);
        ok.env_remove("CDP_PURGE_CONFIG")
            .envs(creds.iter().map(|(k, v)| (k, v)));
        ok.assert()
            .code(0)
            .stdout(predicate::str::starts_with("ok"));

        let mut bad = crate::support::assert_cdp_purge();
        bad.arg("check")
            .args(args)
            .args(["--base-url", &sandbox.base_url()]);
        bad.env_remove("CDP_PURGE_CONFIG")
            .envs(creds.iter().map(|(k, v)| (k, v)));
        for (k, _) in &creds {
            bad.env(k, "definitely-wrong");
        }
        bad.assert()
            .code(3)
            .stdout(predicate::str::starts_with("refused"));
    }
    let log = sandbox.log();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|r| r.method == "GET" && !r.applied),
        "a preflight deleted something"
    );
}

/// A probe's answer past the cap is not read, and proves nothing: `check` reports a
/// failure instead of judging a body it did not see.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_past_the_cap_proves_nothing() {
    let server = MockServer::start().await;
    let mut body = br#"{"data":{"table":"user","fields":["email","_uid"]}}"#.to_vec();
    body.resize(cdp_purge::protocol::answer::MAX_ANSWER + 1, b' ');
    Mock::given(method("GET"))
        .and(path("/v2/schema/user/idconfig"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .mount(&server)
        .await;
    let out = check(&server.uri(), &["--vendor", "lytics", "--id-type", "email"])
        .output()
        .expect("runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(!all.starts_with("ok"), "{all}");
    assert!(all.contains("not read"), "says why: {all}");
}
