"""The e2e suite's DASH part (issue 22): fixtures made by ffmpeg's dash muxer at
test time, the live MPD the origin writes, and the cases: dash.js and Shaka in
headless Chromium, ffmpeg (Debian's and ffmpeg 9), GStreamer (playbin3), VLC
and mpv, each through hlsproxy against origins that send no CORS headers.

Fixtures (under the media root; an MPD may hold @ORIGIN@ and @PEER@, which the
origin fills with its own base URL and its peer's):
  d1  SegmentTemplate with SegmentTimeline, names in sub-directories
      ($RepresentationID$/seg-$Number%05d$.m4s), video and audio
  d2  SegmentTemplate by $Number$ and duration, 60 s: the live MPD's media
  d3  SegmentBase: one file with a global sidx, played and seeked by byte ranges
  d4  SegmentList: an Initialization@sourceURL and a SegmentURL@media for each segment
  d5  BaseURLs at three levels (MPD, Period, AdaptationSet) across two origins
  d6  two BaseURLs on one level, the first one failing (404)
  dv1, dv2  d1 with a WebVTT sidecar (one copy per browser player, counted apart)
  d12 d1 behind a query token, with UrlQueryInfo (the token must reach each segment)
"""

import datetime
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time

SEGMENT = 2  # seconds
LIVE_SECONDS = 60
#: What a UTCTiming scheme's URL is, on the origin's clock mode.
CLOCKS = {"http-iso": "/clock/iso", "http-head": "/clock/head"}
DVB = 'xmlns:dvb="urn:dvb:dash:dash-extensions:2014-1"'
VTT = ("WEBVTT\n\n00:00:00.500 --> 00:00:03.000\nHello through the proxy\n\n"
       "00:00:04.000 --> 00:00:07.000\nSecond cue\n")


def make_dash_fixtures(root, ffmpeg, source):
    """Write the fixtures above under ``root``; ``ffmpeg(*args)`` runs ffmpeg,
    ``source(seconds, ...)`` gives lavfi inputs and codec arguments."""
    j = lambda *p: os.path.join(root, *p)  # noqa: E731
    dash = ["-f", "dash", "-seg_duration", str(SEGMENT), "-adaptation_sets", "id=0,streams=v id=1,streams=a"]
    for representation in ("0", "1"):  # ffmpeg makes no directories of its own
        os.makedirs(j("d1", representation))
    ffmpeg(*source(8) + dash + ["-use_template", "1", "-use_timeline", "1",
                                "-init_seg_name", "$RepresentationID$/init.m4s",
                                "-media_seg_name", "$RepresentationID$/seg-$Number%05d$.m4s", j("d1", "manifest.mpd")])
    os.makedirs(j("d2"))
    ffmpeg(*source(LIVE_SECONDS) + dash + ["-use_template", "1", "-use_timeline", "0", j("d2", "manifest.mpd")])

    os.makedirs(j("d3"))
    ffmpeg(*source(8, audio=False) + ["-f", "mp4", "-movflags", "+dash+global_sidx", "-frag_duration",
                                      str(SEGMENT * 1000000), j("d3", "video.mp4")])
    boxes = mp4_boxes(j("d3", "video.mp4"))
    index = [(start, size) for start, size, kind in boxes if kind == b"sidx"][0]
    codecs = re.search(r'codecs="(avc1[^"]*)"', read(j("d1", "manifest.mpd"))).group(1)
    write(j("d3", "manifest.mpd"), (
        '<?xml version="1.0" encoding="utf-8"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" mediaPresentationDuration="PT8.0S" '
        'minBufferTime="PT2S">\n  <Period>\n    <AdaptationSet contentType="video" mimeType="video/mp4">\n'
        '      <Representation id="v" codecs="%s" bandwidth="200000" width="192" height="108">\n'
        "        <BaseURL>video.mp4</BaseURL>\n"
        '        <SegmentBase indexRange="%d-%d"><Initialization range="0-%d"/></SegmentBase>\n'
        "      </Representation>\n    </AdaptationSet>\n  </Period>\n</MPD>\n")
        % (codecs, index[0], index[0] + index[1] - 1, index[0] - 1))

    os.makedirs(j("d4"))
    ffmpeg(*source(8, audio=False) + ["-f", "dash", "-seg_duration", str(SEGMENT), "-use_template", "0",
                                      "-use_timeline", "0", j("d4", "manifest.mpd")])

    # d5: the MPD on the first origin; its BaseURL names the second, then p/ and a/ below it.
    os.makedirs(j("d5", "p"))
    os.symlink(j("d1"), j("d5", "p", "a"))
    write(j("d5", "manifest.mpd"), with_base_urls(read(j("d1", "manifest.mpd")),
                                                  "<BaseURL>@PEER@/plain/d5/</BaseURL>", "<BaseURL>p/</BaseURL>",
                                                  "<BaseURL>a/</BaseURL>"))
    os.makedirs(j("d6"))
    # DVB's profile: dash.js chooses among BaseURLs by dvb:priority, and moves on from one that fails, only under it.
    dvb = read(j("d1", "manifest.mpd")).replace("<MPD ", "<MPD %s " % DVB, 1).replace(
        'profiles="', 'profiles="urn:dvb:dash:profile:dvb-dash:2014,', 1)
    write(j("d6", "manifest.mpd"), with_base_urls(dvb, (
        '<BaseURL serviceLocation="gone" dvb:priority="1" dvb:weight="1">@ORIGIN@/plain/d6/gone/</BaseURL>'
        '<BaseURL serviceLocation="here" dvb:priority="2" dvb:weight="1">@ORIGIN@/plain/d1/</BaseURL>')))

    for copy in ("dv1", "dv2"):
        os.makedirs(j(copy))
        for representation in ("0", "1"):
            os.symlink(j("d1", representation), j(copy, representation))
        write(j(copy, "subs.vtt"), VTT)
        write(j(copy, "manifest.mpd"), read(j("d1", "manifest.mpd")).replace("\t</Period>", (
            '\t\t<AdaptationSet id="2" contentType="text" mimeType="text/vtt" lang="en">\n'
            '\t\t\t<Representation id="subs" bandwidth="256"><BaseURL>subs.vtt</BaseURL></Representation>\n'
            "\t\t</AdaptationSet>\n\t</Period>"), 1))
    os.makedirs(j("d12"))
    for representation in ("0", "1"):
        os.symlink(j("d1", representation), j("d12", representation))
    write(j("d12", "manifest.mpd"), read(j("d1", "manifest.mpd")).replace("\t\t<AdaptationSet id=\"0\"", (
        '\t\t<SupplementalProperty schemeIdUri="urn:mpeg:dash:urlparam:2014" '
        'xmlns:up="urn:mpeg:dash:schema:urlparam:2014"><up:UrlQueryInfo useMPDUrlQuery="true"/>'
        "</SupplementalProperty>\n\t\t<AdaptationSet id=\"0\""), 1))


