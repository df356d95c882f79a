//! Braze: `POST /users/delete` on the workspace's REST instance, up to 50 identifiers of
//! one type per request (external_ids, user_aliases, braze_ids, email_addresses or
//! phone_numbers), 20,000 requests per minute shared with other user endpoints.
//!
//! Deletion cannot be undone and Braze has no status endpoint. Its answer counts the
//! profiles queued for deletion (`deleted`), not which identifiers matched. So:
//! - an `external_id`, `braze_id` or `user_alias` names at most one profile: a request of n
//!   that deleted exactly n proves each, and one that deleted 0 proves none matched;
//! - an email address or phone number can name several profiles (Braze's help centre
//!   describes profiles sharing one address), so a count proves a given identifier only
//!   when the request carried that identifier alone: these go one per request (the
//!   default, and a larger `--batch-size` is refused);
//! - any other count, or a 2xx without it, is recorded `unknown`, never as deleted.
//!
//! A 404 is documented as a wrong URL (RudderStack reads it as success; this tool does
//! not).

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;

use super::target::Target;
use super::wire;
use super::{
    Adapter, ItemOutcome, OutcomeClass, Request, Response, VendorKind, VendorSpec, Verdict,
};
use super::{Credential, Param, Quota, Rate, StatusSupport, Vendor, VendorParams, params};
use cdp_purge_core::batch::Batch;
use cdp_purge_core::error::UserError;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "BRAZE_API_KEY";

/// `--id-type` values and the body key each goes under.
pub const ID_TYPES: [(&str, &str); 5] = [
    ("external_id", "external_ids"),
    ("braze_id", "braze_ids"),
    ("email", "email_addresses"),
    ("phone", "phone_numbers"),
    ("user_alias", "user_aliases"),
];

/// Whether an identifier type can name several profiles, so that Braze's count of deleted
/// profiles proves an identifier only when it was alone in its request.
pub fn names_several_profiles(id_type: &str) -> bool {
    matches!(id_type, "email" | "phone")
}

/// The REST host of an instance (`iad-01` → `https://rest.iad-01.braze.com`; the EU
/// instances `fra-NN` are on `braze.eu`).
pub fn host(instance: &str) -> Result<String, UserError> {
    let i = instance.to_ascii_lowercase();
    let ok = i.split_once('-').is_some_and(|(a, n)| {
        !a.is_empty()
            && a.bytes().all(|b| b.is_ascii_lowercase())
            && n.len() == 2
            && n.bytes().all(|b| b.is_ascii_digit())
    });
    if !ok {
        return Err(
            UserError::usage(format!("unknown Braze instance {instance:?}")).with_hint(
                "give the instance of the dashboard URL, e.g. iad-01, iad-07, fra-02, au-01",
            ),
        );
    }
    let tld = if i.starts_with("fra-") { "eu" } else { "com" };
    Ok(format!("https://rest.{i}.braze.{tld}"))
}

/// The body key of an identifier type, or the reason it is not one.
pub fn body_key(id_type: &str) -> Result<&'static str, UserError> {
    ID_TYPES
        .iter()
        .find(|(t, _)| *t == id_type)
        .map(|(_, k)| *k)
        .ok_or_else(|| {
            UserError::usage(format!("unknown Braze identifier type {id_type:?}")).with_hint(
                format!("use one of {}", ID_TYPES.map(|(t, _)| t).join(", ")),
            )
        })
}

const INSTANCE: Param = Param::text("instance");
const ALIAS_LABEL: Param = Param::text("alias_label");

