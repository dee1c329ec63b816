//! The terminal surface: hostile text from session files is escaped in every
//! text output, colour appears only where asked for, completions and the man
//! page show only public commands, and an empty list says why.

use csa_test_support::*;

/// A description and a summary that try to recolour the terminal, return the
/// cursor and reverse the text after them.
const HOSTILE_TOML: &str = r#"red \u001b[31mALERT\u001b[0m\r over \u202Etxt.exe"#;
const HOSTILE_SHOWN: &str = r"red \x1b[31mALERT\x1b[0m\r over \u{202e}txt.exe";

/// Fail if `bytes` hold an ESC, a CR, a C1 CSI or a bidi override.
fn assert_no_raw_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for bad in ['\x1b', '\r', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(bad), "{what} holds {bad:?}:\n{text}");
    }
}

/// A retired, failed session whose description, branch and summary are hostile.
fn hostile_session(env: &Env) -> Session {
    let s = env.session("retired");
    let state = s
        .read("state.toml")
        .replace(
            "description = \"test session\"",
            &format!("description = \"{HOSTILE_TOML}\""),
        )
        .replace("branch = \"main\"", r#"branch = "ma\u001b[2Jin""#);
    s.write("state.toml", &state);
    let summary = format!(r#"first {HOSTILE_TOML}\nsecond \u009b2J line"#);
    s.write("result.toml", &result_toml("failure", 3, &summary));
    s
}

#[test]
fn hostile_text_is_escaped_in_list_result_wait_and_is_alive() {
    let env = Env::new();
    let s = hostile_session(&env);

    let out = env.csa().args(["session", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_no_raw_controls("list", &out.stdout);
    let text = stdout_of(&out);
    // DESCRIPTION is cut to 40 columns, never inside an escape.
    assert!(text.contains(r"red \x1b[31mALERT\x1b[0m\r over…"), "{text}");
    assert!(text.contains(r"ma\x1b[2Jin"), "{text}");

    let out = env
        .csa()
        .args(["session", "result", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_no_raw_controls("result", &out.stdout);
    let text = stdout_of(&out);
    // Each line of the summary is escaped; the lines stay lines.
    assert!(
        text.contains(&format!(
            "summary: first {HOSTILE_SHOWN}\n  second \\u{{9b}}2J line\n"
        )),
        "{text}"
    );

    let out = env.csa().args(["session", "wait", &s.id]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert_no_raw_controls("wait", &out.stdout);
    assert!(stdout_of(&out).contains(&format!("failure exit 3: first {HOSTILE_SHOWN}\n")));

    let out = env
        .csa()
        .args(["session", "is-alive", &s.id])
        .output()
        .unwrap();
    assert_no_raw_controls("is-alive", &out.stdout);

    // JSON keeps the exact text (serde escapes the controls).
    let out = env
        .csa()
        .args(["session", "list", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows[0]["description"],
        "red \x1b[31mALERT\x1b[0m\r over \u{202e}txt.exe"
    );
}

#[test]
fn hostile_paths_are_escaped_in_error_lines_reconcile_and_empty_lists() {
    // Every message naming a file of this project carries these characters.
    let env = Env::with_project_named("p\x1b[31m\r\u{202e}");
    let out = env.csa().args(["session", "list"]).output().unwrap();
    assert!(out.status.success());
    assert_no_raw_controls("empty list", &out.stderr);
    assert!(
        stderr_of(&out).contains(r"no sessions in ")
            && stderr_of(&out).contains(r"p\x1b[31m\r\u{202e}"),
        "{}",
        stderr_of(&out)
    );

    let s = env.session("active").dead_pid();
    s.write("result.toml", "status = ");
    let out = env
        .csa()
        .args(["session", "result", &s.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_no_raw_controls("error line", &out.stderr);
    let err = stderr_of(&out);
    assert!(
        err.starts_with("csa: error: ") && err.contains(r"p\x1b[31m\r\u{202e}"),
        "{err}"
    );

    s.write("state.toml", "phase = ");
    let out = env
        .csa()
        .args(["session", "reconcile", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_no_raw_controls("reconcile", &out.stdout);
    let text = stdout_of(&out);
    assert!(
        text.contains(" error ") && text.contains(r"p\x1b[31m\r\u{202e}"),
        "{text}"
    );

    let out = env.csa().args(["session", "list"]).output().unwrap();
    assert_no_raw_controls("list of an error row", &out.stdout);
    assert!(stdout_of(&out).contains(r"p\x1b[31m\r\u{202e}"));
}

#[test]
fn hostile_text_is_escaped_in_show() {
    let env = Env::new();
    let s = hostile_session(&env);
    let out = env.csa().args(["session", "show", &s.id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_no_raw_controls("show", &out.stdout);
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!("description   {HOSTILE_SHOWN}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("summary       first {HOSTILE_SHOWN}\n")),
        "{text}"
    );
    assert!(
        text.contains("              second \\u{9b}2J line\n"),
        "{text}"
    );
    assert!(text.contains(r"branch        ma\x1b[2Jin"), "{text}");
}

/// Tool output and a description with controls reach stdout raw only through
/// `csa session logs`.
#[cfg(target_os = "linux")]
#[test]
fn tool_output_reaches_stdout_raw_only_through_logs() {
    let env = Env::new();
    let s = env.run_with(
        &["--description", "desc \x1b[2J\r\u{202e}"],
        &[
            "sh",
            "-c",
            r"printf 'clear \033[2J\rback \342\200\256 rtl\n'; exit 2",
        ],
    );
    let out = env.csa().args(["session", "wait", &s.id]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_no_raw_controls("wait", &out.stdout);
    assert!(
        stdout_of(&out).contains(r"clear \x1b[2J\rback \u{202e} rtl"),
        "{}",
        stdout_of(&out)
    );
    for args in [
        &["session", "show", &s.id][..],
        &["session", "result", &s.id],
        &["session", "list"],
        &["session", "is-alive", &s.id],
    ] {
        let out = env.csa().args(args).output().unwrap();
        assert_no_raw_controls(&args.join(" "), &out.stdout);
        assert_no_raw_controls(&args.join(" "), &out.stderr);
    }
    let out = env.csa().args(["session", "logs", &s.id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(out.stdout, "clear \x1b[2J\rback \u{202e} rtl\n".as_bytes());
}

/// Log lines (a WARN among them) carry ANSI styles only when stderr is
/// coloured, and `-vv` says which session each reconcile step is about.
#[test]
fn warnings_in_a_pipe_have_no_colour_and_debug_logs_name_the_session() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    s.old_log("output.log", "bye\n");
    fs_err::write(
        env.sessions_dir().join("cooldown-marker.toml"),
        "not toml [",
    )
    .unwrap();
    let out = env
        .csa()
        .args(["-vv", "session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(!err.contains('\x1b'), "{err}");
    let warn = err
        .lines()
        .find(|l| l.contains("WARN"))
        .unwrap_or_else(|| panic!("no WARN line:\n{err}"));
    assert!(warn.contains("unparseable cooldown marker"), "{warn}");
    let span = format!("reconcile{{session={}}}", s.id);
    for step in [
        "liveness check=PreCheck verdict=\"dead\"",
        "took the reconcile lock",
        "liveness check=UnderLock",
        "published the result",
        "wrote the retired state",
        "wrote the cooldown marker",
    ] {
        assert!(
            err.lines().any(|l| l.contains(&span) && l.contains(step)),
            "no {step:?} line in the session's span:\n{err}"
        );
    }
    assert!(
        err.contains("does not exist"),
        "the verdict's evidence: {err}"
    );

    let s = env.session("active").dead_pid();
    s.old_log("output.log", "bye\n");
    fs_err::write(
        env.sessions_dir().join("cooldown-marker.toml"),
        "not toml [",
    )
    .unwrap();
    let out = env
        .csa()
        .args(["-v", "--color", "always", "session", "reconcile", &s.id])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(
        err.contains("\x1b[33m WARN\x1b[0m") || err.contains("\x1b[33mWARN"),
        "{err:?}"
    );

    // Without -v there are no log lines: the repaired marker is no news.
    let s = env.session("active").dead_pid();
    s.old_log("output.log", "bye\n");
    fs_err::write(
        env.sessions_dir().join("cooldown-marker.toml"),
        "not toml [",
    )
    .unwrap();
    let out = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stderr_of(&out), "", "no log line without -v");
}

#[test]
fn statuses_are_coloured_only_when_asked_for() {
    let env = Env::new();
    hostile_session(&env);
    env.session("available");
    let list = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = env.csa();
        cmd.args(args).args(["session", "list"]);
        for (key, value) in vars {
            cmd.env(key, value);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        stdout_of(&out)
    };
    let coloured = |text: &str| text.contains("\x1b[31mFailed\x1b[0m");

    let always = list(&["--color", "always"], &[]);
    assert!(coloured(&always), "{always}");
    assert!(always.contains("\x1b[33mAvailable\x1b[0m"), "{always}");
    // The hostile text is still escaped: only csa's own styles are raw.
    assert!(always.contains(r"red \x1b[31mALERT"), "{always}");
    assert!(!always.contains('\r') && !always.contains('\u{202e}'));
    assert!(coloured(&list(&["--color=always"], &[("NO_COLOR", "1")])));

    for (args, vars) in [
        (&[][..], &[][..]),
        (&["--color", "auto"], &[]),
        (&["--color", "never"], &[]),
        (&["--color", "never"], &[("CLICOLOR_FORCE", "1")]),
        (&[], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]),
        (&[], &[("TERM", "xterm-256color"), ("CI", "true")]),
    ] {
        let text = list(args, vars);
        assert!(!text.contains('\x1b'), "{args:?} {vars:?}:\n{text}");
    }
    // As anstream does: CLICOLOR_FORCE colours even a pipe.
    assert!(coloured(&list(&[], &[("CLICOLOR_FORCE", "1")])));
}

#[test]
fn logs_in_a_pipe_have_no_colour_unless_asked_for() {
    let env = Env::new();
    let out = env.csa().args(["-v", "session", "list"]).output().unwrap();
    let err = stderr_of(&out);
    assert!(err.contains("INFO") && err.contains("no sessions"), "{err}");
    assert!(!err.contains('\x1b'), "{err}");

    let out = env
        .csa()
        .args(["-v", "--color", "always", "session", "list"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(err.contains("\x1b["), "{err}");

    let out = env
        .csa()
        .args(["session", "list"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(!stderr_of(&out).contains('\x1b'), "{}", stderr_of(&out));
}

#[test]
fn an_empty_filter_says_what_matched_nothing() {
    let env = Env::new();
    env.session("retired");
    env.session("available");
    let out = env
        .csa()
        .args(["session", "list", "--status", "failed"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr_of(&out),
        format!(
            "no sessions match --status failed (2 sessions in {})\n",
            env.project.display()
        )
    );
    let out = env
        .csa()
        .args([
            "session", "list", "--tool", "nope", "--branch", "main", "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out).trim(), "[]");
}

#[test]
fn completions_never_offer_the_hidden_daemon_command() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = env.csa().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = stdout_of(&out);
        assert!(
            script.contains("is-alive") && script.contains("man"),
            "{shell}"
        );
        // The daemon's own flags, and the word itself outside `run`'s
        // description ("Start CMD as a detached daemon ...").
        assert!(
            !script.contains("session-dir"),
            "{shell} offers daemon flags"
        );
        let mentions = script.replace("detached daemon", "");
        assert!(!mentions.contains("daemon"), "{shell} offers `daemon`");
    }
}

#[test]
fn man_prints_a_roff_page_of_the_public_commands() {
    let env = Env::new();
    let out = env.csa().arg("man").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let page = stdout_of(&out);
    assert!(page.contains(".TH csa 1"), "{page}");
    assert!(
        page.contains(".SH SYNOPSIS") && page.contains("session"),
        "{page}"
    );
    assert!(page.contains("\\-\\-color"), "{page}");
    assert!(
        !page.contains("daemon(") && !page.contains("session\\-dir"),
        "{page}"
    );

    let out = env.csa().args(["man", "session", "list"]).output().unwrap();
    let page = stdout_of(&out);
    assert!(page.contains(".TH csa-session-list 1"), "{page}");
    assert!(page.contains("no\\-reconcile"), "{page}");

    let out = env.csa().args(["man", "daemon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("there is no command `csa daemon`"));
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    for args in [
        &["session", "list", "--status", "bogus"][..],
        &["--color", "sometimes", "session", "list"],
        &["session", "frobnicate"],
    ] {
        let out = env.csa().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
    }
}

/// `text` without its SGR sequences (`ESC [ 0-9; m`), the only escape
/// sequences csa writes itself.
fn without_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let params = &rest[at + 2..];
        let len = params
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b';')
            .count();
        if params.as_bytes().get(len) == Some(&b'm') {
            rest = &params[len + 1..];
        } else {
            out.push('\x1b');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn usage_errors_escape_the_arguments_they_quote() {
    let env = Env::new();
    let osc = "\x1b]0;x\x07";
    let cases: [(&[&str], &str); 5] = [
        (&["session", "wait", "--timeout", osc], r"'\x1b]0;x\x07'"),
        (
            &["session", "clean", "--older-than", osc],
            r"'\x1b]0;x\x07'",
        ),
        (&["session", "list", "--status", "\u{9b}2J"], r"'\u{9b}2J'"),
        (&["session", "\x1b[2Jx"], r"'\x1b[2Jx'"),
        (&["session", "list", "--fo\x1b[2Jo"], r"'--fo\x1b[2Jo'"),
    ];
    for (args, shown) in cases {
        for forced in [false, true] {
            let mut csa = env.csa();
            if forced {
                csa.env("CLICOLOR_FORCE", "1");
            }
            let out = csa.args(args).output().unwrap();
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?}");
            // Coloured, clap's own styles stay; nothing else is raw.
            let plain = without_sgr(&err);
            assert_eq!(forced, plain != err, "{args:?}: {err:?}");
            for bad in ['\x1b', '\x07', '\u{9b}'] {
                assert!(!plain.contains(bad), "{args:?} forced={forced}: {err:?}");
            }
            assert!(plain.starts_with("error: "), "{args:?}: {err:?}");
            assert!(plain.contains(shown), "{args:?}: {err:?}");
            assert_eq!(plain.matches("error:").count(), 1, "{args:?}: {err:?}");
        }
    }
}

#[test]
fn color_never_and_no_color_turn_off_clap_colours_too() {
    let env = Env::new();
    let bad = ["session", "wait", "--timeout", "soon"];
    let help = ["session", "wait", "--help"];
    for args in [&bad[..], &help[..]] {
        // Colour forced into the pipe; then turned off by NO_COLOR, by
        // `--color never` before the subcommand, and after it.
        let coloured = |no_color: bool, before: &[&str], after: &[&str]| {
            let mut csa = env.csa();
            csa.env("CLICOLOR_FORCE", "1");
            if no_color {
                csa.env("NO_COLOR", "1");
            }
            let out = csa.args(before).args(args).args(after).output().unwrap();
            let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
            text.contains('\x1b')
        };
        assert!(coloured(false, &[], &[]), "{args:?}");
        assert!(!coloured(true, &[], &[]), "{args:?}");
        assert!(!coloured(false, &["--color", "never"], &[]), "{args:?}");
        assert!(!coloured(false, &[], &["--color=never"]), "{args:?}");
    }
}

/// On a terminal: DESCRIPTION fits its width (`COLUMNS`, else the terminal's
/// own size) and statuses are coloured unless `NO_COLOR`.
#[cfg(target_os = "linux")]
mod on_a_terminal {
    use std::io::Read as _;
    use std::process::Stdio;

    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use rustix::termios::{Winsize, tcsetwinsize};

    use super::*;

    /// Run `csa session list` with stdout on a new terminal `columns` wide.
    fn list_on_a_terminal(env: &Env, columns: u16, vars: &[(&str, &str)]) -> String {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let size = Winsize {
            ws_row: 40,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(&master, size).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY,
            Mode::empty(),
        )
        .unwrap();
        let mut cmd = env.csa_std();
        cmd.args(["session", "list"])
            .env("TERM", "xterm-256color")
            .stdout(Stdio::from(slave))
            .stderr(Stdio::piped());
        for (key, value) in vars {
            cmd.env(key, value);
        }
        let child = cmd.spawn().unwrap();
        // `cmd` holds the last copy of the terminal's other end: drop it so
        // that reading ends when csa exits.
        drop(cmd);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let mut text = Vec::new();
        let mut master = std::fs::File::from(master);
        // Linux reports EIO once the other end is closed and drained.
        let _ = master.read_to_end(&mut text);
        // The terminal turns each `\n` into `\r\n`.
        String::from_utf8_lossy(&text).replace("\r\n", "\n")
    }

    fn strip_styles(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("\x1b[") {
            out.push_str(&rest[..at]);
            let end = rest[at..].find('m').unwrap();
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn sessions(env: &Env) {
        let long = env.session("retired");
        let state = long.read("state.toml").replace(
            "description = \"test session\"",
            "description = \"日本語の説明 and a description far longer than any terminal column could hold\"",
        );
        long.write("state.toml", &state);
        env.session("available");
    }

    #[test]
    fn description_fits_the_terminal_and_statuses_are_coloured() {
        let env = Env::new();
        sessions(&env);
        // The other columns take about 70 of them.
        for (columns, vars) in [
            (200, &[("COLUMNS", "100")][..]),
            (100, &[][..]),
            (116, &[][..]),
        ] {
            let text = list_on_a_terminal(&env, columns, vars);
            assert!(text.contains("\x1b[32mRetired\x1b[0m"), "{text}");
            let plain = strip_styles(&text);
            let width: usize = vars
                .first()
                .map_or(columns.into(), |(_, w)| w.parse().unwrap());
            for line in plain.lines() {
                let shown: usize = line
                    .chars()
                    .map(|c| {
                        if ('\u{3000}'..='\u{9fff}').contains(&c) {
                            2
                        } else {
                            1
                        }
                    })
                    .sum();
                assert!(shown <= width, "{width}: {line:?} is {shown} wide");
            }
            assert!(plain.contains("日本語の説明 and a"), "{plain}");
            assert!(plain.contains('…'), "{plain}");
        }
        let text = list_on_a_terminal(&env, 80, &[("NO_COLOR", "1")]);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains("Retired"), "{text}");
    }
}
