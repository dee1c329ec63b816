//! Which project a command works on when `--cd` is not given (contract §10):
//! `CSA_PROJECT_ROOT` inside a session, else the nearest directory upward
//! whose sessions folder exists, else the current directory. `run` follows
//! the same rule.

use csa_test_support::*;

/// `csa` run in `dir` (a folder under the env's project).
fn csa_in(env: &Env, dir: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = env.csa();
    cmd.current_dir(dir);
    cmd
}

fn ids_listed(out: &std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{}", stderr_of(out));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout_of(out)).unwrap();
    rows.iter()
        .map(|row| row["session_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_subdirectory_sees_and_waits_for_the_sessions_of_its_project() {
    let env = Env::new();
    let running = env.run(&["sleep", "100"]);
    let sub = env.project.join("src").join("deep");
    fs_err::create_dir_all(&sub).unwrap();

    let out = csa_in(&env, &sub)
        .args(["session", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(ids_listed(&out), vec![running.id.clone()]);

    // `wait --all` from below waits for the root's active session (it does
    // not exit 0 at once as if there were none).
    let out = csa_in(&env, &sub)
        .args(["session", "wait", "--all", "--timeout", "0.3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", stderr_of(&out));

    // A run started below lands in the same project, and runs at its root.
    let out = csa_in(&env, &sub)
        .args(["run", "--tool", "demo", "--", "pwd"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let started = env.session_of(stdout_of(&out).trim());
    assert!(started.dir.is_dir(), "created under the project's sessions");
    env.csa()
        .args(["session", "wait", &started.id])
        .assert()
        .success();
    assert_eq!(
        started.read("output.log").trim(),
        env.project.display().to_string()
    );
    env.csa()
        .args(["session", "kill", &running.id, "--grace", "0"])
        .assert()
        .success();
}

#[test]
fn without_sessions_above_the_current_directory_is_the_project() {
    let env = Env::new();
    let sub = env.project.join("fresh");
    fs_err::create_dir_all(&sub).unwrap();
    let out = csa_in(&env, &sub)
        .args(["run", "--tool", "demo", "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let id = stdout_of(&out).trim().to_owned();
    assert!(!env.sessions_dir().exists(), "nothing at the parent");
    let key = sub.strip_prefix("/").unwrap();
    let dir = env
        .state_home
        .join("cli-sub-agent")
        .join(key)
        .join("sessions")
        .join(&id);
    assert!(dir.is_dir(), "{}", dir.display());
    // Now that the subdirectory has sessions of its own, it is its own
    // project even though its parent gets some too.
    env.run(&["true"]);
    let out = csa_in(&env, &sub)
        .args(["session", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(ids_listed(&out), vec![id]);
}

#[test]
fn inside_a_session_its_project_root_wins_and_cd_wins_over_it() {
    let env = Env::new();
    let here = env.run(&["true"]);
    let elsewhere = env.tmp.path().join("elsewhere");
    fs_err::create_dir_all(&elsewhere).unwrap();

    let out = csa_in(&env, &elsewhere)
        .env("CSA_PROJECT_ROOT", &env.project)
        .args(["session", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(ids_listed(&out), vec![here.id.clone()]);

    let out = csa_in(&env, &env.project)
        .env("CSA_PROJECT_ROOT", &env.project)
        .args(["session", "list", "--json", "--cd"])
        .arg(&elsewhere)
        .output()
        .unwrap();
    assert_eq!(ids_listed(&out), Vec::<String>::new());

    let out = csa_in(&env, &elsewhere)
        .env("CSA_PROJECT_ROOT", env.tmp.path().join("gone"))
        .args(["session", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("CSA_PROJECT_ROOT"),
        "{}",
        stderr_of(&out)
    );
}
