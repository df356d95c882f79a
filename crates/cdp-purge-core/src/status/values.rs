//! The raw values profile lookups need (an MPID, a CleverTap identity, a Segment user_id),
//! when the ledger holds only keyed hashes: the input the delete run read, re-read and
//! matched by hash.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::PathBuf;

use xxhash_rust::xxh3::xxh3_128;

use super::jobs::{Job, LookupPlan, Subject};
use crate::error::UserError;
use crate::input::dedupe::HashSet128;
use crate::input::{self, ColumnSel, Format, IntakeSpec, KindSource};
use crate::ledger;

/// Where the raw values come from when the ledger holds only hashes: the input the run
/// read, re-read and matched by keyed hash.
pub struct ValueSource<'a> {
    pub inputs: &'a [PathBuf],
    /// The identifier column.
    pub column: Option<&'a str>,
    /// Segment: the column with each row's user_id (or `--lookup-type` value); default
    /// `column`.
    pub lookup_column: Option<&'a str>,
    pub format: Option<Format>,
    /// The delete run's own intake settings (`status --group`, from the group's index):
    /// when given, the input is read exactly as that run read it (its columns, delimiter,
    /// header and null values), and the three fields above are not used.
    pub intake: Option<&'a IntakeSpec>,
    /// What [`input_hashes`] read, kept for the invocation: a bounded `--watch` picks again
    /// every round, and the input does not change between rounds. One per way the input is
    /// read (with and without a lookup column: a row without its lookup value is dropped).
    pub hashes: [OnceCell<HashSet128>; 2],
}

/// Re-read the input the run read and match its values to the ledger's keyed hashes (as
/// read, or lowercased for a run that used `--lowercase`).
pub(super) fn recover_values(
    jobs: &mut [Job],
    key: &[u8; 32],
    src: &ValueSource<'_>,
    plan: &LookupPlan<'_>,
    missing: usize,
) -> anyhow::Result<()> {
    let what = plan.what;
    if src.inputs.is_empty() {
        let hint = if plan.needs_lookup {
            "pass the input the delete run read: -i FILE --column NAME --lookup-column NAME (the column with each row's user_id, or its --lookup-type value); rows are matched by hash"
        } else {
            "pass the input the delete run read: -i FILE --column NAME (it is matched by hash)"
        };
        return Err(UserError::usage(format!(
            "looking profiles up (--verify, --recheck) needs the {what} of {missing} deleted identifier(s), and the ledger stores only keyed hashes"
        ))
        .with_hint(hint)
        .into());
    }
    let spec = value_spec(src, plan);
    let mut wanted: HashMap<String, usize> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| match &j.subject {
            Subject::Profile(h) if j.value.is_none() || j.lookup.is_none() => Some((h.clone(), i)),
            _ => None,
        })
        .collect();
    let mut found = 0usize;
    input::run(
        &spec,
        &mut |item| {
            let lower = item.value.to_lowercase();
            let hit = match wanted.remove(&ledger::id_hmac(key, &item.value)) {
                Some(i) => Some((i, item.value.clone())),
                None if lower != item.value => wanted
                    .remove(&ledger::id_hmac(key, &lower))
                    .map(|i| (i, lower)),
                None => None,
            };
            if let Some((i, value)) = hit {
                let j = &mut jobs[i];
                j.lookup = item.lookup.clone().or_else(|| Some(value.clone()));
                j.value = Some(value);
                found += 1;
            }
            Ok(())
        },
        &mut |_| Ok(()),
    )?;
    if found < missing {
        tracing::warn!(
            "{} of {missing} identifiers to verify are not in the given input; they are not looked up",
            missing.saturating_sub(found)
        );
    }
    Ok(())
}

/// The keyed hashes (as 128-bit digests of their hex) of every value the input gives, as
/// read and lowercased: 16 bytes per value, whatever the ledger holds. Read once per
/// invocation and way of reading ([`ValueSource::hashes`]).
pub(super) fn input_hashes<'s>(
    key: &[u8; 32],
    src: &'s ValueSource<'_>,
    plan: &LookupPlan<'_>,
) -> anyhow::Result<&'s HashSet128> {
    let cell = &src.hashes[usize::from(plan.needs_lookup)];
    if let Some(set) = cell.get() {
        return Ok(set);
    }
    let spec = value_spec(src, plan);
    let mut set = HashSet128::new();
    input::run(
        &spec,
        &mut |item| {
            set.insert(xxh3_128(ledger::id_hmac(key, &item.value).as_bytes()));
            let lower = item.value.to_lowercase();
            if lower != item.value {
                set.insert(xxh3_128(ledger::id_hmac(key, &lower).as_bytes()));
            }
            Ok(())
        },
        &mut |_| Ok(()),
    )?;
    Ok(cell.get_or_init(|| set))
}

/// How the input is re-read for the values of a vendor's profiles: the run's own intake
/// when it is known (a group), else `--column`/`--lookup-column`.
fn value_spec(src: &ValueSource<'_>, plan: &LookupPlan<'_>) -> IntakeSpec {
    let col = |c: Option<&str>| c.map_or(ColumnSel::Whole, |c| ColumnSel::Name(c.to_owned()));
    let mut spec = match src.intake {
        Some(recorded) => {
            let mut spec = recorded.clone();
            spec.inputs = src.inputs.to_vec();
            spec.one_read = None;
            // A run without a lookup column found each profile by its identifier.
            spec.lookup = spec.lookup.or_else(|| Some(spec.column.clone()));
            spec
        }
        None => {
            let mut spec = IntakeSpec {
                format: src.format,
                ..IntakeSpec::with_defaults(
                    src.inputs.to_vec(),
                    col(src.column),
                    KindSource::Fixed("any".into()),
                )
            };
            if plan.needs_lookup {
                spec.lookup = Some(col(src.lookup_column.or(src.column)));
            }
            spec
        }
    };
    // Only rows the run deleted can match a hash: nothing to validate.
    spec.validate = false;
    if !plan.needs_lookup {
        spec.lookup = None;
    }
    spec.lookup_by_value = spec.lookup.is_some();
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_is_hashed_once_per_way_of_reading_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ids.csv");
        std::fs::write(&path, "mpid\n101\n202\nAbC\n").expect("write");
        let key = [7u8; 32];
        let inputs = [path.clone()];
        let src = ValueSource {
            inputs: &inputs,
            column: Some("mpid"),
            lookup_column: None,
            format: None,
            intake: None,
            hashes: Default::default(),
        };
        let plan = LookupPlan {
            kind_of: &|_| None,
            needs_lookup: false,
            what: "MPIDs",
        };
        let has =
            |set: &HashSet128, v: &str| set.contains(xxh3_128(ledger::id_hmac(&key, v).as_bytes()));
        let first = input_hashes(&key, &src, &plan).expect("read");
        assert!(has(first, "101") && has(first, "202") && has(first, "AbC") && has(first, "abc"));
        assert!(!has(first, "303"));
        // Gone from disk: a second pick (a later --watch round) still has what was read.
        std::fs::remove_file(&path).expect("remove");
        let again = input_hashes(&key, &src, &plan).expect("kept, not read again");
        assert!(std::ptr::eq(first, again));
        // Read another way (with a lookup column), it is read afresh: and now fails.
        let lookup = LookupPlan {
            needs_lookup: true,
            ..plan
        };
        assert!(input_hashes(&key, &src, &lookup).is_err());
    }
}
