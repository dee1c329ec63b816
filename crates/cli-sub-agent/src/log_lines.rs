//! The logs of several sessions, or both streams of one, as lines (contract
//! §9.2): `csa session logs A B C`, `logs --all`, `--both`, `--timestamps`,
//! and `csa session attach`.
//!
//! Each line is printed whole, as its bytes are (tool output passes through
//! unescaped, as with one raw log), behind its prefixes: `<short id> | ` with
//! several sessions (coloured per session on a terminal), the time it was
//! read with `--timestamps` (RFC 3339, ms), and `! ` for a line of
//! `stderr.log`. A line still being written (no newline yet) is held until
//! its newline comes, the session ends, or it reaches [`csa_session::log_stream::MAX_HELD`] bytes.
//!
//! What the logs hold already carries no times: each log's lines come as one
//! block, the blocks in the order the logs were last written. Lines written
//! while following are printed as they are read, woken by
//! [`csa_process::end_watch`] on every write (inotify), so they interleave in the
//! order they were written. `--follow` ends when every session has ended;
//! with `--all`, sessions that start meanwhile join.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use chrono::{SecondsFormat, Utc};
use csa_session::log_stream::LineStream;
use csa_session::{SessionId, SessionLocation, ShortIds, Trigger};

use crate::context::Context;
use crate::term::Palette;
use crate::ui::Ui;
use csa_process::end_watch::{EndWatch, Ending};

/// How many bytes are read from a log at a time.
const CHUNK: usize = 64 * 1024;
/// The colours of the session prefixes, in turn (red is for errors).
const COLOURS: [AnsiColor; 5] = [
    AnsiColor::Cyan,
    AnsiColor::Green,
    AnsiColor::Yellow,
    AnsiColor::Magenta,
    AnsiColor::Blue,
];

/// Which logs of each session are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    Output,
    Stderr,
    Both,
}

/// How the lines are printed.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// `<short id> | ` before each line.
    pub prefix: bool,
    /// The time each line was read before it.
    pub timestamps: bool,
    pub streams: Streams,
    /// `--tail N`: each log's last N lines (what it holds when opened).
    pub tail: Option<usize>,
}

/// One session whose logs are printed.
#[derive(Debug)]
struct Source {
    loc: SessionLocation,
    /// `<short id> | `, coloured, or empty.
    label: Vec<u8>,
    streams: Vec<LineStream>,
    /// Its exit code, once it has ended.
    ended: Option<u8>,
}

/// Prints the logs of `sessions` as lines; see the module docs. With
/// `follow`, until every one has ended (with `discover`, sessions of the
/// project that start meanwhile too): exit with the one session's exit
/// code, or with several 0 when every one exited 0, else 1.
pub fn print(
    ctx: &Context<'_>,
    sessions: Vec<SessionLocation>,
    layout: Layout,
    follow: bool,
    discover: bool,
) -> anyhow::Result<ExitCode> {
    let mut merged = Merged::new(ctx, layout);
    merged.short_ids(&sessions);
    for loc in sessions {
        merged.add(loc);
    }
    if !follow {
        for source in &merged.sources {
            crate::reconcile::reconcile_one(
                ctx.ui,
                &source.loc,
                &csa_process::ProbeContext::new(),
                Trigger::SessionLogs,
            );
        }
        merged.print_blocks(layout.tail)?;
        merged.flush_all()?;
        return Ok(ExitCode::SUCCESS);
    }
    merged.follow(discover)
}

struct Merged<'c> {
    ui: &'c Ui,
    ctx: &'c Context<'c>,
    layout: Layout,
    ids: ShortIds,
    sources: Vec<Source>,
    known: HashSet<SessionId>,
    palette: Palette,
    /// The bytes to write, gathered across the lines of one wake.
    out: Vec<u8>,
    closed: bool,
}

