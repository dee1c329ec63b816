//! Which rows a list shows (`csa session list --status --tool --branch
//! --since`, contract §9.3): a [`RowFilter`] built once from the flags and
//! asked about each [`SessionRow`]. A row must pass every filter given;
//! within one filter, any of its values admits it.

use chrono::{DateTime, Utc};

use crate::row::SessionRow;
use crate::status::SessionStatus;

/// The filters of one list; an empty one admits every row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowFilter {
    /// Any of these statuses (none: any status).
    pub statuses: Vec<SessionStatus>,
    /// Used any of these tools (none: any tools).
    pub tools: Vec<String>,
    /// On exactly this branch.
    pub branch: Option<String>,
    /// Started at or after this instant (`--since DURATION`: now minus it).
    pub started_since: Option<DateTime<Utc>>,
}

impl RowFilter {
    /// Whether `row` passes every filter.
    pub fn admits(&self, row: &SessionRow<'_>) -> bool {
        if !self.statuses.is_empty() && !self.statuses.contains(&row.status) {
            return false;
        }
        if !self.tools.is_empty() && !row.tools.iter().any(|t| self.tools.iter().any(|a| a == t)) {
            return false;
        }
        if let Some(branch) = &self.branch
            && row.branch.as_deref() != Some(branch.as_str())
        {
            return false;
        }
        if let Some(since) = self.started_since {
            // A session whose state cannot be read started when its id was made.
            let started = row.started_at.or_else(|| id_time(row.session_id));
            if started.is_none_or(|started| started < since) {
                return false;
            }
        }
        true
    }
}

/// When a session id (a ULID) was made; `None` for anything else.
pub fn id_time(id: &str) -> Option<DateTime<Utc>> {
    let ulid = ulid::Ulid::from_string(id).ok()?;
    DateTime::from_timestamp_millis(i64::try_from(ulid.timestamp_ms()).ok()?)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid time")
            .with_timezone(&Utc)
    }

    fn row<'a>(id: &'a str, status: SessionStatus, started: Option<&str>) -> SessionRow<'a> {
        SessionRow {
            session_id: id,
            status,
            phase: None,
            last_accessed: None,
            description: None,
            tools: vec![Cow::Borrowed("codex"), Cow::Borrowed("claude")],
            branch: Some(Cow::Borrowed("main")),
            project_path: None,
            parent_session_id: None,
            depth: None,
            termination_reason: None,
            run: None,
            liveness: None,
            error: None,
            started_at: started.map(at),
            ended_at: None,
            elapsed_secs: None,
            elapsed: None,
            exit_code: None,
            outcome: None,
            logs: None,
            sort_key: None,
        }
    }

    /// 01KAZ9X3M2... was made at 2025-11-26T05:24:13.570Z.
    const ID: &str = "01KAZ9X3M2QAAAAAAAAAAAAAAA";

    #[test]
    fn an_id_tells_when_it_was_made() {
        assert_eq!(id_time(ID), Some(at("2025-11-26T05:24:13.570Z")));
        assert_eq!(id_time("not an id"), None);
    }

    #[test]
    fn each_filter_narrows_and_several_values_widen_one() {
        let failed = row(ID, SessionStatus::Failed, Some("2026-01-01T10:00:00Z"));
        let table: &[(RowFilter, bool)] = &[
            (RowFilter::default(), true),
            (
                RowFilter {
                    statuses: vec![SessionStatus::Active, SessionStatus::Failed],
                    ..RowFilter::default()
                },
                true,
            ),
            (
                RowFilter {
                    statuses: vec![SessionStatus::Retired],
                    ..RowFilter::default()
                },
                false,
            ),
            (
                RowFilter {
                    tools: vec!["gemini".into(), "claude".into()],
                    ..RowFilter::default()
                },
                true,
            ),
            (
                RowFilter {
                    tools: vec!["gemini".into()],
                    ..RowFilter::default()
                },
                false,
            ),
            (
                RowFilter {
                    branch: Some("main".into()),
                    ..RowFilter::default()
                },
                true,
            ),
            (
                RowFilter {
                    branch: Some("mai".into()),
                    ..RowFilter::default()
                },
                false,
            ),
            (
                RowFilter {
                    started_since: Some(at("2026-01-01T10:00:00Z")),
                    ..RowFilter::default()
                },
                true,
            ),
            (
                RowFilter {
                    started_since: Some(at("2026-01-01T10:00:01Z")),
                    ..RowFilter::default()
                },
                false,
            ),
        ];
        for (filter, admitted) in table {
            assert_eq!(filter.admits(&failed), *admitted, "{filter:?}");
        }
    }

    #[test]
    fn since_falls_back_on_the_id_when_the_state_cannot_be_read() {
        let broken = row(ID, SessionStatus::Error, None);
        let since = |text| RowFilter {
            started_since: Some(at(text)),
            ..RowFilter::default()
        };
        assert!(since("2025-11-26T05:24:00Z").admits(&broken));
        assert!(!since("2025-11-26T05:25:00Z").admits(&broken));
        let neither = row("x", SessionStatus::Error, None);
        assert!(!since("2000-01-01T00:00:00Z").admits(&neither));
    }
}
