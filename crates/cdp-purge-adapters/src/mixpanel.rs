//! Mixpanel GDPR API v3: `POST /api/app/data-deletions/v3.0/?token=PROJECT_TOKEN` with up
//! to 1999 distinct_ids (the reference page's number for deletions; fewer with data groups),
//! one request per second for all GDPR APIs, then `GET /data-deletions/v3.0/{task}` until
//! SUCCESS. Deletions can take up to 30 days.
//!
//! A distinct_id that already has a deletion task running makes Mixpanel refuse the whole
//! request with 409 (not on its pages; rudder-transformer #5578 shows the body, which lists
//! `conflicting_distinct_ids`). Those ids are already being deleted; the others were not
//! sent. The batch is split until every part either goes through or conflicts whole.

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;

use super::target::Target;
use super::wire;
use super::{
    Adapter, ItemOutcome, JobReport, JobState, OutcomeClass, Request, Response, VendorKind,
    VendorSpec, Verdict,
};
use super::{Credential, Param, Quota, Rate, StatusSupport, Vendor, VendorParams, params};
use cdp_purge_core::batch::Batch;
use cdp_purge_core::error::UserError;
use std::sync::Arc;

const GDPR_TOKEN: &str = "MIXPANEL_GDPR_TOKEN";
const PROJECT_TOKEN: &str = "MIXPANEL_PROJECT_TOKEN";

/// "You can add up to 1999 distinct IDs" (Create a Deletion Task).
pub const MAX_IDS: usize = 1999;

/// The per-request cap of a project with `data_groups` data groups: floor(2000 / (g + 1)),
/// from the shared research (vendor-apis.md); the reference page gives 1999 without them.
pub fn cap(data_groups: u32) -> usize {
    MAX_IDS.min(2000 / (data_groups as usize + 1))
}

/// The API hosts of the data-residency regions (the GDPR OpenAPI's servers).
const HOSTS: &[(&str, &str)] = &[
    ("us", "https://mixpanel.com"),
    ("eu", "https://eu.mixpanel.com"),
    ("in", "https://in.mixpanel.com"),
];

const COMPLIANCE_TYPE: Param = Param::one_of("compliance_type", &["GDPR", "CCPA"]);
/// A number, kept as text like every setting.
const DATA_GROUPS: Param = Param::text("data_groups");

/// Mixpanel's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Mixpanel,
    spec: VendorSpec {
        id: "mixpanel",
        name: "Mixpanel",
        api: "POST /api/app/data-deletions/v3.0/?token={project_token}",
        // mixpanel/docs reference/GDPR API: "up to 1999 distinct IDs" for a deletion task
        // (fewer with data groups: --data-groups).
        max_batch: MAX_IDS,
        default_batch: MAX_IDS,
        max_batch_documented: true,
        // Same page: "a rate limit of 1 request per second for GDPR APIs".
        quota: Quota {
            requests: Some(Rate::per_second(1)),
            items: None,
            in_flight: None,
            documented: true,
        },
        // One at a time: at 1 request/s a second request in flight only bunches arrivals
        // into 429s (rudder-transformer #5578 learnt the same).
        default_concurrency: 1,
        one_kind_per_request: true,
        id_kinds: "distinct_id only (--id-type distinct_id)",
        credentials: &[GDPR_TOKEN, PROJECT_TOKEN],
        default_base_url: "https://mixpanel.com",
        completion: "asynchronous, up to 30 days; poll GET /data-deletions/v3.0/{task_id} until SUCCESS",
        caveat: "Mixpanel deletion tasks take up to 30 days: follow them with `cdp-purge status --ledger LEDGER --watch` (status checks share the 1 request/s limit).",
        status: StatusSupport::Jobs,
        reingestion: Some(
            "Mixpanel: events sent later for a deleted distinct_id create it again; stop \
             tracking the user first",
        ),
        accepted_means: None,
    },
    params: &[
        &params::ID_TYPE,
        &params::REGION,
        &COMPLIANCE_TYPE,
        &DATA_GROUPS,
    ],
    credentials: &[
        Credential {
            role: "gdpr_token",
            var: GDPR_TOKEN,
        },
        Credential {
            role: "project_token",
            var: PROJECT_TOKEN,
        },
    ],
    only_id_type: Some("distinct_id"),
    proving_batch: |_| None,
    // The one identifier type it takes is the default (`only_id_type`).
    missing: |_, _| Vec::new(),
    resolve: |v| {
        crate::id_type_in(v, VendorKind::Mixpanel, &["distinct_id"])?;
        let (region, host) = crate::region_host(v, "Mixpanel", HOSTS)?;
        let data_groups = match v.get(DATA_GROUPS.key) {
            None => 0,
            Some(n) => n.trim().parse().map_err(|_| {
                UserError::usage(format!("--data-groups {n:?} is not a whole number"))
            })?,
        };
        Ok((
            VendorParams::Mixpanel {
                region,
                compliance: v
                    .get(COMPLIANCE_TYPE.key)
                    .unwrap_or("GDPR")
                    .to_ascii_uppercase(),
                data_groups,
            },
            host,
        ))
    },
    // The project token picks the project.
    destination: |t| match &t.params {
        VendorParams::Mixpanel { region, .. } => crate::keyed(
            t,
            vec![("region", region.clone())],
            "project",
            PROJECT_TOKEN,
        ),
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::Mixpanel {
            region: a("region").unwrap_or_default(),
            compliance: a("compliance_type").unwrap_or_else(|| "GDPR".into()),
            data_groups: 0,
        })
    },
    build: |t| Ok(Arc::new(Mixpanel::new(t)?)),
};

