//! Ledger record types (schema version 2). See docs/ledger.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Destination;
use crate::batch::BatchHash;
use crate::protocol::OutcomeClass;

/// 2: headers name the destination, outcomes carry each identifier's resume `key`, and the
/// first `sent` record of a batch lists the keys it carries. Version 1 ledgers are still
/// read by `report` and `status`; `delete` refuses to resume from them (no destination).
pub const SCHEMA_VERSION: u32 = 2;

/// One line of the ledger, without the envelope (`v`, `prev`) the writer adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    Header(Header),
    Attempt(Attempt),
    Outcome(Outcome),
    End(End),
    /// Written by `cdp-purge status`, never by `delete`.
    Status(StatusCheck),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputFile {
    pub index: u32,
    pub path: String,
    pub rows: u64,
    pub sha256: String,
}

/// First record of every run appended to the ledger.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub run_id: String,
    pub tool: String,
    pub version: String,
    pub vendor: String,
    /// Where this run's deletions land (schema 2; absent in version 1 ledgers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    pub endpoint: String,
    /// Account/workspace identifiers (never secrets).
    pub account: BTreeMap<String, String>,
    pub inputs: Vec<InputFile>,
    pub limits: serde_json::Value,
    pub started_at: String,
    pub plan: PlanCounts,
    pub resumed: bool,
    pub include_identifiers: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlanCounts {
    pub rows_read: u64,
    pub kept: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub batches: u64,
    /// Rejected rows by reason code (`empty`, `invalid`, ...). Absent in ledgers written
    /// before it was added; `rejected` is the total either way.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rejected_by_reason: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Written (and acknowledged by the writer) before the request leaves.
    Sent,
    /// What came back and what the engine decided.
    Result,
}

/// One attempt of one (sub-)batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub phase: Phase,
    pub run_id: String,
    pub batch: BatchHash,
    /// The top-level batch this one was bisected from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<BatchHash>,
    pub attempt: u32,
    pub items: u32,
    pub sent_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// HTTP status, when a response arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Transport error kind: timeout, connect, reset, body, request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Values of the vendor's request-ID headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_ids: BTreeMap<String, String>,
    /// done, retry, bisect, failed, give_up, fatal, abandoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub maybe_delivered_before: bool,
    /// On a (sub-)batch's first `sent` record: the resume key of every identifier it
    /// carries, so that a crash with the request in flight marks exactly those identifiers
    /// as maybe delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// Final status of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Acknowledged,
    AlreadyDone,
    NotFound,
    Invalid,
    /// Retries ran out (or the run stopped); a rerun sends it again.
    FailedRetryable,
    /// The vendor's answer proved neither a deletion nor its absence. Not resent by a
    /// rerun without `--retry-failed`: the same question cannot get a better answer.
    Unknown,
}

impl ItemStatus {
    pub fn is_success(self) -> bool {
        matches!(self, Self::Acknowledged | Self::AlreadyDone)
    }
    pub fn code(self) -> &'static str {
        match self {
            Self::Acknowledged => "acknowledged",
            Self::AlreadyDone => "already_done",
            Self::NotFound => "not_found",
            Self::Invalid => "invalid",
            Self::FailedRetryable => "failed_retryable",
            Self::Unknown => "unknown",
        }
    }
}

