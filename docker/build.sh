#!/usr/bin/env bash
# Builds the nfdp image from docker/Dockerfile with podman (preferred when present) or docker.
#
#   docker/build.sh [--offline] [--tag TAG]
#
# Default: the Dockerfile's own multi-stage build (the Rust and Debian images come from a
# registry). --offline, for machines without registry access: builds nfdp, nfdpctl and
# nfdp-pktgen here with cargo (the Rust toolchain on PATH, DPDK from scripts/setup.sh;
# profile-guided as every release build here, scripts/release-build.sh),
# makes the Debian 12 base with debootstrap (once; kept as localhost/nfdp-base:bookworm)
# and builds only the runtime stage, with the binaries copied in. Needs root for
# debootstrap. NFDP_DEBIAN_MIRROR overrides the mirror (default: deb.debian.org).
set -euo pipefail
cd "$(dirname "$0")/.."

tag=localhost/nfdp:latest
offline=0
while [ $# -gt 0 ]; do
  case "$1" in
    --offline) offline=1 ;;
    --tag) tag="$2"; shift ;;
    *) echo "usage: $0 [--offline] [--tag TAG]" >&2; exit 2 ;;
  esac
  shift
done

if command -v podman >/dev/null; then
  engine=podman
  # chroot isolation builds without a container runtime (runc/crun may be unusable here).
  build=(podman build --isolation chroot)
elif command -v docker >/dev/null; then
  engine=docker
  build=(docker build)
else
  echo "build.sh: neither podman nor docker found" >&2; exit 1
fi

if [ "$offline" = 0 ]; then
  exec "${build[@]}" -f docker/Dockerfile -t "$tag" .
fi

base=localhost/nfdp-base:bookworm
if ! $engine image exists "$base" 2>/dev/null && ! $engine image inspect "$base" >/dev/null 2>&1; then
  mirror=${NFDP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  root=$(mktemp -d /var/tmp/nfdp-base.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "build.sh: debootstrap Debian 12 (minbase) from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
  # What a registry's debian:bookworm-slim has beyond minbase: apt lists are fetched in the
  # image build, nothing is cached here.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | $engine import - "$base" >/dev/null
  rm -rf "$root"; trap - EXIT
fi

echo "build.sh: cargo build (release, dpdk, profile-guided: scripts/release-build.sh)"
bash scripts/release-build.sh --locked -p control --features dpdk --bin nfdp --bin nfdpctl
bash scripts/release-build.sh --locked -p perf --features dpdk --bin nfdp-pktgen
rm -f docker/prebuilt/nfdp docker/prebuilt/nfdpctl docker/prebuilt/nfdp-pktgen
for b in nfdp nfdpctl nfdp-pktgen; do
  strip -o "docker/prebuilt/$b" "target/release/$b"
done

"${build[@]}" -f docker/Dockerfile -t "$tag" \
  --build-arg BINARIES=prebuilt --build-arg DEBIAN_IMAGE="$base" --target runtime .
