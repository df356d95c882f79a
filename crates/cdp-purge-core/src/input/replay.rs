//! `delete`'s second read from memory: the first read's events, kept in a few bytes each,
//! said again in the same order (see [`Replay`]).

use std::collections::BTreeMap;

use super::clean::{Chunk, Event, text};
use super::stages::Emit;
use super::{FileStats, Reject};

/// How much of the first read a run keeps for its second: ~2.5M identifiers of 10 bytes,
/// ~1.2M e-mail addresses. A larger input is read again, and proved equal to the first read
/// chunk by chunk, instead.
pub(crate) const REPLAY_BUDGET: usize = 32 << 20;

/// Events between two looks at the inputs on disk while replaying.
pub(crate) const CHECK_EVERY: usize = 4096;

// An event's tag: a duplicate or a reject is its tag alone; a kept row that is the first of
// its value is followed by its file (when it changed), its row (a zigzag varint of the
// difference from the last one), and its value, kind and lookup (a varint length each, then
// the bytes; kind and lookup only when the row has its own).
const DUP: u8 = 0;
const REJECT: u8 = 1;
const KEPT: u8 = 2;
const KIND: u8 = 4;
const LOOKUP: u8 = 8;
const FILE: u8 = 16;

/// What the first read said, event for event: for each kept row that is the first of its
/// value, its file, row, value, kind and lookup; a byte for each duplicate; each reject.
/// Replaying it is the second read without reading, parsing or cleaning anything again, and
/// nothing it sends can differ from what the first read found.
#[derive(Debug)]
pub(crate) struct Replay {
    /// One piece per chunk of the first read, each allocated at its size: a buffer grown by
    /// doubling held up to twice the record, and its copies on the way there.
    pieces: Vec<Box<[u8]>>,
    rejects: Vec<Reject>,
    pub files: Vec<FileStats>,
    pub rows_read: u64,
    pub rejected: BTreeMap<String, u64>,
}

/// Writes a [`Replay`] as the first read goes, until it passes its budget (then it keeps
/// nothing, and the second read reads again).
pub(crate) struct Recorder {
    pieces: Vec<Box<[u8]>>,
    /// Bytes held by the pieces.
    used: usize,
    /// Where a chunk is written before its piece is cut.
    bytes: Vec<u8>,
    rejects: Vec<Reject>,
    /// Bytes held by the rejects.
    reject_bytes: usize,
    budget: usize,
    over: bool,
    file: u32,
    row: u64,
}

impl Recorder {
    /// Keeps up to `budget` bytes (0: nothing).
    pub fn new(budget: usize) -> Self {
        Self {
            pieces: Vec::new(),
            used: 0,
            bytes: Vec::new(),
            rejects: Vec::new(),
            reject_bytes: 0,
            budget,
            over: budget == 0,
            file: 0,
            row: 0,
        }
    }

    /// Record a chunk that went through the marking stage.
    pub fn record(&mut self, chunk: &Chunk) {
        if self.over {
            return;
        }
        self.bytes.clear();
        let mut fresh = chunk.fresh.iter();
        for e in &chunk.events {
            match e {
                Event::Rejected(r) => {
                    self.reject_bytes += std::mem::size_of::<Reject>()
                        + r.column.len()
                        + r.raw.as_ref().map_or(0, String::len)
                        + r.reason.to_string().len();
                    self.rejects.push(Reject::clone(r));
                    self.bytes.push(REJECT);
                }
                Event::Kept(k) => {
                    let Some(&first) = fresh.next() else {
                        // Unmarked: nothing to say again. The second read reads instead.
                        return self.give_up();
                    };
                    if !first {
                        self.bytes.push(DUP);
                        continue;
                    }
                    let mut tag = KEPT;
                    if k.kind.is_some() {
                        tag |= KIND;
                    }
                    if k.lookup.is_some() {
                        tag |= LOOKUP;
                    }
                    if k.file != self.file {
                        tag |= FILE;
                    }
                    self.bytes.push(tag);
                    if k.file != self.file {
                        put_varint(&mut self.bytes, u64::from(k.file));
                        self.file = k.file;
                    }
                    let step = k.row.wrapping_sub(self.row) as i64;
                    put_varint(&mut self.bytes, ((step << 1) ^ (step >> 63)) as u64);
                    self.row = k.row;
                    for part in [Some(k.value), k.kind, k.lookup].into_iter().flatten() {
                        let s = text(&chunk.text, part);
                        put_varint(&mut self.bytes, s.len() as u64);
                        self.bytes.extend_from_slice(s.as_bytes());
                    }
                }
            }
        }
        self.used += self.bytes.len();
        if self.used + self.reject_bytes > self.budget {
            return self.give_up();
        }
        self.pieces.push(self.bytes.as_slice().into());
    }

