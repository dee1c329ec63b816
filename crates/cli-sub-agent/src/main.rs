//! `csa`: the command-line entry point.
//!
//! Parses the command line (see `cli`), sets up logging, and hands each command to
//! its module under `commands`. Errors become one line on stderr and exit 1;
//! usage errors are clap's message, escaped, and exit 2.

mod cli;
mod commands;
mod context;
mod daemon;
mod duration;
mod json;
mod list_cache;
mod list_table;
mod output;
mod pool;
mod public_cli;
mod reconcile;
mod removal;
mod status;
mod term;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, ColorWhen, Command, SessionCommand};

fn main() -> ExitCode {
    // Test builds only: fault points named by CSA_FAULT (see csa_session::fault).
    csa_session::fault::enable_from_env();
    // Before parsing, so that clap's help and errors follow `--color` too.
    term::style::init(ColorWhen::from_args(std::env::args_os()).unwrap_or_default());
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return output::usage_error(err),
    };
    term::style::init(cli.color);
    term::log::init(cli.verbose);
    let outcome = match cli.command {
        Command::Session(SessionCommand::List(args)) => commands::list::run(&args),
        Command::Session(SessionCommand::Reconcile(args)) => commands::reconcile::run(&args),
        Command::Session(SessionCommand::Result(args)) => commands::result::run(&args),
        Command::Session(SessionCommand::IsAlive(args)) => commands::is_alive::run(&args),
        Command::Session(SessionCommand::Wait(args)) => commands::wait::run(&args),
        Command::Session(SessionCommand::Kill(args)) => commands::kill::run(&args),
        Command::Session(SessionCommand::Logs(args)) => commands::logs::run(&args),
        Command::Session(SessionCommand::Show(args)) => commands::show::run(&args),
        Command::Session(SessionCommand::Delete(args)) => commands::delete::run(&args),
        Command::Session(SessionCommand::Clean(args)) => commands::clean::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::Completions(args) => commands::completions::run(&args),
        Command::Man(args) => commands::man::run(&args),
        Command::Daemon(args) => daemon::run(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            output::error_line(&err);
            ExitCode::FAILURE
        }
    }
}
