//! Command-line definitions: clap derive only, no I/O and no logic.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;
pub use crate::printer::ColorChoice;
use crate::vendor::{Values, VendorKind};

// The domain enums own themselves (input formats in the intake, pods and environments in
// the mParticle adapter, identifier kinds in CleverTap's); the CLI only parses into them.
pub use crate::input::Format;
pub use crate::vendor::clevertap::IdKind;
pub use crate::vendor::mparticle::{Environment, Pod};

#[derive(Debug, Parser)]
#[command(
    name = "cdp-purge",
    version,
    about = "Bulk-delete customer profiles from customer-data platforms, at the vendor's quota, with an audit ledger",
    long_about = None,
    after_help = EXIT_CODES_HELP,
    propagate_version = true,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Print only errors (no progress, no summary text; --json output still goes to stdout)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// More log output (-v: info, -vv: debug). Identifiers are never logged.
    #[arg(long, short, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Colour on stderr: auto (a terminal, and no NO_COLOR), always or never
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Config file with named targets
    /// [default: $CDP_PURGE_CONFIG, else $XDG_CONFIG_HOME/cdp-purge/cdp-purge.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

// Inherent, like xh's: `try_parse_from` shadows `Parser`'s so that every caller gets the
// steps clap cannot express (inputs in command-line order, report's output format).
impl Cli {
    /// Parse `args` (the first is the program name).
    pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let m = cmd.try_get_matches_from_mut(args)?;
        Self::from_matches(&m).map_err(|e| e.format(&mut cmd))
    }

    /// The command line from clap's matches, with the steps clap cannot express.
    pub fn from_matches(m: &clap::ArgMatches) -> Result<Cli, clap::Error> {
        use clap::FromArgMatches;
        let mut cli = Cli::from_arg_matches(m)?;
        if let Some((_, sub)) = m.subcommand() {
            cli.command.finish(sub);
        }
        Ok(cli)
    }
}

impl Command {
    fn finish(&mut self, m: &clap::ArgMatches) {
        match self {
            Command::Plan(a) => in_order(m, &mut a.input.inputs, &mut a.input.files),
            Command::Delete(a) => in_order(m, &mut a.input.inputs, &mut a.input.files),
            Command::Status(a) => in_order(m, &mut a.verify.inputs, &mut a.verify.files),
            Command::Report(a) => {
                in_order(m, &mut a.inputs, &mut a.files);
                a.ledger = a.ledgers.first().cloned().unwrap_or_default();
                a.format = match (a.json, a.csv) {
                    (true, _) => ReportFormat::Json,
                    (_, true) => ReportFormat::Csv,
                    _ => a.old_format.unwrap_or(ReportFormat::Text),
                };
            }
            _ => {}
        }
    }
}

/// FILE arguments and `-i FILE` options into `inputs`, in the order the command line gives
/// them (`a.csv -i b.csv c.csv` reads a, b, c).
fn in_order(m: &clap::ArgMatches, inputs: &mut Vec<PathBuf>, files: &mut Vec<PathBuf>) {
    let at =
        |id: &str| -> Vec<usize> { m.indices_of(id).map(Iterator::collect).unwrap_or_default() };
    let mut all: Vec<(usize, PathBuf)> = at("inputs")
        .into_iter()
        .zip(std::mem::take(inputs))
        .chain(at("files").into_iter().zip(std::mem::take(files)))
        .collect();
    all.sort_by_key(|(i, _)| *i);
    *inputs = all.into_iter().map(|(_, p)| p).collect();
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read, clean and batch the input exactly as a real run would; send nothing
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),

    /// Delete the profiles: paced to the vendor's quota, retried, recorded in a ledger
    #[command(after_help = DELETE_EXAMPLES)]
    Delete(DeleteArgs),

    /// Poll the vendors for the state of a ledger's deletion jobs, oldest check first
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),

    /// Summarise a ledger per run, per input row or per person; check it was not altered
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),

    /// List the supported vendors: per-request cap, quota, identifier kinds, credentials
    #[command(
        after_help = "Examples:\n  cdp-purge vendors\n  cdp-purge vendors --json | jq '.[] | {id, max_batch, quota}'"
    )]
    Vendors(VendorsArgs),

    /// List the targets in the config file: vendor, settings, limits, credential variables
    #[command(
        after_help = "Examples:\n  cdp-purge targets\n  cdp-purge --config ./cdp-purge.toml targets --json\n\nSee examples/cdp-purge.toml and docs/config.md for the file's format."
    )]
    Targets(TargetsArgs),

    /// Preflight: validate a target's configuration and credentials without deleting anything
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Run a local fake of every vendor API (for trying the tool and for tests)
    #[command(after_help = SANDBOX_EXAMPLES)]
    Sandbox(SandboxArgs),

    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  cdp-purge completions bash > ~/.local/share/bash-completion/completions/cdp-purge\n  cdp-purge completions zsh > \"${fpath[1]}/_cdp-purge\"\n  cdp-purge completions fish > ~/.config/fish/completions/cdp-purge.fish"
    )]
    Completions(CompletionsArgs),

    /// Print the man page (roff) to stdout
    #[command(hide = true)]
    Man,
}

