//! Targets (`-j NAME ...`), one module per target as netfilter cuts its xt_ targets.
//! Each module holds the typed options and `TargetExt` (name, revision, the table and
//! hooks where the kernel allows it, `checkentry`, and its per-packet `run`); the
//! registry below lists them all once.

pub mod checksum;
pub mod connmark;
pub mod ct;
pub mod ecn;
pub mod hl;
pub mod hmark;
pub mod log;
pub mod mark;
pub mod nat;
pub mod netmap;
pub mod nflog;
pub mod reject;
pub mod reject6;
pub mod set;
pub mod synproxy;
pub mod tcpmss;
pub mod tcpoptstrip;
pub mod tee;
pub mod tos;
pub mod ttl;

pub mod trace;

/// Where the TCP segment of an IPv4 or IPv6 packet lies (TCPMSS, TCPOPTSTRIP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TcpSegment {
    /// Offset of the TCP header from the start of the IP header.
    pub tcp: usize,
    /// End of the IP packet: its total length (bytes past it are padding).
    pub end: usize,
    pub v6: bool,
}

/// The TCP segment of the IPv4 or IPv6 packet `pkt`: `None` when it is not TCP or is a
/// non-first fragment, which the kernel's TCP targets leave alone (`par->fragoff`). IPv6
/// finds TCP past the extension headers as tcpmss_tg6 and tcpoptstrip_tg6 do with
/// ipv6_skip_exthdr; a chain the walk refuses is left alone (nfdp drops such a packet
/// before any rule).
pub(crate) fn tcp_segment(pkt: &[u8]) -> Option<TcpSegment> {
    use crate::wire::{IpProtocol, Ipv4Packet, Ipv6Packet};
    match pkt.first()? >> 4 {
        4 => {
            let ip = Ipv4Packet::new_checked(pkt).ok()?;
            if ip.protocol() != IpProtocol::Tcp || ip.frag_offset() != 0 {
                return None;
            }
            Some(TcpSegment {
                tcp: usize::from(ip.header_len()),
                end: usize::from(ip.total_len()),
                v6: false,
            })
        }
        6 => {
            let ip = Ipv6Packet::new_checked(pkt).ok()?;
            let ext = ip.ext_headers().ok()?;
            if ext.protocol != IpProtocol::Tcp {
                return None;
            }
            Some(TcpSegment {
                tcp: ext.upper_offset?,
                end: 40 + usize::from(ip.payload_len()),
                v6: true,
            })
        }
        _ => None,
    }
}

use super::ext::{ExtensionInfo, TargetCx, TargetExt, TargetOutcome};
use super::{Families, RuleSpec, Usable};

/// The registry of targets: every target extension nfdp knows, once. `Target` and every
/// dispatch over it, here and in `control`'s text side, are generated from this list:
/// adding a target is its module, its text module and one line here. Calls
/// `$callback! { Variant(Type), ... }`.
#[macro_export]
macro_rules! for_each_target {
    ($callback:ident) => {
        $callback! {
            Checksum($crate::ruleset::targets::checksum::ChecksumTarget),
            Connmark($crate::ruleset::targets::connmark::ConnmarkTarget),
            Ct($crate::ruleset::targets::ct::CtTarget),
            Dnat($crate::ruleset::targets::nat::DnatTarget),
            Dscp($crate::ruleset::targets::tos::DscpTarget),
            Ecn($crate::ruleset::targets::ecn::EcnTarget),
            Hl($crate::ruleset::targets::hl::HlTarget),
            Hmark($crate::ruleset::targets::hmark::HmarkTarget),
            Log($crate::ruleset::targets::log::LogTarget),
            Mark($crate::ruleset::targets::mark::MarkTarget),
            Masquerade($crate::ruleset::targets::nat::MasqueradeTarget),
            Netmap($crate::ruleset::targets::netmap::NetmapTarget),
            Nflog($crate::ruleset::targets::nflog::NflogTarget),
            Notrack($crate::ruleset::targets::ct::NotrackTarget),
            Redirect($crate::ruleset::targets::nat::RedirectTarget),
            Reject($crate::ruleset::targets::reject::RejectTarget),
            Reject6($crate::ruleset::targets::reject6::Reject6Target),
            Set($crate::ruleset::targets::set::SetTarget),
            Snat($crate::ruleset::targets::nat::SnatTarget),
            Synproxy($crate::ruleset::targets::synproxy::SynproxyTarget),
            Tcpmss($crate::ruleset::targets::tcpmss::TcpmssTarget),
            Tcpoptstrip($crate::ruleset::targets::tcpoptstrip::TcpoptstripTarget),
            Tee($crate::ruleset::targets::tee::TeeTarget),
            Tos($crate::ruleset::targets::tos::TosTarget),
            Trace($crate::ruleset::targets::trace::TraceTarget),
            Ttl($crate::ruleset::targets::ttl::TtlTarget),
        }
    };
}