/// Braze's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Braze,
    spec: VendorSpec {
        id: "braze",
        name: "Braze",
        api: "POST /users/delete",
        // braze.com/docs/api/endpoints/user_data/post_user_delete: up to 50 identifiers of
        // one type per request.
        max_batch: 50,
        default_batch: 50,
        max_batch_documented: true,
        // Same page: 20,000 requests per minute, shared with /users/alias/new,
        // /users/identify, /users/merge and /users/alias/update.
        quota: Quota {
            requests: Some(Rate {
                count: 20_000,
                per: Duration::from_secs(60),
            }),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 64,
        one_kind_per_request: true,
        id_kinds: "external_id, braze_id, email, phone or user_alias (with --alias-label) (--id-type), one type per request",
        credentials: &[KEY],
        default_base_url: "https://rest.iad-01.braze.com",
        completion: "queued; cannot be undone; no status API",
        caveat: "Braze deletions cannot be undone and Braze offers no status API. Its answer counts the profiles deleted, not which: identifiers of a request whose count does not prove each are recorded as unknown (deleted or never there), never as deleted, and are not resent by a rerun (a resend cannot tell either). One email address or phone number can belong to several profiles, so those go one per request. The 20,000 requests a minute are shared with other Braze user endpoints.",
        status: StatusSupport::None,
        reingestion: Some(
            "Braze: a later /users/track or SDK session for the identifier creates a new \
             profile; stop sending it first",
        ),
        accepted_means: Some(
            "queued for deletion (Braze's `deleted` count covered it); no status API, and \
             deletion cannot be undone",
        ),
    },
    params: &[&params::ID_TYPE, &INSTANCE, &ALIAS_LABEL],
    credentials: &[Credential {
        role: "api_key",
        var: KEY,
    }],
    only_id_type: None,
    proving_batch: |v| {
        let id_type = v.id_type(VendorKind::Braze)?;
        names_several_profiles(id_type).then_some((
            1,
            "Braze counts the profiles it deleted, not which identifiers matched, and one email address or phone number can belong to several profiles: only a request of one proves it",
        ))
    },
    missing: |v, stage| {
        crate::id_type_and(
            v,
            stage,
            VendorKind::Braze,
            "--id-type external_id|braze_id|email|phone|user_alias",
            &INSTANCE,
            "--instance (the REST instance, e.g. iad-01, fra-02)",
        )
    },
    resolve: |v| {
        let id_type = v.id_type(VendorKind::Braze).unwrap_or("external_id");
        body_key(id_type)?;
        if id_type == "user_alias" && !v.has(ALIAS_LABEL.key) {
            return Err(UserError::usage(
                "--id-type user_alias needs --alias-label (the aliases' alias_label)",
            ));
        }
        let instance = v.get(INSTANCE.key).unwrap_or("iad-01").to_owned();
        let host = host(&instance)?;
        Ok((
            VendorParams::Braze {
                instance,
                alias_label: v.get(ALIAS_LABEL.key).map(str::to_owned),
            },
            host,
        ))
    },
    // A key belongs to one workspace.
    destination: |t| match &t.params {
        VendorParams::Braze { instance, .. } => {
            crate::keyed(t, vec![("instance", instance.clone())], "workspace", KEY)
        }
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::Braze {
            instance: a("instance").unwrap_or_default(),
            alias_label: a("alias_label"),
        })
    },
    build: |t| Ok(Arc::new(Braze::new(t)?)),
};

#[derive(Debug)]
pub struct Braze {
    url: String,
    instance: String,
    alias_label: Option<String>,
    auth: HeaderValue,
    key_var: String,
}

impl Braze {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Braze {
            instance,
            alias_label,
        } = &target.params
        else {
            bail!(
                "internal error: Braze adapter built for a {} target",
                target.vendor
            );
        };
        Ok(Self {
            url: format!("{}/users/delete", target.base_url),
            instance: instance.clone(),
            alias_label: alias_label.clone(),
            auth: wire::secret_header(
                &format!("Bearer {}", target.credential(KEY)?),
                &target.var(KEY),
            )?,
            key_var: target.var(KEY),
        })
    }

    fn counted(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        let n = batch.len() as u64;
        let kind = batch.kind.as_deref().unwrap_or("external_id");
        let several = names_several_profiles(kind);
        let deleted = serde_json::from_slice::<serde_json::Value>(resp.body)
            .ok()
            .and_then(|v| v.get("deleted")?.as_u64());
        let outcome = match deleted {
            // After an attempt that may have arrived, "none matched" can be our own earlier
            // deletion.
            Some(0) if resp.maybe_delivered_before => ItemOutcome::new(OutcomeClass::AlreadyDone)
                .with_message(
                    "no profile matched after a retry: absent or deleted by the earlier attempt",
                ),
            Some(0) => ItemOutcome::new(OutcomeClass::NotFound)
                .with_message("matched no Braze profile (deleted: 0)"),
            // Alone in its request, an address that deleted any number of profiles is proven.
            Some(d) if several && n == 1 => ItemOutcome::acknowledged(None).with_message(format!(
                "{d} Braze profile(s) queued for deletion; Braze deletions cannot be undone"
            )),
            Some(d) if several => ItemOutcome::unknown(format!(
                "Braze deleted {d} profiles for the {n} {kind} identifiers of this request; one {kind} can belong to several profiles, so the count does not say whether this one matched (send them one per request, the default)"
            )),
            Some(d) if d == n => ItemOutcome::acknowledged(None)
                .with_message("queued for deletion; Braze deletions cannot be undone"),
            Some(d) if d > n => ItemOutcome::unknown(format!(
                "Braze deleted {d} profiles for {n} identifiers, more than one {kind} can name: not an answer its documents explain"
            )),
            Some(d) => ItemOutcome::unknown(format!(
                "Braze deleted {d} of the {n} identifiers of this request and does not say which: this one was deleted or matched no profile"
            )),
            // Braze documents the count on every success; a 2xx without it proves neither
            // a deletion nor that nothing matched.
            None => ItemOutcome::unknown(format!(
                "HTTP {} without a readable `deleted` count: whether Braze deleted it is unknown",
                resp.status
            )),
        };
        wire::all(batch, outcome)
    }
}

