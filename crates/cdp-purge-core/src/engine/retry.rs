//! The retry policy: exponential backoff with full jitter, `Retry-After` honoured and clamped,
//! and one knob (`CDP_PURGE_TIME_SCALE`) that shrinks every wait for tests.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Hidden test knob: every backoff, Retry-After and pause delay is multiplied by this.
pub const TIME_SCALE_ENV: &str = "CDP_PURGE_TIME_SCALE";

/// The scale from the environment (1.0 when unset or unparsable).
pub fn time_scale_from_env() -> f64 {
    std::env::var(TIME_SCALE_ENV)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|x| x.is_finite() && *x >= 0.0)
        .unwrap_or(1.0)
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff step (before jitter).
    pub base: Duration,
    /// Longest single wait; also caps `Retry-After`.
    pub max_backoff: Duration,
    /// Multiplier applied to every wait (tests only).
    pub time_scale: f64,
}

impl RetryPolicy {
    pub fn new(max_retries: u32, max_backoff: Duration, time_scale: f64) -> Self {
        Self {
            max_retries,
            base: Duration::from_millis(500),
            max_backoff,
            time_scale,
        }
    }

    /// The exponential ceiling before the `retry`-th retry (1-based), from backon's schedule.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let mut it = ExponentialBuilder::default()
            .with_min_delay(self.base)
            .with_max_delay(self.max_backoff.max(self.base))
            .with_factor(2.0)
            .without_max_times()
            .build();
        it.nth(retry.saturating_sub(1) as usize)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The wait before retry number `retry` (1-based), unscaled. `retry_after` is the vendor's
    /// parsed `Retry-After` (a past date is already zero; garbage is `None` and falls back to
    /// the backoff). `jitter` is a uniform sample in [0, 1) (full jitter).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        match retry_after {
            Some(ra) => ra.min(self.max_backoff),
            None => self.ceiling(retry).mul_f64(jitter.clamp(0.0, 1.0)),
        }
    }

    /// Whether another attempt is allowed after `attempt` attempts.
    pub fn may_retry(&self, attempt: u32) -> bool {
        attempt <= self.max_retries
    }

    /// Apply the test time scale.
    pub fn scaled(&self, d: Duration) -> Duration {
        scale(d, self.time_scale)
    }
}

pub fn scale(d: Duration, factor: f64) -> Duration {
    if factor == 1.0 {
        d
    } else {
        Duration::from_secs_f64((d.as_secs_f64() * factor).clamp(0.0, 1e9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_retry_after;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn p() -> RetryPolicy {
        RetryPolicy::new(8, Duration::from_secs(60), 1.0)
    }

    #[test]
    fn exponential_ceiling_is_capped() {
        let p = p();
        assert_eq!(p.ceiling(1), Duration::from_millis(500));
        assert_eq!(p.ceiling(2), Duration::from_secs(1));
        assert_eq!(p.ceiling(3), Duration::from_secs(2));
        assert_eq!(p.ceiling(20), Duration::from_secs(60));
    }

    #[test]
    fn full_jitter_stays_under_the_ceiling() {
        let p = p();
        assert_eq!(p.delay(3, None, 0.0), Duration::ZERO);
        assert_eq!(p.delay(3, None, 0.5), Duration::from_secs(1));
        assert!(p.delay(3, None, 0.999) < Duration::from_secs(2));
    }

    #[test]
    fn retry_after_is_honoured_clamped_past_and_garbage() {
        let p = RetryPolicy::new(8, Duration::from_secs(10), 1.0);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        // Seconds, under the cap: exactly that, no jitter.
        let ra = parse_retry_after("7", now);
        assert_eq!(p.delay(1, ra, 0.3), Duration::from_secs(7));
        // Far future: clamped to --max-backoff.
        let ra = parse_retry_after("3600", now);
        assert_eq!(p.delay(1, ra, 0.3), Duration::from_secs(10));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(86_400));
        assert_eq!(
            p.delay(1, parse_retry_after(&date, now), 0.3),
            Duration::from_secs(10)
        );
        // A date in the past means now.
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(
            p.delay(4, parse_retry_after(&past, now), 0.9),
            Duration::ZERO
        );
        // Garbage falls back to the policy.
        assert_eq!(parse_retry_after("soon-ish", now), None);
        assert_eq!(p.delay(2, None, 0.5), Duration::from_millis(500));
        let _ = SystemTime::now();
    }

    #[test]
    fn retry_budget_and_scale() {
        let p = RetryPolicy::new(2, Duration::from_secs(60), 0.01);
        assert!(p.may_retry(1) && p.may_retry(2) && !p.may_retry(3));
        assert_eq!(p.scaled(Duration::from_secs(2)), Duration::from_millis(20));
    }
}
