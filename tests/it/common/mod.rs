//! Shared test helpers: a minimal adapter and a scripted wiremock responder that records
//! when every request arrived.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdp_purge::batch::{Batch, Item};
use cdp_purge::engine::limiter::{Budget, Limits};
use cdp_purge::engine::retry::RetryPolicy;
use cdp_purge::engine::{Engine, EngineConfig, RunEnd, Stats};
use cdp_purge::ledger::Ledger;
use cdp_purge::vendor::{
    Adapter, ItemOutcome, OutcomeClass, Rate, Request, Response, VendorKind, VendorSpec, Verdict,
    classify_common,
};

/// Posts `{"values":[...]}` to `{base}/bulk`; 2xx acknowledges every item, except those the
/// body lists under `errors` (Lytics-style per-item errors).
pub struct TestAdapter {
    pub base: String,
}

impl Adapter for TestAdapter {
    fn spec(&self) -> &'static VendorSpec {
        VendorKind::Lytics.info()
    }
    fn build(&self, batch: &Batch) -> anyhow::Result<Request> {
        let values: Vec<&str> = batch.items.iter().map(|i| i.value.as_str()).collect();
        Ok(Request {
            method: reqwest::Method::POST,
            url: format!("{}/bulk", self.base),
            headers: vec![(
                reqwest::header::AUTHORIZATION,
                reqwest::header::HeaderValue::from_static("secret-token-xyz"),
            )],
            body: serde_json::to_vec(&serde_json::json!({ "values": values }))?.into(),
        })
    }
    fn classify(&self, batch: &Batch, resp: &Response<'_>) -> Verdict {
        if (200..300).contains(&resp.status) {
            let v: serde_json::Value = serde_json::from_slice(resp.body).unwrap_or_default();
            return Verdict::Items(
                batch
                    .items
                    .iter()
                    .map(
                        |it| match v.pointer("/errors").and_then(|e| e.get(&it.value)) {
                            Some(msg) => ItemOutcome {
                                class: OutcomeClass::Invalid,
                                vendor_id: None,
                                message: msg.as_str().map(str::to_owned),
                            },
                            None => ItemOutcome {
                                class: OutcomeClass::Acknowledged,
                                vendor_id: Some(format!("req-{}", it.row)),
                                message: None,
                            },
                        },
                    )
                    .collect(),
            );
        }
        classify_common(VendorKind::Lytics.info(), resp)
    }
    fn account(&self) -> Vec<(String, String)> {
        vec![("account".into(), "test".into())]
    }
    fn endpoint(&self) -> String {
        format!("{}/bulk", self.base)
    }
}

pub fn batches(n_batches: usize, per: usize) -> Vec<Batch> {
    numbered_batches(n_batches, per, "lytics", "email", Some("email"), |n| {
        format!("user{n}@example.com")
    })
}

/// `n_batches` batches of `per` identifiers of `kind` for `vendor`, the n-th identifier
/// being `value(n)` on input row n + 2 (after the header).
fn numbered_batches(
    n_batches: usize,
    per: usize,
    vendor: &str,
    kind: &str,
    field: Option<&str>,
    value: impl Fn(usize) -> String,
) -> Vec<Batch> {
    (0..n_batches)
        .map(|b| {
            let items = (0..per)
                .map(|i| Item {
                    file: 0,
                    row: (b * per + i + 2) as u64,
                    value: value(b * per + i),
                    kind: kind.into(),
                    lookup: None,
                })
                .collect();
            Batch::new(b as u64, vendor, field.map(Into::into), items)
        })
        .collect()
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub values: Vec<String>,
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

/// A wiremock responder driven by a closure of (request index, values).
pub struct Script<F> {
    pub log: Log,
    pub f: F,
}

impl<F> wiremock::Respond for Script<F>
where
    F: Fn(usize, &[String]) -> wiremock::ResponseTemplate + Send + Sync + 'static,
{
    fn respond(&self, req: &wiremock::Request) -> wiremock::ResponseTemplate {
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let values: Vec<String> = v["values"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut log = self.log.lock().unwrap();
        let n = log.len();
        log.push(Seen {
            at: Instant::now(),
            values: values.clone(),
        });
        drop(log);
        (self.f)(n, &values)
    }
}

pub async fn server<F>(f: F) -> (wiremock::MockServer, Log)
where
    F: Fn(usize, &[String]) -> wiremock::ResponseTemplate + Send + Sync + 'static,
{
    let server = wiremock::MockServer::start().await;
    let log: Log = Arc::default();
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Script {
            log: log.clone(),
            f,
        })
        .mount(&server)
        .await;
    (server, log)
}

pub struct Run {
    pub end: RunEnd,
    pub stats: Arc<Stats>,
    pub ledger: Vec<serde_json::Value>,
    pub started: Instant,
}

pub struct Opts {
    pub concurrency: u32,
    pub max_retries: u32,
    pub time_scale: f64,
    pub timeout: Duration,
    pub rps: Option<u32>,
    /// Replaces `concurrency` and `rps` when given.
    pub limits: Option<Limits>,
    /// The systemic-failure breaker's threshold; 0 (the default here) turns it off so
    /// that engine tests see every per-item verdict.
    pub breaker_after: u64,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            concurrency: 4,
            max_retries: 5,
            time_scale: 0.01,
            timeout: Duration::from_secs(5),
            rps: None,
            limits: None,
            breaker_after: 0,
        }
    }
}

