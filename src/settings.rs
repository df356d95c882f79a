//! Resolve command-line flags and the environment into validated plain structs.
//! Everything here is checked before anything is read or sent.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::{InputArgs, VendorArgs};
use crate::exit::UserError;
use crate::input::{ColumnSel, DEFAULT_NULL_VALUES, IntakeSpec, KindSource};
use crate::vendor::{Secret, VendorKind, params};

pub use crate::vendor::{Stage, Target, VendorParams};

pub use crate::config::{
    Resolved, TargetLimits, resolve_all, resolve_target, resolve_targets_only,
};

/// The vendor of a command line that names no `--target`: `--vendor` is required then.
fn vendor_of(v: &VendorArgs) -> Result<VendorKind, UserError> {
    v.vendor.ok_or_else(|| {
        UserError::usage(
            "no vendor: give --vendor NAME, or --target NAME for a target in the config file",
        )
        .with_hint(
            "`cdp-purge vendors` lists the vendors, `cdp-purge targets` the configured targets",
        )
    })
}

/// The identifier type the flags give for `kind`: `--id-type`, else the vendor's old flag,
/// else the one type the vendor takes (a type column, where taken, is the user's choice).
pub fn id_type(v: &VendorArgs, kind: VendorKind) -> Option<String> {
    let values = v.values();
    values
        .id_type(kind)
        .or_else(|| {
            let by_column = values.current(kind, "id_type_column").is_some();
            kind.vendor().only_id_type.filter(|_| !by_column)
        })
        .map(str::to_owned)
}

/// The vendor settings a command line gives, by their key (old names included), in the
/// order messages list them.
pub fn given(v: &VendorArgs) -> Vec<&'static str> {
    let values = v.values();
    params::all()
        .into_iter()
        .map(|p| p.key)
        .filter(|k| values.has(k))
        .collect()
}

/// A flag given on the command line that none of `vendors` takes is an error naming the
/// vendor it belongs to, as the config file rejects the same key: a setting silently
/// ignored is how deletions end up somewhere else than the user thinks. `whom` names the
/// destination in the message (`--vendor lytics`, `the selected targets (a, b)`).
pub fn check_applicable(
    v: &VendorArgs,
    vendors: &[VendorKind],
    whom: &str,
) -> Result<(), UserError> {
    let foreign: Vec<&params::Param> = given(v)
        .into_iter()
        .filter_map(params::param)
        .filter(|p| !vendors.iter().any(|k| k.takes(p.key)))
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    let describe = |p: &params::Param| {
        let flag = params::flag(p.key).unwrap_or_default();
        match p.renamed_to.and_then(params::flag) {
            Some(new) => format!("`{flag}` (now {new}) is a flag of {}", params::owners(p)),
            None => format!("`{flag}` is a flag of {}", params::owners(p)),
        }
    };
    let what: Vec<String> = foreign.iter().map(|p| describe(p)).collect();
    let takes: Vec<String> = vendors
        .iter()
        .map(|k| format!("{} takes {}", k.info().name, params::flags(*k)))
        .collect();
    let drop: Vec<String> = foreign.iter().filter_map(|p| params::flag(p.key)).collect();
    Err(UserError::usage(format!(
        "{}; {whom} does not take {}",
        what.join(", "),
        if foreign.len() == 1 { "it" } else { "them" }
    ))
    .with_hint(format!("{}; drop {}", takes.join("; "), drop.join(" "))))
}

/// Every required setting `v` lacks for `kind` at `stage`, reported in one message (not one
/// per run). `inputs` is `None` where the command reads no input.
pub fn require(
    v: &VendorArgs,
    kind: VendorKind,
    stage: Stage,
    inputs: Option<&[std::path::PathBuf]>,
) -> Result<(), UserError> {
    let mut missing: Vec<&str> = Vec::new();
    if inputs.is_some_and(<[_]>::is_empty) {
        missing.push("FILE (the input; or -i FILE, - for stdin)");
    }
    missing.extend((kind.vendor().missing)(&v.values(), stage));
    if missing.is_empty() {
        return Ok(());
    }
    Err(
        UserError::usage(format!("--vendor {kind} needs: {}", missing.join("; "))).with_hint(
            format!(
                "{} takes {} (in a config target: the same keys with underscores)",
                kind.info().name,
                params::flags(kind)
            ),
        ),
    )
}

