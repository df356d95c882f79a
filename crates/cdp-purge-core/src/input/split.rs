//! Splitting an input into records with bounded memory: CSV records and text lines.
//!
//! Whatever the bytes, no record is held past [`MAX_RECORD_BYTES`]: a longer one is skipped
//! (the caller rejects it with its row number) and reading goes on at the next record. A
//! record still open after [`MAX_SKIP_BYTES`] stops the read: no list of identifiers has
//! such a record, so the input is binary or endless (`/dev/zero`, a gzip bomb), and reading
//! on would take forever for nothing.

use std::io::{self, BufRead};

/// The longest record (CSV record, NDJSON line, JSON array element) that is read; a longer
/// one is rejected with its row number and skipped. Far above any identifier (1024 bytes)
/// and any sane row of an export.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// The most fields a record may have (Excel's limit is 16,384 columns); a record with more
/// is skipped like a long one. Bounds the field index as the byte cap bounds the bytes.
pub const MAX_FIELDS: usize = 65_536;

/// A record still going after this many bytes stops the read (exit 2).
pub const MAX_SKIP_BYTES: u64 = 16 << 20;

/// Why reading stopped before the end of the input.
#[derive(Debug)]
pub(crate) enum SplitError {
    Io(io::Error),
    /// A quoted CSV field opened on `quote_line` is still open at the end of the input.
    UnterminatedQuote {
        row: u64,
        quote_line: u64,
    },
    /// The record starting on `row` went on past [`MAX_SKIP_BYTES`]; `quote_line` when it is
    /// inside a quoted field opened there.
    Endless {
        row: u64,
        quote_line: Option<u64>,
    },
}

impl From<io::Error> for SplitError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Where a record was, in physical lines of the input (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// The line the record starts on: the row number everywhere (rejects, ledger, report).
    pub first: u64,
    /// The line it ends on (later than `first` when a quoted field holds line breaks).
    pub last: u64,
    /// Longer than [`MAX_RECORD_BYTES`] or wider than [`MAX_FIELDS`]: skipped, its fields
    /// are empty.
    pub too_long: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a record: line breaks here are blank lines, skipped (but counted).
    RecordStart,
    StartField,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: the end of the quotes, or the first of `""`.
    QuoteInQuoted,
}

/// The fields of the record being read, and the line count.
struct Fields {
    delimiter: u8,
    /// Unescaped field bytes, back to back.
    bytes: Vec<u8>,
    /// The end of each field in `bytes`.
    ends: Vec<usize>,
    /// Line breaks consumed so far.
    lines: u64,
    /// Bytes of the current record consumed so far (blank lines before it not included).
    raw: u64,
    /// The line the current record starts on.
    first: u64,
    state: State,
    quote_line: u64,
    /// Past [`MAX_RECORD_BYTES`] or [`MAX_FIELDS`]: nothing more is kept of this record.
    over: bool,
    /// Blank-line bytes skipped in the current [`Fields::step`].
    blank: u64,
}

impl Fields {
    fn too_long(&self) -> bool {
        self.over || self.raw > MAX_RECORD_BYTES as u64
    }

    fn push(&mut self, b: &[u8]) {
        if self.over || self.bytes.len() + b.len() > MAX_RECORD_BYTES {
            self.over = true;
        } else {
            self.bytes.extend_from_slice(b);
        }
    }

    fn end_field(&mut self) {
        if self.over || self.ends.len() >= MAX_FIELDS {
            self.over = true;
        } else {
            self.ends.push(self.bytes.len());
        }
    }

    /// Run the CSV state machine over `buf` (RFC 4180 quoting, as the `csv` crate reads it:
    /// `""` in quotes is a quote, a quote inside an unquoted field is literal, text after a
    /// closing quote joins the field). Returns the bytes used and whether the record ended
    /// (at a `\n`, which is used).
    fn step(&mut self, buf: &[u8]) -> (usize, bool) {
        let start = self.raw;
        let (used, done) = self.scan(buf);
        self.raw = start + used as u64 - self.blank;
        self.blank = 0;
        (used, done)
    }

