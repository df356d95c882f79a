//! From the config file and the command line to runnable targets.
//!
//! Precedence, per setting: command-line flag, then environment (clap folds the env-backed
//! flags such as `CDP_PURGE_BASE_URL` into the flags), then the target's table, then
//! `[defaults]`, then the built-in default. Credentials: the variable the file names (or the
//! vendor's standard one) in the environment, then `--credentials-file`, then literal secrets
//! from a file only its owner can read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{Config, TargetConfig, TargetLimits, create_hint, credential_roles};
use crate::cli::{DeliveryArgs, InputArgs, VendorArgs};
use crate::error::UserError;
use crate::input::IntakeSpec;
use crate::settings::{self, Stage, Target};
use crate::vendor::{Secret, VendorKind, params};

/// One target ready to plan or run.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `target.name` is the config target's name (the vendor id for a plain `--vendor` run).
    pub target: Target,
    pub intake: IntakeSpec,
    /// Command-line flags over the target's table over `[defaults]`. A `None` left here means
    /// the vendor's own default: its quota for the rates, `default_concurrency`, and
    /// [`super::DEFAULT_MAX_RETRIES`] (see [`TargetLimits::max_retries_or_default`]).
    pub limits: TargetLimits,
    /// Hightouch: the user confirmed the warehouse rows are gone (`--source-data-deleted`
    /// or `source_data_deleted = true` in the target's table).
    pub source_data_deleted: bool,
}

/// Every target a `plan`/`delete` command line asks for, in order.
///
/// Without `--target`/`--all-targets` this is the single target the flags describe and the
/// config file is not read, so a plain `--vendor` run behaves as it always did. `delivery` is
/// `None` for `plan`; `with_credentials` loads and checks credentials (a real run).
pub fn resolve_all(
    flags: &VendorArgs,
    input: &InputArgs,
    delivery: Option<&DeliveryArgs>,
    config: Option<&Path>,
    with_credentials: bool,
) -> anyhow::Result<Vec<Resolved>> {
    let flag_limits = delivery.map(TargetLimits::from_flags).unwrap_or_default();
    let stage = if delivery.is_some() {
        Stage::Send
    } else {
        Stage::Plan
    };
    if flags.targets.is_empty() && !flags.all_targets && flags.group.is_none() {
        if !input.column_for.is_empty() {
            return Err(UserError::usage(
                "--column-for names a target: use it with --target, --group or --all-targets",
            )
            .into());
        }
        if let Some(kind) = flags.vendor {
            settings::check_applicable(flags, &[kind], &format!("--vendor {kind}"))?;
            settings::require(flags, kind, stage, Some(&input.inputs))?;
        }
        let target = settings::target(flags, input.batch_size, stage, with_credentials)?;
        let intake = settings::intake(input, flags)?;
        return Ok(vec![Resolved {
            target,
            intake,
            limits: flag_limits,
            source_data_deleted: flags.source_data_deleted,
        }]);
    }
    let cfg = super::load(config)?;
    let names = select(&cfg, flags)?;
    check_applicable(&cfg, &names, flags)?;
    let columns = column_for(&input.column_for, &names)?;
    if input.inputs.is_empty() {
        return Err(UserError::usage("no input: give FILE, -i FILE, or - for stdin").into());
    }
    if names.len() > 1 && input.inputs.iter().any(|p| p.as_os_str() == "-") {
        return Err(UserError::usage(format!(
            "stdin (-i -) can be read for one target only, and {} were selected",
            names.len()
        ))
        .with_hint("save the input to a file first")
        .into());
    }
    names
        .iter()
        .map(|name| {
            // The column this target reads: --column-for, its `column`, then --column.
            let column = columns
                .get(name.as_str())
                .map(|c| (*c).to_owned())
                .or_else(|| cfg.targets.get(name).and_then(|t| t.column.clone()));
            let own;
            let input = match column {
                Some(c) => {
                    own = InputArgs {
                        column: Some(c),
                        column_index: None,
                        ..input.clone()
                    };
                    &own
                }
                None => input,
            };
            resolve_target(name, &cfg, flags, input, delivery, with_credentials)
        })
        .collect()
}

