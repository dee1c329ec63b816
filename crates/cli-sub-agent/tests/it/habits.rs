//! Habits of people coming from other csa installs (contract §10): every
//! duration flag takes `90`, `1.5`, `90s`, `2m`, `1h`, `7d`.

use csa_test_support::*;

#[cfg(target_os = "linux")]
#[test]
fn every_duration_flag_takes_fractions_and_units() {
    let env = Env::new();
    // A fractional run timeout is accepted, recorded rounded up, and obeyed.
    let s = env.run_with(&["--timeout", "1.5"], &["sleep", "100"]);
    assert_eq!(s.state()["run"]["timeout_secs"].as_integer(), Some(2));
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "2m"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", stderr_of(&out));
    assert_eq!(s.result()["status"].as_str(), Some("timeout"));

    let live = env.run(&["sleep", "100"]);
    let out = env
        .csa()
        .args(["session", "wait", &live.id, "--timeout", "0.2s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", stderr_of(&out));
    let out = env
        .csa()
        .args(["session", "kill", &live.id, "--grace", "1.5s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(live.result()["status"].as_str(), Some("killed"));
}

#[test]
fn clean_takes_any_duration_form() {
    let env = Env::new();
    let old = env.session("retired").retired("success", 0, 3);
    let young = env.session("retired").retired("success", 0, 1);
    for older_than in ["2d", "48h", "2880m", "1.5d", "172800", "172800s"] {
        let out = env
            .csa()
            .args(["session", "clean", "--dry-run", "--older-than", older_than])
            .output()
            .unwrap();
        assert!(out.status.success(), "{older_than}: {}", stderr_of(&out));
        let text = stdout_of(&out);
        assert!(
            text.contains(&format!("{} would delete", old.id)),
            "{older_than}: {text}"
        );
        assert!(
            !text.contains(&format!("{} would delete", young.id)),
            "{older_than}: {text}"
        );
    }
}

#[test]
fn a_command_without_double_dash_is_told_to_add_it_and_creates_nothing() {
    let env = Env::new();
    let out = env
        .csa()
        .args(["run", "--tool", "codex", "make", "test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("tip: put the command after `--`: csa run --tool codex -- make test"),
        "{err}"
    );
    assert!(stdout_of(&out).is_empty());
    assert!(!env.sessions_dir().exists(), "nothing was created");
}

#[test]
fn clean_prints_what_it_removes_then_a_summary_on_stderr_and_kept_ones_with_v() {
    let env = Env::new();
    let old = env.session("retired").retired("success", 0, 30);
    old.write("output.log", &"x".repeat(3000));
    let failed = env.session("retired").retired("failure", 2, 30);
    let recent = env.session("retired").retired("success", 0, 0);
    let live = env.session("active").dead_pid();
    live.write("locks/codex.lock", &format!("{{\"pid\": {DEAD_PID}}}"));
    let _held = FlockHolder::hold(&live.path("locks/codex.lock"));

    let clean = |extra: &[&str]| {
        let out = env
            .csa()
            .args(["session", "clean", "--older-than", "1d", "--dry-run"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        (stdout_of(&out), stderr_of(&out))
    };
    let (text, summary) = clean(&[]);
    let summary = summary.trim_end();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    let mut removed = vec![
        format!("{} would delete", old.id),
        format!("{} would delete", failed.id),
    ];
    removed.sort_unstable();
    assert_eq!(lines, removed, "{text}");
    assert!(
        summary.starts_with("would remove 2 sessions ("),
        "{summary}"
    );
    assert!(summary.contains(" KiB); kept 2: "), "{summary}");
    assert!(summary.ends_with("1 active, 1 recent"), "{summary}");
    assert!(!text.contains("kept:"), "kept ones only with -v: {text}");

    let (verbose, _) = clean(&["-v"]);
    assert!(
        verbose.contains(&format!("{} kept: ", live.id)),
        "{verbose}"
    );
    assert!(
        verbose.contains(&format!("{} kept: ", recent.id)),
        "{verbose}"
    );

    let out = env
        .csa()
        .args(["session", "clean", "--older-than", "1d", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    let kept: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "kept")
        .map(|r| r["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(kept.len(), 2, "the JSON lists every kept one: {rows}");
    assert!(!old.dir.exists() && !failed.dir.exists());

    // Nothing left to remove: the summary alone.
    let (text, summary) = clean(&[]);
    assert_eq!(text, "");
    assert_eq!(
        summary,
        "would remove 0 sessions (0 B); kept 2: 1 active, 1 recent\n"
    );
}

#[test]
fn the_manual_page_has_exit_status_environment_files_and_examples() {
    let env = Env::new();
    let out = env.csa().arg("man").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let page = stdout_of(&out);
    for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"] {
        assert!(page.contains(&format!(".SH \"{section}\"\n")), "{section}");
    }
    assert!(page.contains("CSA_PROJECT_ROOT"), "{page}");
    assert!(page.contains("csa session peek"), "{page}");
    // Every line a roff reader could take as a request is one of ours.
    for line in page
        .lines()
        .filter(|l| l.starts_with('.') || l.starts_with('\''))
    {
        let request: String = line
            .chars()
            .skip(1)
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        assert!(!request.is_empty(), "stray request: {line}");
    }
    // A command's page is clap's alone.
    let out = env.csa().args(["man", "session", "list"]).output().unwrap();
    assert!(!stdout_of(&out).contains("EXIT STATUS"));
}
