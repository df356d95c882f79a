use std::path::Path;

use super::resolve::{credential_status_with, load_credentials_with};
use super::*;
use crate::cli::{Cli, Command, Environment, PlanArgs, Pod};
use crate::error::{Class, UserError};
use crate::input::KindSource;
use crate::settings::VendorParams;

const FILE: &str = "/etc/cdp-purge.toml";

fn parse(text: &str) -> anyhow::Result<Config> {
    Config::parse(text, Path::new(FILE), Some(0o600))
}

/// The error's message and hint, as the user would see them.
fn error_text(e: &anyhow::Error) -> String {
    let hint = UserError::find(e).and_then(|u| u.hint.clone());
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    format!("{} | hint: {}", chain.join(" | "), hint.unwrap_or_default())
}

fn parse_err(text: &str) -> String {
    let e = parse(text).expect_err("should be rejected");
    assert_eq!(UserError::find(&e).map(|u| u.class), Some(Class::Usage));
    error_text(&e)
}

/// `plan` arguments as the command line would give them.
fn plan_args(extra: &[&str]) -> PlanArgs {
    let mut argv = vec!["cdp-purge", "plan", "-i", "ids.csv", "--column", "id"];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv)
        .expect("valid command line")
        .command
    {
        Command::Plan(p) => p,
        _ => unreachable!(),
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

const MP: &str = r#"
[defaults]
concurrency = 8
max_retries = 5

[targets.mp-prod]
vendor = "mparticle"
pod = "eu1"
environment = "production"
id_type = "customerid"
batch_size = 50
max_items_per_sec = 1200
credentials = { key = "MP_PROD_KEY", secret = "MP_PROD_SECRET" }
"#;

#[test]
fn the_shipped_example_is_valid() {
    let cfg = parse(include_str!("../../examples/cdp-purge.toml")).expect("example parses");
    let names: Vec<&str> = cfg.targets.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "clevertap-in",
            "hightouch-main",
            "lytics-eu",
            "mp-prod",
            "segment-us"
        ]
    );
    // Every example target resolves with no flags beyond the input.
    let p = plan_args(&["--all-targets"]);
    for name in cfg.targets.keys() {
        resolve_target(name, &cfg, &p.vendor, &p.input, None, false)
            .unwrap_or_else(|e| panic!("{name}: {}", error_text(&e)));
    }
}

#[test]
fn a_valid_file_parses_into_targets_and_limits() {
    let cfg = parse(MP).unwrap();
    let t = cfg.get("mp-prod").unwrap();
    assert_eq!(t.vendor, VendorKind::Mparticle);
    assert_eq!(t.args.pod, Some(Pod::Eu1));
    assert_eq!(t.args.environment, Some(Environment::Production));
    assert_eq!(t.batch_size, Some(50));
    assert_eq!(t.limits.max_items_per_sec, Some(1200.0));
    assert_eq!(cfg.defaults.concurrency, Some(8));
    assert_eq!(t.credential_var("MPARTICLE_API_KEY"), "MP_PROD_KEY");
    assert!(cfg.warnings.is_empty());

    let p = plan_args(&["--target", "mp-prod"]);
    let r = resolve_target("mp-prod", &cfg, &p.vendor, &p.input, None, false).unwrap();
    assert_eq!(r.target.name, "mp-prod");
    assert_eq!(r.target.base_url, "https://s2s.eu1.mparticle.com");
    assert_eq!(r.target.batch_size, 50);
    assert_eq!(r.intake.kind, KindSource::Fixed("customerid".into()));
    assert_eq!(
        r.limits,
        TargetLimits {
            max_rps: None,
            max_items_per_sec: Some(1200.0),
            concurrency: Some(8),
            max_retries: Some(5),
            max_per_window: None,
        }
    );
}

#[test]
fn an_empty_file_has_no_targets() {
    let cfg = parse("").unwrap();
    assert!(cfg.found && cfg.targets.is_empty());
    let e = cfg.get("x").unwrap_err();
    assert!(error_text(&e).contains("defines no targets"), "{e}");
}