const PLAN_EXAMPLES: &str = "\
Examples:
  cdp-purge plan --vendor mparticle --id-type customerid ids.csv --column customerid
  cdp-purge plan --vendor lytics --id-type email users.csv --column email --json
  zcat list.csv.gz | cdp-purge plan --vendor clevertap --id-type identity - --format csv --column id";

const DELETE_EXAMPLES: &str = "\
Examples:
  cdp-purge delete --vendor mparticle --pod us1 --environment production \\
      --id-type customerid ids.csv --column customerid --yes
  cdp-purge delete --vendor lytics --table user --id-type email users.csv --column email --yes
  cdp-purge delete --dry-run ...   (same as `cdp-purge plan ...`)

Rerun the same command with the same ledger to resume after a crash or Ctrl-C.";

/// Input selection, parsing and cleaning: shared by `plan` and `delete`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Input file(s); `-` reads stdin; `.gz` is decompressed on the fly. With -i FILE too,
    /// all are read in the order given on the command line
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// An input file, as the FILE arguments. Repeatable.
    #[arg(long = "input", short = 'i', value_name = "FILE")]
    pub inputs: Vec<PathBuf>,

    /// Input format (default: from the extension; stdin defaults to csv)
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Column (CSV header name) or key (JSON objects; dotted path for nested keys) holding the identifier
    #[arg(long, value_name = "NAME", conflicts_with = "column_index")]
    pub column: Option<String>,

    /// The column one target reads, over its `column` in the config file and --column
    /// (several targets reading one file with several identifier columns). Repeatable.
    #[arg(long = "column-for", value_name = "TARGET=COLUMN")]
    pub column_for: Vec<String>,

    /// 0-based column index holding the identifier (CSV/TSV)
    #[arg(long, value_name = "N")]
    pub column_index: Option<usize>,

    /// Field delimiter for CSV (default: `,`; `\t` for .tsv)
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// The CSV/TSV file has no header row (one identifier per line unless --column-index)
    #[arg(long)]
    pub no_header: bool,

    /// Values treated as empty, comma-separated, matched ignoring case and surrounding
    /// spaces; replaces the built-in list [default: null,(null),<null>,none,nil,nan,undefined,
    /// n/a,na,#n/a,\N,#null!,#value!,#ref!,#div/0!,#name?,#num!,-,0]
    #[arg(long, value_name = "A,B,C", value_delimiter = ',', num_args = 0..=1)]
    pub null_values: Option<Vec<String>>,

    /// Lowercase identifiers before de-duplication (for case-insensitive kinds such as email)
    #[arg(long)]
    pub lowercase: bool,

    /// Skip per-kind validation (email syntax, MPID range, ...)
    #[arg(long)]
    pub no_validate: bool,

    /// Exit 0 even when nothing is left to send (no rows, or every row rejected), for
    /// scheduled runs whose list may be empty; without it that is an error (exit 2)
    #[arg(long)]
    pub allow_empty: bool,

    /// Write one CSV line per rejected row (file, row, column, reason) to FILE
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,

    /// Also write the raw rejected value to the rejects file (personal data)
    #[arg(long, requires = "rejects")]
    pub rejects_include_values: bool,

    /// Identifiers per request (at most the vendor's cap; see `cdp-purge vendors`)
    #[arg(long, value_name = "N", overrides_with = "batch_size")]
    pub batch_size: Option<usize>,
}

/// Which vendor and where: shared by `plan` and `delete`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Vendor")]
pub struct VendorArgs {
    /// The vendor to delete from (see `cdp-purge vendors`); not needed with --target
    #[arg(long, value_enum)]
    pub vendor: Option<VendorKind>,

    /// A target from the config file (see `cdp-purge targets`); flags override its settings.
    /// Repeatable.
    #[arg(long = "target", value_name = "NAME", value_delimiter = ',')]
    pub targets: Vec<String>,

