#!/usr/bin/env bash
# Regenerate the conntrack 1.4.7 captures in tests/golden/conntrack from the real tool on
# the kernel, in throwaway network namespaces (root).
#
# Topology: ns A (10.0.1.2) -- ns R (10.0.1.1 | 10.0.2.1, forwarding, MASQUERADE out of
# r-b) -- ns B (10.0.2.2). Traffic from A to B, every source port and ICMP id fixed so the
# tuples are the same on every run:
#   tcp  10.0.1.2:40001 -> 10.0.2.2:8080  established, kept open      (ESTABLISHED, ASSURED)
#   tcp  10.0.1.2:40002 -> 10.0.2.2:9090  established, kept open
#   udp  10.0.1.2:40003 -> 10.0.2.2:5353  one datagram, no answer      ([UNREPLIED])
#   udp  10.0.1.2:40004 -> 10.0.2.2:5354  echoed; conntrack mark 7 (CONNMARK in R's mangle)
#   icmp 10.0.1.2 -> 10.0.2.2 echo id 4660 (0x1234), answered
#   (later, for -E) udp 10.0.1.2:40005 -> 10.0.2.2:5354, echoed, then deleted
#   (later, accounting on) udp 10.0.1.2:40006 -> 10.0.2.2:5354, echoed
# conntrack runs in R.
#
# Each capture NAME gives NAME.out (stdout), NAME.err (stderr) and NAME.rc (exit status).
# Normalisation (the only edits to what conntrack printed):
#   * the timeout column of entry lines (time-dependent) is replaced by 100;
#   * entry lines of listings are sorted (conntrack prints them in hash-table order);
#   * -S counters are what they were (they depend on the traffic above, which is fixed,
#     but a rerun may differ by a few packets; the test builds whatever the file says).
# Usage: tests/golden/conntrack/gen.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
[[ $(id -u) -eq 0 ]] || { echo "gen.sh: must run as root (network namespaces)" >&2; exit 1; }
ver="$(conntrack --version 2>&1)"
[[ "$ver" == "conntrack v1.4.7 (conntrack-tools)" ]] || { echo "gen.sh: need conntrack v1.4.7, found '$ver'" >&2; exit 1; }
export LC_ALL=C

A="ctgA-$$"; R="ctgR-$$"; B="ctgB-$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "$A" "$R" "$B"; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

for n in "$A" "$R" "$B"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add a-r netns "$A" type veth peer name r-a netns "$R"
ip link add r-b netns "$R" type veth peer name b-r netns "$B"
ip -n "$A" addr add 10.0.1.2/24 dev a-r; ip -n "$A" link set a-r up
ip -n "$R" addr add 10.0.1.1/24 dev r-a; ip -n "$R" link set r-a up
ip -n "$R" addr add 10.0.2.1/24 dev r-b; ip -n "$R" link set r-b up
ip -n "$B" addr add 10.0.2.2/24 dev b-r; ip -n "$B" link set b-r up
ip -n "$A" route add default via 10.0.1.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$R" iptables -t nat -A POSTROUTING -o r-b -j MASQUERADE
ip netns exec "$R" iptables -t mangle -A PREROUTING -p udp --dport 5354 -j CONNMARK --set-mark 7
# conntrack starts tracking in R once a rule needs it (the nat table above does).

inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }
inR() { ip netns exec "$R" "$@"; }

# B: two TCP listeners that hold connections open, a UDP echo on 5354.
inB python3 - <<'PY' &
import socket, threading, time
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.0.2.2", port)); s.listen(8)
    conns = []
    while True:
        c, _ = s.accept(); c.sendall(c.recv(100)); conns.append(c)
def udp_echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.0.2.2", port))
    while True:
        d, a = s.recvfrom(100); s.sendto(d, a)
for f, p in ((tcp, 8080), (tcp, 9090), (udp_echo, 5354)):
    threading.Thread(target=f, args=(p,), daemon=True).start()
time.sleep(120)
PY
pids+=($!)
sleep 1

traffic() { # $1: which flows (all | udp-new)
inA python3 - "$1" <<'PY' &
import socket, struct, sys, time
what = sys.argv[1]
keep = []
def tcp(sport, dport):
    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("10.0.1.2", sport)); c.connect(("10.0.2.2", dport)); c.sendall(b"hello"); c.recv(100)
    keep.append(c)
def udp(sport, dport, wait_reply):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.0.1.2", sport))
    u.sendto(b"ping", ("10.0.2.2", dport))
    if wait_reply:
        u.settimeout(2); u.recvfrom(100)
    keep.append(u)