    /// [`Self::step`] without the byte count.
    fn scan(&mut self, buf: &[u8]) -> (usize, bool) {
        let (d, mut i) = (self.delimiter, 0);
        while i < buf.len() {
            match self.state {
                State::RecordStart => match buf[i] {
                    b'\n' | b'\r' => {
                        self.lines += u64::from(buf[i] == b'\n');
                        self.blank += 1;
                        i += 1;
                    }
                    _ => {
                        self.first = self.lines + 1;
                        self.state = State::StartField;
                    }
                },
                State::StartField => match buf[i] {
                    b'"' => {
                        self.state = State::Quoted;
                        self.quote_line = self.lines + 1;
                        i += 1;
                    }
                    b'\n' => {
                        self.end_field();
                        self.lines += 1;
                        return (i + 1, true);
                    }
                    b if b == d => {
                        self.end_field();
                        i += 1;
                    }
                    _ => self.state = State::Unquoted,
                },
                State::Unquoted => match memchr::memchr2(d, b'\n', &buf[i..]) {
                    None => {
                        self.push(&buf[i..]);
                        i = buf.len();
                    }
                    Some(k) => {
                        self.push(&buf[i..i + k]);
                        self.end_field();
                        self.state = State::StartField;
                        let end = buf[i + k] == b'\n';
                        i += k + 1;
                        if end {
                            self.lines += 1;
                            return (i, true);
                        }
                    }
                },
                State::Quoted => match memchr::memchr2(b'"', b'\n', &buf[i..]) {
                    None => {
                        self.push(&buf[i..]);
                        i = buf.len();
                    }
                    Some(k) => {
                        // A line break inside quotes is data, and still a physical line.
                        let newline = buf[i + k] == b'\n';
                        self.push(&buf[i..i + k + usize::from(newline)]);
                        self.lines += u64::from(newline);
                        if !newline {
                            self.state = State::QuoteInQuoted;
                        }
                        i += k + 1;
                    }
                },
                State::QuoteInQuoted => {
                    if buf[i] == b'"' {
                        self.push(b"\"");
                        self.state = State::Quoted;
                        i += 1;
                    } else {
                        self.state = State::Unquoted;
                    }
                }
            }
        }
        (i, false)
    }
}

/// Bytes of input held at a time by [`CsvRecords`]: twice the read size of the layers
/// below, so a read into the free part after the tail of a record is still large enough for
/// a `BufReader` to hand it its bytes without copying them through its own buffer.
pub(crate) const BLOCK: usize = 2 * super::source::BUF;

// A record that fits in a block is never too long in bytes: only the field count can make it
// too long, and the fast path checks that.
const _: () = assert!(BLOCK <= MAX_RECORD_BYTES);

/// What [`CsvRecords::fast`] found at the read position.
enum Fast {
    /// A whole record, its fields in the block.
    Record(Span),
    /// The block ends before the record does: read more, then try again.
    More,
    /// A quote, or a record longer than a block: the state machine reads it.
    Slow,
}

/// CSV records from a byte stream, one at a time. The input is read in blocks; a record
/// that lies in the block without a `"` in it (nearly all of them) is split where it lies,
/// its fields offsets into the block (no copy, one `memchr` per field). Any other record
/// (quoted fields, a record longer than a block) goes through the state machine, which
/// copies its unescaped fields into a reused buffer. Both give the same fields and lines.
pub(crate) struct CsvRecords<R> {
    inner: R,
    f: Fields,
    /// The block: `block[pos..end]` is read and not used yet.
    block: Box<[u8]>,
    pos: usize,
    end: usize,
    /// The input has no more bytes.
    eof: bool,
    /// Where the delimiters, line breaks and quotes of `block[..end]` are, from where the
    /// block last changed (one vector pass over the block instead of a search per field).
    marks: Vec<u32>,
    /// The first of `marks` not used yet.
    mark: usize,
    /// `marks` is up to date with the block.
    marked: bool,
    /// The last record's fields are in `block`: the first starts at `origin`, each ends at
    /// its `f.ends` entry and the next starts one delimiter later. Otherwise they are in
    /// `f.bytes`, back to back.
    in_block: bool,
    origin: usize,
}

