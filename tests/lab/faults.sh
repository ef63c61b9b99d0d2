#!/usr/bin/env bash
# Faults under traffic (issue 13, item 4), each asserted on what it observes:
#   (a) a port's link goes down and comes back (`ip link set r-wan down`, 2 s, `up`) under
#       an iperf3 run and a 10 Hz ping through the appliance: the TCP connection resumes
#       (the same one: iperf3 finishes without error, data flows again after the up), the
#       pings lost are counted;
#   (b) the TAP interface (nfdp0, the host stack's port) is deleted under the daemon while
#       traffic flows: nfdp keeps forwarding, reports the port down (log and
#       nfdp_port_link_up{port="nfdp0"} 0), does not crash and does not spin (its control
#       and API threads stay idle, the log does not grow).
#
#   h1 (192.168.1.10) -- r-lan |nfdp in ns r| r-wan -- wan (203.0.113.254)
#
# The same config and rules as the lab (configs/lab.toml, lab.rules), its own namespaces
# (FAULTS_PREFIX, default nff-) and EAL file prefix, so it runs beside tests/lab/run.sh.
# Needs root. NFDP and NFDPCTL name the binaries. About 55 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
P=${FAULTS_PREFIX:-nff-}
NFDP=${NFDP:-target/release/nfdp}
NFDPCTL=${NFDPCTL:-target/release/nfdpctl}
WORK=$(mktemp -d /tmp/nfdp-faults.XXXXXX)
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

lab_require faults

say "building: namespaces ${P}h1 ${P}wan ${P}r"
cleanup 2>/dev/null; WORK=$(mktemp -d /tmp/nfdp-faults.XXXXXX)
two_host_lab_up
in_ns wan iperf3 -s -B 203.0.113.254 >"$WORK/iperf3-server.log" 2>&1 &
for _ in $(seq 1 50); do in_ns wan ss -Hltn "sport = :5201" | grep -q LISTEN && break; sleep 0.1; done

cp configs/lab.rules "$WORK/lab.rules"
# ip6tables' side ([rules] file6 = "lab.rules6", found beside the copied config).
cp configs/lab.rules6 "$WORK/lab.rules6"
SOCK=$WORK/nfdp.sock
sed -e "s|^file = \"lab.rules\"|file = \"$WORK/lab.rules\"|" -e "s|^socket = .*|socket = \"$SOCK\"|" \
  -e "s|\"--file-prefix\", \"nfdp-lab\"|\"--file-prefix\", \"nfdp-${P}faults\"|" configs/lab.toml >"$WORK/lab.toml"
