//! `csa session top` (contract §9.1): the snapshot table and JSON rows, and
//! the live view driven for real inside `tmux` on a private socket: keys
//! sent with `send-keys`, the screen read with `capture-pane`, and the
//! terminal checked after each way out (q, Ctrl-C, SIGTERM, SIGHUP, a panic).

use std::process::Command;

use csa_test_support::*;

/// A command that prints `line`, then waits for the gate file `gate`.
fn gated(env: &Env, gate: &str, line: &str) -> Session {
    let go = env.tmp.path().join(gate);
    let script = format!(
        "echo {line}; g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.02; done; echo done",
        go.display()
    );
    env.run_with(&["--description", "a gated run"], &["sh", "-c", &script])
}

fn open_gate(env: &Env, gate: &str) {
    fs_err::write(env.tmp.path().join(gate), "").unwrap();
}

#[test]
fn once_prints_a_table_and_json_prints_the_rows() {
    let env = Env::new();
    let live = gated(&env, "g", "hello");
    let failed = env.run_with(
        &[],
        &[
            "sh",
            "-c",
            "echo working; echo fatal: worker 4 crashed >&2; exit 3",
        ],
    );
    let out = env
        .csa()
        .args(["session", "wait", &failed.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = env
        .csa()
        .args(["session", "top", "--json", "--interval", "0.1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // Active first.
    assert_eq!(rows[0]["session_id"], live.id.as_str());
    assert_eq!(rows[0]["status"], "Active");
    assert_eq!(rows[0]["description"], "a gated run");
    assert_eq!(rows[0]["last_line"], "hello");
    assert!(rows[0]["memory_bytes"].as_u64().unwrap() > 0, "{rows:?}");
    assert!(rows[0]["cpu_percent"].as_f64().is_some(), "{rows:?}");
    assert!(rows[0]["idle_secs"].as_f64().is_some());
    assert!(rows[0]["outcome"].is_null());
    assert_eq!(rows[1]["session_id"], failed.id.as_str());
    assert_eq!(rows[1]["status"], "Failed");
    assert_eq!(rows[1]["outcome"], "failure");
    assert_eq!(rows[1]["exit_code"], 3);
    assert!(rows[1]["idle_secs"].is_null());
    assert_eq!(rows[1]["log_bytes"], 8 + 24);
    for key in [
        "tool",
        "elapsed_secs",
        "cpu_percent",
        "memory_bytes",
        "log_bytes",
        "last_line",
    ] {
        assert!(rows[1].get(key).is_some(), "{key}");
    }

    // Not a terminal: one snapshot table.
    let out = env
        .csa()
        .args(["session", "top", "--interval", "0.1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("1 active / 1 ended / 1 failed"), "{text}");
    for title in [
        "SESSION",
        "STATUS",
        "TOOL",
        "DESCRIPTION",
        "ELAPSED",
        "IDLE",
        "CPU%",
        "MEM",
        "LOG",
        "OUTCOME",
        "LAST LINE",
    ] {
        assert!(lines[1].contains(title), "{title}: {text}");
    }
    assert!(
        lines[2].starts_with(&live.id[..8]) && lines[2].contains("Active"),
        "{text}"
    );
    assert!(
        lines[3].starts_with(&failed.id[..8]) && lines[3].contains("Failed"),
        "{text}"
    );
    assert!(
        lines[3].contains("  3  ") && lines[3].ends_with("working"),
        "{text}"
    );
    open_gate(&env, "g");
}

/// A tmux server of its own for one test, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Start `script` (run by `sh -c`) in a detached 100x30 window, with the
    /// test's environment.
    fn start(env: &Env, name: &str, script: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("csa-top-{}-{name}", std::process::id()),
        };
        let mut cmd = tmux.command();
        env.apply(&mut cmd);
        // The server's own terminal type; the pane gets tmux's.
        cmd.env("TERM", "xterm-256color");
        let project = env.project.display().to_string();
        cmd.current_dir(&env.project).args([
            "new-session",
            "-d",
            "-x",
            "100",
            "-y",
            "30",
            "-s",
            "top",
            "-c",
            &project,
            "sh",
            "-c",
            script,
        ]);
        let status = cmd.status().unwrap();
        assert!(status.success());
        tmux
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"]);
        cmd
    }

    fn keys(&self, keys: &[&str]) {
        let status = self
            .command()
            .args(["send-keys", "-t", "top"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "top"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn format(&self, format: &str) -> String {
        let out = self
            .command()
            .args(["display-message", "-p", "-t", "top", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn wait_for(&self, what: &str) -> String {
        let mut screen = String::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(what, || {
                screen = self.screen();
                screen.contains(what)
            })
        }));
        assert!(found.is_ok(), "{what} never showed; the screen:\n{screen}");
        screen
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}

/// `top` in a shell that reports how it ended and the terminal's modes
/// after it, then waits on `cat` (reading the terminal, not polling).
fn top_script() -> String {
    let modes =
        "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '";
    format!(
        r#""$CSA" session top --interval 0.2; code=$?; echo "top exited $code, modes: $({modes})."; exec cat"#
    )
}

fn assert_restored(tmux: &Tmux, screen: &str, code: i32) {
    assert!(screen.contains(&format!("top exited {code}")), "{screen}");
    assert!(
        screen.contains("icanon echo"),
        "cooked mode again: {screen}"
    );
    assert_eq!(tmux.format("#{alternate_on}"), "0", "{screen}");
    assert_eq!(tmux.format("#{cursor_flag}"), "1", "cursor shown: {screen}");
}

#[test]
fn top_in_tmux_follows_logs_kills_after_a_confirmation_and_quits_cleanly() {
    let env = Env::new();
    let done = env.run_with(&[], &["sh", "-c", "echo finished"]);
    let out = env
        .csa()
        .args(["session", "wait", &done.id])
        .output()
        .unwrap();
    assert!(out.status.success());
    let live = gated(&env, "g", "agent-hello");
    let tmux = Tmux::start(&env, "keys", &top_script());
    let screen = tmux.wait_for("agent-hello");
    assert_eq!(tmux.format("#{alternate_on}"), "1", "{screen}");
    assert!(screen.contains("1 active / 1 ended / 0 failed"), "{screen}");
    assert!(
        screen.contains("SESSION") && screen.contains("LAST LINE"),
        "{screen}"
    );
    // The active session is listed first.
    let first = screen.lines().nth(2).unwrap_or("");
    assert!(first.starts_with(&live.id[..8]), "{screen}");

    // A session that starts meanwhile shows up.
    let _late = gated(&env, "late", "late-starter");
    tmux.wait_for("late-starter");
    // Select the live one (second from the top now) and follow its logs.
    tmux.keys(&["j", "j"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(&format!("logs of {}", live.id));
    assert!(screen.contains("agent-hello"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("LAST LINE");

    // x asks first; n keeps it running.
    tmux.keys(&["x"]);
    tmux.wait_for(&format!("kill session {}? (y/n)", live.id));
    tmux.keys(&["n"]);
    tmux.wait_for(&format!("not killed: {}", live.id));
    assert_eq!(live.phase(), "active");
    tmux.keys(&["x"]);
    tmux.wait_for("(y/n)");
    tmux.keys(&["y"]);
    wait_until("the kill", || live.exists("result.toml"));
    assert_eq!(live.result()["status"].as_str(), Some("killed"));
    tmux.wait_for("killed: exit");

    // The filter keeps the rows that match.
    tmux.keys(&["/"]);
    tmux.keys(&["late-st"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("[filter: late-st]");
    assert!(screen.contains("1 active / 0 ended"), "{screen}");
    assert!(
        screen.contains("late-starter") && !screen.contains("finished"),
        "{screen}"
    );

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("modes:");
    assert_restored(&tmux, &screen, 0);
    open_gate(&env, "late");
}

#[test]
fn every_way_out_restores_the_terminal() {
    let env = Env::new();
    let _live = gated(&env, "g", "still-here");
    // Ctrl-C.
    let tmux = Tmux::start(&env, "ctrl-c", &top_script());
    tmux.wait_for("still-here");
    tmux.keys(&["C-c"]);
    let screen = tmux.wait_for("modes:");
    assert_restored(&tmux, &screen, 0);
    drop(tmux);
    // SIGTERM and SIGHUP, from outside.
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let tmux = Tmux::start(&env, signal, &top_script());
        tmux.wait_for("still-here");
        let shell: u32 = tmux.format("#{pane_pid}").parse().unwrap();
        let top = Command::new("pgrep")
            .args(["-P", &shell.to_string()])
            .output()
            .unwrap();
        let top = stdout_of(&top).trim().to_owned();
        assert!(!top.is_empty());
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &top])
            .status()
            .unwrap();
        assert!(status.success());
        let screen = tmux.wait_for("modes:");
        assert_restored(&tmux, &screen, code);
    }
    // A panic (injected after the first frame).
    let spec = fault_spec(&[(FaultPoint::TopDrawn, FaultMode::Panic)]);
    let script = format!("export {FAULT_ENV}={spec}; {}", top_script());
    let tmux = Tmux::start(&env, "panic", &script);
    let screen = tmux.wait_for("modes:");
    assert_restored(&tmux, &screen, 101);
    assert!(
        screen.contains("panicked"),
        "the panic message is shown: {screen}"
    );
    open_gate(&env, "g");
}
