//! Where a deletion lands: the vendor, the origin it was sent to, and every parameter that
//! picks the account, workspace, space or table. Recorded in every run header; resume counts
//! only outcomes recorded for the same destination, and default ledger names carry its id, so
//! a sandbox rehearsal, a development workspace and production never share resume state.
//!
//! Never a credential: mParticle's workspace is told apart by a keyed fingerprint of its API
//! key. The fingerprint is keyed with a fixed, public domain-separation string rather than the
//! per-ledger key, because the default ledger name is derived from the destination before any
//! ledger (or key) exists, and so that two ledgers of the same workspace name it alike. An
//! mParticle API key is a long random string, so its fingerprint cannot be inverted by
//! guessing; 64 bits are plenty to tell workspaces apart.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The origin recorded for `delete --sandbox`: the built-in fake is one destination whatever
/// port it happened to listen on.
pub const SANDBOX_ORIGIN: &str = "sandbox";

const FINGERPRINT_KEY: &[u8] = b"cdp-purge/destination-fingerprint/v1";

/// A canonical, credential-free description of where deletions go. The adapters' target
/// builds it (`Target::destination`): which parameters pick the account is vendor knowledge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Destination {
    pub vendor: String,
    /// `scheme://host[:port]` of the deletion API, or `sandbox`.
    pub origin: String,
    /// Everything else that decides where a deletion lands (table and field, pod and
    /// environment and workspace fingerprint, region and account, region and space, graph).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl Destination {
    pub fn is_sandbox(&self) -> bool {
        self.origin == SANDBOX_ORIGIN
    }

    /// A short stable id (8 hex digits of SHA-256 over the canonical form), for file names.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        for part in [self.vendor.as_str(), self.origin.as_str()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        for (k, v) in &self.params {
            for part in [k, v] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        }
        hex::encode(&h.finalize()[..4])
    }

    /// The part of a default ledger name that names the destination: `lytics-1a2b3c4d`, or
    /// `sandbox-lytics-1a2b3c4d` for the built-in sandbox.
    pub fn slug(&self) -> String {
        if self.is_sandbox() {
            format!("sandbox-{}-{}", self.vendor, self.id())
        } else {
            format!("{}-{}", self.vendor, self.id())
        }
    }
}

impl fmt::Display for Destination {
    /// `mparticle (pod=us1, environment=production, workspace=key:3f…) at https://…`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vendor)?;
        if !self.params.is_empty() {
            let p: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            write!(f, " ({})", p.join(", "))?;
        }
        if self.is_sandbox() {
            f.write_str(" in the built-in sandbox")
        } else {
            write!(f, " at {}", self.origin)
        }
    }
}

/// `key:` and 16 hex digits of HMAC-SHA-256 under a fixed domain-separation key.
pub fn fingerprint(vendor: &str, secret: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(FINGERPRINT_KEY).expect("any key length");
    m.update(vendor.as_bytes());
    m.update(&[0]);
    m.update(secret.as_bytes());
    format!("key:{}", hex::encode(&m.finalize().into_bytes()[..8]))
}
