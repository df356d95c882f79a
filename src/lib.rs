//! cdp-purge: bulk profile deletion for customer-data platforms.
//!
//! The binary's `main` parses the CLI and calls [`run`]; everything else lives in modules.

// First: its `eprintln!`/`eprint!` (which never panic) shadow std's in every module below.
// In a group of its own, so that rustfmt's module sorting keeps it first.
#[macro_use]
pub mod output;

pub mod audit;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deprecated;
pub mod engine;
pub mod exit;
pub mod input;
pub mod ledger;
pub mod report;
pub mod sandbox;
pub mod settings;
pub mod status;
pub mod vendor;

use cli::{Cli, Command};
use exit::Code;

/// Run one command; the error boundary in `main` turns an `Err` into a message and a code.
pub fn run(cli: Cli) -> anyhow::Result<Code> {
    if cli.global.quiet {
        deprecated::silence();
    }
    for n in deprecated::flag_notes(&cli) {
        deprecated::note(&n);
    }
    match cli.command {
        Command::Plan(args) => commands::plan::run(&args, &cli.global),
        Command::Delete(args) => commands::delete::run(&args, &cli.global),
        Command::Status(args) => commands::status::run(&args, &cli.global),
        Command::Report(args) => commands::report::run(&args, &cli.global),
        Command::Vendors(args) => commands::vendors::run(&args),
        Command::Check(args) => commands::check::run(&args, &cli.global),
        Command::Targets(args) => commands::targets::run(&args, &cli.global),
        Command::Sandbox(args) => commands::sandbox::run(&args, &cli.global),
        Command::Completions(args) => commands::completions::run(&args),
        Command::Man => commands::completions::man(),
    }
}
