//! A compact set of 128-bit hashes for de-duplication.
//!
//! Why not `HashSet<u128>`: std/hashbrown tables have power-of-two bucket counts, so ~8.5 M
//! entries land in 16 M buckets (256 MiB + control bytes), and growing doubles the table
//! while the old one is still alive. Here the set is split into shards picked by the top hash
//! bits; each shard is an open-addressing table (linear probing) whose size is *not* a power
//! of two (slot = fast range reduction of the low hash bits) and grows by 1.25×, so memory
//! stays within 16 B / 0.68 per entry and a resize copies one shard (1/16 of the set): at
//! most 24 bytes per distinct identifier, whatever the number of rows.
//!
//! The table grows with what it holds, never with an estimate of the input: a file of 50 M
//! rows holding 9.5 M distinct values used to be sized for 50 M (1 GiB). Growing costs
//! little: a resize walks the old shard in order and writes the new one almost in order
//! (homes are monotone in the hash), about 4 extra copies of each entry over a run.
//!
//! Speed: at millions of entries every insert is a cache and TLB miss. Shards are large
//! enough for transparent huge pages (asked for with `madvise` on Linux), and callers can
//! [`HashSet128::prefetch`] a few inserts ahead.
//!
//! `Dedup` is the pipeline stage around the set: it receives cleaned rows in order,
//! drops repeats and runs the caller's callbacks.

use std::alloc::{GlobalAlloc, Layout, System, handle_alloc_error};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::Reject;
use super::clean::{CHUNK, Chunk, Event, Kept, text};
use crate::batch::Item;

/// 16 shards: at 10 M entries each is ~12 MiB, six huge pages (with 64, a shard of 3 MiB
/// was mostly 4 KiB pages); a resize still copies only a sixteenth of the set.
const SHARD_BITS: u32 = 4;
const SHARDS: usize = 1 << SHARD_BITS;
/// A shard grows when its load would pass LOAD_NUM / LOAD_DEN.
const LOAD_NUM: usize = 17;
const LOAD_DEN: usize = 20;
const MIN_SHARD_SLOTS: usize = 64;

/// `0` marks an empty slot; a real hash of 0 is stored as 1 (a 2^-128 event that would at
/// worst merge two values).
const EMPTY: u128 = 0;

#[inline]
fn normalise(h: u128) -> u128 {
    if h == EMPTY { 1 } else { h }
}

#[inline]
fn shard_of(h: u128) -> usize {
    (h >> (128 - SHARD_BITS)) as usize
}

/// Slots needed to hold `n` entries under the load limit.
fn slots_for(n: usize) -> usize {
    (n * LOAD_DEN / LOAD_NUM + 1).max(MIN_SHARD_SLOTS)
}

/// Bytes of a transparent huge page (x86-64 and aarch64 with 4 KiB pages).
const HUGE: usize = 2 << 20;

/// Slots in one huge page.
const HUGE_SLOTS: usize = HUGE / std::mem::size_of::<u128>();

/// The slots of one shard: a zeroed `[u128]` mapped straight from the OS.
///
/// The table is the one large, long-lived allocation of a run, and every insert lands at a
/// random place in it: with 4 KiB pages each probe is a TLB miss as well as a cache miss
/// (perf: a quarter of intake's CPU once the shards grew by steps instead of being sized
/// once, with 64 shards too small for huge pages). A big shard is therefore its own
/// anonymous mapping aligned to 2 MiB, with huge pages asked for (`madvise`): the kernel
/// backs it with 2 MiB pages and zeroes it as it is touched. Freed, a grown-out shard goes straight
/// back to the OS (the C allocator's heap, or mimalloc's caches, would keep it: about
/// +25 MiB peak RSS on 10 M rows read from gzip). Small shards use the system allocator.
struct Slots {
    ptr: NonNull<u128>,
    len: usize,
    /// The whole mapping (start, bytes) when the slots are a huge-page mapping of their own.
    #[cfg(target_os = "linux")]
    mapped: Option<(NonNull<libc::c_void>, usize)>,
}

// SAFETY: `Slots` owns its buffer exclusively, like a `Vec<u128>`.
unsafe impl Send for Slots {}
// SAFETY: shared access only reads, like `&[u128]`.
unsafe impl Sync for Slots {}

impl Default for Slots {
    fn default() -> Self {
        Self {
            ptr: NonNull::dangling(),
            len: 0,
            #[cfg(target_os = "linux")]
            mapped: None,
        }
    }
}

impl Slots {
    fn layout(len: usize) -> Layout {
        Layout::array::<u128>(len).unwrap_or_else(|_| handle_alloc_error(Layout::new::<u128>()))
    }

