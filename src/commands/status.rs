//! `cdp-purge status`: poll every vendor job a ledger recorded (Lytics delete requests,
//! Hightouch reprocessing requests), or with `--verify` look mParticle profiles up, and
//! append what was found to the same ledger. Out loud: progress on stderr, every fatal error
//! with its reason and exit code, errors grouped by reason, `-v`/`-vv` logs.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::audit::{self, View};
use crate::cli::{GlobalArgs, StatusArgs};
use crate::engine::limiter::{self, Overrides};
use crate::engine::retry::{RetryPolicy, time_scale_from_env};
use crate::exit::{self, Code, UserError};
use crate::ledger::Ledger;
use crate::printer::Printer;
use crate::settings;
use crate::status::jobs::{LookupPlan, SampleSpec, ValueSource};
use crate::status::obs::Interner;
use crate::status::select::Overlay;
use crate::status::{Poller, sample};
use crate::vendor::mparticle_lookup::{self as mparticle, ProfileApi, ProfileApiConfig};
use crate::vendor::verify::clevertap::CleverTapProfiles;
use crate::vendor::verify::segment::SegmentProfiles;
use crate::vendor::{self, Quota, Rate, VendorKind};

mod pick;
mod poll;
mod recheck;
mod summary;

use pick::{Selector, default_limit};
use poll::{Lookup, LoopOutcome, Tracked};
use summary::StatusSummary;

