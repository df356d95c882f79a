//! `cdp-purge delete`: plan, confirm, then deliver through the engine with a ledger.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::batch::Batch;
use crate::cli::{DeleteArgs, GlobalArgs};
use crate::engine::limiter::{self, Overrides};
use crate::engine::retry::{RetryPolicy, time_scale_from_env};
use crate::engine::{Engine, EngineConfig, Stats, StopReason};
use crate::exit::{self, Code, Signal, UserError};
use crate::input;
use crate::ledger::{
    self, Destination, End, Header, InputFile, KeyState, Ledger, PlanCounts, Record,
};
use crate::printer::Printer;
use crate::progress::{Progress, RunSummary};

pub mod group;
mod resume;
use crate::vendor::{self, Adapter};
use crate::{config, settings};
use resume::{
    Feed, Tally, check_destination, check_long_windows, explain_exit, restrict_to_owner,
    spawn_feeder, state_of, warn_if_input_changed,
};

pub fn run(
    args: &DeleteArgs,
    global: &GlobalArgs,
    printer: &Printer,
    rt: &Runtime,
) -> anyhow::Result<Code> {
    if args.dry_run {
        return super::plan::run_with(&args.input, &args.vendor, args.json, global, printer);
    }
    // The sandbox serves fake credentials, so the environment need not hold real ones.
    let sandbox = if args.sandbox {
        Some(start_sandbox(printer)?)
    } else {
        None
    };
    let mut resolved = settings::resolve_all(
        &args.vendor,
        &args.input,
        Some(&args.delivery),
        global.config.as_deref(),
        sandbox.is_none(),
    )?;
    if let Some(sb) = &sandbox {
        for r in &mut resolved {
            point_at_sandbox(&mut r.target, sb);
        }
    }
    let several = resolved.len() > 1;
    if several && let Some(l) = &args.delivery.ledger {
        return Err(UserError::usage(format!(
            "--ledger {} names one file, and {} targets were selected: each destination keeps \
             its own ledger",
            l.display(),
            resolved.len()
        ))
        .with_hint(
            "drop --ledger (each target then gets <input>.ledger.<destination>.jsonl, the same \
             name `--target NAME` alone uses), or run one --target at a time",
        )
        .into());
    }
    // Each target's ledger, found by its destination: `--all-targets`, `--target NAME` and
    // plain flags all find the same one, and a sandbox rehearsal never shares it.
    let plan: Vec<(settings::Resolved, Destination, PathBuf)> = resolved
        .into_iter()
        .map(|r| {
            let dest = r.target.destination(sandbox.is_some());
            let ledger_path = args
                .delivery
                .ledger
                .clone()
                .unwrap_or_else(|| ledger::default_path(&args.input.inputs[0], &dest));
            (r, dest, ledger_path)
        })
        .collect();
    if let Some(group) = &args.vendor.group {
        let members: Vec<group::Member> = plan
            .iter()
            .map(|(r, _, l)| group::Member::new(&r.target, l, &r.intake))
            .collect();
        group::write_index(&args.input.inputs[0], group, &members)?;
    }
    let mut results: Vec<(group::Member, Code)> = Vec::with_capacity(plan.len());
    for (r, dest, ledger_path) in plan {
        let name = r.target.name.clone();
        let member = group::Member::new(&r.target, &ledger_path, &r.intake);
        let mut input = args.input.clone();
        if several && let Some(p) = &input.rejects {
            input.rejects = Some(config::per_target_path(p, &r.target.name));
        }
        let run = Run {
            args,
            input: &input,
            printer,
            rt,
            several,
        };
        let code = match run_target(&run, r, dest, ledger_path) {
            Ok(code) => code,
            // One target's failure (a refused credential, a bad graph ID) must not stop the
            // others: report it under the target's name and go on.
            Err(e) if several => {
                printer.important(format!("cdp-purge: target {name}:"));
                exit::report(printer, &e)
            }
            Err(e) => return Err(e),
        };
        results.push((member, code));
        if code.is_signal() {
            break;
        }
    }
    if several {
        return group::print_summary(printer, args.json, results.iter().map(|(m, c)| (m, *c)));
    }
    Ok(exit::most_urgent(results.iter().map(|(_, c)| *c)))
}

