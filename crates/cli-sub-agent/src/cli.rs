//! The one clap definition of every `csa` command and flag.
//!
//! `main` parses it, `commands::completions` generates shell completions from it,
//! and `docs/cli.md` describes it; nothing else defines a flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use csa_session::SessionStatus;

use crate::args::status_parser;
pub use crate::args::{ProjectArgs, Selection};

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

    /// Output format (any position): `json` is `--json` for every command
    /// that prints JSON; the others (`wait`, `kill`, `logs`, `attach`, `run`)
    /// print as they always do. Accepted as other csa installs spell it.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    #[command(flatten)]
    pub remote: crate::remote_cli::RemoteArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Fold the spellings other csa installs use into ours, once parsed:
    /// `--session ID` joins the ids, `--format json` is `--json`, and
    /// `clean --days N` is `--older-than Nd`. Commands read only ours.
    pub fn normalize(&mut self) {
        let json = self.format == Some(Format::Json);
        let verbose = self.verbose;
        let Command::Session(command) = &mut self.command else {
            return;
        };
        match command {
            SessionCommand::List(args) => args.json |= json,
            SessionCommand::Reconcile(args) => {
                args.json |= json;
                args.ids.append(&mut args.session);
            }
            SessionCommand::Result(args) => {
                args.json |= json;
                args.sessions.fold();
            }
            SessionCommand::IsAlive(args) => {
                args.json |= json;
                args.sessions.fold();
            }
            SessionCommand::Show(args) => {
                args.json |= json;
                args.sessions.fold();
            }
            SessionCommand::Peek(args) => args.json |= json,
            SessionCommand::Top(args) => args.json |= json,
            SessionCommand::Stats(args) => args.json |= json,
            SessionCommand::Wait(args) => {
                args.json |= json;
                args.targets.ids.append(&mut args.targets.session);
            }
            SessionCommand::Kill(KillArgs { targets, .. }) => {
                targets.ids.append(&mut targets.session);
            }
            SessionCommand::Logs(args) => args.ids.append(&mut args.session),
            SessionCommand::Attach(_) => {}
            SessionCommand::Delete(args) => {
                args.json |= json;
                args.ids.append(&mut args.session);
            }
            SessionCommand::Clean(args) => {
                args.json |= json;
                args.verbose = verbose;
                if let Some(days) = args.days.take() {
                    args.older_than = days;
                }
            }
        }
    }
}

