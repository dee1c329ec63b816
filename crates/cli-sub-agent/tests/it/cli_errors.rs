//! Bad ids, ambiguous prefixes, missing sessions and bad directories: one
//! clear line on stderr, exit 1. Durations out of range: clap's usage error,
//! exit 2.

use csa_test_support::*;

/// Run csa with `args` and return its single error line.
fn error_of<I, S>(env: &Env, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    one_error_line(&env.csa().args(args).output().unwrap())
}

fn one_error_line(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "stdout: {}", stdout_of(out));
    let err = stderr_of(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("csa: error: "), "{err}");
    err
}

#[test]
fn ids_that_are_not_ulid_prefixes_are_rejected_before_any_path_is_built() {
    let env = Env::new();
    for bad in [
        "../x",
        "/etc",
        "..",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV/../../x",
        "ZZZ",
    ] {
        for cmd in [
            &["session", "result"][..],
            &["session", "is-alive"],
            &["session", "reconcile"],
            &["session", "wait"],
            &["session", "kill"],
        ] {
            let out = env.csa().args(cmd).arg(bad).output().unwrap();
            let err = one_error_line(&out);
            assert!(
                err.contains("invalid session id") && err.contains(bad),
                "{err}"
            );
        }
    }
}

#[test]
fn ambiguous_prefix_lists_candidates_and_missing_session_is_distinct() {
    let env = Env::new();
    let a = env.session("retired");
    let b = env.session("retired");
    let common: String =
        a.id.chars()
            .zip(b.id.chars())
            .take_while(|(x, y)| x == y)
            .map(|(x, _)| x)
            .collect();
    let prefix = if common.is_empty() {
        "0".to_owned()
    } else {
        common.to_lowercase()
    };
    let err = error_of(&env, ["session", "result", &prefix]);
    assert!(
        err.contains("ambiguous") && err.contains(&a.id) && err.contains(&b.id),
        "{err}"
    );

    let err = error_of(&env, ["session", "result", "7ZZZZZZZZZ"]);
    assert!(err.contains("no session matches id '7ZZZZZZZZZ'"), "{err}");
}

#[test]
fn result_of_an_active_session_says_why_there_is_none() {
    let env = Env::new();
    let s = env.session("active");
    let err = error_of(&env, ["session", "result", &s.id]);
    assert!(
        err.contains("has no result yet") && err.contains("unknown"),
        "{err}"
    );
}

#[test]
fn result_prints_fields_and_json() {
    let env = Env::new();
    let s = env.session("retired");
    s.write(
        "result.toml",
        &format!(
            "{}extra_key = \"kept\"\n",
            result_toml("success", 0, "fine")
        ),
    );
    let out = env
        .csa()
        .args(["session", "result", &s.id[..12].to_lowercase()])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.contains("status: success") && text.contains("summary: fine"),
        "{text}"
    );
    let out = env
        .csa()
        .args(["session", "result", "--json", &s.id])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["extra_key"], "kept");
}

#[test]
fn unparseable_result_is_an_error_naming_the_file() {
    let env = Env::new();
    let s = env.session("retired");
    s.write("result.toml", "status = ");
    let err = error_of(&env, ["session", "result", &s.id]);
    assert!(err.contains("result.toml"), "{err}");
}

#[test]
fn a_missing_project_dir_is_one_clear_error() {
    let env = Env::new();
    let err = error_of(&env, ["session", "list", "--cd", "/no/such/dir"]);
    assert!(err.contains("/no/such/dir"), "{err}");
}

#[test]
fn a_project_path_that_is_a_file_is_one_clear_error() {
    let env = Env::new();
    let file = env.tmp.path().join("not-a-dir");
    fs_err::write(&file, "").unwrap();
    let cd = [
        std::ffi::OsStr::new("session"),
        "list".as_ref(),
        "--cd".as_ref(),
        file.as_os_str(),
    ];
    let err = error_of(&env, cd);
    assert!(
        err.contains("not a directory") && err.contains("not-a-dir"),
        "{err}"
    );
}

#[test]
fn help_and_completions_come_from_the_clap_definition() {
    let env = Env::new();
    let out = env
        .csa()
        .args(["session", "list", "--help"])
        .output()
        .unwrap();
    assert!(stdout_of(&out).contains("--no-reconcile"));
    let out = env.csa().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(stdout_of(&out).contains("is-alive"));
}

#[test]
fn a_duration_out_of_range_is_one_usage_error_and_starts_or_signals_nothing() {
    let env = Env::new();
    let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let run = |timeout: &str| {
        [
            "run",
            "--tool",
            "demo",
            "--timeout",
            timeout,
            "--",
            "sleep",
            "100",
        ]
        .map(str::to_owned)
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (run("9223372036854775807").into(), "at most 10 years"),
        (run("3651d").into(), "at most 10 years"),
        (run("0").into(), "more than 0s"),
        (run("0s").into(), "more than 0s"),
        (
            ["session", "kill", "--grace", "1e30", id]
                .map(str::to_owned)
                .into(),
            "at most 10 years",
        ),
        (
            ["session", "kill", "--grace", "1e19", id]
                .map(str::to_owned)
                .into(),
            "at most 10 years",
        ),
        (
            ["session", "kill", "--grace", "NaN", id]
                .map(str::to_owned)
                .into(),
            "not a duration",
        ),
        (
            ["session", "wait", "--timeout", "1e30", id]
                .map(str::to_owned)
                .into(),
            "at most 10 years",
        ),
        (
            ["session", "clean", "--older-than", "99999d"]
                .map(str::to_owned)
                .into(),
            "at most 10 years",
        ),
    ];
    for (args, reason) in cases {
        let out = env.csa().args(&args).output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(stdout_of(&out).is_empty(), "{args:?}");
        // One error line; the rest is clap's pointer to --help.
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {err}");
        assert!(
            errors[0].contains("invalid value") && errors[0].contains(reason),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!env.sessions_dir().exists(), "nothing was created");
}
