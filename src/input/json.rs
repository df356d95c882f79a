//! JSON readers: a top-level array streamed one element at a time, and NDJSON / JSON Lines.
//!
//! Elements are held as raw JSON text (`RawValue`), so numbers keep their exact digits
//! (an MPID beyond 2^53 is never rounded through `f64`) and only the selected keys are
//! decoded.

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::clean::{Cleaner, Field};
use super::source::{read_error, skip_bom};
use super::{ColumnSel, IntakeSpec, KindSource, RejectReason};
use crate::exit::UserError;

/// How to find one cell in an element.
enum Sel {
    /// A key, or a dotted path (`a.b.c`); a literal key containing dots wins over the path.
    Key {
        full: String,
        path: Vec<String>,
    },
    Index(usize),
    Whole,
}

impl Sel {
    fn new(c: &ColumnSel) -> Self {
        match c {
            ColumnSel::Name(n) => Sel::Key {
                full: n.clone(),
                path: n.split('.').map(str::to_owned).collect(),
            },
            ColumnSel::Index(i) => Sel::Index(*i),
            ColumnSel::Whole => Sel::Whole,
        }
    }
}

struct Selectors {
    value: Sel,
    kind: Option<Sel>,
    lookup: Option<Sel>,
}

impl Selectors {
    fn new(spec: &IntakeSpec) -> Self {
        Self {
            value: Sel::new(&spec.column),
            kind: match &spec.kind {
                KindSource::Column(c) => Some(Sel::new(c)),
                KindSource::Fixed(_) => None,
            },
            lookup: spec.lookup.as_ref().map(Sel::new),
        }
    }
}

/// One decoded cell; owns the text only when the JSON string had escapes.
enum Cell<'r> {
    Text(Cow<'r, str>),
    Null,
    Missing,
    Bad(RejectReason, Option<String>),
}

impl Cell<'_> {
    fn field(&self) -> Field<'_> {
        match self {
            Cell::Text(t) => Field::Text(t),
            Cell::Null => Field::Null,
            Cell::Missing => Field::Missing,
            Cell::Bad(r, raw) => Field::Bad(r.clone(), raw.clone()),
        }
    }
}

fn invalid(why: &str, raw: &RawValue) -> Cell<'static> {
    Cell::Bad(
        RejectReason::Invalid(why.to_owned()),
        Some(raw.get().to_owned()),
    )
}

/// A scalar element as a cell: strings decoded, numbers kept as their exact text.
fn scalar(raw: &RawValue) -> Cell<'_> {
    let t = raw.get().trim();
    match t.as_bytes().first() {
        Some(b'"') => match serde_json::from_str::<&str>(t) {
            Ok(s) => Cell::Text(Cow::Borrowed(s)),
            // Escapes need an owned string.
            Err(_) => match serde_json::from_str::<String>(t) {
                Ok(s) => Cell::Text(Cow::Owned(s)),
                Err(e) => Cell::Bad(
                    RejectReason::Malformed(format!("bad JSON string: {}", short(&e))),
                    Some(t.to_owned()),
                ),
            },
        },
        Some(b'n') => Cell::Null,
        Some(b't' | b'f') => invalid("a JSON boolean is not an identifier", raw),
        Some(b'{') => invalid(
            "found a JSON object; name the key holding the identifier with --column",
            raw,
        ),
        Some(b'[') => invalid(
            "found a JSON array; pick an element with --column-index",
            raw,
        ),
        _ => Cell::Text(Cow::Borrowed(t)),
    }
}

/// Compares a map key with a wanted name without allocating.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

/// The raw value under one key of an object (the first, if the key repeats).
struct Pick<'k>(&'k str);

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Option<&'de RawValue>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(hit) = m.next_key_seed(KeyIs(self.0))? {
            if hit && found.is_none() {
                found = Some(m.next_value::<&'de RawValue>()?);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

fn is_object(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('{')
}

fn pick<'r>(obj: &'r RawValue, key: &str) -> serde_json::Result<Option<&'r RawValue>> {
    let mut de = serde_json::Deserializer::from_str(obj.get());
    de.deserialize_map(Pick(key))
}

/// Follow a key or dotted path into an object.
fn at_path<'r>(
    obj: &'r RawValue,
    full: &str,
    path: &[String],
) -> serde_json::Result<Option<&'r RawValue>> {
    if path.len() > 1
        && let Some(v) = pick(obj, full)?
    {
        return Ok(Some(v));
    }
    let mut cur = obj;
    for seg in path {
        if !is_object(cur) {
            return Ok(None);
        }
        match pick(cur, seg)? {
            Some(v) => cur = v,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// Select a cell from an element. A scalar element is the value itself (an array of strings
/// with `--column email` still works); it has no kind or lookup cells.
fn cell<'r>(el: &'r RawValue, sel: &Sel, is_value: bool) -> Cell<'r> {
    let broken = |e: serde_json::Error| {
        Cell::Bad(
            RejectReason::Malformed(format!("bad JSON: {}", short(&e))),
            None,
        )
    };
    match el.get().trim_start().as_bytes().first() {
        Some(b'{') => match sel {
            Sel::Key { full, path } => match at_path(el, full, path) {
                Ok(Some(v)) => scalar(v),
                Ok(None) => Cell::Missing,
                Err(e) => broken(e),
            },
            _ => scalar(el),
        },
        Some(b'[') => match sel {
            Sel::Index(i) => match serde_json::from_str::<Vec<&RawValue>>(el.get()) {
                Ok(items) => items.get(*i).map_or(Cell::Missing, |v| scalar(v)),
                Err(e) => broken(e),
            },
            _ => scalar(el),
        },
        _ if is_value => scalar(el),
        _ => Cell::Missing,
    }
}

