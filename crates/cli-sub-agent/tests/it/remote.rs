//! `--host` (contract §11) against real OpenSSH servers on 127.0.0.1 started
//! by the tests ([`SshLab`]): each host has its own state home, so what a
//! command does there is seen only there.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use csa_test_support::sshd::SshLab;
use csa_test_support::*;

/// Longest any command below may take before the test fails.
pub(crate) const NO_HANG: Duration = Duration::from_secs(30);

/// A local env and a lab with these hosts; `None` where sshd cannot run.
pub(crate) fn lab(hosts: &[&str]) -> Option<(Env, SshLab)> {
    let mut lab = SshLab::new()?;
    for host in hosts {
        lab.host(host)?;
    }
    Some((Env::new(), lab))
}

pub(crate) fn csa_std(env: &Env, lab: &SshLab) -> std::process::Command {
    let mut cmd = env.csa_std();
    lab.apply(&mut cmd);
    cmd
}

pub(crate) fn csa(env: &Env, lab: &SshLab, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::from_std(csa_std(env, lab))
        .args(args)
        .timeout(NO_HANG)
        .output()
        .unwrap()
}

/// `csa --host HOST run --tool t [options] -- CMD`: the new session's id.
pub(crate) fn run_on(
    env: &Env,
    lab: &SshLab,
    host: &str,
    options: &[&str],
    cmd: &[&str],
) -> String {
    let mut args = vec!["--host", host, "run", "--tool", "t"];
    args.extend(options);
    args.push("--");
    args.extend(cmd);
    let out = csa(env, lab, &args);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let id = stdout_of(&out).trim().to_owned();
    assert_eq!(id.len(), 26, "{id:?}");
    id
}

/// The sessions folder of the project on `host` (its own state home).
fn remote_sessions(env: &Env, state_home: &std::path::Path) -> std::path::PathBuf {
    state_home
        .join("cli-sub-agent")
        .join(env.project.strip_prefix("/").unwrap())
        .join("sessions")
}

