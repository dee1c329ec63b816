//! `csa session delete` and `csa session clean`: never a session that may
//! still run, only what the policy selects, nothing written by `--dry-run`,
//! symlinks never followed, and a crash at any step converges.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;

use csa_session::SessionId;
use csa_test_support::*;

pub(crate) fn csa(env: &Env, args: &[&str]) -> Output {
    env.csa().args(args).output().unwrap()
}

/// `clean`/`delete --json`: session id -> (action, reason).
pub(crate) fn actions(out: &Output) -> BTreeMap<String, (String, String)> {
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", stdout_of(out)));
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let text = |key: &str| row[key].as_str().unwrap().to_owned();
            (text("session_id"), (text("action"), text("reason")))
        })
        .collect()
}

/// A session whose tool lock is held, as by its running daemon.
fn live_session(env: &Env, phase: &str) -> (Session, FlockHolder) {
    let s = env.session(phase).dead_pid();
    s.write("locks/codex.lock", &format!("{{\"pid\": {DEAD_PID}}}"));
    let holder = FlockHolder::hold(&s.path("locks/codex.lock"));
    (s, holder)
}

/// An active session whose lock record was written on another host.
fn unknown_session(env: &Env) -> Session {
    let s = env.session("active");
    s.write(
        "locks/codex.lock",
        r#"{"pid": 4242, "pid_start_time_ticks": 7, "hostname": "elsewhere.invalid"}"#,
    );
    s
}

#[test]
fn delete_refuses_a_session_that_may_still_run_and_says_to_kill_an_active_one_first() {
    let env = Env::new();
    let (active, _held) = live_session(&env, "active");
    let (ending, _held_too) = live_session(&env, "active");
    let ending = ending.retired("success", 0, 30);
    let unknown = unknown_session(&env);
    for s in [&active, &ending, &unknown] {
        let before = s.snapshot();
        let out = csa(&env, &["session", "delete", &s.id]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
        let text = stdout_of(&out);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with(&format!("{} kept: ", s.id)), "{text}");
        // Kill is what stops an active session; a settled one whose lock a
        // stray process holds is past what kill does, so no such advice.
        let hint = format!("stop it with `csa session kill {}` first", s.id);
        assert_eq!(text.contains(&hint), s.id != ending.id, "{text}");
        assert_eq!(s.snapshot(), before, "a refused session is not touched");
    }
    assert!(stdout_of(&csa(&env, &["session", "delete", &unknown.id])).contains("unknown"));
    assert!(stdout_of(&csa(&env, &["session", "delete", &ending.id])).contains("flock is held"));
}

