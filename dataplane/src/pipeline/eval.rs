//! Evaluates a rule's criteria on a packet: the base criteria and the stateless matches
//! through `ruleset::packet`, the matches that need the worker's context here (rate
//! limits, sampling, the clock, the FIB).

use super::tables::NamedTables;
use crate::conntrack::nat::bits as nat_bits;
use crate::conntrack::{ConnEntry, Conntrack, CtInfo, CtState};
use crate::ipset::elem::TestFlags;
use crate::ipset::{packet_fields, SetTable};
use crate::port::PortId;
use crate::route::Fib;
use crate::ruleset::matches::connbytes::ConnbytesMatch;
use crate::ruleset::matches::connlimit::ConnlimitMatch;
use crate::ruleset::matches::conntrack::state as st;
use crate::ruleset::matches::conntrack::{status as ct_status, ConntrackMatch, CtDir};
use crate::ruleset::matches::limit::LimitMatch;
use crate::ruleset::matches::rpfilter::RpfilterMatch;
use crate::ruleset::matches::set::SetMatch;
use crate::ruleset::matches::statistic::{StatisticMatch, StatisticMode};
use crate::ruleset::matches::time::TimeMatch;
use crate::ruleset::packet::{PacketMeta, PacketView};
use crate::ruleset::{Hook, Iface, Inv, Ipv4Net, Match, PortRange, RuleSpec};
use std::net::Ipv4Addr;

/// What a match may look at besides the packet bytes.
pub struct MatchEnv<'a> {
    pub in_iface: Option<&'a str>,
    pub out_iface: Option<&'a str>,
    pub in_port: Option<PortId>,
    pub out_port: Option<PortId>,
    pub mac_header: Option<&'a [u8; 14]>,
    pub mark: u32,
    pub hook: Hook,
    /// Nanoseconds since the Unix epoch (injected: pcap time in replay).
    pub now_ns: u64,
    pub fib: &'a Fib,
    /// The packet's conntrack verdict and its connection (new or confirmed).
    pub ct: &'a CtInfo,
    pub ct_entry: Option<&'a ConnEntry>,
    /// The worker's conntrack table (connlimit counts in it).
    pub conntrack: &'a Conntrack,
    /// Named recent lists and hashlimit tables.
    pub tables: &'a mut NamedTables,
    /// The IP sets (`-m set`), the snapshot the worker holds.
    pub sets: &'a SetTable,
    /// The connection's labels as `-m connlabel --set` left them during this rule
    /// (`None`: unchanged); the caller stores them on the connection afterwards.
    pub labels_set: Option<u128>,
}

impl MatchEnv<'_> {
    /// The labels of the packet's connection (`None`: no connection, or one without
    /// labels), with what this rule has set so far.
    fn labels(&self) -> Option<u128> {
        if self.labels_set.is_some() {
            return self.labels_set;
        }
        if self.ct.pending.is_some() {
            return self.conntrack.pending_labels(self.ct);
        }
        self.ct.id.and_then(|id| self.conntrack.labels(id))
    }
}

/// Per-rule, per-worker state: the token bucket of `-m limit`, the counter of
/// `-m statistic --mode nth`, the bytes `-m quota` has let through. A rule holds at most
/// one of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleState {
    /// Token bucket credit in nanoseconds of allowance; `None` until first use (full).
    pub credit_ns: Option<u64>,
    pub last_ns: u64,
    pub nth: u32,
    pub quota_used: u64,
}

/// `-m limit`: xt_limit's token bucket at nanosecond resolution: one packet costs its
/// average period, the bucket holds `burst` packets and starts full.
pub fn limit_allows(m: &LimitMatch, st: &mut RuleState, now_ns: u64) -> bool {
    let cost = u64::from(m.avg) * 100_000; // 1/10000 s units -> ns
    let cap = cost.saturating_mul(u64::from(m.burst.max(1)));
    let credit = match st.credit_ns {
        None => cap,
        Some(c) => c.saturating_add(now_ns.saturating_sub(st.last_ns)).min(cap),
    };
    st.last_ns = now_ns;
    if credit >= cost {
        st.credit_ns = Some(credit - cost);
        true
    } else {
        st.credit_ns = Some(credit);
        false
    }
}

