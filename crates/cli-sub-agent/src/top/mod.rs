//! `csa session top [--all-projects] [--interval SECS] [--once] [--json]`
//! (contract §9.1): every session of the project (or of every project) at
//! a glance, live on a terminal ([`live`]), or one snapshot as a table or
//! JSON rows ([`table`]). The rows come from [`rows::Fleet`].

pub mod live;
pub mod rows;
pub mod screen;
pub mod table;

use std::io::IsTerminal;
use std::process::ExitCode;

use chrono::Utc;

use self::rows::{Fleet, FleetJson, Totals};
use crate::args::ProjectArgs;
use crate::context::Context;
use crate::ui::Ui;

/// `csa session top`'s flags (part of the one clap definition in `crate::cli`).
#[derive(Debug, clap::Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The sessions of every project under the state root.
    #[arg(long)]
    pub all_projects: bool,
    /// Seconds between two samples of CPU and memory (at least 0.1).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = crate::duration::parse_interval)]
    pub interval: std::time::Duration,
    /// Print one snapshot as a table and exit (what a stdout that is not a
    /// terminal gets anyway).
    #[arg(long)]
    pub once: bool,
    /// Print one snapshot as a JSON array of rows and exit (implies --once).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &TopArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let dirs = ctx.scope(args.all_projects)?;
    let scope = if args.all_projects {
        "all projects".to_owned()
    } else {
        ctx.project.project_dir().display().to_string()
    };
    let mut fleet = Fleet::new(dirs);
    let live = !args.once
        && !args.json
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal();
    if live {
        return live::run(fleet, scope, args.interval);
    }
    fleet.refresh();
    fleet.reconcile();
    fleet.sample();
    // CPU% is a share over an interval: a second sample, one interval on.
    if fleet.ordered().iter().any(|row| row.is_active()) {
        std::thread::sleep(args.interval);
        fleet.sample();
    }
    let now = Utc::now();
    let rows = fleet.ordered();
    if args.json {
        let json: Vec<FleetJson> = rows.iter().map(|row| FleetJson::of(row, now)).collect();
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let totals = Totals::of(rows.iter().copied());
    let placed: Vec<_> = rows.into_iter().map(|row| (row, 0)).collect();
    let width = ui.facts().stdout_width;
    ui.stdout(&table::snapshot(&placed, &totals, &scope, width, now))?;
    Ok(ExitCode::SUCCESS)
}
