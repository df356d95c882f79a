//! Which groups and jobs `status` looks at: the same pick for the first round and for each
//! later `--watch` round of a bounded selection, and the default bound.

use super::{PROFILE_API_CONCURRENCY, lookup_plan, profile_api_quota};
use crate::audit::View;
use crate::engine::limiter::{self, Overrides};
use crate::status::jobs::{self, Pick, SampleSpec, ValueSource};
use crate::status::obs::Interner;
use crate::status::select::Overlay;
use crate::vendor::mparticle_lookup as mparticle;
use crate::vendor::{self, VendorKind};

/// How long the lookups of one invocation (or `--watch` round) take by default: about
/// half a minute, so that `status` on any ledger ends in about a minute (reading a
/// 5M-job ledger takes some 15 s on top).
const DEFAULT_ROUND: f64 = 30.0;

/// Open jobs looked up per invocation by default: [`DEFAULT_ROUND`] at the pace `status`
/// polls the vendor at (its quota, or `--max-rps`), e.g. 300 for Lytics at 10/s. A vendor
/// limited only by requests in flight (CleverTap) is assumed to answer in ~100 ms.
pub(super) fn default_limit(v: &'static vendor::VendorSpec, p: &crate::cli::PollArgs) -> u64 {
    let (quota, concurrency) = match VendorKind::of(v) {
        VendorKind::Mparticle => (profile_api_quota(), PROFILE_API_CONCURRENCY),
        _ => (v.quota, v.default_concurrency),
    };
    let overrides = Overrides {
        max_rps: p.max_rps,
        max_items_per_sec: None,
        concurrency: p.concurrency,
        max_per_window: None,
    };
    let per_sec = match limiter::resolve(&quota, concurrency, 1, overrides) {
        Ok((l, _)) => l.requests.map_or_else(
            || f64::from(l.concurrency.max(1)) * 10.0,
            |b| b.quota.per_sec(),
        ),
        Err(_) => 10.0,
    };
    ((per_sec * DEFAULT_ROUND).floor() as u64).max(1)
}

/// Picks the groups `status` looks at, the same way for the first round and for each
/// later `--watch` round of a bounded selection.
pub(super) struct Selector<'a> {
    pub view: &'a View,
    pub key: &'a [u8; 32],
    pub base_url: Option<&'a str>,
    pub src: &'a ValueSource<'a>,
    /// `--verify` or `--recheck`: vendors verified by lookups too.
    pub verify: bool,
    pub recheck: bool,
    pub sampling: Option<SampleSpec>,
    pub limit: &'a dyn Fn(&'static vendor::VendorSpec) -> u64,
}

impl Selector<'_> {
    fn pick_of<'b>(&'b self, overlays: &'b [Option<&'b Overlay>]) -> Pick<'b> {
        match (self.recheck, self.sampling) {
            (true, _) => Pick::All,
            (false, Some(s)) => Pick::Sample(s),
            (false, None) => Pick::Open {
                limit: self.limit,
                overlays,
            },
        }
    }

    /// The groups in a fixed order (job groups, then mParticle, Segment, CleverTap), each
    /// with the base URL of its profile lookups (`None` for job groups), and the runs
    /// lookups cannot verify. `overlays[i]`: what this invocation learnt of group `i`.
    #[allow(clippy::type_complexity)]
    pub(super) fn pick(
        &self,
        strings: &mut Interner,
        overlays: &[Option<&Overlay>],
    ) -> anyhow::Result<(Vec<(jobs::Group, Option<String>)>, Vec<String>)> {
        let mut out: Vec<(jobs::Group, Option<String>)> = jobs::job_groups(
            vendor::VENDORS,
            self.view,
            self.base_url,
            strings,
            self.pick_of(overlays),
        )?
        .into_iter()
        .map(|g| (g, None))
        .collect();
        let mut unverifiable = Vec::new();
        if !self.verify {
            return Ok((out, unverifiable));
        }
        for kind in [
            VendorKind::Mparticle,
            VendorKind::Segment,
            VendorKind::Clevertap,
        ] {
            let info = kind.info();
            let Some(first) = self.view.runs.iter().find(|r| r.header.vendor == info.id) else {
                continue;
            };
            let base = match (self.base_url, kind) {
                (Some(b), _) => b.to_owned(),
                (None, VendorKind::Mparticle) => mparticle::DEFAULT_BASE_URL.into(),
                (None, _) => jobs::host_of(&first.header.endpoint)
                    .unwrap_or_else(|| info.default_base_url.to_owned()),
            };
            let plan = lookup_plan(kind);
            let own = [overlays.get(out.len()).copied().flatten()];
            let (group, other) = jobs::lookup_group(
                info,
                self.view,
                self.key,
                &base,
                self.src,
                &plan,
                strings,
                self.pick_of(&own),
            )?;
            unverifiable.extend(other);
            if let Some(g) = group {
                out.push((g, Some(base)));
            }
        }
        Ok((out, unverifiable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn poll(max_rps: Option<f64>) -> crate::cli::PollArgs {
        crate::cli::PollArgs {
            max_rps,
            concurrency: None,
            max_retries: 8,
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }

    fn spec(id: &str) -> &'static vendor::VendorSpec {
        vendor::VENDORS.iter().find(|v| v.id == id).expect(id)
    }

    #[test]
    fn the_default_limit_is_half_a_minute_of_lookups_at_the_polling_pace() {
        // Lytics publishes no limit: the tool's 10/s.
        assert_eq!(default_limit(spec("lytics"), &poll(None)), 300);
        // Hightouch: 200 requests / 10 s.
        assert_eq!(default_limit(spec("hightouch"), &poll(None)), 600);
        // mParticle is verified through the Profile API: 15/s.
        assert_eq!(default_limit(spec("mparticle"), &poll(None)), 450);
        // Segment: 100 requests/s per space.
        assert_eq!(default_limit(spec("segment"), &poll(None)), 3000);
        // --max-rps sets the pace, and so the bound.
        assert_eq!(default_limit(spec("lytics"), &poll(Some(1000.0))), 30_000);
        assert!(default_limit(spec("clevertap"), &poll(None)) >= 1);
    }
}