#[derive(Debug)]
pub struct Mixpanel {
    base_url: String,
    region: String,
    compliance: String,
    auth: HeaderValue,
    /// The project token, which goes in the query: never in `endpoint()` or messages.
    project: String,
    token_var: String,
}

impl Mixpanel {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Mixpanel {
            region,
            compliance,
            data_groups,
        } = &target.params
        else {
            bail!(
                "internal error: Mixpanel adapter built for a {} target",
                target.vendor
            );
        };
        let most = cap(*data_groups);
        if target.batch_size > most {
            return Err(UserError::usage(format!(
                "--batch-size {} is above Mixpanel's cap of {most} distinct_ids per request with {data_groups} data groups",
                target.batch_size
            ))
            .with_hint(format!("use --batch-size {most} or less"))
            .into());
        }
        let compliance = compliance.to_ascii_uppercase();
        if compliance != "GDPR" && compliance != "CCPA" {
            return Err(UserError::usage(format!(
                "unknown Mixpanel compliance type {compliance:?}"
            ))
            .with_hint("use GDPR or CCPA")
            .into());
        }
        Ok(Self {
            base_url: target.base_url.clone(),
            region: region.clone(),
            compliance,
            auth: wire::secret_header(
                &format!("Bearer {}", target.credential(GDPR_TOKEN)?),
                &target.var(GDPR_TOKEN),
            )?,
            project: wire::segment(target.credential(PROJECT_TOKEN)?),
            token_var: target.var(GDPR_TOKEN),
        })
    }

    fn path(&self) -> String {
        format!("{}/api/app/data-deletions/v3.0/", self.base_url)
    }

    /// The ids a 409 names, if its body lists them.
    fn conflicting(body: &[u8]) -> Option<Vec<String>> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let ids = v.get("conflicting_distinct_ids")?.as_array()?;
        Some(ids.iter().filter_map(wire::id_string).collect())
    }

    fn conflict(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        let pending = || {
            ItemOutcome::new(OutcomeClass::AlreadyDone)
                .with_message("a Mixpanel deletion task for it was already running (409)")
        };
        match Self::conflicting(resp.body) {
            Some(named) => {
                let hit: Vec<bool> = batch
                    .items
                    .iter()
                    .map(|it| named.iter().any(|n| n == &it.value))
                    .collect();
                if hit.iter().all(|&h| h) {
                    wire::all(batch, pending())
                } else if hit.iter().any(|&h| h) {
                    // Nothing was created: split so the others go through without them.
                    Verdict::Failed {
                        reason: "HTTP 409: some distinct_ids already have a deletion task".into(),
                        bisect: true,
                    }
                } else {
                    Verdict::Failed {
                        reason: "HTTP 409 naming none of the request's distinct_ids".into(),
                        bisect: false,
                    }
                }
            }
            // Without the list, a single id is the one in conflict; more must be split.
            None if batch.len() == 1 => wire::all(batch, pending()),
            None => Verdict::Failed {
                reason: "HTTP 409: a deletion task already exists for some of the distinct_ids"
                    .into(),
                bisect: true,
            },
        }
    }
}

