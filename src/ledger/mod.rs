//! The audit ledger: append-only JSON Lines, one writer, a hash chain, crash-tolerant reads.
//!
//! One thread owns the file (and its exclusive lock). Everyone else sends it records; the
//! engine waits for the writer's acknowledgement of an attempt's `sent` record before the
//! request leaves, so no deletion goes out without a line on disk. Each line is written with
//! a single `write_all`, so a crash leaves at most one torn last line, which readers ignore
//! and the next run steps over by starting on a fresh line.

mod record;

pub use record::*;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::batch::BatchHash;
use crate::exit::UserError;

/// How often the writer fsyncs at most and at least (when there is something to sync).
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Default ledger path: `<first input>.ledger.jsonl` beside it, or
/// `cdp-purge-stdin.ledger.jsonl` in the working directory for stdin.
pub fn default_path(first_input: &Path) -> PathBuf {
    if first_input == Path::new("-") {
        return PathBuf::from("cdp-purge-stdin.ledger.jsonl");
    }
    let mut s = first_input.as_os_str().to_owned();
    s.push(".ledger.jsonl");
    PathBuf::from(s)
}

/// The key file beside a ledger.
pub fn key_path(ledger: &Path) -> PathBuf {
    let mut s = ledger.as_os_str().to_owned();
    s.push(".key");
    PathBuf::from(s)
}

/// What an existing ledger says about earlier runs.
#[derive(Debug, Default)]
pub struct Prior {
    /// Latest outcome per batch hash: whether it is final, and whether it had
    /// permanently failed items.
    pub outcomes: HashMap<BatchHash, OutcomeState>,
    pub runs: u32,
    /// Lines that did not parse (a torn line from a crash).
    pub torn: u32,
    /// SHA-256 hex of the last good line (the next line's `prev`).
    last_hash: Option<String>,
    /// The file does not end in a newline (a torn last line): start on a fresh one.
    needs_newline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeState {
    /// Every item succeeded.
    pub all_success: bool,
    /// No item is failed-retryable (so only permanent failures remain, if any).
    pub settled: bool,
    pub items: u32,
}

impl OutcomeState {
    pub fn is_done(&self, retry_failed: bool) -> bool {
        self.all_success || (self.settled && !retry_failed)
    }
}

impl Prior {
    pub fn is_done(&self, h: &BatchHash, retry_failed: bool) -> bool {
        self.outcomes
            .get(h)
            .is_some_and(|s| s.is_done(retry_failed))
    }
}

/// Read a ledger (tolerating torn or garbled lines).
pub fn read(r: impl Read) -> std::io::Result<Prior> {
    let mut prior = Prior::default();
    let mut rd = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = rd.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        let complete = buf.last() == Some(&b'\n');
        let line = if complete {
            &buf[..buf.len() - 1]
        } else {
            &buf[..]
        };
        if !complete {
            prior.needs_newline = true;
        }
        if line.is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            prior.torn += 1;
            continue;
        };
        if !complete {
            // Parsed, but the newline never made it: the writer died between the two.
            // Still a whole record; chain from it after adding the newline.
        }
        prior.last_hash = Some(hex::encode(Sha256::digest(line)));
        match v.get("type").and_then(|t| t.as_str()) {
            Some("header") => prior.runs += 1,
            Some("outcome") => {
                if let Ok(o) = serde_json::from_value::<Outcome>(v) {
                    prior.outcomes.insert(
                        o.batch,
                        OutcomeState {
                            all_success: o.results.iter().all(|r| r.status.is_success()),
                            settled: o.is_final(false),
                            items: o.items,
                        },
                    );
                }
            }
            _ => {}
        }
    }
    Ok(prior)
}

/// The per-ledger HMAC key: read it, or create it (mode 0600) for a new ledger.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let mut key = [0u8; 32];
            hex::decode_to_slice(s.trim(), &mut key).map_err(|_| {
                UserError::usage(format!(
                    "{} is not a ledger key (64 hex digits)",
                    path.display()
                ))
            })?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts
                .open(path)
                .map_err(|e| UserError::usage(format!("cannot create {}: {e}", path.display())))?;
            f.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
            f.sync_all()?;
            Ok(key)
        }
        Err(e) => Err(UserError::usage(format!("cannot read {}: {e}", path.display())).into()),
    }
}

/// HMAC-SHA-256 of an identifier under the ledger key, hex.
pub fn id_hmac(key: &[u8; 32], value: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length works");
    m.update(value.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// A random run id (128 bits, hex).
pub fn new_run_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        b = fastrand::u128(..).to_le_bytes();
    }
    hex::encode(b)
}

/// RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

enum Msg {
    Write(Box<Record>, oneshot::Sender<Result<(), String>>),
    Close,
}

/// A cloneable handle to the writer thread.
#[derive(Clone)]
pub struct LedgerHandle {
    tx: mpsc::Sender<Msg>,
}

impl LedgerHandle {
    /// Append a record; resolves once it is written (not necessarily fsynced).
    pub async fn write(&self, rec: Record) -> anyhow::Result<()> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Msg::Write(Box::new(rec), ack))
            .map_err(|_| anyhow::anyhow!("the ledger writer stopped"))?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("{e}")),
            Err(_) => Err(anyhow::anyhow!("the ledger writer stopped")),
        }
    }
}

