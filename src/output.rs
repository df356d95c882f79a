//! Writing to stdout without panicking on a closed pipe.
//!
//! `println!` panics when the reader went away (`cdp-purge vendors --json | head -1`).
//! These return the error instead; [`crate::exit::report`] treats a broken pipe as a quiet,
//! successful exit, as ripgrep does.

use std::io::{self, Write};

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

/// Whether an error chain ends in a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
