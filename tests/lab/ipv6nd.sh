#!/usr/bin/env bash
# IPv6 neighbour discovery and echo against a real Linux host (about 10 s, root only): a
# host namespace on a veth pair to nfdp's af_packet port pings the appliance's global and
# link-local addresses; the host's neighbour entry for the appliance must be REACHABLE (it
# resolved it with a multicast solicitation nfdp answered), and nfdp's entry for the host
# goes the way Linux's does (STALE from the solicitation, DELAY when used, PROBE after 5 s
# with a unicast solicitation, REACHABLE on the answer).
#
#   nd6-h: eth0 2001:db8:61::10/64 -- nd6-r0 |ns nd6-r: nfdp, lan0 2001:db8:61::1/64|
#          and 2001:db8:62::10/64      (nfdp: 2001:db8:62::/64 via the host's fe80:: address)
#
# Its own namespace prefix (nd6-), EAL file prefix and API socket: it runs beside the lab.
# ND6_WORKERS lists the worker cores (default 1; "0, 1": two workers, neighbour
# advertisements copied to both). NFDP and NFDPCTL name the binaries (a dpdk build:
# cargo build -p control --features dpdk --bins).
set -u
P=${P:-nd6-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NFDP=${NFDP:-$ROOT/target/release/nfdp}
NFDPCTL=${NFDPCTL:-$ROOT/target/release/nfdpctl}
WORK=$(mktemp -d /tmp/nfdp-ipv6nd.XXXXXX)
NFDP_PID=
FAILED=0
. "$ROOT/tests/lab/lib.sh"
lab_require ipv6nd.sh

cleanup() {
  set +e
  lab_teardown h r
  rm -rf "$WORK"
}
trap cleanup EXIT

say "namespaces"
for ns in h r; do ip netns add "$P$ns"; in_ns "$ns" ip link set lo up; done
ip link add nd6-r0 netns "${P}r" type veth peer name eth0 netns "${P}h"
# The router namespace's kernel stays off the port nfdp owns.
in_ns r sysctl -qw net.ipv6.conf.all.disable_ipv6=1
in_ns r ip link set nd6-r0 up
in_ns r ethtool -K nd6-r0 tx off >/dev/null
in_ns h sysctl -qw net.ipv6.conf.eth0.accept_dad=0
in_ns h ip link set eth0 address 02:00:00:00:61:10
in_ns h ip addr add 2001:db8:61::10/64 dev eth0 nodad
# An address nfdp reaches only through its [[route]] via the host's link-local address.
in_ns h ip addr add 2001:db8:62::10/64 dev eth0 nodad
in_ns h ip link set eth0 up
in_ns h ethtool -K eth0 tx off >/dev/null

cat >"$WORK/nfdp.toml" <<EOF
[eal]
args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "nfdp-nd6"]

[dataplane]
workers = [${ND6_WORKERS:-1}]
max_sleep_us = 100

[[port]]
name = "lan0"
driver = "net_af_packet"
args = "iface=nd6-r0"
mac = "02:00:00:00:61:01"
addresses = ["192.168.61.1/24", "2001:db8:61::1/64"]

[[route]]
dst = "2001:db8:62::/64"
via = "fe80::ff:fe00:6110"
dev = "lan0"

[api]
socket = "$WORK/nfdp.sock"
EOF
lab_start_nfdp ipv6nd.sh "$WORK/nfdp.toml"
ctl() { "$NFDPCTL" --socket "$WORK/nfdp.sock" "$@"; }

say "addresses"
ctl ip addr >"$WORK/addr.txt" 2>&1
if grep -q "inet6 2001:db8:61::1/64 scope global" "$WORK/addr.txt" && grep -q "inet6 fe80::ff:fe00:6101/64 scope link" "$WORK/addr.txt"; then
  ok "nfdpctl ip addr lists the global and the EUI-64 link-local address"
else
  cat "$WORK/addr.txt"; fail "nfdpctl ip addr"
fi

ctl ip -6 route >"$WORK/route6.txt" 2>&1
if grep -qx "2001:db8:61::/64 dev lan0 proto kernel metric 256 pref medium" "$WORK/route6.txt" \
  && grep -qx "2001:db8:62::/64 via fe80::ff:fe00:6110 dev lan0 metric 1024 pref medium" "$WORK/route6.txt" \
  && ! ctl ip route | grep -q :; then
  ok "nfdpctl ip -6 route lists the connected prefix and the static route (ip route: IPv4 only)"
else
  cat "$WORK/route6.txt"; fail "nfdpctl ip -6 route"
fi

say "ping -6 to the appliance"
if in_ns h ping -6 -c 3 -i 0.3 -W 2 2001:db8:61::1 >"$WORK/ping.txt" 2>&1; then
  ok "global address answers: $(grep -o '[0-9]* received' "$WORK/ping.txt")"
else
  cat "$WORK/ping.txt"; fail "no echo reply from 2001:db8:61::1"
fi
if in_ns h ping -6 -c 3 -i 0.3 -W 2 fe80::ff:fe00:6101%eth0 >"$WORK/ping-ll.txt" 2>&1; then
  ok "link-local address answers: $(grep -o '[0-9]* received' "$WORK/ping-ll.txt")"
else
  cat "$WORK/ping-ll.txt"; fail "no echo reply from fe80::ff:fe00:6101"
fi
if in_ns h ping -6 -c 2 -i 0.3 -W 2 -I 2001:db8:62::10 2001:db8:61::1 >"$WORK/ping-route.txt" 2>&1; then
  ok "an off-link source is answered through the IPv6 route: $(grep -o '[0-9]* received' "$WORK/ping-route.txt")"
else
  cat "$WORK/ping-route.txt"; fail "no echo reply to 2001:db8:62::10 (through the route)"
fi
neigh=$(in_ns h ip -6 neigh show dev eth0 2001:db8:61::1)
note "host: $neigh"
case "$neigh" in
  *"lladdr 02:00:00:00:61:01"*REACHABLE*) ok "the host resolved the appliance (REACHABLE)" ;;
  *) fail "host's entry for the appliance: '$neigh'" ;;
esac

say "nfdp's entry for the host"
ctl ip -6 neigh >"$WORK/neigh1.txt" 2>&1
note "$(cat "$WORK/neigh1.txt")"
grep -q "^2001:db8:61::10 dev lan0 lladdr 02:00:00:00:61:10 \(DELAY\|STALE\|REACHABLE\|PROBE\)" "$WORK/neigh1.txt" \
  || fail "nfdp did not learn the host"
# DELAY lasts 5 s, then a unicast probe the host answers: REACHABLE.
sleep 6
in_ns h ping -6 -c 1 -W 2 2001:db8:61::1 >/dev/null 2>&1
ctl ip -6 neigh >"$WORK/neigh2.txt" 2>&1
note "$(cat "$WORK/neigh2.txt")"
if grep -q "^2001:db8:61::10 dev lan0 lladdr 02:00:00:00:61:10 REACHABLE" "$WORK/neigh2.txt"; then
  ok "nfdp's entry for the host is REACHABLE after its probe"
else
  fail "nfdp's entry for the host is not REACHABLE"
fi
ctl ip -4 neigh | grep -q : && fail "ip -4 neigh lists IPv6 entries"

say "drops"
ctl stats >"$WORK/stats.txt" 2>&1 && note "$(grep -E 'ipv6_unhandled|ndisc_invalid' "$WORK/stats.txt" || true)"

if [ "$FAILED" = 0 ]; then echo; echo "ipv6nd: all passed"; else echo; echo "ipv6nd: FAILED" >&2; exit 1; fi
