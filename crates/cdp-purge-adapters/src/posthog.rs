//! PostHog: `POST /api/projects/{project_id}/persons/bulk_delete/` with up to 1,000
//! `distinct_ids` (or person UUIDs as `ids`), a personal API key with `person:write`.
//! Events and recordings captured before the request are deleted too (`delete_events`,
//! `delete_recordings`): an erasure keeps neither.
//!
//! The 202 is a summary, not per person: how many persons matched, how many were queued,
//! and `deletion_errors` naming persons by UUID. It does not say which of our identifiers
//! matched no person, so the items of a batch share the summary's message. PostHog's
//! `deletion_status` (PR #53357) is keyed by person UUID and follows event deletion only:
//! this tool holds no person UUIDs for a distinct_id run, so completion is not followed.

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use super::target::Target;
use super::wire;
use super::{
    Adapter, ItemOutcome, OutcomeClass, Request, Response, VendorKind, VendorSpec, Verdict,
};
use super::{Credential, Param, Quota, Rate, StatusSupport, Vendor, VendorParams, params};
use cdp_purge_core::batch::Batch;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "POSTHOG_PERSONAL_API_KEY";

/// The private-API hosts of PostHog Cloud (posthog.com/docs/api); a self-hosted instance
/// is a --base-url.
const HOSTS: &[(&str, &str)] = &[
    ("us", "https://us.posthog.com"),
    ("eu", "https://eu.posthog.com"),
];

const PROJECT_ID: Param = Param::text("project_id");

/// PostHog's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Posthog,
    spec: VendorSpec {
        id: "posthog",
        name: "PostHog",
        api: "POST /api/projects/{project_id}/persons/bulk_delete/",
        max_batch: 1000,
        default_batch: 1000,
        max_batch_documented: true,
        // posthog.com/docs/api: persons endpoints allow 240 requests a minute and 1,200 an
        // hour. One window of 20 a minute keeps both (20 x 60 = 1,200).
        quota: Quota {
            requests: Some(Rate {
                count: 20,
                per: Duration::from_secs(60),
            }),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 4,
        one_kind_per_request: true,
        id_kinds: "distinct_id, or id (person UUID) (--id-type)",
        credentials: &[KEY],
        default_base_url: "https://us.posthog.com",
        completion: "queued: persons, their events and recordings captured before the request are deleted in the background; no status this tool can follow",
        caveat: "PostHog queued these persons, their events and recordings for deletion: events captured after the request are kept, and reusing a deleted distinct_id is not supported. PostHog's deletion status is keyed by person UUID and tracks events only, so this tool does not follow it.",
        status: StatusSupport::None,
        reingestion: Some(
            "PostHog: events captured after the request are not deleted; stop capturing for \
             these users first",
        ),
        accepted_means: Some(
            "queued; no status API this tool can follow: PostHog deletes the persons in the \
             background (its deletion_status is keyed by person UUID and covers events only)",
        ),
    },
    params: &[&params::ID_TYPE, &params::REGION, &PROJECT_ID],
    credentials: &[Credential {
        role: "api_key",
        var: KEY,
    }],
    only_id_type: None,
    proving_batch: |_| None,
    missing: |v, stage| {
        crate::id_type_and(
            v,
            stage,
            VendorKind::Posthog,
            "--id-type distinct_id|id",
            &PROJECT_ID,
            "--project-id (the PostHog project ID)",
        )
    },
    resolve: |v| {
        crate::id_type_in(v, VendorKind::Posthog, &["distinct_id", "id"])?;
        let (_, host) = crate::region_host(v, "PostHog", HOSTS)?;
        let project = v.text(PROJECT_ID.key);
        Ok((VendorParams::Posthog { project }, host))
    },
    destination: |t| match &t.params {
        VendorParams::Posthog { project } => vec![("project", project.clone())],
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::Posthog {
            project: a("project").unwrap_or_default(),
        })
    },
    build: |t| Ok(Arc::new(Posthog::new(t)?)),
};

#[derive(Debug)]
pub struct Posthog {
    url: String,
    project: String,
    auth: HeaderValue,
    key_var: String,
}

impl Posthog {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Posthog { project } = &target.params else {
            bail!(
                "internal error: PostHog adapter built for a {} target",
                target.vendor
            );
        };
        Ok(Self {
            url: format!(
                "{}/api/projects/{}/persons/bulk_delete/",
                target.base_url,
                wire::segment(project)
            ),
            project: project.clone(),
            auth: wire::secret_header(
                &format!("Bearer {}", target.credential(KEY)?),
                &target.var(KEY),
            )?,
            key_var: target.var(KEY),
        })
    }
}

/// Person UUIDs go as `ids`; anything else is a distinct_id.
fn by_uuid(kind: &str) -> bool {
    matches!(kind, "id" | "person_id" | "uuid")
}

/// A DRF error's `detail`, scrubbed.
fn detail(batch: &Batch, body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_owned))
        .map(|d| wire::scrub(&d, batch))
        .unwrap_or_default()
}

