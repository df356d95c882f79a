//! Quotas over long windows (Segment regulations: 110,000 users per 30 days) are planned
//! from the ledger, not discovered by a 429 half-way through: a run's own pacer only sees
//! its own requests, and the window reaches back into earlier runs. This module reads what
//! earlier runs sent to a vendor (every `sent` attempt, with its time and size) and decides
//! before anything is sent whether this run fits, and if not, when it will.

use std::collections::HashMap;
use std::io::Read;
use std::time::{Duration, SystemTime};

use super::Phase;
use super::resume::Scan;
use crate::audit::verify;
use crate::batch::BatchHash;
use crate::protocol::Rate;

/// Windows at least this long are planned from the ledger's history; shorter ones are
/// the pacer's business (a run outlasts them).
pub const LONG_WINDOW: Duration = Duration::from_secs(3600);

/// One request an earlier run sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub at: SystemTime,
    pub items: u64,
}

#[derive(serde::Deserialize)]
struct Line {
    #[serde(rename = "type")]
    record_type: Option<String>,
    run_id: Option<String>,
    phase: Option<Phase>,
    batch: Option<BatchHash>,
    attempt: Option<u32>,
    items: Option<u64>,
    sent_at: Option<String>,
    status: Option<u16>,
}

/// Every request the ledger's runs to `vendor` at `origin` sent at or after `since`. A
/// request the vendor refused with a 4xx (429 included) did not count against its quota and
/// is left out; one that got no answer, or any other, may have, and is counted.
pub fn sent_since(
    r: impl Read,
    scan: &Scan,
    vendor: &str,
    origin: &str,
    since: SystemTime,
) -> std::io::Result<Vec<Sent>> {
    let runs: std::collections::HashSet<&str> = scan
        .runs
        .iter()
        .filter(|run| {
            run.destination
                .as_ref()
                .is_some_and(|d| d.vendor == vendor && d.origin == origin)
        })
        .map(|run| run.run_id.as_str())
        .collect();
    let mut sent: HashMap<(String, BatchHash, u32), Sent> = HashMap::new();
    verify::for_each_line(r, |_, line, _| {
        let Ok(l) = serde_json::from_slice::<Line>(line) else {
            return Ok(true);
        };
        if l.record_type.as_deref() != Some("attempt") {
            return Ok(true);
        }
        let (Some(run), Some(batch), Some(attempt)) = (l.run_id, l.batch, l.attempt) else {
            return Ok(true);
        };
        if !runs.contains(run.as_str()) {
            return Ok(true);
        }
        let key = (run, batch, attempt);
        match l.phase {
            Some(Phase::Sent) => {
                let at = l
                    .sent_at
                    .as_deref()
                    .and_then(|s| humantime::parse_rfc3339_weak(s).ok());
                if let (Some(at), Some(items)) = (at, l.items)
                    && at >= since
                {
                    sent.insert(key, Sent { at, items });
                }
            }
            Some(Phase::Result) if l.status.is_some_and(|s| (400..500).contains(&s)) => {
                sent.remove(&key);
            }
            _ => {}
        }
        Ok(true)
    })?;
    let mut out: Vec<Sent> = sent.into_values().collect();
    out.sort_by_key(|s| s.at);
    Ok(out)
}

/// Whether `planned` more units fit in `quota` after `history`, at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowPlan {
    pub quota: Rate,
    /// Units the ledger shows inside the window ending now.
    pub used: u64,
    pub planned: u64,
    /// `None` when the run fits now; else when enough of the history has left the window
    /// for it to fit (`None` inside [`Verdict::Never`]).
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Fits,
    /// It fits from this instant on (when the oldest sends leave the window).
    FitsAt(SystemTime),
    /// More than the whole quota: it never fits in one window.
    Never,
}

/// Plan `planned` units against `quota` given what was sent (`history`, any order).
pub fn plan(history: &[Sent], planned: u64, quota: Rate, now: SystemTime) -> WindowPlan {
    let start = now.checked_sub(quota.per).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut inside: Vec<Sent> = history
        .iter()
        .copied()
        .filter(|s| s.at > start && s.at <= now)
        .collect();
    inside.sort_by_key(|s| s.at);
    let used: u64 = inside.iter().map(|s| s.items).sum();
    let count = u64::from(quota.count);
    let verdict = if planned > count {
        Verdict::Never
    } else if used + planned <= count {
        Verdict::Fits
    } else {
        // The oldest sends leave first; once enough have, the run fits.
        let mut excess = used + planned - count;
        let mut at = now;
        for s in &inside {
            at = s.at + quota.per;
            excess = excess.saturating_sub(s.items);
            if excess == 0 {
                break;
            }
        }
        Verdict::FitsAt(at)
    };
    WindowPlan {
        quota,
        used,
        planned,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn regs() -> Rate {
        Rate {
            count: 110_000,
            per: DAY * 30,
        }
    }

    #[test]
    fn a_run_that_fits_is_let_through() {
        let now = SystemTime::UNIX_EPOCH + DAY * 100;
        let h = [Sent {
            at: now - DAY * 3,
            items: 100_000,
        }];
        let p = plan(&h, 10_000, regs(), now);
        assert_eq!((p.used, p.verdict), (100_000, Verdict::Fits));
    }

    #[test]
    fn a_run_that_does_not_fit_gets_the_instant_it_will() {
        let now = SystemTime::UNIX_EPOCH + DAY * 100;
        let h = [
            Sent {
                at: now - DAY * 29,
                items: 5_000,
            },
            Sent {
                at: now - DAY * 10,
                items: 100_000,
            },
            // Outside the window: it does not count.
            Sent {
                at: now - DAY * 31,
                items: 100_000,
            },
        ];
        // 105,000 used: 5,001 more does not fit until the 5,000 (day -29) leave ...
        let p = plan(&h, 5_001, regs(), now);
        assert_eq!(p.used, 105_000);
        assert_eq!(p.verdict, Verdict::FitsAt(now + DAY));
        // ... and 10,001 more not until the 100,000 of day -10 leave too.
        let p = plan(&h, 10_001, regs(), now);
        assert_eq!(p.verdict, Verdict::FitsAt(now + DAY * 20));
        assert_eq!(plan(&h, 5_000, regs(), now).verdict, Verdict::Fits);
        assert_eq!(plan(&h, 110_001, regs(), now).verdict, Verdict::Never);
    }
}
