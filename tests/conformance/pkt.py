"""Tiny packet builder for the conformance scenarios: IPv4 or IPv6 with TCP, UDP, ICMP or
ICMPv6 and correct checksums, from a spec like
`tcp src=192.168.1.10 dst=93.184.216.34 sport=40000 dport=80 flags=S seq=1000 ttl=64`.

Payload: `data=TEXT` (escapes: `\\r\\n`, and `\\xHH` for any byte, e.g. `\\x20` for a space since
spaces split the spec); `len=N` pads the payload to N bytes with a filler (a..z repeated).
TCP options: `opts=HEX` (e.g. `opts=020405b40402` for MSS 1460 and SACK permitted).
Fragments: `fragment=K/N` builds the whole datagram (L4 checksum over all of it) and returns
its K-th (1-based) of N fragments; the pieces are ceil(L4 length / N) rounded up to 8 bytes,
or `fragsize=S` (a multiple of 8); DF defaults to 0 for a fragment.

IPv6: a `src` or `dst` with a ':' makes an IPv6 packet (so do the protocol words `icmp6`,
`ns` and `na`, which exist only there); `tcp`, `udp` and `raw` (`proto=N`) work in both
families, with the L4 checksum over the family's pseudo-header. IPv6 fields: `hl=` (hop
limit, default 64; 255 for `ns`/`na`), `tc=` (traffic class), `flow=` (flow label).
`ext=hbh,rt,dst` puts extension headers, in the order given, between the IPv6 header and
the upper layer: hop-by-hop and destination options holding one PadN option (8 bytes
each), and a routing header of the experimental type 253 with no segments left (8 bytes,
which every node skips). `fragment=K/N` (and `fragsize=`, `id=` the 32-bit
identification) adds a fragment header after the `ext` headers (the unfragmentable part)
and cuts the upper layer as for IPv4.
- `icmp6`: echo request by default (`type=128`, `ident=`, `seqno=`, payload as above); an
  error with a `quote` (the packet it quotes, built by the caller) takes `type=` 1..4,
  `code=`, and `mtu=` (packet too big) or `pointer=` (parameter problem) for its 4-byte
  field; the quote is cut so that the error is at most 1280 bytes long.
- `ns target=ADDR [sll=MAC]`: a neighbour solicitation (`sll`: the source link-layer
  address option); `dst` defaults to the target's solicited-node group (ff02::1:ffXX:XXXX),
  `src=::` makes a duplicate address detection probe.
- `na target=ADDR flags=RSO [tll=MAC]`: a neighbour advertisement (router, solicited and
  override flags; `tll`: the target link-layer address option); `dst` defaults to ff02::1."""
import re
import socket
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


def addr6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def solicited_node(a):
    """The solicited-node multicast group (ff02::1:ffXX:XXXX) of the IPv6 address `a`."""
    return addr6("ff02::1:ff00:0")[:13] + a[13:]


def multicast_mac6(group):
    """The Ethernet group address of an IPv6 multicast group (RFC 2464: 33:33 + last 32 bits)."""
    return "33:33:" + group[12:].hex(":")


def link_local(mac_text):
    """The EUI-64 link-local address (text) of a MAC, as Linux and nfdp derive it."""
    m = bytearray(mac(mac_text))
    m[0] ^= 2
    return socket.inet_ntop(socket.AF_INET6, b"\xfe\x80" + b"\0" * 6 + bytes(m[:3]) + b"\xff\xfe" + bytes(m[3:]))


FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}
# Neighbour advertisement flags (the first byte of its reserved word).
NA_FLAGS = {"R": 0x80, "S": 0x40, "O": 0x20}
# Extension headers `ext=` knows, by name and next-header number.
EXT = {"hbh": 0, "rt": 43, "dst": 60}
EXT_NAMES = {v: k for k, v in EXT.items()}


def payload_of(kv):
    text = kv.get("data", "").replace("\\r\\n", "\r\n")
    payload = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text).encode("latin-1")
    if "len" in kv:
        n = int(kv["len"])
        payload = (payload + bytes(97 + i % 26 for i in range(n)))[:n]
    return payload


