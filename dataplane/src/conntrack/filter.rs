//! conntrack-tools' entry filters (`conntrack -L/-D/-E` with `-p -s -d -r -q --sport
//! --dport --state -m -u --icmp-* --src-nat --dst-nat`): every criterion given must hold.

use super::nat::bits as nat_bits;
use super::status;
use super::{ConnEntry, CtAddr, TcpState};
use crate::route::{Ipv6Net, Prefix};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The `-u/--status` names, with their bits. `UNSET` is conntrack-tools' zero value: it
/// requires nothing. `FIXED_TIMEOUT` is never set here (no `nfct timeout` support), so a
/// filter naming it matches nothing.
pub const STATUS_NAMES: [(&str, u16); 10] = [
    ("EXPECTED", status::EXPECTED as u16),
    ("SEEN_REPLY", status::SEEN_REPLY as u16),
    ("ASSURED", status::ASSURED as u16),
    ("CONFIRMED", status::CONFIRMED as u16),
    ("SRC_NAT", nat_bits::SRC_NAT as u16),
    ("DST_NAT", nat_bits::DST_NAT as u16),
    ("SRC_NAT_DONE", nat_bits::SRC_NAT_DONE as u16),
    ("DST_NAT_DONE", nat_bits::DST_NAT_DONE as u16),
    ("FIXED_TIMEOUT", FIXED_TIMEOUT),
    ("UNSET", 0),
];

/// A status bit no entry has (see `STATUS_NAMES`).
const FIXED_TIMEOUT: u16 = 1 << 8;

/// The names of an entry's status bits, in the kernel's bit order.
pub fn status_names(bits: u8) -> Vec<&'static str> {
    STATUS_NAMES
        .iter()
        .filter(|(_, b)| *b != 0 && u16::from(bits) & b == *b)
        .map(|(n, _)| *n)
        .collect()
}

/// Why a filter was refused; the text is what conntrack 1.4.7 prints (after its
/// `conntrack v1.4.7 (conntrack-tools): ` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// Not an IPv4 (or, where taken, IPv6) address.
    Address(String),
    /// A prefix length outside 0..=32 (0..=128 for IPv6), or not a number.
    Netmask,
    /// An unknown status or event name, or a number out of range.
    Parameter(String),
    /// An unknown `--state`.
    TcpState(String),
    /// A protocol number out of range.
    Protocol(String),
    /// Anything else, said as it is.
    Other(String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Address(s) => write!(f, "Invalid IP address `{s}'"),
            FilterError::Netmask => f.write_str("Invalid netmask"),
            FilterError::Parameter(s) => write!(f, "Bad parameter `{s}'"),
            FilterError::TcpState(s) => write!(f, "unknown TCP state `{s}'"),
            FilterError::Protocol(s) => write!(f, "`{s}' unsupported protocol"),
            FilterError::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for FilterError {}

/// `ADDR` or `ADDR/LEN` as conntrack's `-s` takes it (host bits are allowed and ignored).
pub fn parse_prefix(s: &str) -> Result<Prefix, FilterError> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: Ipv4Addr = a.parse().map_err(|_| FilterError::Address(s.into()))?;
    let len = match len {
        None => 32,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= 32 && l.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(FilterError::Netmask),
        },
    };
    Prefix::new(addr, len).ok_or(FilterError::Netmask)
}

/// An address criterion of either family (conntrack's `-s ADDR[/LEN]` fills the
/// `ip`/`ipv6` and their masks of the filter by the address's family). A prefix of one
/// family contains no address of the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtPrefix {
    V4(Prefix),
    V6(Ipv6Net),
}

impl CtPrefix {
    pub fn contains(&self, a: IpAddr) -> bool {
        match (self, a) {
            (CtPrefix::V4(p), IpAddr::V4(a)) => p.contains(a),
            (CtPrefix::V6(p), IpAddr::V6(a)) => p.contains(a),
            _ => false,
        }
    }

    /// The family's number as the API names it: 4 or 6.
    pub fn family(&self) -> u32 {
        match self {
            CtPrefix::V4(_) => 4,
            CtPrefix::V6(_) => 6,
        }
    }

