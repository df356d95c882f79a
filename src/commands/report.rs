//! `cdp-purge report`: what a ledger proves, per run, per kept input row (CSV for a
//! data-subject-request ticket) or per person (`--lookup`); `--verify` checks it was not
//! altered. Read only; never prints an identifier.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use serde::Serialize;

use crate::audit::view::Completion;
use crate::audit::{self, Row, View};
use crate::cli::{GlobalArgs, ReportArgs, ReportFormat};
use crate::exit::{self, Code, UserError};
use crate::ledger::StatusCheck;
use crate::printer::{Printer, StdoutWriter};

/// One run, as reported. Fields in alphabetical order: the JSON report has always listed
/// them so (it was built through a sorted map).
#[derive(Debug, Serialize)]
struct RunReport<'a> {
    account: BTreeMap<String, String>,
    acknowledged: u64,
    /// Acknowledged items whose deletion is known to have completed, and the earliest and
    /// latest completion times (the vendor's where it gives them, else when `status` saw it).
    completed: u64,
    duplicates: u64,
    /// completed, interrupted, fatal, ledger_error; `unfinished` without an end record.
    ended: String,
    ended_at: Option<String>,
    endpoint: String,
    failed: BTreeMap<String, u64>,
    /// The vendor's (or the engine's) message per failure, with counts.
    failure_reasons: BTreeMap<String, u64>,
    first_completed_at: Option<String>,
    inputs: Vec<InputReport>,
    kept: u64,
    last_completed_at: Option<String>,
    rejected: u64,
    /// Absent for ledgers written before reasons were recorded.
    rejected_by_reason: Option<BTreeMap<String, u64>>,
    requests: u64,
    retries: u64,
    rows_read: u64,
    run_id: String,
    /// Items with a final outcome in this run.
    sent: u64,
    started_at: String,
    /// Last known state of this run's acknowledged items.
    states: BTreeMap<String, u64>,
    throttled: u64,
    vendor: String,
    /// Every distinct vendor ID, read from the ledger while the JSON is written (millions
    /// for a Lytics run: they are never all held at once).
    vendor_ids: VendorIds<'a>,
}

/// A run's vendor IDs: how many, the first few, and where to read all of them.
#[derive(Debug)]
struct VendorIds<'a> {
    view: &'a View,
    run: usize,
    count: u64,
    first: &'a [String],
}

impl Serialize for VendorIds<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = s.serialize_seq(Some(self.count as usize))?;
        let mut failed: Option<S::Error> = None;
        let read = self.view.for_each_vendor_id(self.run, &mut |id| {
            seq.serialize_element(id).map_err(|e| {
                let msg = e.to_string();
                failed = Some(e);
                anyhow::anyhow!(msg)
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(|e| S::Error::custom(format!("{e:#}")))?;
        seq.end()
    }
}

#[derive(Debug, Serialize)]
struct InputReport {
    path: String,
    rows: u64,
    sha256: String,
}

/// Fields in alphabetical order, as in [`RunReport`].
#[derive(Debug, Serialize)]
struct Overall {
    finished: bool,
    notes: Vec<&'static str>,
    outcomes: BTreeMap<String, u64>,
    requests: u64,
    retries: u64,
    /// Kept rows the runs planned (each input set once).
    rows_kept: u64,
    /// Distinct kept input rows with a recorded outcome.
    rows_recorded: u64,
    runs: usize,
    states: BTreeMap<String, u64>,
    throttled: u64,
}

/// What the final rows settled by one run add up to.
#[derive(Debug, Default)]
struct RunRows<'a> {
    states: BTreeMap<String, u64>,
    completed: u64,
    first: Option<&'a str>,
    last: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct CsvRow<'a> {
    vendor: &'a str,
    // Text from the command line or a vendor's answer: defused in `--csv`.
    input_file: Cow<'a, str>,
    row: u64,
    id_hmac: &'a str,
    batch: String,
    outcome: &'a str,
    vendor_id: Cow<'a, str>,
    state: Cow<'a, str>,
    when: &'a str,
    run_id: &'a str,
    /// When the deletion completed: the vendor's time (Hightouch `reprocessedAt`) or, for
    /// vendors that give none (Lytics), when `status` first saw it done.
    completed_at: Cow<'a, str>,
    /// `vendor` or `observed`: where `completed_at` comes from.
    completed_source: &'a str,
    /// The vendor's run that completed it (Hightouch `reprocessedRunId`).
    completed_by: Cow<'a, str>,
    /// When `status` last looked at it (`--verify`, `--recheck`, polling); empty if never.
    last_checked_at: &'a str,
}

impl CsvRow<'_> {
    /// For a CSV file a spreadsheet may open: no cell runs as a formula.
    fn defused(mut self) -> Self {
        for cell in [
            &mut self.input_file,
            &mut self.vendor_id,
            &mut self.state,
            &mut self.completed_at,
            &mut self.completed_by,
        ] {
            if let Cow::Owned(safe) = crate::output::csv_cell(cell) {
                *cell = Cow::Owned(safe);
            }
        }
        self
    }
}

