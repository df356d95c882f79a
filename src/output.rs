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
        .with_max_level(level)
        .with_target(false)
        .try_init();
}
