//! Twilio Segment regulations (Public API, Deletion and Suppression): the GDPR erasure path,
//! unlike the Profile API's Delete Profile Identifier. `POST /regulations` (workspace scope)
//! or `POST /regulations/sources/{sourceId}` (source scope) with up to 5,000 userIds, then
//! `GET /regulations/{regulateId}` until its `overallStatus` is final.
//!
//! Segment counts 110,000 users per 30 days per workspace; that window is planned from the
//! ledger before a run starts (`ledger::window`). Segment forwards deletions to a fixed list
//! of destinations and "cannot guarantee" them there: delete from those tools as well.

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;

use super::target::Target;
use super::wire;
use super::{
    Adapter, ItemOutcome, JobReport, JobState, Request, Response, VendorKind, VendorSpec, Verdict,
};
use super::{Credential, Param, Quota, Rate, StatusSupport, Vendor, VendorParams, params};
use cdp_purge_core::batch::Batch;
use cdp_purge_core::error::UserError;
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "SEGMENT_PUBLIC_API_TOKEN";

/// The regulation types segment-docs lists (user-deletion-and-suppression.md).
pub const REGULATION_TYPES: [&str; 6] = [
    "SUPPRESS_WITH_DELETE",
    "DELETE_ONLY",
    "SUPPRESS_WITH_DELETE_INTERNAL",
    "DELETE_INTERNAL",
    "SUPPRESS_ONLY",
    "UNSUPPRESS",
];
pub const DEFAULT_REGULATION: &str = "SUPPRESS_WITH_DELETE";

/// The Public API hosts (the EU workspaces' own).
const HOSTS: &[(&str, &str)] = &[
    ("us", "https://api.segmentapis.com"),
    ("eu", "https://eu1.api.segmentapis.com"),
];

/// A regulation type as given, or the reason it is not one.
pub fn regulation_type(t: &str) -> Result<String, UserError> {
    let up = t.to_ascii_uppercase();
    if REGULATION_TYPES.contains(&up.as_str()) {
        Ok(up)
    } else {
        Err(
            UserError::usage(format!("unknown Segment regulation type {t:?}"))
                .with_hint(format!("use one of {}", REGULATION_TYPES.join(", "))),
        )
    }
}

const SOURCE: Param = Param::text("source");
const REGULATION_TYPE: Param = Param::one_of("regulation_type", &REGULATION_TYPES);

/// Segment regulations' row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::SegmentRegs,
    spec: VendorSpec {
        id: "segment-regs",
        name: "Twilio Segment regulations",
        api: "POST /regulations (or /regulations/sources/{source})",
        // segment-docs user-deletion-and-suppression.md: "up to 5000 userIds per call".
        max_batch: 5000,
        default_batch: 5000,
        max_batch_documented: true,
        // Same page: the deletion manager takes 110,000 users per 30 days per workspace; the
        // Public API answers 429 beyond (X-Regulation-RateLimit-* headers). Planned from the
        // ledger before a run (ledger::window).
        quota: Quota {
            requests: None,
            items: Some(Rate {
                count: 110_000,
                per: Duration::from_secs(30 * 86_400),
            }),
            in_flight: None,
            documented: true,
        },
        default_concurrency: 2,
        one_kind_per_request: true,
        id_kinds: "userId only (--id-type user_id); --regulation-type picks SUPPRESS_WITH_DELETE (default), DELETE_ONLY, ...",
        credentials: &[TOKEN],
        default_base_url: "https://api.segmentapis.com",
        completion: "asynchronous, up to 30 days; poll GET /regulations/{regulateId} until overallStatus FINISHED",
        caveat: "Segment regulations run for up to 30 days: follow them with `cdp-purge status --ledger LEDGER --watch`. Segment forwards deletions to a fixed list of destinations and cannot guarantee them there: delete from those tools too (Braze, Amplitude, Mixpanel, ...).",
        status: StatusSupport::Jobs,
        reingestion: Some(
            "Segment: with SUPPRESS_WITH_DELETE new events for these userIds are blocked; \
             with DELETE_ONLY they are collected again",
        ),
        accepted_means: None,
    },
    params: &[&params::ID_TYPE, &params::REGION, &SOURCE, &REGULATION_TYPE],
    credentials: &[Credential {
        role: "token",
        var: TOKEN,
    }],
    only_id_type: Some("user_id"),
    proving_batch: |_| None,
    // The one identifier type it takes is the default (`only_id_type`).
    missing: |_, _| Vec::new(),
    resolve: |v| {
        crate::id_type_in(v, VendorKind::SegmentRegs, &["user_id"])?;
        let (region, host) = crate::region_host(v, "Segment Public API", HOSTS)?;
        let regulation = regulation_type(v.get(REGULATION_TYPE.key).unwrap_or(DEFAULT_REGULATION))?;
        Ok((
            VendorParams::SegmentRegs {
                region,
                source: v.get(SOURCE.key).map(str::to_owned),
                regulation,
            },
            host,
        ))
    },
    // The quota is per workspace, which the token picks.
    destination: |t| match &t.params {
        VendorParams::SegmentRegs { region, source, .. } => {
            let mut d = vec![("region", region.clone())];
            if let Some(s) = source {
                d.push(("source", s.clone()));
            }
            crate::keyed(t, d, "workspace", TOKEN)
        }
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::SegmentRegs {
            region: a("region").unwrap_or_default(),
            source: a("source"),
            regulation: a("regulation_type").unwrap_or_else(|| DEFAULT_REGULATION.into()),
        })
    },
    build: |t| Ok(Arc::new(SegmentRegs::new(t)?)),
};

