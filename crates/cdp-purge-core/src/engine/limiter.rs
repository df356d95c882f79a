//! Pacing: two GCRA budgets (requests/s and items/s) sized so that no sliding window ever
//! carries more than the vendor's quota, plus AIMD when the vendor keeps saying 429.
//!
//! A GCRA limiter with emission rate `r` and burst `b` admits at most `b + r·T` cells in any
//! window of length `T`. For a quota of `Q` per window `W` we therefore pick `b + r·W ≤ Q`.
//! The items budget needs `b ≥` the largest batch (a batch is taken in one go), so for
//! mParticle (1500 items/s, batches of 100) that is `b = 100, r = 1400/s`.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota as GQuota, RateLimiter};

use crate::error::UserError;
use crate::protocol::{Quota, Rate};

/// How much closer together than we sent them requests may arrive at the vendor (network
/// and scheduling jitter); budgets leave this much of the window unused.
pub const ARRIVAL_JITTER: Duration = Duration::from_millis(5);

/// One GCRA budget: `rate` cells per second with a bucket of `burst` cells.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Budget {
    pub rate: f64,
    pub burst: u32,
    /// The quota this budget keeps under (`count` per `per`), for display and the ledger.
    pub quota: Rate,
}

impl Budget {
    /// Largest number of cells a GCRA with this budget admits in any window of `window`.
    pub fn max_in_window(&self, window: Duration) -> f64 {
        f64::from(self.burst) + self.rate * window.as_secs_f64()
    }

    /// Size a budget for a quota: `burst + rate·(per + ARRIVAL_JITTER) ≤ count`, with
    /// `burst ≥ min_burst`.
    /// `None` when the quota is too small to ever admit `min_burst` cells at once.
    ///
    /// Requests (`min_burst` 1) get a burst of 2% of the quota (at least 1), which absorbs a
    /// little scheduling jitter while keeping 98% of the quota as sustained rate. Items get
    /// one batch plus 10 ms of slack: every extra cell of burst is a cell less of sustained
    /// rate, which is why vendors with an item quota default to small batches (`VENDORS`).
    pub fn for_quota(quota: Rate, min_burst: u32) -> Option<Self> {
        let count = quota.count;
        let burst = if min_burst <= 1 {
            (count / 50).max(1)
        } else {
            // A burst of exactly one batch loses, at every admission, however late the
            // waiting task woke up: GCRA cannot bank time beyond its burst. A little slack
            // (10 ms worth at the quota) absorbs that; it comes out of the rate, so
            // rate + burst stays within the quota.
            min_burst.saturating_add((count / 150).max(1))
        };
        if burst >= count {
            return None;
        }
        // The vendor counts arrivals, not our admissions: requests admitted a window apart
        // can arrive a little closer together. Sizing for a window ARRIVAL_JITTER longer
        // than the vendor's keeps `burst + rate * (per + jitter) <= count`.
        let rate = f64::from(count - burst) / (quota.per + ARRIVAL_JITTER).as_secs_f64();
        Some(Self { rate, burst, quota })
    }

    fn governor_quota(&self, factor: f64) -> GQuota {
        let rate = (self.rate * factor).max(0.01);
        let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        GQuota::with_period(period)
            .expect("period is positive")
            .allow_burst(burst)
    }
}

/// The limits a run uses, after defaults and overrides.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Limits {
    pub requests: Option<Budget>,
    pub items: Option<Budget>,
    /// Requests in flight at once.
    pub concurrency: u32,
    /// The vendor limits concurrency (CleverTap): a 429 lowers the in-flight cap, not the rate.
    pub concurrency_limited: bool,
}

/// Overrides from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub max_rps: Option<f64>,
    pub max_items_per_sec: Option<f64>,
    pub concurrency: Option<u32>,
}

