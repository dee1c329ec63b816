//! Pid records: `daemon.pid`, `cmd.pid` and the JSON of `locks/<tool>.lock`
//! (contract §2, §5, §8.1).
//!
//! Both are parsed strictly: a malformed record is reported as such and never
//! guessed at. Lock JSON is read with a JSON parser, never by searching text.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use csa_session::read::{MAX_FILE_BYTES, read_bounded};
use csa_session::{SessionDir, ToolName};
use serde::{Deserialize, Serialize};

use crate::consts::MAX_PID;

/// A pid record could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read {}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed pid record {}: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
}

/// `daemon.pid`: a pid and, when the launcher knew it, the process start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DaemonPid {
    pub pid: u32,
    pub start_time_ticks: Option<u64>,
}

fn parse_pid(text: &str) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("pid {text:?} is not a positive integer"));
    }
    match text.parse::<u32>() {
        Ok(0) => Err("pid 0 is not a process".into()),
        Ok(pid) if pid <= MAX_PID => Ok(pid),
        _ => Err(format!("pid {text} is out of range")),
    }
}

impl DaemonPid {
    /// The record naming this process (`csa run` while it starts the daemon,
    /// then the daemon itself).
    pub fn of_this_process() -> DaemonPid {
        DaemonPid {
            pid: std::process::id(),
            start_time_ticks: crate::facts::own_start_time_ticks(),
        }
    }

    /// Parse `<pid>` or `<pid> <starttime_ticks>`, with an optional trailing newline.
    pub fn parse(text: &str) -> Result<DaemonPid, String> {
        let line = text
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(text);
        if line.contains('\n') {
            return Err("more than one line".into());
        }
        let mut fields = line.split(' ');
        let pid = parse_pid(fields.next().unwrap_or_default())?;
        let start_time_ticks = match fields.next() {
            None => None,
            Some(ticks) if !ticks.is_empty() && ticks.bytes().all(|b| b.is_ascii_digit()) => Some(
                ticks
                    .parse::<u64>()
                    .map_err(|_| format!("start time {ticks} is out of range"))?,
            ),
            Some(other) => return Err(format!("start time {other:?} is not an integer")),
        };
        if fields.next().is_some() {
            return Err("expected `<pid>` or `<pid> <starttime_ticks>`".into());
        }
        Ok(DaemonPid {
            pid,
            start_time_ticks,
        })
    }
}

impl fmt::Display for DaemonPid {
    /// The on-disk form, without the trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.start_time_ticks {
            Some(ticks) => write!(f, "{} {ticks}", self.pid),
            None => write!(f, "{}", self.pid),
        }
    }
}

/// `cmd.pid`: the command the daemon runs (also its process group id) and its
/// start time, which is required: the record exists to verify the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CmdPid {
    pub pid: u32,
    pub start_time_ticks: u64,
}

impl CmdPid {
    /// Parse `<pid> <starttime_ticks>`, with an optional trailing newline.
    pub fn parse(text: &str) -> Result<CmdPid, String> {
        let record = DaemonPid::parse(text)?;
        let start_time_ticks = record.start_time_ticks.ok_or_else(|| {
            "expected `<pid> <starttime_ticks>`: the start time is missing".to_owned()
        })?;
        Ok(CmdPid {
            pid: record.pid,
            start_time_ticks,
        })
    }

    /// The same pid and start time as a [`DaemonPid`], for verification.
    pub fn as_pid_record(&self) -> DaemonPid {
        DaemonPid {
            pid: self.pid,
            start_time_ticks: Some(self.start_time_ticks),
        }
    }
}

impl fmt::Display for CmdPid {
    /// The on-disk form, without the trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.pid, self.start_time_ticks)
    }
}

/// The JSON object in `locks/<tool>.lock`. Unknown keys are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquired_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start_time_ticks: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The writer's pid namespace (`pid:[...]`): its pids mean nothing in another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_namespace: Option<String>,
}

/// Which process holds a session's tool lock, as its record's `reason` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockHolder {
    /// `csa run`, from the session's creation until its daemon takes over.
    Launcher,
    /// The session's daemon, for the rest of the run.
    Daemon,
}

