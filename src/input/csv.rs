//! CSV/TSV reader: one reused `ByteRecord`, fields decoded lazily, per-row rejects.

use std::io::BufRead;

use csv::{ByteRecord, ReaderBuilder, Terminator};

use super::clean::{Cleaner, Field};
use super::source::{BUF, read_error, skip_bom};
use super::{ColumnSel, IntakeSpec, KindSource, RejectReason};
use crate::exit::UserError;

/// Which field of a record holds what.
struct Layout {
    value: usize,
    kind: Option<usize>,
    lookup: Option<usize>,
    /// Records must have exactly this many fields (the header's count, or 1 for a headerless
    /// one-column file); `None` when a headerless file has no fixed shape.
    width: Option<usize>,
}

/// Header names are shown in errors; a cell that looks like an identifier (the file probably
/// has no header) is redacted instead.
fn looks_like_data(s: &str) -> bool {
    s.contains('@') || (s.len() >= 6 && s.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
}

fn listing(names: &[String]) -> (String, bool) {
    let mut redacted = false;
    let shown: Vec<String> = names
        .iter()
        .map(|n| {
            if looks_like_data(n) {
                redacted = true;
                "<redacted: looks like data>".to_owned()
            } else {
                format!("{n:?}")
            }
        })
        .collect();
    (shown.join(", "), redacted)
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

impl Layout {
    fn new(spec: &IntakeSpec, header: Option<&ByteRecord>, file: &str) -> anyhow::Result<Self> {
        let names: Option<Vec<String>> = header.map(|h| {
            h.iter()
                .map(|f| String::from_utf8_lossy(strip_cr(f)).into_owned())
                .collect()
        });
        let names = names.as_deref();
        let value = resolve(&spec.column, "--column", names, file)?;
        // Selecting by position, a headerless file would silently lose its first identifier
        // to the "header"; refuse when that cell looks like data.
        if !matches!(spec.column, ColumnSel::Name(_))
            && names
                .and_then(|n| n.get(value))
                .is_some_and(|h| looks_like_data(h))
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

/// Records end at `\n` only (see [`read`]), so a CRLF file leaves a `\r` on the last field.
fn strip_cr(f: &[u8]) -> &[u8] {
    f.strip_suffix(b"\r").unwrap_or(f)
}

fn field(rec: &ByteRecord, idx: Option<usize>) -> Field<'_> {
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

fn csv_error(file: &str, e: csv::Error) -> anyhow::Error {
    match e.kind() {
        csv::ErrorKind::Io(io) => read_error(file, io),
        _ => UserError::usage(format!("cannot parse {file} as CSV: {e}")).into(),
    }
}

/// Read one CSV/TSV input into the cleaner.
pub(crate) fn read(
    spec: &IntakeSpec,
    file: u32,
    name: &str,
    mut input: Box<dyn BufRead + '_>,
    delimiter: u8,
    cl: &mut Cleaner,
) -> anyhow::Result<()> {
    // The csv crate keeps a leading BOM when it does not handle the header itself.
    skip_bom(&mut *input).map_err(|e| read_error(name, &e))?;
    // `\n` as the only record terminator: with the default CRLF handling, csv-core counts the
    // `\n` of a `\r\n` only when it starts reading the next record, so every record's line
    // number in a CRLF file would be one too low.
    let mut rdr = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(Terminator::Any(b'\n'))
        .buffer_capacity(BUF)
        .from_reader(input);
    let mut rec = ByteRecord::new();
    let header = if spec.no_header {
        None
    } else {
        if !rdr
            .read_byte_record(&mut rec)
            .map_err(|e| csv_error(name, e))?
        {
            return Ok(()); // empty file: nothing to check, nothing to read
        }
        Some(rec.clone())
    };
    let layout = Layout::new(spec, header.as_ref(), name)?;
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_error(name, e))?
    {
        if rec.len() == 1 && &rec[0] == b"\r" {
            continue; // a blank line of a CRLF file
        }
        let row = rec.position().map_or(0, |p| p.line());
        if let Some(w) = layout.width
            && rec.len() != w
        {
            let n = rec.len();
            let fields = if n == 1 { "field" } else { "fields" };
            let why = if header.is_some() {
                format!("{n} {fields} where the header has {w}")
            } else {
                format!("{n} {fields} in a one-column file (use --column-index to pick one)")
            };
            cl.malformed(file, row, why, None)?;
            continue;
        }
        cl.row(
            file,
            row,
            field(&rec, Some(layout.value)),
            field(&rec, layout.kind),
            field(&rec, layout.lookup),
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

    #[test]
    fn listing_redacts_data_lookalikes() {
        let names: Vec<String> = ["a@b.co", "1234567", "name"].map(String::from).to_vec();
        let (list, redacted) = listing(&names);
        assert!(redacted);
        assert!(!list.contains("a@b.co") && !list.contains("1234567"));
        assert!(list.contains("\"name\""));
    }
}
