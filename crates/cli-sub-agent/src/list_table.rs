//! The text output of `csa session list`: the table, and what an empty list says.
//!
//! Columns (contract §9.3): SESSION, STARTED, ELAPSED, STATUS, OUTCOME,
//! DESCRIPTION, TOOLS, BRANCH, and PROJECT with `--all-projects`. Every cell
//! is escaped (`crate::term::escape`); columns are aligned by display width
//! (CJK and emoji take two columns); DESCRIPTION is cut with `…` to fit the
//! terminal when stdout is one, else to 40 columns; STARTED is a relative
//! age ("3 min ago"), ELAPSED a duration ("3 min 05 s"); OUTCOME is blank
//! while a session is active; STATUS is coloured when stdout is. The table
//! is built for 10,000 rows: a clean ASCII cell is borrowed and measured by
//! its length.
//!
//! `SESSION` is each id's short id (its shortest unique prefix in the listed
//! scope, [`csa_session::ShortIds`]). With `--tree`, it is drawn after tree
//! guides (`├─ `, `└─ `, `│  `), and a session with a parent that sits at the
//! top level says why at the start of its DESCRIPTION (see [`TreeNote`]).

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::args::ListArgs;
pub use crate::list_tree::{TreeMark, TreeNote, tree_guides};
use crate::pool::{self, Work};
pub use crate::table_row::{Keep, TableRow};
use crate::term::time::RelativeAge;
use crate::term::{self, Palette};
use crate::ui::Ui;

/// DESCRIPTION's width when stdout is not a terminal.
pub const DESCRIPTION_WIDTH: usize = 40;
/// DESCRIPTION's narrowest width on a terminal, however little room is left.
const MIN_DESCRIPTION_WIDTH: usize = 11;
/// Spaces between two columns.
const GAP: usize = 2;
const HEADER: [&str; COLUMNS] = [
    "SESSION",
    "STARTED",
    "ELAPSED",
    "STATUS",
    "OUTCOME",
    "DESCRIPTION",
    "TOOLS",
    "BRANCH",
    "PROJECT",
];
/// Every column, PROJECT (the last) included.
const COLUMNS: usize = 9;
const STATUS: usize = 3;
const DESCRIPTION: usize = 5;

/// How wide DESCRIPTION may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptionWidth {
    /// At most this many columns.
    Fixed(usize),
    /// Whatever the other columns leave of a terminal this wide.
    Terminal(usize),
}

/// How the table is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub description: DescriptionWidth,
    pub palette: Palette,
    /// Ages are relative to this instant.
    pub now: DateTime<Utc>,
    /// Whether the PROJECT column is drawn (`--all-projects`).
    pub project: bool,
}

impl Layout {
    /// The layout for `ui`'s stdout: its terminal's width and colours, if
    /// it is a terminal; ages at `now`; PROJECT when `project`.
    pub fn for_stdout(ui: &Ui, now: DateTime<Utc>, project: bool) -> Layout {
        Layout {
            description: match ui.facts().stdout_width {
                Some(columns) => DescriptionWidth::Terminal(columns),
                None => DescriptionWidth::Fixed(DESCRIPTION_WIDTH),
            },
            palette: ui.stdout_palette(),
            now,
            project,
        }
    }

    /// How many columns are drawn.
    fn columns(&self) -> usize {
        if self.project { COLUMNS } else { COLUMNS - 1 }
    }
}

/// One line of the table.
#[derive(Debug)]
pub struct Line<'r> {
    pub row: &'r TableRow,
    /// What SESSION shows: the id's shortest unique prefix.
    pub short_id: &'r str,
    /// Where the row sits, with `--tree` (boxed: a list of 100,000 lines
    /// without a tree holds no room for one).
    pub tree: Option<Box<TreeMark<'r>>>,
}

/// One cell: its escaped text and how many columns that takes.
struct Cell<'r> {
    text: Cow<'r, str>,
    width: usize,
}