/// `-m statistic`: xt_statistic's nth counter and random test.
pub fn statistic_matches(
    m: &StatisticMatch,
    st: &mut RuleState,
    random: &mut dyn FnMut() -> u32,
) -> bool {
    let hit = match m.mode {
        StatisticMode::Random { probability } => (random() & 0x7fff_ffff) < probability,
        StatisticMode::Nth { every, packet } => {
            // iptables starts the kernel's counter at every-1-packet, so packet i (from 0)
            // matches when i % every == packet; `st.nth` is i % every.
            let i = st.nth;
            st.nth = if i + 1 >= every { 0 } else { i + 1 };
            i == packet
        }
    };
    hit != m.inv
}

/// Civil date (year, month 1-12, day 1-31) of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `-m time` in UTC (`--kerneltz` is treated as UTC: the appliance runs in UTC).
pub fn time_matches(m: &TimeMatch, now_ns: u64) -> bool {
    let secs = now_ns / 1_000_000_000;
    if secs < u64::from(m.date_start) || secs > u64::from(m.date_stop) {
        return false;
    }
    let days = (secs / 86_400) as i64;
    let daytime = (secs % 86_400) as u32;
    let in_window = if m.daytime_start <= m.daytime_stop {
        (m.daytime_start..=m.daytime_stop).contains(&daytime)
    } else {
        // A window over midnight (e.g. 22:00-06:00).
        daytime >= m.daytime_start || daytime <= m.daytime_stop
    };
    if !in_window {
        return false;
    }
    // 1970-01-01 was a Thursday; bit 1 is Monday .. bit 7 Sunday. With --contiguous a
    // window over midnight belongs to the day it started on.
    let day_of_window =
        if m.contiguous && m.daytime_start > m.daytime_stop && daytime <= m.daytime_stop {
            days - 1
        } else {
            days
        };
    let weekday = ((day_of_window + 3).rem_euclid(7) + 1) as u8;
    if m.weekdays & (1 << weekday) == 0 {
        return false;
    }
    let (_, _, mday) = civil_from_days(day_of_window);
    m.monthdays & (1 << mday) != 0
}

/// The `--ctstate` bits of a packet: its state, plus SNAT / DNAT when its connection
/// is translated that way.
fn ctstate_bits(ct: &CtInfo, e: Option<&ConnEntry>) -> u16 {
    let mut bits = ct.state.bit();
    if let Some(e) = e {
        if e.status & nat_bits::SRC_NAT != 0 {
            bits |= st::SNAT;
        }
        if e.status & nat_bits::DST_NAT != 0 {
            bits |= st::DNAT;
        }
    }
    bits
}

/// `RuleEval::CtState`: what `conntrack_matches` answers for a match of the state alone
/// (a packet without an entry included), with the packet checked to be one a rule can
/// match at all.
pub fn ctstate_matches(
    ip: &[u8],
    bits: u16,
    inv: bool,
    ct: &CtInfo,
    e: Option<&ConnEntry>,
) -> bool {
    PacketView::is_parseable(ip) && ((bits & ctstate_bits(ct, e) != 0) != inv)
}

/// xt_conntrack rev 3 (and `-m state`): the state criterion applies to every packet;
/// the others need a connection.
pub fn conntrack_matches(
    m: &ConntrackMatch,
    ct: &CtInfo,
    e: Option<&ConnEntry>,
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
    let net = |n: &Option<Inv<Ipv4Net>>, a| n.as_ref().is_none_or(|n| n.apply(n.val.contains(a)));
    let port =
        |p: &Option<Inv<PortRange>>, v| p.as_ref().is_none_or(|p| p.apply(p.val.contains(v)));
    net(&m.orig_src, e.orig.src)
        && net(&m.orig_dst, e.orig.dst)
        && net(&m.repl_src, e.reply.src)
        && net(&m.repl_dst, e.reply.dst)
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
            let left = if e.status & ct_status::CONFIRMED == 0 {
                0
            } else {
                e.timeout_ns.saturating_sub(now_ns) / 1_000_000_000
            };
            x.apply((u64::from(x.val.0)..=u64::from(x.val.1)).contains(&left))
        })
}

