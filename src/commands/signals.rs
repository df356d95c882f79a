//! The signals that stop a command: Ctrl-C (SIGINT) and, on Unix, SIGTERM (a service
//! manager, `kill`, a CI job's timeout). Both are handled the same way — stop cleanly, say
//! so — and the exit code tells them apart (130, 143; see `exit.rs`).

use crate::exit::Signal;

/// Listening for both signals. The handlers are installed by [`Signals::listen`], so a
/// signal that comes after it returns is never the default "killed".
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Install the handlers (on the current runtime).
    pub fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next signal.
    pub async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Signal::Interrupt,
                _ = self.terminate.recv() => Signal::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        }
    }
}
