//! One read per run: `delete` reads its inputs twice, and the second read must be the
//! first one's bytes exactly (see [`OneRead`]).

use std::io::{self, Read, Write};
use std::sync::Arc;

use super::source::{BUF, display, read_up_to};
use super::stages::Marks;

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
    pub(crate) seed: u64,
    files: std::sync::Mutex<Vec<Option<Arc<Fingerprint>>>>,
    /// Which kept rows of the first read were the first of their value.
    marks: std::sync::Mutex<Option<Arc<Marks>>>,
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
pub(crate) struct FileIdentity {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileIdentity {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
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

impl Fingerprint {
    /// The private copy of an input that cannot be read twice.
    pub(crate) fn spool(&self) -> Option<&std::fs::File> {
        self.spool.as_ref()
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
            marks: std::sync::Mutex::new(None),
        }
    }

    /// The de-dup marks of a whole first read, for the second to replay.
    pub(crate) fn marks(&self) -> Option<Arc<Marks>> {
        self.marks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set_marks(&self, marks: Marks) {
        *self.marks.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(marks));
    }

    pub(crate) fn get(&self, i: usize) -> Option<Arc<Fingerprint>> {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.get(i).cloned().flatten()
    }

    /// Wrap the raw bytes of input `index`: recorded on its first read (`recorded` is
    /// `None`; inputs without a file `identity` are copied to the spool), verified on the
    /// next.
    pub(crate) fn wrap<'h>(
        &'h self,
        raw: Box<dyn Read + 'h>,
        index: usize,
        recorded: Option<Arc<Fingerprint>>,
        name: &str,
        identity: Option<FileIdentity>,
    ) -> anyhow::Result<Box<dyn Read + 'h>> {
        if let Some(fp) = recorded {
            return Ok(Box::new(Verifier {
                inner: raw,
                fp,
                seed: self.seed,
                name: name.to_owned(),
                index: 0,
                buf: Vec::new(),
                pos: 0,
                done: false,
            }));
        }
        let spool = if identity.is_none() {
            let f = tempfile::tempfile().map_err(|e| {
                crate::error::UserError::usage(format!(
                    "cannot create a temporary file to hold {name} for the second read: {e}"
                ))
                .with_hint("check TMPDIR: it must be writable and have room for the input")
            })?;
            Some(std::io::BufWriter::with_capacity(BUF, f))
        } else {
            None
        };
        Ok(Box::new(Recorder {
            inner: raw,
            one: self,
            index,
            hasher: xxhash_rust::xxh3::Xxh3::with_seed(self.seed),
            in_chunk: 0,
            fp: Some(Fingerprint {
                chunks: Vec::new(),
                len: 0,
                spool: None,
                identity,
            }),
            spool,
        }))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Read `path` as input 0 through `one`, to the end.
    fn read(one: &OneRead, path: &std::path::Path) -> io::Result<Vec<u8>> {
        let recorded = one.get(0);
        let meta = std::fs::metadata(path)?;
        let raw: Box<dyn Read> = Box::new(std::fs::File::open(path)?);
        let mut r = one
            .wrap(raw, 0, recorded, "in.csv", Some(FileIdentity::of(&meta)))
            .map_err(io::Error::other)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    fn changed(e: &io::Error) -> String {
        e.get_ref()
            .and_then(|i| i.downcast_ref::<InputChanged>())
            .map(|c| c.0.clone())
            .unwrap_or_else(|| format!("not an InputChanged: {e}"))
    }

    #[test]
    fn the_second_read_keeps_the_first_reads_duplicates_without_a_set() {
        // Duplicates within and across files and kinds; the second read replays the
        // first's marks, and a tampered record shows that it does.
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(
            &a,
            "kind,id\nemail,x@y.io\nemail,z@y.io\nuser,x@y.io\nemail,x@y.io\n",
        )
        .unwrap();
        std::fs::write(&b, "kind,id\nemail,z@y.io\nuser,q\nuser,q\n").unwrap();
        let mut spec = crate::input::IntakeSpec::with_defaults(
            vec![a, b],
            crate::input::ColumnSel::Name("id".into()),
            crate::input::KindSource::Column(crate::input::ColumnSel::Name("kind".into())),
        );
        let one = Arc::new(OneRead::new());
        spec.one_read = Some(one.clone());
        let read = |spec: &crate::input::IntakeSpec| {
            let mut items = Vec::new();
            let stats = crate::input::run(
                spec,
                &mut |it| {
                    items.push((it.file, it.row, it.kind, it.value));
                    Ok(())
                },
                &mut |_| Ok(()),
            );
            stats.map(|s| (items, s.kept, s.duplicates))
        };
        assert!(
            one.marks().is_none(),
            "nothing recorded before the first read"
        );
        let first = read(&spec).expect("first read");
        assert_eq!((first.1, first.2), (4, 3), "{:?}", first.0);
        let marks = one.marks().expect("the first read left its marks");
        assert_eq!(marks.len(), 7);
        let second = read(&spec).expect("second read");
        assert_eq!(second, first);

        // Every row marked first of its value: the replay, not a set, decides.
        let mut all = Marks::default();
        for _ in 0..7 {
            all.push(true);
        }
        one.set_marks(all);
        let (items, kept, duplicates) = read(&spec).expect("replayed");
        assert_eq!((kept, duplicates, items.len()), (7, 0, 7));
        // A record shorter than the read is an error, never a guess.
        let mut short = Marks::default();
        short.push(true);
        one.set_marks(short);
        let e = read(&spec).expect_err("more rows than recorded");
        assert!(e.to_string().contains("internal error"), "{e:#}");
    }

    #[test]
    fn the_second_read_must_be_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        let body: Vec<u8> = (0..VERIFY_CHUNK * 2 + 100)
            .map(|i| (i % 251) as u8)
            .collect();
        type Change = fn(&mut Vec<u8>);
        let cases: [(&str, Change); 4] = [
            ("same", |_| {}),
            ("cut short", |b| b.truncate(VERIFY_CHUNK + 7)),
            ("grew", |b| b.push(b'x')),
            ("differ", |b| b[VERIFY_CHUNK + 3] ^= 1),
        ];
        for (what, change) in cases {
            std::fs::write(&p, &body).unwrap();
            let one = OneRead::new();
            assert_eq!(read(&one, &p).unwrap(), body, "{what}: first read");
            let mut now = body.clone();
            change(&mut now);
            std::fs::write(&p, &now).unwrap();
            match read(&one, &p) {
                Ok(b) => assert_eq!((what, b == body), ("same", true)),
                Err(e) => assert!(changed(&e).contains(what), "{what}: {}", changed(&e)),
            }
        }
    }
}
