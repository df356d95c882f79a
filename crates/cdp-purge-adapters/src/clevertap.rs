//! CleverTap: `POST /1/delete/profiles.json` with `{"identity":[…]}` or `{"guid":[…]}`.
//!
//! A 200 `{"status":"success"}` means queued: CleverTap deletes 24 hours later, for good.
//! The limit is on requests in flight (3), not on a rate.

use anyhow::bail;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::target::{Target, VendorParams};
use super::wire;
use super::{Adapter, ItemOutcome, Request, Response, VendorKind, VendorSpec, Verdict};
use cdp_purge_core::batch::Batch;

const ACCOUNT: &str = "CLEVERTAP_ACCOUNT_ID";
const PASSCODE: &str = "CLEVERTAP_PASSCODE";

/// Which CleverTap identifier a request carries: one kind per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    Identity,
    Guid,
}

#[derive(Debug)]
pub struct Clevertap {
    url: String,
    region: String,
    /// `identity` or `guid`: the body key, one per request (CleverTap refuses both).
    key: &'static str,
    account_id: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Clevertap {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Clevertap { region, id_kind } = &target.params else {
            bail!(
                "internal error: CleverTap adapter built for a {} target",
                target.vendor
            );
        };
        let account_id = target.credential(ACCOUNT)?.to_owned();
        let account_header = HeaderValue::from_str(&account_id).map_err(|_| {
            anyhow::anyhow!("{ACCOUNT} holds characters that cannot go in an HTTP header")
        })?;
        Ok(Self {
            url: format!("{}/1/delete/profiles.json", target.base_url),
            region: region.clone(),
            key: match id_kind {
                IdKind::Identity => "identity",
                IdKind::Guid => "guid",
            },
            headers: vec![
                (
                    HeaderName::from_static("x-clevertap-account-id"),
                    account_header,
                ),
                (
                    HeaderName::from_static("x-clevertap-passcode"),
                    wire::secret_header(target.credential(PASSCODE)?, PASSCODE)?,
                ),
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                ),
            ],
            account_id,
        })
    }

    /// A refusal of the request itself: our batching or body is wrong, and every batch would
    /// repeat it, so there is nothing to bisect. Anything else may be about one value.
    fn client_bug(message: &str) -> bool {
        let m = message.to_ascii_lowercase();
        [
            "max 100",
            "payload is mandatory",
            "empty payload",
            "both guid and identity",
            "either identities or guids",
        ]
        .iter()
        .any(|p| m.contains(p))
    }

    fn refused(&self, batch: &Batch, status: u16, body: &[u8]) -> Verdict {
        let (_, raw) = wire::error_fields(body);
        let raw = raw.unwrap_or_else(|| "no error message".into());
        Verdict::Failed {
            // Decided on the raw text: redaction could hide the phrase we look for.
            bisect: !Self::client_bug(&raw),
            reason: format!("HTTP {status}: {}", wire::scrub(&raw, batch)),
        }
    }
}

