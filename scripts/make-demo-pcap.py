#!/usr/bin/env python3
"""Writes the demo's LAN capture: a LAN host (192.168.1.10) opening a web connection to
93.184.216.34, a telnet attempt, a ping to the gateway and a DNS query. Plain Python, no
dependencies: Ethernet/IPv4/TCP/UDP/ICMP with correct checksums."""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip(src, dst, proto, l4, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000, 64, proto, 0,
                      bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + l4


def tcp(src, dst, sport, dport, flags, seq, ack=0):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    ph = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 6, len(h))
    h = h[:16] + struct.pack("!H", csum(ph + h)) + h[18:]
    return ip(src, dst, 6, h, seq & 0xFFFF)


def udp(src, dst, sport, dport, payload):
    h = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ph = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 17, len(h))
    c = csum(ph + h) or 0xFFFF
    h = h[:6] + struct.pack("!H", c) + h[8:]
    return ip(src, dst, 17, h, 7)


def ping(src, dst, ident, seq):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"nfdp demo"
    h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
    return ip(src, dst, 1, h, 9)


def frame(payload):
    gw = bytes([2, 0, 0, 0, 1, 1])
    host = bytes([2, 0, 0, 0, 1, 0x10])
    return gw + host + b"\x08\x00" + payload


host, server, gw = [192, 168, 1, 10], [93, 184, 216, 34], [192, 168, 1, 1]
packets = [
    tcp(host, server, 40000, 80, 0x02, 1000),
    tcp(host, server, 40001, 23, 0x02, 2000),
    ping(host, gw, 77, 1),
    udp(host, [9, 9, 9, 9], 5353, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"),
]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, p in enumerate(packets):
        fr = frame(p)
        f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
        f.write(fr)
