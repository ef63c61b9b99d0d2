#!/usr/bin/env bash
# Floods in the lab (issue 13, item 3): real attack traffic from real tools (hping3, a raw
# ARP sender) through nfdp between network namespaces, beside legitimate traffic, each
# flood asserted on what nfdp must keep and must bound:
#   syn   spoofed SYNs from the LAN, FLOODS_PPS x FLOODS_SECONDS of them (120,000 by default,
#         29x nf_conntrack_max, 4096 here; hping3 sends a little slower than asked), to a port the
#         server silently drops (the entries stay in SYN_SENT, 120 s): early drop makes room,
#         the table never exceeds its limit, the ASSURED connection keeps flowing and new
#         connections still open;
#   udp   UDP from random spoofed sources and ports: the same bounds;
#   frag  first fragments from random sources that never complete, beside real fragmented
#         pings (1800 bytes, two fragments each way), whose answers are reported. In this
#         lab the fragments never reach nfdp's reassembly: DPDK's af_packet PMD joins its
#         sockets to a PACKET_FANOUT group with PACKET_FANOUT_FLAG_DEFRAG, so the router
#         namespace's kernel reassembles IPv4 fragments (within its own ipfrag memory bound)
#         before nfdp reads them, and nfdp sends the datagram on in fragments of the egress
#         MTU. (A datagram reassembled there to more than 1982 bytes no longer fits the
#         PMD's 2048-byte ring frame and reaches nfdp truncated: counted as malformed.) So
#         here the flood fills the namespace kernel's fragment memory, which then refuses
#         new fragments (ReasmFails), real ones included: the pings answered measure that
#         kernel, not nfdp, and are reported, not asserted. On a NIC nfdp sees the
#         fragments; its reassembly bound (oldest incomplete datagrams evicted, real ones
#         still reassembled) is asserted by S7's `frag` flood (perf/tests/floods.rs);
#   icmp  ICMP errors from the WAN quoting connections that do not exist: INVALID, no
#         state, nothing forwarded to the LAN;
#   arp   ARP requests from random senders in 192.168.2.0-192.168.255.255 (not the LAN
#         host's /24: a request claiming the LAN host's address with another MAC is ARP
#         spoofing, which the kernel believes too; arptables is the answer) plus packets
#         to random unresolved on-link addresses (100.64.0.0/10 on wan0): the neighbour
#         table and its queues stay bounded (drops counted as no_neighbor), the entries in
#         use (the LAN host, the gateway) stay.
# Legitimate traffic during each flood: one iperf3 TCP stream h1 -> wan capped at
# FLOODS_TCP_MBPS (default 100) Mbit/s, started before the flood (ASSURED), and a new
# iperf3 connection every second. Reported per flood: the stream's rate during the flood
# against before it (kept), new connections opened, nfdp's RSS and conntrack entries at
# their highest, the counters that took the flood. A flood's rate: FLOODS_PPS (default
# 20000) packets a second, FLOODS_SECONDS (default 6) seconds.
#
#   h1 (192.168.1.10) -- r-lan |nfdp in ns r| r-wan -- wan (203.0.113.254)
#
# The lab's config and rules (configs/lab.toml, lab.rules) with nf_conntrack_max 4096 and
# the on-link 100.64.0.0/10 route; its own namespaces (FLOODS_PREFIX, default nfl-) and EAL
# file prefix. Needs root, hping3 and iperf3 (scripts/setup.sh). About 90 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
P=${FLOODS_PREFIX:-nfl-}
NFDP=${NFDP:-target/release/nfdp}
NFDPCTL=${NFDPCTL:-target/release/nfdpctl}
PPS=${FLOODS_PPS:-20000}
SECS=${FLOODS_SECONDS:-6}
TCP_MBPS=${FLOODS_TCP_MBPS:-100}
CT_MAX=4096
OUT=${FLOODS_OUT:-target/floods}
WORK=$(mktemp -d /tmp/nfdp-floods.XXXXXX)
NFDP_PID=""
FAILED=0

