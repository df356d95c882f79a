//! The two per-identifier costs of a ledger that are not SHA-256 itself: HMAC-SHA-256 under
//! the ledger key (every identifier's `id_hmac` and resume key) and lowercase hex (the
//! HMAC's 64 digits and the key's 32, on every outcome line and every first `sent` line).
//!
//! Why not the `hmac` and `hex` crates: at the quota a paced run does little else per
//! identifier, and the crates' generic paths cost as much again as the arithmetic (the
//! prepared `Hmac` is cloned, buffered and padded through the digest traits for every
//! message; `hex` goes a byte at a time). Here the key's two pad blocks are absorbed once
//! and a message is padded on the stack and handed to sha2's compression function (SHA-NI
//! where the CPU has it, as the crate's own digests); hex takes 16 bytes at a time with SSE2
//! on x86-64. A batch's MACs go sixteen at a time where the CPU has AVX-512 (`lanes`). Same
//! bytes as the crates: the tests compare both with them.

use sha2::digest::generic_array::GenericArray;

#[cfg(target_arch = "x86_64")]
mod lanes;

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const BLOCK: usize = 64;

/// HMAC-SHA-256 (RFC 2104) under one 32-byte key, its inner and outer pads absorbed once.
#[derive(Clone)]
pub struct KeyedSha256 {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl KeyedSha256 {
    pub fn new(key: &[u8; 32]) -> Self {
        let pad = |byte: u8| {
            let mut block = [byte; BLOCK];
            for (b, k) in block.iter_mut().zip(key) {
                *b ^= k;
            }
            let mut state = IV;
            compress(&mut state, &block);
            state
        };
        Self {
            inner: pad(0x36),
            outer: pad(0x5c),
        }
    }

    /// HMAC-SHA-256 of `msg`.
    pub fn mac(&self, msg: &[u8]) -> [u8; 32] {
        let mut inner = self.inner;
        // The key's block went first: the message starts one block in.
        finish(&mut inner, msg, BLOCK as u64);
        let mut outer = self.outer;
        finish(&mut outer, &digest_bytes(&inner), BLOCK as u64);
        digest_bytes(&outer)
    }

