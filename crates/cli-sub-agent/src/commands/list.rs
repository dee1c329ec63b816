//! `csa session list`: sessions newest first, reconciling each dead active
//! session on the way (unless `--no-reconcile`); with `--tree`, each under
//! its parent. Its flags are here, beside the command; which rows pass them
//! is `csa_session::RowFilter`'s to say.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use csa_process::ProbeContext;
use csa_session::genealogy::{Link, Member, Node, Tree};
use csa_session::list_cache::{Folders, ListCache};
use csa_session::listing::{Found, Reading, each_row};
use csa_session::reconcile::{CooldownMode, Reconciler};
use csa_session::{SessionRow, ShortIds, Trigger};

pub use crate::args::ListArgs;
use crate::context::Context;
use crate::list_table::{self, Keep, Layout, TableRow, TreeMark, TreeNote};
use crate::ui::{Ui, chain};
use csa_session::spool::{Span, Spool};

/// One listed row: what the table draws of it, and with `--json` where
/// its JSON was set aside.
struct Entry {
    row: TableRow,
    json: Option<Span>,
}

pub fn run(args: &ListArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let filter = args.filter(now);
    let ctx = Context::new(&args.project, ui)?;
    let scope = ctx.scope(args.all_projects)?;
    let scope_paths: Vec<_> = scope.iter().map(|d| d.path.clone()).collect();
    let mut unlisted = None;
    let found = Found::list(&scope, |err| {
        if args.all_projects {
            ui.warning(&format!("skipped: {}", chain(&err)));
        } else {
            unlisted.get_or_insert(err);
        }
    });
    if let Some(err) = unlisted {
        return Err(err.into());
    }
    let mut cache = ListCache::open(&scope_paths);
    let folders = Folders::open(&scope_paths);
    let probe = ProbeContext::new();
    let reconciler = Reconciler::new(&probe, Trigger::SessionList, false, CooldownMode::Batched);
    let reading = Reading {
        folders: &folders,
        reconciler: (!args.no_reconcile).then_some(&reconciler),
        probe: &probe,
        now,
    };
    let keep = Keep {
        cells: !args.json && !args.quiet,
        project: args.all_projects,
        parent: args.tree,
    };
    // Short ids are unique among every session of the scope, not only the
    // rows shown, so that each one stays a valid argument.
    let short_ids = ShortIds::new(found.ids());
    let spool = Spool::default();
    let style = match ui.facts().read_by_csa {
        true => JsonStyle::Compact,
        false => JsonStyle::Pretty,
    };
    let total = AtomicUsize::new(0);
    // Each row is made into what is printed of it as soon as it is read,
    // and dropped: a long list never holds its rows.
    let mut entries = each_row(
        &found,
        &mut cache,
        &reading,
        |loc, error| ui.warning(&format!("session {}: {}", loc.id, chain(error))),
        |row| {
            total.fetch_add(1, Ordering::Relaxed);
            if !filter.admits(&row) {
                return None;
            }
            let json = args
                .json
                .then(|| spool.push(&json_element(&row, style)))
                .flatten();
            Some(Entry {
                row: TableRow::of(&row, keep, &short_ids),
                json,
            })
        },
    );
    drop(found);
    if reading.reconciler.is_some() {
        reconciler.flush_cooldown()?;
    }
    cache.save();
    spool.check()?;
    let total = total.into_inner();
    entries.sort_unstable_by(|a, b| TableRow::newest_first(&a.row, &b.row));
    if let Some(limit) = args.limit {
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let rows: Vec<&TableRow> = entries.iter().map(|entry| &entry.row).collect();
    let placed: Vec<Placed<'_>> = if args.tree {
        in_tree_order(&rows)
    } else {
        rows.iter().map(|row| (*row, None)).collect()
    };
    if args.quiet {
        let mut ids = String::with_capacity(placed.len() * (csa_session::id::ULID_LEN + 1));
        for (row, _) in &placed {
            ids.push_str(row.session_id());
            ids.push('\n');
        }
        ui.stdout(&ids)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        let spans: Vec<Option<Span>> = entries.iter().map(|entry| entry.json).collect();
        print_json(ui, &spool, &placed, &spans, &rows)?;
    } else if placed.is_empty() {
        tracing::info!("no sessions");
        let project = ctx.project.project_dir().display().to_string();
        let message = list_table::empty_message(args, total, &project);
        ui.stderr(&format!("{message}\n"));
    } else {
        let lines = lines(&placed, &short_ids, args.all_projects);
        drop((placed, short_ids));
        let layout = Layout::for_stdout(ui, now, args.all_projects);
        list_table::table_parts(&lines, &layout, &mut |part| ui.stdout(&part))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A row to print, and its node when drawn as a tree.
pub(crate) type Placed<'r> = (&'r TableRow, Option<Node>);

/// The rows under their parents (one tree build: O(n log n)).
pub(crate) fn in_tree_order<'r>(rows: &[&'r TableRow]) -> Vec<Placed<'r>> {
    let members: Vec<Member<'_>> = rows.iter().map(|row| row.member()).collect();
    Tree::build(&members)
        .nodes()
        .iter()
        .map(|node| (rows[node.index], Some(*node)))
        .collect()
}