impl LockHolder {
    fn reason(self) -> &'static str {
        match self {
            LockHolder::Launcher => "csa run (starting the daemon)",
            LockHolder::Daemon => "csa run",
        }
    }
}

impl LockRecord {
    /// The record naming this process as `holder` of `tool`'s lock, with
    /// every field (contract §5: records csa writes carry all of them), so
    /// that existing installs and other hosts can judge it.
    pub fn for_this_process(tool: &ToolName, holder: LockHolder) -> LockRecord {
        let me = DaemonPid::of_this_process();
        LockRecord {
            pid: me.pid,
            tool_name: Some(tool.to_string()),
            acquired_at: Some(csa_session::format_time(chrono::Utc::now())),
            reason: Some(holder.reason().to_owned()),
            pid_start_time_ticks: me.start_time_ticks,
            boot_id: crate::facts::boot_id(),
            hostname: crate::facts::hostname(),
            pid_namespace: crate::facts::pid_namespace(),
        }
    }

    /// Parse the lock file's JSON.
    pub fn parse(bytes: &[u8]) -> Result<LockRecord, String> {
        // An object only: serde would also fill the fields from an array by
        // position, reading a pid out of `[999999]`.
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !value.is_object() {
            return Err("the lock record is not a JSON object".into());
        }
        let record: LockRecord = serde_json::from_value(value).map_err(|e| e.to_string())?;
        if record.pid == 0 || record.pid > MAX_PID {
            return Err(format!("pid {} is not a process", record.pid));
        }
        Ok(record)
    }

    /// The JSON a writer puts in the lock file.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a LockRecord always serializes")
    }
}

/// Read a small record file, bounded and without blocking (a FIFO or a link
/// there is an error, not a hang); `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, RecordError> {
    match read_bounded(path, MAX_FILE_BYTES) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RecordError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The session's `daemon.pid`; `Ok(None)` when there is none.
pub fn read_daemon_pid(session: &SessionDir) -> Result<Option<DaemonPid>, RecordError> {
    read_text_record(&session.daemon_pid(), DaemonPid::parse)
}

/// The session's `cmd.pid`; `Ok(None)` when there is none.
pub fn read_cmd_pid(session: &SessionDir) -> Result<Option<CmdPid>, RecordError> {
    read_text_record(&session.cmd_pid(), CmdPid::parse)
}

fn read_text_record<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, RecordError> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| RecordError::Malformed {
        path: path.to_path_buf(),
        reason: "not valid UTF-8".into(),
    })?;
    parse(text)
        .map(Some)
        .map_err(|reason| RecordError::Malformed {
            path: path.to_path_buf(),
            reason,
        })
}

