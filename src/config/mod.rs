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

mod resolve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Deserialize;

use crate::cli::{DeliveryArgs, Environment, IdKind, Pod, VendorArgs};
use crate::exit::UserError;
use crate::vendor::{Secret, VendorKind};

pub use resolve::{
    CredentialStatus, Resolved, credential_status, per_target_path, resolve_all, resolve_target,
    select,
};

/// The file name looked for in the config directory.
pub const FILE_NAME: &str = "cdp-purge.toml";
/// The environment variable naming the config file.
pub const ENV_VAR: &str = "CDP_PURGE_CONFIG";
/// Retries per batch when neither a flag nor the config file sets `max_retries`.
pub const DEFAULT_MAX_RETRIES: u32 = 8;

/// Keys every target may have, whatever its vendor.
const COMMON_KEYS: &[&str] = &[
    "vendor",
    "base_url",
    "batch_size",
    "max_rps",
    "max_items_per_sec",
    "concurrency",
    "max_retries",
    "credentials",
    "secrets",
];

/// Keys allowed in `[defaults]`. `batch_size` is left out on purpose: the caps differ by two
/// orders of magnitude between vendors (Segment takes 1, Lytics 1000).
const DEFAULT_KEYS: &[&str] = &["max_rps", "max_items_per_sec", "concurrency", "max_retries"];

/// The vendor-specific keys; each mirrors the command-line flag of the same name.
pub fn vendor_keys(kind: VendorKind) -> &'static [&'static str] {
    match kind {
        VendorKind::Lytics => &["table", "field"],
        VendorKind::Mparticle => &["pod", "environment", "identity_type"],
        VendorKind::Clevertap => &["region", "id_kind"],
        VendorKind::Segment => &[
            "region",
            "space",
            "id_type",
            "id_type_column",
            "user_id_column",
        ],
        VendorKind::Hightouch => &[
            "graph",
            "identifier_type",
            "id_type_column",
            "block",
            "path",
            "source_data_deleted",
        ],
    }
}

/// The keys of a target's `credentials` and `secrets` tables, and the standard environment
/// variable each stands for (the names in `VENDORS[..].credentials`, which adapters read).
pub fn credential_roles(kind: VendorKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        VendorKind::Lytics => &[("token", "LYTICS_API_TOKEN")],
        VendorKind::Mparticle => &[
            ("key", "MPARTICLE_API_KEY"),
            ("secret", "MPARTICLE_API_SECRET"),
        ],
        VendorKind::Clevertap => &[
            ("account_id", "CLEVERTAP_ACCOUNT_ID"),
            ("passcode", "CLEVERTAP_PASSCODE"),
        ],
        VendorKind::Segment => &[("token", "SEGMENT_TOKEN")],
        VendorKind::Hightouch => &[("api_key", "HIGHTOUCH_API_KEY")],
    }
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
}

impl TargetLimits {
    /// Each limit from `self` where set, else from `below`.
    pub fn or(self, below: TargetLimits) -> TargetLimits {
        TargetLimits {
            max_rps: self.max_rps.or(below.max_rps),
            max_items_per_sec: self.max_items_per_sec.or(below.max_items_per_sec),
            concurrency: self.concurrency.or(below.concurrency),
            max_retries: self.max_retries.or(below.max_retries),
        }
    }