    /// `len` empty slots.
    fn zeroed(len: usize) -> Self {
        if len == 0 {
            return Self::default();
        }
        #[cfg(target_os = "linux")]
        if len >= HUGE_SLOTS
            && let Some(s) = Self::mapped(len)
        {
            return s;
        }
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { System.alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<u128>()) else {
            handle_alloc_error(layout)
        };
        Self {
            ptr,
            len,
            #[cfg(target_os = "linux")]
            mapped: None,
        }
    }

    /// A 2 MiB-aligned anonymous mapping of `len` slots, with huge pages asked for (the
    /// whole 2 MiB pages get them; the tail past the last one stays in 4 KiB pages rather
    /// than round the table up by up to a page per shard); `None` when the OS refuses (the
    /// caller falls back).
    #[cfg(target_os = "linux")]
    fn mapped(len: usize) -> Option<Self> {
        let bytes = len
            .checked_mul(std::mem::size_of::<u128>())?
            .checked_next_multiple_of(4096)?;
        let total = bytes.checked_add(HUGE)?;
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return None;
        }
        let start = raw as usize;
        let aligned = start.next_multiple_of(HUGE);
        let (head, tail) = (aligned - start, total - (aligned - start) - bytes);
        // SAFETY: both ranges lie inside the mapping just made and are not used; unmapping
        // them only gives address space back. MADV_HUGEPAGE changes no contents, and its
        // failure (THP disabled) only costs speed.
        unsafe {
            if head > 0 {
                libc::munmap(raw, head);
            }
            if tail > 0 {
                libc::munmap((aligned + bytes) as *mut libc::c_void, tail);
            }
            libc::madvise(aligned as *mut libc::c_void, bytes, libc::MADV_HUGEPAGE);
        }
        let base = NonNull::new(aligned as *mut libc::c_void)?;
        Some(Self {
            ptr: base.cast::<u128>(),
            len,
            mapped: Some((base, bytes)),
        })
    }
}

impl Deref for Slots {
    type Target = [u128];
    fn deref(&self) -> &[u128] {
        // SAFETY: `ptr` is valid for `len` initialised (zeroed) elements, or dangling with
        // `len == 0`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [u128] {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some((base, bytes)) = self.mapped {
            // SAFETY: the mapping made in `mapped`, unmapped once.
            unsafe { libc::munmap(base.as_ptr(), bytes) };
            return;
        }
        if self.len > 0 {
            // SAFETY: allocated in `zeroed` by the same allocator with the same layout.
            unsafe { System.dealloc(self.ptr.as_ptr().cast(), Self::layout(self.len)) }
        }
    }
}

#[derive(Default)]
struct Shard {
    slots: Slots,
    len: usize,
}

impl Shard {
    #[inline]
    fn home(cap: usize, h: u128) -> usize {
        // Lemire's fast range reduction: maps the low 64 bits uniformly onto 0..cap.
        ((u128::from(h as u64) * cap as u128) >> 64) as usize
    }

    /// One more entry would pass the load limit.
    #[inline]
    fn full(&self) -> bool {
        (self.len + 1) * LOAD_DEN > self.slots.len() * LOAD_NUM
    }

    fn grow(&mut self) {
        self.resize(slots_for(self.len + 1).max(self.slots.len() + self.slots.len() / 4));
    }