    /// Whether it names one address (`/32`, `/128`): what `conntrack -G` needs.
    pub fn is_host(&self) -> bool {
        match self {
            CtPrefix::V4(p) => p.len() == 32,
            CtPrefix::V6(p) => p.mask == u128::MAX,
        }
    }
}

impl From<Prefix> for CtPrefix {
    fn from(p: Prefix) -> CtPrefix {
        CtPrefix::V4(p)
    }
}

/// `ADDR` or `ADDR/LEN` of either family as conntrack's `-s` takes it (conntrack-tools'
/// `parse_addr`: the address family decides the longest length; host bits are ignored).
pub fn parse_ct_prefix(s: &str) -> Result<CtPrefix, FilterError> {
    let a = s.split_once('/').map_or(s, |(a, _)| a);
    if a.parse::<Ipv4Addr>().is_ok() {
        return parse_prefix(s).map(CtPrefix::V4);
    }
    let addr: Ipv6Addr = a.parse().map_err(|_| FilterError::Address(s.into()))?;
    let len = match s.split_once('/') {
        None => 128,
        Some((_, l)) => match l.parse::<u8>() {
            Ok(n) if n <= 128 && l.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(FilterError::Netmask),
        },
    };
    Ok(CtPrefix::V6(Ipv6Net::with_prefix(addr, len)))
}

/// A `--state` name.
pub fn parse_tcp_state(name: &str) -> Result<TcpState, FilterError> {
    use TcpState as S;
    [
        S::None,
        S::SynSent,
        S::SynRecv,
        S::Established,
        S::FinWait,
        S::CloseWait,
        S::LastAck,
        S::TimeWait,
        S::Close,
        S::SynSent2,
    ]
    .into_iter()
    .find(|s| s.name().eq_ignore_ascii_case(name))
    .ok_or_else(|| FilterError::TcpState(name.into()))
}

/// A `-u/--status` name.
pub fn parse_status(name: &str) -> Result<u16, FilterError> {
    STATUS_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, b)| *b)
        .ok_or_else(|| FilterError::Parameter(name.into()))
}

/// Which entries a listing, deletion or event subscription is about. The default matches
/// every entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtFilter {
    /// `-p`: the layer-4 protocol number.
    pub proto: Option<u8>,
    /// `-s`, `-d`: the original tuple's addresses; `-r`, `-q`: the reply tuple's.
    pub orig_src: Option<CtPrefix>,
    pub orig_dst: Option<CtPrefix>,
    pub reply_src: Option<CtPrefix>,
    pub reply_dst: Option<CtPrefix>,
    /// `--sport`, `--dport` and `--reply-port-*`: only entries with ports (TCP, UDP,
    /// UDP-Lite) can match them.
    pub orig_sport: Option<u16>,
    pub orig_dport: Option<u16>,
    pub reply_sport: Option<u16>,
    pub reply_dport: Option<u16>,
    /// `--state`: bits by `TcpState as usize`, any of them (0: no state criterion). Only
    /// TCP entries can match.
    pub tcp_states: u16,
    /// `-m VALUE[/MASK]`: `entry.mark & mask == value & mask`.
    pub mark: Option<(u32, u32)>,
    /// `-u`: every bit must be set (see `STATUS_NAMES`).
    pub status: u16,
    /// `--icmp-type`, `--icmp-code`, `--icmp-id` of the original tuple: only ICMP entries.
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp_id: Option<u16>,
    /// `--src-nat`, `--dst-nat`: only entries that are source / destination NATed.
    pub src_nat: bool,
    pub dst_nat: bool,
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132 | 136)
}

fn prefix_ok<A: CtAddr>(p: &Option<CtPrefix>, a: A) -> bool {
    p.is_none_or(|p| p.contains(a.into()))
}

fn port_ok(want: Option<u16>, proto: u8, port: u16) -> bool {
    want.is_none_or(|w| has_ports(proto) && w == port)
}

