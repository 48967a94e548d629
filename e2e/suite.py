"""End-to-end suite: real clients play real HLS streams through hlsproxy.

    bash e2e/run        # installs Chromium, ffmpeg, hls.js, playwright-core; then runs this

What it does, all on 127.0.0.1:
1. Generates fixtures with ffmpeg from lavfi sources into a temp dir: (a) VOD MPEG-TS,
   (b) the same AES-128 encrypted, (c) fMP4 with EXT-X-MAP, (d) a master playlist with two
   video variants, two alternate audio renditions and a WebVTT subtitle rendition reached
   with ../, (e) a byte-range playlist, (f) a playlist on a query URL with no .m3u8 suffix
   whose segments are absolute URLs on a second origin, (g) a live sliding window.
2. Starts two origins that send no CORS headers (modes: plain, Referer required, playlists
   redirected, playlists gzipped, live), a page server on a third origin that serves hls.js,
   and hlsproxy itself from the command line (two instances: plain, and with --header).
3. Plays each case in headless Debian Chromium (player.mjs, playwright-core) and reads each
   VOD fixture with ffmpeg -c copy, directly and through the proxy.
Prints PASS/FAIL per case and "N passed, M failed"; exits non-zero on any failure.
"""

import base64
import gzip
import hashlib
import http.client
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
HLSPROXY = os.path.join(os.path.dirname(HERE), "hlsproxy.py")
sys.path.insert(0, os.path.dirname(HERE))
from test_hlsproxy import TestPki  # noqa: E402 - the unit tests' throwaway CA, made with openssl
import dash  # noqa: E402 - the DASH part (issue 22), beside this file
import disguise  # noqa: E402 - segments disguised as images (issue 23), beside this file
import iptv  # noqa: E402 - an IPTV channel list (issue 23), beside this file
import livets  # noqa: E402 - a live TS channel shared by its viewers (issue 23), beside this file
from dash import read, write  # noqa: E402 - one file's text in and out
REFERER = "https://allowed.example/"
COOKIE = "hls_session=e2e-7f3a"  # the cookie mode's master sets it; its segments want it back
TARGET = 2          # seconds per segment in every fixture
LIVE_WINDOW = 4     # segments in the live playlist
BROWSER_DEADLINE = 300
#: Screenshots of the page at / taken by the suite, kept to be looked at (git ignores them).
SHOTS = os.path.join(HERE, "screenshots")
SMUGGLED = b"bytes an attacker chose\n"  # the /slow/ origin mode's answer
#: What an origin may send that would act on the proxy's origin (the page's) if a
#: browser ran it: each sets data-ran on its root element when its script runs.
EVIL = {
    "page.html": ("text/html", b"<!doctype html><title>x</title>"
                               b"<script>document.documentElement.setAttribute('data-ran', '1')</script>"),
    "image.svg": ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'>"
                                   b"<script>document.documentElement.setAttribute('data-ran', '1')</script></svg>"),
}
CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".m4s": "video/iso.segment",
                 ".mp4": "video/mp4", ".vtt": "text/vtt", ".key": "application/octet-stream",
                 ".mpd": "text/xml"}  # an MPD is told by its content, whatever its type


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y"] + list(args), check=True, timeout=120)


def source(seconds, size="192x108", tone=440, video=True, audio=True):
    args = []
    if video:
        args += ["-f", "lavfi", "-i", "testsrc=size=%s:rate=25" % size]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=%d:sample_rate=48000" % tone]
    args += ["-t", str(seconds)]
    if video:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-level", "3.0",
                 "-pix_fmt", "yuv420p", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    return args


def hls(directory, *extra, playlist="index.m3u8", vod=True):
    os.makedirs(directory, exist_ok=True)
    return ["-f", "hls", "-hls_time", str(TARGET)] + (["-hls_playlist_type", "vod"] if vod else []) + \
        list(extra) + [os.path.join(directory, playlist)]


def make_fixtures(root):
    started = time.monotonic()
    j = lambda *p: os.path.join(root, *p)  # noqa: E731
    ffmpeg(*source(8) + hls(j("a"), "-hls_segment_filename", j("a", "seg%d.ts")))

    os.makedirs(j("b"))
    with open(j("b", "enc.key"), "wb") as key:
        key.write(bytes(range(16)))
    with open(j("b", "keyinfo"), "w") as info:
        info.write("enc.key\n%s\n" % j("b", "enc.key"))  # URI as written, key file; IV from sequence
    ffmpeg(*source(8) + hls(j("b"), "-hls_key_info_file", j("b", "keyinfo"),
                            "-hls_segment_filename", j("b", "seg%d.ts")))

    ffmpeg(*source(8) + hls(j("c"), "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
                            "-hls_segment_filename", j("c", "seg%d.m4s")))

    for name, size in (("low", "160x90"), ("high", "320x180")):
        ffmpeg(*source(8, size=size, audio=False) + hls(j("d", "video", name),
                                                         "-hls_segment_filename", j("d", "video", name, "v%d.ts")))
    for name, tone in (("en", 440), ("fr", 660)):
        ffmpeg(*source(8, tone=tone, video=False) + hls(j("d", "audio", name),
                                                         "-hls_segment_filename", j("d", "audio", name, "a%d.ts")))
    os.makedirs(j("d", "subs", "en"))
    write(j("d", "subs", "en", "s0.vtt"), "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n"
          "00:00:00.500 --> 00:00:03.000\nHello through the proxy\n\n00:00:04.000 --> 00:00:07.000\nSecond cue\n")
    write(j("d", "subs", "en", "index.m3u8"), "#EXTM3U\n#EXT-X-TARGETDURATION:8\n#EXT-X-PLAYLIST-TYPE:VOD\n"
          "#EXTINF:8.0,\ns0.vtt\n#EXT-X-ENDLIST\n")
    os.makedirs(j("d", "master"))
    write(j("d", "master", "index.m3u8"), """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="../audio/en/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="French",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,URI="../audio/fr/index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,URI="../subs/en/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x90,CODECS="avc1.42c01e,mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
../video/low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=600000,RESOLUTION=320x180,CODECS="avc1.42c01e,mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
../video/high/index.m3u8
""")
    ffmpeg(*source(8) + hls(j("e"), "-hls_flags", "single_file", "-hls_segment_filename", j("e", "all.ts")))
    ffmpeg(*source(40) + hls(j("g"), "-hls_segment_filename", j("g", "seg%d.ts")))
    make_bare_fixtures(root)
    disguise.make_disguised_fixtures(root, read, write)
    iptv.make_channel_list(root, write)
    assert "#EXT-X-BYTERANGE" in read(j("e", "index.m3u8"))
    assert '#EXT-X-KEY:METHOD=AES-128,URI="enc.key"' in read(j("b", "index.m3u8"))
    assert '#EXT-X-MAP:URI="init.mp4"' in read(j("c", "index.m3u8"))
    return time.monotonic() - started


