//! Decides a rule's criteria on a packet: the base criteria through `ruleset::packet`,
//! each match through its own per-packet function (`ruleset::ext`), and the cheaper ways
//! a compiled rule can be decided (`RuleEval`) when its matches read less.

use super::tables::NamedTables;
use crate::conntrack::{ConnEntry, Conntrack, CtAddr, CtInfo};
use crate::ipset::elem::TestFlags;
use crate::ipset::SetTable;
use crate::port::PortId;
use crate::route::Fib;
use crate::ruleset::ext::{ConnCx, ConnFamily, MatchTier, PacketCx};
use crate::ruleset::matches::conntrack;
use crate::ruleset::packet::{PacketMeta, PacketView};
use crate::ruleset::{Hook, Iface, Inv, Ipv4Net, Match, RuleSpec};
use std::net::Ipv4Addr;

/// What a match may look at besides the packet bytes. `A`: the family of the packet's
/// connection and of the table it is in (`ConnFamily`).
pub struct MatchEnv<'a, A: CtAddr = Ipv4Addr> {
    pub in_iface: Option<&'a str>,
    pub out_iface: Option<&'a str>,
    pub in_port: Option<PortId>,
    pub out_port: Option<PortId>,
    pub mac_header: Option<&'a [u8; 14]>,
    pub mark: u32,
    pub hook: Hook,
    /// Nanoseconds since the Unix epoch (injected: pcap time in replay).
    pub now_ns: u64,
    pub fib: &'a Fib,
    /// The packet's conntrack verdict and its connection (new or confirmed).
    pub ct: &'a CtInfo<A>,
    pub ct_entry: Option<&'a ConnEntry<A>>,
    /// The worker's conntrack table of the family (connlimit counts in it).
    pub conntrack: &'a Conntrack<A>,
    /// Named recent lists and hashlimit tables.
    pub tables: &'a mut NamedTables,
    /// The IP sets (`-m set`), the snapshot the worker holds.
    pub sets: &'a SetTable,
    /// The connection's labels as `-m connlabel --set` left them during this rule
    /// (`None`: unchanged); the caller stores them on the connection afterwards.
    pub labels_set: Option<u128>,
}

impl<A: CtAddr> MatchEnv<'_, A> {
    /// The labels of the packet's connection (`None`: no connection, or one without
    /// labels), with what this rule has set so far.
    pub fn labels(&self) -> Option<u128> {
        if self.labels_set.is_some() {
            return self.labels_set;
        }
        if self.ct.pending.is_some() {
            return self.conntrack.pending_labels(self.ct);
        }
        self.ct.id.and_then(|id| self.conntrack.labels(id))
    }
}

/// Per-rule, per-worker state: the token bucket of `-m limit`, the counter of
/// `-m statistic --mode nth`, the bytes `-m quota` has let through. A rule holds at most
/// one of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleState {
    /// Token bucket credit in nanoseconds of allowance; `None` until first use (full).
    pub credit_ns: Option<u64>,
    pub last_ns: u64,
    pub nth: u32,
    pub quota_used: u64,
}

/// `RuleEval::CtState`: what `conntrack_matches` answers for a match of the state alone
/// (a packet without an entry included), with the packet checked to be one a rule can
/// match at all.
pub fn ctstate_matches<A>(
    ip: &[u8],
    bits: u16,
    inv: bool,
    ct: &CtInfo<A>,
    e: Option<&ConnEntry<A>>,
) -> bool {
    PacketView::is_parseable(ip) && ((bits & conntrack::ctstate_bits(ct, e) != 0) != inv)
}

