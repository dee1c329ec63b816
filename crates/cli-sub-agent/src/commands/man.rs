//! `csa man [COMMAND]...`: the manual page of csa, or of one of its commands,
//! generated from the one clap definition (without hidden commands) and
//! printed as roff.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::ManArgs;
use crate::public_cli::public_command;
use crate::ui::Ui;

pub fn run(args: &ManArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    // `help` is not a page of its own: every page lists the commands under it.
    let mut cmd = public_command().disable_help_subcommand(true);
    cmd.build();
    let mut path = vec!["csa"];
    for name in &args.command {
        let sub = cmd
            .get_subcommands()
            .find(|sub| sub.get_name() == name.as_str())
            .cloned()
            .with_context(|| {
                format!(
                    "there is no command `{} {}`; `{} --help` lists the commands",
                    path.join(" "),
                    name,
                    path.join(" "),
                )
            })?;
        path.push(name);
        cmd = sub;
    }
    let version = cmd.get_version().unwrap_or_default().to_owned();
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd)
        .source(format!("csa {version}"))
        .manual("csa manual")
        .render(&mut roff)
        .context("cannot render the manual page")?;
    ui.stdout(&String::from_utf8_lossy(&roff))?;
    Ok(ExitCode::SUCCESS)
}
