//! Pacing benchmark: the release binary (and, side by side, the asyncio + aiohttp peer)
//! against the in-process sandbox, which enforces each quota over every sliding window
//! (429 past it) and answers after 100 ms. One line per scenario and tool.
//!
//!     cargo run --release --example pacing -- [--bin PATH] [--peer peer_aiohttp.py]
//!         [--only NAME,...] [--cpu-profiles N] [--repeat N]
//!
//! Scenarios:
//! - `mparticle`: 15,000 profiles at 1500/s, default batch (and `--batch-size 100`);
//! - `segment`: 3,000 identifiers at 100 requests/s;
//! - `shared`: mParticle while another caller takes 500/s of the quota (ratio to 1000/s);
//! - `recover`: 45,000 profiles, the other caller stops 12 s in: seconds until a one-second
//!   window carries 97% of the full quota again;
//! - `late`: 30,000 profiles, the other caller (500/s) starts 4 s into the run: ratio to
//!   what is left (the whole quota before it starts, 1000/s after), and the 429s after it
//!   started;
//! - `faults`: mParticle with 5% 503 and 1% connection resets (wall time ÷ the clean run);
//! - `cpu`: `--cpu-profiles` (default 1,000,000, about 11 minutes) profiles at the quota:
//!   CPU-s per million. A run that plans 300 windows or more (450,000 profiles) sends a
//!   window's requests at once; a shorter one measures groups of three instead.
//!
//! ratio: profiles ÷ wall time of the process ÷ the quota (or what is left of it); 429s:
//! refusals the sandbox sent this tool; lost: input identifiers the sandbox never applied;
//! CPU: user + system time of the tool's process (`getrusage(RUSAGE_CHILDREN)`).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cdp_purge_sandbox::{
    CompetingLoad, Credentials, Fault, FaultPlan, Sandbox, SandboxConfig, VendorKind,
};

const LATENCY: Duration = Duration::from_millis(100);
const MP_QUOTA: f64 = 1500.0;
const SEG_QUOTA: f64 = 100.0;
/// When the other caller of `late` starts.
const LATE_START: Duration = Duration::from_secs(4);

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    /// cdp-purge with extra arguments.
    Ours(&'static [&'static str]),
    Peer,
}

struct Setup<'a> {
    name: &'a str,
    vendor: VendorKind,
    n: usize,
    competing: Option<CompetingLoad>,
    faults: FaultPlan,
    /// The rate the ratio is taken against.
    against: f64,
    /// The other caller switches on this long into the run (the sandbox starts without it).
    competing_after: Option<Duration>,
}

struct Figures {
    wall: Duration,
    cpu: Duration,
    requests: usize,
    refused: usize,
    lost: usize,
    max_window: u64,
    /// Seconds from the other caller's stop to a window at 97% of the quota.
    recovered: Option<f64>,
    /// 429s for requests the sandbox received after the other caller started late, and all
    /// requests it received then.
    late: Option<(usize, usize)>,
}

fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn build_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--bin", "cdp-purge"])
        .status()
        .expect("cargo build");
    assert!(ok.success());
    let exe = std::env::current_exe().expect("own path");
    // target/release/examples/pacing → target/release/cdp-purge
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("cdp-purge")
}

fn write_inputs(dir: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("mp.csv")).unwrap());
    writeln!(f, "customerid").unwrap();
    for i in 0..n {
        writeln!(f, "C-{i:07}").unwrap();
    }
    drop(f);
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("seg.csv")).unwrap());
    writeln!(f, "user_id,email").unwrap();
    for i in 0..n.min(100_000) {
        writeln!(f, "u{i},p{i}@example.com").unwrap();
    }
}

