use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cdp_purge::cli::Cli::parse();
    match cdp_purge::run(cli) {
        Ok(code) => code.into(),
        Err(err) => cdp_purge::exit::report(&err).into(),
    }
}
