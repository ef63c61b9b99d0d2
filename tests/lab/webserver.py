#!/usr/bin/env python3
"""A small web server for the lab: serves DIR on ADDR:PORT and logs each client as
`CLIENT <ip> GET <path>` (an IPv6 ADDR listens on IPv6). Unlike `python3 -m http.server` it does no name lookup on
start-up (the namespaces have no resolver), so it listens at once."""
import http.server
import socket
import socketserver
import sys
from functools import partial


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write(f"CLIENT {self.client_address[0]} {self.command} {self.path}\n")
        sys.stderr.flush()


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Server6(Server):
    address_family = socket.AF_INET6

    def server_bind(self):
        # IPv6 only: "::" then shares its port with an IPv4 server on 0.0.0.0.
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


addr, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
server = Server6 if ":" in addr else Server
with server((addr, port), partial(Handler, directory=directory)) as srv:
    sys.stderr.write(f"listening on {addr}:{port}\n")
    sys.stderr.flush()
    srv.serve_forever()
