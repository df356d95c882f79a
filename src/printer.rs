//! Where every byte the tool prints goes: one `Printer`, built once in `main`, for every
//! command.
//!
//! The policy (README, "Output"): a command's *result* goes to stdout — the text summary,
//! or with `--json` one JSON document; everything *about* the run goes to stderr — progress,
//! warnings, notes, the confirmation prompt, `-v` logs and errors. `--quiet` drops everything
//! but errors, data the user asked for (listings, `--json`, completions) and the lines that
//! say how to resume. Colour only on stderr, and only where `--color`, `NO_COLOR`,
//! `CLICOLOR_FORCE` and the terminal agree.
//!
//! A closed stream is never an error (the reader of `| head` went away): the printer notes
//! it, drops what is written to it afterwards, and the exit code stays the one of the work.
//! Any other write error on stdout (a full disk behind `> file`) is returned; one on stderr
//! is dropped, since a message nobody can read is no reason to fail a run whose work is done.

use std::fmt::Display;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    // Plain comments: doc comments would turn clap's whole `--help` into its long layout.
    // Colour when stderr is a terminal, unless `NO_COLOR` is set (or `CLICOLOR_FORCE` is).
    #[default]
    Auto,
    // Colour even into a pipe or a file.
    Always,
    Never,
}

/// In debug builds only (the tests' builds), this variable names the streams to treat as
/// terminals — any of `stdin`, `stdout`, `stderr`, comma-separated — so the progress bar,
/// the prompt and colour can be tested through pipes. Release builds ignore it.
pub const TEST_TERMINAL_VAR: &str = "CDP_PURGE_TEST_TERMINAL";

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar redrawn in place (stderr is a terminal).
    Bar,
    /// A plain line every few seconds (a log file, CI).
    Lines,
    /// `--quiet`.
    Off,
}

/// What `main` knows before a command runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub quiet: bool,
    pub verbose: u8,
    pub color: ColorChoice,
}

/// Which standard streams are terminals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Terminals {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    /// Set by [`TEST_TERMINAL_VAR`]: a bar is drawn as plain escapes on the pipe.
    simulated: bool,
}

impl Terminals {
    fn detect() -> Self {
        let mut t = Self {
            stdin: io::stdin().is_terminal(),
            stdout: io::stdout().is_terminal(),
            stderr: io::stderr().is_terminal(),
            simulated: false,
        };
        if cfg!(debug_assertions)
            && let Some(v) = std::env::var_os(TEST_TERMINAL_VAR)
        {
            for name in v.to_string_lossy().split(',') {
                match name.trim() {
                    "stdin" => t.stdin = true,
                    "stdout" => t.stdout = true,
                    "stderr" => t.stderr = true,
                    _ => {}
                }
            }
            t.simulated = true;
        }
        t
    }
}

/// Whether to colour a stream, from the flag, the environment and whether it is a terminal.
/// `NO_COLOR` (https://no-color.org) beats `CLICOLOR_FORCE` (https://bixense.com/clicolors),
/// which beats `CLICOLOR=0` and the terminal test; the flag, when not `auto`, beats them all.
fn use_color(choice: ColorChoice, terminal: bool, env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto
            if set("CLICOLOR_FORCE") && env("CLICOLOR_FORCE").as_deref() != Some("0") =>
        {
            true
        }
        ColorChoice::Auto if env("CLICOLOR").as_deref() == Some("0") => false,
        ColorChoice::Auto => terminal && env("TERM").as_deref() != Some("dumb"),
    }
}

/// The one printer. Cheap to clone; clones share the closed-stream state and the bar.
#[derive(Debug, Clone)]
pub struct Printer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    quiet: bool,
    verbose: u8,
    color: bool,
    tty: Terminals,
    out_closed: AtomicBool,
    err_closed: AtomicBool,
    /// The bar on screen, if any: lines written meanwhile go above it.
    bar: Mutex<Option<ProgressBar>>,
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();
const DIM: Style = Style::new().dimmed();

impl Printer {
    /// Detect the terminals and the colour choice once.
    pub fn new(o: Options) -> Self {
        let tty = Terminals::detect();
        let color = use_color(o.color, tty.stderr, |k| std::env::var(k).ok());
        Self::with(o, tty, color)
    }

