//! The one way tests build a `cdp-purge` command.
//!
//! Every command starts from [`cdp_purge`]: an empty environment (nothing of the developer's
//! shell, config, credentials, `NO_COLOR` or `COLUMNS` reaches the child), `PATH`, scaled
//! waits, no stdin. Vendor flags and the sandbox's credentials come from the helpers below,
//! so "mParticle against a fake" is written once. [`TestContext`] adds a temp dir that is the
//! child's current directory, `HOME`, config home and `TMPDIR`, an optional fake vendor,
//! and the filters that make whole-CLI output stable for snapshots.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use cdp_purge_sandbox::{Credentials, SandboxConfig};

use super::{Fake, TIME_SCALE};

/// The binary with a clean environment: PATH, scaled time, nothing else.
pub fn cdp_purge() -> Command {
    clean(Command::cargo_bin("cdp-purge").unwrap())
}

/// `cmd` with nothing of the test process's environment but PATH, and scaled waits.
fn clean(mut cmd: Command) -> Command {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CDP_PURGE_TIME_SCALE", TIME_SCALE)
        .stdin(Stdio::null());
    cmd
}

/// [`cdp_purge`] for tests written with `assert_cmd`'s assertions.
pub fn assert_cdp_purge() -> assert_cmd::Command {
    assert_cmd::Command::from_std(cdp_purge())
}

/// Every vendor's credentials `c`, in the variables the binary reads.
pub fn credentials<'a>(cmd: &'a mut Command, c: &Credentials) -> &'a mut Command {
    for (name, value) in c.env_lines() {
        cmd.env(name, value);
    }
    cmd
}

/// Every vendor's sandbox credentials (the fakes' defaults).
pub fn sandbox_credentials(cmd: &mut Command) -> &mut Command {
    credentials(cmd, &Credentials::default())
}

/// [`cdp_purge`] with [`sandbox_credentials`].
pub fn cdp_purge_with_credentials() -> Command {
    let mut cmd = cdp_purge();
    sandbox_credentials(&mut cmd);
    cmd
}

/// `--vendor mparticle --environment E --id-type T --column C`.
pub fn mparticle_args<'a>(
    cmd: &'a mut Command,
    environment: &str,
    identity_type: &str,
    column: &str,
) -> &'a mut Command {
    cmd.args(["--vendor", "mparticle", "--environment", environment])
        .args(["--id-type", identity_type, "--column", column])
}

/// `--vendor lytics --id-type email --column email`.
pub fn lytics_args(cmd: &mut Command) -> &mut Command {
    cmd.args([
        "--vendor",
        "lytics",
        "--id-type",
        "email",
        "--column",
        "email",
    ])
}

/// `delete` of mParticle (production) identities of `identity_type` in `column` of `input`,
/// against `base`, confirmed, with the sandbox's credentials.
pub fn mparticle_delete_to(base: &str, identity_type: &str, column: &str, input: &Path) -> Command {
    let mut cmd = cdp_purge_with_credentials();
    cmd.arg("delete");
    mparticle_args(&mut cmd, "production", identity_type, column)
        .args(["--yes", "--base-url", base, "-i"])
        .arg(input);
    cmd
}

/// `delete` of the Lytics emails in column `email` of `input`, against `base`, confirmed,
/// with the sandbox's token.
pub fn lytics_delete_to(base: &str, input: &Path) -> Command {
    let mut cmd = cdp_purge_with_credentials();
    cmd.arg("delete");
    lytics_args(&mut cmd)
        .args(["--yes", "--base-url", base, "-i"])
        .arg(input);
    cmd
}

