"""W14's channel: an IPTV provider's live MPEG-TS channel, endless, at a steady rate.

    python3 live.py PORT BYTES_PER_SECOND   # GET /<anything>: the channel; GET /stats: connections

Every path is the channel: one endless body (ended by the close, as many providers
send it), whole 188-byte packets with a PAT every 20, paced to BYTES_PER_SECOND for
each connection. Any number of connections is allowed, so a relay that opens one
per viewer can be measured beside hlsproxy; /stats says how many were opened.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PACKET = 188
#: One second's worth is sent in 20 pieces.
PIECES = 20


def packets(count):
    pat = b"\x47\x40\x00\x10" + b"\x00" * 184
    other = b"\x47\x01\x00\x10" + b"\xa5" * 184
    return b"".join(pat if n % 20 == 0 else other for n in range(count))


class Channel(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the end of the body is the close
    opened = 0
    lock = threading.Lock()

    def do_GET(self):
        if self.path == "/stats":
            body = json.dumps({"opened": Channel.opened}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/":  # the bench's readiness probe
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with Channel.lock:
            Channel.opened += 1
        rate = self.server.rate
        piece = packets(max(1, rate // PIECES // PACKET))
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.end_headers()
        started, sent = time.monotonic(), 0
        try:
            while True:
                self.wfile.write(piece)
                sent += len(piece)
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        except OSError:
            pass  # the viewer (or the proxy) hung up

    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1])), Channel)
    server.rate = int(sys.argv[2])
    server.serve_forever()