/// xt_connlimit: the connections of the packet's source (or destination) group, counting
/// the packet's own new connection, against the limit. TCP connections in TIME_WAIT or
/// CLOSE no longer count. This counts by walking the worker's table.
fn connlimit_matches(c: &ConnlimitMatch, view: &PacketView<'_>, env: &MatchEnv<'_>) -> bool {
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

/// `-m connbytes` against the packet's connection's accounting, this packet counted (as
/// conntrack counts it before the hooks). A new connection has its first packet; one
/// without accounting (turned on after it started) or no connection never matches.
fn connbytes_matches(c: &ConnbytesMatch, env: &MatchEnv<'_>) -> bool {
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

/// `-m rpfilter` (rpfilter_mt): the FIB's route back to the packet's source.
fn rpfilter_matches(r: &RpfilterMatch, view: &PacketView<'_>, env: &MatchEnv<'_>) -> bool {
    use crate::route::AddrType;
    let (src, dst) = (view.src, view.dst);
    // DHCP and the like: from 0.0.0.0/8 to the limited broadcast or 224.0.0.0/24.
    let zeronet_ok = src.octets()[0] == 0
        && (dst == std::net::Ipv4Addr::BROADCAST || u32::from(dst) >> 8 == 0xe0_00_00);
    let ok = zeronet_ok
        || match env.fib.addr_type(src, None) {
            // A local route is good with --accept-local, by the port holding the address
            // (127/8 has none: only --loose takes it).
            AddrType::Local => {
                r.accept_local && (r.loose || env.fib.local_port(src) == env.in_port)
            }
            AddrType::Unicast => {
                let mark = if r.validmark { env.mark } else { 0 };
                env.fib
                    .lookup(src, mark)
                    .is_some_and(|hop| r.loose || Some(hop.port) == env.in_port)
            }
            _ => false,
        };
    ok != r.invert
}

/// All criteria of `spec` hold for the IPv4 packet `ip`.
pub fn rule_matches(
    spec: &RuleSpec,
    ip: &[u8],
    env: &mut MatchEnv<'_>,
    st: &mut RuleState,
    random: &mut dyn FnMut() -> u32,
) -> bool {
    let meta = PacketMeta {
        in_iface: env.in_iface,
        out_iface: env.out_iface,
        src_mac: env
            .mac_header
            .map(|h| [h[6], h[7], h[8], h[9], h[10], h[11]]),
        dst_mac: env.mac_header.map(|h| [h[0], h[1], h[2], h[3], h[4], h[5]]),
        mark: env.mark,
    };
    let Some(view) = PacketView::parse(ip, meta) else {
        return false;
    };
    if !spec.base_matches(&view) {
        return false;
    }
    spec.matches
        .iter()
        .all(|m| match_one(m, &view, env, st, random))
}

fn match_one(
    m: &Match,
    view: &PacketView<'_>,
    env: &mut MatchEnv<'_>,
    st: &mut RuleState,
    random: &mut dyn FnMut() -> u32,
) -> bool {
    if let Some(hit) = context_match(m, env.ct, env.ct_entry, env.now_ns, st, random) {
        return hit;
    }
    match m {
        Match::Addrtype(a) => {
            let ok = |sel: Option<crate::ruleset::Inv<u16>>, addr, port| match sel {
                None => true,
                Some(s) => s.apply(env.fib.addr_type(addr, port).bit() & s.val != 0),
            };
            let src_port = if a.limit_iface_in { env.in_port } else { None };
            let dst_port = if a.limit_iface_out {
                env.out_port
            } else {
                src_port
            };
            ok(a.src, view.src, src_port) && ok(a.dst, view.dst, dst_port)
        }
        Match::Connlimit(c) => connlimit_matches(c, view, env),
        Match::Connbytes(c) => connbytes_matches(c, env),
        Match::Connlabel(c) => {
            let (hit, set) = c.eval(env.labels());
            if set.is_some() {
                env.labels_set = set;
            }
            hit
        }
        Match::Quota(q) => q.take(&mut st.quota_used, u64::from(view.total_len)),
        Match::Rpfilter(r) => rpfilter_matches(r, view, env),
        // Per-address tables of recent/hashlimit arrive with conntrack's issue too.
        Match::Recent(r) => env
            .tables
            .recent(r, view.src, view.dst, view.ttl, env.now_ns),
        Match::Set(s) => set_matches(s, view, env.sets, env.now_ns),
        Match::Hashlimit(h) => env.tables.hashlimit(
            h,
            view.src,
            view.dst,
            view.ports(),
            view.total_len,
            env.now_ns,
        ),
        stateless => stateless.matches(view),
    }
}

/// The matches that read the packet's context only (its connection, the clock, the
/// rule's own state), never its bytes; `None` for the others.
fn context_match(
    m: &Match,
    ct: &CtInfo,
    entry: Option<&ConnEntry>,
    now_ns: u64,
    st: &mut RuleState,
    random: &mut dyn FnMut() -> u32,
) -> Option<bool> {
    Some(match m {
        Match::Limit(l) => limit_allows(l, st, now_ns),
        Match::Statistic(s) => statistic_matches(s, st, random),
        Match::Time(t) => time_matches(t, now_ns),
        Match::Conntrack(c) => conntrack_matches(c, ct, entry, now_ns),
        Match::Connmark(m) => entry.is_some_and(|e| m.matches_mark(e.mark)),
        Match::Helper(h) => h.matches_entry(entry),
        _ => return None,
    })
}

/// How a rule's criteria are decided, worked out when the ruleset is compiled: most
/// rules need only part of what `rule_matches` prepares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleEval {
    /// No criterion at all (`-A FORWARD -j ACCEPT`): every packet a rule can match.
    Unconditional,
    /// `-m conntrack --ctstate S` (or `-m state --state S`) and nothing else, the head of
    /// most gateway chains: the packet's state bits against `bits` (`ctstate_matches`).
    CtState { bits: u16, inv: bool },
    /// Context matches only (conntrack, connmark, limit, statistic, time), no base
    /// criteria: decided without parsing the packet (`context_rule_matches`), the usual
    /// `--ctstate ESTABLISHED,RELATED` head of a chain.
    Context,
    /// Base criteria and matches that read only the packet and its interfaces (tcp, udp,
    /// multiport, mark, ...): no connection, clock or rule state (`view_rule_matches`).
    View,
    /// `-m set --match-set NAME src|dst` and nothing else, with the match's default flags:
    /// an address set (hash:ip, hash:net) is probed with the address read straight from
    /// the header (`SetTable::test_addr`); another type takes the `View` way.
    SetAddr { index: u32, src: bool, inv: bool },
    /// The fixed part alone (`-s -d -i -o -p -f`, no match), compiled against the ports:
    /// decided from the header and the packet's port ids (`BaseRule`), no packet view.
    Base(BaseRule),
    /// Anything else: `rule_matches`.
    Full,
}

/// A rule's fixed part with its interface names matched against the ports when the
/// ruleset was compiled: bit `i` of a mask is port id `i` (up to 30 ports; more and the
/// rule takes the View way), `NO_PORT` a packet without that interface (which compares
/// as the empty name, as in the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaseRule {
    in_ports: u32,
    out_ports: u32,
    /// Port ids at or above this were not named at compile time.
    known_ports: u16,
}

