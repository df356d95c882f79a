//! The config file, `cdp-purge.toml`: named targets with their vendor settings, delivery
//! limits and the *names* of the environment variables holding their credentials.
//!
//! Where it is: `--config PATH`, else `$CDP_PURGE_CONFIG`, else
//! `$XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml` (`~/.config/…` when `XDG_CONFIG_HOME` is unset).
//! A missing file at the default location means "no targets"; a missing file that was named
//! explicitly is an error. The format is documented in `docs/config.md`.
//!
//! Parsing is strict: an unknown key, or a key that belongs to another vendor, is an error
//! naming the key, the target and the file. A typo that silently falls back to a default
//! (`identity-type` for `identity_type`, `pod` on the wrong target) is how deletions end up in
//! the wrong place.

mod parse;
mod resolve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{DeliveryArgs, VendorArgs};
use crate::error::UserError;
use crate::vendor::{Secret, VendorKind};

pub use resolve::{
    CredentialStatus, Resolved, credential_status, per_target_path, resolve_all, resolve_target,
    resolve_targets_only, select, target_credentials,
};

/// The file name looked for in the config directory.
pub const FILE_NAME: &str = "cdp-purge.toml";
/// The environment variable naming the config file.
pub const ENV_VAR: &str = "CDP_PURGE_CONFIG";
/// Retries per batch when neither a flag nor the config file sets `max_retries`.
pub const DEFAULT_MAX_RETRIES: u32 = 8;

/// The vendor-specific keys (current names); each mirrors the command-line flag of the same
/// name. One table, [`crate::vendor::params::PARAMS`], serves both.
pub fn vendor_keys(kind: VendorKind) -> Vec<&'static str> {
    crate::vendor::params::keys(kind)
}

/// The keys of a target's `credentials` and `secrets` tables, and the standard environment
/// variable each stands for (the names in `VENDORS[..].credentials`, which adapters read).
pub fn credential_roles(kind: VendorKind) -> Vec<(&'static str, &'static str)> {
    kind.vendor()
        .credentials
        .iter()
        .map(|c| (c.role, c.var))
        .collect()
}

/// How the config file was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// `--config PATH`
    Flag,
    /// `$CDP_PURGE_CONFIG`
    Env,
    /// The XDG config directory.
    #[default]
    Default,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Flag => "--config",
            Self::Env => "$CDP_PURGE_CONFIG",
            Self::Default => "the default location",
        }
    }
}

/// Delivery limits a target may set. `None` everywhere means "not set here": the layer below
/// decides (flags over the target over `[defaults]` over the vendor's defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetLimits {
    /// Requests per second (`None`: the vendor's quota).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rps: Option<f64>,
    /// Identifiers per second (`None`: the vendor's quota).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items_per_sec: Option<f64>,
    /// Requests in flight (`None`: the vendor's `default_concurrency`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Retries per batch (`None`: [`DEFAULT_MAX_RETRIES`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// The account's own quota terms, `N/DURATION` (`None`: the vendor's documented quota).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "per_window_text"
    )]
    pub max_per_window: Option<crate::vendor::Rate>,
}

fn per_window_text<S: serde::Serializer>(
    r: &Option<crate::vendor::Rate>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(&format!("{}/{}s", r.count, r.per.as_secs())),
        None => s.serialize_none(),
    }
}

impl TargetLimits {
    /// Each limit from `self` where set, else from `below`.
    pub fn or(self, below: TargetLimits) -> TargetLimits {
        TargetLimits {
            max_rps: self.max_rps.or(below.max_rps),
            max_items_per_sec: self.max_items_per_sec.or(below.max_items_per_sec),
            concurrency: self.concurrency.or(below.concurrency),
            max_retries: self.max_retries.or(below.max_retries),
            max_per_window: self.max_per_window.or(below.max_per_window),
        }
    }

    /// The limits given on the command line.
    pub fn from_flags(d: &DeliveryArgs) -> TargetLimits {
        TargetLimits {
            max_rps: d.max_rps,
            max_items_per_sec: d.max_items_per_sec,
            concurrency: d.concurrency,
            max_retries: d.max_retries,
            max_per_window: d.max_per_window,
        }
    }

    /// Retries per batch, with the built-in default.
    pub fn max_retries_or_default(&self) -> u32 {
        self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES)
    }

    fn check(&self, section: &str) -> Result<(), String> {
        for (key, v) in [
            ("max_rps", self.max_rps),
            ("max_items_per_sec", self.max_items_per_sec),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return Err(format!("{key} in {section} must be a positive number"));
            }
        }
        if self.concurrency == Some(0) {
            return Err(format!("concurrency in {section} must be at least 1"));
        }
        Ok(())
    }
}