    /// Every target in the config file (with --vendor: every target of that vendor)
    #[arg(long, conflicts_with = "targets")]
    pub all_targets: bool,

    /// The targets of a group in the config file (`[groups] NAME = ["a", "b"]`): one run
    /// per target, each with its own ledger, one summary line each
    #[arg(long, value_name = "NAME", conflicts_with_all = ["targets", "all_targets"])]
    pub group: Option<String>,

    /// Override the vendor's host, e.g. a proxy or the local sandbox (https://, or http://
    /// to localhost; no credentials in it)
    #[arg(long, value_name = "URL", env = "CDP_PURGE_BASE_URL")]
    pub base_url: Option<String>,

    /// Allow a plain http:// --base-url to a host other than this machine (the credentials
    /// travel unencrypted)
    #[arg(long)]
    pub allow_insecure_http: bool,

    /// Read credentials from this file (KEY=VALUE lines, as the environment variables)
    #[arg(long, value_name = "FILE")]
    pub credentials_file: Option<PathBuf>,

    /// What the values are: Lytics' identity field (email, member_id), mParticle's identity
    /// type (mpid, customerid, email, ...), CleverTap's identity or guid, Segment's external
    /// id type (email, anonymous_id, ...), Hightouch's identifier name (email, phone, ...)
    #[arg(long, value_name = "TYPE")]
    pub id_type: Option<String>,

    /// Segment / Hightouch: column holding each row's identifier type (instead of --id-type)
    #[arg(long, value_name = "NAME", help_heading = "Segment / Hightouch")]
    pub id_type_column: Option<String>,

    /// Lytics: the table (default: user)
    #[arg(long, value_name = "TABLE", help_heading = "Lytics")]
    pub table: Option<String>,

    /// mParticle: pod hosting the account
    #[arg(long, value_enum, help_heading = "mParticle")]
    pub pod: Option<Pod>,

    /// mParticle: environment_type of the deletion (not needed by `plan`)
    #[arg(long, value_enum, help_heading = "mParticle")]
    pub environment: Option<Environment>,

    /// Amplitude: who asked for the deletion (Amplitude's `requester`, for its audit trail)
    #[arg(long, value_name = "EMAIL", help_heading = "Amplitude")]
    pub requester: Option<String>,

    /// PostHog: the project ID (not needed by `plan`)
    #[arg(long, value_name = "ID", help_heading = "PostHog")]
    pub project_id: Option<String>,

    /// Region of the account: CleverTap (in1, sg1, us1, aps3, mec1, eu1), Segment, Segment
    /// regulations, Amplitude, Iterable, PostHog (us or eu), Mixpanel (us, eu or in)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Segment regulations: regulate one source instead of the whole workspace
    #[arg(long, value_name = "SOURCE_ID", help_heading = "Segment regulations")]
    pub source: Option<String>,

    /// Segment regulations: SUPPRESS_WITH_DELETE (default), DELETE_ONLY,
    /// SUPPRESS_WITH_DELETE_INTERNAL, DELETE_INTERNAL, SUPPRESS_ONLY or UNSUPPRESS
    #[arg(long, value_name = "TYPE", help_heading = "Segment regulations")]
    pub regulation_type: Option<String>,

    /// Mixpanel: GDPR (default) or CCPA
    #[arg(long, value_name = "TYPE", help_heading = "Mixpanel")]
    pub compliance_type: Option<String>,

    /// Mixpanel: the project's data groups (each lowers the per-request cap: 2000/(N+1))
    #[arg(long, value_name = "N", help_heading = "Mixpanel")]
    pub data_groups: Option<String>,

    /// Braze: the REST instance of the workspace (iad-01 ... iad-08, us-10, fra-01, fra-02, au-01, ...)
    #[arg(long, value_name = "INSTANCE", help_heading = "Braze")]
    pub instance: Option<String>,

    /// Braze: the alias_label of the user aliases deleted with --id-type user_alias
    #[arg(long, value_name = "LABEL", help_heading = "Braze")]
    pub alias_label: Option<String>,

    /// Segment: the Unify space ID (not needed by `plan`)
    #[arg(long, value_name = "SPACE", help_heading = "Segment")]
    pub space: Option<String>,

    /// Segment: column holding each row's lookup user_id
    #[arg(long, value_name = "NAME", help_heading = "Segment")]
    pub user_id_column: Option<String>,

