//! One read per run: `delete` reads its inputs twice, and the second read must be the
//! first one's bytes exactly (see [`OneRead`]).

use std::io::{self, Read, Write};
use std::sync::Arc;

use super::replay::Replay;
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
    /// The first read itself, when it fit in `replay_budget` bytes: the second read says it
    /// again instead of reading (see [`Replay`]).
    replay: std::sync::Mutex<Option<Arc<Replay>>>,
    replay_budget: usize,
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
        Self::with_replay_budget(super::replay::REPLAY_BUDGET)
    }

    /// Keep up to `budget` bytes of the first read for the second (0: always read again).
    pub fn with_replay_budget(budget: usize) -> Self {
        let mut b = [0u8; 8];
        if getrandom::fill(&mut b).is_err() {
            b = fastrand::u64(..).to_le_bytes();
        }
        Self {
            seed: u64::from_le_bytes(b),
            files: std::sync::Mutex::new(Vec::new()),
            marks: std::sync::Mutex::new(None),
            replay: std::sync::Mutex::new(None),
            replay_budget: budget,
        }
    }

    pub(crate) fn replay_budget(&self) -> usize {
        self.replay_budget
    }

    /// The whole first read, when it was kept.
    pub(crate) fn replay(&self) -> Option<Arc<Replay>> {
        self.replay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_replay(&self, replay: Replay) {
        *self.replay.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(replay));
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
    /// since it was read (the bytes that were sent had been verified as they were read, or
    /// were the first read's own; this catches a change that came after).
    pub fn changed_since(&self, inputs: &[std::path::PathBuf]) -> Option<String> {
        let (name, change) = self.first_change(inputs)?;
        Some(match change {
            Change::Unreadable(e) => format!("{name} can no longer be read ({e})"),
            Change::Replaced => format!("{name} was replaced by another file"),
            Change::Length { now, then } => {
                format!("{name} is now {now} bytes long; it had {then} bytes when it was read")
            }
            Change::Modified => format!("{name} was modified (its modification time changed)"),
        })
    }

    /// While a second read replays the first: the same look at the inputs on disk, as the
    /// error that stops the run (what a second read from disk says when the bytes differ).
    pub(crate) fn check_unchanged(&self, inputs: &[std::path::PathBuf]) -> anyhow::Result<()> {
        let Some((name, change)) = self.first_change(inputs) else {
            return Ok(());
        };
        let planned = "when it was planned";
        let what = match change {
            Change::Unreadable(e) => format!("it can no longer be read ({e})"),
            Change::Replaced => "it was replaced by another file".to_owned(),
            Change::Length { now, then } if now < then => {
                format!("it was cut short: it has {now} bytes, it had {then} {planned}")
            }
            Change::Length { now, then } => {
                format!("it grew: it has {now} bytes, it had {then} {planned}")
            }
            Change::Modified => "it was modified (its modification time changed) since it was \
                                 planned: its bytes may differ from the first read"
                .to_owned(),
        };
        Err(super::source::changed_error(&InputChanged(format!(
            "{name} changed while this run was reading it: {what}"
        ))))
    }

    /// The first regular-file input that is no longer what was read.
    fn first_change(&self, inputs: &[std::path::PathBuf]) -> Option<(String, Change)> {
        for (i, path) in inputs.iter().enumerate() {
            let Some(fp) = self.get(i) else { continue };
            let Some(then) = &fp.identity else { continue };
            let now = match std::fs::metadata(path) {
                Ok(m) => FileIdentity::of(&m),
                Err(e) => return Some((display(path), Change::Unreadable(e))),
            };
            let change = if (now.dev, now.ino) != (then.dev, then.ino) {
                Change::Replaced
            } else if now.len != then.len {
                Change::Length {
                    now: now.len,
                    then: then.len,
                }
            } else if now.modified != then.modified {
                Change::Modified
            } else {
                continue;
            };
            return Some((display(path), change));
        }
        None
    }
}

