//! The vendor adapters and their registry: one file per vendor, holding its [`Vendor`] row
//! (facts, settings, credentials, host resolution, destination identity, how to build its
//! adapter) and the adapter itself; one line per vendor in [`registry!`] below.
//!
//! An adapter is data plus two functions: build a request from a batch, and classify a
//! response into per-item outcomes (the [`Adapter`] trait of [`cdp_purge_core::protocol`]).
//! Pacing, retries, the ledger and progress live in the engine. Nothing outside this crate
//! names a vendor: the binary and the core read the rows.

// Output belongs to the binary's printer.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::fmt;
use std::sync::Arc;

// The protocol's names, for the adapters (and their callers) that know them from here.
pub use cdp_purge_core::protocol::*;

use cdp_purge_core::error::UserError;
use cdp_purge_core::status::jobs::Group;

pub mod amplitude;
pub mod braze;
pub mod clevertap;
pub mod hightouch;
pub mod iterable;
pub mod lytics;
pub mod mixpanel;
pub mod mparticle;
pub mod mparticle_lookup;
pub mod params;
pub mod posthog;
pub mod segment;
pub mod segment_regs;
pub mod target;
pub mod verify;
pub mod wire;

pub use params::{Param, Stage, Values};
pub use target::Target;

use clevertap::IdKind;
use mparticle::{Environment, Pod};

/// The registry: one line per vendor, `Variant => module { its VendorParams fields }`. It
/// makes the [`VendorKind`] variant, the [`VendorParams`] variant and the [`REGISTRY`] row
/// (the module's `VENDOR`), in this order everywhere (`vendors`, messages, the ledger's
/// vendor names). The module's `mod` line goes above (macros hide modules from rustfmt).
macro_rules! registry {
    ($($variant:ident => $module:ident { $($field:ident: $ty:ty),* $(,)? }),* $(,)?) => {
        /// The supported vendors.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize,
        )]
        #[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
        #[serde(rename_all = "lowercase")]
        pub enum VendorKind {
            $($variant),*
        }

        impl VendorKind {
            /// Every vendor, in registry order.
            pub const ALL: &'static [VendorKind] = &[$(VendorKind::$variant),*];
        }

        /// Every vendor's row, in [`VendorKind`] order.
        pub static REGISTRY: &[&Vendor] = &[$(&$module::VENDOR),*];

        /// Every vendor's facts, in [`VendorKind`] order (the core's status and report read
        /// them as a slice).
        pub static VENDORS: &[VendorSpec] = &[$($module::VENDOR.spec),*];

        /// Vendor-specific parameters of a target, as the vendor's row resolves them.
        #[derive(Debug, Clone, serde::Serialize)]
        #[serde(tag = "vendor", rename_all = "lowercase")]
        pub enum VendorParams {
            $($variant { $($field: $ty),* }),*
        }
    };
}

registry! {
    Lytics => lytics { table: String, field: String },
    Mparticle => mparticle { pod: Pod, environment: Environment, identity_type: String },
    Clevertap => clevertap { region: String, id_kind: IdKind },
    Segment => segment { region: String, space: String, lookup_type: Option<String> },
    Hightouch => hightouch { graph: String, block: bool, path: String },
    Amplitude => amplitude { region: String, requester: Option<String> },
    Iterable => iterable { region: String },
    Posthog => posthog { project: String },
    SegmentRegs => segment_regs { region: String, source: Option<String>, regulation: String },
    Mixpanel => mixpanel { region: String, compliance: String, data_groups: u32 },
    Braze => braze { instance: String, alias_label: Option<String> },
}

/// A credential a vendor takes: its key in a config target's `credentials`/`secrets` tables
/// and the environment variable that holds it by default (the name the adapter reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    pub role: &'static str,
    pub var: &'static str,
}

