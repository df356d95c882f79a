//! A compact set of 128-bit hashes for de-duplication.
//!
//! Why not `HashSet<u128>`: std/hashbrown tables have power-of-two bucket counts, so ~8.5 M
//! entries land in 16 M buckets (256 MiB + control bytes), and growing doubles the table
//! while the old one is still alive. Here the set is split into shards picked by the top hash
//! bits; each shard is an open-addressing table (linear probing) whose size is *not* a power
//! of two (slot = fast range reduction of the low hash bits). A shard grows by 1.4× when its
//! load would pass 0.81, in place (see `slots`), and the shards' sizes are staggered
//! (shard `i` is 1.4^(i/16) times shard 0's at the same fill) so that their growth steps
//! are spread evenly instead of all falling together: at any moment the shards' loads are
//! spread over 0.58–0.81, and the set holds 16 B × 1.19 / 0.81 ≈ 23.5 B per entry (at most
//! 24 bytes per distinct identifier, whatever the number of rows).
//!
//! Why: with every shard growing by 1.25× at 0.85 together, the whole set swung between
//! loads of 0.68 and 0.85, where an insert into a linear-probing table walks 5 to 20 slots
//! (up to five cache lines); that, and copying each entry about four times into freshly
//! zeroed tables, was most of the de-dup cost (10 M rows: ~2.3 CPU-s, against 0.8 s for
//! the same inserts into a table sized once). Now the average walk is shorter, each entry
//! is moved about 2.5 times, in place, and no page is zeroed twice.
//!
//! The table grows with what it holds, never with an estimate of the input: a file of 50 M
//! rows holding 9.5 M distinct values used to be sized for 50 M (1 GiB).
//!
//! Speed: at millions of entries every insert is a cache and TLB miss. Shards are large
//! enough for transparent huge pages (asked for with `madvise` on Linux), and callers can
//! [`HashSet128::prefetch`] a few inserts ahead.
//!
//! The pipeline stages around the set are in `stages`.

use super::slots::{HUGE_SLOTS, Slots};

/// 16 shards: at 10 M entries each is ~12 MiB, six huge pages (with 64, a shard of 3 MiB
/// was mostly 4 KiB pages); a resize still copies only a sixteenth of the set.
const SHARD_BITS: u32 = 4;
const SHARDS: usize = 1 << SHARD_BITS;
/// A shard grows when its load would pass LOAD_NUM / LOAD_DEN.
const LOAD_NUM: usize = 81;
const LOAD_DEN: usize = 100;
const MIN_SHARD_SLOTS: usize = 64;
/// A shard grows by GROWTH_NUM / GROWTH_DEN at a time.
const GROWTH_NUM: usize = 7;
const GROWTH_DEN: usize = 5;

/// Shard `i`'s size relative to shard 0's at the same fill: one growth step spread evenly
/// over the shards (see the module docs).
fn stagger(i: usize) -> f64 {
    (GROWTH_NUM as f64 / GROWTH_DEN as f64).powf(i as f64 / SHARDS as f64)
}

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

/// A big shard's new size: `want` rounded to the nearest whole number of huge pages, but
/// at least `need` and more than `old`; a small one's is `want`.
///
/// Why: a shard's pages are huge (2 MiB) only where a whole aligned 2 MiB range of its
/// mapping was writable when first touched. Grown by exactly 1.4×, a shard's end fell
/// inside a 2 MiB range that its next growth then filled with 4 KiB pages, and the next
/// range was not yet whole: on 10 M rows 32 of 204 MiB were huge pages, and every insert
/// paid a TLB miss. Rounding to the *nearest* whole page (not up) keeps the average
/// growth step, and so the memory per entry, where it was.
fn whole_huge_pages(want: usize, need: usize, old: usize) -> usize {
    const H: usize = HUGE_SLOTS;
    if want < H {
        return want;
    }
    let mut cap = (want + H / 2) / H * H;
    if cap <= old {
        cap = (old / H + 1) * H;
    }
    cap.max(need.next_multiple_of(H))
}

