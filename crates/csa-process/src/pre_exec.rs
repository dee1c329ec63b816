//! Descriptor and signal hygiene for the processes csa starts (Unix).
//!
//! [`ChildSetup`] is prepared in the parent and applied in the forked child
//! between fork and exec (a `pre_exec` hook), where only async-signal-safe
//! calls are allowed: nothing here allocates, locks or logs there. It gives
//! the child default dispositions for every signal, an empty signal mask, and
//! `FD_CLOEXEC` on every descriptor >= 3 (except one that is passed on), so
//! the new program inherits exactly stdin, stdout, stderr and that one.
//! Descriptors are marked close-on-exec rather than closed, because the
//! standard library reports a failed `exec` through one of them.
//!
//! [`close_fds_from_3`] is for a process that has already inherited too much
//! (the daemon's first act, see [`crate::launch::close_inherited_fds`]).

use std::io;
use std::os::fd::RawFd;

use crate::consts::FD_SWEEP_CAP;

/// Work prepared before fork for the child's `pre_exec` hook.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildSetup {
    /// Bound (exclusive) of the descriptor loop where ranges are unavailable.
    fd_limit: RawFd,
}

impl ChildSetup {
    pub(crate) fn new() -> ChildSetup {
        ChildSetup {
            fd_limit: fd_limit(),
        }
    }

    /// In the child: give every signal its default disposition, empty the
    /// signal mask, and mark every descriptor >= 3 close-on-exec except those
    /// in `keep` (sorted, ascending), which are made inheritable.
    pub(crate) fn apply(&self, keep: &[RawFd]) -> io::Result<()> {
        restore_default_signals();
        self.seal_fds(keep)
    }

    fn seal_fds(&self, keep: &[RawFd]) -> io::Result<()> {
        if !platform::cloexec_ranges(keep) {
            for fd in 3..self.fd_limit {
                if !keep.contains(&fd) {
                    set_cloexec_if_open(fd);
                }
            }
        }
        for fd in keep.iter().copied().filter(|fd| *fd >= 3) {
            // SAFETY: every kept descriptor is one the parent owns (and so is
            // open in this forked copy of its table) until the exec.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
        }
        Ok(())
    }
}

/// The soft limit on descriptors, capped at [`FD_SWEEP_CAP`].
fn fd_limit() -> RawFd {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    limit
        .and_then(|n| RawFd::try_from(n).ok())
        .map_or(FD_SWEEP_CAP, |n| n.min(FD_SWEEP_CAP))
}

/// Set `FD_CLOEXEC` on `fd` if it is open.
fn set_cloexec_if_open(fd: RawFd) {
    // SAFETY: fcntl on a number that is not an open descriptor fails with
    // EBADF and touches nothing; on an open one F_GETFD/F_SETFD only read and
    // set its close-on-exec flag, which is the only descriptor flag.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
            libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
        }
    }
}

/// Default disposition for every signal that has one to restore, and an
/// empty signal mask. Errors (signals that cannot be changed) are ignored.
fn restore_default_signals() {
    for signal in 1..platform::SIGNAL_LIMIT {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        platform::set_default_disposition(signal);
    }
    // SAFETY: `set` is a valid sigset_t initialised by sigemptyset before
    // use; sigprocmask is async-signal-safe and the old mask is not wanted.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Close every descriptor >= 3 of this process except `keep`.
///
/// # Safety
///
/// No live object of this process may own a descriptor >= 3 other than those
/// in `keep`: each such descriptor is closed under its owner.
pub(crate) unsafe fn close_fds_from_3(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|fd| *fd >= 3).collect();
    keep.sort_unstable();
    keep.dedup();
    if platform::close_ranges(&keep) {
        return Ok(());
    }
    let open = platform::open_fds().unwrap_or_else(|| (3..fd_limit()).collect());
    for fd in open {
        if fd >= 3 && keep.binary_search(&fd).is_err() {
            // SAFETY: the caller guarantees nothing owns `fd`; closing a
            // number that is not open fails with EBADF and changes nothing.
            unsafe {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
mod platform {
    use std::os::fd::RawFd;

    /// Real-time signals go up to 64 on Linux.
    pub const SIGNAL_LIMIT: i32 = 65;
    /// `CLOSE_RANGE_CLOEXEC` from <linux/close_range.h>.
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

    fn close_range(first: RawFd, last: libc::c_uint, flags: libc::c_uint) -> bool {
        let Ok(first) = libc::c_uint::try_from(first) else {
            return false;
        };
        if first > last {
            return true;
        }
        // SAFETY: close_range(2) takes plain integers; with CLOSE_RANGE_CLOEXEC
        // it only sets flags, without it the callers guarantee nothing owns
        // the descriptors it closes. Kernels before 5.9 (5.11 for
        // CLOSE_RANGE_CLOEXEC) fail with ENOSYS/EINVAL and change nothing.
        let rc = unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) };
        rc == 0
    }

    /// Apply `flags` to every descriptor >= 3 except the sorted `keep` list.
    fn ranges_except(keep: &[RawFd], flags: libc::c_uint) -> bool {
        let mut from: RawFd = 3;
        for fd in keep.iter().filter(|fd| **fd >= 3) {
            if *fd > from && !close_range(from, (*fd - 1) as libc::c_uint, flags) {
                return false;
            }
            from = fd.saturating_add(1).max(from);
        }
        close_range(from, libc::c_uint::MAX, flags)
    }

    /// Async-signal-safe: no allocation. `keep` is sorted.
    pub fn cloexec_ranges(keep: &[RawFd]) -> bool {
        ranges_except(keep, CLOSE_RANGE_CLOEXEC)
    }

    pub fn close_ranges(keep: &[RawFd]) -> bool {
        ranges_except(keep, 0)
    }

    /// The system call, not libc's wrapper: glibc refuses to touch the
    /// signals it reserves for itself (32 and 33), yet a parent may have left
    /// them ignored, and ignored dispositions survive exec.
    pub fn set_default_disposition(signal: i32) {
        // All zero is `SIG_DFL`, no flags, empty mask in the kernel's
        // `struct sigaction` of every architecture; 32 bytes cover its size.
        let action = [0u64; 4];
        // SAFETY: rt_sigaction reads `action` (valid, large enough, all zero
        // meaning SIG_DFL) and writes nothing (old action pointer is null);
        // it is async-signal-safe. Invalid numbers fail with EINVAL.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                action.as_ptr(),
                std::ptr::null_mut::<u64>(),
                std::mem::size_of::<u64>(),
            );
        }
    }

    /// The open descriptors, from `/proc/self/fd` (the listing's own
    /// descriptor is closed again before this returns).
    pub fn open_fds() -> Option<Vec<RawFd>> {
        let entries = fs_err::read_dir("/proc/self/fd").ok()?;
        let fds = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .collect();
        Some(fds)
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use std::os::fd::RawFd;

    /// Classic signals only.
    pub const SIGNAL_LIMIT: i32 = 32;

    pub fn cloexec_ranges(_keep: &[RawFd]) -> bool {
        false
    }

    pub fn close_ranges(_keep: &[RawFd]) -> bool {
        false
    }

    pub fn set_default_disposition(signal: i32) {
        // SAFETY: signal(3) with SIG_DFL is async-signal-safe and only changes
        // this process's disposition; invalid numbers fail with EINVAL.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
    }

    pub fn open_fds() -> Option<Vec<RawFd>> {
        None
    }
}
