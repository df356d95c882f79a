//! The records a run writes for every request, written by hand: the outcome (the one whose
//! size grows with the batch: one result per identifier) and the attempt records (`sent`,
//! listing every identifier's resume key on a batch's first attempt, and `result`).
//!
//! Through serde it cost two strings per identifier (its HMAC and resume key, hex), a
//! vector of results, the escape scan of ~100 hex digits per identifier and serde's map
//! machinery for the flattened envelope: most of a paced run's user-space work outside
//! SHA-256 (issue 14, BENCHMARKS.md). Here the HMAC stays 32 bytes until it is written as
//! hex straight into the line. The bytes are the same as serde's (`same_bytes_as_serde`
//! below), so the ledger format, its readers and its hash chain are unchanged.

use std::borrow::Cow;

use super::{Attempt, ItemResult, ItemStatus, Outcome, Phase, SCHEMA_VERSION, keyed};
use crate::batch::BatchHash;

/// An outcome record as the engine has it, borrowed: what [`Outcome`] holds, with each
/// identifier's keyed hash as bytes.
pub struct OutcomeDraft<'a> {
    pub run_id: &'a str,
    pub batch: BatchHash,
    pub parent: Option<BatchHash>,
    pub seq: u64,
    pub items: u32,
    pub attempts: u32,
    pub bisected: bool,
    pub results: Vec<DraftItem<'a>>,
}

/// One identifier's result; see [`ItemResult`] for what each field means.
pub struct DraftItem<'a> {
    pub file: u32,
    pub row: u64,
    pub id_hmac: [u8; 32],
    /// The resume key (see [`super::item_key`]).
    pub key: u128,
    pub status: ItemStatus,
    pub vendor_id: Option<&'a str>,
    pub message: Option<Cow<'a, str>>,
    pub value: Option<&'a str>,
    pub lookup_hmac: Option<[u8; 32]>,
}

impl OutcomeDraft<'_> {
    /// The same record as the serde type (tests, and readers that want one).
    pub fn to_record(&self) -> Outcome {
        Outcome {
            run_id: self.run_id.to_owned(),
            batch: self.batch,
            parent: self.parent,
            seq: self.seq,
            items: self.items,
            attempts: self.attempts,
            bisected: self.bisected,
            results: self
                .results
                .iter()
                .map(|r| ItemResult {
                    file: r.file,
                    row: r.row,
                    id_hmac: super::hex32(&r.id_hmac),
                    key: Some(super::key_hex(r.key)),
                    status: r.status,
                    vendor_id: r.vendor_id.map(str::to_owned),
                    message: r.message.as_deref().map(str::to_owned),
                    value: r.value.map(str::to_owned),
                    lookup_hmac: r.lookup_hmac.as_ref().map(super::hex32),
                })
                .collect(),
        }
    }

    /// The line without its newline, chained to `prev`: `{"v":…,"type":"outcome",…,"prev":…}`
    /// in serde's field order.
    pub(super) fn write(&self, out: &mut Vec<u8>, prev: Option<&str>) -> serde_json::Result<()> {
        out.reserve(160 + self.results.len() * 150);
        open(out, b",\"type\":\"outcome\",\"run_id\":");
        string(out, self.run_id)?;
        out.extend_from_slice(b",\"batch\":");
        hex_str(out, &self.batch.0);
        if let Some(p) = &self.parent {
            out.extend_from_slice(b",\"parent\":");
            hex_str(out, &p.0);
        }
        out.extend_from_slice(b",\"seq\":");
        int(out, self.seq);
        out.extend_from_slice(b",\"items\":");
        int(out, self.items);
        out.extend_from_slice(b",\"attempts\":");
        int(out, self.attempts);
        out.extend_from_slice(if self.bisected {
            b",\"bisected\":true,\"results\":["
        } else {
            b",\"bisected\":false,\"results\":["
        });
        for (i, r) in self.results.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            r.write(out)?;
        }
        out.push(b']');
        close(out, prev)
    }
}

impl DraftItem<'_> {
    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"file\":");
        int(out, self.file);
        out.extend_from_slice(b",\"row\":");
        int(out, self.row);
        out.extend_from_slice(b",\"id_hmac\":");
        hex_str(out, &self.id_hmac);
        out.extend_from_slice(b",\"key\":");
        key_str(out, self.key);
        out.extend_from_slice(b",\"status\":\"");
        out.extend_from_slice(self.status.code().as_bytes());
        out.push(b'"');
        for (name, v) in [
            (&b",\"vendor_id\":"[..], self.vendor_id),
            (b",\"message\":", self.message.as_deref()),
            (b",\"value\":", self.value),
        ] {
            if let Some(v) = v {
                out.extend_from_slice(name);
                string(out, v)?;
            }
        }
        if let Some(h) = &self.lookup_hmac {
            out.extend_from_slice(b",\"lookup_hmac\":");
            hex_str(out, h);
        }
        out.push(b'}');
        Ok(())
    }
}

