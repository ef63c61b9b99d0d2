#!/usr/bin/env bash
# Installs every system package nfdp's build, tests and demo need on a fresh Debian 12
# machine. Idempotent; needs root (CI runs as root). Set NFDP_SKIP_APT=1 to skip.
set -euo pipefail
[ "${NFDP_SKIP_APT:-0}" = 1 ] && exit 0

packages=(
  build-essential pkg-config   # cc for C shims, pkg-config for DPDK discovery
  iptables conntrack iproute2  # the kernel oracle: goldens, conformance, the lab
  ipset                        # the kernel's ip_set: ipset goldens, -m set goldens and conformance
  ethtool python3
  fail2ban python3-grpcio python3-grpc-tools  # tests/api: fail2ban's actions, a Python client
  curl iperf3 iputils-ping      # the lab's real clients
  hping3                       # tests/lab/floods.sh: the floods' packets
  dpdk dpdk-dev libdpdk-dev    # the DPDK port (cargo feature `dpdk`), dpdk-testpmd
  libclang-dev                 # bindgen for bindings/dpdk-sys
  prometheus                   # promtool: the metrics port's exposition is checked with it
  podman buildah debootstrap   # docker/: the image built from a debootstrapped Debian 12 base
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust toolchain) not found on PATH" >&2; exit 1; }
