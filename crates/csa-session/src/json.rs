//! TOML values as JSON, for the `--json` outputs that pass a session file's
//! table through as it is (`csa session result --json`, the `result` of a
//! [`crate::detail::SessionDetail`]).
//!
//! Serializing a `toml::Value` with serde turns a native TOML datetime
//! (`completed_at = 1979-05-27T07:32:00Z`, unquoted) into toml's private
//! `{"$__toml_private_datetime": "..."}` marker; [`TomlJson`] writes its
//! RFC 3339 text instead, the form csa writes its own timestamps in.
//!
//! [`JsonTable`] reads such a table back (another csa's `result --json`):
//! keys in the order they came, `null`s left out (a TOML table has none).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
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

/// A TOML table read from a JSON object, as [`TomlJson`] wrote it: keys in
/// their order, `null` values (a NaN, or a newer peer's) left out, every
/// other value in its TOML form (timestamps stay text).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonTable(pub toml::Table);

impl<'de> Deserialize<'de> for JsonTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(TomlVisitor)? {
            Some(Value::Table(table)) => Ok(JsonTable(table)),
            _ => Err(de::Error::custom("expected a JSON object")),
        }
    }
}

/// Any JSON value as a TOML one; `None` for `null`.
struct TomlVisitor;

/// One value, through [`TomlVisitor`].
struct Nullable(Option<Value>);

impl<'de> Deserialize<'de> for Nullable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TomlVisitor).map(Nullable)
    }
}

impl<'de> Visitor<'de> for TomlVisitor {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Some(Value::Boolean(b)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Some(Value::Integer(n)))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        // TOML integers are i64; a larger one keeps its value as a float.
        Ok(Some(
            i64::try_from(n).map_or(Value::Float(n as f64), Value::Integer),
        ))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Self::Value, E> {
        Ok(Some(Value::Float(x)))
    }
    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(Value::String(text.to_owned())))
    }
    fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
        Ok(Some(Value::String(text)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Nullable(item)) = seq.next_element()? {
            items.extend(item);
        }
        Ok(Some(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut table = toml::Table::new();
        while let Some((key, Nullable(value))) = map.next_entry::<String, Nullable>()? {
            if let Some(value) = value {
                table.insert(key, value);
            }
        }
        Ok(Some(Value::Table(table)))
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

        // Read back: the same keys in the same order, the NaN left out,
        // datetimes as their text.
        let JsonTable(back) = serde_json::from_str(&text).expect("reads back");
        let keys: Vec<&str> = back.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = table.keys().map(String::as_str).collect();
        expected.retain(|key| *key != "bad");
        assert_eq!(keys, expected);
        assert_eq!(back["completed_at"].as_str(), Some("1979-05-27T07:32:00Z"));
        assert_eq!(back["nested"]["at"].as_str(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(back["artifacts"][0]["path"].as_str(), Some("output/a"));
        assert_eq!(back["ratio"].as_float(), Some(0.5));
        assert!(serde_json::from_str::<JsonTable>("[1]").is_err());
    }
}