/// An attempt record as the engine writes it: `rec`, with `keys` (the resume keys of a
/// batch's first `sent` record) in place of `rec.keys` when `rec.keys` is empty. The
/// engine keeps its keys as numbers: a hex string each was 100 allocations a request.
pub struct AttemptLine<'a> {
    pub rec: &'a Attempt,
    pub keys: &'a [u128],
}

impl AttemptLine<'_> {
    /// The line without its newline, chained to `prev`, in serde's field order.
    pub(super) fn write(&self, out: &mut Vec<u8>, prev: Option<&str>) -> serde_json::Result<()> {
        let a = self.rec;
        out.reserve(400 + self.keys.len() * 35);
        open(
            out,
            match a.phase {
                Phase::Sent => b",\"type\":\"attempt\",\"phase\":\"sent\",\"run_id\":",
                Phase::Result => b",\"type\":\"attempt\",\"phase\":\"result\",\"run_id\":",
            },
        );
        string(out, &a.run_id)?;
        out.extend_from_slice(b",\"batch\":");
        hex_str(out, &a.batch.0);
        if let Some(p) = &a.parent {
            out.extend_from_slice(b",\"parent\":");
            hex_str(out, &p.0);
        }
        out.extend_from_slice(b",\"attempt\":");
        int(out, a.attempt);
        out.extend_from_slice(b",\"items\":");
        int(out, a.items);
        out.extend_from_slice(b",\"sent_at\":");
        string(out, &a.sent_at)?;
        if let Some(r) = &a.received_at {
            out.extend_from_slice(b",\"received_at\":");
            string(out, r)?;
        }
        if let Some(st) = a.status {
            out.extend_from_slice(b",\"status\":");
            int(out, st);
        }
        if let Some(e) = &a.error {
            out.extend_from_slice(b",\"error\":");
            string(out, e)?;
        }
        if !a.request_ids.is_empty() {
            out.extend_from_slice(b",\"request_ids\":");
            serde_json::to_writer(&mut *out, &a.request_ids)?;
        }
        if let Some(d) = &a.decision {
            out.extend_from_slice(b",\"decision\":");
            string(out, d)?;
        }
        if let Some(d) = a.delay_ms {
            out.extend_from_slice(b",\"delay_ms\":");
            int(out, d);
        }
        if let Some(r) = &a.reason {
            out.extend_from_slice(b",\"reason\":");
            string(out, r)?;
        }
        out.extend_from_slice(if a.maybe_delivered_before {
            b",\"maybe_delivered_before\":true"
        } else {
            b",\"maybe_delivered_before\":false"
        });
        if !a.keys.is_empty() {
            out.extend_from_slice(b",\"keys\":");
            serde_json::to_writer(&mut *out, &a.keys)?;
        } else if !self.keys.is_empty() {
            out.extend_from_slice(b",\"keys\":[");
            for (i, k) in self.keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                key_str(out, *k);
            }
            out.push(b']');
        }
        close(out, prev)
    }
}

/// A line's start: `{"v":2` and then `rest` (its type and first fields).
fn open(out: &mut Vec<u8>, rest: &[u8]) {
    out.extend_from_slice(b"{\"v\":");
    int(out, SCHEMA_VERSION);
    out.extend_from_slice(rest);
}

/// A line's end: the hash of the line before it (`null` on the first line), then `}`.
fn close(out: &mut Vec<u8>, prev: Option<&str>) -> serde_json::Result<()> {
    out.extend_from_slice(b",\"prev\":");
    match prev {
        Some(p) => string(out, p)?,
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    Ok(())
}

fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string, escaped as serde_json escapes it.
fn string(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, s)
}

/// A resume key as the ledger writes it: 32 lowercase hex digits in quotes.
fn key_str(out: &mut Vec<u8>, k: u128) {
    quoted(out, &keyed::hex16(&k.to_be_bytes()));
}

/// Lowercase hex in quotes: never anything to escape.
fn hex_str(out: &mut Vec<u8>, b: &[u8; 32]) {
    quoted(out, &keyed::hex32(b));
}

