//! What the user sees: the progress bar (terminal), a plain progress line every 10 s
//! (otherwise), and the final summary as text or one JSON object (both on stdout).
//! Nothing here ever prints an identifier.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;

use crate::engine::Stats;
use crate::printer::Printer;
pub use crate::printer::ProgressMode;

/// A running progress display; `finish` stops it.
pub struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
    bar: Option<ProgressBar>,
    printer: Printer,
}

/// Returns what the run is doing right now ("sending", "paused 12 s (429)", "stopping").
pub type StateFn = Box<dyn Fn() -> String + Send + Sync>;

/// What a display shows at one tick.
pub struct Tick {
    pub pos: u64,
    pub len: u64,
    /// The bar's message (after the bar).
    pub message: String,
    /// The whole line, when there is no bar.
    pub line: String,
}

impl Progress {
    /// `delete`'s display: items settled of items to send, rate, ETA, retries, 429s.
    pub fn start(printer: &Printer, stats: Arc<Stats>, state: StateFn) -> Self {
        Self::show(
            printer,
            "{elapsed_precise} [{bar:30}] {human_pos}/{human_len} items  {msg}",
            Duration::from_secs(10),
            move || {
                let done = Stats::get(&stats.items_done);
                let total = Stats::get(&stats.total_items);
                let secs = stats.started.elapsed().as_secs_f64().max(1e-3);
                let rate = done as f64 / secs;
                let eta = if rate > 0.0 && total > done {
                    format!("{:.0}s", (total - done) as f64 / rate)
                } else {
                    "-".into()
                };
                let state = state();
                Tick {
                    pos: done,
                    len: total,
                    message: format!(
                        "{rate:.0}/s  ETA {eta}  retries {}  429s {}  {state}",
                        Stats::get(&stats.retries),
                        Stats::get(&stats.throttled),
                    ),
                    line: progress_line(&stats, &state),
                }
            },
        )
    }

    /// The display the printer chooses: a bar redrawn every 200 ms on a terminal, `line`
    /// every `line_every` otherwise (none at once: a short run stays quiet), nothing with
    /// `--quiet`. `tick` says what to show; it runs on the current runtime.
    pub fn show(
        printer: &Printer,
        template: &str,
        line_every: Duration,
        tick: impl Fn() -> Tick + Send + 'static,
    ) -> Self {
        let mut me = Self {
            task: None,
            bar: None,
            printer: printer.clone(),
        };
        match printer.progress_mode() {
            ProgressMode::Off => {}
            ProgressMode::Bar => {
                let bar = printer.bar(0, template);
                let b = bar.clone();
                let draw = move || {
                    let t = tick();
                    b.set_length(t.len);
                    b.set_position(t.pos);
                    b.set_message(t.message);
                };
                // Drawn once before the first tick: a run shorter than a tick still shows it.
                draw();
                me.task = Some(tokio::spawn(async move {
                    let mut every = tokio::time::interval(Duration::from_millis(200));
                    loop {
                        every.tick().await;
                        draw();
                    }
                }));
                me.bar = Some(bar);
            }
            ProgressMode::Lines => {
                let p = printer.clone();
                me.task = Some(tokio::spawn(async move {
                    let mut every = tokio::time::interval(line_every);
                    every.tick().await;
                    loop {
                        every.tick().await;
                        p.info(tick().line);
                    }
                }));
            }
        }
        me
    }

    pub fn finish(self) {
        if let Some(t) = self.task {
            t.abort();
        }
        if let Some(b) = self.bar {
            self.printer.end_bar(&b);
        }
    }
}

/// The plain progress line (non-terminal stderr).
pub fn progress_line(s: &Stats, state: &str) -> String {
    let done = Stats::get(&s.items_done);
    let total = Stats::get(&s.total_items);
    let secs = s.started.elapsed().as_secs_f64().max(1e-3);
    let rate = done as f64 / secs;
    let eta = if rate > 0.0 && total > done {
        format!(
            "{}",
            humantime::format_duration(Duration::from_secs(((total - done) as f64 / rate) as u64))
        )
    } else {
        "-".into()
    };
    format!(
        "progress: {done}/{total} items ({:.0}%), {rate:.0}/s, ETA {eta}, retries {}, 429s {}, {state}",
        if total == 0 {
            100.0
        } else {
            done as f64 * 100.0 / total as f64
        },
        Stats::get(&s.retries),
        Stats::get(&s.throttled),
    )
}

/// The final summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    pub vendor: String,
    pub run_id: String,
    /// completed, interrupted, fatal, ledger_error.
    pub outcome: String,
    pub ledger: String,
    pub planned_items: u64,
    pub planned_batches: u64,
    /// Already settled by an earlier run (resume).
    pub skipped_items: u64,
    pub skipped_batches: u64,
    /// Failed for good in an earlier run and not sent again (`--retry-failed` resends them).
    pub failed_earlier: u64,
    /// Of `failed_earlier`, those an earlier run recorded as `unknown`.
    pub unknown_earlier: u64,
    /// Items settled in this run.
    pub sent_items: u64,
    pub acknowledged: u64,
    pub failed: BTreeMap<String, u64>,
    pub failed_total: u64,
    /// Items whose answer proved neither a deletion nor its absence (`unknown` in the
    /// ledger): not successes, not counted in `failed`; the run exits 1.
    pub unknown: u64,
    /// Rows a lookup found no profile for (Segment `--lookup-type`): recorded `not_found`,
    /// not failures (nothing of that person to delete).
    pub no_profile: u64,
    /// Of `requests`, the profile lookups.
    pub lookups: u64,
    /// Items neither settled now nor earlier (the run stopped): a rerun sends them.
    pub unsent_items: u64,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub bisection_requests: u64,
    pub elapsed_seconds: f64,
    pub items_per_second: f64,
    pub exit_code: u8,
}

