//! `csa completions <shell>`: shell completions generated from the one clap
//! definition, without the hidden internal commands (see `public_cli`).
//!
//! The script is static: it completes commands and flags. Session ids come
//! from the dynamic completions (`crate::complete`), which the script's first
//! line says how to register instead.

use std::process::ExitCode;

use clap_complete::Shell;

use crate::cli::CompletionsArgs;
use crate::complete::COMPLETE_VAR;
use crate::public_cli::public_command;
use crate::ui::Ui;

pub fn run(args: &CompletionsArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut public_command(), "csa", &mut buf);
    ui.stdout(&format!(
        "# Static completions (commands and flags). To complete session ids too, use instead: {}\n",
        dynamic_registration(args.shell)
    ))?;
    ui.stdout(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}

/// The shell line that registers the dynamic completions.
fn dynamic_registration(shell: Shell) -> String {
    let var = COMPLETE_VAR;
    match shell {
        Shell::Fish => format!("{var}=fish csa | source"),
        Shell::Elvish => format!("eval (E:{var}=elvish csa | slurp)"),
        Shell::PowerShell => format!(
            "$env:{var} = \"powershell\"; csa | Out-String | Invoke-Expression; Remove-Item Env:\\{var}"
        ),
        Shell::Zsh => format!("source <({var}=zsh csa)"),
        _ => format!("source <({var}=bash csa)"),
    }
}
