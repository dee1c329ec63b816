//! `csa` command module (being written).

use std::process::ExitCode;

use crate::cli::RunArgs;

pub fn run(_args: &RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not available yet")
}
