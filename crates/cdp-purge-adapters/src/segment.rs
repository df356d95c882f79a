//! Twilio Segment: Delete Profile Identifier, one external id per request, found by the
//! profile's `user_id`:
//! `POST /v1/spaces/{space}/collections/users/profiles/user_id:{user_id}/external_ids/delete`.
//!
//! Synchronous for the identity graph. Not a GDPR erasure: the profile stays, destinations
//! are untouched, and an Event Archive replay brings the identifier back.

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde::Serialize;

use super::preflight::{self, Finding, Preflight, Probe};
use super::target::Target;
use super::wire;
use super::{
    Adapter, Diagnosis, ItemOutcome, OutcomeClass, Request, Resolution, Response, VendorKind,
    VendorSpec, Verdict, is_permission_message,
};
use super::{Credential, Param, Vendor, VendorParams, params};
use super::{Quota, Rate, StatusSupport};
use cdp_purge_core::batch::{Batch, Item};
use cdp_purge_core::error::UserError;
use std::sync::Arc;

pub(crate) const TOKEN: &str = "SEGMENT_TOKEN";

const SPACE: Param = Param::text("space");
const USER_ID_COLUMN: Param = Param::text("user_id_column");
/// Find each row's profile by this external id type through the Profile API.
const LOOKUP_TYPE: Param = Param::text("lookup_type");
/// With `lookup_type`: the column holding the value to look up (default: the identifier's).
const LOOKUP_COLUMN: Param = Param::text("lookup_column");

/// Segment's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Segment,
    spec: VendorSpec {
        id: "segment",
        name: "Twilio Segment",
        api: "POST /v1/spaces/{space}/collections/users/profiles/user_id:{user_id}/external_ids/delete",
        max_batch: 1,
        default_batch: 1,
        max_batch_documented: true,
        quota: Quota {
            requests: Some(Rate::per_second(100)),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 128,
        one_kind_per_request: true,
        id_kinds: "one external id (--id-type or --id-type-column) per request, found by its profile's user_id (--user-id-column)",
        credentials: &["SEGMENT_TOKEN"],
        default_base_url: "https://profiles.segment.com",
        completion: "synchronous for the identity graph; downstream destinations are not touched",
        caveat: "Segment removed the identifiers from the identity graph only: downstream destinations are not touched, and replaying archived events brings the identifiers back. `cdp-purge status --ledger LEDGER --verify -i INPUT --column NAME --lookup-column NAME` checks the profiles' external ids (and `--recheck` later finds any that came back).",
        // `status --verify`: the Profile API lists the profile's external ids.
        status: StatusSupport::Lookup { by: "user_id" },
        reingestion: Some(
            "Segment: replaying events from the Event Archive (or rebuilding the space) \
             reintroduces deleted identifiers; run the deletions again after a replay",
        ),
        accepted_means: Some(
            "accepted; no status API: synchronous for the identity graph (gone on a 200); \
             profile storage follows within minutes, destinations are not touched; \
             `status --verify` checks the profiles' external ids",
        ),
    },
    params: &[
        &params::ID_TYPE,
        &params::REGION,
        &SPACE,
        &params::ID_TYPE_COLUMN,
        &USER_ID_COLUMN,
        &LOOKUP_TYPE,
        &LOOKUP_COLUMN,
        &params::OLD_ID_TYPE_COLUMN,
    ],
    credentials: &[Credential {
        role: "token",
        var: TOKEN,
    }],
    only_id_type: None,
    proving_batch: |_| None,
    missing: |v, stage| {
        let mut missing = Vec::new();
        if stage.sending() && !v.has(SPACE.key) {
            missing.push("--space (the Unify space ID)");
        }
        if stage.reading() && !v.has_kind(VendorKind::Segment) {
            missing.push("--id-type or --id-type-column (the external id type, e.g. email)");
        }
        if stage.reading() && !v.has(USER_ID_COLUMN.key) && !v.has(LOOKUP_TYPE.key) {
            missing.push(
                "--user-id-column (the column with each row's lookup user_id), or --lookup-type (email, anonymous_id, ...) to find it",
            );
        }
        missing
    },
    resolve: |v| {
        let region = v.get(params::REGION.key).unwrap_or("us").to_owned();
        let host = match region.as_str() {
            "us" => "https://profiles.segment.com",
            "eu" => "https://profiles.euw1.segment.com",
            other => {
                return Err(
                    UserError::usage(format!("unknown Segment region {other:?}"))
                        .with_hint("use us or eu"),
                );
            }
        };
        let space = v.text(SPACE.key);
        let lookup_type = v.get(LOOKUP_TYPE.key).map(str::to_owned);
        Ok((
            VendorParams::Segment {
                region,
                space,
                lookup_type,
            },
            host.to_owned(),
        ))
    },
    destination: |t| match &t.params {
        VendorParams::Segment {
            region,
            space,
            lookup_type,
        } => {
            let mut d = vec![("region", region.clone()), ("space", space.clone())];
            if let Some(l) = lookup_type {
                d.push(("lookup_type", l.clone()));
            }
            d
        }
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::Segment {
            region: a("region").unwrap_or_default(),
            space: a("space").unwrap_or_default(),
            lookup_type: a("lookup_type"),
        })
    },
    build: |t| Ok(Arc::new(Segment::new(t)?)),
};

