use super::elem::{CounterCmp, TestFlags};
use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const S: u64 = 1_000_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn v4(s: &str) -> u32 {
    u32::from(s.parse::<Ipv4Addr>().unwrap())
}

fn pkt(src: &str, dst: &str) -> PacketFields<'static> {
    PacketFields {
        addrs: PacketAddrs::V4 {
            src: v4(src),
            dst: v4(dst),
        },
        proto: IPPROTO_UDP,
        ports: Some((1234, 53)),
        len: 100,
        ifaces: PacketIfaces {
            input: Some("wan0"),
            output: Some("lan0"),
        },
    }
}

const SRC: Dirs = Dirs {
    src_bits: 0b1,
    count: 1,
};
const DST: Dirs = Dirs {
    src_bits: 0,
    count: 1,
};
const SRC_DST: Dirs = Dirs {
    src_bits: 0b01,
    count: 2,
};

fn table(name: &str, t: SetType, o: SetOptions) -> (SetTable, u32) {
    let mut tab = SetTable::default();
    let i = tab.create(name, IpSet::new(t, o), false).unwrap();
    (tab, i)
}

fn add(tab: &mut SetTable, name: &str, e: Elem) {
    tab.set_mut(name)
        .unwrap()
        .add(&e, &AddExt::default(), false, 0)
        .unwrap();
}

fn none() -> TestFlags {
    TestFlags::default()
}

#[test]
fn hash_ip_matches_only_its_addresses() {
    let (mut t, i) = table("a", SetType::HashIp, SetOptions::default());
    add(&mut t, "a", Elem::Ip(ip("10.0.0.1")));
    assert!(t.test_packet(i, &pkt("10.0.0.1", "1.1.1.1"), SRC, &none(), 0));
    assert!(!t.test_packet(i, &pkt("10.0.0.2", "1.1.1.1"), SRC, &none(), 0));
    assert!(!t.test_packet(i, &pkt("10.0.0.1", "1.1.1.1"), DST, &none(), 0));
    assert!(t.test_packet(i, &pkt("1.1.1.1", "10.0.0.1"), DST, &none(), 0));
}

#[test]
fn hash_net_longest_prefix_and_nomatch() {
    let (mut t, i) = table("n", SetType::HashNet, SetOptions::default());
    add(&mut t, "n", Elem::Net(ip("10.0.0.0"), 8));
    let nomatch = AddExt {
        nomatch: true,
        ..AddExt::default()
    };
    t.set_mut("n")
        .unwrap()
        .add(&Elem::Net(ip("10.1.0.0"), 16), &nomatch, false, 0)
        .unwrap();
    add(&mut t, "n", Elem::Net(ip("10.1.2.0"), 24));
    let hit = |a: &str, f: &TestFlags| t.test_packet(i, &pkt(a, "1.1.1.1"), SRC, f, 0);
    assert!(hit("10.200.0.1", &none()));
    assert!(!hit("10.1.9.9", &none()), "the nomatch /16 carves a hole");
    assert!(
        hit("10.1.2.3", &none()),
        "a longer prefix inside the hole matches"
    );
    assert!(!hit("11.0.0.1", &none()));
    let ret = TestFlags {
        return_nomatch: true,
        ..none()
    };
    assert!(
        hit("10.1.9.9", &ret),
        "--return-nomatch: the nomatch entry matches"
    );
    assert!(
        !hit("10.200.0.1", &ret),
        "--return-nomatch: a normal entry does not"
    );
    assert!(!hit("11.0.0.1", &ret));
    // `ipset test` of a network: the entry itself, not a containing one.
    let set = &t.get(i).unwrap().set;
    assert!(set.test_elem(&Elem::Net(ip("10.0.0.0"), 8), 0));
    assert!(!set.test_elem(&Elem::Net(ip("10.0.0.0"), 9), 0));
    assert!(!set.test_elem(&Elem::Net(ip("10.1.0.0"), 16), 0));
    // A host address is looked up as a packet's.
    assert!(set.test_elem(&Elem::Net(ip("10.9.9.9"), 32), 0));
    assert!(
        !set.test_elem(&Elem::Net(ip("10.1.9.9"), 32), 0),
        "in the nomatch /16"
    );
    assert!(set.test_elem(&Elem::Net(ip("10.1.2.9"), 32), 0));
}

#[test]
fn hash_net_deleting_the_last_of_a_prefix_stops_probing_it() {
    let (mut t, i) = table("n", SetType::HashNet, SetOptions::default());
    add(&mut t, "n", Elem::Net(ip("192.168.0.0"), 16));
    add(&mut t, "n", Elem::Net(ip("10.0.0.0"), 8));
    t.set_mut("n")
        .unwrap()
        .del(&Elem::Net(ip("10.0.0.0"), 8), false, 0)
        .unwrap();
    assert!(!t.test_packet(i, &pkt("10.0.0.1", "1.1.1.1"), SRC, &none(), 0));
    assert!(t.test_packet(i, &pkt("192.168.3.4", "1.1.1.1"), SRC, &none(), 0));
    assert_eq!(t.get(i).unwrap().set.len(), 1);
    assert_eq!(
        t.set_mut("n")
            .unwrap()
            .del(&Elem::Net(ip("10.0.0.0"), 8), false, 0),
        Err(SetError::NotAdded)
    );
    assert_eq!(
        t.set_mut("n")
            .unwrap()
            .del(&Elem::Net(ip("10.0.0.0"), 8), true, 0),
        Ok(())
    );
}

