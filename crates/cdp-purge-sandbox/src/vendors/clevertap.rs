//! CleverTap: `POST /1/delete/profiles.json`.
//!
//! Account ID and passcode headers; `identity` or `guid` (never both), a string or an array
//! of 1–100 strings; 200 `{"status":"success"}`. The concurrency cap (3 in flight) is
//! enforced by the server before the handler runs.

use serde_json::{Value, json};

use super::{Handled, error};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

const MAX_VALUES: usize = 100;

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
    Handled::applied(Response::json(200, &json!({ "status": "success" })))
}
