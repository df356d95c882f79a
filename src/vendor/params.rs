//! The settings a vendor takes: one table for the command-line flags and the config file's
//! keys, so that the two cannot disagree about which vendor a setting belongs to.

use super::VendorKind::{
    self, Braze, Clevertap, Hightouch, Lytics, Mixpanel, Mparticle, Segment, SegmentRegs,
};

/// One vendor setting.
#[derive(Debug)]
pub struct Param {
    /// The config file key; the flag is the same with dashes (see [`flag`]).
    pub key: &'static str,
    /// The vendors that take it.
    pub vendors: &'static [VendorKind],
    /// An old name kept for one release: the key that replaces it.
    pub renamed_to: Option<&'static str>,
}

const ALL: &[VendorKind] = &[
    Lytics,
    Mparticle,
    Clevertap,
    Segment,
    Hightouch,
    SegmentRegs,
    Mixpanel,
    Braze,
];

const fn p(key: &'static str, vendors: &'static [VendorKind]) -> Param {
    Param {
        key,
        vendors,
        renamed_to: None,
    }
}

const fn old(key: &'static str, vendors: &'static [VendorKind], new: &'static str) -> Param {
    Param {
        key,
        vendors,
        renamed_to: Some(new),
    }
}

/// Every vendor setting, current names first (in the order messages list them).
pub static PARAMS: &[Param] = &[
    p("id_type", ALL),
    p("table", &[Lytics]),
    p("pod", &[Mparticle]),
    p("environment", &[Mparticle]),
    p("region", &[Clevertap, Segment, SegmentRegs, Mixpanel]),
    p("source", &[SegmentRegs]),
    p("regulation_type", &[SegmentRegs]),
    p("compliance_type", &[Mixpanel]),
    p("data_groups", &[Mixpanel]),
    p("instance", &[Braze]),
    p("alias_label", &[Braze]),
    p("space", &[Segment]),
    p("id_type_column", &[Segment, Hightouch]),
    p("user_id_column", &[Segment]),
    p("graph", &[Hightouch]),
    p("block", &[Hightouch]),
    p("path", &[Hightouch]),
    p("source_data_deleted", &[Hightouch]),
    // Until 0.x each vendor had its own name for the identifier type.
    old("field", &[Lytics], "id_type"),
    old("identity_type", &[Mparticle], "id_type"),
    old("id_kind", &[Clevertap], "id_type"),
    old("identifier_type", &[Hightouch], "id_type"),
];

/// A setting by its config key, current or old.
pub fn param(key: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.key == key)
}

/// The current keys a vendor takes (not the old names).
pub fn keys(kind: VendorKind) -> Vec<&'static str> {
    PARAMS
        .iter()
        .filter(|p| p.renamed_to.is_none() && p.vendors.contains(&kind))
        .map(|p| p.key)
        .collect()
}

/// The command-line flag of a key. `block` is the only one whose flag turns it off, and
/// `path` has none (a proxy's path template belongs in the config file).
pub fn flag(key: &str) -> Option<String> {
    match key {
        "block" => Some("--no-block".to_owned()),
        "path" => None,
        k => Some(format!("--{}", k.replace('_', "-"))),
    }
}

/// The flags a vendor takes, for messages: `--id-type, --table`.
pub fn flags(kind: VendorKind) -> String {
    keys(kind)
        .into_iter()
        .filter_map(flag)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The vendors that take a key, by display name: `mParticle`, `CleverTap and Segment`.
pub fn owners(p: &Param) -> String {
    let names: Vec<&str> = p.vendors.iter().map(|v| v.info().name).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_old_name_maps_to_a_current_key_of_its_vendors() {
        for p in PARAMS.iter().filter(|p| p.renamed_to.is_some()) {
            let new = param(p.renamed_to.unwrap()).unwrap();
            assert!(new.renamed_to.is_none(), "{}", p.key);
            for v in p.vendors {
                assert!(new.vendors.contains(v), "{} for {v}", p.key);
            }
        }
        assert_eq!(keys(Lytics), ["id_type", "table"]);
        assert_eq!(
            flag("source_data_deleted").unwrap(),
            "--source-data-deleted"
        );
        assert_eq!(
            owners(param("region").unwrap()),
            "CleverTap, Twilio Segment, Twilio Segment regulations and Mixpanel"
        );
    }
}
