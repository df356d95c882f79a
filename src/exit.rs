//! Exit codes: the only place that decides them.
//!
//! Code below the commands returns typed errors ([`crate::error::UserError`] with its
//! [`Class`], the engine's [`StopReason`]) and facts (what was settled, what was not); the
//! functions here turn those into one of the documented codes, which are part of the tool's
//! contract with scripts and CI pipelines (`--help`, README).

use crate::engine::StopReason;
pub use crate::error::{Class, UserError};
use crate::printer::Printer;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Everything asked for was done.
    Success = 0,
    /// The run finished but some items failed.
    Partial = 1,
    /// Usage, input or configuration error (or an unexpected one): nothing (more) was sent.
    Usage = 2,
    /// The vendor refused the credentials or the permission.
    Auth = 3,
    /// Rate limit or quota exhausted beyond the retry budget.
    RateLimited = 4,
    /// Interrupted (Ctrl-C / SIGINT).
    Interrupted = 130,
    /// Stopped by SIGTERM (a service manager, `kill`, a CI timeout).
    Terminated = 143,
}

impl Code {
    /// What the code means, in the words of [`EXIT_CODES_HELP`].
    pub fn describe(self) -> &'static str {
        match self {
            Code::Success => "success",
            Code::Partial => "partial failure: some identifiers failed",
            Code::Usage => "usage, input or configuration error",
            Code::Auth => "authentication or permission refused",
            Code::RateLimited => "rate limit or quota exhausted",
            Code::Interrupted => "interrupted",
            Code::Terminated => "terminated",
        }
    }

    /// Whether the run was stopped by a signal (a rerun resumes it).
    pub fn is_signal(self) -> bool {
        matches!(self, Code::Interrupted | Code::Terminated)
    }
}

impl From<Code> for std::process::ExitCode {
    fn from(c: Code) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

/// Text for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success: every identifier was handled as asked
  1    partial failure: some identifiers failed (see the summary and the ledger)
  2    usage, input or configuration error, or an unexpected error (nothing more was sent)
  3    authentication or permission refused by the vendor
  4    rate limit or quota exhausted
  130  interrupted (Ctrl-C); rerun the same command to resume
  143  terminated (SIGTERM); rerun the same command to resume";

/// The signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn code(self) -> Code {
        match self {
            Signal::Interrupt => Code::Interrupted,
            Signal::Terminate => Code::Terminated,
        }
    }
}

/// What an error escaping a command is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// A [`UserError`] somewhere in the chain.
    User { class: Class, hint: Option<String> },
    /// Anything else: an I/O error nobody anticipated, a bug. Exit 2, as for the errors
    /// the user can fix: it stopped the run before the rest was sent, and nothing more
    /// can honestly be said of it.
    Unexpected,
}

impl Classified {
    pub fn of(err: &anyhow::Error) -> Self {
        UserError::find(err).map_or(Self::Unexpected, |u| Self::User {
            class: u.class,
            hint: u.hint.clone(),
        })
    }

    pub fn code(&self) -> Code {
        match self {
            Self::User {
                class: Class::Auth, ..
            } => Code::Auth,
            Self::User {
                class: Class::Quota,
                ..
            } => Code::RateLimited,
            Self::User {
                class: Class::Usage,
                ..
            }
            | Self::Unexpected => Code::Usage,
        }
    }
}

/// An error's exit code and hint.
pub fn classify(err: &anyhow::Error) -> (Code, Option<String>) {
    let c = Classified::of(err);
    let code = c.code();
    match c {
        Classified::User { hint, .. } => (code, hint),
        Classified::Unexpected => (code, None),
    }
}

/// Print an error chain (`cdp-purge: error: …`, each cause, the hint) and return its code.
pub fn report(printer: &Printer, err: &anyhow::Error) -> Code {
    let (code, hint) = classify(err);
    let mut chain = err.chain();
    let first = chain.next().map(ToString::to_string).unwrap_or_default();
    let causes: Vec<String> = chain.map(ToString::to_string).collect();
    if UserError::find(err).is_none() {
        tracing::debug!("unclassified error: exit {}", code as u8);
    }
    printer.error(first, &causes, hint.as_deref());
    code
}

/// A fatal stop the command reports itself (so it can name the code): auth or not.
pub fn fatal(auth: bool) -> Code {
    if auth { Code::Auth } else { Code::Usage }
}

/// The facts of a `delete` run that decide its code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delivery {
    /// Identifiers that failed in this run.
    pub failed_now: u64,
    /// Batches received but never settled.
    pub abandoned_batches: u64,
    /// Identifiers neither settled now nor earlier.
    pub unsent: u64,
    /// Identifiers refused for good earlier and not resent.
    pub failed_before: u64,
    /// Every failure of this run was a 429 (or quota) after the retries.
    pub only_throttled: bool,
    /// The input changed during the run.
    pub input_changed: bool,
}

