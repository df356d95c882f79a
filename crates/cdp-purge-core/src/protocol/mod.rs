//! The protocol between the engine and the vendor adapters: the facts a vendor row gives
//! ([`VendorSpec`], [`Quota`], [`Rate`]), the [`Adapter`] trait the adapters implement, and
//! the values that cross it ([`Request`], [`Response`], [`Verdict`], [`JobReport`]). The
//! engine, the ledger and `status` work from these alone; which vendors exist is the
//! adapters' business.

use std::fmt;
use std::time::Duration;

use crate::batch::{Batch, Item};

pub mod answer;
pub mod preflight;

pub use preflight::{Finding, Preflight, Probe};

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
        let secs = self.per.as_secs_f64();
        if self.per == Duration::from_secs(1) {
            write!(f, "{}/s", self.count)
        } else if self.per.subsec_nanos() == 0
            && secs >= 86_400.0
            && self.per.as_secs().is_multiple_of(86_400)
        {
            write!(f, "{} per {} days", self.count, self.per.as_secs() / 86_400)
        } else if self.per.subsec_nanos() == 0
            && secs >= 60.0
            && self.per.as_secs().is_multiple_of(60)
        {
            write!(f, "{} per {} min", self.count, self.per.as_secs() / 60)
        } else {
            write!(f, "{} per {}s", self.count, secs)
        }
    }
}

/// `N/DURATION` (`110000/30d`, `20000/1m`, `1/1s`): a quota over any window from one
/// second to 30 days, for `--max-per-window` and `max_per_window` in the config.
impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "expected N/DURATION, e.g. 110000/30d, 20000/1m or 1/1s";
        let (n, per) = s.split_once('/').ok_or_else(|| format!("{s:?}: {hint}"))?;
        let count: u32 = n
            .trim()
            .replace('_', "")
            .parse()
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| format!("{s:?}: the count must be a whole number above 0 ({hint})"))?;
        let per =
            humantime::parse_duration(per.trim()).map_err(|e| format!("{s:?}: {e} ({hint})"))?;
        if per < Duration::from_secs(1) || per > Duration::from_secs(30 * 86_400) {
            return Err(format!("{s:?}: the window must be from 1s to 30d ({hint})"));
        }
        Ok(Rate { count, per })
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
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

/// One vendor's facts (see ../shared/vendor-apis.md): what the engine, `plan`, `vendors`
/// and `status` need to know about a vendor, as data. The adapters crate holds one row per
/// vendor; the core names a vendor by [`VendorSpec::id`] only.
#[derive(Debug, serde::Serialize)]
pub struct VendorSpec {
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
    /// How `status` follows an accepted deletion.
    #[serde(skip)]
    pub status: StatusSupport,
    /// How a deleted profile comes back (for the report), when the vendor documents it.
    #[serde(skip)]
    pub reingestion: Option<&'static str>,
    /// For vendors without a status API: what an accepted deletion means and when it is done.
    #[serde(skip)]
    pub accepted_means: Option<&'static str>,
}

/// How `status` follows up on what a vendor accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSupport {
    /// A status API for the jobs the vendor acknowledged (Lytics, Hightouch).
    Jobs,
    /// No job API, but profiles can be looked up: gone where the vendor documents a "not
    /// found" (mParticle by MPID, Segment by the profile's external ids), still there (or
    /// back) everywhere (also mParticle by resolved identity, CleverTap after its 24-hour
    /// delay); `by` names the usual lookup key (`mpid`, `user_id`, `identity`).
    Lookup { by: &'static str },
    /// Nothing to ask: the acceptance is all there is.
    None,
}

/// An HTTP request an adapter wants sent. Header values may hold secrets: the engine never
/// logs them.
#[derive(Clone)]
pub struct Request {
    pub method: reqwest::Method,
    /// Full URL (the adapter joins its base URL and path). May hold personal data (Segment
    /// puts the lookup user_id in the path): never log it.
    pub url: String,
    pub headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    /// Shared, not copied, by each attempt's builder (a retried request sends it again).
    pub body: bytes::Bytes,
}

impl Request {
    /// The request as reqwest sends it: one builder for the engine's deliveries and the
    /// status polls alike.
    pub fn builder(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut rb = match parsed(&self.url) {
            Some(url) => client.request(self.method.clone(), url),
            // reqwest reports the unparsable URL when the request is sent.
            None => client.request(self.method.clone(), &self.url),
        }
        .body(self.body.clone());
        for (k, v) in &self.headers {
            rb = rb.header(k, v);
        }
        rb
    }
}

