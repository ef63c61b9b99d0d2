//! The DPDK port against real poll-mode drivers (`net_null`, `net_ring`, and `net_af_packet`
//! on a veth pair when running as root). rte_eal_init works once per process, so everything
//! runs from one #[test] in this file. Run with `cargo test -p dataplane --features dpdk`.
#![cfg(feature = "dpdk")]

use dataplane::port::dpdk::{DpdkPort, DpdkPortConfig, Eal};
use dataplane::port::{MacAddr, PacketBuf, Port, PortId};
use std::process::Command;
use std::time::{Duration, Instant};

fn eal_args() -> Vec<String> {
    [
        "--no-huge",
        "-m",
        "512",
        "--no-pci",
        "-l",
        "0",
        "--file-prefix",
        &format!("nfdp-test-{}", std::process::id()),
        "--log-level=*:error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// An Ethernet frame of `len` bytes with a recognisable payload.
fn frame(len: usize, dst: [u8; 6], src: [u8; 6], tag: u8) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x88, 0xb5]); // local experimental EtherType: the kernel ignores it
    f.extend((0..len - 14).map(|i| (i as u8).wrapping_mul(7) ^ tag));
    f
}

#[test]
fn dpdk_ports() {
    let eal = Eal::init(&eal_args()).expect("rte_eal_init");
    let again = Eal::init(&eal_args()).err().expect("second init must fail");
    assert!(again.0.contains("already"), "{again}");

    null_port_rx_tx_and_counters(&eal);
    ring_port_carries_the_exact_bytes(&eal);
    received_mbufs_are_edited_and_sent_in_place(&eal);
    queues_move_to_registered_threads(&eal);
    closed_vdev_can_be_opened_again(&eal);
    if is_root() && Command::new("ip").arg("-V").output().is_ok() {
        af_packet_puts_the_frame_on_the_wire(&eal);
    } else {
        eprintln!("skipping net_af_packet over veth: needs root and iproute2");
    }
    drop(eal);
}

fn null_port_rx_tx_and_counters(eal: &Eal) {
    let mac = MacAddr([2, 0, 0, 0, 0x0a, 1]);
    let mut cfg = DpdkPortConfig::new(PortId(3), "null0", "net_null0,size=64");
    cfg.mac = Some(mac);
    cfg.mbufs = 2047;
    let port = DpdkPort::open(eal, &cfg).expect("open net_null0");
    assert_eq!(port.mac(), mac, "MAC set on the device");
    assert!(port.link().up);

    let mut q = port.queue(0);
    let dup = port.try_queue(0).err().expect("queue 0 is taken");
    assert!(dup.0.contains("already in use"), "{dup}");
    assert!(port.try_queue(1).is_err(), "only one queue configured");
    assert_eq!((q.id(), q.name(), q.mac()), (PortId(3), "null0", mac));

    let mut bufs = Vec::new();
    assert_eq!(q.rx_burst(1, &mut bufs, 32), 0, "not this handle's queue");
    assert_eq!(q.rx_burst(0, &mut bufs, 32), 32);
    assert_eq!(bufs.len(), 32);
    for b in &bufs {
        assert_eq!(b.len(), 64);
        assert_eq!((b.port, b.queue), (PortId(3), 0));
    }
    let s = port.stats();
    assert_eq!(s.rx_packets, 32);
    assert_eq!(s.rx_bytes, 32 * 64);

    let mut out: Vec<PacketBuf> = [60usize, 1000, 1514]
        .iter()
        .map(|&n| PacketBuf::from_slice(&frame(n, [0xff; 6], mac.0, 1)))
        .collect();
    // An oversize frame in the middle: taken, dropped and counted, the rest still sent.
    out.insert(1, PacketBuf::from_slice(&frame(3000, [0xff; 6], mac.0, 2)));
    assert_eq!(q.tx_burst(0, &mut out), 4);
    assert!(out.is_empty());
    q.count_tx_dropped(5);
    let s = q.stats();
    assert_eq!((s.tx_packets, s.tx_bytes), (3, 60 + 1000 + 1514));
    assert_eq!(s.errors, 1, "the 3000-byte frame");
    assert_eq!(s.tx_dropped, 5);
    assert_eq!(port.stats(), s);
}

