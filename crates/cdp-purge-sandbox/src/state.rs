//! State shared by every connection: configuration, quotas, the request log, vendor data.
//!
//! Plain `std` mutexes: every critical section is short and none spans an `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::faults::FaultSource;
use super::quota::{Competing, SlidingWindow};
use super::vendors::{
    amplitude, braze, clevertap, hightouch, iterable, lytics, mixpanel, mparticle, posthog,
    segment, segment_regs,
};
use super::{RequestRecord, SandboxConfig};
use crate::facts::VendorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Unit {
    Requests,
    Items,
}

pub(crate) struct Shared {
    pub cfg: SandboxConfig,
    pub faults: Mutex<FaultSource>,
    pub log: Mutex<Vec<RequestRecord>>,
    /// Sliding windows by (vendor, scope such as a Segment space, unit).
    windows: Mutex<HashMap<(VendorKind, String, Unit), SlidingWindow>>,
    /// Another caller's load on every quota window, as rate changes (oldest first).
    competing: Mutex<Vec<Competing>>,
    in_flight: Mutex<HashMap<VendorKind, Arc<AtomicU32>>>,
    ids: Mutex<fastrand::Rng>,
    pub lytics: Mutex<lytics::State>,
    pub segment: Mutex<segment::State>,
    pub mparticle: Mutex<mparticle::State>,
    pub clevertap: Mutex<clevertap::State>,
    pub hightouch: Mutex<hightouch::State>,
    pub amplitude: Mutex<amplitude::State>,
    pub iterable: Mutex<iterable::State>,
    pub posthog: Mutex<posthog::State>,
    /// How far [`Shared::now`] runs ahead of real time.
    clock_offset: Mutex<Duration>,
    pub segment_regs: Mutex<segment_regs::State>,
    pub mixpanel: Mutex<mixpanel::State>,
    pub braze: Mutex<braze::State>,
    down_until: Mutex<Option<Instant>>,
    /// Wakes the accept loop to close the listener.
    pub down: tokio::sync::Notify,
}

impl Shared {
    pub fn new(cfg: SandboxConfig) -> Self {
        let now = Instant::now();
        let mut competing = Vec::new();
        if let Some(c) = cfg.competing {
            competing.push(Competing {
                since: now,
                rate: c.rate,
            });
            if let Some(d) = c.stop_after {
                competing.push(Competing {
                    since: now + d,
                    rate: 0.0,
                });
            }
        }
        Self {
            competing: Mutex::new(competing),
            faults: Mutex::new(FaultSource::new(&cfg.faults)),
            ids: Mutex::new(fastrand::Rng::with_seed(cfg.faults.seed ^ 0x5eed)),
            cfg,
            log: Mutex::default(),
            windows: Mutex::default(),
            in_flight: Mutex::default(),
            lytics: Mutex::default(),
            segment: Mutex::default(),
            mparticle: Mutex::default(),
            clevertap: Mutex::default(),
            hightouch: Mutex::default(),
            amplitude: Mutex::new(amplitude::State::new()),
            iterable: Mutex::default(),
            posthog: Mutex::default(),
            clock_offset: Mutex::default(),
            segment_regs: Mutex::default(),
            mixpanel: Mutex::default(),
            braze: Mutex::default(),
            down_until: Mutex::default(),
            down: tokio::sync::Notify::new(),
        }
    }

    /// Admit one request carrying `items` identifiers against the vendor's request and
    /// item quotas, both or neither. `scope` separates independent budgets (Segment counts
    /// per space).
    pub fn admit(&self, vendor: VendorKind, scope: &str, items: usize) -> bool {
        if !self.cfg.enforce_quota {
            return true;
        }
        let quota = self.cfg.quota(vendor);
        let competing = self.competing.lock().expect("competing lock").clone();
        // A competitor plays its ticks on the real clock: the offset applies without one.
        let now = if competing.is_empty() {
            self.now()
        } else {
            Instant::now()
        };
        let mut windows = self.windows.lock().expect("quota lock");
        let checks = [
            (Unit::Requests, quota.requests, 1),
            (Unit::Items, quota.items, items as u64),
        ];
        for (unit, rate, weight) in checks {
            let Some(rate) = rate else { continue };
            let w = windows
                .entry((vendor, scope.to_owned(), unit))
                .or_insert_with(|| {
                    let w = SlidingWindow::new(rate.count, rate.per);
                    if competing.is_empty() {
                        w
                    } else {
                        w.with_competitor(now, &competing)
                    }
                });
            w.catch_up(now, &competing);
            if !w.fits(now, weight) {
                return false;
            }
        }
        for (unit, rate, weight) in checks {
            if rate.is_some()
                && let Some(w) = windows.get_mut(&(vendor, scope.to_owned(), unit))
            {
                w.admit(now, weight);
            }
        }
        true
    }

