//! The flag groups that commands flatten into their own (`--cd`, a
//! selection of sessions), apart from the whole definition in
//! [`crate::cli`] so that the modules which read them (the context, the
//! views) need not import the command line itself.

use std::path::PathBuf;

use clap::Args;

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
