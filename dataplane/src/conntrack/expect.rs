//! Expectations: the connections a helper (FTP) announced, RELATED to their master when
//! they come, and the helper's sequence adjustments of its master (`nf_conntrack_expect`,
//! `nf_conntrack_seqadj`).

use super::*;

/// How long an expectation waits for its data connection (nf_conntrack_ftp: 5 minutes).
pub const EXPECT_TIMEOUT_NS: u64 = 300 * NS;
/// Expectations kept per shard at most.
pub const MAX_EXPECTATIONS: usize = 1024;

impl Conntrack {
    /// Registers an expectation (the oldest goes when too many are pending).
    pub fn expect(&mut self, x: ftp::Expectation) {
        self.expect.retain(|e| e.expires_ns > self.now_ns);
        if self.expect.len() >= MAX_EXPECTATIONS {
            self.expect.remove(0);
        }
        self.expect.push(x);
    }

    pub fn expectations(&self) -> &[ftp::Expectation] {
        &self.expect
    }
}

impl<A: CtAddr> Conntrack<A> {
    pub fn seqadj(&self, id: u32) -> Option<&[ftp::SeqAdj; 2]> {
        self.seqadj.get(&id)
    }

    pub fn seqadj_mut(&mut self, id: u32) -> &mut [ftp::SeqAdj; 2] {
        self.seqadj.entry(id).or_default()
    }

    /// The pending expectation a new connection's first packet (`t`) fulfils, taken.
    pub(super) fn take_expectation(
        &mut self,
        t: &Tuple<A>,
        now_ns: u64,
    ) -> Option<ftp::Expectation> {
        let t = A::as_v4(t)?;
        let i = self.expect.iter().position(|x| {
            t.proto == 6
                && x.dst == t.dst
                && x.dport == t.dport
                && x.src.is_none_or(|s| s == t.src)
                && x.expires_ns > now_ns
        })?;
        Some(self.expect.swap_remove(i))
    }
}
