//! Twilio Segment regulations (Public API, tag Deletion-and-Suppression):
//! `POST /regulations` (workspace scope), `POST /regulations/sources/{sourceId}` (source
//! scope) and `GET /regulations/{regulateId}`.
//!
//! From segment-docs `src/privacy/user-deletion-and-suppression.md` and the Public API's
//! generated reference (DeletionAndSuppressionApi): Bearer token; a body of
//! `regulationType`, `subjectType` (USER_ID; OBJECT_ID is for cloud sources) and
//! `subjectIds`; up to 5,000 userIds per call; 110,000 users per 30 days per workspace,
//! answered 429 beyond, with `X-Regulation-RateLimit-Remaining` and
//! `X-Regulation-RateLimit-Quota-Reset` on every create; 200 `{"data":{"regulateId"}}`;
//! 404 and 422 in the Public API's `{"errors":[{"type","message"}]}`. A regulation's
//! `overallStatus` is one of FAILED, FINISHED, INITIALIZED, INVALID, NOT_SUPPORTED,
//! PARTIAL_SUCCESS, RUNNING.
//!
//! Magic values: a subject containing `partial` ends PARTIAL_SUCCESS, `segfail` FAILED,
//! `oddstatus` in a state no page documents (`ARCHIVED`).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::{Handled, error, rfc3339};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

/// "You can delete up to 5000 userIds per call via Public API."
const MAX_SUBJECTS: usize = 5000;
/// The Public API's body limit the shared research gives (4 MB).
const MAX_BODY: usize = 4 * 1024 * 1024;
const TYPES: [&str; 6] = [
    "SUPPRESS_ONLY",
    "UNSUPPRESS",
    "SUPPRESS_WITH_DELETE",
    "DELETE_INTERNAL",
    "SUPPRESS_WITH_DELETE_INTERNAL",
    "DELETE_ONLY",
];

#[derive(Debug, Default)]
pub(crate) struct State {
    regulations: HashMap<String, Regulation>,
}

#[derive(Debug)]
struct Regulation {
    at: Instant,
    wall: SystemTime,
    ends: &'static str,
}

pub(crate) fn error_type(status: u16) -> &'static str {
    match status {
        401 | 403 => "unauthorized",
        404 => "not-found",
        422 | 400 => "validation",
        429 => "rate-limit",
        _ => "server-error",
    }
}

fn fail(status: u16, message: &str) -> Handled {
    Handled::unchanged(error(VendorKind::SegmentRegs, status, message))
}

fn authorized(shared: &Shared, req: &Request) -> bool {
    let expected = &shared.cfg.credentials.segment_public_api_token;
    req.header("authorization")
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && token == expected)
}

/// The media types the generated clients send: JSON or Segment's versioned JSON.
fn json_media(req: &Request) -> bool {
    req.header("content-type").is_some_and(|ct| {
        let m = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        m == "application/json"
            || (m.starts_with("application/vnd.segment.") && m.ends_with("+json"))
    })
}

