//! The flags of commands on other machines (`--host`, `--remote-csa`) and
//! of `csa version`, flattened into `crate::cli`'s one definition.

use clap::Args;

/// `--host` and `--remote-csa` (global).
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Run the command on another machine over ssh: `ssh://[user@]host[:port]` or an ssh alias.
    #[arg(long = "host", global = true, value_name = "TARGET", env = "CSA_HOST")]
    pub hosts: Vec<String>,
    /// The csa binary on the other host (`--host`): a path, or a name on its PATH.
    #[arg(long, global = true, value_name = "PATH", env = "CSA_REMOTE_CSA")]
    pub remote_csa: Option<String>,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print `{"version": ..., "protocol": ...}`.
    #[arg(long)]
    pub json: bool,
}
