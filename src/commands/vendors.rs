//! `cdp-purge vendors`: the vendor facts table.

use std::fmt::Write as _;

use crate::cli::VendorsArgs;
use crate::exit::Code;
use crate::printer::Printer;
use crate::vendor::VENDORS;

pub fn run(args: &VendorsArgs, printer: &Printer) -> anyhow::Result<Code> {
    if args.json {
        printer.json_pretty(VENDORS)?;
        return Ok(Code::Success);
    }
    let mut s = String::new();
    // Wide enough for the longest id (`segment-regs`).
    let w = VENDORS
        .iter()
        .map(|v| v.id.len())
        .max()
        .unwrap_or(0)
        .max(10);
    let _ = writeln!(
        s,
        "{:<w$} {:>9}  {:<44} credentials",
        "vendor", "per req.", "quota"
    );
    for v in VENDORS {
        let cap = if v.max_batch_documented {
            v.max_batch.to_string()
        } else {
            format!("{}*", v.default_batch)
        };
        let _ = writeln!(
            s,
            "{:<w$} {:>9}  {:<44} {}",
            v.id,
            cap,
            v.quota.to_string(),
            v.credentials.join(", ")
        );
    }
    s.push('\n');
    for v in VENDORS {
        let _ = writeln!(s, "{} ({}): {}", v.name, v.api, v.id_kinds);
        let _ = writeln!(s, "    completion: {}", v.completion);
    }
    let _ = writeln!(
        s,
        "\n* not published by the vendor: the default batch size; --batch-size may go up to the cap shown by --json"
    );
    printer.data(&s)?;
    Ok(Code::Success)
}
