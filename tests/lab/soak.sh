#!/usr/bin/env bash
# Soak (issue 13, item 5; `make soak`, not in CI): the lab's traffic through nfdp for
# SOAK_MINUTES (default 30) with periodic rule swaps and conntrack flushes, nfdp's RSS
# sampled to a CSV. Fails on
#   - RSS growth after warm-up beyond SOAK_RSS_BOUND_KB (default 8192): the median of the
#     last minute against the median of the minute after SOAK_WARMUP_S (default 120);
#   - loss beyond the budget: UDP datagrams lost above SOAK_LOSS_PCT percent (default 0.1)
#     of those sent; the long TCP stream broken; more failed short connections than
#     conntrack flushes (a flush may break the one request in flight, a swap nothing);
#   - a swap that did not publish (the ruleset generation counts them), nfdp gone.
#
#   h1 (192.168.1.10) -- r-lan |nfdp in ns r| r-wan -- wan (203.0.113.254)
#
# Traffic, h1 -> wan through MASQUERADE: iperf3 UDP at SOAK_UDP_MBPS (default 20) Mbit/s
# for the whole run (its server counts what is lost), one iperf3 TCP stream capped at
# SOAK_TCP_MBPS (default 50) Mbit/s for the whole run, and a new HTTP connection (curl)
# every 0.5 s. Every SOAK_SWAP_S (default 15) s a swap, alternately through the API
# (nfdpctl iptables -I / -D of a rule that matches nothing in the traffic) and by SIGHUP
# (the rules file rewritten with or without such a rule); every SOAK_FLUSH_S (default 60) s
# `nfdpctl conntrack -F`. Every SOAK_SAMPLE_S (default 5) s a CSV line:
#   t_s,rss_kb,conntrack_entries,generation,event
# into SOAK_OUT (default target/soak): rss.csv, summary.txt, nfdp.log, iperf3 JSON.
# Its own namespaces (SOAK_PREFIX, default nfs-) and EAL file prefix. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
P=${SOAK_PREFIX:-nfs-}
NFDP=${NFDP:-target/release/nfdp}
NFDPCTL=${NFDPCTL:-target/release/nfdpctl}
MINUTES=${SOAK_MINUTES:-30}
WARMUP=${SOAK_WARMUP_S:-120}
RSS_BOUND=${SOAK_RSS_BOUND_KB:-8192}
LOSS_PCT=${SOAK_LOSS_PCT:-0.1}
UDP_MBPS=${SOAK_UDP_MBPS:-20}
TCP_MBPS=${SOAK_TCP_MBPS:-50}
SWAP_S=${SOAK_SWAP_S:-15}
FLUSH_S=${SOAK_FLUSH_S:-60}
SAMPLE_S=${SOAK_SAMPLE_S:-5}
OUT=${SOAK_OUT:-target/soak}
DUR=$((MINUTES * 60))
[ "$DUR" -ge $((WARMUP + 120)) ] || { echo "soak: SOAK_MINUTES=$MINUTES leaves less than 2 min after the ${WARMUP}s warm-up" >&2; exit 2; }
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/nfdp-soak.XXXXXX)
NFDP_PID=""
FAILED=0

# shellcheck source=tests/lab/lib.sh
. tests/lab/lib.sh
# Its own ok, fail and note: every line also goes into the summary.
ok() { printf '  ok: %s\n' "$*" | tee -a "$OUT/summary.txt"; }
fail() { printf '  FAIL: %s\n' "$*" | tee -a "$OUT/summary.txt" >&2; FAILED=1; }
note() { printf '  %s\n' "$*" | tee -a "$OUT/summary.txt"; }
ctl() { "$NFDPCTL" --socket "$SOCK" "$@"; }

cleanup() {
  set +e
  lab_teardown h1 wan r
  [ -f "$WORK/nfdp.log" ] && cp "$WORK/nfdp.log" "$OUT/nfdp.log"
  rm -rf "$WORK"
}
trap cleanup EXIT

