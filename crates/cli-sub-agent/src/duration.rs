//! `DURATION` arguments (`csa session clean --older-than`): a whole number
//! with an optional unit, `90` or `90s` (seconds), `15m`, `2h`, `7d`.

use std::time::Duration;

/// Parse a `DURATION` (clap's value parser; the message is clap's error).
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration: use 90s, 15m, 2h, 7d or plain seconds");
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let count: u64 = digits.parse().map_err(|_| bad())?;
    let scale: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    count
        .checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(bad)
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
        ];
        for (text, secs) in cases {
            assert_eq!(parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_forms_that_work() {
        for text in [
            "",
            "s",
            "7w",
            "1.5h",
            "-1s",
            " 7d",
            "7d ",
            "7 d",
            "99999999999999999999d",
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("90s, 15m, 2h, 7d"), "{text}: {err}");
        }
    }
}
