//! Lytics: `DELETE /v2/identity/queue/bulk/{table}/{field}` and
//! `GET /v2/identity/deletestatus/{request_id}`.
//!
//! Documented behaviour reproduced: raw-token auth (no `Bearer`), 400 for a bare array,
//! per-value request IDs, junk values under `errors`, idempotent resubmission (the original
//! request ID comes back), the five deletion states, and (a newer revision of the bulk page)
//! a missing *Entity: Delete* permission or a field that is not an identity field reported
//! per value under `errors`. Errors use Lytics' `/v2` envelope. Answers no page shows (the
//! status list, the identity configuration, the status body itself) come in the shapes
//! [`crate::SandboxConfig`] selects.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{Handled, error};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;
use crate::{LyticsIdConfigShape, LyticsListShape, LyticsStatusShape};

const STATES: [&str; 5] = ["initial", "primary", "archive", "secondary", "done"];
const SECONDARY: usize = 3;

#[derive(Debug, Default)]
pub(crate) struct State {
    /// (table, field, value) → the request ID it was first queued under.
    queued: HashMap<(String, String, String), String>,
    deletions: HashMap<String, Deletion>,
}

#[derive(Debug)]
struct Deletion {
    queued_at: Instant,
    stuck: bool,
}

/// Who the token is: `Some(true)` may delete, `Some(false)` may only read, `None` is not
/// a token of this account.
fn token(shared: &Shared, req: &Request) -> Option<bool> {
    let t = req.header("authorization")?;
    if t == shared.cfg.credentials.lytics_token {
        Some(true)
    } else if shared.cfg.lytics_read_only_tokens.iter().any(|r| r == t) {
        Some(false)
    } else {
        None
    }
}

fn authorized(shared: &Shared, req: &Request) -> bool {
    token(shared, req).is_some()
}

fn fail(status: u16, message: &str) -> Handled {
    Handled::unchanged(error(VendorKind::Lytics, status, message))
}

/// A rejected token is answered before the API, in the `/api` shape.
fn unauthorized() -> Handled {
    fail(401, "Not authorized")
}

pub(crate) fn bulk(shared: &Shared, req: &Request, table: &str, field: &str) -> Handled {
    let Some(may_delete) = token(shared, req) else {
        return unauthorized();
    };
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => return fail(400, "Invalid JSON body"),
    };
    let Some(obj) = body.as_object() else {
        return fail(
            400,
            "Invalid request body: expected an object of the form {\"values\": [...]}",
        );
    };
    let Some(values) = obj.get("values").and_then(Value::as_array) else {
        return fail(400, "Invalid request body: \"values\" must be an array");
    };
    let mut texts = Vec::with_capacity(values.len());
    for v in values {
        texts.push(match v {
            Value::String(s) => s.clone(),
            Value::Array(_) | Value::Object(_) => {
                return fail(400, "Invalid request body: values must be strings");
            }
            // JSON null, numbers and booleans are read as their text, then judged below.
            scalar => scalar.to_string(),
        });
    }
    if !shared.admit(VendorKind::Lytics, "", texts.len()) {
        return Handled::unchanged(super::throttled(VendorKind::Lytics));
    }

    let mut successes = Map::new();
    let mut errors = Map::new();
    // Reported per value, inside a 202, as Lytics does.
    let field_known = shared.cfg.lytics_identity_fields.iter().any(|f| f == field);
    let refusal = if !may_delete {
        Some(shared.cfg.lytics_permission_message.clone())
    } else if !field_known {
        Some(shared.cfg.lytics_field_message.replace("{field}", field))
    } else {
        None
    };
    if let Some(reason) = refusal {
        for value in texts {
            errors.insert(value, reason.clone().into());
        }
        return Handled::unchanged(Response::json(
            202,
            &json!({ "data": { "successes": successes, "errors": errors } }),
        ));
    }
    let mut state = shared.lytics.lock().expect("lytics lock");
    for value in texts {
        if let Some(reason) = rejection(&value) {
            errors.insert(value, reason.into());
            continue;
        }
        let key = (table.to_owned(), field.to_owned(), value.clone());
        let id = match state.queued.get(&key) {
            Some(id) => id.clone(),
            None => {
                let id = shared.new_id();
                let stuck = value.contains(&shared.cfg.lytics_stuck_marker);
                state.queued.insert(key, id.clone());
                state.deletions.insert(
                    id.clone(),
                    Deletion {
                        queued_at: Instant::now(),
                        stuck,
                    },
                );
                id
            }
        };
        successes.insert(value, id.into());
    }
    Handled::applied(Response::json(
        202,
        &json!({ "data": { "successes": successes, "errors": errors } }),
    ))
}

/// The state of a deletion queued `elapsed` ago: one state per `step`; stuck ones stop at
/// `secondary`, which the docs warn is not the end.
fn state_at(elapsed: Duration, step: Duration, stuck: bool) -> &'static str {
    let last = if stuck { SECONDARY } else { STATES.len() - 1 };
    if step.is_zero() {
        return STATES[last];
    }
    let steps = elapsed.as_nanos() / step.as_nanos();
    STATES[usize::try_from(steps).unwrap_or(usize::MAX).min(last)]
}

/// Why Lytics would not queue a value (the values its docs say to strip, and values that
/// do not match the field).
fn rejection(value: &str) -> Option<&'static str> {
    match value.trim() {
        "" => Some("empty value"),
        "null" | "0" | "NaN" => Some("invalid identity value"),
        v if v.contains("invalid") => Some("value does not match field"),
        _ => None,
    }
}

