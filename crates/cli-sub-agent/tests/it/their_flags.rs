//! Command lines written for other csa installs (contract §10): `--session
//! ID` / `-s ID` wherever an id is taken, `--format text|json`, several ids
//! and `--all` for `result`, `show` and `is-alive`, `peek`, and `clean
//! --days N --tool T`.

use csa_test_support::*;

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr_of(out));
    serde_json::from_str(&stdout_of(out)).unwrap()
}

#[test]
fn session_flag_is_the_id_argument_everywhere() {
    let env = Env::new();
    let done = env.session("retired");
    done.write("result.toml", &result_toml("success", 0, "all good"));
    done.write("output.log", "first\nsecond\n");
    let short = &done.id[..10];
    for flag in ["--session", "-s"] {
        for args in [
            vec!["session", "result", flag, short],
            vec!["session", "show", flag, short],
            vec!["session", "is-alive", flag, short],
            vec!["session", "peek", flag, short],
            vec!["session", "logs", flag, short],
            vec!["session", "wait", flag, short],
            vec!["session", "kill", flag, short],
            vec!["session", "reconcile", flag, short],
        ] {
            let positional: Vec<&str> = args.iter().copied().filter(|a| *a != flag).collect();
            let with_flag = env.csa().args(&args).output().unwrap();
            let plain = env.csa().args(&positional).output().unwrap();
            assert_eq!(with_flag.status.code(), plain.status.code(), "{args:?}");
            assert_eq!(stdout_of(&with_flag), stdout_of(&plain), "{args:?}");
            assert!(
                !stdout_of(&plain).is_empty() || args[1] == "kill",
                "{args:?}"
            );
        }
    }
    // ID and --session for one session are one too many.
    let out = env
        .csa()
        .args(["session", "peek", short, "--session", short])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Nothing at all is a usage error, as before.
    let out = env.csa().args(["session", "result"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // delete takes it too (last: it removes the session).
    env.csa()
        .args(["session", "delete", "-s", short])
        .assert()
        .success();
    assert!(!done.dir.exists());
}

#[test]
fn format_json_is_json_in_any_position_and_text_is_the_default() {
    let env = Env::new();
    let done = env.session("retired");
    done.write("result.toml", &result_toml("failure", 3, "broke"));
    for args in [
        vec!["session", "list", "--format", "json"],
        vec!["--format", "json", "session", "list"],
        vec!["session", "list", "--json"],
    ] {
        let rows = json_of(&env.csa().args(&args).output().unwrap());
        assert_eq!(
            rows[0]["session_id"].as_str(),
            Some(done.id.as_str()),
            "{args:?}"
        );
    }
    for command in ["result", "show", "peek", "is-alive"] {
        let out = env
            .csa()
            .args(["session", command, &done.id, "--format", "json"])
            .output()
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&stdout_of(&out))
            .unwrap_or_else(|e| panic!("{command}: {e}: {}", stdout_of(&out)));
        assert!(value.is_object(), "{command}: {value}");
        let text = env
            .csa()
            .args(["session", command, &done.id, "--format", "text"])
            .output()
            .unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&stdout_of(&text)).is_err());
    }
    let out = env
        .csa()
        .args(["session", "list", "--format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn result_show_and_is_alive_take_several_ids_and_all() {
    let env = Env::new();
    let a = env.session("retired");
    a.write("result.toml", &result_toml("success", 0, "alpha done"));
    let b = env.session("retired");
    b.write("result.toml", &result_toml("failure", 2, "beta broke"));
    let (running, _holder) = running_session(&env);

    // result --all --json: an array of every result, newest first; the
    // running session has none and is passed over.
    let all = json_of(
        &env.csa()
            .args(["session", "result", "--all", "--json"])
            .output()
            .unwrap(),
    );
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![b.id.as_str(), a.id.as_str()]);
    assert_eq!(all[0]["summary"].as_str(), Some("beta broke"));

    // Several named: a block each; a named one without a result is an
    // error line and exit 1, the others still printed.
    let out = env
        .csa()
        .args(["session", "result", &a.id, &running.id, "-s", &b.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    assert!(text.contains(&format!("session_id: {}\n", a.id)), "{text}");
    assert!(text.contains(&format!("session_id: {}\n", b.id)), "{text}");
    assert!(
        stderr_of(&out).contains("has no result yet"),
        "{}",
        stderr_of(&out)
    );

    // show: a view each; --all --json an array of every session.
    let views = json_of(
        &env.csa()
            .args(["session", "show", "--all", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(views.as_array().unwrap().len(), 3);
    let out = env
        .csa()
        .args(["session", "show", &a.id, &b.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(text.contains(&a.id) && text.contains(&b.id), "{text}");
    assert!(
        text.contains("\n\nsession "),
        "views apart by a blank line: {text}"
    );

    // is-alive: one line per session; dead among them makes exit 1; --all
    // is the active ones.
    let out = env
        .csa()
        .args(["session", "is-alive", &running.id, &a.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    assert!(text.contains(&format!("{} alive\n", running.id)), "{text}");
    assert!(text.contains(&format!("{} dead\n", a.id)), "{text}");
    let out = env
        .csa()
        .args(["session", "is-alive", "--all", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let verdicts: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(verdicts.as_array().unwrap().len(), 1);
    assert_eq!(
        verdicts[0]["session_id"].as_str(),
        Some(running.id.as_str())
    );
    assert_eq!(verdicts[0]["verdict"].as_str(), Some("alive"));
}

#[test]
fn peek_shows_status_times_result_and_the_last_five_lines() {
    let env = Env::new();
    let done = env.session("retired");
    done.write("result.toml", &result_toml("failure", 4, "it broke"));
    done.write("output.log", "l1\nl2\nl3\nl4\nl5\nl6\nl7\n");
    let out = env
        .csa()
        .args(["session", "peek", &done.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(text.contains("status   Failed\n"), "{text}");
    assert!(text.contains("elapsed  "), "{text}");
    assert!(
        !text.contains("idle"),
        "an ended session has no idle time: {text}"
    );
    assert!(
        text.contains("result   failure exit 4: it broke\n"),
        "{text}"
    );
    assert!(
        text.ends_with("output\n  l3\n  l4\n  l5\n  l6\n  l7\n"),
        "{text}"
    );

    let (running, _holder) = running_session(&env);
    running.write("output.log", "working on it\n");
    let peek = json_of(
        &env.csa()
            .args(["session", "peek", &running.id, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(peek["status"].as_str(), Some("Active"));
    assert_eq!(peek["liveness"].as_str(), Some("alive"));
    assert_eq!(peek["state"].as_str(), Some("working"));
    assert!(peek["idle_secs"].as_u64().is_some(), "{peek}");
    assert!(peek["result_status"].is_null());
    assert_eq!(peek["last_lines"][0].as_str(), Some("working on it"));
}

#[test]
fn clean_takes_days_and_tools() {
    let env = Env::new();
    // The template's sessions used codex; `other` used gemini-cli instead.
    let codex = env.session("retired").retired("success", 0, 10);
    let other = env.session("retired").retired("failure", 1, 10);
    let mut state = other.state();
    let tools = state["tools"].as_table_mut().unwrap();
    let used = tools.remove("codex").unwrap();
    tools.insert("gemini-cli".into(), used);
    other.write("state.toml", &toml::to_string(&state).unwrap());
    other.set_last_accessed(chrono::Utc::now() - chrono::TimeDelta::days(10));
    let young = env.session("retired").retired("success", 0, 2);
    let broken = env.session("retired");
    broken.write("state.toml", "not toml [");
    crate_backdate(&broken);

    let would = |args: &[&str]| {
        let out = env
            .csa()
            .args(["session", "clean", "--dry-run"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let text = stdout_of(&out);
        [&codex, &other, &young, &broken]
            .iter()
            .map(|s| text.contains(&format!("{} would delete", s.id)))
            .collect::<Vec<bool>>()
    };
    assert_eq!(would(&["--days", "7"]), [true, true, false, false]);
    assert_eq!(would(&["--days", "1"]), [true, true, true, false]);
    assert_eq!(
        would(&["--days", "7", "--tool", "codex"]),
        [true, false, false, false]
    );
    assert_eq!(
        would(&["--days", "7", "--tool", "gemini-cli"]),
        [false, true, false, false]
    );
    assert_eq!(
        would(&["--days", "7", "--tool", "claude,codex,gemini-cli"]),
        [true, true, false, false]
    );
    assert_eq!(
        would(&["--days", "7", "--status", "failed"]),
        [false, true, false, false]
    );
    assert_eq!(
        would(&["--days", "0", "--status", "error"]),
        [false, false, false, true]
    );
    let out = env
        .csa()
        .args(["session", "clean", "--days", "7", "--older-than", "1d"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--days and --older-than are one flag"
    );
}

/// A session dir whose state is broken, made old enough that `clean` may
/// remove it (not one being created).
fn crate_backdate(session: &Session) {
    backdate(&session.path("state.toml"), 2 * 3600);
    backdate(&session.dir, 2 * 3600);
}

/// An active session whose tool lock is held, as by its running daemon.
fn running_session(env: &Env) -> (Session, FlockHolder) {
    let s = env.session("active").dead_pid();
    s.write("locks/codex.lock", &format!("{{\"pid\": {DEAD_PID}}}"));
    let holder = FlockHolder::hold(&s.path("locks/codex.lock"));
    (s, holder)
}

#[test]
fn list_json_elapsed_is_the_compact_text_existing_installs_print() {
    let env = Env::new();
    // Created 2026-01-01T00:00:00Z; the result completed 5 s later.
    let with_result = env.session("retired");
    with_result.write("result.toml", &result_toml("success", 0, "ok"));
    // No result: from creation to `last_accessed`, as existing installs count.
    let without = env.session("retired");
    let created: chrono::DateTime<chrono::Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    without.set_last_accessed(created + chrono::TimeDelta::seconds(3 * 3600 + 5 * 60 + 7));
    let running = env.session("active").dead_pid();
    let out = env
        .csa()
        .args(["session", "list", "--json", "--no-reconcile"])
        .output()
        .unwrap();
    let rows = json_of(&out);
    let elapsed = |id: &str| {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["session_id"] == id)
            .unwrap();
        (row["elapsed"].clone(), row["elapsed_secs"].clone())
    };
    assert_eq!(elapsed(&with_result.id), ("5s".into(), 5.0.into()));
    let (text, secs) = elapsed(&without.id);
    assert_eq!((text, secs), ("3h5m".into(), serde_json::Value::Null));
    // Active: up to now, days since its creation in 2026.
    let (text, secs) = elapsed(&running.id);
    let text = text.as_str().unwrap().to_owned();
    let days = (secs.as_f64().unwrap() / 86_400.0) as u64;
    assert!(text.starts_with(&format!("{days}d")), "{text} {secs}");
}