#[test]
fn ip_port_types_need_two_dimensions_and_the_protocol() {
    let (mut t, i) = table("p", SetType::HashIpPort, SetOptions::default());
    add(&mut t, "p", Elem::IpPort(ip("10.0.0.1"), IPPROTO_UDP, 53));
    let p = pkt("1.1.1.1", "10.0.0.1");
    let dst_dst = Dirs {
        src_bits: 0,
        count: 2,
    };
    assert!(t.test_packet(i, &p, dst_dst, &none(), 0));
    assert!(
        !t.test_packet(i, &p, DST, &none(), 0),
        "one direction for a 2-dimension set"
    );
    assert!(!t.test_packet(i, &p, SRC_DST, &none(), 0));
    let tcp = PacketFields {
        proto: IPPROTO_TCP,
        ..p
    };
    assert!(!t.test_packet(i, &tcp, dst_dst, &none(), 0));
    let fragment = PacketFields { ports: None, ..p };
    assert!(!t.test_packet(i, &fragment, dst_dst, &none(), 0));

    let (mut t, i) = table("np", SetType::HashNetPort, SetOptions::default());
    add(
        &mut t,
        "np",
        Elem::NetPort(ip("10.0.0.0"), 24, IPPROTO_UDP, 53),
    );
    let nomatch = AddExt {
        nomatch: true,
        ..AddExt::default()
    };
    t.set_mut("np")
        .unwrap()
        .add(
            &Elem::NetPort(ip("10.0.0.128"), 25, IPPROTO_UDP, 53),
            &nomatch,
            false,
            0,
        )
        .unwrap();
    assert!(t.test_packet(i, &pkt("1.1.1.1", "10.0.0.9"), dst_dst, &none(), 0));
    assert!(!t.test_packet(i, &pkt("1.1.1.1", "10.0.0.200"), dst_dst, &none(), 0));
    assert!(!t.test_packet(i, &pkt("1.1.1.1", "10.0.1.9"), dst_dst, &none(), 0));
}

#[test]
fn bitmap_port_range_and_protocols() {
    let o = SetOptions {
        range: (1000, 2000),
        ..SetOptions::default()
    };
    let (mut t, i) = table("b", SetType::BitmapPort, o);
    add(&mut t, "b", Elem::Port(1234));
    assert_eq!(
        t.set_mut("b")
            .unwrap()
            .add(&Elem::Port(80), &AddExt::default(), false, 0),
        Err(SetError::OutOfRange)
    );
    let p = pkt("1.1.1.1", "2.2.2.2"); // ports 1234 -> 53
    assert!(t.test_packet(i, &p, SRC, &none(), 0));
    assert!(!t.test_packet(i, &p, DST, &none(), 0));
    let icmp = PacketFields {
        proto: IPPROTO_ICMP,
        ports: Some((1234, 1234)),
        ..p
    };
    assert!(
        !t.test_packet(i, &icmp, SRC, &none(), 0),
        "TCP and UDP only"
    );
}

#[test]
fn timeouts_expire_on_the_packet_clock() {
    let o = SetOptions {
        timeout: Some(10),
        ..SetOptions::default()
    };
    let (mut t, i) = table("t", SetType::HashIp, o);
    let set = t.set_mut("t").unwrap();
    set.add(
        &Elem::Ip(ip("10.0.0.1")),
        &AddExt::default(),
        false,
        100 * S,
    )
    .unwrap();
    let short = AddExt {
        timeout: Some(2),
        ..AddExt::default()
    };
    set.add(&Elem::Ip(ip("10.0.0.2")), &short, false, 100 * S)
        .unwrap();
    let forever = AddExt {
        timeout: Some(0),
        ..AddExt::default()
    };
    set.add(&Elem::Ip(ip("10.0.0.3")), &forever, false, 100 * S)
        .unwrap();
    let hit = |a: &str, now: u64| t.test_packet(i, &pkt(a, "1.1.1.1"), SRC, &none(), now);
    assert!(hit("10.0.0.1", 109 * S));
    assert!(!hit("10.0.0.1", 110 * S));
    assert!(hit("10.0.0.2", 101 * S));
    assert!(!hit("10.0.0.2", 102 * S));
    assert!(hit("10.0.0.3", 1_000_000 * S));
    let listed = t.get(i).unwrap().set.elements(101 * S);
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].1.seconds_left(101 * S), Some(9));
    assert_eq!(listed[2].1.seconds_left(101 * S), None);
    assert_eq!(t.get(i).unwrap().set.elements(110 * S).len(), 1);
    // An expired element may be added again without -exist.
    t.set_mut("t")
        .unwrap()
        .add(
            &Elem::Ip(ip("10.0.0.2")),
            &AddExt::default(),
            false,
            200 * S,
        )
        .unwrap();
    // A set without timeout refuses element timeouts.
    let (mut t2, _) = table("p", SetType::HashIp, SetOptions::default());
    assert_eq!(
        t2.set_mut("p")
            .unwrap()
            .add(&Elem::Ip(ip("10.0.0.1")), &short, false, 0),
        Err(SetError::NoTimeout)
    );
}

