//! Durations on the command line, as clap value parsers (a bad value is a
//! usage error, exit 2, before anything is created or signalled).
//!
//! Every flag that takes a duration (`csa run --timeout`, `csa session wait
//! --timeout`, `kill --grace`, `clean --older-than`, `list --since`, ...)
//! takes the same forms: a number of seconds, fractions allowed (`90`,
//! `1.5`), or a number with a unit: `s`, `m`, `h` or `d` (`90s`, `2m`,
//! `1.5h`, `7d`). Scripts written for other csa installs pass whichever
//! form they were written with.
//!
//! Every duration is at most [`MAX`] (10 years): nobody means more, and a
//! larger value (`--timeout 9223372036854775807`, `--grace 1e30`) would
//! overflow the clocks it is added to.

use std::time::Duration;

use crate::term::escape;

/// The longest duration any argument takes: 10 years of 365 days.
pub const MAX: Duration = Duration::from_secs(MAX_DAYS * 86_400);
/// [`MAX`] in days, as a duration with a unit spells it.
const MAX_DAYS: u64 = 3_650;

/// The units a duration may end with, and their length in seconds.
const UNITS: [(char, f64); 4] = [('s', 1.0), ('m', 60.0), ('h', 3_600.0), ('d', 86_400.0)];

/// `duration` as a duration flag takes it back: `7d`, `2h`, `15m`, `90s`,
/// or seconds with their fraction (`1.5`).
pub fn as_arg(duration: Duration) -> String {
    let secs = duration.as_secs();
    if duration.subsec_nanos() != 0 {
        return format!("{}", duration.as_secs_f64());
    }
    match UNITS.iter().rev().find(|(_, scale)| {
        let scale = *scale as u64;
        secs >= scale && secs.is_multiple_of(scale)
    }) {
        Some((unit, scale)) => format!("{}{unit}", secs / *scale as u64),
        None => format!("{secs}s"),
    }
}

/// Parse a duration; zero is allowed (`clean --older-than 0s`, `kill --grace 0`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "'{}' is not a duration: use seconds (90, 1.5) or a unit: 90s, 2m, 1h, 7d",
            escape(text)
        )
    };
    let (number, scale) = match text.chars().last() {
        Some(last) => match UNITS.iter().find(|(unit, _)| *unit == last) {
            Some((_, scale)) => (&text[..text.len() - 1], *scale),
            None => (text, 1.0),
        },
        None => return Err(bad()),
    };
    // Rust's float syntax without a sign; `inf` and `1e30` are numbers,
    // refused below as too long.
    if number.starts_with(['+', '-']) {
        return Err(bad());
    }
    let count: f64 = number.parse().map_err(|_| bad())?;
    if count.is_nan() {
        return Err(bad());
    }
    let secs = count * scale;
    if secs > MAX.as_secs_f64() {
        return Err(format!(
            "'{}' is too long: csa takes at most 10 years ({MAX_DAYS}d)",
            escape(text)
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// Parse `csa run --timeout`: a duration longer than zero.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse(text)?;
    if duration.is_zero() {
        return Err(format!(
            "'{}' would stop the command before it starts: give more than 0s, or no --timeout",
            escape(text)
        ));
    }
    Ok(duration)
}

/// Parse `clean --days N`: a number of days (`30`, `1.5`).
pub fn parse_days(text: &str) -> Result<Duration, String> {
    if text.ends_with(|c: char| !c.is_ascii_digit()) {
        return Err(format!(
            "'{}' is not a number of days: use for example 7 or 1.5",
            escape(text)
        ));
    }
    parse(&format!("{text}d"))
}

/// `duration` as whole seconds, rounded up (`[run] timeout_secs` is an
/// integer in `state.toml`; a `1.5` timeout records 2).
pub fn whole_secs_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The smallest `csa run --max-log-size`.
const MIN_LOG_SIZE: u64 = 1024;

/// Parse a `SIZE` (`csa run --max-log-size`): a whole number of bytes, or
/// of `K`, `M`, `G`, `T` (binary units, `KiB` and `KB` read the same), at
/// least 1 KiB.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "'{}' is not a size: use for example 512M, 1G, 64K or a number of bytes",
            escape(text)
        )
    };
    let at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(at);
    let number: u64 = digits.parse().map_err(|_| bad())?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(bad()),
    };
    let bytes = number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("'{}' is too large a size", escape(text)))?;
    if bytes < MIN_LOG_SIZE {
        return Err(format!("'{}' is too small: give at least 1K", escape(text)));
    }
    Ok(bytes)
}

