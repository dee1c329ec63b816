//! `sessions/cooldown-marker.toml`: the most recent terminal write of a project.
//!
//! The marker only moves forward: every writer takes `.cooldown-marker.lock`
//! (an exclusive `flock`, held only for the read, compare and write), and
//! keeps an existing marker whose `completed_at` is newer. Forty sessions
//! ending at once therefore leave the newest one. A marker that cannot be
//! parsed is csa's own derived data and is replaced (with a warning), so one
//! bad write cannot block it forever. The marker may name a session that has
//! since been deleted.

use chrono::{DateTime, Utc};
use toml::{Table, Value};

use crate::durable::{create_private_dir_all, open_lock_file, write_atomic};
use crate::error::{LoadError, StoreError, WriteError};
use crate::layout::SessionsDir;
use crate::load::read_bytes;
use crate::toml_value::{parse_table, required_str, required_time, time_value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CooldownMarker {
    pub session_id: String,
    pub completed_at: DateTime<Utc>,
}

impl CooldownMarker {
    fn to_toml_string(&self) -> String {
        let mut table = Table::new();
        table.insert("session_id".into(), Value::String(self.session_id.clone()));
        table.insert("completed_at".into(), time_value(self.completed_at));
        toml::to_string(&table).expect("a toml::Table always serializes")
    }
}

/// The project's marker; `None` when there is none yet.
pub fn read_cooldown_marker(sessions: &SessionsDir) -> Result<Option<CooldownMarker>, LoadError> {
    let path = sessions.cooldown_marker();
    let bytes = match read_bytes(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.is_missing() => return Ok(None),
        Err(err) => return Err(err),
    };
    let unparseable = |reason: String| LoadError::Unparseable {
        path: path.clone(),
        reason,
    };
    let text = String::from_utf8_lossy(&bytes);
    let table = parse_table(&text).map_err(unparseable)?;
    Ok(Some(CooldownMarker {
        session_id: required_str(&table, "session_id")
            .map_err(unparseable)?
            .to_owned(),
        completed_at: required_time(&table, "completed_at").map_err(unparseable)?,
    }))
}

/// Record `marker` unless the existing marker is newer. Returns whether it wrote.
pub fn write_cooldown_marker(
    sessions: &SessionsDir,
    marker: &CooldownMarker,
) -> Result<bool, StoreError> {
    create_private_dir_all(&sessions.path)?;
    let lock_path = sessions.cooldown_lock();
    // Held until `lock` is dropped at the end of this function.
    let lock = open_lock_file(&lock_path)?;
    lock.lock()
        .map_err(|source| WriteError::io(&lock_path, source))?;
    match read_cooldown_marker(sessions) {
        Ok(Some(existing)) if existing.completed_at >= marker.completed_at => {
            tracing::debug!(session = %existing.session_id, "the cooldown marker is already newer: kept");
            return Ok(false);
        }
        Ok(_) => {}
        Err(LoadError::Unparseable { path, reason }) => {
            tracing::warn!(path = %path.display(), %reason, "replacing an unparseable cooldown marker");
        }
        Err(err) => return Err(err.into()),
    }
    write_atomic(
        &sessions.cooldown_marker(),
        marker.to_toml_string().as_bytes(),
    )?;
    tracing::info!(
        path = %sessions.cooldown_marker().display(),
        session = %marker.session_id,
        completed_at = %crate::toml_value::format_time(marker.completed_at),
        "wrote the cooldown marker"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn sessions(tmp: &tempfile::TempDir) -> SessionsDir {
        SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        }
    }

    #[test]
    fn marker_only_moves_forward() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = sessions(&tmp);
        assert_eq!(read_cooldown_marker(&dir).unwrap(), None);
        let now = Utc::now();
        let newer = CooldownMarker {
            session_id: "B".into(),
            completed_at: now,
        };
        let older = CooldownMarker {
            session_id: "A".into(),
            completed_at: now - TimeDelta::seconds(5),
        };
        assert!(write_cooldown_marker(&dir, &newer).unwrap());
        assert!(!write_cooldown_marker(&dir, &older).unwrap());
        assert_eq!(read_cooldown_marker(&dir).unwrap(), Some(newer));
    }

    #[test]
    fn unparseable_marker_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = sessions(&tmp);
        fs_err::write(dir.cooldown_marker(), "garbage = ").unwrap();
        assert!(read_cooldown_marker(&dir).is_err());
        let marker = CooldownMarker {
            session_id: "A".into(),
            completed_at: Utc::now(),
        };
        assert!(write_cooldown_marker(&dir, &marker).unwrap());
        assert_eq!(read_cooldown_marker(&dir).unwrap(), Some(marker));
    }

    #[test]
    fn forty_writers_at_once_leave_the_newest_marker() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = sessions(&tmp);
        let base = Utc::now();
        for _round in 0..5 {
            std::thread::scope(|scope| {
                for n in 0..40 {
                    let dir = &dir;
                    scope.spawn(move || {
                        let marker = CooldownMarker {
                            session_id: format!("S{n}"),
                            completed_at: base + TimeDelta::milliseconds(n),
                        };
                        write_cooldown_marker(dir, &marker).unwrap();
                    });
                }
            });
            let marker = read_cooldown_marker(&dir).unwrap().unwrap();
            assert_eq!(marker.session_id, "S39");
        }
    }
}
