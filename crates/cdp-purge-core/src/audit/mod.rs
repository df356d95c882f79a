//! Reading a ledger back: the grouped view `status` and `report` work from, and the
//! tamper-evidence checks of `report --verify`.

pub mod proof;
mod rows;
pub mod verify;
pub mod view;

use std::path::Path;

use crate::error::UserError;
use crate::ledger;

pub use view::{Brief, Row, Run, View};

/// The ledger's HMAC key, without creating one: a missing key means lookups are impossible,
/// and a fresh key would silently make them wrong.
pub fn existing_key(ledger_path: &Path) -> anyhow::Result<[u8; 32]> {
    let kp = ledger::key_path(ledger_path);
    match ledger::read_key(&kp)? {
        Some(k) => Ok(k),
        None => Err(UserError::usage(format!(
            "the ledger key {} is missing (or empty)",
            kp.display()
        ))
        .with_hint(
            "identifiers are stored as keyed hashes; copy the .key file that `delete` wrote beside the ledger",
        )
        .into()),
    }
}

/// The hashes a looked-up value may have been stored under: as given (trimmed, which the
/// cleaner always does) and lowercased (runs with `--lowercase`).
pub fn lookup_hashes(key: &[u8; 32], value: &str) -> Vec<String> {
    let t = value.trim();
    let mut out = vec![ledger::id_hmac(key, t)];
    let lower = t.to_lowercase();
    if lower != t {
        out.push(ledger::id_hmac(key, &lower));
    }
    out
}

/// Ledger paths must exist for `status` and `report`: opening one for writing would
/// otherwise create an empty ledger (and a new key) on a typo.
pub fn require_ledger(path: &Path) -> anyhow::Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        Err(UserError::usage(format!("no ledger at {}", path.display()))
            .with_hint(
                "pass the --ledger file a `delete` run wrote (default: <input>.ledger.jsonl)",
            )
            .into())
    }
}

/// Lifecycle order for state counts: Lytics, Hightouch, mParticle verification, then the rest.
pub fn state_rank(state: &str) -> (usize, &str) {
    const ORDER: &[&str] = &[
        "initial",
        "primary",
        "archive",
        "secondary",
        "done",
        "queueing",
        "queued",
        "reprocessed",
        "present",
        "deleted",
        "failed",
        "cancelled",
        "error",
        view::UNKNOWN_CHECK,
    ];
    (
        ORDER
            .iter()
            .position(|s| *s == state)
            .unwrap_or(ORDER.len()),
        state,
    )
}

/// `secondary 2, done 118`: counts in lifecycle order.
pub fn format_counts<K: AsRef<str>>(m: &std::collections::BTreeMap<K, u64>) -> String {
    let mut v: Vec<(&str, u64)> = m.iter().map(|(k, n)| (k.as_ref(), *n)).collect();
    v.sort_by_key(|(k, _)| state_rank(k));
    v.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
