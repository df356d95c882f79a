//! What an error may show of an input: column names, never data.
//!
//! A "header" is whatever the first row holds, and in a headerless file that is a customer's
//! identifier, name and phone number. So a row that looks like data is not shown at all, and
//! what is shown is cut short (a 50 MB first line must not end up on a terminal or in a CI log).

/// Names shown in one message, at most.
const MAX_NAMES: usize = 20;
/// Characters shown of one name, at most.
const MAX_NAME_CHARS: usize = 40;

/// Whether a cell looks like an identifier or other personal data rather than a column name:
/// an email address, a phone or account number (five digits or more), a UUID-like token.
pub(crate) fn looks_like_data(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let hexish = s.len() >= 16
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    s.contains('@') || digits >= 5 || (hexish && digits > 0)
}

/// Whether any cell of a row looks like data: then the whole row is treated as data.
pub(crate) fn row_looks_like_data(names: &[String]) -> bool {
    names.iter().any(|n| looks_like_data(n))
}

/// One name for a message: quoted, escaped, cut to [`MAX_NAME_CHARS`].
pub(crate) fn name(n: &str) -> String {
    let mut chars = n.chars();
    let head: String = chars.by_ref().take(MAX_NAME_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}… ({} bytes)", n.len())
    } else {
        format!("{head:?}")
    }
}

/// The names of a first row for an error message, and whether they were withheld because
/// the row looks like data.
pub(crate) fn listing(names: &[String]) -> (String, bool) {
    if row_looks_like_data(names) {
        let s = if names.len() == 1 { "" } else { "s" };
        return (
            format!(
                "not shown: the first row ({} cell{s}) looks like data, not a header",
                names.len()
            ),
            true,
        );
    }
    let mut shown: Vec<String> = names.iter().take(MAX_NAMES).map(|n| name(n)).collect();
    if names.len() > MAX_NAMES {
        shown.push(format!("and {} more", names.len() - MAX_NAMES));
    }
    (shown.join(", "), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_data_row_is_withheld_whole() {
        // A headerless file: customer id, name, phone. The name alone would pass as a header.
        let row = v(&["C-10042", "Jane Doe", "+1 555 0100"]);
        let (list, redacted) = listing(&row);
        assert!(redacted);
        for cell in &row {
            assert!(!list.contains(cell.as_str()), "{list}");
        }
        assert!(list.contains("3 cells"), "{list}");
        for data in ["a@b.co", "1234567", "0612345678", "9f86d081-884c-7d65-9a2f"] {
            assert!(looks_like_data(data), "{data}");
        }
    }

    #[test]
    fn headers_are_shown_and_cut_short() {
        let (list, redacted) = listing(&v(&["id", "Email Address", "address2"]));
        assert!(!redacted);
        assert_eq!(list, r#""id", "Email Address", "address2""#);
        let long = "x".repeat(5000);
        let (list, _) = listing(&[long]);
        assert!(list.len() < 80, "{list}");
        assert!(list.contains("5000 bytes"), "{list}");
        let many: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let (list, _) = listing(&many);
        assert!(list.ends_with("and 80 more"), "{list}");
        // Control characters are escaped, not printed raw.
        assert_eq!(name("a\u{1b}[2Jb"), r#""a\u{1b}[2Jb""#);
    }
}
