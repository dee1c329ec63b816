//! `csa` command module (being written).

use std::process::ExitCode;

use crate::cli::ResultArgs;

pub fn run(_args: &ResultArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not available yet")
}
