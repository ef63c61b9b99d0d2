//! `nfdpctl ip -6 route` and `ip -6 rule` against a running daemon core (one worker on
//! in-memory wires, the API on a Unix socket): routes added, replaced, listed and deleted
//! in another table, IPv6 rules added and deleted, the outputs as iproute2 6.1 prints the
//! kernel's (checked in a namespace), the refusals with ip's messages, and each change
//! steering the next marked packet (the FIB swapped on the worker as for IPv4).

mod support;

use control::ctl::{ip, run_ctl, CtlCommand, Io, Target};
use support::daemon::{config_text, serial, socket, temp_dir, write_config, Running};
use support::frames::ether;
use support::{GATEWAY_MAC, HOST_MAC, LAN_MAC, PATIENCE};

const OTHER_GATEWAY_MAC: [u8; 6] = [2, 0, 0, 0, 2, 0xfd];
const LAN: usize = 0;
const WAN: usize = 1;

/// ip6tables: UDP to port 53 marked 0x1 in mangle PREROUTING.
const RULES6: &str =
    "*mangle\n-A PREROUTING -p udp -m udp --dport 53 -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n";

/// The test network with IPv6: lan0 2001:db8:1::1/64, wan0 2001:db8:ff::1/64 with two
/// gateways (::fe, ::fd) whose MACs are known; no IPv6 default route in main.
fn start() -> (Running, tokio::runtime::Runtime) {
    let serial = serial();
    let dir = temp_dir("route6api");
    std::fs::write(dir.join("rules.v4"), "").unwrap();
    std::fs::write(dir.join("rules.v6"), RULES6).unwrap();
    let extra = format!(
        "file6 = \"{}/rules.v6\"\n\n[[neighbor]]\nip = \"2001:db8:ff::fe\"\nmac = \"02:00:00:00:02:fe\"\n\n[[neighbor]]\nip = \"2001:db8:ff::fd\"\nmac = \"02:00:00:00:02:fd\"\n\n[[neighbor]]\nip = \"2001:db8:1::10\"\nmac = \"02:00:00:00:01:10\"\n",
        dir.display()
    );
    let text = config_text(&dir, &extra)
        .replace(
            "addresses = [\"192.168.1.1/24\"]",
            "addresses = [\"192.168.1.1/24\", \"2001:db8:1::1/64\"]",
        )
        .replace(
            "addresses = [\"203.0.113.1/24\"]",
            "addresses = [\"203.0.113.1/24\", \"2001:db8:ff::1/64\"]",
        );
    let cfg = write_config(&dir, &text);
    // boot's, but an IPv6 port announces more than its IPv4 address: what the ports say
    // on their own is left to `sent_to`, which looks for its datagram or its error only.
    let rules = control::daemon::load_config_rules(&cfg, None, None).expect("rules");
    let (ports, wires) = control::daemon::mem::wire_ports(&cfg).expect("ports");
    let daemon =
        control::daemon::core::start(cfg, rules, ports, Default::default()).expect("daemon");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (Running::new(daemon, wires, dir, serial), rt)
}

