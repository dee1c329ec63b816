//! One cached `csa session list` row as one line of text.
//!
//! Fields are separated by tabs, in this order: session id, state fingerprint,
//! result fingerprint, status, phase, sort key, last accessed, description,
//! tools, branch, project path, termination reason, parent session id,
//! genealogy depth, run command, run cwd, run timeout. A fingerprint is `size,mtime_ns,ctime_ns,inode`, or `-`
//! for no file; the sort key is nanoseconds since the epoch, or `-`; the depth
//! and the run timeout are integers, or `-`. An optional text is empty when
//! absent and `=` plus the escaped text when present; the tools and the run
//! command are such texts joined by U+001F, the command `-` without a `[run]`
//! table (then the cwd is empty and the timeout `-`). Escapes: `\\`, `\t`, `\n` and `\u` (U+001F), so a field never
//! holds a separator. Decoding borrows from the line unless a field has an
//! escape; any malformed line decodes to `None` (a cache miss).

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::DateTime;
use csa_session::Phase;

use super::fingerprint::{Fingerprint, Fingerprints};
use crate::status::{RunView, SessionRow, Status};

const FIELDS: usize = 17;
const TOOL_SEPARATOR: char = '\u{1f}';
const ABSENT: &str = "-";

/// The fields of one cache line.
pub struct Line<'a> {
    fields: [&'a str; FIELDS],
}

impl<'a> Line<'a> {
    /// Split a line (without its newline) into its fields.
    pub fn split(line: &'a str) -> Option<Line<'a>> {
        // One SIMD pass over the line finds every tab (`str::split` searched
        // for each one anew: a fifth of a steady-state list's instructions).
        let mut tabs = memchr::memchr_iter(b'\t', line.as_bytes());
        let mut fields = [""; FIELDS];
        let mut start = 0;
        let (last, leading) = fields.split_last_mut()?;
        for field in leading {
            let end = tabs.next()?;
            // A tab is ASCII: both ends are character boundaries.
            *field = line.get(start..end)?;
            start = end + 1;
        }
        *last = line.get(start..)?;
        tabs.next().is_none().then_some(Line { fields })
    }

    /// The fingerprints the row was computed from.
    pub fn files(&self) -> Option<Fingerprints> {
        Some(Fingerprints {
            state: fingerprint(self.fields[1])?,
            result: fingerprint(self.fields[2])?,
        })
    }

    /// The row itself (no liveness, no error: such rows are never cached).
    pub fn row(&self) -> Option<SessionRow<'a>> {
        let [
            id,
            _,
            _,
            status,
            phase,
            key,
            accessed,
            description,
            tools,
            branch,
            project,
            reason,
            parent,
            depth,
            command,
            cwd,
            timeout,
        ] = self.fields;
        let sort_key = match key {
            ABSENT => None,
            nanos => Some(DateTime::from_timestamp_nanos(nanos.parse().ok()?)),
        };
        Some(SessionRow {
            session_id: id,
            status: status_named(status)?,
            phase: Some(Phase::from_str_opt(phase)?),
            last_accessed: optional(accessed)?,
            description: optional(description)?,
            tools: text_list(tools)?,
            branch: optional(branch)?,
            project_path: optional(project)?,
            termination_reason: optional(reason)?,
            parent_session_id: optional(parent)?,
            depth: match depth {
                ABSENT => None,
                depth => Some(depth.parse().ok()?),
            },
            run: run_fields(command, cwd, timeout)?,
            liveness: None,
            error: None,
            sort_key,
        })
    }
}

/// The line for `row` computed from files with these fingerprints (no newline).
/// `None` for rows that carry no phase (broken sessions are never cached).
pub fn encode(files: &Fingerprints, row: &SessionRow<'_>) -> Option<String> {
    let phase = row.phase?;
    let mut line = String::with_capacity(256);
    line.push_str(row.session_id);
    for file in [files.state, files.result] {
        line.push('\t');
        match file {
            Some(f) => {
                let _ = write!(line, "{},{},{},{}", f.size, f.mtime_ns, f.ctime_ns, f.inode);
            }
            None => line.push_str(ABSENT),
        }
    }
    line.push('\t');
    line.push_str(row.status.as_str());
    line.push('\t');
    line.push_str(phase.as_str());
    line.push('\t');
    match row.sort_key.and_then(|t| t.timestamp_nanos_opt()) {
        Some(nanos) => {
            let _ = write!(line, "{nanos}");
        }
        None => line.push_str(ABSENT),
    }
    for text in [&row.last_accessed, &row.description] {
        line.push('\t');
        push_optional(&mut line, text.as_deref());
    }
    line.push('\t');
    push_list(&mut line, &row.tools);
    for text in [
        &row.branch,
        &row.project_path,
        &row.termination_reason,
        &row.parent_session_id,
    ] {
        line.push('\t');
        push_optional(&mut line, text.as_deref());
    }
    line.push('\t');
    match row.depth {
        Some(depth) => {
            let _ = write!(line, "{depth}");
        }
        None => line.push_str(ABSENT),
    }
    line.push('\t');
    match &row.run {
        Some(run) => {
            push_list(&mut line, &run.command);
            line.push('\t');
            push_optional(&mut line, Some(&run.cwd));
            line.push('\t');
            match run.timeout_secs {
                Some(secs) => {
                    let _ = write!(line, "{secs}");
                }
                None => line.push_str(ABSENT),
            }
        }
        None => {
            line.push_str(ABSENT);
            line.push_str("\t\t");
            line.push_str(ABSENT);
        }
    }
    Some(line)
}

