//! cdp-purge's core: intake, batching, the paced delivery engine, the append-only audit
//! ledger (write, read, verify) and status polling.
//!
//! It knows no command line, prints nothing and names no vendor: a vendor reaches it as a
//! [`protocol::VendorSpec`] row and an [`protocol::Adapter`], both from the adapters crate,
//! which depends on this one and never the other way round.

// Output belongs to the binary's printer (one policy for quiet, colour and closed pipes).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod audit;
pub mod batch;
pub mod engine;
pub mod error;
pub mod input;
pub mod ledger;
pub mod protocol;
pub mod status;
