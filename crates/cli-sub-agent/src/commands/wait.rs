//! `csa` command module (being written).

use std::process::ExitCode;

use crate::cli::WaitArgs;

pub fn run(_args: &WaitArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not available yet")
}
