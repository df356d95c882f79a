//! Endless and explosive inputs: `/dev/zero`, a stdin that never ends, a gzip bomb. Each run
//! of the real binary is under a memory ceiling, has its peak RSS measured by the kernel and
//! must stay within 64 MiB of a normal run, and must end on its own within seconds with a
//! clear error (exit 2), sending nothing. No big fixture: the bombs are built here, small.

use crate::bad_corpus;
use crate::support;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::measure::{self, Measured};
use support::*;

const MEMORY_HEADROOM_KIB: u64 = 64 * 1024;
/// Killed past this; each case must end well before it on its own.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// What "within seconds" means here, for a debug build on a loaded 2-core machine (the
/// figures printed show the real times: about a second each).
const MUST_END_WITHIN: Duration = Duration::from_secs(20);

fn plan(args: &[&str]) -> Command {
    let mut c = cdp_purge();
    c.arg("plan");
    bad_corpus::vendor_args(&mut c, bad_corpus::Kind::Customer);
    c.args(args);
    c
}

fn delete(args: &[&str], out: &Path) -> Command {
    let mut c = cdp_purge();
    c.args(["delete", "--sandbox", "--yes", "--json", "--ledger"])
        .arg(out.join("ledger.jsonl"));
    bad_corpus::vendor_args(&mut c, bad_corpus::Kind::Customer);
    c.args(args);
    c
}

fn baseline(cmd: Command) -> u64 {
    let m = measure::run(cmd, None, TIME_LIMIT);
    assert_eq!(m.code, Some(0), "baseline run failed: {}", m.stderr);
    m.peak_kib
}

/// Check one endless run: exit 2 saying `says`, nothing sent, bounded memory and time.
fn check(name: &str, m: &Measured, base_kib: u64, says: &[&str], bad: &mut Vec<String>) {
    println!(
        "figures: {name}: exit {:?}, peak {} MiB (baseline {} MiB), {:.2} s",
        m.code,
        m.peak_kib >> 10,
        base_kib >> 10,
        m.elapsed.as_secs_f64()
    );
    let mut fail = |s: String| bad.push(format!("{name}: {s}"));
    if m.timed_out || m.elapsed > MUST_END_WITHIN {
        fail(format!(
            "still running after {:.1} s",
            m.elapsed.as_secs_f64()
        ));
    }
    if m.code != Some(2) {
        fail(format!("exit {:?} (expected 2): {}", m.code, m.stderr));
    }
    if m.peak_kib > base_kib + MEMORY_HEADROOM_KIB {
        fail(format!(
            "peak RSS {} MiB, more than 64 MiB above the baseline {} MiB",
            m.peak_kib >> 10,
            base_kib >> 10
        ));
    }
    for s in says {
        if !m.stderr.contains(s) {
            fail(format!("stderr does not say {s:?}: {}", m.stderr));
        }
    }
    if m.stderr.len() > 2048 || m.stdout.contains("\"acknowledged\"") {
        fail(format!("echoed input or sent: {} / {}", m.stderr, m.stdout));
    }
}

/// A gzip file of `head` then `members` copies of one gzip member holding `block`: a few
/// MB on disk for gigabytes of text (gzip members concatenate).
fn bomb(dir: &Path, name: &str, head: &[u8], block: &[u8], members: usize) -> std::path::PathBuf {
    use flate2::{Compression, write::GzEncoder};
    let gz = |data: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let p = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    f.write_all(&gz(head)).unwrap();
    let member = gz(block);
    for _ in 0..members {
        f.write_all(&member).unwrap();
    }
    f.flush().unwrap();
    p
}

