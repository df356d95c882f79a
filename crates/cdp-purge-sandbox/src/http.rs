//! Just enough HTTP/1.1 to look like a vendor and to misbehave like a network.
//!
//! A framework (axum, hyper) would not let us reset a connection instead of answering, send
//! a Content-Length we do not honour, or drip a body byte by byte; this module does.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest request body accepted (413 above it).
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Largest request head (request line and headers) accepted (431 above it).
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query string, still percent-encoded.
    pub path: String,
    /// The query string after `?` (empty without one), still percent-encoded.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client wants the connection kept open after the response.
    pub keep_alive: bool,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter with this name, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| {
                percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    }
}

/// A response about to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: serde_json::to_vec(body).expect("a Value always serializes"),
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// How to write a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Whole,
    /// Promise the full Content-Length, write half the body (at least one byte short), close.
    Truncated,
    /// Write the head at once, then the body one byte per interval.
    Drip(Duration),
}

/// Why a request could not be read; each maps to a status the server answers before
/// closing the connection.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// 400 with this message.
    Malformed(&'static str),
    /// 413.
    TooLarge,
    /// 431.
    HeadTooLarge,
}

impl ReadError {
    /// The answer to send, if the connection can still carry one.
    pub fn response(&self) -> Option<Response> {
        let (status, message) = match self {
            ReadError::Io(_) => return None,
            ReadError::Malformed(m) => (400, *m),
            ReadError::TooLarge => (413, "request body larger than 16 MiB"),
            ReadError::HeadTooLarge => (431, "request head larger than 64 KiB"),
        };
        Some(Response::json(
            status,
            &serde_json::json!({ "message": message }),
        ))
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Read one request. `buf` carries bytes between calls (a pipelining client may send the
/// next request in the same segment). `Ok(None)`: the client closed between requests.
pub async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Option<Request>, ReadError> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let req = head(&parsed)?;
                let body_start = head_len;
                let (body, consumed) = read_body(stream, buf, body_start, &req).await?;
                buf.drain(..consumed);
                return Ok(Some(Request { body, ..req }));
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err(ReadError::HeadTooLarge);
                }
            }
            Err(httparse::Error::TooManyHeaders) => return Err(ReadError::HeadTooLarge),
            Err(_) => return Err(ReadError::Malformed("malformed request")),
        }
        if fill(stream, buf).await? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()))
            };
        }
    }
}

/// The request line and headers, with an empty body.
fn head(parsed: &httparse::Request<'_, '_>) -> Result<Request, ReadError> {
    let target = parsed.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (path, query) = (path.to_owned(), query.to_owned());
    let mut headers = Vec::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| ReadError::Malformed("header value is not UTF-8"))?;
        headers.push((h.name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut req = Request {
        method: parsed.method.unwrap_or("GET").to_owned(),
        path,
        query,
        headers,
        body: Vec::new(),
        keep_alive: true,
    };
    let connection = req.header("connection").map(str::to_ascii_lowercase);
    req.keep_alive = match parsed.version {
        Some(1) => !connection.as_deref().is_some_and(|c| c.contains("close")),
        _ => connection
            .as_deref()
            .is_some_and(|c| c.contains("keep-alive")),
    };
    Ok(req)
}

/// Read the body after the head; returns it and how many bytes of `buf` the request used.
async fn read_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    start: usize,
    req: &Request,
) -> Result<(Vec<u8>, usize), ReadError> {
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(stream, buf, start).await;
    }
    let len = match req.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ReadError::Malformed("invalid Content-Length"))?,
    };
    if len > MAX_BODY {
        return Err(ReadError::TooLarge);
    }
    // curl sends `Expect: 100-continue` for bodies over 1 KiB and waits a second for it.
    if buf.len() < start + len
        && req
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    while buf.len() < start + len {
        if fill(stream, buf).await? == 0 {
            return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
    }
    Ok((buf[start..start + len].to_vec(), start + len))
}

async fn read_chunked(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    start: usize,
) -> Result<(Vec<u8>, usize), ReadError> {
    let mut body = Vec::new();
    let mut pos = start;
    loop {
        match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete((size_len, size))) => {
                let size = usize::try_from(size).map_err(|_| ReadError::TooLarge)?;
                if body.len() + size > MAX_BODY {
                    return Err(ReadError::TooLarge);
                }
                // The chunk's data and its CRLF; the last (empty) chunk has only the CRLF
                // (trailers are not supported: no vendor client sends them).
                let need = pos + size_len + size + 2;
                while buf.len() < need {
                    if fill(stream, buf).await? == 0 {
                        return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
                if &buf[need - 2..need] != b"\r\n" {
                    return Err(ReadError::Malformed("malformed chunked body"));
                }
                body.extend_from_slice(&buf[pos + size_len..need - 2]);
                pos = need;
                if size == 0 {
                    return Ok((body, pos));
                }
            }
            Ok(httparse::Status::Partial) => {
                if fill(stream, buf).await? == 0 {
                    return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
                }
            }
            Err(_) => return Err(ReadError::Malformed("malformed chunked body")),
        }
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Write a response. `close` adds `Connection: close` (the caller then drops the stream).
pub async fn write_response(
    stream: &mut TcpStream,
    resp: &Response,
    close: bool,
    mode: WriteMode,
) -> io::Result<()> {
    let declared = match mode {
        // An empty body cannot be cut short, so promise two bytes that never come.
        WriteMode::Truncated => resp.body.len().max(2),
        _ => resp.body.len(),
    };
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (name, value) in &resp.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {declared}\r\n"));
    head.push_str(&format!(
        "date: {}\r\n",
        httpdate::fmt_http_date(std::time::SystemTime::now())
    ));
    if close || mode == WriteMode::Truncated {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    match mode {
        WriteMode::Whole => {
            let mut out = head.into_bytes();
            out.extend_from_slice(&resp.body);
            stream.write_all(&out).await?;
        }
        WriteMode::Truncated => {
            let mut out = head.into_bytes();
            out.extend_from_slice(&resp.body[..resp.body.len() / 2]);
            stream.write_all(&out).await?;
            stream.flush().await?;
            stream.shutdown().await?;
        }
        WriteMode::Drip(every) => {
            stream.write_all(head.as_bytes()).await?;
            for byte in &resp.body {
                stream.flush().await?;
                tokio::time::sleep(every).await;
                stream.write_all(std::slice::from_ref(byte)).await?;
            }
        }
    }
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}
