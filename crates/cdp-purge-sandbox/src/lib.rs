//! A local fake of every supported vendor, for tests, benchmarks and `cdp-purge sandbox`.
//!
//! It answers like the real APIs described in `vendor-apis.md` (routes, auth, validation,
//! bodies, quotas) and misbehaves on request like a real network: 429s with every flavour
//! of `Retry-After`, 5xx, resets, truncated and dripping bodies, hangs, and outages.
//!
//! Magic values, so tests can provoke vendor behaviour without configuration:
//! - Lytics: `""`, `"null"`, `"0"`, `"NaN"` and values containing `invalid` land in
//!   `errors`; values containing [`SandboxConfig::lytics_stuck_marker`] never leave
//!   `secondary`.
//! - Segment: a lookup user_id containing `unknown` is 404 `not_found`; spaces in
//!   [`SandboxConfig::segment_inactive_spaces`] are 403.
//! - Hightouch: graphs in [`SandboxConfig::hightouch_unknown_graphs`] are 404; a request
//!   with a value containing `htfail` ends `failed`.
//!
//! Every request is recorded ([`Sandbox::log`]) with whether the deletion was applied, so a
//! test can check that a retried batch was deleted once, or at all.

mod facts;
mod faults;
mod http;
mod quota;
mod server;
mod state;
mod vendors;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use faults::{FAULT_SPEC_HELP, Fault, FaultPlan, FaultSpecError, RetryAfter};
pub use quota::{Competing, SlidingWindow};

pub use facts::{Quota, Rate, VendorKind};
use state::Shared;

/// The secrets the sandbox expects. The defaults are printed by `cdp-purge sandbox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub lytics_token: String,
    pub mparticle_key: String,
    pub mparticle_secret: String,
    pub clevertap_account_id: String,
    pub clevertap_passcode: String,
    pub segment_token: String,
    pub hightouch_api_key: String,
    pub amplitude_api_key: String,
    pub amplitude_secret_key: String,
    pub iterable_api_key: String,
    pub posthog_personal_api_key: String,
    pub segment_public_api_token: String,
    pub mixpanel_gdpr_token: String,
    pub mixpanel_project_token: String,
    pub braze_api_key: String,
    /// mParticle's Profile API credential (OAuth client credentials), which is not the
    /// bulk-deletion key: `status --verify` and `--recheck` use it.
    pub mparticle_client_id: String,
    pub mparticle_client_secret: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            lytics_token: "sandbox-token".into(),
            mparticle_key: "sandbox-key".into(),
            mparticle_secret: "sandbox-secret".into(),
            clevertap_account_id: "sandbox-account".into(),
            clevertap_passcode: "sandbox-passcode".into(),
            segment_token: "sandbox-token".into(),
            hightouch_api_key: "sandbox-token".into(),
            amplitude_api_key: "sandbox-key".into(),
            amplitude_secret_key: "sandbox-secret".into(),
            iterable_api_key: "sandbox-key".into(),
            posthog_personal_api_key: "phx_sandbox".into(),
            segment_public_api_token: "sandbox-token".into(),
            mixpanel_gdpr_token: "sandbox-token".into(),
            mixpanel_project_token: "sandbox-project".into(),
            braze_api_key: "sandbox-token".into(),
            mparticle_client_id: "sandbox-client-id".into(),
            mparticle_client_secret: "sandbox-client-secret".into(),
        }
    }
}