pub(crate) fn create(shared: &Shared, req: &Request, source: Option<&str>) -> Handled {
    if !authorized(shared, req) {
        return fail(401, "Unauthorized");
    }
    if !json_media(req) {
        return fail(
            415,
            "Unsupported Media Type: send Content-Type: application/json",
        );
    }
    if source.is_some_and(|s| {
        shared
            .cfg
            .segment_regs_unknown_sources
            .iter()
            .any(|u| u == s)
    }) {
        return fail(404, "Resource not found");
    }
    if req.body.len() > MAX_BODY {
        return fail(422, "Request body is larger than 4 MB");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return fail(400, "Malformed JSON");
    };
    if let Err(message) = validate(&body) {
        return fail(422, &message);
    }
    let ids: Vec<&str> = body["subjectIds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // The quota counts users across the workspace, whatever the scope.
    if !shared.admit(VendorKind::SegmentRegs, "", ids.len()) {
        return Handled::unchanged(with_quota_headers(
            shared,
            super::throttled(VendorKind::SegmentRegs),
        ));
    }
    let ends = if ids.iter().any(|v| v.contains("oddstatus")) {
        "ARCHIVED"
    } else if ids.iter().any(|v| v.contains("segfail")) {
        "FAILED"
    } else if ids.iter().any(|v| v.contains("partial")) {
        "PARTIAL_SUCCESS"
    } else {
        "FINISHED"
    };
    let id = shared.new_id().replace('-', "");
    shared
        .segment_regs
        .lock()
        .expect("segment regs lock")
        .regulations
        .insert(
            id.clone(),
            Regulation {
                at: shared.now(),
                wall: shared.wall(),
                ends,
            },
        );
    Handled::applied(with_quota_headers(
        shared,
        Response::json(200, &json!({ "data": { "regulateId": id } })),
    ))
}

fn with_quota_headers(shared: &Shared, resp: Response) -> Response {
    let limit = shared
        .cfg
        .quota(VendorKind::SegmentRegs)
        .items
        .map_or(u64::MAX, |r| u64::from(r.count));
    let (used, reset) = shared
        .window_use(VendorKind::SegmentRegs, "", true)
        .unwrap_or((0, None));
    let reset_wall = reset.map_or_else(
        || shared.wall(),
        |t| shared.wall() + t.saturating_duration_since(shared.now()),
    );
    resp.with_header(
        "x-regulation-ratelimit-remaining",
        limit.saturating_sub(used).to_string(),
    )
    .with_header("x-regulation-ratelimit-quota-reset", rfc3339(reset_wall))
}

fn validate(body: &Value) -> Result<(), String> {
    let t = body.get("regulationType").and_then(Value::as_str);
    if !t.is_some_and(|t| TYPES.contains(&t)) {
        return Err(format!(
            "regulationType must be one of {}",
            TYPES.join(", ")
        ));
    }
    match body.get("subjectType").and_then(Value::as_str) {
        Some("USER_ID") => {}
        Some("OBJECT_ID") => {
            return Err("subjectType OBJECT_ID is only for cloud source regulations".into());
        }
        _ => return Err("subjectType must be USER_ID".into()),
    }
    let Some(ids) = body.get("subjectIds").and_then(Value::as_array) else {
        return Err("subjectIds is required".into());
    };
    if ids.is_empty() || ids.len() > MAX_SUBJECTS {
        return Err(format!("subjectIds must hold 1 to {MAX_SUBJECTS} items"));
    }
    if ids
        .iter()
        .any(|v| !matches!(v, Value::String(s) if !s.is_empty()))
    {
        return Err("subjectIds must be non-empty strings".into());
    }
    Ok(())
}

pub(crate) fn status(shared: &Shared, req: &Request, id: &str) -> Handled {
    if !authorized(shared, req) {
        return fail(401, "Unauthorized");
    }
    let state = shared.segment_regs.lock().expect("segment regs lock");
    let Some(r) = state.regulations.get(id) else {
        return fail(404, "Resource not found");
    };
    let elapsed = shared.now().saturating_duration_since(r.at);
    let body = status_body(r, id, elapsed, shared.cfg.segment_regs_state_step);
    Handled::unchanged(Response::json(200, &body))
}

/// `GET /regulations?pagination.count=N` (Public API, "List Workspace Regulations"):
/// `{"data":{"regulations":[…],"pagination":{…}}}`; `pagination.count` is required (1–100).
pub(crate) fn list(shared: &Shared, req: &Request) -> Handled {
    if !authorized(shared, req) {
        return fail(401, "Unauthorized");
    }
    let count = req
        .query_param("pagination.count")
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|c| (1..=100).contains(c));
    let Some(count) = count else {
        return fail(400, "pagination.count is required, from 1 to 100");
    };
    let state = shared.segment_regs.lock().expect("segment regs lock");
    let now = shared.now();
    let step = shared.cfg.segment_regs_state_step;
    let mut ids: Vec<&String> = state.regulations.keys().collect();
    ids.sort();
    let regulations: Vec<Value> = ids
        .iter()
        .take(count)
        .map(|id| {
            let r = &state.regulations[*id];
            status_body(r, id, now.saturating_duration_since(r.at), step)["data"]["regulation"]
                .clone()
        })
        .collect();
    let body = json!({
        "data": {
            "regulations": regulations,
            "pagination": { "current": "MA==", "totalEntries": state.regulations.len() },
        }
    });
    Handled::unchanged(Response::json(200, &body))
}

fn status_body(r: &Regulation, id: &str, elapsed: Duration, step: Duration) -> Value {
    let steps = if step.is_zero() {
        u128::MAX
    } else {
        elapsed.as_nanos() / step.as_nanos()
    };
    let (status, finished) = match steps {
        0 => ("INITIALIZED", None),
        1 => ("RUNNING", None),
        _ => (r.ends, Some(rfc3339(r.wall + step * 2))),
    };
    json!({
        "data": {
            "regulation": {
                "id": id,
                "workspaceId": "sandbox-workspace",
                "overallStatus": status,
                "createdAt": rfc3339(r.wall),
                "finishedAt": finished,
                "streamStatus": [],
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regulations_progress_to_their_end_state() {
        let r = Regulation {
            at: Instant::now(),
            wall: SystemTime::UNIX_EPOCH,
            ends: "PARTIAL_SUCCESS",
        };
        let step = Duration::from_secs(1);
        let at = |s| status_body(&r, "r1", Duration::from_secs(s), step);
        let st = |v: Value| v["data"]["regulation"]["overallStatus"].clone();
        assert_eq!(st(at(0)), "INITIALIZED");
        assert_eq!(st(at(1)), "RUNNING");
        assert_eq!(st(at(9)), "PARTIAL_SUCCESS");
        assert_eq!(
            at(9)["data"]["regulation"]["finishedAt"],
            "1970-01-01T00:00:02.000Z"
        );
        assert_eq!(at(0)["data"]["regulation"]["finishedAt"], Value::Null);
    }

    #[test]
    fn validation_follows_the_public_api() {
        let ok = json!({"regulationType":"SUPPRESS_WITH_DELETE","subjectType":"USER_ID","subjectIds":["u1"]});
        assert!(validate(&ok).is_ok());
        let mut bad = ok.clone();
        bad["regulationType"] = "DELETE_EVERYTHING".into();
        assert!(validate(&bad).is_err());
        let mut big = ok.clone();
        big["subjectIds"] = Value::Array(vec!["u".into(); MAX_SUBJECTS + 1]);
        assert!(validate(&big).is_err());
        big["subjectIds"] = Value::Array(vec!["u".into(); MAX_SUBJECTS]);
        assert!(validate(&big).is_ok());
        let mut obj = ok;
        obj["subjectType"] = "OBJECT_ID".into();
        assert!(validate(&obj).is_err());
    }
}
