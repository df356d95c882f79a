//! The systemic-failure breaker: when the first identifiers of a run all fail permanently
//! for the same reason (a token without the delete permission, a misspelt field, a wrong
//! space, an identity type the workspace does not treat as unique), the cause is the
//! configuration, not the data, and every further request would fail alike. The run stops
//! with the vendor's reason instead of going through the whole list.
//!
//! The outcomes that tripped it are recorded as `failed_retryable`, not as the vendor's
//! per-item verdict, so that the same command, rerun once the configuration is fixed,
//! sends them again. To make that possible the breaker holds back the outcome records of
//! failing batches while it is still undecided (at most `after` identifiers' worth); the
//! attempt records, which prove what was sent and answered, are written as usual. An
//! outcome with any success, or another reason, disarms it for the rest of the run.

use std::sync::Mutex;

use crate::ledger::ItemStatus;

/// The default number of identifiers that must all fail alike before the run stops.
pub const DEFAULT_AFTER: u64 = 20;

/// One settled item, as the breaker sees it: its status and message.
pub type ItemView<'a> = (ItemStatus, Option<&'a str>);

/// How the outcomes handed back by [`Breaker::judge`] are to be written.
#[derive(Debug, PartialEq, Eq)]
pub enum Write {
    /// As they are.
    AsIs,
    /// As retryable: the breaker tripped on this reason. `tripped_after` is the number of
    /// identifiers that had failed alike when this very outcome tripped it (so the caller
    /// stops the run once), `None` for outcomes that arrive later.
    Retryable {
        reason: String,
        tripped_after: Option<u64>,
    },
}

#[derive(Debug)]
enum Phase {
    /// Watching the first outcomes.
    Armed {
        items: u64,
        reason: Option<String>,
    },
    /// Something succeeded or failed differently: it stays out of the way.
    Disarmed,
    Tripped {
        reason: String,
    },
}

/// The breaker, holding back outcomes of type `T` while undecided.
#[derive(Debug)]
pub struct Breaker<T> {
    after: u64,
    /// The phase and the outcomes held back, under one lock so that an outcome is never
    /// held after the breaker decided.
    state: Mutex<(Phase, Vec<T>)>,
}