impl Credentials {
    /// `KEY=VALUE` lines in the format of `--credentials-file` (the names the vendor
    /// table documents).
    pub fn env_lines(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("LYTICS_API_TOKEN", &self.lytics_token),
            ("MPARTICLE_API_KEY", &self.mparticle_key),
            ("MPARTICLE_API_SECRET", &self.mparticle_secret),
            ("CLEVERTAP_ACCOUNT_ID", &self.clevertap_account_id),
            ("CLEVERTAP_PASSCODE", &self.clevertap_passcode),
            ("SEGMENT_TOKEN", &self.segment_token),
            ("HIGHTOUCH_API_KEY", &self.hightouch_api_key),
            ("AMPLITUDE_API_KEY", &self.amplitude_api_key),
            ("AMPLITUDE_SECRET_KEY", &self.amplitude_secret_key),
            ("ITERABLE_API_KEY", &self.iterable_api_key),
            ("POSTHOG_PERSONAL_API_KEY", &self.posthog_personal_api_key),
            ("SEGMENT_PUBLIC_API_TOKEN", &self.segment_public_api_token),
            ("MIXPANEL_GDPR_TOKEN", &self.mixpanel_gdpr_token),
            ("MIXPANEL_PROJECT_TOKEN", &self.mixpanel_project_token),
            ("BRAZE_API_KEY", &self.braze_api_key),
        ]
    }

    /// The credentials of the vendors' lookup APIs (used to verify, never to delete), by
    /// the variable names `status` reads.
    pub fn lookup_env_lines(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("MPARTICLE_CLIENT_ID", &self.mparticle_client_id),
            ("MPARTICLE_CLIENT_SECRET", &self.mparticle_client_secret),
        ]
    }
}

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub credentials: Credentials,
    /// Answer 429 past each vendor's quota, counted over every sliding window (exact).
    pub enforce_quota: bool,
    /// Replace a vendor's documented quota (e.g. Segment 10 req/s to test pacing quickly).
    /// Vendors without an entry keep [`default_quota`].
    pub quota_override: BTreeMap<VendorKind, Quota>,
    pub faults: FaultPlan,
    /// Another caller sharing every quota (`--competing-rate`): only with `enforce_quota`.
    pub competing: Option<CompetingLoad>,
    /// Time per Lytics deletion state (initial → primary → archive → secondary → done).
    pub lytics_state_step: Duration,
    /// Lytics values containing this never get past `secondary`.
    pub lytics_stuck_marker: String,
    /// Time per Hightouch status (queueing → queued → reprocessed).
    pub hightouch_state_step: Duration,
    /// Hightouch graph IDs that do not exist (404).
    pub hightouch_unknown_graphs: Vec<String>,
    /// External-id types Segment accepts; others are 400 `unsupported_eid_type`.
    pub segment_types: Vec<String>,
    /// Segment spaces without the deletion feature (403 "not activated").
    pub segment_inactive_spaces: Vec<String>,
    /// mParticle identity types configured as unique; others are refused with 400.
    pub mparticle_unique_identities: Vec<String>,
    /// Time every vendor request takes before its answer (holds it in flight, which is
    /// what makes CleverTap's concurrency limit observable).
    pub latency: Duration,
    /// Time a new connection spends before its first request is read (a TLS handshake's
    /// round trips in production): that request reaches the vendor, and is counted against
    /// its quota, this much after it left. Requests on an open connection do not wait.
    pub handshake: Duration,
    /// Lytics tokens that may read but not delete (no *Entity: Delete*): every value of a
    /// bulk deletion comes back under `errors` with `lytics_permission_message`.
    pub lytics_read_only_tokens: Vec<String>,
    pub lytics_permission_message: String,
    /// The identity fields of every Lytics table. A bulk deletion by another field puts
    /// every value under `errors` with `lytics_field_message` (`{field}` replaced).
    pub lytics_identity_fields: Vec<String>,
    pub lytics_field_message: String,
    /// Shapes of Lytics answers its pages do not show.
    pub lytics_status_shape: LyticsStatusShape,
    pub lytics_list_shape: LyticsListShape,
    pub lytics_idconfig_shape: LyticsIdConfigShape,
    /// mParticle's error body, which its bulk deletion page does not show.
    pub mparticle_errors: MparticleErrors,
    /// The Segment spaces that exist (`None`: any space does), and what the Profile API
    /// answers for one that does not (not documented).
    pub segment_spaces: Option<Vec<String>>,
    pub segment_wrong_space: SegmentWrongSpace,
    /// Real time per day of Amplitude's job calendar (a job is staged three days, then
    /// submitted, then done). [`Sandbox::advance`] moves the calendar without waiting.
    pub amplitude_day: Duration,
    /// How long Iterable takes to list a forgotten user ("up to ten minutes").
    pub iterable_forget_delay: Duration,
    /// Which identifier an Iterable project forgets by.
    pub iterable_project_type: IterableProjectType,
    /// PostHog's hourly quota beside the per-minute one (`None`: not enforced).
    pub posthog_hourly: Option<Rate>,
    /// Personal API keys PostHog knows without the `person:write` scope (403).
    pub posthog_read_only_keys: Vec<String>,
    /// Time per Segment regulation status (INITIALIZED → RUNNING → terminal).
    pub segment_regs_state_step: Duration,
    /// Segment sources that do not exist (404 on a source-scoped regulation).
    pub segment_regs_unknown_sources: Vec<String>,
    /// Time per Mixpanel deletion task status (PENDING → STAGING → STARTED → SUCCESS).
    pub mixpanel_state_step: Duration,
    /// How Mixpanel answers a new task that names ids already pending (not documented by
    /// Mixpanel; seen in rudder-transformer #5578).
    pub mixpanel_conflict: MixpanelConflict,
    /// Which of Mixpanel's two documented "task created" bodies to answer.
    pub mixpanel_created: MixpanelCreated,
    /// Data groups of the Mixpanel project: the per-request cap falls to
    /// floor(2000 / (groups + 1)) (shared research, not on the reference page).
    pub mixpanel_data_groups: u32,
}