/// One vendor's row: everything the binary and the core need to know about it, as data and
/// functions. Each vendor's module holds its row as `VENDOR`.
pub struct Vendor {
    pub kind: VendorKind,
    /// The facts (caps, quota, status support, caveat, sources in the comments).
    pub spec: VendorSpec,
    /// The settings it takes (the same key for the flag and the config file), current
    /// names first, in the order messages list them; then old names.
    pub params: &'static [&'static Param],
    /// Its credentials; the variables are `spec.credentials`, in the same order.
    pub credentials: &'static [Credential],
    /// The one identifier type a vendor takes, used when none is given (Mixpanel's
    /// `distinct_id`, Segment regulations' `user_id`): asking for it would only be ceremony.
    pub only_id_type: Option<&'static str>,
    /// The largest batch whose answer still proves each identifier, when the settings make
    /// it smaller than the cap, and why: it becomes the default, and a larger
    /// `--batch-size` is refused (Braze by email or phone: one address can name several
    /// profiles, and Braze only counts the profiles it deleted).
    pub proving_batch: fn(&Values) -> Option<(usize, &'static str)>,
    /// Every setting `values` lacks for a command at `stage`, one phrase each naming the
    /// flag (`--space (the Unify space ID)`).
    pub missing: fn(&Values, Stage) -> Vec<&'static str>,
    /// The parameters and the default host (region, pod) from its settings. Settings the
    /// stage did not require are placeholders. Errors name the flag.
    pub resolve: fn(&Values) -> Result<(VendorParams, String), UserError>,
    /// What tells its destinations apart beyond the host (the ledger's destination
    /// identity): `(key, value)` of the parameters and credentials that pick the account.
    pub destination: fn(&Target) -> Vec<(&'static str, String)>,
    /// The parameters `status` rebuilds from what a ledger header recorded.
    pub of_group: fn(&Group) -> anyhow::Result<VendorParams>,
    /// The adapter for a target of this vendor.
    pub build: fn(&Target) -> anyhow::Result<Arc<dyn Adapter>>,
}

impl Vendor {
    /// It takes the setting `key` (current or old name).
    pub fn takes(&self, key: &str) -> bool {
        self.param(key).is_some()
    }
    /// Its definition of the setting `key`.
    pub fn param(&self, key: &str) -> Option<&'static Param> {
        self.params.iter().copied().find(|p| p.key == key)
    }
}

impl fmt::Debug for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vendor").field("id", &self.spec.id).finish()
    }
}

impl VendorKind {
    /// The vendor's registry row.
    pub fn vendor(self) -> &'static Vendor {
        REGISTRY[self as usize]
    }
    /// The vendor's facts (its row of [`VENDORS`]).
    pub fn info(self) -> &'static VendorSpec {
        &VENDORS[self as usize]
    }
    pub fn id(self) -> &'static str {
        self.info().id
    }
    /// It takes the setting `key` (current or old name).
    pub fn takes(self, key: &str) -> bool {
        self.vendor().takes(key)
    }
    /// The vendor of a facts row (every row is one of [`VENDORS`]).
    pub fn of(spec: &VendorSpec) -> Self {
        Self::from_id(spec.id).expect("every row of VENDORS is a VendorKind")
    }
    /// The vendor whose `--vendor` name is `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.id() == id)
    }
}

impl fmt::Display for VendorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The adapter for a target. Fails when a credential is missing or cannot be put in a
/// header; the error names the variable, never its value.
pub fn adapter(target: &Target) -> anyhow::Result<Arc<dyn Adapter>> {
    (target.vendor.vendor().build)(target)
}

/// The row of the vendor named `id` (as a ledger header records it), if there is one.
pub fn spec(id: &str) -> Option<&'static VendorSpec> {
    VENDORS.iter().find(|v| v.id == id)
}

/// How a deleted profile comes back at the vendor named `id`, for reports.
pub fn reingestion_note(id: &str) -> Option<&'static str> {
    spec(id).and_then(|s| s.reingestion)
}

/// `value` as one of an enum's serde names (the names its settings take).
pub(crate) fn from_name<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).ok()
}

/// A setting with a closed set of names, as its enum; `default` when not given.
pub(crate) fn choice<T: serde::de::DeserializeOwned>(
    v: &Values,
    p: &Param,
    default: T,
) -> Result<T, UserError> {
    match v.get(p.key) {
        None => Ok(default),
        Some(s) => from_name(s).ok_or_else(|| {
            UserError::usage(format!(
                "{} {s:?} is not one of {}",
                params::flag(p.key).unwrap_or_else(|| p.key.to_owned()),
                p.choices.unwrap_or_default().join(", ")
            ))
        }),
    }
}

