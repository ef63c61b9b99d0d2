//! Running an ARP frame through the table: the chain of its hook, jumps and returns, the
//! policy at the end, and `-j mangle` rewriting the message on the way.

use super::{ArpHook, ArpMatch, ArpTable, ArpTarget, MangleVerdict, MAX_JUMP_DEPTH};
use std::net::Ipv4Addr;

/// The fields of an ARP message the rules look at (and `mangle` rewrites).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpFields {
    pub op: u16,
    pub htype: u16,
    pub ptype: u16,
    pub sha: [u8; 6],
    pub sip: Ipv4Addr,
    pub tha: [u8; 6],
    pub tip: Ipv4Addr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpVerdict {
    Accept,
    Drop,
}

impl ArpMatch {
    /// Whether `f`, met at `hook` on the port named `port`, meets every criterion.
    pub fn matches(&self, f: &ArpFields, hook: ArpHook, port: &str) -> bool {
        let net = |m: &Option<(crate::ruleset::Ipv4Net, bool)>, a: Ipv4Addr| {
            m.as_ref().is_none_or(|(n, inv)| n.contains(a) != *inv)
        };
        let iface = |m: &Option<(crate::ruleset::Iface, bool)>, here: bool| {
            // An interface the frame does not have (`-o` on input) matches nothing, as
            // the kernel's empty name matches no pattern.
            m.as_ref()
                .is_none_or(|(i, inv)| (here && i.matches(port)) != *inv)
        };
        net(&self.src_ip, f.sip)
            && net(&self.dst_ip, f.tip)
            && self.src_mac.is_none_or(|m| m.matches(f.sha))
            && self.dst_mac.is_none_or(|m| m.matches(f.tha))
            && iface(&self.in_iface, hook == ArpHook::Input)
            && iface(&self.out_iface, hook == ArpHook::Output)
            && self.opcode.is_none_or(|m| m.matches(f.op))
            && self.htype.is_none_or(|m| m.matches(f.htype))
            && self.ptype.is_none_or(|m| m.matches(f.ptype))
    }
}

impl ArpTable {
    /// The index under which the workers count rule `rule` of chain `chain`.
    fn rule_index(&self, chain: usize, rule: usize) -> usize {
        self.chains[..chain]
            .iter()
            .map(|c| c.rules.len())
            .sum::<usize>()
            + rule
    }

    /// Runs `f` through `hook`'s chain on the port named `port`; `hit` is called with the
    /// index (`rule_index`) of every rule that matched, for its counters. `mangle` rules
    /// rewrite `f` in place. Without allocating: jumps use a fixed stack, which a
    /// validated table never overflows (an overflow drops, as nf_tables would).
    pub fn evaluate(
        &self,
        hook: ArpHook,
        port: &str,
        f: &mut ArpFields,
        mut hit: impl FnMut(usize),
    ) -> ArpVerdict {
        let Some(start) = self.chain_index(hook.chain()) else {
            return ArpVerdict::Accept;
        };
        let policy = match self.chains[start].policy {
            Some(false) => ArpVerdict::Drop,
            _ => ArpVerdict::Accept,
        };
        let mut stack = [(0usize, 0usize); MAX_JUMP_DEPTH];
        let mut depth = 0;
        let (mut ci, mut ri) = (start, 0);
        loop {
            let Some(rule) = self.chains[ci].rules.get(ri) else {
                if depth == 0 {
                    return policy;
                }
                depth -= 1;
                (ci, ri) = stack[depth];
                continue;
            };
            ri += 1;
            if !rule.spec.matches(f, hook, port) {
                continue;
            }
            hit(self.rule_index(ci, ri - 1));
            match &rule.target {
                None | Some(ArpTarget::Classify { .. }) => {}
                Some(ArpTarget::Accept) => return ArpVerdict::Accept,
                Some(ArpTarget::Drop) => return ArpVerdict::Drop,
                Some(ArpTarget::Return) => {
                    if depth == 0 {
                        return policy;
                    }
                    depth -= 1;
                    (ci, ri) = stack[depth];
                }
                Some(ArpTarget::Jump(name)) => {
                    let Some(to) = self.chain_index(name) else {
                        return ArpVerdict::Drop;
                    };
                    if depth == MAX_JUMP_DEPTH {
                        return ArpVerdict::Drop;
                    }
                    stack[depth] = (ci, ri);
                    depth += 1;
                    (ci, ri) = (to, 0);
                }
                Some(ArpTarget::Mangle(m)) => {
                    if let Some(a) = m.src_ip {
                        f.sip = a;
                    }
                    if let Some(a) = m.dst_ip {
                        f.tip = a;
                    }
                    if let Some(a) = m.src_mac {
                        f.sha = a.0;
                    }
                    if let Some(a) = m.dst_mac {
                        f.tha = a.0;
                    }
                    match m.verdict {
                        MangleVerdict::Accept => return ArpVerdict::Accept,
                        MangleVerdict::Drop => return ArpVerdict::Drop,
                        MangleVerdict::Continue => {}
                    }
                }
            }
        }
    }
}
