//! Lytics: `DELETE /v2/identity/queue/bulk/{table}/{field}` with `{"values":[…]}`.
//!
//! The only vendor here with per-item answers (`data.successes` value → request_id,
//! `data.errors` value → reason) and documented idempotency: resubmitting a value returns
//! its original request_id and queues nothing new.

use std::collections::HashMap;

use anyhow::bail;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;

use super::wire::{self, REDACTED};
use super::{Adapter, ItemOutcome, JobState, Request, Response, VendorKind, Verdict};
use crate::batch::Batch;
use crate::settings::{Target, VendorParams};

const TOKEN: &str = "LYTICS_API_TOKEN";

#[derive(Debug)]
pub struct Lytics {
    base_url: String,
    table: String,
    field: String,
    /// `{base}/v2/identity/queue/bulk/{table}/{field}`, encoded once.
    url: String,
    /// The raw token: Lytics takes no `Bearer` prefix.
    auth: HeaderValue,
}

impl Lytics {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Lytics { table, field } = &target.params else {
            bail!(
                "internal error: Lytics adapter built for a {} target",
                target.vendor
            );
        };
        let base_url = target.base_url.clone();
        Ok(Self {
            url: format!(
                "{base_url}/v2/identity/queue/bulk/{}/{}",
                wire::segment(table),
                wire::segment(field)
            ),
            base_url,
            table: table.clone(),
            field: field.clone(),
            auth: wire::secret_header(target.credential(TOKEN)?, TOKEN)?,
        })
    }

    /// Per-item outcomes of a 2xx body, or `None` when the body is not the documented shape.
    fn items(batch: &Batch, body: &[u8]) -> Option<Vec<ItemOutcome>> {
        #[derive(Deserialize)]
        struct Envelope {
            data: Data,
        }
        #[derive(Deserialize)]
        struct Data {
            successes: Option<HashMap<String, serde_json::Value>>,
            errors: Option<HashMap<String, serde_json::Value>>,
        }
        let data = serde_json::from_slice::<Envelope>(body).ok()?.data;
        // Neither map at all is not the documented answer; both empty is (an empty batch).
        if data.successes.is_none() && data.errors.is_none() {
            return None;
        }
        let successes = data.successes.unwrap_or_default();
        let errors = data.errors.unwrap_or_default();
        // Keys should be exactly what we sent; fall back to an ASCII-case-insensitive match
        // in case the field normalises (emails) before echoing.
        let fold = |m: &HashMap<String, serde_json::Value>| -> HashMap<String, serde_json::Value> {
            m.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect()
        };
        let (successes_ci, errors_ci) = (fold(&successes), fold(&errors));
        let lookup = |exact: &HashMap<String, serde_json::Value>,
                      folded: &HashMap<String, serde_json::Value>,
                      value: &str| {
            exact
                .get(value)
                .or_else(|| folded.get(&value.to_ascii_lowercase()))
                .cloned()
        };
        let outcomes = batch
            .items
            .iter()
            .map(|it| {
                if let Some(id) = lookup(&successes, &successes_ci, &it.value) {
                    // A resubmission answers with the original request_id, exactly like a
                    // first submission, so there is nothing to tell apart: both are
                    // Acknowledged, and the request_id is what `status` polls.
                    // Documented as a bare string; tolerate `{"request_id": …}` too.
                    let id = wire::id_string(&id)
                        .or_else(|| id.get("request_id").and_then(wire::id_string));
                    let mut o = ItemOutcome::acknowledged(id.clone());
                    if id.is_none() {
                        o = o.with_message("queued; no request_id returned");
                    }
                    o
                } else if let Some(reason) = lookup(&errors, &errors_ci, &it.value) {
                    let reason = match reason {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let reason = wire::scrub(&reason, batch);
                    ItemOutcome::invalid(if reason.trim().is_empty() || reason == REDACTED {
                        "rejected by Lytics (no reason given)".to_owned()
                    } else {
                        reason
                    })
                } else {
                    ItemOutcome::invalid("not in vendor response")
                }
            })
            .collect();
        Some(outcomes)
    }
}

