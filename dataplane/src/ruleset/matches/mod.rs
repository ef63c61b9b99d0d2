//! Extension matches (`-m NAME ...`), one module per match as netfilter cuts its xt_
//! extensions. Each module holds the typed options, `MatchExt` (name, revision, where it
//! is legal, the kernel's `checkentry`) and its per-packet `decide` (`ruleset::ext`); the
//! registry below lists them all once.

pub mod addrtype;
pub mod ah;
pub mod ah6;
pub mod comment;
pub mod connbytes;
pub mod connlabel;
pub mod connlimit;
pub mod conntrack;
pub mod dccp;
pub mod dscp;
pub mod ecn;
pub mod esp;
pub mod frag;
pub mod hashlimit;
pub mod hbh;
pub mod helper;
pub mod hl;
pub mod icmp;
pub mod icmp6;
pub mod ipcomp;
pub mod iprange;
pub mod ipv6header;
#[cfg(test)]
mod kernel6;
pub mod length;
pub mod limit;
pub mod mac;
pub mod mark;
pub mod mh;
pub mod multiport;
pub mod pkttype;
pub mod quota;
pub mod recent;
pub mod rpfilter;
pub mod rt;
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

use super::ext::RuleState;
use super::ext::{ConnCx, ConnFamily, ConnMatch, MatchEnv, MatchTier, PacketCx, PacketMatch};
use super::ext::{ExtensionInfo, MatchExt, WorkerMatch};
use super::packet::PacketView;
use super::{Families, Inv, PortRange, RuleSpec, TableKind, Usable};

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;
pub const IPPROTO_DCCP: u8 = 33;
pub const IPPROTO_SCTP: u8 = 132;
pub const IPPROTO_UDPLITE: u8 = 136;

/// The registry of matches: every match nfdp knows, once, under the tier of what it reads
/// (`ruleset::ext`). `Match` and every dispatch over it, here and in `control`'s text
/// side, are generated from this list: adding a match is its module, its text module and
/// one line here. Calls `$callback! { packet: [Variant(Type), ...], conn: [...],
/// worker: [...] }`.
#[macro_export]
macro_rules! for_each_match {
    ($callback:ident) => {
        $callback! {
            packet: [
                Ah($crate::ruleset::matches::ah::AhMatch),
                Ah6($crate::ruleset::matches::ah6::Ah6Match),
                Comment($crate::ruleset::matches::comment::CommentMatch),
                Dccp($crate::ruleset::matches::dccp::DccpMatch),
                Dscp($crate::ruleset::matches::dscp::DscpMatch),
                Ecn($crate::ruleset::matches::ecn::EcnMatch),
                Hbh($crate::ruleset::matches::hbh::OptsMatch),
                Hl($crate::ruleset::matches::hl::HlMatch),
                Esp($crate::ruleset::matches::esp::EspMatch),
                Frag($crate::ruleset::matches::frag::FragMatch),
                Icmp($crate::ruleset::matches::icmp::IcmpMatch),
                Icmp6($crate::ruleset::matches::icmp6::Icmp6Match),
                Ipcomp($crate::ruleset::matches::ipcomp::IpcompMatch),
                Iprange($crate::ruleset::matches::iprange::IprangeMatch),
                Ipv6header($crate::ruleset::matches::ipv6header::Ipv6headerMatch),
                Length($crate::ruleset::matches::length::LengthMatch),
                Mac($crate::ruleset::matches::mac::MacMatch),
                Mark($crate::ruleset::matches::mark::MarkMatch),
                Mh($crate::ruleset::matches::mh::MhMatch),
                Multiport($crate::ruleset::matches::multiport::MultiportMatch),
                Pkttype($crate::ruleset::matches::pkttype::PkttypeMatch),
                Rt($crate::ruleset::matches::rt::RtMatch),
                Sctp($crate::ruleset::matches::sctp::SctpMatch),
                Set($crate::ruleset::matches::set::SetMatch),
                String($crate::ruleset::matches::string::StringMatch),
                Tcp($crate::ruleset::matches::tcp::TcpMatch),
                Tcpmss($crate::ruleset::matches::tcpmss::TcpmssMatch),
                Tos($crate::ruleset::matches::dscp::TosMatch),
                Ttl($crate::ruleset::matches::ttl::TtlMatch),
                U32($crate::ruleset::matches::u32::U32Match),
                Udp($crate::ruleset::matches::udp::UdpMatch),
            ],
            conn: [
                Connmark($crate::ruleset::matches::mark::ConnmarkMatch),
                Conntrack($crate::ruleset::matches::conntrack::ConntrackMatch),
                Helper($crate::ruleset::matches::helper::HelperMatch),
                Limit($crate::ruleset::matches::limit::LimitMatch),
                Statistic($crate::ruleset::matches::statistic::StatisticMatch),
                Time($crate::ruleset::matches::time::TimeMatch),
            ],
            worker: [
                Addrtype($crate::ruleset::matches::addrtype::AddrtypeMatch),
                Connbytes($crate::ruleset::matches::connbytes::ConnbytesMatch),
                Connlabel($crate::ruleset::matches::connlabel::ConnlabelMatch),
                Connlimit($crate::ruleset::matches::connlimit::ConnlimitMatch),
                Hashlimit($crate::ruleset::matches::hashlimit::HashlimitMatch),
                Quota($crate::ruleset::matches::quota::QuotaMatch),
                Recent($crate::ruleset::matches::recent::RecentMatch),
                Rpfilter($crate::ruleset::matches::rpfilter::RpfilterMatch),
            ],
        }
    };
}

