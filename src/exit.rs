//! Exit codes and the top-level error boundary.
//!
//! Every command maps its result to one of these codes; they are documented in `--help` and
//! the README and are part of the tool's contract with scripts and CI pipelines.

use std::process::ExitCode;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Everything asked for was done.
    Success = 0,
    /// The run finished but some items failed.
    Partial = 1,
    /// Usage, input or configuration error: nothing (more) was sent.
    Usage = 2,
    /// The vendor refused the credentials or the permission.
    Auth = 3,
    /// Rate limit or quota exhausted beyond the retry budget.
    RateLimited = 4,
    /// Interrupted (Ctrl-C / SIGINT).
    Interrupted = 130,
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
        }
    }
}

impl From<Code> for ExitCode {
    fn from(c: Code) -> Self {
        ExitCode::from(c as u8)
    }
}

/// Text for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success: every identifier was handled as asked
  1    partial failure: some identifiers failed (see the summary and the ledger)
  2    usage, input or configuration error
  3    authentication or permission refused by the vendor
  4    rate limit or quota exhausted
  130  interrupted (Ctrl-C); rerun the same command to resume";

/// An error that knows which exit code it deserves and what the user can do about it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: Code::Usage,
            message: message.into(),
            hint: None,
        }
    }
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: None,
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Classify an error escaping `run` into an exit code. Anything without a [`UserError`] in its
/// chain is treated as a usage/input/config error (exit 2): that is where unexpected I/O
/// errors at the edge come from, and nothing was deleted because of them.
pub fn classify(err: &anyhow::Error) -> (Code, Option<String>) {
    for cause in err.chain() {
        if let Some(u) = cause.downcast_ref::<UserError>() {
            return (u.code, u.hint.clone());
        }
    }
    (Code::Usage, None)
}

/// Print an error chain the way xh does: `cdp-purge: error: …`, each cause on its own line,
/// then the hint.
pub fn report(err: &anyhow::Error) -> Code {
    // The reader of our stdout went away (`| head`): nothing to say, nothing went wrong.
    if crate::output::is_broken_pipe(err) {
        return Code::Success;
    }
    let (code, hint) = classify(err);
    let mut chain = err.chain();
    if let Some(first) = chain.next() {
        eprintln!("cdp-purge: error: {first}");
    }
    for cause in chain {
        // UserError's message is already the top line when it is the outermost error.
        eprintln!("  caused by: {cause}");
    }
    if let Some(h) = hint {
        eprintln!("  hint: {h}");
    }
    code
}
