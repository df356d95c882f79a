//! Faults the sandbox injects: what each one does, a seeded random mix, a scripted queue,
//! and the `--faults` spec parser.
//!
//! Every fault says whether the deletion is applied before things go wrong. "Before" faults
//! (a 429, a reset before processing) must make the client retry; "after" faults (the
//! deletion happened, then the response was lost) are what a real network does to a
//! client that retries, and they test that the retry is harmless.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::facts::VendorKind;

/// The `Retry-After` header of an injected 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: N` (delta-seconds).
    Seconds(u64),
    /// An HTTP-date N seconds in the future.
    DateIn(u64),
    /// An HTTP-date one minute in the past (means "retry now").
    PastDate,
    /// A value no parser accepts (`soon-ish`): the client must fall back to its backoff.
    Garbage,
    /// No header at all.
    Absent,
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No fault: handle the request normally (lets a script skip a request).
    Pass,
    /// 429 in the vendor's error shape, not processed.
    TooManyRequests(RetryAfter),
    /// 503, with `Retry-After: N` when given; not processed.
    Unavailable(Option<u64>),
    /// 500; not processed.
    ServerError,
    /// Connection reset (RST) after the request was read, before processing.
    Reset,
    /// The deletion is applied, then the connection is reset instead of answering.
    ResetAfterProcessing,
    /// A 500 whose body is cut short (Content-Length promises more); not processed.
    Truncate,
    /// The deletion is applied; the real response is cut short mid-body.
    TruncateAfterProcessing,
    /// The deletion is applied and the vendor's 2xx comes back with `{}` instead of its
    /// documented body (no Braze `deleted` count, no CleverTap `status`): a proxy or an API
    /// change that drops the fields the client decides by.
    BareSuccess,
    /// The deletion is applied; the response is written one byte per interval.
    SlowDrip(Duration),
    /// Never answer; not processed. The client's timeout must fire.
    Hang,
    /// The deletion is applied, then the server never answers.
    HangAfterProcessing,
    /// Reset this request (not processed) and refuse every connection for the duration.
    Unreachable(Duration),
    /// Answer with this status in the vendor's error shape; not processed. Scripts a vendor
    /// that turns on the client mid-run: credentials revoked (401), a 400 for a batch.
    Status(u16),
}

impl Fault {
    /// Whether the deletion is applied when this fault hits.
    pub fn applies_deletion(self) -> bool {
        matches!(
            self,
            Fault::Pass
                | Fault::ResetAfterProcessing
                | Fault::TruncateAfterProcessing
                | Fault::BareSuccess
                | Fault::SlowDrip(_)
                | Fault::HangAfterProcessing
        )
    }
}

/// The faults a sandbox injects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    /// Random faults: each request draws one number and gets the fault whose cumulative
    /// rate it falls into (rates add up to at most 1; the rest passes).
    pub rates: Vec<(Fault, f64)>,
    /// Seed of the random draw, so a failing run can be replayed.
    pub seed: u64,
    /// Consumed first, in order. An entry with a vendor applies to the next request to
    /// that vendor; an entry without one to the next request to any vendor.
    pub script: Vec<(Option<VendorKind>, Fault)>,
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// A scripted sequence for the next requests to any vendor.
    pub fn script(faults: impl IntoIterator<Item = Fault>) -> Self {
        Self {
            script: faults.into_iter().map(|f| (None, f)).collect(),
            ..Self::default()
        }
    }

    /// Add one random fault at `rate` (0..=1).
    pub fn with_rate(mut self, fault: Fault, rate: f64) -> Self {
        self.rates.push((fault, rate));
        self
    }
}

/// The live state of a [`FaultPlan`]: the remaining script and the random generator.
#[derive(Debug)]
pub(crate) struct FaultSource {
    rates: Vec<(Fault, f64)>,
    rng: fastrand::Rng,
    script: VecDeque<(Option<VendorKind>, Fault)>,
}

impl FaultSource {
    pub(crate) fn new(plan: &FaultPlan) -> Self {
        Self {
            rates: plan.rates.clone(),
            rng: fastrand::Rng::with_seed(plan.seed),
            script: plan.script.iter().copied().collect(),
        }
    }

    pub(crate) fn push(&mut self, vendor: Option<VendorKind>, fault: Fault) {
        self.script.push_back((vendor, fault));
    }

    /// The fault for the next request to `vendor`.
    pub(crate) fn next(&mut self, vendor: VendorKind) -> Fault {
        if let Some(i) = self
            .script
            .iter()
            .position(|(v, _)| v.is_none_or(|v| v == vendor))
        {
            return self.script.remove(i).map_or(Fault::Pass, |(_, f)| f);
        }
        if self.rates.is_empty() {
            return Fault::Pass;
        }
        let mut draw = self.rng.f64();
        for &(fault, rate) in &self.rates {
            if draw < rate {
                return fault;
            }
            draw -= rate;
        }
        Fault::Pass
    }
}

