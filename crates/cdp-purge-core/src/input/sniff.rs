//! Recognising, before a row is read, an input that is not UTF-8 text.

use std::io::{self, BufRead, Read};

use super::source::read_error;
use crate::error::UserError;

/// Bytes looked at to recognise what an input is before reading it as text.
const SNIFF: usize = 4096;

/// Refuse, before reading a row, what is not UTF-8 text: UTF-16 and UTF-32 (by byte-order
/// mark, or by the NUL bytes that ASCII text has in them), NUL-filled data (`/dev/zero`),
/// and archives. Otherwise every row of a UTF-16 file is a confusing reject ("no column
/// \"email\"; its columns are \"\u{fffd}\0e\0m…\"") or, in NDJSON, a run that "succeeds"
/// with every line rejected. The first fill of the returned reader holds the sniffed bytes.
pub(crate) fn sniff<'h>(
    name: &str,
    gz: bool,
    mut r: Box<dyn BufRead + 'h>,
) -> anyhow::Result<Box<dyn BufRead + 'h>> {
    let mut head = Vec::with_capacity(SNIFF);
    (&mut r)
        .take(SNIFF as u64)
        .read_to_end(&mut head)
        .map_err(|e| read_error(name, &e))?;
    if let Some(what) = not_text(&head) {
        return Err(not_text_error(name, gz, what));
    }
    Ok(Box::new(io::Cursor::new(head).chain(r)))
}

/// What a head of bytes is, when it is not UTF-8 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotText {
    /// An encoding iconv knows by this name; `bom` when recognised by its byte-order mark.
    Encoding { iconv: &'static str, bom: bool },
    /// Mostly NUL bytes with no text pattern.
    Nul,
    /// A container format.
    Archive(&'static str),
}

pub(crate) fn not_text(head: &[u8]) -> Option<NotText> {
    let enc = |iconv, bom| Some(NotText::Encoding { iconv, bom });
    // UTF-32LE's BOM starts like UTF-16LE's, so it is checked first.
    if head.starts_with(b"\xFF\xFE\0\0") {
        return enc("UTF-32", true);
    }
    if head.starts_with(b"\0\0\xFE\xFF") {
        return enc("UTF-32", true);
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return enc("UTF-16", true);
    }
    for (magic, what) in [
        (
            &b"PK\x03\x04"[..],
            "a ZIP archive (an Excel .xlsx workbook?)",
        ),
        (
            b"\xD0\xCF\x11\xE0",
            "an Office document (an Excel .xls workbook?)",
        ),
        (b"BZh", "bzip2-compressed"),
        (b"\xFD7zXZ\0", "xz-compressed"),
        (b"\x28\xB5\x2F\xFD", "zstd-compressed"),
    ] {
        if head.starts_with(magic) {
            return Some(NotText::Archive(what));
        }
    }
    // Without a BOM: ASCII text in UTF-16/32 has NUL bytes at fixed places. The share of
    // NUL bytes at each position modulo 4.
    let n = head.len() / 4 * 4;
    if n < 4 {
        return None;
    }
    let mut zeros = [0usize; 4];
    for (i, &b) in head[..n].iter().enumerate() {
        zeros[i % 4] += usize::from(b == 0);
    }
    let share = zeros.map(|z| z as f64 / (n / 4) as f64);
    let (hi, lo) = (|k: usize| share[k] >= 0.5, |k: usize| share[k] <= 0.1);
    if share.iter().all(|&z| z >= 0.9) {
        return Some(NotText::Nul);
    }
    if lo(0) && hi(1) && share[2] >= 0.9 && share[3] >= 0.9 {
        return enc("UTF-32LE", false);
    }
    if share[0] >= 0.9 && share[1] >= 0.9 && hi(2) && lo(3) {
        return enc("UTF-32BE", false);
    }
    if lo(0) && hi(1) && lo(2) && hi(3) {
        return enc("UTF-16LE", false);
    }
    if hi(0) && lo(1) && hi(2) && lo(3) {
        return enc("UTF-16BE", false);
    }
    if share.iter().sum::<f64>() / 4.0 >= 0.5 {
        return Some(NotText::Nul);
    }
    None
}

/// Where the converted copy of `name` goes: `ids.csv.gz` → `ids.utf8.csv`, keeping the
/// extension that tells the format.
fn utf8_name(name: &str) -> String {
    let plain = name.strip_suffix(".gz").unwrap_or(name);
    match plain.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') => format!("{stem}.utf8.{ext}"),
        _ => format!("{plain}.utf8"),
    }
}

