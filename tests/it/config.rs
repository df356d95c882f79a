//! The config file and `cdp-purge targets`, through the real binary.
//!
//! Every test runs in its own HOME/XDG_CONFIG_HOME so a developer's own config file (or
//! exported credentials) cannot leak in.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const SECRET_ENV: &str = "env-secret-value-4711";
const SECRET_LITERAL: &str = "literal-secret-value-0815";

const CONFIG: &str = r#"
[defaults]
concurrency = 8
max_retries = 6

[targets.mp-prod]
vendor = "mparticle"
pod = "eu1"
environment = "production"
identity_type = "customerid"
batch_size = 100
max_items_per_sec = 1200
credentials = { key = "MP_PROD_KEY", secret = "MP_PROD_SECRET" }

[targets.lytics-eu]
vendor = "lytics"
table = "user"
field = "email"
credentials = { token = "LYTICS_EU_TOKEN" }

[targets.lytics-eu.secrets]
token = "literal-secret-value-0815"
"#;

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn xdg(&self) -> PathBuf {
        self.path().join("xdg")
    }

    /// Write a config file with the given mode and return its path.
    fn write(&self, rel: &str, text: &str, mode: u32) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        set_mode(&p, mode);
        p
    }

    fn cmd(&self) -> Command {
        let mut c = crate::support::assert_cdp_purge();
        c.env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.xdg())
            .env_remove("CDP_PURGE_CONFIG")
            .env_remove("CDP_PURGE_BASE_URL")
            .env_remove("MP_PROD_KEY")
            .env_remove("MP_PROD_SECRET")
            .env_remove("LYTICS_EU_TOKEN");
        c
    }
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn targets_lists_targets_and_never_prints_secret_values() {
    let home = Home::new();
    let cfg = home.write("c.toml", CONFIG, 0o600);
    for json in [false, true] {
        let mut c = home.cmd();
        c.arg("--config").arg(&cfg).arg("targets");
        if json {
            c.arg("--json");
        }
        let out = c.env("MP_PROD_KEY", SECRET_ENV).output().unwrap();
        assert!(out.status.success());
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        for s in [SECRET_ENV, SECRET_LITERAL] {
            assert!(
                !stdout.contains(s) && !stderr.contains(s),
                "a secret leaked"
            );
        }
        if !json {
            assert!(stdout.contains("mp-prod  (mparticle)"), "{stdout}");
            assert!(stdout.contains("pod=eu1"), "{stdout}");
            assert!(stdout.contains("https://s2s.eu1.mparticle.com"), "{stdout}");
            assert!(
                stdout
                    .contains("batch_size=100 max_items_per_sec=1200 concurrency=8 max_retries=6"),
                "{stdout}"
            );
            assert!(stdout.contains("key $MP_PROD_KEY (set)"), "{stdout}");
            assert!(
                stdout.contains("secret $MP_PROD_SECRET (not set)"),
                "{stdout}"
            );
            assert!(
                stdout.contains("token $LYTICS_EU_TOKEN (in the config file)"),
                "{stdout}"
            );
        }
    }
}

#[test]
fn targets_json() {
    let home = Home::new();
    let cfg = home.write("c.toml", CONFIG, 0o600);
    let out = home
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["targets", "--json"])
        .env("MP_PROD_SECRET", SECRET_ENV)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["found"], true);
    assert_eq!(v["origin"], "flag");
    assert_eq!(v["defaults"]["max_retries"], 6);
    let t = v["targets"].as_array().unwrap();
    let names: Vec<_> = t.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lytics-eu", "mp-prod"]);
    let mp = &t[1];
    assert_eq!(mp["vendor"], "mparticle");
    assert_eq!(mp["settings"]["environment"], "production");
    assert_eq!(mp["limits"]["max_items_per_sec"], 1200.0);
    assert_eq!(mp["limits"]["concurrency"], 8);
    assert_eq!(mp["credentials"][0]["variable"], "MP_PROD_KEY");
    assert_eq!(mp["credentials"][0]["set"], false);
    assert_eq!(mp["credentials"][1]["set"], true);
    assert_eq!(mp["credentials"][1]["source"], "env");
    assert_eq!(t[0]["credentials"][0]["source"], "config");
}