impl CtFilter {
    /// Adds a `--state` name.
    pub fn with_tcp_state(mut self, s: TcpState) -> CtFilter {
        self.tcp_states |= 1 << (s as u16);
        self
    }

    /// Whether the filter leaves every entry in (then a caller may skip matching).
    pub fn is_empty(&self) -> bool {
        *self == CtFilter::default()
    }

    /// Whether `e` meets every criterion. An address prefix of the other family than the
    /// entry's leaves it out.
    pub fn matches<A: CtAddr>(&self, e: &ConnEntry<A>) -> bool {
        let (o, r) = (&e.orig, &e.reply);
        let proto = o.proto;
        if self.proto.is_some_and(|p| p != proto) {
            return false;
        }
        if !(prefix_ok(&self.orig_src, o.src)
            && prefix_ok(&self.orig_dst, o.dst)
            && prefix_ok(&self.reply_src, r.src)
            && prefix_ok(&self.reply_dst, r.dst))
        {
            return false;
        }
        if !(port_ok(self.orig_sport, proto, o.sport)
            && port_ok(self.orig_dport, proto, o.dport)
            && port_ok(self.reply_sport, proto, r.sport)
            && port_ok(self.reply_dport, proto, r.dport))
        {
            return false;
        }
        if self.tcp_states != 0 && (proto != 6 || self.tcp_states & (1 << (e.tcp as u16)) == 0) {
            return false;
        }
        if self
            .mark
            .is_some_and(|(value, mask)| e.mark & mask != value & mask)
        {
            return false;
        }
        if u16::from(e.status) & self.status != self.status {
            return false;
        }
        let icmp = proto == A::ICMP_PROTO;
        if self
            .icmp_type
            .is_some_and(|t| !icmp || (o.dport >> 8) as u8 != t)
            || self
                .icmp_code
                .is_some_and(|c| !icmp || (o.dport & 0xff) as u8 != c)
            || self.icmp_id.is_some_and(|id| !icmp || o.sport != id)
        {
            return false;
        }
        if self.src_nat && e.status & nat_bits::SRC_NAT == 0 {
            return false;
        }
        if self.dst_nat && e.status & nat_bits::DST_NAT == 0 {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::Tuple;

    /// A fresh entry of `orig` and its inverse, whichever family.
    fn entry_of<A: CtAddr>(proto: u8, src: A, sport: u16, dst: A, dport: u16) -> ConnEntry<A> {
        let orig = Tuple {
            src,
            dst,
            proto,
            sport,
            dport,
        };
        ConnEntry {
            orig,
            reply: orig.invert().unwrap_or(orig),
            timeout_ns: 0,
            start_ns: 0,
            mark: 0,
            status: 0,
            tcp: TcpState::None,
            helper: 0,
            wheel_at: 0,
            tcpx: super::super::NO_TCP,
            labelx: super::super::NO_LABELS,
        }
    }

    fn entry(proto: u8, src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> ConnEntry {
        entry_of(proto, src.into(), sport, dst.into(), dport)
    }

    #[test]
    fn addresses_prefixes_and_ports_of_both_tuples() {
        let mut e = entry(17, [10, 0, 0, 2], 5000, [1, 1, 1, 1], 53);
        // Masqueraded: the reply comes back to the router's address and port 61000.
        e.reply.dst = Ipv4Addr::new(203, 0, 113, 1);
        e.reply.dport = 61000;
        let f = |f: CtFilter| f.matches(&e);
        assert!(f(CtFilter::default()));
        assert!(f(CtFilter {
            proto: Some(17),
            orig_src: Some(parse_ct_prefix("10.0.0.0/8").unwrap()),
            orig_dst: Some(parse_ct_prefix("1.1.1.1").unwrap()),
            reply_dst: Some(parse_ct_prefix("203.0.113.1").unwrap()),
            orig_sport: Some(5000),
            orig_dport: Some(53),
            reply_sport: Some(53),
            reply_dport: Some(61000),
            ..Default::default()
        }));
        assert!(!f(CtFilter {
            proto: Some(6),
            ..Default::default()
        }));
        assert!(!f(CtFilter {
            orig_src: Some(parse_ct_prefix("10.0.0.3").unwrap()),
            ..Default::default()
        }));
        assert!(!f(CtFilter {
            reply_dport: Some(5000),
            ..Default::default()
        }));
        assert!(!f(CtFilter {
            reply_src: Some(parse_ct_prefix("10.0.0.0/8").unwrap()),
            ..Default::default()
        }));
        // Ports never match a protocol without them.
        let ping = entry(1, [10, 0, 0, 2], 7, [1, 1, 1, 1], 8 << 8);
        assert!(!CtFilter {
            orig_sport: Some(7),
            ..Default::default()
        }
        .matches(&ping));
    }

    fn entry6(proto: u8, src: &str, sport: u16, dst: &str, dport: u16) -> ConnEntry<Ipv6Addr> {
        entry_of(
            proto,
            src.parse().unwrap(),
            sport,
            dst.parse().unwrap(),
            dport,
        )
    }

    #[test]
    fn ipv6_prefixes_match_ipv6_entries_only() {
        let mut e6 = entry6(17, "2001:db8::3", 5353, "2001:db8:1::4", 53);
        // NAT66 masquerade: the reply comes back to the router's address.
        e6.reply.dst = "2001:db8:ff::1".parse().unwrap();
        e6.reply.dport = 61000;
        let e4 = entry(17, [10, 0, 0, 2], 5353, [1, 1, 1, 1], 53);
        let p = |s: &str| Some(parse_ct_prefix(s).unwrap());
        let f = |orig_src, orig_dst, reply_src, reply_dst| CtFilter {
            orig_src,
            orig_dst,
            reply_src,
            reply_dst,
            ..Default::default()
        };
        assert!(f(p("2001:db8::3"), None, None, None).matches(&e6));
        assert!(f(p("2001:db8::/64"), p("2001:db8:1::/48"), None, None).matches(&e6));
        assert!(f(None, None, p("2001:db8:1::4"), p("2001:db8:ff::1")).matches(&e6));
        assert!(!f(p("2001:db8::4"), None, None, None).matches(&e6));
        assert!(!f(None, None, None, p("2001:db8::3")).matches(&e6));
        // Host bits past the length are ignored: /127 holds ::2 and ::3.
        assert!(f(p("2001:db8::2/127"), None, None, None).matches(&e6));
        assert!(!f(p("2001:db8::4/127"), None, None, None).matches(&e6));
        // A prefix of one family holds no address of the other, /0 included.
        assert!(!f(p("::/0"), None, None, None).matches(&e4));
        assert!(!f(p("0.0.0.0/0"), None, None, None).matches(&e6));
        assert!(f(p("0.0.0.0/0"), None, None, None).matches(&e4));
        assert!(f(p("::/0"), None, None, None).matches(&e6));
        // The other criteria read an IPv6 entry as they read an IPv4 one.
        let ports = CtFilter {
            proto: Some(17),
            orig_sport: Some(5353),
            reply_dport: Some(61000),
            ..f(p("2001:db8::3"), None, None, None)
        };
        assert!(ports.matches(&e6));
        assert!(!CtFilter {
            reply_dport: Some(5353),
            ..ports
        }
        .matches(&e6));
    }

    #[test]
    fn ipv6_prefixes_parse_as_conntrack_parses_them() {
        let v6 = parse_ct_prefix("2001:db8::1/64").unwrap();
        assert_eq!(v6.family(), 6);
        assert!(!v6.is_host());
        assert!(parse_ct_prefix("2001:db8::1").unwrap().is_host());
        assert!(parse_ct_prefix("10.0.0.1").unwrap().is_host());
        assert_eq!(parse_ct_prefix("10.0.0.0/8").unwrap().family(), 4);
        assert_eq!(
            parse_ct_prefix("2001:db8::/129").unwrap_err().to_string(),
            "Invalid netmask"
        );
        assert_eq!(
            parse_ct_prefix("2001:db8::/x").unwrap_err(),
            FilterError::Netmask
        );
        assert_eq!(
            parse_ct_prefix("10.0.0.0/33").unwrap_err(),
            FilterError::Netmask
        );
        assert_eq!(
            parse_ct_prefix("2001:db8::zz").unwrap_err().to_string(),
            "Invalid IP address `2001:db8::zz'"
        );
    }

    #[test]
    fn tcp_states_marks_and_status_bits() {
        let mut e = entry(6, [10, 0, 0, 2], 40000, [1, 1, 1, 1], 80);
        e.tcp = TcpState::Established;
        e.mark = 0x1234;
        e.status = status::CONFIRMED | status::SEEN_REPLY | status::ASSURED | nat_bits::SRC_NAT;
        let est = CtFilter::default().with_tcp_state(TcpState::Established);
        assert!(est.matches(&e));
        assert!(!CtFilter::default()
            .with_tcp_state(TcpState::SynSent)
            .matches(&e));
        assert!(CtFilter::default()
            .with_tcp_state(TcpState::SynSent)
            .with_tcp_state(TcpState::Established)
            .matches(&e));
        let mark = |v, m| CtFilter {
            mark: Some((v, m)),
            ..Default::default()
        };
        assert!(mark(0x1234, u32::MAX).matches(&e));
        assert!(mark(0x34, 0xff).matches(&e));
        assert!(!mark(0x35, 0xff).matches(&e));
        let st = |names: &[&str]| CtFilter {
            status: names.iter().map(|n| parse_status(n).unwrap()).sum(),
            ..Default::default()
        };
        assert!(st(&["ASSURED", "SEEN_REPLY"]).matches(&e));
        assert!(st(&["UNSET"]).matches(&e));
        assert!(st(&["SRC_NAT"]).matches(&e));
        assert!(!st(&["DST_NAT"]).matches(&e));
        assert!(!st(&["FIXED_TIMEOUT"]).matches(&e));
        assert!(CtFilter {
            src_nat: true,
            ..Default::default()
        }
        .matches(&e));
        assert!(!CtFilter {
            dst_nat: true,
            ..Default::default()
        }
        .matches(&e));
        // A state criterion leaves out what is not TCP.
        let u = entry(17, [10, 0, 0, 2], 1, [1, 1, 1, 1], 2);
        assert!(!est.matches(&u));
        assert_eq!(
            status_names(e.status),
            ["SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT"]
        );
    }

    #[test]
    fn icmp_type_code_and_id() {
        let ping = entry(1, [10, 0, 0, 2], 77, [1, 1, 1, 1], 8 << 8);
        let f = |t, c, id| CtFilter {
            icmp_type: t,
            icmp_code: c,
            icmp_id: id,
            ..Default::default()
        };
        assert!(f(Some(8), Some(0), Some(77)).matches(&ping));
        assert!(!f(Some(0), None, None).matches(&ping));
        assert!(!f(None, Some(1), None).matches(&ping));
        assert!(!f(None, None, Some(78)).matches(&ping));
        let tcp = entry(6, [10, 0, 0, 2], 77, [1, 1, 1, 1], 8 << 8);
        assert!(!f(Some(8), None, None).matches(&tcp));
    }

    #[test]
    fn errors_read_as_conntrack_prints_them() {
        assert_eq!(
            parse_prefix("1.2.3.x").unwrap_err().to_string(),
            "Invalid IP address `1.2.3.x'"
        );
        assert_eq!(
            parse_prefix("10.0.0.0/33").unwrap_err().to_string(),
            "Invalid netmask"
        );
        assert_eq!(
            parse_prefix("10.0.0.0/x").unwrap_err(),
            FilterError::Netmask
        );
        assert_eq!(
            parse_status("FOO").unwrap_err().to_string(),
            "Bad parameter `FOO'"
        );
        assert_eq!(
            parse_tcp_state("established").unwrap(),
            TcpState::Established
        );
        assert_eq!(
            parse_tcp_state("OPEN").unwrap_err().to_string(),
            "unknown TCP state `OPEN'"
        );
        assert!(parse_prefix("10.1.2.3/8")
            .unwrap()
            .contains(Ipv4Addr::new(10, 9, 9, 9)));
    }
}
