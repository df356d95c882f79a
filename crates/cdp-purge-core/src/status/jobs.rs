//! What `status` has to look up, worked out from the ledger: the vendor jobs per target
//! (the host and account each run's header recorded), and for the vendors verified by
//! looking profiles up (mParticle, Segment, CleverTap) the identifiers to verify, with the
//! raw values the lookups need recovered from the ledger or the input.

use std::collections::{BTreeMap, HashMap};

use xxhash_rust::xxh3::{xxh3_128, xxh3_128_with_seed};

use super::obs::{Interner, Obs, Phase, checked_ms};
use super::sample::{self, Reservoir};
use super::select::{Age, LeftOut, Oldest, Overlay, Tally};
pub use super::values::ValueSource;
use super::values::{input_hashes, recover_values};
use crate::audit::view::Run;
use crate::audit::{Brief, View};
use crate::error::UserError;
use crate::input::dedupe::HashSet128;
use crate::ledger::{Header, StatusCheck};
use crate::protocol::{StatusSupport, VendorSpec};

/// What one lookup is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A vendor request/job ID.
    Job(String),
    /// A deleted identifier looked up in the vendor's profile API, by its keyed hash.
    Profile(String),
}

#[derive(Debug, Clone)]
pub struct Job {
    pub subject: Subject,
    /// The run that recorded it: an index into [`Group::run_ids`].
    pub run: u32,
    /// The raw identifier (an MPID, a CleverTap identity, a Segment external id): personal
    /// data, never printed.
    pub value: Option<String>,
    /// Segment: the value the profile is found by (the row's user_id, or with
    /// `--lookup-type` the value looked up), from the re-read input.
    pub lookup: Option<String>,
    /// The latest status the ledger already has (or, in a later `--watch` round, the
    /// latest answer of this invocation).
    pub recorded: Option<Obs>,
    /// `recorded` is an answer of this invocation.
    pub seen_now: bool,
}

impl Job {
    /// The vendor job ID (Lytics request_id, Hightouch requestId), if it is a job.
    pub fn vendor_id(&self) -> Option<&str> {
        match &self.subject {
            Subject::Job(id) => Some(id),
            Subject::Profile(_) => None,
        }
    }
    /// The identifier hash, if it is a profile lookup.
    pub fn id_hmac(&self) -> Option<&str> {
        match &self.subject {
            Subject::Profile(h) => Some(h),
            Subject::Job(_) => None,
        }
    }
}

/// Where one vendor's jobs are polled.
#[derive(Debug, Clone)]
pub struct Group {
    pub vendor: &'static VendorSpec,
    /// The scheme and host the runs talked to (or `--base-url`).
    pub base_url: String,
    pub account: BTreeMap<String, String>,
    pub run_ids: Vec<String>,
    /// The jobs looked at: all of them (`--recheck`), the sample, or the open ones this
    /// invocation takes (see [`Pick`]).
    pub jobs: Vec<Job>,
    /// Distinct jobs (or profiles) in the ledger, sampled or not.
    pub population: u64,
    /// With [`Pick::Open`]: the jobs not in `jobs`, counted.
    pub tally: Option<Tally>,
    /// Profile lookups: how each run's identifiers are looked up (parallel to `run_ids`):
    /// `mpid` or an identity type to resolve (mParticle), `user_id` or the `--lookup-type`
    /// (Segment), `identity` or `guid` (CleverTap). Empty for jobs.
    pub run_kinds: Vec<String>,
}

impl Group {
    /// How job `j`'s identifier is looked up (see [`Group::run_kinds`]).
    pub fn kind_of(&self, j: &Job) -> &str {
        self.run_kinds
            .get(j.run as usize)
            .map_or("", String::as_str)
    }
}

/// `status --sample N`: how many jobs of each group to look at, and the seed that picks them.
#[derive(Debug, Clone, Copy)]
pub struct SampleSpec {
    pub size: u64,
    pub seed: u64,
}

