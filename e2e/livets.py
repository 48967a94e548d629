"""The e2e suite's live TS channel (issue 23, part 2): an IPTV provider's endless
MPEG-TS body, a file made by ffmpeg looped at its real-time rate, from a provider
that allows one connection (a second one at once gets 403, as real accounts do).

Through the proxy, five viewers at once are each decoded by ffprobe (and one more
by ffmpeg 9 when there is one), while the provider sees one connection; a viewer
that comes late starts at a PAT; straight from the provider the second viewer is
refused.
"""

import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECONDS = 20  # the looped file's length: longer than any case reads, so no viewer crosses the loop
PACKET = 188


def make_channel(root, ffmpeg, source):
    """livets/channel.ts: SECONDS of H.264 and AAC at 25 fps in MPEG-TS (a PAT every 0.1 s, ffmpeg's default)."""
    directory = os.path.join(root, "livets")
    os.makedirs(directory)
    path = os.path.join(directory, "channel.ts")
    ffmpeg(*source(SECONDS, size="320x180"), "-b:v", "600k", "-f", "mpegts", path)
    return path


class Provider(ThreadingHTTPServer):
    """Serves the channel at any path, endless (chunked), at its real-time rate,
    to one connection at a time."""

    daemon_threads = True

    def __init__(self, path):
        super().__init__(("127.0.0.1", 0), _ProviderHandler)
        with open(path, "rb") as f:
            self.data = f.read()
        self.data = self.data[:len(self.data) - len(self.data) % PACKET]
        self.rate = len(self.data) / SECONDS  # bytes a second
        self.lock = threading.Lock()
        self.open = self.opened = self.refused = 0

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def handle_error(self, request, client_address):
        pass  # a viewer that hangs up is every viewer, in the end


class _ProviderHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        with server.lock:
            if server.open:
                server.refused += 1
                body = b"max connections reached for this account\n"
                self.send_response(403)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            server.open += 1
            server.opened += 1
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            started, sent, piece = time.monotonic(), 0, 50 * PACKET
            while True:  # until the viewer hangs up
                at = sent % len(server.data)
                data = server.data[at:at + piece]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                sent += len(data)
                ahead = sent / server.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)  # real time: no faster than the channel plays
        except OSError:
            pass
        finally:
            with server.lock:
                server.open -= 1


def decoded_frames(url, seconds, ffprobe="ffprobe"):
    """Video frames ffprobe decodes from ``seconds`` of ``url``."""
    done = subprocess.run([ffprobe, "-v", "error", "-read_intervals", "%%+%d" % seconds, "-count_frames",
                           "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                           url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=seconds + 30)
    if done.returncode != 0:
        raise RuntimeError("ffprobe exit %d: %s" % (done.returncode, done.stderr.strip()[-200:]))
    counts = [int(line.strip(",")) for line in done.stdout.split() if line.strip(",").isdigit()]
    return counts[0] if counts else 0


def ffmpeg_frames(url, seconds, ffmpeg):
    """Video frames ffmpeg (9) decodes from ``seconds`` of ``url``."""
    done = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-progress", "pipe:1", "-i", url, "-t", str(seconds),
                           "-map", "0:v:0", "-f", "null", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=seconds + 30)
    if done.returncode != 0:
        raise RuntimeError("ffmpeg exit %d: %s" % (done.returncode, done.stderr.strip()[-200:]))
    counts = [int(line[6:]) for line in done.stdout.split() if line.startswith("frame=") and line[6:].isdigit()]
    return counts[-1] if counts else 0


def viewers_at_once(jobs):
    """Run each job (a callable) on a thread of its own, all at once; their results or errors, in order."""
    results = [None] * len(jobs)

    def run(index, job):
        try:
            results[index] = job()
        except Exception as error:  # a viewer's failure is its case's result
            results[index] = error
    threads = [threading.Thread(target=run, args=(index, job), daemon=True) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def first_packet(url):
    """The status of ``url``'s answer and its first TS packet (its first 188 bytes)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(PACKET)
    except urllib.error.HTTPError as error:
        return error.code, b""