/// How much of the JSON array is gathered before it is handed on.
const JSON_PART: usize = 1 << 20;

/// How the JSON array is laid out: for a person, or for another csa
/// (compact, one row a line: a fifth fewer bytes to send and parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonStyle {
    Pretty,
    Compact,
}

/// A row as `serde_json` prints an element of the array, without the
/// comma: compact, or as in a pretty array (indented by two spaces).
fn json_element(row: &SessionRow<'_>, style: JsonStyle) -> String {
    let text = match style {
        JsonStyle::Compact => serde_json::to_string(row),
        JsonStyle::Pretty => serde_json::to_string_pretty(row),
    };
    let text = text.unwrap_or_else(|err| {
        // A row is strings, numbers and enums: it always serializes.
        serde_json::json!({ "session_id": row.session_id, "error": err.to_string() }).to_string()
    });
    if style == JsonStyle::Compact {
        return text;
    }
    let mut element = String::with_capacity(text.len() + text.len() / 8);
    for (n, line) in text.lines().enumerate() {
        if n > 0 {
            element.push('\n');
        }
        element.push_str("  ");
        element.push_str(line);
    }
    element
}

/// The JSON array of the placed rows, each as set aside in `spool` (its
/// span found by its place in `rows`), with `tree_depth` when drawn as a
/// tree, written out a part at a time.
fn print_json(
    ui: &Ui,
    spool: &Spool,
    placed: &[Placed<'_>],
    spans: &[Option<Span>],
    rows: &[&TableRow],
) -> anyhow::Result<()> {
    // Each row's span by its address: `placed` is in tree order.
    let span_of: std::collections::HashMap<*const TableRow, Span> = rows
        .iter()
        .zip(spans)
        .filter_map(|(row, span)| Some((std::ptr::from_ref(*row), (*span)?)))
        .collect();
    let mut out = json_text(
        placed,
        &mut |row, element| {
            let span = span_of
                .get(&std::ptr::from_ref(row))
                .ok_or_else(|| anyhow::anyhow!("a listed row has no JSON"))?;
            spool.read(*span, element)?;
            Ok(())
        },
        &mut |part| ui.stdout(part),
    )?;
    ui.stdout(&std::mem::take(&mut out))
}

/// The JSON array: each row's element (from `element`) with `tree_depth`
/// when drawn as a tree; every full part handed to `part`, the rest returned.
fn json_text(
    placed: &[Placed<'_>],
    element: &mut dyn FnMut(&TableRow, &mut Vec<u8>) -> anyhow::Result<()>,
    part: &mut dyn FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    if placed.is_empty() {
        return Ok("[]\n".to_owned());
    }
    let mut out = String::from("[\n");
    let mut text = Vec::new();
    for (i, (row, node)) in placed.iter().enumerate() {
        element(row, &mut text)?;
        let text = std::str::from_utf8(&text)?;
        match node {
            // A compact object ends with its brace: the depth goes before it.
            Some(node) if !text.contains('\n') => {
                out.push_str(text.strip_suffix('}').unwrap_or(text));
                out.push_str(&format!(",\"tree_depth\":{}}}", node.depth));
            }
            // A pretty object's last line is its brace.
            Some(node) => {
                let (fields, close) = text.rsplit_once('\n').unwrap_or((text, "  }"));
                out.push_str(fields);
                out.push_str(&format!(",\n    \"tree_depth\": {}\n", node.depth));
                out.push_str(close);
            }
            None => out.push_str(text),
        }
        out.push_str(if i + 1 < placed.len() { ",\n" } else { "\n" });
        if out.len() >= JSON_PART {
            part(&out)?;
            out.clear();
        }
    }
    out.push_str("]\n");
    Ok(out)
}

/// The table's lines: short ids, and with a tree its guides and notes.
pub(crate) fn lines<'r>(
    placed: &[Placed<'r>],
    short_ids: &ShortIds,
    all_projects: bool,
) -> Vec<list_table::Line<'r>> {
    let nodes: Vec<Node> = placed.iter().filter_map(|(_, node)| *node).collect();
    let mut guides = list_table::tree_guides(&nodes).into_iter();
    placed
        .iter()
        .map(|&(row, node)| list_table::Line {
            row,
            short_id: row.short_id(),
            tree: node.map(|node| {
                Box::new(TreeMark {
                    guides: guides.next().unwrap_or_default(),
                    note: note(row, node, short_ids, all_projects),
                })
            }),
        })
        .collect()
}

/// Why a session with a parent sits at the top level, if it does.
fn note<'r>(
    row: &'r TableRow,
    node: Node,
    short_ids: &ShortIds,
    all_projects: bool,
) -> Option<TreeNote<'r>> {
    let parent = row.parent()?;
    match node.link {
        Link::Cycle => Some(TreeNote::Cycle),
        Link::Orphan if short_ids.contains(parent) => {
            Some(TreeNote::FilteredOut(short_ids.of(parent)))
        }
        Link::Orphan if all_projects => Some(TreeNote::Gone(short_ids.outside(parent))),
        Link::Orphan => Some(TreeNote::NotInProject(short_ids.outside(parent))),
        Link::Root | Link::Child => None,
    }
}

