//! mParticle: `POST /userprofile/bulkdelete` with a JSON array of 1–100 objects.
//!
//! A 202 covers the whole batch and proves nothing about any profile (it comes back even
//! when nothing matched); the deletion is logical and not meant for GDPR/CCPA requests.

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;

use super::target::Target;
use super::wire::{self, JsonBody};
use super::{Adapter, ItemOutcome, Request, Response, VendorKind, VendorSpec, Verdict};
use super::{Credential, Param, Vendor, VendorParams, params};
use super::{Quota, Rate, StatusSupport};
use cdp_purge_core::batch::Batch;
use std::sync::Arc;

const KEY: &str = "MPARTICLE_API_KEY";
const SECRET: &str = "MPARTICLE_API_SECRET";

const POD: Param = Param::one_of("pod", &["us1", "us2", "eu1", "au1"]);
const ENVIRONMENT: Param = Param::one_of("environment", &["production", "development"]);

/// mParticle's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Mparticle,
    spec: VendorSpec {
        id: "mparticle",
        name: "mParticle",
        api: "POST /userprofile/bulkdelete",
        max_batch: 100,
        // The pacer keeps an exact window of its own admissions, so full batches use the
        // whole quota (15 requests of 100 per second) with 5x fewer requests than 20s.
        default_batch: 100,
        max_batch_documented: true,
        quota: Quota {
            requests: None,
            items: Some(Rate::per_second(1500)),
            in_flight: None,
            documented: true,
        },
        // 15 requests/s of 100: enough in flight to keep the pace at ~2 s latency.
        default_concurrency: 32,
        one_kind_per_request: false,
        id_kinds: "mpid (signed 64-bit, sent as a string) or a unique identity type (--id-type, e.g. customerid, email)",
        credentials: &["MPARTICLE_API_KEY", "MPARTICLE_API_SECRET"],
        default_base_url: "https://s2s.mparticle.com",
        completion: "logical deletion; no status API (verify through the Profile API)",
        caveat: "mParticle's bulk deletion is logical and answers 202 even when no profile matched: verify with `cdp-purge status --ledger LEDGER --verify`. It is not meant for data-subject (GDPR/CCPA) requests: use the DSR API for those.",
        status: StatusSupport::Lookup { by: "mpid" },
        reingestion: None,
        accepted_means: Some(
            "accepted; no status API: a 202 can come back even when nothing matched; prove \
             the deletion with `status --verify` (Profile API lookups)",
        ),
    },
    params: &[
        &params::ID_TYPE,
        &POD,
        &ENVIRONMENT,
        &Param::old("identity_type", "id_type"),
    ],
    credentials: &[
        Credential {
            role: "key",
            var: KEY,
        },
        Credential {
            role: "secret",
            var: SECRET,
        },
    ],
    only_id_type: None,
    proving_batch: |_| None,
    missing: |v, stage| {
        crate::id_type_and(
            v,
            stage,
            VendorKind::Mparticle,
            "--id-type (mpid, or an identity type such as customerid, email)",
            &ENVIRONMENT,
            "--environment production|development",
        )
    },
    resolve: |v| {
        let pod = crate::choice(v, &POD, Pod::Us1)?;
        let host = match pod {
            Pod::Us1 => "https://s2s.mparticle.com",
            Pod::Us2 => "https://s2s.us2.mparticle.com",
            Pod::Eu1 => "https://s2s.eu1.mparticle.com",
            Pod::Au1 => "https://s2s.au1.mparticle.com",
        };
        let params = VendorParams::Mparticle {
            pod,
            environment: crate::choice(v, &ENVIRONMENT, Environment::Development)?,
            identity_type: v
                .id_type(VendorKind::Mparticle)
                .unwrap_or_default()
                .to_owned(),
        };
        Ok((params, host.to_owned()))
    },
    destination: |t| match &t.params {
        VendorParams::Mparticle {
            pod, environment, ..
        } => crate::keyed(
            t,
            vec![
                ("pod", crate::name_of(pod)),
                ("environment", crate::name_of(environment)),
            ],
            "workspace",
            KEY,
        ),
        _ => vec![],
    },
    of_group: |g| {
        Ok(VendorParams::Mparticle {
            pod: Pod::Us1,
            environment: Environment::Production,
            identity_type: crate::recorded(g)("identity_type").unwrap_or_default(),
        })
    },
    build: |t| Ok(Arc::new(Mparticle::new(t)?)),
};

/// The mParticle pod (data centre) a workspace lives in: it picks the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Pod {
    Us1,
    Us2,
    Eu1,
    Au1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Development,
}

#[derive(Debug)]
pub struct Mparticle {
    url: String,
    pod: &'static str,
    environment: &'static str,
    identity_type: String,
    auth: HeaderValue,
}

