//! `cdp-purge sandbox`: serve the fake vendors until Ctrl-C or SIGTERM, then exit 0 (a
//! server asked to stop has done what it was asked).

#[cfg(feature = "sandbox")]
use std::collections::BTreeMap;

#[cfg(feature = "sandbox")]
use anyhow::Context as _;
#[cfg(feature = "sandbox")]
use cdp_purge_sandbox::{CompetingLoad, Sandbox, SandboxConfig};

use crate::cli::SandboxArgs;
#[cfg(feature = "sandbox")]
use crate::commands::signals::Signals;
use crate::exit::Code;
#[cfg(feature = "sandbox")]
use crate::exit::UserError;
use crate::printer::Printer;

#[cfg(not(feature = "sandbox"))]
pub fn run(
    _args: &SandboxArgs,
    _printer: &Printer,
    _rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Code> {
    Err(crate::sandbox::built_without("cdp-purge sandbox").into())
}

#[cfg(feature = "sandbox")]
pub fn run(
    args: &SandboxArgs,
    printer: &Printer,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Code> {
    let cfg = SandboxConfig {
        port: args.port,
        enforce_quota: !args.no_quota,
        faults: args.faults.clone().unwrap_or_default(),
        competing: args.competing_rate.map(|rate| CompetingLoad {
            rate,
            stop_after: args.competing_for,
        }),
        latency: args.latency,
        ..SandboxConfig::default()
    };
    rt.block_on(serve(cfg, printer))
}

#[cfg(feature = "sandbox")]
async fn serve(cfg: SandboxConfig, printer: &Printer) -> anyhow::Result<Code> {
    let port = cfg.port;
    let faults = cfg.faults.clone();
    let competing = cfg.competing;
    // Listen for the signals before telling anyone the URL: a script that reads the URL and
    // stops us at once must get a clean stop, not the default "killed by SIGINT".
    let mut signals = Signals::listen().context("cannot listen for Ctrl-C and SIGTERM")?;
    let sandbox = Sandbox::start(cfg).await.map_err(|e| {
        UserError::usage(format!("cannot listen on 127.0.0.1:{port}: {e}"))
            .with_hint("pick another port with --port, or --port 0 for any free one")
    })?;
    // stdout: what a script needs (the URL, then the credentials as a --credentials-file).
    // A reader that takes only the URL (`| head -1`) closes the pipe: the server keeps
    // serving.
    let mut head = format!("{}\n", sandbox.base_url());
    for (key, value) in sandbox.credentials().env_lines() {
        head.push_str(&format!("{key}={value}\n"));
    }
    printer.data(&head)?;
    let fakes: Vec<&str> = cdp_purge_sandbox::VendorKind::ALL
        .iter()
        .map(|v| v.id())
        .collect();
    printer.info(format!(
        "cdp-purge sandbox: serving {} at {}",
        fakes.join(", "),
        sandbox.base_url()
    ));
    printer.info("  the credentials above are fake; save them to a file for --credentials-file");
    if !faults.rates.is_empty() {
        let list: Vec<String> = faults
            .rates
            .iter()
            .map(|(f, r)| format!("{f} at {r}"))
            .collect();
        printer.info(format!(
            "  faults (seed {}): {}",
            faults.seed,
            list.join(", ")
        ));
    }
    if let Some(c) = competing {
        printer.info(format!(
            "  another caller takes {} per second of every quota{}",
            c.rate,
            c.stop_after
                .map(|d| format!(" for the first {}", humantime::format_duration(d)))
                .unwrap_or_default()
        ));
    }
    printer.info(format!(
        "  try: cdp-purge delete --vendor lytics --base-url {} --credentials-file sandbox.env ...",
        sandbox.base_url()
    ));
    printer.info("  Ctrl-C (or SIGTERM) stops; -v logs each request");
    let signal = signals.next().await;
    tracing::info!("sandbox: {signal:?}: stopping");
    let log = sandbox.log();
    sandbox.shutdown();
    let mut per_vendor: BTreeMap<String, usize> = BTreeMap::new();
    for rec in &log {
        let name = rec
            .vendor
            .map_or("unknown path".to_owned(), |v| v.to_string());
        *per_vendor.entry(name).or_default() += 1;
    }
    let counts: Vec<String> = per_vendor.iter().map(|(v, n)| format!("{v} {n}")).collect();
    printer.info(format!(
        "cdp-purge sandbox: stopped after {} requests{}",
        log.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        }
    ));
    Ok(Code::Success)
}
