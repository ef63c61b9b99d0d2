#!/usr/bin/env bash
# fail2ban's own iptables action (Debian's /etc/fail2ban/action.d/iptables-multiport.conf,
# jail "sshd": name=sshd, port=ssh, protocol=tcp, chain=INPUT, blocktype=REJECT
# --reject-with icmp-port-unreachable, <iptables> = "iptables -w"), expanded by fail2ban's
# own config reader (fail2ban.client.actionreader + CommandAction.replaceTag), run with
# /bin/sh as fail2ban runs it:
#   * against nfdp: through a directory of `nfdpctl install-links` links first on PATH,
#     the daemon at $NFDP_SOCKET;
#   * against the kernel: the real iptables 1.8.9 in a throwaway network namespace.
# After every step (start, ban, ban, start again, unban, stop) the exit status of the
# commands and `iptables-save -t filter` (comment lines dropped, chain counters zeroed)
# must be the same on both. Exits non-zero with a diff on the first mismatch.
#
# Usage (root): NFDP_SOCKET=/run/nfdp/nfdp.sock [NFDPCTL=target/debug/nfdpctl] tests/api/fail2ban.sh
# The daemon's filter table is replaced by a baseline first (iptables-restore -T filter).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NFDPCTL="${NFDPCTL:-$root/target/debug/nfdpctl}"
CONF="${F2B_ACTION:-/etc/fail2ban/action.d/iptables-multiport.conf}"
die() { echo "fail2ban.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespace for the kernel side)"
[[ -n "${NFDP_SOCKET:-}" ]] || die "NFDP_SOCKET is not set (the daemon's API socket)"
[[ -S "$NFDP_SOCKET" ]] || die "no socket at NFDP_SOCKET=$NFDP_SOCKET"
[[ -x "$NFDPCTL" ]] || die "no nfdpctl at $NFDPCTL (cargo build -p control --bin nfdpctl, or set NFDPCTL)"
[[ -r "$CONF" ]] || die "cannot read $CONF (apt-get install fail2ban)"
[[ "$(iptables -V)" == "iptables v1.8.9 (nf_tables)" ]] || die "the kernel side needs iptables v1.8.9 (nf_tables)"
export NFDP_SOCKET
unset NFDP_ADDRESS NFDP_TOKEN_FILE

work="$(mktemp -d)"
NS="nfdp-f2b-$$"
cleanup() { ip netns del "$NS" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

"$NFDPCTL" install-links "$work/bin" || die "nfdpctl install-links failed"
ip netns add "$NS" || die "cannot create network namespace $NS"

# One action of the jail, as fail2ban would run it (ACTION [IP]).
expand() {
  /usr/bin/python3 - "$CONF" "$1" "${2:-}" <<'PY'
import os, sys
from fail2ban.client.actionreader import ActionReader
from fail2ban.server.action import CommandAction
conf, action, ip = sys.argv[1], sys.argv[2], sys.argv[3]
name = os.path.basename(conf)[:-len(".conf")]
r = ActionReader(name, "sshd", {"name": "sshd", "port": "ssh", "protocol": "tcp"},
                 basedir=os.path.dirname(os.path.dirname(conf)))
if not r.read():
    sys.exit("cannot read " + conf)
r.getOptions({})
opts = r.getCombined()
props = dict(opts)
props["ip"] = ip
print(CommandAction.replaceTag(opts[action], props, conditional=""))
PY
}

on_nfdp()   { PATH="$work/bin:$PATH" sh -c "$1"; }
on_kernel() { ip netns exec "$NS" sh -c "$1"; }
# Rulesets, not counters: nfdp's chains count the traffic it forwards.
normalise() { grep -v '^#' | sed -E 's/^(:[^ ]+ [^ ]+) \[[0-9]+:[0-9]+\]$/\1 [0:0]/'; }

resolved="$(PATH="$work/bin:$PATH" sh -c 'command -v iptables')"
[[ "$resolved" == "$work/bin/iptables" ]] || die "iptables resolves to $resolved, not the nfdpctl link"

baseline='*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT'
printf '%s\n' "$baseline" | on_nfdp 'iptables-restore -T filter' || die "baseline refused by nfdp"
printf '%s\n' "$baseline" | on_kernel 'iptables-restore' || die "baseline refused by the kernel's iptables-restore"

failed=0
step() { # LABEL ACTION [IP]
  local label="$1" cmd rc_n=0 rc_k=0
  cmd="$(expand "$2" "${3:-}")" || die "cannot expand $2 from $CONF"
  on_nfdp "$cmd" > "$work/nfdp.out" 2>&1 || rc_n=$?
  on_kernel "$cmd" > "$work/kernel.out" 2>&1 || rc_k=$?
  if [[ $rc_n -ne $rc_k ]]; then
    echo "fail2ban.sh: $label: exit status nfdp $rc_n, kernel $rc_k; command:" >&2
    echo "$cmd" >&2
    echo "--- nfdp output:" >&2; cat "$work/nfdp.out" >&2
    echo "--- kernel output:" >&2; cat "$work/kernel.out" >&2
    failed=1
  fi
  on_nfdp 'iptables-save -t filter' | normalise > "$work/nfdp.save"
  on_kernel 'iptables-save -t filter' | normalise > "$work/kernel.save"
  if ! diff -u --label "kernel ($label)" --label "nfdp ($label)" "$work/kernel.save" "$work/nfdp.save" >&2; then
    echo "fail2ban.sh: $label: nfdp's ruleset differs from the kernel's (diff above); command:" >&2
    echo "$cmd" >&2
    failed=1
  fi
  [[ $failed -eq 0 ]] || exit 1
  echo "fail2ban.sh: $label: same ruleset and exit status ($rc_n)"
}

step "actionstart" actionstart
step "actionban 192.0.2.7" actionban 192.0.2.7
step "actionban 198.51.100.9" actionban 198.51.100.9
step "actionstart again (restart)" actionstart
step "actionunban 192.0.2.7" actionunban 192.0.2.7
step "actionunban 192.0.2.7 again (not banned)" actionunban 192.0.2.7
step "actionstop" actionstop
echo "fail2ban.sh: ok"