/// Iterable project types (support.iterable.com 360029174171): email-based projects forget
/// by `email` only, userID-based ones by `userId` only, hybrid ones by either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterableProjectType {
    EmailBased,
    UserIdBased,
    Hybrid,
}

/// Mixpanel's 409 for distinct_ids that already have a deletion task running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixpanelConflict {
    /// `{"status":"error","error",…,"conflicting_distinct_ids":[…]}`: the request created
    /// nothing and names the ids in the way.
    NamesIds,
    /// `{"status":"error","error"}` only: which ids are in the way is not said.
    Bare,
}

/// The body of a created Mixpanel deletion task: the OpenAPI's `JobCreated`
/// (`{"status":"ok","results":{"task_id"}}`, 201) or the reference page's example
/// (`{"status":"ok","results":[{"tracking_id","status":"PENDING",…}]}`, 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixpanelCreated {
    TaskId,
    TrackingList,
}

/// The body of `GET /v2/identity/deletestatus/{id}`. Seed 003 names `state` and `completed`
/// without a schema; the identity-deletion page uses other words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LyticsStatusShape {
    /// `{"data":{"request_id","state","completed"}}`, Lytics' usual envelope.
    Data,
    /// `{"request_id","state","completed"}` without the envelope.
    Bare,
    /// `{"data":{"request_id","status"}}` with pending / in_progress / completed.
    IdentityPage,
}

/// The body of `GET /v2/identity/deletestatus/list`, which seed 003 names without a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LyticsListShape {
    /// `{"data":[{"request_id","state","completed"}, ...]}`.
    Array,
    /// `{"data":{"<request_id>":{"state","completed"}, ...}}`.
    Map,
    /// 404: the account has no such list.
    Absent,
}

/// The body of `GET /v2/schema/{table}/idconfig` (no published shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LyticsIdConfigShape {
    /// `{"data":{"table","fields":[...]}}`.
    FieldList,
    /// `{"data":[{"field","rank"}, ...]}`.
    Ranked,
    /// `{"data":{"<field>":{"rank"}, ...}}`.
    Keyed,
}

/// mParticle's error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MparticleErrors {
    /// `{"errors":[{"code","message"}]}`, as its sibling s2s APIs answer.
    ErrorsArray,
    /// `{"message"}`.
    Message,
}

/// What Segment answers for a space the token does not belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentWrongSpace {
    /// 404 `not_found` "The resource was not found": like an unknown profile.
    ResourceNotFound,
    /// 404 `not_found` "Profile was not found.": exactly the documented unknown-profile
    /// answer, so nothing tells them apart.
    ProfileNotFound,
    /// 404 `not_found` naming the space.
    SpaceNotFound,
    /// 403 `forbidden` naming the space.
    Forbidden,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Self {
            port: 0,
            credentials: Credentials::default(),
            enforce_quota: true,
            quota_override: BTreeMap::new(),
            faults: FaultPlan::none(),
            competing: None,
            lytics_state_step: Duration::from_secs(2),
            lytics_stuck_marker: "stuck".into(),
            hightouch_state_step: Duration::from_secs(2),
            hightouch_unknown_graphs: strings(&["missing"]),
            segment_types: strings(&["email", "anonymous_id", "user_id", "phone", "ios.idfa"]),
            segment_inactive_spaces: strings(&["spa_notactivated"]),
            mparticle_unique_identities: strings(&[
                "customerid",
                "email",
                "mobile_number",
                "other",
                "other_id_2",
                "other_id_3",
                "other_id_4",
                "phone_number_2",
                "phone_number_3",
            ]),
            latency: Duration::ZERO,
            handshake: Duration::ZERO,
            lytics_read_only_tokens: strings(&["sandbox-read-only-token"]),
            lytics_permission_message:
                "permission denied: token lacks the Entity: Delete permission".into(),
            lytics_identity_fields: strings(&["email", "_uid", "user_id", "member_id", "phone"]),
            lytics_field_message: "field {field} is not an identity field".into(),
            lytics_status_shape: LyticsStatusShape::Data,
            lytics_list_shape: LyticsListShape::Array,
            lytics_idconfig_shape: LyticsIdConfigShape::FieldList,
            mparticle_errors: MparticleErrors::ErrorsArray,
            segment_spaces: None,
            segment_wrong_space: SegmentWrongSpace::ResourceNotFound,
            amplitude_day: Duration::from_secs(2),
            iterable_forget_delay: Duration::from_secs(2),
            iterable_project_type: IterableProjectType::Hybrid,
            posthog_hourly: Some(Rate {
                count: 1200,
                per: Duration::from_secs(3600),
            }),
            posthog_read_only_keys: strings(&["phx_read_only"]),
            segment_regs_state_step: Duration::from_secs(2),
            segment_regs_unknown_sources: strings(&["missing"]),
            mixpanel_state_step: Duration::from_secs(2),
            mixpanel_conflict: MixpanelConflict::NamesIds,
            mixpanel_created: MixpanelCreated::TaskId,
            mixpanel_data_groups: 0,
        }
    }
}

