//! Segment from the identifiers users hold (issue 17): `--lookup-type email` finds each
//! row's user_id through the Profile API (`…/profiles/email:{v}/external_ids?include=user_id`),
//! then deletes; no profile is `not_found` (not a failure of the run), several user_ids are
//! refused with a reason, answers outside the documented shapes are never taken for a
//! profile or for its absence, and a rerun resumes.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use cdp_purge_sandbox::{SandboxConfig, VendorKind};
use wiremock::matchers::{method, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{self, Outcome, TestContext};

fn delete(cx: &TestContext, base: &str, input: &Path) -> Command {
    let mut c = cx.cmd_with_credentials();
    c.args(["delete", "--vendor", "segment", "--space", "spa_1"])
        .args([
            "--id-type",
            "email",
            "--column",
            "email",
            "--lookup-type",
            "email",
        ])
        .args(["--yes", "--base-url", base, "-i"])
        .arg(input);
    c
}

fn outcomes(ledger: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ledger)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["type"] == "outcome")
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn ledger_of(input: &Path) -> std::path::PathBuf {
    let name = input.file_name().unwrap().to_string_lossy();
    support::default_ledger(input.parent().unwrap(), &name)
}

#[test]
fn an_email_only_list_is_deleted_through_lookups_and_a_rerun_resumes() {
    let cx = TestContext::with_fake(SandboxConfig::default());
    let mut people: Vec<String> = (0..40).map(|i| format!("person{i}@example.com")).collect();
    people.push("a+tag@example.com".into());
    let odd = [
        "unknown1@example.com",
        "multi1@example.com",
        "unknown2@example.com",
    ];
    let mut rows = people.clone();
    rows.extend(odd.iter().map(|s| (*s).to_owned()));
    let input = cx.file("people.csv", format!("email\n{}\n", rows.join("\n")));
    let base = cx.fake().base_url();

    let out = Outcome::of(&mut delete(&cx, &base, &input));
    // The refused multi-match is a failure (exit 1); the unknown emails are not.
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(out.stdout.contains("no profile   2"), "{}", out.stdout);
    assert!(
        out.stdout.contains("invalid            1"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("44 profile lookups"), "{}", out.stdout);

    // 0 identifiers lost: every email with one profile was deleted, by its user_id, once.
    let log = cx.fake().log();
    let deleted: Vec<&str> = log
        .iter()
        .filter(|r| r.vendor == Some(VendorKind::Segment) && r.method == "POST" && r.applied)
        .flat_map(|r| r.values.iter().map(String::as_str))
        .collect();
    let want: HashSet<&str> = people.iter().map(String::as_str).collect();
    assert_eq!(deleted.len(), people.len());
    assert_eq!(deleted.iter().copied().collect::<HashSet<_>>(), want);
    assert!(
        log.iter()
            .filter(|r| r.method == "POST")
            .all(|r| r.path.contains("/profiles/user_id:uid-")),
        "deletions go to the resolved user_id"
    );
    let lookups = log.iter().filter(|r| r.method == "GET").count();
    assert_eq!(lookups, rows.len());

    // The ledger: keyed hashes of the email and of the user_id, never the values.
    let ledger = ledger_of(&input);
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert!(!text.contains("@example.com") && !text.contains("uid-"));
    let res = outcomes(&ledger);
    assert_eq!(res.len(), rows.len());
    let by = |s: &str| res.iter().filter(|r| r["status"] == s).count();
    assert_eq!(
        (by("acknowledged"), by("not_found"), by("invalid")),
        (41, 2, 1)
    );
    assert!(
        res.iter()
            .filter(|r| r["status"] == "acknowledged")
            .all(|r| r["lookup_hmac"].as_str().is_some_and(|h| h.len() == 64))
    );
    let multi = res.iter().find(|r| r["status"] == "invalid").unwrap();
    assert!(
        multi["message"].as_str().unwrap().contains("2 user_ids"),
        "{multi}"
    );
    assert!(
        res.iter()
            .filter(|r| r["status"] == "not_found")
            .all(|r| r["message"] == "no profile with that email")
    );

    // A rerun resolves and deletes nothing again.
    cx.fake().clear_log();
    let out = Outcome::of(&mut delete(&cx, &base, &input));
    assert!(
        out.stdout
            .contains("resumed      41 identifiers already deleted"),
        "{}",
        out.transcript()
    );
    assert!(cx.fake().log().is_empty(), "nothing sent again");
}

/// A Profile API fake answering the lookups with what the test wants, and accepting every
/// deletion.
async fn profile_api(lookup: ResponseTemplate) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(
            "^/v1/spaces/spa_1/collections/users/profiles/email:[^/]+/external_ids$",
        ))
        .and(query_param("include", "user_id"))
        .respond_with(lookup)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/external_ids/delete$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "code": "success", "message": "External identifier has been deleted."
        })))
        .mount(&s)
        .await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_answers_outside_the_documented_shapes_delete_nothing() {
    let cases = [
        // A 200 in another shape than `{"data":[…],"cursor":…}`.
        (
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"external_ids": [{"type": "user_id", "id": "u1"}]}),
            ),
            "invalid",
            "shape it does not document",
        ),
        // A 404 without the documented "Profile was not found.": not proof of absence.
        (
            ResponseTemplate::new(404).set_body_json(serde_json::json!({"message": "Not Found"})),
            "invalid",
            "without its documented",
        ),
        // More user_ids than one page: refused, not the first one picked.
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "data": [{"type": "user_id", "id": "u1", "collection": "users"}],
                "cursor": {"has_more": true, "next": "x", "url": "/"}
            })),
            "invalid",
            "more than 1 user_ids",
        ),
        // The documented answer for an unknown profile.
        (
            ResponseTemplate::new(404).set_body_json(serde_json::json!({
                "error": {"code": "not_found", "message": "Profile was not found."}
            })),
            "not_found",
            "no profile with that email",
        ),
    ];
    for (answer, status, why) in cases {
        let server = profile_api(answer).await;
        let uri = server.uri();
        let res = tokio::task::spawn_blocking(move || {
            let cx = TestContext::new();
            let input = cx.file("one.csv", "email\nann@example.com\n");
            let out = Outcome::of(&mut delete(&cx, &uri, &input));
            (out, outcomes(&ledger_of(&input)))
        })
        .await
        .unwrap();
        let (out, res) = res;
        assert_eq!(res.len(), 1, "{}", out.transcript());
        assert_eq!(res[0]["status"], status, "{}", res[0]);
        assert!(
            res[0]["message"].as_str().unwrap().contains(why),
            "{}",
            res[0]
        );
        let deletes = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count();
        assert_eq!(deletes, 0, "{status}/{why}: nothing deleted");
    }
}
