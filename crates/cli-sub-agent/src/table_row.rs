//! What the table of `csa session list` draws of one session: its cells,
//! escaped where they are final, packed into one string. A list builds one
//! per row as the row is read and drops the row, so 100,000 sessions are
//! listed holding about 100 bytes of text and 100 of fields each, never the
//! rows themselves (see `csa_session::listing::each_row`).
//!
//! Two cells are finished only when the table is drawn: SESSION (the short
//! id, unique among every listed session, after tree guides) and
//! DESCRIPTION (a tree note before it, cut to the width left).

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Utc};

use csa_session::genealogy::Member;
use csa_session::{SessionRow, SessionStatus, ShortIds};

use crate::term;

/// The packed fields, in order.
const ID: usize = 0;
const ELAPSED: usize = 1;
const OUTCOME: usize = 2;
const DESCRIPTION: usize = 3;
const TOOLS: usize = 4;
const BRANCH: usize = 5;
const PROJECT: usize = 6;
const PARENT: usize = 7;
const FIELDS: usize = 8;

/// The longest description kept (in bytes, cut at a character): wider than
/// any terminal's DESCRIPTION column.
const MAX_DESCRIPTION: usize = 1024;
/// The longest any other field is kept, so that every field ends within
/// what a `u16` counts.
const MAX_FIELD: usize = 4096;

/// A time as nanoseconds since the epoch, in 8 bytes (`None`: `i64::MIN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Instant(i64);

impl Instant {
    fn of(time: Option<DateTime<Utc>>) -> Instant {
        Instant(time.map_or(i64::MIN, |t| {
            t.timestamp_nanos_opt()
                .unwrap_or(t.timestamp().saturating_mul(1_000_000_000))
        }))
    }

    fn time(self) -> Option<DateTime<Utc>> {
        (self.0 != i64::MIN).then(|| DateTime::from_timestamp_nanos(self.0))
    }
}

/// Which cells a list draws, so the others are not kept.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keep {
    /// The table's cells (else only the id, the sort key and the parent).
    pub cells: bool,
    /// PROJECT (`--all-projects`).
    pub project: bool,
    /// The parent (`--tree`).
    pub parent: bool,
}

/// One row of the table (see the module's doc).
#[derive(Debug, Clone)]
pub struct TableRow {
    text: Box<str>,
    /// Where each field ends in `text`.
    ends: [u16; FIELDS],
    pub status: SessionStatus,
    /// How much of the id SESSION shows.
    short_len: u8,
    /// DESCRIPTION is the row's error, escaped and never cut.
    pub error: bool,
    started_at: Instant,
    /// Newest first (`last_accessed`).
    sort_key: Instant,
}

impl TableRow {
    /// The cells of `row` that `keep` asks for; its short id among `short_ids`.
    pub fn of(row: &SessionRow<'_>, keep: Keep, short_ids: &ShortIds) -> TableRow {
        let mut fields: [Cow<'_, str>; FIELDS] = Default::default();
        fields[ID] = Cow::Borrowed(row.session_id);
        if keep.parent {
            fields[PARENT] = Cow::Borrowed(row.parent_session_id.as_deref().unwrap_or(""));
        }
        if keep.cells {
            fields[ELAPSED] = row
                .elapsed_secs
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                .map_or(Cow::Borrowed("-"), |took| {
                    Cow::Owned(term::human_duration(took))
                });
            fields[OUTCOME] = row.outcome_text().unwrap_or(Cow::Borrowed(""));
            fields[DESCRIPTION] = match &row.error {
                Some(error) => Cow::Owned(format!(
                    "error: {}",
                    term::escape(&error.replace('\n', " "))
                )),
                None => Cow::Borrowed(cut_at(
                    row.description.as_deref().unwrap_or(""),
                    MAX_DESCRIPTION,
                )),
            };
            fields[TOOLS] = match row.tools.as_slice() {
                [] => Cow::Borrowed(""),
                [one] => term::escape(one),
                many => Cow::Owned(term::escape(&many.join(",")).into_owned()),
            };
            fields[BRANCH] = term::escape(row.branch.as_deref().unwrap_or(""));
            if keep.project {
                fields[PROJECT] = term::escape(row.project_path.as_deref().unwrap_or(""));
            }
        }
        let mut text = String::with_capacity(fields.iter().map(|f| f.len()).sum());
        let mut ends = [0u16; FIELDS];
        for (end, field) in ends.iter_mut().zip(&fields) {
            text.push_str(cut_at(field, MAX_FIELD));
            *end = u16::try_from(text.len()).unwrap_or(u16::MAX);
        }
        TableRow {
            text: text.into_boxed_str(),
            ends,
            status: row.status,
            short_len: u8::try_from(short_ids.of(row.session_id).len()).unwrap_or(u8::MAX),
            error: row.error.is_some(),
            started_at: Instant::of(row.started_at),
            sort_key: Instant::of(row.sort_key),
        }
    }

    /// When the session was created.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.started_at.time()
    }

    fn field(&self, field: usize) -> &str {
        let start = field
            .checked_sub(1)
            .map_or(0, |before| usize::from(self.ends[before]));
        self.text
            .get(start..usize::from(self.ends[field]))
            .unwrap_or_default()
    }

    pub fn session_id(&self) -> &str {
        self.field(ID)
    }

