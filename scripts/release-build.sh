#!/usr/bin/env bash
# `cargo build --release ARGS...` for what ships and what is measured (nfdp, nfdpctl,
# nfdp-pktgen, nfdp-bench: the Makefile's build-dpdk, deb and bench, docker/build.sh):
# profile-guided, with the profile perf/pgo.sh keeps current in target/pgo.
#
#   scripts/release-build.sh -p control --bins --features dpdk
#
# NFDP_PGO=0 builds without the profile (a quicker build while iterating). Where PGO is
# not available (perf/pgo.sh exits 2: no llvm-profdata for this toolchain) it builds
# without, and says so. Every release build into target/release should come through here:
# cargo keeps one build per crate, and a build with other flags rebuilds them all.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
if [ "${NFDP_PGO:-1}" != 0 ]; then
    status=0
    bash perf/pgo.sh target/pgo || status=$?
    case $status in
    0) export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-Cprofile-use=$PWD/target/pgo/nfdp.profdata" ;;
    2) echo "release-build.sh: WARNING: PGO is not available here: building without a profile" >&2 ;;
    *) exit "$status" ;;
    esac
fi
exec "$cargo" build --release "$@"