def tcp_udp(proto, kv, payload, pseudo):
    """A TCP or UDP segment and its protocol number; `pseudo(pnum, length)` is the
    family's pseudo-header."""
    if proto == "tcp":
        flags = sum(FLAGS[c] for c in kv.get("flags", "S"))
        # `opts=HEX`: TCP options, padded with EOL to a multiple of 4 bytes.
        opts = bytes.fromhex(kv.get("opts", ""))
        opts += b"\0" * (-len(opts) % 4)
        l4 = struct.pack("!HHIIBBHHH", int(kv["sport"]), int(kv["dport"]), int(kv.get("seq", 1000)),
                         int(kv.get("ack", 0)), (5 + len(opts) // 4) << 4, flags, int(kv.get("win", 64240)),
                         0, 0) + opts + payload
        return l4[:16] + struct.pack("!H", csum(pseudo(6, len(l4)) + l4)) + l4[18:], 6
    l4 = struct.pack("!HHHH", int(kv["sport"]), int(kv["dport"]), 8 + len(payload), 0) + payload
    c = csum(pseudo(17, len(l4)) + l4) or 0xFFFF
    return l4[:6] + struct.pack("!H", c) + l4[8:], 17


def fragment_of(kv, l4):
    """The `fragment=K/N` piece of `l4`: (bytes, offset in bytes, more fragments)."""
    k, n = (int(x) for x in kv["fragment"].split("/"))
    size = int(kv.get("fragsize", 0)) or (len(l4) + n - 1) // n + 7 & ~7
    off = (k - 1) * size
    return (l4[off:] if k == n else l4[off:off + size]), off, k < n


def is_ipv6_spec(proto, kv):
    return proto in ("icmp6", "ns", "na") or ":" in kv.get("src", "") + kv.get("dst", "")


def build(spec, quote=b""):
    """`quote`: for ICMP errors, the packet the error quotes (appended after the header)."""
    words = spec.split()
    proto = words[0]
    kv = dict(w.split("=", 1) for w in words[1:])
    if is_ipv6_spec(proto, kv):
        return build6(proto, kv, quote)
    src, dst = addr(kv["src"]), addr(kv["dst"])
    ttl = int(kv.get("ttl", 64))
    ident = int(kv.get("id", 0x1234))
    df = 0x4000 if kv.get("df", "0" if "fragment" in kv else "1") == "1" else 0
    payload = payload_of(kv)
    if proto in ("tcp", "udp"):
        l4, pnum = tcp_udp(proto, kv, payload, lambda p, n: src + dst + struct.pack("!BBH", 0, p, n))
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
        l4, off, more = fragment_of(kv, l4)
        df |= (0x2000 if more else 0) | off // 8
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, int(kv.get("tos", 0)), 20 + len(l4), ident, df, ttl, pnum, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + l4


def build6(proto, kv, quote):
    src = addr6(kv.get("src", "::"))
    target = addr6(kv["target"]) if "target" in kv else None
    if "dst" in kv:
        dst = addr6(kv["dst"])
    elif proto == "ns":
        dst = solicited_node(target)
    elif proto == "na":
        dst = addr6("ff02::1")
    else:
        raise ValueError("no dst in IPv6 spec")
    hl = int(kv.get("hl", 255 if proto in ("ns", "na") else 64))
    payload = payload_of(kv)

    def pseudo(p, n):
        return src + dst + struct.pack("!IxxxB", n, p)
    if proto in ("tcp", "udp"):
        l4, nh = tcp_udp(proto, kv, payload, pseudo)
    elif proto == "raw":
        l4, nh = payload, int(kv["proto"])
    elif proto in ("icmp6", "ns", "na"):
        if proto == "ns":
            body = struct.pack("!BBHI", 135, 0, 0, 0) + target
            if "sll" in kv:
                body += b"\x01\x01" + mac(kv["sll"])
        elif proto == "na":
            flags = sum(NA_FLAGS[c] for c in kv.get("flags", ""))
            body = struct.pack("!BBHBxxx", 136, 0, 0, flags) + target
            if "tll" in kv:
                body += b"\x02\x01" + mac(kv["tll"])
        else:
            t, code = int(kv.get("type", 128)), int(kv.get("code", 0))
            if quote:
                word = int(kv.get("mtu", kv.get("pointer", 0)))
                # As much of the quoted packet as fits in 1280 bytes (RFC 4443 2.4 (c)).
                body = struct.pack("!BBHI", t, code, 0, word) + quote[:1280 - 48]
            else:
                body = struct.pack("!BBHHH", t, code, 0, int(kv.get("ident", 1)), int(kv.get("seqno", 1))) + payload
        l4 = body[:2] + struct.pack("!H", csum(pseudo(58, len(body)) + body)) + body[4:]
        nh = 58
    else:
        raise ValueError("unknown protocol " + proto)
    # The headers after the IPv6 header, built back to front so each names the next.
    exts = [EXT[e] for e in kv["ext"].split(",")] if kv.get("ext") else []
    if "fragment" in kv:
        l4, off, more = fragment_of(kv, l4)
        l4 = struct.pack("!BBHI", nh, 0, off | more, int(kv.get("id", 0x1234))) + l4
        nh = 44
    for e in reversed(exts):
        if e == 43:
            # Routing type 253 (RFC 4727's experimental one) with 0 segments left: skipped
            # by every node, as RFC 8200 4.4 asks for a type it does not know.
            l4 = struct.pack("!BBBB4x", nh, 0, 253, 0) + l4
        else:
            # Options header of 8 bytes: its two bytes, then PadN covering the other 6.
            l4 = struct.pack("!BBBB4x", nh, 0, 1, 4) + l4
        nh = e
    first = 6 << 28 | int(kv.get("tc", 0)) << 20 | int(kv.get("flow", 0))
    return struct.pack("!IHBB", first, len(l4), nh, hl) + src + dst + l4


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def frame(dst_mac, src_mac, ip):
    etype = b"\x86\xdd" if ip[:1] and ip[0] >> 4 == 6 else b"\x08\x00"
    return mac(dst_mac) + mac(src_mac) + etype + ip


def describe(ip):
    """A readable one-line summary of an IPv4 or IPv6 packet, for diffs."""
    if ip[:1] and ip[0] >> 4 == 6:
        return describe6(ip)
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
    if p == 1 and len(l4) >= 4:
        inner = ""
        if l4[0] in (3, 11) and len(l4) > 28:
            inner = " [" + describe(l4[8:]) + "]"
        return "%s icmp type=%d code=%d%s" % (head, l4[0], l4[1], inner)
    return describe_l4(head, p, l4)


def describe_l4(head, p, l4):
    if p == 6 and len(l4) >= 20:
        flags = "".join(c for c, b in FLAGS.items() if l4[13] & b)
        sp, dp, seq, ack = struct.unpack("!HHII", l4[:12])
        opts = l4[20:(l4[12] >> 4) * 4]
        data = l4[(l4[12] >> 4) * 4:]
        # Long payloads (fillers) cut, with their length: the bytes are compared anyway.
        more = "...(%d bytes)" % len(data) if len(data) > 64 else ""
        return "%s tcp %d > %d [%s] seq=%d ack=%d%s data=%r%s" % (
            head, sp, dp, flags, seq, ack, " opts=" + opts.hex() if opts else "", data[:64], more)
    if p == 17 and len(l4) >= 8:
        sp, dp = struct.unpack("!HH", l4[:4])
        return "%s udp %d > %d" % (head, sp, dp)
    return "%s proto=%d" % (head, p)


def upper6(ip):
    """The extension headers' names and (next header, offset) of the upper layer of an IPv6
    packet; next header 44 stops at a fragment header (offset: the fragment header)."""
    names, nh, at = [], ip[6], 40
    while nh in EXT_NAMES and at + 2 <= len(ip):
        names.append(EXT_NAMES[nh])
        nh, at = ip[at], at + (ip[at + 1] + 1) * 8
    return names, nh, at


def describe6(ip):
    if len(ip) < 40:
        return "short packet %s" % ip.hex()
    a6 = lambda b: socket.inet_ntop(socket.AF_INET6, bytes(b))  # noqa: E731
    first = struct.unpack("!I", ip[:4])[0]
    # The length the header says, and what is there when less is (a quote in an error).
    plen = 40 + struct.unpack("!H", ip[4:6])[0]
    head = "%s > %s hl=%d len=%d" % (a6(ip[8:24]), a6(ip[24:40]), ip[7], plen)
    if plen != len(ip):
        head += " (%d here)" % len(ip)
    if first & 0x0FFFFFFF:
        head += " tc=%d flow=%d" % (first >> 20 & 0xFF, first & 0xFFFFF)
    names, nh, at = upper6(ip)
    if names:
        head += " ext=" + ",".join(names)
    if nh == 44 and at + 8 <= len(ip):
        off, ident = struct.unpack("!HI", ip[at + 2:at + 8])
        head += " frag=%d%s id=%d" % (off & ~7, " MF" if off & 1 else "", ident)
        nh, at = ip[at], at + 8
        if off & ~7:
            return "%s proto=%d" % (head, nh)
    l4 = ip[at:]
    if nh != 58 or len(l4) < 4:
        return describe_l4(head, nh, l4)
    t, code = l4[0], l4[1]
    out = "%s icmp6 type=%d code=%d" % (head, t, code)
    if t in (128, 129) and len(l4) >= 8:
        out += " id=%d seq=%d len=%d" % (struct.unpack("!HH", l4[4:8]) + (len(l4) - 8,))
    elif t in (1, 2, 3, 4) and len(l4) >= 8:
        if t in (2, 4):
            out += " %s=%d" % ("mtu" if t == 2 else "pointer", struct.unpack("!I", l4[4:8])[0])
        out += " [" + describe6(l4[8:]) + "]"
    elif t in (135, 136) and len(l4) >= 24:
        out += " target=%s" % a6(l4[8:24])
        if t == 136:
            out += " flags=" + "".join(c for c, b in NA_FLAGS.items() if l4[4] & b)
        i = 24
        while i + 2 <= len(l4) and l4[i + 1]:
            out += " opt%d=%s" % (l4[i], l4[i + 2:i + l4[i + 1] * 8].hex(":"))
            i += l4[i + 1] * 8
    return out
