//! Routing and the pieces every fake vendor shares: error shapes, auth parsing, identifier
//! extraction for the request log.

pub(crate) mod amplitude;
pub(crate) mod braze;
pub(crate) mod clevertap;
pub(crate) mod hightouch;
pub(crate) mod iterable;
pub(crate) mod lytics;
pub(crate) mod mixpanel;
pub(crate) mod mparticle;
pub(crate) mod mparticle_profile;
pub(crate) mod posthog;
pub(crate) mod segment;
pub(crate) mod segment_regs;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

use super::MparticleErrors;
use super::http::{Request, Response};
use super::state::Shared;
use crate::facts::VendorKind;

/// A vendor endpoint, with its path parameters (still percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    LyticsBulk {
        table: String,
        field: String,
    },
    LyticsStatus {
        id: String,
    },
    /// Counts by state.
    LyticsOverview,
    /// Every deletion request of the account (`status` reads it instead of one call per
    /// request ID).
    LyticsList,
    /// `GET /v2/schema/{table}/idconfig`: the table's identity fields (`check` reads it).
    LyticsIdConfig {
        table: String,
    },
    Mparticle,
    /// The OAuth token endpoint in front of mParticle's Profile API.
    MparticleToken,
    /// Profile API `GET /userprofile/v1/{org}/{account}/{workspace}/{mpid}`.
    MparticleProfile {
        path: [String; 4],
    },
    /// Profile API `POST /userprofile/v1/resolve/{org}/{account}/{workspace}`.
    MparticleResolve {
        path: [String; 3],
    },
    Clevertap,
    /// `GET /1/profile.json?identity=…` (or `objectId`, `email`): one profile by ID.
    ClevertapProfile,
    Segment {
        space: String,
        collection: String,
        lookup: String,
    },
    /// Profile API `GET …/profiles/{lookup}/external_ids`, the harmless call `check` uses.
    SegmentLookup {
        space: String,
        lookup: String,
    },
    HightouchQueue {
        graph: String,
    },
    HightouchStatus {
        graph: String,
        id: String,
    },
    /// `GET /api/v1/idr/{graph}/runs`: the graph's runs (`check` reads it).
    HightouchRuns {
        graph: String,
    },
    /// `POST /api/2/deletions/users`.
    AmplitudeDelete,
    /// `GET /api/2/deletions/users?start_day&end_day` (same path; [`route_for`] tells them
    /// apart by method).
    AmplitudeJobs,
    IterableForget,
    IterableForgotten,
    PosthogBulkDelete {
        project: String,
    },
    /// `GET /api/projects/{id}/`: the project (`check` reads it).
    PosthogProject {
        project: String,
    },
    /// Segment Public API `POST /regulations` (workspace) or
    /// `POST /regulations/sources/{source}`.
    SegmentRegs {
        source: Option<String>,
    },
    SegmentRegsStatus {
        id: String,
    },
    /// `GET /regulations`: the workspace's regulations (same path as the workspace
    /// `POST`; [`route_for`] tells them apart by method). `check` reads one.
    SegmentRegsList,
    /// `POST /api/app/data-deletions/v3.0/` (with or without the trailing slash).
    Mixpanel,
    MixpanelStatus {
        id: String,
    },
    Braze,
}

impl Route {
    pub fn vendor(&self) -> VendorKind {
        match self {
            Route::LyticsBulk { .. }
            | Route::LyticsStatus { .. }
            | Route::LyticsOverview
            | Route::LyticsList
            | Route::LyticsIdConfig { .. } => VendorKind::Lytics,
            Route::Mparticle
            | Route::MparticleToken
            | Route::MparticleProfile { .. }
            | Route::MparticleResolve { .. } => VendorKind::Mparticle,
            Route::Clevertap | Route::ClevertapProfile => VendorKind::Clevertap,
            Route::Segment { .. } | Route::SegmentLookup { .. } => VendorKind::Segment,
            Route::HightouchQueue { .. }
            | Route::HightouchStatus { .. }
            | Route::HightouchRuns { .. } => VendorKind::Hightouch,
            Route::AmplitudeDelete | Route::AmplitudeJobs => VendorKind::Amplitude,
            Route::IterableForget | Route::IterableForgotten => VendorKind::Iterable,
            Route::PosthogBulkDelete { .. } | Route::PosthogProject { .. } => VendorKind::Posthog,
            Route::SegmentRegs { .. }
            | Route::SegmentRegsStatus { .. }
            | Route::SegmentRegsList => VendorKind::SegmentRegs,
            Route::Mixpanel | Route::MixpanelStatus { .. } => VendorKind::Mixpanel,
            Route::Braze => VendorKind::Braze,
        }
    }