/// How a regular-file input differs from when it was read.
enum Change {
    Unreadable(io::Error),
    Replaced,
    Length { now: u64, then: u64 },
    Modified,
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
        // Duplicates within and across files and kinds; a second read from disk (the first
        // too large to keep) replays the first's marks, and a tampered record shows that it
        // does.
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
        let one = Arc::new(OneRead::with_replay_budget(0));
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
        assert!(one.replay().is_none(), "nothing kept past the budget");
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

    /// Every callback of a read, in order, and its counts.
    #[derive(Debug, PartialEq)]
    enum Said {
        Item(u32, u64, String, String, Option<String>),
        Reject(u32, u64, String, String),
    }

    fn said(spec: &crate::input::IntakeSpec) -> anyhow::Result<(Vec<Said>, [u64; 4], String)> {
        let out = std::cell::RefCell::new(Vec::new());
        let stats = crate::input::run(
            spec,
            &mut |it| {
                out.borrow_mut()
                    .push(Said::Item(it.file, it.row, it.kind, it.value, it.lookup));
                Ok(())
            },
            &mut |r| {
                let reason = r.reason.to_string();
                out.borrow_mut()
                    .push(Said::Reject(r.file, r.row, r.column.clone(), reason));
                Ok(())
            },
        )?;
        let counts = [
            stats.rows_read,
            stats.kept,
            stats.duplicates,
            stats.rejected_total(),
        ];
        let files = serde_json::to_string(&(&stats.files, &stats.rejected))?;
        Ok((out.into_inner(), counts, files))
    }

