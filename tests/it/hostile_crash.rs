//! Crashes: the real binary killed with SIGKILL at a dozen points of one job (some of them
//! simulated mid-ledger-write by tearing the last line), resumed each time; and interrupted
//! with SIGINT several times, resumed each time with the command it printed. Checked from
//! the fake's log and the ledger: the union of acknowledged identifiers is the input, no
//! batch the ledger had acknowledged is ever sent again, and the ledger stays readable (its
//! hash chain intact, at most torn lines that readers skip).

use crate::support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cdp_purge_sandbox::FaultPlan;
use support::*;

const IDS: usize = 9_000;
const KILLS: usize = 12;

/// Identifier HMACs the ledger holds as acknowledged.
fn acked(ledger: &Path) -> HashSet<String> {
    if !ledger.exists() {
        return HashSet::new();
    }
    read_ledger(ledger).acked_hmacs().into_keys().collect()
}

/// No request in `log` carried an identifier that was acknowledged before the run.
fn assert_not_resent(fake: &Fake, ledger: &Path, before: &HashSet<String>, when: &str) {
    if before.is_empty() {
        return;
    }
    let l = read_ledger(ledger);
    let resent = deletions(&fake.log())
        .iter()
        .flat_map(|r| r.values.iter())
        .filter(|v| before.contains(&l.hmac(v)))
        .count();
    assert_eq!(
        resent, 0,
        "{when}: {resent} acknowledged identifiers sent again"
    );
}

/// Cut the ledger's last complete line in half, as a kill inside `write_all` would.
fn tear_last_line(ledger: &Path) -> bool {
    let bytes = std::fs::read(ledger).unwrap();
    if bytes.last() != Some(&b'\n') || bytes.len() < 2 {
        return false;
    }
    let start = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let cut = start + (bytes.len() - start) / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(ledger)
        .unwrap()
        .set_len(cut as u64)
        .unwrap();
    true
}

fn wait_for_first_request(fake: &Fake, limit: Duration) {
    let t = Instant::now();
    while deletions(&fake.log()).is_empty() && t.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sigkill_at_a_dozen_points_then_resume_loses_and_repeats_nothing() {
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let fake = Fake::mparticle(FaultPlan::none(), 1500, Duration::from_millis(30));
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("KILL", IDS);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let cmd = || {
        let mut c = mparticle_delete(&fake, &input, &ledger);
        c.args(["--concurrency", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let (mut torn_by_us, mut kills) = (0, 0);
    for i in 0..KILLS {
        let before = acked(&ledger);
        fake.clear_log();
        let mut child = cmd().spawn().unwrap();
        // Early kills land during start-up and planning, later ones mid-delivery.
        let delay = Duration::from_millis(if i < 2 {
            rng.u64(5..60)
        } else {
            rng.u64(60..450)
        });
        std::thread::sleep(delay);
        // try_wait reaps a child that already exited: signalling its pid then would fail
        // (or hit a recycled pid).
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            signal(&child, libc::SIGKILL);
        }
        let status = child.wait().unwrap();
        kills += usize::from(!finished);
        let when = format!("kill {i} at {delay:?} (seed {seed})");
        assert!(finished || status.code().is_none(), "{when}: {status:?}");
        assert_not_resent(&fake, &ledger, &before, &when);
        if !ledger.exists() {
            continue;
        }
        // Readable after every kill (read_ledger checks the hash chain too).
        let view = read_ledger(&ledger);
        let prior = cdp_purge::ledger::scan(std::fs::File::open(&ledger).unwrap()).unwrap();
        assert!(prior.broken().is_none(), "{when}: {:?}", prior.broken());
        assert_eq!(prior.torn as usize, view.torn, "{when}");
        assert!(
            view.torn <= torn_by_us + kills,
            "{when}: {} torn",
            view.torn
        );
        if i % 3 == 2 && tear_last_line(&ledger) {
            torn_by_us += 1;
        }
    }
    assert!(
        kills >= 10,
        "only {kills} kills landed before the run finished"
    );

    let before = acked(&ledger);
    fake.clear_log();
    let out = cmd().stderr(Stdio::piped()).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "final run: {}",
        text(&out.stderr)
    );
    assert_not_resent(&fake, &ledger, &before, "final run");
    let l = read_ledger(&ledger);
    assert_acked_exactly_once(&l, &ids, &format!("after {kills} kills (seed {seed})"));
    // The tool's own auditor agrees: chain and input digest intact despite the torn lines.
    let verify = cdp_purge()
        .args(["report", "--verify", "--ledger"])
        .arg(&ledger)
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "report --verify after kills: {}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    eprintln!(
        "figures: sigkill kills={kills} torn_lines={} (simulated {torn_by_us}) runs={} lost=0 \
         resent_acknowledged=0 seed={seed}",
        l.torn,
        l.of_type("header").count()
    );
}

/// The command after "to resume: " on stderr.
fn resume_command(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("to resume: "))
        .map(str::to_owned)
}