/// An enum's serde name (`Pod::Eu1` → `eu1`).
pub(crate) fn name_of(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The region setting of a vendor whose hosts are a fixed table (`(region, host)`, the
/// first the default): the region and its host.
pub(crate) fn region_host(
    v: &Values,
    name: &str,
    hosts: &[(&'static str, &'static str)],
) -> Result<(String, String), UserError> {
    let region = v.get(params::REGION.key).unwrap_or(hosts[0].0);
    match hosts.iter().find(|(r, _)| *r == region) {
        Some((r, h)) => Ok(((*r).to_owned(), (*h).to_owned())),
        None => {
            let names: Vec<&str> = hosts.iter().map(|(r, _)| *r).collect();
            Err(
                UserError::usage(format!("unknown {name} region {region:?}")).with_hint(format!(
                    "use {} (or --base-url for another host)",
                    names.join(" or ")
                )),
            )
        }
    }
}

/// The identifier type, when given, is one a vendor with a closed set takes.
pub(crate) fn id_type_in(v: &Values, kind: VendorKind, takes: &[&str]) -> Result<(), UserError> {
    match v.id_type(kind) {
        Some(t) if !takes.contains(&t) => Err(UserError::usage(format!(
            "{} takes no identifier type {t:?}",
            kind.info().name
        ))
        .with_hint(format!("use --id-type {}", takes.join("|")))),
        _ => Ok(()),
    }
}

/// A destination's settings `d`, plus the fingerprint of the credential `var` under
/// `label` when it is set: a key names one project or workspace, so two keys are two
/// places, and the key itself is never recorded.
pub(crate) fn keyed(
    t: &Target,
    mut d: Vec<(&'static str, String)>,
    label: &'static str,
    var: &str,
) -> Vec<(&'static str, String)> {
    if let Some(k) = t.credentials.get(var) {
        d.push((
            label,
            cdp_purge_core::ledger::fingerprint(t.vendor.id(), k.expose()),
        ));
    }
    d
}

/// `missing` of a vendor that needs an identifier type for everything and one setting to
/// send: the phrase `id_type` when no type is given, `setting` when `param` is not.
pub(crate) fn id_type_and(
    v: &Values,
    stage: Stage,
    kind: VendorKind,
    id_type: &'static str,
    param: &Param,
    setting: &'static str,
) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if v.id_type(kind).is_none() {
        missing.push(id_type);
    }
    if stage.sending() && !v.has(param.key) {
        missing.push(setting);
    }
    missing
}

/// A ledger group's recorded account, by key.
pub(crate) fn recorded(group: &Group) -> impl Fn(&str) -> Option<String> + '_ {
    |k| group.account.get(k).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_one_row_with_sane_caps() {
        for &k in VendorKind::ALL {
            let info = k.info();
            assert_eq!(VendorKind::from_id(info.id), Some(k));
            assert!(info.default_batch >= 1 && info.default_batch <= info.max_batch);
            assert!(!info.credentials.is_empty());
        }
        assert_eq!(VENDORS.len(), VendorKind::ALL.len());
    }

    #[test]
    fn rows_are_in_kind_order_and_credentials_match_the_facts() {
        for (i, v) in REGISTRY.iter().enumerate() {
            assert_eq!(v.kind as usize, i, "{}", v.spec.id);
            assert_eq!(v.kind.info().id, v.spec.id);
            let vars: Vec<&str> = v.credentials.iter().map(|c| c.var).collect();
            assert_eq!(vars, v.spec.credentials, "{}", v.spec.id);
            // Every vendor says what its values are.
            assert!(v.takes("id_type"), "{}", v.spec.id);
        }
    }

    /// The clap names of `--vendor` are the rows' ids (the binary turns the feature on).
    #[cfg(feature = "clap")]
    #[test]
    fn clap_names_are_the_ids() {
        use clap::ValueEnum;
        let names: Vec<String> = VendorKind::value_variants()
            .iter()
            .map(|k| k.to_possible_value().expect("listed").get_name().to_owned())
            .collect();
        let ids: Vec<&str> = VENDORS.iter().map(|v| v.id).collect();
        assert_eq!(names, ids);
    }

    #[test]
    fn every_row_resolves_its_defaults_and_names_what_is_missing() {
        for v in REGISTRY {
            let mut values = Values::default();
            values.set(
                "id_type",
                match v.kind {
                    VendorKind::Clevertap => "guid",
                    VendorKind::Amplitude => "user_id",
                    VendorKind::Posthog => "distinct_id",
                    VendorKind::SegmentRegs => "user_id",
                    VendorKind::Mixpanel => "distinct_id",
                    _ => "email",
                },
            );
            let (params, host) = (v.resolve)(&values).expect("defaults resolve");
            assert!(host.starts_with("https://"), "{host}");
            let t = Target {
                name: v.spec.id.into(),
                vendor: v.kind,
                base_url: host,
                params,
                credentials: Default::default(),
                batch_size: 1,
            };
            // Its destination says which account, and never a credential it lacks.
            let _ = (v.destination)(&t);
            // With nothing given, a send names at least the identifier type, unless the
            // vendor takes one type only, which is then the one it resolves with.
            let missing = (v.missing)(&Values::default(), Stage::Send);
            match v.only_id_type {
                None => assert!(
                    missing.iter().any(|m| m.contains("--id-type")),
                    "{}: {missing:?}",
                    v.spec.id
                ),
                Some(only) => {
                    let mut given = Values::default();
                    given.set("id_type", only);
                    assert!((v.resolve)(&given).is_ok(), "{}", v.spec.id);
                    given.set("id_type", "not-a-type");
                    assert!((v.resolve)(&given).is_err(), "{}", v.spec.id);
                }
            }
        }
    }

    #[test]
    fn every_row_paces_within_its_quota() {
        for v in VENDORS {
            cdp_purge_core::engine::limiter::check_row_pacing(
                &v.quota,
                v.default_concurrency,
                v.default_batch,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", v.id));
        }
    }

    #[test]
    fn registry_builds_the_adapter_for_each_vendor() {
        let params = |k: VendorKind| match k {
            VendorKind::Lytics => VendorParams::Lytics {
                table: "user".into(),
                field: "email".into(),
            },
            VendorKind::Mparticle => VendorParams::Mparticle {
                pod: Pod::Us1,
                environment: Environment::Development,
                identity_type: "mpid".into(),
            },
            VendorKind::Clevertap => VendorParams::Clevertap {
                region: "eu1".into(),
                id_kind: IdKind::Guid,
            },
            VendorKind::Segment => VendorParams::Segment {
                region: "us".into(),
                space: "spa_1".into(),
                lookup_type: None,
            },
            VendorKind::Hightouch => VendorParams::Hightouch {
                graph: "g".into(),
                block: true,
                path: "/api/v1/idr/{graph}/queue-for-reprocessing".into(),
            },
            VendorKind::Amplitude => VendorParams::Amplitude {
                region: "us".into(),
                requester: None,
            },
            VendorKind::Iterable => VendorParams::Iterable {
                region: "us".into(),
            },
            VendorKind::Posthog => VendorParams::Posthog {
                project: "1".into(),
            },
            VendorKind::SegmentRegs => VendorParams::SegmentRegs {
                region: "us".into(),
                source: None,
                regulation: "SUPPRESS_WITH_DELETE".into(),
            },
            VendorKind::Mixpanel => VendorParams::Mixpanel {
                region: "us".into(),
                compliance: "GDPR".into(),
                data_groups: 0,
            },
            VendorKind::Braze => VendorParams::Braze {
                instance: "iad-01".into(),
                alias_label: None,
            },
        };
        for &kind in VendorKind::ALL {
            let info = kind.info();
            let mut target = Target {
                name: info.id.into(),
                vendor: kind,
                base_url: info.default_base_url.into(),
                params: params(kind),
                credentials: info
                    .credentials
                    .iter()
                    .map(|&c| (c, Secret::new("x")))
                    .collect(),
                batch_size: info.default_batch,
            };
            let a = adapter(&target).expect("adapter");
            assert_eq!(a.spec().id, info.id);
            assert!(a.endpoint().contains(info.default_base_url));
            let has_status = a.status_request("id").expect("ok").is_some();
            // The row's status support and the adapter's status API agree.
            assert_eq!(has_status, info.status == StatusSupport::Jobs);
            if !has_status {
                assert!(a.parse_status(b"{}").is_err());
            }
            // Every listed credential is required.
            for &c in info.credentials {
                let saved = target.credentials.remove(c).expect("present");
                let err = adapter(&target).err().expect("missing credential");
                assert!(err.to_string().contains(c), "{err}");
                target.credentials.insert(c, saved);
            }
            // Params of another vendor are an internal error, not a panic.
            target.params = params(if kind == VendorKind::Lytics {
                VendorKind::Segment
            } else {
                VendorKind::Lytics
            });
            assert!(adapter(&target).is_err());
        }
    }
}
