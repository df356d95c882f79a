//! Soak benchmark (not run in CI): the real binary deletes N identifiers from the fake
//! mParticle under the hostile fault mix (10% 429, 5% 503, 2% resets, 1% truncated, 1% hung),
//! while this program samples the child's resident memory. Reports requests, faults,
//! retries, throughput, RSS over time and peak (VmHWM), and checks that no identifier was
//! lost or deleted twice, from the fake's log and from the ledger.
//!
//! ```text
//! cargo build --release --bin cdp-purge
//! cargo run --release --example soak                  # 100,000 then 1,000,000 identifiers
//! cargo run --release --example soak -- 1000000 50000 # N, items/s quota (fake and client)
//! ```
//!
//! The fake's quota and the client's `--max-items-per-sec` are raised together (default
//! 50,000/s instead of mParticle's 1,500/s) so a million identifiers take seconds, not
//! eleven minutes; backoff is scaled with CDP_PURGE_TIME_SCALE=0.01.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cdp_purge_sandbox::{Fault, FaultPlan, RetryAfter, Sandbox, SandboxConfig};
use cdp_purge_sandbox::{Quota, Rate, VendorKind};

fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("CDP_PURGE_BIN") {
        return p.into();
    }
    // target/<profile>/examples/soak → target/<profile>/cdp-purge
    let exe = std::env::current_exe().expect("current exe");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("cdp-purge");
    assert!(
        bin.exists(),
        "{} not found: cargo build --release --bin cdp-purge (or set CDP_PURGE_BIN)",
        bin.display()
    );
    bin
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

struct Report {
    ids: usize,
    elapsed: Duration,
    requests: usize,
    faults: HashMap<String, usize>,
    retries: u64,
    rss_samples: Vec<(f64, u64)>,
    hwm_kb: u64,
    lost: usize,
    duplicates: usize,
    ledger_acked: usize,
}

fn soak(ids: usize, quota: u32, seed: u64) -> anyhow::Result<Report> {
    let faults = FaultPlan {
        seed,
        ..FaultPlan::none()
    }
    .with_rate(Fault::TooManyRequests(RetryAfter::Seconds(1)), 0.10)
    .with_rate(Fault::Unavailable(None), 0.05)
    .with_rate(Fault::Reset, 0.02)
    .with_rate(Fault::Truncate, 0.01)
    .with_rate(Fault::Hang, 0.01);
    let items = Quota {
        requests: None,
        items: Some(Rate::per_second(quota)),
        in_flight: None,
    };
    let sb = Sandbox::start_blocking(
        SandboxConfig {
            faults,
            ..SandboxConfig::default()
        }
        .with_quota(VendorKind::Mparticle, items),
    )?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("ids.csv");
    let mut w = BufWriter::new(std::fs::File::create(&input)?);
    writeln!(w, "customerid")?;
    for i in 0..ids {
        writeln!(w, "SOAK-{i:08}")?;
    }
    w.flush()?;
    drop(w);
    let ledger = dir.path().join("soak.ledger.jsonl");
    let c = sb.credentials();

    let started = Instant::now();
    let mut child = Command::new(binary())
        .env_clear()
        .env("MPARTICLE_API_KEY", &c.mparticle_key)
        .env("MPARTICLE_API_SECRET", &c.mparticle_secret)
        .env("CDP_PURGE_TIME_SCALE", "0.01")
        .args([
            "delete",
            "--vendor",
            "mparticle",
            "--environment",
            "production",
        ])
        .args(["--id-type", "customerid", "--column", "customerid"])
        .args([
            "--yes",
            "--quiet",
            "--json",
            "--timeout",
            "1s",
            "--concurrency",
            "32",
        ])
        .args(["--max-items-per-sec", &quota.to_string()])
        .arg("--base-url")
        .arg(sb.base_url())
        .arg("--ledger")
        .arg(&ledger)
        .arg("-i")
        .arg(&input)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let mut rss_samples = Vec::new();
    let mut hwm_kb = 0;
    while child.try_wait()?.is_none() {
        if let Some(rss) = status_kb(pid, "VmRSS:") {
            rss_samples.push((started.elapsed().as_secs_f64(), rss));
        }
        hwm_kb = hwm_kb.max(status_kb(pid, "VmHWM:").unwrap_or(0));
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output()?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        out.status.code() == Some(0),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)?;

    // From the fake: each identifier deleted once (no fault in the mix applies a deletion
    // and then loses the answer, so a second deletion would be a client bug).
    let log = sb.log();
    let mut per_value: HashMap<String, u32> = HashMap::with_capacity(ids);
    let mut faults: HashMap<String, usize> = HashMap::new();
    for r in &log {
        if let Some(f) = r.fault {
            *faults.entry(format!("{f}")).or_default() += 1;
        }
        if r.applied {
            for v in &r.values {
                *per_value.entry(v.clone()).or_default() += 1;
            }
        }
    }
    let lost = ids - per_value.len();
    let duplicates = per_value.values().filter(|&&n| n > 1).count();

    // From the ledger: acknowledged identifier HMACs, each once.
    let mut acked: HashSet<[u8; 16]> = HashSet::with_capacity(ids);
    let mut twice = 0;
    for line in BufReader::new(std::fs::File::open(&ledger)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        if v["type"] != "outcome" || !v["parent"].is_null() {
            continue;
        }
        for r in v["results"].as_array().into_iter().flatten() {
            if r["status"] == "acknowledged" {
                let mut k = [0u8; 16];
                hex::decode_to_slice(&r["id_hmac"].as_str().unwrap_or("")[..32], &mut k)?;
                twice += usize::from(!acked.insert(k));
            }
        }
    }
    Ok(Report {
        ids,
        elapsed,
        requests: log.len(),
        faults,
        retries: summary["retries"].as_u64().unwrap_or(0),
        rss_samples,
        hwm_kb,
        lost,
        duplicates: duplicates + twice,
        ledger_acked: acked.len(),
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = match args.first() {
        Some(n) => vec![n.parse()?],
        None => vec![100_000, 1_000_000],
    };
    let quota: u32 = args
        .get(1)
        .map(|q| q.parse())
        .transpose()?
        .unwrap_or(50_000);
    let mut failed = false;
    for ids in sizes {
        let r = soak(ids, quota, 42)?;
        let rss_at = |frac: f64| {
            let i =
                ((r.rss_samples.len() as f64 * frac) as usize).min(r.rss_samples.len().max(1) - 1);
            r.rss_samples.get(i).map_or(0, |s| s.1 / 1024)
        };
        println!(
            "soak: {} identifiers, items quota {quota}/s (fake and client)",
            r.ids
        );
        println!(
            "  elapsed {:.1?} ({:.0} ids/s), requests {}, retries {}",
            r.elapsed,
            r.ids as f64 / r.elapsed.as_secs_f64(),
            r.requests,
            r.retries
        );
        let mut faults: Vec<_> = r.faults.iter().collect();
        faults.sort();
        println!("  faults injected {faults:?}");
        println!(
            "  RSS MiB at 10/25/50/75/100% of the run: {} {} {} {} {}; peak (VmHWM) {} MiB",
            rss_at(0.1),
            rss_at(0.25),
            rss_at(0.5),
            rss_at(0.75),
            rss_at(1.0),
            r.hwm_kb / 1024
        );
        println!(
            "  lost {}, duplicates {}, acknowledged in the ledger {}",
            r.lost, r.duplicates, r.ledger_acked
        );
        failed |= r.lost != 0 || r.duplicates != 0 || r.ledger_acked != r.ids;
    }
    anyhow::ensure!(!failed, "identifiers lost or duplicated");
    Ok(())
}
