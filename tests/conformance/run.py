#!/usr/bin/env python3
"""Conformance runner: plays each scenario on the Linux kernel (a router namespace with
the same ports, routes, neighbours and ruleset, frames injected and captured on the far
ends with AF_PACKET, `conntrack -L` at the end) and on `nfdp replay`, and compares what
left on every port and the conntrack tables. Prints PASS / FAIL per scenario with a diff.

Usage (root): run.py [--nfdp PATH] [SCENARIO.toml ...]   (default: scenarios/*.toml)
A scenario listed in docs/deviations.md is expected to fail and says so in its file
(`deviation = "..."`); it is reported as DEVIATION, never skipped silently.

IPv6: a scenario is an IPv6 one when a port has an IPv6 address, a route an IPv6 `dst`, or
it has `rules6` (ip6tables-restore text, beside or instead of `rules`). Packets are written
as for IPv4 (pkt.py: addresses with ':' make IPv6, `icmp6`, `ns`, `na`); one to a multicast
group goes to its 33:33 Ethernet address unless `eth_dst` says otherwise. `[[route]]`
takes IPv6 `dst`/`via` (and `table`), `[[policy]]` `family = 6` (an `ip -6 rule`),
`[[neighbor]]` IPv6 `ip` (a permanent entry on both sides), and a port an `mtu`. Neighbours can also be learned by neighbour discovery on both sides: the
first packet for a next hop makes the router solicit it, and the scenario's next packet
is the far end's `na` (S set) in answer, which sends what waited; an `ns` from a host
with `sll=` teaches its address too (and gets an advertisement). The kernel's router
runs IPv6 with forwarding on, and is kept from sending what nfdp does not send on its own:
addresses are added `nodad` (and accept_dad 0: no DAD probes), addr_gen_mode 1 with the
EUI-64 link-local address added by hand (nfdp derives the same one, on every port),
router_solicitations 0, accept_ra 0, and auto_flowlabels 0 (its flow hash is keyed by a
random per-boot secret; nfdp writes 0). Multicast listener reports (MLD), which Linux
sends when its ports join groups and repeats at random within
mldv{1,2}_unsolicited_report_interval, cannot be turned off: that interval is 1 ms so all
are sent during set-up, and any that still came (ICMPv6 131, 132, 143) would be left out
of both sides' captures (`mld_report`); nothing else is left out. The
conntrack tables compared are `conntrack -L`, which lists IPv6 connections too, and
replay's listing, whose IPv6 addresses (written in full, as /proc/net/nf_conntrack does)
are shortened as conntrack writes them. `ignore_frag6_id = true` compares IPv6 fragments
without their identification (the kernel's is random when it cuts a reassembled datagram
again)."""
import glob
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# No __pycache__ beside pkt.py: a test run leaves the checkout as it found it.
sys.dont_write_bytecode = True
import pkt  # noqa: E402

# Namespace names; NFCONF_PREFIX lets two runs share a machine.
PREFIX = os.environ.get("NFCONF_PREFIX", "nfconf-")
ROUTER = PREFIX + "r"


def sh(*args, check=True, ns=None, capture=False):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout if capture else r


def peer_ns(port):
    return PREFIX + port


def is_v6(sc):
    """Whether the scenario uses IPv6 (see the module's docstring)."""
    return ("rules6" in sc or any(":" in a for p in sc["port"] for a in p.get("addresses", []))
            or any(":" in r["dst"] for r in sc.get("route", [])))


def mld_report(frame):
    """A multicast listener report or done (ICMPv6 131, 132, 143 behind the hop-by-hop
    header), which the kernel sends on its own when it joins groups."""
    if frame[12:14] != b"\x86\xdd":
        return False
    _, nh, at = pkt.upper6(frame[14:])
    return nh == 58 and len(frame) > 14 + at and frame[14 + at] in (131, 132, 143)


def cleanup(sc):
    for ns in [ROUTER] + [peer_ns(p["name"]) for p in sc["port"]]:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def write_frames(path, frames):
    with open(path, "wb") as f:
        for delay_ms, fr in frames:
            f.write(struct.pack("!II", len(fr), delay_ms) + fr)


