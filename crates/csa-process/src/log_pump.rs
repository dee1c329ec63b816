//! The daemon between CMD and its logs (contract §9.3): CMD's stdout and
//! stderr are pipes, and one thread of the daemon copies what comes out of
//! each into `output.log` / `stderr.log`, rotating a log that reaches the
//! run's `max_log_size` once: the full log becomes `output.log.1` (replacing
//! an older one) and a new log starts, so one stream never takes more than
//! twice that size on disk.
//!
//! A log is cut exactly at the size (the rotated file holds `max` bytes),
//! not at a line end: a tool that writes one endless line is capped too.
//! The copy is a `read` and a `write` of up to [`COPY_CHUNK`] bytes per wake
//! of one `poll(2)` over both pipes; it ends when both pipes reach end of
//! file (every writer gone: CMD and what it left behind, which the daemon
//! stops before it finishes the pump), or, for a writer that outlives that
//! (it cannot: what survives the cleanup is reported), when
//! [`LogPump::finish`] stops waiting for it.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use csa_session::SessionDir;

use crate::log_file::open_log;

/// How many bytes are moved from a pipe to its log at a time.
pub const COPY_CHUNK: usize = 64 * 1024;

/// The write ends CMD gets as its stdout and stderr.
#[derive(Debug)]
pub struct PumpInputs {
    pub stdout: File,
    pub stderr: File,
}

