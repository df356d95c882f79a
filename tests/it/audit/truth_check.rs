//! `check` proves what it says, in every shape the fakes answer in.

use cdp_purge_sandbox::{LyticsIdConfigShape, Sandbox, SandboxConfig, SegmentWrongSpace};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn check(base: &str, args: &[&str]) -> (Option<i32>, String, String) {
    run(bin().arg("check").args(args).args(["--base-url", base]))
}

#[test]
fn lytics_check_reads_the_field_from_the_identity_configuration_in_any_shape() {
    for shape in [
        LyticsIdConfigShape::FieldList,
        LyticsIdConfigShape::Ranked,
        LyticsIdConfigShape::Keyed,
    ] {
        let sb = Sandbox::start_blocking(SandboxConfig {
            lytics_idconfig_shape: shape,
            ..SandboxConfig::default()
        })
        .unwrap();
        let (code, out, _) = check(
            &sb.base_url(),
            &["--vendor", "lytics", "--id-type", "email"],
        );
        assert_eq!(code, Some(0), "{shape:?}: {out}");
        assert!(out.starts_with("ok"), "{out}");
        assert!(
            out.contains("email is an identity field of table user"),
            "{out}"
        );
        // What no call can prove is said, not implied.
        assert!(
            out.contains("not checked: the Entity: Delete permission"),
            "{out}"
        );

        let (code, out, _) = check(
            &sb.base_url(),
            &["--vendor", "lytics", "--id-type", "emial"],
        );
        assert_eq!(code, Some(2), "{shape:?}: {out}");
        assert!(
            out.starts_with("failed") && out.contains("emial is not an identity field"),
            "{out}"
        );
        assert!(sb.log().iter().all(|r| r.method == "GET" && !r.applied));
    }
}

#[test]
fn hightouch_check_accepts_only_the_documented_runs_answer() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let (code, out, _) = check(&sb.base_url(), &["--vendor", "hightouch", "--graph", "g-1"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("identity graph g-1 found"), "{out}");
    // The sandbox's unknown graph: 404 on its runs.
    let (code, out, _) = check(
        &sb.base_url(),
        &["--vendor", "hightouch", "--graph", "missing"],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.starts_with("failed") && out.contains("--graph"),
        "{out}"
    );
    // The OpenAPI's server value as the base URL would be doubled: refused before any call.
    sb.clear_log();
    let (code, out, _) = check(
        &format!("{}/api/v1", sb.base_url()),
        &["--vendor", "hightouch", "--graph", "g-1"],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("already ends in /api/v1"), "{out}");
    assert!(sb.log().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_answers_404_to_everything_is_not_a_valid_hightouch_or_segment() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404).set_body_string(r#"{"message":"Not Found"}"#))
        .mount(&server)
        .await;
    let uri = server.uri();
    let out = tokio::task::spawn_blocking(move || {
        [
            check(&uri, &["--vendor", "hightouch", "--graph", "g-1"]),
            check(&uri, &["--vendor", "segment", "--space", "spa_1"]),
        ]
    })
    .await
    .unwrap();
    for (code, out, _) in out {
        assert_eq!(code, Some(2), "{out}");
        assert!(out.starts_with("failed"), "{out}");
    }
}

/// A redirect proves nothing at any vendor whose `check` makes a call: the answer is never
/// followed (a sign-in page's 200 would otherwise pass for the vendor's own), and the
/// probe reads the 302 itself as a failure.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_proves_nothing_to_check_at_any_vendor() {
    let server = crate::common::redirecting_to_a_page(r#"{"data":[],"hasMore":false}"#).await;
    let uri = server.uri();
    let vendors: &[&[&str]] = &[
        &["lytics", "--id-type", "email"],
        &["segment", "--space", "spa_1"],
        &["hightouch", "--graph", "g-1"],
        &["segment-regs"],
        &["mixpanel"],
        &["amplitude", "--id-type", "user_id"],
        &["iterable", "--id-type", "email"],
        &["posthog", "--id-type", "distinct_id", "--project-id", "12"],
    ];
    let runs = tokio::task::spawn_blocking(move || {
        vendors
            .iter()
            .map(|v| {
                let args: Vec<&str> = ["--vendor"].iter().chain(v.iter()).copied().collect();
                (v[0], check(&uri, &args))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (vendor, (code, out, err)) in runs {
        assert_eq!(code, Some(2), "{vendor}: {out}{err}");
        assert!(
            out.starts_with("failed") && out.contains("302"),
            "{vendor}: {out}"
        );
    }
    let received = server.received_requests().await.expect("recorded");
    assert!(!received.is_empty(), "the vendors were asked");
    assert!(
        received.iter().all(|r| r.url.path() != "/sign-in"),
        "a redirect was followed"
    );
    assert!(received.iter().all(|r| r.method.as_str() == "GET"));
}

#[test]
fn segment_check_tells_a_wrong_space_where_the_answer_allows() {
    let cases = [
        (SegmentWrongSpace::ResourceNotFound, Some(2)),
        (SegmentWrongSpace::SpaceNotFound, Some(2)),
        (SegmentWrongSpace::Forbidden, Some(2)),
        // Exactly the documented unknown-profile answer: nothing tells them apart, and the
        // output says so.
        (SegmentWrongSpace::ProfileNotFound, Some(0)),
    ];
    for (answer, expected) in cases {
        let sb = Sandbox::start_blocking(SandboxConfig {
            segment_spaces: Some(vec!["spa_right".into()]),
            segment_wrong_space: answer,
            ..SandboxConfig::default()
        })
        .unwrap();
        let (code, out, _) = check(
            &sb.base_url(),
            &["--vendor", "segment", "--space", "spa_right"],
        );
        assert_eq!(code, Some(0), "{answer:?}: {out}");
        let (code, out, _) = check(
            &sb.base_url(),
            &["--vendor", "segment", "--space", "spa_wrong"],
        );
        assert_eq!(code, expected, "{answer:?}: {out}");
        if expected == Some(0) {
            assert!(
                out.contains("Segment does not document a wrong space"),
                "{out}"
            );
        } else {
            assert!(out.contains("--space"), "{answer:?}: {out}");
        }
    }
}
