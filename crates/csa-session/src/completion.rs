//! `daemon-completion.toml` (contract §2): what the daemon saw as it exited,
//! written before its result so a reconciler can finalize a result from it.

use std::path::Path;

use toml::{Table, Value};

use crate::error::LoadError;
use crate::toml_value::{parse_table, required_int, required_str};
use crate::vocab::ResultStatus;

/// A parsed `daemon-completion.toml`: what the daemon saw as it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonCompletion {
    /// Fits an `i32`, as the result built from it must.
    pub exit_code: i32,
    pub status: ResultStatus,
}

impl DaemonCompletion {
    pub fn parse(text: &str, path: &Path) -> Result<DaemonCompletion, LoadError> {
        let unparseable = |reason: String| LoadError::Unparseable {
            path: path.to_path_buf(),
            reason,
        };
        let table = parse_table(text).map_err(unparseable)?;
        let exit_code = required_int(&table, "exit_code").map_err(unparseable)?;
        let exit_code = i32::try_from(exit_code)
            .map_err(|_| unparseable(format!("exit_code {exit_code} is out of range")))?;
        Ok(DaemonCompletion {
            exit_code,
            status: ResultStatus::parse(required_str(&table, "status").map_err(unparseable)?),
        })
    }

    pub fn to_toml_string(&self) -> String {
        let mut table = Table::new();
        table.insert("exit_code".into(), Value::Integer(self.exit_code.into()));
        table.insert("status".into(), Value::String(self.status.as_str().into()));
        toml::to_string(&table).expect("a toml::Table always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_round_trips_and_requires_both_keys() {
        let done = DaemonCompletion {
            exit_code: 3,
            status: ResultStatus::Failure,
        };
        let path = Path::new("/s/daemon-completion.toml");
        assert_eq!(
            DaemonCompletion::parse(&done.to_toml_string(), path).unwrap(),
            done
        );
        assert!(DaemonCompletion::parse("exit_code = 1\n", path).is_err());
        let huge = "exit_code = 4294967296\nstatus = \"failure\"\n";
        assert!(DaemonCompletion::parse(huge, path).is_err());
    }
}
