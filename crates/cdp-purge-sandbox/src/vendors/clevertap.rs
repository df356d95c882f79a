//! CleverTap: `POST /1/delete/profiles.json`, and `GET /1/profile.json` to look one
//! profile up.
//!
//! Account ID and passcode headers; `identity` or `guid` (never both), a string or an array
//! of 1–100 strings; 200 `{"status":"success"}`. The concurrency cap (3 in flight) is
//! enforced by the server before the handler runs.
//!
//! A deletion is queued and processed 24 hours later by the sandbox's clock (seed 002);
//! until then the profile is still there. The profile lookup answers the documented
//! `{"status":"success","record":{…}}` for a profile; CleverTap's "not found" is not in the
//! pages checked, so the sandbox answers it in its documented error shape,
//! `{"status":"fail","error":"Profile not found","code":404}` with HTTP 404, which a client
//! must not read as a deletion either: CleverTap does not document it. Values
//! containing `several` have two records, `undocumented` an answer in another shape, and
//! `broken` a 500 every time: the answers a client must not read as a deletion.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Handled, error};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

const MAX_VALUES: usize = 100;

/// CleverTap processes a deletion this long after it queued it.
const DELAY: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Default)]
pub(crate) struct State {
    /// (`identity` or `guid`, value) → when its deletion was queued (the sandbox clock).
    queued: HashMap<(String, String), Instant>,
}

impl State {
    /// Bring deleted profiles back (new events for the same identity).
    pub fn recreate(&mut self, values: &[&str]) -> usize {
        let before = self.queued.len();
        self.queued
            .retain(|(_, v), _| !values.contains(&v.as_str()));
        before - self.queued.len()
    }
}

fn fail(status: u16, message: &str) -> Handled {
    Handled::unchanged(error(VendorKind::Clevertap, status, message))
}

pub(crate) fn delete(shared: &Shared, req: &Request) -> Handled {
    let creds = &shared.cfg.credentials;
    if req.header("x-clevertap-account-id") != Some(creds.clevertap_account_id.as_str())
        || req.header("x-clevertap-passcode") != Some(creds.clevertap_passcode.as_str())
    {
        // The status and text are not documented; 401 with CleverTap's error shape.
        return fail(401, "Invalid account ID or passcode");
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return fail(400, "Payload is mandatory");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return fail(400, "Invalid payload. Malformed JSON.");
    };
    let obj = match &body {
        Value::Null => return fail(400, "Payload is mandatory"),
        Value::Object(o) if o.is_empty() => {
            return fail(400, "Invalid payload. Empty payload is not allowed.");
        }
        Value::Object(o) => o,
        _ => return fail(400, "Invalid payload. Malformed JSON."),
    };
    let (key, what) = match (obj.get("identity"), obj.get("guid")) {
        (Some(_), Some(_)) => {
            return fail(
                400,
                "Invalid payload. Received both guid and identity. Only one of them is allowed.",
            );
        }
        (Some(v), None) => (v, "identities"),
        (None, Some(v)) => (v, "guids"),
        (None, None) => {
            return fail(
                400,
                "Sending either identities or guids in payload is mandatory",
            );
        }
    };
    let count = match key {
        Value::String(s) if !s.is_empty() => 1,
        Value::Array(a) if a.is_empty() => {
            return fail(400, "Invalid payload. Empty payload is not allowed.");
        }
        Value::Array(a) if a.len() > MAX_VALUES => {
            let message = format!("Invalid payload. Max 100 {what} allowed per request.");
            return fail(400, &message);
        }
        Value::Array(a)
            if a.iter()
                .all(|v| matches!(v, Value::String(s) if !s.is_empty())) =>
        {
            a.len()
        }
        _ => {
            let message = format!("Invalid payload. {what} must be non-empty strings.");
            return fail(400, &message);
        }
    };
    if !shared.admit(VendorKind::Clevertap, "", count) {
        return Handled::unchanged(super::throttled(VendorKind::Clevertap));
    }
    let kind = if what == "guids" { "guid" } else { "identity" };
    let values: Vec<&str> = match key {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let now = shared.now();
    let mut state = shared.clevertap.lock().expect("clevertap lock");
    for v in values {
        state
            .queued
            .entry((kind.to_owned(), v.to_owned()))
            .or_insert(now);
    }
    Handled::applied(Response::json(200, &json!({ "status": "success" })))
}

/// `GET /1/profile.json?identity=…` (or `objectId=…` for a guid).
pub(crate) fn profile(shared: &Shared, req: &Request) -> Handled {
    let creds = &shared.cfg.credentials;
    if req.header("x-clevertap-account-id") != Some(creds.clevertap_account_id.as_str())
        || req.header("x-clevertap-passcode") != Some(creds.clevertap_passcode.as_str())
    {
        return fail(401, "Invalid account ID or passcode");
    }
    let (kind, value) = match (req.query_param("identity"), req.query_param("objectId")) {
        (Some(v), None) if !v.is_empty() => ("identity", v),
        (None, Some(v)) if !v.is_empty() => ("guid", v),
        _ => return fail(400, "One of identity or objectId is required"),
    };
    if value.contains("broken") {
        return fail(500, "Server Error. Please retry later");
    }
    let record = |v: &str| json!({ "identity": v, "profileData": {}, "platformInfo": [] });
    if value.contains("undocumented") {
        return Handled::unchanged(Response::json(
            200,
            &json!({ "status": "success", "profile": record(&value) }),
        ));
    }
    if value.contains("several") {
        return Handled::unchanged(Response::json(
            200,
            &json!({ "status": "success", "record": [record(&value), record(&value)] }),
        ));
    }
    let state = shared.clevertap.lock().expect("clevertap lock");
    let processed = state
        .queued
        .get(&(kind.to_owned(), value.clone()))
        .is_some_and(|at| *at + DELAY <= shared.now());
    if processed {
        return Handled::unchanged(Response::json(
            404,
            &json!({ "status": "fail", "error": "Profile not found", "code": 404 }),
        ));
    }
    Handled::unchanged(Response::json(
        200,
        &json!({ "status": "success", "record": record(&value) }),
    ))
}
