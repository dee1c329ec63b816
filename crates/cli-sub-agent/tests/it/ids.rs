//! Ids: short ids that stay unique and resolve, and full ids found in other
//! projects.

use std::path::Path;

use csa_test_support::*;

/// A retired session with this exact id in the sessions folder `sessions`.
fn session_at(sessions: &Path, id: &str, project: &Path) -> Session {
    let session = Session {
        id: id.to_owned(),
        dir: sessions.join(id),
    };
    session.write("state.toml", &state_toml(id, project, "retired"));
    session.write("result.toml", &result_toml("success", 0, "done"));
    session
}

#[test]
fn a_full_id_from_another_project_resolves_with_a_note_and_a_prefix_of_it_does_not() {
    let env = Env::new();
    let other = env.tmp.path().join("other");
    fs_err::create_dir_all(&other).unwrap();
    let other = fs_err::canonicalize(other).unwrap();
    let key = other.strip_prefix("/").unwrap();
    let primary = env
        .state_home
        .join("cli-sub-agent")
        .join(key)
        .join("sessions");
    let legacy = env.state_home.join("csa").join(key).join("sessions");
    let here = env.session("retired");
    let elsewhere = session_at(&primary, "01KB0000000000000000000001", &other);
    let in_legacy = session_at(&legacy, "01KB0000000000000000000002", &other);

    for (session, id) in [
        (&elsewhere, elsewhere.id.clone()),
        (&in_legacy, in_legacy.id.to_lowercase()),
    ] {
        let out = env.csa().args(["session", "result", &id]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(stdout_of(&out).contains("summary: done"));
        assert_eq!(
            stderr_of(&out),
            format!(
                "csa: note: session {} is in project {}\n",
                session.id,
                other.display()
            )
        );
    }

    // A prefix is project-scoped: it matches nothing here.
    let prefix = &elsewhere.id[..20];
    let out = env
        .csa()
        .args(["session", "result", prefix])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("no session matches id '{prefix}'")) && !err.contains("note"),
        "{err}"
    );
    // A full id found nowhere says it looked everywhere.
    let missing = "01KB0000000000000000000009";
    let out = env
        .csa()
        .args(["session", "is-alive", missing])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("or in any other project"),
        "{}",
        stderr_of(&out)
    );
    // The project's own sessions resolve without a note.
    let out = env
        .csa()
        .args(["session", "is-alive", &here.id])
        .output()
        .unwrap();
    assert!(!stderr_of(&out).contains("note"), "{}", stderr_of(&out));
}