    /// What SESSION shows: the id's shortest unique prefix among every
    /// listed session.
    pub fn short_id(&self) -> &str {
        let id = self.session_id();
        id.get(..usize::from(self.short_len)).unwrap_or(id)
    }

    /// ELAPSED, as drawn.
    pub fn elapsed(&self) -> &str {
        self.field(ELAPSED)
    }

    /// OUTCOME, as drawn.
    pub fn outcome(&self) -> &str {
        self.field(OUTCOME)
    }

    /// The description, not escaped (the error, escaped, when [`Self::error`]).
    pub fn description(&self) -> &str {
        self.field(DESCRIPTION)
    }

    /// TOOLS, BRANCH and PROJECT, as drawn.
    pub fn tools(&self) -> &str {
        self.field(TOOLS)
    }

    pub fn branch(&self) -> &str {
        self.field(BRANCH)
    }

    pub fn project(&self) -> &str {
        self.field(PROJECT)
    }

    /// The parent's id as its state says, when kept and there is one.
    pub fn parent(&self) -> Option<&str> {
        Some(self.field(PARENT)).filter(|parent| !parent.is_empty())
    }

    /// How the tree of sessions sees this row.
    pub fn member(&self) -> Member<'_> {
        Member {
            id: self.session_id(),
            parent: self.parent(),
            last_accessed: self.sort_key.time(),
        }
    }

    /// Newest first (by `last_accessed`, then by id), as `list` shows rows.
    pub fn newest_first(a: &TableRow, b: &TableRow) -> std::cmp::Ordering {
        b.sort_key
            .cmp(&a.sort_key)
            .then_with(|| b.session_id().cmp(a.session_id()))
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends at a character.
fn cut_at(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let end = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_row_gives_back_each_field_and_keeps_only_what_is_asked() {
        let loc = csa_session::SessionLocation {
            id: csa_session::SessionId::parse("01KAZ9X3M2QAAAAAAAAAAAAAAA").expect("an id"),
            dir: csa_session::SessionDir::new("/s/01KAZ9X3M2QAAAAAAAAAAAAAAA"),
            legacy: false,
        };
        let missing = csa_session::LoadError::Missing {
            path: "/s/x".into(),
        };
        let mut row = SessionRow::broken(&loc, &missing);
        row.error = None;
        row.status = SessionStatus::Retired;
        row.description = Some(Cow::Borrowed("fix \x1b[2J the bug"));
        row.tools = vec![Cow::Borrowed("codex"), Cow::Borrowed("claude")];
        row.branch = Some(Cow::Borrowed("main"));
        row.project_path = Some(Cow::Borrowed("/work/p"));
        row.parent_session_id = Some(Cow::Borrowed("01KAZ9W1B7EBBBBBBBBBBBBBBB"));
        row.elapsed_secs = Some(65.0);
        let all = Keep {
            cells: true,
            project: true,
            parent: true,
        };
        let short = ShortIds::new(["01KAZ9X3M2QAAAAAAAAAAAAAAA", "01KAZ9X3M2ZAAAAAAAAAAAAAAA"]);
        let packed = TableRow::of(&row, all, &short);
        assert_eq!(packed.short_id(), "01KAZ9X3M2Q");
        assert_eq!(packed.session_id(), "01KAZ9X3M2QAAAAAAAAAAAAAAA");
        assert_eq!(packed.elapsed(), "1 min 05 s");
        assert_eq!(
            packed.description(),
            "fix \x1b[2J the bug",
            "raw until drawn"
        );
        assert_eq!(packed.tools(), "codex,claude");
        assert_eq!(packed.branch(), "main");
        assert_eq!(packed.project(), "/work/p");
        assert_eq!(packed.parent(), Some("01KAZ9W1B7EBBBBBBBBBBBBBBB"));
        let bare = TableRow::of(&row, Keep::default(), &short);
        assert_eq!(bare.session_id(), "01KAZ9X3M2QAAAAAAAAAAAAAAA");
        assert_eq!(
            (bare.description(), bare.project(), bare.parent()),
            ("", "", None)
        );
        assert_eq!(&*bare.text, "01KAZ9X3M2QAAAAAAAAAAAAAAA");
        // A long description is kept up to a character boundary.
        let long = "é".repeat(MAX_DESCRIPTION);
        row.description = Some(Cow::Borrowed(&long));
        let kept = TableRow::of(&row, all, &short);
        assert_eq!(kept.description().len(), MAX_DESCRIPTION);
        // An error is the description, escaped on one line.
        row.error = Some("bad\nstate \x1b[2J".to_owned());
        let broken = TableRow::of(&row, all, &short);
        assert!(broken.error);
        assert_eq!(broken.description(), "error: bad state \\x1b[2J");
        // Times keep their nanoseconds, and none is none.
        let at = DateTime::from_timestamp_nanos(1_700_000_000_123_456_789);
        row.started_at = Some(at);
        row.sort_key = None;
        let timed = TableRow::of(&row, all, &short);
        assert_eq!(timed.started_at(), Some(at));
        assert_eq!(timed.member().last_accessed, None);
        // Times keep their nanoseconds, and none is none.
        let at = DateTime::from_timestamp_nanos(1_700_000_000_123_456_789);
        row.started_at = Some(at);
        row.sort_key = None;
        let timed = TableRow::of(&row, all, &short);
        assert_eq!(timed.started_at(), Some(at));
        assert_eq!(timed.member().last_accessed, None);
    }
}
