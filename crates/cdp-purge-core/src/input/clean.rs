//! The cleaner: turns raw fields into kept candidates or rejects and counts every reject.
//!
//! Readers hand it one row at a time as borrowed [`Field`]s; it copies each kept row's text
//! into its chunk's arena (an [`Item`](crate::batch::Item)'s `String`s are made on the
//! de-dup side, for the rows that are not duplicates, and freed by the thread that made
//! them), allocates for rejects, and sends chunks in input order to the de-dup stages
//! (`stages`) on the other threads.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::mpsc::SyncSender;

use xxhash_rust::xxh3::xxh3_128;

use super::validate::{Rule, Scan, junk, problem_scanned};
use super::{ColumnSel, IntakeSpec, KindSource, Reject, RejectReason};

/// One cell as a reader found it.
#[derive(Debug, Clone)]
pub(crate) enum Field<'a> {
    Text(&'a str),
    /// JSON null.
    Null,
    /// The row has no such column/key.
    Missing,
    /// The cell could not be read as text (invalid UTF-8, a JSON object, ...), with the raw
    /// cell when one could be recovered.
    Bad(RejectReason, Option<String>),
}

/// The display name of a column selection in rejects: the name, `#index`, or `value`.
pub(crate) fn column_label(sel: &ColumnSel) -> String {
    match sel {
        ColumnSel::Name(n) => n.clone(),
        ColumnSel::Index(i) => format!("#{i}"),
        ColumnSel::Whole => "value".to_owned(),
    }
}

/// Settings the cleaner reads, derived once from the spec.
struct Config {
    nulls: NullTokens,
    lowercase: bool,
    validate: bool,
    fixed_kind: Option<(String, Rule)>,
    value_col: String,
    kind_col: String,
    lookup_col: String,
    has_lookup: bool,
    lookup_by_value: bool,
}

/// The null tokens, matched case-insensitively after trimming (`NULL`, ` null `, `Nan` and
/// `n/A` are all the same junk an export left behind).
pub(crate) struct NullTokens {
    /// Lowercased, trimmed, non-empty.
    tokens: Vec<String>,
    /// The longest token in bytes: anything much longer is not one, without lowercasing it.
    longest: usize,
    /// Bit `n` set when a token is `n` bytes long (n < 64): most values are ruled out by
    /// their length alone, without comparing.
    lengths: u64,
}

impl NullTokens {
    pub(crate) fn new(list: &[String]) -> Self {
        let tokens: Vec<String> = list
            .iter()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        let longest = tokens.iter().map(String::len).max().unwrap_or(0);
        let lengths = tokens
            .iter()
            .filter(|t| t.len() < 64)
            .fold(0u64, |m, t| m | 1 << t.len());
        Self {
            tokens,
            longest,
            lengths,
        }
    }

    pub(crate) fn matches(&self, v: &str) -> bool {
        self.matches_known(v, v.is_ascii())
    }

    /// [`Self::matches`], told whether `v` is ASCII.
    pub(crate) fn matches_known(&self, v: &str, ascii: bool) -> bool {
        // Lowercasing can change a character's length in bytes, so the cut-off is generous.
        if v.len() > 3 * self.longest {
            return false;
        }
        if ascii {
            // ASCII case folding keeps the length.
            if v.len() < 64 && self.lengths & (1 << v.len()) == 0 {
                return false;
            }
            self.tokens.iter().any(|t| t.eq_ignore_ascii_case(v))
        } else {
            let lower = v.to_lowercase();
            self.tokens.contains(&lower)
        }
    }
}

impl Config {
    /// A trimmed, non-empty, non-null-token text cell; `None` otherwise.
    fn present<'a>(&self, f: &Field<'a>) -> Option<&'a str> {
        match f {
            Field::Text(s) => {
                let t = s.trim();
                (!t.is_empty() && !self.nulls.matches(t)).then_some(t)
            }
            _ => None,
        }
    }
}

/// Where a kept row's text is in its [`Chunk`]'s arena.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRef {
    start: u32,
    len: u32,
}

/// A clean identifier; it may still turn out to be a duplicate. Its de-dup hash is in
/// [`Chunk::hashes`].
pub(crate) struct Kept {
    pub file: u32,
    pub row: u64,
    pub value: TextRef,
    /// `None`: the spec's fixed kind.
    pub kind: Option<TextRef>,
    pub lookup: Option<TextRef>,
}

/// What the cleaner hands to the de-duplicating side, in input order.
pub(crate) enum Event {
    Kept(Kept),
    /// Boxed: rejects are rare, and an unboxed one made every event twice as large.
    Rejected(Box<Reject>),
}

/// Events per message between the two sides: big enough that channel costs vanish, small
/// enough that memory stays flat. At 1024, the 10M-row file made ~10,000 chunks and the
/// threads ~18,000 voluntary and ~9,000 involuntary context switches, each wake-up a
/// cross-CPU interrupt (expensive in a VM); at 4096, ~5,000 and ~500, for ~2.5 MiB more
/// peak RSS (about eleven chunks alive).
pub(crate) const CHUNK: usize = 4096;