#[cfg(test)]
mod tests {
    use csa_session::genealogy::{Link, Node};
    use csa_session::{LoadError, SessionDir, SessionId, SessionLocation};

    use super::*;

    fn location(id: &str) -> SessionLocation {
        SessionLocation {
            id: SessionId::parse(id).expect("an id"),
            dir: SessionDir::new(format!("/s/{id}")),
            legacy: false,
        }
    }

    #[test]
    fn the_json_array_is_written_in_parts_as_serde_prints_it_whole() {
        let locs = [
            location("01KAZ9X3M2QAAAAAAAAAAAAAAA"),
            location("01KAZ9W1B7EBBBBBBBBBBBBBBB"),
        ];
        let missing = LoadError::Missing {
            path: "/s/x\n\"y\"".into(),
        };
        let rows: Vec<SessionRow<'_>> = locs
            .iter()
            .map(|loc| SessionRow::broken(loc, &missing))
            .collect();
        let tables: Vec<TableRow> = rows
            .iter()
            .map(|row| TableRow::of(row, Keep::default(), &ShortIds::default()))
            .collect();
        let whole_in = |placed: &[Placed<'_>], style| {
            let mut parts = String::new();
            let rest = json_text(
                placed,
                &mut |table, out| {
                    let row = rows
                        .iter()
                        .find(|row| row.session_id == table.session_id())
                        .expect("the row");
                    out.clear();
                    out.extend_from_slice(json_element(row, style).as_bytes());
                    Ok(())
                },
                &mut |part| {
                    parts.push_str(part);
                    Ok(())
                },
            )
            .expect("rows serialize");
            parts + &rest
        };
        let whole = |placed: &[Placed<'_>]| whole_in(placed, JsonStyle::Pretty);
        let flat: Vec<Placed<'_>> = tables.iter().map(|row| (row, None)).collect();
        let expected = serde_json::to_string_pretty(&rows).expect("rows serialize") + "\n";
        assert_eq!(whole(&flat), expected);
        assert_eq!(whole(&[]), "[]\n");
        // With a tree, each object ends with its depth, as serde prints a
        // row flattened beside it.
        #[derive(serde::Serialize)]
        struct TreeRow<'r> {
            #[serde(flatten)]
            row: &'r SessionRow<'r>,
            tree_depth: usize,
        }
        let node = |depth| Node {
            index: 0,
            depth,
            link: Link::Child,
            last: true,
        };
        let tree: Vec<Placed<'_>> = tables
            .iter()
            .zip([0, 1])
            .map(|(row, depth)| (row, Some(node(depth))))
            .collect();
        let expected: Vec<TreeRow<'_>> = rows
            .iter()
            .zip([0, 1])
            .map(|(row, tree_depth)| TreeRow { row, tree_depth })
            .collect();
        let expected_tree = serde_json::to_string_pretty(&expected).expect("rows serialize") + "\n";
        assert_eq!(whole(&tree), expected_tree);
        // For another csa: the same values, one element a line, as serde
        // prints each compact.
        let compact = whole_in(&tree, JsonStyle::Compact);
        let lines: Vec<&str> = compact.lines().collect();
        assert_eq!(lines.len(), tree.len() + 2, "{compact}");
        for (line, row) in lines[1..].iter().zip(&expected) {
            let element = serde_json::to_string(row).expect("a row serializes");
            assert_eq!(line.trim_end_matches(','), element);
        }
        let flat_compact = whole_in(&flat, JsonStyle::Compact);
        let parsed: serde_json::Value = serde_json::from_str(&flat_compact).expect("JSON");
        let pretty: serde_json::Value = serde_json::from_str(&whole(&flat)).expect("JSON");
        assert_eq!(parsed, pretty);
    }
}