/// An open, locked ledger and its writer thread.
pub struct Ledger {
    pub path: PathBuf,
    pub key: [u8; 32],
    pub prior: Prior,
    handle: LedgerHandle,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Ledger {
    /// Open (or create) a ledger, take its exclusive lock, read what earlier runs recorded.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| {
                UserError::usage(format!("cannot open the ledger {}: {e}", path.display()))
            })?;
        // A device or FIFO is no audit trail, and reading one back can never end
        // (`--ledger /dev/full` reads zeros forever, growing one "line" until OOM).
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Err(UserError::usage(format!(
                "the ledger {} is not a regular file",
                path.display()
            ))
            .with_hint("give --ledger a path to a file on disk")
            .into());
        }
        if let Err(e) = file.try_lock() {
            return Err(match e {
                std::fs::TryLockError::WouldBlock => UserError::usage(format!(
                    "the ledger {} is in use by another cdp-purge run",
                    path.display()
                ))
                .with_hint("wait for it to finish, or give this run its own --ledger"),
                std::fs::TryLockError::Error(e) => {
                    UserError::usage(format!("cannot lock the ledger {}: {e}", path.display()))
                }
            }
            .into());
        }
        file.seek(SeekFrom::Start(0))?;
        let prior =
            read(&mut file).with_context(|| format!("reading the ledger {}", path.display()))?;
        let key = load_or_create_key(&key_path(path))?;
        let (tx, rx) = mpsc::channel();
        let syncer = Syncer::start(file.try_clone()?)?;
        let mut w = Writer {
            file,
            prev: prior.last_hash.clone(),
            needs_newline: prior.needs_newline,
            dirty: false,
            last_sync: Instant::now(),
            failed: None,
            syncer: Some(syncer),
        };
        let thread = std::thread::Builder::new()
            .name("ledger".into())
            .spawn(move || w.run(rx))?;
        Ok(Self {
            path: path.to_owned(),
            key,
            prior,
            handle: LedgerHandle { tx },
            thread: Some(thread),
        })
    }

    pub fn handle(&self) -> LedgerHandle {
        self.handle.clone()
    }

    /// Flush, fsync and release the lock.
    pub fn close(mut self) -> anyhow::Result<()> {
        let _ = self.handle.tx.send(Msg::Close);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(anyhow::anyhow!("the ledger writer panicked")),
            None => Ok(()),
        }
    }
}

struct Writer {
    file: File,
    prev: Option<String>,
    needs_newline: bool,
    dirty: bool,
    last_sync: Instant,
    failed: Option<String>,
    syncer: Option<Syncer>,
}

/// Runs the periodic fsync on its own thread, on a clone of the ledger's handle.
///
/// An fsync takes tens of milliseconds; done on the writer thread it held up every "sent"
/// record behind it, and with them the requests, so a run at the quota lost ~2% of it.
/// Writes go on while the sync runs; a sync error stops the run at the next write.
struct Syncer {
    kick: mpsc::SyncSender<()>,
    error: Arc<Mutex<Option<String>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Syncer {
    fn start(file: File) -> std::io::Result<Self> {
        let (kick, rx) = mpsc::sync_channel::<()>(1);
        let error = Arc::new(Mutex::new(None));
        let err = Arc::clone(&error);
        let thread = std::thread::Builder::new()
            .name("ledger-sync".into())
            .spawn(move || {
                for () in rx {
                    if let Err(e) = file.sync_data() {
                        let mut slot = err.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert_with(|| format!("cannot sync the ledger: {e}"));
                    }
                }
            })?;
        Ok(Self {
            kick,
            error,
            thread,
        })
    }

    /// Ask for a sync; one already pending covers this one too.
    fn kick(&self) {
        let _ = self.kick.try_send(());
    }

    fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Wait for the pending sync and report any error it met.
    fn stop(self) -> Option<String> {
        drop(self.kick);
        let _ = self.thread.join();
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Writer {
    fn run(&mut self, rx: mpsc::Receiver<Msg>) -> anyhow::Result<()> {
        loop {
            match rx.recv_timeout(SYNC_EVERY) {
                Ok(Msg::Write(rec, ack)) => {
                    let r = self.append(&rec);
                    let _ = ack.send(r);
                }
                Ok(Msg::Close) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if self.dirty && self.last_sync.elapsed() >= SYNC_EVERY {
                if let Some(s) = &self.syncer {
                    s.kick();
                }
                self.dirty = false;
                self.last_sync = Instant::now();
            }
        }
        if let Some(e) = self.syncer.take().and_then(Syncer::stop)
            && self.failed.is_none()
        {
            self.failed = Some(e);
        }
        // The last sync is on this thread, after every write: at exit the ledger is whole.
        self.sync();
        match &self.failed {
            None => Ok(()),
            Some(e) => Err(anyhow::anyhow!("{e}")),
        }
    }

    fn sync(&mut self) {
        if let Err(e) = self.file.sync_data()
            && self.failed.is_none()
        {
            self.failed = Some(format!("cannot sync the ledger: {e}"));
        }
        self.dirty = false;
        self.last_sync = Instant::now();
    }

    fn append(&mut self, rec: &Record) -> Result<(), String> {
        if self.failed.is_none() {
            self.failed = self.syncer.as_ref().and_then(Syncer::error);
        }
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let line = Line {
            v: SCHEMA_VERSION,
            rec,
            prev: self.prev.as_deref(),
        };
        let mut bytes = Vec::with_capacity(256);
        if self.needs_newline {
            bytes.push(b'\n');
        }
        let start = bytes.len();
        serde_json::to_writer(&mut bytes, &line).map_err(|e| e.to_string())?;
        let hash = hex::encode(Sha256::digest(&bytes[start..]));
        bytes.push(b'\n');
        // One write_all per line: a crash can tear only the last line.
        if let Err(e) = self.file.write_all(&bytes) {
            let msg = format!("cannot write the ledger: {e}");
            self.failed = Some(msg.clone());
            return Err(msg);
        }
        self.needs_newline = false;
        self.prev = Some(hash);
        self.dirty = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
