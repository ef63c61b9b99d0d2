//! Extension matches (`-m NAME ...`), one module per match as netfilter cuts its xt_
//! extensions. Each module holds the typed options and `validate` (the kernel's
//! `checkentry`); packet evaluation joins them when the pipeline is compiled.

pub mod addrtype;
pub mod ah;
pub mod comment;
pub mod connbytes;
pub mod connlabel;
pub mod connlimit;
pub mod conntrack;
pub mod dccp;
pub mod dscp;
pub mod ecn;
pub mod esp;
pub mod hashlimit;
pub mod helper;
pub mod icmp;
pub mod ipcomp;
pub mod iprange;
pub mod length;
pub mod limit;
pub mod mac;
pub mod mark;
pub mod multiport;
pub mod pkttype;
pub mod quota;
pub mod recent;
pub mod rpfilter;
pub mod sctp;
pub mod set;
pub mod statistic;
pub mod string;
pub mod tcp;
pub mod tcpmss;
pub mod time;
pub mod ttl;
pub mod u32;
pub mod udp;

use super::{Hook, Inv, PortRange, RuleSpec, Usable};

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_DCCP: u8 = 33;
pub const IPPROTO_SCTP: u8 = 132;
pub const IPPROTO_UDPLITE: u8 = 136;

#[derive(Clone, Debug, PartialEq)]
pub enum Match {
    Addrtype(addrtype::AddrtypeMatch),
    Ah(ah::AhMatch),
    Comment(comment::CommentMatch),
    Connbytes(connbytes::ConnbytesMatch),
    Connlabel(connlabel::ConnlabelMatch),
    Connlimit(connlimit::ConnlimitMatch),
    Connmark(mark::MarkMatch),
    Conntrack(conntrack::ConntrackMatch),
    Dscp(dscp::DscpMatch),
    Ecn(ecn::EcnMatch),
    Esp(esp::EspMatch),
    U32(u32::U32Match),
    Sctp(sctp::SctpMatch),
    Dccp(dccp::DccpMatch),
    Hashlimit(hashlimit::HashlimitMatch),
    Helper(helper::HelperMatch),
    Icmp(icmp::IcmpMatch),
    Ipcomp(ipcomp::IpcompMatch),
    Iprange(iprange::IprangeMatch),
    Length(length::LengthMatch),
    Limit(limit::LimitMatch),
    Mac(mac::MacMatch),
    Mark(mark::MarkMatch),
    Multiport(multiport::MultiportMatch),
    Pkttype(pkttype::PkttypeMatch),
    Quota(quota::QuotaMatch),
    Recent(recent::RecentMatch),
    Rpfilter(rpfilter::RpfilterMatch),
    Set(set::SetMatch),
    Statistic(statistic::StatisticMatch),
    String(string::StringMatch),
    Tcp(tcp::TcpMatch),
    Tcpmss(tcpmss::TcpmssMatch),
    Time(time::TimeMatch),
    Tos(dscp::TosMatch),
    Ttl(ttl::TtlMatch),
    Udp(udp::UdpMatch),
}

impl Match {
    /// The name after `-m`.
    pub fn name(&self) -> &'static str {
        match self {
            Match::Addrtype(_) => "addrtype",
            Match::Ah(_) => "ah",
            Match::Comment(_) => "comment",
            Match::Connbytes(_) => "connbytes",
            Match::Connlabel(_) => "connlabel",
            Match::Connlimit(_) => "connlimit",
            Match::Connmark(_) => "connmark",
            Match::Conntrack(c) => c.flavor.name(),
            Match::Dscp(_) => "dscp",
            Match::Ecn(_) => "ecn",
            Match::Esp(_) => "esp",
            Match::U32(_) => "u32",
            Match::Sctp(_) => "sctp",
            Match::Dccp(_) => "dccp",
            Match::Hashlimit(_) => "hashlimit",
            Match::Helper(_) => "helper",
            Match::Icmp(_) => "icmp",
            Match::Ipcomp(_) => "ipcomp",
            Match::Iprange(_) => "iprange",
            Match::Length(_) => "length",
            Match::Limit(_) => "limit",
            Match::Mac(_) => "mac",
            Match::Mark(_) => "mark",
            Match::Multiport(_) => "multiport",
            Match::Pkttype(_) => "pkttype",
            Match::Quota(_) => "quota",
            Match::Recent(_) => "recent",
            Match::Rpfilter(_) => "rpfilter",
            Match::Set(_) => "set",
            Match::Statistic(_) => "statistic",
            Match::String(_) => "string",
            Match::Tcp(_) => "tcp",
            Match::Tcpmss(_) => "tcpmss",
            Match::Time(_) => "time",
            Match::Tos(_) => "tos",
            Match::Ttl(_) => "ttl",
            Match::Udp(_) => "udp",
        }
    }

    /// Where the match may be used (the kernel's `.table` / `.hooks`).
    pub fn usable(&self) -> Usable {
        match self {
            Match::Mac(_) => Usable::hooks(&[Hook::Prerouting, Hook::Input, Hook::Forward]),
            Match::Rpfilter(_) => Usable::hooks(&[Hook::Prerouting]),
            Match::Addrtype(a) => a.usable(),
            _ => Usable::ANYWHERE,
        }
    }

    /// The tables the match may be used in, where its kernel module checks more than one
    /// (`usable` holds the single-table ones).
    pub fn tables(&self) -> Option<&'static [super::TableKind]> {
        match self {
            Match::Rpfilter(_) => Some(&[super::TableKind::Raw, super::TableKind::Mangle]),
            _ => None,
        }
    }

    /// Checks that hold for the rule alone (the kernel's `checkentry` and iptables'
    /// final checks): protocol requirements and option consistency.
    pub fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
        match self {
            Match::Tcp(_) => require_proto(spec, "tcp", &[IPPROTO_TCP]),
            Match::Udp(_) => require_proto(spec, "udp", &[IPPROTO_UDP]),
            Match::Icmp(_) => require_proto(spec, "icmp", &[IPPROTO_ICMP]),
            Match::Esp(_) => require_proto(spec, "esp", &[esp::IPPROTO_ESP]),
            Match::Sctp(_) => require_proto(spec, "sctp", &[sctp::IPPROTO_SCTP]),
            Match::Dccp(_) => require_proto(spec, "dccp", &[dccp::IPPROTO_DCCP]),
            Match::Ah(_) => require_proto(spec, "ah", &[ah::IPPROTO_AH]),
            Match::Ipcomp(_) => require_proto(spec, "ipcomp", &[ipcomp::IPPROTO_COMP]),
            Match::Tcpmss(_) => require_proto(spec, "tcpmss", &[IPPROTO_TCP]),
            Match::Multiport(m) => m.validate(spec),
            Match::Connlimit(_) | Match::Connbytes(_) | Match::Quota(_) => Ok(()),
            Match::Connlabel(c) => c.validate(),
            Match::Rpfilter(_) => Ok(()),
            Match::Ecn(e) if e.tests_tcp() && spec.exact_proto() != Some(IPPROTO_TCP) => {
                Err("ECN match: cannot match TCP bits in rule for non-tcp packets".into())
            }
            Match::Ecn(_) => Ok(()),
            Match::Statistic(s) => s.validate(),
            Match::Recent(r) => r.validate(),
            Match::Set(s) => s.validate(),
            Match::Iprange(_) | Match::Length(_) | Match::Limit(_) | Match::Conntrack(_) => Ok(()),
            Match::Mac(_) | Match::Mark(_) | Match::Connmark(_) | Match::Ttl(_) => Ok(()),
            Match::Comment(_) | Match::Addrtype(_) | Match::String(_) | Match::Time(_) => Ok(()),
            Match::U32(_) => Ok(()),
            Match::Hashlimit(h) => h.validate(),
            Match::Dscp(_) | Match::Tos(_) | Match::Helper(_) | Match::Pkttype(_) => Ok(()),
        }
    }
}

