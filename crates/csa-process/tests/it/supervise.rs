//! The command under the daemon: its own group, a clean start, stop requests,
//! timeouts and the cleanup of every descendant.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use csa_process::{CommandSpec, spawn_command};

use crate::harness::*;
use csa_test_support::*;

fn status_field(pid: u32, key: &str) -> String {
    let text = fs_err::read_to_string(format!("/proc/{pid}/status")).expect("status");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {key} in status"))
}

fn reap(pid: u32) -> i32 {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a child pid");
    rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
        .ok()
        .flatten()
        .map_or(0, |(_, status)| status.as_raw())
}

fn sigkill(pid: u32) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
}

#[test]
fn the_command_leads_its_own_group_with_a_clean_start_and_no_extra_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.log");
    let file = || {
        fs_err::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap()
            .into_parts()
            .0
    };
    // An inheritable pipe and an ignored signal, as a careless parent has them.
    let (leaky_read, leaky_write) = rustix::pipe::pipe().unwrap();
    // SAFETY: SIG_IGN installs no handler; nothing in this test process
    // relies on SIGUSR2.
    unsafe { libc::signal(libc::SIGUSR2, libc::SIG_IGN) };
    let spawned = spawn_command(CommandSpec {
        program: "sh".into(),
        args: vec![
            "-c".into(),
            "echo \"$CSA_TEST_VAR\"; pwd; exec sleep 60".into(),
        ],
        cwd: dir.path().to_path_buf(),
        env: vec![("CSA_TEST_VAR".into(), "hello from csa".into())],
        stdout: file(),
        stderr: file(),
    })
    .unwrap();
    let pid = spawned.pid;
    wait_until("sleep exec'd", || {
        csa_process::facts::cmdline(pid).is_some_and(|c| c.starts_with("sleep"))
    });
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields = csa_process::facts::parse_proc_stat(&stat).unwrap();
    let own_pgid = csa_process::facts::own_process_group();
    assert_eq!(fields.pgid, pid as i32, "leads its own group");
    assert_ne!(fields.pgid, own_pgid);
    assert_eq!(spawned.start_time_ticks, Some(fields.start_time_ticks));
    let fds = || {
        let mut fds: Vec<String> = fs_err::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        fds.sort();
        fds
    };
    // Just after the exec the dynamic loader of `sleep` briefly holds fd 3
    // (the library cache, libc): wait for it to settle. An inherited fd
    // never goes away, so a leak still fails below.
    let settle = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while fds().len() > 3 && std::time::Instant::now() < settle {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let sorted = fds();
    assert_eq!(
        sorted,
        ["0", "1", "2"],
        "leaky fds {} and {} must not be inherited",
        leaky_read.as_raw_fd(),
        leaky_write.as_raw_fd()
    );
    assert_eq!(
        fs_err::read_link(format!("/proc/{pid}/fd/0")).unwrap(),
        Path::new("/dev/null")
    );
    assert_eq!(
        status_field(pid, "SigIgn"),
        "0000000000000000",
        "default dispositions"
    );
    assert_eq!(
        status_field(pid, "SigBlk"),
        "0000000000000000",
        "empty mask"
    );
    sigkill(pid);
    reap(pid);
    let out = fs_err::read_to_string(&log).unwrap();
    let canonical = dir.path().canonicalize().unwrap();
    assert_eq!(out, format!("hello from csa\n{}\n", canonical.display()));
}

use std::path::Path;

fn supervise(dir: &Path, extra: &[&str], cmd: &[&str]) -> Harness {
    let mut args = vec!["supervise"];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(cmd);
    Harness::start(&args, dir)
}

#[test]
fn a_stop_request_kills_a_term_ignoring_command_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let h = supervise(
        dir.path(),
        &["--grace-ms", "500"],
        &["sh", "-c", "trap '' TERM; echo up; sleep 100"],
    );
    let cmd: u32 = h.expect("spawned")[0].parse().unwrap();
    wait_until("trap installed", || {
        csa_process::descendants_of(cmd).is_some_and(|d| !d.is_empty())
    });
    let asked = Instant::now();
    h.signal(libc::SIGTERM);
    let ending = h.expect("ending");
    let took = asked.elapsed();
    assert_eq!(ending, ["137", "requested"]);
    assert!(
        took >= Duration::from_millis(500),
        "killed before the grace: {took:?}"
    );
    assert!(
        took < Duration::from_millis(800),
        "killed too late: {took:?}"
    );
    h.expect("cleanup");
}