/// What every target of one `delete` shares.
struct Run<'a> {
    args: &'a DeleteArgs,
    input: &'a crate::cli::InputArgs,
    printer: &'a Printer,
    rt: &'a Runtime,
    several: bool,
}

/// Start the built-in sandbox for `delete --sandbox`; it stops when dropped.
fn start_sandbox(printer: &Printer) -> anyhow::Result<crate::sandbox::Sandbox> {
    let sb = crate::sandbox::start_blocking()?;
    printer.info(format!(
        "sandbox: fake vendors at {} (their documented quotas enforced; nothing real is deleted)",
        crate::sandbox::base_url(&sb)
    ));
    Ok(sb)
}

/// Point a target at the sandbox with the sandbox's credentials.
fn point_at_sandbox(target: &mut settings::Target, sb: &crate::sandbox::Sandbox) {
    target.base_url = crate::sandbox::base_url(sb);
    target.credentials = crate::sandbox::credentials(sb)
        .into_iter()
        .filter(|(name, _)| target.vendor.info().credentials.contains(name))
        .map(|(name, value)| (name, crate::vendor::Secret::new(value)))
        .collect();
}

fn run_target(
    run: &Run<'_>,
    resolved: settings::Resolved,
    dest: Destination,
    ledger_path: PathBuf,
) -> anyhow::Result<Code> {
    let Run {
        args,
        input: input_args,
        printer,
        rt,
        several,
        ..
    } = *run;
    let settings::Resolved {
        target,
        intake: mut spec,
        limits: target_limits,
        source_data_deleted,
    } = resolved;
    let info = target.vendor.info();
    let d = &args.delivery;
    let (limits, warnings) = limiter::resolve(
        &info.quota,
        info.default_concurrency,
        target.batch_size,
        Overrides {
            max_rps: target_limits.max_rps,
            max_items_per_sec: target_limits.max_items_per_sec,
            concurrency: target_limits.concurrency,
            max_per_window: target_limits.max_per_window,
        },
    )?;
    for w in &warnings {
        printer.warn(w);
    }
    let adapter = vendor::adapter(&target)?;

    // Before anything is written: no output may be one of the inputs.
    let key_file = ledger::key_path(&ledger_path);
    let mut outputs: Vec<(&str, &std::path::Path)> = vec![
        ("--ledger", &ledger_path),
        ("--ledger (its key)", &key_file),
    ];
    if let Some(r) = &input_args.rejects {
        outputs.push(("--rejects", r));
    }
    input::refuse_outputs_over_inputs(&spec.inputs, &outputs)?;

    let ledger = Ledger::open(&ledger_path)?;
    ledger.require_intact()?;
    check_destination(&ledger, &dest, d.ledger_any_destination)?;
    if d.ledger_include_identifiers {
        restrict_to_owner(&ledger_path)?;
    }
    let resume = Arc::new(ledger.resume(&dest)?);

    // Two reads: one to count and confirm, one to send. The second is proved equal to the
    // first chunk by chunk before anything from it is batched (pipes are read back from a
    // private, nameless copy).
    let one_read = Arc::new(input::OneRead::new());
    spec.one_read = Some(one_read.clone());

    // First read: the totals for the prompt and the progress bar, and which identifiers an
    // earlier run already settled here.
    let key = ledger.key;
    let hasher = ledger::Hasher::new(&key);
    let mut tally = Tally::default();
    let retry_failed = d.retry_failed;
    let plan = if resume.is_empty() {
        // Nothing settled here yet: every identifier is to be sent, and the read makes no
        // item (`plan`'s path; making and freeing an item per identifier only to keep it
        // was 0.31 → 0.29 CPU-s of the first read of 1M ids).
        let plan = super::plan::compute(&target, &spec, input_args)?;
        tally.to_send = plan.intake.kept;
        plan
    } else {
        super::plan::compute_with(&target, &spec, input_args, &mut |it| match state_of(
            &resume, &hasher, it,
        ) {
            KeyState::Done => {
                tally.done += 1;
                false
            }
            KeyState::FailedPermanent if !retry_failed => {
                tally.failed_before += 1;
                false
            }
            KeyState::Unknown if !retry_failed => {
                tally.failed_before += 1;
                tally.unknown_before += 1;
                false
            }
            KeyState::FailedPermanent | KeyState::Unknown => {
                tally.to_send += 1;
                true
            }
            KeyState::Send { maybe_delivered } => {
                tally.to_send += 1;
                tally.maybe_delivered += u64::from(maybe_delivered);
                true
            }
        })?
    };
    let to_send_batches = plan.batches;

    // Where it goes, with what limits, and what intake did: so nobody wonders why fewer
    // identifiers are sent than rows read.
    {
        printer.info(format!(
            "cdp-purge: {} at {}; limits: {limits}",
            info.name,
            adapter.endpoint()
        ));
        printer.info(format!(
            "destination: {dest}; ledger {}",
            ledger_path.display()
        ));
        let i = &plan.intake;
        let reasons: Vec<String> = i.rejected.iter().map(|(r, n)| format!("{r} {n}")).collect();
        printer.info(format!(
            "input: {} rows read, {} kept, {} rejected{}, {} duplicates",
            i.rows_read,
            i.kept,
            i.rejected_total(),
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            i.duplicates
        ));
        if resume.runs > 0 {
            printer.info(format!(
                "resuming: {} of {} identifiers already deleted here by {} earlier run(s); {} to send{}",
                tally.done,
                i.kept,
                resume.runs,
                tally.to_send,
                if tally.failed_before > 0 {
                    format!(
                        "; {} refused for good or of unknown outcome earlier, not resent (--retry-failed resends them)",
                        tally.failed_before
                    )
                } else {
                    String::new()
                }
            ));
        }
    }
    warn_if_input_changed(&resume, &plan.intake.files, printer);
    input::check_not_empty(&plan.intake, input_args.allow_empty)?;
    check_long_windows(
        &ledger,
        &dest,
        &limits,
        tally.to_send,
        to_send_batches,
        printer,
    )?;
    if tally.to_send > 0 {
        for w in adapter.warnings_before_send(source_data_deleted) {
            printer.warn(w);
        }
        confirm(args, adapter.as_ref(), tally.to_send, printer)?;
    }

    let stats = Arc::new(Stats::new());
    Stats::add(&stats.total_items, tally.to_send);
    Stats::add(&stats.total_batches, to_send_batches);
    Stats::add(&stats.skipped_items, tally.done);
    Stats::add(&stats.skipped_failed, tally.failed_before);
    Stats::add(&stats.skipped_unknown, tally.unknown_before);

    let run_id = ledger::new_run_id();
    let header = Header {
        run_id: run_id.clone(),
        tool: "cdp-purge".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        vendor: info.id.into(),
        destination: Some(dest.clone()),
        endpoint: adapter.endpoint(),
        account: adapter.account().into_iter().collect(),
        inputs: plan
            .intake
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| InputFile {
                index: i as u32,
                path: f.path.clone(),
                rows: f.rows,
                sha256: f.sha256.clone(),
            })
            .collect(),
        limits: serde_json::to_value(&limits)?,
        started_at: ledger::now_rfc3339(),
        plan: PlanCounts {
            rows_read: plan.intake.rows_read,
            kept: plan.intake.kept,
            rejected: plan.intake.rejected_total(),
            duplicates: plan.intake.duplicates,
            batches: to_send_batches,
            rejected_by_reason: plan.intake.rejected.clone(),
        },
        resumed: resume.runs > 0,
        include_identifiers: d.ledger_include_identifiers,
    };
    let cfg = EngineConfig {
        limits: limits.clone(),
        retry: RetryPolicy::new(
            target_limits.max_retries_or_default(),
            d.max_backoff,
            time_scale_from_env(),
        ),
        timeout: d.timeout,
        include_identifiers: d.ledger_include_identifiers,
        bisect_budget: to_send_batches.max(64) * 2,
        run_id: run_id.clone(),
        key,
        breaker_after: if d.no_breaker { 0 } else { d.breaker_after },
    };

    let handle = ledger.handle();
    let signal: Arc<OnceLock<Signal>> = Arc::default();
    let (end, summary_outcome) = rt.block_on(async {
        handle.write(Record::Header(header)).await?;
        let engine = Engine::new(adapter.clone(), cfg, handle.clone(), stats.clone())?;
        let watcher = watch_signals(&engine, signal.clone(), printer.clone());
        let (tx, rx) = mpsc::channel::<Batch>(limits.concurrency as usize * 2);
        let feeder = spawn_feeder(
            spec.clone(),
            &target,
            Feed {
                resume: resume.clone(),
                key,
                retry_failed,
            },
            tx,
            engine.stopper(),
        );
        let paused = engine_state(&engine);
        let progress = Progress::start(printer, stats.clone(), paused);
        let end = engine.run(rx).await;
        progress.finish();
        // The next target (or nothing) owns the signals from here.
        watcher.abort();
        // The feeder stops on its own once the engine drops the channel; its errors (an
        // input that changed) stopped the engine already.
        let _ = feeder.await;
        let outcome = match &end.stopped {
            None => "completed",
            Some(StopReason::Interrupted) => "interrupted",
            Some(StopReason::Fatal { .. }) => "fatal",
            Some(StopReason::Ledger(_)) => "ledger_error",
        };
        anyhow::Ok((end, outcome))
    })?;
    // A regular file replaced or rewritten after it was read: everything sent was read and
    // verified, but the list on disk is no longer the one this run worked from.
    let changed_after = if end.stopped.is_none() {
        one_read.changed_since(&spec.inputs)
    } else {
        None
    };

    let settled = Stats::get(&stats.items_done);
    let unsent = tally.to_send.saturating_sub(settled);
    let code = exit::delivery(
        end.stopped.as_ref(),
        signal.get().copied(),
        exit::Delivery {
            failed_now: stats.failed_total(),
            abandoned_batches: end.abandoned_batches,
            unsent,
            failed_before: tally.failed_before,
            only_throttled: stats.only_throttled_failures(),
            input_changed: changed_after.is_some(),
        },
    );
    let summary = RunSummary::build(
        &stats,
        info.id,
        &run_id,
        summary_outcome,
        &ledger_path.display().to_string(),
        plan.intake.kept,
        to_send_batches,
        code as u8,
    );
    let end_rec = Record::End(End {
        run_id,
        ended_at: ledger::now_rfc3339(),
        reason: summary_outcome.into(),
        summary: serde_json::to_value(&summary)?,
    });
    let ledger_ok = rt.block_on(handle.write(end_rec));
    drop(handle);
    let closed = ledger.close();
    // The result on stdout, as every command's; what it means and what to do next on
    // stderr.
    if args.json {
        printer.json_line(&summary)?;
    } else {
        printer.summary(&summary.render())?;
    }
    if Stats::get(&stats.items_ok) > 0 {
        printer.note(
            info.caveat
                .replace("LEDGER", &ledger_path.display().to_string()),
        );
    }
    if code != Code::Success && code != Code::Auth {
        explain_exit(&summary, tally.maybe_delivered, printer);
    }
    if code.is_signal() || code == Code::Auth || ledger_ok.is_err() || unsent > 0 {
        printer.important(format!(
            "to resume: {}",
            // With several targets each ledger is derived from the same flags again.
            resume_command((d.ledger.is_none() && !several).then_some(&ledger_path))
        ));
    }
    match end.stopped {
        Some(StopReason::Fatal { reason, hint, auth }) => {
            let class = if auth {
                crate::error::Class::Auth
            } else {
                crate::error::Class::Usage
            };
            return Err(UserError::new(class, reason).with_hint(hint).into());
        }
        Some(StopReason::Ledger(e)) => {
            return Err(UserError::usage(format!(
                "stopped: {e} ({}); nothing more was sent",
                ledger_path.display()
            ))
            .with_hint("free disk space or fix the ledger's permissions, then rerun")
            .into());
        }
        _ => {}
    }
    ledger_ok?;
    closed?;
    if let Some(what) = changed_after {
        return Err(
            UserError::usage(format!("the input changed during the run: {what}"))
                .with_hint(
                    "everything sent was read and checked before it left, and the ledger records \
                 it; check the file and rerun (acknowledged identifiers are not sent again)",
                )
                .into(),
        );
    }
    Ok(code)
}