#[test]
fn sigint_exits_130_prints_a_resume_command_that_works() {
    let fake = Fake::mparticle(FaultPlan::none(), 1500, Duration::from_millis(30));
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("INT", 4_000);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let c = fake.credentials().clone();
    // The first run as a user would type it; every later one is the printed command, run by
    // a shell with the same environment.
    let mut next: Command = mparticle_delete(&fake, &input, &ledger);
    next.arg("--concurrency").arg("3");
    let mut interrupts = 0;
    for i in 0..4 {
        let before = acked(&ledger);
        fake.clear_log();
        let mut child = next
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_first_request(&fake, Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50 + 60 * i));
        signal(&child, libc::SIGINT);
        let mut stderr = String::new();
        for line in BufReader::new(child.stderr.take().unwrap()).lines() {
            stderr.push_str(&line.unwrap());
            stderr.push('\n');
        }
        let status = child.wait().unwrap();
        let when = format!("interrupt {i}");
        assert_eq!(status.code(), Some(130), "{when}: {stderr}");
        assert!(!stderr.contains("panicked"), "{when}: {stderr}");
        assert_not_resent(&fake, &ledger, &before, &when);
        let l = read_ledger(&ledger);
        assert_eq!(l.torn, 0, "{when}: a graceful stop tears nothing");
        let end = l.of_type("end").last().expect("an end record");
        assert_eq!(end["reason"], "interrupted", "{when}");
        let cmd = resume_command(&stderr).unwrap_or_else(|| panic!("{when}: {stderr}"));
        next = cdp_purge();
        next.env("MPARTICLE_API_KEY", &c.mparticle_key)
            .env("MPARTICLE_API_SECRET", &c.mparticle_secret)
            .arg0_shell(&cmd);
        interrupts += 1;
    }
    let before = acked(&ledger);
    fake.clear_log();
    let out = next.stderr(Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "resume: {}", text(&out.stderr));
    assert_not_resent(&fake, &ledger, &before, "final resume");
    let l = read_ledger(&ledger);
    assert_acked_exactly_once(&l, &ids, "after SIGINTs");
    assert_eq!(
        l.of_type("end")
            .filter(|e| e["reason"] == "interrupted")
            .count(),
        interrupts
    );
    eprintln!(
        "figures: sigint interrupts={interrupts} exit=130 each, resumed by the printed command, lost=0 resent_acknowledged=0"
    );
}

#[test]
fn sigterm_stops_like_ctrl_c_exits_143_and_the_rerun_finishes() {
    let fake = Fake::mparticle(FaultPlan::none(), 1500, Duration::from_millis(30));
    let dir = tempfile::tempdir().unwrap();
    let ids = customer_ids("TERM", 3_000);
    let input = ids_csv(dir.path(), "ids.csv", "customerid", &ids);
    let ledger = dir.path().join("run.ledger.jsonl");
    let child = mparticle_delete(&fake, &input, &ledger)
        .args(["--concurrency", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_first_request(&fake, Duration::from_secs(10));
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    // A service manager's stop is a graceful stop: requests in flight are answered and
    // recorded, the run says how to resume, and the code says which signal it was.
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    assert!(resume_command(&stderr).is_some(), "{stderr}");
    let l = read_ledger(&ledger);
    assert_eq!(l.torn, 0);
    assert_eq!(l.of_type("end").last().unwrap()["reason"], "interrupted");
    let before = acked(&ledger);
    fake.clear_log();
    let out = mparticle_delete(&fake, &input, &ledger).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_not_resent(&fake, &ledger, &before, "after SIGTERM");
    assert_acked_exactly_once(&read_ledger(&ledger), &ids, "after SIGTERM");
}

/// Turn a prepared [`cdp_purge`] command into `sh -c CMD` with the same environment.
trait ShellCmd {
    fn arg0_shell(&mut self, cmd: &str) -> &mut Self;
}

impl ShellCmd for Command {
    fn arg0_shell(&mut self, cmd: &str) -> &mut Self {
        let mut sh = Command::new("sh");
        sh.env_clear();
        for (k, v) in self.get_envs() {
            if let Some(v) = v {
                sh.env(k, v);
            }
        }
        sh.arg("-c").arg(format!("exec {cmd}")).stdin(Stdio::null());
        *self = sh;
        self
    }
}