impl<'c> Merged<'c> {
    fn new(ctx: &'c Context<'c>, layout: Layout) -> Merged<'c> {
        Merged {
            ui: ctx.ui,
            ctx,
            layout,
            ids: ShortIds::default(),
            sources: Vec::new(),
            known: HashSet::new(),
            palette: ctx.ui.stdout_palette(),
            out: Vec::with_capacity(CHUNK),
            closed: false,
        }
    }

    /// The short ids: unique among the project's sessions and these.
    fn short_ids(&mut self, extra: &[SessionLocation]) {
        let project = crate::context::sessions_in(&self.ctx.sessions_dirs()).unwrap_or_default();
        // Each id once: an id twice in the set would share all its characters.
        let ids: std::collections::BTreeSet<&str> = project
            .iter()
            .chain(extra)
            .map(|loc| loc.id.as_str())
            .collect();
        self.ids = ShortIds::new(ids);
    }

    fn add(&mut self, loc: SessionLocation) {
        if !self.known.insert(loc.id.clone()) {
            return;
        }
        let label = self.label(self.sources.len(), &loc.id);
        let mut streams = Vec::with_capacity(2);
        if self.layout.streams != Streams::Stderr {
            streams.push(LineStream::new(
                loc.dir.output_log(),
                loc.dir.output_log_rotated(),
                false,
            ));
        }
        if self.layout.streams != Streams::Output {
            streams.push(LineStream::new(
                loc.dir.stderr_log(),
                loc.dir.stderr_log_rotated(),
                true,
            ));
        }
        self.sources.push(Source {
            loc,
            label,
            streams,
            ended: None,
        });
    }

    /// The prefix of the `at`th session: its short id in its colour.
    fn label(&self, at: usize, id: &SessionId) -> Vec<u8> {
        if !self.layout.prefix {
            return Vec::new();
        }
        let colour = COLOURS[at % COLOURS.len()];
        let short = self.ids.of(id.as_str());
        let mut label = self
            .palette
            .paint(Style::new().fg_color(Some(colour.into())), short);
        label.push_str(" | ");
        label.into_bytes()
    }

    /// Open every log that exists (at its last `tail` lines) and print what
    /// each holds, one block per log, the least recently written first.
    fn print_blocks(&mut self, tail: Option<usize>) -> anyhow::Result<()> {
        let mut order = Vec::new();
        for (s, source) in self.sources.iter_mut().enumerate() {
            for (l, stream) in source.streams.iter_mut().enumerate() {
                if stream.open(tail)? || stream.is_open() {
                    order.push((stream.modified(), s, l));
                }
            }
        }
        order.sort();
        for (_, s, l) in order {
            self.read_stream(s, l)?;
        }
        self.write()
    }

    fn read_stream(&mut self, s: usize, l: usize) -> anyhow::Result<()> {
        let layout = self.layout;
        let source = &mut self.sources[s];
        let out = &mut self.out;
        let label = &source.label;
        let mut line = |bytes: &[u8], stderr: bool| {
            push_line(out, label, layout.timestamps, stderr, bytes);
            true
        };
        source.streams[l].read_new(&mut line)?;
        if out.len() >= CHUNK {
            self.write()?;
        }
        Ok(())
    }

    fn flush_source(&mut self, s: usize) {
        let layout = self.layout;
        let source = &mut self.sources[s];
        let out = &mut self.out;
        let label = &source.label;
        for stream in &mut source.streams {
            let mut line = |bytes: &[u8], stderr: bool| {
                push_line(out, label, layout.timestamps, stderr, bytes);
                true
            };
            stream.flush(&mut line);
        }
    }

    fn flush_all(&mut self) -> anyhow::Result<()> {
        for s in 0..self.sources.len() {
            self.flush_source(s);
        }
        self.write()
    }

    /// Write what was gathered; remember a closed stdout.
    fn write(&mut self) -> anyhow::Result<()> {
        if !self.out.is_empty() && !self.closed {
            self.closed = !self.ui.stdout_raw(&self.out)?;
        }
        self.out.clear();
        Ok(())
    }

    fn follow(mut self, discover: bool) -> anyhow::Result<ExitCode> {
        let mut watch = EndWatch::new(Trigger::SessionLogs);
        if discover {
            for dir in self.ctx.sessions_dirs() {
                watch.watch_entries(&dir.path);
            }
        }
        for source in &self.sources {
            watch.add(&source.loc, &log_paths(source));
        }
        // `--tail` applies to what the logs hold now; a log that appears
        // later is new output, printed from its start.
        self.print_blocks(self.layout.tail)?;
        let mut contents_watched: HashSet<PathBuf> = HashSet::new();
        loop {
            if discover {
                self.discover(&mut watch)?;
            }
            for s in 0..self.sources.len() {
                if self.sources[s].ended.is_some() {
                    continue;
                }
                // Look at the ending first: once it has ended, its logs are complete.
                let ending = watch.check(&self.sources[s].loc)?;
                for l in 0..self.sources[s].streams.len() {
                    let stream = &mut self.sources[s].streams[l];
                    stream.open(None)?;
                    let moved = stream.take_moved();
                    if stream.is_open()
                        && (contents_watched.insert(stream.path().to_path_buf()) || moved)
                    {
                        // A log that links elsewhere: its folder's events miss its writes.
                        watch.watch_contents(stream.path());
                    }
                    self.read_stream(s, l)?;
                }
                if let Some(ending) = ending {
                    self.flush_source(s);
                    if let Ending::Removed = ending {
                        self.write()?;
                        let id = &self.sources[s].loc.id;
                        self.ui.stderr(&format!("{id} removed\n"));
                    }
                    self.sources[s].ended = Some(ending.exit_code());
                }
            }
            self.write()?;
            if self.closed {
                return Ok(ExitCode::SUCCESS);
            }
            if self.sources.iter().all(|s| s.ended.is_some()) {
                break;
            }
            watch.wait(None);
        }
        let codes: Vec<u8> = self.sources.iter().filter_map(|s| s.ended).collect();
        let several = discover || codes.len() > 1;
        Ok(ExitCode::from(match codes.as_slice() {
            [one] if !several => *one,
            all if all.iter().all(|code| *code == 0) => 0,
            _ => 1,
        }))
    }

    /// Add the project's sessions that started since the last look.
    fn discover(&mut self, watch: &mut EndWatch) -> anyhow::Result<()> {
        let found = crate::context::sessions_in(&self.ctx.sessions_dirs())?;
        let new: Vec<SessionLocation> = found
            .into_iter()
            .filter(|loc| !self.known.contains(&loc.id))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        // A new id may share more characters with one already shown.
        self.short_ids(&new);
        for at in 0..self.sources.len() {
            self.sources[at].label = self.label(at, &self.sources[at].loc.id);
        }
        for loc in new {
            tracing::info!(session = %loc.id, "a session started: following its logs");
            let at = self.sources.len();
            self.add(loc);
            if let Some(source) = self.sources.get(at) {
                watch.add(&source.loc, &log_paths(source));
            }
        }
        Ok(())
    }
}

fn log_paths(source: &Source) -> Vec<PathBuf> {
    source
        .streams
        .iter()
        .map(|s| s.path().to_path_buf())
        .collect()
}

/// Append one line with its prefixes to `out`.
fn push_line(out: &mut Vec<u8>, label: &[u8], timestamps: bool, stderr: bool, line: &[u8]) {
    out.extend_from_slice(label);
    if timestamps {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        out.extend_from_slice(now.as_bytes());
        out.push(b' ');
    }
    if stderr {
        out.extend_from_slice(b"! ");
    }
    out.extend_from_slice(line);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_gets_its_prefixes_in_order() {
        let mut out = Vec::new();
        push_line(&mut out, b"01KAZ9AB | ", false, true, b"fatal\x1b[0m");
        assert_eq!(out, b"01KAZ9AB | ! fatal\x1b[0m\n");
        let mut out = Vec::new();
        push_line(&mut out, b"", true, false, b"ok");
        let text = String::from_utf8(out).unwrap();
        let (time, rest) = text.split_once(' ').unwrap();
        assert_eq!(rest, "ok\n");
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
        assert_eq!(time.len(), "2026-01-01T00:00:00.000Z".len(), "{time}");
    }
}
