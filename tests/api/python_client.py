#!/usr/bin/python3
"""A client of nfdp's gRPC API that is not Rust: Debian's python3-grpcio with stubs that
python3-grpc-tools generates from control/proto/nfdp/v1/nfdp.proto into a temp dir.

Against the daemon at $NFDP_SOCKET (default /run/nfdp/nfdp.sock) it:
  * applies a ruleset with Rules.Restore (filter table only) and reads it back with
    Rules.Save: the canonical iptables-save text;
  * checks that a Restore with a syntax error is refused with INVALID_ARGUMENT and the
    iptables-restore message, and that a test-only Restore publishes nothing: the ruleset
    is unchanged after both;
  * restores and saves ip6tables' filter table (family IP_FAMILY_IPV6), iptables' left
    as it was;
  * lists conntrack (Conntrack.List) and checks it against Conntrack.Count; with
    NFDP_EXPECT_CONNTRACK=N the list must hold exactly N entries;
  * reads Stats.Get: the ruleset generation is the one Restore published or later, and
    every port and worker is named / numbered.
Exits 1 with a message on the first mismatch.

Usage: NFDP_SOCKET=/path/nfdp.sock tests/api/python_client.py
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOCKET = os.environ.get("NFDP_SOCKET") or "/run/nfdp/nfdp.sock"


def fail(msg):
    print("python_client.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def stubs(out):
    """Generates the Python stubs into `out`. Debian 12's python3-grpc-tools (1.14, protoc
    3.5.1) predates proto3 `optional`; when it refuses the file, the stubs are generated
    from a copy without the `optional` labels: the wire format is the same (an unset field
    is absent either way), only a Python-side presence test for 0 is lost."""
    proto_dir = os.path.join(ROOT, "control", "proto")
    def protoc(include):
        cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", include,
               "--python_out=" + out, "--grpc_python_out=" + out, "nfdp/v1/nfdp.proto"]
        return cmd, subprocess.run(cmd, capture_output=True, text=True)
    cmd, r = protoc(proto_dir)
    if r.returncode != 0 and "optional" in r.stderr:
        copy = os.path.join(out, "proto-no-optional")
        os.makedirs(os.path.join(copy, "nfdp", "v1"))
        with open(os.path.join(proto_dir, "nfdp", "v1", "nfdp.proto")) as f:
            text = re.sub(r"^(\s*)optional\s+", r"\1", f.read(), flags=re.M)
        with open(os.path.join(copy, "nfdp", "v1", "nfdp.proto"), "w") as f:
            f.write(text)
        print("python_client.py: this grpc_tools has no proto3 optional; stubs from a copy without the labels",
              file=sys.stderr)
        cmd, r = protoc(copy)
    if r.returncode != 0:
        fail("stub generation failed (%s): %s" % (" ".join(cmd), r.stderr.strip()))
    sys.path.insert(0, out)


RULESET = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i lan0 -p tcp --dport 80 -j ACCEPT
-A FORWARD -s 192.0.2.0/24 -j DROP
COMMIT
"""

# What iptables-save prints for RULESET (iptables 1.8.9 adds `-m tcp` for --dport).
SAVED = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i lan0 -p tcp -m tcp --dport 80 -j ACCEPT
-A FORWARD -s 192.0.2.0/24 -j DROP
COMMIT
"""

BAD = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport -j ACCEPT\nCOMMIT\n"

# ip6tables' filter table (Rules requests with family IP_FAMILY_IPV6), as ip6tables-save
# prints it.
SAVED6 = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 2001:db8::/32 -p tcp -m tcp --dport 22 -j DROP
COMMIT
"""


