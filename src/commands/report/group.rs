//! `report --group NAME -i INPUT`: per input row, the state at every target of the group,
//! read from each target's ledger (found through the group's index). The evidence a
//! data-subject request needs: where each row was deleted, queued, not found or refused.
//! Rows are named by input file and row number; no identifier is printed.

use std::collections::{BTreeMap, HashMap};

use crate::audit::{self, View};
use crate::cli::{ReportArgs, ReportFormat};
use crate::commands::delete::group::{self, Member};
use crate::exit::{Code, UserError};
use crate::printer::Printer;

/// The cell of a target that recorded nothing for a row, when its intake cannot be replayed
/// (an index written before intake settings were recorded, stdin, an input that changed):
/// rejected at intake, a duplicate, or not reached yet, without saying which.
const NOT_SENT: &str = "not sent";
const NO_LEDGER: &str = "no ledger";
/// Kept by the target's intake, but nothing in its ledger: the run stopped first.
const NOT_YET: &str = "not sent yet (the run stopped before it; rerun the group's delete)";
/// Neither kept nor rejected by the target's intake: the same identifier as an earlier row.
const DUPLICATE: &str = "not sent: duplicate of an earlier row";

pub fn run(name: &str, args: &ReportArgs, printer: &Printer) -> anyhow::Result<Code> {
    let Some(input) = args.inputs.first() else {
        return Err(UserError::usage(format!(
            "report --group {name} needs the input the group's `delete` read: -i FILE"
        ))
        .into());
    };
    let members = group::read_index(input, name)?;
    // States and input names are interned: a row costs a few bytes per target.
    let mut states: Vec<String> = vec![
        NOT_SENT.to_owned(),
        NO_LEDGER.to_owned(),
        NOT_YET.to_owned(),
        DUPLICATE.to_owned(),
    ];
    let mut state_ids: HashMap<String, u16> = HashMap::new();
    let mut inputs: Vec<String> = Vec::new();
    let mut rows: BTreeMap<(u32, u64), Vec<u16>> = BTreeMap::new();
    let n = members.len();
    let mut counts: Vec<BTreeMap<u16, u64>> = vec![BTreeMap::new(); n];
    let mut absent = vec![false; n];
    for (k, m) in members.iter().enumerate() {
        if !m.ledger.exists() {
            absent[k] = true;
            continue;
        }
        let view = View::open(&m.ledger)?;
        let jobs = view.job_states();
        let profiles = view.profile_states();
        view.for_each_row(&mut |r| {
            let vendor = view.runs[r.run].vendor();
            let (state, _) = audit::view::row_state(&r, vendor, &jobs, &profiles);
            let next = u16::try_from(states.len()).unwrap_or(u16::MAX);
            let id = *state_ids.entry(state.clone()).or_insert_with(|| {
                states.push(state);
                next
            });
            let file = match inputs.iter().position(|i| *i == r.input) {
                Some(i) => i,
                None => {
                    inputs.push(r.input.clone());
                    inputs.len() - 1
                }
            };
            let cells = rows
                .entry((u32::try_from(file).unwrap_or(u32::MAX), r.row))
                .or_insert_with(|| vec![0; n]);
            cells[k] = id;
            Ok(())
        })?;
    }
    // Why a target sent nothing for a row: its own intake, replayed over the same input.
    let mut replayed = vec![false; n];
    for (k, m) in members.iter().enumerate() {
        if absent[k] {
            continue;
        }
        let mut intern = |s: String| -> u16 {
            let next = u16::try_from(states.len()).unwrap_or(u16::MAX);
            *state_ids.entry(s.clone()).or_insert_with(|| {
                states.push(s);
                next
            })
        };
        replayed[k] = replay(m, &args.inputs, n, k, &mut rows, &mut inputs, &mut intern)?;
    }
    for cells in rows.values_mut() {
        for (k, c) in cells.iter_mut().enumerate() {
            // Every row the replayed intake read was kept, rejected or a duplicate.
            if replayed[k] && *c == 0 {
                *c = 3;
            }
            if absent[k] {
                *c = 1;
            }
            *counts[k].entry(*c).or_default() += 1;
        }
    }
    match args.format {
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(printer.stdout_writer());
            let mut head = vec!["input_file".to_owned(), "row".to_owned()];
            head.extend(members.iter().map(|m| m.target.clone()));
            w.write_record(&head)?;
            for ((file, row), cells) in &rows {
                let mut rec = vec![
                    crate::output::csv_cell(&inputs[*file as usize]).into_owned(),
                    row.to_string(),
                ];
                rec.extend(cells.iter().map(|c| states[*c as usize].clone()));
                w.write_record(&rec)?;
            }
            w.flush()?;
        }
        ReportFormat::Json => {
            let rows: Vec<_> = rows
                .iter()
                .map(|((file, row), cells)| {
                    let at: serde_json::Map<String, serde_json::Value> = members
                        .iter()
                        .zip(cells)
                        .map(|(m, c)| (m.target.clone(), states[*c as usize].clone().into()))
                        .collect();
                    serde_json::json!({
                        "input_file": inputs[*file as usize],
                        "row": row,
                        "states": at,
                    })
                })
                .collect();
            printer.json_line(&serde_json::json!({
                "group": name,
                "targets": members,
                "rows": rows,
            }))?;
        }
        ReportFormat::Text => {
            printer.data(text(name, &members, &counts, &states, rows.len()))?;
        }
    }
    Ok(Code::Success)
}

