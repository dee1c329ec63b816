//! TOML values as JSON, for the `--json` outputs that pass a session file's
//! table through as it is (`csa session result --json`, the `result` of a
//! [`crate::detail::SessionDetail`]).
//!
//! Serializing a `toml::Value` with serde turns a native TOML datetime
//! (`completed_at = 1979-05-27T07:32:00Z`, unquoted) into toml's private
//! `{"$__toml_private_datetime": "..."}` marker; [`TomlJson`] writes its
//! RFC 3339 text instead, the form csa writes its own timestamps in.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use toml::Value;

/// A TOML table (keys in the table's order) or value that serializes as
/// JSON should show it: a datetime as its text (a local date or time alone,
/// its TOML text), a NaN or infinite float as `null`.
#[derive(Debug, Clone, Copy)]
pub enum TomlJson<'a> {
    Table(&'a toml::Table),
    Value(&'a Value),
}

impl Serialize for TomlJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            TomlJson::Table(table) => {
                let mut map = s.serialize_map(Some(table.len()))?;
                for (key, value) in table {
                    map.serialize_entry(key, &TomlJson::Value(value))?;
                }
                map.end()
            }
            TomlJson::Value(value) => match value {
                Value::String(text) => s.serialize_str(text),
                Value::Integer(n) => s.serialize_i64(*n),
                Value::Float(x) if x.is_finite() => s.serialize_f64(*x),
                Value::Float(_) => s.serialize_none(),
                Value::Boolean(b) => s.serialize_bool(*b),
                Value::Datetime(dt) => s.serialize_str(&dt.to_string()),
                Value::Array(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    for item in items {
                        seq.serialize_element(&TomlJson::Value(item))?;
                    }
                    seq.end()
                }
                Value::Table(table) => TomlJson::Table(table).serialize(s),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datetimes_become_their_text_and_everything_else_keeps_its_shape() {
        let table: toml::Table = r#"
            status = "success"
            exit_code = 0
            ratio = 0.5
            bad = nan
            done = true
            completed_at = 1979-05-27T07:32:00Z
            spaced = 1979-05-27 07:32:00.5-07:00
            local = 1979-05-27T07:32:00
            day = 1979-05-27
            clock = 07:32:00
            list = [1, "two", 1979-05-27T07:32:00Z]
            [nested]
            at = 2026-01-01T00:00:00Z
            [[artifacts]]
            path = "output/a"
        "#
        .parse()
        .expect("valid TOML");
        let json = serde_json::to_value(TomlJson::Table(&table)).expect("serializes");
        assert_eq!(
            json,
            json!({
                "status": "success",
                "exit_code": 0,
                "ratio": 0.5,
                "bad": null,
                "done": true,
                "completed_at": "1979-05-27T07:32:00Z",
                "spaced": "1979-05-27T07:32:00.5-07:00",
                "local": "1979-05-27T07:32:00",
                "day": "1979-05-27",
                "clock": "07:32:00",
                "list": [1, "two", "1979-05-27T07:32:00Z"],
                "nested": {"at": "2026-01-01T00:00:00Z"},
                "artifacts": [{"path": "output/a"}],
            })
        );
        assert!(!json.to_string().contains("toml_private"));
        // Keys keep the table's order.
        let text = serde_json::to_string(&TomlJson::Table(&table)).expect("serializes");
        assert!(
            text.starts_with(r#"{"status":"success","exit_code":0,"#),
            "{text}"
        );
    }
}
