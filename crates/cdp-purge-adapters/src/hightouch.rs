//! Hightouch identity resolution: queue identifier values for reprocessing, which deletes
//! the `ht_id` profiles holding them in the next IDR run (and blocklists the values unless
//! `block` is false). Path from the target (the OpenAPI's `queue-for-reprocessing` by
//! default; the older docs say `reprocess`).

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};

use super::preflight::{self, Finding, Preflight, Probe};
use super::target::Target;
use super::wire;
use super::{
    Adapter, ItemOutcome, JobReport, JobState, Request, Response, VendorKind, VendorSpec, Verdict,
};
use super::{Credential, Param, Vendor, VendorParams, params};
use super::{Quota, Rate, StatusSupport};
use cdp_purge_core::batch::Batch;
use cdp_purge_core::error::UserError;
use std::sync::Arc;
use std::time::Duration;

/// The API prefix the OpenAPI's server value ends in; the tool adds it itself.
const API_PREFIX: &str = "/api/v1";

const KEY: &str = "HIGHTOUCH_API_KEY";

/// The reprocessing path template when the config file sets none.
pub const DEFAULT_PATH: &str = "/api/v1/idr/{graph}/queue-for-reprocessing";

const GRAPH: Param = Param::text("graph");
const BLOCK: Param = Param::switch("block");
/// A proxy's path template (config file only).
const PATH: Param = Param::text("path");
const SOURCE_DATA_DELETED: Param = Param::switch("source_data_deleted");

/// Hightouch's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Hightouch,
    spec: VendorSpec {
        id: "hightouch",
        name: "Hightouch",
        api: "POST /api/v1/idr/{graph}/queue-for-reprocessing",
        max_batch: 1000,
        default_batch: 100,
        max_batch_documented: false,
        quota: Quota {
            requests: Some(Rate {
                count: 200,
                per: Duration::from_secs(10),
            }),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 8,
        one_kind_per_request: false,
        id_kinds: "identifier name from the graph's model (--id-type or a type column), e.g. email, phone",
        credentials: &["HIGHTOUCH_API_KEY"],
        default_base_url: "https://api.hightouch.com",
        completion: "queued; acted on in the next IDR run; poll reprocess-status/{requestId}",
        caveat: "Hightouch acts on the next IDR run: follow it with `cdp-purge status --ledger LEDGER --watch`. Rows still in the warehouse sources bring the profiles back.",
        status: StatusSupport::Jobs,
        reingestion: Some(
            "Hightouch: delete the rows from the warehouse source tables first: rows still \
             there come back in the next IDR run",
        ),
        accepted_means: None,
    },
    params: &[
        &params::ID_TYPE,
        &params::ID_TYPE_COLUMN,
        &GRAPH,
        &BLOCK,
        &PATH,
        &SOURCE_DATA_DELETED,
        &Param::old("identifier_type", "id_type"),
        &params::OLD_ID_TYPE_COLUMN,
    ],
    credentials: &[Credential {
        role: "api_key",
        var: KEY,
    }],
    only_id_type: None,
    proving_batch: |_| None,
    missing: |v, stage| {
        let mut missing = Vec::new();
        if stage.sending() && !v.has(GRAPH.key) {
            missing.push("--graph (the identity graph ID)");
        }
        if stage.reading() && !v.has_kind(VendorKind::Hightouch) {
            missing.push("--id-type or --id-type-column (the identifier name, e.g. email)");
        }
        missing
    },
    resolve: |v| {
        let params = VendorParams::Hightouch {
            graph: v.text(GRAPH.key),
            block: v.switch(BLOCK.key).unwrap_or(true),
            path: v.get(PATH.key).unwrap_or(DEFAULT_PATH).to_owned(),
        };
        Ok((params, VENDOR.spec.default_base_url.to_owned()))
    },
    destination: |t| match &t.params {
        VendorParams::Hightouch { graph, path, .. } => {
            let mut d = vec![("graph", graph.clone())];
            if path != DEFAULT_PATH {
                d.push(("path", path.clone()));
            }
            d
        }
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::Hightouch {
            graph: a("graph").ok_or_else(|| {
                UserError::usage("the ledger header does not name the Hightouch graph")
            })?,
            block: a("block").is_none_or(|b| b != "false"),
            path: DEFAULT_PATH.into(),
        })
    },
    build: |t| Ok(Arc::new(Hightouch::new(t)?)),
};

