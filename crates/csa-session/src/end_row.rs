//! How `csa session wait` saw a session end: an [`EndRow`], the line it
//! prints (`<ULID> <status> exit <code>: <summary>`, drawn by the binary)
//! and the object of `wait --json` (one per line, as each session ends),
//! which a csa on another machine reads back to draw the same line.
//! Stable with the rows ([`crate::ROW_VERSION`]).

use serde::{Deserialize, Serialize};

use crate::result::SessionResult;

/// What ended a session, as `wait` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    /// It has a result.
    Result,
    /// Retired without a result.
    NoResult,
    /// Its dir was removed or moved away.
    Removed,
}

/// One session's end, as `wait` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndRow {
    pub session_id: String,
    pub ending: EndKind,
    /// The result's status, as written (`Result` only).
    pub status: Option<String>,
    /// The result's exit code (`Result` only).
    pub exit_code: Option<i64>,
    /// The first line of the result's summary (`Result` only).
    pub summary: Option<String>,
    /// The exit code `wait` gives for this session (0 for a success).
    pub wait_exit: u8,
}

impl EndRow {
    /// A session that ended with `result`; `wait_exit` as `wait` counts it.
    pub fn with_result(session_id: &str, result: &SessionResult, wait_exit: u8) -> EndRow {
        EndRow {
            session_id: session_id.to_owned(),
            ending: EndKind::Result,
            status: Some(result.status_text().to_owned()),
            exit_code: Some(result.exit_code()),
            summary: Some(result.summary().lines().next().unwrap_or("").to_owned()),
            wait_exit,
        }
    }

    /// A session that ended without a result (`NoResult`, `Removed`): exit 1.
    pub fn without_result(session_id: &str, ending: EndKind) -> EndRow {
        EndRow {
            session_id: session_id.to_owned(),
            ending,
            status: None,
            exit_code: None,
            summary: None,
            wait_exit: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::vocab::ResultStatus;

    #[test]
    fn an_end_row_reads_back_from_its_json() {
        let now = Utc::now();
        let result = SessionResult::new(
            &ResultStatus::parse("failure"),
            3,
            "first\nsecond",
            "t",
            now,
            now,
        );
        let rows = [
            EndRow::with_result("01KAZ9X3ABCDEFGHJKMNPQRSTV", &result, 3),
            EndRow::without_result("01KAZ9X3ABCDEFGHJKMNPQRSTW", EndKind::Removed),
        ];
        for row in rows {
            let json = serde_json::to_string(&row).expect("serializes");
            assert!(!json.contains('\n'), "one line: {json}");
            let back: EndRow = serde_json::from_str(&json).expect("reads back");
            assert_eq!(back, row);
        }
        let json = serde_json::to_value(EndRow::with_result("X", &result, 3)).expect("serializes");
        assert_eq!(json["summary"], "first");
        assert_eq!(json["ending"], "result");
    }
}
