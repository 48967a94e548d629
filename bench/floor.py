"""The floor for W7: the least a threaded Python proxy can do per request.

    python3 floor.py PORT     # then GET /proxy?url=<percent-encoded http URL>

A bare relay, one thread per connection as in hlsproxy's design: it reads the
request with one recv, opens a connection to the upstream, sends a minimal GET
and copies bytes back until the upstream closes. No header parsing, no
checks, no cache, no CORS: not a proxy anyone should run, only a measure of
what a thread hand-off and a few socket calls cost in Python on this machine.
"""

import socket
import sys
import threading
from urllib.parse import unquote, urlsplit


def relay(client):
    with client:
        try:
            forward(client)
        except (OSError, ValueError, IndexError):
            pass  # a bench tool: the client sees the connection close


def forward(client):
    head = client.recv(65536)
    if b"url=" not in head:  # the bench's readiness probe
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
    target = urlsplit(unquote(head.split(b" ", 2)[1].decode().split("url=", 1)[1]))
    path = (target.path or "/") + ("?" + target.query if target.query else "")
    with socket.create_connection((target.hostname, target.port or 80), timeout=60) as upstream:
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                         % (path.encode(), target.netloc.encode()))
        while True:
            chunk = upstream.recv(262144)
            if not chunk:
                return
            client.sendall(chunk)


def serve(port):
    listener = socket.create_server(("127.0.0.1", port), backlog=128)
    while True:
        client, _ = listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.settimeout(60)
        threading.Thread(target=relay, args=(client,), daemon=True).start()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
