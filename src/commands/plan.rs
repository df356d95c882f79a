//! `cdp-purge plan`: read, clean and batch exactly as a real run would; send nothing.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::batch::{BatchCounter, Item};
use crate::cli::{GlobalArgs, InputArgs, PlanArgs, VendorArgs};
use crate::config;
use crate::exit::{Code, UserError};
use crate::input::{self, IntakeSpec, IntakeStats, Reject};
use crate::printer::Printer;
use crate::settings::{self, Target};
use crate::vendor::Quota;

/// What a run would do.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub vendor: &'static str,
    pub target: String,
    #[serde(flatten)]
    pub intake: IntakeStats,
    pub batches: u64,
    pub requests: u64,
    pub batch_size: usize,
    pub quota: Quota,
    /// Seconds at the quota (None when the vendor limits only concurrency).
    pub estimated_seconds: Option<f64>,
}

/// Writes the `--rejects` CSV.
pub struct RejectsWriter {
    w: csv::Writer<std::io::BufWriter<std::fs::File>>,
    include_values: bool,
    names: Vec<String>,
}

impl RejectsWriter {
    pub fn create(
        path: &Path,
        include_values: bool,
        inputs: &[std::path::PathBuf],
    ) -> anyhow::Result<Self> {
        // With values it holds personal data: owner-only.
        let f = if include_values {
            crate::output::create_private(path)
        } else {
            std::fs::File::create(path)
        };
        let f = f.map_err(|e| {
            UserError::usage(format!(
                "cannot create rejects file {}: {e}",
                path.display()
            ))
        })?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(f));
        let mut header = vec!["file", "row", "column", "reason"];
        if include_values {
            header.push("value");
        }
        w.write_record(&header)?;
        Ok(Self {
            w,
            include_values,
            names: inputs.iter().map(|p| p.display().to_string()).collect(),
        })
    }

    pub fn write(&mut self, r: &Reject) -> anyhow::Result<()> {
        let file = self
            .names
            .get(r.file as usize)
            .map(String::as_str)
            .unwrap_or("?");
        use crate::output::csv_cell;
        let row = r.row.to_string();
        let reason = r.reason.to_string();
        let mut rec = vec![
            csv_cell(file),
            row.as_str().into(),
            csv_cell(&r.column),
            reason.as_str().into(),
        ];
        if self.include_values {
            rec.push(csv_cell(r.raw.as_deref().unwrap_or("")));
        }
        self.w
            .write_record(rec.iter().map(|c| c.as_bytes()))
            .context("writing the rejects file")?;
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.w.flush().context("writing the rejects file")?;
        Ok(())
    }
}

/// Run intake and batching, counting everything; writes `--rejects` if asked.
pub fn compute(target: &Target, spec: &IntakeSpec, input: &InputArgs) -> anyhow::Result<Plan> {
    count(target, spec, input, None)
}

/// [`compute`], batching only the identifiers `keep` accepts (`delete` leaves out those a
/// ledger already settled for its destination). The batches are counted, not made: the
/// same number [`crate::batch::Batcher`] would make, without their items or hashes.
pub fn compute_with(
    target: &Target,
    spec: &IntakeSpec,
    input: &InputArgs,
    keep: &mut dyn FnMut(&Item) -> bool,
) -> anyhow::Result<Plan> {
    count(target, spec, input, Some(keep))
}

/// [`compute_with`], keeping every identifier when `keep` is `None` (then no item is made).
fn count(
    target: &Target,
    spec: &IntakeSpec,
    input: &InputArgs,
    keep: Option<&mut dyn FnMut(&Item) -> bool>,
) -> anyhow::Result<Plan> {
    let info = target.vendor.info();
    if let Some(p) = &input.rejects {
        input::refuse_outputs_over_inputs(&spec.inputs, &[("--rejects", p)])?;
    }
    let mut rejects = match &input.rejects {
        Some(p) => Some(RejectsWriter::create(
            p,
            input.rejects_include_values,
            &spec.inputs,
        )?),
        None => None,
    };
    let mut counter = BatchCounter::new(target.batch_size, info.one_kind_per_request);
    let stats = input::run_counted(spec, &mut counter, keep, &mut |r| match rejects.as_mut() {
        Some(w) => w.write(r),
        None => Ok(()),
    })?;
    if let Some(w) = rejects {
        w.finish()?;
    }
    let batches = counter.batches();
    Ok(Plan {
        vendor: info.id,
        target: target.name.clone(),
        requests: batches,
        batches,
        batch_size: target.batch_size,
        quota: info.quota,
        estimated_seconds: estimate(&info.quota, batches, stats.kept),
        intake: stats,
    })
}

