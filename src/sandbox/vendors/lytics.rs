//! Lytics: `DELETE /v2/identity/queue/bulk/{table}/{field}` and
//! `GET /v2/identity/deletestatus/{request_id}`.
//!
//! Documented behaviour reproduced: raw-token auth (no `Bearer`), 400 for a bare array,
//! per-value request IDs, junk values under `errors`, idempotent resubmission (the original
//! request ID comes back), and the five deletion states.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{Handled, error};
use crate::sandbox::http::{Request, Response};
use crate::sandbox::state::Shared;
use crate::vendor::VendorKind;

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

fn authorized(shared: &Shared, req: &Request) -> bool {
    req.header("authorization") == Some(shared.cfg.credentials.lytics_token.as_str())
}

fn fail(status: u16, message: &str) -> Handled {
    Handled::unchanged(error(VendorKind::Lytics, status, message))
}

pub(crate) fn bulk(shared: &Shared, req: &Request, table: &str, field: &str) -> Handled {
    if !authorized(shared, req) {
        return fail(401, "Unauthorized: invalid or missing API token");
    }
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
        return fail(401, "Unauthorized: invalid or missing API token");
    }
    let state = shared.lytics.lock().expect("lytics lock");
    let Some(deletion) = state.deletions.get(id) else {
        return fail(404, "Deletion request not found");
    };
    let state_name = state_at(
        deletion.queued_at.elapsed(),
        shared.cfg.lytics_state_step,
        deletion.stuck,
    );
    Handled::unchanged(Response::json(
        200,
        &json!({ "data": {
            "request_id": id,
            "state": state_name,
            "completed": state_name == "done",
        } }),
    ))
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
