//! Tests that need no daemon: conntrack's options into the filter, argv[0] dispatch,
//! install-links.

use super::ct_args::{parse, CtCommand};
use super::links::{install_links, LINK_NAMES};
use super::{tool_for_argv0, Tool};
use crate::api::pb::ConntrackFilter;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn filter(s: &str) -> ConntrackFilter {
    parse(&args(s))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .filter
}

#[test]
fn every_filter_option() {
    let d = ConntrackFilter::default;
    assert_eq!(
        filter("-L -p tcp"),
        ConntrackFilter {
            proto: Some(6),
            ..d()
        }
    );
    assert_eq!(
        filter("-L --protonum 47"),
        ConntrackFilter {
            proto: Some(47),
            ..d()
        }
    );
    assert_eq!(
        filter("-L -s 10.0.0.1"),
        ConntrackFilter {
            orig_src: Some("10.0.0.1".into()),
            family: Some(4),
            ..d()
        }
    );
    assert_eq!(
        filter("-L --orig-src 10.0.0.0/8"),
        ConntrackFilter {
            orig_src: Some("10.0.0.0/8".into()),
            family: Some(4),
            ..d()
        }
    );
    assert_eq!(
        filter("-L --src 1.1.1.1"),
        ConntrackFilter {
            orig_src: Some("1.1.1.1".into()),
            family: Some(4),
            ..d()
        }
    );
    assert_eq!(
        filter("-L -d 2.2.2.2"),
        ConntrackFilter {
            orig_dst: Some("2.2.2.2".into()),
            family: Some(4),
            ..d()
        }
    );
    assert_eq!(
        filter("-L --orig-dst 2.2.2.2"),
        ConntrackFilter {
            orig_dst: Some("2.2.2.2".into()),
            family: Some(4),
            ..d()
        }
    );
    assert_eq!(
        filter("-L -r 3.3.3.3"),
        ConntrackFilter {
            reply_src: Some("3.3.3.3".into()),
            family: Some(4),
            ..d()
        }
    );
    assert_eq!(
        filter("-L --reply-src 3.3.3.3"),
        ConntrackFilter {
            reply_src: Some("3.3.3.3".into()),
            family: Some(4),
            ..d()
        }
    );
    assert_eq!(
        filter("-L -q 4.4.4.4"),
        ConntrackFilter {
            reply_dst: Some("4.4.4.4".into()),
            family: Some(4),
            ..d()
        }
    );
    assert_eq!(
        filter("-L --reply-dst 4.4.4.4"),
        ConntrackFilter {
            reply_dst: Some("4.4.4.4".into()),
            family: Some(4),
            ..d()
        }
    );
    let ports = ConntrackFilter {
        proto: Some(17),
        orig_sport: Some(1),
        orig_dport: Some(2),
        reply_sport: Some(3),
        reply_dport: Some(4),
        ..d()
    };
    assert_eq!(
        filter("-L -p udp --sport 1 --dport 2 --reply-port-src 3 --reply-port-dst 4"),
        ports
    );
    assert_eq!(
        filter(
            "-L -p udp --orig-port-src 1 --orig-port-dst 2 --reply-port-src=3 --reply-port-dst=4"
        ),
        ports
    );
    assert_eq!(
        filter("-L -p tcp --state ESTABLISHED,time_wait"),
        ConntrackFilter {
            proto: Some(6),
            tcp_state: vec!["ESTABLISHED".into(), "TIME_WAIT".into()],
            ..d()
        }
    );
    assert_eq!(
        filter("-L -m 7"),
        ConntrackFilter {
            mark: Some(7),
            ..d()
        }
    );
    assert_eq!(
        filter("-L --mark 0x10/0xf0"),
        ConntrackFilter {
            mark: Some(16),
            mark_mask: Some(0xf0),
            ..d()
        }
    );
    assert_eq!(
        filter("-L -u ASSURED,SEEN_REPLY"),
        ConntrackFilter {
            status: vec!["ASSURED".into(), "SEEN_REPLY".into()],
            ..d()
        }
    );
    assert_eq!(
        filter("-L --status UNSET"),
        ConntrackFilter {
            status: vec!["UNSET".into()],
            ..d()
        }
    );
    assert_eq!(
        filter("-L -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 4660"),
        ConntrackFilter {
            proto: Some(1),
            icmp_type: Some(8),
            icmp_code: Some(0),
            icmp_id: Some(4660),
            ..d()
        }
    );
    assert_eq!(
        filter("-L --src-nat"),
        ConntrackFilter {
            src_nat: true,
            ..d()
        }
    );
    assert_eq!(
        filter("-L -n -g"),
        ConntrackFilter {
            src_nat: true,
            dst_nat: true,
            ..d()
        }
    );
    assert_eq!(
        filter("-D --dst-nat"),
        ConntrackFilter {
            dst_nat: true,
            ..d()
        }
    );
    assert_eq!(
        filter("-L -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 77"),
        ConntrackFilter {
            proto: Some(58),
            icmp_type: Some(128),
            icmp_code: Some(0),
            icmp_id: Some(77),
            ..d()
        }
    );
    // An IPv6 address implies -f ipv6, as in conntrack-tools.
    assert_eq!(
        filter("-D -s 2001:db8::/32 -d 2001:db8:1::5 -r 2001:db8:1::5 -q 2001:db8::3"),
        ConntrackFilter {
            orig_src: Some("2001:db8::/32".into()),
            orig_dst: Some("2001:db8:1::5".into()),
            reply_src: Some("2001:db8:1::5".into()),
            reply_dst: Some("2001:db8::3".into()),
            family: Some(6),
            ..d()
        }
    );
    assert_eq!(
        filter("-L -f ipv6 -s 2001:db8::1"),
        filter("-L -s 2001:db8::1 -f ipv6")
    );
    // Attached short values, as getopt takes them.
    assert_eq!(
        filter("-L -ptcp -s10.0.0.1"),
        ConntrackFilter {
            proto: Some(6),
            orig_src: Some("10.0.0.1".into()),
            family: Some(4),
            ..d()
        }
    );
}

