//! mParticle verification: the bulk-deletion API has no status, and a 202 can come back
//! when nothing matched, so deletion is proven by looking each MPID up in the Profile API.
//! mParticle documents the answer for a deleted profile only as "an error stating that the
//! MPID provided could not be found" (seed 004), and its Profile API status table lists no
//! 404 at all; a wrong org, account or workspace, or a wrong host, also answers 404. So a
//! profile counts as deleted only when the error's message says the MPID was not found; a
//! profile body means it is still there; anything else is unknown.
//!
//! One OAuth token serves every lookup until it expires (about 8 h); mParticle's tokens
//! cannot be revoked, so asking for one per lookup would leave thousands of live tokens
//! behind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::{Request, Secret, wire};
use cdp_purge_core::status::{Fetched, Poller};

/// Variables holding the Profile API credential (not the bulk-deletion key/secret).
pub const CLIENT_ID: &str = "MPARTICLE_CLIENT_ID";
pub const CLIENT_SECRET: &str = "MPARTICLE_CLIENT_SECRET";
pub const DEFAULT_BASE_URL: &str = "https://api.mparticle.com";

/// The Profile API's default quota: "starting at 15 requests per second" (mParticle's
/// default service limits page); the bulk-deletion page's 1500/s is about deletions.
pub const DEFAULT_RPS: u32 = 15;

/// Whether an error message is mParticle's documented "the MPID provided could not be
/// found": it names the MPID and says it was not found. "Workspace not found" is not it.
pub fn is_mpid_not_found(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (m.contains("mpid") || m.contains("mparticle id"))
        && (m.contains("not found")
            || m.contains("could not be found")
            || m.contains("cannot be found")
            || m.contains("does not exist"))
}

/// The identity type the resolve route takes for a bulk-deletion identity type: the
/// Profile API spells the customer ID `customer_id`, the bulk-deletion API `customerid`.
pub fn resolve_type(identity_type: &str) -> &str {
    match identity_type {
        "customerid" => "customer_id",
        other => other,
    }
}

/// The org, account and workspace IDs are numbers in mParticle; anything else is a typo
/// that would only show as an undocumented 404 later.
pub fn check_ids(org: &str, account: &str, workspace: &str) -> Result<(), String> {
    for (name, v) in [
        ("--org-id", org),
        ("--account-id", account),
        ("--workspace-id", workspace),
    ] {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{name} must be mParticle's numeric ID, got {v:?}"));
        }
    }
    Ok(())
}

/// Renew this long before the token's stated expiry, so no lookup carries a stale token.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct ProfileApiConfig {
    pub auth_url: String,
    pub base_url: String,
    pub org_id: String,
    pub account_id: String,
    pub workspace_id: String,
    pub client_id: Secret,
    pub client_secret: Secret,
    /// The variables they were read from, for hints.
    pub client_id_var: String,
    pub client_secret_var: String,
}

/// What one lookup showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// The vendor's documented answer proves the identifier absent (HTTP status, and what
    /// the answer was, in words that never quote the identifier).
    Absent(u16, String),
    /// The vendor's documented answer shows the identifier on a profile.
    Found(u16, String),
    /// An answer in the vendor's own error shape from a route where the vendor documents no
    /// answer for a missing profile: it proves nothing about the profile (unknown), but it
    /// is the vendor answering, not a wrong host or account path, so lookups go on (each
    /// can still find a profile present). The reason quotes the vendor, never the value.
    Unproven(u16, String),
    /// No usable answer (HTTP status if one came, and why).
    Unknown(Option<u16>, String),
}

pub struct ProfileApi {
    cfg: ProfileApiConfig,
    token: tokio::sync::Mutex<Option<(Secret, Instant)>>,
    /// Token requests made (tests check there is one per expiry, not one per lookup).
    pub token_requests: AtomicU64,
}

impl ProfileApi {
    pub fn new(cfg: ProfileApiConfig) -> Self {
        Self {
            cfg,
            token: tokio::sync::Mutex::new(None),
            token_requests: AtomicU64::new(0),
        }
    }

