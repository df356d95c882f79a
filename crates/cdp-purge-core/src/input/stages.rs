//! The two stages after the cleaner, each on its own thread: [`Marker`] finds the
//! duplicates (the de-dup set's inserts are memory-bound: a cache and TLB miss each), and
//! [`Emit`] makes the items of the rows that are not duplicates and runs the caller's
//! callbacks (batching, with its SHA-256 per batch). On two cores the three threads of
//! intake (reading and cleaning, marking, emitting) keep both busy; with marking and
//! emitting on one thread, that thread was most of a run's wall time (perf, 10 M rows:
//! 4.2 of 7.3 CPU-s).

use super::Reject;
use super::clean::{Chunk, Event, TextRef, text};
use super::dedupe::HashSet128;
use crate::batch::Item;

/// How far ahead of an insert its de-dup slot is prefetched.
const PREFETCH_AHEAD: usize = 16;

/// The marking stage: says, for each kept row of a chunk, whether it is the first of its
/// value ([`Chunk::fresh`]).
///
/// On `delete`'s first read it owns the de-dup set and records what it said; the second
/// read (proved byte for byte equal to the first before it is parsed) replays that record
/// instead of building the set again: one bit per kept row, where the set costs a cache
/// miss per insert and ~20 bytes per distinct identifier.
pub(crate) enum Marker {
    Set {
        seen: HashSet128,
        /// What it said, when the read is to be replayed.
        record: Option<Marks>,
    },
    Replay {
        marks: std::sync::Arc<Marks>,
        next: u64,
    },
}

/// One bit per kept row, in input order: set for the first of its value.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    bits: Vec<u64>,
    len: u64,
}

impl Marks {
    /// Kept rows recorded.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn push(&mut self, fresh: bool) {
        let (word, bit) = ((self.len / 64) as usize, self.len % 64);
        if word == self.bits.len() {
            self.bits.push(0);
        }
        if let Some(w) = self.bits.get_mut(word) {
            *w |= u64::from(fresh) << bit;
        }
        self.len += 1;
    }

    pub fn get(&self, i: u64) -> Option<bool> {
        if i >= self.len {
            return None;
        }
        let w = self.bits.get((i / 64) as usize)?;
        Some(w >> (i % 64) & 1 == 1)
    }
}

/// A replayed read found more kept rows than the recorded one.
#[derive(Debug, thiserror::Error)]
#[error(
    "internal error: the second read found more identifiers than the first ({0} recorded); nothing past them was sent"
)]
pub(crate) struct MarksExhausted(pub u64);

impl Marker {
    /// A de-dup set with room for up to a million of an estimated `rows`; `record`: keep
    /// what it says for [`Marker::into_marks`].
    pub fn new(rows: u64, record: bool) -> Self {
        Self::Set {
            seen: HashSet128::for_rows(rows),
            record: record.then(Marks::default),
        }
    }

    /// Say again what a recorded read said, row for row.
    pub fn replay(marks: std::sync::Arc<Marks>) -> Self {
        Self::Replay { marks, next: 0 }
    }

    /// What this (recording) marker said; the set is freed.
    pub fn into_marks(self) -> Option<Marks> {
        match self {
            Self::Set { record, .. } => record,
            Self::Replay { .. } => None,
        }
    }

    pub fn mark(&mut self, chunk: &mut Chunk) -> Result<(), MarksExhausted> {
        chunk.fresh.clear();
        chunk.fresh.reserve(chunk.hashes.len());
        match self {
            Self::Set { seen, record } => {
                // Every insert into a set far larger than the caches is a miss;
                // prefetching a few inserts ahead overlaps them.
                let ahead = &chunk.hashes;
                for &h in ahead.iter().take(PREFETCH_AHEAD) {
                    seen.prefetch(h);
                }
                for (i, &h) in ahead.iter().enumerate() {
                    if let Some(&later) = ahead.get(i + PREFETCH_AHEAD) {
                        seen.prefetch(later);
                    }
                    chunk.fresh.push(seen.insert(h));
                }
                if let Some(r) = record {
                    for &f in &chunk.fresh {
                        r.push(f);
                    }
                }
            }
            Self::Replay { marks, next } => {
                for _ in 0..chunk.hashes.len() {
                    let fresh = marks.get(*next).ok_or(MarksExhausted(marks.len()))?;
                    chunk.fresh.push(fresh);
                    *next += 1;
                }
            }
        }
        Ok(())
    }
}

/// What the emitting stage hands on for each kept row that is not a duplicate.
pub(crate) enum OnKept<'c> {
    /// The row's [`Item`].
    Item(&'c mut dyn FnMut(Item) -> anyhow::Result<()>),
    /// Only its kind, borrowed: for callers that count (`plan`), which need no item
    /// (making and freeing its strings was most of what was left of the calling thread).
    Kind(&'c mut dyn FnMut(&str)),
}

/// The emitting stage: calls the callbacks in input order.
pub(crate) struct Emit<'c> {
    on_kept: OnKept<'c>,
    on_reject: &'c mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    /// The kind of every item when the spec fixes it (rows carry their own otherwise).
    fixed_kind: crate::batch::LineStr,
    pub kept: u64,
    pub duplicates: u64,
}

