//! `status` without `--sample`: which open jobs (or profiles) one invocation looks up.
//!
//! A ledger of millions of jobs cannot be looked up in one invocation (5 M Lytics jobs at
//! its default 10 lookups/s take days) nor held in memory (a `Job` is a few hundred bytes).
//! So each invocation takes at most `limit` open subjects per vendor, the least recently
//! checked first (never checked before ever checked, then the oldest check, then file
//! order), chosen in one pass over the ledger with a bounded heap; everything else is only
//! counted ([`Tally`]), never held. Invocations one after another (or `--watch` rounds)
//! work through all of them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_128;

use super::obs::{Obs, Phase};

/// A subject's place in the queue: never checked (`None`) before any check, then the oldest
/// check, then file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Age {
    /// When it was last checked, in milliseconds since the epoch.
    pub checked_ms: Option<u64>,
    /// Its position among the group's distinct subjects, in ledger file order.
    pub pos: u64,
}

struct Entry<T> {
    age: Age,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.age == other.age
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.age.cmp(&other.age)
    }
}

/// What [`Oldest::offer`] left out.
#[derive(Debug, PartialEq, Eq)]
pub enum LeftOut<T> {
    /// The element offered (it was never built).
    Offered,
    /// An element kept earlier, pushed out by an older one.
    Kept(T),
}

/// The `limit` oldest of a stream by [`Age`]: a max-heap of at most `limit` elements, so
/// memory depends on the limit, never on the stream's length.
pub struct Oldest<T> {
    limit: usize,
    heap: BinaryHeap<Entry<T>>,
}

impl<T> Oldest<T> {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            // Not `with_capacity(limit)`: a limit far above the stream would reserve for
            // nothing.
            heap: BinaryHeap::new(),
        }
    }

    /// Offer the next element; `make` builds it only if it is kept (for now: an older one
    /// may push it out later). Returns what was left out, if anything.
    pub fn offer(&mut self, age: Age, make: impl FnOnce() -> T) -> Option<LeftOut<T>> {
        if self.heap.len() < self.limit {
            self.heap.push(Entry { age, item: make() });
            return None;
        }
        match self.heap.peek() {
            Some(newest) if age < newest.age => {
                let mut top = self.heap.peek_mut().expect("peeked");
                let out = std::mem::replace(&mut *top, Entry { age, item: make() });
                drop(top);
                Some(LeftOut::Kept(out.item))
            }
            _ => Some(LeftOut::Offered),
        }
    }

    /// Elements held now (never more than the limit).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept elements, oldest first: the order they are looked up in, so an
    /// interrupted invocation has asked about the longest-waiting ones.
    pub fn into_sorted(self) -> Vec<T> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| e.item)
            .collect()
    }
}

/// What this invocation learnt of one subject, kept small: a `--watch` that cycles through
/// millions of jobs holds one per job it has looked up (about 50 bytes with the map's own).
#[derive(Debug, Clone, Copy)]
struct Mark {
    checked_ms: u64,
    phase: Phase,
    vendor_state: u32,
    message: u32,
    http_status: u16,
    throttled: bool,
    unproven: bool,
}

const NONE: u32 = u32::MAX;

/// The answers this invocation got, by subject (its vendor ID or identifier hash), so the
/// next `--watch` round's selection sees them: a job just found pending is the most
/// recently checked, and one found done is not open any more.
#[derive(Debug, Default)]
pub struct Overlay {
    marks: HashMap<u128, Mark>,
    /// Shared strings (state words, reasons): few distinct ones.
    strings: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
}

impl Overlay {
    fn key(subject: &str) -> u128 {
        xxh3_128(subject.as_bytes())
    }

    fn id(&mut self, s: Option<&Arc<str>>) -> u32 {
        let Some(s) = s else { return NONE };
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = u32::try_from(self.strings.len()).unwrap_or(NONE);
        if i != NONE {
            self.strings.push(s.clone());
            self.ids.insert(s.clone(), i);
        }
        i
    }

    /// Remember `o` as the latest answer about `subject`.
    pub fn note(&mut self, subject: &str, o: &Obs) {
        let mark = Mark {
            checked_ms: o.checked_ms,
            phase: o.phase,
            vendor_state: self.id(o.vendor_state.as_ref()),
            message: self.id(o.message.as_ref()),
            http_status: o.http_status.unwrap_or(0),
            throttled: o.throttled,
            unproven: o.unproven,
        };
        self.marks.insert(Self::key(subject), mark);
    }

    /// The latest answer this invocation got about `subject`, if any.
    pub fn get(&self, subject: &str) -> Option<Obs> {
        let m = self.marks.get(&Self::key(subject))?;
        let text = |i: u32| self.strings.get(i as usize).cloned();
        let mut o = Obs::new(m.phase);
        o.checked_ms = m.checked_ms;
        o.vendor_state = text(m.vendor_state);
        o.message = text(m.message);
        o.http_status = (m.http_status != 0).then_some(m.http_status);
        o.throttled = m.throttled;
        o.unproven = m.unproven;
        Some(o)
    }

    /// Subjects looked up in this invocation.
    pub fn len(&self) -> u64 {
        self.marks.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }
}