/// Arena bytes that end a chunk early (long values): with a few chunks in flight, memory
/// stays flat whatever the values' length.
const CHUNK_TEXT: usize = 256 * 1024;

/// Events and the text of their kept rows, back to back.
#[derive(Default)]
pub(crate) struct Chunk {
    pub events: Vec<Event>,
    /// The de-dup hash of each kept event, in order: all the marking stage reads.
    pub hashes: Vec<u128>,
    pub text: String,
    /// For each kept event in order: the first of its value (not a duplicate). Filled by the
    /// marking stage.
    pub fresh: Vec<bool>,
}

impl Chunk {
    fn with_capacity() -> Self {
        Self {
            events: Vec::with_capacity(CHUNK),
            hashes: Vec::with_capacity(CHUNK),
            text: String::with_capacity(CHUNK * 32),
            fresh: Vec::new(),
        }
    }

    fn full(&self) -> bool {
        self.events.len() >= CHUNK || self.text.len() >= CHUNK_TEXT
    }

    fn add(&mut self, s: &str) -> TextRef {
        // A chunk ends once its arena passes CHUNK_TEXT, and a value is at most a record
        // (1 MiB): offsets stay far below u32::MAX.
        let start = self.text.len() as u32;
        self.text.push_str(s);
        TextRef {
            start,
            len: s.len() as u32,
        }
    }
}

/// The text of `r` in `text` (a chunk's arena).
pub(crate) fn text(text: &str, r: TextRef) -> &str {
    &text[r.start as usize..r.start as usize + r.len as usize]
}

/// The receiving side went away (it failed and reported its own error).
#[derive(Debug, thiserror::Error)]
#[error("intake stopped")]
pub(crate) struct Stopped;

/// The reading side's output: events in chunks, plus the counts it owns.
struct Out {
    tx: SyncSender<Chunk>,
    buf: Chunk,
    scratch: Vec<u8>,
    /// Reject counts by reason code.
    rejected: BTreeMap<&'static str, u64>,
    rows_read: u64,
}

impl Out {
    fn push(&mut self, e: Event) -> anyhow::Result<()> {
        self.buf.events.push(e);
        if self.buf.full() {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.buf.events.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Chunk::with_capacity());
        self.tx.send(chunk).map_err(|_| Stopped.into())
    }

    fn reject(
        &mut self,
        file: u32,
        row: u64,
        column: &str,
        reason: RejectReason,
        raw: Option<String>,
    ) -> anyhow::Result<()> {
        *self.rejected.entry(reason.code()).or_default() += 1;
        self.push(Event::Rejected(Box::new(Reject {
            file,
            row,
            column: column.to_owned(),
            reason,
            raw,
        })))
    }
}

/// What the reading side counted.
pub(crate) struct ReadCounts {
    pub rows_read: u64,
    pub rejected: BTreeMap<String, u64>,
}

/// The reading side: cleans rows and sends [`Event`]s to the de-dup stages
/// ([`stages`](super::stages)) on other threads.
pub(crate) struct Cleaner {
    cfg: Config,
    sink: Out,
}

impl Cleaner {
    pub fn new(spec: &IntakeSpec, tx: SyncSender<Chunk>) -> Self {
        let (fixed_kind, kind_col) = match &spec.kind {
            KindSource::Fixed(k) => (Some((k.clone(), Rule::for_kind(k))), String::new()),
            KindSource::Column(sel) => (None, column_label(sel)),
        };
        Self {
            cfg: Config {
                nulls: NullTokens::new(&spec.null_values),
                lowercase: spec.lowercase,
                validate: spec.validate,
                fixed_kind,
                value_col: column_label(&spec.column),
                kind_col,
                lookup_col: spec.lookup.as_ref().map(column_label).unwrap_or_default(),
                has_lookup: spec.lookup.is_some(),
                lookup_by_value: spec.lookup_by_value,
            },
            sink: Out {
                tx,
                buf: Chunk::with_capacity(),
                scratch: Vec::new(),
                rejected: BTreeMap::new(),
                rows_read: 0,
            },
        }
    }

    pub fn rows_read(&self) -> u64 {
        self.sink.rows_read
    }

    /// A row that could not be parsed at all (wrong field count, broken JSON line, ...).
    pub fn malformed(
        &mut self,
        file: u32,
        row: u64,
        why: String,
        raw: Option<String>,
    ) -> anyhow::Result<()> {
        self.sink.rows_read += 1;
        let col = &self.cfg.value_col;
        self.sink
            .reject(file, row, col, RejectReason::Malformed(why), raw)
    }

