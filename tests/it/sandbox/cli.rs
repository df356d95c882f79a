use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::*;

const BIN: &str = env!("CARGO_BIN_EXE_cdp-purge");

#[test]
fn a_bad_fault_spec_is_a_usage_error_that_names_the_key() {
    let out = Command::new(BIN)
        .args(["sandbox", "--port", "0", "--faults", "429=0.1,teapot=0.2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown key `teapot`"), "{stderr}");
}

#[test]
fn the_command_prints_url_and_credentials_and_stops_cleanly_on_sigint() {
    let (code, creds, stderr) = serve_one_then(&["--faults", "seed=3"], "a@x", "-INT");
    assert_eq!(creds.trim(), "LYTICS_API_TOKEN=sandbox-token");
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("stopped after 1 requests (lytics 1)"),
        "{stderr}"
    );
}

/// `cdp-purge sandbox --port 0 ARGS`, its address once it listens, one Lytics deletion of
/// `value` served, then `sig`: the exit code, the first credential line and stderr.
fn serve_one_then(args: &[&str], value: &str, sig: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--port", "0"])
        .args(args)
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut url, mut creds) = (String::new(), String::new());
    stdout.read_line(&mut url).unwrap();
    stdout.read_line(&mut creds).unwrap();
    let addr: std::net::SocketAddr = url.trim().strip_prefix("http://").unwrap().parse().unwrap();
    let body = format!(r#"{{"values":["{value}"]}}"#);
    let req = format!(
        "DELETE /v2/identity/queue/bulk/user/email HTTP/1.1\r\nauthorization: sandbox-token\r\n\
         content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    assert!(raw(addr, req.as_bytes()).starts_with("HTTP/1.1 202"));
    // Our own child, by its id.
    let killed = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), creds, stderr)
}

#[test]
fn sigterm_stops_the_server_cleanly_like_ctrl_c() {
    let (code, _, stderr) = serve_one_then(&[], "a@x", "-TERM");
    // What a service manager's stop gets from a server that stopped as asked: exit 0.
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("stopped after 1 requests (lytics 1)"),
        "{stderr}"
    );
}

#[test]
fn verbose_logs_each_request_without_its_identifiers_or_the_token() {
    let (code, _, quiet_default) = serve_one_then(&[], "SENTINEL-1@x", "-INT");
    assert_eq!(code, Some(0));
    assert!(!quiet_default.contains("info:"), "{quiet_default}");
    for v in ["-v", "-vv"] {
        let (code, _, stderr) = serve_one_then(&[v], "SENTINEL-2@x", "-INT");
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            stderr.contains("info: sandbox: lytics DELETE -> 202 (1 identifiers)"),
            "{v}: {stderr}"
        );
        assert!(!stderr.contains("SENTINEL"), "{v}: {stderr}");
        assert!(!stderr.contains("sandbox-token"), "{v}: {stderr}");
    }
}