def make_bare_fixtures(root):
    """(h) fixtures (a), (c) and (d)'s subtitles again, with no extension on any
    URI: bare/ts/index, bare/fmp4/index, bare/master with a WebVTT rendition."""
    j = lambda *p: os.path.join(root, *p)  # noqa: E731
    for fixture, bare in (("a", "ts"), ("c", "fmp4")):
        os.makedirs(j("bare", bare))
        text = read(j(fixture, "index.m3u8"))
        for name in os.listdir(j(fixture)):
            stem, extension = os.path.splitext(name)
            if extension in (".ts", ".m4s", ".mp4"):
                shutil.copy(j(fixture, name), j("bare", bare, stem))
                text = text.replace(name, stem)
        write(j("bare", bare, "index"), text)
    os.makedirs(j("bare", "subs"))
    shutil.copy(j("d", "subs", "en", "s0.vtt"), j("bare", "subs", "c0"))
    write(j("bare", "subs", "en"), read(j("d", "subs", "en", "index.m3u8")).replace("s0.vtt", "c0"))
    write(j("bare", "master"), "#EXTM3U\n#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"s\",NAME=\"en\",LANGUAGE=\"en\","
          "DEFAULT=YES,AUTOSELECT=YES,URI=\"subs/en\"\n#EXT-X-STREAM-INF:BANDWIDTH=300000,"
          "CODECS=\"avc1.42c01e,mp4a.40.2\",SUBTITLES=\"s\"\nts/index\n")


# ---------------------------------------------------------------------------
# Origins (no CORS headers, ever) and the page server
# ---------------------------------------------------------------------------

class Origin(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root):
        super().__init__(("127.0.0.1", 0), OriginHandler)
        self.root = root
        self.counts = {}
        self.lock = threading.Lock()
        self.live_started = None
        self.dash_started = {}  # each live MPD's availabilityStartTime, by name (dash.live_mpd)
        self.served = 0  # body bytes sent, all paths
        self.started = time.monotonic()
        self.peer = None  # the second origin, for fixture (f)

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def count(self, path):
        with self.lock:
            return self.counts.get(path, 0)

    def handle_error(self, request, client_address):
        pass  # players hang up on segments they no longer need