    fn give_up(&mut self) {
        self.over = true;
        self.pieces = Vec::new();
        self.bytes = Vec::new();
        self.rejects = Vec::new();
    }

    /// The whole read, when it fit.
    pub fn finish(
        self,
        files: &[FileStats],
        rows_read: u64,
        rejected: &BTreeMap<String, u64>,
    ) -> Option<Replay> {
        if self.over {
            return None;
        }
        Some(Replay {
            pieces: self.pieces,
            rejects: self.rejects,
            files: files.to_vec(),
            rows_read,
            rejected: rejected.clone(),
        })
    }
}

impl Replay {
    /// Say every event again to `emit`, in order; `check` (that the inputs on disk are still
    /// the ones read) runs first and every few thousand events.
    pub fn run(
        &self,
        emit: &mut Emit<'_>,
        check: &mut dyn FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut rejects = self.rejects.iter();
        let (mut file, mut row) = (0u32, 0u64);
        let mut events = 0usize;
        let fixed = emit.fixed_kind();
        let fixed = fixed.as_str();
        check()?;
        // A chunk's events are in one piece.
        let mut pieces = self.pieces.iter();
        let mut r = Reader { bytes: &[], at: 0 };
        loop {
            let tag = match r.byte() {
                Some(t) => t,
                None => match pieces.next() {
                    Some(p) => {
                        r = Reader { bytes: p, at: 0 };
                        continue;
                    }
                    None => break,
                },
            };
            events += 1;
            if events.is_multiple_of(CHECK_EVERY) {
                check()?;
            }
            match tag {
                DUP => emit.duplicate(),
                REJECT => {
                    let rej = rejects.next().ok_or_else(corrupt)?;
                    emit.reject(rej)?;
                }
                _ if tag & KEPT != 0 => {
                    if tag & FILE != 0 {
                        file = u32::try_from(r.varint()?).map_err(|_| corrupt())?;
                    }
                    let z = r.varint()?;
                    let step = ((z >> 1) as i64) ^ -((z & 1) as i64);
                    row = row.wrapping_add(step as u64);
                    let value = r.str()?;
                    let kind = if tag & KIND != 0 { r.str()? } else { fixed };
                    let lookup = if tag & LOOKUP != 0 {
                        Some(r.str()?)
                    } else {
                        None
                    };
                    emit.fresh(file, row, value, kind, lookup)?;
                }
                _ => return Err(corrupt()),
            }
        }
        Ok(())
    }
}

/// The record is ours, written above; a byte out of place is a bug, never a guess.
fn corrupt() -> anyhow::Error {
    anyhow::anyhow!(
        "internal error: the first read's record is malformed; nothing past it was sent"
    )
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn varint(&mut self) -> anyhow::Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte().ok_or_else(corrupt)?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt())
    }

    fn str(&mut self) -> anyhow::Result<&'a str> {
        let len = usize::try_from(self.varint()?).map_err(|_| corrupt())?;
        let end = self.at.checked_add(len).ok_or_else(corrupt)?;
        let b = self.bytes.get(self.at..end).ok_or_else(corrupt)?;
        self.at = end;
        std::str::from_utf8(b).map_err(|_| corrupt())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        let mut vals: Vec<u64> = (0..64).flat_map(|s| [1u64 << s, (1u64 << s) - 1]).collect();
        vals.extend([0, u64::MAX, 300, 16_383, 16_384]);
        let mut b = Vec::new();
        for &v in &vals {
            put_varint(&mut b, v);
        }
        let mut r = Reader { bytes: &b, at: 0 };
        for &v in &vals {
            assert_eq!(r.varint().expect("written above"), v);
        }
        assert!(r.byte().is_none(), "nothing left over");
        // Cut off mid-number, or longer than any u64: an error, not a value.
        let mut r = Reader {
            bytes: &[0x80, 0x80],
            at: 0,
        };
        assert!(r.varint().is_err());
        let mut r = Reader {
            bytes: &[0xff; 11],
            at: 0,
        };
        assert!(r.varint().is_err());
    }
}
