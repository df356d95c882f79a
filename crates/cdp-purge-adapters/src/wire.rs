//! Wire-level helpers shared by the adapters: auth headers, path encoding, and keeping
//! identifiers out of the messages we pass on from vendors.

use anyhow::anyhow;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};

use super::{ItemOutcome, Request, Response, VendorSpec, Verdict, classify_common};
use cdp_purge_core::batch::Batch;
pub use cdp_purge_core::protocol::{error_fields, error_fields_of};

/// Everything but RFC 3986 unreserved characters gets escaped. Stricter than the URL spec
/// needs for a path segment on purpose: Segment's Profile API reads a raw `+` as a space and
/// answers 500 to some unescaped punctuation.
pub const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one path segment.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// A header value holding a secret: marked sensitive so `Debug` and HTTP/2 header
/// compression leave it alone. The error names the variable, never the value.
pub fn secret_header(value: &str, var: &str) -> anyhow::Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| anyhow!("{var} holds characters that cannot go in an HTTP header"))?;
    v.set_sensitive(true);
    Ok(v)
}

/// `Authorization: Basic base64(user:password)`, marked sensitive.
pub fn basic_auth(user: &str, password: &str, vars: &str) -> anyhow::Result<HeaderValue> {
    secret_header(
        &format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
        vars,
    )
}

/// `Content-Type: application/json`.
pub fn json_content_type() -> (HeaderName, HeaderValue) {
    (CONTENT_TYPE, HeaderValue::from_static("application/json"))
}

/// A GET with the vendor's `Authorization` and no body: every status and lookup route.
pub fn get(url: String, auth: &HeaderValue) -> Request {
    Request {
        method: Method::GET,
        url,
        headers: vec![(AUTHORIZATION, auth.clone())],
        body: Default::default(),
    }
}

/// `body` as JSON with the vendor's `Authorization`: every deletion call but Iterable's
/// (whose key goes in its own header).
pub fn json(
    method: Method,
    url: String,
    auth: &HeaderValue,
    body: &impl serde::Serialize,
) -> anyhow::Result<Request> {
    Ok(json_bytes(method, url, auth, serde_json::to_vec(body)?))
}

/// A JSON body already written, with the vendor's `Authorization`.
fn json_bytes(method: Method, url: String, auth: &HeaderValue, body: Vec<u8>) -> Request {
    Request {
        method,
        url,
        headers: vec![(AUTHORIZATION, auth.clone()), json_content_type()],
        body: body.into(),
    }
}

/// A JSON body written by hand, for the deletion bodies sent once per request at the quota
/// (mParticle's 100 objects): through serde's serializer they cost ~3 ns a byte, a tenth of
/// a paced run's CPU. Keys and punctuation are the caller's literal JSON; values go through
/// [`JsonBody::str`], which writes exactly what `serde_json` writes for the same `&str`.
pub struct JsonBody {
    buf: Vec<u8>,
}

impl JsonBody {
    /// A body with room for `capacity` bytes (a guess; it grows past it).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Literal JSON text: keys, punctuation, constants. Never a value from the input.
    pub fn raw(&mut self, json: &str) {
        self.buf.extend_from_slice(json.as_bytes());
    }

    /// A JSON string. A value with nothing to escape (no `"`, `\` or control character) is
    /// copied as it is; any other goes through `serde_json`, so both agree byte for byte.
    pub fn str(&mut self, s: &str) -> anyhow::Result<()> {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.buf.reserve(s.len() + 2);
            self.buf.push(b'"');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.push(b'"');
        } else {
            serde_json::to_writer(&mut self.buf, s)?;
        }
        Ok(())
    }

    /// Text another `JsonBody` wrote (a fragment repeated in every element).
    pub fn append(&mut self, other: &JsonBody) {
        self.buf.extend_from_slice(&other.buf);
    }

    /// How many bytes are written.
    pub fn written(&self) -> usize {
        self.buf.len()
    }

    /// Drop what was written after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// A request with this body, as [`json`] makes one.
    pub fn request(self, method: Method, url: String, auth: &HeaderValue) -> Request {
        json_bytes(method, url, auth, self.buf)
    }
}