pub(crate) fn status(shared: &Shared, req: &Request, id: &str) -> Handled {
    if !authorized(shared, req) {
        return unauthorized();
    }
    let state = shared.lytics.lock().expect("lytics lock");
    let Some(deletion) = state.deletions.get(id) else {
        return fail(404, "Deletion request not found");
    };
    let name = state_at(
        deletion.queued_at.elapsed(),
        shared.cfg.lytics_state_step,
        deletion.stuck,
    );
    let body = match shared.cfg.lytics_status_shape {
        LyticsStatusShape::Data => json!({ "data": status_object(id, name) }),
        LyticsStatusShape::Bare => status_object(id, name),
        LyticsStatusShape::IdentityPage => {
            json!({ "data": { "request_id": id, "status": identity_page_word(name) } })
        }
    };
    Handled::unchanged(Response::json(200, &body))
}

fn status_object(id: &str, state: &str) -> Value {
    json!({ "request_id": id, "state": state, "completed": state == "done" })
}

/// The identity-deletion page's words for the bulk page's states.
fn identity_page_word(state: &str) -> &'static str {
    match state {
        "initial" => "pending",
        "done" => "completed",
        _ => "in_progress",
    }
}

/// Every deletion request of the account, in the configured shape.
pub(crate) fn list(shared: &Shared, req: &Request) -> Handled {
    if !authorized(shared, req) {
        return unauthorized();
    }
    let shape = shared.cfg.lytics_list_shape;
    if shape == LyticsListShape::Absent {
        return fail(404, "Not Found");
    }
    // Written straight into the body, entry by entry, while the lock is held: building a
    // `Value` per entry held every other Lytics request (the status lookups among them) for
    // 15 s on a 5M-job account, which no vendor's list does to its lookups.
    let state = shared.lytics.lock().expect("lytics lock");
    let step = shared.cfg.lytics_state_step;
    let now = Instant::now();
    let name = |d: &Deletion| state_at(now.saturating_duration_since(d.queued_at), step, d.stuck);
    let map = shape == LyticsListShape::Map;
    let mut body = Vec::with_capacity(state.deletions.len() * 80 + 16);
    body.extend_from_slice(if map { b"{\"data\":{" } else { b"{\"data\":[" });
    for (i, (id, d)) in state.deletions.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let n = name(d);
        let completed = if n == "done" { "true" } else { "false" };
        // The same objects as `status_object`, keys in the order serde_json writes them.
        if map {
            serde_json::to_writer(&mut body, id).expect("a string always serializes");
            write!(body, ":{{\"completed\":{completed},\"state\":\"{n}\"}}")
        } else {
            write!(body, "{{\"completed\":{completed},\"request_id\":")
                .and_then(|()| Ok(serde_json::to_writer(&mut body, id)?))
                .and_then(|()| write!(body, ",\"state\":\"{n}\"}}"))
        }
        .expect("writing to memory cannot fail");
    }
    drop(state);
    body.extend_from_slice(if map { b"}}" } else { b"]}" });
    Handled::unchanged(Response {
        status: 200,
        headers: vec![("content-type", "application/json".into())],
        body,
    })
}

/// Counts of the sandbox's deletions by state. Lytics does not publish this response's
/// shape; the sandbox answers `{"data":{"<state>":count,…}}`.
pub(crate) fn overview(shared: &Shared, req: &Request) -> Handled {
    if !authorized(shared, req) {
        return unauthorized();
    }
    let state = shared.lytics.lock().expect("lytics lock");
    let mut counts: Map<String, Value> =
        STATES.iter().map(|s| ((*s).to_owned(), json!(0))).collect();
    for d in state.deletions.values() {
        let name = state_at(d.queued_at.elapsed(), shared.cfg.lytics_state_step, d.stuck);
        if let Some(n) = counts.get_mut(name) {
            *n = json!(n.as_u64().unwrap_or(0) + 1);
        }
    }
    Handled::unchanged(Response::json(200, &json!({ "data": counts })))
}

/// The table's identity fields, in the configured shape (Lytics publishes none).
pub(crate) fn idconfig(shared: &Shared, req: &Request, table: &str) -> Handled {
    if !authorized(shared, req) {
        return unauthorized();
    }
    let fields = &shared.cfg.lytics_identity_fields;
    let body = match shared.cfg.lytics_idconfig_shape {
        LyticsIdConfigShape::FieldList => json!({ "data": { "table": table, "fields": fields } }),
        LyticsIdConfigShape::Ranked => {
            let a: Vec<Value> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| json!({ "field": f, "rank": i + 1 }))
                .collect();
            json!({ "data": a })
        }
        LyticsIdConfigShape::Keyed => {
            let m: Map<String, Value> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.clone(), json!({ "rank": i + 1 })))
                .collect();
            json!({ "data": m })
        }
    };
    Handled::unchanged(Response::json(200, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_state_per_step_and_stuck_stops_at_secondary() {
        let step = Duration::from_millis(50);
        let at = |ms| state_at(Duration::from_millis(ms), step, false);
        assert_eq!(
            [
                at(0),
                at(49),
                at(50),
                at(100),
                at(150),
                at(199),
                at(200),
                at(10_000)
            ],
            [
                "initial",
                "initial",
                "primary",
                "archive",
                "secondary",
                "secondary",
                "done",
                "done"
            ]
        );
        assert_eq!(state_at(Duration::from_secs(3600), step, true), "secondary");
        assert_eq!(state_at(Duration::ZERO, Duration::ZERO, false), "done");
        assert_eq!(state_at(Duration::ZERO, Duration::ZERO, true), "secondary");
    }
}
