//! One iptables command line (`-t nat -A POSTROUTING -o wan0 -j MASQUERADE`) parsed into
//! a [`Command`]: the command, its chain and arguments, and the rule specifications it
//! carries (a comma list in `-s`/`-d` makes one rule per address pair, as iptables does).

use super::ext::{self, Args, Ctx};
use super::names;
use dataplane::ruleset::{
    Counters, Family, Iface, Inv, Ipv4Net, Ipv6Net, Match, Policy, RuleSpec, TableKind, Target,
};

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Append {
        chain: String,
        rules: Vec<RuleSpec>,
    },
    Insert {
        chain: String,
        num: usize,
        rules: Vec<RuleSpec>,
    },
    DeleteNum {
        chain: String,
        num: usize,
    },
    Delete {
        chain: String,
        rules: Vec<RuleSpec>,
    },
    Replace {
        chain: String,
        num: usize,
        rule: RuleSpec,
    },
    Check {
        chain: String,
        rules: Vec<RuleSpec>,
    },
    Flush {
        chain: Option<String>,
    },
    /// `-Z [chain [rulenum]]`.
    Zero {
        chain: Option<String>,
        rule: Option<usize>,
    },
    NewChain {
        chain: String,
    },
    DeleteChain {
        chain: Option<String>,
    },
    Policy {
        chain: String,
        policy: Policy,
    },
    Rename {
        old: String,
        new: String,
    },
    /// `-L [chain [rulenum]]`.
    List {
        chain: Option<String>,
        rule: Option<usize>,
    },
    /// `-S [chain [rulenum]]`.
    ListRules {
        chain: Option<String>,
        rule: Option<usize>,
    },
}

impl Command {
    /// The rules this command adds to a chain (`-A`, `-I`, `-R`).
    pub fn added_rules(&self) -> &[RuleSpec] {
        match self {
            Command::Append { rules, .. } | Command::Insert { rules, .. } => rules,
            Command::Replace { rule, .. } => std::slice::from_ref(rule),
            _ => &[],
        }
    }