/// Standard base64 with padding (RFC 4648 §4); only ever used for Basic auth, so not worth
/// a dependency.
fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What replaces an identifier found in a vendor message.
pub const REDACTED: &str = "<redacted>";

/// Vendor text made safe to log: control characters dropped, length bounded, and every
/// identifier of the batch (values and Segment lookups) replaced, ignoring ASCII case since
/// vendors may echo a normalised form.
pub fn scrub(text: &str, batch: &Batch) -> String {
    redact(text, batch)
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}

fn redact(text: &str, batch: &Batch) -> String {
    let mut out = text.to_owned();
    for it in &batch.items {
        for needle in std::iter::once(it.value.as_str()).chain(it.lookup.as_deref()) {
            if let Some(replaced) = replace_ascii_ci(&out, needle, REDACTED) {
                out = replaced;
            }
        }
    }
    out
}

/// `hay` with every ASCII-case-insensitive occurrence of `needle` replaced, or `None` when
/// there is none (the common case: no allocation). Byte matching is sound on UTF-8: a match
/// starts on the needle's leading byte, which no continuation byte equals, and ASCII case
/// folding never touches non-ASCII bytes, so match bounds are char boundaries.
fn replace_ascii_ci(hay: &str, needle: &str, with: &str) -> Option<String> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return None;
    }
    let find = |from: usize| {
        h[from..]
            .windows(n.len())
            .position(|w| w.eq_ignore_ascii_case(n))
            .map(|p| p + from)
    };
    let mut at = find(0)?;
    let mut out = String::with_capacity(hay.len());
    let mut last = 0;
    loop {
        out.push_str(&hay[last..at]);
        out.push_str(with);
        last = at + n.len();
        match find(last) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.push_str(&hay[last..]);
    Some(out)
}

/// [`classify_common`] for a batch, with the batch's identifiers redacted from the body
/// before it is quoted. Redacting the whole body (not the already-truncated snippet) means an
/// identifier cut off at the truncation point cannot leak half of itself.
pub fn common(spec: &VendorSpec, batch: &Batch, resp: &Response<'_>) -> Verdict {
    // Error bodies are small; a huge one (an HTML error page) is not worth quoting.
    let body = if resp.body.len() <= 16 * 1024 {
        redact(&String::from_utf8_lossy(resp.body), batch).into_bytes()
    } else {
        Vec::new()
    };
    classify_common(
        spec,
        &Response {
            body: &body,
            ..*resp
        },
    )
}

/// A 400 that names no cause this tool can act on: the batch fails and is halved, so the
/// request's offending item is isolated; the vendor's message is passed on scrubbed.
pub fn bad_request(batch: &Batch, resp: &Response<'_>) -> Verdict {
    let (_, m) = error_fields(resp.body);
    Verdict::Failed {
        reason: format!(
            "HTTP 400: {}",
            m.map(|m| scrub(&m, batch))
                .unwrap_or_else(|| "no message".into())
        ),
        bisect: true,
    }
}

/// An adapter handed another vendor's target: a bug in the caller, reported, not a panic.
pub fn wrong_target(adapter: &str, target: &crate::Target) -> anyhow::Error {
    anyhow!(
        "internal error: {adapter} adapter built for a {} target",
        target.vendor
    )
}

/// A refused credential: the run stops, as an authentication failure (every batch would be
/// refused alike), with the adapter's hint naming the variables and settings to check.
pub fn refused(reason: String, hint: String) -> Verdict {
    Verdict::Fatal {
        reason,
        hint,
        auth: true,
    }
}

/// An adapter's account settings, for the ledger header ([`crate::Adapter::account`]).
pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The same outcome for every item of the batch.
pub fn all(batch: &Batch, outcome: ItemOutcome) -> Verdict {
    Verdict::Items(vec![outcome; batch.len()])
}

