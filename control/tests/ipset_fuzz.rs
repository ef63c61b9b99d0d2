//! Hostile input never panics the ipset language or `-m set`: random token soups from
//! ipset's vocabulary (commands, types, options, elements) and random text either apply
//! or give an error; whatever loads saves and restores to the same text.

use control::ipset::{exec, print, restore};
use dataplane::ruleset::Ruleset;
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "create",
    "add",
    "del",
    "test",
    "destroy",
    "list",
    "save",
    "flush",
    "rename",
    "swap",
    "restore",
    "-exist",
    "-terse",
    "-name",
    "-n",
    "-t",
    "a",
    "b",
    "l",
    "hash:ip",
    "hash:net",
    "hash:ip,port",
    "hash:net,port",
    "bitmap:port",
    "list:set",
    "hash:foo",
    "family",
    "inet",
    "inet6",
    "hashsize",
    "maxelem",
    "bucketsize",
    "initval",
    "timeout",
    "counters",
    "comment",
    "range",
    "size",
    "nomatch",
    "packets",
    "bytes",
    "0",
    "1",
    "7",
    "65535",
    "4294967296",
    "0x10",
    "-1",
    "1-100",
    "10.0.0.1",
    "10.0.0.0/8",
    "10.0.0.0/0",
    "10.0.0.0/33",
    "10.0.0.1-10.0.0.9",
    "0.0.0.0/0",
    "1.2.3.4,80",
    "1.2.3.4,udp:53",
    "1.2.3.4,icmp:ping",
    "1.2.3.4,icmp:3/1",
    "1.2.3.4,gre:0",
    "1.2.3.4,gre:5",
    "10.0.0.0/24,tcp:1-3",
    "tcp:80",
    "udp:1000-1002",
    "icmp:0",
    "\"x y\"",
    "\"\"",
    "",
    "hash:net,iface",
    "10.0.0.0/8,eth0",
    "1.2.3.4,physdev:br0",
    "0.0.0.0/0,x",
    "10.0.0.1,",
];

fn words(idx: &[usize]) -> Vec<String> {
    idx.iter().map(|i| WORDS[*i].to_string()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn ipset_command_soup_never_panics(cmds in proptest::collection::vec(
        (0..11usize, 16..19usize, proptest::collection::vec(0..WORDS.len(), 0..6)), 1..10)) {
        // A command and a set name, then anything: most lines get past the first words.
        let mut rs = Ruleset::default();
        for (cmd, name, rest) in &cmds {
            let mut line = vec![*cmd, *name];
            line.extend(rest);
            let _ = exec(&mut rs, &words(&line), 1_000_000_000);
        }
        // Whatever the sets became saves and restores to the same text.
        let once = print::save(&rs, None, 1_000_000_000).expect("save");
        let mut again = Ruleset::default();
        restore(&mut again, &once, false, 1_000_000_000).expect("restore of saved output");
        prop_assert_eq!(print::save(&again, None, 1_000_000_000).expect("save"), once);
        let _ = print::list(&rs, None, Default::default(), 1_000_000_000);
    }

    #[test]
    fn ipset_random_text_never_panics(s in "\\PC{0,300}") {
        let _ = restore(&mut Ruleset::default(), &s, false, 0);
    }

    #[test]
    fn set_match_soup_never_panics(idx in proptest::collection::vec(0..12usize, 0..8)) {
        const OPTS: &[&str] = &["--match-set", "a", "src", "dst,src", "src,src,src,src,src,src,src",
            "!", "--return-nomatch", "--update-counters", "--packets-gt", "5", "--bytes-eq", "x"];
        let mut rs = Ruleset::default();
        let _ = exec(&mut rs, &["create".into(), "a".into(), "hash:ip".into()], 0);
        let mut args: Vec<String> = ["-A", "FORWARD", "-m", "set"].iter().map(|s| s.to_string()).collect();
        args.extend(idx.iter().map(|i| OPTS[*i].to_string()));
        if let Ok(cmd) = control::iptables::parse_command(args, control::iptables::Source::CommandLine) {
            let _ = control::iptables::execute(&mut rs, cmd);
        }
    }
}
