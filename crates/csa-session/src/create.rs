//! Creating a session atomically (contract §8.1): the complete dir appears
//! in `sessions/` with one rename, or not at all.
//!
//! The dir is built under a hidden name (`.creating-<id>`) with every file
//! fsynced: `state.toml`, the launcher's `daemon.pid`, and the tool's lock
//! file, whose `flock` the launcher takes before the dir is published and
//! hands to the daemon (an inherited descriptor shares the lock). So from the
//! moment the session exists until its daemon ends, its lock is held; if the
//! launcher dies before the daemon exists, the lock goes with it and
//! `daemon.pid` names a dead process: the session is judged dead and
//! reconciled, never left active forever. A failed creation removes the
//! staged dir; a crash leaves only a hidden dir that listing ignores and
//! cleanup removes.

use std::fs::File;
use std::io::Write as _;

use crate::consts::CREATING_PREFIX;
use crate::durable::{create_private_dir_all, open_lock_file, sync_dir, write_atomic};
use crate::error::WriteError;
use crate::fault::{self, FaultPoint, InjectedFault};
use crate::id::SessionId;
use crate::layout::{SessionDir, SessionsDir};
use crate::state::SessionState;
use crate::tool::ToolName;

/// What a new session starts with.
#[derive(Debug)]
pub struct NewSession<'a> {
    pub id: &'a SessionId,
    pub state: &'a SessionState,
    /// The launcher's pid record (`<pid> <starttime_ticks>`), until the
    /// daemon's replaces it.
    pub daemon_pid: &'a str,
    pub tool: &'a ToolName,
    /// The lock record JSON naming the launcher.
    pub lock_record: &'a [u8],
}

/// A session that exists, and its tool lock, held.
#[derive(Debug)]
pub struct Created {
    pub dir: SessionDir,
    /// The tool lock file, locked; pass it to the daemon.
    pub lock: File,
}

/// The session could not be created; nothing of it is left in `sessions/`.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("session {0} already exists")]
    Exists(SessionId),
    #[error("cannot lock {}", path.display())]
    Lock {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the new session's state.toml would take {bytes} bytes, more than the {limit} a new session may (csa reads at most {read_limit} bytes of it, and later writes add to it): shorten the command or the description",
        read_limit = crate::read::MAX_FILE_BYTES
    )]
    TooLarge { bytes: usize, limit: usize },
    #[error(transparent)]
    Fault(#[from] InjectedFault),
}

/// The largest `state.toml` a new session may start with: a quarter of what
/// any reader accepts ([`crate::read::MAX_FILE_BYTES`]), leaving room for
/// what the daemon and the reconciler add, and well under the size of an
/// argument list the daemon's command line (which repeats CMD) may have.
pub const MAX_NEW_STATE_BYTES: usize = 256 * 1024;

/// Create the session `new` in `sessions`: stage it completely under a
/// hidden name, then publish it with one rename.
pub fn create_session(
    sessions: &SessionsDir,
    new: &NewSession<'_>,
) -> Result<Created, CreateError> {
    let state = new.state.to_toml_string();
    if state.len() > MAX_NEW_STATE_BYTES {
        return Err(CreateError::TooLarge {
            bytes: state.len(),
            limit: MAX_NEW_STATE_BYTES,
        });
    }
    create_private_dir_all(&sessions.path)?;
    let staged = SessionDir::new(
        sessions
            .path
            .join(format!("{CREATING_PREFIX}{}", new.id.as_str())),
    );
    let result = stage(&staged, new, &state).and_then(|lock| {
        fault::hit(FaultPoint::CreateStaged)?;
        let target = sessions.session(new.id);
        publish(&staged, &target, new.id)?;
        Ok(Created { dir: target, lock })
    });
    if result.is_err() {
        let _ = fs_err::remove_dir_all(staged.path());
    }
    result
}

/// Every file of the new session, fsynced, and its tool lock taken.
fn stage(staged: &SessionDir, new: &NewSession<'_>, state: &str) -> Result<File, CreateError> {
    create_private_dir_all(staged.path())?;
    write_atomic(&staged.state(), state.as_bytes())?;
    write_atomic(&staged.daemon_pid(), new.daemon_pid.as_bytes())?;
    create_private_dir_all(&staged.locks())?;
    let lock_path = staged.lock(new.tool);
    let mut lock = open_lock_file(&lock_path)?;
    let locked = lock.try_lock().map_err(|err| CreateError::Lock {
        path: lock_path.clone(),
        source: err.into(),
    });
    locked?;
    let write = |lock: &mut File| -> std::io::Result<()> {
        lock.set_len(0)?;
        lock.write_all(new.lock_record)?;
        lock.sync_all()
    };
    write(&mut lock).map_err(|source| WriteError::Io {
        path: lock_path,
        source,
    })?;
    sync_dir(&staged.locks())?;
    sync_dir(staged.path())?;
    Ok(lock)
}

/// Rename the staged dir into place (never over an existing session) and
/// fsync the sessions folder.
fn publish(staged: &SessionDir, target: &SessionDir, id: &SessionId) -> Result<(), CreateError> {
    if fs_err::symlink_metadata(target.path()).is_ok() {
        return Err(CreateError::Exists(id.clone()));
    }
    fs_err::rename(staged.path(), target.path()).map_err(|source| WriteError::Io {
        path: target.path().to_path_buf(),
        source,
    })?;
    if let Some(parent) = target.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_created_session_is_complete_and_its_lock_is_held() {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().join("sessions"),
            legacy: false,
        };
        let id = SessionId::generate();
        let state = SessionState::new(&id, "/p", Utc::now(), None, None);
        let tool = ToolName::parse("demo").unwrap();
        let created = create_session(
            &sessions,
            &NewSession {
                id: &id,
                state: &state,
                daemon_pid: "123 456\n",
                tool: &tool,
                lock_record: br#"{"pid":123}"#,
            },
        )
        .unwrap();
        assert_eq!(created.dir, sessions.session(&id));
        assert!(created.dir.state().is_file());
        assert_eq!(
            fs_err::read_to_string(created.dir.daemon_pid()).unwrap(),
            "123 456\n"
        );
        let other = fs_err::File::open(created.dir.lock(&tool)).unwrap();
        assert!(
            other.file().try_lock().is_err(),
            "the launcher holds the lock"
        );
        let names: Vec<String> = fs_err::read_dir(&sessions.path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [id.to_string()], "no staging dir is left");
    }

    #[test]
    fn a_failed_creation_leaves_nothing_in_the_sessions_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = SessionsDir {
            path: tmp.path().join("sessions"),
            legacy: false,
        };
        let id = SessionId::generate();
        // The session already exists: the staged copy is removed again.
        fs_err::create_dir_all(sessions.session(&id).path()).unwrap();
        let state = SessionState::new(&id, "/p", Utc::now(), None, None);
        let tool = ToolName::parse("demo").unwrap();
        let err = create_session(
            &sessions,
            &NewSession {
                id: &id,
                state: &state,
                daemon_pid: "1 2\n",
                tool: &tool,
                lock_record: b"{}",
            },
        )
        .unwrap_err();
        assert!(matches!(err, CreateError::Exists(_)), "{err}");
        let names: Vec<String> = fs_err::read_dir(&sessions.path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [id.to_string()]);
    }
}
