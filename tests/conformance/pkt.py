"""Tiny packet builder for the conformance scenarios: IPv4 with TCP, UDP or ICMP and
correct checksums, from a spec like
`tcp src=192.168.1.10 dst=93.184.216.34 sport=40000 dport=80 flags=S seq=1000 ttl=64`.

Payload: `data=TEXT` (escapes: `\\r\\n`, and `\\xHH` for any byte, e.g. `\\x20` for a space since
spaces split the spec); `len=N` pads the payload to N bytes with a filler (a..z repeated).
TCP options: `opts=HEX` (e.g. `opts=020405b40402` for MSS 1460 and SACK permitted).
Fragments: `fragment=K/N` builds the whole datagram (L4 checksum over all of it) and returns
its K-th (1-based) of N fragments; the pieces are ceil(L4 length / N) rounded up to 8 bytes,
or `fragsize=S` (a multiple of 8); DF defaults to 0 for a fragment."""
import re
import struct


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def addr(s):
    return bytes(int(x) for x in s.split("."))


FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}


def build(spec, quote=b""):
    """`quote`: for ICMP errors, the packet the error quotes (appended after the header)."""
    words = spec.split()
    proto = words[0]
    kv = dict(w.split("=", 1) for w in words[1:])
    src, dst = addr(kv["src"]), addr(kv["dst"])
    ttl = int(kv.get("ttl", 64))
    ident = int(kv.get("id", 0x1234))
    df = 0x4000 if kv.get("df", "0" if "fragment" in kv else "1") == "1" else 0
    text = kv.get("data", "").replace("\\r\\n", "\r\n")
    payload = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text).encode("latin-1")
    if "len" in kv:
        n = int(kv["len"])
        payload = (payload + bytes(97 + i % 26 for i in range(n)))[:n]
    if proto == "tcp":
        flags = sum(FLAGS[c] for c in kv.get("flags", "S"))
        # `opts=HEX`: TCP options, padded with EOL to a multiple of 4 bytes.
        opts = bytes.fromhex(kv.get("opts", ""))
        opts += b"\0" * (-len(opts) % 4)
        l4 = struct.pack("!HHIIBBHHH", int(kv["sport"]), int(kv["dport"]), int(kv.get("seq", 1000)),
                         int(kv.get("ack", 0)), (5 + len(opts) // 4) << 4, flags, int(kv.get("win", 64240)),
                         0, 0) + opts + payload
        ph = src + dst + struct.pack("!BBH", 0, 6, len(l4))
        l4 = l4[:16] + struct.pack("!H", csum(ph + l4)) + l4[18:]
        pnum = 6
    elif proto == "udp":
        l4 = struct.pack("!HHHH", int(kv["sport"]), int(kv["dport"]), 8 + len(payload), 0) + payload
        ph = src + dst + struct.pack("!BBH", 0, 17, len(l4))
        c = csum(ph + l4) or 0xFFFF
        l4 = l4[:6] + struct.pack("!H", c) + l4[8:]
        pnum = 17
    elif proto == "icmp":
        t, code = int(kv.get("type", 8)), int(kv.get("code", 0))
        if quote:
            l4 = struct.pack("!BBHI", t, code, 0, 0) + quote
        else:
            l4 = struct.pack("!BBHHH", t, code, 0, int(kv.get("ident", 1)), int(kv.get("seqno", 1))) + payload
        l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
        pnum = 1
    elif proto == "raw":
        # Any other protocol: its number and the bytes after the IP header as `data`.
        l4 = payload
        pnum = int(kv["proto"])
    else:
        raise ValueError("unknown protocol " + proto)
    if "fragment" in kv:
        k, n = (int(x) for x in kv["fragment"].split("/"))
        size = int(kv.get("fragsize", 0)) or (len(l4) + n - 1) // n + 7 & ~7
        off = (k - 1) * size
        mf = 0x2000 if k < n else 0
        l4 = l4[off:] if k == n else l4[off:off + size]
        df |= mf | off // 8
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, int(kv.get("tos", 0)), 20 + len(l4), ident, df, ttl, pnum, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + l4


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def frame(dst_mac, src_mac, ip):
    return mac(dst_mac) + mac(src_mac) + b"\x08\x00" + ip


def describe(ip):
    """A readable one-line summary of an IPv4 packet, for diffs."""
    if len(ip) < 20:
        return "short packet %s" % ip.hex()
    ihl = (ip[0] & 15) * 4
    src = ".".join(map(str, ip[12:16]))
    dst = ".".join(map(str, ip[16:20]))
    p = ip[9]
    l4 = ip[ihl:]
    head = "%s > %s ttl=%d len=%d" % (src, dst, ip[8], len(ip))
    fo = struct.unpack("!H", ip[6:8])[0]
    if fo & 0x3FFF:
        head += " frag=%d%s" % ((fo & 0x1FFF) * 8, " MF" if fo & 0x2000 else "")
        if fo & 0x1FFF:
            return "%s proto=%d" % (head, ip[9])
    if p == 6 and len(l4) >= 20:
        flags = "".join(c for c, b in FLAGS.items() if l4[13] & b)
        sp, dp, seq, ack = struct.unpack("!HHII", l4[:12])
        opts = l4[20:(l4[12] >> 4) * 4]
        return "%s tcp %d > %d [%s] seq=%d ack=%d%s data=%r" % (
            head, sp, dp, flags, seq, ack, " opts=" + opts.hex() if opts else "", l4[(l4[12] >> 4) * 4:])
    if p == 17 and len(l4) >= 8:
        sp, dp = struct.unpack("!HH", l4[:4])
        return "%s udp %d > %d" % (head, sp, dp)
    if p == 1 and len(l4) >= 4:
        inner = ""
        if l4[0] in (3, 11) and len(l4) > 28:
            inner = " [" + describe(l4[8:]) + "]"
        return "%s icmp type=%d code=%d%s" % (head, l4[0], l4[1], inner)
    return "%s proto=%d" % (head, p)
