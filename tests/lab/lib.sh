# Shared by the lab scripts (run.sh, faults.sh, floods.sh, soak.sh), sourced after they set P (the
# namespace prefix), NFDP, NFDPCTL, WORK and NFDP_PID: running in a namespace, tearing a
# lab down, the root and binary checks, and the two-host lab faults.sh and soak.sh build.

in_ns() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }

# Stops nfdp (NFDP_PID), kills what runs in the namespaces named (without the prefix) and
# deletes them. Call with `set +e`; WORK is the caller's to remove.
lab_teardown() {
  if [ -n "$NFDP_PID" ] && kill -0 "$NFDP_PID" 2>/dev/null; then
    kill -TERM "$NFDP_PID"; sleep 1; kill -KILL "$NFDP_PID" 2>/dev/null
  fi
  local ns
  for ns in "$@"; do
    ip netns pids "$P$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$P$ns" 2>/dev/null
  done
}

# Exits unless running as root with nfdp and nfdpctl built; $1 names the script.
lab_require() {
  [ "$(id -u)" = 0 ] || { echo "$1: needs root (network namespaces)" >&2; exit 1; }
  local bin
  for bin in "$NFDP" "$NFDPCTL"; do
    [ -x "$bin" ] || { echo "$1: $bin not found; build it with: make build-dpdk" >&2; exit 1; }
  done
}

# h1 (192.168.1.10) -- r-lan |ns r| r-wan -- wan (203.0.113.254): the hosts compute their
# own checksums, and r's kernel drops what arrives on r-lan and r-wan (nfdp owns them
# through af_packet).
two_host_lab_up() {
  local ns i
  for ns in h1 wan r; do ip netns add "$P$ns"; in_ns "$ns" ip link set lo up; done
  ip link add r-lan netns "${P}r" type veth peer name eth0 netns "${P}h1"
  ip link add r-wan netns "${P}r" type veth peer name eth0 netns "${P}wan"
  in_ns h1 ip addr add 192.168.1.10/24 dev eth0
  in_ns wan ip addr add 203.0.113.254/24 dev eth0
  for ns in h1 wan; do in_ns "$ns" ip link set eth0 up; in_ns "$ns" ethtool -K eth0 tx off >/dev/null; done
  in_ns h1 ip route add default via 192.168.1.1
  for i in r-lan r-wan; do
    in_ns r ip link set "$i" up
    in_ns r ethtool -K "$i" tx off >/dev/null
    in_ns r iptables -t raw -A PREROUTING -i "$i" -j DROP
  done
  in_ns r sysctl -qw net.ipv6.conf.all.disable_ipv6=1
}

# The reporting every script uses: say (a section), ok, fail (sets FAILED=1), note. soak.sh
# redefines ok, fail and note to copy their lines into its summary.
say() { printf '\n=== %s\n' "$*"; }
ok() { printf '  ok: %s\n' "$*"; }
fail() { printf '  FAIL: %s\n' "$*" >&2; FAILED=1; }
note() { printf '  %s\n' "$*"; }

# Starts nfdp in namespace r with config $2, its log in $WORK/nfdp.log, and waits until it
# runs; NFDP_PID is nfdp itself (ip netns exec and env exec it), so SIGTERM reaches it.
# Exits (printing the log) when it stops or does not start. $1 names the script.
lab_start_nfdp() {
  ip netns exec "${P}r" env RUST_LOG=info NO_COLOR=1 "$NFDP" --config "$2" >"$WORK/nfdp.log" 2>&1 &
  NFDP_PID=$!
  local _
  for _ in $(seq 1 100); do
    grep -q "nfdp: running" "$WORK/nfdp.log" && return 0
    kill -0 "$NFDP_PID" 2>/dev/null || { cat "$WORK/nfdp.log"; echo "$1: nfdp exited" >&2; exit 1; }
    sleep 0.2
  done
  cat "$WORK/nfdp.log"; echo "$1: nfdp did not start" >&2; exit 1
}
