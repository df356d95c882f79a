//! Secrets and personal data: for every vendor, at every verbosity (none, -v, -vv, --quiet,
//! --json), on the happy path and the failure paths (401 from refused credentials, a 400,
//! 429/503/reset/truncation retries), no token, passcode or API secret appears in stdout,
//! stderr or the ledger (the ledger's key file is not a secret and is skipped), and no
//! identifier appears in stdout or stderr (nor in the ledger: no flag asked for it).
//! Every secret and identifier is a distinctive sentinel, so a leak cannot hide.

use crate::support;

use base64::Engine as _;
use cdp_purge_sandbox::VendorKind;
use cdp_purge_sandbox::{Credentials, Fault, RetryAfter, SandboxConfig};
use support::*;

fn sentinel_credentials() -> Credentials {
    Credentials {
        lytics_token: "SENTINEL-LYTICS-TOKEN-q7Zx".into(),
        mparticle_key: "SENTINEL-MP-KEY-9fK2".into(),
        mparticle_secret: "SENTINEL-MP-SECRET-4hW8".into(),
        clevertap_account_id: "acct-not-secret".into(),
        clevertap_passcode: "SENTINEL-CT-PASSCODE-2mQ5".into(),
        segment_token: "SENTINEL-SEG-TOKEN-8rT1".into(),
        hightouch_api_key: "SENTINEL-HT-KEY-6yU3".into(),
        amplitude_api_key: "SENTINEL-AMP-KEY-3vB7".into(),
        amplitude_secret_key: "SENTINEL-AMP-SECRET-5nC1".into(),
        iterable_api_key: "SENTINEL-IT-KEY-8dE4".into(),
        posthog_personal_api_key: "phx_SENTINEL-PH-KEY-1gF9".into(),
        segment_public_api_token: "SENTINEL-SEGPAPI-TOKEN-3vB7".into(),
        mixpanel_gdpr_token: "SENTINEL-MP-GDPR-5nL1".into(),
        mixpanel_project_token: "SENTINEL-MP-PROJECT-8kD4".into(),
        braze_api_key: "SENTINEL-BRAZE-KEY-1pS6".into(),
        mparticle_client_id: "SENTINEL-MP-CLIENT-ID-5pL9".into(),
        mparticle_client_secret: "SENTINEL-MP-CLIENT-SECRET-3vN6".into(),
    }
}

/// What must never be printed or recorded: each secret, the wrong ones we try, and the
/// encoded forms they take in headers.
fn secret_needles(c: &Credentials) -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut v: Vec<String> = c
        .env_lines()
        .into_iter()
        .filter(|(k, _)| *k != "CLEVERTAP_ACCOUNT_ID")
        .map(|(_, s)| s.to_owned())
        .collect();
    v.push(b64(&format!("{}:{}", c.mparticle_key, c.mparticle_secret)));
    v.push(b64(&format!("{}:", c.segment_token)));
    v.push(b64(&format!(
        "{}:{}",
        c.amplitude_api_key, c.amplitude_secret_key
    )));
    v.push("SENTINEL-WRONG".into());
    // Distinctive fragments, in case a secret is cut or quoted.
    v.extend(["q7Zx", "4hW8", "2mQ5", "8rT1", "6yU3"].map(String::from));
    v
}

/// Identifiers all carry this (lowercase match).
const PII: &str = "piisentinel";

struct Vendor {
    kind: VendorKind,
    args: &'static [&'static str],
    header: &'static str,
    row: fn(usize) -> String,
}

