//! mParticle `status --verify`: a profile counts as deleted only by the Profile API's
//! documented "MPID could not be found"; a wrong org, account or workspace stops before a
//! single profile is recorded.

use cdp_purge_sandbox::{Sandbox, SandboxConfig};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const PRESENT: &str = "7000000000000003";

/// An mParticle ledger that includes the MPIDs (so --verify needs no input file).
fn mparticle_ledger(dir: &Path, n: i64) -> PathBuf {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let input = write_csv(dir, "mpids.csv", "mpid", &mpids(n));
    let (code, _, err) =
        run(mparticle_delete(&sb.base_url(), &input).arg("--ledger-include-identifiers"));
    assert_eq!(code, Some(0), "{err}");
    ledger_of(&input)
}

/// The Profile API for org 11 / account 22 / workspace 33; `wrong` answers every other
/// path (another workspace, a wrong host) and `missing` every MPID but PRESENT.
async fn profile_api(
    token: ResponseTemplate,
    missing: ResponseTemplate,
    wrong: ResponseTemplate,
) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(token)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/userprofile/v1/11/22/33/{PRESENT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "mpid": PRESENT, "user_identities": []
        })))
        .with_priority(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/userprofile/v1/11/22/33/[0-9]+$"))
        .respond_with(missing)
        .with_priority(2)
        .mount(&s)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(wrong)
        .with_priority(10)
        .mount(&s)
        .await;
    s
}

fn token_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": "tok", "expires_in": 28800, "token_type": "Bearer"
    }))
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(serde_json::json!({
        "errors": [{"code": "NOT_FOUND", "message": "The MPID provided could not be found"}]
    }))
}

fn verify(ledger: &Path, server: &str, workspace: &str) -> Command {
    let mut c = bin();
    c.env("MPARTICLE_CLIENT_ID", "cid")
        .env("MPARTICLE_CLIENT_SECRET", "csecret")
        .args(["status", "--verify", "--org-id", "11", "--account-id", "22"])
        .args(["--workspace-id", workspace])
        .args(["--auth-url", &format!("{server}/oauth/token")])
        .args(["--base-url", server, "--ledger"])
        .arg(ledger);
    c
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

fn lookups(got: &[wiremock::Request]) -> usize {
    got.iter()
        .filter(|r| r.url.path().starts_with("/userprofile/"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_from_a_wrong_mparticle_workspace_is_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = mparticle_ledger(dir.path(), 10);
    // Every plausible answer for a wrong workspace: a message that is not the MPID's, an
    // empty 404, a 400 about the path.
    let wrongs = [
        ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "errors": [{"code": "NOT_FOUND", "message": "Workspace not found"}]
        })),
        ResponseTemplate::new(404),
        ResponseTemplate::new(400)
            .set_body_json(serde_json::json!({"message": "The requested profile is invalid"})),
    ];
    for wrong in wrongs {
        let server = profile_api(token_ok(), not_found(), wrong).await;
        let (l, u) = (ledger.clone(), server.uri());
        let (code, out, err) = blocking(move || run(&mut verify(&l, &u, "99"))).await;
        assert_eq!(code, Some(2), "{out}\n{err}");
        assert!(
            err.contains("--workspace-id") && err.contains("exit 2"),
            "{err}"
        );
        assert_eq!(
            lookups(&server.received_requests().await.unwrap()),
            1,
            "one lookup, then stop"
        );
        assert!(
            records(&ledger)
                .iter()
                .all(|r| r["type"] != "status" || r["state"] != "deleted"),
            "nothing recorded as deleted"
        );
    }
    // The right workspace: the documented message means deleted, the profile means present.
    let server = profile_api(token_ok(), not_found(), ResponseTemplate::new(404)).await;
    let (l, u) = (ledger.clone(), server.uri());
    let (code, out, err) = blocking(move || run(&mut verify(&l, &u, "33"))).await;
    assert_eq!(code, Some(1), "one profile is still there: {out}\n{err}");
    assert!(out.contains("profiles  10: present 1, deleted 9"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_documented_message_counts_and_any_other_404_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = mparticle_ledger(dir.path(), 6);
    // A 400 that says the MPID was not found (the docs give the words, not the status).
    let server = profile_api(
        token_ok(),
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"message": "MPID not found"})),
        ResponseTemplate::new(404),
    )
    .await;
    let (l, u) = (ledger.clone(), server.uri());
    let (code, out, err) = blocking(move || run(&mut verify(&l, &u, "33"))).await;
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("present 1, deleted 5"), "{out}");

    // The first lookup proves the path with the documented message; the later ones answer
    // a bare 404: unknown, with the reason, and a non-zero exit.
    let dir = tempfile::tempdir().unwrap();
    let ledger = mparticle_ledger(dir.path(), 6);
    let server = profile_api(
        token_ok(),
        ResponseTemplate::new(404),
        ResponseTemplate::new(404),
    )
    .await;
    Mock::given(method("GET"))
        .and(path_regex("^/userprofile/v1/11/22/33/[0-9]+$"))
        .respond_with(not_found())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (l, u) = (ledger.clone(), server.uri());
    let (code, out, err) =
        blocking(move || run(verify(&l, &u, "33").args(["--concurrency", "1"]))).await;
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(
        out.contains("deleted 1") && out.contains("error 4"),
        "{out}"
    );
    assert!(err.contains("4  HTTP 404"), "grouped reasons: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_endpoint_prints_why_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = mparticle_ledger(dir.path(), 7);
    let server = profile_api(
        ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"error": "access_denied", "error_description": "Unauthorized"}),
        ),
        not_found(),
        ResponseTemplate::new(404),
    )
    .await;
    let (l, u) = (ledger.clone(), server.uri());
    let (code, out, err) = blocking(move || run(&mut verify(&l, &u, "33"))).await;
    assert_eq!(code, Some(3), "{out}\n{err}");
    assert!(err.contains("token endpoint refused"), "{err}");
    assert!(
        err.contains("MPARTICLE_CLIENT_ID") && err.contains("exit 3"),
        "{err}"
    );
    assert!(!err.contains("csecret"), "{err}");
    assert_eq!(lookups(&server.received_requests().await.unwrap()), 0);
}

#[test]
fn account_ids_are_checked_before_any_request_and_the_profile_api_quota_is_15_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = mparticle_ledger(dir.path(), 3);
    // No server at all: a request would fail differently.
    let (code, _, err) = run(&mut verify(&ledger, "http://127.0.0.1:9", "acme-prod"));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--workspace-id must be mParticle's numeric ID"),
        "{err}"
    );
    let (_, _, err) =
        run(verify(&ledger, "http://127.0.0.1:9", "33").args(["-v", "--max-retries", "0"]));
    assert!(
        err.contains("(quota 15/s)"),
        "the documented default: {err}"
    );
}
