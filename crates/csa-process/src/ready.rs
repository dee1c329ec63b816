//! The readiness protocol between `csa run` and the daemon it starts.
//!
//! `csa run` creates a pipe with [`ready_pipe`], passes the write end to the
//! daemon (see [`crate::launch::spawn_detached`]: it arrives at the fd number
//! [`ReadyWriter::raw_fd`] names, which `csa run` puts on the daemon's command
//! line as `--ready-fd N`), and waits with [`ReadyReader::wait`]. The daemon
//! claims the descriptor with [`ReadyWriter::from_inherited_fd`] and writes
//! exactly one line, then closes it:
//!
//! - `started <cmd pid> <start ticks>` once the command runs ([`ReadyWriter::started`]);
//! - `failed <one-line message>` if it could not start ([`ReadyWriter::failed`]).
//!
//! End of file without a line means the daemon died before reporting
//! ([`ReadyError::DaemonDied`]). The wait is a `poll` with a timeout. Both
//! ends are close-on-exec, so neither leaks into the command or into other
//! children of `csa run`.

use std::time::Duration;

use crate::record::CmdPid;

/// Longest line either side accepts; below `PIPE_BUF`, so one write is atomic.
pub const READY_LINE_MAX: usize = 4000;

/// What the daemon reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// The command runs with this pid and start time.
    Started { pid: u32, start_time_ticks: u64 },
    /// The daemon could not start the command; the message says why.
    Failed(String),
}

/// No report could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    #[error("the daemon exited before reporting whether the command started")]
    DaemonDied,
    #[error("the daemon did not report within {0:?}")]
    Timeout(Duration),
    #[error("the daemon's report is malformed: {0}")]
    Malformed(String),
    #[error("cannot read the daemon's report")]
    Io(#[from] std::io::Error),
}

/// Parse one report line (without its newline).
pub fn parse_ready_line(line: &str) -> Result<Ready, String> {
    if let Some(rest) = line.strip_prefix("started ") {
        let record = CmdPid::parse(rest).map_err(|reason| format!("{line:?}: {reason}"))?;
        return Ok(Ready::Started {
            pid: record.pid,
            start_time_ticks: record.start_time_ticks,
        });
    }
    if line == "failed" {
        return Ok(Ready::Failed(String::new()));
    }
    if let Some(message) = line.strip_prefix("failed ") {
        return Ok(Ready::Failed(message.to_owned()));
    }
    Err(format!(
        "{line:?} is neither `started <pid> <ticks>` nor `failed <message>`"
    ))
}

/// The line that reports a started command, newline included.
pub fn started_line(pid: u32, start_time_ticks: u64) -> String {
    format!("started {pid} {start_time_ticks}\n")
}

/// The line that reports a failure: control characters become spaces and the
/// message is cut to fit [`READY_LINE_MAX`]. Newline included.
pub fn failed_line(message: &str) -> String {
    let mut line = String::from("failed ");
    for c in message.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if line.len() + c.len_utf8() >= READY_LINE_MAX {
            break;
        }
        line.push(c);
    }
    line.push('\n');
    line
}

/// The bytes read so far: a complete report, or `None` to read on.
#[cfg_attr(not(unix), allow(dead_code))]
fn report_in(buf: &[u8], eof: bool) -> Option<Result<Ready, ReadyError>> {
    let line = match buf.iter().position(|b| *b == b'\n') {
        Some(end) => &buf[..end],
        None if buf.len() > READY_LINE_MAX => {
            return Some(Err(ReadyError::Malformed(format!(
                "no newline within {READY_LINE_MAX} bytes"
            ))));
        }
        None if eof && buf.is_empty() => return Some(Err(ReadyError::DaemonDied)),
        // A writer that closed without its newline: the line is complete.
        None if eof => buf,
        None => return None,
    };
    let parsed = std::str::from_utf8(line)
        .map_err(|_| "not valid UTF-8".to_owned())
        .and_then(parse_ready_line);
    Some(parsed.map_err(ReadyError::Malformed))
}