/// `Match` and its dispatch, from the registry.
macro_rules! define_match {
    (
        packet: [$($pv:ident($pt:ty),)*],
        conn: [$($cv:ident($ct:ty),)*],
        worker: [$($wv:ident($wt:ty),)*],
    ) => {
        /// One extension match of a rule, with its typed options.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Match {
            $($pv($pt),)*
            $($cv($ct),)*
            $($wv($wt),)*
        }

        /// Every registered match, as `nfdp extensions` lists them.
        pub const MATCHES: &[ExtensionInfo] = &[
            $(ExtensionInfo {
                name: <$pt as MatchExt>::NAME,
                revision: <$pt as MatchExt>::REVISION,
                tier: Some(MatchTier::Packet),
                terminal: false,
            },)*
            $(ExtensionInfo {
                name: <$ct as MatchExt>::NAME,
                revision: <$ct as MatchExt>::REVISION,
                tier: Some(MatchTier::Conn),
                terminal: false,
            },)*
            $(ExtensionInfo {
                name: <$wt as MatchExt>::NAME,
                revision: <$wt as MatchExt>::REVISION,
                tier: Some(MatchTier::Worker),
                terminal: false,
            },)*
        ];

        impl Match {
            /// The name after `-m`.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Match::$pv(m) => MatchExt::name(m),)*
                    $(Match::$cv(m) => MatchExt::name(m),)*
                    $(Match::$wv(m) => MatchExt::name(m),)*
                }
            }

            pub fn revision(&self) -> u8 {
                match self {
                    $(Match::$pv(_) => <$pt as MatchExt>::REVISION,)*
                    $(Match::$cv(_) => <$ct as MatchExt>::REVISION,)*
                    $(Match::$wv(_) => <$wt as MatchExt>::REVISION,)*
                }
            }

            /// The families the match is registered for.
            pub fn families(&self) -> Families {
                match self {
                    $(Match::$pv(_) => <$pt as MatchExt>::FAMILIES,)*
                    $(Match::$cv(_) => <$ct as MatchExt>::FAMILIES,)*
                    $(Match::$wv(_) => <$wt as MatchExt>::FAMILIES,)*
                }
            }

            /// What the match reads to decide.
            pub fn tier(&self) -> MatchTier {
                match self {
                    $(Match::$pv(_) => MatchTier::Packet,)*
                    $(Match::$cv(_) => MatchTier::Conn,)*
                    $(Match::$wv(_) => MatchTier::Worker,)*
                }
            }

            /// Where the match may be used (the kernel's `.table` / `.hooks`).
            pub fn usable(&self) -> Usable {
                match self {
                    $(Match::$pv(m) => MatchExt::usable(m),)*
                    $(Match::$cv(m) => MatchExt::usable(m),)*
                    $(Match::$wv(m) => MatchExt::usable(m),)*
                }
            }

            /// The tables the match may be used in, where its kernel module checks more
            /// than one (`usable` holds the single-table ones).
            pub fn tables(&self) -> Option<&'static [TableKind]> {
                match self {
                    $(Match::$pv(m) => MatchExt::tables(m),)*
                    $(Match::$cv(m) => MatchExt::tables(m),)*
                    $(Match::$wv(m) => MatchExt::tables(m),)*
                }
            }

            /// Checks that hold for the rule alone (the kernel's `checkentry`).
            pub fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
                match self {
                    $(Match::$pv(m) => MatchExt::validate(m, spec),)*
                    $(Match::$cv(m) => MatchExt::validate(m, spec),)*
                    $(Match::$wv(m) => MatchExt::validate(m, spec),)*
                }
            }

            /// A packet-tier match decided; `None` for the other tiers.
            #[inline]
            pub fn decide_packet(&self, cx: &PacketCx<'_, '_>) -> Option<bool> {
                match self {
                    $(Match::$pv(m) => Some(PacketMatch::decide(m, cx)),)*
                    _ => None,
                }
            }

            /// A connection-tier match decided; `None` for the other tiers.
            #[inline]
            pub fn decide_conn<A: ConnFamily>(&self, cx: &mut ConnCx<'_, A>) -> Option<bool> {
                match self {
                    $(Match::$cv(m) => Some(ConnMatch::decide(m, cx)),)*
                    _ => None,
                }
            }

            /// Any match decided, with everything the worker has.
            pub fn decide<A: ConnFamily>(
                &self,
                view: &PacketView<'_>,
                env: &mut MatchEnv<'_, A>,
                st: &mut RuleState,
                random: &mut dyn FnMut() -> u32,
            ) -> bool {
                match self {
                    $(Match::$pv(m) => PacketMatch::decide(
                        m,
                        &PacketCx { view, sets: env.sets, now_ns: env.now_ns },
                    ),)*
                    $(Match::$cv(m) => ConnMatch::decide(
                        m,
                        &mut ConnCx {
                            ct: env.ct,
                            entry: env.ct_entry,
                            now_ns: env.now_ns,
                            state: st,
                            random,
                        },
                    ),)*
                    $(Match::$wv(m) => WorkerMatch::decide(m, view, env, st),)*
                }
            }
        }
    };
}

for_each_match!(define_match);

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
