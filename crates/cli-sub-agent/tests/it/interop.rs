//! Every `state.toml` and `result.toml` csa writes loads in the csa installs
//! users already run (which would otherwise destroy the session's status),
//! whichever writer wrote it.

use csa_test_support::*;

fn assert_session_loads(s: &Session, context: &str) {
    let state = assert_state_loads_in_existing_installs(&s.read("state.toml"));
    assert_eq!(state.phase, ExistingPhase::Retired, "{context}");
    assert_result_loads_in_existing_installs(&s.read("result.toml"));
}

fn reconcile(env: &Env, s: &Session) {
    let out = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout_of(&out));
}

#[test]
fn states_written_by_every_reconcile_outcome_load_in_existing_installs() {
    let env = Env::new();
    let synthetic = env.session("active").dead_pid();
    let with_result = env.session("active").dead_pid();
    with_result.write("result.toml", &result_toml("success", 0, "real"));
    let completed = env.session("active").dead_pid();
    completed.write(
        "daemon-completion.toml",
        "exit_code = 2\nstatus = \"failure\"\n",
    );
    let claude = env.fixture_session(CLAUDE_STATE).dead_pid();
    let codex = env.fixture_session(CODEX_STATE).dead_pid();
    // A tool table as old or foreign writers leave it: no summary, no code.
    let bare = env.session("active").dead_pid();
    let text = bare
        .read("state.toml")
        .replace("last_action_summary = \"\"\n", "")
        .replace("last_exit_code = 0\n", "");
    bare.write("state.toml", &text);
    for (name, s) in [
        ("synthetic failure", &synthetic),
        ("retired with its result", &with_result),
        ("finalized from completion", &completed),
        ("claude fixture", &claude),
        ("codex fixture", &codex),
        ("bare tool table", &bare),
    ] {
        reconcile(&env, s);
        assert_session_loads(s, name);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn states_written_by_runs_load_in_existing_installs() {
    let env = Env::new();
    // Each command waits for the gate, so its state is read while it runs.
    let gate = env.tmp.path().join("go");
    let run = |cmd: &str| {
        let cmd = format!(
            "g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.02; done; {cmd}",
            gate.display()
        );
        let out = env
            .csa()
            .args(["run", "--tool", "demo", "--", "sh", "-c", &cmd])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let s = env.session_of(stdout_of(&out).trim());
        let created = assert_state_loads_in_existing_installs(&s.read("state.toml"));
        assert_eq!(created.phase, ExistingPhase::Active);
        s
    };
    let ok = run("echo fine");
    let failed = run("echo broken >&2; exit 3");
    fs_err::write(&gate, "").unwrap();
    for (name, s) in [("success", &ok), ("failure", &failed)] {
        let out = env
            .csa()
            .args(["session", "wait", &s.id, "--timeout", "20"])
            .output()
            .unwrap();
        assert!(out.status.code().is_some(), "{name}");
        assert_session_loads(s, name);
    }
}
