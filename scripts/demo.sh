#!/usr/bin/env bash
# The demo as it stands: nfdp's offline ruleset loader on the shipped example rulesets,
# then the error a broken ruleset gets. (The namespace lab with real clients arrives with
# the DPDK data plane.)
set -euo pipefail
cd "$(dirname "$0")/.."
NFDP=${NFDP:-target/release/nfdp}
[ -x "$NFDP" ] || cargo build --release -p control --bin nfdp

for f in configs/*.rules; do
  echo "=== nfdp ruleset --check $f"
  "$NFDP" ruleset --check "$f"
done

echo "=== a ruleset iptables would refuse (DNAT in POSTROUTING):"
bad=$(mktemp)
trap 'rm -f "$bad"' EXIT
printf '*nat\n-A POSTROUTING -p tcp -j DNAT --to-destination 10.0.0.2:80\nCOMMIT\n' >"$bad"
if "$NFDP" ruleset --check "$bad"; then
  echo "demo: the broken ruleset was accepted" >&2
  exit 1
fi
echo "=== demo done"