/// A group's subjects that the selection left out, counted as they streamed past, and the
/// size of the open set: what the summary says about the jobs it did not hold.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// At most this many open subjects are looked up per invocation (or `--watch` round).
    pub limit: u64,
    /// Open subjects (no terminal state yet), selected or not.
    pub open: u64,
    /// Left out, by the label `status` counts states by.
    pub states: BTreeMap<String, u64>,
    pub done: u64,
    pub failed: u64,
    pub pending: u64,
    pub errors: u64,
    pub throttled_errors: u64,
    pub reasons: BTreeMap<String, u64>,
    /// Open subjects left out that this invocation has not looked up: nothing new is known
    /// of them.
    pub not_checked: u64,
    /// Of those, the ones that cannot be looked up: their value is neither in the ledger
    /// nor in the given input.
    pub no_value: u64,
}

/// The label of open subjects this invocation has not looked up.
pub const NOT_CHECKED: &str = "not checked";

impl Tally {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// A terminal subject, by its recorded phase and label.
    pub fn terminal(&mut self, phase: Phase, label: &str) {
        *self.states.entry(label.to_owned()).or_default() += 1;
        match phase {
            Phase::Failed => self.failed += 1,
            _ => self.done += 1,
        }
    }

    /// A subject left out of the selection: what this invocation learnt of it (`None`:
    /// nothing, it is not checked).
    pub fn left_out(&mut self, now: Option<&Obs>) {
        let Some(o) = now else {
            self.not_checked += 1;
            *self.states.entry(NOT_CHECKED.to_owned()).or_default() += 1;
            return;
        };
        *self.states.entry(o.label().to_owned()).or_default() += 1;
        match o.phase {
            Phase::Done | Phase::Deleted => self.done += 1,
            Phase::Failed => self.failed += 1,
            Phase::Error => {
                self.errors += 1;
                self.throttled_errors += u64::from(o.throttled);
                *self.reasons.entry(o.reason()).or_default() += 1;
            }
            Phase::Pending | Phase::Present => self.pending += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts the elements alive at once.
    struct Alive(Rc<Cell<usize>>, u64);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.set(self.0.get() - 1);
        }
    }

    #[test]
    fn keeps_the_least_recently_checked_and_never_holds_more_than_the_limit() {
        // 1 M subjects: a third never checked (scattered), the rest checked at times that
        // repeat, so ties fall back to file order.
        let n = 1_000_000u64;
        let age = |i: u64| Age {
            checked_ms: (!i.is_multiple_of(3)).then_some(1_000 + (i * 7919) % 5_000),
            pos: i,
        };
        let limit = 50;
        let alive = Rc::new(Cell::new(0usize));
        let mut most = 0;
        let mut built = 0u64;
        let mut left = 0u64;
        let mut oldest = Oldest::new(limit);
        for i in 0..n {
            let out = oldest.offer(age(i), || {
                built += 1;
                alive.set(alive.get() + 1);
                Alive(alive.clone(), i)
            });
            left += u64::from(out.is_some());
            // What was left out is handed back to be counted, then dropped.
            drop(out);
            most = most.max(alive.get());
            assert!(oldest.len() <= limit);
        }
        assert_eq!(most, limit, "never more alive than the limit");
        assert_eq!(left, n - limit as u64, "everything else is left out, once");
        // The never-checked come first, in file order: the first 50 multiples of 3.
        let got: Vec<u64> = oldest.into_sorted().iter().map(|a| a.1).collect();
        let want: Vec<u64> = (0..n).filter(|i| i.is_multiple_of(3)).take(limit).collect();
        assert_eq!(got, want);
        assert_eq!(alive.get(), 0);
        // Only the first `limit` and the few that displaced one were built, not 1 M.
        assert!(built < 1_000, "{built} built");

        // Everyone checked: the oldest checks first, ties in file order.
        let mut oldest = Oldest::new(4);
        for (i, t) in [50u64, 10, 40, 10, 30, 20, 10].into_iter().enumerate() {
            oldest.offer(
                Age {
                    checked_ms: Some(t),
                    pos: i as u64,
                },
                || i,
            );
        }
        assert_eq!(oldest.into_sorted(), vec![1, 3, 6, 5]);
        // A limit of 0 keeps nothing.
        let mut none = Oldest::new(0);
        assert_eq!(
            none.offer(
                Age {
                    checked_ms: None,
                    pos: 0
                },
                || 1
            ),
            Some(LeftOut::Offered)
        );
        assert!(none.is_empty());
    }

    #[test]
    fn the_overlay_gives_back_what_it_was_told() {
        let mut ov = Overlay::default();
        let mut o = Obs::error(Some(404), "Deletion request not found");
        o.checked_ms = 42;
        ov.note("job-1", &o);
        let mut p = Obs::new(Phase::Pending);
        p.vendor_state = Some(Arc::from("secondary"));
        ov.note("job-2", &p);
        let back = ov.get("job-1").unwrap();
        assert_eq!(back.phase, Phase::Error);
        assert_eq!(back.http_status, Some(404));
        assert_eq!(back.checked_ms, 42);
        assert_eq!(back.reason(), "HTTP 404: Deletion request not found");
        assert_eq!(ov.get("job-2").unwrap().label(), "secondary");
        assert!(ov.get("job-3").is_none());
        assert_eq!(ov.len(), 2);
        let mut t = Tally::new(10);
        t.left_out(Some(&back));
        t.left_out(None);
        t.terminal(Phase::Done, "done");
        assert_eq!((t.errors, t.not_checked, t.done), (1, 1, 1));
        assert_eq!(t.states.get(NOT_CHECKED), Some(&1));
    }
}