    /// A valid bearer token, fetched once and shared; concurrent callers wait for the one
    /// request in flight instead of sending their own.
    async fn token(&self, poller: &Poller) -> Result<Secret, Fetched> {
        let mut slot = self.token.lock().await;
        if let Some((t, expires)) = &*slot
            && Instant::now() < *expires
        {
            return Ok(t.clone());
        }
        let body = serde_json::json!({
            "client_id": self.cfg.client_id.expose(),
            "client_secret": self.cfg.client_secret.expose(),
            "audience": "https://api.mparticle.com",
            "grant_type": "client_credentials",
        });
        let req = Request {
            method: Method::POST,
            url: self.cfg.auth_url.clone(),
            headers: vec![wire::json_content_type()],
            body: serde_json::to_vec(&body).expect("serialisable").into(),
        };
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        tracing::info!("asking the mParticle token endpoint for a Profile API token");
        let body = match poller.fetch(&req).await.0 {
            Fetched::Ok { body, .. } => body,
            Fetched::Refused { status, reason, .. } => {
                // A 400 here is a bad client id/secret pair: as fatal as a 401.
                return Err(poller.set_fatal(
                    format!(
                        "the mParticle token endpoint refused the client credentials (HTTP {status}: {reason})"
                    ),
                    format!("check {} and {}", self.cfg.client_id_var, self.cfg.client_secret_var),
                    true,
                ));
            }
            // A 401/403: say it was the token endpoint, and name the variables read.
            Fetched::Fatal { reason, .. } => {
                return Err(poller.override_fatal(
                    format!(
                        "the mParticle token endpoint refused the client credentials ({reason})"
                    ),
                    format!(
                        "check {} and {} (a credential with Profile API access) and --auth-url",
                        self.cfg.client_id_var, self.cfg.client_secret_var
                    ),
                    true,
                ));
            }
            other => return Err(other),
        };
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let t: Token = serde_json::from_slice(&body).map_err(|e| {
            poller.set_fatal(
                format!("the mParticle token endpoint answered without a token: {e}"),
                "check --auth-url".into(),
                false,
            )
        })?;
        // mParticle documents 8 h; without `expires_in`, assume one hour.
        let life = Duration::from_secs(t.expires_in.unwrap_or(3600));
        let expires = Instant::now() + life.saturating_sub(EXPIRY_MARGIN);
        let token = Secret::new(t.access_token);
        *slot = Some((token.clone(), expires));
        Ok(token)
    }

    /// Look one MPID up. `Err` is fatal (credentials) or the run stopping.
    pub async fn lookup(&self, poller: &Poller, mpid: &str) -> Result<(Profile, u32), Fetched> {
        let c = &self.cfg;
        let url = format!(
            "{}/userprofile/v1/{}/{}/{}/{}?fields=user_identities",
            c.base_url,
            wire::segment(&c.org_id),
            wire::segment(&c.account_id),
            wire::segment(&c.workspace_id),
            wire::segment(mpid)
        );
        let ask = Ask {
            method: Method::GET,
            url,
            body: None,
            value: mpid,
            // The documented answer for a profile that is still there: its JSON object.
            found: |status, v| {
                v.get("mpid").is_some().then(|| {
                    Profile::Found(status, "the Profile API still returns this profile".into())
                })
            },
            refused: |status, m, _| {
                is_mpid_not_found(m).then(|| {
                    Profile::Absent(
                        status,
                        "the Profile API answers that the MPID could not be found".into(),
                    )
                })
            },
            expected: "the documented \"MPID could not be found\"",
        };
        self.ask(poller, ask).await
    }

    /// `POST /userprofile/v1/resolve/{org}/{account}/{workspace}?fields=user_identities`
    /// with `{environment_type, identity: {type, value}}`: the profile a (normally
    /// immutable) identity resolves to. One profile object with an `mpid` means the identity
    /// is still on a profile. mParticle documents no answer for an identity that resolves
    /// to none (its status table has 400 "the requested profile is invalid", 401, 403, 429,
    /// 503, 5xx), so no answer proves the identity gone: an error in mParticle's shape is
    /// unknown with a reason quoting it; several profiles or any other answer is unknown.
    pub async fn resolve(
        &self,
        poller: &Poller,
        environment: &str,
        identity_type: &str,
        value: &str,
    ) -> Result<(Profile, u32), Fetched> {
        let c = &self.cfg;
        let body = serde_json::json!({
            "environment_type": environment,
            "identity": { "type": resolve_type(identity_type), "value": value },
        });
        let ask = Ask {
            method: Method::POST,
            url: format!(
                "{}/userprofile/v1/resolve/{}/{}/{}?fields=user_identities",
                c.base_url,
                wire::segment(&c.org_id),
                wire::segment(&c.account_id),
                wire::segment(&c.workspace_id),
            ),
            body: Some(serde_json::to_vec(&body).expect("serialisable")),
            value,
            found: |status, v| match v {
                serde_json::Value::Object(o) if o.get("mpid").is_some_and(|m| !m.is_null()) => {
                    Some(Profile::Found(
                        status,
                        "the identity still resolves to a profile (an MPID)".into(),
                    ))
                }
                serde_json::Value::Array(a) => Some(Profile::Unknown(
                    Some(status),
                    format!(
                        "{} profiles for one identity: not the documented single profile",
                        a.len()
                    ),
                )),
                _ => None,
            },
            refused: |status, m, value| {
                Some(Profile::Unproven(
                    status,
                    crate::verify::unproven(
                        "mParticle",
                        &format!("'{m}'"),
                        value,
                        "an identity that resolves to no profile",
                    ),
                ))
            },
            expected: "a profile, or an error in mParticle's error shape",
        };
        self.ask(poller, ask).await
    }

