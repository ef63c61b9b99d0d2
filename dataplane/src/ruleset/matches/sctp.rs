//! `-m sctp` (xt_sctp, `-p sctp`): source and destination port ranges and
//! `--chunk-types {all|any|only} CHUNK[:FLAGS],...` over the packet's chunks, as
//! `sctp_mt` and `match_packet` walk them: each chunk's type tested against the map and,
//! for the types given with flags, its flags under their mask. A later fragment never
//! matches. A chunk walk that meets a zero length or runs out of packet makes the kernel
//! drop the packet (hotdrop); here the rule does not match it (docs/deviations.md, as for
//! esp and ah).

use crate::ruleset::{Inv, PortRange};

pub const IPPROTO_SCTP: u8 = 132;

/// At most this many chunk types carry flags (`XT_NUM_SCTP_FLAGS`).
pub const MAX_FLAGGED: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkMatch {
    /// One chunk of a listed type (with its flags) is enough.
    Any,
    /// Every listed type appears (with its flags).
    All,
    /// Every chunk is of a listed type (with its flags).
    Only,
}

/// The flags a chunk type must carry: `(chunk & mask) == flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkFlags {
    pub chunk: u8,
    pub flags: u8,
    pub mask: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkTypes {
    pub how: ChunkMatch,
    /// One bit per chunk type.
    pub map: [u64; 4],
    pub flags: Vec<ChunkFlags>,
}

impl ChunkTypes {
    pub fn has(&self, t: u8) -> bool {
        self.map[usize::from(t >> 6)] >> (t & 63) & 1 == 1
    }

    pub fn set(&mut self, t: u8) {
        self.map[usize::from(t >> 6)] |= 1 << (t & 63);
    }

    fn clear(map: &mut [u64; 4], t: u8) {
        map[usize::from(t >> 6)] &= !(1 << (t & 63));
    }

    /// `match_flags`: the first flag entry for the type decides; none means any flags.
    fn flags_ok(&self, t: u8, f: u8) -> bool {
        self.flags
            .iter()
            .find(|e| e.chunk == t)
            .is_none_or(|e| f & e.mask == e.flags)
    }