class OriginHandler(BaseHTTPRequestHandler):
    """Modes by first path segment: plain, referer (403 without the Referer), cookie
    (playlists named index.m3u8 set COOKIE; everything else is 403 without it), redirect
    (playlists answered with a 302 to /plain/...; nothing else served there), gzip
    (playlists gzip-encoded), f (the query-URL playlist), g (live)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.partition("?")[0]
        with self.server.lock:
            self.server.counts[path] = self.server.counts.get(path, 0) + 1
        mode, _, rel = path.lstrip("/").partition("/")
        if mode == "f" and rel == "stream":
            return self.send(200, "text/plain", self.query_playlist().encode())
        if mode == "clock" and rel == "live.m3u8":
            return self.send(200, "application/vnd.apple.mpegurl", self.clock_playlist().encode())
        if mode == "clock" and rel in ("iso", "head"):  # UTCTiming: http-iso reads the text, http-head the Date
            now = time.time()
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % int(now % 1 * 1000)
            return self.send(200, "text/plain", text.encode(), [("Cache-Control", "no-store")])
        if mode == "dashlive" and rel.endswith(".mpd"):
            return self.send(200, "application/dash+xml", dash.live_mpd(self.server, rel[:-4]).encode())
        if mode == "token" and "tok=e2e" not in self.path.partition("?")[2].split("&"):
            return self.send(403, "text/plain", b"no token\n")
        if mode == "g" and rel == "live.m3u8":
            return self.send(200, "application/vnd.apple.mpegurl", self.live_playlist().encode())
        if mode == "evil":  # documents with a script: served from the proxy's origin they must stay inert
            return self.send(200, *EVIL[rel])
        if mode == "slow":  # what a smuggled request asks for: slow, so its answer lands on the next one
            time.sleep(1.5)
            return self.send(200, "video/mp2t", SMUGGLED)
        if mode == "referer" and not self.headers.get("Referer", "").startswith(REFERER):
            return self.send(403, "text/plain", b"Referer required\n")
        if mode == "redirect":
            if not rel.endswith((".m3u8", ".mpd")):
                return self.send(404, "text/plain", b"only playlists are redirected\n")
            self.send_response(302)
            self.send_header("Location", "/plain/" + rel)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "cookie" and not rel.endswith("index.m3u8") and COOKIE not in self.headers.get("Cookie", ""):
            return self.send(403, "text/plain", b"no session cookie\n")
        if mode not in ("plain", "referer", "gzip", "g", "cookie", "token", "dashlive"):
            return self.send(404, "text/plain", b"no such mode\n")
        file = os.path.normpath(os.path.join(self.server.root, {"g": "g", "dashlive": "d2"}.get(mode, ""), rel))
        if not file.startswith(self.server.root + os.sep) or not os.path.isfile(file):
            return self.send(404, "text/plain", b"no such file\n")
        with open(file, "rb") as handle:
            data = handle.read()
        if file.endswith((".mpd", ".m3u")):  # an MPD or a channel list may name this origin and its peer
            data = data.replace(b"@ORIGIN@", self.server.base.encode())
            data = data.replace(b"@PEER@", self.server.peer.base.encode())
        content_type = CONTENT_TYPES.get(os.path.splitext(file)[1], "application/octet-stream")
        if mode == "gzip" and file.endswith(".m3u8"):
            return self.send(200, content_type, gzip.compress(data), [("Content-Encoding", "gzip")])
        if mode == "cookie" and rel.endswith("index.m3u8"):
            return self.send(200, content_type, data, [("Set-Cookie", COOKIE + "; Path=/cookie; HttpOnly")])
        self.send_range(data, content_type)

    def send_range(self, data, content_type):
        match = re.match(r"bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if not match or not (match.group(1) or match.group(2)):
            return self.send(200, content_type, data, [("Accept-Ranges", "bytes")])
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), len(data) - 1) if match.group(2) else len(data) - 1
        else:
            start, end = max(0, len(data) - int(match.group(2))), len(data) - 1
        if start >= len(data):
            return self.send(416, "text/plain", b"", [("Content-Range", "bytes */%d" % len(data))])
        self.send(206, content_type, data[start:end + 1],
                  [("Accept-Ranges", "bytes"), ("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))])

    def send(self, status, content_type, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            with self.server.lock:
                self.server.served += len(body)

    def query_playlist(self):
        """Fixture (a)'s playlist with absolute segment URLs on the second origin."""
        text = read(os.path.join(self.server.root, "a", "index.m3u8"))
        return re.sub(r"^(seg\d+\.ts)$", lambda m: "%s/plain/a/%s" % (self.server.peer.base, m.group(1)),
                      text, flags=re.MULTILINE)

    def clock_playlist(self):
        """A live playlist whose media sequence is the number of TARGET periods since
        the origin started: it never stops advancing."""
        sequence = int((time.monotonic() - self.server.started) // TARGET)
        lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:%d" % TARGET, "#EXT-X-MEDIA-SEQUENCE:%d" % sequence]
        for i in range(sequence, sequence + 3):
            lines += ["#EXTINF:%d.0," % TARGET, "s%d.ts" % i]
        return "\n".join(lines) + "\n"

    def live_playlist(self):
        """A sliding window over fixture (g), one segment further every TARGET seconds
        from the first request."""
        with self.server.lock:
            if self.server.live_started is None:
                self.server.live_started = time.monotonic()
            elapsed = time.monotonic() - self.server.live_started
        entries = re.findall(r"(#EXTINF:[^\n]*)\n(seg\d+\.ts)", read(os.path.join(self.server.root, "g", "index.m3u8")))
        first = min(int(elapsed // TARGET), len(entries) - LIVE_WINDOW)
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:%d" % TARGET,
                 "#EXT-X-MEDIA-SEQUENCE:%d" % first]
        for extinf, uri in entries[first:first + LIVE_WINDOW]:
            lines += [extinf, uri]
        return "\n".join(lines) + "\n"


class PageHandler(BaseHTTPRequestHandler):
    """The third origin: the player page and hls.js from npm."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.partition("?")[0]
        modules = os.path.join(HERE, "node_modules")
        files = {"/": (os.path.join(HERE, "page.html"), "text/html; charset=utf-8"),
                 "/hls.min.js": (os.path.join(modules, "hls.js", "dist", "hls.min.js"), "text/javascript"),
                 "/dash.html": (os.path.join(HERE, "dash.html"), "text/html; charset=utf-8"),
                 "/dash.all.min.js": (os.path.join(modules, "dashjs", "dist", "modern", "umd", "dash.all.min.js"),
                                      "text/javascript"),
                 "/shaka-player.compiled.js": (os.path.join(modules, "shaka-player", "dist",
                                                            "shaka-player.compiled.js"), "text/javascript")}
        if path not in files:
            self.send_error(404)
            return
        name, content_type = files[path]
        with open(name, "rb") as handle:
            data = handle.read()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return server, thread


# ---------------------------------------------------------------------------
# Processes we start: hlsproxy, node, ffmpeg
# ---------------------------------------------------------------------------

class Proxy:
    """hlsproxy started from its command line; stopped by its pid."""

    def __init__(self, log_dir, *args):
        self.log = open(os.path.join(log_dir, "hlsproxy-%d.log" % id(self)), "w+")
        self.process = subprocess.Popen([sys.executable, HLSPROXY, "--port", "0", "--allow-private"] + list(args),
                                        stdout=subprocess.PIPE, stderr=self.log, universal_newlines=True)
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=15):
            self.stop()
            raise RuntimeError("hlsproxy printed nothing within 15 s")
        line = self.process.stdout.readline()
        match = re.search(r"serving on (https?://127\.0\.0\.1:\d+)/", line)
        if not match:
            self.stop()
            raise RuntimeError("unexpected first line from hlsproxy: %r" % line)
        self.base = match.group(1)

    def url(self, upstream, host=None, **options):
        """The /proxy URL of ``upstream``; ``host`` names the proxy by a test name (proxy.test)."""
        query = "".join("&%s=%s" % (name, quote(value, safe="")) for name, value in options.items())
        base = self.base.replace("127.0.0.1", host, 1) if host else self.base
        return "%s/proxy?url=%s%s" % (base, quote(upstream, safe=""), query)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process.stdout.close()
        self.log.close()


def run_browser(cases, work, args=()):
    """Run player.mjs over ``cases`` (Chromium started with ``args`` too); yield one
    result dict per case as it finishes."""
    cases_file = os.path.join(work, "cases.json")
    with open(cases_file, "w") as file:
        json.dump(cases, file)
    environment = dict(os.environ, CHROMIUM_ARGS=json.dumps(list(args)))
    process = subprocess.Popen(["node", os.path.join(HERE, "player.mjs"), cases_file], cwd=HERE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               start_new_session=True, env=environment)
    # The whole browser run is bounded: past the deadline, end node and the Chromium it started.
    timer = threading.Timer(BROWSER_DEADLINE, lambda: os.killpg(process.pid, signal.SIGKILL))
    timer.start()
    seen = set()
    try:
        for line in process.stdout:
            if line.startswith("{"):
                result = json.loads(line)
                seen.add(result["name"])
                yield result
        process.wait(30)
    finally:
        timer.cancel()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        errors = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    for case in cases:
        if case["name"] not in seen:
            yield {"name": case["name"], "ok": False, "seconds": 0,
                   "detail": "no result from the browser driver: " + errors.strip()[-300:]}


def ffmpeg_duration(url, output, force_hls=False, ffmpeg="ffmpeg"):
    """Read ``url`` to the end with ffmpeg -c copy; return the output's duration in seconds."""
    command = [ffmpeg, "-nostdin", "-v", "error", "-y"] + (["-f", "hls"] if force_hls else []) + \
        ["-i", url, "-sn", "-dn", "-c", "copy", "-f", "mpegts", output]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError("ffmpeg exit %d: %s" % (done.returncode, done.stderr.strip()[-300:]))
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", output],
                           stdout=subprocess.PIPE, universal_newlines=True, timeout=60, check=True)
    return float(probe.stdout.strip())


def ffmpeg9_cases(work, origin, proxy, report):
    """Issue 13: ffmpeg 9 (PyPI's imageio-ffmpeg, whose static build refuses
    segments with no known extension and checks the one they have) reads each
    (h) fixture through the proxy; straight from the origin it cannot."""
    ffmpeg9 = os.environ.get("FFMPEG9")
    if not ffmpeg9:
        report.add("ffmpeg 9: the imageio-ffmpeg binary", False, "FFMPEG9 is not set (e2e/run installs it)", 0)
        return
    o = origin.base
    for name, path in (("TS", "/plain/bare/ts/index"), ("fMP4", "/plain/bare/fmp4/index")):
        started = time.monotonic()
        try:
            ffmpeg_duration(o + path, os.path.join(work, "bare-direct.ts"), ffmpeg=ffmpeg9)
            direct = "played"
        except RuntimeError as error:
            said = [line for line in str(error).split(": ", 1)[-1].splitlines() if "Last message" not in line]
            direct = "refused (%s)" % (said[0].strip()[:90] if said else "no reason")
        try:
            proxied = ffmpeg_duration(proxy.url(o + path), os.path.join(work, "bare-proxied.ts"), ffmpeg=ffmpeg9)
            ok, detail = proxied > 7 and direct != "played", "%.3f s through the proxy" % proxied
        except RuntimeError as error:
            ok, detail = False, "through the proxy: " + str(error)
        report.add("ffmpeg 9: %s segments without extensions" % name, ok,
                   "%s; straight from the origin %s" % (detail, direct), time.monotonic() - started)
    started = time.monotonic()
    status, _, body = get(proxy.url(o + "/plain/bare/master"))
    subtitles = re.search(rb'TYPE=SUBTITLES[^\n]*URI="([^"]+)"', body)
    ok, detail = False, "master answered %d without a subtitles URI" % status
    if subtitles:
        done = subprocess.run([ffmpeg9, "-nostdin", "-v", "error", "-y", "-i", subtitles.group(1).decode(),
                               "-f", "srt", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)
        ok = done.returncode == 0 and "Hello through the proxy" in done.stdout
        detail = "cue read: %s; %s" % ("Hello through the proxy" in done.stdout, done.stderr.strip()[-200:] or "ok")
    report.add("ffmpeg 9: a WebVTT rendition without extensions, from its master", ok, detail,
               time.monotonic() - started)


# ---------------------------------------------------------------------------
# HTTPS: test names mapped to loopback, a throwaway CA trusted by its key
# ---------------------------------------------------------------------------

TEST_NAMES = ("page.test", "proxy.test", "origin.test")


def tls_browser_args(pki):
    """Chromium flags that send the test names to 127.0.0.1 and trust the test
    PKI's server key (every certificate it makes has that one key)."""
    der = subprocess.run([pki.openssl, "pkey", "-in", pki.path("leaf.key"), "-pubout", "-outform", "DER"],
                         stdout=subprocess.PIPE, check=True, timeout=30).stdout
    spki = base64.b64encode(hashlib.sha256(der).digest()).decode()
    rules = ", ".join("MAP %s 127.0.0.1" % name for name in TEST_NAMES)
    return ["--host-resolver-rules=" + rules, "--ignore-certificate-errors-spki-list=" + spki]


def tls_page_server(pki):
    """The page server again, on https://page.test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    server.socket = pki.server_context().wrap_socket(server.socket, server_side=True)
    return server


def tls_cases(work, origin, plain_proxy, report):
    """Issue 13: a page on https://page.test plays through hlsproxy serving
    HTTPS itself (--tls-cert), and the same page through http://proxy.test is
    blocked by the browser as mixed content."""
    pki = TestPki.shared()
    page, proxy = None, None
    try:
        page = tls_page_server(pki)
        serve(page)
        proxy = Proxy(work, "--quiet", "--tls-cert", pki.path("leaf.pem"), "--tls-key", pki.path("leaf.key"))
        page_url = "https://page.test:%d/?src=" % page.server_address[1]
        stream = origin.base + "/plain/c/index.m3u8"
        cases = [
            {"name": "https: a page on https://page.test plays through https://proxy.test (--tls-cert)",
             "page": page_url + quote(proxy.url(stream, host="proxy.test"), safe=""), "expect": "play",
             "timeout": 30},
            {"name": "https: the same page through http://proxy.test is blocked as mixed content",
             "page": page_url + quote(plain_proxy.url(stream, host="proxy.test"), safe=""), "expect": "fatal",
             "timeout": 20},
        ]
        for result in run_browser(cases, work, tls_browser_args(pki)):
            ok, detail = result["ok"], result.get("detail", "")
            if "mixed content" in result["name"] and ok and "mixed content" not in detail:
                ok, detail = False, "expected the browser to block it as mixed content, got " + detail
            report.add(result["name"], ok, detail, result["seconds"])
    finally:
        if proxy is not None:
            proxy.stop()
        if page is not None:
            page.shutdown()
            page.server_close()


# ---------------------------------------------------------------------------
# deploy/nginx.conf in front of two hlsproxy instances
# ---------------------------------------------------------------------------

def deploy_cases(work, origin, report):
    """Run deploy/nginx.conf itself (ports and paths swapped for local ones) in front
    of two hlsproxy instances started as deploy/hlsproxy.service would."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        report.add("deploy: nginx in front of two instances", False, "nginx is not installed", 0)
        return
    started = time.monotonic()
    instances = [Proxy(work, "--quiet", "--trust-forwarded"), Proxy(work, "--quiet", "--trust-forwarded")]
    server = None
    try:
        port, tls_port, prefix_port = free_port(), free_port(), free_port()
        pki = TestPki.shared()
        cache = os.path.join(work, "nginx-cache")
        os.makedirs(cache)
        for path in (work, cache):
            os.chmod(path, 0o777 if path == cache else 0o755)  # nginx's workers run unprivileged
        snippet = read(os.path.join(os.path.dirname(HERE), "deploy", "nginx.conf"))
        snippet = snippet.replace("listen 80;", "listen 127.0.0.1:%d;" % port)
        snippet = snippet.replace("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % tls_port)
        snippet = snippet.replace("/etc/letsencrypt/live/video.example.com/fullchain.pem", pki.path("leaf.pem"))
        snippet = snippet.replace("/etc/letsencrypt/live/video.example.com/privkey.pem", pki.path("leaf.key"))
        snippet = snippet.replace("127.0.0.1:8001", instances[0].base[len("http://"):])
        snippet = snippet.replace("127.0.0.1:8002", instances[1].base[len("http://"):])
        snippet = snippet.replace("/var/cache/nginx/hlsproxy", cache)
        conf = os.path.join(work, "nginx-deploy.conf")
        temp = os.path.join(work, "nginx-temp")
        write(conf, "pid %s/nginx.pid;\nerror_log %s/nginx-error.log warn;\nevents { worker_connections 512; }\n"
              "http {\n access_log off;\n client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
              " uwsgi_temp_path %s; scgi_temp_path %s;\n%s\n%s\n}\n" % (
                  (work, work) + (temp,) * 5 + (snippet, prefix_server(prefix_port, instances[0]))))
        server = subprocess.Popen([nginx, "-c", conf, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, universal_newlines=True)
        front = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 15
        while True:
            try:
                if get(front + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("nginx did not start: %s" % (server.stderr.read() if server.poll() else "timeout"))
            time.sleep(0.05)
        setup = time.monotonic() - started

        case_started = time.monotonic()
        url = instances[0].url(origin.base + "/plain/a/seg1.ts?deploy=1").replace(instances[0].base, front)
        first, second = get(url), get(url)
        ok = (first[1].get("X-Cache-Status"), second[1].get("X-Cache-Status")) == ("MISS", "HIT") \
            and first[2] == second[2] and origin.count("/plain/a/seg1.ts") >= 1
        report.add("deploy: a second viewer's segment is an nginx cache HIT", ok,
                   "X-Cache-Status %s then %s, %d bytes (setup %.1f s)" % (
                       first[1].get("X-Cache-Status"), second[1].get("X-Cache-Status"), len(second[2]), setup),
                   time.monotonic() - case_started)

        case_started = time.monotonic()
        url = instances[0].url(origin.base + "/clock/live.m3u8").replace(instances[0].base, front)
        worst, statuses, sequences = 0, set(), set()
        for _ in range(30):  # 6 s, three target durations
            now = time.monotonic()
            status, headers, body = get(url)
            sequence = int(re.search(rb"#EXT-X-MEDIA-SEQUENCE:(\d+)", body).group(1))
            behind = int((now - origin.started) // TARGET) - sequence
            worst = max(worst, behind)
            statuses.add(headers.get("X-Cache-Status"))
            sequences.add(sequence)
            time.sleep(0.2)
        ok = worst <= 1 and "HIT" in statuses and len(sequences) >= 3
        report.add("deploy: a live playlist is never served past its max-age", ok,
                   "at most %d sequence behind the origin; cache statuses %s; %d sequences seen"
                   % (worst, sorted(s for s in statuses if s), len(sequences)), time.monotonic() - case_started)

        smuggling_case(front, instances[0], origin, report)
        nginx_tls_case(work, tls_port, instances[0], origin, report)
        prefix_case(work, "http://127.0.0.1:%d" % prefix_port, origin, report)
        cookie_case("deploy: a stream gated by its master's cookie, through nginx and two instances",
                    instances[0].url(origin.base + "/cookie/a/index.m3u8").replace(instances[0].base, front, 1),
                    work, report)

        case_started = time.monotonic()
        failures = 0
        for i in range(100):
            if i == 30:
                instances[0].process.kill()  # lose one instance, mid-stream
                instances[0].process.wait(10)
            try:
                failures += get(front + "/healthz")[0] != 200
            except OSError:
                failures += 1
        report.add("deploy: losing one instance loses no requests", failures == 0,
                   "%d of 100 requests failed; instance 1 killed after 30" % failures, time.monotonic() - case_started)
    except (RuntimeError, OSError, AttributeError) as error:
        report.add("deploy: nginx in front of two instances", False, str(error)[:300], time.monotonic() - started)
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(10)
        if server is not None:
            server.stderr.close()
        for instance in instances:
            instance.stop()


def cookie_case(name, url, work, report):
    """Issue 13: the origin sets a cookie on the playlist and refuses segments
    without it; ffmpeg reads the whole stream through ``url``."""
    started = time.monotonic()
    try:
        duration = ffmpeg_duration(url, os.path.join(work, "cookie.ts"))
        ok, detail = duration > 7, "duration %.3f s" % duration
    except (RuntimeError, subprocess.SubprocessError, ValueError) as error:
        ok, detail = False, str(error)[:300]
    report.add(name, ok, detail, time.monotonic() - started)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefix_server(port, instance):
    """A test-only nginx server that serves one instance under /hls/, stripping the
    prefix and saying it in X-Forwarded-Prefix, as reverse proxies do."""
    return ("server {\n listen 127.0.0.1:%d;\n location /hls/ {\n  proxy_pass %s/;\n"
            "  proxy_set_header Host $http_host;\n  proxy_set_header X-Forwarded-Proto $scheme;\n"
            "  proxy_set_header X-Forwarded-Host $http_host;\n  proxy_set_header X-Forwarded-Prefix /hls;\n"
            " }\n}\n" % (port, instance.base))


def prefix_case(work, front, origin, report):
    """The page at / behind a reverse proxy that strips /hls and says X-Forwarded-Prefix."""
    case = {"name": "deploy: the page behind a prefix-stripping reverse proxy (X-Forwarded-Prefix) plays",
            "page": front + "/hls/", "url": origin.base + "/plain/c/index.m3u8", "expect": "ui", "timeout": 30,
            "proxiedPrefix": front + "/hls/proxy?url="}
    for result in run_browser([case], work):
        report.add(result["name"], result["ok"], result.get("detail", ""), result["seconds"])


def nginx_tls_case(work, tls_port, instance, origin, report):
    """deploy/nginx.conf's TLS listener: a page on https://page.test plays through
    https://proxy.test in front of the instances, whose URIs say https (X-Forwarded-Proto)."""
    pki = TestPki.shared()
    page = tls_page_server(pki)
    serve(page)
    try:
        front = "https://proxy.test:%d" % tls_port
        stream = instance.url(origin.base + "/plain/a/index.m3u8").replace(instance.base, front, 1)
        case = {"name": "deploy: a page on https://page.test plays through nginx's TLS server block",
                "page": "https://page.test:%d/?src=%s" % (page.server_address[1], quote(stream, safe="")),
                "expect": "play", "timeout": 30}
        for result in run_browser([case], work, tls_browser_args(pki)):
            report.add(result["name"], result["ok"], result.get("detail", ""), result["seconds"])
    finally:
        page.shutdown()
        page.server_close()


def smuggling_case(front, instance, origin, report):
    """Issue 10: a GET whose body holds a request for a slow URL, sent to nginx. nginx
    forwards the body on a kept-alive connection; a proxy that left it unread answered it
    as the next request, and nginx cached those bytes as another viewer's segment.
    Here the victims' segments, fetched inside the slow window and again from nginx's
    cache, must be the origin's bytes, and the smuggled request must never run."""
    started = time.monotonic()
    host = front[len("http://"):]
    target = instance.url(origin.base + "/slow/evil.ts")[len(instance.base):]
    smuggled = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, host)).encode()
    attack = ("GET /healthz HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (host, len(smuggled))).encode()
    with socket.create_connection((urlsplit(front).hostname, urlsplit(front).port), timeout=10) as sock:
        sock.sendall(attack + smuggled)
        answer = sock.recv(65536)
    victims = ["/plain/a/seg%d.ts" % i for i in (0, 2, 3)] + ["/plain/c/seg%d.m4s" % i for i in (0, 1, 2)]
    wrong, statuses = [], []
    for rounds in ("inside the slow window", "from nginx's cache"):
        for path in victims:
            with open(os.path.join(origin.root, path[len("/plain/"):]), "rb") as handle:
                want = handle.read()
            status, headers, body = get(instance.url(origin.base + path).replace(instance.base, front))
            statuses.append(headers.get("X-Cache-Status"))
            if body != want:
                wrong.append("%s %s (%d bytes, %s)" % (path, rounds, len(body), body[:24]))
            time.sleep(0.1)
        time.sleep(1.6)  # past the slow answer, had it been asked for
    ok = answer.startswith(b"HTTP/1.1 200") and not wrong and origin.count("/slow/evil.ts") == 0 \
        and statuses.count("HIT") == len(victims)
    report.add("deploy: a request smuggled in a GET body never reaches another viewer", ok,
               "smuggled request ran %d times; %d of %d answers wrong%s; cache statuses %s" % (
                   origin.count("/slow/evil.ts"), len(wrong), 2 * len(victims),
                   (": " + "; ".join(wrong)) if wrong else "", statuses), time.monotonic() - started)


def disguised_cases(work, origin, proxy, report):
    """Issue 23: each disguise read to its end by ffmpeg 5.1 and ffmpeg 9 through the
    proxy (straight from the origin ffmpeg takes the first segment for an image);
    the kinds that must pass untouched, byte for byte."""
    players = [("ffmpeg", "ffmpeg")] + ([("ffmpeg 9", os.environ["FFMPEG9"])] if os.environ.get("FFMPEG9") else [])
    for directory, _, _ in disguise.DISGUISES:
        path = "/plain/disguised/%s/index.m3u8" % directory
        started = time.monotonic()
        try:
            ffmpeg_duration(origin.base + path, os.path.join(work, "disguised-direct.ts"))
            straight = "plays"
        except (RuntimeError, subprocess.SubprocessError, ValueError) as error:
            straight = "does not play (%s)" % str(error).strip()[-80:]
        for player, binary in players:
            try:
                seconds = ffmpeg_duration(proxy.url(origin.base + path), os.path.join(work, "disguised.ts"),
                                          ffmpeg=binary)
                ok, detail = seconds > 7, "%.3f s through the proxy" % seconds
            except (RuntimeError, subprocess.SubprocessError, ValueError) as error:
                ok, detail = False, "through the proxy: %s" % error
            report.add("%s: TS disguised behind %s" % (player, directory), ok,
                       "%s; straight from the origin ffmpeg %s" % (detail, straight), time.monotonic() - started)
    for what, ok, detail in disguise.untouched(proxy, origin, get):
        report.add("untouched through the proxy: %s" % what, ok, detail, 0)


def channel_list_cases(work, origin, proxy, report):
    """Issue 23: each channel of the proxied list read to its end by ffmpeg 5.1 and 9,
    with the header its entry gives; the guide fetched through the proxy."""
    status, _, body = get(proxy.url(origin.base + "/plain/iptv/list.m3u"))
    text = body.decode("utf-8", "replace")
    channels = iptv.channel_urls(text) if status == 200 else []
    report.add("channel list: served rewritten", status == 200 and len(channels) == len(iptv.CHANNELS),
               "answered %d, %d channels" % (status, len(channels)), 0)
    players = [("ffmpeg", "ffmpeg")] + ([("ffmpeg 9", os.environ["FFMPEG9"])] if os.environ.get("FFMPEG9") else [])
    for (what, _, path, _), channel in zip(iptv.CHANNELS, channels):
        straight = get(origin.base + path)[0]
        for player, binary in players:
            started = time.monotonic()
            try:
                seconds = ffmpeg_duration(channel, os.path.join(work, "channel.ts"), ffmpeg=binary)
                ok, detail = seconds > 7 and straight == 403, "%.3f s through the proxy" % seconds
            except (RuntimeError, subprocess.SubprocessError, ValueError) as error:
                ok, detail = False, "through the proxy: %s" % error
            report.add("%s: a channel whose header comes from %s" % (player, what), ok,
                       "%s; without it the origin answers %d" % (detail, straight), time.monotonic() - started)
    if status == 200:
        guide = get(iptv.guide_url(text))
        report.add("channel list: the guide (url-tvg) through the proxy", guide[0] == 200 and b"<tv>" in guide[2],
                   "answered %d, %d bytes" % (guide[0], len(guide[2])), 0)


def live_channel_cases(work, provider, proxy, report):
    """Issue 23, part 2: five viewers of one live TS channel through the proxy, each
    decoded by ffprobe (one more by ffmpeg 9), on the one connection the provider
    allows; a late viewer starts at a PAT; straight from the provider a second
    viewer is refused."""
    url = provider.base + "/live/e2e/secret/1234.ts"
    started = time.monotonic()
    jobs = [lambda: livets.decoded_frames(proxy.url(url), 5) for _ in range(5)]
    if os.environ.get("FFMPEG9"):
        jobs.append(lambda: livets.ffmpeg_frames(proxy.url(url), 5, os.environ["FFMPEG9"]))
    late = []

    def late_viewer():
        time.sleep(2.5)  # joins a channel under way
        late.append(livets.first_packet(proxy.url(url)))
    jobs.append(late_viewer)
    results = livets.viewers_at_once(jobs)
    frames = results[:len(jobs) - 1]
    # 25 fps: 125 frames in 5 s; one that joins after the first starts at a PAT, and decodes from the next
    # keyframe on (one every 50 frames): at least 75.
    decoded = all(isinstance(count, int) and count >= 75 for count in frames)
    report.add("live TS channel: %d viewers decoded through the proxy on one provider connection" % len(frames),
               decoded and provider.opened == 1 and provider.refused == 0,
               "video frames decoded per viewer (ffprobe x5%s): %s; the provider saw %d connection(s), refused %d"
               % (", ffmpeg 9" if len(frames) > 5 else "", ", ".join(str(count) for count in frames),
                  provider.opened, provider.refused), time.monotonic() - started)
    status, packet = late[0] if late else (0, b"")
    pat = len(packet) == 188 and packet[0] == 0x47 and packet[1] & 0x5F == 0x40 and packet[2] == 0
    report.add("live TS channel: a late viewer's first packet is a PAT", status == 200 and pat,
               "answered %d, first packet PID %s" % (status, (packet[1] & 0x1F) << 8 | packet[2] if packet else "-"),
               0)
    left = time.monotonic()  # the last viewer has gone: the proxy keeps the connection for --channel-grace
    while provider.open and time.monotonic() - left < 30:
        time.sleep(0.1)
    report.add("live TS channel: the provider's connection closed after the last viewer left", not provider.open,
               "%.1f s after (--channel-grace 5)" % (time.monotonic() - left), 0)
    started = time.monotonic()
    straight = livets.viewers_at_once([lambda: livets.decoded_frames(url, 3) for _ in range(2)])
    refused = sum(isinstance(result, Exception) for result in straight)
    report.add("control: straight from the provider, a second viewer at once is refused", refused == 1,
               "of two viewers, %d failed (%s)" % (refused, "; ".join(str(r)[:60] for r in straight
                                                                    if isinstance(r, Exception))),
               time.monotonic() - started)


def dash_cases(work, root, origin, proxy, page_base, report):
    """Issue 22: every DASH fixture through the proxy in dash.js and Shaka, then
    in ffmpeg (Debian's and 9), GStreamer, VLC and mpv; a live MPD never stale."""
    # No name but 127.0.0.1 resolves in this browser: a player's fallback to a public server fails closed.
    resolver = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
    cases = dash.browser_cases(page_base, proxy, origin, quote)
    live = {case["name"]: case["live"] for case in cases if "live" in case}
    for result in run_browser(cases, work, resolver):
        ok, detail, name = result["ok"], result.get("detail", ""), result["name"]
        if name.endswith("control: origin direct fails on CORS") and ok:
            ok = origin.count("/plain/d1/manifest.mpd") > 0
        if name.endswith("the first fails") and ok:
            gone = sum(count for path, count in origin.counts.items() if path.startswith("/plain/d6/gone/"))
            ok = gone > 0
            detail += "; the first BaseURL was tried %d times, then the second played" % gone
        if name.endswith("WebVTT sidecar") and ok:
            copy = "dv1" if name.startswith("dashjs") else "dv2"
            ok = origin.count("/plain/%s/subs.vtt" % copy) > 0
            detail += "; subs.vtt fetched %d times" % origin.count("/plain/%s/subs.vtt" % copy)
        if "live MPD" in name and ok:
            clock = "http-iso" if "http-iso" in name else "http-head"
            loads = origin.count("/dashlive/%s.mpd" % live[name])
            ticks = origin.count(dash.CLOCKS[clock])
            ok = loads >= 3 and ticks >= 1
            detail += "; the origin served the MPD %d times and its clock %d times" % (loads, ticks)
        report.add("DASH " + name, ok, detail, result["seconds"])

    started = time.monotonic()  # a live MPD through the proxy is never older than half its minimumUpdatePeriod
    ages = []
    for _ in range(12):
        status, _, body = get(proxy.url(origin.base + "/dashlive/fresh-http-iso.mpd"))
        ages.append(dash.publish_age(body.decode()) if status == 200 else 99.0)
        time.sleep(0.25)
    report.add("DASH live MPD through the proxy: never stale", max(ages) <= dash.SEGMENT / 2 + 0.3,
               "publishTime ages %.2f-%.2f s over 3 s (minimumUpdatePeriod %d s)"
               % (min(ages), max(ages), dash.SEGMENT),
               time.monotonic() - started)

    # Outside the browser, each player through a proxy that keeps nothing: every media byte
    # it plays is one the origins served during its run.
    uncached = Proxy(work, "--quiet", "--cache-mb", "0")
    try:
        native_dash_cases(root, origin, uncached, report)
    finally:
        uncached.stop()


def native_dash_cases(root, origin, proxy, report):
    """Each player outside the browser, each VOD fixture, straight from the origin
    (they need no CORS) and through the proxy: whatever a player plays straight,
    it plays through the proxy, fetching every media byte of it."""
    peer = origin.peer
    served = lambda: origin.served + peer.served  # noqa: E731
    ffmpeg9 = os.environ.get("FFMPEG9") or "ffmpeg9-missing"
    for player, command in dash.native_players(ffmpeg9):
        for name, path, fixture in dash.FIXTURES:
            if "/d6/" in path:
                continue  # failover is the browsers' case: straight from the origin these hang or stop at the 404
            options = {"referer": REFERER} if path.startswith("/referer/") else {}
            case_started, whole, runs = time.monotonic(), dash.media_bytes(root, fixture), []
            # Straight from the origin first (not for the Referer-gated one: a player sends none of its own).
            for url in ([] if options else [origin.base + path]) + [proxy.url(origin.base + path, **options)]:
                before = served()
                ok, said = dash.run_native(command(url))
                fetched = served() - before
                runs.append((ok and fetched >= 0.9 * whole, "%s, %d of %d media bytes" % (said, fetched, whole)))
            (proxied, said), straight = runs[-1], (runs[0] if len(runs) == 2 else None)
            if proxied:
                ok, detail = True, "through the proxy: %s%s" % (said, "" if straight is None else (
                    "; straight: %s" % ("plays too" if straight[0] else "does not play (%s)" % straight[1])))
            else:  # passes only when the player cannot play it straight from the origin either
                ok = straight is not None and not straight[0]
                detail = "through the proxy: %s; straight: %s" % (said, "n/a" if straight is None else (
                    "plays" if straight[0] else "does not play either (%s)" % straight[1]))
            report.add("DASH %s: %s" % (player, name), ok, detail, time.monotonic() - case_started)
        # The live MPD, 8 s straight from the origin and 8 s through the proxy (each its own timeline):
        # through the proxy a player refetches it and fetches media at least as it does straight.
        case_started, runs = time.monotonic(), []
        for via in ("direct", "proxied"):
            path = "/dashlive/%s-%s-http-iso.mpd" % (player.split()[0], via)
            url = origin.base + path if via == "direct" else proxy.url(origin.base + path)
            before = served()
            ok, said = dash.run_native(command(url), 8, live=True)
            runs.append((ok, said, origin.count(path), served() - before))
        (_, _, direct_loads, direct_bytes), (ok, said, loads, fetched) = runs
        plays = direct_bytes >= 100000  # a few segments' worth (ffmpeg and mpv fetch far more: they loop)
        ok = ok and (not plays or (loads >= min(3, direct_loads) and fetched >= 100000))
        report.add("DASH %s: live MPD the origin updates" % player, ok,
                   "through the proxy: %s, the MPD fetched %d times, %d bytes; straight: %d times, %d bytes%s" % (
                       said, loads, fetched, direct_loads, direct_bytes, "" if plays else " (it does not play it)"),
                   time.monotonic() - case_started)
    missing = {"ffmpeg 9", "GStreamer playbin3", "VLC", "mpv"} - {player for player, _ in dash.native_players(ffmpeg9)}
    if missing:
        report.add("DASH players installed", False,
                   "missing: %s (e2e/run installs them)" % ", ".join(sorted(missing)), 0)


def get(url, timeout=10):
    """GET ``url``: (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# ---------------------------------------------------------------------------
# The suite
# ---------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def add(self, name, ok, detail, seconds):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print("%s %s (%.1f s) %s" % ("PASS" if ok else "FAIL", name, seconds, detail), flush=True)


def main():
    started = time.monotonic()
    for tool in ("ffmpeg", "ffprobe", "node"):
        if not shutil.which(tool):
            print("FAIL setup: %s is not installed (run e2e/run, which installs it)" % tool)
            return 1
    work = tempfile.mkdtemp(prefix="hlsproxy-e2e-")
    root = os.path.join(work, "media")
    os.makedirs(root)
    servers, proxies = [], []
    report = Report()
    try:
        print("fixtures generated with ffmpeg in %.1f s" % make_fixtures(root), flush=True)
        dash_started = time.monotonic()
        dash.make_dash_fixtures(root, ffmpeg, source)
        channel = livets.make_channel(root, ffmpeg, source)
        print("DASH fixtures generated with ffmpeg's dash muxer in %.1f s" % (time.monotonic() - dash_started),
              flush=True)
        origin, peer, page = Origin(root), Origin(root), ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
        origin.peer = peer
        provider = livets.Provider(channel)
        servers = [serve(server) for server in (origin, peer, page, provider)]
        page_base = "http://127.0.0.1:%d" % page.server_address[1]
        proxy = Proxy(work, "--quiet", "--hlsjs-url", page_base + "/hls.min.js", "--dashjs-url",
                      page_base + "/dash.all.min.js")
        proxies.append(proxy)
        header_proxy = Proxy(work, "--quiet", "--header", "Referer: " + REFERER)
        proxies.append(header_proxy)
        page_url = "http://127.0.0.1:%d/?src=" % page.server_address[1]
        o = origin.base
        prefix_port = free_port()
        prefixed = Proxy(work, "--quiet", "--port", str(prefix_port), "--hlsjs-url", page_base + "/hls.min.js",
                         "--public-url", "http://127.0.0.1:%d/hls" % prefix_port)
        no_hlsjs = Proxy(work, "--quiet", "--hlsjs-url", page_base + "/missing/hls.min.js")
        signed = Proxy(work, "--quiet", "--secret", "e2e-secret")
        proxies.extend([prefixed, no_hlsjs, signed])
        os.makedirs(SHOTS, exist_ok=True)

        def case(name, url, expect="play", timeout=30):
            return {"name": name, "page": page_url + quote(url, safe=""), "expect": expect, "timeout": timeout}

        cases = [
            case("control: origin direct from the page fails on CORS", o + "/plain/a/index.m3u8", "fatal", 20),
            case("browser (a) VOD MPEG-TS", proxy.url(o + "/plain/a/index.m3u8")),
            case("browser (b) AES-128", proxy.url(o + "/plain/b/index.m3u8")),
            case("browser (c) fMP4 with EXT-X-MAP", proxy.url(o + "/plain/c/index.m3u8")),
            case("browser (d) master: variants, audio switch, subtitles",
                 proxy.url(o + "/plain/d/master/index.m3u8"), "tracks", 40),
            case("browser (e) byte ranges", proxy.url(o + "/plain/e/index.m3u8")),
            case("browser (f) query URL, segments on a second origin", proxy.url(o + "/f/stream?id=7")),
            case("browser (g) live, 3+ playlist refreshes", proxy.url(o + "/g/live.m3u8"), "live", 40),
            case("browser: playlist redirected (302)", proxy.url(o + "/redirect/a/index.m3u8")),
            case("browser: playlists gzipped", proxy.url(o + "/gzip/d/master/index.m3u8")),
            case("browser: Referer-gated, referer in the proxied URL",
                 proxy.url(o + "/referer/c/index.m3u8", referer=REFERER)),
            case("browser: Referer-gated, --header gives it", header_proxy.url(o + "/referer/b/index.m3u8")),
            case("browser: Referer-gated, without it fails", proxy.url(o + "/referer/a/index.m3u8"), "fatal", 20),
            {"name": "page at /: type a stream URL, press Play, it plays", "page": proxy.base + "/",
             "url": o + "/plain/c/index.m3u8", "expect": "ui", "timeout": 30},
            {"name": "page at /: an MPEG-DASH URL plays with dash.js from --dashjs-url", "page": proxy.base + "/",
             "url": o + "/plain/d1/manifest.mpd", "expect": "ui", "timeout": 30, "player": "dash.js"},
            {"name": "page at /, browser without native HLS: plays with hls.js from --hlsjs-url",
             "page": proxy.base + "/", "url": o + "/plain/a/index.m3u8", "expect": "ui", "timeout": 30,
             "hideNativeHls": True},
            {"name": "page behind a path prefix (--public-url .../hls): plays, its URLs under /hls/",
             "page": prefixed.base + "/hls/", "url": o + "/plain/a/index.m3u8", "expect": "ui", "timeout": 30,
             "proxiedPrefix": prefixed.base + "/hls/proxy?url="},
            {"name": "page at /, browser's own HLS: a failing stream shows the upstream's status and a diagnosis",
             "page": proxy.base + "/", "url": o + "/referer/a/index.m3u8", "expect": "ui-fail", "timeout": 30,
             "statusHas": ["HTTP 403", "upstream answered 403"], "verdictHas": ["403 without a Referer"],
             "screenshot": os.path.join(SHOTS, "page-failure-native.png")},
            {"name": "page at /, hls.js: a failing stream shows the upstream's status and a diagnosis",
             "page": proxy.base + "/", "url": o + "/referer/a/index.m3u8", "expect": "ui-fail", "timeout": 30,
             "statusHas": ["HTTP 403", "upstream answered 403"], "verdictHas": ["403 without a Referer"],
             "hideNativeHls": True, "screenshot": os.path.join(SHOTS, "page-failure-hlsjs.png")},
            {"name": "page at /: when hls.js cannot load, it says to use --hlsjs-url", "page": no_hlsjs.base + "/",
             "url": o + "/plain/a/index.m3u8", "expect": "ui-status", "statusHas": ["--hlsjs-url"], "timeout": 20,
             "hideNativeHls": True},
            {"name": "page at / on a 375 px screen: nothing wider than the screen", "page": proxy.base + "/",
             "url": o + "/plain/a/index.m3u8?token=" + "x" * 300, "expect": "layout", "refererShown": True,
             "viewport": {"width": 375, "height": 812}, "timeout": 20,
             "screenshot": os.path.join(SHOTS, "page-375px.png")},
            {"name": "page at / under --secret: no Referer field", "page": signed.base + "/",
             "url": o + "/plain/a/index.m3u8", "expect": "layout", "refererShown": False,
             "viewport": {"width": 375, "height": 812}, "timeout": 20,
             "screenshot": os.path.join(SHOTS, "page-secret-375px.png")},
        ]
        # Issue 21: the page can be shared. Its address fills the form and plays; what comes from the
        # address is data, so a hostile one runs nothing (each payload would set data-ran if it ran).
        shared = o + "/referer/c/index.m3u8"
        cases.append({"name": "page at /?url=…&referer=…: a shared address fills the form and plays",
                      "page": "%s/?url=%s&referer=%s" % (proxy.base, quote(shared, safe=""), quote(REFERER, safe="")),
                      "url": shared, "expect": "shared", "timeout": 30})
        ran = "document.documentElement.setAttribute('data-ran','1')"
        for payload in ['"><script>%s</script>' % ran, "javascript:%s//https://x.example/" % ran,
                        'http://127.0.0.1:1/x.m3u8"><img src=x onerror="%s">' % ran,
                        "</script><svg onload=\"%s\">" % ran]:
            cases.append({"name": "page at /?url=%s: fills the field as text, runs nothing" % payload[:24],
                          "page": "%s/?url=%s&referer=%s" % (proxy.base, quote(payload, safe=""),
                                                             quote(payload, safe="")),
                          "url": payload, "expect": "shared-inert", "timeout": 15})
        cases += disguise.browser_cases(page_url, proxy, origin, quote)
        for document in sorted(EVIL):  # each relayed document, and the same straight from its origin
            cases.append({"name": "baseline: %s straight from its origin runs its script" % document,
                          "page": o + "/evil/" + document, "expect": "runs", "timeout": 10})
            cases.append({"name": "guard: %s relayed by the proxy cannot run its script" % document,
                          "page": proxy.url(o + "/evil/" + document), "expect": "inert", "timeout": 10})
        for result in run_browser(cases, work):
            ok, detail = result["ok"], result.get("detail", "")
            if result["name"].startswith("control") and ok and "manifestLoadError" not in detail:
                ok, detail = False, "expected a manifest load error, got " + detail
            if result["name"].endswith("without it fails") and ok and "403" not in detail:
                ok, detail = False, "expected the origin's 403, got " + detail
            if result["name"].startswith("browser (d)") and ok:
                fetched = {path: origin.count(path) for path in (
                    "/plain/d/audio/fr/index.m3u8", "/plain/d/audio/fr/a0.ts", "/plain/d/subs/en/s0.vtt")}
                ok = all(fetched.values())
                detail += "; origin served %s" % ", ".join("%s x%d" % (p.rsplit("/d/", 1)[1], n)
                                                           for p, n in fetched.items())
            if "without native HLS" in result["name"] and ok and "hls.js" not in detail:
                ok, detail = False, "expected the hls.js path, got " + detail
            if result["name"].startswith("browser (g)") and ok:
                refreshes = origin.count("/g/live.m3u8") - 1
                ok = refreshes >= 3
                detail += ", origin saw %d refreshes" % refreshes
            report.add(result["name"], ok, detail, result["seconds"])
        tls_cases(work, origin, proxy, report)
        if origin.count("/plain/a/index.m3u8") < 1:
            report.add("control: the page's direct request reached the origin", False, "it did not", 0)

        for name, path, force in [("(a) VOD MPEG-TS", "/plain/a/index.m3u8", False),
                                  ("(b) AES-128", "/plain/b/index.m3u8", False),
                                  ("(c) fMP4", "/plain/c/index.m3u8", False),
                                  ("(d) master", "/plain/d/master/index.m3u8", False),
                                  ("(e) byte ranges", "/plain/e/index.m3u8", False),
                                  ("(f) query URL, second origin", "/f/stream?id=7", True)]:
            case_started = time.monotonic()
            try:
                direct = ffmpeg_duration(o + path, os.path.join(work, "direct.ts"), force_hls=force)
                proxied = ffmpeg_duration(proxy.url(o + path), os.path.join(work, "proxied.ts"))
                ok = abs(direct - proxied) <= 0.1 and proxied > 7
                detail = "duration %.3f s through the proxy, %.3f s direct" % (proxied, direct)
            except (RuntimeError, subprocess.SubprocessError, ValueError) as error:
                ok, detail = False, str(error)
            report.add("ffmpeg " + name, ok, detail, time.monotonic() - case_started)

        ffmpeg9_cases(work, origin, proxy, report)
        disguised_cases(work, origin, proxy, report)
        channel_list_cases(work, origin, proxy, report)
        live_channel_cases(work, provider, proxy, report)
        dash_cases(work, root, origin, proxy, "http://127.0.0.1:%d" % page.server_address[1], report)
        control = get(o + "/cookie/a/seg0.ts")[0]
        report.add("control: a cookie-gated segment asked for without the cookie is refused", control == 403,
                   "the origin answered %d" % control, 0)
        workers = Proxy(work, "--quiet", "--workers", "2")
        proxies.append(workers)
        cookie_case("cookies: a stream gated by its master's cookie, --workers 2",
                    workers.url(o + "/cookie/a/index.m3u8"), work, report)
        deploy_cases(work, origin, report)
    finally:
        for proxy in proxies:
            proxy.stop()
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(5)
        shutil.rmtree(work, ignore_errors=True)
    leftovers = [p.process.pid for p in proxies if p.process.poll() is None]
    if leftovers:
        report.add("cleanup", False, "hlsproxy still running: %s" % leftovers, 0)
    print("e2e finished in %.1f s" % (time.monotonic() - started))
    print("%d passed, %d failed" % (report.passed, report.failed))
    return 1 if report.failed or not report.passed else 0


if __name__ == "__main__":
    sys.exit(main())