    /// For an ip6tables command that will run on packets: refused when a rule it adds is
    /// one the IPv6 packet path cannot run yet (`ipv6_path_refusal`, and the matches nfdp
    /// reads for ip6tables but evaluates on IPv4 fields only).
    pub fn check_ipv6_path(&self) -> Result<(), String> {
        let text_only = |spec: &RuleSpec| {
            spec.matches
                .iter()
                .find(|m| matches!(m, dataplane::ruleset::Match::Iprange(_)))
                .map(|m| {
                    format!(
                        "-m {}: IPv6 ranges are not in nfdp's packet path yet",
                        m.name()
                    )
                })
        };
        match self.added_rules().iter().find_map(|spec| {
            dataplane::pipeline::forward6::ipv6_path_refusal(spec).or_else(|| text_only(spec))
        }) {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

/// Display flags of `-L`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    pub numeric: bool,
    pub verbose: bool,
    pub exact: bool,
    pub line_numbers: bool,
}

impl Command {
    /// The rules the command carries (none for chain and listing commands).
    pub fn rules_mut(&mut self) -> &mut [RuleSpec] {
        match self {
            Command::Append { rules, .. }
            | Command::Insert { rules, .. }
            | Command::Delete { rules, .. }
            | Command::Check { rules, .. } => rules,
            Command::Replace { rule, .. } => std::slice::from_mut(rule),
            _ => &mut [],
        }
    }

    /// Looks up the sets that `-m set` and `-j SET` name (iptables asks the kernel while it parses):
    /// `Set NAME doesn't exist.` when one is missing, a refusal when one is of the other
    /// family than the rule's.
    pub fn resolve_sets(
        &mut self,
        sets: &dataplane::ipset::SetTable,
        family: Family,
    ) -> Result<(), String> {
        for rule in self.rules_mut() {
            for m in &mut rule.matches {
                if let dataplane::ruleset::Match::Set(s) = m {
                    ext::set::resolve(s, sets, family)?;
                }
            }
            if let dataplane::ruleset::Target::Set(t) = &mut rule.target {
                ext::t_set::resolve(t, sets, family)?;
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParsedCommand {
    pub table: TableKind,
    pub command: Command,
    pub list: ListOptions,
    /// `-c packets bytes` (or the `[p:b]` prefix of a restore line).
    pub counters: Option<Counters>,
}

/// Where the command line comes from: iptables-restore refuses `-t` and some commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    CommandLine,
    Restore,
}

/// Splits `-nvL` into `-n -v -L`, as getopt does with bundled short flags.
fn unbundle(words: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        let b = w.as_bytes();
        if b.len() > 2
            && b[0] == b'-'
            && b[1] != b'-'
            && w[1..].chars().all(|c| "nvxLSFZX".contains(c))
        {
            out.extend(w[1..].chars().map(|c| format!("-{c}")));
        } else {
            out.push(w);
        }
    }
    out
}

/// An extension loaded into the rule, with the options it has consumed.
struct Loaded {
    m: Match,
    seen: Vec<&'static str>,
}

/// `-s`/`-d`: a comma list of networks, possibly negated (IPv4 ones in iptables, IPv6
/// ones in ip6tables).
#[derive(Default)]
struct AddrList {
    nets: Vec<Ipv4Net>,
    nets6: Vec<Ipv6Net>,
    inv: bool,
    given: bool,
}

/// One rule's address criteria: IPv4 and IPv6 (at most one of them is set).
type AddrCriterion = (Option<Inv<Ipv4Net>>, Option<Inv<Ipv6Net>>);

impl AddrList {
    fn parse(s: &str, inv: bool, family: Family) -> Result<AddrList, String> {
        let mut list = AddrList {
            inv,
            given: true,
            ..Default::default()
        };
        match family {
            Family::V4 => list.nets = s.split(',').map(ext::parse_net).collect::<Result<_, _>>()?,
            Family::V6 => {
                list.nets6 = s
                    .split(',')
                    .map(ext::parse_net6)
                    .collect::<Result<_, _>>()?
            }
        }
        if inv && list.nets.len() + list.nets6.len() > 1 {
            return Err("! not allowed with multiple source or destination IP addresses".into());
        }
        // `0.0.0.0/0` (`::/0`) matches everything: iptables drops the criterion.
        if !inv && list.nets.len() == 1 && list.nets[0].mask == 0 {
            list.nets.clear();
        }
        if !inv && list.nets6.len() == 1 && list.nets6[0].mask == 0 {
            list.nets6.clear();
        }
        Ok(list)
    }

    /// One entry per address (`(None, None)`: no criterion), for the per-address rule
    /// expansion. A `/0` in a list matches everything too: that rule has no criterion.
    fn criteria(&self) -> Vec<AddrCriterion> {
        if !self.nets.is_empty() {
            self.nets
                .iter()
                .map(|n| {
                    (
                        (self.inv || n.mask != 0).then(|| Inv::new(self.inv, *n)),
                        None,
                    )
                })
                .collect()
        } else if !self.nets6.is_empty() {
            self.nets6
                .iter()
                .map(|n| {
                    (
                        None,
                        (self.inv || n.mask != 0).then(|| Inv::new(self.inv, *n)),
                    )
                })
                .collect()
        } else {
            vec![(None, None)]
        }
    }
}

#[derive(Default)]
struct RuleBuilder {
    family: Family,
    srcs: AddrList,
    dsts: AddrList,
    in_iface: Option<Inv<Iface>>,
    out_iface: Option<Inv<Iface>>,
    proto: Option<Inv<u8>>,
    /// `-p` as written: ip6tables loads the implicit match by this name (a number by its
    /// system name), so `-p mh --mh-type` loads mh and `-p 135 --mh-type` does not.
    proto_word: String,
    fragment: Option<bool>,
    matches: Vec<Loaded>,
    target: Option<(Target, Vec<&'static str>)>,
    /// Set once `-j`/`-g` was given; extension options are then tried on the target
    /// first (it is the newest extension).
    target_is_newest: bool,
    touched: bool,
}

fn is_command_word(w: &str) -> bool {
    matches!(
        w,
        "-A" | "--append"
            | "-I"
            | "--insert"
            | "-D"
            | "--delete"
            | "-R"
            | "--replace"
            | "-C"
            | "--check"
            | "-F"
            | "--flush"
            | "-Z"
            | "--zero"
            | "-N"
            | "--new-chain"
            | "--new"
            | "-X"
            | "--delete-chain"
            | "-P"
            | "--policy"
            | "-E"
            | "--rename-chain"
            | "-L"
            | "--list"
            | "-S"
            | "--list-rules"
    )
}

fn rule_number(s: &str) -> Option<usize> {
    s.parse::<usize>().ok().filter(|n| *n > 0)
}

impl RuleBuilder {
    fn ctx(&self) -> Ctx {
        Ctx {
            proto: self.proto.filter(|p| !p.inv).map(|p| p.val),
            family: self.family,
        }
    }

    /// Offers `--opt` to the loaded extensions, newest first; loads the protocol's
    /// match implicitly (`-p tcp --dport 22`) when nothing claims it.
    fn extension_option(&mut self, word: &str, inv: bool, args: &mut Args) -> Result<(), String> {
        let ctx = self.ctx();
        if self.target_is_newest {
            if let Some((t, seen)) = &mut self.target {
                if let Some(o) = ext::resolve_option(ext::target_options(t), word) {
                    if seen.contains(&o) {
                        return Err(ext::repeated_target_option(t, o));
                    }
                    seen.push(o);
                    return ext::parse_target_option(t, o, inv, args);
                }
            }
        }
        for l in self.matches.iter_mut().rev() {
            if let Some(o) = ext::resolve_option(ext::match_options(&l.m), word) {
                if l.seen.contains(&o) {
                    return Err(ext::repeated_match_option(&l.m, o));
                }
                l.seen.push(o);
                return ext::parse_match_option(&mut l.m, o, inv, args, &ctx);
            }
        }
        if let Some((t, seen)) = &mut self.target {
            if let Some(o) = ext::resolve_option(ext::target_options(t), word) {
                if seen.contains(&o) {
                    return Err(ext::repeated_target_option(t, o));
                }
                seen.push(o);
                return ext::parse_target_option(t, o, inv, args);
            }
        }
        // The implicit protocol match (ip6tables' for ipv6-icmp is icmp6).
        if let Some(p) = self.proto {
            let name = match self.family {
                Family::V4 => names::proto_name(p.val),
                Family::V6 => {
                    let name = if self.proto_word.parse::<u16>().is_ok() {
                        names::proto_name(p.val)
                    } else {
                        self.proto_word.to_ascii_lowercase()
                    };
                    // libxtables' one alias: the ICMPv6 protocol's names load icmp6.
                    match name.as_str() {
                        "icmpv6" | "ipv6-icmp" => "icmp6".into(),
                        _ => name,
                    }
                }
            };
            let already = self.matches.iter().any(|l| l.m.name() == name);
            if let (false, Some(mut m)) = (already, ext::new_match_in(&name, self.family)) {
                ext::match_for_family(&mut m, self.family);
                if ext::resolve_option(ext::match_options(&m), word).is_some() {
                    // ip6tables loads it and leaves the refusal to the kernel.
                    if p.inv && self.family == Family::V4 {
                        return Err("rule would never match protocol".into());
                    }
                    self.matches.push(Loaded {
                        m,
                        seen: Vec::new(),
                    });
                    self.target_is_newest = false;
                    return self.extension_option(word, inv, args);
                }
            }
        }
        Err(format!("unknown option \"{word}\""))
    }

    fn finish(self) -> Result<Vec<RuleSpec>, String> {
        let mut matches = Vec::with_capacity(self.matches.len());
        for mut l in self.matches {
            if ext::finish_match(&mut l.m, &l.seen)? {
                matches.push(l.m);
            }
        }
        let target = match self.target {
            Some((mut t, seen)) => {
                ext::finish_target(&mut t, &seen)?;
                t
            }
            None => Target::None,
        };
        let srcs = self.srcs.criteria();
        let dsts = self.dsts.criteria();
        let mut rules = Vec::with_capacity(srcs.len() * dsts.len());
        for (s, s6) in &srcs {
            for (d, d6) in &dsts {
                let mut spec = RuleSpec {
                    src: *s,
                    dst: *d,
                    in_iface: self.in_iface.clone(),
                    out_iface: self.out_iface.clone(),
                    proto: self.proto,
                    fragment: self.fragment,
                    matches: matches.clone(),
                    target: target.clone(),
                    ..Default::default()
                };
                spec.set_addrs6(*s6, *d6);
                rules.push(spec);
            }
        }
        Ok(rules)
    }
}

/// Parses one iptables command line (already split into words).
pub fn parse_command(words: Vec<String>, source: Source) -> Result<ParsedCommand, String> {
    parse_command_in(words, source, Family::V4)
}

/// Parses one command line of `family`'s language (iptables or ip6tables).
pub fn parse_command_in(
    words: Vec<String>,
    source: Source,
    family: Family,
) -> Result<ParsedCommand, String> {
    let mut args = Args::new(unbundle(words));
    let mut table: Option<TableKind> = None;
    let mut command: Option<(String, Vec<String>)> = None;
    let mut list = ListOptions::default();
    let mut counters = None;
    let mut rule = RuleBuilder {
        family,
        ..Default::default()
    };
    let mut inv = false;

    while let Some(word) = args.take_word() {
        if word == "!" {
            if inv {
                return Err("multiple consecutive ! not allowed".into());
            }
            inv = true;
            continue;
        }
        let negatable = matches!(
            word.as_str(),
            "-s" | "--source"
                | "--src"
                | "-d"
                | "--destination"
                | "--dst"
                | "-i"
                | "--in-interface"
                | "-o"
                | "--out-interface"
                | "-p"
                | "--protocol"
                | "-f"
                | "--fragment"
        ) || (word.starts_with("--") && !is_command_word(&word));
        if inv && !negatable {
            return Err(format!("cannot have ! before {word}"));
        }
        let this_inv = std::mem::take(&mut inv);

        if is_command_word(&word) {
            if let Some((c, _)) = &command {
                return Err(format!("Cannot use {word} with {c}"));
            }
            let mut params = Vec::new();
            let (min, max) = match word.as_str() {
                "-A" | "--append" | "-C" | "--check" | "-N" | "--new-chain" | "--new" => (1, 1),
                "-I" | "--insert" | "-D" | "--delete" => (1, 2),
                "-Z" | "--zero" | "-L" | "--list" | "-S" | "--list-rules" => (0, 2),
                "-R" | "--replace" | "-P" | "--policy" | "-E" | "--rename-chain" => (2, 2),
                _ => (0, 1),
            };
            for i in 0..max {
                let numeric_slot =
                    i == 1 && matches!(word.as_str(), "-I" | "--insert" | "-D" | "--delete");
                let next = if i < min {
                    Some(
                        args.take_word()
                            .ok_or_else(|| format!("option \"{word}\" requires an argument"))?,
                    )
                } else if numeric_slot {
                    match args.peek() {
                        Some(w) if rule_number(w).is_some() => args.take_word(),
                        _ => None,
                    }
                } else {
                    args.optional_value()
                };
                if let Some(n) = next {
                    params.push(n);
                }
            }
            command = Some((word, params));
            continue;
        }

        match word.as_str() {
            "-t" | "--table" => {
                if source == Source::Restore {
                    return Err("The -t option cannot be used in iptables-restore.".into());
                }
                let v = args.value(&word)?;
                if table.is_some() {
                    return Err("multiple -t flags not allowed".into());
                }
                table = Some(TableKind::from_name(&v).ok_or_else(|| {
                    format!("can't initialize iptables table `{v}': Table does not exist")
                })?);
            }
            "-n" | "--numeric" => list.numeric = true,
            "-v" | "--verbose" => list.verbose = true,
            "-x" | "--exact" => list.exact = true,
            "--line-numbers" => list.line_numbers = true,
            "-w" | "--wait" => {
                args.optional_value();
            }
            "-W" | "--wait-interval" => {
                args.value(&word)?;
            }
            "-4" | "--ipv4" if family == Family::V4 => {}
            "-6" | "--ipv6" if family == Family::V6 => {}
            "-c" | "--set-counters" => {
                let p = args.value(&word)?;
                let b = args.value(&word)?;
                let (Ok(packets), Ok(bytes)) = (p.parse(), b.parse()) else {
                    return Err(format!(
                        "-c packet counter `{p}' or byte counter `{b}' not numeric"
                    ));
                };
                counters = Some(Counters { packets, bytes });
            }
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                let src = matches!(word.as_str(), "-s" | "--source" | "--src");
                let v = args.value(&word)?;
                let addrs = if src { &mut rule.srcs } else { &mut rule.dsts };
                if addrs.given {
                    let flag = if src { "-s" } else { "-d" };
                    return Err(format!("multiple {flag} flags not allowed"));
                }
                *addrs = AddrList::parse(&v, this_inv, family)?;
                rule.touched = true;
            }
            "-i" | "--in-interface" | "-o" | "--out-interface" => {
                let v = args.value(&word)?;
                let iface = Iface::new(&v).ok_or_else(|| {
                    format!("interface name `{v}' must be shorter than 16 characters")
                })?;
                let slot = if word.starts_with("-i") || word == "--in-interface" {
                    &mut rule.in_iface
                } else {
                    &mut rule.out_iface
                };
                if slot.is_some() {
                    return Err(format!("multiple {word} flags not allowed"));
                }
                // `-i +` is every interface: iptables keeps no criterion (`! -i +` stays).
                *slot = (this_inv || v != "+").then(|| Inv::new(this_inv, iface));
                rule.touched = true;
            }
            "-p" | "--protocol" => {
                let v = args.value(&word)?;
                if rule.proto.is_some() {
                    return Err("multiple -p flags not allowed".into());
                }
                let p = names::parse_proto(&v)
                    .ok_or_else(|| format!("unknown protocol \"{v}\" specified"))?;
                if p == 0 && this_inv {
                    return Err("rule would never match protocol".into());
                }
                rule.proto = (p != 0).then_some(Inv::new(this_inv, p));
                rule.proto_word = v;
                rule.touched = true;
            }
            "-f" | "--fragment" if family == Family::V6 => {
                return Err("`-f' is not supported in IPv6, use -m frag instead".into());
            }
            "-f" | "--fragment" => {
                if rule.fragment.is_some() {
                    return Err("multiple -f flags not allowed".into());
                }
                rule.fragment = Some(!this_inv);
                rule.touched = true;
            }
            "-m" | "--match" => {
                let v = args.value(&word)?;
                let mut m =
                    ext::new_match_in(&v, family).ok_or_else(|| {
                        match ext::host_stack_match(&v) {
                            Some(why) => format!("match `{v}' is not supported by nfdp: {why}"),
                            None => format!("Couldn't load match `{v}':No such file or directory"),
                        }
                    })?;
                ext::match_for_family(&mut m, family);
                rule.matches.push(Loaded {
                    m,
                    seen: Vec::new(),
                });
                rule.target_is_newest = false;
                rule.touched = true;
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                let v = args.value(&word)?;
                if rule.target.is_some() {
                    return Err("multiple -j flags not allowed".into());
                }
                let goto = word == "-g" || word == "--goto";
                let t = match ext::new_target_in(&v, family) {
                    Some(mut t) if !goto => {
                        ext::target_for_family(&mut t, family);
                        t
                    }
                    Some(_) => return Err(format!("goto '{v}' is not a chain")),
                    None => {
                        if v.is_empty() || v.starts_with('-') {
                            return Err(format!("Invalid target name `{v}'"));
                        }
                        if let Some(why) = ext::host_stack_target(&v) {
                            return Err(format!("target `{v}' is not supported by nfdp: {why}"));
                        }
                        if goto {
                            Target::Goto(v)
                        } else {
                            Target::Jump(v)
                        }
                    }
                };
                rule.target = Some((t, Vec::new()));
                rule.target_is_newest = true;
                rule.touched = true;
            }
            w if w.starts_with("--") => {
                rule.extension_option(w, this_inv, &mut args)?;
                rule.touched = true;
            }
            w => return Err(format!("Bad argument `{w}'")),
        }
    }
    if inv {
        return Err("! must be followed by an option".into());
    }

    let (cmd, params) = command.ok_or("no command specified")?;
    let table = table.unwrap_or(TableKind::Filter);
    let p = |i: usize| params.get(i).cloned();
    let takes_rule = matches!(
        cmd.as_str(),
        "-A" | "--append" | "-I" | "--insert" | "-R" | "--replace" | "-C" | "--check"
    ) || (matches!(cmd.as_str(), "-D" | "--delete") && params.len() == 1);
    if !takes_rule && rule.touched {
        return Err(format!(
            "Illegal option `{cmd}' with rule specification options"
        ));
    }
    let chain = p(0).unwrap_or_default();
    let number = |i: usize| -> Result<usize, String> {
        let s = p(i).unwrap_or_default();
        rule_number(&s).ok_or_else(|| format!("Invalid rule number `{s}'"))
    };
    let command = match cmd.as_str() {
        "-A" | "--append" => Command::Append {
            chain,
            rules: rule.finish()?,
        },
        "-I" | "--insert" => Command::Insert {
            num: if params.len() > 1 { number(1)? } else { 1 },
            chain,
            rules: rule.finish()?,
        },
        "-D" | "--delete" if params.len() > 1 => Command::DeleteNum {
            num: number(1)?,
            chain,
        },
        "-D" | "--delete" => Command::Delete {
            chain,
            rules: rule.finish()?,
        },
        "-R" | "--replace" => {
            let num = number(1)?;
            let mut rules = rule.finish()?;
            if rules.len() != 1 {
                return Err("-R requires a single source and destination address".into());
            }
            Command::Replace {
                chain,
                num,
                rule: rules.remove(0),
            }
        }
        "-C" | "--check" => Command::Check {
            chain,
            rules: rule.finish()?,
        },
        "-F" | "--flush" => Command::Flush { chain: p(0) },
        "-Z" | "--zero" => Command::Zero {
            chain: p(0),
            rule: if params.len() > 1 {
                Some(number(1)?)
            } else {
                None
            },
        },
        "-L" | "--list" => Command::List {
            chain: p(0),
            rule: if params.len() > 1 {
                Some(number(1)?)
            } else {
                None
            },
        },
        "-N" | "--new-chain" | "--new" => Command::NewChain { chain },
        "-X" | "--delete-chain" => Command::DeleteChain { chain: p(0) },
        "-P" | "--policy" => {
            let v = p(1).unwrap_or_default();
            Command::Policy {
                chain,
                policy: Policy::from_name(&v).ok_or_else(|| format!("Bad policy name `{v}'"))?,
            }
        }
        "-E" | "--rename-chain" => Command::Rename {
            old: chain,
            new: p(1).unwrap_or_default(),
        },
        _ => Command::ListRules {
            chain: p(0),
            rule: if params.len() > 1 {
                Some(number(1)?)
            } else {
                None
            },
        },
    };
    Ok(ParsedCommand {
        table,
        command,
        list,
        counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::ruleset::matches::tcp::TcpMatch;
    use dataplane::ruleset::PortRange;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn implicit_protocol_match_and_negation() {
        let c = parse_command(
            words("-A INPUT -p tcp ! --dport 22 -j DROP"),
            Source::CommandLine,
        )
        .unwrap();
        let Command::Append { chain, rules } = c.command else {
            panic!()
        };
        assert_eq!(chain, "INPUT");
        assert_eq!(rules.len(), 1);
        assert_eq!(
            rules[0].matches,
            vec![Match::Tcp(TcpMatch {
                dport: Some(Inv::new(true, PortRange::single(22))),
                ..Default::default()
            })]
        );
        assert_eq!(rules[0].target, Target::Drop);
    }

    #[test]
    fn comma_lists_expand() {
        let c = parse_command(
            words("-A INPUT -s 1.1.1.1,2.2.2.0/24 -d 3.3.3.3,4.4.4.4 -j ACCEPT"),
            Source::CommandLine,
        )
        .unwrap();
        let Command::Append { rules, .. } = c.command else {
            panic!()
        };
        assert_eq!(rules.len(), 4);
        assert!(parse_command(
            words("-A INPUT ! -s 1.1.1.1,2.2.2.2 -j ACCEPT"),
            Source::CommandLine
        )
        .is_err());
    }

    #[test]
    fn errors_name_the_problem() {
        let e = |s: &str| parse_command(words(s), Source::CommandLine).unwrap_err();
        assert_eq!(
            e("-A INPUT --dport 22 -j ACCEPT"),
            "unknown option \"--dport\""
        );
        assert_eq!(
            e("-A INPUT -m nosuch -j ACCEPT"),
            "Couldn't load match `nosuch':No such file or directory"
        );
        assert_eq!(
            e("-A INPUT -p tcp --dport 1 --dport 2"),
            "multiple --dport flags not allowed"
        );
        assert_eq!(
            e("-A INPUT -p tcp --dport 70000"),
            "invalid port/service `70000' specified"
        );
        assert!(e("-A INPUT -s 300.1.1.1").contains("300.1.1.1"));
        assert_eq!(
            parse_command(words("-t nat -A X"), Source::Restore).unwrap_err(),
            "The -t option cannot be used in iptables-restore."
        );
    }

    #[test]
    fn bundled_flags_and_list() {
        let c = parse_command(
            words("-t nat -nvL POSTROUTING --line-numbers"),
            Source::CommandLine,
        )
        .unwrap();
        assert_eq!(c.table, TableKind::Nat);
        assert_eq!(
            c.command,
            Command::List {
                chain: Some("POSTROUTING".into()),
                rule: None
            }
        );
        assert!(c.list.numeric && c.list.verbose && c.list.line_numbers && !c.list.exact);
    }

    #[test]
    fn abbreviated_options() {
        let c = parse_command(
            words("-t nat -A POSTROUTING -j SNAT --to 1.2.3.4"),
            Source::CommandLine,
        )
        .unwrap();
        let Command::Append { rules, .. } = c.command else {
            panic!()
        };
        assert!(matches!(rules[0].target, Target::Snat(_)));
    }
}
