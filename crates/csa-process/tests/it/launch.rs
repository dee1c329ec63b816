//! Starting the daemon detached: the readiness pipe, and descriptors that
//! must not stay open in the daemon.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use csa_process::launch::spawn_detached;
use csa_process::{Ready, ReadyError, ready_pipe};

use crate::harness::*;
use csa_test_support::*;

fn detached(args: &[&str]) -> (Guard, Result<Ready, ReadyError>) {
    let (reader, writer) = ready_pipe().expect("pipe");
    let fd = writer.raw_fd().to_string();
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if *a == "FD" {
                fd.clone()
            } else {
                (*a).to_owned()
            }
        })
        .collect();
    let child = spawn_detached(HARNESS, &args, writer, None).expect("spawn");
    let report = reader.wait(Duration::from_secs(10));
    (
        Guard {
            child,
            group: false,
        },
        report,
    )
}

#[test]
fn a_daemon_that_starts_reports_its_pid_and_start_time() {
    let (guard, report) = detached(&["ready", "--ready-fd", "FD"]);
    let pid = guard.pid();
    assert_eq!(
        report.expect("report"),
        Ready::Started {
            pid,
            start_time_ticks: csa_process::facts::start_time_ticks(pid).expect("ticks"),
        }
    );
}

#[test]
fn the_daemon_gets_a_new_session_dev_null_and_only_the_readiness_pipe() {
    // An inheritable pipe in this process, as a caller of `csa run` may leave.
    let (leaky_read, _leaky_write) = rustix::pipe::pipe().expect("pipe");
    let (guard, report) = detached(&["ready", "--ready-fd", "FD", "--report-fds"]);
    let Ready::Failed(message) = report.expect("report") else {
        panic!("expected the descriptor report");
    };
    let fields: Vec<&str> = message.split(' ').collect();
    let fds: Vec<i32> = fields[0]
        .strip_prefix("fds=")
        .expect("fds")
        .split(',')
        .map(|n| n.parse().expect("fd"))
        .collect();
    assert_eq!(fds.len(), 4, "0-2 and the readiness pipe only: {message}");
    assert_eq!(&fds[..3], [0, 1, 2]);
    assert_ne!(fds[3], leaky_read.as_raw_fd());
    let pid = guard.pid() as i32;
    assert_eq!(fields[1], format!("sid={pid}"), "leads a new session");
    assert_eq!(fields[2], format!("pgid={pid}"));
    assert_eq!(
        fields[3], "null=true",
        "stdin, stdout and stderr on /dev/null"
    );
}

#[test]
fn a_daemon_that_dies_before_reporting_is_told_apart_from_a_timeout() {
    let (_guard, report) = detached(&["no-such-mode"]);
    assert!(matches!(report, Err(ReadyError::DaemonDied)), "{report:?}");

    let (reader, _writer) = ready_pipe().expect("pipe");
    let start = Instant::now();
    let report = reader.wait(Duration::from_millis(200));
    assert!(matches!(report, Err(ReadyError::Timeout(_))), "{report:?}");
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_failure_report_carries_its_message_and_malformed_reports_are_errors() {
    let (reader, writer) = ready_pipe().expect("pipe");
    let thread = std::thread::spawn(move || writer.failed("cannot start \"codex\": not found"));
    assert_eq!(
        reader.wait(Duration::from_secs(5)).expect("report"),
        Ready::Failed("cannot start \"codex\": not found".into())
    );
    thread.join().expect("join").expect("write");

    let (reader, writer) = ready_pipe().expect("pipe");
    let mut file = std::fs::File::from(writer_fd(writer));
    std::io::Write::write_all(&mut file, b"hello\n").expect("write");
    let report = reader.wait(Duration::from_secs(5));
    assert!(
        matches!(report, Err(ReadyError::Malformed(_))),
        "{report:?}"
    );
}

/// Take the pipe's write end out of its ReadyWriter, to write garbage.
fn writer_fd(writer: csa_process::ReadyWriter) -> std::os::fd::OwnedFd {
    // SAFETY: `writer` owns this open descriptor and outlives the borrow.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(writer.raw_fd()) };
    let fd = rustix::io::fcntl_dupfd_cloexec(borrowed, 3).expect("dup");
    drop(writer);
    fd
}

#[test]
fn closing_inherited_descriptors_releases_the_callers_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = Harness::start(&["fd-eof"], dir.path());
    assert_eq!(h.expect("eof"), Vec::<String>::new());
    // Control: the same holder without the call keeps the pipe open.
    let h = Harness::start(&["fd-eof", "--no-close"], dir.path());
    assert_eq!(h.expect("timeout"), Vec::<String>::new());
}
