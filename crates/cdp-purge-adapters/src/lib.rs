//! The vendor adapters: the facts table and the registry of adapters.
//!
//! An adapter is data plus two functions: build a request from a batch, and classify a
//! response into per-item outcomes (the [`Adapter`] trait of [`cdp_purge_core::protocol`]). Pacing,
//! retries, the ledger and progress live in the engine. Adding a vendor touches one file
//! here and one row of [`VENDORS`].

// Output belongs to the binary's printer.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

// The protocol's names, for the adapters (and their callers) that know them from here.
pub use cdp_purge_core::protocol::*;

pub mod amplitude;
pub mod clevertap;
pub mod hightouch;
pub mod iterable;
pub mod lytics;
pub mod mparticle;
pub mod mparticle_lookup;
pub mod params;
pub mod posthog;
pub mod segment;
pub mod target;
pub mod wire;

pub use target::{Target, VendorParams};

/// The adapter for a target. Fails when a credential is missing or cannot be put in a
/// header; the error names the variable, never its value.
pub fn adapter(target: &Target) -> anyhow::Result<Arc<dyn Adapter>> {
    Ok(match target.vendor {
        VendorKind::Lytics => Arc::new(lytics::Lytics::new(target)?),
        VendorKind::Mparticle => Arc::new(mparticle::Mparticle::new(target)?),
        VendorKind::Clevertap => Arc::new(clevertap::Clevertap::new(target)?),
        VendorKind::Segment => Arc::new(segment::Segment::new(target)?),
        VendorKind::Hightouch => Arc::new(hightouch::Hightouch::new(target)?),
        VendorKind::Amplitude => Arc::new(amplitude::Amplitude::new(target)?),
        VendorKind::Iterable => Arc::new(iterable::Iterable::new(target)?),
        VendorKind::Posthog => Arc::new(posthog::Posthog::new(target)?),
    })
}

/// The supported vendors.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum VendorKind {
    Lytics,
    Mparticle,
    Clevertap,
    Segment,
    Hightouch,
    Amplitude,
    Iterable,
    Posthog,
}

impl VendorKind {
    /// Every vendor, in the order of [`VENDORS`].
    pub const ALL: [VendorKind; 5] = [
        VendorKind::Lytics,
        VendorKind::Mparticle,
        VendorKind::Clevertap,
        VendorKind::Segment,
        VendorKind::Hightouch,
    ];
    /// The vendor's row of [`VENDORS`], which lists them in the enum's order.
    pub fn info(self) -> &'static VendorSpec {
        &VENDORS[self as usize]
    }
    pub fn id(self) -> &'static str {
        self.info().id
    }
    /// The vendor of a facts row (every row is one of [`VENDORS`]).
    pub fn of(spec: &VendorSpec) -> Self {
        Self::from_id(spec.id).expect("every row of VENDORS is a VendorKind")
    }
    /// The vendor whose `--vendor` name is `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }
}

impl fmt::Display for VendorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The row of the vendor named `id` (as a ledger header records it), if there is one.
pub fn spec(id: &str) -> Option<&'static VendorSpec> {
    VENDORS.iter().find(|v| v.id == id)
}

/// How a deleted profile comes back at the vendor named `id`, for reports.
pub fn reingestion_note(id: &str) -> Option<&'static str> {
    spec(id).and_then(|s| s.reingestion)
}