    /// The MAC of every message in `msgs`, in order, into `out` (cleared first): the same
    /// bytes as [`Self::mac`] on each. Where the CPU has AVX-512, sixteen at a time
    /// (`lanes`); a group too small to fill half the lanes goes one by one, which is
    /// cheaper.
    pub fn mac_each(&self, msgs: &[&[u8]], out: &mut Vec<[u8; 32]>) {
        out.clear();
        out.resize(msgs.len(), [0; 32]);
        #[cfg(target_arch = "x86_64")]
        if lanes::available() {
            for (m, o) in msgs.chunks(lanes::LANES).zip(out.chunks_mut(lanes::LANES)) {
                if m.len() >= lanes::LANES / 2 {
                    // SAFETY: the CPU has AVX-512F and AVX-512BW (`available`).
                    unsafe { lanes::macs(self, m, o) };
                } else {
                    for (msg, mac) in m.iter().zip(o) {
                        *mac = self.mac(msg);
                    }
                }
            }
            return;
        }
        for (msg, mac) in msgs.iter().zip(out.iter_mut()) {
            *mac = self.mac(msg);
        }
    }
}

/// Absorb `msg` into `state` (which has taken `before` bytes already, a whole number of
/// blocks) and pad it: the state is then the digest.
fn finish(state: &mut [u32; 8], msg: &[u8], before: u64) {
    let mut block = [0u8; BLOCK];
    for r in 0..padded_blocks(msg.len()) {
        padded_block(msg, r, before, &mut block);
        compress(state, &block);
    }
}

/// Blocks a message takes once padded (0x80, zeros, its 64-bit length in bits).
fn padded_blocks(len: usize) -> usize {
    (len + 9).div_ceil(BLOCK)
}

/// Block `r` of `msg` padded, into `dst` (64 bytes), for a hash that had taken `before`
/// bytes (whole blocks) before `msg`.
fn padded_block(msg: &[u8], r: usize, before: u64, dst: &mut [u8]) {
    dst.fill(0);
    let start = r * BLOCK;
    let part = msg.get(start..).unwrap_or_default();
    let part = &part[..part.len().min(BLOCK)];
    dst[..part.len()].copy_from_slice(part);
    if (start..start + BLOCK).contains(&msg.len()) {
        dst[msg.len() - start] = 0x80;
    }
    if r + 1 == padded_blocks(msg.len()) {
        let bits = (before + msg.len() as u64).wrapping_mul(8);
        dst[BLOCK - 8..].copy_from_slice(&bits.to_be_bytes());
    }
}

/// One block (`block` is 64 bytes: every caller cuts it so).
fn compress(state: &mut [u32; 8], block: &[u8]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

fn digest_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Lowercase hex of 16 bytes.
pub fn hex16(src: &[u8; 16]) -> [u8; 32] {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of every x86-64 CPU.
        unsafe { hex16_sse2(src) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        hex16_bytes(src)
    }
}

/// Lowercase hex of 32 bytes (a SHA-256 or HMAC).
pub fn hex32(src: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (o, s) in out.chunks_exact_mut(32).zip(src.chunks_exact(16)) {
        let mut half = [0u8; 16];
        half.copy_from_slice(s);
        o.copy_from_slice(&hex16(&half));
    }
    out
}

#[cfg(any(test, not(target_arch = "x86_64")))]
fn hex16_bytes(src: &[u8; 16]) -> [u8; 32] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (o, b) in out.chunks_exact_mut(2).zip(src) {
        o[0] = DIGITS[usize::from(b >> 4)];
        o[1] = DIGITS[usize::from(b & 0xf)];
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn hex16_sse2(src: &[u8; 16]) -> [u8; 32] {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_cmpgt_epi8, _mm_loadu_si128, _mm_set1_epi8,
        _mm_srli_epi16, _mm_storeu_si128, _mm_unpackhi_epi8, _mm_unpacklo_epi8,
    };
    // SAFETY: `src` is 16 bytes; an unaligned load.
    let v = unsafe { _mm_loadu_si128(src.as_ptr().cast::<__m128i>()) };
    let low = _mm_set1_epi8(0x0f);
    let hi = _mm_and_si128(_mm_srli_epi16(v, 4), low);
    let lo = _mm_and_si128(v, low);
    // A nibble n is '0' + n, plus ('a' - '0' - 10) when n > 9.
    let digit = |n: __m128i| {
        let letter = _mm_and_si128(
            _mm_cmpgt_epi8(n, _mm_set1_epi8(9)),
            _mm_set1_epi8((b'a' - b'0' - 10) as i8),
        );
        _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8(b'0' as i8)), letter)
    };
    let (h, l) = (digit(hi), digit(lo));
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 bytes: two unaligned 16-byte stores. Each byte's high digit
    // comes first.
    unsafe {
        _mm_storeu_si128(out.as_mut_ptr().cast::<__m128i>(), _mm_unpacklo_epi8(h, l));
        _mm_storeu_si128(
            out.as_mut_ptr().add(16).cast::<__m128i>(),
            _mm_unpackhi_epi8(h, l),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;

    fn reference(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("any key length");
        m.update(msg);
        m.finalize().into_bytes().into()
    }

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2 ("Jefe"), its key zero-padded to 32 bytes (HMAC pads a
        // short key with zeros to the block, so the MAC is the same).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = KeyedSha256::new(&key).mac(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn every_length_around_the_block_edges_matches_the_hmac_crate() {
        // Messages whose padding takes one block, exactly fills it, or spills into a
        // second, for up to three whole blocks before the tail.
        let key: [u8; 32] = std::array::from_fn(|i| (i * 7 + 3) as u8);
        let h = KeyedSha256::new(&key);
        let msg: Vec<u8> = (0..260u32).map(|i| (i * 31 % 251) as u8).collect();
        for n in 0..msg.len() {
            assert_eq!(h.mac(&msg[..n]), reference(&key, &msg[..n]), "length {n}");
        }
    }

    #[test]
    fn hex_of_every_byte_value_matches_the_hex_crate() {
        for start in (0..=255u8).step_by(16) {
            let src: [u8; 16] = std::array::from_fn(|i| start.wrapping_add(i as u8));
            assert_eq!(hex16(&src).as_slice(), hex::encode(src).as_bytes());
        }
    }

    #[test]
    fn many_at_once_match_one_at_a_time_for_every_length_and_group_size() {
        // Groups of every size up to two full sets of lanes and a bit, each message a
        // different length (so lanes finish after one, two, three or five blocks), and
        // lengths around the block edges in the same group.
        let key: [u8; 32] = std::array::from_fn(|i| (i * 13 + 5) as u8);
        let h = KeyedSha256::new(&key);
        let bytes: Vec<u8> = (0..400u32).map(|i| (i * 17 % 253) as u8).collect();
        let mut out = Vec::new();
        for count in 0..40 {
            let msgs: Vec<&[u8]> = (0..count)
                .map(|i| &bytes[i * 3..i * 3 + (i * 37 + count) % 260])
                .collect();
            h.mac_each(&msgs, &mut out);
            assert_eq!(out.len(), count);
            for (i, (msg, mac)) in msgs.iter().zip(&out).enumerate() {
                assert_eq!(*mac, reference(&key, msg), "group of {count}, message {i}");
            }
        }
        for edge in [0, 1, 54, 55, 56, 63, 64, 65, 118, 119, 120, 127, 128] {
            let msgs = vec![&bytes[..edge]; 16];
            h.mac_each(&msgs, &mut out);
            assert!(
                out.iter().all(|m| *m == reference(&key, &bytes[..edge])),
                "length {edge}"
            );
        }
    }

    proptest! {
        #[test]
        fn many_at_once_match_the_hmac_crate(
            key in any::<[u8; 32]>(),
            msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..40),
        ) {
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            let mut out = Vec::new();
            KeyedSha256::new(&key).mac_each(&refs, &mut out);
            let want: Vec<[u8; 32]> = refs.iter().map(|m| reference(&key, m)).collect();
            prop_assert_eq!(out, want);
        }

        #[test]
        fn macs_match_the_hmac_crate(key in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..400)) {
            prop_assert_eq!(KeyedSha256::new(&key).mac(&msg), reference(&key, &msg));
        }

        #[test]
        fn hex_matches_the_hex_crate(src in any::<[u8; 32]>()) {
            let (ours, theirs) = (hex32(&src), hex::encode(src));
            prop_assert_eq!(ours.as_slice(), theirs.as_bytes());
            let mut half = [0u8; 16];
            half.copy_from_slice(&src[..16]);
            prop_assert_eq!(hex16(&half), hex16_bytes(&half));
        }
    }
}
