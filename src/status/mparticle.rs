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
            Fetched::Refused { status, reason, .. } => Profile::Unknown(Some(status), reason),
            Fetched::GaveUp { reason, .. } => Profile::Unknown(None, reason),
            other => return Err(other),
        };
        Ok((p, attempts))
    }
}