    /// `match_packet` over the chunks after the common header; `None` where the kernel
    /// would drop the packet.
    fn eval(&self, chunks: &[u8]) -> Option<bool> {
        let mut left = self.map;
        let mut at = 0usize;
        loop {
            let h = chunks.get(at..at + 4)?;
            let (t, f) = (h[0], h[1]);
            let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
            if len == 0 {
                return None;
            }
            if self.has(t) {
                let ok = self.flags_ok(t, f);
                match self.how {
                    ChunkMatch::Any if ok => return Some(true),
                    ChunkMatch::All if ok => Self::clear(&mut left, t),
                    ChunkMatch::Only if !ok => return Some(false),
                    _ => {}
                }
            } else if self.how == ChunkMatch::Only {
                return Some(false);
            }
            at += len.div_ceil(4) * 4;
            if at >= chunks.len() {
                break;
            }
        }
        Some(match self.how {
            ChunkMatch::All => left == [0; 4],
            ChunkMatch::Any => false,
            ChunkMatch::Only => true,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SctpMatch {
    pub sport: Option<Inv<PortRange>>,
    pub dport: Option<Inv<PortRange>>,
    pub chunks: Option<Inv<ChunkTypes>>,
}

impl SctpMatch {
    pub fn matches(&self, pkt: &crate::ruleset::packet::PacketView) -> bool {
        let Some(l4) = super::common_header(pkt, &self.sport, &self.dport) else {
            return false;
        };
        match &self.chunks {
            None => true,
            Some(c) => match c.val.eval(&l4[12..]) {
                None => false,
                Some(m) => m != c.inv,
            },
        }
    }
}

impl crate::ruleset::ext::MatchExt for SctpMatch {
    const FAMILIES: crate::ruleset::Families = crate::ruleset::Families::BOTH;
    const NAME: &'static str = "sctp";
    const REVISION: u8 = 0;
    fn validate(&self, spec: &crate::ruleset::RuleSpec) -> Result<(), String> {
        super::require_proto(spec, "sctp", &[IPPROTO_SCTP])
    }
}

impl crate::ruleset::ext::PacketMatch for SctpMatch {
    fn decide(&self, cx: &crate::ruleset::ext::PacketCx<'_, '_>) -> bool {
        self.matches(cx.view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::packet::tests::{ipv4, view};

    /// SCTP common header (ports 5000 -> 80) and the given chunks.
    fn sctp(chunks: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut l4 = vec![0x13, 0x88, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0];
        for &(t, f, body) in chunks {
            let len = 4 + body.len();
            l4.extend_from_slice(&[t, f]);
            l4.extend_from_slice(&(len as u16).to_be_bytes());
            l4.extend_from_slice(body);
            while l4.len() % 4 != 0 {
                l4.push(0);
            }
        }
        ipv4(IPPROTO_SCTP, [1, 1, 1, 1], [2, 2, 2, 2], &l4)
    }

    fn types(how: ChunkMatch, list: &[u8], flags: &[ChunkFlags], inv: bool) -> SctpMatch {
        let mut c = ChunkTypes {
            how,
            map: [0; 4],
            flags: flags.to_vec(),
        };
        for &t in list {
            c.set(t);
        }
        SctpMatch {
            chunks: Some(Inv::new(inv, c)),
            ..SctpMatch::default()
        }
    }

    #[test]
    fn ports_and_chunk_types() {
        let init = sctp(&[(1, 0, &[0; 16])]);
        let data = sctp(&[(0, 0x03, b"abcdefghijklmnop"), (3, 0, &[0; 12])]);
        let ports = SctpMatch {
            dport: Some(Inv::plain(PortRange { lo: 80, hi: 80 })),
            sport: Some(Inv::new(true, PortRange { lo: 1, hi: 1023 })),
            ..SctpMatch::default()
        };
        assert!(ports.matches(&view(&init)));
        use ChunkMatch::*;
        assert!(types(Any, &[1], &[], false).matches(&view(&init)));
        assert!(!types(Any, &[1], &[], false).matches(&view(&data)));
        assert!(types(Any, &[1], &[], true).matches(&view(&data)));
        assert!(types(All, &[0, 3], &[], false).matches(&view(&data)));
        assert!(!types(All, &[0, 1], &[], false).matches(&view(&data)));
        assert!(types(Only, &[0, 3], &[], false).matches(&view(&data)));
        assert!(!types(Only, &[0], &[], false).matches(&view(&data)));
        // DATA:Be: B set, E clear under the mask B|E.
        let be = [ChunkFlags {
            chunk: 0,
            flags: 0x02,
            mask: 0x03,
        }];
        assert!(
            !types(Any, &[0], &be, false).matches(&view(&data)),
            "E is set"
        );
        let b_and_e = [ChunkFlags {
            chunk: 0,
            flags: 0x03,
            mask: 0x03,
        }];
        assert!(types(Any, &[0], &b_and_e, false).matches(&view(&data)));
        assert!(!types(Only, &[0, 3], &be, false).matches(&view(&data)));
    }

    #[test]
    fn a_broken_chunk_walk_never_matches() {
        let mut zero = sctp(&[(1, 0, &[0; 16])]);
        zero[20 + 12 + 2..20 + 12 + 4].copy_from_slice(&[0, 0]);
        assert!(!types(ChunkMatch::Any, &[1], &[], false).matches(&view(&zero)));
        assert!(!types(ChunkMatch::Any, &[1], &[], true).matches(&view(&zero)));
        // A common header alone: no chunk to read.
        let bare = ipv4(IPPROTO_SCTP, [1, 1, 1, 1], [2, 2, 2, 2], &[0; 12]);
        assert!(!types(ChunkMatch::Only, &[1], &[], true).matches(&view(&bare)));
        // A chunk length running past the end ends the walk.
        let mut long = sctp(&[(1, 0, &[0; 16])]);
        long[20 + 12 + 2..20 + 12 + 4].copy_from_slice(&[0x10, 0]);
        assert!(types(ChunkMatch::Any, &[1], &[], false).matches(&view(&long)));
    }
}
