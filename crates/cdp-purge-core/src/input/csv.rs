//! CSV/TSV reader: records split with bounded memory ([`CsvRecords`]), fields decoded
//! lazily, per-row rejects. Every row number is the physical line the record starts on.

use std::io::BufRead;

use super::clean::{Cleaner, Field};
use super::redact::{self, listing};
use super::source::{read_error, skip_bom};
use super::split::{BLOCK, CsvRecords, MAX_FIELDS, MAX_RECORD_BYTES, Span, SplitError};
use super::{ColumnSel, IntakeSpec, KindSource, RejectReason};
use crate::error::UserError;

/// Which field of a record holds what.
struct Layout {
    value: usize,
    kind: Option<usize>,
    lookup: Option<usize>,
    /// Records must have exactly this many fields (the header's count, or 1 for a headerless
    /// one-column file); `None` when a headerless file has no fixed shape.
    width: Option<usize>,
}

fn find(names: &[String], want: &str) -> Option<usize> {
    if let Some(i) = names.iter().position(|n| n == want) {
        return Some(i);
    }
    if let Some(i) = names.iter().position(|n| n.trim() == want.trim()) {
        return Some(i);
    }
    // A case-insensitive match only when it is unambiguous.
    let mut ci = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.trim().eq_ignore_ascii_case(want.trim()));
    match (ci.next(), ci.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

fn resolve(
    sel: &ColumnSel,
    flag: &str,
    names: Option<&[String]>,
    file: &str,
) -> anyhow::Result<usize> {
    match (sel, names) {
        (ColumnSel::Whole, _) => match names {
            Some(n) if n.len() != 1 => {
                let (list, _) = listing(n);
                Err(UserError::usage(format!(
                    "{file} has {} columns ({list}); which one holds the identifiers?",
                    n.len()
                ))
                .with_hint("name it with --column NAME (or --column-index N)")
                .into())
            }
            _ => Ok(0),
        },
        (ColumnSel::Index(i), Some(n)) if *i >= n.len() => {
            let (list, _) = listing(n);
            Err(UserError::usage(format!(
                "column index {i} is out of range: {file} has {} columns ({list})",
                n.len()
            ))
            .with_hint("--column-index counts from 0")
            .into())
        }
        (ColumnSel::Index(i), _) => Ok(*i),
        (ColumnSel::Name(want), Some(n)) => find(n, want).ok_or_else(|| {
            let alike: Vec<String> = n
                .iter()
                .filter(|c| c.trim().eq_ignore_ascii_case(want.trim()))
                .map(|c| redact::name(c))
                .collect();
            if alike.len() > 1 {
                return UserError::usage(format!(
                    "{flag} {want:?} matches several columns of {file} but none exactly: {}",
                    alike.join(", ")
                ))
                .with_hint(format!(
                    "give the exact name with {flag}, or --column-index N"
                ))
                .into();
            }
            let (list, redacted) = listing(n);
            let hint = if redacted {
                "the first row looks like data, not a header: pass --no-header and --column-index N"
                    .to_owned()
            } else {
                format!("pass one of these names with {flag}, or --column-index N")
            };
            UserError::usage(format!(
                "{file} has no column {want:?} ({flag}); its columns are: {list}"
            ))
            .with_hint(hint)
            .into()
        }),
        (ColumnSel::Name(want), None) => Err(UserError::usage(format!(
            "{flag} {want:?} needs a header row, but --no-header was given"
        ))
        .with_hint("with --no-header, select columns by position with --column-index N")
        .into()),
    }
}

/// The names that appear more than once, with their column indexes, in order of first
/// appearance (ignoring surrounding spaces; empty names, which Excel leaves after the last
/// column, do not count).
fn duplicates(names: &[String]) -> Vec<(String, Vec<usize>)> {
    let mut at: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, n) in names.iter().enumerate() {
        let n = n.trim();
        if !n.is_empty() {
            at.entry(n).or_default().push(i);
        }
    }
    let mut out: Vec<(String, Vec<usize>)> = at
        .into_iter()
        .filter(|(_, cols)| cols.len() > 1)
        .map(|(n, cols)| (n.to_owned(), cols))
        .collect();
    out.sort_by_key(|(_, cols)| cols[0]);
    out
}

