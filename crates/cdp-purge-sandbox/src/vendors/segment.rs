//! Twilio Segment: `POST /v1/spaces/{space}/collections/users/profiles/user_id:{uid}/external_ids/delete`.
//!
//! Basic auth with the token as user and an empty password; one external id per request;
//! 100 requests per second per space over any sliding window. A repeated delete of an
//! identifier already removed answers 404 `eid_not_found`, which is what the docs imply.

use std::collections::HashSet;

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
    let key = (space, uid, kind, id);
    let mut state = shared.segment.lock().expect("segment lock");
    if state.deleted.contains(&key) {
        return fail(404, "eid_not_found", "External identifier not found");
    }
    state.deleted.insert(key);
    Handled::applied(Response::json(
        200,
        &json!({ "code": "success", "message": "External identifier has been deleted." }),
    ))
}

/// Profile API lookup of a profile's external ids. The sandbox keeps no profiles, so a
/// valid call answers 404 `not_found` "Profile was not found.", as Segment does for an
/// unknown user_id; wrong credentials and inactive spaces answer as for a deletion.
pub(crate) fn lookup(shared: &Shared, req: &Request, space: &str, lookup: &str) -> Handled {
    let token_ok = matches!(
        basic_auth(req),
        Some((user, password)) if user == shared.cfg.credentials.segment_token && password.is_empty()
    );
    if !token_ok {
        return fail(401, "unauthorized", "The specified token is invalid");
    }
    let (Some(space), Some(_lookup)) = (decode(space), decode(lookup)) else {
        return fail(400, "bad_request", "Missing required parameters in URL");
    };
    if let Some(h) = wrong_space(shared, &space) {
        return h;
    }
    if !shared.admit(VendorKind::Segment, &space, 1) {
        return Handled::unchanged(super::throttled(VendorKind::Segment));
    }
    fail(404, "not_found", "Profile was not found.")
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
