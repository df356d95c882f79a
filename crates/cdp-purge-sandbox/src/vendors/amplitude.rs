//! Amplitude User Privacy API (v1): `POST /api/2/deletions/users` and
//! `GET /api/2/deletions/users?start_day=&end_day=`.
//!
//! From amplitude-docs `content/collections/api/en/user-privacy.md`: Basic auth with the
//! project's API key and secret key; up to 100 `amplitude_ids` and `user_ids` per request;
//! 1 request per second. Without `ignore_invalid_ids` a request naming a user the project
//! does not have is a 400 and marks nobody; with it the answer lists them in `invalid_ids`.
//! Requests join a job scheduled on a day; the job is `staging` until then (ids can still be
//! removed), `submitted` while it runs and while backups age out (`active_scrub_done_date`
//! set once the scrub is over), then `done`.
//!
//! The calendar is the sandbox's clock (`amplitude_day` of real time per day, or
//! [`crate::Sandbox::advance`]). Users whose id contains `unknown` do not exist.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::{Handled, basic_auth};
use crate::facts::VendorKind;
use crate::http::{Request, Response};
use crate::state::Shared;

const MAX_IDS: usize = 100;
/// Days from a job's first request to its scheduled day (the staging period).
const STAGING_DAYS: i64 = 3;
/// Days the job runs before the scrub is over.
const SCRUB_DAYS: i64 = 1;
/// Days after the scrub before backups are gone and the job is `done`.
const BACKUP_DAYS: i64 = 5;
/// The widest range the job list accepts ("six months").
const MAX_RANGE_DAYS: i64 = 183;
const UNKNOWN_MARKER: &str = "unknown";

#[derive(Debug)]
pub(crate) struct State {
    /// When the calendar started, and its first day (days since the Unix epoch).
    started: Option<(Instant, i64)>,
    /// Jobs by scheduled day.
    jobs: BTreeMap<i64, Job>,
}

#[derive(Debug, Default)]
struct Job {
    /// (amplitude_id, requester, requested_on_day, user_id it was asked for by).
    users: Vec<(u64, String, i64, Option<String>)>,
}

impl State {
    pub fn new() -> Self {
        Self {
            started: None,
            jobs: BTreeMap::new(),
        }
    }

    /// Today on the job calendar.
    fn today(&mut self, shared: &Shared) -> i64 {
        let now = shared.now();
        let (t0, day0) = *self.started.get_or_insert_with(|| {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            (now, i64::try_from(secs / 86_400).unwrap_or(0))
        });
        let step = shared.cfg.amplitude_day.as_nanos().max(1);
        day0 + i64::try_from(now.saturating_duration_since(t0).as_nanos() / step).unwrap_or(0)
    }
}

fn fail(status: u16, message: &str) -> Handled {
    Handled::unchanged(super::error(VendorKind::Amplitude, status, message))
}

fn authorized(shared: &Shared, req: &Request) -> bool {
    let c = &shared.cfg.credentials;
    matches!(basic_auth(req), Some((k, s)) if k == c.amplitude_api_key && s == c.amplitude_secret_key)
}

/// A user id's Amplitude ID: stable, so the same user maps to the same ID.
pub(crate) fn amplitude_id_of(user_id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(user_id.as_bytes()) % 1_000_000_000_000
}

/// `true`/`"true"`: the page's examples send both.
fn flag(obj: &Map<String, Value>, key: &str) -> bool {
    match obj.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

pub(crate) fn create(shared: &Shared, req: &Request) -> Handled {
    if !authorized(shared, req) {
        return fail(401, "Invalid API key or secret key");
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return fail(400, "Request body must be a JSON object");
    };
    let list = |key: &str| -> Result<Vec<Value>, Handled> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(_) => Err(fail(400, &format!("{key} must be an array"))),
        }
    };
    let (amp, users) = match (list("amplitude_ids"), list("user_ids")) {
        (Ok(a), Ok(u)) => (a, u),
        (Err(h), _) | (_, Err(h)) => return h,
    };
    if amp.is_empty() && users.is_empty() {
        return fail(400, "Specify amplitude_ids or user_ids");
    }
    if amp.len() + users.len() > MAX_IDS {
        return fail(
            400,
            "Too many ids: at most 100 amplitude_ids or user_ids per request",
        );
    }
    // (amplitude_id, the user_id it came from, the id as sent for invalid_ids).
    let mut asked: Vec<(Option<u64>, Option<String>, Value)> = Vec::new();
    for v in &amp {
        let id = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        match id {
            Some(id) => asked.push((Some(id), None, v.clone())),
            None => return fail(400, "amplitude_ids must be integers"),
        }
    }
    for v in &users {
        let uid = match v {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return fail(400, "user_ids must be non-empty strings"),
        };
        let known = !uid.contains(UNKNOWN_MARKER);
        asked.push((known.then(|| amplitude_id_of(&uid)), Some(uid), v.clone()));
    }
    let ignore_invalid = flag(&body, "ignore_invalid_ids") || flag(&body, "delete_from_org");
    let invalid: Vec<Value> = asked
        .iter()
        .filter(|(id, _, _)| id.is_none())
        .map(|(_, _, v)| v.clone())
        .collect();
    if !invalid.is_empty() && !ignore_invalid {
        return fail(
            400,
            "Some of the requested users were not found in this project; no user was marked for deletion",
        );
    }
    if !shared.admit(VendorKind::Amplitude, "", asked.len()) {
        return Handled::unchanged(super::throttled(VendorKind::Amplitude));
    }
    let requester = body
        .get("requester")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mapped = flag(&body, "include_mapped_user_ids");
    let mut state = shared.amplitude.lock().expect("amplitude lock");
    let today = state.today(shared);
    // Requests join the job still in staging; the first request of a new batch schedules
    // the next one.
    let day = match state.jobs.range(today + 1..).next() {
        Some((&d, _)) => d,
        None => today + STAGING_DAYS,
    };
    let job = state.jobs.entry(day).or_default();
    let mut entries = Vec::new();
    for (id, uid, _) in asked {
        let Some(id) = id else { continue };
        if !job.users.iter().any(|u| u.0 == id) {
            job.users.push((id, requester.clone(), today, uid.clone()));
        }
        let mut e = json!({
            "amplitude_id": id,
            "requester": requester,
            "requested_on_day": day_string(today),
        });
        if mapped && let Some(u) = uid {
            e["user_id"] = u.into();
        }
        entries.push(e);
    }
    let mut answer = json!({
        "day": day_string(day),
        "status": "staging",
        "amplitude_ids": entries,
    });
    if ignore_invalid {
        answer["invalid_ids"] = invalid.into();
    }
    Handled::applied(Response::json(200, &answer))
}

