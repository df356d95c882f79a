//! The binary's one seam to the `cdp-purge-sandbox` crate, a default-on cargo feature.
//!
//! The fakes own their vendor list and facts (so they can catch an adapter's wrong guess);
//! where the two meet (names, credentials), they are checked here and nowhere else. Built with
//! `--no-default-features`, the same CLI parses but `delete --sandbox` and `cdp-purge
//! sandbox` refuse to run (exit 2) instead of disappearing from `--help`.

use crate::error::UserError;

/// Why a command that needs the fakes cannot run in this build.
pub fn built_without(what: &str) -> UserError {
    UserError::usage(format!(
        "{what} needs the built-in sandbox, and this cdp-purge was built without it \
         (cargo feature `sandbox`)"
    ))
    .with_hint("install a build with default features, e.g. `cargo install cdp-purge`")
}

#[cfg(feature = "sandbox")]
pub use with::*;
#[cfg(not(feature = "sandbox"))]
pub use without::*;

#[cfg(feature = "sandbox")]
mod with {
    use super::*;
    pub use cdp_purge_sandbox::{FAULT_SPEC_HELP, FaultPlan, Sandbox, SandboxConfig};

    /// `--faults` (clap's value parser).
    pub fn parse_faults(s: &str) -> Result<FaultPlan, String> {
        s.parse()
            .map_err(|e: cdp_purge_sandbox::FaultSpecError| e.to_string())
    }

    /// `delete --sandbox`: on a thread of its own, like a vendor's server (sharing the run's
    /// thread would delay its answers and skew the arrival times its quotas count).
    pub fn start_blocking() -> Result<Sandbox, UserError> {
        Sandbox::start_blocking(SandboxConfig::default())
            .map_err(|e| UserError::usage(format!("cannot start the sandbox: {e}")))
    }

    pub fn base_url(sb: &Sandbox) -> String {
        sb.base_url()
    }

    /// The sandbox's credentials, under the variable names `--credentials-file` takes.
    pub fn credentials(sb: &Sandbox) -> Vec<(&'static str, &str)> {
        sb.credentials().env_lines()
    }
}

#[cfg(not(feature = "sandbox"))]
mod without {
    use super::*;

    /// No fakes in this build: no value of this type can exist.
    #[derive(Debug)]
    pub enum Sandbox {}

    /// Kept unparsed: the command refuses to run anyway.
    pub type FaultPlan = String;

    pub const FAULT_SPEC_HELP: &str =
        "Faults to inject (this cdp-purge was built without the sandbox)";

    pub fn parse_faults(s: &str) -> Result<FaultPlan, String> {
        Ok(s.to_owned())
    }

    pub fn start_blocking() -> Result<Sandbox, UserError> {
        Err(built_without("delete --sandbox"))
    }

    pub fn base_url(sb: &Sandbox) -> String {
        match *sb {}
    }

    pub fn credentials(sb: &Sandbox) -> Vec<(&'static str, &str)> {
        match *sb {}
    }
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    use crate::vendor::VENDORS;

    /// The fakes keep their own vendor list; it must name the same vendors, or `delete
    /// --sandbox` would send a vendor's requests to no fake at all.
    #[test]
    fn every_vendor_has_a_fake_of_the_same_name() {
        let fakes: Vec<&str> = cdp_purge_sandbox::VendorKind::ALL
            .iter()
            .map(|f| f.id())
            .collect();
        let vendors: Vec<&str> = VENDORS.iter().map(|v| v.id).collect();
        assert_eq!(fakes, vendors);
    }

    /// `delete --sandbox` hands each adapter the sandbox's credentials by these names.
    #[test]
    fn printed_credentials_use_the_names_the_vendor_table_documents() {
        let printed: Vec<&str> = cdp_purge_sandbox::Credentials::default()
            .env_lines()
            .iter()
            .map(|(k, _)| *k)
            .collect();
        let documented: Vec<&str> = VENDORS
            .iter()
            .flat_map(|v| v.credentials.iter().copied())
            .collect();
        assert_eq!(printed, documented);
    }
}