impl Match {
    /// Evaluates a match that needs nothing but the packet. Matches that need the
    /// worker's context (rate limits, sampling, the clock, the FIB, connection state)
    /// are evaluated by the pipeline and are `false` here.
    pub fn matches(&self, pkt: &super::packet::PacketView) -> bool {
        match self {
            Match::Tcp(m) => m.matches(pkt),
            Match::Udp(m) => m.matches(pkt),
            Match::Icmp(m) => m.matches(pkt),
            Match::Esp(m) => m.matches(pkt),
            Match::U32(m) => m.matches(pkt),
            Match::Sctp(m) => m.matches(pkt),
            Match::Dccp(m) => m.matches(pkt),
            Match::Ah(m) => m.matches(pkt),
            Match::Ipcomp(m) => m.matches(pkt),
            Match::Multiport(m) => m.matches(pkt),
            Match::Iprange(m) => m.matches(pkt),
            Match::Length(m) => m.matches(pkt),
            Match::Mac(m) => m.matches(pkt),
            Match::Pkttype(m) => m.matches(pkt),
            Match::Mark(m) => m.matches_mark(pkt.meta.mark),
            Match::Ttl(m) => m.matches(pkt),
            Match::Tcpmss(m) => m.matches(pkt),
            Match::Dscp(m) => m.matches(pkt),
            Match::Ecn(m) => m.matches(pkt),
            Match::Tos(m) => m.matches(pkt),
            Match::String(m) => m.matches(pkt),
            Match::Comment(m) => m.matches(pkt),
            Match::Limit(_)
            | Match::Statistic(_)
            | Match::Time(_)
            | Match::Addrtype(_)
            | Match::Conntrack(_)
            | Match::Connmark(_)
            | Match::Helper(_)
            | Match::Connlimit(_)
            | Match::Connbytes(_)
            | Match::Connlabel(_)
            | Match::Quota(_)
            | Match::Rpfilter(_)
            | Match::Recent(_)
            | Match::Set(_)
            | Match::Hashlimit(_) => false,
        }
    }
}

/// The kernel refuses a protocol match on a rule that does not pin that protocol
/// (`-m tcp` needs `-p tcp`, not `! -p tcp`).
pub fn require_proto(spec: &RuleSpec, what: &str, protos: &[u8]) -> Result<(), String> {
    match spec.exact_proto() {
        Some(p) if protos.contains(&p) => Ok(()),
        _ => Err(format!(
            "{what} match: only valid for protocol {}",
            protos
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("/")
        )),
    }
}

/// The L4 header of an SCTP or DCCP packet (both start with the two ports, in a common
/// header of 12 bytes) when it has those 12 bytes and its ports are in `sport` and
/// `dport`; `None` otherwise (a short header or a non-first fragment does not match).
fn common_header<'a>(
    pkt: &crate::ruleset::packet::PacketView<'a>,
    sport: &Option<Inv<PortRange>>,
    dport: &Option<Inv<PortRange>>,
) -> Option<&'a [u8]> {
    let l4 = pkt.l4?;
    let h = l4.get(..12)?;
    let port = |at: usize| u16::from_be_bytes([h[at], h[at + 1]]);
    let ok =
        |r: &Option<Inv<PortRange>>, p: u16| r.as_ref().is_none_or(|r| r.val.contains(p) != r.inv);
    (ok(sport, port(0)) && ok(dport, port(2))).then_some(l4)
}