    /// Random CSVs with kinds, lookups, duplicates and rejects, in several files: a read said
    /// again from the first read's record is the same callbacks and counts as a read from
    /// disk, event for event.
    #[test]
    fn a_replayed_read_says_what_a_read_from_disk_says() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        let pool = [
            "a@x.io",
            "B@x.io",
            " c@x.io ",
            "",
            "NULL",
            "n/a",
            "not-an-email",
            "q",
            "é@x.io",
            "d@x.io",
        ];
        for round in 0..60 {
            // One round with files of several 4096-row chunks.
            let rows = if round == 0 { 9_000 } else { rng.usize(0..40) };
            let files = rng.usize(1..4);
            let mut paths = Vec::new();
            for f in 0..files {
                let p = dir.path().join(format!("r{round}-{f}.csv"));
                let mut t = String::from("kind,id,uid\n");
                for i in 0..rows {
                    let kind = ["email", "user"][rng.usize(0..2)];
                    let v = if rng.u8(..) < 20 {
                        format!("fresh{i}-{}@x.io", rng.u32(..))
                    } else {
                        pool[rng.usize(0..pool.len())].to_owned()
                    };
                    let uid = ["", "u1", "u2", "long-user-id-0123456789"][rng.usize(0..4)];
                    t.push_str(&format!("{kind},\"{v}\",{uid}\n"));
                }
                std::fs::write(&p, t).unwrap();
                paths.push(p);
            }
            let mut spec = crate::input::IntakeSpec::with_defaults(
                paths,
                crate::input::ColumnSel::Name("id".into()),
                crate::input::KindSource::Column(crate::input::ColumnSel::Name("kind".into())),
            );
            spec.lookup = (round % 2 == 1).then(|| crate::input::ColumnSel::Name("uid".into()));
            spec.lowercase = round % 3 == 0;
            for budget in [0, super::super::replay::REPLAY_BUDGET] {
                let one = Arc::new(OneRead::with_replay_budget(budget));
                spec.one_read = Some(one.clone());
                let first = said(&spec).expect("first read");
                assert_eq!(one.replay().is_some(), budget > 0, "round {round}");
                let second = said(&spec).expect("second read");
                assert_eq!(second, first, "round {round}, budget {budget}");
            }
        }
    }

    /// `rows` users in an `id` column at `p`, and a spec that reads it with a fixed kind.
    fn users(p: &std::path::Path, rows: usize) -> crate::input::IntakeSpec {
        let mut t = String::from("id\n");
        for i in 0..rows {
            t.push_str(&format!("user-{i}\n"));
        }
        std::fs::write(p, t).unwrap();
        crate::input::IntakeSpec::with_defaults(
            vec![p.to_owned()],
            crate::input::ColumnSel::Name("id".into()),
            crate::input::KindSource::Fixed("user".into()),
        )
    }

    #[test]
    fn a_first_read_past_its_budget_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = users(&dir.path().join("ids.csv"), 10_000);
        // ~12 bytes an identifier: 120 KB in all, ~50 KB a 4096-row chunk.
        for (budget, kept) in [(200_000, true), (100_000, false), (1_000, false)] {
            let one = Arc::new(OneRead::with_replay_budget(budget));
            spec.one_read = Some(one.clone());
            let first = said(&spec).expect("first read");
            assert_eq!(one.replay().is_some(), kept, "budget {budget}");
            assert_eq!(said(&spec).expect("second read"), first, "budget {budget}");
        }
    }

    /// A replayed second read reads nothing (bytes changed behind the file's size and time
    /// are not seen, and not sent), but watches the file: a change in size, time or file
    /// stops it with what a read from disk says.
    #[test]
    fn a_replayed_read_sends_only_the_first_read_and_stops_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.csv");
        type Change = fn(&std::path::Path);
        let cases: [(&str, Change); 6] = [
            ("same", |_| {}),
            ("cut short", |p| {
                let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                f.set_len(10).unwrap();
            }),
            ("grew", |p| {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
                f.write_all(b"user-4\n").unwrap();
            }),
            ("differ from the first read", |p| {
                let f = std::fs::File::options().write(true).open(p).unwrap();
                f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
            }),
            ("replaced by another file", |p| {
                let other = p.with_extension("new");
                std::fs::write(&other, "id\nuser-1\nuser-2\nuser-3\n").unwrap();
                std::fs::rename(&other, p).unwrap();
            }),
            ("can no longer be read", |p| {
                std::fs::remove_file(p).unwrap()
            }),
        ];
        for (what, change) in cases {
            // "id\nuser-0\nuser-1\nuser-2\n": as long as the rewrite below.
            let mut spec = users(&p, 3);
            let one = Arc::new(OneRead::new());
            spec.one_read = Some(one.clone());
            let first = said(&spec).expect("first read");
            assert!(one.replay().is_some());
            // Other people behind the same size and time: never read, so never sent.
            let meta = std::fs::metadata(&p).unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            std::io::Write::write_all(&mut &f, b"id\nuser-7\nuser-8\nuser-9\n").unwrap();
            f.set_modified(meta.modified().unwrap()).unwrap();
            drop(f);
            change(&p);
            match said(&spec) {
                Ok(second) => assert_eq!((what, second), ("same", first)),
                Err(e) => {
                    let e = format!("{e:#}");
                    assert!(e.contains(what), "{what}: {e}");
                    assert!(e.contains("changed while this run was reading it"), "{e}");
                }
            }
        }
    }

    /// The look at the inputs is not only at the start: a file cut while the record is
    /// being said again stops it at the next look, not at its end.
    #[test]
    fn a_replay_looks_at_the_file_while_it_goes() {
        use super::super::replay::CHECK_EVERY;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.csv");
        let rows = CHECK_EVERY * 3;
        let mut spec = users(&p, rows);
        let one = Arc::new(OneRead::new());
        spec.one_read = Some(one.clone());
        let (first, _, _) = said(&spec).expect("first read");
        assert_eq!(first.len(), rows);
        assert!(one.replay().is_some());
        let cut_at = CHECK_EVERY + 100;
        let mut emitted = 0usize;
        let e = crate::input::run(
            &spec,
            &mut |_| {
                emitted += 1;
                if emitted == cut_at {
                    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
                    f.set_len(10).unwrap();
                }
                Ok(())
            },
            &mut |_| Ok(()),
        )
        .expect_err("the cut stops the replay");
        assert!(format!("{e:#}").contains("cut short"), "{e:#}");
        assert!(
            (cut_at..cut_at + CHECK_EVERY).contains(&emitted),
            "{emitted} identifiers said after a cut at {cut_at}"
        );
    }
}
