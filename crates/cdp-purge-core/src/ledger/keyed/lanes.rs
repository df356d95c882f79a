//! Sixteen HMAC-SHA-256s at once, one message in each 32-bit lane of AVX-512 registers.
//!
//! Why: a paced run computes two MACs per identifier (its resume key and `id_hmac`), a
//! batch's worth at a time, and SHA-NI compresses one block after another: its rounds
//! depend on each other, so one message at a time leaves the core mostly waiting. Sixteen
//! independent messages side by side in the vector units take about half the time per
//! block on this project's benchmark machine (BENCHMARKS.md, seventeenth pass). The
//! rounds are FIPS 180-4's, written once for sixteen lanes; the tests compare every
//! length and lane count with the `hmac` crate.

use std::arch::x86_64::{
    __m512i, _mm512_add_epi32, _mm512_i32gather_epi32, _mm512_mask_add_epi32, _mm512_ror_epi32,
    _mm512_set1_epi32, _mm512_set4_epi32, _mm512_setr_epi32, _mm512_setzero_si512,
    _mm512_shuffle_epi8, _mm512_srli_epi32, _mm512_storeu_si512, _mm512_ternarylogic_epi32,
};

use super::{BLOCK, KeyedSha256, padded_block, padded_blocks};

/// Messages hashed side by side.
pub(super) const LANES: usize = 16;

/// SHA-256's round constants (FIPS 180-4, 4.2.2).
const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// Whether this CPU (and its OS) runs the sixteen-lane path; std caches the answer.
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

/// The MACs of up to [`LANES`] messages into `out` (one per message; extra slots of `out`
/// are left alone).
///
/// # Safety
/// The CPU must have AVX-512F and AVX-512BW ([`available`]).
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn macs(h: &KeyedSha256, msgs: &[&[u8]], out: &mut [[u8; 32]]) {
    let n = msgs.len().min(LANES);
    let mut blocks = [0usize; LANES];
    for (b, m) in blocks.iter_mut().zip(msgs) {
        *b = padded_blocks(m.len());
    }
    // The inner hash: the key's block is absorbed, so every message starts a block in.
    let mut state = [_mm512_setzero_si512(); 8];
    for (s, w) in state.iter_mut().zip(h.inner) {
        *s = _mm512_set1_epi32(w as i32);
    }
    let mut buf = [0u8; LANES * BLOCK];
    let rounds = blocks.iter().copied().max().unwrap_or(0);
    for r in 0..rounds {
        let mut active = 0u16;
        for (j, (msg, dst)) in msgs[..n]
            .iter()
            .zip(buf.chunks_exact_mut(BLOCK))
            .enumerate()
        {
            if r < blocks[j] {
                active |= 1 << j;
                padded_block(msg, r, BLOCK as u64, dst);
            }
        }
        compress(&mut state, load(&buf), active);
    }
    // The outer hash's one block: the inner digest (the state's words, which SHA-256 reads
    // back as the same big-endian words), 0x80, zeros, and the length, 64 + 32 bytes.
    let mut w = [_mm512_setzero_si512(); 16];
    w[..8].copy_from_slice(&state);
    w[8] = _mm512_set1_epi32(0x8000_0000_u32 as i32);
    w[15] = _mm512_set1_epi32(((BLOCK + 32) * 8) as i32);
    let mut outer = [_mm512_setzero_si512(); 8];
    for (s, v) in outer.iter_mut().zip(h.outer) {
        *s = _mm512_set1_epi32(v as i32);
    }
    compress(&mut outer, w, u16::MAX);
    let mut words = [[0u32; LANES]; 8];
    for (dst, v) in words.iter_mut().zip(outer) {
        // SAFETY: `dst` is 16 u32s, the 64 bytes of one unaligned store.
        unsafe { _mm512_storeu_si512(dst.as_mut_ptr().cast(), v) };
    }
    for (j, o) in out.iter_mut().enumerate().take(n) {
        for (bytes, word) in o.chunks_exact_mut(4).zip(&words) {
            bytes.copy_from_slice(&word[j].to_be_bytes());
        }
    }
}

/// Word `t` of every lane's block: lane `j`'s block is `buf[64 j..64 (j + 1)]`.
#[target_feature(enable = "avx512f,avx512bw")]
fn load(buf: &[u8; LANES * BLOCK]) -> [__m512i; 16] {
    let lanes = _mm512_setr_epi32(
        0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960,
    );
    // Each 32-bit word's bytes reversed: SHA-256 reads big-endian words.
    let swap = _mm512_set4_epi32(0x0c0d_0e0f, 0x0809_0a0b, 0x0405_0607, 0x0001_0203);
    let mut w = [_mm512_setzero_si512(); 16];
    for (t, wt) in w.iter_mut().enumerate() {
        let at = _mm512_add_epi32(lanes, _mm512_set1_epi32(4 * t as i32));
        // SAFETY: every offset is at most 960 + 60, and each reads 4 bytes: all inside
        // `buf`'s 1024.
        let x = unsafe { _mm512_i32gather_epi32::<1>(at, buf.as_ptr().cast()) };
        *wt = _mm512_shuffle_epi8(x, swap);
    }
    w
}

/// One block per lane into `state`, for the lanes in `active` (the others keep theirs).
#[target_feature(enable = "avx512f,avx512bw")]
fn compress(state: &mut [__m512i; 8], mut w: [__m512i; 16], active: u16) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for (t, k) in K.iter().enumerate() {
        if t >= 16 {
            let (w15, w2) = (w[(t - 15) & 15], w[(t - 2) & 15]);
            // σ0 and σ1; 0x96 is a three-way XOR.
            let s0 = _mm512_ternarylogic_epi32::<0x96>(
                _mm512_ror_epi32::<7>(w15),
                _mm512_ror_epi32::<18>(w15),
                _mm512_srli_epi32::<3>(w15),
            );
            let s1 = _mm512_ternarylogic_epi32::<0x96>(
                _mm512_ror_epi32::<17>(w2),
                _mm512_ror_epi32::<19>(w2),
                _mm512_srli_epi32::<10>(w2),
            );
            w[t & 15] = _mm512_add_epi32(
                _mm512_add_epi32(w[t & 15], s0),
                _mm512_add_epi32(w[(t - 7) & 15], s1),
            );
        }
        // Σ1, Ch (0xca: e ? f : g), Σ0 and Maj (0xe8: the majority of a, b, c).
        let big_s1 = _mm512_ternarylogic_epi32::<0x96>(
            _mm512_ror_epi32::<6>(e),
            _mm512_ror_epi32::<11>(e),
            _mm512_ror_epi32::<25>(e),
        );
        let ch = _mm512_ternarylogic_epi32::<0xca>(e, f, g);
        let t1 = _mm512_add_epi32(
            _mm512_add_epi32(h, big_s1),
            _mm512_add_epi32(
                ch,
                _mm512_add_epi32(w[t & 15], _mm512_set1_epi32(*k as i32)),
            ),
        );
        let big_s0 = _mm512_ternarylogic_epi32::<0x96>(
            _mm512_ror_epi32::<2>(a),
            _mm512_ror_epi32::<13>(a),
            _mm512_ror_epi32::<22>(a),
        );
        let t2 = _mm512_add_epi32(big_s0, _mm512_ternarylogic_epi32::<0xe8>(a, b, c));
        h = g;
        g = f;
        f = e;
        e = _mm512_add_epi32(d, t1);
        d = c;
        c = b;
        b = a;
        a = _mm512_add_epi32(t1, t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = _mm512_mask_add_epi32(*s, active, *s, v);
    }
}