/// Run the engine over `batches` against `base`, with a fresh ledger in a temp dir.
pub async fn run_engine(base: &str, batches: Vec<Batch>, o: Opts) -> Run {
    let adapter = Arc::new(TestAdapter {
        base: base.to_owned(),
    });
    run_engine_with(adapter, batches, o).await
}

/// The mParticle adapter aimed at a sandbox.
pub fn mparticle(base: &str) -> Arc<dyn Adapter> {
    use cdp_purge::cli::{Environment, Pod};
    use cdp_purge::settings::{Target, VendorParams};
    use cdp_purge::vendor::Secret;
    let creds = cdp_purge_sandbox::Credentials::default();
    let target = Target {
        name: "mparticle".into(),
        vendor: VendorKind::Mparticle,
        base_url: base.to_owned(),
        params: VendorParams::Mparticle {
            pod: Pod::Us1,
            environment: Environment::Production,
            identity_type: "customerid".into(),
        },
        credentials: [
            ("MPARTICLE_API_KEY", Secret::new(creds.mparticle_key)),
            ("MPARTICLE_API_SECRET", Secret::new(creds.mparticle_secret)),
        ]
        .into_iter()
        .collect(),
        batch_size: 100,
    };
    cdp_purge::vendor::adapter(&target).unwrap()
}

/// The CleverTap adapter aimed at a sandbox (identity kind).
pub fn clevertap(base: &str) -> Arc<dyn Adapter> {
    use cdp_purge::cli::IdKind;
    use cdp_purge::settings::{Target, VendorParams};
    use cdp_purge::vendor::Secret;
    let creds = cdp_purge_sandbox::Credentials::default();
    let target = Target {
        name: "clevertap".into(),
        vendor: VendorKind::Clevertap,
        base_url: base.to_owned(),
        params: VendorParams::Clevertap {
            region: "eu1".into(),
            id_kind: IdKind::Identity,
        },
        credentials: [
            (
                "CLEVERTAP_ACCOUNT_ID",
                Secret::new(creds.clevertap_account_id),
            ),
            ("CLEVERTAP_PASSCODE", Secret::new(creds.clevertap_passcode)),
        ]
        .into_iter()
        .collect(),
        batch_size: 100,
    };
    cdp_purge::vendor::adapter(&target).unwrap()
}

/// Batches of mParticle customer ids.
pub fn mp_batches(n_batches: usize, per: usize) -> Vec<Batch> {
    numbered_batches(n_batches, per, "mparticle", "customerid", None, |n| {
        format!("C-{n}")
    })
}

/// Run the engine with any adapter.
pub async fn run_engine_with(adapter: Arc<dyn Adapter>, batches: Vec<Batch>, o: Opts) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ledger.jsonl");
    let ledger = Ledger::open(&path).unwrap();
    let stats = Arc::new(Stats::new());
    let limits = o.limits.clone().unwrap_or(Limits {
        requests: o
            .rps
            .map(|r| Budget::for_quota(Rate::per_second(r), 1).unwrap()),
        items: None,
        concurrency: o.concurrency,
        concurrency_limited: false,
    });
    let cfg = EngineConfig {
        limits,
        retry: RetryPolicy::new(o.max_retries, Duration::from_secs(60), o.time_scale),
        timeout: o.timeout,
        include_identifiers: false,
        bisect_budget: 1000,
        run_id: "test-run".into(),
        key: ledger.key,
        breaker_after: o.breaker_after,
    };
    let engine = Engine::new(adapter, cfg, ledger.handle(), stats.clone()).unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        for b in batches {
            if tx.send(b).await.is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let end = engine.run(rx).await;
    drop(engine);
    ledger.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let ledger = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Run {
        end,
        stats,
        ledger,
        started,
    }
}

pub fn records<'a>(
    ledger: &'a [serde_json::Value],
    ty: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
    ledger.iter().filter(move |r| r["type"] == ty)
}

pub fn get(c: &std::sync::atomic::AtomicU64) -> u64 {
    Stats::get(c)
}

/// The paths a wiremock server was asked for, in order.
pub async fn received_paths(server: &wiremock::MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect()
}

/// A server that answers every request with a 302 to its own `/sign-in`, a page that
/// answers 200 with `page` (a proxy's or a portal's sign-in page): a redirect, if followed,
/// would read that page as the vendor's answer.
pub async fn redirecting_to_a_page(page: &str) -> wiremock::MockServer {
    use wiremock::matchers::{any, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(path("/sign-in"))
        .respond_with(ResponseTemplate::new(200).set_body_string(page))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/sign-in", server.uri()).as_str()),
        )
        .mount(&server)
        .await;
    server
}
