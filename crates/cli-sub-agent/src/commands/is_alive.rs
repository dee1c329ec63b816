//! `csa` command module (being written).

use std::process::ExitCode;

use crate::cli::IdArgs;

pub fn run(_args: &IdArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not available yet")
}
