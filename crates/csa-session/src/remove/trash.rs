//! The trash: a session leaves `sessions/` with one rename into
//! `sessions/.trash/<c>/<id>-<unique>` (`c`: the id's last character, one of
//! 32 folders, so that many removals do not queue on one folder), and is
//! removed there. A crash leaves it
//! either in place or in the trash, never half-removed in `sessions/`;
//! [`empty_trash`] finishes what a crashed removal left.
//!
//! Removal never follows a symlink. `.trash` and each `.trash/<c>` are opened
//! as real folders (`O_DIRECTORY | O_NOFOLLOW`, see [`super::tree`]) and
//! worked on through those handles: a `.trash` or shard that is a symlink or
//! a file is never followed, and a removal meeting one keeps the session,
//! saying `<path> is not a directory`. What is in the trash is removed
//! relative to open folders: a link there (an entry, or anything in one,
//! planted before or swapped in while it runs) is unlinked and its target
//! left alone. Emptying the trash unlinks a symlink or file found directly
//! in `.trash` (a planted `.trash/<c>` link included) as it does any entry.

#![allow(
    clippy::disallowed_methods,
    reason = "every failure here is a RemoveError naming the path itself"
)]

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use crate::consts::{GROUP_SYNC_WINDOW, TRASH_DIR};
use crate::durable::{create_private_dir_all, sync_dir, unique_suffix};
use crate::error::WriteError;
use crate::fault::{self, FaultPoint, InjectedFault};
use crate::id::SessionId;
use crate::layout::SessionsDir;

use super::RemoveError;
use super::tree::{self, Dir, MountPointInside};

/// Move the folder `dir` (session `id`, or its staging folder) into the
/// trash of `sessions` with one rename (creating the trash folders the
/// first time), made through the open trash folder: never through a link.
/// Returns where it went.
pub(crate) fn move_to_trash(
    sessions: &SessionsDir,
    dir: &Path,
    id: &SessionId,
) -> Result<PathBuf, RemoveError> {
    let trash_error = |source| RemoveError::Trash {
        path: dir.to_path_buf(),
        source,
    };
    let shard = open_or_create(&sessions.trash_shard(id)).map_err(trash_error)?;
    let name = format!("{id}-{}", unique_suffix());
    shard.rename_into(dir, name.as_ref()).map_err(trash_error)?;
    Ok(shard.path().join(name))
}

