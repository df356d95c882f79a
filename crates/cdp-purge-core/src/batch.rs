//! Cleaned identifiers, batches and the batcher.
//!
//! A batch's hash is the resume key: it covers the vendor, the identifier kind and every
//! (lookup, value) pair in order, and nothing positional, so the same input always yields the
//! same batches and a rerun can tell which ones a ledger already settled.

use sha2::{Digest, Sha256};
use std::fmt;

/// One cleaned identifier and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Index of the input file in the run's `--input` list.
    pub file: u32,
    /// Row number as a person would find it: for CSV/TSV the physical record number counting
    /// the header as row 1; for JSON arrays the 1-based element index; for NDJSON the line.
    pub row: u64,
    /// The normalised identifier value (trimmed, optionally lowercased). Personal data.
    pub value: String,
    /// The identifier kind (Lytics field, mParticle identity type or `mpid`, CleverTap
    /// `identity`/`guid`, Segment external-id type, Hightouch identifier name).
    pub kind: String,
    /// Segment only: the `user_id` used to find the profile.
    pub lookup: Option<String>,
}

/// SHA-256 over a batch's content.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchHash(pub [u8; 32]);

impl BatchHash {
    pub fn to_hex(&self) -> String {
        crate::ledger::hex32(&self.0)
    }
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for BatchHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchHash({})", &self.to_hex()[..16])
    }
}

impl fmt::Display for BatchHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for BatchHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for BatchHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// A group of identifiers sent in one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// 0-based position in the run's batch sequence (informational, not the resume key).
    pub seq: u64,
    /// The one identifier kind this batch carries, or `None` for vendors that accept mixed
    /// kinds in one request (then each item's `kind` is authoritative).
    pub kind: Option<String>,
    pub items: Vec<Item>,
    pub hash: BatchHash,
    /// An earlier run sent some of these identifiers and never learnt whether the request
    /// arrived, so an "already gone" answer may be that run's own deletion.
    pub maybe_delivered: bool,
}