impl Adapter for Braze {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Braze.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let kind = batch.kind.as_deref().unwrap_or("external_id");
        let key = body_key(kind)?;
        let values: Vec<serde_json::Value> = batch
            .items
            .iter()
            .map(|it| match (key, &self.alias_label) {
                ("user_aliases", Some(label)) => {
                    serde_json::json!({ "alias_name": it.value, "alias_label": label })
                }
                _ => serde_json::Value::String(it.value.clone()),
            })
            .collect();
        if key == "user_aliases" && self.alias_label.is_none() {
            bail!("Braze user aliases need --alias-label");
        }
        let mut body = serde_json::Map::new();
        body.insert(key.to_owned(), values.into());
        wire::json(Method::POST, self.url.clone(), &self.auth, &body)
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            200..=299 => self.counted(batch, resp),
            401 | 403 => Verdict::Fatal {
                reason: format!("Braze refused the REST API key (HTTP {})", resp.status),
                hint: format!(
                    "check {}: a REST API key of this workspace with the users.delete permission, and --instance {}",
                    self.key_var, self.instance
                ),
                auth: true,
            },
            404 => Verdict::Fatal {
                reason: "Braze answered 404, which it documents as an invalid URL".into(),
                hint: format!(
                    "check --instance {} (the REST endpoint of the workspace's dashboard) and --base-url",
                    self.instance
                ),
                auth: false,
            },
            400 => wire::bad_request(batch, resp),
            // 429 with X-RateLimit-Reset (an epoch second) when there is no Retry-After.
            429 => match wire::common(self.spec(), batch, resp) {
                Verdict::Retry {
                    throttled,
                    retry_after: None,
                    reason,
                } => Verdict::Retry {
                    throttled,
                    retry_after: reset_in(resp.headers),
                    reason,
                },
                other => other,
            },
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    /// Braze has no endpoint that proves a REST key without reading or changing user data
    /// (and a key may hold `users.delete` alone), so nothing is called.
    fn preflight(&self) -> anyhow::Result<cdp_purge_core::protocol::Preflight> {
        Ok(cdp_purge_core::protocol::Preflight {
            probes: Vec::new(),
            unchecked: vec![format!(
                "{} and --instance {}: Braze offers no read-only call that proves a REST API key without reading user data, so a refused key or a wrong instance shows on the first batch, which stops the run (exit 3, or exit 2 for a wrong instance's 404)",
                self.key_var, self.instance
            )],
        })
    }

    fn account(&self) -> Vec<(String, String)> {
        let mut a = vec![("instance".into(), self.instance.clone())];
        if let Some(l) = &self.alias_label {
            a.push(("alias_label".into(), l.clone()));
        }
        a
    }

    fn endpoint(&self) -> String {
        format!("POST {}", self.url)
    }

    /// The first identifiers all matched no profile (or only some did): the identifier type
    /// or the workspace is the likely mistake, not the list.
    fn systemic(&self, reason: &str) -> super::Diagnosis {
        super::Diagnosis {
            auth: false,
            hint: format!(
                "Braze matched fewer profiles than identifiers sent ({}): check --id-type (external_id, braze_id, email, phone, user_alias) and --instance {} (the workspace of {}); pass --no-breaker if the list really holds identifiers Braze does not know",
                reason.split(':').next().unwrap_or(reason),
                self.instance,
                self.key_var
            ),
        }
    }
}