#[test]
fn a_cooperative_command_ends_by_sigterm_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let h = supervise(dir.path(), &["--grace-ms", "5000"], &["sleep", "100"]);
    let cmd: u32 = h.expect("spawned")[0].parse().unwrap();
    wait_until("sleep exec'd", || {
        csa_process::facts::cmdline(cmd).is_some_and(|c| c.starts_with("sleep"))
    });
    let asked = Instant::now();
    h.signal(libc::SIGINT);
    let ending = h.expect("ending");
    let took = asked.elapsed();
    assert_eq!(ending, ["143", "requested"]);
    assert!(took < Duration::from_millis(100), "{took:?}");
    // The stop request did not kill the supervisor itself.
    assert_eq!(h.expect("cleanup"), ["-", "0"]);
}

#[test]
fn a_timeout_stops_the_command_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let h = supervise(
        dir.path(),
        &["--timeout-ms", "300", "--grace-ms", "5000"],
        &["sleep", "100"],
    );
    h.expect("spawned");
    assert_eq!(h.expect("ending"), ["143", "timeout"]);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_command_that_exits_by_itself_reports_its_code_and_no_stop() {
    let dir = tempfile::tempdir().unwrap();
    let h = supervise(dir.path(), &[], &["sh", "-c", "exit 7"]);
    h.expect("spawned");
    assert_eq!(h.expect("ending"), ["7", "none"]);
    assert_eq!(h.expect("cleanup"), ["-", "0"]);
}

#[test]
fn every_descendant_is_terminated_and_reaped_after_the_command_exits() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cmd.sh");
    fs_err::write(
        &script,
        "sleep 300 & echo $! >> pids\n\
         setsid sh -c 'sleep 300 & echo $! >> pids'\n\
         (setsid sleep 300 & echo $! >> pids)\n\
         sh -c 'trap \"\" TERM; exec sleep 300' & echo $! >> pids\n\
         sh late.sh & \n\
         while [ ! -s late.ready ]; do sleep 0.01; done\n\
         echo spawned\n",
    )
    .unwrap();
    // On SIGTERM this one forks a new sleep: a later pass must catch it.
    fs_err::write(
        dir.path().join("late.sh"),
        "trap 'sleep 300 & echo $! >> late; exit 0' TERM\n\
         echo $$ > late.ready\n\
         while :; do sleep 0.05; done\n",
    )
    .unwrap();
    let h = supervise(
        dir.path(),
        &["--cleanup-grace-ms", "700"],
        &["sh", script.to_str().unwrap()],
    );
    h.expect("spawned");
    assert_eq!(h.expect("ending"), ["0", "none"]);
    let cleanup = h.expect("cleanup");
    assert_eq!(cleanup[1], "0", "no survivors");
    let mut pids = read_pids(&dir.path().join("pids"), 4);
    pids.extend(read_pids(&dir.path().join("late"), 1));
    for pid in pids {
        assert!(
            reaped(pid),
            "pid {pid} survived the cleanup (or was not reaped)"
        );
    }
    assert!(!cleanup[0].is_empty());
}