#[test]
fn counters_count_and_compare() {
    let o = SetOptions {
        counters: true,
        ..SetOptions::default()
    };
    let (mut t, i) = table("c", SetType::HashIp, o);
    add(&mut t, "c", Elem::Ip(ip("10.0.0.1")));
    let p = pkt("10.0.0.1", "1.1.1.1");
    for _ in 0..3 {
        assert!(t.test_packet(i, &p, SRC, &none(), 0));
    }
    let skip = TestFlags {
        skip_counter_update: true,
        ..none()
    };
    assert!(t.test_packet(i, &p, SRC, &skip, 0));
    let e = &t.get(i).unwrap().set.elements(0)[0].1;
    let c = e.counters.as_ref().unwrap();
    assert_eq!((c.packets(), c.bytes()), (3, 300));
    // Counters update before the comparison, as the kernel does.
    let gt4 = TestFlags {
        packets: Some((CounterCmp::Gt, 4)),
        ..none()
    };
    assert!(!t.test_packet(i, &p, SRC, &gt4, 0)); // 4 now
    assert!(t.test_packet(i, &p, SRC, &gt4, 0)); // 5
    let bytes_lt = TestFlags {
        bytes: Some((CounterCmp::Lt, 500)),
        skip_counter_update: true,
        ..none()
    };
    assert!(!t.test_packet(i, &p, SRC, &bytes_lt, 0));
    // Snapshots share counters: an edit after the hits keeps them.
    let snapshot = t.clone();
    add(&mut t, "c", Elem::Ip(ip("10.0.0.2")));
    assert!(snapshot.test_packet(i, &p, SRC, &none(), 0));
    let c = t.get(i).unwrap().set.elements(0)[0]
        .1
        .counters
        .clone()
        .unwrap();
    assert_eq!(c.packets(), 6);
}

#[test]
fn maxelem_full_and_duplicates() {
    let o = SetOptions {
        maxelem: 2,
        ..SetOptions::default()
    };
    let (mut t, _) = table("f", SetType::HashIp, o);
    add(&mut t, "f", Elem::Ip(ip("10.0.0.1")));
    add(&mut t, "f", Elem::Ip(ip("10.0.0.2")));
    let set = t.set_mut("f").unwrap();
    let e = AddExt::default();
    assert_eq!(
        set.add(&Elem::Ip(ip("10.0.0.3")), &e, false, 0),
        Err(SetError::HashFull)
    );
    assert_eq!(
        set.add(&Elem::Ip(ip("10.0.0.1")), &e, false, 0),
        Err(SetError::AlreadyAdded)
    );
    assert_eq!(set.add(&Elem::Ip(ip("10.0.0.1")), &e, true, 0), Ok(()));
    assert_eq!(
        SetError::HashFull.to_string(),
        "Hash is full, cannot add more elements"
    );
}

#[test]
fn list_set_tries_members_in_order() {
    let mut t = SetTable::default();
    let a = t
        .create(
            "a",
            IpSet::new(SetType::HashIp, SetOptions::default()),
            false,
        )
        .unwrap();
    let o = SetOptions {
        counters: true,
        ..SetOptions::default()
    };
    let b = t
        .create("b", IpSet::new(SetType::HashNet, o), false)
        .unwrap();
    let l = t
        .create(
            "l",
            IpSet::new(SetType::ListSet, SetOptions::default()),
            false,
        )
        .unwrap();
    add(&mut t, "a", Elem::Ip(ip("10.0.0.1")));
    add(&mut t, "b", Elem::Net(ip("192.168.0.0"), 16));
    add(&mut t, "l", Elem::Set(a));
    add(&mut t, "l", Elem::Set(b));
    assert!(t.test_packet(l, &pkt("10.0.0.1", "9.9.9.9"), SRC, &none(), 0));
    assert!(t.test_packet(l, &pkt("192.168.1.1", "9.9.9.9"), SRC, &none(), 0));
    assert!(!t.test_packet(l, &pkt("10.0.0.2", "9.9.9.9"), SRC, &none(), 0));
    let skip_sub = TestFlags {
        skip_subcounter_update: true,
        ..none()
    };
    assert!(t.test_packet(l, &pkt("192.168.1.1", "9.9.9.9"), SRC, &skip_sub, 0));
    let c = t.get(b).unwrap().set.elements(0)[0]
        .1
        .counters
        .clone()
        .unwrap();
    assert_eq!(
        c.packets(),
        1,
        "! --update-subcounters left the member's counter"
    );
    // Members cannot go while listed; the list goes first.
    assert_eq!(t.destroy("a", false), Err(SetError::InUseDestroy));
    assert_eq!(t.rename("a", "z", false), Err(SetError::InUseRename));
    t.destroy("l", false).unwrap();
    t.destroy("a", false).unwrap();
    assert_eq!(t.index("a"), None);
    // A freed index is reused.
    let c = t
        .create(
            "c",
            IpSet::new(SetType::HashIp, SetOptions::default()),
            false,
        )
        .unwrap();
    assert_eq!(c, a);
}

