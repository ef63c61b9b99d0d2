//! The appliance config file (TOML; DESIGN.md "The config file"): parsing with line-precise
//! errors, semantic validation, and building the data plane's port, routing and neighbour
//! structures from it.
//!
//! Relative paths (the `[rules] file`) are resolved against the current directory first and
//! then against the config file's directory: the first matches how the examples are written
//! (`nfdp --config configs/gateway.toml` run from the repository root with
//! `file = "configs/gateway.rules"`), the second lets a config directory be moved or used from
//! anywhere with `file = "gateway.rules"`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::input_file;
use dataplane::neigh::NeighTable;
use dataplane::port::{MacAddr, PacketBuf, PortId, PortTable};
use dataplane::route::{parse_cidr, Fib, PolicyRule, Prefix, RouteError, LOCAL_TABLE, MAIN_TABLE};
use serde::Deserialize;
use toml::Spanned;

mod eal_args;

/// A config problem: the file, the line (when one is to blame) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file.display(), l, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Conntrack tunables accepted in `[conntrack]`: sysctl name (without `net.netfilter.`), the
/// default nfdp uses, and the largest value accepted (1 for the on/off switches).
pub const CONNTRACK_TUNABLES: &[(&str, u64, u64)] = &[
    ("nf_conntrack_max", 262_144, u32::MAX as u64),
    ("nf_conntrack_buckets", 65_536, 1 << 30),
    ("nf_conntrack_generic_timeout", 600, u32::MAX as u64),
    ("nf_conntrack_icmp_timeout", 30, u32::MAX as u64),
    ("nf_conntrack_udp_timeout", 30, u32::MAX as u64),
    ("nf_conntrack_udp_timeout_stream", 180, u32::MAX as u64),
    ("nf_conntrack_tcp_timeout_syn_sent", 120, u32::MAX as u64),
    ("nf_conntrack_tcp_timeout_syn_recv", 60, u32::MAX as u64),
    (
        "nf_conntrack_tcp_timeout_established",
        432_000,
        u32::MAX as u64,
    ),
    ("nf_conntrack_tcp_timeout_fin_wait", 120, u32::MAX as u64),
    ("nf_conntrack_tcp_timeout_close_wait", 60, u32::MAX as u64),
    ("nf_conntrack_tcp_timeout_last_ack", 30, u32::MAX as u64),
    ("nf_conntrack_tcp_timeout_time_wait", 120, u32::MAX as u64),
    ("nf_conntrack_tcp_timeout_close", 10, u32::MAX as u64),
    ("nf_conntrack_tcp_timeout_max_retrans", 300, u32::MAX as u64),
    (
        "nf_conntrack_tcp_timeout_unacknowledged",
        300,
        u32::MAX as u64,
    ),
    ("nf_conntrack_tcp_max_retrans", 3, 255),
    ("nf_conntrack_tcp_ignore_invalid_rst", 0, 1),
    ("nf_conntrack_tcp_loose", 1, 1),
    ("nf_conntrack_tcp_be_liberal", 0, 1),
    ("nf_conntrack_checksum", 1, 1),
    ("nf_conntrack_acct", 0, 1),
    ("nf_conntrack_timestamp", 0, 1),
    // net.ipv4.ip_forward; on by default because forwarding is the appliance's job.
    ("ip_forward", 1, 1),
];

/// The largest config file read (it is a few kilobytes; anything near this is not a config).
pub const CONFIG_FILE_LIMIT: u64 = 1 << 20;
/// `[rules] max_file_size` by default: the API's limit on a request, so a ruleset the API
/// accepted and persisted can be read back.
pub const DEFAULT_RULES_FILE_LIMIT: u64 = 64 << 20;

/// Default API socket and metrics address (DESIGN.md).
pub const DEFAULT_API_SOCKET: &str = "/run/nfdp/nfdp.sock";
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9469";

/// The longest idle sleep `[dataplane] max_sleep_us` allows (10 ms: longer would let a
/// burst of traffic overflow the rx rings before the worker wakes).
pub const MAX_SLEEP_US: u32 = 10_000;

/// `[dataplane] overload_new_per_burst`, checked to be within 0..=burst (so never NaN:
/// `Eq` holds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewPerBurst(pub f64);

impl Eq for NewPerBurst {}

/// One `[[port]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    pub name: String,
    /// A DPDK vdev driver, a PCI address, or `mem`.
    pub driver: String,
    pub args: String,
    /// `None`: the driver's MAC (see `Topology` for the placeholder used before probing).
    pub mac: Option<MacAddr>,
    /// Primary first.
    pub addresses: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses (written beside the IPv4 ones in `addresses`); the link-local one is
    /// derived from the MAC.
    pub addresses6: Vec<(Ipv6Addr, u8)>,
    pub mtu: u16,
    pub line: usize,
}

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    pub dst: Prefix,
    pub via: Option<Ipv4Addr>,
    pub dev: Option<String>,
    pub table: u32,
    pub metric: u32,
    pub line: usize,
}

/// One `[[route]]` to an IPv6 destination (`ip -6 route add`), in any table but local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route6Config {
    pub dst: Ipv6Addr,
    pub len: u8,
    pub via: Option<Ipv6Addr>,
    pub dev: Option<String>,
    pub table: u32,
    pub metric: u32,
    pub line: usize,
}

/// One `[[policy]]` (`ip [-6] rule add fwmark F/M table T [priority P]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// 4 (the default: `ip rule`) or 6 (`family = 6`: `ip -6 rule`); each family has its
    /// own rules, as in the kernel.
    pub family: u8,
    pub fwmark: u32,
    pub mask: u32,
    pub table: u32,
    /// `None`: the kernel's automatic priority (32765, 32764, ... in file order).
    pub priority: Option<u32>,
    pub line: usize,
}

/// One `[[neighbor]]`: a permanent ARP entry, or for an IPv6 address a permanent
/// neighbour discovery entry (`ip -6 neigh add ... nud permanent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborConfig {
    pub ip: IpAddr,
    pub mac: MacAddr,
    /// `None`: the port whose connected network holds `ip`.
    pub dev: Option<String>,
    pub line: usize,
}

/// A validated config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it came from (for messages and relative paths).
    pub path: PathBuf,
    /// `[eal] args`: DPDK only.
    pub eal_args: Vec<String>,
    /// `[dataplane] workers`: the cores that run workers.
    pub workers: Vec<u32>,
    /// `[dataplane] burst`.
    pub burst: u16,
    /// `[dataplane] max_sleep_us`: how long an idle worker may sleep between polls (0:
    /// busy polling, the default). A poll that brings less than half a burst lengthens
    /// the next sleep by 1 µs up to this; a fuller one ends sleeping (OVS-DPDK's
    /// `pmd-maxsleep`), so a worker on a shared CPU leaves it to others when traffic is
    /// light and polls flat out under load.
    pub max_sleep_us: u32,
    /// `[dataplane] overload_new_per_burst`: on average how many packets of a full
    /// receive burst, after `OVERLOAD_AFTER` in a row from its port (the worker is not
    /// keeping up), that also carries packets of known
    /// connections may start a connection (a fraction spreads over bursts: 0.5 is one
    /// every other burst); conntrack drops the rest (`overload` drops) before they cost
    /// the rules, NAT and the table anything. 0 turns this admission off. Range
    /// 0..=burst.
    pub overload_new_per_burst: NewPerBurst,
    pub ports: Vec<PortConfig>,
    pub routes: Vec<RouteConfig>,
    /// `[[route]]`s whose `dst` is IPv6.
    pub routes6: Vec<Route6Config>,
    pub policies: Vec<PolicyConfig>,
    pub neighbors: Vec<NeighborConfig>,
    /// The tunables set in `[conntrack]` (see `tunable` for defaults).
    pub conntrack: BTreeMap<String, u64>,
    /// `[rules] file`, resolved; `None` means an empty ruleset.
    pub rules_file: Option<PathBuf>,
    /// `[rules] ipset_file`, resolved: an `ipset restore` text loaded before the rules
    /// file (the sets its rules reference), and written back like it with `persist`.
    pub ipset_file: Option<PathBuf>,
    /// `[rules] arp_file`, resolved: an `arptables-restore` text (the ARP table), loaded
    /// at start-up and on SIGHUP, and written back like the rules file with `persist`.
    pub arp_file: Option<PathBuf>,
    /// `[rules] file6`, resolved: an `ip6tables-restore` text (ip6tables' tables), loaded
    /// with the rules file; `None` means every IPv6 chain empty with policy ACCEPT.
    pub rules_file6: Option<PathBuf>,
    /// `[rules] persist`: write every change accepted through the API back to `rules_file`.
    pub rules_persist: bool,
    /// `[rules] max_file_size`: the largest rules file read, in bytes (at start-up and on
    /// SIGHUP; a larger one is refused).
    pub rules_file_limit: u64,
    pub api_socket: PathBuf,
    /// `[api] listen`: a TCP listener for the API, only with `api_token_file`.
    pub api_listen: Option<SocketAddr>,
    /// `[api] token_file`: holds the bearer token TCP clients must present.
    pub api_token_file: Option<PathBuf>,
    pub metrics_listen: SocketAddr,
    /// `[metrics] rule_counters` (default true): export every rule's packet and byte
    /// counters; off for rulesets too large to scrape.
    pub metrics_rule_counters: bool,
    /// `[dataplane] mbufs`: packet buffers per port pool (DPDK only).
    pub mbufs: u32,
    /// `[dataplane] classifier_memory`: bytes of classifier one compiled ruleset may take
    /// (default 2 GiB); a ruleset that needs more is refused and the running one stays.
    pub classifier_memory: u64,
    /// `[local] tap`: the name of the TAP exception port that carries traffic to and from
    /// the host's own stack (INPUT / OUTPUT); `None`: no local delivery.
    pub local_tap: Option<String>,
    /// `[nflog] dir`: where `-j NFLOG` packets are written, one pcap file per group
    /// (`DIR/group-N.pcap`, raw IPv4 as ulogd's PCAP output writes); `None`: NFLOG rules
    /// log nowhere (as the kernel's with no listener on the group).
    pub nflog_dir: Option<PathBuf>,
}