const SOURCE_HINT: &str = "the first call creates the internal profile-api-source; check --space \
     and that the token's role is Workspace Owner, Identity Admin or Unify and Engage Admin";

/// The Profile API's documented message for an unknown profile (SEG-PAPI). What a wrong
/// space answers is not documented; an answer naming the space, or a not_found with another
/// message, is read as one.
pub(crate) const PROFILE_NOT_FOUND: &str = "Profile was not found.";

/// A 404/403 message about the space rather than the profile.
fn about_space(lower_message: &str) -> bool {
    lower_message.contains("space")
}

/// "Invalid URL: valid `user_id` is required. Unsupported <id type>": about this item's
/// lookup or type, not about how we built the request.
fn bad_lookup_or_type(lower_message: &str) -> bool {
    lower_message.contains("unsupported")
        || lower_message.contains("valid `user_id`")
        || lower_message.contains("valid user_id")
}

#[derive(Debug)]
pub struct Segment {
    region: String,
    space: String,
    /// `{base}/v1/spaces/{space}/collections/users/profiles/user_id:`; the encoded user_id
    /// and the action follow per request.
    prefix: String,
    auth: HeaderValue,
    /// The variable the token was read from, for hints.
    token_var: String,
    /// `--lookup-type`: rows are found by this external id type through the Profile API
    /// (`item.lookup` holds the value), not by a user_id column.
    lookup_type: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    delete_external_ids: [ExternalId<'a>; 1],
}

#[derive(Serialize)]
struct ExternalId<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

impl Segment {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Segment {
            region,
            space,
            lookup_type,
        } = &target.params
        else {
            return Err(wire::wrong_target("Segment", target));
        };
        Ok(Self {
            region: region.clone(),
            space: space.clone(),
            prefix: format!(
                "{}/v1/spaces/{}/collections/users/profiles/user_id:",
                target.base_url,
                wire::segment(space)
            ),
            // The token is the username; the password is empty.
            auth: wire::basic_auth(target.credential(TOKEN)?, "", &target.var(TOKEN))?,
            token_var: target.var(TOKEN),
            lookup_type: lookup_type.clone(),
        })
    }

    /// The deletion of `item`'s identifier from the profile found by `user_id`.
    fn delete_request(&self, item: &Item, user_id: &str) -> anyhow::Result<Request> {
        let body = Body {
            delete_external_ids: [ExternalId {
                id: &item.value,
                kind: &item.kind,
            }],
        };
        let url = format!(
            "{}{}/external_ids/delete",
            self.prefix,
            wire::segment(user_id)
        );
        wire::json(Method::POST, url, &self.auth, &body)
    }