fn not_text_error(name: &str, gz: bool, what: NotText) -> anyhow::Error {
    let (msg, hint) = match what {
        NotText::Encoding { iconv, bom } => {
            let how = if bom {
                "byte-order mark"
            } else {
                "NUL-byte pattern"
            };
            let convert = format!("iconv -f {iconv} -t UTF-8");
            let command = match (name, gz) {
                ("-", _) => format!("... | {convert} | cdp-purge ... -i -"),
                (_, true) => format!("gunzip -c {name} | {convert} > {}", utf8_name(name)),
                (_, false) => format!("{convert} {name} > {}", utf8_name(name)),
            };
            (
                format!("{name} is {iconv} text (by its {how}); cdp-purge reads UTF-8"),
                format!("convert it first: {command}"),
            )
        }
        NotText::Nul => (
            format!("{name} starts with NUL bytes: binary data, not a text list of identifiers"),
            "check the path; a list must be UTF-8 CSV, TSV, JSON or NDJSON".to_owned(),
        ),
        NotText::Archive(kind) => (
            format!("{name} is {kind}, not text"),
            "export or decompress it to UTF-8 CSV first (only gzip is read directly)".to_owned(),
        ),
    };
    UserError::usage(msg).with_hint(hint).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_utf32_nul_data_and_archives_are_recognised() {
        fn encode(text: &str, f: fn(u16) -> [u8; 2]) -> Vec<u8> {
            text.encode_utf16().flat_map(f).collect()
        }
        let text = "email\na@b.co\nJos\u{e9}@b.co\n";
        let enc = |iconv, bom| Some(NotText::Encoding { iconv, bom });
        let mut le = b"\xFF\xFE".to_vec();
        le.extend(encode(text, u16::to_le_bytes));
        assert_eq!(not_text(&le), enc("UTF-16", true));
        assert_eq!(not_text(&le[2..]), enc("UTF-16LE", false));
        assert_eq!(
            not_text(&encode(text, u16::to_be_bytes)),
            enc("UTF-16BE", false)
        );
        let utf32: Vec<u8> = text
            .chars()
            .flat_map(|c| u32::from(c).to_le_bytes())
            .collect();
        assert_eq!(not_text(&utf32), enc("UTF-32LE", false));
        let utf32be: Vec<u8> = text
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        assert_eq!(not_text(&utf32be), enc("UTF-32BE", false));
        assert_eq!(not_text(&[0u8; 4096]), Some(NotText::Nul));
        assert!(matches!(
            not_text(b"PK\x03\x04rest"),
            Some(NotText::Archive(_))
        ));
        // UTF-8 text, a stray NUL and Latin-1 bytes stay text (per-row rejects).
        for ok in [
            &b"id\nA1\nA\x002\nA3\n"[..],
            b"id\nJos\xe9\n",
            b"a",
            b"",
            text.as_bytes(),
        ] {
            assert_eq!(not_text(ok), None, "{ok:?}");
        }
    }

    #[test]
    fn converted_copies_keep_the_extension() {
        assert_eq!(utf8_name("ids.csv"), "ids.utf8.csv");
        assert_eq!(utf8_name("dir.d/ids.ndjson.gz"), "dir.d/ids.utf8.ndjson");
        assert_eq!(utf8_name("dir.d/ids"), "dir.d/ids.utf8");
    }
}