/// `Target` and its dispatch, from the registry.
macro_rules! define_target {
    ($($v:ident($t:ty),)*) => {
        /// What a rule does when it matches: a verdict or a chain (built into the
        /// traversal), or a target extension.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub enum Target {
            /// A rule without `-j`: it only counts.
            #[default]
            None,
            Accept,
            Drop,
            Return,
            /// `-j CHAIN`: call a user chain.
            Jump(String),
            /// `-g CHAIN`: continue in a user chain without coming back.
            Goto(String),
            $($v($t),)*
        }

        /// Every registered target, as `nfdp extensions` lists them.
        pub const TARGETS: &[ExtensionInfo] = &[
            $(ExtensionInfo {
                name: <$t as TargetExt>::NAME,
                revision: <$t as TargetExt>::REVISION,
                tier: None,
                terminal: <$t as TargetExt>::TERMINAL,
            },)*
        ];

        impl Target {
            /// The name after `-j` (for jumps, the chain).
            pub fn name(&self) -> &str {
                match self {
                    Target::None => "",
                    Target::Accept => "ACCEPT",
                    Target::Drop => "DROP",
                    Target::Return => "RETURN",
                    Target::Jump(c) | Target::Goto(c) => c,
                    $(Target::$v(_) => <$t as TargetExt>::NAME,)*
                }
            }

            /// The revision of a target extension (0 for the built-in ones).
            pub fn revision(&self) -> u8 {
                match self {
                    $(Target::$v(_) => <$t as TargetExt>::REVISION,)*
                    _ => 0,
                }
            }

            /// The families the target is registered for (the verdicts and chains are
            /// every family's).
            pub fn families(&self) -> Families {
                match self {
                    $(Target::$v(_) => <$t as TargetExt>::FAMILIES,)*
                    _ => Families::BOTH,
                }
            }

            /// Where the kernel allows the target (`.table` and `.hooks` of its
            /// xt_target).
            pub fn usable(&self) -> Usable {
                match self {
                    $(Target::$v(t) => TargetExt::usable(t),)*
                    _ => Usable::ANYWHERE,
                }
            }

            /// Checks that hold for the rule alone.
            pub fn validate(&self, spec: &RuleSpec) -> Result<(), String> {
                match self {
                    $(Target::$v(t) => TargetExt::validate(t, spec),)*
                    _ => Ok(()),
                }
            }

            /// Ends the traversal of the chain (and, for a verdict, of the table).
            pub fn is_terminal(&self) -> bool {
                match self {
                    Target::None | Target::Jump(_) => false,
                    Target::Accept | Target::Drop | Target::Return | Target::Goto(_) => true,
                    $(Target::$v(_) => <$t as TargetExt>::TERMINAL,)*
                }
            }

            /// Runs a target extension on the packet; the built-in targets are the
            /// traversal's and do nothing here.
            #[inline]
            pub fn run(&self, cx: &mut TargetCx<'_>) -> TargetOutcome {
                match self {
                    $(Target::$v(t) => TargetExt::run(t, cx),)*
                    _ => TargetOutcome::Continue,
                }
            }
        }
    };
}

for_each_target!(define_target);

impl Target {
    /// The user chain this target jumps or goes to.
    pub fn chain_ref(&self) -> Option<&str> {
        match self {
            Target::Jump(c) | Target::Goto(c) => Some(c),
            _ => None,
        }
    }
}
