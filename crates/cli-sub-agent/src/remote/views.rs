//! `show` and `result` against a host: its csa is asked for `--json`, the
//! answer is read back (`SessionDetail`, `csa_session::json::JsonTable`)
//! and drawn by the local views, with local colours and ages.

use std::process::ExitCode;

use chrono::Utc;
use csa_remote::{HostError, HostTarget};
use csa_session::SessionDetail;
use csa_session::json::JsonTable;
use serde::de::DeserializeOwned;

use super::{Hosts, exit_code, pass_on_errors};
use crate::commands::{result::render_text, show};
use crate::ui::Ui;

/// `csa session show` of one or `several` sessions on `target`.
pub fn show(
    hosts: &Hosts<'_>,
    target: &HostTarget,
    several: bool,
    ui: &Ui,
) -> anyhow::Result<ExitCode> {
    let answer = hosts.transport.ask(target, &hosts.json_words())?;
    if let Some(code) = pass_on_errors(&answer, ui) {
        return Ok(code);
    }
    let details: Vec<SessionDetail> = match several {
        true => read(target, &answer.stdout, "session details")?,
        false => vec![read(target, &answer.stdout, "a session detail")?],
    };
    let now = Utc::now();
    let texts: Vec<String> = details
        .iter()
        .map(|detail| show::text(detail, now, ui.stdout_palette()))
        .collect();
    ui.stdout(&texts.join("\n"))?;
    Ok(exit_code(answer.code))
}

/// `csa session result` of one or `several` sessions on `target`.
pub fn result(
    hosts: &Hosts<'_>,
    target: &HostTarget,
    several: bool,
    ui: &Ui,
) -> anyhow::Result<ExitCode> {
    let answer = hosts.transport.ask(target, &hosts.json_words())?;
    if let Some(code) = pass_on_errors(&answer, ui) {
        return Ok(code);
    }
    if !several {
        let JsonTable(table) = read(target, &answer.stdout, "a result")?;
        ui.stdout(&render_text(&table))?;
        return Ok(exit_code(answer.code));
    }
    let results: Vec<JsonTable> = read(target, &answer.stdout, "results")?;
    let blocks: Vec<String> = results
        .into_iter()
        .map(|JsonTable(mut table)| {
            let id = table.remove("session_id");
            let id = id.as_ref().and_then(toml::Value::as_str).unwrap_or("");
            format!(
                "session_id: {}\n{}",
                crate::term::escape(id),
                render_text(&table)
            )
        })
        .collect();
    ui.stdout(&blocks.join("\n"))?;
    Ok(exit_code(answer.code))
}

/// `json` read as `T`, or an error naming the host and `what` it sent.
fn read<T: DeserializeOwned>(
    target: &HostTarget,
    json: &[u8],
    what: &'static str,
) -> Result<T, HostError> {
    serde_json::from_slice(json).map_err(|err| HostError::Unreadable {
        host: target.as_typed().to_owned(),
        what,
        reason: err.to_string(),
    })
}