mod group;
mod proof;
mod verify;

pub fn run(args: &ReportArgs, _global: &GlobalArgs, printer: &Printer) -> anyhow::Result<Code> {
    if let Some(name) = &args.group {
        return group::run(name, args, printer);
    }
    if !args.verify && !args.inputs.is_empty() {
        return Err(UserError::usage(
            "-i/--input is for --verify (the inputs to hash) or --group (the group's input)",
        )
        .into());
    }
    if let Some(rows) = &args.proof {
        if args.verify || args.format == ReportFormat::Csv {
            return Err(UserError::usage("--proof prints text or --json").into());
        }
        return proof::run(args, rows, &read_lookups(args)?, printer);
    }
    if args.ledgers.len() > 1 {
        return Err(
            UserError::usage("several --ledger are read only with --proof")
                .with_hint("run `report` once per ledger")
                .into(),
        );
    }
    audit::require_ledger(&args.ledger)?;
    if args.verify {
        return verify::run(args, printer);
    }
    let view = View::open(&args.ledger)?;
    tracing::info!(
        "{}: {} run(s), {} line(s) unreadable",
        args.ledger.display(),
        view.runs.len(),
        view.torn
    );
    let jobs = view.job_states();
    let profiles = view.profile_states();
    let done = view.completions();
    let state_of = |r: &Row| audit::view::row_state(r, view.runs[r.run].vendor(), &jobs, &profiles);

    let kept = view.kept_planned();
    let recorded = view.row_count();
    if recorded < kept {
        let unfinished: Vec<&str> = view
            .runs
            .iter()
            .filter(|r| r.end.is_none())
            .map(|r| r.header.run_id.as_str())
            .collect();
        printer.warn(format!(
            "the ledger records {recorded} of {kept} kept rows: the deletion did not \
             finish{}; rerun the same `delete` command with this ledger to resume",
            if unfinished.is_empty() {
                String::new()
            } else {
                format!(" (runs without an end record: {})", unfinished.join(", "))
            }
        ));
    }
    if view.torn > 0 {
        printer.info(format!(
            "cdp-purge: note: {} unreadable line(s) skipped (a crash mid-write); `report --verify` tells a crash from an edit",
            view.torn
        ));
    }

    let lookups = read_lookups(args)?;
    if !lookups.is_empty() {
        let key = audit::existing_key(&args.ledger)?;
        let hashes: Vec<Vec<String>> = lookups
            .iter()
            .map(|v| audit::lookup_hashes(&key, v))
            .collect();
        let wanted: HashSet<&str> = hashes.iter().flatten().map(String::as_str).collect();
        // Only the rows asked for are kept: one read, whatever the ledger's size.
        let mut rows: Vec<Row> = Vec::new();
        view.for_each_row(&mut |r| {
            if wanted.contains(r.id_hmac.as_str()) {
                rows.push(r);
            }
            Ok(())
        })?;
        rows.sort_by(|a, b| {
            (&a.input, a.row, view.runs[a.run].vendor()).cmp(&(
                &b.input,
                b.row,
                view.runs[b.run].vendor(),
            ))
        });
        let states: Vec<_> = rows.iter().map(&state_of).collect();
        let mut all_found = true;
        let mut groups = Vec::new();
        let mut hits = Vec::new();
        for (n, hs) in hashes.iter().enumerate() {
            let found: Vec<usize> = (0..rows.len())
                .filter(|&i| hs.contains(&rows[i].id_hmac))
                .collect();
            if found.is_empty() {
                all_found = false;
            }
            let shown = found
                .first()
                .map(|&i| rows[i].id_hmac.clone())
                .unwrap_or_else(|| hs[0].clone());
            hits.extend(found.iter().copied());
            groups.push((n + 1, shown, found));
        }
        if args.format != ReportFormat::Csv {
            print_lookups(printer, args.format, &groups, &rows, &states, &view)?;
            return Ok(exit::found(all_found));
        }
        let mut seen = HashSet::new();
        hits.retain(|i| seen.insert(*i));
        let mut w = csv_writer(printer, hits.is_empty())?;
        for i in hits {
            w.serialize(csv_row(&view, &rows[i], &states[i], &done).defused())?;
        }
        w.flush()?;
        return Ok(exit::found(all_found));
    }

    match args.format {
        ReportFormat::Csv => {
            let mut w = csv_writer(printer, recorded == 0)?;
            let written = view.for_each_row_sorted(&mut |r| {
                // `report | head`: the reader went away, so nothing is left to do.
                if printer.stdout_closed() {
                    return Err(Closed.into());
                }
                let st = state_of(&r);
                w.serialize(csv_row(&view, &r, &st, &done).defused())?;
                Ok(())
            });
            match written {
                Err(e) if e.is::<Closed>() => {}
                r => r?,
            }
            w.flush()?;
        }
        ReportFormat::Json | ReportFormat::Text => {
            let mut per_run: Vec<RunRows<'_>> =
                view.runs.iter().map(|_| RunRows::default()).collect();
            let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
            let mut states: BTreeMap<String, u64> = BTreeMap::new();
            view.for_each_row(&mut |r| {
                *outcomes.entry(r.status.code().to_owned()).or_default() += 1;
                if !r.status.is_success() {
                    return Ok(());
                }
                let (state, _) = state_of(&r);
                let acc = &mut per_run[r.run];
                if let Some(c) = completion(&r, &done) {
                    acc.completed += 1;
                    acc.first = Some(acc.first.map_or(c.at, |f| f.min(c.at)));
                    acc.last = Some(acc.last.map_or(c.at, |l| l.max(c.at)));
                }
                *acc.states.entry(state.clone()).or_default() += 1;
                *states.entry(state).or_default() += 1;
                Ok(())
            })?;
            let runs: Vec<RunReport<'_>> = per_run
                .into_iter()
                .enumerate()
                .map(|(i, acc)| run_report(&view, i, acc))
                .collect();
            let overall = overall(&view, recorded, outcomes, states, kept);
            if args.format == ReportFormat::Json {
                #[derive(Serialize)]
                struct Doc<'a> {
                    ledger: String,
                    overall: &'a Overall,
                    runs: &'a [RunReport<'a>],
                }
                let doc = Doc {
                    ledger: args.ledger.display().to_string(),
                    overall: &overall,
                    runs: &runs,
                };
                // Streamed: a run's vendor IDs are read from the ledger as they are written.
                let mut out = std::io::BufWriter::with_capacity(1 << 16, printer.stdout_writer());
                serde_json::to_writer_pretty(&mut out, &doc)?;
                writeln!(out)?;
                out.flush()?;
            } else {
                printer.data(render_text(
                    &args.ledger.display().to_string(),
                    &overall,
                    &runs,
                ))?;
            }
        }
    }
    Ok(Code::Success)
}

