//! Durations on the command line, as clap value parsers (a bad value is a
//! usage error, exit 2, before anything is created or signalled):
//!
//! - `DURATION` (`csa run --timeout`, `csa session clean --older-than`): a
//!   whole number with an optional unit, `90` or `90s` (seconds), `15m`,
//!   `2h`, `7d`;
//! - `SECS` (`csa session kill --grace`, `csa session wait --timeout`): a
//!   non-negative number of seconds, fractions allowed (`5`, `0.5`).
//!
//! Both are at most [`MAX`] (10 years): nobody means more, and a larger value
//! (`--timeout 9223372036854775807`, `--grace 1e30`) would overflow the
//! clocks it is added to.

use std::time::Duration;

use crate::term::escape;

/// The longest duration any argument takes: 10 years of 365 days.
pub const MAX: Duration = Duration::from_secs(MAX_DAYS * 86_400);
/// [`MAX`] in days, as a `DURATION` spells it.
const MAX_DAYS: u64 = 3_650;

/// The refusal of `text`, longer than [`MAX`] (spelt `max` in its own form).
fn too_long(text: &str, max: &str) -> String {
    format!(
        "'{}' is too long: csa takes at most 10 years ({max})",
        escape(text)
    )
}

/// Parse a `DURATION`; zero is allowed (`clean --older-than 0s`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "'{}' is not a duration: use 90s, 15m, 2h, 7d or plain seconds",
            escape(text)
        )
    };
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let scale: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let too_long = || too_long(text, &format!("{MAX_DAYS}d"));
    // Digits that overflow a u64 are a (very) long duration, not a typo.
    let count: u64 = digits.parse().map_err(|_| too_long())?;
    let duration = count
        .checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(too_long)?;
    if duration > MAX {
        return Err(too_long());
    }
    Ok(duration)
}

/// Parse `csa run --timeout`: a `DURATION` of at least one second.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse(text)?;
    if duration.is_zero() {
        return Err(format!(
            "'{}' would stop the command before it starts: give at least 1s, or no --timeout",
            escape(text)
        ));
    }
    Ok(duration)
}

/// Parse `SECS`: a non-negative, finite number of seconds.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "'{}' is not a number of seconds: use for example 5 or 0.5",
            escape(text)
        )
    };
    let secs: f64 = text.parse().map_err(|_| bad())?;
    if secs.is_nan() || secs < 0.0 {
        return Err(bad());
    }
    if secs > MAX.as_secs_f64() {
        return Err(too_long(text, &MAX.as_secs().to_string()));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_plain_seconds() {
        let cases = [
            ("0", 0),
            ("0s", 0),
            ("90", 90),
            ("90s", 90),
            ("15m", 900),
            ("2h", 7_200),
            ("7d", 604_800),
            ("3650d", 315_360_000),
            ("315360000", 315_360_000),
        ];
        for (text, secs) in cases {
            assert_eq!(parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_forms_that_work() {
        for text in ["", "s", "7w", "1.5h", "-1s", " 7d", "7d ", "7 d", "h2"] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("90s, 15m, 2h, 7d"), "{text}: {err}");
        }
    }

    #[test]
    fn more_than_ten_years_is_refused_as_too_long() {
        for text in [
            "3651d",
            "315360001",
            "9223372036854775807",
            "99999999999999999999d",
            "99999999999999999999999",
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("at most 10 years"), "{text}: {err}");
            assert!(parse_timeout(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_run_timeout_is_at_least_a_second() {
        for text in ["0", "0s", "0m", "0d"] {
            let err = parse_timeout(text).unwrap_err();
            assert!(err.contains("at least 1s"), "{text}: {err}");
        }
        assert_eq!(parse_timeout("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_timeout("15m"), Ok(Duration::from_secs(900)));
    }

    #[test]
    fn seconds_are_non_negative_finite_and_at_most_ten_years() {
        assert_eq!(parse_seconds("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert_eq!(parse_seconds("315360000"), Ok(MAX));
        for text in ["-1", "NaN", "nan", "abc", "", "5s"] {
            let err = parse_seconds(text).unwrap_err();
            assert!(err.contains("not a number of seconds"), "{text}: {err}");
        }
        for text in ["1e19", "1e30", "inf", "315360000.5"] {
            let err = parse_seconds(text).unwrap_err();
            assert!(err.contains("at most 10 years"), "{text}: {err}");
        }
    }

    #[test]
    fn a_refused_value_is_quoted_escaped() {
        let hostile = "\x1b]0;x\x07";
        for err in [
            parse(hostile).unwrap_err(),
            parse_timeout(hostile).unwrap_err(),
            parse_seconds(hostile).unwrap_err(),
            parse_seconds("1e30\x1b").unwrap_err(),
        ] {
            assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
            assert!(err.contains(r"\x1b"), "{err:?}");
        }
    }
}
