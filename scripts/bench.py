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


def run_timed(argv, env, stdout=subprocess.DEVNULL):
    """Run argv; return (seconds, peak RSS in KiB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])}... failed ({proc.returncode}): {stderr.strip()}")
    return elapsed, usage.ru_maxrss, proc.returncode


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
    return {
        "n": n,
        "floor_cat_ms": statistics.median(floor) * 1000,
        "steady_ms": statistics.median(steady) * 1000,
        "steady_uncached_ms": statistics.median(uncached) * 1000,
        "first_run_ms": statistics.median(first) * 1000,
        "first_run_each_ms": [round(secs * 1000, 1) for secs in first],
        "peak_rss_mb": peak / 1024,
    }


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
    args = ap.parse_args()
    generator = pathlib.Path(args.generator)
    if not generator.is_file():
        sys.exit(f"bench: session generator not found at {generator}; set CSA_MAKE_SESSIONS")
    if not pathlib.Path(args.csa).is_file():
        sys.exit(f"bench: {args.csa} not found; run `cargo build --release -p cli-sub-agent`")
    sizes = args.n or [1000, 10000]
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="csa-bench-"))
    try:
        rows = [bench_n(args.csa, generator, n, args.runs, workdir) for n in sizes]
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
        each = ", ".join(f"{ms:.0f}" for ms in r["clean_each_ms"])
        print(f"clean runs at N={r['n']} (ms, in order): {each}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
