//! Opening an input: file or stdin, gzip detection, SHA-256 of the stored bytes, format.

use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::Path;

use super::oneread::{FileIdentity, InputChanged, OneRead};

use sha2::{Digest, Sha256};

use super::Format;
use crate::error::UserError;

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

/// Feeds every byte read through it into an input's digest.
struct Hashing<'h, R> {
    inner: R,
    sha: &'h mut FileDigest,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

/// Bytes handed to the digest thread at a time.
const DIGEST_BLOCK: usize = 512 * 1024;

/// An input's SHA-256, over every stored byte read, in order.
///
/// The bytes are hashed on a thread of their own, from copies sent in blocks: on the reading
/// thread, which sets the pace of the whole intake, SHA-256 was an eighth of its time (a
/// 10M-row file: 0.24 of ~2 CPU-s), and a copy costs a tenth of that. Inline when that
/// thread cannot be started. At most a few blocks are in flight, whatever the input's size.
pub(crate) struct FileDigest {
    off: Option<DigestThread>,
    inline: Sha256,
}

struct DigestThread {
    /// Read, not yet sent.
    pending: Vec<u8>,
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
    /// Blocks the thread has hashed, to fill again.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    thread: std::thread::JoinHandle<Sha256>,
}

impl FileDigest {
    pub(crate) fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        // Room for every block that can be out at once: returning one never blocks.
        let (back, spare) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let thread = std::thread::Builder::new()
            .name("cdp-purge-sha256".into())
            .spawn(move || {
                let mut sha = Sha256::new();
                while let Ok(mut block) = rx.recv() {
                    sha.update(&block);
                    block.clear();
                    let _ = back.try_send(block);
                }
                sha
            });
        Self {
            off: thread.ok().map(|thread| DigestThread {
                pending: Vec::with_capacity(DIGEST_BLOCK),
                tx,
                spare,
                thread,
            }),
            inline: Sha256::new(),
        }
    }

    /// Hashed where it is read (tests compare both ways).
    #[cfg(test)]
    fn inline() -> Self {
        Self {
            off: None,
            inline: Sha256::new(),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        let Some(off) = self.off.as_mut() else {
            self.inline.update(bytes);
            return;
        };
        off.pending.extend_from_slice(bytes);
        if off.pending.len() >= DIGEST_BLOCK {
            off.send();
        }
    }

    /// The digest as lowercase hex, once every byte read is hashed.
    pub(crate) fn finish(self) -> anyhow::Result<String> {
        let sha = match self.off {
            None => self.inline,
            Some(mut off) => {
                off.send();
                drop(off.tx);
                off.thread
                    .join()
                    .map_err(|_| anyhow::anyhow!("the SHA-256 thread panicked"))?
            }
        };
        Ok(hex::encode(sha.finalize()))
    }
}

impl DigestThread {
    fn send(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(DIGEST_BLOCK));
        let full = std::mem::replace(&mut self.pending, next);
        // Fails only when the thread is gone (it panicked): `finish` reports that.
        let _ = self.tx.send(full);
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
        return changed_error(changed);
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

/// The error that stops a run whose input changed between its two reads (exit 2).
pub(crate) fn changed_error(changed: &InputChanged) -> anyhow::Error {
    UserError::usage(format!("stopped: {changed}"))
        .with_hint(
            "nothing outside the list as first read was sent; rerun once the file stays put \
             (the ledger skips what was already deleted)",
        )
        .into()
}

/// Fill `buf` as far as the reader allows; returns the bytes read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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

/// Open an input for reading: stdin or a file, decompressed when it is gzip (by extension or
/// magic bytes). Every stored byte read goes through `sha`. With `one_read`, the first read of
/// input `index` is recorded and a later one is verified against it (see [`OneRead`]).
pub(crate) fn open<'h>(
    path: &Path,
    index: usize,
    one_read: Option<&'h OneRead>,
    sha: &'h mut FileDigest,
) -> anyhow::Result<Box<dyn BufRead + 'h>> {
    let name = display(path);
    let cannot = |e: &dyn std::fmt::Display| -> anyhow::Error {
        UserError::usage(format!("cannot read {name}: {e}"))
            .with_hint("check the path (use `-i -` to read stdin)")
            .into()
    };
    let recorded = one_read.and_then(|o| o.get(index));
    let mut identity = None;
    let raw: Box<dyn Read + 'h> = match recorded.as_ref().and_then(|fp| fp.spool()) {
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
    let raw = match one_read {
        Some(one) => one.wrap(raw, index, recorded, &name, identity)?,
        None => raw,
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
        let mut sha = FileDigest::new();
        let mut text = String::new();
        open(&p, 0, None, &mut sha)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "email\na@b.co\n");
        assert_eq!(sha.finish().unwrap(), hex::encode(Sha256::digest(&stored)));
    }

    #[test]
    fn digest_covers_every_byte_in_order_across_blocks() {
        // Lengths around the block size and many blocks, read through the same layers as an
        // input, both on the digest thread and inline.
        let dir = tempfile::tempdir().unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let bytes: Vec<u8> = (0..3 * DIGEST_BLOCK + 12_345)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let pick = b"abc,\n0123456789@.";
                pick[(x % pick.len() as u64) as usize]
            })
            .collect();
        for len in [
            0,
            1,
            DIGEST_BLOCK - 1,
            DIGEST_BLOCK,
            DIGEST_BLOCK + 1,
            bytes.len(),
        ] {
            let p = dir.path().join(format!("x{len}.csv"));
            std::fs::write(&p, &bytes[..len]).unwrap();
            let want = hex::encode(Sha256::digest(&bytes[..len]));
            for mut sha in [FileDigest::new(), FileDigest::inline()] {
                let mut back = Vec::new();
                open(&p, 0, None, &mut sha)
                    .unwrap()
                    .read_to_end(&mut back)
                    .unwrap();
                assert_eq!(back.len(), len);
                assert_eq!(sha.finish().unwrap(), want, "{len} bytes");
            }
        }
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
        let mut sha = FileDigest::new();
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
        let mut sha = FileDigest::new();
        let e = open(&dir.path().join("nope.csv"), 0, None, &mut sha)
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        let e = open(dir.path(), 0, None, &mut sha).err().unwrap();
        assert!(e.to_string().contains("it is a directory"), "{e}");
    }
}
