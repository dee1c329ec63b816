#!/usr/bin/env bash
# Run every cargo-fuzz target for SECS seconds (default 10) from its seed corpus.
# Installs the nightly toolchain and cargo-fuzz when they are missing. Fails on
# any crash: every bad input must become a typed error, never a panic.
set -euo pipefail
secs="${1:-10}"
cd "$(dirname "$0")/.."

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^csa-fuzz$')
cargo +nightly fuzz build --fuzz-dir fuzz
for target in $targets; do
    corpus=$(mktemp -d)
    cp -r "fuzz/seeds/$target/." "$corpus/"
    echo "fuzz: $target for ${secs}s"
    log=$(mktemp)
    if ! cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$corpus" -- \
        -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
        grep -E "panicked|assert" "$log" >&2 || true
        tail -n 40 "$log" >&2
        echo "fuzz: $target crashed; the input is under fuzz/artifacts/$target" >&2
        rm -rf "$corpus" "$log"
        exit 1
    fi
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
    rm -rf "$corpus" "$log"
done
echo "fuzz: every target ran ${secs}s without a crash"