/// clap's error for `csa run --tool T CMD...` (CMD given without `--`
/// before it), with a tip that shows the command line with `--` added.
/// Other errors are returned as they are.
pub fn hint_double_dash(mut err: clap::Error, args: &[String]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument || args.iter().any(|a| a == "--") {
        return err;
    }
    let Some(ContextValue::String(stray)) = err.get(ContextKind::InvalidArg).cloned() else {
        return err;
    };
    let Some(run) = args.iter().position(|a| a == "run") else {
        return err;
    };
    let Some(at) = args.iter().skip(run + 1).position(|a| *a == stray) else {
        return err;
    };
    let mut fixed: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    fixed.insert(run + at, "--");
    let tip = format!("put the command after `--`: csa {}", fixed.join(" "));
    err.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![tip.into()]),
    );
    err
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and repair sessions.
    #[command(subcommand)]
    Session(SessionCommand),

    /// Start CMD as a detached daemon in a new session and print the session id.
    ///
    /// The session dir appears complete (state.toml with the `[run]` table, the
    /// tool's lock) with one rename. The daemon holds `locks/<tool>.lock` for its
    /// whole life, runs CMD in the project dir as the leader of its own process
    /// group with CSA_SESSION_ID, CSA_SESSION_DIR, CSA_PROJECT_ROOT, CSA_TOOL and
    /// CSA_DEPTH set, sends its stdout to `output.log` and stderr to `stderr.log`,
    /// and when CMD ends stops every process CMD left behind (SIGTERM, SIGKILL
    /// after 2 s; other sessions' daemons are left alone) before it publishes
    /// `result.toml` and retires the session.
    ///
    /// The new session's ULID is printed as the only stdout line once the daemon
    /// confirms CMD started; if CMD cannot start, the session ends with a failure
    /// result and csa run exits 1 with the cause. A run inside a session
    /// (CSA_SESSION_ID set) records it as its parent; at CSA_DEPTH >= the maximum
    /// (5, or CSA_MAX_DEPTH) csa run refuses and creates nothing.
    Run(RunArgs),

    /// Print a static shell completion script for csa (commands and flags) to stdout.
    ///
    /// Session ids complete, with their descriptions, through the dynamic
    /// completions instead: `source <(COMPLETE=bash csa)` in ~/.bashrc,
    /// `source <(COMPLETE=zsh csa)` in ~/.zshrc, `COMPLETE=fish csa | source`
    /// in fish's config.
    Completions(CompletionsArgs),

    /// Print the manual page of csa (or of one of its commands) to stdout, as roff.
    ///
    /// `csa man | man -l -` reads it; `csa man > csa.1` installs it.
    /// `csa man session list` prints the page of `csa session list`.
    Man(ManArgs),

    /// Print csa's version and the protocol it speaks with csa on other hosts (`--host`).
    Version(crate::remote_cli::VersionArgs),

    /// Internal: the daemon process started by `csa run`. Not for direct use.
    #[command(hide = true)]
    Daemon(DaemonArgs),
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List sessions newest first, reconciling dead active sessions on the way.
    List(crate::args::ListArgs),
    /// Reconcile sessions whose process is dead: retire them with their result or a synthetic failure.
    Reconcile(ReconcileArgs),
    /// Print sessions' results (reconciling each first if its process is dead).
    ///
    /// Several ids, or --all (every session of the project that has a
    /// result, newest first): one block per session, each starting with its
    /// `session_id`; with --json one array.
    Result(ResultArgs),
    /// Print whether a session's process is alive, dead or unknown, with the evidence.
    ///
    /// Exit status: 0 for alive or unknown, 1 for dead (the session is
    /// reconciled). Several ids, or --all (every active session): one
    /// `<ULID> <verdict>` line each with its evidence indented, exit 1 when
    /// any is dead.
    IsAlive(IsAliveArgs),
    /// Wait until sessions end, printing each one's result line as it ends.
    ///
    /// Exit status: one session: its result's exit code; several: 0 when every
    /// one exited 0, else 1; with --any: the exit code of the first to end;
    /// 124 when --timeout expires first. Event-driven:
    /// wakes when a session's state or result changes or its process exits.
    /// A session whose dir is removed or moved away meanwhile prints
    /// `<ULID> removed` and counts as exit 1. Inside a session (CSA_SESSION_ID
    /// set) it never waits for that session or an ancestor: --all and --tree
    /// leave them out, and naming one is a usage error (exit 2).
    Wait(WaitArgs),
    /// Stop sessions and everything they started (SIGTERM, SIGKILL after
    /// --grace); each ends with a `killed` result.
    ///
    /// The session's daemon does the stopping and records the result.
    /// Nothing is signalled before the daemon is verified: its start time must
    /// match daemon.pid, its lock record must be of this host, boot and pid
    /// namespace, and its command line must be the csa daemon of this session.
    /// Pid 0, pid 1, process groups <= 1 and csa's own group are never
    /// signalled. If the daemon is dead (or stopped, or late) but the command
    /// lives, the command's group is verified by cmd.pid's start time and by
    /// running in the daemon's session (getsid), never by its environment,
    /// and stopped directly. A second kill with a shorter --grace escalates.
    /// On a full or read-only disk the stop still happens; what could not be
    /// recorded is said on stderr. With --tree, descendant sessions are
    /// stopped first (each once, even in a parent cycle). Prints `<ULID>
    /// killed: exit <code>`, or `<ULID> already ended: <status> exit <code>`.
    Kill(KillArgs),
    /// Print sessions' output.log (or stderr.log) as raw bytes; --follow to keep printing.
    ///
    /// The only command that prints tool output as it is, unescaped. With
    /// several sessions (or --all) each line is prefixed `<short id> | `
    /// and both logs are merged, stderr lines marked `!`. With --follow,
    /// exits once every session has ended: with one session's exit code, or
    /// with several 0 when every one exited 0, else 1. A session whose dir
    /// is removed or moved away meanwhile ends with `<ULID> removed` on
    /// stderr and counts as exit 1.
    Logs(LogsArgs),
    /// Follow one session's output and stderr as they are written (`logs --follow --both`).
    ///
    /// Exits with the session's exit code once it has ended.
    Attach(IdArgs),
    /// Show everything about sessions (reconciling each first).
    ///
    /// Several ids, or --all (every session of the project, newest first):
    /// one view each, separated by a blank line; with --json one array.
    Show(ShowArgs),
    /// A compact `show`: status, elapsed and idle time, result, last output lines.
    ///
    /// Idle is the time since either log last grew (active sessions only).
    Peek(PeekArgs),
    /// Watch every session live: status, elapsed and idle time, CPU and memory, log size, last line.
    ///
    /// Keys: j/k select, Enter logs, x kill (y/n), t tree, / filter, q quit. Not a terminal: a table.
    Top(crate::top::TopArgs),
    /// Add up the project's sessions: counts by status and outcome, run time, idle time, tokens.
    ///
    /// Reads the session files only (nothing is reconciled). --since keeps
    /// the sessions last accessed within DURATION; --by-tool adds each
    /// tool's rollup. docs/cli.md says where each number comes from.
    Stats(crate::args::StatsArgs),
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

