//! Reading `cdp-purge.toml`: two passes over the text. The first, on the untyped table,
//! gives friendly errors for unknown and wrong-vendor keys (serde would only say "unknown
//! field"); the second, typed, reports wrong types with line and column.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Config, TargetConfig, TargetLimits, credential_roles, vendor_keys};
use crate::cli::VendorArgs;
use crate::error::UserError;
use crate::vendor::params::{self, ParamKind};
use crate::vendor::{Secret, Values, VendorKind};

/// Keys every target may have, whatever its vendor.
const COMMON_KEYS: &[&str] = &[
    "vendor",
    "base_url",
    "batch_size",
    "max_rps",
    "max_items_per_sec",
    "concurrency",
    "max_retries",
    "max_per_window",
    "credentials",
    "secrets",
    "column",
];

/// Keys allowed in `[defaults]`. `batch_size` is left out on purpose: the caps differ by two
/// orders of magnitude between vendors (Segment takes 1, Lytics 1000).
const DEFAULT_KEYS: &[&str] = &[
    "max_rps",
    "max_items_per_sec",
    "concurrency",
    "max_retries",
    "max_per_window",
];

impl Config {
    /// Parse a config file's text. `mode` is the file's Unix permission bits (`None` where
    /// there are none): literal secrets are used only when no group/other bit is set.
    pub fn parse(text: &str, path: &Path, mode: Option<u32>) -> anyhow::Result<Config> {
        let file = path.display().to_string();
        // First pass on the untyped table: friendly errors for unknown and wrong-vendor keys,
        // which serde would report as a bare "unknown field".
        let doc: toml::Table = text.parse().map_err(|e| {
            UserError::usage(format!(
                "cannot parse config file {file}: {}",
                toml_error(text, &e)
            ))
        })?;
        check_keys(&doc, &file)?;
        // Second pass, typed: type errors come with line and column.
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            UserError::usage(format!(
                "invalid config file {file}: {}",
                toml_error(text, &e)
            ))
        })?;

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
        let no_table = toml::Table::new();
        for (name, t) in raw.targets {
            // The vendor settings are read from the untyped table: which keys there are
            // depends on the vendor's row (`check_keys` has refused the others).
            let table = doc
                .get("targets")
                .and_then(|ts| ts.get(&name))
                .and_then(toml::Value::as_table)
                .unwrap_or(&no_table);
            let values = vendor_values(t.vendor, table, &name).map_err(|m| usage_in(&file, m))?;
            for (old, new) in old_keys(&values) {
                cfg.deprecations.push(format!(
                    "{file}: [targets.{name}]: `{old}` is deprecated and will be removed in a future release; use `{new}`"
                ));
            }
            let t = t.into_target(&name, &file, secrets_allowed, values)?;
            if t.secrets_ignored {
                cfg.warnings.push(format!(
                    "{file} is readable by other users (mode {:04o}): ignoring the literal secrets in [targets.{name}.secrets]; run `chmod 600 {file}` to use them",
                    mode.unwrap_or(0) & 0o7777
                ));
            }
            cfg.targets.insert(name, t);
        }
        for (group, members) in raw.groups {
            check_group(&cfg, &group, &members).map_err(|m| usage_in(&file, m))?;
            cfg.groups.insert(group, members);
        }
        Ok(cfg)
    }
}

/// A TOML error as "line L, column C: what", never quoting the file. toml's own message
/// shows the offending line, which may be a literal secret; and inside a `credentials` or
/// `secrets` table even the message is withheld, since a type error repeats the value
/// ("invalid type: integer `123456`").
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let what = e.message().lines().next().unwrap_or("syntax error");
    let Some(at) = e.span().map(|s| s.start.min(text.len())) else {
        return what.to_owned();
    };
    let before = &text.as_bytes()[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    if in_secret_table(text, line) {
        return format!(
            "line {line}, column {col}: invalid value in a credentials or secrets table (not shown)"
        );
    }
    format!("line {line}, column {col}: {what}")
}

