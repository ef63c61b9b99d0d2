//! An IPv6 pipeline for the tests of the IPv6 path: a config's ports, routes and static
//! neighbours (IPv6 ones included) and an ip6tables ruleset loaded as `[rules] file6` is
//! (what the IPv6 path cannot run refused).

use control::config::Config;
use control::iptables::{restore, RestoreOptions};
use dataplane::pipeline::{CompiledRuleset, Pipeline};
use dataplane::ruleset::{Family, Ruleset};
use std::path::Path;
use std::sync::Arc;

pub fn pipeline(config: &str, rules6: &str) -> Pipeline {
    let cfg = Config::parse(config, Path::new("test.toml")).expect("config");
    let topo = cfg.build().expect("topology");
    let mut rs6 = Ruleset::new(Family::V6);
    let opts = RestoreOptions {
        packet_path: true,
        ..RestoreOptions::default()
    };
    restore(rules6, &mut rs6, opts).expect("rules6");
    let rs = Ruleset {
        ip6: Some(Arc::new(rs6)),
        ..Ruleset::default()
    };
    let mut p = Pipeline::new(
        Arc::new(CompiledRuleset::compile(&rs, 1)),
        topo.fib.clone(),
        topo.neighbors.clone(),
    );
    p.add_neighbors6(&topo.neighbors6);
    p
}