impl Adapter for Mixpanel {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Mixpanel.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let ids: Vec<&str> = batch.items.iter().map(|it| it.value.as_str()).collect();
        let body = serde_json::json!({ "distinct_ids": ids, "compliance_type": self.compliance });
        wire::json(
            Method::POST,
            format!("{}?token={}", self.path(), self.project),
            &self.auth,
            &body,
        )
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            200..=299 => {
                // The OpenAPI: `results.task_id`; the page's example: `results[0].tracking_id`.
                let v = serde_json::from_slice::<serde_json::Value>(resp.body).ok();
                let id = v.as_ref().and_then(|v| {
                    v.pointer("/results/task_id")
                        .or_else(|| v.pointer("/results/0/tracking_id"))
                        .and_then(wire::id_string)
                });
                wire::all(
                    batch,
                    match id {
                        Some(id) => ItemOutcome::acknowledged(Some(id)),
                        None => ItemOutcome::acknowledged(None)
                            .with_message("no task id returned: the deletion cannot be followed"),
                    },
                )
            }
            409 => self.conflict(batch, resp),
            401 | 403 => {
                let (_, m) = wire::error_fields(resp.body);
                Verdict::Fatal {
                    reason: format!(
                        "Mixpanel refused the GDPR token or the project (HTTP {}{})",
                        resp.status,
                        m.map(|m| format!(": {}", wire::scrub(&m, batch)))
                            .unwrap_or_default()
                    ),
                    hint: format!(
                        "check {} (a GDPR OAuth token of an owner or admin; they expire after a year), {PROJECT_TOKEN} and --region {}",
                        self.token_var, self.region
                    ),
                    auth: true,
                }
            }
            400 => wire::bad_request(batch, resp),
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        vec![
            ("region".into(), self.region.clone()),
            ("compliance_type".into(), self.compliance.clone()),
        ]
    }

    fn endpoint(&self) -> String {
        format!("POST {}", self.path())
    }

    fn status_request(&self, vendor_id: &str) -> anyhow::Result<Option<Request>> {
        Ok(Some(wire::get(
            format!(
                "{}{}?token={}",
                self.path(),
                wire::segment(vendor_id),
                self.project
            ),
            &self.auth,
        )))
    }

    /// The status of a made-up deletion task: read-only, it needs the GDPR token and the
    /// project token, and Mixpanel documents the answer for a task it cannot find
    /// (`NOT_FOUND`). It counts against the 1 request/s of the GDPR APIs like any call.
    fn preflight(&self) -> anyhow::Result<cdp_purge_core::protocol::Preflight> {
        let request = self
            .status_request("cdp-purge-preflight")?
            .ok_or_else(|| anyhow::anyhow!("Mixpanel has a status route"))?;
        Ok(cdp_purge_core::protocol::Preflight {
            probes: vec![wire::probe(
                "GDPR token, project token and region",
                request,
                "Mixpanel",
                format!("{} and {PROJECT_TOKEN}", self.token_var),
                format!(
                    "GDPR token and project token accepted on region {}",
                    self.region
                ),
                "check --region and --base-url".into(),
                |b| {
                    serde_json::from_slice::<serde_json::Value>(b)
                        .ok()
                        .is_some_and(|v| v.pointer("/results/status").is_some_and(|s| s.is_string()))
                },
            )],
            unchecked: vec![
                "that the GDPR token's user is an owner or admin of the project (Mixpanel shows it only when a deletion is created)".into(),
            ],
        })
    }

    /// SUCCESS is done; PENDING, STAGING and STARTED are under way; FAILURE and REVOKED
    /// (cancelled) are final without deleting. NOT_FOUND ("the task cannot be found") and
    /// UNKNOWN ("an error occurred while locating the task") prove nothing: unknown.
    fn parse_status(&self, body: &[u8]) -> anyhow::Result<JobReport> {
        let v: serde_json::Value = serde_json::from_slice(body)?;
        let word = v
            .pointer("/results/status")
            .and_then(|s| s.as_str())
            .ok_or_else(|| anyhow::anyhow!("no results.status in Mixpanel's answer"))?;
        let state = match word {
            "SUCCESS" => JobState::Done,
            "PENDING" | "STAGING" | "STARTED" => JobState::Pending(word.to_owned()),
            "FAILURE" => JobState::Failed(
                "FAILURE: Mixpanel says to check the task's parameters and create a new task"
                    .into(),
            ),
            "REVOKED" => JobState::Failed("REVOKED: the task was cancelled".into()),
            "NOT_FOUND" | "UNKNOWN" => {
                bail!("Mixpanel answered {word} for the task: its state is unknown")
            }
            other => bail!(
                "Mixpanel answered status {:?}, which its documents do not list",
                other.chars().take(40).collect::<String>()
            ),
        };
        Ok(JobReport::new(state).with_vendor_state(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;
    use crate::wire::test_support::{batch, body_json, header, resp};
    use reqwest::header::HeaderMap;

    fn target() -> Target {
        Target {
            name: "mixpanel".into(),
            vendor: VendorKind::Mixpanel,
            base_url: "https://eu.mixpanel.com".into(),
            params: VendorParams::Mixpanel {
                region: "eu".into(),
                compliance: "gdpr".into(),
                data_groups: 0,
            },
            credentials: [
                (GDPR_TOKEN, Secret::new("oauth-xyz")),
                (PROJECT_TOKEN, Secret::new("proj-123")),
            ]
            .into_iter()
            .collect(),
            batch_size: 1999,
        }
    }

    #[test]
    fn builds_with_the_project_token_in_the_query_only() {
        let a = Mixpanel::new(&target()).unwrap();
        let b = batch("mixpanel", "distinct_id", &["d1", "d2"]);
        let req = a.build(&b).unwrap();
        assert_eq!(
            req.url,
            "https://eu.mixpanel.com/api/app/data-deletions/v3.0/?token=proj-123"
        );
        assert_eq!(header(&req, "authorization"), Some("Bearer oauth-xyz"));
        assert_eq!(
            body_json(&req),
            serde_json::json!({"distinct_ids":["d1","d2"],"compliance_type":"GDPR"})
        );
        assert!(!a.endpoint().contains("proj-123"));
        assert!(!format!("{a:?}").contains("oauth-xyz"));
        assert_eq!((cap(0), cap(1), cap(4)), (1999, 1000, 400));
    }

    #[test]
    fn a_409_is_already_pending_for_the_ids_it_names_and_a_split_for_the_rest() {
        let a = Mixpanel::new(&target()).unwrap();
        let h = HeaderMap::new();
        let b = batch("mixpanel", "distinct_id", &["d1", "d2"]);
        let both = br#"{"status":"error","error":"x","conflicting_distinct_ids":["d1","d2"]}"#;
        let Verdict::Items(items) = a.classify(&b, &resp(409, &h, both)) else {
            panic!()
        };
        assert!(items.iter().all(|o| o.class == OutcomeClass::AlreadyDone));
        let one = br#"{"status":"error","error":"x","conflicting_distinct_ids":["d2"]}"#;
        assert!(matches!(
            a.classify(&b, &resp(409, &h, one)),
            Verdict::Failed { bisect: true, .. }
        ));
        let none = br#"{"status":"error","conflicting_distinct_ids":["zz"]}"#;
        assert!(matches!(
            a.classify(&b, &resp(409, &h, none)),
            Verdict::Failed { bisect: false, .. }
        ));
        let bare = br#"{"status":"error","error":"x"}"#;
        assert!(matches!(
            a.classify(&b, &resp(409, &h, bare)),
            Verdict::Failed { bisect: true, .. }
        ));
        let single = batch("mixpanel", "distinct_id", &["d1"]);
        assert!(matches!(
            a.classify(&single, &resp(409, &h, bare)),
            Verdict::Items(_)
        ));
    }

    #[test]
    fn task_ids_and_states() {
        let a = Mixpanel::new(&target()).unwrap();
        let h = HeaderMap::new();
        let b = batch("mixpanel", "distinct_id", &["d1"]);
        for body in [
            &br#"{"status":"ok","results":{"task_id":"t-1"}}"#[..],
            br#"{"status":"ok","results":[{"status":"PENDING","tracking_id":"t-1"}]}"#,
        ] {
            let Verdict::Items(items) = a.classify(&b, &resp(201, &h, body)) else {
                panic!()
            };
            assert_eq!(items[0].vendor_id.as_deref(), Some("t-1"));
        }
        let st = |s: &str| {
            a.parse_status(format!(r#"{{"status":"ok","results":{{"status":"{s}"}}}}"#).as_bytes())
        };
        assert_eq!(st("SUCCESS").unwrap().state, JobState::Done);
        for p in ["PENDING", "STAGING", "STARTED"] {
            assert!(matches!(st(p).unwrap().state, JobState::Pending(_)));
        }
        for f in ["FAILURE", "REVOKED"] {
            assert!(matches!(st(f).unwrap().state, JobState::Failed(_)));
        }
        for u in ["NOT_FOUND", "UNKNOWN", "DONE"] {
            assert!(st(u).is_err(), "{u}");
        }
        assert!(matches!(
            a.classify(&b, &resp(401, &h, b"")),
            Verdict::Fatal { auth: true, .. }
        ));
        assert!(matches!(
            a.classify(&b, &resp(429, &h, b"")),
            Verdict::Retry {
                throttled: true,
                ..
            }
        ));
    }
}
