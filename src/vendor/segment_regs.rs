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
use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::target::{Target, VendorParams};
use super::wire;
use super::{
    Adapter, ItemOutcome, JobReport, JobState, Request, Response, VendorKind, VendorSpec, Verdict,
};
use crate::batch::Batch;
use crate::error::UserError;

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

/// The Public API host of a region.
pub fn host(region: &str) -> anyhow::Result<&'static str> {
    match region {
        "us" => Ok("https://api.segmentapis.com"),
        "eu" => Ok("https://eu1.api.segmentapis.com"),
        other => Err(
            UserError::usage(format!("unknown Segment Public API region {other:?}"))
                .with_hint("use us or eu")
                .into(),
        ),
    }
}

/// A regulation type as given, or the reason it is not one.
pub fn regulation_type(t: &str) -> anyhow::Result<String> {
    let up = t.to_ascii_uppercase();
    if REGULATION_TYPES.contains(&up.as_str()) {
        Ok(up)
    } else {
        Err(
            UserError::usage(format!("unknown Segment regulation type {t:?}"))
                .with_hint(format!("use one of {}", REGULATION_TYPES.join(", ")))
                .into(),
        )
    }
}

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
        Ok(Request {
            method: Method::POST,
            url: self.url.clone(),
            headers: vec![
                (AUTHORIZATION, self.auth.clone()),
                wire::json_content_type(),
            ],
            body: serde_json::to_vec(&body)?,
        })
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

    fn status_request(&self, vendor_id: &str) -> anyhow::Result<Option<Request>> {
        Ok(Some(Request {
            method: Method::GET,
            url: format!("{}/regulations/{}", self.base_url, wire::segment(vendor_id)),
            headers: vec![(AUTHORIZATION, self.auth.clone())],
            body: Vec::new(),
        }))
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
    use crate::vendor::wire::test_support::{batch, body_json, header};
    use crate::vendor::{OutcomeClass, Secret};
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
        assert!(host("us").is_ok() && host("eu").is_ok() && host("in").is_err());
    }
}
