//! The ledger's two keyed hashes per identifier, one at a time against a batch at a time.
//!
//! cargo run --release --example hashes [-- IDENTIFIERS]
//!
//! Prints nanoseconds per identifier for the resume key and the `id_hmac` of IDENTIFIERS
//! (default 1,000,000) mParticle `customerid`s in batches of 100, as a paced run computes
//! them: `Hasher::item_key` / `id_hmac_bytes` on each, then `Hasher::item_keys` /
//! `id_hmacs` per batch (sixteen at a time where the CPU has AVX-512). Both give the same
//! hashes; the example checks that too.

use std::time::Instant;

use cdp_purge::batch::Item;
use cdp_purge::ledger::Hasher;

// The same allocator as the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 1_000_000,
    };
    let items: Vec<Item> = (0..n)
        .map(|i| Item {
            file: 0,
            row: i as u64 + 2,
            value: format!("C-{i:07}"),
            kind: "customerid".into(),
            lookup: None,
        })
        .collect();
    let h = Hasher::new(&[7u8; 32]);
    let per_id = |t: Instant| t.elapsed().as_nanos() as f64 / n.max(1) as f64;

    let t = Instant::now();
    let one_keys: Vec<u128> = items.iter().map(|it| h.item_key(it)).collect();
    let keys_one = per_id(t);
    let t = Instant::now();
    let one_macs: Vec<[u8; 32]> = items.iter().map(|it| h.id_hmac_bytes(&it.value)).collect();
    let macs_one = per_id(t);

    let t = Instant::now();
    let batch_keys: Vec<u128> = items.chunks(100).flat_map(|b| h.item_keys(b)).collect();
    let keys_batch = per_id(t);
    let t = Instant::now();
    let batch_macs: Vec<[u8; 32]> = items
        .chunks(100)
        .flat_map(|b| h.id_hmacs(b.iter().map(|it| it.value.as_str())))
        .collect();
    let macs_batch = per_id(t);

    anyhow::ensure!(one_keys == batch_keys, "the resume keys differ");
    anyhow::ensure!(one_macs == batch_macs, "the id_hmacs differ");
    println!("{n} identifiers, ns each   one at a time   a batch at a time");
    println!("resume key               {keys_one:13.1}   {keys_batch:17.1}");
    println!("id_hmac                  {macs_one:13.1}   {macs_batch:17.1}");
    Ok(())
}