/// Work out the effective limits. Returns the limits and warnings for stderr (overrides above
/// a documented quota).
pub fn resolve(
    quota: &Quota,
    default_concurrency: u32,
    batch_size: usize,
    o: Overrides,
) -> anyhow::Result<(Limits, Vec<String>)> {
    let mut warnings = Vec::new();
    let batch = u32::try_from(batch_size).unwrap_or(u32::MAX).max(1);
    let pick = |name: &str,
                flag: &str,
                documented: Option<Rate>,
                over: Option<f64>,
                min_burst: u32,
                warnings: &mut Vec<String>|
     -> anyhow::Result<Option<Budget>> {
        let Some(q) = over.map(per_second_quota).transpose()?.or(documented) else {
            return Ok(None);
        };
        if let (Some(o), Some(d)) = (over, documented)
            && quota.documented
            && o > d.per_sec()
        {
            warnings.push(format!(
                "{flag} {o} is above the vendor's documented quota of {d} {name}; expect 429s"
            ));
        }
        Budget::for_quota(q, min_burst).map(Some).ok_or_else(|| {
            UserError::usage(format!(
                "{flag}: a quota of {q} {name} cannot carry batches of {min_burst}"
            ))
            .with_hint("raise the limit or lower --batch-size")
            .into()
        })
    };
    let requests = pick(
        "requests",
        "--max-rps",
        quota.requests,
        o.max_rps,
        1,
        &mut warnings,
    )?;
    let items = pick(
        "items",
        "--max-items-per-sec",
        quota.items,
        o.max_items_per_sec,
        batch,
        &mut warnings,
    )?;
    let concurrency = match (o.concurrency, quota.in_flight) {
        (Some(0), _) => return Err(UserError::usage("--concurrency must be at least 1").into()),
        (Some(c), Some(max)) if c > max && quota.documented => {
            warnings.push(format!(
                "--concurrency {c} is above the vendor's documented limit of {max} in flight; expect 429s"
            ));
            c
        }
        (Some(c), _) => c,
        (None, _) => default_concurrency.max(1),
    };
    Ok((
        Limits {
            requests,
            items,
            concurrency,
            concurrency_limited: quota.in_flight.is_some(),
        },
        warnings,
    ))
}

/// A `--max-rps`-style number as a quota: N per second, or for N < 1 one per 1/N seconds.
fn per_second_quota(n: f64) -> anyhow::Result<Rate> {
    if !(n.is_finite() && n > 0.0) {
        return Err(UserError::usage(format!("a rate must be a positive number, got {n}")).into());
    }
    if n >= 2.0 {
        Ok(Rate::per_second(n.floor() as u32))
    } else {
        // Two cells per 2/n seconds: a budget of burst 1 and rate n/2 keeps under it.
        Ok(Rate {
            count: 2,
            per: Duration::from_secs_f64(2.0 / n),
        })
    }
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (name, b) in [("requests", self.requests), ("items", self.items)] {
            if let Some(b) = b {
                parts.push(format!(
                    "{name} {}/s burst {} (quota {})",
                    trim_float(b.rate),
                    b.burst,
                    b.quota
                ));
            }
        }
        parts.push(format!("{} in flight", self.concurrency));
        f.write_str(&parts.join(", "))
    }
}

