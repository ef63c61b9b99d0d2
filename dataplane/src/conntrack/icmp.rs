//! ICMP errors in conntrack (`nf_conntrack_inet_error`): an error belongs to the
//! connection of the packet it quotes. ICMP queries and their replies are tracked as
//! connections of their own, by id (`Tuple::of_packet`).

use super::*;

impl<A: CtAddr> Conntrack<A> {
    /// An ICMP error is RELATED to the connection of the packet it quotes, else INVALID.
    /// It must go to the quoted packet's sender (nf_conntrack_inet_error: "outer daddr !=
    /// inner"): an error about someone else's connection is INVALID.
    /// ICMPv6 errors (types below 128) quote their packet the same way, after the same
    /// 8 bytes.
    pub(super) fn icmp_error(&mut self, l4: &[u8], outer_dst: A) -> CtInfo<A> {
        let Some(answer) = l4
            .get(8..)
            .and_then(Tuple::<A>::of_packet)
            .and_then(|t| t.invert())
        else {
            return CtInfo::invalid();
        };
        if answer.dst != outer_dst {
            return CtInfo::invalid();
        }
        let Some(found) = self.lookup(&answer) else {
            return CtInfo::invalid();
        };
        CtInfo {
            state: CtState::Related,
            id: Some(found.0),
            reply: found.1,
            nat_bits: super::NAT_BITS_UNKNOWN,
            ..CtInfo::with_state(CtState::Untracked)
        }
    }
}