/// The real folder `path` (0700 with its missing parents when absent); a
/// link or a file at it, or at any trash folder above it, is an error.
fn open_or_create(path: &Path) -> std::io::Result<Dir> {
    if let Some(parent) = path
        .parent()
        .filter(|p| p.file_name() == Some(TRASH_DIR.as_ref()))
    {
        // `.trash` itself: a link there would lead the shard elsewhere.
        open_or_create(parent)?;
    }
    if let Some(dir) = Dir::open(path)? {
        return Ok(dir);
    }
    create_private_dir_all(path).map_err(std::io::Error::other)?;
    Dir::open(path)?.ok_or_else(|| std::io::Error::from(ErrorKind::NotFound))
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
/// symlinks (an `entry` that is a link is unlinked, its target untouched).
/// Something already gone (another csa emptying the same trash) is not an
/// error.
pub fn purge(entry: &Path) -> Result<(), RemoveError> {
    let (Some(parent), Some(name)) = (entry.parent(), entry.file_name()) else {
        return Err(purge_error(
            entry,
            std::io::Error::other("not in a trash folder"),
        ));
    };
    let Some(parent) = Dir::open(parent).map_err(|source| purge_error(entry, source))? else {
        return Ok(());
    };
    purge_in(&parent, name)
}

/// [`purge`] of `name` in the open trash folder `dir`.
fn purge_in(dir: &Dir, name: &OsStr) -> Result<(), RemoveError> {
    let mut after_first = || fault::hit(FaultPoint::RemovePurging).map_err(std::io::Error::other);
    tree::remove_at(dir, name, &mut after_first).map_err(|(path, source)| {
        let source = match source.downcast::<InjectedFault>() {
            Ok(fault) => return RemoveError::Fault(fault),
            Err(source) => source,
        };
        match source.downcast::<MountPointInside>() {
            Ok(inside) => RemoveError::MountInside {
                entry: dir.path().join(name),
                mount: inside.path,
            },
            Err(source) => purge_error(&path, source),
        }
    })
}

/// What [`empty_trash`] did.
#[derive(Debug, Default)]
pub struct Emptied {
    /// Entries removed.
    pub removed: usize,
    /// One error per entry that could not be removed (the rest were).
    pub failed: Vec<RemoveError>,
}

/// Remove every folder left in the trash of `sessions` (by removals that
/// crashed or failed, or that another csa is finishing right now). Their
/// moves are made durable first: one may have been renamed there a moment
/// ago by a csa that has not fsynced yet. The trash folders stay. An entry
/// that cannot be removed is reported and the others are removed all the
/// same; a `.trash` that cannot be read (or is not a real folder) is the
/// error.
pub fn empty_trash(sessions: &SessionsDir) -> Result<Emptied, RemoveError> {
    let path = sessions.trash();
    let trash_error = |source| RemoveError::EmptyTrash {
        path: path.clone(),
        source,
    };
    let Some(trash) = Dir::open(&path).map_err(trash_error)? else {
        return Ok(Emptied::default());
    };
    let mut emptied = Emptied::default();
    // (folder, entry name): entries of each shard, and anything else
    // directly in the trash (a planted link or file is unlinked).
    let mut entries: Vec<(usize, OsString)> = Vec::new();
    let mut folders = vec![];
    let mut names = trash.entries().map_err(trash_error)?;
    names.sort();
    for (name, is_dir) in names {
        let is_shard = is_dir && name.len() == 1;
        let shard = if is_shard {
            match trash.child(&name) {
                Ok(Some(shard)) => Some(shard),
                Ok(None) => continue,
                // Swapped for a link since it was listed: unlinked below.
                Err(err) if err.kind() == ErrorKind::NotADirectory => None,
                Err(source) => {
                    emptied.failed.push(purge_error(&path.join(&name), source));
                    continue;
                }
            }
        } else {
            None
        };
        match shard {
            Some(shard) => match shard.entries() {
                Ok(mut inside) => {
                    inside.sort();
                    let at = folders.len() + 1;
                    entries.extend(inside.into_iter().map(|(name, _)| (at, name)));
                    folders.push(shard);
                }
                Err(source) => emptied.failed.push(purge_error(shard.path(), source)),
            },
            None => entries.push((0, name)),
        }
    }
    if entries.is_empty() {
        return Ok(emptied);
    }
    sync_dir(&sessions.path)?;
    for folder in std::iter::once(&trash).chain(&folders) {
        folder
            .sync()
            .map_err(|source| WriteError::io(folder.path(), source))?;
    }
    let folder = |at: usize| if at == 0 { &trash } else { &folders[at - 1] };
    for (at, name) in &entries {
        match purge_in(folder(*at), name) {
            Ok(()) => emptied.removed += 1,
            Err(err @ RemoveError::Fault(_)) => return Err(err),
            Err(err) => emptied.failed.push(err),
        }
    }
    tracing::info!(path = %path.display(), removed = emptied.removed, failed = emptied.failed.len(), "emptied the trash");
    Ok(emptied)
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

    /// A sessions folder with one session in it, and a folder outside
    /// holding what must survive.
    #[cfg(unix)]
    fn with_outside() -> (tempfile::TempDir, SessionsDir, SessionId, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().join("sessions"),
            legacy: false,
        };
        let id = SessionId::generate();
        fs_err::create_dir_all(sessions.session(&id).locks()).unwrap();
        let outside = tmp.path().join("outside");
        fs_err::create_dir_all(outside.join("V/entry/deep")).unwrap();
        fs_err::write(outside.join("V/entry/deep/keep.txt"), "precious").unwrap();
        fs_err::write(outside.join("keep.txt"), "precious").unwrap();
        (tmp, sessions, id, outside)
    }

    #[cfg(unix)]
    #[test]
    fn a_trash_that_is_a_symlink_or_a_file_is_never_followed() {
        let (tmp, sessions, id, outside) = with_outside();
        let before = csa_test_support::snapshot_dir(&outside);
        let session = sessions.session(&id);
        std::os::unix::fs::symlink(&outside, sessions.trash()).unwrap();
        for round in ["symlink", "file"] {
            let err = empty_trash(&sessions).unwrap_err();
            let said = crate::error::chain(&err);
            let expected = format!("{} is not a directory", sessions.trash().display());
            assert!(said.contains(&expected), "{round}: {said}");
            let err = move_to_trash(&sessions, session.path(), &id).unwrap_err();
            let said = crate::error::chain(&err);
            assert!(said.contains(&expected), "{round}: {said}");
            assert!(session.locks().is_dir(), "{round}: the session stays");
            assert_eq!(csa_test_support::snapshot_dir(&outside), before, "{round}");
            fs_err::remove_file(sessions.trash()).unwrap();
            fs_err::write(sessions.trash(), "").unwrap();
        }
        drop(tmp);
    }

    #[cfg(unix)]
    #[test]
    fn a_shard_or_an_entry_that_is_a_symlink_is_unlinked_and_its_target_survives() {
        let (_tmp, sessions, id, outside) = with_outside();
        let before = csa_test_support::snapshot_dir(&outside);
        let shard = sessions.trash_shard(&id);
        fs_err::create_dir_all(sessions.trash()).unwrap();
        // A shard that is a link: moving a session through it is refused.
        std::os::unix::fs::symlink(outside.join("V"), &shard).unwrap();
        let session = sessions.session(&id);
        let err = move_to_trash(&sessions, session.path(), &id).unwrap_err();
        let expected = format!("{} is not a directory", shard.display());
        assert!(crate::error::chain(&err).contains(&expected), "{err:?}");
        assert!(session.path().is_dir());
        // Emptying the trash unlinks the link itself, never its target.
        let emptied = empty_trash(&sessions).unwrap();
        assert!(emptied.failed.is_empty(), "{:?}", emptied.failed);
        assert_eq!(emptied.removed, 1);
        assert!(fs_err::symlink_metadata(&shard).is_err());
        assert_eq!(csa_test_support::snapshot_dir(&outside), before);
        // An entry in a real shard that is a link (purged by the removal
        // that put it there, or by the next empty_trash).
        fs_err::create_dir_all(&shard).unwrap();
        let entry = shard.join(format!("{id}-1-x"));
        std::os::unix::fs::symlink(outside.join("V/entry"), &entry).unwrap();
        purge(&entry).unwrap();
        assert!(fs_err::symlink_metadata(&entry).is_err());
        std::os::unix::fs::symlink(outside.join("V/entry"), &entry).unwrap();
        assert_eq!(empty_trash(&sessions).unwrap().removed, 1);
        assert_eq!(csa_test_support::snapshot_dir(&outside), before);
        // The session goes through the real shard.
        let moved = move_to_trash(&sessions, session.path(), &id).unwrap();
        assert!(moved.starts_with(&shard) && moved.is_dir());
    }

    #[cfg(unix)]
    #[test]
    fn an_entry_we_may_not_enter_is_opened_up_and_the_rest_are_removed_anyway() {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            eprintln!("skipped: root ignores permission bits");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        };
        let shard = sessions.trash().join("0");
        // The first entry (in name order) cannot be entered or changed
        // until it is given u+rwx; the others are plain.
        let locked = shard.join("0-locked");
        fs_err::create_dir_all(locked.join("sealed")).unwrap();
        fs_err::write(locked.join("sealed/file"), "x").unwrap();
        for name in ["1-plain", "2-plain"] {
            fs_err::create_dir_all(shard.join(name).join("sub")).unwrap();
        }
        let mode = |path: &Path, bits| {
            fs_err::set_permissions(path, std::fs::Permissions::from_mode(bits)).unwrap()
        };
        mode(&locked.join("sealed"), 0o000);
        mode(&locked, 0o500);
        let emptied = empty_trash(&sessions).unwrap();
        assert!(emptied.failed.is_empty(), "{:?}", emptied.failed);
        assert_eq!(emptied.removed, 3);
        assert_eq!(fs_err::read_dir(&shard).unwrap().count(), 0);
    }

    #[test]
    fn emptying_the_trash_removes_every_entry_and_keeps_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        };
        assert_eq!(empty_trash(&sessions).unwrap().removed, 0);
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
        assert_eq!(empty_trash(&sessions).unwrap().removed, 2);
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
