//! Lytics: `DELETE /v2/identity/queue/bulk/{table}/{field}` with `{"values":[…]}`.
//!
//! The only vendor here with per-item answers (`data.successes` value → request_id,
//! `data.errors` value → reason) and documented idempotency: resubmitting a value returns
//! its original request_id and queues nothing new.

use std::collections::HashMap;

use reqwest::Method;
use reqwest::header::HeaderValue;
use serde::Deserialize;

use super::preflight::{self, Finding, Preflight, Probe};
use super::target::Target;
use super::wire::{self, REDACTED};
use super::{
    Adapter, Diagnosis, ItemOutcome, JobReport, JobState, Request, Response, VendorKind,
    VendorSpec, Verdict, is_permission_message,
};
use super::{Credential, Param, Vendor, VendorParams, params};
use super::{Quota, Rate, StatusSupport};
use cdp_purge_core::batch::Batch;
use std::sync::Arc;

const TOKEN: &str = "LYTICS_API_TOKEN";

const TABLE: Param = Param::text("table");

/// Lytics' row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Lytics,
    spec: VendorSpec {
        id: "lytics",
        name: "Lytics",
        api: "DELETE /v2/identity/queue/bulk/{table}/{field}",
        // Lytics documents no hard cap ("many thousands"); batches stay small so one
        // failure does not hold up much.
        max_batch: 1000,
        default_batch: 100,
        max_batch_documented: false,
        quota: Quota {
            requests: Some(Rate::per_second(10)),
            items: None,
            in_flight: None,
            documented: false,
        },
        default_concurrency: 8,
        one_kind_per_request: true,
        id_kinds: "one identity field per request (--id-type, e.g. email, member_id) of --table (default user)",
        credentials: &["LYTICS_API_TOKEN"],
        default_base_url: "https://api.lytics.io",
        completion: "asynchronous; poll GET /v2/identity/deletestatus/{request_id} until state done",
        caveat: "Lytics deletes asynchronously (hours to days): follow it with `cdp-purge status --ledger LEDGER --watch`. New events for a deleted identity create the profile again: delete or block the source data first.",
        status: StatusSupport::Jobs,
        reingestion: Some(
            "Lytics: delete the source data (or block its collection) first: new events for a \
             deleted identity create the profile again",
        ),
        accepted_means: None,
    },
    params: &[&params::ID_TYPE, &TABLE, &Param::old("field", "id_type")],
    credentials: &[Credential {
        role: "token",
        var: TOKEN,
    }],
    only_id_type: None,
    proving_batch: |_| None,
    missing: |v, _| match v.id_type(VendorKind::Lytics) {
        None => vec!["--id-type (the identity field, e.g. email, member_id)"],
        Some(_) => vec![],
    },
    resolve: |v| {
        let params = VendorParams::Lytics {
            table: v.get(TABLE.key).unwrap_or("user").to_owned(),
            field: v.id_type(VendorKind::Lytics).unwrap_or_default().to_owned(),
        };
        Ok((params, VENDOR.spec.default_base_url.to_owned()))
    },
    destination: |t| match &t.params {
        VendorParams::Lytics { table, field } => {
            vec![("table", table.clone()), ("field", field.clone())]
        }
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::Lytics {
            table: a("table").unwrap_or_else(|| "user".into()),
            field: a("field").unwrap_or_default(),
        })
    },
    build: |t| Ok(Arc::new(Lytics::new(t)?)),
};

#[derive(Debug)]
pub struct Lytics {
    base_url: String,
    table: String,
    field: String,
    /// `{base}/v2/identity/queue/bulk/{table}/{field}`, encoded once.
    url: String,
    /// The raw token: Lytics takes no `Bearer` prefix.
    auth: HeaderValue,
    /// The variable the token was read from, for hints.
    token_var: String,
    /// The token's auth ID when it has the `at.<id>.<secret>` form of Lytics API tokens
    /// (not a secret: it names the token in `GET /v2/auth/{id}`).
    auth_id: Option<String>,
}