# shellcheck source=tests/lab/lib.sh
. tests/lab/lib.sh

cleanup() {
  set +e
  lab_teardown h1 wan r
  rm -rf "$WORK"
}
trap cleanup EXIT

lab_require floods
command -v hping3 >/dev/null || { echo "floods: needs hping3 (apt-get install hping3)" >&2; exit 1; }
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)

say "building: namespaces ${P}h1 ${P}wan ${P}r"
cleanup 2>/dev/null; WORK=$(mktemp -d /tmp/nfdp-floods.XXXXXX)
two_host_lab_up
# The SYN flood's port is silently dropped by the server, so its entries wait in SYN_SENT.
in_ns wan iptables -A INPUT -p tcp --dport 80 -j DROP
in_ns wan iptables -A INPUT -p udp -j DROP
in_ns wan iperf3 -s -B 203.0.113.254 -p 5201 >"$WORK/iperf3-server.log" 2>&1 &
in_ns wan iperf3 -s -B 203.0.113.254 -p 5202 >"$WORK/iperf3-server2.log" 2>&1 &
for port in 5201 5202; do
  for _ in $(seq 1 50); do in_ns wan ss -Hltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
done

cp configs/lab.rules "$WORK/lab.rules"
# ip6tables' side ([rules] file6 = "lab.rules6", found beside the copied config).
cp configs/lab.rules6 "$WORK/lab.rules6"
SOCK=$WORK/nfdp.sock
sed -e "s|^file = \"lab.rules\"|file = \"$WORK/lab.rules\"|" -e "s|^socket = .*|socket = \"$SOCK\"|" \
  -e "s|^nf_conntrack_max = .*|nf_conntrack_max = $CT_MAX|" \
  -e "s|\"--file-prefix\", \"nfdp-lab\"|\"--file-prefix\", \"nfdp-${P}floods\"|" configs/lab.toml >"$WORK/lab.toml"
cat >>"$WORK/lab.toml" <<'EOF'

# floods.sh: an on-link prefix on the WAN, so that every address in it needs ARP.
[[route]]
dst = "100.64.0.0/10"
dev = "wan0"
EOF
grep -q "nfdp-${P}floods" "$WORK/lab.toml" && grep -q "nf_conntrack_max = $CT_MAX" "$WORK/lab.toml" \
  || { echo "floods: could not adapt the lab config" >&2; exit 1; }
lab_start_nfdp floods "$WORK/lab.toml"
in_ns h1 ping -c 2 -i 0.2 -W 2 203.0.113.254 >/dev/null || { echo "floods: no path through nfdp" >&2; exit 1; }

