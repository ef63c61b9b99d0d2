//! `nfdp config --check FILE`: the shipped configs pass; each broken config is refused with
//! FILE:LINE: message on stderr, nothing on stdout, and exit 1.

use std::path::{Path, PathBuf};
use std::process::Command;

const PORT: &str = r#"[[port]]
name = "lan0"
driver = "0000:03:00.0"
addresses = ["192.168.1.1/24"]
"#;

fn nfdp_config_check(dir: &Path, file: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nfdp"))
        .current_dir(dir)
        .args(["config", "--check", file])
        .output()
        .expect("run nfdp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nfdp-config-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_shipped_configs_pass_from_the_repository_root_and_from_their_directory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let want = [
        (
            "gateway.toml",
            "ok (2 ports, 1 worker, 1 route, 0 policy rules, 1 neighbor; rules configs/gateway.rules: 3 rules)",
        ),
        (
            "lab.toml",
            "ok (2 ports, 1 worker, 4 routes, 1 policy rule, 0 neighbors; rules configs/lab.rules: 9 rules; rules6 configs/lab.rules6: 8 rules)",
        ),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("configs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let (code, out, err) = nfdp_config_check(&root, &format!("configs/{name}"));
        assert_eq!((code, err.as_str()), (0, ""), "{name}");
        assert!(out.starts_with(&format!("configs/{name}: ok (")), "{out}");
        if let Some((_, summary)) = want.iter().find(|(n, _)| *n == name) {
            assert_eq!(out, format!("configs/{name}: {summary}\n"));
            seen += 1;
        }
        let (code, _, err) = nfdp_config_check(&root.join("configs"), &name);
        assert_eq!((code, err.as_str()), (0, ""), "{name} from configs/");
    }
    assert_eq!(seen, want.len());
}

/// IPv6 connections are handed between workers as IPv4's are: a stateful ip6tables
/// ruleset passes with several workers (it was refused before they were).
#[test]
fn a_stateful_ipv6_ruleset_passes_with_two_workers() {
    let dir = scratch("stateful6");
    std::fs::write(
        dir.join("s.rules6"),
        "*filter\n:FORWARD DROP [0:0]\n\
         -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A FORWARD -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("two.toml"),
        format!("{PORT}\n[dataplane]\nworkers = [0, 1]\n\n[rules]\nfile6 = \"s.rules6\"\n"),
    )
    .unwrap();
    let (code, out, err) = nfdp_config_check(&dir, "two.toml");
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(
        out.starts_with("two.toml: ok (1 port, 2 workers, ")
            && out.contains("rules6 s.rules6: 2 rules"),
        "{out}"
    );
}

#[test]
fn each_broken_config_is_refused_at_its_line() {
    let dir = scratch("broken");
    std::fs::write(
        dir.join("bad.rules"),
        "*filter\n-A FORWARD -p tcp --dport 80 -j ACCEPT\n-A FORWARD -j NOPE\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(dir.join("empty.token"), "\n").unwrap();
    let cases: &[(&str, String, &str)] = &[
        (
            "toml",
            format!("{PORT}\n[dataplane\nworkers = [1]\n"),
            "toml.toml:6: unclosed table, expected `]`",
        ),
        (
            "field",
            format!("{PORT}\n[dataplane]\nworker = [1]\n"),
            "field.toml:7: unknown field `worker`, expected one of `workers`, `burst`, `max_sleep_us`, `overload_new_per_burst`, `mbufs`, `classifier_memory`",
        ),
        (
            "address",
            "[[port]]\nname = \"lan0\"\ndriver = \"x\"\naddresses = [\"192.168.1.300/24\"]\n".into(),
            "address.toml:4: bad CIDR `192.168.1.300/24`: expected a.b.c.d/n with n from 0 to 32",
        ),
        (
            "address6",
            "[[port]]\nname = \"lan0\"\ndriver = \"x\"\naddresses = [\"192.168.1.1/24\", \"2001:db8::1/129\"]\n".into(),
            "address6.toml:4: bad IPv6 CIDR `2001:db8::1/129`: expected an IPv6 address/n with n from 0 to 128",
        ),
        (
            "mtu",
            format!("{PORT}mtu = 40\n"),
            "mtu.toml:5: mtu 40 is below the IPv4 minimum of 68",
        ),
        (
            "port",
            format!("{PORT}\n[[port]]\nname = \"lan0\"\ndriver = \"y\"\n"),
            "port.toml:7: duplicate port name `lan0` (first defined on line 2)",
        ),
        (
            "gateway",
            format!("{PORT}\n[[route]]\ndst = \"0.0.0.0/0\"\nvia = \"10.0.0.1\"\ndev = \"lan0\"\n"),
            "gateway.toml:7: route to 0.0.0.0/0: gateway 10.0.0.1 is not on a connected network of port `lan0` (Nexthop has invalid gateway)",
        ),
        (
            "route",
            format!("{PORT}\n[[route]]\ndst = \"10.0.0.0/8\"\ndev = \"wan9\"\n"),
            "route.toml:8: unknown port `wan9`",
        ),
        (
            "policy",
            format!("{PORT}\n[[policy]]\nfwmark = 1\ntable = 0\n"),
            "policy.toml:8: table 0 is not a routing table",
        ),
        (
            "neighbor",
            format!("{PORT}\n[[neighbor]]\nip = \"192.168.1.2\"\nmac = \"ff:ff:ff:ff:ff:ff\"\n"),
            "neighbor.toml:8: bad MAC address `ff:ff:ff:ff:ff:ff`: must be a unicast, non-zero address",
        ),
        (
            "offlink",
            format!("{PORT}\n[[neighbor]]\nip = \"10.1.1.1\"\nmac = \"02:00:00:00:00:01\"\n"),
            "offlink.toml:7: neighbor 10.1.1.1 is not on a connected network; name its `dev`",
        ),
        (
            "nflog",
            format!("{PORT}\n[nflog]\ndir = \"/nonexistent/nfdp-nflog\"\n"),
            "nflog.toml:7: nflog dir `/nonexistent/nfdp-nflog` does not exist",
        ),
        (
            "nflogfile",
            format!("{PORT}\n[nflog]\ndir = \"nflogfile.toml\"\n"),
            "nflogfile.toml:7: nflog dir `nflogfile.toml` is not a directory",
        ),
        (
            "conntrack",
            format!("{PORT}\n[conntrack]\nnf_conntrack_max = -1\n"),
            "conntrack.toml:7: nf_conntrack_max = -1 is out of range 0..=4294967295",
        ),
        (
            "eal",
            format!("[eal]\nargs = [\n  \"-m\", \"1024\",\n  \"--no-hugepage\",\n]\n{PORT}"),
            "eal.toml:4: unknown EAL option `--no-hugepage`",
        ),
        (
            "ealvalue",
            format!("[eal]\nargs = [\"--file-prefix\"]\n{PORT}"),
            "ealvalue.toml:2: EAL option `--file-prefix` needs a value",
        ),
        (
            "nofile",
            format!("{PORT}\n[rules]\nfile = \"nope.rules\"\n"),
            "nofile.toml:7: rules file `nope.rules` does not exist (looked in the current directory and in `.`)",
        ),
        (
            "rules",
            format!("{PORT}\n[rules]\nfile = \"bad.rules\"\n"),
            "bad.rules:3: rule 2 in chain FORWARD: unknown target or chain `NOPE'",
        ),
        (
            "token",
            format!("{PORT}\n[api]\nlisten = \"127.0.0.1:50051\"\ntoken_file = \"empty.token\"\n"),
            "token.toml:8: [api] token_file empty.token: the token is empty",
        ),
    ];
    for (name, text, want) in cases {
        let file = format!("{name}.toml");
        std::fs::write(dir.join(&file), text).unwrap();
        let (code, out, err) = nfdp_config_check(&dir, &file);
        assert_eq!((code, out.as_str()), (1, ""), "{name}: {err}");
        assert_eq!(err.trim_end(), *want, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The ruleset is compiled for the configured ports within `[dataplane] classifier_memory`,
/// as the daemon's first publication: a budget the rules do not fit is refused here too.
#[test]
fn a_ruleset_over_the_classifier_budget_is_refused() {
    let dir = scratch("budget");
    let mut rules = String::from("*filter\n");
    for i in 0..64 {
        rules.push_str(&format!(
            "-A FORWARD -s 10.0.{i}.0/24 -p tcp --dport {} -j ACCEPT\n",
            1000 + i
        ));
    }
    rules.push_str("COMMIT\n");
    std::fs::write(dir.join("big.rules"), rules).unwrap();
    let text =
        format!("[dataplane]\nclassifier_memory = 1\n\n{PORT}\n[rules]\nfile = \"big.rules\"\n");
    std::fs::write(dir.join("small.toml"), text).unwrap();
    let (code, out, err) = nfdp_config_check(&dir, "small.toml");
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.starts_with("big.rules: ruleset refused: the classifier of chain FORWARD in table filter (64 rules)"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_ipset_file_loads_before_the_rules_and_errors_name_its_line() {
    let dir = scratch("ipset");
    std::fs::write(
        dir.join("gw.rules"),
        "*filter\n-A FORWARD -m set --match-set bl src -j DROP\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sets.ipset"),
        "create bl hash:net\nadd bl 10.0.0.0/8\ncreate ok hash:ip\n",
    )
    .unwrap();
    let cfg = format!("{PORT}\n[rules]\nfile = \"gw.rules\"\nipset_file = \"sets.ipset\"\n");
    std::fs::write(dir.join("gw.toml"), &cfg).unwrap();
    let (code, out, err) = nfdp_config_check(&dir, "gw.toml");
    assert_eq!((code, err.as_str()), (0, ""));
    // Paths are printed as found (relative to the current directory here).
    assert_eq!(
        out,
        "gw.toml: ok (1 port, 1 worker, 0 routes, 0 policy rules, 0 neighbors; rules gw.rules: 1 rule; sets sets.ipset: 2 sets)\n"
    );
    // A broken ipset file: its line; a rule naming a set it lacks: the rules file's line.
    std::fs::write(
        dir.join("sets.ipset"),
        "create bl hash:net\nadd bl 10.0.0.0/33\n",
    )
    .unwrap();
    let (code, out, err) = nfdp_config_check(&dir, "gw.toml");
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "sets.ipset:2: Syntax error: '33' is out of range 0-32\n"
    );
    std::fs::write(dir.join("sets.ipset"), "create other hash:net\n").unwrap();
    let (code, _, err) = nfdp_config_check(&dir, "gw.toml");
    assert_eq!(code, 1);
    assert_eq!(err, "gw.rules:2: Set bl doesn't exist.\n");
    let _ = std::fs::remove_dir_all(&dir);
}