def icmp(ident):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"nfdp"
    csum = 0
    for i in range(0, len(hdr), 2):
        csum += (hdr[i] << 8) + hdr[i + 1]
    while csum >> 16:
        csum = (csum & 0xFFFF) + (csum >> 16)
    pkt = struct.pack("!BBHHH", 8, 0, ~csum & 0xFFFF, ident, 1) + b"nfdp"
    s.sendto(pkt, ("10.0.2.2", 0)); s.settimeout(2); s.recvfrom(200)
if what == "all":
    tcp(40001, 8080); tcp(40002, 9090); udp(40003, 5353, False); udp(40004, 5354, True); icmp(0x1234)
elif what == "udp-acct":
    udp(40006, 5354, True)
else:
    udp(40005, 5354, True)
time.sleep(60)
PY
pids+=($!)
}

norm_timeout() { # the time-dependent timeout column -> 100; then sort the entry lines
  sed -E 's/^((ipv4 +2 +)?[a-z0-9-]+ +[0-9]+ )[0-9]+ /\1100 /' | sort
}
capture() { # NAME [--raw] ARGS...: run conntrack ARGS in R
  local name="$1"; shift
  local raw=0; if [[ "$1" == "--raw" ]]; then raw=1; shift; fi
  local rc=0
  inR conntrack "$@" > "$name.out.tmp" 2> "$name.err" || rc=$?
  if [[ $raw -eq 1 ]]; then mv "$name.out.tmp" "$name.out"; else norm_timeout < "$name.out.tmp" > "$name.out"; rm "$name.out.tmp"; fi
  echo "$rc" > "$name.rc"
  echo "conntrack $*" > "$name.cmd"
}

traffic all
sleep 2

capture list -L
capture list_extended -L -o extended
capture list_tcp_dport -L -p tcp --dport 8080
capture list_udp -L -p udp
capture list_mark -L -m 7
capture list_src -L -s 10.0.1.2 -p icmp
capture list_reply_dst -L -q 10.0.2.1 -p tcp --reply-port-src 9090
capture list_state -L -p tcp --state ESTABLISHED
capture list_status_assured -L -u ASSURED
capture list_status_unset -L -u UNSET -p udp
capture get_missing_args --raw -G -p tcp
capture list_none -L -p tcp --dport 1
capture get -G -p tcp -s 10.0.1.2 -d 10.0.2.2 --sport 40001 --dport 8080
capture get_missing -G -p tcp -s 10.9.9.9 -d 10.9.9.8 --sport 1 --dport 2
capture count --raw -C
capture bad_option --raw -L --bogus
capture bad_proto --raw -L -p nosuchproto
capture bad_two_commands --raw -L -D
capture bad_dport_without_proto --raw -L --dport 80
capture delete_none -D -p udp --dport 1

# Events: NEW and UPDATE (reply seen) for a fresh echoed UDP flow, DESTROY when
# `conntrack -D` deletes it; -E ends on SIGINT and prints its summary on stderr.
# Normalised besides the timeout: a DESTROY that a userspace delete caused ends in
# " [USERSPACE] portid=N" (the deleting socket, run-dependent): that suffix is removed,
# nfdp's events carry no originating socket.
( rc=0; inR timeout -s INT 4 conntrack -E -p udp > events.out.tmp 2> events.err || rc=$?; echo "$rc" > events.rc ) &
evpid=$!
sleep 1
traffic udp-new
sleep 1
inR conntrack -D -p udp --sport 40005 > /dev/null 2>&1
wait "$evpid" || true
sed -E -e 's/^(( *\[[A-Z]+\]) +[a-z0-9-]+ +[0-9]+ )[0-9]+ /\1100 /' -e 's/ \[USERSPACE\] portid=[0-9]+$//' < events.out.tmp > events.out; rm events.out.tmp
echo "conntrack -E -p udp" > events.cmd

capture delete -D -p udp --dport 5353
capture delete_tcp -D -p tcp -s 10.0.1.2 --dport 9090
capture list_after_delete -L
# Accounting (nf_conntrack_acct=1): counters after each tuple. One echoed datagram each
# way from 10.0.1.2:40006 (a flow made after the switch; 4-byte payload = 32-byte packets).
inR sysctl -qw net.netfilter.nf_conntrack_acct=1
traffic udp-acct
sleep 1
capture list_acct -L -p udp --sport 40006
inR sysctl -qw net.netfilter.nf_conntrack_acct=0

capture stats --raw -S
capture flush --raw -F
capture list_empty -L
echo "gen.sh: captures written to $here" >&2
