//! Named per-worker tables of the matches that remember addresses across rules:
//! `-m recent` lists and `-m hashlimit` buckets. A name shared by several rules shares
//! the table, as in the kernel (there per network namespace, here per worker).

use crate::ruleset::matches::hashlimit::{mode, HashlimitMatch};
use crate::ruleset::matches::recent::{RecentCmd, RecentMatch, RecentSide};
use crate::ruleset::Family;
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

/// ip_pkt_list_tot: the timestamps remembered per address.
pub const RECENT_STAMPS: usize = 20;
/// ip_list_tot: addresses per list; the oldest goes when it is full.
pub const RECENT_ENTRIES: usize = 200;

#[derive(Clone, Debug, Default)]
struct RecentEntry {
    stamps: VecDeque<u64>,
    ttl: u8,
    last: u64,
}

#[derive(Clone, Debug, Default)]
struct RecentList {
    /// Both families' addresses: xt_recent's lists are per name, its entries per family.
    entries: HashMap<IpAddr, RecentEntry>,
}

#[derive(Clone, Debug, Default)]
struct Bucket {
    credit_ns: u64,
    last_ns: u64,
    /// Rate-match (rateinfo's prev, current_rate, prev_window): the start of the window
    /// being measured, what it has counted, whether the last window was over the rate.
    window_start_ns: u64,
    counted: u64,
    over_last_window: bool,
}

#[derive(Clone, Debug, Default)]
struct HashlimitTable {
    /// Keyed by the masked source and destination (IPv4 ones in the low 32 bits) and
    /// ports, each zero where the mode leaves it out.
    buckets: HashMap<(u128, u128, u16, u16), Bucket>,
    last_gc_ns: u64,
}

#[derive(Clone, Debug, Default)]
pub struct NamedTables {
    recent: HashMap<String, RecentList>,
    /// xt_hashlimit's tables are per name and family (htable_find_get).
    hashlimit: HashMap<String, HashlimitTable>,
    hashlimit6: HashMap<String, HashlimitTable>,
}

const NS: u64 = 1_000_000_000;

