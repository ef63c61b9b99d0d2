//! arptables: the ARP family's filter table, as arptables 1.8.9 (nf_tables) and the kernel
//! run it. INPUT sees every ARP frame a port receives for the appliance (before it is
//! answered or learned from), OUTPUT every ARP frame the appliance sends (answers,
//! resolution requests, announcements). There is no FORWARD: nfdp routes and does not
//! bridge ARP, and arptables-nft refuses that chain too.
//!
//! This is the model the control plane edits (the text form is `control::arptables`) and
//! the one the workers evaluate: ARP is a slow path (one frame per neighbour per minute or
//! so), so rules are walked as they are, with chains found by name and no allocation.

mod eval;

pub use eval::{ArpFields, ArpVerdict};

use crate::port::MacAddr;
use crate::ruleset::{Iface, Ipv4Net};
use std::fmt;
use std::net::Ipv4Addr;

/// The built-in chains, in the order arptables-save prints them.
pub const BUILTIN: [&str; 2] = ["INPUT", "OUTPUT"];

/// The longest chain of jumps a packet may take, as nf_tables' jump stack
/// (`NFT_JUMP_STACK_SIZE`): deeper rulesets are refused when they are loaded.
pub const MAX_JUMP_DEPTH: usize = 16;

/// Where a frame meets the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpHook {
    /// Received on a port (`-i` is that port).
    Input,
    /// Sent by the appliance (`-o` is the port it leaves by).
    Output,
}

impl ArpHook {
    pub fn chain(self) -> &'static str {
        match self {
            ArpHook::Input => "INPUT",
            ArpHook::Output => "OUTPUT",
        }
    }
}

/// A 16-bit header field compared whole (`--opcode`, `--h-type`, `--proto-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldMatch {
    pub value: u16,
    pub inv: bool,
}

impl FieldMatch {
    fn matches(self, v: u16) -> bool {
        (v == self.value) != self.inv
    }
}

/// `--src-mac` / `--dst-mac`: an address under a mask, maybe negated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MacMatch {
    pub addr: MacAddr,
    pub mask: MacAddr,
    pub inv: bool,
}

impl MacMatch {
    fn matches(&self, mac: [u8; 6]) -> bool {
        let eq = (0..6).all(|i| mac[i] & self.mask.0[i] == self.addr.0[i] & self.mask.0[i]);
        eq != self.inv
    }
}

/// The criteria of a rule; `None` is "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArpMatch {
    /// `-s`: the sender protocol address.
    pub src_ip: Option<(Ipv4Net, bool)>,
    /// `-d`: the target protocol address.
    pub dst_ip: Option<(Ipv4Net, bool)>,
    /// `--src-mac`: the sender hardware address.
    pub src_mac: Option<MacMatch>,
    /// `--dst-mac`: the target hardware address.
    pub dst_mac: Option<MacMatch>,
    pub in_iface: Option<(Iface, bool)>,
    pub out_iface: Option<(Iface, bool)>,
    pub opcode: Option<FieldMatch>,
    /// `--h-type` other than Ethernet's 1 (which every frame here has; arptables-nft
    /// leaves it out of the rule).
    pub htype: Option<FieldMatch>,
    pub ptype: Option<FieldMatch>,
}

/// What `-j mangle` does once it has rewritten the frame (`--mangle-target`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MangleVerdict {
    #[default]
    Accept,
    Drop,
    Continue,
}

/// `-j mangle`: rewrites the ARP message's addresses (not the Ethernet header's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArpMangle {
    pub src_ip: Option<Ipv4Addr>,
    pub dst_ip: Option<Ipv4Addr>,
    pub src_mac: Option<MacAddr>,
    pub dst_mac: Option<MacAddr>,
    pub verdict: MangleVerdict,
}

