//! The live view of `csa session top` on a terminal (contract §9.1), drawn
//! with `ratatui` on `crossterm`: the alternate screen, one row per session,
//! keys to select, follow the logs, kill, toggle the tree and filter.
//!
//! Event-driven: one `csa_process::Watcher` wakes the loop when a sessions
//! folder gains or loses a session, an active session's state or result
//! changes or its logs grow; keys and caught signals (SIGTERM, SIGHUP,
//! SIGINT) come from two small threads over a channel, each with a
//! `Waker`. CPU and memory are sampled every `--interval`. A burst of log
//! writes is taken in one refresh at most every [`MIN_REFRESH`], during
//! which only keys wake the loop. The terminal is restored on every way out
//! ([`super::screen`]).

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use chrono::Utc;
use csa_process::{Wake, Waker, Watcher};
use csa_session::{SessionId, ShortIds};
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::rows::{Fleet, TopRow, Totals};
use super::screen::Screen;
use super::table::{self, COLUMNS, CellContext, Column};
use crate::term::escape;
use csa_session::SessionStatus as Status;
use csa_session::log_stream::LineStream;

/// The least time between two refreshes caused by file events.
const MIN_REFRESH: Duration = Duration::from_millis(250);
/// How many lines of a session's logs the logs pane keeps.
const PANE_LINES: usize = 2000;

/// What the input and signal threads send.
#[derive(Debug)]
enum Message {
    Input(Event),
    /// A stop signal was caught: quit with 128 + it (none are caught off Unix).
    #[cfg_attr(not(unix), allow(dead_code))]
    Signal(i32),
    /// A `csa session kill` started from the view ended: its report.
    Killed(String),
}

/// What the screen shows.
#[derive(Debug)]
enum Mode {
    Table,
    /// Typing a filter after `/`.
    Filter,
    /// `x` was pressed on this session: kill it? (y/n)
    Confirm(SessionId),
    /// The logs of this session, following.
    Logs(Box<LogsPane>),
}

/// The logs of one session, both streams, as lines.
#[derive(Debug)]
struct LogsPane {
    id: SessionId,
    streams: [LineStream; 2],
    lines: std::collections::VecDeque<(bool, String)>,
}

impl LogsPane {
    fn new(row: &TopRow) -> LogsPane {
        LogsPane {
            id: row.loc.id.clone(),
            streams: [
                LineStream::new(
                    row.loc.dir.output_log(),
                    row.loc.dir.output_log_rotated(),
                    false,
                ),
                LineStream::new(
                    row.loc.dir.stderr_log(),
                    row.loc.dir.stderr_log_rotated(),
                    true,
                ),
            ],
            lines: std::collections::VecDeque::new(),
        }
    }

    /// Read what the logs gained.
    fn read(&mut self) {
        let lines = &mut self.lines;
        for stream in &mut self.streams {
            if stream.open(Some(PANE_LINES)).is_err() {
                continue;
            }
            let mut take = |bytes: &[u8], stderr: bool| {
                if lines.len() == PANE_LINES {
                    lines.pop_front();
                }
                lines.push_back((stderr, escape(&String::from_utf8_lossy(bytes)).into_owned()));
                true
            };
            let _ = stream.read_new(&mut take);
        }
    }
}

/// The live view's state.
#[derive(Debug)]
struct App {
    fleet: Fleet,
    scope: String,
    mode: Mode,
    tree: bool,
    filter: String,
    /// The selected session (kept by id across refreshes).
    selected: Option<SessionId>,
    /// The last thing to tell (a kill's report, ...).
    notice: String,
    tx: Sender<Message>,
    waker: Waker,
}

/// Run the live view until `q`, Ctrl-C or a stop signal.
pub fn run(fleet: Fleet, scope: String, interval: Duration) -> anyhow::Result<ExitCode> {
    let mut watcher = Watcher::new();
    let waker = watcher.waker();
    let (tx, rx) = mpsc::channel();
    spawn_input(tx.clone(), waker.clone());
    spawn_signals(tx.clone(), waker.clone())?;
    let mut screen = Screen::enter()?;
    let mut app = App {
        fleet,
        scope,
        mode: Mode::Table,
        tree: false,
        filter: String::new(),
        selected: None,
        notice: String::new(),
        tx,
        waker,
    };
    let code = app.run(&mut screen, &mut watcher, &rx, interval);
    screen.leave()?;
    code
}