fn read_lookups(args: &ReportArgs) -> anyhow::Result<Vec<String>> {
    let mut out = args.lookup.clone();
    if let Some(path) = &args.lookup_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UserError::usage(format!("cannot read --lookup-file {}: {e}", path.display()))
        })?;
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(out)
}

fn run_report<'a>(view: &'a View, i: usize, acc: RunRows<'_>) -> RunReport<'a> {
    let run = &view.runs[i];
    let h = &run.header;
    RunReport {
        run_id: h.run_id.clone(),
        vendor: h.vendor.clone(),
        endpoint: h.endpoint.clone(),
        account: h.account.clone(),
        started_at: h.started_at.clone(),
        ended: run
            .end
            .as_ref()
            .map(|e| e.reason.clone())
            .unwrap_or_else(|| "unfinished".into()),
        ended_at: run.end.as_ref().map(|e| e.ended_at.clone()),
        inputs: h
            .inputs
            .iter()
            .map(|f| InputReport {
                path: f.path.clone(),
                rows: f.rows,
                sha256: f.sha256.clone(),
            })
            .collect(),
        rows_read: h.plan.rows_read,
        kept: h.plan.kept,
        rejected: h.plan.rejected,
        rejected_by_reason: (!h.plan.rejected_by_reason.is_empty() || h.plan.rejected == 0)
            .then(|| h.plan.rejected_by_reason.clone()),
        duplicates: h.plan.duplicates,
        sent: run.sent,
        acknowledged: run.acknowledged,
        failed: run.failed.clone(),
        failure_reasons: run.failure_reasons.clone(),
        requests: run.requests,
        retries: run.retries,
        throttled: run.throttled,
        states: acc.states,
        completed: acc.completed,
        first_completed_at: acc.first.map(str::to_owned),
        last_completed_at: acc.last.map(str::to_owned),
        vendor_ids: VendorIds {
            view,
            run: i,
            count: run.vendor_ids,
            first: &run.first_vendor_ids,
        },
    }
}

