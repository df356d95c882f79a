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

use crate::settings::{Target, VendorParams};
use crate::vendor::VendorKind;

/// The origin recorded for `delete --sandbox`: the built-in fake is one destination whatever
/// port it happened to listen on.
pub const SANDBOX_ORIGIN: &str = "sandbox";

const FINGERPRINT_KEY: &[u8] = b"cdp-purge/destination-fingerprint/v1";

/// A canonical, credential-free description of where deletions go.
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
    /// The destination of a target. `sandbox`: the run goes to `delete --sandbox`'s fake.
    pub fn of(target: &Target, sandbox: bool) -> Self {
        let origin = if sandbox {
            SANDBOX_ORIGIN.to_owned()
        } else {
            crate::vendor::origin(&target.base_url).unwrap_or_else(|| target.base_url.clone())
        };
        let mut params = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            params.insert(k.to_owned(), v);
        };
        let credential = |name: &str| target.credentials.get(name).map(|s| s.expose());
        match &target.params {
            VendorParams::Lytics { table, field } => {
                put("table", table.clone());
                put("field", field.clone());
            }
            VendorParams::Mparticle {
                pod, environment, ..
            } => {
                put("pod", enum_name(pod));
                put("environment", enum_name(environment));
                if let Some(k) = credential("MPARTICLE_API_KEY") {
                    put("workspace", fingerprint(VendorKind::Mparticle, k));
                }
            }
            VendorParams::Clevertap { region, .. } => {
                put("region", region.clone());
                if let Some(a) = credential("CLEVERTAP_ACCOUNT_ID") {
                    put("account_id", a.to_owned());
                }
            }
            VendorParams::Segment { region, space } => {
                put("region", region.clone());
                put("space", space.clone());
            }
            VendorParams::Hightouch { graph, path, .. } => {
                put("graph", graph.clone());
                if path != crate::settings::HIGHTOUCH_DEFAULT_PATH {
                    put("path", path.clone());
                }
            }
        }
        Self {
            vendor: target.vendor.id().to_owned(),
            origin,
            params,
        }
    }

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

fn enum_name(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `key:` and 16 hex digits of HMAC-SHA-256 under a fixed domain-separation key.
pub fn fingerprint(vendor: VendorKind, secret: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(FINGERPRINT_KEY).expect("any key length");
    m.update(vendor.id().as_bytes());
    m.update(&[0]);
    m.update(secret.as_bytes());
    format!("key:{}", hex::encode(&m.finalize().into_bytes()[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Environment, Pod};
    use crate::vendor::Secret;

    fn mp(key: &str, env: Environment, base: &str) -> Target {
        Target {
            name: "mparticle".into(),
            vendor: VendorKind::Mparticle,
            base_url: base.into(),
            params: VendorParams::Mparticle {
                pod: Pod::Us1,
                environment: env,
                identity_type: "customerid".into(),
            },
            credentials: [
                ("MPARTICLE_API_KEY", Secret::new(key)),
                ("MPARTICLE_API_SECRET", Secret::new("s3cret")),
            ]
            .into_iter()
            .collect(),
            batch_size: 20,
        }
    }

    #[test]
    fn environment_workspace_and_origin_each_change_the_destination() {
        let base = "https://s2s.mparticle.com";
        let prod = Destination::of(&mp("k-1", Environment::Production, base), false);
        let dev = Destination::of(&mp("k-1", Environment::Development, base), false);
        let other_ws = Destination::of(&mp("k-2", Environment::Production, base), false);
        let other_host = Destination::of(
            &mp("k-1", Environment::Production, "http://127.0.0.1:9"),
            false,
        );
        let ids: std::collections::HashSet<String> = [&prod, &dev, &other_ws, &other_host]
            .iter()
            .map(|d| d.id())
            .collect();
        assert_eq!(ids.len(), 4);
        // Stable, and never the key or the secret.
        assert_eq!(
            prod,
            Destination::of(&mp("k-1", Environment::Production, base), false)
        );
        let text = format!("{prod} {}", serde_json::to_string(&prod).unwrap());
        assert!(!text.contains("k-1") && !text.contains("s3cret"), "{text}");
        assert!(text.contains("environment=production"), "{text}");
    }

    #[test]
    fn the_sandbox_is_one_destination_whatever_its_port() {
        let a = Destination::of(
            &mp("k", Environment::Production, "http://127.0.0.1:4001"),
            true,
        );
        let b = Destination::of(
            &mp("k", Environment::Production, "http://127.0.0.1:5002"),
            true,
        );
        assert_eq!(a, b);
        assert!(a.slug().starts_with("sandbox-mparticle-"), "{}", a.slug());
        let real = Destination::of(
            &mp("k", Environment::Production, "http://127.0.0.1:4001"),
            false,
        );
        assert_ne!(a.id(), real.id());
    }
}