/// Ask before deleting, only on a terminal; refuse without `--yes` otherwise.
fn confirm(
    args: &DeleteArgs,
    adapter: &dyn Adapter,
    count: u64,
    printer: &Printer,
) -> anyhow::Result<()> {
    if args.yes {
        return Ok(());
    }
    if !printer.stdin_is_terminal() {
        return Err(UserError::usage(
            "refusing to delete without confirmation: stdin is not a terminal",
        )
        .with_hint("add --yes to confirm (or use `cdp-purge plan` to see what would be sent)")
        .into());
    }
    let account: Vec<String> = adapter
        .account()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let line = printer.ask(&format!(
        "Delete {count} profiles from {} ({})? Type yes to continue: ",
        adapter.spec().name,
        if account.is_empty() {
            adapter.endpoint()
        } else {
            account.join(", ")
        }
    ))?;
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(UserError::usage("not confirmed; nothing was sent").into())
    }
}

fn engine_state(engine: &Engine) -> crate::progress::StateFn {
    let stopper = engine.stopper();
    let paused = engine.pause_view();
    Box::new(move || {
        if stopper.is_stopped() {
            "stopping".into()
        } else if let Some(d) = paused() {
            format!("paused {} s (429)", d.as_secs_f64().ceil() as u64)
        } else {
            "sending".into()
        }
    })
}

