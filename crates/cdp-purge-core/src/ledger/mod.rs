//! The audit ledger: append-only JSON Lines, one writer, a hash chain, crash-tolerant reads.
//!
//! One writer owns the file (and its exclusive lock), behind a mutex; the engine waits for
//! an attempt's `sent` record to be written before the request leaves, so no deletion goes
//! out without a line on disk. Each line is written with
//! a single `write_all`, so a crash leaves at most one torn last line, which readers ignore
//! and the next run steps over by starting on a fresh line.

mod destination;
mod keyed;
mod line;
mod record;
mod resume;
pub mod window;

pub use destination::{Destination, SANDBOX_ORIGIN, fingerprint};
pub use line::{AttemptLine, DraftItem, OutcomeDraft};
pub use record::*;
pub use resume::{KeyState, Resume, RunInfo, Scan, scan};

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::batch::Item;
use crate::error::UserError;

/// How often the writer fsyncs at most and at least (when there is something to sync).
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Default ledger path, one per input and destination: `<first input>.ledger.<slug>.jsonl`
/// beside the input (`ids.csv.ledger.lytics-1a2b3c4d.jsonl`), so that however the target was
/// chosen (`--target`, `--all-targets` or flags) the same destination finds the same ledger,
/// and a sandbox rehearsal never shares one with the real run. Stdin, pipes and process
/// substitution (`-i <(…)`, whose `/dev/fd/N` name means nothing to the next run) use
/// `cdp-purge-stdin.ledger.<slug>.jsonl` in the working directory.
pub fn default_path(first_input: &Path, dest: &Destination) -> PathBuf {
    let slug = dest.slug();
    let regular_or_missing = first_input != Path::new("-")
        && std::fs::metadata(first_input).map_or(true, |m| m.is_file());
    if !regular_or_missing {
        return PathBuf::from(format!("cdp-purge-stdin.ledger.{slug}.jsonl"));
    }
    let mut s = first_input.as_os_str().to_owned();
    s.push(format!(".ledger.{slug}.jsonl"));
    PathBuf::from(s)
}

/// The key file beside a ledger.
pub fn key_path(ledger: &Path) -> PathBuf {
    let mut s = ledger.as_os_str().to_owned();
    s.push(".key");
    PathBuf::from(s)
}

/// Read an existing ledger key. `Ok(None)`: there is none (no file, or an empty one, which is
/// what a full disk could leave before keys were written atomically).
pub fn read_key(path: &Path) -> anyhow::Result<Option<[u8; 32]>> {
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().is_empty() => Ok(None),
        Ok(s) => {
            let mut key = [0u8; 32];
            hex::decode_to_slice(s.trim(), &mut key).map_err(|_| {
                UserError::usage(format!(
                    "{} is not a ledger key (64 hex digits)",
                    path.display()
                ))
                .with_hint("restore the .key file the ledger was written with")
            })?;
            Ok(Some(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(UserError::usage(format!("cannot read {}: {e}", path.display())).into()),
    }
}

/// Create a new random key atomically: written to a private temporary file in the same
/// directory, synced, then renamed over `path`, so a crash or a full disk leaves either no
/// key or a whole one, never an empty or partial file.
pub fn create_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let fail = |e: &dyn std::fmt::Display| -> anyhow::Error {
        UserError::usage(format!(
            "cannot create the ledger key {}: {e}",
            path.display()
        ))
        .with_hint("check the free space and permissions of the ledger's directory")
        .into()
    };
    // tempfile creates the file 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".cdp-purge-key-")
        .tempfile_in(&dir)
        .map_err(|e| fail(&e))?;
    tmp.write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(key)
}

/// The per-ledger HMAC key: read it, or create it for a new ledger (tests and tools; `delete`
/// and `status` go through [`Ledger::open`], which refuses a used ledger without its key).
pub fn load_or_create_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    match read_key(path)? {
        Some(k) => Ok(k),
        None => create_key(path),
    }
}

