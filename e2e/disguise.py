"""The e2e suite's disguised segments (issue 23, part 3): fixture (a)'s MPEG-TS
segments behind the prefixes hosts use to pass them off as images, named as
images, styles or pages; played through hlsproxy by hls.js, ffmpeg 5.1 and
ffmpeg 9, and refused by ffmpeg straight from the origin. And the kinds that
must pass untouched: genuine TS, fMP4, AAC audio, a key, byte for byte.
"""

import hashlib
import os
import re

#: A complete 1x1 PNG (70 bytes): what hosts put before every segment (Gujal00/ResolveURL#1474).
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c636000000002000154a24f5d0000000049454e44ae426082")[:70]
#: (directory, name of each segment, prefix) of each disguise.
DISGUISES = [
    ("png70", "seg%d.png", PNG_1X1),
    ("png-ff", "seg%d.jpg", (PNG_1X1 + b"\xff" * 0x178)[:0x178]),  # first real sync byte at 0x178 (streamlink#7055)
    ("jpeg", "seg%d.css", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 117),
    ("gif", "seg%d.gif", b"GIF89a\x01\x00\x01\x00" + b"\x00" * 54),
]


def make_disguised_fixtures(root, read, write):
    """disguised/<directory>/index.m3u8 for each of DISGUISES, from fixture (a)."""
    playlist = read(os.path.join(root, "a", "index.m3u8"))
    for directory, name, prefix in DISGUISES:
        folder = os.path.join(root, "disguised", directory)
        os.makedirs(folder)
        for number in range(len(re.findall(r"^seg\d+\.ts$", playlist, flags=re.MULTILINE))):
            with open(os.path.join(root, "a", "seg%d.ts" % number), "rb") as file:
                data = file.read()
            with open(os.path.join(folder, name % number), "wb") as file:
                file.write(prefix + data)
        write(os.path.join(folder, "index.m3u8"),
              re.sub(r"^seg(\d+)\.ts$", lambda m, name=name: name % int(m.group(1)), playlist, flags=re.MULTILINE))


def browser_cases(page_url, proxy, origin, quote):
    """hls.js plays each disguise through the proxy (player.mjs's "play")."""
    return [{"name": "browser: TS disguised behind %s" % directory, "expect": "play", "timeout": 30,
             "page": page_url + quote(proxy.url(origin.base + "/plain/disguised/%s/index.m3u8" % directory), safe="")}
            for directory, _, _ in DISGUISES]


#: (what, origin path) of the fixtures whose proxied media must equal the origin's bytes.
UNTOUCHED = [("TS", "/plain/a/index.m3u8"), ("AES-128 TS and its key", "/plain/b/index.m3u8"),
             ("fMP4 and its init section", "/plain/c/index.m3u8"), ("AAC rendition", "/plain/d/audio/en/index.m3u8")]


def untouched(proxy, origin, get):
    """(what, ok, detail) for each of UNTOUCHED: every URI of the proxied playlist
    fetched through the proxy, its bytes compared with the origin's."""
    results = []
    for what, path in UNTOUCHED:
        status, _, playlist = get(proxy.url(origin.base + path))
        uris = [line for line in playlist.decode().splitlines() if line and not line.startswith("#")]
        uris += re.findall(r'URI="([^"]+)"', playlist.decode())
        differing, directory = [], path.rsplit("/", 1)[0]
        for uri in uris:
            proxied = get(uri)[2]
            upstream = get(origin.base + directory + "/" + uri.rsplit("/", 1)[1].split("?")[0])[2]
            if hashlib.sha256(proxied).digest() != hashlib.sha256(upstream).digest():
                differing.append(uri.rsplit("/", 1)[1])
        results.append((what, status == 200 and uris and not differing,
                        "%d files through the proxy, %s" % (len(uris), "differing: %s" % differing if differing
                                                            else "each byte-identical to the origin's")))
    return results
