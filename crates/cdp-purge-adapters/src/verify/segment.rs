//! Segment: a deletion is verified by listing the profile's external ids through the
//! Profile API (`GET /v1/spaces/{space}/collections/users/profiles/{type}:{value}/external_ids`,
//! same host and token as the deletion; segmentio/segment-docs `src/unify/profile-api.md`).
//!
//! The profile is found the way the deletion found it: by its `user_id`, or for a run with
//! `--lookup-type` by the value looked up. The ledger holds keyed hashes only, so each
//! listed external id is hashed with the ledger's key and compared with the deleted one.
//!
//! - 200 with `data` and no listed id matching, and `cursor.has_more` false: absent.
//!   Further pages are followed through `cursor.next`.
//! - 200 listing it: present again (an Event Archive replay brings identifiers back).
//! - 404 `not_found` "Profile was not found." (the documented answer): no profile is found
//!   by that value any more, so the removed id is not on it.
//! - Anything else (another 404, which is what a wrong space may answer; a 2xx in another
//!   shape; retries run out): unknown.

use reqwest::header::HeaderValue;

use super::{Profile, redact};
use crate::segment::{PROFILE_NOT_FOUND, TOKEN};
use crate::{Target, VendorParams, wire};
use cdp_purge_core::ledger;
use cdp_purge_core::status::{Fetched, Poller};

/// A profile with more external ids than this many pages of 100 is not read to the end.
const MAX_PAGES: usize = 50;

pub struct SegmentProfiles {
    /// `{base}/v1/spaces/{space}/collections/users/profiles/`.
    base: String,
    auth: HeaderValue,
    /// The ledger's key, to hash the listed external ids.
    key: [u8; 32],
}

/// One documented page of `external_ids`.
struct Page {
    ids: Vec<String>,
    has_more: bool,
    next: Option<String>,
}

/// The documented shape: `{"data":[{"id","type",…}],"cursor":{"has_more","next",…}}`.
/// Anything else (no `data` array, an entry without a string `id`, no cursor) is `None`.
fn page(body: &[u8]) -> Option<Page> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let data = v.get("data")?.as_array()?;
    let mut ids = Vec::with_capacity(data.len());
    for e in data {
        ids.push(e.get("id")?.as_str()?.to_owned());
        e.get("type")?.as_str()?;
    }
    let cursor = v.get("cursor")?;
    let has_more = cursor.get("has_more")?.as_bool()?;
    let next = cursor
        .get("next")
        .and_then(serde_json::Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Some(Page {
        ids,
        has_more,
        next,
    })
}

impl SegmentProfiles {
    pub fn new(target: &Target, key: [u8; 32]) -> anyhow::Result<Self> {
        let VendorParams::Segment { space, .. } = &target.params else {
            return Err(wire::wrong_target("Segment", target));
        };
        Ok(Self {
            base: format!(
                "{}/v1/spaces/{}/collections/users/profiles/",
                target.base_url,
                wire::segment(space)
            ),
            auth: wire::basic_auth(target.credential(TOKEN)?, "", &target.var(TOKEN))?,
            key,
        })
    }

    /// Whether a listed external id is the deleted one. Intake may have lowercased the
    /// value it sent (`--lowercase`) while a replay brings the id back as it was first
    /// written: a listed id matching in either form counts as present, since calling a
    /// returned profile absent is the claim that must never be wrong.
    fn same(&self, listed: &str, id_hmac: &str) -> bool {
        ledger::id_hmac(&self.key, listed) == id_hmac
            || ledger::id_hmac(&self.key, &listed.to_lowercase()) == id_hmac
    }

    /// Whether the external id hashed `id_hmac` is still on the profile found by
    /// `by:{lookup}` (`by` is `user_id` or the run's `--lookup-type`). `Err` is fatal
    /// (credentials) or the run stopping.
    pub async fn check(
        &self,
        poller: &Poller,
        by: &str,
        lookup: &str,
        id_hmac: &str,
    ) -> Result<(Profile, u32), Fetched> {
        let mut attempts = 0;
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = format!(
                "{}{}:{}/external_ids?limit=100",
                self.base,
                wire::segment(by),
                wire::segment(lookup)
            );
            if let Some(n) = &next {
                url.push_str("&next=");
                url.push_str(&wire::segment(n));
            }
            let (fetched, a) = poller.fetch(&wire::get(url, &self.auth)).await;
            attempts += a;
            let p = match fetched {
                Fetched::Ok { status, body } => match page(&body) {
                    None => Profile::Unknown(
                        Some(status),
                        "a 2xx answer that is not the documented external_ids list".into(),
                    ),
                    Some(pg) if pg.ids.iter().any(|id| self.same(id, id_hmac)) => Profile::Found(
                        status,
                        "the Profile API lists the removed external id on the profile again".into(),
                    ),
                    Some(pg) if pg.has_more => match pg.next {
                        Some(n) => {
                            next = Some(n);
                            continue;
                        }
                        None => Profile::Unknown(
                            Some(status),
                            "the list has more pages but no cursor to the next one".into(),
                        ),
                    },
                    Some(_) => {
                        Profile::Absent(status, "absent from the profile's external ids".into())
                    }
                },
                Fetched::Refused {
                    status,
                    reason,
                    body,
                } => {
                    let (code, message) = wire::error_fields(&body);
                    if status == 404
                        && code.as_deref() == Some("not_found")
                        && message.as_deref() == Some(PROFILE_NOT_FOUND)
                    {
                        Profile::Absent(
                            404,
                            "no profile is found by it any more (\"Profile was not found.\")"
                                .into(),
                        )
                    } else {
                        Profile::Unknown(
                            Some(status),
                            format!(
                                "{} (not a documented Profile API answer)",
                                redact(&reason, lookup)
                            ),
                        )
                    }
                }
                Fetched::GaveUp { reason, .. } => Profile::Unknown(None, redact(&reason, lookup)),
                other => return Err(other),
            };
            return Ok((p, attempts));
        }
        Ok((
            Profile::Unknown(
                None,
                format!("more than {MAX_PAGES} pages of external ids: not read to the end"),
            ),
            attempts,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_id_matches_the_deleted_one_as_written_or_lowercased() {
        let p = SegmentProfiles {
            base: String::new(),
            auth: HeaderValue::from_static("x"),
            key: [7; 32],
        };
        let deleted = ledger::id_hmac(&p.key, "alice@x.co");
        assert!(p.same("alice@x.co", &deleted));
        assert!(
            p.same("Alice@X.co", &deleted),
            "replayed in its first casing"
        );
        assert!(!p.same("bob@x.co", &deleted));
    }

    #[test]
    fn only_the_documented_list_is_a_page() {
        let ok = br#"{"data":[{"id":"a@x","type":"email"}],"cursor":{"has_more":false,"next":""}}"#;
        let p = page(ok).expect("documented");
        assert_eq!(p.ids, ["a@x"]);
        assert!(!p.has_more && p.next.is_none());
        for bad in [
            &br#"{"data":{"id":"a@x"}}"#[..],
            br#"{"data":[{"id":1,"type":"email"}],"cursor":{"has_more":false}}"#,
            br#"{"data":[{"id":"a@x","type":"email"}]}"#,
            br#"{"profiles":[]}"#,
            br#"[]"#,
        ] {
            assert!(page(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
