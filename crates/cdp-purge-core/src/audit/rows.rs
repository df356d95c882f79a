//! Per-row reading of a ledger in memory that does not grow with its rows.
//!
//! A ledger of 5 M identifiers holds 5 M item results. Holding them (and a row for each) took
//! ~1 KB per row: 5.2 GB. Instead the first read keeps, per row, only which occurrence of it
//! is the latest (4 bytes in a dense table per vendor and input); the rows themselves are
//! read again from the file when wanted, one outcome record at a time, in file order or
//! sorted.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use crate::batch::BatchHash;
use crate::ledger::{ItemStatus, Phase};

/// An outcome record's results as read from a line: strings borrowed where the JSON has no
/// escapes, and only the fields the report uses.
#[derive(Debug, Deserialize)]
pub(super) struct OutcomeLine<'a> {
    #[serde(borrow)]
    pub run_id: Cow<'a, str>,
    pub batch: BatchHash,
    #[serde(default, borrow)]
    pub parent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub results: Vec<ItemLine<'a>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ItemLine<'a> {
    pub file: u32,
    pub row: u64,
    #[serde(borrow)]
    pub id_hmac: Cow<'a, str>,
    pub status: ItemStatus,
    #[serde(default, borrow)]
    pub vendor_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub value: Option<Cow<'a, str>>,
}

/// An attempt record as the view reads it: the fields of [`crate::ledger::Attempt`] it must
/// have to be one, and never the `keys` list (1,000 strings on a Lytics batch's first `sent`
/// record), which the view does not use.
#[derive(Debug, Deserialize)]
pub(super) struct AttemptLine<'a> {
    pub phase: Phase,
    #[serde(borrow)]
    pub run_id: Cow<'a, str>,
    pub batch: BatchHash,
    #[serde(default)]
    pub parent: Option<BatchHash>,
    #[serde(rename = "attempt")]
    _attempt: u32,
    #[serde(rename = "items")]
    _items: u32,
    #[serde(rename = "sent_at", borrow)]
    _sent_at: Cow<'a, str>,
    #[serde(default, borrow)]
    pub received_at: Option<Cow<'a, str>>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default, borrow)]
    pub decision: Option<Cow<'a, str>>,
}

/// The record type of a ledger line, from its first bytes (`{"v":2,"type":"outcome",...`),
/// without parsing the line.
pub(super) fn record_type(line: &[u8]) -> Option<&[u8]> {
    const TAG: &[u8] = b"\"type\":\"";
    let head = &line[..line.len().min(48)];
    let at = head.windows(TAG.len()).position(|w| w == TAG)? + TAG.len();
    let rest = &line[at..];
    let end = rest.iter().position(|&b| b == b'"')?;
    Some(&rest[..end])
}

/// Where the ledger's bytes are, to read them again.
#[derive(Debug, Clone)]
pub(super) enum Source {
    File(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

impl Source {
    pub fn open(&self) -> std::io::Result<Box<dyn ReadSeek>> {
        Ok(match self {
            Source::File(p) => Box::new(File::open(p)?),
            Source::Bytes(b) => Box::new(std::io::Cursor::new(ArcBytes(Arc::clone(b)))),
        })
    }
}

pub(super) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Shared bytes a [`std::io::Cursor`] can read (a ledger read from memory, in tests).
struct ArcBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A top-level outcome record: where it is and which occurrences it holds.
#[derive(Debug, Clone)]
pub(super) struct OutcomeAt {
    pub offset: u64,
    /// Ordinal of its first item among all top-level item results, in file order.
    pub first: u32,
    pub run: u32,
    pub batch: BatchHash,
}

/// For each (vendor, input digest) and row number, the ordinal (+1) of the row's latest
/// occurrence: dense while row numbers are, a map when they are sparse.
#[derive(Debug, Default)]
pub(super) struct Latest {
    groups: HashMap<(String, String), usize>,
    tables: Vec<Table>,
    /// Rows with an occurrence.
    pub rows: u64,
}

#[derive(Debug)]
enum Table {
    Dense(Vec<u32>),
    Sparse(HashMap<u64, u32>),
}

impl Latest {
    pub fn group(&mut self, vendor: &str, digest: &str) -> usize {
        if let Some(&g) = self.groups.get(&(vendor.to_owned(), digest.to_owned())) {
            return g;
        }
        let g = self.tables.len();
        self.groups
            .insert((vendor.to_owned(), digest.to_owned()), g);
        self.tables.push(Table::Dense(Vec::new()));
        g
    }

    pub fn find(&self, vendor: &str, digest: &str) -> Option<usize> {
        self.groups
            .get(&(vendor.to_owned(), digest.to_owned()))
            .copied()
    }

    /// Record `ordinal` as the latest occurrence of `row` in group `g`.
    pub fn set(&mut self, g: usize, row: u64, ordinal: u32) {
        let rows = &mut self.rows;
        let t = &mut self.tables[g];
        if let Table::Dense(v) = t {
            let filled = v.len() as u64;
            // Row numbers far beyond what the table holds: a sparse input (or a forged
            // line); a map costs more per row but never more than the rows themselves.
            if row >= filled && row > 4 * (*rows + 1024) {
                let m: HashMap<u64, u32> = v
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| **o != 0)
                    .map(|(r, o)| (r as u64, *o))
                    .collect();
                *t = Table::Sparse(m);
            }
        }
        let slot = match t {
            Table::Dense(v) => {
                let i = row as usize;
                if i >= v.len() {
                    v.resize((i + 1).max(v.len() * 5 / 4), 0);
                }
                &mut v[i]
            }
            Table::Sparse(m) => m.entry(row).or_insert(0),
        };
        if *slot == 0 {
            *rows += 1;
        }
        *slot = ordinal + 1;
    }

    /// Whether `ordinal` is the latest occurrence of `row` in group `g`.
    pub fn is_latest(&self, g: usize, row: u64, ordinal: u32) -> bool {
        let got = match &self.tables[g] {
            Table::Dense(v) => v.get(row as usize).copied(),
            Table::Sparse(m) => m.get(&row).copied(),
        };
        got == Some(ordinal + 1)
    }
}

/// Lines read again from a ledger by offset, mostly forward: a forward step within the
/// buffer keeps it (a plain seek would throw it away and read it again).
pub(super) struct LineReader {
    rd: BufReader<Box<dyn ReadSeek>>,
    /// Offset of the next byte `rd` yields.
    pos: u64,
}

impl LineReader {
    pub fn open(source: &Source) -> std::io::Result<Self> {
        Ok(Self {
            rd: BufReader::with_capacity(1 << 20, source.open()?),
            pos: 0,
        })
    }

    /// The line that starts at `offset`, without its newline.
    pub fn line_at(&mut self, offset: u64, buf: &mut Vec<u8>) -> std::io::Result<()> {
        if offset != self.pos {
            match offset
                .checked_sub(self.pos)
                .and_then(|d| i64::try_from(d).ok())
            {
                Some(ahead) => self.rd.seek_relative(ahead)?,
                None => {
                    self.rd.seek(SeekFrom::Start(offset))?;
                }
            }
        }
        buf.clear();
        let n = self.rd.read_until(b'\n', buf)?;
        self.pos = offset + n as u64;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        Ok(())
    }
}

/// A set of 64-bit hashes, hashed as themselves (they are hashes already; SipHash over them
/// was a tenth of a report's time on 5 M vendor IDs).
pub(super) type HashSet64 = HashSet<u64, BuildHasherDefault<Identity>>;

#[derive(Debug, Default)]
pub(super) struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the keys are u64); fold anything else in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
