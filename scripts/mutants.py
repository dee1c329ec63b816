#!/usr/bin/env python3
"""Mutation testing of the decisions that protect users (`just mutants`).

Runs cargo-mutants (configured by `.cargo/mutants.toml`: nextest, each
mutant tested by its own crate's tests) on each guard file in turn, one job
at a time, and prints a table of caught / missed / unviable / timeout per
file. Exits 1 if any mutant was missed. (A mutant that times out made some
test hang, for example a stop that waits for ever once no signal is sent:
caught, though slowly.)

cargo-mutants mutates source text and does not evaluate `cfg`: code built
only on other platforms (the macOS and Windows `platform` modules) would be
mutated, never compiled, and reported missed. Such items are found here and
excluded by line, so that a missed mutant always means a test is missing.
Mutants that cannot change behaviour are listed, with a reason each, in
`.cargo/mutants.toml`.

Usage: scripts/mutants.py [FILE...] [-- CARGO-MUTANTS-ARGS...]
  FILE defaults to every guard file; e.g. `-- --in-diff changes.diff`.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The files that decide whether a process is alive, whether and how to
# signal it, how `kill` stops a session and how a run ended, and what a
# reconcile or a removal may do, each with the tests
# that must catch its mutants: a pure decision by the unit tests beside it
# (`--lib`, which also builds only those), the rest by every test of its
# crate (real processes and files in `tests/it`).
GUARD_FILES = {
    "crates/csa-process/src/verdict.rs": ["--cargo-arg=--lib"],
    "crates/csa-process/src/evidence.rs": [],
    "crates/csa-process/src/record.rs": [],
    "crates/csa-process/src/signal/mod.rs": [],
    "crates/csa-process/src/signal/command.rs": [],
    "crates/csa-process/src/stop.rs": [],
    "crates/csa-process/src/kill/decision.rs": ["--cargo-arg=--lib"],
    "crates/csa-process/src/daemon/ending.rs": ["--cargo-arg=--lib"],
    "crates/csa-session/src/reconcile/decision.rs": ["--cargo-arg=--lib"],
    "crates/csa-session/src/remove/decision.rs": ["--cargo-arg=--lib"],
}

# What the test host is (cargo-mutants runs on Linux in CI and here).
HOST = {"unix": True, "windows": False, "target_os": "linux"}

OUTCOMES = ["caught", "missed", "unviable", "timeout"]


def cfg_holds(expr: str) -> bool:
    """Evaluate a `cfg(...)` predicate (all/any/not, unix, windows,
    target_os = "...") for the host; anything else counts as true, so that
    code is never excluded by a predicate this does not understand."""
    expr = expr.strip()
    for combinator in ("all", "any", "not"):
        if expr.startswith(combinator + "(") and expr.endswith(")"):
            args = split_args(expr[len(combinator) + 1 : -1])
            values = [cfg_holds(arg) for arg in args]
            if combinator == "all":
                return all(values)
            if combinator == "any":
                return any(values)
            return not values[0]
    if expr in ("unix", "windows"):
        return HOST[expr]
    found = re.fullmatch(r'target_os\s*=\s*"([^"]+)"', expr)
    if found:
        return found.group(1) == HOST["target_os"]
    return True


def split_args(text: str) -> list:
    args, depth, current = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            args.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current.strip():
        args.append(current)
    return args


def off_host_lines(path: Path) -> list:
    """The line numbers of items under a `#[cfg(...)]` that is false here."""
    lines = path.read_text().splitlines()
    excluded = []
    for number, line in enumerate(lines):
        found = re.fullmatch(r"\s*#\[cfg\((.*)\)\]\s*", line)
        if not found or cfg_holds(found.group(1)):
            continue
        # The item runs from the next line to its closing brace at the
        # same depth, or to the end of a one-line item.
        depth, end = 0, number + 1
        for end in range(number + 1, len(lines)):
            text = lines[end]
            depth += text.count("{") - text.count("}")
            if depth <= 0 and (text.rstrip().endswith(("}", ";"))):
                break
        excluded.extend(range(number + 2, end + 2))
    return excluded


def counts(out_dir: Path) -> dict:
    result = {}
    for outcome in OUTCOMES:
        listing = out_dir / "mutants.out" / f"{outcome}.txt"
        text = listing.read_text() if listing.exists() else ""
        result[outcome] = len([line for line in text.splitlines() if line.strip()])
    return result


def main(argv: list) -> int:
    files, extra = argv, []
    if "--" in argv:
        at = argv.index("--")
        files, extra = argv[:at], argv[at + 1 :]
    files = files or list(GUARD_FILES)
    rows, failed = [], False
    for file in files:
        command = ["cargo", "mutants", "--file", file] + GUARD_FILES.get(file, [])
        if "--in-place" not in extra:
            # One build and test at a time (`--in-place` implies it).
            command += ["--jobs", "1"]
        excluded = off_host_lines(ROOT / file)
        if excluded:
            pattern = "|".join(str(n) for n in excluded)
            command += ["--exclude-re", f"^{re.escape(file)}:({pattern}):"]
        name = Path(file).with_suffix("").as_posix().replace("crates/", "").replace("/src/", "-")
        out_dir = ROOT / "target" / "mutants" / name.replace("/", "-")
        out_dir.mkdir(parents=True, exist_ok=True)
        # A run that finds no mutant (`--in-diff`) writes no results: never
        # count an earlier run's.
        for old in ("mutants.out", "mutants.out.old"):
            shutil.rmtree(out_dir / old, ignore_errors=True)
        command += ["--output", str(out_dir)] + extra
        print("+", " ".join(command), file=sys.stderr, flush=True)
        status = subprocess.run(command, cwd=ROOT).returncode
        # 0: all caught; 2: some missed; 3: some timed out; 4: the
        # unmutated tree fails its tests (nothing was learned).
        if status not in (0, 2, 3):
            print(f"cargo mutants failed on {file} (exit {status})", file=sys.stderr)
            return 1
        found = counts(out_dir)
        failed |= found["missed"] > 0
        rows.append((file, found))
    print()
    print("| file | " + " | ".join(OUTCOMES) + " |")
    print("|---|" + "---|" * len(OUTCOMES))
    for file, found in rows:
        print(f"| {file} | " + " | ".join(str(found[o]) for o in OUTCOMES) + " |")
    if failed:
        print("\nmissed mutants are listed in target/mutants/*/mutants.out/missed.txt", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