/// `--column-for TARGET=COLUMN` by target, each naming a selected target.
fn column_for<'a>(
    given: &'a [String],
    names: &[String],
) -> anyhow::Result<BTreeMap<&'a str, &'a str>> {
    let mut out = BTreeMap::new();
    for g in given {
        let Some((target, column)) = g
            .split_once('=')
            .filter(|(t, c)| !t.is_empty() && !c.is_empty())
        else {
            return Err(
                UserError::usage(format!("--column-for {g:?}: expected TARGET=COLUMN")).into(),
            );
        };
        if !names.iter().any(|n| n == target) {
            return Err(UserError::usage(format!(
                "--column-for {target}=...: `{target}` is not one of the selected targets ({})",
                names.join(", ")
            ))
            .into());
        }
        out.insert(target, column);
    }
    Ok(out)
}

/// The vendor flags of a command line over config targets: each must belong to the vendor of
/// at least one selected target (it applies to those only).
fn check_applicable(cfg: &Config, names: &[String], flags: &VendorArgs) -> anyhow::Result<()> {
    let mut vendors: Vec<VendorKind> = names
        .iter()
        .filter_map(|n| cfg.targets.get(n).map(|t| t.vendor))
        .collect();
    vendors.sort();
    vendors.dedup();
    let whom = match names {
        [one] => format!("target `{one}` ({})", vendors[0]),
        _ => format!(
            "none of the selected targets ({}) is of that vendor, and it",
            names.join(", ")
        ),
    };
    Ok(settings::check_applicable(flags, &vendors, &whom)?)
}

/// The target names `--target`/`--all-targets` select, checked against the file.
pub fn select(cfg: &Config, flags: &VendorArgs) -> anyhow::Result<Vec<String>> {
    if let Some(group) = &flags.group {
        return group_members(cfg, group).map(<[String]>::to_vec);
    }
    if flags.all_targets {
        let names: Vec<String> = cfg
            .targets
            .values()
            .filter(|t| flags.vendor.is_none_or(|v| v == t.vendor))
            .map(|t| t.name.clone())
            .collect();
        if names.is_empty() {
            let what = match flags.vendor {
                Some(v) => format!("no {v} targets"),
                None => "no targets".to_owned(),
            };
            let err = if cfg.found {
                UserError::usage(format!(
                    "--all-targets: {} defines {what}",
                    cfg.display_path()
                ))
                .with_hint("add [targets.NAME] tables; see docs/config.md")
            } else {
                UserError::usage(format!(
                    "--all-targets: there is no config file at {}",
                    cfg.display_path()
                ))
                .with_hint(create_hint())
            };
            return Err(err.into());
        }
        return Ok(names);
    }
    let mut names: Vec<String> = Vec::new();
    for n in &flags.targets {
        cfg.get(n)?;
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    Ok(names)
}

/// The targets of `[groups] NAME`, in the file's order; the error lists the groups.
pub fn group_members<'a>(cfg: &'a Config, group: &str) -> anyhow::Result<&'a [String]> {
    if let Some(m) = cfg.groups.get(group) {
        return Ok(m);
    }
    let path = cfg.display_path();
    let err = if !cfg.found {
        UserError::usage(format!(
            "unknown group `{group}`: there is no config file at {path}"
        ))
        .with_hint(create_hint())
    } else if cfg.groups.is_empty() {
        UserError::usage(format!(
            "unknown group `{group}`: {path} defines no [groups]"
        ))
        .with_hint("add [groups] NAME = [\"target\", ...]; see docs/config.md")
    } else {
        let names: Vec<&str> = cfg.groups.keys().map(String::as_str).collect();
        UserError::usage(format!(
            "unknown group `{group}` (configured in {path}: {})",
            names.join(", ")
        ))
    };
    Err(err.into())
}

/// One configured target with the command line laid over it.
pub fn resolve_target(
    name: &str,
    cfg: &Config,
    flags: &VendorArgs,
    input: &InputArgs,
    delivery: Option<&DeliveryArgs>,
    with_credentials: bool,
) -> anyhow::Result<Resolved> {
    let stage = if delivery.is_some() {
        Stage::Send
    } else {
        Stage::Plan
    };
    let (target, merged, limits) =
        configured_target(name, cfg, flags, input.batch_size, stage, with_credentials)?;
    let context = || format!("target `{name}` (from {})", cfg.display_path());
    let intake = settings::intake(input, &merged).with_context(context)?;
    let flag_limits = delivery.map(TargetLimits::from_flags).unwrap_or_default();
    Ok(Resolved {
        target,
        intake,
        limits: flag_limits.or(limits),
        source_data_deleted: merged.source_data_deleted,
    })
}

