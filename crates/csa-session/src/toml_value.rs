//! Small readers over a parsed TOML table, shared by `state`, `result` and
//! `cooldown`: required and optional strings, integers and RFC 3339 timestamps.

use chrono::{DateTime, SecondsFormat, Utc};
use toml::{Table, Value};

/// Why a key could not be read; the caller adds the file name.
pub(crate) type KeyResult<T> = Result<T, String>;

pub(crate) fn required_str<'a>(table: &'a Table, key: &str) -> KeyResult<&'a str> {
    match table.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "key `{key}` must be a string, found {}",
            other.type_str()
        )),
        None => Err(format!("missing required key `{key}`")),
    }
}

pub(crate) fn optional_str<'a>(table: &'a Table, key: &str) -> KeyResult<Option<&'a str>> {
    match table.get(key) {
        Some(Value::String(s)) => Ok(Some(s)),
        None => Ok(None),
        Some(other) => Err(format!(
            "key `{key}` must be a string, found {}",
            other.type_str()
        )),
    }
}

pub(crate) fn required_int(table: &Table, key: &str) -> KeyResult<i64> {
    match table.get(key) {
        Some(Value::Integer(n)) => Ok(*n),
        Some(other) => Err(format!(
            "key `{key}` must be an integer, found {}",
            other.type_str()
        )),
        None => Err(format!("missing required key `{key}`")),
    }
}

pub(crate) fn optional_int(table: &Table, key: &str) -> KeyResult<Option<i64>> {
    match table.get(key) {
        Some(Value::Integer(n)) => Ok(Some(*n)),
        None => Ok(None),
        Some(other) => Err(format!(
            "key `{key}` must be an integer, found {}",
            other.type_str()
        )),
    }
}

/// A timestamp stored as an RFC 3339 string (or a TOML offset datetime).
pub(crate) fn parse_time(value: &Value, key: &str) -> KeyResult<DateTime<Utc>> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Datetime(dt) => dt.to_string(),
        other => {
            return Err(format!(
                "key `{key}` must be an RFC 3339 timestamp, found {}",
                other.type_str()
            ));
        }
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| format!("key `{key}` is not an RFC 3339 timestamp ({text:?}: {err})"))
}

pub(crate) fn required_time(table: &Table, key: &str) -> KeyResult<DateTime<Utc>> {
    match table.get(key) {
        Some(value) => parse_time(value, key),
        None => Err(format!("missing required key `{key}`")),
    }
}

pub(crate) fn optional_time(table: &Table, key: &str) -> KeyResult<Option<DateTime<Utc>>> {
    table.get(key).map(|v| parse_time(v, key)).transpose()
}

/// The on-disk spelling of a timestamp: RFC 3339, UTC, `Z`, fractional seconds as needed.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn time_value(time: DateTime<Utc>) -> Value {
    Value::String(format_time(time))
}

/// Parse TOML text into a table, with a one-line reason on failure.
pub(crate) fn parse_table(text: &str) -> KeyResult<Table> {
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    text.parse::<Table>().map_err(|err| {
        let full = err.to_string();
        let mut lines = full.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().unwrap_or("invalid TOML").to_owned();
        match lines.next_back() {
            Some(last) if !last.starts_with('|') && !last.starts_with('^') => {
                format!("{first}: {last}")
            }
            _ => first,
        }
    })
}
