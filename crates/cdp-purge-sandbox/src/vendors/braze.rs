//! Braze: `POST /users/delete` on a REST instance (`rest.iad-01.braze.com`, …).
//!
//! From braze.com/docs/api/endpoints/user_data/post_user_delete and the API-limits page:
//! Bearer REST key with `users.delete`; up to 50 `external_ids`, `user_aliases`
//! (`{alias_name, alias_label}`), `braze_ids`, `email_addresses` or `phone_numbers`, only
//! one of them per request; 20,000 requests per minute, shared with other user endpoints,
//! 429 beyond with `X-RateLimit-Limit`, `-Remaining` and `-Reset`; the answer counts the
//! profiles queued for deletion (`{"deleted": n, "message": "success"}`), not which ones;
//! deletion cannot be undone and there is no status endpoint.
//!
//! Braze's help centre ("Remove users via API") describes several profiles sharing one email
//! address, so an email or phone number can name more than one profile.
//!
//! Magic values: an identifier containing `unknown` matches no profile (it is not counted
//! in `deleted`); an email address or phone number containing `shared` names two profiles
//! (both counted); a profile deleted once is not counted again.

use std::collections::HashSet;
use std::time::UNIX_EPOCH;

use serde_json::{Map, Value, json};

use super::{Handled, error};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

const MAX_IDS: usize = 50;
const KINDS: [&str; 5] = [
    "external_ids",
    "user_aliases",
    "braze_ids",
    "email_addresses",
    "phone_numbers",
];

#[derive(Debug, Default)]
pub(crate) struct State {
    /// `kind:value` of every profile deleted so far.
    deleted: HashSet<String>,
}

fn fail(status: u16, message: &str) -> Handled {
    Handled::unchanged(error(VendorKind::Braze, status, message))
}

/// The identifiers of a request body, for the request log (alias names for aliases).
pub(crate) fn values(body: &Value) -> Vec<String> {
    let Some(obj) = body.as_object() else {
        return Vec::new();
    };
    KINDS
        .iter()
        .filter_map(|k| obj.get(*k)?.as_array())
        .flatten()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Object(a) => a
                .get("alias_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            other => other.to_string(),
        })
        .collect()
}

pub(crate) fn delete(shared: &Shared, req: &Request) -> Handled {
    let ok = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(s, t)| {
            s.eq_ignore_ascii_case("bearer") && t == shared.cfg.credentials.braze_api_key
        });
    if !ok {
        return fail(401, "Invalid API key");
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return fail(400, "Invalid JSON body");
    };
    let keys = match parse(&body) {
        Ok(k) => k,
        Err(message) => return fail(400, &message),
    };
    if !shared.admit(VendorKind::Braze, "", 0) {
        return Handled::unchanged(rate_headers(shared, super::throttled(VendorKind::Braze)));
    }
    let mut state = shared.braze.lock().expect("braze lock");
    let deleted: usize = keys
        .into_iter()
        .filter(|k| !k.contains("unknown"))
        .filter(|k| state.deleted.insert(k.clone()))
        .map(|k| profiles_named(&k))
        .sum();
    drop(state);
    Handled::applied(rate_headers(
        shared,
        Response::json(201, &json!({ "deleted": deleted, "message": "success" })),
    ))
}

/// How many profiles a `kind:value` key names: two for a `shared` email or phone number.
fn profiles_named(key: &str) -> usize {
    let several = key.starts_with("email_addresses:") || key.starts_with("phone_numbers:");
    if several && key.contains("shared") {
        2
    } else {
        1
    }
}

/// The `kind:value` keys of a valid body, or Braze's reason to refuse it.
fn parse(body: &Map<String, Value>) -> Result<Vec<String>, String> {
    let present: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| body.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    let kind = match present.as_slice() {
        [one] => *one,
        [] => return Err(format!("one of {} is required", KINDS.join(", "))),
        _ => return Err(format!("only one of {} may be given", KINDS.join(", "))),
    };
    let Some(items) = body[kind].as_array() else {
        return Err(format!("{kind} must be an array"));
    };
    if items.is_empty() || items.len() > MAX_IDS {
        return Err(format!("{kind} must hold 1 to {MAX_IDS} identifiers"));
    }
    items
        .iter()
        .map(|v| match (kind, v) {
            ("user_aliases", Value::Object(a)) => {
                match (a.get("alias_name"), a.get("alias_label")) {
                    (Some(Value::String(n)), Some(Value::String(l)))
                        if !n.is_empty() && !l.is_empty() =>
                    {
                        Ok(format!("alias:{l}:{n}"))
                    }
                    _ => Err("each user alias needs alias_name and alias_label".into()),
                }
            }
            ("user_aliases", _) => Err("user_aliases must be user alias objects".into()),
            (_, Value::String(s)) if !s.is_empty() => Ok(format!("{kind}:{s}")),
            _ => Err(format!("{kind} must be non-empty strings")),
        })
        .collect()
}

/// Braze's rate-limit headers: the request quota, what is left of it in the window, and
/// the epoch second the oldest request counted leaves it.
fn rate_headers(shared: &Shared, resp: Response) -> Response {
    let Some(rate) = shared.cfg.quota(VendorKind::Braze).requests else {
        return resp;
    };
    let (used, oldest) = shared
        .window_use(VendorKind::Braze, "", false)
        .unwrap_or((0, None));
    let frees = oldest.map_or(rate.per, |t| t.saturating_duration_since(shared.now()));
    let reset = (shared.wall() + frees)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    resp.with_header("x-ratelimit-limit", rate.count.to_string())
        .with_header(
            "x-ratelimit-remaining",
            u64::from(rate.count).saturating_sub(used).to_string(),
        )
        .with_header("x-ratelimit-reset", reset.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn one_identifier_type_of_at_most_fifty() {
        assert_eq!(
            parse(&obj(json!({"external_ids":["a","b"]}))).unwrap(),
            ["external_ids:a", "external_ids:b"]
        );
        assert!(parse(&obj(json!({"external_ids":["a"],"braze_ids":["b"]}))).is_err());
        assert!(parse(&obj(json!({}))).is_err());
        let many: Vec<String> = (0..51).map(|i| i.to_string()).collect();
        assert!(parse(&obj(json!({ "email_addresses": many }))).is_err());
        assert_eq!(
            parse(&obj(
                json!({"user_aliases":[{"alias_name":"n","alias_label":"l"}]})
            ))
            .unwrap(),
            ["alias:l:n"]
        );
        assert!(parse(&obj(json!({"user_aliases":["n"]}))).is_err());
    }
}
