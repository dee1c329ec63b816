//! One cached `csa session list` row as one line of text.
//!
//! Fields are separated by tabs, in this order: session id, state fingerprint,
//! result fingerprint, status, phase, sort key, last accessed, description,
//! tools, branch, project path, termination reason, parent session id,
//! genealogy depth, run command, run cwd, run timeout, started at, ended at,
//! exit code, outcome (the fields of [`SessionRow`] that a settled session
//! has; `elapsed_secs` is computed from the two times). A fingerprint is
//! `size,mtime_ns,ctime_ns,inode`, or `-` for no file; the sort key and the
//! two times are nanoseconds since the epoch, or `-`; the depth, the run
//! timeout and the exit code are integers, or `-`; the outcome is its word
//! ([`Outcome::as_str`]) or `-`. An optional text is empty when
//! absent and `=` plus the escaped text when present; the tools and the run
//! command are such texts joined by U+001F, the command `-` without a `[run]`
//! table (then the cwd is empty and the timeout `-`). Escapes: `\\`, `\t`, `\n` and `\u` (U+001F), so a field never
//! holds a separator. Decoding borrows from the line unless a field has an
//! escape; any malformed line decodes to `None` (a cache miss).
//!
//! A line is used only when its fingerprints are, byte for byte, the text
//! that [`FilesText`] writes for the files as they are now: checking a row
//! compares bytes and parses no number.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::phase::Phase;
use chrono::DateTime;

use super::fingerprint::{Fingerprint, Fingerprints};
use crate::row::{RunView, SessionRow};
use crate::status::{Outcome, SessionStatus};

const FIELDS: usize = 21;
const TOOL_SEPARATOR: char = '\u{1f}';
const SEPARATOR_BYTE: u8 = 0x1f;
const ABSENT: &str = "-";
/// The longest fingerprint text: four integers of up to 20 characters each
/// (`u64::MAX`, `i64::MIN`) and three commas.
const FINGERPRINT_MAX: usize = 4 * 20 + 3;

/// The fields of one cache line.
pub struct Line<'a> {
    fields: [&'a str; FIELDS],
    /// The line holds a backslash, so some text field may hold an escape.
    escaped: bool,
}

impl<'a> Line<'a> {
    /// Split a line whose fingerprints are exactly `files`; `None` when they
    /// differ (the row is stale) or the line is malformed. Checking them is
    /// one comparison of bytes: nothing is parsed for a stale row, and the
    /// fingerprints of a fresh one are not split into fields.
    pub fn split_if_files(line: &'a str, files: &FilesText) -> Option<Line<'a>> {
        let id_end = memchr::memchr(b'\t', line.as_bytes())?;
        let files_end = id_end + 1 + files.len;
        let after = line.as_bytes().get(id_end + 1..)?;
        if !after.starts_with(files.as_bytes()) || line.as_bytes().get(files_end) != Some(&b'\t') {
            return None;
        }
        let mut fields = [""; FIELDS];
        fields[0] = line.get(..id_end)?;
        let state_end = id_end + 1 + files.state_len;
        fields[1] = line.get(id_end + 1..state_end)?;
        fields[2] = line.get(state_end + 1..files_end)?;
        fill(&mut fields[3..], line.get(files_end + 1..)?)?;
        Some(Line::new(fields, line))
    }

    fn new(fields: [&'a str; FIELDS], line: &'a str) -> Line<'a> {
        // One search of the whole line: most lines hold no escape at all,
        // and then no field needs its own search.
        let escaped = memchr::memchr(b'\\', line.as_bytes()).is_some();
        Line { fields, escaped }
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
            started,
            ended,
            exit_code,
            outcome,
        ] = self.fields;
        let text = |field| optional(field, self.escaped);
        let mut row = SessionRow {
            session_id: id,
            status: SessionStatus::parse(status)?,
            phase: Some(Phase::from_str_opt(phase)?),
            last_accessed: text(accessed)?,
            description: text(description)?,
            tools: text_list(tools, self.escaped)?,
            branch: text(branch)?,
            project_path: text(project)?,
            termination_reason: text(reason)?,
            parent_session_id: text(parent)?,
            depth: match depth {
                ABSENT => None,
                depth => Some(depth.parse().ok()?),
            },
            run: run_fields([command, cwd, timeout], self.escaped)?,
            liveness: None,
            error: None,
            started_at: time(started)?,
            ended_at: time(ended)?,
            elapsed_secs: None,
            elapsed: None,
            exit_code: match exit_code {
                ABSENT => None,
                code => Some(code.parse().ok()?),
            },
            outcome: match outcome {
                ABSENT => None,
                word => Some(Outcome::parse(word)?),
            },
            logs: None,
            sort_key: time(key)?,
        };
        // Cached rows are settled: their running time ends with them.
        row.set_elapsed(None);
        Some(row)
    }
}