/// Slots needed to hold `n` entries under the load limit.
fn slots_for(n: usize) -> usize {
    (n * LOAD_DEN / LOAD_NUM + 1).max(MIN_SHARD_SLOTS)
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

    /// Grow by a step (the first one to the minimum size times `stagger`); returns
    /// whether the old slots were alive beside the new ones (a copy), for the peak count.
    fn grow(&mut self, stagger: f64) -> bool {
        let old_cap = self.slots.len();
        let step = if old_cap == 0 {
            (MIN_SHARD_SLOTS as f64 * stagger) as usize
        } else {
            old_cap / GROWTH_DEN * GROWTH_NUM + old_cap % GROWTH_DEN
        };
        let need = slots_for(self.len + 1);
        self.resize(whole_huge_pages(need.max(step), need, old_cap))
    }

    /// Make the table `new_cap` slots (at least its size): in place when the slots can
    /// grow where they are, else by a copy; returns whether it was a copy.
    fn resize(&mut self, new_cap: usize) -> bool {
        let old_cap = self.slots.len();
        if self.slots.extend(new_cap) {
            rehash_grown(&mut self.slots, old_cap);
            return false;
        }
        let old = std::mem::replace(&mut self.slots, Slots::zeroed(new_cap));
        for &h in old.iter().filter(|&&h| h != EMPTY) {
            place(&mut self.slots, h);
        }
        true
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
}

/// Put `h` (not present) in the first empty slot from its home on, wrapping at the end.
fn place(slots: &mut [u128], h: u128) {
    let cap = slots.len();
    let mut i = Shard::home(cap, h);
    while slots[i] != EMPTY {
        i += 1;
        if i == cap {
            i = 0;
        }
    }
    slots[i] = h;
}

/// Rehash a table whose first `old_cap` slots hold a valid table for `old_cap` and whose
/// other slots were just added, empty: in place, without a second table.
///
/// Homes only move right as the table grows (`home` is monotone in the capacity), so
/// walking the old slots from the last to the first, each entry is lifted out and put in
/// the first empty slot from its new home on: every slot from that home on belongs to
/// entries already placed (they came from further right), and the slots that are still to
/// be emptied all lie left of it, so no placed entry's probe run ever gets a hole. The few
/// entries whose new home is left of where they sat (pushed far along a cluster near the
/// start) or that would wrap around the end are held aside and inserted normally last.
fn rehash_grown(slots: &mut [u128], old_cap: usize) {
    let cap = slots.len();
    let mut aside = Vec::new();
    for k in (0..old_cap).rev() {
        let h = slots[k];
        if h == EMPTY {
            continue;
        }
        slots[k] = EMPTY;
        let mut i = Shard::home(cap, h);
        if i < k {
            aside.push(h);
            continue;
        }
        while i < cap && slots[i] != EMPTY {
            i += 1;
        }
        if i == cap {
            aside.push(h);
        } else {
            slots[i] = h;
        }
    }
    for h in aside {
        place(slots, h);
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
        for (i, s) in self.shards.iter_mut().enumerate() {
            let want = (want as f64 * stagger(i)) as usize;
            if want > s.slots.len() {
                s.resize(want);
            }
        }
    }

    /// The de-dup set of an intake with an estimated `rows`: room for up to 900,000 of
    /// them (21 MiB, within the baseline), so that small inputs never resize and a large one
    /// grows with its distinct values, not its rows (duplicates may be most of them).
    pub fn for_rows(rows: u64) -> Self {
        const START: u64 = 900_000;
        let mut s = Self::new();
        s.reserve(rows.min(START) as usize);
        s
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
        if self.shards[shard].grow(stagger(shard)) {
            // Old and new slots were both alive during the copy.
            let during = self.allocated_bytes() + before * 16;
            self.peak_bytes = self.peak_bytes.max(during);
        }
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
            let line = slot.cast::<i8>();
            for k in 0..PREFETCH_LINES {
                _mm_prefetch::<_MM_HINT_T0>(line.wrapping_add(64 * k));
            }
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

/// Cache lines prefetched from a home slot on: at the load a shard reaches before it
/// grows, an insert walks a few slots past its home, often into the next line.
const PREFETCH_LINES: usize = 3;

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
        // Staggered shards, loads 0.58-0.81: about 16 B x 1.19 / 0.81 per entry.
        let per_entry = s.allocated_bytes() as f64 / n as f64;
        assert!(per_entry <= 24.0, "{per_entry} B per entry");
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
        let mut seen = HashSet128::for_rows(200_000);
        let distinct = 300_000u64;
        for _ in 0..5 {
            for i in 0..distinct {
                seen.insert(xxh3_128(&i.to_le_bytes()));
            }
        }
        assert_eq!(seen.len() as u64, distinct);
        let peak = seen.peak_bytes() as f64;
        assert!(
            peak <= 24.0 * distinct as f64,
            "{:.1} bytes per distinct value at the peak",
            peak / distinct as f64
        );
        // And a huge estimate alone takes no more than the start size.
        let seen = HashSet128::for_rows(50_000_000);
        assert!(
            seen.allocated_bytes() <= 21 << 20,
            "{}",
            seen.allocated_bytes()
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
    fn big_shards_grow_by_whole_huge_pages_about_as_fast_as_before() {
        const H: usize = HUGE_SLOTS;
        // Small shards grow exactly as asked.
        assert_eq!(whole_huge_pages(1000, 900, 700), 1000);
        // Big ones: the nearest whole number of huge pages, never below what is needed,
        // always bigger than before.
        assert_eq!(whole_huge_pages(5 * H + H / 3, 4 * H, 4 * H), 5 * H);
        assert_eq!(whole_huge_pages(5 * H + 2 * H / 3, 4 * H, 4 * H), 6 * H);
        assert_eq!(whole_huge_pages(2 * H + 1, 2 * H + 1, 2 * H), 3 * H);
        assert_eq!(whole_huge_pages(H + H / 4, H, H / 2), H);
        // Over a long run of growth steps from a huge page on, the sizes are whole pages
        // and the average step stays within a few percent of 1.4.
        let mut cap = H;
        let mut steps = 0;
        while cap < 400 * H {
            let step = cap / GROWTH_DEN * GROWTH_NUM + cap % GROWTH_DEN;
            let need = slots_for(cap * LOAD_NUM / LOAD_DEN + 1);
            let next = whole_huge_pages(need.max(step), need, cap);
            assert!(
                next > cap && next >= need && next.is_multiple_of(H),
                "{cap} -> {next}"
            );
            cap = next;
            steps += 1;
        }
        let mean = (cap as f64 / H as f64).powf(1.0 / f64::from(steps));
        assert!(
            (1.35..=1.5).contains(&mean),
            "mean step {mean:.3} over {steps}"
        );
    }

    #[test]
    fn reserve_sizes_once_and_keeps_entries() {
        let mut s = HashSet128::new();
        for i in 0u64..1000 {
            s.insert(xxh3_128(&i.to_le_bytes()));
        }
        s.reserve(200_000);
        let after_reserve = s.allocated_bytes();
        assert!(after_reserve <= 200_000 * 24, "{after_reserve}");
        for i in 0u64..1000 {
            assert!(!s.insert(xxh3_128(&i.to_le_bytes())), "lost {i} in reserve");
        }
        for i in 1000u64..150_000 {
            s.insert(xxh3_128(&i.to_le_bytes()));
        }
        assert_eq!(s.allocated_bytes(), after_reserve, "grew despite reserve");
    }

    /// Whether `h` is found from its home on (the lookup every insert does).
    fn found(slots: &[u128], h: u128) -> bool {
        let cap = slots.len();
        let mut i = Shard::home(cap, h);
        for _ in 0..cap {
            match slots[i] {
                EMPTY => return false,
                s if s == h => return true,
                _ => i = (i + 1) % cap,
            }
        }
        false
    }

    #[test]
    fn growing_in_place_keeps_every_entry_findable() {
        let mut rng = fastrand::Rng::with_seed(11);
        for round in 0..300 {
            let old_cap = rng.usize(1..400);
            let n = rng.usize(0..=old_cap * 17 / 20);
            // Crowd some homes near the start and the end, where entries are pushed past
            // their new home or wrap around.
            let hs: Vec<u128> = (0..n)
                .map(|_| {
                    let lo = match rng.u8(0..4) {
                        0 => rng.u64(..u64::MAX / 50),
                        1 => rng.u64(u64::MAX - u64::MAX / 50..),
                        _ => rng.u64(..),
                    };
                    normalise(u128::from(rng.u64(..)) << 64 | u128::from(lo))
                })
                .collect::<std::collections::HashSet<_>>()
                .into_iter()
                .collect();
            let mut slots = vec![EMPTY; old_cap];
            for &h in &hs {
                place(&mut slots, h);
            }
            let new_cap = old_cap + rng.usize(0..=old_cap);
            slots.resize(new_cap, EMPTY);
            rehash_grown(&mut slots, old_cap);
            let held = slots.iter().filter(|&&s| s != EMPTY).count();
            assert_eq!(held, hs.len(), "round {round}: entries lost or doubled");
            for &h in &hs {
                assert!(found(&slots, h), "round {round}: {h:x} not found");
            }
            assert!(!found(&slots, 0x5555) || hs.contains(&0x5555));
        }
    }

    #[test]
    fn a_big_shard_grows_in_place_and_matches_a_std_set() {
        // From HUGE_SLOTS on, a shard's slots are a mapping of their own that grows in
        // place; a std set is the reference for every answer.
        let mut shard = Shard {
            slots: Slots::zeroed(HUGE_SLOTS),
            len: 0,
        };
        let mut reference = std::collections::HashSet::new();
        let mut rng = fastrand::Rng::with_seed(3);
        let (distinct, mut grown) = (600_000u64, 0);
        for _ in 0..distinct + distinct / 4 {
            let v = rng.u64(..distinct);
            if shard.full() {
                let copied = shard.grow(1.0);
                assert!(!copied || cfg!(not(target_os = "linux")), "copied");
                grown += 1;
            }
            let h = normalise(xxh3_128(&v.to_le_bytes()));
            assert_eq!(shard.insert(h), reference.insert(v), "{v}");
        }
        assert_eq!(shard.len, reference.len());
        assert!(grown >= 3, "{grown} growth steps");
        for v in 0..distinct {
            let h = normalise(xxh3_128(&v.to_le_bytes()));
            assert_eq!(shard.contains(h), reference.contains(&v), "{v}");
        }
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
