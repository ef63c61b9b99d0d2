//! `-m connlimit`: the number of tracked connections per address group (xt_connlimit).

use crate::conntrack::ConnEntry;
use crate::ruleset::ext::MatchEnv;
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
/// CLOSE no longer count. This counts by walking the worker's table.
pub fn connlimit_matches(c: &ConnlimitMatch, view: &PacketView<'_>, env: &MatchEnv<'_>) -> bool {
    let mask = if c.mask_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(c.mask_len.min(32)))
    };
    let key = |t: &crate::conntrack::Tuple| u32::from(if c.daddr { t.dst } else { t.src }) & mask;
    let pkt_key = u32::from(if c.daddr { view.dst } else { view.src }) & mask;
    let live =
        |e: &ConnEntry| !(e.orig.proto == 6 && e.tcp >= crate::conntrack::TcpState::TimeWait);
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
    /// (ip6tables: read and saved with its /128 default; the count per packet is IPv4's.)
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "connlimit";
    const REVISION: u8 = 1;
}

impl crate::ruleset::ext::WorkerMatch for ConnlimitMatch {
    fn decide(
        &self,
        view: &PacketView<'_>,
        env: &mut MatchEnv<'_>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        connlimit_matches(self, view, env)
    }
}
