//! CleverTap: `POST /1/delete/profiles.json` with `{"identity":[…]}` or `{"guid":[…]}`.
//!
//! A 200 `{"status":"success"}` means queued: CleverTap deletes 24 hours later, for good.
//! The limit is on requests in flight (3), not on a rate.

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::target::Target;
use super::wire;
use super::{Adapter, ItemOutcome, Request, Response, VendorKind, VendorSpec, Verdict};
use super::{Credential, Param, Vendor, VendorParams, params};
use super::{Quota, StatusSupport};
use cdp_purge_core::batch::Batch;
use cdp_purge_core::error::UserError;
use std::sync::Arc;

pub(crate) const ACCOUNT: &str = "CLEVERTAP_ACCOUNT_ID";
pub(crate) const PASSCODE: &str = "CLEVERTAP_PASSCODE";

/// CleverTap's identifier types (one per request).
const ID_TYPE: Param = Param::one_of("id_type", &["identity", "guid"]);

/// CleverTap's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Clevertap,
    spec: VendorSpec {
        id: "clevertap",
        name: "CleverTap",
        api: "POST /1/delete/profiles.json",
        max_batch: 100,
        default_batch: 100,
        max_batch_documented: true,
        quota: Quota {
            requests: None,
            items: None,
            in_flight: Some(3),
            documented: true,
        },
        default_concurrency: 3,
        one_kind_per_request: true,
        id_kinds: "identity or guid (--id-type), never both in one request",
        credentials: &["CLEVERTAP_ACCOUNT_ID", "CLEVERTAP_PASSCODE"],
        default_base_url: "https://api.clevertap.com",
        completion: "queued; processed after 24 hours and cannot be undone; no status API",
        caveat: "CleverTap only queued these deletions: it processes them after 24 hours, and once processed they cannot be undone. There is no status API; from 24 hours on, `cdp-purge status --ledger LEDGER --verify -i INPUT --column NAME` looks the profiles up.",
        // `status --verify`, 24 h after the deletion was queued: the profile lookup.
        status: StatusSupport::Lookup { by: "identity" },
        reingestion: None,
        accepted_means: Some(
            "accepted; no status API: CleverTap processes deletions after 24 h, and they \
             cannot be undone; `status --verify` looks the profiles up from then on",
        ),
    },
    params: &[&ID_TYPE, &params::REGION, &Param::old("id_kind", "id_type")],
    credentials: &[
        Credential {
            role: "account_id",
            var: ACCOUNT,
        },
        Credential {
            role: "passcode",
            var: PASSCODE,
        },
    ],
    only_id_type: None,
    proving_batch: |_| None,
    missing: |v, _| match v.id_type(VendorKind::Clevertap) {
        None => vec!["--id-type identity|guid"],
        Some(_) => vec![],
    },
    resolve: |v| {
        let region = v.get(params::REGION.key).unwrap_or("eu1").to_owned();
        let host = match region.as_str() {
            "eu1" => "https://api.clevertap.com".to_owned(),
            "in1" | "sg1" | "us1" | "aps3" | "mec1" => {
                format!("https://{region}.api.clevertap.com")
            }
            other => {
                return Err(
                    UserError::usage(format!("unknown CleverTap region {other:?}"))
                        .with_hint("use one of in1, sg1, us1, aps3, mec1, eu1"),
                );
            }
        };
        let id_type = v.id_type(VendorKind::Clevertap).unwrap_or_default();
        let id_kind = crate::from_name(id_type).ok_or_else(|| {
            UserError::usage(format!(
                "--id-type {id_type:?} is not a CleverTap identifier type: use one of {}",
                ID_TYPE.choices.unwrap_or_default().join(", ")
            ))
        })?;
        Ok((VendorParams::Clevertap { region, id_kind }, host))
    },
    destination: |t| match &t.params {
        VendorParams::Clevertap { region, .. } => {
            let mut d = vec![("region", region.clone())];
            if let Some(a) = t.credentials.get(ACCOUNT) {
                d.push(("account_id", a.expose().to_owned()));
            }
            d
        }
        _ => vec![],
    },
    of_group: |g| {
        Ok(VendorParams::Clevertap {
            region: crate::recorded(g)("region").unwrap_or_default(),
            id_kind: IdKind::Identity,
        })
    },
    build: |t| Ok(Arc::new(Clevertap::new(t)?)),
};

/// Which CleverTap identifier a request carries: one kind per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
            return Err(wire::wrong_target("CleverTap", target));
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
            body: body.into(),
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
                    // CleverTap answers a refusal with a 2xx too (`"status":"fail"`), so a
                    // 2xx without a readable status proves neither.
                    _ => wire::all(
                        batch,
                        ItemOutcome::unknown(format!(
                            "HTTP {} without a readable status: whether CleverTap queued it is unknown",
                            resp.status
                        )),
                    ),
                }
            }
            400 => self.refused(batch, resp.status, resp.body),
            401 | 403 => wire::refused(
                format!("CleverTap refused the credentials (HTTP {})", resp.status),
                format!(
                    "check {ACCOUNT} and {PASSCODE}, and --region {} (an account lives in one region)",
                    self.region
                ),
            ),
            // 429 "Too many concurrent requests" and 503 "Server Error. Please retry later"
            // are retryable there.
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        wire::pairs(&[
            ("region", &self.region),
            ("account_id", &self.account_id),
            ("id_kind", self.key),
        ])
    }

    fn endpoint(&self) -> String {
        format!("POST {}", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_support::{batch, body_json, header, resp};
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
        // A 2xx that does not say success or fail proves neither.
        for body in [&b"{}"[..], b"", br#"{"status":"queued"}"#] {
            let Verdict::Items(items) = a.classify(&b, &resp(200, &h, body)) else {
                panic!("items");
            };
            assert!(items.iter().all(|o| o.class == OutcomeClass::Unknown));
        }

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
