//! Vendors: the facts table, the adapter trait and the registry.
//!
//! An adapter is data plus two functions: build a request from a batch, and classify a
//! response into per-item outcomes. Pacing, retries, the ledger and progress live in the
//! engine. Adding a vendor touches one file here and one row of [`VENDORS`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::batch::Batch;
use crate::settings::Target;

pub use preflight::{Finding, Preflight, Probe};

pub mod clevertap;
pub mod hightouch;
pub mod lytics;
pub mod mparticle;
pub mod params;
pub mod preflight;
pub mod segment;
pub mod wire;

/// The adapter for a target. Fails when a credential is missing or cannot be put in a
/// header; the error names the variable, never its value.
pub fn adapter(target: &Target) -> anyhow::Result<Arc<dyn Adapter>> {
    Ok(match target.vendor {
        VendorKind::Lytics => Arc::new(lytics::Lytics::new(target)?),
        VendorKind::Mparticle => Arc::new(mparticle::Mparticle::new(target)?),
        VendorKind::Clevertap => Arc::new(clevertap::Clevertap::new(target)?),
        VendorKind::Segment => Arc::new(segment::Segment::new(target)?),
        VendorKind::Hightouch => Arc::new(hightouch::Hightouch::new(target)?),
    })
}

/// A quota: at most `count` events in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rate {
    pub count: u32,
    #[serde(with = "duration_secs")]
    pub per: Duration,
}

impl Rate {
    pub const fn per_second(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(1),
        }
    }
    /// Average events per second.
    pub fn per_sec(&self) -> f64 {
        f64::from(self.count) / self.per.as_secs_f64()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.per == Duration::from_secs(1) {
            write!(f, "{}/s", self.count)
        } else {
            write!(f, "{} per {}s", self.count, self.per.as_secs_f64())
        }
    }
}

mod duration_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// What the vendor allows. `None` means the vendor publishes no such limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Quota {
    pub requests: Option<Rate>,
    pub items: Option<Rate>,
    /// Requests in flight at once (CleverTap limits this, not a rate).
    pub in_flight: Option<u32>,
    /// True when the numbers above are documented by the vendor; false when they are our
    /// conservative defaults for a vendor that publishes none.
    pub documented: bool,
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(r) = self.requests {
            parts.push(format!("{r} requests"));
        }
        if let Some(r) = self.items {
            parts.push(format!("{r} items"));
        }
        if let Some(n) = self.in_flight {
            parts.push(format!("{n} in flight"));
        }
        let s = if parts.is_empty() {
            "none published".to_owned()
        } else {
            parts.join(", ")
        };
        if self.documented {
            f.write_str(&s)
        } else {
            write!(f, "{s} (not published; conservative default)")
        }
    }
}

/// The supported vendors.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum VendorKind {
    Lytics,
    Mparticle,
    Clevertap,
    Segment,
    Hightouch,
}

impl VendorKind {
    pub fn info(self) -> &'static VendorInfo {
        VENDORS
            .iter()
            .find(|v| v.kind == self)
            .expect("every vendor has a row in VENDORS")
    }
    pub fn id(self) -> &'static str {
        self.info().id
    }
}

impl fmt::Display for VendorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One row of the vendor facts table (see ../shared/vendor-apis.md).
#[derive(Debug, serde::Serialize)]
pub struct VendorInfo {
    #[serde(skip)]
    pub kind: VendorKind,
    /// The `--vendor` value.
    pub id: &'static str,
    pub name: &'static str,
    /// The API this tool calls.
    pub api: &'static str,
    /// Largest number of identifiers one request may carry (the hard cap).
    pub max_batch: usize,
    /// Batch size used when `--batch-size` is not given.
    pub default_batch: usize,
    /// Whether the per-request cap is the vendor's documented one.
    pub max_batch_documented: bool,
    pub quota: Quota,
    /// Default cap on requests in flight.
    pub default_concurrency: u32,
    /// One identifier kind per request.
    pub one_kind_per_request: bool,
    /// What identifiers it takes.
    pub id_kinds: &'static str,
    /// Environment variables holding credentials.
    pub credentials: &'static [&'static str],
    /// Default host (region/pod flags may change it).
    pub default_base_url: &'static str,
    /// How deletion completes after the vendor accepts it.
    pub completion: &'static str,
    /// What a user must know once a run is over, printed under the summary.
    pub caveat: &'static str,
}

