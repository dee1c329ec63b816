#!/usr/bin/env python3
"""The `--host` figure of `just bench` (contract 11), called by bench.py or
run alone (`python3 scripts/bench_remote.py`, or `just bench --remote-only`):

  list --host   `csa --host H session list` of 1,000 sessions on H, an sshd
                on 127.0.0.1 started here (its own host key, user key and
                config; the remote csa is the same binary with the fixture's
                state dir), over a warm shared connection (ControlMaster),
                against a local `csa session list` of the same 1,000
                sessions, both in steady state (target: remote within local
                + 30 ms). Skipped, with a note, where sshd is missing or
                does not start.
"""

import os
import pathlib
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


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)


def _start_sshd(lab, env):
    """An sshd for the fixture's csa, and the client config that reaches it as `bench`."""
    for key in ("host_key", "user_key"):
        _keygen(lab / key)
    shutil.copy(lab / "user_key.pub", lab / "authorized_keys")
    os.makedirs("/run/sshd", exist_ok=True)
    port = _free_port()
    (lab / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {lab / 'host_key'}\n"
        f"PidFile {lab / 'sshd.pid'}\nAuthorizedKeysFile {lab / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nLogLevel ERROR\n"
        f"SetEnv XDG_STATE_HOME={env['XDG_STATE_HOME']} XDG_CACHE_HOME={env['XDG_CACHE_HOME']}\n")
    host_key = (lab / "host_key.pub").read_text().strip()
    (lab / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    (lab / "ssh_config").write_text(
        f"Host bench\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {lab / 'user_key'}\n"
        f"  IdentitiesOnly yes\n  UserKnownHostsFile {lab / 'known_hosts'}\n"
        "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n")
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(lab / "sshd_config")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
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


def run(bench, csa, generator, workdir, runs):
    """The figures, or a dict with `skipped` saying why."""
    if not pathlib.Path(SSHD).exists() or shutil.which("ssh") is None:
        return {"skipped": f"no {SSHD} or ssh client (install openssh-server)"}
    env, project, sessions, _ = bench.generate(generator, N, workdir / "remote-n1000")
    # A short runtime dir: the shared connection's socket path must fit.
    lab = pathlib.Path(tempfile.mkdtemp(prefix="csa-r-", dir="/tmp"))
    sshd = None
    try:
        sshd, why = _start_sshd(lab, env)
        if sshd is None:
            return {"skipped": f"sshd did not start: {why}"}
        env = dict(env, XDG_RUNTIME_DIR=str(lab), CSA_SSH_COMMAND=f"ssh -F {lab / 'ssh_config'}",
                   CSA_REMOTE_CSA=os.path.abspath(csa))
        local = [csa, "session", "list", "--cd", str(project)]
        remote = [csa, "--host", "bench", "session", "list", "--cd", str(project)]
        # Settle the fixture (its dead sessions are reconciled), let the
        # files age past the cache's granularity, fill the row cache, and
        # open the shared connection.
        bench.run_timed(local, env)
        time.sleep(2.5)
        bench.run_timed(local, env)
        bench.run_timed(remote, env)
        out = subprocess.run(remote, env=env, capture_output=True, text=True, check=True)
        rows = len(out.stdout.splitlines()) - 1
        if rows != N:
            sys.exit(f"bench: list --host printed {rows} rows, expected {N}")
        local_ms, remote_ms, peak = [], [], 0
        for _ in range(max(runs, 10)):
            secs, rss, _ = bench.run_timed(local, env)
            local_ms.append(secs * 1000)
            secs, rss, _ = bench.run_timed(remote, env)
            remote_ms.append(secs * 1000)
            peak = max(peak, rss)
        subprocess.run(["ssh", "-F", str(lab / "ssh_config"), "-o",
                        f"ControlPath={lab / 'cli-sub-agent' / 'ssh' / '%C'}", "-O", "exit", "bench"],
                       capture_output=True)
        local_med, remote_med = statistics.median(local_ms), statistics.median(remote_ms)
        return {
            "n": N,
            "local_list_ms": local_med,
            "remote_list_ms": remote_med,
            "remote_over_local_ms": remote_med - local_med,
            "target_over_local_ms": TARGET_MS,
            "remote_peak_rss_mb": peak / 1024,
        }
    finally:
        if sshd is not None:
            sshd.kill()
            sshd.wait()
        shutil.rmtree(lab, ignore_errors=True)


def report(figures):
    """Print the figures (or why there are none)."""
    if "skipped" in figures:
        print(f"list --host: skipped: {figures['skipped']}")
        return
    print(f"list --host of {figures['n']} sessions (warm connection, median): "
          f"{figures['remote_list_ms']:.1f} ms, local list {figures['local_list_ms']:.1f} ms, "
          f"+{figures['remote_over_local_ms']:.1f} ms (target <= +{TARGET_MS:.0f} ms); "
          f"peak RSS {figures['remote_peak_rss_mb']:.1f} MB")


def main():
    here = pathlib.Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import bench
    sys.argv.append("--remote-only")
    bench.main()


if __name__ == "__main__":
    main()