lab_require soak
: >"$OUT/summary.txt"
note "soak: $MINUTES min, warm-up ${WARMUP}s, RSS bound ${RSS_BOUND} KiB, UDP loss budget ${LOSS_PCT}%, UDP ${UDP_MBPS} Mbit/s + TCP ${TCP_MBPS} Mbit/s + curl every 0.5 s, swap every ${SWAP_S}s, flush every ${FLUSH_S}s ($(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"

cleanup 2>/dev/null; WORK=$(mktemp -d /tmp/nfdp-soak.XXXXXX)
two_host_lab_up
mkdir -p "$WORK/www"; echo "soak" >"$WORK/www/index.html"
in_ns wan python3 tests/lab/webserver.py 203.0.113.254 80 "$WORK/www" 2>/dev/null &
in_ns wan iperf3 -s -B 203.0.113.254 -p 5201 >/dev/null 2>&1 &
in_ns wan iperf3 -s -B 203.0.113.254 -p 5202 >/dev/null 2>&1 &
for port in 80 5201 5202; do
  for _ in $(seq 1 50); do in_ns wan ss -Hltn "sport = :$port" | grep -q LISTEN && break; sleep 0.1; done
done

RULES=$WORK/lab.rules
cp configs/lab.rules "$RULES"
# ip6tables' side ([rules] file6 = "lab.rules6", found beside the copied config).
cp configs/lab.rules6 "$WORK/lab.rules6"
SOCK=$WORK/nfdp.sock
sed -e "s|^file = \"lab.rules\"|file = \"$RULES\"|" -e "s|^socket = .*|socket = \"$SOCK\"|" \
  -e "s|\"--file-prefix\", \"nfdp-lab\"|\"--file-prefix\", \"nfdp-${P}soak\"|" configs/lab.toml >"$WORK/lab.toml"
grep -q "nfdp-${P}soak" "$WORK/lab.toml" || { echo "soak: could not set the EAL file prefix" >&2; exit 1; }
lab_start_nfdp soak "$WORK/lab.toml"
in_ns h1 ping -c 2 -i 0.2 -W 2 203.0.113.254 >/dev/null || { echo "soak: no path through nfdp" >&2; exit 1; }
gen() { ctl stats 2>/dev/null | awk '/^ruleset generation/ {print $3}'; }
GEN0=$(gen)

# The traffic, for the whole run (a few seconds' margin so the samples end first).
in_ns h1 iperf3 -c 203.0.113.254 -p 5201 -u -b "${UDP_MBPS}M" -t $((DUR + 5)) -i 60 -J --get-server-output >"$OUT/iperf3-udp.json" 2>"$WORK/udp.err" &
UDP=$!
in_ns h1 iperf3 -c 203.0.113.254 -p 5202 -b "${TCP_MBPS}M" -t $((DUR + 5)) -i 60 -J >"$OUT/iperf3-tcp.json" 2>"$WORK/tcp.err" &
TCP=$!
(
  ok_n=0; fail_n=0
  while [ ! -e "$WORK/stop" ]; do
    if in_ns h1 curl -sS --max-time 3 -o /dev/null http://203.0.113.254/ 2>>"$WORK/curl.err"; then ok_n=$((ok_n + 1)); else fail_n=$((fail_n + 1)); echo "$(date +%s) failed" >>"$WORK/curl.fail"; fi
    echo "$ok_n $fail_n" >"$WORK/curl.count"
    sleep 0.5
  done
) &
CURL=$!