#[cfg(unix)]
mod unix {
    use std::io::{self, Write};
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
    use std::time::Duration;

    use rustix::io::{Errno, FdFlags};

    use super::{Ready, ReadyError, failed_line, report_in, started_line};

    /// `csa run`'s end of the readiness pipe.
    #[derive(Debug)]
    pub struct ReadyReader {
        fd: OwnedFd,
    }

    /// The daemon's end of the readiness pipe.
    #[derive(Debug)]
    pub struct ReadyWriter {
        fd: OwnedFd,
    }

    /// A new readiness pipe; both ends are close-on-exec and numbered >= 3
    /// (so that setting up a child's stdin, stdout and stderr cannot clobber
    /// them).
    pub fn ready_pipe() -> io::Result<(ReadyReader, ReadyWriter)> {
        let (read, write) = cloexec_pipe()?;
        Ok((
            ReadyReader {
                fd: above_stdio(read)?,
            },
            ReadyWriter {
                fd: above_stdio(write)?,
            },
        ))
    }

    #[cfg(not(target_vendor = "apple"))]
    fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
        Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
    }

    /// macOS has no pipe2: the flag is set right after (a child forked by
    /// another thread in between could inherit the pipe).
    #[cfg(target_vendor = "apple")]
    fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
        let (read, write) = rustix::pipe::pipe()?;
        rustix::io::fcntl_setfd(&read, FdFlags::CLOEXEC)?;
        rustix::io::fcntl_setfd(&write, FdFlags::CLOEXEC)?;
        Ok((read, write))
    }

    fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
        if fd.as_raw_fd() >= 3 {
            return Ok(fd);
        }
        Ok(rustix::io::fcntl_dupfd_cloexec(&fd, 3)?)
    }

    impl ReadyReader {
        /// Wait for the daemon's report, at most `timeout`.
        pub fn wait(self, timeout: Duration) -> Result<Ready, ReadyError> {
            let deadline = crate::watch::deadline_after(timeout);
            let mut buf = Vec::new();
            loop {
                if let Some(report) = report_in(&buf, false) {
                    return report;
                }
                if !crate::watch::wait_readable(&[self.fd.as_fd()], deadline)? {
                    return Err(ReadyError::Timeout(timeout));
                }
                let mut chunk = [0u8; 512];
                match rustix::io::read(&self.fd, &mut chunk) {
                    Ok(0) => {
                        return report_in(&buf, true).unwrap_or(Err(ReadyError::DaemonDied));
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(Errno::INTR | Errno::AGAIN) => {}
                    Err(err) => return Err(ReadyError::Io(err.into())),
                }
            }
        }
    }

    impl ReadyWriter {
        /// The descriptor number, for the daemon's `--ready-fd` argument.
        pub fn raw_fd(&self) -> RawFd {
            self.fd.as_raw_fd()
        }

        /// Claim the write end a daemon inherited at `fd` (its `--ready-fd`).
        /// It must be >= 3 and an open pipe opened for writing; it is made
        /// close-on-exec so that it never reaches the command.
        ///
        /// # Safety
        ///
        /// `fd` must be the inherited descriptor and owned by nothing else in
        /// this process (call this once, at startup, before anything else
        /// could have been given that number).
        pub unsafe fn from_inherited_fd(fd: RawFd) -> io::Result<ReadyWriter> {
            let invalid = |what: &str| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("--ready-fd {fd} {what}"),
                )
            };
            if fd < 3 {
                return Err(invalid("is stdin, stdout or stderr, not a readiness pipe"));
            }
            // SAFETY: the caller guarantees `fd` is ours for the life of this
            // process; it is only borrowed while checked.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            let stat = rustix::fs::fstat(borrowed).map_err(|_| invalid("is not open"))?;
            if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::Fifo {
                return Err(invalid("is not a pipe"));
            }
            let mode = rustix::fs::fcntl_getfl(borrowed)? & rustix::fs::OFlags::ACCMODE;
            if mode != rustix::fs::OFlags::WRONLY && mode != rustix::fs::OFlags::RDWR {
                return Err(invalid("is not open for writing"));
            }
            rustix::io::fcntl_setfd(borrowed, FdFlags::CLOEXEC)?;
            // SAFETY: checked above to be an open pipe; the caller guarantees
            // nothing else owns it.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(ReadyWriter { fd })
        }

        /// Report that the command started, and close the pipe.
        pub fn started(self, pid: u32, start_time_ticks: u64) -> io::Result<()> {
            self.send(&started_line(pid, start_time_ticks))
        }

        /// Report that the command could not start, and close the pipe.
        pub fn failed(self, message: &str) -> io::Result<()> {
            self.send(&failed_line(message))
        }

        fn send(self, line: &str) -> io::Result<()> {
            std::fs::File::from(self.fd).write_all(line.as_bytes())
        }
    }
}