impl<R: std::io::Read> CsvRecords<R> {
    /// Records of `inner`, read `size` bytes at a time (at most [`BLOCK`]; small blocks in
    /// tests put block boundaries everywhere).
    pub(crate) fn with_block(inner: R, delimiter: u8, size: usize) -> Self {
        Self {
            inner,
            f: Fields {
                delimiter,
                bytes: Vec::new(),
                ends: Vec::new(),
                lines: 0,
                raw: 0,
                first: 0,
                state: State::RecordStart,
                quote_line: 0,
                over: false,
                blank: 0,
            },
            block: vec![0; size.clamp(1, BLOCK)].into_boxed_slice(),
            pos: 0,
            end: 0,
            eof: false,
            marks: Vec::new(),
            mark: 0,
            marked: false,
            in_block: false,
            origin: 0,
        }
    }

    /// Move the unused bytes to the front of the block and read more after them (one read:
    /// a pipe's 64 KiB is worth using at once). Sets `eof` when the input has no more.
    fn refill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.block.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        self.marked = false;
        if self.end == self.block.len() {
            return Ok(());
        }
        loop {
            match self.inner.read(&mut self.block[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Split the record at the read position where it lies, when it is all in the block and
    /// has no `"`. Blank lines before it are skipped and counted as the state machine does.
    fn fast(&mut self) -> Fast {
        let f = &mut self.f;
        let block = &self.block[..self.end];
        let mut i = self.pos;
        while let Some(&b) = block.get(i)
            && (b == b'\n' || b == b'\r')
        {
            f.lines += u64::from(b == b'\n');
            i += 1;
        }
        self.pos = i;
        if !self.marked {
            // A block is at most BLOCK (512 KiB) long: its offsets fit in a u32.
            self.marks.clear();
            self.marks.extend(
                memchr::memchr3_iter(f.delimiter, b'\n', b'"', &block[i..]).map(|k| (i + k) as u32),
            );
            self.mark = 0;
            self.marked = true;
        }
        let marks = &self.marks;
        let mut m = self.mark;
        while marks.get(m).is_some_and(|&k| (k as usize) < i) {
            m += 1;
        }
        self.mark = m;
        // The fields end at the delimiters up to the line break. A quote (the delimiter too
        // when it is `"`, or a line break when it is `\n`: the state machine's order) sends
        // the record to the state machine, from the start.
        let nl = loop {
            let Some(&k) = marks.get(m) else {
                f.ends.clear();
                f.over = false;
                // A record longer than the block, or (at the end of the input) one without a
                // final line break: the state machine's.
                return if self.eof || (i == 0 && self.end == block.len()) {
                    Fast::Slow
                } else {
                    Fast::More
                };
            };
            let k = k as usize;
            m += 1;
            match block[k] {
                b'"' => {
                    f.ends.clear();
                    f.over = false;
                    return Fast::Slow;
                }
                b'\n' => break k,
                _ if f.over || f.ends.len() >= MAX_FIELDS => f.over = true,
                _ => f.ends.push(k),
            }
        };
        if f.ends.len() >= MAX_FIELDS {
            f.over = true;
        }
        let too_long = f.over;
        if too_long {
            f.ends.clear();
        } else {
            f.ends.push(nl);
        }
        f.lines += 1;
        self.mark = m;
        self.in_block = true;
        self.origin = i;
        self.pos = nl + 1;
        Fast::Record(Span {
            first: f.lines,
            last: f.lines,
            too_long,
        })
    }

    /// The next record, or `None` at the end of the input. Blank lines are skipped (and
    /// counted, so row numbers stay physical line numbers).
    pub fn next_record(&mut self) -> Result<Option<Span>, SplitError> {
        self.in_block = false;
        self.f.bytes.clear();
        self.f.ends.clear();
        self.f.raw = 0;
        self.f.over = false;
        self.f.state = State::RecordStart;
        loop {
            match self.fast() {
                Fast::Record(span) => return Ok(Some(span)),
                Fast::Slow => break,
                Fast::More => self.refill()?,
            }
        }
        let mut at_newline = false;
        loop {
            if self.pos == self.end {
                if !self.eof {
                    self.refill()?;
                    continue;
                }
                let f = &mut self.f;
                match f.state {
                    State::RecordStart => return Ok(None),
                    State::Quoted => {
                        return Err(SplitError::UnterminatedQuote {
                            row: f.first,
                            quote_line: f.quote_line,
                        });
                    }
                    _ => f.end_field(),
                }
                break;
            }
            let f = &mut self.f;
            let (used, done) = f.step(&self.block[self.pos..self.end]);
            self.pos += used;
            if f.raw > MAX_SKIP_BYTES {
                let quote_line = (f.state == State::Quoted).then_some(f.quote_line);
                return Err(SplitError::Endless {
                    row: f.first,
                    quote_line,
                });
            }
            if done {
                at_newline = true;
                break;
            }
        }
        let f = &mut self.f;
        let too_long = f.too_long();
        if too_long {
            f.bytes.clear();
            f.ends.clear();
        }
        // A record ended by its `\n` has counted that line break already.
        let last = if at_newline { f.lines } else { f.lines + 1 };
        Ok(Some(Span {
            first: f.first,
            last,
            too_long,
        }))
    }
}

impl<R> CsvRecords<R> {
    /// Fields of the record last read.
    pub fn len(&self) -> usize {
        self.f.ends.len()
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.f.ends.get(i)?;
        if self.in_block {
            let start = if i == 0 {
                self.origin
            } else {
                self.f.ends[i - 1] + 1
            };
            return Some(&self.block[start..end]);
        }
        let start = if i == 0 { 0 } else { self.f.ends[i - 1] };
        Some(&self.f.bytes[start..end])
    }

    /// Every field, in order.
    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// `fill_buf`, retried on `Interrupted`.
pub(crate) fn fill<R: BufRead>(r: &mut R) -> io::Result<&[u8]> {
    loop {
        match r.fill_buf() {
            // Returning the slice from inside the loop is refused by the borrow checker; the
            // second call below returns the same buffered bytes without reading.
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    r.fill_buf()
}

/// One line read by [`read_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// The line (without its `\n`) is in the buffer.
    Read,
    /// Longer than [`MAX_RECORD_BYTES`]: skipped; the buffer holds its first bytes only.
    TooLong,
    /// The end of the input.
    End,
}

/// Read one `\n`-terminated line into `buf` (cleared first), keeping at most
/// [`MAX_RECORD_BYTES`] of it. `line` is the line's number, for the error past
/// [`MAX_SKIP_BYTES`].
pub(crate) fn read_line<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    line: u64,
) -> Result<Line, SplitError> {
    buf.clear();
    let mut seen = 0u64;
    loop {
        let chunk = fill(r)?;
        if chunk.is_empty() {
            return Ok(if seen == 0 {
                Line::End
            } else if seen > MAX_RECORD_BYTES as u64 {
                Line::TooLong
            } else {
                Line::Read
            });
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(k) => (k, true),
            None => (chunk.len(), false),
        };
        let room = MAX_RECORD_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        seen += take as u64;
        r.consume(take + usize::from(done));
        if done {
            return Ok(if seen > MAX_RECORD_BYTES as u64 {
                Line::TooLong
            } else {
                Line::Read
            });
        }
        if seen > MAX_SKIP_BYTES {
            return Err(SplitError::Endless {
                row: line,
                quote_line: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record as (first line, last line, fields) or the error.
    fn records(text: &[u8]) -> Result<Vec<(u64, u64, Vec<String>)>, SplitError> {
        records_in_blocks(text, BLOCK)
    }

    /// [`records`] read `block` bytes at a time (at most: the reader gives `chunk`-byte reads).
    fn records_in_blocks(
        text: &[u8],
        block: usize,
    ) -> Result<Vec<(u64, u64, Vec<String>)>, SplitError> {
        let mut r = CsvRecords::with_block(text, b',', block);
        let mut out = Vec::new();
        while let Some(span) = r.next_record()? {
            let fields = r
                .fields()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            out.push((span.first, span.last, fields));
        }
        Ok(out)
    }

    fn rec(first: u64, last: u64, fields: &[&str]) -> (u64, u64, Vec<String>) {
        (
            first,
            last,
            fields.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    #[test]
    fn row_numbers_are_physical_lines_after_blank_lines_and_quoted_breaks() {
        let got = records(b"id,x\n\nA1,\"two\nlines\"\r\n\r\n\nA2,\"q\"\"\"tail\nA3,b").unwrap();
        assert_eq!(
            got,
            vec![
                rec(1, 1, &["id", "x"]),
                rec(3, 4, &["A1", "two\nlines\r"]),
                rec(7, 7, &["A2", "q\"tail"]),
                rec(8, 8, &["A3", "b"]),
            ]
        );
        // A quote inside an unquoted field is literal; empty fields are kept.
        assert_eq!(
            records(b"a\"b,,\n").unwrap(),
            vec![rec(1, 1, &["a\"b", "", ""])]
        );
        assert!(records(b"").unwrap().is_empty());
        assert!(records(b"\n\r\n\n").unwrap().is_empty());
    }

    /// Short reads, like a pipe's: at most `n` bytes per `read`.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn block_boundaries_anywhere_give_the_same_records() {
        // Quotes, a quoted line break, CRLF, blank lines, a field longer than small blocks,
        // a quoted delimiter and no final line break.
        let text = b"id,x\n\nA1,\"two\nlines\"\r\n\r\n\nA2,\"q\"\"\"tail\nA3,b\r\n\
            a-field-longer-than-a-small-block@example.com,y\nA5,\"a,b\"\n\"A6\",\"\"\n\rA7,last";
        let want = vec![
            rec(1, 1, &["id", "x"]),
            rec(3, 4, &["A1", "two\nlines\r"]),
            rec(7, 7, &["A2", "q\"tail"]),
            rec(8, 8, &["A3", "b\r"]),
            rec(
                9,
                9,
                &["a-field-longer-than-a-small-block@example.com", "y"],
            ),
            rec(10, 10, &["A5", "a,b"]),
            rec(11, 11, &["A6", ""]),
            rec(12, 12, &["A7", "last"]),
        ];
        for block in (1..=80).chain([BLOCK]) {
            assert_eq!(
                records_in_blocks(text, block).unwrap(),
                want,
                "block {block}"
            );
            for step in [1, 3, 7] {
                let mut r = CsvRecords::with_block(Trickle(text, step), b',', block);
                let mut got = Vec::new();
                while let Some(span) = r.next_record().unwrap() {
                    let fields = r
                        .fields()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect();
                    got.push((span.first, span.last, fields));
                }
                assert_eq!(got, want, "block {block}, reads of {step}");
            }
        }
        // A CRLF split between blocks, and a final record ended by CRLF.
        for block in 1..=12 {
            assert_eq!(
                records_in_blocks(b"a,b\r\nc,d\r\n", block).unwrap(),
                vec![rec(1, 1, &["a", "b\r"]), rec(2, 2, &["c", "d\r"])],
                "block {block}"
            );
        }
    }

    #[test]
    fn errors_are_the_same_at_any_block_size() {
        for block in (1..=24).chain([BLOCK]) {
            match records_in_blocks(b"id\nA1\n\"A2\nA3\nA4\n", block) {
                Err(SplitError::UnterminatedQuote {
                    row: 3,
                    quote_line: 3,
                }) => {}
                other => panic!("block {block}: {other:?}"),
            }
            match records_in_blocks(b"id,n\nA1,\"x\n\nA3,y\n", block) {
                Err(SplitError::UnterminatedQuote {
                    row: 2,
                    quote_line: 2,
                }) => {}
                other => panic!("block {block}: {other:?}"),
            }
        }
    }

    #[test]
    fn too_many_fields_is_too_long_in_the_block_and_out_of_it() {
        for (commas, too_long) in [(MAX_FIELDS - 1, false), (MAX_FIELDS, true)] {
            let mut text = b"id\n".to_vec();
            text.extend(std::iter::repeat_n(b',', commas));
            text.extend(b"\nA3\n");
            // The whole record in one block (split in place), and in blocks shorter than it.
            for block in [BLOCK, 1000] {
                let mut r = CsvRecords::with_block(&text[..], b',', block);
                r.next_record().unwrap();
                let span = r.next_record().unwrap().unwrap();
                assert_eq!((span.first, span.too_long), (2, too_long), "block {block}");
                let fields = if too_long { 0 } else { commas + 1 };
                assert_eq!(r.len(), fields, "block {block}");
                assert!(r.fields().all(<[u8]>::is_empty));
                let span = r.next_record().unwrap().unwrap();
                assert_eq!((span.first, r.get(0)), (3, Some(&b"A3"[..])));
                assert!(r.next_record().unwrap().is_none());
            }
        }
    }

    #[test]
    fn an_unterminated_quote_names_the_line_it_opened_on() {
        match records(b"id\nA1\n\"A2\nA3\nA4\n") {
            Err(SplitError::UnterminatedQuote {
                row: 3,
                quote_line: 3,
            }) => {}
            other => panic!("{other:?}"),
        }
        match records(b"id,n\nA1,\"x\n\nA3,y\n") {
            Err(SplitError::UnterminatedQuote {
                row: 2,
                quote_line: 2,
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_long_record_is_skipped_and_an_endless_one_stops() {
        let mut text = b"id\n".to_vec();
        text.extend(std::iter::repeat_n(b',', MAX_RECORD_BYTES + 1));
        text.extend(b"\nA3\n");
        let mut r = CsvRecords::with_block(&text[..], b',', BLOCK);
        r.next_record().unwrap();
        let span = r.next_record().unwrap().unwrap();
        assert!(span.too_long && span.first == 2 && r.len() == 0);
        let span = r.next_record().unwrap().unwrap();
        assert_eq!((span.first, r.get(0)), (3, Some(&b"A3"[..])));

        let endless = std::io::Read::chain(&b"id\n\"x"[..], std::io::repeat(b'y'));
        let mut r = CsvRecords::with_block(std::io::BufReader::new(endless), b',', BLOCK);
        r.next_record().unwrap();
        match r.next_record() {
            Err(SplitError::Endless {
                row: 2,
                quote_line: Some(2),
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn blank_lines_count_as_lines_not_as_record_bytes() {
        let blanks = std::io::Read::take(std::io::repeat(b'\n'), MAX_SKIP_BYTES + 10);
        let text = std::io::Read::chain(std::io::Read::chain(&b"id\n"[..], blanks), &b"A1\n"[..]);
        let mut r = CsvRecords::with_block(std::io::BufReader::new(text), b',', BLOCK);
        r.next_record().unwrap();
        let span = r.next_record().unwrap().unwrap();
        assert_eq!(span.first, MAX_SKIP_BYTES + 12);
        assert!(!span.too_long);
    }

    #[test]
    fn lines_are_capped() {
        let mut text = b"a\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 1));
        text.extend(b"\nlast");
        let mut r = &text[..];
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, 1).unwrap(), Line::Read);
        assert_eq!(buf, b"a");
        assert_eq!(read_line(&mut r, &mut buf, 2).unwrap(), Line::TooLong);
        assert_eq!(buf.len(), MAX_RECORD_BYTES);
        assert_eq!(read_line(&mut r, &mut buf, 3).unwrap(), Line::Read);
        assert_eq!(buf, b"last");
        assert_eq!(read_line(&mut r, &mut buf, 4).unwrap(), Line::End);
    }
}