impl Adapter for Posthog {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Posthog.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let key = match batch.items.first() {
            Some(it) if by_uuid(&it.kind) => "ids",
            _ => "distinct_ids",
        };
        let values: Vec<&str> = batch.items.iter().map(|it| it.value.as_str()).collect();
        let body = json!({ key: values, "delete_events": true, "delete_recordings": true });
        wire::json(Method::POST, self.url.clone(), &self.auth, &body)
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            200..=299 => summary(batch, resp.body, resp.maybe_delivered_before),
            401 => Verdict::Fatal {
                reason: format!("PostHog refused the personal API key (HTTP 401: {})", detail(batch, resp.body)),
                hint: format!("check {} (a personal API key, phx_…, not the project token)", self.key_var),
                auth: true,
            },
            403 => Verdict::Fatal {
                reason: format!("PostHog refused the deletion (HTTP 403: {})", detail(batch, resp.body)),
                hint: format!("give the key in {} the person:write scope and access to project {}", self.key_var, self.project),
                auth: true,
            },
            404 => Verdict::Fatal {
                reason: format!("PostHog: project {} not found (HTTP 404)", self.project),
                hint: "check --project-id and the host (--region us|eu, or --base-url for a self-hosted instance)".into(),
                auth: false,
            },
            400 => Verdict::Failed {
                reason: format!("HTTP 400: {}", detail(batch, resp.body)),
                bisect: true,
            },
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        vec![("project".into(), self.project.clone())]
    }

    fn endpoint(&self) -> String {
        format!("POST {}", self.url)
    }

    /// The project (`GET /api/projects/{id}/`): read-only, it proves the key and that the
    /// project exists on this host. A key without the `project:read` scope gets a 403
    /// that says so: the key works, the project is not proven.
    fn preflight(&self) -> anyhow::Result<cdp_purge_core::protocol::Preflight> {
        use cdp_purge_core::protocol::Finding;
        let base = self
            .url
            .split("/api/projects/")
            .next()
            .unwrap_or_default()
            .to_owned();
        let project = self.project.clone();
        let mut probe = wire::probe(
            "personal API key and project",
            wire::get(
                format!("{base}/api/projects/{}/", wire::segment(&self.project)),
                &self.auth,
            ),
            "PostHog",
            self.key_var.clone(),
            format!("personal API key accepted; project {project} found"),
            format!(
                "no project {project} on this host: check --project and --base-url (us.posthog.com or eu.posthog.com)"
            ),
            |b| {
                serde_json::from_slice::<Value>(b)
                    .ok()
                    .is_some_and(|v| v.get("id").is_some())
            },
        );
        let generic = probe.read;
        probe.read = Box::new(move |status, body| {
            let detail = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("detail")?.as_str().map(str::to_owned))
                .unwrap_or_default();
            if status == 403 && detail.contains("scope") {
                return Finding::Unverified(format!(
                    "the key works but lacks the project:read scope ({}), so project {project} is not proven",
                    detail
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(120)
                        .collect::<String>()
                ));
            }
            generic(status, body)
        });
        Ok(cdp_purge_core::protocol::Preflight {
            probes: vec![probe],
            unchecked: vec![
                "the person:write scope: PostHog shows a key's scopes only by refusing a call that needs one; a key without it stops the first batch (exit 3)".into(),
            ],
        })
    }
}

/// The 202 summary as per-item outcomes, claiming no more than it says.
fn summary(batch: &Batch, body: &[u8], maybe_delivered_before: bool) -> Verdict {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return wire::all(
            batch,
            ItemOutcome::unknown(
                "a 202 that is not JSON: whether the persons were queued is unknown",
            ),
        );
    };
    let count = |k: &str| v.get(k).and_then(Value::as_u64);
    let errors = v
        .get("deletion_errors")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if errors > 0 {
        // The errors name persons by UUID, not our identifiers: halve until each failing
        // identifier stands alone (re-sending the others is harmless: they are gone).
        let step = v
            .pointer("/deletion_errors/0/step")
            .and_then(Value::as_str)
            .unwrap_or("unknown step");
        return Verdict::Failed {
            reason: format!("PostHog could not delete {errors} person(s) (step {step})"),
            bisect: true,
        };
    }
    let (Some(found), queued) = (count("persons_found"), count("persons_queued_for_deletion"))
    else {
        // PostHog answers 202 whether or not any person matched, so without the summary
        // (persons_found) the answer proves nothing about these identifiers.
        return wire::all(
            batch,
            ItemOutcome::unknown(
                "a 202 without the deletion summary (persons_found): whether any person was queued is unknown",
            ),
        );
    };
    let n = batch.len() as u64;
    if found == 0 {
        // After an earlier request that may have carried them (a bisected batch PostHog
        // partly deleted, a lost answer), no person is what our own deletion leaves.
        let outcome = if maybe_delivered_before {
            ItemOutcome::new(OutcomeClass::AlreadyDone)
                .with_message("no person left: deleted by an earlier request of this run")
        } else {
            ItemOutcome::new(OutcomeClass::NotFound).with_message("PostHog found no person for it")
        };
        return wire::all(batch, outcome);
    }
    let queued = queued.or(count("persons_deleted")).unwrap_or(0);
    if queued < found {
        // Some matched persons were neither queued nor reported as errors: which ones is
        // not said, so no identifier of the batch is acknowledged; halve until each
        // stands alone (the queued ones come back as "no person left").
        return Verdict::Failed {
            reason: format!("PostHog queued {queued} of {found} matched person(s)"),
            bisect: true,
        };
    }
    let mut outcome = ItemOutcome::acknowledged(None);
    if found < n {
        outcome = outcome.with_message(format!(
            "PostHog matched {found} person(s) for {n} identifiers and does not say which matched none"
        ));
    }
    wire::all(batch, outcome)
}

