//! `cdp-purge check`: preflight. Validates the configuration and, with the read-only calls
//! each vendor offers, proves what it can of the credentials and settings; says plainly what
//! no call can prove. Never deletes.

use crate::cli::{CheckArgs, GlobalArgs};
use crate::exit::{self, Code};
use crate::printer::Printer;
use crate::protocol::answer::{MAX_ANSWER, Unread, read_capped, too_large};
use crate::settings::{self, Target};
use crate::vendor::{self, Finding, Probe};

/// One probe's result, for the report.
#[derive(Debug, serde::Serialize)]
struct ProbeResult {
    what: &'static str,
    result: &'static str,
    detail: String,
}

/// One target's preflight result.
#[derive(Debug, serde::Serialize)]
struct TargetResult {
    target: String,
    vendor: &'static str,
    host: String,
    /// `ok` (every call answered as documented), `unverified` (nothing could be proven),
    /// `refused` (credentials) or `failed` (configuration or connection).
    result: &'static str,
    /// The probes' details, one per line.
    detail: String,
    probes: Vec<ProbeResult>,
    /// What no read-only call can prove.
    not_checked: Vec<String>,
}

pub fn run(
    args: &CheckArgs,
    global: &GlobalArgs,
    printer: &Printer,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Code> {
    let targets = settings::resolve_targets_only(&args.vendor, global.config.as_deref(), true)?;
    let client = crate::engine::http_client(args.timeout)?;
    let results = rt.block_on(async {
        let mut out = Vec::with_capacity(targets.len());
        for t in &targets {
            tracing::info!(
                "{}: checking {} at {}",
                t.name,
                t.vendor.info().name,
                host_of(&t.base_url)
            );
            let r = check_one(&client, t).await;
            tracing::info!("{}: {}", t.name, r.result);
            out.push(r);
        }
        out
    });

    if args.json {
        printer.json_line(&results)?;
    } else {
        let mut s = String::new();
        for r in &results {
            s.push_str(&format!(
                "{:<11} {} ({}, {})\n",
                r.result, r.target, r.vendor, r.host
            ));
            for p in &r.probes {
                let tag = if p.result == r.result || p.result == "ok" {
                    String::new()
                } else {
                    format!("{}: ", p.result)
                };
                s.push_str(&format!("            {}: {tag}{}\n", p.what, p.detail));
            }
            if r.probes.is_empty() {
                s.push_str(&format!("            {}\n", r.detail));
            }
            for n in &r.not_checked {
                s.push_str(&format!("            not checked: {n}\n"));
            }
        }
        printer.summary(&s)?;
    }
    Ok(exit::preflight(
        results.iter().any(|r| r.result == "refused"),
        results.iter().any(|r| r.result == "failed"),
    ))
}

async fn check_one(client: &reqwest::Client, t: &Target) -> TargetResult {
    let info = t.vendor.info();
    let host = host_of(&t.base_url);
    let mut result = TargetResult {
        target: t.name.clone(),
        vendor: info.id,
        host: host.clone(),
        result: "unverified",
        detail: String::new(),
        probes: Vec::new(),
        not_checked: Vec::new(),
    };
    let failed = |mut r: TargetResult, why: String| {
        r.result = "failed";
        r.detail = why;
        r
    };
    let adapter = match vendor::adapter(t) {
        Ok(a) => a,
        Err(e) => return failed(result, configuration(&e)),
    };
    let preflight = match adapter.preflight() {
        Ok(p) => p,
        Err(e) => return failed(result, configuration(&e)),
    };
    result.not_checked = preflight.not_checked_or(info.name);
    let mut findings = Vec::new();
    for probe in preflight.probes {
        let f = run_probe(client, &probe, &host).await;
        let stop = probe.gate && matches!(f, Finding::Refused(_) | Finding::Failed(_));
        findings.push((probe.what, f));
        if stop {
            break;
        }
    }
    result.result = summary(findings.iter().map(|(_, f)| f));
    result.detail = findings
        .iter()
        .map(|(what, f)| format!("{what}: {}", f.detail()))
        .collect::<Vec<_>>()
        .join("; ");
    if findings.is_empty() {
        result.detail = format!("configuration valid and {} set", t.vars());
    }
    result.probes = findings
        .into_iter()
        .map(|(what, f)| ProbeResult {
            what,
            result: f.label(),
            detail: f.detail().to_owned(),
        })
        .collect();
    result
}

/// A target's result from its probes': a refusal or a failure wins; otherwise `ok` when
/// any call proved something, else `unverified`.
fn summary<'a>(findings: impl Iterator<Item = &'a Finding> + Clone) -> &'static str {
    let worst = findings.clone().max_by_key(|f| f.rank());
    match worst {
        Some(f @ (Finding::Refused(_) | Finding::Failed(_))) => f.label(),
        _ if findings.into_iter().any(|f| matches!(f, Finding::Ok(_))) => "ok",
        _ => "unverified",
    }
}

/// The error of a target that cannot even be set up, with its hint.
fn configuration(e: &anyhow::Error) -> String {
    let (_, hint) = crate::exit::classify(e);
    match hint {
        Some(h) => format!("configuration: {e:#} (hint: {h})"),
        None => format!("configuration: {e:#}"),
    }
}

async fn run_probe(client: &reqwest::Client, probe: &Probe, host: &str) -> Finding {
    let req = &probe.request;
    let mut rb = client.request(req.method.clone(), &req.url);
    for (k, v) in &req.headers {
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
            return Finding::Failed(format!("{why} ({host})"));
        }
    };
    let status = resp.status().as_u16();
    // A probe's verdict may rest on the body: one that cannot be read whole (cut off, or
    // past the cap) proves nothing, rather than reading as an empty answer.
    let body = match read_capped(resp, MAX_ANSWER).await {
        Ok(b) => b,
        Err(Unread::TooLarge) => {
            return Finding::Failed(format!("HTTP {status}: {} ({host})", too_large()));
        }
        Err(Unread::Transport(_)) => {
            return Finding::Failed(format!("HTTP {status}: the answer was cut off ({host})"));
        }
    };
    (probe.read)(status, &body)
}

fn host_of(url: &str) -> String {
    vendor::origin(url).unwrap_or_else(|| url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_is_the_worst_finding_or_ok_when_anything_was_proven() {
        let ok = Finding::Ok("a".into());
        let unv = Finding::Unverified("b".into());
        let bad = Finding::Failed("c".into());
        let no = Finding::Refused("d".into());
        assert_eq!(summary([&ok, &unv].into_iter()), "ok");
        assert_eq!(summary([&unv].into_iter()), "unverified");
        assert_eq!(summary([&ok, &bad].into_iter()), "failed");
        assert_eq!(summary([&bad, &no].into_iter()), "refused");
        assert_eq!(summary(std::iter::empty()), "unverified");
    }
}