def with_base_urls(text, mpd_level, period_level="", adaptation_level=""):
    """An MPD with BaseURLs added at the MPD, Period and AdaptationSet levels."""
    text = text.replace("\t<Period", "\t%s\n\t<Period" % mpd_level, 1)
    text = re.sub(r"(<Period[^>]*>)", lambda m: m.group(1) + period_level, text, count=1)
    return re.sub(r"(<AdaptationSet[^>]*>)", lambda m: m.group(1) + adaptation_level, text)


def mp4_boxes(path):
    """(offset, size, type) of the top-level boxes of an MP4 file."""
    with open(path, "rb") as file:
        data = file.read()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size < 8:
            break
        boxes.append((offset, size, kind))
        offset += size
    return boxes


def write(path, text):
    with open(path, "w") as file:
        file.write(text)


def read(path):
    with open(path) as file:
        return file.read()


def media_bytes(root, fixture):
    """Bytes of the media files (not the MPD) a fixture's player must fetch."""
    total = 0
    for folder, _, files in os.walk(os.path.join(root, fixture), followlinks=True):
        total += sum(os.path.getsize(os.path.join(folder, name)) for name in files
                     if name.endswith((".m4s", ".mp4")))
    return total


# ---------------------------------------------------------------------------
# The live MPD: d2's media, made available as time passes
# ---------------------------------------------------------------------------