/// The vendor facts, one row each. Used by `vendors`, `plan` and the engine.
pub static VENDORS: &[VendorInfo] = &[
    VendorInfo {
        kind: VendorKind::Lytics,
        id: "lytics",
        name: "Lytics",
        api: "DELETE /v2/identity/queue/bulk/{table}/{field}",
        // Lytics documents no hard cap ("many thousands"); batches stay small so one
        // failure does not hold up much.
        max_batch: 1000,
        default_batch: 100,
        max_batch_documented: false,
        quota: Quota {
            requests: Some(Rate::per_second(10)),
            items: None,
            in_flight: None,
            documented: false,
        },
        default_concurrency: 8,
        one_kind_per_request: true,
        id_kinds: "one identity field per request (--id-type, e.g. email, member_id) of --table (default user)",
        credentials: &["LYTICS_API_TOKEN"],
        default_base_url: "https://api.lytics.io",
        completion: "asynchronous; poll GET /v2/identity/deletestatus/{request_id} until state done",
        caveat: "Lytics deletes asynchronously (hours to days): follow it with `cdp-purge status --ledger LEDGER --watch`. New events for a deleted identity create the profile again: delete or block the source data first.",
    },
    VendorInfo {
        kind: VendorKind::Mparticle,
        id: "mparticle",
        name: "mParticle",
        api: "POST /userprofile/bulkdelete",
        max_batch: 100,
        // The pacer keeps an exact window of its own admissions, so full batches use the
        // whole quota (15 requests of 100 per second) with 5x fewer requests than 20s.
        default_batch: 100,
        max_batch_documented: true,
        quota: Quota {
            requests: None,
            items: Some(Rate::per_second(1500)),
            in_flight: None,
            documented: true,
        },
        // 15 requests/s of 100: enough in flight to keep the pace at ~2 s latency.
        default_concurrency: 32,
        one_kind_per_request: false,
        id_kinds: "mpid (signed 64-bit, sent as a string) or a unique identity type (--id-type, e.g. customerid, email)",
        credentials: &["MPARTICLE_API_KEY", "MPARTICLE_API_SECRET"],
        default_base_url: "https://s2s.mparticle.com",
        completion: "logical deletion; no status API (verify through the Profile API)",
        caveat: "mParticle's bulk deletion is logical and answers 202 even when no profile matched: verify with `cdp-purge status --ledger LEDGER --verify`. It is not meant for data-subject (GDPR/CCPA) requests: use the DSR API for those.",
    },
    VendorInfo {
        kind: VendorKind::Clevertap,
        id: "clevertap",
        name: "CleverTap",
        api: "POST /1/delete/profiles.json",
        max_batch: 100,
        default_batch: 100,
        max_batch_documented: true,
        quota: Quota {
            requests: None,
            items: None,
            in_flight: Some(3),
            documented: true,
        },
        default_concurrency: 3,
        one_kind_per_request: true,
        id_kinds: "identity or guid (--id-type), never both in one request",
        credentials: &["CLEVERTAP_ACCOUNT_ID", "CLEVERTAP_PASSCODE"],
        default_base_url: "https://api.clevertap.com",
        completion: "queued; processed after 24 hours and cannot be undone; no status API",
        caveat: "CleverTap only queued these deletions: it processes them after 24 hours, and once processed they cannot be undone. There is no status API to follow them.",
    },
    VendorInfo {
        kind: VendorKind::Segment,
        id: "segment",
        name: "Twilio Segment",
        api: "POST /v1/spaces/{space}/collections/users/profiles/user_id:{user_id}/external_ids/delete",
        max_batch: 1,
        default_batch: 1,
        max_batch_documented: true,
        quota: Quota {
            requests: Some(Rate::per_second(100)),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 128,
        one_kind_per_request: true,
        id_kinds: "one external id (--id-type or --id-type-column) per request, found by its profile's user_id (--user-id-column)",
        credentials: &["SEGMENT_TOKEN"],
        default_base_url: "https://profiles.segment.com",
        completion: "synchronous for the identity graph; downstream destinations are not touched",
        caveat: "Segment removed the identifiers from the identity graph only: downstream destinations are not touched, and replaying archived events brings the identifiers back.",
    },
    VendorInfo {
        kind: VendorKind::Hightouch,
        id: "hightouch",
        name: "Hightouch",
        api: "POST /api/v1/idr/{graph}/queue-for-reprocessing",
        max_batch: 1000,
        default_batch: 100,
        max_batch_documented: false,
        quota: Quota {
            requests: Some(Rate {
                count: 200,
                per: Duration::from_secs(10),
            }),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 8,
        one_kind_per_request: false,
        id_kinds: "identifier name from the graph's model (--id-type or a type column), e.g. email, phone",
        credentials: &["HIGHTOUCH_API_KEY"],
        default_base_url: "https://api.hightouch.com",
        completion: "queued; acted on in the next IDR run; poll reprocess-status/{requestId}",
        caveat: "Hightouch acts on the next IDR run: follow it with `cdp-purge status --ledger LEDGER --watch`. Rows still in the warehouse sources bring the profiles back.",
    },
];

/// An HTTP request an adapter wants sent. Header values may hold secrets: the engine never
/// logs them.
#[derive(Clone)]
pub struct Request {
    pub method: reqwest::Method,
    /// Full URL (the adapter joins its base URL and path). May hold personal data (Segment
    /// puts the lookup user_id in the path): never log it.
    pub url: String,
    pub headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    pub body: Vec<u8>,
}

/// `scheme://host[:port]` of a URL: what may be printed of a request's address (paths can
/// carry personal data, as Segment's `user_id:` does).
pub fn origin(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// Debug shows only what is safe to log: the method, the scheme and host, and sizes. The
/// path (Segment puts a user_id there), the body and the headers (secrets) are left out.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = origin(&self.url).unwrap_or_else(|| "<unparsable url>".to_owned());
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("origin", &origin)
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// A response as the adapter sees it.
#[derive(Debug)]
pub struct Response<'a> {
    pub status: u16,
    pub headers: &'a reqwest::header::HeaderMap,
    pub body: &'a [u8],
    /// 1-based attempt number of this request.
    pub attempt: u32,
    /// An earlier attempt of this batch may have reached the vendor (it timed out or the
    /// connection dropped after sending), so "already gone" answers can mean our own success.
    pub maybe_delivered_before: bool,
}

/// How one item ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeClass {
    /// The vendor accepted the deletion.
    Acknowledged,
    /// Already absent or already queued (a success).
    AlreadyDone,
    /// The vendor does not know the identifier (documented per vendor).
    NotFound,
    /// Permanently refused, with the vendor's message.
    Invalid,
}

impl OutcomeClass {
    pub fn is_success(self) -> bool {
        matches!(self, Self::Acknowledged | Self::AlreadyDone)
    }
}

/// One item's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOutcome {
    pub class: OutcomeClass,
    /// The vendor's ID for this item or request (Lytics request_id, Hightouch requestId).
    pub vendor_id: Option<String>,
    /// The vendor's message for a failure. Must not echo the identifier.
    pub message: Option<String>,
}

