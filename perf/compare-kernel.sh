#!/usr/bin/env bash
# nfdp against the Linux kernel as a router, same generator, same rules (root).
#
#   ns T (tester)                 ns R (router)                      ns T
#   nfdp-pktgen tx: t-lan ==veth== r-lan [kernel or nfdp] r-wan ==veth== t-wan :rx
#
# nfdp-pktgen runs in T on net_af_packet over t-lan (transmit) and t-wan (receive): 64-byte
# UDP, 64 flows from 192.168.1.10 to 198.51.100.1, unpaced. The router is first the
# kernel (ip_forward, iptables-restore of the rules file, conntrack), then nfdp
# (target/release/nfdp --config, net_af_packet ports r-lan/r-wan, one worker) with the same
# rules file: MASQUERADE on r-wan and N FORWARD rules the traffic does not match, then
# ACCEPT. Before that, the generator's own ceiling: t-lan's twin pair straight to the
# receive port. Rates are what arrives at t-wan.
#
# With --proto tcp the generator plays both ends of TCP connections instead (client on t-lan,
# server on t-wan, answering through the router: 4096 slots, one data segment each, opened as
# fast as slots free up) and the figure is connections completed per second; both routers
# track TCP windows strictly (nf_conntrack_tcp_loose=0).
#
# Usage: perf/compare-kernel.sh [--quick] [--json FILE] [--rules 10,1000,10000,50000]
#        [--seconds 5] [--proto udp|tcp]. Needs: target/release/nfdp-pktgen (cargo build --release -p perf
#        --features dpdk) and target/release/nfdp (cargo build --release -p control
#        --features dpdk), iptables, ip, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${CMPK_PREFIX:-nfk-}
PKTGEN=${PKTGEN:-target/release/nfdp-pktgen}
NFDP=${NFDP:-target/release/nfdp}
RULES_LIST=10,1000,10000,50000
SECONDS_PER_RUN=5
JSON=""
PROTO=udp
while [ $# -gt 0 ]; do
  case $1 in
    --quick) SECONDS_PER_RUN=2 ;;
    --json) JSON=$2; shift ;;
    --rules) RULES_LIST=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    --proto) PROTO=$2; shift ;;
    *) echo "compare-kernel: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
case $PROTO in udp|tcp) ;; *) echo "compare-kernel: --proto udp or tcp" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "compare-kernel: needs root (network namespaces)" >&2; exit 1; }
for b in "$PKTGEN" "$NFDP"; do
  [ -x "$b" ] || { echo "compare-kernel: $b not found (cargo build --release -p perf --features dpdk; cargo build --release -p control --features dpdk)" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/nfdp-cmpk.XXXXXX)
NFDP_PID=""
cleanup() {
  set +e
  [ -n "$NFDP_PID" ] && kill -TERM "$NFDP_PID" 2>/dev/null && sleep 0.5 && kill -KILL "$NFDP_PID" 2>/dev/null
  for ns in T R; do
    ip netns pids "$P$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$P$ns" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
cleanup 2>/dev/null
WORK=$(mktemp -d /tmp/nfdp-cmpk.XXXXXX)
in_ns() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }

LAN_MAC=02:00:00:00:01:01   # the router's r-lan (kernel and nfdp alike)
WAN_MAC=02:00:00:00:02:01
SINK_MAC=02:00:00:00:02:fe  # t-wan: the next hop 203.0.113.254
HOST_MAC=02:00:00:00:01:10  # t-lan: the LAN host 192.168.1.10 (TCP replies come back to it)

ip netns add "${P}T"; ip netns add "${P}R"
in_ns T ip link set lo up; in_ns R ip link set lo up
ip link add t-lan netns "${P}T" type veth peer name r-lan netns "${P}R"
ip link add r-wan netns "${P}R" type veth peer name t-wan netns "${P}T"
ip link add t-c0 netns "${P}T" type veth peer name t-c1 netns "${P}T"
in_ns T ip link set t-wan address $SINK_MAC
in_ns T ip link set t-lan address $HOST_MAC
in_ns R ip link set r-lan address $LAN_MAC
in_ns R ip link set r-wan address $WAN_MAC
for i in t-lan t-wan t-c0 t-c1; do in_ns T ip link set "$i" up; done
for i in r-lan r-wan; do in_ns R ip link set "$i" up; done
in_ns R sysctl -qw net.ipv6.conf.all.disable_ipv6=1
in_ns T sysctl -qw net.ipv6.conf.all.disable_ipv6=1

CORES=$(nproc)
echo "compare-kernel: ${SECONDS_PER_RUN} s per run, rules: $RULES_LIST, $CORES CPU(s)"
echo "caveat: on $CORES cores the generator (busy-polling), nfdp's worker (busy-polling) and the kernel's softirq work share the CPUs; af_packet costs a system call per burst on both sides of each veth."