    fn one(outcome: ItemOutcome) -> Verdict {
        Verdict::Items(vec![outcome])
    }
}

impl Adapter for Segment {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Segment.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let [item] = batch.items.as_slice() else {
            bail!(
                "Segment deletes one identifier per request, this batch has {}",
                batch.len()
            );
        };
        if self.lookup_type.is_some() {
            bail!("internal error: a Segment row found by --lookup-type is sent once resolved");
        }
        let Some(user_id) = item.lookup.as_deref().filter(|u| !u.is_empty()) else {
            bail!(
                "input {} row {}: no user_id to find the profile by",
                item.file + 1,
                item.row
            );
        };
        self.delete_request(item, user_id)
    }

    /// `--lookup-type T`: `GET …/profiles/T:{value}/external_ids?include=user_id&limit=100`
    /// (Profile API, same host and token), which lists the profile's user_ids.
    fn resolve_request(&self, item: &Item) -> anyhow::Result<Option<Request>> {
        let Some(kind) = &self.lookup_type else {
            return Ok(None);
        };
        let Some(value) = item.lookup.as_deref().filter(|v| !v.is_empty()) else {
            bail!(
                "input {} row {}: no value to look the profile up by",
                item.file + 1,
                item.row
            );
        };
        let base = self.prefix.trim_end_matches("user_id:");
        Ok(Some(wire::get(
            format!(
                "{base}{}:{}/external_ids?include=user_id&limit=100",
                wire::segment(kind),
                wire::segment(value)
            ),
            &self.auth,
        )))
    }

    fn classify_resolve(&self, item: &Item, resp: &Response<'_>) -> Resolution {
        let kind = self.lookup_type.as_deref().unwrap_or("lookup");
        if (200..300).contains(&resp.status) {
            return match user_ids(resp.body) {
                Some((ids, more)) => match (ids.as_slice(), more) {
                    ([uid], false) => Resolution::Found(uid.clone()),
                    ([], false) => Resolution::Refused(format!(
                        "the profile found by {kind} has no user_id, and Segment deletes by user_id only"
                    )),
                    (ids, more) => Resolution::Refused(format!(
                        "the profile found by {kind} has {}{} user_ids: refused rather than guess which (give the one to use with --user-id-column)",
                        if more { "more than " } else { "" },
                        ids.len()
                    )),
                },
                None => Resolution::Refused(format!(
                    "the Profile API answered HTTP {} in a shape it does not document for external_ids",
                    resp.status
                )),
            };
        }
        let (code, message) = wire::error_fields(resp.body);
        let lower = message.as_deref().unwrap_or_default().to_ascii_lowercase();
        match (resp.status, code.as_deref()) {
            // The documented answer for no such profile (SEG-PAPI).
            (404, Some("not_found")) if message.as_deref() == Some(PROFILE_NOT_FOUND) => {
                Resolution::Absent(format!("no profile with that {kind}"))
            }
            // Anything else is judged like the deletion's answers: a space refused, the
            // token refused, a retry; a 404 that is not the documented one is not "absent".
            (404, _) if !about_space(&lower) => Resolution::Again(Verdict::Failed {
                reason: format!(
                    "the Profile API answered HTTP 404 without its documented \"Profile was not found.\" ({})",
                    wire::scrub(
                        message.as_deref().unwrap_or("no message"),
                        &Batch::new(0, "segment", None, vec![item.clone()])
                    )
                ),
                bisect: false,
            }),
            _ => match self.classify(&Batch::new(0, "segment", None, vec![item.clone()]), resp) {
                Verdict::Items(o) => Resolution::Refused(
                    o.into_iter()
                        .next()
                        .and_then(|o| o.message)
                        .unwrap_or_else(|| format!("HTTP {}", resp.status)),
                ),
                v => Resolution::Again(v),
            },
        }
    }

    fn build_resolved(&self, batch: &Batch, user_id: &str) -> anyhow::Result<Request> {
        let [item] = batch.items.as_slice() else {
            bail!("a resolved Segment batch carries one identifier");
        };
        self.delete_request(item, user_id)
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        let (code, message) = wire::error_fields(resp.body);
        let code = code.unwrap_or_default();
        // Segment's messages can name the type, the space, and (for some 400s) the lookup
        // user_id; scrub before quoting.
        let quoted = || {
            let m = message
                .as_deref()
                .map(|m| wire::scrub(m, batch))
                .unwrap_or_default();
            match (code.is_empty(), m.is_empty()) {
                (true, true) => format!("HTTP {}", resp.status),
                (false, true) => format!("HTTP {} {code}", resp.status),
                (true, false) => format!("HTTP {}: {m}", resp.status),
                (false, false) => format!("HTTP {} {code}: {m}", resp.status),
            }
        };
        let lower = message.as_deref().unwrap_or_default().to_ascii_lowercase();
        match (resp.status, code.as_str()) {
            (200..=299, _) => Self::one(ItemOutcome::acknowledged(None)),
            (404, "eid_not_found") if resp.maybe_delivered_before => Self::one(
                ItemOutcome::new(OutcomeClass::AlreadyDone)
                    .with_message("already absent after a retry"),
            ),
            (404, "eid_not_found") => Self::one(
                ItemOutcome::new(OutcomeClass::NotFound)
                    .with_message("the profile has no such external identifier"),
            ),
            // Segment documents no answer for a wrong space; one that says so is not about
            // the profile.
            (404 | 403, _) if about_space(&lower) && !lower.contains("not activated") => {
                Verdict::Fatal {
                    reason: format!("Segment refused space {} ({})", self.space, quoted()),
                    hint: format!(
                        "check --space {} and --region {}: the token belongs to one space",
                        self.space, self.region
                    ),
                    auth: false,
                }
            }
            (404, "not_found") => Self::one(
                ItemOutcome::new(OutcomeClass::NotFound)
                    .with_message("no profile with that user_id"),
            ),
            (404, "source_id_not_found") => Verdict::Fatal {
                reason: format!("Segment: no source attached to space {}", self.space),
                hint: SOURCE_HINT.into(),
                auth: false,
            },
            // Without a Segment error code a 404 is not about the profile (a wrong host or
            // path gives one too), so it is not reported as "not found".
            (404, _) => Verdict::Failed {
                reason: quoted(),
                bisect: false,
            },
            (403, _) if lower.contains("not activated") => Verdict::Fatal {
                reason: "Delete Profile Identifier is not activated for this space".into(),
                hint: format!(
                    "ask Segment to enable the (beta) Delete Profile Identifier API for space {}",
                    self.space
                ),
                auth: false,
            },
            (401 | 403, _) => wire::refused(
                format!("Segment refused the token ({})", quoted()),
                format!(
                    "check {} (Unify settings → API access) and --region {}",
                    self.token_var, self.region
                ),
            ),
            (400, "unsupported_eid_type") => {
                Self::one(ItemOutcome::invalid("unsupported external id type"))
            }
            (400, _) if lower.contains("must differ from lookup id") => Self::one(
                ItemOutcome::invalid("the identifier to delete is the lookup user_id itself"),
            ),
            (400, _) if bad_lookup_or_type(&lower) => Self::one(ItemOutcome::invalid(quoted())),
            // "Only one external_id…", "Invalid collection…", "Missing required parameters":
            // our request is malformed; with one item there is nothing to bisect.
            (400, _) => Verdict::Failed {
                reason: quoted(),
                bisect: false,
            },
            // 429 rate_limit_error (per space or per profile) and 5xx retry; the common
            // table honours Retry-After.
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        wire::pairs(&[("region", &self.region), ("space", &self.space)])
    }

    fn endpoint(&self) -> String {
        format!("POST {}{{user_id}}/external_ids/delete", self.prefix)
    }

    /// Every row answered alike: `not_found` on every profile is what a wrong space may
    /// answer (Segment does not document it), `eid_not_found` on every one a wrong type.
    fn systemic(&self, reason: &str) -> Diagnosis {
        if is_permission_message(reason) {
            return Diagnosis {
                auth: true,
                hint: format!(
                    "check {}: its role must be Workspace Owner, Identity Admin or Unify and Engage Admin",
                    self.token_var
                ),
            };
        }
        let hint = if reason.contains("user_id") {
            format!(
                "no profile had its user_id: a wrong --space ({}) or --region ({}) answers like this, as does a wrong --user-id-column; `cdp-purge check` tests the space",
                self.space, self.region
            )
        } else if reason.contains("external identifier") {
            "no profile carried the identifier: check --id-type (or --id-type-column)".to_owned()
        } else {
            format!(
                "Segment refused every identifier alike: check --space {}, --region {} and the identifier type",
                self.space, self.region
            )
        };
        Diagnosis { auth: false, hint }
    }

    /// A Profile API lookup of a user_id no profile has: the documented 404 `not_found`
    /// "Profile was not found." proves the token and that the space exists, as far as
    /// Segment's published answers allow.
    fn preflight(&self) -> anyhow::Result<Preflight> {
        let space = self.space.clone();
        let var = self.token_var.clone();
        Ok(Preflight {
            probes: vec![Probe {
                what: "token and space",
                request: wire::get(format!(
                        "{}cdp-purge-preflight/external_ids?include=user_id",
                        self.prefix
                    ), &self.auth),
                gate: true,
                read: Box::new(move |status, body| read_lookup(status, body, &space, &var)),
            }],
            unchecked: vec![
                "that Delete Profile Identifier is activated for the space: only a deletion shows it (a 403 that stops the run at once)".into(),
            ],
        })
    }
}

