use super::*;

#[tokio::test]
async fn scripted_faults_hit_the_next_requests_in_order() {
    let (sb, c) = start(plan([
        Fault::TooManyRequests(RetryAfter::Seconds(1)),
        Fault::Reset,
        Fault::Unavailable(Some(2)),
    ]))
    .await;
    let body = json!([profile(1)]);
    let send = || {
        c.post(format!("{}/userprofile/bulkdelete", sb.base_url()))
            .basic_auth(MP.0, Some(MP.1))
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(first.headers()["retry-after"], "1");

    let second = send().await.expect_err("reset before any response");
    assert!(second.status().is_none());
    assert_eq!(
        io_kind(&second),
        Some(ErrorKind::ConnectionReset),
        "{second:?}"
    );

    let third = send().await.unwrap();
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(third.headers()["retry-after"], "2");

    assert_eq!(send().await.unwrap().status(), StatusCode::ACCEPTED);
    let log = sb.log();
    let applied: Vec<bool> = log.iter().map(|r| r.applied).collect();
    assert_eq!(applied, [false, false, false, true]);
    assert_eq!(log[1].status, None);
    assert_eq!(log[1].fault, Some(Fault::Reset));
}

#[tokio::test]
async fn retry_after_comes_in_every_flavour() {
    let (sb, c) = start(plan([
        Fault::TooManyRequests(RetryAfter::DateIn(30)),
        Fault::TooManyRequests(RetryAfter::PastDate),
        Fault::TooManyRequests(RetryAfter::Garbage),
        Fault::TooManyRequests(RetryAfter::Absent),
    ]))
    .await;
    let mut headers = Vec::new();
    for _ in 0..4 {
        let resp = lytics(&sb, &c, "sandbox-token", &json!({ "values": ["a"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        let v = resp.headers().get("retry-after");
        headers.push(v.map(|v| v.to_str().unwrap().to_owned()));
    }
    let parse = |v: &Option<String>| {
        cdp_purge::vendor::parse_retry_after(v.as_deref().unwrap(), std::time::SystemTime::now())
    };
    let ahead = parse(&headers[0]).unwrap();
    assert!(
        ahead >= Duration::from_secs(29) && ahead <= Duration::from_secs(32),
        "{ahead:?}"
    );
    assert_eq!(parse(&headers[1]), Some(Duration::ZERO));
    assert_eq!(parse(&headers[2]), None);
    assert_eq!(headers[3], None);
    assert!(sb.log().iter().all(|r| !r.applied));
}

#[tokio::test]
async fn a_response_truncated_after_processing_deleted_and_the_retry_is_idempotent() {
    let (sb, c) = start(plan([Fault::TruncateAfterProcessing])).await;
    let body = json!({ "values": ["a@x.com"] });
    let resp = lytics(&sb, &c, "sandbox-token", &body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let err = resp.bytes().await.expect_err("the body is cut short");
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
    assert!(sb.log()[0].applied, "the deletion happened before the cut");

    let (status, v) = json_of(
        lytics(&sb, &c, "sandbox-token", &body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = v["data"]["successes"]["a@x.com"].as_str().unwrap();
    let (_, s) = lytics_status(&sb, &c, id).await;
    assert_eq!(s["data"]["request_id"], id);
    let log = sb.log();
    assert_eq!(
        log[0].body_hash, log[1].body_hash,
        "the retry resent the same body"
    );
    assert_eq!(log[1].fault, None);
}

#[tokio::test]
async fn truncate_before_processing_applies_nothing() {
    let (sb, c) = start(plan([Fault::Truncate])).await;
    let resp = lytics(&sb, &c, "sandbox-token", &json!({ "values": ["a"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.bytes().await.is_err());
    assert!(!sb.log()[0].applied);
}

#[tokio::test]
async fn a_hung_request_needs_the_client_timeout() {
    let (sb, _) = start(plan([Fault::Hang, Fault::HangAfterProcessing])).await;
    let c = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    for _ in 0..2 {
        let err = lytics(&sb, &c, "sandbox-token", &json!({ "values": ["a"] }))
            .send()
            .await
            .expect_err("no answer");
        assert!(err.is_timeout(), "{err:?}");
    }
    let applied: Vec<bool> = sb.log().iter().map(|r| r.applied).collect();
    assert_eq!(applied, [false, true]);
}

#[tokio::test]
async fn slow_drip_delivers_the_whole_body_late() {
    let (sb, c) = start(plan([Fault::SlowDrip(Duration::from_millis(2))])).await;
    let started = std::time::Instant::now();
    let (status, v) = clevertap(&sb, &c, "sandbox-passcode", &json!({ "guid": ["g"] })).await;
    assert_eq!(
        (status, v),
        (StatusCode::OK, json!({ "status": "success" }))
    );
    // 20 bytes of body at 2 ms each.
    assert!(started.elapsed() >= Duration::from_millis(40));
    assert!(sb.log()[0].applied);
}

#[tokio::test]
async fn an_outage_refuses_connections_then_recovers_on_the_same_port() {
    let (sb, c) = start(plan([Fault::Unreachable(Duration::from_millis(300))])).await;
    let body = json!({ "values": ["a"] });
    let err = lytics(&sb, &c, "sandbox-token", &body)
        .send()
        .await
        .unwrap_err();
    assert_eq!(io_kind(&err), Some(ErrorKind::ConnectionReset), "{err:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A fresh client: no pooled connection to hide the refusal.
    let fresh = Client::new();
    let err = lytics(&sb, &fresh, "sandbox-token", &body)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resp = lytics(&sb, &fresh, "sandbox-token", &body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn random_faults_follow_the_seeded_rate() {
    let cfg = SandboxConfig {
        faults: "500=0.3,seed=11".parse().unwrap(),
        ..SandboxConfig::default()
    };
    let (sb, c) = start(cfg).await;
    let mut errors = 0;
    for _ in 0..200 {
        let (status, _) = clevertap(&sb, &c, "sandbox-passcode", &json!({ "guid": "g" })).await;
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            errors += 1;
        }
    }
    assert!((35..=85).contains(&errors), "{errors} of 200 at 0.3");
    let faulted = sb
        .log()
        .iter()
        .filter(|r| r.fault == Some(Fault::ServerError))
        .count();
    assert_eq!(faulted, errors);
}

#[tokio::test]
async fn scripted_faults_can_target_one_vendor() {
    let (sb, c) = start(SandboxConfig::default()).await;
    sb.push_fault(Some(VendorKind::Clevertap), Fault::ServerError);
    let (status, _) = mparticle(&sb, &c, MP, &json!([profile(1)])).await;
    assert_eq!(status, StatusCode::ACCEPTED, "mParticle is not the target");
    let (status, v) = clevertap(&sb, &c, "sandbox-passcode", &json!({ "guid": "g" })).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        v["status"], "fail",
        "faults answer in the vendor's error shape"
    );
}

#[test]
fn blocking_sandbox_serves_keep_alive_pipelining_and_closes_on_request() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let body = r#"{"values":["a@x"]}"#;
    let one = format!(
        "DELETE /v2/identity/queue/bulk/user/email HTTP/1.1\r\nhost: x\r\n\
         authorization: sandbox-token\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let last = one.replace("host: x\r\n", "host: x\r\nconnection: close\r\n");
    // Both requests in one write: the second must wait in the buffer, not be dropped.
    let out = raw(sb.addr(), format!("{one}{last}").as_bytes());
    assert_eq!(out.matches("HTTP/1.1 202 Accepted").count(), 2, "{out}");
    assert!(out.contains("connection: close"));
    assert_eq!(sb.log().len(), 2);
    sb.shutdown();
}

#[test]
fn oversized_chunked_and_unknown_requests() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let out = raw(
        sb.addr(),
        b"POST /userprofile/bulkdelete HTTP/1.1\r\ncontent-length: 16777217\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");

    let auth = "Basic c2FuZGJveC1rZXk6c2FuZGJveC1zZWNyZXQ="; // sandbox-key:sandbox-secret
    let chunk = r#"[{"environment_type":"production","action":"delete","mpid":"7"}]"#;
    let req = format!(
        "POST /userprofile/bulkdelete HTTP/1.1\r\nauthorization: {auth}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let out = raw(sb.addr(), req.as_bytes());
    assert!(out.starts_with("HTTP/1.1 202"), "{out}");
    assert_eq!(sb.log()[0].values, ["7"]);

    let out = raw(
        sb.addr(),
        b"GET /nowhere HTTP/1.1\r\nconnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    assert_eq!(sb.log()[1].vendor, None);
}

#[test]
fn expect_100_continue_gets_its_interim_answer() {
    use std::io::{Read, Write};
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let body = r#"{"values":["a@x"]}"#;
    let mut s = std::net::TcpStream::connect(sb.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = format!(
        "DELETE /v2/identity/queue/bulk/user/email HTTP/1.1\r\nauthorization: sandbox-token\r\n\
         content-type: application/json\r\nexpect: 100-continue\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(body.as_bytes()).unwrap();
    let mut rest = String::new();
    let _ = s.read_to_string(&mut rest);
    assert!(rest.starts_with("HTTP/1.1 202"), "{rest}");
}

#[test]
fn a_hung_connection_is_closed_once_the_client_leaves() {
    use std::io::{Read, Write};
    let sb = Sandbox::start_blocking(plan([Fault::Hang])).unwrap();
    let mut s = std::net::TcpStream::connect(sb.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(b"GET /v2/identity/deletestatus/x HTTP/1.1\r\n\r\n")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    // EOF without a byte; a timeout here means the server kept the socket.
    s.read_to_end(&mut out).expect("the server closed its side");
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
}

#[tokio::test]
async fn injected_429s_and_503s_read_like_the_vendor_wrote_them() {
    let (sb, c) = start(SandboxConfig::default()).await;
    let many = Fault::TooManyRequests(RetryAfter::Absent);
    sb.push_fault(Some(VendorKind::Clevertap), many);
    sb.push_fault(Some(VendorKind::Segment), many);
    sb.push_fault(Some(VendorKind::Clevertap), Fault::Unavailable(None));

    let (status, v) = clevertap(&sb, &c, "sandbox-passcode", &json!({ "guid": "g" })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["error"], "Too many concurrent requests");
    let url = segment_url(&sb, "spa_1", "u1");
    let (status, v) = segment(&c, &url, "sandbox-token", &eid("email", "a@x")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["error"]["code"], "rate_limit_error");
    let (status, v) = clevertap(&sb, &c, "sandbox-passcode", &json!({ "guid": "g" })).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"], "Server Error. Please retry later");
}