impl Layout {
    fn new(spec: &IntakeSpec, names: Option<&[String]>, file: &str) -> anyhow::Result<Self> {
        if let Some(n) = names
            && !redact::row_looks_like_data(n)
        {
            let dups = duplicates(n);
            if !dups.is_empty() {
                let list: Vec<String> = dups
                    .iter()
                    .map(|(name, at)| {
                        let cols: Vec<String> = at.iter().map(ToString::to_string).collect();
                        format!(
                            "{} (column indexes {})",
                            redact::name(name),
                            cols.join(", ")
                        )
                    })
                    .collect();
                return Err(UserError::usage(format!(
                    "{file} has duplicate column names: {}",
                    list.join("; ")
                ))
                .with_hint(
                    "rename the columns so each name is unique; a repeated name would leave it to chance which column is read",
                )
                .into());
            }
        }
        let value = resolve(&spec.column, "--column", names, file)?;
        // Selecting by position, a headerless file would silently lose its first identifier
        // to the "header"; refuse when that cell looks like data.
        if !matches!(spec.column, ColumnSel::Name(_))
            && names
                .and_then(|n| n.get(value))
                .is_some_and(|h| redact::looks_like_data(h))
        {
            return Err(UserError::usage(format!(
                "the first row of {file} looks like an identifier, not a header"
            ))
            .with_hint("pass --no-header if the file has no header row")
            .into());
        }
        let kind = match &spec.kind {
            KindSource::Fixed(_) => None,
            KindSource::Column(sel) => Some(resolve(sel, "--id-type-column", names, file)?),
        };
        let lookup = match &spec.lookup {
            Some(sel) => Some(resolve(sel, "--user-id-column", names, file)?),
            None => None,
        };
        let width = match names {
            Some(n) => Some(n.len()),
            None => (spec.column == ColumnSel::Whole).then_some(1),
        };
        Ok(Self {
            value,
            kind,
            lookup,
            width,
        })
    }
}

/// Records end at `\n` only, so a CRLF file leaves a `\r` on the last field.
fn strip_cr(f: &[u8]) -> &[u8] {
    f.strip_suffix(b"\r").unwrap_or(f)
}

fn field<R>(rec: &CsvRecords<R>, idx: Option<usize>) -> Field<'_> {
    let Some(bytes) = idx.and_then(|i| rec.get(i)) else {
        return Field::Missing;
    };
    let bytes = if idx == Some(rec.len() - 1) {
        strip_cr(bytes)
    } else {
        bytes
    };
    match std::str::from_utf8(bytes) {
        Ok(s) => Field::Text(s),
        Err(e) => Field::Bad(
            RejectReason::Malformed(format!(
                "invalid UTF-8 at byte {} of the field",
                e.valid_up_to()
            )),
            Some(String::from_utf8_lossy(bytes).into_owned()),
        ),
    }
}

/// The user-facing error for a read that stopped (exit 2).
pub(crate) fn split_error(file: &str, e: SplitError) -> anyhow::Error {
    match e {
        SplitError::Io(e) => read_error(file, &e),
        SplitError::UnterminatedQuote { row, quote_line } => {
            let rest = if row == quote_line {
                String::new()
            } else {
                format!(" (in the record starting on line {row})")
            };
            UserError::usage(format!(
                "{file}: line {quote_line}: a quoted field opens here{rest} and is never closed; it would swallow every line after it"
            ))
            .with_hint(format!(
                "close the quote or remove the stray `\"` on line {quote_line}; nothing was sent"
            ))
            .into()
        }
        SplitError::Endless { row, quote_line } => {
            let why = match quote_line {
                Some(q) => format!("a quote opened on line {q} is never closed"),
                None => "no line break: binary data or an endless stream?".to_owned(),
            };
            UserError::usage(format!(
                "{file}: the record starting on line {row} goes on past {} MiB ({why}); stopped reading",
                super::split::MAX_SKIP_BYTES >> 20
            ))
            .with_hint("check what the input holds (`head -c 300 FILE | od -c`): records must end with a line break")
            .into()
        }
    }
}

/// The header's names, or the error for a first row that cannot be a header.
fn header_names<R>(recs: &CsvRecords<R>, span: Span, file: &str) -> anyhow::Result<Vec<String>> {
    if span.too_long {
        return Err(UserError::usage(format!(
            "{file}: the first row is longer than {} MiB or has more than {MAX_FIELDS} fields; it cannot be a header",
            MAX_RECORD_BYTES >> 20
        ))
        .with_hint(
            "check that this is a CSV file with line breaks (CR-only line endings: `tr '\\r' '\\n'`)",
        )
        .into());
    }
    let names: Vec<String> = recs
        .fields()
        .map(|f| String::from_utf8_lossy(strip_cr(f)).into_owned())
        .collect();
    // Old Mac line endings: the whole file is one "line" of `\r`-separated rows.
    if names
        .iter()
        .any(|n| n.trim_end_matches('\r').contains('\r'))
    {
        return Err(UserError::usage(format!(
            "{file} has CR-only line endings (old Mac style): its rows are not separated"
        ))
        .with_hint(format!(
            "convert them first: tr '\\r' '\\n' < {file} > fixed.csv"
        ))
        .into());
    }
    Ok(names)
}

/// Read one CSV/TSV input into the cleaner.
pub(crate) fn read(
    spec: &IntakeSpec,
    file: u32,
    name: &str,
    input: Box<dyn BufRead + '_>,
    delimiter: u8,
    cl: &mut Cleaner,
) -> anyhow::Result<()> {
    read_in_blocks(spec, file, name, input, delimiter, cl, BLOCK)
}

