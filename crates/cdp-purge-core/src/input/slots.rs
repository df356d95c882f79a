//! The memory behind one de-dup shard: a zeroed `[u128]` that can grow where it is.
//!
//! The table is the one large, long-lived allocation of a run, and every insert lands at a
//! random place in it: with 4 KiB pages each probe is a TLB miss as well as a cache miss
//! (perf: a quarter of intake's CPU once the shards grew by steps instead of being sized
//! once, with 64 shards too small for huge pages). A big shard is therefore its own
//! anonymous mapping aligned to 2 MiB, with huge pages asked for (`madvise`): the kernel
//! backs it with 2 MiB pages and zeroes it as it is touched.
//!
//! Growing used to mean a fresh mapping, every entry copied into it, the old one unmapped:
//! the kernel zeroed the whole new table, both were alive during the copy, and the copy ran
//! about four times per entry over a run (perf on 10 M rows: resizing and page zeroing 11%
//! of intake's CPU, and inserts into a just-grown table at 0.85 load were the rest of the
//! growth bill). Now a big shard reserves address space far past its size (`PROT_NONE`,
//! nothing committed, no memory used) and grows by making more of it writable
//! ([`Slots::extend`]): only the added pages are zeroed, no byte is copied to another
//! place, and the old and the new table are never alive side by side. Where the reservation
//! is refused (a `ulimit -v`, another OS) or used up, the shard is copied into new memory as
//! before. Freed, a shard goes straight back to the OS (the C allocator's heap, or
//! mimalloc's caches, would keep it: about +25 MiB peak RSS on 10 M rows read from gzip).
//! Every shard is such a mapping, small ones too: a writable part under 2 MiB gets 4 KiB
//! pages, so a small set stays small, and growing never holds two tables.

use std::alloc::{GlobalAlloc, Layout, System, handle_alloc_error};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Bytes of a transparent huge page (x86-64 and aarch64 with 4 KiB pages).
#[cfg(target_os = "linux")]
const HUGE: usize = 2 << 20;

/// Slots in one huge page: a big shard's size is a whole number of them (see
/// `dedupe::whole_huge_pages`).
pub(super) const HUGE_SLOTS: usize = (2 << 20) / std::mem::size_of::<u128>();

/// Address space reserved per shard (not memory: nothing is committed or touched until
/// [`Slots::extend`] makes it writable). 1 GiB holds 67 M slots, a shard of an
/// 850-million-entry set; a set's 16 shards take 16 GiB of the 128 TiB a 64-bit process
/// can address.
#[cfg(target_os = "linux")]
const RESERVE: usize = 1 << 30;

/// `madvise` advice: collapse a range into huge pages now (Linux 6.1; not in every libc's
/// headers).
#[cfg(target_os = "linux")]
const MADV_COLLAPSE: libc::c_int = 25;

pub(super) struct Slots {
    ptr: NonNull<u128>,
    len: usize,
    /// The whole mapping (start, bytes reserved) when the slots are a mapping of their own.
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

/// Bytes of `len` slots rounded up to whole 4 KiB pages.
#[cfg(target_os = "linux")]
fn page_bytes(len: usize) -> Option<usize> {
    len.checked_mul(std::mem::size_of::<u128>())?
        .checked_next_multiple_of(4096)
}

impl Slots {
    fn layout(len: usize) -> Layout {
        Layout::array::<u128>(len).unwrap_or_else(|_| handle_alloc_error(Layout::new::<u128>()))
    }

