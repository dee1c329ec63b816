//! `csa session result <ID>... | --all [--json]`: sessions' results, each after
//! reconciling it if its process is dead.

use std::process::ExitCode;

use csa_session::json::TomlJson;
use csa_session::{Phase, SessionLocation, Trigger};

use crate::cli::ResultArgs;
use crate::context::Context;
use crate::reconcile::Reconciled;
use crate::term::escape;
use crate::ui::{Ui, chain};

pub fn run(args: &ResultArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.sessions.project, ui)?;
    let sessions = ctx.select(&args.sessions, |_| true)?;
    if !args.sessions.several() {
        let loc = &sessions[0];
        let table = match result_of(ui, loc)? {
            Found::Result(table) => table,
            Found::NoneYet(why) => anyhow::bail!("session {} has no result yet: {why}", loc.id),
        };
        if args.json {
            let value = TomlJson::Table(&table);
            ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
        } else {
            ui.stdout(&render_text(&table))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Several: every result there is; a named session without one is an
    // error line (exit 1), while --all passes over those still running.
    let mut found = Vec::with_capacity(sessions.len());
    let mut failed = false;
    for loc in &sessions {
        match result_of(ui, loc) {
            Ok(Found::Result(table)) => found.push((loc, table)),
            Ok(Found::NoneYet(_)) if args.sessions.all => {}
            Ok(Found::NoneYet(why)) => {
                ui.error_line(&anyhow::anyhow!(
                    "session {} has no result yet: {why}",
                    loc.id
                ));
                failed = true;
            }
            Err(err) => {
                ui.error_line(&err.context(format!("session {}", loc.id)));
                failed = true;
            }
        }
    }
    if args.json {
        let mut values = Vec::with_capacity(found.len());
        for (loc, table) in &found {
            let mut object = serde_json::Map::new();
            object.insert("session_id".into(), loc.id.as_str().into());
            if let serde_json::Value::Object(fields) = serde_json::to_value(TomlJson::Table(table))?
            {
                object.extend(fields);
            }
            values.push(serde_json::Value::Object(object));
        }
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&values)?))?;
    } else {
        let blocks: Vec<String> = found
            .iter()
            .map(|(loc, table)| format!("session_id: {}\n{}", loc.id, render_text(table)))
            .collect();
        ui.stdout(&blocks.join("\n"))?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A session's result, or why it has none yet.
enum Found {
    Result(toml::Table),
    NoneYet(String),
}

/// The result of one session, after reconciling it if its process is dead.
fn result_of(ui: &Ui, loc: &SessionLocation) -> anyhow::Result<Found> {
    // A session whose state cannot be read is not reconciled (that would
    // only warn about the same fault); its result, if any, is still shown.
    let reconciled = Reconciled::load(ui, loc, Trigger::SessionResult);
    let liveness = reconciled
        .as_ref()
        .ok()
        .and_then(|r| r.report.liveness.as_ref());
    match csa_session::load_result(&loc.dir) {
        Ok(loaded) => Ok(Found::Result(loaded.value.table().clone())),
        Err(err) if err.is_missing() => {
            let phase = reconciled.as_ref().map(|r| r.state.phase());
            Ok(Found::NoneYet(match (phase, liveness) {
                (Ok(Phase::Retired), _) => "it was retired without one".to_owned(),
                (Ok(phase), Some(liveness)) => format!(
                    "it is {} and its process is {} ({})",
                    phase.as_str(),
                    liveness.verdict.as_str(),
                    liveness.summary()
                ),
                (Ok(phase), None) => format!("it is {}", phase.as_str()),
                (Err(err), _) => format!("its state cannot be read: {}", chain(err)),
            }))
        }
        Err(err) => Err(err.into()),
    }
}

/// `key: value` lines; multi-line strings continue indented by two spaces.
/// Keys and each line of a value are escaped.
pub(crate) fn render_text(table: &toml::Table) -> String {
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

#[cfg(test)]
mod tests {
    use snapbox::{assert_data_eq, str};

    use super::*;

    #[test]
    fn a_result_is_key_value_lines_with_long_text_indented_and_escaped() {
        let table: toml::Table = toml::from_str(
            r#"
status = "failure"
exit_code = 3
summary = "fatal: worker 4 crashed\nsecond line \u001b[2J"
tool = "demo"

[total_token_usage]
input = 10
"#,
        )
        .unwrap();
        // snapbox reads `\` as a path separator: the escape is checked as is.
        assert!(render_text(&table).contains("  second line \\x1b[2J\n"));
        assert_data_eq!(
            render_text(&table),
            str![[r#"
status: failure
exit_code: 3
summary: fatal: worker 4 crashed
  second line /x1b[2J
tool: demo
total_token_usage: { input = 10 }

"#]]
        );
    }
}
