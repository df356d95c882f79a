//! A compact set of 128-bit hashes for de-duplication.
//!
//! Why not `HashSet<u128>`: std/hashbrown tables have power-of-two bucket counts, so ~8.5 M
//! entries land in 16 M buckets (256 MiB + control bytes), and growing doubles the table
//! while the old one is still alive. Here the set is split into shards picked by the top hash
//! bits; each shard is an open-addressing table (linear probing) whose size is *not* a power
//! of two (slot = fast range reduction of the low hash bits) and grows by 1.25×, so memory
//! stays within 16 B / 0.68 per entry and a resize copies one shard (1/16 of the set).
//!
//! Speed: at millions of entries every insert is a cache and TLB miss. Shards are large
//! enough for transparent huge pages (asked for with `madvise` on Linux), callers can
//! [`HashSet128::prefetch`] a few inserts ahead, and [`HashSet128::reserve`] sizes the table
//! once from an estimate instead of growing it step by step.
//!
//! `Dedup` is the pipeline stage around the set: it receives cleaned rows in order,
//! drops repeats and runs the caller's callbacks.

use std::alloc::{GlobalAlloc, Layout, System, handle_alloc_error};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::Reject;
use super::clean::{CHUNK, Event};
use crate::batch::Item;

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

/// The slots of one shard: a zeroed `[u128]` taken from the system allocator.
///
/// The table is the one large, long-lived allocation of a run. Taken straight from the C
/// allocator (mmap for sizes like these), a grown-out shard's memory goes back to the OS
/// when it is freed, instead of lingering in the global allocator's caches (mimalloc keeps
/// freed segments for a while: about +25 MiB peak RSS on 10 M rows read from gzip).
struct Slots {
    ptr: NonNull<u128>,
    len: usize,
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
        }
    }
}

impl Slots {
    fn layout(len: usize) -> Layout {
        Layout::array::<u128>(len).unwrap_or_else(|_| handle_alloc_error(Layout::new::<u128>()))
    }

    /// `len` empty slots, with huge pages requested for big tables (fewer TLB misses).
    fn zeroed(len: usize) -> Self {
        if len == 0 {
            return Self::default();
        }
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { System.alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<u128>()) else {
            handle_alloc_error(layout)
        };
        let slots = Self { ptr, len };
        #[cfg(target_os = "linux")]
        advise_huge_pages(&slots);
        slots
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
        if self.len > 0 {
            // SAFETY: allocated in `zeroed` by the same allocator with the same layout.
            unsafe { System.dealloc(self.ptr.as_ptr().cast(), Self::layout(self.len)) }
        }
    }
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(v: &[u128]) {
    const HUGE: usize = 2 << 20;
    let bytes = std::mem::size_of_val(v);
    if bytes < 2 * HUGE {
        return;
    }
    let start = v.as_ptr() as usize;
    let page = 4096;
    let aligned = start.next_multiple_of(page);
    let len = (start + bytes - aligned) / page * page;
    // SAFETY: the range lies inside `v`'s allocation; MADV_HUGEPAGE changes no contents and
    // its failure (e.g. THP disabled) only costs speed, so the result is ignored.
    unsafe {
        libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
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

    /// Insert; returns false when already present.
    #[inline]
    fn insert(&mut self, h: u128) -> bool {
        if (self.len + 1) * LOAD_DEN > self.slots.len() * LOAD_NUM {
            self.resize(slots_for(self.len + 1).max(self.slots.len() + self.slots.len() / 4));
        }
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
        let added = self.shards[shard_of(h)].insert(h);
        self.len += usize::from(added);
        added
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
}

/// How far ahead of an insert its de-dup slot is prefetched.
const PREFETCH_AHEAD: usize = 16;

/// The de-duplicating side: owns the hash set and calls the callbacks, in input order.
pub(crate) struct Dedup<'c> {
    on_item: &'c mut dyn FnMut(Item) -> anyhow::Result<()>,
    on_reject: &'c mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    seen: HashSet128,
    ahead: Vec<u128>,
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
            kept: 0,
            duplicates: 0,
        }
    }

    /// Size the de-dup set for about `rows` rows (an estimate; it grows if needed).
    pub fn reserve(&mut self, rows: u64) {
        // Beyond this the estimate is more likely wrong than the file that large.
        const MAX: u64 = 1 << 27;
        self.seen.reserve(rows.min(MAX) as usize);
    }

    pub fn consume(&mut self, chunk: Vec<Event>) -> anyhow::Result<()> {
        // Every insert into a set far larger than the caches is a miss; prefetching a few
        // inserts ahead overlaps them.
        self.ahead.clear();
        self.ahead.extend(chunk.iter().filter_map(|e| match e {
            Event::Kept(h, _) => Some(*h),
            Event::Rejected(_) => None,
        }));
        for &h in self.ahead.iter().take(PREFETCH_AHEAD) {
            self.seen.prefetch(h);
        }
        let mut next = PREFETCH_AHEAD;
        for e in chunk {
            match e {
                Event::Rejected(r) => (self.on_reject)(&r)?,
                Event::Kept(h, item) => {
                    if let Some(&later) = self.ahead.get(next) {
                        self.seen.prefetch(later);
                    }
                    next += 1;
                    if self.seen.insert(h) {
                        self.kept += 1;
                        (self.on_item)(item)?;
                    } else {
                        self.duplicates += 1;
                    }
                }
            }
        }
        Ok(())
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