#[test]
fn swap_exchanges_contents_under_the_names() {
    let mut t = SetTable::default();
    let a = t
        .create(
            "a",
            IpSet::new(SetType::HashIp, SetOptions::default()),
            false,
        )
        .unwrap();
    t.create(
        "b",
        IpSet::new(SetType::HashIp, SetOptions::default()),
        false,
    )
    .unwrap();
    t.create(
        "n",
        IpSet::new(SetType::HashNet, SetOptions::default()),
        false,
    )
    .unwrap();
    add(&mut t, "b", Elem::Ip(ip("10.0.0.9")));
    let p = pkt("10.0.0.9", "1.1.1.1");
    assert!(!t.test_packet(a, &p, SRC, &none(), 0));
    t.swap("a", "b").unwrap();
    assert!(t.test_packet(a, &p, SRC, &none(), 0));
    assert_eq!(t.swap("a", "n"), Err(SetError::TypeMismatch));
    assert_eq!(t.swap("a", "zz"), Err(SetError::NoSuchSet));
}

#[test]
fn options_are_normalised_as_the_kernel_does() {
    let mut o = SetOptions {
        hashsize: 10,
        bucketsize: 3,
        ..SetOptions::default()
    };
    o.normalise();
    assert_eq!((o.hashsize, o.bucketsize), (64, 4));
    let mut o = SetOptions {
        hashsize: 1000,
        ..SetOptions::default()
    };
    o.normalise();
    assert_eq!(o.hashsize, 1024);
}

#[test]
fn hash_net_iface_takes_the_input_or_output_interface() {
    let (mut t, i) = table("ni", SetType::HashNetIface, SetOptions::default());
    add(
        &mut t,
        "ni",
        Elem::NetIface(ip("10.0.0.0"), 8, "wan0".into(), false),
    );
    add(
        &mut t,
        "ni",
        Elem::NetIface(ip("192.168.0.0"), 16, "lan0".into(), false),
    );
    add(
        &mut t,
        "ni",
        Elem::NetIface(ip("172.16.0.0"), 12, "br0".into(), true),
    );
    let nomatch = AddExt {
        nomatch: true,
        ..AddExt::default()
    };
    t.set_mut("ni")
        .unwrap()
        .add(
            &Elem::NetIface(ip("10.9.0.0"), 16, "wan0".into(), false),
            &nomatch,
            false,
            0,
        )
        .unwrap();
    let src_in = Dirs {
        src_bits: 0b11,
        count: 2,
    };
    let dst_out = Dirs {
        src_bits: 0,
        count: 2,
    };
    // pkt(): in wan0, out lan0.
    assert!(t.test_packet(i, &pkt("10.1.1.1", "1.1.1.1"), src_in, &none(), 0));
    assert!(
        !t.test_packet(i, &pkt("10.9.1.1", "1.1.1.1"), src_in, &none(), 0),
        "nomatch"
    );
    assert!(
        !t.test_packet(i, &pkt("10.1.1.1", "1.1.1.1"), SRC_DST, &none(), 0),
        "out is lan0"
    );
    assert!(t.test_packet(i, &pkt("1.1.1.1", "192.168.3.3"), dst_out, &none(), 0));
    assert!(
        !t.test_packet(i, &pkt("172.16.1.1", "1.1.1.1"), src_in, &none(), 0),
        "physdev"
    );
    let no_out = PacketFields {
        ifaces: PacketIfaces {
            input: Some("wan0"),
            output: None,
        },
        ..pkt("1.1.1.1", "192.168.3.3")
    };
    assert!(
        !t.test_packet(i, &no_out, dst_out, &none(), 0),
        "no output interface yet"
    );
    let set = &t.get(i).unwrap().set;
    assert!(set.test_elem(&Elem::NetIface(ip("10.2.2.2"), 32, "wan0".into(), false), 0));
    assert_eq!(set.elements(0).len(), 4);
}

// -j SET from the packet side (kadt.rs).

/// A UDP packet from the LAN (`pkt`'s interfaces the other way round).
fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> PacketFields<'static> {
    PacketFields {
        addrs: PacketAddrs::V4 {
            src: u32::from(Ipv4Addr::from(src)),
            dst: u32::from(Ipv4Addr::from(dst)),
        },
        ports: Some((sport, dport)),
        ifaces: PacketIfaces {
            input: Some("lan0"),
            output: Some("wan0"),
        },
        ..pkt("0.0.0.0", "0.0.0.0")
    }
}

const DST_DST: Dirs = Dirs {
    src_bits: 0,
    count: 2,
};

fn tables(sets: &[(&str, SetType, SetOptions)]) -> SetTable {
    let mut t = SetTable::default();
    for (name, ty, o) in sets {
        t.create(name, IpSet::new(*ty, o.clone()), false).unwrap();
    }
    t
}

fn add_op(index: u32, elem: Elem) -> kadt::PacketSetOp {
    kadt::PacketSetOp {
        index,
        del: false,
        exist: false,
        timeout: None,
        elem: kadt::OpElem::One(elem),
    }
}

