//! Dynamic shell completions (contract §10): the shell asks `csa` itself
//! what completes a session id (`COMPLETE=<shell> csa -- csa session ...`),
//! and gets the project's ids, newest first, with their descriptions.

use csa_test_support::*;

/// Two sessions of the project, the older first, with descriptions.
fn two_sessions(env: &Env) -> (Session, Session) {
    let old = env.session("retired");
    old.write(
        "state.toml",
        &old.read("state.toml")
            .replace("test session", "fix the parser"),
    );
    let new = env.session("active").dead_pid();
    new.write(
        "state.toml",
        &new.read("state.toml")
            .replace("test session", "write the docs\\u001b[31m"),
    );
    (old, new)
}

/// What `csa` answers when `shell` asks to complete `line` (the word being
/// completed is the last one).
fn complete(env: &Env, shell: &str, line: &[&str]) -> String {
    let out = env
        .csa()
        .env("COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", (line.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(line)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    without_flags(&stdout_of(&out))
}

/// The candidates that are not flags (an empty word is also offered the
/// command's flags, after the ids).
fn without_flags(text: &str) -> String {
    let kept: Vec<&str> = text.split('\n').filter(|c| !c.starts_with('-')).collect();
    kept.join("\n")
}

#[test]
fn fish_and_zsh_get_each_id_with_its_description_newest_first() {
    let env = Env::new();
    let (old, new) = two_sessions(&env);
    let fish = complete(&env, "fish", &["csa", "session", "result", ""]);
    assert_eq!(
        fish,
        format!(
            "{}\twrite the docs\\x1b[31m\n{}\tfix the parser\n",
            new.id, old.id
        )
    );
    let zsh = complete(&env, "zsh", &["csa", "session", "show", "--session", ""]);
    assert_eq!(
        zsh,
        format!(
            "{}:write the docs\\\\x1b[31m\n{}:fix the parser",
            new.id, old.id
        )
    );
}

#[test]
fn bash_gets_the_ids_that_start_with_what_was_typed_in_either_case() {
    let env = Env::new();
    let (old, new) = two_sessions(&env);
    let typed = old.id[..20].to_ascii_lowercase();
    assert_ne!(old.id[..20], new.id[..20], "ids made apart differ early");
    for line in [
        vec!["csa", "session", "kill", typed.as_str()],
        vec!["csa", "session", "logs", "-s", typed.as_str()],
        vec!["csa", "session", "wait", "--cd", ".", typed.as_str()],
    ] {
        assert_eq!(complete(&env, "bash", &line), old.id, "{line:?}");
    }
    // Not an id: nothing. Not an id argument: no id.
    assert_eq!(
        complete(&env, "bash", &["csa", "session", "show", "../"]),
        ""
    );
    let branch = complete(&env, "bash", &["csa", "session", "list", "--branch", ""]);
    assert!(!branch.contains(&old.id), "{branch}");
}

#[test]
fn completing_reconciles_nothing_and_writes_nothing() {
    let env = Env::new();
    let (old, new) = two_sessions(&env);
    let before = (old.snapshot(), new.snapshot());
    let fish = complete(&env, "fish", &["csa", "session", "peek", ""]);
    assert!(fish.contains(&new.id), "{fish}");
    assert_eq!((old.snapshot(), new.snapshot()), before);
    assert_eq!(new.phase(), "active");
}

#[test]
fn completing_follows_the_project_of_the_line_and_of_a_subdirectory() {
    let env = Env::new();
    let (old, _) = two_sessions(&env);
    let other = env.tmp.path().join("other");
    fs_err::create_dir_all(&other).unwrap();
    let cd = other.to_str().unwrap();
    let out = env
        .csa()
        .args(["run", "--tool", "demo", "--cd", cd, "--", "true"])
        .output()
        .unwrap();
    let theirs = stdout_of(&out).trim().to_owned();
    // `--cd` on the line being completed names the project.
    let line = ["csa", "session", "result", "--cd", cd, ""];
    assert_eq!(complete(&env, "bash", &line), theirs);
    // Without it, a subdirectory finds the project's sessions upward.
    let sub = env.project.join("src/deep");
    fs_err::create_dir_all(&sub).unwrap();
    let out = env
        .csa()
        .current_dir(&sub)
        .env("COMPLETE", "fish")
        .args(["--", "csa", "session", "result", &old.id[..12]])
        .output()
        .unwrap();
    assert!(stdout_of(&out).starts_with(&old.id), "{}", stdout_of(&out));
}

#[cfg(unix)]
#[test]
fn a_real_bash_completes_ids_through_the_registered_script() {
    let env = Env::new();
    let (old, new) = two_sessions(&env);
    let registration = env.csa().env("COMPLETE", "bash").output().unwrap();
    assert!(registration.status.success());
    let script = env.tmp.path().join("csa.bash");
    fs_err::write(&script, stdout_of(&registration)).unwrap();
    let mut bash = std::process::Command::new("bash");
    env.apply(&mut bash);
    let probe = format!(
        "source {}; COMP_WORDS=(csa session result ''); COMP_CWORD=3; COMP_TYPE=9; \
         _clap_complete_csa csa '' result; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = bash
        .current_dir(&env.project)
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let offered = without_flags(&stdout_of(&out));
    assert_eq!(offered, format!("{}\n{}\n", new.id, old.id));
}