    pub fn method(&self) -> &'static str {
        match self {
            Route::LyticsBulk { .. } => "DELETE",
            Route::LyticsStatus { .. }
            | Route::LyticsOverview
            | Route::LyticsList
            | Route::LyticsIdConfig { .. }
            | Route::SegmentLookup { .. }
            | Route::MparticleProfile { .. }
            | Route::ClevertapProfile
            | Route::HightouchStatus { .. }
            | Route::HightouchRuns { .. }
            | Route::AmplitudeJobs
            | Route::IterableForgotten => "GET",
            Route::SegmentRegsStatus { .. }
            | Route::SegmentRegsList
            | Route::MixpanelStatus { .. }
            | Route::PosthogProject { .. } => "GET",
            _ => "POST",
        }
    }

    /// Whether requests to it carry a JSON body (and must say so in `Content-Type`).
    pub fn takes_json(&self) -> bool {
        matches!(
            self,
            Route::LyticsBulk { .. }
                | Route::Mparticle
                | Route::MparticleToken
                | Route::MparticleResolve { .. }
                | Route::Clevertap
                | Route::Segment { .. }
                | Route::HightouchQueue { .. }
                | Route::AmplitudeDelete
                | Route::IterableForget
                | Route::PosthogBulkDelete { .. }
                | Route::Mixpanel
                | Route::Braze
        )
    }
}

/// [`route`], with the method where one path serves two endpoints.
pub(crate) fn route_for(method: &str, path: &str) -> Option<Route> {
    match route(path)? {
        Route::AmplitudeDelete if method == "GET" => Some(Route::AmplitudeJobs),
        Route::SegmentRegs { source: None } if method == "GET" => Some(Route::SegmentRegsList),
        r => Some(r),
    }
}

/// The endpoint a path names, if any vendor serves it.
pub(crate) fn route(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let s = |x: &str| x.to_owned();
    Some(match parts.as_slice() {
        ["v2", "identity", "queue", "bulk", table, field] => Route::LyticsBulk {
            table: s(table),
            field: s(field),
        },
        ["v2", "identity", "deletestatus", "overview"] => Route::LyticsOverview,
        ["v2", "identity", "deletestatus", "list"] => Route::LyticsList,
        ["v2", "schema", table, "idconfig"] => Route::LyticsIdConfig { table: s(table) },
        ["v2", "identity", "deletestatus", id] => Route::LyticsStatus { id: s(id) },
        ["userprofile", "bulkdelete"] => Route::Mparticle,
        ["oauth", "token"] => Route::MparticleToken,
        ["userprofile", "v1", "resolve", org, account, workspace] => Route::MparticleResolve {
            path: [s(org), s(account), s(workspace)],
        },
        ["userprofile", "v1", org, account, workspace, mpid] => Route::MparticleProfile {
            path: [s(org), s(account), s(workspace), s(mpid)],
        },
        ["1", "delete", "profiles.json"] => Route::Clevertap,
        ["1", "profile.json"] => Route::ClevertapProfile,
        [
            "v1",
            "spaces",
            space,
            "collections",
            collection,
            "profiles",
            lookup,
            "external_ids",
            "delete",
        ] => Route::Segment {
            space: s(space),
            collection: s(collection),
            lookup: s(lookup),
        },
        [
            "v1",
            "spaces",
            space,
            "collections",
            "users",
            "profiles",
            lookup,
            "external_ids",
        ] => Route::SegmentLookup {
            space: s(space),
            lookup: s(lookup),
        },
        ["api", "v1", "idr", graph, "queue-for-reprocessing"] => {
            Route::HightouchQueue { graph: s(graph) }
        }
        ["api", "v1", "idr", graph, "reprocess-status", id] => Route::HightouchStatus {
            graph: s(graph),
            id: s(id),
        },
        ["api", "v1", "idr", graph, "runs"] => Route::HightouchRuns { graph: s(graph) },
        ["api", "2", "deletions", "users"] => Route::AmplitudeDelete,
        ["api", "users", "forget"] => Route::IterableForget,
        ["api", "users", "forgotten"] => Route::IterableForgotten,
        // Django answers with and without the trailing slash PostHog's docs write.
        ["api", "projects", project, "persons", "bulk_delete"]
        | ["api", "projects", project, "persons", "bulk_delete", ""] => Route::PosthogBulkDelete {
            project: s(project),
        },
        ["api", "projects", project] | ["api", "projects", project, ""] => Route::PosthogProject {
            project: s(project),
        },
        ["regulations"] => Route::SegmentRegs { source: None },
        ["regulations", "sources", source] => Route::SegmentRegs {
            source: Some(s(source)),
        },
        ["regulations", id] => Route::SegmentRegsStatus { id: s(id) },
        ["api", "app", "data-deletions", "v3.0"] | ["api", "app", "data-deletions", "v3.0", ""] => {
            Route::Mixpanel
        }
        ["api", "app", "data-deletions", "v3.0", id]
        | ["api", "app", "data-deletions", "v3.0", id, ""] => Route::MixpanelStatus { id: s(id) },
        ["users", "delete"] => Route::Braze,
        _ => return None,
    })
}