#[test]
fn each_type_builds_its_element_from_the_packet_as_kadt_does() {
    let p = udp([192, 168, 1, 10], [10, 20, 3, 4], 5000, 53);
    let mut t = tables(&[
        ("ip", SetType::HashIp, SetOptions::default()),
        ("net", SetType::HashNet, SetOptions::default()),
        ("ipport", SetType::HashIpPort, SetOptions::default()),
        ("netif", SetType::HashNetIface, SetOptions::default()),
        (
            "ports",
            SetType::BitmapPort,
            SetOptions {
                range: (1, 1000),
                ..SetOptions::default()
            },
        ),
    ]);
    let elem = |t: &SetTable, name: &str, dirs| t.by_name(name).unwrap().set.packet_elem(&p, dirs);
    assert_eq!(
        elem(&t, "ip", SRC),
        Some(Elem::Ip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10))))
    );
    // An empty hash:net adds the host; with 10.9.0.0/16 in it, the /16.
    assert_eq!(
        elem(&t, "net", SRC),
        Some(Elem::Net(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)), 32))
    );
    let net = t.index("net").unwrap();
    assert!(t.apply_packet_op(
        &add_op(net, Elem::Net(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 0)), 16)),
        0
    ));
    assert_eq!(
        elem(
            &t,
            "net",
            Dirs {
                src_bits: 0,
                count: 1
            }
        ),
        Some(Elem::Net(IpAddr::V4(Ipv4Addr::new(10, 20, 0, 0)), 16))
    );
    assert_eq!(
        elem(&t, "ipport", DST_DST),
        Some(Elem::IpPort(
            IpAddr::V4(Ipv4Addr::new(10, 20, 3, 4)),
            IPPROTO_UDP,
            53
        ))
    );
    // Too few directions for a two-dimension type: the kernel's -EINVAL.
    assert_eq!(elem(&t, "ipport", SRC), None);
    assert_eq!(
        elem(
            &t,
            "netif",
            Dirs {
                src_bits: 0b11,
                count: 2
            }
        ),
        Some(Elem::NetIface(
            IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)),
            32,
            "lan0".into(),
            false
        ))
    );
    // bitmap:port: in range, TCP/UDP only.
    assert_eq!(
        elem(
            &t,
            "ports",
            Dirs {
                src_bits: 0,
                count: 1
            }
        ),
        Some(Elem::Port(53))
    );
    assert_eq!(elem(&t, "ports", SRC), None, "5000 is outside 1-1000");
    let icmp = PacketFields {
        proto: 1,
        ports: Some((0x0800, 0x0800)),
        ..p
    };
    let ports = &t.by_name("ports").unwrap().set;
    assert_eq!(
        ports.packet_elem(
            &icmp,
            Dirs {
                src_bits: 0,
                count: 1
            }
        ),
        None
    );
}

#[test]
fn adds_and_deletes_apply_as_ip_set_add_and_del() {
    let mut t = tables(&[(
        "blk",
        SetType::HashIp,
        SetOptions {
            timeout: Some(300),
            ..SetOptions::default()
        },
    )]);
    let blk = t.index("blk").unwrap();
    let p = udp([192, 168, 1, 10], [1, 1, 1, 1], 1, 2);
    let op =
        |t: &SetTable, del, exist, timeout| t.packet_op(blk, &p, SRC, del, exist, timeout).unwrap();
    let elem = Elem::Ip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)));
    let alive = |t: &SetTable, now| t.get(blk).unwrap().set.test_elem_alive(&elem, now);
    // An add with its own timeout; again without --exist changes nothing.
    assert!(t.apply_packet_op(&op(&t, false, false, Some(2)), 0));
    assert!(!t.apply_packet_op(&op(&t, false, false, Some(100)), S));
    assert!(alive(&t, S) && !alive(&t, 3 * S));
    // --exist refreshes the timeout.
    assert!(t.apply_packet_op(&op(&t, false, true, Some(100)), S));
    assert!(alive(&t, 50 * S));
    // A delete; a second one finds nothing.
    assert!(t.apply_packet_op(&op(&t, true, false, None), 2 * S));
    assert!(!alive(&t, 2 * S));
    assert!(!t.apply_packet_op(&op(&t, true, false, None), 2 * S));
    // None changed: no copy to publish.
    assert!(t
        .with_packet_ops([&op(&t, true, false, None)], 2 * S)
        .is_none());
}

#[test]
fn a_list_set_add_lands_in_its_first_member_that_takes_it() {
    let mut t = tables(&[
        (
            "ports",
            SetType::BitmapPort,
            SetOptions {
                range: (1, 100),
                ..SetOptions::default()
            },
        ),
        ("a", SetType::HashIp, SetOptions::default()),
        ("b", SetType::HashIp, SetOptions::default()),
        ("l", SetType::ListSet, SetOptions::default()),
    ]);
    let (ports, a, b, l) = (
        t.index("ports").unwrap(),
        t.index("a").unwrap(),
        t.index("b").unwrap(),
        t.index("l").unwrap(),
    );
    for m in [ports, a, b] {
        assert!(t.apply_packet_op(&add_op(l, Elem::Set(m)), 0));
    }
    // Port 5000 fits no bitmap: `a` takes it; once `a` has it, `b` does.
    let p = udp([192, 168, 1, 10], [1, 1, 1, 1], 5000, 5000);
    let op = t.packet_op(l, &p, SRC, false, false, None).unwrap();
    assert!(matches!(&op.elem, kadt::OpElem::Members(m) if m.len() == 2));
    let e = Elem::Ip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)));
    assert!(t.apply_packet_op(&op, 0));
    assert!(t.get(a).unwrap().set.test_elem_alive(&e, 0));
    assert!(!t.get(b).unwrap().set.test_elem_alive(&e, 0));
    assert!(t.apply_packet_op(&op, 0));
    assert!(t.get(b).unwrap().set.test_elem_alive(&e, 0));
    assert!(!t.apply_packet_op(&op, 0), "every member has it");
}

