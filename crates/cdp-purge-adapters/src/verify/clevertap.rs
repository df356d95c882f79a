//! CleverTap: a deletion is processed 24 hours after it was queued, and can then be
//! verified by asking for the profile: `GET /1/profile.json?identity={v}` (or
//! `?objectId={v}` for a run by `guid`; CleverTap's "Get User Profiles" API, download by
//! ID), with the account ID and passcode headers of the deletion.
//!
//! CleverTap documents the profile answer, `{"status":"success","record":{…}}`; its
//! "not found" is not in the pages checked. Its error body everywhere else is
//! `{"status":"fail","error":…,"code":…}`, so an answer counts as "no such profile" only in
//! that shape with an error that says the profile or user was not found. A `record` that is
//! not one object (several profiles), any other status or shape, and retries run out are
//! unknown.

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

use super::{Profile, redact};
use crate::clevertap::{ACCOUNT, PASSCODE};
use crate::{Request, Target, wire};
use cdp_purge_core::status::{Fetched, Poller};

pub struct CleverTapProfiles {
    /// `{base}/1/profile.json`.
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// Whether a `fail` error text says there is no such profile (not a refused account or a
/// malformed request).
pub fn is_profile_not_found(error: &str) -> bool {
    super::says_not_found(
        error,
        &["profile", "user", "record", "identity"],
        &["account", "passcode"],
    )
}

/// What a 2xx or 4xx body says, in CleverTap's documented shapes.
fn read(status: u16, body: &[u8]) -> Profile {
    let v: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return Profile::Unknown(Some(status), "an answer that is not JSON".into());
        }
    };
    let word = v.get("status").and_then(serde_json::Value::as_str);
    match (word, v.get("record")) {
        (Some("success"), Some(serde_json::Value::Object(r))) if !r.is_empty() => Profile::Found(
            status,
            "CleverTap still returns a profile for this identifier".into(),
        ),
        (Some("success"), Some(serde_json::Value::Array(a))) if a.len() > 1 => Profile::Unknown(
            Some(status),
            format!(
                "{} profiles for one identifier: not the documented single record",
                a.len()
            ),
        ),
        (Some("fail"), _) => match v.get("error").and_then(serde_json::Value::as_str) {
            Some(e) if is_profile_not_found(e) => Profile::Absent(
                status,
                "CleverTap finds no profile for this identifier".into(),
            ),
            _ => Profile::Unknown(
                Some(status),
                "a fail answer that does not say the profile was not found".into(),
            ),
        },
        _ => Profile::Unknown(
            Some(status),
            "an answer in a shape CleverTap does not document for a profile".into(),
        ),
    }
}

impl CleverTapProfiles {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let account = target.credential(ACCOUNT)?;
        Ok(Self {
            url: format!("{}/1/profile.json", target.base_url),
            headers: vec![
                (
                    HeaderName::from_static("x-clevertap-account-id"),
                    wire::secret_header(account, ACCOUNT)?,
                ),
                (
                    HeaderName::from_static("x-clevertap-passcode"),
                    wire::secret_header(target.credential(PASSCODE)?, PASSCODE)?,
                ),
                wire::json_content_type(),
            ],
        })
    }

    /// Look the profile deleted by `kind` (`identity` or `guid`) `value` up. `Err` is fatal
    /// (credentials) or the run stopping.
    pub async fn check(
        &self,
        poller: &Poller,
        kind: &str,
        value: &str,
    ) -> Result<(Profile, u32), Fetched> {
        let param = if kind == "guid" {
            "objectId"
        } else {
            "identity"
        };
        let req = Request {
            method: Method::GET,
            url: format!("{}?{param}={}", self.url, wire::segment(value)),
            headers: self.headers.clone(),
            body: Vec::new(),
        };
        let (fetched, attempts) = poller.fetch(&req).await;
        let p = match fetched {
            Fetched::Ok { status, body } => read(status, &body),
            Fetched::Refused {
                status,
                reason,
                body,
            } => match read(status, &body) {
                a @ Profile::Absent(..) => a,
                _ => Profile::Unknown(
                    Some(status),
                    format!("{} (not a documented answer)", redact(&reason, value)),
                ),
            },
            Fetched::GaveUp { reason, .. } => Profile::Unknown(None, redact(&reason, value)),
            other => return Err(other),
        };
        Ok((p, attempts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_documented_answers_decide() {
        assert!(matches!(
            read(
                200,
                br#"{"status":"success","record":{"identity":"x","profileData":{}}}"#
            ),
            Profile::Found(200, _)
        ));
        assert!(matches!(
            read(
                200,
                br#"{"status":"fail","error":"User not found","code":404}"#
            ),
            Profile::Absent(200, _)
        ));
        for (status, body) in [
            (
                200,
                &br#"{"status":"success","record":[{"a":1},{"b":2}]}"#[..],
            ),
            (200, br#"{"status":"success"}"#),
            (200, br#"{"status":"success","record":{}}"#),
            (200, br#"{"profiles":[]}"#),
            (
                400,
                br#"{"status":"fail","error":"Invalid account id","code":401}"#,
            ),
            (200, b"<html>"),
        ] {
            assert!(
                matches!(read(status, body), Profile::Unknown(..)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn not_found_means_the_profile() {
        assert!(is_profile_not_found("Profile not found"));
        assert!(is_profile_not_found("No such user"));
        assert!(!is_profile_not_found("Account not found"));
        assert!(!is_profile_not_found("Not found"));
    }
}
