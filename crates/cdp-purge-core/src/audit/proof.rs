//! The proof of one person's deletion in one ledger, for a data-subject-request ticket: the
//! row's outcome, every request that carried it (with the vendor's request IDs), every later
//! check and its answer — each with the ledger line it is on and the chain head after that
//! line (the SHA-256 the next line's `prev` must carry), so anyone holding the ledger can
//! check the proof was not edited. Keyed hashes only: the raw identifier is never read from
//! the ledger.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::rows::record_type;
use super::verify::for_each_line;
use crate::batch::BatchHash;
use crate::error::UserError;
use crate::ledger::{Attempt, Header, Outcome, Phase, Record, StatusCheck};

/// Which rows a proof is about: input rows (optionally of one input file, by path or file
/// name) or identifier hashes (a `--lookup` value hashed with this ledger's key).
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub rows: Vec<(Option<String>, u64)>,
    pub hashes: Vec<String>,
}

impl Wanted {
    fn matches(&self, input: &str, row: u64, id_hmac: &str) -> bool {
        self.hashes.iter().any(|h| h == id_hmac)
            || self.rows.iter().any(|(file, r)| {
                *r == row
                    && file.as_deref().is_none_or(|f| {
                        input == f || Path::new(input).file_name() == Path::new(f).file_name()
                    })
            })
    }
}

/// Where in the ledger a fact is.
#[derive(Debug, Clone, Serialize)]
pub struct At {
    /// 1-based line number.
    pub line: u64,
    /// SHA-256 (hex) of that line: the chain head once it was written.
    pub chain_head: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub at: At,
    pub batch: String,
    /// The top-level batch a bisected half came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub attempt: u32,
    /// `sent` (written before the request left) or `result` (what came back).
    pub phase: &'static str,
    pub items: u32,
    pub sent_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The vendor's request-ID headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub request_ids: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub at: At,
    pub check_id: String,
    pub checked_at: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// The `status --recheck` pass, if it was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck_pass: Option<String>,
}

/// One row's deletion at one destination, as the ledger records it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemProof {
    pub run_id: String,
    pub vendor: String,
    /// `<vendor>-<8 hex>`: the destination's id, as in the ledger's file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    pub endpoint: String,
    pub account: BTreeMap<String, String>,
    pub input: String,
    pub row: u64,
    pub id_hmac: String,
    pub batch: String,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub outcome_at: At,
    pub sent: Vec<Sent>,
    pub checks: Vec<Check>,
    /// The item's resume key, to find the bisected half that carried it.
    #[serde(skip)]
    key: Option<String>,
}

/// What one ledger proves about the wanted rows.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerProof {
    pub ledger: String,
    pub lines: u64,
    /// SHA-256 of the last complete line: what the whole file chains to now.
    pub chain_head: Option<String>,
    pub items: Vec<ItemProof>,
}

/// Read `path` twice: first for the outcomes of the wanted rows, then for the requests that
/// carried them and the checks made since. Memory holds the wanted rows only.
pub fn prove(path: &Path, wanted: &Wanted) -> anyhow::Result<LedgerProof> {
    let open = || {
        std::fs::File::open(path).map_err(|e| {
            UserError::usage(format!("cannot open the ledger {}: {e}", path.display()))
        })
    };
    let mut proof = LedgerProof {
        ledger: path.display().to_string(),
        lines: 0,
        chain_head: None,
        items: Vec::new(),
    };
    let mut headers: HashMap<String, Header> = HashMap::new();
    // The latest outcome of each (run, input, row) wins, as in the report.
    let mut latest: HashMap<(String, String, u64), usize> = HashMap::new();
    let (lines, head) = scan(open()?, &mut |at, rec| match rec {
        Record::Header(h) => {
            headers.insert(h.run_id.clone(), h);
        }
        Record::Outcome(o) if o.parent.is_none() => {
            let Some(h) = headers.get(&o.run_id) else {
                return;
            };
            outcome_items(h, &o, at, wanted, &mut proof.items, &mut latest);
        }
        _ => {}
    })?;
    proof.lines = lines;
    proof.chain_head = head;
    if proof.items.is_empty() {
        return Ok(proof);
    }
    let batches: HashSet<(String, String)> = proof
        .items
        .iter()
        .map(|i| (i.run_id.clone(), i.batch.clone()))
        .collect();
    // Bisected halves: the first `sent` record of each lists the keys it carries.
    let mut halves: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let mut sent: Vec<(Attempt, At)> = Vec::new();
    let mut checks: Vec<(StatusCheck, At)> = Vec::new();
    let subjects: HashSet<String> = proof
        .items
        .iter()
        .flat_map(|i| [Some(i.id_hmac.clone()), i.vendor_id.clone()])
        .flatten()
        .collect();
    scan(open()?, &mut |at, rec| match rec {
        Record::Attempt(a) => {
            let top = a.parent.unwrap_or(a.batch).to_hex();
            if !batches.contains(&(a.run_id.clone(), top)) {
                return;
            }
            if a.parent.is_some() && !a.keys.is_empty() {
                halves
                    .entry((a.run_id.clone(), a.batch.to_hex()))
                    .or_default()
                    .extend(a.keys.iter().cloned());
            }
            sent.push((a, at));
        }
        Record::Status(c) => {
            let on = c.vendor_id.as_ref().or(c.id_hmac.as_ref());
            if on.is_some_and(|s| subjects.contains(s)) {
                checks.push((c, at));
            }
        }
        _ => {}
    })?;
    for item in &mut proof.items {
        for (a, at) in &sent {
            if a.run_id != item.run_id {
                continue;
            }
            let top = a.parent.unwrap_or(a.batch).to_hex();
            if top != item.batch {
                continue;
            }
            // A bisected half counts when it carried this item (or, without keys, always).
            if a.parent.is_some()
                && let (Some(k), Some(keys)) =
                    (&item.key, halves.get(&(a.run_id.clone(), a.batch.to_hex())))
                && !keys.contains(k)
            {
                continue;
            }
            item.sent.push(sent_of(a, at, a.parent));
        }
        for (c, at) in &checks {
            let on_job = c.vendor_id.is_some() && c.vendor_id == item.vendor_id;
            let on_profile =
                c.vendor_id.is_none() && c.id_hmac.as_deref() == Some(item.id_hmac.as_str());
            if (on_job || on_profile) && c.vendor == item.vendor {
                item.checks.push(check_of(c, at));
            }
        }
    }
    Ok(proof)
}