#[test]
fn unknown_key_names_the_key_the_target_and_the_file() {
    let msg = parse_err(&MP.replace("batch_size = 50", "batch_sise = 50"));
    assert!(msg.contains("unknown key `batch_sise`"), "{msg}");
    assert!(msg.contains("[targets.mp-prod]"), "{msg}");
    assert!(msg.contains(FILE), "{msg}");
    assert!(
        msg.contains("id_type"),
        "the hint lists the valid keys: {msg}"
    );
    assert!(
        !msg.contains("identity_type"),
        "old names stay out of the hint: {msg}"
    );

    let msg = parse_err(&MP.replace("id_type =", "id-type ="));
    assert!(msg.contains("did you mean `id_type`"), "{msg}");

    let msg = parse_err("[target.x]\nvendor = \"lytics\"\n");
    assert!(
        msg.contains("unknown key `target`") && msg.contains("[targets.NAME]"),
        "{msg}"
    );

    let msg = parse_err("[defaults]\nbatch_size = 10\n");
    assert!(
        msg.contains("[defaults]") && msg.contains("per target"),
        "{msg}"
    );

    let msg = parse_err(&MP.replace("key = \"MP_PROD_KEY\"", "api_key = \"MP_PROD_KEY\""));
    assert!(msg.contains("unknown credential `api_key`"), "{msg}");
    assert!(
        msg.contains("key (default variable MPARTICLE_API_KEY)"),
        "{msg}"
    );
}

#[test]
fn a_key_of_another_vendor_is_an_error() {
    let msg = parse_err(
        r#"
[targets.lytics-eu]
vendor = "lytics"
id_type = "email"
pod = "eu1"
"#,
    );
    assert!(
        msg.contains("key `pod` in [targets.lytics-eu] is for mparticle targets")
            && msg.contains("vendor = \"lytics\""),
        "{msg}"
    );
}

#[test]
fn bad_values_are_errors_naming_the_target() {
    let msg = parse_err("[targets.x]\nid_type = \"email\"\n");
    assert!(msg.contains("[targets.x] has no `vendor`"), "{msg}");
    let msg = parse_err("[targets.x]\nvendor = \"klaviyo\"\n");
    assert!(
        msg.contains("unknown vendor") && msg.contains("lytics, mparticle"),
        "{msg}"
    );
    let msg = parse_err(&MP.replace("pod = \"eu1\"", "pod = \"eu9\""));
    assert!(
        msg.contains("[targets.mp-prod]: pod = \"eu9\" is not one of us1, us2, eu1, au1"),
        "{msg}"
    );
    let msg = parse_err(&MP.replace("batch_size = 50", "batch_size = 500"));
    assert!(msg.contains("cap of 100"), "{msg}");
    // Type errors come from the typed pass, with the line.
    let msg = parse_err(&MP.replace("concurrency = 8", "concurrency = \"8\""));
    assert!(msg.contains("line 3") && msg.contains(FILE), "{msg}");
    let msg = parse_err(&MP.replace("max_items_per_sec = 1200", "max_items_per_sec = 0"));
    assert!(
        msg.contains("max_items_per_sec in [targets.mp-prod] must be a positive number"),
        "{msg}"
    );
    let msg = parse_err("[targets.\"a b\"]\nvendor = \"lytics\"\n");
    assert!(msg.contains("target name \"a b\""), "{msg}");
}

#[test]
fn a_secret_where_a_variable_name_belongs_is_refused_without_echoing_it() {
    let msg = parse_err(&MP.replace("\"MP_PROD_KEY\"", "\"sk-live/abc+123=\""));
    assert!(
        msg.contains("credentials.key must be the NAME of an environment variable"),
        "{msg}"
    );
    assert!(!msg.contains("sk-live"), "the value leaked: {msg}");
}

const WITH_SECRETS: &str = r#"
[targets.lytics-eu]
vendor = "lytics"
id_type = "email"
credentials = { token = "LYTICS_EU_TOKEN" }

[targets.lytics-eu.secrets]
token = "literal-token-value"
"#;

