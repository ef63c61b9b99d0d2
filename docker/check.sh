#!/usr/bin/env bash
# Checks a built nfdp image without running a container (podman run may be unavailable):
# mounts the image's filesystem (`podman image mount`, root) and in a chroot of it runs
# `nfdp --version`, `nfdp config --check` on every shipped config and `nfdp ruleset --check`
# on every shipped ruleset, and checks that every DPDK driver in the image finds its
# libraries.
#   docker/check.sh [TAG]        (default localhost/nfdp:latest)
set -euo pipefail
tag=${1:-localhost/nfdp:latest}

root=$(podman image mount "$tag")
trap 'podman image unmount "$tag" >/dev/null' EXIT
in_image() { chroot "$root" "$@"; }

in_image /usr/bin/nfdp --version
in_image /usr/bin/nfdpctl --version
in_image /usr/bin/nfdp-pktgen --help >/dev/null

configs=0
for c in "$root"/etc/nfdp/*.toml; do
  name=/etc/nfdp/$(basename "$c")
  # From /etc/nfdp, where the image (and the unit) runs nfdp: relative rules files resolve.
  in_image /bin/sh -c "cd /etc/nfdp && /usr/bin/nfdp config --check $name"
  configs=$((configs + 1))
done
rulesets=0
for r in "$root"/etc/nfdp/*.rules; do
  in_image /usr/bin/nfdp ruleset --check "/etc/nfdp/$(basename "$r")" >/dev/null
  rulesets=$((rulesets + 1))
done
[ "$configs" -ge 2 ] && [ "$rulesets" -ge 5 ] || {
  echo "check.sh: expected the shipped configs and rulesets in /etc/nfdp" >&2; exit 1; }

# The EAL dlopens every driver in its plugin directory: one with a missing library would
# make start-up fail on the appliance.
missing=$(in_image /bin/sh -c 'for f in /usr/bin/nfdp /usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/*.so*; do ldd "$f" | sed -n "s|^|$f: |; /not found/p"; done')
if [ -n "$missing" ]; then
  echo "check.sh: libraries missing in the image:" >&2; echo "$missing" >&2; exit 1
fi
drivers=$(in_image /bin/sh -c 'ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/ | grep -c "librte_net_.*\.so\.23$"')
echo "check.sh: $tag: nfdp runs; $configs configs and $rulesets rulesets check; $drivers net drivers with their libraries"