impl Lytics {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Lytics { table, field } = &target.params else {
            return Err(wire::wrong_target("Lytics", target));
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
            auth: wire::secret_header(target.credential(TOKEN)?, &target.var(TOKEN))?,
            token_var: target.var(TOKEN),
            auth_id: auth_id(target.credential(TOKEN)?),
        })
    }

    fn get(&self, path: String) -> Request {
        wire::get(format!("{}{path}", self.base_url), &self.auth)
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
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Lytics.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            values: Vec<&'a str>,
        }
        let body = Body {
            values: batch.items.iter().map(|it| it.value.as_str()).collect(),
        };
        wire::json(Method::DELETE, self.url.clone(), &self.auth, &body)
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
            400 => match wire::common(self.spec(), batch, resp) {
                Verdict::Failed { reason, .. } => Verdict::Failed {
                    reason: format!(
                        "{reason} (request rejected as a whole; check --table and --id-type)"
                    ),
                    bisect: false,
                },
                other => other,
            },
            // 404 is documented only for the single-value endpoint; on the bulk queue it
            // means the URL is wrong, for every batch alike.
            404 => Verdict::Fatal {
                reason: format!(
                    "Lytics answered 404 for the bulk deletion queue{}",
                    super::error_message(resp.body)
                        .map(|m| format!(": {}", wire::scrub(&m, batch)))
                        .unwrap_or_default()
                ),
                hint: format!(
                    "check --table {} and --base-url (the tool adds /v2/identity/...); `cdp-purge check` lists the table's identity fields",
                    self.table
                ),
                auth: false,
            },
            401 | 403 => match wire::common(self.spec(), batch, resp) {
                Verdict::Fatal { reason, auth, .. } => Verdict::Fatal {
                    reason,
                    hint: format!(
                        "check {}; the token needs the Entity: Delete permission",
                        self.token_var
                    ),
                    auth,
                },
                other => other,
            },
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        wire::pairs(&[("table", &self.table), ("field", &self.field)])
    }

    fn endpoint(&self) -> String {
        format!("DELETE {}", self.url)
    }

    /// Lytics reports a missing *Entity: Delete* permission and a field that is not an
    /// identity field per value under `data.errors`, not as an HTTP error.
    fn systemic(&self, reason: &str) -> Diagnosis {
        let r = reason.to_ascii_lowercase();
        if is_permission_message(reason) {
            Diagnosis {
                auth: true,
                hint: format!(
                    "the token in {} lacks the Entity: Delete permission (Lytics answers that per value, not with an HTTP error): grant it in the Lytics account settings",
                    self.token_var
                ),
            }
        } else if r.contains("field") || r.contains("identity") || r.contains("does not match") {
            Diagnosis {
                auth: false,
                hint: format!(
                    "check --id-type {} and --table {}: `cdp-purge check` lists the table's identity fields (GET /v2/schema/{}/idconfig)",
                    self.field, self.table, self.table
                ),
            }
        } else {
            Diagnosis {
                auth: false,
                hint: format!(
                    "Lytics refused every value alike: check --id-type {} and --table {}, and the token in {}",
                    self.field, self.table, self.token_var
                ),
            }
        }
    }

    /// The table's identity configuration proves the token and the field; the token's own
    /// record (for `at.<id>.<secret>` tokens) shows its roles. Whether those roles include
    /// *Entity: Delete* no read-only call says.
    fn preflight(&self) -> anyhow::Result<Preflight> {
        let field = self.field.clone();
        let table = self.table.clone();
        let var = self.token_var.clone();
        let mut probes = vec![Probe {
            what: "token and field",
            request: self.get(format!(
                "/v2/schema/{}/idconfig",
                wire::segment(&self.table)
            )),
            gate: true,
            read: Box::new(move |status, body| read_idconfig(status, body, &table, &field, &var)),
        }];
        let mut unchecked = Vec::new();
        match &self.auth_id {
            Some(id) => probes.push(Probe {
                what: "token roles",
                request: self.get(format!("/v2/auth/{}", wire::segment(id))),
                gate: false,
                read: Box::new(read_token_roles),
            }),
            None => unchecked.push(format!(
                "the token's roles: {} does not hold a Lytics API token of the at.<id>.<secret> form, whose record would name them",
                self.token_var
            )),
        }
        unchecked.push(
            "the Entity: Delete permission: Lytics exposes no read-only call for it; a token without it fails every value of the first batch, and the run stops there (exit 3)".into(),
        );
        Ok(Preflight { probes, unchecked })
    }

    fn status_request(&self, vendor_id: &str) -> anyhow::Result<Option<Request>> {
        Ok(Some(self.get(format!(
            "/v2/identity/deletestatus/{}",
            wire::segment(vendor_id)
        ))))
    }

    /// Done only in Lytics' documented terms: `completed: true`, `state: done`, or the
    /// identity-deletion page's `completed`. `secondary` is the last pass, not the end. Any
    /// other state word is unknown, not pending.
    fn parse_status(&self, body: &[u8]) -> anyhow::Result<JobReport> {
        #[derive(Deserialize)]
        struct Wrapped {
            data: StatusObj,
        }
        let obj = match serde_json::from_slice::<Wrapped>(body) {
            Ok(w) => w.data,
            Err(_) => serde_json::from_slice::<StatusObj>(body)
                .map_err(|e| anyhow::anyhow!("Lytics delete status is not a status object: {e}"))?,
        };
        report_of(&obj)
    }

    fn status_list_request(&self) -> anyhow::Result<Option<Request>> {
        Ok(Some(self.get("/v2/identity/deletestatus/list".into())))
    }

    /// The list's shape is not published: an array of status objects (bare or under
    /// `data`), or an object keyed by request ID, are both read. Entries without an ID or
    /// a readable state are left out (they are then asked for one by one).
    fn parse_status_list(&self, body: &[u8]) -> Option<Vec<(String, JobReport)>> {
        // Typed, one shape after the other: a million entries parsed into `Value`s would
        // take several times the memory of the structs below.
        #[derive(Deserialize)]
        struct Array {
            data: Vec<StatusObj>,
        }
        #[derive(Deserialize)]
        struct Keyed {
            data: HashMap<String, KeyedEntry>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum KeyedEntry {
            Obj(StatusObj),
            State(String),
        }
        let from_array = |v: Vec<StatusObj>| -> Vec<(String, JobReport)> {
            v.into_iter()
                .filter_map(|o| {
                    let id = o.request_id.as_ref().and_then(wire::id_string)?;
                    Some((id, report_of(&o).ok()?))
                })
                .collect()
        };
        let from_keyed = |m: HashMap<String, KeyedEntry>| -> Vec<(String, JobReport)> {
            m.into_iter()
                .filter_map(|(id, e)| {
                    let o = match e {
                        KeyedEntry::Obj(o) => o,
                        KeyedEntry::State(state) => StatusObj {
                            state: Some(state),
                            ..StatusObj::default()
                        },
                    };
                    Some((id, report_of(&o).ok()?))
                })
                .collect()
        };
        if let Ok(a) = serde_json::from_slice::<Array>(body) {
            return Some(from_array(a.data));
        }
        if let Ok(k) = serde_json::from_slice::<Keyed>(body) {
            return Some(from_keyed(k.data));
        }
        if let Ok(a) = serde_json::from_slice::<Vec<StatusObj>>(body) {
            return Some(from_array(a));
        }
        serde_json::from_slice::<HashMap<String, KeyedEntry>>(body)
            .ok()
            .map(from_keyed)
    }
}