/// Whether 1-based `line` of a TOML text is in a `credentials` or `secrets` table (by the
/// last table header before it, or a dotted or inline key on the line itself).
fn in_secret_table(text: &str, line: usize) -> bool {
    let secretish = |s: &str| s.contains("secrets") || s.contains("credentials");
    let here = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let header = text
        .lines()
        .take(line)
        .filter(|l| l.trim_start().starts_with('['))
        .last()
        .unwrap_or("");
    secretish(header) || secretish(here)
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
        if !matches!(key.as_str(), "defaults" | "targets" | "groups") {
            let hint = if key == "target" {
                "target tables are spelled [targets.NAME]".to_owned()
            } else if key == "group" {
                "the table of groups is spelled [groups]".to_owned()
            } else {
                "the top level has only [defaults], [targets.NAME] and [groups] tables".to_owned()
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
            Some(v) => v.as_str().and_then(VendorKind::from_id).ok_or_else(|| {
                usage_in(file, format!("[targets.{name}]: unknown vendor {v}"))
                    .with_hint(format!("use one of {}", vendor_names()))
            })?,
        };
        let own = vendor_keys(vendor);
        for key in t.keys() {
            let k = key.as_str();
            let old_own = vendor
                .vendor()
                .param(k)
                .is_some_and(|p| p.renamed_to.is_some());
            if COMMON_KEYS.contains(&k) || own.contains(&k) || old_own {
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
                    key_list(&own),
                    key_list(COMMON_KEYS)
                )
            };
            let owners: Vec<&str> = params::vendors_of(k).iter().map(|v| v.id()).collect();
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
    VendorKind::ALL
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

/// A group names at least one target, each defined and listed once.
fn check_group(cfg: &Config, group: &str, members: &[String]) -> Result<(), String> {
    check_name(group).map_err(|m| format!("[groups]: {m}"))?;
    if members.is_empty() {
        return Err(format!("[groups]: {group} = [] names no target"));
    }
    for (i, m) in members.iter().enumerate() {
        if !cfg.targets.contains_key(m) {
            let known: Vec<&str> = cfg.targets.keys().map(String::as_str).collect();
            return Err(format!(
                "[groups]: {group} names target `{m}`, which is not defined (targets: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        }
        if members[..i].contains(m) {
            return Err(format!("[groups]: {group} names target `{m}` twice"));
        }
    }
    Ok(())
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
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
}

/// A target's common keys, typed. Its vendor settings are read by [`vendor_values`]; the
/// first pass refused unknown keys, so serde may skip those here.
#[derive(Debug, Deserialize)]
struct RawTarget {
    vendor: VendorKind,
    base_url: Option<String>,
    batch_size: Option<usize>,
    max_rps: Option<f64>,
    max_items_per_sec: Option<f64>,
    concurrency: Option<u32>,
    max_retries: Option<u32>,
    max_per_window: Option<crate::vendor::Rate>,
    #[serde(default)]
    credentials: BTreeMap<String, String>,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    column: Option<String>,
}

/// The vendor settings of a target's table, by the keys its vendor's row lists, checked
/// against their kind (text or true/false).
fn vendor_values(vendor: VendorKind, t: &toml::Table, name: &str) -> Result<Values, String> {
    let mut values = Values::default();
    for p in vendor.vendor().params {
        let Some(v) = t.get(p.key) else { continue };
        let text = match (p.kind, v) {
            (ParamKind::Text, toml::Value::String(s)) => s.clone(),
            (ParamKind::Switch, toml::Value::Boolean(b)) => b.to_string(),
            (ParamKind::Text, _) => {
                return Err(format!("[targets.{name}]: {} must be a string", p.key));
            }
            (ParamKind::Switch, _) => {
                return Err(format!("[targets.{name}]: {} must be true or false", p.key));
            }
        };
        values.set(p.key, text);
    }
    Ok(values)
}

/// The old keys a target sets, each with the key that replaces it.
fn old_keys(values: &Values) -> Vec<(&'static str, &'static str)> {
    values
        .keys()
        .filter_map(|k| Some((k, params::param(k)?.renamed_to?)))
        .collect()
}

impl RawTarget {
    fn into_target(
        self,
        name: &str,
        file: &str,
        secrets_allowed: bool,
        mut values: Values,
    ) -> Result<TargetConfig, UserError> {
        let err = |m: String| usage_in(file, m);
        let vendor = self.vendor;
        let info = vendor.info();
        let limits = TargetLimits {
            max_rps: self.max_rps,
            max_items_per_sec: self.max_items_per_sec,
            concurrency: self.concurrency,
            max_retries: self.max_retries,
            max_per_window: self.max_per_window,
        };
        limits.check(&format!("[targets.{name}]")).map_err(err)?;
        // Each setting under its one name; an old key (already noted as deprecated) still
        // works, and only one of the two may be given.
        for (old, new) in old_keys(&values) {
            if values.has(new) {
                return Err(err(format!(
                    "[targets.{name}]: `{old}` is the old name of `{new}`; set `{new}` only"
                )));
            }
            let v = values.remove(old).unwrap_or_default();
            values.set(new, v);
        }
        // A closed set (a pod, CleverTap's identifier types) is checked here, and listed.
        for p in vendor.vendor().params {
            if let (Some(choices), Some(v)) = (p.choices, values.get(p.key))
                && !choices.contains(&v)
            {
                return Err(err(format!(
                    "[targets.{name}]: {} = {v:?} is not one of {}",
                    p.key,
                    choices.join(", ")
                )));
            }
        }
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
            // The value is not repeated: it may carry a password.
            return Err(err(format!(
                "[targets.{name}]: base_url must start with https:// or http://"
            )));
        }
        if let Some(p) = values.get("path")
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

        let settings = values
            .keys()
            .map(|k| (k.to_owned(), values.text(k)))
            .collect();
        let args = VendorArgs {
            vendor: Some(vendor),
            base_url: self.base_url,
            ..VendorArgs::default()
        }
        .with_values(&values);
        Ok(TargetConfig {
            name: name.to_owned(),
            vendor,
            path: args.path.clone(),
            args,
            batch_size: self.batch_size,
            limits,
            credentials,
            secrets,
            secrets_ignored,
            settings,
            column: self.column,
        })
    }
}
