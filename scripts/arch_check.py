#!/usr/bin/env python3
"""The architecture rules a reader can check (docs/architecture.md):

1. No import circle between the modules of a crate: each top-level module
   (`src/foo.rs` or `src/foo/`) is a node, and `crate::bar` written in it is
   an edge foo -> bar. A strongly connected set of more than one module is a
   circle.
2. The binary (crates/cli-sub-agent) holds at most MAX_BINARY_SHARE of the
   product's non-test lines. Non-test lines: every line of `src/` outside
   test files (`tests.rs`, `*_tests.rs`, `tests/` folders inside src) and
   outside `#[cfg(test)]` modules; the test-support crate is not product.

Prints the graph's circles and the shares; exits 1 when a rule is broken.
"""

import re
import sys
from pathlib import Path

MAX_BINARY_SHARE = 0.30
BINARY = "cli-sub-agent"
NOT_PRODUCT = {"csa-test-support"}

CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUPED = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)
CFG_TEST = re.compile(r"#\[cfg\((?:all\()?test\b[^\]]*\]\s*(?:#\[[^\]]*\]\s*)*mod\s+\w+\s*\{")


def is_test_file(path: Path, src: Path) -> bool:
    rel = path.relative_to(src)
    return (
        path.name == "tests.rs"
        or path.name.endswith("_tests.rs")
        or "tests" in rel.parts[:-1]
    )


def strip_test_modules(text: str) -> str:
    """The text without its inline `#[cfg(test)] mod x { ... }` blocks."""
    out = []
    pos = 0
    for match in CFG_TEST.finditer(text):
        if match.start() < pos:
            continue
        depth = 1
        i = match.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        out.append(text[pos : match.start()])
        pos = i
    out.append(text[pos:])
    return "".join(out)


def without_comments(text: str) -> str:
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def module_of(path: Path, src: Path) -> str:
    rel = path.relative_to(src)
    return rel.parts[0].removesuffix(".rs")


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected sets of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    broken = False
    lines: dict[str, int] = {}
    for crate in sorted((root / "crates").iterdir()):
        src = crate / "src"
        if not src.is_dir():
            continue
        edges: dict[str, set[str]] = {}
        count = 0
        for path in sorted(src.rglob("*.rs")):
            if is_test_file(path, src):
                continue
            text = strip_test_modules(path.read_text())
            count += len(text.splitlines())
            code = without_comments(text)
            node = module_of(path, src)
            targets = set(CRATE_PATH.findall(code))
            for group in GROUPED.findall(code):
                targets.update(re.findall(r"(?:^|[,{\s])([a-z_][a-z0-9_]*)(?=\s*(?:::|,|}|$| as ))", group))
            targets.discard(node)
            targets.discard("self")
            edges.setdefault(node, set()).update(t for t in targets if t != node)
        modules = {module_of(p, src) for p in src.rglob("*.rs")}
        for node in edges:
            edges[node] &= modules
        for circle in circles(edges):
            broken = True
            print(f"{crate.name}: import circle between modules {', '.join(circle)}")
        if crate.name not in NOT_PRODUCT:
            lines[crate.name] = count
    total = sum(lines.values())
    for name, count in sorted(lines.items()):
        print(f"{name}: {count} non-test lines ({count / total:.1%})")
    share = lines.get(BINARY, 0) / total
    if share > MAX_BINARY_SHARE:
        broken = True
        print(f"the binary is {share:.1%} of the product, over {MAX_BINARY_SHARE:.0%}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
