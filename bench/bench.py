"""hlsproxy benchmark: each workload against a baseline run beside it, as ratios.

    bash bench/run            # installs nginx, wrk and the Node peer, then runs this
    python3 bench/bench.py --quick   # one repetition, shorter runs

Targets, all on 127.0.0.1: (a) direct access to an nginx origin serving a RAM disk,
(b) nginx as a plain reverse proxy, (c) the Node HLS proxy @warren-bank/hls-proxy
(skipped with a reason if it is not installed), (d) hlsproxy with 1 and 2 workers.
Prints a markdown table of medians and ratios to direct. Nothing here is a
dependency of hlsproxy.py; nothing here is a test with a timed assertion.
"""

import argparse
import base64
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import quote, urlsplit

import mpd  # the two MPDs of bench/mpd.py, served here too (issue 22)

HERE = os.path.dirname(os.path.abspath(__file__))
HLSPROXY = os.path.join(os.path.dirname(HERE), "hlsproxy.py")
FLOOR = os.path.join(HERE, "floor.py")
RELAY = os.path.join(HERE, "relay.py")
HELLO = os.path.join(HERE, "hello.py")
LIVE = os.path.join(HERE, "live.py")
#: W14's channel rate: 4 Mbit/s, an HD IPTV channel.
CHANNEL_RATE = 500000
PEER = os.path.join(HERE, "node_modules", "@warren-bank", "hls-proxy", "hls-proxy", "bin", "hlsd.js")
MB = 1024 * 1024


# ---------------------------------------------------------------------------
# Files and servers
# ---------------------------------------------------------------------------

