"""W3's baseline: the stdlib relay anyone could write in 30 lines.

    python3 relay.py PORT     # then GET /proxy?url=<percent-encoded http URL>

ThreadingHTTPServer and urllib, keep-alive to the client, the body copied through
in 256 KiB reads with its Content-Length, and CORS. No cache, no sharing, no
checks, no rewriting: what issue 14 measures hlsproxy's cold segments against.
"""

import shutil
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        url = parse_qs(urlsplit(self.path).query).get("url", [""])[0]
        if not url:  # the bench's readiness probe
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with urllib.request.urlopen(url, timeout=60) as upstream:
            self.send_response(upstream.status)
            for name in ("Content-Type", "Content-Length"):
                if upstream.headers.get(name):
                    self.send_header(name, upstream.headers[name])
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            shutil.copyfileobj(upstream, self.wfile, 256 * 1024)

    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Relay).serve_forever()