def read_frames(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 4 <= len(data):
        n = struct.unpack("!I", data[pos:pos + 4])[0]
        out.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def frames_for(sc):
    """(port, frame) in order, Ethernet addressed to the router port (or to a packet's
    `eth_dst`: broadcast, multicast or another host's address)."""
    macs = {p["name"]: p for p in sc["port"]}
    out = []
    for p in sc["packet"]:
        port = macs[p["port"]]
        if "arp" in p:
            # An ARP message: `arp = { op, spa, tpa, sha, tha }` (sha defaults to the far
            # end's MAC, which also sends it; tha to zero), broadcast unless `eth_dst`.
            a = p["arp"]
            sha = a.get("sha", port["peer_mac"])
            body = (struct.pack("!HHBBH", 1, 0x0800, 6, 4, a["op"]) + pkt.mac(sha)
                    + socket.inet_aton(a["spa"]) + pkt.mac(a.get("tha", "00:00:00:00:00:00"))
                    + socket.inet_aton(a["tpa"]))
            dst = p.get("eth_dst", "ff:ff:ff:ff:ff:ff")
            out.append((p["port"], pkt.mac(dst) + pkt.mac(sha) + b"\x08\x06" + body))
            continue
        quote = pkt.build(p["quote"]) if "quote" in p else b""
        ip = pkt.build(p["ip"], quote)
        dst = port["mac"]
        if ip[0] >> 4 == 6 and ip[24] == 0xFF:
            dst = pkt.multicast_mac6(ip[24:40])
        out.append((p["port"], pkt.frame(p.get("eth_dst", dst), port["peer_mac"], ip)))
    return out


def tcp_of(ip):
    """The TCP header and payload of an IPv4 packet, or None."""
    if len(ip) < 20 or ip[9] != 6:
        return None
    l4 = ip[(ip[0] & 15) * 4:]
    return l4 if len(l4) >= 20 else None


def ts_at(l4):
    """The offset in `l4` of the timestamp option's TSval, or None (options walked as the
    kernel walks them)."""
    end, i = (l4[12] >> 4) * 4, 20
    while i < end:
        if l4[i] == 0:
            return None
        if l4[i] == 1:
            i += 1
            continue
        if i + 1 >= end or l4[i + 1] < 2:
            return None
        if l4[i] == 8 and l4[i + 1] == 10 and i + 10 <= end:
            return i + 2
        i += l4[i + 1]
    return None


def last_synack(frames):
    """The IPv4 packet of the last SYN-ACK among captured frames."""
    for f in reversed(frames):
        l4 = tcp_of(f[14:])
        if l4 is not None and l4[13] & 0x12 == 0x12:
            return f[14:]
    return None


def sack_blocks_at(l4):
    """The offsets in `l4` of every SACK block edge."""
    end, i, out = (l4[12] >> 4) * 4, 20, []
    while i < end:
        if l4[i] == 0:
            break
        if l4[i] == 1:
            i += 1
            continue
        if i + 1 >= end or l4[i + 1] < 2:
            break
        if l4[i] == 5 and l4[i + 1] >= 10 and (l4[i + 1] - 2) % 8 == 0 and i + l4[i + 1] <= end:
            out += range(i + 2, i + l4[i + 1], 4)
        i += l4[i + 1]
    return out


def from_synack(frame, synack):
    """`from_synack`: the ACK a client makes of the SYN-ACK it got (SYNPROXY's cookie is
    keyed by a secret): ack = its seq + 1, the timestamp echo = its TSval, and SACK block
    edges written in the scenario as offsets from its seq."""
    if synack is None:
        raise RuntimeError("from_synack: no SYN-ACK was received before the packet")
    sa = tcp_of(synack)
    ip = bytearray(frame[14:])
    ihl = (ip[0] & 15) * 4
    ip[ihl + 8:ihl + 12] = struct.pack("!I", (struct.unpack("!I", sa[4:8])[0] + 1) & 0xffffffff)
    sa_ts, my_ts = ts_at(sa), ts_at(ip[ihl:])
    if sa_ts is not None and my_ts is not None:
        ip[ihl + my_ts + 4:ihl + my_ts + 8] = sa[sa_ts:sa_ts + 4]
    sa_seq = struct.unpack("!I", sa[4:8])[0]
    for at in sack_blocks_at(bytes(ip[ihl:])):
        off = struct.unpack("!I", ip[ihl + at:ihl + at + 4])[0]
        ip[ihl + at:ihl + at + 4] = struct.pack("!I", (sa_seq + off) & 0xffffffff)
    ip[ihl + 16:ihl + 18] = b"\0\0"
    ph = bytes(ip[12:20]) + struct.pack("!BBH", 0, 6, len(ip) - ihl)
    ip[ihl + 16:ihl + 18] = struct.pack("!H", pkt.csum(ph + bytes(ip[ihl:])))
    return frame[:14] + bytes(ip)


def sleeps_before(sc):
    """A packet's `sleep_ms`: extra time before it is sent (timeouts), on both sides."""
    return [p.get("sleep_ms", 0) for p in sc["packet"]]


def ipset_text(sc):
    """The scenario's sets: `ipset` (an `ipset restore` text) and/or `ipset_file` (one
    beside the scenario), loaded before the rules on both sides."""
    text = sc.get("ipset", "")
    if "ipset_file" in sc:
        with open(os.path.join(HERE, "scenarios", sc["ipset_file"])) as f:
            text += f.read()
    return text


# The router's IPv6 settings in an IPv6 scenario, set on `default` before its ports exist
# so that they start with them (see the module's docstring for why each).
V6_SYSCTLS = [("net.ipv6.conf.all.disable_ipv6", "0"), ("net.ipv6.conf.default.disable_ipv6", "0"),
              ("net.ipv6.conf.all.forwarding", "1"), ("net.ipv6.conf.default.accept_dad", "0"),
              ("net.ipv6.conf.default.dad_transmits", "0"), ("net.ipv6.conf.default.addr_gen_mode", "1"),
              ("net.ipv6.conf.default.router_solicitations", "0"), ("net.ipv6.conf.default.accept_ra", "0"),
              ("net.ipv6.auto_flowlabels", "0"),
              # Listener reports repeat at random within this many ms: 1 has them all sent
              # while the router is set up, before the captures start.
              ("net.ipv6.conf.default.mldv1_unsolicited_report_interval", "1"),
              ("net.ipv6.conf.default.mldv2_unsolicited_report_interval", "1")]


def kernel_run(sc, work):
    cleanup(sc)
    v6 = is_v6(sc)
    sh("ip", "netns", "add", ROUTER)
    sh("ip", "link", "set", "lo", "up", ns=ROUTER)
    for k, v in [("net.ipv4.ip_forward", "1"), ("net.ipv4.conf.all.rp_filter", "0"),
                 ("net.ipv4.conf.default.rp_filter", "0"), ("net.ipv6.conf.all.disable_ipv6", "1"),
                 ("net.ipv6.conf.default.disable_ipv6", "1")] + (V6_SYSCTLS if v6 else []):
        sh("sysctl", "-qw", "%s=%s" % (k, v), ns=ROUTER)
    for p in sc["port"]:
        ns = peer_ns(p["name"])
        sh("ip", "netns", "add", ns)
        # The far ends only inject and capture: no IPv6 of their own (DAD, MLD, RS).
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
        sh("ip", "link", "add", p["name"], "netns", ROUTER, "type", "veth", "peer", "name", "peer0", "netns", ns)
        sh("ip", "link", "set", p["name"], "address", p["mac"], ns=ROUTER)
        if "mtu" in p:
            # Both ends: a link has one MTU (veth drops what exceeds the receiver's).
            sh("ip", "link", "set", p["name"], "mtu", str(p["mtu"]), ns=ROUTER)
            sh("ip", "link", "set", "peer0", "mtu", str(p["mtu"]), ns=ns)
        sh("sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % p["name"], ns=ROUTER)
        sh("ip", "link", "set", "peer0", "address", p["peer_mac"], ns=ns)
        addrs = list(p.get("addresses", []))
        if v6 and p.get("mtu", 1500) >= 1280:
            # nfdp's link-local address, which addr_gen_mode 1 leaves to us.
            addrs.append(pkt.link_local(p["mac"]) + "/64")
        for a in addrs:
            sh("ip", "addr", "add", a, "dev", p["name"], *(["nodad"] if ":" in a else []), ns=ROUTER)
        sh("ip", "link", "set", p["name"], "up", ns=ROUTER)
        sh("ip", "link", "set", "peer0", "up", ns=ns)
        sh("ethtool", "-K", "peer0", "tx", "off", ns=ns, check=False)
    for r in sc.get("route", []):
        args = ["ip", "route", "add", r["dst"]]
        if "via" in r:
            args += ["via", r["via"]]
        if "dev" in r:
            args += ["dev", r["dev"]]
        if "table" in r:
            args += ["table", str(r["table"])]
        sh(*args, ns=ROUTER)
    for pol in sc.get("policy", []):
        # `family = 6`: an IPv6 rule (`ip -6 rule`); `mask`: fwmark M/MASK; `priority`.
        fam = ["-6"] if pol.get("family") == 6 else []
        mark = str(pol["fwmark"]) + ("/%s" % pol["mask"] if "mask" in pol else "")
        prio = ["priority", str(pol["priority"])] if "priority" in pol else []
        sh("ip", *fam, "rule", "add", *prio, "fwmark", mark, "table", str(pol["table"]), ns=ROUTER)
    for n in sc.get("neighbor", []):
        sh("ip", "neigh", "replace", n["ip"], "lladdr", n["mac"], "dev", n["dev"], "nud", "permanent", ns=ROUTER)
    for k, v in sc.get("conntrack", {}).items():
        sh("sysctl", "-qw", "net.netfilter.%s=%s" % (k, v), ns=ROUTER)
    sets = ipset_text(sc)
    if sets:
        r = subprocess.run(["ip", "netns", "exec", ROUTER, "ipset", "restore"], input=sets, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ipset restore: " + r.stderr)
    for key, tool in [("rules", "iptables-restore"), ("rules6", "ip6tables-restore")]:
        if key in sc:
            r = subprocess.run(["ip", "netns", "exec", ROUTER, tool], input=sc[key], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("%s: %s" % (tool, r.stderr))
    if "arptables" in sc:
        r = subprocess.run(["ip", "netns", "exec", ROUTER, "arptables-restore"], input=sc["arptables"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("arptables-restore: " + r.stderr)
    sh("conntrack", "-F", ns=ROUTER, check=False)
    # Captures on every far end, then the injections in order.
    caps = []
    for p in sc["port"]:
        path = os.path.join(work, "k-%s.bin" % p["name"])
        proc = subprocess.Popen(["ip", "netns", "exec", peer_ns(p["name"]), sys.executable,
                                 os.path.join(HERE, "capture.py"), "capture", "peer0", path, "60"])
        caps.append((p["name"], path, proc))
    for _, path, _ in caps:
        while not os.path.exists(path):
            time.sleep(0.01)
    time.sleep(0.1)
    sleeps = sleeps_before(sc)
    for i, (port, fr) in enumerate(frames_for(sc)):
        time.sleep(sleeps[i] / 1000.0)
        if sc["packet"][i].get("from_synack"):
            live = os.path.join(work, "k-%s.bin.live" % port)
            fr = from_synack(fr, last_synack(read_frames(live)))
        path = os.path.join(work, "in-%d.bin" % i)
        write_frames(path, [(0, fr)])
        sh(sys.executable, os.path.join(HERE, "capture.py"), "send", "peer0", path, ns=peer_ns(port))
        time.sleep(0.05)
    # What the router forwards in answer to the last injection arrives within this; then
    # the captures stop (a fixed capture window lost the last packets whenever process
    # start-up was slow).
    time.sleep(0.5)
    for _, path, _ in caps:
        open(path + ".stop", "w").close()
    out = {}
    for name, path, proc in caps:
        proc.wait()
        out[name] = read_frames(path)
    # Both families' connections (conntrack 1.4.7 lists every family without -f).
    table = sh("conntrack", "-L", ns=ROUTER, capture=True, check=False)
    cleanup(sc)
    return out, table


def nfdp_run(sc, work, nfdp):
    cfg = ["[[port]]\nname = %r\ndriver = \"mem\"\nmac = %r\naddresses = %s\n%s" % (
        p["name"], p["mac"], "[" + ", ".join('"%s"' % a for a in p.get("addresses", [])) + "]",
        "mtu = %d\n" % p["mtu"] if "mtu" in p else "") for p in sc["port"]]
    for r in sc.get("route", []):
        cfg.append("[[route]]\n" + "".join(
            ('%s = %s\n' if isinstance(v, int) else '%s = "%s"\n') % (k, v) for k, v in r.items()))
    for n in sc.get("neighbor", []):
        cfg.append("[[neighbor]]\n" + "".join('%s = "%s"\n' % (k, v) for k, v in n.items()))
    for pol in sc.get("policy", []):
        cfg.append("[[policy]]\n" + "".join("%s = %s\n" % kv for kv in pol.items()))
    if sc.get("conntrack"):
        cfg.append("[conntrack]\n" + "".join("%s = %s\n" % kv for kv in sc["conntrack"].items()))
    files = []
    sets = ipset_text(sc)
    if sets:
        sets_path = os.path.join(work, "sets.ipset")
        with open(sets_path, "w") as f:
            f.write(sets)
        files.append("ipset_file = %r\n" % sets_path)
    if "rules6" in sc:
        rules6 = os.path.join(work, "rules6")
        with open(rules6, "w") as f:
            f.write(sc["rules6"])
        files.append("file6 = %r\n" % rules6)
    if "arptables" in sc:
        arp_path = os.path.join(work, "arp.rules")
        with open(arp_path, "w") as f:
            f.write(sc["arptables"])
        files.append("arp_file = %r\n" % arp_path)
    if files:
        cfg.append("[rules]\n" + "".join(files))
    path = os.path.join(work, "nfdp.toml")
    with open(path, "w") as f:
        f.write("\n".join(cfg))
    rules = os.path.join(work, "rules")
    with open(rules, "w") as f:
        f.write(sc.get("rules", ""))
    frames = frames_for(sc)
    # A packet built from a SYN-ACK nfdp sent: replay up to it, read the SYN-ACK, build it
    # (replay's cookies are reproducible: the same input gives the same ones).
    for i, p in enumerate(sc["packet"]):
        if p.get("from_synack"):
            port = frames[i][0]
            out = nfdp_replay(sc, work, nfdp, path, rules, frames[:i])
            frames[i] = (port, from_synack(frames[i][1], last_synack(out[port])))
    out = nfdp_replay(sc, work, nfdp, path, rules, frames)
    return out, open(os.path.join(work, "ct.txt")).read()


def nfdp_replay(sc, work, nfdp, path, rules, frames):
    """One `nfdp replay` of `frames` (the first ones of the scenario); what left each port."""
    # One pcap per input port, 50 ms apart like the kernel run.
    per_port = {}
    waited = 0.0
    for i, ((port, fr), sleep_ms) in enumerate(zip(frames, sleeps_before(sc))):
        waited += sleep_ms / 1000.0
        per_port.setdefault(port, []).append((1_700_000_000 + i * 0.05 + waited, fr))
    args = [nfdp, "replay", "--config", path, "--rules", rules, "--out", os.path.join(work, "out"),
            "--conntrack", os.path.join(work, "ct.txt")]
    for port, frames in per_port.items():
        pcap = os.path.join(work, "in-%s.pcap" % port)
        with open(pcap, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for ts, fr in frames:
                f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(fr), len(fr)) + fr)
        args += ["--in", "%s=%s" % (port, pcap)]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("nfdp replay: " + r.stderr)
    out = {}
    for p in sc["port"]:
        pcap = os.path.join(work, "out", "%s.pcap" % p["name"])
        frames = []
        if os.path.exists(pcap):
            raw = open(pcap, "rb").read()
            # The magic number tells the byte order the writer used.
            end = "<" if raw[:4] == b"\xd4\xc3\xb2\xa1" else ">"
            data = raw[24:]
            pos = 0
            while pos + 16 <= len(data):
                n = struct.unpack(end + "I", data[pos + 8:pos + 12])[0]
                fr = data[pos + 16:pos + 16 + n]
                # The kernel side captures IPv4 and IPv6 only (capture.py): leave ARP out here too.
                if fr[12:14] in (b"\x08\x00", b"\x86\xdd"):
                    frames.append(fr)
                pos += 16 + n
        out[p["name"]] = frames
    return out


def fix_offloaded_checksum(b):
    """The kernel leaves the TCP/UDP checksum of packets it generates to the NIC
    (CHECKSUM_PARTIAL) and veth passes it unfinished: finish it as the NIC would."""
    if b[0] >> 4 == 6:
        _, proto, ihl = pkt.upper6(bytes(b))
    else:
        ihl, proto = (b[0] & 15) * 4, b[9]
    if proto not in (6, 17) or len(b) < ihl + 8:
        return
    at = ihl + (16 if proto == 6 else 6)
    if len(b) < at + 2 or (proto == 17 and b[at:at + 2] == b"\0\0"):
        return
    seg = bytes(b[ihl:])
    if b[0] >> 4 == 6:
        ph = bytes(b[8:40]) + struct.pack("!IxxxB", len(seg), proto)
    else:
        ph = bytes(b[12:20]) + struct.pack("!BBH", 0, proto, len(seg))
    if pkt.csum(ph + seg) == 0:
        return
    b[at:at + 2] = b"\0\0"
    c = pkt.csum(ph + bytes(b[ihl:]))
    b[at:at + 2] = struct.pack("!H", c)


def normalize_packet(ip, router_addrs):
    """Fields the kernel picks freely are compared by rule: the IP ID (and so the header
    checksum) of packets the router itself generates."""
    b = bytearray(ip)
    if len(b) >= 40 and b[0] >> 4 == 6:
        # IPv6 has no ID; the flow label is 0 on both sides (auto_flowlabels 0).
        fix_offloaded_checksum(b)
        return bytes(b)
    if len(b) >= 20:
        fix_offloaded_checksum(b)
    if len(b) >= 20 and ".".join(map(str, b[12:16])) in router_addrs:
        b[4:6] = b"\0\0"
        b[10:12] = b"\0\0"
    return bytes(b)


def clear_frag6_id(ip):
    """The identification of an IPv6 fragment header zeroed: the kernel picks a fresh one
    when it cuts a reassembled datagram again (ip6_fragment's ipv6_select_ident, keyed by a
    random secret), nfdp keeps the one it arrived with."""
    b = bytearray(ip)
    if len(b) < 40 or b[0] >> 4 != 6:
        return ip
    nh, at = b[6], 40
    for _ in range(8):
        if nh == 44 and at + 8 <= len(b):
            b[at + 4:at + 8] = b"\0\0\0\0"
            return bytes(b)
        if nh not in (0, 43, 60) or at + 2 > len(b):
            break
        nh, at = b[at], at + (b[at + 1] + 1) * 8
    return ip


def cookie_relative(frames_by_port, client_port):
    """SYNPROXY's cookie ISN and timestamp of each client (address and port), from the
    first SYN-ACK it got."""
    cookies = {}
    for f in frames_by_port.get(client_port, []):
        ip = f[14:]
        l4 = tcp_of(ip)
        if l4 is not None and l4[13] & 0x12 == 0x12:
            at = ts_at(l4)
            cookies.setdefault((bytes(ip[16:20]), bytes(l4[2:4])), (
                struct.unpack("!I", l4[4:8])[0],
                struct.unpack("!I", l4[at:at + 4])[0] if at is not None else None))
    return cookies


def normalize_cookie(ip, cookies):
    """Sequence numbers and timestamps near a client's cookie (within 2^16) are written as
    offsets from it in a marked range (0xEEEE0000 + offset), and a right TCP checksum as 0:
    the kernel's cookie comes from its secret and clock, nfdp's from its own."""
    b = bytearray(ip)
    l4 = tcp_of(b)
    if l4 is None:
        return ip
    ihl = (b[0] & 15) * 4
    key = (bytes(b[12:16]), bytes(l4[0:2]))
    if key not in cookies:
        key = (bytes(b[16:20]), bytes(l4[2:4]))
    if key not in cookies:
        return ip
    isn, cts = cookies[key]
    ph = bytes(b[12:20]) + struct.pack("!BBH", 0, 6, len(b) - ihl)
    good = pkt.csum(ph + bytes(b[ihl:])) == 0

    def rel(at, base, minus=False):
        if base is None:
            return
        v = struct.unpack("!I", b[at:at + 4])[0]
        d = (v - base) & 0xffffffff
        if d < 1 << 16:
            b[at:at + 4] = struct.pack("!I", 0xEEEE0000 + d)
        elif minus and (v + base) & 0xffffffff < 1 << 16:
            # Minus the cookie's: the kernel's ACK to the server echoes the server's
            # TSval plus the timestamp offset (TSval - cookie TS), which for a server
            # TSval of 2^31 is this.
            b[at:at + 4] = struct.pack("!I", 0xDDDD0000 + ((v + base) & 0xffff))
    rel(ihl + 4, isn)
    rel(ihl + 8, isn)
    at = ts_at(bytes(b[ihl:]))
    if at is not None:
        rel(ihl + at, cts)
        rel(ihl + at + 4, cts, True)
    if good:
        b[ihl + 16:ihl + 18] = b"\0\0"
    return bytes(b)


def short6(m):
    """An IPv6 address as conntrack -L writes it (/proc/net/nf_conntrack writes every
    group, 2001:0db8:0000:...)."""
    return m.group(1) + socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, m.group(2)))


def normalize_ct(text):
    lines = []
    for line in text.strip().splitlines():
        line = re.sub(r"^ipv[46]\s+(2|10)\s+", "", line)
        line = re.sub(r"\b(src=|dst=)([0-9a-fA-F]*:[0-9a-fA-F:]+)", short6, line)
        line = re.sub(r"^(\w+)\s+(\d+)\s+\d+\s+", r"\1 \2 ", line)  # the timeout counts down
        line = re.sub(r"\s+(mark|zone|use)=\d+", "", line)
        # conntrack -L (netlink) names the helper; /proc/net/nf_conntrack, the format
        # replay writes, does not. Helper behaviour shows in the packets.
        line = re.sub(r"\s+helper=\S+", "", line)
        lines.append(" ".join(line.split()))
    return sorted(lines)


def run(path, nfdp):
    with open(path, "rb") as f:
        sc = tomllib.load(f)
    name = os.path.basename(path)[:-5]
    router_addrs = {a.split("/")[0] for p in sc["port"] for a in p.get("addresses", [])}
    with tempfile.TemporaryDirectory() as work:
        try:
            k_out, k_ct = kernel_run(sc, work)
        finally:
            cleanup(sc)
        try:
            n_out, n_ct = nfdp_run(sc, work, nfdp)
        except RuntimeError as err:
            # nfdp refused the scenario (a rule it does not support): a difference too.
            n_out, n_ct = {}, ""
            refused = str(err).strip()
        else:
            refused = None
    diffs = ["  nfdp refused it: " + refused] if refused else []
    # `compare_eth`: the Ethernet destination too (which neighbour entry a packet used).
    eth = sc.get("compare_eth", False)

    # `synproxy_client`: the port of a SYNPROXY scenario's client (numbers compared
    # relative to the cookie each side made).
    client = sc.get("synproxy_client")
    # `ignore_frag6_id`: IPv6 fragments the router cut again are compared without their
    # identification (`clear_frag6_id`).
    frag6_id = not sc.get("ignore_frag6_id", False)

    def seen(frames, cookie):
        out = []
        for f in frames:
            if mld_report(f):
                continue
            ip = normalize_packet(f[14:], router_addrs)
            if not frag6_id:
                ip = clear_frag6_id(ip)
            if cookie is not None:
                ip = normalize_cookie(ip, cookie)
            out.append(((f[:6].hex(":") + " ") if eth else "", ip))
        return out
    k_cookie = cookie_relative(k_out, client) if client else None
    n_cookie = cookie_relative(n_out, client) if client else None
    for p in sc["port"]:
        kp = seen(k_out.get(p["name"], []), k_cookie)
        np_ = seen(n_out.get(p["name"], []), n_cookie)
        if kp != np_:
            diffs.append("  port %s:" % p["name"])
            for m, x in kp:
                diffs.append("    kernel: " + m + pkt.describe(x))
            for m, x in np_:
                diffs.append("    nfdp:   " + m + pkt.describe(x))
    if sc.get("compare_conntrack", True):
        kc, nc = normalize_ct(k_ct), normalize_ct(n_ct)
        if kc != nc:
            diffs.append("  conntrack:")
            diffs += ["    kernel: " + x for x in kc] + ["    nfdp:   " + x for x in nc]
    if not diffs:
        return name, "PASS", []
    if sc.get("deviation"):
        return name, "DEVIATION", ["  " + sc["deviation"]] + diffs
    return name, "FAIL", diffs


def main():
    args = sys.argv[1:]
    nfdp = os.path.join(HERE, "..", "..", "target", "debug", "nfdp")
    if args[:1] == ["--nfdp"]:
        nfdp, args = args[1], args[2:]
    files = args or sorted(glob.glob(os.path.join(HERE, "scenarios", "*.toml")))
    counts = {"PASS": 0, "FAIL": 0, "DEVIATION": 0}
    for f in files:
        name, verdict, diffs = run(f, nfdp)
        counts[verdict] += 1
        print("%-9s %s" % (verdict, name))
        for d in diffs:
            print(d)
    print("conformance: %d passed, %d failed, %d deviations" % (counts["PASS"], counts["FAIL"], counts["DEVIATION"]))
    sys.exit(1 if counts["FAIL"] else 0)


if __name__ == "__main__":
    main()
