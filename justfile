# csa developer commands. `just pre-commit` is the gate CI runs.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Everything CI checks: formatting, lints, tests, file size, architecture rules.
pre-commit: fmt-check clippy test line-limit arch-check cross-check fuzz-check

# Check formatting.
fmt-check:
    cargo fmt --all --check

# Lint every target; warnings are errors.
clippy:
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Run every test (nextest when installed, else cargo test).
test:
    if cargo nextest --version >/dev/null 2>&1; then \
        cargo nextest run --workspace --locked --no-fail-fast; \
    else \
        cargo test --workspace --locked --no-fail-fast; \
    fi

# No source file may exceed 800 lines: split by concept, not by count.
line-limit:
    python3 scripts/line_limit.py 800

# The architecture rules a script can check: no import circle between the
# modules of a crate, and the binary at most 30% of the product's lines.
arch-check:
    python3 scripts/arch_check.py

# Check that the code compiles for macOS and Windows, with the same lints,
# warnings as errors (code used only on Unix must say so there, and code used
# only elsewhere must follow the project's rules too, not rot unnoticed).
cross-check:
    rustup target add x86_64-apple-darwin x86_64-pc-windows-msvc >/dev/null 2>&1 || true
    cargo clippy --workspace --all-targets --locked --target x86_64-apple-darwin -- -D warnings
    cargo clippy --workspace --all-targets --locked --target x86_64-pc-windows-msvc -- -D warnings

# Install csa from this checkout.
install:
    cargo install --locked --path crates/cli-sub-agent

# Benchmarks: `csa session list` against generated sessions (see docs/benchmarks.md).
bench *ARGS:
    cargo build --release --locked -p cli-sub-agent
    python3 scripts/bench.py {{ARGS}}

# The CI share of fuzzing: every target for 5 s.
fuzz-check: (fuzz-smoke "5")

# Run every fuzz target briefly (SECS each; needs nightly + cargo-fuzz, installed if missing).
fuzz-smoke SECS="10":
    bash scripts/fuzz_smoke.sh {{SECS}}

# Mutation testing of the files that decide liveness, signals, reconciles and
# removals (cargo-mutants with nextest, one job, each mutant against its own
# crate's tests; installed if missing). Not part of pre-commit: see README.
# FILES default to every guard file; ARGS after `--` go to cargo-mutants.
mutants *ARGS:
    command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
    python3 scripts/mutants.py {{ARGS}}

# The same, only for the lines a branch changes in those files (against BASE).
mutants-diff BASE="main":
    command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
    mkdir -p target/mutants
    git diff {{BASE}} -- crates > target/mutants/branch.diff
    python3 scripts/mutants.py -- --in-diff target/mutants/branch.diff
