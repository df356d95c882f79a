//! Opening an input: file or stdin, gzip detection, SHA-256 of the stored bytes, format.

use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::cli::Format;
use crate::exit::UserError;

/// Read buffer size for every input layer.
pub(crate) const BUF: usize = 256 * 1024;

pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The name a person gave for an input (`-` for stdin).
pub(crate) fn display(path: &Path) -> String {
    path.display().to_string()
}

/// The format of an input: `--format`, else the extension before any `.gz`, else CSV.
pub(crate) fn detect_format(path: &Path, forced: Option<Format>) -> Format {
    if let Some(f) = forced {
        return f;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("tsv" | "tab") => Format::Tsv,
        Some("json") => Format::Json,
        Some("ndjson" | "jsonl") => Format::Ndjson,
        _ => Format::Csv,
    }
}

/// Feeds every byte read through it into a SHA-256.
struct Hashing<'h, R> {
    inner: R,
    sha: &'h mut Sha256,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

/// A decompression failure, kept distinct so the error can say "gzip" rather than blame I/O.
#[derive(Debug, thiserror::Error)]
#[error("the gzip stream is truncated or corrupt ({0})")]
pub(crate) struct GzipError(io::Error);

struct GzErrors<R>(R);

impl<R: Read> Read for GzErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), GzipError(e)))
    }
}

/// The change a second read found, however deep in the reader stack it was raised.
fn input_changed(e: &io::Error) -> Option<&InputChanged> {
    let inner = e.get_ref()?;
    if let Some(c) = inner.downcast_ref::<InputChanged>() {
        return Some(c);
    }
    if let Some(GzipError(gz)) = inner.downcast_ref::<GzipError>() {
        return input_changed(gz);
    }
    inner.downcast_ref::<io::Error>().and_then(input_changed)
}

/// Turn a read error on `name` into the user-facing error (exit 2, with a hint).
pub(crate) fn read_error(name: &str, e: &io::Error) -> anyhow::Error {
    if let Some(changed) = input_changed(e) {
        return UserError::usage(format!("stopped: {changed}"))
            .with_hint(
                "nothing outside the list as first read was sent; rerun once the file stays \
                 put (the ledger skips what was already deleted)",
            )
            .into();
    }
    let gz = e.get_ref().is_some_and(|inner| inner.is::<GzipError>());
    let hint = if gz {
        format!("the file may be incomplete; check it with `gzip -t {name}`")
    } else {
        "check that the file is readable and complete".to_owned()
    };
    UserError::usage(format!("cannot read {name}: {e}"))
        .with_hint(hint)
        .into()
}

/// Fill `buf` as far as the reader allows; returns the bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Bytes per verified chunk of the second read: what is held back until it is proved equal
/// to the first read, and how precisely a change is located.
pub(crate) const VERIFY_CHUNK: usize = 256 * 1024;

/// One read per run: `delete` reads its inputs twice (to count and confirm, then to send),
/// and the second read must be the first one's bytes exactly.
///
/// On the first read every input is cut into chunks whose digests (xxh3-128 under a random
/// per-run seed, so nobody can craft a different chunk with the same digest) are kept, a few
/// bytes per 256 KiB. An input that cannot be read twice (stdin, a pipe, a FIFO, `<(…)`) is
/// also copied to an anonymous temporary file: created 0600, with no name in any directory,
/// so it disappears with the process however it ends. On the second read each chunk is read
/// whole and checked before any byte of it reaches the parser, so nothing read differently
/// can be batched, let alone sent; a difference stops the run with what changed.
#[derive(Debug)]
pub struct OneRead {
    seed: u64,
    files: std::sync::Mutex<Vec<Option<Arc<Fingerprint>>>>,
}

