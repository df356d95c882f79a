//! Files the tool writes for people: CSV cells safe in a spreadsheet, private files for
//! personal data. (What goes to stdout and stderr is `printer.rs`'s business.)

use std::borrow::Cow;
use std::io;
use std::path::Path;

/// A text cell for a CSV file that a person may open in a spreadsheet. A cell starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return (or the full-width `＝＋－＠`) would be run as a
/// formula (`=HYPERLINK(...)` from a hostile input row or vendor answer), so it gets a leading
/// `'`, as OWASP's CSV-injection guidance says. A lone `-` (stdin's name) stays as it is.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let risky = s.chars().next().is_some_and(|c| {
        matches!(
            c,
            '=' | '+' | '-' | '@' | '\t' | '\r' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}'
        )
    });
    if risky && s.chars().nth(1).is_some() {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Create (or truncate) a file only its owner can read and write: for files that may hold
/// personal data. An existing file's mode is tightened too, since `create` keeps it.
pub fn create_private(path: &Path) -> io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(path)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(f)
    }
    #[cfg(not(unix))]
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn formula_cells_are_defused() {
        for risky in [
            "=1+1",
            "+1-2",
            "-3+4",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "\u{FF1D}1+1",
        ] {
            assert_eq!(csv_cell(risky), format!("'{risky}"), "{risky:?}");
        }
        for safe in ["a@b.co", "A1", "", "-", "1-2", "'=already"] {
            assert_eq!(csv_cell(safe), safe, "{safe:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_even_when_they_existed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut f = create_private(&p).unwrap();
        f.write_all(b"new").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
    }
}