#[test]
fn commands_output_and_event_mask() {
    let cmd = |s: &str| parse(&args(s)).unwrap().command;
    assert_eq!(cmd("-L"), Some(CtCommand::List));
    assert_eq!(cmd("-U -m 5"), Some(CtCommand::Update));
    assert_eq!(cmd("--dump"), Some(CtCommand::List));
    assert_eq!(cmd("-L conntrack"), Some(CtCommand::List));
    assert_eq!(
        cmd("-G -p tcp -s 1.1.1.1 -d 2.2.2.2 --sport 1 --dport 2"),
        Some(CtCommand::Get)
    );
    assert_eq!(cmd("-G -p udp -r 1.1.1.1 -q 2.2.2.2"), Some(CtCommand::Get));
    assert_eq!(cmd("-D -p tcp"), Some(CtCommand::Delete));
    assert_eq!(cmd("-F"), Some(CtCommand::Flush));
    assert_eq!(cmd("-C"), Some(CtCommand::Count));
    assert_eq!(cmd("-S"), Some(CtCommand::Stats));
    assert_eq!(cmd("-E"), Some(CtCommand::Events));
    assert_eq!(cmd(""), None);
    assert!(parse(&args("-L -o extended")).unwrap().extended);
    assert!(parse(&args("-L -o extended,id")).unwrap().extended);
    assert!(!parse(&args("-L -o id")).unwrap().extended);
    assert!(parse(&args("-L -o extended,labels")).unwrap().labels);
    assert!(!parse(&args("-L -o extended")).unwrap().labels);
    assert_eq!(
        parse(&args("-E -e NEW,destroy")).unwrap().event_types,
        vec!["NEW", "DESTROY"]
    );
    assert_eq!(
        parse(&args("-E --event-mask ALL")).unwrap().event_types,
        vec!["NEW", "UPDATE", "DESTROY"]
    );
    assert!(parse(&args("-V")).unwrap().version);
}

