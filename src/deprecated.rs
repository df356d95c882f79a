//! Old names kept for one release: the printer shows one warning line per old name used,
//! saying what replaces it (not with `--quiet`, as uv and cargo silence their warnings).

use crate::cli::{Cli, Command};
use crate::vendor::params;

/// The notes for the old flags a command line uses.
pub fn flag_notes(cli: &Cli) -> Vec<String> {
    let vendor = match &cli.command {
        Command::Plan(a) => Some(&a.vendor),
        Command::Delete(a) => Some(&a.vendor),
        Command::Check(a) => Some(&a.vendor),
        _ => None,
    };
    let mut out: Vec<String> = vendor
        .map(crate::settings::given)
        .unwrap_or_default()
        .into_iter()
        .filter_map(params::param)
        .filter_map(|p| {
            let old = params::flag(p.key)?;
            let new = params::flag(p.renamed_to?)?;
            Some(format!(
                "`{old}` is deprecated and will be removed in a future release; use `{new}`"
            ))
        })
        .collect();
    if let Command::Report(a) = &cli.command
        && a.old_format.is_some()
    {
        out.push(
            "`report --format` is deprecated and will be removed in a future release; use `--json` or `--csv` (--format names the input format elsewhere)"
                .to_owned(),
        );
    }
    out
}
