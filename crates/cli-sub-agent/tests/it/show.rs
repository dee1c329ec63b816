//! `csa session show`: a live session's process tree usage and liveness, an
//! ended session's result and duration, and the family of a session.

use csa_test_support::*;

fn show_json(env: &Env, id: &str) -> serde_json::Value {
    let out = env
        .csa()
        .args(["session", "show", "--json", id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_live_session_shows_its_liveness_pid_and_the_usage_of_its_tree() {
    let env = Env::new();
    let s = env.run_with(&["--description", "long job"], &["sleep", "100"]);
    let (pid, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    let view = show_json(&env, &s.id);
    assert_eq!(view["cmd_pid"], cmd);
    kill_group(cmd);
    kill_group(pid);
    assert_eq!(view["session_id"], s.id.as_str());
    assert_eq!(view["status"], "Active");
    assert_eq!(view["phase"], "active");
    assert_eq!(view["description"], "long job");
    assert_eq!(view["tools"], serde_json::json!(["demo"]));
    assert_eq!(view["pid"], pid);
    assert_eq!(view["liveness"]["verdict"], "alive", "{view}");
    assert!(
        view["memory_bytes"].as_u64().is_some_and(|b| b > 0),
        "{view}"
    );
    assert!(
        view["cpu_seconds"].as_f64().is_some_and(|s| s >= 0.0),
        "{view}"
    );
    assert!(view["result"].is_null() && view["duration_seconds"].is_null());
    assert_eq!(view["children"], serde_json::json!([]));
    assert!(view["parent_session_id"].is_null());
    assert_eq!(view["project_path"], env.project.display().to_string());
    assert_eq!(view["session_dir"], s.dir.display().to_string());
    for key in ["created_at", "last_accessed"] {
        let text = view[key].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{key}: {e}"));
    }
}

#[test]
fn an_ended_session_shows_its_result_and_duration_and_no_usage() {
    let env = Env::new();
    let s = env.run_with(&[], &["sh", "-c", "sleep 0.2; echo all done; exit 3"]);
    let out = env.csa().args(["session", "wait", &s.id]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let view = show_json(&env, &s.id);
    assert_eq!(view["status"], "Failed");
    assert_eq!(view["phase"], "retired");
    assert_eq!(view["termination_reason"], "completed");
    assert_eq!(view["result"]["status"], "failure");
    assert_eq!(view["result"]["exit_code"], 3);
    assert_eq!(view["result"]["summary"], "all done");
    let took = view["duration_seconds"].as_f64().unwrap();
    assert!((0.1..60.0).contains(&took), "{took}");
    assert!(view["liveness"].is_null());
    assert!(view["memory_bytes"].is_null() && view["cpu_seconds"].is_null());

    let out = env.csa().args(["session", "show", &s.id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    for expected in [
        format!("session       {}\n", s.id),
        "status        Failed\n".to_owned(),
        "result        failure exit 3\n".to_owned(),
        "summary       all done\n".to_owned(),
        "termination   completed\n".to_owned(),
        format!("dir           {}\n", s.dir.display()),
    ] {
        assert!(text.contains(&expected), "{expected:?} missing:\n{text}");
    }
    assert!(text.contains("\nduration      "), "{text}");
    assert!(!text.contains("\nliveness"), "{text}");
}

#[test]
fn children_are_the_sessions_whose_state_names_this_one_as_parent() {
    let env = Env::new();
    let parent = env.session("retired");
    let child = env.session("active").dead_pid();
    let other = env.session("retired");
    let named = child.read("state.toml").replace(
        "[genealogy]\ndepth = 0",
        &format!(
            "[genealogy]\nparent_session_id = \"{}\"\ndepth = 1",
            parent.id
        ),
    );
    child.write("state.toml", &named);
    child.old_log("output.log", "gone\n");

    let view = show_json(&env, &parent.id);
    assert_eq!(view["children"], serde_json::json!([child.id]));
    assert!(view["parent_session_id"].is_null());
    let view = show_json(&env, &child.id);
    assert_eq!(view["parent_session_id"], parent.id.as_str());
    // Shown after reconciling it: its daemon is dead.
    assert_eq!(view["status"], "Failed");
    assert!(
        view["result"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("synthetic failure by session show")
    );
    assert_eq!(
        show_json(&env, &other.id)["children"],
        serde_json::json!([])
    );

    let out = env
        .csa()
        .args(["session", "show", &parent.id])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!("children      {}\n", child.id)),
        "{text}"
    );
    assert!(text.contains("parent        none\n"), "{text}");
}

#[test]
fn an_unreadable_state_is_one_error_line() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    s.write("state.toml", "phase = [unterminated");
    let out = env.csa().args(["session", "show", &s.id]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("csa: error: ") && err.contains("state.toml"),
        "{err}"
    );
    assert!(stdout_of(&out).is_empty());
}

#[test]
fn native_toml_datetimes_are_rfc_3339_strings_in_json() {
    let env = Env::new();
    let s = env.session("retired");
    let text = result_toml("success", 0, "fine").replace(
        "completed_at = \"2026-01-01T00:00:05Z\"",
        "completed_at = 1979-05-27T07:32:00Z\nreviewed_at = 1979-05-27 07:32:00.5-07:00",
    );
    s.write("result.toml", &text);
    let view = show_json(&env, &s.id);
    let out = env
        .csa()
        .args(["session", "result", "--json", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (what, json) in [("result --json", &result), ("show --json", &view["result"])] {
        assert_eq!(
            json["completed_at"], "1979-05-27T07:32:00Z",
            "{what}: {json}"
        );
        assert_eq!(
            json["reviewed_at"], "1979-05-27T07:32:00.5-07:00",
            "{what}: {json}"
        );
        assert_eq!(json["started_at"], "2026-01-01T00:00:00Z", "{what}: {json}");
        assert!(!json.to_string().contains("toml_private"), "{what}: {json}");
    }
}