# pktgen RUN_NAME TX_IFACE RX_IFACE: one unpaced run, JSON in $WORK/RUN_NAME.json.
if [ "$PROTO" = tcp ]; then
  TRAFFIC=(--proto tcp --sport 10000-14095 --dport 80 --flows 4096 --new-conn-rate 0 --segments 1 --size 128 --conn-timeout 1)
else
  TRAFFIC=(--sport 1024-1087 --dport 9 --flows 64 --size 64)
fi
pktgen() {
  in_ns T "$PKTGEN" --tx "net_af_packet0,iface=$2,qdisc_bypass=1" --rx "net_af_packet1,iface=$3" \
    --src 192.168.1.10 --dst 198.51.100.1 "${TRAFFIC[@]}" \
    --dst-mac $LAN_MAC --duration "$SECONDS_PER_RUN" --quiet --eal=-l --eal=0 \
    --json "$WORK/$1.json" >"$WORK/$1.txt" 2>&1 || { cat "$WORK/$1.txt" >&2; return 1; }
}
# UDP: packets/s received and sent. TCP: connections completed and opened per second.
rx_pps() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["run"]; print(round(r["completed_per_s"] if "completed_per_s" in r else r["rx_pps"]))' "$WORK/$1.json"; }
tx_pps() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["run"]; print(round(r["cps"] if "cps" in r else r["tx_pps"]))' "$WORK/$1.json"; }

# The generator's own ceiling: t-c0 -> t-c1, no router.
pktgen ceiling t-c0 t-c1
CEIL_TX=$(tx_pps ceiling); CEIL_RX=$(rx_pps ceiling)
echo "generator ceiling (af_packet veth straight to the receive port): sent $CEIL_TX pps, received $CEIL_RX pps"

rules_file() { # N FILE
  python3 - "$1" >"$2" <<'PY'
import sys
n = int(sys.argv[1])
out = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
       ":POSTROUTING ACCEPT [0:0]", "-A POSTROUTING -o r-wan -j MASQUERADE", "COMMIT",
       "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
for i in range(n):
    out.append("-A FORWARD -s 10.%d.%d.0/24 -p tcp --dport %d -j DROP" % ((i >> 8) & 255, i & 255, 1000 + i % 1000))
out += ["-A FORWARD -j ACCEPT", "COMMIT"]
print("\n".join(out))
PY
}

kernel_router() {
  in_ns R ip addr add 192.168.1.1/24 dev r-lan
  in_ns R ip addr add 203.0.113.1/24 dev r-wan
  in_ns R ip route add default via 203.0.113.254
  in_ns R ip neigh replace 203.0.113.254 lladdr $SINK_MAC dev r-wan nud permanent
  in_ns R ip neigh replace 192.168.1.10 lladdr $HOST_MAC dev r-lan nud permanent
  in_ns R sysctl -qw net.ipv4.ip_forward=1
  in_ns R sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.r-lan.rp_filter=0
}
kernel_router_down() {
  in_ns R iptables -t filter -F; in_ns R iptables -t nat -F
  in_ns R sysctl -qw net.ipv4.ip_forward=0
  in_ns R ip addr flush dev r-lan; in_ns R ip addr flush dev r-wan
}

nfdp_config() { # RULES_FILE
  cat <<TOML
[eal]
args = ["--no-huge", "-m", "1024", "--no-pci", "--file-prefix", "nfdp-cmpk-$$"]

[dataplane]
workers = [1]
burst = 32

[[port]]
name = "r-lan"
driver = "net_af_packet"
args = "iface=r-lan"
mac = "$LAN_MAC"
addresses = ["192.168.1.1/24"]
mtu = 1500

[[port]]
name = "r-wan"
driver = "net_af_packet"
args = "iface=r-wan"
mac = "$WAN_MAC"
addresses = ["203.0.113.1/24"]
mtu = 1500

[[route]]
dst = "0.0.0.0/0"
via = "203.0.113.254"

[[neighbor]]
ip = "203.0.113.254"
mac = "$SINK_MAC"

[[neighbor]]
ip = "192.168.1.10"
mac = "$HOST_MAC"

[conntrack]
nf_conntrack_max = 262144
nf_conntrack_tcp_loose = 0

[rules]
file = "$1"

[api]
socket = "$WORK/nfdp.sock"

[metrics]
listen = "127.0.0.1:9479"
TOML
}