/// One `[targets.NAME]` table, parsed and checked.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub name: String,
    pub vendor: VendorKind,
    /// The vendor settings as the equivalent command-line flags (`vendor` and `base_url`
    /// set from the file, everything else `None` unless the file sets it).
    pub args: VendorArgs,
    /// Hightouch: the reprocessing path template (`{graph}` is replaced).
    pub path: Option<String>,
    pub batch_size: Option<usize>,
    /// This target's own limits, without `[defaults]`.
    pub limits: TargetLimits,
    /// Standard variable name → the variable that holds it for this target (only the ones
    /// the file names; the others default to the standard name).
    pub credentials: BTreeMap<&'static str, String>,
    /// Literal secrets by standard variable name. Empty when the file is readable by others.
    pub secrets: BTreeMap<&'static str, Secret>,
    /// The file had literal secrets for this target but they were ignored (file mode).
    pub secrets_ignored: bool,
    /// The vendor-specific keys as written, for `cdp-purge targets`.
    pub settings: BTreeMap<String, String>,
    /// The input column this target reads (`column = "email"`), over `--column`.
    pub column: Option<String>,
}

impl TargetConfig {
    /// The environment variable holding one standard credential for this target.
    pub fn credential_var<'a>(&'a self, standard: &'a str) -> &'a str {
        self.credentials
            .get(standard)
            .map(String::as_str)
            .unwrap_or(standard)
    }
}

/// The loaded config file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file (or where it was looked for). `None` when there is no home directory.
    pub path: Option<PathBuf>,
    pub origin: Origin,
    /// The file exists and was read.
    pub found: bool,
    pub defaults: TargetLimits,
    pub targets: BTreeMap<String, TargetConfig>,
    /// `[groups]`: name → target names, in the file's order (each checked to exist).
    pub groups: BTreeMap<String, Vec<String>>,
    /// Non-fatal problems (already printed by [`load`]).
    pub warnings: Vec<String>,
    /// Old key names in use (already logged by [`load`], like `warnings`).
    pub deprecations: Vec<String>,
}

impl Config {
    /// The file name for messages.
    pub fn display_path(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => format!("$XDG_CONFIG_HOME/cdp-purge/{FILE_NAME}"),
        }
    }

    /// A target by name; the error lists the configured names.
    pub fn get(&self, name: &str) -> anyhow::Result<&TargetConfig> {
        if let Some(t) = self.targets.get(name) {
            return Ok(t);
        }
        let path = self.display_path();
        let err = if !self.found {
            UserError::usage(format!(
                "unknown target `{name}`: there is no config file at {path}"
            ))
            .with_hint(create_hint())
        } else if self.targets.is_empty() {
            UserError::usage(format!(
                "unknown target `{name}`: {path} defines no targets"
            ))
            .with_hint("add a [targets.NAME] table; see docs/config.md")
        } else {
            let names: Vec<&str> = self.targets.keys().map(String::as_str).collect();
            UserError::usage(format!(
                "unknown target `{name}` (configured in {path}: {})",
                names.join(", ")
            ))
            .with_hint("`cdp-purge targets` lists them with their vendors")
        };
        Err(err.into())
    }
}

/// How to create a config file, for messages.
pub fn create_hint() -> String {
    let dest = default_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("~/.config/cdp-purge/{FILE_NAME}"));
    format!(
        "create {dest} (start from examples/cdp-purge.toml; format in docs/config.md), or point --config / ${ENV_VAR} at one"
    )
}

/// Where the config file is: `--config`, else `$CDP_PURGE_CONFIG`, else the default path.
pub fn locate(explicit: Option<&Path>) -> (Option<PathBuf>, Origin) {
    if let Some(p) = explicit {
        return (Some(p.to_owned()), Origin::Flag);
    }
    if let Some(p) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        return (Some(PathBuf::from(p)), Origin::Env);
    }
    (default_path(), Origin::Default)
}

/// `$XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml`, or `$HOME/.config/…`. The XDG spec says to
/// ignore a relative `XDG_CONFIG_HOME`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("cdp-purge").join(FILE_NAME))
}

/// Find, read and parse the config file; log its warnings. A missing file at the
/// default location is an empty config; a missing file named by `--config` or
/// `$CDP_PURGE_CONFIG` is an error (exit 2).
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
    use std::io::Read;

    let (path, origin) = locate(explicit);
    let Some(path) = path else {
        return Ok(Config {
            origin,
            ..Config::default()
        });
    };
    let mut f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && origin == Origin::Default => {
            return Ok(Config {
                path: Some(path),
                origin,
                ..Config::default()
            });
        }
        Err(e) => {
            return Err(UserError::usage(format!(
                "cannot read config file {} (from {}): {e}",
                path.display(),
                origin.describe()
            ))
            .into());
        }
    };
    // The mode of the file we read, not of whatever is at the path a moment later.
    let mode = file_mode(&f.metadata()?);
    let mut text = String::new();
    f.read_to_string(&mut text).map_err(|e| {
        UserError::usage(format!("cannot read config file {}: {e}", path.display()))
    })?;
    let mut cfg = Config::parse(&text, &path, mode)?;
    cfg.origin = origin;
    // Through the log, which the printer shows as `cdp-purge: warning: …` (not with -q).
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    for d in &cfg.deprecations {
        tracing::warn!("{d}");
    }
    Ok(cfg)
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests;