/// Run `cmd` with the ledger's file size capped at `limit` bytes: a disk that fills there.
/// Writes past it fail (EFBIG; SIGXFSZ is ignored so the write returns the error). Set in
/// the child only, between fork and exec: the test process keeps its own limits.
pub fn with_disk_full_at(cmd: &mut Command, limit: u64) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Held by the tests that load the CPU hardest (the memory-measured corpus runs, gzip bombs)
/// and by those whose checks need the child to get its share of it (pacing windows, a file
/// changed while a run is under way): in one process they would otherwise run side by side
/// on a 2-core machine, and a starved child misses a quota it would meet alone.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that failed while holding it poisons it; the next one still runs.
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a finished command did.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn of(cmd: &mut Command) -> Self {
        let out = cmd.output().expect("run cdp-purge");
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Exit code and both streams, for a snapshot of everything the user saw.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// One test's world: a temp dir, optionally a fake vendor, and commands confined to both.
pub struct TestContext {
    dir: tempfile::TempDir,
    fake: Option<Fake>,
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TestContext {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            fake: None,
        }
    }

    /// With a fake vendor (the crate's sandbox on a port of its own), stopped on drop.
    pub fn with_fake(cfg: SandboxConfig) -> Self {
        Self {
            fake: Some(Fake::start(cfg)),
            ..Self::new()
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn fake(&self) -> &Fake {
        self.fake
            .as_ref()
            .expect("TestContext::with_fake starts the fake")
    }

    /// Write `contents` to `name` in the context's directory.
    pub fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir().join(name);
        std::fs::write(&p, contents).expect("write test file");
        p
    }

    /// [`cdp_purge`] run from the context's directory, which is also its `HOME`, config
    /// home and `TMPDIR`: whatever the child reads or leaves behind stays in there.
    pub fn cmd(&self) -> Command {
        self.confine(cdp_purge())
    }

    /// `bash -c script` confined like [`Self::cmd`], for what only a shell can set up
    /// (process substitution, pipelines); `$CDP_PURGE` is the binary, `$1`… are `args`.
    pub fn shell(&self, script: &str, args: &[&str]) -> Command {
        let mut cmd = self.confine(clean(Command::new("bash")));
        cmd.env("CDP_PURGE", assert_cmd::cargo::cargo_bin("cdp-purge"))
            .arg("-c")
            .arg(script)
            .arg("bash")
            .args(args);
        sandbox_credentials(&mut cmd);
        cmd
    }

    fn confine(&self, mut cmd: Command) -> Command {
        cmd.current_dir(self.dir())
            .env("HOME", self.dir())
            .env("XDG_CONFIG_HOME", self.dir().join(".config"))
            .env("TMPDIR", self.dir());
        cmd
    }

    /// [`Self::cmd`] with the sandbox's credentials for every vendor.
    pub fn cmd_with_credentials(&self) -> Command {
        let mut cmd = self.cmd();
        sandbox_credentials(&mut cmd);
        cmd
    }

    /// `cdp-purge <sub> --vendor lytics --id-type email --column email`, confined.
    pub fn lytics(&self, sub: &str) -> Command {
        let mut cmd = self.cmd();
        cmd.arg(sub);
        lytics_args(&mut cmd);
        cmd
    }

    /// `delete` of the Lytics emails in `input` against the context's fake.
    pub fn lytics_delete(&self, input: &Path) -> Command {
        let mut cmd = self.cmd_with_credentials();
        cmd.arg("delete");
        lytics_args(&mut cmd)
            .args(["--yes", "--base-url", &self.fake().base_url(), "-i"])
            .arg(input);
        cmd
    }

    pub fn run(&self, cmd: &mut Command) -> Outcome {
        Outcome::of(cmd)
    }

    /// Snapshot settings whose filters replace what changes from run to run: the temp dir,
    /// ports, run ids, vendor request ids, timestamps, a run's elapsed time and rate.
    pub fn snapshot_settings(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        let mut dirs = vec![self.dir().to_path_buf()];
        if let Ok(real) = self.dir().canonicalize() {
            dirs.push(real);
        }
        for d in dirs {
            s.add_filter(&regex_escape(&d.to_string_lossy()), "[DIR]");
        }
        for (re, with) in FILTERS {
            s.add_filter(re, *with);
        }
        s
    }
}

/// Run-to-run noise in the binary's output, and what stands in for it in snapshots.
const FILTERS: &[(&str, &str)] = &[
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    (
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[UUID]",
    ),
    (r"\b[0-9a-f]{32}\b", "[RUN_ID]"),
    (
        r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})",
        "[TIME]",
    ),
    // Only what a run measures: a plan's estimate or a quota's window is data.
    (
        r"(elapsed\s+)\d+(?:\.\d+)? ?(?:ms|s), \d+(?:\.\d+)? identifiers/s",
        "${1}[DURATION], [RATE] identifiers/s",
    ),
];

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