    fn with(o: Options, tty: Terminals, color: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                quiet: o.quiet,
                verbose: o.verbose,
                color,
                tty,
                out_closed: AtomicBool::new(false),
                err_closed: AtomicBool::new(false),
                bar: Mutex::new(None),
            }),
        }
    }

    /// A printer for unit tests: quiet, no terminal, no colour.
    #[cfg(test)]
    fn for_tests() -> Self {
        Self::with(
            Options {
                quiet: true,
                ..Options::default()
            },
            Terminals::default(),
            false,
        )
    }

    pub fn quiet(&self) -> bool {
        self.inner.quiet
    }

    pub fn verbose(&self) -> u8 {
        self.inner.verbose
    }

    /// Whether stdin is a terminal a person can answer on.
    pub fn stdin_is_terminal(&self) -> bool {
        self.inner.tty.stdin
    }

    // ---- stdout: results -------------------------------------------------------------

    /// Data the user asked for (a listing, `--json`, a completion script): printed even
    /// with `--quiet`.
    pub fn data(&self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.write_out(bytes.as_ref())
    }

    /// One JSON document on one line, then a newline.
    pub fn json_line<T: serde::Serialize + ?Sized>(&self, v: &T) -> anyhow::Result<()> {
        let mut s = serde_json::to_string(v)?;
        s.push('\n');
        Ok(self.data(&s)?)
    }

    /// One JSON document, indented for a person reading it.
    pub fn json_pretty<T: serde::Serialize + ?Sized>(&self, v: &T) -> anyhow::Result<()> {
        let mut s = serde_json::to_string_pretty(v)?;
        s.push('\n');
        Ok(self.data(&s)?)
    }

    /// A command's text result (a plan, a summary): not with `--quiet`.
    pub fn summary(&self, text: &str) -> io::Result<()> {
        if self.inner.quiet {
            return Ok(());
        }
        self.write_out(text.as_bytes())
    }

    /// A writer for results too long to build in memory (report rows). Writes after the
    /// reader went away are dropped; [`Printer::stdout_closed`] tells a loop to stop early.
    pub fn stdout_writer(&self) -> StdoutWriter {
        StdoutWriter {
            printer: self.clone(),
        }
    }

    /// Whether the reader of stdout went away.
    pub fn stdout_closed(&self) -> bool {
        self.inner.out_closed.load(Ordering::Relaxed)
    }

    fn write_out(&self, bytes: &[u8]) -> io::Result<()> {
        if self.stdout_closed() {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        match out.write_all(bytes).and_then(|()| out.flush()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.inner.out_closed.store(true, Ordering::Relaxed);
                Ok(())
            }
            r => r,
        }
    }

    // ---- stderr: about the run -------------------------------------------------------

    /// A line about the run (start-up, input counts, progress lines): not with `--quiet`.
    pub fn info(&self, line: impl Display) {
        if !self.inner.quiet {
            self.line(&line.to_string());
        }
    }

    /// `cdp-purge: warning: …`: not with `--quiet`.
    pub fn warn(&self, msg: impl Display) {
        if !self.inner.quiet {
            let p = self.paint(WARNING, "warning:");
            self.line(&format!("cdp-purge: {p} {msg}"));
        }
    }

    /// `note: …`: not with `--quiet`.
    pub fn note(&self, msg: impl Display) {
        if !self.inner.quiet {
            let p = self.paint(HINT, "note:");
            self.line(&format!("{p} {msg}"));
        }
    }

    /// A line that must be seen even with `--quiet` (how to resume, that a stop was asked).
    pub fn important(&self, line: impl Display) {
        self.line(&line.to_string());
    }

    /// An error with its causes and a hint, always: `cdp-purge: error: …`, as xh prints it.
    pub fn error(&self, message: impl Display, causes: &[String], hint: Option<&str>) {
        let mut s = format!("cdp-purge: {} {message}", self.paint(ERROR, "error:"));
        for c in causes {
            s.push_str(&format!("\n  caused by: {c}"));
        }
        if let Some(h) = hint {
            s.push_str(&format!("\n  {} {h}", self.paint(HINT, "hint:")));
        }
        self.line(&s);
    }

    /// Ask a question on stderr and read one line from stdin (even with `--quiet`: the
    /// user is about to be asked for something).
    pub fn ask(&self, question: &str) -> io::Result<String> {
        self.write_err(question.as_bytes());
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line)?;
        Ok(line)
    }

    /// `text` in `style` when colour is on.
    fn paint(&self, style: Style, text: &str) -> String {
        if self.inner.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    fn line(&self, s: &str) {
        let mut b = Vec::with_capacity(s.len() + 1);
        b.extend_from_slice(s.as_bytes());
        b.push(b'\n');
        self.write_err(&b);
    }

    /// Everything on stderr comes through here, above the bar if one is drawn.
    fn write_err(&self, bytes: &[u8]) {
        let bar = self.inner.bar.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(|| self.write_err_raw(bytes)),
            None => self.write_err_raw(bytes),
        }
    }

    fn write_err_raw(&self, bytes: &[u8]) {
        if self.inner.err_closed.load(Ordering::Relaxed) {
            return;
        }
        let mut err = io::stderr().lock();
        if let Err(e) = err.write_all(bytes).and_then(|()| err.flush())
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            self.inner.err_closed.store(true, Ordering::Relaxed);
        }
    }

    // ---- progress ----------------------------------------------------------------------

    /// A bar on a terminal, plain lines otherwise, nothing with `--quiet`.
    pub fn progress_mode(&self) -> ProgressMode {
        if self.inner.quiet {
            ProgressMode::Off
        } else if self.inner.tty.stderr {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }

    /// A progress bar on stderr in the tool's style (`template` is indicatif's). Lines the
    /// printer writes while it is shown go above it; [`Printer::end_bar`] clears it.
    pub fn bar(&self, len: u64, template: &str) -> ProgressBar {
        let target = if self.inner.tty.simulated {
            ProgressDrawTarget::term_like_with_hz(
                Box::new(PlainTerm {
                    printer: self.clone(),
                }),
                20,
            )
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        if let Ok(mut b) = self.inner.bar.lock() {
            *b = Some(bar.clone());
        }
        bar
    }

    /// Clear the bar and forget it.
    pub fn end_bar(&self, bar: &ProgressBar) {
        if let Ok(mut b) = self.inner.bar.lock() {
            *b = None;
        }
        bar.finish_and_clear();
    }

    // ---- logs --------------------------------------------------------------------------

    /// `-v`: info (retries, pauses, what `status` asks, what the sandbox answers); `-vv`:
    /// debug. Only this crate's events: a dependency's may print a URL path, and a path can
    /// hold an identifier. `--quiet`: errors only.
    pub fn init_logging(&self) {
        let level = match (self.inner.quiet, self.inner.verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "info",
            _ => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::new(format!("warn,cdp_purge={level}"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            // Its writes never fail (a closed stderr is the printer's business), so
            // tracing's fallback on a failed write, std's panicking `eprintln!`, never runs.
            .with_writer(self.clone())
            .event_format(LogFormat {
                printer: self.clone(),
            })
            .try_init();
    }
}

/// stdout for long results; see [`Printer::stdout_writer`].
pub struct StdoutWriter {
    printer: Printer,
}

impl Write for StdoutWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.printer.write_out(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Log events as the tool's own lines: `cdp-purge: warning: …` for warnings, `info: …` and
/// `debug: …` for `-v` and `-vv`.
struct LogFormat {
    printer: Printer,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LogFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use tracing::Level;
        let p = &self.printer;
        match *event.metadata().level() {
            Level::ERROR => write!(w, "cdp-purge: {} ", p.paint(ERROR, "error:"))?,
            Level::WARN => write!(w, "cdp-purge: {} ", p.paint(WARNING, "warning:"))?,
            Level::INFO => write!(w, "{} ", p.paint(DIM, "info:"))?,
            _ => write!(w, "{} ", p.paint(DIM, "debug:"))?,
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Printer {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter {
            printer: self.clone(),
        }
    }
}

/// One log event's bytes, handed to the printer's stderr.
pub struct LogWriter {
    printer: Printer,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.printer.write_err(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A bar's draw target when the terminal is simulated for tests: the same escapes a
/// terminal would get, through the printer, 80 columns wide.
#[derive(Debug)]
struct PlainTerm {
    printer: Printer,
}

impl PlainTerm {
    fn put(&self, s: &str) -> io::Result<()> {
        self.printer.write_err_raw(s.as_bytes());
        Ok(())
    }
}

impl indicatif::TermLike for PlainTerm {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.put(&format!("\x1b[{n}A"))
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.put(&format!("\x1b[{n}B"))
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.put(&format!("\x1b[{n}C"))
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.put(&format!("\x1b[{n}D"))
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.put(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.put(s)
    }
    fn clear_line(&self) -> io::Result<()> {
        self.put("\r\x1b[2K")
    }
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn colour_follows_the_flag_then_no_color_then_clicolor_force_then_the_terminal() {
        use ColorChoice::*;
        assert!(use_color(Always, false, env(&[("NO_COLOR", "1")])));
        assert!(!use_color(Never, true, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(use_color(Auto, true, env(&[])));
        assert!(!use_color(Auto, false, env(&[])));
        assert!(!use_color(Auto, true, env(&[("NO_COLOR", "1")])));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(use_color(Auto, true, env(&[("NO_COLOR", "")])));
        assert!(!use_color(
            Auto,
            true,
            env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])
        ));
        assert!(use_color(Auto, false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!use_color(Auto, false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!use_color(Auto, true, env(&[("CLICOLOR", "0")])));
        assert!(!use_color(Auto, true, env(&[("TERM", "dumb")])));
    }

    #[test]
    fn quiet_keeps_data_and_drops_the_rest() {
        let p = Printer::for_tests();
        assert!(p.quiet());
        assert_eq!(p.progress_mode(), ProgressMode::Off);
        let loud = Printer::with(Options::default(), Terminals::default(), false);
        assert_eq!(loud.progress_mode(), ProgressMode::Lines);
        let tty = Terminals {
            stderr: true,
            ..Terminals::default()
        };
        let on_tty = Printer::with(Options::default(), tty, true);
        assert_eq!(on_tty.progress_mode(), ProgressMode::Bar);
        assert_eq!(
            on_tty.paint(ERROR, "error:"),
            "\x1b[1m\x1b[31merror:\x1b[0m"
        );
        assert_eq!(loud.paint(ERROR, "error:"), "error:");
    }
}
