//! `csa` command module (being written).

use std::process::ExitCode;

use crate::cli::KillArgs;

pub fn run(_args: &KillArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not available yet")
}
