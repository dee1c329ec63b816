//! The command lines of the documentation of the csa other installs ship
//! (their `docs/sessions.md` and `docs/commands.md`), run against ours
//! (contract §10): each is accepted and does what it says there.

use csa_test_support::*;

#[test]
fn the_session_command_lines_of_their_documentation_work_here() {
    let env = Env::new();
    let done = env.session("retired");
    done.write("result.toml", &result_toml("success", 0, "reviewed"));
    done.write("output.log", "line 1\nline 2\n");
    done.set_last_accessed(chrono::Utc::now());
    let old = env.session("retired").retired("success", 0, 40);
    let prefix = &done.id[..12];
    let project = env.project.display().to_string();
    // (command line, expected exit code); `{ID}` is a prefix of `done`,
    // `{DIR}` the project.
    let lines: &[(&str, i32)] = &[
        ("session list", 0),
        ("session list --tree", 0),
        ("session list --tool codex", 0),
        ("session list --tool codex,claude-code", 0),
        ("session list --branch feat/auth", 0),
        ("session list --cd {DIR}", 0),
        ("session result -s {ID}", 0),
        ("session result -s {ID} --json", 0),
        ("session result --session {ID} --json --cd {DIR}", 0),
        ("session logs -s {ID}", 0),
        ("session logs -s {ID} --tail 200", 0),
        ("session logs --session {ID} --tail 1 --cd {DIR}", 0),
        ("session is-alive --session {ID}", 1),
        ("session is-alive --session {ID} --cd {DIR}", 1),
        ("--format json session list", 0),
        ("session clean --days 30 --dry-run", 0),
        (
            "session clean --days 30 --tool codex --dry-run --cd {DIR}",
            0,
        ),
        ("session clean --days 30", 0),
    ];
    for (line, code) in lines {
        let args: Vec<String> = line
            .split(' ')
            .map(|a| a.replace("{ID}", prefix).replace("{DIR}", &project))
            .collect();
        let out = env.csa().args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(*code),
            "csa {line}: {}",
            stderr_of(&out)
        );
    }
    assert!(
        !old.dir.exists(),
        "`clean --days 30` removed the old session"
    );
    assert!(done.dir.exists());
    env.csa()
        .args(["session", "delete", "--session", prefix])
        .assert()
        .success();
    assert!(!done.dir.exists(), "`delete --session` removed it");
}