/// Replay target `k`'s intake over `inputs` and mark the rows it recorded nothing for:
/// rejected (reason and column) or kept but not reached. False (nothing marked) when it
/// cannot be replayed faithfully: no intake recorded, stdin, or an input whose SHA-256 is
/// not the one the target's latest run recorded.
fn replay(
    m: &Member,
    given: &[std::path::PathBuf],
    n: usize,
    k: usize,
    rows: &mut BTreeMap<(u32, u64), Vec<u16>>,
    inputs: &mut Vec<String>,
    intern: &mut dyn FnMut(String) -> u16,
) -> anyhow::Result<bool> {
    let view = View::open(&m.ledger)?;
    let Some(replay) = group::Replay::of(m, given, &view) else {
        return Ok(false);
    };
    let recorded = &replay.recorded;
    // Marks are collected first and applied only once the digests match; rows this target
    // recorded need none, so only what the report will print is held.
    let recorded_here = |file: u32, row: u64| {
        let name = recorded.get(file as usize).map(|f| f.path.as_str());
        inputs
            .iter()
            .position(|i| Some(i.as_str()) == name)
            .and_then(|i| rows.get(&(u32::try_from(i).unwrap_or(u32::MAX), row)))
            .is_some_and(|cells| cells[k] != 0)
    };
    let mut kept: Vec<(u32, u64)> = Vec::new();
    let mut rejected: Vec<((u32, u64), String)> = Vec::new();
    let stats = crate::input::run(
        &replay.spec,
        &mut |item| {
            if !recorded_here(item.file, item.row) {
                kept.push((item.file, item.row));
            }
            Ok(())
        },
        &mut |r| {
            rejected.push((
                (r.file, r.row),
                format!("rejected: {} ({})", r.reason.code(), r.column),
            ));
            Ok(())
        },
    );
    if !stats.is_ok_and(|stats| replay.same_input(&stats)) {
        return Ok(false);
    }
    let marks = kept
        .into_iter()
        .map(|at| (at, None))
        .chain(rejected.into_iter().map(|(at, why)| (at, Some(why))));
    for ((file, row), why) in marks {
        let Some(name) = recorded.get(file as usize).map(|f| &f.path) else {
            continue;
        };
        let file = match inputs.iter().position(|i| i == name) {
            Some(i) => i,
            None => {
                inputs.push(name.clone());
                inputs.len() - 1
            }
        };
        let cells = rows
            .entry((u32::try_from(file).unwrap_or(u32::MAX), row))
            .or_insert_with(|| vec![0; n]);
        if cells[k] == 0 {
            cells[k] = why.map_or(2, &mut *intern);
        }
    }
    Ok(true)
}

fn text(
    name: &str,
    members: &[Member],
    counts: &[BTreeMap<u16, u64>],
    states: &[String],
    rows: usize,
) -> String {
    let mut s = format!("group {name}: {rows} input rows recorded by at least one target\n");
    for (m, c) in members.iter().zip(counts) {
        let parts: Vec<String> = c
            .iter()
            .map(|(id, n)| format!("{} {n}", states[*id as usize]))
            .collect();
        s.push_str(&format!(
            "  {:<20} {:<12} {}\n",
            m.target,
            m.vendor,
            parts.join(", ")
        ));
    }
    s.push_str("per row: --csv (one column per target) or --json\n");
    s
}
