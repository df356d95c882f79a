//! Mixpanel GDPR API v3: `POST /api/app/data-deletions/v3.0/?token=…` and
//! `GET /api/app/data-deletions/v3.0/{tracking_id}?token=…`.
//!
//! From mixpanel/docs `reference/GDPR API/gdpr-api.md` and `openapi/gdpr.openapi.yaml`:
//! Bearer GDPR OAuth token; the project token in the query; a body of `distinct_ids` (up
//! to 1999 for deletions) and `compliance_type` (GDPR, the default, or CCPA); 1 request per
//! second for the GDPR APIs, 429 beyond; errors `{"error","status":"error"}`; a created
//! task is `{"status":"ok","results":{"task_id"}}` (OpenAPI, 201) or the page's example
//! `{"status":"ok","results":[{"tracking_id","status":"PENDING",…}]}`; a task's status is
//! PENDING, STAGING, STARTED, SUCCESS, FAILURE, REVOKED, NOT_FOUND or UNKNOWN.
//!
//! Not on Mixpanel's pages, from rudder-transformer #5578: a request naming a distinct_id
//! that already has a task running is refused whole with 409, listing the conflicting ids
//! ([`crate::MixpanelConflict`]). Magic value: an id containing `mpfail` ends FAILURE.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::{Handled, error, rfc3339};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;
use crate::{MixpanelConflict, MixpanelCreated};

/// "You can add up to 1999 distinct IDs" (Create a Deletion Task).
const MAX_IDS: usize = 1999;

#[derive(Debug, Default)]
pub(crate) struct State {
    tasks: HashMap<String, Task>,
}

#[derive(Debug)]
struct Task {
    at: Instant,
    wall: SystemTime,
    ids: Vec<String>,
    fails: bool,
    compliance: String,
}

impl Task {
    /// The state `elapsed` after creation: one state per `step`.
    fn state(&self, elapsed: Duration, step: Duration) -> &'static str {
        let steps = if step.is_zero() {
            u128::MAX
        } else {
            elapsed.as_nanos() / step.as_nanos()
        };
        match steps {
            0 => "PENDING",
            1 => "STAGING",
            2 => "STARTED",
            _ if self.fails => "FAILURE",
            _ => "SUCCESS",
        }
    }
}

fn fail(status: u16, message: &str) -> Handled {
    Handled::unchanged(error(VendorKind::Mixpanel, status, message))
}

/// The per-request cap for a project with `groups` data groups.
pub(crate) fn cap(groups: u32) -> usize {
    MAX_IDS.min(2000 / (groups as usize + 1))
}

/// Bearer token and project token both right; otherwise the answer to give.
fn admitted(shared: &Shared, req: &Request) -> Result<(), Handled> {
    let creds = &shared.cfg.credentials;
    let bearer = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(s, t)| s.eq_ignore_ascii_case("bearer") && t == creds.mixpanel_gdpr_token);
    if !bearer {
        return Err(fail(401, "Invalid or expired OAuth token for the GDPR API"));
    }
    let token = req
        .query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="));
    match token {
        None | Some("") => Err(fail(400, "token is a required query parameter")),
        Some(t) if t != creds.mixpanel_project_token => {
            Err(fail(403, "You do not have access to this project"))
        }
        Some(_) => Ok(()),
    }
}

