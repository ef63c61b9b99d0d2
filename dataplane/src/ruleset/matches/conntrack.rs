//! `-m conntrack` and its older spelling `-m state` (xt_conntrack, xt_state).

use crate::conntrack::nat::bits as nat_bits;
use crate::conntrack::{ConnEntry, CtInfo, CtState};
use crate::ruleset::ext::ConnFamily;
use std::net::Ipv6Addr;

use crate::ruleset::{Inv, Ipv4Net, Ipv6Net, PortRange};

// Connection state belongs to conntrack; the match reads it from there.
pub use crate::conntrack::{state, status};

/// Which option spelling the rule was written with; both print back as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConntrackFlavor {
    State,
    Conntrack,
}

impl ConntrackFlavor {
    pub fn name(self) -> &'static str {
        match self {
            ConntrackFlavor::State => "state",
            ConntrackFlavor::Conntrack => "conntrack",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtDir {
    Original,
    Reply,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConntrackMatch {
    pub flavor: ConntrackFlavor,
    pub state: Option<Inv<u16>>,
    pub proto: Option<Inv<u8>>,
    pub orig_src: Option<Inv<Ipv4Net>>,
    pub orig_dst: Option<Inv<Ipv4Net>>,
    pub repl_src: Option<Inv<Ipv4Net>>,
    pub repl_dst: Option<Inv<Ipv4Net>>,
    pub orig_src_port: Option<Inv<PortRange>>,
    pub orig_dst_port: Option<Inv<PortRange>>,
    pub repl_src_port: Option<Inv<PortRange>>,
    pub repl_dst_port: Option<Inv<PortRange>>,
    pub status: Option<Inv<u8>>,
    /// Remaining lifetime in seconds, inclusive range.
    pub expire: Option<Inv<(u32, u32)>>,
    pub dir: Option<CtDir>,
    /// An ip6tables rule's `--ctorigsrc`, `--ctorigdst`, `--ctreplsrc`, `--ctrepldst` (in
    /// that order), kept unmasked as ip6tables keeps them; boxed so that the IPv4 match
    /// keeps its size; compared with the IPv6 entry's addresses (`addrs_hold_v6`).
    pub addrs6: Option<Box<[Option<Inv<Ipv6Net>>; 4]>>,
}

impl ConntrackMatch {
    pub fn new(flavor: ConntrackFlavor) -> ConntrackMatch {
        ConntrackMatch {
            flavor,
            state: None,
            proto: None,
            orig_src: None,
            orig_dst: None,
            repl_src: None,
            repl_dst: None,
            orig_src_port: None,
            orig_dst_port: None,
            repl_src_port: None,
            repl_dst_port: None,
            status: None,
            expire: None,
            dir: None,
            addrs6: None,
        }
    }

    /// Whether any option other than `--ctstate` is given: those look at the entry itself,
    /// so they can only match a packet that has one.
    pub fn tests_entry(&self) -> bool {
        self.proto.is_some()
            || self.orig_src.is_some()
            || self.orig_dst.is_some()
            || self.repl_src.is_some()
            || self.repl_dst.is_some()
            || self.orig_src_port.is_some()
            || self.orig_dst_port.is_some()
            || self.repl_src_port.is_some()
            || self.repl_dst_port.is_some()
            || self.status.is_some()
            || self.expire.is_some()
            || self.dir.is_some()
            || self.addrs6.is_some()
    }
}

/// The `--ctstate` bits of a packet: its state, plus SNAT / DNAT when its connection
/// is translated that way.
pub fn ctstate_bits<A>(ct: &CtInfo<A>, e: Option<&ConnEntry<A>>) -> u16 {
    let mut bits = ct.state.bit();
    if let Some(e) = e {
        if e.status & nat_bits::SRC_NAT != 0 {
            bits |= state::SNAT;
        }
        if e.status & nat_bits::DST_NAT != 0 {
            bits |= state::DNAT;
        }
    }
    bits
}

/// xt_conntrack rev 3 (and `-m state`): the state criterion applies to every packet;
/// the others need a connection.
pub fn conntrack_matches<A: ConnFamily>(
    m: &ConntrackMatch,
    ct: &CtInfo<A>,
    e: Option<&ConnEntry<A>>,
    now_ns: u64,
) -> bool {
    if let Some(s) = m.state {
        if !s.apply(s.val & ctstate_bits(ct, e) != 0) {
            return false;
        }
    }
    let Some(e) = e.filter(|_| !matches!(ct.state, CtState::Invalid | CtState::Untracked)) else {
        return m.state.is_some() && !m.tests_entry();
    };
    if let Some(d) = m.dir {
        if (d == CtDir::Reply) != ct.reply {
            return false;
        }
    }
    let port =
        |p: &Option<Inv<PortRange>>, v| p.as_ref().is_none_or(|p| p.apply(p.val.contains(v)));
    A::conntrack_addrs_hold(m, e)
        && m.proto.is_none_or(|p| p.apply(e.orig.proto == p.val))
        && port(&m.orig_src_port, e.orig.sport)
        && port(&m.orig_dst_port, e.orig.dport)
        && port(&m.repl_src_port, e.reply.sport)
        && port(&m.repl_dst_port, e.reply.dport)
        && m.status
            .is_none_or(|s| s.apply(s.val & e.status & 0x0f != 0))
        && m.expire.is_none_or(|x| {
            // An unconfirmed entry (this packet's own new connection) holds its timeout
            // relative in the kernel, so nf_ct_expires reads it as 0.
            let left = if e.status & status::CONFIRMED == 0 {
                0
            } else {
                e.timeout_ns.saturating_sub(now_ns) / 1_000_000_000
            };
            x.apply((u64::from(x.val.0)..=u64::from(x.val.1)).contains(&left))
        })
}

/// The IPv4 address criteria (`ConnFamily::conntrack_addrs_hold` for IPv4).
#[inline]
pub fn addrs_hold_v4(m: &ConntrackMatch, e: &ConnEntry) -> bool {
    let net = |n: &Option<Inv<Ipv4Net>>, a| n.as_ref().is_none_or(|n| n.apply(n.val.contains(a)));
    net(&m.orig_src, e.orig.src)
        && net(&m.orig_dst, e.orig.dst)
        && net(&m.repl_src, e.reply.src)
        && net(&m.repl_dst, e.reply.dst)
}

/// The IPv6 address criteria, kept in `addrs6` (`--ctorigsrc`, `--ctorigdst`,
/// `--ctreplsrc`, `--ctrepldst`): `ipv6_masked_addr_cmp` of the entry's address with the
/// rule's under its mask. The IPv4 fields are never set on an ip6tables rule.
pub fn addrs_hold_v6(m: &ConntrackMatch, e: &ConnEntry<Ipv6Addr>) -> bool {
    let Some(a) = m.addrs6.as_deref() else {
        return true;
    };
    let net = |n: &Option<Inv<Ipv6Net>>, a: Ipv6Addr| {
        n.as_ref().is_none_or(|n| {
            n.apply((u128::from(a) ^ u128::from(n.val.addr)) & n.val.mask == 0)
        })
    };
    net(&a[0], e.orig.src)
        && net(&a[1], e.orig.dst)
        && net(&a[2], e.reply.src)
        && net(&a[3], e.reply.dst)
}

impl crate::ruleset::ext::MatchExt for ConntrackMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "conntrack";
    const REVISION: u8 = 3;

    /// `-m state` is xt_conntrack under its other name.
    fn name(&self) -> &'static str {
        self.flavor.name()
    }
}

impl crate::ruleset::ext::ConnMatch for ConntrackMatch {
    fn decide<A: ConnFamily>(&self, cx: &mut crate::ruleset::ext::ConnCx<'_, A>) -> bool {
        conntrack_matches(self, cx.ct, cx.entry, cx.now_ns)
    }
}
