//! `csa completions <shell>`: shell completions generated from the one clap
//! definition, without the hidden internal commands (see `public_cli`).

use std::process::ExitCode;

use crate::cli::CompletionsArgs;
use crate::public_cli::public_command;

pub fn run(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut public_command(), "csa", &mut buf);
    crate::output::stdout(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}