impl App {
    fn run(
        &mut self,
        screen: &mut Screen,
        watcher: &mut Watcher,
        rx: &Receiver<Message>,
        interval: Duration,
    ) -> anyhow::Result<ExitCode> {
        let mut watched: HashSet<PathBuf> = HashSet::new();
        for dir in self.fleet.dirs() {
            watcher.watch_entries(&dir.path);
        }
        self.fleet.refresh();
        self.fleet.reconcile();
        self.fleet.sample();
        let mut next_sample = Instant::now() + interval;
        let mut last_refresh = Instant::now();
        let mut dirty = false;
        let mut first = true;
        loop {
            self.watch(watcher, &mut watched);
            screen.draw(|frame| self.draw(frame))?;
            if std::mem::take(&mut first) {
                csa_session::fault::hit(csa_session::fault::FaultPoint::TopDrawn)?;
            }
            let hold_until = last_refresh + MIN_REFRESH;
            let now = Instant::now();
            let message = if dirty && now < hold_until {
                // Take the burst of file events later, in one refresh:
                // only keys and signals wake the loop meanwhile.
                match rx.recv_timeout(hold_until.min(next_sample) - now) {
                    Ok(message) => Some(message),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => None,
                }
            } else {
                if watcher.wait(Some(next_sample)) == Wake::Changed {
                    dirty = true;
                }
                rx.try_recv().ok()
            };
            let mut pending = message
                .into_iter()
                .chain(std::iter::from_fn(|| rx.try_recv().ok()));
            for message in pending.by_ref() {
                if let Some(code) = self.handle(message) {
                    return Ok(code);
                }
            }
            let now = Instant::now();
            if dirty && now >= last_refresh + MIN_REFRESH {
                self.fleet.refresh();
                self.read_pane();
                last_refresh = now;
                dirty = false;
            }
            if now >= next_sample {
                self.fleet.refresh();
                self.fleet.reconcile();
                self.fleet.sample();
                self.read_pane();
                next_sample = now + interval;
                last_refresh = now;
                dirty = false;
            }
        }
    }

    /// Watch what can change among the active sessions: their state and
    /// result, and their logs' contents.
    fn watch(&self, watcher: &mut Watcher, watched: &mut HashSet<PathBuf>) {
        for row in self.fleet.ordered() {
            if !row.is_active() {
                continue;
            }
            let dir = &row.loc.dir;
            let names = [
                dir.state(),
                dir.result(),
                dir.output_log(),
                dir.stderr_log(),
            ];
            if watched.insert(dir.state()) {
                watcher.watch_files(&names);
            }
            for log in [dir.output_log(), dir.stderr_log()] {
                if !watched.contains(&log) && log.is_file() {
                    watcher.watch_contents(&log);
                    watched.insert(log);
                }
            }
        }
    }

    fn read_pane(&mut self) {
        if let Mode::Logs(pane) = &mut self.mode {
            pane.read();
        }
    }