/// One status object as Lytics' pages name its fields; other fields are ignored.
#[derive(Debug, Default, Deserialize)]
struct StatusObj {
    #[serde(default, alias = "requestId", alias = "id")]
    request_id: Option<serde_json::Value>,
    #[serde(default)]
    state: Option<String>,
    /// The identity-deletion page's word for it.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    completed: Option<bool>,
    #[serde(default, alias = "completedAt")]
    completed_at: Option<String>,
}

/// `at.<id>.<secret>`: the middle part names the token's auth record.
fn auth_id(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("at"), Some(id), Some(secret), None) if !id.is_empty() && !secret.is_empty() => {
            Some(id.to_owned())
        }
        _ => None,
    }
}

/// One status object in Lytics' documented terms (seed 003: `state` initial → primary →
/// archive → secondary → done and `completed`; the identity-deletion page: pending,
/// in_progress, completed, failed).
fn report_of(obj: &StatusObj) -> anyhow::Result<JobReport> {
    let state = obj.state.as_deref().or(obj.status.as_deref());
    let completed = obj.completed;
    let job = match (state, completed) {
        (Some("done" | "completed"), Some(false)) => anyhow::bail!(
            "Lytics delete status contradicts itself (state {:?}, completed false)",
            state.unwrap_or_default()
        ),
        (Some("done" | "completed"), _) | (None, Some(true)) => JobState::Done,
        (Some("failed"), _) => JobState::Failed("failed".into()),
        (
            Some(s @ ("initial" | "primary" | "archive" | "secondary" | "pending" | "in_progress")),
            Some(true),
        ) => {
            anyhow::bail!("Lytics delete status contradicts itself (state {s:?}, completed true)")
        }
        (
            Some(s @ ("initial" | "primary" | "archive" | "secondary" | "pending" | "in_progress")),
            _,
        ) => JobState::Pending(s.to_owned()),
        (Some(other), _) => {
            let other: String = other.chars().filter(|c| !c.is_control()).take(64).collect();
            anyhow::bail!("Lytics delete status has an undocumented state {other:?}")
        }
        (None, Some(false)) => JobState::Pending("not completed".into()),
        (None, None) => anyhow::bail!("Lytics delete status has neither `state` nor `completed`"),
    };
    let mut r = JobReport::new(job);
    if let Some(s) = state {
        r = r.with_vendor_state(s);
    }
    r.completed_at = obj
        .completed_at
        .as_deref()
        .map(|t| t.chars().filter(|c| !c.is_control()).take(40).collect());
    Ok(r)
}

