//! One log of one session read as lines (`csa session logs` of several
//! sessions, `--both`, and `top`'s logs pane), rotations followed by a
//! [`LogCursor`]. A line still being written (no newline yet) is held until
//! its newline comes, the session ends ([`LineStream::flush`]), or it
//! reaches [`MAX_HELD`] bytes.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::log_cursor::LogCursor;

/// A line without its newline longer than this is handed over as it is.
pub const MAX_HELD: usize = 64 * 1024;

/// A log that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}")]
pub struct LogReadError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// What a line goes to: its bytes (without the newline) and whether it is
/// from `stderr.log`; `false` asks to stop (the reader went away).
pub type LineSink<'s> = dyn FnMut(&[u8], bool) -> bool + 's;

/// One log being read as lines; see the module docs.
#[derive(Debug)]
pub struct LineStream {
    path: PathBuf,
    rotated: PathBuf,
    stderr: bool,
    cursor: Option<LogCursor>,
    /// The bytes of a line whose newline has not been read yet.
    held: Vec<u8>,
    /// The last read moved to a new log (a rotation): watch it anew.
    moved: bool,
}

impl LineStream {
    /// The log at `path`, moved to `rotated` when full; `stderr` marks its
    /// lines as `stderr.log`'s.
    pub fn new(path: PathBuf, rotated: PathBuf, stderr: bool) -> LineStream {
        LineStream {
            path,
            rotated,
            stderr,
            cursor: None,
            held: Vec::new(),
            moved: false,
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Open the log if it exists now, at its last `tail` lines (taking from
    /// the rotated log what it lacks). True when it was opened by this call.
    pub fn open(&mut self, tail: Option<usize>) -> Result<bool, LogReadError> {
        if self.cursor.is_some() {
            return Ok(false);
        }
        self.cursor =
            LogCursor::open(&self.path, &self.rotated, tail).map_err(|source| LogReadError {
                path: self.path.clone(),
                source,
            })?;
        Ok(self.cursor.is_some())
    }

    pub fn is_open(&self) -> bool {
        self.cursor.is_some()
    }

    /// Whether the last read moved to a new log; asked once.
    pub fn take_moved(&mut self) -> bool {
        std::mem::take(&mut self.moved)
    }

    /// When the log was last written (for the order of the first blocks).
    pub fn modified(&self) -> SystemTime {
        fs_err::metadata(&self.path)
            .ok()
            .and_then(|meta| meta.modified().ok())
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Read what was written since the last call; hand each complete line
    /// to `line`. `Ok(false)` when `line` asked to stop.
    pub fn read_new(&mut self, line: &mut LineSink<'_>) -> Result<bool, LogReadError> {
        let Some(cursor) = &mut self.cursor else {
            return Ok(true);
        };
        let (held, stderr) = (&mut self.held, self.stderr);
        let mut sink = |bytes: &[u8]| Ok(split_lines(held, bytes, stderr, line));
        let progress = cursor.read_new(&mut sink).map_err(|source| LogReadError {
            path: self.path.clone(),
            source,
        })?;
        self.moved |= progress.moved;
        Ok(!progress.stopped)
    }

    /// Hand over the line still held (the session ended without its
    /// newline); what `line` answers.
    pub fn flush(&mut self, line: &mut LineSink<'_>) -> bool {
        if self.held.is_empty() {
            return true;
        }
        let held = std::mem::take(&mut self.held);
        line(&held, self.stderr)
    }
}

/// Hand each line `bytes` completes to `line`, keeping an unfinished one in
/// `held` (handed over as it is once it reaches [`MAX_HELD`]).
fn split_lines(
    held: &mut Vec<u8>,
    mut bytes: &[u8],
    stderr: bool,
    line: &mut LineSink<'_>,
) -> bool {
    while let Some(at) = memchr::memchr(b'\n', bytes) {
        let whole = if held.is_empty() {
            line(&bytes[..at], stderr)
        } else {
            held.extend_from_slice(&bytes[..at]);
            let done = std::mem::take(held);
            line(&done, stderr)
        };
        if !whole {
            return false;
        }
        bytes = &bytes[at + 1..];
    }
    held.extend_from_slice(bytes);
    if held.len() >= MAX_HELD {
        let done = std::mem::take(held);
        return line(&done, stderr);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_across_reads_and_a_held_line_is_flushed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("stderr.log");
        fs_err::write(&path, "one\ntw").unwrap();
        let mut stream = LineStream::new(path.clone(), tmp.path().join("stderr.log.1"), true);
        assert!(stream.open(None).unwrap());
        let mut lines: Vec<(Vec<u8>, bool)> = Vec::new();
        let mut take = |bytes: &[u8], stderr: bool| {
            lines.push((bytes.to_vec(), stderr));
            true
        };
        stream.read_new(&mut take).unwrap();
        let mut file = fs_err::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut file, b"o\nthree").unwrap();
        stream.read_new(&mut take).unwrap();
        assert!(stream.flush(&mut take));
        let got: Vec<&[u8]> = lines.iter().map(|(l, _)| l.as_slice()).collect();
        assert_eq!(got, [&b"one"[..], b"two", b"three"]);
        assert!(lines.iter().all(|(_, stderr)| *stderr));
    }

    #[test]
    fn tail_starts_each_log_at_its_last_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("output.log");
        fs_err::write(&path, "a\nb\nc\n").unwrap();
        let mut stream = LineStream::new(path, tmp.path().join("output.log.1"), false);
        stream.open(Some(2)).unwrap();
        let mut lines = Vec::new();
        stream
            .read_new(&mut |bytes: &[u8], _| {
                lines.push(bytes.to_vec());
                true
            })
            .unwrap();
        assert_eq!(lines, [b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn a_line_without_its_newline_is_handed_over_once_it_is_too_long_to_hold() {
        let mut held = Vec::new();
        let mut lines = Vec::new();
        let long = vec![b'x'; MAX_HELD];
        assert!(split_lines(
            &mut held,
            &long[..MAX_HELD - 1],
            false,
            &mut |l: &[u8], _| {
                lines.push(l.len());
                true
            }
        ));
        assert!(lines.is_empty(), "held while shorter than the limit");
        assert!(split_lines(&mut held, b"x", false, &mut |l: &[u8], _| {
            lines.push(l.len());
            true
        }));
        assert_eq!(lines, [MAX_HELD]);
        assert!(held.is_empty());
    }
}