grep -q "nfdp-${P}faults" "$WORK/lab.toml" || { echo "faults: could not set the EAL file prefix" >&2; exit 1; }
lab_start_nfdp faults "$WORK/lab.toml"
in_ns h1 ping -c 2 -i 0.2 -W 2 203.0.113.254 >/dev/null || { echo "faults: no path through nfdp" >&2; exit 1; }
metric() { in_ns r curl -sS --max-time 5 http://127.0.0.1:9469/metrics | awk -v m="$1" '$1 == m {print $2}'; }
# A thread's CPU time in clock ticks (utime + stime) by its name.
thread_ticks() {
  local t sum=0
  for t in /proc/"$NFDP_PID"/task/*; do
    [ "$(cat "$t/comm")" = "$1" ] || continue
    sum=$((sum + $(awk '{print $14 + $15}' "$t/stat")))
  done
  echo "$sum"
}
# iperf3 -J intervals: per second received, as "t:Mbit/s" words.
intervals() { python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%d:%d" % (round(i["sum"]["end"]), i["sum"]["bits_per_second"] / 1e6) for i in d["intervals"]))' "$1"; }

say "(0) reference: the same load without a fault (iperf3 8 s, ping at 10 Hz)"
in_ns h1 ping -i 0.1 -c 80 -W 1 203.0.113.254 >"$WORK/ping-0.txt" 2>&1 &
PING=$!
in_ns h1 iperf3 -c 203.0.113.254 -t 8 -i 1 -J >"$WORK/iperf3-0.json" 2>"$WORK/iperf3-0.err" || fail "iperf3 without a fault: $(cat "$WORK/iperf3-0.err")"
wait "$PING" || true
sent0=$(awk '/packets transmitted/ {print $1}' "$WORK/ping-0.txt"); got0=$(awk '/packets transmitted/ {print $4}' "$WORK/ping-0.txt")
note "iperf3 per second (s:Mbit/s): $(intervals "$WORK/iperf3-0.json")"
note "ping beside iperf3: $sent0 sent, $got0 answered ($((sent0 - got0)) lost to the load alone)"

say "(a) link down and up under iperf3: r-wan down at 3 s, up at 5 s, iperf3 runs 20 s"
rx_err() { "$NFDPCTL" --socket "$SOCK" stats | awk -v p="$1" '$1 == p {print $9}'; }
wan_rx_err0=$(rx_err wan0)
in_ns h1 ping -i 0.1 -c 200 -W 1 203.0.113.254 >"$WORK/ping-a.txt" 2>&1 &
PING=$!
in_ns h1 iperf3 -c 203.0.113.254 -t 20 -i 1 -J >"$WORK/iperf3-a.json" 2>"$WORK/iperf3-a.err" &
IPERF=$!
sleep 3
in_ns r ip link set r-wan down
down_at=$(date +%s.%N)
sleep 2
in_ns r ip link set r-wan up
note "r-wan down for $(python3 -c "import time,sys; print('%.1f' % (time.time() - float(sys.argv[1])))" "$down_at") s"
rc=0; wait "$IPERF" || rc=$?
wait "$PING" || true
if [ "$rc" = 0 ]; then
  ok "iperf3 finished (exit 0): the connection survived the outage"
  iv=$(intervals "$WORK/iperf3-a.json"); note "per second (s:Mbit/s): $iv"
  # TCP resumes at its next retransmission after the up (its timer backed off during the
  # outage): when, in whole seconds after the up at 5 s, and it must keep flowing.
  resumed=$(python3 - "$WORK/iperf3-a.json" <<'PY'
import json, sys
iv = [(round(i["sum"]["end"]), i["sum"]["bits_per_second"] / 1e6) for i in json.load(open(sys.argv[1]))["intervals"]]
after = [t for t, mbps in iv if t > 5 and mbps > 10]
tail = [mbps for _, mbps in iv][-3:]
print(after[0] - 5 if after and len(tail) == 3 and min(tail) > 10 else "never")
PY
)
  [ "$resumed" != never ] && ok "data flows again ${resumed} s after the up (the first second above 10 Mbit/s) and through the last 3 s" \
    || fail "the connection did not resume after the up"
  stalled=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for i in d["intervals"] if i["sum"]["bits_per_second"] < 1e6))' "$WORK/iperf3-a.json")
  retr=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["end"]["sum_sent"].get("retransmits", "?"))' "$WORK/iperf3-a.json")
  mbps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["end"]["sum_received"]["bits_per_second"]/1e6))' "$WORK/iperf3-a.json")
  note "lost: $stalled one-second intervals below 1 Mbit/s, $retr TCP retransmits; $mbps Mbit/s over the 20 s"
else
  fail "iperf3 failed (exit $rc): $(cat "$WORK/iperf3-a.err") $(tail -3 "$WORK/iperf3-a.json")"
fi
sent=$(awk '/packets transmitted/ {print $1}' "$WORK/ping-a.txt"); got=$(awk '/packets transmitted/ {print $4}' "$WORK/ping-a.txt")
note "ping at 10 Hz through the appliance: $sent sent, $got answered, $((sent - got)) lost; $(grep -o 'rtt.*' "$WORK/ping-a.txt" || echo 'no rtt')"
# The outage shows in the pings: lost (about 20 at 10 Hz, plus what the load alone loses:
# see the reference), or held somewhere on the way and answered late, the slowest after at
# least the outage (a CI run saw 200 of 200 answered, the slowest after 2.0 s); once the
# link is back every ping is answered again.
maxrtt=$(sed -n 's|^rtt [^=]*= [^/]*/[^/]*/\([0-9.]*\)/.*|\1|p' "$WORK/ping-a.txt")
late=$(python3 -c 'import sys; print(1 if float(sys.argv[1] or 0) >= 1000 else 0)' "${maxrtt:-0}")
if [ -n "$got" ] && [ "$((sent - got))" -ge 1 ]; then
  ok "the outage cost $((sent - got)) of $sent pings ($((sent0 - got0)) of $sent0 in the reference)"
elif [ "$late" = 1 ]; then
  ok "no ping lost, the outage held them: the slowest answered after ${maxrtt} ms"
else
  fail "pings: $sent sent, $got answered, slowest ${maxrtt:-?} ms: the outage went unnoticed?"
fi
out=$(in_ns h1 ping -c 10 -i 0.1 -W 1 203.0.113.254 2>&1 | grep 'packets transmitted')
grep -q ' 10 received' <<<"$out" && ok "after: pings through the appliance all answered ($out)" || fail "after the up: $out"
# af_packet reports its link as always up: nfdp does not see this fault, TCP rides it out.
if grep -q "link state port=wan0 up=false" "$WORK/nfdp.log"; then note "nfdp saw wan0 go down"
else note "nfdp did not see the link go down (net_af_packet reports its link as always up)"; fi
note "wan0 RX_ERR (nfdpctl stats): $wan_rx_err0 before the outage, $(rx_err wan0) after"
"$NFDPCTL" --socket "$SOCK" stats | awk '/^DROP REASON/ {d=1} d' | sed 's/^/    /'
"$NFDPCTL" --socket "$SOCK" iptables -L FORWARD -n -v -x | sed 's/^/    /'
"$NFDPCTL" --socket "$SOCK" conntrack -L -p tcp --dport 5201 2>/dev/null | sed 's/^/    /'


say "(b) the TAP interface deleted under the daemon, with traffic through it"
in_ns h1 ping -c 2 -i 0.2 -W 2 192.168.1.1 >/dev/null && ok "before: the appliance's host stack answers ping (via nfdp0)" \
  || fail "before: no answer from 192.168.1.1"
in_ns h1 ping -i 0.1 -c 100 -W 1 203.0.113.254 >"$WORK/ping-b.txt" 2>&1 &
PING=$!
in_ns h1 iperf3 -c 203.0.113.254 -t 8 -i 1 -J >"$WORK/iperf3-b.json" 2>"$WORK/iperf3-b.err" &
IPERF=$!
sleep 2
log_before=$(wc -l <"$WORK/nfdp.log")
ctl_before=$(thread_ticks nfdp-control); api_before=$(thread_ticks nfdp-api)
in_ns r ip link del nfdp0
ok "ip link del nfdp0: $(in_ns r ip -o link show nfdp0 2>&1 | head -1)"
sleep 5
if kill -0 "$NFDP_PID" 2>/dev/null; then ok "nfdp still runs"; else fail "nfdp exited: $(tail -5 "$WORK/nfdp.log")"; fi
ctl_ticks=$(( $(thread_ticks nfdp-control) - ctl_before )); api_ticks=$(( $(thread_ticks nfdp-api) - api_before ))
hz=$(getconf CLK_TCK)
# An idle control loop and API (10 polls a second, one scrape) use a few ticks in 5 s; a
# spinning one uses 5 * hz.
if [ "$ctl_ticks" -lt $((hz / 2)) ] && [ "$api_ticks" -lt $((hz / 2)) ]; then
  ok "no spinning: control thread $ctl_ticks ticks, API threads $api_ticks ticks of CPU in 5 s (hz $hz)"
else fail "control thread $ctl_ticks ticks, API $api_ticks ticks in 5 s: spinning"; fi
rc=0; wait "$IPERF" || rc=$?
wait "$PING" || true
if [ "$rc" = 0 ]; then
  mbps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["end"]["sum_received"]["bits_per_second"]/1e6))' "$WORK/iperf3-b.json")
  iv=$(intervals "$WORK/iperf3-b.json")
  python3 - "$WORK/iperf3-b.json" <<'PY' && ok "forwarding went on: iperf3 $mbps Mbit/s, every second above 10 Mbit/s ($iv)" || fail "forwarding dipped: $iv"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if min(i["sum"]["bits_per_second"] for i in d["intervals"]) > 10e6 else 1)
