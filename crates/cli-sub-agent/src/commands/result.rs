//! `csa session result <ID> [--json]`: the session's result, after reconciling
//! it if its process is dead.

use std::process::ExitCode;

use csa_session::json::TomlJson;
use csa_session::{Phase, Trigger};

use crate::cli::ResultArgs;
use crate::context::Context;
use crate::reconcile::Reconciled;
use crate::term::escape;
use crate::ui::{Ui, chain};

pub fn run(args: &ResultArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.session.project, ui)?;
    let loc = ctx.resolve(&args.session.id)?;
    // A session whose state cannot be read is not reconciled (that would
    // only warn about the same fault); its result, if any, is still shown.
    let reconciled = Reconciled::load(ui, &loc, Trigger::SessionResult);
    let liveness = reconciled
        .as_ref()
        .ok()
        .and_then(|r| r.report.liveness.as_ref());
    let loaded = match csa_session::load_result(&loc.dir) {
        Ok(loaded) => loaded,
        Err(err) if err.is_missing() => {
            let phase = reconciled.as_ref().map(|r| r.state.phase());
            let why = match (phase, liveness) {
                (Ok(Phase::Retired), _) => "it was retired without one".to_owned(),
                (Ok(phase), Some(liveness)) => format!(
                    "it is {} and its process is {} ({})",
                    phase.as_str(),
                    liveness.verdict.as_str(),
                    liveness.summary()
                ),
                (Ok(phase), None) => format!("it is {}", phase.as_str()),
                (Err(err), _) => format!("its state cannot be read: {}", chain(err)),
            };
            anyhow::bail!("session {} has no result yet: {why}", loc.id);
        }
        Err(err) => return Err(err.into()),
    };
    let table = loaded.value.table();
    if args.json {
        let value = TomlJson::Table(table);
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
    } else {
        ui.stdout(&render_text(table))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `key: value` lines; multi-line strings continue indented by two spaces.
/// Keys and each line of a value are escaped.
fn render_text(table: &toml::Table) -> String {
    let mut out = String::new();
    for (key, value) in table {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        out.push_str(&format!("{}: {}\n", escape(key), escape(first)));
        for line in lines {
            out.push_str(&format!("  {}\n", escape(line)));
        }
    }
    out
}