/// A JSON scalar as an ID string (vendors document strings; accept numbers too).
pub fn id_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A read-only `check` call whose 2xx proves `proves` only when `documented` reads the body
/// as the vendor documents it; 401/403 are the credentials refused (naming `vars`), 404 is
/// `not_found` (a wrong project, workspace or host).
pub fn probe(
    what: &'static str,
    request: Request,
    vendor: &'static str,
    vars: String,
    proves: String,
    not_found: String,
    documented: fn(&[u8]) -> bool,
) -> cdp_purge_core::protocol::Probe {
    use cdp_purge_core::protocol::{Finding, preflight};
    cdp_purge_core::protocol::Probe {
        what,
        request,
        gate: true,
        read: Box::new(move |status, body| match status {
            200..=299 if documented(body) => Finding::Ok(proves.clone()),
            200..=299 => Finding::Unverified(format!(
                "HTTP {status} in a shape {vendor} does not document, so this is not proven: {proves}"
            )),
            401 | 403 => preflight::refused(status, vendor, &vars),
            404 => Finding::Failed(format!("HTTP 404: {not_found}")),
            s => Finding::Failed(format!("unexpected HTTP {s} from {vendor}")),
        }),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use cdp_purge_core::batch::{Batch, Item};

    pub fn batch(vendor: &str, kind: &str, values: &[&str]) -> Batch {
        let items = values
            .iter()
            .enumerate()
            .map(|(i, v)| Item {
                file: 0,
                row: i as u64 + 2,
                value: (*v).to_owned(),
                kind: kind.to_owned(),
                lookup: None,
            })
            .collect();
        Batch::new(0, vendor, Some(kind.to_owned()), items)
    }

    pub fn header<'a>(req: &'a super::super::Request, name: &str) -> Option<&'a str> {
        req.headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.to_str().ok())
    }

    /// A first attempt's answer.
    pub fn resp<'a>(
        status: u16,
        headers: &'a reqwest::header::HeaderMap,
        body: &'a [u8],
    ) -> super::Response<'a> {
        super::Response {
            status,
            headers,
            body,
            attempt: 1,
            maybe_delivered_before: false,
        }
    }

    pub fn body_json(req: &super::super::Request) -> serde_json::Value {
        serde_json::from_slice(&req.body).expect("request body is JSON")
    }

    /// What `adapter` makes of a first attempt's answer `status` with `body`.
    pub fn classify(
        adapter: &dyn super::super::Adapter,
        status: u16,
        body: &str,
        b: &Batch,
    ) -> super::super::Verdict {
        let headers = reqwest::header::HeaderMap::new();
        adapter.classify(
            b,
            &super::super::Response {
                status,
                headers: &headers,
                body: body.as_bytes(),
                attempt: 1,
                maybe_delivered_before: false,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o, "{i:?}");
        }
        assert_eq!(base64(b"token:"), "dG9rZW46");
    }

    #[test]
    fn json_body_strings_are_what_serde_json_writes() {
        // Every byte class the escaper distinguishes: plain ASCII, the two escaped
        // characters, each control character, DEL, non-ASCII (kept as UTF-8), and the line
        // separators JavaScript minds but JSON does not escape.
        let mut cases: Vec<String> = [
            "",
            "C-1001",
            "a\"b",
            "back\\slash",
            "\u{7f}",
            "é漢🙂",
            "\u{2028}\u{2029}",
            "/</script>",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        cases.extend((0u8..0x20).map(|b| format!("x{}y", char::from(b))));
        // And every string of up to three characters over an alphabet of each class.
        let alphabet: Vec<char> = "a\"\\\n\u{0}\u{1f} é🙂\u{7f}".chars().collect();
        let mut shorter = vec![String::new()];
        for _ in 0..3 {
            shorter = shorter
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            cases.extend(shorter.iter().cloned());
        }
        for s in &cases {
            let mut body = JsonBody::with_capacity(0);
            body.str(s).expect("a str always writes");
            let req = body.request(Method::POST, String::new(), &HeaderValue::from_static("x"));
            let want = serde_json::to_vec(s).expect("serde_json");
            assert_eq!(req.body, want, "{s:?}");
            let back: String = serde_json::from_slice(&req.body).expect("valid JSON");
            assert_eq!(&back, s);
        }
    }

    #[test]
    fn segment_escapes_all_but_unreserved() {
        assert_eq!(segment("a+b c/d?é-._~"), "a%2Bb%20c%2Fd%3F%C3%A9-._~");
    }

    #[test]
    fn secret_header_is_sensitive_and_error_hides_value() {
        let v = secret_header("s3cr3t", "X_TOKEN").expect("valid");
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("s3cr3t"));
        let e = secret_header("bad\nvalue", "X_TOKEN").expect_err("newline");
        assert!(e.to_string().contains("X_TOKEN"));
        assert!(!e.to_string().contains("bad"));
    }

    #[test]
    fn scrub_replaces_values_case_insensitively() {
        let mut b = test_support::batch("v", "email", &["Ann@Example.com"]);
        b.items[0].lookup = Some("user-7".into());
        let s = scrub("ann@example.com is bad; profile USER-7\n gone", &b);
        assert_eq!(s, "<redacted> is bad; profile <redacted> gone");
    }

    #[test]
    fn replace_handles_repeats_edges_and_non_ascii() {
        assert_eq!(replace_ascii_ci("abab", "AB", "x").as_deref(), Some("xx"));
        assert_eq!(replace_ascii_ci("éa-é", "é", "x").as_deref(), Some("xa-x"));
        assert_eq!(replace_ascii_ci("abc", "abcd", "x"), None);
        assert_eq!(replace_ascii_ci("abc", "", "x"), None);
        assert_eq!(replace_ascii_ci("aaa", "aa", "x").as_deref(), Some("xa"));
    }

    #[test]
    fn error_fields_both_shapes() {
        let (c, m) = error_fields(br#"{"error":{"code":"eid_not_found","message":"x"}}"#);
        assert_eq!(
            (c.as_deref(), m.as_deref()),
            (Some("eid_not_found"), Some("x"))
        );
        let (c, m) = error_fields(br#"{"code":"not_found","message":"y"}"#);
        assert_eq!((c.as_deref(), m.as_deref()), (Some("not_found"), Some("y")));
        assert_eq!(error_fields(b"<html>"), (None, None));
        // mParticle s2s and Lytics /v2: an `errors` array.
        let (c, m) = error_fields(
            br#"{"errors":[{"code":"BAD_REQUEST","message":"The identity type(s) must be unique."}]}"#,
        );
        assert_eq!(
            (c.as_deref(), m.as_deref()),
            (
                Some("BAD_REQUEST"),
                Some("The identity type(s) must be unique.")
            )
        );
        let (c, m) = error_fields(
            br#"{"status":400,"errors":[{"code":401,"message":""},{"message":"second"}]}"#,
        );
        assert_eq!((c.as_deref(), m.as_deref()), (None, Some("second")));
        let (_, m) = error_fields(br#"{"errors":["plain text"]}"#);
        assert_eq!(m.as_deref(), Some("plain text"));
        // CleverTap's bare string and OAuth's description.
        let (_, m) =
            error_fields(br#"{"status":"fail","error":"Payload is mandatory","code":400}"#);
        assert_eq!(m.as_deref(), Some("Payload is mandatory"));
        let (_, m) =
            error_fields(br#"{"error":"access_denied","error_description":"Unauthorized"}"#);
        assert_eq!(m.as_deref(), Some("access_denied"));
        // A numeric top-level status is not a vendor code.
        let (c, _) = error_fields(br#"{"status":401,"code":401,"message":"Not authorized"}"#);
        assert_eq!(c, None);
    }
}
