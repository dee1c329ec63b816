//! One module per `csa` command; each exposes `run(&Args, &Ui) -> anyhow::Result<ExitCode>`
//! and writes only through the `Ui` (`crate::ui`).

pub mod clean;
pub mod completions;
pub mod delete;
pub mod is_alive;
pub mod kill;
pub mod list;
pub mod logs;
pub mod man;
pub mod peek;
pub mod reconcile;
pub mod result;
pub mod run;
pub mod show;
pub mod stats;
pub mod version;
pub mod wait;