/// The shortest `top --interval`.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Parse `csa session top --interval`: a `DURATION` of at least 0.1 s.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = parse(text)?;
    if interval < MIN_INTERVAL {
        return Err(format!(
            "'{}' is too short an interval: give at least 0.1 seconds",
            escape(text)
        ));
    }
    Ok(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_fractions_and_units() {
        let cases = [
            ("0", 0.0),
            ("0s", 0.0),
            ("90", 90.0),
            ("1.5", 1.5),
            ("0.5", 0.5),
            (".5", 0.5),
            ("90s", 90.0),
            ("2m", 120.0),
            ("1.5h", 5_400.0),
            ("15m", 900.0),
            ("1h", 3_600.0),
            ("7d", 604_800.0),
            ("3650d", 315_360_000.0),
            ("315360000", 315_360_000.0),
        ];
        for (text, secs) in cases {
            assert_eq!(parse(text), Ok(Duration::from_secs_f64(secs)), "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_forms_that_work() {
        for text in [
            "", "s", "7w", "-1s", "-1", " 7d", "7d ", "7 d", "h2", "NaN", "abc", "5ms", "+", "-",
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("90s, 2m, 1h, 7d"), "{text}: {err}");
        }
    }

    #[test]
    fn more_than_ten_years_is_refused_as_too_long() {
        for text in [
            "3651d",
            "315360001",
            "315360000.5",
            "9223372036854775807",
            "99999999999999999999d",
            "99999999999999999999999",
            "1e19",
            "1e30",
            "inf",
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("at most 10 years"), "{text}: {err}");
            assert!(parse_timeout(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_run_timeout_is_more_than_zero() {
        for text in ["0", "0s", "0m", "0d", "0.0"] {
            let err = parse_timeout(text).unwrap_err();
            assert!(err.contains("more than 0s"), "{text}: {err}");
        }
        assert_eq!(parse_timeout("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_timeout("15m"), Ok(Duration::from_secs(900)));
    }

    #[test]
    fn days_are_a_number_of_days() {
        assert_eq!(parse_days("30"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_days("1.5"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_days("0"), Ok(Duration::ZERO));
        for text in ["7d", "", "x", "-1"] {
            assert!(parse_days(text).is_err(), "{text}");
        }
        assert!(parse_days("3651").unwrap_err().contains("at most 10 years"));
    }

    #[test]
    fn whole_seconds_round_up() {
        assert_eq!(whole_secs_up(Duration::from_secs(60)), 60);
        assert_eq!(whole_secs_up(Duration::from_millis(1_500)), 2);
        assert_eq!(whole_secs_up(Duration::from_millis(1)), 1);
    }

    #[test]
    fn a_refused_value_is_quoted_escaped() {
        let hostile = "\x1b]0;x\x07";
        for err in [
            parse(hostile).unwrap_err(),
            parse_timeout(hostile).unwrap_err(),
            parse("1e30\x1b").unwrap_err(),
        ] {
            assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
            assert!(err.contains(r"\x1b"), "{err:?}");
        }
    }

    #[test]
    fn a_duration_is_spelled_back_as_the_flags_take_it() {
        for (secs, text) in [
            (0.0, "0s"),
            (90.0, "90s"),
            (120.0, "2m"),
            (7200.0, "2h"),
            (604_800.0, "7d"),
            (1.5, "1.5"),
        ] {
            let duration = Duration::from_secs_f64(secs);
            assert_eq!(as_arg(duration), text);
            assert_eq!(parse(text), Ok(duration));
        }
    }
}
