//! JSON readers: a top-level array streamed one element at a time, and NDJSON / JSON Lines.
//!
//! Elements are held as raw JSON text (`RawValue`), so numbers keep their exact digits
//! (an MPID beyond 2^53 is never rounded through `f64`) and only the selected keys are
//! decoded.

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::clean::{Cleaner, Field};
use super::json_array::{Element, Elements, ScanError};
use super::redact;
use super::source::{read_error, skip_bom};
use super::split::{self, Line, MAX_RECORD_BYTES};
use super::{ColumnSel, IntakeSpec, KindSource, RejectReason};
use crate::error::UserError;

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

/// How often each selected key was found, to tell a key that no record has (a wrong
/// `--column`, exit 2) from records that lack it here and there (per-row rejects).
#[derive(Default)]
struct KeyTally {
    objects: u64,
    /// Found per selector: value, kind, lookup.
    found: [u64; 3],
    /// The keys of the first object, for the error message.
    first_keys: Option<Vec<String>>,
}

impl KeyTally {
    fn count(&mut self, el: &RawValue, cells: [&Cell<'_>; 3]) {
        if !is_object(el) {
            return;
        }
        self.objects += 1;
        for (n, c) in self.found.iter_mut().zip(cells) {
            *n += u64::from(!matches!(c, Cell::Missing));
        }
        if self.first_keys.is_none() {
            let mut de = serde_json::Deserializer::from_str(el.get());
            self.first_keys = Some(de.deserialize_map(Keys).unwrap_or_default());
        }
    }

    /// The error for a selected key present in none of the file's objects.
    fn check(&self, sels: &Selectors, name: &str) -> anyhow::Result<()> {
        if self.objects == 0 {
            return Ok(());
        }
        let all = [
            (Some(&sels.value), "--column"),
            (sels.kind.as_ref(), "--id-type-column"),
            (sels.lookup.as_ref(), "--user-id-column"),
        ];
        for ((sel, flag), found) in all.into_iter().zip(self.found) {
            let Some(Sel::Key { full, .. }) = sel else {
                continue;
            };
            if found > 0 {
                continue;
            }
            let keys = self.first_keys.as_deref().unwrap_or_default();
            let (list, _) = redact::listing(keys);
            let n = self.objects;
            let records = if n == 1 { "record" } else { "records" };
            return Err(UserError::usage(format!(
                "{name}: none of its {n} {records} has the key {full:?} ({flag}); the first one's keys are: {list}"
            ))
            .with_hint(format!(
                "pass one of these keys with {flag} (a dotted path such as user.email for a nested key)"
            ))
            .into());
        }
        Ok(())
    }
}

/// The keys of an object, in order.
struct Keys;

impl<'de> Visitor<'de> for Keys {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut keys = Vec::new();
        while let Some(k) = m.next_key::<String>()? {
            m.next_value::<IgnoredAny>()?;
            keys.push(k);
        }
        Ok(keys)
    }
}

