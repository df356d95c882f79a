//! mParticle's Profile API, the route its bulk-deletion page gives for verifying a deletion
//! (seed 004, "Verify using the Profile API"), and the OAuth token endpoint in front of it.
//!
//! - `POST /oauth/token` with `{client_id, client_secret, audience:
//!   "https://api.mparticle.com", grant_type: "client_credentials"}` answers
//!   `{access_token, expires_in: 28800, token_type: "Bearer"}` (8 hours, as documented).
//! - `GET /userprofile/v1/{org}/{account}/{workspace}/{mpid}?fields=…` with the bearer token
//!   answers the profile (`{"mpid", "user_identities"}`), or for an MPID the sandbox deleted,
//!   "an error stating that the MPID provided could not be found" (seed 004). The page does
//!   not give that error's status or body; the sandbox answers 404 in the error shape of the
//!   sibling APIs.
//!
//! - `POST /userprofile/v1/resolve/{org}/{account}/{workspace}?fields=…` with
//!   `{environment_type, identity: {type, value}}` answers the profile the identity
//!   resolves to (same shape, with an `mpid`), or for an identity the sandbox deleted a 404
//!   `Profile not found` (mParticle documents no "not found" for this route; its status
//!   table has 400 "the requested profile is invalid"), so a client must not read it as a
//!   deletion). Values containing `several`
//!   resolve to two profiles, `undocumented` to an answer in another shape, and `broken`
//!   to a 500 every time.
//!
//! Every MPID the sandbox has not deleted has a profile; [`crate::Sandbox::recreate`] brings
//! a deleted one back. The org, account and workspace must be numbers; anything else is
//! answered with the undocumented 404 `{"message":"Not Found"}` a wrong path gets, which a
//! client must not take for "deleted".

use serde_json::{Value, json};

use super::{Handled, error_for};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

/// The only token the fake hands out (the credential, not a secret worth protecting).
const TOKEN: &str = "sandbox-profile-api-token";

pub(crate) fn token(shared: &Shared, req: &Request) -> Handled {
    let creds = &shared.cfg.credentials;
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let field = |k: &str| body.get(k).and_then(Value::as_str);
    if field("grant_type") != Some("client_credentials")
        || field("audience") != Some("https://api.mparticle.com")
    {
        return Handled::unchanged(Response::json(
            400,
            &json!({ "error": "invalid_request", "error_description": "grant_type and audience are required" }),
        ));
    }
    if field("client_id") != Some(creds.mparticle_client_id.as_str())
        || field("client_secret") != Some(creds.mparticle_client_secret.as_str())
    {
        return Handled::unchanged(Response::json(
            401,
            &json!({ "error": "access_denied", "error_description": "Unauthorized" }),
        ));
    }
    Handled::unchanged(Response::json(
        200,
        &json!({ "access_token": TOKEN, "expires_in": 28800, "token_type": "Bearer" }),
    ))
}

/// The answer to a request without the bearer token (401), or for an org, account or
/// workspace that is not a number (the undocumented 404 a wrong path gets), if either.
fn refuse(shared: &Shared, req: &Request, ids: [&String; 3]) -> Option<Handled> {
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return Some(Handled::unchanged(error_for(
            shared,
            VendorKind::Mparticle,
            401,
            "Unauthorized: the bearer token is missing or invalid",
        )));
    }
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (!ids.iter().all(|s| numeric(s)))
        .then(|| Handled::unchanged(Response::json(404, &json!({ "message": "Not Found" }))))
}

pub(crate) fn profile(shared: &Shared, req: &Request, path: &[String; 4]) -> Handled {
    let [org, account, workspace, mpid] = path;
    if let Some(refused) = refuse(shared, req, [org, account, workspace]) {
        return refused;
    }
    let Ok(mpid) = mpid.parse::<i64>() else {
        return Handled::unchanged(error_for(
            shared,
            VendorKind::Mparticle,
            400,
            "The requested profile is invalid",
        ));
    };
    if !shared.admit(VendorKind::Mparticle, "profile-api", 1) {
        return Handled::unchanged(super::throttled(VendorKind::Mparticle));
    }
    if shared
        .mparticle
        .lock()
        .expect("mparticle lock")
        .is_deleted(mpid)
    {
        return Handled::unchanged(error_for(
            shared,
            VendorKind::Mparticle,
            404,
            "The MPID provided could not be found",
        ));
    }
    Handled::unchanged(Response::json(
        200,
        &json!({
            "mpid": mpid,
            "user_identities": [{ "type": "other", "value": format!("sandbox-{mpid}") }],
        }),
    ))
}

/// The bulk-deletion API's name for a Profile API identity type.
fn bulk_type(t: &str) -> &str {
    match t {
        "customer_id" => "customerid",
        other => other,
    }
}

pub(crate) fn resolve(shared: &Shared, req: &Request, path: &[String; 3]) -> Handled {
    let [org, account, workspace] = path;
    if let Some(refused) = refuse(shared, req, [org, account, workspace]) {
        return refused;
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let env = body.get("environment_type").and_then(Value::as_str);
    let id = body.get("identity");
    let field = |k: &str| id.and_then(|i| i.get(k)).and_then(Value::as_str);
    let (Some("development" | "production"), Some(kind), Some(value)) =
        (env, field("type"), field("value"))
    else {
        return Handled::unchanged(error_for(
            shared,
            VendorKind::Mparticle,
            400,
            "The request syntax is invalid",
        ));
    };
    if req.query_param("fields").is_none_or(|f| f.is_empty()) {
        return Handled::unchanged(error_for(
            shared,
            VendorKind::Mparticle,
            400,
            "The request syntax is invalid: fields is required",
        ));
    }
    if !shared.admit(VendorKind::Mparticle, "profile-api", 1) {
        return Handled::unchanged(super::throttled(VendorKind::Mparticle));
    }
    if value.contains("broken") {
        return Handled::unchanged(error_for(
            shared,
            VendorKind::Mparticle,
            500,
            "A server-side error has occurred",
        ));
    }
    let mpid = |which: &str| {
        (xxhash_rust::xxh3::xxh3_64(format!("{kind}:{value}{which}").as_bytes()) >> 2) as i64
    };
    let profile = |m: i64| {
        json!({
            "mpid": m,
            "user_identities": [{ "type": kind, "encoding": "none", "value": value }],
        })
    };
    if value.contains("undocumented") {
        return Handled::unchanged(Response::json(
            200,
            &json!({ "profile": profile(mpid("")) }),
        ));
    }
    if value.contains("several") {
        return Handled::unchanged(Response::json(
            200,
            &json!([profile(mpid("a")), profile(mpid("b"))]),
        ));
    }
    if shared
        .mparticle
        .lock()
        .expect("mparticle lock")
        .is_identity_deleted(bulk_type(kind), value)
    {
        return Handled::unchanged(error_for(
            shared,
            VendorKind::Mparticle,
            404,
            "Profile not found",
        ));
    }
    Handled::unchanged(Response::json(200, &profile(mpid(""))))
}