echo "t_s,rss_kb,conntrack_entries,generation,event" >"$OUT/rss.csv"
start=$(date +%s)
swaps=0; flushes=0; next_swap=$SWAP_S; next_flush=$FLUSH_S; next_sample=0; api_rule=0; file_rule=0
EXTRA=(FORWARD -s 192.168.1.99/32 -p tcp --dport 9 -j DROP)
while :; do
  t=$(( $(date +%s) - start ))
  [ "$t" -ge "$DUR" ] && break
  kill -0 "$NFDP_PID" 2>/dev/null || { fail "nfdp exited at ${t}s"; break; }
  event=""
  if [ "$t" -ge "$next_swap" ]; then
    if [ $((swaps % 2)) = 0 ]; then
      if [ "$api_rule" = 0 ]; then ctl iptables -I "${EXTRA[@]}" && api_rule=1 && event="swap-api-insert"
      else ctl iptables -D "${EXTRA[@]}" && api_rule=0 && event="swap-api-delete"; fi
    else
      # The daemon persists API changes to $RULES: rewrite it from what it runs, then
      # toggle a second never-matching rule in the copy and SIGHUP.
      ctl iptables-save >"$WORK/all.rules"
      if [ "$file_rule" = 0 ]; then
        awk '/^\*/ {t = $0} t == "*filter" && $0 == "COMMIT" {print "-A FORWARD -s 192.168.1.98/32 -p udp -m udp --dport 9 -j DROP"} {print}' \
          "$WORK/all.rules" >"$RULES.new"; file_rule=1
      else
        grep -v -- '-s 192.168.1.98/32' "$WORK/all.rules" >"$RULES.new"; file_rule=0
      fi
      mv "$RULES.new" "$RULES"
      kill -HUP "$NFDP_PID"; event="swap-sighup"
    fi
    swaps=$((swaps + 1)); next_swap=$((next_swap + SWAP_S))
  fi
  if [ "$t" -ge "$next_flush" ]; then
    ctl conntrack -F 2>/dev/null; flushes=$((flushes + 1)); next_flush=$((next_flush + FLUSH_S))
    event="${event:+$event+}flush"
  fi
  if [ "$t" -ge "$next_sample" ] || [ -n "$event" ]; then
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$NFDP_PID/status")
    ct=$(ctl conntrack -C 2>/dev/null || echo "")
    echo "$t,$rss,$ct,$(gen),$event" >>"$OUT/rss.csv"
    [ "$t" -ge "$next_sample" ] && next_sample=$((next_sample + SAMPLE_S))
  fi
  sleep 1
done
touch "$WORK/stop"
wait "$CURL" || true
GEN1=$(gen)
rc_udp=0; wait "$UDP" || rc_udp=$?
rc_tcp=0; wait "$TCP" || rc_tcp=$?

echo | tee -a "$OUT/summary.txt"
note "ran $(( $(date +%s) - start )) s: $swaps swaps (API and SIGHUP alternately), $flushes conntrack flushes, ruleset generation $GEN0 -> $GEN1"
[ -n "$GEN1" ] && [ $((GEN1 - GEN0)) -ge "$swaps" ] && ok "every swap published (generation +$((GEN1 - GEN0)) for $swaps swaps)" \
  || fail "generation $GEN0 -> $GEN1 for $swaps swaps"
kill -0 "$NFDP_PID" 2>/dev/null && ok "nfdp still runs" || fail "nfdp is gone"

# RSS: medians of the minute after the warm-up and of the last minute.
read -r base last peak growth <<<"$(python3 - "$OUT/rss.csv" "$WARMUP" "$DUR" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["rss_kb"]]
warm, dur = int(sys.argv[2]), int(sys.argv[3])
a = [int(r["rss_kb"]) for r in rows if warm <= int(r["t_s"]) < warm + 60]
b = [int(r["rss_kb"]) for r in rows if int(r["t_s"]) >= dur - 60]
post = [int(r["rss_kb"]) for r in rows if int(r["t_s"]) >= warm]
m, n = int(statistics.median(a)), int(statistics.median(b))
print(m, n, max(post), n - m)
PY
)"
first=$(awk -F, 'NR == 2 {print $2}' "$OUT/rss.csv")
note "RSS: $first KiB at start, $base KiB after warm-up (median of the minute after ${WARMUP}s), $last KiB at the end (median of the last minute), peak $peak KiB after warm-up"
[ "$growth" -le "$RSS_BOUND" ] && ok "RSS growth after warm-up: $growth KiB (bound $RSS_BOUND KiB)" \
  || fail "RSS grew $growth KiB after warm-up (bound $RSS_BOUND KiB)"