/// All criteria of `spec` hold for the packet `ip`, IPv4 or IPv6 as `A` says
/// (`ifaces_checked`: its `-i` and `-o` were already decided by port id, `IfaceMasks`).
pub fn rule_matches<A: ConnFamily>(
    spec: &RuleSpec,
    ifaces_checked: bool,
    ip: &[u8],
    env: &mut MatchEnv<'_, A>,
    st: &mut RuleState,
    random: &mut dyn FnMut() -> u32,
) -> bool {
    let meta = PacketMeta {
        in_iface: env.in_iface,
        out_iface: env.out_iface,
        src_mac: env
            .mac_header
            .map(|h| [h[6], h[7], h[8], h[9], h[10], h[11]]),
        dst_mac: env.mac_header.map(|h| [h[0], h[1], h[2], h[3], h[4], h[5]]),
        mark: env.mark,
    };
    let Some(view) = PacketView::parse(ip, meta) else {
        return false;
    };
    if !spec.base_matches_with(&view, ifaces_checked) {
        return false;
    }
    spec.matches
        .iter()
        .all(|m| m.decide(&view, env, st, random))
}

/// How a rule's criteria are decided, worked out when the ruleset is compiled: most
/// rules need only part of what `rule_matches` prepares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleEval {
    /// No criterion at all (`-A FORWARD -j ACCEPT`): every packet a rule can match.
    Unconditional,
    /// `-m conntrack --ctstate S` (or `-m state --state S`) and nothing else, the head of
    /// most gateway chains: the packet's state bits against `bits` (`ctstate_matches`).
    CtState { bits: u16, inv: bool },
    /// Context matches only (conntrack, connmark, limit, statistic, time), no base
    /// criteria: decided without parsing the packet (`context_rule_matches`), the usual
    /// `--ctstate ESTABLISHED,RELATED` head of a chain.
    Context,
    /// Base criteria and matches that read only the packet and its interfaces (tcp, udp,
    /// multiport, mark, ...): no connection, clock or rule state (`view_rule_matches`).
    View,
    /// `-m set --match-set NAME src|dst` and nothing else, with the match's default flags:
    /// an address set (hash:ip, hash:net) is probed with the address read straight from
    /// the header (`SetTable::test_addr`); another type takes the `View` way.
    SetAddr { index: u32, src: bool, inv: bool },
    /// The fixed part alone (`-s -d -i -o -p -f`, no match), compiled against the ports:
    /// decided from the header and the packet's port ids (`BaseRule`), no packet view.
    Base(BaseRule),
    /// Anything else: `rule_matches`.
    Full,
}

/// A rule's `-i` / `-o` compiled against the ports: bit `i` of a mask is port id `i` (up
/// to 30 ports; with more, names are compared per packet), `NO_PORT` a packet without
/// that interface (which compares as the empty name, as in the kernel). Interface names
/// are matched once, when the ruleset is compiled, never per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfaceMasks {
    in_ports: u32,
    out_ports: u32,
    /// Port ids at or above this were not named at compile time.
    known_ports: u16,
}

impl IfaceMasks {
    const NO_PORT: u32 = 1 << 31;

    /// `spec`'s interfaces over `ports` (names by port id), when the ports fit the masks.
    pub fn of(spec: &RuleSpec, ports: &[String]) -> Option<IfaceMasks> {
        if ports.is_empty() || ports.len() >= 31 {
            return None;
        }
        let mask = |rule: &Option<Inv<Iface>>| {
            let test = |name: &str| rule.as_ref().is_none_or(|i| i.apply(i.val.matches(name)));
            let named = ports
                .iter()
                .enumerate()
                .filter(|(_, n)| test(n))
                .fold(0u32, |m, (i, _)| m | 1 << i);
            named | if test("") { Self::NO_PORT } else { 0 }
        };
        Some(IfaceMasks {
            in_ports: mask(&spec.in_iface),
            out_ports: mask(&spec.out_iface),
            known_ports: ports.len() as u16,
        })
    }

    fn port_bit(&self, port: Option<PortId>) -> Option<u32> {
        match port {
            None => Some(Self::NO_PORT),
            Some(p) if p.0 < self.known_ports => Some(1 << p.0),
            Some(_) => None,
        }
    }