impl ArpMangle {
    /// arpt_mangle with nothing to rewrite is refused by the kernel (`-EINVAL`).
    pub fn is_empty(&self) -> bool {
        self.src_ip.is_none()
            && self.dst_ip.is_none()
            && self.src_mac.is_none()
            && self.dst_mac.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArpTarget {
    Accept,
    Drop,
    Return,
    /// A user chain, by name.
    Jump(String),
    Mangle(ArpMangle),
    /// `-j CLASSIFY --set-class MAJOR:MINOR` (OUTPUT only, as the kernel allows it): sets
    /// the frame's priority for a qdisc. nfdp has no qdiscs, so it changes nothing and the
    /// frame goes on, as CLASSIFY itself does.
    Classify {
        major: u16,
        minor: u16,
    },
}

impl ArpTarget {
    pub fn name(&self) -> &str {
        match self {
            ArpTarget::Accept => "ACCEPT",
            ArpTarget::Drop => "DROP",
            ArpTarget::Return => "RETURN",
            ArpTarget::Jump(c) => c,
            ArpTarget::Mangle(_) => "mangle",
            ArpTarget::Classify { .. } => "CLASSIFY",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArpRule {
    pub spec: ArpMatch,
    /// `None`: a rule that only counts.
    pub target: Option<ArpTarget>,
    /// The counters given with `-c` or a restore's `[p:b]` (the live ones are the
    /// workers'; `Pipeline::arp_counters`).
    pub packets: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArpChain {
    pub name: String,
    /// `Some(accept?)` for INPUT and OUTPUT, `None` for a user chain.
    pub policy: Option<bool>,
    pub rules: Vec<ArpRule>,
}

/// The filter table of the ARP family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArpTable {
    /// INPUT and OUTPUT first, then the user chains in the order they were created.
    pub chains: Vec<ArpChain>,
    /// Bumped by `arptables -Z`: the workers start their counters again from zero when it
    /// changes (otherwise they keep the counts of rules that are still there).
    pub epoch: u64,
}

impl Default for ArpTable {
    fn default() -> Self {
        ArpTable {
            chains: BUILTIN
                .iter()
                .map(|n| ArpChain {
                    name: n.to_string(),
                    policy: Some(true),
                    rules: Vec::new(),
                })
                .collect(),
            epoch: 0,
        }
    }
}

/// Why a table cannot be installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArpTableError {
    /// `-j NAME` where no chain NAME exists.
    NoChain { chain: String, target: String },
    /// A chain reaches itself through jumps.
    Loop { chain: String },
    /// More than `MAX_JUMP_DEPTH` nested jumps.
    TooDeep { chain: String },
    /// `-i` where no frame arrives, `-o` where none leaves, CLASSIFY outside OUTPUT.
    WrongHook { chain: String, what: &'static str },
}

impl fmt::Display for ArpTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArpTableError::NoChain { chain, target } => {
                write!(f, "chain {chain} jumps to `{target}', which does not exist")
            }
            ArpTableError::Loop { chain } => write!(f, "chain {chain} jumps back to itself"),
            ArpTableError::TooDeep { chain } => write!(
                f,
                "chain {chain} starts more than {MAX_JUMP_DEPTH} nested jumps"
            ),
            ArpTableError::WrongHook { chain, what } => {
                write!(f, "chain {chain}: {what}")
            }
        }
    }
}

impl std::error::Error for ArpTableError {}

impl ArpTable {
    pub fn chain(&self, name: &str) -> Option<&ArpChain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn chain_mut(&mut self, name: &str) -> Option<&mut ArpChain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }

    pub fn chain_index(&self, name: &str) -> Option<usize> {
        self.chains.iter().position(|c| c.name == name)
    }

    /// How many rules jump to `name`.
    pub fn references(&self, name: &str) -> usize {
        self.chains
            .iter()
            .flat_map(|c| &c.rules)
            .filter(|r| matches!(&r.target, Some(ArpTarget::Jump(j)) if j == name))
            .count()
    }

    /// Whether no chain has a rule and both policies accept (what a fresh table is): no
    /// frame need be looked at.
    pub fn is_empty(&self) -> bool {
        self.epoch == 0
            && self.chains.len() == BUILTIN.len()
            && self
                .chains
                .iter()
                .all(|c| c.rules.is_empty() && c.policy == Some(true))
    }

    /// For each rule of `self` (in `rule_index` order), the index of the same rule (same
    /// chain, criteria and target) in `old`, so that its counters carry over an edit as
    /// the kernel's do; none after `-Z` (a new epoch).
    pub fn carried_from(&self, old: &ArpTable) -> Vec<Option<usize>> {
        let mut out = Vec::with_capacity(self.rule_count());
        let mut base = 0;
        let mut old_base = Vec::with_capacity(old.chains.len());
        for c in &old.chains {
            old_base.push(base);
            base += c.rules.len();
        }
        for c in &self.chains {
            let before = old.chain_index(&c.name).filter(|_| old.epoch == self.epoch);
            let mut taken = vec![false; before.map_or(0, |i| old.chains[i].rules.len())];
            for r in &c.rules {
                let found = before.and_then(|i| {
                    let j =
                        old.chains[i].rules.iter().enumerate().position(|(j, o)| {
                            !taken[j] && o.spec == r.spec && o.target == r.target
                        })?;
                    taken[j] = true;
                    Some(old_base[i] + j)
                });
                out.push(found);
            }
        }
        out
    }

    /// Every rule, in chain order: the index the workers count each rule under.
    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }

