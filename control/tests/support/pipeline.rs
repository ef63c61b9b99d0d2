//! An IPv4 pipeline for the tests that drive one directly: a config's ports, routes and
//! static neighbours, and an iptables ruleset (the IPv6 path's: `ipv6::pipeline`).

use control::config::Config;
use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::{CompiledRuleset, Pipeline};
use dataplane::ruleset::Ruleset;
use std::path::Path;
use std::sync::Arc;

/// The pipeline of `config` running `rules` (iptables-restore input), as the daemon makes
/// it: no replay trace, conntrack's defaults.
pub fn pipeline(config: &str, rules: &str) -> Pipeline {
    let cfg = Config::parse(config, Path::new("test.toml")).expect("config");
    let topo = cfg.build().expect("topology");
    let mut rs = Ruleset::default();
    restore(rules, &mut rs, RestoreOptions::default()).expect("rules");
    Pipeline::new(
        Arc::new(CompiledRuleset::compile(&rs, 1)),
        topo.fib.clone(),
        topo.neighbors.clone(),
    )
}