pub(crate) fn create(shared: &Shared, req: &Request) -> Handled {
    if let Err(h) = admitted(shared, req) {
        return h;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return fail(400, "Malformed JSON body");
    };
    let Some(ids) = body.get("distinct_ids").and_then(Value::as_array) else {
        return fail(400, "distinct_ids is required");
    };
    let cap = cap(shared.cfg.mixpanel_data_groups);
    if ids.is_empty() || ids.len() > cap {
        return fail(400, &format!("distinct_ids must hold 1 to {cap} ids"));
    }
    let Some(ids) = ids
        .iter()
        .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
        .collect::<Option<Vec<String>>>()
    else {
        return fail(400, "distinct_ids must be non-empty strings");
    };
    let compliance = match body.get("compliance_type") {
        None | Some(Value::Null) => "GDPR".to_owned(),
        Some(Value::String(c))
            if c.eq_ignore_ascii_case("gdpr") || c.eq_ignore_ascii_case("ccpa") =>
        {
            c.to_ascii_uppercase()
        }
        _ => return fail(400, "compliance_type must be GDPR or CCPA"),
    };
    // The quota counts every GDPR API call, refused ones included? Mixpanel does not say;
    // like the other fakes, a refused call does not consume it.
    if !shared.admit(VendorKind::Mixpanel, "", 0) {
        return Handled::unchanged(super::throttled(VendorKind::Mixpanel));
    }
    let now = shared.now();
    let step = shared.cfg.mixpanel_state_step;
    let mut state = shared.mixpanel.lock().expect("mixpanel lock");
    let pending: HashSet<&str> = state
        .tasks
        .values()
        .filter(|t| {
            matches!(
                t.state(now.saturating_duration_since(t.at), step),
                "PENDING" | "STAGING" | "STARTED"
            )
        })
        .flat_map(|t| t.ids.iter().map(String::as_str))
        .collect();
    let conflicting: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| pending.contains(id))
        .collect();
    if !conflicting.is_empty() {
        let mut body = json!({
            "status": "error",
            "error": "a deletion task already exists for some of the distinct_ids",
        });
        if shared.cfg.mixpanel_conflict == MixpanelConflict::NamesIds {
            body["conflicting_distinct_ids"] = json!(conflicting);
        }
        return Handled::unchanged(Response::json(409, &body));
    }
    let id = shared.new_id();
    let wall = shared.wall();
    let fails = ids.iter().any(|v| v.contains("mpfail"));
    let count = ids.len();
    state.tasks.insert(
        id.clone(),
        Task {
            at: now,
            wall,
            ids,
            fails,
            compliance: compliance.clone(),
        },
    );
    let resp = match shared.cfg.mixpanel_created {
        MixpanelCreated::TaskId => Response::json(
            201,
            &json!({ "status": "ok", "results": { "task_id": id } }),
        ),
        MixpanelCreated::TrackingList => Response::json(
            200,
            &json!({ "status": "ok", "results": [{
                "status": "PENDING",
                "date_requested": rfc3339(wall),
                "tracking_id": id,
                "project_id": 1,
                "compliance_type": compliance.to_ascii_lowercase(),
                "destination_url": null,
                "requesting_user": "sandbox@example.com",
                "distinct_id_count": count,
            }]}),
        ),
    };
    Handled::applied(resp)
}

pub(crate) fn status(shared: &Shared, req: &Request, id: &str) -> Handled {
    if let Err(h) = admitted(shared, req) {
        return h;
    }
    if !shared.admit(VendorKind::Mixpanel, "", 0) {
        return Handled::unchanged(super::throttled(VendorKind::Mixpanel));
    }
    let state = shared.mixpanel.lock().expect("mixpanel lock");
    let results = match state.tasks.get(id) {
        // "NOT_FOUND: The deletion task cannot be found."
        None => json!({ "tracking_id": id, "status": "NOT_FOUND" }),
        Some(t) => {
            let elapsed = shared.now().saturating_duration_since(t.at);
            json!({
                "tracking_id": id,
                "status": t.state(elapsed, shared.cfg.mixpanel_state_step),
                "requesting_user": "sandbox@example.com",
                "compliance_type": t.compliance,
                "project_id": 1,
                "date_requested": rfc3339(t.wall),
                "distinct_ids": t.ids,
            })
        }
    };
    Handled::unchanged(Response::json(
        200,
        &json!({ "status": "ok", "results": results }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_progress_and_the_cap_follows_data_groups() {
        let t = |fails| Task {
            at: Instant::now(),
            wall: SystemTime::UNIX_EPOCH,
            ids: vec!["a".into()],
            fails,
            compliance: "GDPR".into(),
        };
        let s = Duration::from_secs(1);
        let at = |secs, fails| t(fails).state(Duration::from_secs(secs), s);
        assert_eq!(at(0, false), "PENDING");
        assert_eq!(at(1, false), "STAGING");
        assert_eq!(at(2, false), "STARTED");
        assert_eq!(at(3, false), "SUCCESS");
        assert_eq!(at(3, true), "FAILURE");
        assert_eq!(cap(0), 1999);
        assert_eq!(cap(1), 1000);
        assert_eq!(cap(3), 500);
    }
}
