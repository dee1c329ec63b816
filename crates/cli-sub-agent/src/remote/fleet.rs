//! `csa session list` and `top` with `--host A [--host B ...]`: each host's csa is asked for
//! `--json` at once (`csa_remote::ask_each`), its rows are read back
//! (`SessionRow::list_from_json`) and drawn here by the same table as local
//! rows; with several hosts a HOST column (the target as typed) comes
//! first and the rows of all hosts are merged, newest first. A host that
//! fails is one warning line naming it and why; the others are shown, and
//! the exit code is 1.

use std::process::ExitCode;

use csa_remote::{Answer, HostError, HostTarget, ask_each};
use csa_session::genealogy::Node;
use csa_session::{SessionRow, ShortIds};

use chrono::Utc;

use super::Hosts;
use crate::commands::list::{ListArgs, Placed, in_tree_order, lines};
use crate::list_table::{self, DescriptionWidth, Keep, Layout, TableRow};
use crate::term;
use crate::top::TopArgs;
use crate::top::rows::{FleetJson, TopRow, Totals};
use crate::top::table::snapshot;
use crate::ui::Ui;

/// The column's header, and the spaces after it (as between the table's columns).
const HOST: &str = "HOST";
const GAP: usize = 2;

pub fn list(hosts: &Hosts<'_>, args: &ListArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    // Each host's answer text, kept: its rows borrow from it.
    let (texts, mut failed) = ask_all(hosts, ui);
    let mut rows: Vec<(&str, SessionRow<'_>)> = Vec::new();
    let mut read = Vec::with_capacity(texts.len());
    for (target, text) in &texts {
        match SessionRow::list_from_json(text) {
            Ok(host_rows) => {
                rows.extend(host_rows.into_iter().map(|row| (target.as_typed(), row)));
                read.push(*target);
            }
            Err(err) => {
                ui.warning(&unreadable(target, "session rows", err.to_string()).to_string());
                failed = true;
            }
        }
    }
    let code = if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    let several = hosts.targets.len() > 1;
    if several {
        // One host's rows keep the order it sent; several are merged newest first.
        rows.sort_by(|(_, a), (_, b)| {
            b.sort_key
                .cmp(&a.sort_key)
                .then_with(|| b.session_id.cmp(a.session_id))
        });
    }
    let keep = Keep {
        cells: true,
        project: args.all_projects,
        parent: args.tree,
    };
    let short_ids = ShortIds::new(rows.iter().map(|(_, row)| row.session_id));
    let tables: Vec<TableRow> = rows
        .iter()
        .map(|(_, row)| TableRow::of(row, keep, &short_ids))
        .collect();
    let by_ref: Vec<&TableRow> = tables.iter().collect();
    // Each shown row's index in `rows`, and its node with a tree.
    let order: Vec<(usize, Option<Node>)> = if args.tree {
        in_tree_order(&by_ref)
            .into_iter()
            .filter_map(|(_, node)| Some((node?.index, node)))
            .collect()
    } else {
        (0..rows.len()).map(|i| (i, None)).collect()
    };
    if args.json {
        let shown: Vec<Shown<'_>> = order
            .iter()
            .map(|&(i, node)| (&rows[i].1, node, several.then_some(rows[i].0)))
            .collect();
        ui.stdout(&format!("{}\n", json(&shown)?))?;
        return Ok(code);
    }
    if args.quiet {
        let ids: String = order
            .iter()
            .map(|&(i, _)| format!("{}\n", rows[i].1.session_id))
            .collect();
        ui.stdout(&ids)?;
        return Ok(code);
    }
    if order.is_empty() {
        if !read.is_empty() {
            let names: Vec<&str> = read.iter().map(|t| t.as_typed()).collect();
            ui.stderr(&format!("no sessions on {}\n", names.join(", ")));
        }
        return Ok(code);
    }
    let placed: Vec<Placed<'_>> = order.iter().map(|&(i, node)| (&tables[i], node)).collect();
    let lines = lines(&placed, &short_ids, args.all_projects);
    let mut layout = Layout::for_stdout(ui, chrono::Utc::now(), args.all_projects);
    if !several {
        ui.stdout(&list_table::table(&lines, &layout))?;
        return Ok(code);
    }
    let names: Vec<&str> = order.iter().map(|&(i, _)| rows[i].0).collect();
    let width = column_width(&names);
    if let DescriptionWidth::Terminal(columns) = layout.description {
        layout.description = DescriptionWidth::Terminal(columns.saturating_sub(width + GAP));
    }
    let table = list_table::table(&lines, &layout);
    ui.stdout(&with_host_column(&table, &names, width))?;
    Ok(code)
}

/// `csa session top` of every host, one snapshot (as `--once`): each
/// host's `top --json` rows drawn by the local snapshot table, with a HOST
/// column when there are several hosts. On a terminal too: the live view
/// is of this machine's sessions only.
pub fn top(hosts: &Hosts<'_>, args: &TopArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let (texts, mut failed) = ask_all(hosts, ui);
    let mut rows: Vec<(&str, FleetJson)> = Vec::new();
    for (target, text) in &texts {
        match serde_json::from_str::<Vec<FleetJson>>(text) {
            Ok(host_rows) => rows.extend(host_rows.into_iter().map(|row| (target.as_typed(), row))),
            Err(err) => {
                ui.warning(&unreadable(target, "top rows", err.to_string()).to_string());
                failed = true;
            }
        }
    }
    let code = if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    let several = hosts.targets.len() > 1;
    if args.json {
        #[derive(serde::Serialize)]
        struct Row<'r> {
            #[serde(skip_serializing_if = "Option::is_none")]
            host: Option<&'r str>,
            #[serde(flatten)]
            row: &'r FleetJson,
        }
        let rows: Vec<Row<'_>> = rows
            .iter()
            .map(|(host, row)| Row {
                host: several.then_some(*host),
                row,
            })
            .collect();
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
        return Ok(code);
    }
    let now = Utc::now();
    let mut drawn: Vec<(&str, TopRow)> = rows
        .iter()
        .filter_map(|(host, json)| Some((*host, TopRow::from_json(json, now)?)))
        .collect();
    // Each host sent active sessions first; so are they all together.
    drawn.sort_by_key(|(_, row)| !row.is_active());
    let totals = Totals::of(drawn.iter().map(|(_, row)| row));
    let placed: Vec<(&TopRow, usize)> = drawn.iter().map(|(_, row)| (row, 0)).collect();
    let names: Vec<&str> = texts.iter().map(|(t, _)| t.as_typed()).collect();
    let scope = names.join(", ");
    let width = ui.facts().stdout_width;
    if !several {
        ui.stdout(&snapshot(&placed, &totals, &scope, width, now))?;
        return Ok(code);
    }
    let hosts_of: Vec<&str> = drawn.iter().map(|(host, _)| *host).collect();
    let host_width = column_width(&hosts_of);
    let table = snapshot(
        &placed,
        &totals,
        &scope,
        width.map(|w| w.saturating_sub(host_width + GAP)),
        now,
    );
    // The snapshot's first line is its header of counts, above the columns.
    let (header, rest) = table.split_once('\n').unwrap_or((&table, ""));
    ui.stdout(&format!(
        "{header}\n{}",
        with_host_column(rest, &hosts_of, host_width)
    ))?;
    Ok(code)
}

