use super::*;

const GW: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const GW_MAC: [u8; 6] = [0x7a, 0x31, 0x14, 0x42, 0x10, 0x01];

fn reply_from(sip: Ipv4Addr, sha: [u8; 6]) -> ArpFields {
    ArpFields {
        op: 2,
        htype: 1,
        ptype: 0x800,
        sha,
        sip,
        tha: [2, 0, 0, 0, 0, 9],
        tip: Ipv4Addr::new(192, 168, 1, 9),
    }
}

fn mac(m: [u8; 6], inv: bool) -> MacMatch {
    MacMatch {
        addr: MacAddr(m),
        mask: MacAddr::BROADCAST,
        inv,
    }
}

fn rule(spec: ArpMatch, target: Option<ArpTarget>) -> ArpRule {
    ArpRule {
        spec,
        target,
        ..ArpRule::default()
    }
}

fn user_chain(name: &str, rules: Vec<ArpRule>) -> ArpChain {
    ArpChain {
        name: name.into(),
        policy: None,
        rules,
    }
}

/// The seeds' anti-spoofing rules: the gateway's address is accepted only from its MAC.
fn anti_spoof() -> ArpTable {
    let mut t = ArpTable::default();
    let gw = Some((Ipv4Net::host(GW), false));
    t.chain_mut("INPUT").unwrap().rules = vec![
        rule(
            ArpMatch {
                src_ip: gw,
                src_mac: Some(mac(GW_MAC, false)),
                ..ArpMatch::default()
            },
            Some(ArpTarget::Accept),
        ),
        rule(
            ArpMatch {
                src_ip: gw,
                src_mac: Some(mac(GW_MAC, true)),
                ..ArpMatch::default()
            },
            Some(ArpTarget::Drop),
        ),
    ];
    t.validate().unwrap();
    t
}

fn run(t: &ArpTable, hook: ArpHook, port: &str, f: &mut ArpFields) -> (ArpVerdict, Vec<usize>) {
    let mut hits = Vec::new();
    let v = t.evaluate(hook, port, f, |i| hits.push(i));
    (v, hits)
}

#[test]
fn a_spoofed_reply_for_the_gateway_is_dropped_and_the_real_one_accepted() {
    let t = anti_spoof();
    let mut real = reply_from(GW, GW_MAC);
    assert_eq!(
        run(&t, ArpHook::Input, "lan", &mut real),
        (ArpVerdict::Accept, vec![0])
    );
    let mut spoofed = reply_from(GW, [2, 0, 0, 0, 0, 0x66]);
    assert_eq!(
        run(&t, ArpHook::Input, "lan", &mut spoofed),
        (ArpVerdict::Drop, vec![1])
    );
    // Another sender meets no rule: the policy.
    let mut other = reply_from(Ipv4Addr::new(192, 168, 1, 7), [2, 0, 0, 0, 0, 7]);
    assert_eq!(
        run(&t, ArpHook::Input, "lan", &mut other),
        (ArpVerdict::Accept, vec![])
    );
    // OUTPUT has no rules.
    assert_eq!(
        run(&t, ArpHook::Output, "lan", &mut spoofed).0,
        ArpVerdict::Accept
    );
}

#[test]
fn policy_jumps_returns_and_counting_rules() {
    let mut t = ArpTable::default();
    t.chain_mut("INPUT").unwrap().policy = Some(false);
    t.chain_mut("INPUT").unwrap().rules = vec![
        rule(ArpMatch::default(), None),
        rule(
            ArpMatch {
                in_iface: Some((Iface::new("wan+").unwrap(), false)),
                ..ArpMatch::default()
            },
            Some(ArpTarget::Jump("from_wan".into())),
        ),
        rule(
            ArpMatch {
                opcode: Some(FieldMatch {
                    value: 1,
                    inv: false,
                }),
                ..ArpMatch::default()
            },
            Some(ArpTarget::Accept),
        ),
    ];
    t.chains.push(user_chain(
        "from_wan",
        vec![
            rule(
                ArpMatch {
                    dst_ip: Some((
                        Ipv4Net::with_prefix(Ipv4Addr::new(203, 0, 113, 0), 24),
                        true,
                    )),
                    ..ArpMatch::default()
                },
                Some(ArpTarget::Drop),
            ),
            rule(ArpMatch::default(), Some(ArpTarget::Return)),
            rule(ArpMatch::default(), Some(ArpTarget::Accept)),
        ],
    ));
    t.validate().unwrap();
    let mut request = reply_from(GW, GW_MAC);
    request.op = 1;
    request.tip = Ipv4Addr::new(203, 0, 113, 1);
    // From wan0: counted, jumped, returned (rule 4 is index 1 of from_wan), accepted by
    // the opcode rule.
    assert_eq!(
        run(&t, ArpHook::Input, "wan0", &mut request.clone()),
        (ArpVerdict::Accept, vec![0, 1, 4, 2])
    );
    // A target outside wan's subnet is dropped in the user chain.
    let mut elsewhere = request;
    elsewhere.tip = Ipv4Addr::new(10, 0, 0, 1);
    assert_eq!(
        run(&t, ArpHook::Input, "wan0", &mut elsewhere),
        (ArpVerdict::Drop, vec![0, 1, 3])
    );
    // A reply on the LAN meets only the counting rule: the DROP policy.
    let mut reply = reply_from(GW, GW_MAC);
    assert_eq!(
        run(&t, ArpHook::Input, "lan", &mut reply),
        (ArpVerdict::Drop, vec![0])
    );
}

