"""The fleet figures of `just bench` (contract 9.4), called by bench.py.

  top           `csa session top` live on a pseudo-terminal for 10 s over
                1,000 sessions of which 50 are active (hand-made sessions
                whose daemon.pid names a live `sleep`, each log gaining a
                line a second): its CPU time as a share of one core, and its
                peak resident memory (targets: 5 % and 40 MB)
  logs -f --all from a line appended to one of the 50 active sessions'
                output.log to the same line, prefixed, read from
                `csa session logs --follow --all` (target: 50 ms)
  list 100k     `csa session list` of 100,000 settled sessions in steady
                state: its peak resident memory (target: 40 MB)
"""

import os
import pathlib
import pty
import select
import shutil
import statistics
import subprocess
import sys
import threading
import time

TOP_SECONDS = 10
ACTIVE = 50


def _env(root, state_home):
    env = dict(os.environ)
    env.pop("RUST_LOG", None)
    env.update(HOME=str(root), XDG_STATE_HOME=str(state_home), XDG_CACHE_HOME=str(root / "cache"),
               TERM="xterm-256color")
    return env


def _live_sessions(bench, sessions, project, daemon, count):
    made = []
    for _ in range(count):
        sid, folder, _ = bench.live_session(sessions, project, daemon)
        (folder / "output.log").write_text("started\n")
        made.append((sid, folder))
    return made


def _vm_hwm_kb(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    sys.exit(f"bench: no VmHWM in /proc/{pid}/status")


def bench_top(bench, csa, generator, workdir):
    root = workdir / "top"
    env, project, sessions, _ = bench.generate(generator, 1000 - ACTIVE, root)
    env.update(TERM="xterm-256color")
    # Settle the generated sessions (the reconciles are not top's cost).
    subprocess.run([csa, "session", "list", "--cd", str(project)], env=env,
                   stdout=subprocess.DEVNULL, check=True)
    daemon = subprocess.Popen(["sleep", "3600"])
    stop = threading.Event()
    try:
        live = _live_sessions(bench, sessions, project, daemon, ACTIVE)

        def write_lines():
            i = 0
            while not stop.wait(1.0):
                i += 1
                for _, folder in live:
                    with open(folder / "output.log", "a") as log:
                        log.write(f"line {i}\n")

        writer = threading.Thread(target=write_lines, daemon=True)
        writer.start()
        pid, master = pty.fork()
        if pid == 0:
            os.execve(csa, [csa, "session", "top", "--cd", str(project)], env)
        drawn = 0
        deadline = time.monotonic() + TOP_SECONDS
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    drawn += len(os.read(master, 65536))
                except OSError:
                    break
        # Peak RSS of top's own memory (VmHWM starts anew at exec): the
        # child's ru_maxrss would also count this Python's pages.
        peak_kb = _vm_hwm_kb(pid)
        os.write(master, b"q")
        while True:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        _, status, usage = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or drawn == 0:
            sys.exit(f"bench: top ended badly ({status}, {drawn} bytes drawn)")
        cpu = (usage.ru_utime + usage.ru_stime) / TOP_SECONDS * 100
    finally:
        stop.set()
        daemon.kill()
        daemon.wait()
        shutil.rmtree(root, ignore_errors=True)
    return {"top_cpu_percent": cpu, "top_peak_rss_mb": peak_kb / 1024,
            "top_sessions": 1000, "top_active": ACTIVE}


def bench_follow_all(bench, csa, workdir, runs):
    root = workdir / "follow-all"
    project = pathlib.Path(os.path.realpath(root / "project"))
    project.mkdir(parents=True)
    state_home = root / "state"
    sessions = state_home / "cli-sub-agent" / str(project).lstrip("/") / "sessions"
    env = _env(root, state_home)
    daemon = subprocess.Popen(["sleep", "3600"])
    try:
        live = _live_sessions(bench, sessions, project, daemon, ACTIVE)
        follower = subprocess.Popen([csa, "session", "logs", "--all", "-f", "-n", "0",
                                     "--cd", str(project)],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        bench.watching(follower.pid)
        lags = []
        for i in range(runs):
            sid, folder = live[(i * 7) % len(live)]
            line = f"fleet line {i}"
            with open(folder / "output.log", "a") as log:
                start = time.perf_counter()
                log.write(line + "\n")
            got = follower.stdout.readline().decode(errors="replace")
            lags.append((time.perf_counter() - start) * 1000)
            if not got.rstrip("\n").endswith(" | " + line) or not sid.startswith(got.split(" | ")[0]):
                sys.exit(f"bench: logs -f --all printed {got!r}")
            time.sleep(0.01)
        follower.kill()
        follower.wait()
    finally:
        daemon.kill()
        daemon.wait()
        shutil.rmtree(root, ignore_errors=True)
    return {"follow_all_ms": statistics.median(lags), "follow_all_max_ms": max(lags),
            "follow_all_sessions": ACTIVE}


def bench_list_100k(bench, csa, generator, workdir):
    root = workdir / "list-100k"
    env, project, sessions, _ = bench.generate(generator, 100_000, root)
    list_cmd = [csa, "session", "list", "--cd", str(project)]
    try:
        bench.run_timed(list_cmd, env)  # reconciles the dead ones
        time.sleep(2.5)  # written files settle before they are cached
        bench.run_timed(list_cmd, env)  # fills the row cache
        secs, rss, _ = bench.run_timed(list_cmd, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"list_100k_ms": secs * 1000, "list_100k_peak_rss_mb": rss / 1024}


def run(bench, csa, generator, workdir, runs, with_100k=True):
    """Every fleet figure; printed and returned as one dict."""
    report = {}
    report.update(bench_top(bench, csa, generator, workdir))
    report.update(bench_follow_all(bench, csa, workdir, runs))
    if with_100k:
        report.update(bench_list_100k(bench, csa, generator, workdir))
    print(f"top over {report['top_sessions']} sessions ({report['top_active']} active, "
          f"{TOP_SECONDS} s): {report['top_cpu_percent']:.1f}% of a core (target <= 5%), "
          f"peak RSS {report['top_peak_rss_mb']:.1f}MB (target <= 40MB)")
    print(f"logs -f --all over {report['follow_all_sessions']} sessions: a line shows in "
          f"{report['follow_all_ms']:.2f}ms (max {report['follow_all_max_ms']:.2f}ms, target <= 50ms)")
    if with_100k:
        print(f"list of 100,000 sessions, steady: {report['list_100k_ms']:.0f}ms, "
              f"peak RSS {report['list_100k_peak_rss_mb']:.1f}MB (target < 40MB)")
    return report
