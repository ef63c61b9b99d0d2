#!/usr/bin/env bash
# The namespace lab: real programs talking through nfdp.
#
#   h1 (192.168.1.10) --+                                   
#                       +-- [sw: br0] -- r-lan |nfdp| r-wan -- wan (203.0.113.254)
#   h2 (192.168.1.11) --+                      (ns r)
#
# nfdp runs in namespace r on net_af_packet vdevs over r-lan and r-wan with
# configs/lab.toml (LAB_PMD=af_xdp: net_af_xdp instead) + configs/lab.rules (copied into the lab's work directory: the daemon
# persists rule changes to its rules file); the kernel of namespace r is its host stack,
# behind the TAP port nfdp0. Rule changes, conntrack and counter views go through nfdpctl
# on the daemon's API socket. Each observation is asserted; any failure exits non-zero.
# Needs root. LAB_PREFIX names the namespaces (default nfl-), NFDP and NFDPCTL the binaries.
set -euo pipefail
cd "$(dirname "$0")/../.."
P=${LAB_PREFIX:-nfl-}
NFDP=${NFDP:-target/release/nfdp}
NFDPCTL=${NFDPCTL:-target/release/nfdpctl}
CONFIG=${LAB_CONFIG:-configs/lab.toml}
# LAB_PMD=af_xdp puts both ports on DPDK's AF_XDP PMD (net_af_xdp) instead of af_packet
# (one queue per port: one worker). Its name goes into the report.
LAB_PMD=${LAB_PMD:-}
PMD=${LAB_PMD:-$(sed -n 's/^driver = "net_\([a-z_]*\)".*/\1/p' "$CONFIG" | head -n 1)}
# LAB_WORKERS="0,1" runs nfdp with one worker per listed core (multi-core NAT: replies
# that af_packet's flow hash puts on another worker's queue are handed to the owner).
LAB_WORKERS=${LAB_WORKERS:-}
WORK=$(mktemp -d /tmp/nfdp-lab.XXXXXX)
NFDP_PID=""
FAILED=0

# shellcheck source=tests/lab/lib.sh
. tests/lab/lib.sh

cleanup() {
  set +e
  lab_teardown h1 h2 sw wan r
  rm -rf "$WORK"
}
trap cleanup EXIT

