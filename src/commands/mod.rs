//! One module per subcommand.

pub mod check;
pub mod completions;
pub mod delete;
pub mod plan;
pub mod report;
pub mod sandbox;
pub mod signals;
pub mod status;
pub mod targets;
pub mod vendors;