fn element(
    cl: &mut Cleaner,
    sels: &Selectors,
    file: u32,
    row: u64,
    el: &RawValue,
) -> anyhow::Result<()> {
    let value = cell(el, &sels.value, true);
    let kind = sels
        .kind
        .as_ref()
        .map_or(Cell::Missing, |s| cell(el, s, false));
    let lookup = sels
        .lookup
        .as_ref()
        .map_or(Cell::Missing, |s| cell(el, s, false));
    cl.row(file, row, value.field(), kind.field(), lookup.field())
}

/// serde_json's message without its " at line L column C" suffix (we place those ourselves).
/// Only syntax messages are shown: they never quote the input.
fn short(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            let m = e.to_string();
            match m.find(" at line ") {
                Some(i) => m[..i].to_owned(),
                None => m,
            }
        }
        _ => "unexpected JSON value".to_owned(),
    }
}

fn json_error(name: &str, e: serde_json::Error, skipped: &Skipped) -> anyhow::Error {
    use serde_json::error::Category;
    let (line, col) = match e.line() {
        1 => (1 + skipped.lines, e.column() + skipped.cols),
        l => (l + skipped.lines, e.column()),
    };
    match e.classify() {
        Category::Io => read_error(name, &std::io::Error::from(e)),
        Category::Data => UserError::usage(format!(
            "{name}: line {line}, column {col}: expected a JSON array at the top level"
        ))
        .with_hint(
            "use a JSON array of strings or objects, or --format ndjson for one value per line",
        )
        .into(),
        Category::Eof => UserError::usage(format!(
            "{name}: line {line}, column {col}: the JSON ends early ({})",
            short(&e)
        ))
        .with_hint("the file looks truncated; check that it was written completely")
        .into(),
        Category::Syntax => UserError::usage(format!(
            "{name}: line {line}, column {col}: invalid JSON ({})",
            short(&e)
        ))
        .with_hint("fix the JSON there, or use --format ndjson if the file has one value per line")
        .into(),
    }
}

/// Streams the elements of a top-level array to a callback.
struct Elements<'f, F> {
    each: &'f mut F,
    failure: &'f mut Option<anyhow::Error>,
}

impl<'de, F: FnMut(u64, &RawValue) -> anyhow::Result<()>> Visitor<'de> for Elements<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0u64;
        while let Some(el) = seq.next_element::<Box<RawValue>>()? {
            n += 1;
            if let Err(e) = (self.each)(n, &el) {
                *self.failure = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Leading whitespace consumed before parsing, so error positions can be put back in terms
/// of the file.
#[derive(Default)]
struct Skipped {
    lines: usize,
    /// Columns skipped on the line where parsing started.
    cols: usize,
}

/// Consume leading whitespace; true when nothing else is left (an empty file).
fn skip_space(r: &mut dyn BufRead, skipped: &mut Skipped) -> std::io::Result<bool> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        let ws = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        for &b in &buf[..ws] {
            if b == b'\n' {
                skipped.lines += 1;
                skipped.cols = 0;
            } else {
                skipped.cols += 1;
            }
        }
        let all = ws == buf.len();
        r.consume(ws);
        if !all {
            return Ok(false);
        }
    }
}

/// Read a top-level JSON array; rows are 1-based element numbers.
pub(crate) fn read_array(
    spec: &IntakeSpec,
    file: u32,
    name: &str,
    mut input: Box<dyn BufRead + '_>,
    cl: &mut Cleaner,
) -> anyhow::Result<()> {
    let io = |e: std::io::Error| read_error(name, &e);
    skip_bom(&mut *input).map_err(io)?;
    let mut skipped = Skipped::default();
    if skip_space(&mut *input, &mut skipped).map_err(io)? {
        return Ok(()); // an empty file has no rows
    }
    let sels = Selectors::new(spec);
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_reader(input);
    let mut each = |row: u64, el: &RawValue| element(cl, &sels, file, row, el);
    let res = de.deserialize_seq(Elements {
        each: &mut each,
        failure: &mut failure,
    });
    if let Some(e) = failure {
        return Err(e);
    }
    res.and_then(|()| de.end())
        .map_err(|e| json_error(name, e, &skipped))
}

/// Read NDJSON / JSON Lines; rows are line numbers; blank lines are skipped.
pub(crate) fn read_lines(
    spec: &IntakeSpec,
    file: u32,
    name: &str,
    mut input: Box<dyn BufRead + '_>,
    cl: &mut Cleaner,
) -> anyhow::Result<()> {
    let io = |e: std::io::Error| read_error(name, &e);
    skip_bom(&mut *input).map_err(io)?;
    let sels = Selectors::new(spec);
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            return Ok(());
        }
        line += 1;
        let bytes = buf.trim_ascii();
        if bytes.is_empty() {
            continue;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let why = format!("invalid UTF-8 at byte {} of the line", e.valid_up_to());
                let raw = String::from_utf8_lossy(bytes).into_owned();
                cl.malformed(file, line, why, Some(raw))?;
                continue;
            }
        };
        match serde_json::from_str::<&RawValue>(text) {
            Ok(el) => element(cl, &sels, file, line, el)?,
            Err(e) => {
                let why = format!("invalid JSON at column {}: {}", e.column(), short(&e));
                cl.malformed(file, line, why, Some(text.to_owned()))?;
            }
        }
    }
}