fn ring_port_carries_the_exact_bytes(eal: &Eal) {
    // A net_ring vdev without arguments is a loopback: its tx ring is its rx ring.
    let port = DpdkPort::open(eal, &DpdkPortConfig::new(PortId(0), "ring0", "net_ring0"))
        .expect("open net_ring0");
    let mut q = port.queue(0);
    let a = frame(60, [2, 0, 0, 0, 0, 2], port.mac().0, 3);
    let b = frame(1514, [2, 0, 0, 0, 0, 2], port.mac().0, 4);
    let mut out = vec![PacketBuf::from_slice(&a), PacketBuf::from_slice(&b)];
    assert_eq!(q.tx_burst(0, &mut out), 2);
    let mut got = Vec::new();
    assert_eq!(q.rx_burst(0, &mut got, 32), 2);
    assert_eq!(got[0].data(), &a[..]);
    assert_eq!(got[1].data(), &b[..]);
    let s = port.stats();
    assert_eq!((s.tx_packets, s.tx_bytes), (2, 60 + 1514));
    assert_eq!((s.rx_packets, s.rx_bytes), (2, 60 + 1514));
    assert_eq!(q.rx_burst(0, &mut got, 32), 0, "nothing else on the ring");

    // io forwarding moves mbufs untouched (here back onto the same ring), rewriting the
    // front when asked.
    let mut out = vec![PacketBuf::from_slice(&a)];
    assert_eq!(q.tx_burst(0, &mut out), 1);
    let mut other = port.try_queue(0).err();
    assert!(other.take().is_some());
    drop(q);
    let mut q1 = port.queue(0);
    let mut q2 = DpdkPort::open(eal, &DpdkPortConfig::new(PortId(1), "ring1", "net_ring1"))
        .expect("open net_ring1");
    let mut q2q = q2.queue(0);
    assert_eq!(q1.forward_burst(&mut q2q, 32, Some(&[0xee; 6])), (1, 1));
    let mut got = Vec::new();
    assert_eq!(q2q.rx_burst(0, &mut got, 32), 1);
    assert_eq!(&got[0].data()[..6], &[0xee; 6]);
    assert_eq!(&got[0].data()[6..], &a[6..]);
    // The packet lives in an mbuf of ring1's pool: gone before the port closes.
    drop(got);
    drop(q2q);
    q2.close();
    assert_eq!(q2.stats().rx_packets, 1, "figures kept after close");
}

fn received_mbufs_are_edited_and_sent_in_place(eal: &Eal) {
    let port = DpdkPort::open(eal, &DpdkPortConfig::new(PortId(2), "ring2", "net_ring2"))
        .expect("open net_ring2");
    let mut q = port.queue(0);
    let a = frame(60, [2, 0, 0, 0, 0, 2], port.mac().0, 5);
    // A heap frame leaves in a fresh mbuf; it comes back in one.
    let mut out = vec![PacketBuf::from_slice(&a)];
    assert!(!out[0].in_mbuf());
    assert_eq!(q.tx_burst(0, &mut out), 1);
    let mut got = Vec::new();
    assert_eq!(q.rx_burst(0, &mut got, 32), 1);
    let mut p = got.pop().unwrap();
    assert!(p.in_mbuf(), "received without a copy");
    assert_eq!(p.data(), &a[..]);
    assert_eq!(
        p.headroom(),
        128,
        "the mbuf's headroom (RTE_PKTMBUF_HEADROOM)"
    );
    let copy = p.clone();
    assert!(!copy.in_mbuf(), "a copy lives on the heap");
    assert_eq!(copy.data(), p.data());

    // Edited in place: a new destination MAC, then a 4-byte push into the headroom and
    // a 2-byte growth into the tailroom, all inside the mbuf.
    p.data_mut()[..6].copy_from_slice(&[0xaa; 6]);
    p.prepend(4).copy_from_slice(&[1, 2, 3, 4]);
    p.append(2).copy_from_slice(&[9, 9]);
    assert!(p.in_mbuf(), "headroom and tailroom served the growth");
    let mut want = vec![1, 2, 3, 4];
    want.extend_from_slice(&[0xaa; 6]);
    want.extend_from_slice(&a[6..]);
    want.extend_from_slice(&[9, 9]);
    assert_eq!(p.data(), &want[..]);
    // The same mbuf goes out (taken from the buffer) and arrives with the edits.
    let mut out = vec![p];
    assert_eq!(q.tx_burst(0, &mut out), 1);
    assert!(out.is_empty());
    assert_eq!(q.rx_burst(0, &mut got, 32), 1);
    assert_eq!(got[0].data(), &want[..]);
    let s = port.stats();
    assert_eq!((s.tx_packets, s.tx_bytes), (2, 60 + 66));
    // Detached: the bytes move to the heap and the mbuf goes back to its pool.
    got[0].detach();
    assert!(!got[0].in_mbuf());
    assert_eq!(got[0].data(), &want[..]);
    // Growth past the mbuf's buffer moves the packet to the heap, keeping its bytes.
    let mut q_got = Vec::new();
    let mut out = vec![PacketBuf::from_slice(&a)];
    assert_eq!(q.tx_burst(0, &mut out), 1);
    assert_eq!(q.rx_burst(0, &mut q_got, 32), 1);
    let big = q_got[0].tailroom() + 1;
    q_got[0].append(big).fill(7);
    assert!(!q_got[0].in_mbuf());
    assert_eq!(&q_got[0].data()[..60], &a[..]);
    assert_eq!(q_got[0].len(), 60 + big);
}

