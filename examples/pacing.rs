//! Pacing benchmark: the release binary against the in-process fake mParticle, which
//! enforces 1500 items/s over every sliding second (429 past it).
//!
//!     cargo run --release --example pacing
//!
//! Reports 429s, effective rate, client CPU time and the most items in any sliding second,
//! first on a clean run, then with injected faults (10% 429 Retry-After 1, 5% 503, 1% resets).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cdp_purge_sandbox::{Credentials, Fault, FaultPlan, RetryAfter, Sandbox, SandboxConfig};

const N: usize = 60_000;

struct Figures {
    wall: Duration,
    cpu: Duration,
    acknowledged: u64,
    requests: usize,
    quota_429: usize,
    injected: usize,
    injected_429: usize,
    max_window: u64,
    exit: Option<i32>,
}

fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--bin", "cdp-purge"])
        .status()
        .expect("cargo build");
    assert!(ok.success());
    let exe = std::env::current_exe().unwrap();
    // target/release/examples/pacing → target/release/cdp-purge
    exe.parent().unwrap().parent().unwrap().join("cdp-purge")
}

fn run(bin: &Path, dir: &Path, faults: FaultPlan, name: &str) -> Figures {
    let sb = Sandbox::start_blocking(SandboxConfig {
        faults,
        enforce_quota: true,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    let c = Credentials::default();
    let ledger = dir.join(format!("{name}.ledger.jsonl"));
    let cpu0 = children_cpu();
    let t0 = Instant::now();
    let out = Command::new(bin)
        .env("MPARTICLE_API_KEY", &c.mparticle_key)
        .env("MPARTICLE_API_SECRET", &c.mparticle_secret)
        .args([
            "delete",
            "--vendor",
            "mparticle",
            "--environment",
            "production",
        ])
        .args(["--id-type", "customerid", "--column", "customerid"])
        .args(["--yes", "--json", "--quiet", "--timeout", "5s"])
        .arg("--base-url")
        .arg(sb.base_url())
        .arg("--ledger")
        .arg(&ledger)
        .arg("-i")
        .arg(dir.join("ids.csv"))
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let wall = t0.elapsed();
    let cpu = children_cpu() - cpu0;
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let log = sb.log();
    let accepted: Vec<(Instant, u64)> = log
        .iter()
        .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
        .map(|r| (r.at, r.items as u64))
        .collect();
    let mut max_window = 0;
    let (mut lo, mut sum) = (0, 0);
    for hi in 0..accepted.len() {
        sum += accepted[hi].1;
        while accepted[hi].0 - accepted[lo].0 >= Duration::from_secs(1) {
            sum -= accepted[lo].1;
            lo += 1;
        }
        max_window = max_window.max(sum);
    }
    Figures {
        wall,
        cpu,
        acknowledged: summary["acknowledged"].as_u64().unwrap_or(0),
        requests: log.len(),
        quota_429: log
            .iter()
            .filter(|r| r.status == Some(429) && r.fault.is_none())
            .count(),
        injected: log.iter().filter(|r| r.fault.is_some()).count(),
        injected_429: log
            .iter()
            .filter(|r| matches!(r.fault, Some(Fault::TooManyRequests(_))))
            .count(),
        max_window,
        exit: out.status.code(),
    }
}

fn print(name: &str, f: &Figures) {
    let rate = f.acknowledged as f64 / f.wall.as_secs_f64();
    println!("{name}:");
    println!("  exit code            {:?}", f.exit);
    println!("  acknowledged         {} of {N}", f.acknowledged);
    println!(
        "  requests             {} ({} with injected faults, {} of them 429)",
        f.requests, f.injected, f.injected_429
    );
    println!("  429s from the quota  {}", f.quota_429);
    println!("  wall time            {:.2} s", f.wall.as_secs_f64());
    println!(
        "  effective rate       {rate:.0} items/s ({:.1}% of 1500/s)",
        rate / 15.0
    );
    println!(
        "  client CPU           {:.2} s ({:.1}% of one core)",
        f.cpu.as_secs_f64(),
        f.cpu.as_secs_f64() * 100.0 / f.wall.as_secs_f64()
    );
    println!("  max items in any 1 s {}", f.max_window);
}

fn main() {
    let bin = binary();
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.path().join("ids.csv")).unwrap());
    writeln!(f, "customerid").unwrap();
    for i in 0..N {
        writeln!(f, "C-{i:07}").unwrap();
    }
    drop(f);

    let clean = run(&bin, dir.path(), FaultPlan::none(), "clean");
    print("clean", &clean);
    let faults = FaultPlan {
        seed: 7,
        ..FaultPlan::none()
    }
    .with_rate(Fault::TooManyRequests(RetryAfter::Seconds(1)), 0.10)
    .with_rate(Fault::Unavailable(None), 0.05)
    .with_rate(Fault::Reset, 0.01);
    let faulty = run(&bin, dir.path(), faults, "faults");
    print("faults (10% 429 Retry-After 1, 5% 503, 1% reset)", &faulty);
    println!(
        "  wall vs clean        {:.2}x",
        faulty.wall.as_secs_f64() / clean.wall.as_secs_f64()
    );
}