#[cfg(test)]
mod tests {
    use super::super::wire::test_support::{batch, body_json, header};
    use super::*;

    fn adapter() -> Posthog {
        let target = Target {
            name: "posthog".into(),
            vendor: VendorKind::Posthog,
            base_url: "https://eu.posthog.com".into(),
            params: VendorParams::Posthog {
                project: "12".into(),
            },
            credentials: [(KEY, super::super::Secret::new("phx_k"))]
                .into_iter()
                .collect(),
            batch_size: 1000,
        };
        Posthog::new(&target).unwrap()
    }

    fn answer(status: u16, body: &str, b: &Batch) -> Verdict {
        super::super::wire::test_support::classify(&adapter(), status, body, b)
    }

    #[test]
    fn fewer_queued_than_matched_acknowledges_nothing() {
        let h = reqwest::header::HeaderMap::new();
        let b = batch("posthog", "distinct_id", &["a", "b"]);
        for body in [
            r#"{"persons_found":2,"persons_queued_for_deletion":1,"deletion_errors":[]}"#,
            r#"{"persons_found":2,"deletion_errors":[]}"#,
        ] {
            let r = super::super::wire::test_support::resp(202, &h, body.as_bytes());
            assert!(
                matches!(
                    adapter().classify(&b, &r),
                    Verdict::Failed { bisect: true, .. }
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn sends_distinct_ids_or_uuids_with_events_and_recordings() {
        let a = adapter();
        let r = a
            .build(&batch("posthog", "distinct_id", &["a", "b"]))
            .unwrap();
        assert_eq!(
            r.url,
            "https://eu.posthog.com/api/projects/12/persons/bulk_delete/"
        );
        assert_eq!(header(&r, "authorization"), Some("Bearer phx_k"));
        let v = body_json(&r);
        assert_eq!(v["distinct_ids"], json!(["a", "b"]));
        assert_eq!(
            (
                v["delete_events"].as_bool(),
                v["delete_recordings"].as_bool()
            ),
            (Some(true), Some(true))
        );
        let v = body_json(&a.build(&batch("posthog", "id", &["0190-uuid"])).unwrap());
        assert_eq!(v["ids"], json!(["0190-uuid"]));
    }

    #[test]
    fn the_summary_decides_and_claims_no_more_than_it_says() {
        let b = batch("posthog", "distinct_id", &["a", "b"]);
        let ok = r#"{"persons_found":2,"persons_deleted":0,"persons_queued_for_deletion":2,"events_queued_for_deletion":true,"deletion_errors":[]}"#;
        let Verdict::Items(items) = answer(202, ok, &b) else {
            panic!()
        };
        assert!(
            items
                .iter()
                .all(|o| o.class == OutcomeClass::Acknowledged && o.message.is_none())
        );
        let partial = r#"{"persons_found":1,"persons_queued_for_deletion":1,"deletion_errors":[]}"#;
        let Verdict::Items(items) = answer(202, partial, &b) else {
            panic!()
        };
        assert!(
            items[0]
                .message
                .as_deref()
                .unwrap()
                .contains("does not say which")
        );
        let none = r#"{"persons_found":0,"persons_queued_for_deletion":0,"deletion_errors":[]}"#;
        let Verdict::Items(items) = answer(202, none, &b) else {
            panic!()
        };
        assert!(items.iter().all(|o| o.class == OutcomeClass::NotFound));
        // A 202 comes whether or not anyone matched: without the summary it proves nothing.
        for bare in ["", "{}", "<html>"] {
            let v = answer(202, bare, &b);
            assert!(
                matches!(&v, Verdict::Items(i) if i.iter().all(|o| o.class == OutcomeClass::Unknown)),
                "{bare:?}: {v:?}"
            );
        }
        let failed =
            r#"{"persons_found":2,"deletion_errors":[{"person_id":"x","step":"delete_person"}]}"#;
        assert!(matches!(
            answer(202, failed, &b),
            Verdict::Failed { bisect: true, .. }
        ));
        assert!(matches!(
            answer(403, r#"{"detail":"missing scope"}"#, &b),
            Verdict::Fatal { auth: true, .. }
        ));
        assert!(matches!(
            answer(404, "{}", &b),
            Verdict::Fatal { auth: false, .. }
        ));
        assert!(matches!(
            answer(429, "{}", &b),
            Verdict::Retry {
                throttled: true,
                ..
            }
        ));
    }
}