#[test]
fn without_a_config_file_targets_says_where_it_looked() {
    let home = Home::new();
    let expected = home.xdg().join("cdp-purge").join("cdp-purge.toml");
    home.cmd().arg("targets").assert().success().stdout(
        predicate::str::contains(format!("no config file at {}", expected.display()))
            .and(predicate::str::contains("examples/cdp-purge.toml")),
    );
    let out = home.cmd().args(["targets", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["found"], false);
    assert_eq!(v["targets"].as_array().unwrap().len(), 0);
}

#[test]
fn lookup_order_flag_then_env_then_xdg_then_home() {
    let home = Home::new();
    let one = |name: &str| format!("[targets.{name}]\nvendor = \"lytics\"\nfield = \"email\"\n");
    let dot_config = home.write(".config/cdp-purge/cdp-purge.toml", &one("from-home"), 0o600);
    let listed = |c: &mut Command| text(&c.args(["targets", "--json"]).output().unwrap().stdout);

    // HOME fallback when XDG_CONFIG_HOME is unset.
    let mut c = home.cmd();
    c.env_remove("XDG_CONFIG_HOME");
    assert!(listed(&mut c).contains("from-home"));

    home.write("xdg/cdp-purge/cdp-purge.toml", &one("from-xdg"), 0o600);
    assert!(listed(&mut home.cmd()).contains("from-xdg"));

    let env_file = home.write("env.toml", &one("from-env"), 0o600);
    let mut c = home.cmd();
    c.env("CDP_PURGE_CONFIG", &env_file);
    assert!(listed(&mut c).contains("from-env"));

    let flag_file = home.write("flag.toml", &one("from-flag"), 0o600);
    let mut c = home.cmd();
    c.env("CDP_PURGE_CONFIG", &env_file)
        .arg("--config")
        .arg(&flag_file);
    assert!(listed(&mut c).contains("from-flag"));
    let _ = dot_config;
}

#[test]
fn a_missing_explicit_config_is_exit_2() {
    let home = Home::new();
    home.cmd()
        .args(["--config", "nope.toml", "targets"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.toml").and(predicate::str::contains("--config")));
    home.cmd()
        .env("CDP_PURGE_CONFIG", home.path().join("gone.toml"))
        .arg("targets")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("gone.toml").and(predicate::str::contains("CDP_PURGE_CONFIG")),
        );
}

#[test]
fn an_unknown_key_is_exit_2_naming_key_target_and_file() {
    let home = Home::new();
    let cfg = home.write("c.toml", &CONFIG.replace("table = ", "tabel = "), 0o600);
    home.cmd()
        .arg("--config")
        .arg(&cfg)
        .arg("targets")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown key `tabel`")
                .and(predicate::str::contains("[targets.lytics-eu]"))
                .and(predicate::str::contains(cfg.display().to_string())),
        );
}

#[cfg(unix)]
#[test]
fn literal_secrets_in_a_world_readable_file_are_ignored_with_a_warning() {
    let home = Home::new();
    let cfg = home.write("c.toml", CONFIG, 0o644);
    let out = home
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .arg("targets")
        .output()
        .unwrap();
    assert!(out.status.success());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stderr.contains("warning")
            && stderr.contains(&cfg.display().to_string())
            && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert!(
        stdout.contains("token $LYTICS_EU_TOKEN (not set)"),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET_LITERAL) && !stderr.contains(SECRET_LITERAL));
}

#[test]
fn plan_with_an_unknown_target_lists_the_configured_ones() {
    let home = Home::new();
    let cfg = home.write("c.toml", CONFIG, 0o600);
    home.cmd()
        .arg("--config")
        .arg(&cfg)
        .args([
            "plan", "--target", "mp-dev", "-i", "ids.csv", "--column", "id",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown target `mp-dev`")
                .and(predicate::str::contains("lytics-eu, mp-prod")),
        );
    // Without any config file the error says so and how to make one.
    home.cmd()
        .args(["plan", "--target", "mp-prod", "-i", "ids.csv"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no config file")
                .and(predicate::str::contains("docs/config.md")),
        );
}

#[test]
fn plan_target_checks_vendor_and_settings_before_reading_input() {
    let home = Home::new();
    let cfg = home.write("c.toml", CONFIG, 0o600);
    let plan = |extra: &[&str]| {
        let mut c = home.cmd();
        c.arg("--config")
            .arg(&cfg)
            .args(["plan", "-i", "missing.csv", "--column", "id"])
            .args(extra);
        c
    };
    plan(&["--target", "mp-prod", "--vendor", "lytics"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--vendor lytics does not match target `mp-prod`",
        ));
    // The environment (CDP_PURGE_BASE_URL) overrides the file, and a flag the environment.
    plan(&["--target", "mp-prod"])
        .env("CDP_PURGE_BASE_URL", "ftp://wrong")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("target `mp-prod`")
                .and(predicate::str::contains("ftp://wrong")),
        );
    plan(&["--target", "mp-prod", "--base-url", "http://127.0.0.1:9"])
        .env("CDP_PURGE_BASE_URL", "ftp://wrong")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ftp://wrong").not());
    // Several targets cannot share stdin.
    home.cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["plan", "--all-targets", "-i", "-", "--column", "id"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("stdin"));
}

#[test]
fn plan_without_vendor_or_target_is_a_usage_error() {
    Home::new()
        .cmd()
        .args(["plan", "-i", "ids.csv", "--column", "email"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--vendor").and(predicate::str::contains("--target")));
}
