#!/usr/bin/env python3
"""Benchmark `csa session list` and `clean` against generated sessions (`just bench`).

For each N (default 1,000 and 10,000) this generates sessions with the shared
generator (../shared/bench/make_sessions.py, or $CSA_MAKE_SESSIONS), then measures
in the same run:

  floor         reading every state.toml with one `cat` invocation
  first run     `csa session list` on a fresh fixture: one third dead without a
                result (synthetic failure), one third dead with a result (retired),
                one third already retired; every write fsyncs file and directory
  steady state  `csa session list` again, nothing left to reconcile, with the
                row cache filled by the previous list (the normal case), and
                without it (cache deleted first: every file read and parsed)
  tree          then every session but the first is given a parent (an older
                session: a 4-ary tree, 7 levels at N = 10,000) and, once the
                cache is filled again, `csa session list --tree` and
                `csa session list` are measured in steady state on that fixture

It also measures how fast the event-driven commands wake (median of 20 runs
each, on one hand-made session whose daemon.pid names a live `sleep`):

  wait wake-up    from the start of a session's ending (result.toml, then the
                  retired state.toml, each written and renamed into place) to
                  the line `csa session wait` prints for it (target: 10 ms)
  logs -f wake-up from a line appended to output.log to the same line read from
                  `csa session logs --follow` (target: 50 ms)

the `list --host` figures of scripts/bench_remote.py (1,000 sessions on an sshd
on 127.0.0.1 over a warm connection, against a local list of the same, with the
remote account's shell started clean and as it is, and where the time goes;
alone: --remote-only), and the fleet figures of scripts/bench_fleet.py (`top` over 1,000 sessions,
`logs --follow --all`, `list` of 100,000 sessions; --no-100k skips the last),
and, after every list figure of every N (so that its mass deletions cannot
slow them down):

  clean         `csa session clean --older-than 1h` over N old settled sessions:
                a fresh fixture, settled by one `csa session list`, then every
                session locked, re-checked, renamed into the trash (with the
                fsyncs the protocol needs) and removed

Each figure is the median of several runs (every first run is also printed);
peak memory is the largest resident set size of any `csa` run (from wait4).
First runs create about 17,000 files at N = 10,000; on ext4 without a journal
they are much slower within about six minutes of a mass deletion (see
docs/benchmarks.md), so run the bench on a quiet filesystem. The numbers are printed as a table and,
with --json FILE, written as JSON for comparison between runs.
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_GENERATOR = REPO.parent / "shared" / "bench" / "make_sessions.py"


# A child's ru_maxrss also counts the pages of the process it was forked
# from, until its exec: a csa forked from this Python (tens of MB by the
# later stages, over 100 MB by the last) would read at least as large as
# the Python. So a measured command is forked by a small fresh Python
# (`-I -S`: 7 to 8.5 MB), which hands back its time, peak RSS and exit code
# on a pipe. A figure at that floor means "at most this much".
_LAUNCHER = r"""
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - start
os.write(int(sys.argv[1]), f"{elapsed} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}".encode())
"""


def run_timed(argv, env, stdout=subprocess.DEVNULL):
    """Run argv; return (seconds, peak RSS in KiB, exit code)."""
    report_r, report_w = os.pipe()
    with os.fdopen(report_r, "rb") as report:
        try:
            proc = subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report_w), *map(str, argv)],
                                  env=env, stdout=stdout, stderr=subprocess.PIPE, pass_fds=(report_w,))
        finally:
            os.close(report_w)
        words = report.read().split()
    code = int(words[2]) if proc.returncode == 0 and len(words) == 3 else proc.returncode or 1
    if code != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        sys.exit(f"{' '.join(map(str, argv[:4]))}... failed ({code}): {stderr}")
    return float(words[0]), int(words[1]), code


def generate(generator, n, root):
    out = subprocess.run(
        [sys.executable, str(generator), "--n", str(n), "--root", str(root)],
        check=True, capture_output=True, text=True,
    )
    state_home = root / "state"
    project = pathlib.Path(os.path.realpath(root / "project"))
    sessions = state_home / "cli-sub-agent" / str(project).lstrip("/") / "sessions"
    env = dict(os.environ)
    env.pop("RUST_LOG", None)
    env.update(HOME=str(root / "home"), XDG_STATE_HOME=str(state_home),
               XDG_CACHE_HOME=str(root / "home" / ".cache"))
    return env, project, sessions, out.stderr


def state_files(sessions):
    return sorted(str(p) for p in sessions.glob("*/state.toml"))


def bench_n(csa, generator, n, runs, workdir):
    first, peak = [], 0
    for run in range(runs):
        # A fresh folder per run: deleting the previous fixture right before
        # would make the filesystem's inode allocator, not csa, the bottleneck.
        root = workdir / f"n{n}-run{run}"
        env, project, sessions, _ = generate(generator, n, root)
        subprocess.run(["sync"], check=True)
        # Warm the page cache the same way for every measurement.
        subprocess.run(["cat", *state_files(sessions)], stdout=subprocess.DEVNULL, check=True)
        secs, rss, _ = run_timed([csa, "session", "list", "--cd", str(project)], env)
        first.append(secs)
        peak = max(peak, rss)
    # The fixture from the last first-run is now fully reconciled: steady state.
    # Files written less than 2 s ago are never cached (timestamp granularity),
    # so let them settle, then one list fills the row cache.
    time.sleep(2.5)
    files = state_files(sessions)
    list_cmd = [csa, "session", "list", "--cd", str(project)]
    cache = pathlib.Path(env["XDG_CACHE_HOME"]) / "cli-sub-agent"
    floor, steady, uncached = [], [], []
    for _ in range(max(runs, 5)):
        floor.append(run_timed(["cat", *files], env)[0])
        shutil.rmtree(cache, ignore_errors=True)
        secs, rss, _ = run_timed(list_cmd, env)  # no cache: reads every file
        uncached.append(secs)
        peak = max(peak, rss)
        secs, rss, _ = run_timed(list_cmd, env)  # cache written by the run before
        steady.append(secs)
        peak = max(peak, rss)
    check_reconciled(sessions, n)
    tree_steady, tree_flat, tree_peak = bench_tree(csa, env, project, sessions, runs)
    return {
        "n": n,
        "floor_cat_ms": statistics.median(floor) * 1000,
        "steady_ms": statistics.median(steady) * 1000,
        "steady_uncached_ms": statistics.median(uncached) * 1000,
        "first_run_ms": statistics.median(first) * 1000,
        "first_run_each_ms": [round(secs * 1000, 1) for secs in first],
        "peak_rss_mb": peak / 1024,
        "tree_steady_ms": tree_steady * 1000,
        "tree_fixture_list_steady_ms": tree_flat * 1000,
        "tree_peak_rss_mb": tree_peak / 1024,
    }


def bench_kill(csa, workdir, runs):
    """Time `csa session kill --grace 1` on a cooperative command and on one
    that ignores SIGTERM (issue 13 targets: under 50 ms and under grace +
    0.3 s). Each run starts a fresh session and waits until its command runs."""
    root = workdir / "kill"
    project = root / "project"
    project.mkdir(parents=True)
    env = dict(os.environ)
    env.pop("RUST_LOG", None)
    for key in [k for k in env if k.startswith("CSA_")]:
        env.pop(key)
    env.update(HOME=str(root / "home"), XDG_STATE_HOME=str(root / "state"),
               XDG_CACHE_HOME=str(root / "cache"))
    sessions = root / "state" / "cli-sub-agent" / str(project.resolve()).lstrip("/") / "sessions"
    commands = {
        "cooperative": ["sleep", "300"],
        "term_ignoring": ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
    }
    timings = {}
    for name, cmd in commands.items():
        times = []
        for _ in range(max(runs, 5)):
            out = subprocess.run([csa, "run", "--tool", "bench", "--cd", str(project), "--", *cmd],
                                 env=env, capture_output=True, text=True, check=True)
            sid = out.stdout.strip()
            deadline = time.monotonic() + 10
            while not (sessions / sid / "cmd.pid").is_file() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)  # let the command install its trap
            secs, _, _ = run_timed([csa, "session", "kill", sid, "--grace", "1", "--cd", str(project)], env)
            times.append(secs)
        timings[name] = times
    return {
        "kill_cooperative_ms": statistics.median(timings["cooperative"]) * 1000,
        "kill_term_ignoring_ms": statistics.median(timings["term_ignoring"]) * 1000,
        "kill_cooperative_each_ms": [round(t * 1000, 1) for t in timings["cooperative"]],
        "kill_term_ignoring_each_ms": [round(t * 1000, 1) for t in timings["term_ignoring"]],
    }


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
WAKEUP_RUNS = 20


def new_ulid():
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def start_time_ticks(pid):
    """Field 22 of /proc/<pid>/stat (after the parenthesised command name)."""
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[19])


def replace_file(path, text):
    """Write text to a temp file in the same folder and rename it onto path."""
    temp = path.with_name(f".bench-{os.getpid()}-{path.name}")
    temp.write_text(text)
    os.rename(temp, path)


STATE = """meta_session_id = "{id}"
project_path = "{project}"
created_at = "{now}"
last_accessed = "{now}"
phase = "{phase}"