    /// The checks the kernel makes when the table is loaded: every jump lands on a chain,
    /// no chain reaches itself, jumps nest at most `MAX_JUMP_DEPTH` deep, and the hook
    /// restrictions hold for every chain a built-in one reaches.
    pub fn validate(&self) -> Result<(), ArpTableError> {
        for c in &self.chains {
            for r in &c.rules {
                if let Some(ArpTarget::Jump(j)) = &r.target {
                    if self.chain(j).is_none_or(|t| t.policy.is_some()) {
                        return Err(ArpTableError::NoChain {
                            chain: c.name.clone(),
                            target: j.clone(),
                        });
                    }
                }
            }
        }
        for (i, c) in self.chains.iter().enumerate() {
            let mut path = Vec::new();
            self.walk(i, &mut path)?;
            if let Some(hook) = match c.policy {
                Some(_) if c.name == "INPUT" => Some(ArpHook::Input),
                Some(_) => Some(ArpHook::Output),
                None => None,
            } {
                self.check_hook(i, hook, 0)?;
            }
        }
        Ok(())
    }

    fn walk(&self, i: usize, path: &mut Vec<usize>) -> Result<(), ArpTableError> {
        let name = &self.chains[i].name;
        if path.contains(&i) {
            return Err(ArpTableError::Loop {
                chain: name.clone(),
            });
        }
        if path.len() > MAX_JUMP_DEPTH {
            return Err(ArpTableError::TooDeep {
                chain: self.chains[path[0]].name.clone(),
            });
        }
        path.push(i);
        for r in &self.chains[i].rules {
            if let Some(ArpTarget::Jump(j)) = &r.target {
                if let Some(t) = self.chain_index(j) {
                    self.walk(t, path)?;
                }
            }
        }
        path.pop();
        Ok(())
    }

    fn check_hook(&self, i: usize, hook: ArpHook, depth: usize) -> Result<(), ArpTableError> {
        let c = &self.chains[i];
        for r in &c.rules {
            let what = match hook {
                ArpHook::Input if r.spec.out_iface.is_some() => Some("can't use -o with INPUT"),
                ArpHook::Output if r.spec.in_iface.is_some() => Some("can't use -i with OUTPUT"),
                ArpHook::Input if matches!(r.target, Some(ArpTarget::Classify { .. })) => {
                    Some("CLASSIFY is only valid in OUTPUT")
                }
                _ => None,
            };
            if let Some(what) = what {
                return Err(ArpTableError::WrongHook {
                    chain: c.name.clone(),
                    what,
                });
            }
            if let Some(ArpTarget::Jump(j)) = &r.target {
                if let Some(t) = self.chain_index(j) {
                    if depth < MAX_JUMP_DEPTH {
                        self.check_hook(t, hook, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