    /// Act on one message; `Some(code)` to quit.
    fn handle(&mut self, message: Message) -> Option<ExitCode> {
        match message {
            Message::Signal(signal) => {
                return Some(ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)));
            }
            Message::Killed(report) => self.notice = report,
            Message::Input(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                return self.key(key);
            }
            Message::Input(_) => {}
        }
        None
    }

    fn key(&mut self, key: KeyEvent) -> Option<ExitCode> {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            return Some(ExitCode::SUCCESS);
        }
        match &self.mode {
            Mode::Filter => match key.code {
                KeyCode::Enter | KeyCode::Esc => self.mode = Mode::Table,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            },
            Mode::Confirm(id) => {
                let id = id.clone();
                self.mode = Mode::Table;
                if key.code == KeyCode::Char('y') || key.code == KeyCode::Char('Y') {
                    self.kill(&id);
                } else {
                    self.notice = format!("not killed: {id}");
                }
            }
            Mode::Logs(_) => match key.code {
                KeyCode::Esc | KeyCode::Char('q') => self.mode = Mode::Table,
                _ => {}
            },
            Mode::Table => match key.code {
                KeyCode::Char('q') => return Some(ExitCode::SUCCESS),
                KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
                KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
                KeyCode::Char('t') => self.tree = !self.tree,
                KeyCode::Char('/') => self.mode = Mode::Filter,
                KeyCode::Esc => self.filter.clear(),
                KeyCode::Enter => {
                    if let Some(row) = self.selected_row() {
                        let mut pane = LogsPane::new(row);
                        pane.read();
                        self.mode = Mode::Logs(Box::new(pane));
                    }
                }
                KeyCode::Char('x') => {
                    if let Some(row) = self.selected_row() {
                        self.mode = Mode::Confirm(row.loc.id.clone());
                    }
                }
                _ => {}
            },
        }
        None
    }

    /// The rows shown: filtered, in tree order when the tree is on, each
    /// with its depth.
    fn shown(&self) -> Vec<(&TopRow, usize)> {
        let rows = self.fleet.ordered();
        let needle = self.filter.to_lowercase();
        let keep = |row: &TopRow| {
            needle.is_empty()
                || [
                    row.loc.id.as_str(),
                    row.status.as_str(),
                    &row.tool,
                    &row.description,
                    &row.last_line,
                ]
                .iter()
                .any(|field| field.to_lowercase().contains(&needle))
        };
        let rows: Vec<&TopRow> = rows.into_iter().filter(|row| keep(row)).collect();
        if self.tree {
            in_tree_order(&rows)
        } else {
            rows.into_iter().map(|row| (row, 0)).collect()
        }
    }

    fn selected_row(&self) -> Option<&TopRow> {
        let id = self.selected.as_ref()?;
        self.shown()
            .into_iter()
            .map(|(row, _)| row)
            .find(|row| &row.loc.id == id)
    }

    fn move_selection(&mut self, by: isize) {
        let ids: Vec<SessionId> = self
            .shown()
            .iter()
            .map(|(row, _)| row.loc.id.clone())
            .collect();
        if ids.is_empty() {
            return;
        }
        let at = self
            .selected
            .as_ref()
            .and_then(|id| ids.iter().position(|i| i == id));
        let next = match at {
            None => 0,
            Some(at) => at.saturating_add_signed(by).min(ids.len() - 1),
        };
        self.selected = Some(ids[next].clone());
    }

    /// Kill the session as `csa session kill` does, without blocking the
    /// view: the report comes back as a message.
    fn kill(&mut self, id: &SessionId) {
        let Some(row) = self.fleet.get(id) else {
            return;
        };
        self.notice = format!("killing {id} ...");
        let project = row.project.clone();
        let id = id.to_string();
        let tx = self.tx.clone();
        let waker = self.waker.clone();
        std::thread::spawn(move || {
            let report = match kill_command(&id, &project) {
                Ok(report) => report,
                Err(err) => format!("cannot kill {id}: {err}"),
            };
            let _ = tx.send(Message::Killed(report));
            waker.wake();
        });
    }

    fn draw(&self, frame: &mut Frame<'_>) {
        let [head, body, foot] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        let shown = self.shown();
        let totals = Totals::of(shown.iter().map(|(row, _)| *row));
        let header = table::header(&totals, &self.scope);
        frame.render_widget(
            Paragraph::new(header).style(Style::new().add_modifier(Modifier::BOLD)),
            head,
        );
        match &self.mode {
            Mode::Logs(pane) => self.draw_logs(frame, pane, body),
            _ => self.draw_table(frame, &shown, body),
        }
        let footer = match &self.mode {
            Mode::Filter => format!("/{}_", escape(&self.filter)),
            Mode::Confirm(id) => format!("kill session {id}? (y/n)"),
            Mode::Logs(_) => "Esc back".to_owned(),
            Mode::Table => {
                let filter = if self.filter.is_empty() {
                    String::new()
                } else {
                    format!("[filter: {}]  ", escape(&self.filter))
                };
                format!(
                    "{filter}q quit  j/k select  Enter logs  x kill  t tree  / filter  {}",
                    escape(&self.notice)
                )
            }
        };
        frame.render_widget(
            Paragraph::new(footer).style(Style::new().add_modifier(Modifier::REVERSED)),
            foot,
        );
    }

    fn draw_table(
        &self,
        frame: &mut Frame<'_>,
        shown: &[(&TopRow, usize)],
        area: ratatui::layout::Rect,
    ) {
        let now = Utc::now();
        let short_ids = ShortIds::new(shown.iter().map(|(row, _)| row.loc.id.as_str()));
        let cells: Vec<Vec<String>> = shown
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
        let columns = table::layout(Some(usize::from(area.width)), &cells);
        let index_of = |column: Column| COLUMNS.iter().position(|c| *c == column).unwrap_or(0);
        let cell_line = |cells: &[String]| -> Vec<String> {
            columns
                .iter()
                .map(|(column, width)| {
                    let text = table::cut(&cells[index_of(*column)], *width);
                    if column.is_numeric() {
                        format!("{text:>width$}", width = *width)
                    } else {
                        text
                    }
                })
                .collect()
        };
        let titles: Vec<String> = COLUMNS.iter().map(|c| c.title().to_owned()).collect();
        let header = Row::new(cell_line(&titles)).style(Style::new().add_modifier(Modifier::BOLD));
        let rows: Vec<Row<'_>> = shown
            .iter()
            .zip(&cells)
            .map(|((row, _), cells)| Row::new(cell_line(cells)).style(status_style(row.status)))
            .collect();
        let widths: Vec<Constraint> = columns
            .iter()
            .map(|(_, width)| Constraint::Length(u16::try_from(*width).unwrap_or(u16::MAX)))
            .collect();
        let selected = self
            .selected
            .as_ref()
            .and_then(|id| shown.iter().position(|(row, _)| &row.loc.id == id));
        let mut state = TableState::default().with_selected(selected);
        let table = Table::new(rows, widths)
            .header(header)
            .column_spacing(u16::try_from(table::GAP).unwrap_or(1))
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
        frame.render_stateful_widget(table, area, &mut state);
    }

    fn draw_logs(&self, frame: &mut Frame<'_>, pane: &LogsPane, area: ratatui::layout::Rect) {
        let height = usize::from(area.height.saturating_sub(1));
        let skip = pane.lines.len().saturating_sub(height);
        let mut lines = vec![Line::from(Span::styled(
            format!("logs of {} (both streams, following)", pane.id),
            Style::new().add_modifier(Modifier::BOLD),
        ))];
        for (stderr, text) in pane.lines.iter().skip(skip) {
            lines.push(if *stderr {
                Line::from(Span::styled(
                    format!("! {text}"),
                    Style::new().fg(Color::Red),
                ))
            } else {
                Line::from(text.as_str())
            });
        }
        frame.render_widget(Paragraph::new(lines), area);
    }
}

