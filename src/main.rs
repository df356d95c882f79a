#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use cdp_purge::cli::{Cli, ColorChoice};
use cdp_purge::exit;
use cdp_purge::printer::{Options, Printer};
use clap::CommandFactory;

// Intake allocates one small string per identifier on a reader thread and frees it on the
// batching thread; glibc's arenas make those cross-thread frees slow (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Parse → one printer → one runtime → run → one exit code.
fn main() -> ExitCode {
    // clap prints help and its own errors before `--color` is parsed: tell it first.
    let clap_color = match color_flag(std::env::args_os()) {
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
        ColorChoice::Auto => clap::ColorChoice::Auto,
    };
    let matches = Cli::command().color(clap_color).get_matches();
    let cli = match Cli::from_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let printer = Printer::new(Options {
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
        color: cli.global.color,
    });
    printer.init_logging();
    let code = match runtime() {
        Ok(rt) => match cdp_purge::run(cli, &printer, &rt) {
            Ok(code) => code,
            Err(err) => exit::report(&printer, &err),
        },
        Err(err) => exit::report(&printer, &err),
    };
    code.into()
}

/// The one async runtime, on the main thread. A run sends at most a few hundred requests a
/// second (the vendors' quotas), far below what one thread serves, and a multi-threaded
/// scheduler spends its CPU waking idle workers to steal work that is not there (issue 14's
/// CPU benchmark in BENCHMARKS.md). Intake and the ledger have threads of their own.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `--color WHEN` / `--color=WHEN` before clap has parsed anything (up to a `--`).
fn color_flag(args: impl Iterator<Item = std::ffi::OsString>) -> ColorChoice {
    let mut choice = ColorChoice::Auto;
    let mut args = args.skip(1);
    while let Some(a) = args.next() {
        let a = a.to_string_lossy().into_owned();
        let value = match a.as_str() {
            "--" => break,
            "--color" => args.next().map(|v| v.to_string_lossy().into_owned()),
            _ => a.strip_prefix("--color=").map(str::to_owned),
        };
        match value.as_deref() {
            Some("always") => choice = ColorChoice::Always,
            Some("never") => choice = ColorChoice::Never,
            Some(_) => choice = ColorChoice::Auto,
            None => {}
        }
    }
    choice
}
