//! `cdp-purge completions SHELL` and the hidden `cdp-purge man`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Code;

pub fn run(args: &CompletionsArgs) -> anyhow::Result<Code> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "cdp-purge", &mut std::io::stdout());
    Ok(Code::Success)
}

pub fn man() -> anyhow::Result<Code> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(Code::Success)
}
