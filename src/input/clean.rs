//! The cleaner: turns raw fields into kept items or rejects, counts every step, de-duplicates.
//!
//! Readers hand it one row at a time as borrowed [`Field`]s; it allocates only for kept items
//! (the value, kind and lookup `String`s of an [`Item`]) and for rejects.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::mpsc::SyncSender;

use xxhash_rust::xxh3::xxh3_128;

use super::dedupe::HashSet128;
use super::{ColumnSel, IntakeSpec, KindSource, Reject, RejectReason};
use crate::batch::Item;

/// Longest identifier accepted by validation, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;

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

/// What validation a kind gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Email,
    Mpid,
    Plain,
}

impl Rule {
    fn for_kind(kind: &str) -> Self {
        if kind.eq_ignore_ascii_case("mpid") {
            Rule::Mpid
        } else if kind
            .as_bytes()
            .windows(5)
            .any(|w| w.eq_ignore_ascii_case(b"email"))
        {
            Rule::Email
        } else {
            Rule::Plain
        }
    }
}

/// Why `v` is not a valid identifier of its kind; never mentions the value itself.
fn invalid(rule: Rule, v: &str) -> Option<&'static str> {
    if v.len() > MAX_VALUE_BYTES {
        return Some("longer than 1024 bytes");
    }
    if v.is_ascii() {
        // The common case, in as few passes over the bytes as possible.
        let b = v.as_bytes();
        if b.iter()
            .fold(false, |acc, &c| acc | (c < 0x20) | (c == 0x7f))
        {
            return Some("contains a control character");
        }
        return match rule {
            Rule::Plain => None,
            Rule::Mpid => mpid_problem(v),
            Rule::Email => email_problem_ascii(b),
        };
    }
    if v.chars().any(char::is_control) {
        return Some("contains a control character");
    }
    match rule {
        Rule::Plain => None,
        Rule::Mpid => mpid_problem(v),
        Rule::Email => email_problem(v),
    }
}

/// [`email_problem`] for ASCII without control characters (so the only whitespace is ' '):
/// the same checks in the same order, in one pass plus one over the domain.
fn email_problem_ascii(b: &[u8]) -> Option<&'static str> {
    if b.len() > 254 {
        return Some("email longer than 254 bytes");
    }
    let (mut first_at, mut ats, mut space) = (None, 0u32, false);
    for (i, &c) in b.iter().enumerate() {
        if c == b'@' {
            ats += 1;
            first_at.get_or_insert(i);
        }
        space |= c == b' ';
    }
    if space {
        return Some("email contains whitespace");
    }
    let Some(at) = first_at else {
        return Some("email has no @");
    };
    if ats > 1 {
        return Some("email has more than one @");
    }
    if at == 0 {
        return Some("email has an empty local part");
    }
    if at > 64 {
        return Some("email local part longer than 64 bytes");
    }
    let domain = &b[at + 1..];
    let (mut dots, mut empty_label, mut prev_dot) = (0u32, false, true);
    for &c in domain {
        let dot = c == b'.';
        dots += u32::from(dot);
        empty_label |= dot & prev_dot;
        prev_dot = dot;
    }
    if dots == 0 {
        return Some("email domain has no dot");
    }
    if empty_label || prev_dot {
        return Some("email domain has an empty label");
    }
    None
}

fn mpid_problem(v: &str) -> Option<&'static str> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some("an mpid must be a whole number (digits, optional leading -)");
    }
    if v.parse::<i64>().is_err() {
        return Some("an mpid must fit in a signed 64-bit integer");
    }
    None
}

