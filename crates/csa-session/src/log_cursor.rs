//! Reading a log that the daemon may rotate (contract §9.3): where `csa
//! session logs --tail N` starts and how `--follow` goes on when
//! `output.log` becomes `output.log.1` and a new `output.log` starts.
//!
//! [`LogCursor::open`] positions at the last N lines, taking from the
//! rotated log what the current one lacks; [`LogCursor::read_new`] hands
//! over every byte written since the last call and, once the file it has
//! open was renamed away and read to its end, moves to the new log from
//! its start (a generation rotated in between is read from
//! `output.log.1`; only a third rotation between two reads loses one). A
//! log is cut at an exact size, so a line may span the two
//! files: it is counted once in each.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::log_tail::last_lines_found;
use crate::read::open_regular;

/// How many bytes are read at a time.
const CHUNK: usize = 64 * 1024;

/// An open log and how far it was read; see the module docs.
#[derive(Debug)]
pub struct LogCursor {
    path: PathBuf,
    #[cfg_attr(not(unix), expect(dead_code, reason = "logs are rotated only on Unix"))]
    rotated: PathBuf,
    file: File,
    read_to: u64,
    /// The rotated log's last lines, to hand over before the log itself.
    before: Option<(File, u64)>,
}

/// What [`LogCursor::read_new`] did besides handing bytes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The sink asked to stop (its reader went away).
    pub stopped: bool,
    /// The cursor moved to a new log (a rotation): watch its contents anew.
    pub moved: bool,
}

impl LogCursor {
    /// The log at `path` (`rotated`: where the daemon moves it when full),
    /// at its last `tail` lines, or at its start; `None` while there is no
    /// log. Anything but a regular file is an error.
    pub fn open(path: &Path, rotated: &Path, tail: Option<usize>) -> io::Result<Option<LogCursor>> {
        let (mut file, len) = match open_regular(path) {
            Ok(opened) => opened,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let mut before = None;
        let read_to = match tail {
            None => 0,
            Some(lines) => {
                let (start, found) = last_lines_found(&mut file, len, lines)?;
                if found < lines
                    && let Ok((mut old, old_len)) = open_regular(rotated)
                {
                    let (old_start, _) = last_lines_found(&mut old, old_len, lines - found)?;
                    old.seek(SeekFrom::Start(old_start))?;
                    before = Some((old, old_len - old_start));
                }
                start
            }
        };
        Ok(Some(LogCursor {
            path: path.to_path_buf(),
            rotated: rotated.to_path_buf(),
            file,
            read_to,
            before,
        }))
    }

    /// Hand every byte not handed over yet to `sink` (which says whether
    /// to go on), moving to the new log after a rotation.
    ///
    /// The name is looked at before the open file is read to its end: the
    /// daemon writes a log completely before it renames it, so when the
    /// name already held another file, the end read is the log's last byte
    /// and nothing is lost by moving on. When the log was rotated twice
    /// since the last call, the generation between (now `output.log.1`) is
    /// handed over whole before the new log.
    pub fn read_new(
        &mut self,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<bool>,
    ) -> io::Result<Progress> {
        let mut progress = Progress {
            stopped: false,
            moved: false,
        };
        if let Some((old, left)) = self.before.take()
            && !copy(old.take(left), sink)?
        {
            progress.stopped = true;
            return Ok(progress);
        }
        loop {
            let replaced = self.replaced();
            if !self.read_to_end(sink)? {
                progress.stopped = true;
                return Ok(progress);
            }
            let Some(new) = replaced else {
                return Ok(progress);
            };
            if let Some(between) = self.generation_between(&new)
                && !copy(between, sink)?
            {
                progress.stopped = true;
                return Ok(progress);
            }
            self.file = new;
            self.read_to = 0;
            progress.moved = true;
        }
    }

    /// Hand over the open file from where it was read to its end.
    fn read_to_end(&mut self, sink: &mut dyn FnMut(&[u8]) -> io::Result<bool>) -> io::Result<bool> {
        let len = self.file.metadata()?.len();
        if len < self.read_to {
            tracing::info!(path = %self.path.display(), "the log was truncated: reading it from its start");
            self.read_to = 0;
        }
        self.file.seek(SeekFrom::Start(self.read_to))?;
        let mut counted = Counted {
            inner: &mut self.file,
            count: 0,
        };
        let go_on = copy(&mut counted, sink)?;
        self.read_to += counted.count;
        Ok(go_on)
    }

    /// The file the name holds now, when it is not the one open.
    #[cfg(unix)]
    fn replaced(&self) -> Option<File> {
        let (new, _) = open_regular(&self.path).ok()?;
        (!same_file(&self.file, &new)?).then_some(new)
    }

    /// The rotated log, when it is neither the file read to its end nor the
    /// `new` one: a whole generation written since the last call.
    #[cfg(unix)]
    fn generation_between(&self, new: &File) -> Option<File> {
        let (between, _) = open_regular(&self.rotated).ok()?;
        let other = !same_file(&self.file, &between)? && !same_file(new, &between)?;
        other.then_some(between)
    }

    /// Off Unix logs are not rotated.
    #[cfg(not(unix))]
    fn replaced(&self) -> Option<File> {
        None
    }

    #[cfg(not(unix))]
    fn generation_between(&self, _new: &File) -> Option<File> {
        None
    }
}

/// Whether two open files are one (`None` when either cannot be asked).
#[cfg(unix)]
fn same_file(a: &File, b: &File) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (a.metadata().ok()?, b.metadata().ok()?);
    Some(a.ino() == b.ino() && a.dev() == b.dev())
}