#[test]
fn refused_options_say_what_conntrack_says() {
    let err = |s: &str| {
        let e = parse(&args(s)).expect_err(s);
        (e.to_string(), e.exit_code())
    };
    let usage = |m: &str| {
        (format!("conntrack v1.4.7 (conntrack-tools): {m}\nTry `conntrack -h' or 'conntrack --help' for more information.\n"), 2)
    };
    assert_eq!(err("-L -s bogus"), usage("Invalid IP address `bogus'"));
    // Transcripts of conntrack 1.4.7 against Linux 6.x (network namespace, conntrack -I
    // entries of both families).
    assert_eq!(
        err("-L -s 10.0.0.1 -d 2001:db8::2"),
        usage("mismatched address family")
    );
    assert_eq!(
        err("-L -s 2001:db8::1 -r 10.0.0.2"),
        usage("mismatched address family")
    );
    assert_eq!(
        err("-L -f ipv4 -s 2001:db8::1"),
        usage("mismatched address family")
    );
    assert_eq!(
        err("-D -s 10.0.0.1 -f ipv6"),
        usage("mismatched address family")
    );
    assert_eq!(
        err("-U -s 2001:db8::3 -m 5 -f ipv4"),
        usage("mismatched address family")
    );
    assert_eq!(
        err("-G -s 10.0.0.3 -d 10.0.0.4 -p icmp --icmp-code 0 --icmp-id 77"),
        usage("You need to supply the `--icmp-type' option for this command")
    );
    assert_eq!(
        err("-G -s 10.0.0.3 -d 10.0.0.4 -p icmp --icmp-type 8 --icmp-id 77"),
        usage("You need to supply the `--icmp-code' option for this command")
    );
    assert_eq!(
        err("-G -s 2001:db8::3 -d 2001:db8::4 -p icmpv6"),
        usage("You need to supply the `--icmpv6-type' option for this command")
    );
    assert_eq!(
        err("-G -s 2001:db8::3 -d 2001:db8::4 -p icmpv6 --icmpv6-type 128 --icmpv6-id 77"),
        usage("You need to supply the `--icmpv6-code' option for this command")
    );
    assert_eq!(
        err("-L -p icmpv6 --icmp-type 128"),
        usage("unknown option `--icmp-type'")
    );
    assert_eq!(
        err("-L -p icmp --icmpv6-type 128"),
        usage("unknown option `--icmpv6-type'")
    );
    assert_eq!(
        err("-L -f ipv4 -f ipv6"),
        usage("mismatched address family")
    );
    assert_eq!(err("-L -s 2001:db8::/129"), usage("Invalid netmask"));
    assert_eq!(err("-L -s 2001:db8::/x"), usage("Invalid netmask"));
    assert_eq!(err("-L -s 10.0.0.0/x"), usage("Invalid netmask"));
    assert_eq!(err("-L -s 10.0.0.0/33"), usage("Invalid netmask"));
    assert_eq!(
        err("-L -s 2001:db8::zz/64"),
        usage("Invalid IP address `2001:db8::zz/64'")
    );
    assert_eq!(
        err("-L -q 2001:db8::4/127"),
        usage("CIDR notation unavailable for `--reply-dst'")
    );
    assert_eq!(
        err("-D -s 10.0.0.0/8 -r 10.0.0.0/8"),
        usage("CIDR notation unavailable for `--reply-src'")
    );
    assert_eq!(
        err("-G -f ipv6 -s 2001:db8::3 -d 2001:db8::4 -p udp --sport 53 --dport 5353"),
        usage("Illegal option `--family' with this command")
    );
    assert_eq!(
        err("-G -s 2001:db8::3 -d 10.0.0.1 -p udp --sport 53 --dport 5353"),
        usage("mismatched address family")
    );
    assert_eq!(err("-L -o foo"), usage("Bad parameter `foo'"));
    assert_eq!(
        err("-L -p tcp --state FOO"),
        usage("unknown TCP state `FOO'")
    );
    assert_eq!(err("-L -u FOO"), usage("Bad parameter `FOO'"));
    assert_eq!(err("-E -e FOO"), usage("Bad parameter `FOO'"));
    assert_eq!(err("-X"), usage("unknown option `-X'"));
    assert_eq!(err("-L -p"), usage("option `-p' requires an argument"));
    assert_eq!(err("-L -q"), usage("option `-q' requires an argument"));
    assert_eq!(
        err("-G -s 1.1.1.1 -d 2.2.2.2"),
        usage("You need to supply the `--protonum' option for this command")
    );
    assert_eq!(err("-L extra"), usage("unknown type `extra'"));
    assert_eq!(
        err("-C -p tcp"),
        usage("Illegal option `--protonum' with this command")
    );
    assert_eq!(
        err("-L -p icmp --dport 1"),
        usage("unknown option `--dport'")
    );
    assert_eq!(
        err("-L -p udp --icmp-type 1"),
        usage("unknown option `--icmp-type'")
    );
    assert_eq!(err("-L -E"), usage("Invalid commands combination"));
    // What nfdp cannot do is refused rather than widened.
    assert_eq!(err("-D --src-nat=1.2.3.4").1, 1);
    assert_eq!(err("-I -p tcp").1, 1);
    assert_eq!(err("-U -s 2001:db8::3 -u ASSURED -m 1").1, 1);
    assert_eq!(err("-L -o xml").1, 1);
}

