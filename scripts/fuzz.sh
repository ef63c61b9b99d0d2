#!/usr/bin/env bash
# The coverage-guided fuzz targets (fuzz/, cargo-fuzz + libFuzzer on the nightly toolchain),
# each run for FUZZ_SECONDS (default 30) from a copy of its committed seeds; in CI a fixed
# number of inputs from a fixed seed instead (below).
#
#   scripts/fuzz.sh                 every target (make fuzz; make test runs it)
#   scripts/fuzz.sh pipeline wire   some targets
#   FUZZ_SECONDS=3600 FUZZ_CORPUS=target/fuzz/keep scripts/fuzz.sh pipeline
#
# Installs what it needs when missing: the nightly toolchain (rustup) and cargo-fuzz
# (cargo install --locked, pinned version). Nothing is written into the checkout outside
# /target and fuzz/target (both ignored): the corpus a run grows lives in
# target/fuzz/corpus/TARGET (fresh from fuzz/corpus/TARGET each run unless FUZZ_CORPUS names
# a directory to keep it in), crash inputs in target/fuzz/artifacts/TARGET, libFuzzer's
# output in target/fuzz/logs/TARGET.log. A crash fails the run and prints how to reproduce
# it. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
CARGO_FUZZ_VERSION=0.13.2
TARGETS=(wire pipeline iptables config api)
# Peak memory of a target (libFuzzer's -rss_limit_mb): over it is a failure.
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}

if [ $# -gt 0 ]; then
    TARGETS=("$@")
fi

if ! rustup toolchain list | grep -q "^$TOOLCHAIN"; then
    echo "fuzz: installing the $TOOLCHAIN toolchain"
    rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

# Release with debug assertions and overflow checks (-a); no sanitizer: the code under test
# is safe Rust (unsafe lives in bindings/ and the DPDK port, not built here), so ASan would
# only slow the search down.
FLAGS=(-O -a -s none)
cargo "+$TOOLCHAIN" fuzz build "${FLAGS[@]}"
triple=$(rustc "+$TOOLCHAIN" -vV | sed -n 's/^host: //p')
bin=fuzz/target/$triple/release

status=0
for t in "${TARGETS[@]}"; do
    [ -x "$bin/$t" ] || { echo "fuzz: no target $t (have: wire pipeline iptables config api)"; exit 2; }
    corpus=${FUZZ_CORPUS:+$FUZZ_CORPUS/$t}
    if [ -z "$corpus" ]; then
        corpus=target/fuzz/corpus/$t
        rm -rf "$corpus"
    fi
    rm -rf "target/fuzz/artifacts/$t"
    mkdir -p "$corpus" "target/fuzz/artifacts/$t" target/fuzz/logs
    if [ -d "fuzz/corpus/$t" ]; then
        cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
    fi
    # In CI (.ci/run sets CI) a run is a fixed number of inputs drawn from one fixed seed,
    # so it repeats exactly, as proptest's runs do there: a time budget explores more or
    # less with the machine's load and could find something new by chance, failing a
    # submission at random. Locally a run is FUZZ_SECONDS long and draws afresh; long runs
    # find what CI's short ones do not (fuzz/README.md).
    budget=(-max_total_time="$FUZZ_SECONDS")
    if [ -n "${CI:-}" ]; then
        case $t in
            wire) runs=2000000 ;;
            pipeline) runs=40000 ;;
            iptables) runs=30000 ;;
            config) runs=500000 ;;
            *) runs=150000 ;;
        esac
        budget=(-seed=20261202 -runs="$runs")
    fi
    dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
    log=target/fuzz/logs/$t.log
    echo "fuzz: $t: ${budget[*]} (corpus $corpus, log $log)"
    if "$bin/$t" "$corpus" "${dict[@]}" "${budget[@]}" \
        -rss_limit_mb="$RSS_LIMIT_MB" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="target/fuzz/artifacts/$t/" >"$log" 2>&1; then
        grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$log" |
            tr '\n' ' ' | sed "s/^/fuzz: $t ok: /"
        echo "corpus $(find "$corpus" -type f | wc -l) files"
    else
        status=1
        echo "fuzz: $t FAILED; the end of $log:"
        tail -n 40 "$log"
        for a in target/fuzz/artifacts/"$t"/*; do
            [ -f "$a" ] || continue
            echo "fuzz: reproduce with: $bin/$t $a   (input, base64: $(base64 -w0 "$a" | head -c 4000))"
        done
    fi
done
exit $status