fn email_problem(v: &str) -> Option<&'static str> {
    if v.len() > 254 {
        return Some("email longer than 254 bytes");
    }
    if v.chars().any(char::is_whitespace) {
        return Some("email contains whitespace");
    }
    let Some((local, domain)) = v.split_once('@') else {
        return Some("email has no @");
    };
    if domain.contains('@') {
        return Some("email has more than one @");
    }
    if local.is_empty() {
        return Some("email has an empty local part");
    }
    if local.len() > 64 {
        return Some("email local part longer than 64 bytes");
    }
    if !domain.contains('.') {
        return Some("email domain has no dot");
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Some("email domain has an empty label");
    }
    None
}

/// All reason codes, in the order of [`reason_index`].
const CODES: [&str; 9] = [
    "null",
    "empty",
    "null_token",
    "invalid",
    "malformed",
    "missing_value",
    "missing_lookup",
    "same_as_lookup",
    "missing_kind",
];

fn reason_index(r: &RejectReason) -> usize {
    match r {
        RejectReason::Null => 0,
        RejectReason::Empty => 1,
        RejectReason::NullToken => 2,
        RejectReason::Invalid(_) => 3,
        RejectReason::Malformed(_) => 4,
        RejectReason::MissingValue => 5,
        RejectReason::MissingLookup => 6,
        RejectReason::SameAsLookup => 7,
        RejectReason::MissingKind => 8,
    }
}

/// Settings the cleaner reads, derived once from the spec.
struct Config {
    null_values: Vec<String>,
    lowercase: bool,
    validate: bool,
    fixed_kind: Option<(String, Rule)>,
    value_col: String,
    kind_col: String,
    lookup_col: String,
    has_lookup: bool,
}

impl Config {
    fn is_null_token(&self, v: &str) -> bool {
        self.null_values.iter().any(|t| t == v)
    }

    /// A trimmed, non-empty, non-null-token text cell; `None` otherwise.
    fn present<'a>(&self, f: &Field<'a>) -> Option<&'a str> {
        match f {
            Field::Text(s) => {
                let t = s.trim();
                (!t.is_empty() && !self.is_null_token(t)).then_some(t)
            }
            _ => None,
        }
    }
}

/// What the cleaner hands to the de-duplicating side, in input order.
pub(crate) enum Event {
    /// A clean identifier and its de-dup hash; it may still turn out to be a duplicate.
    Kept(u128, Item),
    Rejected(Reject),
}

/// Events per message between the two sides: big enough that channel costs vanish, small
/// enough that memory stays flat.
const CHUNK: usize = 1024;

/// The receiving side went away (it failed and reported its own error).
#[derive(Debug, thiserror::Error)]
#[error("intake stopped")]
pub(crate) struct Stopped;

/// The reading side's output: events in chunks, plus the counts it owns.
struct Out {
    tx: SyncSender<Vec<Event>>,
    buf: Vec<Event>,
    scratch: Vec<u8>,
    rejected: [u64; CODES.len()],
    rows_read: u64,
}

impl Out {
    fn push(&mut self, e: Event) -> anyhow::Result<()> {
        self.buf.push(e);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
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
        self.rejected[reason_index(&reason)] += 1;
        self.push(Event::Rejected(Reject {
            file,
            row,
            column: column.to_owned(),
            reason,
            raw,
        }))
    }
}

/// What the reading side counted.
pub(crate) struct ReadCounts {
    pub rows_read: u64,
    pub rejected: BTreeMap<String, u64>,
}

/// The reading side: cleans rows and sends [`Event`]s to a [`Dedup`] on another thread.
pub(crate) struct Cleaner {
    cfg: Config,
    sink: Out,
}

