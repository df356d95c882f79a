//! CleverTap: a deletion is processed 24 hours after it was queued, and can then be
//! verified by asking for the profile: `GET /1/profile.json?identity={v}` (or
//! `?objectId={v}` for a run by `guid`; CleverTap's "Get User Profiles" API, download by
//! ID), with the account ID and passcode headers of the deletion.
//!
//! CleverTap documents the profile answer, `{"status":"success","record":{…}}`, and no
//! answer for a missing profile. So a lookup proves a profile present (not processed yet,
//! or re-created), never absent: an answer in CleverTap's error shape,
//! `{"status":"fail","error":…,"code":…}`, is unknown whatever its error says, with a
//! reason quoting it. A `record` that is not one object (several profiles), any other
//! status or shape, and retries run out are unknown too.

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

/// What a 2xx or 4xx body says, in CleverTap's documented shapes; `value` (the identifier
/// looked up) is never quoted back.
fn read(status: u16, body: &[u8], value: &str) -> Profile {
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
        (Some("fail"), _) => {
            let said = match v.get("error").and_then(serde_json::Value::as_str) {
                Some(e) => format!("fail: '{e}'"),
                None => "fail without an error text".into(),
            };
            Profile::Unproven(
                status,
                super::unproven("CleverTap", &said, value, "a missing profile"),
            )
        }
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
            body: Default::default(),
        };
        let (fetched, attempts) = poller.fetch(&req).await;
        let p = match fetched {
            Fetched::Ok { status, body } => read(status, &body, value),
            Fetched::Refused {
                status,
                reason,
                body,
            } => match read(status, &body, value) {
                u @ Profile::Unproven(..) => u,
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
    fn only_a_record_decides_and_no_answer_proves_absence() {
        assert!(matches!(
            read(
                200,
                br#"{"status":"success","record":{"identity":"x","profileData":{}}}"#,
                "x"
            ),
            Profile::Found(200, _)
        ));
        // Whatever a fail says, CleverTap documents no "not found": never absent. The
        // reason quotes CleverTap, without the identifier.
        for (status, body) in [
            (
                404,
                &br#"{"status":"fail","error":"Profile not found for ct-9","code":404}"#[..],
            ),
            (
                200,
                br#"{"status":"fail","error":"User not found","code":404}"#,
            ),
            (400, br#"{"status":"fail","code":400}"#),
        ] {
            let Profile::Unproven(s, why) = read(status, body, "ct-9") else {
                panic!("{}", String::from_utf8_lossy(body))
            };
            assert_eq!(s, status);
            assert!(why.starts_with("CleverTap answered fail"), "{why}");
            assert!(
                why.ends_with("CleverTap documents no answer for a missing profile, so this cannot prove the deletion"),
                "{why}"
            );
            assert!(!why.contains("ct-9"), "{why}");
        }
        for (status, body) in [
            (
                200,
                &br#"{"status":"success","record":[{"a":1},{"b":2}]}"#[..],
            ),
            (200, br#"{"status":"success"}"#),
            (200, br#"{"status":"success","record":{}}"#),
            (200, br#"{"profiles":[]}"#),
            (404, br#"{"message":"Not Found"}"#),
            (200, b"<html>"),
        ] {
            assert!(
                matches!(read(status, body, "x"), Profile::Unknown(..)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