    /// Send one Profile API request with the shared token and read the answer in the
    /// documented terms only. Error texts may quote the path or the value: never let it
    /// through to the ledger.
    async fn ask(&self, poller: &Poller, ask: Ask<'_>) -> Result<(Profile, u32), Fetched> {
        let token = self.token(poller).await?;
        let auth = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
            Fetched::Fatal {
                reason: "the mParticle token cannot be sent in a header".into(),
                hint: "check --auth-url".into(),
                auth: true,
            }
        })?;
        let mut headers = vec![(AUTHORIZATION, auth)];
        if ask.body.is_some() {
            headers.push(wire::json_content_type());
        }
        let req = Request {
            method: ask.method,
            url: ask.url,
            headers,
            body: ask.body.unwrap_or_default().into(),
        };
        let redact = |t: &str| crate::verify::redact(t, ask.value);
        let (fetched, attempts) = poller.fetch(&req).await;
        let p = match fetched {
            Fetched::Ok { status, body } => serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| (ask.found)(status, &v))
                .unwrap_or_else(|| {
                    Profile::Unknown(
                        Some(status),
                        "a 2xx answer that is not a profile object".into(),
                    )
                }),
            Fetched::Refused {
                status,
                reason,
                body,
            } => match wire::error_fields(&body).1 {
                Some(m) if matches!(status, 400 | 404) => (ask.refused)(status, &m, ask.value)
                    .unwrap_or_else(|| {
                        Profile::Unknown(
                            Some(status),
                            format!("{} (not {})", redact(&reason), ask.expected),
                        )
                    }),
                _ => Profile::Unknown(
                    Some(status),
                    format!("{} (not {})", redact(&reason), ask.expected),
                ),
            },
            Fetched::GaveUp { reason, .. } => Profile::Unknown(None, redact(&reason)),
            other => return Err(other),
        };
        Ok((p, attempts))
    }
}

