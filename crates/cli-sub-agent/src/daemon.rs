//! The daemon process started by `csa run` (being written).

use std::process::ExitCode;

use crate::cli::DaemonArgs;

pub fn run(_args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the daemon is not available yet")
}