#[derive(Debug)]
pub struct SegmentRegs {
    base_url: String,
    region: String,
    source: Option<String>,
    regulation: String,
    url: String,
    auth: HeaderValue,
    token_var: String,
}

impl SegmentRegs {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::SegmentRegs {
            region,
            source,
            regulation,
        } = &target.params
        else {
            bail!(
                "internal error: Segment regulations adapter built for a {} target",
                target.vendor
            );
        };
        let url = match source {
            Some(s) => format!(
                "{}/regulations/sources/{}",
                target.base_url,
                wire::segment(s)
            ),
            None => format!("{}/regulations", target.base_url),
        };
        Ok(Self {
            base_url: target.base_url.clone(),
            region: region.clone(),
            source: source.clone(),
            regulation: regulation_type(regulation)?,
            url,
            auth: wire::secret_header(
                &format!("Bearer {}", target.credential(TOKEN)?),
                &target.var(TOKEN),
            )?,
            token_var: target.var(TOKEN),
        })
    }

    fn quoted(batch: &Batch, resp: &Response<'_>) -> String {
        let (_, m) = wire::error_fields(resp.body);
        match m.map(|m| wire::scrub(&m, batch)) {
            Some(m) if !m.is_empty() => format!("HTTP {}: {m}", resp.status),
            _ => format!("HTTP {}", resp.status),
        }
    }
}

