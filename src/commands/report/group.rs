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

/// The cell of a target that recorded nothing for a row: rejected at intake (its column
/// was empty or invalid there), a duplicate, or not reached yet.
const NOT_SENT: &str = "not sent";
const NO_LEDGER: &str = "no ledger";

pub fn run(name: &str, args: &ReportArgs, printer: &Printer) -> anyhow::Result<Code> {
    let Some(input) = args.inputs.first() else {
        return Err(UserError::usage(format!(
            "report --group {name} needs the input the group's `delete` read: -i FILE"
        ))
        .into());
    };
    let members = group::read_index(input, name)?;
    // States and input names are interned: a row costs a few bytes per target.
    let mut states: Vec<String> = vec![NOT_SENT.to_owned(), NO_LEDGER.to_owned()];
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
    for cells in rows.values_mut() {
        for (k, c) in cells.iter_mut().enumerate() {
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