/// One lock file's record; `Ok(None)` when the file does not exist.
pub fn read_lock_record(path: &Path) -> Result<Option<LockRecord>, RecordError> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(None);
    };
    LockRecord::parse(&bytes)
        .map(Some)
        .map_err(|reason| RecordError::Malformed {
            path: path.to_path_buf(),
            reason,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_pid_accepts_both_forms_with_optional_newline() {
        for (text, pid, ticks) in [
            ("123", 123, None),
            ("123\n", 123, None),
            ("123 456", 123, Some(456)),
            ("123 456\n", 123, Some(456)),
            ("123 456\r\n", 123, Some(456)),
        ] {
            let record = DaemonPid::parse(text).unwrap();
            assert_eq!(
                (record.pid, record.start_time_ticks),
                (pid, ticks),
                "{text:?}"
            );
        }
        assert_eq!(DaemonPid::parse("9 8\n").unwrap().to_string(), "9 8");
    }

    #[test]
    fn daemon_pid_rejects_everything_else() {
        for text in [
            "",
            "\n",
            "-1",
            "0",
            "abc",
            "12 ",
            " 12",
            "12 x",
            "12 3 4",
            "12\n13",
            "99999999999",
            "2147483648",
            "+5",
            "12 +3",
            "12  3",
        ] {
            assert!(DaemonPid::parse(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn cmd_pid_requires_the_start_time() {
        for (text, pid, ticks) in [("123 456", 123, 456), ("123 456\n", 123, 456)] {
            let record = CmdPid::parse(text).unwrap();
            assert_eq!(
                (record.pid, record.start_time_ticks),
                (pid, ticks),
                "{text:?}"
            );
        }
        assert_eq!(CmdPid::parse("9 8\n").unwrap().to_string(), "9 8");
        for text in [
            "123", "123\n", "", "0 5", "1 2 3", "12 x", "-4 5", "12  3", "12 3\n\n",
        ] {
            assert!(CmdPid::parse(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn the_largest_pid_is_accepted_and_one_more_is_not() {
        let max = MAX_PID.to_string();
        let over = (u64::from(MAX_PID) + 1).to_string();
        assert_eq!(DaemonPid::parse(&max).unwrap().pid, MAX_PID);
        assert!(DaemonPid::parse(&over).is_err(), "{over} accepted");
        let lock = |pid: &str| LockRecord::parse(format!(r#"{{"pid":{pid}}}"#).as_bytes());
        assert_eq!(lock(&max).unwrap().pid, MAX_PID);
        assert!(lock(&over).is_err(), "{over} accepted in a lock record");
    }

    #[test]
    fn reading_cmd_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        assert_eq!(read_cmd_pid(&session).unwrap(), None);
        fs_err::write(session.cmd_pid(), "77 88\n").unwrap();
        assert_eq!(
            read_cmd_pid(&session).unwrap(),
            Some(CmdPid {
                pid: 77,
                start_time_ticks: 88
            })
        );
        fs_err::write(session.cmd_pid(), "77\n").unwrap();
        let err = read_cmd_pid(&session).unwrap_err();
        assert!(err.to_string().contains("cmd.pid"), "{err}");
    }

    #[test]
    fn lock_json_is_parsed_not_searched() {
        let record = LockRecord::parse(br#"{"comment":"pid: 123","pid":456}"#).unwrap();
        assert_eq!(record.pid, 456);
        let full = LockRecord {
            pid: 7,
            tool_name: Some("codex".into()),
            acquired_at: Some("2026-01-01T00:00:00Z".into()),
            reason: Some("csa run".into()),
            pid_start_time_ticks: Some(99),
            boot_id: Some("b".into()),
            hostname: Some("h".into()),
            pid_namespace: Some("pid:[4026531836]".into()),
        };
        assert_eq!(LockRecord::parse(full.to_json().as_bytes()).unwrap(), full);
        for bad in [
            &b"pid: 123"[..],
            b"{}",
            b"{\"pid\":\"1\"}",
            b"{\"pid\":0}",
            b"{\"pid\":-3}",
            b"",
            // An array is no record, though serde would fill fields from it.
            b"[999999]",
            b"[999999, null, null, null, 5]",
        ] {
            assert!(
                LockRecord::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_lock_record_csa_writes_carries_every_field_and_names_its_holder() {
        let tool = ToolName::parse("codex").unwrap();
        let me = DaemonPid::of_this_process();
        for (holder, reason) in [
            (LockHolder::Launcher, "csa run (starting the daemon)"),
            (LockHolder::Daemon, "csa run"),
        ] {
            let record = LockRecord::for_this_process(&tool, holder);
            assert_eq!(record.reason.as_deref(), Some(reason), "{holder:?}");
            assert_eq!(
                (record.pid, record.pid_start_time_ticks),
                (me.pid, me.start_time_ticks)
            );
            assert_eq!(record.tool_name.as_deref(), Some("codex"));
            assert!(record.acquired_at.is_some());
            assert_eq!(record.hostname, crate::facts::hostname());
            assert_eq!(record.boot_id, crate::facts::boot_id());
            assert_eq!(record.pid_namespace, crate::facts::pid_namespace());
            assert_eq!(
                LockRecord::parse(record.to_json().as_bytes()).unwrap(),
                record
            );
        }
    }

    #[test]
    fn reading_missing_and_malformed_records() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        assert_eq!(read_daemon_pid(&session).unwrap(), None);
        fs_err::write(session.daemon_pid(), "garbage").unwrap();
        let err = read_daemon_pid(&session).unwrap_err();
        assert!(err.to_string().contains("daemon.pid"), "{err}");
        let lock = tmp.path().join("codex.lock");
        assert_eq!(read_lock_record(&lock).unwrap(), None);
        fs_err::write(&lock, "{").unwrap();
        assert!(matches!(
            read_lock_record(&lock),
            Err(RecordError::Malformed { .. })
        ));
    }
}
