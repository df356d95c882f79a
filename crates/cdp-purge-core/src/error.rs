//! Errors the user can act on, typed by what went wrong rather than by exit code: the code
//! is chosen in one place, `exit.rs`, at the top of the program. Code below the commands
//! (input, ledger, config, engine, status) returns these and never names an exit code.

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Flags, input, configuration or ledger: fixable by the user; nothing (more) was sent.
    Usage,
    /// The vendor refused the credentials or the permission.
    Auth,
    /// The run would exceed a vendor quota (over a long window) and was refused before
    /// anything was sent.
    Quota,
}

/// An error with what the user can do about it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub class: Class,
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Class::Usage, message)
    }
    pub fn quota(message: impl Into<String>) -> Self {
        Self::new(Class::Quota, message)
    }
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(Class::Auth, message)
    }
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            hint: None,
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The first `UserError` in an error's chain: `None` means nobody classified it.
    pub fn find(err: &anyhow::Error) -> Option<&UserError> {
        err.chain().find_map(|c| c.downcast_ref::<UserError>())
    }
}
