//! `csa completions <shell>`: shell completions generated from the one clap
//! definition, without the hidden internal commands (see `public_cli`).

use std::process::ExitCode;

use crate::cli::CompletionsArgs;
use crate::public_cli::public_command;
use crate::ui::Ui;

pub fn run(args: &CompletionsArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut public_command(), "csa", &mut buf);
    ui.stdout(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}