/// What to do with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Handled: one outcome per item, in the batch's order.
    Items(Vec<ItemOutcome>),
    /// Retry the whole batch. `throttled` marks a 429 (pauses every worker).
    /// `retry_after` is the vendor's `Retry-After`, already parsed, if any.
    Retry {
        throttled: bool,
        retry_after: Option<Duration>,
        reason: String,
    },
    /// The whole batch failed permanently. `bisect`: the vendor did not name the bad item,
    /// so splitting the batch may save the good ones.
    Failed { reason: String, bisect: bool },
    /// Stop the whole run (bad credentials, feature not enabled, wrong space).
    Fatal {
        reason: String,
        hint: String,
        auth: bool,
    },
}

/// A vendor adapter: request building and response classification, nothing else.
pub trait Adapter: Send + Sync {
    fn kind(&self) -> VendorKind;
    /// Build the request for a batch (including auth headers).
    fn build(&self, batch: &Batch) -> anyhow::Result<Request>;
    /// Classify the vendor's answer.
    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict;
    /// Identifiers of the account/workspace for the ledger header (never secrets).
    fn account(&self) -> Vec<(String, String)>;
    /// The endpoint for the ledger header, without personal data.
    fn endpoint(&self) -> String;

    /// The request asking for the state of a job the vendor acknowledged with `vendor_id`,
    /// or `None` when the vendor has no status API (then verification is out of band; see
    /// docs/vendors.md).
    fn status_request(&self, vendor_id: &str) -> anyhow::Result<Option<Request>> {
        let _ = vendor_id;
        Ok(None)
    }