/// A time field: `Some(None)` for `-`, `None` when malformed.
fn time(field: &str) -> Option<Option<DateTime<chrono::Utc>>> {
    match field {
        ABSENT => Some(None),
        nanos => Some(Some(DateTime::from_timestamp_nanos(nanos.parse().ok()?))),
    }
}

fn push_time(line: &mut String, time: Option<DateTime<chrono::Utc>>) {
    match time.and_then(|t| t.timestamp_nanos_opt()) {
        Some(nanos) => {
            let _ = write!(line, "{nanos}");
        }
        None => line.push_str(ABSENT),
    }
}

/// Both fingerprints as a line holds them (`state<tab>result`), written on
/// the stack by the same code that writes the line.
pub struct FilesText {
    buf: [u8; 2 * FINGERPRINT_MAX + 1],
    len: usize,
    state_len: usize,
}

impl FilesText {
    pub fn of(files: &Fingerprints) -> FilesText {
        let mut text = FilesText {
            buf: [0; 2 * FINGERPRINT_MAX + 1],
            len: 0,
            state_len: 0,
        };
        text.push_file(files.state);
        text.state_len = text.len;
        text.push(b"\t");
        text.push_file(files.result);
        text
    }

    fn push_file(&mut self, file: Option<Fingerprint>) {
        let Some(f) = file else {
            return self.push(ABSENT.as_bytes());
        };
        let mut int = itoa::Buffer::new();
        self.push(int.format(f.size).as_bytes());
        self.push(b",");
        self.push(int.format(f.mtime_ns).as_bytes());
        self.push(b",");
        self.push(int.format(f.ctime_ns).as_bytes());
        self.push(b",");
        self.push(int.format(f.inode).as_bytes());
    }

    /// Append `bytes` (the buffer holds the two longest fingerprints).
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if let Some(free) = self.buf.get_mut(self.len..end) {
            free.copy_from_slice(bytes);
            self.len = end;
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Digits, minus signs, commas, a tab and `-`: always UTF-8.
    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// Split `text` at its tabs into exactly `fields.len()` fields.
fn fill<'a>(fields: &mut [&'a str], text: &'a str) -> Option<()> {
    let mut start = 0;
    let mut count = 0;
    for end in Tabs::new(text.as_bytes()) {
        // A tab is ASCII: both ends are character boundaries.
        *fields.get_mut(count)? = text.get(start..end)?;
        count += 1;
        start = end + 1;
    }
    *fields.get_mut(count)? = text.get(start..)?;
    (count + 1 == fields.len()).then_some(())
}

/// The positions of the tabs in a line, found eight bytes at a time: for a
/// line of short fields, one `memchr` call per tab cost more in set-up than
/// in search.
struct Tabs<'a> {
    bytes: &'a [u8],
    /// Where the next word starts.
    next: usize,
    /// Where the current word starts.
    base: usize,
    /// The high bit of each tab byte of the current word not yet returned.
    found: u64,
}

