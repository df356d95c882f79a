//! `report --proof`: for a data-subject-request ticket, one section per person (an input row,
//! or a `--lookup` value), and in it, per destination ledger, what was sent and when, the
//! vendor's IDs, every later check and its answer, and the ledger's chain head at each step.
//! The raw identifier appears only when the user gave it (`--lookup`).

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::audit::proof::{self, ItemProof, LedgerProof, Wanted};
use crate::audit::{self};
use crate::cli::{ReportArgs, ReportFormat};
use crate::exit::{self, Code, UserError};
use crate::printer::Printer;

/// One person's proof across the ledgers.
#[derive(Debug, Serialize)]
struct Section<'a> {
    /// `ROW` or `FILE:ROW` as given, or `lookup N`.
    asked: String,
    /// The value given with `--lookup` (the user's own input; never read from a ledger).
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<&'a str>,
    destinations: Vec<Destination<'a>>,
}

#[derive(Debug, Serialize)]
struct Destination<'a> {
    ledger: &'a str,
    ledger_lines: u64,
    /// What the whole ledger chains to now (`report --verify` checks the chain).
    ledger_chain_head: Option<&'a str>,
    #[serde(flatten)]
    item: &'a ItemProof,
}

/// A `--proof` value: `ROW` or `FILE:ROW`.
fn parse_row(s: &str) -> anyhow::Result<(Option<String>, u64)> {
    let (file, row) = match s.rsplit_once(':') {
        Some((f, r)) => (Some(f.to_owned()), r),
        None => (None, s),
    };
    match row.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok((file, n)),
        _ => Err(UserError::usage(format!(
            "--proof {s:?}: expected an input row number (as `report --csv` shows it) or FILE:ROW"
        ))
        .into()),
    }
}

pub fn run(
    args: &ReportArgs,
    rows: &[String],
    lookups: &[String],
    printer: &Printer,
) -> anyhow::Result<Code> {
    if rows.is_empty() && lookups.is_empty() {
        return Err(UserError::usage("--proof needs input rows or --lookup VALUE")
            .with_hint("e.g. `report --proof 12 --ledger L1 --ledger L2`, or `--proof --lookup ann@example.com`")
            .into());
    }
    let rows: Vec<(Option<String>, u64)> = rows
        .iter()
        .map(|r| parse_row(r))
        .collect::<anyhow::Result<_>>()?;
    // Each ledger has its own key: a lookup is hashed once per ledger.
    let mut proofs: Vec<(LedgerProof, Vec<Vec<String>>)> = Vec::new();
    for path in &args.ledgers {
        audit::require_ledger(path)?;
        let hashes: Vec<Vec<String>> = if lookups.is_empty() {
            Vec::new()
        } else {
            let key = audit::existing_key(path)?;
            lookups
                .iter()
                .map(|v| audit::lookup_hashes(&key, v))
                .collect()
        };
        let wanted = Wanted {
            rows: rows.clone(),
            hashes: hashes.iter().flatten().cloned().collect(),
        };
        proofs.push((proof::prove(path, &wanted)?, hashes));
    }

    let mut sections: Vec<Section<'_>> = Vec::new();
    for (file, row) in &rows {
        let mut dests = Vec::new();
        for (p, _) in &proofs {
            for item in &p.items {
                let same_file = file.as_deref().is_none_or(|f| {
                    item.input == f
                        || std::path::Path::new(&item.input).file_name()
                            == std::path::Path::new(f).file_name()
                });
                if item.row == *row && same_file {
                    dests.push(destination(p, item));
                }
            }
        }
        sections.push(Section {
            asked: match file {
                Some(f) => format!("{f}:{row}"),
                None => format!("row {row}"),
            },
            identifier: None,
            destinations: dests,
        });
    }
    for (n, value) in lookups.iter().enumerate() {
        let mut dests = Vec::new();
        for (p, hashes) in &proofs {
            for item in &p.items {
                if hashes[n].contains(&item.id_hmac) {
                    dests.push(destination(p, item));
                }
            }
        }
        sections.push(Section {
            asked: format!("lookup {}", n + 1),
            identifier: Some(value),
            destinations: dests,
        });
    }
    let all_found = sections.iter().all(|s| !s.destinations.is_empty());
    let mut out = printer.stdout_writer();
    if args.format == ReportFormat::Json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "proofs": sections }))?
        )?;
    } else {
        out.write_all(render(&sections).as_bytes())?;
    }
    out.flush()?;
    Ok(exit::found(all_found))
}