/// `url` parsed, through a one-entry cache per thread: a run sends every deletion to the
/// same URL (all but Segment's, whose path holds the identifier), and parsing it again for
/// each request (with IDNA host processing) was 3% of a run's CPU.
fn parsed(url: &str) -> Option<reqwest::Url> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(String, reqwest::Url)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.try_borrow_mut().ok()?;
        if let Some((s, u)) = last.as_ref()
            && s == url
        {
            return Some(u.clone());
        }
        let u = reqwest::Url::parse(url).ok()?;
        *last = Some((url.to_owned(), u.clone()));
        Some(u)
    })
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
    /// The vendor answered, but its answer proves neither that the deletion happened nor
    /// that it did not (Braze's count short of the request; a 2xx without the documented
    /// body). Not a success: the run exits non-zero and the report says `unknown`.
    Unknown,
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

/// What a lookup said about an item's profile ([`Adapter::resolve_request`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The value to find the profile by (Segment: the one `user_id`).
    Found(String),
    /// The vendor's documented "no such profile": the row is `not_found`.
    Absent(String),
    /// An answer that cannot be acted on (several profiles, an undocumented shape): the
    /// row is refused with this reason, and nothing is deleted.
    Refused(String),
    /// Retry, stop the run, or a failure of the lookup request itself.
    Again(Verdict),
}

/// A vendor adapter: request building and response classification, nothing else.
pub trait Adapter: Send + Sync {
    /// The vendor's facts row.
    fn spec(&self) -> &'static VendorSpec;
    /// Build the request for a batch (including auth headers).
    fn build(&self, batch: &Batch) -> anyhow::Result<Request>;
    /// Classify the vendor's answer.
    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict;
    /// Identifiers of the account/workspace for the ledger header (never secrets).
    fn account(&self) -> Vec<(String, String)>;
    /// The endpoint for the ledger header, without personal data.
    fn endpoint(&self) -> String;

    /// A lookup that must answer before `item` can be deleted (Segment with
    /// `--lookup-type`: the profile's `user_id` from an email), or `None`. It is paced with
    /// the deletions, against the same quota.
    fn resolve_request(&self, item: &Item) -> anyhow::Result<Option<Request>> {
        let _ = item;
        Ok(None)
    }

    /// Read the answer to [`Adapter::resolve_request`].
    fn classify_resolve(&self, item: &Item, resp: &Response<'_>) -> Resolution {
        let _ = (item, resp);
        Resolution::Refused(format!("{} resolves nothing", self.spec().name))
    }

    /// Build the deletion of a one-item batch whose lookup resolved to `found`.
    fn build_resolved(&self, batch: &Batch, found: &str) -> anyhow::Result<Request> {
        let _ = found;
        self.build(batch)
    }

