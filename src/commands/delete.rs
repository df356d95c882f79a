//! `cdp-purge delete`.

use crate::cli::{DeleteArgs, GlobalArgs};
use crate::exit::Code;

pub fn run(args: &DeleteArgs, global: &GlobalArgs) -> anyhow::Result<Code> {
    if args.dry_run {
        return super::plan::run_with(&args.input, &args.vendor, args.json, global);
    }
    anyhow::bail!("delete is not implemented yet")
}