// ---- family inet6 ----

fn v6(s: &str) -> u128 {
    u128::from(s.parse::<Ipv6Addr>().unwrap())
}

fn inet6() -> SetOptions {
    SetOptions {
        family: Family::V6,
        ..SetOptions::default()
    }
}

/// A UDP (or other `proto`) IPv6 packet's fields.
fn pkt6(src: &str, dst: &str, proto: u8, ports: Option<(u16, u16)>) -> PacketFields<'static> {
    PacketFields {
        addrs: PacketAddrs::V6 {
            src: v6(src),
            dst: v6(dst),
        },
        proto,
        ports,
        len: 100,
        ifaces: PacketIfaces {
            input: Some("wan0"),
            output: Some("lan0"),
        },
    }
}

#[test]
fn inet6_hash_ip_holds_ipv6_addresses_only() {
    let (mut t, i) = table("a", SetType::HashIp, inet6());
    assert_eq!(t.get(i).unwrap().set.family(), Some(Family::V6));
    add(&mut t, "a", Elem::Ip(ip("2001:db8::1")));
    let p = pkt6("2001:db8::1", "2001:db8::2", IPPROTO_UDP, Some((1, 2)));
    assert!(t.test_packet(i, &p, SRC, &none(), 0));
    assert!(!t.test_packet(i, &p, DST, &none(), 0));
    // An IPv4 packet or element is of the other family: no match, refused.
    assert!(!t.test_packet(i, &pkt("0.0.0.0", "10.0.0.1"), SRC, &none(), 0));
    assert_eq!(t.test_addr(i, 0, 100, 0), Some(false));
    let set = t.set_mut("a").unwrap();
    assert_eq!(
        set.add(&Elem::Ip(ip("10.0.0.1")), &AddExt::default(), false, 0),
        Err(SetError::WrongElement)
    );
    assert_eq!(
        set.add(&Elem::Ip(ip("2001:db8::1")), &AddExt::default(), false, 0),
        Err(SetError::AlreadyAdded)
    );
    assert!(set.test_elem(&Elem::Ip(ip("2001:db8::1")), 0));
    assert!(!set.test_elem(&Elem::Ip(ip("2001:db8::3")), 0));
    assert_eq!(set.elements(0)[0].0, Elem::Ip(ip("2001:db8::1")));
    set.del(&Elem::Ip(ip("2001:db8::1")), false, 0).unwrap();
    assert!(set.is_empty());
    // And an IPv4 set holds no IPv6 packet.
    let (t4, i4) = table("b", SetType::HashIp, SetOptions::default());
    assert!(!t4.test_packet(i4, &p, SRC, &none(), 0));
}

#[test]
fn inet6_hash_net_longest_prefix_and_nomatch() {
    let (mut t, i) = table("n", SetType::HashNet, inet6());
    add(&mut t, "n", Elem::Net(ip("2001:db8::"), 32));
    let nomatch = AddExt {
        nomatch: true,
        ..AddExt::default()
    };
    t.set_mut("n")
        .unwrap()
        .add(&Elem::Net(ip("2001:db8:1::"), 48), &nomatch, false, 0)
        .unwrap();
    add(&mut t, "n", Elem::Net(ip("2001:db8:1:2::"), 64));
    // Stored masked; /128 prefixes are accepted, /129 is no element of the family.
    add(&mut t, "n", Elem::Net(ip("2001:db8:ffff::7"), 128));
    let hit = |a: &str| {
        let p = pkt6(a, "::1", IPPROTO_UDP, Some((1, 2)));
        t.test_packet(i, &p, SRC, &none(), 0)
    };
    assert!(hit("2001:db8:9::1"));
    assert!(!hit("2001:db8:1:9::1"), "the nomatch /48 carves a hole");
    assert!(
        hit("2001:db8:1:2::99"),
        "a longer prefix inside the hole matches"
    );
    assert!(hit("2001:db8:ffff::7"));
    assert!(!hit("2001:db9::1"));
    let set = &t.get(i).unwrap().set;
    assert!(set.test_elem(&Elem::Net(ip("2001:db8:9::1"), 128), 0));
    assert!(!set.test_elem(&Elem::Net(ip("2001:db8:1::5"), 128), 0));
    assert!(set.test_elem(&Elem::Net(ip("2001:db8::"), 32), 0));
    assert!(!set.test_elem(&Elem::Net(ip("2001:db8::"), 33), 0));
    let set = t.set_mut("n").unwrap();
    assert_eq!(
        set.add(
            &Elem::Net(ip("2001:db8::"), 129),
            &AddExt::default(),
            false,
            0
        ),
        Err(SetError::WrongElement)
    );
    assert_eq!(
        set.elements(0).first().map(|e| e.0.clone()),
        Some(Elem::Net(ip("2001:db8::"), 32))
    );
}

