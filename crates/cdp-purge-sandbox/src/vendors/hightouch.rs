//! Hightouch: `POST /api/v1/idr/{graph}/queue-for-reprocessing` and
//! `GET /api/v1/idr/{graph}/reprocess-status/{requestId}`.
//!
//! Bearer auth; the OpenAPI body schema with `additionalProperties: false` (violations are
//! 422 in tsoa's `{"message":"Validation failed","details":{…}}` shape); a new `requestId`
//! per request (no idempotency is documented); 200 requests per 10 s per workspace.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use super::{Handled, error, rfc3339};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

/// A queued value containing this makes the request end `failed`.
const FAIL_MARKER: &str = "htfail";

#[derive(Debug, Default)]
pub(crate) struct State {
    requests: HashMap<String, Reprocess>,
}

#[derive(Debug)]
struct Reprocess {
    graph: String,
    at: Instant,
    wall: SystemTime,
    fails: bool,
}

fn fail(status: u16, message: &str) -> Handled {
    Handled::unchanged(error(VendorKind::Hightouch, status, message))
}

fn authorized(shared: &Shared, req: &Request) -> bool {
    let expected = &shared.cfg.credentials.hightouch_api_key;
    req.header("authorization")
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && token == expected)
}

/// The key is the sandbox's and the graph exists; otherwise the answer to give.
fn admitted(shared: &Shared, req: &Request, graph: &str) -> Result<(), Handled> {
    if !authorized(shared, req) {
        return Err(fail(401, "Unauthorized"));
    }
    if shared
        .cfg
        .hightouch_unknown_graphs
        .iter()
        .any(|g| g == graph)
    {
        return Err(fail(404, "Identity graph not found"));
    }
    Ok(())
}

pub(crate) fn queue(shared: &Shared, req: &Request, graph: &str) -> Handled {
    if let Err(h) = admitted(shared, req, graph) {
        return h;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return fail(400, "Bad Request: malformed JSON");
    };
    let details = validate(&body);
    if !details.is_empty() {
        return Handled::unchanged(Response::json(
            422,
            &json!({ "message": "Validation failed", "details": details }),
        ));
    }
    if !shared.admit(VendorKind::Hightouch, "", 1) {
        return Handled::unchanged(super::throttled(VendorKind::Hightouch));
    }
    let fails = body["identifiers"].as_array().is_some_and(|ids| {
        ids.iter()
            .any(|i| i["value"].as_str().is_some_and(|v| v.contains(FAIL_MARKER)))
    });
    let id = shared.new_id();
    shared
        .hightouch
        .lock()
        .expect("hightouch lock")
        .requests
        .insert(
            id.clone(),
            Reprocess {
                graph: graph.to_owned(),
                at: Instant::now(),
                wall: SystemTime::now(),
                fails,
            },
        );
    Handled::applied(Response::json(200, &json!({ "requestId": id })))
}

/// tsoa-style validation of the OpenAPI schema; empty when the body is valid.
fn validate(body: &Value) -> Map<String, Value> {
    let mut details = Map::new();
    let mut problem = |path: String, message: String, value: Option<&Value>| {
        let mut entry = Map::new();
        entry.insert("message".into(), message.into());
        if let Some(v) = value {
            entry.insert("value".into(), v.clone());
        }
        details.insert(path, entry.into());
    };
    let Some(obj) = body.as_object() else {
        problem("requestBody".into(), "invalid object".into(), Some(body));
        return details;
    };
    for key in obj
        .keys()
        .filter(|k| !matches!(k.as_str(), "identifiers" | "block"))
    {
        problem(
            format!("requestBody.{key}"),
            format!("\"{key}\" is an excess property and therefore is not allowed"),
            Some(&Value::String(key.clone())),
        );
    }
    if let Some(block) = obj.get("block").filter(|b| !b.is_boolean()) {
        problem(
            "requestBody.block".into(),
            "invalid boolean value".into(),
            Some(block),
        );
    }
    match obj.get("identifiers") {
        None => problem(
            "requestBody.identifiers".into(),
            "'identifiers' is required".into(),
            None,
        ),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("requestBody.identifiers.${i}");
                let Some(item) = item.as_object() else {
                    problem(at, "invalid object".into(), Some(item));
                    continue;
                };
                for key in item
                    .keys()
                    .filter(|k| !matches!(k.as_str(), "identifier" | "value"))
                {
                    problem(
                        format!("{at}.{key}"),
                        format!("\"{key}\" is an excess property and therefore is not allowed"),
                        Some(&Value::String(key.clone())),
                    );
                }
                for field in ["identifier", "value"] {
                    match item.get(field) {
                        Some(Value::String(_)) => {}
                        None => problem(
                            format!("{at}.{field}"),
                            format!("'{field}' is required"),
                            None,
                        ),
                        Some(other) => problem(
                            format!("{at}.{field}"),
                            "invalid string value".into(),
                            Some(other),
                        ),
                    }
                }
            }
        }
        Some(other) => problem(
            "requestBody.identifiers".into(),
            "invalid array".into(),
            Some(other),
        ),
    }
    details
}

