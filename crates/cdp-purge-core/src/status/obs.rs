//! One job's latest observation, kept small: `status` holds one per job, and a run can
//! have a million jobs. Strings that repeat across jobs (state words, error messages) are
//! shared; the ledger record is built only when it is written.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ledger::{RecheckPass, StatusCheck};
use crate::protocol::{JobReport, JobState};

/// What is known of a job (or, with `--verify`, an mParticle profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Pending,
    Done,
    Failed,
    /// mParticle: the Profile API answered its documented "MPID not found".
    Deleted,
    /// mParticle: the Profile API returned the profile.
    Present,
    /// No usable answer: the vendor refused the lookup, retries ran out, or the body was
    /// not in the vendor's documented terms. Counts as not finished.
    Error,
}

impl Phase {
    /// The ledger's word (`StatusCheck::state`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
            Self::Present => "present",
            Self::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "deleted" => Self::Deleted,
            "present" => Self::Present,
            _ => Self::Error,
        }
    }
    /// Nothing more will change.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Deleted)
    }
    pub fn is_success(self) -> bool {
        matches!(self, Self::Done | Self::Deleted)
    }
}

/// One observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obs {
    pub phase: Phase,
    /// The vendor's own word (`secondary`, `queued`, `reprocessed`).
    pub vendor_state: Option<Arc<str>>,
    pub http_status: Option<u16>,
    /// Why, for errors, failures and a present profile. Never an identifier.
    pub message: Option<Arc<str>>,
    pub completed_at: Option<Box<str>>,
    pub vendor_run_id: Option<Box<str>>,
    /// Milliseconds since the epoch.
    pub checked_ms: u64,
    pub attempts: u32,
    /// Read from the account-wide status list.
    pub via_list: bool,
    /// An error that is a give-up after 429s (exit 4 when nothing else is wrong).
    pub throttled: bool,
    /// An error that is the vendor answering in its own error shape on a route where it
    /// documents no answer for a missing profile: unknown, but not a sign of a wrong host
    /// or account path (so it does not stop the lookups after the first).
    pub unproven: bool,
}

impl Obs {
    pub fn new(phase: Phase) -> Self {
        Self {
            phase,
            vendor_state: None,
            http_status: None,
            message: None,
            completed_at: None,
            vendor_run_id: None,
            checked_ms: now_ms(),
            attempts: 0,
            via_list: false,
            throttled: false,
            unproven: false,
        }
    }

    /// An error with its HTTP status (if an answer came) and reason.
    pub fn error(status: Option<u16>, reason: impl AsRef<str>) -> Self {
        let mut o = Self::new(Phase::Error);
        o.http_status = status;
        o.message = Some(Arc::from(reason.as_ref()));
        o
    }

    /// A status body the adapter read.
    pub fn from_report(r: JobReport, status: u16) -> Self {
        let (phase, message) = match r.state {
            JobState::Done => (Phase::Done, None),
            JobState::Pending(_) => (Phase::Pending, None),
            JobState::Failed(m) => (Phase::Failed, Some(Arc::from(m))),
        };
        let mut o = Self::new(phase);
        o.http_status = Some(status);
        o.message = message;
        o.vendor_state = r.vendor_state.map(Arc::from);
        o.completed_at = r.completed_at.map(String::into_boxed_str);
        o.vendor_run_id = r.vendor_run_id.map(String::into_boxed_str);
        o
    }

    /// What the ledger recorded earlier.
    pub fn from_check(c: &StatusCheck, strings: &mut Interner) -> Self {
        Self {
            phase: Phase::parse(&c.state),
            vendor_state: c.vendor_state.as_deref().map(|s| strings.get(s)),
            http_status: c.http_status,
            message: c.message.as_deref().map(|s| strings.get(s)),
            completed_at: c.completed_at.clone().map(String::into_boxed_str),
            vendor_run_id: c.vendor_run_id.clone().map(String::into_boxed_str),
            checked_ms: checked_ms(c),
            attempts: c.attempts,
            via_list: c.via.as_deref() == Some("list"),
            throttled: false,
            unproven: false,
        }
    }

    /// Share the repeated strings.
    pub fn intern(&mut self, strings: &mut Interner) {
        if let Some(s) = &self.vendor_state {
            self.vendor_state = Some(strings.get(s));
        }
        if let Some(s) = &self.message {
            self.message = Some(strings.get(s));
        }
    }

    /// Whether this says something new compared with `before` (a state change).
    pub fn changed_from(&self, before: Option<&Obs>) -> bool {
        before.is_none_or(|b| (b.phase, &b.vendor_state) != (self.phase, &self.vendor_state))
    }

