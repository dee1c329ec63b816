//! Hostile and broken session dirs: FIFOs, links to devices, huge sparse
//! files, truncated giant TOML, dangling links, dirs being created. Every
//! command finishes promptly, names what is wrong, lists the other sessions,
//! and changes nothing it cannot read.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use csa_test_support::*;

/// Run csa with `args`; fail the test if it does not finish within 10 s.
fn run_bounded(env: &Env, args: &[&str]) -> Output {
    let child = env
        .csa_std()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            kill_group(pid);
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("csa {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    waiter.join().unwrap()
}

#[cfg(unix)]
#[test]
fn fifos_devices_and_huge_files_never_hang_or_eat_memory() {
    let env = Env::new();
    let good = env.session("retired");
    good.write("result.toml", &result_toml("success", 0, "fine"));
    let fifo_state = env.session("active");
    mkfifo(&fifo_state.path("state.toml"));
    let fifo_result = env.session("active").dead_pid();
    mkfifo(&fifo_result.path("result.toml"));
    let zero_result = env.session("retired");
    std::os::unix::fs::symlink("/dev/zero", zero_result.path("result.toml")).unwrap();
    let sparse = env.session("retired");
    let file = fs_err::File::create(sparse.path("result.toml")).unwrap();
    file.set_len(4 << 30).unwrap();
    let giant = env.session("active");
    let mut text = giant.read("state.toml");
    text.push_str(&format!("blob = \"{}", "x".repeat(24 << 20)));
    giant.write("state.toml", &text);
    let fifo_pid = env.session("active");
    mkfifo(&fifo_pid.path("daemon.pid"));
    let fifo_completion = env.session("active").dead_pid();
    mkfifo(&fifo_completion.path("daemon-completion.toml"));
    let fifo_lock = env.session("active").dead_pid();
    fs_err::create_dir_all(fifo_lock.path("locks")).unwrap();
    mkfifo(&fifo_lock.path("locks/codex.lock"));
    let fifo_log = env.session("active").dead_pid();
    mkfifo(&fifo_log.path("output.log"));
    backdate(&fifo_log.path("output.log"), 120);

    let before =
        [&fifo_state, &fifo_result, &zero_result, &sparse, &giant].map(|s| s.snapshot().len());
    let out = run_bounded(&env, &["session", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = |s: &Session| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["session_id"] == s.id.as_str())
            .unwrap_or_else(|| panic!("{} is listed", s.id))
            .clone()
    };
    assert_eq!(row(&good)["status"], "Retired");
    for (s, why) in [
        (&fifo_state, "a FIFO"),
        (&fifo_result, "a FIFO"),
        (&zero_result, "a device"),
        (&sparse, "bytes"),
        (&giant, "bytes"),
    ] {
        let r = row(s);
        assert_eq!(r["status"], "Error", "{r}");
        assert!(r["error"].as_str().unwrap().contains(why), "{r}");
    }
    // Unreadable pid and lock records are unknown evidence: kept active.
    assert_eq!(row(&fifo_pid)["status"], "Active");
    assert_eq!(row(&fifo_lock)["status"], "Active");
    // A dead session whose completion is a FIFO gets a synthetic result.
    assert_eq!(row(&fifo_completion)["status"], "Failed");
    // A FIFO as output.log: the tail is skipped, the session still settles.
    assert_eq!(row(&fifo_log)["status"], "Failed");
    let after =
        [&fifo_state, &fifo_result, &zero_result, &sparse, &giant].map(|s| s.snapshot().len());
    assert_eq!(before, after, "broken sessions are not touched");

    let out = run_bounded(&env, &["session", "reconcile", "--all"]);
    assert!(stdout_of(&out).contains(&good.id), "{}", stdout_of(&out));
}

#[cfg(unix)]
#[test]
fn a_dangling_result_link_is_an_error_never_a_result() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    std::os::unix::fs::symlink(env.tmp.path().join("nothing"), s.path("result.toml")).unwrap();
    let before = s.snapshot();
    let out = run_bounded(&env, &["session", "reconcile", &s.id]);
    let text = stdout_of(&out);
    assert!(
        text.contains("no-change") && text.contains("cannot be parsed or read"),
        "{text}"
    );
    assert_eq!(s.snapshot(), before);
    assert_eq!(s.phase(), "active");
    let out = run_bounded(&env, &["session", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["status"], "Error", "{rows}");
    assert!(
        rows[0]["error"]
            .as_str()
            .unwrap()
            .contains("symbolic link to nothing")
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_list_cache_is_ignored() {
    let env = Env::new();
    let s = env.session("retired");
    s.write("result.toml", &result_toml("success", 0, "fine"));
    // Files changed within the last 2 s are never cached.
    std::thread::sleep(Duration::from_millis(2200));
    let out = run_bounded(&env, &["session", "list"]);
    assert!(out.status.success());
    let cache_dir = env.cache_home.join("cli-sub-agent/list-cache");
    for entry in fs_err::read_dir(&cache_dir).unwrap() {
        mkfifo(&entry.unwrap().path());
    }
    let out = run_bounded(&env, &["session", "list"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains(&s.id[..8]));
}

#[test]
fn a_dir_being_created_is_not_an_error_until_it_is_old() {
    let env = Env::new();
    let creating = env
        .sessions_dir()
        .join(csa_session::SessionId::generate().as_str());
    fs_err::create_dir_all(&creating).unwrap();
    let out = run_bounded(&env, &["session", "reconcile", "--all"]);
    assert!(out.status.success(), "{}", stdout_of(&out));
    assert!(
        stdout_of(&out).contains("initializing"),
        "{}",
        stdout_of(&out)
    );
    let out = run_bounded(&env, &["session", "list", "--json"]);
    assert_eq!(stdout_of(&out).trim(), "[]");
    backdate(&creating, 2 * 3600);
    let out = run_bounded(&env, &["session", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["status"], "Error");
    // Old and empty: listed as Error, but nothing for reconcile to fail on,
    // so `reconcile --all` does not exit 1 forever because of it.
    let out = run_bounded(&env, &["session", "reconcile", "--all"]);
    assert!(out.status.success(), "{}", stdout_of(&out));
    assert!(
        stdout_of(&out).contains("no-change no state.toml"),
        "{}",
        stdout_of(&out)
    );
    assert!(creating.exists(), "left for clean --status error");
}

#[test]
fn a_failed_dir_sync_after_the_state_rename_keeps_the_result() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let out = env
        .csa()
        .env(FAULT_ENV, FaultPoint::DurableDirSync.spec(FaultMode::Error))
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the sync failure is reported");
    assert!(
        stdout_of(&out).contains("could not be synced"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(s.phase(), "retired");
    assert_eq!(s.result_files(), 1, "the result is kept, never rolled back");
    assert_eq!(
        s.state()["termination_reason"].as_str(),
        Some("orphaned_process")
    );
    let again = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(stdout_of(&again).contains("no-change"));
}