/// `nfdpctl ip ARGS`: (exit status, stdout, stderr).
fn ip(run: &Running, rt: &tokio::runtime::Runtime, args: &str) -> (i32, String, String) {
    let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
    let cmd = match ip::parse(&args) {
        Ok(c) => c,
        Err(e) => return (255, String::new(), e),
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rt.block_on(run_ctl(
        CtlCommand::Ip(cmd),
        &Target::Unix(socket(&run.dir)),
        &mut Io {
            stdout: &mut out,
            stderr: &mut err,
        },
    ));
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// A UDP datagram from the LAN host to 2001:db8:50::9, port `dport`.
fn udp6(dport: u16) -> Vec<u8> {
    support::ipv6::udp("2001:db8:1::10", "2001:db8:50::9", 64, (5353, dport), &[])
}

/// Sends the datagram from the LAN; the MAC it left the WAN to, or `None` when nothing
/// left there (an ICMPv6 error goes back to the LAN instead).
fn sent_to(run: &Running, dport: u16) -> Option<[u8; 6]> {
    run.wires[LAN].inject(0, &ether(LAN_MAC, HOST_MAC, 0x86dd, &udp6(dport)));
    let udp_out = |f: &Vec<u8>| f.len() > 14 + 40 && f[12..14] == [0x86, 0xdd] && f[14 + 6] == 17;
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        if let Some(f) = run.wires[WAN].take().iter().find(|f| udp_out(f)) {
            return Some(f[0..6].try_into().unwrap());
        }
        let errors = run.wires[LAN].take();
        if errors
            .iter()
            .any(|f| f.len() > 14 + 40 && f[14 + 6] == 58 && f[14 + 40] == 1)
        {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("neither forwarded nor answered");
}

#[test]
fn ip6_routes_and_rules_through_the_api_steer_marked_packets() {
    let (run, rt) = start();
    let ip = |args: &str| ip(&run, &rt, args);
    let ok = |args: &str| {
        let (code, out, err) = ip(args);
        assert_eq!((code, err.as_str()), (0, ""), "ip {args}");
        out
    };
    // No IPv6 default: the marked datagram has no route.
    assert_eq!(sent_to(&run, 53), None);

    ok("-6 route add 2001:db8:50::/48 via 2001:db8:ff::fd dev wan0 table 100");
    ok("-6 rule add fwmark 0x1/0xff table 100");
    assert_eq!(sent_to(&run, 53), Some(OTHER_GATEWAY_MAC), "by table 100");
    assert_eq!(sent_to(&run, 54), None, "unmarked: main has no route");

    assert_eq!(
        ok("-6 rule"),
        "0:\tfrom all lookup local\n32765:\tfrom all fwmark 0x1/0xff lookup 100\n32766:\tfrom all lookup main\n"
    );
    assert_eq!(
        ok("rule"),
        "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n",
        "the IPv4 rules are their own"
    );
    assert_eq!(
        ok("-6 route show table 100"),
        "2001:db8:50::/48 via 2001:db8:ff::fd dev wan0 metric 1024 pref medium\n"
    );
    assert_eq!(
        ok("-6 route"),
        "2001:db8:1::/64 dev lan0 proto kernel metric 256 pref medium\n\
         2001:db8:ff::/64 dev wan0 proto kernel metric 256 pref medium\n\
         fe80::/64 dev lan0 proto kernel metric 256 pref medium\n\
         fe80::/64 dev wan0 proto kernel metric 256 pref medium\n"
    );
    assert!(
        ok("-6 route show table all")
            .starts_with("2001:db8:50::/48 via 2001:db8:ff::fd dev wan0 table 100 metric 1024 pref medium\n2001:db8:1::/64 dev lan0"),
        "table all: the table named"
    );

    // Refusals, as ip prints them.
    let refused = |args: &str| {
        let (code, out, err) = ip(args);
        assert_eq!((code, out.as_str()), (2, ""), "ip {args}: {err}");
        err
    };
    assert_eq!(
        refused("-6 route add 2001:db8:50::/48 via 2001:db8:ff::fd table 100"),
        "RTNETLINK answers: File exists\n"
    );
    assert!(
        refused("-6 route add 2001:db8:60::/48 via 2001:db8:5::1 table 100")
            .starts_with("RTNETLINK answers: No route to host")
    );
    assert_eq!(
        refused("-6 route add 2001:db8:60::/48 dev nosuch0"),
        "Cannot find device \"nosuch0\"\n"
    );
    assert_eq!(
        refused("-6 route add 2001:db8:60::/48 via 2001:db8:ff::1"),
        "Error: Gateway can not be a local address.\n"
    );
    assert_eq!(
        refused("-6 route del 2001:db8:60::/48 table 100"),
        "RTNETLINK answers: No such process\n"
    );
    assert_eq!(
        refused("-6 route show table 7"),
        "Error: ipv6: FIB table does not exist.\nDump terminated\n"
    );
    assert_eq!(
        refused("-6 rule del fwmark 7 table 100"),
        "RTNETLINK answers: No such file or directory\n"
    );

    // replace: the same prefix and metric, another gateway.
    ok("-6 route replace 2001:db8:50::/48 via 2001:db8:ff::fe table 100");
    assert_eq!(sent_to(&run, 53), Some(GATEWAY_MAC));
    assert_eq!(
        ok("-6 route show table 100"),
        "2001:db8:50::/48 via 2001:db8:ff::fe dev wan0 metric 1024 pref medium\n"
    );

    // The rule gone, the marked datagram has no route again; a main default takes both.
    ok("-6 rule del fwmark 0x1/0xff table 100");
    assert_eq!(sent_to(&run, 53), None);
    ok("-6 route add default via 2001:db8:ff::fd");
    assert_eq!(sent_to(&run, 53), Some(OTHER_GATEWAY_MAC));
    assert!(
        ok("-6 route").ends_with("default via 2001:db8:ff::fd dev wan0 metric 1024 pref medium\n")
    );
    ok("-6 route del default");
    ok("-6 route del 2001:db8:50::/48 table 100");
    assert_eq!(sent_to(&run, 53), None);
}