ctl() { "$NFDPCTL" --socket "$SOCK" "$@"; }
metrics() { in_ns r curl -sS --max-time 5 http://127.0.0.1:9469/metrics; }
# A metric as a whole number: the line named exactly (labels included, as Prometheus
# prints them), or the sum over every label set of a bare name (the per-worker series);
# 0 when absent (a counter not yet touched).
metric() { metrics | awk -v m="$1" '$1 == m || index($1, m "{") == 1 {v += $2} END {printf "%d\n", v}'; }
drops() { metric "nfdp_drops_total{reason=\"$1\"}"; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/"$NFDP_PID"/status; }
rx_packets() { echo $(( $(metric 'nfdp_port_receive_packets_total{port="lan0"}') + $(metric 'nfdp_port_receive_packets_total{port="wan0"}') )); }
hwm_kb() { awk '/^VmHWM/ {print $2}' /proc/"$NFDP_PID"/status; }
ARP_SENDER=$WORK/arp_flood.py
cat >"$ARP_SENDER" <<'PY'
# ARP requests from random senders in 192.168.2.0-192.168.255.255 (random MACs) for the
# gateway's LAN address, at a given rate for a given time, through a raw packet socket.
import random, socket, struct, sys, time
iface, pps, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
rnd = random.Random(20261206)
gw = socket.inet_aton("192.168.1.1")
end = time.monotonic() + secs
sent = 0
while time.monotonic() < end:
    t0 = time.monotonic()
    for _ in range(max(1, pps // 100)):
        mac = bytes([0x02, rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)])
        ip = bytes([192, 168, rnd.randrange(2, 256), rnd.randrange(1, 255)])
        frame = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\x00" * 6 + gw
        s.send(frame)
        sent += 1
    time.sleep(max(0.0, 0.01 - (time.monotonic() - t0)))
print(sent)
PY

# Per-second received Mbit/s of an iperf3 -J run, as a JSON list.
series() { python3 -c 'import json,sys; print(json.dumps([round(i["sum"]["bits_per_second"]/1e6,1) for i in json.load(open(sys.argv[1]))["intervals"]]))' "$1"; }

# run_flood NAME CMD...: the stream before (3 s), during the flood (SECS) and after (3 s);
# a new short connection every second; RSS and conntrack sampled every 0.5 s.
run_flood() {
  local name=$1; shift
  say "$name: $*"
  local ct_max=0 ct rss_max=0 rss i
  in_ns h1 iperf3 -c 203.0.113.254 -p 5201 -b "${TCP_MBPS}M" -t $((SECS + 7)) -i 1 -J >"$WORK/$name-stream.json" 2>"$WORK/$name-stream.err" &
  local stream=$!
  sleep 3
  local hwm0 rss0 rx0
  hwm0=$(hwm_kb); rss0=$(rss_kb); rx0=$(rx_packets)
  # A session of its own, so that the whole flood (hping3 under ip netns exec) stops at
  # the end of its time even when the tool sends slower than asked and is not done.
  setsid "$@" >"$WORK/$name-flood.out" 2>&1 &
  local flood=$!
  local opened=0 tried=0
  local t_end=$(( $(date +%s) + SECS ))
  while [ "$(date +%s)" -lt "$t_end" ]; do
    tried=$((tried + 1))
    if in_ns h1 timeout 3 iperf3 -c 203.0.113.254 -p 5202 -n 64K -J >"$WORK/$name-short.json" 2>/dev/null; then
      opened=$((opened + 1))
    fi
    for i in 1 2; do
      ct=$(metric nfdp_conntrack_entries)
      [ "$ct" -gt "$ct_max" ] && ct_max=$ct
      rss=$(rss_kb); [ "$rss" -gt "$rss_max" ] && rss_max=$rss
      sleep 0.3
    done
  done
  kill -- -"$flood" 2>/dev/null; wait "$flood" 2>/dev/null || true
  local rx=$(( $(rx_packets) - rx0 ))
  local rc=0; wait "$stream" || rc=$?
  if ! kill -0 "$NFDP_PID" 2>/dev/null; then fail "$name: nfdp exited: $(tail -5 "$WORK/nfdp.log")"; return; fi
  ok "$name: nfdp still runs"
  if [ "$rc" != 0 ]; then fail "$name: the established stream broke: $(cat "$WORK/$name-stream.err")"; return; fi
  local s; s=$(series "$WORK/$name-stream.json")
  # Seconds 1-3 before, 4..3+SECS during (the first second of the flood included).
  read -r before during after kept < <(python3 - "$s" "$SECS" <<'PY'
import json, statistics, sys
s, n = json.loads(sys.argv[1]), int(sys.argv[2])
before, during, after = s[1:3], s[3:3 + n], s[3 + n:]
b, d, a = statistics.median(before), statistics.median(during), statistics.median(after or [0])
print(b, d, a, round(100 * d / b, 1) if b else 0)
PY
)
  note "$name: stream Mbit/s per second $s: before $before, during $during (kept ${kept}%), after $after"
  python3 -c 'import sys; sys.exit(0 if min(float(x) for x in sys.argv[1].strip("[]").split(",")) > 1 else 1)' "$s" \
    && ok "$name: the ASSURED stream moved data in every second" || fail "$name: the stream stalled: $s"
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.5 * float(sys.argv[2]) else 1)' "$after" "$before" \
    && ok "$name: after the flood the stream is back ($after Mbit/s, $before before)" || fail "$name: after the flood $after Mbit/s against $before before"
  [ "$opened" -ge $(( (tried + 1) / 2 )) ] && ok "$name: new connections during the flood: $opened of $tried opened" \
    || fail "$name: new connections during the flood: only $opened of $tried opened"
  [ "$ct_max" -le "$CT_MAX" ] && ok "$name: conntrack entries at most $ct_max (limit $CT_MAX)" || fail "$name: conntrack entries reached $ct_max, over $CT_MAX"
  note "$name: nfdp received $rx packets on lan0 and wan0 during the flood (the stream's and the flood's)"
  note "$name: RSS ${rss0} KiB before, at most ${rss_max} KiB during (high-water mark ${hwm0} -> $(hwm_kb) KiB)"
  printf '{"flood":"%s","stream_before_mbps":%s,"stream_during_mbps":%s,"stream_after_mbps":%s,"kept_pct":%s,"new_conns_opened":%d,"new_conns_tried":%d,"conntrack_max_seen":%d,"rss_before_kb":%d,"rss_max_kb":%d,"nfdp_rx_packets":%d}\n' \
    "$name" "$before" "$during" "$after" "$kept" "$opened" "$tried" "$ct_max" "$rss0" "$rss_max" "$rx" >>"$OUT/floods.jsonl"
  FLOOD_CT_MAX=$ct_max
}

: >"$OUT/floods.jsonl"
us=$((1000000 / PPS))
count=$((PPS * SECS))

early0=$(metric nfdp_conntrack_stat_early_drop_total)
run_flood syn ip netns exec "${P}h1" hping3 -S -p 80 --rand-source -i "u$us" -c "$count" -q 203.0.113.254
early=$(( $(metric nfdp_conntrack_stat_early_drop_total) - early0 ))
[ "$early" -gt $((CT_MAX * 2)) ] && ok "syn: early drop made room $early times (the flood filled the table many times over)" \
  || fail "syn: early drop only $early times: did the flood reach conntrack?"
[ "$FLOOD_CT_MAX" -ge $((CT_MAX * 9 / 10)) ] && ok "syn: the flood filled the table ($FLOOD_CT_MAX of $CT_MAX)" \
  || fail "syn: the table never filled ($FLOOD_CT_MAX of $CT_MAX)"
ctl conntrack -F >/dev/null

early0=$(metric nfdp_conntrack_stat_early_drop_total)
run_flood udp ip netns exec "${P}h1" hping3 --udp -p ++1024 --rand-source -i "u$us" -c "$count" -q 203.0.113.254
early=$(( $(metric nfdp_conntrack_stat_early_drop_total) - early0 ))
[ "$early" -gt $((CT_MAX * 2)) ] && ok "udp: early drop made room $early times" || fail "udp: early drop only $early times"
ctl conntrack -F >/dev/null

defrag0=$(drops defrag)
in_ns h1 ping -s 1800 -i 0.2 -c $((SECS * 5 + 10)) -W 1 203.0.113.254 >"$WORK/frag-ping.txt" 2>&1 &
PING=$!
# First fragments (MF set, offset 0) from random sources, never followed by the rest.
run_flood frag ip netns exec "${P}h1" hping3 --udp -p 9 --rand-source -x -d 64 -i "u$us" -c "$count" -q 203.0.113.254
wait "$PING" || true
sent=$(awk '/packets transmitted/ {print $1}' "$WORK/frag-ping.txt"); got=$(awk '/packets transmitted/ {print $4}' "$WORK/frag-ping.txt")
note "frag: 1800-byte pings (two fragments each way) answered: ${got:-0} of ${sent:-?} (fragments reassembled by the namespace kernel for af_packet: see the header)"
note "frag: nfdp's drops{defrag} $(( $(drops defrag) - defrag0 )) (the namespace's kernel held the incomplete datagrams: $(in_ns r cat /proc/net/snmp | awk '/^Ip:/ {n++; for (i = 2; i <= NF; i++) if (n == 1) k[i] = $i; else if (k[i] ~ /^Reasm(OKs|Fails|Timeout)$/) printf "%s %s ", k[i], $i}'))"
ctl conntrack -F >/dev/null

invalid0=$(metric nfdp_conntrack_stat_invalid_total)
lan_tx0=$(metric 'nfdp_port_transmit_packets_total{port="lan0"}')
# Destination unreachable (port) to the appliance's WAN address, quoting a UDP packet of a
# connection that does not exist.
run_flood icmp ip netns exec "${P}wan" hping3 --icmp -C 3 -K 3 --rand-source --icmp-ipsrc 203.0.113.1 --icmp-ipdst 198.51.100.7 \
  --icmp-ipproto 17 --icmp-srcport 40000 --icmp-dstport 53 -i "u$us" -c "$count" -q 203.0.113.1
invalid=$(( $(metric nfdp_conntrack_stat_invalid_total) - invalid0 ))
[ "$invalid" -ge $((PPS * SECS / 4)) ] && ok "icmp: conntrack judged $invalid errors INVALID" || fail "icmp: only $invalid INVALID"
note "icmp: lan0 transmitted $(( $(metric 'nfdp_port_transmit_packets_total{port="lan0"}') - lan_tx0 )) packets during the flood (the stream's ACKs and short connections)"
ctl conntrack -F >/dev/null

noneigh0=$(drops no_neighbor)
run_flood arp bash -c "ip netns exec ${P}h1 python3 $ARP_SENDER eth0 $((PPS / 4)) $SECS & ip netns exec ${P}h1 hping3 --udp -p 9 --rand-dest -I eth0 -i u$((us * 2)) -c $((count / 2)) -q 100.64.x.x; wait"
note "arp: drops{no_neighbor} $(( $(drops no_neighbor) - noneigh0 )) (packets to unresolved addresses beyond the queues)"
neigh=$(ctl ip neigh 2>/dev/null | wc -l || echo '?')
note "arp: neighbour entries listed after the flood: $neigh"
gw=$(ctl ip neigh 2>/dev/null | grep -w '203.0.113.254' || true)
[ -n "$gw" ] && ok "arp: the gateway's entry is still there: $gw" || fail "arp: the gateway's neighbour entry is gone"
out=$(in_ns h1 ping -c 5 -i 0.2 -W 1 203.0.113.254 2>&1 | grep 'packets transmitted')
grep -q ' 5 received' <<<"$out" && ok "after every flood: pings through the appliance all answered ($out)" || fail "after the floods: $out"

say "drops by reason (nfdpctl stats)"
ctl stats | awk '/^DROP REASON/ {d=1} d' | sed 's/^/    /'
note "per flood: $OUT/floods.jsonl"

say "stopping nfdp (SIGTERM)"
kill -TERM "$NFDP_PID"
for _ in $(seq 1 50); do kill -0 "$NFDP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$NFDP_PID" 2>/dev/null; then fail "nfdp did not stop on SIGTERM"; else
  wait "$NFDP_PID" 2>/dev/null && ok "nfdp stopped cleanly" || fail "nfdp exited with an error: $(tail -3 "$WORK/nfdp.log")"
fi
NFDP_PID=""
if [ "$FAILED" = 0 ]; then echo "floods: PASS"; else echo "floods: FAIL"; exit 1; fi