    /// What the user must hear before anything is sent to this destination (data that
    /// would bring the profiles back, a setting that weakens the deletion).
    /// `source_data_deleted`: the user said the source rows are already gone.
    fn warnings_before_send(&self, source_data_deleted: bool) -> Vec<&'static str> {
        let _ = source_data_deleted;
        Vec::new()
    }

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
        anyhow::bail!("{} has no status API", self.spec().name)
    }

    /// [`Adapter::parse_status`] knowing which job was asked about, for vendors whose status
    /// answer covers more than one job (Amplitude's job list by day, Iterable's list of
    /// forgotten users).
    fn parse_status_of(&self, vendor_id: &str, body: &[u8]) -> anyhow::Result<JobReport> {
        let _ = vendor_id;
        self.parse_status(body)
    }

    /// Whether [`Adapter::status_list_request`] lists every job the vendor has finished, so
    /// a job missing from a readable list is still pending (Iterable: not yet forgotten)
    /// rather than one to ask about alone.
    fn status_list_complete(&self) -> bool {
        false
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
                self.spec().name
            )],
        })
    }

    /// What it means when the first identifiers of a run all failed permanently with
    /// `reason` (the systemic-failure breaker stops the run with this diagnosis). The
    /// default tells a refused permission from a configuration mistake by the vendor's
    /// words.
    fn systemic(&self, reason: &str) -> Diagnosis {
        let name = self.spec().name;
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
pub fn classify_common(spec: &VendorSpec, resp: &Response<'_>) -> Verdict {
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
                spec.name,
                snippet.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            hint: format!("check {}", spec.credentials.join(" and ")),
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
        // Never followed (see `engine::client_builder`): nothing was done here, and every
        // request to this endpoint would be sent elsewhere alike, so the run stops.
        300..=399 => Verdict::Fatal {
            reason: format!(
                "{} answered HTTP {s}, a redirect{}; it is not followed: only the endpoint's \
                 own answer proves a deletion",
                spec.name,
                location_origin(resp.headers)
                    .map(|o| format!(" to {o}"))
                    .unwrap_or_default()
            ),
            hint: "check --base-url and the pod or region; a proxy that redirects requests \
                   must let them through"
                .into(),
            auth: false,
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

/// Where a redirect points, as its origin only (`https://host:port`): a path or query could
/// carry an identifier.
fn location_origin(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let loc = headers.get(reqwest::header::LOCATION)?.to_str().ok()?;
    // A relative location does not parse; a scheme without a host has the opaque origin.
    origin(loc).filter(|o| o != "null")
}

/// A short message out of a vendor error body (every envelope [`error_fields`]
/// reads), bounded in length. Vendors sometimes echo identifiers in messages; adapters for
/// those vendors must not pass this through without care.
pub fn error_message(body: &[u8]) -> Option<String> {
    let (_, m) = error_fields(body);
    let mut m: String = m?.chars().filter(|c| !c.is_control()).take(200).collect();
    if m.trim().is_empty() {
        return None;
    }
    m.shrink_to_fit();
    Some(m)
}

impl ItemOutcome {
    pub fn new(class: OutcomeClass) -> Self {
        Self {
            class,
            vendor_id: None,
            message: None,
        }
    }
    pub fn acknowledged(vendor_id: Option<String>) -> Self {
        Self {
            vendor_id,
            ..Self::new(OutcomeClass::Acknowledged)
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(OutcomeClass::Invalid).with_message(message)
    }
    /// An answer that proves nothing either way, with what it said.
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(OutcomeClass::Unknown).with_message(message)
    }
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// The `code` and `message` of an error body, raw (not scrubbed). Every envelope the
/// vendors document is read, first match wins:
/// - `{"errors":[{"code","message"}]}`: mParticle's s2s APIs and Lytics `/v2` endpoints;
/// - `{"error":{"code","message"}}`: Segment's Profile API;
/// - a top-level `{"code","message"}` (Segment, Lytics `/api`, Hightouch);
/// - `{"error":"…"}` (a bare string; CleverTap) and OAuth's `error_description`.
///
/// A numeric `code` is kept as its text.
pub fn error_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => error_fields_of(&v),
        Err(_) => (None, None),
    }
}

/// [`error_fields`] of an already parsed body.
pub fn error_fields_of(v: &serde_json::Value) -> (Option<String>, Option<String>) {
    let text = |x: Option<&serde_json::Value>| match x {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    // The first entry of an `errors` array that says anything.
    let first = v.get("errors").and_then(|e| e.as_array()).and_then(|a| {
        a.iter()
            .find(|e| text(e.get("message")).is_some() || e.is_string())
            .or_else(|| a.first())
    });
    let (ecode, emsg) = match first {
        Some(serde_json::Value::String(s)) => (None, Some(s.clone())),
        Some(e) => (
            text(e.get("code")),
            text(e.get("message")).or_else(|| text(e.get("detail"))),
        ),
        None => (None, None),
    };
    let code = ecode
        .or_else(|| text(v.pointer("/error/code")))
        .or_else(|| {
            // A top-level numeric `code`/`status` beside a message is an HTTP status
            // echo, not a vendor code.
            v.get("code").and_then(|c| c.as_str()).map(str::to_owned)
        });
    let message = emsg
        .or_else(|| text(v.pointer("/error/message")))
        .or_else(|| text(v.get("message")))
        .or_else(|| text(v.get("error")))
        .or_else(|| text(v.get("error_description")));
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn each_request_goes_to_its_own_url_through_the_parse_cache() {
        let client = reqwest::Client::new();
        let to = |url: &str| {
            Request {
                method: reqwest::Method::POST,
                url: url.into(),
                headers: Vec::new(),
                body: Default::default(),
            }
            .builder(&client)
            .build()
            .map(|r| r.url().to_string())
        };
        let a = "https://s2s.mparticle.com/userprofile/bulkdelete";
        let b = "https://profiles.segment.com/v1/spaces/s/collections/users/profiles/user_id:b/external_ids/delete";
        for url in [a, a, b, a, b, b] {
            assert_eq!(to(url).ok().as_deref(), Some(url));
        }
        // Unparsable: the error reqwest gives, not a request to the last good URL.
        assert!(to("not a url").is_err());
        assert!(to("http://").is_err());
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
            body: br#"{"id":"alice@x.com"}"#.to_vec().into(),
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
    fn per_window_quotas_parse_from_one_second_to_thirty_days() {
        let r: Rate = "110000/30d".parse().unwrap();
        assert_eq!(
            (r.count, r.per),
            (110_000, Duration::from_secs(30 * 86_400))
        );
        assert_eq!(r.to_string(), "110000 per 30 days");
        let r: Rate = "20_000/1m".parse().unwrap();
        assert_eq!(r.to_string(), "20000 per 1 min");
        assert_eq!("1/1s".parse::<Rate>().unwrap(), Rate::per_second(1));
        for bad in [
            "",
            "5",
            "0/1s",
            "-1/1s",
            "1/500ms",
            "1/31d",
            "x/1s",
            "1/forever",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
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