impl BaseRule {
    const NO_PORT: u32 = 1 << 31;

    /// `spec`'s fixed part over `ports` (names by port id), when it has no match and the
    /// ports fit the masks.
    pub fn of(spec: &RuleSpec, ports: &[String]) -> Option<BaseRule> {
        if !spec.matches.is_empty() || ports.is_empty() || ports.len() >= 31 {
            return None;
        }
        let mask = |rule: &Option<Inv<Iface>>| {
            let test = |name: &str| rule.as_ref().is_none_or(|i| i.apply(i.val.matches(name)));
            let named = ports
                .iter()
                .enumerate()
                .filter(|(_, n)| test(n))
                .fold(0u32, |m, (i, _)| m | 1 << i);
            named | if test("") { Self::NO_PORT } else { 0 }
        };
        Some(BaseRule {
            in_ports: mask(&spec.in_iface),
            out_ports: mask(&spec.out_iface),
            known_ports: ports.len() as u16,
        })
    }

    fn port_bit(&self, port: Option<PortId>) -> Option<u32> {
        match port {
            None => Some(Self::NO_PORT),
            Some(p) if p.0 < self.known_ports => Some(1 << p.0),
            Some(_) => None,
        }
    }

    /// `spec.base_matches` for the IPv4 packet `ip` on those ports (`spec` the rule the
    /// masks were made from: its addresses, protocol and fragment flag are read there, so
    /// that every rule's `RuleEval` stays small); `None` for a port the masks do not know
    /// (the caller decides the general way).
    #[inline]
    pub fn matches(
        &self,
        spec: &RuleSpec,
        ip: &[u8],
        in_port: Option<PortId>,
        out_port: Option<PortId>,
    ) -> Option<bool> {
        let (i, o) = (self.port_bit(in_port)?, self.port_bit(out_port)?);
        if !PacketView::is_parseable(ip) {
            return Some(false);
        }
        let addr = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
        let net =
            |n: &Option<Inv<Ipv4Net>>, at| n.is_none_or(|n| n.apply(n.val.contains(addr(at))));
        let frag_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
        Some(
            self.in_ports & i != 0
                && self.out_ports & o != 0
                && net(&spec.src, 12)
                && net(&spec.dst, 16)
                && spec.proto.is_none_or(|p| p.apply(ip[9] == p.val))
                && spec.fragment.is_none_or(|f| f == (frag_offset != 0)),
        )
    }
}