/// Every line of `r`, parsed when it is a record a proof uses. Returns the number of lines
/// and the chain head (the hash of the last complete line).
fn scan(r: impl Read, f: &mut dyn FnMut(At, Record)) -> anyhow::Result<(u64, Option<String>)> {
    let (mut lines, mut last) = (0, None);
    for_each_line(r, |n, line, complete| {
        lines = n;
        if line.is_empty() || !complete {
            return Ok(true);
        }
        let head = hex::encode(Sha256::digest(line));
        last = Some(head.clone());
        if !matches!(
            record_type(line),
            Some(b"header" | b"outcome" | b"attempt" | b"status") | None
        ) {
            return Ok(true);
        }
        if let Ok(rec) = serde_json::from_slice::<Record>(line) {
            f(
                At {
                    line: n,
                    chain_head: head,
                },
                rec,
            );
        }
        Ok(true)
    })?;
    Ok((lines, last))
}

fn outcome_items(
    h: &Header,
    o: &Outcome,
    at: At,
    wanted: &Wanted,
    items: &mut Vec<ItemProof>,
    latest: &mut HashMap<(String, String, u64), usize>,
) {
    for r in &o.results {
        let input = h
            .inputs
            .get(r.file as usize)
            .map_or_else(|| format!("#{}", r.file), |f| f.path.clone());
        if !wanted.matches(&input, r.row, &r.id_hmac) {
            continue;
        }
        let item = ItemProof {
            run_id: o.run_id.clone(),
            vendor: h.vendor.clone(),
            destination: h
                .destination
                .as_ref()
                .map(|d| format!("{}-{}", d.vendor, d.id())),
            endpoint: h.endpoint.clone(),
            account: h.account.clone(),
            input: input.clone(),
            row: r.row,
            id_hmac: r.id_hmac.clone(),
            batch: o.batch.to_hex(),
            outcome: r.status.code().to_owned(),
            vendor_id: r.vendor_id.clone(),
            message: r.message.clone(),
            outcome_at: at.clone(),
            sent: Vec::new(),
            checks: Vec::new(),
            key: r.key.clone(),
        };
        // Keyed by input digest, as rows are: the same file under another path is one row.
        let digest = h
            .inputs
            .get(r.file as usize)
            .map_or(input, |f| f.sha256.clone());
        match latest.get(&(h.vendor.clone(), digest.clone(), r.row)) {
            Some(&i) => items[i] = item,
            None => {
                latest.insert((h.vendor.clone(), digest, r.row), items.len());
                items.push(item);
            }
        }
    }
}

fn sent_of(a: &Attempt, at: &At, parent: Option<BatchHash>) -> Sent {
    Sent {
        at: at.clone(),
        batch: a.batch.to_hex(),
        parent: parent.map(|p| p.to_hex()),
        attempt: a.attempt,
        phase: match a.phase {
            Phase::Sent => "sent",
            Phase::Result => "result",
        },
        items: a.items,
        sent_at: a.sent_at.clone(),
        received_at: a.received_at.clone(),
        http_status: a.status,
        error: a.error.clone(),
        request_ids: a.request_ids.clone(),
        decision: a.decision.clone(),
    }
}

fn check_of(c: &StatusCheck, at: &At) -> Check {
    Check {
        at: at.clone(),
        check_id: c.check_id.clone(),
        checked_at: c.checked_at.clone(),
        state: c.state.clone(),
        vendor_state: c.vendor_state.clone(),
        http_status: c.http_status,
        message: c.message.clone(),
        completed_at: c.completed_at.clone(),
        recheck_pass: c.recheck.as_ref().map(|r| r.pass.clone()),
    }
}
