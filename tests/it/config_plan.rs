//! `plan --target` end to end. These need the intake (`input::run`), which lands from the
//! `intake` branch: until then they fail with "intake is not implemented yet". They are the
//! acceptance tests for config targets once both are merged; do not `#[ignore]` them.

use std::path::Path;

use assert_cmd::Command;

const CONFIG: &str = r#"
[targets.lytics-eu]
vendor = "lytics"
field = "email"
batch_size = 2

[targets.ht]
vendor = "hightouch"
graph = "g1"
identifier_type = "email"
batch_size = 4
"#;

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cdp-purge.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let ids = dir.path().join("ids.csv");
    std::fs::write(
        &ids,
        "email\na@example.com\nb@example.com\nc@example.com\nd@example.com\ne@example.com\n",
    )
    .unwrap();
    (dir, cfg, ids)
}

fn cmd(home: &Path) -> Command {
    let mut c = crate::support::assert_cdp_purge();
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg"))
        .env_remove("CDP_PURGE_CONFIG")
        .env_remove("CDP_PURGE_BASE_URL");
    c
}

fn plans(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn plan_target_uses_the_files_vendor_settings() {
    let (dir, cfg, ids) = setup();
    let out = cmd(dir.path())
        .arg("--config")
        .arg(&cfg)
        .args([
            "plan",
            "--target",
            "lytics-eu",
            "--column",
            "email",
            "--json",
            "-i",
        ])
        .arg(&ids)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = plans(&out.stdout);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["target"], "lytics-eu");
    assert_eq!(p[0]["vendor"], "lytics");
    assert_eq!(p[0]["kept"], 5);
    assert_eq!(p[0]["batch_size"], 2, "batch_size from the file");
    assert_eq!(p[0]["batches"], 3);

    // The flag overrides the file.
    let out = cmd(dir.path())
        .arg("--config")
        .arg(&cfg)
        .args([
            "plan",
            "--target",
            "lytics-eu",
            "--column",
            "email",
            "--json",
        ])
        .args(["--batch-size", "5", "-i"])
        .arg(&ids)
        .output()
        .unwrap();
    assert_eq!(plans(&out.stdout)[0]["batches"], 1);
}

#[test]
fn plan_all_targets_prints_one_plan_per_target() {
    let (dir, cfg, ids) = setup();
    let out = cmd(dir.path())
        .env("CDP_PURGE_CONFIG", &cfg)
        .args(["plan", "--all-targets", "--column", "email", "--json", "-i"])
        .arg(&ids)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = plans(&out.stdout);
    let got: Vec<_> = p
        .iter()
        .map(|p| {
            (
                p["target"].as_str().unwrap(),
                p["batches"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("ht", 2), ("lytics-eu", 3)]);

    let out = cmd(dir.path())
        .env("CDP_PURGE_CONFIG", &cfg)
        .args([
            "plan",
            "--target",
            "lytics-eu,ht",
            "--column",
            "email",
            "-i",
        ])
        .arg(&ids)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("plan for lytics-eu") && text.contains("plan for ht"),
        "{text}"
    );
}