fn destination<'a>(p: &'a LedgerProof, item: &'a ItemProof) -> Destination<'a> {
    Destination {
        ledger: &p.ledger,
        ledger_lines: p.lines,
        ledger_chain_head: p.chain_head.as_deref(),
        item,
    }
}

fn render(sections: &[Section<'_>]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for sec in sections {
        let _ = writeln!(
            s,
            "proof for {}{}: {} destination(s)",
            sec.asked,
            sec.identifier
                .map(|v| format!(" ({v}, as given)"))
                .unwrap_or_default(),
            sec.destinations.len()
        );
        if sec.destinations.is_empty() {
            let _ = writeln!(s, "  no row in the ledger(s) given");
        }
        for d in &sec.destinations {
            let i = d.item;
            let _ = writeln!(
                s,
                "\n  destination {} ({})",
                i.destination.as_deref().unwrap_or(&i.vendor),
                i.vendor
            );
            let _ = writeln!(
                s,
                "    ledger      {} ({} lines, chain head {})",
                d.ledger,
                d.ledger_lines,
                d.ledger_chain_head.unwrap_or("-")
            );
            let account: Vec<String> = i.account.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(s, "    endpoint    {} ({})", i.endpoint, account.join(", "));
            let _ = writeln!(
                s,
                "    row         {} row {}; id_hmac {} (keyed hash)",
                i.input, i.row, i.id_hmac
            );
            let _ = writeln!(s, "    run         {}", i.run_id);
            for a in &i.sent {
                let what = if a.phase == "sent" {
                    format!(
                        "sent        {} batch {} attempt {} ({} identifiers)",
                        a.sent_at, a.batch, a.attempt, a.items
                    )
                } else {
                    format!(
                        "answered    {} {}{}{}",
                        a.received_at.as_deref().unwrap_or("-"),
                        match (a.http_status, &a.error) {
                            (Some(st), _) => format!("HTTP {st}"),
                            (None, Some(e)) => format!("no answer ({e})"),
                            (None, None) => "no answer".into(),
                        },
                        a.decision
                            .as_deref()
                            .map(|d| format!(", {d}"))
                            .unwrap_or_default(),
                        ids(&a.request_ids)
                    )
                };
                let _ = writeln!(
                    s,
                    "    {what}  [line {}, chain head {}]",
                    a.at.line, a.at.chain_head
                );
            }
            let _ = writeln!(
                s,
                "    outcome     {}{}{}  [line {}, chain head {}]",
                i.outcome,
                i.vendor_id
                    .as_deref()
                    .map(|v| format!("; vendor id {v}"))
                    .unwrap_or_default(),
                i.message
                    .as_deref()
                    .map(|m| format!("; {m}"))
                    .unwrap_or_default(),
                i.outcome_at.line,
                i.outcome_at.chain_head
            );
            if i.checks.is_empty() {
                let _ = writeln!(s, "    checks      none yet (`cdp-purge status`)");
            }
            for c in &i.checks {
                // The ledger's `error` is an answer that proved nothing: say so, and why
                // (the reason never holds the identifier).
                let (state, why) = match c.state.as_str() {
                    "error" => (
                        crate::audit::view::UNKNOWN_CHECK,
                        c.message.as_deref().map(|m| format!("; {m}")),
                    ),
                    other => (other, None),
                };
                let _ = writeln!(
                    s,
                    "    checked     {} {}{}{}{}{}  [line {}, chain head {}]",
                    c.checked_at,
                    state,
                    c.vendor_state
                        .as_deref()
                        .filter(|v| *v != c.state)
                        .map(|v| format!(" ({v})"))
                        .unwrap_or_default(),
                    c.http_status
                        .map(|h| format!(", HTTP {h}"))
                        .unwrap_or_default(),
                    c.recheck_pass
                        .as_deref()
                        .map(|p| format!(", re-check pass {p}"))
                        .unwrap_or_default(),
                    why.unwrap_or_default(),
                    c.at.line,
                    c.at.chain_head
                );
            }
        }
        s.push('\n');
    }
    s
}

fn ids(m: &BTreeMap<String, String>) -> String {
    if m.is_empty() {
        return String::new();
    }
    let v: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("; request ids {}", v.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbers_or_file_and_number() {
        assert_eq!(parse_row("12").unwrap(), (None, 12));
        assert_eq!(
            parse_row("in/users.csv:7").unwrap(),
            (Some("in/users.csv".into()), 7)
        );
        assert!(parse_row("0").is_err());
        assert!(parse_row("x").is_err());
        assert!(parse_row("users.csv:").is_err());
    }
}