def make_files(root):
    block = os.urandom(MB)
    for name, size in (("seg512k.ts", MB // 2), ("seg2m.ts", 2 * MB), ("seg10m.ts", 10 * MB)):
        with open(os.path.join(root, name), "wb") as file:
            file.write((block * (size // MB + 1))[:size])
    with open(os.path.join(root, "big.ts"), "wb") as file:
        for _ in range(1024):
            file.write(block)
    live = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:100"]
    for i in range(10):
        live += ["#EXTINF:2.000,", "seg512k.ts?n=%d" % i]
    with open(os.path.join(root, "playlist.m3u8"), "w") as file:
        file.write("\n".join(live + ["#EXT-X-ENDLIST", ""]))
    vod = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for i in range(20000):
        vod += ["#EXTINF:2.000,", "media/segment-%05d.ts" % i]
    with open(os.path.join(root, "vod20k.m3u8"), "w") as file:
        file.write("\n".join(vod + ["#EXT-X-ENDLIST", ""]))
    # The same with absolute URIs, as token-signing CDNs write them (never fetched: rewriting only).
    absolute = [line if line.startswith("#") else "https://edge.cdn.example.net/vod/" + line for line in vod]
    with open(os.path.join(root, "vod20k-abs.m3u8"), "w") as file:
        file.write("\n".join(absolute + ["#EXT-X-ENDLIST", ""]))
    for name, text in (("live5000.mpd", mpd.live_mpd()), ("periods50.mpd", mpd.multi_period_mpd())):
        with open(os.path.join(root, name), "w") as file:
            file.write(text)


NGINX_CONF = """
worker_processes 2;
pid {work}/nginx-{name}.pid;
error_log {work}/nginx-{name}-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {work}/nginx-{name}-access.log;
    client_body_temp_path {work}/tmp-{name};
    proxy_temp_path {work}/tmp-{name};
    fastcgi_temp_path {work}/tmp-{name};
    uwsgi_temp_path {work}/tmp-{name};
    scgi_temp_path {work}/tmp-{name};
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        {body}
    }}
}}
"""

ORIGIN_BODY = """
        root {root};
        location /slow/ {{ alias {root}/; limit_rate 4m; }}
        location /live/ {{ proxy_pass http://127.0.0.1:{live_port}; proxy_buffering off; }}
"""

PROXY_BODY = """
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
        }}
    }}
    upstream origin {{ server 127.0.0.1:{origin_port}; keepalive 64;
"""


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A server process we started; stopped by its pid."""

    def __init__(self, name, command, ready_url, cwd=None, stdout=None):
        self.name = name
        self.log = open(os.path.join(WORK, "%s.log" % name), "w")
        self.process = subprocess.Popen(command, cwd=cwd, stdout=stdout or self.log, stderr=self.log,
                                        start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("%s exited: see %s" % (name, self.log.name))
            try:
                parts = urlsplit(ready_url)
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
                connection.request("GET", parts.path or "/")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not answer within 20 s" % name)

    def pids(self):
        """The process and its children (pre-fork workers, nginx workers)."""
        pids = [self.process.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry) as stat:
                        if int(stat.read().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                            pids.append(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
        return pids

    def cpu_seconds(self):
        """CPU time (user + system) the process and its children have used so far."""
        ticks = 0
        for pid in self.pids():
            try:
                with open("/proc/%d/stat" % pid) as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self):
        """The largest peak RSS among the process and its children, in MB."""
        peaks = []
        for pid in self.pids():
            try:
                with open("/proc/%d/status" % pid) as status:
                    peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status.read()).group(1)) / 1024)
            except (OSError, AttributeError):
                pass
        return max(peaks) if peaks else float("nan")

    def stop(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def start_nginx(name, body):
    port = free_port()
    os.makedirs(os.path.join(WORK, "tmp-" + name), exist_ok=True)
    conf = os.path.join(WORK, "nginx-%s.conf" % name)
    with open(conf, "w") as file:
        file.write(NGINX_CONF.format(work=WORK, name=name, port=port, body=body))
    process = Process("nginx-" + name, [NGINX, "-c", conf, "-g", "daemon off;"], "http://127.0.0.1:%d/" % port)
    process.port = port
    return process, port


class Target:
    """One way to reach the origin's files: a name, how to build URLs, how to start it."""

    def __init__(self, name, start, url, only=None, player_url=None):
        self.name, self._start, self._url, self._player_url = name, start, url, player_url
        self.only = only  # the workloads it takes part in, if not all
        self.process = None

    def start(self, **options):
        self.process = self._start(**options)
        return self

    def url(self, origin_url):
        return self._url(self, origin_url)

    def player_url(self, origin_url):
        """The URL a player reaches a variant playlist by: through the master's
        rewritten URI (hlsproxy's /p/ form), else the same as url()."""
        return (self._player_url or self._url)(self, origin_url)

    def stop(self):
        if self.process is not None and not isinstance(self.process, str):
            self.process.stop()
        self.process = None


def hlsproxy_target(workers, script=HLSPROXY, name=None, python=sys.executable, flags=()):
    def start(cache_mb=256):
        port = free_port()
        command = [python, *flags, script, "--port", str(port), "--allow-private", "--quiet",
                   "--workers", str(workers), "--cache-mb", str(cache_mb), "--max-connections", "1024"]
        process = Process("hlsproxy-%d%s" % (workers, "-free" if flags else ""), command,
                          "http://127.0.0.1:%d/" % port)
        process.port = port
        return process

    def url(self, origin_url):
        return "http://127.0.0.1:%d/proxy?url=%s" % (self.process.port, quote(origin_url, safe=""))

    def player_url(self, origin_url):  # /p/<token>/<name>, the token an unpadded base64url of the URL
        token = base64.urlsafe_b64encode(origin_url.encode()).decode().rstrip("=")
        return "http://127.0.0.1:%d/p/%s/%s" % (self.process.port, token, origin_url.rsplit("/", 1)[1])
    return Target(name or "hlsproxy, %d worker%s" % (workers, "s" if workers > 1 else ""), start, url,
                  player_url=player_url)


def relay_target(name, script, only):
    """A Python server of ours that takes /proxy?url=: floor.py (W7's floor for
    hlsproxy's design), relay.py (W3's stdlib baseline) or hello.py (W1's ceiling)."""
    def start(cache_mb=None):
        port = free_port()
        process = Process(os.path.basename(script), [sys.executable, script, str(port)],
                          "http://127.0.0.1:%d/" % port)
        process.port = port
        return process

    def url(self, origin_url):
        return "http://127.0.0.1:%d/proxy?url=%s" % (self.process.port, quote(origin_url, safe=""))
    return Target(name, start, url, only=only)


def peer_target():
    def start(cache_mb=None):
        port = free_port()
        process = Process("node-peer", ["node", PEER, "--port", str(port)], "http://127.0.0.1:%d/" % port)
        process.port = port
        return process

    def url(self, origin_url):
        path = urlsplit(origin_url).path
        extension = os.path.splitext(path)[1] or ".ts"
        token = base64.b64encode(origin_url.encode()).decode()
        return "http://127.0.0.1:%d/%s%s" % (self.process.port, token, extension)
    return Target("Node peer (@warren-bank/hls-proxy)", start, url)


# ---------------------------------------------------------------------------
# Load generators
# ---------------------------------------------------------------------------

def wrk(urls, connections, seconds, name):
    """Run wrk over ``urls`` (cycled); return requests/s, MB/s, p50 and p99 ms, errors."""
    first = urlsplit(urls[0])
    paths_file = os.path.join(WORK, "paths-%s.txt" % name)
    with open(paths_file, "w") as file:
        for url in urls:
            parts = urlsplit(url)
            file.write(parts.path + ("?" + parts.query if parts.query else "") + "\n")
    script = os.path.join(WORK, "cycle.lua")
    with open(script, "w") as file:
        file.write("""
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local n = 0
init = function(args) n = math.random(#paths) end
request = function()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end
""")
    env = dict(os.environ, PATHS=paths_file)
    done = subprocess.run([WRK, "-t2", "-c%d" % connections, "-d%ds" % seconds, "--latency", "--timeout", "10s",
                           "-s", script, "%s://%s" % (first.scheme, first.netloc)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env,
                          timeout=seconds + 60)
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    scale = {"B": 1 / MB, "KB": 1 / 1024, "MB": 1, "GB": 1024}[transfer.group(2)]
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    if name != "w8" and errors:
        raise RuntimeError("%d failed requests in a load run" % errors)
    return {"rps": rps, "mbps": float(transfer.group(1)) * scale, "p50": latency(out, "50"),
            "p99": latency(out, "99"), "errors": errors}


def latency(out, percentile):
    match = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % percentile, out, re.MULTILINE)
    return float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)]


def fetch(url, timeout=120, headers=None):
    """GET ``url``; return (time to first byte s, total s, bytes)."""
    parts = urlsplit(url)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""), headers=headers or {})
        response = connection.getresponse()
        first = response.read(1)
        ttfb = time.monotonic() - started
        size = len(first)
        while True:
            chunk = response.read(MB)
            if not chunk:
                break
            size += len(chunk)
        if response.status not in (200, 206):
            raise RuntimeError("%s answered %d" % (url, response.status))
        return ttfb, time.monotonic() - started, size
    finally:
        connection.close()


def origin_hits(marker):
    with open(os.path.join(WORK, "nginx-origin-access.log")) as log:
        return sum(1 for line in log if marker in line)


# ---------------------------------------------------------------------------
# Workloads: each returns {metric: value} for one target, one repetition
# ---------------------------------------------------------------------------

def check(url):
    """Fail the workload early if ``url`` does not answer 200."""
    fetch(url)


def w1(target, o, seconds):
    check(target.url(o + "/playlist.m3u8"))
    return {"req/s": wrk([target.url(o + "/playlist.m3u8")], 32, seconds, "w1")["rps"]}


def w2(target, o, seconds):
    return {"MB/s": wrk([target.url(o + "/seg2m.ts")], 8, seconds, "w2")["mbps"]}


RUN = [0]


def w3(target, o, seconds):
    RUN[0] += 1
    urls = [target.url(o + "/seg2m.ts?cold=%d-%d" % (RUN[0], i)) for i in range(20000)]
    return {"MB/s": wrk(urls, 8, seconds, "w3")["mbps"]}


def w4(target, o, seconds, name="vod20k.m3u8", player=False):
    url = (target.player_url if player else target.url)(o + "/" + name)
    times = []
    for _ in range(7):
        _, total, _ = fetch(url)
        times.append(total * 1000)
    return {"ms/req": statistics.median(times)}


def w4p(target, o, seconds):
    return w4(target, o, seconds, player=True)


def w4a(target, o, seconds):
    return w4(target, o, seconds, name="vod20k-abs.m3u8")


def w5(target, o, seconds):
    ttfb, total, size = fetch(target.url(o + "/big.ts"), timeout=300)
    rss = target.process.peak_rss_mb() if target.process is not None else float("nan")
    return {"MB/s": size / MB / total, "TTFB ms": ttfb * 1000, "peak RSS MB": rss}


def crowd(url, count=50, headers=None):
    """``count`` clients released together on ``url``: their fetch() results (or errors)."""
    results = [None] * count
    barrier = threading.Barrier(count)

    def viewer(i):
        barrier.wait(30)
        try:
            results[i] = fetch(url, headers=headers)
        except Exception as error:  # noqa: BLE001 - counted as an error
            results[i] = error
    threads = [threading.Thread(target=viewer, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def crowd_metrics(results, marker, size=10 * MB):
    good = [r for r in results if isinstance(r, tuple) and r[2] == size]
    time.sleep(0.5)  # nginx writes its access log line when a response ends
    last = sorted(r[1] * 1000 for r in good)
    return {"origin hits": origin_hits(marker),
            "TTFB ms (median)": statistics.median(r[0] for r in good) * 1000 if good else float("nan"),
            "last byte ms (median)": statistics.median(last) if good else float("nan"),
            "last byte ms (p99)": last[min(len(last) - 1, int(len(last) * 0.99))] if good else float("nan"),
            "errors": len(results) - len(good)}


def w6(target, o, seconds):
    RUN[0] += 1
    marker = "w6=%d" % RUN[0]
    return crowd_metrics(crowd(target.url(o + "/slow/seg10m.ts?" + marker)), marker)


def w9(target, o, seconds):
    """W6 with a leader in front that asks first and never reads (a 4 KiB receive buffer)."""
    RUN[0] += 1
    marker = "w9=%d" % RUN[0]
    url = target.url(o + "/slow/seg10m.ts?" + marker)
    parts = urlsplit(url)
    leader = socket.socket()
    leader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    leader.settimeout(10)
    try:
        leader.connect((parts.hostname, parts.port))
        leader.sendall(("GET %s?%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (parts.path, parts.query, parts.netloc)).encode())
        time.sleep(0.3)  # the leader's request reaches the origin first
        return crowd_metrics(crowd(url), marker)
    finally:
        leader.close()


def w10(target, o, seconds):
    """50 clients with Range: bytes=0- (ffmpeg, mpv, VLC) on one uncached segment."""
    RUN[0] += 1
    marker = "w10=%d" % RUN[0]
    return crowd_metrics(crowd(target.url(o + "/slow/seg10m.ts?" + marker), headers={"Range": "bytes=0-"}), marker)


def w11(target, o, seconds):
    return w4(target, o, seconds, name="live5000.mpd")


def w12(target, o, seconds):
    return w4(target, o, seconds, name="periods50.mpd")


def w13(target, o, seconds, viewers=100, period=2.0):
    """100 viewers of one live MPD (minimumUpdatePeriod 2 s), each refreshing it
    every 2 s from a random moment, for ``seconds``: how many fetches reach the
    origin, against the refreshes the proxy's rule allows (one per half period)."""
    RUN[0] += 1
    marker = "w13=%d" % RUN[0]
    url = target.url(o + "/live5000.mpd?" + marker)
    check(url)
    time.sleep(1.0)  # the check's copy has expired: the count starts from nothing kept
    before = origin_hits(marker)
    started = time.monotonic()
    answered, failed = [0] * viewers, [0] * viewers

    def viewer(i):
        time.sleep(period * i / viewers)
        while time.monotonic() - started < seconds:
            try:
                fetch(url)
                answered[i] += 1
            except Exception:  # noqa: BLE001 - counted
                failed[i] += 1
            time.sleep(period)
    threads = [threading.Thread(target=viewer, args=(i,), daemon=True) for i in range(viewers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.monotonic() - started
    time.sleep(0.5)  # nginx writes its access log line when a response ends
    hits = origin_hits(marker) - before
    return {"viewer requests": sum(answered), "origin hits": hits,
            "hits per refresh window (1 s)": hits / (elapsed / (period / 2)), "errors": sum(failed)}


def w14(target, o, seconds, viewers=50):
    """50 viewers of one live TS channel (an endless body at CHANNEL_RATE) for
    ``seconds``: the connections the provider (bench/live.py, behind the nginx
    origin) was asked for, each viewer's throughput, and the target's CPU time
    per viewer and second of watching."""
    RUN[0] += 1
    url = target.url(o + "/live/channel-%d.ts" % RUN[0])
    before = json.loads(fetch_text(LIVE_STATS))["opened"]
    got, failed = [0] * viewers, [0] * viewers
    barrier = threading.Barrier(viewers + 1)

    def viewer(i):
        parts = urlsplit(url)
        barrier.wait(30)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request("GET", parts.path + "?" + parts.query)
            response = connection.getresponse()
            if response.status != 200:
                raise RuntimeError("answered %d" % response.status)
            while time.monotonic() < deadline[0]:
                chunk = response.read1(64 * 1024) if hasattr(response, "read1") else response.read(64 * 1024)
                if not chunk:
                    raise RuntimeError("the channel ended")
                got[i] += len(chunk)
        except Exception:  # noqa: BLE001 - counted
            failed[i] += 1
        finally:
            connection.close()
    deadline = [float("inf")]
    threads = [threading.Thread(target=viewer, args=(i,), daemon=True) for i in range(viewers)]
    for thread in threads:
        thread.start()
    process = target.process if target.process is not None and not isinstance(target.process, str) else None
    cpu = process.cpu_seconds() if process else float("nan")
    barrier.wait(30)
    started = time.monotonic()
    deadline[0] = started + seconds
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.monotonic() - started
    cpu = process.cpu_seconds() - cpu if process else float("nan")
    opened = json.loads(fetch_text(LIVE_STATS))["opened"] - before
    rates = sorted(count / MB / elapsed for count in got)
    return {"upstream connections": opened, "MB/s per viewer (median)": statistics.median(rates),
            "MB/s per viewer (lowest)": rates[0], "CPU ms per viewer-second": cpu * 1000 / viewers / elapsed,
            "errors": sum(failed)}


def fetch_text(url):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def w7(target, o, seconds):
    times = []
    for _ in range(5):
        RUN[0] += 1
        ttfb, _, _ = fetch(target.url(o + "/slow/seg10m.ts?w7=%d" % RUN[0]))
        times.append(ttfb * 1000)
    return {"TTFB ms": statistics.median(times)}


def w8(target, o, seconds):
    urls = []
    for i in range(10):
        urls += [target.url(o + "/playlist.m3u8"), target.url(o + "/seg512k.ts?n=%d" % i)]
    result = wrk(urls, 200, seconds, "w8")
    return {"MB/s": result["mbps"], "p50 ms": result["p50"], "p99 ms": result["p99"], "errors": result["errors"]}


WORKLOADS = [
    ("W1", "cached playlist, 32 keep-alive connections", w1, 5),
    ("W2", "cached 2 MB segment", w2, 5),
    ("W3", "cold 2 MB segments, unique URLs", w3, 5),
    ("W4", "20,000-segment VOD playlist, rewritten per request (cache off)", w4, 0),
    ("W4p", "W4 reached as a player reaches a variant: hlsproxy's /p/ form (relative URIs stay)", w4p, 0),
    ("W4a", "W4 with absolute segment URIs (cache off)", w4a, 0),
    ("W5", "one 1 GB file", w5, 0),
    ("W6", "50 simultaneous clients, same uncached 10 MB segment, slow origin", w6, 0),
    ("W7", "time to first byte, 10 MB segment, slow origin", w7, 0),
    ("W8", "200 viewers (playlist + next segment, looping)", w8, 10),
    ("W9", "a leader that never reads + 50 followers, same uncached 10 MB segment, slow origin", w9, 0),
    ("W10", "50 clients with Range: bytes=0-, same uncached 10 MB segment, slow origin", w10, 0),
    ("W11", "live MPD, 5,000-entry SegmentTimeline, rewritten per request (cache off)", w11, 0),
    ("W12", "MPD of 50 Periods x 4 x 6 (2 MB), rewritten per request (cache off)", w12, 0),
    ("W13", "100 viewers of one live MPD, each refreshing every 2 s", w13, 10),
    ("W14", "50 viewers of one live TS channel (4 Mbit/s, endless)", w14, 10),
]


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

def main():
    global WORK, NGINX, WRK, LIVE_STATS
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one repetition, shorter load runs")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W4")
    parser.add_argument("--baseline", metavar="FILE",
                        help="another hlsproxy.py (say, an older commit's) measured beside, 1 worker")
    parser.add_argument("--free-threaded", metavar="PYTHON",
                        help="a free-threaded interpreter (3.13t): hlsproxy measured on it too, 1 process, -X gil=0")
    args = parser.parse_args()
    repetitions = 1 if args.quick else 3
    NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
    WRK = shutil.which("wrk")
    if not os.path.exists(NGINX) or not WRK:
        print("bench: nginx and wrk are needed (bench/run installs them)")
        return 1
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    WORK = tempfile.mkdtemp(prefix="hlsproxy-bench-", dir=shm)
    root = os.path.join(WORK, "media")
    os.makedirs(root)
    os.chmod(WORK, 0o755)  # nginx's workers run unprivileged
    os.chmod(root, 0o755)
    started = time.monotonic()
    origin = targets = live = None
    try:
        make_files(root)
        live_port = free_port()
        live = Process("live-channel", [sys.executable, LIVE, str(live_port), str(CHANNEL_RATE)],
                       "http://127.0.0.1:%d/" % live_port)
        LIVE_STATS = "http://127.0.0.1:%d/stats" % live_port
        origin, origin_port = start_nginx("origin", ORIGIN_BODY.format(root=root, live_port=live_port))
        o = "http://127.0.0.1:%d" % origin_port
        direct = Target("direct", lambda **_: None, lambda self, url: url)
        nginx_proxy = Target("nginx, plain reverse proxy",
                             lambda **_: start_nginx("proxy", PROXY_BODY.format(origin_port=origin_port))[0],
                             lambda self, url: url.replace(o, "http://127.0.0.1:%d" % self.process.port))
        targets = [direct, nginx_proxy]
        skipped = []
        if os.path.exists(PEER) and shutil.which("node"):
            targets.append(peer_target())
        else:
            skipped.append("Node peer: not installed (%s missing)" % PEER)
        targets += [hlsproxy_target(1), hlsproxy_target(2)]
        if args.baseline:
            targets.append(hlsproxy_target(1, os.path.abspath(args.baseline), "baseline hlsproxy.py, 1 worker"))
        if args.free_threaded:
            targets.append(hlsproxy_target(1, name="hlsproxy, 1 process, free-threaded 3.13t",
                                           python=args.free_threaded, flags=("-X", "gil=0")))
        targets.append(relay_target("bare Python relay (floor.py)", FLOOR, ("W7",)))
        targets.append(relay_target("stdlib relay (relay.py)", RELAY, ("W3", "W14")))
        targets.append(relay_target("http.server from memory (hello.py)", HELLO, ("W1",)))
        results = {}
        chosen = [w for w in WORKLOADS if not args.only or w[0] in args.only.split(",")]
        for key, _title, workload, seconds in chosen:
            if args.quick and seconds:
                seconds = max(2, seconds // 2)
            for target in targets:
                if target.only and key not in target.only:
                    continue
                runs = []
                for _ in range(repetitions if key not in ("W5",) else 1):
                    # A fresh process for each repetition: peak RSS and cache state are this run's own.
                    target.start(cache_mb=0 if key.startswith(("W4", "W11", "W12")) else 256)
                    try:
                        runs.append(workload(target, o, seconds))
                    except Exception as error:  # noqa: BLE001 - reported in the table
                        runs.append({"error": "%s: %s" % (type(error).__name__, str(error)[:80])})
                    finally:
                        target.stop()
                results[(key, target.name)] = runs
                print("%s %-38s %s" % (key, target.name, summarize(runs)), flush=True)
        print()
        print(table(chosen, targets, results, skipped, repetitions, time.monotonic() - started))
    finally:
        for target in targets or []:
            target.stop()
        if origin is not None:
            origin.stop()
        if live is not None:
            live.stop()
        shutil.rmtree(WORK, ignore_errors=True)
    return 0


def medians(runs):
    errors = [r["error"] for r in runs if "error" in r]
    if errors:
        return {"error": errors[0]}
    return {metric: statistics.median(r[metric] for r in runs) for metric in runs[0]}


def summarize(runs):
    return ", ".join("%s %s" % (k, fmt(v)) for k, v in medians(runs).items())


def fmt(value):
    if isinstance(value, str):
        return value
    if value != value:  # NaN
        return "n/a"
    return "%d" % value if abs(value) >= 100 or float(value).is_integer() else "%.2f" % value


def table(chosen, targets, results, skipped, repetitions, elapsed):
    lines = ["Run %s on %s, %d cores, Python %s; median of %d; (ratio) = target / direct."
             % (time.strftime("%Y-%m-%d"), platform.platform(), os.cpu_count(), platform.python_version(),
                repetitions, ), "",
             "| workload | metric | " + " | ".join(t.name for t in targets) + " |",
             "| --- | --- |" + " --- |" * len(targets)]
    for key, title, _, _ in chosen:  # noqa: B007 - title is used below
        direct = medians(results[(key, "direct")])
        metrics = [m for m in direct if m != "error"] or ["error"]
        for metric in metrics:
            cells = []
            for target in targets:
                if (key, target.name) not in results:
                    cells.append("-")
                    continue
                value = medians(results[(key, target.name)]).get(metric)
                if value is None:
                    cells.append(medians(results[(key, target.name)]).get("error", "n/a"))
                    continue
                cell = fmt(value)
                base = direct.get(metric)
                if target.name != "direct" and isinstance(base, float) and base and metric not in (
                        "errors", "origin hits", "peak RSS MB", "hits per refresh window (1 s)",
                        "upstream connections", "CPU ms per viewer-second"):
                    cell += " (%.2f)" % (value / base)
                cells.append(cell)
            lines.append("| %s %s | %s | %s |" % (key, title, metric, " | ".join(cells)))
    for reason in skipped:
        lines.append("")
        lines.append("Skipped: " + reason)
    lines.append("")
    lines.append("Whole run: %.0f s." % elapsed)
    return "\n".join(lines)


WORK = NGINX = WRK = LIVE_STATS = None

if __name__ == "__main__":
    sys.exit(main())
