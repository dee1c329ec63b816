//! The trash: a session leaves `sessions/` with one rename into
//! `sessions/.trash/<id>-<unique>`, and is removed there. A crash leaves it
//! either in place or in the trash, never half-removed in `sessions/`;
//! [`empty_trash`] finishes what a crashed removal left.
//!
//! Removal never follows a symlink: a link inside a session is unlinked and
//! its target left alone (`std::fs::remove_dir_all` does not follow links,
//! not even one given as its argument, and is safe against a link swapped in
//! while it runs).

#![allow(
    clippy::disallowed_methods,
    reason = "every failure here is a RemoveError naming the path itself"
)]

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use crate::durable::{create_private_dir_all, sync_dir, unique_suffix};
use crate::fault::{self, FaultPoint};
use crate::id::SessionId;
use crate::layout::SessionsDir;

use super::RemoveError;

/// Move the folder `dir` (session `id`, or its staging folder) into the
/// trash of `sessions` with one rename (creating the trash the first time).
/// Returns where it went.
pub(crate) fn move_to_trash(
    sessions: &SessionsDir,
    dir: &Path,
    id: &SessionId,
) -> Result<PathBuf, RemoveError> {
    let entry = sessions.trash_entry(id, &unique_suffix());
    let rename = || std::fs::rename(dir, &entry);
    let renamed = match rename() {
        Err(err) if err.kind() == ErrorKind::NotFound && !sessions.trash().is_dir() => {
            create_private_dir_all(&sessions.trash())?;
            rename()
        }
        other => other,
    };
    renamed.map_err(|source| RemoveError::Trash {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(entry)
}

/// Make a move into the trash durable: fsync the sessions folder (the name
/// left it) and the trash (the name arrived there).
pub(crate) fn sync(sessions: &SessionsDir) -> Result<(), RemoveError> {
    sync_dir(&sessions.path)?;
    sync_dir(&sessions.trash())?;
    Ok(())
}

/// Group commit of [`sync`] for the threads of one command: a thread whose
/// rename is done needs *an* fsync that started after it, not one of its
/// own. It waits for the next one to start and finish (or starts it when
/// none is running), so thousands of removals share a few fsyncs.
#[derive(Debug, Default)]
pub(crate) struct GroupSync {
    state: Mutex<SyncState>,
    finished: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Syncs started so far (they are numbered from 1).
    started: u64,
    /// The number of the last sync that succeeded.
    succeeded: u64,
    running: bool,
}

impl GroupSync {
    /// Return once an fsync of `sessions` and its trash that started after
    /// this call has succeeded. When the sync this call waited for failed,
    /// it tries one itself and returns that one's error.
    pub(crate) fn sync(&self, sessions: &SessionsDir) -> Result<(), RemoveError> {
        let lock = || self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = lock();
        // The first sync to start from now on covers our rename.
        let ticket = state.started + 1;
        while state.succeeded < ticket {
            if state.running {
                state = self.finished.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.started += 1;
            state.running = true;
            let number = state.started;
            drop(state);
            let result = sync(sessions);
            state = lock();
            state.running = false;
            if result.is_ok() {
                state.succeeded = number;
            }
            self.finished.notify_all();
            result?;
        }
        Ok(())
    }
}

/// Remove a folder in the trash and everything in it, without following
/// symlinks. Something already gone (another csa emptying the same trash)
/// is not an error.
pub fn purge(entry: &Path) -> Result<(), RemoveError> {
    let entries = match std::fs::read_dir(entry) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(purge_error(entry, source)),
    };
    let mut first = true;
    for child in entries {
        let child = child.map_err(|source| purge_error(entry, source))?;
        let path = child.path();
        // The entry's own type: a symlink is a link here, never its target.
        let is_dir = child.file_type().is_ok_and(|t| t.is_dir());
        let removed = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            Err(source) => return Err(purge_error(&path, source)),
        }
        if std::mem::take(&mut first) {
            fault::hit(FaultPoint::RemovePurging)?;
        }
    }
    match std::fs::remove_dir(entry) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(source) => Err(purge_error(entry, source)),
    }
}