/// A vendor's answer to a request that reached it.
pub(crate) struct Handled {
    pub resp: Response,
    /// The deletion took effect (state changed, quota consumed).
    pub applied: bool,
}

impl Handled {
    pub fn applied(resp: Response) -> Self {
        Self {
            resp,
            applied: true,
        }
    }
    pub fn unchanged(resp: Response) -> Self {
        Self {
            resp,
            applied: false,
        }
    }
}

/// Handle a request that passed routing, the method check and fault injection.
pub(crate) fn handle(shared: &Shared, route: &Route, req: &Request) -> Handled {
    if route.takes_json() && !is_json(req.header("content-type")) {
        // Every vendor's page says to send `Content-Type: application/json`; what each
        // answers without it is not published, so the fakes answer HTTP's own 415.
        return Handled::unchanged(error_for(
            shared,
            route.vendor(),
            415,
            "Unsupported Media Type: send Content-Type: application/json",
        ));
    }
    match route {
        Route::LyticsBulk { table, field } => lytics::bulk(shared, req, table, field),
        Route::LyticsStatus { id } => lytics::status(shared, req, id),
        Route::LyticsOverview => lytics::overview(shared, req),
        Route::LyticsList => lytics::list(shared, req),
        Route::LyticsIdConfig { table } => lytics::idconfig(shared, req, table),
        Route::HightouchRuns { graph } => hightouch::runs(shared, req, graph),
        Route::SegmentLookup { space, lookup } => segment::lookup(shared, req, space, lookup),
        Route::Mparticle => mparticle::bulk_delete(shared, req),
        Route::MparticleToken => mparticle_profile::token(shared, req),
        Route::MparticleProfile { path } => mparticle_profile::profile(shared, req, path),
        Route::MparticleResolve { path } => mparticle_profile::resolve(shared, req, path),
        Route::Clevertap => clevertap::delete(shared, req),
        Route::ClevertapProfile => clevertap::profile(shared, req),
        Route::Segment {
            space,
            collection,
            lookup,
        } => segment::delete(shared, req, space, collection, lookup),
        Route::HightouchQueue { graph } => hightouch::queue(shared, req, graph),
        Route::HightouchStatus { graph, id } => hightouch::status(shared, req, graph, id),
        Route::AmplitudeDelete => amplitude::create(shared, req),
        Route::AmplitudeJobs => amplitude::jobs(shared, req),
        Route::IterableForget => iterable::forget(shared, req),
        Route::IterableForgotten => iterable::forgotten(shared, req),
        Route::PosthogBulkDelete { project } => posthog::bulk_delete(shared, req, project),
        Route::SegmentRegs { source } => segment_regs::create(shared, req, source.as_deref()),
        Route::SegmentRegsStatus { id } => segment_regs::status(shared, req, id),
        Route::SegmentRegsList => segment_regs::list(shared, req),
        Route::PosthogProject { project } => posthog::project(shared, req, project),
        Route::Mixpanel => mixpanel::create(shared, req),
        Route::MixpanelStatus { id } => mixpanel::status(shared, req, id),
        Route::Braze => braze::delete(shared, req),
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// An error in the vendor's own, documented shape:
/// - Lytics `/v2` endpoints: `{"status","errors":[{"code","message","level"}],"request_id"}`,
///   except a rejected token, which is answered before the API in the `/api` shape
///   `{"message","status"}` (lytics/agent-skills references/api.md);
/// - mParticle: `{"errors":[{"code","message"}]}` like its sibling s2s APIs (the bulk page
///   documents messages, not the body; [`MparticleErrors`] offers the other plausible shape);
/// - CleverTap: `{"status":"fail","error","code"}` (seed 002);
/// - Segment: `{"error":{"code","message"}}` (Profile API docs);
/// - Hightouch: `{"message"}` (its 422 adds `details`);
/// - Amplitude: `{"error"}` (its page lists statuses, not bodies);
/// - Iterable: `{"msg","code","params"}` (its OpenAPI's IterableApiResponse);
/// - PostHog: Django REST framework's `{"type","code","detail","attr"}`.
pub(crate) fn error(vendor: VendorKind, status: u16, message: &str) -> Response {
    shaped(vendor, status, message, MparticleErrors::ErrorsArray)
}

/// [`error`] with the sandbox's choice of mParticle's undocumented error shape.
pub(crate) fn error_for(
    shared: &Shared,
    vendor: VendorKind,
    status: u16,
    message: &str,
) -> Response {
    shaped(vendor, status, message, shared.cfg.mparticle_errors)
}

fn shaped(vendor: VendorKind, status: u16, message: &str, mp: MparticleErrors) -> Response {
    let body = match vendor {
        VendorKind::Lytics if status == 401 => json!({ "message": message, "status": status }),
        VendorKind::Lytics => json!({
            "status": status,
            "errors": [{ "code": lytics_code(status), "message": message, "level": "warn" }],
            "request_id": "sandbox",
        }),
        VendorKind::Clevertap => json!({ "status": "fail", "error": message, "code": status }),
        VendorKind::Segment => json!({
            "error": { "code": segment::default_code(status), "message": message }
        }),
        VendorKind::Mparticle => match mp {
            MparticleErrors::ErrorsArray => json!({
                "errors": [{ "code": mparticle_code(status), "message": message }]
            }),
            MparticleErrors::Message => json!({ "message": message }),
        },
        VendorKind::Amplitude => json!({ "error": message }),
        VendorKind::Iterable => iterable::body(message, iterable::code(status)),
        VendorKind::Posthog => posthog::error_body(status, message),
        VendorKind::Hightouch | VendorKind::Braze => json!({ "message": message }),
        // The Public API's `{"errors":[{"type","message"}]}`.
        VendorKind::SegmentRegs => json!({
            "errors": [{ "type": segment_regs::error_type(status), "message": message }]
        }),
        // The GDPR OpenAPI's error schema.
        VendorKind::Mixpanel => json!({ "error": message, "status": "error" }),
    };
    Response::json(status, &body)
}

fn lytics_code(status: u16) -> String {
    match status {
        400 => "BADREQ-001".into(),
        403 => "FORBIDDEN-001".into(),
        404 => "NOTFOUND-001".into(),
        s => format!("ERR-{s}"),
    }
}

fn mparticle_code(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        429 => "TOO_MANY_REQUESTS",
        503 => "SERVICE_UNAVAILABLE",
        _ => "ERROR",
    }
}

/// The vendor's "slow down" answer (quota or concurrency exceeded), with its documented
/// text where there is one.
pub(crate) fn throttled(vendor: VendorKind) -> Response {
    let message = match vendor {
        VendorKind::Clevertap => "Too many concurrent requests",
        VendorKind::Segment => {
            "Attempted to delete more than 100 IDs per second for a single profile"
        }
        VendorKind::Mparticle => "Too many requests: rate limiting applied",
        VendorKind::Posthog => "Request was throttled.",
        VendorKind::Lytics
        | VendorKind::Hightouch
        | VendorKind::Amplitude
        | VendorKind::Iterable => "Too Many Requests",
        VendorKind::SegmentRegs => "Too many requests: regulation quota exceeded",
        // As rudder-transformer #5578 quotes it.
        VendorKind::Mixpanel => "Too Many Requests, this API is limited to 1 req/s",
        VendorKind::Braze => "API rate limit exceeded",
    };
    error(vendor, 429, message)
}

/// The vendor's 503, with its documented text where there is one.
pub(crate) fn unavailable(vendor: VendorKind) -> Response {
    let message = match vendor {
        VendorKind::Clevertap => "Server Error. Please retry later",
        VendorKind::Mparticle => "Service unavailable",
        _ => "Service Unavailable",
    };
    error(vendor, 503, message)
}

/// The identifiers a request carries, best effort, for the request log.
pub(crate) fn values(route: &Route, req: &Request) -> Vec<String> {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return Vec::new();
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let each = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a.iter().map(text).collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(v) => vec![text(v)],
        }
    };
    match route {
        Route::LyticsBulk { .. } => each(body.get("values")),
        Route::Mparticle => body
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| match (p.get("mpid"), p.get("identities")) {
                        (Some(m), _) => text(m),
                        (None, Some(Value::Object(ids))) => {
                            ids.values().map(text).collect::<Vec<_>>().join(",")
                        }
                        _ => String::new(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Route::Clevertap => {
            let mut v = each(body.get("identity"));
            v.extend(each(body.get("guid")));
            v
        }
        Route::Segment { .. } => body
            .get("delete_external_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| e.get("id").map(text).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default(),
        Route::HightouchQueue { .. } => body
            .get("identifiers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| e.get("value").map(text).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default(),
        Route::AmplitudeDelete => {
            let mut v = each(body.get("amplitude_ids"));
            v.extend(each(body.get("user_ids")));
            v
        }
        Route::IterableForget => {
            let mut v = each(body.get("email"));
            v.extend(each(body.get("userId")));
            v
        }
        Route::PosthogBulkDelete { .. } => {
            let mut v = each(body.get("ids"));
            v.extend(each(body.get("distinct_ids")));
            v
        }
        Route::AmplitudeJobs | Route::IterableForgotten => Vec::new(),
        Route::SegmentRegs { .. } => each(body.get("subjectIds")),
        Route::Mixpanel => each(body.get("distinct_ids")),
        Route::Braze => braze::values(&body),
        Route::LyticsStatus { .. }
        | Route::MparticleToken
        | Route::MparticleProfile { .. }
        | Route::MparticleResolve { .. }
        | Route::ClevertapProfile
        | Route::LyticsOverview
        | Route::LyticsList
        | Route::LyticsIdConfig { .. }
        | Route::SegmentLookup { .. }
        | Route::HightouchStatus { .. }
        | Route::HightouchRuns { .. }
        | Route::SegmentRegsStatus { .. }
        | Route::SegmentRegsList
        | Route::PosthogProject { .. }
        | Route::MixpanelStatus { .. } => Vec::new(),
    }
}

/// `Authorization: Basic base64(user:password)`, decoded.
pub(crate) fn basic_auth(req: &Request) -> Option<(String, String)> {
    let value = req.header("authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Percent-decode a path segment (`None` if the result is not UTF-8).
pub(crate) fn decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// RFC 3339 in UTC with milliseconds, as JSON APIs print timestamps.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (H. Hinnant), valid for every date after 1970.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn routes_every_endpoint_and_nothing_else() {
        assert_eq!(
            route("/v2/identity/queue/bulk/user/email"),
            Some(Route::LyticsBulk {
                table: "user".into(),
                field: "email".into()
            })
        );
        assert_eq!(route("/userprofile/bulkdelete"), Some(Route::Mparticle));
        assert_eq!(route("/1/delete/profiles.json"), Some(Route::Clevertap));
        assert_eq!(
            route("/v1/spaces/spa_1/collections/users/profiles/user_id:a%2Bb/external_ids/delete"),
            Some(Route::Segment {
                space: "spa_1".into(),
                collection: "users".into(),
                lookup: "user_id:a%2Bb".into()
            })
        );
        assert_eq!(
            route("/api/v1/idr/g1/reprocess-status/r1"),
            Some(Route::HightouchStatus {
                graph: "g1".into(),
                id: "r1".into()
            })
        );
        assert_eq!(
            route("/v2/identity/deletestatus/list"),
            Some(Route::LyticsList)
        );
        assert_eq!(
            route("/v2/schema/user/idconfig"),
            Some(Route::LyticsIdConfig {
                table: "user".into()
            })
        );
        assert_eq!(
            route("/api/v1/idr/g1/runs"),
            Some(Route::HightouchRuns { graph: "g1".into() })
        );
        assert_eq!(route("/userprofile/bulkdelete/"), None);
        assert_eq!(route("/"), None);
        assert_eq!(route("v2/identity/deletestatus/x"), None);
    }

    #[test]
    fn json_content_types() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(Some("application/jsonx")));
        assert!(!is_json(None));
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_123); // leap year, Feb 29
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(4_102_444_800); // 2100-01-01
        assert_eq!(rfc3339(t), "2100-01-01T00:00:00.000Z");
    }
}