/// One Profile API question and how to read its answer.
struct Ask<'a> {
    method: Method,
    url: String,
    body: Option<Vec<u8>>,
    /// The identifier asked about, never quoted back.
    value: &'a str,
    /// What a 2xx JSON body says, if it is a documented answer.
    found: fn(u16, &serde_json::Value) -> Option<Profile>,
    /// What a 400/404 error message (with the HTTP status and the value asked about) says,
    /// if it is a documented answer or the vendor's error shape counts; `None` is unknown.
    refused: fn(u16, &str, &str) -> Option<Profile>,
    /// The documented answers, for the unknown answer's reason.
    expected: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VendorKind;
    use cdp_purge_core::engine::limiter::Limits;
    use cdp_purge_core::engine::retry::RetryPolicy;
    use wiremock::matchers::{body_string_contains, method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn server(expires_in: u64) -> MockServer {
        let s = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"access_token": "t", "expires_in": expires_in}),
                ),
            )
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/userprofile/v1/o/a/w/[0-9]+$"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"message": "bad mpid 123456 in request"})),
            )
            .mount(&s)
            .await;
        s
    }

    fn client(uri: &str) -> (ProfileApi, Poller) {
        let cfg = ProfileApiConfig {
            auth_url: format!("{uri}/token"),
            base_url: uri.to_owned(),
            org_id: "o".into(),
            account_id: "a".into(),
            workspace_id: "w".into(),
            client_id: Secret::new("id"),
            client_secret: Secret::new("secret"),
            client_id_var: CLIENT_ID.into(),
            client_secret_var: CLIENT_SECRET.into(),
        };
        let limits = Limits {
            requests: None,
            items: None,
            concurrency: 4,
            concurrency_limited: false,
        };
        let retry = RetryPolicy::new(1, Duration::from_secs(1), 0.0);
        let poller = Poller::new(
            VendorKind::Mparticle.info(),
            limits,
            retry,
            Duration::from_secs(5),
            None,
        );
        (ProfileApi::new(cfg), poller.unwrap())
    }

    #[test]
    fn only_the_documented_message_means_deleted() {
        for m in [
            "The MPID provided could not be found",
            "MPID not found",
            "mpid 123 does not exist",
        ] {
            assert!(is_mpid_not_found(m), "{m}");
        }
        for m in [
            "Not Found",
            "Workspace not found",
            "Profile API: resource not found",
            "The requested profile is invalid",
            "",
        ] {
            assert!(!is_mpid_not_found(m), "{m}");
        }
    }

    #[test]
    fn customerid_is_spelled_customer_id_for_resolve() {
        assert_eq!(resolve_type("customerid"), "customer_id");
        assert_eq!(resolve_type("other"), "other");
    }

    #[test]
    fn account_ids_must_be_numeric() {
        assert!(check_ids("11", "22", "33").is_ok());
        let e = check_ids("11", "acme", "33").expect_err("not a number");
        assert!(e.contains("--account-id"), "{e}");
        assert!(check_ids("", "2", "3").is_err());
    }

    #[tokio::test]
    async fn the_token_is_reused_until_it_expires_and_errors_never_quote_the_mpid() {
        let s = server(28_800).await;
        let (api, poller) = client(&s.uri());
        for _ in 0..3 {
            let (p, attempts) = api.lookup(&poller, "123456").await.unwrap();
            assert_eq!(attempts, 1);
            let Profile::Unknown(Some(400), msg) = p else {
                panic!("{p:?}")
            };
            assert!(
                !msg.contains("123456") && msg.contains("<redacted>"),
                "{msg}"
            );
        }
        assert_eq!(api.token_requests.load(Ordering::Relaxed), 1);

        // A token that expires within the safety margin is renewed for the next lookup.
        let s = server(30).await;
        let (api, poller) = client(&s.uri());
        api.lookup(&poller, "1").await.unwrap();
        api.lookup(&poller, "2").await.unwrap();
        assert_eq!(api.token_requests.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn no_resolve_answer_proves_an_identity_gone() {
        let s = server(28_800).await;
        let answers = [
            (
                "C-gone",
                ResponseTemplate::new(404).set_body_json(serde_json::json!(
                    {"errors": [{"code": 404, "message": "Profile not found for C-gone"}]}
                )),
            ),
            (
                "C-invalid",
                ResponseTemplate::new(400).set_body_json(
                    serde_json::json!({"message": "The requested profile is invalid"}),
                ),
            ),
            (
                "C-html",
                ResponseTemplate::new(404).set_body_string("<html>"),
            ),
            (
                "C-here",
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"mpid": 7, "user_identities": []})),
            ),
        ];
        for (value, answer) in answers {
            Mock::given(method("POST"))
                .and(path("/userprofile/v1/resolve/o/a/w"))
                .and(body_string_contains(value))
                .respond_with(answer)
                .mount(&s)
                .await;
        }
        let (api, poller) = client(&s.uri());
        let ask = |v: &'static str| api.resolve(&poller, "production", "customerid", v);
        // mParticle documents no "not found" for resolve: its error is unknown, quoted.
        for (v, status, said) in [
            (
                "C-gone",
                404,
                "mParticle answered 'Profile not found for <redacted>'",
            ),
            (
                "C-invalid",
                400,
                "mParticle answered 'The requested profile is invalid'",
            ),
        ] {
            let (p, _) = ask(v).await.unwrap();
            let Profile::Unproven(st, why) = p else {
                panic!("{v}: {p:?}")
            };
            assert_eq!(st, status);
            assert!(why.starts_with(said), "{why}");
            assert!(why.ends_with("so this cannot prove the deletion"), "{why}");
        }
        // Not mParticle's error shape (a wrong host): unknown, and not taken for the vendor.
        assert!(matches!(
            ask("C-html").await.unwrap().0,
            Profile::Unknown(Some(404), _)
        ));
        // A documented profile still proves the identity present.
        assert!(matches!(
            ask("C-here").await.unwrap().0,
            Profile::Found(200, _)
        ));
    }
}