lab_require lab
for tool in curl iperf3 ping python3 ethtool; do
  command -v "$tool" >/dev/null || { echo "lab: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

say "building the lab: namespaces ${P}h1 ${P}h2 ${P}sw ${P}wan ${P}r"
cleanup 2>/dev/null; WORK=$(mktemp -d /tmp/nfdp-lab.XXXXXX)
for ns in h1 h2 sw wan r; do ip netns add "$P$ns"; in_ns "$ns" ip link set lo up; done
in_ns sw ip link add br0 type bridge
in_ns sw ip link set br0 up
ip link add r-lan netns "${P}r" type veth peer name sw-r netns "${P}sw"
ip link add r-wan netns "${P}r" type veth peer name eth0 netns "${P}wan"
for h in h1 h2; do
  ip link add eth0 netns "$P$h" type veth peer name "sw-$h" netns "${P}sw"
done
for port in sw-r sw-h1 sw-h2; do
  in_ns sw ip link set "$port" master br0
  in_ns sw ip link set "$port" up
done
# Hosts compute their own checksums (af_packet sees what the veth carries).
in_ns h1 ip addr add 192.168.1.10/24 dev eth0
in_ns h2 ip addr add 192.168.1.11/24 dev eth0
in_ns wan ip addr add 203.0.113.254/24 dev eth0
for ns in h1 h2 wan; do
  in_ns "$ns" ip link set eth0 up
  in_ns "$ns" ethtool -K eth0 tx off >/dev/null
done
for h in h1 h2; do in_ns "$h" ip route add default via 192.168.1.1; done
# Dual stack: h1 and the WAN host have IPv6 too (nodad: usable at once); the LAN prefix is
# routed, not translated (no NAT66), so the WAN host routes it back through the appliance.
in_ns h1 ip -6 addr add 2001:db8:1::10/64 dev eth0 nodad
in_ns h1 ip -6 route add default via 2001:db8:1::1
in_ns wan ip -6 addr add 2001:db8:ff::fe/64 dev eth0 nodad
in_ns wan ip -6 route add 2001:db8:1::/64 via 2001:db8:ff::1
# A far IPv6 network behind the WAN host (its web server at 2001:db8:ee::80) that knows
# only the appliance's one WAN address: what it sends is routed by table 100, which has
# the WAN link and nothing else (no route to the LAN prefix). The LAN reaches it through
# MASQUERADE (NAT66, configs/lab.rules6).
in_ns wan ip -6 addr add 2001:db8:ee::80/128 dev lo
in_ns wan ip -6 route add 2001:db8:ff::/64 dev eth0 table 100
in_ns wan ip -6 route add unreachable default table 100
in_ns wan ip -6 rule add from 2001:db8:ee::/48 table 100 priority 100
# The router's NIC ends carry no addresses: nfdp owns them (through af_packet). The
# af_packet PMD gives the interfaces nfdp's MACs, and the namespace's kernel holds the
# appliance's addresses (on nfdp0, its host stack), so it must not take IP from them
# directly: af_packet sees frames before netfilter, the kernel's raw table drops them after.
# The interfaces get nfdp's MACs here too: net_af_xdp (LAB_PMD=af_xdp) cannot set them,
# and the daemon then checks that they are already right.
in_ns r ip link set r-lan address 02:00:00:00:01:01
in_ns r ip link set r-wan address 02:00:00:00:02:01
for i in r-lan r-wan; do
  in_ns r ip link set "$i" up
  in_ns r ethtool -K "$i" tx off >/dev/null
  in_ns r iptables -t raw -A PREROUTING -i "$i" -j DROP
done
in_ns r sysctl -qw net.ipv6.conf.all.disable_ipv6=1

say "servers: web + iperf3 + SMTP listener on the WAN side, web on h2 (port-forward target)"
mkdir -p "$WORK/wan-www" "$WORK/h2-www" "$WORK/r-www"
echo "hello from the internet" >"$WORK/wan-www/index.html"
echo "hello from the LAN server h2" >"$WORK/h2-www/index.html"
echo "hello from the appliance itself" >"$WORK/r-www/index.html"
WEB=tests/lab/webserver.py
in_ns wan python3 "$WEB" 203.0.113.254 80 "$WORK/wan-www" 2>"$WORK/wan-http.log" &
in_ns h2 python3 "$WEB" 192.168.1.11 8000 "$WORK/h2-www" 2>"$WORK/h2-http.log" &
in_ns wan python3 "$WEB" 2001:db8:ff::fe 80 "$WORK/wan-www" 2>"$WORK/wan-http6.log" &
in_ns wan python3 "$WEB" 2001:db8:ee::80 80 "$WORK/wan-www" 2>"$WORK/wan-http6nat.log" &
in_ns wan iperf3 -s -B 203.0.113.254 >"$WORK/iperf3-server.log" 2>&1 &
in_ns wan python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.254", 25)); s.listen(5)
while True:
    c, a = s.accept(); print("SMTP connection from", a[0], flush=True); c.close()
' >"$WORK/smtp.log" 2>&1 &
# Every server listens before any client starts.
wait_listen() {
  local ns=$1 port=$2
  for _ in $(seq 1 50); do
    in_ns "$ns" ss -Hltn "sport = :$port" | grep -q LISTEN && return 0
    sleep 0.1
  done
  echo "lab: nothing listens on port $port in $P$ns" >&2; exit 1
}
wait_listen wan 80; wait_listen h2 8000; wait_listen wan 5201; wait_listen wan 25
for _ in $(seq 1 50); do
  in_ns wan ss -Hltn | grep -qF '[2001:db8:ee::80]:80' && break; sleep 0.1
done

# The daemon writes accepted rule changes back to its rules file ([rules] persist): it
# runs on copies in $WORK, and the committed configs/lab.rules must come out unchanged.
RULES_SUM=$(sha256sum <configs/lab.rules)
cp configs/lab.rules "$WORK/lab.rules"
# ip6tables' side ([rules] file6 = "lab.rules6", found beside the copied config).
cp configs/lab.rules6 "$WORK/lab.rules6"
SOCK=$WORK/nfdp.sock
sed -e "s|^file = \"lab.rules\"|file = \"$WORK/lab.rules\"|" -e "s|^socket = .*|socket = \"$SOCK\"|" \
  ${LAB_WORKERS:+-e "s/^workers = .*/workers = [$LAB_WORKERS]/"} \
  ${LAB_PMD:+-e "s/^driver = \"net_af_packet\"/driver = \"net_$LAB_PMD\"/"} "$CONFIG" >"$WORK/lab.toml"
for want in "file = \"$WORK/lab.rules\"" "socket = \"$SOCK\"" ${LAB_WORKERS:+"workers = [$LAB_WORKERS]"} \
  ${LAB_PMD:+"driver = \"net_$LAB_PMD\""}; do
  grep -qxF "$want" "$WORK/lab.toml" || { echo "lab: could not set '$want' in a copy of $CONFIG" >&2; exit 1; }
done
CONFIG=$WORK/lab.toml
ctl() { "$NFDPCTL" --socket "$SOCK" "$@"; }
say "starting nfdp --config $CONFIG in ${P}r"
lab_start_nfdp lab "$CONFIG"
grep -E "port started|host exception|running" "$WORK/nfdp.log" | sed 's/^/  nfdp: /'
# Its ports are up: nfdp has dropped every capability (docs/deploy.md, "Privileges"); all
# that follows (forwarding, the TAP, the API, persisting rules) runs without them.
capsets=$(grep -E '^Cap(Prm|Eff|Bnd|Amb):' "/proc/$NFDP_PID/status" | tr -s '\t' ' ' | tr '\n' ' ')
if [ "$capsets" = "CapPrm: 0000000000000000 CapEff: 0000000000000000 CapBnd: 0000000000000000 CapAmb: 0000000000000000 " ]; then
  ok "capabilities dropped once the ports are up: $capsets"
else fail "nfdp still holds capabilities: $capsets"; fi
# Every thread too, but the EAL's multi-process and telemetry threads (unreachable).
held=$(for t in /proc/"$NFDP_PID"/task/*; do
  c=$(cat "$t/comm"); case $c in rte_mp_handle|telemetry-v2) continue ;; esac
  awk -v c="$c" '/^CapEff:/ && $2 != "0000000000000000" {print c}' "$t/status"
done | sort -u | tr '\n' ' ')
[ -z "$held" ] && ok "no thread holds a capability (but the EAL's rte_mp_handle and telemetry-v2)" \
  || fail "threads still holding capabilities: $held"
# The appliance's own web service, in its host stack behind nfdp0.
in_ns r python3 "$WEB" 0.0.0.0 8081 "$WORK/r-www" 2>"$WORK/r-http.log" &
in_ns r python3 "$WEB" :: 8081 "$WORK/r-www" 2>"$WORK/r-http6.log" &
wait_listen r 8081
for _ in $(seq 1 50); do
  in_ns r ss -Hltn6 "sport = :8081" | grep -q LISTEN && break; sleep 0.1
done
# LAB_PAUSE=N holds the lab for N seconds here, for poking at it by hand.
[ -n "${LAB_PAUSE:-}" ] && { echo "lab: holding for $LAB_PAUSE s"; sleep "$LAB_PAUSE"; }

METRICS=http://127.0.0.1:9469
say "ping through the appliance (h1 -> 203.0.113.254) and to it (h1 -> 192.168.1.1, wan -> 203.0.113.1)"
if out=$(in_ns h1 ping -c 3 -i 0.2 -W 2 203.0.113.254); then ok "$(echo "$out" | grep -E 'packets transmitted')"; else fail "ping through: $out"; fi
if out=$(in_ns h1 ping -c 3 -i 0.2 -W 2 192.168.1.1); then ok "$(echo "$out" | grep -E 'packets transmitted') (the appliance's host stack answered)"; else fail "ping the appliance: $out"; fi
if out=$(in_ns wan ping -c 2 -i 0.2 -W 2 203.0.113.1); then ok "WAN ping of 203.0.113.1 answered"; else fail "WAN ping of the appliance: $out"; fi

say "curl from the LAN to the WAN server through MASQUERADE"
if body=$(in_ns h1 curl -sS --max-time 5 http://203.0.113.254/); then
  [ "$body" = "hello from the internet" ] && ok "h1 got: $body" || fail "unexpected body: $body"
else fail "curl h1 -> WAN failed"; fi
sleep 0.3
client=$(awk '/^CLIENT/ {c=$2} END {print c}' "$WORK/wan-http.log")
if [ "$client" = 203.0.113.1 ]; then ok "the WAN server logged the client as $client (the appliance's WAN address)"; else fail "WAN server saw client '$client'"; grep . "$WORK/wan-http.log" >&2 || true; fi

say "port forward: WAN -> 203.0.113.1:8080 -> h2 (192.168.1.11:8000)"
if body=$(in_ns wan curl -sS --max-time 5 http://203.0.113.1:8080/); then
  [ "$body" = "hello from the LAN server h2" ] && ok "wan got: $body" || fail "unexpected body: $body"
else fail "curl wan -> 203.0.113.1:8080 failed"; fi
sleep 0.3
client=$(awk '/^CLIENT/ {c=$2} END {print c}' "$WORK/h2-http.log")
if [ "$client" = 203.0.113.254 ]; then ok "h2 logged the client as $client (DNAT keeps the source)"; else fail "h2 saw client '$client'"; fi

say "IPv6 through the appliance (configs/lab.rules6): ping -6, curl -6, hop limit, REJECT"
if out=$(in_ns h1 ping -6 -c 3 -i 0.2 -W 2 2001:db8:ff::fe); then ok "ping -6 through: $(echo "$out" | grep -E 'packets transmitted')"; else fail "ping -6 through: $out"; fi
if out=$(in_ns h1 ping -6 -c 2 -i 0.2 -W 2 2001:db8:1::1); then ok "ping -6 of the appliance: $(echo "$out" | grep -E 'packets transmitted')"; else fail "ping -6 of the appliance: $out"; fi
if body=$(in_ns h1 curl -6 -sS --max-time 5 'http://[2001:db8:ff::fe]/'); then
  [ "$body" = "hello from the internet" ] && ok "h1 got over IPv6: $body" || fail "unexpected body over IPv6: $body"
else fail "curl -6 h1 -> [2001:db8:ff::fe] failed"; fi
sleep 0.3
client=$(awk '/^CLIENT/ {c=$2} END {print c}' "$WORK/wan-http6.log")
if [ "$client" = 2001:db8:1::10 ]; then ok "the WAN server logged the IPv6 client as $client (routed, not translated)"; else fail "WAN server saw IPv6 client '$client'"; fi
# NAT66: the far network answers only the appliance's WAN address.
if body=$(in_ns h1 curl -6 -sS --max-time 5 'http://[2001:db8:ee::80]/'); then
  [ "$body" = "hello from the internet" ] && ok "h1 got through MASQUERADE over IPv6: $body" || fail "unexpected body over NAT66: $body"
else fail "curl -6 h1 -> [2001:db8:ee::80] (MASQUERADE) failed"; fi
sleep 0.3
client=$(awk '/^CLIENT/ {c=$2} END {print c}' "$WORK/wan-http6nat.log")
if [ "$client" = 2001:db8:ff::1 ]; then ok "the far IPv6 server logged the client as $client (the appliance's one WAN address: NAT66 MASQUERADE)"; else fail "far IPv6 server saw client '$client'"; fi
if out=$(in_ns h1 ping -6 -c 2 -i 0.2 -W 2 2001:db8:ee::80); then ok "ping -6 through MASQUERADE: $(echo "$out" | grep -E 'packets transmitted')"; else fail "ping -6 through MASQUERADE: $out"; fi
out=$(in_ns h1 ping -6 -c 1 -t 1 -W 2 2001:db8:ff::fe 2>&1 || true)
if grep -q "From 2001:db8:1::1 .*Time exceeded" <<<"$out"; then ok "hop limit 1: $(grep -m1 -o 'From .*' <<<"$out")"; else fail "hop limit 1: $out"; fi
out=$(in_ns h1 python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.settimeout(5)
try:
    s.connect(("2001:db8:ff::fe", 25)); print("connected")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("timeout")
')
if [ "$out" = refused ]; then ok "connect([2001:db8:ff::fe]:25): connection refused (ip6tables REJECT tcp-reset)"; else fail "IPv6 connect to port 25: $out"; fi

say "a port the filter blocks: SMTP from the LAN gets a TCP reset (REJECT --reject-with tcp-reset)"
out=$(in_ns h1 python3 -c '
import socket
s = socket.socket(); s.settimeout(5)
try:
    s.connect(("203.0.113.254", 25)); print("connected")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("timeout")
')
if [ "$out" = refused ]; then ok "connect(203.0.113.254:25): connection refused"; else fail "connect to port 25: $out"; fi
if [ -s "$WORK/smtp.log" ]; then fail "the SMTP listener was reached: $(cat "$WORK/smtp.log")"; else ok "the WAN SMTP listener saw no connection"; fi

say "the appliance's own web service (INPUT allows it from lan0 only)"
if body=$(in_ns h1 curl -sS --max-time 5 http://192.168.1.1:8081/); then
  [ "$body" = "hello from the appliance itself" ] && ok "h1 got: $body" || fail "unexpected body: $body"
else fail "curl h1 -> 192.168.1.1:8081 failed"; fi
if in_ns wan curl -sS --max-time 2 http://203.0.113.1:8081/ >/dev/null 2>&1; then fail "the WAN reached the appliance's service"; else ok "from the WAN it times out (INPUT policy DROP)"; fi
# Over IPv6: delivered through the TAP after ip6tables' INPUT, answered by the kernel
# through OUTPUT (it resolves h1 on nfdp0 with neighbour discovery, nfdp answers).
if body=$(in_ns h1 curl -6 -sS --max-time 5 'http://[2001:db8:1::1]:8081/'); then
  [ "$body" = "hello from the appliance itself" ] && ok "h1 got over IPv6: $body" || fail "unexpected body over IPv6: $body"
else fail "curl -6 h1 -> [2001:db8:1::1]:8081 failed"; fi
client=$(awk '/^CLIENT/ {c=$2} END {print c}' "$WORK/r-http6.log")
[ "$client" = 2001:db8:1::10 ] && ok "the appliance's IPv6 server logged the client as $client" || fail "the appliance's IPv6 server saw client '$client'"
if in_ns wan curl -6 -sS --max-time 2 'http://[2001:db8:ff::1]:8081/' >/dev/null 2>&1; then fail "the WAN reached the appliance's service over IPv6"; else ok "from the WAN over IPv6 it times out (ip6tables INPUT policy DROP)"; fi
# The host stack's own IPv6 out (OUTPUT; the echo replies back through INPUT's ICMPv6
# rule): every next hop it resolved on nfdp0 is nfdp's gateway MAC.
if out=$(in_ns r ping -6 -c 2 -i 0.2 -W 2 2001:db8:1::10); then ok "ping -6 from the appliance's host stack to h1: $(echo "$out" | grep -E 'packets transmitted')"; else fail "ping -6 from the host stack: $out"; fi
neigh=$(in_ns r ip -6 neigh show dev nfdp0 2001:db8:1::10)
grep -q "lladdr 02:6e:66:64:ff:fe" <<<"$neigh" && ok "the kernel resolved h1 on nfdp0 to nfdp: $neigh" || fail "the kernel's neighbour entry for h1 on nfdp0: '$neigh'"

say "iperf3: h1 -> wan through MASQUERADE, 3 s"
if in_ns h1 iperf3 -c 203.0.113.254 -t 3 -J >"$WORK/iperf3.json" 2>"$WORK/iperf3.err"; then
  mbps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["end"]["sum_received"]["bits_per_second"]/1e6))' "$WORK/iperf3.json")
  if [ "$mbps" -gt 10 ]; then ok "iperf3 throughput: $mbps Mbit/s received"; else fail "iperf3 throughput only $mbps Mbit/s"; fi
else fail "iperf3 failed: $(cat "$WORK/iperf3.err")"; fi

say "conntrack table (nfdpctl conntrack -L)"
ctl conntrack -L >"$WORK/conntrack.txt" 2>"$WORK/conntrack.err" || fail "conntrack -L: $(cat "$WORK/conntrack.err")"
sed 's/^/  /' "$WORK/conntrack.txt" "$WORK/conntrack.err"
n=$(wc -l <"$WORK/conntrack.txt")
[ "$(cat "$WORK/conntrack.err")" = "conntrack v1.4.7 (conntrack-tools): $n flow entries have been shown." ] \
  && ok "conntrack's summary line counts the $n entries" || fail "summary: $(cat "$WORK/conntrack.err")"
grep -qE '^tcp +6 [0-9]+ [A-Z_]+ src=192\.168\.1\.10 dst=203\.0\.113\.254 sport=[0-9]+ dport=5201 src=203\.0\.113\.254 dst=203\.0\.113\.1 sport=5201 dport=[0-9]+ ' "$WORK/conntrack.txt" \
  && ok "the iperf3 connection is tracked and masqueraded to 203.0.113.1" || fail "no masqueraded iperf3 entry"
grep -qE '^tcp +6 [0-9]+ [A-Z_]+ src=203\.0\.113\.254 dst=203\.0\.113\.1 sport=[0-9]+ dport=8080 src=192\.168\.1\.11 dst=203\.0\.113\.254 sport=8000 ' "$WORK/conntrack.txt" \
  && ok "the port-forward connection is tracked with its DNAT reply tuple" || fail "no DNAT entry"
grep -qE '^tcp +6 [0-9]+ [A-Z_]+ src=2001:db8:1::10 dst=2001:db8:ee::80 sport=[0-9]+ dport=80 src=2001:db8:ee::80 dst=2001:db8:ff::1 sport=80 dport=[0-9]+ ' "$WORK/conntrack.txt" \
  && ok "the IPv6 web connection is tracked and masqueraded to 2001:db8:ff::1 (NAT66)" || fail "no masqueraded IPv6 entry"

echo "  \$ nfdpctl conntrack -L -p tcp --dport 5201"
ctl conntrack -L -p tcp --dport 5201 >"$WORK/ct-5201.txt" 2>"$WORK/ct-5201.err" || fail "conntrack -L -p tcp --dport 5201"
sed 's/^/    /' "$WORK/ct-5201.txt" "$WORK/ct-5201.err"
n=$(wc -l <"$WORK/ct-5201.txt"); other=$(grep -cv ' dport=5201 ' "$WORK/ct-5201.txt" || true)
# iperf3 opens two connections to 5201: control (TIME_WAIT, 120 s) and one data stream
# (closed with a reset: CLOSE, 10 s, so on a slow machine it may be gone already).
if [ "$other" = 0 ] && grep -q ' TIME_WAIT .* dport=5201 ' "$WORK/ct-5201.txt" && { [ "$n" = 1 ] || [ "$n" = 2 ]; } \
  && [ "$(cat "$WORK/ct-5201.err")" = "conntrack v1.4.7 (conntrack-tools): $n flow entries have been shown." ]; then
  ok "filtered: the $n iperf3 connection(s) (control + data), nothing else"
else fail "filtered listing: $n entries, $other not to 5201"; fi

# Entries about to time out may go between the two counts; with none, the count is exact.
short=$(ctl conntrack -L 2>/dev/null | awk '$3 <= 3' | wc -l) || true
before=$(ctl conntrack -C) || fail "conntrack -C"
pf=$(ctl conntrack -L -p tcp --dport 8080 2>/dev/null | wc -l) || true
echo "  \$ nfdpctl conntrack -D -p tcp --dport 8080"
rc=0; out=$(ctl conntrack -D -p tcp --dport 8080 2>&1) || rc=$?
sed 's/^/    /' <<<"$out"
after=$(ctl conntrack -C) || fail "conntrack -C"
pf_after=$(ctl conntrack -L -p tcp --dport 8080 2>/dev/null | wc -l) || true
[ "$rc" = 0 ] && grep -qxF "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted." <<<"$out" \
  && ok "conntrack -D -p tcp --dport 8080: exit 0, 1 flow deleted" || fail "conntrack -D: exit $rc: $out"
[ "$pf" = 1 ] && [ "$pf_after" = 0 ] && ok "the port-forward flow: listed $pf time before, $pf_after after" \
  || fail "port-forward flows before/after: $pf/$pf_after"
if [ "$after" -le $((before - 1)) ] && [ "$after" -ge $((before - 1 - short)) ]; then
  note=""; [ "$short" -gt 0 ] && note=" ($short about to time out)"
  ok "conntrack -C: $before before, $after after$note"
else fail "conntrack -C: $before before, $after after"; ctl conntrack -L >&2 || true; fi

say "a live rule change through nfdpctl: h1's web traffic to the WAN refused, then allowed again"
RULE=(FORWARD -s 192.168.1.10 -p tcp --dport 80 -j REJECT --reject-with tcp-reset)
SAVED_RULE='-A FORWARD -s 192.168.1.10/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset'
echo "  \$ nfdpctl iptables -C ${RULE[*]}"
rc=0; err=$(ctl iptables -C "${RULE[@]}" 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$err" = "iptables: Bad rule (does a matching rule exist in that chain?)." ] \
  && ok "iptables -C before: exit 1, $err" || fail "iptables -C before: exit $rc, '$err'"
echo "  \$ nfdpctl iptables -I ${RULE[*]}"
if ctl iptables -I "${RULE[@]}"; then ok "iptables -I: exit 0"; else fail "iptables -I failed"; fi
rc=0; err=$(ctl iptables -C "${RULE[@]}" 2>&1) || rc=$?
[ "$rc" = 0 ] && [ -z "$err" ] && ok "iptables -C after the insert: exit 0" || fail "iptables -C after the insert: exit $rc, '$err'"
grep -qxF -- "$SAVED_RULE" "$WORK/lab.rules" && ok "persisted to the lab's rules file: $SAVED_RULE" \
  || fail "the inserted rule is not in $WORK/lab.rules"
rc=0; out=$(in_ns h1 curl -sS -v --max-time 5 http://203.0.113.254/ 2>&1) || rc=$?
if [ "$rc" = 7 ] && grep -q "Connection refused" <<<"$out"; then
  ok "h1: curl http://203.0.113.254/ exit 7: $(grep -m1 -o 'connect to .*Connection refused' <<<"$out")"
else fail "h1's curl was not refused (exit $rc): $out"; fi
if body=$(in_ns h2 curl -sS --max-time 5 http://203.0.113.254/); then
  [ "$body" = "hello from the internet" ] && ok "h2 (not matched by the rule) still gets: $body" || fail "h2 unexpected body: $body"
else fail "curl h2 -> WAN failed while only h1 is refused"; fi
echo "  \$ nfdpctl iptables -L FORWARD -n -v --line-numbers"
ctl iptables -L FORWARD -n -v --line-numbers >"$WORK/forward.txt" || fail "iptables -L FORWARD"
sed 's/^/    /' "$WORK/forward.txt"
# num pkts bytes target prot opt in out source destination ...: rule 1 got curl's one SYN.
read -r num pkts bytes target _ <<<"$(sed -n 3p "$WORK/forward.txt")"
if [ "$num $target" = "1 REJECT" ] && [ "$pkts" = 1 ] && grep -q 'dpt:80 reject-with tcp-reset' <(sed -n 3p "$WORK/forward.txt"); then
  ok "rule 1 (the inserted REJECT) matched $pkts packet, $bytes bytes (h1's SYN)"
else fail "rule 1 of FORWARD: '$(sed -n 3p "$WORK/forward.txt")'"; fi
echo "  \$ nfdpctl iptables -D ${RULE[*]}"
if ctl iptables -D "${RULE[@]}"; then ok "iptables -D: exit 0"; else fail "iptables -D failed"; fi
rc=0; err=$(ctl iptables -C "${RULE[@]}" 2>&1) || rc=$?
[ "$rc" = 1 ] && ok "iptables -C after the delete: exit 1" || fail "iptables -C after the delete: exit $rc, '$err'"
grep -qxF -- "$SAVED_RULE" "$WORK/lab.rules" && fail "the deleted rule is still in $WORK/lab.rules" \
  || ok "the lab's rules file no longer has it"
if body=$(in_ns h1 curl -sS --max-time 5 http://203.0.113.254/); then
  [ "$body" = "hello from the internet" ] && ok "h1 gets through again: $body" || fail "unexpected body: $body"
else fail "curl h1 -> WAN still fails after the delete"; fi

say "rule counters (nfdpctl iptables -t nat -L -n -v -x, -t filter)"
ctl iptables -t nat -L -n -v -x >"$WORK/nat.txt" || fail "iptables -t nat -L"
ctl iptables -t filter -L -n -v -x >"$WORK/filter.txt" || fail "iptables -t filter -L"
sed 's/^/  /' "$WORK/nat.txt"; echo; sed 's/^/  /' "$WORK/filter.txt"
# The first field of a rule line is its packet count (-x: exact).
rule_packets() { awk -v pat="$2" '$1 ~ /^[0-9]+$/ && $0 ~ pat {print $1; exit}' "$WORK/$1.txt"; }
for check in 'nat MASQUERADE' 'nat DNAT ' 'filter REJECT ' 'filter dpt:8081'; do
  table=${check%% *}; pat=${check#* }
  n=$(rule_packets "$table" "$pat"); n=${n:-0}
  if [ "$n" -gt 0 ]; then ok "$table rule /$pat/ matched $n packets"; else fail "$table rule /$pat/ has no packets"; fi
done

say "nfdpctl stats"
ctl stats >"$WORK/stats.txt" || fail "nfdpctl stats"
sed 's/^/  /' "$WORK/stats.txt"
awk '$1 == "lan0" && $2 == "up" && $3 > 0 {f=1} END {exit !f}' "$WORK/stats.txt" && ok "lan0 is up and received packets" || fail "no lan0 row with packets"
nworkers=$(awk '/^WORKER/ {w=1; next} /^$/ {w=0} w' "$WORK/stats.txt" | wc -l)
want=$(tr ',' '\n' <<<"${LAB_WORKERS:-1}" | wc -l)
[ "$nworkers" = "$want" ] && ok "$nworkers worker row(s), one per core in [${LAB_WORKERS:-1}]" || fail "$nworkers worker rows, want $want"

say "metrics (GET $METRICS/metrics)"
in_ns r curl -sS --max-time 5 "$METRICS/metrics" >"$WORK/metrics.txt" || fail "GET /metrics"
grep -E '^nfdp_(build_info|port_receive_packets_total|conntrack_entries|worker_busy_ratio|worker_handoffs_total|ruleset_generation|rule_packets_total\{table="nat"|drops_total\{reason="overload")' "$WORK/metrics.txt" | sed 's/^/  /'
grep -qE '^nfdp_port_receive_packets_total\{port="lan0"\} [1-9]' "$WORK/metrics.txt" && ok "port counters exported" || fail "no lan0 rx packets in /metrics"
grep -qE '^nfdp_rule_packets_total\{table="nat",chain="POSTROUTING",rule="1"\} [1-9]' "$WORK/metrics.txt" \
  && ok "per-rule counters exported (nat POSTROUTING rule 1, MASQUERADE)" || fail "no MASQUERADE rule counter in /metrics"
gen=$(awk '$1 == "nfdp_ruleset_generation" {print $2}' "$WORK/metrics.txt")
sgen=$(awk '/^ruleset generation/ {print $3}' "$WORK/stats.txt")
[ -n "$gen" ] && [ "$gen" = "$sgen" ] && ok "nfdp_ruleset_generation $gen, as nfdpctl stats reports" || fail "ruleset generation: metrics '$gen', stats '$sgen'"
if command -v promtool >/dev/null; then
  if out=$(promtool check metrics <"$WORK/metrics.txt" 2>&1) && [ -z "$out" ]; then ok "promtool check metrics: clean"; else fail "promtool check metrics: $out"; fi
fi
code=$(in_ns r curl -sS -o "$WORK/healthz.txt" -w '%{http_code}' --max-time 5 "$METRICS/healthz")
[ "$code" = 200 ] && [ "$(cat "$WORK/healthz.txt")" = ok ] && ok "GET /healthz: 200 ok" || fail "GET /healthz: $code $(cat "$WORK/healthz.txt")"
code=$(in_ns r curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST --data-binary @/dev/null "$METRICS/metrics")
[ "$code" = 405 ] && ok "POST /metrics refused ($code): the metrics port is read-only" || fail "POST /metrics answered $code"
code=$(in_ns r curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$METRICS/conntrack")
[ "$code" = 404 ] && ok "GET /conntrack: $code (views are nfdpctl's now)" || fail "GET /conntrack answered $code"

say "stopping nfdp (SIGTERM)"
kill -TERM "$NFDP_PID"
for _ in $(seq 1 50); do kill -0 "$NFDP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$NFDP_PID" 2>/dev/null; then fail "nfdp did not stop on SIGTERM"; else
  wait "$NFDP_PID" && ok "nfdp exited cleanly" || fail "nfdp exited with status $?"
fi
NFDP_PID=""
grep -q "nfdp: stopped" "$WORK/nfdp.log" || fail "no clean stop in the log"
[ "$(sha256sum <configs/lab.rules)" = "$RULES_SUM" ] && ok "configs/lab.rules is unchanged (changes were persisted to the lab's copy)" \
  || fail "configs/lab.rules was modified"

say "reference: the same iperf3 run with the kernel of ${P}r as the router (same rules)"
# The kernel takes over the NIC ends: nfdp's addresses on r-lan/r-wan, forwarding on, and
# configs/lab.rules with the port names swapped. Informational: printed, not asserted.
in_ns r iptables -t raw -F PREROUTING
in_ns r ip addr flush dev nfdp0 2>/dev/null || true
# DPDK 22.11's net_af_xdp cannot detach its XDP program on close when libxdp finds no bpf
# filesystem (it logs "Error while removing XDP program"); left attached, every frame the
# kernel forwards would go through it (and be copied by veth), slowing the reference.
for i in r-lan r-wan; do in_ns r ip link set dev "$i" xdp off; done
in_ns r ip link set r-lan address 02:00:00:00:01:01
in_ns r ip link set r-wan address 02:00:00:00:02:01
in_ns r ip addr add 192.168.1.1/24 dev r-lan
in_ns r ip addr add 203.0.113.1/24 dev r-wan
in_ns r sysctl -qw net.ipv4.ip_forward=1
sed -e 's/lan0/r-lan/g' -e 's/wan0/r-wan/g' configs/lab.rules | in_ns r iptables-restore
if in_ns h1 iperf3 -c 203.0.113.254 -t 3 -J >"$WORK/iperf3-kernel.json" 2>/dev/null; then
  kmbps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["end"]["sum_received"]["bits_per_second"]/1e6))' "$WORK/iperf3-kernel.json")
  echo "  iperf3 through the kernel: $kmbps Mbit/s; through nfdp (${PMD:-?} PMD, workers on cores [${LAB_WORKERS:-1}]): ${mbps:-?} Mbit/s"
  # Retransmitted segments: losses on the way (a full af_packet ring, a full tx queue).
  retr='import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_sent"].get("retransmits","?"))'
  echo "  TCP retransmits: kernel $(python3 -c "$retr" "$WORK/iperf3-kernel.json"), nfdp $(python3 -c "$retr" "$WORK/iperf3.json" 2>/dev/null || echo ?)"
else
  echo "  iperf3 through the kernel failed (reference only)"
fi

if [ "$FAILED" != 0 ]; then
  echo; echo "--- nfdp log"; tail -50 "$WORK/nfdp.log"
  echo "lab: FAILED" >&2; exit 1
fi
echo; echo "lab: all observations passed"