/// The data plane structures a config describes.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Ports (in `[[port]]` order, so `PortId(i)` is the i-th), connected and static routes,
    /// and policy rules.
    pub fib: Fib,
    /// The static neighbours, as permanent entries.
    pub neighbors: NeighTable<PacketBuf>,
    /// The static IPv6 neighbours (`Pipeline::add_neighbor6`).
    pub neighbors6: Vec<(PortId, Ipv6Addr, MacAddr)>,
}

impl Topology {
    pub fn ports(&self) -> &PortTable {
        self.fib.ports()
    }
}

// ---- the file's shape ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    eal: RawEal,
    #[serde(default)]
    dataplane: RawDataplane,
    #[serde(default)]
    port: Vec<RawPort>,
    #[serde(default)]
    route: Vec<RawRoute>,
    #[serde(default)]
    policy: Vec<RawPolicy>,
    #[serde(default)]
    neighbor: Vec<RawNeighbor>,
    #[serde(default)]
    conntrack: BTreeMap<String, Spanned<i64>>,
    rules: Option<RawRules>,
    #[serde(default)]
    api: RawApi,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    local: RawLocal,
    #[serde(default)]
    nflog: RawNflog,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNflog {
    dir: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLocal {
    tap: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEal {
    #[serde(default)]
    args: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDataplane {
    workers: Option<Spanned<Vec<u32>>>,
    burst: Option<Spanned<u16>>,
    max_sleep_us: Option<Spanned<u32>>,
    overload_new_per_burst: Option<Spanned<f64>>,
    mbufs: Option<Spanned<u32>>,
    classifier_memory: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPort {
    name: Spanned<String>,
    driver: Spanned<String>,
    #[serde(default)]
    args: String,
    mac: Option<Spanned<String>>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    mtu: Option<Spanned<u16>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    dst: Spanned<String>,
    via: Option<Spanned<String>>,
    dev: Option<Spanned<String>>,
    table: Option<Spanned<u32>>,
    metric: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    family: Option<Spanned<u8>>,
    fwmark: Spanned<u32>,
    mask: Option<u32>,
    table: Spanned<u32>,
    priority: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNeighbor {
    ip: Spanned<String>,
    mac: Spanned<String>,
    dev: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    file: Option<Spanned<String>>,
    ipset_file: Option<Spanned<String>>,
    arp_file: Option<Spanned<String>>,
    file6: Option<Spanned<String>>,
    persist: Option<bool>,
    max_file_size: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawApi {
    socket: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<Spanned<String>>,
    rule_counters: Option<bool>,
}

/// Turns byte spans into line numbers and errors.
struct Ctx<'a> {
    path: &'a Path,
    src: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn err(&self, line: Option<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    fn at<T>(&self, s: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        self.err(Some(self.line(s.span())), message)
    }
}

/// Port names are what rules say after `-i`/`-o`: the kernel's IFNAMSIZ limit and no
/// characters iptables gives a meaning (`+` wildcard, `!`) or that break the rule syntax.
fn check_port_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!("port name `{name}` must be 1 to 15 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return Err(format!(
            "port name `{name}` may only contain letters, digits, `_`, `-` and `.`"
        ));
    }
    Ok(())
}

fn parse_mac(s: &str) -> Result<MacAddr, String> {
    let mac: MacAddr = s.parse().map_err(|e| format!("{e}"))?;
    if !mac.is_unicast() {
        return Err(format!(
            "bad MAC address `{s}`: must be a unicast, non-zero address"
        ));
    }
    Ok(mac)
}

/// An IPv6 interface address `addr/n` (a bare address is /128), as `ip -6 addr add` takes it
/// except for what the config derives or cannot use: link-local addresses (each port has
/// the EUI-64 one of its MAC), multicast, loopback, unspecified and IPv4-mapped ones.
fn parse_cidr6(s: &str) -> Result<(Ipv6Addr, u8), String> {
    let syntax = || format!("bad IPv6 CIDR `{s}`: expected an IPv6 address/n with n from 0 to 128");
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: Ipv6Addr = a.parse().map_err(|_| syntax())?;
    let len = match l {
        None => 128,
        Some(l) if !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()) => {
            l.parse::<u8>().map_err(|_| syntax())?
        }
        Some(_) => return Err(syntax()),
    };
    if len > 128 {
        return Err(syntax());
    }
    if dataplane::port::is_link_local6(addr) {
        return Err(format!(
            "`{s}`: link-local addresses are not configured (each port has fe80:: with the EUI-64 of its MAC)"
        ));
    }
    if addr.is_unspecified()
        || addr.is_multicast()
        || addr.is_loopback()
        || addr.to_ipv4_mapped().is_some()
    {
        return Err(format!("`{s}` cannot be an interface address"));
    }
    Ok((addr, len))
}

/// A `[[route]]` to an IPv6 destination: `dst` a network (host bits clear), `via` an IPv6
/// gateway (a link-local one with its `dev`), any table but local (its routes are the
/// addresses').
fn route6(
    r: &RawRoute,
    cx: &Ctx,
    known_port: &dyn Fn(&Spanned<String>) -> Result<String, ConfigError>,
) -> Result<Route6Config, ConfigError> {
    let s = r.dst.get_ref();
    let bad = || {
        cx.at(
            &r.dst,
            format!("bad IPv6 prefix `{s}`: expected an IPv6 network/n with n from 0 to 128"),
        )
    };
    let (a, l) = s.split_once('/').ok_or_else(bad)?;
    let addr: Ipv6Addr = a.parse().map_err(|_| bad())?;
    let len: u8 = match l {
        l if !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()) => {
            l.parse().map_err(|_| bad())?
        }
        _ => return Err(bad()),
    };
    let dst = dataplane::route::v6::network6(addr, len).ok_or_else(|| {
        if len > 128 {
            bad()
        } else {
            cx.at(
                &r.dst,
                format!(
                    "bad IPv6 prefix `{s}`: host bits set (invalid prefix for given prefix length)"
                ),
            )
        }
    })?;
    let via = match &r.via {
        Some(v) => Some(
            v.get_ref()
                .parse::<Ipv6Addr>()
                .map_err(|_| cx.at(v, format!("bad IPv6 gateway `{}`", v.get_ref())))?,
        ),
        None => None,
    };
    let dev = r.dev.as_ref().map(known_port).transpose()?;
    if via.is_none() && dev.is_none() {
        return Err(cx.at(&r.dst, format!("route to {s} needs `via` or `dev`")));
    }
    let table = match &r.table {
        Some(t) if *t.get_ref() == 0 => return Err(cx.at(t, "table 0 is not a routing table")),
        Some(t) if *t.get_ref() == LOCAL_TABLE => {
            return Err(cx.at(
                t,
                "the local table (255) holds the addresses' routes: IPv6 routes go in another",
            ))
        }
        Some(t) => *t.get_ref(),
        None => MAIN_TABLE,
    };
    Ok(Route6Config {
        line: cx.line(r.dst.span()),
        dst,
        len,
        via,
        dev,
        table,
        // ip6_route_info_create: metric 0 is IP6_RT_PRIO_USER.
        metric: match r.metric {
            None | Some(0) => dataplane::route::v6::USER_METRIC,
            Some(m) => m,
        },
    })
}

fn parse_ip(s: &str) -> Result<Ipv4Addr, String> {
    s.parse().map_err(|_| format!("bad IPv4 address `{s}`"))
}

/// Cores as `0-3, 6` (sorted, consecutive runs joined); `none` for an empty list.
fn core_ranges(cores: &[usize]) -> String {
    let mut sorted = cores.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for c in sorted {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => runs.push((c, c)),
        }
    }
    if runs.is_empty() {
        return "none".into();
    }
    let runs: Vec<String> = runs
        .iter()
        .map(|&(a, b)| {
            if a == b {
                format!("core {a}")
            } else {
                format!("cores {a}-{b}")
            }
        })
        .collect();
    runs.join(", ")
}

