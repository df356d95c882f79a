//! Reading a vendor's answer with a bound on its size: whatever a vendor (or something
//! posing as one) sends, memory stays bounded. Every reader of an answer body goes through
//! [`read_capped`]: deletions, `status` lookups and `check`'s probes.

/// The largest answer read: a deletion's or a job's answer is a few hundred bytes to a few
/// hundred kilobytes (one result per identifier), a vendor's list of jobs can be any size
/// (the sandbox's Lytics list of a 5M-job ledger was read whole and parsed into 3.4 GB).
/// Beyond it the answer is not read and proves nothing.
pub const MAX_ANSWER: usize = 16 << 20;

/// Why an answer past [`MAX_ANSWER`] proves nothing, for the ledger and the user.
pub fn too_large() -> String {
    format!("an answer over {} MiB, not read", MAX_ANSWER >> 20)
}

/// Why an answer's body was not read.
#[derive(Debug)]
pub enum Unread {
    /// It (or its announced length) passed the cap.
    TooLarge,
    /// The connection failed while it was read.
    Transport(reqwest::Error),
}

/// The body of `resp`, or [`Unread::TooLarge`] as soon as it (or its announced length)
/// passes `cap` bytes.
pub async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, Unread> {
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return Err(Unread::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Unread::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(Unread::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn an_answer_is_read_up_to_the_cap_and_not_past_it() {
        let server = MockServer::start().await;
        for (p, n) in [("/at", 1000usize), ("/over", 1001)] {
            Mock::given(path(p))
                .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; n]))
                .mount(&server)
                .await;
        }
        let client = reqwest::Client::new();
        let get = |p: &str| client.get(format!("{}{p}", server.uri())).send();
        let at = read_capped(get("/at").await.expect("sent"), 1000).await;
        assert_eq!(at.expect("read").len(), 1000);
        let over = read_capped(get("/over").await.expect("sent"), 1000).await;
        assert!(matches!(over, Err(Unread::TooLarge)), "{over:?}");
    }

    /// An answer that does not announce its length (chunked) is cut off while it streams,
    /// however much more the server would send.
    #[tokio::test]
    async fn an_unannounced_answer_is_cut_off_at_the_cap() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req).await;
            let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_err() {
                return 0usize;
            }
            // 64 chunks of 100 bytes: 6,400 bytes if read whole.
            let mut sent = 0;
            for _ in 0..64 {
                let chunk = format!("64\r\n{}\r\n", "y".repeat(100));
                if s.write_all(chunk.as_bytes()).await.is_err() {
                    break;
                }
                sent += 1;
            }
            let _ = s.write_all(b"0\r\n\r\n").await;
            sent
        });
        let resp = reqwest::get(format!("http://{addr}/")).await.expect("sent");
        assert_eq!(
            resp.content_length(),
            None,
            "the answer must not announce its length"
        );
        let got = read_capped(resp, 1000).await;
        assert!(matches!(got, Err(Unread::TooLarge)), "{got:?}");
        let _ = server.await;
    }
}