/// A `--faults` spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --faults spec: {0}")]
pub struct FaultSpecError(String);

/// Keys of the `--faults` spec, for the help text and error messages.
pub const FAULT_SPEC_HELP: &str = "\
Faults to inject, as comma-separated KEY=VALUE pairs. Rates are probabilities per request
(0..1, adding up to at most 1). Keys:
  429           429 with Retry-After: <retry-after> seconds
  429-date      429 with Retry-After as an HTTP-date <retry-after> seconds ahead
  429-past      429 with Retry-After as an HTTP-date in the past
  429-garbage   429 with an unparseable Retry-After
  429-bare      429 without Retry-After
  503           503 without Retry-After
  503-ra        503 with Retry-After: <retry-after> seconds
  500           500
  reset         connection reset before processing
  reset-after   deletion applied, then connection reset
  truncate      500 with a body cut short
  truncate-after  deletion applied, response cut mid-body
  bare-2xx      deletion applied, the 2xx answered with `{}` (no documented fields)
  slow          deletion applied, response dripped one byte per <drip>
  hang          never answer (not processed)
  hang-after    deletion applied, never answer
  down          reset, then refuse connections for <down-for>
settings: seed=N, retry-after=SECS (default 1), drip=DURATION (default 100ms),
  down-for=DURATION (default 2s)
example: 429=0.1,503=0.05,reset=0.02,truncate=0.01,hang=0.01,seed=7";

impl FromStr for FaultPlan {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |m: String| FaultSpecError(m);
        let mut seed = 0;
        let mut retry_after = 1;
        let mut drip = Duration::from_millis(100);
        let mut down_for = Duration::from_secs(2);
        let mut rates: Vec<(&str, f64)> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| err(format!("`{part}` is not KEY=VALUE")))?;
            let (key, value) = (key.trim(), value.trim());
            let duration = || {
                parse_duration(value)
                    .map_err(|e| err(format!("`{key}`: `{value}` is not a duration: {e}")))
            };
            match key {
                "seed" => {
                    seed = value
                        .parse()
                        .map_err(|_| err(format!("seed must be an integer, got `{value}`")))?;
                }
                "retry-after" | "retry_after" => {
                    retry_after = value.parse().map_err(|_| {
                        err(format!("retry-after must be whole seconds, got `{value}`"))
                    })?;
                }
                "drip" => drip = duration()?,
                "down-for" | "down_for" => down_for = duration()?,
                _ if fault_for(key, 0, drip, down_for).is_some() => {
                    let rate: f64 = value.parse().map_err(|_| {
                        err(format!(
                            "the rate of `{key}` must be a number, got `{value}`"
                        ))
                    })?;
                    if !(0.0..=1.0).contains(&rate) {
                        return Err(err(format!(
                            "the rate of `{key}` must be between 0 and 1, got {rate}"
                        )));
                    }
                    if rates.iter().any(|(k, _)| *k == key) {
                        return Err(err(format!("`{key}` is given twice")));
                    }
                    rates.push((key, rate));
                }
                _ => {
                    return Err(err(format!(
                        "unknown key `{key}`; expected one of 429, 429-date, 429-past, \
                         429-garbage, 429-bare, 503, 503-ra, 500, reset, reset-after, truncate, \
                         truncate-after, bare-2xx, slow, hang, hang-after, down, seed, retry-after, \
                         drip, down-for"
                    )));
                }
            }
        }
        let total: f64 = rates.iter().map(|(_, r)| r).sum();
        if total > 1.0 + 1e-9 {
            return Err(err(format!(
                "the fault rates add up to {total}; they must not exceed 1"
            )));
        }
        // Settings may come after the rates they modify, so build the faults last.
        let rates = rates
            .into_iter()
            .map(|(k, r)| {
                let fault = fault_for(k, retry_after, drip, down_for).expect("checked above");
                (fault, r)
            })
            .collect();
        Ok(FaultPlan {
            rates,
            seed,
            script: Vec::new(),
        })
    }
}

/// A duration as the CLI takes one: seconds as a plain number (`0.5`) or humantime
/// (`500ms`, `2s`).
fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err("a duration must be a non-negative number".into());
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 2m, 500ms)"))
}