#[test]
fn mangle_rewrites_the_message_and_continues_or_decides() {
    let mut t = ArpTable::default();
    let m = |verdict| ArpMangle {
        src_ip: Some(Ipv4Addr::new(1, 2, 3, 4)),
        dst_mac: Some(MacAddr([0, 0x11, 0x22, 0x33, 0x44, 0x66])),
        verdict,
        ..ArpMangle::default()
    };
    t.chain_mut("OUTPUT").unwrap().rules = vec![
        rule(
            ArpMatch {
                out_iface: Some((Iface::new("wan").unwrap(), false)),
                ..ArpMatch::default()
            },
            Some(ArpTarget::Mangle(m(MangleVerdict::Continue))),
        ),
        // Sees the rewritten sender.
        rule(
            ArpMatch {
                src_ip: Some((Ipv4Net::host(Ipv4Addr::new(1, 2, 3, 4)), false)),
                ..ArpMatch::default()
            },
            Some(ArpTarget::Mangle(m(MangleVerdict::Drop))),
        ),
    ];
    t.validate().unwrap();
    let mut f = reply_from(GW, GW_MAC);
    assert_eq!(
        run(&t, ArpHook::Output, "wan", &mut f),
        (ArpVerdict::Drop, vec![0, 1])
    );
    assert_eq!(f.sip, Ipv4Addr::new(1, 2, 3, 4));
    assert_eq!(f.tha, [0, 0x11, 0x22, 0x33, 0x44, 0x66]);
    assert_eq!(f.sha, GW_MAC, "the sender MAC is not rewritten");
    let mut lan = reply_from(GW, GW_MAC);
    assert_eq!(
        run(&t, ArpHook::Output, "lan", &mut lan),
        (ArpVerdict::Accept, vec![])
    );
    assert_eq!(lan, reply_from(GW, GW_MAC));
}

#[test]
fn masks_and_negations_on_every_field() {
    let group = MacMatch {
        addr: MacAddr([1, 0, 0, 0, 0, 0]),
        mask: MacAddr([1, 0, 0, 0, 0, 0]),
        inv: false,
    };
    let spec = ArpMatch {
        dst_mac: Some(group),
        htype: Some(FieldMatch {
            value: 6,
            inv: true,
        }),
        ptype: Some(FieldMatch {
            value: 0x800,
            inv: false,
        }),
        in_iface: Some((Iface::new("eth0").unwrap(), true)),
        ..ArpMatch::default()
    };
    let mut f = reply_from(GW, GW_MAC);
    f.tha = [0xff; 6];
    assert!(spec.matches(&f, ArpHook::Input, "eth1"));
    assert!(!spec.matches(&f, ArpHook::Input, "eth0"), "! -i eth0");
    f.tha = [2, 0, 0, 0, 0, 1];
    assert!(
        !spec.matches(&f, ArpHook::Input, "eth1"),
        "unicast target MAC"
    );
    f.tha = [3, 0, 0, 0, 0, 1];
    f.ptype = 0x806;
    assert!(!spec.matches(&f, ArpHook::Input, "eth1"), "proto-type");
    // `! -o X` on input: no output interface, so the negation matches.
    let out = ArpMatch {
        out_iface: Some((Iface::new("eth0").unwrap(), true)),
        ..ArpMatch::default()
    };
    assert!(out.matches(&f, ArpHook::Input, "eth0"));
}

#[test]
fn tables_the_kernel_refuses_are_refused() {
    let jump = |to: &str| rule(ArpMatch::default(), Some(ArpTarget::Jump(to.into())));
    let mut t = ArpTable::default();
    t.chain_mut("INPUT").unwrap().rules = vec![jump("missing")];
    assert!(matches!(t.validate(), Err(ArpTableError::NoChain { .. })));
    t.chain_mut("INPUT").unwrap().rules = vec![jump("OUTPUT")];
    assert!(
        matches!(t.validate(), Err(ArpTableError::NoChain { .. })),
        "a built-in chain"
    );

    let mut t = ArpTable::default();
    t.chains.push(user_chain("a", vec![jump("b")]));
    t.chains.push(user_chain("b", vec![jump("a")]));
    assert!(matches!(t.validate(), Err(ArpTableError::Loop { .. })));

    let mut t = ArpTable::default();
    for i in 0..=MAX_JUMP_DEPTH + 1 {
        t.chains.push(user_chain(
            &format!("c{i}"),
            vec![jump(&format!("c{}", i + 1))],
        ));
    }
    t.chains
        .push(user_chain(&format!("c{}", MAX_JUMP_DEPTH + 2), vec![]));
    assert!(matches!(t.validate(), Err(ArpTableError::TooDeep { .. })));

    // -o reached from INPUT through a user chain.
    let mut t = ArpTable::default();
    t.chain_mut("INPUT").unwrap().rules = vec![jump("u")];
    t.chains.push(user_chain(
        "u",
        vec![rule(
            ArpMatch {
                out_iface: Some((Iface::new("eth0").unwrap(), false)),
                ..ArpMatch::default()
            },
            Some(ArpTarget::Drop),
        )],
    ));
    assert!(matches!(t.validate(), Err(ArpTableError::WrongHook { .. })));
    // The same chain reached from OUTPUT is fine.
    t.chain_mut("INPUT").unwrap().rules.clear();
    t.chain_mut("OUTPUT").unwrap().rules = vec![jump("u")];
    t.validate().unwrap();
}