impl<'c> Emit<'c> {
    pub fn new(
        on_kept: OnKept<'c>,
        on_reject: &'c mut dyn FnMut(&Reject) -> anyhow::Result<()>,
        fixed_kind: Option<&str>,
    ) -> Self {
        Self {
            on_kept,
            on_reject,
            fixed_kind: crate::batch::LineStr::new(fixed_kind.unwrap_or_default()),
            kept: 0,
            duplicates: 0,
        }
    }

    /// Run the callbacks for a chunk that went through [`Marker::mark`].
    pub fn consume(&mut self, chunk: Chunk) -> anyhow::Result<()> {
        let Chunk {
            events,
            text: arena,
            fresh,
            ..
        } = chunk;
        let mut fresh = fresh.into_iter();
        let fixed = self.fixed_kind();
        let fixed = fixed.as_str();
        for e in events {
            match e {
                Event::Rejected(r) => self.reject(&r)?,
                Event::Kept(k) => {
                    let Some(first) = fresh.next() else {
                        anyhow::bail!("internal error: a chunk reached the callbacks unmarked");
                    };
                    if first {
                        let part = |r: TextRef| text(&arena, r);
                        self.fresh(
                            k.file,
                            k.row,
                            part(k.value),
                            k.kind.map_or(fixed, part),
                            k.lookup.map(part),
                        )?;
                    } else {
                        self.duplicate();
                    }
                }
            }
        }
        Ok(())
    }

    pub fn reject(&mut self, r: &Reject) -> anyhow::Result<()> {
        (self.on_reject)(r)
    }

    pub fn duplicate(&mut self) {
        self.duplicates += 1;
    }

    /// The kind of the rows without their own, copied (its UTF-8 checked once, not per row).
    pub fn fixed_kind(&self) -> crate::batch::LineStr {
        self.fixed_kind.clone()
    }

    /// A kept row that is the first of its value.
    pub fn fresh(
        &mut self,
        file: u32,
        row: u64,
        value: &str,
        kind: &str,
        lookup: Option<&str>,
    ) -> anyhow::Result<()> {
        self.kept += 1;
        match &mut self.on_kept {
            // The item's strings are made here, on the batching thread, not by the reader:
            // `plan` frees them on this thread too, which costs mimalloc far less than
            // freeing what another thread allocated. (`delete`'s engine frees them on its
            // own thread; handing them back here measured no gain: BENCHMARKS.md,
            // fifteenth pass.)
            OnKept::Item(f) => f(Item {
                file,
                row,
                value: value.to_owned(),
                kind: kind.to_owned(),
                lookup: lookup.map(str::to_owned),
            }),
            OnKept::Kind(f) => {
                f(kind);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxhash_rust::xxh3::xxh3_128;

    fn chunk(values: &[&str]) -> Chunk {
        Chunk {
            hashes: values.iter().map(|v| xxh3_128(v.as_bytes())).collect(),
            ..Chunk::default()
        }
    }

    #[test]
    fn a_replay_says_what_the_recorded_read_said_and_no_more() {
        let reads: [&[&str]; 3] = [&["a", "b", "a"], &["c", "b", "d", "c"], &["e"]];
        let mut rec = Marker::new(8, true);
        let mut said = Vec::new();
        for r in reads {
            let mut c = chunk(r);
            rec.mark(&mut c).expect("a set never runs out");
            said.extend(c.fresh);
        }
        assert_eq!(
            said,
            [true, true, false, true, false, true, false, true],
            "the set marks each first"
        );
        let marks = std::sync::Arc::new(rec.into_marks().expect("recorded"));
        // In other chunk sizes, from other hashes: only the order of kept rows counts.
        let mut replay = Marker::replay(marks.clone());
        let mut again = Vec::new();
        for r in [&["x"; 5][..], &["y"; 3][..]] {
            let mut c = chunk(r);
            replay.mark(&mut c).expect("as many rows as recorded");
            again.extend(c.fresh);
        }
        assert_eq!(again, said);
        let mut c = chunk(&["one too many"]);
        let e = replay.mark(&mut c).expect_err("past the record");
        assert!(e.to_string().contains("8 recorded"), "{e}");
        // A marker that does not record has nothing to replay.
        assert!(Marker::new(8, false).into_marks().is_none());
        assert!(Marker::replay(marks).into_marks().is_none());
    }

    #[test]
    fn marks_cross_word_boundaries() {
        let mut m = Marks::default();
        let want: Vec<bool> = (0..200)
            .map(|i| i % 3 == 0 || i == 64 || i == 127)
            .collect();
        for &f in &want {
            m.push(f);
        }
        let got: Vec<bool> = (0..200).map(|i| m.get(i).expect("in range")).collect();
        assert_eq!(got, want);
        assert_eq!(m.get(200), None);
    }
}