fn push_list(line: &mut String, items: &[Cow<'_, str>]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            line.push(TOOL_SEPARATOR);
        }
        push_optional(line, Some(item));
    }
}

/// The `[run]` view of the last three fields; `None` when malformed.
fn run_fields<'a>(command: &'a str, cwd: &'a str, timeout: &'a str) -> Option<Option<RunView<'a>>> {
    if command == ABSENT {
        return (cwd.is_empty() && timeout == ABSENT).then_some(None);
    }
    Some(Some(RunView {
        command: text_list(command)?,
        cwd: optional(cwd)??,
        timeout_secs: match timeout {
            ABSENT => None,
            secs => Some(secs.parse().ok()?),
        },
    }))
}

fn push_optional(line: &mut String, text: Option<&str>) {
    let Some(text) = text else { return };
    line.push('=');
    if !text.contains(['\\', '\t', '\n', TOOL_SEPARATOR]) {
        line.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' => line.push_str("\\\\"),
            '\t' => line.push_str("\\t"),
            '\n' => line.push_str("\\n"),
            TOOL_SEPARATOR => line.push_str("\\u"),
            c => line.push(c),
        }
    }
}

/// `Some(None)` for an absent text, `None` for a malformed field.
fn optional(field: &str) -> Option<Option<Cow<'_, str>>> {
    if field.is_empty() {
        return Some(None);
    }
    let text = field.strip_prefix('=')?;
    Some(Some(unescape(text)?))
}

fn unescape(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains('\\') {
        return Some(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'u' => TOOL_SEPARATOR,
            _ => return None,
        });
    }
    Some(Cow::Owned(out))
}

fn text_list(field: &str) -> Option<Vec<Cow<'_, str>>> {
    if field.is_empty() {
        return Some(Vec::new());
    }
    field
        .split(TOOL_SEPARATOR)
        .map(|tool| optional(tool)?)
        .collect()
}

/// `Some(None)` for `-` (no file), `None` for a malformed field.
fn fingerprint(field: &str) -> Option<Option<Fingerprint>> {
    if field == ABSENT {
        return Some(None);
    }
    let mut parts = field.split(',');
    let mut next = || parts.next();
    let print = Fingerprint {
        size: next()?.parse().ok()?,
        mtime_ns: next()?.parse().ok()?,
        ctime_ns: next()?.parse().ok()?,
        inode: next()?.parse().ok()?,
    };
    next().is_none().then_some(Some(print))
}

