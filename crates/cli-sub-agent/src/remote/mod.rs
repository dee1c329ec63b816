//! `--host TARGET` (contract §11): the command-line side of `csa_remote`.
//! [`run`] sends a command to the hosts it names and draws their answers
//! here: `list` and `top` ([`fleet`], several hosts at once, a HOST column), `show`
//! and `result` ([`views`]) and `wait` ([`waits`], several hosts with
//! `--all`) are asked for `--json` and drawn by the same views as local
//! sessions; any other command ([`relay`]) streams its output through.
//! [`answer_caller`] is the other end: a csa started over ssh by another.

mod fleet;
pub mod relay;
mod views;
mod waits;

use std::process::ExitCode;

use csa_remote::{HostTarget, Transport, Versions, handshake};

use crate::cli::{Cli, Command, ProjectArgs, SessionCommand};
use crate::ui::Ui;

/// The hidden flag another csa starts this one with, split off the command
/// line before it is parsed: the versions that csa speaks, when it is there.
pub fn take_protocol(
    args: Vec<std::ffi::OsString>,
) -> (Vec<std::ffi::OsString>, Option<Option<Versions>>) {
    handshake::take_protocol(args)
}

/// Started over ssh by another csa that speaks `theirs`: refuse (the
/// mismatch line, exit 1) unless it speaks ours, else end this process when
/// that csa goes away. `Some(code)`: stop here.
pub fn answer_caller(theirs: Option<Versions>, ui: &Ui) -> Option<ExitCode> {
    if theirs != Some(Versions::OURS) {
        ui.stderr(&format!(
            "{}{}\n",
            handshake::MISMATCH_MARK,
            Versions::OURS.word()
        ));
        return Some(ExitCode::FAILURE);
    }
    relay::end_with_stdin();
    None
}

/// Whether `--host` sends this command to other hosts: every command that
/// works on sessions, and `version`; not the local tools (completions, man
/// pages) nor the daemon.
pub fn on_hosts(command: &Command) -> bool {
    !matches!(
        command,
        Command::Completions(_) | Command::Man(_) | Command::Daemon(_)
    )
}

/// Run `cli`'s command on the hosts of `--host`.
pub fn run(cli: &Cli, ui: &Ui) -> anyhow::Result<ExitCode> {
    let targets = cli
        .remote
        .hosts
        .iter()
        .map(|typed| HostTarget::parse(typed))
        .collect::<Result<Vec<_>, _>>()?;
    let transport = Transport::from_env(cli.remote.remote_csa.as_deref().unwrap_or("csa"))?;
    // Without --cd, the project there is the local project's path (a
    // typed --cd is sent as it is: a path on that host).
    let (tail, takes_project) = match &cli.command {
        Command::Run(args) => (args.cmd.len(), true),
        Command::Session(_) => (0, true),
        Command::Version(_) | Command::Completions(_) | Command::Man(_) | Command::Daemon(_) => {
            (0, false)
        }
    };
    let project = match takes_project {
        true => Some(crate::context::Context::new(&ProjectArgs { cd: None }, ui)?.project),
        false => None,
    };
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let words = relay::command_words(&args, tail, project.as_ref().map(|p| p.project_dir()))?;
    let hosts = Hosts {
        transport: &transport,
        targets: &targets,
        words: &words,
    };
    match &cli.command {
        Command::Session(SessionCommand::List(args)) => return fleet::list(&hosts, args, ui),
        Command::Session(SessionCommand::Top(args)) => return fleet::top(&hosts, args, ui),
        Command::Session(SessionCommand::Wait(args)) if args.targets.all => {
            return waits::wait(&hosts, args, ui);
        }
        _ => {}
    }
    let [target] = targets.as_slice() else {
        anyhow::bail!(
            "{} hosts given: only `session list`, `session top` and `session wait --all` take --host more than once",
            targets.len()
        );
    };
    match &cli.command {
        Command::Session(SessionCommand::Wait(args)) => waits::wait(&hosts, args, ui),
        Command::Session(SessionCommand::Show(args)) if !args.json => {
            views::show(&hosts, target, args.sessions.several(), ui)
        }
        Command::Session(SessionCommand::Result(args)) if !args.json => {
            views::result(&hosts, target, args.sessions.several(), ui)
        }
        _ => relay::relay(&transport, target, &words, ui),
    }
}

/// The hosts a command goes to, how to reach them, and the command's words.
pub struct Hosts<'a> {
    pub transport: &'a Transport,
    pub targets: &'a [HostTarget],
    pub words: &'a [String],
}

impl Hosts<'_> {
    /// The command's words with `--json` added (when not typed already).
    pub fn json_words(&self) -> Vec<String> {
        // `list -q` prints ids here, from the host's JSON rows (a word
        // after `--` is CMD's, kept as it is).
        let end = self
            .words
            .iter()
            .position(|w| w == "--")
            .unwrap_or(self.words.len());
        let mut words: Vec<String> = self.words[..end]
            .iter()
            .filter(|w| !matches!(w.as_str(), "-q" | "--quiet"))
            .chain(&self.words[end..])
            .cloned()
            .collect();
        if !words.iter().any(|w| w == "--json") {
            words.push("--json".to_owned());
        }
        words
    }
}

/// What the csa on `target` said on stderr, passed on; `Some(code)` when
/// it answered nothing on stdout (an error): its exit code, to end with.
fn pass_on_errors(answer: &csa_remote::Answer, ui: &Ui) -> Option<ExitCode> {
    ui.stderr(&answer.stderr);
    answer
        .stdout
        .iter()
        .all(u8::is_ascii_whitespace)
        .then(|| exit_code(answer.code))
}

/// The exit code for a remote csa's (`None`: ssh was ended by a signal).
fn exit_code(code: Option<i32>) -> ExitCode {
    match code {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::from(relay::SIGNALLED),
    }
}