pub fn run(
    args: &StatusArgs,
    global: &GlobalArgs,
    printer: &Printer,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Code> {
    if let Some(group) = &args.group {
        return run_group(group, args, global, printer, rt);
    }
    run_ledger(args, None, global, printer, rt)
}

/// `status` over one ledger. `member`: the group target it belongs to, whose recorded
/// intake says how `-i` is re-read; otherwise `--column`/`--lookup-column` say.
fn run_ledger(
    args: &StatusArgs,
    member: Option<&crate::commands::delete::group::Member>,
    global: &GlobalArgs,
    printer: &Printer,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Code> {
    if args.ledger.as_os_str() == crate::cli::NO_LEDGER {
        return Err(
            UserError::usage("--ledger FILE is required (or --group NAME -i INPUT)").into(),
        );
    }
    audit::require_ledger(&args.ledger)?;
    // status appends to the ledger: it must not be the --input it re-reads.
    crate::input::refuse_outputs_over_inputs(&args.verify.inputs, &[("--ledger", &args.ledger)])?;
    let key = audit::existing_key(&args.ledger)?;
    if let Some(b) = &args.base_url {
        settings::check_base_url(b, args.allow_insecure_http)?;
    }
    // The lock first: a `delete` appending meanwhile would fork the chain.
    let ledger = Ledger::open(&args.ledger)?;
    // A multi-million-identifier ledger takes seconds to read: say so rather than sit silent.
    let size = std::fs::metadata(&args.ledger).map_or(0, |m| m.len());
    if size > 64 << 20 {
        printer.info(format!(
            "status: reading {} ({} MB)",
            args.ledger.display(),
            size >> 20
        ));
    }
    let view = View::open(&args.ledger)?;
    let intake = match member {
        Some(m) => group_intake(
            m,
            &view,
            &args.verify.inputs,
            args.verify.verify || args.recheck,
        )?,
        None => None,
    };
    // A group's input is its index's key; only a target that re-reads it looks values up.
    let inputs: &[std::path::PathBuf] = match (member, &intake) {
        (Some(_), None) => &[],
        _ => &args.verify.inputs,
    };
    let file_creds = match args.credentials_file.as_deref() {
        Some(path) => settings::read_credentials_file(path)?,
        None => Default::default(),
    };
    let p = &args.polling;
    let retry = RetryPolicy::new(p.max_retries, p.max_backoff, time_scale_from_env());
    let seed = args.seed.unwrap_or_else(|| {
        sample::seed_of(view.runs.first().map_or("", |r| r.header.run_id.as_str()))
    });
    let mut strings = Interner::default();
    // Credentials read through config targets, by vendor.
    let mut target_creds = std::collections::HashMap::new();
    for name in &args.targets {
        let (vendor, creds) = crate::config::target_credentials(
            name,
            global.config.as_deref(),
            args.credentials_file.as_deref(),
        )?;
        if target_creds.insert(vendor, creds).is_some() {
            return Err(UserError::usage(format!(
                "two --target for {}: status needs one set of credentials per vendor",
                vendor.info().name
            ))
            .into());
        }
    }

    let sampling = args.sample.map(|size| SampleSpec { size, seed });
    let src = ValueSource {
        inputs,
        column: args.verify.column.as_deref(),
        lookup_column: args.verify.lookup_column.as_deref(),
        format: args.verify.format,
        intake: intake.as_ref(),
        hashes: Default::default(),
    };
    let limit_of =
        |v: &'static vendor::VendorSpec| args.limit.unwrap_or_else(|| default_limit(v, p));
    let selector = Selector {
        view: &view,
        key: &key,
        base_url: args.base_url.as_deref(),
        src: &src,
        verify: args.verify.verify || args.recheck,
        recheck: args.recheck,
        sampling,
        limit: &limit_of,
    };
    let (picked, unverifiable) = selector.pick(&mut strings, &[])?;
    // A group's target, with the credentials of its --target or the environment.
    let target_of = |g: &crate::status::jobs::Group, kind| -> anyhow::Result<vendor::Target> {
        let mut target = vendor::Target::of_group(g)?;
        target.credentials = match target_creds.get(&kind) {
            Some(c) => c.clone(),
            None => settings::load_credentials(kind, args.credentials_file.as_deref())?,
        };
        Ok(target)
    };
    let mut tracked = Vec::new();
    for (g, verified) in picked {
        let info = g.vendor;
        let kind = VendorKind::of(info);
        let open = args.recheck || poll::has_open_jobs(&g);
        let Some(base) = verified else {
            // A refused credential's hint names the variables this invocation read.
            let mut auth_hint = None;
            let lookup = if open {
                let target = target_of(&g, kind)?;
                auth_hint = Some(format!("check {}", target.vars()));
                Lookup::Job(vendor::adapter(&target)?)
            } else {
                Lookup::Idle
            };
            let limits = polling_limits(&info.quota, info.default_concurrency, p, printer)?;
            tracing::info!(
                "{}: {} jobs of run(s) {} at {}; limits: {limits}",
                info.name,
                g.population,
                g.run_ids.join(", "),
                g.base_url
            );
            let poller = Poller::new(g.vendor, limits, retry.clone(), p.timeout, auth_hint)?;
            tracked.push(Tracked::new(g, lookup, poller, args.per_job));
            continue;
        };
        let (lookup, quota, concurrency, hint) = match kind {
            VendorKind::Mparticle => (
                open.then(|| -> anyhow::Result<Lookup> {
                    let api = ProfileApi::new(profile_config(args, &base, &file_creds)?);
                    Ok(Lookup::Profile(Arc::new(api)))
                }),
                profile_api_quota(),
                PROFILE_API_CONCURRENCY,
                format!(
                    "check {} and {} (a credential with Profile API access)",
                    mparticle::CLIENT_ID,
                    mparticle::CLIENT_SECRET
                ),
            ),
            _ => {
                let target = open.then(|| target_of(&g, kind)).transpose()?;
                let hint = target
                    .as_ref()
                    .map_or_else(String::new, |t| format!("check {}", t.vars()));
                let lookup = target.map(|t| -> anyhow::Result<Lookup> {
                    Ok(match kind {
                        VendorKind::Segment => {
                            Lookup::Segment(Arc::new(SegmentProfiles::new(&t, key)?))
                        }
                        _ => Lookup::Clevertap(Arc::new(CleverTapProfiles::new(&t)?)),
                    })
                });
                (lookup, info.quota, info.default_concurrency, hint)
            }
        };
        let lookup = match lookup {
            Some(l) => l?,
            None => Lookup::Idle,
        };
        let limits = polling_limits(&quota, concurrency, p, printer)?;
        tracing::info!(
            "{} profile lookups: {} identifiers of run(s) {} at {}; limits: {limits}",
            info.name,
            g.population,
            g.run_ids.join(", "),
            g.base_url
        );
        let poller = Poller::new(info, limits, retry.clone(), p.timeout, Some(hint))?;
        tracked.push(Tracked::new(g, lookup, poller, true));
    }
    let pass = args.recheck.then(|| recheck::Pass::find(&view));
    if let Some(pass) = &pass {
        for t in &mut tracked {
            pass.begin(t, &mut strings);
        }
        recheck::set_size(&mut tracked, pass);
        printer.info(format!(
            "status: re-check pass {}{}",
            pass.id,
            if pass.resumed {
                " (finishing the pass an earlier invocation started)"
            } else {
                ""
            }
        ));
    }
    if let Some(n) = args.sample {
        for t in &tracked {
            tracing::info!(
                "{}: sampling {} of {} (seed {seed})",
                t.group.vendor.name,
                n.min(t.group.population),
                t.group.population
            );
        }
    }

    let handle = ledger.handle();
    let mut reselect = |overlays: &[Option<&Overlay>]| {
        Ok(selector
            .pick(&mut strings, overlays)?
            .0
            .into_iter()
            .map(|(g, _)| g)
            .collect())
    };
    let outcome = rt.block_on(poll::watch_loop(
        args,
        printer,
        &mut tracked,
        &handle,
        &mut reselect,
    ));
    drop(handle);
    let closed = ledger.close();
    let outcome: LoopOutcome = outcome?;
    closed?;

    let report = StatusSummary::build(
        &view,
        &tracked,
        &unverifiable,
        &outcome,
        args.verify.verify || args.recheck,
        args.sample.map(|_| seed),
        pass.as_ref().map(|p| p.resumed),
    );
    if args.json {
        printer.json_pretty(&report.json())?;
    } else {
        printer.summary(&report.text())?;
    }
    let errors = report.error_lines();
    if !errors.is_empty() {
        printer.info(errors.trim_end());
    }
    if outcome.timed_out {
        printer.info(report.timeout_message(args.until.unwrap_or_default()));
    }
    if let Some((reason, hint, auth)) = outcome.fatal {
        let code = exit::fatal(auth);
        // Said here rather than through the error boundary so the exit code is named too:
        // a status run that stops must say why and what it exits with.
        printer.error(
            reason,
            &[],
            Some(&format!(
                "{hint}\n  exit {}: {}",
                code as u8,
                code.describe()
            )),
        );
        return Ok(code);
    }
    Ok(report.code())
}

/// Lookups in flight at once at mParticle's Profile API.
const PROFILE_API_CONCURRENCY: u32 = 8;

/// How each vendor verified by lookups looks a run's identifiers up, from its header.
fn lookup_plan(kind: VendorKind) -> LookupPlan<'static> {
    match kind {
        // By MPID, or any other identity through the resolve route.
        VendorKind::Mparticle => LookupPlan {
            kind_of: &|run| run.header.account.get("identity_type").cloned(),
            needs_lookup: false,
            what: "MPIDs or identities",
        },
        // The profile is found the way the deletion found it.
        VendorKind::Segment => LookupPlan {
            // `lookup_type` is part of the destination (schema 2), or of the account.
            kind_of: &|run| {
                let h = &run.header;
                let recorded = h
                    .destination
                    .as_ref()
                    .and_then(|d| d.params.get("lookup_type"))
                    .or_else(|| h.account.get("lookup_type"));
                Some(recorded.cloned().unwrap_or_else(|| "user_id".into()))
            },
            needs_lookup: true,
            what: "user_ids (or lookup values)",
        },
        // Only 24 h after the run's last answer: CleverTap processes deletions then.
        _ => LookupPlan {
            kind_of: &|run| {
                let at = run.end.as_ref()?.ended_at.as_str();
                crate::audit::view::verifiable_now(at).then(|| {
                    run.header
                        .account
                        .get("id_kind")
                        .cloned()
                        .unwrap_or_else(|| "identity".into())
                })
            },
            needs_lookup: false,
            what: "identities",
        },
    }
}

/// The Profile API's own quota: mParticle's default service limits page says "starting at
/// 15 requests per second"; `--max-rps` raises it for accounts with more.
fn profile_api_quota() -> Quota {
    Quota {
        requests: Some(Rate::per_second(mparticle::DEFAULT_RPS)),
        items: None,
        in_flight: None,
        documented: true,
    }
}

/// The pace of status requests (one item each) under the vendor's quota and the user's
/// `--max-rps`/`--concurrency`; the limiter's warnings are printed.
fn polling_limits(
    quota: &Quota,
    concurrency: u32,
    p: &crate::cli::PollArgs,
    printer: &Printer,
) -> anyhow::Result<limiter::Limits> {
    let (limits, warnings) = limiter::resolve(
        quota,
        concurrency,
        1,
        Overrides {
            max_rps: p.max_rps,
            max_items_per_sec: None,
            concurrency: p.concurrency,
            max_per_window: None,
        },
    )?;
    warn(&warnings, printer);
    Ok(limits)
}

fn warn(warnings: &[String], printer: &Printer) {
    for w in warnings {
        printer.warn(w);
    }
}

fn profile_config(
    args: &StatusArgs,
    base: &str,
    file: &BTreeMap<String, String>,
) -> anyhow::Result<ProfileApiConfig> {
    let v = &args.verify;
    let need = |o: &Option<String>, flag: &str, env: &str| {
        o.clone().ok_or_else(|| {
            UserError::usage(format!("--verify needs {flag}"))
                .with_hint(format!("pass {flag} ID or export {env}=ID"))
        })
    };
    let secret = |name: &str| {
        settings::credential(name, file).ok_or_else(|| {
            UserError::usage(format!("--verify needs {name}"))
                .with_hint(format!(
                    "export {name}=... or put it in a --credentials-file (the Profile API credential, not the bulk-deletion key)"
                ))
        })
    };
    let org_id = need(&v.org_id, "--org-id", "MPARTICLE_ORG_ID")?;
    let account_id = need(&v.account_id, "--account-id", "MPARTICLE_ACCOUNT_ID")?;
    let workspace_id = need(&v.workspace_id, "--workspace-id", "MPARTICLE_WORKSPACE_ID")?;
    // Checked before any lookup: a typo here would otherwise show only as an undocumented
    // answer from the Profile API.
    mparticle::check_ids(&org_id, &account_id, &workspace_id).map_err(|e| {
        UserError::usage(e).with_hint(
            "the IDs are in the Profile API credential's details and in the mParticle UI's URL",
        )
    })?;
    let client_id = secret(mparticle::CLIENT_ID)?;
    let client_secret = secret(mparticle::CLIENT_SECRET)?;
    Ok(ProfileApiConfig {
        auth_url: v.auth_url.clone(),
        base_url: base.trim_end_matches('/').to_owned(),
        org_id,
        account_id,
        workspace_id,
        client_id_var: client_id
            .origin()
            .unwrap_or(mparticle::CLIENT_ID)
            .to_owned(),
        client_secret_var: client_secret
            .origin()
            .unwrap_or(mparticle::CLIENT_SECRET)
            .to_owned(),
        client_id,
        client_secret,
    })
}

/// `status --group NAME -i INPUT`: each target's ledger in turn, with that target's
/// credentials; one line per target at the end and the most urgent exit code. A target
/// verified by profile lookups (`--verify`, `--recheck`) re-reads INPUT the way its own
/// intake read it (from the group's index), and only if INPUT is, byte for byte, the input
/// its ledger recorded: another file's values would be looked up under this ledger's rows.
fn run_group(
    group: &str,
    args: &StatusArgs,
    global: &GlobalArgs,
    printer: &Printer,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Code> {
    let Some(input) = args.verify.inputs.first() else {
        return Err(crate::exit::UserError::usage(format!(
            "status --group {group} needs the input the group's `delete` read: -i FILE"
        ))
        .into());
    };
    let members = crate::commands::delete::group::read_index(input, group)?;
    let mut results = Vec::with_capacity(members.len());
    for m in &members {
        printer.important(format!("cdp-purge: target {} ({}):", m.target, m.vendor));
        let mut one = args.clone();
        one.group = None;
        one.ledger = m.ledger.clone();
        one.targets = vec![m.target.clone()];
        let code = match run_ledger(&one, Some(m), global, printer, rt) {
            Ok(c) => c,
            Err(e) => crate::exit::report(printer, &e),
        };
        results.push((m, code));
        if code.is_signal() {
            break;
        }
    }
    crate::commands::delete::group::print_summary(
        printer,
        args.json,
        results.iter().map(|(m, c)| (*m, *c)),
    )
}

/// How target `m` re-reads the group's input `given` to look its profiles up: its recorded
/// intake, once the input is shown to be the one its ledger recorded. `None` when it looks
/// nothing up (a vendor with a job status, or no `--verify`/`--recheck`); an error, and no
/// lookup at all, when the input cannot be shown to be the same.
fn group_intake(
    m: &crate::commands::delete::group::Member,
    view: &View,
    given: &[std::path::PathBuf],
    verify: bool,
) -> anyhow::Result<Option<crate::input::IntakeSpec>> {
    let looks_up = vendor::VENDORS
        .iter()
        .any(|v| v.id == m.vendor && matches!(v.status, vendor::StatusSupport::Lookup { .. }));
    if !verify || !looks_up {
        return Ok(None);
    }
    let refuse = |why: String| -> anyhow::Error {
        UserError::usage(format!(
            "target {}: {why}: its profiles are not looked up and nothing is recorded for them",
            m.target
        ))
        .with_hint(format!(
            "pass the file the group's `delete` read, unchanged; or verify this target alone: `status --verify --ledger {} -i FILE --column NAME`",
            m.ledger.display()
        ))
        .into()
    };
    let Some(replay) = crate::commands::delete::group::Replay::of(m, given, view) else {
        return Err(refuse(
            "the group's index records no intake for it (or it read stdin), so the input cannot be re-read as it was"
                .into(),
        ));
    };
    let stats = crate::input::run(&replay.spec, &mut |_| Ok(()), &mut |_| Ok(())).map_err(|e| {
        refuse(format!(
            "its input cannot be re-read as its run read it ({e})"
        ))
    })?;
    if !replay.same_input(&stats) {
        let given: Vec<String> = given.iter().map(|p| p.display().to_string()).collect();
        return Err(refuse(format!(
            "{} is not the input its ledger recorded (its SHA-256 differs)",
            given.join(", ")
        )));
    }
    Ok(Some(replay.spec))
}