/// The user_ids a Profile API `external_ids` page lists (`{"data":[{"type","id"}…],
/// "cursor":{"has_more"}}`, SEG-PAPI), and whether more pages follow; `None` when the body
/// is not that shape.
fn user_ids(body: &[u8]) -> Option<(Vec<String>, bool)> {
    #[derive(serde::Deserialize)]
    struct Page {
        data: Vec<Eid>,
        #[serde(default)]
        cursor: Option<Cursor>,
    }
    #[derive(serde::Deserialize)]
    struct Eid {
        #[serde(rename = "type")]
        kind: String,
        id: String,
    }
    #[derive(serde::Deserialize)]
    struct Cursor {
        #[serde(default)]
        has_more: bool,
    }
    let page: Page = serde_json::from_slice(body).ok()?;
    let ids = page
        .data
        .into_iter()
        .filter(|e| e.kind == "user_id" && !e.id.is_empty())
        .map(|e| e.id)
        .collect();
    Some((ids, page.cursor.is_some_and(|c| c.has_more)))
}

/// The answer to the preflight lookup.
fn read_lookup(status: u16, body: &[u8], space: &str, var: &str) -> Finding {
    let (code, message) = wire::error_fields(body);
    let message = message.unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    let quoted: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    match (status, code.as_deref()) {
        (200..=299, _) => Finding::Ok(format!("token and space {space} accepted")),
        (404, Some("source_id_not_found")) => {
            Finding::Failed(format!("no source is attached to space {space}: {quoted}"))
        }
        (403, _) if lower.contains("not activated") => Finding::Failed(format!(
            "Delete Profile Identifier is not activated for space {space}: {quoted}"
        )),
        (403 | 404, _) if about_space(&lower) => Finding::Failed(format!(
            "Segment does not accept space {space} with this token (HTTP {status}: {quoted}): check --space and --region"
        )),
        (404, Some("not_found")) if message.trim() == PROFILE_NOT_FOUND => Finding::Ok(format!(
            "token accepted; space {space} answered a made-up user_id with Segment's documented \"{PROFILE_NOT_FOUND}\" (Segment does not document a wrong space's answer, so this is as far as the API lets the space be checked)"
        )),
        (404, Some("not_found")) => Finding::Failed(format!(
            "a made-up user_id got 404 not_found \"{quoted}\", not the Profile API's documented \"{PROFILE_NOT_FOUND}\": a wrong --space {space} (or --region) answers like this"
        )),
        (404, _) => Finding::Failed(
            "the Profile API path was not found: check --space, --region and --base-url".into(),
        ),
        (401 | 403, _) => preflight::refused(status, "Segment", var),
        (s, _) => Finding::Failed(format!("unexpected HTTP {s} from the Profile API")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;
    use crate::wire::test_support::resp;
    use cdp_purge_core::batch::Item;
    use reqwest::header::HeaderMap;
    use std::time::Duration;

    fn target() -> Target {
        Target {
            name: "segment".into(),
            vendor: VendorKind::Segment,
            base_url: "https://profiles.segment.com".into(),
            params: VendorParams::Segment {
                region: "us".into(),
                space: "spa_abc123".into(),
                lookup_type: None,
            },
            credentials: [(TOKEN, Secret::new("token"))].into_iter().collect(),
            batch_size: 1,
        }
    }

    fn batch(value: &str, kind: &str, user_id: &str) -> Batch {
        Batch::new(
            0,
            "segment",
            Some(kind.into()),
            vec![Item {
                file: 0,
                row: 2,
                value: value.into(),
                kind: kind.into(),
                lookup: Some(user_id.into()),
            }],
        )
    }

    fn class(v: &Verdict) -> Option<OutcomeClass> {
        match v {
            Verdict::Items(items) if items.len() == 1 => Some(items[0].class),
            _ => None,
        }
    }

    #[test]
    fn builds_one_request_with_strictly_encoded_user_id() {
        let a = Segment::new(&target()).expect("adapter");
        let b = batch("wrong@example.com", "email", "user+001/x y");
        let req = a.build(&b).expect("request");
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.url,
            "https://profiles.segment.com/v1/spaces/spa_abc123/collections/users/profiles/user_id:user%2B001%2Fx%20y/external_ids/delete"
        );
        let auth = req
            .headers
            .iter()
            .find(|(n, _)| n == reqwest::header::AUTHORIZATION)
            .map(|(_, v)| v)
            .expect("auth header");
        assert_eq!(auth.to_str().ok(), Some("Basic dG9rZW46"));
        assert!(auth.is_sensitive());
        assert_eq!(
            std::str::from_utf8(&req.body).expect("utf-8"),
            r#"{"delete_external_ids":[{"id":"wrong@example.com","type":"email"}]}"#
        );
        assert!(!a.endpoint().contains("user+001"));
        assert!(
            a.endpoint()
                .ends_with("/user_id:{user_id}/external_ids/delete")
        );
    }

    #[test]
    fn refuses_batches_of_two_or_without_user_id() {
        let a = Segment::new(&target()).expect("adapter");
        let mut b = batch("a@x.io", "email", "u1");
        b.items.push(b.items[0].clone());
        assert!(a.build(&b).is_err());
        let mut b = batch("a@x.io", "email", "");
        b.items[0].lookup = None;
        let e = a.build(&b).expect_err("no lookup");
        assert!(!e.to_string().contains("a@x.io"));
    }

    #[test]
    fn eid_not_found_depends_on_an_earlier_delivery() {
        let a = Segment::new(&target()).expect("adapter");
        let b = batch("a@x.io", "email", "u1");
        let h = HeaderMap::new();
        let body =
            br#"{"error":{"code":"eid_not_found","message":"External identifier not found"}}"#;
        let mut r = resp(404, &h, body);
        assert_eq!(class(&a.classify(&b, &r)), Some(OutcomeClass::NotFound));
        r.maybe_delivered_before = true;
        r.attempt = 2;
        assert_eq!(
            a.classify(&b, &r),
            Verdict::Items(vec![
                ItemOutcome::new(OutcomeClass::AlreadyDone)
                    .with_message("already absent after a retry")
            ])
        );
        // Top-level error shape too.
        let r = resp(
            404,
            &h,
            br#"{"code":"not_found","message":"The resource was not found"}"#,
        );
        assert_eq!(class(&a.classify(&b, &r)), Some(OutcomeClass::NotFound));
    }

    #[test]
    fn configuration_errors_stop_the_run() {
        let a = Segment::new(&target()).expect("adapter");
        let b = batch("a@x.io", "email", "u1");
        let h = HeaderMap::new();
        let v = a.classify(
            &b,
            &resp(404, &h, br#"{"error":{"code":"source_id_not_found","message":"No source attached to space_id spa_abc123"}}"#),
        );
        assert!(matches!(v, Verdict::Fatal { auth: false, .. }), "{v:?}");
        let v = a.classify(
            &b,
            &resp(403, &h, br#"{"error":{"code":"forbidden","message":"Deleted identifier not activated for space_id spa_abc123"}}"#),
        );
        assert_eq!(
            v,
            Verdict::Fatal {
                reason: "Delete Profile Identifier is not activated for this space".into(),
                hint: "ask Segment to enable the (beta) Delete Profile Identifier API for space spa_abc123".into(),
                auth: false,
            }
        );
        let v = a.classify(
            &b,
            &resp(
                401,
                &h,
                br#"{"error":{"code":"unauthorized","message":"The specified token is invalid"}}"#,
            ),
        );
        assert!(matches!(v, Verdict::Fatal { auth: true, ref hint, .. } if hint.contains(TOKEN)));
    }

    #[test]
    fn item_errors_and_throttling() {
        let a = Segment::new(&target()).expect("adapter");
        let b = batch("a@x.io", "user_id", "a@x.io");
        let h = HeaderMap::new();
        let v = a.classify(
            &b,
            &resp(400, &h, br#"{"error":{"code":"bad_request","message":"External id specification must differ from lookup id"}}"#),
        );
        assert_eq!(class(&v), Some(OutcomeClass::Invalid));
        let v = a.classify(
            &b,
            &resp(400, &h, br#"{"error":{"code":"unsupported_eid_type","message":"Unsupported user_id a@x.io"}}"#),
        );
        assert_eq!(class(&v), Some(OutcomeClass::Invalid));
        assert!(!format!("{v:?}").contains("a@x.io"));
        let v = a.classify(
            &b,
            &resp(400, &h, br#"{"error":{"code":"bad_request","message":"Invalid URL: valid `user_id` is required. Unsupported a@x.io"}}"#),
        );
        assert_eq!(class(&v), Some(OutcomeClass::Invalid));
        assert!(!format!("{v:?}").contains("a@x.io"), "{v:?}");

        let mut h429 = HeaderMap::new();
        h429.insert("retry-after", HeaderValue::from_static("2"));
        let v = a.classify(
            &b,
            &resp(429, &h429, br#"{"error":{"code":"rate_limit_error","message":"Attempted to delete more than 100 IDs per second for a single profile"}}"#),
        );
        assert!(
            matches!(v, Verdict::Retry { throttled: true, retry_after: Some(d), .. } if d == Duration::from_secs(2)),
            "{v:?}"
        );
        assert_eq!(
            class(&a.classify(&b, &resp(200, &h, br#"{"code":"success"}"#))),
            Some(OutcomeClass::Acknowledged)
        );
    }
}