fn input(dir: &Path, s: &Setup) -> PathBuf {
    // Each run gets exactly its n rows (the peer reads the whole file).
    let (src, header) = match s.vendor {
        VendorKind::Segment => ("seg.csv", 1),
        _ => ("mp.csv", 1),
    };
    let text = std::fs::read_to_string(dir.join(src)).unwrap();
    let path = dir.join(format!("{}-{}.csv", s.name, s.n));
    let lines: Vec<&str> = text.lines().take(s.n + header).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// The tool's command line for this scenario (cdp-purge's common flags are added by `run`).
fn command(
    tool: Tool,
    bin: &Path,
    peer: Option<&Path>,
    s: &Setup,
    url: &str,
    csv: &Path,
) -> Command {
    let c = Credentials::default();
    let segment = s.vendor == VendorKind::Segment;
    match tool {
        Tool::Ours(extra) => {
            let mut cmd = Command::new(bin);
            if segment {
                cmd.env("SEGMENT_TOKEN", &c.segment_token)
                    .args(["delete", "--vendor", "segment", "--space", "spa_bench"])
                    .args(["--user-id-column", "user_id", "--column", "email"])
                    .args(["--id-type", "email"]);
            } else {
                cmd.env("MPARTICLE_API_KEY", &c.mparticle_key)
                    .env("MPARTICLE_API_SECRET", &c.mparticle_secret)
                    .args([
                        "delete",
                        "--vendor",
                        "mparticle",
                        "--environment",
                        "production",
                    ])
                    .args(["--id-type", "customerid", "--column", "customerid"]);
            }
            cmd.args(extra);
            cmd
        }
        Tool::Peer => {
            let mut cmd = Command::new("python3");
            cmd.arg(peer.expect("--peer")).arg(url).arg(csv);
            if segment {
                cmd.args(["--vendor", "segment", "--space", "spa_bench", "--auth"])
                    .arg(format!("{}:", c.segment_token));
            } else {
                cmd.arg("--auth")
                    .arg(format!("{}:{}", c.mparticle_key, c.mparticle_secret));
            }
            cmd
        }
    }
}

fn run(tool: Tool, bin: &Path, peer: Option<&Path>, dir: &Path, s: &Setup) -> Figures {
    let sb = Sandbox::start_blocking(SandboxConfig {
        faults: s.faults.clone(),
        competing: s
            .competing
            .filter(|_| s.competing_after.is_none())
            .map(|c| CompetingLoad {
                stop_after: None,
                ..c
            }),
        latency: LATENCY,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    let csv = input(dir, s);
    let ledger = dir.join(format!("{}-{}.ledger.jsonl", s.name, fastrand::u32(..)));
    let url = sb.base_url();
    let mut cmd = command(tool, bin, peer, s, &url, &csv);
    if let Tool::Ours(_) = tool {
        cmd.args([
            "--yes",
            "--json",
            "--quiet",
            "--timeout",
            "10s",
            "--base-url",
            &url,
        ])
        .arg("--ledger")
        .arg(&ledger)
        .arg("-i")
        .arg(&csv);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let stop_after = s.competing.and_then(|c| c.stop_after);
    let start_after = s.competing_after.zip(s.competing.map(|c| c.rate));
    let cpu0 = children_cpu();
    let t0 = Instant::now();
    let child = cmd.spawn().expect("start the tool");
    let out = std::thread::scope(|scope| {
        if let Some(d) = stop_after {
            let sb = &sb;
            scope.spawn(move || {
                std::thread::sleep(d);
                sb.set_competing(0.0);
            });
        }
        if let Some((d, rate)) = start_after {
            let sb = &sb;
            scope.spawn(move || {
                std::thread::sleep(d);
                sb.set_competing(rate);
            });
        }
        child.wait_with_output().expect("wait for the tool")
    });
    let wall = t0.elapsed();
    let cpu = children_cpu() - cpu0;
    if !out.status.success() {
        eprintln!(
            "  ({} exited {:?}: {})",
            s.name,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let log = sb.log();
    let ours: Vec<_> = log.iter().filter(|r| r.vendor == Some(s.vendor)).collect();
    let applied: HashSet<&str> = ours
        .iter()
        .filter(|r| r.applied)
        .flat_map(|r| r.values.iter().map(String::as_str))
        .collect();
    let accepted: Vec<(Instant, u64)> = ours
        .iter()
        .filter(|r| r.status.is_some_and(|c| (200..300).contains(&c)))
        .map(|r| (r.at, r.items as u64))
        .collect();
    let window_sums = sliding(&accepted, Duration::from_secs(1));
    let max_window = window_sums.iter().map(|w| w.1).max().unwrap_or(0);
    let recovered = stop_after.and_then(|d| {
        let stop = t0 + d;
        window_sums
            .iter()
            .find(|(at, sum)| *at >= stop && *sum as f64 >= 0.97 * MP_QUOTA)
            .map(|(at, _)| at.duration_since(stop).as_secs_f64())
    });
    let late = start_after.map(|(d, _)| {
        let from = t0 + d;
        let after: Vec<_> = ours.iter().filter(|r| r.at >= from).collect();
        let refused = after
            .iter()
            .filter(|r| r.status == Some(429) && r.fault.is_none())
            .count();
        (refused, after.len())
    });
    Figures {
        late,
        wall,
        cpu,
        requests: ours.len(),
        refused: ours
            .iter()
            .filter(|r| r.status == Some(429) && r.fault.is_none())
            .count(),
        lost: s.n.saturating_sub(applied.len()),
        max_window,
        recovered,
    }
}

/// The sum of each window of `len` ending at every event.
fn sliding(events: &[(Instant, u64)], len: Duration) -> Vec<(Instant, u64)> {
    let (mut lo, mut sum) = (0, 0);
    let mut out = Vec::with_capacity(events.len());
    for hi in 0..events.len() {
        sum += events[hi].1;
        while events[hi].0 - events[lo].0 >= len {
            sum -= events[lo].1;
            lo += 1;
        }
        out.push((events[hi].0, sum));
    }
    out
}

fn label(tool: Tool) -> String {
    match tool {
        Tool::Ours([]) => "cdp-purge".into(),
        Tool::Ours(extra) => format!("cdp-purge {}", extra.join(" ")),
        Tool::Peer => "aiohttp peer".into(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut bin = None;
    let mut peer = None;
    let mut only: Option<Vec<String>> = None;
    let mut cpu_n = 1_000_000usize;
    let mut repeat = 1usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => bin = args.next().map(PathBuf::from),
            "--peer" => peer = args.next().map(PathBuf::from),
            "--only" => {
                only = args
                    .next()
                    .map(|s| s.split(',').map(str::to_owned).collect())
            }
            "--cpu-profiles" => cpu_n = args.next().and_then(|s| s.parse().ok()).expect("a count"),
            "--repeat" => repeat = args.next().and_then(|s| s.parse().ok()).expect("a count"),
            other => panic!("unknown argument {other}"),
        }
    }
    let bin = bin.unwrap_or_else(build_binary);
    let dir = tempfile::tempdir().expect("temp dir");
    write_inputs(dir.path(), cpu_n.max(45_000));
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));
    let faults = FaultPlan {
        seed: 7,
        ..FaultPlan::none()
    }
    .with_rate(Fault::Unavailable(None), 0.05)
    .with_rate(Fault::Reset, 0.01);
    let half = CompetingLoad {
        rate: 500.0,
        stop_after: None,
    };
    let setups = [
        (
            Setup {
                name: "mparticle",
                vendor: VendorKind::Mparticle,
                n: 15_000,
                competing: None,
                faults: FaultPlan::none(),
                against: MP_QUOTA,
                competing_after: None,
            },
            &[
                Tool::Ours(&[]),
                Tool::Ours(&["--batch-size", "100"]),
                Tool::Peer,
            ][..],
        ),
        (
            Setup {
                name: "segment",
                vendor: VendorKind::Segment,
                n: 3_000,
                competing: None,
                faults: FaultPlan::none(),
                against: SEG_QUOTA,
                competing_after: None,
            },
            &[Tool::Ours(&[]), Tool::Peer][..],
        ),
        (
            Setup {
                name: "shared",
                vendor: VendorKind::Mparticle,
                n: 15_000,
                competing: Some(half),
                faults: FaultPlan::none(),
                against: MP_QUOTA - 500.0,
                competing_after: None,
            },
            &[Tool::Ours(&[]), Tool::Peer][..],
        ),
        (
            Setup {
                name: "recover",
                vendor: VendorKind::Mparticle,
                n: 45_000,
                competing: Some(CompetingLoad {
                    stop_after: Some(Duration::from_secs(12)),
                    ..half
                }),
                faults: FaultPlan::none(),
                against: MP_QUOTA,
                competing_after: None,
            },
            &[Tool::Ours(&[]), Tool::Peer][..],
        ),
        (
            Setup {
                name: "late",
                vendor: VendorKind::Mparticle,
                n: 30_000,
                competing: Some(half),
                faults: FaultPlan::none(),
                against: MP_QUOTA - 500.0,
                competing_after: Some(LATE_START),
            },
            &[Tool::Ours(&[]), Tool::Peer][..],
        ),
        (
            Setup {
                name: "faults",
                vendor: VendorKind::Mparticle,
                n: 15_000,
                competing: None,
                faults,
                against: MP_QUOTA,
                competing_after: None,
            },
            &[Tool::Ours(&[]), Tool::Peer][..],
        ),
        (
            Setup {
                name: "cpu",
                vendor: VendorKind::Mparticle,
                n: cpu_n,
                competing: None,
                faults: FaultPlan::none(),
                against: MP_QUOTA,
                competing_after: None,
            },
            &[Tool::Ours(&[])][..],
        ),
    ];
    println!(
        "{:<10} {:<28} {:>6} {:>5} {:>8} {:>5} {:>7} {:>9} {:>8} {:>7}  extra",
        "scenario",
        "tool",
        "ratio",
        "429s",
        "requests",
        "lost",
        "CPU-s",
        "CPU-s/1M",
        "wall-s",
        "max/1s"
    );
    let mut clean_wall: Vec<(String, f64)> = Vec::new();
    for (setup, tools) in &setups {
        if !wanted(setup.name) {
            continue;
        }
        for &tool in *tools {
            if tool == Tool::Peer && peer.is_none() {
                continue;
            }
            for _ in 0..repeat {
                let f = run(tool, &bin, peer.as_deref(), dir.path(), setup);
                let mut ratio = setup.n as f64 / f.wall.as_secs_f64() / setup.against;
                if let Some(d) = setup.competing_after {
                    // What is left: the whole quota until the other caller starts, then the
                    // rest of it; the wall time that would take, over the wall time taken.
                    let d = d.as_secs_f64();
                    let before = (MP_QUOTA * d).min(setup.n as f64);
                    let ideal = before / MP_QUOTA + (setup.n as f64 - before) / setup.against;
                    ratio = ideal / f.wall.as_secs_f64();
                }
                let mut extra = String::new();
                if setup.name == "mparticle" {
                    clean_wall.push((label(tool), f.wall.as_secs_f64()));
                }
                if setup.name == "faults"
                    && let Some((_, clean)) = clean_wall.iter().find(|(l, _)| *l == label(tool))
                {
                    extra = format!("{:.3}x clean wall", f.wall.as_secs_f64() / clean);
                }
                if let Some((refused, requests)) = f.late {
                    extra = format!(
                        "{refused} 429s in {requests} requests after the other caller started ({:.1}%)",
                        100.0 * refused as f64 / requests.max(1) as f64
                    );
                }
                if setup.name == "recover" {
                    extra = match f.recovered {
                        Some(s) => {
                            format!("97% of the quota {s:.1} s after the other caller stopped")
                        }
                        None => "never back at 97% of the quota".into(),
                    };
                }
                println!(
                    "{:<10} {:<28} {:>6.4} {:>5} {:>8} {:>5} {:>7.2} {:>9.2} {:>8.2} {:>7}  {}",
                    setup.name,
                    label(tool),
                    ratio,
                    f.refused,
                    f.requests,
                    f.lost,
                    f.cpu.as_secs_f64(),
                    f.cpu.as_secs_f64() * 1e6 / setup.n as f64,
                    f.wall.as_secs_f64(),
                    f.max_window,
                    extra
                );
            }
        }
    }
}
