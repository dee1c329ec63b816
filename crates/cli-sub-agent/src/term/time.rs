//! Times as people read them: how long ago something happened ("3 min ago")
//! and how long something took ("3 min 05 s").
//!
//! Pure functions; the caller passes "now" so that one command shows every row
//! against the same instant and tests need no clock. Values are truncated,
//! never rounded up: 59.9 s is "59 s", not "60 s". JSON output keeps exact
//! RFC 3339 times and numbers; these are for text only.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Below this, an age is "just now" (either way: clocks of two machines may
/// disagree by a little).
const JUST_NOW_SECS: i64 = 5;
const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// How long before `now` `then` was: "just now", "42 s ago", "3 min ago",
/// "5 h ago", "1 day ago", "2 days ago"; a time in the future reads "in 3 min".
pub fn relative_age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    RelativeAge::between(then, now).to_string()
}

/// A relative age as a value: two ages that print the same are equal, so a
/// caller printing many can format each distinct one once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelativeAge {
    JustNow,
    Ago(Span),
    In(Span),
}

/// A whole number of one unit, truncated: "42 s", "3 min", "5 h", "2 days".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    count: u64,
    unit: &'static str,
}

impl RelativeAge {
    /// The age of `then` at `now`.
    pub fn between(then: DateTime<Utc>, now: DateTime<Utc>) -> RelativeAge {
        let secs = now.signed_duration_since(then).num_seconds();
        if secs.abs() < JUST_NOW_SECS {
            return RelativeAge::JustNow;
        }
        let span = Span::of(secs.unsigned_abs());
        if secs < 0 {
            RelativeAge::In(span)
        } else {
            RelativeAge::Ago(span)
        }
    }
}

impl Span {
    fn of(secs: u64) -> Span {
        let (count, unit) = match secs {
            s if s < MINUTE => (s, "s"),
            s if s < HOUR => (s / MINUTE, "min"),
            s if s < DAY => (s / HOUR, "h"),
            s if s < 2 * DAY => (1, "day"),
            s => (s / DAY, "days"),
        };
        Span { count, unit }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.count, self.unit)
    }
}

impl fmt::Display for RelativeAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelativeAge::JustNow => f.write_str("just now"),
            RelativeAge::Ago(span) => write!(f, "{span} ago"),
            RelativeAge::In(span) => write!(f, "in {span}"),
        }
    }
}

/// How long something took: "850 ms", "45 s", "3 min 05 s", "1 h 02 min",
/// "2 days 03 h".
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => format!("{} ms", duration.subsec_millis()),
        s if s < MINUTE => format!("{s} s"),
        s if s < HOUR => format!("{} min {:02} s", s / MINUTE, s % MINUTE),
        s if s < DAY => format!("{} h {:02} min", s / HOUR, s % HOUR / MINUTE),
        s => {
            let days = s / DAY;
            let unit = if days == 1 { "day" } else { "days" };
            format!("{days} {unit} {:02} h", s % DAY / HOUR)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn relative_ages_at_their_boundaries() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .expect("a valid time")
            .with_timezone(&Utc);
        let table: &[(i64, &str)] = &[
            (0, "just now"),
            (4, "just now"),
            (-4, "just now"),
            (5, "5 s ago"),
            (42, "42 s ago"),
            (59, "59 s ago"),
            (60, "1 min ago"),
            (119, "1 min ago"),
            (180, "3 min ago"),
            (3_599, "59 min ago"),
            (3_600, "1 h ago"),
            (5 * 3_600 + 59 * 60, "5 h ago"),
            (86_399, "23 h ago"),
            (86_400, "1 day ago"),
            (2 * 86_400 - 1, "1 day ago"),
            (2 * 86_400, "2 days ago"),
            (400 * 86_400, "400 days ago"),
            (-5, "in 5 s"),
            (-180, "in 3 min"),
            (-2 * 86_400, "in 2 days"),
        ];
        for (secs_ago, expected) in table {
            let then = now - TimeDelta::seconds(*secs_ago);
            assert_eq!(relative_age(then, now), *expected, "{secs_ago} s ago");
        }
        // Sub-second parts never round up.
        let then = now - TimeDelta::milliseconds(59_999);
        assert_eq!(relative_age(then, now), "59 s ago");
    }

    #[test]
    fn durations_at_their_boundaries() {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        let table: &[(Duration, &str)] = &[
            (ms(0), "0 ms"),
            (ms(850), "850 ms"),
            (ms(999), "999 ms"),
            (ms(1_000), "1 s"),
            (ms(1_999), "1 s"),
            (s(45), "45 s"),
            (ms(59_999), "59 s"),
            (s(60), "1 min 00 s"),
            (s(185), "3 min 05 s"),
            (s(3_599), "59 min 59 s"),
            (s(3_600), "1 h 00 min"),
            (s(3_720), "1 h 02 min"),
            (s(86_399), "23 h 59 min"),
            (s(86_400), "1 day 00 h"),
            (s(2 * 86_400 + 3 * 3_600), "2 days 03 h"),
        ];
        for (duration, expected) in table {
            assert_eq!(human_duration(*duration), *expected, "{duration:?}");
        }
    }
}
