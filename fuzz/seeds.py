#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/TARGET/) from the project's test
inputs: the golden iptables rulesets and refusals, the API's exec cases, the shipped configs,
packets from the wire tests. Run from the repository root: python3 fuzz/seeds.py
(the output is committed; run it again when the inputs change). The pipeline target's seeds
are not written here: its input is a structured description (arbitrary), its committed
corpus is the minimised corpus of a fuzzing run (fuzz/README.md)."""

import glob
import hashlib
import os
import re
import shlex
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
MAX = 16 << 10  # per seed


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(p):
    with open(os.path.join(ROOT, p), "rb") as f:
        return f.read()


def rules_files():
    pats = ["configs/*.rules", "tests/golden/cases/*.rules", "tests/golden/errors/*.rules",
            "tests/golden/api/restore/*.rules"]
    return sorted(p for pat in pats for p in glob.glob(os.path.join(ROOT, pat)))


def commands_of(text):
    """iptables-restore text as the single commands that build it."""
    out, table = [], "filter"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            out.append(f"-t {table} -P {name} {policy}" if policy != "-" else f"-t {table} -N {name}")
        elif line.startswith("-"):
            out.append(f"-t {table} {line}")
    return out


# iptables: mode byte, then text (fuzz_targets/iptables.rs).
for p in rules_files():
    text = read(p)
    put("iptables", b"\x00" + text)
    put("iptables", b"\x01" + text)
    cmds = commands_of(text.decode(errors="replace"))
    if cmds:
        put("iptables", b"\x03" + "\n".join(cmds[:32]).encode())
        # Listing, checking and deleting what was added.
        extra = [c.replace(" -A ", " -C ", 1) for c in cmds if " -A " in c][:4]
        extra += [c.replace(" -A ", " -D ", 1) for c in cmds if " -A " in c][:4]
        extra += ["-L -n -v --line-numbers", "-t nat -S", "-Z", "-F", "-X"]
        put("iptables", b"\x03" + "\n".join(cmds[:16] + extra).encode())
for p in sorted(glob.glob(os.path.join(ROOT, "tests/golden/api/exec/*.cmd"))):
    words = read(p).decode().splitlines()
    put("iptables", b"\x03" + " ".join(shlex.quote(w) for w in words).encode())

# iptables' mode 6: the ip6tables goldens and refusals (tests/golden/cases6, errors6).
for p in sorted(glob.glob(os.path.join(ROOT, "tests/golden/cases6/*.rules"))) + sorted(
    glob.glob(os.path.join(ROOT, "tests/golden/errors6/*.rules"))
):
    put("iptables", b"\x06" + read(p))

# iptables' modes 4 and 5: arptables-restore texts and arptables command transcripts
# (tests/golden/arptables).
for p in sorted(glob.glob(os.path.join(ROOT, "tests/golden/arptables/*.restore"))):
    put("iptables", b"\x04" + read(p))
for p in sorted(glob.glob(os.path.join(ROOT, "tests/golden/arptables/*.cmds"))):
    lines = [l for l in read(p).decode().splitlines()
             if l and not l.startswith(("#", "save", "restore"))]
    if lines:
        put("iptables", b"\x05" + "\n".join(lines[:32]).encode())

# config: the shipped configs and the TOML snippets of the tests.
for p in sorted(glob.glob(os.path.join(ROOT, "configs/*.toml"))):
    put("config", read(p))
for p in sorted(glob.glob(os.path.join(ROOT, "control/tests/*.rs")) +
                glob.glob(os.path.join(ROOT, "control/src/config*.rs")) +
                glob.glob(os.path.join(ROOT, "control/tests/support/*.rs"))):
    src = read(p).decode()
    for m in re.finditer(r'r#"(.*?)"#', src, re.S):
        s = m.group(1)
        if "[[port]]" in s or "[dataplane]" in s or "[conntrack]" in s or "[eal]" in s:
            put("config", s)


# api: selector byte, then a protobuf message (fuzz_targets/api.rs).
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def s(field, v):
    v = v.encode() if isinstance(v, str) else v
    return varint(field << 3 | 2) + varint(len(v)) + v


def u(field, v):
    return varint(field << 3) + varint(v)


for p in rules_files()[:40]:
    text = read(p)
    put("api", b"\x00" + s(1, text))
    put("api", b"\x00" + s(1, text) + u(2, 1) + u(4, 1) + s(5, "nat"))
    put("api", b"\x00" + s(1, text) + u(3, 1) + s(5, "filter"))
for p in sorted(glob.glob(os.path.join(ROOT, "tests/golden/api/exec/*.cmd"))):
    words = read(p).decode().splitlines()
    put("api", b"\x01" + b"".join(s(1, w) for w in words))
put("api", b"\x02" + s(1, "nat") + u(2, 1))
put("api", b"\x03" + s(1, "filter") + s(2, "FORWARD") + u(3, 2))
ct = (u(1, 6) + s(2, "192.168.1.10") + s(3, "93.184.216.34/24") + u(6, 40000) + u(7, 80)
      + s(10, "ESTABLISHED") + u(11, 1) + u(12, 0xff) + s(13, "ASSURED") + u(17, 1))
put("api", b"\x04" + ct)
put("api", b"\x04" + u(1, 1) + s(2, "10.0.0.1") + s(3, "10.0.0.2") + u(14, 8) + u(15, 0) + u(16, 7))
put("api", b"\x05" + s(1, "NEW") + s(1, "destroy") + s(2, ct))
put("api", b"\x06" + u(1, 17) + s(2, "10.0.0.0/8") + s(3, "1.2.3.4") + u(5, 53) + s(6, "lan0") + u(7, 10))
put("api", b"\x07" + s(1, "net.netfilter.nf_conntrack_max") + s(1, "nf_conntrack_tcp_loose"))
put("api", b"\x08" + s(1, s(1, "net/netfilter/nf_conntrack_max") + s(2, "1024")))
put("api", b"\x09" + s(1, "10.9.0.0/16") + s(2, "203.0.113.254") + s(3, "wan0") + u(4, 10) + u(5, 5))
put("api", b"\x09" + s(1, "default") + s(3, "lan0"))
put("api", b"\x0a" + u(1, 100) + u(2, 1) + u(3, 0xff) + u(4, 10))
put("api", b"\x0b" + s(1, "192.168.1.50") + s(2, "02:00:00:00:01:50") + s(3, "lan0"))
put("api", b"\x0c" + u(1, 254))
put("api", b"\x0d" + s(1, "wan0"))

# wire: the packets of dataplane/tests/wire_fuzz.rs.
wf = read("dataplane/tests/wire_fuzz.rs").decode()
consts = {}
for m in re.finditer(r"const (\w+): \[u8; \d+\] = \[(.*?)\];", wf, re.S):
    consts[m.group(1)] = bytes(int(x, 0) for x in re.findall(r"0x[0-9a-fA-F]+|\b\d+\b", m.group(2)))
eth = bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0])
put("wire", consts["TAGGED_ARP"])
put("wire", eth + consts["TCP_SYN"])
put("wire", eth + consts["PORT_UNREACH"])
put("wire", eth + consts["PORT_UNREACH"][28:])
put("wire", consts["TCP_SYN"])
put("wire", consts["PORT_UNREACH"])
