#!/usr/bin/env bash
# Regenerate tests/golden/arptables/NAME.golden from the real arptables 1.8.9 (nf_tables).
#
# A NAME.cmds file is a transcript to replay, one command a line (`#` lines and blank
# lines are skipped), in one fresh network namespace (nfdpgold-arp-<pid>-<n>, always
# deleted):
#   ARGS...          `arptables ARGS...` (words split on blanks; no quoting)
#   save [-c]        `arptables-save [-c]`, its "# Generated"/"# Completed" lines removed
#   restore FILE     `arptables-restore < FILE` (FILE beside the .cmds file)
# The golden holds, for each: "$ " and the line, then the command's stdout and stderr
# together, then "[exit N]" when N is not 0. control/tests/arptables_golden.rs replays
# the same lines against nfdp and compares.
#
# Usage: tests/golden/gen-arptables.sh [NAME...]   (no argument: every .cmds)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/arptables"
if [[ $(id -u) -ne 0 ]]; then
  echo "gen-arptables.sh: must run as root (network namespaces)" >&2
  exit 1
fi
ver="$(arptables --version 2>&1 | head -1)"
if [[ "$ver" != "arptables v1.8.9 (nf_tables)" ]]; then
  echo "gen-arptables.sh: need 'arptables v1.8.9 (nf_tables)', found '$ver'" >&2
  exit 1
fi
export LC_ALL=C
NS=""
n=0
cleanup() { [[ -n "$NS" ]] && ip netns del "$NS" 2>/dev/null; NS=""; }
trap cleanup EXIT INT TERM

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for f in *.cmds; do names+=("${f%.cmds}"); done
fi
for name in "${names[@]}"; do
  cleanup
  n=$((n + 1))
  NS="nfdpgold-arp-$$-$n"
  ip netns add "$NS"
  # nft creates the family's table and chains on first use; list once so that a
  # transcript starting with -N or save sees the built-in chains as arptables shows them.
  ip netns exec "$NS" arptables -L >/dev/null
  out="$name.golden"
  : >"$out"
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    echo "\$ $line" >>"$out"
    read -r -a words <<<"$line"
    set +e
    case "${words[0]}" in
      save) ip netns exec "$NS" arptables-save "${words[@]:1}" 2>&1 | grep -v '^# \(Generated\|Completed\)' >>"$out"; rc=${PIPESTATUS[0]} ;;
      restore) ip netns exec "$NS" arptables-restore <"${words[1]}" >>"$out" 2>&1; rc=$? ;;
      *) ip netns exec "$NS" arptables "${words[@]}" >>"$out" 2>&1; rc=$? ;;
    esac
    set -e
    [[ $rc -ne 0 ]] && echo "[exit $rc]" >>"$out"
  done <"$name.cmds"
  echo "gen-arptables.sh: $out"
done
