//! Amplitude User Privacy API (v1): `POST /api/2/deletions/users` with up to 100
//! `user_ids` and `amplitude_ids`, Basic auth with the project's API key and secret key.
//!
//! A request does not delete: it puts the users into a deletion job scheduled on a day
//! (`day` in the answer). The job is `staging` until then, `submitted` while it runs and
//! while backups age out, and `done` at the end; `status` asks
//! `GET /api/2/deletions/users?start_day=&end_day=` and says done only when the job does.
//! Every request sends `ignore_invalid_ids`, so one unknown user does not refuse the other
//! 99: the answer lists it under `invalid_ids` (our `not_found`).

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use super::target::Target;
use super::wire;
use super::{
    Adapter, ItemOutcome, JobReport, JobState, OutcomeClass, Request, Response, VendorKind,
    VendorSpec, Verdict,
};
use super::{Credential, Param, Quota, Rate, StatusSupport, Vendor, VendorParams, params};
use cdp_purge_core::batch::Batch;
use std::sync::Arc;

const KEY: &str = "AMPLITUDE_API_KEY";
const SECRET: &str = "AMPLITUDE_SECRET_KEY";
/// The job list takes at most six months: look back five, ahead one.
const LIST_BACK_DAYS: i64 = 150;
const LIST_AHEAD_DAYS: i64 = 30;

/// The hosts of the data regions (amplitude-docs user-privacy.md, "Regions").
const HOSTS: &[(&str, &str)] = &[
    ("us", "https://amplitude.com"),
    ("eu", "https://analytics.eu.amplitude.com"),
];

/// Who asked for the deletion (Amplitude's `requester`, for its audit trail).
const REQUESTER: Param = Param::text("requester");

/// Amplitude's row of the registry.
pub const VENDOR: Vendor = Vendor {
    kind: VendorKind::Amplitude,
    spec: VendorSpec {
        id: "amplitude",
        name: "Amplitude",
        api: "POST /api/2/deletions/users",
        max_batch: 100,
        default_batch: 100,
        max_batch_documented: true,
        // amplitude-docs user-privacy.md, "Limits": 1 HTTP request per second for
        // /api/2/deletions/users (the job-list GET is the same endpoint).
        quota: Quota {
            requests: Some(Rate::per_second(1)),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 1,
        one_kind_per_request: false,
        id_kinds: "user_id or amplitude_id (--id-type); both may share a request",
        credentials: &[KEY, SECRET],
        default_base_url: "https://amplitude.com",
        completion: "scheduled into a deletion job: staging until its day, then submitted, then done; GET /api/2/deletions/users?start_day&end_day",
        caveat: "Amplitude only scheduled these users into a deletion job: it stays in staging for about three days, then runs, and reads done once backups are gone (up to 30 days). Follow it with `cdp-purge status --ledger LEDGER --watch`. Amplitude accepts new events from a deleted user: stop tracking them first.",
        status: StatusSupport::Jobs,
        reingestion: Some(
            "Amplitude: new events for a deleted user create a new user; opt the user out of \
             tracking (setOptOut) before deleting",
        ),
        accepted_means: None,
    },
    params: &[&params::ID_TYPE, &params::REGION, &REQUESTER],
    credentials: &[
        Credential {
            role: "api_key",
            var: KEY,
        },
        Credential {
            role: "secret_key",
            var: SECRET,
        },
    ],
    only_id_type: None,
    proving_batch: |_| None,
    missing: |v, _| match v.id_type(VendorKind::Amplitude) {
        None => vec!["--id-type user_id|amplitude_id"],
        Some(_) => vec![],
    },
    resolve: |v| {
        crate::id_type_in(v, VendorKind::Amplitude, &["user_id", "amplitude_id"])?;
        let (region, host) = crate::region_host(v, "Amplitude", HOSTS)?;
        let requester = v.get(REQUESTER.key).map(str::to_owned);
        Ok((VendorParams::Amplitude { region, requester }, host))
    },
    // A key names a project: two projects are two places.
    destination: |t| match &t.params {
        VendorParams::Amplitude { region, .. } => {
            crate::keyed(t, vec![("region", region.clone())], "project", KEY)
        }
        _ => vec![],
    },
    of_group: |g| {
        let a = crate::recorded(g);
        Ok(VendorParams::Amplitude {
            region: a("region").unwrap_or_default(),
            requester: None,
        })
    },
    build: |t| Ok(Arc::new(Amplitude::new(t)?)),
};

#[derive(Debug)]
pub struct Amplitude {
    url: String,
    region: String,
    requester: Option<String>,
    auth: HeaderValue,
}

impl Amplitude {
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let VendorParams::Amplitude { region, requester } = &target.params else {
            bail!(
                "internal error: Amplitude adapter built for a {} target",
                target.vendor
            );
        };
        let vars = format!("{} and {}", target.var(KEY), target.var(SECRET));
        Ok(Self {
            url: format!("{}/api/2/deletions/users", target.base_url),
            region: region.clone(),
            requester: requester.clone(),
            auth: wire::basic_auth(target.credential(KEY)?, target.credential(SECRET)?, &vars)?,
        })
    }

    fn get(&self, start: &str, end: &str) -> Request {
        wire::get(
            format!("{}?start_day={start}&end_day={end}", self.url),
            &self.auth,
        )
    }
}