    /// The label `status` counts by: the vendor's word, else the phase.
    pub fn label(&self) -> &str {
        match (&self.vendor_state, self.phase) {
            (_, Phase::Error) => "error",
            (Some(v), _) => v,
            (None, p) => p.as_str(),
        }
    }

    /// Why an error is one, as `status` groups errors: the HTTP status and the reason.
    pub fn reason(&self) -> String {
        match (self.http_status, self.message.as_deref()) {
            (Some(s), Some(m)) if !m.starts_with("HTTP ") => format!("HTTP {s}: {m}"),
            (_, Some(m)) => m.to_owned(),
            (Some(s), None) => format!("HTTP {s}"),
            (None, None) => "no answer".to_owned(),
        }
    }

    pub fn checked_at(&self) -> String {
        let t = UNIX_EPOCH + Duration::from_millis(self.checked_ms);
        humantime::format_rfc3339_millis(t).to_string()
    }
}

/// The job a record is about.
pub struct About<'a> {
    pub check_id: &'a str,
    pub run_id: &'a str,
    pub vendor: &'a str,
    pub vendor_id: Option<&'a str>,
    pub id_hmac: Option<&'a str>,
    /// The vendor word of the record before this one, when it changed.
    pub previous_state: Option<&'a str>,
    /// `status --recheck`: the pass this answer belongs to.
    pub recheck: Option<RecheckPass>,
}

impl Obs {
    /// The ledger record of this observation.
    pub fn to_check(&self, about: &About<'_>) -> StatusCheck {
        StatusCheck {
            check_id: about.check_id.to_owned(),
            run_id: about.run_id.to_owned(),
            vendor: about.vendor.to_owned(),
            vendor_id: about.vendor_id.map(str::to_owned),
            id_hmac: about.id_hmac.map(str::to_owned),
            state: self.phase.as_str().to_owned(),
            vendor_state: self.vendor_state.as_deref().map(str::to_owned),
            http_status: self.http_status,
            message: self.message.as_deref().map(str::to_owned),
            checked_at: self.checked_at(),
            attempts: self.attempts,
            previous_state: about.previous_state.map(str::to_owned),
            completed_at: self.completed_at.as_deref().map(str::to_owned),
            vendor_run_id: self.vendor_run_id.as_deref().map(str::to_owned),
            via: self.via_list.then(|| "list".to_owned()),
            recheck: about.recheck.clone(),
        }
    }
}

/// Shares equal strings.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        // Unbounded distinct messages would defeat the purpose; past a few thousand, stop
        // sharing (each caller keeps its own copy).
        let a: Arc<str> = Arc::from(s);
        if self.0.len() < 4096 {
            self.0.insert(a.clone());
        }
        a
    }
}

/// When a recorded check was made, in milliseconds since the epoch (0 if unreadable).
pub fn checked_ms(c: &StatusCheck) -> u64 {
    humantime::parse_rfc3339_weak(&c.checked_at)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_strings_are_shared() {
        let mut strings = Interner::default();
        let mut r = JobReport::new(JobState::Done).with_vendor_state("reprocessed");
        r.completed_at = Some("2025-10-07T01:23:45.678Z".into());
        r.vendor_run_id = Some("run-1".into());
        let mut o = Obs::from_report(r, 200);
        o.intern(&mut strings);
        let about = About {
            check_id: "c",
            run_id: "r",
            vendor: "hightouch",
            vendor_id: Some("req-1"),
            id_hmac: None,
            previous_state: Some("queued"),
            recheck: None,
        };
        let c = o.to_check(&about);
        assert_eq!(c.state, "done");
        assert_eq!(c.vendor_state.as_deref(), Some("reprocessed"));
        assert_eq!(c.completed_at.as_deref(), Some("2025-10-07T01:23:45.678Z"));
        assert_eq!(c.vendor_run_id.as_deref(), Some("run-1"));
        assert_eq!(c.previous_state.as_deref(), Some("queued"));
        let back = Obs::from_check(&c, &mut strings);
        assert_eq!(back.phase, Phase::Done);
        assert!(Arc::ptr_eq(
            back.vendor_state.as_ref().unwrap(),
            o.vendor_state.as_ref().unwrap()
        ));
        assert_eq!(back.checked_ms / 1000, o.checked_ms / 1000);
        assert!(!back.changed_from(Some(&o)));
        let mut later = back.clone();
        later.vendor_state = Some(strings.get("queued"));
        assert!(later.changed_from(Some(&o)));
        assert_eq!(Obs::error(Some(404), "gone").label(), "error");
    }
}