    /// `len` empty slots: a mapping of their own (Linux), else from the system allocator.
    pub(super) fn zeroed(len: usize) -> Self {
        if len == 0 {
            return Self::default();
        }
        #[cfg(target_os = "linux")]
        if let Some(s) = Self::mapped(len) {
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

    /// Make the slots `new_len` long where they are, the added ones empty; false (nothing
    /// changed) when they cannot grow in place: not a mapping of their own, or past its
    /// reservation. The entries keep their positions: the caller rehashes them.
    pub(super) fn extend(&mut self, new_len: usize) -> bool {
        #[cfg(target_os = "linux")]
        if let Some((base, reserved)) = self.mapped
            && new_len >= self.len
            && let Some(bytes) = page_bytes(new_len)
            && bytes <= reserved
        {
            // SAFETY: the range lies inside the reservation made in `mapped`; pages that are
            // already writable keep their contents, the others read as zero once writable.
            let ok =
                unsafe { libc::mprotect(base.as_ptr(), bytes, libc::PROT_READ | libc::PROT_WRITE) }
                    == 0;
            if ok {
                let old = page_bytes(self.len).unwrap_or(bytes);
                // SAFETY: the pages from the old writable end to `bytes` were PROT_NONE
                // until now, so no slot in them was ever written.
                unsafe { touch(base.as_ptr().cast(), old, bytes) };
                if old <= HUGE && bytes > HUGE {
                    // The first 2 MiB filled up in 4 KiB pages while the shard was small;
                    // now that it is big, have them copied into one huge page (Linux 6.1+;
                    // elsewhere the call fails and they stay 4 KiB pages, as before).
                    // SAFETY: a range of our own writable mapping; contents are kept.
                    unsafe { libc::madvise(base.as_ptr(), HUGE, MADV_COLLAPSE) };
                }
                self.len = new_len;
            }
            return ok;
        }
        let _ = new_len;
        false
    }

    /// A 2 MiB-aligned reservation of [`RESERVE`] bytes (or more, for a bigger table) whose
    /// first `len` slots are writable, with huge pages asked for (the whole 2 MiB pages get
    /// them); `None` when the OS refuses (the caller falls back).
    #[cfg(target_os = "linux")]
    fn mapped(len: usize) -> Option<Self> {
        let bytes = page_bytes(len)?;
        let reserved = bytes.max(RESERVE).checked_next_multiple_of(HUGE)?;
        let total = reserved.checked_add(HUGE)?;
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched. PROT_NONE
        // and MAP_NORESERVE: address space only, no memory committed.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return None;
        }
        let start = raw as usize;
        let aligned = start.next_multiple_of(HUGE);
        let (head, tail) = (aligned - start, total - (aligned - start) - reserved);
        // SAFETY: both ranges lie inside the mapping just made and are not used; unmapping
        // them only gives address space back. MADV_HUGEPAGE changes no contents, and its
        // failure (THP disabled) only costs speed. The writable prefix is then what `len`
        // slots need, inside the reservation.
        let writable = unsafe {
            if head > 0 {
                libc::munmap(raw, head);
            }
            if tail > 0 {
                libc::munmap((aligned + reserved) as *mut libc::c_void, tail);
            }
            libc::madvise(aligned as *mut libc::c_void, reserved, libc::MADV_HUGEPAGE);
            libc::mprotect(
                aligned as *mut libc::c_void,
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
            ) == 0
        };
        let base = NonNull::new(aligned as *mut libc::c_void)?;
        if !writable {
            // SAFETY: the aligned reservation made above, unused.
            unsafe { libc::munmap(base.as_ptr(), reserved) };
            return None;
        }
        Some(Self {
            ptr: base.cast::<u128>(),
            len,
            mapped: Some((base, reserved)),
        })
    }
}

/// Write-fault the pages of `base[from..to]` (byte offsets, whole 4 KiB pages) before the
/// table's first read of them.
///
/// Why: a hash table reads a slot before it writes it, and the kernel answers a read fault
/// on untouched anonymous memory with its shared (huge) zero page; a write to the huge zero
/// page splits that mapping into 4 KiB pages instead of allocating a huge one. Only the
/// pages a shard *grows* by are touched: a shard grows when it is full, its entries are
/// rehashed over the new length and later inserts land uniformly, so those pages would be
/// committed soon anyway. A new shard's pages are not: it may be sized from an estimate
/// that the input never reaches (a small input keeps a small footprint).
///
/// # Safety
/// `base[from..to]` must be writable and no byte in it written before (it reads as zero,
/// and zero is written).
#[cfg(target_os = "linux")]
unsafe fn touch(base: *mut u8, from: usize, to: usize) {
    let mut at = from.next_multiple_of(4096);
    while at < to {
        // SAFETY: inside the writable, never-written range (the caller's promise); a
        // volatile write so that the fault is not optimised away.
        unsafe { std::ptr::write_volatile(base.add(at), 0) };
        at += 4096;
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
            // SAFETY: the reservation made in `mapped`, unmapped once.
            unsafe { libc::munmap(base.as_ptr(), bytes) };
            return;
        }
        if self.len > 0 {
            // SAFETY: allocated in `zeroed` by the same allocator with the same layout.
            unsafe { System.dealloc(self.ptr.as_ptr().cast(), Self::layout(self.len)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_table_grows_where_it_is_and_keeps_its_contents() {
        let mut s = Slots::zeroed(HUGE_SLOTS + 3);
        let at = s.as_ptr();
        s[0] = 7;
        s[HUGE_SLOTS + 2] = 9;
        let grown = s.extend(HUGE_SLOTS * 3 + 5);
        #[cfg(target_os = "linux")]
        assert!(grown, "a mapped table grows in place");
        if grown {
            assert_eq!(s.len(), HUGE_SLOTS * 3 + 5);
            assert_eq!(s.as_ptr(), at, "moved");
            assert_eq!((s[0], s[HUGE_SLOTS + 2]), (7, 9));
            assert!(s[HUGE_SLOTS + 3..].iter().all(|&x| x == 0));
            s[HUGE_SLOTS * 3 + 4] = 1; // writable to the end
        }
        // Past its reservation a table does not grow in place (the caller copies it).
        #[cfg(target_os = "linux")]
        {
            let mut small = Slots::zeroed(100);
            let room = RESERVE / std::mem::size_of::<u128>();
            assert!(!small.extend(room + 1));
            assert_eq!(small.len(), 100);
        }
    }
}