#[test]
fn inet6_port_and_iface_types() {
    let mut t = tables(&[
        ("ipport", SetType::HashIpPort, inet6()),
        ("netport", SetType::HashNetPort, inet6()),
        ("netif", SetType::HashNetIface, inet6()),
    ]);
    add(
        &mut t,
        "ipport",
        Elem::IpPort(ip("2001:db8::1"), IPPROTO_UDP, 53),
    );
    // ICMPv6 echo request: type 128 << 8 | code 0.
    add(
        &mut t,
        "ipport",
        Elem::IpPort(ip("2001:db8::1"), IPPROTO_ICMPV6, 128 << 8),
    );
    add(
        &mut t,
        "netport",
        Elem::NetPort(ip("2001:db8::"), 64, IPPROTO_TCP, 443),
    );
    add(
        &mut t,
        "netif",
        Elem::NetIface(ip("2001:db8::"), 64, "wan0".into(), false),
    );
    let (ipport, netport, netif) = (
        t.index("ipport").unwrap(),
        t.index("netport").unwrap(),
        t.index("netif").unwrap(),
    );
    let udp = pkt6("2001:db8::1", "2001:db8::2", IPPROTO_UDP, Some((5000, 53)));
    assert!(t.test_packet(ipport, &udp, SRC_DST, &none(), 0));
    assert!(
        !t.test_packet(ipport, &udp, SRC, &none(), 0),
        "two dimensions"
    );
    let ping = pkt6(
        "2001:db8::1",
        "2001:db8::2",
        IPPROTO_ICMPV6,
        Some((128 << 8, 128 << 8)),
    );
    assert!(t.test_packet(ipport, &ping, SRC_DST, &none(), 0));
    let frag = PacketFields { ports: None, ..udp };
    assert!(!t.test_packet(ipport, &frag, SRC_DST, &none(), 0));
    let https = pkt6("2001:db8::77", "::1", IPPROTO_TCP, Some((443, 9)));
    assert!(t.test_packet(netport, &https, SRC_SRC, &none(), 0));
    assert!(!t.test_packet(netport, &https, SRC_DST, &none(), 0));
    assert!(t.test_packet(netif, &https, SRC_SRC, &none(), 0));
    assert!(!t.test_packet(netif, &https, SRC_DST, &none(), 0), "lan0");
}

const SRC_SRC: Dirs = Dirs {
    src_bits: 0b11,
    count: 2,
};

#[test]
fn a_list_set_holds_sets_of_both_families() {
    let mut t = tables(&[
        ("four", SetType::HashIp, SetOptions::default()),
        ("six", SetType::HashNet, inet6()),
        ("both", SetType::ListSet, SetOptions::default()),
    ]);
    add(&mut t, "four", Elem::Ip(ip("10.0.0.1")));
    add(&mut t, "six", Elem::Net(ip("2001:db8::"), 64));
    let (four, six) = (t.index("four").unwrap(), t.index("six").unwrap());
    add(&mut t, "both", Elem::Set(four));
    add(&mut t, "both", Elem::Set(six));
    let both = t.index("both").unwrap();
    assert_eq!(t.get(both).unwrap().set.family(), None);
    let p6 = pkt6("2001:db8::5", "::1", IPPROTO_UDP, Some((1, 2)));
    assert!(t.test_packet(both, &p6, SRC, &none(), 0));
    assert!(t.test_packet(both, &pkt("10.0.0.1", "1.1.1.1"), SRC, &none(), 0));
    assert!(!t.test_packet(both, &pkt("10.0.0.2", "1.1.1.1"), SRC, &none(), 0));
    // -j SET on a list: the IPv6 packet lands in the IPv6 member, the first that takes it.
    let op = t.packet_op(both, &p6, SRC, false, false, None).unwrap();
    assert_eq!(
        op.elem,
        kadt::OpElem::Members(vec![(six, Elem::Net(ip("2001:db8::"), 64))])
    );
    // Sets of different families do not swap (ip_set_swap).
    let mut t2 = tables(&[
        ("a4", SetType::HashIp, SetOptions::default()),
        ("a6", SetType::HashIp, inet6()),
    ]);
    assert_eq!(t2.swap("a4", "a6"), Err(SetError::TypeMismatch));
}