/// [`read`], `block` bytes at a time (small blocks in tests).
fn read_in_blocks(
    spec: &IntakeSpec,
    file: u32,
    name: &str,
    mut input: Box<dyn BufRead + '_>,
    delimiter: u8,
    cl: &mut Cleaner,
    block: usize,
) -> anyhow::Result<()> {
    skip_bom(&mut *input).map_err(|e| read_error(name, &e))?;
    let mut recs = CsvRecords::with_block(input, delimiter, block);
    let header = if spec.no_header {
        None
    } else {
        match recs.next_record().map_err(|e| split_error(name, e))? {
            None => return Ok(()), // empty file: nothing to check, nothing to read
            Some(span) => Some(header_names(&recs, span, name)?),
        }
    };
    let layout = Layout::new(spec, header.as_deref(), name)?;
    while let Some(span) = recs.next_record().map_err(|e| split_error(name, e))? {
        let row = span.first;
        if span.too_long {
            let why = format!(
                "the record is longer than {} MiB or has more than {MAX_FIELDS} fields (skipped; lines {}-{})",
                MAX_RECORD_BYTES >> 20,
                span.first,
                span.last
            );
            cl.malformed(file, row, why, None)?;
            continue;
        }
        if let Some(w) = layout.width
            && recs.len() != w
        {
            let n = recs.len();
            let fields = if n == 1 { "field" } else { "fields" };
            let why = if header.is_some() {
                format!("{n} {fields} where the header has {w}")
            } else {
                format!("{n} {fields} in a one-column file (use --column-index to pick one)")
            };
            cl.malformed(file, row, why, None)?;
            continue;
        }
        let mut value = field(&recs, Some(layout.value));
        // A quoted value over several lines is most likely a stray quote that swallowed
        // the rows after it: say which lines, so they can be found and fixed.
        if span.last > span.first
            && let Field::Text(t) = value
            && t.contains('\n')
        {
            value = Field::Bad(
                RejectReason::Invalid(format!(
                    "a quoted value spans lines {}-{} (an unterminated quote?)",
                    span.first, span.last
                )),
                Some(t.to_owned()),
            );
        }
        cl.row(
            file,
            row,
            value,
            field(&recs, layout.kind),
            field(&recs, layout.lookup),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_columns_exactly_then_loosely() {
        let names: Vec<String> = ["id", " Email ", "EMAIL2"].map(String::from).to_vec();
        assert_eq!(find(&names, "id"), Some(0));
        assert_eq!(find(&names, "Email"), Some(1));
        assert_eq!(find(&names, "email"), Some(1));
        assert_eq!(find(&names, "email2"), Some(2));
        assert_eq!(find(&names, "phone"), None);
        let dup: Vec<String> = ["Email", "EMAIL"].map(String::from).to_vec();
        assert_eq!(find(&dup, "email"), None, "ambiguous");
    }

    /// Each row's outcome: the kept value, or the reject's column and reason.
    fn outcomes(text: &[u8], block: usize) -> Vec<(u64, String)> {
        let spec = IntakeSpec::with_defaults(
            Vec::new(),
            ColumnSel::Name("email".into()),
            KindSource::Fixed("email".into()),
        );
        let (tx, rx) = std::sync::mpsc::sync_channel(1024);
        let mut cl = Cleaner::new(&spec, tx);
        read_in_blocks(&spec, 0, "t.csv", Box::new(text), b',', &mut cl, block)
            .expect("the test input reads");
        cl.finish().expect("the receiver is here");
        let mut out = Vec::new();
        for chunk in rx.try_iter() {
            for e in &chunk.events {
                out.push(match e {
                    super::super::clean::Event::Kept(k) => (
                        k.row,
                        super::super::clean::text(&chunk.text, k.value).to_owned(),
                    ),
                    super::super::clean::Event::Rejected(r) => {
                        (r.row, format!("{} {}", r.column, r.reason))
                    }
                });
            }
        }
        out
    }

    #[test]
    fn rows_and_rejects_are_the_same_at_any_block_size() {
        let text = b"\xEF\xBB\xBFemail,source\r\nok1@example.com,a\r\nbad\xff@example.com,b\r\n\
            \"quoted\r\n@x.com\",c\r\n\"q\"\"x@example.com\",d\r\n\r\nno-at,e\r\nlast@example.com,z";
        let want: Vec<(u64, String)> = [
            (2, "ok1@example.com"),
            (3, "email malformed: invalid UTF-8 at byte 3 of the field"),
            (
                4,
                "email invalid: a quoted value spans lines 4-5 (an unterminated quote?)",
            ),
            (6, "q\"x@example.com"),
            (8, "email invalid: email has no @"),
            (9, "last@example.com"),
        ]
        .map(|(row, s)| (row, s.to_owned()))
        .to_vec();
        for block in (1..=48).chain([BLOCK]) {
            assert_eq!(outcomes(text, block), want, "block {block}");
        }
    }

    #[test]
    fn duplicate_names_are_found_with_their_columns() {
        let names: Vec<String> = ["email", "name", " email", "", ""]
            .map(String::from)
            .to_vec();
        assert_eq!(duplicates(&names), vec![("email".to_owned(), vec![0, 2])]);
        let ok: Vec<String> = ["id", "Id", ""].map(String::from).to_vec();
        assert!(duplicates(&ok).is_empty());
    }
}
