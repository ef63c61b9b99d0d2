//! The appliance config (control/src/config.rs, TOML) on arbitrary text: parsing never
//! panics (the `[eal] args` check included), and a config `Config::parse` accepts builds (its
//! documented promise: everything `build` would refuse is refused by `parse`); the tunables
//! and the worker-core check are exercised on what parses.
#![no_main]

use control::config::{Config, CONNTRACK_TUNABLES};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cfg = match Config::parse(text, Path::new("/etc/nfdp/fuzz.toml")) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let topo = match cfg.build() {
        Ok(t) => t,
        Err(e) => panic!("parse accepted a config build refuses: {e}"),
    };
    let _ = topo.ports();
    for (name, _, _) in CONNTRACK_TUNABLES {
        let _ = cfg.tunable(name);
    }
    let _ = cfg.check_worker_cores(&[0, 1]);
});
