//! The listener, the connection loop, and the per-request pipeline:
//! route → concurrency cap → fault → latency → vendor handler → record → respond.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::faults::{Fault, RetryAfter};
use super::http::{self, Request, Response, WriteMode};
use super::state::{InFlight, Shared};
use super::vendors;
use super::{RequestRecord, SandboxConfig};
use crate::facts::VendorKind;

/// Bind the listener; the returned future serves until the stop signal.
pub(crate) async fn bind(
    cfg: SandboxConfig,
) -> io::Result<(
    SocketAddr,
    Arc<Shared>,
    watch::Sender<bool>,
    impl Future<Output = ()> + Send + 'static,
)> {
    let listener = listen(SocketAddr::from((Ipv4Addr::LOCALHOST, cfg.port)))?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(cfg));
    let (stop_tx, stop_rx) = watch::channel(false);
    let serve = accept_loop(listener, addr, Arc::clone(&shared), stop_rx);
    Ok((addr, shared, stop_tx, serve))
}

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // Rebinding the same port after an injected outage must not wait for TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    // Dropping the set aborts every connection, hung ones included.
    let mut conns = JoinSet::new();
    let mut listener = Some(listener);
    loop {
        while conns.try_join_next().is_some() {}
        let Some(l) = &listener else {
            // Down: wait out the outage, then listen again on the same port.
            let until = shared.down_until();
            tokio::select! {
                _ = stop.changed() => return,
                () = sleep_until(until) => {}
            }
            if shared.down_until().is_none() {
                match listen(addr) {
                    Ok(l) => listener = Some(l),
                    Err(e) => {
                        tracing::warn!("sandbox: cannot listen on {addr} again: {e}; retrying");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
            continue;
        };
        tokio::select! {
            _ = stop.changed() => return,
            () = shared.down.notified() => {
                // Closing the listener makes new connections fail with "connection refused".
                listener = None;
            }
            accepted = l.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_connection(Arc::clone(&shared), stream));
                }
                Err(e) => tracing::debug!("sandbox: accept failed: {e}"),
            },
        }
    }
}

async fn sleep_until(until: Option<Instant>) {
    if let Some(t) = until {
        tokio::time::sleep_until(t.into()).await;
    }
}

/// What to do with the connection after handling a request.
enum Action {
    Respond(Response, WriteMode),
    Reset,
    Hang,
}

async fn serve_connection(shared: Arc<Shared>, mut stream: TcpStream) {
    let mut buf = Vec::with_capacity(8 * 1024);
    if !shared.cfg.handshake.is_zero() {
        tokio::time::sleep(shared.cfg.handshake).await;
    }
    loop {
        let req = match http::read_request(&mut stream, &mut buf).await {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) => {
                if let http::ReadError::Io(err) = &e {
                    tracing::debug!("sandbox: reading a request failed: {err}");
                }
                if let Some(resp) = e.response() {
                    let _ = http::write_response(&mut stream, &resp, true, WriteMode::Whole).await;
                }
                return;
            }
        };
        if shared.down_until().is_some() {
            return reset(stream);
        }
        let keep_alive = req.keep_alive;
        let (action, in_flight) = handle(&shared, req).await;
        match action {
            Action::Respond(resp, mode) => {
                let written = http::write_response(&mut stream, &resp, !keep_alive, mode).await;
                drop(in_flight);
                if written.is_err() || !keep_alive || mode == WriteMode::Truncated {
                    return;
                }
            }
            Action::Reset => return reset(stream),
            Action::Hang => {
                drop(in_flight);
                // Say nothing until the client gives up. Then close: waiting for the sandbox
                // to stop instead would leak a socket per hang in a long benchmark.
                let mut scratch = [0u8; 4096];
                while let Ok(n) = stream.read(&mut scratch).await {
                    if n == 0 {
                        break;
                    }
                }
                return;
            }
        }
    }
}