#[test]
fn literal_secrets_are_used_only_when_the_file_is_private() {
    let cfg = Config::parse(WITH_SECRETS, Path::new(FILE), Some(0o100600)).unwrap();
    let t = cfg.get("lytics-eu").unwrap();
    assert!(cfg.warnings.is_empty() && !t.secrets_ignored);
    let creds = load_credentials_with(t, None, FILE, &no_env).unwrap();
    assert_eq!(creds["LYTICS_API_TOKEN"].expose(), "literal-token-value");
    assert_eq!(credential_status_with(t, &no_env)[0].source, Some("config"));
    // Debug output of the whole config never shows it.
    assert!(!format!("{cfg:?}").contains("literal-token-value"));

    let cfg = Config::parse(WITH_SECRETS, Path::new(FILE), Some(0o100644)).unwrap();
    let t = cfg.get("lytics-eu").unwrap();
    assert!(t.secrets_ignored && t.secrets.is_empty());
    assert_eq!(cfg.warnings.len(), 1);
    let w = &cfg.warnings[0];
    assert!(
        w.contains(FILE) && w.contains("chmod 600") && w.contains("0644"),
        "{w}"
    );
    assert!(!w.contains("literal-token-value"));
    let e = load_credentials_with(t, None, FILE, &no_env).unwrap_err();
    let msg = error_text(&e);
    assert!(
        msg.contains("LYTICS_EU_TOKEN (token)") && msg.contains("chmod 600"),
        "{msg}"
    );
    assert!(!msg.contains("literal-token-value"));
    assert!(!credential_status_with(t, &no_env)[0].set);
}

#[cfg(unix)]
#[test]
fn load_checks_the_mode_of_the_real_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdp-purge.toml");
    std::fs::write(&path, WITH_SECRETS).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cfg = load(Some(&path)).unwrap();
    assert_eq!(cfg.origin, Origin::Flag);
    assert!(cfg.targets["lytics-eu"].secrets_ignored);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = load(Some(&path)).unwrap();
    assert!(!cfg.targets["lytics-eu"].secrets.is_empty());
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(Some(&dir.path().join("nope.toml"))).unwrap_err();
    let msg = error_text(&e);
    assert!(
        msg.contains("nope.toml") && msg.contains("--config"),
        "{msg}"
    );
}

#[test]
fn credentials_env_first_then_credentials_file_then_literal() {
    let cfg = Config::parse(WITH_SECRETS, Path::new(FILE), Some(0o600)).unwrap();
    let t = cfg.get("lytics-eu").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let creds_file = dir.path().join("creds.env");
    // The file is looked up by the variable the config names, not the standard one.
    std::fs::write(
        &creds_file,
        "LYTICS_API_TOKEN=standard\nexport LYTICS_EU_TOKEN=\"from-file\"\n",
    )
    .unwrap();
    let env = |n: &str| (n == "LYTICS_EU_TOKEN").then(|| "from-env".to_owned());
    let standard_only = |n: &str| (n == "LYTICS_API_TOKEN").then(|| "standard".to_owned());

    let get = |file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>| {
        load_credentials_with(t, file, FILE, env).unwrap()["LYTICS_API_TOKEN"]
            .expose()
            .to_owned()
    };
    assert_eq!(get(Some(&creds_file), &env), "from-env");
    assert_eq!(get(Some(&creds_file), &no_env), "from-file");
    assert_eq!(get(None, &no_env), "literal-token-value");
    // A target that names its variable never falls back to the vendor's standard one: that
    // would send production deletions with another account's token.
    assert_eq!(get(None, &standard_only), "literal-token-value");
    let st = credential_status_with(t, &env);
    assert_eq!(
        (st[0].name, st[0].variable.as_str()),
        ("token", "LYTICS_EU_TOKEN")
    );
    assert_eq!(st[0].source, Some("env"));
}

#[test]
fn unnamed_credentials_default_to_the_standard_variables() {
    let cfg = parse("[targets.ct]\nvendor = \"clevertap\"\nid_type = \"guid\"\n").unwrap();
    let t = cfg.get("ct").unwrap();
    let env = |n: &str| n.starts_with("CLEVERTAP_").then(|| format!("v-{n}"));
    let creds = load_credentials_with(t, None, FILE, &env).unwrap();
    assert_eq!(creds["CLEVERTAP_PASSCODE"].expose(), "v-CLEVERTAP_PASSCODE");
    let e = load_credentials_with(t, None, FILE, &no_env).unwrap_err();
    assert!(
        error_text(&e).contains("CLEVERTAP_ACCOUNT_ID (account_id), CLEVERTAP_PASSCODE (passcode)")
    );
}

