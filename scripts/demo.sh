#!/usr/bin/env bash
# The offline demo (`make replay-demo`; the main demo is the namespace lab, `make demo`):
# nfdp's ruleset loader on the shipped example rulesets, the error a broken ruleset gets,
# and a crafted capture replayed through the pipeline without DPDK or root.
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
printf '*nat\n-A POSTROUTING -p tcp -j DNAT --to-destination 10.0.0.2:80\nCOMMIT\n' >"$bad"
if "$NFDP" ruleset --check "$bad"; then
  echo "demo: the broken ruleset was accepted" >&2
  exit 1
fi
echo "=== nfdp replay: LAN traffic through configs/gateway.toml (masquerade + stateful filter)"
work=$(mktemp -d)
trap 'rm -f "$bad"; rm -rf "$work"' EXIT
python3 scripts/make-demo-pcap.py "$work/lan.pcap"
"$NFDP" replay --config configs/gateway.toml --in "lan0=$work/lan.pcap" --out "$work/out" \
  --conntrack "$work/conntrack.txt" --events "$work/events.txt"
echo "--- verdicts (LAN to WAN is open: web, telnet and DNS leave masqueraded; the ping is for the gateway itself):"
grep -E '^(PACKET|VERDICT)' "$work/out/trace.txt"
echo "--- the rules the web SYN met:"
awk '/^PACKET 1 /{p=1;next} /^PACKET/{p=0} p && /TRACE: (nat|filter)/' "$work/out/trace.txt" | cut -c1-120
echo "--- conntrack table afterwards (the LAN host behind 203.0.113.1):"
cat "$work/conntrack.txt"
echo "=== demo done"
