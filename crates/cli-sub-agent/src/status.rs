//! One session as `csa session list` shows it: its status (contract §7) and
//! the fields of a row, read from its files.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use csa_process::Liveness;
use csa_session::genealogy::Member;
use csa_session::{LoadError, Phase, SessionLocation, SessionResult, SessionState};
use serde::Serialize;

use crate::cli::StatusFilter;

/// The STATUS column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    Active,
    Available,
    /// Retired with a successful result, or with none.
    Retired,
    /// A result with status failure/timeout/signal or a non-zero exit code.
    Failed,
    /// Unreadable or unparseable state or result.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Available => "Available",
            Status::Retired => "Retired",
            Status::Failed => "Failed",
            Status::Error => "Error",
        }
    }

    pub fn matches(self, filter: StatusFilter) -> bool {
        matches!(
            (self, filter),
            (Status::Active, StatusFilter::Active)
                | (Status::Available, StatusFilter::Available)
                | (Status::Retired, StatusFilter::Retired)
                | (Status::Failed, StatusFilter::Failed)
                | (Status::Error, StatusFilter::Error)
        )
    }

    /// The status of a session from its phase and result.
    pub fn of(phase: Phase, result: Option<&SessionResult>) -> Status {
        match phase {
            Phase::Active => Status::Active,
            Phase::Available => Status::Available,
            Phase::Retired if result.is_some_and(SessionResult::is_failure) => Status::Failed,
            Phase::Retired => Status::Retired,
        }
    }
}

/// The liveness as JSON shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LivenessView {
    pub verdict: String,
    pub reasons: Vec<String>,
}

impl From<&Liveness> for LivenessView {
    fn from(l: &Liveness) -> Self {
        LivenessView {
            verdict: l.verdict.as_str().to_owned(),
            reasons: l.reasons.clone(),
        }
    }
}

/// The `[run]` table as `list --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunView<'a> {
    pub command: Vec<Cow<'a, str>>,
    pub cwd: Cow<'a, str>,
    pub timeout_secs: Option<u64>,
}

/// One row of `csa session list` (also its `--json` object; see docs/cli.md).
///
/// Text fields borrow where they can: from the session's location, or from
/// the list cache's buffer when the row comes from there.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRow<'a> {
    pub session_id: &'a str,
    pub status: Status,
    pub phase: Option<Phase>,
    pub last_accessed: Option<Cow<'a, str>>,
    pub description: Option<Cow<'a, str>>,
    pub tools: Vec<Cow<'a, str>>,
    pub branch: Option<Cow<'a, str>>,
    pub project_path: Option<Cow<'a, str>>,
    /// `[genealogy] parent_session_id`, uppercase when it is a ULID.
    pub parent_session_id: Option<Cow<'a, str>>,
    /// `[genealogy] depth`.
    pub depth: Option<i64>,
    pub termination_reason: Option<Cow<'a, str>>,
    /// `[run]`: what `csa run` started, and where.
    pub run: Option<RunView<'a>>,
    /// Boxed: only active rows have one, and every row of a list is in memory at once.
    pub liveness: Option<Box<LivenessView>>,
    pub error: Option<String>,
    #[serde(skip)]
    pub sort_key: Option<DateTime<Utc>>,
}

impl<'a> SessionRow<'a> {
    /// How the tree of sessions sees this row.
    pub fn member(&self) -> Member<'_> {
        Member {
            id: self.session_id,
            parent: self.parent_session_id.as_deref(),
            last_accessed: self.sort_key,
        }
    }

    /// A row for a session whose state cannot be read.
    pub fn broken(loc: &'a SessionLocation, err: &LoadError) -> SessionRow<'a> {
        SessionRow {
            session_id: loc.id.as_str(),
            status: Status::Error,
            phase: None,
            last_accessed: None,
            description: None,
            tools: Vec::new(),
            branch: None,
            project_path: None,
            parent_session_id: None,
            depth: None,
            termination_reason: None,
            run: None,
            liveness: None,
            error: Some(csa_session::error::chain(err)),
            sort_key: None,
        }
    }

    /// A row from the session's state and result (`Err` = result.toml is broken).
    pub fn from_files(
        loc: &'a SessionLocation,
        state: &SessionState,
        result: Result<Option<&SessionResult>, &LoadError>,
        liveness: Option<&Liveness>,
    ) -> SessionRow<'a> {
        let (status, error) = match result {
            Ok(result) => (Status::of(state.phase(), result), None),
            Err(err) => (Status::Error, Some(csa_session::error::chain(err))),
        };
        let owned = |text: &str| Cow::Owned(text.to_owned());
        let genealogy = state.genealogy();
        SessionRow {
            session_id: loc.id.as_str(),
            status,
            phase: Some(state.phase()),
            last_accessed: Some(Cow::Owned(csa_session::format_time(state.last_accessed()))),
            description: state.description().map(owned),
            tools: state.tool_names().into_iter().map(Cow::Owned).collect(),
            branch: state.branch().map(owned),
            project_path: Some(owned(state.project_path())),
            parent_session_id: genealogy
                .parent_session_id
                .as_deref()
                .map(|parent| Cow::Owned(csa_session::genealogy::parent_id(parent))),
            depth: genealogy.depth,
            termination_reason: state.termination_reason_text().map(owned),
            run: state.run().map(|run| RunView {
                command: run.command.into_iter().map(Cow::Owned).collect(),
                cwd: Cow::Owned(run.cwd),
                timeout_secs: run.timeout_secs,
            }),
            liveness: liveness.map(|l| Box::new(LivenessView::from(l))),
            error,
            sort_key: Some(state.last_accessed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        let now = Utc::now();
        let success = csa_session::ResultStatus::Success;
        let ok = SessionResult::new(&success, 0, "", "t", now, now);
        let failed = SessionResult::new(&success, 2, "", "t", now, now);
        assert_eq!(Status::of(Phase::Active, Some(&failed)), Status::Active);
        assert_eq!(Status::of(Phase::Available, None), Status::Available);
        assert_eq!(Status::of(Phase::Retired, None), Status::Retired);
        assert_eq!(Status::of(Phase::Retired, Some(&ok)), Status::Retired);
        assert_eq!(Status::of(Phase::Retired, Some(&failed)), Status::Failed);
    }
}
