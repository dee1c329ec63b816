//! Is a lock file's `flock` held? Answered without touching the lock.
//!
//! On Linux the kernel lists every held lock in `/proc/locks` with the device
//! and inode of the locked file. One snapshot is read per command, lazily (only
//! if some session has a lock file), and each lock file is matched by its
//! (major, minor, inode). Trying to acquire the lock instead would make a
//! concurrent non-blocking acquire by the real holder fail, so it is never done.
//! Elsewhere the answer is `None` (unknown).
//!
//! The kernel writes the table afresh on each `read`, walking its list by
//! position under its lock: a file read in pieces (as `read_to_string` does,
//! starting with 32 bytes) can skip a held lock when another lock ahead of it
//! goes away between two pieces. So the table is read with one `read` into a
//! buffer large enough, and read again whole with a buffer twice as large when
//! that read fills it (`read_pass`). The kernel hands out at most a page per
//! `read`; a table longer than that cannot be had in one, and is read in
//! several passes until two agree, every lock any pass saw counting as held
//! (`read_held`): a skipped holder is never taken for a free lock on the
//! word of one pass. All of it is bounded
//! ([`crate::consts::LOCKS_MAX_READ`], [`crate::consts::LOCKS_MAX_PASSES`]);
//! beyond that the answer is unknown.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

/// (major, minor, inode) of a locked file.
type FileKey = (u32, u32, u64);

/// A lazily read snapshot of the held locks.
#[derive(Debug, Default)]
pub struct HeldLocks {
    snapshot: OnceLock<Option<HashSet<FileKey>>>,
}

impl HeldLocks {
    pub fn new() -> HeldLocks {
        HeldLocks::default()
    }

    /// A snapshot parsed from `/proc/locks`-formatted text (for tests and tools).
    pub fn from_proc_locks_text(text: &str) -> HeldLocks {
        let held = HeldLocks::default();
        let _ = held.snapshot.set(Some(parse_proc_locks(text)));
        held
    }

    /// `Some(true)` if some process holds a lock on `lock_path`, `Some(false)` if
    /// none does, `None` if this cannot be known here.
    pub fn is_held(&self, lock_path: &Path) -> Option<bool> {
        let key = file_key(lock_path)?;
        let snapshot = self.snapshot.get_or_init(read_snapshot).as_ref()?;
        Some(snapshot.contains(&key))
    }
}

/// Parse `/proc/locks`: `N: FLOCK ADVISORY WRITE <pid> <maj>:<min>:<inode> <start> <end>`;
/// `N: -> ...` lines are waiters, not holders.
pub fn parse_proc_locks(text: &str) -> HashSet<FileKey> {
    let mut held = HashSet::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.get(1) == Some(&"->") {
            continue;
        }
        let Some(dev_inode) = fields.get(5) else {
            continue;
        };
        let mut parts = dev_inode.split(':');
        let (Some(major), Some(minor), Some(inode), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if let (Ok(major), Ok(minor), Ok(inode)) = (
            u32::from_str_radix(major, 16),
            u32::from_str_radix(minor, 16),
            inode.parse::<u64>(),
        ) {
            held.insert((major, minor, inode));
        }
    }
    held
}

#[cfg(target_os = "linux")]
fn read_snapshot() -> Option<HashSet<FileKey>> {
    use crate::consts::{LOCKS_FIRST_READ, LOCKS_MAX_READ};
    use snapshot::{Limits, read_held};
    let limits = Limits {
        first: LOCKS_FIRST_READ,
        max: LOCKS_MAX_READ,
    };
    // An unreadable /proc/locks means unknown, not an error.
    let open = || fs_err::File::open("/proc/locks");
    match read_held(open, limits) {
        Ok(held) => held,
        Err(err) => {
            tracing::debug!(%err, "cannot read /proc/locks: held locks unknown");
            None
        }
    }
}

/// Reading a lock table the kernel writes afresh on each `read`.
#[cfg(any(target_os = "linux", test))]
mod snapshot {
    use std::collections::HashSet;
    use std::io::{self, ErrorKind, Read};

    use super::{FileKey, parse_proc_locks};
    use crate::consts::LOCKS_MAX_PASSES;

