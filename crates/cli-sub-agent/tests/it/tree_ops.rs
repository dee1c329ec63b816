//! `kill --tree` and `wait --tree` on real trees of sessions: commands that
//! start nested `csa run`s, which record their parent (contract §8.1, §8.7).

use std::io::Read;
use std::process::Stdio;

use csa_test_support::*;

/// The ids of every session of the project.
fn session_ids(env: &Env) -> Vec<String> {
    let Ok(entries) = fs_err::read_dir(env.sessions_dir()) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.len() == 26 && !name.starts_with('.'))
        .collect();
    ids.sort();
    ids
}

fn parent_of(s: &Session) -> Option<String> {
    s.state()
        .get("genealogy")?
        .get("parent_session_id")?
        .as_str()
        .map(str::to_owned)
}

/// A script that starts nested runs of itself: at level 3 two children,
/// each at level 2 one child, then sleeps. Four sessions below the root.
fn write_tree_script(env: &Env) -> String {
    let path = env.tmp.path().join("tree.sh");
    fs_err::write(
        &path,
        r#"level=$1
if [ "$level" -gt 1 ]; then
  "$CSA" run --tool demo -- sh "$0" $((level - 1)) >/dev/null
fi
if [ "$level" -eq 3 ]; then
  "$CSA" run --tool demo -- sh "$0" 2 >/dev/null
fi
exec sleep 100
"#,
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn kill_tree_stops_children_first_and_leaves_every_session_killed_with_nothing_alive() {
    let env = Env::new();
    let script = write_tree_script(&env);
    let root = env.run(&["sh", &script, "3"]);
    wait_until("the whole tree runs", || {
        let ids = session_ids(&env);
        ids.len() == 5 && ids.iter().all(|id| env.session_of(id).exists("cmd.pid"))
    });
    let sessions: Vec<Session> = session_ids(&env)
        .iter()
        .map(|id| env.session_of(id))
        .collect();
    let groups: Vec<u32> = sessions.iter().map(|s| s.cmd_pid().0).collect();
    let depth_of = |id: &str| {
        let mut depth = 0;
        let mut at = env.session_of(id);
        while let Some(parent) = parent_of(&at) {
            depth += 1;
            at = env.session_of(&parent);
        }
        depth
    };
    assert_eq!(
        sessions.iter().filter(|s| depth_of(&s.id) == 2).count(),
        2,
        "three levels: two grandchildren"
    );

    let out = env
        .csa()
        .args(["session", "kill", "--tree", "--grace", "5", &root.id[..10]])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let order: Vec<usize> = text
        .lines()
        .map(|line| depth_of(line.split(' ').next().unwrap()))
        .collect();
    assert_eq!(order, [2, 2, 1, 1, 0], "deepest first: {text}");
    for s in &sessions {
        assert!(
            text.contains(&format!("{} killed: exit 143\n", s.id)),
            "{text}"
        );
        assert_eq!(s.result()["status"].as_str(), Some("killed"), "{}", s.id);
        assert_eq!(s.phase(), "retired");
    }
    for group in groups {
        assert!(!group_alive(group), "process group {group} is gone");
    }
}

#[test]
fn kill_tree_of_a_leaf_stops_only_that_session() {
    let env = Env::new();
    let lone = env.run(&["sleep", "100"]);
    let other = env.run(&["sleep", "100"]);
    other.cmd_pid();
    lone.cmd_pid();
    let out = env
        .csa()
        .args(["session", "kill", "--tree", &lone.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", lone.id));
    assert!(!other.exists("result.toml"), "the other session runs on");
    env.csa()
        .args(["session", "kill", &other.id])
        .assert()
        .success();
}

fn gate(env: &Env, name: &str) -> String {
    env.tmp.path().join(name).display().to_string()
}

#[test]
fn wait_tree_waits_for_descendants_even_those_started_while_waiting() {
    let env = Env::new();
    // The root starts a child and ends at once; the child starts a
    // grandchild only once gate g1 opens, then ends; the grandchild exits 4
    // once gate g2 opens.
    let grandchild = format!(
        "while [ ! -e '{}' ]; do sleep 0.02; done; exit 4",
        gate(&env, "g2")
    );
    let child = format!(
        "while [ ! -e '{}' ]; do sleep 0.02; done; \"$CSA\" run --tool demo -- sh -c \"{grandchild}\" >/dev/null",
        gate(&env, "g1")
    );
    let root_script = format!("\"$CSA\" run --tool demo -- sh -c '{child}' >/dev/null");
    let root = env.run(&["sh", "-c", &root_script]);
    wait_until("the child session", || session_ids(&env).len() == 2);

    let mut wait = env.csa_std();
    wait.args(["session", "wait", "--tree", &root.id, "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut waiting = Guard {
        child: wait.spawn().unwrap(),
        group: false,
    };
    wait_until("the root ends", || root.exists("result.toml"));
    fs_err::write(gate(&env, "g1"), "").unwrap();
    wait_until("the grandchild session", || {
        let ids = session_ids(&env);
        ids.len() == 3 && ids.iter().all(|id| env.session_of(id).exists("cmd.pid"))
    });
    let ids = session_ids(&env);
    let child_session = ids
        .iter()
        .map(|id| env.session_of(id))
        .find(|s| parent_of(s).as_deref() == Some(root.id.as_str()))
        .unwrap();
    wait_until("the child ends", || child_session.exists("result.toml"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        waiting.child.try_wait().unwrap().is_none(),
        "wait --tree is still waiting for the grandchild"
    );
    fs_err::write(gate(&env, "g2"), "").unwrap();
    let status = waiting.child.wait().unwrap();
    let mut text = String::new();
    waiting
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(status.code(), Some(1), "one of three exited 4: {text}");
    assert_eq!(text.lines().count(), 3, "{text}");
    for id in &ids {
        assert!(text.contains(id.as_str()), "{id} in {text}");
    }
    assert!(text.lines().last().unwrap().contains("exit 4"), "{text}");
}

#[test]
fn a_child_started_in_another_project_is_in_the_tree() {
    let env = Env::new();
    let other = env.tmp.path().join("other-project");
    fs_err::create_dir_all(&other).unwrap();
    let script = format!(
        "\"$CSA\" run --tool demo --cd '{}' -- sleep 100 >/dev/null; exec sleep 100",
        other.display()
    );
    let root = env.run(&["sh", "-c", &script]);
    root.cmd_pid();
    let other_sessions = env
        .state_home
        .join("cli-sub-agent")
        .join(
            fs_err::canonicalize(&other)
                .unwrap()
                .strip_prefix("/")
                .unwrap(),
        )
        .join("sessions");
    let child_id = {
        let mut found = None;
        wait_until("the child in the other project", || {
            found = fs_err::read_dir(&other_sessions)
                .ok()
                .and_then(|mut entries| {
                    entries.find_map(|e| {
                        let e = e.ok()?;
                        e.path()
                            .join("cmd.pid")
                            .exists()
                            .then(|| e.file_name().into_string().ok())?
                    })
                });
            found.is_some()
        });
        found.unwrap()
    };
    let shown = stdout_of(
        &env.csa()
            .args(["session", "show", &root.id])
            .output()
            .unwrap(),
    );
    assert!(shown.contains(&child_id), "{shown}");

    let out = env
        .csa()
        .args(["session", "kill", "--tree", &root.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.starts_with(&format!("{child_id} killed")),
        "children first: {text}"
    );
    assert!(text.contains(&format!("{} killed", root.id)), "{text}");
    let child_result =
        fs_err::read_to_string(other_sessions.join(&child_id).join("result.toml")).unwrap();
    assert!(
        child_result.contains("status = \"killed\""),
        "{child_result}"
    );
}