    /// Insert; returns false when already present. The caller made room ([`Self::full`]).
    #[inline]
    fn insert(&mut self, h: u128) -> bool {
        let cap = self.slots.len();
        let mut i = Self::home(cap, h);
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                self.slots[i] = h;
                self.len += 1;
                return true;
            }
            if s == h {
                return false;
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    #[inline]
    fn contains(&self, h: u128) -> bool {
        let cap = self.slots.len();
        if cap == 0 {
            return false;
        }
        let mut i = Self::home(cap, h);
        loop {
            match self.slots[i] {
                EMPTY => return false,
                s if s == h => return true,
                _ => {}
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    fn resize(&mut self, new_cap: usize) {
        let old = std::mem::replace(&mut self.slots, Slots::zeroed(new_cap));
        for &h in old.iter().filter(|&&h| h != EMPTY) {
            let mut i = Self::home(new_cap, h);
            while self.slots[i] != EMPTY {
                i += 1;
                if i == new_cap {
                    i = 0;
                }
            }
            self.slots[i] = h;
        }
    }
}

/// A set of `u128` hashes; see the module docs.
pub struct HashSet128 {
    shards: Vec<Shard>,
    len: usize,
    /// Bytes held at the worst moment so far (a shard's old and new slots during a resize).
    peak_bytes: usize,
}

impl Default for HashSet128 {
    fn default() -> Self {
        Self::new()
    }
}

impl HashSet128 {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            len: 0,
            peak_bytes: 0,
        }
    }

    /// Make room for `additional` more entries without growing step by step.
    pub fn reserve(&mut self, additional: usize) {
        let per_shard = (self.len + additional).div_ceil(SHARDS);
        let want = slots_for(per_shard + per_shard / 64); // slack for uneven shards
        for s in &mut self.shards {
            if want > s.slots.len() {
                s.resize(want);
            }
        }
    }

    /// Insert a hash; returns false if it was already present.
    #[inline]
    pub fn insert(&mut self, h: u128) -> bool {
        let h = normalise(h);
        let i = shard_of(h);
        if self.shards[i].full() {
            self.grow(i);
        }
        let added = self.shards[i].insert(h);
        self.len += usize::from(added);
        added
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, shard: usize) {
        let before = self.shards[shard].slots.len();
        self.shards[shard].grow();
        // Old and new slots were both alive during the copy.
        let during = self.allocated_bytes() + before * 16;
        self.peak_bytes = self.peak_bytes.max(during);
    }

    /// Whether `h` was inserted (the resume skip set asks this for every identifier).
    #[inline]
    pub fn contains(&self, h: u128) -> bool {
        let h = normalise(h);
        self.shards[shard_of(h)].contains(h)
    }

    /// Hint that `h` will be inserted soon: start loading its slot's cache line, so that a
    /// few misses overlap instead of being paid one by one.
    #[inline]
    pub fn prefetch(&self, h: u128) {
        let h = normalise(h);
        let shard = &self.shards[shard_of(h)];
        let cap = shard.slots.len();
        if cap == 0 {
            return;
        }
        let slot = shard.slots.as_ptr().wrapping_add(Shard::home(cap, h));
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is only a hint; it never faults and reads nothing we use.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(slot.cast::<i8>());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the tables (for tests and diagnostics).
    pub fn allocated_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.slots.len() * 16).sum()
    }

    /// The most bytes the tables ever held at once, resizes included.
    pub fn peak_bytes(&self) -> usize {
        self.peak_bytes.max(self.allocated_bytes())
    }
}

/// How far ahead of an insert its de-dup slot is prefetched.
const PREFETCH_AHEAD: usize = 16;

/// The de-duplicating side: owns the hash set and calls the callbacks, in input order.
pub(crate) struct Dedup<'c> {
    on_item: &'c mut dyn FnMut(Item) -> anyhow::Result<()>,
    on_reject: &'c mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    seen: HashSet128,
    ahead: Vec<u128>,
    /// The kind of every item when the spec fixes it (rows carry their own otherwise).
    fixed_kind: String,
    pub kept: u64,
    pub duplicates: u64,
}

impl<'c> Dedup<'c> {
    pub fn new(
        on_item: &'c mut dyn FnMut(Item) -> anyhow::Result<()>,
        on_reject: &'c mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    ) -> Self {
        Self {
            on_item,
            on_reject,
            seen: HashSet128::new(),
            ahead: Vec::with_capacity(CHUNK),
            fixed_kind: String::new(),
            kept: 0,
            duplicates: 0,
        }
    }

    /// Start the de-dup set at room for up to a million of an estimated `rows` (23 MiB,
    /// within the baseline): small inputs never resize, and a large one grows with its
    /// distinct values, not its rows (duplicates may be most of them).
    pub fn reserve(&mut self, rows: u64) {
        const START: u64 = 1 << 20;
        self.seen.reserve(rows.min(START) as usize);
    }

    /// The kind of items whose rows carry none (the spec's fixed kind).
    pub fn fixed_kind(&mut self, kind: &str) {
        kind.clone_into(&mut self.fixed_kind);
    }

