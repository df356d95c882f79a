//! mParticle verification: the bulk-deletion API has no status, and a 202 can come back
//! when nothing matched, so deletion is proven by looking each MPID up in the Profile API
//! (`404` = gone, a profile = still there). One OAuth token serves every lookup until it
//! expires (about 8 h); mParticle's tokens cannot be revoked, so asking for one per lookup
//! would leave thousands of live tokens behind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::{Fetched, Poller};
use crate::vendor::{Request, Secret, wire};

/// Variables holding the Profile API credential (not the bulk-deletion key/secret).
pub const CLIENT_ID: &str = "MPARTICLE_CLIENT_ID";
pub const CLIENT_SECRET: &str = "MPARTICLE_CLIENT_SECRET";
pub const DEFAULT_BASE_URL: &str = "https://api.mparticle.com";

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
}

/// What one lookup showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// "Not found": the deletion took.
    Deleted,
    /// A profile came back: not deleted.
    Present,
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
            body: serde_json::to_vec(&body).expect("serialisable"),
        };
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let body = match poller.fetch(&req).await.0 {
            Fetched::Ok { body, .. } => body,
            Fetched::Refused { status, reason, .. } => {
                // A 400 here is a bad client id/secret pair: as fatal as a 401.
                poller.stop();
                return Err(Fetched::Fatal {
                    reason: format!(
                        "the mParticle token endpoint refused the client credentials (HTTP {status}: {reason})"
                    ),
                    hint: format!("check {CLIENT_ID} and {CLIENT_SECRET}"),
                    auth: true,
                });
            }
            other => return Err(other),
        };
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let t: Token = serde_json::from_slice(&body).map_err(|e| Fetched::Fatal {
            reason: format!("the mParticle token endpoint answered without a token: {e}"),
            hint: "check --auth-url".into(),
            auth: false,
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
        let token = self.token(poller).await?;
        let auth = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
            Fetched::Fatal {
                reason: "the mParticle token cannot be sent in a header".into(),
                hint: "check --auth-url".into(),
                auth: true,
            }
        })?;
        let c = &self.cfg;
        let req = Request {
            method: Method::GET,
            url: format!(
                "{}/userprofile/v1/{}/{}/{}/{}?fields=user_identities",
                c.base_url,
                wire::segment(&c.org_id),
                wire::segment(&c.account_id),
                wire::segment(&c.workspace_id),
                wire::segment(mpid)
            ),
            headers: vec![(AUTHORIZATION, auth)],
            body: Vec::new(),
        };
        let (fetched, attempts) = poller.fetch(&req).await;
        let p = match fetched {
            Fetched::Ok { .. } => Profile::Present,
            Fetched::Refused { status: 404, .. } => Profile::Deleted,
            // Error texts may quote the path: never let the MPID through to the ledger.
            Fetched::Refused { status, reason, .. } => {
                Profile::Unknown(Some(status), reason.replace(mpid, "<redacted>"))
            }
            Fetched::GaveUp { reason, .. } => {
                Profile::Unknown(None, reason.replace(mpid, "<redacted>"))
            }
            other => return Err(other),
        };
        Ok((p, attempts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::limiter::Limits;
    use crate::engine::retry::RetryPolicy;
    use crate::vendor::VendorKind;
    use wiremock::matchers::{method, path, path_regex};
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
        };
        let limits = Limits {
            requests: None,
            items: None,
            concurrency: 4,
            concurrency_limited: false,
        };
        let retry = RetryPolicy::new(1, Duration::from_secs(1), 0.0);
        let poller = Poller::new(
            VendorKind::Mparticle,
            limits,
            retry,
            Duration::from_secs(5),
            None,
        );
        (ProfileApi::new(cfg), poller.unwrap())
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
}
