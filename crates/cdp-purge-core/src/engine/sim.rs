//! A discrete-event simulation of a run against a quota, on virtual time: the pacer's own
//! state machine ([`PaceState`]), workers, latency, a vendor that counts every sliding
//! window exactly (the sandbox's [`SlidingWindow`], with another caller on it when asked),
//! retries and pauses as the dispatcher does them. Seconds of traffic in microseconds of
//! test time, with no sleeping.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use super::limiter::Limits;
use super::pace::{Answer, PaceState, Ticket};
use super::share::Reaction;
use cdp_purge_sandbox::{Competing, SlidingWindow};

/// One simulated run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub limits: Limits,
    /// Items per request and how many requests.
    pub batch: usize,
    pub batches: usize,
    /// Time from sending to the vendor's decision (and its answer).
    pub latency: Duration,
    /// From admission to leaving (the intent record's write) ...
    pub intent_write: Duration,
    /// ... plus up to this much more, at random ...
    pub write_spread: Duration,
    /// ... and, every `n`-th request, this much longer (a slow disk, a busy machine).
    pub slow_write: Option<(usize, Duration)>,
    /// Extra delay before a request reaches the vendor, uniform in `[0, jitter)`.
    pub jitter: Duration,
    /// Extra delay before the run's first request reaches the vendor: the new
    /// connection's handshake (the later ones ride it warm).
    pub first_connect: Duration,
    /// Another caller's load: (from, rate) changes in seconds since the start.
    pub competing: Vec<(f64, f64)>,
    /// Share of requests answered 429 regardless of the quota.
    pub random_429: f64,
    /// `Retry-After` on the vendor's 429s, if any.
    pub retry_after: Option<Duration>,
    pub seed: u64,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// From the start to the last answer.
    pub wall: Duration,
    pub requests: usize,
    pub refused: usize,
    pub pauses: usize,
    /// Accepted items and the instant the vendor counted them (seconds since the start).
    pub accepted: Vec<(f64, u64)>,
    /// The most items (or requests) the vendor counted from us in any window.
    pub max_window: u64,
    pub competitor: u64,
    /// When the vendor refused a request (seconds since the start), our usage then, and
    /// what the pacer made of it.
    pub refusals: Vec<(f64, f64, Reaction)>,
}

impl Outcome {
    /// Items per second, start to last answer.
    pub fn rate(&self) -> f64 {
        self.accepted.iter().map(|a| a.1).sum::<u64>() as f64 / self.wall.as_secs_f64()
    }

    /// Accepted items in the window of `len` seconds ending at `t`.
    pub fn in_window(&self, t: f64, len: f64) -> u64 {
        self.accepted
            .iter()
            .filter(|(at, _)| *at > t - len && *at <= t)
            .map(|a| a.1)
            .sum()
    }
}

enum Event {
    /// The vendor decides on a request.
    Arrive { batch: usize, ticket: Ticket },
    /// Its answer reaches the client.
    Answer {
        batch: usize,
        ticket: Ticket,
        accepted: bool,
    },
}