pub(crate) fn jobs(shared: &Shared, req: &Request) -> Handled {
    if !authorized(shared, req) {
        return fail(401, "Invalid API key or secret key");
    }
    let (Some(start), Some(end)) = (
        req.query_param("start_day").as_deref().and_then(parse_day),
        req.query_param("end_day").as_deref().and_then(parse_day),
    ) else {
        return fail(400, "start_day and end_day are required, as YYYY-MM-DD");
    };
    if end < start || end - start > MAX_RANGE_DAYS {
        return fail(400, "The largest permitted time range is six months");
    }
    if !shared.admit(VendorKind::Amplitude, "", 0) {
        return Handled::unchanged(super::throttled(VendorKind::Amplitude));
    }
    let mut state = shared.amplitude.lock().expect("amplitude lock");
    let today = state.today(shared);
    let list: Vec<Value> = state
        .jobs
        .range(start..=end)
        .map(|(&day, job)| job_body(day, job, today))
        .collect();
    Handled::unchanged(Response::json(200, &Value::Array(list)))
}

fn job_body(day: i64, job: &Job, today: i64) -> Value {
    let status = if today < day {
        "staging"
    } else if today < day + SCRUB_DAYS + BACKUP_DAYS {
        "submitted"
    } else {
        "done"
    };
    let ids: Vec<Value> = job
        .users
        .iter()
        .map(|(id, requester, on, _)| {
            json!({ "amplitude_id": id, "requester": requester, "requested_on_day": day_string(*on) })
        })
        .collect();
    let mut body = json!({ "day": day_string(day), "status": status, "amplitude_ids": ids });
    if today >= day + SCRUB_DAYS {
        body["active_scrub_done_date"] = day_string(day + SCRUB_DAYS).into();
    }
    body
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub(crate) fn day_string(day: i64) -> String {
    let at = UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(day.max(0)).unwrap_or(0) * 86_400);
    super::rfc3339(at)[..10].to_owned()
}

/// `YYYY-MM-DD` (or `YYYYMMDD`, as the page's own example writes it) to a day number.
fn parse_day(s: &str) -> Option<i64> {
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d) = (
        digits[..4].parse::<i64>().ok()?,
        digits[4..6].parse::<i64>().ok()?,
        digits[6..].parse::<i64>().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days-from-civil (H. Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        for day in [0, 19_782, 20_000, 20_513] {
            assert_eq!(parse_day(&day_string(day)), Some(day));
        }
        assert_eq!(parse_day("20240229"), parse_day("2024-02-29"));
        assert_eq!(parse_day("2024-13-01"), None);
        assert_eq!(parse_day("soon"), None);
    }

    #[test]
    fn a_job_is_staged_then_submitted_then_done() {
        let job = Job::default();
        let day = 100;
        let status = |today| job_body(day, &job, today)["status"].clone();
        assert_eq!(status(day - 3), "staging");
        assert_eq!(status(day - 1), "staging");
        assert_eq!(status(day), "submitted");
        let scrubbed = job_body(day, &job, day + SCRUB_DAYS);
        assert_eq!(scrubbed["status"], "submitted");
        assert!(scrubbed["active_scrub_done_date"].is_string());
        assert_eq!(status(day + SCRUB_DAYS + BACKUP_DAYS), "done");
    }
}
