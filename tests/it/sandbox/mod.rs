//! The vendor sandbox, driven over real HTTP: each vendor's contract, quotas and faults.
//! Client helpers live here; the tests are in `vendors` and `faults`.

mod cli;
mod downstream;
mod faults;
mod regs_mixpanel_braze;
mod vendors;

use std::io::ErrorKind;
use std::time::Duration;

use cdp_purge_sandbox::{Fault, FaultPlan, RetryAfter, Sandbox, SandboxConfig};
use cdp_purge_sandbox::{Quota, Rate, VendorKind};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

async fn start(cfg: SandboxConfig) -> (Sandbox, Client) {
    let sandbox = Sandbox::start(cfg).await.expect("sandbox starts");
    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    (sandbox, client)
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let body = resp.bytes().await.expect("whole body");
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("JSON body")
    };
    (status, value)
}

// ---------------------------------------------------------------- Lytics

fn lytics(sb: &Sandbox, c: &Client, token: &str, body: &Value) -> reqwest::RequestBuilder {
    c.request(
        Method::DELETE,
        format!("{}/v2/identity/queue/bulk/user/email", sb.base_url()),
    )
    .header("authorization", token)
    .json(body)
}

async fn lytics_status(sb: &Sandbox, c: &Client, id: &str) -> (StatusCode, Value) {
    let resp = c
        .get(format!("{}/v2/identity/deletestatus/{id}", sb.base_url()))
        .header("authorization", "sandbox-token")
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

// ---------------------------------------------------------------- mParticle

fn profile(mpid: i64) -> Value {
    json!({ "environment_type": "production", "action": "delete", "mpid": mpid.to_string() })
}

async fn mparticle(
    sb: &Sandbox,
    c: &Client,
    auth: (&str, &str),
    body: &Value,
) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{}/userprofile/bulkdelete", sb.base_url()))
        .basic_auth(auth.0, Some(auth.1))
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

const MP: (&str, &str) = ("sandbox-key", "sandbox-secret");

// ---------------------------------------------------------------- CleverTap

async fn clevertap(sb: &Sandbox, c: &Client, passcode: &str, body: &Value) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{}/1/delete/profiles.json", sb.base_url()))
        .header("X-CleverTap-Account-Id", "sandbox-account")
        .header("X-CleverTap-Passcode", passcode)
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

// ---------------------------------------------------------------- Segment

fn segment_url(sb: &Sandbox, space: &str, uid: &str) -> String {
    let uid = percent_encoding::utf8_percent_encode(uid, percent_encoding::NON_ALPHANUMERIC);
    format!(
        "{}/v1/spaces/{space}/collections/users/profiles/user_id:{uid}/external_ids/delete",
        sb.base_url()
    )
}

async fn segment(c: &Client, url: &str, token: &str, body: &Value) -> (StatusCode, Value) {
    let resp = c
        .post(url)
        .basic_auth(token, Some(""))
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

fn eid(kind: &str, id: &str) -> Value {
    json!({ "delete_external_ids": [{ "id": id, "type": kind }] })
}

// ---------------------------------------------------------------- Hightouch

async fn hightouch(
    sb: &Sandbox,
    c: &Client,
    graph: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let resp = c
        .post(format!(
            "{}/api/v1/idr/{graph}/queue-for-reprocessing",
            sb.base_url()
        ))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

async fn hightouch_status(sb: &Sandbox, c: &Client, graph: &str, id: &str) -> (StatusCode, Value) {
    let resp = c
        .get(format!(
            "{}/api/v1/idr/{graph}/reprocess-status/{id}",
            sb.base_url()
        ))
        .bearer_auth("sandbox-token")
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

// ---------------------------------------------------------------- faults and raw HTTP

fn plan(script: impl IntoIterator<Item = Fault>) -> SandboxConfig {
    SandboxConfig {
        faults: FaultPlan::script(script),
        ..SandboxConfig::default()
    }
}

/// The kind of the I/O error under a transport failure.
fn io_kind(e: &reqwest::Error) -> Option<ErrorKind> {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// Send raw bytes and read until the server closes.
fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