[tools.bench]
last_action_summary = ""
last_exit_code = 0
updated_at = "{now}"
"""

RESULT = """status = "success"
exit_code = 0
summary = "done"
tool = "bench"
started_at = "{now}"
completed_at = "{now}"
"""


def live_session(sessions, project, daemon):
    """An active session whose daemon.pid names the live process `daemon`."""
    sid = new_ulid()
    folder = sessions / sid
    folder.mkdir(parents=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (folder / "state.toml").write_text(STATE.format(id=sid, project=project, now=now, phase="active"))
    (folder / "daemon.pid").write_text(f"{daemon.pid} {start_time_ticks(daemon.pid)}\n")
    return sid, folder, now


def end_session(folder, sid, project, now):
    """End it as a daemon does: the result, then the retired state."""
    replace_file(folder / "result.toml", RESULT.format(now=now))
    replace_file(folder / "state.toml", STATE.format(id=sid, project=project, now=now, phase="retired"))


def watching(pid, timeout=5.0):
    """Wait until process pid holds an inotify descriptor (its watches are set)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            links = [os.readlink(f) for f in pathlib.Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            links = []
        if "anon_inode:inotify" in links:
            time.sleep(0.05)  # and its first check is done
            return
        time.sleep(0.005)
    time.sleep(0.2)


def bench_wakeups(csa, workdir, runs=WAKEUP_RUNS):
    """Median wake-up lags of `session wait` and `session logs -f`, in ms."""
    root = workdir / "wakeup"
    project = pathlib.Path(os.path.realpath(root / "project"))
    project.mkdir(parents=True)
    state_home = root / "state"
    sessions = state_home / "cli-sub-agent" / str(project).lstrip("/") / "sessions"
    env = dict(os.environ)
    env.pop("RUST_LOG", None)
    env.update(HOME=str(root), XDG_STATE_HOME=str(state_home), XDG_CACHE_HOME=str(root / "cache"))
    daemon = subprocess.Popen(["sleep", "3600"])
    try:
        wait_lags = []
        for _ in range(runs):
            sid, folder, now = live_session(sessions, project, daemon)
            waiter = subprocess.Popen([csa, "session", "wait", sid, "--cd", str(project)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            watching(waiter.pid)
            start = time.perf_counter()
            end_session(folder, sid, project, now)
            line = waiter.stdout.readline()
            wait_lags.append((time.perf_counter() - start) * 1000)
            if waiter.wait() != 0 or not line.startswith(sid.encode()):
                sys.exit(f"bench: wait ended badly: {line!r} {waiter.stderr.read()!r}")

        sid, folder, now = live_session(sessions, project, daemon)
        log = folder / "output.log"
        log.write_text("")
        follower = subprocess.Popen([csa, "session", "logs", "-f", sid, "--cd", str(project)],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        watching(follower.pid)
        follow_lags = []
        with open(log, "ab", buffering=0) as out:
            for i in range(runs):
                line = f"line {i}\n".encode()
                start = time.perf_counter()
                out.write(line)
                got = follower.stdout.readline()
                follow_lags.append((time.perf_counter() - start) * 1000)
                if got != line:
                    sys.exit(f"bench: logs -f printed {got!r}, not {line!r}")
                time.sleep(0.01)
        end_session(folder, sid, project, now)
        if follower.wait(timeout=10) != 0:
            sys.exit(f"bench: logs -f ended badly: {follower.stderr.read()!r}")
    finally:
        daemon.kill()
        daemon.wait()
    return {
        "runs": runs,
        "wait_wakeup_ms": statistics.median(wait_lags),
        "wait_wakeup_max_ms": max(wait_lags),
        "logs_follow_wakeup_ms": statistics.median(follow_lags),
        "logs_follow_wakeup_max_ms": max(follow_lags),
    }


def link_into_tree(sessions):
    """Give every session but the oldest a parent: session i (in id order,
    which is creation order) is a child of session (i - 1) // 4."""
    dirs = sorted(d for d in sessions.iterdir() if d.is_dir())
    for i, d in enumerate(dirs[1:], start=1):
        state = d / "state.toml"
        text = state.read_text()
        parent = dirs[(i - 1) // 4].name
        linked = text.replace("[genealogy]\n", f'[genealogy]\nparent_session_id = "{parent}"\n', 1)
        if linked == text:
            sys.exit(f"bench: no [genealogy] table in {state}")
        state.write_text(linked)


def bench_tree(csa, env, project, sessions, runs):
    """Steady-state `list --tree` (and `list`) on the fixture made a tree.
    Returns the medians in seconds and the peak RSS in KiB."""
    link_into_tree(sessions)
    time.sleep(2.5)  # let the rewritten files settle, so that they are cached
    list_cmd = [csa, "session", "list", "--cd", str(project)]
    tree_cmd = list_cmd + ["--tree"]
    run_timed(tree_cmd, env)  # fills the row cache again
    tree, flat, peak = [], [], 0
    for _ in range(max(runs, 5)):
        secs, rss, _ = run_timed(tree_cmd, env)
        tree.append(secs)
        peak = max(peak, rss)
        secs, rss, _ = run_timed(list_cmd, env)
        flat.append(secs)
        peak = max(peak, rss)
    # Checked last: a child's peak RSS counts this process's pages from
    # before its exec, and parsing 10,000 rows here makes this process big.
    out = subprocess.run(tree_cmd + ["--json"], env=env, check=True, capture_output=True, text=True)
    if max(row["tree_depth"] for row in json.loads(out.stdout)) < 2:
        sys.exit("bench: list --tree drew no tree")
    return statistics.median(tree), statistics.median(flat), peak
def bench_clean(csa, generator, n, runs, workdir):
    """`clean` over n old settled sessions, each run on a fresh fixture."""
    each, peak = [], 0
    for run in range(runs):
        root = workdir / f"clean-n{n}-run{run}"
        env, project, sessions, _ = generate(generator, n, root)
        # Settle every session first (synthetic failures, retirements).
        run_timed([csa, "session", "list", "--cd", str(project)], env)
        subprocess.run(["sync"], check=True)
        subprocess.run(["cat", *state_files(sessions)], stdout=subprocess.DEVNULL, check=True)
        clean = [csa, "session", "clean", "--cd", str(project), "--older-than", "1h"]
        secs, rss, _ = run_timed(clean, env)
        each.append(secs)
        peak = max(peak, rss)
        left = [d.name for d in sessions.iterdir() if not d.name.startswith(".") and d.is_dir()]
        trash_dir = sessions / ".trash"
        # Sessions wait in .trash/<c>/ (32 folders, which stay); none may be left.
        trash = [e for shard in (trash_dir.iterdir() if trash_dir.is_dir() else [])
                 for e in (shard.iterdir() if shard.is_dir() else [shard])]
        if left or trash:
            sys.exit(f"bench: clean left {len(left)} sessions and {len(trash)} trash entries of {n}")
    return {
        "clean_ms": statistics.median(each) * 1000,
        "clean_each_ms": [round(secs * 1000, 1) for secs in each],
        "clean_peak_rss_mb": peak / 1024,
    }


def check_reconciled(sessions, n):
    """After a list, every session must be retired with exactly one result."""
    missing = [d.name for d in sessions.iterdir()
               if d.is_dir() and not (d / "result.toml").is_file()]
    if missing:
        sys.exit(f"bench: {len(missing)} of {n} sessions have no result.toml after list, e.g. {missing[0]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, action="append", help="session count (repeatable; default 1000 and 10000)")
    ap.add_argument("--runs", type=int, default=5, help="runs per figure (median is reported)")
    ap.add_argument("--csa", default=str(REPO / "target" / "release" / "csa"))
    ap.add_argument("--generator", default=os.environ.get("CSA_MAKE_SESSIONS", str(DEFAULT_GENERATOR)))
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--no-100k", action="store_true", help="skip the list of 100,000 sessions")
    ap.add_argument("--remote-only", action="store_true",
                    help="only the `list --host` figure (scripts/bench_remote.py)")
    args = ap.parse_args()
    generator = pathlib.Path(args.generator)
    if not generator.is_file():
        sys.exit(f"bench: session generator not found at {generator}; set CSA_MAKE_SESSIONS")
    if not pathlib.Path(args.csa).is_file():
        sys.exit(f"bench: {args.csa} not found; run `cargo build --release -p cli-sub-agent`")
    sizes = args.n or [1000, 10000]
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="csa-bench-"))
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import bench_remote
    if args.remote_only:
        try:
            remote = bench_remote.run(sys.modules[__name__], args.csa, generator, workdir, args.runs)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        bench_remote.report(remote)
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps({"remote": remote}, indent=2) + "\n")
        return
    try:
        rows = [bench_n(args.csa, generator, n, args.runs, workdir) for n in sizes]
        kill = bench_kill(args.csa, workdir, args.runs)
        wakeup = bench_wakeups(args.csa, workdir)
        import bench_fleet
        fleet = bench_fleet.run(sys.modules[__name__], args.csa, generator, workdir,
                                WAKEUP_RUNS, with_100k=not args.no_100k)
        remote = bench_remote.run(sys.modules[__name__], args.csa, generator, workdir, args.runs)
        for r in rows:
            r.update(bench_clean(args.csa, generator, r["n"], args.runs, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'N':>7} {'cat floor':>10} {'steady':>10} {'ratio':>6} {'no cache':>10} {'ratio':>6} "
          f"{'first run':>10} {'peak RSS':>9} {'clean':>10}")
    for r in rows:
        ratio = r["steady_ms"] / r["floor_cat_ms"]
        cold = r["steady_uncached_ms"] / r["floor_cat_ms"]
        r["steady_over_floor"] = ratio
        r["uncached_over_floor"] = cold
        print(f"{r['n']:>7} {r['floor_cat_ms']:>8.1f}ms {r['steady_ms']:>8.1f}ms {ratio:>5.2f}x "
              f"{r['steady_uncached_ms']:>8.1f}ms {cold:>5.2f}x "
              f"{r['first_run_ms']:>8.1f}ms {r['peak_rss_mb']:>7.1f}MB {r['clean_ms']:>8.1f}ms")
    for r in rows:
        each = ", ".join(f"{ms:.0f}" for ms in r["first_run_each_ms"])
        print(f"first runs at N={r['n']} (ms, in order): {each}")
    for r in rows:
        each = ", ".join(f"{ms:.0f}" for ms in r["clean_each_ms"])
        print(f"clean runs at N={r['n']} (ms, in order): {each}")
    print(f"kill --grace 1: cooperative {kill['kill_cooperative_ms']:.1f} ms (target < 50 ms), "
          f"ignoring SIGTERM {kill['kill_term_ignoring_ms']:.1f} ms (target < 1300 ms)")
    print(f"wake-up after the write (median of {wakeup['runs']}): "
          f"wait {wakeup['wait_wakeup_ms']:.2f}ms (max {wakeup['wait_wakeup_max_ms']:.2f}ms, target <= 10ms), "
          f"logs -f {wakeup['logs_follow_wakeup_ms']:.2f}ms "
          f"(max {wakeup['logs_follow_wakeup_max_ms']:.2f}ms, target <= 50ms)")
    print(f"{'N':>7} {'list --tree':>12} {'ratio':>6} {'list':>10} {'ratio':>6} {'peak RSS':>9}   (tree fixture, steady)")
    for r in rows:
        r["tree_steady_over_floor"] = r["tree_steady_ms"] / r["floor_cat_ms"]
        r["tree_fixture_list_over_floor"] = r["tree_fixture_list_steady_ms"] / r["floor_cat_ms"]
        print(f"{r['n']:>7} {r['tree_steady_ms']:>10.1f}ms {r['tree_steady_over_floor']:>5.2f}x "
              f"{r['tree_fixture_list_steady_ms']:>8.1f}ms {r['tree_fixture_list_over_floor']:>5.2f}x "
              f"{r['tree_peak_rss_mb']:>7.1f}MB")
    bench_remote.report(remote)
    if args.json:
        report = {"list": rows, "kill": kill, "wakeup": wakeup, "fleet": fleet, "remote": remote}
        pathlib.Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
