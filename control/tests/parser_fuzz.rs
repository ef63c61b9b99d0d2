//! Hostile input never panics the iptables parser or the restore loader: random token
//! soups from iptables' own vocabulary and random bytes either load or give an error.

use control::iptables::{parse_command, restore, save_ruleset, RestoreOptions, Source};
use dataplane::ruleset::Ruleset;
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "-A",
    "-I",
    "-D",
    "-R",
    "-C",
    "-F",
    "-Z",
    "-N",
    "-X",
    "-P",
    "-E",
    "-L",
    "-S",
    "-t",
    "nat",
    "filter",
    "raw",
    "mangle",
    "INPUT",
    "FORWARD",
    "OUTPUT",
    "PREROUTING",
    "POSTROUTING",
    "foo",
    "1",
    "2",
    "0",
    "-1",
    "!",
    "-p",
    "tcp",
    "udp",
    "icmp",
    "all",
    "47",
    "-s",
    "-d",
    "10.0.0.0/8",
    "1.2.3.4",
    "300.1.1.1",
    "0.0.0.0/0",
    "-i",
    "-o",
    "eth+",
    "-f",
    "-m",
    "-j",
    "-g",
    "ACCEPT",
    "DROP",
    "REJECT",
    "LOG",
    "MARK",
    "SNAT",
    "DNAT",
    "MASQUERADE",
    "--dport",
    "--sport",
    "22",
    "1:1023",
    ":",
    "65536",
    "--syn",
    "--tcp-flags",
    "SYN,ACK",
    "ALL",
    "multiport",
    "--dports",
    "22,80:90",
    "state",
    "--state",
    "NEW",
    "conntrack",
    "--ctstate",
    "comment",
    "--comment",
    "x y",
    "limit",
    "--limit",
    "3/hour",
    "0/sec",
    "--limit-burst",
    "statistic",
    "--mode",
    "random",
    "nth",
    "--probability",
    "0.5",
    "--every",
    "--packet",
    "string",
    "--algo",
    "bm",
    "--string",
    "--hex-string",
    "|zz|",
    "time",
    "--timestart",
    "25:00",
    "--weekdays",
    "Mon",
    "--to-source",
    "1.1.1.1-1.1.1.0:5-1",
    "--to-destination",
    ":8080",
    "--to-ports",
    "--set-mark",
    "0xffffffff/0",
    "--reject-with",
    "tcp-reset",
    "--log-prefix",
    "hashlimit",
    "--hashlimit-upto",
    "1kb/s",
    "--hashlimit-name",
    "recent",
    "--set",
    "--name",
    "-c",
    "--set-xmark",
    "icmp",
    "--icmp-type",
    "3/300",
    "-n",
    "-v",
    "--line-numbers",
    "-nvL",
    "SET",
    "--add-set",
    "--del-set",
    "--exist",
    "--timeout",
    "src,dst",
    "HMARK",
    "--hmark-tuple",
    "--hmark-mod",
    "--hmark-rnd",
    "connlabel",
    "--label",
    "CT",
    "--expevents",
    "SYNPROXY",
    "--mss",
    "--wscale",
    "--sack-perm",
    "--timestamp",
    "--ecn",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn command_soup_never_panics(idx in proptest::collection::vec(0..WORDS.len(), 0..14)) {
        let words: Vec<String> = idx.iter().map(|i| WORDS[*i].to_string()).collect();
        let _ = parse_command(words.clone(), Source::CommandLine);
        let mut rs = Ruleset::default();
        if let Ok(cmd) = parse_command(words, Source::CommandLine) {
            let _ = control::iptables::execute(&mut rs, cmd);
        }
    }

    #[test]
    fn restore_soup_never_panics(lines in proptest::collection::vec(
        proptest::collection::vec(0..WORDS.len(), 0..10), 0..8)) {
        let mut text = String::from("*filter\n:foo - [0:0]\n");
        for l in &lines {
            let words: Vec<&str> = l.iter().map(|i| WORDS[*i]).collect();
            text.push_str(&words.join(" "));
            text.push('\n');
        }
        text.push_str("COMMIT\n");
        let mut rs = Ruleset::default();
        if restore(&text, &mut rs, RestoreOptions::default()).is_ok() {
            // Whatever loads must print and reload to the same text.
            let once = save_ruleset(&rs, false);
            let mut again = Ruleset::default();
            restore(&once, &mut again, RestoreOptions::default()).expect("reload of saved output");
            prop_assert_eq!(save_ruleset(&again, false), once);
        }
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,300}") {
        let _ = restore(&s, &mut Ruleset::default(), RestoreOptions::default());
    }
}