impl NamedTables {
    /// xt_recent's `recent_mt`.
    pub fn recent(
        &mut self,
        m: &RecentMatch,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        now_ns: u64,
    ) -> bool {
        let addr = match m.side {
            RecentSide::Source => src,
            RecentSide::Dest => dst,
        };
        let addr = match (addr, m.mask) {
            (IpAddr::V4(a), IpAddr::V4(k)) => IpAddr::V4((u32::from(a) & u32::from(k)).into()),
            (IpAddr::V6(a), IpAddr::V6(k)) => IpAddr::V6((u128::from(a) & u128::from(k)).into()),
            // A mask of the other family (not from the rule's own text): none.
            (a, _) => a,
        };
        let list = self.recent.entry(m.name.clone()).or_default();
        let mut ret = m.inv;
        let found = list
            .entries
            .get(&addr)
            .is_some_and(|e| !m.rttl || e.ttl == ttl);
        if !found {
            if m.cmd != RecentCmd::Set {
                return ret;
            }
            if list.entries.len() >= RECENT_ENTRIES {
                // Forget the least recently seen address.
                if let Some(old) = list
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last)
                    .map(|(a, _)| *a)
                {
                    list.entries.remove(&old);
                }
            }
            let mut e = RecentEntry {
                ttl,
                last: now_ns,
                ..Default::default()
            };
            e.stamps.push_back(now_ns);
            list.entries.insert(addr, e);
            return !ret;
        }
        let Some(e) = list.entries.get_mut(&addr) else {
            return ret;
        };
        match m.cmd {
            RecentCmd::Set => ret = !ret,
            RecentCmd::Remove => {
                list.entries.remove(&addr);
                return !ret;
            }
            RecentCmd::Rcheck | RecentCmd::Update => {
                let since = now_ns.saturating_sub(u64::from(m.seconds) * NS);
                let mut hits = 0;
                for &t in &e.stamps {
                    if m.seconds != 0 && t < since {
                        continue;
                    }
                    hits += 1;
                    if m.hitcount == 0 || hits >= m.hitcount {
                        ret = !ret;
                        break;
                    }
                }
                if m.reap {
                    e.stamps.retain(|t| *t >= since);
                }
            }
        }
        if m.cmd == RecentCmd::Set || (m.cmd == RecentCmd::Update && ret != m.inv) {
            if e.stamps.len() == RECENT_STAMPS {
                e.stamps.pop_front();
            }
            e.stamps.push_back(now_ns);
            e.ttl = ttl;
            e.last = now_ns;
        }
        ret
    }

    /// xt_hashlimit (packet rates): a token bucket per hashed group; `--hashlimit-upto`
    /// matches while the group is within its rate, `--hashlimit-above` once it is over.
    /// With `--hashlimit-rate-match` the group's rate is measured instead (packets or
    /// bytes of `len`). Byte rates without rate-match are not evaluated (never match).
    /// `src` and `dst` are IPv4 addresses in their low 32 bits, or IPv6 ones, as `family`
    /// says (hashlimit_init_dst's two branches; the masks are prefix lengths of its width).
    #[allow(clippy::too_many_arguments)]
    pub fn hashlimit(
        &mut self,
        m: &HashlimitMatch,
        family: Family,
        src: u128,
        dst: u128,
        ports: Option<(u16, u16)>,
        len: u16,
        now_ns: u64,
    ) -> bool {
        if m.bytes && !m.rate_match {
            return false;
        }
        let width = match family {
            Family::V4 => 32,
            Family::V6 => 128,
        };
        let mask = |a: u128, len: u8| {
            let len = u32::from(len).min(width);
            let keep = u128::MAX.checked_shl(128 - len).unwrap_or(0) >> (128 - width);
            a & keep
        };
        let (sp, dp) = ports.unwrap_or((0, 0));
        let key = (
            if m.mode & mode::SRCIP != 0 {
                mask(src, m.srcmask)
            } else {
                0
            },
            if m.mode & mode::DSTIP != 0 {
                mask(dst, m.dstmask)
            } else {
                0
            },
            if m.mode & mode::SRCPORT != 0 { sp } else { 0 },
            if m.mode & mode::DSTPORT != 0 { dp } else { 0 },
        );
        let tables = match family {
            Family::V4 => &mut self.hashlimit,
            Family::V6 => &mut self.hashlimit6,
        };
        let table = tables.entry(m.name.clone()).or_default();
        let expire_ns = u64::from(m.expire) * 1_000_000;
        // Garbage-collect idle groups every gc interval.
        if now_ns.saturating_sub(table.last_gc_ns) >= u64::from(m.gc_interval) * 1_000_000 {
            table
                .buckets
                .retain(|_, b| now_ns.saturating_sub(b.last_ns) < expire_ns);
            table.last_gc_ns = now_ns;
        }
        if m.rate_match {
            return rate_match(table, key, m, len, now_ns);
        }
        let cost = m.avg.saturating_mul(1000); // microseconds -> ns per packet
        let cap = cost.saturating_mul(u64::from(m.burst.max(1)));
        let b = table.buckets.entry(key).or_insert(Bucket {
            credit_ns: cap,
            last_ns: now_ns,
            ..Bucket::default()
        });
        b.credit_ns = b
            .credit_ns
            .saturating_add(now_ns.saturating_sub(b.last_ns))
            .min(cap);
        b.last_ns = now_ns;
        let within = if b.credit_ns >= cost {
            b.credit_ns -= cost;
            true
        } else {
            false
        };
        within != m.above
    }
}

