//! `cdp-purge completions SHELL` and the hidden `cdp-purge man`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Code;

pub fn run(args: &CompletionsArgs) -> anyhow::Result<Code> {
    let mut cmd = Cli::command();
    // Generate into memory: clap_complete panics when a write fails (a closed pipe).
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "cdp-purge", &mut buf);
    write_stdout(&buf)?;
    Ok(Code::Success)
}

pub fn man() -> anyhow::Result<Code> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    write_stdout(&buf)?;
    Ok(Code::Success)
}

fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}
