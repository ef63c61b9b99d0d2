"""Runs inside a namespace: sends the frames given in a file on an interface, or captures
the IPv4 and IPv6 frames arriving on it for a while. Used by run.py for the kernel side."""
import os
import socket
import struct
import sys
import time


def send(iface, path):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        n = struct.unpack("!I", data[pos:pos + 4])[0]
        delay = struct.unpack("!I", data[pos + 4:pos + 8])[0] / 1000.0
        time.sleep(delay)
        s.send(data[pos + 8:pos + 8 + n])
        pos += 8 + n


def capture(iface, path, seconds):
    # Every protocol (ETH_P_ALL), then IPv4 and IPv6 kept: ARP is compared by its effects.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(0.05)
    end = time.time() + seconds
    frames = []
    # Signal readiness by creating the output file.
    open(path, "wb").close()
    # Each frame also goes to PATH.live as it comes (a scenario's packet may be built
    # from one received earlier: `from_synack`).
    live = open(path + ".live", "wb")
    # The runner creates PATH.stop once every packet was sent: the capture lasts as long as
    # the injections take (each is a process start), with `seconds` as the upper bound.
    stop = path + ".stop"
    while time.time() < end and not os.path.exists(stop):
        try:
            pkt, info = s.recvfrom(65535)
        except socket.timeout:
            continue
        if info[2] == socket.PACKET_OUTGOING or pkt[12:14] not in (b"\x08\x00", b"\x86\xdd"):
            continue
        frames.append(pkt)
        live.write(struct.pack("!I", len(pkt)) + pkt)
        live.flush()
    live.close()
    with open(path, "wb") as f:
        for fr in frames:
            f.write(struct.pack("!I", len(fr)) + fr)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3])
    else:
        capture(sys.argv[2], sys.argv[3], float(sys.argv[4]))