#[derive(Debug)]
pub struct Hightouch {
    base_url: String,
    graph: String,
    block: bool,
    url: String,
    auth: HeaderValue,
    /// The variable the key was read from, for hints.
    key_var: String,
}

#[derive(Serialize)]
struct Body<'a> {
    identifiers: Vec<Identifier<'a>>,
    block: bool,
}

#[derive(Serialize)]
struct Identifier<'a> {
    identifier: &'a str,
    value: &'a str,
}

impl Hightouch {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Hightouch { graph, block, path } = &target.params else {
            return Err(wire::wrong_target("Hightouch", target));
        };
        if !path.starts_with('/') {
            bail!("the Hightouch path must start with '/'");
        }
        // The OpenAPI's server value is `https://api.hightouch.com/api/v1`; a base URL copied
        // from it would be doubled into `/api/v1/api/v1/...`, which answers 404 for every
        // request and would read as "unknown graph".
        if target.base_url.trim_end_matches('/').ends_with(API_PREFIX) {
            return Err(UserError::usage(format!(
                "the Hightouch base URL {} already ends in {API_PREFIX}, which the tool adds itself",
                target.base_url
            ))
            .with_hint(format!(
                "use --base-url {}",
                target.base_url.trim_end_matches('/').trim_end_matches(API_PREFIX)
            ))
            .into());
        }
        Ok(Self {
            url: format!(
                "{}{}",
                target.base_url,
                path.replace("{graph}", &wire::segment(graph))
            ),
            base_url: target.base_url.clone(),
            graph: graph.clone(),
            block: *block,
            auth: wire::secret_header(
                &format!("Bearer {}", target.credential(KEY)?),
                &target.var(KEY),
            )?,
            key_var: target.var(KEY),
        })
    }
}