/// Resolve the vendor flags into a target. `with_credentials` loads and checks credentials
/// (a real run); `plan` does not need them.
pub fn target(
    v: &VendorArgs,
    batch_size: Option<usize>,
    stage: Stage,
    with_credentials: bool,
) -> anyhow::Result<Target> {
    let kind = vendor_of(v)?;
    require(v, kind, stage, None)?;
    let info = kind.info();
    // `require` has checked what `stage` needs; the rest are placeholders for `plan`.
    let values = v.values();
    let (params, default_host) = (kind.vendor().resolve)(&values)?;
    let proving = (kind.vendor().proving_batch)(&values);
    let base_url = match &v.base_url {
        Some(u) => check_base_url(u, v.allow_insecure_http)?,
        None => default_host,
    };
    let batch_size = match batch_size {
        None => proving.map_or(info.default_batch, |(n, _)| n.min(info.default_batch)),
        Some(0) => return Err(UserError::usage("--batch-size must be at least 1").into()),
        Some(n) if n > info.max_batch => {
            return Err(UserError::usage(format!(
                "--batch-size {n} is above {}'s cap of {} identifiers per request",
                info.name, info.max_batch
            ))
            .with_hint(format!("use --batch-size {} or less", info.max_batch))
            .into());
        }
        Some(n) => match proving {
            Some((max, why)) if n > max => {
                return Err(UserError::usage(format!(
                    "--batch-size {n} would leave every identifier unproven: {why}"
                ))
                .with_hint(format!(
                    "leave --batch-size out (the default is {max} here) or use --batch-size {max}"
                ))
                .into());
            }
            _ => n,
        },
    };
    let credentials = if with_credentials {
        load_credentials(kind, v.credentials_file.as_deref())?
    } else {
        BTreeMap::new()
    };
    Ok(Target {
        name: kind.id().to_owned(),
        vendor: kind,
        base_url,
        params,
        credentials,
        batch_size,
    })
}

/// The ids of the vendors that take `key`, joined with `sep`: `segment and hightouch`.
fn ids_of(key: &str, sep: &str) -> String {
    params::vendors_of(key)
        .iter()
        .map(|k| k.id())
        .collect::<Vec<_>>()
        .join(sep)
}

/// A URL for messages: scheme, host, port and path only. The user name, password, query
/// and fragment are left out, since that is where credentials hide.
fn shown_url(u: &reqwest::Url) -> String {
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        u.scheme(),
        u.host_str().unwrap_or(""),
        u.path().trim_end_matches('/')
    )
}