    /// The buffer sizes of [`read_pass`]: the first, and the largest.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Limits {
        pub(super) first: usize,
        pub(super) max: usize,
    }

    /// What one pass over a file the kernel generates on each `read` got.
    #[derive(Debug, PartialEq, Eq)]
    struct Pass {
        bytes: Vec<u8>,
        /// One `read` returned all of it: a consistent snapshot.
        one_read: bool,
    }

    /// The held locks of a `/proc/locks`-formatted file that `open` opens
    /// afresh for each pass; `Ok(None)` when it is larger than `limits.max`.
    /// One `read` that returns the whole table is the answer; a table handed out
    /// in pieces is read in passes until two agree (at most
    /// [`LOCKS_MAX_PASSES`]), and every lock any pass saw counts as held.
    pub(super) fn read_held<R: Read>(
        mut open: impl FnMut() -> io::Result<R>,
        limits: Limits,
    ) -> io::Result<Option<HashSet<FileKey>>> {
        let mut held = HashSet::new();
        let mut previous: Option<HashSet<FileKey>> = None;
        for pass in 0..LOCKS_MAX_PASSES {
            let Some(read) = read_pass(&mut open, limits)? else {
                tracing::debug!(max = limits.max, "/proc/locks is larger than the limit");
                return Ok(None);
            };
            let keys = parse_proc_locks(&String::from_utf8_lossy(&read.bytes));
            if read.one_read {
                return Ok(Some(keys));
            }
            tracing::trace!(pass, bytes = read.bytes.len(), "/proc/locks came in pieces");
            let agreed = previous.as_ref() == Some(&keys);
            held.extend(keys.iter().copied());
            if agreed {
                break;
            }
            previous = Some(keys);
        }
        Ok(Some(held))
    }

    /// Read the whole file `open` opens with one `read` into a buffer of
    /// `limits.first` bytes; when that read fills it, open and read it again with
    /// twice the buffer, up to `limits.max` (`Ok(None)` beyond). What a seq file
    /// hands out after the first `read` (the kernel gives a page per `read`) is
    /// read to the end, and the pass says it came in pieces.
    fn read_pass<R: Read>(
        open: &mut impl FnMut() -> io::Result<R>,
        limits: Limits,
    ) -> io::Result<Option<Pass>> {
        let mut size = limits.first.clamp(1, limits.max.max(1));
        loop {
            let mut file = open()?;
            let mut bytes = vec![0u8; size];
            let filled = read_once(&mut file, &mut bytes)?;
            if filled == size {
                if size >= limits.max {
                    return Ok(None);
                }
                size = size.saturating_mul(2).min(limits.max);
                continue;
            }
            bytes.truncate(filled);
            let mut one_read = true;
            let mut more = vec![0u8; size];
            loop {
                let got = read_once(&mut file, &mut more)?;
                if got == 0 {
                    return Ok(Some(Pass { bytes, one_read }));
                }
                one_read = false;
                if bytes.len() + got > limits.max {
                    return Ok(None);
                }
                bytes.extend_from_slice(&more[..got]);
            }
        }
    }

    /// One `read`, repeated only when a signal interrupted it.
    fn read_once(file: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            match file.read(buffer) {
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A file written afresh on each open, as the kernel's seq files
        /// are: each `read` returns at most `per_read` bytes (a page for
        /// `/proc/locks`), and a read interrupted once by a signal.
        struct Generated {
            text: Vec<u8>,
            at: usize,
            per_read: usize,
            interrupted: bool,
        }

        impl Read for Generated {
            fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
                if !self.interrupted {
                    self.interrupted = true;
                    return Err(ErrorKind::Interrupted.into());
                }
                let left = &self.text[self.at..];
                let n = left.len().min(buffer.len()).min(self.per_read);
                buffer[..n].copy_from_slice(&left[..n]);
                self.at += n;
                Ok(n)
            }
        }

        /// An opener of `versions` in turn (the last one again once they run
        /// out), each handed out `per_read` bytes at a time; counts opens.
        fn opener(
            versions: Vec<String>,
            per_read: usize,
            opens: &mut usize,
        ) -> impl FnMut() -> io::Result<Generated> + '_ {
            move || {
                let text = versions[(*opens).min(versions.len() - 1)]
                    .clone()
                    .into_bytes();
                *opens += 1;
                Ok(Generated {
                    text,
                    at: 0,
                    per_read,
                    interrupted: false,
                })
            }
        }

        fn lock_line(n: usize, inode: u64) -> String {
            format!("{n}: FLOCK  ADVISORY  WRITE 42 fd:01:{inode} 0 EOF\n")
        }

        fn table(inodes: &[u64]) -> String {
            inodes
                .iter()
                .enumerate()
                .map(|(n, inode)| lock_line(n + 1, *inode))
                .collect()
        }

        const LIMITS: Limits = Limits {
            first: 64,
            max: 1024,
        };

        #[test]
        fn a_read_that_fills_the_buffer_is_read_again_whole_with_a_larger_one() {
            let text = table(&[1, 2, 3, 4]); // 4 lines of 42 bytes: 168
            let mut opens = 0;
            let pass = read_pass(
                &mut opener(vec![text.clone()], usize::MAX, &mut opens),
                LIMITS,
            )
            .unwrap()
            .unwrap();
            // 64 and 128 fill; 256 holds it in one read.
            assert_eq!(opens, 3);
            assert_eq!(pass.bytes, text.as_bytes());
            assert!(pass.one_read);
        }

        #[test]
        fn a_buffer_exactly_filled_by_the_whole_file_is_grown_once_more() {
            let text = "x".repeat(64);
            let mut opens = 0;
            let pass = read_pass(
                &mut opener(vec![text.clone()], usize::MAX, &mut opens),
                LIMITS,
            )
            .unwrap()
            .unwrap();
            assert_eq!(opens, 2);
            assert_eq!(pass.bytes, text.as_bytes());
            assert!(pass.one_read);
        }

        #[test]
        fn a_file_larger_than_the_limit_is_unknown_not_cut() {
            let text = "x".repeat(1024);
            let mut opens = 0;
            let read = read_pass(&mut opener(vec![text], usize::MAX, &mut opens), LIMITS);
            assert_eq!(read.unwrap(), None);
            assert_eq!(opens, 5, "64, 128, 256, 512, 1024: then it stops");
            let mut opens = 0;
            let pieces = "x".repeat(1025);
            let read = read_pass(&mut opener(vec![pieces], 100, &mut opens), LIMITS);
            assert_eq!(read.unwrap(), None, "pieces past the limit are unknown too");
        }

        #[test]
        fn a_file_handed_out_in_pieces_is_read_to_its_end_and_says_so() {
            let text = table(&[1, 2, 3, 4, 5, 6]);
            let mut opens = 0;
            let pass = read_pass(&mut opener(vec![text.clone()], 50, &mut opens), LIMITS)
                .unwrap()
                .unwrap();
            assert_eq!(
                opens, 1,
                "a read that does not fill the buffer is not retried"
            );
            assert_eq!(pass.bytes, text.as_bytes());
            assert!(!pass.one_read);
        }

        #[test]
        fn one_whole_read_is_the_answer() {
            let mut opens = 0;
            let limits = Limits {
                first: 256,
                max: 1024,
            };
            let held = read_held(opener(vec![table(&[7, 8])], usize::MAX, &mut opens), limits);
            let held = held.unwrap().unwrap();
            assert_eq!(opens, 1, "one read, one pass");
            assert_eq!(held, HashSet::from([(0xfd, 1, 7), (0xfd, 1, 8)]));
        }

        #[test]
        fn passes_in_pieces_go_on_until_two_agree_and_keep_every_lock_seen() {
            // The first pass skipped lock 9 (another lock went away between
            // two pieces); the second and third see the table as it is.
            let versions = vec![table(&[1, 2]), table(&[2, 9]), table(&[2, 9])];
            let mut opens = 0;
            let held = read_held(opener(versions, 50, &mut opens), LIMITS);
            let held = held.unwrap().unwrap();
            assert_eq!(opens, 3);
            assert!(
                held.contains(&(0xfd, 1, 9)),
                "a holder one pass skipped is held"
            );
            assert!(
                held.contains(&(0xfd, 1, 1)),
                "and so is every lock a pass saw"
            );
        }

        #[test]
        fn passes_that_never_agree_stop_at_the_bound() {
            let versions: Vec<String> = (1..=10).map(|inode| table(&[inode, 100])).collect();
            let mut opens = 0;
            let held = read_held(opener(versions, 50, &mut opens), LIMITS);
            let held = held.unwrap().unwrap();
            assert_eq!(opens, LOCKS_MAX_PASSES);
            assert_eq!(held.len(), LOCKS_MAX_PASSES + 1);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn read_snapshot() -> Option<HashSet<FileKey>> {
    None
}

#[cfg(target_os = "linux")]
fn file_key(path: &Path) -> Option<FileKey> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs_err::symlink_metadata(path).ok()?;
    let dev = meta.dev();
    Some((libc::major(dev), libc::minor(dev), meta.ino()))
}

#[cfg(not(target_os = "linux"))]
fn file_key(_path: &Path) -> Option<FileKey> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_are_parsed_and_waiters_skipped() {
        let text = "1: FLOCK  ADVISORY  WRITE 1234 fd:01:1311 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 99 fd:01:2222 0 EOF\n\
                    2: POSIX  ADVISORY  READ 5678 00:2b:42 0 EOF\n\
                    garbage line\n";
        let held = parse_proc_locks(text);
        assert!(held.contains(&(0xfd, 0x01, 1311)));
        assert!(held.contains(&(0, 0x2b, 42)));
        assert!(!held.contains(&(0xfd, 0x01, 2222)));
        assert_eq!(held.len(), 2);
    }
}