impl Adapter for Hightouch {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Hightouch.info()
    }

    /// Hightouch re-ingests whatever is still in the warehouse, and `block: false` leaves
    /// the values free to come back.
    fn warnings_before_send(&self, source_data_deleted: bool) -> Vec<&'static str> {
        let mut w = Vec::new();
        if !source_data_deleted {
            w.push(
                "delete these rows from the warehouse source tables first, or the next IDR run brings the profiles back (pass --source-data-deleted once they are gone)",
            );
        }
        if !self.block {
            w.push(
                "--no-block: the values are not blocklisted; use it to repair a supercluster, not to delete",
            );
        }
        w
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let body = Body {
            identifiers: batch
                .items
                .iter()
                .map(|it| Identifier {
                    identifier: &it.kind,
                    value: &it.value,
                })
                .collect(),
            block: self.block,
        };
        wire::json(Method::POST, self.url.clone(), &self.auth, &body)
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            200..=299 => {
                // The OpenAPI says `requestId`; the older page calls it `jobId`.
                let id = serde_json::from_slice::<serde_json::Value>(resp.body)
                    .ok()
                    .and_then(|v| {
                        v.get("requestId")
                            .or_else(|| v.get("jobId"))
                            .and_then(wire::id_string)
                    });
                let outcome = match id {
                    Some(id) => ItemOutcome::acknowledged(Some(id)),
                    None => ItemOutcome::acknowledged(None).with_message("no requestId returned"),
                };
                wire::all(batch, outcome)
            }
            // An unknown graph fails every batch alike.
            404 => Verdict::Fatal {
                reason: format!(
                    "Hightouch: identity graph {} not found (HTTP 404)",
                    self.graph
                ),
                hint: "check --graph (the identity graph ID) and --base-url".into(),
                auth: false,
            },
            // `{"message":"Validation failed","details":{…}}`: the details may point at one
            // value (and may quote it).
            422 => {
                let detail = serde_json::from_slice::<serde_json::Value>(resp.body)
                    .ok()
                    .map(|v| {
                        let m = v.get("message").and_then(|m| m.as_str()).unwrap_or("");
                        match v.get("details") {
                            Some(d) if !d.is_null() => format!("{m} {d}"),
                            _ => m.to_owned(),
                        }
                    })
                    .unwrap_or_default();
                let detail = wire::scrub(detail.trim(), batch);
                Verdict::Failed {
                    reason: if detail.is_empty() {
                        "HTTP 422".into()
                    } else {
                        format!("HTTP 422: {detail}")
                    },
                    bisect: true,
                }
            }
            401 | 403 => wire::refused(
                format!("Hightouch refused the API key (HTTP {})", resp.status),
                format!(
                    "check {}; it must be created by a workspace Admin, and identity resolution needs the Business tier",
                    self.key_var
                ),
            ),
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        wire::pairs(&[("graph", &self.graph), ("block", &self.block.to_string())])
    }

    fn endpoint(&self) -> String {
        format!("POST {}", self.url)
    }

    /// `GET /idr/{graph}/runs?limit=1` proves the key and the graph at once: the OpenAPI
    /// documents its 200 body (`{"data":[...],"hasMore":bool}`), so only that answer counts.
    fn preflight(&self) -> anyhow::Result<Preflight> {
        let graph = self.graph.clone();
        let var = self.key_var.clone();
        Ok(Preflight {
            probes: vec![Probe {
                what: "API key and graph",
                request: wire::get(format!(
                        "{}{API_PREFIX}/idr/{}/runs?limit=1",
                        self.base_url,
                        wire::segment(&self.graph)
                    ), &self.auth),
                gate: true,
                read: Box::new(move |status, body| read_runs(status, body, &graph, &var)),
            }],
            unchecked: vec![
                "that the identifier types you send are mapped in the graph's model: Hightouch validates them only when the next IDR run reprocesses".into(),
            ],
        })
    }

    fn status_request(&self, vendor_id: &str) -> anyhow::Result<Option<Request>> {
        Ok(Some(wire::get(
            format!(
                "{}{API_PREFIX}/idr/{}/reprocess-status/{}",
                self.base_url,
                wire::segment(&self.graph),
                wire::segment(vendor_id)
            ),
            &self.auth,
        )))
    }

    /// The OpenAPI's closed enum: `reprocessed` is the only success (with `reprocessedAt`
    /// and `reprocessedRunId`, recorded as the completion); `failed` and `cancelled` are
    /// terminal failures; `queueing` and `queued` are pending. Any other word is unknown.
    fn parse_status(&self, body: &[u8]) -> anyhow::Result<JobReport> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Status {
            status: String,
            #[serde(default)]
            error: Option<String>,
            #[serde(default)]
            reprocessed_at: Option<String>,
            #[serde(default)]
            reprocessed_run_id: Option<String>,
        }
        let s: Status = serde_json::from_slice(body).map_err(|e| {
            anyhow::anyhow!("Hightouch reprocess status is not the documented shape: {e}")
        })?;
        let clean =
            |t: String| -> String { t.chars().filter(|c| !c.is_control()).take(300).collect() };
        let state = match s.status.as_str() {
            "reprocessed" => JobState::Done,
            "failed" => JobState::Failed(
                s.error
                    .filter(|e| !e.is_empty())
                    .map(clean)
                    .unwrap_or_else(|| "failed".into()),
            ),
            "cancelled" => JobState::Failed("cancelled".into()),
            q @ ("queueing" | "queued") => JobState::Pending(q.to_owned()),
            other => {
                let other: String = other.chars().filter(|c| !c.is_control()).take(64).collect();
                anyhow::bail!("Hightouch reprocess status has an undocumented status {other:?}")
            }
        };
        let mut r = JobReport::new(state).with_vendor_state(&s.status);
        if matches!(r.state, JobState::Done) {
            r.completed_at = s.reprocessed_at.map(clean);
            r.vendor_run_id = s.reprocessed_run_id.map(clean);
        }
        Ok(r)
    }
}