/// The vendor facts, one row each. Used by `vendors`, `plan` and the engine.
pub static VENDORS: &[VendorSpec] = &[
    VendorSpec {
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
    VendorSpec {
        id: "mparticle",
        name: "mParticle",
        api: "POST /userprofile/bulkdelete",
        max_batch: 100,
        // The pacer keeps an exact window of its own admissions, so full batches use the
        // whole quota (15 requests of 100 per second) with 5x fewer requests than 20s.
        default_batch: 100,
        max_batch_documented: true,
        quota: Quota {
            requests: None,
            items: Some(Rate::per_second(1500)),
            in_flight: None,
            documented: true,
        },
        // 15 requests/s of 100: enough in flight to keep the pace at ~2 s latency.
        default_concurrency: 32,
        one_kind_per_request: false,
        id_kinds: "mpid (signed 64-bit, sent as a string) or a unique identity type (--id-type, e.g. customerid, email)",
        credentials: &["MPARTICLE_API_KEY", "MPARTICLE_API_SECRET"],
        default_base_url: "https://s2s.mparticle.com",
        completion: "logical deletion; no status API (verify through the Profile API)",
        caveat: "mParticle's bulk deletion is logical and answers 202 even when no profile matched: verify with `cdp-purge status --ledger LEDGER --verify`. It is not meant for data-subject (GDPR/CCPA) requests: use the DSR API for those.",
        status: StatusSupport::Lookup { by: "mpid" },
        reingestion: None,
        accepted_means: Some(
            "accepted; no status API: a 202 can come back even when nothing matched; prove \
             the deletion with `status --verify` (Profile API lookups)",
        ),
    },
    VendorSpec {
        id: "clevertap",
        name: "CleverTap",
        api: "POST /1/delete/profiles.json",
        max_batch: 100,
        default_batch: 100,
        max_batch_documented: true,
        quota: Quota {
            requests: None,
            items: None,
            in_flight: Some(3),
            documented: true,
        },
        default_concurrency: 3,
        one_kind_per_request: true,
        id_kinds: "identity or guid (--id-type), never both in one request",
        credentials: &["CLEVERTAP_ACCOUNT_ID", "CLEVERTAP_PASSCODE"],
        default_base_url: "https://api.clevertap.com",
        completion: "queued; processed after 24 hours and cannot be undone; no status API",
        caveat: "CleverTap only queued these deletions: it processes them after 24 hours, and once processed they cannot be undone. There is no status API to follow them.",
        status: StatusSupport::None,
        reingestion: None,
        accepted_means: Some(
            "accepted; no status API: CleverTap processes deletions after 24 h, and they \
             cannot be undone",
        ),
    },
    VendorSpec {
        id: "segment",
        name: "Twilio Segment",
        api: "POST /v1/spaces/{space}/collections/users/profiles/user_id:{user_id}/external_ids/delete",
        max_batch: 1,
        default_batch: 1,
        max_batch_documented: true,
        quota: Quota {
            requests: Some(Rate::per_second(100)),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 128,
        one_kind_per_request: true,
        id_kinds: "one external id (--id-type or --id-type-column) per request, found by its profile's user_id (--user-id-column)",
        credentials: &["SEGMENT_TOKEN"],
        default_base_url: "https://profiles.segment.com",
        completion: "synchronous for the identity graph; downstream destinations are not touched",
        caveat: "Segment removed the identifiers from the identity graph only: downstream destinations are not touched, and replaying archived events brings the identifiers back.",
        status: StatusSupport::None,
        reingestion: Some(
            "Segment: replaying events from the Event Archive (or rebuilding the space) \
             reintroduces deleted identifiers; run the deletions again after a replay",
        ),
        accepted_means: Some(
            "accepted; no status API: synchronous for the identity graph (gone on a 200); \
             profile storage follows within minutes, destinations are not touched",
        ),
    },
    VendorSpec {
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
    VendorSpec {
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
        credentials: &["AMPLITUDE_API_KEY", "AMPLITUDE_SECRET_KEY"],
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
    VendorSpec {
        id: "iterable",
        name: "Iterable",
        api: "POST /api/users/forget",
        max_batch: 1,
        default_batch: 1,
        max_batch_documented: true,
        // Iterable's OpenAPI for forget and forgotten: "Rate limit: 3 requests/second, per
        // project".
        quota: Quota {
            requests: Some(Rate::per_second(3)),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 3,
        one_kind_per_request: true,
        id_kinds: "email or user_id (--id-type), as the project type takes: email-based projects forget by email only, userID-based ones by user_id only",
        credentials: &["ITERABLE_API_KEY"],
        default_base_url: "https://api.iterable.com",
        completion: "forgotten within about ten minutes; GET /api/users/forgotten lists the SHA-256 of each forgotten identifier",
        caveat: "Iterable forgets a user within about ten minutes and then refuses data about them. Verify with `cdp-purge status --ledger LEDGER --watch`, which looks for each identifier's SHA-256 in the forgotten list.",
        status: StatusSupport::Jobs,
        reingestion: None,
        accepted_means: None,
    },
    VendorSpec {
        id: "posthog",
        name: "PostHog",
        api: "POST /api/projects/{project_id}/persons/bulk_delete/",
        max_batch: 1000,
        default_batch: 1000,
        max_batch_documented: true,
        // posthog.com/docs/api: persons endpoints allow 240 requests a minute and 1,200 an
        // hour. One window of 20 a minute keeps both (20 x 60 = 1,200).
        quota: Quota {
            requests: Some(Rate {
                count: 20,
                per: Duration::from_secs(60),
            }),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 4,
        one_kind_per_request: true,
        id_kinds: "distinct_id, or id (person UUID) (--id-type)",
        credentials: &["POSTHOG_PERSONAL_API_KEY"],
        default_base_url: "https://us.posthog.com",
        completion: "queued: persons, their events and recordings captured before the request are deleted in the background; no status this tool can follow",
        caveat: "PostHog queued these persons, their events and recordings for deletion: events captured after the request are kept, and reusing a deleted distinct_id is not supported. PostHog's deletion status is keyed by person UUID and tracks events only, so this tool does not follow it.",
        status: StatusSupport::None,
        reingestion: Some(
            "PostHog: events captured after the request are not deleted; stop capturing for \
             these users first",
        ),
        accepted_means: Some(
            "queued; no status API this tool can follow: PostHog deletes the persons in the \
             background (its deletion_status is keyed by person UUID and covers events only)",
        ),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_one_row_with_sane_caps() {
        for k in VendorKind::ALL {
            let info = k.info();
            assert_eq!(VendorKind::from_id(info.id), Some(k));
            assert!(info.default_batch >= 1 && info.default_batch <= info.max_batch);
            assert!(!info.credentials.is_empty());
        }
        assert_eq!(VENDORS.len(), VendorKind::ALL.len());
    }

    #[test]
    fn every_row_paces_within_its_quota() {
        for v in VENDORS {
            cdp_purge_core::engine::limiter::check_row_pacing(
                &v.quota,
                v.default_concurrency,
                v.default_batch,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", v.id));
        }
    }

    #[test]
    fn registry_builds_the_adapter_for_each_vendor() {
        use crate::VendorParams;
        use crate::clevertap::IdKind;
        use crate::mparticle::{Environment, Pod};
        let params = |k: VendorKind| match k {
            VendorKind::Lytics => VendorParams::Lytics {
                table: "user".into(),
                field: "email".into(),
            },
            VendorKind::Mparticle => VendorParams::Mparticle {
                pod: Pod::Us1,
                environment: Environment::Development,
                identity_type: "mpid".into(),
            },
            VendorKind::Clevertap => VendorParams::Clevertap {
                region: "eu1".into(),
                id_kind: IdKind::Guid,
            },
            VendorKind::Segment => VendorParams::Segment {
                region: "us".into(),
                space: "spa_1".into(),
            },
            VendorKind::Hightouch => VendorParams::Hightouch {
                graph: "g".into(),
                block: true,
                path: "/api/v1/idr/{graph}/queue-for-reprocessing".into(),
            },
            VendorKind::Amplitude => VendorParams::Amplitude {
                region: "us".into(),
                requester: None,
            },
            VendorKind::Iterable => VendorParams::Iterable {
                region: "us".into(),
            },
            VendorKind::Posthog => VendorParams::Posthog {
                project: "1".into(),
            },
        };
        for kind in VendorKind::ALL {
            let info = kind.info();
            let mut target = Target {
                name: info.id.into(),
                vendor: kind,
                base_url: info.default_base_url.into(),
                params: params(kind),
                credentials: info
                    .credentials
                    .iter()
                    .map(|&c| (c, Secret::new("x")))
                    .collect(),
                batch_size: info.default_batch,
            };
            let a = adapter(&target).expect("adapter");
            assert_eq!(a.spec().id, info.id);
            assert!(a.endpoint().contains(info.default_base_url));
            let has_status = a.status_request("id").expect("ok").is_some();
            // The row's status support and the adapter's status API agree.
            assert_eq!(has_status, info.status == StatusSupport::Jobs);
            if !has_status {
                assert!(a.parse_status(b"{}").is_err());
            }
            // Every listed credential is required.
            for &c in info.credentials {
                let saved = target.credentials.remove(c).expect("present");
                let err = adapter(&target).err().expect("missing credential");
                assert!(err.to_string().contains(c), "{err}");
                target.credentials.insert(c, saved);
            }
            // Params of another vendor are an internal error, not a panic.
            target.params = params(if kind == VendorKind::Lytics {
                VendorKind::Segment
            } else {
                VendorKind::Lytics
            });
            assert!(adapter(&target).is_err());
        }
    }
}