fn element(
    cl: &mut Cleaner,
    sels: &Selectors,
    tally: &mut KeyTally,
    (file, row): (u32, u64),
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
    tally.count(el, [&value, &kind, &lookup]);
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

/// A JSON error at `line`:`col` of the file (exit 2).
fn at(name: &str, line: u64, col: u64, what: String, hint: &str) -> anyhow::Error {
    UserError::usage(format!("{name}: line {line}, column {col}: {what}"))
        .with_hint(hint.to_owned())
        .into()
}

const FIX_HINT: &str =
    "fix the JSON there, or use --format ndjson if the file has one value per line";

fn scan_error(name: &str, e: ScanError) -> anyhow::Error {
    match e {
        ScanError::Io(e) => read_error(name, &e),
        ScanError::NotArray { line, col } => at(
            name,
            line,
            col,
            "expected a JSON array at the top level".into(),
            "use a JSON array of strings or objects, or --format ndjson for one value per line",
        ),
        ScanError::Syntax { line, col, msg } => {
            at(name, line, col, format!("invalid JSON ({msg})"), FIX_HINT)
        }
        ScanError::Eof { line, col } => at(
            name,
            line,
            col,
            "the JSON ends early (EOF inside the array)".into(),
            "the file looks truncated; check that it was written completely",
        ),
        ScanError::Endless { row, line } => UserError::usage(format!(
            "{name}: element {row} (from line {line}) goes on past {} MiB; stopped reading",
            split::MAX_SKIP_BYTES >> 20
        ))
        .with_hint("a string or value that never ends: the file is truncated or not JSON")
        .into(),
    }
}

/// An error inside one element, placed in the file: serde_json counts from the element's
/// first byte.
fn element_error(name: &str, el: Element, line: usize, col: usize, what: String) -> anyhow::Error {
    let (line, col) = (line as u64, col as u64);
    let (l, c) = if line <= 1 {
        (el.line, el.col + col.saturating_sub(1))
    } else {
        (el.line + line - 1, col)
    };
    at(name, l, c, what, FIX_HINT)
}

/// Read a top-level JSON array; rows are 1-based element numbers.
pub(crate) fn read_array(
    spec: &IntakeSpec,
    file: u32,
    name: &str,
    mut input: Box<dyn BufRead + '_>,
    cl: &mut Cleaner,
) -> anyhow::Result<()> {
    skip_bom(&mut *input).map_err(|e| read_error(name, &e))?;
    let sels = Selectors::new(spec);
    let mut tally = KeyTally::default();
    let mut elements = Elements::new(input);
    let mut row = 0u64;
    while let Some(el) = elements.next_element().map_err(|e| scan_error(name, e))? {
        row += 1;
        if el.too_long {
            let why = format!(
                "the element is longer than {} MiB (skipped)",
                MAX_RECORD_BYTES >> 20
            );
            cl.malformed(file, row, why, None)?;
            continue;
        }
        let bytes = elements.bytes();
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let before = &bytes[..e.valid_up_to()];
            let line = 1 + memchr::memchr_iter(b'\n', before).count();
            let col = match memchr::memrchr(b'\n', before) {
                Some(nl) => before.len() - nl,
                None => before.len() + 1,
            };
            element_error(
                name,
                el,
                line,
                col,
                "invalid UTF-8 (the file must be UTF-8)".into(),
            )
        })?;
        let raw: &RawValue = serde_json::from_str(text).map_err(|e| {
            let what = format!("invalid JSON ({})", short(&e));
            element_error(name, el, e.line(), e.column(), what)
        })?;
        element(cl, &sels, &mut tally, (file, row), raw)?;
    }
    tally.check(&sels, name)
}

/// Read NDJSON / JSON Lines; rows are line numbers; blank lines are skipped.
pub(crate) fn read_lines(
    spec: &IntakeSpec,
    file: u32,
    name: &str,
    mut input: Box<dyn BufRead + '_>,
    cl: &mut Cleaner,
) -> anyhow::Result<()> {
    skip_bom(&mut *input).map_err(|e| read_error(name, &e))?;
    let sels = Selectors::new(spec);
    let mut tally = KeyTally::default();
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        line += 1;
        let got = split::read_line(&mut input, &mut buf, line)
            .map_err(|e| super::csv::split_error(name, e))?;
        match got {
            Line::End => return tally.check(&sels, name),
            Line::TooLong => {
                let why = format!(
                    "the line is longer than {} MiB (skipped)",
                    MAX_RECORD_BYTES >> 20
                );
                cl.malformed(file, line, why, None)?;
                continue;
            }
            Line::Read => {}
        }
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
            Ok(el) => element(cl, &sels, &mut tally, (file, line), el)?,
            Err(e) => {
                let why = format!("invalid JSON at column {}: {}", e.column(), short(&e));
                cl.malformed(file, line, why, Some(text.to_owned()))?;
            }
        }
    }
}