/// `GET /api/v1/idr/{graph}/runs`: the OpenAPI's `{"data":[IdrRun],"hasMore"}`. The
/// sandbox keeps no runs of its own; it reports one finished run per graph it knows.
pub(crate) fn runs(shared: &Shared, req: &Request, graph: &str) -> Handled {
    if let Err(h) = admitted(shared, req, graph) {
        return h;
    }
    if !shared.admit(VendorKind::Hightouch, "", 0) {
        return Handled::unchanged(super::throttled(VendorKind::Hightouch));
    }
    let at = rfc3339(SystemTime::now());
    Handled::unchanged(Response::json(
        200,
        &json!({
            "data": [{
                "id": format!("run-{graph}"),
                "graphId": graph,
                "status": "SUCCESS",
                "createdAt": at,
                "startedAt": at,
                "finishedAt": at,
                "fullRerun": false,
            }],
            "hasMore": false,
        }),
    ))
}

pub(crate) fn status(shared: &Shared, req: &Request, graph: &str, id: &str) -> Handled {
    if !authorized(shared, req) {
        return fail(401, "Unauthorized");
    }
    // The quota covers the whole REST API: status polls spend it too.
    if !shared.admit(VendorKind::Hightouch, "", 0) {
        return Handled::unchanged(super::throttled(VendorKind::Hightouch));
    }
    let state = shared.hightouch.lock().expect("hightouch lock");
    let Some(r) = state.requests.get(id).filter(|r| r.graph == graph) else {
        return fail(404, "Reprocessing request not found");
    };
    let body = status_body(r, id, r.at.elapsed(), shared.cfg.hightouch_state_step);
    Handled::unchanged(Response::json(200, &body))
}

/// The status of request `id`, `elapsed` after it was queued: one status per `step`.
fn status_body(r: &Reprocess, id: &str, elapsed: Duration, step: Duration) -> Value {
    let steps = if step.is_zero() {
        u128::MAX
    } else {
        elapsed.as_nanos() / step.as_nanos()
    };
    let mut body = json!({
        "status": "queueing",
        "queuedAt": null,
        "reprocessedAt": null,
        "reprocessedRunId": null,
        "error": null,
    });
    if steps == 0 {
        return body;
    }
    if r.fails {
        body["status"] = "failed".into();
        body["error"] = "Failed to write identifiers to data warehouse".into();
        return body;
    }
    body["status"] = "queued".into();
    body["queuedAt"] = rfc3339(r.wall + step).into();
    if steps >= 2 {
        body["status"] = "reprocessed".into();
        body["reprocessedAt"] = rfc3339(r.wall + step * 2).into();
        body["reprocessedRunId"] = format!("run-{}", &id[..id.len().min(8)]).into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_advance_per_step_with_every_key_present() {
        let r = |fails| Reprocess {
            graph: "g".into(),
            at: Instant::now(),
            wall: SystemTime::UNIX_EPOCH,
            fails,
        };
        let step = Duration::from_secs(1);
        let at =
            |secs, fails| status_body(&r(fails), "abcdef0123", Duration::from_secs(secs), step);
        assert_eq!(at(0, false)["status"], "queueing");
        let queued = at(1, false);
        assert_eq!(queued["status"], "queued");
        assert_eq!(queued["queuedAt"], "1970-01-01T00:00:01.000Z");
        assert_eq!(queued["reprocessedAt"], Value::Null);
        let done = at(5, false);
        assert_eq!(done["status"], "reprocessed");
        assert_eq!(done["reprocessedAt"], "1970-01-01T00:00:02.000Z");
        assert_eq!(done["reprocessedRunId"], "run-abcdef01");
        let failed = at(5, true);
        assert_eq!(failed["status"], "failed");
        assert!(failed["error"].is_string());
        for body in [at(0, false), queued, done, failed] {
            let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 5, "{body}");
        }
    }
}
