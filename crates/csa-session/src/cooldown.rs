//! `sessions/cooldown-marker.toml`: the most recent terminal write of a project.
//!
//! The marker only moves forward: a write keeps an existing marker whose
//! `completed_at` is newer. A marker that cannot be parsed is csa's own derived
//! data and is replaced (with a warning), so one bad write cannot block it forever.

use std::path::Path;

use chrono::{DateTime, Utc};
use toml::{Table, Value};

use crate::consts::COOLDOWN_MARKER_FILE;
use crate::durable::{create_private_dir_all, write_atomic};
use crate::error::{LoadError, StoreError};
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
pub fn read_cooldown_marker(sessions_dir: &Path) -> Result<Option<CooldownMarker>, LoadError> {
    let path = sessions_dir.join(COOLDOWN_MARKER_FILE);
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
    sessions_dir: &Path,
    marker: &CooldownMarker,
) -> Result<bool, StoreError> {
    match read_cooldown_marker(sessions_dir) {
        Ok(Some(existing)) if existing.completed_at > marker.completed_at => return Ok(false),
        Ok(_) => {}
        Err(LoadError::Unparseable { path, reason }) => {
            tracing::warn!(path = %path.display(), %reason, "replacing an unparseable cooldown marker");
        }
        Err(err) => return Err(err.into()),
    }
    create_private_dir_all(sessions_dir)?;
    write_atomic(
        &sessions_dir.join(COOLDOWN_MARKER_FILE),
        marker.to_toml_string().as_bytes(),
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn marker_only_moves_forward() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(read_cooldown_marker(tmp.path()).unwrap(), None);
        let now = Utc::now();
        let newer = CooldownMarker {
            session_id: "B".into(),
            completed_at: now,
        };
        let older = CooldownMarker {
            session_id: "A".into(),
            completed_at: now - TimeDelta::seconds(5),
        };
        assert!(write_cooldown_marker(tmp.path(), &newer).unwrap());
        assert!(!write_cooldown_marker(tmp.path(), &older).unwrap());
        assert_eq!(read_cooldown_marker(tmp.path()).unwrap(), Some(newer));
    }

    #[test]
    fn unparseable_marker_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        fs_err::write(tmp.path().join(COOLDOWN_MARKER_FILE), "garbage = ").unwrap();
        assert!(read_cooldown_marker(tmp.path()).is_err());
        let marker = CooldownMarker {
            session_id: "A".into(),
            completed_at: Utc::now(),
        };
        assert!(write_cooldown_marker(tmp.path(), &marker).unwrap());
        assert_eq!(read_cooldown_marker(tmp.path()).unwrap(), Some(marker));
    }
}