    /// Read a 2xx answer to [`Adapter::status_request`]. Non-2xx answers are the caller's to
    /// classify (retry, auth) before calling this. `Err` means the body is not in the
    /// vendor's documented terms: the job's state is unknown.
    fn parse_status(&self, body: &[u8]) -> anyhow::Result<JobReport> {
        let _ = body;
        anyhow::bail!("{} has no status API", self.kind().info().name)
    }

    /// One request for the state of every deletion job of the account, where the vendor
    /// has such a list (Lytics `deletestatus/list`), so `status` need not ask per job.
    fn status_list_request(&self) -> anyhow::Result<Option<Request>> {
        Ok(None)
    }

    /// Read a 2xx answer to [`Adapter::status_list_request`]: the jobs it lists, by ID.
    /// `None` when the body is not a list this adapter can read (the caller falls back to
    /// asking per job). Entries it cannot read are left out.
    fn parse_status_list(&self, body: &[u8]) -> Option<Vec<(String, JobReport)>> {
        let _ = body;
        None
    }

    /// The read-only calls that prove what they can of the credentials and configuration
    /// without deleting anything (`cdp-purge check`), and what no call can prove.
    fn preflight(&self) -> anyhow::Result<Preflight> {
        Ok(Preflight {
            probes: Vec::new(),
            unchecked: vec![format!(
                "the credentials: {} offers no read-only call to prove them, so a refusal shows on the first batch (which stops the run)",
                self.kind().info().name
            )],
        })
    }

    /// What it means when the first identifiers of a run all failed permanently with
    /// `reason` (the systemic-failure breaker stops the run with this diagnosis). The
    /// default tells a refused permission from a configuration mistake by the vendor's
    /// words.
    fn systemic(&self, reason: &str) -> Diagnosis {
        let name = self.kind().info().name;
        if is_permission_message(reason) {
            Diagnosis {
                auth: true,
                hint: format!("{name} refused the permission: check the credentials' role"),
            }
        } else {
            Diagnosis {
                auth: false,
                hint: format!(
                    "check the target's settings: {name} rejected every identifier alike, which points at the configuration rather than the data"
                ),
            }
        }
    }
}

/// What a run-wide failure means, for the message that stops the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// A refused permission (exit 3) rather than a configuration mistake (exit 2).
    pub auth: bool,
    /// What to do about it.
    pub hint: String,
}

/// Words vendors use for a refused permission.
pub fn is_permission_message(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    [
        "permission",
        "not authorized",
        "not authorised",
        "unauthorized",
        "unauthorised",
        "forbidden",
        "access denied",
        "not allowed",
        "entity: delete",
        "insufficient scope",
    ]
    .iter()
    .any(|w| r.contains(w))
}