#[test]
fn flags_override_the_file() {
    let cfg = parse(MP).unwrap();
    let p = plan_args(&[
        "--target",
        "mp-prod",
        "--pod",
        "us2",
        "--identity-type",
        "email",
        "--batch-size",
        "10",
        "--base-url",
        "http://127.0.0.1:9/",
    ]);
    let r = resolve_target("mp-prod", &cfg, &p.vendor, &p.input, None, false).unwrap();
    let VendorParams::Mparticle {
        pod,
        environment,
        identity_type,
    } = &r.target.params
    else {
        panic!("{:?}", r.target.params)
    };
    assert_eq!(*pod, Pod::Us2);
    assert_eq!(*environment, Environment::Production, "kept from the file");
    assert_eq!(identity_type, "email");
    assert_eq!(r.target.batch_size, 10);
    assert_eq!(r.target.base_url, "http://127.0.0.1:9");
    assert_eq!(r.intake.kind, KindSource::Fixed("email".into()));
}

#[test]
fn limits_flags_over_target_over_defaults() {
    let cfg = parse(MP).unwrap();
    let argv = [
        "cdp-purge",
        "delete",
        "--target",
        "mp-prod",
        "-i",
        "ids.csv",
        "--column",
        "id",
        "--max-retries",
        "8",
        "--max-rps",
        "3",
    ];
    let Command::Delete(d) = Cli::try_parse_from(argv).unwrap().command else {
        unreachable!()
    };
    let r = resolve_target(
        "mp-prod",
        &cfg,
        &d.vendor,
        &d.input,
        Some(&d.delivery),
        false,
    )
    .unwrap();
    // An explicit --max-retries equal to the built-in default still beats the file's 5.
    assert_eq!(r.limits.max_retries_or_default(), 8);
    assert_eq!(r.limits.max_rps, Some(3.0));
    assert_eq!(r.limits.max_items_per_sec, Some(1200.0));
    assert_eq!(r.limits.concurrency, Some(8));
    assert_eq!(
        TargetLimits::default().max_retries_or_default(),
        DEFAULT_MAX_RETRIES
    );
}

#[test]
fn a_kind_flag_replaces_the_files_kind_choice() {
    let cfg = parse(
        r#"
[targets.seg]
vendor = "segment"
space = "spa_1"
id_type = "email"
user_id_column = "user_id"
"#,
    )
    .unwrap();
    let p = plan_args(&["--target", "seg", "--id-type-column", "kind"]);
    let r = resolve_target("seg", &cfg, &p.vendor, &p.input, None, false).unwrap();
    assert!(
        matches!(r.intake.kind, KindSource::Column(_)),
        "{:?}",
        r.intake.kind
    );
}

#[test]
fn hightouch_path_and_block_come_from_the_file() {
    let cfg = parse(
        r#"
[targets.ht]
vendor = "hightouch"
graph = "g1"
id_type = "email"
block = false
path = "/api/v2/idr/{graph}/queue"
"#,
    )
    .unwrap();
    let p = plan_args(&["--target", "ht"]);
    let r = resolve_target("ht", &cfg, &p.vendor, &p.input, None, false).unwrap();
    let VendorParams::Hightouch { graph, block, path } = &r.target.params else {
        panic!()
    };
    assert_eq!((graph.as_str(), *block), ("g1", false));
    assert_eq!(path, "/api/v2/idr/{graph}/queue");
    assert!(
        !r.source_data_deleted,
        "not confirmed in the file or on the command line"
    );

    let confirmed = parse(
        "[targets.ht]\nvendor = \"hightouch\"\ngraph = \"g1\"\nid_type = \"email\"\nsource_data_deleted = true\n",
    )
    .unwrap();
    let r = resolve_target("ht", &confirmed, &p.vendor, &p.input, None, false).unwrap();
    assert!(
        r.source_data_deleted,
        "the file's confirmation reaches the run"
    );
    let flagged = plan_args(&["--target", "ht", "--source-data-deleted"]);
    let r = resolve_target("ht", &cfg, &flagged.vendor, &flagged.input, None, false).unwrap();
    assert!(
        r.source_data_deleted,
        "the flag's confirmation reaches the run"
    );
}

