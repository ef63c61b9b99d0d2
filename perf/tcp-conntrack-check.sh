#!/usr/bin/env bash
# nfdp-pktgen --proto tcp against the Linux kernel's conntrack with strict window tracking
# (root): a router namespace with MASQUERADE, FORWARD policy DROP, INVALID dropped,
# nf_conntrack_tcp_loose=0 and nf_conntrack_tcp_be_liberal=0; the generator in a tester
# namespace opens N connections through it (client on t-lan, server on t-wan). Passes when
# every connection completed, no packet was INVALID, and every conntrack entry is ASSURED
# and in TIME_WAIT.
#
# Usage: perf/tcp-conntrack-check.sh [N]   (PKTGEN=target/release/nfdp-pktgen by default)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300}
PKTGEN=${PKTGEN:-target/release/nfdp-pktgen}
P=${TCPCK_PREFIX:-nftc-}
[ "$(id -u)" = 0 ] || { echo "tcp-conntrack-check: needs root" >&2; exit 1; }
[ -x "$PKTGEN" ] || { echo "tcp-conntrack-check: $PKTGEN not found (cargo build --release -p perf --features dpdk)" >&2; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }
cleanup() { ip netns del "${P}T" 2>/dev/null || true; ip netns del "${P}R" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add "${P}T"; ip netns add "${P}R"
ip link add t-lan netns "${P}T" type veth peer name r-lan netns "${P}R"
ip link add r-wan netns "${P}R" type veth peer name t-wan netns "${P}T"
in_ns T ip link set t-wan address 02:00:00:00:02:fe
in_ns T ip link set t-lan address 02:00:00:00:01:10
in_ns R ip link set r-lan address 02:00:00:00:01:01
in_ns R ip link set r-wan address 02:00:00:00:02:01
for i in t-lan t-wan lo; do in_ns T ip link set "$i" up; done
for i in r-lan r-wan lo; do in_ns R ip link set "$i" up; done
in_ns R ip addr add 192.168.1.1/24 dev r-lan
in_ns R ip addr add 203.0.113.1/24 dev r-wan
in_ns R ip route add default via 203.0.113.254
in_ns R ip neigh replace 203.0.113.254 lladdr 02:00:00:00:02:fe dev r-wan nud permanent
in_ns R ip neigh replace 192.168.1.10 lladdr 02:00:00:00:01:10 dev r-lan nud permanent
in_ns R sysctl -qw net.ipv4.ip_forward=1
in_ns R iptables-restore <<'RULES'
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o r-wan -j MASQUERADE
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i r-lan -o r-wan -p tcp --syn -m conntrack --ctstate NEW -j ACCEPT
COMMIT
RULES
in_ns R sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 net.netfilter.nf_conntrack_tcp_be_liberal=0
OUT=$(mktemp /tmp/nftc.XXXXXX.json)
in_ns T "$PKTGEN" --proto tcp --tx net_af_packet0,iface=t-lan --rx net_af_packet1,iface=t-wan \
  --src 192.168.1.10 --dst 198.51.100.1 --sport "20000-$((19999 + N))" --dport 80 --flows "$N" \
  --connections "$N" --segments 5 --size 300 --new-conn-rate 2000 --dst-mac 02:00:00:00:01:01 \
  --duration 30 --quiet --eal=-l --eal=0 --json "$OUT"
INVALID=$(in_ns R iptables -L FORWARD -v -n -x | awk '/ctstate INVALID/ {print $1}')
STATES=$(in_ns R conntrack -L -p tcp 2>/dev/null | awk '{print $4, ($0 ~ /ASSURED/) ? "ASSURED" : "-"}' | sort | uniq -c)
echo "INVALID packets: $INVALID"; echo "conntrack entries:"; echo "$STATES"
python3 - "$OUT" "$N" "$INVALID" "$STATES" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["run"]; n = int(sys.argv[2])
ok = (r["conns_completed"] == n and r["conns_failed"] == 0 and sys.argv[3] == "0"
      and sys.argv[4].split() == [str(n), "TIME_WAIT", "ASSURED"])
print("tcp-conntrack-check:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