/// xt_hashlimit's rate-match (rateinfo_init, rateinfo_recalc and the RATE_MATCH branch
/// of hashlimit_mt_common): each packet (or byte) counts in the group's current window;
/// once `interval` has passed, the window closes as over the rate when it counted more
/// than the rate over its length. A group matches `--hashlimit-upto` while the last
/// window was not over and the current one is within rate + burst.
fn rate_match(
    table: &mut HashlimitTable,
    key: (u128, u128, u16, u16),
    m: &HashlimitMatch,
    len: u16,
    now_ns: u64,
) -> bool {
    let (rate, burst) = if m.bytes {
        let rate = crate::ruleset::matches::hashlimit::cost_to_bytes(m.avg);
        let burst = if m.burst == 0 {
            rate
        } else {
            u64::from(m.burst) * rate
        };
        (rate, burst)
    } else {
        m.rate_match_limits()
    };
    let b = table.buckets.entry(key).or_insert(Bucket {
        last_ns: now_ns,
        window_start_ns: now_ns,
        ..Bucket::default()
    });
    b.last_ns = now_ns;
    let interval_ns = u128::from(m.interval.max(1)) * u128::from(NS);
    let delta_ns = u128::from(now_ns.saturating_sub(b.window_start_ns));
    if delta_ns > 0 && delta_ns >= interval_ns {
        b.window_start_ns = now_ns;
        b.over_last_window = u128::from(b.counted) * interval_ns > delta_ns * u128::from(rate);
        b.counted = 0;
    }
    b.counted += if m.bytes { u64::from(len) } else { 1 };
    let within = !b.over_last_window && b.counted <= burst;
    within != m.above
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    /// An IPv4 address as `hashlimit` takes it.
    fn h4(s: &str) -> u128 {
        u128::from(u32::from(s.parse::<Ipv4Addr>().unwrap()))
    }

    fn h6(s: &str) -> u128 {
        u128::from(s.parse::<Ipv6Addr>().unwrap())
    }

    fn recent(cmd: RecentCmd, seconds: u32, hitcount: u32) -> RecentMatch {
        RecentMatch {
            inv: false,
            cmd,
            name: "ssh".into(),
            seconds,
            hitcount,
            reap: false,
            rttl: false,
            side: RecentSide::Source,
            mask: IpAddr::V4(Ipv4Addr::BROADCAST),
        }
    }

    #[test]
    fn ssh_bruteforce_pattern() {
        // --set then --update --seconds 60 --hitcount 4: the 4th attempt within a minute hits.
        let mut t = NamedTables::default();
        let a = v4("198.51.100.7");
        let d = v4("203.0.113.1");
        let set = recent(RecentCmd::Set, 0, 0);
        let upd = recent(RecentCmd::Update, 60, 4);
        let hits: Vec<bool> = (0..5u64)
            .map(|i| {
                let now = (100 + i) * NS;
                assert!(t.recent(&set, a, d, 64, now));
                t.recent(&upd, a, d, 64, now)
            })
            .collect();
        assert_eq!(hits, [false, false, false, true, true]);
        // Another address is not affected; a minute later the old stamps do not count.
        assert!(!t.recent(&upd, v4("198.51.100.8"), d, 64, 105 * NS));
        assert!(!t.recent(&recent(RecentCmd::Rcheck, 60, 4), a, d, 64, 300 * NS));
        assert!(t.recent(&recent(RecentCmd::Rcheck, 0, 0), a, d, 64, 300 * NS));
        assert!(t.recent(&recent(RecentCmd::Remove, 0, 0), a, d, 64, 300 * NS));
        assert!(!t.recent(&recent(RecentCmd::Rcheck, 0, 0), a, d, 64, 300 * NS));
    }

    /// A packet-rate hashlimit keyed by source address (`--hashlimit-mode srcip`).
    fn per_source(name: &str, above: bool, avg: u64, burst: u32) -> HashlimitMatch {
        HashlimitMatch {
            name: name.into(),
            above,
            bytes: false,
            avg,
            burst,
            mode: mode::SRCIP,
            srcmask: 32,
            dstmask: 32,
            htable_size: 0,
            htable_max: 0,
            gc_interval: 1000,
            expire: 10_000,
            rate_match: false,
            interval: 0,
            unit_s: 0,
            family: Family::V4,
        }
    }

    #[test]
    fn hashlimit_per_source() {
        let mut t = NamedTables::default();
        let m = per_source("h", true, 1_000_000, 2); // 1/sec, burst 2
        let (d, a, b) = (h4("10.0.0.1"), h4("1.1.1.1"), h4("2.2.2.2"));
        let over: Vec<bool> = (0..3)
            .map(|_| t.hashlimit(&m, Family::V4, a, d, None, 40, NS))
            .collect();
        assert_eq!(over, [false, false, true], "burst 2, then above the rate");
        assert!(
            !t.hashlimit(&m, Family::V4, b, d, None, 40, NS),
            "each source has its own bucket"
        );
        assert!(
            !t.hashlimit(&m, Family::V4, a, d, None, 40, 2 * NS),
            "refilled after a second"
        );
    }

    /// `--hashlimit-upto 2/sec --hashlimit-burst 1 --hashlimit-rate-match`: up to rate +
    /// burst (3) packets match in a window; a window that counted more than the rate
    /// (4 > 2 in 1 s) keeps the group unmatched for the whole next window, and a window
    /// at the rate (2, not over it) lets the group match again (xt_hashlimit rev 3).
    #[test]
    fn hashlimit_rate_match_windows() {
        let mut t = NamedTables::default();
        let m = HashlimitMatch {
            rate_match: true,
            interval: 1,
            ..per_source("r", false, 500_000, 1)
        };
        let (d, a) = (h4("10.0.0.1"), h4("1.1.1.1"));
        let ms = 1_000_000;
        let at = [0, 100, 200, 300, 1000, 1500, 2000];
        let hits: Vec<bool> = at
            .iter()
            .map(|&t_ms| t.hashlimit(&m, Family::V4, a, d, None, 40, 100 * NS + t_ms * ms))
            .collect();
        assert_eq!(hits, [true, true, true, false, false, false, true]);
        let above = HashlimitMatch { above: true, ..m };
        assert!(
            !t.hashlimit(&above, Family::V4, h4("2.2.2.2"), d, None, 40, 100 * NS),
            "--hashlimit-above inverts it"
        );
    }

    /// An IPv6 source grouped by its /64 (`--hashlimit-srcmask 64`): two addresses of one
    /// /64 share a bucket, another /64 has its own; an IPv4 table of the same name is
    /// another table (htable_find_get takes the family).
    #[test]
    fn hashlimit_ipv6_sources_by_prefix() {
        let mut t = NamedTables::default();
        let m = HashlimitMatch {
            srcmask: 64,
            family: Family::V6,
            ..per_source("h", true, 1_000_000, 1)
        };
        let d = h6("2001:db8:ff::1");
        let hit =
            |t: &mut NamedTables, s: &str| t.hashlimit(&m, Family::V6, h6(s), d, None, 60, NS);
        assert!(!hit(&mut t, "2001:db8:1::1"), "the burst of one");
        assert!(hit(&mut t, "2001:db8:1::2"), "the same /64: above the rate");
        assert!(!hit(&mut t, "2001:db8:2::1"), "another /64");
        assert!(
            !t.hashlimit(&m, Family::V4, 0, 0, None, 60, NS),
            "the IPv4 table of that name is another"
        );
        let full = HashlimitMatch {
            srcmask: 128,
            family: Family::V6,
            ..per_source("full", true, 1_000_000, 1)
        };
        assert!(!t.hashlimit(&full, Family::V6, h6("2001:db8:1::1"), d, None, 60, NS));
        assert!(
            !t.hashlimit(&full, Family::V6, h6("2001:db8:1::2"), d, None, 60, NS),
            "/128: each address its own"
        );
    }

    /// xt_recent on IPv6: `--mask ffff:ffff:ffff:ffff::` remembers the /64; the list
    /// holds IPv4 and IPv6 entries apart.
    #[test]
    fn recent_ipv6_with_a_mask() {
        let mut t = NamedTables::default();
        let set = RecentMatch {
            mask: v6("ffff:ffff:ffff:ffff::"),
            ..recent(RecentCmd::Set, 0, 0)
        };
        let check = RecentMatch {
            mask: v6("ffff:ffff:ffff:ffff::"),
            ..recent(RecentCmd::Rcheck, 0, 0)
        };
        let d = v6("2001:db8:ff::1");
        assert!(!t.recent(&check, v6("2001:db8:1::7"), d, 64, NS));
        assert!(t.recent(&set, v6("2001:db8:1::7"), d, 64, NS));
        assert!(
            t.recent(&check, v6("2001:db8:1::99"), d, 64, 2 * NS),
            "same /64"
        );
        assert!(!t.recent(&check, v6("2001:db8:2::7"), d, 64, 2 * NS));
        let exact = RecentMatch {
            mask: v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            side: RecentSide::Dest,
            ..recent(RecentCmd::Rcheck, 0, 0)
        };
        assert!(
            !t.recent(&exact, d, v6("2001:db8:1::99"), 64, 2 * NS),
            "the unmasked address"
        );
        assert!(!t.recent(
            &recent(RecentCmd::Rcheck, 0, 0),
            v4("0.0.0.0"),
            d,
            64,
            2 * NS
        ));
    }
}