/// The reason shared by every item, if every item failed permanently.
fn shared_reason(items: &[ItemView<'_>]) -> Option<String> {
    let mut reason: Option<&str> = None;
    for (status, message) in items {
        if !matches!(status, ItemStatus::Invalid | ItemStatus::NotFound) {
            return None;
        }
        let m = message.unwrap_or(status.code());
        match reason {
            None => reason = Some(m),
            Some(r) if r == m => {}
            Some(_) => return None,
        }
    }
    reason.map(str::to_owned)
}

impl<T> Breaker<T> {
    /// `after == 0` turns it off.
    pub fn new(after: u64) -> Self {
        let phase = if after == 0 {
            Phase::Disarmed
        } else {
            Phase::Armed {
                items: 0,
                reason: None,
            }
        };
        Self {
            after,
            state: Mutex::new((phase, Vec::new())),
        }
    }

    /// Judge one outcome (`items` are its results; `outcome` is what the caller would
    /// write). Returns the outcomes to write now, in order, and how. `leaf` is false for
    /// the outcome of a batch that was bisected: its halves were counted already, so it
    /// is only held or released along with them.
    pub fn judge(&self, items: &[ItemView<'_>], leaf: bool, outcome: T) -> (Vec<T>, Write) {
        let mut guard = self.state.lock().expect("breaker lock");
        let (phase, held) = &mut *guard;
        let shared = shared_reason(items);
        match phase {
            Phase::Disarmed => (vec![outcome], Write::AsIs),
            Phase::Tripped { reason } => {
                if shared.as_deref() == Some(reason.as_str()) {
                    let w = Write::Retryable {
                        reason: reason.clone(),
                        tripped_after: None,
                    };
                    (vec![outcome], w)
                } else {
                    (vec![outcome], Write::AsIs)
                }
            }
            Phase::Armed {
                items: seen,
                reason,
            } => {
                let release = |phase: &mut Phase, held: &mut Vec<T>, outcome| {
                    *phase = Phase::Disarmed;
                    let mut out = std::mem::take(held);
                    out.push(outcome);
                    (out, Write::AsIs)
                };
                let Some(r) = shared else {
                    return release(phase, held, outcome);
                };
                if reason.as_ref().is_some_and(|prev| *prev != r) {
                    return release(phase, held, outcome);
                }
                if leaf {
                    *seen += items.len() as u64;
                }
                if *seen >= self.after {
                    let w = Write::Retryable {
                        reason: r.clone(),
                        tripped_after: Some(*seen),
                    };
                    *phase = Phase::Tripped { reason: r };
                    let mut out = std::mem::take(held);
                    out.push(outcome);
                    (out, w)
                } else {
                    *reason = Some(r);
                    held.push(outcome);
                    (Vec::new(), Write::AsIs)
                }
            }
        }
    }

    /// Whether [`Breaker::judge`] would trip on this outcome, without changing anything:
    /// the reason and the number of identifiers. Lets the engine stop the run while it
    /// still holds the request's in-flight slot, so no other request slips out first.
    pub fn would_trip(&self, items: &[ItemView<'_>], leaf: bool) -> Option<(String, u64)> {
        let guard = self.state.lock().expect("breaker lock");
        let Phase::Armed {
            items: seen,
            reason,
        } = &guard.0
        else {
            return None;
        };
        let r = shared_reason(items)?;
        if !leaf || reason.as_ref().is_some_and(|prev| *prev != r) {
            return None;
        }
        let n = seen + items.len() as u64;
        (n >= self.after).then_some((r, n))
    }

    /// The run is over (finished, interrupted, or stopped for another reason): stop
    /// holding and hand back, to be written as they are, the outcomes still held.
    pub fn drain(&self) -> Vec<T> {
        let mut guard = self.state.lock().expect("breaker lock");
        let (phase, held) = &mut *guard;
        if matches!(phase, Phase::Armed { .. }) {
            *phase = Phase::Disarmed;
        }
        std::mem::take(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ItemStatus::*;

    fn fails(n: usize, msg: &str) -> Vec<ItemView<'_>> {
        vec![(Invalid, Some(msg)); n]
    }

    fn retry(reason: &str, after: Option<u64>) -> Write {
        Write::Retryable {
            reason: reason.into(),
            tripped_after: after,
        }
    }

    #[test]
    fn trips_once_the_first_items_all_failed_alike() {
        let b = Breaker::new(20);
        let pd = "permission denied";
        assert_eq!(b.judge(&fails(8, pd), true, 1), (vec![], Write::AsIs));
        assert_eq!(b.judge(&fails(8, pd), true, 2), (vec![], Write::AsIs));
        // The third batch reaches 24: everything held comes back to be written retryable.
        assert_eq!(
            b.judge(&fails(8, pd), true, 3),
            (vec![1, 2, 3], retry(pd, Some(24)))
        );
        // Batches still in flight when it tripped, failing the same way.
        assert_eq!(b.judge(&fails(3, pd), true, 4), (vec![4], retry(pd, None)));
        // Anything else is written as it is.
        assert_eq!(
            b.judge(&[(Acknowledged, None)], true, 5),
            (vec![5], Write::AsIs)
        );
        assert_eq!(b.judge(&fails(1, "other"), true, 6), (vec![6], Write::AsIs));
        assert!(b.drain().is_empty());
    }

    #[test]
    fn would_trip_predicts_without_changing_anything() {
        let b = Breaker::new(10);
        assert_eq!(b.would_trip(&fails(5, "a"), true), None);
        assert!(b.judge(&fails(5, "a"), true, 1).0.is_empty());
        assert_eq!(b.would_trip(&fails(4, "a"), true), None);
        assert_eq!(b.would_trip(&fails(5, "b"), true), None);
        assert_eq!(b.would_trip(&fails(5, "a"), false), None);
        assert_eq!(b.would_trip(&fails(5, "a"), true), Some(("a".into(), 10)));
        assert_eq!(b.would_trip(&fails(5, "a"), true), Some(("a".into(), 10)));
        assert_eq!(
            b.judge(&fails(5, "a"), true, 2),
            (vec![1, 2], retry("a", Some(10)))
        );
        assert_eq!(b.would_trip(&fails(5, "a"), true), None);
    }

    #[test]
    fn one_batch_larger_than_the_threshold_trips_at_once() {
        let b = Breaker::new(20);
        assert_eq!(
            b.judge(&fails(100, "no such field"), true, 1),
            (vec![1], retry("no such field", Some(100)))
        );
    }

    #[test]
    fn a_success_or_another_reason_releases_what_it_held_and_disarms_it() {
        let b = Breaker::new(20);
        assert_eq!(b.judge(&fails(5, "a"), true, 1), (vec![], Write::AsIs));
        let mixed = [(Invalid, Some("a")), (Acknowledged, None)];
        assert_eq!(b.judge(&mixed, true, 2), (vec![1, 2], Write::AsIs));
        assert_eq!(b.judge(&fails(50, "a"), true, 3), (vec![3], Write::AsIs));

        let b = Breaker::new(20);
        assert_eq!(b.judge(&fails(5, "a"), true, 1), (vec![], Write::AsIs));
        assert_eq!(b.judge(&fails(5, "b"), true, 2), (vec![1, 2], Write::AsIs));
        assert_eq!(b.judge(&fails(50, "a"), true, 3), (vec![3], Write::AsIs));

        // Reasons differing within one batch are not one systemic cause.
        let b = Breaker::new(2);
        let two = [(Invalid, Some("a")), (Invalid, Some("b"))];
        assert_eq!(b.judge(&two, true, 1), (vec![1], Write::AsIs));
    }

    #[test]
    fn retryable_failures_are_not_permanent() {
        let b = Breaker::new(2);
        let r = [(FailedRetryable, Some("gave up")); 5];
        assert_eq!(b.judge(&r, true, 1), (vec![1], Write::AsIs));
    }

    #[test]
    fn not_found_counts_and_the_status_stands_in_for_a_missing_message() {
        let b = Breaker::new(3);
        let nf = [(NotFound, None)];
        assert_eq!(b.judge(&nf, true, 1).0, Vec::<i32>::new());
        assert_eq!(b.judge(&nf, true, 2).0, Vec::<i32>::new());
        assert_eq!(
            b.judge(&nf, true, 3),
            (vec![1, 2, 3], retry("not_found", Some(3)))
        );
    }

    #[test]
    fn the_parent_of_a_bisection_follows_its_halves() {
        let b = Breaker::new(4);
        assert!(b.judge(&fails(1, "x"), true, 1).0.is_empty());
        assert!(b.judge(&fails(1, "x"), true, 2).0.is_empty());
        // The bisected parent is held without counting its items twice.
        assert!(b.judge(&fails(2, "x"), false, 3).0.is_empty());
        assert!(b.judge(&fails(1, "x"), true, 4).0.is_empty());
        assert_eq!(
            b.judge(&fails(1, "x"), true, 5),
            (vec![1, 2, 3, 4, 5], retry("x", Some(4)))
        );
        assert_eq!(
            b.judge(&fails(2, "x"), false, 6),
            (vec![6], retry("x", None))
        );
    }

    #[test]
    fn a_run_that_ends_undecided_writes_what_was_held_as_it_was() {
        let b = Breaker::new(20);
        assert!(b.judge(&fails(5, "a"), true, 1).0.is_empty());
        assert_eq!(b.drain(), vec![1]);
        assert_eq!(b.judge(&fails(50, "a"), true, 2), (vec![2], Write::AsIs));
    }

    #[test]
    fn off_records_everything() {
        let b = Breaker::new(0);
        assert_eq!(b.judge(&fails(100, "a"), true, 1), (vec![1], Write::AsIs));
    }
}
