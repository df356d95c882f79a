//! The settings a vendor takes, under one key each for the command line (`--id-type`) and
//! the config file (`id_type`): each vendor's registry row lists its [`Param`]s, so flags and
//! the file cannot disagree about which vendor a setting belongs to, and a setting given to
//! a vendor that does not take it is an error naming the vendor it belongs to.

use std::collections::BTreeMap;

use crate::{REGISTRY, VendorKind};

/// What a command does with a target, which decides the settings it must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `plan`: read and batch the input. Only what changes the batches is required (the
    /// identifier type, the type and user_id columns). Settings of the destination alone
    /// (mParticle's environment, Segment's space, Hightouch's graph) are optional and hold
    /// placeholders when not given: nothing is ever sent for a plan.
    Plan,
    /// `check`: call the vendor without reading any input.
    Check,
    /// `delete`: everything.
    Send,
}

impl Stage {
    /// The command sends to the vendor (`check`, `delete`).
    pub fn sending(self) -> bool {
        self != Stage::Plan
    }
    /// The command reads the input (`plan`, `delete`).
    pub fn reading(self) -> bool {
        self != Stage::Check
    }
}

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A string (`table = "user"`, `--table user`).
    Text,
    /// `true`/`false` in the file; on the command line a flag that sets the non-default
    /// (`--no-block` for `block`, `--source-data-deleted`).
    Switch,
}

/// One vendor setting.
#[derive(Debug)]
pub struct Param {
    /// The config file key; the flag is the same with dashes (see [`flag`]).
    pub key: &'static str,
    pub kind: ParamKind,
    /// The only values it takes, when the vendor documents a closed set (checked in the
    /// config file; the command line's typed flags check their own).
    pub choices: Option<&'static [&'static str]>,
    /// An old name kept for one release: the key that replaces it.
    pub renamed_to: Option<&'static str>,
}

