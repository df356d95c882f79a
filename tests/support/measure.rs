//! Running the binary under a memory ceiling, with its peak RSS and wall time measured.
//!
//! The peak comes from the kernel (`wait4`'s `ru_maxrss`, the child's high-water mark),
//! not from sampling, so a short spike is seen too. `RLIMIT_AS` is only a guard: a child
//! that runs away fails fast instead of taking the shared machine's memory.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Address-space ceiling for a measured child: a normal run reserves ~400 MB of virtual
/// memory (thread stacks, allocator arenas) and touches ~30 MB of it.
pub const AS_LIMIT: u64 = 1 << 30;

/// What a measured run did.
#[derive(Debug)]
pub struct Measured {
    /// `None` when killed by a signal (a crash, the ceiling, or the time limit).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident set, KiB.
    pub peak_kib: u64,
    pub elapsed: Duration,
    /// Killed for running past the time limit.
    pub timed_out: bool,
}

/// Run `cmd` (stdout and stderr captured) under [`AS_LIMIT`], killed after `limit`.
/// `feed`, when given, writes the child's stdin on a thread of its own.
pub fn run(
    mut cmd: Command,
    feed: Option<Box<dyn FnOnce(ChildStdin) + Send>>,
    limit: Duration,
) -> Measured {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if feed.is_some() {
        cmd.stdin(Stdio::piped());
    }
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: AS_LIMIT,
                rlim_max: AS_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    // Reaped by wait4 below, which std's `wait` cannot do (it would not return the usage).
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.spawn().expect("spawn cdp-purge");
    let pid = i32::try_from(child.id()).unwrap();
    let feeder = feed.map(|f| {
        let stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || f(stdin))
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        let late = done_rx.recv_timeout(limit).is_err();
        if late {
            // SAFETY: kill(2) on our own child, not yet reaped (the reaper has not said so).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        late
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `status` and `usage` are valid for writes.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    let elapsed = start.elapsed();
    let _ = done_tx.send(());
    let timed_out = killer.join().unwrap();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured {
        code,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        peak_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        elapsed,
        timed_out,
    }
}

/// A stdin feeder: `head`, then `fill` repeated until the child stops reading.
pub fn endless(head: &'static [u8], fill: u8) -> Box<dyn FnOnce(ChildStdin) + Send> {
    Box::new(move |mut stdin: ChildStdin| {
        if stdin.write_all(head).is_err() {
            return;
        }
        let block = vec![fill; 64 * 1024];
        while stdin.write_all(&block).is_ok() {}
    })
}
