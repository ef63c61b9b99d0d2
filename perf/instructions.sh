#!/usr/bin/env bash
# Instructions per packet of the worker in suite scenario S1 (established flows, one
# worker, DPDK net_ring ports; SCENARIO=S1v6 for its IPv6 row), or with SCENARIO=S2 (or
# S2v6) per new connection, or with SCENARIO=S8 per TCP segment (S2's main run on
# a virtual clock of 1.5 M connections/s, so that the same connections expire whatever
# callgrind's speed), counted by callgrind. Unlike a rate, the count does not
# move with the machine's load: the same binary gives the same figure, so two builds can
# be compared on a noisy 2-core machine. Only the measured stage is counted (the
# generator and the set-up are left out by --toggle-collect).
#
# SCENARIO=S6 counts S6's windows of S1 alone and of S1 under the SYN flood apart (two
# runs) and prints the worker's instructions per S1 packet in each and their ratio: the
# established rate S6 keeps, by instructions rather than by a noisy clock.
#
#   [SCENARIO=S1v6|S2|S2v6|S3:N:last|S3:N:spread|S6|S8] perf/instructions.sh [BENCH_BINARY ...]
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
# The worker's instructions (Worker::poll's inclusive count: its largest line, inlining
# splits it by file) in callgrind output $1.
poll_count() {
    callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
        awk '/Worker::poll/ {gsub(",", "", $1); if ($1 + 0 > max) max = $1 + 0} END {print max + 0}'
}
if [ "$scenario" = S6 ]; then
    for bin in "$@"; do
        for window in calm flooded; do
            valgrind --tool=callgrind --toggle-collect="perf::suite::synflood::${window}_window" \
                --callgrind-out-file="$work/$window.out" \
                "$bin" suite --quick --workers 1 --only S6 --repeats 1 >"$work/$window.txt" 2>/dev/null
        done
        # S1's packets received in those windows: the rows' "received" column.
        received() { awk -v pat="$2" '$0 ~ pat {for (i = 2; i <= NF; i++) if ($i == "received") print $(i - 1)}' "$1"; }
        calm=$(poll_count "$work/calm.out")
        calm_packets=$(received "$work/calm.txt" 'S1 alone, between')
        flooded=$(poll_count "$work/flooded.out")
        flooded_packets=$(received "$work/flooded.txt" 'S1 under the flood')
        awk -v b="$bin" -v c="$calm" -v cp="$calm_packets" -v f="$flooded" -v fp="$flooded_packets" \
            'BEGIN {a = (cp > 0 ? c / cp : 0); u = (fp > 0 ? f / fp : 0);
                    printf "%s: S1 alone %.0f instructions per S1 packet (%d packets), under the flood %.0f (%d packets, the SYNs included): kept by instructions %.1f%%\n",
                        b, a, cp, u, fp, (u > 0 ? 100 * a / u : 0)}'
    done
    exit 0
fi
for bin in "$@"; do
    valgrind --tool=callgrind --toggle-collect='perf::suite::harness::Lane::measure*' \
        --callgrind-out-file="$work/cg.out" \
        "$bin" suite --quick --workers 1 --only "$scenario" --repeats 1 --no-occupancy \
        >"$work/suite.txt" 2>/dev/null
    # The worker's measured packets: the "packets" column of S1's row.
    packets=$(awk -v pat="$row_pattern" '$0 ~ pat {print $(NF-1)}' "$work/suite.txt")
    poll=$(poll_count "$work/cg.out")
    awk -v b="$bin" -v i="$poll" -v p="$packets" \
        'BEGIN {printf "%s: %d packets, %d instructions, %.0f instructions per packet\n", b, p, i, (p > 0 ? i / p : 0)}'
done
