//! Intake throughput without the rest of `plan`.
//!
//! cargo run --release --example bench_intake -- FILE [COLUMN] [--batch]
//!
//! Reads FILE through `input::run` (Lytics `email` kind, default cleaning) and prints rows/s;
//! with `--batch` the kept items also go through the batcher, as `plan` does.

use std::time::Instant;

use cdp_purge::batch::Batcher;
use cdp_purge::input::{self, ColumnSel, IntakeSpec, KindSource};

// The same allocator as the binary, so the figures match `plan`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let batch = args.iter().any(|a| a == "--batch");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let Some(file) = pos.first() else {
        anyhow::bail!("usage: bench_intake FILE [COLUMN] [--batch]");
    };
    let column = pos.get(1).map_or("email", |c| c.as_str());
    let spec = IntakeSpec::with_defaults(
        vec![file.into()],
        ColumnSel::Name(column.to_owned()),
        KindSource::Fixed("email".into()),
    );
    let mut batcher = Batcher::new("lytics", 100, true);
    let mut batches = 0u64;
    let t = Instant::now();
    let stats = input::run(
        &spec,
        &mut |item| {
            if batch && batcher.push(item).is_some() {
                batches += 1;
            }
            Ok(())
        },
        &mut |_| Ok(()),
    )?;
    batches += batcher.finish().len() as u64;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "rows={} kept={} duplicates={} rejected={} batches={batches} secs={secs:.2} rows/s={:.0}",
        stats.rows_read,
        stats.kept,
        stats.duplicates,
        stats.rejected_total(),
        stats.rows_read as f64 / secs
    );
    Ok(())
}
