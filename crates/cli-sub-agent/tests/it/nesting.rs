//! Identity passed down (contract §8.1): CMD's environment and working
//! directory, the `[run]` table, a nested run's parent and depth, and the
//! depth limit.

use csa_test_support::*;

#[test]
fn the_command_gets_its_session_identity_and_runs_in_the_project_dir() {
    let env = Env::new();
    let sub = env.tmp.path().join("elsewhere");
    fs_err::create_dir_all(&sub).unwrap();
    let script = "printf '%s\\n' \"$CSA_SESSION_ID\" \"$CSA_SESSION_DIR\" \"$CSA_PROJECT_ROOT\" \"$CSA_TOOL\" \"$CSA_DEPTH\" \"$PWD\"";
    let out = env
        .csa()
        .current_dir(&sub)
        .args(["run", "--tool", "demo", "--cd"])
        .arg(&env.project)
        .args(["--", "sh", "-c", script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let s = env.session_of(stdout_of(&out).trim());
    env.csa()
        .args(["session", "wait", &s.id, "--timeout", "20"])
        .assert()
        .success();
    let lines: Vec<String> = s.read("output.log").lines().map(str::to_owned).collect();
    let project = env.project.display().to_string();
    assert_eq!(
        lines,
        [
            s.id.clone(),
            s.dir.display().to_string(),
            project.clone(),
            "demo".to_owned(),
            "1".to_owned(),
            project.clone(),
        ]
    );
    let state = s.state();
    let run = state["run"].as_table().unwrap();
    assert_eq!(run["command"].as_array().unwrap().len(), 3);
    assert_eq!(run["command"][0].as_str(), Some("sh"));
    assert_eq!(run["cwd"].as_str(), Some(project.as_str()));
    assert!(run.get("timeout_secs").is_none());
}

#[test]
fn list_json_shows_the_run_table_fresh_and_from_the_cache() {
    let env = Env::new();
    let timed = env.run_with(&["--timeout", "60"], &["echo", "a b"]);
    let bare = env.session("retired");
    env.csa()
        .args(["session", "wait", &timed.id, "--timeout", "20"])
        .assert()
        .success();
    let project = env.project.display().to_string();
    // The first list computes the rows; the second reads settled ones back
    // from the list cache.
    for _ in 0..2 {
        let out = env
            .csa()
            .args(["session", "list", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let row_of = |id: &str| {
            rows.as_array()
                .unwrap()
                .iter()
                .find(|row| row["session_id"] == id)
                .unwrap()
                .clone()
        };
        assert_eq!(
            row_of(&timed.id)["run"],
            serde_json::json!({"command": ["echo", "a b"], "cwd": project, "timeout_secs": 60})
        );
        assert_eq!(row_of(&bare.id)["run"], serde_json::Value::Null);
    }
}

#[test]
fn a_nested_run_records_its_parent_and_depth() {
    let env = Env::new();
    let parent = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let out = env
        .csa()
        .env("CSA_SESSION_ID", parent)
        .env("CSA_DEPTH", "2")
        .args([
            "run",
            "--tool",
            "demo",
            "--",
            "sh",
            "-c",
            "echo \"$CSA_DEPTH\"",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let s = env.session_of(stdout_of(&out).trim());
    let genealogy = s.state()["genealogy"].as_table().unwrap().clone();
    assert_eq!(genealogy["parent_session_id"].as_str(), Some(parent));
    assert_eq!(genealogy["depth"].as_integer(), Some(2));
    env.csa()
        .args(["session", "wait", &s.id, "--timeout", "20"])
        .assert()
        .success();
    assert_eq!(
        s.read("output.log"),
        "3\n",
        "CMD's depth is the parent's + 1"
    );
    assert_state_loads_in_existing_installs(&s.read("state.toml"));
}

#[test]
fn the_depth_limit_refuses_and_creates_nothing_and_csa_max_depth_raises_it() {
    let env = Env::new();
    let run = |depth: &str, max: Option<&str>| {
        let mut cmd = env.csa();
        cmd.env("CSA_SESSION_ID", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
            .env("CSA_DEPTH", depth);
        if let Some(max) = max {
            cmd.env("CSA_MAX_DEPTH", max);
        }
        cmd.args(["run", "--tool", "demo", "--", "true"])
            .output()
            .unwrap()
    };
    let refused = run("5", None);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr_of(&refused);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("maximum of 5"), "{err}");
    assert!(!env.sessions_dir().exists(), "nothing was created");
    let raised = run("5", Some("6"));
    assert!(raised.status.success(), "{}", stderr_of(&raised));
    let below = run("4", None);
    assert!(below.status.success(), "{}", stderr_of(&below));
}

#[test]
fn csa_depth_counts_without_a_parent_session_and_records_no_genealogy() {
    let env = Env::new();
    let out = env
        .csa()
        .env("CSA_DEPTH", "3")
        .args([
            "run",
            "--tool",
            "demo",
            "--",
            "sh",
            "-c",
            "echo \"$CSA_DEPTH\"",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let s = env.session_of(stdout_of(&out).trim());
    env.csa()
        .args(["session", "wait", &s.id, "--timeout", "20"])
        .assert()
        .success();
    assert_eq!(
        s.read("output.log"),
        "4\n",
        "CMD's depth is csa run's CSA_DEPTH + 1"
    );
    assert!(
        s.state().get("genealogy").is_none(),
        "no parent, no [genealogy]: {}",
        s.read("state.toml")
    );

    let refused = env
        .csa()
        .env("CSA_DEPTH", "5")
        .args(["run", "--tool", "demo", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr_of(&refused);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("maximum of 5"), "{err}");
    let sessions = fs_err::read_dir(env.sessions_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(sessions, 1, "the refused run created nothing");
}