fn status_style(status: Status) -> Style {
    match status {
        Status::Active => Style::new().fg(Color::Cyan),
        Status::Available => Style::new().fg(Color::Yellow),
        Status::Retired => Style::new(),
        Status::Failed | Status::Error => Style::new().fg(Color::Red),
    }
}

/// `rows` with each session under its parent (when the parent is shown),
/// depth first, in the given order within a level.
fn in_tree_order<'r>(rows: &[&'r TopRow]) -> Vec<(&'r TopRow, usize)> {
    let shown: HashSet<&str> = rows.iter().map(|row| row.loc.id.as_str()).collect();
    let is_root = |row: &TopRow| {
        row.parent
            .as_deref()
            .is_none_or(|parent| !shown.contains(parent.to_ascii_uppercase().as_str()))
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<(&TopRow, usize)> = rows
        .iter()
        .rev()
        .filter(|row| is_root(row))
        .map(|row| (*row, 0))
        .collect();
    while let Some((row, depth)) = stack.pop() {
        if !seen.insert(row.loc.id.as_str()) {
            continue;
        }
        out.push((row, depth));
        for child in rows.iter().rev() {
            let parent = child.parent.as_deref().map(str::to_ascii_uppercase);
            if parent.as_deref() == Some(row.loc.id.as_str()) {
                stack.push((child, depth + 1));
            }
        }
    }
    // A parent cycle written by hand: its members are shown at the top level.
    for row in rows {
        if seen.insert(row.loc.id.as_str()) {
            out.push((row, 0));
        }
    }
    out
}

/// Run `csa session kill <id> --cd <project>`; its report line.
fn kill_command(id: &str, project: &str) -> std::io::Result<String> {
    let exe = std::env::current_exe()?;
    let output = std::process::Command::new(exe)
        .args(["session", "kill", id, "--cd", project])
        .stdin(std::process::Stdio::null())
        .output()?;
    let text = if output.status.success() {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// Read the terminal's events on a thread of their own.
fn spawn_input(tx: Sender<Message>, waker: Waker) {
    std::thread::spawn(move || {
        while let Ok(event) = event::read() {
            if tx.send(Message::Input(event)).is_err() {
                break;
            }
            waker.wake();
        }
    });
}

/// Catch the stop signals on a thread of their own, so each ends the view
/// through the same way out (the terminal restored).
#[cfg(unix)]
fn spawn_signals(tx: Sender<Message>, waker: Waker) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let _ = tx.send(Message::Signal(signal));
            waker.wake();
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn spawn_signals(_tx: Sender<Message>, _waker: Waker) -> anyhow::Result<()> {
    Ok(())
}