#[test]
fn endless_inputs_stop_with_an_error_in_seconds_and_bounded_memory() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let ok = write_file(other.path(), "ok.csv", b"id\nA1\nA2\n");
    let ok = ok.to_str().unwrap();
    let base_plan = baseline(plan(&["-i", ok]));
    let base_delete = baseline(delete(&["-i", ok], other.path()));
    let mut bad = Vec::new();
    let nul = ["NUL bytes"];
    let past = ["past 16 MiB"];

    for (name, args) in [
        ("plan /dev/zero as CSV", &["-i", "/dev/zero"][..]),
        (
            "plan /dev/zero as NDJSON",
            &["-i", "/dev/zero", "--format", "ndjson"],
        ),
        (
            "plan /dev/zero as JSON",
            &["-i", "/dev/zero", "--format", "json"],
        ),
    ] {
        let m = measure::run(plan(args), None, TIME_LIMIT);
        check(name, &m, base_plan, &nul, &mut bad);
    }
    let m = measure::run(delete(&["-i", "/dev/zero"], dir.path()), None, TIME_LIMIT);
    check("delete /dev/zero", &m, base_delete, &nul, &mut bad);

    // A stdin that never ends, one field (or line, or string) that never ends.
    for (name, format, head, fill) in [
        (
            "plan endless CSV field on stdin",
            "csv",
            &b"id\nA1\n"[..],
            b'x',
        ),
        (
            "plan endless quoted field on stdin",
            "csv",
            b"id\n\"A1",
            b'x',
        ),
        ("plan endless line of commas on stdin", "csv", b"id\n", b','),
        (
            "plan endless NDJSON line on stdin",
            "ndjson",
            b"{\"id\":\"",
            b'y',
        ),
        (
            "plan endless JSON string on stdin",
            "json",
            b"[\"A1\", \"",
            b'z',
        ),
    ] {
        let args = ["-i", "-", "--format", format];
        let m = measure::run(plan(&args), Some(measure::endless(head, fill)), TIME_LIMIT);
        check(name, &m, base_plan, &past, &mut bad);
    }

    // delete keeps a copy of stdin for its second read: it must stop growing too.
    let m = measure::run(
        delete(&["-i", "-"], dir.path()),
        Some(measure::endless(b"id\nA1\n", b'x')),
        TIME_LIMIT,
    );
    check(
        "delete endless CSV field on stdin",
        &m,
        base_delete,
        &past,
        &mut bad,
    );

    // A gzip bomb: 10 MB on disk, 10 GiB of one field that never ends.
    let block = vec![b'x'; 1 << 20];
    let gz = bomb(dir.path(), "bomb.csv.gz", b"id\nA1\n", &block, 10 << 10);
    let size = std::fs::metadata(&gz).unwrap().len();
    assert!(size < 16 << 20, "the bomb is {size} bytes on disk");
    let gz = gz.to_str().unwrap();
    let m = measure::run(plan(&["-i", gz]), None, TIME_LIMIT);
    check(
        "plan gzip bomb (10 GiB field)",
        &m,
        base_plan,
        &past,
        &mut bad,
    );
    let m = measure::run(delete(&["-i", gz], dir.path()), None, TIME_LIMIT);
    check(
        "delete gzip bomb (10 GiB field)",
        &m,
        base_delete,
        &past,
        &mut bad,
    );

    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Records past the cap but not endless are skipped one by one: a 64 MiB gzip bomb of 2 MiB
/// records between valid rows is read to the end in bounded memory, every long record a
/// reject with its row, every valid row kept and sent.
#[test]
fn a_bomb_of_long_records_is_read_through_in_bounded_memory() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // The baseline's own ledger: resume would skip what it acknowledged.
    let other = tempfile::tempdir().unwrap();
    let ok = write_file(other.path(), "ok.csv", b"id\nA1\nA2\n");
    let base = baseline(delete(&["-i", ok.to_str().unwrap()], other.path()));
    let mut block = vec![b'w'; 2 << 20];
    block.extend(b"\nB1\n");
    // Each member: a 2 MiB record, then the row B1 (so 32 duplicates of one valid row).
    let gz = bomb(dir.path(), "records.csv.gz", b"id\nA1\n", &block, 32);
    let rejects = dir.path().join("rejects.csv");
    let mut cmd = delete(&["-i", gz.to_str().unwrap()], dir.path());
    cmd.arg("--rejects").arg(&rejects);
    let m = measure::run(cmd, None, TIME_LIMIT);
    println!(
        "figures: delete 64 MiB of 2 MiB records: exit {:?}, peak {} MiB (baseline {} MiB), {:.2} s",
        m.code,
        m.peak_kib >> 10,
        base >> 10,
        m.elapsed.as_secs_f64()
    );
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    assert!(
        m.peak_kib <= base + MEMORY_HEADROOM_KIB,
        "peak {} KiB",
        m.peak_kib
    );
    assert!(m.elapsed < MUST_END_WITHIN, "{:?}", m.elapsed);
    let s: serde_json::Value = serde_json::from_str(m.stdout.trim()).unwrap();
    assert_eq!(s["acknowledged"], 2, "{s}");
    let rows: Vec<u64> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    // Member k (0-based) puts its long record on line 3 + 2k.
    let want: Vec<u64> = (0..32).map(|k| 3 + 2 * k).collect();
    assert_eq!(rows, want);
}