/// The targets a command line names, without reading any input (for `check`).
pub fn resolve_targets_only(
    flags: &VendorArgs,
    config: Option<&Path>,
    with_credentials: bool,
) -> anyhow::Result<Vec<Target>> {
    if flags.targets.is_empty() && !flags.all_targets && flags.group.is_none() {
        if let Some(kind) = flags.vendor {
            settings::check_applicable(flags, &[kind], &format!("--vendor {kind}"))?;
        }
        return Ok(vec![settings::target(
            flags,
            None,
            Stage::Check,
            with_credentials,
        )?]);
    }
    let cfg = super::load(config)?;
    let names = select(&cfg, flags)?;
    check_applicable(&cfg, &names, flags)?;
    names
        .iter()
        .map(|name| {
            Ok(configured_target(name, &cfg, flags, None, Stage::Check, with_credentials)?.0)
        })
        .collect()
}

/// A configured target's [`Target`], its merged vendor flags (for intake) and its limits
/// from the file (target over `[defaults]`).
fn configured_target(
    name: &str,
    cfg: &Config,
    flags: &VendorArgs,
    batch_size: Option<usize>,
    stage: Stage,
    with_credentials: bool,
) -> anyhow::Result<(Target, VendorArgs, TargetLimits)> {
    let t = cfg.get(name)?;
    let file = cfg.display_path();
    if let Some(v) = flags.vendor
        && v != t.vendor
    {
        return Err(UserError::usage(format!(
            "--vendor {v} does not match target `{name}`, which has vendor = \"{}\" in {file}",
            t.vendor
        ))
        .with_hint("drop --vendor when using --target")
        .into());
    }
    let merged = merge(&t.args, flags);
    let context = || format!("target `{name}` (from {file})");
    let mut target = settings::target(&merged, batch_size.or(t.batch_size), stage, false)
        .with_context(context)?;
    target.name = name.to_owned();
    if with_credentials {
        target.credentials =
            load_credentials(t, flags.credentials_file.as_deref(), &file).with_context(context)?;
    }
    Ok((target, merged, t.limits.or(cfg.defaults)))
}

/// The file's vendor settings with every flag given on the command line laid over them. The
/// file's old key names were folded into `id_type` when it was read; the command line's old
/// flags are folded here, for this target's vendor only.
fn merge(file: &VendorArgs, flags: &VendorArgs) -> VendorArgs {
    let Some(kind) = file.vendor else {
        return file.clone();
    };
    let mut values = file.values();
    let given = flags.values();
    // The identifier kind is one choice (a fixed type or a type column), so a flag for
    // either replaces the file's choice as a whole rather than clashing with it.
    let flag_type = given.id_type(kind).map(str::to_owned);
    let flag_column = given
        .current(kind, "id_type_column")
        .filter(|_| kind.takes("id_type_column"))
        .map(str::to_owned);
    if flag_type.is_some() || flag_column.is_some() {
        values.remove("id_type");
        values.remove("id_type_column");
        values.set_opt("id_type", flag_type);
        values.set_opt("id_type_column", flag_column);
    }
    // A flag of another vendor was checked to belong to some selected target: it applies to
    // those only, and leaves this target's settings alone. Old names were folded above.
    for key in given.keys() {
        let current = params::param(key).is_some_and(|p| p.renamed_to.is_none());
        if current && kind.takes(key) && !matches!(key, "id_type" | "id_type_column") {
            values.set(key, given.text(key));
        }
    }
    VendorArgs {
        vendor: file.vendor,
        base_url: flags.base_url.clone().or_else(|| file.base_url.clone()),
        allow_insecure_http: flags.allow_insecure_http,
        credentials_file: flags.credentials_file.clone(),
        ..VendorArgs::default()
    }
    .with_values(&values)
}

