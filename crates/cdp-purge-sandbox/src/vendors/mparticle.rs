//! mParticle: `POST /userprofile/bulkdelete`.
//!
//! Basic auth (workspace key and secret); a JSON array of 1–100 profile objects; 202 with no
//! body; 1500 profiles per second counted over any sliding one-second window. The page
//! documents the error messages but not the body around them: its sibling s2s APIs use
//! `{"errors":[{"code","message"}]}`, which is the default here, with `{"message"}` as the
//! other plausible shape ([`crate::MparticleErrors`]).

use std::collections::HashSet;

use serde_json::Value;

use super::{Handled, basic_auth, error_for};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

const MAX_PROFILES: usize = 100;

/// The profiles the sandbox deleted, for the Profile API fake: every MPID it has not
/// deleted has a profile.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// MPIDs, as decimal text.
    deleted: HashSet<String>,
    /// (identity type, value) deleted by identity.
    deleted_identities: HashSet<(String, String)>,
}

impl State {
    pub fn is_deleted(&self, mpid: i64) -> bool {
        self.deleted.contains(&mpid.to_string())
    }

    /// Whether a profile was deleted by this (bulk-deletion) identity type and value.
    pub fn is_identity_deleted(&self, kind: &str, value: &str) -> bool {
        self.deleted_identities
            .contains(&(kind.to_owned(), value.to_owned()))
    }

    /// Un-delete MPIDs or identity values (any type).
    pub fn recreate(&mut self, values: &[&str]) -> usize {
        let mut n = 0;
        for v in values {
            let mpid = v.parse::<i64>().map(|m| m.to_string()).unwrap_or_default();
            let before = self.deleted_identities.len();
            self.deleted_identities.retain(|(_, value)| value != v);
            if self.deleted.remove(&mpid) || self.deleted_identities.len() < before {
                n += 1;
            }
        }
        n
    }

    fn delete(&mut self, profile: &Value) {
        if let Some(mpid) = profile.get("mpid").filter(|m| !m.is_null()) {
            let mpid = match mpid {
                Value::String(s) => s.parse::<i64>().ok(),
                v => v.as_i64(),
            };
            if let Some(m) = mpid {
                self.deleted.insert(m.to_string());
            }
            return;
        }
        if let Some(Value::Object(ids)) = profile.get("identities") {
            for (k, v) in ids {
                if let Some(v) = v.as_str() {
                    self.deleted_identities.insert((k.clone(), v.to_owned()));
                }
            }
        }
    }
}

fn fail(shared: &Shared, status: u16, message: &str) -> Handled {
    Handled::unchanged(error_for(shared, VendorKind::Mparticle, status, message))
}

pub(crate) fn bulk_delete(shared: &Shared, req: &Request) -> Handled {
    let creds = &shared.cfg.credentials;
    match basic_auth(req) {
        Some((key, secret)) if key == creds.mparticle_key && secret == creds.mparticle_secret => {}
        _ => {
            return fail(
                shared,
                401,
                "Unauthorized: authentication missing or invalid",
            );
        }
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) if req.body.iter().all(u8::is_ascii_whitespace) => {
            return fail(
                shared,
                400,
                "Invalid request. Please ensure the request is not null.",
            );
        }
        Err(_) => return fail(shared, 400, "Bad Request: malformed JSON"),
    };
    let profiles = match &body {
        Value::Null => {
            return fail(
                shared,
                400,
                "Invalid request. Please ensure the request is not null.",
            );
        }
        Value::Array(a) if (1..=MAX_PROFILES).contains(&a.len()) => a,
        _ => {
            return fail(
                shared,
                400,
                "Bad Request: the body must be a single array of 1-100 objects",
            );
        }
    };
    for profile in profiles {
        if let Err(message) = check_profile(shared, profile) {
            return fail(shared, 400, message);
        }
    }
    if !shared.admit(VendorKind::Mparticle, "", profiles.len()) {
        return Handled::unchanged(super::throttled(VendorKind::Mparticle));
    }
    // Deletion is logical and a 202 confirms nothing per profile; the Profile API fake
    // answers "not found" for what was deleted.
    let mut state = shared.mparticle.lock().expect("mparticle lock");
    for p in profiles {
        state.delete(p);
    }
    Handled::applied(Response::empty(202))
}

fn check_profile(shared: &Shared, profile: &Value) -> Result<(), &'static str> {
    let Some(obj) = profile.as_object() else {
        return Err("Invalid request. Please ensure the request is not null.");
    };
    match obj.get("environment_type").and_then(Value::as_str) {
        Some("production" | "development") => {}
        _ => {
            return Err(
                "Bad Request: environment_type is required and must be production or development",
            );
        }
    }
    if obj.get("action").and_then(Value::as_str) != Some("delete") {
        return Err("Invalid request. Please ensure the action is set to delete.");
    }
    // With both present the MPID wins and the identities are ignored.
    if let Some(mpid) = obj.get("mpid").filter(|m| !m.is_null()) {
        return if is_mpid(mpid) {
            Ok(())
        } else {
            Err("Bad Request: mpid must be a signed 64-bit integer")
        };
    }
    match obj.get("identities") {
        Some(Value::Object(ids)) if !ids.is_empty() => {
            let unique = &shared.cfg.mparticle_unique_identities;
            if ids.keys().any(|k| !unique.iter().any(|u| u == k)) {
                return Err(
                    "Invalid request. The identity type(s) must be unique. Please check your \
                     identity settings and only request deletion using unique identity types \
                     or MPIDs.",
                );
            }
            if ids
                .values()
                .any(|v| !matches!(v, Value::String(s) if !s.is_empty()))
            {
                return Err("Bad Request: identity values must be non-empty strings");
            }
            Ok(())
        }
        _ => Err("Invalid request. Please ensure the request contains an MPID or identities."),
    }
}

/// A signed 64-bit integer, as a JSON integer or (as the docs recommend) a string.
fn is_mpid(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_i64(),
        Value::String(s) => s.parse::<i64>().is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mpids_must_fit_in_i64() {
        assert!(is_mpid(&json!("-3728190466419522015")));
        assert!(is_mpid(&json!(42)));
        assert!(is_mpid(&json!(i64::MIN)));
        assert!(!is_mpid(&json!(u64::MAX)));
        assert!(!is_mpid(&json!("9223372036854775808")));
        assert!(!is_mpid(&json!(1.5)));
        assert!(!is_mpid(&json!("12a")));
        assert!(!is_mpid(&json!(true)));
    }
}
