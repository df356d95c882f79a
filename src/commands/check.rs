//! `cdp-purge check`: preflight. Validates the configuration and, where the vendor has a
//! harmless authenticated call, proves the credentials with it. Never deletes.

use crate::cli::{CheckArgs, GlobalArgs};
use crate::exit::Code;
use crate::settings::{self, Target};
use crate::vendor;

/// One target's preflight result.
#[derive(Debug, serde::Serialize)]
struct Finding {
    target: String,
    vendor: &'static str,
    host: String,
    /// `ok`, `unverified`, `refused` or `failed`.
    result: &'static str,
    detail: String,
}

pub fn run(args: &CheckArgs, global: &GlobalArgs) -> anyhow::Result<Code> {
    let targets = settings::resolve_targets_only(&args.vendor, global.config.as_deref(), true)?;
    let client = crate::engine::http_client(args.timeout)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let findings = rt.block_on(async {
        let mut out = Vec::with_capacity(targets.len());
        for t in &targets {
            out.push(check_one(&client, t).await);
        }
        out
    });

    if args.json {
        crate::output::stdout_line(&serde_json::to_string(&findings)?)?;
    } else if !global.quiet {
        let mut s = String::new();
        for f in &findings {
            s.push_str(&format!(
                "{:<11} {} ({}, {})\n            {}\n",
                f.result, f.target, f.vendor, f.host, f.detail
            ));
        }
        crate::output::stdout(&s)?;
    }
    let code = if findings.iter().any(|f| f.result == "refused") {
        Code::Auth
    } else if findings.iter().any(|f| f.result == "failed") {
        Code::Usage
    } else {
        Code::Success
    };
    Ok(code)
}

async fn check_one(client: &reqwest::Client, t: &Target) -> Finding {
    let info = t.vendor.info();
    let finding = |result, detail: String| Finding {
        target: t.name.clone(),
        vendor: info.id,
        host: host_of(&t.base_url),
        result,
        detail,
    };
    let adapter = match vendor::adapter(t) {
        Ok(a) => a,
        Err(e) => return finding("failed", format!("configuration: {e:#}")),
    };
    let req = match adapter.preflight_request() {
        Ok(Some(r)) => r,
        Ok(None) => {
            return finding(
                "unverified",
                format!(
                    "configuration valid and {} set; {} offers no read-only call to prove them, so a refusal would show on the first batch (which stops the run)",
                    info.credentials.join(", "),
                    info.name
                ),
            );
        }
        Err(e) => return finding("failed", format!("configuration: {e:#}")),
    };
    let mut rb = client.request(req.method, &req.url);
    for (k, v) in req.headers {
        rb = rb.header(k, v);
    }
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "request failed"
            };
            // reqwest's Display includes the URL, which can carry a user_id path segment
            // for some vendors: print only the kind of failure and the host.
            return finding("failed", format!("{why} ({})", host_of(&t.base_url)));
        }
    };
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    if status == 401 || status == 403 {
        return finding(
            "refused",
            format!(
                "HTTP {status}: credentials refused; check {}",
                info.credentials.join(" and ")
            ),
        );
    }
    match adapter.preflight_answer(status, &body) {
        Ok(what) => finding("ok", what),
        Err(why) => finding("failed", why),
    }
}

fn host_of(url: &str) -> String {
    vendor::origin(url).unwrap_or_else(|| url.to_owned())
}