fn fault_for(key: &str, retry_after: u64, drip: Duration, down_for: Duration) -> Option<Fault> {
    Some(match key {
        "429" => Fault::TooManyRequests(RetryAfter::Seconds(retry_after)),
        "429-date" => Fault::TooManyRequests(RetryAfter::DateIn(retry_after)),
        "429-past" => Fault::TooManyRequests(RetryAfter::PastDate),
        "429-garbage" => Fault::TooManyRequests(RetryAfter::Garbage),
        "429-bare" => Fault::TooManyRequests(RetryAfter::Absent),
        "503" => Fault::Unavailable(None),
        "503-ra" => Fault::Unavailable(Some(retry_after)),
        "500" => Fault::ServerError,
        "reset" => Fault::Reset,
        "reset-after" => Fault::ResetAfterProcessing,
        "truncate" => Fault::Truncate,
        "truncate-after" => Fault::TruncateAfterProcessing,
        "bare-2xx" => Fault::BareSuccess,
        "slow" => Fault::SlowDrip(drip),
        "hang" => Fault::Hang,
        "hang-after" => Fault::HangAfterProcessing,
        "down" => Fault::Unreachable(down_for),
        _ => return None,
    })
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Pass => f.write_str("none"),
            Fault::TooManyRequests(ra) => write!(f, "429 ({ra:?})"),
            Fault::Unavailable(Some(s)) => write!(f, "503 (Retry-After {s})"),
            Fault::Unavailable(None) => f.write_str("503"),
            Fault::ServerError => f.write_str("500"),
            Fault::Reset => f.write_str("reset"),
            Fault::ResetAfterProcessing => f.write_str("reset after processing"),
            Fault::Truncate => f.write_str("truncated 500"),
            Fault::TruncateAfterProcessing => f.write_str("truncated after processing"),
            Fault::BareSuccess => f.write_str("2xx without its documented body"),
            Fault::SlowDrip(d) => write!(f, "slow drip ({d:?}/byte)"),
            Fault::Hang => f.write_str("hang"),
            Fault::HangAfterProcessing => f.write_str("hang after processing"),
            Fault::Unreachable(d) => write!(f, "unreachable for {d:?}"),
            Fault::Status(s) => write!(f, "status {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let plan: FaultPlan = "429=0.1,503=0.05,reset=0.02,truncate=0.01,hang=0.01,seed=7"
            .parse()
            .unwrap();
        assert_eq!(plan.seed, 7);
        assert_eq!(
            plan.rates,
            vec![
                (Fault::TooManyRequests(RetryAfter::Seconds(1)), 0.1),
                (Fault::Unavailable(None), 0.05),
                (Fault::Reset, 0.02),
                (Fault::Truncate, 0.01),
                (Fault::Hang, 0.01),
            ]
        );
    }

    #[test]
    fn settings_apply_wherever_they_appear() {
        let plan: FaultPlan =
            " 429-date = 0.5 , retry-after=3, down=0.1, down-for=500ms, slow=0.1, drip=1s"
                .parse()
                .unwrap();
        assert_eq!(
            plan.rates,
            vec![
                (Fault::TooManyRequests(RetryAfter::DateIn(3)), 0.5),
                (Fault::Unreachable(Duration::from_millis(500)), 0.1),
                (Fault::SlowDrip(Duration::from_secs(1)), 0.1),
            ]
        );
        assert_eq!("".parse::<FaultPlan>().unwrap(), FaultPlan::none());
    }

    #[test]
    fn rejects_bad_specs_with_a_clear_message() {
        let msg = |s: &str| s.parse::<FaultPlan>().unwrap_err().to_string();
        assert!(msg("429").contains("`429` is not KEY=VALUE"));
        assert!(msg("teapot=0.1").contains("unknown key `teapot`"));
        assert!(msg("429=lots").contains("the rate of `429` must be a number"));
        assert!(msg("429=1.5").contains("between 0 and 1"));
        assert!(msg("429=0.6,503=0.6").contains("add up to"));
        assert!(msg("429=0.1,429=0.2").contains("given twice"));
        assert!(msg("seed=x").contains("seed must be an integer"));
        assert!(msg("drip=fast").contains("not a duration"));
        assert!(msg("teapot=1").starts_with("invalid --faults spec: "));
    }

    #[test]
    fn the_script_comes_first_and_respects_vendors() {
        let mut plan = FaultPlan::script([Fault::Reset]);
        plan.script
            .insert(0, (Some(VendorKind::Segment), Fault::Hang));
        let mut src = FaultSource::new(&plan);
        assert_eq!(src.next(VendorKind::Lytics), Fault::Reset);
        assert_eq!(src.next(VendorKind::Lytics), Fault::Pass);
        assert_eq!(src.next(VendorKind::Segment), Fault::Hang);
        assert_eq!(src.next(VendorKind::Segment), Fault::Pass);
    }

    #[test]
    fn random_faults_follow_the_rates_and_the_seed() {
        let plan = FaultPlan {
            seed: 9,
            ..FaultPlan::none()
        }
        .with_rate(Fault::ServerError, 0.25);
        let draws = |plan: &FaultPlan| {
            let mut src = FaultSource::new(plan);
            (0..4000)
                .map(|_| src.next(VendorKind::Mparticle))
                .collect::<Vec<_>>()
        };
        let a = draws(&plan);
        assert_eq!(a, draws(&plan), "same seed, same faults");
        let hits = a.iter().filter(|f| **f == Fault::ServerError).count();
        assert!((850..1150).contains(&hits), "{hits} of 4000 at rate 0.25");
    }

    #[test]
    fn durations_are_seconds_or_humantime() {
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("NaN").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