impl Adapter for Clevertap {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Clevertap.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let values: Vec<&str> = batch.items.iter().map(|it| it.value.as_str()).collect();
        let body = serde_json::to_vec(&std::collections::BTreeMap::from([(self.key, values)]))?;
        Ok(Request {
            method: Method::POST,
            url: self.url.clone(),
            headers: self.headers.clone(),
            body,
        })
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            200..=299 => {
                let status = serde_json::from_slice::<serde_json::Value>(resp.body)
                    .ok()
                    .and_then(|v| v.get("status")?.as_str().map(str::to_owned));
                match status.as_deref() {
                    Some("success") => wire::all(batch, ItemOutcome::acknowledged(None)),
                    Some("fail") => self.refused(batch, resp.status, resp.body),
                    // A 2xx is documented only as "queued"; an unreadable body (truncated)
                    // does not undo that, and resubmitting is not documented as safe.
                    _ => wire::all(
                        batch,
                        ItemOutcome::acknowledged(None).with_message(format!(
                            "HTTP {} without a readable status; treated as queued",
                            resp.status
                        )),
                    ),
                }
            }
            400 => self.refused(batch, resp.status, resp.body),
            401 | 403 => Verdict::Fatal {
                reason: format!("CleverTap refused the credentials (HTTP {})", resp.status),
                hint: format!(
                    "check {ACCOUNT} and {PASSCODE}, and --region {} (an account lives in one region)",
                    self.region
                ),
                auth: true,
            },
            // 429 "Too many concurrent requests" and 503 "Server Error. Please retry later"
            // are retryable there.
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        vec![
            ("region".into(), self.region.clone()),
            ("account_id".into(), self.account_id.clone()),
            ("id_kind".into(), self.key.into()),
        ]
    }

    fn endpoint(&self) -> String {
        format!("POST {}", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_support::{batch, body_json, header};
    use crate::{OutcomeClass, Secret};
    use reqwest::header::HeaderMap;

    fn target(id_kind: IdKind) -> Target {
        Target {
            name: "clevertap".into(),
            vendor: VendorKind::Clevertap,
            base_url: "https://in1.api.clevertap.com".into(),
            params: VendorParams::Clevertap {
                region: "in1".into(),
                id_kind,
            },
            credentials: [
                (ACCOUNT, Secret::new("ACC-1")),
                (PASSCODE, Secret::new("pass-xyz")),
            ]
            .into_iter()
            .collect(),
            batch_size: 100,
        }
    }

    fn resp<'a>(status: u16, headers: &'a HeaderMap, body: &'a [u8]) -> Response<'a> {
        Response {
            status,
            headers,
            body,
            attempt: 1,
            maybe_delivered_before: false,
        }
    }

    #[test]
    fn builds_identity_or_guid_never_both() {
        let a = Clevertap::new(&target(IdKind::Identity)).expect("adapter");
        let b = batch("clevertap", "identity", &["client-19827239", "abc"]);
        let req = a.build(&b).expect("request");
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.url,
            "https://in1.api.clevertap.com/1/delete/profiles.json"
        );
        assert_eq!(header(&req, "x-clevertap-account-id"), Some("ACC-1"));
        assert_eq!(header(&req, "x-clevertap-passcode"), Some("pass-xyz"));
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            body_json(&req),
            serde_json::json!({"identity":["client-19827239","abc"]})
        );
        assert!(!format!("{a:?}").contains("pass-xyz"));

        let a = Clevertap::new(&target(IdKind::Guid)).expect("adapter");
        let b = batch("clevertap", "guid", &["__g1"]);
        assert_eq!(
            body_json(&a.build(&b).expect("request")),
            serde_json::json!({"guid":["__g1"]})
        );
    }

    #[test]
    fn classifies_responses() {
        let a = Clevertap::new(&target(IdKind::Identity)).expect("adapter");
        let b = batch("clevertap", "identity", &["u1", "u2"]);
        let h = HeaderMap::new();
        let Verdict::Items(items) = a.classify(&b, &resp(200, &h, br#"{"status":"success"}"#))
        else {
            panic!("items");
        };
        assert!(items.iter().all(|o| o.class == OutcomeClass::Acknowledged));

        let v = a.classify(
            &b,
            &resp(
                200,
                &h,
                br#"{"status":"fail","error":"Something about u1","code":500}"#,
            ),
        );
        assert!(
            matches!(v, Verdict::Failed { ref reason, .. } if !reason.contains("u1")),
            "{v:?}"
        );
        let v = a.classify(
            &b,
            &resp(
                400,
                &h,
                br#"{"status":"fail","error":"Invalid payload. Max 100 identities allowed per request.","code":400}"#,
            ),
        );
        assert!(matches!(v, Verdict::Failed { bisect: false, .. }), "{v:?}");

        let v = a.classify(
            &b,
            &resp(
                429,
                &h,
                br#"{"status":"fail","error":"Too many concurrent requests"}"#,
            ),
        );
        assert!(
            matches!(
                v,
                Verdict::Retry {
                    throttled: true,
                    ..
                }
            ),
            "{v:?}"
        );
        let v = a.classify(
            &b,
            &resp(
                503,
                &h,
                br#"{"status":"fail","error":"Server Error. Please retry later"}"#,
            ),
        );
        assert!(
            matches!(
                v,
                Verdict::Retry {
                    throttled: false,
                    ..
                }
            ),
            "{v:?}"
        );
        let v = a.classify(&b, &resp(401, &h, b""));
        assert!(
            matches!(v, Verdict::Fatal { auth: true, ref hint, .. } if hint.contains(PASSCODE))
        );
    }

    #[test]
    fn account_id_is_in_the_ledger_header_but_passcode_is_not() {
        let a = Clevertap::new(&target(IdKind::Guid)).expect("adapter");
        let acc = format!("{:?}", a.account());
        assert!(acc.contains("ACC-1") && acc.contains("in1") && !acc.contains("pass-xyz"));
    }
}
