//! Splitting a top-level JSON array into its elements with bounded memory.
//!
//! serde_json reading from a stream buffers a whole string or element before it can hand it
//! over, so a string that never ends grows without bound. This scanner only tracks the
//! structure (strings, escapes, nesting depth) and keeps at most [`MAX_RECORD_BYTES`] of an
//! element; serde_json then parses each element on its own. Positions are tracked so every
//! error says line and column of the file.

use std::io::{self, BufRead};

use super::split::{MAX_RECORD_BYTES, MAX_SKIP_BYTES, fill};

/// Why the array could not be read to its end.
#[derive(Debug)]
pub(crate) enum ScanError {
    Io(io::Error),
    /// The file is not a JSON array (its first non-space byte is at `line`:`col`).
    NotArray {
        line: u64,
        col: u64,
    },
    /// Bad structure between elements, in serde_json's words.
    Syntax {
        line: u64,
        col: u64,
        msg: &'static str,
    },
    /// The input ended inside the array.
    Eof {
        line: u64,
        col: u64,
    },
    /// Element `row` (starting at `line`) went on past [`MAX_SKIP_BYTES`].
    Endless {
        row: u64,
        line: u64,
    },
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Where an element starts (1-based line and byte column), and whether it was cut.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element {
    pub line: u64,
    pub col: u64,
    /// Longer than [`MAX_RECORD_BYTES`]: skipped, [`Elements::bytes`] is empty.
    pub too_long: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the opening `[`.
    Start,
    /// Right after `[`.
    Open,
    /// After an element.
    After,
    Done,
}

pub(crate) struct Elements<R> {
    inner: R,
    line: u64,
    col: u64,
    place: Place,
    count: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Elements<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            line: 1,
            col: 1,
            place: Place::Start,
            count: 0,
            buf: Vec::new(),
        }
    }

    /// The bytes of the element last returned by [`Self::next_element`].
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Consume `n` buffered bytes, keeping the position.
    fn advance(&mut self, n: usize) {
        let Ok(buf) = self.inner.fill_buf() else {
            return;
        };
        let used = &buf[..n];
        match memchr::memrchr(b'\n', used) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', used).count() as u64;
                self.col = (n - last) as u64;
            }
            None => self.col += n as u64,
        }
        self.inner.consume(n);
    }

    /// Skip whitespace; the next byte, or `None` at the end of the input.
    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            let buf = fill(&mut self.inner)?;
            let Some(&b) = buf.first() else {
                return Ok(None);
            };
            let ws = buf
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            if ws == 0 {
                return Ok(Some(b));
            }
            self.advance(ws);
        }
    }

    fn syntax(&self, msg: &'static str) -> ScanError {
        ScanError::Syntax {
            line: self.line,
            col: self.col,
            msg,
        }
    }

    fn eof(&self) -> ScanError {
        ScanError::Eof {
            line: self.line,
            col: self.col,
        }
    }

    /// The next element, or `None` after the closing `]` (and nothing but whitespace after
    /// it). An empty input has no elements.
    pub fn next_element(&mut self) -> Result<Option<Element>, ScanError> {
        loop {
            let next = self.peek()?;
            match (self.place, next) {
                (Place::Done, _) | (Place::Start, None) => return Ok(None),
                (Place::Start, Some(b'[')) => {
                    self.advance(1);
                    self.place = Place::Open;
                }
                (Place::Start, Some(_)) => {
                    return Err(ScanError::NotArray {
                        line: self.line,
                        col: self.col,
                    });
                }
                (Place::Open | Place::After, Some(b']')) => {
                    self.advance(1);
                    self.place = Place::Done;
                    if self.peek()?.is_some() {
                        return Err(self.syntax("trailing characters"));
                    }
                    return Ok(None);
                }
                (Place::After, Some(b',')) => {
                    self.advance(1);
                    match self.peek()? {
                        Some(b']') => return Err(self.syntax("trailing comma")),
                        Some(_) => return self.element().map(Some),
                        None => return Err(self.eof()),
                    }
                }
                (Place::After, Some(_)) => return Err(self.syntax("expected `,` or `]`")),
                (Place::Open, Some(_)) => return self.element().map(Some),
                (_, None) => return Err(self.eof()),
            }
        }
    }

    /// Scan one element's extent into `buf` (at most [`MAX_RECORD_BYTES`] of it).
    fn element(&mut self) -> Result<Element, ScanError> {
        self.count += 1;
        self.place = Place::After;
        let (line, col) = (self.line, self.col);
        self.buf.clear();
        let mut scan = Scan::default();
        let mut seen = 0u64;
        loop {
            let buf = fill(&mut self.inner)?;
            if buf.is_empty() {
                if scan.depth == 0 && !scan.in_string && scan.scalar {
                    break; // a bare scalar at the end of input: serde_json names the error
                }
                return Err(self.eof());
            }
            let (used, done) = scan.step(buf);
            let room = MAX_RECORD_BYTES.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&buf[..used.min(room)]);
            seen += used as u64;
            self.advance(used);
            if done {
                break;
            }
            if seen > MAX_SKIP_BYTES {
                return Err(ScanError::Endless {
                    row: self.count,
                    line,
                });
            }
        }
        let too_long = seen > MAX_RECORD_BYTES as u64;
        if too_long {
            self.buf.clear();
        }
        Ok(Element {
            line,
            col,
            too_long,
        })
    }
}