impl<'a> Tabs<'a> {
    fn new(bytes: &'a [u8]) -> Tabs<'a> {
        Tabs {
            bytes,
            next: 0,
            base: 0,
            found: 0,
        }
    }
}

/// The high bit of each byte of `word` that is a tab, and no other bit.
fn tabs_in(word: [u8; 8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // A byte of `x` is zero exactly where `word` has a tab; then neither the
    // sum (no carry leaves a byte) nor `x` sets its high bit.
    let x = u64::from_le_bytes(word) ^ u64::from_le_bytes([b'\t'; 8]);
    !(((x & LOW7) + LOW7) | x | LOW7)
}

impl Iterator for Tabs<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.found == 0 {
            let rest = self
                .bytes
                .get(self.next..)
                .filter(|rest| !rest.is_empty())?;
            let word = match rest.first_chunk::<8>() {
                Some(word) => *word,
                // The last word is padded with zeros, which are not tabs.
                None => {
                    let mut word = [0; 8];
                    word[..rest.len()].copy_from_slice(rest);
                    word
                }
            };
            self.base = self.next;
            self.next += 8;
            self.found = tabs_in(word);
        }
        let at = self.base + self.found.trailing_zeros() as usize / 8;
        self.found &= self.found - 1;
        Some(at)
    }
}

