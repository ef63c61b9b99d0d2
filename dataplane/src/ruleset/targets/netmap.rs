//! `-j NETMAP --to ADDR/MASK`: a prefix mapped one to one onto another (xt_NETMAP). The
//! network part of the address comes from `to`, the host part is kept: in PREROUTING and
//! OUTPUT the destination (as DNAT), in POSTROUTING and INPUT the source (as SNAT). The
//! connection is bound to the one address, its port kept unless it clashes.

use crate::ruleset::{Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetmapTarget {
    /// The prefix mapped onto; its address has the host part cleared (as libxt_NETMAP
    /// parses it).
    pub to: Ipv4Net,
    /// In an ip6tables rule (`Some` from the start): its prefix (`map6`).
    pub to6: Option<Ipv6Net>,
}

impl Default for NetmapTarget {
    fn default() -> Self {
        NetmapTarget {
            to: Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0),
            to6: None,
        }
    }
}

impl NetmapTarget {
    /// netmap_tg4: `(addr & ~netmask) | (to & netmask)`.
    pub fn map(&self, addr: Ipv4Addr) -> Ipv4Addr {
        let mask = self.to.mask;
        Ipv4Addr::from((u32::from(addr) & !mask) | (u32::from(self.to.addr) & mask))
    }
}

/// netmap_tg6: the same over 128 bits, the network part from `to`'s prefix.
pub fn map6(to: Ipv6Net, addr: Ipv6Addr) -> Ipv6Addr {
    Ipv6Addr::from((u128::from(addr) & !to.mask) | (u128::from(to.addr) & to.mask))
}

impl crate::ruleset::ext::TargetExt for NetmapTarget {
    const NAME: &'static str = "NETMAP";
    const REVISION: u8 = 0;
    const TERMINAL: bool = true;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;

    /// All four nat hooks: the destination before routing, the source after.
    fn usable(&self) -> crate::ruleset::Usable {
        crate::ruleset::Usable::table(crate::ruleset::TableKind::Nat)
    }

    fn run(
        &self,
        cx: &mut crate::ruleset::ext::TargetCx<'_>,
    ) -> crate::ruleset::ext::TargetOutcome {
        use crate::conntrack::nat::{Manip, NatRequest};
        use crate::ruleset::Hook;
        let dst_side = matches!(cx.hook(), Hook::Prerouting | Hook::Output);
        let manip = if dst_side { Manip::Dst } else { Manip::Src };
        if let (true, Some(to)) = (cx.is_ipv6(), self.to6) {
            let ip = crate::wire::Ipv6Packet::new_unchecked(cx.packet());
            let a = map6(
                to,
                if dst_side {
                    ip.dst_addr()
                } else {
                    ip.src_addr()
                },
            );
            return cx.bind_nat6(&NatRequest {
                manip,
                addrs: Some((a, a)),
                ports: None,
                port_base: None,
                random: false,
                persistent: false,
            });
        }
        let ip = crate::wire::Ipv4Packet::new_unchecked(cx.packet());
        let a = self.map(if dst_side {
            ip.dst_addr()
        } else {
            ip.src_addr()
        });
        cx.bind_nat(&NatRequest {
            manip,
            addrs: Some((a, a)),
            ports: None,
            port_base: None,
            random: false,
            persistent: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_host_part() {
        let t = NetmapTarget {
            to: Ipv4Net::with_prefix(Ipv4Addr::new(198, 51, 100, 0), 24),
            to6: None,
        };
        assert_eq!(
            t.map(Ipv4Addr::new(192, 168, 1, 10)),
            Ipv4Addr::new(198, 51, 100, 10)
        );
        let whole = NetmapTarget {
            to: Ipv4Net::host(Ipv4Addr::new(10, 1, 2, 3)),
            to6: None,
        };
        assert_eq!(
            whole.map(Ipv4Addr::new(1, 2, 3, 4)),
            Ipv4Addr::new(10, 1, 2, 3)
        );
        assert_eq!(
            NetmapTarget::default().map(Ipv4Addr::new(1, 2, 3, 4)),
            Ipv4Addr::new(1, 2, 3, 4),
            "/0 keeps the address"
        );
    }

    #[test]
    fn maps_128_bit_prefixes() {
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let to = Ipv6Net::with_prefix(a("2001:db8:ffff::"), 48);
        assert_eq!(map6(to, a("fd00:1:2:3::10")), a("2001:db8:ffff:3::10"));
        // A prefix that ends inside a 32-bit word (/52) keeps the word's host bits.
        let to = Ipv6Net::with_prefix(a("2001:db8:aaaa:b000::"), 52);
        assert_eq!(
            map6(to, a("fd00:0:0:fff:1::7")),
            a("2001:db8:aaaa:bfff:1::7")
        );
        let whole = Ipv6Net::with_prefix(a("2001:db8::1"), 128);
        assert_eq!(map6(whole, a("fd00::99")), a("2001:db8::1"));
    }
}