    /// Segment: find each row's profile by this external id type (email, anonymous_id, any
    /// type of the space) through the Profile API, instead of a user_id column. The lookups
    /// share the space's quota with the deletions
    #[arg(
        long,
        value_name = "TYPE",
        help_heading = "Segment",
        conflicts_with = "user_id_column"
    )]
    pub lookup_type: Option<String>,

    /// Segment: with --lookup-type, the column holding the value to look up [default: --column]
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Segment",
        requires = "lookup_type"
    )]
    pub lookup_column: Option<String>,

    /// Hightouch: the identity graph ID (not needed by `plan`)
    #[arg(long, value_name = "GRAPH", help_heading = "Hightouch")]
    pub graph: Option<String>,

    /// Hightouch: do not blocklist the values (supercluster repair only, not for deletion)
    #[arg(long, help_heading = "Hightouch")]
    pub no_block: bool,

    /// Hightouch: confirm the rows are already gone from the warehouse sources
    #[arg(long, help_heading = "Hightouch")]
    pub source_data_deleted: bool,

    /// Old name of --id-type for Lytics (deprecated)
    #[arg(
        long = "field",
        value_name = "FIELD",
        hide = true,
        conflicts_with = "id_type"
    )]
    pub old_field: Option<String>,

    /// Old name of --id-type for mParticle (deprecated)
    #[arg(
        long = "identity-type",
        value_name = "TYPE",
        hide = true,
        conflicts_with = "id_type"
    )]
    pub old_identity_type: Option<String>,

    /// Old name of --id-type for CleverTap (deprecated)
    #[arg(
        long = "id-kind",
        value_name = "KIND",
        hide = true,
        conflicts_with = "id_type"
    )]
    pub old_id_kind: Option<String>,

    /// Old name of --id-type for Hightouch (deprecated)
    #[arg(
        long = "identifier-type",
        value_name = "NAME",
        hide = true,
        conflicts_with = "id_type"
    )]
    pub old_identifier_type: Option<String>,

    /// Old name of --id-type-column (deprecated)
    #[arg(
        long = "identifier-type-column",
        value_name = "NAME",
        hide = true,
        conflicts_with = "id_type_column"
    )]
    pub old_identifier_type_column: Option<String>,

    /// Hightouch: the reprocessing path template, from the config file only (no flag).
    #[arg(skip)]
    pub path: Option<String>,
}

impl VendorArgs {
    /// The vendor settings given, by their key in the vendors' rows (`id_type`, `table`,
    /// ...; old names included). A new vendor flag adds one line here and one in
    /// [`VendorArgs::with_values`].
    pub fn values(&self) -> Values {
        let mut v = Values::default();
        v.set_opt("id_type", self.id_type.clone());
        v.set_opt("table", self.table.clone());
        v.set_opt("pod", self.pod.as_ref().map(name));
        v.set_opt("environment", self.environment.as_ref().map(name));
        v.set_opt("region", self.region.clone());
        v.set_opt("space", self.space.clone());
        v.set_opt("requester", self.requester.clone());
        v.set_opt("project_id", self.project_id.clone());
        v.set_opt("source", self.source.clone());
        v.set_opt("regulation_type", self.regulation_type.clone());
        v.set_opt("compliance_type", self.compliance_type.clone());
        v.set_opt("data_groups", self.data_groups.clone());
        v.set_opt("instance", self.instance.clone());
        v.set_opt("alias_label", self.alias_label.clone());
        v.set_opt("id_type_column", self.id_type_column.clone());
        v.set_opt("user_id_column", self.user_id_column.clone());
        v.set_opt("lookup_type", self.lookup_type.clone());
        v.set_opt("lookup_column", self.lookup_column.clone());
        v.set_opt("graph", self.graph.clone());
        v.set_opt("block", self.no_block.then_some("false"));
        v.set_opt("path", self.path.clone());
        v.set_opt(
            "source_data_deleted",
            self.source_data_deleted.then_some("true"),
        );
        v.set_opt("field", self.old_field.clone());
        v.set_opt("identity_type", self.old_identity_type.clone());
        v.set_opt("id_kind", self.old_id_kind.clone());
        v.set_opt("identifier_type", self.old_identifier_type.clone());
        v.set_opt(
            "identifier_type_column",
            self.old_identifier_type_column.clone(),
        );
        v
    }