/// `cwd/p`, else `config_dir/p`; absolute paths as they are.
fn resolve(p: &str, config: &Path) -> Result<PathBuf, String> {
    // Whether `path` is there; something there that is not a regular file (a FIFO, a
    // device, a directory) is refused by name rather than passed over.
    let found = |path: &Path| match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(true),
        Ok(_) => Err(format!(
            "rules file `{}` is not a regular file",
            path.display()
        )),
        Err(_) => Ok(false),
    };
    let path = Path::new(p);
    if path.is_absolute() {
        return if found(path)? {
            Ok(path.to_path_buf())
        } else {
            Err(format!("rules file `{p}` does not exist"))
        };
    }
    if found(path)? {
        return Ok(path.to_path_buf());
    }
    let dir = config.parent().unwrap_or(Path::new(""));
    let beside = dir.join(path);
    if found(&beside)? {
        return Ok(beside);
    }
    Err(format!(
        "rules file `{p}` does not exist (looked in the current directory and in `{}`)",
        if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }
        .display()
    ))
}

/// `[nflog] dir`: a directory that is there (relative: from the current directory, else
/// beside the config file, as the rules file). Its files are created when the first
/// packet of their group is logged.
fn nflog_dir(p: &str, config: &Path) -> Result<PathBuf, String> {
    if p.is_empty() {
        return Err("nflog dir must not be empty".into());
    }
    let path = Path::new(p);
    let beside = config.parent().unwrap_or(Path::new("")).join(path);
    let found = [path.to_path_buf(), beside]
        .into_iter()
        .take(if path.is_absolute() { 1 } else { 2 })
        .find(|c| c.exists());
    match found {
        Some(d) if d.is_dir() => Ok(d),
        Some(d) => Err(format!("nflog dir `{}` is not a directory", d.display())),
        None => Err(format!("nflog dir `{p}` does not exist")),
    }
}

