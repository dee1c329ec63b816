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

#[test]
fn ids_sharing_13_characters_get_distinct_short_ids_that_resolve() {
    let env = Env::new();
    let a = session_at(
        &env.sessions_dir(),
        "01KB1234567890000000000000",
        &env.project,
    );
    let b = session_at(
        &env.sessions_dir(),
        "01KB1234567891111111111111",
        &env.project,
    );
    let far = session_at(
        &env.sessions_dir(),
        "01KC0000000000000000000000",
        &env.project,
    );
    assert_eq!(a.id[..13], b.id[..13]);
    for s in [&a, &b] {
        s.write("result.toml", &result_toml("success", 0, &s.id));
    }

    let out = env.csa().args(["session", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let cell = |s: &Session| {
        list_line(&text, &s.id)
            .map(session_cell)
            .unwrap()
            .to_owned()
    };
    let (short_a, short_b) = (cell(&a), cell(&b));
    assert_eq!(short_a, "01KB1234567890");
    assert_eq!(short_b, "01KB1234567891");
    assert_eq!(cell(&far), "01KC0000", "{text}");

    for (session, short) in [(&a, &short_a), (&b, &short_b)] {
        for given in [short.clone(), short.to_lowercase()] {
            let out = env
                .csa()
                .args(["session", "result", "--json", &given])
                .output()
                .unwrap();
            assert!(out.status.success(), "{given}: {}", stderr_of(&out));
            let resolved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(resolved["summary"], session.id.as_str(), "{given}");
            assert!(stderr_of(&out).is_empty(), "{given}: {}", stderr_of(&out));
        }
    }
    // The common 13 characters alone are ambiguous.
    let out = env
        .csa()
        .args(["session", "result", &a.id[..13]])
        .output()
        .unwrap();
    assert!(stderr_of(&out).contains("ambiguous"), "{}", stderr_of(&out));
}