/// The structure seen so far inside one element.
#[derive(Default)]
struct Scan {
    started: bool,
    /// A number, literal or anything else that is not a string or container.
    scalar: bool,
    depth: u64,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// Bytes of `buf` that belong to the element, and whether the element ended there.
    fn step(&mut self, buf: &[u8]) -> (usize, bool) {
        let mut i = 0;
        if !self.started {
            self.started = true;
            match buf[0] {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth = 1,
                _ => self.scalar = true,
            }
            i = 1;
        }
        while i < buf.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                    None => return (buf.len(), false),
                    Some(k) => {
                        i += k + 1;
                        if buf[i - 1] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                            if self.depth == 0 {
                                return (i, true);
                            }
                        }
                    }
                }
                continue;
            }
            if self.scalar {
                // A scalar ends where the array's punctuation or whitespace starts.
                if matches!(buf[i], b',' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    return (i, true);
                }
                i += 1;
                continue;
            }
            match buf[i] {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        (i, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8]) -> Result<Vec<(String, u64, u64)>, ScanError> {
        let mut s = Elements::new(text);
        let mut out = Vec::new();
        while let Some(e) = s.next_element()? {
            out.push((
                String::from_utf8_lossy(s.bytes()).into_owned(),
                e.line,
                e.col,
            ));
        }
        Ok(out)
    }

    #[test]
    fn splits_elements_with_positions() {
        let got =
            all(b"[\"a,]\\\"\", {\"k\":[1,{\"x\":\"}\"}]},\n  -1.5e3 , null,[[]]]\n").unwrap();
        let want = [
            (r#""a,]\"""#, 1, 2),
            (r#"{"k":[1,{"x":"}"}]}"#, 1, 11),
            ("-1.5e3", 2, 3),
            ("null", 2, 12),
            ("[[]]", 2, 17),
        ];
        let got: Vec<(&str, u64, u64)> = got.iter().map(|(s, l, c)| (s.as_str(), *l, *c)).collect();
        assert_eq!(got, want);
        assert!(all(b"").unwrap().is_empty());
        assert!(all(b" [ ] ").unwrap().is_empty());
    }

    #[test]
    fn structural_errors_have_positions() {
        let err = |t: &[u8]| match all(t) {
            Err(ScanError::Syntax { line, col, msg }) => format!("{msg} {line}:{col}"),
            Err(ScanError::Eof { line, col }) => format!("eof {line}:{col}"),
            Err(ScanError::NotArray { line, col }) => format!("not an array {line}:{col}"),
            other => format!("{other:?}"),
        };
        assert_eq!(err(br#"["A1","A2"] xyz"#), "trailing characters 1:13");
        assert_eq!(err(br#"["A1","A2",]"#), "trailing comma 1:12");
        assert_eq!(err(br#"["A1","A2""#), "eof 1:11");
        assert_eq!(err(br#"["A1" "A2"]"#), "expected `,` or `]` 1:7");
        assert_eq!(err(b"\n {\"id\":1}"), "not an array 2:2");
        assert_eq!(err(br#"["A1", "unterminated"#), "eof 1:21");
    }

    #[test]
    fn an_endless_string_is_cut_then_stopped() {
        let mut text = b"[\"".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
        text.extend(b"\", \"ok\"]");
        let mut s = Elements::new(&text[..]);
        let e = s.next_element().unwrap().unwrap();
        assert!(e.too_long && s.bytes().is_empty());
        s.next_element().unwrap().unwrap();
        assert_eq!(s.bytes(), b"\"ok\"");
        assert!(s.next_element().unwrap().is_none());

        let endless = std::io::Read::chain(&b"[\"a\", \""[..], std::io::repeat(b'y'));
        let mut s = Elements::new(std::io::BufReader::new(endless));
        s.next_element().unwrap();
        match s.next_element() {
            Err(ScanError::Endless { row: 2, line: 1 }) => {}
            other => panic!("{other:?}"),
        }
    }
}
