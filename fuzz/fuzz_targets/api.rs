//! The gRPC API's request decoders (control/src/api): a request body decoded with prost as
//! the message of the method the first byte picks, then converted and checked as the
//! service does before it touches the workers: iptables-restore text (`-T` table selection,
//! options) and its refusal text, an `Exec` command line and its refusal, `Save`/`Zero`
//! table and chain names, conntrack filters (`-L`/`-D`, the exact tuple of `-G`, event
//! types), trace filters, sysctl names and values, routes, policy rules and neighbours
//! applied to a copy of a gateway's FIB. Nothing may panic; accepted rulesets save and
//! restore to the same text.
//!
//! The metrics HTTP port has no request body to decode (GET and HEAD of two paths, bodies
//! never read): nothing of it is here.
#![no_main]

use control::api::conntrack::{event_kind, exact_tuple};
use control::api::net::{policy, route_key};
use control::api::pb;
use control::api::rules::only_table;
use control::api::sysctl::{full_name, lookup};
use control::api::trace::trace_filter;
use control::config::Config;
use control::iptables::cli::{exec_refusal, parse_refusal, restore_refusal};
use control::iptables::{execute_typed, parse_command, restore, RestoreOptions, Source};
use dataplane::conntrack::filter::CtFilter;
use dataplane::port::PortId;
use dataplane::route::Fib;
use dataplane::ruleset::{Ruleset, TableKind};
use libfuzzer_sys::fuzz_target;
use nfdp_fuzz::round_trip;
use prost::Message;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::OnceLock;

const CONFIG: &str = include_str!("../../configs/lab.toml");
const RULES: &str = include_str!("../../configs/lab.rules");

struct World {
    rules: Ruleset,
    fib: Fib,
    ports: Vec<String>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let cfg = Config::parse(CONFIG, Path::new("configs/lab.toml")).expect("lab.toml");
        let topo = cfg.build().expect("topology");
        let mut rules = Ruleset::default();
        restore(RULES, &mut rules, RestoreOptions::default()).expect("lab.rules");
        World {
            rules,
            fib: topo.fib.clone(),
            ports: cfg.ports.iter().map(|p| p.name.clone()).collect(),
        }
    })
}

fn port(dev: &str) -> Option<PortId> {
    world()
        .ports
        .iter()
        .position(|p| p == dev)
        .map(|i| PortId(i as u16))
}

fn restore_request(r: pb::RestoreRequest) {
    let text = if r.table.is_empty() {
        r.text
    } else {
        let t = only_table(&r.text, &r.table);
        assert_eq!(
            t.lines().count(),
            r.text.lines().count(),
            "-T keeps line numbers"
        );
        t
    };
    let mut rs = world().rules.clone();
    let opts = RestoreOptions {
        noflush: r.noflush,
        counters: r.counters,
        packet_path: true,
    };
    match restore(&text, &mut rs, opts) {
        Ok(()) => round_trip(&rs, r.counters),
        Err(e) => {
            let _ = restore_refusal(&text, &e);
        }
    }
}

fn exec_request(r: pb::ExecRequest) {
    if r.args.is_empty() {
        return;
    }
    match parse_command(r.args, Source::CommandLine) {
        Ok(cmd) => {
            let mut rs = world().rules.clone();
            match execute_typed(&mut rs, cmd.clone()) {
                Ok(_) => round_trip(&rs, false),
                Err(e) => {
                    let _ = exec_refusal(&cmd, &e);
                }
            }
        }
        Err(m) => {
            let _ = parse_refusal(&m);
        }
    }
}

fn table_chain(table: &str, chain: &str) {
    if let Some(kind) = TableKind::from_name(table) {
        if let Some(t) = world().rules.table(kind) {
            let _ = t.chain(chain);
        }
    }
}

fn conntrack_filter(f: &pb::ConntrackFilter) {
    if let Ok(cf) = CtFilter::try_from(f) {
        let _ = cf;
    }
    let _ = exact_tuple(f);
}

fn route(r: &pb::Route) {
    let Ok((dst, table)) = route_key(r) else {
        return;
    };
    let mut fib = world().fib.clone();
    let via = if r.via.is_empty() {
        None
    } else {
        match r.via.parse::<Ipv4Addr>() {
            Ok(a) => Some(a),
            Err(_) => return,
        }
    };
    let dev = if r.dev.is_empty() {
        None
    } else {
        match port(&r.dev) {
            Some(p) => Some(p),
            None => return,
        }
    };
    if fib.add_static(dst, via, dev, r.metric, table).is_ok() {
        let _ = fib.lookup(dst.addr(), 0);
        assert!(
            fib.remove_route(dst, r.metric, table).is_some(),
            "added route removes"
        );
    }
}

fn policy_rule(r: &pb::PolicyRule) {
    let rule = policy(r);
    let mut fib = world().fib.clone();
    if fib.add_rule(rule.clone()).is_ok() {
        let _ = fib.lookup(Ipv4Addr::new(8, 8, 8, 8), r.fwmark);
        assert!(fib.remove_rule(&rule), "added rule removes");
    }
}

fn neighbor(n: &pb::Neighbor) {
    let Ok(ip) = n.ip.parse::<Ipv4Addr>() else {
        return;
    };
    let _ = if n.dev.is_empty() {
        world().fib.connected_port(ip, None)
    } else {
        port(&n.dev)
    };
    let _ = n.mac.parse::<dataplane::wire::EthernetAddress>();
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    macro_rules! decode {
        ($t:ty) => {
            match <$t>::decode(body) {
                Ok(m) => m,
                Err(_) => return,
            }
        };
    }
    match which % 14 {
        0 => restore_request(decode!(pb::RestoreRequest)),
        1 => exec_request(decode!(pb::ExecRequest)),
        2 => {
            let r = decode!(pb::SaveRequest);
            table_chain(&r.table, "");
        }
        3 => {
            let r = decode!(pb::ZeroRequest);
            table_chain(&r.table, &r.chain);
        }
        4 => conntrack_filter(&decode!(pb::ConntrackFilter)),
        5 => {
            let r = decode!(pb::EventsRequest);
            for t in &r.types {
                let _ = event_kind(t);
            }
            if let Some(f) = &r.filter {
                conntrack_filter(f);
            }
        }
        6 => {
            let r = decode!(pb::TraceFilter);
            let _ = trace_filter(&r);
        }
        7 => {
            let r = decode!(pb::SysctlGetRequest);
            for n in &r.names {
                if let Some((short, _)) = lookup(n) {
                    let _ = full_name(short);
                }
            }
        }
        8 => {
            let r = decode!(pb::SysctlSetRequest);
            for v in &r.values {
                if let Some((short, max)) = lookup(&v.name) {
                    let _ = v.value.trim().parse::<u64>().ok().filter(|x| *x <= max);
                    let _ = full_name(short);
                }
            }
        }
        9 => route(&decode!(pb::Route)),
        10 => policy_rule(&decode!(pb::PolicyRule)),
        11 => neighbor(&decode!(pb::Neighbor)),
        12 => {
            let r = decode!(pb::ListRoutesRequest);
            let _ = world().fib.table(r.table);
        }
        _ => {
            let r = decode!(pb::ListNeighborsRequest);
            let _ = port(&r.dev);
        }
    }
});
