//! Intake: streaming readers (CSV/TSV/JSON/NDJSON, stdin, gzip) and the cleaner
//! (null/NaN/empty/junk, trim, lowercase, per-kind validation, de-duplication by hash).
//!
//! Contract used by `plan` and the engine:
//! - [`run`] reads every input in order and calls `on_item` for each kept identifier (first
//!   seen order) and `on_reject` for each rejected row. It returns the counts.
//! - Memory does not grow with the input except the de-duplication set (fixed-size hashes).
//! - `rows_read == kept + rejected + duplicates` always holds.
//! - A malformed row is a reject with a reason; only unreadable files, missing columns and
//!   structurally broken JSON abort (with file, row/line and column in the error).

mod clean;
mod csv;
pub mod dedupe;
mod json;
mod json_array;
mod oneread;
mod redact;
mod replay;
mod slots;
mod sniff;
mod source;
mod split;
mod stages;
mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::batch::Item;
use crate::error::UserError;

pub use oneread::OneRead;
pub use source::refuse_outputs_over_inputs;
pub use split::{MAX_FIELDS, MAX_RECORD_BYTES, MAX_SKIP_BYTES};
pub use validate::MAX_VALUE_BYTES;

/// An input's format (`--format`); sniffed from the name and bytes when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Tsv,
    Json,
    Ndjson,
}

/// Which column/key holds a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ColumnSel {
    /// CSV header name, or JSON key / dotted path.
    Name(String),
    /// 0-based CSV column index.
    Index(usize),
    /// The whole record: one-column headerless CSV, or a JSON array of strings / NDJSON of strings.
    Whole,
}

/// Where each row's identifier kind comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KindSource {
    Fixed(String),
    Column(ColumnSel),
}

/// Everything intake needs, resolved and validated by `settings`. Serialized (without
/// `one_read`) into a group's index, so `report --group` can replay a target's intake.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IntakeSpec {
    /// Input paths; `-` is stdin.
    pub inputs: Vec<PathBuf>,
    pub format: Option<Format>,
    pub column: ColumnSel,
    pub delimiter: Option<u8>,
    pub no_header: bool,
    /// Values treated as empty: matched case-insensitively after trimming.
    pub null_values: Vec<String>,
    pub lowercase: bool,
    pub validate: bool,
    pub kind: KindSource,
    /// Segment: each row's lookup user_id (or, with `lookup_by_value`, the value its
    /// user_id is looked up by).
    pub lookup: Option<ColumnSel>,
    /// The lookup column holds a value to find the profile by (Segment `--lookup-type`),
    /// which may well be the identifier itself, not a user_id that must differ from it.
    pub lookup_by_value: bool,
    /// `delete`'s two reads: the first is recorded, the second verified against it (and
    /// inputs that cannot be read twice are read back from a private copy). See
    /// [`OneRead`]. `None`: a single read (`plan`, `status --verify`).
    #[serde(skip)]
    pub one_read: Option<std::sync::Arc<OneRead>>,
}

impl IntakeSpec {
    /// A spec with the default cleaning rules (built-in null tokens, validation on, no
    /// lowercasing) for one identifier kind: what `settings` builds when no cleaning flag is
    /// given. Callers change fields from there.
    pub fn with_defaults(inputs: Vec<PathBuf>, column: ColumnSel, kind: KindSource) -> Self {
        Self {
            inputs,
            format: None,
            column,
            delimiter: None,
            no_header: false,
            null_values: DEFAULT_NULL_VALUES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            lowercase: false,
            validate: true,
            kind,
            lookup: None,
            lookup_by_value: false,
            one_read: None,
        }
    }
}

/// The built-in junk tokens dropped as empty (documented in the README). Matched
/// case-insensitively after trimming, so `NULL`, ` Null ` and `N/a` are the same token.
pub const DEFAULT_NULL_VALUES: &[&str] = &[
    "null",
    "(null)",
    "<null>",
    "none",
    "nil",
    "nan",
    "undefined",
    "n/a",
    "na",
    "#n/a",
    // What a database dump writes for NULL (MySQL, PostgreSQL COPY).
    "\\N",
    // Spreadsheet error values that end up in exports instead of an identifier.
    "#null!",
    "#value!",
    "#ref!",
    "#div/0!",
    "#name?",
    "#num!",
    "-",
    "0",
];

