"""W1's ceiling for the design card: http.server answering from memory.

    python3 hello.py PORT     # every GET gets the same small playlist, with CORS

A ThreadingHTTPServer whose handler answers each request with a body held in
memory through http.server's own send_response/send_header (Nagle off, as in
hlsproxy): no upstream, no cache lookup, no rewriting, no checks of its own.
What a cache hit costs in the card's shape before the proxy does anything.
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = "\n".join(["#EXTM3U", "#EXT-X-TARGETDURATION:2"] + ["#EXTINF:2.000,\nseg512k.ts?n=%d" % i
                                                            for i in range(10)] + ["#EXT-X-ENDLIST", ""]).encode()


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.apple.mpegurl")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hello).serve_forever()