/// Time until `X-RateLimit-Reset` (epoch seconds), capped at the one-minute window.
fn reset_in(headers: &reqwest::header::HeaderMap) -> Option<std::time::Duration> {
    let at: u64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(std::time::Duration::from_secs(
        at.saturating_sub(now).clamp(1, 60),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;
    use crate::wire::test_support::{batch, body_json, header, resp};
    use reqwest::header::HeaderMap;

    fn target(alias: Option<&str>) -> Target {
        Target {
            name: "braze".into(),
            vendor: VendorKind::Braze,
            base_url: host("fra-02").unwrap(),
            params: VendorParams::Braze {
                instance: "fra-02".into(),
                alias_label: alias.map(str::to_owned),
            },
            credentials: [(KEY, Secret::new("braze-xyz"))].into_iter().collect(),
            batch_size: 50,
        }
    }

    #[test]
    fn one_identifier_type_per_request_under_its_key() {
        let a = Braze::new(&target(None)).unwrap();
        let req = a
            .build(&batch("braze", "email", &["a@x.com", "b@x.com"]))
            .unwrap();
        assert_eq!(req.url, "https://rest.fra-02.braze.eu/users/delete");
        assert_eq!(header(&req, "authorization"), Some("Bearer braze-xyz"));
        assert_eq!(
            body_json(&req),
            serde_json::json!({"email_addresses":["a@x.com","b@x.com"]})
        );
        assert!(a.build(&batch("braze", "user_alias", &["n"])).is_err());
        let a = Braze::new(&target(Some("crm"))).unwrap();
        assert_eq!(
            body_json(&a.build(&batch("braze", "user_alias", &["n"])).unwrap()),
            serde_json::json!({"user_aliases":[{"alias_name":"n","alias_label":"crm"}]})
        );
        assert_eq!(host("iad-07").unwrap(), "https://rest.iad-07.braze.com");
        assert!(host("nowhere").is_err() && host("iad-1").is_err());
        assert!(body_key("mpid").is_err());
    }

    #[test]
    fn the_deleted_count_proves_no_more_than_it_says() {
        let a = Braze::new(&target(None)).unwrap();
        let h = HeaderMap::new();
        let b = batch("braze", "external_id", &["a", "b", "c"]);
        let class = |body: &[u8]| match a.classify(&b, &resp(201, &h, body)) {
            Verdict::Items(items) => (items[0].class, items[0].message.clone().unwrap_or_default()),
            v => panic!("{v:?}"),
        };
        assert_eq!(
            class(br#"{"deleted":3,"message":"success"}"#).0,
            OutcomeClass::Acknowledged
        );
        assert_eq!(
            class(br#"{"deleted":0,"message":"success"}"#).0,
            OutcomeClass::NotFound
        );
        let (c, m) = class(br#"{"deleted":2,"message":"success"}"#);
        assert_eq!(c, OutcomeClass::Unknown, "never claimed deleted");
        assert!(m.contains("2 of the 3"), "{m}");
        for bare in [
            &b"{\"message\":\"success\"}"[..],
            b"",
            b"{\"deleted\":\"3\"}",
        ] {
            let (c, m) = class(bare);
            assert_eq!(c, OutcomeClass::Unknown, "a 2xx without a count: {m}");
        }
        let (c, m) = class(br#"{"deleted":4,"message":"success"}"#);
        assert_eq!(c, OutcomeClass::Unknown, "more profiles than ids: {m}");
        // One address can name several profiles: a count proves an address only alone.
        for kind in ["email", "phone"] {
            let two = batch("braze", kind, &["a", "b"]);
            let one = batch("braze", kind, &["a"]);
            let of = |b: &Batch, body: &[u8]| match a.classify(b, &resp(201, &h, body)) {
                Verdict::Items(items) => items.iter().map(|i| i.class).collect::<Vec<_>>(),
                v => panic!("{v:?}"),
            };
            for d in [1, 2, 3] {
                let body = format!(r#"{{"deleted":{d},"message":"success"}}"#);
                assert_eq!(
                    of(&two, body.as_bytes()),
                    [OutcomeClass::Unknown; 2],
                    "{kind}, deleted {d} of 2"
                );
                assert_eq!(of(&one, body.as_bytes()), [OutcomeClass::Acknowledged]);
            }
            assert_eq!(of(&two, br#"{"deleted":0}"#), [OutcomeClass::NotFound; 2]);
            assert_eq!(of(&one, br#"{"deleted":0}"#), [OutcomeClass::NotFound]);
        }
        let retried = Response {
            maybe_delivered_before: true,
            ..resp(201, &h, br#"{"deleted":0}"#)
        };
        assert!(
            matches!(a.classify(&b, &retried), Verdict::Items(ref i) if i[0].class == OutcomeClass::AlreadyDone)
        );
        assert!(matches!(
            a.classify(&b, &resp(404, &h, b"")),
            Verdict::Fatal { auth: false, .. }
        ));
        assert!(matches!(
            a.classify(&b, &resp(403, &h, b"")),
            Verdict::Fatal { auth: true, .. }
        ));
        let mut h429 = HeaderMap::new();
        let soon = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 20;
        h429.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&soon.to_string()).unwrap(),
        );
        let v = a.classify(&b, &resp(429, &h429, b""));
        assert!(
            matches!(v, Verdict::Retry { throttled: true, retry_after: Some(d), .. } if d.as_secs() >= 15 && d.as_secs() <= 20),
            "{v:?}"
        );
    }
}
