//! Iterable: `POST /api/users/forget`, one user per request, `{"email"}` or `{"userId"}` as
//! the project type takes (email-based projects forget by email only, userID-based ones by
//! userId only), `Api-Key` header.
//!
//! Forgetting deletes the user's data and blocks future collection; it "can take up to ten
//! minutes". Iterable keeps no identifier, only the SHA-256 of it lowercased with its
//! whitespace removed, and lists those hashes at `GET /api/users/forgotten`. The ledger
//! records that same hash as the item's vendor ID (never the value), so `status` proves a
//! user forgotten by finding it in the list.

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::target::Target;
use super::wire;
use super::{
    Adapter, ItemOutcome, JobReport, JobState, Request, Response, VendorKind, VendorSpec, Verdict,
};
use super::{Credential, Quota, Rate, StatusSupport, Vendor, VendorParams, params};
use cdp_purge_core::batch::Batch;
use std::sync::Arc;

const KEY: &str = "ITERABLE_API_KEY";

/// The hosts of the data centers (support.iterable.com 360029174171).
const HOSTS: &[(&str, &str)] = &[
    ("us", "https://api.iterable.com"),
    ("eu", "https://api.eu.iterable.com"),
];

/// Iterable's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Iterable,
    spec: VendorSpec {
        id: "iterable",
        name: "Iterable",
        api: "POST /api/users/forget",
        max_batch: 1,
        default_batch: 1,
        max_batch_documented: true,
        // Iterable's OpenAPI for forget and forgotten: "Rate limit: 3 requests/second, per
        // project".
        quota: Quota {
            requests: Some(Rate::per_second(3)),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 3,
        one_kind_per_request: true,
        id_kinds: "email or user_id (--id-type), as the project type takes: email-based projects forget by email only, userID-based ones by user_id only",
        credentials: &[KEY],
        default_base_url: "https://api.iterable.com",
        completion: "forgotten within about ten minutes; GET /api/users/forgotten lists the SHA-256 of each forgotten identifier",
        caveat: "Iterable forgets a user within about ten minutes and then refuses data about them. Verify with `cdp-purge status --ledger LEDGER --watch`, which looks for each identifier's SHA-256 in the forgotten list.",
        status: StatusSupport::Jobs,
        reingestion: None,
        accepted_means: None,
    },
    params: &[&params::ID_TYPE, &params::REGION],
    credentials: &[Credential {
        role: "api_key",
        var: KEY,
    }],
    only_id_type: None,
    proving_batch: |_| None,
    missing: |v, _| match v.id_type(VendorKind::Iterable) {
        None => vec!["--id-type email|user_id"],
        Some(_) => vec![],
    },
    resolve: |v| {
        crate::id_type_in(v, VendorKind::Iterable, &["email", "user_id"])?;
        let (region, host) = crate::region_host(v, "Iterable", HOSTS)?;
        Ok((VendorParams::Iterable { region }, host))
    },
    // A key names a project: two projects are two places.
    destination: |t| match &t.params {
        VendorParams::Iterable { region } => {
            crate::keyed(t, vec![("region", region.clone())], "project", KEY)
        }
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::Iterable {
            region: a("region").unwrap_or_default(),
        })
    },
    build: |t| Ok(Arc::new(Iterable::new(t)?)),
};

#[derive(Debug)]
pub struct Iterable {
    base_url: String,
    region: String,
    key: HeaderValue,
}

impl Iterable {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Iterable { region } = &target.params else {
            bail!(
                "internal error: Iterable adapter built for a {} target",
                target.vendor
            );
        };
        Ok(Self {
            base_url: target.base_url.clone(),
            region: region.clone(),
            key: wire::secret_header(target.credential(KEY)?, &target.var(KEY))?,
        })
    }

    fn forgotten(&self) -> Request {
        Request {
            method: Method::GET,
            url: format!("{}/api/users/forgotten", self.base_url),
            headers: vec![(api_key(), self.key.clone())],
            body: Default::default(),
        }
    }
}

fn api_key() -> reqwest::header::HeaderName {
    reqwest::header::HeaderName::from_static("api-key")
}

