//! The two stages after the cleaner, each on its own thread: [`Marker`] finds the
//! duplicates (the de-dup set's inserts are memory-bound: a cache and TLB miss each), and
//! [`Emit`] makes the items of the rows that are not duplicates and runs the caller's
//! callbacks (batching, with its SHA-256 per batch). On two cores the three threads of
//! intake (reading and cleaning, marking, emitting) keep both busy; with marking and
//! emitting on one thread, that thread was most of a run's wall time (perf, 10 M rows:
//! 4.2 of 7.3 CPU-s).

use super::Reject;
use super::clean::{Chunk, Event, Kept, text};
use super::dedupe::HashSet128;
use crate::batch::Item;

/// How far ahead of an insert its de-dup slot is prefetched.
const PREFETCH_AHEAD: usize = 16;

/// The marking stage: owns the de-dup set and says, for each kept row of a chunk, whether
/// it is the first of its value ([`Chunk::fresh`]).
pub(crate) struct Marker {
    seen: HashSet128,
}

impl Marker {
    /// The set starts at room for up to a million of an estimated `rows`.
    pub fn new(rows: u64) -> Self {
        Self {
            seen: HashSet128::for_rows(rows),
        }
    }

    pub fn mark(&mut self, chunk: &mut Chunk) {
        // Every insert into a set far larger than the caches is a miss; prefetching a few
        // inserts ahead overlaps them.
        let ahead = &chunk.hashes;
        for &h in ahead.iter().take(PREFETCH_AHEAD) {
            self.seen.prefetch(h);
        }
        chunk.fresh.clear();
        chunk.fresh.reserve(ahead.len());
        for (i, &h) in ahead.iter().enumerate() {
            if let Some(&later) = ahead.get(i + PREFETCH_AHEAD) {
                self.seen.prefetch(later);
            }
            chunk.fresh.push(self.seen.insert(h));
        }
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
    fixed_kind: String,
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
            fixed_kind: fixed_kind.unwrap_or_default().to_owned(),
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
        for e in events {
            match e {
                Event::Rejected(r) => (self.on_reject)(&r)?,
                Event::Kept(k) => {
                    let Some(first) = fresh.next() else {
                        anyhow::bail!("internal error: a chunk reached the callbacks unmarked");
                    };
                    if first {
                        self.kept += 1;
                        match &mut self.on_kept {
                            OnKept::Item(f) => {
                                let item = item(&self.fixed_kind, &arena, &k);
                                f(item)?;
                            }
                            OnKept::Kind(f) => f(kind(&self.fixed_kind, &arena, &k)),
                        }
                    } else {
                        self.duplicates += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The item of a row that is not a duplicate: its strings are made here, by the thread that
/// also frees them (the batcher's side), which costs mimalloc far less than freeing what
/// another thread allocated.
fn item(fixed_kind: &str, arena: &str, k: &Kept) -> Item {
    Item {
        file: k.file,
        row: k.row,
        value: text(arena, k.value).to_owned(),
        kind: kind(fixed_kind, arena, k).to_owned(),
        lookup: k.lookup.map(|r| text(arena, r).to_owned()),
    }
}

/// A kept row's kind: its own column's, or the one the spec fixes.
fn kind<'a>(fixed_kind: &'a str, arena: &'a str, k: &Kept) -> &'a str {
    match k.kind {
        Some(r) => text(arena, r),
        None => fixed_kind,
    }
}
