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

/// The unit's bounding set is the capability table of docs/deploy.md ("Privileges"): a
/// capability added to one and not the other fails here.
#[test]
fn the_unit_grants_the_capabilities_the_deploy_guide_documents() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let unit = std::fs::read_to_string(root.join("configs/nfdp.service")).unwrap();
    let mut unit_caps: Vec<&str> = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("CapabilityBoundingSet= in nfdp.service")
        .split_whitespace()
        .collect();
    let ambient = unit
        .lines()
        .find_map(|l| l.strip_prefix("AmbientCapabilities="))
        .expect("AmbientCapabilities= in nfdp.service");
    assert_eq!(
        ambient.trim(),
        "",
        "nfdp runs as root: no ambient capabilities"
    );
    let guide = std::fs::read_to_string(root.join("docs/deploy.md")).unwrap();
    let section = guide
        .split("## 6a. Privileges")
        .nth(1)
        .expect("a Privileges section in docs/deploy.md");
    let mut documented: Vec<&str> = section
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `CAP_"))
        .map(|l| &l[..l.find('`').unwrap()])
        .collect();
    let mut unit_names: Vec<&str> = unit_caps.drain(..).map(|c| &c[4..]).collect();
    unit_names.sort_unstable();
    documented.sort_unstable();
    assert!(!documented.is_empty());
    assert_eq!(unit_names, documented);
}