/// Copy `from` to `sink` in chunks; false when the sink stopped.
fn copy(mut from: impl Read, sink: &mut dyn FnMut(&[u8]) -> io::Result<bool>) -> io::Result<bool> {
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) => return Ok(true),
            Ok(read) => read,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if !sink(&buffer[..read])? {
            return Ok(false);
        }
    }
}

/// A reader that counts what it read.
struct Counted<'f> {
    inner: &'f mut File,
    count: u64,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count += read as u64;
        Ok(read)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn read_all(cursor: &mut LogCursor) -> (Vec<u8>, Progress) {
        let mut got = Vec::new();
        let progress = cursor
            .read_new(&mut |bytes: &[u8]| {
                got.extend_from_slice(bytes);
                Ok(true)
            })
            .expect("a temp file reads");
        (got, progress)
    }

    #[test]
    fn tail_takes_what_the_log_lacks_from_the_rotated_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (log, old) = (
            tmp.path().join("output.log"),
            tmp.path().join("output.log.1"),
        );
        fs_err::write(&old, "a\nb\nc\n").unwrap();
        fs_err::write(&log, "d\ne\n").unwrap();
        let mut cursor = LogCursor::open(&log, &old, Some(3)).unwrap().unwrap();
        assert_eq!(read_all(&mut cursor).0, b"c\nd\ne\n");
        let mut cursor = LogCursor::open(&log, &old, Some(1)).unwrap().unwrap();
        assert_eq!(read_all(&mut cursor).0, b"e\n");
        let mut cursor = LogCursor::open(&log, &old, None).unwrap().unwrap();
        assert_eq!(read_all(&mut cursor).0, b"d\ne\n");
    }

    #[test]
    fn following_goes_on_in_the_new_log_after_a_rotation() {
        let tmp = tempfile::tempdir().unwrap();
        let (log, old) = (
            tmp.path().join("output.log"),
            tmp.path().join("output.log.1"),
        );
        fs_err::write(&log, "one\n").unwrap();
        let mut cursor = LogCursor::open(&log, &old, None).unwrap().unwrap();
        assert_eq!(read_all(&mut cursor).0, b"one\n");
        // The daemon fills the log, moves it away and starts a new one.
        let mut file = fs_err::OpenOptions::new().append(true).open(&log).unwrap();
        std::io::Write::write_all(&mut file, b"two\n").unwrap();
        fs_err::rename(&log, &old).unwrap();
        fs_err::write(&log, "three\n").unwrap();
        let (got, progress) = read_all(&mut cursor);
        assert_eq!(got, b"two\nthree\n");
        assert!(progress.moved);
        let (got, progress) = read_all(&mut cursor);
        assert!(got.is_empty() && !progress.moved);
    }

    #[test]
    fn two_rotations_between_reads_hand_over_the_generation_between() {
        let tmp = tempfile::tempdir().unwrap();
        let (log, old) = (
            tmp.path().join("output.log"),
            tmp.path().join("output.log.1"),
        );
        fs_err::write(&log, "one\n").unwrap();
        let mut cursor = LogCursor::open(&log, &old, None).unwrap().unwrap();
        assert_eq!(read_all(&mut cursor).0, b"one\n");
        fs_err::rename(&log, &old).unwrap();
        fs_err::write(&log, "two\n").unwrap();
        fs_err::rename(&log, &old).unwrap();
        fs_err::write(&log, "three\n").unwrap();
        assert_eq!(read_all(&mut cursor).0, b"two\nthree\n");
        // Once moved on, the rotated file is not handed over again.
        fs_err::write(&log, "three\nfour\n").unwrap();
        assert_eq!(read_all(&mut cursor).0, b"four\n");
    }
}
