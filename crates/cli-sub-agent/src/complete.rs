//! Dynamic shell completions: `COMPLETE=bash csa` prints a script that
//! registers `csa` with the shell, and the shell then asks `csa` itself
//! (`COMPLETE=bash csa -- csa session result 01J`) what may come next. Every
//! argument that takes a session id offers the project's ids, newest first,
//! each with its description (zsh and fish show it; bash shows ids only).
//!
//! `main` calls [`complete_if_asked`] before anything else; it returns at
//! once unless `COMPLETE` names a shell. Which ids match, and how few files
//! are read to find them, is `csa_session::suggest`; this module only wires
//! it into clap's definition (`public_cli`) and draws the descriptions.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::Command;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::CompleteEnv;

use crate::cli::ProjectArgs;
use crate::context::Context;
use crate::public_cli::public_command;
use crate::term::width::escape_to_width;
use crate::ui::{Facts, Ui};

/// The environment variable that asks for completions (clap_complete's).
pub const COMPLETE_VAR: &str = "COMPLETE";

/// The widest description a candidate shows, in columns.
const DESCRIPTION_WIDTH: usize = 60;

/// Answer a shell's completion request and exit, when `COMPLETE` names a
/// shell; otherwise return and let `csa` run.
pub fn complete_if_asked() {
    CompleteEnv::with_factory(completing_command)
        .var(COMPLETE_VAR)
        .bin("csa")
        .complete();
}

/// `csa` as users see it, with every session-id argument completing ids.
fn completing_command() -> Command {
    with_id_completer(public_command())
}

/// `cmd` with [`session_ids`] on each argument that takes a session id (its
/// value is named `ID` or `ID|PREFIX`), at any depth.
fn with_id_completer(cmd: Command) -> Command {
    cmd.mut_args(|arg| {
        let takes_id = arg
            .get_value_names()
            .and_then(<[_]>::first)
            .is_some_and(|name| name.as_str() == "ID" || name.as_str() == "ID|PREFIX");
        if takes_id {
            arg.add(ArgValueCompleter::new(session_ids))
        } else {
            arg
        }
    })
    .mut_subcommands(with_id_completer)
}

/// The ids of the project's sessions that start with `typed`, each with its
/// description. The project is the one the command being completed would
/// use: its `--cd DIR` when it has one, else the usual rule.
fn session_ids(typed: &OsStr) -> Vec<CompletionCandidate> {
    let Some(typed) = typed.to_str() else {
        return Vec::new();
    };
    let ui = Ui::new(Facts::of_process());
    let project = ProjectArgs {
        cd: cd_of(std::env::args_os()),
    };
    let Ok(ctx) = Context::new(&project, &ui) else {
        return Vec::new();
    };
    csa_session::suggest::suggest(&ctx.sessions_dirs(), typed)
        .into_iter()
        .map(|found| {
            let help = found
                .description
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(|text| escape_to_width(text, DESCRIPTION_WIDTH).into_owned().into());
            CompletionCandidate::new(found.id).help(help)
        })
        .collect()
}

/// The last `--cd DIR` (or `--cd=DIR`) of the command line being completed:
/// what follows the `--` in `csa -- csa session ...`.
fn cd_of(args: impl IntoIterator<Item = OsString>) -> Option<PathBuf> {
    let mut args = args.into_iter().skip_while(|arg| arg != "--").skip(1);
    let mut cd = None;
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--cd" {
            cd = args.next().map(PathBuf::from).or(cd);
        } else if let Some(dir) = arg.to_str().and_then(|a| a.strip_prefix("--cd=")) {
            cd = Some(PathBuf::from(dir));
        }
    }
    cd.filter(|dir| !dir.as_os_str().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn the_cd_of_the_line_being_completed() {
        assert_eq!(cd_of(args("csa -- csa session result 01")), None);
        assert_eq!(
            cd_of(args("csa -- csa session result --cd /a 01")),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            cd_of(args("csa -- csa --cd=/a session show --cd /b 0")),
            Some(PathBuf::from("/b"))
        );
        // `csa`'s own arguments before the first `--` are not the line's.
        assert_eq!(cd_of(args("csa --cd /x -- csa session show 0")), None);
    }

    #[test]
    fn every_id_argument_completes_ids_and_nothing_else_does() {
        let mut cmd = completing_command();
        cmd.build();
        let session = cmd.find_subcommand("session").expect("session");
        let mut with = Vec::new();
        for sub in session.get_subcommands() {
            for arg in sub.get_arguments() {
                if arg.get::<ArgValueCompleter>().is_some() {
                    with.push(format!("{} {}", sub.get_name(), arg.get_id()));
                }
            }
        }
        for expected in [
            "result ids",
            "result session",
            "show ids",
            "is-alive session",
            "logs ids",
            "wait ids",
            "kill session",
            "delete ids",
            "peek id",
            "attach id",
            "reconcile ids",
        ] {
            assert!(with.iter().any(|w| w == expected), "{expected}: {with:?}");
        }
        assert!(
            !with
                .iter()
                .any(|w| w.contains("cd") || w.starts_with("list"))
        );
    }
}