/// Hex digits (the SSE2 encoder the HMACs use: the `hex` crate goes a byte at a time, and
/// every identifier's 96 digits are written once per outcome line) in quotes.
fn quoted(out: &mut Vec<u8>, digits: &[u8]) {
    out.reserve(digits.len() + 2);
    out.push(b'"');
    out.extend_from_slice(digits);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Line, Record};

    fn serde_line(d: &OutcomeDraft<'_>, prev: Option<&str>) -> Vec<u8> {
        let rec = Record::Outcome(d.to_record());
        serde_json::to_vec(&Line {
            v: SCHEMA_VERSION,
            rec: &rec,
            prev,
        })
        .expect("serialise")
    }

    fn item<'a>(i: u8, status: ItemStatus) -> DraftItem<'a> {
        DraftItem {
            file: u32::from(i % 3),
            row: u64::from(i) * 1_000_003,
            id_hmac: [i; 32],
            key: 0x0123456789abcdef0123456789abcdef ^ u128::from(i),
            status,
            vendor_id: None,
            message: None,
            value: None,
            lookup_hmac: None,
        }
    }

    fn attempt(phase: Phase) -> Attempt {
        Attempt {
            phase,
            run_id: "run\"1\u{7}".into(),
            batch: BatchHash([0x11; 32]),
            parent: None,
            attempt: 1,
            items: 3,
            sent_at: "2026-11-30T19:46:22.229Z".into(),
            received_at: None,
            status: None,
            error: None,
            request_ids: Default::default(),
            decision: None,
            delay_ms: None,
            reason: None,
            maybe_delivered_before: false,
            keys: Vec::new(),
        }
    }

    #[test]
    fn attempts_are_the_same_bytes_as_serde() {
        let keys = [0u128, u128::MAX, 0x00ff_0000_0000_0000_0000_0000_0000_0abc];
        let mut full = attempt(Phase::Result);
        full.parent = Some(BatchHash([0xee; 32]));
        full.attempt = u32::MAX;
        full.received_at = Some("2026-11-30T19:46:22.354Z".into());
        full.status = Some(429);
        full.error = Some("reset".into());
        full.request_ids = [("x-request-id", "r\"1"), ("request-id", "\u{2028}é")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        full.decision = Some("retry".into());
        full.delay_ms = Some(1500);
        full.reason = Some("HTTP 429: slow \n down".into());
        full.maybe_delivered_before = true;
        let mut stringly = attempt(Phase::Sent);
        stringly.keys = vec!["abc\"".into(), "0123".into()];
        for (rec, keys, prev) in [
            (attempt(Phase::Sent), &keys[..], None),
            (attempt(Phase::Sent), &[][..], Some("ab")),
            (full, &[][..], Some("ff")),
            (stringly, &[][..], None),
        ] {
            let mut fast = Vec::new();
            AttemptLine { rec: &rec, keys }
                .write(&mut fast, prev)
                .expect("write");
            let mut with_keys = rec.clone();
            if with_keys.keys.is_empty() {
                with_keys.keys = keys.iter().map(|k| crate::ledger::key_hex(*k)).collect();
            }
            let slow = serde_json::to_vec(&Line {
                v: SCHEMA_VERSION,
                rec: &Record::Attempt(with_keys),
                prev,
            })
            .expect("serialise");
            assert_eq!(
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&slow)
            );
        }
    }

    #[test]
    fn same_bytes_as_serde() {
        let statuses = [
            ItemStatus::Acknowledged,
            ItemStatus::AlreadyDone,
            ItemStatus::NotFound,
            ItemStatus::Invalid,
            ItemStatus::FailedRetryable,
            ItemStatus::Unknown,
        ];
        let mut odd = item(7, ItemStatus::Invalid);
        odd.vendor_id = Some("job-\"1\"\\é\u{1}");
        odd.message = Some(Cow::Owned("HTTP 400: bad \n value \u{2028} <tab>\t".into()));
        odd.value = Some("a@b.example");
        odd.lookup_hmac = Some([0xab; 32]);
        let mut results: Vec<_> = (0u8..6).map(|i| item(i, statuses[i as usize])).collect();
        results.push(odd);
        for (parent, bisected, prev, results) in [
            (None, false, None, results),
            (
                Some(BatchHash([9; 32])),
                true,
                Some("ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00"),
                vec![item(200, ItemStatus::Acknowledged)],
            ),
            (None, true, Some("x"), Vec::new()),
        ] {
            let d = OutcomeDraft {
                run_id: "5c1f\"run",
                batch: BatchHash([0x5a; 32]),
                parent,
                seq: u64::MAX,
                items: results.len() as u32,
                attempts: 3,
                bisected,
                results,
            };
            let mut fast = Vec::new();
            d.write(&mut fast, prev).expect("write");
            assert_eq!(
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&serde_line(&d, prev))
            );
        }
    }
}