/// Time to send at the quota: the binding one of the two budgets.
pub fn estimate(q: &Quota, requests: u64, items: u64) -> Option<f64> {
    // A quota over a long window is not a pace: a run that fits goes out at once, and one
    // that does not is refused (see `long_window`).
    let short = |r: &crate::vendor::Rate| r.per < crate::ledger::window::LONG_WINDOW;
    let by_req = q
        .requests
        .filter(short)
        .map(|r| requests as f64 / r.per_sec());
    let by_items = q.items.filter(short).map(|r| items as f64 / r.per_sec());
    match (by_req, by_items) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

pub fn run(args: &PlanArgs, global: &GlobalArgs, printer: &Printer) -> anyhow::Result<Code> {
    run_with(&args.input, &args.vendor, args.json, global, printer)
}

/// Shared by `plan` and `delete --dry-run`. With several targets, one plan per target (one
/// JSON object per line with `--json`), each with its own rejects file (`rejects.NAME.csv`).
pub fn run_with(
    input: &InputArgs,
    vendor: &VendorArgs,
    json: bool,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<Code> {
    let resolved = settings::resolve_all(vendor, input, None, global.config.as_deref(), false)?;
    let several = resolved.len() > 1;
    for (i, r) in resolved.iter().enumerate() {
        let plan = if several && let Some(p) = &input.rejects {
            let mut input = input.clone();
            input.rejects = Some(config::per_target_path(p, &r.target.name));
            compute(&r.target, &r.intake, &input)?
        } else {
            compute(&r.target, &r.intake, input)?
        };
        // A closed stdout stops the printing, not the checks after it.
        if json {
            printer.json_line(&plan)?;
        } else {
            let sep = if i > 0 { "\n" } else { "" };
            printer.summary(&format!("{sep}{}", render(&plan)))?;
        }
        input::check_not_empty(&plan.intake, input.allow_empty)?;
    }
    Ok(Code::Success)
}

fn fmt_duration(secs: f64) -> String {
    humantime::format_duration(Duration::from_secs(secs.ceil() as u64)).to_string()
}

/// The plan as text.
pub fn render(p: &Plan) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "plan for {} (nothing sent)", p.target);
    for f in &p.intake.files {
        let _ = writeln!(
            s,
            "  input        {} ({} rows, sha256 {}…)",
            f.path,
            f.rows,
            &f.sha256[..f.sha256.len().min(12)]
        );
    }
    let _ = writeln!(s, "  rows read    {}", p.intake.rows_read);
    let _ = writeln!(s, "  kept         {}", p.intake.kept);
    let _ = writeln!(s, "  rejected     {}", p.intake.rejected_total());
    for (reason, n) in &p.intake.rejected {
        let _ = writeln!(s, "    {reason:<14} {n}");
    }
    let _ = writeln!(s, "  duplicates   {}", p.intake.duplicates);
    let _ = writeln!(
        s,
        "  batches      {} (up to {} identifiers each)",
        p.batches, p.batch_size
    );
    let _ = writeln!(s, "  requests     {}", p.requests);
    let _ = writeln!(s, "  quota        {}", p.quota);
    for (rate, n, unit) in [
        (p.quota.items, p.intake.kept, "identifiers"),
        (p.quota.requests, p.requests, "requests"),
    ] {
        let Some(r) = rate.filter(|r| r.per >= crate::ledger::window::LONG_WINDOW) else {
            continue;
        };
        let line = if n > u64::from(r.count) {
            format!(
                "{n} {unit} exceed one window of {r}: delete refuses it; split the list, or set the account's terms with --max-per-window"
            )
        } else {
            format!(
                "{n} of {r} {unit}; delete also counts what the ledger's earlier runs sent in the window, and refuses a run that would exceed it"
            )
        };
        let _ = writeln!(s, "  window       {line}");
    }
    match p.estimated_seconds {
        Some(secs) => {
            let _ = writeln!(s, "  estimate     {} at the quota", fmt_duration(secs));
        }
        None => {
            let n = p.quota.in_flight.unwrap_or(1).max(1);
            let secs = p.requests as f64 / f64::from(n);
            let _ = writeln!(
                s,
                "  estimate     about {} at 1 s per request, {n} in flight",
                fmt_duration(secs)
            );
        }
    }
    s
}
