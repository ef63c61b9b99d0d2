#!/usr/bin/env bash
# Regenerates tests/golden/list/NAME.TABLE.txt: what the real iptables 1.8.9 prints for
# `iptables -t TABLE -L -n -v --line-numbers` (and, for NAME.TABLE.plain.txt,
# `-L -n`; for NAME.TABLE.exact.txt, `-L -n -v -x`) after restoring cases/NAME.rules in a
# fresh network namespace (cases/NAME.ipset, if any, restored with ipset first). Run as root.
#
# GOLDEN_FAMILY=6 (what gen-list6.sh sets): the same with ip6tables 1.8.9 for every
# cases6/NAME.rules into list6/, plus NAME.filter.names.txt (`-L -v`, names for protocols,
# ports and 0/0) and NAME.TABLE.S.txt (`-S`) of every table.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "gen-list.sh: run as root" >&2; exit 1; }
IPT=iptables CASES=cases OUT=list
if [[ "${GOLDEN_FAMILY:-4}" == 6 ]]; then IPT=ip6tables CASES=cases6 OUT=list6; fi
$IPT --version | grep -q 'v1.8.9 (nf_tables)' || { echo "gen-list.sh: needs $IPT 1.8.9 (nf_tables)" >&2; exit 1; }
ns=nfdpgold-list$([[ $OUT == list6 ]] && echo 6 || true)-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
cases=(every_base every_match_ext1 every_match_ext2 every_tcp_udp_icmp every_target_filter
       every_target_mangle every_target_nat every_target_raw home_gateway docker
       kube_proxy_clusterip stateful_server port_forward_hairpin cgnat user_chain_order
       multiwan_connmark time_string_policy quoting_counters kube_proxy_nodeport
       issue15_parse_gaps netmap trace_target helper_match m_pkttype m_connbytes m_quota m_rpfilter t_tee m_ecn
       set_match m_esp_ah_ipcomp t_checksum m_u32 t_tcpoptstrip m_sctp m_dccp t_set t_hmark
       m_connlabel t_ct_expevents t_nflog t_synproxy)
if [[ $OUT == list6 ]]; then
  cases=()
  for f in cases6/*.rules; do cases+=("$(basename "$f" .rules)"); done
fi
mkdir -p "$OUT"
rm -f "$OUT"/*.txt
for c in "${cases[@]}"; do
  ip netns add "$ns"
  for t in raw mangle nat filter; do
    case $t in
      raw) chains="PREROUTING OUTPUT";;
      mangle) chains="PREROUTING INPUT FORWARD OUTPUT POSTROUTING";;
      nat) chains="PREROUTING INPUT OUTPUT POSTROUTING";;
      filter) chains="INPUT FORWARD OUTPUT";;
    esac
    for ch in $chains; do ip netns exec "$ns" $IPT -t "$t" -P "$ch" ACCEPT; done
  done
  # A case's sets (CASES/NAME.ipset) go in first.
  if [ -f "$CASES/$c.ipset" ]; then ip netns exec "$ns" ipset restore < "$CASES/$c.ipset"; fi
  ip netns exec "$ns" $IPT-restore < "$CASES/$c.rules" 2>/dev/null
  for t in raw mangle nat filter; do
    ip netns exec "$ns" $IPT -t "$t" -L -n -v --line-numbers > "$OUT/$c.$t.txt"
    if [[ $OUT == list6 ]]; then ip netns exec "$ns" $IPT -t "$t" -S > "$OUT/$c.$t.S.txt"; fi
  done
  ip netns exec "$ns" $IPT -t filter -L -n > "$OUT/$c.filter.plain.txt"
  ip netns exec "$ns" $IPT -t filter -L -n -v -x > "$OUT/$c.filter.exact.txt"
  if [[ $OUT == list6 ]]; then ip netns exec "$ns" $IPT -t filter -L -v > "$OUT/$c.filter.names.txt"; fi
  ip netns del "$ns"
done
echo "gen-list.sh: $(ls "$OUT" | wc -l) files"