/// When a row's deletion completed, if the ledger shows it.
fn completion<'a>(row: &Row, done: &HashMap<&str, Completion<'a>>) -> Option<Completion<'a>> {
    if !row.status.is_success() {
        return None;
    }
    row.vendor_id
        .as_deref()
        .and_then(|id| done.get(id))
        .or_else(|| done.get(row.id_hmac.as_str()))
        .copied()
}

fn overall(
    view: &View,
    recorded: u64,
    outcomes: BTreeMap<String, u64>,
    states: BTreeMap<String, u64>,
    kept: u64,
) -> Overall {
    let mut notes = Vec::new();
    for run in &view.runs {
        if let Some(n) = crate::vendor::reingestion_note(run.vendor())
            && !notes.contains(&n)
        {
            notes.push(n);
        }
    }
    Overall {
        runs: view.runs.len(),
        rows_recorded: recorded,
        rows_kept: kept,
        finished: recorded >= kept,
        outcomes,
        states,
        requests: view.runs.iter().map(|r| r.requests).sum(),
        retries: view.runs.iter().map(|r| r.retries).sum(),
        throttled: view.runs.iter().map(|r| r.throttled).sum(),
        notes,
    }
}

fn render_text(ledger: &str, o: &Overall, runs: &[RunReport]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{ledger}: {} run(s); {} of {} kept rows recorded{}",
        o.runs,
        o.rows_recorded,
        o.rows_kept,
        if o.finished { "" } else { " (unfinished)" }
    );
    for r in runs {
        let _ = writeln!(s, "\nrun {} ({}, {})", r.run_id, r.vendor, r.ended);
        let _ = writeln!(s, "  started    {}", r.started_at);
        let _ = writeln!(s, "  endpoint   {}", r.endpoint);
        if r.vendor == "hightouch" && r.account.get("block").map(String::as_str) == Some("false") {
            let _ = writeln!(
                s,
                "  warning    block=false: the values were not blocklisted, so rows still in the \
                 warehouse resolve to a new profile in the next IDR run"
            );
        }
        for f in &r.inputs {
            let _ = writeln!(
                s,
                "  input      {} ({} rows, sha256 {})",
                f.path, f.rows, f.sha256
            );
        }
        let reasons = match &r.rejected_by_reason {
            Some(m) if !m.is_empty() => format!(" ({})", audit::format_counts(m)),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  rows       {} read, {} kept, {} rejected{reasons}, {} duplicates",
            r.rows_read, r.kept, r.rejected, r.duplicates
        );
        // `unknown` is not a failure either: it is said apart.
        let unknown = r.failed.get("unknown").copied().unwrap_or(0);
        let failed: BTreeMap<String, u64> = r
            .failed
            .iter()
            .filter(|(k, _)| *k != "unknown")
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let _ = writeln!(
            s,
            "  sent       {}: {} acknowledged, {} failed{}{}",
            r.sent,
            r.acknowledged,
            failed.values().sum::<u64>(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", audit::format_counts(&failed))
            },
            if unknown > 0 {
                format!(", {unknown} unknown (the answer proved neither deletion nor absence)")
            } else {
                String::new()
            }
        );
        for (msg, n) in r.failure_reasons.iter().take(10) {
            let _ = writeln!(s, "    {n:>8}  {msg}");
        }
        let _ = writeln!(
            s,
            "  requests   {} ({} retries, {} throttled with 429)",
            r.requests, r.retries, r.throttled
        );
        if !r.states.is_empty() {
            let _ = writeln!(s, "  states     {}", audit::format_counts(&r.states));
        }
        if let (Some(first), Some(last)) = (&r.first_completed_at, &r.last_completed_at) {
            let _ = writeln!(
                s,
                "  completed  {} of {} acknowledged, {}",
                r.completed,
                r.acknowledged,
                if first == last {
                    format!("at {first}")
                } else {
                    format!("from {first} to {last}")
                }
            );
        }
        if r.vendor_ids.count > 0 {
            let first: Vec<&str> = r.vendor_ids.first.iter().map(String::as_str).collect();
            let more = r.vendor_ids.count - first.len() as u64;
            let _ = writeln!(
                s,
                "  vendor ids {}: {}{}",
                r.vendor_ids.count,
                first.join(", "),
                if more > 0 {
                    format!(", ... ({more} more with --csv or --json)")
                } else {
                    String::new()
                }
            );
        }
    }
    let _ = writeln!(
        s,
        "\noverall    {} rows: {}",
        o.rows_recorded,
        audit::format_counts(&o.outcomes)
    );
    if !o.states.is_empty() {
        let _ = writeln!(s, "  states     {}", audit::format_counts(&o.states));
    }
    let _ = writeln!(
        s,
        "  requests   {} ({} retries, {} throttled with 429)",
        o.requests, o.retries, o.throttled
    );
    for n in &o.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