impl Adapter for SegmentRegs {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::SegmentRegs.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let ids: Vec<&str> = batch.items.iter().map(|it| it.value.as_str()).collect();
        let body = serde_json::json!({
            "regulationType": self.regulation,
            "subjectType": "USER_ID",
            "subjectIds": ids,
        });
        wire::json(Method::POST, self.url.clone(), &self.auth, &body)
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            200..=299 => {
                let id = serde_json::from_slice::<serde_json::Value>(resp.body)
                    .ok()
                    .and_then(|v| v.pointer("/data/regulateId").and_then(wire::id_string));
                wire::all(
                    batch,
                    match id {
                        Some(id) => ItemOutcome::acknowledged(Some(id)),
                        // Accepted, but nothing to follow it by: say so.
                        None => ItemOutcome::acknowledged(None).with_message(
                            "no regulateId returned: the regulation cannot be followed",
                        ),
                    },
                )
            }
            401 | 403 => Verdict::Fatal {
                reason: format!(
                    "Segment refused the Public API token ({})",
                    Self::quoted(batch, resp)
                ),
                hint: format!(
                    "check {}: a Public API token of the workspace, with a role that may create regulations, and --region {}",
                    self.token_var, self.region
                ),
                auth: true,
            },
            // The Public API answers 404 for a source (or a host) it does not know: every
            // batch would get it.
            404 => Verdict::Fatal {
                reason: format!(
                    "Segment: {} not found ({})",
                    self.source
                        .as_deref()
                        .map_or("the regulations endpoint".to_owned(), |s| format!(
                            "source {s}"
                        )),
                    Self::quoted(batch, resp)
                ),
                hint: "check --source (the source ID) and --region".into(),
                auth: false,
            },
            // Validation failure: a userId may be the cause (too long, the 4 MB body).
            400 | 422 => Verdict::Failed {
                reason: Self::quoted(batch, resp),
                bisect: true,
            },
            // 429: the regulation quota (X-Regulation-RateLimit-*) or the API's own rate; the
            // engine retries and, past its budget, stops with exit 4. The reset time is
            // passed on in the reason: the 30-day window can be far away.
            429 => {
                let reset = resp
                    .headers
                    .get("x-regulation-ratelimit-quota-reset")
                    .and_then(|v| v.to_str().ok())
                    .map(|r| format!(" (Segment's regulation quota resets at {r})"))
                    .unwrap_or_default();
                match wire::common(self.spec(), batch, resp) {
                    Verdict::Retry {
                        throttled,
                        retry_after,
                        reason,
                    } => Verdict::Retry {
                        throttled,
                        retry_after,
                        reason: format!("{reason}{reset}"),
                    },
                    other => other,
                }
            }
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        let mut a = vec![
            ("region".into(), self.region.clone()),
            ("regulation_type".into(), self.regulation.clone()),
        ];
        if let Some(s) = &self.source {
            a.push(("source".into(), s.clone()));
        }
        a
    }

    fn endpoint(&self) -> String {
        format!("POST {}", self.url)
    }

    /// One regulation of the workspace (`GET /regulations?pagination.count=1`, "List
    /// Workspace Regulations"): read-only, and it answers only to a token of the workspace
    /// on the region's host. It does not count against the 110,000 users per 30 days.
    fn preflight(&self) -> anyhow::Result<cdp_purge_core::protocol::Preflight> {
        let mut unchecked = vec![
            "that the token's role may create regulations: the Public API shows a role only to a token that may read the workspace's members".into(),
        ];
        if let Some(s) = &self.source {
            unchecked.push(format!(
                "source {s}: only a regulation shows whether Segment knows it (a 404 stops the run at once)"
            ));
        }
        Ok(cdp_purge_core::protocol::Preflight {
            probes: vec![wire::probe(
                "Public API token and region",
                wire::get(
                    format!("{}/regulations?pagination.count=1", self.base_url),
                    &self.auth,
                ),
                "Segment",
                self.token_var.clone(),
                format!(
                    "Public API token accepted; the workspace's regulations answered on region {}",
                    self.region
                ),
                "check --region and --base-url (the Public API host)".into(),
                |b| {
                    serde_json::from_slice::<serde_json::Value>(b)
                        .ok()
                        .is_some_and(|v| {
                            v.pointer("/data/regulations").is_some_and(|r| r.is_array())
                        })
                },
            )],
            unchecked,
        })
    }

    fn status_request(&self, vendor_id: &str) -> anyhow::Result<Option<Request>> {
        Ok(Some(wire::get(
            format!("{}/regulations/{}", self.base_url, wire::segment(vendor_id)),
            &self.auth,
        )))
    }

    /// `overallStatus`: FINISHED is done; INITIALIZED and RUNNING are under way; FAILED,
    /// INVALID, NOT_SUPPORTED and PARTIAL_SUCCESS are final without proof that everything
    /// was deleted (Segment reports FAILED when one unsupported destination failed, even
    /// when its own stores were cleared: check the regulation in the Segment app). Any
    /// other word is not Segment's documented vocabulary: unknown.
    fn parse_status(&self, body: &[u8]) -> anyhow::Result<JobReport> {
        let v: serde_json::Value = serde_json::from_slice(body)?;
        let reg = v
            .pointer("/data/regulation")
            .ok_or_else(|| anyhow::anyhow!("no data.regulation in Segment's answer"))?;
        let word = reg
            .get("overallStatus")
            .and_then(|s| s.as_str())
            .ok_or_else(|| anyhow::anyhow!("no overallStatus in Segment's answer"))?;
        let state = match word {
            "FINISHED" => JobState::Done,
            "INITIALIZED" | "RUNNING" => JobState::Pending(word.to_owned()),
            "PARTIAL_SUCCESS" => JobState::Failed(
                "PARTIAL_SUCCESS: some of Segment's deletion steps failed; see the regulation in the Segment app".into(),
            ),
            "FAILED" => JobState::Failed(
                "FAILED: at least one deletion step failed (possibly only an unsupported destination)".into(),
            ),
            "INVALID" | "NOT_SUPPORTED" => JobState::Failed(word.to_owned()),
            other => bail!(
                "Segment answered overallStatus {:?}, which its documents do not list",
                other.chars().take(40).collect::<String>()
            ),
        };
        let mut report = JobReport::new(state).with_vendor_state(word);
        if word == "FINISHED" {
            report.completed_at = reg
                .get("finishedAt")
                .and_then(|s| s.as_str())
                .map(str::to_owned);
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_support::{batch, body_json, header, resp};
    use crate::{OutcomeClass, Secret};
    use reqwest::header::HeaderMap;

    fn target(source: Option<&str>) -> Target {
        Target {
            name: "segment-regs".into(),
            vendor: VendorKind::SegmentRegs,
            base_url: "https://api.segmentapis.com".into(),
            params: VendorParams::SegmentRegs {
                region: "us".into(),
                source: source.map(str::to_owned),
                regulation: "delete_only".into(),
            },
            credentials: [(TOKEN, Secret::new("papi-xyz"))].into_iter().collect(),
            batch_size: 5000,
        }
    }

    #[test]
    fn builds_workspace_and_source_regulations() {
        let a = SegmentRegs::new(&target(None)).unwrap();
        let b = batch("segment-regs", "user_id", &["u1", "u2"]);
        let req = a.build(&b).unwrap();
        assert_eq!(req.url, "https://api.segmentapis.com/regulations");
        assert_eq!(header(&req, "authorization"), Some("Bearer papi-xyz"));
        assert_eq!(
            body_json(&req),
            serde_json::json!({"regulationType":"DELETE_ONLY","subjectType":"USER_ID","subjectIds":["u1","u2"]})
        );
        let a = SegmentRegs::new(&target(Some("src/1"))).unwrap();
        assert_eq!(
            a.build(&b).unwrap().url,
            "https://api.segmentapis.com/regulations/sources/src%2F1"
        );
        assert!(!format!("{a:?}").contains("papi-xyz"));
    }

    #[test]
    fn classifies_answers_and_statuses() {
        let a = SegmentRegs::new(&target(None)).unwrap();
        let b = batch("segment-regs", "user_id", &["u1", "u2"]);
        let h = HeaderMap::new();
        let Verdict::Items(items) =
            a.classify(&b, &resp(200, &h, br#"{"data":{"regulateId":"r-1"}}"#))
        else {
            panic!("items")
        };
        assert!(items.iter().all(
            |o| o.class == OutcomeClass::Acknowledged && o.vendor_id.as_deref() == Some("r-1")
        ));
        let v = a.classify(
            &b,
            &resp(
                422,
                &h,
                br#"{"errors":[{"type":"validation","message":"u1 is bad"}]}"#,
            ),
        );
        assert!(
            matches!(v, Verdict::Failed { bisect: true, ref reason } if !reason.contains("u1")),
            "{v:?}"
        );
        assert!(matches!(
            a.classify(&b, &resp(401, &h, b"")),
            Verdict::Fatal { auth: true, .. }
        ));
        assert!(matches!(
            a.classify(&b, &resp(404, &h, b"")),
            Verdict::Fatal { auth: false, .. }
        ));
        let mut h429 = HeaderMap::new();
        h429.insert(
            "x-regulation-ratelimit-quota-reset",
            HeaderValue::from_static("2026-12-30T00:00:00.000Z"),
        );
        let v = a.classify(&b, &resp(429, &h429, b""));
        assert!(
            matches!(v, Verdict::Retry { throttled: true, ref reason, .. } if reason.contains("2026-12-30")),
            "{v:?}"
        );
        let st = |s: &str| {
            a.parse_status(
                format!(r#"{{"data":{{"regulation":{{"id":"r","overallStatus":"{s}","finishedAt":"2026-11-30T00:00:00Z"}}}}}}"#)
                    .as_bytes(),
            )
        };
        assert_eq!(st("FINISHED").unwrap().state, JobState::Done);
        assert_eq!(
            st("FINISHED").unwrap().completed_at.as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
        assert!(matches!(st("RUNNING").unwrap().state, JobState::Pending(_)));
        for failed in ["FAILED", "PARTIAL_SUCCESS", "INVALID", "NOT_SUPPORTED"] {
            assert!(
                matches!(st(failed).unwrap().state, JobState::Failed(_)),
                "{failed}"
            );
        }
        assert!(st("ARCHIVED").is_err(), "undocumented is unknown");
        assert!(a.parse_status(b"{}").is_err());
    }

    #[test]
    fn regulation_types_are_the_documented_ones() {
        assert_eq!(
            regulation_type("suppress_with_delete").unwrap(),
            "SUPPRESS_WITH_DELETE"
        );
        assert!(regulation_type("DELETE_EVERYTHING").is_err());
        let mut v = crate::Values::default();
        v.set("region", "eu");
        let (_, host) = (VENDOR.resolve)(&v).unwrap();
        assert_eq!(host, "https://eu1.api.segmentapis.com");
        v.set("region", "in");
        assert!((VENDOR.resolve)(&v).is_err());
        v.set("region", "us");
        v.set("id_type", "email");
        assert!((VENDOR.resolve)(&v).is_err(), "userIds only");
    }
}
