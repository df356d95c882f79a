//! A compact set of 128-bit hashes for de-duplication.
//!
//! Why not `HashSet<u128>`: std/hashbrown tables have power-of-two bucket counts, so ~8.5 M
//! entries land in 16 M buckets (256 MiB + control bytes), and growing doubles the table
//! while the old one is still alive. Here the set is split into shards picked by the top hash
//! bits; each shard is an open-addressing table (linear probing) whose size is *not* a power
//! of two (slot = fast range reduction of the low hash bits) and grows by 1.25×. Memory stays
//! within 16 B / 0.64 per entry at worst, and a resize only ever copies one small shard.

const SHARD_BITS: u32 = 8;
const SHARDS: usize = 1 << SHARD_BITS;
/// A shard grows when its load would pass LOAD_NUM / LOAD_DEN (linear probing stays short).
const LOAD_NUM: usize = 4;
const LOAD_DEN: usize = 5;
const MIN_SHARD_SLOTS: usize = 16;

/// `0` marks an empty slot; a real hash of 0 is stored as 1 (a 2^-128 event that would at
/// worst merge two values).
const EMPTY: u128 = 0;

#[derive(Default)]
struct Shard {
    slots: Vec<u128>,
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
            self.grow();
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

    fn grow(&mut self) {
        let new_cap = (self.slots.len() + self.slots.len() / 4).max(MIN_SHARD_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; new_cap]);
        self.len = 0;
        for h in old.into_iter().filter(|&h| h != EMPTY) {
            let mut i = Self::home(new_cap, h);
            while self.slots[i] != EMPTY {
                i += 1;
                if i == new_cap {
                    i = 0;
                }
            }
            self.slots[i] = h;
            self.len += 1;
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

    /// Insert a hash; returns false if it was already present.
    #[inline]
    pub fn insert(&mut self, h: u128) -> bool {
        let h = if h == EMPTY { 1 } else { h };
        let shard = (h >> (128 - SHARD_BITS)) as usize;
        let added = self.shards[shard].insert(h);
        self.len += usize::from(added);
        added
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the tables (for tests and diagnostics).
    pub fn allocated_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.slots.capacity() * 16).sum()
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
        // At most 16 B / 0.64 per entry, plus the minimum shard sizes.
        let per_entry = s.allocated_bytes() as f64 / n as f64;
        assert!(per_entry <= 16.0 / 0.64 + 0.5, "{per_entry} B per entry");
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
