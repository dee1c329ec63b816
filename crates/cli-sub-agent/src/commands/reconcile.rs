//! `csa` command module (being written).

use std::process::ExitCode;

use crate::cli::ReconcileArgs;

pub fn run(_args: &ReconcileArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not available yet")
}
