//! `-m connlimit`: the number of tracked connections per address group (xt_connlimit).

use crate::conntrack::ConnEntry;
use crate::ruleset::ext::{ConnFamily, MatchEnv};
use crate::ruleset::packet::PacketView;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnlimitMatch {
    /// `--connlimit-above N` matches when count > N; `--connlimit-upto N` when count <= N.
    pub above: bool,
    pub count: u32,
    pub mask_len: u8,
    /// Group by destination (`--connlimit-daddr`) instead of source.
    pub daddr: bool,
}

/// xt_connlimit: the connections of the packet's source (or destination) group, counting
/// the packet's own new connection, against the limit. TCP connections in TIME_WAIT or
/// CLOSE no longer count. This counts by walking the worker's table of the packet's
/// family (`Conntrack6` for ip6tables, with masks up to /128, as `connlimit_mt` masks
/// by `xt_family`).
pub fn connlimit_matches<A: ConnFamily>(
    c: &ConnlimitMatch,
    view: &PacketView<'_>,
    env: &MatchEnv<'_, A>,
) -> bool {
    let key =
        |t: &crate::conntrack::Tuple<A>| (if c.daddr { t.dst } else { t.src }).masked(c.mask_len);
    let pkt_key = A::packet_addr(view, c.daddr).masked(c.mask_len);
    let live =
        |e: &ConnEntry<A>| !(e.orig.proto == 6 && e.tcp >= crate::conntrack::TcpState::TimeWait);
    let mut count = env
        .conntrack
        .entries()
        .filter(|e| live(e) && key(&e.orig) == pkt_key)
        .count() as u32;
    if env.ct.pending.is_some() {
        count += 1;
    }
    (count > c.count) == c.above
}

impl crate::ruleset::ext::MatchExt for ConnlimitMatch {
    /// (ip6tables: its /128 default; counted over the IPv6 table.)
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "connlimit";
    const REVISION: u8 = 1;
}

impl crate::ruleset::ext::WorkerMatch for ConnlimitMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        view: &PacketView<'_>,
        env: &mut MatchEnv<'_, A>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        connlimit_matches(self, view, env)
    }
}

#[cfg(test)]
mod tests {
    use crate::ruleset::ext::ConnFamily;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// `--connlimit-mask`: IPv4 up to 32 bits, IPv6 up to 128 (connlimit_mt's masks by
    /// family); 0 groups every address together.
    #[test]
    fn addresses_are_grouped_under_the_family_mask() {
        let a: Ipv4Addr = "10.1.2.3".parse().unwrap();
        assert_eq!(a.masked(32), a);
        assert_eq!(a.masked(24), Ipv4Addr::new(10, 1, 2, 0));
        assert_eq!(a.masked(1), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(a.masked(0), Ipv4Addr::UNSPECIFIED);
        let b: Ipv6Addr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(b.masked(128), b);
        assert_eq!(b.masked(64), "2001:db8:1:2::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(b.masked(33), "2001:db8::".parse::<Ipv6Addr>().unwrap());
        let odd: Ipv6Addr = "2001:db8::7".parse().unwrap();
        assert_eq!(odd.masked(127), "2001:db8::6".parse::<Ipv6Addr>().unwrap());
        assert_eq!(b.masked(0), Ipv6Addr::UNSPECIFIED);
    }
}
