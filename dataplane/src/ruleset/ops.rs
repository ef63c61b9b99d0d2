//! Edits of the model, the semantics of iptables' commands (-A -I -D -R -F -Z -N -X -P -E
//! -C). Every edit works on a copy of the table and is validated before it replaces the
//! original: a refused command leaves the ruleset untouched.

use super::validate::{validate_table, ValidationError};
use super::{Chain, Counters, Policy, Rule, RuleSpec, Ruleset, Table, TableKind};
use std::fmt;

/// XT_EXTENSION_MAXNAMELEN - 1: the longest chain name the kernel keeps.
pub const CHAIN_NAME_MAX: usize = 28;

/// Names that can never be user chains: verdicts and targets.
const RESERVED: [&str; 20] = [
    "ACCEPT",
    "DROP",
    "RETURN",
    "QUEUE",
    "REJECT",
    "LOG",
    "MARK",
    "CONNMARK",
    "TTL",
    "TOS",
    "DSCP",
    "TCPMSS",
    "SNAT",
    "DNAT",
    "MASQUERADE",
    "REDIRECT",
    "NOTRACK",
    "CT",
    "TRACE",
    "NFQUEUE",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RulesetError {
    NoSuchChain(String),
    ChainExists(String),
    InvalidChainName(String),
    /// Deleting or renaming a built-in chain.
    BuiltinChain(String),
    /// `-X` of a chain that rules still jump to.
    ChainReferenced(String, usize),
    /// `-X` of a chain that still has rules.
    ChainNotEmpty(String),
    /// `-P` on a user chain.
    PolicyOnUserChain(String),
    /// `-D N`, `-R N`, `-I N` past the end of the chain.
    BadRuleNumber(String, usize),
    /// `-D` / `-C` with a rule the chain does not hold.
    NoMatchingRule(String),
    Invalid(ValidationError),
}

impl fmt::Display for RulesetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RulesetError::*;
        match self {
            NoSuchChain(c) => write!(f, "chain `{c}' does not exist"),
            ChainExists(c) => write!(f, "chain `{c}' already exists"),
            InvalidChainName(c) => write!(f, "invalid chain name `{c}'"),
            BuiltinChain(c) => write!(f, "cannot delete or rename built-in chain `{c}'"),
            ChainReferenced(c, n) => write!(
                f,
                "cannot delete chain `{c}': it is referenced by {n} rule{}",
                if *n == 1 { "" } else { "s" }
            ),
            ChainNotEmpty(c) => write!(f, "cannot delete chain `{c}': chain is not empty"),
            PolicyOnUserChain(c) => write!(f, "cannot set a policy on user chain `{c}'"),
            BadRuleNumber(c, n) => write!(f, "index of rule {n} in chain `{c}' is too big"),
            NoMatchingRule(c) => {
                write!(f, "bad rule (does a matching rule exist in chain `{c}'?)")
            }
            Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RulesetError {}

impl From<ValidationError> for RulesetError {
    fn from(e: ValidationError) -> Self {
        RulesetError::Invalid(e)
    }
}

/// Checks a name for `-N` / `-E`.
pub fn check_chain_name(name: &str) -> Result<(), RulesetError> {
    let bad = name.is_empty()
        || name.len() > CHAIN_NAME_MAX
        || name.starts_with('-')
        || name.starts_with('!')
        || name
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        || RESERVED.contains(&name)
        || super::Hook::from_chain_name(name).is_some();
    if bad {
        Err(RulesetError::InvalidChainName(name.to_string()))
    } else {
        Ok(())
    }
}

impl Table {
    fn chain_or_err(&mut self, name: &str) -> Result<&mut Chain, RulesetError> {
        self.chain_mut(name)
            .ok_or_else(|| RulesetError::NoSuchChain(name.to_string()))
    }

    /// The chains a command without a chain name applies to, or just the named one.
    fn chains_named(&mut self, name: Option<&str>) -> Result<Vec<&mut Chain>, RulesetError> {
        match name {
            Some(n) => Ok(vec![self.chain_or_err(n)?]),
            None => Ok(self.chains.iter_mut().collect()),
        }
    }

    /// Inserts a user chain keeping user chains sorted by name after the built-ins.
    pub fn new_chain(&mut self, name: &str) -> Result<(), RulesetError> {
        check_chain_name(name)?;
        if self.chain(name).is_some() {
            return Err(RulesetError::ChainExists(name.to_string()));
        }
        let pos = self
            .chains
            .iter()
            .position(|c| !c.is_builtin() && c.name.as_str() > name)
            .unwrap_or(self.chains.len());
        self.chains.insert(pos, Chain::user(name));
        Ok(())
    }

    pub fn append(&mut self, chain: &str, spec: RuleSpec) -> Result<(), RulesetError> {
        self.chain_or_err(chain)?.rules.push(Rule::new(spec));
        Ok(())
    }

    /// `-I chain [num]`: 1 is the head; one past the end appends.
    pub fn insert(&mut self, chain: &str, num: usize, spec: RuleSpec) -> Result<(), RulesetError> {
        let c = self.chain_or_err(chain)?;
        if num == 0 || num > c.rules.len() + 1 {
            return Err(RulesetError::BadRuleNumber(chain.to_string(), num));
        }
        c.rules.insert(num - 1, Rule::new(spec));
        Ok(())
    }

    pub fn replace(&mut self, chain: &str, num: usize, spec: RuleSpec) -> Result<(), RulesetError> {
        let c = self.chain_or_err(chain)?;
        match c.rules.get_mut(num.wrapping_sub(1)) {
            Some(r) => {
                *r = Rule::new(spec);
                Ok(())
            }
            None => Err(RulesetError::BadRuleNumber(chain.to_string(), num)),
        }
    }

    pub fn delete_num(&mut self, chain: &str, num: usize) -> Result<(), RulesetError> {
        let c = self.chain_or_err(chain)?;
        if num == 0 || num > c.rules.len() {
            return Err(RulesetError::BadRuleNumber(chain.to_string(), num));
        }
        c.rules.remove(num - 1);
        Ok(())
    }

    /// `-D chain rule`: deletes the first rule equal to the spec.
    pub fn delete_spec(&mut self, chain: &str, spec: &RuleSpec) -> Result<(), RulesetError> {
        let c = self.chain_or_err(chain)?;
        match c.rules.iter().position(|r| &r.spec == spec) {
            Some(i) => {
                c.rules.remove(i);
                Ok(())
            }
            None => Err(RulesetError::NoMatchingRule(chain.to_string())),
        }
    }

    /// `-C chain rule`.
    pub fn check(&self, chain: &str, spec: &RuleSpec) -> Result<bool, RulesetError> {
        let c = self
            .chain(chain)
            .ok_or_else(|| RulesetError::NoSuchChain(chain.to_string()))?;
        Ok(c.rules.iter().any(|r| &r.spec == spec))
    }

    pub fn flush(&mut self, chain: Option<&str>) -> Result<(), RulesetError> {
        for c in self.chains_named(chain)? {
            c.rules.clear();
        }
        Ok(())
    }

    pub fn zero(&mut self, chain: Option<&str>) -> Result<(), RulesetError> {
        for c in self.chains_named(chain)? {
            c.counters = Counters::default();
            for r in &mut c.rules {
                r.counters = Counters::default();
            }
        }
        Ok(())
    }

    /// `-X [chain]`: without a name, every user chain (each must be empty and referenced
    /// only from chains deleted with it).
    pub fn delete_chain(&mut self, chain: Option<&str>) -> Result<(), RulesetError> {
        let victims: Vec<String> = match chain {
            Some(name) => {
                let c = self
                    .chain(name)
                    .ok_or_else(|| RulesetError::NoSuchChain(name.to_string()))?;
                if c.is_builtin() {
                    return Err(RulesetError::BuiltinChain(name.to_string()));
                }
                vec![name.to_string()]
            }
            None => self
                .chains
                .iter()
                .filter(|c| !c.is_builtin())
                .map(|c| c.name.clone())
                .collect(),
        };
        for name in &victims {
            // Rules in chains deleted along with this one do not keep it alive.
            let refs = self
                .chains
                .iter()
                .filter(|c| !victims.contains(&c.name))
                .flat_map(|c| c.rules.iter())
                .filter(|r| r.spec.target.chain_ref() == Some(name.as_str()))
                .count();
            if refs > 0 {
                return Err(RulesetError::ChainReferenced(name.clone(), refs));
            }
            if self.chain(name).is_some_and(|c| !c.rules.is_empty()) {
                return Err(RulesetError::ChainNotEmpty(name.clone()));
            }
        }
        self.chains.retain(|c| !victims.contains(&c.name));
        Ok(())
    }

    pub fn set_policy(&mut self, chain: &str, policy: Policy) -> Result<(), RulesetError> {
        let c = self.chain_or_err(chain)?;
        if !c.is_builtin() {
            return Err(RulesetError::PolicyOnUserChain(chain.to_string()));
        }
        c.policy = Some(policy);
        Ok(())
    }

    /// `-E old new`: renames a user chain; the rules that jump to it follow.
    pub fn rename_chain(&mut self, old: &str, new: &str) -> Result<(), RulesetError> {
        let c = self
            .chain(old)
            .ok_or_else(|| RulesetError::NoSuchChain(old.to_string()))?;
        if c.is_builtin() {
            return Err(RulesetError::BuiltinChain(old.to_string()));
        }
        check_chain_name(new)?;
        if self.chain(new).is_some() {
            return Err(RulesetError::ChainExists(new.to_string()));
        }
        let mut chain = self.chains.remove(self.chain_index(old).unwrap_or(0));
        chain.name = new.to_string();
        for r in self.chains.iter_mut().flat_map(|c| c.rules.iter_mut()) {
            match &mut r.spec.target {
                super::Target::Jump(t) | super::Target::Goto(t) if t == old => *t = new.into(),
                _ => {}
            }
        }
        let pos = self
            .chains
            .iter()
            .position(|c| !c.is_builtin() && c.name.as_str() > new)
            .unwrap_or(self.chains.len());
        self.chains.insert(pos, chain);
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_table(self)
    }
}

impl Ruleset {
    /// Runs one edit on a copy of a table, validates the result and only then installs
    /// it: a failed command changes nothing.
    pub fn edit<R>(
        &mut self,
        kind: TableKind,
        f: impl FnOnce(&mut Table) -> Result<R, RulesetError>,
    ) -> Result<R, RulesetError> {
        let mut table = self
            .table(kind)
            .cloned()
            .unwrap_or_else(|| Table::new(kind));
        let out = f(&mut table)?;
        table.validate()?;
        self.replace_table(table);
        Ok(out)
    }
}
