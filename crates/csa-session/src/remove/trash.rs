//! The trash: a session leaves `sessions/` with one rename into
//! `sessions/.trash/<c>/<id>-<unique>` (`c`: the id's last character, one of
//! 32 folders, so that many removals do not queue on one folder), and is
//! removed there. A crash leaves it
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

use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use crate::consts::GROUP_SYNC_WINDOW;
use crate::durable::{create_private_dir_all, sync_dir, unique_suffix};
use crate::fault::{self, FaultPoint};
use crate::id::SessionId;
use crate::layout::SessionsDir;

use super::RemoveError;

/// Move the folder `dir` (session `id`, or its staging folder) into the
/// trash of `sessions` with one rename (creating the trash folders the
/// first time). Returns where it went.
pub(crate) fn move_to_trash(
    sessions: &SessionsDir,
    dir: &Path,
    id: &SessionId,
) -> Result<PathBuf, RemoveError> {
    let shard = sessions.trash_shard(id);
    let entry = sessions.trash_entry(id, &unique_suffix());
    let rename = || std::fs::rename(dir, &entry);
    let renamed = match rename() {
        Err(err) if err.kind() == ErrorKind::NotFound && !shard.is_dir() => {
            create_private_dir_all(&shard)?;
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

/// Make moves into the trash durable: fsync the sessions folder (the names
/// left it), the trash folders `shards` (they arrived there) and the trash
/// itself (a trash folder may be new).
pub(crate) fn sync<'p>(
    sessions: &SessionsDir,
    shards: impl IntoIterator<Item = &'p PathBuf>,
) -> Result<(), RemoveError> {
    sync_dir(&sessions.path)?;
    for shard in shards {
        sync_dir(shard)?;
    }
    sync_dir(&sessions.trash())?;
    Ok(())
}

/// Group commit of [`sync`] for the threads of one command: a thread whose
/// rename is done needs *an* fsync that started after it, not one of its
/// own. It waits for the next one to start and finish, or leads it when none
/// is running. A leader that is not alone gathers for
/// [`GROUP_SYNC_WINDOW`] first (as databases delay a group commit), so the
/// thousands of removals of one `clean` share a few hundred fsyncs instead of
/// one each; a lone `delete` syncs at once.
#[derive(Debug, Default)]
pub(crate) struct GroupSync {
    state: Mutex<SyncState>,
    finished: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Syncs started so far (they are numbered from 1 as their fsync starts).
    started: u64,
    /// The number of the last sync that succeeded.
    succeeded: u64,
    /// A leader is gathering or syncing.
    running: bool,
    /// Threads in [`GroupSync::sync`].
    waiting: usize,
    /// Trash folders that received a session since the last sync started.
    dirty: HashSet<PathBuf>,
}

impl GroupSync {
    /// Return once an fsync of `sessions`, of the trash folder `shard` and of
    /// the trash that started after this call has succeeded. When the sync
    /// this call waited for failed, it tries one itself and returns that
    /// one's error.
    pub(crate) fn sync(&self, sessions: &SessionsDir, shard: &Path) -> Result<(), RemoveError> {
        let lock = || self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = lock();
        state.waiting += 1;
        state.dirty.insert(shard.to_path_buf());
        // The first sync whose fsync starts from now on covers our rename.
        let ticket = state.started + 1;
        let mut result = Ok(());
        while state.succeeded < ticket && result.is_ok() {
            if state.running {
                state = self.finished.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.running = true;
            if state.waiting > 1 {
                drop(state);
                std::thread::sleep(GROUP_SYNC_WINDOW);
                state = lock();
            }
            state.started += 1;
            let number = state.started;
            let shards = std::mem::take(&mut state.dirty);
            drop(state);
            result = sync(sessions, &shards);
            state = lock();
            state.running = false;
            if result.is_ok() {
                state.succeeded = number;
            } else {
                // Whoever retries must sync these again.
                state.dirty.extend(shards);
            }
            self.finished.notify_all();
        }
        state.waiting -= 1;
        result
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
/// ago by a csa that has not fsynced yet. The trash folders stay. Returns how
/// many were removed.
pub fn empty_trash(sessions: &SessionsDir) -> Result<usize, RemoveError> {
    let trash = sessions.trash();
    let mut shards = Vec::new();
    let mut entries = Vec::new();
    for (path, is_dir) in list(&trash)? {
        let is_shard = is_dir && path.file_name().is_some_and(|n| n.len() == 1);
        if is_shard {
            entries.extend(list(&path)?);
            shards.push(path);
        } else {
            entries.push((path, is_dir));
        }
    }
    if entries.is_empty() {
        return Ok(0);
    }
    sync(sessions, &shards)?;
    for (path, is_dir) in &entries {
        if *is_dir {
            purge(path)?;
        } else {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(err) if err.kind() == ErrorKind::NotFound => {}
                Err(source) => return Err(purge_error(path, source)),
            }
        }
    }
    tracing::info!(path = %trash.display(), removed = entries.len(), "emptied the trash");
    Ok(entries.len())
}

/// The entries of a trash folder and whether each is a folder (not
/// following links); nothing when it does not exist.
fn list(dir: &Path) -> Result<Vec<(PathBuf, bool)>, RemoveError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(purge_error(dir, source)),
    };
    entries
        .map(|entry| {
            let entry = entry.map_err(|source| purge_error(dir, source))?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            Ok((entry.path(), is_dir))
        })
        .collect()
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
        sync(&sessions, &[sessions.trash_shard(&id)]).unwrap();
        assert!(entry.starts_with(sessions.trash_shard(&id)));
        assert!(!session.path().exists());
        // An entry directly in the trash is removed too.
        fs_err::create_dir_all(sessions.trash().join("half")).unwrap();
        assert_eq!(empty_trash(&sessions).unwrap(), 2);
        let shard = sessions.trash_shard(&id);
        assert!(shard.is_dir(), "the trash folders stay");
        assert_eq!(fs_err::read_dir(&shard).unwrap().count(), 0);
        assert_eq!(fs_err::read_dir(sessions.trash()).unwrap().count(), 1);
    }

    #[test]
    fn threads_share_group_syncs_and_a_failed_one_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        };
        let shard = sessions.trash().join("V");
        fs_err::create_dir_all(&shard).unwrap();
        let group = GroupSync::default();
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    for _ in 0..20 {
                        group.sync(&sessions, &shard).unwrap();
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
        fs_err::remove_dir(&shard).unwrap();
        assert!(group.sync(&sessions, &shard).is_err());
        assert!(
            group.sync(&sessions, &shard).is_err(),
            "retried, not forgotten"
        );
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