/// The key of the ledger at `ledger`, or a new one when the ledger holds no record yet.
fn key_for(ledger: &Path, ledger_is_empty: bool) -> anyhow::Result<[u8; 32]> {
    let kp = key_path(ledger);
    match read_key(&kp)? {
        Some(k) => Ok(k),
        None if ledger_is_empty => create_key(&kp),
        None => Err(UserError::usage(format!(
            "the ledger {} has records but its key {} is missing or empty",
            ledger.display(),
            kp.display()
        ))
        .with_hint(
            "restore the .key file written with this ledger (a new key would make every \
             earlier record unmatchable), or start a new ledger with --ledger NEW.jsonl",
        )
        .into()),
    }
}

/// The resume key of an identifier: 128 bits of HMAC-SHA-256, under the ledger key, of its
/// kind, its lookup (Segment's user_id) and its value, each length-prefixed, so that the same
/// value under another kind or on another profile is another identifier. Hex in the ledger.
pub fn item_key(key: &[u8; 32], item: &Item) -> u128 {
    Hasher::new(key).item_key(item)
}

/// The ledger key's HMAC, prepared once: each hash then costs two SHA-256 blocks instead of
/// four plus the key setup (the engine hashes every identifier two or three times).
#[derive(Clone)]
pub struct Hasher {
    mac: keyed::KeyedSha256,
}

impl Hasher {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            mac: keyed::KeyedSha256::new(key),
        }
    }

    /// HMAC-SHA-256 of an identifier's value, hex (`id_hmac`).
    pub fn id_hmac(&self, value: &str) -> String {
        hex32(&self.id_hmac_bytes(value))
    }

    /// The same HMAC as bytes, for writers that hex-encode it in place.
    pub fn id_hmac_bytes(&self, value: &str) -> [u8; 32] {
        self.mac.mac(value.as_bytes())
    }

    /// The `id_hmac` of each value, in order (as [`Self::id_hmac_bytes`] on each, a
    /// batch at a time: see [`keyed::KeyedSha256::mac_each`]).
    pub fn id_hmacs<'a>(&self, values: impl Iterator<Item = &'a str>) -> Vec<[u8; 32]> {
        let msgs: Vec<&[u8]> = values.map(str::as_bytes).collect();
        let mut out = Vec::new();
        self.mac.mac_each(&msgs, &mut out);
        out
    }

    /// See [`item_key`].
    pub fn item_key(&self, item: &Item) -> u128 {
        // The message gathered and hashed in one update (on the stack for all but a very
        // long identifier): the same hash as updating piece by piece, without seven trips
        // through the digest's buffering.
        let need = key_message_len(item);
        let mut stack = [0u8; 256];
        let mut heap = Vec::new();
        let msg = match stack.get_mut(..need) {
            Some(m) => m,
            None => {
                heap.resize(need, 0);
                heap.as_mut_slice()
            }
        };
        let mut at = 0;
        key_message(item, |piece| {
            // `need` counted every piece: each fits.
            if let Some(dst) = msg.get_mut(at..at + piece.len()) {
                dst.copy_from_slice(piece);
            }
            at += piece.len();
        });
        key_of(&self.mac.mac(msg))
    }

    /// The resume key of each item, in order (as [`Self::item_key`] on each, a batch at a
    /// time: see [`keyed::KeyedSha256::mac_each`]).
    pub fn item_keys(&self, items: &[Item]) -> Vec<u128> {
        let mut bytes = Vec::with_capacity(items.iter().map(key_message_len).sum());
        let mut ends = Vec::with_capacity(items.len());
        for it in items {
            key_message(it, |piece| bytes.extend_from_slice(piece));
            ends.push(bytes.len());
        }
        let mut start = 0;
        let msgs: Vec<&[u8]> = ends
            .iter()
            .map(|&end| {
                let msg = bytes.get(start..end).unwrap_or_default();
                start = end;
                msg
            })
            .collect();
        let mut macs = Vec::new();
        self.mac.mac_each(&msgs, &mut macs);
        macs.iter().map(key_of).collect()
    }
}

const KEY_TAG: &[u8] = b"cdp-purge/item/v1\0";

/// The fields a resume key covers, in order.
fn key_parts(item: &Item) -> [&str; 3] {
    [
        item.kind.as_str(),
        item.lookup.as_deref().unwrap_or(""),
        item.value.as_str(),
    ]
}

