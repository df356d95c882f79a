//! The one integration test binary.
//!
//! Every integration test is a module here, not a file of its own under `tests/`: each
//! `tests/*.rs` is linked into a separate binary against the whole crate, so a one-line
//! change used to relink all twenty-one of them. Add new tests as modules of this crate (and
//! shared helpers under `support/`); `layout` fails when a stray binary appears.
//!
//! All modules share one process and run on parallel threads: a test must not change
//! anything process-wide (environment variables, current directory, signal dispositions,
//! resource limits, a global tracing subscriber). Set such things on the child `Command`
//! instead; `layout` checks the sources for the usual culprits. Tests that load the CPU
//! hardest, or whose checks need the child to get its share of it, hold `support::serial()`.
//!
//! Commands come from `support` (`cdp_purge()`, `TestContext`): a clean environment, the
//! vendor flags and sandbox credentials written once. Whole-CLI output is snapshotted in
//! `cli_output` (`tests/it/snapshots/`; after an intended change run
//! `INSTA_UPDATE=always cargo test --test it cli_output` and read the diff); one test per
//! reported bug is in `regression`.

mod audit;
mod bad_corpus;
mod check;
mod check_downstream;
mod cli;
mod cli_output;
mod common;
mod config;
mod config_plan;
mod delete_cli;
mod delete_engine;
mod delete_faults;
mod delete_resume;
mod delete_vendors;
mod downstream;
mod erasure_vendors;
mod group_report;
mod group_verify;
mod hostile_crash;
mod hostile_faults;
mod hostile_input;
mod hostile_memory;
mod hostile_outputs;
mod hostile_secrets;
mod hostile_systemic;
mod intake_props;
mod layout;
mod long_window;
mod plan_cli;
mod quota_unscaled;
mod regression;
mod sandbox;
mod segment_lookup;
mod support;
mod trust;
mod unknown_outcome;