impl Config {
    /// Reads, parses and validates `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let src = input_file::read_text(path, CONFIG_FILE_LIMIT).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read config: {e}"),
        })?;
        Config::parse(&src, path)
    }

    /// Parses and validates `src` as if read from `path` (used for messages and for resolving
    /// relative paths). Everything `build` would refuse is refused here.
    pub fn parse(src: &str, path: &Path) -> Result<Config, ConfigError> {
        let cx = Ctx { path, src };
        let raw: RawConfig = toml::from_str(src).map_err(|e| {
            cx.err(
                e.span().map(|s| cx.line(s)),
                e.message().trim_end().to_string(),
            )
        })?;

        // [eal]
        let eal_words: Vec<&str> = raw.eal.args.iter().map(|a| a.get_ref().as_str()).collect();
        eal_args::check(&eal_words).map_err(|(i, m)| cx.at(&raw.eal.args[i], m))?;

        // [dataplane]
        let workers = match raw.dataplane.workers {
            Some(w) => {
                if w.get_ref().is_empty() {
                    return Err(cx.at(&w, "workers must name at least one core"));
                }
                let mut seen = w.get_ref().clone();
                seen.sort_unstable();
                if let Some(d) = seen.windows(2).find(|p| p[0] == p[1]) {
                    return Err(cx.at(&w, format!("core {} is listed twice in workers", d[0])));
                }
                w.into_inner()
            }
            None => vec![1],
        };
        let burst = match raw.dataplane.burst {
            Some(b) if !(1..=1024).contains(b.get_ref()) => {
                return Err(cx.at(
                    &b,
                    format!("burst {} is out of range 1..=1024", b.get_ref()),
                ));
            }
            Some(b) => b.into_inner(),
            None => 32,
        };
        let max_sleep_us = match raw.dataplane.max_sleep_us {
            Some(m) if *m.get_ref() > MAX_SLEEP_US => {
                return Err(cx.at(
                    &m,
                    format!(
                        "max_sleep_us {} is out of range 0..={MAX_SLEEP_US}",
                        m.get_ref()
                    ),
                ));
            }
            Some(m) => m.into_inner(),
            None => 0,
        };
        let overload_new_per_burst = match raw.dataplane.overload_new_per_burst {
            Some(n) if !(0.0..=f64::from(burst)).contains(n.get_ref()) => {
                return Err(cx.at(
                    &n,
                    format!(
                        "overload_new_per_burst {} is out of range 0..={burst} (the burst)",
                        n.get_ref()
                    ),
                ));
            }
            Some(n) => NewPerBurst(n.into_inner()),
            None => NewPerBurst(dataplane::worker::NEW_PER_BURST_DEFAULT.min(f64::from(burst))),
        };

        let mbufs = match raw.dataplane.mbufs {
            Some(m) if !(1024..=1 << 22).contains(m.get_ref()) => {
                return Err(cx.at(
                    &m,
                    format!("mbufs {} is out of range 1024..=4194304", m.get_ref()),
                ));
            }
            Some(m) => m.into_inner(),
            None => 8191,
        };
        let classifier_memory = match raw.dataplane.classifier_memory {
            Some(m) if *m.get_ref() == 0 => {
                return Err(cx.at(&m, "classifier_memory must be at least 1 (bytes)"));
            }
            Some(m) => m.into_inner(),
            None => dataplane::pipeline::DEFAULT_CLASSIFIER_MEMORY,
        };
        let local_tap = match raw.local.tap {
            Some(t) => {
                check_port_name(t.get_ref())
                    .map_err(|m| cx.at(&t, m.replace("port name", "tap name")))?;
                Some(t.into_inner())
            }
            None => None,
        };

        let nflog_dir = match raw.nflog.dir {
            Some(d) => Some(nflog_dir(d.get_ref(), path).map_err(|m| cx.at(&d, m))?),
            None => None,
        };

        // [[port]]
        let mut ports: Vec<PortConfig> = Vec::new();
        let mut owners: HashMap<IpAddr, String> = HashMap::new();
        for p in raw.port {
            let name = p.name.get_ref();
            check_port_name(name).map_err(|m| cx.at(&p.name, m))?;
            if let Some(first) = ports.iter().find(|q| &q.name == name) {
                return Err(cx.at(
                    &p.name,
                    format!(
                        "duplicate port name `{name}` (first defined on line {})",
                        first.line
                    ),
                ));
            }
            if p.driver.get_ref().trim().is_empty() {
                return Err(cx.at(&p.driver, format!("port `{name}` has an empty driver")));
            }
            let mac = match &p.mac {
                Some(m) => Some(parse_mac(m.get_ref()).map_err(|e| cx.at(m, e))?),
                None => None,
            };
            let mut addresses = Vec::new();
            let mut addresses6 = Vec::new();
            for a in &p.addresses {
                if a.get_ref().contains(':') {
                    let (ip, len) = parse_cidr6(a.get_ref()).map_err(|e| cx.at(a, e))?;
                    if let Some(owner) = owners.get(&IpAddr::V6(ip)) {
                        return Err(cx.at(
                            a,
                            format!("address {ip} is already assigned to port `{owner}`"),
                        ));
                    }
                    owners.insert(IpAddr::V6(ip), name.clone());
                    addresses6.push((ip, len));
                    continue;
                }
                let (ip, len) = parse_cidr(a.get_ref()).map_err(|e| cx.at(a, e.to_string()))?;
                if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
                    return Err(cx.at(
                        a,
                        format!("`{}` cannot be an interface address", a.get_ref()),
                    ));
                }
                if let Some(owner) = owners.get(&IpAddr::V4(ip)) {
                    return Err(cx.at(
                        a,
                        format!("address {ip} is already assigned to port `{owner}`"),
                    ));
                }
                owners.insert(IpAddr::V4(ip), name.clone());
                addresses.push((ip, len));
            }
            let mtu = match &p.mtu {
                Some(m) if *m.get_ref() < 68 => {
                    return Err(cx.at(
                        m,
                        format!("mtu {} is below the IPv4 minimum of 68", m.get_ref()),
                    ));
                }
                // Linux turns IPv6 off on such a device; a configured address would be dead.
                Some(m)
                    if *m.get_ref() < dataplane::port::IPV6_MIN_MTU && !addresses6.is_empty() =>
                {
                    return Err(cx.at(
                        m,
                        format!(
                            "mtu {} is below the IPv6 minimum of 1280 (port `{name}` has IPv6 addresses)",
                            m.get_ref()
                        ),
                    ));
                }
                Some(m) => *m.get_ref(),
                None => 1500,
            };
            ports.push(PortConfig {
                line: cx.line(p.name.span()),
                name: p.name.into_inner(),
                driver: p.driver.into_inner(),
                args: p.args,
                mac,
                addresses,
                addresses6,
                mtu,
            });
        }
        let known_port = |s: &Spanned<String>| -> Result<String, ConfigError> {
            if ports.iter().any(|p| &p.name == s.get_ref()) {
                Ok(s.get_ref().clone())
            } else {
                Err(cx.at(s, format!("unknown port `{}`", s.get_ref())))
            }
        };

        // [[route]]
        let mut routes = Vec::new();
        let mut routes6 = Vec::new();
        for r in raw.route {
            if r.dst.get_ref().contains(':') {
                routes6.push(route6(&r, &cx, &known_port)?);
                continue;
            }
            let dst =
                Prefix::parse_exact(r.dst.get_ref()).map_err(|e| cx.at(&r.dst, e.to_string()))?;
            let via = match &r.via {
                Some(v) => Some(parse_ip(v.get_ref()).map_err(|e| cx.at(v, e))?),
                None => None,
            };
            let dev = r.dev.as_ref().map(known_port).transpose()?;
            if via.is_none() && dev.is_none() {
                return Err(cx.at(&r.dst, format!("route to {dst} needs `via` or `dev`")));
            }
            let table = match &r.table {
                Some(t) if *t.get_ref() == 0 => {
                    return Err(cx.at(t, "table 0 is not a routing table"))
                }
                Some(t) => *t.get_ref(),
                None => MAIN_TABLE,
            };
            routes.push(RouteConfig {
                line: cx.line(r.dst.span()),
                dst,
                via,
                dev,
                table,
                metric: r.metric.unwrap_or(0),
            });
        }

        // [[policy]]
        let mut policies = Vec::new();
        for p in raw.policy {
            if *p.table.get_ref() == 0 {
                return Err(cx.at(&p.table, "table 0 is not a routing table"));
            }
            let fwmark = *p.fwmark.get_ref();
            let family = match &p.family {
                None => 4,
                Some(f) if matches!(f.get_ref(), 4 | 6) => *f.get_ref(),
                Some(f) => {
                    return Err(cx.at(f, format!("family must be 4 or 6, not {}", f.get_ref())))
                }
            };
            policies.push(PolicyConfig {
                line: cx.line(p.fwmark.span()),
                family,
                fwmark,
                // The kernel's default: a non-zero mark is matched exactly, mark 0 without a
                // mask matches every packet.
                mask: p.mask.unwrap_or(if fwmark != 0 { u32::MAX } else { 0 }),
                table: *p.table.get_ref(),
                priority: p.priority,
            });
        }

        // [[neighbor]]
        let mut neighbors: Vec<NeighborConfig> = Vec::new();
        for n in raw.neighbor {
            let ip: IpAddr =
                n.ip.get_ref()
                    .parse()
                    .map_err(|_| cx.at(&n.ip, format!("bad IP address `{}`", n.ip.get_ref())))?;
            let mac = parse_mac(n.mac.get_ref()).map_err(|e| cx.at(&n.mac, e))?;
            let dev = n.dev.as_ref().map(known_port).transpose()?;
            let line = cx.line(n.ip.span());
            if let Some(first) = neighbors.iter().find(|m| m.ip == ip && m.dev == dev) {
                return Err(cx.err(
                    Some(line),
                    format!(
                        "duplicate neighbor {ip} (first defined on line {})",
                        first.line
                    ),
                ));
            }
            neighbors.push(NeighborConfig { ip, mac, dev, line });
        }

        // [conntrack]
        let mut conntrack = BTreeMap::new();
        for (name, value) in raw.conntrack {
            let Some(&(_, _, max)) = CONNTRACK_TUNABLES.iter().find(|t| t.0 == name) else {
                return Err(cx.at(
                    &value,
                    format!("unknown conntrack tunable `{name}` (known: nf_conntrack_max, nf_conntrack_buckets, nf_conntrack_*_timeout*, nf_conntrack_tcp_max_retrans, nf_conntrack_tcp_ignore_invalid_rst, nf_conntrack_tcp_loose, nf_conntrack_tcp_be_liberal, nf_conntrack_checksum, nf_conntrack_acct, nf_conntrack_timestamp, ip_forward)"),
                ));
            };
            let v = *value.get_ref();
            match u64::try_from(v) {
                Ok(v) if v <= max => {
                    conntrack.insert(name, v);
                }
                _ => {
                    return Err(cx.at(&value, format!("{name} = {v} is out of range 0..={max}")));
                }
            }
        }

        // [rules], [api], [metrics]
        let rules_file = match raw.rules.as_ref().and_then(|r| r.file.as_ref()) {
            Some(f) => Some(resolve(f.get_ref(), path).map_err(|e| cx.at(f, e))?),
            None => None,
        };
        let ipset_file = match raw.rules.as_ref().and_then(|r| r.ipset_file.as_ref()) {
            Some(f) => Some(
                resolve(f.get_ref(), path)
                    .map_err(|e| cx.at(f, e.replacen("rules file", "ipset file", 1)))?,
            ),
            None => None,
        };
        let arp_file = match raw.rules.as_ref().and_then(|r| r.arp_file.as_ref()) {
            Some(f) => Some(
                resolve(f.get_ref(), path)
                    .map_err(|e| cx.at(f, e.replacen("rules file", "arptables file", 1)))?,
            ),
            None => None,
        };
        let rules_file6 = match raw.rules.as_ref().and_then(|r| r.file6.as_ref()) {
            Some(f) => Some(
                resolve(f.get_ref(), path)
                    .map_err(|e| cx.at(f, e.replacen("rules file", "ip6tables file", 1)))?,
            ),
            None => None,
        };
        let rules_persist = raw.rules.as_ref().and_then(|r| r.persist).unwrap_or(true);
        let rules_file_limit = match raw.rules.as_ref().and_then(|r| r.max_file_size.as_ref()) {
            Some(m) if *m.get_ref() == 0 => {
                return Err(cx.at(m, "max_file_size must be at least 1 (bytes)"));
            }
            Some(m) => *m.get_ref(),
            None => DEFAULT_RULES_FILE_LIMIT,
        };
        let api_socket = match &raw.api.socket {
            Some(s) if s.get_ref().is_empty() => return Err(cx.at(s, "api socket path is empty")),
            Some(s) => PathBuf::from(s.get_ref()),
            None => PathBuf::from(DEFAULT_API_SOCKET),
        };
        let api_listen = match &raw.api.listen {
            Some(l) => Some(l.get_ref().parse::<SocketAddr>().map_err(|_| {
                cx.at(
                    l,
                    format!("bad api listen address `{}`: expected ip:port", l.get_ref()),
                )
            })?),
            None => None,
        };
        let api_token_file = match (&raw.api.listen, &raw.api.token_file) {
            (Some(l), None) => {
                return Err(cx.at(
                    l,
                    "api listen (TCP) needs `token_file` in [api]: the bearer token clients must present",
                ))
            }
            (_, Some(t)) if t.get_ref().is_empty() => {
                return Err(cx.at(t, "api token_file path is empty"))
            }
            (_, Some(t)) => Some(PathBuf::from(t.get_ref())),
            (None, None) => None,
        };
        let metrics_listen = match &raw.metrics.listen {
            Some(l) => l.get_ref().parse().map_err(|_| {
                cx.at(
                    l,
                    format!(
                        "bad metrics listen address `{}`: expected ip:port",
                        l.get_ref()
                    ),
                )
            })?,
            None => DEFAULT_METRICS_LISTEN
                .parse()
                .map_err(|_| cx.err(None, "bad built-in metrics address"))?,
        };

        let config = Config {
            path: path.to_path_buf(),
            eal_args: raw.eal.args.into_iter().map(Spanned::into_inner).collect(),
            workers,
            burst,
            max_sleep_us,
            overload_new_per_burst,
            ports,
            routes,
            routes6,
            policies,
            neighbors,
            conntrack,
            rules_file,
            ipset_file,
            arp_file,
            rules_file6,
            rules_persist,
            rules_file_limit,
            api_socket,
            api_listen,
            api_token_file,
            metrics_listen,
            metrics_rule_counters: raw.metrics.rule_counters.unwrap_or(true),
            mbufs,
            classifier_memory,
            local_tap,
            nflog_dir,
        };
        config.build()?;
        Ok(config)
    }

    /// Checks the config against the machine it starts on: every `[dataplane] workers` core
    /// must be one this process may run on (its CPU affinity mask; `None` where the platform
    /// does not tell). Call it before the EAL starts: the EAL pins the calling thread to its
    /// main lcore, and the mask then shows that core only.
    pub fn check_machine(&self) -> Result<(), ConfigError> {
        match core_affinity::get_core_ids() {
            Some(ids) => self.check_worker_cores(&ids.iter().map(|c| c.id).collect::<Vec<_>>()),
            None => Ok(()),
        }
    }

    /// Every worker core is in `available`: a worker on a core that does not exist would run
    /// unpinned, sharing a core with another worker or the control thread.
    pub fn check_worker_cores(&self, available: &[usize]) -> Result<(), ConfigError> {
        let missing: Vec<String> = self
            .workers
            .iter()
            .filter(|&&w| !available.contains(&(w as usize)))
            .map(|w| w.to_string())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ConfigError {
            file: self.path.clone(),
            line: None,
            message: format!(
                "[dataplane] workers: {} {} {} not on this machine (this process may run on {})",
                if missing.len() == 1 { "core" } else { "cores" },
                missing.join(", "),
                if missing.len() == 1 { "is" } else { "are" },
                core_ranges(available)
            ),
        })
    }

    /// A conntrack tunable: the configured value, else nfdp's default; `None` for an unknown
    /// name.
    pub fn tunable(&self, name: &str) -> Option<u64> {
        let (_, default, _) = CONNTRACK_TUNABLES.iter().find(|t| t.0 == name)?;
        Some(self.conntrack.get(name).copied().unwrap_or(*default))
    }

    /// Builds the port table, the FIB (connected routes, static routes, policy rules) and the
    /// static neighbours. A port without a configured MAC gets a locally administered
    /// placeholder `02:6e:66:64:00:NN` (NN = port index) until the driver reports its own.
    pub fn build(&self) -> Result<Topology, ConfigError> {
        let err = |line: usize, message: String| ConfigError {
            file: self.path.clone(),
            line: Some(line),
            message,
        };
        let mut ports = PortTable::new();
        for (i, p) in self.ports.iter().enumerate() {
            let mac = p
                .mac
                .unwrap_or(MacAddr([0x02, 0x6e, 0x66, 0x64, (i >> 8) as u8, i as u8]));
            let id = ports
                .add(&p.name, mac, p.addresses.clone(), p.mtu)
                .map_err(|e| err(p.line, e.to_string()))?;
            ports.set_ipv6(id, p.addresses6.clone());
        }
        let port_id = |name: &str| ports.by_name(name).map(|p| p.id);
        let mut fib = Fib::new(ports.clone());
        for r in &self.routes {
            let dev = match &r.dev {
                Some(d) => {
                    Some(port_id(d).ok_or_else(|| err(r.line, format!("unknown port `{d}`")))?)
                }
                None => None,
            };
            fib.add_static(r.dst, r.via, dev, r.metric, r.table).map_err(|e| {
                let message = match e {
                    RouteError::InvalidGateway(gw) => match &r.dev {
                        Some(d) => format!(
                            "route to {}: gateway {gw} is not on a connected network of port `{d}` (Nexthop has invalid gateway)",
                            r.dst
                        ),
                        None => format!(
                            "route to {}: gateway {gw} is not on any connected network (Nexthop has invalid gateway)",
                            r.dst
                        ),
                    },
                    e => format!("route to {}: {e}", r.dst),
                };
                err(r.line, message)
            })?;
        }
        for r in &self.routes6 {
            let dev = match &r.dev {
                Some(d) => {
                    Some(port_id(d).ok_or_else(|| err(r.line, format!("unknown port `{d}`")))?)
                }
                None => None,
            };
            fib.add_route6(r.dst, r.len, r.via, dev, r.metric, r.table)
                .map_err(|e| err(r.line, format!("route to {}/{}: {e}", r.dst, r.len)))?;
        }
        for p in &self.policies {
            let v6 = p.family == 6;
            let priority = p.priority.unwrap_or_else(|| {
                if v6 {
                    fib.default_rule_priority6()
                } else {
                    fib.default_rule_priority()
                }
            });
            let rule = PolicyRule {
                fwmark: p.fwmark,
                mask: p.mask,
                table: p.table,
                priority,
            };
            if v6 {
                fib.add_rule6(rule)
            } else {
                fib.add_rule(rule)
            }
            .map_err(|e| err(p.line, e.to_string()))?;
        }
        let mut neighbors = NeighTable::default();
        let mut neighbors6 = Vec::new();
        for n in &self.neighbors {
            let named = match &n.dev {
                Some(d) => {
                    Some(port_id(d).ok_or_else(|| err(n.line, format!("unknown port `{d}`")))?)
                }
                None => None,
            };
            let connected = match n.ip {
                IpAddr::V4(ip) => fib.connected_port(ip, None),
                IpAddr::V6(ip) => fib
                    .route6(ip, 0)
                    .filter(|h| h.next_hop == ip)
                    .map(|h| h.port),
            };
            let port = named.or(connected).ok_or_else(|| {
                err(
                    n.line,
                    format!(
                        "neighbor {} is not on a connected network; name its `dev`",
                        n.ip
                    ),
                )
            })?;
            match n.ip {
                IpAddr::V4(ip) => {
                    neighbors.add_static(port, ip, n.mac, 0);
                }
                IpAddr::V6(ip) => neighbors6.push((port, ip, n.mac)),
            }
        }
        Ok(Topology {
            fib,
            neighbors,
            neighbors6,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::port::PortId;
    use dataplane::route::AddrType;

    const BASE: &str = r#"
[dataplane]
workers = [1, 2]
burst = 64

[[port]]
name = "lan0"
driver = "mem"
mac = "02:00:00:00:01:01"
addresses = ["192.168.1.1/24"]

[[port]]
name = "wan0"
driver = "mem"
addresses = ["203.0.113.1/24"]
mtu = 1400
"#;

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        Config::parse(&format!("{BASE}{extra}"), Path::new("test.toml"))
    }

    /// The error for `extra` appended to BASE, as `line: message`.
    fn fail(extra: &str) -> (usize, String) {
        let e = parse(extra).expect_err("config should be refused");
        assert_eq!(e.file, Path::new("test.toml"));
        (e.line.expect("a line number"), e.message)
    }

    /// Line of the first line of `extra` in the combined text.
    fn first_line() -> usize {
        BASE.lines().count() + 1
    }

    #[test]
    fn ipv6_addresses_beside_ipv4_and_a_link_local_on_every_port() {
        let c = parse(
            "\n[[port]]\nname = \"dmz0\"\ndriver = \"mem\"\nmac = \"02:00:00:00:03:01\"\naddresses = [\"2001:db8:1::1/64\", \"10.3.0.1/24\", \"2001:db8:2::1\"]\n",
        )
        .unwrap();
        let p = c.ports.iter().find(|p| p.name == "dmz0").unwrap();
        assert_eq!(p.addresses, vec![("10.3.0.1".parse().unwrap(), 24)]);
        assert_eq!(
            p.addresses6,
            vec![
                ("2001:db8:1::1".parse().unwrap(), 64),
                ("2001:db8:2::1".parse().unwrap(), 128)
            ]
        );
        let t = c.build().unwrap();
        let ports = t.fib.ports();
        let dmz = ports.by_name("dmz0").unwrap();
        let all: Vec<String> = dmz.ipv6_addresses().map(|a| a.to_string()).collect();
        assert_eq!(all, ["fe80::ff:fe00:301", "2001:db8:1::1", "2001:db8:2::1"]);
        let lan = ports.by_name("lan0").unwrap();
        assert_eq!(lan.link_local().unwrap().to_string(), "fe80::ff:fe00:101");
        // The same IPv6 address on two ports is refused at the second.
        let l = first_line();
        let (line, msg) = fail(
            "\n[[port]]\nname = \"a0\"\ndriver = \"mem\"\naddresses = [\"2001:db8::1/64\"]\n[[port]]\nname = \"b0\"\ndriver = \"mem\"\naddresses = [\"2001:db8::1/64\"]\n",
        );
        assert_eq!(line, l + 8);
        assert_eq!(msg, "address 2001:db8::1 is already assigned to port `a0`");
    }

    #[test]
    fn ipv6_routes_in_the_main_table() {
        let v6port =
            "\n[[port]]\nname = \"dmz0\"\ndriver = \"mem\"\naddresses = [\"2001:db8:1::1/64\"]\n";
        let c = parse(&format!(
            "{v6port}\n[[route]]\ndst = \"::/0\"\nvia = \"fe80::1\"\ndev = \"dmz0\"\n\n[[route]]\ndst = \"2001:db8:9::/48\"\nvia = \"2001:db8:1::fe\"\nmetric = 5\n"
        ))
        .unwrap();
        assert_eq!(c.routes.len(), 0);
        assert_eq!(c.routes6.len(), 2);
        assert_eq!((c.routes6[0].metric, c.routes6[1].metric), (1024, 5));
        let t = c.build().unwrap();
        let dmz = t.fib.ports().by_name("dmz0").unwrap().id;
        assert_eq!(
            t.fib.lookup6("2001:db8:9::7".parse().unwrap()),
            Some((dmz, "2001:db8:1::fe".parse().unwrap()))
        );
        assert_eq!(
            t.fib.lookup6("2001:db8:77::7".parse().unwrap()),
            Some((dmz, "fe80::1".parse().unwrap()))
        );
        // Refusals, each at its line (the [[route]]'s dst, or the key at fault).
        let l = first_line() + v6port.lines().count();
        for (route, line, want) in [
            ("dst = \"2001:db8::1/64\"\ndev = \"dmz0\"", 1, "bad IPv6 prefix `2001:db8::1/64`: host bits set (invalid prefix for given prefix length)"),
            ("dst = \"2001:db8::/129\"\ndev = \"dmz0\"", 1, "bad IPv6 prefix `2001:db8::/129`: expected an IPv6 network/n with n from 0 to 128"),
            ("dst = \"::/0\"", 1, "route to ::/0 needs `via` or `dev`"),
            ("dst = \"::/0\"\nvia = \"fe80::1\"", 1, "route to ::/0: gateway fe80::1 is link-local: name its `dev`"),
            ("dst = \"::/0\"\nvia = \"2001:db8:5::1\"", 1, "route to ::/0: gateway 2001:db8:5::1 is not on a connected IPv6 network (Nexthop has invalid gateway)"),
            ("dst = \"::/0\"\nvia = \"10.0.0.1\"", 2, "bad IPv6 gateway `10.0.0.1`"),
            ("dst = \"::/0\"\ndev = \"dmz0\"\ntable = 255", 3, "the local table (255) holds the addresses' routes: IPv6 routes go in another"),
            ("dst = \"::/0\"\ndev = \"dmz0\"\ntable = 0", 3, "table 0 is not a routing table"),
        ] {
            let (got_line, msg) = fail(&format!("{v6port}\n[[route]]\n{route}\n"));
            assert_eq!((got_line, msg.as_str()), (l + 1 + line, want), "{route}");
        }
    }

    #[test]
    fn ipv6_tables_and_policies() {
        let v6port = "\n[[port]]\nname = \"dmz0\"\ndriver = \"mem\"\naddresses = [\"2001:db8:1::1/64\", \"2001:db8:2::1/64\"]\n";
        let c = parse(&format!(
            "{v6port}\n[[route]]\ndst = \"::/0\"\nvia = \"2001:db8:1::fe\"\n\n[[route]]\ndst = \"::/0\"\nvia = \"2001:db8:2::fe\"\ntable = 100\nmetric = 0\n\n[[policy]]\nfwmark = 1\ntable = 10\n\n[[policy]]\nfamily = 6\nfwmark = 2\nmask = 0xff\ntable = 100\n"
        ))
        .unwrap();
        assert_eq!(
            (c.routes6[1].table, c.routes6[1].metric),
            (100, 1024),
            "metric 0 is 1024"
        );
        assert_eq!(
            c.policies.iter().map(|p| p.family).collect::<Vec<_>>(),
            [4, 6],
            "IPv4 unless said"
        );
        let t = c.build().unwrap();
        let rules6: Vec<String> = t.fib.rules6().iter().map(|r| r.to_string()).collect();
        assert_eq!(
            rules6,
            [
                "0:\tfrom all lookup local",
                "32765:\tfrom all fwmark 0x2/0xff lookup 100",
                "32766:\tfrom all lookup main"
            ]
        );
        assert_eq!(t.fib.rules().len(), 4, "the IPv4 one among the IPv4 rules");
        let gw = |mark| {
            t.fib
                .route6("2001:db8:77::7".parse().unwrap(), mark)
                .unwrap()
                .next_hop
                .to_string()
        };
        assert_eq!(
            (gw(0), gw(2), gw(0x102)),
            (
                "2001:db8:1::fe".into(),
                "2001:db8:2::fe".into(),
                "2001:db8:2::fe".into()
            )
        );
        let l = first_line() + v6port.lines().count();
        let (line, msg) = fail(&format!(
            "{v6port}\n[[policy]]\nfwmark = 1\nfamily = 5\ntable = 10\n"
        ));
        assert_eq!(
            (line, msg.as_str()),
            (l + 3, "family must be 4 or 6, not 5")
        );
        let (line, msg) = fail(&format!(
            "{v6port}\n[[policy]]\nfamily = 6\nfwmark = 1\ntable = 0\n"
        ));
        assert_eq!(
            (line, msg.as_str()),
            (l + 4, "table 0 is not a routing table")
        );
    }

    #[test]
    fn a_good_config_builds() {
        let c = parse(
            r#"
[[route]]
dst = "0.0.0.0/0"
via = "203.0.113.254"

[[route]]
dst = "0.0.0.0/0"
via = "192.168.1.254"
table = 10

[[policy]]
fwmark = 1
table = 10

[[neighbor]]
ip = "203.0.113.254"
mac = "02:00:00:00:02:fe"

[conntrack]
nf_conntrack_max = 1000
nf_conntrack_tcp_loose = 0

[api]
socket = "/tmp/nfdp.sock"

[metrics]
listen = "0.0.0.0:9100"
"#,
        )
        .unwrap();
        assert_eq!((c.workers.as_slice(), c.burst), (&[1, 2][..], 64));
        assert_eq!(c.ports[1].mtu, 1400);
        assert_eq!(c.ports[0].line, 7);
        assert_eq!(c.policies[0].mask, u32::MAX);
        assert_eq!(c.tunable("nf_conntrack_max"), Some(1000));
        assert_eq!(c.tunable("nf_conntrack_tcp_loose"), Some(0));
        assert_eq!(c.tunable("nf_conntrack_udp_timeout"), Some(30));
        assert_eq!(c.tunable("nope"), None);
        assert_eq!(c.metrics_listen, "0.0.0.0:9100".parse().unwrap());
        assert_eq!(c.rules_file, None);
        assert!(c.metrics_rule_counters, "rule counters are on by default");

        let t = c.build().unwrap();
        let wan = t.ports().by_name("wan0").unwrap();
        assert_eq!(wan.id, PortId(1));
        assert_eq!(
            wan.mac,
            MacAddr([0x02, 0x6e, 0x66, 0x64, 0, 1]),
            "placeholder MAC"
        );
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let nh = t.fib.lookup(ip("8.8.8.8"), 0).unwrap();
        assert_eq!(
            (nh.port, nh.gateway, nh.src),
            (PortId(1), Some(ip("203.0.113.254")), ip("203.0.113.1"))
        );
        assert_eq!(
            t.fib.lookup(ip("8.8.8.8"), 1).unwrap().gateway,
            Some(ip("192.168.1.254"))
        );
        assert_eq!(t.fib.rules()[1].priority, 32765);
        assert!(t.fib.is_local(ip("192.168.1.1")));
        assert_eq!(
            t.fib.addr_type(ip("192.168.1.255"), None),
            AddrType::Broadcast
        );
        let mut neigh = t.neighbors;
        assert_eq!(
            neigh.lookup(PortId(1), ip("203.0.113.254"), 0),
            Some(MacAddr([2, 0, 0, 0, 2, 0xfe]))
        );
    }

    #[test]
    fn defaults_for_an_almost_empty_file() {
        let c = Config::parse("", Path::new("empty.toml")).unwrap();
        assert_eq!((c.workers.as_slice(), c.burst), (&[1][..], 32));
        assert_eq!(c.api_socket, Path::new(DEFAULT_API_SOCKET));
        assert!(c.ports.is_empty());
        assert_eq!(c.build().unwrap().fib.rules().len(), 3);
    }

    #[test]
    fn classifier_memory_defaults_to_2_gib_and_can_be_set() {
        let c = Config::parse("", Path::new("empty.toml")).unwrap();
        assert_eq!(c.classifier_memory, 2 << 30);
        let c = Config::parse(
            "[dataplane]\nclassifier_memory = 4194304\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(c.classifier_memory, 4 << 20);
        let e =
            Config::parse("[dataplane]\nclassifier_memory = 0\n", Path::new("t.toml")).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(2), "classifier_memory must be at least 1 (bytes)")
        );
    }

    #[test]
    fn syntax_and_type_errors_have_lines() {
        let l = first_line();
        let (line, msg) = fail("\n[[route]\n");
        assert_eq!(line, l + 1, "{msg}");
        let (line, msg) = fail("\n[[policy]]\nfwmark = -1\ntable = 10\n");
        assert_eq!(line, l + 2);
        assert!(
            msg.contains("u32") || msg.contains("invalid value"),
            "{msg}"
        );
        let (line, msg) = fail("\n[metrics]\nlisten = 9469\n");
        assert_eq!(line, l + 2);
        assert!(msg.contains("string"), "{msg}");
    }

    #[test]
    fn metrics_rule_counters_switch() {
        let c = parse("\n[metrics]\nrule_counters = false\n").unwrap();
        assert!(!c.metrics_rule_counters);
        let l = first_line();
        let (line, msg) = fail("\n[metrics]\nrule_counters = \"no\"\n");
        assert_eq!(line, l + 2, "{msg}");
        assert!(msg.contains("bool"), "{msg}");
        let (line, msg) = fail("\n[metrics]\nrule_counter = false\n");
        assert_eq!(line, l + 2, "{msg}");
        assert!(msg.contains("unknown field `rule_counter`"), "{msg}");
    }

    #[test]
    fn api_and_persist_keys() {
        let l = first_line();
        let (line, msg) = fail("\n[api]\nsocket = \"/tmp/x.sock\"\nlisten = \"127.0.0.1:50051\"\n");
        assert_eq!(line, l + 3);
        assert!(msg.contains("needs `token_file`"), "{msg}");
        let (line, msg) = fail("\n[api]\nlisten = \"localhost\"\ntoken_file = \"/t\"\n");
        assert_eq!(line, l + 2, "{msg}");
        let c = parse("\n[api]\nlisten = \"127.0.0.1:50051\"\ntoken_file = \"/etc/nfdp/token\"\n")
            .unwrap();
        assert_eq!(c.api_listen, Some("127.0.0.1:50051".parse().unwrap()));
        assert_eq!(
            c.api_token_file.as_deref(),
            Some(Path::new("/etc/nfdp/token"))
        );
        assert!(c.rules_persist, "persist is on by default");
        let c = parse("\n[rules]\npersist = false\n").unwrap();
        assert!(!c.rules_persist);
        assert_eq!(c.rules_file, None);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let l = first_line();
        let (line, msg) = fail("\n[[port]]\nname = \"x0\"\ndriver = \"mem\"\nspeed = 10\n");
        assert_eq!(line, l + 4);
        assert!(msg.contains("unknown field `speed`"), "{msg}");
        let (line, msg) = fail("[bogus]\na = 1\n");
        assert_eq!(line, l);
        assert!(msg.contains("unknown field `bogus`"), "{msg}");
        let (_, msg) = fail("[dataplane2]\n");
        assert!(msg.contains("dataplane2"), "{msg}");
    }

    #[test]
    fn duplicate_port_names() {
        let (line, msg) = fail("\n[[port]]\nname = \"lan0\"\ndriver = \"mem\"\n");
        assert_eq!(line, first_line() + 2);
        assert_eq!(msg, "duplicate port name `lan0` (first defined on line 7)");
    }

    #[test]
    fn bad_port_fields() {
        let l = first_line();
        let port = |body: &str| format!("\n[[port]]\nname = \"dmz0\"\ndriver = \"mem\"\n{body}\n");
        let (line, msg) = fail(&port("addresses = [\"10.0.0.1/33\"]"));
        assert_eq!(line, l + 4);
        assert!(msg.starts_with("bad CIDR `10.0.0.1/33`"), "{msg}");
        let (_, msg) = fail(&port("addresses = [\"10.0.0/8\"]"));
        assert!(msg.starts_with("bad CIDR"), "{msg}");
        let (line, msg) = fail(&port("mac = \"02:00:00:00:01\""));
        assert_eq!(line, l + 4);
        assert!(msg.starts_with("bad MAC address `02:00:00:00:01`"), "{msg}");
        let (_, msg) = fail(&port("mac = \"01:00:5e:00:00:01\""));
        assert!(msg.contains("unicast"), "{msg}");
        let (_, msg) = fail(&port("addresses = [\"192.168.1.1/24\"]"));
        assert_eq!(
            msg,
            "address 192.168.1.1 is already assigned to port `lan0`"
        );
        let (_, msg) = fail(&port("mtu = 40"));
        assert!(msg.contains("mtu 40"), "{msg}");
        // IPv6 beside IPv4.
        for (addr, want) in [
            ("2001:db8::1/129", "bad IPv6 CIDR `2001:db8::1/129`: expected an IPv6 address/n with n from 0 to 128"),
            ("2001:db8::g/64", "bad IPv6 CIDR `2001:db8::g/64`: expected an IPv6 address/n with n from 0 to 128"),
            ("2001:db8::1/", "bad IPv6 CIDR `2001:db8::1/`: expected an IPv6 address/n with n from 0 to 128"),
            ("ff02::1/64", "`ff02::1/64` cannot be an interface address"),
            ("::/0", "`::/0` cannot be an interface address"),
            ("::1/128", "`::1/128` cannot be an interface address"),
            ("::ffff:10.0.0.1/128", "`::ffff:10.0.0.1/128` cannot be an interface address"),
            ("fe80::1/64", "`fe80::1/64`: link-local addresses are not configured (each port has fe80:: with the EUI-64 of its MAC)"),
        ] {
            let (line, msg) = fail(&port(&format!("addresses = [\"10.9.0.1/24\", \"{addr}\"]")));
            assert_eq!((line, msg.as_str()), (l + 4, want), "{addr}");
        }
        let (line, msg) = fail(&port("addresses = [\"2001:db8:1::1/64\"]\nmtu = 1000"));
        assert_eq!(line, l + 5);
        assert_eq!(
            msg,
            "mtu 1000 is below the IPv6 minimum of 1280 (port `dmz0` has IPv6 addresses)"
        );
        let (line, msg) = fail("\n[[port]]\nname = \"wan0+\"\ndriver = \"mem\"\n");
        assert_eq!(line, l + 2);
        assert!(msg.contains("may only contain"), "{msg}");
    }

    #[test]
    fn route_errors() {
        let l = first_line();
        let (line, msg) = fail("\n[[route]]\ndst = \"10.0.0.0/8\"\ndev = \"eth9\"\n");
        assert_eq!((line, msg.as_str()), (l + 3, "unknown port `eth9`"));
        let (line, msg) = fail("\n[[route]]\ndst = \"10.0.0.0/8\"\nvia = \"10.1.1.1\"\n");
        assert_eq!(line, l + 2);
        assert_eq!(
            msg,
            "route to 10.0.0.0/8: gateway 10.1.1.1 is not on any connected network (Nexthop has invalid gateway)"
        );
        let (_, msg) =
            fail("\n[[route]]\ndst = \"10.0.0.0/8\"\nvia = \"192.168.1.9\"\ndev = \"wan0\"\n");
        assert!(
            msg.contains("not on a connected network of port `wan0`"),
            "{msg}"
        );
        let (line, msg) = fail("\n[[route]]\ndst = \"10.0.0.1/8\"\ndev = \"lan0\"\n");
        assert_eq!(line, l + 2);
        assert!(msg.contains("host bits set"), "{msg}");
        let (_, msg) = fail("\n[[route]]\ndst = \"10.0.0.0/8\"\n");
        assert!(msg.contains("needs `via` or `dev`"), "{msg}");
        let (_, msg) = fail("\n[[route]]\ndst = \"10.0.0.0/8\"\nvia = \"10.0.0.300\"\n");
        assert_eq!(msg, "bad IPv4 address `10.0.0.300`");
        let (line, msg) = fail(
            "\n[[route]]\ndst = \"10.0.0.0/8\"\ndev = \"lan0\"\n\n[[route]]\ndst = \"10.0.0.0/8\"\ndev = \"wan0\"\n",
        );
        assert_eq!(line, l + 6);
        assert!(msg.contains("already exists"), "{msg}");
        let (_, msg) = fail("\n[[route]]\ndst = \"10.0.0.0/8\"\nvia = \"192.168.1.1\"\n");
        assert!(msg.contains("local address"), "{msg}");
    }

    #[test]
    fn neighbor_errors() {
        let l = first_line();
        let (line, msg) = fail(
            "\n[[neighbor]]\nip = \"192.168.1.9\"\nmac = \"02:00:00:00:00:09\"\ndev = \"eth1\"\n",
        );
        assert_eq!((line, msg.as_str()), (l + 4, "unknown port `eth1`"));
        let (line, msg) =
            fail("\n[[neighbor]]\nip = \"192.168.1.9\"\nmac = \"zz:00:00:00:00:09\"\n");
        assert_eq!(line, l + 3);
        assert!(msg.starts_with("bad MAC address"), "{msg}");
        let (line, msg) = fail("\n[[neighbor]]\nip = \"10.9.9.9\"\nmac = \"02:00:00:00:00:09\"\n");
        assert_eq!(line, l + 2);
        assert!(msg.contains("not on a connected network"), "{msg}");
        let n = "\n[[neighbor]]\nip = \"192.168.1.9\"\nmac = \"02:00:00:00:00:09\"\n";
        let (line, msg) = fail(&format!("{n}{n}"));
        assert_eq!(line, l + 6);
        assert!(msg.starts_with("duplicate neighbor 192.168.1.9"), "{msg}");
    }

    #[test]
    fn conntrack_tunables_are_whitelisted() {
        let l = first_line();
        let (line, msg) =
            fail("\n[conntrack]\nnf_conntrack_max = 10\nnf_conntrack_frobnicate = 1\n");
        assert_eq!(line, l + 3);
        assert!(
            msg.starts_with("unknown conntrack tunable `nf_conntrack_frobnicate`"),
            "{msg}"
        );
        let (line, msg) = fail("\n[conntrack]\nnf_conntrack_tcp_loose = 2\n");
        assert_eq!(
            (line, msg.as_str()),
            (l + 2, "nf_conntrack_tcp_loose = 2 is out of range 0..=1")
        );
        let (_, msg) = fail("\n[conntrack]\nnf_conntrack_max = -5\n");
        assert!(msg.contains("out of range"), "{msg}");
    }

    #[test]
    fn dataplane_and_endpoint_errors() {
        let bad = |src: &str| Config::parse(src, Path::new("d.toml")).unwrap_err();
        let e = bad("[dataplane]\nworkers = []\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(2), "workers must name at least one core")
        );
        let e = bad("[dataplane]\nworkers = [1, 1]\n");
        assert_eq!(e.message, "core 1 is listed twice in workers");
        let e = bad("[dataplane]\nworkers = [1]\nmax_sleep_us = 10001\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(3), "max_sleep_us 10001 is out of range 0..=10000")
        );
        let ok = |src: &str| {
            Config::parse(src, Path::new("d.toml"))
                .unwrap()
                .max_sleep_us
        };
        assert_eq!(ok("[dataplane]\nmax_sleep_us = 250\n"), 250);
        let e = bad("[dataplane]\nburst = 16\noverload_new_per_burst = 17\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(3),
                "overload_new_per_burst 17 is out of range 0..=16 (the burst)"
            )
        );
        let admit = |src: &str| {
            Config::parse(src, Path::new("d.toml"))
                .unwrap()
                .overload_new_per_burst
                .0
        };
        assert_eq!(
            admit("[dataplane]\n"),
            dataplane::worker::NEW_PER_BURST_DEFAULT
        );
        assert_eq!(admit("[dataplane]\noverload_new_per_burst = 0\n"), 0.0);
        assert_eq!(admit("[dataplane]\noverload_new_per_burst = 5\n"), 5.0);
        assert_eq!(admit("[dataplane]\noverload_new_per_burst = 0.25\n"), 0.25);
        let e = bad("[dataplane]\noverload_new_per_burst = -1\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(2),
                "overload_new_per_burst -1 is out of range 0..=32 (the burst)"
            )
        );
        assert_eq!(ok("[dataplane]\nburst = 8\n"), 0, "busy polling by default");
        let e = bad("[dataplane]\nburst = 0\n");
        assert_eq!(e.line, Some(2));
        let e = bad("\n[metrics]\nlisten = \"localhost\"\n");
        assert_eq!(e.line, Some(3));
        assert!(
            e.message.starts_with("bad metrics listen address"),
            "{}",
            e.message
        );
        assert_eq!(e.to_string(), format!("d.toml:3: {}", e.message));
    }

    #[test]
    fn ipset_file_resolves_as_the_rules_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let cfg = dir.join("x.toml");
        let c = Config::parse(
            "[rules]\nfile = \"gateway.rules\"\nipset_file = \"gateway.rules\"\n",
            &cfg,
        )
        .unwrap();
        assert_eq!(c.ipset_file, Some(dir.join("gateway.rules")));
        let e =
            Config::parse("[rules]\nipset_file = \"/nonexistent/x.ipset\"\n", &cfg).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(
            e.message,
            "ipset file `/nonexistent/x.ipset` does not exist"
        );
    }

    #[test]
    fn nflog_dir_must_be_a_directory_that_is_there() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let cfg = dir.join("x.toml");
        assert_eq!(Config::parse("", &cfg).unwrap().nflog_dir, None);
        // Beside the config, as the rules file.
        let c = Config::parse("[nflog]\ndir = \"grafana\"\n", &cfg).unwrap();
        assert_eq!(c.nflog_dir, Some(dir.join("grafana")));
        let c = Config::parse("[nflog]\ndir = \"/tmp\"\n", &cfg).unwrap();
        assert_eq!(c.nflog_dir, Some(PathBuf::from("/tmp")));
        for (text, msg) in [
            (
                "\n[nflog]\ndir = \"/nonexistent/nflog\"\n",
                "nflog dir `/nonexistent/nflog` does not exist",
            ),
            (
                "\n[nflog]\ndir = \"gateway.rules\"\n",
                "nflog dir `../configs/gateway.rules` is not a directory",
            ),
            ("\n[nflog]\ndir = \"\"\n", "nflog dir must not be empty"),
        ] {
            let e = Config::parse(text, &cfg).unwrap_err();
            assert_eq!(e.line, Some(3), "{text}");
            assert!(
                e.message.ends_with(msg.rsplit('/').next().unwrap()),
                "{}",
                e.message
            );
        }
        let e = Config::parse("[nflog]\nfile = \"x\"\n", &cfg).unwrap_err();
        assert_eq!(e.line, Some(2), "{}", e.message);
    }

    #[test]
    fn rules_file_resolution() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let cfg = dir.join("x.toml");
        // Beside the config (the test's cwd is the crate directory).
        let c = Config::parse("[rules]\nfile = \"gateway.rules\"\n", &cfg).unwrap();
        assert_eq!(c.rules_file, Some(dir.join("gateway.rules")));
        // Relative to the current directory first.
        let c = Config::parse("[rules]\nfile = \"Cargo.toml\"\n", &cfg).unwrap();
        assert_eq!(c.rules_file, Some(PathBuf::from("Cargo.toml")));
        let e = Config::parse("\n[rules]\nfile = \"missing.rules\"\n", &cfg).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            e.message
                .starts_with("rules file `missing.rules` does not exist"),
            "{}",
            e.message
        );
        let e = Config::parse("[rules]\nfile = \"/nonexistent/x.rules\"\n", &cfg).unwrap_err();
        assert_eq!(
            e.message,
            "rules file `/nonexistent/x.rules` does not exist"
        );
    }

    #[test]
    fn load_reports_unreadable_files() {
        let e = Config::load("/nonexistent/nfdp.toml").unwrap_err();
        assert_eq!(e.line, None);
        assert!(e
            .to_string()
            .starts_with("/nonexistent/nfdp.toml: cannot read config"));
        // A device (here through a symlink) is refused at once, not read until memory runs
        // out; so is a config over the limit.
        let dir = std::env::temp_dir().join(format!("nfdp-config-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.join("zero.toml")).unwrap();
        let e = Config::load(dir.join("zero.toml")).unwrap_err();
        assert_eq!(
            e.message,
            "cannot read config: not a regular file (a character device)"
        );
        let big = "# padding\n".repeat(CONFIG_FILE_LIMIT as usize / 10 + 1);
        std::fs::write(dir.join("big.toml"), big).unwrap();
        let e = Config::load(dir.join("big.toml")).unwrap_err();
        assert_eq!(
            e.message,
            "cannot read config: larger than the limit of 1048576 bytes"
        );
        // A rules file that is there but not a regular file is named as such.
        let e = Config::parse("[rules]\nfile = \"/dev/zero\"\n", &dir.join("x.toml")).unwrap_err();
        assert_eq!(e.message, "rules file `/dev/zero` is not a regular file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rules_file_limit_defaults_to_64_mib_and_can_be_set() {
        let c = Config::parse("", Path::new("empty.toml")).unwrap();
        assert_eq!(c.rules_file_limit, 64 << 20);
        let c = parse("\n[rules]\nmax_file_size = 4096\n").unwrap();
        assert_eq!(c.rules_file_limit, 4096);
        let (line, msg) = fail("\n[rules]\nmax_file_size = 0\n");
        assert_eq!(line, first_line() + 2);
        assert_eq!(msg, "max_file_size must be at least 1 (bytes)");
    }

    #[test]
    fn worker_cores_must_exist_on_the_machine() {
        let c = parse("").unwrap();
        assert_eq!(c.workers, [1, 2]);
        assert_eq!(c.check_worker_cores(&[0, 1, 2, 3]), Ok(()));
        let e = c.check_worker_cores(&[0, 1]).unwrap_err();
        assert_eq!(e.line, None);
        assert_eq!(
            e.to_string(),
            "test.toml: [dataplane] workers: core 2 is not on this machine (this process may run on cores 0-1)"
        );
        let e = c.check_worker_cores(&[0, 3, 5, 6, 7]).unwrap_err();
        assert_eq!(
            e.message,
            "[dataplane] workers: cores 1, 2 are not on this machine (this process may run on core 0, core 3, cores 5-7)"
        );
        // The machine the test runs on: its own cores pass, one it cannot have does not.
        let here = Config::parse("[dataplane]\nworkers = [4096]\n", Path::new("big.toml")).unwrap();
        assert!(here.check_machine().is_err());
    }
}
