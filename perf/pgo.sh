#!/usr/bin/env bash
# Profile-guided build of the data plane (PGO). The packet path is wide and flat (no
# function above a few percent of a packet), so what the compiler guesses about it -
# which calls to inline, which branches are cold, how to lay the code out - decides much
# of its cost. This builds nfdp-bench instrumented, runs the suite's S1, S2 and S6 (the
# established path, the NEW path, a SYN flood mixed into S1) as the training workload,
# and builds the daemon (nfdp, nfdpctl) and nfdp-bench again with that profile.
#
#   perf/pgo.sh [OUT]     (default target/pgo; binaries in OUT/release, the profile in
#                          OUT/nfdp.profdata)
#
# Needs llvm-profdata of the same toolchain (rustup component add llvm-tools; installed
# here the first time). Two release builds of the dependency tree with their own flags:
# about 12 minutes on 2 cores. Measured in perf/README.md ("PGO").
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/pgo}
mkdir -p "$out"
out=$(cd "$out" && pwd)
profdata="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    rustup component add llvm-tools >&2 ||
        { echo "pgo.sh: needs llvm-profdata: rustup component add llvm-tools" >&2; exit 1; }
fi
raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT

echo "pgo.sh: instrumented build ($out/gen)" >&2
RUSTFLAGS="-Cprofile-generate=$raw" CARGO_TARGET_DIR="$out/gen" \
    cargo build --release -p perf --features dpdk --bin nfdp-bench
# Build scripts ran instrumented too: only the training run's profile counts.
rm -rf "${raw:?}"/*
echo "pgo.sh: training run (suite S1, S2, S6)" >&2
"$out/gen/release/nfdp-bench" suite --quick --workers 1 --only S1,S2,S6 --repeats 1 >"$out/training.txt"
"$profdata" merge -o "$out/nfdp.profdata" "$raw"

echo "pgo.sh: optimised build ($out/release)" >&2
RUSTFLAGS="-Cprofile-use=$out/nfdp.profdata" CARGO_TARGET_DIR="$out" \
    cargo build --release -p perf -p control --features perf/dpdk,control/dpdk --bins
rm -rf "$out/gen"
echo "pgo.sh: done: $out/release/nfdp, $out/release/nfdpctl, $out/release/nfdp-bench" >&2