#[test]
fn argv0_selects_the_tool() {
    assert_eq!(tool_for_argv0("iptables"), Some(Tool::Iptables));
    assert_eq!(
        tool_for_argv0("/usr/local/nfdp/bin/iptables"),
        Some(Tool::Iptables)
    );
    assert_eq!(tool_for_argv0("iptables-legacy"), Some(Tool::Iptables));
    assert_eq!(tool_for_argv0("iptables-nft"), Some(Tool::Iptables));
    assert_eq!(tool_for_argv0("iptables-save"), Some(Tool::IptablesSave));
    assert_eq!(
        tool_for_argv0("iptables-nft-save"),
        Some(Tool::IptablesSave)
    );
    assert_eq!(
        tool_for_argv0("iptables-legacy-restore"),
        Some(Tool::IptablesRestore)
    );
    assert_eq!(
        tool_for_argv0("./iptables-restore"),
        Some(Tool::IptablesRestore)
    );
    assert_eq!(tool_for_argv0("conntrack"), Some(Tool::Conntrack));
    assert_eq!(tool_for_argv0("/usr/local/sbin/ipset"), Some(Tool::Ipset));
    assert_eq!(tool_for_argv0("nfdpctl"), None);
    assert_eq!(tool_for_argv0("ip6tables"), Some(Tool::Ip6tables));
    assert_eq!(
        tool_for_argv0("/usr/sbin/ip6tables-nft-save"),
        Some(Tool::Ip6tablesSave)
    );
    assert_eq!(
        tool_for_argv0("ip6tables-restore"),
        Some(Tool::Ip6tablesRestore)
    );
    assert_eq!(tool_for_argv0("ip6tables-translate"), None);
}

#[test]
fn install_links_is_idempotent_and_refuses_files() {
    let dir = std::env::temp_dir().join(format!("nfdpctl-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let target = std::path::Path::new("/usr/sbin/nfdpctl");
    install_links(&dir.join("bin"), target).unwrap();
    install_links(&dir.join("bin"), target).unwrap();
    for n in LINK_NAMES {
        assert_eq!(
            std::fs::read_link(dir.join("bin").join(n)).unwrap(),
            target,
            "{n}"
        );
    }
    // A link that points elsewhere is moved to the new target.
    let other = std::path::Path::new("/opt/nfdpctl");
    install_links(&dir.join("bin"), other).unwrap();
    assert_eq!(
        std::fs::read_link(dir.join("bin/conntrack")).unwrap(),
        other
    );
    // A regular file is not overwritten, and nothing else changes.
    std::fs::remove_file(dir.join("bin/iptables-save")).unwrap();
    std::fs::write(dir.join("bin/iptables-save"), "operator's").unwrap();
    assert!(install_links(&dir.join("bin"), target).is_err());
    assert_eq!(
        std::fs::read_to_string(dir.join("bin/iptables-save")).unwrap(),
        "operator's"
    );
    assert_eq!(std::fs::read_link(dir.join("bin/iptables")).unwrap(), other);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `-o labels` as libnetfilter_conntrack prints them: the names the map has for the set
/// bits, in bit order, after `use=`; `labels` alone when no bit has a name.
#[test]
fn labels_after_the_entry() {
    use super::ct_format::{append_labels, entry_line, Format};
    use crate::api::pb::ConntrackEntry;
    use crate::iptables::ext::connlabel::LabelMap;
    let map = LabelMap::parse("1 vpn\n5 guest\n").unwrap();
    let mut e = ConntrackEntry {
        proto: 17,
        timeout: 30,
        r#use: 1,
        ..Default::default()
    };
    let plain = entry_line(&e, Format::default());
    let with = |e: &ConntrackEntry| {
        let mut l = entry_line(e, Format::default());
        append_labels(&mut l, e, &map);
        l
    };
    assert_eq!(with(&e), plain, "no bit set: nothing");
    e.labels = vec![5, 1, 9];
    assert_eq!(with(&e), format!("{plain} labels=vpn,guest"));
    e.labels = vec![9];
    assert_eq!(with(&e), format!("{plain} labels"));
}