/// `--format FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people (the default).
    Text,
    /// JSON, as `--json` prints it.
    Json,
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

impl ColorWhen {
    /// The choice as the terminal layer takes it (`crate::term::style::init`).
    pub fn choice(self) -> anstream::ColorChoice {
        match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }

    /// The `--color` given in `args` (the whole command line), read before
    /// clap parses it so that clap's own help and usage errors follow it
    /// too: the last `--color WHEN` or `--color=WHEN` before a `--`; `None`
    /// when there is none or its value is not one clap would accept (clap
    /// then reports that).
    pub fn from_args<I>(args: I) -> Option<ColorWhen>
    where
        I: IntoIterator,
        I::Item: Into<std::ffi::OsString>,
    {
        let mut found = None;
        let mut args = args.into_iter().map(Into::into).skip(1);
        while let Some(arg) = args.next() {
            let Some(arg) = arg.to_str() else { continue };
            let value = match arg {
                "--" => break,
                "--color" => args.next(),
                _ => match arg.strip_prefix("--color=") {
                    Some(value) => Some(value.into()),
                    None => continue,
                },
            };
            let parsed = value
                .as_deref()
                .and_then(std::ffi::OsStr::to_str)
                .and_then(|v| ColorWhen::from_str(v, false).ok());
            if parsed.is_some() {
                found = parsed;
            }
        }
        found
    }
}

/// The statuses `clean --status` takes: the settled ones, and `error`.
const CLEAN_STATUSES: &[(SessionStatus, Option<&str>)] = &[
    (
        SessionStatus::Retired,
        Some("Retired with a successful result or none"),
    ),
    (SessionStatus::Failed, Some("Retired with a failed result")),
    (
        SessionStatus::Error,
        Some("Unreadable state or result (removed only when asked for)"),
    ),
];

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Session ids or unique id prefixes (case-insensitive).
    #[arg(
        value_name = "ID|PREFIX",
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

/// One session: `ID`, or `--session ID` / `-s ID` as other csa installs
/// spell it.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// Session id or unique id prefix (case-insensitive); a full id is also
    /// found in other projects.
    #[arg(
        value_name = "ID",
        required_unless_present = "session",
        conflicts_with = "session"
    )]
    id: Option<String>,
    /// The session id as other csa installs take it (`--session ID`, `-s
    /// ID`): the same as the ID argument.
    #[arg(short = 's', long = "session", value_name = "ID")]
    session: Option<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
}

impl IdArgs {
    /// The id, however it was given.
    pub fn id(&self) -> &str {
        self.id
            .as_deref()
            .or(self.session.as_deref())
            .expect("clap requires ID or --session")
    }
}