/// The bytes [`key_message`] produces for `item`.
fn key_message_len(item: &Item) -> usize {
    KEY_TAG.len() + key_parts(item).iter().map(|p| 8 + p.len()).sum::<usize>()
}

/// The message a resume key is the MAC of, piece by piece: the tag, then each part's
/// length (64-bit little-endian) and bytes.
fn key_message(item: &Item, mut put: impl FnMut(&[u8])) {
    put(KEY_TAG);
    for part in key_parts(item) {
        put(&(part.len() as u64).to_le_bytes());
        put(part.as_bytes());
    }
}

/// A resume key: the MAC's first 128 bits.
fn key_of(mac: &[u8; 32]) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&mac[..16]);
    u128::from_be_bytes(b)
}

/// A resume key as written in the ledger (32 hex digits).
pub fn key_hex(k: u128) -> String {
    ascii(&keyed::hex16(&k.to_be_bytes()))
}

/// 32 bytes as 64 lowercase hex digits.
pub fn hex32(b: &[u8; 32]) -> String {
    ascii(&keyed::hex32(b))
}

/// Hex digits as a string (ASCII: never lossy).
fn ascii(digits: &[u8]) -> String {
    String::from_utf8_lossy(digits).into_owned()
}

pub fn parse_key_hex(s: &str) -> Option<u128> {
    (s.len() == 32).then(|| u128::from_str_radix(s, 16).ok())?
}