#[cfg(not(unix))]
mod other {
    use std::io;
    use std::time::Duration;

    use super::{Ready, ReadyError};

    /// Not available here: [`ready_pipe`] is `Unsupported`.
    #[derive(Debug)]
    pub struct ReadyReader {
        pub(crate) never: std::convert::Infallible,
    }

    /// Not available here: [`ready_pipe`] is `Unsupported`.
    #[derive(Debug)]
    pub struct ReadyWriter {
        pub(crate) never: std::convert::Infallible,
    }

    pub fn ready_pipe() -> io::Result<(ReadyReader, ReadyWriter)> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the readiness pipe needs Unix descriptor inheritance",
        ))
    }

    impl ReadyReader {
        pub fn wait(self, _timeout: Duration) -> Result<Ready, ReadyError> {
            match self.never {}
        }
    }

    impl ReadyWriter {
        pub fn started(self, _pid: u32, _start_time_ticks: u64) -> io::Result<()> {
            match self.never {}
        }

        pub fn failed(self, _message: &str) -> io::Result<()> {
            match self.never {}
        }
    }
}

#[cfg(not(unix))]
pub use other::{ReadyReader, ReadyWriter, ready_pipe};
#[cfg(unix)]
pub use unix::{ReadyReader, ReadyWriter, ready_pipe};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_round_trip() {
        assert_eq!(
            parse_ready_line(started_line(42, 777).trim_end()),
            Ok(Ready::Started {
                pid: 42,
                start_time_ticks: 777
            })
        );
        assert_eq!(
            parse_ready_line(
                failed_line("no such file:\n  `codex`\r")
                    .strip_suffix('\n')
                    .unwrap()
            ),
            Ok(Ready::Failed("no such file:   `codex` ".into()))
        );
        assert_eq!(parse_ready_line("failed"), Ok(Ready::Failed(String::new())));
        for bad in [
            "",
            "started",
            "started 1",
            "started 0 5",
            "started x y",
            "ok",
            "Started 1 2",
        ] {
            assert!(parse_ready_line(bad).is_err(), "{bad:?}");
        }
        let long = failed_line(&"é".repeat(READY_LINE_MAX));
        assert!(long.len() <= READY_LINE_MAX && long.ends_with('\n'));
    }

    #[test]
    fn partial_input_waits_and_end_of_file_decides() {
        assert!(report_in(b"star", false).is_none());
        assert!(matches!(
            report_in(b"", true),
            Some(Err(ReadyError::DaemonDied))
        ));
        assert!(matches!(
            report_in(b"failed x", true),
            Some(Ok(Ready::Failed(m))) if m == "x"
        ));
        assert!(matches!(
            report_in(b"garbage\n", false),
            Some(Err(ReadyError::Malformed(_)))
        ));
        let endless = vec![b'a'; READY_LINE_MAX + 1];
        assert!(matches!(
            report_in(&endless, false),
            Some(Err(ReadyError::Malformed(_)))
        ));
    }
}
