//! Every shipped example config must load and build.

use std::path::Path;

use control::config::Config;

#[test]
fn every_example_config_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("configs/ exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let topo = config.build().unwrap_or_else(|e| panic!("{e}"));
            assert!(!topo.ports().is_empty(), "{}: no ports", path.display());
            if let Some(rules) = &config.rules_file {
                assert!(rules.is_file(), "{}", rules.display());
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "expected lab.toml and gateway.toml, found {seen} configs"
    );
}

#[test]
fn gateway_example_routes_like_the_design_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let topo = Config::load(dir.join("gateway.toml"))
        .unwrap()
        .build()
        .unwrap();
    let wan = topo.ports().by_name("wan0").unwrap().id;
    let lan = topo.ports().by_name("lan0").unwrap().id;
    let nh = topo.fib.lookup("1.1.1.1".parse().unwrap(), 0).unwrap();
    assert_eq!(
        (nh.port, nh.gateway),
        (wan, Some("203.0.113.254".parse().unwrap()))
    );
    assert_eq!(
        topo.fib
            .lookup("192.168.1.50".parse().unwrap(), 0)
            .unwrap()
            .port,
        lan
    );
    let mut neigh = topo.neighbors;
    assert!(neigh
        .lookup(wan, "203.0.113.254".parse().unwrap(), 0)
        .is_some());
}
