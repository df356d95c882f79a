//! Iterable: `POST /api/users/forget` and `GET /api/users/forgotten`.
//!
//! From support.iterable.com 360029174171 ("Responding to GDPR requests") and Iterable's
//! OpenAPI: the `Api-Key` header; one user per request, `{"email"}` or `{"userId"}` as the
//! project type allows (email-based projects by email only, userID-based ones by userId
//! only, hybrid either); answers in `{"msg","code","params"}`; forgetting "can take up to ten
//! minutes"; the forgotten list holds SHA-256 hashes of the identifier lowercased with its
//! whitespace stripped, never the values; 3 requests per second per project.

use std::time::Instant;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Handled;
use crate::IterableProjectType;
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

#[derive(Debug, Default)]
pub(crate) struct State {
    /// (hash, is an email, when it was forgotten on the sandbox clock).
    forgotten: Vec<(String, bool, Instant)>,
}

/// Iterable's answer body.
pub(crate) fn body(msg: &str, code: &str) -> Value {
    json!({ "msg": msg, "code": code, "params": null })
}

fn answer(status: u16, msg: &str, code: &str) -> Handled {
    Handled::unchanged(Response::json(status, &body(msg, code)))
}

/// Iterable's `code` for an HTTP status it answers with.
pub(crate) fn code(status: u16) -> &'static str {
    match status {
        400 => "BadParams",
        401 => "BadApiKey",
        403 => "Forbidden",
        429 => "RateLimitExceeded",
        _ => "GenericError",
    }
}

/// The hash Iterable lists: SHA-256 (hex) of the value lowercased, whitespace removed.
pub(crate) fn hash(value: &str) -> String {
    let normal: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    hex(&Sha256::digest(normal.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn authorized(shared: &Shared, req: &Request) -> bool {
    req.header("api-key") == Some(shared.cfg.credentials.iterable_api_key.as_str())
}

pub(crate) fn forget(shared: &Shared, req: &Request) -> Handled {
    if !authorized(shared, req) {
        return answer(401, "Invalid API key", "BadApiKey");
    }
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&req.body) else {
        return answer(
            400,
            "Could not parse the request body as JSON",
            "BadJsonBody",
        );
    };
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let (value, is_email) = match (text("email"), text("userId")) {
        (Some(_), Some(_)) => return answer(400, "Send email or userId, not both", "BadParams"),
        (Some(e), None) => (e, true),
        (None, Some(u)) => (u, false),
        (None, None) => return answer(400, "email or userId is required", "BadParams"),
    };
    match (shared.cfg.iterable_project_type, is_email) {
        (IterableProjectType::EmailBased, false) => {
            return answer(
                400,
                "This project forgets users by email, not userId",
                "BadParams",
            );
        }
        (IterableProjectType::UserIdBased, true) => {
            return answer(
                400,
                "This project forgets users by userId, not email",
                "BadParams",
            );
        }
        _ => {}
    }
    if is_email && !looks_like_email(value) {
        return answer(400, "Invalid email address", "BadParams");
    }
    if !shared.admit(VendorKind::Iterable, "", 1) {
        return Handled::unchanged(super::throttled(VendorKind::Iterable));
    }
    let h = hash(value);
    let mut state = shared.iterable.lock().expect("iterable lock");
    // Forgetting a forgotten user again is harmless and keeps the first time.
    if !state
        .forgotten
        .iter()
        .any(|(x, e, _)| *x == h && *e == is_email)
    {
        let at = shared.now();
        state.forgotten.push((h, is_email, at));
    }
    Handled::applied(Response::json(200, &body("", "Success")))
}

fn looks_like_email(v: &str) -> bool {
    v.split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

pub(crate) fn forgotten(shared: &Shared, req: &Request) -> Handled {
    if !authorized(shared, req) {
        return answer(401, "Invalid API key", "BadApiKey");
    }
    if !shared.admit(VendorKind::Iterable, "", 0) {
        return Handled::unchanged(super::throttled(VendorKind::Iterable));
    }
    let now = shared.now();
    let delay = shared.cfg.iterable_forget_delay;
    let state = shared.iterable.lock().expect("iterable lock");
    // The OpenAPI's `GetForgottenUserEmailsResponse` has one field, `emails`, and the
    // support page says to look for "the email address or ID" hashed in that list: a
    // userID-based project's forgotten IDs are listed there too.
    let listed: Vec<Value> = state
        .forgotten
        .iter()
        .filter(|(_, _, at)| now.saturating_duration_since(*at) >= delay)
        .map(|(h, _, _)| Value::String(h.clone()))
        .collect();
    Handled::unchanged(Response::json(200, &json!({ "emails": listed })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_the_normalised_value() {
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hash(" A b\tC "), abc);
        assert_ne!(hash("a@b.co"), hash("a@b.com"));
    }
}
