//! `status --recheck`: look again at every identifier the ledger shows as deleted, because
//! deleted profiles come back (Lytics and Hightouch rebuild them from source data, Segment
//! from an Event Archive replay, mParticle from new events).
//!
//! A pass writes one status record per subject as each answer comes, tagged with the pass,
//! the number of subjects it set out to check, and what the ledger showed before. A pass
//! with fewer distinct subjects than that was stopped (Ctrl-C, a crash, a fatal answer), and
//! the next `--recheck` finishes it instead of starting over.

use std::collections::HashMap;

use serde::Serialize;

use super::poll::Tracked;
use crate::audit::View;
use crate::ledger::{self, RecheckPass, StatusCheck};
use crate::status::obs::{Interner, Obs, Phase};

/// The pass this invocation works on.
pub(super) struct Pass {
    pub id: String,
    pub resumed: bool,
    /// Subjects an earlier invocation of this pass set out to check.
    of: u64,
    /// The answers an earlier invocation of this pass recorded, by subject.
    prior: HashMap<String, StatusCheck>,
}

/// A subject's key in status records: its vendor job ID or its identifier hash.
fn subject(c: &StatusCheck) -> Option<&str> {
    c.vendor_id.as_deref().or(c.id_hmac.as_deref())
}

impl Pass {
    /// The last pass if it did not finish, else a new one.
    pub fn find(view: &View) -> Self {
        let last = view
            .checks
            .iter()
            .rev()
            .find_map(|c| c.recheck.as_ref().map(|r| r.pass.clone()));
        if let Some(id) = last {
            let mut of = 0;
            let mut prior = HashMap::new();
            for c in &view.checks {
                if let (Some(r), Some(s)) = (&c.recheck, subject(c))
                    && r.pass == id
                {
                    of = of.max(r.of);
                    prior.insert(s.to_owned(), c.clone());
                }
            }
            if (prior.len() as u64) < of {
                return Self {
                    id,
                    resumed: true,
                    of,
                    prior,
                };
            }
        }
        Self {
            id: ledger::new_run_id(),
            resumed: false,
            of: 0,
            prior: HashMap::new(),
        }
    }

    /// Start `t` on this pass: every subject in scope is due, except those an earlier
    /// invocation of the pass already answered.
    pub fn begin(&self, t: &mut Tracked, strings: &mut Interner) {
        let n = t.latest.len();
        let mut before = Vec::with_capacity(n);
        let mut answered = vec![false; n];
        for (i, done) in answered.iter_mut().enumerate() {
            let job = &t.group.jobs[i];
            let key = job.vendor_id().or(job.id_hmac()).unwrap_or_default();
            match self.prior.get(key) {
                Some(c) => {
                    let was = c.recheck.as_ref().map_or("acknowledged", |r| &r.before);
                    before.push(before_of(was));
                    t.latest[i] = Some(Obs::from_check(c, strings));
                    *done = true;
                }
                None => {
                    before.push(t.latest[i].as_ref().map(|o| o.phase));
                    t.latest[i] = None;
                }
            }
        }
        t.recheck = Some(State {
            pass: self.id.clone(),
            of: 0,
            before,
            answered,
        });
    }
}

fn before_of(word: &str) -> Option<Phase> {
    (word != "acknowledged").then(|| Phase::parse(word))
}

/// A group's part in the pass.
pub(super) struct State {
    pub pass: String,
    /// Subjects of the whole pass (every group), set once every group is known.
    pub of: u64,
    /// What the ledger showed before the pass: `None` when only the deletion's acceptance.
    pub before: Vec<Option<Phase>>,
    pub answered: Vec<bool>,
}

impl State {
    pub fn record(&self, i: usize) -> RecheckPass {
        RecheckPass {
            pass: self.pass.clone(),
            of: self.of,
            before: self.before[i]
                .map_or("acknowledged", Phase::as_str)
                .to_owned(),
        }
    }
}

/// Set every group's pass size: the subjects of all groups together (never fewer than a
/// resumed pass set out with, so it stays unfinished until they are all answered).
pub(super) fn set_size(tracked: &mut [Tracked], pass: &Pass) {
    let total: u64 = tracked
        .iter()
        .map(|t| t.scope.len() as u64)
        .sum::<u64>()
        .max(pass.of);
    for t in tracked.iter_mut() {
        if let Some(r) = &mut t.recheck {
            r.of = total;
        }
    }
}

/// What one group's pass found.
#[derive(Debug, Default, Serialize)]
pub(super) struct Counts {
    pub pass: String,
    pub resumed: bool,
    pub checked: u64,
    /// Still gone (profiles) or still done (jobs).
    pub deleted: u64,
    /// Profiles the vendor returns again.
    pub present: u64,
    /// Of `present`, those the ledger showed verified deleted before: they came back.
    pub came_back: u64,
    /// No documented answer (or none at all): nothing is claimed either way.
    pub unknown: u64,
    /// Jobs that are not done (a job's status cannot show a re-created profile).
    pub not_done: u64,
    /// Subjects the pass did not reach (stopped).
    pub not_checked: u64,
}

pub(super) fn counts(t: &Tracked) -> Option<Counts> {
    let r = t.recheck.as_ref()?;
    let mut c = Counts {
        pass: r.pass.clone(),
        resumed: false,
        ..Counts::default()
    };
    for &i in &t.scope {
        if !r.answered[i] {
            c.not_checked += 1;
            continue;
        }
        c.checked += 1;
        match t.latest[i].as_ref().map(|o| o.phase) {
            Some(Phase::Deleted | Phase::Done) => c.deleted += 1,
            Some(Phase::Present) => {
                c.present += 1;
                if matches!(r.before[i], Some(Phase::Deleted)) {
                    c.came_back += 1;
                }
            }
            Some(Phase::Pending | Phase::Failed) => c.not_done += 1,
            Some(Phase::Error) | None => c.unknown += 1,
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_deletion_counts_as_before() {
        assert_eq!(before_of("acknowledged"), None);
        assert_eq!(before_of("deleted"), Some(Phase::Deleted));
        assert_eq!(before_of("present"), Some(Phase::Present));
        assert_eq!(before_of("nonsense"), Some(Phase::Error));
    }
}
