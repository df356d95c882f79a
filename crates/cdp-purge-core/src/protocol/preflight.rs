//! What `cdp-purge check` asks a vendor: read-only calls (probes) that prove a part of the
//! configuration each, and the parts no call can prove, said plainly.

use std::fmt;

use super::Request;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Proven, and how.
    Ok(String),
    /// The call answered, but not in a way that proves this part (an undocumented body,
    /// a role list that does not name the permission).
    Unverified(String),
    /// The vendor refused the credentials (exit 3).
    Refused(String),
    /// The configuration is wrong (exit 2).
    Failed(String),
}

impl Finding {
    /// `ok`, `unverified`, `refused`, `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Ok(_) => "ok",
            Self::Unverified(_) => "unverified",
            Self::Refused(_) => "refused",
            Self::Failed(_) => "failed",
        }
    }
    pub fn detail(&self) -> &str {
        match self {
            Self::Ok(s) | Self::Unverified(s) | Self::Refused(s) | Self::Failed(s) => s,
        }
    }
    /// Worse findings outrank better ones when a target's result is summed up.
    pub fn rank(&self) -> u8 {
        match self {
            Self::Ok(_) => 0,
            Self::Unverified(_) => 1,
            Self::Failed(_) => 2,
            Self::Refused(_) => 3,
        }
    }
}

/// Reads a probe's answer: HTTP status and body.
pub type Reader = Box<dyn Fn(u16, &[u8]) -> Finding + Send + Sync>;

/// One read-only call and how to read its answer.
pub struct Probe {
    /// What it checks ("token", "field", "graph").
    pub what: &'static str,
    pub request: Request,
    pub read: Reader,
    /// Later probes are pointless when this one fails (they use the same credentials).
    pub gate: bool,
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("what", &self.what)
            .field("request", &self.request)
            .finish()
    }
}

/// A target's preflight: the probes to run in order, and what no call can check.
#[derive(Debug, Default)]
pub struct Preflight {
    pub probes: Vec<Probe>,
    pub unchecked: Vec<String>,
}

impl Preflight {
    /// What is not checked; with no probe at all, that is the credentials themselves.
    pub fn not_checked_or(&self, vendor: &str) -> Vec<String> {
        if self.probes.is_empty() && self.unchecked.is_empty() {
            vec![format!(
                "the credentials: {vendor} offers no read-only call to prove them, so a refusal shows on the first batch (which stops the run)"
            )]
        } else {
            self.unchecked.clone()
        }
    }
}

/// The usual reading of a 401/403 to a probe, naming the variables the target reads.
pub fn refused(status: u16, vendor: &str, vars: &str) -> Finding {
    Finding::Refused(format!(
        "HTTP {status}: {vendor} refused the credentials; check {vars}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_finding_wins() {
        let mut all = [
            Finding::Ok("a".into()),
            Finding::Refused("b".into()),
            Finding::Unverified("c".into()),
            Finding::Failed("d".into()),
        ];
        all.sort_by_key(Finding::rank);
        let labels: Vec<_> = all.iter().map(Finding::label).collect();
        assert_eq!(labels, ["ok", "unverified", "failed", "refused"]);
        assert_eq!(
            refused(401, "Lytics", "SBX_TOKEN").detail(),
            "HTTP 401: Lytics refused the credentials; check SBX_TOKEN"
        );
    }
}