fn status_named(name: &str) -> Option<Status> {
    [
        Status::Active,
        Status::Available,
        Status::Retired,
        Status::Failed,
        Status::Error,
    ]
    .into_iter()
    .find(|status| status.as_str() == name)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn print(n: u64) -> Fingerprint {
        Fingerprint {
            size: n,
            mtime_ns: -1,
            ctime_ns: i64::MAX,
            inode: u64::MAX - n,
        }
    }

    fn row<'a>(texts: [Option<&'a str>; 6], tools: Vec<&'a str>) -> SessionRow<'a> {
        let [accessed, description, branch, project, reason, parent] =
            texts.map(|t| t.map(Cow::Borrowed));
        SessionRow {
            session_id: "01J0000000000000000000000A",
            status: Status::Failed,
            phase: Some(Phase::Retired),
            last_accessed: accessed,
            description,
            tools: tools.into_iter().map(Cow::Borrowed).collect(),
            branch,
            project_path: project,
            termination_reason: reason,
            parent_session_id: parent,
            depth: Some(-3),
            run: None,
            liveness: None,
            error: None,
            sort_key: Some(DateTime::from_timestamp_nanos(1_700_000_000_123_456_789)),
        }
    }

    fn round_trip(files: Fingerprints, original: &SessionRow<'_>) {
        let encoded = encode(&files, original).expect("a row with a phase encodes");
        assert!(!encoded.contains('\n'), "one line: {encoded:?}");
        let line = Line::split(&encoded).expect("its own line splits");
        assert_eq!(line.files(), Some(files));
        let decoded = line.row().expect("its own line decodes");
        assert_eq!(
            serde_json::to_value(&decoded).expect("json"),
            serde_json::to_value(original).expect("json")
        );
        assert_eq!(decoded.sort_key, original.sort_key);
    }

    #[test]
    fn absent_and_empty_texts_stay_distinct() {
        let files = Fingerprints {
            state: Some(print(1)),
            result: None,
        };
        round_trip(
            files,
            &row([None, Some(""), None, Some(""), None, Some("")], vec![]),
        );
        round_trip(
            files,
            &row([Some(""), None, Some(""), None, Some(""), None], vec![""]),
        );
        let mut no_depth = row([None; 6], vec!["", ""]);
        no_depth.depth = None;
        round_trip(files, &no_depth);
    }

    #[test]
    fn the_run_table_round_trips_and_its_absence_too() {
        let files = Fingerprints {
            state: Some(print(5)),
            result: None,
        };
        let mut with_run = row([Some("x"); 6], vec!["demo"]);
        for (command, timeout) in [(vec!["sh", "-c", "a\tb\u{1f}"], Some(30)), (vec![], None)] {
            with_run.run = Some(RunView {
                command: command.into_iter().map(Cow::Borrowed).collect(),
                cwd: Cow::Borrowed("/work/p r"),
                timeout_secs: timeout,
            });
            round_trip(files, &with_run);
        }
        let without = encode(&files, &row([Some("x"); 6], vec![])).expect("encodes");
        assert!(without.ends_with("\t-\t\t-"), "{without:?}");
        // A cwd or timeout without a command is malformed.
        for bad in [
            format!(
                "{}\t=/p\t-",
                without.strip_suffix("\t-\t\t-").unwrap_or_default()
            ),
            format!(
                "{}\t-\t\t30",
                without.strip_suffix("\t-\t\t-").unwrap_or_default()
            ),
            without.replacen("\t-\t\t-", "\t=sh\t=/p\tsoon", 1),
        ] {
            assert!(Line::split(&bad).and_then(|l| l.row()).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn separators_and_backslashes_survive() {
        let files = Fingerprints {
            state: Some(print(7)),
            result: Some(print(8)),
        };
        let nasty = "a\tb\nc\\d\u{1f}e\\t=é";
        round_trip(files, &row([Some(nasty); 6], vec![nasty, "=", "\\"]));
    }

    #[test]
    fn malformed_lines_are_misses() {
        let files = Fingerprints {
            state: Some(print(1)),
            result: None,
        };
        let good = encode(&files, &row([Some("x"); 6], vec!["codex"])).expect("encodes");
        assert!(Line::split(&good).and_then(|l| l.row()).is_some());
        let broken = [
            good.replacen('\t', " ", 1),                     // a field too few
            format!("{good}\t"),                             // a field too many
            good.replacen("Failed", "Gone", 1),              // unknown status
            good.replacen("retired", "sleeping", 1),         // unknown phase
            good.replacen("=x", "x", 1),                     // text without its marker
            good.replacen("=x", "=\\q", 1),                  // unknown escape
            good.replacen("=x", "=x\\", 1),                  // dangling escape
            good.replacen("1700000000123456789", "soon", 1), // bad sort key
            good.replacen("\t-3", "\tdeep", 1),              // bad depth
        ];
        for line in &broken {
            let decoded = Line::split(line).and_then(|l| Some((l.files()?, l.row()?)));
            assert!(decoded.is_none(), "accepted {line:?}");
        }
        let bad_print = good.replacen(",-1,", ",x,", 1);
        assert_eq!(Line::split(&bad_print).and_then(|l| l.files()), None);
    }

    proptest! {
        #[test]
        fn any_row_round_trips(
            texts in proptest::array::uniform6(proptest::option::of(".{0,12}")),
            tools in proptest::collection::vec(".{0,6}", 0..4),
            result in proptest::option::of(any::<u64>()),
        ) {
            let files = Fingerprints { state: Some(print(3)), result: result.map(print) };
            let texts = texts.each_ref().map(|t| t.as_deref());
            round_trip(files, &row(texts, tools.iter().map(String::as_str).collect()));
        }
    }
}