/// Why a row was rejected. `code()` is stable (rejects file, JSON output, ledger).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// JSON null, NaN or Infinity.
    Null,
    /// Empty or whitespace-only.
    Empty,
    /// One of the null tokens (`null`, `NaN`, `0`, ...).
    NullToken,
    /// Failed the kind's validation; the text says what is wrong (never echoes the value).
    Invalid(String),
    /// The row could not be parsed (wrong field count, invalid UTF-8, broken JSON line, ...).
    Malformed(String),
    /// The row lacks the column/key.
    MissingValue,
    /// Segment: no lookup user_id on the row.
    MissingLookup,
    /// Segment: the identifier equals its lookup user_id.
    SameAsLookup,
    /// Per-row kind column empty.
    MissingKind,
}

impl RejectReason {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Empty => "empty",
            Self::NullToken => "null_token",
            Self::Invalid(_) => "invalid",
            Self::Malformed(_) => "malformed",
            Self::MissingValue => "missing_value",
            Self::MissingLookup => "missing_lookup",
            Self::SameAsLookup => "same_as_lookup",
            Self::MissingKind => "missing_kind",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(m) | Self::Malformed(m) => write!(f, "{}: {m}", self.code()),
            _ => f.write_str(self.code()),
        }
    }
}

/// One rejected row.
#[derive(Debug, Clone)]
pub struct Reject {
    pub file: u32,
    pub row: u64,
    /// The column/key name (or index) the value was read from.
    pub column: String,
    pub reason: RejectReason,
    /// The raw value, when one could be read. Personal data: only written with
    /// `--rejects-include-values`.
    pub raw: Option<String>,
}

/// Per-file facts (for the plan and the ledger header).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileStats {
    /// As given on the command line (`-` for stdin).
    pub path: String,
    pub rows: u64,
    /// SHA-256 of the file's bytes as stored (before gzip decompression); hex.
    pub sha256: String,
}

/// Counts of one intake pass.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IntakeStats {
    pub rows_read: u64,
    pub kept: u64,
    pub duplicates: u64,
    /// Reject counts by reason code.
    pub rejected: BTreeMap<String, u64>,
    pub files: Vec<FileStats>,
}

