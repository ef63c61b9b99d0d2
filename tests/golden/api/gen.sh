#!/usr/bin/env bash
# Captures what the real iptables 1.8.9 (nf_tables) prints for the API tests
# (control/tests/api.rs), in a fresh network namespace. Run as root.
#
#   exec/NN.cmd   one iptables command (its argv, one word a line), run in order
#   exec/NN.out   its stdout;  exec/NN.err its stderr;  exec/NN.rc its exit status
#   restore/NAME.rules -> restore/NAME.expect: exit status, then iptables-restore's stderr
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "gen.sh: run as root" >&2; exit 1; }
iptables --version | grep -q 'v1.8.9 (nf_tables)' || { echo "gen.sh: needs iptables 1.8.9 (nf_tables)" >&2; exit 1; }
export LC_ALL=C
ns=nfdpgold-api-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
fresh() {
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  for c in INPUT FORWARD OUTPUT; do ip netns exec "$ns" iptables -P "$c" ACCEPT; done
  for c in PREROUTING INPUT OUTPUT POSTROUTING; do ip netns exec "$ns" iptables -t nat -P "$c" ACCEPT; done
}

fresh
rm -f exec/*.out exec/*.err exec/*.rc
for cmd in exec/*.cmd; do
  base=${cmd%.cmd}
  mapfile -t args < "$cmd"
  set +e
  ip netns exec "$ns" iptables "${args[@]}" > "$base.out" 2> "$base.err"
  echo $? > "$base.rc"
  set -e
done

for rules in restore/*.rules; do
  fresh
  set +e
  err=$(ip netns exec "$ns" iptables-restore < "$rules" 2>&1 >/dev/null)
  rc=$?
  set -e
  printf '%s\n%s\n' "$rc" "$err" > "${rules%.rules}.expect"
done
echo "gen.sh: $(ls exec/*.cmd | wc -l) commands, $(ls restore/*.rules | wc -l) restores"
