#!/usr/bin/env bash
# Installs the Debian package (target/debian/nfdp_*.deb, `make deb`) into a fresh Debian 12
# chroot made with debootstrap, with `apt-get install ./nfdp_*.deb` pulling its dependencies
# from the mirror, and checks there that nfdp runs, the installed config checks, the unit and
# the group are in place. Root only. NFDP_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
debs=(target/debian/nfdp_*.deb)
[ "${#debs[@]}" = 1 ] && [ -f "${debs[0]}" ] || {
  echo "deb-check: expected one target/debian/nfdp_*.deb (make deb), found: ${debs[*]}" >&2; exit 1; }
deb=${debs[0]}
mirror=${NFDP_DEBIAN_MIRROR:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/nfdp-deb-check.XXXXXX)
cleanup() {
  mountpoint -q "$root/proc" && umount "$root/proc"
  rm -rf "$root"
}
trap cleanup EXIT

debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get update -qq
in_root sh -c "cd /tmp && apt-get install -y -qq ./$(basename "$deb")" >/dev/null

in_root nfdp --version
in_root nfdpctl --version
in_root sh -c 'cd /etc/nfdp && nfdp config --check /etc/nfdp/nfdp.toml'
in_root nfdp ruleset --check /etc/nfdp/gateway.rules >/dev/null
in_root getent group nfdp >/dev/null || { echo "deb-check: no group nfdp" >&2; exit 1; }
unit=$(in_root sh -c 'ls /lib/systemd/system/nfdp.service /usr/lib/systemd/system/nfdp.service 2>/dev/null | head -1')
[ -n "$unit" ] || { echo "deb-check: nfdp.service not installed" >&2; exit 1; }
missing=$(in_root sh -c 'for f in /usr/bin/nfdp /usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/*.so*; do ldd "$f" | sed -n "s|^|$f: |; /not found/p"; done')
[ -z "$missing" ] || { echo "deb-check: libraries missing:" >&2; echo "$missing" >&2; exit 1; }
echo "deb-check: $(basename "$deb") installs into Debian 12 with its dependencies; nfdp runs, /etc/nfdp/nfdp.toml checks, $unit and the group nfdp are there"