#[test]
fn inet6_packets_add_their_elements_as_kadt_does() {
    let mut t = tables(&[
        ("ip", SetType::HashIp, inet6()),
        ("net", SetType::HashNet, inet6()),
        ("ip4", SetType::HashIp, SetOptions::default()),
    ]);
    let p = pkt6("2001:db8:1:2::10", "2001:db8::2", IPPROTO_UDP, Some((1, 2)));
    let elem = |t: &SetTable, name: &str| t.by_name(name).unwrap().set.packet_elem(&p, SRC);
    assert_eq!(elem(&t, "ip"), Some(Elem::Ip(ip("2001:db8:1:2::10"))));
    // An empty hash:net adds the /128 host; with a /64 in it, the /64.
    assert_eq!(
        elem(&t, "net"),
        Some(Elem::Net(ip("2001:db8:1:2::10"), 128))
    );
    let net = t.index("net").unwrap();
    assert!(t.apply_packet_op(&add_op(net, Elem::Net(ip("2001:db8:9::"), 64)), 0));
    assert_eq!(elem(&t, "net"), Some(Elem::Net(ip("2001:db8:1:2::"), 64)));
    // An IPv6 packet makes nothing for an IPv4 set (ip_set_add's family check).
    assert_eq!(elem(&t, "ip4"), None);
    let ip6 = t.index("ip").unwrap();
    let op = t.packet_op(ip6, &p, SRC, false, false, None).unwrap();
    assert!(t.apply_packet_op(&op, 0));
    assert!(t.test_packet(ip6, &p, SRC, &none(), 0));
}

#[test]
fn ipv6_views_give_the_fields_ip_set_get_ip6_port_reads() {
    use crate::ruleset::packet::tests::{ipv6, view};
    let udp = [0x13, 0x88, 0, 53, 0, 8, 0, 0];
    let v = ipv6(IPPROTO_UDP, "2001:db8::1", "2001:db8::2", &udp);
    let f = packet_fields(&view(&v));
    assert_eq!(
        f.addrs,
        PacketAddrs::V6 {
            src: v6("2001:db8::1"),
            dst: v6("2001:db8::2")
        }
    );
    assert_eq!((f.proto, f.ports), (IPPROTO_UDP, Some((5000, 53))));
    let icmp = ipv6(IPPROTO_ICMPV6, "::1", "::2", &[128, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        packet_fields(&view(&icmp)).ports,
        Some((128 << 8, 128 << 8))
    );
    // A non-first fragment has no ports, whatever its protocol (here: none at all).
    let frag = [IPPROTO_UDP, 0, 0, 0x08, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let v = ipv6(44, "::1", "::2", &frag);
    assert_eq!(packet_fields(&view(&v)).ports, None);
}

#[test]
fn the_slash16_filter_covers_ipv6_networks() {
    let mut s: store::PrefixStore<u128> = store::PrefixStore::default();
    s.insert(32, v6("2001:db8::"), ElemExt::default());
    assert!(s.may_hold(v6("2001:db8:ffff::1")));
    assert!(
        s.may_hold(v6("2001:ffff::1")),
        "the filter is by the top 16 bits"
    );
    assert!(!s.may_hold(v6("2002::1")));
    s.insert(7, v6("fc00::"), ElemExt::default());
    assert!(s.may_hold(v6("fd00::1")));
    assert!(!s.may_hold(v6("fe80::1")));
}

#[test]
fn hash_ip_netmask_stores_and_looks_up_blocks() {
    let mut t = tables(&[
        (
            "b4",
            SetType::HashIp,
            SetOptions {
                netmask: Some(24),
                ..SetOptions::default()
            },
        ),
        (
            "b6",
            SetType::HashIp,
            SetOptions {
                netmask: Some(64),
                ..inet6()
            },
        ),
        (
            "host",
            SetType::HashIp,
            SetOptions {
                netmask: Some(32),
                ..SetOptions::default()
            },
        ),
    ]);
    assert_eq!(t.by_name("host").unwrap().set.options.netmask, None);
    add(&mut t, "b4", Elem::Ip(ip("10.0.0.7")));
    add(&mut t, "b6", Elem::Ip(ip("2001:db8::1")));
    let (b4, b6) = (t.index("b4").unwrap(), t.index("b6").unwrap());
    // The whole /24 (/64) matches, by the fast path and the general one.
    assert_eq!(t.test_addr(b4, v4("10.0.0.200"), 100, 0), Some(true));
    assert_eq!(t.test_addr(b4, v4("10.0.1.1"), 100, 0), Some(false));
    assert!(t.test_packet(b4, &pkt("10.0.0.99", "1.1.1.1"), SRC, &none(), 0));
    let p6 = pkt6("2001:db8::ffff", "::1", IPPROTO_UDP, Some((1, 2)));
    assert!(t.test_packet(b6, &p6, SRC, &none(), 0));
    let p6b = pkt6("2001:db8:0:1::1", "::1", IPPROTO_UDP, Some((1, 2)));
    assert!(!t.test_packet(b6, &p6b, SRC, &none(), 0));
    // Stored masked; another address of the block is the same element.
    let set = t.set_mut("b4").unwrap();
    assert_eq!(set.elements(0)[0].0, Elem::Ip(ip("10.0.0.0")));
    assert_eq!(
        set.add(&Elem::Ip(ip("10.0.0.9")), &AddExt::default(), false, 0),
        Err(SetError::AlreadyAdded)
    );
    // -j SET adds the packet's block.
    assert_eq!(
        t.by_name("b6").unwrap().set.packet_elem(&p6b, SRC),
        Some(Elem::Ip(ip("2001:db8:0:1::")))
    );
    // Deleting any address of the block deletes it.
    t.set_mut("b6")
        .unwrap()
        .del(&Elem::Ip(ip("2001:db8::5")), false, 0)
        .unwrap();
    assert!(!t.test_packet(b6, &p6, SRC, &none(), 0));
}
