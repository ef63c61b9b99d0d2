//! Named per-worker tables of the matches that remember addresses across rules:
//! `-m recent` lists and `-m hashlimit` buckets. A name shared by several rules shares
//! the table, as in the kernel (there per network namespace, here per worker).

use crate::ruleset::matches::hashlimit::{mode, HashlimitMatch};
use crate::ruleset::matches::recent::{RecentCmd, RecentMatch, RecentSide};
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::net::Ipv4Addr;

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
    entries: HashMap<Ipv4Addr, RecentEntry>,
}

#[derive(Clone, Debug, Default)]
struct Bucket {
    credit_ns: u64,
    last_ns: u64,
}

#[derive(Clone, Debug, Default)]
struct HashlimitTable {
    buckets: HashMap<(u32, u32, u16, u16), Bucket>,
    last_gc_ns: u64,
}

#[derive(Clone, Debug, Default)]
pub struct NamedTables {
    recent: HashMap<String, RecentList>,
    hashlimit: HashMap<String, HashlimitTable>,
}

const NS: u64 = 1_000_000_000;

impl NamedTables {
    /// xt_recent's `recent_mt`.
    pub fn recent(
        &mut self,
        m: &RecentMatch,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        now_ns: u64,
    ) -> bool {
        let addr = match m.side {
            RecentSide::Source => src,
            RecentSide::Dest => dst,
        };
        let addr = Ipv4Addr::from(u32::from(addr) & u32::from(m.mask));
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
    /// Byte rates are not evaluated (they never match).
    pub fn hashlimit(
        &mut self,
        m: &HashlimitMatch,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ports: Option<(u16, u16)>,
        now_ns: u64,
    ) -> bool {
        if m.bytes {
            return false;
        }
        let mask = |a: Ipv4Addr, len: u8| {
            if len == 0 {
                0
            } else {
                u32::from(a) & (u32::MAX << (32 - u32::from(len.min(32))))
            }
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
        let table = self.hashlimit.entry(m.name.clone()).or_default();
        let expire_ns = u64::from(m.expire) * 1_000_000;
        // Garbage-collect idle groups every gc interval.
        if now_ns.saturating_sub(table.last_gc_ns) >= u64::from(m.gc_interval) * 1_000_000 {
            table
                .buckets
                .retain(|_, b| now_ns.saturating_sub(b.last_ns) < expire_ns);
            table.last_gc_ns = now_ns;
        }
        let cost = m.avg.saturating_mul(1000); // microseconds -> ns per packet
        let cap = cost.saturating_mul(u64::from(m.burst.max(1)));
        let b = table.buckets.entry(key).or_insert(Bucket {
            credit_ns: cap,
            last_ns: now_ns,
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

#[cfg(test)]
mod tests {
    use super::*;

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
            mask: Ipv4Addr::BROADCAST,
        }
    }

    #[test]
    fn ssh_bruteforce_pattern() {
        // --set then --update --seconds 60 --hitcount 4: the 4th attempt within a minute hits.
        let mut t = NamedTables::default();
        let a = Ipv4Addr::new(198, 51, 100, 7);
        let d = Ipv4Addr::new(203, 0, 113, 1);
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
        assert!(!t.recent(&upd, Ipv4Addr::new(198, 51, 100, 8), d, 64, 105 * NS));
        assert!(!t.recent(&recent(RecentCmd::Rcheck, 60, 4), a, d, 64, 300 * NS));
        assert!(t.recent(&recent(RecentCmd::Rcheck, 0, 0), a, d, 64, 300 * NS));
        assert!(t.recent(&recent(RecentCmd::Remove, 0, 0), a, d, 64, 300 * NS));
        assert!(!t.recent(&recent(RecentCmd::Rcheck, 0, 0), a, d, 64, 300 * NS));
    }

    #[test]
    fn hashlimit_per_source() {
        let mut t = NamedTables::default();
        let m = HashlimitMatch {
            name: "h".into(),
            above: true,
            bytes: false,
            avg: 1_000_000, // 1/sec
            burst: 2,
            mode: mode::SRCIP,
            srcmask: 32,
            dstmask: 32,
            htable_size: 0,
            htable_max: 0,
            gc_interval: 1000,
            expire: 10_000,
        };
        let d = Ipv4Addr::new(10, 0, 0, 1);
        let a = Ipv4Addr::new(1, 1, 1, 1);
        let b = Ipv4Addr::new(2, 2, 2, 2);
        let over: Vec<bool> = (0..3).map(|_| t.hashlimit(&m, a, d, None, NS)).collect();
        assert_eq!(over, [false, false, true], "burst 2, then above the rate");
        assert!(
            !t.hashlimit(&m, b, d, None, NS),
            "each source has its own bucket"
        );
        assert!(
            !t.hashlimit(&m, a, d, None, 2 * NS),
            "refilled after a second"
        );
    }
}