/// Where one credential of a target stands. Never holds the value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CredentialStatus {
    /// The key in the target's `credentials` table (`key`, `secret`, `token`, ...).
    pub name: &'static str,
    /// The environment variable holding it.
    pub variable: String,
    pub set: bool,
    /// `env`, `config` (a literal secret), or `null` when not set.
    pub source: Option<&'static str>,
}

/// Whether each credential of a target is available, without reading `--credentials-file`.
pub fn credential_status(t: &TargetConfig) -> Vec<CredentialStatus> {
    credential_status_with(t, &env_nonempty)
}

pub(super) fn credential_status_with(
    t: &TargetConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<CredentialStatus> {
    credential_roles(t.vendor)
        .iter()
        .map(|&(role, standard)| {
            let variable = t.credential_var(standard).to_owned();
            let source = if env(&variable).is_some() {
                Some("env")
            } else if t.secrets.contains_key(standard) {
                Some("config")
            } else {
                None
            };
            CredentialStatus {
                name: role,
                variable,
                set: source.is_some(),
                source,
            }
        })
        .collect()
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.is_empty())
}

/// The credentials of the configured target `name` and its vendor, read from the variables
/// the target names (for `status --target`, which works from a ledger, not from flags).
pub fn target_credentials(
    name: &str,
    config: Option<&Path>,
    credentials_file: Option<&Path>,
) -> anyhow::Result<(crate::vendor::VendorKind, BTreeMap<&'static str, Secret>)> {
    let cfg = super::load(config)?;
    let t = cfg.get(name)?;
    let file = cfg.display_path();
    let creds = load_credentials(t, credentials_file, &file)
        .with_context(|| format!("target `{name}` (from {file})"))?;
    Ok((t.vendor, creds))
}

/// A target's credentials, keyed by the standard variable names the adapters read.
fn load_credentials(
    t: &TargetConfig,
    credentials_file: Option<&Path>,
    config_file: &str,
) -> anyhow::Result<BTreeMap<&'static str, Secret>> {
    load_credentials_with(t, credentials_file, config_file, &env_nonempty)
}

/// [`load_credentials`] with the environment passed in (tests must not mutate the real one).
pub(super) fn load_credentials_with(
    t: &TargetConfig,
    credentials_file: Option<&Path>,
    config_file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<BTreeMap<&'static str, Secret>> {
    let from_file = match credentials_file {
        Some(p) => settings::read_credentials_file(p)?,
        None => BTreeMap::new(),
    };
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for (role, standard) in credential_roles(t.vendor) {
        let var = t.credential_var(standard);
        let value = env(var)
            .filter(|v| !v.is_empty())
            .or_else(|| from_file.get(var).filter(|v| !v.is_empty()).cloned())
            .map(|v| Secret::from_origin(v, var))
            .or_else(|| {
                t.secrets.get(standard).map(|s| {
                    Secret::from_origin(
                        s.expose(),
                        format!(
                            "the {role} in [targets.{}.secrets] of {config_file}",
                            t.name
                        ),
                    )
                })
            });
        match value {
            Some(v) => {
                out.insert(standard, v);
            }
            None => missing.push((role, var.to_owned())),
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let vars: Vec<String> = missing.iter().map(|(_, v)| v.clone()).collect();
    let mut hint = format!(
        "export {} (or list them in a --credentials-file); they are never taken from the command line",
        vars.iter()
            .map(|v| format!("{v}=..."))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if t.secrets_ignored {
        hint.push_str(&format!(
            "; the secrets in [targets.{}.secrets] were ignored because {config_file} is readable by others: chmod 600 it",
            t.name
        ));
    }
    Err(UserError::usage(format!(
        "{} credentials missing: {}",
        t.vendor.info().name,
        missing
            .iter()
            .map(|(role, var)| format!("{var} ({role})"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .with_hint(hint)
    .into())
}

/// `rejects.csv` → `rejects.NAME.csv`, for runs over several targets.
pub fn per_target_path(p: &Path, name: &str) -> PathBuf {
    let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
    let ext = p.extension().map(|s| s.to_string_lossy().into_owned());
    let file = match (stem, ext) {
        (Some(s), Some(e)) => format!("{s}.{name}.{e}"),
        (Some(s), None) => format!("{s}.{name}"),
        _ => name.to_owned(),
    };
    p.with_file_name(file)
}