if [ "$rc_udp" = 0 ]; then
  read -r lost sent pct <<<"$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print(s["lost_packets"], s["packets"], "%.4f" % s["lost_percent"])' "$OUT/iperf3-udp.json")"
  note "UDP: $sent datagrams sent, $lost lost ($pct%)"
  # Where the loss fell: the server's per-second lines against the swaps and flushes
  # (times from the start of the traffic, within a second or so).
  note "UDP loss by second: $(python3 - "$OUT/iperf3-udp.json" "$OUT/rss.csv" <<'PY'
import csv, json, re, sys
text = json.load(open(sys.argv[1])).get("server_output_text", "")
lossy = []
for m in re.finditer(r"(\d+\.\d+)-\s*(\d+\.\d+)\s+sec.*?\s(\d+)/(\d+) \(", text):
    if int(m.group(3)) > 0 and float(m.group(2)) - float(m.group(1)) <= 1.5:
        lossy.append((int(float(m.group(1))), int(m.group(3))))
events = {int(r["t_s"]): r["event"] for r in csv.DictReader(open(sys.argv[2])) if r["event"]}
near = lambda t: [e for s, e in events.items() if abs(s - t) <= 2]
swap = sum(n for t, n in lossy if any("swap" in e for e in near(t)))
flush = sum(n for t, n in lossy if any("flush" in e for e in near(t)))
total = sum(n for _, n in lossy)
print("%d datagrams in %d seconds with loss; within 2 s of a swap: %d, of a flush: %d, elsewhere: %d"
      % (total, len(lossy), swap, flush, total - sum(n for t, n in lossy if near(t))))
PY
)"
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$pct" "$LOSS_PCT" \
    && ok "UDP loss $pct% within the budget ($LOSS_PCT%)" || fail "UDP loss $pct% above the budget ($LOSS_PCT%)"
else fail "iperf3 UDP failed (exit $rc_udp): $(cat "$WORK/udp.err")"; fi
if [ "$rc_tcp" = 0 ]; then
  read -r mbps retr <<<"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["end"]
print(int(d["sum_received"]["bits_per_second"] / 1e6), d["sum_sent"].get("retransmits", 0))' "$OUT/iperf3-tcp.json")"
  ok "the TCP stream lasted the whole run: $mbps Mbit/s received on average, $retr retransmits"
else fail "the TCP stream broke (iperf3 exit $rc_tcp): $(cat "$WORK/tcp.err")"; fi
read -r c_ok c_fail <"$WORK/curl.count"
note "short HTTP connections: $c_ok succeeded, $c_fail failed"
[ "$c_fail" -le "$flushes" ] && ok "failed connections ($c_fail) within the flush budget ($flushes flushes)" \
  || { fail "$c_fail failed connections for $flushes flushes"; sort "$WORK/curl.err" | uniq -c | head -5 >&2; }
note "nfdp log: $(grep -cE ' (WARN|ERROR) ' "$WORK/nfdp.log" || true) WARN/ERROR lines"

kill -TERM "$NFDP_PID"
for _ in $(seq 1 50); do kill -0 "$NFDP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$NFDP_PID" 2>/dev/null; then fail "nfdp did not stop on SIGTERM"; else
  wait "$NFDP_PID" && ok "nfdp exited cleanly" || fail "nfdp exited with status $?"
fi
NFDP_PID=""
note "CSV: $OUT/rss.csv; summary: $OUT/summary.txt"
[ "$FAILED" = 0 ] || { echo "soak: FAILED" >&2; exit 1; }
echo "soak: passed"