    /// The limits given on the command line.
    pub fn from_flags(d: &DeliveryArgs) -> TargetLimits {
        TargetLimits {
            max_rps: d.max_rps,
            max_items_per_sec: d.max_items_per_sec,
            concurrency: d.concurrency,
            max_retries: d.max_retries,
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
    /// Non-fatal problems (already printed by [`load`]).
    pub warnings: Vec<String>,
}

impl Config {
    /// The file name for messages.
    pub fn display_path(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => format!("$XDG_CONFIG_HOME/cdp-purge/{FILE_NAME}"),
        }
    }

    /// Parse a config file's text. `mode` is the file's Unix permission bits (`None` where
    /// there are none): literal secrets are used only when no group/other bit is set.
    pub fn parse(text: &str, path: &Path, mode: Option<u32>) -> anyhow::Result<Config> {
        let file = path.display().to_string();
        // First pass on the untyped table: friendly errors for unknown and wrong-vendor keys,
        // which serde would report as a bare "unknown field".
        let doc: toml::Table = text
            .parse()
            .map_err(|e| UserError::usage(format!("cannot parse config file {file}: {e}")))?;
        check_keys(&doc, &file)?;
        // Second pass, typed: type errors come with line and column.
        let raw: RawFile = toml::from_str(text)
            .map_err(|e| UserError::usage(format!("invalid config file {file}: {e}")))?;

        let secrets_allowed = mode.is_none_or(|m| m & 0o077 == 0);
        let mut cfg = Config {
            path: Some(path.to_owned()),
            found: true,
            defaults: raw.defaults,
            ..Config::default()
        };
        cfg.defaults
            .check("[defaults]")
            .map_err(|m| usage_in(&file, m))?;
        for (name, t) in raw.targets {
            let t = t.into_target(&name, &file, secrets_allowed)?;
            if t.secrets_ignored {
                cfg.warnings.push(format!(
                    "{file} is readable by other users (mode {:04o}): ignoring the literal secrets in [targets.{name}.secrets]; run `chmod 600 {file}` to use them",
                    mode.unwrap_or(0) & 0o7777
                ));
            }
            cfg.targets.insert(name, t);
        }
        Ok(cfg)
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

/// Find, read and parse the config file; print its warnings on stderr. A missing file at the
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
    for w in &cfg.warnings {
        eprintln!("cdp-purge: warning: {w}");
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

fn usage_in(file: &str, msg: impl std::fmt::Display) -> UserError {
    UserError::usage(format!("{file}: {msg}"))
}

fn key_list(keys: &[&str]) -> String {
    keys.join(", ")
}

/// Unknown keys, wrong-vendor keys and misplaced tables, with the fix in the hint.
fn check_keys(doc: &toml::Table, file: &str) -> Result<(), UserError> {
    for key in doc.keys() {
        if !matches!(key.as_str(), "defaults" | "targets") {
            let hint = if key == "target" {
                "target tables are spelled [targets.NAME]".to_owned()
            } else {
                "the top level has only [defaults] and [targets.NAME] tables".to_owned()
            };
            return Err(usage_in(file, format!("unknown key `{key}`")).with_hint(hint));
        }
    }
    if let Some(toml::Value::Table(d)) = doc.get("defaults") {
        for key in d.keys() {
            if !DEFAULT_KEYS.contains(&key.as_str()) {
                let hint = if key == "batch_size" || COMMON_KEYS.contains(&key.as_str()) {
                    format!("`{key}` is set per target, in [targets.NAME]")
                } else {
                    format!("[defaults] takes {}", key_list(DEFAULT_KEYS))
                };
                return Err(
                    usage_in(file, format!("unknown key `{key}` in [defaults]")).with_hint(hint)
                );
            }
        }
    }
    let Some(targets) = doc.get("targets") else {
        return Ok(());
    };
    let Some(targets) = targets.as_table() else {
        return Err(usage_in(
            file,
            "`targets` must be a table of [targets.NAME] tables",
        ));
    };
    for (name, t) in targets {
        check_name(name).map_err(|m| usage_in(file, m))?;
        let Some(t) = t.as_table() else {
            return Err(usage_in(
                file,
                format!("`targets.{name}` must be a table ([targets.{name}])"),
            ));
        };
        let vendor = match t.get("vendor") {
            None => {
                return Err(usage_in(file, format!("[targets.{name}] has no `vendor`"))
                    .with_hint(format!("add vendor = \"...\" (one of {})", vendor_names())));
            }
            Some(v) => v
                .as_str()
                .and_then(|s| VendorKind::from_str(s, false).ok())
                .ok_or_else(|| {
                    usage_in(file, format!("[targets.{name}]: unknown vendor {v}"))
                        .with_hint(format!("use one of {}", vendor_names()))
                })?,
        };
        let own = vendor_keys(vendor);
        for key in t.keys() {
            let k = key.as_str();
            if COMMON_KEYS.contains(&k) || own.contains(&k) {
                continue;
            }
            let underscored = k.replace('-', "_");
            let hint = if underscored != k
                && (COMMON_KEYS.contains(&underscored.as_str())
                    || own.contains(&underscored.as_str()))
            {
                format!("did you mean `{underscored}`? Keys use underscores")
            } else {
                format!(
                    "{vendor} targets take {}, {}",
                    key_list(own),
                    key_list(COMMON_KEYS)
                )
            };
            let owners: Vec<&str> = VendorKind::value_variants()
                .iter()
                .filter(|v| vendor_keys(**v).contains(&k))
                .map(|v| v.id())
                .collect();
            let msg = if owners.is_empty() {
                format!("unknown key `{k}` in [targets.{name}]")
            } else {
                format!(
                    "key `{k}` in [targets.{name}] is for {} targets, but this target has vendor = \"{vendor}\"",
                    owners.join("/")
                )
            };
            return Err(usage_in(file, msg).with_hint(hint));
        }
        for table in ["credentials", "secrets"] {
            let Some(sub) = t.get(table) else { continue };
            let Some(sub) = sub.as_table() else {
                return Err(usage_in(
                    file,
                    format!(
                        "`{table}` in [targets.{name}] must be a table, e.g. {table} = {{ {} = \"...\" }}",
                        credential_roles(vendor)[0].0
                    ),
                ));
            };
            let roles = credential_roles(vendor);
            for key in sub.keys() {
                if !roles.iter().any(|(r, _)| r == key) {
                    return Err(usage_in(
                        file,
                        format!("unknown credential `{key}` in [targets.{name}.{table}]"),
                    )
                    .with_hint(format!(
                        "{vendor} credentials are {}",
                        roles
                            .iter()
                            .map(|(r, std)| format!("{r} (default variable {std})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
    }
    Ok(())
}

fn vendor_names() -> String {
    VendorKind::value_variants()
        .iter()
        .map(|v| v.id())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Target names appear in output, ledgers and file names: keep them to a safe alphabet.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "target name {name:?} must be 1-64 letters, digits, `-`, `_` or `.` (not starting with `.`)"
        ))
    }
}

/// An environment variable name, so that a secret pasted where its name belongs is caught
/// (and never echoed).
fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 128
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    defaults: TargetLimits,
    #[serde(default)]
    targets: BTreeMap<String, RawTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    vendor: VendorKind,
    base_url: Option<String>,
    batch_size: Option<usize>,
    max_rps: Option<f64>,
    max_items_per_sec: Option<f64>,
    concurrency: Option<u32>,
    max_retries: Option<u32>,
    #[serde(default)]
    credentials: BTreeMap<String, String>,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    table: Option<String>,
    field: Option<String>,
    pod: Option<String>,
    environment: Option<String>,
    identity_type: Option<String>,
    region: Option<String>,
    id_kind: Option<String>,
    space: Option<String>,
    id_type: Option<String>,
    id_type_column: Option<String>,
    user_id_column: Option<String>,
    graph: Option<String>,
    identifier_type: Option<String>,
    block: Option<bool>,
    path: Option<String>,
    source_data_deleted: Option<bool>,
}

fn parse_enum<T: ValueEnum>(
    v: &Option<String>,
    key: &str,
    target: &str,
) -> Result<Option<T>, String> {
    let Some(s) = v else { return Ok(None) };
    T::from_str(s, false).map(Some).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        format!(
            "[targets.{target}]: {key} = {s:?} is not one of {}",
            names.join(", ")
        )
    })
}

impl RawTarget {
    fn into_target(
        self,
        name: &str,
        file: &str,
        secrets_allowed: bool,
    ) -> Result<TargetConfig, UserError> {
        let err = |m: String| usage_in(file, m);
        let vendor = self.vendor;
        let info = vendor.info();
        let limits = TargetLimits {
            max_rps: self.max_rps,
            max_items_per_sec: self.max_items_per_sec,
            concurrency: self.concurrency,
            max_retries: self.max_retries,
        };
        limits.check(&format!("[targets.{name}]")).map_err(err)?;
        if let Some(n) = self.batch_size
            && (n == 0 || n > info.max_batch)
        {
            return Err(err(format!(
                "[targets.{name}]: batch_size = {n} must be between 1 and {}'s cap of {}",
                info.name, info.max_batch
            )));
        }
        if let Some(u) = &self.base_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(err(format!(
                "[targets.{name}]: base_url must start with https:// or http://, got {u:?}"
            )));
        }
        if let Some(p) = &self.path
            && !p.starts_with('/')
        {
            return Err(err(format!(
                "[targets.{name}]: path must start with `/`, got {p:?}"
            )));
        }

        let roles = credential_roles(vendor);
        let standard = |role: &str| {
            roles
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, s)| *s)
                .expect("roles were checked in check_keys")
        };
        let mut credentials = BTreeMap::new();
        for (role, var) in &self.credentials {
            if !is_env_name(var) {
                // Most likely the secret itself: say where it goes, never what it is.
                return Err(err(format!(
                    "[targets.{name}]: credentials.{role} must be the NAME of an environment variable (like {}), not a value",
                    standard(role)
                ))
                .with_hint(format!(
                    "to keep the secret itself in the file, put it under [targets.{name}.secrets] and chmod 600 the file"
                )));
            }
            credentials.insert(standard(role), var.clone());
        }
        let mut secrets = BTreeMap::new();
        let secrets_ignored = !self.secrets.is_empty() && !secrets_allowed;
        if secrets_allowed {
            for (role, value) in self.secrets {
                if !value.is_empty() {
                    secrets.insert(standard(&role), Secret::new(value));
                }
            }
        }

        let mut settings = BTreeMap::new();
        let mut note = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                settings.insert(k.to_owned(), v);
            }
        };
        note("table", self.table.clone());
        note("field", self.field.clone());
        note("pod", self.pod.clone());
        note("environment", self.environment.clone());
        note("identity_type", self.identity_type.clone());
        note("region", self.region.clone());
        note("id_kind", self.id_kind.clone());
        note("space", self.space.clone());
        note("id_type", self.id_type.clone());
        note("id_type_column", self.id_type_column.clone());
        note("user_id_column", self.user_id_column.clone());
        note("graph", self.graph.clone());
        note("identifier_type", self.identifier_type.clone());
        note("block", self.block.map(|b| b.to_string()));
        note("path", self.path.clone());
        note(
            "source_data_deleted",
            self.source_data_deleted.map(|b| b.to_string()),
        );

        let args = VendorArgs {
            vendor: Some(vendor),
            base_url: self.base_url,
            table: self.table,
            field: self.field,
            pod: parse_enum::<Pod>(&self.pod, "pod", name).map_err(err)?,
            environment: parse_enum::<Environment>(&self.environment, "environment", name)
                .map_err(err)?,
            identity_type: self.identity_type,
            id_kind: parse_enum::<IdKind>(&self.id_kind, "id_kind", name).map_err(err)?,
            region: self.region,
            space: self.space,
            id_type: self.id_type,
            id_type_column: self.id_type_column,
            user_id_column: self.user_id_column,
            graph: self.graph,
            identifier_type: self.identifier_type,
            no_block: self.block == Some(false),
            source_data_deleted: self.source_data_deleted == Some(true),
            ..VendorArgs::default()
        };
        Ok(TargetConfig {
            name: name.to_owned(),
            vendor,
            args,
            path: self.path,
            batch_size: self.batch_size,
            limits,
            credentials,
            secrets,
            secrets_ignored,
            settings,
        })
    }
}

#[cfg(test)]
mod tests;
