"""The e2e suite's IPTV channel list (issue 23, part 1): a list whose channels
sit behind the origin's Referer gate and get the header in each of the three
conventions lists use (VLC's #EXTVLCOPT, #EXTHTTP, a Kodi suffix). Each channel
of the proxied list is read to its end by ffmpeg 5.1 and ffmpeg 9; straight
from the list, without the header, the origin refuses them.
"""

import os
import re

REFERER = "https://allowed.example/"

#: (what, the entry's option line or "", the channel's path on the origin, a Kodi suffix or "").
CHANNELS = [
    ("#EXTVLCOPT", "#EXTVLCOPT:http-referrer=" + REFERER, "/referer/a/index.m3u8", ""),
    ("#EXTHTTP", '#EXTHTTP:{"Referer": "%s", "User-Agent": "IPTV e2e"}' % REFERER, "/referer/c/index.m3u8", ""),
    ("a Kodi suffix", "", "/referer/b/index.m3u8", "|Referer=https%3A%2F%2Fallowed.example%2F&User-Agent=Kodi"),
]


def make_channel_list(root, write):
    """plain/iptv/list.m3u: @ORIGIN@ stands for the origin's base URL (the origin fills it in)."""
    os.makedirs(os.path.join(root, "iptv"))
    lines = ['#EXTM3U url-tvg="@ORIGIN@/plain/iptv/guide.xml"']
    for number, (what, option, path, suffix) in enumerate(CHANNELS, 1):
        lines.append('#EXTINF:-1 tvg-id="ch%d" tvg-logo="https://img.invalid/%d.png" group-title="e2e",%s'
                     % (number, number, what))
        if option:
            lines.append(option)
        lines.append("@ORIGIN@" + path + suffix)
    write(os.path.join(root, "iptv", "list.m3u"), "\r\n".join(lines) + "\r\n")
    write(os.path.join(root, "iptv", "guide.xml"), '<?xml version="1.0"?>\n<tv><channel id="ch1"/></tv>\n')


def channel_urls(text):
    """The proxied channel URLs of a rewritten list, in order."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def guide_url(text):
    return re.search(r'url-tvg="([^"]+)"', text).group(1)
