#!/usr/bin/env bash
# Regenerate the ipset goldens from the real ipset 7.17 (kernel ip_set):
#
#   NAME.ipset  (an `ipset restore` input)  ->  NAME.save  (`ipset save`)
#                                               NAME.list  (`ipset list`)
#   errors: NAME.ipset that ipset refuses   ->  NAME.expect (exit status, then stderr)
#
# One fresh network namespace per file (nfdpipset-<pid>-<n>), always deleted. The
# element order is the kernel's hash order and `Size in memory` its allocation: the Rust
# side (control/tests/ipset_golden.rs) compares members as sets and ignores the size.
#
# Usage: tests/golden/ipset/gen.sh [NAME...]
set -euo pipefail
shopt -s nullglob
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if [[ $(id -u) -ne 0 ]]; then echo "gen.sh: must run as root" >&2; exit 1; fi
ver="$(ipset --version | head -1)"
if [[ "$ver" != "ipset v7.17, protocol version: 7" ]]; then
  echo "gen.sh: need ipset v7.17, found '$ver'" >&2; exit 1
fi
export LC_ALL=C
NS=""; counter=0
cleanup() { if [[ -n "$NS" ]]; then ip netns del "$NS" 2>/dev/null || true; NS=""; fi; }
trap cleanup EXIT INT TERM
ipx() { ip netns exec "$NS" "$@"; }

gen() {
  local name="$1"
  cleanup; counter=$((counter + 1)); NS="nfdpipset-$$-$counter"; ip netns add "$NS"
  local rc=0
  ipx ipset restore < "$name.ipset" 2> "$name.stderr" || rc=$?
  if [[ "$name" == err_* ]]; then
    { echo "$rc"; cat "$name.stderr"; } > "$name.expect"
    echo "error $name (rc=$rc)"
  else
    if [[ $rc -ne 0 ]]; then cat "$name.stderr" >&2; rm -f "$name.stderr"; return 1; fi
    ipx ipset save > "$name.save"
    ipx ipset list > "$name.list"
    echo "case  $name"
  fi
  rm -f "$name.stderr"
  cleanup
}

fail=0
if [[ $# -gt 0 ]]; then names=("$@"); else names=(); for f in *.ipset; do names+=("$(basename "$f" .ipset)"); done; fi
for n in "${names[@]}"; do gen "$n" || fail=1; done
exit $fail
