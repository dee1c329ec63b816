//! The columns of `csa session top` (contract §9.1) and the snapshot table
//! `--once` (or a stdout that is not a terminal) prints: one definition of
//! each column's title and cell, shared with the live view, and the rule
//! that a narrow terminal drops columns from the right, never wraps.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use csa_session::ShortIds;

use super::rows::{TopRow, Totals};
use crate::term::{display_width, escape, escape_to_width};

/// A column of `top`, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Session,
    Status,
    Tool,
    Description,
    Elapsed,
    Idle,
    Cpu,
    Mem,
    Log,
    Outcome,
    LastLine,
}

/// Every column, in order.
pub const COLUMNS: [Column; 11] = [
    Column::Session,
    Column::Status,
    Column::Tool,
    Column::Description,
    Column::Elapsed,
    Column::Idle,
    Column::Cpu,
    Column::Mem,
    Column::Log,
    Column::Outcome,
    Column::LastLine,
];

/// Spaces between two columns.
pub const GAP: usize = 2;
/// The widest a TOOL or DESCRIPTION cell is on a terminal.
const NARROW_TEXT: usize = 24;
/// The least room LAST LINE is shown with.
const MIN_LAST_LINE: usize = 10;

impl Column {
    pub fn title(self) -> &'static str {
        match self {
            Column::Session => "SESSION",
            Column::Status => "STATUS",
            Column::Tool => "TOOL",
            Column::Description => "DESCRIPTION",
            Column::Elapsed => "ELAPSED",
            Column::Idle => "IDLE",
            Column::Cpu => "CPU%",
            Column::Mem => "MEM",
            Column::Log => "LOG",
            Column::Outcome => "OUTCOME",
            Column::LastLine => "LAST LINE",
        }
    }

    /// Right-aligned (numbers).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Column::Elapsed | Column::Idle | Column::Cpu | Column::Mem | Column::Log
        )
    }

    /// The cell of `row`, escaped.
    pub fn cell(self, row: &TopRow, cx: &CellContext<'_>) -> String {
        match self {
            Column::Session => {
                let short = cx.short_ids.of(row.loc.id.as_str());
                format!("{}{short}", "  ".repeat(cx.indent))
            }
            Column::Status => row.status.as_str().to_owned(),
            Column::Tool => escape(&row.tool).into_owned(),
            Column::Description => escape(&row.description).into_owned(),
            Column::Elapsed => row
                .elapsed(cx.now)
                .map(compact_duration)
                .unwrap_or_default(),
            Column::Idle => row
                .idle(SystemTime::from(cx.now))
                .map(compact_duration)
                .unwrap_or_default(),
            Column::Cpu => match row.sample {
                Some(sample) => sample
                    .cpu_percent
                    .map_or_else(|| "-".to_owned(), |cpu| format!("{cpu:.1}")),
                None if row.is_active() => "-".to_owned(),
                None => String::new(),
            },
            Column::Mem => match row.sample {
                Some(sample) => compact_bytes(sample.memory_bytes),
                None if row.is_active() => "-".to_owned(),
                None => String::new(),
            },
            Column::Log => compact_bytes(row.logs.total()),
            Column::Outcome => row.outcome_text(),
            Column::LastLine => escape(&row.last_line).into_owned(),
        }
    }
}

/// What a cell needs besides its row.
#[derive(Debug)]
pub struct CellContext<'a> {
    pub now: DateTime<Utc>,
    pub short_ids: &'a ShortIds,
    /// Tree depth (two spaces each) before the short id.
    pub indent: usize,
}

/// The columns that fit `width` (all of them when `None`) and the width of
/// each, from the titles and `cells` (one `Vec` per row, in [`COLUMNS`]
/// order). On a terminal TOOL and DESCRIPTION are cut at
/// [`NARROW_TEXT`]; columns are dropped from the right until the rest fits,
/// and LAST LINE takes what is left (it is kept only with room for
/// [`MIN_LAST_LINE`]).
pub fn layout(width: Option<usize>, cells: &[Vec<String>]) -> Vec<(Column, usize)> {
    let mut widths: Vec<(Column, usize)> = COLUMNS
        .iter()
        .enumerate()
        .map(|(at, column)| {
            let widest = cells
                .iter()
                .map(|row| display_width(&row[at]))
                .max()
                .unwrap_or(0)
                .max(display_width(column.title()));
            (*column, widest)
        })
        .collect();
    let Some(width) = width else {
        return widths;
    };
    for (column, w) in &mut widths {
        if matches!(column, Column::Tool | Column::Description) {
            *w = (*w).min(NARROW_TEXT);
        }
    }
    let total = |cols: &[(Column, usize)]| -> usize {
        cols.iter().map(|(_, w)| *w).sum::<usize>() + GAP * cols.len().saturating_sub(1)
    };
    // LAST LINE takes what is left, when enough is left.
    let fixed = &widths[..widths.len() - 1];
    let left = width.saturating_sub(total(fixed) + GAP);
    if left >= MIN_LAST_LINE {
        let last = widths.len() - 1;
        widths[last].1 = widths[last].1.min(left);
        return widths;
    }
    widths.pop();
    while widths.len() > 1 && total(&widths) > width {
        widths.pop();
    }
    if let Some((_, w)) = widths.first_mut() {
        *w = (*w).min(width);
    }
    widths
}

