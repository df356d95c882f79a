//! Twilio Segment: `POST /v1/spaces/{space}/collections/users/profiles/user_id:{uid}/external_ids/delete`.
//!
//! Basic auth with the token as user and an empty password; one external id per request;
//! 100 requests per second per space over any sliding window. A repeated delete of an
//! identifier already removed answers 404 `eid_not_found`, which is what the docs imply.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::{Handled, basic_auth, decode};
use crate::SegmentWrongSpace;
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

#[derive(Debug, Default)]
pub(crate) struct State {
    /// (space, user_id, type, id) already deleted.
    deleted: HashSet<(String, String, String, String)>,
    /// (space, user_id) → the external ids a lookup found on that profile.
    profiles: HashMap<(String, String), Vec<(String, String)>>,
}

impl State {
    /// Give back deleted external ids with these values (an Event Archive replay).
    pub fn recreate(&mut self, values: &[&str]) -> usize {
        let before = self.deleted.len();
        self.deleted
            .retain(|(_, _, _, id)| !values.contains(&id.as_str()));
        before - self.deleted.len()
    }
}

/// The `code` Segment pairs with a status when nothing more specific applies.
pub(crate) fn default_code(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        429 => "rate_limit_error",
        503 => "service_unavailable",
        _ => "internal_server_error",
    }
}

/// The answer for a space the token does not belong to, if `space` is one (Segment does
/// not document it; [`SegmentWrongSpace`] picks one of the plausible answers).
fn wrong_space(shared: &Shared, space: &str) -> Option<Handled> {
    let known = shared.cfg.segment_spaces.as_ref()?;
    if known.iter().any(|s| s == space) {
        return None;
    }
    Some(match shared.cfg.segment_wrong_space {
        SegmentWrongSpace::ResourceNotFound => fail(404, "not_found", "The resource was not found"),
        SegmentWrongSpace::ProfileNotFound => fail(404, "not_found", "Profile was not found."),
        SegmentWrongSpace::SpaceNotFound => {
            fail(404, "not_found", &format!("Space {space} was not found"))
        }
        SegmentWrongSpace::Forbidden => fail(
            403,
            "forbidden",
            &format!("The token is not authorized for space {space}"),
        ),
    })
}

fn fail(status: u16, code: &str, message: &str) -> Handled {
    Handled::unchanged(Response::json(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    ))
}

pub(crate) fn delete(
    shared: &Shared,
    req: &Request,
    space: &str,
    collection: &str,
    lookup: &str,
) -> Handled {
    let token_ok = matches!(
        basic_auth(req),
        Some((user, password)) if user == shared.cfg.credentials.segment_token && password.is_empty()
    );
    if !token_ok {
        return fail(401, "unauthorized", "The specified token is invalid");
    }
    let (Some(space), Some(lookup)) = (decode(space), decode(lookup)) else {
        return fail(400, "bad_request", "Missing required parameters in URL");
    };
    if space.is_empty() || lookup.is_empty() {
        return fail(400, "bad_request", "Missing required parameters in URL");
    }
    if collection != "users" {
        let message = format!("Invalid collection: {collection}");
        return fail(400, "bad_request", &message);
    }
    let uid = match lookup.split_once(':') {
        Some(("user_id", uid)) if !uid.is_empty() => uid.to_owned(),
        Some(("user_id", _)) | None => {
            return fail(400, "bad_request", "Missing required parameters in URL");
        }
        Some((other, _)) => {
            let message = format!("Invalid URL: valid user_id is required. Unsupported {other}");
            return fail(400, "bad_request", &message);
        }
    };
    if let Some(h) = wrong_space(shared, &space) {
        return h;
    }
    if shared.cfg.segment_inactive_spaces.contains(&space) {
        let message = format!("Deleted identifier not activated for space_id {space}");
        return fail(403, "forbidden", &message);
    }
    if !shared.admit(VendorKind::Segment, &space, 1) {
        return Handled::unchanged(super::throttled(VendorKind::Segment));
    }
    let (kind, id) = match external_id(&req.body) {
        Ok(eid) => eid,
        Err(message) => return fail(400, "bad_request", message),
    };
    if !shared.cfg.segment_types.contains(&kind) {
        return fail(400, "unsupported_eid_type", "Unsupported external id type");
    }
    if id == uid {
        return fail(
            400,
            "bad_request",
            "External id specification must differ from lookup id",
        );
    }
    if uid.contains("unknown") {
        return fail(404, "not_found", "The resource was not found");
    }
    let mut state = shared.segment.lock().expect("segment lock");
    // The profile the deletion went to carried the identifier: a later `user_id:` lookup
    // finds the profile and, while it is deleted, no longer lists it.
    let known = state
        .profiles
        .entry((space.clone(), uid.clone()))
        .or_default();
    if !known.iter().any(|(t, v)| *t == kind && *v == id) {
        known.push((kind.clone(), id.clone()));
    }
    let key = (space, uid, kind, id);
    if state.deleted.contains(&key) {
        return fail(404, "eid_not_found", "External identifier not found");
    }
    state.deleted.insert(key);
    Handled::applied(Response::json(
        200,
        &json!({ "code": "success", "message": "External identifier has been deleted." }),
    ))
}