/// The line for `row` computed from files with these fingerprints (no newline).
/// `None` for rows that carry no phase (broken sessions are never cached).
pub fn encode(files: &Fingerprints, row: &SessionRow<'_>) -> Option<String> {
    let phase = row.phase?;
    let mut line = String::with_capacity(256);
    line.push_str(row.session_id);
    line.push('\t');
    line.push_str(FilesText::of(files).as_str());
    line.push('\t');
    line.push_str(row.status.as_str());
    line.push('\t');
    line.push_str(phase.as_str());
    line.push('\t');
    push_time(&mut line, row.sort_key);
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
    for time in [row.started_at, row.ended_at] {
        line.push('\t');
        push_time(&mut line, time);
    }
    line.push('\t');
    match row.exit_code {
        Some(code) => {
            let _ = write!(line, "{code}");
        }
        None => line.push_str(ABSENT),
    }
    line.push('\t');
    line.push_str(row.outcome.map_or(ABSENT, Outcome::as_str));
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
fn run_fields([command, cwd, timeout]: [&str; 3], escaped: bool) -> Option<Option<RunView<'_>>> {
    if command == ABSENT {
        return (cwd.is_empty() && timeout == ABSENT).then_some(None);
    }
    Some(Some(RunView {
        command: text_list(command, escaped)?,
        cwd: optional(cwd, escaped)??,
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

/// `Some(None)` for an absent text, `None` for a malformed field. Only the
/// fields of a line that holds a backslash are searched for escapes.
fn optional(field: &str, escaped: bool) -> Option<Option<Cow<'_, str>>> {
    if field.is_empty() {
        return Some(None);
    }
    let text = field.strip_prefix('=')?;
    if !escaped {
        return Some(Some(Cow::Borrowed(text)));
    }
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

fn text_list(field: &str, escaped: bool) -> Option<Vec<Cow<'_, str>>> {
    if field.is_empty() {
        return Some(Vec::new());
    }
    // Most lists hold one text, and then need no splitting.
    if memchr::memchr(SEPARATOR_BYTE, field.as_bytes()).is_none() {
        return Some(vec![optional(field, escaped)??]);
    }
    field
        .split(TOOL_SEPARATOR)
        .map(|text| optional(text, escaped)?)
        .collect()
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
        let mut row = SessionRow {
            session_id: "01J0000000000000000000000A",
            status: SessionStatus::Failed,
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
            started_at: Some(DateTime::from_timestamp_nanos(1_699_999_000_000_000_001)),
            ended_at: Some(DateTime::from_timestamp_nanos(1_700_000_000_000_000_000)),
            elapsed_secs: None,
            elapsed: None,
            exit_code: Some(-9),
            outcome: Some(Outcome::Killed),
            logs: None,
            sort_key: Some(DateTime::from_timestamp_nanos(1_700_000_000_123_456_789)),
        };
        row.set_elapsed(None);
        row
    }

    fn round_trip(files: Fingerprints, original: &SessionRow<'_>) {
        let encoded = encode(&files, original).expect("a row with a phase encodes");
        assert!(!encoded.contains('\n'), "one line: {encoded:?}");
        let line = Line::split_if_files(&encoded, &FilesText::of(&files));
        let decoded = line
            .expect("its own line splits")
            .row()
            .expect("and decodes");
        let other = Fingerprints {
            result: files.state,
            state: files.result.or(files.state),
        };
        if other != files {
            let stale = Line::split_if_files(&encoded, &FilesText::of(&other));
            assert!(stale.is_none(), "{encoded:?} served for other files");
        }
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
        let mut bare = row([Some("x"); 6], vec![]);
        (bare.started_at, bare.ended_at, bare.exit_code, bare.outcome) = (None, None, None, None);
        bare.set_elapsed(None);
        round_trip(files, &bare);
        let without = encode(&files, &bare).expect("encodes");
        // No run, then no times, exit code or outcome.
        let tail = "\t-\t-\t-\t-";
        let head = without
            .strip_suffix(&format!("\t-\t\t-{tail}"))
            .expect("a row without [run] ends so");
        // A cwd or timeout without a command is malformed.
        for bad in [
            format!("{head}\t=/p\t-{tail}"),
            format!("{head}\t-\t\t30{tail}"),
            format!("{head}\t=sh\t=/p\tsoon{tail}"),
        ] {
            let decoded = Line::split_if_files(&bad, &FilesText::of(&files));
            assert!(decoded.and_then(|l| l.row()).is_none(), "{bad:?}");
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
        let text = FilesText::of(&files);
        let split = |line: &str| {
            Line::split_if_files(line, &text)
                .and_then(|l| l.row())
                .is_some()
        };
        assert!(split(&good));
        let broken = [
            good.replacen('\t', " ", 1),                         // a field too few
            format!("{good}\t"),                                 // a field too many
            good.replacen("Failed", "Gone", 1),                  // unknown status
            good.replacen("retired", "sleeping", 1),             // unknown phase
            good.replacen("=x", "x", 1),                         // text without its marker
            good.replacen("=x", "=\\q", 1),                      // unknown escape
            good.replacen("=x", "=x\\", 1),                      // dangling escape
            good.replacen("1700000000123456789", "soon", 1),     // bad sort key
            good.replacen("\t-3", "\tdeep", 1),                  // bad depth
            good.replacen("\t-9\t", "\tnine\t", 1),              // bad exit code
            good.replacen("\tkilled", "\tshot", 1),              // unknown outcome
            good.replacen("\t1699999000000000001", "\tthen", 1), // bad start
        ];
        for line in &broken {
            assert!(!split(line), "accepted {line:?}");
        }
        // A fingerprint that is not one never matches the files.
        for print in [",x,", ",-1 ,", ",+1,", ",-01,"] {
            let bad_print = good.replacen(",-1,", print, 1);
            assert!(!split(&bad_print), "accepted {bad_print:?}");
        }
    }

    #[test]
    fn the_widest_fingerprints_fit() {
        let widest = Fingerprint {
            size: u64::MAX,
            mtime_ns: i64::MIN,
            ctime_ns: i64::MIN,
            inode: u64::MAX,
        };
        let files = Fingerprints {
            state: Some(widest),
            result: Some(widest),
        };
        let one = format!("{},{},{},{}", u64::MAX, i64::MIN, i64::MIN, u64::MAX);
        assert_eq!(FilesText::of(&files).as_str(), format!("{one}\t{one}"));
        round_trip(files, &row([Some("x"); 6], vec!["codex"]));
    }

    proptest! {
        #[test]
        fn tabs_are_found_where_they_are(text in "[\t\u{9}a\u{89}\u{0}\u{1f}]{0,40}") {
            let naive: Vec<usize> = text.bytes().enumerate()
                .filter(|(_, b)| *b == b'\t')
                .map(|(at, _)| at)
                .collect();
            prop_assert_eq!(Tabs::new(text.as_bytes()).collect::<Vec<_>>(), naive);
        }

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