#[derive(Debug, Args)]
pub struct ResultArgs {
    #[command(flatten)]
    pub sessions: Selection,
    /// Print the result as one JSON object (several sessions: an array).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IsAliveArgs {
    #[command(flatten)]
    pub sessions: Selection,
    /// Print `{"session_id", "verdict", "reasons"}` (several sessions: an array).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PeekArgs {
    #[command(flatten)]
    pub session: IdArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The sessions `wait` and `kill` act on.
#[derive(Debug, Args)]
pub struct Targets {
    /// Session ids or unique id prefixes (case-insensitive).
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
    /// Every active session of the project.
    #[arg(long)]
    pub all: bool,
    /// Each named session's whole tree: every descendant (started by a
    /// nested csa run) too, even one started meanwhile; kill stops children
    /// before their parents.
    #[arg(long, conflicts_with = "all")]
    pub tree: bool,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Return as soon as the first of the sessions ends: print its line and
    /// exit with its exit code (the others keep running).
    #[arg(long)]
    pub any: bool,
    /// Give up after this long and exit 124: seconds (`90`, `1.5`) or `90s`,
    /// `2m`, `1h`, `7d` (at most 10 years).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub timeout: Option<std::time::Duration>,
    /// Print each session's end as one JSON object on its own line, as it ends.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
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
    /// The logs of every session of the project (with --follow, sessions
    /// that start meanwhile join).
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print stderr.log instead of output.log.
    #[arg(long, conflicts_with = "both")]
    pub stderr: bool,
    /// Print output.log and stderr.log merged, stderr lines marked `!` (the
    /// default with several sessions).
    #[arg(long)]
    pub both: bool,
    /// Print only the last N lines of each log.
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<usize>,
    /// Prefix each line with the time it was read (RFC 3339, milliseconds).
    #[arg(long)]
    pub timestamps: bool,
    /// Keep printing new output until the sessions end; then exit with the
    /// session's exit code (several: 0 when every one exited 0, else 1).
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub sessions: Selection,
    /// Print one JSON object instead of text (several sessions: an array).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Time between SIGTERM and SIGKILL: seconds (`5`, `0.5`) or `90s`, `2m`,
    /// `1h`, `7d` (at most 10 years).
    #[arg(long, value_name = "DURATION", default_value = "5", value_parser = crate::duration::parse)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Session ids or unique id prefixes (case-insensitive).
    #[arg(value_name = "ID", required_unless_present = "session")]
    pub ids: Vec<String>,
    /// A session id as other csa installs take it (`--session ID`, `-s
    /// ID`; repeatable): the same as an ID argument.
    #[arg(short = 's', long = "session", value_name = "ID")]
    pub session: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print what would be deleted and what kept; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON array of `{"session_id", "action", "reason"}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Remove sessions last accessed at least this long ago: `90s`, `15m`,
    /// `2h`, `7d`, or seconds (`90`, `1.5`; at most 10 years).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = crate::duration::parse)]
    pub older_than: std::time::Duration,
    /// Only sessions with one of these statuses (comma separated; default:
    /// retired and failed).
    #[arg(
        long,
        value_name = "S,..",
        value_parser = status_parser(CLEAN_STATUSES),
        value_delimiter = ','
    )]
    pub status: Vec<SessionStatus>,
    /// `--older-than N` days, as other csa installs spell it (`--days 30`).
    #[arg(long, value_name = "N", conflicts_with = "older_than", value_parser = crate::duration::parse_days)]
    pub days: Option<std::time::Duration>,
    /// Only sessions that used one of these tools (comma separated).
    #[arg(long, value_name = "T,..", value_delimiter = ',')]
    pub tool: Vec<String>,
    /// The global `-v` count: with it, each kept session is listed too.
    #[arg(skip)]
    pub verbose: u8,
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
    /// Stop CMD (as `csa session kill` does) when it runs longer than this:
    /// seconds (`90`, `1.5`) or `90s`, `15m`, `2h`, `7d` (more than 0, at
    /// most 10 years). Its result is then `timeout`, exit 124.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Rotate a log once it reaches this size: `output.log` becomes
    /// `output.log.1` (replacing an older one) and a new log starts, so one
    /// stream never takes more than twice SIZE. `512M`, `1G`, `64K` (binary
    /// units; `KiB`, `MiB`, `GiB` too) or bytes, at least 1K; default 512M.
    #[arg(long, value_name = "SIZE", value_parser = crate::duration::parse_size)]
    pub max_log_size: Option<u64>,
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
    /// The readiness pipe's write end, inherited from csa run.
    #[arg(long, value_name = "FD")]
    pub ready_fd: Option<i32>,
    /// The locked tool lock, inherited from csa run.
    #[arg(long, value_name = "FD")]
    pub lock_fd: Option<i32>,
    /// Stop CMD after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = crate::duration::parse)]
    pub timeout_secs: Option<std::time::Duration>,
    /// The session's depth (the CSA_DEPTH csa run was started with, 0 when
    /// unset); CMD gets this + 1.
    #[arg(long, value_name = "N")]
    pub depth: Option<u32>,
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
#[path = "cli_tests.rs"]
mod tests;
