//! The flag groups that commands flatten into their own (`--cd`, a
//! selection of sessions) and the flags of the commands whose views read
//! them (`list`, `stats`), apart from the whole definition in
//! [`crate::cli`] so that the modules which read them (the context, the
//! views, the commands) need not import the command line itself.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use csa_session::{RowFilter, SessionStatus};

/// Where the project is: `--cd DIR`, default the current directory.
#[derive(Debug, Clone, Args)]
pub struct ProjectArgs {
    /// Project directory whose sessions to use (default: the current directory).
    #[arg(long = "cd", value_name = "DIR")]
    pub cd: Option<PathBuf>,
}

/// Several sessions by id (`ID...` or `--session ID`, repeatable), or every
/// session with `--all`.
#[derive(Debug, Args)]
pub struct Selection {
    /// Session ids or unique id prefixes (case-insensitive); a full id is
    /// also found in other projects.
    #[arg(
        value_name = "ID",
        required_unless_present_any = ["all", "session"],
        conflicts_with = "all"
    )]
    pub ids: Vec<String>,
    /// A session id as other csa installs take it (`--session ID`, `-s
    /// ID`; repeatable): the same as an ID argument.
    #[arg(
        short = 's',
        long = "session",
        value_name = "ID",
        conflicts_with = "all"
    )]
    pub session: Vec<String>,
    /// Every session of the project (`result`: those with a result;
    /// `is-alive`: the active ones), newest first.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

impl Selection {
    /// `--session` values join the ids.
    pub fn fold(&mut self) {
        self.ids.append(&mut self.session);
    }

    /// More than one session may be printed: JSON is then an array.
    pub fn several(&self) -> bool {
        self.all || self.ids.len() > 1
    }
}

/// `--status S`: a session status (`csa_session::SessionStatus`) by its
/// word, among `allowed` (each with its help line, if any).
pub(crate) fn status_parser(
    allowed: &'static [(SessionStatus, Option<&'static str>)],
) -> impl clap::builder::TypedValueParser<Value = SessionStatus> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
    let values = allowed.iter().map(|(status, help)| {
        let value = PossibleValue::new(status.as_arg());
        match help {
            Some(help) => value.help(*help),
            None => value,
        }
    });
    PossibleValuesParser::new(values)
        .map(|word| SessionStatus::parse(&word).expect("clap admits only the words of statuses"))
}

/// The statuses `list --status` takes.
pub(crate) const LIST_STATUSES: &[(SessionStatus, Option<&str>)] = &[
    (SessionStatus::Active, None),
    (SessionStatus::Available, None),
    (SessionStatus::Retired, None),
    (SessionStatus::Failed, None),
    (SessionStatus::Error, None),
];

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// List the sessions of every project under the state root (adds a
    /// PROJECT column).
    #[arg(long)]
    pub all_projects: bool,
    /// Only sessions with one of these statuses (comma separated, or the
    /// flag repeated).
    #[arg(
        long,
        value_name = "S,..",
        value_parser = status_parser(LIST_STATUSES),
        value_delimiter = ','
    )]
    pub status: Vec<SessionStatus>,
    /// Only sessions that used one of these tools (comma separated).
    #[arg(long, value_name = "T,..", value_delimiter = ',')]
    pub tool: Vec<String>,
    /// Only sessions on this branch.
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// Only sessions started within DURATION before now: `90s`, `15m`,
    /// `2h`, `7d`, or seconds (`90`, `1.5`).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub since: Option<Duration>,
    /// Only the N newest sessions that pass the other filters.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Print only full session ids, one a line, in the list's order.
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Do not reconcile dead active sessions; only read.
    #[arg(long)]
    pub no_reconcile: bool,
    /// Show each session under the session that started it (newest first
    /// within a level). A session whose parent is not shown sits at the top
    /// level with a note saying why. With --json: the same order, and each
    /// row's `tree_depth`.
    #[arg(long)]
    pub tree: bool,
}

impl ListArgs {
    /// The filters the flags name, `--since` measured back from `now`.
    pub fn filter(&self, now: DateTime<Utc>) -> RowFilter {
        RowFilter {
            statuses: self.status.clone(),
            tools: self.tool.clone(),
            branch: self.branch.clone(),
            started_since: self.since.map(|since| {
                chrono::TimeDelta::from_std(since)
                    .ok()
                    .and_then(|since| now.checked_sub_signed(since))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC)
            }),
        }
    }
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Add up the sessions of every project under the state root.
    #[arg(long)]
    pub all_projects: bool,
    /// Only sessions last accessed within this long: `90s`, `15m`, `2h`,
    /// `7d`, or seconds (`90`, `1.5`; at most 10 years). Default: all.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub since: Option<Duration>,
    /// Also add up each tool's sessions on their own.
    #[arg(long)]
    pub by_tool: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}