impl IntakeStats {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// The error for an intake that leaves nothing to send (exit 2): an empty input or a wrong
/// column must not end "completed", exit 0, in a cron job. `--allow-empty` accepts it.
pub fn check_not_empty(stats: &IntakeStats, allow_empty: bool) -> anyhow::Result<()> {
    if allow_empty || stats.kept > 0 {
        return Ok(());
    }
    let hint = "pass --allow-empty if an empty list is expected (a scheduled run, say)";
    if stats.rows_read == 0 {
        let names: Vec<&str> = stats.files.iter().map(|f| f.path.as_str()).collect();
        return Err(UserError::usage(format!(
            "no rows read: {} {} no records (empty, or a header only)",
            names.join(", "),
            if names.len() == 1 { "has" } else { "have" }
        ))
        .with_hint(hint)
        .into());
    }
    let reasons: Vec<String> = stats
        .rejected
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    Err(UserError::usage(format!(
        "nothing to send: all {} rows read were rejected ({})",
        stats.rows_read,
        reasons.join(", ")
    ))
    .with_hint(format!(
        "check --column and the cleaning rules (--rejects FILE lists every row and why); {hint}"
    ))
    .into())
}

/// [`run`], with the kept items that `keep` accepts grouped by `batcher`: `on_batch` gets
/// every batch in order, the final partial ones included. The one loop `plan` and `delete`
/// both batch with (`delete` leaves out what its ledger already settled, before batching, so
/// the rest still makes full batches).
pub fn run_batched(
    spec: &IntakeSpec,
    mut batcher: crate::batch::Batcher,
    keep: &mut dyn FnMut(&Item) -> bool,
    on_batch: &mut dyn FnMut(crate::batch::Batch) -> anyhow::Result<()>,
    on_reject: &mut dyn FnMut(&Reject) -> anyhow::Result<()>,
) -> anyhow::Result<IntakeStats> {
    let stats = run(
        spec,
        &mut |item| {
            if !keep(&item) {
                return Ok(());
            }
            match batcher.push(item) {
                Some(b) => on_batch(b),
                None => Ok(()),
            }
        },
        on_reject,
    )?;
    for b in batcher.finish() {
        on_batch(b)?;
    }
    Ok(stats)
}

/// [`run`], counting the batches that [`run_batched`] would make of the kept items that
/// `keep` accepts (all of them when `None`), without making the batches (`plan` and
/// `delete`'s first read report only how many there are; see
/// [`crate::batch::BatchCounter`]). Without `keep`, no item is made either.
pub fn run_counted(
    spec: &IntakeSpec,
    counter: &mut crate::batch::BatchCounter,
    keep: Option<&mut dyn FnMut(&Item) -> bool>,
    on_reject: &mut dyn FnMut(&Reject) -> anyhow::Result<()>,
) -> anyhow::Result<IntakeStats> {
    match keep {
        Some(keep) => run(
            spec,
            &mut |item| {
                if keep(&item) {
                    counter.push(&item.kind);
                }
                Ok(())
            },
            on_reject,
        ),
        None => run_with(
            spec,
            stages::OnKept::Kind(&mut |kind| counter.push(kind)),
            on_reject,
        ),
    }
}

/// Read every input, clean it, and stream kept items and rejects to the callbacks.
///
/// Three threads: one reads, parses and cleans; one marks the duplicates (the de-dup set);
/// the calling thread makes the items and runs the callbacks (which need not be `Send`).
/// Events cross in bounded chunks, in input order.
pub fn run(
    spec: &IntakeSpec,
    on_item: &mut dyn FnMut(Item) -> anyhow::Result<()>,
    on_reject: &mut dyn FnMut(&Reject) -> anyhow::Result<()>,
) -> anyhow::Result<IntakeStats> {
    run_with(spec, stages::OnKept::Item(on_item), on_reject)
}

/// [`run`], with what each kept row that is not a duplicate goes to.
fn run_with<'c>(
    spec: &IntakeSpec,
    on_kept: stages::OnKept<'c>,
    on_reject: &'c mut dyn FnMut(&Reject) -> anyhow::Result<()>,
) -> anyhow::Result<IntakeStats> {
    check_stdin_once(spec)?;
    let fixed = match &spec.kind {
        KindSource::Fixed(k) => Some(k.as_str()),
        KindSource::Column(_) => None,
    };
    let mut emit = stages::Emit::new(on_kept, on_reject, fixed);
    let one_read = spec.one_read.as_deref();
    // `delete`'s second read says the first one again when it was kept (nothing is read,
    // parsed or cleaned twice, and nothing sent can differ from what was planned); the
    // inputs on disk are still watched, and a change stops the run as a second read from
    // disk would.
    if let Some((one, replay)) = one_read.and_then(|o| Some((o, o.replay()?))) {
        replay.run(&mut emit, &mut || one.check_unchanged(&spec.inputs))?;
        return Ok(IntakeStats {
            rows_read: replay.rows_read,
            kept: emit.kept,
            duplicates: emit.duplicates,
            rejected: replay.rejected.clone(),
            files: replay.files.clone(),
        });
    }
    let rows = spec
        .inputs
        .iter()
        .filter_map(|p| source::estimate_rows(p))
        .sum();
    // A second read from disk replays the first one's de-dup marks (see `stages::Marker`);
    // the first read records them, and itself while it fits (see `replay::Replay`).
    let (mut marker, mut recorder) = match one_read {
        Some(one) => match one.marks() {
            Some(marks) => (stages::Marker::replay(marks), None),
            None => (
                stages::Marker::new(rows, true),
                Some(replay::Recorder::new(one.replay_budget())),
            ),
        },
        None => (stages::Marker::new(rows, false), None),
    };
    // A few chunks in flight between stages keep the threads busy without buffering the
    // input.
    let (tx, rx) = std::sync::mpsc::sync_channel::<clean::Chunk>(4);
    let (marked_tx, marked_rx) = std::sync::mpsc::sync_channel::<clean::Chunk>(4);
    std::thread::scope(|scope| {
        let spawn_error = |e: std::io::Error| anyhow::anyhow!("cannot start an intake thread: {e}");
        let reader = std::thread::Builder::new()
            .name("cdp-purge-intake".into())
            .spawn_scoped(scope, move || read_all(spec, tx))
            .map_err(spawn_error)?;
        let marking = std::thread::Builder::new()
            .name("cdp-purge-dedup".into())
            .spawn_scoped(scope, move || {
                // Ends when the reader is done (its sender dropped) or the calling thread
                // stopped (the send fails); dropping `rx` then stops the reader.
                while let Ok(mut chunk) = rx.recv() {
                    marker.mark(&mut chunk)?;
                    if let Some(r) = recorder.as_mut() {
                        r.record(&chunk);
                    }
                    if marked_tx.send(chunk).is_err() {
                        break;
                    }
                }
                Ok::<_, stages::MarksExhausted>((marker, recorder))
            })
            .map_err(spawn_error)?;
        let mut failed = None;
        while let Ok(chunk) = marked_rx.recv() {
            if let Err(e) = emit.consume(chunk) {
                failed = Some(e);
                break;
            }
        }
        drop(marked_rx); // unblocks and stops the other stages if we stopped early
        let marked = marking.join();
        let read = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the intake thread panicked"))?;
        let (marker, recorder) =
            marked.map_err(|_| anyhow::anyhow!("the de-dup thread panicked"))??;
        if let Some(e) = failed {
            return Err(e);
        }
        let (files, counts) = read?;
        // A whole first read: the second replays it, or (too large to keep) its marks.
        if let (Some(one), Some(marks)) = (one_read, marker.into_marks()) {
            match recorder.and_then(|r| r.finish(&files, counts.rows_read, &counts.rejected)) {
                Some(r) => one.set_replay(r),
                None => one.set_marks(marks),
            }
        }
        Ok(IntakeStats {
            rows_read: counts.rows_read,
            kept: emit.kept,
            duplicates: emit.duplicates,
            rejected: counts.rejected,
            files,
        })
    })
}