/// The first read of one input.
#[derive(Debug)]
pub(crate) struct Fingerprint {
    chunks: Vec<u128>,
    len: u64,
    /// The copy of an input that cannot be read again.
    spool: Option<std::fs::File>,
    /// Device, inode, length and modification time of a regular file when it was read.
    identity: Option<FileIdentity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileIdentity {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Self {
            dev,
            ino,
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

impl Default for OneRead {
    fn default() -> Self {
        Self::new()
    }
}

impl OneRead {
    pub fn new() -> Self {
        let mut b = [0u8; 8];
        if getrandom::fill(&mut b).is_err() {
            b = fastrand::u64(..).to_le_bytes();
        }
        Self {
            seed: u64::from_le_bytes(b),
            files: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn get(&self, i: usize) -> Option<Arc<Fingerprint>> {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.get(i).cloned().flatten()
    }

    fn store(&self, i: usize, fp: Fingerprint) {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.len() <= i {
            files.resize(i + 1, None);
        }
        files[i] = Some(Arc::new(fp));
    }

    /// After the run: a regular-file input that was replaced, or changed in size or time,
    /// since it was read (the bytes that were sent had been verified as they were read; this
    /// catches a change that came after).
    pub fn changed_since(&self, inputs: &[std::path::PathBuf]) -> Option<String> {
        for (i, path) in inputs.iter().enumerate() {
            let Some(fp) = self.get(i) else { continue };
            let Some(then) = &fp.identity else { continue };
            let name = display(path);
            let now = match std::fs::metadata(path) {
                Ok(m) => FileIdentity::of(&m),
                Err(e) => return Some(format!("{name} can no longer be read ({e})")),
            };
            if (now.dev, now.ino) != (then.dev, then.ino) {
                return Some(format!("{name} was replaced by another file"));
            }
            if now.len != then.len {
                return Some(format!(
                    "{name} is now {} bytes long; it had {} bytes when it was read",
                    now.len, then.len
                ));
            }
            if now.modified != then.modified {
                return Some(format!(
                    "{name} was modified (its modification time changed)"
                ));
            }
        }
        None
    }
}

/// The input changed between the two reads (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InputChanged(pub String);

/// The first read: digests every chunk and copies unrereadable inputs to the spool.
struct Recorder<'o, R> {
    inner: R,
    one: &'o OneRead,
    index: usize,
    hasher: xxhash_rust::xxh3::Xxh3,
    in_chunk: usize,
    fp: Option<Fingerprint>,
    spool: Option<std::io::BufWriter<std::fs::File>>,
}

impl<R: Read> Read for Recorder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let Some(fp) = self.fp.as_mut() else {
            return Ok(n);
        };
        if n == 0 {
            if self.in_chunk > 0 {
                fp.chunks.push(self.hasher.digest128());
            }
            let mut fp = self.fp.take().expect("checked above");
            if let Some(w) = self.spool.take() {
                let f = w.into_inner().map_err(|e| spool_error(e.error()))?;
                fp.spool = Some(f);
            }
            self.one.store(self.index, fp);
            return Ok(0);
        }
        if let Some(w) = self.spool.as_mut() {
            w.write_all(&buf[..n]).map_err(|e| spool_error(&e))?;
        }
        fp.len += n as u64;
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let take = rest.len().min(VERIFY_CHUNK - self.in_chunk);
            self.hasher.update(&rest[..take]);
            self.in_chunk += take;
            rest = &rest[take..];
            if self.in_chunk == VERIFY_CHUNK {
                fp.chunks.push(self.hasher.digest128());
                self.hasher = xxhash_rust::xxh3::Xxh3::with_seed(self.one.seed);
                self.in_chunk = 0;
            }
        }
        Ok(n)
    }
}

fn spool_error(e: &io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("cannot copy the input to a temporary file (check the free space in TMPDIR): {e}"),
    )
}

