//! PostHog: `POST /api/projects/{project_id}/persons/bulk_delete/`.
//!
//! From posthog.com/docs/api/persons and PostHog/posthog (PRs #24790, #43923, #53357,
//! #101908): a personal API key as a Bearer token with the `person:write` scope; `ids`
//! (person UUIDs) or `distinct_ids`, at most 1,000 per call; flags `delete_events`,
//! `delete_recordings`, `keep_person`; 202 with a summary (`persons_found`,
//! `persons_deleted` 0 because deletion is queued, `persons_queued_for_deletion`,
//! `events_queued_for_deletion`, `deletion_errors`); errors in Django REST framework's
//! `{"type","code","detail","attr"}`. Persons endpoints are limited to 240 requests a
//! minute and 1,200 an hour (posthog.com/docs/api, rate limits).
//!
//! Every distinct_id has a person except those containing `unknown`; a distinct_id
//! containing `phfail` makes its person's deletion fail (`deletion_errors`).

use std::collections::HashSet;

use serde_json::{Value, json};

use super::Handled;
use crate::SlidingWindow;
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

const MAX_IDS: usize = 1000;
const UNKNOWN_MARKER: &str = "unknown";
const FAIL_MARKER: &str = "phfail";

#[derive(Debug, Default)]
pub(crate) struct State {
    /// (project, person UUID) already deleted.
    deleted: HashSet<(String, String)>,
    /// The hourly quota, beside the per-minute one the shared limiter counts.
    hour: Option<SlidingWindow>,
}

/// A DRF error body.
pub(crate) fn error_body(status: u16, detail: &str) -> Value {
    let (kind, code) = match status {
        400 => ("validation_error", "invalid_input"),
        401 => ("authentication_error", "authentication_failed"),
        403 => ("authentication_error", "permission_denied"),
        404 => ("invalid_request", "not_found"),
        429 => ("throttled_error", "throttled"),
        _ => ("server_error", "error"),
    };
    json!({ "type": kind, "code": code, "detail": detail, "attr": null })
}

fn fail(status: u16, detail: &str) -> Handled {
    Handled::unchanged(Response::json(status, &error_body(status, detail)))
}

/// The person UUID of a distinct_id (one person each), stable.
fn person_of(distinct_id: &str) -> String {
    let a = xxhash_rust::xxh3::xxh3_128(distinct_id.as_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        (a >> 96) as u32,
        (a >> 80) as u16,
        (a >> 64) as u16 & 0xfff,
        (a >> 48) as u16 & 0xfff,
        a as u64 & 0xffff_ffff_ffff
    )
}

/// `GET /api/projects/{id}/` (posthog.com/docs/api/projects): the project, with the
/// `project:read` scope. Any numeric id is a project of the sandbox's key.
pub(crate) fn project(shared: &Shared, req: &Request, project: &str) -> Handled {
    let key = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, k)| k.trim());
    let creds = &shared.cfg.credentials;
    let known = |k: &str| {
        k == creds.posthog_personal_api_key
            || shared.cfg.posthog_read_only_keys.iter().any(|r| r == k)
    };
    if !key.is_some_and(known) {
        return fail(401, "Invalid personal API key.");
    }
    let Ok(id) = project.parse::<u64>() else {
        return fail(404, "Not found.");
    };
    Handled::unchanged(Response::json(
        200,
        &json!({ "id": id, "name": format!("Sandbox project {id}"), "timezone": "UTC" }),
    ))
}

pub(crate) fn bulk_delete(shared: &Shared, req: &Request, project: &str) -> Handled {
    let key = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, k)| k.trim());
    let creds = &shared.cfg.credentials;
    match key {
        Some(k) if k == creds.posthog_personal_api_key => {}
        Some(k) if shared.cfg.posthog_read_only_keys.iter().any(|r| r == k) => {
            return fail(403, "API key missing required scope 'person:write'");
        }
        _ => return fail(401, "Invalid personal API key."),
    }
    if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
        return fail(404, "Not found.");
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return fail(400, "JSON parse error");
    };
    let strings = |k: &str| -> Option<Vec<String>> {
        body.get(k)?.as_array().map(|a| {
            a.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
    };
    let (ids, by_uuid) = match (strings("ids"), strings("distinct_ids")) {
        (Some(ids), _) if !ids.is_empty() => (ids, true),
        (_, Some(d)) if !d.is_empty() => (d, false),
        _ => return fail(400, "You must provide either ids or distinct_ids"),
    };
    if ids.len() > MAX_IDS {
        let what = if by_uuid { "ids" } else { "distinct_ids" };
        return fail(
            400,
            &format!("You can only pass {MAX_IDS} {what} in one call"),
        );
    }
    if !admit(shared) {
        let r = Response::json(429, &error_body(429, "Request was throttled."));
        return Handled::unchanged(r);
    }
    let flag = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);
    let (events, recordings, keep) = (
        flag("delete_events"),
        flag("delete_recordings"),
        flag("keep_person"),
    );
    let mut state = shared.posthog.lock().expect("posthog lock");
    let mut found = HashSet::new();
    let mut errors = Vec::new();
    for id in &ids {
        if id.contains(UNKNOWN_MARKER) {
            continue;
        }
        let person = if by_uuid { id.clone() } else { person_of(id) };
        if state
            .deleted
            .contains(&(project.to_owned(), person.clone()))
        {
            continue;
        }
        if id.contains(FAIL_MARKER) {
            errors.push(json!({ "person_id": person, "step": "delete_person" }));
            continue;
        }
        found.insert(person);
    }
    let queued = if keep { 0 } else { found.len() };
    if !keep {
        for p in &found {
            state.deleted.insert((project.to_owned(), p.clone()));
        }
    }
    let n = found.len() + errors.len();
    let answer = json!({
        "persons_found": n,
        "persons_deleted": 0,
        "persons_queued_for_deletion": queued,
        "events_queued_for_deletion": events && !found.is_empty(),
        "recordings_queued_for_deletion": recordings && !found.is_empty(),
        "deletion_errors": errors,
    });
    Handled::applied(Response::json(202, &answer))
}

/// The per-minute quota (shared limiter) and the hourly one, both or neither.
fn admit(shared: &Shared) -> bool {
    if !shared.cfg.enforce_quota {
        return true;
    }
    let now = std::time::Instant::now();
    let mut state = shared.posthog.lock().expect("posthog lock");
    if let Some(rate) = shared.cfg.posthog_hourly {
        let hour = state
            .hour
            .get_or_insert_with(|| SlidingWindow::new(rate.count, rate.per));
        if !hour.fits(now, 1) {
            return false;
        }
    }
    if !shared.admit(VendorKind::Posthog, "", 1) {
        return false;
    }
    if let Some(hour) = state.hour.as_mut() {
        hour.admit(now, 1);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_uuids_are_stable_and_uuid_shaped() {
        let a = person_of("user-1");
        assert_eq!(a, person_of("user-1"));
        assert_ne!(a, person_of("user-2"));
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn errors_are_drf_shaped() {
        let b = error_body(403, "missing scope");
        assert_eq!(b["type"], "authentication_error");
        assert_eq!(b["code"], "permission_denied");
        assert_eq!(b["detail"], "missing scope");
    }
}
