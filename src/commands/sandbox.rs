//! `cdp-purge sandbox`: serve the fake vendors until Ctrl-C.

use std::collections::BTreeMap;

use anyhow::Context as _;

use crate::cli::{GlobalArgs, SandboxArgs};
use crate::exit::{Code, UserError};
use crate::sandbox::{CompetingLoad, Sandbox, SandboxConfig};

pub fn run(args: &SandboxArgs, global: &GlobalArgs) -> anyhow::Result<Code> {
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(cfg, global))
}

async fn serve(cfg: SandboxConfig, global: &GlobalArgs) -> anyhow::Result<Code> {
    let port = cfg.port;
    let faults = cfg.faults.clone();
    let competing = cfg.competing;
    // Listen for the signal before telling anyone the URL: a script that reads the URL and
    // stops us at once must get a clean stop, not the default "killed by SIGINT".
    let stop = stop_signal().context("cannot listen for Ctrl-C")?;
    let sandbox = Sandbox::start(cfg).await.map_err(|e| {
        UserError::usage(format!("cannot listen on 127.0.0.1:{port}: {e}"))
            .with_hint("pick another port with --port, or --port 0 for any free one")
    })?;
    // stdout: what a script needs (the URL, then the credentials as a --credentials-file).
    // A reader that takes only the URL (`| head -1`) closes the pipe: that is not an error,
    // and the server keeps serving.
    let mut head = format!("{}\n", sandbox.base_url());
    for (key, value) in sandbox.credentials().env_lines() {
        head.push_str(&format!("{key}={value}\n"));
    }
    if let Err(e) = crate::output::stdout(&head)
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    if !global.quiet {
        eprintln!(
            "cdp-purge sandbox: serving Lytics, mParticle, CleverTap, Segment and Hightouch at {}",
            sandbox.base_url()
        );
        eprintln!("  the credentials above are fake; save them to a file for --credentials-file");
        if !faults.rates.is_empty() {
            let list: Vec<String> = faults
                .rates
                .iter()
                .map(|(f, r)| format!("{f} at {r}"))
                .collect();
            eprintln!("  faults (seed {}): {}", faults.seed, list.join(", "));
        }
        if let Some(c) = competing {
            eprintln!(
                "  another caller takes {} per second of every quota{}",
                c.rate,
                c.stop_after
                    .map(|d| format!(" for the first {}", humantime::format_duration(d)))
                    .unwrap_or_default()
            );
        }
        eprintln!(
            "  try: cdp-purge delete --vendor lytics --base-url {} --credentials-file sandbox.env ...",
            sandbox.base_url()
        );
        eprintln!("  Ctrl-C stops");
    }
    stop.await;
    let log = sandbox.log();
    sandbox.shutdown();
    if !global.quiet {
        let mut per_vendor: BTreeMap<String, usize> = BTreeMap::new();
        for rec in &log {
            let name = rec
                .vendor
                .map_or("unknown path".to_owned(), |v| v.to_string());
            *per_vendor.entry(name).or_default() += 1;
        }
        let counts: Vec<String> = per_vendor.iter().map(|(v, n)| format!("{v} {n}")).collect();
        eprintln!(
            "cdp-purge sandbox: stopped after {} requests{}",
            log.len(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            }
        );
    }
    Ok(Code::Success)
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM. The handlers are installed before this
/// returns.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