impl Mparticle {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Mparticle {
            pod,
            environment,
            identity_type,
        } = &target.params
        else {
            return Err(wire::wrong_target("mParticle", target));
        };
        let pod = match pod {
            Pod::Us1 => "us1",
            Pod::Us2 => "us2",
            Pod::Eu1 => "eu1",
            Pod::Au1 => "au1",
        };
        Ok(Self {
            url: format!("{}/userprofile/bulkdelete", target.base_url),
            pod,
            environment: match environment {
                Environment::Production => "production",
                Environment::Development => "development",
            },
            identity_type: identity_type.clone(),
            auth: wire::basic_auth(
                target.credential(KEY)?,
                target.credential(SECRET)?,
                &format!("{KEY}/{SECRET}"),
            )?,
        })
    }
}

impl Adapter for Mparticle {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Mparticle.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        // One object per profile, written by hand (see `JsonBody`): `{"environment_type":
        // …, "action": "delete"` and either the MPID, always as a JSON string (it is a
        // signed 64-bit integer, and a float on the way would round it), or a one-entry
        // `identities` map.
        let mut body = JsonBody::with_capacity(
            2 + batch
                .items
                .iter()
                .map(|it| 80 + it.kind.len() + it.value.len())
                .sum::<usize>(),
        );
        // Every object is the same up to its profile's value: `{"environment_type":…,
        // "action":"delete",` and the MPID's key or the identity's `"identities":{kind:`.
        // That part is written once for each kind a batch holds, not 100 times.
        let mut lead = JsonBody::with_capacity(96);
        lead.raw("{\"environment_type\":");
        lead.str(self.environment)?;
        lead.raw(",\"action\":\"delete\",");
        let common = lead.written();
        let mut lead_kind: Option<&str> = None;
        body.raw("[");
        for (i, it) in batch.items.iter().enumerate() {
            if i > 0 {
                body.raw(",");
            }
            let mpid = it.kind.eq_ignore_ascii_case("mpid");
            if lead_kind != Some(it.kind.as_str()) {
                lead.truncate(common);
                if mpid {
                    lead.raw("\"mpid\":");
                } else {
                    lead.raw("\"identities\":{");
                    lead.str(&it.kind)?;
                    lead.raw(":");
                }
                lead_kind = Some(it.kind.as_str());
            }
            // The cleaner validated an MPID already; checking again is cheap and keeps a
            // bad value from ever reaching a destructive endpoint.
            if mpid && it.value.parse::<i64>().is_err() {
                bail!(
                    "input {} row {}: an mpid must be a signed 64-bit integer",
                    it.file + 1,
                    it.row
                );
            }
            body.append(&lead);
            body.str(&it.value)?;
            body.raw(if mpid { "}" } else { "}}" });
        }
        body.raw("]");
        Ok(body.request(Method::POST, self.url.clone(), &self.auth))
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            // No body and no ID are documented; a 202 only says the batch was accepted.
            200..=299 => wire::all(batch, ItemOutcome::acknowledged(None)),
            400 => {
                let (_, raw) = wire::error_fields(resp.body);
                let raw = raw.unwrap_or_else(|| "Bad Request".into());
                let text = wire::scrub(&raw, batch);
                if raw.to_ascii_lowercase().contains("must be unique") {
                    // A property of the workspace's identity settings: every batch of this
                    // identity type fails alike, so stop the run instead of failing them all.
                    Verdict::Fatal {
                        reason: format!("mParticle refused the identity type (HTTP 400: {text})"),
                        hint: format!(
                            "{:?} is not configured as unique in the workspace's identity settings; use a unique identity type or mpid",
                            self.identity_type
                        ),
                        auth: false,
                    }
                } else {
                    // We guarantee the 1–100 array shape, so the likeliest cause is one bad
                    // item; halving finds it and saves the rest.
                    Verdict::Failed {
                        reason: format!("HTTP 400: {text}"),
                        bisect: true,
                    }
                }
            }
            401 | 403 => wire::refused(
                format!(
                    "mParticle refused the workspace key/secret (HTTP {})",
                    resp.status
                ),
                format!(
                    "check {KEY} and {SECRET} (Workspace Settings) and --pod {}",
                    self.pod
                ),
            ),
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        wire::pairs(&[
            ("pod", self.pod),
            ("environment", self.environment),
            ("identity_type", &self.identity_type),
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

    fn target(identity_type: &str) -> Target {
        Target {
            name: "mparticle".into(),
            vendor: VendorKind::Mparticle,
            base_url: "https://s2s.eu1.mparticle.com".into(),
            params: VendorParams::Mparticle {
                pod: Pod::Eu1,
                environment: Environment::Production,
                identity_type: identity_type.into(),
            },
            credentials: [(KEY, Secret::new("key")), (SECRET, Secret::new("secret"))]
                .into_iter()
                .collect(),
            batch_size: 100,
        }
    }

    #[test]
    fn mpid_stays_an_exact_string() {
        let a = Mparticle::new(&target("mpid")).expect("adapter");
        let b = batch(
            "mparticle",
            "mpid",
            &["-3728190466419522015", "9223372036854775807"],
        );
        let req = a.build(&b).expect("request");
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.url,
            "https://s2s.eu1.mparticle.com/userprofile/bulkdelete"
        );
        // base64("key:secret")
        assert_eq!(
            header(&req, "authorization"),
            Some("Basic a2V5OnNlY3JldA==")
        );
        assert!(req.headers[0].1.is_sensitive());
        assert_eq!(
            std::str::from_utf8(&req.body).expect("utf-8"),
            r#"[{"environment_type":"production","action":"delete","mpid":"-3728190466419522015"},{"environment_type":"production","action":"delete","mpid":"9223372036854775807"}]"#
        );
    }

    #[test]
    fn other_identity_types_go_under_identities() {
        let a = Mparticle::new(&target("customerid")).expect("adapter");
        let b = batch("mparticle", "customerid", &["C-1001"]);
        assert_eq!(
            body_json(&a.build(&b).expect("request")),
            serde_json::json!([{"environment_type":"production","action":"delete","identities":{"customerid":"C-1001"}}])
        );
    }

    #[test]
    fn identifiers_that_need_escaping_arrive_as_sent() {
        // The body is written by hand: values with quotes, backslashes, control characters
        // and non-ASCII text must parse back to themselves, in the documented shape, and a
        // batch mixing kinds keeps each item's own.
        let a = Mparticle::new(&target("email")).expect("adapter");
        let values = [
            "a\"b@x.io",
            "c\\d@x.io",
            "tab\there@x.io",
            "josé@例え.jp",
            "\u{1}@x.io",
            "-42",
            "e@x.io",
        ];
        let mut b = batch("mparticle", "email", &values);
        b.items[1].kind = "customerid".into();
        b.items[5].kind = "mpid".into();
        let want: Vec<serde_json::Value> = b
            .items
            .iter()
            .map(|it| {
                if it.kind == "mpid" {
                    serde_json::json!({
                        "environment_type": "production",
                        "action": "delete",
                        "mpid": it.value.clone(),
                    })
                } else {
                    serde_json::json!({
                        "environment_type": "production",
                        "action": "delete",
                        "identities": { it.kind.clone(): it.value.clone() },
                    })
                }
            })
            .collect();
        let req = a.build(&b).expect("request");
        assert_eq!(body_json(&req), serde_json::Value::Array(want));
        assert_eq!(header(&req, "content-type"), Some("application/json"));
    }

    #[test]
    fn non_integer_mpid_is_refused_without_echoing_it() {
        let a = Mparticle::new(&target("mpid")).expect("adapter");
        let b = batch("mparticle", "mpid", &["12ab"]);
        let e = a.build(&b).expect_err("not an i64");
        assert!(!e.to_string().contains("12ab"), "{e}");
    }

    #[test]
    fn classifies_responses() {
        let a = Mparticle::new(&target("customerid")).expect("adapter");
        let b = batch("mparticle", "customerid", &["C-1", "C-2"]);
        let h = HeaderMap::new();
        let Verdict::Items(items) = a.classify(&b, &resp(202, &h, b"")) else {
            panic!("items");
        };
        assert_eq!(items.len(), 2);
        assert!(
            items
                .iter()
                .all(|o| o.class == OutcomeClass::Acknowledged && o.vendor_id.is_none())
        );

        let v = a.classify(
            &b,
            &resp(400, &h, br#"{"message":"Invalid request. Please ensure the request contains an MPID or identities."}"#),
        );
        assert!(matches!(v, Verdict::Failed { bisect: true, .. }), "{v:?}");
        let v = a.classify(
            &b,
            &resp(400, &h, br#"{"message":"Invalid request. The identity type(s) must be unique. customerid"}"#),
        );
        assert!(matches!(v, Verdict::Fatal { auth: false, .. }), "{v:?}");

        let v = a.classify(&b, &resp(401, &h, b""));
        let Verdict::Fatal { hint, auth, .. } = v else {
            panic!("fatal");
        };
        assert!(auth && hint.contains(KEY) && hint.contains(SECRET));

        let mut h429 = HeaderMap::new();
        h429.insert("retry-after", HeaderValue::from_static("3"));
        assert!(matches!(
            a.classify(&b, &resp(429, &h429, b"")),
            Verdict::Retry { throttled: true, retry_after: Some(d), .. } if d.as_secs() == 3
        ));
        assert!(matches!(
            a.classify(&b, &resp(503, &h, b"")),
            Verdict::Retry {
                throttled: false,
                ..
            }
        ));
    }

    #[test]
    fn account_names_pod_environment_and_type() {
        let a = Mparticle::new(&target("mpid")).expect("adapter");
        assert_eq!(
            a.account(),
            vec![
                ("pod".to_owned(), "eu1".to_owned()),
                ("environment".to_owned(), "production".to_owned()),
                ("identity_type".to_owned(), "mpid".to_owned()),
            ]
        );
    }
}
