//! The vendors the sandbox fakes and the limits it enforces for them.
//!
//! Written from the vendors' own documents (`vendor-apis.md` in the project's shared notes,
//! its source keys in brackets), never imported from the adapters: a fake that shares an
//! adapter's guess cannot catch it. Where a vendor publishes no limit, the sandbox enforces
//! none, whatever conservative default the client chooses.

use std::fmt;
use std::time::Duration;

/// The vendors the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VendorKind {
    Lytics,
    Mparticle,
    Clevertap,
    Segment,
    Hightouch,
    Amplitude,
    Iterable,
    Posthog,
    SegmentRegs,
    Mixpanel,
    Braze,
}

impl VendorKind {
    pub const ALL: [VendorKind; 11] = [
        VendorKind::Lytics,
        VendorKind::Mparticle,
        VendorKind::Clevertap,
        VendorKind::Segment,
        VendorKind::Hightouch,
        VendorKind::Amplitude,
        VendorKind::Iterable,
        VendorKind::Posthog,
        VendorKind::SegmentRegs,
        VendorKind::Mixpanel,
        VendorKind::Braze,
    ];

    /// The lowercase name, as `cdp-purge --vendor` spells it.
    pub fn id(self) -> &'static str {
        match self {
            VendorKind::Lytics => "lytics",
            VendorKind::Mparticle => "mparticle",
            VendorKind::Clevertap => "clevertap",
            VendorKind::Segment => "segment",
            VendorKind::Hightouch => "hightouch",
            VendorKind::Amplitude => "amplitude",
            VendorKind::Iterable => "iterable",
            VendorKind::Posthog => "posthog",
            VendorKind::SegmentRegs => "segment-regs",
            VendorKind::Mixpanel => "mixpanel",
            VendorKind::Braze => "braze",
        }
    }

    /// The limit the vendor documents for the deletion API the sandbox fakes.
    pub fn documented_quota(self) -> Quota {
        match self {
            // [S003] names no rate limit; [LY-SK] api-client.md only says to back off on
            // 429 and 500.
            VendorKind::Lytics => Quota::NONE,
            // [S004] "Rate limit": 1500 profiles per second (100 per request).
            VendorKind::Mparticle => Quota {
                items: Some(Rate::per_second(1500)),
                ..Quota::NONE
            },
            // [CT-LIMIT] per-API table: Delete User Profile, 3 concurrent requests per
            // account, no time-window limit.
            VendorKind::Clevertap => Quota {
                in_flight: Some(3),
                ..Quota::NONE
            },
            // [S001], [SEG-DOC]: 100 deletion requests per second per space; [SEG-PAPI],
            // [SEG-LIM]: Profile API lookups 100 req/s per space, assumed the same budget.
            VendorKind::Segment => Quota {
                requests: Some(Rate::per_second(100)),
                ..Quota::NONE
            },
            // [HT-RL] quoting [HT-GUIDE]: 200 requests per 10 seconds per workspace, for the
            // whole REST API (status polls included).
            VendorKind::Hightouch => Quota {
                requests: Some(Rate {
                    count: 200,
                    per: Duration::from_secs(10),
                }),
                ..Quota::NONE
            },
            // [AMP-PRIV] amplitude/amplitude-docs content/collections/api/en/user-privacy.md,
            // "Limits": "/api/2/deletions/users has a rate limit of 1 HTTP request per
            // second", up to 100 amplitude_ids or user_ids each. One endpoint, so the GET of
            // the job list counts too.
            VendorKind::Amplitude => Quota {
                requests: Some(Rate::per_second(1)),
                ..Quota::NONE
            },
            // [IT-API] Iterable's OpenAPI (api.iterable.com/api/docs, as generated clients
            // carry it): POST /api/users/forget and GET /api/users/forgotten, "Rate limit: 3
            // requests/second, per project". The GDPR article (support.iterable.com
            // 360029174171) states none.
            VendorKind::Iterable => Quota {
                requests: Some(Rate::per_second(3)),
                ..Quota::NONE
            },
            // [PH-RL] posthog.com/docs/api, rate limits: the persons endpoints are in the
            // analytics class, 240 requests/minute and 1,200/hour per team. The minute is
            // this quota; the fake counts the hour beside it (vendors/posthog.rs).
            VendorKind::Posthog => Quota {
                requests: Some(Rate {
                    count: 240,
                    per: Duration::from_secs(60),
                }),
                ..Quota::NONE
            },
            // [SEG-PRIV] segment-docs src/privacy/user-deletion-and-suppression.md: "the
            // deletion manager can only accommodate 110,000 users within a 30-day period";
            // the Public API answers 429 and reports X-Regulation-RateLimit-* headers
            // (segment-public-api DeletionAndSuppressionApi). Counted per workspace.
            VendorKind::SegmentRegs => Quota {
                items: Some(Rate {
                    count: 110_000,
                    per: Duration::from_secs(30 * 86_400),
                }),
                ..Quota::NONE
            },
            // [MP-GDPR] mixpanel/docs reference/GDPR API: "a rate limit of 1 request per
            // second for GDPR APIs" (status checks are GDPR API calls too).
            VendorKind::Mixpanel => Quota {
                requests: Some(Rate::per_second(1)),
                ..Quota::NONE
            },
            // [BRAZE-DEL] braze.com/docs/api/endpoints/user_data/post_user_delete: "a shared
            // rate limit of 20,000 requests per minute", shared with /users/alias/new,
            // /users/identify, /users/merge and /users/alias/update.
            VendorKind::Braze => Quota {
                requests: Some(Rate {
                    count: 20_000,
                    per: Duration::from_secs(60),
                }),
                ..Quota::NONE
            },
        }
    }
}

impl fmt::Display for VendorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// At most `count` events in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub const fn per_second(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(1),
        }
    }
}

/// What the sandbox admits before answering 429. `None`: no such limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests in any window.
    pub requests: Option<Rate>,
    /// Identifiers in any window (mParticle counts profiles, not requests).
    pub items: Option<Rate>,
    /// Requests in flight at once (CleverTap limits this, not a rate).
    pub in_flight: Option<u32>,
}

impl Quota {
    /// No limit at all.
    pub const NONE: Quota = Quota {
        requests: None,
        items: None,
        in_flight: None,
    };
}