/// The second read: hands out a chunk only once it is proved equal to the first read's.
struct Verifier<R> {
    inner: R,
    fp: Arc<Fingerprint>,
    seed: u64,
    name: String,
    index: usize,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> Verifier<R> {
    fn changed(&self, what: String) -> io::Error {
        io::Error::other(InputChanged(format!(
            "{} changed while this run was reading it: {what}",
            self.name
        )))
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let start = self.index as u64 * VERIFY_CHUNK as u64;
        let Some(&want) = self.fp.chunks.get(self.index) else {
            // Every chunk was verified: the input must end here too.
            let mut probe = [0u8; 1];
            if read_up_to(&mut self.inner, &mut probe)? > 0 {
                return Err(self.changed(format!(
                    "it grew: it had {} bytes when it was planned",
                    self.fp.len
                )));
            }
            self.done = true;
            return Ok(());
        };
        let len = (self.fp.len - start).min(VERIFY_CHUNK as u64) as usize;
        self.buf.resize(len, 0);
        let got = read_up_to(&mut self.inner, &mut self.buf)?;
        if got < len {
            return Err(self.changed(format!(
                "it was cut short: it ends at byte {}, it had {} bytes when it was planned",
                start + got as u64,
                self.fp.len
            )));
        }
        let mut h = xxhash_rust::xxh3::Xxh3::with_seed(self.seed);
        h.update(&self.buf);
        if h.digest128() != want {
            return Err(self.changed(format!(
                "bytes {}..{} differ from the first read (it was rewritten)",
                start,
                start + len as u64
            )));
        }
        self.index += 1;
        self.pos = 0;
        Ok(())
    }
}

impl<R: Read> Read for Verifier<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            self.next_chunk()?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Open an input for reading: stdin or a file, decompressed when it is gzip (by extension or
/// magic bytes). Every stored byte read goes through `sha`. With `one_read`, the first read of
/// input `index` is recorded and a later one is verified against it (see [`OneRead`]).
pub(crate) fn open<'h>(
    path: &Path,
    index: usize,
    one_read: Option<&'h OneRead>,
    sha: &'h mut Sha256,
) -> anyhow::Result<Box<dyn BufRead + 'h>> {
    let name = display(path);
    let cannot = |e: &dyn std::fmt::Display| -> anyhow::Error {
        UserError::usage(format!("cannot read {name}: {e}"))
            .with_hint("check the path (use `-i -` to read stdin)")
            .into()
    };
    let recorded = one_read.and_then(|o| o.get(index));
    let mut identity = None;
    let raw: Box<dyn Read + 'h> = match recorded.as_ref().and_then(|fp| fp.spool.as_ref()) {
        Some(spool) => {
            let mut f = spool.try_clone().map_err(|e| cannot(&e))?;
            f.seek(io::SeekFrom::Start(0)).map_err(|e| cannot(&e))?;
            Box::new(f)
        }
        None if is_stdin(path) => Box::new(io::stdin().lock()),
        None => {
            let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
            if meta.is_dir() {
                return Err(cannot(&"it is a directory"));
            }
            let f = std::fs::File::open(path).map_err(|e| cannot(&e))?;
            // What was opened, not what is at the path a moment later.
            let meta = f.metadata().map_err(|e| cannot(&e))?;
            if meta.is_file() {
                identity = Some(FileIdentity::of(&meta));
            }
            Box::new(f)
        }
    };
    let raw: Box<dyn Read + 'h> = match (one_read, recorded) {
        (Some(one), Some(fp)) => Box::new(Verifier {
            inner: raw,
            fp,
            seed: one.seed,
            name: name.clone(),
            index: 0,
            buf: Vec::new(),
            pos: 0,
            done: false,
        }),
        (Some(one), None) => {
            let spool = if identity.is_none() {
                let f = tempfile::tempfile().map_err(|e| {
                    UserError::usage(format!(
                        "cannot create a temporary file to hold {name} for the second read: {e}"
                    ))
                    .with_hint("check TMPDIR: it must be writable and have room for the input")
                })?;
                Some(std::io::BufWriter::with_capacity(BUF, f))
            } else {
                None
            };
            Box::new(Recorder {
                inner: raw,
                one,
                index,
                hasher: xxhash_rust::xxh3::Xxh3::with_seed(one.seed),
                in_chunk: 0,
                fp: Some(Fingerprint {
                    chunks: Vec::new(),
                    len: 0,
                    spool: None,
                    identity,
                }),
                spool,
            })
        }
        (None, _) => raw,
    };
    let mut hashing = Hashing { inner: raw, sha };
    let mut head = [0u8; 2];
    let n = read_up_to(&mut hashing, &mut head).map_err(|e| read_error(&name, &e))?;
    let is_gz = head[..n].starts_with(&[0x1f, 0x8b]) || name.to_ascii_lowercase().ends_with(".gz");
    let stream = io::Cursor::new(head).take(n as u64).chain(hashing);
    let text: Box<dyn BufRead> = if is_gz {
        let gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(BUF, stream));
        Box::new(BufReader::with_capacity(BUF, GzErrors(gz)))
    } else {
        Box::new(BufReader::with_capacity(BUF, stream))
    };
    super::sniff::sniff(&name, is_gz, text)
}