pub fn run(s: &Scenario) -> Outcome {
    let t0 = Instant::now();
    let secs = |t: Instant| t.duration_since(t0).as_secs_f64();
    let mut rng = fastrand::Rng::with_seed(s.seed);
    let mut pace = PaceState::new(&s.limits, t0);
    let (quota, items_unit) = match (s.limits.items, s.limits.requests) {
        (Some(b), _) => (b.quota, true),
        (None, Some(b)) => (b.quota, false),
        (None, None) => panic!("the simulation needs a quota"),
    };
    let schedule: Vec<Competing> = s
        .competing
        .iter()
        .map(|&(from, rate)| Competing {
            since: t0 + Duration::from_secs_f64(from),
            rate,
        })
        .collect();
    let mut vendor = SlidingWindow::new(quota.count, quota.per);
    if !schedule.is_empty() {
        vendor = vendor.with_competitor(t0, &schedule);
    }
    let mut ours = SlidingWindow::new(u32::MAX, quota.per);
    let weight = if items_unit { s.batch as u64 } else { 1 };

    let mut events: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut payloads: std::collections::HashMap<u64, Event> = Default::default();
    let mut seq = 0u64;
    let mut push =
        |events: &mut BinaryHeap<_>, payloads: &mut std::collections::HashMap<_, _>, at, e| {
            seq += 1;
            events.push(Reverse((at, seq)));
            payloads.insert(seq, e);
        };

    // Batches ready to go (index, not before).
    let mut ready: VecDeque<(usize, Instant)> = (0..s.batches).map(|b| (b, t0)).collect();
    let mut in_flight = 0usize;
    let mut done = 0usize;
    let mut paused_until = t0;
    let mut now = t0;
    let mut out = Outcome::default();
    let mut last_answer = t0;

    while done < s.batches {
        // Admit as many as possible at `now`.
        let mut next_admit: Option<Instant> = None;
        while in_flight < s.limits.concurrency as usize {
            let Some(pos) = ready.iter().position(|&(_, at)| at <= now) else {
                next_admit = ready.iter().map(|r| r.1).min();
                break;
            };
            if now < paused_until {
                next_admit = Some(paused_until);
                break;
            }
            // Every batch ready now, as far as the in-flight cap lets them wait at the pacer.
            let waiting = ready
                .iter()
                .filter(|&&(_, at)| at <= now)
                .count()
                .min((s.limits.concurrency as usize).saturating_sub(in_flight));
            match pace.try_admit_among(now, s.batch, waiting) {
                Ok(ticket) => {
                    let (b, _) = ready.remove(pos).expect("present");
                    // The intent record is written before the request leaves.
                    let slow = s
                        .slow_write
                        .filter(|(n, _)| out.requests % n == n - 1)
                        .map_or(Duration::ZERO, |(_, d)| d);
                    let now = now + s.intent_write + slow + s.write_spread.mul_f64(rng.f64());
                    pace.sent(&ticket, now);
                    in_flight += 1;
                    out.requests += 1;
                    let mut jitter = s.jitter.mul_f64(rng.f64());
                    if out.requests == 1 {
                        jitter += s.first_connect;
                    }
                    push(
                        &mut events,
                        &mut payloads,
                        now + s.latency + jitter,
                        Event::Arrive { batch: b, ticket },
                    );
                }
                Err(at) => {
                    next_admit = Some(at);
                    break;
                }
            }
        }
        let next_event = events.peek().map(|Reverse((at, _))| *at);
        now = match (next_admit, next_event) {
            (Some(a), Some(e)) => a.min(e),
            (Some(a), None) => a,
            (None, Some(e)) => e,
            (None, None) => panic!("stuck: nothing to admit and nothing in flight"),
        };
        // Handle every event due now.
        while let Some(Reverse((at, id))) = events.peek().copied() {
            if at > now {
                break;
            }
            events.pop();
            match payloads.remove(&id).expect("payload") {
                Event::Arrive { batch, ticket } => {
                    vendor.catch_up(at, &schedule);
                    let noise = s.random_429 > 0.0 && rng.f64() < s.random_429;
                    let accepted = !noise && vendor.try_admit(at, weight);
                    if accepted {
                        ours.admit(at, weight);
                        out.max_window = out.max_window.max(ours.in_window(at));
                        out.accepted.push((secs(at), s.batch as u64));
                    }
                    // The sandbox decides after its latency and answers at once.
                    push(
                        &mut events,
                        &mut payloads,
                        at,
                        Event::Answer {
                            batch,
                            ticket,
                            accepted,
                        },
                    );
                }
                Event::Answer {
                    batch,
                    ticket,
                    accepted,
                } => {
                    in_flight -= 1;
                    last_answer = at;
                    if accepted {
                        pace.on_answer(&ticket, at, Answer::Accepted);
                        done += 1;
                        continue;
                    }
                    out.refused += 1;
                    // As the dispatcher: the refused request waits its Retry-After (or a
                    // jittered backoff); a long wait or persistent 429s pause everyone.
                    let delay = s
                        .retry_after
                        .unwrap_or_else(|| Duration::from_millis(500).mul_f64(rng.f64()));
                    let mut pause = (delay > pace.long_wait()).then_some(delay);
                    let reaction = pace.on_answer(&ticket, at, Answer::Refused);
                    out.refusals.push((secs(at), ticket.usage(), reaction));
                    if let Reaction::PauseAll(d, _) = reaction {
                        pause = Some(pause.unwrap_or(d).max(d).max(delay));
                    }
                    if let Some(p) = pause {
                        out.pauses += 1;
                        paused_until = paused_until.max(at + p);
                    }
                    ready.push_front((batch, at + delay));
                }
            }
        }
    }
    vendor.catch_up(last_answer, &schedule);
    out.competitor = vendor.competitor_taken();
    out.wall = last_answer.duration_since(t0);
    out
}