/// The answer to `GET /v2/schema/{table}/idconfig`. Its shape is not published: every
/// name it holds (object keys and string values, at any depth) is looked at.
fn read_idconfig(status: u16, body: &[u8], table: &str, field: &str, var: &str) -> Finding {
    match status {
        200..=299 => {}
        401 | 403 => return preflight::refused(status, "Lytics", var),
        404 => {
            return Finding::Failed(format!(
                "no identity configuration for table {table} (HTTP 404): check --table and --base-url"
            ));
        }
        s => {
            return Finding::Failed(format!(
                "unexpected HTTP {s} from the identity configuration"
            ));
        }
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Finding::Unverified(format!(
            "token accepted; the identity configuration is not JSON, so --id-type {field} is not checked"
        ));
    };
    let mut names = Vec::new();
    collect_names(v.get("data").unwrap_or(&v), &mut names, 0);
    if names.iter().any(|n| n == field) {
        Finding::Ok(format!(
            "token accepted; {field} is an identity field of table {table}"
        ))
    } else if names.is_empty() {
        Finding::Unverified(format!(
            "token accepted; the identity configuration names no fields this tool can read, so --id-type {field} is not checked"
        ))
    } else {
        names.sort();
        names.dedup();
        let shown: Vec<&str> = names.iter().take(12).map(String::as_str).collect();
        Finding::Failed(format!(
            "{field} is not an identity field of table {table} (it has {}{}): check --id-type",
            shown.join(", "),
            if names.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        ))
    }
}