fn csv_row<'a>(
    view: &'a View,
    r: &'a Row,
    state: &'a (String, Option<&StatusCheck>),
    done: &HashMap<&str, Completion<'a>>,
) -> CsvRow<'a> {
    let run = &view.runs[r.run];
    let c = completion(r, done);
    CsvRow {
        vendor: run.vendor(),
        input_file: Cow::Borrowed(&r.input),
        row: r.row,
        id_hmac: &r.id_hmac,
        batch: r.batch.to_hex(),
        outcome: r.status.code(),
        vendor_id: Cow::Borrowed(r.vendor_id.as_deref().unwrap_or("")),
        state: Cow::Borrowed(&state.0),
        when: state
            .1
            .map(|c| c.checked_at.as_str())
            .or(r.at.as_deref())
            .unwrap_or(""),
        run_id: &run.header.run_id,
        completed_at: Cow::Borrowed(c.map_or("", |c| c.at)),
        completed_source: match c {
            Some(c) if c.by_vendor => "vendor",
            Some(_) => "observed",
            None => "",
        },
        completed_by: Cow::Borrowed(c.and_then(|c| c.run).unwrap_or("")),
        last_checked_at: state.1.map_or("", |c| c.checked_at.as_str()),
    }
}

/// Stops a walk over the rows once nobody reads stdout.
#[derive(Debug)]
struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for Closed {}

