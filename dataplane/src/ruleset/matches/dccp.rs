//! `-m dccp` (xt_dccp, `-p dccp`): port ranges, `--dccp-types` (a bit per packet type) and
//! `--dccp-option N` (an option of that type among the header's options, walked as
//! `dccp_find_option` walks them). A later fragment never matches; a header too short to
//! read makes the kernel drop the packet (hotdrop), here the rule does not match it
//! (docs/deviations.md).

use crate::ruleset::{Inv, PortRange};

pub const IPPROTO_DCCP: u8 = 33;

/// The packet types, as `--dccp-types` names them (INVALID stands for 10 and above).
pub const TYPES: [&str; 11] = [
    "REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC",
    "SYNCACK", "INVALID",
];

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DccpMatch {
    pub sport: Option<Inv<PortRange>>,
    pub dport: Option<Inv<PortRange>>,
    /// A bit per packet type.
    pub types: Option<Inv<u16>>,
    pub option: Option<Inv<u8>>,
}

/// `__dccp_hdr_len`: the generic header, its extended sequence number, the type's part.
fn header_len(byte8: u8, ty: u8) -> usize {
    let ext = if byte8 & 1 == 1 { 4 } else { 0 };
    let part = match ty {
        2 => 0,
        3 | 4 | 5 | 6 | 8 | 9 => 8,
        0 => 4,
        _ => 12,
    };
    12 + ext + part
}

impl DccpMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let Some(l4) = super::common_header(pkt, &self.sport, &self.dport) else {
            return false;
        };
        let ty = (l4[8] >> 1) & 0x0f;
        if let Some(t) = self.types {
            if (t.val >> ty & 1 == 1) == t.inv {
                return false;
            }
        }
        let Some(o) = self.option else {
            return true;
        };
        match find_option(l4, o.val, ty) {
            None => false,
            Some(found) => found != o.inv,
        }
    }
}

/// `dccp_find_option`: `None` where the kernel would drop the packet.
fn find_option(l4: &[u8], option: u8, ty: u8) -> Option<bool> {
    let start = header_len(l4[8], ty);
    let end = usize::from(l4[4]) * 4;
    if end < start {
        return None;
    }
    if end == start {
        return Some(false);
    }
    let ops = l4.get(start..end)?;
    let mut i = 0;
    while i < ops.len() {
        if ops[i] == option {
            return Some(true);
        }
        i += if ops[i] < 2 {
            1
        } else {
            match ops.get(i + 1).copied().unwrap_or(0) {
                0 => 1,
                n => usize::from(n),
            }
        };
    }
    Some(false)
}

impl crate::ruleset::ext::MatchExt for DccpMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "dccp";
    const REVISION: u8 = 0;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "dccp", &[IPPROTO_DCCP])
    }
}

impl crate::ruleset::ext::PacketMatch for DccpMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    /// A DCCP header of `ty` (no extended sequence number), ports 5000 -> 80, with
    /// `opts` after the type's part.
    fn dccp(ty: u8, opts: &[u8]) -> Vec<u8> {
        let mut l4 = vec![0x13, 0x88, 0, 80, 0, 0, 0, 0, ty << 1, 0, 0, 1];
        l4.resize(header_len(ty << 1, ty), 0);
        l4.extend_from_slice(opts);
        while l4.len() % 4 != 0 {
            l4.push(0);
        }
        l4[4] = (l4.len() / 4) as u8;
        ipv4(IPPROTO_DCCP, [1, 1, 1, 1], [2, 2, 2, 2], &l4)
    }

    #[test]
    fn ports_types_and_options() {
        let req = dccp(0, &[0, 32, 3, 1, 1]);
        let types = |mask, inv| DccpMatch {
            types: Some(Inv::new(inv, mask)),
            ..DccpMatch::default()
        };
        assert!(types(1, false).matches(&view(&req)));
        assert!(!types(1 << 7, false).matches(&view(&req)));
        assert!(types(1 << 7, true).matches(&view(&req)));
        let opt = |n, inv| DccpMatch {
            option: Some(Inv::new(inv, n)),
            dport: Some(Inv::plain(PortRange { lo: 80, hi: 80 })),
            ..DccpMatch::default()
        };
        assert!(opt(32, false).matches(&view(&req)));
        assert!(!opt(33, false).matches(&view(&req)));
        assert!(opt(33, true).matches(&view(&req)));
        // Padding (0) is one byte; 1 inside option 32's data is not an option, the 1
        // after it (Mandatory) is.
        assert!(opt(1, false).matches(&view(&req)));
        // DATA has no type part: options start at 12.
        let data = dccp(2, &[44, 2]);
        assert!(opt(44, false).matches(&view(&data)));
        let bare = dccp(2, &[]);
        assert!(!opt(44, false).matches(&view(&bare)));
        assert!(opt(44, true).matches(&view(&bare)), "no options: not found");
    }

    #[test]
    fn short_headers_never_match() {
        let mut req = dccp(0, &[32, 3, 1, 0]);
        req[20 + 4] = 2; // data offset 8 bytes: shorter than the request header
        let m = |inv| DccpMatch {
            option: Some(Inv::new(inv, 32)),
            ..DccpMatch::default()
        };
        assert!(!m(false).matches(&view(&req)));
        assert!(!m(true).matches(&view(&req)));
        let mut past = dccp(0, &[32, 3, 1, 0]);
        past[20 + 4] = 40; // options claimed past the packet
        assert!(!m(true).matches(&view(&past)));
        let short = ipv4(IPPROTO_DCCP, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 8]);
        assert!(!DccpMatch::default().matches(&view(&short)));
    }
}
