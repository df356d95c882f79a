use std::process::ExitCode;

// Intake allocates one small string per identifier on a reader thread and frees it on the
// batching thread; glibc's arenas make those cross-thread frees slow (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cdp_purge::cli::Cli::parse();
    match cdp_purge::run(cli) {
        Ok(code) => code.into(),
        Err(err) => cdp_purge::exit::report(&err).into(),
    }
}