    /// The rule's `-i` and `-o` for a packet on those ports; `None` for a port the masks
    /// do not know (the caller compares the names).
    #[inline]
    pub fn matches(&self, in_port: Option<PortId>, out_port: Option<PortId>) -> Option<bool> {
        let (i, o) = (self.port_bit(in_port)?, self.port_bit(out_port)?);
        Some(self.in_ports & i != 0 && self.out_ports & o != 0)
    }
}

/// A rule of the fixed part alone: its interfaces compiled (`IfaceMasks`), its addresses,
/// protocol and fragment flag read from the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaseRule(IfaceMasks);

impl BaseRule {
    /// `spec`'s fixed part over `ports`, when it has no match and the ports fit the masks.
    pub fn of(spec: &RuleSpec, ports: &[String]) -> Option<BaseRule> {
        if !spec.matches.is_empty() {
            return None;
        }
        IfaceMasks::of(spec, ports).map(BaseRule)
    }

    /// `spec.base_matches` for the IPv4 packet `ip` on those ports (`spec` the rule the
    /// masks were made from: its addresses, protocol and fragment flag are read there, so
    /// that every rule's `RuleEval` stays small); `None` for a port the masks do not know
    /// (the caller decides the general way).
    #[inline]
    pub fn matches(
        &self,
        spec: &RuleSpec,
        ip: &[u8],
        in_port: Option<PortId>,
        out_port: Option<PortId>,
    ) -> Option<bool> {
        if !self.0.matches(in_port, out_port)? {
            return Some(false);
        }
        if !PacketView::is_parseable(ip) {
            return Some(false);
        }
        let addr = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
        let net =
            |n: &Option<Inv<Ipv4Net>>, at| n.is_none_or(|n| n.apply(n.val.contains(addr(at))));
        let frag_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
        Some(
            net(&spec.src, 12)
                && net(&spec.dst, 16)
                && spec.proto.is_none_or(|p| p.apply(ip[9] == p.val))
                && spec.fragment.is_none_or(|f| f == (frag_offset != 0)),
        )
    }
}

impl RuleEval {
    /// `of`, with rules of the fixed part alone compiled against `ports` (`Base`).
    pub fn of_with_ports(spec: &RuleSpec, ports: &[String]) -> RuleEval {
        match RuleEval::of(spec) {
            RuleEval::View => BaseRule::of(spec, ports).map_or(RuleEval::View, RuleEval::Base),
            other => other,
        }
    }

    /// For an ip6tables rule: the ways that read no IPv4 header field directly (`Base`
    /// and `SetAddr` do).
    pub fn of6(spec: &RuleSpec) -> RuleEval {
        match RuleEval::of(spec) {
            RuleEval::SetAddr { .. } | RuleEval::Base(_) => RuleEval::View,
            other => other,
        }
    }

    pub fn of(spec: &RuleSpec) -> RuleEval {
        let context = |m: &Match| m.tier() == MatchTier::Conn;
        let view_only = |m: &Match| m.tier() == MatchTier::Packet;
        let no_base = spec.src.is_none()
            && spec.dst.is_none()
            && spec.addrs6.is_none()
            && spec.in_iface.is_none()
            && spec.out_iface.is_none()
            && spec.proto.is_none()
            && spec.fragment.is_none();
        if no_base && spec.matches.is_empty() {
            RuleEval::Unconditional
        } else if let (true, [Match::Set(s)]) = (no_base, &spec.matches[..]) {
            if s.dirs.count == 1 && s.flags == TestFlags::default() {
                RuleEval::SetAddr {
                    index: s.index,
                    src: s.dirs.src(0),
                    inv: s.inv,
                }
            } else {
                RuleEval::View
            }
        } else if let (true, [Match::Conntrack(c)]) = (no_base, &spec.matches[..]) {
            match c.state {
                Some(s) if !c.tests_entry() => RuleEval::CtState {
                    bits: s.val,
                    inv: s.inv,
                },
                _ => RuleEval::Context,
            }
        } else if no_base && spec.matches.iter().all(context) {
            RuleEval::Context
        } else if spec.matches.iter().all(view_only) {
            RuleEval::View
        } else {
            RuleEval::Full
        }
    }
}

