//! Writing to stdout and stderr without panicking on a closed pipe.
//!
//! `println!` and `eprintln!` panic when the reader went away (`cdp-purge vendors --json |
//! head -1`, `cdp-purge delete ... 2>&1 | head -1`). Output to stdout goes through the
//! functions here, which return the error; [`crate::exit::report`] treats a broken pipe as
//! a quiet exit, as ripgrep does, and commands whose exit code reports work done (`plan`,
//! `delete`) ignore it with [`ignore_closed`] so the code stays that of the work.
//! Messages to stderr go through the `eprintln!`/`eprint!` below.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

/// `eprintln!` that never panics. std's panics when stderr is closed, and a message nobody
/// can read is no reason to fail (exit 101) a run whose work was done. `lib.rs` declares this
/// module first, so these shadow std's macros in the whole crate: code added later cannot
/// call the panicking ones by accident.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that never panics; see `eprintln!`.
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stderr(), $($arg)*);
    }};
}

/// Write `s` to stdout and flush.
pub fn stdout(s: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()
}

/// Write `s` and a newline to stdout and flush.
pub fn stdout_line(s: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// A write's result with a closed pipe counted as success: the reader has gone, and the
/// exit code must still say what the run did.
pub fn ignore_closed(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Whether an error chain ends in a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `-v`: retries, pauses, slow-downs and what `status` asks; `-vv`: debug, each request.
/// On stderr, never identifiers. For every command that talks to a vendor.
pub fn init_logging(quiet: bool, verbose: u8) {
    use std::io::IsTerminal;
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    // Colour only on a terminal, and never with NO_COLOR (https://no-color.org).
    let ansi = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_ansi(ansi)
        .with_writer(io::stderr)
        // Its fallback on a failed write is std's `eprintln!`, which panics on a closed stderr.
        .log_internal_errors(false)
        .with_max_level(level)
        .with_target(false)
        .try_init();
}

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
