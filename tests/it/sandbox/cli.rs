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
    let mut child = Command::new(BIN)
        .args(["sandbox", "--port", "0", "--faults", "seed=3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let addr: std::net::SocketAddr = url.trim().strip_prefix("http://").unwrap().parse().unwrap();
    let mut creds = String::new();
    stdout.read_line(&mut creds).unwrap();
    assert_eq!(creds.trim(), "LYTICS_API_TOKEN=sandbox-token");

    let body = r#"{"values":["a@x"]}"#;
    let req = format!(
        "DELETE /v2/identity/queue/bulk/user/email HTTP/1.1\r\nauthorization: sandbox-token\r\n\
         content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    assert!(raw(addr, req.as_bytes()).starts_with("HTTP/1.1 202"));

    // Our own child, by its id.
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stopped after 1 requests (lytics 1)"),
        "{stderr}"
    );
}
