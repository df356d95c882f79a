use cdp_purge_sandbox::{Sandbox, SandboxConfig};
use wiremock::matchers::{body_partial_json, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const PRESENT: &str = "7000000000000042";

/// A real mParticle ledger (MPIDs, hashes only) written against the sandbox.
fn delete_mpids(dir: &Path, values: &[String]) -> (PathBuf, PathBuf) {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let input = write_csv(dir, "mpids.csv", "mpid", values);
    let (code, _, err) = run(&mut mparticle_delete(&sb.base_url(), &input));
    assert_eq!(code, Some(0), "{err}");
    (ledger_of(&input), input)
}

async fn profile_api() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_partial_json(serde_json::json!({
            "client_id": "cid",
            "client_secret": "csecret",
            "audience": "https://api.mparticle.com",
            "grant_type": "client_credentials",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "tok-abc", "expires_in": 28800, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let profile = |p: &str| {
        Mock::given(method("GET"))
            .and(path_regex(p))
            .and(header("authorization", "Bearer tok-abc"))
            .and(query_param("fields", "user_identities"))
    };
    profile(&format!("^/userprofile/v1/11/22/33/{PRESENT}$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "mpid": PRESENT, "user_identities": [{"type": "customer_id", "value": "x"}]
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    profile("^/userprofile/v1/11/22/33/-?[0-9]+$")
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "errors": [{"code": "NOT_FOUND", "message": "MPID not found"}]
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    // Anything else (no token, wrong path) must not pass for "not found".
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(418))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

fn verify_cmd(ledger: &Path, server: &str) -> Command {
    let mut c = bin();
    c.env("MPARTICLE_CLIENT_ID", "cid")
        .env("MPARTICLE_CLIENT_SECRET", "csecret")
        .env("MPARTICLE_ORG_ID", "11")
        .args([
            "status",
            "--verify",
            "--account-id",
            "22",
            "--workspace-id",
            "33",
        ])
        .args(["--auth-url", &format!("{server}/oauth/token")])
        .args(["--base-url", server, "--ledger"])
        .arg(ledger);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_uses_one_token_for_every_lookup_and_a_profile_body_is_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, input) = delete_mpids(dir.path(), &mpids(120));
    let server = profile_api().await;
    let uri = server.uri();

    // The ledger holds hashes only: without the input there is nothing to look up.
    let (code, _, err) = {
        let (l, u) = (ledger.clone(), uri.clone());
        tokio::task::spawn_blocking(move || run(&mut verify_cmd(&l, &u)))
            .await
            .unwrap()
    };
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("-i FILE --column NAME"), "{err}");

    let (code, out, err) = {
        let (l, u, i) = (ledger.clone(), uri.clone(), input.clone());
        tokio::task::spawn_blocking(move || {
            run(verify_cmd(&l, &u)
                .arg("-i")
                .arg(&i)
                .args(["--column", "mpid"]))
        })
        .await
        .unwrap()
    };
    assert_eq!(code, Some(1), "one profile is still there: {out}\n{err}");
    assert!(
        out.contains("profiles  120: present 1, deleted 119"),
        "{out}"
    );
    assert!(!out.contains("700000000000") && !err.contains("700000000000"));

    let got = server.received_requests().await.unwrap();
    let tokens = got
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .count();
    let lookups = got
        .iter()
        .filter(|r| r.url.path().starts_with("/userprofile/"))
        .count();
    assert_eq!((tokens, lookups), (1, 120));
    server.verify().await;

    // The verdicts are in the ledger, keyed by hash; the present one is checked again.
    let recs = records(&ledger);
    let checks: Vec<_> = recs.iter().filter(|r| r["type"] == "status").collect();
    assert_eq!(checks.len(), 120);
    assert_eq!(
        checks.iter().filter(|r| r["state"] == "deleted").count(),
        119
    );
    assert!(
        checks
            .iter()
            .all(|r| r["id_hmac"].as_str().unwrap().len() == 64)
    );
    server.reset().await;
    let server2 = profile_api().await;
    let (code, out, _) = {
        let (l, u, i) = (ledger.clone(), server2.uri(), input.clone());
        tokio::task::spawn_blocking(move || {
            run(verify_cmd(&l, &u)
                .arg("-i")
                .arg(&i)
                .args(["--column", "mpid"]))
        })
        .await
        .unwrap()
    };
    assert_eq!(code, Some(1));
    assert!(out.contains("present 1, deleted 119"), "{out}");
    let lookups = server2
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/userprofile/"))
        .count();
    assert_eq!(lookups, 1, "deleted profiles are not looked up again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_mpids_from_a_ledger_that_includes_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let input = write_csv(dir.path(), "mpids.csv", "mpid", &mpids(5));
    let ledger = dir.path().join("with-ids.ledger.jsonl");
    let (code, _, err) = {
        let (i, l, u) = (input.clone(), ledger.clone(), sb.base_url());
        tokio::task::spawn_blocking(move || {
            run(mparticle_delete(&u, &i)
                .arg("--ledger-include-identifiers")
                .arg("--ledger")
                .arg(&l))
        })
        .await
        .unwrap()
    };
    assert_eq!(code, Some(0), "{err}");
    let server = profile_api().await;
    let (code, out, err) = {
        let (l, u) = (ledger.clone(), server.uri());
        tokio::task::spawn_blocking(move || run(&mut verify_cmd(&l, &u)))
            .await
            .unwrap()
    };
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("profiles  5: deleted 5"), "{out}");
    assert!(!out.contains("7000000000000000"), "{out}");
}