/// A `delete` run's code. Exit 0 only when every kept identifier has a success for this
/// destination, now or from an earlier run.
pub fn delivery(stopped: Option<&StopReason>, signal: Option<Signal>, d: Delivery) -> Code {
    match stopped {
        Some(StopReason::Interrupted) => signal.unwrap_or(Signal::Interrupt).code(),
        Some(StopReason::Fatal { auth, .. }) => fatal(*auth),
        Some(StopReason::Ledger(_)) => Code::Usage,
        None if d.input_changed => Code::Usage,
        None if d.failed_now == 0
            && d.abandoned_batches == 0
            && d.unsent == 0
            && d.failed_before == 0 =>
        {
            Code::Success
        }
        None if d.failed_before == 0 && d.unsent == 0 && d.only_throttled => Code::RateLimited,
        None => Code::Partial,
    }
}

/// A `status` run's code: a signal first; 0 when every job is terminal; 4 when what is
/// left is only throttled; 1 otherwise.
pub fn polling(signal: Option<Signal>, all_done: bool, only_throttled: bool) -> Code {
    match signal {
        Some(s) => s.code(),
        None if all_done => Code::Success,
        None if only_throttled => Code::RateLimited,
        None => Code::Partial,
    }
}

/// `check`'s code: a refused credential first, then any other failure.
pub fn preflight(refused: bool, failed: bool) -> Code {
    if refused {
        Code::Auth
    } else if failed {
        Code::Usage
    } else {
        Code::Success
    }
}

/// Several targets' codes as one: a signal first, then the one that most needs a person
/// (credentials, then configuration), then exhausted quota, then partial failure.
pub fn most_urgent(codes: impl Iterator<Item = Code>) -> Code {
    let rank = |c: Code| match c {
        Code::Terminated => 6,
        Code::Interrupted => 5,
        Code::Auth => 4,
        Code::Usage => 3,
        Code::RateLimited => 2,
        Code::Partial => 1,
        Code::Success => 0,
    };
    codes.max_by_key(|c| rank(*c)).unwrap_or(Code::Success)
}

/// Something found (a lookup, a check) or not: 0 or 1.
pub fn found(all: bool) -> Code {
    if all { Code::Success } else { Code::Partial }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_by_class_and_anything_else_is_unexpected_exit_2() {
        let e: anyhow::Error = UserError::auth("refused").with_hint("h").into();
        assert_eq!(classify(&e), (Code::Auth, Some("h".into())));
        let e = anyhow::Error::from(UserError::usage("bad")).context("while reading");
        assert_eq!(classify(&e).0, Code::Usage);
        let io = anyhow::Error::from(std::io::Error::other("disk on fire"));
        assert_eq!(Classified::of(&io), Classified::Unexpected);
        assert_eq!(classify(&io), (Code::Usage, None));
    }

    #[test]
    fn delivery_codes() {
        let ok = Delivery::default();
        assert_eq!(delivery(None, None, ok), Code::Success);
        let throttled = Delivery {
            failed_now: 3,
            only_throttled: true,
            ..ok
        };
        assert_eq!(delivery(None, None, throttled), Code::RateLimited);
        let earlier = Delivery {
            failed_before: 1,
            ..throttled
        };
        assert_eq!(delivery(None, None, earlier), Code::Partial);
        let changed = Delivery {
            input_changed: true,
            ..ok
        };
        assert_eq!(delivery(None, None, changed), Code::Usage);
        let stop = StopReason::Interrupted;
        assert_eq!(delivery(Some(&stop), None, ok), Code::Interrupted);
        assert_eq!(
            delivery(Some(&stop), Some(Signal::Terminate), ok),
            Code::Terminated
        );
        let auth = StopReason::Fatal {
            reason: String::new(),
            hint: String::new(),
            auth: true,
        };
        assert_eq!(delivery(Some(&auth), None, ok), Code::Auth);
    }

    #[test]
    fn most_urgent_code_wins() {
        use Code::*;
        assert_eq!(most_urgent([Success, Partial].into_iter()), Partial);
        assert_eq!(most_urgent([RateLimited, Usage, Auth].into_iter()), Auth);
        assert_eq!(most_urgent([Auth, Interrupted].into_iter()), Interrupted);
        assert_eq!(most_urgent(std::iter::empty()), Success);
        assert_eq!(polling(None, false, true), RateLimited);
        assert_eq!(polling(Some(Signal::Terminate), true, false), Terminated);
        assert_eq!(preflight(false, true), Usage);
    }
}