/// The copying thread; see the module docs.
#[derive(Debug)]
pub struct LogPump {
    done: mpsc::Receiver<()>,
    stop: OwnedFd,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LogPump {
    /// Make the two pipes and start copying them into the session's logs,
    /// each rotated once it reaches `max_bytes`. The logs are opened (and
    /// created, 0600, never through a link) before this returns, so an
    /// error is known before CMD starts.
    pub fn start(session: &SessionDir, max_bytes: u64) -> io::Result<(LogPump, PumpInputs)> {
        let out = RotatingLog::open(
            session.output_log(),
            session.output_log_rotated(),
            max_bytes,
        )?;
        let err = RotatingLog::open(
            session.stderr_log(),
            session.stderr_log_rotated(),
            max_bytes,
        )?;
        let (out_read, out_write) = pipe()?;
        let (err_read, err_write) = pipe()?;
        let (stop_read, stop) = pipe()?;
        let (tell, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("log-pump".into())
            .spawn(move || {
                copy_until_closed([(out_read, out), (err_read, err)], &stop_read);
                let _ = tell.send(());
            })?;
        let inputs = PumpInputs {
            stdout: File::from(out_write),
            stderr: File::from(err_write),
        };
        Ok((
            LogPump {
                done,
                stop,
                thread: Some(thread),
            },
            inputs,
        ))
    }

    /// Wait up to `grace` for both pipes to reach end of file (every byte
    /// copied), then stop: what is readable then is still copied.
    pub fn finish(mut self, grace: Duration) {
        if self.done.recv_timeout(grace).is_err() {
            tracing::warn!("a process still holds CMD's output: the logs stop here");
            let _ = rustix::io::write(&self.stop, &[1]);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A log file that starts over in `rotated` once it holds `max` bytes.
#[derive(Debug)]
struct RotatingLog {
    path: PathBuf,
    rotated: PathBuf,
    max: u64,
    file: File,
    len: u64,
}

impl RotatingLog {
    fn open(path: PathBuf, rotated: PathBuf, max: u64) -> io::Result<RotatingLog> {
        let file = open_log(&path)?;
        let len = file.metadata()?.len();
        Ok(RotatingLog {
            path,
            rotated,
            max: max.max(1),
            file,
            len,
        })
    }

    /// Append `bytes`, rotating whenever the log is full.
    fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.len >= self.max
                && let Err(err) = self.rotate()
            {
                // A cap that cannot be applied loses no output: the log
                // grows on, and rotation is not tried again.
                tracing::warn!(log = %self.path.display(), %err, "cannot rotate the log: it grows on");
                self.max = u64::MAX;
            }
            let room = usize::try_from(self.max - self.len).unwrap_or(usize::MAX);
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.file.write_all(now)?;
            self.len += now.len() as u64;
            bytes = rest;
        }
        Ok(())
    }

    /// The full log becomes the rotated one (replacing an older one), and a
    /// new, empty log takes its name.
    fn rotate(&mut self) -> io::Result<()> {
        fs_err::rename(&self.path, &self.rotated)?;
        self.file = open_log(&self.path)?;
        self.len = 0;
        tracing::debug!(log = %self.path.display(), "rotated");
        Ok(())
    }
}

/// A pipe whose ends are closed on exec (CMD gets its end as stdout or
/// stderr, which `spawn` duplicates).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // No pipe2: the daemon starts no process before the flags are set.
        use rustix::io::{FdFlags, fcntl_setfd};
        let (read, write) = rustix::pipe::pipe()?;
        fcntl_setfd(&read, FdFlags::CLOEXEC)?;
        fcntl_setfd(&write, FdFlags::CLOEXEC)?;
        Ok((read, write))
    }
}

/// Copy each pipe into its log until both are closed, or until `stop` is
/// readable (then copy one read of each readable pipe, up to a pipe's
/// whole buffer, and end). A log
/// that cannot be written is given up (its pipe is still drained, so CMD
/// never blocks on a full pipe).
fn copy_until_closed(pipes: [(OwnedFd, RotatingLog); 2], stop: &OwnedFd) {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut open: Vec<(OwnedFd, RotatingLog, bool)> =
        pipes.into_iter().map(|(fd, log)| (fd, log, true)).collect();
    let mut buffer = vec![0u8; COPY_CHUNK];
    while !open.is_empty() {
        let mut fds: Vec<PollFd<'_>> = open
            .iter()
            .map(|(fd, _, _)| PollFd::new(fd, PollFlags::IN))
            .collect();
        fds.push(PollFd::new(stop, PollFlags::IN));
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return,
        }
        let ready: Vec<bool> = fds.iter().map(|fd| !fd.revents().is_empty()).collect();
        drop(fds);
        let stopping = ready[open.len()];
        let mut closed = Vec::new();
        for (at, (fd, log, writable)) in open.iter_mut().enumerate() {
            if !ready[at] {
                continue;
            }
            match rustix::io::read(fd.as_fd(), &mut buffer) {
                Ok(0) => closed.push(at),
                Ok(read) => {
                    if *writable && let Err(err) = log.write(&buffer[..read]) {
                        tracing::warn!(log = %log.path.display(), %err, "cannot write the log: dropping its output");
                        *writable = false;
                    }
                }
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(_) => closed.push(at),
            }
        }
        if stopping {
            // What was readable when asked to stop is copied; a writer
            // that goes on is not waited for.
            return;
        }
        for at in closed.into_iter().rev() {
            open.remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_is_rotated_once_at_its_size_and_keeps_the_newest_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let (pump, inputs) = LogPump::start(&session, 10).unwrap();
        let PumpInputs {
            mut stdout,
            mut stderr,
        } = inputs;
        stdout.write_all(b"0123456789abcdefghijKLMNO").unwrap();
        stderr.write_all(b"short\n").unwrap();
        drop((stdout, stderr));
        pump.finish(Duration::from_secs(10));
        // 25 bytes through a 10-byte log: rotated twice, the last full ten
        // in .1 and the rest in the log.
        assert_eq!(
            fs_err::read(session.output_log_rotated()).unwrap(),
            b"abcdefghij"
        );
        assert_eq!(fs_err::read(session.output_log()).unwrap(), b"KLMNO");
        assert_eq!(fs_err::read(session.stderr_log()).unwrap(), b"short\n");
        assert!(!session.stderr_log_rotated().exists());
    }

    #[test]
    fn finish_stops_waiting_for_a_writer_that_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let (pump, inputs) = LogPump::start(&session, 1 << 20).unwrap();
        let mut kept = inputs.stdout;
        kept.write_all(b"before\n").unwrap();
        pump.finish(Duration::from_millis(100));
        assert_eq!(fs_err::read(session.output_log()).unwrap(), b"before\n");
        drop(kept);
    }

    #[test]
    fn a_log_that_cannot_be_rotated_grows_on_and_loses_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        // A folder with a file in it cannot be replaced by a rename.
        fs_err::create_dir(session.output_log_rotated()).unwrap();
        fs_err::write(session.output_log_rotated().join("kept"), "").unwrap();
        let (pump, inputs) = LogPump::start(&session, 10).unwrap();
        let PumpInputs { mut stdout, stderr } = inputs;
        stdout.write_all(b"0123456789abcdefghijKLMNO").unwrap();
        drop((stdout, stderr));
        pump.finish(Duration::from_secs(10));
        assert_eq!(
            fs_err::read(session.output_log()).unwrap(),
            b"0123456789abcdefghijKLMNO"
        );
    }

    #[test]
    fn finish_ends_while_a_writer_goes_on_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let (pump, inputs) = LogPump::start(&session, 1 << 30).unwrap();
        let mut stdout = inputs.stdout;
        let writer = std::thread::spawn(move || {
            // Ends when the pump has closed its end of the pipe.
            while stdout.write_all(&[b'x'; 4096]).is_ok() {}
        });
        pump.finish(Duration::from_millis(100));
        writer.join().unwrap();
        assert!(fs_err::metadata(session.output_log()).unwrap().len() > 0);
    }
}