impl SandboxConfig {
    /// Replace one vendor's quota.
    pub fn with_quota(mut self, vendor: VendorKind, quota: Quota) -> Self {
        self.quota_override.insert(vendor, quota);
        self
    }

    /// The quota the sandbox enforces for `vendor`.
    pub fn quota(&self, vendor: VendorKind) -> Quota {
        self.quota_override
            .get(&vendor)
            .copied()
            .unwrap_or_else(|| default_quota(vendor))
    }
}

/// Another caller's load on the sandbox's quotas, from the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompetingLoad {
    /// Units per second of each vendor's quota (items for mParticle, requests for the
    /// vendors that count requests), taken from every quota window.
    pub rate: f64,
    /// It stops after this long (`None`: never).
    pub stop_after: Option<Duration>,
}

/// The quota the sandbox enforces by default: the vendor's documented one, and none where
/// the vendor documents none (Lytics).
pub fn default_quota(vendor: VendorKind) -> Quota {
    vendor.documented_quota()
}

/// One request the sandbox received.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub at: Instant,
    /// `None` for a path no vendor serves.
    pub vendor: Option<VendorKind>,
    pub method: String,
    /// Path without the query, percent-encoded as sent.
    pub path: String,
    /// `None` when no status line was sent (reset, hang).
    pub status: Option<u16>,
    /// Identifiers in the request (profiles, values, external ids).
    pub items: usize,
    /// The identifier values, best effort (mpid, identity values, Lytics values, ...).
    pub values: Vec<String>,
    /// xxh3 of the request body.
    pub body_hash: u64,
    pub fault: Option<Fault>,
    /// The deletion took effect (also when the response was then lost).
    pub applied: bool,
}