/// Where an acknowledged deletion job stands, as the vendor's status API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Not finished; the vendor's state name.
    Pending(String),
    /// Finished: the data is gone.
    Done,
    /// Finished without deleting; the vendor's state or error message.
    Failed(String),
}

/// A job's state and what else the vendor said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub state: JobState,
    /// The vendor's word for the state (`secondary`, `queued`, `reprocessed`, ...).
    pub vendor_state: Option<String>,
    /// When the vendor says the job completed (Hightouch `reprocessedAt`), if it says.
    pub completed_at: Option<String>,
    /// The vendor's run that completed it (Hightouch `reprocessedRunId`).
    pub vendor_run_id: Option<String>,
}

impl JobReport {
    pub fn new(state: JobState) -> Self {
        Self {
            state,
            vendor_state: None,
            completed_at: None,
            vendor_run_id: None,
        }
    }
    pub fn with_vendor_state(mut self, s: &str) -> Self {
        self.vendor_state = Some(s.chars().filter(|c| !c.is_control()).take(64).collect());
        self
    }
}

/// A secret value: never printed, not even by `Debug`. It remembers where it was read
/// from (the variable a config target names, a credentials file, a literal in the config),
/// so messages about it can name that place instead of the vendor's standard variable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    origin: Option<String>,
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self {
            value: s.into(),
            origin: None,
        }
    }
    /// A secret read from `origin` (a variable name, or a phrase such as
    /// "token in [targets.prod.secrets]").
    pub fn from_origin(s: impl Into<String>, origin: impl Into<String>) -> Self {
        Self {
            value: s.into(),
            origin: Some(origin.into()),
        }
    }
    pub fn expose(&self) -> &str {
        &self.value
    }
    /// Where it was read from, if recorded.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "Secret({o}: ***)"),
            None => f.write_str("Secret(***)"),
        }
    }
}

/// Parse a `Retry-After` value: delta-seconds or an HTTP-date. A date in the past means
/// "now" (zero); garbage gives `None` so the caller falls back to its backoff policy.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(1e9)));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Retry-After` header of a response, parsed.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, std::time::SystemTime::now())
}

