//! Is a lock file's `flock` held? Answered without touching the lock.
//!
//! On Linux the kernel lists every held lock in `/proc/locks` with the device
//! and inode of the locked file. One snapshot is read per command, lazily (only
//! if some session has a lock file), and each lock file is matched by its
//! (major, minor, inode). Trying to acquire the lock instead would make a
//! concurrent non-blocking acquire by the real holder fail, so it is never done.
//! Elsewhere the answer is `None` (unknown).

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
    #[allow(
        clippy::disallowed_methods,
        reason = "an unreadable /proc/locks means unknown, not an error"
    )]
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    Some(parse_proc_locks(&text))
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
