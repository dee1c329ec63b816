//! TOML values as JSON, for the `--json` outputs that pass a session file's
//! table through as it is (`csa session result --json`, the `result` of
//! `csa session show --json`).
//!
//! Serializing a `toml::Value` with serde turns a native TOML datetime
//! (`completed_at = 1979-05-27T07:32:00Z`, unquoted) into toml's private
//! `{"$__toml_private_datetime": "..."}` marker; here it becomes its RFC 3339
//! string, the form csa writes its own timestamps in.

use serde_json::Value as Json;
use toml::Value as Toml;

/// A TOML table as a JSON object, keys in the table's order.
pub fn from_table(table: &toml::Table) -> Json {
    Json::Object(
        table
            .iter()
            .map(|(key, value)| (key.clone(), from_toml(value)))
            .collect(),
    )
}

/// A TOML value as JSON: a datetime becomes its RFC 3339 text (a local
/// date or time alone, its TOML text), a NaN or infinite float `null`.
pub fn from_toml(value: &Toml) -> Json {
    match value {
        Toml::String(s) => Json::String(s.clone()),
        Toml::Integer(n) => Json::from(*n),
        Toml::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Toml::Boolean(b) => Json::Bool(*b),
        Toml::Datetime(dt) => Json::String(dt.to_string()),
        Toml::Array(items) => Json::Array(items.iter().map(from_toml).collect()),
        Toml::Table(table) => from_table(table),
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
        .unwrap();
        let json = from_table(&table);
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
    }
}