/// The classification every vendor shares for statuses it does not treat specially.
/// 2xx is not handled here: the adapter decides what success means.
pub fn classify_common(kind: VendorKind, resp: &Response<'_>) -> Verdict {
    let s = resp.status;
    let snippet = error_message(resp.body);
    match s {
        408 | 425 | 429 | 500 | 502 | 503 | 504 => Verdict::Retry {
            throttled: s == 429,
            retry_after: if s == 429 || s == 503 {
                retry_after(resp.headers)
            } else {
                None
            },
            reason: format!(
                "HTTP {s}{}",
                snippet.map(|m| format!(": {m}")).unwrap_or_default()
            ),
        },
        401 | 403 => Verdict::Fatal {
            reason: format!(
                "{} refused the credentials (HTTP {s}{})",
                kind.info().name,
                snippet.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            hint: format!("check {}", kind.info().credentials.join(" and ")),
            auth: true,
        },
        400 | 422 => Verdict::Failed {
            reason: format!(
                "HTTP {s}{}",
                snippet.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            bisect: true,
        },
        s if (500..600).contains(&s) => Verdict::Retry {
            throttled: false,
            retry_after: None,
            reason: format!("HTTP {s}"),
        },
        _ => Verdict::Failed {
            reason: format!(
                "HTTP {s}{}",
                snippet.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            bisect: false,
        },
    }
}

/// A short message out of a vendor error body (every envelope [`wire::error_fields`]
/// reads), bounded in length. Vendors sometimes echo identifiers in messages; adapters for
/// those vendors must not pass this through without care.
pub fn error_message(body: &[u8]) -> Option<String> {
    let (_, m) = wire::error_fields(body);
    let mut m: String = m?.chars().filter(|c| !c.is_control()).take(200).collect();
    if m.trim().is_empty() {
        return None;
    }
    m.shrink_to_fit();
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn every_vendor_has_one_row_with_sane_caps() {
        use clap::ValueEnum;
        for k in VendorKind::value_variants() {
            let info = k.info();
            assert_eq!(info.kind, *k);
            assert!(info.default_batch >= 1 && info.default_batch <= info.max_batch);
            assert!(!info.credentials.is_empty());
        }
        assert_eq!(VENDORS.len(), VendorKind::value_variants().len());
    }

    #[test]
    fn registry_builds_the_adapter_for_each_vendor() {
        use crate::cli::{Environment, IdKind, Pod};
        use crate::settings::VendorParams;
        let params = |k: VendorKind| match k {
            VendorKind::Lytics => VendorParams::Lytics {
                table: "user".into(),
                field: "email".into(),
            },
            VendorKind::Mparticle => VendorParams::Mparticle {
                pod: Pod::Us1,
                environment: Environment::Development,
                identity_type: "mpid".into(),
            },
            VendorKind::Clevertap => VendorParams::Clevertap {
                region: "eu1".into(),
                id_kind: IdKind::Guid,
            },
            VendorKind::Segment => VendorParams::Segment {
                region: "us".into(),
                space: "spa_1".into(),
            },
            VendorKind::Hightouch => VendorParams::Hightouch {
                graph: "g".into(),
                block: true,
                path: "/api/v1/idr/{graph}/queue-for-reprocessing".into(),
            },
        };
        for info in VENDORS {
            let mut target = Target {
                name: info.id.into(),
                vendor: info.kind,
                base_url: info.default_base_url.into(),
                params: params(info.kind),
                credentials: info
                    .credentials
                    .iter()
                    .map(|&c| (c, Secret::new("x")))
                    .collect(),
                batch_size: info.default_batch,
            };
            let a = adapter(&target).expect("adapter");
            assert_eq!(a.kind(), info.kind);
            assert!(a.endpoint().contains(info.default_base_url));
            let has_status = a.status_request("id").expect("ok").is_some();
            assert_eq!(
                has_status,
                matches!(info.kind, VendorKind::Lytics | VendorKind::Hightouch)
            );
            if !has_status {
                assert!(a.parse_status(b"{}").is_err());
            }
            // Every listed credential is required.
            for &c in info.credentials {
                let saved = target.credentials.remove(c).expect("present");
                let err = adapter(&target).err().expect("missing credential");
                assert!(err.to_string().contains(c), "{err}");
                target.credentials.insert(c, saved);
            }
            // Params of another vendor are an internal error, not a panic.
            target.params = params(if info.kind == VendorKind::Lytics {
                VendorKind::Segment
            } else {
                VendorKind::Lytics
            });
            assert!(adapter(&target).is_err());
        }
    }

    #[test]
    fn request_debug_hides_path_body_and_headers() {
        let r = Request {
            method: reqwest::Method::POST,
            url: "https://profiles.segment.com/v1/spaces/s/collections/users/profiles/user_id:alice%40x.com/external_ids/delete".into(),
            headers: vec![(
                reqwest::header::AUTHORIZATION,
                reqwest::header::HeaderValue::from_static("Basic c2VjcmV0Og=="),
            )],
            body: br#"{"id":"alice@x.com"}"#.to_vec(),
        };
        let d = format!("{r:?}");
        assert!(d.contains("https://profiles.segment.com"), "{d}");
        for leak in ["alice", "c2VjcmV0", "user_id:"] {
            assert!(!d.contains(leak), "{leak} leaked in {d}");
        }
    }

    #[test]
    fn permission_words() {
        assert!(is_permission_message(
            "Token lacks the Entity: Delete permission"
        ));
        assert!(is_permission_message("403 Forbidden"));
        assert!(is_permission_message("Not authorized to delete entities"));
        assert!(!is_permission_message("field emial does not exist"));
        assert!(!is_permission_message("no profile with that user_id"));
        assert!(!is_permission_message(
            "Invalid request. The identity type(s) must be unique. Please check your identity settings"
        ));
    }

    #[test]
    fn retry_after_both_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        let _ = SystemTime::now();
    }
}