impl Param {
    /// A free-text setting.
    pub const fn text(key: &'static str) -> Param {
        Param {
            key,
            kind: ParamKind::Text,
            choices: None,
            renamed_to: None,
        }
    }
    /// A setting that takes one of `choices`.
    pub const fn one_of(key: &'static str, choices: &'static [&'static str]) -> Param {
        Param {
            choices: Some(choices),
            ..Param::text(key)
        }
    }
    /// A true/false setting.
    pub const fn switch(key: &'static str) -> Param {
        Param {
            kind: ParamKind::Switch,
            ..Param::text(key)
        }
    }
    /// An old name of `new`, kept for one release.
    pub const fn old(key: &'static str, new: &'static str) -> Param {
        Param {
            renamed_to: Some(new),
            ..Param::text(key)
        }
    }
}

/// The identifier type: every vendor takes it (what the values are).
pub const ID_TYPE: Param = Param::text("id_type");
/// The column holding each row's identifier type, for vendors that take several per run.
pub const ID_TYPE_COLUMN: Param = Param::text("id_type_column");
/// The old name of [`ID_TYPE_COLUMN`].
pub const OLD_ID_TYPE_COLUMN: Param = Param::old("identifier_type_column", "id_type_column");
/// The account's region, for vendors whose host depends on it.
pub const REGION: Param = Param::text("region");

/// Every vendor setting, current names first, in the order messages list them: the rows'
/// settings in registry order, each key once.
pub fn all() -> Vec<&'static Param> {
    let mut out: Vec<&'static Param> = Vec::new();
    for current in [true, false] {
        for v in REGISTRY {
            for &p in v.params {
                if p.renamed_to.is_none() == current && !out.iter().any(|q| q.key == p.key) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// A setting by its config key, current or old.
pub fn param(key: &str) -> Option<&'static Param> {
    REGISTRY
        .iter()
        .flat_map(|v| v.params.iter().copied())
        .find(|p| p.key == key)
}

/// The vendors that take a key, in registry order.
pub fn vendors_of(key: &str) -> Vec<VendorKind> {
    REGISTRY
        .iter()
        .filter(|v| v.takes(key))
        .map(|v| v.kind)
        .collect()
}

/// The current keys a vendor takes (not the old names).
pub fn keys(kind: VendorKind) -> Vec<&'static str> {
    kind.vendor()
        .params
        .iter()
        .filter(|p| p.renamed_to.is_none())
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
    let names: Vec<&str> = vendors_of(p.key)
        .into_iter()
        .map(|v| v.info().name)
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The vendor settings one target is given, by key (current or old), as text: switches
/// hold `true`/`false`. What the command line and the config file both turn into before a
/// vendor's row reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<&'static str, String>);

impl Values {
    /// The text of a setting, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    /// The text of a setting, or `""` (a placeholder where the stage did not require it).
    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().to_owned()
    }
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
    /// A switch's value, if given.
    pub fn switch(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v == "true")
    }
    pub fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.0.insert(key, value.into());
    }
    /// Set `key` when `value` is given.
    pub fn set_opt(&mut self, key: &'static str, value: Option<impl Into<String>>) {
        if let Some(v) = value {
            self.set(key, v);
        }
    }
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }
    /// The keys given, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.keys().copied()
    }
    /// The identifier kind is given, as a fixed type or a type column.
    pub fn has_kind(&self, kind: VendorKind) -> bool {
        self.id_type(kind).is_some() || self.current(kind, ID_TYPE_COLUMN.key).is_some()
    }
    /// The identifier type for `kind`: `id_type`, else an old name of it that `kind` takes.
    pub fn id_type(&self, kind: VendorKind) -> Option<&str> {
        self.current(kind, ID_TYPE.key)
    }
    /// The setting `key` for `kind`: under its name, else under an old name `kind` takes.
    pub fn current(&self, kind: VendorKind, key: &str) -> Option<&str> {
        self.get(key).or_else(|| {
            kind.vendor()
                .params
                .iter()
                .filter(|p| p.renamed_to == Some(key))
                .find_map(|p| self.get(p.key))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VendorKind::*;

    #[test]
    fn every_old_name_maps_to_a_current_key_of_its_vendors() {
        for p in all().into_iter().filter(|p| p.renamed_to.is_some()) {
            let new = param(p.renamed_to.unwrap()).unwrap();
            assert!(new.renamed_to.is_none(), "{}", p.key);
            for v in vendors_of(p.key) {
                assert!(v.takes(new.key), "{} for {v}", p.key);
            }
        }
        assert_eq!(keys(Lytics), ["id_type", "table"]);
        assert_eq!(
            flag("source_data_deleted").unwrap(),
            "--source-data-deleted"
        );
        assert_eq!(
            owners(param("region").unwrap()),
            "CleverTap, Twilio Segment, Amplitude, Iterable, PostHog, Twilio Segment regulations and Mixpanel"
        );
    }

    #[test]
    fn one_definition_per_key() {
        // Two vendors may share a key only with the same meaning: the same definition.
        for v in REGISTRY {
            for p in v.params {
                let first = param(p.key).unwrap();
                assert_eq!(
                    (first.kind, first.renamed_to),
                    (p.kind, p.renamed_to),
                    "{}",
                    p.key
                );
            }
        }
        let keys: Vec<&str> = all().iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "id_type",
                "table",
                "pod",
                "environment",
                "region",
                "space",
                "id_type_column",
                "user_id_column",
                "lookup_type",
                "lookup_column",
                "graph",
                "block",
                "path",
                "source_data_deleted",
                "requester",
                "project_id",
                "source",
                "regulation_type",
                "compliance_type",
                "data_groups",
                "instance",
                "alias_label",
                "field",
                "identity_type",
                "id_kind",
                "identifier_type_column",
                "identifier_type"
            ]
        );
    }

    #[test]
    fn an_old_name_gives_the_identifier_type_of_its_vendor_only() {
        let mut v = Values::default();
        v.set("field", "email");
        assert_eq!(v.id_type(Lytics), Some("email"));
        assert_eq!(v.id_type(Mparticle), None);
        v.set("id_type", "member_id");
        assert_eq!(v.id_type(Lytics), Some("member_id"));
    }
}