impl<'r> Cell<'r> {
    fn new(text: Cow<'r, str>) -> Cell<'r> {
        let width = term::display_width(&text);
        Cell { text, width }
    }
}

/// Rows below which a share of the table is not worth a thread of its own;
/// also the most lines drawn by one thread before they are written out.
const ROWS_PER_THREAD: usize = 2_000;

/// The table: a header line, then one line per row, each ending in `\n`.
///
/// A long table is drawn in consecutive shares, one per core (escaping and
/// measuring cells, then writing lines): `list` has waited for every row,
/// so the other cores are idle by now.
pub fn table(lines: &[Line<'_>], layout: &Layout) -> String {
    let mut table = String::new();
    let written: anyhow::Result<()> = table_parts(lines, layout, &mut |part| {
        table.push_str(&part);
        Ok(())
    });
    written.map_or_else(|_| unreachable!("gathering parts cannot fail"), |()| table)
}

/// [`table`] handed to `write` in consecutive parts (the header, then each
/// share's lines), so that a long table is written out as it is drawn and
/// never held whole.
///
/// The cells are made twice, once to measure the columns and once to draw
/// them, and never held for every line at once (300 bytes a line).
pub fn table_parts(
    lines: &[Line<'_>],
    layout: &Layout,
    write: &mut dyn FnMut(String) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let ages = Ages::of(lines, layout.now);
    let threads = pool::worker_count(Work::Cpu, lines.len() / ROWS_PER_THREAD);
    let share_len = lines.len().div_ceil(threads).clamp(1, ROWS_PER_THREAD);
    let shares: Vec<(usize, &[Line<'_>])> = lines
        .chunks(share_len)
        .enumerate()
        .map(|(i, share)| (i * share_len, share))
        .collect();
    // Each share's widest cells, and each line's DESCRIPTION width (an
    // error's is not counted: it overflows its own line only).
    let measured: Vec<([usize; COLUMNS], Vec<u32>)> =
        pool::map(Work::Cpu, shares.clone(), |(first, share)| {
            let mut widths = [0; COLUMNS];
            let mut descriptions = Vec::with_capacity(share.len());
            for (i, line) in share.iter().enumerate() {
                let cells = cells(line, ages.of_row(first + i));
                for (max, cell) in widths.iter_mut().zip(&cells) {
                    *max = (*max).max(cell.width);
                }
                let width = if line.row.error {
                    0
                } else {
                    cells[DESCRIPTION].width
                };
                descriptions.push(u32::try_from(width).unwrap_or(u32::MAX));
            }
            (widths, descriptions)
        });
    let shown = layout.columns();
    let mut widths = HEADER.map(str::len);
    for (share, _) in &measured {
        for (column, (max, width)) in widths.iter_mut().zip(share).enumerate() {
            if column != DESCRIPTION {
                *max = (*max).max(*width);
            }
        }
    }
    let description_width = match layout.description {
        DescriptionWidth::Fixed(width) => width,
        DescriptionWidth::Terminal(columns) => {
            let others: usize = widths[..shown]
                .iter()
                .enumerate()
                .filter(|&(column, _)| column != DESCRIPTION)
                .map(|(_, width)| width + GAP)
                .sum();
            columns.saturating_sub(others).max(MIN_DESCRIPTION_WIDTH)
        }
    };
    for (line, width) in lines.iter().zip(measured.iter().flat_map(|(_, d)| d)) {
        let mut width = *width as usize;
        if width > description_width {
            width = term::display_width(&term::escape_to_width(
                &description(line),
                description_width,
            ));
        }
        widths[DESCRIPTION] = widths[DESCRIPTION].max(width);
    }
    drop(measured);
    let line_width: usize = widths[..shown].iter().sum::<usize>() + GAP * (shown - 1);
    let draw = |out: &mut String, cells: [(&str, usize); COLUMNS], style: anstyle::Style| {
        for (column, (text, width)) in cells.into_iter().take(shown).enumerate() {
            if column == STATUS {
                layout.palette.push(out, style, text);
            } else {
                out.push_str(text);
            }
            if column + 1 < shown {
                let pad = widths[column].saturating_sub(width) + GAP;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    let draw_share = |(first, share): (usize, &[Line<'_>])| {
        let mut out = String::with_capacity(share.len() * (line_width + 16));
        for (i, line) in share.iter().enumerate() {
            let mut cells = cells(line, ages.of_row(first + i));
            let description = &mut cells[DESCRIPTION];
            if !line.row.error && description.width > description_width {
                let text = self::description(line);
                let cut = term::escape_to_width(&text, description_width).into_owned();
                *description = Cell::new(Cow::Owned(cut));
            }
            let cells = cells
                .each_ref()
                .map(|cell| (cell.text.as_ref(), cell.width));
            draw(&mut out, cells, term::status_style(line.row.status));
        }
        out
    };
    let mut header = String::with_capacity(line_width + 16);
    draw(
        &mut header,
        HEADER.map(|h| (h, h.len())),
        anstyle::Style::new(),
    );
    write(header)?;
    // One share per thread at a time, each written out once drawn.
    for batch in shares.chunks(threads) {
        for part in pool::map(Work::Cpu, batch.to_vec(), draw_share) {
            write(part)?;
        }
    }
    Ok(())
}

/// The DESCRIPTION of a line before escaping: the tree note, if any, then
/// the session's description.
fn description<'r>(line: &Line<'r>) -> Cow<'r, str> {
    let text = line.row.description();
    match line.tree.as_ref().and_then(|tree| tree.note) {
        Some(note) if text.is_empty() => Cow::Owned(note.text()),
        Some(note) => Cow::Owned(format!("{} {text}", note.text())),
        None => Cow::Borrowed(text),
    }
}

/// The STARTED text of each row. Rows come newest first (within each
/// level, with `--tree`), so rows of the same age are mostly neighbours: each
/// run of them shares one string.
struct Ages {
    texts: Vec<String>,
    /// Each row's text in `texts` (`u32::MAX`: none).
    of_row: Vec<u32>,
}

impl Ages {
    fn of(lines: &[Line<'_>], now: DateTime<Utc>) -> Ages {
        let mut texts = Vec::new();
        let mut last = None;
        let of_row = lines
            .iter()
            .map(|line| {
                let Some(started) = line.row.started_at() else {
                    return u32::MAX;
                };
                let age = RelativeAge::between(started, now);
                if last != Some(age) {
                    texts.push(age.to_string());
                    last = Some(age);
                }
                u32::try_from(texts.len() - 1).unwrap_or(u32::MAX)
            })
            .collect();
        Ages { texts, of_row }
    }

    fn of_row(&self, row: usize) -> &str {
        let text = self.of_row.get(row).map_or(u32::MAX, |text| *text);
        self.texts.get(text as usize).map_or("-", String::as_str)
    }
}

/// The cells of a line, escaped, borrowed from it where possible; the
/// description (see [`description`]) is not cut yet.
fn cells<'r>(line: &Line<'r>, age: &'r str) -> [Cell<'r>; COLUMNS] {
    let row = line.row;
    // A session id is a validated ULID: nothing to escape.
    let id = match &line.tree {
        Some(tree) if !tree.guides.is_empty() => {
            Cow::Owned(format!("{}{}", tree.guides, line.short_id))
        }
        _ => Cow::Borrowed(line.short_id),
    };
    let description = if row.error {
        Cow::Borrowed(row.description())
    } else {
        match description(line) {
            Cow::Borrowed(text) => term::escape(text),
            Cow::Owned(text) => Cow::Owned(term::escape(&text).into_owned()),
        }
    };
    [
        id,
        Cow::Borrowed(age),
        Cow::Borrowed(row.elapsed()),
        Cow::Borrowed(row.status.as_str()),
        Cow::Borrowed(row.outcome()),
        description,
        Cow::Borrowed(row.tools()),
        Cow::Borrowed(row.branch()),
        Cow::Borrowed(row.project()),
    ]
    .map(Cell::new)
}

/// What `csa session list` says on stderr when no row is printed: that the
/// project has no sessions, or that the filters matched none of its `total`.
pub fn empty_message(args: &ListArgs, total: usize, project: &str) -> String {
    let scope = if args.all_projects {
        "any project".to_owned()
    } else {
        term::escape(project).into_owned()
    };
    if total == 0 {
        return format!("no sessions in {scope}");
    }
    let mut filters = Vec::new();
    if !args.status.is_empty() {
        let statuses: Vec<&str> = args.status.iter().map(|s| s.as_arg()).collect();
        filters.push(format!("--status {}", statuses.join(",")));
    }
    if !args.tool.is_empty() {
        filters.push(format!("--tool {}", term::escape(&args.tool.join(","))));
    }
    if let Some(branch) = &args.branch {
        filters.push(format!("--branch {}", term::escape(branch)));
    }
    if let Some(since) = args.since {
        filters.push(format!("--since {}", crate::duration::as_arg(since)));
    }
    let sessions = if total == 1 { "session" } else { "sessions" };
    let scope = if args.all_projects {
        "all projects"
    } else {
        &scope
    };
    format!(
        "no sessions match {} ({total} {sessions} in {scope})",
        filters.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command, SessionCommand};

    use csa_session::SessionRow;
    use csa_session::SessionStatus as Status;
    use csa_session::status::Outcome;
    use snapbox::{IntoData as _, assert_data_eq, str};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .expect("a valid time")
            .with_timezone(&Utc)
    }

    fn row<'a>(id: &'a str, description: &'a str, status: Status) -> SessionRow<'a> {
        let (exit_code, outcome) = match status {
            Status::Failed => (Some(3), Some(Outcome::Failure)),
            Status::Retired => (Some(0), Some(Outcome::Success)),
            _ => (None, None),
        };
        SessionRow {
            session_id: id,
            status,
            phase: None,
            last_accessed: None,
            description: Some(Cow::Borrowed(description)),
            tools: vec![Cow::Borrowed("codex")],
            branch: Some(Cow::Borrowed("main")),
            project_path: None,
            parent_session_id: None,
            depth: None,
            termination_reason: None,
            run: None,
            liveness: None,
            error: None,
            started_at: Some(now() - chrono::TimeDelta::minutes(5)),
            ended_at: None,
            elapsed_secs: Some(125.0),
            elapsed: Some("2m".into()),
            exit_code,
            outcome,
            logs: None,
            sort_key: Some(now() - chrono::TimeDelta::minutes(3)),
        }
    }

    fn layout(description: DescriptionWidth, palette: Palette) -> Layout {
        Layout {
            description,
            palette,
            now: now(),
            project: false,
        }
    }

    const ID_A: &str = "01KAZ9X3M2QAAAAAAAAAAAAAAA";
    const ID_B: &str = "01KAZ9W1B7EBBBBBBBBBBBBBBB";

    /// What the table keeps of each row (PROJECT too: drawn only when asked).
    fn tables(rows: &[SessionRow<'_>]) -> Vec<TableRow> {
        let keep = Keep {
            cells: true,
            project: true,
            parent: false,
        };
        let short = csa_session::ShortIds::new(rows.iter().map(|r| r.session_id));
        rows.iter()
            .map(|row| TableRow::of(row, keep, &short))
            .collect()
    }

    /// The rows as `list` draws them without `--tree`.
    fn flat(rows: &[TableRow]) -> Vec<Line<'_>> {
        rows.iter()
            .map(|row| Line {
                row,
                short_id: row.short_id(),
                tree: None,
            })
            .collect()
    }

    #[test]
    fn cells_are_escaped_aligned_by_display_width_and_aged() {
        let rows = [
            row(ID_A, "日本語の説明", Status::Failed),
            row(ID_B, "red \x1b[31mtext\r\u{202e}", Status::Active),
        ];
        let tables = tables(&rows);
        let refs = flat(&tables);
        let text = table(&refs, &layout(DescriptionWidth::Fixed(40), Palette::PLAIN));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "SESSION   STARTED    ELAPSED     STATUS  OUTCOME  DESCRIPTION                 TOOLS  BRANCH",
                "01KAZ9X3  5 min ago  2 min 05 s  Failed  3        日本語の説明                codex  main",
                "01KAZ9W1  5 min ago  2 min 05 s  Active           red \\x1b[31mtext\\r\\u{202e}  codex  main",
            ]
        );
        // TOOLS starts at the same column on every line.
        let column = |line: &str| {
            term::display_width(
                &line[..line
                    .find("TOOLS")
                    .or_else(|| line.find("codex"))
                    .expect("a TOOLS cell")],
            )
        };
        assert_eq!(column(lines[0]), column(lines[1]));
        assert_eq!(column(lines[1]), column(lines[2]));
    }

    #[test]
    fn description_is_cut_to_40_columns_or_to_the_terminal() {
        let long = "a description that is much longer than forty columns, really";
        let rows = [row(ID_A, long, Status::Retired)];
        let tables = tables(&rows);
        let refs = flat(&tables);
        let draw = |width| table(&refs, &layout(width, Palette::PLAIN));
        assert_data_eq!(
            draw(DescriptionWidth::Fixed(40)).raw(),
            str![[r#"
SESSION   STARTED    ELAPSED     STATUS   OUTCOME  DESCRIPTION                              TOOLS  BRANCH
01KAZ9X3  5 min ago  2 min 05 s  Retired  0        a description that is much longer than…  codex  main

"#]]
            .raw()
        );
        assert_data_eq!(
            draw(DescriptionWidth::Terminal(90)).raw(),
            str![[r#"
SESSION   STARTED    ELAPSED     STATUS   OUTCOME  DESCRIPTION               TOOLS  BRANCH
01KAZ9X3  5 min ago  2 min 05 s  Retired  0        a description that is m…  codex  main

"#]]
            .raw()
        );
        assert_data_eq!(draw(DescriptionWidth::Terminal(200)).raw(), str![[r#"
SESSION   STARTED    ELAPSED     STATUS   OUTCOME  DESCRIPTION                                                   TOOLS  BRANCH
01KAZ9X3  5 min ago  2 min 05 s  Retired  0        a description that is much longer than forty columns, really  codex  main

"#]].raw());
        // A terminal too narrow for every column still shows some description.
        assert_data_eq!(
            draw(DescriptionWidth::Terminal(20)).raw(),
            str![[r#"
SESSION   STARTED    ELAPSED     STATUS   OUTCOME  DESCRIPTION  TOOLS  BRANCH
01KAZ9X3  5 min ago  2 min 05 s  Retired  0        a descript…  codex  main

"#]]
            .raw()
        );
        // Every column at its narrowest takes 77 columns.
        for columns in [80, 100, 120] {
            let text = draw(DescriptionWidth::Terminal(columns));
            for line in text.lines() {
                assert!(term::display_width(line) <= columns, "{columns}: {line}");
            }
        }
    }

    #[test]
    fn outcome_names_a_stop_or_the_exit_code_and_all_projects_adds_project() {
        let mut rows = [
            row(ID_A, "stopped", Status::Failed),
            row(ID_B, "too long", Status::Failed),
            row("01KAZ9V0000000000000000000", "running", Status::Active),
        ];
        rows[0].outcome = Some(Outcome::Killed);
        rows[0].exit_code = Some(143);
        rows[1].outcome = Some(Outcome::Timeout);
        rows[1].exit_code = Some(124);
        rows[1].elapsed_secs = Some(3_725.5);
        rows[2].started_at = None;
        rows[2].elapsed_secs = None;
        for (row, project) in rows.iter_mut().zip(["/work/a", "/work/b", "/work/\x1b[2J"]) {
            row.project_path = Some(Cow::Borrowed(project));
        }
        let mut layout = layout(DescriptionWidth::Fixed(40), Palette::PLAIN);
        layout.project = true;
        assert_data_eq!(
            table(&flat(&tables(&rows)), &layout).raw(),
            str![[r#"
SESSION   STARTED    ELAPSED     STATUS  OUTCOME  DESCRIPTION  TOOLS  BRANCH  PROJECT
01KAZ9X3  5 min ago  2 min 05 s  Failed  killed   stopped      codex  main    /work/a
01KAZ9W1  5 min ago  1 h 02 min  Failed  timeout  too long     codex  main    /work/b
01KAZ9V0  -          -           Active           running      codex  main    /work/\x1b[2J

"#]]
            .raw()
        );
    }

    #[test]
    fn status_is_coloured_only_with_a_coloured_palette() {
        let rows = [row(ID_A, "x", Status::Failed)];
        let tables = tables(&rows);
        let refs = flat(&tables);
        let plain = table(&refs, &layout(DescriptionWidth::Fixed(40), Palette::PLAIN));
        assert!(!plain.contains('\x1b'), "{plain}");
        let coloured = table(&refs, &layout(DescriptionWidth::Fixed(40), Palette::ANSI));
        assert_eq!(
            coloured,
            "SESSION   STARTED    ELAPSED     STATUS  OUTCOME  DESCRIPTION  TOOLS  BRANCH\n\
             01KAZ9X3  5 min ago  2 min 05 s  \x1b[31mFailed\x1b[0m  3        x            codex  main\n"
        );
        // Colour codes take no column: the rest of the line is where it was.
        assert_eq!(
            coloured.replace("\x1b[31m", "").replace("\x1b[0m", ""),
            plain
        );
    }

    #[test]
    fn a_table_drawn_in_shares_is_aligned_as_one() {
        // Enough rows for several shares; the widest cells are in the last.
        let ids: Vec<String> = (0..3 * ROWS_PER_THREAD)
            .map(|i| format!("01KAZ9X3M2Q{i:015}"))
            .collect();
        let mut rows: Vec<SessionRow<'_>> =
            ids.iter().map(|id| row(id, "d", Status::Retired)).collect();
        let last = rows.last_mut().expect("rows");
        last.description = Some(Cow::Borrowed("a description wider than forty columns, cut"));
        last.status = Status::Available;
        let text = table(
            &flat(&tables(&rows)),
            &layout(DescriptionWidth::Fixed(40), Palette::PLAIN),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), rows.len() + 1);
        let cut = "01KAZ9X3M2Q000000000005999  5 min ago  2 min 05 s  Available  0        \
                   a description wider than forty columns,…  codex  main";
        assert_eq!(lines.last().copied(), Some(cut));
        // TOOLS starts at the same column on the first line as on the last.
        let tools_at = |line: &str| {
            line.find("codex")
                .map(|at| term::display_width(&line[..at]))
        };
        assert_eq!(tools_at(lines[1]), tools_at(lines[lines.len() - 1]));
        assert!(
            lines.windows(2).skip(1).all(|w| w[0] < w[1]),
            "rows in order"
        );
    }

    #[test]
    fn clean_cells_are_borrowed() {
        let r = tables(&[row(ID_A, "plain description", Status::Retired)]);
        let line = Line {
            row: &r[0],
            short_id: &ID_A[..8],
            tree: None,
        };
        let text = description(&line);
        assert!(matches!(text, Cow::Borrowed(_)));
        // Every cell is borrowed from the packed row.
        let cells = cells(&line, "3 min ago");
        for (column, cell) in cells.iter().enumerate() {
            assert!(
                matches!(cell.text, Cow::Borrowed(_)),
                "column {column}: {}",
                cell.text
            );
        }
    }

    #[test]
    fn tree_lines_show_guides_before_the_id_and_notes_before_the_description() {
        let rows = [
            row(ID_A, "parent", Status::Retired),
            row(ID_B, "child", Status::Active),
            row("01KAZ9V0000000000000000000", "", Status::Retired),
        ];
        let notes = [None, None, Some(TreeNote::NotInProject("01KAZ8ZZ"))];
        let guides = ["", "└─ ", ""];
        let rows = tables(&rows);
        let lines: Vec<Line<'_>> = rows
            .iter()
            .zip(notes)
            .zip(guides)
            .map(|((row, note), guides)| Line {
                row,
                short_id: &row.session_id()[..8],
                tree: Some(Box::new(TreeMark {
                    guides: guides.to_owned(),
                    note,
                })),
            })
            .collect();
        let text = table(&lines, &layout(DescriptionWidth::Fixed(40), Palette::PLAIN));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "SESSION      STARTED    ELAPSED     STATUS   OUTCOME  DESCRIPTION                            TOOLS  BRANCH",
                "01KAZ9X3     5 min ago  2 min 05 s  Retired  0        parent                                 codex  main",
                "└─ 01KAZ9W1  5 min ago  2 min 05 s  Active            child                                  codex  main",
                "01KAZ9V0     5 min ago  2 min 05 s  Retired  0        (parent 01KAZ8ZZ not in this project)  codex  main",
            ]
        );
    }

    fn list_args(argv: &[&str]) -> ListArgs {
        let cli = Cli::parse_from(["csa", "session", "list"].iter().chain(argv));
        match cli.command {
            Command::Session(SessionCommand::List(args)) => args,
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn empty_messages_tell_no_sessions_from_no_match() {
        let table: &[(&[&str], usize, &str)] = &[
            (&[], 0, "no sessions in /p"),
            (&["--status", "failed"], 0, "no sessions in /p"),
            (&["--all-projects"], 0, "no sessions in any project"),
            (
                &["--status", "failed"],
                12,
                "no sessions match --status failed (12 sessions in /p)",
            ),
            (
                &["--tool", "codex,claude", "--branch", "main"],
                1,
                "no sessions match --tool codex,claude --branch main (1 session in /p)",
            ),
            (
                &["--all-projects", "--status", "error"],
                3,
                "no sessions match --status error (3 sessions in all projects)",
            ),
            (
                &["--branch", "x\x1b[2Jy"],
                2,
                "no sessions match --branch x\\x1b[2Jy (2 sessions in /p)",
            ),
        ];
        for (argv, total, expected) in table {
            assert_eq!(
                empty_message(&list_args(argv), *total, "/p"),
                *expected,
                "{argv:?}"
            );
        }
        assert_eq!(
            empty_message(&list_args(&[]), 0, "/p\r/q"),
            "no sessions in /p\\r/q"
        );
    }
}