/// Ask every host for the command's `--json` at once: the answer text of
/// each host that gave one; whether one failed (a warning line each).
fn ask_all<'t>(hosts: &Hosts<'t>, ui: &Ui) -> (Vec<(&'t HostTarget, String)>, bool) {
    let answers = ask_each(hosts.transport, hosts.targets, &hosts.json_words());
    let mut failed = false;
    let mut texts = Vec::with_capacity(answers.len());
    for (target, answer) in hosts.targets.iter().zip(answers) {
        match answered(target, answer) {
            Ok(text) => texts.push((target, text)),
            Err(err) => {
                ui.warning(&err.to_string());
                failed = true;
            }
        }
    }
    (texts, failed)
}

/// What `what` from `target` could not be read.
fn unreadable(target: &HostTarget, what: &'static str, reason: String) -> HostError {
    HostError::Unreadable {
        host: target.as_typed().to_owned(),
        what,
        reason,
    }
}

/// The HOST column's width: its widest (escaped) name, or its header.
fn column_width(hosts: &[&str]) -> usize {
    hosts
        .iter()
        .map(|h| term::width::display_width(&term::escape(h)))
        .chain([HOST.len()])
        .max()
        .unwrap_or(HOST.len())
}

/// The JSON text of a host's answer, or why there is none.
fn answered(target: &HostTarget, answer: Result<Answer, HostError>) -> Result<String, HostError> {
    let answer = answer?;
    if answer.code != Some(0) {
        return Err(HostError::Unreadable {
            host: target.as_typed().to_owned(),
            what: "an error",
            reason: answer.last_said().unwrap_or("no reason given").to_owned(),
        });
    }
    String::from_utf8(answer.stdout).map_err(|_| HostError::Unreadable {
        host: target.as_typed().to_owned(),
        what: "session rows",
        reason: "not UTF-8".to_owned(),
    })
}

/// A row shown: its node with a tree, and its host when there are several.
type Shown<'r> = (&'r SessionRow<'r>, Option<Node>, Option<&'r str>);

/// The JSON array: the rows (each with `"host"` when it has one, and
/// `tree_depth` when drawn as a tree).
fn json(shown: &[Shown<'_>]) -> serde_json::Result<String> {
    #[derive(serde::Serialize)]
    struct Row<'r> {
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<&'r str>,
        #[serde(flatten)]
        row: &'r SessionRow<'r>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tree_depth: Option<usize>,
    }
    let rows: Vec<Row<'_>> = shown
        .iter()
        .map(|&(row, node, host)| Row {
            host,
            row,
            tree_depth: node.map(|n| n.depth),
        })
        .collect();
    serde_json::to_string_pretty(&rows)
}

/// `table` (a header line, then one line per row, as `list_table::table`
/// draws them) with each line led by its host, padded to `width`.
fn with_host_column(table: &str, hosts: &[&str], width: usize) -> String {
    let mut out = String::with_capacity(table.len() + (hosts.len() + 1) * (width + GAP));
    let names = std::iter::once(HOST).chain(hosts.iter().copied());
    for (host, line) in names.zip(table.lines()) {
        let host = term::escape(host);
        out.push_str(&host);
        let pad = width.saturating_sub(term::width::display_width(&host)) + GAP;
        out.extend(std::iter::repeat_n(' ', pad));
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_column_leads_every_line_aligned() {
        let table = "SESSION  STATUS\n01AAAAAA  Active\n01BBBBBB  Failed\n";
        let drawn = with_host_column(table, &["alpha", "ssh://b\x1b"], 11);
        assert_eq!(
            drawn,
            "HOST         SESSION  STATUS\n\
             alpha        01AAAAAA  Active\n\
             ssh://b\\x1b  01BBBBBB  Failed\n"
        );
    }
}
