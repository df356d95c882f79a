//! A target: one place to delete from, as the adapters need it (vendor, host, the vendor's
//! parameters, credentials). Resolved from flags and the config file by the CLI's settings.

use std::collections::BTreeMap;

use super::{Secret, VendorKind};
use cdp_purge_core::error::UserError;
use cdp_purge_core::ledger::{Destination, SANDBOX_ORIGIN};
use cdp_purge_core::status::jobs::Group;

pub use super::VendorParams;

/// One place to delete from: vendor, host, parameters, credentials.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name shown in output (the config target name, or the vendor id).
    pub name: String,
    pub vendor: VendorKind,
    /// Scheme and host, no trailing slash.
    pub base_url: String,
    pub params: VendorParams,
    /// Credentials by environment-variable name. Empty for `plan`.
    pub credentials: BTreeMap<&'static str, Secret>,
    pub batch_size: usize,
}

impl Target {
    /// Where the credential the vendor calls `standard` (e.g. `LYTICS_API_TOKEN`) was read
    /// from for this target: the variable a config target names, or the standard name. For
    /// hints that must send the user to the variable they actually set.
    pub fn var(&self, standard: &str) -> String {
        self.credentials
            .get(standard)
            .and_then(Secret::origin)
            .unwrap_or(standard)
            .to_owned()
    }

    /// [`Target::var`] of every credential, joined with " and ".
    pub fn vars(&self) -> String {
        self.vendor
            .info()
            .credentials
            .iter()
            .map(|c| self.var(c))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    pub fn credential(&self, name: &str) -> anyhow::Result<&str> {
        self.credentials
            .get(name)
            .map(Secret::expose)
            .ok_or_else(|| {
                UserError::usage(format!("{name} is not set"))
                    .with_hint(format!(
                        "export {name}=... or put {name}=... in a --credentials-file"
                    ))
                    .into()
            })
    }
}

impl Target {
    /// Where this target's deletions land, for the ledger. `sandbox`: the run goes to
    /// `delete --sandbox`'s fake.
    pub fn destination(&self, sandbox: bool) -> Destination {
        let target = self;
        let origin = if sandbox {
            SANDBOX_ORIGIN.to_owned()
        } else {
            super::origin(&target.base_url).unwrap_or_else(|| target.base_url.clone())
        };
        let params = (target.vendor.vendor().destination)(target)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Destination {
            vendor: target.vendor.id().to_owned(),
            origin,
            params,
        }
    }
}

impl Target {
    /// The target `status` builds the adapter from for a group of recorded jobs: the host
    /// and account the runs' headers recorded (credentials filled in by the caller).
    pub fn of_group(group: &Group) -> anyhow::Result<Target> {
        let kind = VendorKind::of(group.vendor);
        let params = (kind.vendor().of_group)(group)?;
        Ok(Target {
            name: kind.id().to_owned(),
            vendor: kind,
            base_url: group.base_url.clone(),
            params,
            credentials: BTreeMap::new(),
            batch_size: kind.info().default_batch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mparticle::{Environment, Pod};

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
        let prod = mp("k-1", Environment::Production, base).destination(false);
        let dev = mp("k-1", Environment::Development, base).destination(false);
        let other_ws = mp("k-2", Environment::Production, base).destination(false);
        let other_host =
            mp("k-1", Environment::Production, "http://127.0.0.1:9").destination(false);
        let ids: std::collections::HashSet<String> = [&prod, &dev, &other_ws, &other_host]
            .iter()
            .map(|d| d.id())
            .collect();
        assert_eq!(ids.len(), 4);
        // Stable, and never the key or the secret.
        assert_eq!(
            prod,
            mp("k-1", Environment::Production, base).destination(false)
        );
        let text = format!("{prod} {}", serde_json::to_string(&prod).unwrap());
        assert!(!text.contains("k-1") && !text.contains("s3cret"), "{text}");
        assert!(text.contains("environment=production"), "{text}");
    }

    #[test]
    fn the_sandbox_is_one_destination_whatever_its_port() {
        let a = mp("k", Environment::Production, "http://127.0.0.1:4001").destination(true);
        let b = mp("k", Environment::Production, "http://127.0.0.1:5002").destination(true);
        assert_eq!(a, b);
        assert!(a.slug().starts_with("sandbox-mparticle-"), "{}", a.slug());
        let real = mp("k", Environment::Production, "http://127.0.0.1:4001").destination(false);
        assert_ne!(a.id(), real.id());
    }
}