/// Field-like names in a JSON value: keys and short single-word strings.
fn collect_names(v: &serde_json::Value, out: &mut Vec<String>, depth: u32) {
    const META: &[&str] = &["status", "message", "request_id", "data", "_meta"];
    let name_like = |s: &str| !s.is_empty() && s.len() <= 64 && !s.contains(char::is_whitespace);
    if depth > 6 {
        return;
    }
    match v {
        serde_json::Value::String(s) if name_like(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_names(x, out, depth + 1)),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if !META.contains(&k.as_str()) && name_like(k) {
                    out.push(k.clone());
                }
                collect_names(x, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// The answer to `GET /v2/auth/{id}`: the token's roles, which say nothing for certain
/// about *Entity: Delete*, so at best the roles are reported.
fn read_token_roles(status: u16, body: &[u8]) -> Finding {
    if !(200..300).contains(&status) {
        return Finding::Unverified(format!(
            "the token's roles could not be read (HTTP {status} from /v2/auth)"
        ));
    }
    let scopes: Vec<String> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let d = v.get("data").unwrap_or(&v).clone();
            d.get("scopes").and_then(|s| s.as_array()).map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .map(|x| x.chars().filter(|c| !c.is_control()).take(64).collect())
                    .collect()
            })
        })
        .unwrap_or_default();
    if scopes.is_empty() {
        Finding::Unverified("the token's record names no roles".into())
    } else {
        Finding::Unverified(format!(
            "the token's roles are {}; whether they include Entity: Delete is not published",
            scopes.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_support::{batch, body_json, header, resp};
    use crate::{OutcomeClass, Secret, adapter};
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
        let p = |b: &[u8]| a.parse_status(b).expect("parses").state;
        assert_eq!(
            p(br#"{"data":{"state":"secondary","completed":false}}"#),
            JobState::Pending("secondary".into())
        );
        assert_eq!(p(br#"{"state":"done","completed":true}"#), JobState::Done);
        assert_eq!(p(br#"{"data":{"completed":true}}"#), JobState::Done);
        // The identity-deletion page's words.
        assert_eq!(
            p(br#"{"data":{"status":"in_progress"}}"#),
            JobState::Pending("in_progress".into())
        );
        assert_eq!(p(br#"{"data":{"status":"completed"}}"#), JobState::Done);
        assert_eq!(
            p(br#"{"data":{"status":"failed"}}"#),
            JobState::Failed("failed".into())
        );
        // Not in Lytics' terms, or contradicting itself: unknown, never done or pending.
        for body in [
            &b"{}"[..],
            br#"{"data":{"state":"purging"}}"#,
            br#"{"data":{"state":"secondary","completed":true}}"#,
            br#"{"data":{"state":"done","completed":false}}"#,
            b"<html>",
        ] {
            assert!(
                a.parse_status(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_account_wide_list_is_read_in_either_shape() {
        let a = Lytics::new(&target()).expect("adapter");
        let req = a.status_list_request().expect("ok").expect("has a list");
        assert!(req.url.ends_with("/v2/identity/deletestatus/list"));
        let arr = br#"{"data":[{"request_id":"r1","state":"done","completed":true},
            {"request_id":"r2","state":"archive","completed":false},
            {"state":"done"},{"request_id":"r4","state":"??"}]}"#;
        let got = a.parse_status_list(arr).expect("a list");
        let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            ["r1", "r2"],
            "entries without an id or a known state are left out"
        );
        assert_eq!(got[0].1.state, JobState::Done);
        let map = br#"{"data":{"r1":{"state":"secondary"},"r2":"done"}}"#;
        let mut got = a.parse_status_list(map).expect("a map");
        got.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(got[0].1.state, JobState::Pending("secondary".into()));
        assert_eq!(got[1].1.state, JobState::Done);
        assert!(a.parse_status_list(b"not json").is_none());
        assert!(a.parse_status_list(br#"{"data":42}"#).is_none());
    }

    #[test]
    fn systemic_failures_tell_permission_from_field() {
        let mut t = target();
        t.credentials = [(TOKEN, Secret::from_origin("tok", "SBX_LYTICS_TOKEN"))]
            .into_iter()
            .collect();
        let a = Lytics::new(&t).expect("adapter");
        let d = a.systemic("permission denied: token lacks Entity: Delete");
        assert!(d.auth);
        assert!(d.hint.contains("SBX_LYTICS_TOKEN"), "{}", d.hint);
        assert!(!d.hint.contains(TOKEN), "{}", d.hint);
        let d = a.systemic("unknown identity field emial");
        assert!(!d.auth);
        assert!(d.hint.contains("--id-type email"), "{}", d.hint);
        // A 401 names the variable the target reads too.
        let b = batch("lytics", "email", &["a@x.io"]);
        let h = HeaderMap::new();
        let v = a.classify(
            &b,
            &resp(401, &h, br#"{"message":"Not authorized","status":401}"#),
        );
        assert!(
            matches!(v, Verdict::Fatal { ref hint, .. } if hint.contains("SBX_LYTICS_TOKEN")),
            "{v:?}"
        );
    }

    #[test]
    fn v2_error_envelopes_are_quoted() {
        let a = Lytics::new(&target()).expect("adapter");
        let b = batch("lytics", "email", &["ann@example.com"]);
        let h = HeaderMap::new();
        let v = a.classify(
            &b,
            &resp(400, &h, br#"{"status":400,"errors":[{"code":"BADREQ-001","message":"body must be an object with values","level":"warn"}],"request_id":"x"}"#),
        );
        assert!(
            matches!(v, Verdict::Failed { bisect: false, ref reason } if reason.contains("body must be an object")),
            "{v:?}"
        );
        let v = a.classify(
            &b,
            &resp(
                404,
                &h,
                br#"{"status":404,"errors":[{"code":"NOTFOUND","message":"table usr not found"}]}"#,
            ),
        );
        assert!(
            matches!(v, Verdict::Fatal { auth: false, ref reason, .. } if reason.contains("table usr not found")),
            "{v:?}"
        );
    }

    #[test]
    fn preflight_reads_the_identity_configuration_in_several_shapes() {
        let a = Lytics::new(&target()).expect("adapter");
        let p = a.preflight().expect("probes");
        let probe = &p.probes[0];
        assert!(probe.request.url.ends_with("/v2/schema/user/idconfig"));
        let read = |s, b: &str| (probe.read)(s, b.as_bytes());
        for ok in [
            r#"{"data":{"fields":["email","_uid"]}}"#,
            r#"{"data":[{"field":"_uid","rank":1},{"field":"email","rank":2}]}"#,
            r#"{"data":{"email":{"rank":1},"user_id":{"rank":2}}}"#,
        ] {
            assert_eq!(read(200, ok).label(), "ok", "{ok}");
        }
        let f = read(200, r#"{"data":{"fields":["emial","_uid"]}}"#);
        assert_eq!(f.label(), "failed");
        assert!(f.detail().contains("emial"), "{}", f.detail());
        assert_eq!(read(200, r#"{"data":{}}"#).label(), "unverified");
        assert_eq!(read(401, "").label(), "refused");
        assert_eq!(read(404, "").label(), "failed");
        // The token is not of the at.<id>.<secret> form: its roles are said to be unchecked.
        assert_eq!(p.probes.len(), 1);
        assert!(p.unchecked.iter().any(|u| u.contains("Entity: Delete")));

        let mut t = target();
        t.credentials = [(TOKEN, Secret::new("at.abc123.s3cr3t"))]
            .into_iter()
            .collect();
        let a = Lytics::new(&t).expect("adapter");
        let p = a.preflight().expect("probes");
        assert_eq!(p.probes.len(), 2);
        assert!(p.probes[1].request.url.ends_with("/v2/auth/abc123"));
        let f = (p.probes[1].read)(200, br#"{"data":{"scopes":["admin"]}}"#);
        assert_eq!(f.label(), "unverified");
        assert!(f.detail().contains("admin"));
        assert!(!format!("{:?}", p.probes[1]).contains("s3cr3t"));
    }

    #[test]
    fn registry_builds_it_and_missing_token_names_the_variable() {
        assert_eq!(adapter(&target()).expect("adapter").spec().id, "lytics");
        let mut t = target();
        t.credentials.clear();
        let e = adapter(&t).err().expect("missing token");
        assert!(e.to_string().contains(TOKEN));
    }
}
