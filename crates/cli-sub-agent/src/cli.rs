//! The one clap definition of every `csa` command and flag.
//!
//! `main` parses it, `commands::completions` generates shell completions from it,
//! and `docs/cli.md` describes it; nothing else defines a flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run AI coding CLIs as background sub-agent sessions and keep their state honest.
///
/// Each run is a session with durable state under
/// `$XDG_STATE_HOME/cli-sub-agent/<project>/sessions/<ULID>/`. Sessions whose
/// process died without a result are reconciled: retired with the real result,
/// or with a synthetic failure that says why the process was judged dead.
#[derive(Debug, Parser)]
#[command(name = "csa", version, propagate_version = true)]
pub struct Cli {
    /// Log what csa does to stderr (-v info, -vv debug, -vvv trace). `RUST_LOG` also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to colour the output. `auto`: only on a terminal, and not when `NO_COLOR` is set
    /// (`CLICOLOR_FORCE` forces colour).
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t)]
    pub color: ColorWhen,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and repair sessions.
    #[command(subcommand)]
    Session(SessionCommand),

    /// Start CMD as a detached daemon in a new session and print the session id.
    ///
    /// The session's `state.toml` is written before the daemon starts. The daemon
    /// holds `locks/<tool>.lock` for its whole life, sends CMD's stdout to
    /// `output.log` and stderr to `stderr.log`, and on exit publishes
    /// `result.toml` and retires the session. The new session's ULID is the only
    /// line printed on stdout.
    Run(RunArgs),

    /// Print a shell completion script for csa to stdout.
    Completions(CompletionsArgs),

    /// Print the manual page of csa (or of one of its commands) to stdout, as roff.
    ///
    /// `csa man | man -l -` reads it; `csa man > csa.1` installs it.
    /// `csa man session list` prints the page of `csa session list`.
    Man(ManArgs),

    /// Internal: the daemon process started by `csa run`. Not for direct use.
    #[command(hide = true)]
    Daemon(DaemonArgs),
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List sessions newest first, reconciling dead active sessions on the way.
    List(ListArgs),
    /// Reconcile sessions whose process is dead: retire them with their result or a synthetic failure.
    Reconcile(ReconcileArgs),
    /// Print a session's result (reconciling it first if its process is dead).
    Result(ResultArgs),
    /// Print whether a session's process is alive, dead or unknown, with the evidence.
    ///
    /// Exit status: 0 for alive or unknown, 1 for dead (the session is reconciled).
    IsAlive(IdArgs),
    /// Wait until a session ends; exit with its result's exit code (124 on timeout).
    Wait(WaitArgs),
    /// Terminate a session's process group (SIGTERM, then SIGKILL after a grace period).
    ///
    /// The pid record is verified first (its start time must match the live
    /// process); a pid that was reused by another program is never signalled.
    Kill(KillArgs),
    /// Delete sessions that have ended; never one whose process may still run.
    ///
    /// Each session is reconciled first (a dead one is retired), then removed
    /// if it is retired, failed or in error. An active session (its process
    /// alive or unknown), or one whose tool lock is held, is refused: stop it
    /// with `csa session kill` first. Exit status: 0 when every named session
    /// was deleted, 1 when one was kept or an error occurred.
    Delete(DeleteArgs),
    /// Delete the project's old settled sessions; never one whose process may still run.
    ///
    /// Removes retired and failed sessions last accessed at least DURATION
    /// ago (default 7d), keeping the newest N. Active sessions, sessions whose
    /// tool lock is held, and sessions being created are skipped and reported.
    /// Safe to run from cron. Exit status: 0 unless an error occurred.
    Clean(CleanArgs),
}

/// Where the project is: `--cd DIR`, default the current directory.
#[derive(Debug, Clone, Args)]
pub struct ProjectArgs {
    /// Project directory whose sessions to use (default: the current directory).
    #[arg(long = "cd", value_name = "DIR")]
    pub cd: Option<PathBuf>,
}

/// `--color WHEN`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour a stream only when it is a terminal (and `NO_COLOR` is not set).
    #[default]
    Auto,
    /// Always colour, even into a pipe or file.
    Always,
    /// Never colour.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Active,
    Available,
    Retired,
    Failed,
    Error,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// List the sessions of every project under the state root.
    #[arg(long)]
    pub all_projects: bool,
    /// Only sessions with this status.
    #[arg(long, value_enum, value_name = "S")]
    pub status: Option<StatusFilter>,
    /// Only sessions that used one of these tools (comma separated).
    #[arg(long, value_name = "T,..", value_delimiter = ',')]
    pub tool: Vec<String>,
    /// Only sessions on this branch.
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Do not reconcile dead active sessions; only read.
    #[arg(long)]
    pub no_reconcile: bool,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Session ids or unique id prefixes (case-insensitive).
    #[arg(
        value_name = "ID|PREFIX",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub ids: Vec<String>,
    /// Reconcile every session of the project.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print the outcome that would happen; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON array of outcomes.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// Session id or unique id prefix (case-insensitive).
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct ResultArgs {
    #[command(flatten)]
    pub session: IdArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub session: IdArgs,
    /// Give up after this many seconds and exit 124.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub session: IdArgs,
    /// Seconds to wait after SIGTERM before sending SIGKILL.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub grace: f64,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Session ids or unique id prefixes (case-insensitive).
    #[arg(value_name = "ID", required = true)]
    pub ids: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print what would be deleted and what kept; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON array of `{"session_id", "action", "reason"}`.
    #[arg(long)]
    pub json: bool,
}

/// `csa session clean --status`: the settled statuses it can remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CleanStatus {
    /// Retired with a successful result or none.
    Retired,
    /// Retired with a failed result.
    Failed,
    /// Unreadable state or result (removed only when asked for).
    Error,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Remove sessions last accessed at least this long ago: `90s`, `15m`, `2h`, `7d`, or seconds.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = crate::duration::parse)]
    pub older_than: std::time::Duration,
    /// Only sessions with this status (default: retired and failed).
    #[arg(long, value_enum, value_name = "S")]
    pub status: Option<CleanStatus>,
    /// Keep the newest N of the sessions selected, whatever their age.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep: usize,
    /// Clean the sessions of every project under the state root.
    #[arg(long)]
    pub all_projects: bool,
    /// Print what would be deleted and what kept; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON array of `{"session_id", "action", "reason"}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Name of the tool being run (codex, claude-code, gemini-cli, ...).
    #[arg(long, value_name = "NAME")]
    pub tool: String,
    /// A short description shown by `csa session list`.
    #[arg(long, value_name = "D")]
    pub description: Option<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The session directory the daemon works in.
    #[arg(long, value_name = "DIR")]
    pub session_dir: PathBuf,
    /// The session id.
    #[arg(long, value_name = "ID")]
    pub session_id: String,
    /// The tool name.
    #[arg(long, value_name = "NAME")]
    pub tool: String,
    /// The command to run.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, e.g. `session list` (default: csa itself).
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
