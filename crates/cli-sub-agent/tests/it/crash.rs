//! Crash-point matrix: the reconcile protocol and the daemon's own ending are
//! killed (a real `abort()` of the child `csa`) at every named fault point; one
//! more reconcile must converge to a retired session with exactly one
//! parseable result, never losing or replacing a real result.

use std::process::Output;

use csa_test_support::*;

/// What the dead session had before the crash.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    NoResult,
    RealResult,
    Completion,
}

fn aborted(out: &Output) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        out.status.signal() == Some(libc::SIGABRT)
    }
    #[cfg(not(unix))]
    {
        !out.status.success()
    }
}

/// The session is retired with exactly one parseable result and no temp files.
fn assert_converged(s: &Session, context: &str) {
    assert_eq!(s.phase(), "retired", "{context}");
    assert_eq!(s.result_files(), 1, "{context}");
    let result = s.result();
    assert!(result["exit_code"].is_integer(), "{context}");
    assert!(
        temp_files(&s.dir).is_empty(),
        "{context}: {:?}",
        temp_files(&s.dir)
    );
}

#[test]
fn reconcile_killed_at_every_fault_point_converges_on_the_next_run() {
    for scenario in [
        Scenario::NoResult,
        Scenario::RealResult,
        Scenario::Completion,
    ] {
        for point in FaultPoint::RECONCILE {
            if matches!(scenario, Scenario::RealResult) && point == FaultPoint::ReconcilePublish {
                continue; // retiring with an existing result publishes nothing
            }
            let context = format!("{scenario:?} crash at {point}");
            let env = Env::new();
            let s = env.session("active").dead_pid();
            let real = result_toml("success", 0, "the real result");
            match scenario {
                Scenario::NoResult => {}
                Scenario::RealResult => s.write("result.toml", &real),
                Scenario::Completion => {
                    s.write(
                        "daemon-completion.toml",
                        "exit_code = 4\nstatus = \"failure\"\n",
                    );
                }
            }
            let out = env
                .csa()
                .env(FAULT_ENV, point.spec(FaultMode::Abort))
                .args(["session", "reconcile", &s.id])
                .output()
                .unwrap();
            assert!(
                aborted(&out),
                "{context}: {:?} {}",
                out.status,
                stderr_of(&out)
            );
            let state = s.read("state.toml");
            assert!(
                state.parse::<toml::Table>().is_ok(),
                "{context}: state must parse"
            );

            let next = env
                .csa()
                .args(["session", "reconcile", &s.id])
                .output()
                .unwrap();
            assert!(next.status.success(), "{context}: {}", stdout_of(&next));
            assert_converged(&s, &context);
            // Recovery records the ending that wrote the result, wherever the
            // crash came: a synthetic failure is never retired as `completed`.
            let reason = s.state()["termination_reason"].as_str().unwrap().to_owned();
            match scenario {
                Scenario::RealResult => {
                    assert_eq!(s.read("result.toml"), real, "{context}");
                    assert_eq!(reason, "completed", "{context}");
                }
                Scenario::Completion => {
                    assert_eq!(s.result()["exit_code"].as_integer(), Some(4), "{context}");
                    assert_eq!(reason, "daemon_completion", "{context}");
                }
                Scenario::NoResult => {
                    assert!(
                        s.result()["summary"]
                            .as_str()
                            .unwrap()
                            .starts_with("synthetic failure"),
                        "{context}"
                    );
                    assert_eq!(reason, "orphaned_process", "{context}");
                }
            }
            let again = env
                .csa()
                .args(["session", "reconcile", &s.id])
                .output()
                .unwrap();
            assert!(stdout_of(&again).contains("no-change"), "{context}");
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn daemon_killed_at_every_fault_point_converges_after_one_reconcile() {
    use std::time::{Duration, Instant};
    let cases = [
        (FaultPoint::DaemonCompletion, None),
        (FaultPoint::DaemonResult, Some("finalized-from-completion")),
        (FaultPoint::DaemonState, Some("retired")),
        (FaultPoint::DaemonCooldown, None),
    ];
    for (point, expected_outcome) in cases {
        let env = Env::new();
        let out = env
            .csa()
            .env(FAULT_ENV, point.spec(FaultMode::Abort))
            .args([
                "run",
                "--tool",
                "demo",
                "--",
                "sh",
                "-c",
                "echo real line; exit 5",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{point}: {}", stderr_of(&out));
        let id = stdout_of(&out).trim().to_owned();
        let s = Session {
            dir: env.sessions_dir().join(&id),
            id,
        };
        // Wait for the daemon to die (gone, or a zombie nobody reaped).
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pid = fs_err::read_to_string(s.path("daemon.pid"))
                .ok()
                .and_then(|t| {
                    t.split_whitespace()
                        .next()
                        .and_then(|p| p.parse::<u32>().ok())
                });
            let state = pid.map(|pid| {
                fs_err::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| csa_process::facts::parse_proc_stat(&stat).ok())
                    .map(|f| f.state)
            });
            if matches!(state, Some(None | Some('Z' | 'X'))) {
                break;
            }
            assert!(Instant::now() < deadline, "{point}: daemon never died");
            std::thread::sleep(Duration::from_millis(20));
        }
        for log in ["output.log", "stderr.log"] {
            backdate(&s.path(log), 120);
        }
        let next = env
            .csa()
            .args(["session", "reconcile", &s.id])
            .output()
            .unwrap();
        let text = stdout_of(&next);
        assert!(next.status.success(), "{point}: {text}");
        if let Some(outcome) = expected_outcome {
            assert!(text.contains(outcome), "{point}: {text}");
        }
        assert_converged(&s, point.name());
        let result = s.result();
        match point {
            FaultPoint::DaemonCompletion => assert!(
                result["summary"]
                    .as_str()
                    .unwrap()
                    .starts_with("synthetic failure")
            ),
            _ => {
                assert_eq!(result["exit_code"].as_integer(), Some(5), "{point}");
                assert_eq!(
                    result["summary"].as_str(),
                    Some("real line"),
                    "{point}: the real result is kept"
                );
            }
        }
    }
}

#[test]
fn a_crash_after_the_state_rename_before_its_folder_sync_converges() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let out = env
        .csa()
        .env(FAULT_ENV, FaultPoint::DurableDirSync.spec(FaultMode::Abort))
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(aborted(&out), "{:?}", out.status);
    // The rename happened: the state is retired and its result is there.
    assert_eq!(s.phase(), "retired");
    let next = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(
        stdout_of(&next).contains("no-change"),
        "{}",
        stdout_of(&next)
    );
    assert_converged(&s, "durable:dir-sync");
    assert_eq!(
        s.state()["termination_reason"].as_str(),
        Some("orphaned_process")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_run_killed_while_staging_the_session_leaves_nothing_visible() {
    let env = Env::new();
    let out = env
        .csa()
        .env(FAULT_ENV, FaultPoint::CreateStaged.spec(FaultMode::Abort))
        .args(["run", "--tool", "demo", "--", "true"])
        .output()
        .unwrap();
    assert!(aborted(&out), "{:?}", out.status);
    let list = env
        .csa()
        .args(["session", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&list).trim(), "[]");
    let reconcile = env
        .csa()
        .args(["session", "reconcile", "--all"])
        .output()
        .unwrap();
    assert!(reconcile.status.success(), "{}", stderr_of(&reconcile));
    let hidden: Vec<String> = fs_err::read_dir(env.sessions_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        hidden.iter().all(|name| name.starts_with('.')),
        "only hidden staging dirs are left: {hidden:?}"
    );
}

#[test]
fn a_panic_in_the_daemon_is_one_line_of_stderr_log() {
    let env = Env::new();
    let out = env
        .csa()
        .env(FAULT_ENV, FaultPoint::DaemonResult.spec(FaultMode::Panic))
        .args(["run", "--tool", "demo", "--", "sh", "-c", "echo real line"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let s = env.session_of(stdout_of(&out).trim());
    let panics = || -> Vec<String> {
        fs_err::read_to_string(s.path("stderr.log"))
            .unwrap_or_default()
            .split_inclusive('\n')
            .filter(|line| line.contains("panic"))
            .map(str::to_owned)
            .collect()
    };
    wait_until("the daemon's panic in stderr.log", || {
        panics().iter().any(|line| line.ends_with('\n'))
    });
    let lines = panics();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("csa daemon: panic: injected panic at daemon:result at "),
        "{lines:?}"
    );
}
