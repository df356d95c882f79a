//! The index of a group run: which ledger each target of `--group NAME` writes, beside the
//! input (`<input>.ledger.group-NAME.json`), so `status --group` and `report --group` find
//! them without credentials (a ledger's name carries a fingerprint of some vendors' keys).
//! It holds target names, vendors and paths: nothing personal.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exit::{self, Code, UserError};
use crate::printer::Printer;
use crate::settings::Target;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Member {
    pub target: String,
    pub vendor: String,
    pub ledger: PathBuf,
    /// The target's intake settings (an `IntakeSpec`), so `report --group` can tell a
    /// row this target rejected or found a duplicate from one it has not reached. Absent
    /// in indexes written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake: Option<serde_json::Value>,
}

impl Member {
    pub fn new(target: &Target, ledger: &Path, intake: &crate::input::IntakeSpec) -> Self {
        Self {
            target: target.name.clone(),
            vendor: target.vendor.id().to_owned(),
            ledger: ledger.to_owned(),
            intake: serde_json::to_value(intake).ok(),
        }
    }
}

/// A target's recorded intake, set to read the group's input as given now, with what its
/// ledger's latest run recorded of that input: what `report --group` replays and
/// `status --group` re-reads.
pub struct Replay {
    pub spec: crate::input::IntakeSpec,
    /// The latest run's inputs (path and SHA-256), one per file of `spec`.
    pub recorded: Vec<crate::ledger::InputFile>,
}

impl Replay {
    /// `None` when `m`'s intake cannot be replayed faithfully: none recorded (an index
    /// written before it was), one that does not parse, stdin, or a ledger whose latest run
    /// read another number of files.
    pub fn of(m: &Member, given: &[PathBuf], view: &crate::audit::View) -> Option<Replay> {
        let mut spec: crate::input::IntakeSpec = serde_json::from_value(m.intake.clone()?).ok()?;
        if given.len() == spec.inputs.len() {
            spec.inputs = given.to_vec();
        }
        if spec.inputs.iter().any(|p| p.as_os_str() == "-") {
            return None;
        }
        let recorded = view.runs.last()?.header.inputs.clone();
        (recorded.len() == spec.inputs.len()).then_some(Replay { spec, recorded })
    }

    /// Whether the files an intake read (`stats`) are, byte for byte, the ones recorded:
    /// only then do its row numbers and values speak for this target's ledger.
    pub fn same_input(&self, stats: &crate::input::IntakeStats) -> bool {
        stats.files.len() == self.recorded.len()
            && stats
                .files
                .iter()
                .zip(&self.recorded)
                .all(|(f, r)| f.sha256 == r.sha256)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Index {
    group: String,
    targets: Vec<Member>,
}

/// Where the index of `group` over `first_input` lives.
pub fn index_path(first_input: &Path, group: &str) -> PathBuf {
    let mut s = if first_input == Path::new("-") {
        std::ffi::OsString::from("cdp-purge-stdin")
    } else {
        first_input.as_os_str().to_owned()
    };
    s.push(format!(".ledger.group-{group}.json"));
    PathBuf::from(s)
}

/// Write (or rewrite: the same command resumes) the index before any target runs.
pub fn write_index(first_input: &Path, group: &str, members: &[Member]) -> anyhow::Result<()> {
    let path = index_path(first_input, group);
    let index = Index {
        group: group.to_owned(),
        targets: members.to_vec(),
    };
    let mut text = serde_json::to_string_pretty(&index)?;
    text.push('\n');
    // Through a temporary file: a crash leaves the old index or the new one, never half.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            UserError::usage(format!(
                "cannot write the group index {}: {e}",
                path.display()
            ))
        })?;
    Ok(())
}

/// The targets and ledgers of an earlier `delete --group group` over `first_input`.
pub fn read_index(first_input: &Path, group: &str) -> anyhow::Result<Vec<Member>> {
    let path = index_path(first_input, group);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UserError::usage(format!(
            "no record of a `delete --group {group}` over {}: cannot read {} ({e})",
            first_input.display(),
            path.display()
        ))
        .with_hint("give the same input file the group's `delete` read")
    })?;
    let index: Index = serde_json::from_str(&text)
        .map_err(|e| UserError::usage(format!("{} is not a group index: {e}", path.display())))?;
    if index.group != group {
        return Err(UserError::usage(format!(
            "{} records group `{}`, not `{group}`",
            path.display(),
            index.group
        ))
        .into());
    }
    Ok(index.targets)
}

/// One line per target, then the overall exit code (the most urgent): text on stdout, or
/// with `json` the text on stderr and one JSON line on stdout.
pub fn print_summary<'a>(
    printer: &Printer,
    json: bool,
    results: impl Iterator<Item = (&'a Member, Code)>,
) -> anyhow::Result<Code> {
    let results: Vec<(&Member, Code)> = results.collect();
    let overall = exit::most_urgent(results.iter().map(|(_, c)| *c));
    let mut s = String::from("targets:\n");
    for (m, code) in &results {
        s.push_str(&format!(
            "  {:<20} {:<12} exit {} ({})\n",
            m.target,
            m.vendor,
            *code as u8,
            code.describe()
        ));
    }
    s.push_str(&format!(
        "overall: exit {} ({})\n",
        overall as u8,
        overall.describe()
    ));
    if !json {
        printer.summary(&s)?;
        return Ok(overall);
    }
    printer.info(s.trim_end());
    let targets: Vec<_> = results
        .iter()
        .map(|(m, code)| {
            serde_json::json!({
                "target": m.target,
                "vendor": m.vendor,
                "ledger": m.ledger.display().to_string(),
                "exit_code": *code as u8,
            })
        })
        .collect();
    printer.json_line(&serde_json::json!({"targets": targets, "exit_code": overall as u8}))?;
    Ok(overall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_round_trips_beside_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("list.csv");
        let m = vec![Member {
            target: "amp".into(),
            vendor: "amplitude".into(),
            ledger: dir.path().join("list.csv.ledger.amplitude-1.jsonl"),
            intake: Some(serde_json::json!({"column": {"Name": "user_id"}})),
        }];
        write_index(&input, "erasure", &m).unwrap();
        assert!(index_path(&input, "erasure").ends_with("list.csv.ledger.group-erasure.json"));
        assert_eq!(read_index(&input, "erasure").unwrap(), m);
        assert!(read_index(&input, "other").is_err());
    }
}