fn vendors() -> Vec<Vendor> {
    vec![
        Vendor {
            kind: VendorKind::Lytics,
            args: &[
                "--vendor",
                "lytics",
                "--id-type",
                "email",
                "--column",
                "email",
            ],
            header: "email",
            row: |i| format!("piisentinel-{i:04}@example.com"),
        },
        Vendor {
            kind: VendorKind::Mparticle,
            args: &[
                "--vendor",
                "mparticle",
                "--environment",
                "production",
                "--id-type",
                "customerid",
                "--column",
                "id",
            ],
            header: "id",
            row: |i| format!("PIISENTINEL-C-{i:04}"),
        },
        Vendor {
            kind: VendorKind::Clevertap,
            args: &[
                "--vendor",
                "clevertap",
                "--id-type",
                "identity",
                "--column",
                "id",
            ],
            header: "id",
            row: |i| format!("PIISENTINEL-CT-{i:04}"),
        },
        Vendor {
            kind: VendorKind::Segment,
            args: &[
                "--vendor",
                "segment",
                "--space",
                "spa_sentinel",
                "--id-type",
                "email",
                "--column",
                "email",
                "--user-id-column",
                "user_id",
            ],
            header: "email,user_id",
            row: |i| format!("piisentinel-{i:04}@example.com,PIISENTINEL-U-{i:04}"),
        },
        Vendor {
            kind: VendorKind::Hightouch,
            args: &[
                "--vendor",
                "hightouch",
                "--graph",
                "g_sentinel",
                "--id-type",
                "email",
                "--column",
                "email",
            ],
            header: "email",
            row: |i| format!("piisentinel-{i:04}@example.com"),
        },
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Path_ {
    Ok,
    /// The vendor refuses the credentials (the fake checks them: a real 401).
    WrongCredentials,
    /// 429 with Retry-After, 503, reset, truncated body: retried.
    Retries,
    /// The first request is refused with 400 (bisection, per-item invalid).
    BadRequest,
}

const VERBOSITY: &[&[&str]] = &[
    &[],
    &["-v"],
    &["-vv"],
    &["--quiet"],
    &["--json"],
    &["-vv", "--json"],
];

fn leaks(haystack: &str, needles: &[String], pii: bool) -> Vec<String> {
    let mut found: Vec<String> = needles
        .iter()
        .filter(|n| haystack.contains(n.as_str()))
        .cloned()
        .collect();
    if pii && haystack.to_ascii_lowercase().contains(PII) {
        found.push("an identifier".into());
    }
    found
}

fn run_vendor(v: &Vendor) {
    let creds = sentinel_credentials();
    let needles = secret_needles(&creds);
    let fake = Fake::start(SandboxConfig {
        credentials: creds.clone(),
        ..SandboxConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut runs = 0;
    for path in [
        Path_::Ok,
        Path_::WrongCredentials,
        Path_::Retries,
        Path_::BadRequest,
    ] {
        for (n, verbosity) in VERBOSITY.iter().enumerate() {
            fake.clear_log();
            match path {
                Path_::Retries => {
                    for f in [
                        Fault::TooManyRequests(RetryAfter::Seconds(1)),
                        Fault::Unavailable(Some(1)),
                        Fault::Reset,
                        Fault::Truncate,
                    ] {
                        fake.push_fault(Some(v.kind), f);
                    }
                }
                Path_::BadRequest => fake.push_fault(Some(v.kind), Fault::Status(400)),
                _ => {}
            }
            let ledger = dir.path().join(format!("{path:?}-{n}.ledger.jsonl"));
            // Fresh identifiers per run: the fake remembers deletions (a second Segment
            // deletion of the same id is a 404).
            let rows: Vec<String> = (runs * 100..runs * 100 + 12).map(v.row).collect();
            let input = ids_csv(dir.path(), &format!("ids-{runs}.csv"), v.header, &rows);
            let mut cmd = cdp_purge();
            for (k, val) in creds.env_lines() {
                let val = if path == Path_::WrongCredentials && k != "CLEVERTAP_ACCOUNT_ID" {
                    format!("SENTINEL-WRONG-{k}")
                } else {
                    val.to_owned()
                };
                cmd.env(k, val);
            }
            let out = cmd
                .arg("delete")
                .args(v.args)
                .args(*verbosity)
                .args(["--yes", "--timeout", "2s"])
                .args(if v.kind == VendorKind::Segment {
                    &[][..]
                } else {
                    &["--batch-size", "4"][..]
                })
                .arg("--base-url")
                .arg(fake.base_url())
                .arg("--ledger")
                .arg(&ledger)
                .arg("-i")
                .arg(&input)
                .output()
                .unwrap();
            runs += 1;
            let what = format!("{:?} {path:?} {verbosity:?}", v.kind);
            let code = out.status.code();
            let stderr = text(&out.stderr);
            // The failure path really happened.
            let log = fake.log();
            let statuses: Vec<Option<u16>> = log.iter().map(|r| r.status).collect();
            let ok = match path {
                Path_::Ok => code == Some(0),
                Path_::WrongCredentials => code == Some(3) && statuses.contains(&Some(401)),
                Path_::Retries => {
                    code == Some(0) && log.iter().filter(|r| r.fault.is_some()).count() == 4
                }
                Path_::BadRequest => matches!(code, Some(0 | 1)) && statuses.contains(&Some(400)),
            };
            if !ok {
                problems.push(format!(
                    "{what}: exit {code:?}, statuses {statuses:?}: {stderr}"
                ));
            }
            for (name, hay, pii) in [
                ("stdout", text(&out.stdout), true),
                ("stderr", stderr.clone(), true),
                (
                    "ledger",
                    std::fs::read_to_string(&ledger).unwrap_or_default(),
                    true,
                ),
            ] {
                for leak in leaks(&hay, &needles, pii) {
                    problems.push(format!("{what}: {leak:?} in {name}"));
                }
            }
        }
    }
    // The flag that asks for identifiers puts them in the ledger (which proves the check
    // above can see them there) and still not on the terminal.
    {
        let ledger = dir.path().join("with-ids.ledger.jsonl");
        let rows: Vec<String> = (9000..9012).map(v.row).collect();
        let input = ids_csv(dir.path(), "with-ids.csv", v.header, &rows);
        let mut cmd = cdp_purge();
        for (k, val) in creds.env_lines() {
            cmd.env(k, val);
        }
        let out = cmd
            .arg("delete")
            .args(v.args)
            .args(["--yes", "-vv", "--ledger-include-identifiers"])
            .arg("--base-url")
            .arg(fake.base_url())
            .arg("--ledger")
            .arg(&ledger)
            .arg("-i")
            .arg(&input)
            .output()
            .unwrap();
        runs += 1;
        let recorded = std::fs::read_to_string(&ledger).unwrap_or_default();
        if leaks(&recorded, &[], true).is_empty() {
            problems.push(format!(
                "{:?}: --ledger-include-identifiers left no identifier in the ledger",
                v.kind
            ));
        }
        for (name, hay) in [("stdout", text(&out.stdout)), ("stderr", text(&out.stderr))] {
            for leak in leaks(&hay, &needles, true) {
                problems.push(format!("{:?} with identifiers: {leak:?} in {name}", v.kind));
            }
        }
    }
    // `check` proves credentials: its output must not show them either.
    for verbosity in VERBOSITY {
        for wrong in [false, true] {
            let mut cmd = cdp_purge();
            for (k, val) in creds.env_lines() {
                let val = if wrong && k != "CLEVERTAP_ACCOUNT_ID" {
                    format!("SENTINEL-WRONG-{k}")
                } else {
                    val.to_owned()
                };
                cmd.env(k, val);
            }
            let args: Vec<&str> = v
                .args
                .iter()
                .copied()
                .take_while(|a| *a != "--column")
                .collect();
            let out = cmd
                .arg("check")
                .args(&args)
                .args(*verbosity)
                .arg("--base-url")
                .arg(fake.base_url())
                .output()
                .unwrap();
            runs += 1;
            for (name, hay) in [("stdout", text(&out.stdout)), ("stderr", text(&out.stderr))] {
                for leak in leaks(&hay, &needles, true) {
                    problems.push(format!(
                        "{:?} check wrong={wrong} {verbosity:?}: {leak:?} in {name}",
                        v.kind
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems in {runs} runs:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!("figures: secrets vendor={:?} runs={runs} leaks=0", v.kind);
}

fn vendor(kind: VendorKind) -> Vendor {
    vendors().into_iter().find(|v| v.kind == kind).unwrap()
}

#[test]
fn lytics_leaks_nothing() {
    run_vendor(&vendor(VendorKind::Lytics));
}

#[test]
fn mparticle_leaks_nothing() {
    run_vendor(&vendor(VendorKind::Mparticle));
}

#[test]
fn clevertap_leaks_nothing() {
    run_vendor(&vendor(VendorKind::Clevertap));
}

#[test]
fn segment_leaks_nothing() {
    run_vendor(&vendor(VendorKind::Segment));
}

#[test]
fn hightouch_leaks_nothing() {
    run_vendor(&vendor(VendorKind::Hightouch));
}

/// The leak check must see a leak: a secret, its header encoding, an identifier.
#[test]
fn the_leak_check_sees_leaks() {
    let c = sentinel_credentials();
    let n = secret_needles(&c);
    assert!(!leaks("token=SENTINEL-HT-KEY-6yU3", &n, false).is_empty());
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", c.mparticle_key, c.mparticle_secret));
    assert!(!leaks(&format!("Authorization: Basic {basic}"), &n, false).is_empty());
    assert!(!leaks("row 3: PIISentinel-0003@example.com", &n, true).is_empty());
    assert!(leaks("acknowledged 12, account acct-not-secret", &n, true).is_empty());
}