    /// Clean one row. `kind` and `lookup` are ignored unless the spec reads them per row.
    pub fn row(
        &mut self,
        file: u32,
        row: u64,
        value: Field<'_>,
        kind: Field<'_>,
        lookup: Field<'_>,
    ) -> anyhow::Result<()> {
        let Self { cfg, sink } = self;
        sink.rows_read += 1;
        let vcol = cfg.value_col.as_str();
        let raw = match value {
            Field::Text(s) => s,
            Field::Null => return sink.reject(file, row, vcol, RejectReason::Null, None),
            Field::Missing => {
                return sink.reject(file, row, vcol, RejectReason::MissingValue, None);
            }
            Field::Bad(reason, raw) => return sink.reject(file, row, vcol, reason, raw),
        };
        let v = raw.trim();
        if v.is_empty() {
            return sink.reject(file, row, vcol, RejectReason::Empty, Some(raw.to_owned()));
        }
        let scan = Scan::of(v);
        if cfg.nulls.matches_known(v, scan.ascii) {
            return sink.reject(
                file,
                row,
                vcol,
                RejectReason::NullToken,
                Some(raw.to_owned()),
            );
        }

        let (kind, rule) = match &cfg.fixed_kind {
            Some((k, rule)) => (k.as_str(), *rule),
            None => match cfg.present(&kind) {
                Some(k) => {
                    if let Some(why) = junk(k) {
                        let why = format!("the identifier type {why}");
                        let raw = Some(k.to_owned());
                        return sink.reject(
                            file,
                            row,
                            &cfg.kind_col,
                            RejectReason::Invalid(why),
                            raw,
                        );
                    }
                    (k, Rule::for_kind(k))
                }
                None => {
                    let raw_kind = match kind {
                        Field::Text(s) => Some(s.to_owned()),
                        Field::Bad(_, r) => r,
                        _ => None,
                    };
                    return sink.reject(
                        file,
                        row,
                        &cfg.kind_col,
                        RejectReason::MissingKind,
                        raw_kind,
                    );
                }
            },
        };

        let lookup = if cfg.has_lookup {
            match cfg.present(&lookup) {
                Some(l) if junk(l).is_some() => {
                    let what = if cfg.lookup_by_value {
                        "the lookup value"
                    } else {
                        "the lookup user_id"
                    };
                    let why = format!("{what} {}", junk(l).unwrap_or_default());
                    let raw = Some(l.to_owned());
                    return sink.reject(
                        file,
                        row,
                        &cfg.lookup_col,
                        RejectReason::Invalid(why),
                        raw,
                    );
                }
                Some(l) if l == v && !cfg.lookup_by_value => {
                    return sink.reject(
                        file,
                        row,
                        vcol,
                        RejectReason::SameAsLookup,
                        Some(raw.to_owned()),
                    );
                }
                Some(l) => Some(l),
                None => {
                    return sink.reject(
                        file,
                        row,
                        &cfg.lookup_col,
                        RejectReason::MissingLookup,
                        None,
                    );
                }
            }
        } else {
            None
        };

        let v: Cow<'_, str> = if !cfg.lowercase {
            Cow::Borrowed(v)
        } else if scan.ascii {
            if scan.upper {
                Cow::Owned(v.to_ascii_lowercase())
            } else {
                Cow::Borrowed(v)
            }
        } else {
            Cow::Owned(v.to_lowercase())
        };

        // Junk is refused even with --no-validate; the kind's rules only with validation.
        // Lowercasing changed only letters: the scan still tells ASCII and control bytes.
        if let Some(why) = problem_scanned(cfg.validate.then_some(rule), &v, scan) {
            return sink.reject(
                file,
                row,
                vcol,
                RejectReason::Invalid(why.into_owned()),
                Some(raw.to_owned()),
            );
        }

        let h = if cfg.fixed_kind.is_some() && lookup.is_none() {
            xxh3_128(v.as_bytes())
        } else {
            // Length-prefixed so ("ab","c") and ("a","bc") differ.
            let s = &mut sink.scratch;
            s.clear();
            for part in [kind, lookup.unwrap_or(""), &v] {
                s.extend_from_slice(&(part.len() as u64).to_le_bytes());
                s.extend_from_slice(part.as_bytes());
            }
            xxh3_128(s)
        };
        let value = sink.buf.add(&v);
        let kind = cfg.fixed_kind.is_none().then(|| sink.buf.add(kind));
        let lookup = lookup.map(|l| sink.buf.add(l));
        sink.buf.hashes.push(h);
        sink.push(Event::Kept(Kept {
            file,
            row,
            value,
            kind,
            lookup,
        }))
    }

    /// Send what is buffered and return the counts.
    pub fn finish(mut self) -> anyhow::Result<ReadCounts> {
        self.sink.flush()?;
        Ok(ReadCounts {
            rows_read: self.sink.rows_read,
            rejected: self
                .sink
                .rejected
                .into_iter()
                .map(|(code, n)| (code.to_owned(), n))
                .collect(),
        })
    }
}
