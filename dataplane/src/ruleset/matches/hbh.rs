//! `-m hbh` and `-m dst`: the IPv6 hop-by-hop and destination options headers (ip6t_hbh
//! registers both), for ip6tables rulesets only: the header length and a list of
//! options (type, and length unless 0xff).
//!
//! Per packet, as ip6t_hbh's `hbh_mt6`: the first header of the kind
//! (`ipv6_find_hdr(.., NEXTHDR_HOP or NEXTHDR_DEST, ..)`; none: no match). The length
//! is compared with the header's length in bytes (`ipv6_optlen`), as the kernel does with
//! the number ip6tables passes. The options listed must be the header's first options,
//! in that order (the kernel has only this strict walk): each type, and unless 0xff its
//! data length (Pad1 has none); a list that runs past the header does not match.

use crate::ruleset::Inv;

/// IP6T_OPTS_OPTSNR: the most options one rule lists.
pub const MAX_OPTS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptsMatch {
    /// `-m dst` rather than `-m hbh`.
    pub dst: bool,
    /// `--hbh-len` / `--dst-len`: the header's length in bytes.
    pub len: Option<Inv<u32>>,
    /// `--hbh-opts` / `--dst-opts`: `type << 8 | length` each, length 0xff for "any".
    pub opts: Vec<u16>,
}

impl OptsMatch {
    /// The match on a packet (module doc); an IPv4 view has no options headers.
    pub fn matches(&self, view: &crate::ruleset::packet::PacketView<'_>) -> bool {
        let Some(ext) = view.ext_headers() else {
            return false;
        };
        match if self.dst {
            ext.dst_opts
        } else {
            ext.hop_by_hop
        } {
            Some(at) => self.matches_at(view.ip, at),
            None => false,
        }
    }

    /// hbh_mt6 on the header at `at` of the packet `ip` (the walk reads the packet, not
    /// just the header, as the kernel's `skb_header_pointer` does).
    pub fn matches_at(&self, ip: &[u8], at: usize) -> bool {
        let Some(&len_field) = ip.get(at + 1) else {
            return false;
        };
        let hdrlen = (usize::from(len_field) + 1) * 8;
        if ip.len() < at + hdrlen {
            return false;
        }
        let ret = self.len.is_none_or(|l| l.apply(l.val as usize == hdrlen));
        let mut ptr = at + 2;
        let mut rem = hdrlen - 2;
        let mut done = 0;
        for (i, &spec) in self.opts.iter().enumerate() {
            if rem < 1 {
                break;
            }
            let Some(&t) = ip.get(ptr) else { break };
            if u16::from(t) != spec >> 8 {
                return false;
            }
            let optlen = if t == 0 {
                1
            } else {
                if rem < 2 {
                    break;
                }
                let Some(&l) = ip.get(ptr + 1) else { break };
                let want = spec & 0xff;
                if want != 0xff && want != u16::from(l) {
                    return false;
                }
                usize::from(l) + 2
            };
            // Only a step to a further listed option must stay inside the header.
            if (ptr + optlen > ip.len() || rem < optlen) && i + 1 < self.opts.len() {
                break;
            }
            ptr += optlen;
            rem = rem.saturating_sub(optlen);
            done += 1;
        }
        done == self.opts.len() && ret
    }
}

impl crate::ruleset::ext::MatchExt for OptsMatch {
    const NAME: &'static str = "hbh";
    const REVISION: u8 = 0;
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::V6;

    fn name(&self) -> &'static str {
        if self.dst {
            "dst"
        } else {
            "hbh"
        }
    }
}

impl crate::ruleset::ext::PacketMatch for OptsMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, ipv6, opts_header, view};

    fn m(dst: bool, len: Option<Inv<u32>>, opts: &[u16]) -> OptsMatch {
        OptsMatch {
            dst,
            len,
            opts: opts.to_vec(),
        }
    }

    /// Hop-by-hop (router alert: type 5, data length 2; then two Pad1), destination
    /// options (PadN, data length 4), UDP.
    fn hbh_then_dst() -> Vec<u8> {
        let mut pl = vec![60, 0, 5, 2, 0, 0, 0, 0];
        pl.extend(opts_header(17));
        pl.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
        ipv6(0, "::1", "::2", &pl)
    }

    #[test]
    fn length_and_option_list() {
        let p = hbh_then_dst();
        let v = view(&p);
        assert!(m(false, None, &[]).matches(&v));
        assert!(m(false, Some(Inv::new(false, 8)), &[]).matches(&v));
        assert!(!m(false, Some(Inv::new(false, 0)), &[]).matches(&v));
        assert!(m(false, Some(Inv::new(true, 16)), &[]).matches(&v));
        assert!(!m(false, Some(Inv::new(true, 8)), &[]).matches(&v));
        // Router alert with length 2, any length, then the Pad1s.
        assert!(m(false, None, &[0x0502]).matches(&v));
        assert!(m(false, None, &[0x05ff, 0x0000, 0x0000]).matches(&v));
        assert!(!m(false, None, &[0x0503]).matches(&v));
        assert!(!m(false, None, &[0x0000]).matches(&v), "strict order");
        // A list longer than the header's options.
        assert!(!m(false, None, &[0x0502, 0x0000, 0x0000, 0x0000]).matches(&v));
        // The destination options header: PadN with 4 bytes.
        assert!(m(true, Some(Inv::new(false, 8)), &[0x0104]).matches(&v));
        assert!(!m(true, None, &[0x0502]).matches(&v));
    }

    #[test]
    fn missing_headers_fragments_and_truncation() {
        let udp = ipv6(17, "::1", "::2", &[0, 1, 0, 2, 0, 8, 0, 0]);
        assert!(!m(false, None, &[]).matches(&view(&udp)));
        assert!(!m(true, Some(Inv::new(true, 8)), &[]).matches(&view(&udp)));
        // Destination options after a non-first fragment header are not found.
        let mut frag = vec![60, 0, 0, 8, 0, 0, 0, 1];
        frag.extend(opts_header(17));
        assert!(!m(true, None, &[]).matches(&view(&ipv6(44, "::1", "::2", &frag))));
        let v4 = ipv4(0, [1, 1, 1, 1], [2, 2, 2, 2], &opts_header(17));
        assert!(!m(false, None, &[]).matches(&view(&v4)));
        // An option whose length runs past the header and the packet (the view refuses
        // such a chain; the walk itself must not panic on it).
        let ip = ipv6(0, "::1", "::2", &[59, 0, 7, 200, 0, 0, 0, 0]);
        assert!(!m(false, None, &[0x07c8, 0x0000]).matches_at(&ip, 40));
        assert!(
            m(false, None, &[0x07c8]).matches_at(&ip, 40),
            "the last step is unchecked"
        );
        assert!(!m(false, None, &[0x0700]).matches_at(&ip, 44));
        assert!(!m(false, None, &[]).matches_at(&ip[..41], 40));
    }
}