def main():
    try:
        import grpc
    except ImportError:
        fail("python3-grpcio is not installed (apt-get install python3-grpcio python3-grpc-tools)")
    if not os.path.exists(SOCKET):
        fail("no daemon socket at %s (set NFDP_SOCKET)" % SOCKET)
    with tempfile.TemporaryDirectory() as out:
        stubs(out)
        from nfdp.v1 import nfdp_pb2 as pb
        from nfdp.v1 import nfdp_pb2_grpc as rpc

        channel = grpc.insecure_channel("unix:" + SOCKET)
        try:
            grpc.channel_ready_future(channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            fail("cannot connect to the daemon at %s" % SOCKET)
        rules = rpc.RulesStub(channel)
        conntrack = rpc.ConntrackStub(channel)
        stats = rpc.StatsStub(channel)

        # A ruleset in, the same ruleset back.
        reply = rules.Restore(pb.RestoreRequest(text=RULESET, table="filter"), timeout=30)
        check(reply.generation > 0, "Restore published generation %d, expected > 0" % reply.generation)
        generation = reply.generation
        saved = rules.Save(pb.SaveRequest(table="filter"), timeout=30).text
        check(saved == SAVED, "Save after Restore:\n%s\nexpected:\n%s" % (saved, SAVED))

        # A syntax error: refused with iptables-restore's message, nothing changes.
        try:
            rules.Restore(pb.RestoreRequest(text=BAD), timeout=30)
            fail("Restore of a bad ruleset was accepted")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
                  "bad Restore: status %s, expected INVALID_ARGUMENT" % e.code())
            check(e.details().startswith("iptables-restore"),
                  "bad Restore: message %r does not read like iptables-restore's" % e.details())
        # A test-only Restore publishes nothing.
        reply = rules.Restore(pb.RestoreRequest(text="*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n", test=True), timeout=30)
        check(reply.generation == 0, "test-only Restore published generation %d" % reply.generation)
        saved = rules.Save(pb.SaveRequest(table="filter"), timeout=30).text
        check(saved == SAVED, "the ruleset changed after a refused and a test-only Restore:\n%s" % saved)

        # ip6tables' tables: their own text back, iptables' unchanged.
        rules.Restore(pb.RestoreRequest(text=SAVED6, family=pb.IP_FAMILY_IPV6), timeout=30)
        saved6 = rules.Save(pb.SaveRequest(table="filter", family=pb.IP_FAMILY_IPV6), timeout=30).text
        check(saved6 == SAVED6, "Save of ip6tables' filter table:\n%s\nexpected:\n%s" % (saved6, SAVED6))
        saved = rules.Save(pb.SaveRequest(table="filter"), timeout=30).text
        check(saved == SAVED, "an IPv6 Restore changed iptables' tables:\n%s" % saved)

        # Conntrack.
        entries = conntrack.List(pb.ConntrackFilter(), timeout=30).entries
        count = conntrack.Count(pb.CountRequest(), timeout=30)
        check(count.count == len(entries),
              "Conntrack.Count says %d, List returned %d entries" % (count.count, len(entries)))
        check(count.max == 0 or count.count <= count.max, "conntrack count %d over max %d" % (count.count, count.max))
        expect = os.environ.get("NFDP_EXPECT_CONNTRACK")
        if expect is not None:
            check(len(entries) == int(expect), "conntrack lists %d entries, expected %s" % (len(entries), expect))
        for e in entries:
            check(e.proto > 0 and e.orig.src and e.orig.dst and e.reply.src,
                  "conntrack entry without protocol or tuples: %s" % e)
        tcp = conntrack.List(pb.ConntrackFilter(proto=6), timeout=30).entries
        check(all(e.proto == 6 for e in tcp), "List(proto=6) returned a non-TCP entry")

        # Stats.
        s = stats.Get(pb.StatsRequest(), timeout=30)
        check(s.ruleset_generation >= generation,
              "Stats ruleset_generation %d < the %d Restore published" % (s.ruleset_generation, generation))
        check(len(s.workers) >= 1, "Stats lists no worker")
        check(all(p.name for p in s.ports), "a port without a name in Stats")
        check(sorted(w.index for w in s.workers) == list(range(len(s.workers))),
              "worker indexes are not 0..n-1: %s" % [w.index for w in s.workers])
        check(all(d.reason for d in s.drops), "a drop reason without a name in Stats")
        print("python_client.py: ok (generation %d, %d conntrack entries, %d ports, %d workers)"
              % (generation, len(entries), len(s.ports), len(s.workers)))


if __name__ == "__main__":
    main()