now_ms() { date +%s%3N; }
RESULTS=$WORK/results.txt
: >"$RESULTS"
IFS=, read -r -a COUNTS <<<"$RULES_LIST"
for n in "${COUNTS[@]}"; do
  f=$WORK/rules-$n.txt
  rules_file "$n" "$f"
  # The kernel.
  kernel_router
  t0=$(now_ms); in_ns R iptables-restore <"$f"; t1=$(now_ms)
  K_LOAD=$((t1 - t0))
  in_ns R sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true
  pktgen "kernel-$n" t-lan t-wan
  K_PPS=$(rx_pps "kernel-$n"); K_TX=$(tx_pps "kernel-$n")
  kernel_router_down
  # nfdp: the kernel of R must not answer or forward on r-lan/r-wan (nfdp owns them).
  for i in r-lan r-wan; do in_ns R iptables -t raw -A PREROUTING -i "$i" -j DROP; done
  t0=$(now_ms); "$NFDP" ruleset --check "$f" >/dev/null; t1=$(now_ms)
  N_CHECK=$((t1 - t0))
  nfdp_config "$f" >"$WORK/nfdp.toml"
  t0=$(now_ms)
  ip netns exec "${P}R" env RUST_LOG=info NO_COLOR=1 "$NFDP" --config "$WORK/nfdp.toml" >"$WORK/nfdp-$n.log" 2>&1 &
  NFDP_PID=$!
  for _ in $(seq 1 600); do
    grep -q "nfdp: running" "$WORK/nfdp-$n.log" && break
    kill -0 "$NFDP_PID" 2>/dev/null || { cat "$WORK/nfdp-$n.log" >&2; echo "compare-kernel: nfdp exited" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(now_ms)
  grep -q "nfdp: running" "$WORK/nfdp-$n.log" || { cat "$WORK/nfdp-$n.log" >&2; echo "compare-kernel: nfdp did not start" >&2; exit 1; }
  N_LOAD=$((t1 - t0))
  pktgen "nfdp-$n" t-lan t-wan
  N_PPS=$(rx_pps "nfdp-$n"); N_TX=$(tx_pps "nfdp-$n")
  kill -TERM "$NFDP_PID"; wait "$NFDP_PID" 2>/dev/null || true; NFDP_PID=""
  in_ns R iptables -t raw -F
  echo "$n $K_TX $K_PPS $N_TX $N_PPS $K_LOAD $N_LOAD $N_CHECK" >>"$RESULTS"
  echo "  $n rules: kernel $K_PPS pps, nfdp $N_PPS pps (offered $K_TX / $N_TX); iptables-restore $K_LOAD ms, nfdp start-to-running $N_LOAD ms, nfdp ruleset --check $N_CHECK ms"
done

python3 - "$RESULTS" "$CEIL_TX" "$CEIL_RX" "$SECONDS_PER_RUN" "$CORES" "${JSON:-}" "$PROTO" <<'PY'
import json, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
ceil_tx, ceil_rx, secs, cores, out = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
proto = sys.argv[7]
print()
if proto == "tcp":
    print("TCP connections (handshake, one 128-byte data segment, teardown), 4096 slots, MASQUERADE + N non-matching FORWARD rules;"
          " the pps columns are connections completed per second (offered: opened per second)")
else:
    print("64-byte UDP, 64 flows, MASQUERADE + N non-matching FORWARD rules; packets/s received behind the router")
print("generator ceiling on the same kind of veth, no router: %d pps received (%d sent)" % (ceil_rx, ceil_tx))
print("%8s %12s %7s %12s %7s %9s %10s %14s %14s %14s" % ("rules", "kernel pps", "loss", "nfdp pps", "loss", "nfdp/kern", "nfdp/ceil", "ipt-restore ms", "nfdp start ms", "nfdp check ms"))
res = {}
loss = lambda tx, rx: 100.0 * (tx - rx) / tx if tx else 0.0
for n, ktx, k, ntx, nf, kl, nl, nc in rows:
    ratio = nf / k if k else None
    print("%8d %12d %6.1f%% %12d %6.1f%% %9s %9.0f%% %14d %14d %14d" % (n, k, loss(ktx, k), nf, loss(ntx, nf), "%.2fx" % ratio if ratio else "-", 100.0 * nf / ceil_rx if ceil_rx else 0, kl, nl, nc))
    res[str(n)] = {"kernel_pps": k, "kernel_offered_pps": ktx, "nfdp_pps": nf, "nfdp_offered_pps": ntx,
                   "ratio": ratio, "nfdp_of_generator_ceiling": nf / ceil_rx if ceil_rx else None,
                   "iptables_restore_ms": kl, "nfdp_start_to_running_ms": nl, "nfdp_ruleset_check_ms": nc}
print("nfdp load time: from starting target/release/nfdp --config to its \"nfdp: running\" line (EAL, ports, rules compiled);"
      " `nfdp ruleset --check` (parse and validate only) beside it.")
print("caveat: %d CPU(s) shared by the generator, nfdp's worker and the kernel's softirq; when nfdp's rate is near the"
      " generator ceiling the generator, not nfdp, is the limit. Over veth the kernel router forwards in the softirq of"
      " the generator's own send call, so a slow kernel also slows what is offered to it (its loss stays low)." % cores)
if out:
    json.dump({"proto": proto, "seconds_per_run": secs, "cores": cores, "generator_ceiling_pps": ceil_rx,
               "generator_ceiling_sent_pps": ceil_tx, "by_rules": res,
               "nfdp_load": "start to running (and ruleset --check)"}, open(out, "w"), indent=2)
    print("JSON:", out)
PY