/// The answer to `GET /idr/{graph}/runs`.
fn read_runs(status: u16, body: &[u8], graph: &str, var: &str) -> Finding {
    match status {
        200..=299 => {
            let v = serde_json::from_slice::<serde_json::Value>(body).ok();
            let documented = v.as_ref().is_some_and(|v| {
                v.get("data").is_some_and(|d| d.is_array())
                    && v.get("hasMore").is_some_and(|h| h.is_boolean())
            });
            if documented {
                Finding::Ok(format!("API key accepted; identity graph {graph} found"))
            } else {
                Finding::Unverified(format!(
                    "API key accepted, but the runs of graph {graph} came back in an undocumented shape, so the graph is not proven"
                ))
            }
        }
        401 | 403 => preflight::refused(status, "Hightouch", var),
        404 => Finding::Failed(format!(
            "HTTP 404 for the runs of identity graph {graph}: check --graph and --base-url (the scheme and host only, e.g. https://api.hightouch.com)"
        )),
        s => Finding::Failed(format!("unexpected HTTP {s} from the graph's runs")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_support::{body_json, header, resp};
    use crate::{OutcomeClass, Secret};
    use cdp_purge_core::batch::Item;
    use reqwest::header::HeaderMap;

    fn target(block: bool) -> Target {
        Target {
            name: "hightouch".into(),
            vendor: VendorKind::Hightouch,
            base_url: "https://api.hightouch.com".into(),
            params: VendorParams::Hightouch {
                graph: "e9037b3e-2401-48f9-85eb-8c6e75e3a813".into(),
                block,
                path: "/api/v1/idr/{graph}/queue-for-reprocessing".into(),
            },
            credentials: [(KEY, Secret::new("ht-key"))].into_iter().collect(),
            batch_size: 100,
        }
    }

    fn mixed() -> Batch {
        let item = |v: &str, k: &str| Item {
            file: 0,
            row: 2,
            value: v.into(),
            kind: k.into(),
            lookup: None,
        };
        Batch::new(
            0,
            "hightouch",
            None,
            vec![item("a@b.com", "email"), item("1234567890", "phone")],
        )
    }

    #[test]
    fn builds_bearer_request_with_mixed_identifiers() {
        let a = Hightouch::new(&target(true)).expect("adapter");
        let req = a.build(&mixed()).expect("request");
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.url,
            "https://api.hightouch.com/api/v1/idr/e9037b3e-2401-48f9-85eb-8c6e75e3a813/queue-for-reprocessing"
        );
        assert_eq!(header(&req, "authorization"), Some("Bearer ht-key"));
        assert!(req.headers[0].1.is_sensitive());
        assert_eq!(
            body_json(&req),
            serde_json::json!({"identifiers":[{"identifier":"email","value":"a@b.com"},{"identifier":"phone","value":"1234567890"}],"block":true})
        );
        let a = Hightouch::new(&target(false)).expect("adapter");
        assert_eq!(
            body_json(&a.build(&mixed()).expect("request"))["block"],
            false
        );
    }

    #[test]
    fn graph_is_encoded_into_the_path() {
        let mut t = target(true);
        t.params = VendorParams::Hightouch {
            graph: "g/1 2".into(),
            block: true,
            path: "/api/v1/idr/{graph}/reprocess".into(),
        };
        let a = Hightouch::new(&t).expect("adapter");
        assert_eq!(
            a.endpoint(),
            "POST https://api.hightouch.com/api/v1/idr/g%2F1%202/reprocess"
        );
    }

    #[test]
    fn classifies_responses() {
        let a = Hightouch::new(&target(true)).expect("adapter");
        let b = mixed();
        let h = HeaderMap::new();
        assert_eq!(
            a.classify(&b, &resp(200, &h, br#"{"requestId":"req-9"}"#)),
            Verdict::Items(vec![ItemOutcome::acknowledged(Some("req-9".into())); 2])
        );
        assert_eq!(
            a.classify(&b, &resp(200, &h, br#"{"jobId":"job-1"}"#)),
            Verdict::Items(vec![ItemOutcome::acknowledged(Some("job-1".into())); 2])
        );
        let Verdict::Items(items) = a.classify(&b, &resp(200, &h, b"")) else {
            panic!("items");
        };
        assert!(items.iter().all(|o| o.class == OutcomeClass::Acknowledged
            && o.message.as_deref() == Some("no requestId returned")));

        let v = a.classify(
            &b,
            &resp(422, &h, br#"{"message":"Validation failed","details":{"identifiers.1.value":"1234567890 is invalid"}}"#),
        );
        assert!(
            matches!(v, Verdict::Failed { bisect: true, ref reason } if reason.starts_with("HTTP 422: Validation failed") && !reason.contains("1234567890")),
            "{v:?}"
        );
        assert!(matches!(
            a.classify(&b, &resp(404, &h, br#"{"message":"Not Found"}"#)),
            Verdict::Fatal { auth: false, ref hint, .. } if hint.contains("--graph")
        ));
        assert!(matches!(
            a.classify(&b, &resp(401, &h, b"")),
            Verdict::Fatal { auth: true, .. }
        ));
        let mut h429 = HeaderMap::new();
        h429.insert("retry-after", HeaderValue::from_static("10"));
        assert!(matches!(
            a.classify(&b, &resp(429, &h429, b"")),
            Verdict::Retry { throttled: true, retry_after: Some(d), .. } if d.as_secs() == 10
        ));
    }

    #[test]
    fn status_request_and_states() {
        let a = Hightouch::new(&target(true)).expect("adapter");
        let req = a.status_request("req-9").expect("ok").expect("has status");
        assert_eq!(req.method, Method::GET);
        assert_eq!(
            req.url,
            "https://api.hightouch.com/api/v1/idr/e9037b3e-2401-48f9-85eb-8c6e75e3a813/reprocess-status/req-9"
        );
        let p = |s: &str| a.parse_status(s.as_bytes()).expect("parses").state;
        assert_eq!(
            p(
                r#"{"status":"queued","queuedAt":"t","reprocessedAt":null,"reprocessedRunId":null,"error":null}"#
            ),
            JobState::Pending("queued".into())
        );
        let done = a
            .parse_status(br#"{"status":"reprocessed","queuedAt":"q","reprocessedAt":"2025-10-07T01:23:45.678Z","reprocessedRunId":"run-1","error":null}"#)
            .expect("parses");
        assert_eq!(done.state, JobState::Done);
        assert_eq!(
            done.completed_at.as_deref(),
            Some("2025-10-07T01:23:45.678Z")
        );
        assert_eq!(done.vendor_run_id.as_deref(), Some("run-1"));
        assert_eq!(done.vendor_state.as_deref(), Some("reprocessed"));
        assert_eq!(
            p(r#"{"status":"failed","error":"Failed to write identifiers to data warehouse"}"#),
            JobState::Failed("Failed to write identifiers to data warehouse".into())
        );
        assert_eq!(
            p(r#"{"status":"cancelled","error":null}"#),
            JobState::Failed("cancelled".into())
        );
        assert!(a.parse_status(b"nope").is_err());
        // Not in the OpenAPI's enum: unknown, not pending.
        assert!(a.parse_status(br#"{"status":"processing"}"#).is_err());
    }

    #[test]
    fn a_base_url_ending_in_the_api_prefix_is_refused_not_doubled() {
        for base in [
            "https://api.hightouch.com/api/v1",
            "https://api.hightouch.com/api/v1/",
        ] {
            let mut t = target(true);
            t.base_url = base.into();
            let e = Hightouch::new(&t).expect_err("doubled prefix");
            let u = e.downcast_ref::<UserError>().expect("a usage error");
            assert!(u.message.contains("/api/v1"), "{}", u.message);
            assert_eq!(
                u.hint.as_deref(),
                Some("use --base-url https://api.hightouch.com")
            );
        }
    }

    #[test]
    fn preflight_accepts_only_the_documented_runs_answer() {
        let a = Hightouch::new(&target(true)).expect("adapter");
        let p = a.preflight().expect("probes");
        assert_eq!(p.probes.len(), 1);
        let probe = &p.probes[0];
        assert!(
            probe
                .request
                .url
                .ends_with("/api/v1/idr/e9037b3e-2401-48f9-85eb-8c6e75e3a813/runs?limit=1")
        );
        let read = |s, b: &str| (probe.read)(s, b.as_bytes());
        assert_eq!(read(200, r#"{"data":[],"hasMore":false}"#).label(), "ok");
        assert_eq!(read(200, r#"{"runs":[]}"#).label(), "unverified");
        for body in ["", r#"{"message":"Not Found"}"#] {
            assert_eq!(read(404, body).label(), "failed");
        }
        let r = read(401, "");
        assert_eq!(r.label(), "refused");
        assert!(r.detail().contains(KEY));
    }
}