    /// These flags with the vendor settings replaced by `v` (current names only, as the
    /// config file and [`crate::config`]'s merge give them; closed sets already checked).
    pub fn with_values(self, v: &Values) -> VendorArgs {
        let text = |k: &str| v.get(k).map(str::to_owned);
        VendorArgs {
            id_type: text("id_type"),
            table: text("table"),
            pod: v.get("pod").and_then(|s| Pod::from_str(s, false).ok()),
            environment: v
                .get("environment")
                .and_then(|s| Environment::from_str(s, false).ok()),
            region: text("region"),
            space: text("space"),
            requester: text("requester"),
            project_id: text("project_id"),
            source: text("source"),
            regulation_type: text("regulation_type"),
            compliance_type: text("compliance_type"),
            data_groups: text("data_groups"),
            instance: text("instance"),
            alias_label: text("alias_label"),
            id_type_column: text("id_type_column"),
            user_id_column: text("user_id_column"),
            lookup_type: text("lookup_type"),
            lookup_column: text("lookup_column"),
            graph: text("graph"),
            no_block: v.switch("block") == Some(false),
            path: text("path"),
            source_data_deleted: v.switch("source_data_deleted") == Some(true),
            old_field: None,
            old_identity_type: None,
            old_id_kind: None,
            old_identifier_type: None,
            old_identifier_type_column: None,
            ..self
        }
    }
}

/// A value enum's command-line name (`Pod::Eu1` → `eu1`).
fn name(v: &impl ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_owned())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub vendor: VendorArgs,

    /// Print the plan as one JSON object on stdout (one line per target)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub vendor: VendorArgs,

    #[command(flatten)]
    pub delivery: DeliveryArgs,

    /// Print the final summary as one JSON object on stdout
    #[arg(long)]
    pub json: bool,

    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Send nothing; print the plan (same as `cdp-purge plan`)
    #[arg(long)]
    pub dry_run: bool,

    /// Delete from a built-in sandbox of the vendor, started on 127.0.0.1 for this run, with
    /// its fake credentials: no account needed and nothing real is touched
    #[arg(long)]
    pub sandbox: bool,
}

/// Pacing, retries, ledger.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Delivery")]
pub struct DeliveryArgs {
    /// Ledger file (JSON Lines) [default: <first input>.ledger.<destination>.jsonl, one per
    /// input and destination; cdp-purge-stdin.ledger.<destination>.jsonl for stdin and pipes]
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,

    /// Store raw identifiers in the ledger (personal data; off by default)
    #[arg(long)]
    pub ledger_include_identifiers: bool,

    /// Append to a ledger that records runs to another destination (each destination still
    /// resumes only from its own records)
    #[arg(long)]
    pub ledger_any_destination: bool,

    /// Requests per second (default: the vendor's quota; above it only with a warning)
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,

    /// Identifiers per second (default: the vendor's quota; above it only with a warning)
    #[arg(long, value_name = "N")]
    pub max_items_per_sec: Option<f64>,

    /// The account's own quota terms, N/DURATION from 1s to 30d (e.g. 200000/30d): replaces
    /// the vendor's documented item quota (or request quota where it counts requests)
    #[arg(long, value_name = "N/DURATION")]
    pub max_per_window: Option<crate::vendor::Rate>,

    /// Requests in flight at once (default: the vendor's, enough to reach the quota at ~1 s latency)
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,

    /// Retries per batch after the first attempt [default: 8, or the config file's]
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,

    /// Longest wait between two attempts (also caps Retry-After)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub max_backoff: Duration,

    /// Per-request timeout (connect and total)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Resend identifiers the ledger records as permanently failed (not_found, invalid)
    #[arg(long)]
    pub retry_failed: bool,

    /// Stop the run when this many first identifiers all failed permanently for the same
    /// reason (a refused permission, a misspelt field, a wrong space): the configuration is
    /// wrong, not the data. Those identifiers are recorded as retryable, so the same
    /// command resends them once fixed
    #[arg(long, value_name = "N", default_value_t = crate::engine::breaker::DEFAULT_AFTER)]
    pub breaker_after: u64,

    /// Never stop for failures that look systemic (see --breaker-after): use it when the
    /// first identifiers really are unknown or invalid
    #[arg(long)]
    pub no_breaker: bool,
}

const CHECK_EXAMPLES: &str = "\
Examples:
  cdp-purge check --vendor lytics --id-type email
  cdp-purge check --target mp-prod --json
  cdp-purge check --all-targets