/// A CSV writer on stdout; with no row to come, the header alone (still a well-formed file).
fn csv_writer(printer: &Printer, empty: bool) -> anyhow::Result<csv::Writer<StdoutWriter>> {
    let mut w = csv::Writer::from_writer(printer.stdout_writer());
    if empty {
        w.write_record([
            "vendor",
            "input_file",
            "row",
            "id_hmac",
            "batch",
            "outcome",
            "vendor_id",
            "state",
            "when",
            "run_id",
            "completed_at",
            "completed_source",
            "completed_by",
            "last_checked_at",
        ])?;
    }
    Ok(w)
}

type Group = (usize, String, Vec<usize>);

fn print_lookups(
    printer: &Printer,
    format: ReportFormat,
    groups: &[Group],
    rows: &[Row],
    states: &[(String, Option<&StatusCheck>)],
    view: &View,
) -> anyhow::Result<()> {
    let mut out = printer.stdout_writer();
    let done = view.completions();
    if format == ReportFormat::Json {
        let v: Vec<_> = groups
            .iter()
            .map(|(n, hash, found)| {
                serde_json::json!({
                    "lookup": n,
                    "id_hmac": hash,
                    "rows": found.iter().map(|&i| csv_row(view, &rows[i], &states[i], &done)).collect::<Vec<_>>(),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let mut vendors: HashMap<&str, ()> = HashMap::new();
    for (n, hash, found) in groups {
        writeln!(
            out,
            "lookup {n} (id_hmac {hash}): {}",
            match found.len() {
                0 => "no row in this ledger".to_owned(),
                1 => "1 row".to_owned(),
                k => format!("{k} rows"),
            }
        )?;
        for &i in found {
            let c = csv_row(view, &rows[i], &states[i], &done);
            vendors.insert(c.vendor, ());
            writeln!(
                out,
                "  {} {} row {}: {}; {}{}{}; batch {}; run {}{}",
                c.vendor,
                c.input_file,
                c.row,
                c.outcome,
                c.state,
                if c.vendor_id.is_empty() {
                    String::new()
                } else {
                    format!("; vendor id {}", c.vendor_id)
                },
                if !c.completed_at.is_empty() {
                    format!(
                        " (completed {}{}{})",
                        if c.completed_source == "observed" {
                            "by "
                        } else {
                            "at "
                        },
                        c.completed_at,
                        if c.completed_by.is_empty() {
                            String::new()
                        } else {
                            format!(" in run {}", c.completed_by)
                        }
                    )
                } else if c.when.is_empty() {
                    String::new()
                } else {
                    format!(" (as of {})", c.when)
                },
                &c.batch[..16],
                c.run_id,
                if c.last_checked_at.is_empty() {
                    String::new()
                } else {
                    format!("; last checked {}", c.last_checked_at)
                }
            )?;
        }
    }
    let mut vs: Vec<&str> = vendors.into_keys().collect();
    vs.sort_unstable();
    for v in vs {
        if let Some(n) = crate::vendor::reingestion_note(v) {
            writeln!(out, "note: {n}")?;
        }
    }
    Ok(())
}
