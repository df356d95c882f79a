//! `cdp-purge completions SHELL` and the hidden `cdp-purge man`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Code;
use crate::printer::Printer;

pub fn run(args: &CompletionsArgs, printer: &Printer) -> anyhow::Result<Code> {
    let mut cmd = Cli::command();
    // Generate into memory: clap_complete panics when a write fails (a closed pipe).
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "cdp-purge", &mut buf);
    printer.data(&buf)?;
    Ok(Code::Success)
}

pub fn man(printer: &Printer) -> anyhow::Result<Code> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    printer.data(&buf)?;
    Ok(Code::Success)
}
