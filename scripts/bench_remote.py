#!/usr/bin/env python3
"""The `--host` figures of `just bench` (contract 11), called by bench.py or
run alone (`python3 scripts/bench_remote.py`, or `just bench --remote-only`):

  list --host   `csa --host H session list` of 1,000 sessions on H, an sshd
                on 127.0.0.1 started here (its own host key, user key and
                config; the remote csa is the same binary with the fixture's
                state dir), over a warm shared connection (ControlMaster),
                against a local `csa session list` of the same 1,000
                sessions, both in steady state (target: remote within local
                + 30 ms). Skipped, with a note, where sshd is missing or
                does not start.

sshd runs every command through the remote account's shell, and bash run by
sshd sources that account's ~/.bashrc: whatever it does (pyenv, nvm, conda
init) is paid on every command, by csa or by plain ssh. That is the
account's cost, not csa's, so the figure held to the target is taken on a
second sshd, `clean`, started in a private mount namespace (`unshare -m`)
where the account's startup files read by a shell that sshd starts
(~/.bashrc, ~/.zshenv, ~/.ssh/rc) are bind-mounted over by an empty file:
the same account, binary, fixture and connection setup, with a shell that
starts clean. The figure through the account's shell as it is (`bench`) is
reported beside it. Where a mount namespace cannot be made (not root, no
CAP_SYS_ADMIN), only that one is reported.

Where the time goes, each a median over the same interleaved runs:
  ssh true      `ssh HOST true` over the same warm connection (the round trip
                and the remote shell's start), on both sshds: their
                difference is the account's shell startup;
  remote json   the remote side's own work: `csa session list --json` run
                here as another csa starts it there (the hidden protocol
                flag, stdin held open), with the environment sshd gives it;
  local draw    the local side's own work, `csa --host H session list` with
                an ssh stand-in (`exec cat ANSWER`) that prints the remote
                csa's saved answer: start, read the pipe, parse, draw (the
                stand-in alone is timed too).
"""

import json
import os
import pathlib
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SSHD = "/usr/sbin/sshd"
N = 1000
TARGET_MS = 30.0
# The account's own startup files that a shell started by sshd reads
# (bash: ~/.bashrc; zsh: ~/.zshenv; sshd itself: ~/.ssh/rc).
STARTUP_FILES = (".bashrc", ".zshenv", ".ssh/rc")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)


def _make_keys(lab):
    """A host key and a user key; the user key authorized."""
    for key in ("host_key", "user_key"):
        _keygen(lab / key)
    shutil.copy(lab / "user_key.pub", lab / "authorized_keys")
    os.makedirs("/run/sshd", exist_ok=True)


def _account_startup_files():
    """The account's startup files that exist (what `clean` empties)."""
    home = pathlib.Path(pwd.getpwuid(os.getuid()).pw_dir)
    return [home / name for name in STARTUP_FILES if (home / name).is_file()]


def _start_sshd(lab, env, alias, clean=False):
    """An sshd for the fixture's csa, reached as `alias` through lab/ssh_config;
    with `clean`, in a mount namespace of its own where the account's startup
    files are empty. (sshd, None), or (None, why it did not start)."""
    port = _free_port()
    config = lab / f"sshd_config_{alias}"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {lab / 'host_key'}\n"
        f"PidFile {lab / f'sshd_{alias}.pid'}\nAuthorizedKeysFile {lab / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nLogLevel ERROR\n"
        f"SetEnv XDG_STATE_HOME={env['XDG_STATE_HOME']} XDG_CACHE_HOME={env['XDG_CACHE_HOME']}\n")
    host_key = (lab / "host_key.pub").read_text().strip()
    with open(lab / "known_hosts", "a") as known:
        known.write(f"[127.0.0.1]:{port} {host_key}\n")
    with open(lab / "ssh_config", "a") as client:
        client.write(
            f"Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {lab / 'user_key'}\n"
            f"  IdentitiesOnly yes\n  UserKnownHostsFile {lab / 'known_hosts'}\n"
            "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n")
    argv = [SSHD, "-D", "-e", "-f", str(config)]
    if clean:
        empty = lab / "empty"
        empty.write_text("")
        binds = " && ".join(f"mount --bind {empty} '{f}'" for f in _account_startup_files())
        # Private propagation: the binds are seen by this sshd's processes only.
        argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                f"{binds or 'true'} && exec \"$@\"", "sh", *argv]
    sshd = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if sshd.poll() is not None:
            return None, sshd.stderr.read().decode(errors="replace").strip()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return sshd, None
        except OSError:
            time.sleep(0.02)
    sshd.kill()
    sshd.wait()
    return None, "it did not listen within 20 s"


