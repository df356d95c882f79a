//! `cdp-purge targets`: the targets in the config file. Shows which credential variables are
//! set, never their values.

use std::fmt::Write as _;

use crate::cli::{GlobalArgs, TargetsArgs};
use crate::config::{self, Config, CredentialStatus, TargetConfig, TargetLimits};
use crate::exit::Code;
use crate::printer::Printer;
use crate::settings;

/// One target as listed.
#[derive(Debug, serde::Serialize)]
pub struct Listed {
    pub name: String,
    pub vendor: &'static str,
    /// The vendor keys as written in the file.
    pub settings: std::collections::BTreeMap<String, String>,
    /// The host requests go to; `None` when the file leaves a required setting to the flags.
    pub base_url: Option<String>,
    pub batch_size: Option<usize>,
    /// The target's limits over `[defaults]`.
    pub limits: TargetLimits,
    pub credentials: Vec<CredentialStatus>,
    /// Literal secrets were ignored because the file is readable by others.
    pub secrets_ignored: bool,
}

#[derive(Debug, serde::Serialize)]
struct Listing<'a> {
    config: Option<String>,
    origin: config::Origin,
    found: bool,
    defaults: TargetLimits,
    targets: &'a [Listed],
}

pub fn list(cfg: &Config) -> Vec<Listed> {
    cfg.targets
        .values()
        .map(|t| Listed {
            name: t.name.clone(),
            vendor: t.vendor.id(),
            settings: t.settings.clone(),
            base_url: base_url(t),
            batch_size: t.batch_size,
            limits: t.limits.or(cfg.defaults),
            credentials: config::credential_status(t),
            secrets_ignored: t.secrets_ignored,
        })
        .collect()
}

fn base_url(t: &TargetConfig) -> Option<String> {
    settings::target(&t.args, t.batch_size, settings::Stage::Plan, false)
        .ok()
        .map(|t| t.base_url)
}

pub fn run(args: &TargetsArgs, global: &GlobalArgs, printer: &Printer) -> anyhow::Result<Code> {
    let cfg = config::load(global.config.as_deref())?;
    let listed = list(&cfg);
    let text = if args.json {
        let out = Listing {
            config: cfg.path.as_ref().map(|p| p.display().to_string()),
            origin: cfg.origin,
            found: cfg.found,
            defaults: cfg.defaults,
            targets: &listed,
        };
        serde_json::to_string_pretty(&out)? + "\n"
    } else {
        render(&cfg, &listed)
    };
    printer.data(&text)?;
    Ok(Code::Success)
}

fn limits_text(l: &TargetLimits, batch_size: Option<usize>) -> String {
    let mut parts = Vec::new();
    if let Some(n) = batch_size {
        parts.push(format!("batch_size={n}"));
    }
    if let Some(v) = l.max_rps {
        parts.push(format!("max_rps={v}"));
    }
    if let Some(v) = l.max_items_per_sec {
        parts.push(format!("max_items_per_sec={v}"));
    }
    if let Some(v) = l.concurrency {
        parts.push(format!("concurrency={v}"));
    }
    if let Some(v) = l.max_per_window {
        parts.push(format!("max_per_window={v}"));
    }
    if let Some(v) = l.max_retries {
        parts.push(format!("max_retries={v}"));
    }
    if parts.is_empty() {
        "the vendor's defaults".to_owned()
    } else {
        parts.join(" ")
    }
}

/// The listing as text.
pub fn render(cfg: &Config, listed: &[Listed]) -> String {
    let mut s = String::new();
    let path = cfg.display_path();
    if !cfg.found {
        let _ = writeln!(
            s,
            "no config file at {path} (looked at --config, then ${}, then the default location)",
            config::ENV_VAR
        );
        let _ = writeln!(s, "to add targets: {}", config::create_hint());
        return s;
    }
    let _ = writeln!(s, "config  {path} (from {})", cfg.origin.describe());
    if listed.is_empty() {
        let _ = writeln!(
            s,
            "no targets: add [targets.NAME] tables (see docs/config.md)"
        );
        return s;
    }
    for t in listed {
        let _ = writeln!(s, "\n{}  ({})", t.name, t.vendor);
        if !t.settings.is_empty() {
            let settings: Vec<String> =
                t.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(s, "  settings     {}", settings.join(" "));
        }
        if let Some(u) = &t.base_url {
            let _ = writeln!(s, "  base url     {u}");
        }
        let _ = writeln!(s, "  limits       {}", limits_text(&t.limits, t.batch_size));
        let creds: Vec<String> = t
            .credentials
            .iter()
            .map(|c| {
                let state = match c.source {
                    Some("env") => "set",
                    Some(_) => "in the config file",
                    None => "not set",
                };
                format!("{} ${} ({state})", c.name, c.variable)
            })
            .collect();
        let _ = writeln!(s, "  credentials  {}", creds.join(", "));
        if t.secrets_ignored {
            let _ = writeln!(
                s,
                "  warning      literal secrets ignored: the file is readable by others (chmod 600 {path})"
            );
        }
    }
    s
}