impl SampleSpec {
    /// The reservoir a group's jobs are drawn into. Each group gets its own stream from the
    /// seed, so two vendors do not share positions; keyed by what the group is, not by the
    /// host it was reached at.
    fn reservoir(&self, vendor: &str, account: &BTreeMap<String, String>) -> Reservoir<Job> {
        let seed = self.seed ^ sample::seed_of(&format!("{vendor}{account:?}"));
        Reservoir::new(usize::try_from(self.size).unwrap_or(usize::MAX), seed)
    }
}

/// Which of a group's distinct subjects become [`Job`]s (the rest are only counted).
#[derive(Clone, Copy)]
pub enum Pick<'a> {
    /// Every one, terminal or not (`--recheck`, which looks again at those already
    /// deleted).
    All,
    /// A reproducible random sample of all of them (`--sample N`).
    Sample(SampleSpec),
    /// At most `limit(vendor)` open ones, the least recently checked first (see
    /// [`super::select`]); `overlays[g]` is what this invocation already learnt of group
    /// `g`'s subjects (job groups in [`job_groups`] order; the one group of
    /// [`lookup_group`] is 0).
    Open {
        limit: &'a dyn Fn(&'static VendorSpec) -> u64,
        overlays: &'a [Option<&'a Overlay>],
    },
}

/// Walks a ledger's final rows (in file order, once) for the distinct subjects of each
/// group, building a [`Job`] only for the ones the pick keeps. A ledger of millions of jobs
/// never has them all in memory: a `Job` is a few hundred bytes, and 5 M of them were
/// 2 GB. File order, not the report's sorted order: sorting holds a key per row, and
/// which order a sample is drawn from does not matter as long as the same ledger and seed
/// give the same jobs.
struct Distinct {
    /// 128-bit hashes of (group, subject): 16 bytes per distinct subject, not a `String`.
    seen: HashSet128,
    /// Distinct subjects met so far per group.
    count: Vec<u64>,
}

impl Distinct {
    fn new(groups: usize) -> Self {
        Self {
            seen: HashSet128::new(),
            count: vec![0; groups],
        }
    }

    /// Whether this is the subject's first row in its group.
    fn first(&mut self, group: usize, subject: &str) -> bool {
        let new = self
            .seen
            .insert(xxh3_128_with_seed(subject.as_bytes(), group as u64));
        self.count[group] += u64::from(new);
        new
    }
}

/// What [`distinct_jobs`] picked, per group.
struct Picked {
    jobs: Vec<Vec<Job>>,
    population: Vec<u64>,
    /// With [`Pick::Open`]: what was left out, counted.
    tallies: Vec<Option<Tally>>,
}

/// How the pick goes, per group.
enum Picking {
    All(Vec<Vec<Job>>),
    Sample(Vec<Reservoir<Job>>),
    Open {
        heaps: Vec<Oldest<Job>>,
        tallies: Vec<Tally>,
    },
}