#[test]
fn the_daemon_of_another_session_and_its_subtree_are_spared_but_not_a_look_alike() {
    let dir = tempfile::tempdir().unwrap();
    let other = "01BX5ZZKBKACTAV9WEVGEMMVRZ";
    let spoof = "01BX5ZZKBKACTAV9WEVGEMMVS0";
    // A child session of this one under the harness's state root (its
    // state names this session as its parent), whose daemon.pid names its
    // daemon; and one with the same command line shape whose session dir
    // has no record of it.
    let sessions = dir.path().join("state/cli-sub-agent/p/sessions");
    fs_err::create_dir_all(sessions.join(other)).unwrap();
    fs_err::write(
        sessions.join(other).join("state.toml"),
        format!(
            "meta_session_id = \"{other}\"\nproject_path = \"/p\"\n\
             created_at = \"2026-01-01T00:00:00Z\"\nlast_accessed = \"2026-01-01T00:00:00Z\"\n\
             [genealogy]\nparent_session_id = \"{}\"\ndepth = 1\n",
            ScratchSession::ID
        ),
    )
    .unwrap();
    let script = dir.path().join("cmd.sh");
    fs_err::write(
        &script,
        format!(
            "\"{HARNESS}\" daemon --session-dir {s}/{other} --session-id {other} --pidfile nested & \n\
             \"{HARNESS}\" daemon --session-dir {s}/{spoof} --session-id {spoof} --no-record --pidfile spoof & \n\
             sleep 300 & echo $! >> pids\n\
             while [ ! -s nested ] || [ ! -s spoof ]; do sleep 0.01; done\n",
            s = sessions.display()
        ),
    )
    .unwrap();
    let h = supervise(
        dir.path(),
        &[
            "--session-id",
            ScratchSession::ID,
            "--cleanup-grace-ms",
            "500",
        ],
        &["sh", script.to_str().unwrap()],
    );
    h.expect("spawned");
    assert_eq!(h.expect("ending"), ["0", "none"]);
    assert_eq!(h.expect("cleanup")[1], "0");
    let stray = read_pids(&dir.path().join("pids"), 1)[0];
    let nested = read_pids(&dir.path().join("nested"), 2);
    let spoofed = read_pids(&dir.path().join("spoof"), 2);
    let ticks: Vec<Option<u64>> = nested
        .iter()
        .map(|pid| csa_process::facts::start_time_ticks(*pid))
        .collect();
    assert!(reaped(stray), "the stray sleep {stray} was not terminated");
    for pid in spoofed {
        assert!(
            reaped(pid),
            "the look-alike daemon pid {pid} was spared: {:?}",
            proc_state(pid)
        );
    }
    for (pid, ticks) in nested.iter().zip(&ticks) {
        assert!(
            ticks.is_some_and(|t| same_process_alive(*pid, t)),
            "spared pid {pid} did not survive"
        );
    }
    for (pid, ticks) in nested.iter().zip(ticks).rev() {
        kill_if_same(*pid, ticks);
    }
}

#[test]
fn a_timeout_or_grace_too_long_to_represent_never_expires_and_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    // Duration::MAX: no moment that far can be represented.
    let forever = "max";
    let h = supervise(
        dir.path(),
        &["--timeout-ms", forever, "--cleanup-grace-ms", forever],
        &["sh", "-c", "sleep 300 & exit 7"],
    );
    h.expect("spawned");
    assert_eq!(h.expect("ending"), ["7", "none"]);
    let cleanup = h.expect("cleanup");
    assert_ne!(cleanup[0], "-", "the leftover sleep got SIGTERM");
    assert_eq!(cleanup[1], "0");

    let h = supervise(dir.path(), &["--grace-ms", forever], &["sleep", "100"]);
    let cmd: u32 = h.expect("spawned")[0].parse().unwrap();
    wait_until("sleep exec'd", || {
        csa_process::facts::cmdline(cmd).is_some_and(|c| c.starts_with("sleep"))
    });
    h.signal(libc::SIGTERM);
    assert_eq!(h.expect("ending"), ["143", "requested"]);
    assert_eq!(h.expect("cleanup"), ["-", "0"]);
}

#[test]
fn a_command_that_exits_zero_on_sigterm_ends_with_128_plus_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let h = supervise(
        dir.path(),
        &["--grace-ms", "5000"],
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; while :; do sleep 0.05; done",
        ],
    );
    let cmd: u32 = h.expect("spawned")[0].parse().unwrap();
    wait_until("trap installed", || {
        csa_process::descendants_of(cmd).is_some_and(|d| !d.is_empty())
    });
    h.signal(libc::SIGTERM);
    assert_eq!(h.expect("ending"), ["143", "requested"]);
    h.expect("cleanup");
}