/// The hash Iterable lists for a forgotten user: SHA-256 (hex) of the value lowercased with
/// every whitespace character removed (support.iterable.com 360029174171).
pub fn forgotten_hash(value: &str) -> String {
    let normal: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

/// The body field of an identifier kind.
fn field(kind: &str) -> &'static str {
    match kind {
        "user_id" | "userId" | "userid" => "userId",
        _ => "email",
    }
}

impl Adapter for Iterable {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Iterable.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let [it] = batch.items.as_slice() else {
            bail!("Iterable forgets one user per request, not {}", batch.len());
        };
        let mut body = serde_json::Map::new();
        body.insert(field(&it.kind).into(), json!(it.value));
        Ok(Request {
            method: Method::POST,
            url: format!("{}/api/users/forget", self.base_url),
            headers: vec![(api_key(), self.key.clone()), wire::json_content_type()],
            body: serde_json::to_vec(&body)?.into(),
        })
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        let parsed = serde_json::from_slice::<Value>(resp.body).ok();
        let code = parsed
            .as_ref()
            .and_then(|v| v.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let msg = parsed
            .as_ref()
            .and_then(|v| v.get("msg"))
            .and_then(Value::as_str)
            .map(|m| wire::scrub(m, batch))
            .unwrap_or_default();
        match resp.status {
            200..=299 if code == "Success" => Verdict::Items(
                batch
                    .items
                    .iter()
                    .map(|it| ItemOutcome::acknowledged(Some(forgotten_hash(&it.value))))
                    .collect(),
            ),
            // A 2xx without `"code":"Success"` is not an answer the API documents.
            200..=299 => Verdict::Failed {
                reason: format!(
                    "HTTP {} without code Success ({code:?}): whether the user was forgotten is unknown",
                    resp.status
                ),
                bisect: false,
            },
            400 => Verdict::Items(vec![
                ItemOutcome::invalid(format!(
                    "HTTP 400 {code}: {msg}"
                ));
                batch.len()
            ]),
            401 => Verdict::Fatal {
                reason: format!("Iterable refused the API key (HTTP 401 {code})"),
                hint: "check ITERABLE_API_KEY: a server-side key of this project (and --region: EU projects live on api.eu.iterable.com)".into(),
                auth: true,
            },
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        vec![("region".into(), self.region.clone())]
    }

    fn endpoint(&self) -> String {
        format!("POST {}/api/users/forget", self.base_url)
    }

    fn status_request(&self, _hash: &str) -> anyhow::Result<Option<Request>> {
        Ok(Some(self.forgotten()))
    }

    fn parse_status(&self, _body: &[u8]) -> anyhow::Result<JobReport> {
        bail!("the forgotten list answers for every user at once")
    }

    fn parse_status_of(&self, hash: &str, body: &[u8]) -> anyhow::Result<JobReport> {
        let listed = hashes(body)?;
        Ok(if listed.iter().any(|h| h.eq_ignore_ascii_case(hash)) {
            forgotten_report()
        } else {
            JobReport::new(JobState::Pending("not listed yet".into()))
                .with_vendor_state("not in the forgotten list")
        })
    }

    /// `GET /api/users/forgotten`, the list `status` reads: read-only, and it answers only
    /// to a key of the project on the region's host.
    fn preflight(&self) -> anyhow::Result<cdp_purge_core::protocol::Preflight> {
        Ok(cdp_purge_core::protocol::Preflight {
            probes: vec![wire::probe(
                "API key and region",
                self.forgotten(),
                "Iterable",
                KEY.into(),
                format!(
                    "API key accepted; the forgotten-users list of region {} answered",
                    self.region
                ),
                "check --region and --base-url".into(),
                |b| hashes(b).is_ok(),
            )],
            unchecked: vec![
                "that the key's type may forget users (a server-side key): Iterable offers no read-only call that shows a key's permissions".into(),
            ],
        })
    }

    fn status_list_request(&self) -> anyhow::Result<Option<Request>> {
        Ok(Some(self.forgotten()))
    }

    fn status_list_complete(&self) -> bool {
        true
    }

    fn parse_status_list(&self, body: &[u8]) -> Option<Vec<(String, JobReport)>> {
        Some(
            hashes(body)
                .ok()?
                .into_iter()
                .map(|h| (h.to_ascii_lowercase(), forgotten_report()))
                .collect(),
        )
    }
}

fn forgotten_report() -> JobReport {
    JobReport::new(JobState::Done).with_vendor_state("forgotten")
}

/// Every SHA-256 in a forgotten-list answer: the strings of its top-level arrays (`emails`
/// in the OpenAPI, for userIDs too per the support page; any other array is read as well,
/// should Iterable add one), 64 hex digits each.
fn hashes(body: &[u8]) -> anyhow::Result<Vec<String>> {
    let v: Value = serde_json::from_slice(body)?;
    let Some(obj) = v.as_object() else {
        bail!("the forgotten list is not a JSON object");
    };
    let mut out = Vec::new();
    for a in obj.values().filter_map(Value::as_array) {
        for s in a.iter().filter_map(Value::as_str) {
            if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push(s.to_owned());
            }
        }
    }
    if out.is_empty() && !obj.values().any(Value::is_array) {
        bail!("the forgotten list has no list of hashes");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::wire::test_support::{batch, body_json, header};
    use super::*;

    fn adapter() -> Iterable {
        let target = Target {
            name: "iterable".into(),
            vendor: VendorKind::Iterable,
            base_url: "https://api.iterable.com".into(),
            params: VendorParams::Iterable {
                region: "us".into(),
            },
            credentials: [(KEY, super::super::Secret::new("k"))]
                .into_iter()
                .collect(),
            batch_size: 1,
        };
        Iterable::new(&target).unwrap()
    }

    fn answer(status: u16, body: &str, b: &Batch) -> Verdict {
        super::super::wire::test_support::classify(&adapter(), status, body, b)
    }

    #[test]
    fn forgets_by_email_or_user_id_with_the_key_header() {
        let a = adapter();
        let r = a.build(&batch("iterable", "email", &["a@b.co"])).unwrap();
        assert_eq!(body_json(&r), json!({ "email": "a@b.co" }));
        assert_eq!(header(&r, "api-key"), Some("k"));
        let r = a.build(&batch("iterable", "user_id", &["u1"])).unwrap();
        assert_eq!(body_json(&r), json!({ "userId": "u1" }));
        assert!(
            a.build(&batch("iterable", "email", &["a@b.co", "c@d.co"]))
                .is_err()
        );
    }

    #[test]
    fn success_records_the_hash_iterable_lists_and_never_the_value() {
        let b = batch("iterable", "email", &["Ann@Example.com"]);
        let Verdict::Items(items) = answer(200, r#"{"msg":"","code":"Success","params":null}"#, &b)
        else {
            panic!()
        };
        let h = items[0].vendor_id.clone().unwrap();
        assert_eq!(h, hex::encode(Sha256::digest(b"ann@example.com")));
        assert!(!h.contains("example"));
        assert!(matches!(answer(200, "{}", &b), Verdict::Failed { .. }));
        let Verdict::Items(items) = answer(
            400,
            r#"{"msg":"Invalid email Ann@Example.com","code":"BadParams"}"#,
            &b,
        ) else {
            panic!()
        };
        let m = items[0].message.clone().unwrap();
        assert!(m.contains("BadParams") && !m.contains("Ann@"), "{m}");
        assert!(matches!(
            answer(401, "{}", &b),
            Verdict::Fatal { auth: true, .. }
        ));
        assert!(matches!(
            answer(429, "{}", &b),
            Verdict::Retry {
                throttled: true,
                ..
            }
        ));
    }

    #[test]
    fn the_forgotten_list_proves_a_user_forgotten() {
        let a = adapter();
        let h = forgotten_hash("a@b.co");
        let body = json!({ "emails": [h.to_uppercase()], "userIds": [] }).to_string();
        assert_eq!(
            a.parse_status_of(&h, body.as_bytes()).unwrap().state,
            JobState::Done
        );
        let other = forgotten_hash("c@d.co");
        assert!(matches!(
            a.parse_status_of(&other, body.as_bytes()).unwrap().state,
            JobState::Pending(_)
        ));
        assert_eq!(a.parse_status_list(body.as_bytes()).unwrap()[0].0, h);
        assert!(a.parse_status_of(&h, b"[]").is_err());
        assert!(a.parse_status_of(&h, br#"{"msg":"x"}"#).is_err());
    }
}