/// Whether `u` points at this machine: a cleartext request there never crosses a network.
fn is_loopback(u: &reqwest::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

/// `--base-url` (or a target's `base_url`), checked: `https://`, or `http://` to a loopback
/// host (the sandbox, a local proxy) unless `allow_insecure_http`; never with a user name,
/// password or query string, which would end up in shell history, process lists, the
/// start-up banner and the ledger, and would break the request URLs. Returns it without a
/// trailing slash. The error never repeats the URL whole.
pub fn check_base_url(raw: &str, allow_insecure_http: bool) -> anyhow::Result<String> {
    let env_hint = "credentials are read from the environment (export VAR=...) or --credentials-file, never from the URL";
    let Ok(u) = reqwest::Url::parse(raw.trim()) else {
        return Err(UserError::usage(
            "--base-url is not a valid URL (expected https://HOST[:PORT][/PATH])",
        )
        .into());
    };
    let shown = shown_url(&u);
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none_or(str::is_empty) {
        return Err(UserError::usage(format!(
            "--base-url must be https://HOST (or http:// to this machine), got {shown}"
        ))
        .into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(UserError::usage(format!(
            "--base-url {shown} carries a user name or password; refusing to use it"
        ))
        .with_hint(env_hint)
        .into());
    }
    if u.query().is_some() || u.fragment().is_some() {
        let credential_like = u.query_pairs().any(|(k, _)| {
            let k = k.to_ascii_lowercase();
            [
                "key", "token", "secret", "pass", "auth", "sig", "code", "cred",
            ]
            .iter()
            .any(|w| k.contains(w))
        });
        let what = if credential_like {
            "a query string that looks like a credential"
        } else {
            "a query string or fragment"
        };
        return Err(UserError::usage(format!(
            "--base-url {shown} carries {what}; refusing to use it"
        ))
        .with_hint(format!("give the scheme, host and path only; {env_hint}"))
        .into());
    }
    if u.scheme() == "http" && !is_loopback(&u) && !allow_insecure_http {
        return Err(UserError::usage(format!(
            "--base-url {shown} is plain http: the vendor credentials would cross the network unencrypted"
        ))
        .with_hint("use https://, or pass --allow-insecure-http if the path to that host is trusted")
        .into());
    }
    Ok(raw.trim().trim_end_matches('/').to_owned())
}

/// Credentials from the environment, then a `--credentials-file` (KEY=VALUE lines) for the
/// ones the environment lacks. Missing ones are an error naming the variables.
pub fn load_credentials(
    kind: VendorKind,
    file: Option<&Path>,
) -> anyhow::Result<BTreeMap<&'static str, Secret>> {
    let from_file = match file {
        Some(path) => read_credentials_file(path)?,
        None => BTreeMap::new(),
    };
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for &name in kind.info().credentials {
        match credential(name, &from_file) {
            Some(v) => {
                out.insert(name, v);
            }
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        return Err(UserError::usage(format!("{} credentials missing: {}", kind.info().name, missing.join(", ")))
            .with_hint(format!(
                "export {} (or list them in a --credentials-file); they are never taken from the command line",
                missing.iter().map(|m| format!("{m}=...")).collect::<Vec<_>>().join(" ")
            ))
            .into());
    }
    Ok(out)
}

/// A `--credentials-file`: `KEY=VALUE` lines, `#` comments, optional `export ` and quotes.
pub fn read_credentials_file(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut from_file = BTreeMap::new();
    let text = std::fs::read_to_string(path).map_err(|e| {
        UserError::usage(format!(
            "cannot read credentials file {}: {e}",
            path.display()
        ))
    })?;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, val)) = line.split_once('=') else {
            return Err(UserError::usage(format!(
                "{}:{}: expected KEY=VALUE",
                path.display(),
                n + 1
            ))
            .into());
        };
        let val = val.trim().trim_matches('"').trim_matches('\'');
        from_file.insert(k.trim().to_owned(), val.to_owned());
    }
    Ok(from_file)
}

/// One credential: the environment first, then the credentials file. The secret remembers
/// the variable it came from.
pub fn credential(name: &str, from_file: &BTreeMap<String, String>) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| from_file.get(name).cloned())
        .map(|v| Secret::from_origin(v, name))
}

