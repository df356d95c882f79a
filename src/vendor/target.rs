//! A target: one place to delete from, as the adapters need it (vendor, host, the vendor's
//! parameters, credentials). Resolved from flags and the config file by the CLI's settings.

use std::collections::BTreeMap;

use super::clevertap::IdKind;
use super::mparticle::{Environment, Pod};
use super::{Secret, VendorKind};
use crate::error::UserError;
use crate::ledger::{Destination, SANDBOX_ORIGIN, fingerprint};
use crate::status::jobs::Group;

/// Hightouch's reprocessing path template when the config file sets none.
pub const HIGHTOUCH_DEFAULT_PATH: &str = "/api/v1/idr/{graph}/queue-for-reprocessing";

/// Vendor-specific parameters of a target.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "vendor", rename_all = "lowercase")]
pub enum VendorParams {
    Lytics {
        table: String,
        field: String,
    },
    Mparticle {
        pod: Pod,
        environment: Environment,
        identity_type: String,
    },
    Clevertap {
        region: String,
        id_kind: IdKind,
    },
    Segment {
        region: String,
        space: String,
    },
    Hightouch {
        graph: String,
        block: bool,
        path: String,
    },
    #[serde(rename = "segment-regs")]
    SegmentRegs {
        region: String,
        /// Source scope; `None`: the whole workspace.
        source: Option<String>,
        regulation: String,
    },
    Mixpanel {
        region: String,
        /// GDPR or CCPA.
        compliance: String,
        /// The project's data groups, which lower the per-request cap.
        data_groups: u32,
    },
    Braze {
        instance: String,
        /// The label of the user aliases deleted by `--id-type user_alias`.
        alias_label: Option<String>,
    },
}

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
                    put("workspace", fingerprint(target.vendor.id(), k));
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
                if path != HIGHTOUCH_DEFAULT_PATH {
                    put("path", path.clone());
                }
            }
            // The quota is per workspace, which the token picks.
            VendorParams::SegmentRegs { region, source, .. } => {
                put("region", region.clone());
                if let Some(s) = source {
                    put("source", s.clone());
                }
                if let Some(t) = credential("SEGMENT_PUBLIC_API_TOKEN") {
                    put("workspace", fingerprint(target.vendor.id(), t));
                }
            }
            VendorParams::Mixpanel { region, .. } => {
                put("region", region.clone());
                if let Some(t) = credential("MIXPANEL_PROJECT_TOKEN") {
                    put("project", fingerprint(target.vendor.id(), t));
                }
            }
            VendorParams::Braze { instance, .. } => {
                put("instance", instance.clone());
                if let Some(k) = credential("BRAZE_API_KEY") {
                    put("workspace", fingerprint(target.vendor.id(), k));
                }
            }
        }
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
        let a = |k: &str| group.account.get(k).cloned();
        let params = match kind {
            VendorKind::Lytics => VendorParams::Lytics {
                table: a("table").unwrap_or_else(|| "user".into()),
                field: a("field").unwrap_or_default(),
            },
            VendorKind::Hightouch => VendorParams::Hightouch {
                graph: a("graph").ok_or_else(|| {
                    UserError::usage("the ledger header does not name the Hightouch graph")
                })?,
                block: a("block").is_none_or(|b| b != "false"),
                path: HIGHTOUCH_DEFAULT_PATH.into(),
            },
            VendorKind::Mparticle => VendorParams::Mparticle {
                pod: Pod::Us1,
                environment: Environment::Production,
                identity_type: a("identity_type").unwrap_or_default(),
            },
            VendorKind::Clevertap => VendorParams::Clevertap {
                region: a("region").unwrap_or_default(),
                id_kind: IdKind::Identity,
            },
            VendorKind::Segment => VendorParams::Segment {
                region: a("region").unwrap_or_default(),
                space: a("space").unwrap_or_default(),
            },
            VendorKind::SegmentRegs => VendorParams::SegmentRegs {
                region: a("region").unwrap_or_default(),
                source: a("source"),
                regulation: a("regulation_type").unwrap_or_else(|| "SUPPRESS_WITH_DELETE".into()),
            },
            VendorKind::Mixpanel => VendorParams::Mixpanel {
                region: a("region").unwrap_or_default(),
                compliance: a("compliance_type").unwrap_or_else(|| "GDPR".into()),
                data_groups: 0,
            },
            VendorKind::Braze => VendorParams::Braze {
                instance: a("instance").unwrap_or_default(),
                alias_label: a("alias_label"),
            },
        };
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

fn enum_name(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

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