/// First Ctrl-C or SIGTERM: stop dispatching and finish in-flight requests; `signal` keeps
/// which, for the exit code. A second: exit at once (the ledger's lines are written whole,
/// so it stays readable).
fn watch_signals(
    engine: &Engine,
    signal: Arc<OnceLock<Signal>>,
    printer: Printer,
) -> tokio::task::JoinHandle<()> {
    let stopper = engine.stopper();
    // Installed now, not when the task first runs.
    let signals = crate::commands::signals::Signals::listen();
    tokio::spawn(async move {
        let Ok(mut signals) = signals else {
            return;
        };
        let first = signals.next().await;
        let _ = signal.set(first);
        printer.important(
            "\ncdp-purge: stopping: waiting for requests in flight (Ctrl-C again to quit at once)",
        );
        stopper.stop(StopReason::Interrupted);
        let second = signals.next().await;
        std::process::exit(second.code() as i32);
    })
}

/// The command line that resumes this run: the same arguments, plus `--ledger` when it was
/// defaulted (so a changed working directory still finds it).
fn resume_command(defaulted_ledger: Option<&PathBuf>) -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(p) = defaulted_ledger {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
        args.push("--ledger".into());
        args.push(abs.display().to_string());
    }
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("ids.csv"), "ids.csv");
        assert_eq!(shell_quote("my ids.csv"), "'my ids.csv'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
