//! `stop-request.toml`: what `csa session kill` asks of a session's daemon
//! before it signals it. The daemon reads it when the stop signal arrives, to
//! know how long to wait between SIGTERM and SIGKILL (`--grace`). A missing
//! or unreadable request means the default grace. It is a hint that is worth
//! nothing after a crash, so it is replaced atomically but not fsynced (two
//! fsyncs are a large part of a cooperative kill's latency).

use std::time::Duration;

use chrono::{DateTime, Utc};
use toml::{Table, Value};

use crate::durable::replace_hint;
use crate::error::WriteError;
use crate::layout::SessionDir;
use crate::load::read_bytes;
use crate::toml_value::{parse_table, time_value};

/// A request to stop a session.
#[derive(Debug, Clone, PartialEq)]
pub struct StopRequest {
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    pub requested_at: DateTime<Utc>,
}

/// The longest grace a request can ask for (a day).
const MAX_GRACE: Duration = Duration::from_secs(86_400);

impl StopRequest {
    /// Write the request into the session dir (atomically, not durably).
    pub fn write(&self, session: &SessionDir) -> Result<(), WriteError> {
        let mut table = Table::new();
        table.insert("grace_secs".into(), Value::Float(self.grace.as_secs_f64()));
        table.insert("requested_at".into(), time_value(self.requested_at));
        let text = toml::to_string(&table).expect("a toml::Table always serializes");
        replace_hint(&session.stop_request(), text.as_bytes())
    }

    /// The session's request, if there is a readable one.
    pub fn read(session: &SessionDir) -> Option<StopRequest> {
        let bytes = read_bytes(&session.stop_request()).ok()?;
        let table = parse_table(std::str::from_utf8(&bytes).ok()?).ok()?;
        let grace = match table.get("grace_secs")? {
            Value::Float(secs) => *secs,
            Value::Integer(secs) => *secs as f64,
            _ => return None,
        };
        let grace = Duration::try_from_secs_f64(grace).ok()?.min(MAX_GRACE);
        let requested_at = table
            .get("requested_at")
            .and_then(|v| crate::toml_value::parse_time(v, "requested_at").ok())?;
        Some(StopRequest {
            grace,
            requested_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_garbage_is_no_request() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        assert_eq!(StopRequest::read(&session), None);
        let request = StopRequest {
            grace: Duration::from_millis(1500),
            requested_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        request.write(&session).unwrap();
        assert_eq!(StopRequest::read(&session), Some(request));
        fs_err::write(
            session.stop_request(),
            "grace_secs = -1\nrequested_at = \"x\"",
        )
        .unwrap();
        assert_eq!(StopRequest::read(&session), None);
    }
}