/// Profile API `GET …/profiles/{type}:{value}/external_ids` (SEG-PAPI): the profile's
/// external ids, `include` filtering by type, `limit` (1–100, default 10) and `next` paging,
/// or 404 `not_found` "Profile was not found.".
///
/// The sandbox's people: any value of a type other than `user_id` belongs to one profile
/// whose user_id is derived from it, except values containing `unknown` (no profile) and
/// `multi` (a profile carrying two user_ids). A `user_id:` lookup finds the profiles earlier
/// lookups and deletions found (others, like the preflight's, are not found). An external
/// id deleted from a profile no longer finds it, and is no longer listed; re-created, it is
/// listed again. A value containing `undocumented` is answered in another shape, and one
/// containing `broken` with a 500 every time.
pub(crate) fn lookup(shared: &Shared, req: &Request, space: &str, lookup: &str) -> Handled {
    let token_ok = matches!(
        basic_auth(req),
        Some((user, password)) if user == shared.cfg.credentials.segment_token && password.is_empty()
    );
    if !token_ok {
        return fail(401, "unauthorized", "The specified token is invalid");
    }
    let (Some(space), Some(lookup)) = (decode(space), decode(lookup)) else {
        return fail(400, "bad_request", "Missing required parameters in URL");
    };
    if let Some(h) = wrong_space(shared, &space) {
        return h;
    }
    if !shared.admit(VendorKind::Segment, &space, 1) {
        return Handled::unchanged(super::throttled(VendorKind::Segment));
    }
    let Some((kind, value)) = lookup
        .split_once(':')
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
    else {
        return fail(400, "bad_request", "Missing required parameters in URL");
    };
    let limit = match req.query_param("limit") {
        None => 10,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return fail(
                    400,
                    "validation_error",
                    "The parameter `limit` must be between 1 and 100",
                );
            }
        },
    };
    if value.contains("broken") {
        return fail(
            500,
            "internal_server_error",
            "Something went wrong on Segment's side",
        );
    }
    let mut state = shared.segment.lock().expect("segment lock");
    let Some((uid, ids)) = state.profile(&space, kind, value) else {
        return fail(404, "not_found", "Profile was not found.");
    };
    let include = req.query_param("include");
    let wanted = |t: &str| {
        include
            .as_deref()
            .is_none_or(|inc| inc.split(',').any(|i| i.trim() == t))
    };
    let listed: Vec<&(String, String)> = ids.iter().filter(|(t, _)| wanted(t)).collect();
    let from: usize = req
        .query_param("next")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = listed
        .iter()
        .skip(from)
        .take(limit)
        .map(|(t, id)| {
            json!({
                "source_id": "sandbox",
                "collection": "users",
                "id": id,
                "type": t,
                "created_at": "2026-01-20T00:00:00.000Z",
                "encoding": "none",
            })
        })
        .collect();
    let has_more = from + page.len() < listed.len();
    if value.contains("undocumented") {
        return Handled::unchanged(Response::json(
            200,
            &json!({ "external_ids": page, "has_more": has_more }),
        ));
    }
    Handled::unchanged(Response::json(
        200,
        &json!({
            "data": page,
            "cursor": {
                "url": format!("/v1/spaces/{space}/collections/users/profiles/{uid}/external_ids"),
                "has_more": has_more,
                "next": if has_more { (from + page.len()).to_string() } else { String::new() },
            }
        }),
    ))
}

impl State {
    /// The profile a lookup finds: its first user_id and its external ids (user_ids
    /// first), or `None`.
    fn profile(
        &mut self,
        space: &str,
        kind: &str,
        value: &str,
    ) -> Option<(String, Vec<(String, String)>)> {
        let uids: Vec<String> = if kind == "user_id" {
            if !self
                .profiles
                .contains_key(&(space.to_owned(), value.to_owned()))
            {
                return None;
            }
            vec![value.to_owned()]
        } else if value.contains("unknown") {
            return None;
        } else if value.contains("multi") {
            vec![uid_of(value, "a"), uid_of(value, "b")]
        } else {
            vec![uid_of(value, "")]
        };
        let gone = |uid: &str, t: &str, v: &str| {
            self.deleted
                .contains(&(space.to_owned(), uid.to_owned(), t.to_owned(), v.to_owned()))
        };
        if kind != "user_id" && uids.iter().all(|u| gone(u, kind, value)) {
            return None;
        }
        let first = uids[0].clone();
        if kind != "user_id" {
            let known = self
                .profiles
                .entry((space.to_owned(), first.clone()))
                .or_default();
            if !known.iter().any(|(t, v)| t == kind && v == value) {
                known.push((kind.to_owned(), value.to_owned()));
            }
            for u in &uids[1..] {
                self.profiles
                    .entry((space.to_owned(), u.clone()))
                    .or_default();
            }
        }
        let mut ids: Vec<(String, String)> = uids
            .iter()
            .map(|u| ("user_id".to_owned(), u.clone()))
            .collect();
        if let Some(known) = self.profiles.get(&(space.to_owned(), first.clone())) {
            ids.extend(known.iter().filter(|(t, v)| !gone(&first, t, v)).cloned());
        }
        Some((first, ids))
    }
}

/// The sandbox's user_id for the person with this external id value.
fn uid_of(value: &str, which: &str) -> String {
    format!(
        "uid-{:016x}{which}",
        xxhash_rust::xxh3::xxh3_64(value.as_bytes())
    )
}

/// The one `{"id","type"}` of `delete_external_ids`.
fn external_id(body: &[u8]) -> Result<(String, String), &'static str> {
    let body: Value =
        serde_json::from_slice(body).map_err(|_| "Invalid request body: malformed JSON")?;
    let list = body
        .get("delete_external_ids")
        .and_then(Value::as_array)
        .ok_or("Missing required parameter: delete_external_ids")?;
    let [eid] = list.as_slice() else {
        return Err("Only one external_id can be deleted at a time");
    };
    let field = |name| {
        eid.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match (field("type"), field("id")) {
        (Some(kind), Some(id)) => Ok((kind, id)),
        _ => Err("Missing required parameters: id and type"),
    }
}