fn trim_float(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Additive-increase / multiplicative-decrease on a rate factor in `[floor, 1]`.
///
/// "Repeated" 429s cut the rate: at least [`Aimd::CUT_THRESHOLD`] of the last 64 responses
/// were 429s, and at most one cut per [`Aimd::DECREASE_WINDOW`] (requests already in flight
/// all get 429 for the same overload). An isolated 429 only pauses: a vendor that
/// throttles one request in ten is not asking for a tenth of the rate, and cutting on each
/// would collapse the rate to the floor.
///
/// Pure state machine over caller-supplied instants, so it is unit-testable without sleeping.
#[derive(Debug, Clone)]
pub struct Aimd {
    factor: f64,
    floor: f64,
    /// The last 64 responses, newest in bit 0; a set bit is a 429.
    recent: u64,
    last_decrease: Option<Instant>,
    last_change: Instant,
}

impl Aimd {
    pub const DECREASE_WINDOW: Duration = Duration::from_secs(1);
    pub const DECREASE: f64 = 0.7;
    /// 429s among the last 64 responses that make a cut (20%).
    pub const CUT_THRESHOLD: u32 = 13;
    /// Every clean interval adds this much (absolute) back, never above 1.
    pub const RECOVER_EVERY: Duration = Duration::from_secs(10);
    pub const RECOVER_STEP: f64 = 0.05;

    pub fn new(now: Instant) -> Self {
        Self {
            factor: 1.0,
            floor: 0.05,
            recent: 0,
            last_decrease: None,
            last_change: now,
        }
    }

    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// A response arrived (`throttled`: it was a 429); returns true when the factor changed.
    pub fn on_response(&mut self, now: Instant, throttled: bool) -> bool {
        self.recent = (self.recent << 1) | u64::from(throttled);
        if !throttled || self.recent.count_ones() < Self::CUT_THRESHOLD {
            return false;
        }
        if let Some(t) = self.last_decrease
            && now.saturating_duration_since(t) < Self::DECREASE_WINDOW
        {
            return false;
        }
        self.last_decrease = Some(now);
        self.last_change = now;
        let before = self.factor;
        self.factor = (self.factor * Self::DECREASE).max(self.floor);
        self.factor != before
    }

    /// Time passed; every clean [`Aimd::RECOVER_EVERY`] since the last change adds
    /// [`Aimd::RECOVER_STEP`]. Returns true when the factor changed.
    pub fn on_tick(&mut self, now: Instant) -> bool {
        if self.factor >= 1.0 {
            self.last_change = now;
            return false;
        }
        let clean = now.saturating_duration_since(self.last_change);
        let steps = (clean.as_secs_f64() / Self::RECOVER_EVERY.as_secs_f64()).floor();
        if steps < 1.0 {
            return false;
        }
        self.factor = (self.factor + Self::RECOVER_STEP * steps).min(1.0);
        self.last_change += Self::RECOVER_EVERY.mul_f64(steps);
        true
    }
}

struct Gates {
    requests: Option<Arc<DefaultDirectRateLimiter>>,
    items: Option<Arc<DefaultDirectRateLimiter>>,
}

/// The shared pacer: every request takes one request cell and `n` item cells first.
pub struct Pacer {
    limits: Limits,
    gates: Mutex<(Gates, Aimd)>,
    /// One waiter at a time, first come first served, so batches leave in the order workers
    /// asked rather than whichever wake-up wins the GCRA (oha-style pacing apart from the
    /// pool). It did not change throughput when measured (41.30 s with and without for the
    /// 60,000-profile pacing run); the 2% that run was missing came from ledger fsyncs and
    /// an exact one-batch burst (see `Budget::for_quota`).
    turn: tokio::sync::Mutex<()>,
}

impl Pacer {
    pub fn new(limits: Limits) -> Self {
        let aimd = Aimd::new(Instant::now());
        let gates = Self::build(&limits, 1.0);
        Self {
            limits,
            gates: Mutex::new((gates, aimd)),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    fn build(limits: &Limits, factor: f64) -> Gates {
        let mk =
            |b: Option<Budget>| b.map(|b| Arc::new(RateLimiter::direct(b.governor_quota(factor))));
        Gates {
            requests: mk(limits.requests),
            items: mk(limits.items),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Current AIMD factor (1.0 = the configured rate).
    pub fn factor(&self) -> f64 {
        self.gates.lock().expect("pacer lock").1.factor()
    }

    /// Wait until one request carrying `items` identifiers may go out.
    pub async fn acquire(&self, items: usize) {
        let _turn = self.turn.lock().await;
        let (req, itm) = {
            let mut g = self.gates.lock().expect("pacer lock");
            let (gates, aimd) = &mut *g;
            if aimd.on_tick(Instant::now()) {
                *gates = Self::build(&self.limits, aimd.factor());
            }
            (gates.requests.clone(), gates.items.clone())
        };
        if let Some(l) = itm {
            let n = u32::try_from(items).unwrap_or(u32::MAX);
            if let Some(n) = NonZeroU32::new(n) {
                // `resolve` guarantees burst ≥ batch size; a bisected half is smaller still.
                let _ = l.until_n_ready(n).await;
            }
        }
        if let Some(l) = req {
            l.until_ready().await;
        }
    }

    /// A response arrived (`throttled`: a 429). Repeated 429s slow the pacer down.
    /// Returns the new factor when it changed.
    pub fn on_response(&self, throttled: bool) -> Option<f64> {
        if self.limits.requests.is_none() && self.limits.items.is_none() {
            return None;
        }
        let mut g = self.gates.lock().expect("pacer lock");
        let (gates, aimd) = &mut *g;
        if aimd.on_response(Instant::now(), throttled) {
            *gates = Self::build(&self.limits, aimd.factor());
            Some(aimd.factor())
        } else {
            None
        }
    }
}

/// Proves on a fake clock that the pacing [`resolve`] gives a vendor row (its quota, default
/// concurrency and batch size) never admits more than the quota in any window, and keeps at
/// least 90% of it. The adapters' registry test runs it for every row: the rows live there,
/// the pacing here.
pub fn check_row_pacing(quota: &Quota, concurrency: u32, batch: usize) -> Result<(), String> {
    let (limits, _) =
        resolve(quota, concurrency, batch, Overrides::default()).map_err(|e| e.to_string())?;
    let take = u32::try_from(batch).map_err(|e| e.to_string())?;
    for (b, take) in [(limits.requests, 1), (limits.items, take)] {
        let Some(b) = b else { continue };
        if b.max_in_window(b.quota.per) > f64::from(b.quota.count) + 1e-9 {
            return Err(format!("{b:?} admits more than the quota in one window"));
        }
        let seen = simulate(&b, take, b.quota.per, b.quota.per * 4);
        if seen > u64::from(b.quota.count) {
            return Err(format!(
                "{seen} cells in one window of {:?}, quota {}",
                b.quota.per, b.quota.count
            ));
        }
        // And it is not needlessly slow.
        if b.rate * b.quota.per.as_secs_f64() < 0.9 * f64::from(b.quota.count) - f64::from(take) {
            return Err(format!("{b:?} keeps less than 90% of the quota"));
        }
    }
    Ok(())
}

/// Drive a governor limiter greedily on a fake clock and return the most cells admitted
/// in any sliding window of `window`.
fn simulate(b: &Budget, cells_per_take: u32, window: Duration, total: Duration) -> u64 {
    use governor::clock::{Clock, FakeRelativeClock, Reference};
    let clock = FakeRelativeClock::default();
    let lim = RateLimiter::direct_with_clock(b.governor_quota(1.0), clock.clone());
    let Some(n) = NonZeroU32::new(cells_per_take) else {
        return 0;
    };
    let start = clock.now();
    let mut admitted: Vec<(Duration, u64)> = Vec::new();
    let step = Duration::from_micros(250);
    while Duration::from(clock.now().duration_since(start)) < total {
        while matches!(lim.check_n(n), Ok(Ok(()))) {
            let t: Duration = clock.now().duration_since(start).into();
            admitted.push((t, u64::from(cells_per_take)));
        }
        clock.advance(step);
    }
    let mut max = 0;
    let mut sum = 0;
    let mut lo = 0;
    for hi in 0..admitted.len() {
        sum += admitted[hi].1;
        // A window of length W holds events with t in (t_hi - W, t_hi].
        while admitted[hi].0 - admitted[lo].0 >= window {
            sum -= admitted[lo].1;
            lo += 1;
        }
        max = max.max(sum);
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quotas the vendors document (vendor-apis.md), written here rather than read from
    /// the adapters' rows: the core knows no vendor.
    fn documented(items: Option<Rate>, requests: Option<Rate>, in_flight: Option<u32>) -> Quota {
        Quota {
            requests,
            items,
            in_flight,
            documented: true,
        }
    }

    #[test]
    fn documented_examples() {
        let mp_quota = documented(Some(Rate::per_second(1500)), None, None);
        // mParticle's default batch of 20 keeps 98% of the item quota; a full batch of 100 93%.
        let (l, _) = resolve(&mp_quota, 96, 20, Overrides::default()).unwrap();
        let items = l.items.unwrap();
        assert_eq!(items.burst, 30);
        assert!((items.rate - 1470.0 / 1.005).abs() < 1e-6, "{}", items.rate);
        assert!(items.max_in_window(Duration::from_secs(1)) <= 1500.0);
        let (l, _) = resolve(&mp_quota, 24, 100, Overrides::default()).unwrap();
        let items = l.items.unwrap();
        assert_eq!(items.burst, 110);
        assert!((items.rate - 1390.0 / 1.005).abs() < 1e-6, "{}", items.rate);
        let seg = documented(None, Some(Rate::per_second(100)), None);
        let (l, _) = resolve(&seg, 128, 1, Overrides::default()).unwrap();
        let r = l.requests.unwrap();
        assert_eq!(r.burst, 2);
        assert!((r.rate - 98.0 / 1.005).abs() < 1e-6, "{}", r.rate);
        assert!(r.max_in_window(Duration::from_secs(1) + ARRIVAL_JITTER) <= 100.0 + 1e-9);
        let ht = documented(
            None,
            Some(Rate {
                count: 200,
                per: Duration::from_secs(10),
            }),
            None,
        );
        let (l, _) = resolve(&ht, 8, 100, Overrides::default()).unwrap();
        let r = l.requests.unwrap();
        assert_eq!(r.burst, 4);
        assert!((r.rate - 196.0 / 10.005).abs() < 1e-9, "{}", r.rate);
        assert!(r.max_in_window(Duration::from_secs(10)) <= 200.0);
        let ct = documented(None, None, Some(3));
        let (l, _) = resolve(&ct, 3, 100, Overrides::default()).unwrap();
        assert!(l.concurrency_limited && l.requests.is_none() && l.items.is_none());
    }

    #[test]
    fn overrides_warn_above_documented_quota_and_reject_impossible_ones() {
        let mp = documented(Some(Rate::per_second(1500)), None, None);
        let o = Overrides {
            max_items_per_sec: Some(3000.0),
            ..Overrides::default()
        };
        let (l, w) = resolve(&mp, 24, 100, o).unwrap();
        assert!((l.items.unwrap().rate - 2880.0 / 1.005).abs() < 1e-6);
        assert_eq!(w.len(), 1);
        let o = Overrides {
            max_items_per_sec: Some(500.0),
            ..Overrides::default()
        };
        let (_, w) = resolve(&mp, 24, 100, o).unwrap();
        assert!(w.is_empty());
        let o = Overrides {
            max_items_per_sec: Some(80.0),
            ..Overrides::default()
        };
        assert!(resolve(&mp, 24, 100, o).is_err());
        let o = Overrides {
            max_rps: Some(0.5),
            ..Overrides::default()
        };
        let (l, _) = resolve(&mp, 24, 100, o).unwrap();
        let r = l.requests.unwrap();
        assert!(r.max_in_window(r.quota.per) <= 2.0 + 1e-9);
    }

    #[test]
    fn aimd_ignores_isolated_429s_cuts_on_repeated_ones_and_recovers_slowly() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut a = Aimd::new(t0);
        // One response in ten throttled, for a long time: pauses, but no cut.
        for i in 0..2000u64 {
            assert!(!a.on_response(ms(i * 10), i % 10 == 0));
        }
        assert_eq!(a.factor(), 1.0);
        // Everything in flight comes back 429: one cut for the burst.
        let mut cuts = 0;
        for i in 0..30u64 {
            cuts += u32::from(a.on_response(ms(30_000 + i), true));
        }
        assert_eq!(cuts, 1);
        assert!((a.factor() - 0.7).abs() < 1e-9);
        // Still throttled a second later: another cut.
        assert!(a.on_response(ms(31_500), true));
        assert!((a.factor() - 0.49).abs() < 1e-9);
        // Not yet 10 clean seconds.
        assert!(!a.on_tick(ms(40_000)));
        assert!(a.on_tick(ms(41_600)));
        assert!((a.factor() - 0.54).abs() < 1e-9);
        // Long quiet: back to 1.0, never above.
        assert!(a.on_tick(t0 + Duration::from_secs(1000)));
        assert_eq!(a.factor(), 1.0);
        assert!(!a.on_tick(t0 + Duration::from_secs(2000)));
        // Never below the floor.
        let mut b = Aimd::new(t0);
        for i in 0..10_000u64 {
            b.on_response(ms(i * 100), true);
        }
        assert!(b.factor() >= 0.05);
    }
}
