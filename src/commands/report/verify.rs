//! `report --verify`: the hash chain and the input digests, in words a reviewer can act on.

use crate::audit::{View, verify};
use crate::cli::{ReportArgs, ReportFormat};
use crate::exit::{self, Code, UserError};
use crate::printer::Printer;

pub(super) fn run(args: &ReportArgs, printer: &Printer) -> anyhow::Result<Code> {
    let f = std::fs::File::open(&args.ledger).map_err(|e| {
        UserError::usage(format!(
            "cannot open the ledger {}: {e}",
            args.ledger.display()
        ))
    })?;
    let chain = verify::chain(f)?;
    let view = View::open(&args.ledger)?;
    let headers: Vec<_> = view.runs.iter().map(|r| (r.line, &r.header)).collect();
    let inputs = verify::inputs(&headers, &args.inputs, args.ledger.parent())?;
    let inputs_ok = inputs.iter().all(|c| c.result != "mismatch");
    let ok = chain.intact() && inputs_ok;
    if args.format == ReportFormat::Json {
        let v = serde_json::json!({
            "ledger": args.ledger.display().to_string(),
            "intact": ok,
            "chain": chain,
            "inputs": inputs,
        });
        printer.json_pretty(&v)?;
    } else {
        printer.data(render_verify(&chain, &inputs))?;
    }
    Ok(exit::found(ok))
}

fn render_verify(chain: &verify::ChainReport, inputs: &[verify::InputCheck]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    match &chain.broken {
        None => {
            let _ = writeln!(
                s,
                "chain: intact, {} records in {} lines",
                chain.records, chain.lines
            );
            if let Some(h) = &chain.head {
                let _ = writeln!(
                    s,
                    "  head sha256 {h} (keep it with the ticket: it also vouches for the last line)"
                );
            }
        }
        Some(b) => {
            let _ = writeln!(
                s,
                "chain: BROKEN at line {} ({} record): prev should be {}, is {}",
                b.line,
                b.record_type,
                b.expected.as_deref().unwrap_or("null"),
                b.actual.as_deref().unwrap_or("null")
            );
            let _ = writeln!(s, "  {}", b.explanation);
        }
    }
    for n in &chain.torn_inside {
        let _ = writeln!(
            s,
            "  line {n}: torn write from a crash, followed by a new run or the end of the file (not tampering)"
        );
    }
    if let Some(n) = chain.torn_tail {
        let _ = writeln!(
            s,
            "  line {n}: torn tail: the last write was interrupted (a crash, not tampering)"
        );
    }
    for c in inputs {
        let what = match c.result {
            "ok" => "sha256 matches".to_owned(),
            "mismatch" => format!(
                "CHANGED: sha256 {} recorded (header line {}, run {}), {} now",
                c.expected,
                c.header_line,
                c.run_id,
                c.actual.as_deref().unwrap_or("?")
            ),
            "stdin" => "read from stdin; nothing to re-hash".to_owned(),
            _ => "not found; not checked (point --input at it)".to_owned(),
        };
        let shown = c.checked_path.as_deref().unwrap_or(&c.recorded_path);
        let _ = writeln!(s, "input {shown}: {what}");
    }
    s
}