Exit 0 when every target is ok (or cannot be verified without deleting), 3 when a vendor
refused the credentials, 2 on a configuration or connection problem.";

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub vendor: VendorArgs,

    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,

    /// Timeout of the preflight call
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// The placeholder of `--ledger` when `--group` names the ledgers instead (clap wants a
/// non-empty default for a field that is not an `Option`; `required_unless_present` still
/// demands one of the two).
pub const NO_LEDGER: &str = "\u{0}no-ledger";

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The ledger a `delete` run wrote; status records are appended to it
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "group",
        default_value = NO_LEDGER,
        hide_default_value = true
    )]
    pub ledger: PathBuf,

    /// Every target of a `delete --group NAME` over the input given with -i (each target's
    /// own ledger and credentials); the exit code is the most urgent one
    #[arg(long, value_name = "NAME", conflicts_with = "ledger")]
    pub group: Option<String>,

    /// Poll this host instead of the one recorded in the ledger (mParticle --verify: the
    /// Profile API host)
    #[arg(long, value_name = "URL", env = "CDP_PURGE_BASE_URL")]
    pub base_url: Option<String>,

    /// Allow a plain http:// --base-url to a host other than this machine
    #[arg(long)]
    pub allow_insecure_http: bool,

    /// Read credentials from this file (KEY=VALUE lines, as the environment variables)
    #[arg(long, value_name = "FILE")]
    pub credentials_file: Option<PathBuf>,

    /// Read a vendor's credentials from the variables this config target names (repeatable,
    /// one per vendor); other vendors use the standard variables
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,

    /// Keep polling until every job is finished (or --until passes)
    #[arg(long)]
    pub watch: bool,

    /// With --watch: give up after this long and exit 1 if jobs are still pending
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "watch")]
    pub until: Option<Duration>,

    /// With --watch: the first wait between two polls; each wait is 1.5 times the last
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,

    /// With --watch: the longest wait between two polls
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub max_interval: Duration,

    /// Print the summary as one JSON object on stdout
    #[arg(long)]
    pub json: bool,

    /// Look up a random sample of N jobs per vendor instead of all of them, and report the
    /// 95% confidence interval of the share that is done. The same ledger and --seed pick
    /// the same sample
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub sample: Option<u64>,

    /// Look up at most N open (not yet finished) jobs or profiles per vendor in this
    /// invocation, or per --watch round: those never checked first, then the least recently
    /// checked. The others are counted, reported as not checked, and keep the exit code
    /// non-zero until a later invocation (or round) gets to them [default: about 30 s of
    /// lookups at the vendor's polling pace, e.g. 300 for Lytics at 10/s]
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..),
        conflicts_with_all = ["sample", "recheck"]
    )]
    pub limit: Option<u64>,

    /// With --sample: the seed that picks the sample [default: from the ledger's first run]
    #[arg(long, value_name = "N", requires = "sample")]
    pub seed: Option<u64>,

    /// Ask for each job's status one by one, never through the vendor's account-wide list
    /// (Lytics' deletestatus/list)
    #[arg(long)]
    pub per_job: bool,

    /// Look again at every identifier the ledger shows as deleted, even those already
    /// verified (deleted profiles come back), and record each answer with its time. Exit 1
    /// when any came back. An interrupted re-check is finished by the next one. mParticle
    /// needs the --verify settings and the input (-i FILE --column NAME)
    #[arg(long, conflicts_with_all = ["watch", "sample"])]
    pub recheck: bool,

    #[command(flatten)]
    pub polling: PollArgs,

    #[command(flatten)]
    pub verify: MparticleVerifyArgs,
}

/// Pacing and retries of status lookups (the same policy as `delete`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Polling")]
pub struct PollArgs {
    /// Lookups per second (default: the vendor's quota, which status polls share with deletions)
    #[arg(long, value_name = "N")]
    pub max_rps: Option<f64>,

    /// Lookups in flight at once (default: the vendor's)
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,

    /// Retries per lookup after the first attempt
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_retries: u32,

    /// Longest wait between two attempts (also caps Retry-After)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub max_backoff: Duration,

    /// Per-request timeout (connect and total)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// mParticle, Segment and CleverTap have no status API: `--verify` looks every deleted
/// identifier up in the vendor's profile API instead.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Verification by profile lookup")]
pub struct MparticleVerifyArgs {
    /// Look every deleted identifier up in the vendor's profile API: mParticle by MPID or
    /// through its resolve route (needs MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET, a
    /// credential with Profile API access); Segment's profile external ids; CleverTap's
    /// profile, 24 h after the deletion. Only the vendor's documented "not found" proves a
    /// deletion (mParticle by MPID, Segment); CleverTap and mParticle's resolve route
    /// document none, so they prove a profile present or nothing. Anything else is unknown
    #[arg(long)]
    pub verify: bool,

