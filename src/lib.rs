//! cdp-purge: bulk profile deletion for customer-data platforms.
//!
//! The binary's `main` parses the CLI and calls [`run`]; everything else lives in modules.

// Every byte for stdout and stderr goes through `printer.rs` (one policy for quiet, colour
// and closed pipes; std's print macros panic on a closed pipe): CI's clippy refuses others.
#![deny(clippy::print_stdout, clippy::print_stderr)]

// The core crate's modules, under the names the rest of the binary (and the tests) use.
pub use cdp_purge_core::{audit, batch, engine, error, input, ledger, protocol, status};
// The adapters crate, under the name the binary and the tests have always used.
pub use cdp_purge_adapters as vendor;

pub mod cli;
pub mod commands;
pub mod config;
pub mod deprecated;
pub mod exit;
pub mod output;
pub mod printer;
pub mod progress;
pub mod sandbox;
pub mod settings;

use cli::{Cli, Command};
use exit::Code;
use printer::Printer;
use tokio::runtime::Runtime;

/// Run one command with the printer and the runtime `main` built; the error boundary in
/// `main` turns an `Err` into a message and a code.
pub fn run(cli: Cli, printer: &Printer, rt: &Runtime) -> anyhow::Result<Code> {
    let g = &cli.global;
    let p = printer;
    for n in deprecated::flag_notes(&cli) {
        p.warn(n);
    }
    match cli.command {
        Command::Plan(args) => commands::plan::run(&args, g, p),
        Command::Delete(args) => commands::delete::run(&args, g, p, rt),
        Command::Status(args) => commands::status::run(&args, g, p, rt),
        Command::Report(args) => commands::report::run(&args, g, p),
        Command::Vendors(args) => commands::vendors::run(&args, p),
        Command::Check(args) => commands::check::run(&args, g, p, rt),
        Command::Targets(args) => commands::targets::run(&args, g, p),
        Command::Sandbox(args) => commands::sandbox::run(&args, p, rt),
        Command::Completions(args) => commands::completions::run(&args, p),
        Command::Man => commands::completions::man(p),
    }
}