/// The header line: counts and totals.
pub fn header(totals: &Totals, scope: &str) -> String {
    format!(
        "csa top  {} active / {} ended / {} failed  CPU {:.1}%  MEM {}  {}",
        totals.active,
        totals.ended,
        totals.failed,
        totals.cpu_percent,
        compact_bytes(totals.memory_bytes),
        escape(scope)
    )
}

/// The snapshot table: the header, the titles, one line per row; each line
/// cut to `width` when given.
pub fn snapshot(
    rows: &[(&TopRow, usize)],
    totals: &Totals,
    scope: &str,
    width: Option<usize>,
    now: DateTime<Utc>,
) -> String {
    let short_ids = ShortIds::new(rows.iter().map(|(row, _)| row.loc.id.as_str()));
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(row, indent)| {
            let cx = CellContext {
                now,
                short_ids: &short_ids,
                indent: *indent,
            };
            COLUMNS.iter().map(|column| column.cell(row, &cx)).collect()
        })
        .collect();
    let columns = layout(width, &cells);
    let mut out = String::new();
    let mut push_line = |line: String| {
        let line = match width {
            Some(width) => escape_to_width(&line, width).into_owned(),
            None => line,
        };
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_line(header(totals, scope));
    let titles: Vec<String> = COLUMNS.iter().map(|c| c.title().to_owned()).collect();
    push_line(render_line(&columns, &titles));
    for row in &cells {
        push_line(render_line(&columns, row));
    }
    out
}

/// One line of cells laid out in `columns` (cells already escaped).
pub fn render_line(columns: &[(Column, usize)], cells: &[String]) -> String {
    let mut line = String::new();
    for (at, (column, width)) in columns.iter().enumerate() {
        let index = COLUMNS.iter().position(|c| c == column).unwrap_or(0);
        let cell = cut(&cells[index], *width);
        let pad = width.saturating_sub(display_width(&cell));
        if at > 0 {
            line.push_str(&" ".repeat(GAP));
        }
        if column.is_numeric() {
            line.push_str(&" ".repeat(pad));
            line.push_str(&cell);
        } else {
            line.push_str(&cell);
            if at + 1 < columns.len() {
                line.push_str(&" ".repeat(pad));
            }
        }
    }
    line
}

/// `text` (escaped already) cut to `width` columns, with `…` when cut.
pub fn cut(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// A duration in at most 5 characters or so: `850ms`, `45s`, `3m05s`,
/// `1h02m`, `2d03h`.
pub fn compact_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => format!("{}ms", duration.subsec_millis()),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Bytes in binary units, short: `512B`, `1.5K`, `12.3M`, `2.0G`.
pub fn compact_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_are_short() {
        assert_eq!(compact_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(compact_duration(Duration::from_secs(45)), "45s");
        assert_eq!(compact_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(compact_duration(Duration::from_secs(3720)), "1h02m");
        assert_eq!(
            compact_duration(Duration::from_secs(2 * 86_400 + 3 * 3600)),
            "2d03h"
        );
        assert_eq!(compact_bytes(512), "512B");
        assert_eq!(compact_bytes(1536), "1.5K");
        assert_eq!(compact_bytes(3 << 30), "3.0G");
    }

    #[test]
    fn a_narrow_terminal_drops_columns_from_the_right_and_never_wraps() {
        let row: Vec<String> = vec![
            "01KAZ9AB".into(),
            "Active".into(),
            "codex".into(),
            "fix the flaky test in the parser module".into(),
            "3m05s".into(),
            "2s".into(),
            "12.5".into(),
            "1.5M".into(),
            "12.0K".into(),
            "".into(),
            "compiling crate 4 of 9 and a long tail of words".into(),
        ];
        let cells = vec![row];
        let all = layout(None, &cells);
        assert_eq!(all.len(), COLUMNS.len());
        for width in [40, 60, 80, 100, 200] {
            let columns = layout(Some(width), &cells);
            let line = render_line(&columns, &cells[0]);
            assert!(display_width(&line) <= width, "{width}: {line:?}");
            // Dropped only from the right: a prefix of the column order.
            let kept: Vec<Column> = columns.iter().map(|(c, _)| *c).collect();
            assert_eq!(kept, COLUMNS[..kept.len()], "{width}");
        }
        let wide = layout(Some(200), &cells);
        assert_eq!(wide.last().map(|(c, _)| *c), Some(Column::LastLine));
        let narrow = layout(Some(60), &cells);
        assert!(!narrow.iter().any(|(c, _)| *c == Column::LastLine));
    }
}