/// A guess at the number of records in an uncompressed regular file (from the line length of
/// its first MiB), used to size the de-dup set once. `None` for stdin, pipes, gzip or
/// unreadable files.
pub(crate) fn estimate_rows(path: &Path) -> Option<u64> {
    if is_stdin(path) {
        return None;
    }
    // Only regular files, checked without opening: reading the head of a pipe or FIFO
    // (`-i <(zcat ...)`) would consume it.
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let size = meta.len();
    let mut f = std::fs::File::open(path).ok()?;
    let mut head = vec![0u8; 1 << 20];
    let n = read_up_to(&mut f, &mut head).ok()?;
    if head[..n].starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let lines = head[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    if lines == 0 {
        return None;
    }
    Some(size.saturating_mul(lines) / n as u64 + 1)
}

/// Device and inode of what a path (or `-`, stdin) leads to, through symlinks.
#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = if is_stdin(path) {
        // What fd 0 is (a file given with `< ids.csv` can be named as an output too).
        std::fs::metadata("/dev/stdin").ok()?
    } else {
        std::fs::metadata(path).ok()?
    };
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// Refuse (exit 2, before anything is written) an output path that is one of the inputs:
/// the same file by device and inode, whatever the name or symlink that leads to it. Opening
/// it for writing would truncate or corrupt the list being read.
pub fn refuse_outputs_over_inputs(
    inputs: &[std::path::PathBuf],
    outputs: &[(&str, &Path)],
) -> anyhow::Result<()> {
    for (flag, out) in outputs {
        let Some(id) = file_id(out) else { continue };
        if let Some(input) = inputs.iter().find(|i| file_id(i) == Some(id)) {
            return Err(UserError::usage(format!(
                "{flag} {} is the input {}: writing it would destroy the list being read",
                out.display(),
                display(input)
            ))
            .with_hint(format!("give {flag} another path"))
            .into());
        }
    }
    Ok(())
}

/// Skip a UTF-8 byte-order mark.
pub(crate) fn skip_bom(r: &mut dyn BufRead) -> io::Result<()> {
    if r.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        r.consume(3);
    }
    Ok(())
}

/// Finish a hash as lowercase hex.
pub(crate) fn hex_digest(sha: Sha256) -> String {
    hex::encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn formats_from_extensions() {
        let f = |p: &str| detect_format(&PathBuf::from(p), None);
        assert_eq!(f("a.csv"), Format::Csv);
        assert_eq!(f("a.CSV.GZ"), Format::Csv);
        assert_eq!(f("a.tsv"), Format::Tsv);
        assert_eq!(f("a.tab.gz"), Format::Tsv);
        assert_eq!(f("a.json"), Format::Json);
        assert_eq!(f("a.json.gz"), Format::Json);
        assert_eq!(f("a.jsonl"), Format::Ndjson);
        assert_eq!(f("a.ndjson.gz"), Format::Ndjson);
        assert_eq!(f("-"), Format::Csv);
        assert_eq!(f("list.txt"), Format::Csv);
        assert_eq!(
            detect_format(&PathBuf::from("a.csv"), Some(Format::Json)),
            Format::Json
        );
    }

    #[test]
    fn hashes_stored_bytes_and_decompresses() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv.gz");
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(b"email\na@b.co\n").unwrap();
        let stored = enc.finish().unwrap();
        std::fs::write(&p, &stored).unwrap();
        let mut sha = Sha256::new();
        let mut text = String::new();
        open(&p, 0, None, &mut sha)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "email\na@b.co\n");
        assert_eq!(hex_digest(sha), hex::encode(Sha256::digest(&stored)));
    }

    #[test]
    fn truncated_gzip_is_a_named_error() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv.gz");
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&b"email,a@b.co\n".repeat(1000)).unwrap();
        let stored = enc.finish().unwrap();
        std::fs::write(&p, &stored[..stored.len() / 2]).unwrap();
        let mut sha = Sha256::new();
        let mut sink = Vec::new();
        // Sniffing reads the head, so the error may come at open or at the first read.
        let msg = match open(&p, 0, None, &mut sha) {
            Err(e) => format!("{e:#}"),
            Ok(mut r) => format!(
                "{:#}",
                read_error("x.csv.gz", &r.read_to_end(&mut sink).unwrap_err())
            ),
        };
        assert!(
            msg.contains("cannot read ") && msg.contains("x.csv.gz"),
            "{msg}"
        );
        assert!(msg.contains("gzip"), "{msg}");
    }

    #[test]
    fn missing_file_and_directory_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut sha = Sha256::new();
        let e = open(&dir.path().join("nope.csv"), 0, None, &mut sha)
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        let e = open(dir.path(), 0, None, &mut sha).err().unwrap();
        assert!(e.to_string().contains("it is a directory"), "{e}");
    }
}
