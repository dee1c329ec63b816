//! What removal checks while it holds a session's `.reconcile.lock`, beyond
//! reading the session again ([`super::protocol`] calls both just before
//! the rename into the trash):
//!
//! - [`DirIdentity`]: the session dir is still the real folder the survey
//!   read (same device and inode), not a symlink or another folder swapped
//!   in since;
//! - [`hold_tool_locks`]: no tool lock (`locks/*.lock`) is held. Each is
//!   tried with a non-blocking exclusive `flock`, which sees a holder that
//!   `/proc/locks` hides (one outside our pid namespace) and needs no
//!   `/proc`. The locks are kept until the session is in the trash, so no
//!   tool can take one in between. Only removal does this: trying a lock
//!   would make the real holder's own non-blocking attempt fail, and the
//!   liveness probe of `list` and `reconcile` must disturb nothing
//!   (contract §5); a session being removed is past that.

#![allow(
    clippy::disallowed_methods,
    reason = "every failure here is reported with the path it concerns"
)]

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

use crate::consts::RECONCILER_ARTIFACTS;
use crate::layout::SessionDir;

use super::decision::Keep;

/// Which real folder a path named when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirIdentity {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl DirIdentity {
    /// The real folder at `path` (an lstat: a symlink is not one); `None`
    /// when there is none.
    pub(crate) fn of(path: &Path) -> Option<DirIdentity> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.is_dir() {
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(DirIdentity {
                dev: meta.dev(),
                ino: meta.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            // No inode to compare: a real folder is all that can be checked.
            Some(DirIdentity {})
        }
    }

    /// Whether `path` is still the real folder `surveyed` was.
    pub(crate) fn unchanged(surveyed: Option<DirIdentity>, path: &Path) -> bool {
        surveyed.is_some() && DirIdentity::of(path) == surveyed
    }
}

/// The tool locks of a session, held (exclusively) until dropped.
#[derive(Debug)]
pub(crate) struct ToolLocks {
    _held: Vec<File>,
}

/// Take every tool lock of `dir` without blocking, or say why the session
/// must be kept: one is held ([`Keep::ToolLockHeld`]), or `locks/` (or a lock
/// file in it) cannot be read, so a held one cannot be ruled out
/// ([`Keep::LocksUnreadable`]). A symlink or anything but a regular file is
/// not a lock a tool holds (tools open theirs with `O_NOFOLLOW`): skipped,
/// never opened to wait on.
pub(crate) fn hold_tool_locks(dir: &SessionDir) -> Result<ToolLocks, Keep> {
    let locks = dir.locks();
    let unreadable = |path: &Path, err: std::io::Error| {
        Keep::LocksUnreadable(format!("{}: {err}", path.display()))
    };
    let entries = match std::fs::read_dir(&locks) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => {
            return Ok(ToolLocks { _held: Vec::new() });
        }
        Err(err) => return Err(unreadable(&locks, err)),
    };
    let mut held = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|err| unreadable(&locks, err))?;
        let path = entry.path();
        let artifact = entry
            .file_name()
            .to_str()
            .is_some_and(|name| RECONCILER_ARTIFACTS.contains(&name));
        if !SessionDir::is_lock_file(&path) || artifact {
            continue;
        }
        let Some(file) = open_lock(&path).map_err(|err| unreadable(&path, err))? else {
            continue;
        };
        match file.try_lock() {
            Ok(()) => held.push(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Keep::ToolLockHeld(SessionDir::lock_label(&path)));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(unreadable(&path, err)),
        }
    }
    Ok(ToolLocks { _held: held })
}

/// Open an existing lock file without following a link, creating nothing
/// and never blocking; `None` when it is gone or not a regular file.
fn open_lock(path: &Path) -> std::io::Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        // O_NOFOLLOW met a link.
        #[cfg(unix)]
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(file.metadata()?.is_file().then_some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> (tempfile::TempDir, SessionDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SessionDir::new(tmp.path().join("s"));
        fs_err::create_dir_all(dir.locks()).unwrap();
        (tmp, dir)
    }

    #[test]
    fn a_lock_held_by_another_open_file_keeps_the_session_and_free_ones_are_held() {
        let (_tmp, dir) = session();
        let free = dir.locks().join("codex.lock");
        fs_err::write(&free, "{}").unwrap();
        let locks = hold_tool_locks(&dir).expect("nothing is held");
        // Ours now: nobody else can take it until they are dropped.
        assert!(File::open(&free).unwrap().try_lock().is_err());
        drop(locks);
        let busy = dir.locks().join("gemini.lock");
        let holder = File::create(&busy).unwrap();
        holder.lock().unwrap();
        assert_eq!(
            hold_tool_locks(&dir).unwrap_err(),
            Keep::ToolLockHeld("locks/gemini.lock".into())
        );
        drop(holder);
        assert!(hold_tool_locks(&dir).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn links_fifos_and_missing_locks_dirs_are_no_held_lock() {
        let (_tmp, dir) = session();
        let target = dir.path().join("elsewhere.lock");
        fs_err::write(&target, "").unwrap();
        let holder = File::open(&target).unwrap();
        holder.lock().unwrap();
        std::os::unix::fs::symlink(&target, dir.locks().join("linked.lock")).unwrap();
        let fifo = std::ffi::CString::new(
            dir.locks()
                .join("fifo.lock")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(hold_tool_locks(&dir).is_ok(), "never blocks on the FIFO");
        fs_err::remove_dir_all(dir.locks()).unwrap();
        assert!(hold_tool_locks(&dir).is_ok());
    }

    #[test]
    fn a_locks_dir_that_cannot_be_read_keeps_the_session() {
        // A file where the folder should be fails to read as root too (a
        // chmod 000 folder does not stop root: see the CLI test for that).
        let (_tmp, dir) = session();
        fs_err::remove_dir_all(dir.locks()).unwrap();
        fs_err::write(dir.locks(), "").unwrap();
        let keep = hold_tool_locks(&dir).unwrap_err();
        assert!(
            matches!(&keep, Keep::LocksUnreadable(why) if why.contains("locks")),
            "{keep:?}"
        );
        assert!(keep.describe().contains("cannot be read"), "{keep:?}");
    }
}