impl Batch {
    /// Build a batch and compute its content hash.
    pub fn new(seq: u64, vendor: &str, kind: Option<String>, items: Vec<Item>) -> Self {
        let hash = content_hash(vendor, kind.as_deref(), &items);
        Self {
            seq,
            kind,
            items,
            hash,
            maybe_delivered: false,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Split into two halves (for bisection); each half gets its own content hash.
    pub fn split(&self, vendor: &str) -> (Batch, Batch) {
        let mid = self.items.len() / 2;
        let (a, b) = self.items.split_at(mid);
        let half = |items: &[Item]| Batch {
            maybe_delivered: self.maybe_delivered,
            ..Batch::new(self.seq, vendor, self.kind.clone(), items.to_vec())
        };
        (half(a), half(b))
    }
}

fn content_hash(vendor: &str, kind: Option<&str>, items: &[Item]) -> BatchHash {
    // The bytes are gathered and hashed at once, not in six small updates per item, each
    // through the digest's buffering (the whole batch id was 2.2% of a paced run's CPU).
    let mut msg = Vec::with_capacity(
        64 + items
            .iter()
            .map(|it| {
                24 + it.kind.len() + it.value.len() + it.lookup.as_ref().map_or(0, String::len)
            })
            .sum::<usize>(),
    );
    msg.extend_from_slice(b"cdp-purge/batch/v1\0");
    msg.extend_from_slice(vendor.as_bytes());
    msg.push(0);
    msg.extend_from_slice(kind.unwrap_or("").as_bytes());
    msg.push(0);
    for it in items {
        // Length-prefix each field so no two different batches can hash the same bytes.
        for field in [
            it.kind.as_str(),
            it.lookup.as_deref().unwrap_or(""),
            it.value.as_str(),
        ] {
            msg.extend_from_slice(&(field.len() as u64).to_le_bytes());
            msg.extend_from_slice(field.as_bytes());
        }
    }
    BatchHash(Sha256::digest(&msg).into())
}

/// Groups items into batches of at most `cap`, one kind per batch when `split_by_kind`.
///
/// Batches are emitted as soon as they fill; [`Batcher::finish`] flushes the partial ones in
/// the order their kinds were first seen. Deterministic: the same items in the same order
/// always give the same batches.
pub struct Batcher {
    vendor: String,
    cap: usize,
    split_by_kind: bool,
    /// Open batches, in first-seen order of their kind (a handful at most).
    open: Vec<(Option<String>, Vec<Item>)>,
    next_seq: u64,
}

impl Batcher {
    pub fn new(vendor: &str, cap: usize, split_by_kind: bool) -> Self {
        assert!(cap > 0, "batch cap must be positive");
        Self {
            vendor: vendor.to_owned(),
            cap,
            split_by_kind,
            open: Vec::new(),
            next_seq: 0,
        }
    }

    /// Add an item; returns a batch when one fills.
    pub fn push(&mut self, item: Item) -> Option<Batch> {
        // Compare borrowed: cloning the kind for every item cost an allocation per item.
        let want = self.split_by_kind.then_some(item.kind.as_str());
        let idx = match self.open.iter().position(|(k, _)| k.as_deref() == want) {
            Some(i) => i,
            None => {
                let key = self.split_by_kind.then(|| item.kind.clone());
                self.open
                    .push((key, Vec::with_capacity(self.cap.min(1024))));
                self.open.len() - 1
            }
        };
        self.open[idx].1.push(item);
        if self.open[idx].1.len() >= self.cap {
            let (kind, items) = self.open.remove(idx);
            return Some(self.emit(kind, items));
        }
        None
    }

    /// Flush every partial batch.
    pub fn finish(mut self) -> Vec<Batch> {
        let open = std::mem::take(&mut self.open);
        open.into_iter()
            .filter(|(_, items)| !items.is_empty())
            .map(|(k, items)| self.emit(k, items))
            .collect()
    }

    fn emit(&mut self, kind: Option<String>, items: Vec<Item>) -> Batch {
        let b = Batch::new(self.next_seq, &self.vendor, kind, items);
        self.next_seq += 1;
        b
    }
}

/// Counts the batches a [`Batcher`] with the same `cap` and `split_by_kind` would make from
/// the same items, without holding the items or hashing them.
///
/// Why: `plan` and `delete`'s first read only report how many batches (requests) a run
/// would send. Building each batch and its SHA-256 over every identifier was most of the
/// calling thread's work in intake (perf, 10 M rows: ~0.4 of its 0.75 CPU-s), for hashes
/// nobody read. The batches are the same whatever the kinds' order: a kind's items fill
/// batches of `cap`, and its last partial one is flushed at the end.
pub struct BatchCounter {
    cap: u64,
    split_by_kind: bool,
    /// Items per kind (one entry, kind `""`, when batches mix kinds), first-seen order.
    open: Vec<(LineStr, u64)>,
}

/// A short string read once per identifier (a kind), kept inline on cache lines of its
/// own; a longer one on the heap.
///
/// Why: compared or copied once per row, a kind's bytes on the heap shared a cache line
/// with memory another thread kept writing, and every read missed: perf put 29% of
/// `delete`'s first read of 1M mParticle ids (and of `plan`) in the one `memcmp` of
/// [`BatchCounter::push`] (0.41 CPU-s for the read, 0.28 with the kind on a line of its
/// own). Where a heap block lands is luck; this makes it not matter.
#[repr(align(64))]
#[derive(Clone)]
pub(crate) struct LineStr {
    len: u8,
    inline: [u8; LineStr::INLINE],
    heap: Option<Box<str>>,
}

impl LineStr {
    const INLINE: usize = 39;

    pub(crate) fn new(s: &str) -> Self {
        let mut inline = [0u8; Self::INLINE];
        match inline.get_mut(..s.len()) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                Self {
                    len: s.len() as u8,
                    inline,
                    heap: None,
                }
            }
            None => Self {
                len: 0,
                inline,
                heap: Some(s.into()),
            },
        }
    }

