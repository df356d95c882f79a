//! The outcome record written by hand: the one record whose size grows with the batch (one
//! result per identifier), written once per request of a run.
//!
//! Through serde it cost two strings per identifier (its HMAC and resume key, hex), a
//! vector of results, the escape scan of ~100 hex digits per identifier and serde's map
//! machinery for the flattened envelope: most of a paced run's user-space work outside
//! SHA-256 (issue 14, BENCHMARKS.md). Here the HMAC stays 32 bytes until it is written as
//! hex straight into the line. The bytes are the same as serde's (`same_bytes_as_serde`
//! below), so the ledger format, its readers and its hash chain are unchanged.

use std::borrow::Cow;

use super::{ItemResult, ItemStatus, Outcome, SCHEMA_VERSION};
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
    pub key: &'a str,
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
                    key: Some(r.key.to_owned()),
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
        out.extend_from_slice(b"{\"v\":");
        int(out, SCHEMA_VERSION);
        out.extend_from_slice(b",\"type\":\"outcome\",\"run_id\":");
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
        out.extend_from_slice(b"],\"prev\":");
        match prev {
            Some(p) => string(out, p)?,
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        Ok(())
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
        string(out, self.key)?;
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

fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string, escaped as serde_json escapes it.
fn string(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, s)
}

/// Lowercase hex in quotes: never anything to escape.
fn hex_str(out: &mut Vec<u8>, b: &[u8; 32]) {
    let mut buf = [0u8; 64];
    // Cannot fail: the buffer is exactly twice the input.
    let _ = hex::encode_to_slice(b, &mut buf);
    out.push(b'"');
    out.extend_from_slice(&buf);
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
            key: "0123456789abcdef0123456789abcdef",
            status,
            vendor_id: None,
            message: None,
            value: None,
            lookup_hmac: None,
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