/// Whether an item is an Amplitude ID (an integer) rather than a user ID.
fn is_amplitude_id(kind: &str) -> bool {
    matches!(kind, "amplitude_id" | "amplitude_ids")
}

impl Adapter for Amplitude {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Amplitude.info()
    }

    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let (mut amp, mut users) = (Vec::new(), Vec::new());
        for it in &batch.items {
            if is_amplitude_id(&it.kind) {
                // Integers on the wire; a value that is not one goes as text and the vendor's
                // 400 isolates it.
                amp.push(match it.value.parse::<u64>() {
                    Ok(n) => json!(n),
                    Err(_) => json!(it.value),
                });
            } else {
                users.push(json!(it.value));
            }
        }
        let mut body = json!({ "ignore_invalid_ids": true });
        if !amp.is_empty() {
            body["amplitude_ids"] = Value::Array(amp);
        }
        if !users.is_empty() {
            body["user_ids"] = Value::Array(users);
        }
        if let Some(r) = &self.requester {
            body["requester"] = json!(r);
        }
        wire::json(Method::POST, self.url.clone(), &self.auth, &body)
    }

    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        match resp.status {
            200..=299 => {
                let Ok(v) = serde_json::from_slice::<Value>(resp.body) else {
                    return wire::all(
                        batch,
                        ItemOutcome::unknown(format!(
                            "HTTP {}: an answer that is not JSON; whether the users were scheduled is unknown",
                            resp.status
                        )),
                    );
                };
                // One answer per project; `delete_from_org` is not sent, so an object.
                let day = v.get("day").and_then(wire::id_string);
                let invalid: HashSet<String> = v
                    .get("invalid_ids")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(wire::id_string).collect())
                    .unwrap_or_default();
                let outcomes = batch
                    .items
                    .iter()
                    .map(|it| {
                        if invalid.contains(&it.value) {
                            ItemOutcome::new(OutcomeClass::NotFound)
                                .with_message("Amplitude has no data for this user in the project")
                        } else {
                            // The documented answer names the job's day; without it the
                            // answer is not one Amplitude documents for a scheduled job.
                            match &day {
                                Some(d) => ItemOutcome::acknowledged(Some(d.clone())),
                                None => ItemOutcome::unknown(format!(
                                    "HTTP {} without the job's `day`: whether the user was scheduled is unknown",
                                    resp.status
                                )),
                            }
                        }
                    })
                    .collect();
                Verdict::Items(outcomes)
            }
            _ => wire::common(self.spec(), batch, resp),
        }
    }

    fn account(&self) -> Vec<(String, String)> {
        vec![("region".into(), self.region.clone())]
    }

    fn endpoint(&self) -> String {
        format!("POST {}", self.url)
    }

    /// The job scheduled on `day` (what `classify` recorded as the vendor ID).
    fn status_request(&self, day: &str) -> anyhow::Result<Option<Request>> {
        // Amplitude answers a malformed day with a 400, recorded as unknown.
        let day = wire::segment(day);
        Ok(Some(self.get(&day, &day)))
    }

    fn parse_status(&self, body: &[u8]) -> anyhow::Result<JobReport> {
        let jobs = jobs_of(body)?;
        match jobs.as_slice() {
            [(_, r)] => Ok(r.clone()),
            [] => bail!("no deletion job on that day"),
            _ => bail!("several jobs answered; cannot tell which is ours"),
        }
    }

    fn parse_status_of(&self, day: &str, body: &[u8]) -> anyhow::Result<JobReport> {
        // Several projects' jobs can share a day (org-wide deletions): the least advanced
        // one is the day's state.
        let mine: Vec<JobReport> = jobs_of(body)?
            .into_iter()
            .filter(|(d, _)| d == day)
            .map(|(_, r)| r)
            .collect();
        mine.iter()
            .find(|r| !matches!(r.state, JobState::Done))
            .or(mine.first())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("Amplitude lists no deletion job on {day}"))
    }

    /// The deletion jobs of today (`GET /api/2/deletions/users`): read-only, and it
    /// answers only to the project's key and secret on the region's host.
    fn preflight(&self) -> anyhow::Result<cdp_purge_core::protocol::Preflight> {
        let day = day_string(today());
        Ok(cdp_purge_core::protocol::Preflight {
            probes: vec![wire::probe(
                "API key, secret and region",
                self.get(&day, &day),
                "Amplitude",
                format!("{KEY} and {SECRET}"),
                format!(
                    "key and secret accepted; the deletion job list of region {} answered",
                    self.region
                ),
                "check --region and --base-url".into(),
                |b| jobs_of(b).is_ok(),
            )],
            unchecked: vec![
                "that the key may delete: Amplitude has one key pair per project and no read-only call that tells deletion rights apart".into(),
            ],
        })
    }

    fn status_list_request(&self) -> anyhow::Result<Option<Request>> {
        let today = today();
        Ok(Some(self.get(
            &day_string(today - LIST_BACK_DAYS),
            &day_string(today + LIST_AHEAD_DAYS),
        )))
    }

    fn parse_status_list(&self, body: &[u8]) -> Option<Vec<(String, JobReport)>> {
        let jobs = jobs_of(body).ok()?;
        // Several projects on one day: keep the least advanced.
        let mut out: Vec<(String, JobReport)> = Vec::new();
        for (day, r) in jobs {
            match out.iter_mut().find(|(d, _)| *d == day) {
                Some(slot) if matches!(slot.1.state, JobState::Done) => slot.1 = r,
                Some(_) => {}
                None => out.push((day, r)),
            }
        }
        Some(out)
    }
}