/// The most requests (or, with `items`, identifiers) `vendor` received in any window of
/// length `window`: what an engine test compares with the quota.
pub fn peak(records: &[RequestRecord], vendor: VendorKind, window: Duration, items: bool) -> u64 {
    let mut events: Vec<(Instant, u64)> = records
        .iter()
        .filter(|r| r.vendor == Some(vendor))
        .map(|r| (r.at, if items { r.items as u64 } else { 1 }))
        .collect();
    events.sort_by_key(|e| e.0);
    let (mut start, mut sum, mut peak) = (0, 0, 0);
    for &(at, weight) in &events {
        sum += weight;
        while at.duration_since(events[start].0) >= window {
            sum -= events[start].1;
            start += 1;
        }
        peak = peak.max(sum);
    }
    peak
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    /// The server's own thread and runtime, for [`Sandbox::start_blocking`].
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sandbox {
    /// Bind 127.0.0.1:`cfg.port` and serve on the current tokio runtime.
    pub async fn start(cfg: SandboxConfig) -> io::Result<Sandbox> {
        let (addr, shared, stop, serve) = server::bind(cfg).await?;
        tokio::spawn(serve);
        Ok(Sandbox {
            addr,
            shared,
            stop,
            thread: None,
        })
    }

    /// Start on a thread of its own with its own runtime, for synchronous tests (e.g.
    /// driving the real binary with `assert_cmd`). Stops when dropped.
    pub fn start_blocking(cfg: SandboxConfig) -> io::Result<Sandbox> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cdp-purge-sandbox".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => return drop(tx.send(Err(e))),
                };
                rt.block_on(async move {
                    match server::bind(cfg).await {
                        Ok((addr, shared, stop, serve)) => {
                            let _ = tx.send(Ok((addr, shared, stop)));
                            serve.await;
                        }
                        Err(e) => drop(tx.send(Err(e))),
                    }
                });
            })?;
        let (addr, shared, stop) = rx
            .recv()
            .map_err(|_| io::Error::other("the sandbox thread died while starting"))??;
        Ok(Sandbox {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, to pass as the client's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn credentials(&self) -> &Credentials {
        &self.shared.cfg.credentials
    }

    /// Every request received so far, in the order received.
    pub fn log(&self) -> Vec<RequestRecord> {
        let mut log = self.shared.log.lock().expect("log lock").clone();
        // Records are written when the answer is decided; with latency or concurrency
        // that order can differ from arrival.
        log.sort_by_key(|r| r.at);
        log
    }

    /// Forget the requests received so far (long benchmarks).
    pub fn clear_log(&self) {
        self.shared.log.lock().expect("log lock").clear();
    }

    /// Queue a fault for the next request (to `vendor`, or to any vendor), after the
    /// faults already scripted.
    pub fn push_fault(&self, vendor: Option<VendorKind>, fault: Fault) {
        self.shared
            .faults
            .lock()
            .expect("faults lock")
            .push(vendor, fault);
    }

    /// From now on another caller takes `rate` units per second of every quota (0 stops it).
    pub fn set_competing(&self, rate: f64) {
        self.shared.set_competing(rate);
    }

    /// What the other caller got through so far, summed over every quota window.
    pub fn competitor_taken(&self) -> u64 {
        self.shared.competitor_taken()
    }

    /// Refuse connections (and reset open ones at their next request) for `d`.
    pub fn go_unreachable(&self, d: Duration) {
        self.shared.go_down(d);
    }

    /// Move the vendors' clocks forward by `d` without waiting: job calendars and states
    /// (Amplitude, Iterable, Segment regulations, Mixpanel) and the quota windows, so a test
    /// of a 30-day quota need not wait 30 days (with a competing load, which plays on the
    /// real clock, the windows keep real time).
    pub fn advance(&self, d: Duration) {
        self.shared.advance(d);
    }

    /// Re-create deleted profiles, as a vendor does when source data or a replay brings a
    /// person back: the next lookup finds them again. `values` are what was deleted (an
    /// mParticle MPID, a Segment external id value). Returns how many came back.
    pub fn recreate(&self, vendor: VendorKind, values: &[&str]) -> usize {
        self.shared.recreate(vendor, values)
    }

    /// Stop serving: close the listener and every connection. Same as dropping.
    pub fn shutdown(self) {}
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at: Instant, vendor: VendorKind, items: usize) -> RequestRecord {
        RequestRecord {
            at,
            vendor: Some(vendor),
            method: "POST".into(),
            path: "/".into(),
            status: Some(202),
            items,
            values: Vec::new(),
            body_hash: 0,
            fault: None,
            applied: true,
        }
    }

    #[test]
    fn default_quotas_are_the_documented_ones() {
        let q = default_quota;
        assert_eq!(q(VendorKind::Mparticle).items, Some(Rate::per_second(1500)));
        assert_eq!(q(VendorKind::Segment).requests, Some(Rate::per_second(100)));
        assert_eq!(q(VendorKind::Clevertap).in_flight, Some(3));
        let ht = q(VendorKind::Hightouch).requests.unwrap();
        assert_eq!((ht.count, ht.per), (200, Duration::from_secs(10)));
        // Lytics publishes none; a client's conservative default is not a vendor limit.
        assert_eq!(q(VendorKind::Lytics), Quota::NONE);
    }

    #[test]
    fn peak_finds_the_busiest_window_of_one_vendor() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let m = VendorKind::Mparticle;
        let log = [
            rec(t0, m, 100),
            rec(t0 + ms(600), m, 100),
            rec(t0 + ms(900), VendorKind::Segment, 1),
            rec(t0 + ms(1000), m, 50), // the first one just left this window
            rec(t0 + ms(1500), m, 100),
        ];
        let sec = Duration::from_secs(1);
        assert_eq!(peak(&log, m, sec, true), 250);
        assert_eq!(peak(&log, m, sec, false), 3);
        assert_eq!(peak(&log, VendorKind::Segment, sec, false), 1);
        assert_eq!(peak(&log, VendorKind::Lytics, sec, false), 0);
    }
}