/// The distinct subjects (`subject` of a row: `(group, key)`, or `None` to skip it) of every
/// group, in ledger file order: `build` makes the `Job` of each one the pick keeps.
/// `recorded`: the ledger's latest status record per subject key.
fn distinct_jobs(
    view: &View,
    groups: &[(&'static VendorSpec, &BTreeMap<String, String>)],
    pick: Pick<'_>,
    recorded: &HashMap<&str, &StatusCheck>,
    subject: &dyn for<'a> Fn(&Brief<'a>) -> Option<(usize, &'a str)>,
    usable: &dyn Fn(&Brief<'_>) -> bool,
    build: &mut dyn FnMut(usize, &Brief<'_>) -> Job,
) -> anyhow::Result<Picked> {
    let mut picking = match pick {
        Pick::All => Picking::All(groups.iter().map(|_| Vec::new()).collect()),
        Pick::Sample(s) => {
            Picking::Sample(groups.iter().map(|(v, a)| s.reservoir(v.id, a)).collect())
        }
        Pick::Open { limit, .. } => {
            let limits: Vec<u64> = groups.iter().map(|(v, _)| limit(v)).collect();
            Picking::Open {
                heaps: limits
                    .iter()
                    .map(|&l| Oldest::new(usize::try_from(l).unwrap_or(usize::MAX)))
                    .collect(),
                tallies: limits.iter().map(|&l| Tally::new(l)).collect(),
            }
        }
    };
    let overlays = match pick {
        Pick::Open { overlays, .. } => overlays,
        _ => &[],
    };
    let mut d = Distinct::new(groups.len());
    view.for_each_brief(&mut |row| {
        let Some((g, key)) = subject(&row) else {
            return Ok(());
        };
        if !d.first(g, key) {
            return Ok(());
        }
        match &mut picking {
            Picking::All(jobs) => jobs[g].push(build(g, &row)),
            Picking::Sample(r) => r[g].offer(|| build(g, &row)),
            Picking::Open { heaps, tallies } => {
                let tally = &mut tallies[g];
                let now = overlays.get(g).copied().flatten().and_then(|o| o.get(key));
                let was = recorded.get(key);
                let (phase, checked_ms) = match (&now, was) {
                    (Some(o), _) => (Some(o.phase), Some(o.checked_ms)),
                    (None, Some(c)) => (Some(Phase::parse(&c.state)), Some(checked_ms(c))),
                    (None, None) => (None, None),
                };
                if let Some(p) = phase.filter(|p| p.is_terminal()) {
                    match (&now, was) {
                        (Some(o), _) => tally.terminal(p, o.label()),
                        (None, Some(c)) => {
                            tally.terminal(p, c.vendor_state.as_deref().unwrap_or(p.as_str()))
                        }
                        (None, None) => {}
                    }
                    return Ok(());
                }
                tally.open += 1;
                if !usable(&row) {
                    // Never looked up (its value is nowhere to be had), so never checked:
                    // it must not take a place in every invocation's selection.
                    tally.no_value += 1;
                    tally.left_out(None);
                    return Ok(());
                }
                let age = Age {
                    checked_ms,
                    pos: d.count[g] - 1,
                };
                let out = heaps[g].offer(age, || {
                    let mut j = build(g, &row);
                    if let Some(o) = now.clone() {
                        j.recorded = Some(o);
                        j.seen_now = true;
                    }
                    j
                });
                match out {
                    None => {}
                    Some(LeftOut::Offered) => tally.left_out(now.as_ref()),
                    Some(LeftOut::Kept(j)) => {
                        tally.left_out(j.recorded.as_ref().filter(|_| j.seen_now));
                    }
                }
            }
        }
        Ok(())
    })?;
    let (jobs, tallies) = match picking {
        Picking::All(jobs) => (jobs, groups.iter().map(|_| None).collect()),
        Picking::Sample(r) => (
            r.into_iter().map(Reservoir::into_sorted).collect(),
            groups.iter().map(|_| None).collect(),
        ),
        Picking::Open { heaps, tallies } => (
            heaps.into_iter().map(Oldest::into_sorted).collect(),
            tallies.into_iter().map(Some).collect(),
        ),
    };
    Ok(Picked {
        jobs,
        population: d.count,
        tallies,
    })
}

/// `https://host:port` of a header's endpoint (`DELETE https://host/path...`).
pub fn host_of(endpoint: &str) -> Option<String> {
    let url = endpoint.split_whitespace().last()?;
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The row of the vendor a run's header names, among `vendors` (the adapters' registry).
pub fn vendor_of(h: &Header, vendors: &'static [VendorSpec]) -> Option<&'static VendorSpec> {
    vendors.iter().find(|v| v.id == h.vendor)
}

/// Vendor jobs per target, for the vendors with a status API, picked by `pick`.
pub fn job_groups(
    vendors: &'static [VendorSpec],
    view: &View,
    base_override: Option<&str>,
    strings: &mut Interner,
    pick: Pick<'_>,
) -> anyhow::Result<Vec<Group>> {
    let recorded = view.job_states();
    let mut groups: Vec<Group> = Vec::new();
    let mut run_group: HashMap<usize, usize> = HashMap::new();
    for (i, run) in view.runs.iter().enumerate() {
        let Some(kind) = vendor_of(&run.header, vendors) else {
            continue;
        };
        if kind.status != StatusSupport::Jobs {
            continue;
        }
        let base_url = match base_override {
            Some(b) => b.trim_end_matches('/').to_owned(),
            None => host_of(&run.header.endpoint).ok_or_else(|| {
                UserError::usage(format!(
                    "the ledger header of run {} has no usable endpoint",
                    run.header.run_id
                ))
                .with_hint("pass --base-url")
            })?,
        };
        let g = match groups.iter().position(|g| {
            g.vendor.id == kind.id && g.base_url == base_url && g.account == run.header.account
        }) {
            Some(g) => g,
            None => {
                groups.push(Group {
                    vendor: kind,
                    base_url,
                    account: run.header.account.clone(),
                    run_ids: Vec::new(),
                    jobs: Vec::new(),
                    population: 0,
                    tally: None,
                    run_kinds: Vec::new(),
                });
                groups.len() - 1
            }
        };
        groups[g].run_ids.push(run.header.run_id.clone());
        run_group.insert(i, g);
    }
    if run_group.is_empty() {
        // No run with a status API: no need to read the rows.
        return Ok(groups);
    }
    let keys: Vec<(&'static VendorSpec, &BTreeMap<String, String>)> =
        groups.iter().map(|g| (g.vendor, &g.account)).collect();
    let run_ids: Vec<Vec<String>> = groups.iter().map(|g| g.run_ids.clone()).collect();
    let picked = distinct_jobs(
        view,
        &keys,
        pick,
        &recorded,
        &|row| {
            let g = *run_group.get(&row.run)?;
            let id = row.vendor_id?;
            row.status.is_success().then_some((g, id))
        },
        &|_| true,
        &mut |g, row| {
            let id = row.vendor_id.unwrap_or_default().to_owned();
            let run_id = &view.runs[row.run].header.run_id;
            Job {
                run: run_ids[g]
                    .iter()
                    .position(|r| r == run_id)
                    .unwrap_or_default() as u32,
                value: None,
                lookup: None,
                recorded: recorded
                    .get(id.as_str())
                    .map(|c| Obs::from_check(c, strings)),
                seen_now: false,
                subject: Subject::Job(id),
            }
        },
    )?;
    let Picked {
        jobs,
        population,
        tallies,
    } = picked;
    for (((g, j), n), t) in groups.iter_mut().zip(jobs).zip(population).zip(tallies) {
        g.jobs = j;
        g.population = n;
        g.tally = t;
    }
    Ok(groups)
}

/// What [`lookup_group`] needs to know about one vendor verified by profile lookups.
pub struct LookupPlan<'a> {
    /// How a run's identifiers are looked up, from its header (`None`: this tool cannot
    /// verify that run's deletions; it is returned as unverifiable).
    pub kind_of: &'a dyn Fn(&Run) -> Option<String>,
    /// The lookups need [`Job::lookup`] (Segment) rather than [`Job::value`].
    pub needs_lookup: bool,
    /// What the values are, for the error when the input is missing ("MPIDs").
    pub what: &'a str,
}

/// The profiles of a vendor whose deletions are confirmed by looking profiles up
/// ([`StatusSupport::Lookup`]): acknowledged items of its runs that `plan` can verify.
/// Returns the group and the runs that cannot be confirmed this way. With [`Pick::All`]
/// (`--recheck`), profiles already verified deleted are looked up again too, so their
/// values are needed as well.
#[allow(clippy::too_many_arguments)]
pub fn lookup_group(
    vendor: &'static VendorSpec,
    view: &View,
    key: &[u8; 32],
    base_url: &str,
    src: &ValueSource<'_>,
    plan: &LookupPlan<'_>,
    strings: &mut Interner,
    pick: Pick<'_>,
) -> anyhow::Result<(Option<Group>, Vec<String>)> {
    let recheck = matches!(pick, Pick::All);
    let StatusSupport::Lookup { .. } = vendor.status else {
        return Ok((None, Vec::new()));
    };
    let recorded = view.profile_states();
    let mut verifiable = Vec::new();
    let mut run_kinds = Vec::new();
    let mut other = Vec::new();
    let mut account = BTreeMap::new();
    for (i, run) in view.runs.iter().enumerate() {
        if run.header.vendor != vendor.id {
            continue;
        }
        match (plan.kind_of)(run) {
            Some(kind) => {
                verifiable.push(i);
                run_kinds.push(kind);
                account = run.header.account.clone();
            }
            None => other.push(run.header.run_id.clone()),
        }
    }
    if verifiable.is_empty() {
        return Ok((None, other));
    }
    let run_ids: Vec<String> = verifiable
        .iter()
        .map(|&i| view.runs[i].header.run_id.clone())
        .collect();
    // A bounded pick takes only profiles whose value can be had (from the ledger, or the
    // given input): one the input lacks would be picked first by every invocation (never
    // checked) and hold the others back for good.
    let in_input = match pick {
        Pick::Open { .. } if !src.inputs.is_empty() => Some(input_hashes(key, src, plan)?),
        _ => None,
    };
    let usable = |row: &Brief<'_>| {
        (!plan.needs_lookup && row.value.is_some())
            || in_input.is_none_or(|s| s.contains(xxh3_128(row.id_hmac.as_bytes())))
    };
    let picked = distinct_jobs(
        view,
        &[(vendor, &account)],
        pick,
        &recorded,
        &|row| {
            (verifiable.contains(&row.run) && row.status.is_success()).then_some((0, row.id_hmac))
        },
        &usable,
        &mut |_, row| {
            let run_id = &view.runs[row.run].header.run_id;
            Job {
                subject: Subject::Profile(row.id_hmac.to_owned()),
                run: run_ids.iter().position(|r| r == run_id).unwrap_or_default() as u32,
                value: row.value.map(str::to_owned),
                lookup: None,
                recorded: recorded
                    .get(row.id_hmac)
                    .map(|c| Obs::from_check(c, strings)),
                seen_now: false,
            }
        },
    )?;
    let (Some(mut jobs), Some(population)) = (
        picked.jobs.into_iter().next(),
        picked.population.first().copied(),
    ) else {
        return Ok((None, other));
    };
    let tally = picked.tallies.into_iter().next().flatten();
    let lacks = |j: &Job| {
        if plan.needs_lookup {
            j.lookup.is_none()
        } else {
            j.value.is_none()
        }
    };
    let missing = jobs
        .iter()
        .filter(|j| {
            lacks(j) && (recheck || !j.recorded.as_ref().is_some_and(|c| c.phase.is_terminal()))
        })
        .count();
    if missing > 0 {
        recover_values(&mut jobs, key, src, plan, missing)?;
    }
    Ok((
        Some(Group {
            vendor,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account,
            run_ids,
            jobs,
            population,
            tally,
            run_kinds,
        }),
        other,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_endpoints() {
        assert_eq!(
            host_of("DELETE http://127.0.0.1:8787/v2/identity/queue/bulk/user/email").as_deref(),
            Some("http://127.0.0.1:8787")
        );
        assert_eq!(
            host_of("POST https://api.hightouch.com/api/v1/idr/g/queue-for-reprocessing")
                .as_deref(),
            Some("https://api.hightouch.com")
        );
        assert_eq!(host_of("nonsense"), None);
    }
}