#[test]
fn selection_errors_name_what_exists() {
    let cfg = parse(&format!(
        "{MP}\n[targets.lyt]\nvendor = \"lytics\"\nid_type = \"email\"\n"
    ))
    .unwrap();
    let p = plan_args(&["--target", "mp-dev"]);
    let msg = error_text(&select(&cfg, &p.vendor).unwrap_err());
    assert!(
        msg.contains("unknown target `mp-dev`") && msg.contains("lyt, mp-prod"),
        "{msg}"
    );

    let p = plan_args(&["--all-targets", "--vendor", "lytics"]);
    assert_eq!(select(&cfg, &p.vendor).unwrap(), ["lyt"]);
    let p = plan_args(&["--target", "mp-prod,lyt", "--target", "mp-prod"]);
    assert_eq!(select(&cfg, &p.vendor).unwrap(), ["mp-prod", "lyt"]);

    let p = plan_args(&["--target", "lyt", "--vendor", "mparticle"]);
    let e = resolve_target("lyt", &cfg, &p.vendor, &p.input, None, false).unwrap_err();
    assert!(error_text(&e).contains("--vendor mparticle does not match target `lyt`"));

    let empty = Config::default();
    let p = plan_args(&["--all-targets"]);
    let msg = error_text(&select(&empty, &p.vendor).unwrap_err());
    assert!(
        msg.contains("no config file") && msg.contains("docs/config.md"),
        "{msg}"
    );
}

#[test]
fn a_missing_setting_names_the_target_and_plan_asks_only_for_what_changes_the_plan() {
    let cfg = parse("[targets.mp]\nvendor = \"mparticle\"\nid_type = \"email\"\n").unwrap();
    let p = plan_args(&["--target", "mp"]);
    // The environment changes where a deletion goes, not the plan.
    resolve_target("mp", &cfg, &p.vendor, &p.input, None, false).unwrap();
    let Command::Delete(d) =
        Cli::try_parse_from(["cdp-purge", "delete", "ids.csv", "--target", "mp"])
            .unwrap()
            .command
    else {
        unreachable!()
    };
    let e = resolve_target("mp", &cfg, &d.vendor, &d.input, Some(&d.delivery), false).unwrap_err();
    let msg = error_text(&e);
    assert!(
        msg.contains("target `mp`") && msg.contains("--environment"),
        "{msg}"
    );
}

#[test]
fn old_key_names_still_work_with_a_deprecation_note() {
    let cfg = parse(&MP.replace("id_type =", "identity_type =")).unwrap();
    assert_eq!(cfg.deprecations.len(), 1, "{:?}", cfg.deprecations);
    assert!(
        cfg.deprecations[0].contains("`identity_type` is deprecated")
            && cfg.deprecations[0].contains("use `id_type`")
            && cfg.deprecations[0].contains("[targets.mp-prod]"),
        "{:?}",
        cfg.deprecations
    );
    let p = plan_args(&["--target", "mp-prod"]);
    let r = resolve_target("mp-prod", &cfg, &p.vendor, &p.input, None, false).unwrap();
    let VendorParams::Mparticle { identity_type, .. } = r.target.params else {
        panic!()
    };
    assert_eq!(identity_type, "customerid");
    assert!(parse(MP).unwrap().deprecations.is_empty());

    // Both names at once is ambiguous.
    let msg = parse_err(&MP.replace("id_type =", "identity_type = \"email\"\nid_type ="));
    assert!(msg.contains("old name of `id_type`"), "{msg}");
    // An old name stays its vendor's: `field` is Lytics'.
    let msg = parse_err(&MP.replace("id_type =", "field ="));
    assert!(msg.contains("is for lytics targets"), "{msg}");
    // CleverTap's values are checked as before, and listed.
    let msg = parse_err("[targets.ct]\nvendor = \"clevertap\"\nid_type = \"email\"\n");
    assert!(msg.contains("identity, guid"), "{msg}");
}