impl From<OutcomeClass> for ItemStatus {
    fn from(c: OutcomeClass) -> Self {
        match c {
            OutcomeClass::Acknowledged => Self::Acknowledged,
            OutcomeClass::AlreadyDone => Self::AlreadyDone,
            OutcomeClass::NotFound => Self::NotFound,
            OutcomeClass::Invalid => Self::Invalid,
            OutcomeClass::Unknown => Self::Unknown,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemResult {
    pub file: u32,
    pub row: u64,
    /// HMAC-SHA-256 of the identifier, keyed with the ledger's key (`<ledger>.key`).
    pub id_hmac: String,
    /// The resume key: 128 bits of a keyed hash over the identifier's kind, lookup and value
    /// (see [`super::item_key`]). Absent in version 1 ledgers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The raw identifier, only with `--ledger-include-identifiers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What a profile lookup resolved the row to (Segment `--lookup-type`: the user_id the
    /// deletion went to), as a keyed hash like `id_hmac`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_hmac: Option<String>,
}

/// The final outcome of one batch (and of each bisected sub-batch).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub run_id: String,
    pub batch: BatchHash,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<BatchHash>,
    pub seq: u64,
    pub items: u32,
    pub attempts: u32,
    #[serde(default)]
    pub bisected: bool,
    pub results: Vec<ItemResult>,
}

impl Outcome {
    /// Final: nothing left that a rerun would resend (unless `retry_failed`).
    pub fn is_final(&self, retry_failed: bool) -> bool {
        self.results.iter().all(|r| {
            r.status.is_success() || (!retry_failed && r.status != ItemStatus::FailedRetryable)
        })
    }
}

/// Last record of a run that ended in an orderly way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct End {
    pub run_id: String,
    pub ended_at: String,
    /// completed, interrupted, fatal, ledger_error.
    pub reason: String,
    pub summary: serde_json::Value,
}

/// What `cdp-purge status` learnt about one vendor job (Lytics `request_id`, Hightouch
/// `requestId`) or, with `--verify`, one mParticle profile. Appended when the state changed
/// since the ledger last recorded it, and for every ID in the last round of an invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCheck {
    /// One `status` invocation (random, like a run id).
    pub check_id: String,
    /// The delete run that recorded the job or the profile.
    pub run_id: String,
    pub vendor: String,
    /// The vendor's request/job ID that was polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    /// mParticle verification: the keyed hash of the MPID looked up (as in `outcome`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_hmac: Option<String>,
    /// `pending`, `done`, `failed` (jobs); `deleted`, `present` (profiles); `error` (no
    /// usable answer: the vendor refused the lookup or retries ran out).
    pub state: String,
    /// The vendor's own word: `secondary`, `queued`, `reprocessed`, `404`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub checked_at: String,
    /// HTTP requests this answer took (retries included).
    #[serde(default)]
    pub attempts: u32,
    /// The vendor's state word this job had in the previous record, when it changed (a
    /// Lytics job's transitions, `secondary` → `done`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<String>,
    /// When the vendor says the job completed (Hightouch `reprocessedAt`), in its words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// The vendor's run that completed it (Hightouch `reprocessedRunId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_run_id: Option<String>,
    /// Where the answer came from when not the job's own status call (`list`: Lytics'
    /// account-wide status list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Written by `status --recheck`: the pass this answer belongs to. Every subject of a
    /// pass gets one record, so a pass with fewer distinct subjects than `of` was stopped
    /// and the next `--recheck` finishes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck: Option<RecheckPass>,
}

/// One `status --recheck` pass over every identifier the ledger shows as deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckPass {
    /// The `check_id` of the invocation that started the pass.
    pub pass: String,
    /// Subjects (jobs and profiles) the pass set out to check.
    pub of: u64,
    /// What the ledger showed before this answer: `deleted`, `done` (verified earlier) or
    /// `acknowledged` (only the vendor's acceptance).
    pub before: String,
}

impl StatusCheck {
    /// Nothing more will change: the job finished (either way) or the profile is gone.
    pub fn is_terminal(&self) -> bool {
        matches!(self.state.as_str(), "done" | "failed" | "deleted")
    }
    pub fn is_success(&self) -> bool {
        matches!(self.state.as_str(), "done" | "deleted")
    }
}

/// The envelope every line carries.
#[derive(Serialize)]
pub(crate) struct Line<'a> {
    pub v: u32,
    #[serde(flatten)]
    pub rec: &'a Record,
    /// SHA-256 hex of the previous line's bytes (without its newline); null on the first line.
    pub prev: Option<&'a str>,
}

impl<'a> Line<'a> {
    /// A record as the current schema writes it, chained to `prev`.
    pub fn of(rec: &'a Record, prev: Option<&'a str>) -> Self {
        Self {
            v: super::SCHEMA_VERSION,
            rec,
            prev,
        }
    }
}
