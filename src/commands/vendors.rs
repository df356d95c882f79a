//! `cdp-purge vendors`: the vendor facts table.

use crate::cli::VendorsArgs;
use crate::exit::Code;
use crate::vendor::VENDORS;

pub fn run(args: &VendorsArgs) -> anyhow::Result<Code> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(VENDORS)?);
        return Ok(Code::Success);
    }
    println!(
        "{:<10} {:>9}  {:<44} credentials",
        "vendor", "per req.", "quota"
    );
    for v in VENDORS {
        let cap = if v.max_batch_documented {
            v.max_batch.to_string()
        } else {
            format!("{}*", v.default_batch)
        };
        println!(
            "{:<10} {:>9}  {:<44} {}",
            v.id,
            cap,
            v.quota.to_string(),
            v.credentials.join(", ")
        );
    }
    println!();
    for v in VENDORS {
        println!("{} ({}): {}", v.name, v.api, v.id_kinds);
        println!("    completion: {}", v.completion);
    }
    println!(
        "\n* not published by the vendor: the default batch size; --batch-size may go up to the cap shown by --json"
    );
    Ok(Code::Success)
}
