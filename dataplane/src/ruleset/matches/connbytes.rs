//! `-m connbytes`: what the packet's connection has carried so far, in packets, bytes or
//! bytes per packet, in one direction or both, within `from..=to` (xt_connbytes). An
//! inverted range (`! --connbytes 10:20`) is kept as iptables passes it to the kernel,
//! with `from > to`: then the count must fall outside `to..=from`. The counters are
//! conntrack's accounting, which a ruleset with connbytes turns on (the kernel forces
//! `nf_conntrack_acct` on); a packet without a connection, or a connection that was
//! created before accounting was on, never matches. IPv4 reads `Conntrack`'s accounting,
//! IPv6 `Conntrack6`'s (xt_connbytes is NFPROTO_UNSPEC; accounting is the namespace's,
//! so a connbytes rule of either family turns it on for both).

use crate::ruleset::ext::MatchEnv;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnbytesMode {
    Packets,
    Bytes,
    /// Bytes divided by packets (0 before the first packet).
    Avgpkt,
}

impl ConnbytesMode {
    pub fn name(self) -> &'static str {
        match self {
            ConnbytesMode::Packets => "packets",
            ConnbytesMode::Bytes => "bytes",
            ConnbytesMode::Avgpkt => "avgpkt",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnbytesDir {
    Original,
    Reply,
    Both,
}

impl ConnbytesDir {
    pub fn name(self) -> &'static str {
        match self {
            ConnbytesDir::Original => "original",
            ConnbytesDir::Reply => "reply",
            ConnbytesDir::Both => "both",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnbytesMatch {
    pub from: u64,
    pub to: u64,
    pub mode: ConnbytesMode,
    pub dir: ConnbytesDir,
}

impl ConnbytesMatch {
    /// Whether the counters of a connection (`[original, reply]` packets and bytes) fall
    /// in the range.
    pub fn matches_counts(&self, packets: [u64; 2], bytes: [u64; 2]) -> bool {
        let pick = |c: [u64; 2]| match self.dir {
            ConnbytesDir::Original => c[0],
            ConnbytesDir::Reply => c[1],
            ConnbytesDir::Both => c[0].saturating_add(c[1]),
        };
        let what = match self.mode {
            ConnbytesMode::Packets => pick(packets),
            ConnbytesMode::Bytes => pick(bytes),
            ConnbytesMode::Avgpkt => pick(bytes).checked_div(pick(packets)).unwrap_or(0),
        };
        if self.to >= self.from {
            (self.from..=self.to).contains(&what)
        } else {
            what < self.to || what > self.from
        }
    }
}

/// `-m connbytes` against the packet's connection's accounting, this packet counted (as
/// conntrack counts it before the hooks). A new connection has its first packet; one
/// without accounting (turned on after it started) or no connection never matches.
pub fn connbytes_matches<A: crate::conntrack::CtAddr>(
    c: &ConnbytesMatch,
    env: &MatchEnv<'_, A>,
) -> bool {
    if !env.conntrack.config().acct {
        return false;
    }
    if env.ct.pending.is_some() {
        return c.matches_counts([1, 0], [env.ct.pending_len, 0]);
    }
    match env.ct.id.and_then(|id| env.conntrack.accounted(id)) {
        Some(k) => c.matches_counts(k.packets, k.bytes),
        None => false,
    }
}

impl crate::ruleset::ext::MatchExt for ConnbytesMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "connbytes";
    const REVISION: u8 = 0;
}

impl crate::ruleset::ext::WorkerMatch for ConnbytesMatch {
    fn decide<A: crate::ruleset::ext::ConnFamily>(
        &self,
        _view: &crate::ruleset::packet::PacketView<'_>,
        env: &mut crate::ruleset::ext::MatchEnv<'_, A>,
        _st: &mut crate::ruleset::ext::RuleState,
    ) -> bool {
        connbytes_matches(self, env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(from: u64, to: u64, mode: ConnbytesMode, dir: ConnbytesDir) -> ConnbytesMatch {
        ConnbytesMatch {
            from,
            to,
            mode,
            dir,
        }
    }

    #[test]
    fn counts_by_mode_and_direction() {
        use ConnbytesDir::*;
        use ConnbytesMode::*;
        // 3 packets / 300 bytes original, 1 packet / 1000 bytes reply.
        let (p, b) = ([3, 1], [300, 1000]);
        assert!(m(3, 3, Packets, Original).matches_counts(p, b));
        assert!(!m(4, u64::MAX, Packets, Original).matches_counts(p, b));
        assert!(m(4, 4, Packets, Both).matches_counts(p, b));
        assert!(m(1000, 1000, Bytes, Reply).matches_counts(p, b));
        assert!(m(1300, 1300, Bytes, Both).matches_counts(p, b));
        assert!(m(100, 100, Avgpkt, Original).matches_counts(p, b));
        assert!(m(325, 325, Avgpkt, Both).matches_counts(p, b));
        // No packet yet: the average is 0.
        assert!(m(0, 0, Avgpkt, Reply).matches_counts([1, 0], [60, 0]));
    }

    #[test]
    fn an_inverted_range_matches_outside_it() {
        use ConnbytesDir::*;
        use ConnbytesMode::*;
        // `! --connbytes 10:20` arrives as from 20, to 10.
        let inv = m(20, 10, Packets, Original);
        for (n, hit) in [(9, true), (10, false), (15, false), (20, false), (21, true)] {
            assert_eq!(inv.matches_counts([n, 0], [0, 0]), hit, "{n}");
        }
    }
}
