//! Running the binary under a memory ceiling, with its peak RSS and wall time measured.
//!
//! The peak is the child's own high-water mark (`VmHWM`), read at the moment it exits: the
//! child runs under `ptrace` with `PTRACE_O_TRACEEXIT`, which stops it after its last
//! allocation but before its memory is released. `wait4`'s `ru_maxrss` cannot be used: at
//! `exec` the kernel folds in the resident size of the forked copy of this (large, test)
//! process, so it reports the test's size rather than the child's. `RLIMIT_AS` is only a
//! guard: a child that runs away fails fast instead of taking the shared machine's memory.

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

fn ptrace(req: libc::c_uint, pid: i32, data: usize) -> libc::c_long {
    // SAFETY: requests on our own stopped tracee (or TRACEME on ourselves); no memory is
    // passed to the kernel.
    unsafe { libc::ptrace(req, pid, std::ptr::null_mut::<libc::c_void>(), data) }
}

fn waitpid(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child; `status` is valid for writes.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return status;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "waitpid: {e}");
    }
}

/// Follow a traced child to its end: pass its signals on, read its peak at the exit stop.
/// Returns (wait status, peak KiB).
fn trace(pid: i32) -> (i32, u64) {
    let status = waitpid(pid);
    assert!(
        libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP,
        "the child did not stop at exec (status {status:#x})"
    );
    let opts = (libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL) as usize;
    assert_eq!(ptrace(libc::PTRACE_SETOPTIONS, pid, opts), 0);
    assert_eq!(ptrace(libc::PTRACE_CONT, pid, 0), 0);
    let mut peak = 0;
    loop {
        let status = waitpid(pid);
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return (status, peak);
        }
        let sig = libc::WSTOPSIG(status);
        let exiting = sig == libc::SIGTRAP && status >> 16 == libc::PTRACE_EVENT_EXIT;
        let pass = if exiting {
            peak = super::vm_hwm_kb(pid as u32).unwrap_or(0);
            0
        } else {
            sig as usize
        };
        ptrace(libc::PTRACE_CONT, pid, pass);
    }
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
    // SAFETY: setrlimit and ptrace are async-signal-safe; nothing else runs between fork
    // and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: AS_LIMIT,
                rlim_max: AS_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0
                || ptrace(libc::PTRACE_TRACEME, 0, 0) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    // Reaped by `trace`, which std's `wait` cannot replace (it would not follow the tracee).
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
    // ptrace requests must come from this thread: the one that started the child.
    let (status, peak_kib) = trace(pid);
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
        peak_kib,
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