#[test]
fn clean_skips_sessions_that_may_still_run_and_says_so() {
    let env = Env::new();
    let (active, _held) = live_session(&env, "active");
    let (ending, _held_too) = live_session(&env, "active");
    let ending = ending.retired("failure", 1, 30);
    let unknown = unknown_session(&env);
    let done = env.session("active").retired("success", 0, 30);
    let out = csa(&env, &["session", "clean", "--older-than", "0s", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let actions = actions(&out);
    for s in [&active, &ending, &unknown] {
        let (action, reason) = &actions[&s.id];
        assert_eq!(action, "kept", "{reason}");
        assert!(
            reason.starts_with("active (process is") || reason.contains("still alive"),
            "{reason}"
        );
        assert!(s.exists("state.toml"));
    }
    assert_eq!(actions[&done.id].0, "deleted");
    assert!(!done.dir.exists());
}

#[test]
fn clean_removes_old_settled_sessions_and_keeps_everything_else() {
    let env = Env::new();
    let old_retired = env.session("active").retired("success", 0, 30);
    let old_failed = env.session("active").retired("failure", 2, 8);
    let recent = env.session("active").retired("success", 0, 2);
    let broken = env.session("active").retired("success", 0, 30);
    broken.write("result.toml", "status = \"succ");
    let available = env.session("available");
    // A dead active session: reconciled first, then old and failed.
    let dead = env.session("active").dead_pid();
    let creating = env.sessions_dir().join(SessionId::generate().as_str());
    fs_err::create_dir_all(&creating).unwrap();
    let staging_id = SessionId::generate();
    let staging = env.sessions_dir().join(format!(".creating-{staging_id}"));
    fs_err::create_dir_all(&staging).unwrap();
    let abandoned_id = SessionId::generate();
    let abandoned = env.sessions_dir().join(format!(".creating-{abandoned_id}"));
    fs_err::create_dir_all(abandoned.join("locks")).unwrap();
    fs_err::write(abandoned.join("daemon.pid"), format!("{DEAD_PID} 1\n")).unwrap();
    backdate(&abandoned, 2 * 3600);

    let out = csa(&env, &["session", "clean", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let first = actions(&out);
    let action = |id: &str| first[id].0.as_str();
    assert_eq!(action(&old_retired.id), "deleted");
    assert_eq!(action(&old_failed.id), "deleted");
    assert_eq!(action(&dead.id), "deleted");
    assert!(first[&dead.id].1.contains("reconciled first"));
    assert_eq!(action(abandoned_id.as_str()), "deleted");
    for (id, why) in [
        (&recent.id, "newer than 7d"),
        (&broken.id, "--status error"),
        (&available.id, "available"),
        (&staging_id.to_string(), "being created"),
    ] {
        assert_eq!(action(id), "kept", "{id}");
        assert!(first[id].1.contains(why), "{:?}", first[id]);
    }
    let fresh = creating.file_name().unwrap().to_str().unwrap();
    assert!(first[fresh].1.contains("being created"));
    for gone in [&old_retired.dir, &old_failed.dir, &dead.dir, &abandoned] {
        assert!(!gone.exists(), "{}", gone.display());
    }
    for kept in [
        &recent.dir,
        &broken.dir,
        &available.dir,
        &creating,
        &staging,
    ] {
        assert!(kept.exists(), "{}", kept.display());
    }

    // Sessions in error go only when asked for.
    let out = csa(&env, &["session", "clean", "--status", "error", "--json"]);
    assert!(out.status.success());
    assert_eq!(actions(&out)[&broken.id].0, "deleted");
    assert!(!broken.dir.exists() && recent.dir.exists() && creating.exists());
    // `--status failed` narrows; the text output is one line per session.
    let failed = env.session("active").retired("failure", 1, 30);
    let out = csa(
        &env,
        &[
            "session",
            "clean",
            "--older-than",
            "1d",
            "--status",
            "failed",
            "-v",
        ],
    );
    let text = stdout_of(&out);
    assert!(text.contains(&format!("{} deleted\n", failed.id)), "{text}");
    assert!(
        text.contains(&format!(
            "{} kept: retired (not selected by --status)",
            recent.id
        )),
        "{text}"
    );
}

#[test]
fn clean_status_takes_several_values_as_list_does() {
    let env = Env::new();
    let retired = env.session("active").retired("success", 0, 30);
    let failed = env.session("active").retired("failure", 2, 30);
    let broken = env.session("active").retired("success", 0, 30);
    broken.write("result.toml", "status = \"succ");
    for status in [
        &["--status", "failed,error"][..],
        &["--status", "failed", "--status", "error"],
    ] {
        let out = csa(
            &env,
            &[&["session", "clean", "--dry-run", "--json"][..], status].concat(),
        );
        assert!(out.status.success(), "{}", stderr_of(&out));
        let found = actions(&out);
        assert_eq!(found[&failed.id].0, "would delete", "{status:?}");
        assert_eq!(found[&broken.id].0, "would delete", "{status:?}");
        assert_eq!(found[&retired.id].0, "kept", "{status:?}");
    }
    let out = csa(&env, &["session", "clean", "--status", "failed,bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(retired.dir.exists() && failed.dir.exists() && broken.dir.exists());
}

#[test]
fn keep_n_keeps_the_newest_settled_sessions_whatever_their_age() {
    let env = Env::new();
    let sessions: Vec<Session> = (0..5)
        .map(|days| env.session("active").retired("success", 0, 10 + days))
        .collect();
    let out = csa(
        &env,
        &[
            "session",
            "clean",
            "--keep",
            "2",
            "--older-than",
            "1h",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let actions = actions(&out);
    for (i, s) in sessions.iter().enumerate() {
        let newest_two = i < 2;
        assert_eq!(s.dir.exists(), newest_two, "session {i}");
        let expected = if newest_two { "kept" } else { "deleted" };
        assert_eq!(actions[&s.id].0, expected, "session {i}");
    }
    assert!(actions[&sessions[0].id].1.contains("newest 2"));
}

#[test]
fn delete_removes_ended_sessions_and_errors_by_prefix() {
    let env = Env::new();
    let retired = env.session("active").retired("success", 0, 0);
    let broken = env.session("active");
    broken.write("state.toml", "meta_session_id = ");
    backdate(&broken.path("state.toml"), 7200);
    let out = csa(&env, &["session", "delete", &retired.id[..12], &broken.id]);
    assert!(out.status.success(), "{}", stdout_of(&out));
    // One line each, in id order (the older session first).
    assert_eq!(
        stdout_of(&out),
        format!("{} deleted\n{} deleted\n", retired.id, broken.id)
    );
    assert!(!retired.dir.exists() && !broken.dir.exists());
    assert!(stdout_of(&csa(&env, &["session", "list", "--json"])).trim() == "[]");
    // Unknown ids fail before anything is removed.
    let other = env.session("active").retired("success", 0, 0);
    let out = csa(&env, &["session", "delete", &other.id, "7ZZZZ"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no session matches"),
        "{}",
        stderr_of(&out)
    );
    assert!(other.dir.exists());
}

#[test]
fn dry_runs_write_nothing_anywhere() {
    let env = Env::new();
    env.session("active").retired("success", 0, 30);
    env.session("active").dead_pid();
    let (_live, _held) = live_session(&env, "active");
    let stale = env.session("active").retired("success", 0, 0);
    stale.write(".csa-tmp-x-1-2", "crashed writer");
    backdate(&stale.path(".csa-tmp-x-1-2"), 600);
    fs_err::create_dir_all(
        env.sessions_dir()
            .join(".trash/V/01ARZ3NDEKTSV4RRFFQ69G5FAV-1-x"),
    )
    .unwrap();
    let abandoned = env
        .sessions_dir()
        .join(format!(".creating-{}", SessionId::generate()));
    fs_err::create_dir_all(&abandoned).unwrap();
    backdate(&abandoned, 7200);
    let ids: Vec<String> = fs_err::read_dir(env.sessions_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| SessionId::parse(name).is_ok())
        .collect();
    let before = (snapshot_dir(&env.state_home), snapshot_dir(&env.cache_home));
    let mut delete = vec!["session", "delete", "--dry-run"];
    delete.extend(ids.iter().map(String::as_str));
    let out = csa(&env, &delete);
    assert!(
        stdout_of(&out).contains("would delete"),
        "{}",
        stdout_of(&out)
    );
    let out = csa(
        &env,
        &["session", "clean", "--older-than", "0s", "--dry-run"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_eq!(text.matches("would delete").count(), 4, "{text}");
    let after = (snapshot_dir(&env.state_home), snapshot_dir(&env.cache_home));
    assert_eq!(before, after, "--dry-run changed the state tree");
}

#[cfg(unix)]
#[test]
fn a_symlink_inside_a_session_is_removed_and_its_target_survives() {
    let env = Env::new();
    let outside = env.tmp.path().join("precious");
    fs_err::create_dir_all(outside.join("deep")).unwrap();
    fs_err::write(outside.join("a.txt"), "keep me").unwrap();
    fs_err::write(outside.join("deep/b.txt"), "keep me too").unwrap();
    let s = env.session("active").retired("success", 0, 30);
    std::os::unix::fs::symlink(&outside, s.path("output")).unwrap();
    fs_err::create_dir_all(s.path("sub")).unwrap();
    std::os::unix::fs::symlink(&outside, s.path("sub/link")).unwrap();
    std::os::unix::fs::symlink(outside.join("a.txt"), s.path("artifact.txt")).unwrap();
    let before = snapshot_dir(&outside);
    let out = csa(&env, &["session", "delete", &s.id]);
    assert!(out.status.success(), "{}", stdout_of(&out));
    assert!(!s.dir.exists());
    assert_eq!(snapshot_dir(&outside), before);
    assert_eq!(
        fs_err::read_to_string(outside.join("deep/b.txt")).unwrap(),
        "keep me too"
    );
}

fn aborted(out: &Output) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        out.status.signal() == Some(libc::SIGABRT)
    }
    #[cfg(not(unix))]
    {
        !out.status.success()
    }
}

/// The session is either exactly as it was, or not in `sessions/` at all;
/// `list` shows it as it was, or not at all.
fn assert_intact_or_gone(
    env: &Env,
    s: &Session,
    before: &BTreeMap<PathBuf, Vec<u8>>,
    context: &str,
) {
    let list = csa(env, &["session", "list", "--json"]);
    assert!(list.status.success(), "{context}: {}", stderr_of(&list));
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["session_id"] == s.id.as_str());
    if s.dir.exists() {
        let mut now = s.snapshot();
        now.remove(&s.path(".reconcile.lock"));
        assert_eq!(
            &now, before,
            "{context}: a session still in place is untouched"
        );
        assert_eq!(
            row.map(|r| r["status"].clone()),
            Some("Retired".into()),
            "{context}"
        );
    } else {
        assert!(row.is_none(), "{context}: {row:?}");
    }
    assert!(
        stderr_of(&list).is_empty(),
        "{context}: {}",
        stderr_of(&list)
    );
}

#[test]
fn a_crash_at_every_removal_step_converges_on_the_next_clean_or_delete() {
    for point in FaultPoint::REMOVE {
        for command in ["clean", "delete"] {
            let context = format!("{command} killed at {point}");
            let env = Env::new();
            let s = env.session("active").retired("success", 0, 30);
            s.old_log("output.log", "line\n");
            s.write("locks/codex.lock", &format!("{{\"pid\": {DEAD_PID}}}"));
            let before = s.snapshot();
            let args: Vec<&str> = match command {
                "clean" => vec!["session", "clean"],
                _ => vec!["session", "delete", &s.id],
            };
            let out = env
                .csa()
                .env(FAULT_ENV, point.spec(FaultMode::Abort))
                .args(&args)
                .output()
                .unwrap();
            assert!(
                aborted(&out),
                "{context}: {:?} {}",
                out.status,
                stderr_of(&out)
            );
            assert_intact_or_gone(&env, &s, &before, &context);

            // The next run finishes the job, whatever state the crash left.
            let next = csa(&env, &["session", "clean"]);
            assert!(next.status.success(), "{context}: {}", stderr_of(&next));
            assert!(!s.dir.exists(), "{context}");
            assert!(trashed(&env.sessions_dir()).is_empty(), "{context}");
            assert_intact_or_gone(&env, &s, &before, &context);
        }
    }
}

#[test]
fn a_crashed_delete_is_finished_by_the_next_delete_too() {
    let env = Env::new();
    let s = env.session("active").retired("success", 0, 30);
    s.old_log("output.log", "x\n");
    let out = env
        .csa()
        .env(FAULT_ENV, FaultPoint::RemoveSynced.spec(FaultMode::Abort))
        .args(["session", "delete", &s.id])
        .output()
        .unwrap();
    assert!(aborted(&out));
    assert_eq!(trashed(&env.sessions_dir()).len(), 1);
    // Deleting it again: it is already gone from view, and the trash is emptied.
    let out = csa(&env, &["session", "delete", &s.id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no session matches"),
        "{}",
        stderr_of(&out)
    );
    assert!(trashed(&env.sessions_dir()).is_empty());
}

#[test]
fn removed_sessions_leave_no_row_in_the_list_cache() {
    let env = Env::new();
    let gone = env.session("active").retired("success", 0, 30);
    let stays = env.session("active").retired("success", 0, 0);
    // Files changed within the last 2 s are never cached (their ctime counts).
    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert!(csa(&env, &["session", "list"]).status.success());
    let cache_dir = env.cache_home.join("cli-sub-agent/list-cache");
    let cached = || -> String {
        fs_err::read_dir(&cache_dir)
            .unwrap()
            .map(|e| fs_err::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    };
    let filled = cached();
    assert!(filled.contains(&gone.id) && filled.contains(&stays.id));
    let out = csa(&env, &["session", "delete", &gone.id]);
    assert!(out.status.success(), "{}", stdout_of(&out));
    let now = cached();
    assert!(!now.contains(&gone.id), "{now}");
    assert!(now.contains(&stays.id), "{now}");
    // Even a stale row put back by hand is never listed for a missing dir.
    let file = fs_err::read_dir(&cache_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs_err::write(&file, &filled).unwrap();
    let list = stdout_of(&csa(&env, &["session", "list", "--json"]));
    assert!(!list.contains(&gone.id), "{list}");
    assert!(list.contains(&stays.id));
}

/// `clean --older-than 0s` looping against `csa run` and `csa session list`:
/// no active session is ever removed, and neither `list` nor `run` fails.
#[cfg(target_os = "linux")]
#[test]
fn clean_racing_runs_and_lists_never_removes_a_live_session() {
    const ROUNDS: usize = 12;
    let env = Env::new();
    let run = |cmd: &str| -> String {
        let out = csa(&env, &["run", "--tool", "demo", "--", "sh", "-c", cmd]);
        assert!(out.status.success(), "run failed: {}", stderr_of(&out));
        stdout_of(&out).trim().to_owned()
    };
    // Sessions that stay alive for the whole race (until released).
    let release = env.tmp.path().join("release");
    let wait = format!("while [ ! -e {} ]; do sleep 0.05; done", release.display());
    let long: Vec<String> = (0..3).map(|_| run(&wait)).collect();
    let (short, cleans) = std::thread::scope(|scope| {
        let runner = scope.spawn(|| {
            (0..ROUNDS * 2)
                .map(|i| run(&format!("echo {i}")))
                .collect::<Vec<_>>()
        });
        let lister = scope.spawn(|| {
            for _ in 0..ROUNDS {
                let out = csa(&env, &["session", "list", "--json"]);
                assert!(out.status.success(), "list failed: {}", stderr_of(&out));
                let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                for row in rows.as_array().unwrap() {
                    assert_ne!(row["status"], "Error", "{row}");
                }
            }
        });
        let cleaner = scope.spawn(|| {
            (0..ROUNDS)
                .map(|_| {
                    let out = csa(&env, &["session", "clean", "--older-than", "0s", "--json"]);
                    assert!(out.status.success(), "clean failed: {}", stderr_of(&out));
                    actions(&out)
                })
                .collect::<Vec<_>>()
        });
        lister.join().unwrap();
        (runner.join().unwrap(), cleaner.join().unwrap())
    });
    for id in &long {
        let s = env.session_of(id);
        assert!(s.exists("state.toml"), "a live session was removed");
        for actions in &cleans {
            if let Some((action, reason)) = actions.get(id) {
                assert_eq!(action, "kept", "{reason}");
            }
        }
    }
    // Every removed session had ended with its result.
    for actions in &cleans {
        for (id, (action, reason)) in actions {
            if action == "deleted" {
                assert!(short.contains(id), "{id} {reason}");
                assert!(
                    reason.starts_with("retired") || reason.starts_with("failed"),
                    "{reason}"
                );
            }
        }
    }
    fs_err::write(&release, "").unwrap();
    for id in &long {
        let out = csa(&env, &["session", "wait", id, "--timeout", "30"]);
        assert!(out.status.success(), "{id}: {}", stderr_of(&out));
        let s = env.session_of(id);
        assert_eq!(s.result()["exit_code"].as_integer(), Some(0));
    }
    // Once every daemon has exited, everything goes.
    let sessions = csa_session::SessionsDir {
        path: env.sessions_dir(),
        legacy: false,
    };
    wait_until("every ended session to be cleaned", || {
        let out = csa(&env, &["session", "clean", "--older-than", "0s"]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        csa_session::list_sessions(&sessions).unwrap().is_empty()
    });
}

#[test]
fn a_dry_run_says_kept_where_the_real_run_would_meet_another_csas_lock() {
    let env = Env::new();
    let settled = env.session("active").retired("success", 0, 30);
    let dying = env.session("active").dead_pid();
    let free = env.session("active").retired("success", 0, 30);
    let holders: Vec<FlockHolder> = [&settled, &dying]
        .iter()
        .map(|s| FlockHolder::hold(&s.path(".reconcile.lock")))
        .collect();
    let before = free.snapshot();
    for args in [
        &["session", "clean", "--dry-run", "--json"][..],
        &[
            "session",
            "delete",
            "--dry-run",
            "--json",
            &settled.id,
            &dying.id,
            &free.id,
        ][..],
    ] {
        let out = csa(&env, args);
        let seen = actions(&out);
        for s in [&settled, &dying] {
            assert_eq!(seen[&s.id].0, "kept", "{args:?}: {:?}", seen[&s.id]);
            assert!(
                seen[&s.id].1.contains("locked by another csa"),
                "{:?}",
                seen[&s.id]
            );
        }
        assert_eq!(seen[&free.id].0, "would delete", "{args:?}");
    }
    assert_eq!(free.snapshot(), before, "the dry run wrote nothing");
    assert!(!free.exists(".reconcile.lock"), "not even a lock file");
    drop(holders);
}

#[test]
fn a_corrupt_state_goes_only_when_nothing_it_records_may_still_run() {
    let env = Env::new();
    // Its lock record is from another host: its process cannot be checked.
    let elsewhere = unknown_session(&env);
    elsewhere.write("state.toml", "phase = [unterminated");
    let before = elsewhere.snapshot();
    let out = csa(&env, &["session", "delete", &elsewhere.id]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    assert!(
        stdout_of(&out).contains("cannot be checked"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(elsewhere.snapshot(), before);
    // No pid record at all: nothing of it can run.
    let bare = env.session("active");
    bare.write("state.toml", "phase = [unterminated");
    let out = csa(&env, &["session", "delete", &bare.id]);
    assert!(out.status.success(), "{}", stdout_of(&out));
    assert!(!bare.dir.exists());
}
