//! `csa`: the command-line entry point.
//!
//! Parses the command line (see `cli`), sets up logging, and hands each command to
//! its module under `commands`. Errors become one line on stderr and exit 1;
//! usage errors are clap's message, escaped, and exit 2.

mod args;
mod cli;
mod commands;
mod complete;
mod context;
mod daemon;
mod duration;
mod list_table;
mod list_tree;
mod log_lines;
mod pool;
mod public_cli;
mod reconcile;
mod remote;
mod remote_cli;
mod removal;
mod table_row;
mod term;
mod top;
mod ui;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, ColorWhen, Command, SessionCommand};
use crate::ui::{Facts, Ui};

fn main() -> ExitCode {
    // A shell asking what may complete the line (`COMPLETE=bash csa -- ...`):
    // answered before anything else is printed, then csa exits.
    complete::complete_if_asked();
    // Test builds only: fault points named by CSA_FAULT (see csa_session::fault).
    csa_session::fault::enable_from_env();
    // Before parsing, so that clap's help and errors follow `--color` too.
    term::style::init(
        ColorWhen::from_args(std::env::args_os())
            .unwrap_or_default()
            .choice(),
    );
    // Started over ssh by another csa (`--host`): the protocol it speaks.
    let (args, remote_protocol) = remote::take_protocol(std::env::args_os().collect());
    let mut cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            return Ui::new(Facts::of_process()).usage_error(cli::hint_double_dash(err, &args));
        }
    };
    cli.normalize();
    term::style::init(cli.color.choice());
    let ui = Ui::new(Facts {
        read_by_csa: remote_protocol.is_some(),
        ..Facts::of_process()
    });
    term::log::init(cli.verbose, ui.facts().stderr_colors);
    if let Some(theirs) = remote_protocol {
        if let Some(refused) = remote::answer_caller(theirs, &ui) {
            return refused;
        }
    } else if !cli.remote.hosts.is_empty() && remote::on_hosts(&cli.command) {
        return finish(&ui, remote::run(&cli, &ui));
    }
    let outcome = match cli.command {
        Command::Session(SessionCommand::List(args)) => commands::list::run(&args, &ui),
        Command::Session(SessionCommand::Reconcile(args)) => commands::reconcile::run(&args, &ui),
        Command::Session(SessionCommand::Result(args)) => commands::result::run(&args, &ui),
        Command::Session(SessionCommand::IsAlive(args)) => commands::is_alive::run(&args, &ui),
        Command::Session(SessionCommand::Wait(args)) => commands::wait::run(&args, &ui),
        Command::Session(SessionCommand::Kill(args)) => commands::kill::run(&args, &ui),
        Command::Session(SessionCommand::Logs(args)) => commands::logs::run(&args, &ui),
        Command::Session(SessionCommand::Attach(args)) => commands::logs::attach(&args, &ui),
        Command::Session(SessionCommand::Top(args)) => top::run(&args, &ui),
        Command::Session(SessionCommand::Show(args)) => commands::show::run(&args, &ui),
        Command::Session(SessionCommand::Peek(args)) => commands::peek::run(&args, &ui),
        Command::Session(SessionCommand::Stats(args)) => commands::stats::run(&args, &ui),
        Command::Session(SessionCommand::Delete(args)) => commands::delete::run(&args, &ui),
        Command::Session(SessionCommand::Clean(args)) => commands::clean::run(&args, &ui),
        Command::Run(args) => commands::run::run(&args, &ui),
        Command::Completions(args) => commands::completions::run(&args, &ui),
        Command::Man(args) => commands::man::run(&args, &ui),
        Command::Version(args) => commands::version::run(args.json, &ui),
        Command::Daemon(args) => daemon::run(&args),
    };
    finish(&ui, outcome)
}

fn finish(ui: &Ui, outcome: anyhow::Result<ExitCode>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(err) => {
            ui.error_line(&err);
            ExitCode::FAILURE
        }
    }
}