def _protocol_word(csa, env):
    """The versions word a csa sends the csa it starts over ssh (`P.R.D.F`)."""
    v = json.loads(subprocess.run([csa, "version", "--json"], env=env, capture_output=True,
                                  check=True, text=True).stdout)
    return f"{v['protocol']}.{v['row_version']}.{v['detail_version']}.{v['top_version']}"


def _timed_with_stdin_open(argv, env):
    """Seconds to run argv with its stdin a pipe held open (a csa started by
    another ends when its stdin does)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, _ = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.stdin.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(argv[:4])}... failed: {proc.stderr.read().decode().strip()}")
    proc.stderr.close()
    return elapsed


def _median_ms(values):
    return statistics.median(values) * 1000


def run(bench, csa, generator, workdir, runs):
    """The figures, or a dict with `skipped` saying why."""
    if not pathlib.Path(SSHD).exists() or shutil.which("ssh") is None:
        return {"skipped": f"no {SSHD} or ssh client (install openssh-server)"}
    env, project, sessions, _ = bench.generate(generator, N, workdir / "remote-n1000")
    # A short runtime dir: the shared connection's socket path must fit.
    lab = pathlib.Path(tempfile.mkdtemp(prefix="csa-r-", dir="/tmp"))
    daemons = []
    try:
        _make_keys(lab)
        sshd, why = _start_sshd(lab, env, "bench")
        if sshd is None:
            return {"skipped": f"sshd did not start: {why}"}
        daemons.append(sshd)
        clean, clean_why = _start_sshd(lab, env, "clean", clean=True)
        if clean is not None:
            daemons.append(clean)
        hosts = ["clean", "bench"] if clean is not None else ["bench"]
        ssh_config = lab / "ssh_config"
        env = dict(env, XDG_RUNTIME_DIR=str(lab), CSA_SSH_COMMAND=f"ssh -F {ssh_config}",
                   CSA_REMOTE_CSA=os.path.abspath(csa))
        local = [csa, "session", "list", "--cd", str(project)]

        def remote(host):
            return [csa, "--host", host, "session", "list", "--cd", str(project)]

        # The same options csa gives ssh, so `true` goes over the same shared connection.
        control = ["-o", "BatchMode=yes", "-o", "ControlMaster=auto",
                   "-o", f"ControlPath={lab / 'cli-sub-agent' / 'ssh' / '%C'}",
                   "-o", "ControlPersist=60s"]

        def ssh_true(host):
            return ["ssh", "-F", str(ssh_config), *control, "--", host, "true"]

        # The remote csa's work, run here as another csa starts it there
        # (the hidden protocol flag: compact JSON; it ends with its stdin).
        remote_json = [csa, "--remote-protocol", _protocol_word(csa, env),
                       "session", "list", "--cd", str(project), "--json"]
        # Settle the fixture (its dead sessions are reconciled), let the
        # files age past the cache's granularity, fill the row cache, and
        # open the shared connections.
        bench.run_timed(local, env)
        time.sleep(2.5)
        bench.run_timed(local, env)
        for host in hosts:
            bench.run_timed(remote(host), env)
            out = subprocess.run(remote(host), env=env, capture_output=True, text=True, check=True)
            rows = len(out.stdout.splitlines()) - 1
            if rows != N:
                sys.exit(f"bench: list --host {host} printed {rows} rows, expected {N}")
        # The local side alone: an ssh stand-in that prints the host's answer.
        answer = lab / "answer.json"
        with subprocess.Popen(remote_json, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE) as proc:
            answer.write_bytes(proc.stdout.read())
            if proc.wait() != 0:
                sys.exit(f"bench: {' '.join(remote_json[:4])}... failed ({proc.returncode})")
        stand_in = lab / "ssh-stand-in"
        stand_in.write_text(f"#!/bin/sh\nexec cat '{answer}'\n")
        stand_in.chmod(0o755)
        draw_env = dict(env, CSA_SSH_COMMAND=str(stand_in))
        timed = {}
        peak = 0

        def measure(key, argv, run_env=env):
            """Time argv under `key`; its peak RSS."""
            secs, rss, _ = bench.run_timed(argv, run_env)
            timed.setdefault(key, []).append(secs)
            return rss

        # Two rounds, each interleaved: the clean shell's with the parts of
        # its time, then the account's shell as it is (whose startup, here
        # a hundred processes, must not run into the figures of the first).
        for host in hosts:
            for _ in range(max(runs, 10)):
                measure(f"local_{host}", local)
                peak = max(peak, measure(f"remote_{host}", remote(host)))
                measure(f"true_{host}", ssh_true(host))
                if host == hosts[0]:
                    timed.setdefault("json", []).append(_timed_with_stdin_open(remote_json, env))
                    measure("draw", remote("answer"), draw_env)
                    measure("stand_in", [str(stand_in)])
        for host in hosts:
            subprocess.run(["ssh", "-F", str(ssh_config), *control, "-O", "exit", host],
                           capture_output=True)
        med = {key: _median_ms(values) for key, values in timed.items()}
        figures = {
            "n": N,
            "runs": max(runs, 10),
            "local_list_ms": med[f"local_{hosts[0]}"],
            "remote_json_ms": med["json"],
            "local_draw_ms": med["draw"],
            "stand_in_ms": med["stand_in"],
            "target_over_local_ms": TARGET_MS,
            "remote_peak_rss_mb": peak / 1024,
            # Through the account's shell as it is (~/.bashrc and all).
            "remote_list_shell_ms": med["remote_bench"],
            "remote_shell_over_local_ms": med["remote_bench"] - med["local_bench"],
            "ssh_true_shell_ms": med["true_bench"],
        }
        if clean is None:
            figures["clean_skipped"] = f"no clean shell: {clean_why}"
        else:
            figures.update({
                "remote_list_ms": med["remote_clean"],
                "remote_over_local_ms": med["remote_clean"] - med["local_clean"],
                "ssh_true_ms": med["true_clean"],
                "shell_startup_ms": med["true_bench"] - med["true_clean"],
                "clean_files": [str(f) for f in _account_startup_files()],
            })
        return figures
    finally:
        for sshd in daemons:
            sshd.kill()
            sshd.wait()
        shutil.rmtree(lab, ignore_errors=True)


def report(figures):
    """Print the figures (or why there are none)."""
    if "skipped" in figures:
        print(f"list --host: skipped: {figures['skipped']}")
        return
    f = figures
    head = f"list --host of {f['n']} sessions (warm connection, median of {f['runs']})"
    if "remote_list_ms" in f:
        print(f"{head}, remote shell started clean: {f['remote_list_ms']:.1f} ms, "
              f"local list {f['local_list_ms']:.1f} ms, +{f['remote_over_local_ms']:.1f} ms "
              f"(target <= +{TARGET_MS:.0f} ms); peak RSS {f['remote_peak_rss_mb']:.1f} MB")
        print(f"  through this account's shell as it is: {f['remote_list_shell_ms']:.1f} ms, "
              f"+{f['remote_shell_over_local_ms']:.1f} ms (its startup: "
              f"{f['shell_startup_ms']:.1f} ms, from {', '.join(f['clean_files']) or 'no file'})")
        print(f"  where it goes: ssh true {f['ssh_true_ms']:.1f} ms (clean) / "
              f"{f['ssh_true_shell_ms']:.1f} ms (as it is), remote list --json "
              f"{f['remote_json_ms']:.1f} ms, local parse and draw {f['local_draw_ms']:.1f} ms "
              f"(with the ssh stand-in, {f['stand_in_ms']:.1f} ms alone)")
    else:
        print(f"{head}: {f['remote_list_shell_ms']:.1f} ms, local list {f['local_list_ms']:.1f} ms, "
              f"+{f['remote_shell_over_local_ms']:.1f} ms through this account's shell "
              f"({f['clean_skipped']}); peak RSS {f['remote_peak_rss_mb']:.1f} MB")
        print(f"  where it goes: ssh true {f['ssh_true_shell_ms']:.1f} ms, remote list --json "
              f"{f['remote_json_ms']:.1f} ms, local parse and draw {f['local_draw_ms']:.1f} ms "
              f"(with the ssh stand-in, {f['stand_in_ms']:.1f} ms alone)")


def main():
    here = pathlib.Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import bench
    sys.argv.append("--remote-only")
    bench.main()


if __name__ == "__main__":
    main()
