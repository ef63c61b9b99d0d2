#!/usr/bin/env bash
# The profile of the profile-guided release build (PGO). The packet path is wide and flat
# (no function above a few percent of a packet), so what the compiler guesses about it -
# which calls to inline, which branches are cold, how to lay the code out - decides much
# of its cost: with the profile, S1 costs ~9% fewer instructions per packet and S2 ~15%
# fewer per new connection (perf/README.md, "PGO").
#
#   perf/pgo.sh [DIR]   (default target/pgo)
#
# Makes DIR/nfdp.profdata current: builds nfdp-bench instrumented (-Cprofile-generate, its
# own target dir DIR/gen, incremental) and, when that binary is newer than the profile,
# runs the training workload - the suite's S1, S1v6, S2, S2v6, S3, S6 and S8 (established
# flows, new connections, rule scaling, a SYN flood mixed into S1, TCP connections) - and
# merges what it wrote into the profile. scripts/release-build.sh builds every shipped
# binary with it; nothing needs this script directly.
#
# Exit 0: the profile is current. Exit 2: no profile could be made here (no llvm-profdata
# of this toolchain and rustup could not add it, no profiler runtime, or the training run
# failed): the caller builds without one and says so. Anything else is an error. Needs
# DPDK (scripts/setup.sh), as nfdp-bench does.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/pgo}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
profdata="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    # The profile's format is the toolchain's LLVM's: only its own llvm-profdata reads it
    # (Debian's llvm packages are older).
    rustup component add llvm-tools >&2 || true
    if [ ! -x "$profdata" ]; then
        echo "pgo.sh: no llvm-profdata for this toolchain (rustup component add llvm-tools failed)" >&2
        exit 2
    fi
fi

# A fixed path in the flags, so that the instrumented build stays incremental (the
# training run writes where LLVM_PROFILE_FILE says). A toolchain without the profiler
# runtime fails here; so does code that does not compile, which the caller's own build
# then reports.
if ! RUSTFLAGS="-Cprofile-generate=$dir/raw-build" CARGO_TARGET_DIR="$dir/gen" \
    "${CARGO:-cargo}" build --release -p perf --features dpdk --bin nfdp-bench; then
    echo "pgo.sh: the instrumented build failed" >&2
    exit 2
fi
bench="$dir/gen/release/nfdp-bench"
if [ -f "$dir/nfdp.profdata" ] && [ ! "$bench" -nt "$dir/nfdp.profdata" ]; then
    echo "pgo.sh: $dir/nfdp.profdata is current (nfdp-bench unchanged since)" >&2
    exit 0
fi
echo "pgo.sh: training run (suite S1, S1v6, S2, S2v6, S3, S6, S8)" >&2
raw="$dir/raw"
rm -rf "$raw" "$dir/raw-build"
mkdir -p "$raw"
if ! LLVM_PROFILE_FILE="$raw/nfdp-bench-%p-%m.profraw" "$bench" suite --quick --workers 1 \
    --only S1,S1v6,S2,S2v6,S3,S6,S8 --repeats 1 >"$dir/training.txt" 2>&1; then
    echo "pgo.sh: the training run failed (its output: $dir/training.txt)" >&2
    exit 2
fi
"$profdata" merge -o "$dir/nfdp.profdata.new" "$raw"
mv "$dir/nfdp.profdata.new" "$dir/nfdp.profdata"
rm -rf "$raw"
echo "pgo.sh: $dir/nfdp.profdata made" >&2
