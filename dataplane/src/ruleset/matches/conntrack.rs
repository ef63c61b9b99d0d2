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
        n.as_ref()
            .is_none_or(|n| n.apply((u128::from(a) ^ u128::from(n.val.addr)) & n.val.mask == 0))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::{Conntrack6, CtConfig, CtInfo6};
    use crate::ruleset::packet::tests::ipv6;

    /// A new UDP connection from 2001:db8:1::10 to 2001:db8:99::5 in an IPv6 table.
    fn new6() -> CtInfo6 {
        let ip = ipv6(
            17,
            "2001:db8:1::10",
            "2001:db8:99::5",
            &[0, 1, 0, 2, 0, 8, 0, 0],
        );
        let mut ct = Conntrack6::with_config(CtConfig::default());
        let info = ct.packet_in(&ip, false, 1_000_000_000);
        assert_eq!(info.state, CtState::New);
        info
    }

    fn with6(at: usize, net: &str, len: u8, inv: bool) -> ConntrackMatch {
        let mut m = ConntrackMatch::new(ConntrackFlavor::Conntrack);
        let mut a: [Option<Inv<Ipv6Net>>; 4] = Default::default();
        // Kept unmasked as ip6tables hands it over: the compare masks both sides.
        a[at] = Some(Inv {
            val: Ipv6Net {
                addr: net.parse().unwrap(),
                mask: crate::ruleset::prefix_mask6(len),
            },
            inv,
        });
        m.addrs6 = Some(Box::new(a));
        m
    }

    /// conntrack_mt for NFPROTO_IPV6: each of --ctorigsrc, --ctorigdst, --ctreplsrc,
    /// --ctrepldst against its address of the IPv6 entry, under the rule's mask, `!` or
    /// not.
    #[test]
    fn ipv6_address_criteria_compare_the_entry_under_the_mask() {
        let info = new6();
        let e = info.pending.as_ref();
        let cases = [
            (0, "2001:db8:1::ffff", 64, true),
            (0, "2001:db8:1::11", 128, false),
            (0, "2001:db8:1::10", 128, true),
            (1, "2001:db8:99::1", 48, true),
            (1, "2001:db8:98::1", 48, false),
            (2, "2001:db8:99::5", 128, true),
            (2, "2001:db8:1::10", 128, false),
            (3, "2001:db8:1::", 64, true),
            (3, "::", 0, true),
        ];
        for (at, net, len, hit) in cases {
            for inv in [false, true] {
                assert_eq!(
                    conntrack_matches(&with6(at, net, len, inv), &info, e, 0),
                    hit != inv,
                    "{at} {net}/{len} inv {inv}"
                );
            }
        }
        // Without a connection an address criterion never matches.
        let untracked = CtInfo6::with_state(CtState::Untracked);
        assert!(!conntrack_matches(
            &with6(3, "::", 0, false),
            &untracked,
            None,
            0
        ));
    }

    /// The SNAT / DNAT state bits come from the IPv6 entry's status as from an IPv4
    /// one's (NAT66 sets them there).
    #[test]
    fn ctstate_snat_and_dnat_read_the_ipv6_entry_status() {
        let info = new6();
        let mut e = info.pending.clone().expect("a new connection");
        let mut m = ConntrackMatch::new(ConntrackFlavor::Conntrack);
        m.state = Some(Inv {
            val: state::SNAT,
            inv: false,
        });
        assert!(!conntrack_matches(&m, &info, Some(&e), 0));
        e.status |= nat_bits::SRC_NAT;
        assert!(conntrack_matches(&m, &info, Some(&e), 0));
        assert_eq!(
            ctstate_bits(&info, Some(&e)),
            state::NEW | state::SNAT,
            "the state and the SNAT bit"
        );
        e.status |= nat_bits::DST_NAT;
        assert_eq!(
            ctstate_bits(&info, Some(&e)),
            state::NEW | state::SNAT | state::DNAT
        );
    }
}