def live_mpd(server, name):
    """d2 as a live MPD (type="dynamic") named ``name`` (one per case, each
    with a clock of its own: "<case>-http-iso" or "<case>-http-head"): its
    segments become available one every SEGMENT seconds from the name's first
    request; publishTime is now; the origin's own URL as its Location;
    UTCTiming by the scheme the name ends with (CLOCKS)."""
    clock = "http-head" if name.endswith("http-head") else "http-iso"
    with server.lock:  # a few segments out at once, and LIVE_SECONDS of them from there
        started = server.dash_started.setdefault(name, time.time() - 3 * SEGMENT)
    iso = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(  # noqa: E731
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    text = read(os.path.join(server.root, "d2", "manifest.mpd"))
    text = re.sub(r'type="static"\s+mediaPresentationDuration="[^"]*"', (
        'type="dynamic" availabilityStartTime="%s" publishTime="%s" minimumUpdatePeriod="PT%dS" '
        'timeShiftBufferDepth="PT20S" suggestedPresentationDelay="PT4S"') % (iso(started), iso(time.time()),
                                                                            SEGMENT), text, count=1)
    location = "<Location>%s/dashlive/%s.mpd</Location>" % (server.base, name)
    timing = '<UTCTiming schemeIdUri="urn:mpeg:dash:utc:%s:2014" value="%s"/>' % (clock, CLOCKS[clock])
    text = text.replace("\t<Period", "\t%s\n\t<Period" % location, 1)
    return text.replace("</MPD>", "\t%s\n</MPD>" % timing)


def publish_age(text):
    """Seconds since a live MPD's publishTime."""
    stamp = re.search(r'publishTime="([^"]+)"', text).group(1)
    published = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return time.time() - published.timestamp()


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

#: (name, origin path, the directory of its media) of every VOD fixture.
FIXTURES = [
    ("SegmentTemplate with SegmentTimeline, sub-directories", "/plain/d1/manifest.mpd", "d1"),
    ("SegmentBase, one file, seeking", "/plain/d3/manifest.mpd", "d3"),
    ("SegmentList", "/plain/d4/manifest.mpd", "d4"),
    ("BaseURLs at three levels across two origins", "/plain/d5/manifest.mpd", "d5"),
    ("two BaseURLs, the first fails", "/plain/d6/manifest.mpd", "d1"),
    ("MPD redirected (302) to another directory", "/redirect/d1/manifest.mpd", "d1"),
    ("Referer-gated origin", "/referer/d1/manifest.mpd", "d1"),
    ("query-token MPD with UrlQueryInfo", "/token/d12/manifest.mpd?tok=e2e", "d12"),
]


def browser_cases(page_url, proxy, origin, quote):
    """The dash.js and Shaka cases for run_browser (player.mjs's "dash" expectations)."""
    o, cases = origin.base, []
    for player in ("dashjs", "shaka"):
        page = "%s/dash.html?player=%s&src=" % (page_url, player)
        cases.append({"name": "%s: control: origin direct fails on CORS" % player,
                      "page": page + quote(o + "/plain/d1/manifest.mpd", safe=""), "expect": "fatal", "timeout": 20})
        for name, path, fixture in FIXTURES:
            options = {"referer": "https://allowed.example/"} if path.startswith("/referer/") else {}
            extra = "&seek=5" if "/d3/" in path else ""
            cases.append({"name": "%s: %s" % (player, name), "expect": "dash", "timeout": 40,
                          "seek": 5 if extra else 0, "fixture": fixture,
                          "page": page + quote(proxy.url(o + path, **options), safe="") + extra})
        copy = "dv1" if player == "dashjs" else "dv2"
        cases.append({"name": "%s: WebVTT sidecar" % player, "expect": "dash", "texts": 1, "timeout": 40,
                      "fixture": copy, "page": page + quote(proxy.url(o + "/plain/%s/manifest.mpd" % copy), safe="")})
        for clock in ("http-iso", "http-head"):
            cases.append({"name": "%s: live MPD the origin updates, Location, UTCTiming %s" % (player, clock),
                          "expect": "dash-live", "timeout": 60, "live": "%s-%s" % (player, clock),
                          "page": page + quote(proxy.url(o + "/dashlive/%s-%s.mpd" % (player, clock)), safe="")})
    return cases


def native_players(ffmpeg9):
    """(name, command for a URL) of the players outside the browser: each reads
    the stream to its end as fast as it may, with no window and no sound."""
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []  # VLC will not run as root
    players = [
        ("ffmpeg (Debian)", lambda url: ["ffmpeg", "-nostdin", "-v", "error", "-i", url, "-map", "0", "-f", "null",
                                         "-"]),
        ("ffmpeg 9", lambda url: [ffmpeg9, "-nostdin", "-v", "error", "-i", url, "-map", "0", "-f", "null", "-"]),
        ("GStreamer playbin3", lambda url: ["gst-launch-1.0", "-q", "playbin3", "uri=" + url,
                                            "video-sink=fakesink sync=false", "audio-sink=fakesink sync=false"]),
        ("VLC", lambda url: as_user + ["cvlc", "-q", "--play-and-exit", "--aout", "dummy", "--vout", "dummy",
                             "--rate", "8", url]),
        ("mpv", lambda url: ["mpv", "--no-config", "--really-quiet", "--vo=null", "--ao=null", "--ao-null-untimed",
                             "--untimed", url]),
    ]
    return [(name, command) for name, command in players if shutil.which(_program(command("x")))]


def _program(command):
    """The player a command runs (past runuser's arguments)."""
    return command[command.index("--") + 1] if "--" in command[:4] else command[0]


def run_native(command, seconds=30, live=False):
    """Run a player to its end (a live stream: for ``seconds``, then stop it);
    return (ok, what it said). Its whole process group is stopped, by its pid."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                               start_new_session=True, env=dict(os.environ, GST_DEBUG="0", HOME=tempfile.gettempdir()))
    try:
        output, _ = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=10)
        return live, ("played until stopped after %d s" if live else "still running after %d s") % seconds
    said = output.strip().splitlines()
    return process.returncode == 0, "exit %d%s" % (process.returncode, (": " + said[-1][:200]) if said else "")
