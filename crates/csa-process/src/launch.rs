//! Starting the daemon detached, and the daemon's first act (contract §8.1).
//!
//! `csa run`:
//!
//! ```text
//! let (reader, writer) = ready_pipe()?;
//! let args = ["daemon", "--ready-fd", &writer.raw_fd().to_string(), "--session-id", id, ...];
//! let child = spawn_detached(current_exe, args, writer, Some(lock.as_fd()))?;  // the write end is dropped here
//! match reader.wait(timeout) { Ok(Ready::Started { .. }) => ..., Ok(Ready::Failed(m)) => ..., Err(e) => ... }
//! ```
//!
//! The daemon, before it opens anything:
//!
//! ```text
//! // SAFETY: --ready-fd is the pipe csa run passed; nothing else owns these fds yet.
//! unsafe { close_inherited_fds(&[ready_fd])? };
//! let ready = unsafe { ReadyWriter::from_inherited_fd(ready_fd)? };
//! ```
//!
//! [`spawn_detached`] starts the daemon in a new session (so it has no
//! controlling terminal and is in no group of its caller), without the
//! caller's `CSA_SESSION_ID` (a nested daemon must not pass for a command
//! of its parent session), with stdin, stdout
//! and stderr on `/dev/null` and no inherited descriptor except the readiness
//! pipe's write end, at the number [`ReadyWriter::raw_fd`] named, and one more
//! descriptor the caller hands on on purpose (the session's locked tool lock:
//! an inherited descriptor shares the `flock`, so the lock stays held from the
//! launcher to the daemon without a gap). A caller of
//! `csa run` waiting for end of file on a pipe it passed to `csa run` sees it
//! as soon as `csa run` returns, and a `flock` held through an inherited
//! descriptor is never held by the daemon. [`close_inherited_fds`] gives the
//! same guarantee to a daemon started by anything else.

use std::ffi::OsStr;
use std::io;
use std::process::Child;

use crate::ready::ReadyWriter;

/// Start `program args` detached (see the module docs). The parent's copy of
/// the readiness pipe's write end is closed on return, so the reader sees end
/// of file once the daemon has closed (or never received) its copy. `hand_on`
/// is inherited too, at its own number.
pub fn spawn_detached<I, S>(
    program: impl AsRef<OsStr>,
    args: I,
    ready: ReadyWriter,
    hand_on: Option<HandOn<'_>>,
) -> io::Result<Child>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    platform::spawn_detached(program.as_ref(), args, ready, hand_on)
}

/// A descriptor handed on to the daemon, at its own number.
#[cfg(unix)]
pub type HandOn<'a> = std::os::fd::BorrowedFd<'a>;
/// A descriptor handed on to the daemon (nothing is, where there are none).
#[cfg(not(unix))]
pub type HandOn<'a> = std::marker::PhantomData<&'a ()>;

/// Close every descriptor >= 3 of this process except `keep`: the daemon's
/// first act. Linux uses `close_range`, or the list in `/proc/self/fd`; other
/// Unix systems a loop bounded by the descriptor limit (at most
/// [`crate::consts::FD_SWEEP_CAP`]).
///
/// # Safety
///
/// No live object of this process may own a descriptor >= 3 other than those
/// in `keep` (they would be closed under it): call it first thing, before
/// anything (a log file, a lock) is opened.
#[cfg(unix)]
pub unsafe fn close_inherited_fds(keep: &[std::os::fd::RawFd]) -> io::Result<()> {
    // SAFETY: forwarded from this function's own contract.
    unsafe { crate::pre_exec::close_fds_from_3(keep) }
}

#[cfg(unix)]
mod platform {
    use std::ffi::OsStr;
    use std::io;
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};

    use std::os::fd::AsRawFd;

    use super::HandOn;
    use crate::pre_exec::ChildSetup;
    use crate::ready::ReadyWriter;

    pub fn spawn_detached<I, S>(
        program: &OsStr,
        args: I,
        ready: ReadyWriter,
        hand_on: Option<HandOn<'_>>,
    ) -> io::Result<Child>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let setup = ChildSetup::new();
        let ready_fd = ready.raw_fd();
        let other = hand_on.map_or(-1, |fd| fd.as_raw_fd());
        let mut keep = [ready_fd, other];
        keep.sort_unstable();
        let mut command = Command::new(program);
        command
            .args(args)
            // The daemon is no command of the session that launched it: a
            // process whose environment names a session is taken for that
            // session's command when it is stopped (`signal::verify_command`).
            .env_remove(csa_session::consts::ENV_SESSION_ID)
            // The daemon outlives its caller: it must not pin the caller's
            // working directory (and its mount) for an hour. Every path it
            // is given is absolute.
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: the hook runs in the forked child before exec and calls only
        // async-signal-safe functions (setsid, signal, sigprocmask, fcntl,
        // close_range); it allocates nothing and takes no lock.
        unsafe {
            command.pre_exec(move || {
                rustix::process::setsid()?;
                setup.apply(&keep)
            });
        }
        let child = command.spawn();
        drop(ready);
        child
    }
}

#[cfg(not(unix))]
mod platform {
    use std::ffi::OsStr;
    use std::io;
    use std::process::Child;

    use super::HandOn;
    use crate::ready::ReadyWriter;

    /// A [`ReadyWriter`] cannot exist here, so neither can this call.
    pub fn spawn_detached<I, S>(
        _program: &OsStr,
        _args: I,
        ready: ReadyWriter,
        _hand_on: Option<HandOn<'_>>,
    ) -> io::Result<Child>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        match ready.never {}
    }
}