/// Remove every folder left in the trash of `sessions` (by removals that
/// crashed or failed, or that another csa is finishing right now). Their
/// moves are made durable first: one may have been renamed there a moment
/// ago by a csa that has not fsynced yet. Returns how many were removed.
pub fn empty_trash(sessions: &SessionsDir) -> Result<usize, RemoveError> {
    let trash = sessions.trash();
    let entries = match std::fs::read_dir(&trash) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(purge_error(&trash, source)),
    };
    let entries = entries
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| purge_error(&trash, source))?;
    if entries.is_empty() {
        return Ok(0);
    }
    sync(sessions)?;
    let mut removed = 0;
    for entry in entries {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            purge(&path)?;
        } else {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == ErrorKind::NotFound => {}
                Err(source) => return Err(purge_error(&path, source)),
            }
        }
        removed += 1;
    }
    if removed > 0 {
        tracing::info!(path = %trash.display(), removed, "emptied the trash");
    }
    Ok(removed)
}

/// The staging folders (`.creating-<id>`) in `sessions`, with their ids.
pub fn staging_dirs(sessions: &SessionsDir) -> Vec<(SessionId, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(&sessions.path) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| {
            let id = SessionsDir::staged_id(entry.file_name().to_str()?)?;
            Some((id, entry.path()))
        })
        .collect()
}

fn purge_error(path: &Path, source: std::io::Error) -> RemoveError {
    RemoveError::Purge {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn purge_unlinks_symlinks_and_never_touches_their_targets() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs_err::create_dir_all(outside.join("deep")).unwrap();
        fs_err::write(outside.join("keep.txt"), "precious").unwrap();
        fs_err::write(outside.join("deep/keep.txt"), "precious").unwrap();
        let entry = tmp.path().join("entry");
        fs_err::create_dir_all(entry.join("sub")).unwrap();
        fs_err::write(entry.join("state.toml"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, entry.join("link")).unwrap();
        std::os::unix::fs::symlink(&outside, entry.join("sub/link")).unwrap();
        std::os::unix::fs::symlink(outside.join("keep.txt"), entry.join("file-link")).unwrap();
        purge(&entry).unwrap();
        assert!(!entry.exists());
        assert_eq!(
            fs_err::read_to_string(outside.join("keep.txt")).unwrap(),
            "precious"
        );
        assert_eq!(
            fs_err::read_to_string(outside.join("deep/keep.txt")).unwrap(),
            "precious"
        );
        purge(&entry).unwrap();
    }

    #[test]
    fn emptying_the_trash_removes_every_entry_and_keeps_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        };
        assert_eq!(empty_trash(&sessions).unwrap(), 0);
        let id = SessionId::generate();
        let session = sessions.session(&id);
        fs_err::create_dir_all(session.locks()).unwrap();
        fs_err::write(session.state(), "x").unwrap();
        assert!(!sessions.trash().exists());
        let entry = move_to_trash(&sessions, session.path(), &id).unwrap();
        sync(&sessions).unwrap();
        assert!(entry.starts_with(sessions.trash()));
        assert!(!session.path().exists());
        fs_err::create_dir_all(sessions.trash().join("half")).unwrap();
        assert_eq!(empty_trash(&sessions).unwrap(), 2);
        assert!(sessions.trash().is_dir());
        assert_eq!(fs_err::read_dir(sessions.trash()).unwrap().count(), 0);
    }

    #[test]
    fn threads_share_group_syncs_and_a_failed_one_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        };
        fs_err::create_dir_all(sessions.trash()).unwrap();
        let group = GroupSync::default();
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    for _ in 0..20 {
                        group.sync(&sessions).unwrap();
                    }
                });
            }
        });
        {
            let state = group.state.lock().unwrap();
            assert!(!state.running);
            assert_eq!(state.succeeded, state.started);
            assert!(state.started <= 16 * 20);
        }
        fs_err::remove_dir(sessions.trash()).unwrap();
        assert!(group.sync(&sessions).is_err());
    }

    #[test]
    fn staging_dirs_are_found_by_their_hidden_name() {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        };
        let id = SessionId::generate();
        fs_err::create_dir_all(sessions.staging(&id).path()).unwrap();
        fs_err::create_dir_all(tmp.path().join(".creating-nope")).unwrap();
        fs_err::create_dir_all(sessions.session(&SessionId::generate()).path()).unwrap();
        let found = staging_dirs(&sessions);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, id);
    }
}