/// The jobs of a `GET /api/2/deletions/users` answer: `[{"day","status",…}]`.
fn jobs_of(body: &[u8]) -> anyhow::Result<Vec<(String, JobReport)>> {
    let v: Value = serde_json::from_slice(body)?;
    let Some(list) = v.as_array() else {
        bail!("the job list is not a JSON array");
    };
    list.iter()
        .map(|job| {
            let day = job
                .get("day")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow::anyhow!("a job without a day"))?;
            let status = job.get("status").and_then(Value::as_str).unwrap_or("");
            let state = match status.to_ascii_lowercase().as_str() {
                "staging" | "submitted" => JobState::Pending(status.to_owned()),
                "done" => JobState::Done,
                // Not in the page's three states: unknown, never done.
                other => bail!("unknown job status {other:?}"),
            };
            let mut r = JobReport::new(state).with_vendor_state(status);
            r.completed_at = job
                .get("active_scrub_done_date")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Ok((day.to_owned(), r))
        })
        .collect()
}

fn today() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), civil-from-days (H. Hinnant).
fn day_string(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::super::wire::test_support::{batch, body_json};
    use super::*;
    use std::collections::BTreeMap;

    fn adapter() -> Amplitude {
        let target = Target {
            name: "amplitude".into(),
            vendor: VendorKind::Amplitude,
            base_url: "https://amplitude.com".into(),
            params: VendorParams::Amplitude {
                region: "us".into(),
                requester: Some("dpo@example.com".into()),
            },
            credentials: [
                (KEY, super::super::Secret::new("k")),
                (SECRET, super::super::Secret::new("s")),
            ]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
            batch_size: 100,
        };
        Amplitude::new(&target).unwrap()
    }

    fn answer(status: u16, body: &str, b: &Batch) -> Verdict {
        super::super::wire::test_support::classify(&adapter(), status, body, b)
    }

    #[test]
    fn sends_user_ids_and_ignores_invalid_ones() {
        let b = batch("amplitude", "user_id", &["u1", "u2"]);
        let v = body_json(&adapter().build(&b).unwrap());
        assert_eq!(v["user_ids"], json!(["u1", "u2"]));
        assert_eq!(v["ignore_invalid_ids"], true);
        assert_eq!(v["requester"], "dpo@example.com");
        assert!(v.get("amplitude_ids").is_none());
        let b = batch("amplitude", "amplitude_id", &["123", "x"]);
        let v = body_json(&adapter().build(&b).unwrap());
        assert_eq!(v["amplitude_ids"], json!([123, "x"]));
    }

    #[test]
    fn invalid_ids_are_not_found_and_the_rest_carry_the_job_day() {
        let b = batch("amplitude", "user_id", &["u1", "gone"]);
        let v = answer(
            200,
            r#"{"day":"2026-12-03","status":"staging","amplitude_ids":[{"amplitude_id":1}],"invalid_ids":["gone"]}"#,
            &b,
        );
        let Verdict::Items(items) = v else {
            panic!("{v:?}")
        };
        assert_eq!(items[0].class, OutcomeClass::Acknowledged);
        assert_eq!(items[0].vendor_id.as_deref(), Some("2026-12-03"));
        assert_eq!(items[1].class, OutcomeClass::NotFound);
        // Answers that do not say whether the users were scheduled prove nothing.
        for body in ["<html>", r#"{"status":"staging"}"#] {
            let v = answer(200, body, &b);
            assert!(
                matches!(&v, Verdict::Items(i) if i.iter().all(|o| o.class == OutcomeClass::Unknown)),
                "{body}: {v:?}"
            );
        }
        assert!(matches!(
            answer(429, "{}", &b),
            Verdict::Retry {
                throttled: true,
                ..
            }
        ));
        assert!(matches!(
            answer(401, "{}", &b),
            Verdict::Fatal { auth: true, .. }
        ));
    }

    #[test]
    fn done_only_when_the_job_says_done() {
        let a = adapter();
        let body = br#"[{"day":"2026-12-03","status":"submitted","amplitude_ids":[]},
                        {"day":"2026-12-04","status":"done","active_scrub_done_date":"2026-12-05"}]"#;
        let r = a.parse_status_of("2026-12-03", body).unwrap();
        assert_eq!(r.state, JobState::Pending("submitted".into()));
        let r = a.parse_status_of("2026-12-04", body).unwrap();
        assert_eq!(r.state, JobState::Done);
        assert_eq!(r.completed_at.as_deref(), Some("2026-12-05"));
        assert!(a.parse_status_of("2026-12-05", body).is_err());
        assert!(
            a.parse_status_of("2026-12-03", br#"[{"day":"2026-12-03","status":"weird"}]"#)
                .is_err()
        );
        let list = a.parse_status_list(body).unwrap();
        assert_eq!(list.len(), 2);
        let r = a.status_request("2026-12-03").unwrap().unwrap();
        assert!(
            r.url.ends_with("?start_day=2026-12-03&end_day=2026-12-03"),
            "{}",
            r.url
        );
    }

    #[test]
    fn days_print_like_the_calendar() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(19_782), "2024-02-29");
    }
}