    pub fn consume(&mut self, chunk: Chunk) -> anyhow::Result<()> {
        let Chunk {
            events,
            text: arena,
        } = chunk;
        // Every insert into a set far larger than the caches is a miss; prefetching a few
        // inserts ahead overlaps them.
        self.ahead.clear();
        self.ahead.extend(events.iter().filter_map(|e| match e {
            Event::Kept(k) => Some(k.hash),
            Event::Rejected(_) => None,
        }));
        for &h in self.ahead.iter().take(PREFETCH_AHEAD) {
            self.seen.prefetch(h);
        }
        let mut next = PREFETCH_AHEAD;
        for e in events {
            match e {
                Event::Rejected(r) => (self.on_reject)(&r)?,
                Event::Kept(k) => {
                    if let Some(&later) = self.ahead.get(next) {
                        self.seen.prefetch(later);
                    }
                    next += 1;
                    if self.seen.insert(k.hash) {
                        self.kept += 1;
                        let item = self.item(&arena, &k);
                        (self.on_item)(item)?;
                    } else {
                        self.duplicates += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// The item of a row that is not a duplicate: its strings are made here, by the thread
    /// that also frees them (the batcher's side), which costs mimalloc far less than
    /// freeing what another thread allocated.
    fn item(&self, arena: &str, k: &Kept) -> Item {
        Item {
            file: k.file,
            row: k.row,
            value: text(arena, k.value).to_owned(),
            kind: match k.kind {
                Some(r) => text(arena, r).to_owned(),
                None => self.fixed_kind.clone(),
            },
            lookup: k.lookup.map(|r| text(arena, r).to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxhash_rust::xxh3::xxh3_128;

    #[test]
    fn inserts_once_and_counts() {
        let mut s = HashSet128::new();
        for i in 0u64..100_000 {
            assert!(s.insert(xxh3_128(&i.to_le_bytes())));
        }
        for i in 0u64..100_000 {
            assert!(!s.insert(xxh3_128(&i.to_le_bytes())), "{i} re-inserted");
        }
        assert_eq!(s.len(), 100_000);
        assert!(s.contains(xxh3_128(&7u64.to_le_bytes())));
        assert!(!s.contains(xxh3_128(&100_001u64.to_le_bytes())));
        assert!(!HashSet128::new().contains(5));
        // Zero is a legal hash value too.
        assert!(s.insert(0));
        assert!(!s.insert(0));
    }

    #[test]
    fn stays_compact() {
        let mut s = HashSet128::new();
        let n = 1_000_000u64;
        for i in 0..n {
            s.insert(xxh3_128(&i.to_le_bytes()));
        }
        // At most 16 B / 0.68 per entry (grown from 0.85 by 1.25×).
        let per_entry = s.allocated_bytes() as f64 / n as f64;
        assert!(per_entry <= 16.0 / 0.68 + 0.2, "{per_entry} B per entry");
        for i in 0..n {
            assert!(!s.insert(xxh3_128(&i.to_le_bytes())));
        }
        assert_eq!(s.len(), n as usize);
    }

    #[test]
    fn memory_follows_distinct_values_not_rows() {
        // 300,000 distinct values, each seen five times (the 50M-row file in small), after a
        // row estimate of 200,000: never more than 24 bytes per distinct value, resizes
        // included. (Estimates start the table at most at a million rows, 20 MiB.)
        let mut on_item = |_: Item| Ok(());
        let mut on_reject = |_: &Reject| Ok(());
        let mut d = Dedup::new(&mut on_item, &mut on_reject);
        d.reserve(200_000);
        let distinct = 300_000u64;
        for _ in 0..5 {
            for i in 0..distinct {
                d.seen.insert(xxh3_128(&i.to_le_bytes()));
            }
        }
        assert_eq!(d.seen.len() as u64, distinct);
        let peak = d.seen.peak_bytes() as f64;
        assert!(
            peak <= 24.0 * distinct as f64,
            "{:.1} bytes per distinct value at the peak",
            peak / distinct as f64
        );
        // And a huge estimate alone takes no more than the start size.
        let mut on_item = |_: Item| Ok(());
        let mut on_reject = |_: &Reject| Ok(());
        let mut d = Dedup::new(&mut on_item, &mut on_reject);
        d.reserve(50_000_000);
        assert!(
            d.seen.allocated_bytes() <= 21 << 20,
            "{}",
            d.seen.allocated_bytes()
        );
    }

    #[test]
    fn grows_from_empty_within_24_bytes_per_entry() {
        let mut s = HashSet128::new();
        for n in [1_000u64, 100_000, 1_000_000] {
            while (s.len() as u64) < n {
                s.insert(xxh3_128(&(s.len() as u64).to_le_bytes()));
            }
            let per = s.peak_bytes() as f64 / n as f64;
            // Below a few thousand entries the 16 shards' minimum size dominates.
            assert!(n < 10_000 || per <= 24.0, "{n}: {per:.1} B per entry");
        }
    }

    #[test]
    fn reserve_sizes_once_and_keeps_entries() {
        let mut s = HashSet128::new();
        for i in 0u64..1000 {
            s.insert(xxh3_128(&i.to_le_bytes()));
        }
        s.reserve(200_000);
        let after_reserve = s.allocated_bytes();
        assert!(after_reserve <= 200_000 * 20, "{after_reserve}");
        for i in 0u64..1000 {
            assert!(!s.insert(xxh3_128(&i.to_le_bytes())), "lost {i} in reserve");
        }
        for i in 1000u64..150_000 {
            s.insert(xxh3_128(&i.to_le_bytes()));
        }
        assert_eq!(s.allocated_bytes(), after_reserve, "grew despite reserve");
    }

    #[test]
    fn same_low_bits_do_not_collide() {
        let mut s = HashSet128::new();
        // Same shard, same home slot, different values: linear probing must keep all.
        for i in 1u128..1000 {
            assert!(s.insert(i << 64));
        }
        assert_eq!(s.len(), 999);
        for i in 1u128..1000 {
            assert!(!s.insert(i << 64));
        }
    }
}
