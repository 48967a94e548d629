"""The MPD rewrite alone, as ratios to an ElementTree parse + serialise of the same
document timed in the same run (issue 22).

    python3 bench/mpd.py

Two MPDs: a live one whose SegmentTimeline has 5,000 entries, and a multi-period one
(50 Periods x 4 AdaptationSets x 6 Representations, ad-insertion style: each Period's
BaseURL on another CDN path; about 2 MB). Each is rewritten by hlsproxy.rewrite_mpd as the
proxy does it (full: the /proxy?url= form, every value that must be written out is;
compact: served at /p/<token>/<name>, relative values stay) and parsed and serialised by
xml.etree.ElementTree (which, besides, renames the default namespace to ns0: and drops
comments: it is the cost of the approach the proxy does not take). Best of 9 runs in this
one process; only the ratios mean anything across machines. Prints a markdown table.
No network, no server: the rewriter is pure. bench.py serves the same two documents.
"""

import functools
import os
import sys
import time
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import hlsproxy  # noqa: E402 - the file under test, from the repository
from rewrite import best  # noqa: E402 - best of 9, as W4's rewrite is timed

BASE = "https://cdn.example.com/live/channel/manifest.mpd"
PROXY = "http://127.0.0.1:8000"
HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<!-- made by hlsproxy bench/mpd.py -->\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xlink="http://www.w3.org/1999/xlink" %s '
        'profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="PT2S">\n')


def representations(kind, count):
    lines = []
    for i in range(count):
        if kind == "video":
            lines.append('      <Representation id="v%d" bandwidth="%d" width="%d" height="%d" codecs="avc1.64001f" '
                         'frameRate="25" sar="1:1"/>' % (i, 400000 * (i + 1), 320 * (i + 1), 180 * (i + 1)))
        else:
            lines.append('      <Representation id="%s%d" bandwidth="%d" codecs="mp4a.40.2" audioSamplingRate="48000">'
                         '<AudioChannelConfiguration value="2" '
                         'schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011"/>'
                         "</Representation>" % (kind[0], i, 64000 * (i + 1)))
    return lines


def live_mpd(entries=5000):
    """A live MPD whose video SegmentTimeline has ``entries`` entries."""
    lines = [HEAD % 'type="dynamic" availabilityStartTime="2026-12-07T00:00:00Z" publishTime="2026-12-07T10:00:00Z" '
                    'minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT3H" maxSegmentDuration="PT2S"',
             '  <Period id="p0" start="PT0S">',
             '    <AdaptationSet mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">',
             '      <SegmentTemplate timescale="90000" initialization="$RepresentationID$/init.mp4" '
             'media="$RepresentationID$/$Time$.m4s">', "        <SegmentTimeline>"]
    for i in range(entries):
        lines.append('          <S t="%d" d="180000"/>' % (i * 180000) if i % 50 == 0 else '          <S d="180000"/>')
    lines += ["        </SegmentTimeline>", "      </SegmentTemplate>"] + representations("video", 6) + [
        "    </AdaptationSet>", "  </Period>",
        '  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="https://time.example.net/iso"/>',
        "</MPD>", ""]
    return "\n".join(lines)


def multi_period_mpd(periods=50, adaptation_sets=4, per_set=6, timeline=330):
    """An ad-insertion MPD: each Period's content on another path of another CDN."""
    lines = [HEAD % 'type="static" mediaPresentationDuration="PT50M"']
    for p in range(periods):
        lines += ['  <Period id="p%d" duration="PT60S">' % p,
                  "    <BaseURL>https://%s.cdn.example.net/%s/%d/</BaseURL>"
                  % ("ads" if p % 2 else "main", "break" if p % 2 else "episode", p)]
        for a in range(adaptation_sets):
            kind = ("video", "audio", "audio", "text")[a % 4]
            lines += ['    <AdaptationSet id="%d" contentType="%s" lang="%s" segmentAlignment="true">'
                      % (a, kind, ("en", "en", "fr", "en")[a % 4]),
                      '      <SegmentTemplate timescale="1000" initialization="%s/$RepresentationID$/init.mp4" '
                      'media="%s/$RepresentationID$/$Number%%05d$.m4s" startNumber="1">' % (kind, kind),
                      "        <SegmentTimeline>"]
            lines += ['          <S t="%d" d="2000"/>' % (i * 2000) if i == 0 else '          <S d="2000"/>'
                      for i in range(timeline)]
            lines += ["        </SegmentTimeline>", "      </SegmentTemplate>"] + representations(kind, per_set) + [
                "    </AdaptationSet>"]
        lines.append("  </Period>")
    return "\n".join(lines + ["</MPD>", ""])


def rewrite(text, keep_relative):
    def make_uri(url, kind, base=""):
        return hlsproxy._proxy_url(PROXY + "/p/", url, (), None, 0, kind, (), base)
    return hlsproxy.rewrite_mpd(text, BASE, make_uri, keep_relative)


def element_tree(text):
    return ElementTree.tostring(ElementTree.fromstring(text.encode("utf-8")))


def main():
    print("Run %s, Python %s; best of 9; (ratio) = time / ElementTree parse + serialise, size = output / upstream."
          % (time.strftime("%Y-%m-%d"), sys.version.split()[0]))
    print()
    print("| MPD | ElementTree parse + serialise | hlsproxy, full (/proxy?url=) | hlsproxy, compact (/p/) | target |")
    print("| --- | --- | --- | --- | --- |")
    for name, text in (("live, 5,000-entry SegmentTimeline", live_mpd()),
                       ("50 Periods x 4 x 6, %.1f MB" % (len(multi_period_mpd()) / 1e6), multi_period_mpd())):
        baseline = best(functools.partial(element_tree, text))
        cells = []
        for keep_relative in (False, True):
            seconds = best(functools.partial(rewrite, text, keep_relative))
            size = len(rewrite(text, keep_relative)) / len(text)
            cells.append("%.2f ms (%.3fx), size %.2fx" % (seconds * 1000, seconds / baseline, size))
        print("| %s | %.2f ms | %s | %s | <= 0.1x; size <= 1.1x |" % (name, baseline * 1000, cells[0], cells[1]))


if __name__ == "__main__":
    main()
