//! Protocol and service names as iptables resolves them (its own short table, then the
//! system's /etc/protocols and /etc/services, whose Debian contents are embedded so that
//! output does not depend on the host).

use std::collections::HashMap;
use std::sync::OnceLock;

/// iptables' built-in protocol names (`xtables_chain_protos`), tried first when parsing.
const IPTABLES_PROTOS: [(&str, u8); 10] = [
    ("tcp", 6),
    ("sctp", 132),
    ("udp", 17),
    ("udplite", 136),
    ("icmp", 1),
    ("icmpv6", 58),
    ("esp", 50),
    ("ah", 51),
    ("mh", 135),
    ("all", 0),
];

/// Debian netbase's /etc/protocols (name, number), first name per number wins.
const SYSTEM_PROTOS: [(&str, u8); 56] = [
    ("ip", 0),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ipencap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
    ("ethernet", 143),
];

/// `-p NAME|NUMBER` to a protocol number; `all` and 0 mean any protocol.
pub fn parse_proto(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u16>() {
        return u8::try_from(n).ok();
    }
    let lower = s.to_ascii_lowercase();
    IPTABLES_PROTOS
        .iter()
        .chain(SYSTEM_PROTOS.iter())
        .find(|(n, _)| *n == lower)
        .map(|(_, v)| *v)
}

/// `getprotobyname` over the system's table: a protocol's name (its aliases are its
/// name's case variants in Debian's /etc/protocols, matched here without regard to case).
pub fn system_proto(s: &str) -> Option<u8> {
    SYSTEM_PROTOS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, v)| *v)
}

/// The name iptables prints for a protocol number (the system name, then its own
/// table), or the number.
pub fn proto_name(p: u8) -> String {
    SYSTEM_PROTOS
        .iter()
        .filter(|(_, v)| *v != 0)
        .chain(IPTABLES_PROTOS.iter())
        .find(|(_, v)| *v == p)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| p.to_string())
}

fn services() -> &'static HashMap<(String, String), u16> {
    static SERVICES: OnceLock<HashMap<(String, String), u16>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/services").unwrap_or_default();
        let mut map = HashMap::new();
        for line in text.lines() {
            let mut words = line.split('#').next().unwrap_or("").split_whitespace();
            let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
                continue;
            };
            let Some((port, proto)) = port_proto.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            for n in std::iter::once(name).chain(words) {
                map.entry((n.to_string(), proto.to_string()))
                    .or_insert(port);
            }
        }
        for (n, p) in FALLBACK_SERVICES {
            for proto in ["tcp", "udp"] {
                map.entry((n.to_string(), proto.to_string())).or_insert(p);
            }
        }
        map
    })
}

/// Used when the host has no /etc/services.
const FALLBACK_SERVICES: [(&str, u16); 16] = [
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("http", 80),
    ("pop3", 110),
    ("ntp", 123),
    ("imap", 143),
    ("snmp", 161),
    ("https", 443),
    ("imaps", 993),
    ("pop3s", 995),
];

/// The service name of a port (`-L` without `-n`), as getservbyport finds it.
pub fn service_name(port: u16, proto: &str) -> Option<&'static str> {
    static BY_PORT: OnceLock<HashMap<(u16, String), String>> = OnceLock::new();
    let map = BY_PORT.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/services").unwrap_or_default();
        let mut m = HashMap::new();
        for line in text.lines() {
            let mut w = line.split('#').next().unwrap_or("").split_whitespace();
            if let (Some(name), Some(pp)) = (w.next(), w.next()) {
                if let Some((p, pr)) = pp.split_once('/') {
                    if let Ok(p) = p.parse::<u16>() {
                        m.entry((p, pr.to_string()))
                            .or_insert_with(|| name.to_string());
                    }
                }
            }
        }
        m
    });
    map.get(&(port, proto.to_string())).map(|s| s.as_str())
}

/// A port number or a service name (looked up for `proto`, tcp when unknown).
pub fn parse_port(s: &str, proto: Option<&str>) -> Option<u16> {
    if let Ok(n) = s.parse::<u16>() {
        return Some(n);
    }
    if s.is_empty() || s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let proto = proto.unwrap_or("tcp");
    services().get(&(s.to_string(), proto.to_string())).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_both_ways() {
        assert_eq!(parse_proto("tcp"), Some(6));
        assert_eq!(parse_proto("TCP"), Some(6));
        assert_eq!(parse_proto("47"), Some(47));
        assert_eq!(parse_proto("gre"), Some(47));
        assert_eq!(parse_proto("all"), Some(0));
        assert_eq!(parse_proto("256"), None);
        assert_eq!(parse_proto("nonsense"), None);
        assert_eq!(proto_name(6), "tcp");
        assert_eq!(proto_name(47), "gre");
        assert_eq!(proto_name(200), "200");
    }

    #[test]
    fn services_resolve() {
        assert_eq!(parse_port("ssh", Some("tcp")), Some(22));
        assert_eq!(parse_port("8080", None), Some(8080));
        assert_eq!(parse_port("65536", None), None);
        assert_eq!(parse_port("no-such-service", None), None);
    }
}