impl RunSummary {
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        stats: &Stats,
        vendor: &str,
        run_id: &str,
        outcome: &str,
        ledger: &str,
        planned_items: u64,
        planned_batches: u64,
        exit_code: u8,
    ) -> Self {
        let elapsed = stats.started.elapsed().as_secs_f64();
        let sent = Stats::get(&stats.items_done);
        let skipped = Stats::get(&stats.skipped_items);
        let failed_earlier = Stats::get(&stats.skipped_failed);
        let no_profile = Stats::get(&stats.absent);
        let mut failed: BTreeMap<String, u64> = stats
            .failed
            .lock()
            .expect("stats lock")
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        if let Some(n) = failed.get_mut("not_found") {
            *n = n.saturating_sub(no_profile);
        }
        let unknown = failed.remove("unknown").unwrap_or(0);
        failed.retain(|_, n| *n > 0);
        Self {
            vendor: vendor.to_owned(),
            run_id: run_id.to_owned(),
            outcome: outcome.to_owned(),
            ledger: ledger.to_owned(),
            planned_items,
            planned_batches,
            skipped_items: skipped,
            skipped_batches: Stats::get(&stats.skipped_batches),
            failed_earlier,
            unknown_earlier: Stats::get(&stats.skipped_unknown),
            sent_items: sent,
            acknowledged: Stats::get(&stats.items_ok),
            failed_total: failed.values().sum(),
            failed,
            unknown,
            no_profile,
            lookups: Stats::get(&stats.lookups),
            unsent_items: planned_items.saturating_sub(sent + skipped + failed_earlier),
            requests: Stats::get(&stats.requests),
            retries: Stats::get(&stats.retries),
            throttled: Stats::get(&stats.throttled),
            bisection_requests: Stats::get(&stats.bisect_requests),
            elapsed_seconds: (elapsed * 1000.0).round() / 1000.0,
            items_per_second: if elapsed > 0.0 {
                (sent as f64 / elapsed * 10.0).round() / 10.0
            } else {
                0.0
            },
            exit_code,
        }
    }

    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "{} run {} ({})", self.vendor, self.outcome, self.run_id);
        let _ = writeln!(
            s,
            "  planned      {} identifiers in {} batches",
            self.planned_items, self.planned_batches
        );
        if self.skipped_items > 0 {
            let _ = writeln!(
                s,
                "  resumed      {} identifiers already deleted here by earlier runs",
                self.skipped_items
            );
        }
        let refused_before = self.failed_earlier.saturating_sub(self.unknown_earlier);
        if refused_before > 0 {
            let _ = writeln!(
                s,
                "  failed before {refused_before} (refused in an earlier run; not resent without --retry-failed)",
            );
        }
        if self.unknown_earlier > 0 {
            let _ = writeln!(
                s,
                "  unknown before {} (an earlier answer proved nothing either way; not resent without --retry-failed)",
                self.unknown_earlier
            );
        }
        let _ = writeln!(s, "  sent         {}", self.sent_items);
        let _ = writeln!(s, "  acknowledged {}", self.acknowledged);
        let _ = writeln!(s, "  failed       {}", self.failed_total);
        for (k, v) in &self.failed {
            let _ = writeln!(s, "    {k:<18} {v}");
        }
        if self.unknown > 0 {
            let _ = writeln!(
                s,
                "  unknown      {} (the vendor's answer proves neither deletion nor absence; see report)",
                self.unknown
            );
        }
        if self.no_profile > 0 {
            let _ = writeln!(
                s,
                "  no profile   {} (the lookup found none: nothing to delete; recorded not_found)",
                self.no_profile
            );
        }
        if self.unsent_items > 0 {
            let _ = writeln!(
                s,
                "  not sent     {} (the run stopped before sending them; rerun to send)",
                self.unsent_items
            );
        }
        let _ = writeln!(
            s,
            "  requests     {} ({} retries, {} throttled with 429, {} for bisection{})",
            self.requests,
            self.retries,
            self.throttled,
            self.bisection_requests,
            if self.lookups > 0 {
                format!(", {} profile lookups", self.lookups)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "  elapsed      {:.1} s, {:.1} identifiers/s",
            self.elapsed_seconds, self.items_per_second
        );
        let _ = writeln!(s, "  ledger       {}", self.ledger);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_text() {
        let st = Stats::new();
        Stats::add(&st.total_items, 10);
        st.settle([
            crate::ledger::ItemStatus::Acknowledged,
            crate::ledger::ItemStatus::Invalid,
        ]);
        Stats::add(&st.skipped_items, 3);
        Stats::add(&st.skipped_batches, 1);
        let s = RunSummary::build(&st, "lytics", "r1", "completed", "l.jsonl", 10, 4, 1);
        assert_eq!((s.sent_items, s.acknowledged, s.failed_total), (2, 1, 1));
        assert_eq!(s.unsent_items, 5);
        let text = s.render();
        assert!(text.contains("invalid"));
        assert!(text.contains("resumed"));
        assert!(progress_line(&st, "sending").starts_with("progress: 2/10 items (20%)"));
    }
}