PY
else fail "iperf3 through the appliance failed after the TAP went: $(cat "$WORK/iperf3-b.err")"; fi
sent=$(awk '/packets transmitted/ {print $1}' "$WORK/ping-b.txt"); got=$(awk '/packets transmitted/ {print $4}' "$WORK/ping-b.txt")
note "ping beside iperf3 through the appliance: $sent sent, $got answered ($((sent - got)) lost; $((sent0 - got0)) of $sent0 in the reference)"
out=$(in_ns h1 ping -c 10 -i 0.1 -W 1 203.0.113.254 2>&1 | grep 'packets transmitted')
grep -q ' 10 received' <<<"$out" && ok "after: pings through the appliance all answered ($out)" || fail "after: $out"
log_lines=$(( $(wc -l <"$WORK/nfdp.log") - log_before ))
sed -n "$((log_before + 1)),\$p" "$WORK/nfdp.log" | head -10 | sed 's/^/  nfdp: /'
[ "$log_lines" -le 20 ] && ok "the log grew by $log_lines lines (no flood)" || fail "the log grew by $log_lines lines in ~8 s"
grep -q 'WARN.*host port down.*port=nfdp0' "$WORK/nfdp.log" && ok "logged: $(grep -m1 -o 'host port down.*' "$WORK/nfdp.log")" || fail "no log line for the TAP's loss"
up=$(metric 'nfdp_port_link_up{port="nfdp0"}')
[ "$up" = 0 ] && ok "nfdp_port_link_up{port=\"nfdp0\"} $up" || fail "nfdp_port_link_up{port=\"nfdp0\"} is '$up'"
if in_ns h1 ping -c 2 -i 0.2 -W 1 192.168.1.1 >/dev/null 2>&1; then fail "the appliance still answers ping without its host stack?"
else ok "lost: local delivery (ping 192.168.1.1 unanswered: the host stack's port is gone, until a restart)"; fi
"$NFDPCTL" --socket "$SOCK" stats >"$WORK/stats.txt" && ok "the API answers (nfdpctl stats)" || fail "nfdpctl stats"
grep -E '^(PORT|nfdp0|lan0|wan0)' "$WORK/stats.txt" | sed 's/^/    /'

say "stopping nfdp (SIGTERM)"
kill -TERM "$NFDP_PID"
for _ in $(seq 1 50); do kill -0 "$NFDP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$NFDP_PID" 2>/dev/null; then fail "nfdp did not stop on SIGTERM"; else
  wait "$NFDP_PID" && ok "nfdp exited cleanly" || fail "nfdp exited with status $?"
fi
NFDP_PID=""

if [ "$FAILED" != 0 ]; then
  echo; echo "--- nfdp log"; tail -40 "$WORK/nfdp.log"
  echo "faults: FAILED" >&2; exit 1
fi
echo; echo "faults: all observations passed"