    /// OAuth token endpoint
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://sso.auth.mparticle.com/oauth/token"
    )]
    pub auth_url: String,

    /// mParticle organisation ID
    #[arg(long, value_name = "ID", env = "MPARTICLE_ORG_ID")]
    pub org_id: Option<String>,

    /// mParticle account ID
    #[arg(long, value_name = "ID", env = "MPARTICLE_ACCOUNT_ID")]
    pub account_id: Option<String>,

    /// mParticle workspace ID
    #[arg(long, value_name = "ID", env = "MPARTICLE_WORKSPACE_ID")]
    pub workspace_id: Option<String>,

    /// The input the run read, to recover the MPIDs (the ledger holds keyed hashes unless
    /// the run used --ledger-include-identifiers); `-` reads stdin
    #[arg(value_name = "FILE", requires = "verify")]
    pub files: Vec<PathBuf>,

    /// An input file, as the FILE arguments. Repeatable.
    #[arg(long = "input", short = 'i', value_name = "FILE")]
    pub inputs: Vec<PathBuf>,

    /// Column (CSV header) or key (JSON) holding the deleted identifiers in --input (MPIDs,
    /// mParticle identities, CleverTap identities, Segment external ids). With --group,
    /// each target reads the columns its own run read (from the group's index)
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Segment: the column holding each row's user_id (runs with --user-id-column) or the
    /// value its profile was looked up by (runs with --lookup-type) [default: --column]
    #[arg(long, visible_alias = "user-id-column", value_name = "NAME")]
    pub lookup_column: Option<String>,

    /// Input format of FILE (default: from the extension)
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

const STATUS_EXAMPLES: &str = "\
Examples:
  cdp-purge status --ledger users.csv.ledger.lytics-1a2b3c4d.jsonl
  cdp-purge status --ledger users.csv.ledger.lytics-1a2b3c4d.jsonl --watch --until 2h
  cdp-purge status --ledger big.csv.ledger.lytics-1a2b3c4d.jsonl --limit 3000    # from cron
  cdp-purge status --ledger mpids.csv.ledger.mparticle-3f9a1c2b.jsonl --verify --org-id 1 --account-id 2 \\
      --workspace-id 3 mpids.csv --column mpid
  cdp-purge status --ledger mpids.csv.ledger.mparticle-3f9a1c2b.jsonl --recheck --org-id 1 --account-id 2 \\
      --workspace-id 3 -i mpids.csv --column mpid
  cdp-purge status --ledger users.csv.ledger.segment-5e6f7a8b.jsonl --verify -i users.csv --column email \\
      --lookup-column user_id
  cdp-purge status --ledger ids.csv.ledger.clevertap-9c0d1e2f.jsonl --verify -i ids.csv --column identity

Without --sample or --recheck, one invocation (or --watch round) looks up at most --limit open
jobs per vendor, those never checked first, then the least recently checked; run it again (or
--watch) to work through the rest.