/// HMAC-SHA-256 of an identifier under the ledger key, hex.
pub fn id_hmac(key: &[u8; 32], value: &str) -> String {
    Hasher::new(key).id_hmac(value)
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

/// A cloneable handle to the ledger's writer.
///
/// Records are appended by the caller, under a mutex, not by a thread of their own: a paced
/// run writes two or three lines per request, and sending each to a writer thread woke two
/// idle threads per line, which cost more CPU than writing the line (a few microseconds
/// into the page cache; the fsync stays on its own thread).
#[derive(Clone)]
pub struct LedgerHandle {
    writer: Arc<Mutex<Writer>>,
}

impl LedgerHandle {
    /// Append a record (owned or borrowed); resolves once it is written (not necessarily
    /// fsynced).
    pub async fn write(&self, rec: impl std::borrow::Borrow<Record>) -> anyhow::Result<()> {
        let rec = rec.borrow();
        self.append_with(|out, prev| serde_json::to_writer(out, &Line::of(rec, prev)))
    }

    /// Append an outcome record (the same line as `write(&Record::Outcome(..))`, without
    /// its per-identifier strings).
    pub async fn write_outcome(&self, o: &OutcomeDraft<'_>) -> anyhow::Result<()> {
        self.append_with(|out, prev| o.write(out, prev))
    }

    /// Append an attempt's result and the outcome it led to, chained in that order, in one
    /// `write`: the same two lines as two calls, for one system call instead of two (each
    /// costs the file system its own bookkeeping; three a request were a tenth of a paced
    /// run's CPU). A crash can still tear only the last line written.
    pub async fn write_result_and_outcome(
        &self,
        result: &Attempt,
        o: &OutcomeDraft<'_>,
    ) -> anyhow::Result<()> {
        let result = AttemptLine {
            rec: result,
            keys: &[],
        };
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.append_lines(|lines| {
            lines.push(|out, prev| result.write(out, prev))?;
            lines.push(|out, prev| o.write(out, prev))
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Append an attempt record (the same line as `write(&Record::Attempt(..))` with
    /// `keys` as its key list when its own is empty).
    pub async fn write_attempt(&self, a: &AttemptLine<'_>) -> anyhow::Result<()> {
        self.append_with(|out, prev| a.write(out, prev))
    }

    fn append_with(
        &self,
        line: impl FnOnce(&mut Vec<u8>, Option<&str>) -> serde_json::Result<()>,
    ) -> anyhow::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.append_lines(|lines| lines.push(line))
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// An open, locked ledger and its writer.
pub struct Ledger {
    pub path: PathBuf,
    pub key: [u8; 32],
    /// What the file held when it was opened (chain check, runs, per-run counts).
    pub scan: Scan,
    handle: LedgerHandle,
}

impl Ledger {
    /// Open (or create) a ledger, take its exclusive lock, check its chain and read what
    /// earlier runs recorded, and load its key (created, atomically, for a ledger with no
    /// record yet; a ledger with records but no key is refused).
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
        let read_err = |e: std::io::Error| -> anyhow::Error {
            UserError::usage(format!("cannot read the ledger {}: {e}", path.display())).into()
        };
        file.seek(SeekFrom::Start(0)).map_err(read_err)?;
        let scan = scan(&mut file).map_err(read_err)?;
        let key = key_for(path, scan.lines == 0)?;
        let dirty = Arc::new(AtomicBool::new(false));
        let syncer = Syncer::start(file.try_clone().map_err(read_err)?, Arc::clone(&dirty))
            .map_err(read_err)?;
        let w = Writer {
            file: Some(file),
            prev: scan.head.clone(),
            needs_newline: scan.needs_newline,
            dirty,
            failed: None,
            syncer: Some(syncer),
            buf: Vec::new(),
        };
        Ok(Self {
            path: path.to_owned(),
            key,
            scan,
            handle: LedgerHandle {
                writer: Arc::new(Mutex::new(w)),
            },
        })
    }

    /// Refuse to build on a ledger whose chain is broken (an edit, a forged or removed
    /// line): resuming from it could skip identifiers forever or delete them again.
    pub fn require_intact(&self) -> anyhow::Result<()> {
        let Some(b) = self.scan.broken() else {
            return Ok(());
        };
        Err(UserError::usage(format!(
            "the ledger {} fails its hash chain at line {} ({} record): {}",
            self.path.display(),
            b.line,
            b.record_type,
            b.explanation
        ))
        .with_hint(format!(
            "resuming from an altered ledger could skip or resend deletions; restore the \
             original file (`cdp-purge report --ledger {} --verify` shows the details) or \
             start a new ledger with --ledger NEW.jsonl",
            self.path.display()
        ))
        .into())
    }

    /// What earlier runs to `dest` settled (a second read of the file; see [`resume`]).
    pub fn resume(&self, dest: &Destination) -> anyhow::Result<Resume> {
        let f = File::open(&self.path).map_err(|e| {
            UserError::usage(format!(
                "cannot read the ledger {}: {e}",
                self.path.display()
            ))
        })?;
        resume::collect(f, &self.scan, dest).map_err(|e| {
            UserError::usage(format!(
                "cannot read the ledger {}: {e}",
                self.path.display()
            ))
            .into()
        })
    }

    /// What the ledger's runs to `vendor` at `origin` sent at or after `since`, for quotas
    /// over long windows ([`window`]).
    pub fn sent_since(
        &self,
        vendor: &str,
        origin: &str,
        since: std::time::SystemTime,
    ) -> anyhow::Result<Vec<window::Sent>> {
        let f = File::open(&self.path).map_err(|e| {
            UserError::usage(format!(
                "cannot read the ledger {}: {e}",
                self.path.display()
            ))
        })?;
        window::sent_since(f, &self.scan, vendor, origin, since).map_err(|e| {
            UserError::usage(format!(
                "cannot read the ledger {}: {e}",
                self.path.display()
            ))
            .into()
        })
    }

    pub fn handle(&self) -> LedgerHandle {
        self.handle.clone()
    }

    /// Fsync and release the lock. Handles still held fail their writes from now on.
    pub fn close(self) -> anyhow::Result<()> {
        let mut w = self.handle.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.close()
    }
}

struct Writer {
    /// `None` once closed (the lock is released with the file).
    file: Option<File>,
    prev: Option<String>,
    needs_newline: bool,
    /// Written since the last sync (the syncer clears it).
    dirty: Arc<AtomicBool>,
    failed: Option<String>,
    syncer: Option<Syncer>,
    /// The lines being appended (kept between appends).
    buf: Vec<u8>,
}

/// Runs the periodic fsync on its own thread, on a clone of the ledger's handle: every
/// [`SYNC_EVERY`], when something was written since the last one.
///
/// An fsync takes tens of milliseconds; done where records are written it held up every
/// "sent" record behind it, and with them the requests, so a run at the quota lost ~2% of
/// it. Writes go on while the sync runs; a sync error stops the run at the next write.
struct Syncer {
    stop: mpsc::SyncSender<()>,
    error: Arc<Mutex<Option<String>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Syncer {
    fn start(file: File, dirty: Arc<AtomicBool>) -> std::io::Result<Self> {
        let (stop, rx) = mpsc::sync_channel::<()>(1);
        let error = Arc::new(Mutex::new(None));
        let err = Arc::clone(&error);
        let thread = std::thread::Builder::new()
            .name("ledger-sync".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(SYNC_EVERY) {
                    if dirty.swap(false, Ordering::AcqRel)
                        && let Err(e) = file.sync_data()
                    {
                        let mut slot = err.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert_with(|| format!("cannot sync the ledger: {e}"));
                    }
                }
            })?;
        Ok(Self {
            stop,
            error,
            thread,
        })
    }

    fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stop (after a sync in progress) and report any error it met.
    fn stop(self) -> Option<String> {
        drop(self.stop);
        let _ = self.thread.join();
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Drop for Writer {
    /// A ledger dropped without `close` (an early error) still gets its last sync.
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Writer {
    /// The last sync, after every write: the ledger is whole when this returns. Then the
    /// file (and its lock) is let go.
    fn close(&mut self) -> anyhow::Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        if let Some(e) = self.syncer.take().and_then(Syncer::stop)
            && self.failed.is_none()
        {
            self.failed = Some(e);
        }
        if let Err(e) = file.sync_data()
            && self.failed.is_none()
        {
            self.failed = Some(format!("cannot sync the ledger: {e}"));
        }
        drop(file);
        match &self.failed {
            None => Ok(()),
            Some(e) => Err(anyhow::anyhow!("{e}")),
        }
    }

    /// Append the lines `lines` writes, each chained to the one before, in one `write_all`:
    /// a crash can tear only the last line. Nothing is chained (`prev` stays) unless the
    /// write succeeded.
    fn append_lines(
        &mut self,
        lines: impl FnOnce(&mut Lines<'_>) -> serde_json::Result<()>,
    ) -> Result<(), String> {
        if self.failed.is_none() {
            self.failed = self.syncer.as_ref().and_then(Syncer::error);
        }
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(file) = self.file.as_mut() else {
            return Err("the ledger is closed".into());
        };
        // One buffer for the run: an outcome line is ~17 KB at 100 identifiers, and a
        // fresh vector grew to it through seven copies.
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        if self.needs_newline {
            buf.push(b'\n');
        }
        let mut l = Lines {
            buf: &mut buf,
            prev: self.prev.clone(),
        };
        let written = lines(&mut l).map_err(|e| e.to_string());
        let prev = l.prev;
        let written = written.and_then(|()| {
            // One write_all for them all: a crash can tear only the last line.
            file.write_all(&buf).map_err(|e| {
                let msg = format!("cannot write the ledger: {e}");
                self.failed = Some(msg.clone());
                msg
            })
        });
        // Keep the buffer unless one odd line made it huge.
        if buf.capacity() <= 1 << 20 {
            self.buf = buf;
        }
        written?;
        self.needs_newline = false;
        self.prev = prev;
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }
}

/// Lines being appended together, each chained to the one before it.
struct Lines<'a> {
    buf: &'a mut Vec<u8>,
    prev: Option<String>,
}

impl Lines<'_> {
    /// Add the line `line` writes (without its newline), chained to the previous one.
    fn push(
        &mut self,
        line: impl FnOnce(&mut Vec<u8>, Option<&str>) -> serde_json::Result<()>,
    ) -> serde_json::Result<()> {
        let start = self.buf.len();
        line(self.buf, self.prev.as_deref())?;
        let hash = hex32(&Sha256::digest(&self.buf[start..]).into());
        self.buf.push(b'\n');
        self.prev = Some(hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
