//! Vendors: the facts table and the registry of adapters.
//!
//! An adapter is data plus two functions: build a request from a batch, and classify a
//! response into per-item outcomes (the [`Adapter`] trait of [`crate::protocol`]). Pacing,
//! retries, the ledger and progress live in the engine. Adding a vendor touches one file
//! here and one row of [`VENDORS`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

// The protocol's names, for the adapters (and their callers) that know them from here.
pub use crate::protocol::*;

pub mod braze;
pub mod clevertap;
pub mod hightouch;
pub mod lytics;
pub mod mixpanel;
pub mod mparticle;
pub mod mparticle_lookup;
pub mod params;
pub mod segment;
pub mod segment_regs;
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
        VendorKind::SegmentRegs => Arc::new(segment_regs::SegmentRegs::new(target)?),
        VendorKind::Mixpanel => Arc::new(mixpanel::Mixpanel::new(target)?),
        VendorKind::Braze => Arc::new(braze::Braze::new(target)?),
    })
}

/// The supported vendors.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum VendorKind {
    Lytics,
    Mparticle,
    Clevertap,
    Segment,
    Hightouch,
    #[serde(rename = "segment-regs")]
    #[value(name = "segment-regs")]
    SegmentRegs,
    Mixpanel,
    Braze,
}

impl VendorKind {
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
        use clap::ValueEnum;
        Self::value_variants()
            .iter()
            .copied()
            .find(|k| k.id() == id)
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
        id: "segment-regs",
        name: "Twilio Segment regulations",
        api: "POST /regulations (or /regulations/sources/{source})",
        // segment-docs user-deletion-and-suppression.md: "up to 5000 userIds per call".
        max_batch: 5000,
        default_batch: 5000,
        max_batch_documented: true,
        // Same page: the deletion manager takes 110,000 users per 30 days per workspace; the
        // Public API answers 429 beyond (X-Regulation-RateLimit-* headers). Planned from the
        // ledger before a run (ledger::window).
        quota: Quota {
            requests: None,
            items: Some(Rate {
                count: 110_000,
                per: Duration::from_secs(30 * 86_400),
            }),
            in_flight: None,
            documented: true,
        },
        default_concurrency: 2,
        one_kind_per_request: true,
        id_kinds: "userId only (subjectType USER_ID); --regulation-type picks SUPPRESS_WITH_DELETE (default), DELETE_ONLY, ...",
        credentials: &["SEGMENT_PUBLIC_API_TOKEN"],
        default_base_url: "https://api.segmentapis.com",
        completion: "asynchronous, up to 30 days; poll GET /regulations/{regulateId} until overallStatus FINISHED",
        caveat: "Segment regulations run for up to 30 days: follow them with `cdp-purge status --ledger LEDGER --watch`. Segment forwards deletions to a fixed list of destinations and cannot guarantee them there: delete from those tools too (Braze, Amplitude, Mixpanel, ...).",
        status: StatusSupport::Jobs,
        reingestion: Some(
            "Segment: with SUPPRESS_WITH_DELETE new events for these userIds are blocked; \
             with DELETE_ONLY they are collected again",
        ),
        accepted_means: None,
    },
    VendorSpec {
        id: "mixpanel",
        name: "Mixpanel",
        api: "POST /api/app/data-deletions/v3.0/?token={project_token}",
        // mixpanel/docs reference/GDPR API: "up to 1999 distinct IDs" for a deletion task
        // (fewer with data groups: --data-groups).
        max_batch: 1999,
        default_batch: 1999,
        max_batch_documented: true,
        // Same page: "a rate limit of 1 request per second for GDPR APIs".
        quota: Quota {
            requests: Some(Rate::per_second(1)),
            items: None,
            in_flight: None,
            documented: true,
        },
        // One at a time: at 1 request/s a second request in flight only bunches arrivals
        // into 429s (rudder-transformer #5578 learnt the same).
        default_concurrency: 1,
        one_kind_per_request: true,
        id_kinds: "distinct_id only",
        credentials: &["MIXPANEL_GDPR_TOKEN", "MIXPANEL_PROJECT_TOKEN"],
        default_base_url: "https://mixpanel.com",
        completion: "asynchronous, up to 30 days; poll GET /data-deletions/v3.0/{task_id} until SUCCESS",
        caveat: "Mixpanel deletion tasks take up to 30 days: follow them with `cdp-purge status --ledger LEDGER --watch` (status checks share the 1 request/s limit).",
        status: StatusSupport::Jobs,
        reingestion: Some(
            "Mixpanel: events sent later for a deleted distinct_id create it again; stop \
             tracking the user first",
        ),
        accepted_means: None,
    },
    VendorSpec {
        id: "braze",
        name: "Braze",
        api: "POST /users/delete",
        // braze.com/docs/api/endpoints/user_data/post_user_delete: up to 50 identifiers of
        // one type per request.
        max_batch: 50,
        default_batch: 50,
        max_batch_documented: true,
        // Same page: 20,000 requests per minute, shared with /users/alias/new,
        // /users/identify, /users/merge and /users/alias/update.
        quota: Quota {
            requests: Some(Rate {
                count: 20_000,
                per: Duration::from_secs(60),
            }),
            items: None,
            in_flight: None,
            documented: true,
        },
        default_concurrency: 64,
        one_kind_per_request: true,
        id_kinds: "external_id, braze_id, email, phone or user_alias (with --alias-label) (--id-type), one type per request",
        credentials: &["BRAZE_API_KEY"],
        default_base_url: "https://rest.iad-01.braze.com",
        completion: "queued; cannot be undone; no status API",
        caveat: "Braze deletions cannot be undone and Braze offers no status API. Its answer counts the profiles deleted, not which: identifiers of a request that deleted fewer than it carried are reported as ambiguous (not_found), never as deleted. The 20,000 requests a minute are shared with other Braze user endpoints.",
        status: StatusSupport::None,
        reingestion: Some(
            "Braze: a later /users/track or SDK session for the identifier creates a new \
             profile; stop sending it first",
        ),
        accepted_means: Some(
            "queued for deletion (Braze's `deleted` count covered it); no status API, and \
             deletion cannot be undone",
        ),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_one_row_with_sane_caps() {
        use clap::ValueEnum;
        for k in VendorKind::value_variants() {
            let info = k.info();
            let name = k.to_possible_value().expect("listed");
            assert_eq!(info.id, name.get_name());
            assert!(info.default_batch >= 1 && info.default_batch <= info.max_batch);
            assert!(!info.credentials.is_empty());
        }
        assert_eq!(VENDORS.len(), VendorKind::value_variants().len());
    }

    #[test]
    fn every_row_paces_within_its_quota() {
        for v in VENDORS {
            crate::engine::limiter::check_row_pacing(
                &v.quota,
                v.default_concurrency,
                v.default_batch,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", v.id));
        }
    }

    #[test]
    fn registry_builds_the_adapter_for_each_vendor() {
        use crate::vendor::VendorParams;
        use crate::vendor::clevertap::IdKind;
        use crate::vendor::mparticle::{Environment, Pod};
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
            VendorKind::SegmentRegs => VendorParams::SegmentRegs {
                region: "us".into(),
                source: None,
                regulation: "SUPPRESS_WITH_DELETE".into(),
            },
            VendorKind::Mixpanel => VendorParams::Mixpanel {
                region: "us".into(),
                compliance: "GDPR".into(),
                data_groups: 0,
            },
            VendorKind::Braze => VendorParams::Braze {
                instance: "iad-01".into(),
                alias_label: None,
            },
        };
        use clap::ValueEnum;
        for &kind in VendorKind::value_variants() {
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