Exit status: 0 when every job finished and succeeded; 1 when some are still pending (Lytics
`secondary` is not done), not checked in this invocation, or failed, or a looked-up identifier is present or its answer
unknown (--verify), and with --recheck when a profile is present again or an answer is unknown; 3 when the vendor refused the credentials; 4 when only rate limits
(429) kept status from an answer.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    /// One line per kept input row: attach it to the data-subject request
    Csv,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The ledger to report on (read only). Repeatable with --proof: one ledger per
    /// destination
    #[arg(
        long = "ledger",
        value_name = "FILE",
        required_unless_present = "group"
    )]
    pub ledgers: Vec<PathBuf>,

    /// The first --ledger (the only one outside --proof).
    #[arg(skip)]
    pub ledger: PathBuf,

    /// Print the proof of a deletion for a data-subject-request ticket: per --ledger, what
    /// was sent and when, the vendor's IDs, every later check and its answer, and the
    /// ledger's chain head at each step. ROW is an input row number as `report --csv` shows
    /// it (FILE:ROW for one input file); or give --lookup VALUE
    #[arg(long, value_name = "ROW", num_args = 0.., value_delimiter = ',')]
    pub proof: Option<Vec<String>>,

    /// Per input row, the state at every target of a `delete --group NAME` over the input
    /// given with -i (one column per target; --csv or --json)
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with_all = ["ledgers", "verify", "lookup", "lookup_file", "proof"]
    )]
    pub group: Option<String>,

    /// Print the report as JSON
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Print one CSV line per kept input row: attach it to the data-subject request
    #[arg(long)]
    pub csv: bool,

    /// Old name of --json / --csv (deprecated: --format names the input format elsewhere)
    #[arg(long = "format", value_enum, hide = true, conflicts_with_all = ["json", "csv"])]
    pub old_format: Option<ReportFormat>,

    /// The output format, from --json, --csv or the old --format.
    #[arg(skip = ReportFormat::Text)]
    pub format: ReportFormat,

    /// What happened to this person? Hashed with the ledger's key (`<ledger>.key`); the
    /// value is never printed. Repeatable.
    #[arg(long, value_name = "VALUE")]
    pub lookup: Vec<String>,

    /// Like --lookup, one value per line (keeps the values out of shell history and `ps`)
    #[arg(long, value_name = "FILE")]
    pub lookup_file: Option<PathBuf>,

    /// Check the hash chain and the input files' SHA-256 digests; exit 1 if either does not match
    #[arg(long)]
    pub verify: bool,

    /// With --verify: hash FILE instead of the input recorded with the same file name (or,
    /// when no name matches, the recorded inputs in order)
    #[arg(value_name = "FILE", requires = "verify")]
    pub files: Vec<PathBuf>,

    /// An input to hash, as the FILE arguments (with --group: the input of the group's
    /// `delete`). Repeatable.
    #[arg(long = "input", short = 'i', value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
}

const REPORT_EXAMPLES: &str = "\
Examples:
  cdp-purge report --ledger users.csv.ledger.lytics-1a2b3c4d.jsonl
  cdp-purge report --ledger users.csv.ledger.lytics-1a2b3c4d.jsonl --csv > dsr-1234.csv
  cdp-purge report --ledger users.csv.ledger.lytics-1a2b3c4d.jsonl --lookup ann@example.com
  cdp-purge report --ledger users.csv.ledger.lytics-1a2b3c4d.jsonl --verify /archive/users.csv
  cdp-purge report --proof 12 --ledger users.csv.ledger.lytics-1a2b3c4d.jsonl \\
      --ledger users.csv.ledger.segment-5e6f7a8b.jsonl > dsr-1234-proof.txt

Exit status: 0; 1 when --verify finds a change, or a --lookup or --proof row matches no row.";

#[derive(Debug, Clone, Args)]
pub struct VendorsArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TargetsArgs {
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 8787)]
    pub port: u16,

    /// Faults to inject, e.g. 429=0.1,503=0.05,reset=0.02,seed=7 (see `--help`)
    #[arg(long, value_name = "SPEC", value_parser = crate::sandbox::parse_faults, long_help = crate::sandbox::FAULT_SPEC_HELP)]
    pub faults: Option<crate::sandbox::FaultPlan>,

    /// Do not enforce the vendors' quotas (no 429 for pace or concurrency)
    #[arg(long)]
    pub no_quota: bool,

    /// Another caller shares every quota and takes RATE of it per second, in the vendor's
    /// unit (profiles for mParticle, requests for Segment and Hightouch), e.g. 500
    #[arg(long, value_name = "RATE", value_parser = parse_competing_rate, conflicts_with = "no_quota")]
    pub competing_rate: Option<f64>,

    /// The other caller stops after this long (e.g. 20s); without it, it never stops
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "competing_rate")]
    pub competing_for: Option<Duration>,

    /// Hold every vendor request this long before answering (e.g. 100ms), like a real API
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0")]
    pub latency: Duration,
}

fn parse_competing_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "{s:?} is not a positive number of units per second"
        )),
    }
}

const SANDBOX_EXAMPLES: &str = "\
Examples:
  cdp-purge sandbox
  cdp-purge sandbox --port 0 --faults 429=0.1,reset=0.02,seed=7
  cdp-purge sandbox --competing-rate 500 --competing-for 20s
  cdp-purge delete --vendor lytics --base-url http://127.0.0.1:8787 ...";

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        "\"" | "\n" | "\r" => Err("the delimiter cannot be a quote or a line break".into()),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err("the delimiter must be one ASCII character (or \\t / tab)".into()),
    }
}

/// Parse `30s`, `1m30s`, `500ms`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err("a duration must be a non-negative number".into());
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 2m, 500ms)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_and_delimiters() {
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert!(parse_delimiter(";;").is_err());
    }
}