fn queues_move_to_registered_threads(eal: &Eal) {
    let mut cfg = DpdkPortConfig::new(PortId(0), "nullmq", "net_null2,size=128");
    cfg.queues = 2;
    cfg.mbufs = 2047;
    let port = DpdkPort::open(eal, &cfg).expect("open 2-queue net_null2");
    assert_eq!(Eal::lcore_id(), Some(0), "the main thread is lcore 0");
    let handles: Vec<_> = (0..2)
        .map(|qi| {
            let mut q = port.queue(qi);
            std::thread::spawn(move || {
                assert_eq!(Eal::lcore_id(), None);
                Eal::register_thread().expect("register");
                Eal::register_thread().expect("idempotent");
                let lcore = Eal::lcore_id().expect("registered thread has an lcore");
                let mut bufs = Vec::new();
                let n = q.rx_burst(qi, &mut bufs, 16);
                assert!(bufs.iter().all(|b| b.len() == 128 && b.queue == qi));
                Eal::unregister_thread();
                (lcore, n)
            })
        })
        .collect();
    let res: Vec<(u32, usize)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(res.iter().all(|&(l, n)| l != 0 && n == 16), "{res:?}");
    assert_eq!(port.stats().rx_packets, 32);
}

fn closed_vdev_can_be_opened_again(eal: &Eal) {
    let cfg = DpdkPortConfig::new(PortId(0), "again", "net_null5");
    let mut port = DpdkPort::open(eal, &cfg).expect("first open");
    let q = port.queue(0);
    port.close();
    // The queue keeps the device alive: opening the same vdev again must fail now...
    let busy = DpdkPort::open(eal, &cfg).err().expect("still open");
    assert!(busy.0.contains("already open"), "{busy}");
    drop(q);
    // ...and work once the last handle is gone (stopped, closed and removed).
    let port = DpdkPort::open(eal, &cfg).expect("reopen after close");
    assert!(port.link().up);
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Deletes the test's veth pair however the test ends.
struct Veth(String);

impl Drop for Veth {
    fn drop(&mut self) {
        ip(&["link", "del", &self.0]);
    }
}

fn af_packet_puts_the_frame_on_the_wire(eal: &Eal) {
    let pid = std::process::id() % 100_000;
    let (a, b) = (format!("nfdpa{pid}"), format!("nfdpb{pid}"));
    if !ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]) {
        eprintln!("skipping net_af_packet over veth: cannot create a veth pair here");
        return;
    }
    let _veth = Veth(a.clone());
    for i in [&a, &b] {
        // No IPv6 on the test wire, so the kernel sends nothing of its own on it.
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{i}/disable_ipv6"), "1");
        assert!(ip(&["link", "set", i, "up"]));
    }
    let pa = DpdkPort::open(
        eal,
        &DpdkPortConfig::new(PortId(0), "wa", &format!("net_af_packet0,iface={a}")),
    )
    .expect("open af_packet on veth a");
    let pb = DpdkPort::open(
        eal,
        &DpdkPortConfig::new(PortId(1), "wb", &format!("net_af_packet1,iface={b}")),
    )
    .expect("open af_packet on veth b");
    let (mut qa, mut qb) = (pa.queue(0), pb.queue(0));
    let f = frame(200, pb.mac().0, pa.mac().0, 9);
    let mut out = vec![PacketBuf::from_slice(&f)];
    assert_eq!(qa.tx_burst(0, &mut out), 1);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut seen = false;
    let mut got = Vec::new();
    while !seen && Instant::now() < deadline {
        got.clear();
        qb.rx_burst(0, &mut got, 32);
        seen = got.iter().any(|g| g.data() == &f[..]);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(seen, "the frame sent on {a} arrives byte for byte on {b}");
    assert!(pa.stats().tx_packets >= 1);
    assert!(pb.stats().rx_bytes >= 200);
}
