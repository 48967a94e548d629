"""W4's rewrite alone, as ratios to a naive rewrite timed in the same run (issue 14).

    python3 bench/rewrite.py

A 20,000-segment VOD playlist, with relative URIs and with absolute ones, is rewritten
by hlsproxy.rewrite_playlist as the proxy does it (full: every URI becomes a /p/ URL;
compact: served at /p/<token>/<name>, plain relative URIs stay as written) and by a
naive ``urljoin`` + ``quote`` rewrite into ``/proxy?url=`` URLs, the baseline of the
targets. Each is the best of 9 runs in this one process; only the ratios mean anything
across machines. Prints a markdown table. No network, no server: the rewriter is pure.
"""

import os
import sys
import time
from urllib.parse import quote, urljoin

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import hlsproxy  # noqa: E402 - the file under test, from the repository

BASE = "https://cdn.example.com/vod/movie/1080p/index.m3u8"
PROXY = "http://127.0.0.1:8000"


def playlist(absolute):
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-PLAYLIST-TYPE:VOD"]
    prefix = "https://edge.cdn.example.net/vod/movie/1080p/" if absolute else ""
    for i in range(20000):
        lines += ["#EXTINF:6.006,", "%smedia/segment-%05d.ts" % (prefix, i)]
    return "\n".join(lines + ["#EXT-X-ENDLIST", ""])


def naive(text):
    return "\n".join(PROXY + "/proxy?url=" + quote(urljoin(BASE, line), safe="")
                     if line and not line.startswith("#") else line for line in text.split("\n"))


def proxy(text, keep_relative):
    def make_uri(url, kind):
        return hlsproxy._proxy_url(PROXY + "/p/", url, (), None, 0, kind)
    return hlsproxy.rewrite_playlist(text, BASE, make_uri, kinds=True, keep_relative=keep_relative)


def best(function, repetitions=9):
    fastest = float("inf")
    for _ in range(repetitions):
        started = time.perf_counter()
        function()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def main():
    print("Run %s, Python %s; best of 9; (ratio) = time / the naive rewrite's, size = output / upstream."
          % (time.strftime("%Y-%m-%d"), sys.version.split()[0]))
    print()
    print("| playlist | naive urljoin+quote | hlsproxy, full | hlsproxy, compact (/p/) | target |")
    print("| --- | --- | --- | --- | --- |")
    for absolute, target in ((False, "compact <= 0.03x, size <= 1.1x"), (True, "<= 0.3x")):
        text = playlist(absolute)
        baseline = best(lambda text=text: naive(text))
        cells = []
        for keep_relative in (False, True):
            spent = best(lambda text=text, keep_relative=keep_relative: proxy(text, keep_relative))
            size = len(proxy(text, keep_relative)) / len(text)
            cells.append("%.1f ms (%.3fx), size %.2fx" % (spent * 1000, spent / baseline, size))
        print("| 20,000 %s URIs | %.1f ms, size %.2fx | %s | %s | %s |" % (
            "absolute" if absolute else "relative", baseline * 1000, len(naive(text)) / len(text),
            cells[0], cells[1], target))


if __name__ == "__main__":
    main()
