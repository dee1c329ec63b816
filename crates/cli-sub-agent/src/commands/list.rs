//! `csa` command module (being written).

use std::process::ExitCode;

use crate::cli::ListArgs;

pub fn run(_args: &ListArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not available yet")
}