/// Close with RST instead of FIN: the client sees "connection reset by peer".
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn handle(shared: &Shared, req: Request) -> (Action, Option<InFlight>) {
    let mut rec = RequestRecord {
        at: Instant::now(),
        vendor: None,
        method: req.method.clone(),
        path: req.path.clone(),
        status: None,
        items: 0,
        values: Vec::new(),
        body_hash: xxhash_rust::xxh3::xxh3_64(&req.body),
        fault: None,
        applied: false,
    };
    let Some(route) = vendors::route_for(&req.method, &req.path) else {
        let resp = Response::json(404, &serde_json::json!({ "message": "Not Found" }));
        rec.status = Some(404);
        shared.record(rec);
        return (Action::Respond(resp, WriteMode::Whole), None);
    };
    let vendor = route.vendor();
    rec.vendor = Some(vendor);
    rec.values = vendors::values(&route, &req);
    rec.items = rec.values.len();

    if req.method != route.method() {
        let resp =
            vendors::error(vendor, 405, "Method Not Allowed").with_header("allow", route.method());
        rec.status = Some(405);
        shared.record(rec);
        return (Action::Respond(resp, WriteMode::Whole), None);
    }
    let Some(in_flight) = shared.enter(vendor) else {
        let resp = vendors::throttled(vendor);
        rec.status = Some(429);
        shared.record(rec);
        return (Action::Respond(resp, WriteMode::Whole), None);
    };
    let fault = shared.faults.lock().expect("faults lock").next(vendor);
    if !shared.cfg.latency.is_zero() {
        tokio::time::sleep(shared.cfg.latency).await;
    }
    let (action, status) = if fault.applies_deletion() {
        let handled = vendors::handle(shared, &route, &req);
        rec.applied = handled.applied;
        let status = Some(handled.resp.status);
        let action = match fault {
            Fault::ResetAfterProcessing => Action::Reset,
            Fault::HangAfterProcessing => Action::Hang,
            Fault::TruncateAfterProcessing => Action::Respond(handled.resp, WriteMode::Truncated),
            Fault::BareSuccess if (200..300).contains(&handled.resp.status) => Action::Respond(
                Response::json(handled.resp.status, &serde_json::json!({})),
                WriteMode::Whole,
            ),
            Fault::SlowDrip(every) => Action::Respond(handled.resp, WriteMode::Drip(every)),
            _ => Action::Respond(handled.resp, WriteMode::Whole),
        };
        (action, status)
    } else {
        refuse(shared, vendor, fault)
    };
    rec.fault = (fault != Fault::Pass).then_some(fault);
    rec.status = status;
    shared.record(rec);
    (action, Some(in_flight))
}

/// Act out a fault that strikes before the vendor processes anything.
fn refuse(shared: &Shared, vendor: VendorKind, fault: Fault) -> (Action, Option<u16>) {
    let respond = |resp: Response, mode| {
        let status = Some(resp.status);
        (Action::Respond(resp, mode), status)
    };
    match fault {
        Fault::TooManyRequests(ra) => respond(
            with_retry_after(vendors::throttled(vendor), ra),
            WriteMode::Whole,
        ),
        Fault::Unavailable(ra) => {
            let resp = vendors::unavailable(vendor);
            let resp = match ra {
                Some(secs) => resp.with_header("retry-after", secs.to_string()),
                None => resp,
            };
            respond(resp, WriteMode::Whole)
        }
        Fault::ServerError => respond(
            vendors::error(vendor, 500, "Internal Server Error"),
            WriteMode::Whole,
        ),
        // A server that died while writing its error: the body is cut short.
        Fault::Truncate => respond(
            vendors::error(vendor, 500, "Internal Server Error"),
            WriteMode::Truncated,
        ),
        Fault::Status(s) => respond(
            vendors::error(vendor, s, "Injected fault"),
            WriteMode::Whole,
        ),
        Fault::Reset => (Action::Reset, None),
        Fault::Hang => (Action::Hang, None),
        Fault::Unreachable(d) => {
            shared.go_down(d);
            (Action::Reset, None)
        }
        Fault::Pass
        | Fault::ResetAfterProcessing
        | Fault::TruncateAfterProcessing
        | Fault::BareSuccess
        | Fault::SlowDrip(_)
        | Fault::HangAfterProcessing => unreachable!("{fault} applies the deletion"),
    }
}

fn with_retry_after(resp: Response, ra: RetryAfter) -> Response {
    let now = SystemTime::now();
    let value = match ra {
        RetryAfter::Seconds(s) => s.to_string(),
        RetryAfter::DateIn(s) => {
            // HTTP-dates have whole seconds: round up so the client never waits too little.
            httpdate::fmt_http_date(now + std::time::Duration::from_secs(s + 1))
        }
        RetryAfter::PastDate => httpdate::fmt_http_date(now - std::time::Duration::from_secs(60)),
        RetryAfter::Garbage => "soon-ish".to_owned(),
        RetryAfter::Absent => return resp,
    };
    resp.with_header("retry-after", value)
}