    /// The bytes, unchecked: what a compare per row reads.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.heap {
            Some(h) => h.as_bytes(),
            None => &self.inline[..usize::from(self.len)],
        }
    }

    /// The string (its UTF-8 checked again: take it once, not per row).
    pub(crate) fn as_str(&self) -> &str {
        // Copied whole from a `&str`: always UTF-8.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl BatchCounter {
    pub fn new(cap: usize, split_by_kind: bool) -> Self {
        assert!(cap > 0, "batch cap must be positive");
        Self {
            cap: cap as u64,
            split_by_kind,
            open: Vec::new(),
        }
    }

    /// Count an item of `kind`.
    pub fn push(&mut self, kind: &str) {
        if !self.split_by_kind {
            // Batches mix kinds: one count, nothing to compare (a libc `memcmp` call per
            // row, if only of empty strings, was 6% of `delete`'s first read of 1M
            // mParticle ids).
            match self.open.first_mut() {
                Some((_, n)) => *n += 1,
                None => self.open.push((LineStr::new(""), 1)),
            }
            return;
        }
        match self
            .open
            .iter_mut()
            .find(|(k, _)| k.as_bytes() == kind.as_bytes())
        {
            Some((_, n)) => *n += 1,
            None => self.open.push((LineStr::new(kind), 1)),
        }
    }

    /// The batches so far, the partial ones included (what [`Batcher::finish`] would
    /// flush).
    pub fn batches(&self) -> u64 {
        self.open.iter().map(|(_, n)| n.div_ceil(self.cap)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(v: &str, kind: &str) -> Item {
        Item {
            file: 0,
            row: 1,
            value: v.into(),
            kind: kind.into(),
            lookup: None,
        }
    }

    #[test]
    fn fills_and_flushes_in_first_seen_kind_order() {
        let mut b = Batcher::new("lytics", 2, true);
        assert!(b.push(item("a", "email")).is_none());
        assert!(b.push(item("1", "id")).is_none());
        let full = b.push(item("b", "email")).expect("email batch is full");
        assert_eq!(full.kind.as_deref(), Some("email"));
        assert_eq!(full.items.len(), 2);
        assert!(b.push(item("c", "email")).is_none());
        let rest = b.finish();
        let kinds: Vec<_> = rest
            .iter()
            .map(|b| b.kind.clone().unwrap_or_default())
            .collect();
        assert_eq!(kinds, ["id", "email"]);
    }

    #[test]
    fn the_counter_counts_what_the_batcher_makes() {
        let mut rng = fastrand::Rng::with_seed(5);
        for round in 0..200 {
            let cap = rng.usize(1..7);
            let split = rng.bool();
            let kinds = ["email", "id", "phone"];
            let n = rng.usize(0..60);
            let in_use = rng.usize(1..=kinds.len());
            let mut batcher = Batcher::new("lytics", cap, split);
            let mut counter = BatchCounter::new(cap, split);
            let mut made = 0u64;
            for i in 0..n {
                let kind = kinds[rng.usize(..in_use)];
                counter.push(kind);
                made += u64::from(batcher.push(item(&i.to_string(), kind)).is_some());
            }
            made += batcher.finish().len() as u64;
            assert_eq!(
                counter.batches(),
                made,
                "round {round}: cap {cap}, split {split}"
            );
        }
    }

    #[test]
    fn hash_is_sha256_of_the_length_prefixed_fields() {
        // The ledger's batch ids: written out byte by byte here, so a faster way of hashing
        // cannot change them.
        let mut items = vec![item("a@x.io", "email"), item("é", "user_id")];
        items[1].lookup = Some("u-1".into());
        let b = Batch::new(3, "segment", None, items);
        let mut want = b"cdp-purge/batch/v1\0segment\0\0".to_vec();
        for (kind, lookup, value) in [("email", "", "a@x.io"), ("user_id", "u-1", "é")] {
            for f in [kind, lookup, value] {
                want.extend_from_slice(&(f.len() as u64).to_le_bytes());
                want.extend_from_slice(f.as_bytes());
            }
        }
        assert_eq!(b.hash.0, <[u8; 32]>::from(Sha256::digest(&want)));
        let k = Batch::new(
            0,
            "lytics",
            Some("email".into()),
            vec![item("a@x.io", "email")],
        );
        let mut want = b"cdp-purge/batch/v1\0lytics\0email\0".to_vec();
        for f in ["email", "", "a@x.io"] {
            want.extend_from_slice(&(f.len() as u64).to_le_bytes());
            want.extend_from_slice(f.as_bytes());
        }
        assert_eq!(k.hash.0, <[u8; 32]>::from(Sha256::digest(&want)));
    }

    #[test]
    fn a_line_str_gives_back_its_string_inline_or_not() {
        let long = "k".repeat(200);
        for s in [
            "",
            "email",
            "customerid",
            &"é".repeat(19),
            &"x".repeat(39),
            &"x".repeat(40),
            &long,
        ] {
            let l = LineStr::new(s);
            assert_eq!(l.as_str(), s);
            assert_eq!(l.as_bytes(), s.as_bytes());
            assert_eq!(l.heap.is_some(), s.len() > LineStr::INLINE, "{}", s.len());
        }
        assert_eq!(std::mem::align_of::<LineStr>(), 64);
        assert_eq!(std::mem::size_of::<LineStr>() % 64, 0);
    }

    #[test]
    fn hash_depends_on_content_not_position() {
        let a = Batch::new(0, "v", None, vec![item("x", "k")]);
        let b = Batch::new(
            7,
            "v",
            None,
            vec![Item {
                row: 99,
                file: 3,
                ..item("x", "k")
            }],
        );
        let c = Batch::new(0, "v", None, vec![item("y", "k")]);
        let d = Batch::new(0, "w", None, vec![item("x", "k")]);
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
        assert_ne!(a.hash, d.hash);
        assert_eq!(BatchHash::from_hex(&a.hash.to_hex()), Some(a.hash));
    }
}