#[test]
fn version_over_ssh_states_the_protocol() {
    let Some((env, lab)) = lab(&["alpha"]) else {
        return;
    };
    let out = csa(&env, &lab, &["--host", "alpha", "version", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["protocol"], 1);
    assert_eq!(json["row_version"], csa_session::ROW_VERSION);
    assert_eq!(json["detail_version"], csa_session::detail::DETAIL_VERSION);
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn run_wait_logs_and_show_happen_on_the_host() {
    let Some((env, mut lab)) = lab(&[]) else {
        return;
    };
    let Some(state_home) = lab.host("alpha").map(|h| h.state_home.clone()) else {
        return;
    };
    let id = run_on(
        &env,
        &lab,
        "alpha",
        &[],
        &["sh", "-c", "echo hello there; exit 3"],
    );
    // The session is on the host, not here.
    assert!(remote_sessions(&env, &state_home).join(&id).is_dir());
    assert!(!env.sessions_dir().join(&id).exists());
    let wait = csa(&env, &lab, &["--host", "alpha", "session", "wait", &id]);
    assert_eq!(wait.status.code(), Some(3), "{}", stderr_of(&wait));
    assert!(
        stdout_of(&wait).starts_with(&format!("{id} ")),
        "{}",
        stdout_of(&wait)
    );
    let logs = csa(&env, &lab, &["--host", "alpha", "session", "logs", &id]);
    assert_eq!(stdout_of(&logs), "hello there\n");
    let show = csa(
        &env,
        &lab,
        &["--host", "alpha", "session", "show", &id, "--json"],
    );
    assert!(show.status.success(), "{}", stderr_of(&show));
    let json: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(json["session_id"], id.as_str());
    assert_eq!(json["result"]["exit_code"], 3);
    // Here, the id means nothing.
    let local = env.csa().args(["session", "show", &id]).output().unwrap();
    assert_eq!(local.status.code(), Some(1));
}

#[test]
fn hostile_arguments_stay_literal_on_the_host() {
    let Some((env, mut lab)) = lab(&[]) else {
        return;
    };
    let Some(state_home) = lab.host("alpha").map(|h| h.state_home.clone()) else {
        return;
    };
    let pwned = env.tmp.path().join("pwned");
    let description = format!(
        "$(touch {p}) `touch {p}` ; touch {p} 'it''s' \"$HOME\"\nline",
        p = pwned.display()
    );
    let id = run_on(
        &env,
        &lab,
        "alpha",
        &["--description", &description],
        &["printf", "%s|", "; rm -rf x", "$(touch /tmp/x)", "it's"],
    );
    let wait = csa(&env, &lab, &["--host", "alpha", "session", "wait", &id]);
    assert_eq!(wait.status.code(), Some(0), "{}", stderr_of(&wait));
    assert!(
        !pwned.exists(),
        "the remote shell ran a command from a description"
    );
    let state = fs_err::read_to_string(
        remote_sessions(&env, &state_home)
            .join(&id)
            .join("state.toml"),
    )
    .unwrap();
    let state: toml::Table = toml::from_str(&state).unwrap();
    assert_eq!(state["description"].as_str(), Some(description.as_str()));
    let logs = csa(&env, &lab, &["--host", "alpha", "session", "logs", &id]);
    assert_eq!(stdout_of(&logs), "; rm -rf x|$(touch /tmp/x)|it's|");
}

#[test]
fn a_host_that_looks_like_an_option_is_refused_before_ssh_runs() {
    let Some((env, lab)) = lab(&[]) else { return };
    let pwned = env.tmp.path().join("pwned");
    let host = format!("--host=-oProxyCommand=touch{}", pwned.display());
    let out = csa(&env, &lab, &[&host, "session", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("cannot be an ssh option"),
        "{}",
        stderr_of(&out)
    );
    assert!(!pwned.exists());
}

#[test]
fn a_missing_remote_csa_is_one_error_naming_the_host_and_the_fix() {
    let Some((env, lab)) = lab(&["alpha"]) else {
        return;
    };
    let mut cmd = csa_std(&env, &lab);
    cmd.env("CSA_REMOTE_CSA", "csa-not-installed-here");
    let out = assert_cmd::Command::from_std(cmd)
        .args([
            "--host",
            "alpha",
            "session",
            "show",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ])
        .timeout(NO_HANG)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no csa on alpha") && err.contains("--remote-csa"),
        "{err}"
    );
}

#[test]
fn an_unreachable_host_is_one_error_naming_it() {
    let Some((env, mut lab)) = lab(&[]) else {
        return;
    };
    lab.unreachable("gone");
    let out = csa(
        &env,
        &lab,
        &[
            "--host",
            "gone",
            "session",
            "show",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("cannot reach gone over ssh"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn kill_stops_a_session_on_the_host() {
    let Some((env, lab)) = lab(&["alpha"]) else {
        return;
    };
    let id = run_on(&env, &lab, "alpha", &[], &["sleep", "600"]);
    let kill = csa(
        &env,
        &lab,
        &["--host", "alpha", "session", "kill", &id, "--grace", "1"],
    );
    assert!(kill.status.success(), "{}", stderr_of(&kill));
    assert_eq!(stdout_of(&kill), format!("{id} killed: exit 143\n"));
}

/// The pids of csa processes started over ssh (`--remote-protocol`) whose
/// command line holds `word`.
pub(crate) fn remote_csa_pids(word: &str) -> Vec<u32> {
    fs_err::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = fs_err::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.contains(&b"--remote-protocol".as_slice())
                && args.contains(&word.as_bytes())
                && proc_state(*pid).is_some_and(|s| s != 'Z')
        })
        .collect()
}

#[test]
fn logs_follow_streams_and_ctrl_c_leaves_no_remote_process() {
    let Some((env, lab)) = lab(&["alpha"]) else {
        return;
    };
    let id = run_on(
        &env,
        &lab,
        "alpha",
        &[],
        &["sh", "-c", "echo first; exec sleep 600"],
    );
    let mut follow = csa_std(&env, &lab);
    follow
        .args(["--host", "alpha", "session", "logs", "--follow", &id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: follow.spawn().unwrap(),
        group: false,
    };
    let mut out = BufReader::new(child.child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "first\n");
    wait_until("the remote logs --follow", || {
        !remote_csa_pids(&id).is_empty()
    });
    // Ctrl-C: SIGINT to the local csa alone (not to its ssh).
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.pid()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let _ = child.child.wait();
    wait_until("the remote csa to end", || remote_csa_pids(&id).is_empty());
    // The session itself goes on there.
    let show = csa(
        &env,
        &lab,
        &["--host", "alpha", "session", "show", &id, "--json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(json["status"], "Active");
    csa(
        &env,
        &lab,
        &["--host", "alpha", "session", "kill", &id, "--grace", "1"],
    );
}

#[test]
fn logs_follow_on_a_host_ends_with_the_session_exit_code() {
    let Some((env, lab)) = lab(&["alpha"]) else {
        return;
    };
    let id = run_on(
        &env,
        &lab,
        "alpha",
        &[],
        &["sh", "-c", "echo a; sleep 1; echo b; exit 5"],
    );
    let out = csa(
        &env,
        &lab,
        &["--host", "alpha", "session", "logs", "-f", &id],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "a\nb\n");
}
