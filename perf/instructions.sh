#!/usr/bin/env bash
# Instructions per packet of the worker in suite scenario S1 (established flows, one
# worker, DPDK net_ring ports; SCENARIO=S1v6 for its IPv6 row), or with SCENARIO=S2 (or
# S2v6) per new connection (S2's main run on
# a virtual clock of 1.5 M connections/s, so that the same connections expire whatever
# callgrind's speed), counted by callgrind. Unlike a rate, the count does not
# move with the machine's load: the same binary gives the same figure, so two builds can
# be compared on a noisy 2-core machine. Only the measured stage is counted (the
# generator and the set-up are left out by --toggle-collect).
#
#   [SCENARIO=S1v6|S2|S2v6|S3:N:last|S3:N:spread] perf/instructions.sh [BENCH_BINARY ...]
#                                  (default target/release/nfdp-bench, scenario S1)
#
# Needs valgrind (apt-get install valgrind) and a build with
# `cargo build --release -p perf --features dpdk`. About a minute per binary.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ $# -gt 0 ] || set -- target/release/nfdp-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scenario=${SCENARIO:-S1}
# SCENARIO=S3:N:last or S3:N:spread counts one row of S3 (N rules, no conntrack).
row_pattern='nfdp, 1 worker'
if [[ $scenario == S3:* ]]; then
    export NFDP_BENCH_S3_ROWS=${scenario#S3:}
    scenario=S3
    row_pattern='[0-9] rules, '
fi
if [ "$scenario" = S2 ] || [ "$scenario" = S2v6 ]; then
    export NFDP_BENCH_CLOCK_STEP_NS=21333
fi
for bin in "$@"; do
    valgrind --tool=callgrind --toggle-collect='perf::suite::harness::Lane::measure*' \
        --callgrind-out-file="$work/cg.out" \
        "$bin" suite --quick --workers 1 --only "$scenario" --repeats 1 --no-occupancy \
        >"$work/suite.txt" 2>/dev/null
    # The worker's measured packets: the "packets" column of S1's row.
    packets=$(awk -v pat="$row_pattern" '$0 ~ pat {print $(NF-1)}' "$work/suite.txt")
    # Worker::poll's inclusive count (its largest line: inlining splits it by file).
    poll=$(callgrind_annotate --inclusive=yes "$work/cg.out" 2>/dev/null |
        awk '/Worker::poll/ {gsub(",", "", $1); if ($1 + 0 > max) max = $1 + 0} END {print max + 0}')
    awk -v b="$bin" -v i="$poll" -v p="$packets" \
        'BEGIN {printf "%s: %d packets, %d instructions, %.0f instructions per packet\n", b, p, i, (p > 0 ? i / p : 0)}'
done