impl Cleaner {
    pub fn new(spec: &IntakeSpec, tx: SyncSender<Vec<Event>>) -> Self {
        let (fixed_kind, kind_col) = match &spec.kind {
            KindSource::Fixed(k) => (Some((k.clone(), Rule::for_kind(k))), String::new()),
            KindSource::Column(sel) => (None, column_label(sel)),
        };
        Self {
            cfg: Config {
                null_values: spec
                    .null_values
                    .iter()
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect(),
                lowercase: spec.lowercase,
                validate: spec.validate,
                fixed_kind,
                value_col: column_label(&spec.column),
                kind_col,
                lookup_col: spec.lookup.as_ref().map(column_label).unwrap_or_default(),
                has_lookup: spec.lookup.is_some(),
            },
            sink: Out {
                tx,
                buf: Vec::with_capacity(CHUNK),
                scratch: Vec::new(),
                rejected: [0; CODES.len()],
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
        if cfg.is_null_token(v) {
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
                Some(k) => (k, Rule::for_kind(k)),
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
                Some(l) if l == v => {
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
        } else if v.is_ascii() {
            if v.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(v.to_ascii_lowercase())
            } else {
                Cow::Borrowed(v)
            }
        } else {
            Cow::Owned(v.to_lowercase())
        };

        if cfg.validate
            && let Some(why) = invalid(rule, &v)
        {
            return sink.reject(
                file,
                row,
                vcol,
                RejectReason::Invalid(why.to_owned()),
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
        sink.push(Event::Kept(
            h,
            Item {
                file,
                row,
                value: v.into_owned(),
                kind: kind.to_owned(),
                lookup: lookup.map(str::to_owned),
            },
        ))
    }

    /// Send what is buffered and return the counts.
    pub fn finish(mut self) -> anyhow::Result<ReadCounts> {
        self.sink.flush()?;
        Ok(ReadCounts {
            rows_read: self.sink.rows_read,
            rejected: CODES
                .iter()
                .zip(self.sink.rejected)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| ((*c).to_owned(), n))
                .collect(),
        })
    }
}

/// How far ahead of an insert its de-dup slot is prefetched.
const PREFETCH_AHEAD: usize = 16;

/// The de-duplicating side: owns the hash set and calls the callbacks, in input order.
pub(crate) struct Dedup<'c> {
    on_item: &'c mut dyn FnMut(Item) -> anyhow::Result<()>,
    on_reject: &'c mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    seen: HashSet128,
    ahead: Vec<u128>,
    pub kept: u64,
    pub duplicates: u64,
}

impl<'c> Dedup<'c> {
    pub fn new(
        on_item: &'c mut dyn FnMut(Item) -> anyhow::Result<()>,
        on_reject: &'c mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    ) -> Self {
        Self {
            on_item,
            on_reject,
            seen: HashSet128::new(),
            ahead: Vec::with_capacity(CHUNK),
            kept: 0,
            duplicates: 0,
        }
    }

    /// Size the de-dup set for about `rows` rows (an estimate; it grows if needed).
    pub fn reserve(&mut self, rows: u64) {
        // Beyond this the estimate is more likely wrong than the file that large.
        const MAX: u64 = 1 << 27;
        self.seen.reserve(rows.min(MAX) as usize);
    }

    pub fn consume(&mut self, chunk: Vec<Event>) -> anyhow::Result<()> {
        // Every insert into a set far larger than the caches is a miss; prefetching a few
        // inserts ahead overlaps them.
        self.ahead.clear();
        self.ahead.extend(chunk.iter().filter_map(|e| match e {
            Event::Kept(h, _) => Some(*h),
            Event::Rejected(_) => None,
        }));
        for &h in self.ahead.iter().take(PREFETCH_AHEAD) {
            self.seen.prefetch(h);
        }
        let mut next = PREFETCH_AHEAD;
        for e in chunk {
            match e {
                Event::Rejected(r) => (self.on_reject)(&r)?,
                Event::Kept(h, item) => {
                    if let Some(&later) = self.ahead.get(next) {
                        self.seen.prefetch(later);
                    }
                    next += 1;
                    if self.seen.insert(h) {
                        self.kept += 1;
                        (self.on_item)(item)?;
                    } else {
                        self.duplicates += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_reason_codes() {
        let all = [
            RejectReason::Null,
            RejectReason::Empty,
            RejectReason::NullToken,
            RejectReason::Invalid(String::new()),
            RejectReason::Malformed(String::new()),
            RejectReason::MissingValue,
            RejectReason::MissingLookup,
            RejectReason::SameAsLookup,
            RejectReason::MissingKind,
        ];
        for r in &all {
            assert_eq!(CODES[reason_index(r)], r.code());
        }
    }

    #[test]
    fn email_rules() {
        let ok = ["a@b.co", "first.last+tag@sub.example.org", "ü@bücher.de"];
        for e in ok {
            assert_eq!(invalid(Rule::Email, e), None, "{e}");
        }
        let bad = [
            ("nobody", "email has no @"),
            ("a@@b.com", "email has more than one @"),
            ("a@b@c.com", "email has more than one @"),
            ("@b.com", "email has an empty local part"),
            ("a@localhost", "email domain has no dot"),
            ("a@.com", "email domain has an empty label"),
            ("a@b.com.", "email domain has an empty label"),
            ("a@b..com", "email domain has an empty label"),
            ("a b@c.com", "email contains whitespace"),
            ("a\u{a0}b@c.com", "email contains whitespace"),
            ("a\0b@c.com", "contains a control character"),
        ];
        for (e, why) in bad {
            assert_eq!(invalid(Rule::Email, e), Some(why), "{e:?}");
        }
        let long_local = format!("{}@b.com", "x".repeat(65));
        assert_eq!(
            invalid(Rule::Email, &long_local),
            Some("email local part longer than 64 bytes")
        );
        let long = format!("a@{}.com", "x".repeat(260));
        assert_eq!(
            invalid(Rule::Email, &long),
            Some("email longer than 254 bytes")
        );
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_general_rules() {
        let cases = [
            "a@b.co",
            "nobody",
            "a@@b.com",
            "@b.com",
            "a@localhost",
            "a@.com",
            "a@b.com.",
            "a@b..com",
            "a b@c.com",
            "a@b",
            "x@y.z",
            ".a@b.c",
            "a@b.c.",
            "a@",
            "@",
            "",
        ];
        for c in cases {
            assert_eq!(email_problem_ascii(c.as_bytes()), email_problem(c), "{c:?}");
        }
        let long_local = format!("{}@b.com", "x".repeat(65));
        let long = format!("a@{}.com", "x".repeat(260));
        for c in [long_local, long] {
            assert_eq!(email_problem_ascii(c.as_bytes()), email_problem(&c));
        }
    }

    proptest::proptest! {
        #[test]
        fn ascii_fast_path_agrees_on_random_input(v in "[ab@. ]{0,12}") {
            proptest::prop_assert_eq!(email_problem_ascii(v.as_bytes()), email_problem(&v));
        }
    }

    #[test]
    fn mpid_rules() {
        for ok in [
            "1",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
            "007",
        ] {
            assert_eq!(invalid(Rule::Mpid, ok), None, "{ok}");
        }
        for bad in [
            "1.2E+18",
            "1.5",
            "9223372036854775808",
            "-9223372036854775809",
            "+5",
            "-",
            "12a",
            "0x10",
        ] {
            assert!(invalid(Rule::Mpid, bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn kinds_pick_rules() {
        assert_eq!(Rule::for_kind("email"), Rule::Email);
        assert_eq!(Rule::for_kind("$Email"), Rule::Email);
        assert_eq!(Rule::for_kind("other_email_address"), Rule::Email);
        assert_eq!(Rule::for_kind("MPID"), Rule::Mpid);
        assert_eq!(Rule::for_kind("customerid"), Rule::Plain);
        assert_eq!(
            invalid(Rule::Plain, &"x".repeat(1025)),
            Some("longer than 1024 bytes")
        );
        assert_eq!(invalid(Rule::Plain, &"x".repeat(1024)), None);
        assert_eq!(
            invalid(Rule::Plain, "a\u{85}b"),
            Some("contains a control character")
        );
    }
}
