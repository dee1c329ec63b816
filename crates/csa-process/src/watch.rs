//! Event-driven waiting: block until a descriptor is readable (a pidfd when
//! its process exits, a self-pipe when a signal arrives) or a deadline passes.
//!
//! Used by [`crate::stop`], [`crate::supervise`] and [`crate::ready`]. Where
//! no event source exists (no pidfd on this platform or kernel), callers fall
//! back to [`Backoff`], a bounded probe whose pauses grow to
//! [`PROBE_INTERVAL_MAX`].
//!
//! A deadline is an `Option<Instant>`, `None` for none. Deadlines are made
//! with [`deadline_after`], never by adding to an `Instant`: a timeout too
//! large to represent (a `--grace` of 1e19 seconds) is no deadline, not a
//! panic.

use std::time::{Duration, Instant};

use crate::consts::PROBE_INTERVAL_MAX;

/// Time left until `deadline`; zero once it has passed.
pub(crate) fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// The moment `timeout` from now; `None` (no deadline) when that moment
/// cannot be represented, which only a timeout of centuries reaches.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Whether `deadline` has passed (never, for no deadline).
pub(crate) fn passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

/// The earlier of `deadline` and `soon` from now.
#[cfg(unix)]
pub(crate) fn at_most(deadline: Option<Instant>, soon: Duration) -> Option<Instant> {
    match (deadline, deadline_after(soon)) {
        (Some(deadline), Some(soon)) => Some(deadline.min(soon)),
        (deadline, soon) => deadline.or(soon),
    }
}

/// Pauses of a bounded-probe fallback: 1 ms, doubling up to [`PROBE_INTERVAL_MAX`].
#[derive(Debug)]
pub(crate) struct Backoff {
    step: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            step: Duration::from_millis(1),
        }
    }

    /// Pause for the next step, but never past `deadline`.
    pub(crate) fn pause(&mut self, deadline: Option<Instant>) {
        std::thread::sleep(deadline.map_or(self.step, |d| self.step.min(remaining(d))));
        self.step = (self.step * 2).min(PROBE_INTERVAL_MAX);
    }
}

#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::BorrowedFd;
    use std::time::Instant;

    use rustix::event::{PollFd, PollFlags, Timespec, poll};

    use super::remaining;

    /// Block until one of `fds` is readable (or hung up), or `deadline`
    /// passes (`None`: no deadline). True if some descriptor is ready. A
    /// signal that interrupts the wait restarts it; callers that must react
    /// to signals include their self-pipe in `fds`.
    pub(crate) fn wait_readable(
        fds: &[BorrowedFd<'_>],
        deadline: Option<Instant>,
    ) -> io::Result<bool> {
        ready_fds(fds, deadline).map(|ready| !ready.is_empty())
    }

    /// As [`wait_readable`], but says which: the indices of `fds` that are
    /// readable (or hung up); none when the deadline passed.
    pub(crate) fn ready_fds(
        fds: &[BorrowedFd<'_>],
        deadline: Option<Instant>,
    ) -> io::Result<Vec<usize>> {
        loop {
            let timeout = match deadline {
                Some(deadline) => Some(
                    Timespec::try_from(remaining(deadline))
                        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
                ),
                None => None,
            };
            let mut polled: Vec<PollFd<'_>> = fds
                .iter()
                .map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
                .collect();
            match poll(&mut polled, timeout.as_ref()) {
                Ok(0) => {
                    if super::passed(deadline) {
                        return Ok(Vec::new());
                    }
                }
                Ok(_) => {
                    return Ok(polled
                        .iter()
                        .enumerate()
                        .filter(|(_, fd)| !fd.revents().is_empty())
                        .map(|(index, _)| index)
                        .collect());
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
}

#[cfg(target_os = "linux")]
pub(crate) fn pidfd(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use rustix::process::{Pid, PidfdFlags, pidfd_open};
    let pid = Pid::from_raw(i32::try_from(pid).ok()?)?;
    pidfd_open(pid, PidfdFlags::empty()).ok()
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write;
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn a_deadline_too_far_to_represent_is_no_deadline() {
        assert_eq!(deadline_after(Duration::MAX), None);
        assert!(!passed(None));
        let soon = at_most(None, Duration::from_millis(5)).unwrap();
        assert!(soon <= Instant::now() + Duration::from_millis(5));
        let near = deadline_after(Duration::from_millis(1));
        assert_eq!(at_most(near, Duration::from_secs(60)), near);
        let mut backoff = Backoff::new();
        backoff.pause(None);
        backoff.pause(deadline_after(Duration::MAX));
    }

    #[test]
    fn a_deadline_ends_the_wait_and_data_ends_it_early() {
        let (read, mut write) = std::os::unix::net::UnixStream::pair().unwrap();
        let start = Instant::now();
        let ready =
            wait_readable(&[read.as_fd()], Some(start + Duration::from_millis(50))).unwrap();
        assert!(!ready);
        assert!(start.elapsed() >= Duration::from_millis(50));
        write.write_all(b"x").unwrap();
        let start = Instant::now();
        assert!(wait_readable(&[read.as_fd()], Some(start + Duration::from_secs(5))).unwrap());
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