/// `rule_matches` for a rule whose evaluation is `RuleEval::View` (`-m set` reads the
/// set snapshot besides the packet).
pub fn view_rule_matches(
    spec: &RuleSpec,
    ifaces_checked: bool,
    ip: &[u8],
    meta: PacketMeta<'_>,
    sets: &SetTable,
    now_ns: u64,
) -> bool {
    PacketView::parse(ip, meta).is_some_and(|v| {
        spec.base_matches_with(&v, ifaces_checked)
            && spec.matches.iter().all(|m| {
                m.decide_packet(&PacketCx {
                    view: &v,
                    sets,
                    now_ns,
                })
                .unwrap_or(false)
            })
    })
}

/// `rule_matches` for a rule whose evaluation is `RuleEval::Context`: the same answer,
/// with the packet only checked to be one a rule can match at all.
pub fn context_rule_matches<A: ConnFamily>(
    spec: &RuleSpec,
    ip: &[u8],
    ct: &CtInfo<A>,
    entry: Option<&ConnEntry<A>>,
    now_ns: u64,
    st: &mut RuleState,
    random: &mut dyn FnMut() -> u32,
) -> bool {
    PacketView::is_parseable(ip)
        && spec.matches.iter().all(|m| {
            m.decide_conn(&mut ConnCx {
                ct,
                entry,
                now_ns,
                state: st,
                random,
            })
            .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::nat::bits as nat_bits;
    use crate::conntrack::CtState;
    use crate::ruleset::matches::conntrack::conntrack_matches;

    /// Every compiled rule carries one: the fixed-part masks must not make all rules
    /// larger (the addresses are read from the rule's spec).
    #[test]
    fn rule_eval_stays_small() {
        assert!(std::mem::size_of::<RuleEval>() <= 16);
    }

    /// `RuleEval::CtState` answers as `conntrack_matches` does for a state-only match:
    /// every state, every set of state bits, negated or not, with and without an entry,
    /// with each kind of NAT on it.
    #[test]
    fn ctstate_alone_is_decided_as_conntrack_decides_it() {
        use crate::conntrack::{Conntrack, CtConfig};
        use crate::ruleset::matches::conntrack::{ConntrackFlavor, ConntrackMatch};
        use crate::ruleset::packet::tests::ipv4;
        let ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &[0, 1, 0, 2, 0, 8, 0, 0]);
        let mut ct = Conntrack::new(CtConfig::default());
        let base = ct
            .packet_in(&ip, false, 1_000_000_000)
            .pending
            .expect("a new connection");
        let nat = [
            0,
            nat_bits::SRC_NAT,
            nat_bits::DST_NAT,
            nat_bits::SRC_NAT | nat_bits::DST_NAT,
        ];
        let states = [
            CtState::New,
            CtState::Established,
            CtState::Related,
            CtState::Invalid,
            CtState::Untracked,
        ];
        for status in nat {
            let mut e = base.clone();
            e.status |= status;
            for state in states {
                let info = CtInfo {
                    state,
                    ..CtInfo::untracked()
                };
                for entry in [None, Some(&e)] {
                    for bits in 0..128u16 {
                        for inv in [false, true] {
                            let mut m = ConntrackMatch::new(ConntrackFlavor::Conntrack);
                            m.state = Some(Inv { val: bits, inv });
                            assert_eq!(
                                RuleEval::of(&RuleSpec {
                                    matches: vec![Match::Conntrack(m.clone())],
                                    ..RuleSpec::default()
                                }),
                                RuleEval::CtState { bits, inv }
                            );
                            assert_eq!(
                                ctstate_matches(&ip, bits, inv, &info, entry),
                                conntrack_matches(&m, &info, entry, 0),
                                "{state:?} bits {bits:#x} inv {inv} nat {status} entry {}",
                                entry.is_some()
                            );
                        }
                    }
                }
            }
        }
    }
}
