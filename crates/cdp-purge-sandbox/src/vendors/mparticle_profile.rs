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

pub(crate) fn profile(shared: &Shared, req: &Request, path: &[String; 4]) -> Handled {
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return Handled::unchanged(error_for(
            shared,
            VendorKind::Mparticle,
            401,
            "Unauthorized: the bearer token is missing or invalid",
        ));
    }
    let [org, account, workspace, mpid] = path;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if ![org, account, workspace].iter().all(|s| numeric(s)) {
        return Handled::unchanged(Response::json(404, &json!({ "message": "Not Found" })));
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