impl RuleEval {
    /// `of`, with rules of the fixed part alone compiled against `ports` (`Base`).
    pub fn of_with_ports(spec: &RuleSpec, ports: &[String]) -> RuleEval {
        match RuleEval::of(spec) {
            RuleEval::View => BaseRule::of(spec, ports).map_or(RuleEval::View, RuleEval::Base),
            other => other,
        }
    }

    pub fn of(spec: &RuleSpec) -> RuleEval {
        let context = |m: &Match| {
            matches!(
                m,
                Match::Limit(_)
                    | Match::Statistic(_)
                    | Match::Time(_)
                    | Match::Conntrack(_)
                    | Match::Connmark(_)
                    | Match::Helper(_)
            )
        };
        // What `match_one` hands to `Match::matches`, and `-m set` (the packet and the
        // set snapshot).
        let view_only = |m: &Match| {
            !context(m)
                && !matches!(
                    m,
                    Match::Addrtype(_)
                        | Match::Connlimit(_)
                        | Match::Connbytes(_)
                        | Match::Connlabel(_)
                        | Match::Quota(_)
                        | Match::Rpfilter(_)
                        | Match::Recent(_)
                        | Match::Hashlimit(_)
                )
        };
        let no_base = spec.src.is_none()
            && spec.dst.is_none()
            && spec.in_iface.is_none()
            && spec.out_iface.is_none()
            && spec.proto.is_none()
            && spec.fragment.is_none();
        if no_base && spec.matches.is_empty() {
            RuleEval::Unconditional
        } else if let (true, [Match::Set(s)]) = (no_base, &spec.matches[..]) {
            if s.dirs.count == 1 && s.flags == TestFlags::default() {
                RuleEval::SetAddr {
                    index: s.index,
                    src: s.dirs.src(0),
                    inv: s.inv,
                }
            } else {
                RuleEval::View
            }
        } else if let (true, [Match::Conntrack(c)]) = (no_base, &spec.matches[..]) {
            match c.state {
                Some(s) if !c.tests_entry() => RuleEval::CtState {
                    bits: s.val,
                    inv: s.inv,
                },
                _ => RuleEval::Context,
            }
        } else if no_base && spec.matches.iter().all(context) {
            RuleEval::Context
        } else if spec.matches.iter().all(view_only) {
            RuleEval::View
        } else {
            RuleEval::Full
        }
    }
}