/// The reading thread: every input in order, through one cleaner.
fn read_all(
    spec: &IntakeSpec,
    tx: std::sync::mpsc::SyncSender<clean::Chunk>,
) -> anyhow::Result<(Vec<FileStats>, clean::ReadCounts)> {
    let mut cleaner = clean::Cleaner::new(spec, tx);
    let mut files = Vec::with_capacity(spec.inputs.len());
    for (i, path) in spec.inputs.iter().enumerate() {
        let file = u32::try_from(i).map_err(|_| UserError::usage("too many input files"))?;
        let name = source::display(path);
        let before = cleaner.rows_read();
        let mut sha = source::FileDigest::new();
        {
            let mut input = source::open(path, i, spec.one_read.as_deref(), &mut sha)?;
            match source::detect_format(path, spec.format) {
                Format::Csv => {
                    let d = spec.delimiter.unwrap_or(b',');
                    csv::read(spec, file, &name, Box::new(&mut input), d, &mut cleaner)?;
                }
                Format::Tsv => {
                    let d = spec.delimiter.unwrap_or(b'\t');
                    csv::read(spec, file, &name, Box::new(&mut input), d, &mut cleaner)?;
                }
                Format::Json => {
                    json::read_array(spec, file, &name, Box::new(&mut input), &mut cleaner)?;
                }
                Format::Ndjson => {
                    json::read_lines(spec, file, &name, Box::new(&mut input), &mut cleaner)?;
                }
            }
            // Whatever a reader left unread (after a JSON array's `]`) still belongs to the
            // file: its digest, and the one-read record, cover every byte.
            std::io::copy(&mut input, &mut std::io::sink())
                .map_err(|e| source::read_error(&name, &e))?;
        }
        files.push(FileStats {
            path: name,
            rows: cleaner.rows_read() - before,
            sha256: sha.finish()?,
        });
    }
    Ok((files, cleaner.finish()?))
}

fn check_stdin_once(spec: &IntakeSpec) -> anyhow::Result<()> {
    if spec.inputs.iter().filter(|p| source::is_stdin(p)).count() > 1 {
        return Err(UserError::usage("`-i -` (stdin) can be given only once")
            .with_hint("stdin can be read only once; save it to a file to use it twice")
            .into());
    }
    Ok(())
}
