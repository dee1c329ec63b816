#!/usr/bin/env python3
"""Fail when a Rust source file under crates/ (or fuzz/) is longer than the limit."""

import pathlib
import sys


def main() -> int:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 800
    root = pathlib.Path(__file__).resolve().parent.parent
    too_long = []
    for base in ("crates", "fuzz"):
        for path in sorted((root / base).rglob("*.rs")):
            if "target" in path.parts:
                continue
            lines = sum(1 for _ in path.open(encoding="utf-8"))
            if lines > limit:
                too_long.append((path.relative_to(root), lines))
    for path, lines in too_long:
        print(f"{path}: {lines} lines (limit {limit}); split it by concept", file=sys.stderr)
    if too_long:
        return 1
    print(f"line-limit: every Rust source file has at most {limit} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