    /// The vendors' clock: real time plus whatever [`Shared::advance`] added.
    pub fn now(&self) -> Instant {
        Instant::now() + *self.clock_offset.lock().expect("clock lock")
    }

    pub fn advance(&self, d: Duration) {
        *self.clock_offset.lock().expect("clock lock") += d;
    }

    /// The wall-clock counterpart of [`Shared::now`].
    pub fn wall(&self) -> std::time::SystemTime {
        std::time::SystemTime::now() + *self.clock_offset.lock().expect("clock lock")
    }

    /// Units of `vendor`'s item (or request) quota used in the window ending now, and when
    /// the oldest of them leaves it: what the vendors' rate-limit headers report.
    pub fn window_use(
        &self,
        vendor: VendorKind,
        scope: &str,
        items: bool,
    ) -> Option<(u64, Option<Instant>)> {
        let now = self.now();
        let unit = if items { Unit::Items } else { Unit::Requests };
        let mut windows = self.windows.lock().expect("quota lock");
        let w = windows.get_mut(&(vendor, scope.to_owned(), unit))?;
        Some((w.in_window(now), w.oldest().map(|t| t + w.window())))
    }

    /// Bring deleted profiles back (see [`crate::Sandbox::recreate`]).
    pub fn recreate(&self, vendor: VendorKind, values: &[&str]) -> usize {
        match vendor {
            VendorKind::Mparticle => self
                .mparticle
                .lock()
                .expect("mparticle lock")
                .recreate(values),
            VendorKind::Segment => self.segment.lock().expect("segment lock").recreate(values),
            VendorKind::Clevertap => self
                .clevertap
                .lock()
                .expect("clevertap lock")
                .recreate(values),
            _ => 0,
        }
    }

    /// From now on another caller takes `rate` units per second of every quota window.
    pub fn set_competing(&self, rate: f64) {
        self.competing
            .lock()
            .expect("competing lock")
            .push(Competing {
                since: Instant::now(),
                rate,
            });
    }

    /// Units the other caller got through, summed over every quota window.
    pub fn competitor_taken(&self) -> u64 {
        let competing = self.competing.lock().expect("competing lock").clone();
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("quota lock");
        windows
            .values_mut()
            .map(|w| {
                w.catch_up(now, &competing);
                w.competitor_taken()
            })
            .sum()
    }

    /// Count a request in flight; `None` when the vendor's concurrency cap is reached.
    pub fn enter(&self, vendor: VendorKind) -> Option<InFlight> {
        let counter = Arc::clone(
            self.in_flight
                .lock()
                .expect("in-flight lock")
                .entry(vendor)
                .or_default(),
        );
        let limit = match self.cfg.quota(vendor).in_flight {
            Some(n) if self.cfg.enforce_quota => n,
            _ => u32::MAX,
        };
        let mut current = counter.load(Ordering::Acquire);
        loop {
            if current >= limit {
                return None;
            }
            match counter.compare_exchange(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(InFlight(counter)),
                Err(seen) => current = seen,
            }
        }
    }

    /// A fresh UUID-shaped ID (deterministic for a given fault seed).
    pub fn new_id(&self) -> String {
        let mut rng = self.ids.lock().expect("id lock");
        let (a, b) = (rng.u64(..), rng.u64(..));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    pub fn record(&self, rec: RequestRecord) {
        // `-v` on `cdp-purge sandbox`. Never the path or the values: a path can hold an
        // identifier (a Segment user id, an MPID).
        tracing::info!(
            "sandbox: {} {} -> {} ({} identifiers{})",
            rec.vendor
                .map_or("unknown path".to_owned(), |v| v.to_string()),
            rec.method,
            rec.status.map_or("no answer".to_owned(), |s| s.to_string()),
            rec.items,
            rec.fault
                .as_ref()
                .map_or(String::new(), |f| format!(", fault {f}"))
        );
        self.log.lock().expect("log lock").push(rec);
    }

    pub fn go_down(&self, d: Duration) {
        *self.down_until.lock().expect("down lock") = Some(Instant::now() + d);
        self.down.notify_one();
    }

    /// When the outage ends, if one is in progress.
    pub fn down_until(&self) -> Option<Instant> {
        let mut until = self.down_until.lock().expect("down lock");
        match *until {
            Some(t) if t > Instant::now() => Some(t),
            _ => {
                *until = None;
                None
            }
        }
    }
}

/// A request counted in flight until dropped.
pub(crate) struct InFlight(Arc<AtomicU32>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