#[test]
fn credential_roles_match_the_vendor_table() {
    for &k in VendorKind::ALL {
        let vars: Vec<&str> = credential_roles(k).iter().map(|(_, v)| *v).collect();
        assert_eq!(vars, k.info().credentials, "{k}");
    }
}

#[test]
fn per_target_rejects_paths() {
    assert_eq!(
        per_target_path(Path::new("out/rejects.csv"), "mp-prod"),
        Path::new("out/rejects.mp-prod.csv")
    );
    assert_eq!(
        per_target_path(Path::new("rejects"), "a"),
        Path::new("rejects.a")
    );
}

#[test]
fn parse_errors_never_echo_a_secret() {
    let sentinel = "s3cr3t-SENTINEL-value";
    let cases = [
        // A syntax error on the secret's own line (an unterminated string).
        format!(
            "[targets.ly]\nvendor = \"lytics\"\nid_type = \"email\"\n\n[targets.ly.secrets]\ntoken = \"{sentinel}\n"
        ),
        // A type error repeats the value in toml's message.
        "[targets.cl]\nvendor = \"clevertap\"\nid_type = \"identity\"\n[targets.cl.secrets]\npasscode = 98765432123\n".to_owned(),
        // An inline table.
        format!("[targets.ly]\nvendor = \"lytics\"\nsecrets = {{ token = \"{sentinel} }}\n"),
        // A syntax error on a later line quotes nothing either.
        format!(
            "[targets.ly]\nvendor = \"lytics\"\n[targets.ly.secrets]\ntoken = \"{sentinel}\"\n[targets.x\n"
        ),
    ];
    for text in &cases {
        let msg = parse_err(text);
        for leak in [sentinel, "98765432123", "s3cr3t"] {
            assert!(!msg.contains(leak), "{msg}");
        }
        assert!(msg.contains("line ") && msg.contains(FILE), "{msg}");
    }
    // Outside those tables the message stays (still without the line itself).
    let msg = parse_err("[targets.a]\nvendor = \"lytics\"\nconcurrency = \"eight\"\n");
    assert!(
        msg.contains("line 3") && msg.contains("invalid type"),
        "{msg}"
    );
    assert!(!msg.contains("concurrency = "), "{msg}");
}

#[test]
fn groups_name_defined_targets_once_and_a_target_names_its_column() {
    let base = r#"
[targets.amp]
vendor = "amplitude"
id_type = "user_id"
column = "user_id"

[targets.it]
vendor = "iterable"
id_type = "email"
"#;
    let cfg = parse(&format!("{base}\n[groups]\nerasure = [\"it\", \"amp\"]\n")).unwrap();
    assert_eq!(cfg.groups["erasure"], ["it", "amp"], "the file's order");
    assert_eq!(cfg.targets["amp"].column.as_deref(), Some("user_id"));
    assert_eq!(cfg.targets["it"].column, None);
    let e = parse_err(&format!(
        "{base}\n[groups]\nerasure = [\"it\", \"braze\"]\n"
    ));
    assert!(
        e.contains("`braze`, which is not defined") && e.contains(FILE),
        "{e}"
    );
    let e = parse_err(&format!("{base}\n[groups]\nerasure = [\"it\", \"it\"]\n"));
    assert!(e.contains("names target `it` twice"), "{e}");
    let e = parse_err(&format!("{base}\n[groups]\nerasure = []\n"));
    assert!(e.contains("names no target"), "{e}");
    let e = parse_err(&format!("{base}\n[group]\nerasure = [\"it\"]\n"));
    assert!(e.contains("[groups]"), "{e}");
    // --group picks the group's targets in its order; an unknown one lists the groups.
    let mut flags = plan_args(&[]).vendor;
    flags.group = Some("erasure".into());
    let cfg = parse(&format!("{base}\n[groups]\nerasure = [\"it\", \"amp\"]\n")).unwrap();
    assert_eq!(select(&cfg, &flags).unwrap(), ["it", "amp"]);
    flags.group = Some("other".into());
    let e = error_text(&select(&cfg, &flags).unwrap_err());
    assert!(
        e.contains("unknown group `other`") && e.contains("erasure"),
        "{e}"
    );
}