impl Adapter for Lytics {
    fn kind(&self) -> VendorKind {
        VendorKind::Lytics
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            values: Vec<&'a str>,
        }
        let body = serde_json::to_vec(&Body {
            values: batch.items.iter().map(|it| it.value.as_str()).collect(),
        })?;
        Ok(Request {
            method: Method::DELETE,
            url: self.url.clone(),
            headers: vec![
                (AUTHORIZATION, self.auth.clone()),
                wire::json_content_type(),
            ],
            body,
        })
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            200..=299 => match Self::items(batch, resp.body) {
                Some(items) => Verdict::Items(items),
                // Most likely a truncated body. Resubmitting is safe because Lytics
                // documents it as idempotent: the same values come back with their
                // original request_ids.
                None => Verdict::Retry {
                    throttled: false,
                    retry_after: None,
                    reason: format!(
                        "HTTP {} with a body that is not {{\"data\":{{\"successes\",\"errors\"}}}} (truncated?); resubmitting is idempotent",
                        resp.status
                    ),
                },
            },
            // Bad values come back inside a 202 under `errors`; a 400 means Lytics could not
            // read the request itself (body shape, table or field), which every batch would
            // repeat, so halving the batch would only multiply the failure.
            400 => match wire::common(self.kind(), batch, resp) {
                Verdict::Failed { reason, .. } => Verdict::Failed {
                    reason: format!(
                        "{reason} (request rejected as a whole; check --table and --field)"
                    ),
                    bisect: false,
                },
                other => other,
            },
            // 404 is documented only for the single-value endpoint; on the bulk queue it
            // means the URL is wrong, for every batch alike.
            404 => Verdict::Fatal {
                reason: "Lytics answered 404 for the bulk deletion queue".into(),
                hint: "check --table, --field and --base-url".into(),
                auth: false,
            },
            401 | 403 => match wire::common(self.kind(), batch, resp) {
                Verdict::Fatal { reason, auth, .. } => Verdict::Fatal {
                    reason,
                    hint: format!("check {TOKEN}; the token needs the Entity: Delete permission"),
                    auth,
                },
                other => other,
            },
            _ => wire::common(self.kind(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        vec![
            ("table".into(), self.table.clone()),
            ("field".into(), self.field.clone()),
        ]
    }

    fn endpoint(&self) -> String {
        format!("DELETE {}", self.url)
    }

    /// The deletion-status overview: a read-only call with the same token.
    fn preflight_request(&self) -> anyhow::Result<Option<Request>> {
        Ok(Some(Request {
            method: Method::GET,
            url: format!("{}/v2/identity/deletestatus/overview", self.base_url),
            headers: vec![(AUTHORIZATION, self.auth.clone())],
            body: Vec::new(),
        }))
    }

    fn preflight_answer(&self, status: u16, _body: &[u8]) -> Result<String, String> {
        match status {
            200..=299 => Ok("token accepted (read access to deletion status); the Entity: Delete permission is checked only by a real deletion".into()),
            404 => Err("the deletion-status endpoint was not found: check --base-url".into()),
            s => Err(format!("unexpected HTTP {s} from the deletion-status overview")),
        }
    }

    fn status_request(&self, vendor_id: &str) -> anyhow::Result<Option<Request>> {
        Ok(Some(Request {
            method: Method::GET,
            url: format!(
                "{}/v2/identity/deletestatus/{}",
                self.base_url,
                wire::segment(vendor_id)
            ),
            headers: vec![(AUTHORIZATION, self.auth.clone())],
            body: Vec::new(),
        }))
    }

    /// Done only when `completed` is true or `state` is `done`: `secondary` is the last
    /// pass, not the end. The schema is not published, so the usual `data` envelope and a
    /// bare object are both read.
    fn parse_status(&self, body: &[u8]) -> anyhow::Result<JobState> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| anyhow::anyhow!("Lytics delete status is not JSON: {e}"))?;
        let obj = match v.get("data") {
            Some(d) if d.is_object() => d,
            _ => &v,
        };
        let state = obj.get("state").and_then(|s| s.as_str());
        let completed = obj.get("completed").and_then(|c| c.as_bool());
        Ok(match (state, completed) {
            (_, Some(true)) | (Some("done"), _) => JobState::Done,
            (Some(s @ ("failed" | "error")), _) => JobState::Failed(s.to_owned()),
            (Some(s), _) => JobState::Pending(s.to_owned()),
            (None, Some(false)) => JobState::Pending("not completed".into()),
            (None, None) => bail!("Lytics delete status has neither `state` nor `completed`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendor::wire::test_support::{batch, body_json, header};
    use crate::vendor::{OutcomeClass, Secret, adapter};
    use reqwest::header::HeaderMap;

    fn target() -> Target {
        Target {
            name: "lytics".into(),
            vendor: VendorKind::Lytics,
            base_url: "https://api.lytics.io".into(),
            params: VendorParams::Lytics {
                table: "user".into(),
                field: "email".into(),
            },
            credentials: [(TOKEN, Secret::new("tok-123"))].into_iter().collect(),
            batch_size: 100,
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
    fn builds_delete_with_raw_token_and_values_body() {
        let a = Lytics::new(&target()).expect("adapter");
        let b = batch("lytics", "email", &["ann@example.com", "bob@example.com"]);
        let req = a.build(&b).expect("request");
        assert_eq!(req.method, Method::DELETE);
        assert_eq!(
            req.url,
            "https://api.lytics.io/v2/identity/queue/bulk/user/email"
        );
        assert_eq!(header(&req, "authorization"), Some("tok-123"));
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(
            body_json(&req),
            serde_json::json!({"values":["ann@example.com","bob@example.com"]})
        );
        let auth = &req.headers[0].1;
        assert!(auth.is_sensitive());
        assert!(!format!("{a:?}{req:?}").contains("tok-123"));
    }

    #[test]
    fn mixed_successes_and_errors_map_back_by_value() {
        let a = Lytics::new(&target()).expect("adapter");
        let b = batch(
            "lytics",
            "email",
            &[
                "ann@example.com",
                "Bob@Example.com",
                "bad-value",
                "gone@x.io",
            ],
        );
        let body =
            br#"{"data":{"successes":{"ann@example.com":"req-abc","bob@example.com":"req-def"},
            "errors":{"bad-value":"bad-value is not a valid email"}}}"#;
        let h = HeaderMap::new();
        let Verdict::Items(items) = a.classify(&b, &resp(202, &h, body)) else {
            panic!("expected items");
        };
        assert_eq!(items[0], ItemOutcome::acknowledged(Some("req-abc".into())));
        assert_eq!(items[1], ItemOutcome::acknowledged(Some("req-def".into())));
        assert_eq!(items[2].class, OutcomeClass::Invalid);
        assert_eq!(
            items[2].message.as_deref(),
            Some("<redacted> is not a valid email")
        );
        assert_eq!(items[3], ItemOutcome::invalid("not in vendor response"));
    }

    #[test]
    fn resubmission_with_original_request_id_is_acknowledged() {
        let a = Lytics::new(&target()).expect("adapter");
        let b = batch("lytics", "email", &["ann@example.com"]);
        let h = HeaderMap::new();
        let mut r = resp(
            202,
            &h,
            br#"{"data":{"successes":{"ann@example.com":"req-abc"},"errors":{}}}"#,
        );
        r.maybe_delivered_before = true;
        r.attempt = 2;
        assert_eq!(
            a.classify(&b, &r),
            Verdict::Items(vec![ItemOutcome::acknowledged(Some("req-abc".into()))])
        );
    }

    #[test]
    fn truncated_2xx_body_is_retried() {
        let a = Lytics::new(&target()).expect("adapter");
        let b = batch("lytics", "email", &["ann@example.com"]);
        let h = HeaderMap::new();
        for body in [
            &br#"{"data":{"successes":{"ann@exa"#[..],
            br#"{"data":{}}"#,
            b"",
        ] {
            let v = a.classify(&b, &resp(202, &h, body));
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
        }
    }

    #[test]
    fn error_statuses() {
        let a = Lytics::new(&target()).expect("adapter");
        let b = batch("lytics", "email", &["ann@example.com"]);
        let h = HeaderMap::new();
        let v = a.classify(
            &b,
            &resp(401, &h, br#"{"status":401,"message":"permission denied"}"#),
        );
        assert!(matches!(v, Verdict::Fatal { auth: true, ref hint, .. } if hint.contains(TOKEN)));
        let v = a.classify(
            &b,
            &resp(
                400,
                &h,
                br#"{"status":400,"message":"could not parse body"}"#,
            ),
        );
        assert!(matches!(v, Verdict::Failed { bisect: false, .. }), "{v:?}");
        let mut h429 = HeaderMap::new();
        h429.insert("retry-after", HeaderValue::from_static("12"));
        assert_eq!(
            a.classify(&b, &resp(429, &h429, b"")),
            Verdict::Retry {
                throttled: true,
                retry_after: Some(std::time::Duration::from_secs(12)),
                reason: "HTTP 429".into()
            }
        );
        let v = a.classify(&b, &resp(500, &h, br#"{"message":"boom ann@example.com"}"#));
        assert!(
            matches!(v, Verdict::Retry { ref reason, .. } if !reason.contains("ann@")),
            "{v:?}"
        );
    }

    #[test]
    fn status_request_and_states() {
        let a = Lytics::new(&target()).expect("adapter");
        let req = a.status_request("req/1").expect("ok").expect("has status");
        assert_eq!(req.method, Method::GET);
        assert_eq!(
            req.url,
            "https://api.lytics.io/v2/identity/deletestatus/req%2F1"
        );
        let p = |b: &[u8]| a.parse_status(b).expect("parses");
        assert_eq!(
            p(br#"{"data":{"state":"secondary","completed":false}}"#),
            JobState::Pending("secondary".into())
        );
        assert_eq!(p(br#"{"state":"done","completed":true}"#), JobState::Done);
        assert_eq!(p(br#"{"data":{"completed":true}}"#), JobState::Done);
        assert!(a.parse_status(b"{}").is_err());
    }

    #[test]
    fn registry_builds_it_and_missing_token_names_the_variable() {
        assert_eq!(
            adapter(&target()).expect("adapter").kind(),
            VendorKind::Lytics
        );
        let mut t = target();
        t.credentials.clear();
        let e = adapter(&t).err().expect("missing token");
        assert!(e.to_string().contains(TOKEN));
    }
}