/// `-m set`: the packet against the worker's set snapshot.
pub fn set_matches(m: &SetMatch, view: &PacketView<'_>, sets: &SetTable, now_ns: u64) -> bool {
    sets.test_packet(m.index, &packet_fields(view), m.dirs, &m.flags, now_ns) != m.inv
}

/// `rule_matches` for a rule whose evaluation is `RuleEval::View` (`-m set` reads the
/// set snapshot besides the packet).
pub fn view_rule_matches(
    spec: &RuleSpec,
    ip: &[u8],
    meta: PacketMeta<'_>,
    sets: &SetTable,
    now_ns: u64,
) -> bool {
    PacketView::parse(ip, meta).is_some_and(|v| {
        spec.base_matches(&v)
            && spec.matches.iter().all(|m| match m {
                Match::Set(s) => set_matches(s, &v, sets, now_ns),
                other => other.matches(&v),
            })
    })
}

/// `rule_matches` for a rule whose evaluation is `RuleEval::Context`: the same answer,
/// with the packet only checked to be one a rule can match at all.
pub fn context_rule_matches(
    spec: &RuleSpec,
    ip: &[u8],
    ct: &CtInfo,
    entry: Option<&ConnEntry>,
    now_ns: u64,
    st: &mut RuleState,
    random: &mut dyn FnMut() -> u32,
) -> bool {
    PacketView::is_parseable(ip)
        && spec
            .matches
            .iter()
            .all(|m| context_match(m, ct, entry, now_ns, st, random).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::matches::limit::LIMIT_SCALE;

    /// Every compiled rule carries one: the fixed-part masks must not make all rules
    /// larger (the addresses are read from the rule's spec).
    #[test]
    fn rule_eval_stays_small() {
        assert!(std::mem::size_of::<RuleEval>() <= 16);
    }

    /// `RuleEval::CtState` answers as `conntrack_matches` does for a state-only match:
    /// every state, every set of state bits, negated or not, with and without an entry,
    /// with each kind of NAT on it.
    #[test]
    fn ctstate_alone_is_decided_as_conntrack_decides_it() {
        use crate::conntrack::{Conntrack, CtConfig};
        use crate::ruleset::matches::conntrack::{ConntrackFlavor, ConntrackMatch};
        use crate::ruleset::packet::tests::ipv4;
        let ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &[0, 1, 0, 2, 0, 8, 0, 0]);
        let mut ct = Conntrack::new(CtConfig::default());
        let base = ct
            .packet_in(&ip, false, 1_000_000_000)
            .pending
            .expect("a new connection");
        let nat = [
            0,
            nat_bits::SRC_NAT,
            nat_bits::DST_NAT,
            nat_bits::SRC_NAT | nat_bits::DST_NAT,
        ];
        let states = [
            CtState::New,
            CtState::Established,
            CtState::Related,
            CtState::Invalid,
            CtState::Untracked,
        ];
        for status in nat {
            let mut e = base.clone();
            e.status |= status;
            for state in states {
                let info = CtInfo {
                    state,
                    ..CtInfo::untracked()
                };
                for entry in [None, Some(&e)] {
                    for bits in 0..128u16 {
                        for inv in [false, true] {
                            let mut m = ConntrackMatch::new(ConntrackFlavor::Conntrack);
                            m.state = Some(Inv { val: bits, inv });
                            assert_eq!(
                                RuleEval::of(&RuleSpec {
                                    matches: vec![Match::Conntrack(m.clone())],
                                    ..RuleSpec::default()
                                }),
                                RuleEval::CtState { bits, inv }
                            );
                            assert_eq!(
                                ctstate_matches(&ip, bits, inv, &info, entry),
                                conntrack_matches(&m, &info, entry, 0),
                                "{state:?} bits {bits:#x} inv {inv} nat {status} entry {}",
                                entry.is_some()
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn limit_is_a_token_bucket() {
        // 2/sec, burst 3: three at once, then one every 500 ms.
        let m = LimitMatch {
            avg: LIMIT_SCALE / 2,
            burst: 3,
        };
        let mut st = RuleState::default();
        let t0 = 1_000_000_000;
        assert!(limit_allows(&m, &mut st, t0));
        assert!(limit_allows(&m, &mut st, t0));
        assert!(limit_allows(&m, &mut st, t0));
        assert!(!limit_allows(&m, &mut st, t0));
        assert!(!limit_allows(&m, &mut st, t0 + 499_999_999));
        assert!(limit_allows(&m, &mut st, t0 + 500_000_000));
        assert!(!limit_allows(&m, &mut st, t0 + 500_000_001));
        // A long pause refills only up to the burst.
        let later = t0 + 3_600_000_000_000;
        assert!((0..3).all(|_| limit_allows(&m, &mut st, later)));
        assert!(!limit_allows(&m, &mut st, later));
    }

    #[test]
    fn nth_counts_like_the_kernel() {
        let m = StatisticMatch {
            inv: false,
            mode: StatisticMode::Nth {
                every: 3,
                packet: 0,
            },
        };
        let mut st = RuleState::default();
        let hits: Vec<bool> = (0..6)
            .map(|_| statistic_matches(&m, &mut st, &mut || 0))
            .collect();
        // What a namespace router with `--every 3 --packet 0` did with six packets
        // (tests/conformance/scenarios/m_statistic_nth.toml has the on-the-wire check).
        assert_eq!(hits, [true, false, false, true, false, false]);
        let half = StatisticMatch {
            inv: false,
            mode: StatisticMode::Random {
                probability: 1 << 30,
            },
        };
        assert!(statistic_matches(&half, &mut st, &mut || 0x3fff_ffff));
        assert!(!statistic_matches(&half, &mut st, &mut || 0x4000_0000));
    }

    #[test]
    fn time_windows() {
        use crate::ruleset::matches::time::{ALL_MONTHDAYS, ALL_WEEKDAYS};
        // 2024-01-01 was a Monday; 10:00:00 UTC.
        let monday_10 = 1_704_103_200u64 * 1_000_000_000;
        let office = TimeMatch {
            daytime_start: 9 * 3600,
            daytime_stop: 17 * 3600,
            weekdays: 0b0011_1110, // Mon-Fri
            ..Default::default()
        };
        assert!(time_matches(&office, monday_10));
        assert!(!time_matches(&office, monday_10 + 8 * 3600 * 1_000_000_000));
        assert!(
            !time_matches(&office, monday_10 + 5 * 86_400 * 1_000_000_000),
            "Saturday"
        );
        let night = TimeMatch {
            daytime_start: 22 * 3600,
            daytime_stop: 6 * 3600,
            weekdays: ALL_WEEKDAYS,
            monthdays: ALL_MONTHDAYS,
            ..Default::default()
        };
        assert!(!time_matches(&night, monday_10));
        assert!(time_matches(&night, monday_10 + 13 * 3600 * 1_000_000_000));
        let first = TimeMatch {
            monthdays: 1 << 1,
            ..Default::default()
        };
        assert!(time_matches(&first, monday_10));
        assert!(!time_matches(&first, monday_10 + 86_400 * 1_000_000_000));
    }
}