/// Resolve the input flags for a target into an intake spec.
pub fn intake(i: &InputArgs, v: &VendorArgs) -> anyhow::Result<IntakeSpec> {
    let column = match (&i.column, i.column_index) {
        (Some(c), _) => ColumnSel::Name(c.clone()),
        (None, Some(n)) => ColumnSel::Index(n),
        (None, None) => ColumnSel::Whole,
    };
    let vendor = vendor_of(v)?;
    let fixed_kind = id_type(v, vendor);
    let column_of_kinds = v
        .id_type_column
        .clone()
        .or_else(|| v.old_identifier_type_column.clone());
    let kind = match (fixed_kind, &column_of_kinds) {
        (Some(_), Some(_)) => {
            return Err(UserError::usage(
                "give either a fixed identifier type or --id-type-column, not both",
            )
            .into());
        }
        (Some(k), None) => KindSource::Fixed(k),
        (None, Some(c)) if vendor.takes("id_type_column") => {
            KindSource::Column(ColumnSel::Name(c.clone()))
        }
        (None, Some(_)) => {
            return Err(UserError::usage(format!(
                "--id-type-column is for {}, not {vendor}",
                ids_of("id_type_column", " and ")
            ))
            .into());
        }
        (None, None) => {
            return Err(require(v, vendor, Stage::Plan, None)
                .err()
                .unwrap_or_else(|| UserError::usage(format!("--vendor {vendor} needs --id-type")))
                .into());
        }
    };
    // A vendor that takes a lookup column finds each profile by it: it is required, unless
    // the profile is looked up by a value of the row (`--lookup-type`).
    let by_value = vendor.takes("lookup_type") && v.lookup_type.is_some();
    let lookup = match (vendor.takes("user_id_column"), &v.user_id_column) {
        (true, Some(c)) => Some(ColumnSel::Name(c.clone())),
        // Looked up through the vendor's profile API: by default, by the identifier itself.
        (true, None) if by_value => Some(
            v.lookup_column
                .clone()
                .map_or_else(|| column.clone(), ColumnSel::Name),
        ),
        (true, None) => {
            return Err(UserError::usage(format!(
                "--vendor {vendor} needs --user-id-column (the column with each row's lookup user_id)"
            ))
            .into());
        }
        (false, Some(_)) => {
            return Err(UserError::usage(format!(
                "--user-id-column is for --vendor {} only",
                ids_of("user_id_column", " or --vendor ")
            ))
            .into());
        }
        (false, None) => None,
    };
    if (matches!(kind, KindSource::Column(_)) || lookup.is_some()) && column == ColumnSel::Whole {
        return Err(UserError::usage(
            "with a type or user_id column, name the identifier column with --column",
        )
        .into());
    }
    Ok(IntakeSpec {
        inputs: i.inputs.clone(),
        format: i.format,
        column,
        delimiter: i.delimiter,
        no_header: i.no_header,
        null_values: i.null_values.clone().unwrap_or_else(|| {
            DEFAULT_NULL_VALUES
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        }),
        lowercase: i.lowercase,
        validate: !i.no_validate,
        kind,
        lookup,
        lookup_by_value: by_value,
        one_read: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str, allow_http: bool) -> String {
        let e = check_base_url(url, allow_http).expect_err(url);
        let (code, hint) = crate::exit::classify(&e);
        assert_eq!(code, crate::exit::Code::Usage);
        format!("{e} | {}", hint.unwrap_or_default())
    }

    #[test]
    fn base_urls_with_credentials_are_refused_without_repeating_them() {
        for (url, says) in [
            (
                "https://user:hunter2pw@api.example.com",
                "user name or password",
            ),
            (
                "https://tok3n-only@api.example.com/v2",
                "user name or password",
            ),
            (
                "https://api.example.com/?api_key=hunter2pw",
                "looks like a credential",
            ),
            (
                "https://api.example.com/v1?access_token=hunter2pw&x=1",
                "looks like a credential",
            ),
            ("https://api.example.com/?region=eu", "query string"),
            ("https://api.example.com/#hunter2pw", "fragment"),
        ] {
            let msg = refused(url, true);
            assert!(msg.contains(says), "{url}: {msg}");
            assert!(msg.contains("api.example.com"), "{msg}");
            for leak in ["hunter2pw", "tok3n-only", "user:"] {
                assert!(!msg.contains(leak), "{url}: {msg}");
            }
            assert!(msg.contains("environment"), "{msg}");
        }
        assert!(refused("ftp://h.example.com", false).contains("https://"));
        assert!(refused("not a url", false).contains("not a valid URL"));
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:9/",
            "http://[::1]:8080/x",
            "http://127.8.9.10",
            "https://api.example.com/",
        ] {
            assert!(check_base_url(ok, false).is_ok(), "{ok}");
        }
        for far in [
            "http://api.example.com",
            "http://10.0.0.5:8080",
            "http://[2001:db8::1]",
        ] {
            assert!(
                refused(far, false).contains("--allow-insecure-http"),
                "{far}"
            );
            assert!(check_base_url(far, true).is_ok(), "{far}");
        }
        assert_eq!(
            check_base_url("https://proxy.example.com/lytics/", false).unwrap(),
            "https://proxy.example.com/lytics"
        );
    }
}
