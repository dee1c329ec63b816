//! The supervisor's self-pipe: signal-hook handlers turn SIGCHLD, SIGTERM,
//! SIGINT and SIGHUP into a byte on a socket pair, and stop signals into a
//! flag, so the supervisor can wait for them with `poll` alongside pidfds.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use signal_hook::SigId;
use signal_hook::consts::signal::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};

/// Signals that ask the daemon to stop its command.
pub(crate) const STOP_SIGNALS: [i32; 3] = [SIGTERM, SIGINT, SIGHUP];

#[derive(Debug)]
pub(crate) struct Wakeup {
    read: UnixStream,
    /// The last stop signal received, 0 for none.
    stop: Arc<AtomicUsize>,
    ids: Vec<SigId>,
}

impl Wakeup {
    pub(crate) fn install() -> io::Result<Wakeup> {
        // A socket pair, not a pipe: the handler writes with MSG_DONTWAIT,
        // so a full buffer can never block it.
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let stop = Arc::new(AtomicUsize::new(0));
        let mut wakeup = Wakeup {
            read,
            stop,
            ids: Vec::new(),
        };
        // The flag is registered before the pipe: the handler runs actions in
        // registration order, so the flag is set before the byte that wakes us.
        for signal in STOP_SIGNALS {
            let stop = Arc::clone(&wakeup.stop);
            let value = usize::try_from(signal).unwrap_or(usize::MAX);
            wakeup
                .ids
                .push(signal_hook::flag::register_usize(signal, stop, value)?);
        }
        for signal in [SIGCHLD, SIGTERM, SIGINT, SIGHUP] {
            let id = signal_hook::low_level::pipe::register(signal, write.try_clone()?)?;
            wakeup.ids.push(id);
        }
        Ok(wakeup)
    }

    /// The stop signal received (the last one if several), if any.
    pub(crate) fn stop_signal(&self) -> Option<i32> {
        match self.stop.load(Ordering::SeqCst) {
            0 => None,
            signal => i32::try_from(signal).ok(),
        }
    }

    /// Empty the pipe. Call before looking at what the signals changed.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.read).read(&mut buf), Ok(n) if n > 0) {}
    }

    /// Wait until a signal arrives, one of `extra` is readable, or `deadline`.
    pub(crate) fn wait(
        &self,
        extra: &[BorrowedFd<'_>],
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        let mut fds = Vec::with_capacity(extra.len() + 1);
        fds.push(self.read.as_fd());
        fds.extend_from_slice(extra);
        crate::watch::wait_readable(&fds, deadline).map(|_| ())
    }
}

impl Drop for Wakeup {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
