#!/usr/bin/env python3
"""hlsproxy: a CORS proxy for HLS and MPEG-DASH streams, in one standard-library file.

Browser players (hls.js, video.js, Shaka, dash.js, Safari) cannot play a stream whose
server sends no CORS headers, wants a Referer, or lives on another origin. hlsproxy
fetches the stream for them: playlists and MPDs are rewritten so that every URL in
them routes back through the proxy, everything else (segments, keys, init sections,
subtitles) streams through, and every answer carries the CORS headers players need.

Run it::

    python3 hlsproxy.py --port 8000
    # then play http://127.0.0.1:8000/proxy?url=<percent-encoded playlist or MPD URL>

Use it as a library::

    import hlsproxy
    server = hlsproxy.make_server(hlsproxy.Config(port=0, allow_private=True))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ...
    server.shutdown(); server.server_close()

    hlsproxy.rewrite_playlist(text, "https://cdn.example/live/index.m3u8",
                              lambda url: "https://me.example/p?u=" + url)

The file reads top to bottom, in the order data flows, each section under a
heading that says what it holds: errors, header tables and configuration; HLS's
URI tables, the proxy-URL codec, redaction, the playlist, channel-list and MPD
rewriters; the threads' shared pieces, the cache and its policy, HTTP framing
(all pure, but for the threads); then the upstream side (address guard, SOCKS, cookies, the
pool and opener, answers), flights and the fetcher, the diagnosis, metrics,
the client writer, the page, the HTTP handler and the server, and last the
command line. Importing it does nothing visible: no thread, no socket, no
logging configuration.

Design note: threads, locks, and where a request may block
----------------------------------------------------------
Threads. The server's thread accepts connections and never waits: past
--max-connections a connection is answered 503 at once. Each connection gets a
handler thread (ThreadingHTTPServer's way) that reads its requests and writes
their answers. Each shared media fetch gets a pump thread (Fetcher._pump) that
reads the upstream into a Flight and nothing else; so does each shared live
TS channel (Fetcher._pump_channel), for as long as the channel lasts. Handler and pump threads are
kept idle for 30 s after their job, for the next one, at most 8 of each kind
(_Workers.max_spare); the rest end at once. Up to four prefetch workers start
fetches nobody reads yet. One watchdog thread cuts
connections whose request head is late (slowloris) and closes refused
connections a moment after their 503.

Producers never wait on consumers. A pump appends to its Flight as fast as the
upstream sends; every request for that object, the one that started the fetch
included, reads the Flight by offset at its own pace. A client that stops
reading blocks only its own handler thread, until its own timeout
(--idle-timeout without progress) ends it. A live channel's Flight keeps only
its last --channel-buffer-mb: a viewer the ring has left behind goes on from
the newest PAT (Flight.read_from), the pump never knowing.

Locks, each held for a few dict or list operations, never across I/O. The
rules hold with the GIL and without it (free-threaded 3.13t, -X gil=0): every
shared structure below is changed only under its lock, and what is read without
one is a single dict read or one attribute, atomic in both builds. The keys of
the dicts every request reads (cache, flights, memos) are stored as
``_shared_key`` copies, or on 3.13t each read would take the dict's own lock.
- TTLCache._lock: the entries and the byte count. A hit reads the dict without
  it, and takes it only to move an entry it has not moved for a second (the
  entry's ``used`` stamp: a race there only blurs the order within a second).
- _Flights._lock: the fetches under way. Each Flight's condition: its state and
  chunks (consumers wait on it for bytes; the pump alone appends), and a live
  channel's ring, PAT offsets, viewer count and last wake-up.
- _ConnectionPool._lock: idle upstream connections (a connection is used by one
  request at a time: taken out under the lock, given back under it).
- _ThreadCounts._lock: the threads' tallies and what ended threads left;
  each tally (Metrics' counters, _Connections._requests: the requests in
  flight) is written by its own thread alone, with no lock, and copied whole
  by a reader. Metrics._lock: its latency histogram.
- _BoundedMemo._lock: puts into the parse, target-duration and too-large memos
  (gets read the dict without it; a reset swaps in a new dict whole).
- Fetcher._lock: the prefetch worker list, the copies' serials (a serial
  names one kept copy: two alike would hand one copy's rewrite to another),
  and the count of live channels shared (--max-channels).
- _Workers._lock: its idle count, beside its queue. Turnstile._lock: slots and
  waiters (which thread holds a turn is that thread's own: a threading.local).
  _Connections._lock: watched and refused connections.
No lock: _ServerCertificate (--tls-cert), whose only caller is the accepting
thread; a ClientWriter and its handler, their connection's own; each upstream
request's cookie jar and redirect list, its own; the functools.lru_cache memos
(token state, Cache-Control directives), thread-safe in both builds. A
Diagnosis runs on its handler's thread alone. CI runs the unit tests on 3.13t
with -X gil=0 too.

Where a request may block, always without a turn: the TLS handshake and
reading its head and body (under the watchdog's deadline), an upstream connect
and read (--timeout), a wait on a Flight (its header, then each byte: max(30, 3 x --timeout) between
events), a write to its client that the socket will not take (--idle-timeout),
and a /diagnose walk (at most 30 upstream requests, max(20, 4 x --timeout) s).
A live channel's viewer waits on its Flight for as long as the channel lasts,
and a request refused where an unwatched channel held the provider's one
connection waits for that channel's pump to close it (--timeout) and asks
again (1.4 s of pauses at most).

Why the turnstile. CPython's GIL goes to whichever thread grabs it first, and a
thread coming back from a socket call usually wins; with a couple of hundred
busy viewers some answers waited seconds while the median waited 30 ms. So
handlers serve cache hits and write to clients in FIFO turns (Turnstile). A
turn is a thread's, and every call that may block gives the caller's turn back
itself, just before it would wait: Fetcher.open, a Flight's waits, an
UpstreamBody's reads, a long rewrite (all through the Fetcher's
before_blocking), and the ClientWriter while a client's socket is full. The
handler takes a turn to answer, and gives it back before reading a request
body. Under the GIL there is one turn; a free-threaded build has one more than
its cores (_turn_slots).

Memory. Everything kept is a counted entry of the one TTLCache (bodies, and the
rewrites of kept playlists) or has a fixed bound: the memos (1 MiB of keys
each), a Flight's chunks while it streams (at most --cache-max-object-mb, one
flight per object), a live channel's ring (--channel-buffer-mb, for at most
--max-channels channels: a budget of its own, not --cache-mb's, as a ring is
live and neither evicts nor is evicted by what is kept), and per connection a
few buffers (a viewer holds at most 256 KiB of its channel's, being sent).

It needs Python 3.8 or newer and nothing outside the standard library, so the
file can be copied onto a router, a NAS box or an old VM and run as it is.

Copyright (c) 2026 the hlsproxy authors. MIT License:

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in the
Software without restriction, including without limitation the rights to use,
copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the
Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions: the above copyright notice and this
permission notice shall be included in all copies or substantial portions of the
Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS
OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

import sys

if sys.version_info < (3, 8):  # checked before anything newer is imported
    _TOO_OLD = "hlsproxy needs Python 3.8 or newer; this is Python %d.%d" % sys.version_info[:2]
    raise SystemExit(_TOO_OLD) if __name__ == "__main__" else ImportError(_TOO_OLD)

import argparse
import base64
import binascii
import bisect
import dataclasses
import difflib
import email.utils
import functools
import hashlib
import hmac
import http.client
import http.cookiejar
import io
import ipaddress
import itertools
import json
import logging
import os
import queue
import re
import select
import signal
import socket
import socketserver
try:
    import ssl
except ImportError:  # pragma: no cover - Python built without ssl
    ssl = None
import threading
import time
import types
import urllib.error
import urllib.request
import weakref
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections import OrderedDict, deque
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

__version__ = "0.1.0"
__all__ = [
    # errors and configuration
    "HlsProxyError", "BadRequest", "Forbidden", "UpstreamError", "Config", "ConfigError", "parse_header_line",
    # the proxy-URL codec
    "ProxyTarget", "StreamCookie", "OPTION_PARAMETERS", "make_proxy_url", "parse_proxy_path", "host_allowed",
    "validate_upstream_url",
    # the playlist rewriter
    "HLS_CONTENT_TYPES", "URI_ATTRIBUTE_TAGS", "URI_KINDS", "URI_KIND_EXTENSIONS", "RECOGNISED_EXTENSIONS",
    "is_playlist", "rewrite_playlist", "rewrite_json_document", "playlist_max_age", "playlist_target_duration",
    "playlist_uris",
    # the MPD rewriter
    "DISGUISE_EXTENSIONS", "DISGUISE_WINDOW", "disguise_offset", "TS_PACKET", "is_live_ts", "pat_offsets",
    "VLC_HEADER_OPTIONS", "rewrite_channel_list",
    "MPD_LEVELS", "MPD_URL_ATTRIBUTES", "MPD_URL_ELEMENTS", "MPD_URL_SCHEMES", "rewrite_mpd", "mpd_max_age",
    "mpd_segments",
    # the cache and its policy, CORS
    "Resource", "CacheEntry", "TTLCache", "DocumentKind", "MEDIA", "DOCUMENT_KINDS", "kind_lifetime", "may_share",
    "cache_ttl", "client_cache_control", "EXPOSED_HEADERS", "cors_headers",
    # HTTP framing and conditions
    "RequestHead", "parse_request_head", "read_request_head", "discard_request_body", "check_response_framing",
    "not_modified", "if_range_matches", "byte_range", "is_part_of_a_body", "requested_range",
    # upstream
    "HOP_BY_HOP_HEADERS", "FORWARDED_REQUEST_HEADERS", "FORWARDED_RESPONSE_HEADERS", "FORBIDDEN_UPSTREAM_HEADERS",
    "check_address", "strip_hop_by_hop", "upstream_request_headers", "open_upstream", "UpstreamBody",
    "Flight", "Fetcher", "Diagnosis",
    # the client side, the handler and the server
    "Turnstile", "ClientWriter", "Metrics", "ProxyHandler", "ProxyServer", "make_server", "render_page",
    "forwarded_base", "redacted", "serve_until_signalled", "serve_prefork",
    # the command line
    "main", "sign_main",
]

_logger = logging.getLogger("hlsproxy")
_access_logger = logging.getLogger("hlsproxy.access")  # one line per request, at INFO


# ---------------------------------------------------------------------------
# Errors: each carries the HTTP answer the client gets
# ---------------------------------------------------------------------------

class HlsProxyError(Exception):
    """An error that ends a request with ``status`` and a one-line ``reason``.

    ``headers`` go out with the answer: ``Allow`` on a 405, an upstream 416's
    ``Content-Range``, an upstream ``Retry-After``.
    """

    status = HTTPStatus.BAD_GATEWAY

    def __init__(self, reason: str, status: Optional[int] = None,
                 headers: Tuple[Tuple[str, str], ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.headers = headers
        if status is not None:
            self.status = status


class BadRequest(HlsProxyError):
    """The client's request cannot be served as asked (400)."""

    status = HTTPStatus.BAD_REQUEST


class Forbidden(HlsProxyError):
    """The upstream is not one this proxy may reach (403)."""

    status = HTTPStatus.FORBIDDEN


class UpstreamError(HlsProxyError):
    """The upstream failed: unreachable (502), too slow (504), or its own status.

    ``upstream_status`` is the status the upstream answered with, when it
    answered at all (None when it was unreachable, too slow or spoke no HTTP).
    """

    def __init__(self, reason: str, status: Optional[int] = None,
                 headers: Tuple[Tuple[str, str], ...] = (), upstream_status: Optional[int] = None) -> None:
        super().__init__(reason, status, headers)
        self.upstream_status = upstream_status


# ---------------------------------------------------------------------------
# HTTP headers: which go where, and who may set them
#
# Tables, not scattered checks: a header is forwarded, exposed or refused
# because it is in one of these, and strip_hop_by_hop is the one place that
# drops the hop-by-hop ones, in both directions.
# ---------------------------------------------------------------------------

#: Headers that describe one connection, not the message (RFC 9110 section 7.6.1).
#: Never forwarded in either direction; ``strip_hop_by_hop`` is the one place
#: that removes them.
HOP_BY_HOP_HEADERS = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
})

#: Client request headers passed upstream. An allowlist: cookies, the
#: browser's own Origin and Referer, and credentials for the proxy's origin
#: must not leak to the upstream server.
FORWARDED_REQUEST_HEADERS = ("Range", "If-Range", "Accept", "Accept-Language",
                             "User-Agent", "X-Playback-Session-Id",
                             # Common Media Client Data (CTA-5004): for the CDN, never part of a key.
                             "CMCD-Request", "CMCD-Object", "CMCD-Status", "CMCD-Session")

#: Upstream response headers passed to the client with media. An allowlist too:
#: Set-Cookie, upstream CORS headers and HSTS are not ours to pass on. The
#: framing and caching headers (Content-Type, -Length, -Range, Accept-Ranges,
#: Cache-Control) the proxy decides itself.
FORWARDED_RESPONSE_HEADERS = frozenset({
    "last-modified", "etag", "content-disposition", "content-language",
})

#: Headers players need to read, and that browsers hide cross-origin unless
#: they are listed (hls.js reads Age to estimate live latency).
EXPOSED_HEADERS = "Age, Content-Length, Content-Range, Accept-Ranges, Date, X-Cache"

#: Headers a client may not set per URL or with --header: they frame the
#: message or address the hop, and the proxy owns them.
FORBIDDEN_UPSTREAM_HEADERS = HOP_BY_HOP_HEADERS | frozenset({
    "host", "content-length", "expect",
})
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_header_line(line: str) -> Tuple[str, str]:
    """Parse ``"Name: value"`` into a pair, refusing what could inject or reframe."""
    name, sep, value = line.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not _HEADER_NAME.match(name):
        raise BadRequest("header must look like 'Name: value'")  # the value is not echoed: it may be secret
    if any(c in value for c in "\r\n\0"):
        raise BadRequest("header %s has a line break or NUL in its value" % name)
    if name.lower() in FORBIDDEN_UPSTREAM_HEADERS or name.lower().startswith("proxy-"):
        raise BadRequest("header %s is managed by the proxy and cannot be set" % name)
    return name, value


def strip_hop_by_hop(headers: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """Drop hop-by-hop headers, and those a Connection header names."""
    named = set(HOP_BY_HOP_HEADERS)
    for name, value in headers:
        if name.lower() == "connection":
            named.update(token.strip().lower() for token in value.split(","))
    return [(name, value) for name, value in headers if name.lower() not in named]


# ---------------------------------------------------------------------------
# Configuration
#
# Each setting is stated once, as a Config field: its default, its check and its
# help. The command line (one flag per field, --cache-mb for cache_mb) and the
# environment (HLSPROXY_CACHE_MB) are built from the fields, and every value,
# from a flag, the environment or a library caller, passes the same checks in
# Config.__post_init__.
# ---------------------------------------------------------------------------

class ConfigError(ValueError):
    """A setting that cannot work, with the field it is about."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__("%s %s" % (field, problem))
        self.field = field
        self.problem = problem


def _setting(default, help: str, check: Callable[[str, object], object], metavar: Optional[str] = None,  # noqa: A002
             shown: Optional[str] = None, aliases: Tuple[str, ...] = (), secret: bool = False):
    """A Config field. ``check(name, value)`` returns the value to keep (normalised)
    or raises ConfigError; ``shown`` is the default as --help states it; ``aliases``
    are older flag spellings, still accepted (as flags and as HLSPROXY_ names)."""
    metadata = {"help": help, "check": check, "metavar": metavar, "shown": shown, "aliases": aliases}
    return dataclasses.field(default=default, repr=not secret, metadata=types.MappingProxyType(metadata))


def _number(low: float, high: Optional[float] = None, above: bool = False, whole: bool = False,
            optional: bool = False) -> Callable[[str, object], object]:
    """A check: a (whole) number from ``low`` (or above it) up to ``high``."""
    kind, shown = ("a whole number", "%d") if whole else ("a number", "%g")
    if high is not None:
        words = ("%s from " + shown + " to " + shown) % (kind, low, high)
    else:
        words = ("%s %s " + shown) % (kind, "above" if above else "of at least", low)

    def check(name: str, value):
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) \
                or not -float("inf") < value < float("inf") or value < low or (above and value == low) \
                or (high is not None and value > high):
            raise ConfigError(name, "must be %s, not %r" % (words, value))
        return value
    return check


def _flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(name, "must be True or False, not %r" % (value,))
    return value


def _one_of(*choices: str) -> Callable[[str, object], object]:
    def check(name: str, value):
        if value not in choices:
            raise ConfigError(name, "must be one of %s, not %r" % (", ".join(choices), value))
        return value
    return check


def _text(pattern: str, words: str, optional: bool = False, secret: bool = False) -> Callable[[str, object], object]:
    """A check: a string that matches ``pattern`` in full (``words`` says what that
    means). A secret's value is never repeated in the error."""
    compiled = re.compile(pattern)

    def check(name: str, value):
        if value is None and optional:
            return None
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ConfigError(name, "must be %s%s" % (words, "" if secret else ", not %r" % (value,)))
        return value
    return check


def _many(each: Callable[[str, object], object]) -> Callable[[str, object], object]:
    """A check: a tuple (a list is taken too) whose every item passes ``each``."""
    def check(name: str, value):
        if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
            raise ConfigError(name, "must be a tuple of values, not %r" % (value,))
        return tuple(each(name, item) for item in value)
    return check


def _http_url(schemes: Tuple[str, ...], path: bool, optional: bool = True) -> Callable[[str, object], object]:
    """A check: an absolute URL of one of ``schemes``, with a path only if ``path``;
    kept without a trailing slash. A refusal repeats the value without its
    user name and password (a SOCKS proxy's login is a secret)."""
    words = "an absolute %s URL%s" % ("/".join(schemes), "" if path else " with no path, like http://HOST:PORT")

    def check(name: str, value):
        if value is None and optional:
            return None
        try:
            parts = urlsplit(value.strip())
            good = parts.scheme in schemes and bool(parts.hostname) and (parts.port or 0) >= 0
        except (AttributeError, ValueError):  # not a string; a port that is not a number
            good = False
        if not good or parts.query or parts.fragment or (not path and parts.path not in ("", "/")) \
                or any(c.isspace() for c in value.strip()):
            raise ConfigError(name, "must be %s, not %r" % (words, _without_login(value)))
        return value.strip().rstrip("/")
    return check


def _without_login(value):
    """``value`` with any ``user:password@`` after its scheme cut out (a URL
    that does not parse may still hold one)."""
    if not isinstance(value, str) or "@" not in value:
        return value
    login_and_before, _, after = value.rpartition("@")
    scheme, separator, _ = login_and_before.partition("://")
    return (scheme + separator if separator else "") + "…@" + after


def _readable_file(name: str, value):
    """A check: None, or the path of a file this process can read."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(name, "must be a file path, not %r" % (value,))
    if not os.path.isfile(value):
        raise ConfigError(name, "must be a file that exists: %s is not one" % value)
    if not os.access(value, os.R_OK):
        raise ConfigError(name, "must be a file this user can read: %s is not" % value)
    return value


def _upstream_proxy(name: str, value):
    value = _http_url(("http", "socks5", "socks5h"), path=False)(name, value)
    if value is not None:
        parts = urlsplit(value)
        if parts.username is not None and parts.scheme == "http":
            raise ConfigError(name, "takes a user name and password for SOCKS only")
        if any(len(unquote(part or "x").encode("utf-8")) > 255 or not unquote(part or "x")
               for part in (parts.username, parts.password)):
            raise ConfigError(name, "has a user name or password that SOCKS cannot carry (1 to 255 bytes each)")
    return value


#: Where the page at / loads hls.js from when the browser cannot play HLS itself,
#: and dash.js from for MPEG-DASH (no browser plays it itself).
_DEFAULT_HLSJS_URL = "https://cdn.jsdelivr.net/npm/hls.js@1.7.4/dist/hls.min.js"
_DEFAULT_DASHJS_URL = "https://cdn.jsdelivr.net/npm/dashjs@5.2.1/dist/modern/umd/dash.all.min.js"


def _script_url(name: str, value):
    if value is None or isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return _http_url(("http", "https"), path=True)(name, value)


def _header_pair(name: str, value) -> Tuple[str, str]:
    """A header as ("Name", "value") or "Name: value", under --headers' rules."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(part, str) for part in value):
        value = "%s: %s" % tuple(value)
    if not isinstance(value, str):
        raise ConfigError(name, "must hold ('Name', 'value') pairs or 'Name: value' strings, not %r" % (value,))
    try:
        return parse_header_line(value)
    except BadRequest as error:
        raise ConfigError(name, "has a bad header: %s" % error.reason) from None


_ORIGIN = r"\*|null|https?://[^/\s?#]+"
_HOST_PATTERN = r"(\*\.)?[A-Za-z0-9_.:\[\]-]+"


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything the proxy needs to know, fixed at start, and checked whole:
    a bad value raises ConfigError (a ValueError) here, never at the first request.

    Tuples rather than lists (a list given is turned into one), so a Config
    really is immutable and can be shared between threads without a lock. The
    defaults are the safe ones: loopback only, no private upstreams.
    """

    host: str = _setting(
        "127.0.0.1", "address to listen on; 0.0.0.0 or :: to serve other machines",
        _text(r"[^\s/]+", "an address or name to listen on, like 127.0.0.1 or ::"), "ADDRESS")
    port: int = _setting(8000, "port to listen on; 0 picks a free one", _number(0, 65535, whole=True), "PORT")
    #: Base written into rewritten URIs; None derives it from the Host header.
    public_url: Optional[str] = _setting(
        None, "base URL written into rewritten playlists, e.g. https://video.example.com/hls",
        _http_url(("http", "https"), path=True), "URL", shown="http://<the request's Host>")
    #: Serve HTTPS with this certificate chain (PEM); the key is in ``tls_key``
    #: or, if that is None, in the same file. Reloaded when either file changes.
    tls_cert: Optional[str] = _setting(
        None, "serve HTTPS with this certificate chain (PEM), reloaded when the file changes (certbot "
              "renewals need no restart)", _readable_file, "FILE", shown="plain HTTP")
    tls_key: Optional[str] = _setting(
        None, "the private key of --tls-cert (PEM)", _readable_file, "FILE", shown="in the --tls-cert file")
    allow_private: bool = _setting(
        False, "allow upstreams on loopback, private, link-local and other non-public addresses "
               "(streams on this machine or your LAN)", _flag)
    allow_origins: Tuple[str, ...] = _setting(
        ("*",), "browser origin allowed to read answers, like https://app.example; repeatable",
        _many(_text(_ORIGIN, "*, null or an origin like https://app.example")), "ORIGIN", shown="*",
        aliases=("allow_origin",))
    allow_credentials: bool = _setting(
        False, "answer credentialed requests: echo the exact Origin with Allow-Credentials", _flag)
    #: Sent on every upstream request, as (name, value) pairs ("Name: value" is taken too).
    headers: Tuple[Tuple[str, str], ...] = _setting(
        (), "header sent on every upstream request (a Referer, a User-Agent, a Cookie); repeatable",
        _many(_header_pair), "'NAME: VALUE'", shown="none", aliases=("header",))
    timeout: float = _setting(10.0, "upstream connect and read timeout", _number(0, above=True), "SECONDS")
    cache_mb: float = _setting(256.0, "in-memory cache size; 0 turns caching off", _number(0), "MB")
    cache_max_object_mb: float = _setting(16.0, "larger objects stream through uncached", _number(0), "MB")
    #: Cache lifetime of master and VOD playlists, and of segments, keys and
    #: init sections, in seconds. Live playlists: half their target duration.
    playlist_ttl: float = _setting(
        300.0, "cache life of master and VOD playlists; live ones get half their target duration",
        _number(0), "SECONDS")
    segment_ttl: float = _setting(600.0, "cache life of segments, keys and init sections", _number(0), "SECONDS")
    max_connections: int = _setting(
        512, "concurrent client connections; more get 503 at once", _number(1, 1000000, whole=True), "N")
    idle_timeout: float = _setting(30.0, "close client connections idle this long", _number(0, above=True),
                                   "SECONDS")
    prefetch: int = _setting(
        0, "when a media playlist is served, fetch its next N uncached segments into the cache "
           "in the background", _number(0, 100, whole=True), "N")
    #: Live MPEG-TS channels (one endless body each) that viewers share: one
    #: upstream connection per channel, a ring of its last bytes for each.
    max_channels: int = _setting(
        8, "live MPEG-TS channels shared at once, one upstream connection each (each keeps "
           "--channel-buffer-mb); past it, each viewer of a new channel gets a connection of its own; 0: no sharing",
        _number(0, 10000, whole=True), "N")
    channel_buffer_mb: float = _setting(
        4.0, "what a shared live channel keeps of its latest bytes: a viewer that joins starts at its newest "
             "PAT, and one that falls behind it goes on from there", _number(0.01), "MB")
    channel_grace: float = _setting(
        5.0, "keep a shared live channel's upstream connection open this long after its last viewer leaves "
             "(a player's reconnect, a zap back)", _number(0), "SECONDS")
    workers: int = _setting(
        1, "processes sharing the listening socket (pre-fork; Linux and macOS); each has its own cache: the "
           "way to use every core on a GIL build, one per core (a free-threaded 3.13t build runs one process "
           "on every core with one cache: see README)",
        _number(1, 256, whole=True), "N")
    #: Upstream hosts allowed ("example.com", "*.cdn.example.net"); empty: any public host.
    allow_hosts: Tuple[str, ...] = _setting(
        (), "allow only this upstream host (example.com, *.cdn.example.net); repeatable; "
            "checked at every redirect too", _many(_text(_HOST_PATTERN, "a host name or *.domain pattern")),
        "PATTERN", shown="any public host", aliases=("allow_host",))
    #: With a secret, every proxied URL must carry its HMAC-SHA256 signature.
    secret: Optional[str] = _setting(
        None, "require HMAC-signed proxy URLs (see the 'sign' command); HLSPROXY_SECRET keeps it out of ps",
        _text(r"[^\r\n\0]+", "a non-empty key on one line", optional=True, secret=True), "KEY", shown="none",
        secret=True)
    #: Lifetime of the signed URLs the proxy writes, in seconds (None: no expiry).
    url_ttl: Optional[float] = _setting(
        None, "with --secret: the signed URLs the proxy writes expire after this long",
        _number(0, above=True, optional=True), "SECONDS", shown="never")
    #: A proxy for upstream requests: "http://10.0.0.1:3128", "socks5://[user:pass@]host:1080"
    #: (names resolved here) or "socks5h://…" (names resolved by the SOCKS proxy).
    upstream_proxy: Optional[str] = _setting(
        None, "send upstream requests through this proxy: http://HOST:PORT, socks5://[USER:PASS@]HOST:PORT "
              "(names resolved here) or socks5h://… (resolved by the SOCKS proxy)", _upstream_proxy, "URL",
        shown="none", secret=True)  # not in repr(): it may hold a SOCKS password
    #: Extra certificate authorities trusted for https upstreams (PEM), beside
    #: the system's (which SSL_CERT_FILE and SSL_CERT_DIR can replace).
    upstream_ca: Optional[str] = _setting(
        None, "also trust the certificate authorities in this PEM file for https upstreams (a private CA); "
              "SSL_CERT_FILE replaces the system's instead", _readable_file, "FILE", shown="the system's only")
    #: A larger playlist is refused (502): playlists are held in memory to be rewritten.
    max_playlist_mb: float = _setting(8.0, "refuse larger playlists with 502", _number(0, above=True), "MB")
    #: A request's line and headers must arrive within this many seconds (slowloris).
    header_timeout: float = _setting(10.0, "a request's line and headers must arrive within this long",
                                     _number(0, above=True), "SECONDS")
    #: On SIGTERM/SIGINT, how long requests in flight may take to finish.
    grace: float = _setting(10.0, "on SIGTERM or SIGINT, let requests in flight finish for up to this long",
                            _number(0), "SECONDS")
    #: Log lines as "text" or "json".
    log_format: str = _setting("text", "log lines on stderr as text or JSON", _one_of("text", "json"),
                               "text|json")
    #: When set, /metrics wants "Authorization: Bearer <token>".
    metrics_token: Optional[str] = _setting(
        None, "require 'Authorization: Bearer TOKEN' for /metrics",
        _text(r"[\x21-\x7e]+", "a non-empty token of visible ASCII, no spaces", optional=True, secret=True), "TOKEN",
        shown="open", secret=True)
    #: Take the public URL from X-Forwarded-Proto/Host/Prefix or Forwarded
    #: (only behind a reverse proxy that sets them; otherwise they are ignored).
    trust_forwarded: bool = _setting(
        False, "behind a reverse proxy: build rewritten URIs from X-Forwarded-Proto/Host/Prefix or "
               "Forwarded (otherwise those headers are ignored)", _flag)
    no_ui: bool = _setting(False, "no page at / (it answers 404)", _flag)
    hlsjs_url: Optional[str] = _setting(
        None, "where the page at / loads hls.js from (an http(s) URL or a /path)", _script_url, "URL",
        shown=_DEFAULT_HLSJS_URL)
    dashjs_url: Optional[str] = _setting(
        None, "where the page at / loads dash.js from, for MPEG-DASH (an http(s) URL or a /path)", _script_url,
        "URL", shown=_DEFAULT_DASHJS_URL)
    quiet: bool = _setting(False, "log warnings and errors only (no access log)", _flag)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = field.metadata["check"](field.name, getattr(self, field.name))
            object.__setattr__(self, field.name, value)  # normalised: tuples, no trailing slash
        if self.url_ttl is not None and self.secret is None:
            raise ConfigError("url_ttl", "needs a secret: unsigned URLs cannot expire")
        if self.tls_key is not None and self.tls_cert is None:
            raise ConfigError("tls_key", "needs --tls-cert, the certificate it is the key of")

    @property
    def max_playlist_bytes(self) -> int:
        return int(self.max_playlist_mb * 1024 * 1024)

    @classmethod
    def from_args(cls, argv: Optional[List[str]] = None,
                  environ: Optional[Dict[str, str]] = None) -> "Config":
        """Build a Config from command-line arguments (``sys.argv[1:]`` if None).

        Flags and fields have the same names (``--cache-mb`` is ``cache_mb``).
        Every flag may also come from ``environ`` (``os.environ`` if None):
        ``--cache-mb`` from HLSPROXY_CACHE_MB, and so on; a repeatable flag takes
        one value per line; a flag on the command line wins. An HLSPROXY_ name
        that is no flag's, a value that does not parse and one that Config
        refuses all end in argparse's usage error (exit status 2).
        """
        parser = _argument_parser()
        environ = os.environ if environ is None else environ
        args, sources = _parse_with_environment(parser, argv, environ)
        try:
            return cls(**args)
        except ConfigError as error:
            parser.error("%s %s" % (sources.get(error.field, _flag_name(error.field)), error.problem))


#: The words an HLSPROXY_ boolean may be, and what each means.
_ENVIRONMENT_BOOLEANS = types.MappingProxyType({
    "1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False})


def _flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def _environment_name(field: str) -> str:
    return "HLSPROXY_" + field.upper()


def _whole_number(text: str) -> int:
    if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        raise ValueError("%r is not a whole number" % text)
    return int(text)


def _decimal(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("%r is not a number" % text) from None


def _environment_boolean(text: str) -> bool:
    word = text.strip().lower()
    if word not in _ENVIRONMENT_BOOLEANS:
        raise ValueError("%r is not one of %s" % (text, ", ".join(_ENVIRONMENT_BOOLEANS)))
    return _ENVIRONMENT_BOOLEANS[word]


def _from_text(field: dataclasses.Field) -> Callable[[str], object]:
    """How a flag's (or an HLSPROXY_ variable's) text becomes the field's value."""
    kind = next((t for t in getattr(field.type, "__args__", ()) if t is not type(None)), field.type)  # Optional[X]
    if field.name == "headers":
        return functools.partial(_header_pair, "headers")
    return {bool: _environment_boolean, int: _whole_number, float: _decimal}.get(kind, str)


def _flag_type(field: dataclasses.Field) -> Callable[[str], object]:
    """_from_text for argparse, whose usage error shows an ArgumentTypeError's text as is."""
    to = _from_text(field)

    def convert(text: str):
        try:
            return to(text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(error.problem) from None
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return convert


class _OneLineParser(argparse.ArgumentParser):
    """argparse, with a refusal on one line of stderr (exit status 2) instead of
    the whole usage block before it, and a misspelt flag answered with the
    closest one, as a misspelt HLSPROXY_ name is."""

    def error(self, message: str):
        self.exit(2, "%s: error: %s\n" % (self.prog, message))

    def parse_args(self, args=None, namespace=None):
        known, unknown = self.parse_known_args(args, namespace)
        if unknown:
            flags = [flag for action in self._actions for flag in action.option_strings]
            close = difflib.get_close_matches(unknown[0].split("=", 1)[0], flags, n=1) \
                if unknown[0].startswith("--") else []
            self.error("unrecognized arguments: %s%s" % (
                " ".join(unknown), "; did you mean %s?" % close[0] if close else " (see --help)"))
        return known


def _argument_parser(fields: Optional[Tuple[str, ...]] = None, **settings) -> argparse.ArgumentParser:
    """A parser with one flag per Config field (or per field named in ``fields``),
    its help from the field: flag, alias, default and HLSPROXY_ name."""
    parser = _OneLineParser(**settings) if settings else _OneLineParser(
        prog="hlsproxy",
        usage="%(prog)s [--flag VALUE ...]\n       %(prog)s sign [--secret KEY] [--public-url URL] URL",
        description="A CORS proxy for HLS streams: play "
                    "http://HOST:PORT/proxy?url=<percent-encoded playlist URL>. "
                    "'hlsproxy sign URL' prints a signed proxy URL (see --secret).",
        epilog="Environment booleans are one of %s." % ", ".join(_ENVIRONMENT_BOOLEANS))
    for field in dataclasses.fields(Config):
        if fields is not None and field.name not in fields:
            continue
        meta = field.metadata
        names = [_flag_name(field.name)] + [_flag_name(alias) for alias in meta["aliases"]]
        environment = " [env %s]" % _environment_name(field.name)
        if isinstance(field.default, bool):
            parser.add_argument(*names, dest=field.name, action="store_true", default=None,
                                help=meta["help"] + environment)
            continue
        shown = meta["shown"] if meta["shown"] is not None else "%g" % field.default if isinstance(
            field.default, float) else str(field.default)
        repeatable = isinstance(field.default, tuple)
        parser.add_argument(*names, dest=field.name, action="append" if repeatable else "store",
                            type=_flag_type(field), default=None, metavar=meta["metavar"],
                            help="%s (default: %s)%s" % (meta["help"], shown.replace("%", "%%"), environment))
    if fields is None:
        parser.add_argument("--version", action="version", version="hlsproxy " + __version__)
    return parser


def _parse_with_environment(parser: argparse.ArgumentParser, argv: Optional[List[str]],
                            environ: Dict[str, str]) -> Tuple[Dict[str, object], Dict[str, str]]:
    """Parse ``argv``; a flag not given takes HLSPROXY_<FIELD> from ``environ`` (or
    an alias's name), else the field's default (it is then left out).

    Returns the values given, by field, and where each came from ("--port" or
    "HLSPROXY_PORT"), for error messages. An HLSPROXY_ name that is no flag's
    is refused, with the closest one suggested: a misspelt setting would
    otherwise be silently ignored.
    """
    fields = {field.name: field for field in dataclasses.fields(Config)}
    known = {}
    for field in fields.values():
        for name in (field.name,) + field.metadata["aliases"]:
            known[_environment_name(name)] = field.name
    for name in sorted(environ):
        if name.startswith("HLSPROXY_") and name not in known:
            close = difflib.get_close_matches(name[len("HLSPROXY_"):], [k[len("HLSPROXY_"):] for k in known], n=1)
            parser.error("%s is not a setting%s (see --help)" % (
                name, "; did you mean HLSPROXY_%s?" % close[0] if close else ""))
    args = {name: value for name, value in vars(parser.parse_args(argv)).items() if value is not None}
    sources = {name: _flag_name(name) for name in args}
    for name, field in fields.items():
        present = [variable for variable, owner in known.items() if owner == name and variable in environ]
        if name in args or not present or not any(action.dest == name for action in parser._actions):
            continue
        variable, text = present[0], environ[present[0]]
        try:
            to = _from_text(field)
            if isinstance(field.default, tuple):
                args[name] = tuple(to(line) for line in text.splitlines() if line.strip())
            else:
                args[name] = to(text)
        except ConfigError as error:
            parser.error("%s %s" % (variable, error.problem))
        except ValueError as error:
            parser.error("%s: %s" % (variable, error))
        sources[name] = variable
    return args, sources


# ---------------------------------------------------------------------------
# HLS: the tags that carry URIs, and what each URI is (tables)
#
# RFC 8216 and draft-pantos-hls-rfc8216bis as data: the rewriter finds URIs by
# URI_ATTRIBUTE_TAGS, names what each is by URI_KINDS, and the codec gives a
# proxied file the extension of its kind when upstream's name has none a
# player recognises.
# ---------------------------------------------------------------------------

#: Content types that make a response a playlist whatever its body looks like.
HLS_CONTENT_TYPES = frozenset({
    "application/vnd.apple.mpegurl",
    "application/x-mpegurl",
    "application/mpegurl",
    "audio/mpegurl",
    "audio/x-mpegurl",
})
_PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"

#: Tag -> the attributes of that tag that hold a URI (RFC 8216 section 4.3 and
#: draft-pantos-hls-rfc8216bis: LL-HLS, content steering, interstitials).
#: A table rather than a chain of ifs, so that adding a tag is one line.
URI_ATTRIBUTE_TAGS = types.MappingProxyType({
    "EXT-X-KEY": ("URI",),
    "EXT-X-SESSION-KEY": ("URI",),
    "EXT-X-MAP": ("URI",),
    "EXT-X-MEDIA": ("URI",),
    "EXT-X-I-FRAME-STREAM-INF": ("URI",),
    "EXT-X-IMAGE-STREAM-INF": ("URI",),
    "EXT-X-SESSION-DATA": ("URI",),
    "EXT-X-PART": ("URI",),
    "EXT-X-PRELOAD-HINT": ("URI",),
    "EXT-X-RENDITION-REPORT": ("URI",),
    "EXT-X-CONTENT-STEERING": ("SERVER-URI",),
    "EXT-X-DATERANGE": ("X-ASSET-URI", "X-ASSET-LIST", "X-URI"),
})

#: (tag, URI attribute) -> what the URI is, known from where it stands: the
#: kind that names its proxied file (URI_KIND_EXTENSIONS). A URI line is a
#: "playlist" after EXT-X-STREAM-INF, otherwise a "segment". Two are refined
#: by the tag's TYPE: an EXT-X-MEDIA of TYPE=SUBTITLES is a "subtitles"
#: playlist, an EXT-X-PRELOAD-HINT of TYPE=MAP an "init" section.
URI_KINDS = types.MappingProxyType({
    ("EXT-X-KEY", "URI"): "key",
    ("EXT-X-SESSION-KEY", "URI"): "key",
    ("EXT-X-MAP", "URI"): "init",
    ("EXT-X-MEDIA", "URI"): "playlist",
    ("EXT-X-I-FRAME-STREAM-INF", "URI"): "playlist",
    ("EXT-X-IMAGE-STREAM-INF", "URI"): "playlist",
    ("EXT-X-SESSION-DATA", "URI"): "json",
    ("EXT-X-PART", "URI"): "segment",
    ("EXT-X-PRELOAD-HINT", "URI"): "segment",
    ("EXT-X-RENDITION-REPORT", "URI"): "playlist",
    ("EXT-X-CONTENT-STEERING", "SERVER-URI"): "json",
    ("EXT-X-DATERANGE", "X-ASSET-URI"): "playlist",
    ("EXT-X-DATERANGE", "X-ASSET-LIST"): "json",
    ("EXT-X-DATERANGE", "X-URI"): "",
})

#: Kind -> the extension a proxied file name gets when upstream's name has
#: none a player recognises. ffmpeg since 7.1 refuses segments whose URL has
#: no known media extension (allowed_segment_extensions) and checks it against
#: the content (extension_picky); ExoPlayer and Shaka guess types from it. A
#: "segment" of a playlist with EXT-X-MAP is fMP4 ("fmp4"), one of a WebVTT
#: rendition "vtt". A kind of "" adds nothing.
URI_KIND_EXTENSIONS = types.MappingProxyType({
    "playlist": ".m3u8", "subtitles": ".m3u8", "segment": ".ts", "fmp4": ".m4s", "init": ".mp4",
    "vtt": ".vtt", "key": ".key", "json": ".json", "mpd": ".mpd",
})
_ADDED_EXTENSIONS = frozenset(URI_KIND_EXTENSIONS.values())

#: Extensions players recognise (ffmpeg 9's allowed_segment_extensions and a
#: few more): a name that ends with one keeps it, even when it lies.
RECOGNISED_EXTENSIONS = frozenset({
    "3gp", "aac", "avi", "ac3", "eac3", "flac", "mkv", "m3u8", "m3u", "m4a", "m4s", "m4v", "mpg", "mov", "mp2",
    "mp3", "mp4", "mpeg", "mpegts", "ogg", "ogv", "oga", "ts", "vob", "vtt", "wav", "webvtt", "cmfv", "cmfa",
    "ec3", "fmp4", "webm", "key", "json", "jpg", "jpeg", "png", "webp", "mpd",
})

#: Extensions hosts give segments to pass them off as images, styles or pages:
#: ffmpeg since 7.1 refuses a segment URL ending in one before reading a byte,
#: so a segment named so is proxied under its kind's extension too (seg1.png.ts).
DISGUISE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "webp", "bmp", "ico", "css", "js", "html", "htm"})


# ---------------------------------------------------------------------------
# Proxy-URL codec
#
# The rewriter writes  {base}/p/{token}/{file name}  where the token is the
# upstream URL (plus per-URL options) in unpadded base64url. The path ends with
# the upstream file name, so tools that look at the extension (ffmpeg, VLC,
# ExoPlayer) keep working, and there is no query of ours for players to
# re-encode: a query a player appends (_HLS_msn, ...) is the player's, and is
# merged into the upstream URL. /proxy?url=... is the hand-written form.
# ---------------------------------------------------------------------------

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+~?$")
_COOKIE_UNSAFE = re.compile(r"[;\x00-\x1f\x7f]")
_URLSAFE = bytes.maketrans(b"+/", b"-_")  # base64 -> base64url (RFC 4648 section 5)
_SAFE_NAME_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!$&'()*+,;=:@-"


class StreamCookie(NamedTuple):
    """One of a stream's cookies, as its proxy URLs carry it (see "Stream
    cookies"): what http.cookiejar needs to send it back where RFC 6265 says."""

    name: str
    value: str
    domain: str
    host_only: bool  #: set without a Domain attribute: its own host only
    path: str
    secure: bool
    expires: int  #: Unix time; 0 for a session cookie


@dataclasses.dataclass(frozen=True)
class ProxyTarget:
    """What a proxy URL asks for: an upstream URL and the per-URL options."""

    url: str
    #: Per-URL upstream headers, as (name, value) pairs, inherited by every URI
    #: rewritten in a playlist fetched with them.
    options: Tuple[Tuple[str, str], ...] = ()
    #: True when the player added query parameters (LL-HLS _HLS_msn and kin):
    #: such an answer is specific to the moment and never cached.
    player_query: bool = False
    #: When a signed URL stops being valid (Unix time; 0: never).
    expires: int = 0
    #: A WebVTT rendition's playlist (its master said TYPE=SUBTITLES): its
    #: segments are named .vtt when upstream's names say nothing.
    subtitles: bool = False
    #: The stream's cookies, set by the upstream answers of its playlists and
    #: carried in its proxy URLs (see "Stream cookies").
    cookies: Tuple[StreamCookie, ...] = ()
    #: Common Media Client Data the player sent as a query (CTA-5004): sent
    #: upstream with ``url``, and no part of ``key``.
    cmcd: str = ""
    #: A segment, known from where it stands in its playlist (or MPD): one
    #: disguised behind a prefix is served from where its TS starts.
    segment: bool = False
    #: A clock an MPD's UTCTiming names: its answer is of the moment, never
    #: shared or cached, and carries the upstream's Date.
    clock: bool = False
    #: An element an MPD's xlink:href brings: read as part of an MPD, whose
    #: URLs resolve against this base, the base where it lands ("" otherwise).
    fragment_base: str = ""

    @property
    def key(self) -> str:
        """What the cache and the shared fetches know this target by: the
        answer depends on the URL, the headers sent and the cookies sent. A
        string (see ``_shared_key``): the URL alone when nothing else is sent,
        else the repr of all three (which starts "(", where a URL cannot)."""
        if not (self.options or self.cookies or self.fragment_base):
            return self.url
        if self.fragment_base:  # read as a part of an MPD, it is another document
            return repr((self.url, self.options, self.cookies, self.fragment_base))
        return repr((self.url, self.options, self.cookies))


#: Query parameters of the ``/proxy`` form that carry per-URL options
#: rather than being part of the upstream URL. Besides these, ``h_<Name>=value``
#: sets any header (mediaflow-proxy's convention, which IPTV tools write).
OPTION_PARAMETERS = types.MappingProxyType({
    "referer": "Referer",
    "referrer": "Referer",  # the word's usual spelling, which the header's lacks
    "origin": "Origin",
    "ua": "User-Agent",
    "user_agent": "User-Agent",
    "header": None,  # "Name: value", repeatable
})


def make_proxy_url(base_url: str, upstream_url: str, options: Tuple[Tuple[str, str], ...] = (),
                   secret: Optional[str] = None, expires: int = 0) -> str:
    """Return the proxy URL for ``upstream_url``: deterministic, ends with its file name.

    With a ``secret`` the URL carries an HMAC-SHA256 signature over the upstream
    URL, the per-URL options and ``expires`` (Unix time, 0 for never); the secret
    itself never appears in it.
    """
    return _proxy_url(base_url.rstrip("/") + "/p/", upstream_url, options, secret, expires)


def _proxy_url(prefix: str, upstream_url: str, options: Tuple[Tuple[str, str], ...], secret: Optional[str] = None,
               expires: int = 0, kind: str = "", cookies: Tuple[StreamCookie, ...] = (), base: str = "") -> str:
    # The token: the URL; then, when there are any, its options and the
    # stream's state (the kind's mark, the stream's cookies), each urlencoded.
    payload = upstream_url
    state = _token_state(kind if kind in _MARKED_KINDS else "", cookies, base) \
        if kind in _MARKED_KINDS or cookies else ""
    if options or state:
        payload += "\n" + urlencode(options) + ("\n" + state if state else "")
    token = binascii.b2a_base64(payload.encode("utf-8"), newline=False).translate(_URLSAFE).rstrip(b"=")
    # A segment (which may be disguised, see _undisguised) is marked by a "~" after
    # its token: one character, not a state line, on 20,000 URIs of a playlist.
    segment = token.decode("ascii") + ("~" if kind in ("segment", "fmp4") else "")
    if secret:
        segment = "%s.%d.%s" % (segment, expires, _signature(secret, segment, expires))
    return prefix + segment + "/" + ("" if kind == "directory" else _proxy_name(upstream_url, kind))


#: Kinds a token marks, as what its third line says: a WebVTT rendition's
#: playlist; an upstream directory, which a proxy URL stands for with every
#: path under it (an MPD's BaseURLs and templates; the URL ends in "/");
#: an MPD's clock; an MPD's remote element and the base where it lands.
_MARKED_KINDS = types.MappingProxyType({"subtitles": "vtt", "directory": "dir", "clock": "clock", "xlink": "xml"})


@functools.lru_cache(maxsize=64)
def _token_state(kind: str, cookies: Tuple[StreamCookie, ...], base: str = "") -> str:
    """The token's third line; the same for every URI of a playlist, so made once."""
    mark = _MARKED_KINDS.get(kind)
    state = ([(mark, base or "1")] if mark else []) + (
        [("cookies", json.dumps(cookies, separators=(",", ":")))] if cookies else [])
    return urlencode(state)


def _proxy_name(url: str, kind: str = "") -> str:
    """The file name a proxy URL ends with: upstream's, and the extension of
    ``kind`` (URI_KIND_EXTENSIONS) when upstream's has none a player knows."""
    name = _file_name(url)
    extension = URI_KIND_EXTENSIONS.get(kind)
    if extension is None or _keeps_its_name(name, kind):
        return name
    return name + extension


def _keeps_its_name(name: str, kind: str) -> bool:
    """A name with an extension players recognise keeps it; a segment's that
    disguises it as an image, a style or a page does not."""
    extension = name.rpartition(".")[2].lower()
    return extension in RECOGNISED_EXTENSIONS and not (
        kind in ("segment", "fmp4") and extension in DISGUISE_EXTENSIONS)


def _is_own_name(url: str, rest: str) -> bool:
    """True when ``rest`` is a name _proxy_name gives ``url``, for any kind."""
    name, rest = unquote(_file_name(url)), unquote(rest)
    if rest == name:
        return True
    return rest[:len(name)] == name and rest[len(name):] in _ADDED_EXTENSIONS and not _keeps_its_name(name, "segment")


def _signature(secret: str, token: str, expires: int) -> str:
    """HMAC-SHA256 of the token (upstream URL and options) and expiry, 144 bits, base64url."""
    message = ("%s.%d" % (token, expires)).encode("ascii")
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def _verify_signature(segment: str, secret: str, now: float) -> Tuple[str, int]:
    """The token and expiry of a signed path segment, or Forbidden."""
    parts = segment.split(".")
    if len(parts) != 3:
        raise Forbidden("missing signature: this proxy serves signed URLs only")
    token, expires_text, signature = parts
    if not expires_text.isdigit() or len(expires_text) > 12:
        raise Forbidden("bad signature")
    expires = int(expires_text)
    # compare_digest: the time taken does not tell an attacker how much matched.
    if not hmac.compare_digest(signature.encode("ascii", "replace"),
                               _signature(secret, token, expires).encode("ascii")):
        raise Forbidden("bad signature")
    if expires and expires < now:
        raise Forbidden("signed URL expired")
    return token, expires


def parse_proxy_path(path: str, secret: Optional[str] = None, now: Optional[float] = None) -> ProxyTarget:
    """Decode a request path (``/p/...`` or ``/proxy?url=...``) into a ProxyTarget.

    Raises BadRequest with a one-line reason when the path is not a proxy URL,
    and, with a ``secret``, Forbidden when it is not signed, or signed wrongly,
    or expired.
    """
    route, _, query = path.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    expires = 0
    if route.startswith("/p/"):
        segment, _, rest = route[3:].partition("/")
        if secret:
            token, expires = _verify_signature(segment, secret, time.time() if now is None else now)
        else:
            token = segment.split(".", 1)[0]  # a signature is of no interest without a secret
        url, options, state = _decode_token(token)
        directory = "dir" in state
        if secret and rest and not directory and not _is_own_name(url, rest):
            raise Forbidden("a signed URL covers its own file only")
        # The proxy's own parameters on a /p/ URL are a copy of the /proxy URL's
        # query an MPD's UrlQueryInfo told the player to make: not the upstream's.
        pairs = [(name, value) for name, value in pairs if name != "url" and not _is_option(name)]
        if secret and any(not name.startswith(_PLAYER_PARAMETERS) for name, _ in pairs):
            raise Forbidden("a signed URL takes no query parameters but a player's _HLS_, _DASH_ and CMCD ones")
        # A segment: marked so, or a path a playlist or MPD wrote relative, under its token.
        segment = "seg" in state or directory or bool(rest) and not _is_own_name(url, rest)
        url = _resolve_under(url, rest) if directory else _resolve_rest(url, rest)
        subtitles, cookies = state.get("vtt") == "1", _cookie_records(state.get("cookies"))
        clock, fragment_base = "clock" in state, state.get("xml", "")
        extra = pairs
    elif secret:
        raise Forbidden("this proxy serves signed URLs only: make one with 'hlsproxy.py sign URL'")
    elif route in ("/proxy", "/proxy/"):
        subtitles, cookies, clock, fragment_base, segment = False, (), False, "", False
        urls = [value for name, value in pairs if name == "url"]
        if not urls or not urls[0].strip():
            raise BadRequest("missing url parameter: use /proxy?url=<percent-encoded URL>")
        url = urls[0]
        options = tuple(_option_header(name, value) for name, value in pairs if _is_option(name))
        extra = [(n, v) for n, v in pairs if n != "url" and not _is_option(n)]
    else:
        raise HlsProxyError("no such path; use /proxy?url=<percent-encoded URL>", HTTPStatus.NOT_FOUND)
    # CMCD goes upstream, but is no part of what the answer is: a player that
    # sends it shares fetches and hits with one that does not.
    cmcd = [(name, value) for name, value in extra if name == "CMCD"]
    extra = [(name, value) for name, value in extra if name != "CMCD"]
    url = _merge_query(validate_upstream_url(url), extra)
    return ProxyTarget(url=url, options=tuple(options), player_query=bool(extra), expires=expires,
                       subtitles=subtitles, cookies=cookies, clock=clock, fragment_base=fragment_base,
                       cmcd=urlencode(cmcd, quote_via=quote), segment=segment)


#: Query parameters a player adds to a proxy URL by itself: LL-HLS's, DASH
#: content steering's, and Common Media Client Data (CTA-5004).
_PLAYER_PARAMETERS = ("_HLS_", "_DASH_", "CMCD")


def host_allowed(host: str, patterns: Tuple[str, ...]) -> bool:
    """True when ``host`` is one of ``patterns``: a name, or ``*.suffix`` for every
    name below the suffix (not the suffix itself)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def validate_upstream_url(url: str) -> str:
    """Return ``url`` as a clean absolute http(s) URL, or raise BadRequest.

    Validated by hand rather than trusted to urlsplit, whose handling of
    leading spaces and control characters changed between Python versions.
    """
    url = url.strip()
    if any(ord(c) < 0x20 or c == "\x7f" for c in url):
        raise BadRequest("url contains control characters")
    match = _SCHEME.match(url)
    if not match or match.group(1).lower() not in ("http", "https"):
        raise BadRequest("url must be an absolute http:// or https:// URL")
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise BadRequest("url must not carry credentials (user@host)")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise BadRequest("url has an invalid port") from None
    if not host:
        raise BadRequest("url has no host")
    if not host.isascii():  # the idna codec is slow to load: only for hosts that need it
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise BadRequest("url has an invalid host name") from None
    netloc = "[%s]" % host if ":" in host else host
    if port is not None:
        netloc += ":%d" % port
    return _quote_url(urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, "")))


def _quote_url(url: str) -> str:
    """Percent-encode what http.client would refuse (spaces, non-ASCII) in the
    path and query, keeping existing escapes and reserved characters as they are."""
    scheme, netloc, path, query, _ = urlsplit(url)
    safe = "/%:@!$&'()*+,;=~-._?[]"
    return urlunsplit((scheme, netloc, quote(path, safe=safe), quote(query, safe=safe), ""))


def _decode_token(token: str) -> Tuple[str, Tuple[Tuple[str, str], ...], Dict[str, str]]:
    """A token's URL, options (checked as --header is) and state (see _MARKED_KINDS;
    "seg" for a segment's "~")."""
    if not _TOKEN.match(token):
        raise BadRequest("malformed proxy URL")
    segment = token.endswith("~")
    token = token.rstrip("~")
    try:
        payload = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadRequest("malformed proxy URL") from None
    url, _, rest = payload.partition("\n")
    encoded_options, _, encoded_state = rest.partition("\n")
    options = tuple(parse_qsl(encoded_options, keep_blank_values=True))
    for name, value in options:
        parse_header_line("%s: %s" % (name, value))  # a token can be forged by hand
    state = dict(parse_qsl(encoded_state, keep_blank_values=True))
    if segment:
        state["seg"] = "1"
    return url, options, state


def _cookie_records(text: Optional[str]) -> Tuple[StreamCookie, ...]:
    """The stream cookies a token carries (ProxyTarget.cookies), checked: a
    token can be forged by hand, and these become a Cookie header."""
    if not text:
        return ()
    try:
        records = json.loads(text)
        checked = tuple(StreamCookie(name, value, domain, bool(host_only), path, bool(secure), int(expires))
                        for name, value, domain, host_only, path, secure, expires in records)
    except (ValueError, TypeError):
        raise BadRequest("malformed proxy URL") from None
    for c in checked:
        if not (isinstance(c.value, str) and _HEADER_NAME.match(c.name if isinstance(c.name, str) else "")
                and isinstance(c.domain, str) and isinstance(c.path, str)
                and not _COOKIE_UNSAFE.search(c.value + c.domain + c.path)):
            raise BadRequest("malformed proxy URL")
    return checked


def _resolve_rest(url: str, rest: str) -> str:
    """Map the path after the token back to an upstream URL.

    Normally ``rest`` is the file name the rewriter wrote, and the token's URL is
    the answer. A player that resolves a URI the proxy did not rewrite (one left
    for it, holding a variable reference) against the proxy URL produces another
    ``rest``: it is resolved against the upstream URL the same way.
    """
    if not rest or _is_own_name(url, rest):
        return url
    return urljoin(url, rest)


def _resolve_under(directory: str, rest: str) -> str:
    """Map the path after a directory token (an MPD's BaseURL or template) back
    under the upstream directory, with the query every file there gets. Only
    under it: a dot segment, escaped or not, or an empty one is refused, so a
    signed directory URL covers what lies below it and nothing above."""
    base, _, query = directory.partition("?")
    for part in rest.split("/")[:-1] + [rest.rpartition("/")[2] or "x"]:
        if unquote(part) in ("", ".", "..") or "\\" in unquote(part):
            raise Forbidden("a directory URL covers what lies under its directory only")
    return base + rest + ("?" + query if query else "")


def _is_option(name: str) -> bool:
    """Whether a ``/proxy`` query parameter is a per-URL option (a header), not
    the upstream's own."""
    return name in OPTION_PARAMETERS or (name[:2] == "h_" and bool(_HEADER_NAME.match(name[2:])))


def _option_header(name: str, value: str) -> Tuple[str, str]:
    """The upstream header a per-URL option stands for, checked as --header is."""
    header = OPTION_PARAMETERS.get(name) if name[:2] != "h_" else name[2:].title()  # h_referer: Referer
    if header is None:
        return parse_header_line(value)
    return parse_header_line("%s: %s" % (header, value))


def _merge_query(url: str, extra: List[Tuple[str, str]]) -> str:
    """Add the player's query parameters to ``url``, replacing same-named ones.

    The upstream query is otherwise kept byte for byte: signed CDN URLs break
    when their query is re-encoded.
    """
    if not extra:
        return url
    base, _, query = url.partition("?")
    names = {name for name, _ in extra}
    kept = [part for part in query.split("&")
            if part and unquote(part.partition("=")[0].replace("+", " ")) not in names]
    kept.append(urlencode(extra, quote_via=quote))
    return base + "?" + "&".join(kept)


def _file_name(url: str) -> str:
    """The last path segment of ``url``, safe to put in a path ("index" if none).

    String operations rather than urlsplit: this runs once per URI of every
    playlist, 20,000 times for a long VOD playlist.
    """
    end = url.find("?")
    if end == -1:
        end = len(url)
    if "#" in url:
        fragment = url.find("#", 0, end)
        end = fragment if fragment != -1 else end
    slash = url.rfind("/", 0, end)
    if slash <= url.find("//") + 1:
        return "index"  # no path: the last slash is the one of "//"
    name = url[slash + 1:end]
    if name in ("", ".", ".."):
        return "index"
    if not name.strip(_SAFE_NAME_CHARACTERS):
        return name
    return re.sub(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9._~!$&'()*+,;=:@-]",
                  lambda m: m.group() if len(m.group()) == 3 else quote(m.group(), safe=""), name)


# ---------------------------------------------------------------------------
# What the proxy may say and believe of a request (pure)
#
# A log line or an error body never shows a token, a query or a control
# character (redacted); the public base a reverse proxy forwards is believed
# only when it is well formed (forwarded_base).
# ---------------------------------------------------------------------------

#: What one_line cuts out of a log line or an error body: a /p/ token, a query.
_TOKEN_IN_TEXT = re.compile(r"/p/[^/\s]+/")
_QUERY_IN_TEXT = re.compile(r"\?[^\s\"'<>]+")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def redacted(text: str, limit: int = 300) -> str:
    """Text fit for a log line and an error body: every proxy token and query
    string cut out (they carry per-URL headers, signatures and CDN tokens), no
    control characters (an origin's reason phrase is its own text), and short."""
    text = _TOKEN_IN_TEXT.sub("/p/…/", text)
    text = _QUERY_IN_TEXT.sub("?…", text)
    text = _CONTROL_CHARACTERS.sub(" ", text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _loggable_path(path: Optional[str]) -> str:
    """A request path fit for a log: no query, no token (``/p/…/seg12.ts``);
    "-" when there is none (a request refused before its line was read)."""
    route = (path or "").split("?", 1)[0]
    if route.startswith("/p/"):
        return "/p/…/" + route[3:].partition("/")[2]
    return route[:200] or "-"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


_HOST_HEADER = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def forwarded_base(headers) -> Optional[str]:
    """The public base URL a trusted reverse proxy says the client used, from
    ``Forwarded`` (RFC 7239) or X-Forwarded-Proto/Host/Prefix; None if absent
    or malformed. Only called with --trust-forwarded."""
    proto = host = None
    forwarded = headers.get("Forwarded")
    if forwarded:
        for pair in forwarded.split(",")[0].split(";"):
            name, _, value = pair.strip().partition("=")
            if name.lower() == "proto":
                proto = value.strip('"').lower()
            elif name.lower() == "host":
                host = value.strip('"')
    proto = proto or (headers.get("X-Forwarded-Proto") or "").split(",")[0].strip().lower() or None
    host = host or (headers.get("X-Forwarded-Host") or "").split(",")[0].strip() or headers.get("Host")
    prefix = (headers.get("X-Forwarded-Prefix") or "").split(",")[0].strip().rstrip("/")
    if proto not in ("http", "https") or not host or not _HOST_HEADER.match(host):
        return None
    if prefix and not re.match(r"^(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$", prefix):
        return None
    return "%s://%s%s" % (proto, host, prefix)


# ---------------------------------------------------------------------------
# Playlist rewriter (pure: text in, text out)
#
# Line-based, like the format: every URI line and URI attribute goes through the
# caller's hook, every other byte is emitted as it came. The patterns below are
# its fast paths: most lines are decided by one regular expression in C.
# ---------------------------------------------------------------------------

#: How much of a body is read, at most, to decide whether it is a playlist.
_SNIFF_LIMIT = 4096
_TAG_NAME = re.compile(r"#(EXT[A-Z0-9-]*)(?::|$)")

# One attribute of an attribute list (RFC 8216 section 4.2), matched at a
# position: NAME=VALUE where VALUE is a quoted string or runs to the next comma.
_ATTRIBUTE = re.compile(r'[ \t]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*("[^"\r\n]*"|[^",\r\n][^,\r\n]*|)[ \t]*(?:,|$)')
_VARIABLE_REFERENCE = re.compile(r"\{\$([A-Za-z0-9_-]+)\}")

# A relative reference that resolves by plain concatenation onto the playlist's
# directory: no scheme, no leading "/", "." or "?", no dot segment in its path
# ("/." before any "?"), only characters that need no quoting, and a non-empty
# query if any. The one test of that (the rewriter's fast path: urljoin costs
# ~10 us, 20,000 times a playlist), used as ``_SIMPLE_RELATIVE.match``.
_SIMPLE_RELATIVE = re.compile(
    r"(?![^?]*/\.)[A-Za-z0-9_~!$&'()*+,;=@%-][A-Za-z0-9._~!$&'()*+,;=@%/-]*(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]+)?\Z")

#: An absolute http(s) URL that urljoin and quoting would leave exactly as it
#: is: lower-case scheme, a plain host, only characters that need no quoting,
#: no dot segments, no fragment, a non-empty query if any. The fast path for
#: playlists of absolute URIs (token-signing CDNs write them).
_SIMPLE_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/(?!\.)[A-Za-z0-9._~!$&'()*+,;=:@%-]*)*"
    r"(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]+)?\Z")

#: Tags rewrite_playlist acts on: those with URIs, and those that say what follows.
_TAGS_THAT_MATTER = tuple(URI_ATTRIBUTE_TAGS) + ("EXT-X-STREAM-INF", "EXT-X-DEFINE")

#: A URI line a player resolves to the same place through any URL whose
#: directory maps onto the playlist's: relative, no scheme, no leading "/" or
#: ".", no "/." (dot segments; %(dots)s is where that is checked), no query,
#: and a file name ending in an extension players recognise (in lower case;
#: else it is rewritten, and gets one, see URI_KIND_EXTENSIONS). The extension
#: is checked by lookbehinds at the line's end, the common ones first: no
#: backtracking through the name.
_KEEPABLE = r"[A-Za-z0-9_~!$&'()*+,;=@%%%%-]%%(dots)s[A-Za-z0-9._~!$&'()*+,;=@%%%%/-]*(?:%s)(?=\r?\n|\r?\Z)" % (
    "|".join(r"(?<=\.%s)" % extension for extension in sorted(
        RECOGNISED_EXTENSIONS - DISGUISE_EXTENSIONS,
        key=lambda e: (e not in ("ts", "m4s", "mp4", "aac", "vtt", "m3u8"), e))))


def _needs_work(dots: str):
    """After a newline: a line rewrite_playlist must look at (group 1), when
    relative URI lines may stay (keep_relative): a non-blank URI line that is
    not _KEEPABLE, or a tag of _TAGS_THAT_MATTER. Anchored on "\\n", so the
    scan skips from line to line in C: 20,000 lines in about 4 ms."""
    return re.compile(r"\n((?:(?=[^#\n])(?=[ \t]*\S)(?!%s)|#(?:%s)(?=[:\r\n]|\Z))[^\n]*)" % (
        _KEEPABLE % {"dots": dots}, "|".join(re.escape(tag) for tag in _TAGS_THAT_MATTER)))


#: _needs_work with the dot-segment check on each line, and without it, for a
#: text with no "/." anywhere (most playlists), where it can find nothing.
_NEEDS_WORK = _needs_work(r"(?![^\n]*/\.)")
_NEEDS_WORK_NO_DOTS = _needs_work("")


def is_playlist(content_type: Optional[str], head: bytes) -> bool:
    """True when a response is an HLS playlist: when its body starts with
    ``#EXTM3U`` (after an optional BOM and white space), whatever its type.

    Never by its type alone or a ``.m3u8`` suffix: a CDN's HTML error page at
    ``…/index.m3u8``, labelled with an HLS type, is not a playlist, and
    ``/live?id=7`` sent as text/plain can be one.
    """
    return _playlist_verdict(content_type, head) is True


def _playlist_verdict(content_type: Optional[str], head: bytes) -> Optional[bool]:
    """True or False when ``head`` decides it; None when more bytes are needed.
    ``content_type`` is not asked (see is_playlist): it is here for DocumentKind."""
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    body = body.lstrip(b" \t\r\n")
    if body.startswith(b"#EXTM3U"):
        return True
    if b"#EXTM3U".startswith(body) and len(head) < _SNIFF_LIMIT:
        return None
    return False


def _claims_playlist(content_type: Optional[str]) -> bool:
    """The Content-Type is one of the HLS playlist types."""
    return bool(content_type) and content_type.split(";")[0].strip().lower() in HLS_CONTENT_TYPES


def rewrite_playlist(text: str, base_url: str, make_uri: Callable[..., str], kinds: bool = False,
                     keep_relative: bool = False) -> str:
    """Rewrite every URI in an M3U8 playlist with ``make_uri``; keep every other byte.

    ``base_url`` is the playlist's own URL after redirects: relative URIs resolve
    against it. ``make_uri`` receives each absolute http(s) URL and returns what
    to write instead; with ``kinds``, it is called as ``make_uri(url, kind)``,
    ``kind`` saying what the URI is from where it stands (URI_KINDS; "fmp4"
    for a segment after EXT-X-MAP). Rewritten: URI lines and the URI attributes of the tags in
    URI_ATTRIBUTE_TAGS. Left alone: ``data:`` and non-HTTP URIs (``skd://``),
    comments, unknown tags, blank lines, line endings. A leading BOM, which
    RFC 8216 section 4.1 forbids and some players reject, is dropped.

    EXT-X-DEFINE: the player sees the proxy's URL, not the upstream one, so
    references the proxy can resolve (NAME/VALUE, QUERYPARAM from ``base_url``)
    are substituted inside the URIs it rewrites, and QUERYPARAM definitions are
    rewritten as NAME/VALUE. A URI with a reference the proxy cannot resolve
    (IMPORT) is left untouched for the player.

    ``keep_relative``: a URI line the player can resolve against wherever it got
    the playlist (relative, inside the playlist's directory, no query, a name
    with an extension players recognise) is left exactly as written, and only
    the other lines are looked at (_NEEDS_WORK). For a playlist served from a
    URL whose directory maps back onto the upstream's (the proxy's /p/ form).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    rewrite = _rewrite_sparse if keep_relative else _rewrite_lines
    return rewrite(text, base_url, _with_kind(make_uri, kinds))


def _rewrite_lines(text: str, base_url: str, make_uri: Callable[[str, str], str]) -> str:
    """rewrite_playlist's work, line by line."""
    query = dict(parse_qsl(urlsplit(base_url).query, keep_blank_values=True))
    variables = {}  # type: Dict[str, str]
    base_directory = _directory_of(base_url)

    def rewrite_uri(uri: str, kind: str) -> str:
        return _rewrite_uri(uri, base_url, base_directory, make_uri, variables, kind)

    simple, absolute = _SIMPLE_RELATIVE.match, _SIMPLE_ABSOLUTE.match
    segment = line_kind = "segment"  # what the next URI line is
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("#"):
            if not line.startswith("#EXT-X-"):
                continue  # a comment, #EXTINF, #EXTM3U: the most common lines, cheaply passed
            body = line.rstrip("\r")
            tag = _TAG_NAME.match(body)
            name = tag.group(1) if tag else ""
            if name == "EXT-X-DEFINE":
                body = _define_variable(body, variables, query)
            elif name in URI_ATTRIBUTE_TAGS:
                if name == "EXT-X-MAP":
                    segment = line_kind = "fmp4"
                body = _rewrite_attributes(body, tag.end(), name, rewrite_uri, segment)
            elif name == "EXT-X-STREAM-INF":
                line_kind = "playlist"
                continue
            else:
                continue
            lines[index] = body + line[len(body):]
        else:
            uri = line.strip()
            if not uri:
                continue  # a blank or whitespace-only line is not a URI
            if len(uri) == len(line):
                if simple(uri):  # the common cases, inline: 20,000 times a VOD playlist
                    lines[index] = make_uri(base_directory + uri, line_kind)
                elif absolute(uri):
                    lines[index] = make_uri(uri, line_kind)
                else:
                    lines[index] = rewrite_uri(uri, line_kind)
            else:  # keep the surrounding whitespace and the CR of a CRLF line
                start = line.index(uri)
                lines[index] = line[:start] + rewrite_uri(uri, line_kind) + line[start + len(uri):]
            line_kind = segment
    return "\n".join(lines)


def _rewrite_sparse(text: str, base_url: str, make_uri: Callable[[str, str], str]) -> str:
    """rewrite_playlist with keep_relative: the lines that need work (the tags
    of _TAGS_THAT_MATTER, and URI lines that cannot stay) are found by one
    regular expression, rewritten together as a small playlist of their own
    (in order, so definitions, EXT-X-MAP and EXT-X-STREAM-INF still say what
    follows), and put back; every other byte stays. A 20,000-segment playlist
    of plain relative names costs one scan of its text."""
    if text.count("://") * 4 > text.count("\n"):  # mostly absolute URIs: one pass over all of it is cheaper
        return _rewrite_lines(text, base_url, make_uri)
    needs_work = _NEEDS_WORK if "/." in text else _NEEDS_WORK_NO_DOTS
    found = list(needs_work.finditer("\n" + text))  # the "\n" lets the first line match too
    if not found:
        return text
    rewritten = _rewrite_lines("\n".join(match.group(1) for match in found), base_url, make_uri)
    pieces, position = [], 0
    for match, line in zip(found, rewritten.split("\n")):
        pieces += [text[position:match.start(1) - 1], line]
        position = match.end(1) - 1
    pieces.append(text[position:])
    return "".join(pieces)


def _with_kind(make_uri: Callable[..., str], kinds: bool) -> Callable[[str, str], str]:
    """The rewriters call ``make_uri(url, kind)``; a hook of one argument is
    called without the kind."""
    return make_uri if kinds else (lambda url, kind: make_uri(url))


def _directory_of(base_url: str) -> str:
    """The URL that relative references are appended to: the base's directory."""
    return _quote_url(urljoin(base_url, "./"))


def _resolve(uri: str, base_url: str, base_directory: str) -> str:
    """urljoin(base_url, uri), quoted; by concatenation when that is the same."""
    if _SIMPLE_RELATIVE.match(uri):
        return base_directory + uri
    return _quote_url(urljoin(base_url, uri))


def _resolved(value: str, base: str) -> Optional[str]:
    """``value`` resolved against ``base`` as _resolve does, or None when it
    cannot be (a malformed host)."""
    try:
        return _resolve(value, base, _directory_of(base))
    except ValueError:
        return None


def _rewrite_uri(uri: str, base_url: str, base_directory: str, make_uri: Callable[[str, str], str],
                 variables: Dict[str, str], kind: str) -> str:
    """Return the proxy URI for one URI of a playlist, or ``uri`` if it stays."""
    if "{$" in uri:
        resolved = _VARIABLE_REFERENCE.sub(lambda m: variables.get(m.group(1), m.group()), uri)
        if _VARIABLE_REFERENCE.search(resolved):
            return uri  # the player substitutes; percent-encoding would break it
        uri = resolved
    if _SIMPLE_RELATIVE.match(uri):
        return make_uri(base_directory + uri, kind)  # the common case, made cheap
    if _SIMPLE_ABSOLUTE.match(uri):
        return make_uri(uri, kind)  # resolving and quoting would change nothing
    scheme = _SCHEME.match(uri)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        return uri  # data:, skd://, and other schemes the proxy cannot fetch
    absolute = _resolve(uri.strip(), base_url, base_directory)
    if not absolute.lower().startswith(("http://", "https://")):
        return uri
    return make_uri(absolute, kind)


def _rewrite_attributes(line: str, start: int, tag: str, rewrite_uri: Callable[[str, str], str],
                        segment: str) -> str:
    """Rewrite the values of ``tag``'s URI attributes (URI_ATTRIBUTE_TAGS) in its
    attribute list, each with its kind (URI_KINDS; ``segment`` for a segment)."""
    names = URI_ATTRIBUTE_TAGS[tag]
    refined = _attribute_values(line, start).get("TYPE") if tag in ("EXT-X-MEDIA", "EXT-X-PRELOAD-HINT") else None
    pieces = [line[:start]]
    position = start
    for name, value_start, value_end in _attributes(line, start):
        if name not in names:
            continue
        kind = URI_KINDS[tag, name]
        if kind == "segment":
            kind = "init" if refined == "MAP" else segment
        elif refined == "SUBTITLES":
            kind = "subtitles"
        value = line[value_start:value_end]
        quoted = len(value) >= 2 and value[0] == value[-1] == '"'
        inner = value[1:-1] if quoted else value
        if not inner.strip():
            continue
        new = rewrite_uri(inner, kind)
        pieces.append(line[position:value_start])
        pieces.append('"%s"' % new if quoted else new)
        position = value_end
    pieces.append(line[position:])
    return "".join(pieces)


def _attributes(line: str, start: int):
    """Yield (name, value start, value end) for each attribute after ``start``.

    Stops quietly at the first thing that is not an attribute: a malformed tail
    stays as it is rather than failing the playlist.
    """
    position = start
    while position < len(line):
        match = _ATTRIBUTE.match(line, position)
        if not match or match.end() == position:
            return
        yield match.group(1).upper(), match.start(2), match.end(2)
        position = match.end()


def _attribute_values(line: str, start: int) -> Dict[str, str]:
    values = {}
    for name, value_start, value_end in _attributes(line, start):
        values[name] = line[value_start:value_end].strip('"')
    return values


def _define_variable(line: str, variables: Dict[str, str], query: Dict[str, str]) -> str:
    """Record an EXT-X-DEFINE; return the line the player should see."""
    attributes = _attribute_values(line, len("#EXT-X-DEFINE:"))
    if "NAME" in attributes and "VALUE" in attributes:
        variables[attributes["NAME"]] = attributes["VALUE"]
    elif "QUERYPARAM" in attributes:
        name = attributes["QUERYPARAM"]
        value = query.get(name)
        # The player's URL is the proxy's, which lacks this parameter: give it
        # the value instead of a definition it would fail to resolve.
        if value is not None and '"' not in value and "\n" not in value:
            variables[name] = value
            return '#EXT-X-DEFINE:NAME="%s",VALUE="%s"' % (name, value)
    return line


def rewrite_json_document(text: str, base_url: str, make_uri: Callable[..., str],
                          kinds: bool = False) -> Optional[str]:
    """Rewrite the URIs of a JSON document a playlist points at, or return None.

    Two are known: the content-steering manifest behind EXT-X-CONTENT-STEERING
    (RELOAD-URI, and the per-variant and per-rendition URIs of pathway clones)
    and the interstitial asset list behind X-ASSET-LIST (each ASSETS[].URI).
    Anything else, or anything that is not JSON, returns None: pass it through.
    ``make_uri`` and ``kinds`` as for rewrite_playlist.
    """
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or not ({"RELOAD-URI", "ASSETS", "PATHWAY-PRIORITY"} & set(document)):
        return None
    rewrite_uri = functools.partial(_rewrite_uri, base_url=base_url, base_directory=_directory_of(base_url),
                                    make_uri=_with_kind(make_uri, kinds), variables={})
    if isinstance(document.get("RELOAD-URI"), str):
        document["RELOAD-URI"] = rewrite_uri(document["RELOAD-URI"], kind="json")
    for asset in document.get("ASSETS") or ():
        if isinstance(asset, dict) and isinstance(asset.get("URI"), str):
            asset["URI"] = rewrite_uri(asset["URI"], kind="playlist")
    for clone in document.get("PATHWAY-CLONES") or ():
        replacement = clone.get("URI-REPLACEMENT") if isinstance(clone, dict) else None
        for key in ("PER-VARIANT-URIS", "PER-RENDITION-URIS"):
            uris = replacement.get(key) if isinstance(replacement, dict) else None
            if isinstance(uris, dict):
                for stable_id, uri in list(uris.items()):
                    if isinstance(uri, str):
                        uris[stable_id] = rewrite_uri(uri, kind="playlist")
    return json.dumps(document, ensure_ascii=False)


def playlist_max_age(text: str, default: float) -> float:
    """Seconds a client or cache may keep this playlist (RFC 8216 section 6.2.2).

    A live media playlist (no EXT-X-ENDLIST) changes every target duration, so
    it may be kept for half of it (LL-HLS: half the part target); master and
    VOD playlists do not change, and get ``default``.
    """
    # Substring searches over the whole text, not a loop over its lines: a VOD
    # playlist can have 40,000 lines, and this runs for every playlist served.
    if _find_tag(text, "#EXT-X-ENDLIST") != -1:
        return default
    target = playlist_target_duration(text)
    if target is None:
        return default  # a master playlist
    part_target = None
    start = _find_tag(text, "#EXT-X-PART-INF:")
    if start != -1:
        line = text[start:text.find("\n", start) % (len(text) + 1)]
        part_target = _number_or_none(_attribute_values(line, len("#EXT-X-PART-INF:")).get("PART-TARGET", ""))
    return (part_target or target) / 2


def _segment_uris(text: str, base_url: str) -> List[str]:
    """The absolute URLs of a media playlist's segments (its URI lines), in order,
    as rewrite_playlist resolves them."""
    uris = []
    base_directory = _directory_of(base_url)
    for line in text.split("\n"):
        line = line.strip()
        if line and not line.startswith("#") and "{$" not in line:
            absolute = _resolve(line, base_url, base_directory)
            if absolute.lower().startswith(("http://", "https://")):
                uris.append(absolute)
    return uris


def playlist_uris(text: str, base_url: str) -> List[Tuple[str, str]]:
    """Every URI of a playlist as (absolute URL, kind), in order, resolved and
    told apart exactly as rewrite_playlist does (URI_KINDS)."""
    found = []  # type: List[Tuple[str, str]]

    def collect(url: str, kind: str) -> str:
        found.append((url, kind))
        return url
    rewrite_playlist(text, base_url, collect, kinds=True)
    return found


def playlist_target_duration(text: str) -> Optional[float]:
    """The EXT-X-TARGETDURATION of a media playlist, if it has one."""
    start = _find_tag(text, "#EXT-X-TARGETDURATION:")
    if start == -1:
        return None
    end = text.find("\n", start)
    return _number_or_none(text[start + len("#EXT-X-TARGETDURATION:"):end if end != -1 else len(text)])


def _find_tag(text: str, tag: str) -> int:
    """Where the first line starting with ``tag`` starts, or -1."""
    if text.startswith(tag):
        return 0
    found = text.find("\n" + tag)
    return found + 1 if found != -1 else -1


def _number_or_none(text: str) -> Optional[float]:
    """A decimal number written in a playlist or a header, or None."""
    try:
        return float(text.strip())
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# The channel-list rewriter (pure): IPTV lists and the headers each channel needs
#
# An IPTV list is an M3U of channels (#EXTINF:-1 tvg-id=… group-title=…,Name,
# then the channel's URL), not an HLS playlist. Many channels play only with a
# Referer, User-Agent, Origin or cookie, which lists write in three ways: VLC's
# #EXTVLCOPT:http-referrer=… lines, an #EXTHTTP:{…} JSON line, or a Kodi suffix
# on the URL (…/ch.m3u8|User-Agent=…&Referer=…). Each channel's URL becomes a
# proxy URL carrying its headers as per-URL options (so they reach the channel
# and everything under it), the Kodi suffix taken off, its own name kept; the
# EPG URLs of the #EXTM3U line are proxied too; every other byte stays.
# ---------------------------------------------------------------------------

#: #EXTVLCOPT options -> the header each sets.
VLC_HEADER_OPTIONS = types.MappingProxyType({
    "http-referrer": "Referer", "http-referer": "Referer", "http-user-agent": "User-Agent",
    "http-origin": "Origin", "http-cookie": "Cookie",
})
_GUIDE_ATTRIBUTE = re.compile(r'\b(url-tvg|x-tvg-url)="([^"]*)"')


def _channel_list_verdict(content_type: Optional[str], head: bytes) -> Optional[bool]:
    """A channel list: #EXTM3U, entries of duration -1 or with tvg attributes,
    and no HLS tag (#EXT-X-…) in what has been read."""
    playlist = _playlist_verdict(content_type, head)
    if not playlist or b"#EXT-X-" in head:
        return playlist and False
    if b"#EXTINF:-1" in head or b"tvg-" in head:
        return True
    return None if len(head) < _SNIFF_LIMIT else False


def rewrite_channel_list(text: str, base_url: str, make_uri: Callable[..., str], keep_relative: bool = False) -> str:
    """Rewrite an IPTV channel list: each channel's URL with
    ``make_uri(url, "", "", headers)``, its headers gathered from the entry's
    #EXTVLCOPT and #EXTHTTP lines and its URL's Kodi suffix (which is taken
    off); the #EXTM3U line's EPG URLs (url-tvg, x-tvg-url, comma-separated)
    with ``make_uri(url, "")``. Headers are passed on as written: the proxy
    checks them when the channel is asked for, as it checks --header, and a
    channel whose list sets Host or smuggles a line break answers 400 with the
    reason, alone. Logos (tvg-logo) stay: images need no CORS. A leading BOM
    is dropped, as rewrite_playlist drops it."""
    lines = (text[1:] if text.startswith("\ufeff") else text).split("\n")
    headers = []  # type: List[Tuple[str, str]]
    for index, line in enumerate(lines):
        entry = line.strip()
        if entry.startswith("#"):
            if entry.startswith("#EXTM3U"):
                lines[index] = _GUIDE_ATTRIBUTE.sub(lambda m: '%s="%s"' % (m.group(1), ",".join(
                    _channel_uri(url.strip(), base_url, make_uri, ()) for url in m.group(2).split(","))), line)
            elif entry.startswith("#EXTINF"):
                headers = []
            else:
                headers += _option_line_headers(entry)
        elif entry:
            url, bar, suffix = entry.partition("|")
            start = line.index(entry)
            uri = _channel_uri(url.strip(), base_url, make_uri, tuple(headers + (_kodi_headers(suffix) if bar else [])))
            lines[index] = line[:start] + uri + line[start + len(entry):]
            headers = []
    return "\n".join(lines)


def _option_line_headers(line: str) -> List[Tuple[str, str]]:
    """The headers an #EXTVLCOPT or #EXTHTTP line sets (none from any other line)."""
    if line.startswith("#EXTVLCOPT:"):
        option, _, value = line[len("#EXTVLCOPT:"):].partition("=")
        header = VLC_HEADER_OPTIONS.get(option.strip().lower())
        return [(header, value.strip())] if header else []
    if line.startswith("#EXTHTTP:"):
        try:
            fields = json.loads(line[len("#EXTHTTP:"):])
        except ValueError:
            return []
        if isinstance(fields, dict):
            return [(str(name), str(value)) for name, value in fields.items() if isinstance(value, (str, int, float))]
    return []


def _kodi_headers(suffix: str) -> List[Tuple[str, str]]:
    """The headers of a Kodi URL suffix (after "|"): Name=value pairs joined by
    "&", percent-encoded or not."""
    pairs = []
    for part in suffix.split("&"):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            pairs.append((unquote(name.strip()), unquote(value.strip())))
    return pairs


def _channel_uri(url: str, base_url: str, make_uri: Callable[..., str], headers: Tuple[Tuple[str, str], ...]) -> str:
    """A channel's (or a guide's) URL as a proxy URL, or as it is when the proxy
    cannot fetch it (rtmp://, udp://, a plugin:// of Kodi's)."""
    scheme = _SCHEME.match(url)
    if not url or (scheme and scheme.group(1).lower() not in ("http", "https")):
        return url
    absolute = _resolved(url, base_url)
    if absolute is None or not absolute.lower().startswith(("http://", "https://")):
        return url
    return make_uri(absolute, "", "", headers) if headers else make_uri(absolute, "")


# ---------------------------------------------------------------------------
# The MPD rewriter (pure): DASH manifests rewritten in place
#
# An MPD is XML, and it is rewritten as text, as a playlist is: one regular
# expression finds the elements that carry URLs and the levels that carry
# BaseURLs (everything else, a SegmentTimeline's thousands of <S/>, is skipped
# by it in C), each URL value is replaced where it stands, and every other
# byte stays: namespace prefixes, attribute order and quoting, comments, white
# space, line endings. No XML parser reads upstream bytes, so no entity is
# ever expanded and nothing external is fetched; a declaration (DOCTYPE,
# ENTITY), which real MPDs never have, is refused (ISO/IEC 23009-1 5.3).
#
# A player resolves a URL of an MPD against the BaseURLs of its level and of
# each level above (MPD, Period, AdaptationSet, Representation), the MPD's own
# URL at the top (section 5.6). Each BaseURL is written as a proxy URL that
# stands for an upstream directory (the "directory" kind: /p/<token>/ maps
# every path under it back under that directory), so a level with BaseURLs is
# "mapped": a plain relative value below it stays as written, and every
# BaseURL of a level stays (DVB failover and content steering choose among
# them). A template ($RepresentationID$/$Number$.m4s) that must be written out
# becomes a directory URL followed by the template, for the player to expand.
# ---------------------------------------------------------------------------

#: Levels of an MPD whose BaseURLs the levels below inherit (a patch document's
#: root, and the elements a patch or an xlink brings, are levels too).
MPD_LEVELS = frozenset({"MPD", "Patch", "Period", "AdaptationSet", "Representation"})

#: Element -> (attribute, kind) of the attributes that hold a URL (URI_KIND_EXTENSIONS
#: names its file). ``*:href`` (xlink) is looked for on every element found.
MPD_URL_ATTRIBUTES = types.MappingProxyType({
    "SegmentTemplate": (("media", "fmp4"), ("initialization", "init"), ("index", "fmp4"),
                        ("bitstreamSwitching", "init")),
    "SegmentURL": (("media", "fmp4"), ("index", "fmp4")),
    "Initialization": (("sourceURL", "init"),),
    "RepresentationIndex": (("sourceURL", "fmp4"),),
    "BitstreamSwitching": (("sourceURL", "init"),),
    "AlternativeMPD": (("uri", "mpd"),),
    "UTCTiming": (("value", "clock"),),  # for the http-* schemes only
    "SupplementalProperty": (("value", "mpd"),),  # for chaining and fallback only
    "EssentialProperty": (("value", "mpd"),),
})

#: Element -> the kind of the URL that is its text.
MPD_URL_ELEMENTS = types.MappingProxyType({
    "BaseURL": "directory", "Location": "mpd", "PatchLocation": "mpd", "ContentSteering": "json",
})

#: schemeIdUri -> whether the element's @value holds URLs (several, white-space separated).
MPD_URL_SCHEMES = frozenset({
    "urn:mpeg:dash:utc:http-head:2014", "urn:mpeg:dash:utc:http-xsdate:2014", "urn:mpeg:dash:utc:http-iso:2014",
    "urn:mpeg:dash:utc:http-ntp:2014", "urn:mpeg:dash:utc:http-head:2012", "urn:mpeg:dash:utc:http-xsdate:2012",
    "urn:mpeg:dash:utc:http-iso:2012", "urn:mpeg:dash:utc:http-ntp:2012",
    "urn:mpeg:dash:chaining:2016", "urn:mpeg:dash:fallback:2016",
})

_MPD_CONTENT_TYPE = "application/dash+xml"

#: What may stand before an MPD's root element: a BOM, white space, the XML
#: declaration, processing instructions and comments.
_XML_PROLOGUE = re.compile(rb"(?:\xef\xbb\xbf)?(?:[ \t\r\n]+|<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!->))*-->)*")
_MPD_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(MPD|Patch)[ \t\r\n/>]")
_XML_DECLARATION = re.compile(rb"<!(?!--)")

_NAMES = "|".join(sorted(MPD_LEVELS | set(MPD_URL_ATTRIBUTES) | set(MPD_URL_ELEMENTS)
                         | {"SegmentList", "EventStream", "SegmentTimeline"}))
_TIMELINE_END = re.compile(r"</(?:[A-Za-z_][\w.-]*:)?SegmentTimeline\s*>")
#: One thing the rewriter looks at: a comment, CDATA or processing instruction
#: (skipped whole, so a URL inside one is left alone), a declaration (refused),
#: or a start or end tag of an element it knows (the rest is skipped unseen).
_MPD_TOKEN = re.compile(
    r"<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|\?.*?\?>|(?P<declaration>!)"
    r"|(?P<end>/)?(?:[A-Za-z_][\w.-]*:)?(?P<name>%s)(?=[\s/>])"
    r"(?P<attributes>(?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*?)(?P<empty>/)?>)" % _NAMES, re.S)
_XML_ATTRIBUTE = re.compile(r"\s+([^\s=/>]+)\s*=\s*(\"[^<\"]*\"|'[^<']*')")
_XML_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9A-Fa-f]{1,6}));|&")
_XML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_ISO_DURATION = re.compile(r"\s*P(?:([0-9.]+)Y)?(?:([0-9.]+)M)?(?:([0-9.]+)W)?(?:([0-9.]+)D)?"
                           r"(?:T(?:([0-9.]+)H)?(?:([0-9.]+)M)?(?:([0-9.]+)S)?)?\s*\Z")
#: A live MPD that says no minimumUpdatePeriod is refetched by players at will:
#: kept this long, so that it is shared but never stale.
_LIVE_MPD_SECONDS = 1.0


def _element_verdict(content_type: Optional[str], head: bytes) -> Optional[bool]:
    """XML with an element at its root (an MPD's remote element, read as a part of it)."""
    rest = head[_XML_PROLOGUE.match(head).end():]
    if len(rest) < 2:
        return None if len(head) < _SNIFF_LIMIT else False
    return rest[:1] == b"<" and rest[1:2].isalpha()


def _mpd_verdict(content_type: Optional[str], head: bytes) -> Optional[bool]:
    """An MPD or MPD patch: its root element, after what may stand before it,
    whatever its type. A DOCTYPE before such a root is refused (UpstreamError):
    entities are never expanded, and real MPDs have none."""
    start = _XML_PROLOGUE.match(head).end()
    rest = head[start:]
    if _MPD_ROOT.match(rest):
        return True
    if rest[:9].upper() == b"<!DOCTYPE" and _MPD_ROOT.match(b"<" + rest[9:].lstrip(b" \t\r\n")):
        raise UpstreamError("upstream sent an MPD with a DOCTYPE: refused (entities are never expanded)")
    if len(head) >= _SNIFF_LIMIT or (rest and not rest.startswith(b"<")):
        return False
    return None if len(rest) < 64 or rest.startswith((b"<!--", b"<?")) else False


def mpd_max_age(text: str, default: float) -> float:
    """Seconds a client or cache may keep this MPD: a static one ``default``;
    a live one (``type="dynamic"``) half its minimumUpdatePeriod, or a second
    when it has none; a patch a second (each is the change of its moment)."""
    name, attributes = _mpd_root(text)
    if name == "Patch":
        return _LIVE_MPD_SECONDS
    if name != "MPD" or attributes.get("type") != "dynamic":
        return default
    period = _iso_seconds(attributes.get("minimumUpdatePeriod", ""))
    return min(default, period / 2) if period else _LIVE_MPD_SECONDS


def _mpd_root(text: str) -> Tuple[str, Dict[str, str]]:
    """The name and attributes of a document's first element rewrite_mpd knows
    (an MPD's root: "MPD" or "Patch"); ("", {}) when there is none."""
    root = next((match for match in _MPD_TOKEN.finditer(text) if match.group("name")), None)
    return ("", {}) if root is None else (root.group("name"), _xml_attributes(root.group("attributes")))


def _iso_seconds(text: str) -> Optional[float]:
    """An xs:duration (PT2S, P1DT0.5S) in seconds, or None. Years and months
    count 365 and 30 days: only their order of size matters here."""
    match = _ISO_DURATION.match(text)
    if not match or not text.strip("P T\t\r\n"):
        return None
    try:
        return sum(float(value) * unit for value, unit in zip(
            match.groups(), (31536000, 2592000, 604800, 86400, 3600, 60, 1)) if value)
    except ValueError:
        return None


def _xml_attributes(text: str) -> Dict[str, str]:
    """A tag's attributes by local name (``xlink:href`` is ``href``), decoded."""
    return {name.rpartition(":")[2]: _xml_text(value[1:-1]) for name, value in _XML_ATTRIBUTE.findall(text)}


def _xml_text(value: str) -> str:
    """An attribute value or text as the XML means it: the five entities and
    character references decoded; any other ``&`` is malformed, and refused
    (a document with no DOCTYPE defines no entity of its own)."""
    if "&" not in value:
        return value

    def decode(match) -> str:
        name, decimal, hexadecimal = match.groups()
        if name:
            return _XML_ENTITIES[name]
        if decimal or hexadecimal:
            code = int(decimal) if decimal else int(hexadecimal, 16)
            if 0 < code < 0x110000:
                return chr(code)
        raise UpstreamError("upstream MPD is malformed: a bare '&' or an unknown entity in a URL")
    return _XML_REFERENCE.sub(decode, value)


def _xml_escape(value: str, quote: str = "") -> str:
    """``value`` written back into XML text, or into an attribute quoted with ``quote``."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote == '"':
        return value.replace('"', "&quot;")
    return value.replace("'", "&apos;") if quote == "'" else value


class _MpdLevel:
    """One level of the BaseURL chain while an MPD is rewritten."""

    __slots__ = ("base", "mapped", "has_base", "children", "deferred", "parent")

    def __init__(self, parent: Optional["_MpdLevel"], base: str, mapped: bool) -> None:
        self.parent = parent
        self.base = base  #: the upstream URL a value at this level resolves against
        #: The player's base here maps back onto ``base``'s directory (a BaseURL
        #: of ours at this level or above, or the document's own /p/ URL).
        self.mapped = mapped
        self.has_base = False  #: a BaseURL of this level was seen
        self.children = []  # type: List[_MpdLevel]
        #: Plain relative values at an unmapped level: (start, end, value, kind,
        #: quote), decided when the level ends and its users are known.
        self.deferred = []  # type: List[Tuple[int, int, str, str, str]]

    def users_mapped(self) -> bool:
        """Whether every Representation that inherits a value of this level
        resolves it against a mapped base."""
        return self.mapped or (bool(self.children) and all(child.users_mapped() for child in self.children))


class _MpdRewrite:
    """One rewrite of an MPD (rewrite_mpd): the scan, the level chain, the edits."""

    def __init__(self, text: str, base_url: str, make_uri: Callable[..., str], keep_relative: bool,
                 query: str) -> None:
        self.text, self.make_uri, self.query = text, make_uri, query
        self.levels = [_MpdLevel(None, base_url, keep_relative)]
        self.edits = []  # type: List[Tuple[int, int, str]]

    def run(self) -> str:
        position = 0
        while True:
            match = _MPD_TOKEN.search(self.text, position)
            if match is None:
                break
            position = self.take(match)
        while len(self.levels) > 1:
            self.close_level()
        self.decide(self.levels[0])
        return self.edited()

    def take(self, match) -> int:
        """Act on one token of the scan; return where the scan goes on."""
        if match.group("declaration"):
            raise UpstreamError("upstream MPD has a declaration (DOCTYPE or ENTITY): refused")
        name = match.group("name")
        if name is None:
            return match.end()  # a comment, CDATA or processing instruction
        if match.group("end"):
            if name in MPD_LEVELS and len(self.levels) > 1:
                self.close_level()
            return match.end()
        if name == "SegmentTimeline":
            if match.group("empty"):
                return match.end()
            # Thousands of <S/> and never a URL: skipped at once, to where the timeline ends.
            end = _TIMELINE_END.search(self.text, match.end())
            return end.start() if end else len(self.text)
        if name in MPD_URL_ATTRIBUTES or "href" in match.group("attributes"):
            self.rewrite_attributes(match, name)
        if name in MPD_URL_ELEMENTS and not match.group("empty"):
            self.rewrite_text(match.end(), MPD_URL_ELEMENTS[name])
        if name in MPD_LEVELS:
            parent = self.levels[-1]
            level = _MpdLevel(parent, parent.base, parent.mapped)
            parent.children.append(level)
            self.levels.append(level)
            if match.group("empty"):
                self.close_level()
        return match.end()

    def edited(self) -> str:
        """The text with every edit made."""
        pieces, position = [], 0
        for start, end, new in sorted(self.edits):
            pieces += [self.text[position:start], new]
            position = end
        pieces.append(self.text[position:])
        return "".join(pieces)

    def close_level(self) -> None:
        self.decide(self.levels.pop())

    def decide(self, level: _MpdLevel) -> None:
        """The deferred values of a level that has ended: they stay relative when
        every user of them resolves them through a mapped base, else they are
        written out against the level's base."""
        keep = level.users_mapped()
        for start, end, value, kind, mark in level.deferred:
            if not keep:
                self.edits.append((start, end, self.written(start, end, value, level.base, kind, mark)))

    def rewrite_attributes(self, match, name: str) -> None:
        """The URL attributes of one start tag, in place."""
        offset = match.start("attributes")
        found = list(_XML_ATTRIBUTE.finditer(match.group("attributes")))
        names = {attribute.group(1).rpartition(":")[2]: attribute for attribute in found}
        wanted = dict(MPD_URL_ATTRIBUTES.get(name, ()))
        if name in ("UTCTiming", "SupplementalProperty", "EssentialProperty"):
            scheme = names.get("schemeIdUri")
            if scheme is None or _xml_text(scheme.group(2)[1:-1]).strip() not in MPD_URL_SCHEMES:
                wanted = {}
        for attribute in found:
            qualified, local = attribute.group(1), attribute.group(1).rpartition(":")[2]
            if local in wanted:
                kind = wanted[local]
            elif local == "href" and ":" in qualified and name not in MPD_URL_ATTRIBUTES:
                kind = "xlink"
            else:
                continue
            start, end = offset + attribute.start(2) + 1, offset + attribute.end(2) - 1
            quote = attribute.group(2)[0]
            if kind == "clock":  # the http-* schemes: one or more URLs
                self.rewrite_list(start, end, kind, quote)
            else:
                self.rewrite_value(start, end, kind, quote)

    def rewrite_text(self, start: int, kind: str) -> None:
        """The URL that is an element's text (BaseURL, Location, ...), its
        surrounding white space kept."""
        end = self.text.find("<", start)
        if end == -1 or self.text.startswith("<![CDATA[", end):
            return  # not well formed, or CDATA: left as it is
        value = self.text[start:end]
        stripped = value.strip()
        if stripped:
            start += len(value) - len(value.lstrip())
            self.rewrite_value(start, start + len(stripped), kind, "")

    def rewrite_list(self, start: int, end: int, kind: str, quote: str) -> None:
        for item in re.finditer(r"\S+", self.text[start:end]):
            self.rewrite_value(start + item.start(), start + item.end(), kind, quote)

    def rewrite_value(self, start: int, end: int, kind: str, quote: str) -> None:
        """One URL value at [start, end) of the text: kept, deferred, or written out."""
        level = self.levels[-1]
        raw = self.text[start:end]
        value = _xml_text(raw).strip()
        if not value or value.startswith("#"):
            return
        scheme = _SCHEME.match(value)
        if scheme and scheme.group(1).lower() not in ("http", "https"):
            return  # data:, urn:, and schemes the proxy cannot fetch
        # A value with a query is written out: the query goes into its token,
        # where a signature covers it. Under UrlQueryInfo every one is.
        plain = not (scheme or "?" in value or self.query) and _SIMPLE_RELATIVE.match(value) is not None
        if kind == "directory":
            parent = level.parent or level
            resolved = _resolved(value, parent.base)
            if resolved is None:
                return
            if not level.has_base:
                level.base = resolved
            level.mapped = level.has_base = True
            if not (plain and parent.mapped):  # else it stays relative: below a mapped base, it maps too
                self.edits.append((start, end, self.written(start, end, value, parent.base, kind, quote)))
        elif plain and kind in ("fmp4", "init"):
            if not level.mapped:
                level.deferred.append((start, end, value, kind, quote))
        else:
            self.edits.append((start, end, self.written(start, end, value, level.base, kind, quote)))

    def written(self, start: int, end: int, value: str, base: str, kind: str, quote: str) -> str:
        """``value`` resolved against ``base`` and written as a proxy URL, in XML."""
        url = _resolved(value, base)
        if url is None or not url.lower().startswith(("http://", "https://")):
            return self.text[start:end]
        path, _, query = url.partition("?")
        if kind in ("fmp4", "init", "directory") and self.query:
            query = (query + "&" if query else "") + self.query  # UrlQueryInfo: the proxy adds the MPD's query
        if path.find("/", path.find("//") + 2) == -1:
            path += "/"  # http://host is http://host/
        if kind == "directory" or "$" in path:
            # A directory URL, then the rest of the path as written: a BaseURL
            # that names a file stays one, a template stays a template.
            cut = path.find("$")
            directory = path[:path.rfind("/", 0, cut if cut != -1 else len(path)) + 1]
            if "$" in query:  # an identifier in the query: the player fills it in
                tail, query = path[len(directory):] + "?" + query, ""
            else:
                tail = path[len(directory):]
            new = self.make_uri(directory + ("?" + query if query else ""), "directory") + tail
        elif kind == "xlink":  # the element lands here: its URLs resolve against this level's base
            new = self.make_uri(path + ("?" + query if query else ""), kind, base)
        else:
            new = self.make_uri(path + ("?" + query if query else ""), kind)
        return _xml_escape(new, quote)


def rewrite_mpd(text: str, base_url: str, make_uri: Callable[..., str], keep_relative: bool = False) -> str:
    """Rewrite every URL of an MPD (or an MPD patch) with ``make_uri(url, kind)``;
    keep every other byte.

    ``base_url`` is the MPD's own URL after redirects. ``make_uri`` is called
    with absolute http(s) URLs; for the kind "directory" the URL is an upstream
    directory (ending in "/", with the query, if any, that every file under it
    gets), and the proxy URL returned must end in "/": the rest of the path is
    appended to it, as written. Kinds: "directory" (BaseURL, and the directory
    of a template), "fmp4" and "init" (segments and initialisation), "mpd"
    (Location, PatchLocation, chained and alternative MPDs), "json" (a content
    steering server), "clock" (UTCTiming's http-* schemes), "xlink" (a remote
    element). Licence servers and event callbacks are not rewritten.

    ``keep_relative``: the player's base for the document maps back onto its
    directory (served at /p/<token>/<name>), so plain relative values can stay.

    UrlQueryInfo with ``useMPDUrlQuery``: players copy the query of the MPD URL
    they know, the proxy's, onto segment URLs; the upstream's must go instead,
    so the proxy adds it to every segment URL it writes (all written out).

    Raises UpstreamError for a declaration (DOCTYPE) and a malformed reference.
    """
    return _MpdRewrite(text, base_url, make_uri, keep_relative, _mpd_url_query(text, base_url)).run()


_URL_QUERY_INFO = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:Ext)?UrlQueryInfo\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")


def _mpd_url_query(text: str, base_url: str) -> str:
    """The part of the MPD URL's query that UrlQueryInfo / ExtUrlQueryInfo
    (urn:mpeg:dash:urlparam:2014 and 2016) copy onto segment URLs, or "": all
    of it (``$querypart$``), or the parameters its ``$query:name$`` name."""
    query = base_url.partition("?")[2]
    if not query or "UrlQueryInfo" not in text:
        return ""
    for match in _URL_QUERY_INFO.finditer(text):
        attributes = _xml_attributes(match.group(1))
        if attributes.get("useMPDUrlQuery", "").strip().lower() not in ("true", "1"):
            continue
        names = re.findall(r"\$query:([^$]+)\$", attributes.get("queryTemplate", ""))
        if not names:
            return query
        return "&".join(part for part in query.split("&") if unquote(part.partition("=")[0]) in names)
    return ""


# What a player would fetch first and last of each Representation: the MPD
# read as a tree (by the same kind of scan, never an XML parser), templates
# and timelines expanded. For /diagnose.

_XML_TAG = re.compile(
    r"<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|\?.*?\?>|(?P<declaration>!)"
    r"|(?P<end>/)?(?:[A-Za-z_][\w.-]*:)?(?P<name>[A-Za-z_][\w.-]*)"
    r"(?P<attributes>(?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*?)(?P<empty>/)?>)", re.S)
_TEMPLATE_IDENTIFIER = re.compile(r"\$(RepresentationID|Number|Time|Bandwidth|SubNumber|)(%0[0-9]+[dxX])?\$")


class _XmlElement(NamedTuple):
    name: str  #: local name
    attributes: Dict[str, str]  #: by local name, decoded
    children: List["_XmlElement"]
    text: str  #: the text before the first child, decoded


def _xml_tree(text: str, limit: int = 200000) -> _XmlElement:
    """The elements of an XML document, for reading only (at most ``limit``
    of them); a declaration is refused, as rewrite_mpd refuses it."""
    root = _XmlElement("", {}, [], "")
    stack = [root]
    for count, match in enumerate(_XML_TAG.finditer(text)):
        if match.group("declaration"):
            raise UpstreamError("upstream MPD has a declaration (DOCTYPE or ENTITY): refused")
        if count > limit:
            break
        name = match.group("name")
        if name is None:
            continue
        if match.group("end"):
            if len(stack) > 1 and stack[-1].name == name:
                stack.pop()
            continue
        end = text.find("<", match.end())
        element = _XmlElement(name, _xml_attributes(match.group("attributes")), [],
                              _xml_text(text[match.end():end if end != -1 else len(text)]))
        stack[-1].children.append(element)
        if not match.group("empty"):
            stack.append(element)
    return root


def _children(element: _XmlElement, name: str) -> List[_XmlElement]:
    return [child for child in element.children if child.name == name]


def _expand_template(template: str, representation: Dict[str, str], number: int = 0, time_: int = 0) -> str:
    """A SegmentTemplate URL with its identifiers filled in (ISO/IEC 23009-1 5.3.9.4.4)."""
    def fill(match) -> str:
        name, form = match.groups()
        if not name:
            return "$"
        value = {"RepresentationID": representation.get("id", ""), "Number": number, "Time": time_,
                 "Bandwidth": representation.get("bandwidth", "0"), "SubNumber": 1}[name]
        if form and name != "RepresentationID":
            try:
                return form % int(value)
            except ValueError:
                return str(value)
        return str(value)
    return _TEMPLATE_IDENTIFIER.sub(fill, template)


def mpd_segments(text: str, base_url: str, now: Optional[float] = None) -> List[Tuple[str, List[Tuple[str, str, str]]]]:
    """Each Representation of an MPD's first Period, as a label and the requests
    a player starts and ends with: (what, absolute URL, byte range or "")
    for its init section, first segment and last segment. Templates,
    timelines, lists and SegmentBase are expanded as a player would."""
    root = next((child for child in _xml_tree(text).children if child.name == "MPD"), None)
    if root is None:
        return []
    periods = _children(root, "Period")
    if not periods:
        return []
    period, found, query = periods[0], [], _mpd_url_query(text, base_url)

    def base_of(element: _XmlElement, parent: str) -> str:
        urls = [url for url in (child.text.strip() for child in _children(element, "BaseURL")) if url]
        return _resolved(urls[0], parent) or parent if urls else parent

    period_base = base_of(period, base_of(root, base_url))
    seconds = _iso_seconds(period.attributes.get("duration") or root.attributes.get("mediaPresentationDuration", ""))
    for adaptation in _children(period, "AdaptationSet"):
        adaptation_base = base_of(adaptation, period_base)
        for representation in _children(adaptation, "Representation"):
            attributes = dict(adaptation.attributes, **representation.attributes)
            base = base_of(representation, adaptation_base)
            chain = [period, adaptation, representation]
            label = "%s %s" % (attributes.get("contentType") or attributes.get("mimeType", "").split("/")[0]
                               or "representation", attributes.get("id", "?"))
            requests = _representation_requests(chain, attributes, base, seconds, root, now)
            if query:  # as rewrite_mpd writes them: UrlQueryInfo's query on every segment request
                requests = [(what, url + ("&" if "?" in url else "?") + query, span) for what, url, span in requests]
            found.append((label, requests))
    return found


def _representation_requests(chain: List[_XmlElement], representation: Dict[str, str], base: str,
                             seconds: Optional[float], root: _XmlElement,
                             now: Optional[float]) -> List[Tuple[str, str, str]]:
    """mpd_segments for one Representation: its addressing, inherited down
    ``chain`` (Period, AdaptationSet, Representation), resolved against ``base``."""
    template, listed, single = (_nearest(chain, name) for name in ("SegmentTemplate", "SegmentList", "SegmentBase"))
    if template is not None:
        found = _template_requests(chain, representation, seconds, root, now)
    elif listed is not None:
        found = _list_requests(listed)
    elif single is not None:
        found = _single_file_requests(single)
    else:
        found = [("file", "", "")]
    # (what, a URL as written or "" for the base itself, a byte range or "")
    return [(what, (_resolved(value, base) or base) if value else base, span) for what, value, span in found]


def _nearest(chain: List[_XmlElement], name: str) -> Optional[_XmlElement]:
    """The innermost element ``name`` of the chain's levels, which the ones below inherit."""
    for element in reversed(chain):
        children = _children(element, name)
        if children:
            return children[0]
    return None


def _template_requests(chain: List[_XmlElement], representation: Dict[str, str], seconds: Optional[float],
                       root: _XmlElement, now: Optional[float]) -> List[Tuple[str, str, str]]:
    """A SegmentTemplate's init section, first and last segment, expanded."""
    merged = {}  # type: Dict[str, str]
    for element in chain:  # inherited attributes: the innermost wins
        for child in _children(element, "SegmentTemplate"):
            merged.update(child.attributes)
    found = []
    if merged.get("initialization"):
        found.append(("init section", _expand_template(merged["initialization"], representation), ""))
    media, start = merged.get("media", ""), int(_number_or_none(merged.get("startNumber", "1")) or 1)
    timeline = next((child for element in chain for template in _children(element, "SegmentTemplate")
                     for child in _children(template, "SegmentTimeline")), None)
    if media and timeline is not None:
        ends = _timeline_ends(timeline)
        if ends:
            (first_time, _), (last_time, last_index) = ends
            found.append(("first segment", _expand_template(media, representation, start, first_time), ""))
            if last_index:
                found.append(("last segment", _expand_template(media, representation, start + last_index,
                                                               last_time), ""))
    elif media:
        count = _numbered_count(merged, seconds, root, now)
        found.append(("first segment", _expand_template(media, representation, start), ""))
        if count > 1:
            found.append(("last segment", _expand_template(media, representation, start + count - 1), ""))
    return found


def _timeline_ends(timeline: _XmlElement) -> Optional[Tuple[Tuple[int, int], Tuple[int, int]]]:
    """(time, index) of a SegmentTimeline's first and last segment, or None for an empty one."""
    first = last = None
    clock, index = 0, 0
    for entry in _children(timeline, "S"):
        values = entry.attributes
        clock = int(_number_or_none(values.get("t", "")) or clock)
        duration = int(_number_or_none(values.get("d", "0")) or 0)
        repeat = max(0, int(_number_or_none(values.get("r", "0")) or 0))  # r=-1 (to the end): once
        first = first or (clock, index)
        last = (clock + duration * repeat, index + repeat)
        clock, index = clock + duration * (repeat + 1), index + repeat + 1
    return (first, last) if first else None


def _numbered_count(template: Dict[str, str], seconds: Optional[float], root: _XmlElement,
                    now: Optional[float]) -> int:
    """How many segments a template numbered by @duration has: the Period's
    length over it, or for a live MPD the ones out since availabilityStartTime."""
    duration = (_number_or_none(template.get("duration", "")) or 0) / (
        _number_or_none(template.get("timescale", "1")) or 1)
    if duration > 0 and root.attributes.get("type") == "dynamic":
        started = _xs_datetime(root.attributes.get("availabilityStartTime", ""))
        if started is not None:
            return max(1, int(((time.time() if now is None else now) - started) / duration))
    elif duration > 0 and seconds:
        return max(1, -int(-seconds // duration))
    return 1


def _list_requests(listed: _XmlElement) -> List[Tuple[str, str, str]]:
    """A SegmentList's init section, first and last segment (each with its range, if any)."""
    found = []
    for initialization in _children(listed, "Initialization")[:1]:
        found.append(("init section", initialization.attributes.get("sourceURL", ""),
                      initialization.attributes.get("range", "")))
    segments = _children(listed, "SegmentURL")
    for what, entries in (("first segment", segments[:1]), ("last segment", segments[1:][-1:])):
        for entry in entries:
            found.append((what, entry.attributes.get("media", ""), entry.attributes.get("mediaRange", "")))
    return found


def _single_file_requests(single: _XmlElement) -> List[Tuple[str, str, str]]:
    """A SegmentBase's init section and segment index: byte ranges of the file itself."""
    found = []
    for initialization in _children(single, "Initialization")[:1]:
        if initialization.attributes.get("range"):
            found.append(("init section", "", initialization.attributes["range"]))
    if single.attributes.get("indexRange"):
        found.append(("segment index", "", single.attributes["indexRange"]))
    return found


def _xs_datetime(text: str) -> Optional[float]:
    """An xs:dateTime (2026-12-07T10:00:00Z, with or without fractions) as Unix time, or None."""
    match = re.match(r"\s*(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?\s*\Z", text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    zone = match.group(8) or "Z"
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    utc = email.utils.mktime_tz((year, month, day, hour, minute, second, 0, 1, -1, 0))
    return utc + float(match.group(7) or 0) - offset


# ---------------------------------------------------------------------------
# Threads, turns and counters
#
# The few pieces every thread shares, each with one lock held for a few dict or
# list operations (the design note above says which guards what): dict keys any
# thread can read without the dict's lock on a free-threaded build, memos with a
# fixed bound, threads kept for reuse, the turnstile that serves clients in
# arrival order, and counters each thread adds to alone.
# ---------------------------------------------------------------------------

class _SharedKey(str):
    """A str that has had a weak reference: see ``_shared_key``."""


def _shared_key(text: str) -> str:
    """``text`` as it should be stored in a dict that other threads read.

    On a free-threaded build a dict read takes no lock only if it can take a
    reference to the key stored there, and it cannot when that key is the
    object of another thread that alone refers to it (CPython's biased
    reference counts) and has never had a weak reference. The read then
    takes the dict's lock: on 3.13.5t with -X gil=0 about 20 us a read
    instead of 0.25, and two threads reading queue on it (CPython gh-124642).
    Every request looks its path and its cache keys up in an equal string of
    its own, so each shared dict stores this weakly referenced copy instead:
    an equal str (its hash and equality are str's), read without a lock.
    """
    key = _SharedKey(text)
    weakref.ref(key)  # marks the object for good, though the reference dies at once
    return key


class _BoundedMemo:
    """A dict with a fixed bound whatever its keys: once the keys held pass
    ``max_bytes`` in all, it forgets everything and starts again."""

    def __init__(self, max_bytes: int = 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._values = {}  # type: Dict[str, object]
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, default=None):
        return self._values.get(key, default)

    def put(self, key: str, value) -> None:
        with self._lock:
            if key not in self._values:
                if self._bytes + len(key) > self.max_bytes:
                    self._values, self._bytes = {}, 0
                self._bytes += len(key)
            self._values[_shared_key(key)] = value


class _Workers:
    """Threads kept a while for reuse: the fetcher's pumps, the server's handlers.

    Thread.start() waits until the new thread runs, a handshake that shows in a
    cold segment's time and in a new connection's first answer (bench/README.md,
    W3 and W7). An idle thread takes the next job instead; one idle for
    ``idle_seconds`` ends. As many run at once as there are jobs, but only
    ``max_spare`` wait that long (Apache's MaxSpareThreads): one more waits
    ``surplus_seconds``, then ends. A steady load finds its threads again within
    a second; after a burst of viewers the surplus is gone a second later, as
    each idle thread holds a whole stack reserved, which a 32-bit router cannot
    spare by the hundred. (Ending a surplus thread at once instead made threads
    start and end under a steady load of a few more jobs than the cap: W3 lost
    a fifth of its throughput.)
    """

    #: Idle threads kept for ``idle_seconds``: enough for the connections a few
    #: players open and close around each segment, few enough to be nothing on a
    #: small box.
    max_spare = 8
    #: How long an idle thread beyond ``max_spare`` waits for a job.
    surplus_seconds = 1.0

    def __init__(self, name: str, idle_seconds: float = 30.0) -> None:
        self.name = name
        self.idle_seconds = idle_seconds
        self.started = 0  # threads started, ever
        self._jobs = queue.Queue()  # type: queue.Queue
        self._idle = 0
        self._lock = threading.Lock()  # guards _idle and started, against the queue

    def run(self, function: Callable, *args) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1  # that thread's next job is this one
                self._jobs.put((function, args))
                return
            self.started += 1
        threading.Thread(target=self._work, args=((function, args),), name=self.name, daemon=True).start()

    def close(self) -> None:
        """End the idle threads now; one at work ends once idle for ``idle_seconds``."""
        with self._lock:
            idle, self._idle = self._idle, 0
            for _ in range(idle):
                self._jobs.put(None)

    def _work(self, job) -> None:
        while job is not None:
            function, args = job
            function(*args)
            with self._lock:
                surplus = self._idle >= self.max_spare
                self._idle += 1
            try:
                job = self._jobs.get(timeout=self.surplus_seconds if surplus else self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    try:
                        job = self._jobs.get_nowait()  # given to us as we timed out
                    except queue.Empty:
                        self._idle -= 1
                        return


class Turnstile:
    """A semaphore that hands its slots out strictly in arrival order.

    Why: a thread coming back from a socket call takes the GIL if it happens
    to be free, ahead of threads that have waited longer, so with a couple of
    hundred busy connections some answers waited seconds while the median
    waited milliseconds. Handlers serve from the cache and write to their
    clients in turns instead: a thread waiting for its turn sleeps on a queue
    of its own rather than fighting for the GIL, and turns come round in
    order. threading.Semaphore would not do: a newcomer can take a slot freed
    for a waiter, who then queues again. A queue.SimpleQueue, not a Lock: on
    3.13t a thread blocked on a Lock first spins, calling sched_yield up to 40
    times, and many waiters spinning so starve the holders (bench/README.md
    has the measurements).

    A turn is a thread's (``take``, ``give``), and is for work that does not
    block: every call that may block gives the calling thread's turn back
    first, the way Flight.read and UpstreamBody.read1 do (the Fetcher passes
    ``give`` on to them as their ``before_blocking``), so the handler never
    has to remember to.
    """

    def __init__(self, slots: int = 1) -> None:
        self._lock = threading.Lock()
        self._free = slots
        self._waiters = deque()  # one queue per waiting thread, oldest first
        self._mine = threading.local()  # .held: whether this thread holds a turn

    def take(self) -> None:
        """This thread's turn, waited for in arrival order (at once if it has one)."""
        if not getattr(self._mine, "held", False):
            self.acquire()
            self._mine.held = True

    def give(self) -> None:
        """This thread's turn back, if it holds one: before anything that may block."""
        if getattr(self._mine, "held", False):
            self._mine.held = False
            self.release()

    def holds(self) -> bool:
        """Whether this thread holds a turn."""
        return getattr(self._mine, "held", False)

    def acquire(self) -> None:
        """A slot, in arrival order (``take`` is the way for a thread's turn)."""
        with self._lock:
            if self._free:
                self._free -= 1
                return
            waiter = queue.SimpleQueue()
            self._waiters.append(waiter)
        waiter.get()  # until release() hands this waiter the slot

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().put(None)  # the slot passes on, never back to the pool
            else:
                self._free += 1

    def waiting(self) -> int:
        """How many threads wait for a slot."""
        with self._lock:
            return len(self._waiters)


def _turn_slots() -> int:
    """One turn at a time where the GIL allows one thread at a time anyway; on a
    free-threaded build (3.13t), where threads run at once, one more than the
    cores, so that a core is not idle while a holder is in the kernel. Fewer
    turns leave cores idle; more let the tail grow towards no turnstile at all,
    where as many threads run as there are viewers, served in no order
    (bench/README.md, "Free-threaded 3.13t", has the runs that chose this)."""
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return 1 if gil else (os.cpu_count() or 1) + 1


class _Tally:
    """One thread's counts (see _ThreadCounts): that thread alone writes them."""

    __slots__ = ("counts", "__weakref__")

    def __init__(self) -> None:
        self.counts = {}  # type: Dict[object, float]


class _ThreadCounts:
    """Counters that every request adds to. Each thread adds to a dict of its
    own without a lock, since it alone writes there; a reader sums the dicts of
    the threads alive and what the threads that ended left (folded in when
    their thread-local tally goes, so a connection's thread leaves no dict).

    Why: on a free-threaded build every lock or dict that all requests write is
    where the cores queue: one lock for the counters, or one per stripe of
    threads, was where a loaded run spent its time (bench/README.md). Under
    the GIL this costs what one lock did.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()  # the tallies and the retired sums
        self._tallies = {}  # type: Dict[weakref.ref, Dict[object, float]]
        self._retired = {}  # type: Dict[object, float]
        self._gone = []  # type: List[weakref.ref]  # tallies of ended threads, to fold in

    def add(self, pairs: List[Tuple[object, float]]) -> None:
        """Add each (key, amount) of ``pairs`` to this thread's tally."""
        try:
            counts = self._local.tally.counts
        except AttributeError:
            counts = self._new_tally()
        for key, amount in pairs:
            counts[key] = counts.get(key, 0) + amount

    def totals(self) -> Dict[object, float]:
        """Every key's sum over the threads, alive and ended."""
        with self._lock:
            self._fold_gone()
            tallies = [dict(self._retired)] + [counts.copy() for counts in self._tallies.values()]
        totals = {}  # type: Dict[object, float]
        for counts in tallies:
            for key, amount in counts.items():
                totals[key] = totals.get(key, 0) + amount
        return totals

    def total(self, key) -> float:
        return self.totals().get(key, 0)

    def _new_tally(self) -> Dict[object, float]:
        tally = self._local.tally = _Tally()
        with self._lock:
            self._fold_gone()
            self._tallies[weakref.ref(tally, self._gone.append)] = tally.counts
        return tally.counts

    def _fold_gone(self) -> None:
        """Fold in the tallies of the threads that ended. (The weak reference's
        callback only notes one: it runs wherever the tally goes, maybe in a
        collection inside totals(), under this very lock.)"""
        while self._gone:
            for key, amount in self._tallies.pop(self._gone.pop(), {}).items():
                self._retired[key] = self._retired.get(key, 0) + amount


# ---------------------------------------------------------------------------
# Cache (pure: no I/O, and time comes from an injectable clock)
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Resource:
    """An upstream answer as the proxy keeps it: whole, and not yet rewritten.

    Playlists and JSON documents are rewritten for each request (the proxy's
    public URL comes from the request), so the cache holds upstream bytes.
    """

    kind: str  #: "playlist", "json" or "media"
    url: str  #: the final upstream URL, after redirects: the base for rewriting
    body: bytes
    content_type: str
    #: Upstream headers passed to clients with media (Last-Modified, ETag, ...).
    headers: Tuple[Tuple[str, str], ...] = ()
    #: The upstream's Cache-Control, which the policy obeys.
    cache_control: Optional[str] = None
    #: Set when the fetcher keeps it (0: never kept): names this very copy, so
    #: that a rewrite of it, kept as a cache entry of its own, is never taken
    #: for the rewrite of a newer copy.
    serial: int = 0
    #: The stream's cookies after this answer: what the URIs written into a
    #: playlist carry (see "Stream cookies").
    cookies: Tuple[StreamCookie, ...] = ()


#: Bytes a cache entry is counted for beyond its body: the entry, its key, its headers.
_ENTRY_OVERHEAD = 512


class CacheEntry:
    """A cached value with its size in bytes and its clock times; ``used``, when
    the cache last moved it to the recent end, is the cache's own business."""

    __slots__ = ("value", "size", "stored", "expires", "used")

    def __init__(self, value: Resource, size: int, stored: float, expires: float) -> None:
        self.value, self.size, self.stored, self.expires, self.used = value, size, stored, expires, stored


class TTLCache:
    """A dict-plus-timestamp cache, bounded by bytes, least recently used out first.

    One lock guards the dict's changes; nothing slow ever runs under it. A hit
    on an entry moved to the recent end within the last ``RECENT`` seconds
    takes no lock (a dict read is atomic, under the GIL and without it): the
    order is least recently used to the second, and the hits that every
    viewer of a stream makes do not queue on one lock. Keys are strings, kept
    as ``_shared_key`` makes them. ``clock`` is injectable so tests can move
    time without sleeping.
    """

    RECENT = 1.0

    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._clock = clock
        self._entries = OrderedDict()  # type: OrderedDict
        self._lock = threading.Lock()

    def get(self, key) -> Optional[CacheEntry]:
        """The live entry for ``key`` (now the most recently used), or None."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires > now and now - entry.used < self.RECENT:
            return entry
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= now:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            entry.used = now
            return entry

    def put(self, key, value: Resource, size: int, ttl: float) -> bool:
        """Keep ``value`` for ``ttl`` seconds, evicting the least recently used
        entries to make room. Returns False (and keeps nothing) when ``ttl`` is
        not positive or ``size`` exceeds the whole cache."""
        if ttl <= 0 or size > self.max_bytes:
            return False
        now = self._clock()
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[_shared_key(key)] = CacheEntry(value, size, now, now + ttl)
            self.bytes += size
            while self.bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))
        return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _drop(self, key) -> None:
        self.bytes -= self._entries.pop(key).size


# ---------------------------------------------------------------------------
# Cache and CORS policy (pure): what may be shared, for how long, who may read it
#
# One rule for every way an answer goes out (HIT, MISS, COALESCED, a direct
# relay): the same upstream answer gets the same Cache-Control, less the time
# the proxy has held it. Document kinds are a table: a new manifest format is
# one row and one rewriter. The CORS headers of every answer are decided in
# one place too.
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class DocumentKind:
    """A kind of text document the proxy rewrites: how it is told from its first
    bytes, how its URIs are rewritten, how long it may be kept, and its type."""

    name: str
    #: (Content-Type, first bytes) -> True, False, or None while more bytes are needed.
    detect: Callable[[Optional[str], bytes], Optional[bool]]
    #: (text, base URL, make_uri(url, kind), keep_relative) -> the rewritten text, or None to
    #: send it as it came; ``keep_relative``: relative URIs the player can resolve may stay.
    rewrite: Callable[[str, str, Callable[[str, str], str], bool], Optional[str]]
    #: (config, text) -> seconds the proxy, and a browser, may keep it.
    lifetime: Callable[["Config", str], float]
    #: upstream Content-Type (or "") -> the Content-Type clients get.
    content_type: Callable[[str], str]


#: What is not a document is media: streamed through as it came, kept --segment-ttl.
MEDIA = "media"

#: Content types that say nothing about a body. text/plain is what many
#: servers send for .vtt; text/vnd.trolltech.linguist is what Python's own
#: mimetypes table (and so http.server) sends for .ts.
_UNINFORMATIVE_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream",
                                  "text/plain", "text/vnd.trolltech.linguist"})


def _json_verdict(content_type: Optional[str], head: bytes) -> Optional[bool]:
    """A JSON body: said so, or an untyped body that starts like an object.
    Steering manifests and asset lists are JSON, but not every server says so."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if "json" in kind:
        return True
    if kind not in _UNINFORMATIVE_TYPES - {"text/vnd.trolltech.linguist"}:
        return False
    start = head.lstrip(b" \t\r\n")
    if not start:
        return None if len(head) < _SNIFF_LIMIT else False
    return start.startswith(b"{")


def _playlist_type(content_type: str) -> str:
    return content_type if _claims_playlist(content_type) else _PLAYLIST_CONTENT_TYPE


#: The documents the proxy rewrites, in the order they are tried.
DOCUMENT_KINDS = types.MappingProxyType({kind.name: kind for kind in (
    # Before "playlist": a channel list starts with #EXTM3U too.
    DocumentKind("channels", _channel_list_verdict, rewrite_channel_list,
                 lambda config, text: float(config.playlist_ttl), _playlist_type),
    DocumentKind("playlist", _playlist_verdict,
                 lambda text, base, make_uri, keep_relative: rewrite_playlist(text, base, make_uri, True,
                                                                              keep_relative),
                 lambda config, text: playlist_max_age(text, config.playlist_ttl), _playlist_type),
    # A live MPD is kept half its minimumUpdatePeriod, a static one as a VOD playlist.
    DocumentKind("mpd", _mpd_verdict, rewrite_mpd, lambda config, text: mpd_max_age(text, config.playlist_ttl),
                 lambda content_type: _MPD_CONTENT_TYPE),
    # Steering manifests say their own TTL in the body: browsers need not hold them.
    DocumentKind("json", _json_verdict, lambda text, base, make_uri, keep_relative: rewrite_json_document(
                 text, base, make_uri, kinds=True),
                 lambda config, text: 0.0,
                 lambda content_type: content_type or "application/json"),
)})


def kind_lifetime(config: Config, kind: str, text: str = "") -> float:
    """Seconds an answer of ``kind`` may be kept, before upstream's word on it:
    a document's by its row in DOCUMENT_KINDS (a live playlist half its target
    duration), media ``segment_ttl``."""
    document = DOCUMENT_KINDS.get(kind)
    return float(document.lifetime(config, text)) if document is not None else float(config.segment_ttl)


class _RewrittenDocument(NamedTuple):
    """A document rewritten for one public base: its bytes, and what the
    handler needs of its text without reading it again."""

    data: bytes
    content_type: str
    lifetime: float  #: kind_lifetime of the upstream text
    target_duration: Optional[float]  #: a playlist's, for timing blocking reloads
    text: str = ""  #: the upstream text (not kept)


def _rewrite_document(config: Config, resource: Resource, make_uri: Callable[[str, str], str],
                      keep_relative: bool = False, base_url: str = "") -> _RewrittenDocument:
    """Rewrite a playlist or other document by its row in DOCUMENT_KINDS;
    ``make_uri(url, kind)`` and ``keep_relative`` as for rewrite_playlist with
    kinds; relative URLs resolve against ``base_url``, or the document's own."""
    kind = DOCUMENT_KINDS[resource.kind]
    text = resource.body.decode("utf-8", "surrogateescape")
    rewritten = kind.rewrite(text, base_url or resource.url, make_uri, keep_relative)
    data = resource.body if rewritten is None else rewritten.encode("utf-8", "surrogateescape")
    duration = playlist_target_duration(text) if resource.kind == "playlist" else None
    return _RewrittenDocument(data, resource.content_type, kind.lifetime(config, text), duration, text)


_DIGITS = re.compile(r"[0-9]+\Z")


def may_share(status: int, headers, kind: str, max_object: int) -> bool:
    """Whether one upstream answer may serve many clients, and the cache.

    Not: anything but a 200, ``private``/``no-store`` answers, ``Vary: *``, and
    media too large to hold or of unknown size (compressed, or no
    Content-Length): those stream to one client alone.
    """
    if status != HTTPStatus.OK or "*" in (headers.get("Vary") or ""):
        return False
    if {"no-store", "private"} & set(_cache_directives(headers.get("Cache-Control"))):
        return False
    if kind != MEDIA:
        return True
    length = (headers.get("Content-Length") or "").strip()
    encoding = (headers.get("Content-Encoding") or "").strip().lower()
    return encoding in ("", "identity") and _DIGITS.match(length) is not None and int(length) <= max_object


def cache_ttl(config: Config, kind: str, upstream_cache_control: Optional[str] = None,
              playlist_text: str = "") -> float:
    """How long the proxy may keep an answer, in seconds (0: not at all).

    ``kind_lifetime``, unless upstream says ``no-store``, ``no-cache`` or
    ``private`` (then not at all) or a shorter ``max-age`` (then that).
    """
    directives = _cache_directives(upstream_cache_control)
    if {"no-store", "no-cache", "private"} & set(directives):
        return 0.0
    return _capped(kind_lifetime(config, kind, playlist_text), directives)


def client_cache_control(lifetime: float, upstream_cache_control: Optional[str], age: float = 0.0) -> str:
    """The Cache-Control a client gets, whichever way the answer reached it.

    ``lifetime`` is kind_lifetime's; an upstream ``max-age`` shorter than it
    wins (a longer one never: browsers would hold a live playlist past its
    life); ``age`` is how long the proxy has held the answer already. Upstream
    ``no-store`` and ``no-cache`` are passed on, and ``private`` keeps its scope.
    """
    directives = _cache_directives(upstream_cache_control)
    if "no-store" in directives:
        return "no-store"
    scope = "private" if "private" in directives else "public"
    if "no-cache" in directives:
        return scope + ", no-cache"
    return "%s, max-age=%d" % (scope, max(0.0, _capped(lifetime, directives) - age))


def _capped(lifetime: float, directives: Mapping[str, str]) -> float:
    upstream_age = _number_or_none(directives.get("max-age", ""))
    if upstream_age is not None and upstream_age >= 0:
        return float(min(lifetime, upstream_age))
    return float(lifetime)


@functools.lru_cache(maxsize=256)
def _cache_directives(value: Optional[str]) -> Mapping[str, str]:
    """``"public, max-age=60"`` -> {"public": "", "max-age": "60"} (read-only:
    remembered, as every hit reads the same few values again)."""
    directives = {}
    for directive in (value or "").split(","):
        name, _, argument = directive.strip().partition("=")
        if name:
            directives[name.lower()] = argument.strip().strip('"')
    return types.MappingProxyType(directives)


def cors_headers(config: Config, origin: Optional[str]) -> List[Tuple[str, str]]:
    """The CORS headers of every answer, for a request from ``origin`` (its
    Origin header, if any): the one place they are decided."""
    open_to_all = "*" in config.allow_origins
    headers = []
    if config.allow_credentials or not open_to_all:
        # Credentials and "*" never go together (browsers reject it): echo
        # the exact Origin, and tell caches the answer depends on it.
        headers.append(("Vary", "Origin"))
        if origin and (open_to_all or origin in config.allow_origins):
            headers.append(("Access-Control-Allow-Origin", origin))
            if config.allow_credentials:
                headers.append(("Access-Control-Allow-Credentials", "true"))
    else:
        headers.append(("Access-Control-Allow-Origin", "*"))
    headers.append(("Access-Control-Expose-Headers", EXPOSED_HEADERS))
    return headers


# ---------------------------------------------------------------------------
# HTTP/1.1 framing and conditions (pure: bytes and headers in, decisions out)
#
# A proxy shares connections: nginx in front keeps one open to us for many
# viewers, and we keep ours open to origins. Where two parties disagree on
# where a message ends, the bytes after it become the next viewer's answer
# (request smuggling, response desync) and a cache keeps them. So a message is
# framed strictly here, and what is ambiguous is refused with its connection
# closed, never guessed at (RFC 9112 sections 2.2, 5, 6). Reading a request's
# head and dropping its body take a file object, so they are tested on bytes.
# ---------------------------------------------------------------------------

#: The methods the proxy answers (each a ``do_`` verb); any other gets 405 with
#: these in ``Allow``, and a preflight lists them.
_ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")

#: A request body means nothing here (GET, HEAD, OPTIONS), but a client may
#: send one: it is read to its end and dropped, up to this size; past it, 413.
_MAX_REQUEST_BODY = 64 * 1024

#: Request header limits: lines and bytes (431 past either), as http.server's.
_MAX_HEADER_LINES = 100
_MAX_HEADER_BYTES = 64 * 1024

#: ``RequestHead.body_length`` for a chunked body (its length is not known).
_CHUNKED = -1

#: Headers a 304 (or a relayed 204) carries: validators and caching, no
#: representation metadata (RFC 9110 section 15.4.5).
_NOT_MODIFIED_HEADERS = frozenset({"etag", "last-modified", "cache-control", "expires", "vary", "age",
                                  "x-cache", "retry-after"})

# The target is "anything but a space" here: \S would also stop at NBSP or NEL,
# which raw UTF-8 bytes decoded as Latin-1 may hold (U+00E0 is C3 A0).
_REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^ ]+) HTTP/([0-9])\.([0-9])\Z")
_FIELD_VALUE_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # HTAB is allowed in a value

#: A well-formed field line in one pass: token, colon, OWS, a value without
#: controls (HTAB allowed) that ends in a visible byte, OWS, CRLF.
_FIELD_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*((?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?)"
                         rb"[ \t]*\r\n\Z")
_HOST_VALUE = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=%-]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?\Z")
_ABSOLUTE_FORM = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://([^/?#]*)([^#]*)\Z")
_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]*)?\r\n\Z")
_ENTITY_TAG = re.compile(r'(W/)?"[^"]*"')


class RequestHead(NamedTuple):
    """A request line and its header fields, checked for framing."""

    method: str
    #: The origin-form target (``/p/...``); an absolute-form one is reduced to it.
    target: str
    version: str  #: "HTTP/1.0" or "HTTP/1.1"
    fields: Tuple[Tuple[str, str], ...]
    #: Bytes of body that follow: 0 for none, a count, or _CHUNKED.
    body_length: int
    #: The client asked to close after this answer (or, on HTTP/1.0, did not ask to keep it).
    close: bool
    #: ``Expect: 100-continue``: the client waits for a 100 before sending its body.
    expects_continue: bool


def _parse_request_line(line: bytes) -> Tuple[str, str, str]:
    """Split a request line (CRLF included) into method, target and version.

    Strict (RFC 9112 section 3): one space between three parts, CRLF at the
    end (a bare LF or CR is refused: two parsers that split lines differently
    see different messages), no control characters. HTTP/1.x with x > 1 is
    answered as 1.1; any other major version gets 505. Bytes above 0x7F in the
    target (raw UTF-8 from a careless client) are percent-encoded here, once,
    so that nothing later encodes them again.
    """
    if not line.endswith(b"\r\n") or b"\r" in line[:-2] or b"\n" in line[:-2]:
        raise BadRequest("request line does not end with CRLF")
    match = _REQUEST_LINE.match(line[:-2].decode("latin-1"))
    if not match:
        raise BadRequest("malformed request line")
    method, target, major, minor = match.groups()
    if major != "1":
        raise HlsProxyError("HTTP/%s.%s is not supported; use HTTP/1.1" % (major, minor),
                            HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
    if _CONTROL_CHARACTERS.search(target):
        raise BadRequest("control character in the request target")
    if not target.isascii():
        target = re.sub(r"[\x80-\xff]+", lambda run: quote(run.group(0).encode("latin-1")), target)
    return method, target, "HTTP/1.0" if minor == "0" else "HTTP/1.1"


def _parse_field_line(line: bytes) -> Tuple[str, str]:
    """One header field line (CRLF included) -> (name, value without OWS).

    Refused: obs-fold (a line that starts with white space continues the one
    before it in old parsers, and not in others: RFC 9112 section 5.2), white
    space before the colon (section 5.1), a name that is not a token, a bare
    CR or LF, and control characters in the value.
    """
    match = _FIELD_LINE.match(line)
    if match:  # the usual line, whole in one pattern; the checks below name what is wrong with another
        return match.group(1).decode("latin-1"), match.group(2).decode("latin-1")
    if not line.endswith(b"\r\n") or b"\r" in line[:-2] or b"\n" in line[:-2]:
        raise BadRequest("header line does not end with CRLF")
    if line[:1] in (b" ", b"\t"):
        raise BadRequest("obsolete line folding in a header (RFC 9112 section 5.2)")
    name, colon, value = line[:-2].decode("latin-1").partition(":")
    if not colon or not _HEADER_NAME.match(name):
        raise BadRequest("malformed header line")
    value = value.strip(" \t")
    if _FIELD_VALUE_CONTROLS.search(value):
        raise BadRequest("control character in a header value")
    return name, value


def parse_request_head(request_line: bytes, field_lines: List[bytes]) -> RequestHead:
    """Check a whole request head; raise BadRequest (400) for anything ambiguous,
    and 405 for a method other than _ALLOWED_METHODS.

    A body is framed by exactly one of Content-Length (one number) or
    Transfer-Encoding (exactly ``chunked``), never both (RFC 9112 section 6.3);
    an HTTP/1.1 request has exactly one valid Host (section 3.2); an
    absolute-form target (section 3.2.2) is accepted, and its authority
    replaces Host.
    """
    method, target, version = _parse_request_line(request_line)
    if method not in _ALLOWED_METHODS:  # TRACE and CONNECT too; its body, if any, is never read
        raise HlsProxyError("method %s is not allowed here" % method, HTTPStatus.METHOD_NOT_ALLOWED,
                            (("Allow", ", ".join(_ALLOWED_METHODS)),))
    fields = [_parse_field_line(line) for line in field_lines]
    values = _field_values(fields)
    hosts = values.get("host", [])
    if len(hosts) > 1 or (version == "HTTP/1.1" and not hosts):
        raise BadRequest("an HTTP/1.1 request needs exactly one Host header")
    if hosts and not _HOST_VALUE.match(hosts[0]):
        raise BadRequest("malformed Host header")
    absolute = _ABSOLUTE_FORM.match(target)
    if absolute:
        authority, target = absolute.group(1), absolute.group(2) or "/"
        if "@" in authority or not _HOST_VALUE.match(authority):
            raise BadRequest("malformed authority in the request target")
        fields = [field for field in fields if field[0].lower() != "host"] + [("Host", authority)]
    if not (target.startswith("/") or (target == "*" and method == "OPTIONS")):
        raise BadRequest("the request target must start with /")
    connection = {token.strip().lower() for value in values.get("connection", []) for token in value.split(",")}
    close = "close" in connection if version == "HTTP/1.1" else "keep-alive" not in connection
    expect = [value.lower() for value in values.get("expect", [])]
    if expect and (expect != ["100-continue"]):
        raise HlsProxyError("only Expect: 100-continue is understood", HTTPStatus.EXPECTATION_FAILED)
    return RequestHead(method, target, version, tuple(fields), _body_length(version, values), close,
                       bool(expect) and version == "HTTP/1.1")


class _RequestFields:
    """A request's header fields as the handler reads them: ``get`` (the first
    value of a name, any case), ``in``, ``items`` in order. What http.server
    builds (an email.message.Message) costs a hit more than its answer does."""

    __slots__ = ("_fields", "_first")

    def __init__(self, fields: Tuple[Tuple[str, str], ...]) -> None:
        self._fields = fields
        self._first = {}  # type: Dict[str, str]
        for name, value in fields:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default=None):
        return self._first.get(name.lower(), default)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._first

    def items(self) -> List[Tuple[str, str]]:
        return list(self._fields)


def _field_values(fields: List[Tuple[str, str]]) -> Dict[str, List[str]]:
    values = {}  # type: Dict[str, List[str]]
    for name, value in fields:
        values.setdefault(name.lower(), []).append(value)
    return values


def _body_length(version: str, values: Dict[str, List[str]]) -> int:
    lengths, codings = values.get("content-length", []), values.get("transfer-encoding", [])
    if codings:
        if lengths:
            raise BadRequest("both Content-Length and Transfer-Encoding (RFC 9112 section 6.3)")
        if version == "HTTP/1.0":
            raise BadRequest("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 section 6.1)")
        if [coding.strip().lower() for value in codings for coding in value.split(",")] != ["chunked"]:
            raise BadRequest("unsupported Transfer-Encoding: only chunked is understood")
        return _CHUNKED
    if len(lengths) > 1:
        raise BadRequest("more than one Content-Length")
    if lengths and not _DIGITS.match(lengths[0]):
        raise BadRequest("Content-Length is not a number")
    return int(lengths[0]) if lengths else 0


def _parse_chunk_size(line: bytes) -> int:
    """The size in a chunk-size line (CRLF included), extensions ignored."""
    match = _CHUNK_SIZE_LINE.match(line)
    if not match:
        raise BadRequest("malformed chunk in the request body")
    return int(match.group(1), 16)


def read_request_head(rfile, max_line: int = 16 * 1024,
                      seen_method: Callable[[str], None] = lambda method: None) -> Optional[RequestHead]:
    """Read a request line and its header lines from ``rfile`` and parse them
    (parse_request_head); None if the client closed first. A head too large is
    refused (414, 431) as soon as it is, never read whole. ``seen_method``
    hears the method as soon as the line shows one: the log line of a refusal
    names it."""
    line = rfile.readline(max_line + 1)
    for _ in range(4):  # empty lines before a request line are ignored (RFC 9112 section 2.2)
        if line != b"\r\n":
            break
        line = rfile.readline(max_line + 1)
    method = line.split(b" ", 1)[0]
    if 0 < len(method) <= 16 and _HEADER_NAME.match(method.decode("latin-1")):
        seen_method(method.decode("ascii"))
    if len(line) > max_line:
        raise HlsProxyError("request line longer than %d KiB" % (max_line // 1024), HTTPStatus.REQUEST_URI_TOO_LONG)
    if not line.endswith(b"\n"):
        return None
    fields, size = [], 0
    while True:
        field = rfile.readline(_MAX_HEADER_BYTES + 1)
        if field == b"\r\n":
            return parse_request_head(line, fields)
        size += len(field)
        if size > _MAX_HEADER_BYTES or len(fields) >= _MAX_HEADER_LINES:
            raise HlsProxyError("request header fields too large", HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        if not field.endswith(b"\n"):
            return None
        fields.append(field)


def discard_request_body(rfile, head: RequestHead, send_continue: Callable[[], None] = lambda: None) -> bool:
    """Read the body ``head`` announces from ``rfile`` to its end and drop it;
    False if the client left first. ``send_continue`` answers a client that
    waits for 100 Continue, once the body's size is known to be acceptable.

    Read, not left on the connection: its bytes would be taken for the next
    request, and behind nginx that request is another viewer's.
    """
    if head.body_length > _MAX_REQUEST_BODY:
        raise HlsProxyError("request body larger than 64 KiB", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    if head.expects_continue:
        send_continue()
    if head.body_length != _CHUNKED:
        return len(rfile.read(head.body_length)) == head.body_length
    total = 0
    while True:
        line = rfile.readline(1024)
        if not line.endswith(b"\n") and len(line) < 1024:
            return False
        size = _parse_chunk_size(line)
        if size == 0:
            break
        total += size
        if total > _MAX_REQUEST_BODY:
            raise HlsProxyError("request body larger than 64 KiB", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        data = rfile.read(size + 2)
        if len(data) < size + 2:
            return False
        if not data.endswith(b"\r\n"):
            raise BadRequest("malformed chunk in the request body")
    for _ in range(_MAX_HEADER_LINES):  # the trailer section, dropped too
        line = rfile.readline(_MAX_HEADER_BYTES + 1)
        if line == b"\r\n":
            return True
        if not line.endswith(b"\n") and len(line) <= _MAX_HEADER_BYTES:
            return False
        _parse_field_line(line)
    raise HlsProxyError("request trailer fields too large", HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)


def check_response_framing(headers) -> None:
    """Refuse (502) an upstream answer whose end cannot be told for sure.

    http.client reads chunked when Transfer-Encoding says ``chunked`` and
    otherwise trusts the first Content-Length, or reads to the close: an answer
    with both, with another coding, or with a Content-Length that is not one
    number would leave bytes on a pooled connection for the next request.
    """
    codings = headers.get_all("Transfer-Encoding") or []
    lengths = {value.strip() for value in headers.get_all("Content-Length") or []}
    if codings and lengths:
        raise UpstreamError("upstream answer has both Content-Length and Transfer-Encoding")
    if codings and [c.strip().lower() for value in codings for c in value.split(",")] != ["chunked"]:
        raise UpstreamError("upstream answer uses a transfer coding other than chunked")
    if len(lengths) > 1 or (lengths and not _DIGITS.match(next(iter(lengths)))):
        raise UpstreamError("upstream answer has a malformed Content-Length")


def not_modified(request_headers, validators: Dict[str, str]) -> bool:
    """Whether a GET or HEAD may be answered 304 (RFC 9110 section 13.2.2).

    ``validators`` are the representation's lower-case ``etag`` and
    ``last-modified``. If-None-Match compares weakly and, when present, is the
    only condition; If-Modified-Since counts only without it.
    """
    if_none_match = request_headers.get("If-None-Match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        etag = validators.get("etag")
        return etag is not None and _weak(etag) in {_weak(tag.group(0)) for tag in
                                                    _ENTITY_TAG.finditer(if_none_match)}
    since, modified = _http_date(request_headers.get("If-Modified-Since")), _http_date(validators.get("last-modified"))
    return since is not None and modified is not None and modified <= since


def if_range_matches(value: str, validators: Dict[str, str]) -> bool:
    """Whether an If-Range validator lets a Range apply (RFC 9110 section 13.1.5):
    a strong, exact match of the ETag, or a date exactly the Last-Modified."""
    value = value.strip()
    if value.startswith("W/"):
        return False
    if value.startswith('"'):
        etag = validators.get("etag")
        return etag is not None and not etag.startswith("W/") and etag == value
    date = _http_date(value)
    return date is not None and date == _http_date(validators.get("last-modified"))


def byte_range(spec: str, size: int):
    """Parse one ``bytes=`` range against ``size``: (first, last), "unsatisfiable",
    or None to ignore it and answer whole (RFC 9110 section 14.2 allows that:
    several ranges, other units, nonsense). The forms nginx answers: first-last,
    first-, and the suffix -N."""
    match = re.match(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", spec)
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    else:
        start, end = max(0, size - int(last)), size - 1
        if int(last) == 0:
            return "unsatisfiable"
    if start >= size:
        return "unsatisfiable"
    return start, end


def is_part_of_a_body(spec: Optional[str]) -> bool:
    """A Range header that asks for less than a whole body: not absent, and
    not ``bytes=0-``, which ffmpeg and VLC send for everything."""
    return bool(spec) and spec.replace(" ", "").lower() != "bytes=0-"


def requested_range(request_headers, validators: Dict[str, str], size: int):
    """The range a request asks of a body of ``size`` bytes, as byte_range says,
    or None when it asks for none, or its If-Range names another version."""
    spec = request_headers.get("Range")
    if not spec:
        return None
    if_range = request_headers.get("If-Range")
    if if_range is not None and not if_range_matches(if_range, validators):
        return None
    return byte_range(spec, size)


def _validators(headers: List[Tuple[str, str]]) -> Dict[str, str]:
    return {name.lower(): value for name, value in headers if name.lower() in ("etag", "last-modified")}


def _not_modified_headers(headers: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() in _NOT_MODIFIED_HEADERS]


def _weak(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def _http_date(value: Optional[str]) -> Optional[float]:
    parsed = email.utils.parsedate_tz(value) if value else None
    return float(email.utils.mktime_tz(parsed)) if parsed else None


# ---------------------------------------------------------------------------
# Upstream: the address guard
#
# Private, loopback and link-local upstreams are refused unless --allow-private:
# a name is resolved here, every address it has is checked, and the connection
# goes to the very address that was checked, at every redirect hop too.
# ---------------------------------------------------------------------------

#: Non-public ranges that some Python versions' ``is_global`` misses: shared
#: address space (RFC 6598), benchmarking (RFC 2544), documentation, NAT64
#: local use (RFC 8215), and IPv4-compatible IPv6 (::a.b.c.d, deprecated).
_NON_PUBLIC_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "100.64.0.0/10", "198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
    "64:ff9b:1::/48", "2001:db8::/32", "::/96",
))


def check_address(address: str) -> None:
    """Raise Forbidden unless ``address`` (an IP literal) is a public unicast address.

    IPv4 addresses wrapped in IPv6 (mapped, 6to4, Teredo) are unwrapped and
    judged too: ``ipaddress`` answers differently for ``::ffff:127.0.0.1``
    between Python versions, so the unwrapping is done here, explicitly.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if ip.version == 6 and ip.ipv4_mapped:
        candidates = [ip.ipv4_mapped]
    elif ip.version == 6:
        candidates += [ip.sixtofour] + list(ip.teredo or ())
    for candidate in candidates:
        if candidate is None:
            continue
        if (candidate.is_loopback or candidate.is_private or candidate.is_link_local
                or candidate.is_reserved or candidate.is_multicast
                or candidate.is_unspecified or not candidate.is_global
                or any(candidate in network for network in _NON_PUBLIC_NETWORKS)):
            raise Forbidden("upstream address %s is not public (loopback, private or link-local); to proxy "
                            "streams on this machine or your LAN, start hlsproxy with --allow-private "
                            "(in a program: Config(allow_private=True))" % ip)


def _guarded_create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT,
                               source_address=None, allow_private=False):
    """socket.create_connection that judges every resolved address first.

    Connects to the very address it checked, so a DNS answer that changes
    between check and connect (rebinding) cannot slip through.
    """
    last_error = None  # type: Optional[OSError]
    infos = _resolve_checked(address[0], address[1], allow_private)
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            last_error = error
            sock.close()
    raise last_error or OSError("no address to connect to")


def _resolve_checked(host: str, port: int, allow_private: bool) -> list:
    """getaddrinfo(host, port), every address judged by check_address unless ``allow_private``."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UpstreamError("cannot resolve upstream host %s: %s" % (host, error.strerror)) from None
    if not allow_private:
        for info in infos:
            check_address(info[4][0])
    return infos


def _check_host_locally(host: str) -> None:
    """Judge ``host`` by this machine's resolver, when an upstream proxy will
    resolve it instead; a name only the proxy can resolve is its to judge."""
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return
    for info in infos:
        check_address(info[4][0])


# ---------------------------------------------------------------------------
# SOCKS5 upstream proxies (RFC 1928, RFC 1929)
#
# --upstream-proxy socks5://… connects through a SOCKS server: socks5 resolves
# names here (under the address guard), socks5h lets the SOCKS server resolve
# them (the guard then judges the name only).
# ---------------------------------------------------------------------------

class _SocksProxy(NamedTuple):
    """A SOCKS5 proxy for upstream connections (``--upstream-proxy socks5://…``)."""

    host: str
    port: int
    #: socks5h: the proxy resolves upstream names; socks5: this machine does.
    remote_names: bool
    username: Optional[str] = None
    password: Optional[str] = None

    @classmethod
    def from_url(cls, url: str) -> "_SocksProxy":
        parts = urlsplit(url)
        login = parts.username is not None
        return cls(parts.hostname, parts.port or 1080, parts.scheme == "socks5h",
                   unquote(parts.username) if login else None, unquote(parts.password or "") if login else None)


#: SOCKS5 reply codes (RFC 1928 section 6) -> what they mean.
_SOCKS_REPLIES = types.MappingProxyType({
    1: "the SOCKS proxy failed", 2: "the SOCKS proxy's rules do not allow it",
    3: "network unreachable", 4: "host unreachable", 5: "connection refused", 6: "TTL expired",
    7: "the SOCKS proxy does not support CONNECT", 8: "the SOCKS proxy does not support that address type",
})


def _socks_create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None,
                             socks: Optional[_SocksProxy] = None, allow_private: bool = False):
    """A socket to ``address`` through the SOCKS5 proxy ``socks`` (RFC 1928,
    with RFC 1929's user name and password), under the same address guard.

    socks5: this machine resolves the name and judges every address, and the
    proxy is asked for the very address checked. socks5h: the proxy resolves
    it; the name is judged by what this machine can resolve of it (as for an
    HTTP upstream proxy), and one only the proxy knows is the proxy's to judge.
    """
    host, port = address
    if socks.remote_names:
        if not allow_private:
            _check_host_locally(host)
        destinations = [host]
    else:
        infos = _resolve_checked(host, port, allow_private)
        destinations = list(OrderedDict.fromkeys(info[4][0] for info in infos))
    where = "SOCKS proxy %s:%d" % (socks.host, socks.port)
    for number, destination in enumerate(destinations, 1):
        try:
            sock = socket.create_connection((socks.host, socks.port), timeout, source_address)
        except socket.timeout:
            raise UpstreamError(where + " timed out", HTTPStatus.GATEWAY_TIMEOUT) from None
        except OSError as error:
            raise UpstreamError("%s unreachable: %s" % (where, error.strerror or error)) from None
        try:
            reply = _socks_handshake(sock, socks, destination, port)
            if reply == 0:
                return sock
        except socket.timeout:
            sock.close()
            raise UpstreamError(where + " timed out", HTTPStatus.GATEWAY_TIMEOUT) from None
        except OSError as error:
            sock.close()
            raise UpstreamError("%s failed: %s" % (where, error.strerror or error)) from None
        except BaseException:
            sock.close()
            raise
        sock.close()
        if reply not in (3, 4, 5, 6) or number == len(destinations):  # an unreachable address: try the next
            raise UpstreamError("SOCKS proxy could not reach the upstream: %s" % _SOCKS_REPLIES.get(
                reply, "reply %d" % reply), HTTPStatus.GATEWAY_TIMEOUT if reply == 6 else HTTPStatus.BAD_GATEWAY)
    raise AssertionError("unreachable")  # pragma: no cover


def _socks_handshake(sock: socket.socket, socks: _SocksProxy, destination: str, port: int) -> int:
    """Greet, log in if asked, CONNECT; return the proxy's reply code (0: connected)."""
    methods = b"\x00\x02" if socks.username is not None else b"\x00"
    sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
    version, method = _receive(sock, 2)
    if version != 5:
        raise UpstreamError("upstream proxy %s:%d does not speak SOCKS5" % (socks.host, socks.port))
    if method == 2 and socks.username is not None:
        user, password = socks.username.encode("utf-8"), socks.password.encode("utf-8")
        sock.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password)
        if _receive(sock, 2)[1] != 0:
            raise UpstreamError("SOCKS proxy refused the user name and password")
    elif method != 0:  # 0xFF: none of those offered (RFC 1928 section 3)
        raise UpstreamError("SOCKS proxy wants a user name and password (socks5://USER:PASSWORD@HOST:PORT)"
                            if socks.username is None else
                            "SOCKS proxy accepts none of the login methods hlsproxy has (none, user name and password)")
    sock.sendall(b"\x05\x01\x00" + _socks_address(destination) + port.to_bytes(2, "big"))
    version, reply, _, kind = _receive(sock, 4)
    if version != 5:
        raise UpstreamError("upstream proxy %s:%d does not speak SOCKS5" % (socks.host, socks.port))
    if reply == 0:  # the address the proxy connected from, which nobody needs
        _receive(sock, {1: 4, 4: 16}.get(kind) or _receive(sock, 1)[0])
        _receive(sock, 2)
    return reply


def _socks_address(destination: str) -> bytes:
    """DST.ADDR with its ATYP (RFC 1928 section 5): IPv4, IPv6 or a name."""
    try:
        ip = ipaddress.ip_address(destination)
        return (b"\x01" if ip.version == 4 else b"\x04") + ip.packed
    except ValueError:
        name = destination.encode("idna")
        if len(name) > 255:
            raise UpstreamError("upstream host name too long for SOCKS") from None
        return b"\x03" + bytes([len(name)]) + name


def _receive(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes of a SOCKS answer."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise UpstreamError("SOCKS proxy closed the connection during its handshake")
        data += chunk
    return data


# ---------------------------------------------------------------------------
# Stream cookies
#
# Some origins set a cookie on the master playlist and want it back on every
# later request of that stream (hls.js#5871, many IPTV providers). The proxy
# keeps a stream's cookies in its proxy URLs, not in memory: the next request
# of a stream may reach another --workers process or another instance behind
# nginx, and any of them can serve it. Each upstream request gets a jar built
# from its target's cookies; each hop sends what RFC 6265 says matches (domain,
# path, expiry, Secure: http.cookiejar's rules) and keeps what each answer
# sets; a playlist's answer stores the jar it ended with, and every URI
# written into it carries that jar. Set-Cookie never reaches the browser.
# ---------------------------------------------------------------------------

#: At most this many bytes of cookies (as JSON) travel with a stream: every
#: URI of its playlists carries them.
_MAX_STREAM_COOKIE_BYTES = 4096


def _jar_from(records: Tuple["StreamCookie", ...]) -> http.cookiejar.CookieJar:
    """A jar holding a stream's cookies."""
    jar = http.cookiejar.CookieJar()
    for c in records:
        jar.set_cookie(http.cookiejar.Cookie(
            0, c.name, c.value, None, False, c.domain, not c.host_only, c.domain.startswith("."), c.path, True,
            c.secure, c.expires or None, not c.expires, None, None, {}))
    return jar


def _records_of(jar: http.cookiejar.CookieJar) -> Tuple["StreamCookie", ...]:
    """The unexpired cookies of ``jar`` as sorted records (the same cookies
    make the same proxy URLs), at most _MAX_STREAM_COOKIE_BYTES of them."""
    now, records, size = time.time(), [], 0
    for cookie in sorted(jar, key=lambda c: (c.domain, c.path, c.name)):
        if cookie.is_expired(now):
            continue
        record = StreamCookie(cookie.name, cookie.value or "", cookie.domain, not cookie.domain_specified,
                              cookie.path, bool(cookie.secure), int(cookie.expires or 0))
        size += len(json.dumps(record)) + 1
        if size > _MAX_STREAM_COOKIE_BYTES:
            _logger.warning("upstream %s set more cookies than a stream carries (%d bytes); the rest are dropped",
                           cookie.domain, _MAX_STREAM_COOKIE_BYTES)
            break
        records.append(record)
    return tuple(records)


class _CookieProcessor(urllib.request.BaseHandler):
    """Each request's own jar (``request.jar``, its stream's cookies): on each
    hop, redirects included, the cookies that match are sent (beside a Cookie
    of --headers or the URL's options), and what the answer sets is kept."""

    def http_request(self, request):
        jar = getattr(request, "jar", None)
        if jar:  # an empty jar sends nothing: most requests stop here
            probe = urllib.request.Request(request.full_url)
            jar.add_cookie_header(probe)
            sent, own = probe.get_header("Cookie"), request.get_header("Cookie")
            if sent:
                request.add_unredirected_header("Cookie", "%s; %s" % (sent, own) if own else sent)
        return request

    def http_response(self, request, response):
        jar = getattr(request, "jar", None)
        if jar is not None and response.headers.get("Set-Cookie"):
            jar.extract_cookies(response, request)
        return response

    https_request = http_request
    https_response = http_response


# ---------------------------------------------------------------------------
# Upstream connections: TLS, the pool, the opener, the request
#
# Connections to origins are kept and reused, but only after an answer that
# ended cleanly at its framed end; urllib's opener is built once per server
# from handlers that guard, pool, redirect (re-checking every hop) and keep
# cookies. open_upstream is the one way an upstream request is made.
# ---------------------------------------------------------------------------

#: OpenSSL's verification codes (X509_V_ERR_*) -> what they mean for the user.
_CERTIFICATE_FAILURES = types.MappingProxyType({
    9: "upstream's TLS certificate is not valid yet (is this machine's clock right?)",
    10: "upstream's TLS certificate has expired",
    18: "upstream's TLS certificate is self-signed and not trusted here",
    19: "upstream's TLS certificate chain ends in a CA that is not trusted here",
    20: "upstream's TLS certificate is signed by a CA that is not trusted here",
    21: "upstream's TLS certificate is signed by a CA that is not trusted here",
    62: "upstream's TLS certificate is for another host name",
    64: "upstream's TLS certificate is for another IP address",
})


def _upstream_tls_context(config: Config):
    """The one TLS context https upstreams are checked with: the system's CA
    certificates (or SSL_CERT_FILE / SSL_CERT_DIR, which OpenSSL reads), and
    those of --upstream-ca beside them; host names checked."""
    if ssl is None:
        if config.upstream_ca:
            raise ConfigError("upstream_ca", "needs a Python built with ssl")
        return None
    context = ssl.create_default_context()
    if config.upstream_ca:
        try:
            context.load_verify_locations(cafile=config.upstream_ca)
        except (ssl.SSLError, ValueError) as error:
            raise ConfigError("upstream_ca", "must hold PEM CA certificates; %s does not (%s)" % (
                config.upstream_ca, error.reason or error.__class__.__name__)) from None
    return context


def _tls_failure(error) -> str:
    """What a failed TLS handshake means, in words a user can act on (never
    OpenSSL's own ``[SSL: …] (_ssl.c:992)`` text)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        known = _CERTIFICATE_FAILURES.get(error.verify_code)
        if known:
            return "%s (%s); a private CA can be trusted with --upstream-ca" % (
                known, error.verify_message or "verification failed")
        return ("upstream's TLS certificate is not trusted (%s); the proxy checks it against this "
                "machine's CA certificates and --upstream-ca" % (error.verify_message or "verification failed"))
    if error.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                        "UNKNOWN_PROTOCOL", "HTTP_REQUEST"):
        return "upstream does not speak TLS on that port (is it plain http? try an http:// URL)"
    what = (error.reason or error.__class__.__name__).replace("_", " ").lower()
    return "TLS handshake with upstream failed (%s)" % what


#: What a non-blocking read raises when nothing has arrived: TLS says it its own way.
_WOULD_BLOCK = (BlockingIOError,) + ((ssl.SSLWantReadError,) if ssl is not None else ())


def _nothing_waiting(sock: socket.socket, buffered: Optional[io.BufferedReader] = None) -> bool:
    """True when a connection is at rest: no byte buffered in ``buffered`` or
    arrived on ``sock``, and no EOF. Never blocks.

    A connection is reused only when this holds, at release and again at
    take: an origin that sends anything after an answer's end (stray bytes, a
    second answer, a keep-alive bug) would otherwise have those bytes read as
    the next request's answer, for another URL, and cached. A byte read here
    is not lost: a connection that has one is closed, not reused.
    """
    def look() -> bool:
        if buffered is not None and buffered.peek(1):
            return False
        sock.recv(1)  # a byte, or b"" for EOF: either way not at rest
        return False
    return _without_waiting(sock, look, would_block=True)


def _without_waiting(sock: socket.socket, look: Callable[[], bool], would_block: bool) -> bool:
    """``look()``, with ``sock`` set not to wait (timeout 0) and its timeout put
    back after: ``would_block`` when a read in it would have waited, False when
    the socket is closed or failed."""
    try:
        timeout = sock.gettimeout()
        sock.settimeout(0.0)
    except OSError:
        return False
    try:
        return look()
    except _WOULD_BLOCK:
        return would_block
    except (OSError, ValueError):
        return False
    finally:
        try:
            sock.settimeout(timeout)
        except OSError:
            pass


class _PooledResponse(http.client.HTTPResponse):
    """An upstream response that gives its connection back when closed.

    Stricter than http.client where a shared connection needs it: interim 1xx
    answers (103 Early Hints) are skipped rather than taken for the answer;
    an answer whose framing is ambiguous is refused (check_response_framing);
    and the connection goes back to the pool only when the answer ended at a
    message boundary with nothing after it (_nothing_waiting), so an error
    half-way through a body, or an origin that says more than it framed,
    never hands a dirty connection to the next request.
    """

    release = None  # type: Optional[Callable[[bool], None]]
    #: How many interim answers one request may get before it is refused.
    max_interim = 16

    def __init__(self, sock, *args, **kwargs) -> None:
        super().__init__(sock, *args, **kwargs)
        self._sock = sock
        self._ended = False  # the last byte of the message was read
        self._reusable = False

    def _read_status(self):
        # http.client skips 100 Continue itself and takes any other 1xx for the
        # final answer; skip each interim answer with its header block (RFC 9110
        # section 15.2). A 101 was never asked for: refuse it.
        for _ in range(self.max_interim):
            version, status, reason = super()._read_status()
            if status == HTTPStatus.SWITCHING_PROTOCOLS:
                raise UpstreamError("upstream switched protocols unasked")
            if not 100 < status < 200:
                return version, status, reason
            http.client.parse_headers(self.fp)
        raise UpstreamError("upstream sent too many interim answers")

    def begin(self) -> None:
        super().begin()
        check_response_framing(self.headers)

    def _read_and_discard_trailer(self) -> None:
        super()._read_and_discard_trailer()
        self._ended = True  # after the last chunk and the trailer: the chunked body's end

    def _close_conn(self) -> None:
        # http.client calls this when a body ends and at close(): the last moment
        # its buffered reader still holds any bytes that came after the body.
        if self.fp is not None:
            ended = self._ended or self.length == 0
            self._reusable = ended and not self.will_close and _nothing_waiting(self._sock, self.fp)
        super()._close_conn()

    def close(self) -> None:
        super().close()
        release, self.release = self.release, None
        if release is not None:
            release(self._reusable)


class _Guarded:
    """What both guarded connection classes add to http.client's: the address
    guard at connect (``connect``: how a socket to the upstream is made), and
    a socket really closed when a CONNECT is refused."""

    response_class = _PooledResponse

    def __init__(self, *args, connect: Callable = _guarded_create_connection, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = connect

    def _tunnel(self) -> None:
        sock = self.sock
        try:
            super()._tunnel()
        except BaseException:
            # Python 3.9-3.11 leave the refused CONNECT's answer open, and the
            # socket under it with it (a ResourceWarning, an fd held until GC).
            if sock is not None and sock.fileno() != -1:
                os.close(sock.detach())
            raise


class _GuardedHTTPConnection(_Guarded, http.client.HTTPConnection):
    pass


if hasattr(http.client, "HTTPSConnection"):  # absent when Python was built without ssl
    class _GuardedHTTPSConnection(_Guarded, http.client.HTTPSConnection):
        pass
else:  # pragma: no cover - depends on the build
    _GuardedHTTPSConnection = None


class _ConnectionPool:
    """Idle upstream connections kept for reuse: at most ``per_origin`` per
    origin, each for at most ``max_idle`` seconds."""

    def __init__(self, per_origin: int = 8, max_idle: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_origin = per_origin
        self.max_idle = max_idle
        self._clock = clock
        self._idle = {}  # type: Dict[Tuple[str, str], List[Tuple[float, object]]]
        self._lock = threading.Lock()

    def take(self, origin: Tuple[str, str]) -> Optional[http.client.HTTPConnection]:
        """An idle connection to ``origin`` that is still at rest, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                since, connection = idle.pop()
            if self._clock() - since < self.max_idle and _nothing_waiting(connection.sock):
                return connection
            connection.close()  # stale, closed by the origin, or holding bytes nobody asked for

    def release(self, origin: Tuple[str, str], connection: http.client.HTTPConnection,
                reusable: bool) -> None:
        """Give ``connection`` back after a response; keep it only if ``reusable``."""
        if reusable and connection.sock is not None:
            with self._lock:
                idle = self._idle.setdefault(origin, [])
                if len(idle) < self.per_origin:
                    idle.append((self._clock(), connection))
                    return
        connection.close()

    def idle_count(self) -> int:
        """How many idle connections the pool holds."""
        with self._lock:
            return sum(len(idle) for idle in self._idle.values())

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _, connection in connections:
                connection.close()


class _PooledHandler(urllib.request.AbstractHTTPHandler):
    """urllib's HTTP(S) handler, with keep-alive: connections come from and go
    back to a _ConnectionPool instead of being closed after each request, and
    each new one goes through the address guard."""

    def __init__(self, pool: _ConnectionPool, config: Config) -> None:
        super().__init__()
        self._pool = pool
        self._tls = _upstream_tls_context(config)
        self._allow_private = config.allow_private
        self._allow_hosts = config.allow_hosts
        proxy = urlsplit(config.upstream_proxy) if config.upstream_proxy else None
        self._socks = _SocksProxy.from_url(config.upstream_proxy) if proxy and proxy.scheme != "http" else None
        #: An HTTP upstream proxy: (host, port).
        self._proxy = (proxy.hostname, proxy.port or 80) if proxy and not self._socks else None
        self._direct = functools.partial(
            _socks_create_connection, socks=self._socks, allow_private=self._allow_private) if self._socks \
            else functools.partial(_guarded_create_connection, allow_private=self._allow_private)

    def http_open(self, req):
        return self._open(req, "http")

    def https_open(self, req):
        if _GuardedHTTPSConnection is None:
            raise UpstreamError("this Python was built without ssl: https upstreams are unavailable")
        return self._open(req, "https")

    http_request = https_request = urllib.request.AbstractHTTPHandler.do_request_

    def _connect(self, req, scheme: str):
        """A new connection for ``req``, and the request target to send on it."""
        connection_class = _GuardedHTTPConnection if scheme == "http" else functools.partial(
            _GuardedHTTPSConnection, context=self._tls)
        if self._proxy is None:  # straight to the upstream, or through SOCKS: TLS end to end either way
            return connection_class(req.host, timeout=req.timeout, connect=self._direct), req.selector
        # Through an HTTP --upstream-proxy: the proxy is the operator's choice, so it
        # is not judged; the upstream host is, as far as this machine can resolve it.
        if not self._allow_private:
            _check_host_locally(urlsplit(req.full_url).hostname)
        connection = connection_class(self._proxy[0], self._proxy[1], timeout=req.timeout,
                                      connect=functools.partial(_guarded_create_connection, allow_private=True))
        if scheme == "https":
            connection.set_tunnel(req.host)  # CONNECT host:port, then TLS end to end
            return connection, req.selector
        return connection, req.full_url  # absolute-form request target (RFC 9112 section 3.2.2)

    def _open(self, req, scheme: str):
        if not req.host:
            raise urllib.error.URLError("no host given")
        host = urlsplit(req.full_url).hostname or ""
        if self._allow_hosts and not host_allowed(host, self._allow_hosts):
            raise Forbidden("upstream host %s is not allowed here (--allow-host)" % host)
        headers = dict(req.unredirected_hdrs)
        headers.update((k, v) for k, v in req.headers.items() if k not in headers)
        headers = {name.title(): value for name, value in headers.items()}
        origin = (scheme, req.host)
        for attempt in range(2):
            connection = self._pool.take(origin) if attempt == 0 else None
            reused = connection is not None
            selector = req.full_url if self._proxy and scheme == "http" else req.selector
            if connection is None:
                connection, selector = self._connect(req, scheme)
            else:
                connection.timeout = req.timeout
                connection.sock.settimeout(req.timeout)
            try:
                connection.request(req.get_method(), selector, req.data, headers)
                response = connection.getresponse()
            except (ConnectionError, http.client.BadStatusLine) as error:  # RemoteDisconnected is both
                connection.close()
                if reused:
                    continue  # the server closed it while idle: once more, on a fresh one
                raise urllib.error.URLError(error) from None
            except OSError as error:
                connection.close()
                raise urllib.error.URLError(error) from None
            except BaseException:
                connection.close()
                raise
            response.url = req.get_full_url()
            response.msg = response.reason
            response.release = functools.partial(self._pool.release, origin, connection)
            return response
        raise AssertionError("unreachable")  # pragma: no cover


_MAX_REDIRECTS = 5


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    # Each hop opens a new guarded connection, so the address guard runs again.
    max_redirections = max_repeats = _MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise UpstreamError("upstream redirected to a non-HTTP URL")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.jar = getattr(req, "jar", None)  # the stream's cookies follow it, judged again per hop
            new.hops = getattr(req, "hops", [])
            new.hops.append(newurl)  # the one list of the first request: what /diagnose reports
        return new


class _ErrorProcessor(urllib.request.HTTPErrorProcessor):
    # urllib treats every status outside 2xx as an error; a 304 is an answer
    # (to a conditional a --header or per-URL option sent) and reaches the client as one.
    def http_response(self, request, response):
        if response.status == HTTPStatus.NOT_MODIFIED:
            return response
        return super().http_response(request, response)

    https_response = http_response


def _build_opener(config: Config, pool: _ConnectionPool) -> urllib.request.OpenerDirector:
    """An opener that speaks only HTTP(S), through the address guard, with keep-alive.

    Built by hand, not with _build_opener(): no ProxyHandler (an http_proxy in the
    environment would connect somewhere other than the checked address), no
    file:, ftp: or data: handlers.
    """
    opener = urllib.request.OpenerDirector()
    for handler in (_PooledHandler(pool, config), _RedirectHandler(), _CookieProcessor(),
                    urllib.request.HTTPDefaultErrorHandler(),
                    _ErrorProcessor(), urllib.request.UnknownHandler()):
        opener.add_handler(handler)
    return opener


def upstream_request_headers(config: Config, target: ProxyTarget,
                             client_headers: List[Tuple[str, str]]) -> Dict[str, str]:
    """The headers of the upstream request: allowed client headers, then
    ``--header``, then per-URL options, each later one winning."""
    allowed = {name.lower() for name in FORWARDED_REQUEST_HEADERS}
    headers = {}  # type: Dict[str, str]
    for name, value in strip_hop_by_hop(client_headers):
        if name.lower() in allowed:
            headers[name.title()] = value
    # A Range answer must stay byte-exact, and a compressed one would not be.
    headers["Accept-Encoding"] = "identity" if "Range" in headers else "gzip, deflate"
    for name, value in config.headers + target.options:
        headers[name.title()] = value
    return headers


def open_upstream(opener: urllib.request.OpenerDirector, url: str,
                  headers: Dict[str, str], timeout: float, cookies: Tuple[StreamCookie, ...] = ()):
    """GET ``url`` with the stream's ``cookies``; return the response, with the
    stream's cookies after it as ``response.stream_cookies``, or raise an
    HlsProxyError that says why."""
    request = urllib.request.Request(url, headers=headers)
    request.jar, request.hops = _jar_from(cookies), []
    try:
        response = opener.open(request, timeout=timeout)
        response.stream_cookies = _records_of(request.jar) if len(request.jar) or cookies else ()
        response.hops = request.hops
        return response
    except urllib.error.HTTPError as error:
        error.close()
        if error.code < 400:
            raise UpstreamError("upstream redirect failed: %s" % error.reason, upstream_status=error.code) from None
        # A 416 says the size in Content-Range (bytes */N); Retry-After says when to come back.
        kept = ("Content-Range", "Retry-After") if error.code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE \
            else ("Retry-After",)
        headers = tuple((name, error.headers[name]) for name in kept if error.headers.get(name))
        raise UpstreamError("upstream answered %d %s" % (error.code, error.reason), error.code, headers,
                            upstream_status=error.code) from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, HlsProxyError):
            raise reason from None
        if isinstance(reason, socket.timeout):
            raise UpstreamError("upstream timed out", HTTPStatus.GATEWAY_TIMEOUT) from None
        if ssl is not None and isinstance(reason, ssl.SSLError):
            raise UpstreamError(_tls_failure(reason)) from None
        raise UpstreamError("upstream unreachable: %s" % (getattr(reason, "strerror", None) or reason)) from None
    except socket.timeout:
        raise UpstreamError("upstream timed out", HTTPStatus.GATEWAY_TIMEOUT) from None
    except (OSError, http.client.HTTPException) as error:
        raise UpstreamError("upstream failed: %s" % (error.__class__.__name__,)) from None


# ---------------------------------------------------------------------------
# Upstream answers: the body, and what it is
#
# An answer is told by its content, never by its name or its type alone: a
# playlist starts with #EXTM3U, a JSON document with "{"; everything else is
# media and streams through as it came.
# ---------------------------------------------------------------------------

_CHUNK_SIZE = 256 * 1024


class UpstreamBody:
    """An upstream answer: its ``response`` (status and headers, as urllib has
    them) and its body, decoded (gzip/deflate) and read in bounded chunks.

    ``read1`` returns what has arrived (up to ``n`` bytes) rather than waiting
    for ``n``, so bytes reach the client as the upstream sends them; at the end
    it returns b"" and ``truncated`` says whether the body fell short.
    ``before_blocking`` runs before each read, which may wait (see Turnstile).
    """

    def __init__(self, response, before_blocking: Callable[[], None] = lambda: None) -> None:
        self.response = response
        self._before_blocking = before_blocking
        encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
        self.decoded = encoding in ("gzip", "x-gzip", "deflate")
        # 47 = 32 + 15: zlib detects a gzip or zlib header itself.
        self._inflater = zlib.decompressobj(47) if self.decoded else None
        self._raw_deflate = encoding == "deflate"
        self._ended = False
        self.truncated = False

    def read1(self, n: int = _CHUNK_SIZE) -> bytes:
        try:
            while not self._ended:
                chunk = self._read_raw(n)
                if chunk:
                    return chunk
            return b""
        except socket.timeout:
            raise UpstreamError("upstream stalled mid-body", HTTPStatus.GATEWAY_TIMEOUT) from None
        except (OSError, http.client.HTTPException):
            self.truncated = True
            raise UpstreamError("upstream body ended early") from None

    def _read_raw(self, n: int) -> bytes:
        inflater = self._inflater
        if inflater is not None and inflater.unconsumed_tail:
            return self._inflate(inflater.unconsumed_tail, n)
        self._before_blocking()
        data = self.response.read1(n)
        if not data:
            self._ended = True
            remaining = getattr(self.response, "length", None)
            self.truncated = bool(remaining) or (inflater is not None and not inflater.eof)
            return inflater.flush() if inflater is not None else b""
        return self._inflate(data, n) if inflater is not None else data

    def _inflate(self, data: bytes, n: int) -> bytes:
        try:
            return self._inflater.decompress(data, n)
        except zlib.error:
            if self._raw_deflate and self._inflater.total_out == 0:
                # Some servers send raw deflate for "deflate" (RFC 9110 says zlib).
                self._raw_deflate = False
                self._inflater = zlib.decompressobj(-15)
                return self._inflate(data, n)
            raise UpstreamError("upstream sent a corrupt compressed body") from None

    def read_document(self, head: bytes, limit: int, timeout: float) -> bytes:
        """Read a whole document (a playlist, a JSON document) after ``head``:
        more than ``limit`` bytes is refused (--max-playlist-mb), and it must all
        come within 3 x ``timeout``, so a server that drips it slowly enough to
        dodge the read timeout still ends (504)."""
        deadline = time.monotonic() + 3 * timeout
        parts, size, chunk = [], 0, head
        while True:
            size += len(chunk)
            if size > limit:  # the head counts too: a small limit may be passed by it alone
                raise UpstreamError("playlist larger than %g MiB (--max-playlist-mb)" % round(limit / 1048576, 3))
            parts.append(chunk)
            if time.monotonic() > deadline:
                raise UpstreamError("upstream too slow to send the whole playlist", HTTPStatus.GATEWAY_TIMEOUT)
            chunk = self.read1(_CHUNK_SIZE)
            if not chunk:
                break
        if self.truncated:
            raise UpstreamError("upstream body ended early")
        return b"".join(parts)

    def more_waiting(self) -> bool:
        """Whether the upstream has sent more of the body already (buffered, or
        on its socket), without taking it; never blocks. A few buffered bytes
        may be a chunk's framing, not its data: more than 64 are taken for data.
        False when it cannot tell (a connection not of the pool)."""
        sock, buffered = getattr(self.response, "_sock", None), getattr(self.response, "fp", None)
        if sock is None or buffered is None:
            return False
        # Not waiting, the peek's read (if the buffer is empty) takes what is there or nothing.
        return _without_waiting(sock, lambda: len(buffered.peek(1)) > 64 or bool(select.select([sock], [], [], 0)[0]),
                                would_block=False)

    def close(self) -> None:
        self.response.close()


def _is_whole_range(response) -> bool:
    """True when a 206 answer carries the whole entity (``bytes 0-N/N+1``)."""
    match = re.match(r"\s*bytes\s+0-(\d+)/(\d+)\s*$", response.headers.get("Content-Range") or "")
    return bool(match) and int(match.group(1)) + 1 == int(match.group(2))


#: Used when upstream sends no Content-Type, or the useless octet-stream.
_MEDIA_TYPES_BY_EXTENSION = types.MappingProxyType({
    ".ts": "video/mp2t", ".m4s": "video/iso.segment", ".mp4": "video/mp4",
    ".m4v": "video/mp4", ".m4a": "audio/mp4", ".cmfv": "video/mp4",
    ".cmfa": "audio/mp4", ".aac": "audio/aac", ".mp3": "audio/mpeg",
    ".ac3": "audio/ac3", ".ec3": "audio/eac3", ".vtt": "text/vtt",
    ".webvtt": "text/vtt", ".key": "application/octet-stream",
    ".json": "application/json", ".jpg": "image/jpeg", ".png": "image/png",
})


def _media_content_type(content_type: Optional[str], url: str) -> str:
    """Keep upstream's Content-Type, or infer it from the extension when it is useless."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in _UNINFORMATIVE_TYPES:
        return content_type
    path = urlsplit(url).path.lower()
    for extension, media_type in _MEDIA_TYPES_BY_EXTENSION.items():
        if path.endswith(extension):
            return media_type
    return content_type or "application/octet-stream"


def _media_kind(head: bytes) -> str:
    """What a media body is, from its first bytes."""
    if head[:1] == b"\x47" and (len(head) < 189 or head[188:189] == b"\x47"):
        return "MPEG-TS"
    if head[4:8] in (b"ftyp", b"styp", b"moof", b"sidx", b"moov"):
        return "fMP4/MP4"
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
        return "WebVTT"
    if head[:2] in (b"\xff\xf1", b"\xff\xf9") or head[:3] == b"ID3":
        return "packed audio (AAC/ID3)"
    if len(head) == 16:
        return "a 16-byte key (AES-128)"
    return "data"


#: How far into a segment that does not start as media the TS sync pattern is
#: looked for: past a 70-byte PNG, a PNG padded to 0x178, any prefix up to 64 KiB.
DISGUISE_WINDOW = 64 * 1024


def disguise_offset(head: bytes) -> int:
    """Where MPEG-TS starts in a segment disguised behind a prefix (a 1x1 PNG,
    0xFF padding): the first j with the sync byte at j, j+188 and j+376, in a
    body that does not start as TS, fMP4, ADTS/AAC, ID3 or WebVTT; 0 when it
    does, or when no TS is found in ``head`` (a real image stays an image)."""
    if _media_kind(head) not in ("data", "a 16-byte key"):
        return 0
    j = head.find(b"\x47", 1)
    while j != -1 and j + 376 < len(head):
        if head[j + 188] == 0x47 and head[j + 376] == 0x47:
            return j
        j = head.find(b"\x47", j + 1)
    return 0


def _undisguised(body: "UpstreamBody", head: bytes, response) -> Tuple[bytes, int]:
    """A segment's first bytes as they are to be served, and how many of the
    upstream's were dropped before them (see disguise_offset). Reads at most
    DISGUISE_WINDOW, and only from a 200 that does not start as media."""
    if response.status != HTTPStatus.OK or _media_kind(head) not in ("data", "a 16-byte key"):
        return head, 0
    while len(head) < DISGUISE_WINDOW and not disguise_offset(head):
        chunk = body.read1(DISGUISE_WINDOW - len(head))
        if not chunk:
            break
        head += chunk
    skip = disguise_offset(head)
    return head[skip:], skip


#: An MPEG-TS packet's size, and how a packet that starts a PAT (PID 0, with
#: payload_unit_start_indicator set) begins: where a player joining a live
#: channel finds the programmes at once.
TS_PACKET = 188
_PAT_START = b"\x47\x40\x00"


def is_live_ts(response, head: bytes) -> bool:
    """Whether an upstream answer is a live channel: a 200 with an MPEG-TS body
    (sync bytes at 0, 188 and 376 of ``head``) that has no Content-Length, so it
    ends when the upstream closes it or never (chunked, or ended by the close),
    and no content coding. Never by its name: a .ts file with a length is a file."""
    return (response.status == HTTPStatus.OK and _content_length(response) is None
            and (response.headers.get("Content-Encoding") or "identity").strip().lower() == "identity"
            and len(head) > 2 * TS_PACKET and head[0] == head[TS_PACKET] == head[2 * TS_PACKET] == 0x47)


def pat_offsets(packets: bytes) -> Tuple[int, ...]:
    """Where PATs start in ``packets``, whole TS packets from a packet boundary."""
    found, at = [], packets.find(_PAT_START)
    while at != -1:
        if at % TS_PACKET == 0:
            found.append(at)
            at += TS_PACKET
        else:
            at += TS_PACKET - at % TS_PACKET  # the next packet boundary
        at = packets.find(_PAT_START, at)
    return tuple(found)


#: The pauses before a request refused at an origin, once a channel there that
#: nobody watched has been ended for it, is asked again: a provider notices a
#: closed connection at its next write, or a moment later (1.4 s in all).
_PROVIDER_NOTICES = (0.05, 0.15, 0.4, 0.8)
#: The statuses IPTV providers refuse a connection past an account's limit with.
_REFUSALS = frozenset({401, 403, 429, 458, 503, 509})

#: How long a live channel's pump lets an upstream that sends small pieces
#: gather more before it reads again; and how much a live channel gathers, or
#: for how long, before its viewers are woken (Flight._time_to_tell). A viewer
#: gets its bytes at most about _LIVE_LAG later than it would one by one: far
#: less than any player's buffer.
_LIVE_PAUSE = 0.02
_LIVE_BATCH = 64 * 1024
_LIVE_LAG = 0.1


def _append_packets(flight: "Flight", pieces: List[bytes]) -> bytes:
    """Append the whole TS packets ``pieces`` hold, joined, to a live channel's
    flight; return what is left of a packet cut short."""
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    cut = len(data) - len(data) % TS_PACKET
    if cut:
        flight.append(data if cut == len(data) else data[:cut], pat_offsets(data[:cut]))
    return data[cut:]


def _read_at_least(body: "UpstreamBody", head: bytes, size: int) -> bytes:
    """``head`` and what follows it, until ``size`` bytes or the body's end."""
    while len(head) < size:
        chunk = body.read1(size - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _served_as_ts(resource: Resource, length: Optional[int], skip: int) -> Tuple[Resource, Optional[int]]:
    """A disguised segment's answer as served: MPEG-TS, ``skip`` bytes shorter,
    without the upstream's ETag (it named the disguise)."""
    if not skip:
        return resource, length
    headers = tuple((name, value) for name, value in resource.headers if name.lower() != "etag")
    return (dataclasses.replace(resource, content_type="video/mp2t", headers=headers),
            None if length is None else length - skip)


def _classify(response, body: UpstreamBody, fragment: bool = False) -> Tuple[str, bytes]:
    """Tell what an upstream answer is, a DOCUMENT_KINDS name or MEDIA, from its
    type and first bytes (never its URL's suffix); return the kind and the bytes
    read to tell it. Kinds are asked in order; one that wants more bytes gets them.

    A 200 labelled as a playlist that is none (a CDN's HTML error page at
    ``index.m3u8``) is refused, 502: relayed, a player would choke on it with
    no word of why, and rewritten it would be a fake playlist.

    ``fragment``: the answer is an MPD's remote element (xlink), an "mpd"
    when it is XML at all, whatever its root.
    """
    if response.status not in (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT):
        return MEDIA, b""
    content_type = response.headers.get("Content-Type")
    kinds = tuple(DOCUMENT_KINDS.values())
    if fragment:
        kinds = (dataclasses.replace(DOCUMENT_KINDS["mpd"], detect=_element_verdict),) + kinds
    head, ended = b"", False
    while True:
        for kind in kinds:
            verdict = kind.detect(content_type, head)
            if verdict is None and not ended:
                break  # read more before asking the next kind
            if verdict:
                return kind.name, head
        else:
            if response.status == HTTPStatus.OK and _claims_playlist(content_type):
                raise UpstreamError("upstream sent %s, not a playlist (labelled %s, it does not start with #EXTM3U)"
                                    % (_what_it_looks_like(head), content_type.split(";")[0].strip()))
            return MEDIA, head
        chunk = body.read1(_SNIFF_LIMIT - len(head))
        ended = not chunk
        head += chunk


def _what_it_looks_like(head: bytes) -> str:
    """A name for a body from its first bytes, for an error message (never the bytes)."""
    start = head.lstrip(b" \t\r\n\xef\xbb\xbf")[:64].lower()
    if not start:
        return "an empty body"
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start:
        return "an HTML page"
    if start.startswith(b"<"):
        return "XML or HTML"
    if start.startswith((b"{", b"[")):
        return "JSON"
    return "something else"


def _make_resource(kind: str, response, body: bytes) -> Resource:
    """A Resource from an upstream response and its (whole or empty) body."""
    content_type = response.headers.get("Content-Type") or ""
    document = DOCUMENT_KINDS.get(kind)
    if document is not None:
        content_type = document.content_type(content_type)
    else:
        content_type = _media_content_type(content_type, response.url)
    headers = tuple((name, value) for name, value in strip_hop_by_hop(list(response.headers.items()))
                    if name.lower() in FORWARDED_RESPONSE_HEADERS)
    return Resource(kind, response.url, body, content_type, headers, response.headers.get("Cache-Control"),
                    cookies=getattr(response, "stream_cookies", ()))


def _media_headers(config: Config, resource: Resource, x_cache: str, age: float) -> List[Tuple[str, str]]:
    """The headers of a media answer: the same for a HIT, MISS, COALESCED and a relay."""
    lifetime = kind_lifetime(config, MEDIA)
    headers = list(resource.headers) + [
        ("Content-Type", resource.content_type), ("X-Cache", x_cache), ("Accept-Ranges", "bytes"),
        ("Cache-Control", client_cache_control(lifetime, resource.cache_control, age))]
    if x_cache == "HIT":
        headers.append(("Age", str(int(age))))
    return headers


def _channel_headers(resource: Resource, x_cache: str) -> List[Tuple[str, str]]:
    """The headers of a live channel's answer: endless, so no validators, no
    ranges, and never kept by anyone."""
    return [(name, value) for name, value in resource.headers if name.lower() not in ("etag", "last-modified")] + [
        ("Content-Type", resource.content_type), ("X-Cache", x_cache), ("Cache-Control", "no-store")]


def _relayed_media_headers(config: Config, response) -> List[Tuple[str, str]]:
    """The headers of a media answer relayed for one request: _media_headers,
    with the upstream's own range (its Content-Range and Accept-Ranges), not ours."""
    headers = [field for field in _media_headers(config, _make_resource(MEDIA, response, b""), "MISS", 0.0)
               if field[0] != "Accept-Ranges"]
    return headers + [(name, response.headers[name]) for name in ("Content-Range", "Accept-Ranges")
                      if response.headers.get(name)]


def _content_length(response) -> Optional[int]:
    length = (response.headers.get("Content-Length") or "").strip()
    return int(length) if _DIGITS.match(length) else None


class _UnsharedAnswer(NamedTuple):
    """An upstream answer for one request alone (it may not be shared): the
    request relays it, and closes ``body``. ``head``: the body's first bytes,
    read to classify it (``kind``)."""

    body: UpstreamBody
    kind: str
    head: bytes


# ---------------------------------------------------------------------------
# Flights: one upstream fetch, shared by every request for it meanwhile
# ---------------------------------------------------------------------------

class Flight:
    """One upstream fetch, shared by every request for the same URL meanwhile.

    The fetcher appends the body's chunks as they arrive; consumers read by
    offset, each at its own pace. A flight ends in one of three ways: DONE
    (the whole resource is there: later reads come from its body, the very
    bytes the cache holds), FAILED (consumers get the error; one that has
    begun its answer aborts it, never presenting a short body as whole), or
    RELEASED (the answer is not shareable; each consumer fetches its own).
    One condition guards the state and the chunk list; nothing waits under it
    but a consumer waiting for bytes.

    A live channel's flight (``start`` with a ``ring``) is one more case: its
    body is endless, so only its last ``ring`` bytes are kept, whole TS packets,
    with where each PAT starts among them; it is never kept in the cache, and it
    ends (DONE, its tail still readable) when its upstream ends or fails or
    when nobody has watched it for a while. Its consumers are viewers
    (``watch``/``unwatch``): each starts at the newest PAT kept and reads with
    ``read_from``, which moves a viewer the ring has left behind to the newest
    PAT again.
    """

    PENDING, STREAMING, DONE, FAILED, RELEASED = "pending", "streaming", "done", "failed", "released"

    def __init__(self, timeout: float = 30.0, before_blocking: Callable[[], None] = lambda: None) -> None:
        #: How long a consumer waits between events (the header, then each byte).
        self.timeout = timeout
        #: Called before a consumer waits: gives the calling thread's turn back.
        self.before_blocking = before_blocking
        self._changed = threading.Condition()
        self.state = Flight.PENDING
        self.resource = None  # type: Optional[Resource]
        self.length = None  # type: Optional[int]
        self.error = None  # type: Optional[HlsProxyError]
        self._chunks = []  # type: List[bytes]
        self._ends = []  # type: List[int]  # offset just past each chunk
        self._size = 0
        self._body = None  # type: Optional[bytes]
        #: A live channel's: the bytes kept (0: all, a body with an end), the
        #: offset of the oldest, the offsets of the PATs among them, the
        #: viewers, and since when it has had none (a clock() reading).
        self.ring = 0
        self._first = 0
        self._pats = deque()  # type: deque
        self.viewers = 0
        self.unwatched_since = 0.0
        self._told = (0, 0.0)  # the size and time at which viewers were last woken
        self._upstream_closed = False
        self.origins = set()  # a live channel's: the origins it was asked of and answered from

    def start(self, resource: Resource, length: Optional[int], ring: int = 0, now: float = 0.0) -> None:
        """Media headers are known; chunks follow. ``ring``: the body is a live
        channel's, of which the last ``ring`` bytes are kept; ``now``: a clock()
        reading, from which on it counts as unwatched until a viewer comes."""
        with self._changed:
            self.resource, self.length, self.state = resource, length, Flight.STREAMING
            self.ring, self.unwatched_since = ring, now
            self._changed.notify_all()

    def append(self, chunk: bytes, pats: Tuple[int, ...] = ()) -> None:
        """One more piece of the body; ``pats``: where PATs start in it (a live channel's)."""
        with self._changed:
            if pats:
                self._pats.extend(self._size + offset for offset in pats)
            self._chunks.append(chunk)
            self._size += len(chunk)
            self._ends.append(self._size)
            if self.ring:
                self._forget_the_oldest()
                if not self._time_to_tell():
                    return
            self._changed.notify_all()

    def announce(self, after: float = 0.0) -> bool:
        """Wake a live channel's viewers for what has come since they were last
        woken, if they were woken ``after`` seconds ago or more; return whether
        nothing is left untold."""
        with self._changed:
            if self._size == self._told[0]:
                return True
            now = time.monotonic()
            if now - self._told[1] < after:
                return False
            self._told = (self._size, now)
            self._changed.notify_all()
            return True

    def _time_to_tell(self) -> bool:
        """Whether a live channel's viewers are to be woken now: each wake-up
        of fifty viewers costs fifty sends, so they are told of what came every
        _LIVE_BATCH bytes or _LIVE_LAG seconds, not at every piece (bench W14)."""
        now = time.monotonic()
        if self._size - self._told[0] < min(_LIVE_BATCH, self.ring // 8) and now - self._told[1] < _LIVE_LAG:
            return False
        self._told = (self._size, now)
        return True

    def _forget_the_oldest(self) -> None:
        """Drop a live channel's oldest chunks past its ring (never the newest)."""
        drop = 0
        while self._size - self._first > self.ring and drop < len(self._chunks) - 1:
            self._first = self._ends[drop]
            drop += 1
        if drop:
            del self._chunks[:drop], self._ends[:drop]
            while self._pats and self._pats[0] < self._first:
                self._pats.popleft()

    def body(self, last: bytes = b"") -> bytes:
        """The chunks so far and ``last``, joined (outside the lock: only the fetcher appends)."""
        with self._changed:
            chunks = list(self._chunks)
        return b"".join(chunks + [last])

    @property
    def size(self) -> int:
        return self._size

    def before_the_end(self, chunk: bytes) -> bool:
        """Whether ``chunk``, appended, would leave the body short of its length
        (a last piece waits to go out with the whole body: see Fetcher._pump)."""
        return self._size + len(chunk) < self.length

    def finish(self, resource: Resource) -> None:
        with self._changed:
            self.resource, self.state = resource, Flight.DONE
            self._body, self._size = resource.body, len(resource.body)
            self._chunks, self._ends = [], []  # one copy: the resource's, which the cache counts
            self._changed.notify_all()

    def fail(self, error: HlsProxyError) -> None:
        with self._changed:
            if self.state in (Flight.PENDING, Flight.STREAMING):
                self.error, self.state = error, Flight.FAILED
                self._changed.notify_all()

    def release(self) -> None:
        with self._changed:
            if self.state == Flight.PENDING:
                self.state = Flight.RELEASED
                self._changed.notify_all()

    def end_live(self, now: float, grace: float) -> bool:
        """End a live channel (DONE: viewers read what is kept, then its end)
        when ``now`` is past ``grace`` seconds without a viewer, or at once when
        ``grace`` is None; return whether it has ended (now or before)."""
        with self._changed:
            if self.state != Flight.STREAMING:
                return True
            if grace is not None and (self.viewers or now - self.unwatched_since < grace):
                return False
            self.state = Flight.DONE
            self._changed.notify_all()
            return True

    def upstream_closed(self) -> None:
        """A live channel's upstream connection is closed (its pump's last act)."""
        with self._changed:
            self._upstream_closed = True
            self._changed.notify_all()

    def wait_upstream_closed(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._upstream_closed, timeout)

    def watch(self) -> int:
        """A viewer joins this live channel: where it starts, the newest PAT kept
        (the oldest byte kept if there is none). One that comes just as the
        channel ends gets what is kept, then the end, like every other viewer."""
        with self._changed:
            self.viewers += 1
            return self._live_point()

    def unwatch(self, now: float) -> None:
        with self._changed:
            self.viewers -= 1
            if not self.viewers:
                self.unwatched_since = now

    def _live_point(self) -> int:
        return self._pats[-1] if self._pats else self._first

    def wait_started(self) -> str:
        """Wait until the flight is no longer pending; return its state."""
        with self._changed:
            if self.state == Flight.PENDING:
                self.before_blocking()
                self._changed.wait_for(lambda: self.state != Flight.PENDING, self.timeout)
            return self.state

    def wait_ended(self, timeout: float) -> str:
        """Wait until the flight is done, failed or released; return its state."""
        with self._changed:
            self._changed.wait_for(lambda: self.state not in (Flight.PENDING, Flight.STREAMING), timeout)
            return self.state

    def read(self, offset: int):
        """The body's bytes from ``offset`` on that have arrived (at most a chunk;
        for a live channel's viewer, all that has come up to _CHUNK_SIZE), waiting
        up to ``timeout`` for some; b"" at the body's end. Raises the flight's
        error if it failed."""
        return self.read_from(offset)[1]

    def read_from(self, offset: int):
        """read(``offset``), and where what it returns starts: at ``offset``, or,
        for a viewer a live channel's ring has left behind, at the newest PAT."""
        with self._changed:
            if self._size <= offset and self.state == Flight.STREAMING:
                self.before_blocking()
                self._changed.wait_for(lambda: self._size > offset or self.state != Flight.STREAMING, self.timeout)
            if offset < self._first:
                offset = self._live_point()
            return offset, self._piece(offset)

    def _piece(self, offset: int):
        """What read_from returns, once it has waited (called under the lock)."""
        if self._size > offset:
            if self._body is not None:
                return memoryview(self._body)[offset:]
            index = bisect.bisect_right(self._ends, offset)
            chunk = self._chunks[index]
            piece = memoryview(chunk)[offset - (self._ends[index] - len(chunk)):]
            if self.ring and index + 1 < len(self._chunks):
                # A viewer takes what has come since it last read (up to
                # _CHUNK_SIZE) in one send: with fifty viewers, one wake-up
                # and one send each per burst, not one per upstream piece.
                pieces, size = [piece], len(piece)
                for chunk in itertools.islice(self._chunks, index + 1, None):
                    if size + len(chunk) > _CHUNK_SIZE:
                        break
                    pieces.append(chunk)
                    size += len(chunk)
                return b"".join(pieces) if len(pieces) > 1 else piece
            return piece
        if self.state == Flight.FAILED:
            raise self.error
        if self.state == Flight.DONE:
            return b""
        raise UpstreamError("upstream stalled mid-body", HTTPStatus.GATEWAY_TIMEOUT)


class _Flights:
    """The fetches under way, by cache key; each new Flight gets ``timeout``
    and ``before_blocking`` (see Flight)."""

    def __init__(self, timeout: float = 30.0, before_blocking: Callable[[], None] = lambda: None) -> None:
        self._lock = threading.Lock()
        self._flights = {}  # type: Dict[object, Flight]
        self._new = functools.partial(Flight, timeout, before_blocking)

    def join(self, key) -> Tuple[Flight, bool]:
        """The flight for ``key`` and whether the caller leads it (must fetch).

        A flight that has already ended is not joined, even before its leader
        leaves it: a request that comes after a fetch ended (a failure above all)
        deserves a fetch of its own, not that fetch's outcome.
        """
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None and flight.state in (Flight.PENDING, Flight.STREAMING):
                return flight, False
            flight = self._flights[_shared_key(key)] = self._new()
            return flight, True

    def leave(self, key, flight: Flight) -> None:
        """The fetch of ``flight`` is over: later requests start afresh."""
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        flight.fail(UpstreamError("upstream fetch ended without an answer"))  # never left pending

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._flights

    def __len__(self) -> int:
        with self._lock:
            return len(self._flights)

    def channels(self) -> List[Tuple[object, Flight]]:
        """The live channels shared now, by key."""
        with self._lock:
            return [(key, flight) for key, flight in self._flights.items() if flight.ring]


# ---------------------------------------------------------------------------
# The fetcher: every upstream read, shared through Flights
#
# The fetcher produces and handlers consume. A shared fetch reads its upstream
# into a Flight as fast as the upstream sends, on a thread of its own, and no
# client write ever happens on that path; every request for the object, the
# one that started the fetch included, reads the Flight at its own pace. So a
# viewer that stops reading holds up nobody but itself (it falls behind alone,
# and its own timeout ends it), and a prefetch is a fetch nobody reads yet.
# ---------------------------------------------------------------------------

class _RewriteBase(NamedTuple):
    """What a document's rewrite depends on besides the document: the same
    upstream copy rewritten for another base is another rewrite."""

    public_url: str  #: the proxy's URL as this client reached it
    expires: int  #: the signatures' expiry (0: none)
    subtitles: bool  #: a WebVTT rendition: its segments are named .vtt
    keep_relative: bool  #: plain relative URIs stay (rewrite_playlist's keep_relative)
    #: What relative URLs resolve against when not the document's own URL: an
    #: MPD's remote element resolves them where it lands (ProxyTarget.fragment_base).
    document_base: str = ""

    def cache_key(self, serial: int) -> str:
        """The cache key of the rewrite of kept copy ``serial``: a string (see
        ``_shared_key``) that no target's key can be (those start with a scheme or "(")."""
        return "rewritten %d %d %d %d %s %s" % (serial, self.expires, self.subtitles, self.keep_relative,
                                                self.public_url, self.document_base)


class Fetcher:
    """Every upstream read: the one owner of the cache, the fetches under way
    (_Flights), the connection pool and opener, and the prefetch workers.

    ``fetch`` joins the shared fetch of an object under way or starts one. The
    caller then reads the Flight like every other consumer, or, for an answer
    that may not be shared, relays the _UnsharedAnswer it is handed alone. A
    shared media body is read into its flight on a thread of its own (the
    pump), as fast as the upstream sends it, and kept in the cache once whole.
    """

    #: Seconds a prefetch worker waits for the fetch it started to end.
    prefetch_wait = 120.0

    def __init__(self, config: Config, metrics: "Metrics", clock: Callable[[], float] = time.monotonic,
                 before_blocking: Callable[[], None] = lambda: None) -> None:
        self.config = config
        self.metrics = metrics
        self.clock = clock
        #: Called before everything here that may block (an upstream request, a
        #: read of its body, a wait on a flight, a long rewrite): the server's
        #: Turnstile.give, so a caller's turn goes back exactly when it must.
        self.before_blocking = before_blocking
        self.cache = TTLCache(int(config.cache_mb * 1024 * 1024), clock)
        self.max_object_bytes = int(config.cache_max_object_mb * 1024 * 1024)
        #: How long a consumer waits on a flight between events.
        self.flight_timeout = max(30.0, 3 * config.timeout)
        self.flights = _Flights(self.flight_timeout, before_blocking)
        self.pool = _ConnectionPool()
        self.opener = _build_opener(config, self.pool)
        self._durations = _BoundedMemo()  # playlist URL -> target duration, to time blocking reloads
        self._too_large = _BoundedMemo()  # key -> True: a media answer too large to keep (see too_large)
        self._serials = itertools.count(1)
        self._pumps = _Workers("hlsproxy-fetch")
        self._lock = threading.Lock()  # guards the prefetch worker list, the serials and the channel count
        self._channel_count = 0  # live channels shared now (at most config.max_channels)
        self._channel_salt = os.urandom(16)  # so a channel's id in /metrics tells nothing of its URL
        self._closing = False
        self._prefetch_queue = queue.Queue(maxsize=256)  # type: queue.Queue
        self._prefetch_workers = []  # type: List[threading.Thread]

    # -- the shared fetch ---------------------------------------------------------

    def fetch(self, target: ProxyTarget, client_headers: List[Tuple[str, str]],
              timeout: float) -> Tuple[Flight, bool, Optional[_UnsharedAnswer]]:
        """Join the fetch of ``target`` under way, or start one.

        Returns the flight, whether this call started it, and, when the answer
        may not be shared, the answer for this caller alone (the flight is then
        RELEASED, and anyone who joined it fetches their own). The whole object
        is fetched: a client's Range is answered from the flight. A leader blocks
        until the answer's headers are in (a document: until it is whole).
        """
        key = target.key
        flight, leader = self.flights.join(key)
        if not leader:
            return flight, False, None
        pumping = False
        try:
            entry = self.cache.get(key)  # kept while the caller looked the other way?
            if entry is not None:
                flight.finish(entry.value)
                return flight, True, None
            whole = [(name, value) for name, value in client_headers if name.lower() not in ("range", "if-range")]
            body = self._open_past_an_unwatched_channel(target, upstream_request_headers(self.config, target, whole),
                                                        timeout)
            response = body.response
            try:
                kind, head = _classify(response, body, bool(target.fragment_base))
                if kind == MEDIA and not target.segment and self._may_be_a_channel(response):
                    head = _read_at_least(body, head, 2 * TS_PACKET + 1)
                    if is_live_ts(response, head) and self._take_channel_slot():
                        self._share_channel(target, flight, body, head)
                        pumping, body = True, None
                        return flight, True, None
                if not may_share(response.status, response.headers, kind, self.max_object_bytes):
                    if kind == MEDIA and (_content_length(response) or 0) > self.max_object_bytes:
                        self._too_large.put(key, True)
                    flight.release()
                    unshared, body = _UnsharedAnswer(body, kind, head), None
                    return flight, True, unshared
                if kind != MEDIA:
                    data = body.read_document(head, self.config.max_playlist_bytes, timeout)
                    resource = self.store(key, _make_resource(kind, response, data))
                    flight.finish(resource)  # after store: whoever comes after finds it cached
                    return flight, True, None
                skip = 0
                if target.segment:
                    head, skip = _undisguised(body, head, response)
                flight.start(*_served_as_ts(_make_resource(MEDIA, response, b""), _content_length(response), skip))
                if head and flight.before_the_end(head):  # (the last piece is the pump's)
                    # The bytes read to classify go out now, from this thread: not
                    # after the pump's thread wakes (a hand-off, 0.45 ms of W7's TTFB).
                    flight.append(head)
                    head = b""
                self._pumps.run(self._pump, key, flight, body, head)
                pumping, body = True, None
                return flight, True, None
            finally:
                if body is not None:
                    body.close()
        except HlsProxyError as error:
            flight.fail(error)
            raise
        except BaseException:
            flight.fail(UpstreamError("upstream fetch failed"))
            raise
        finally:
            if not pumping:
                self.flights.leave(key, flight)

    def _pump(self, key, flight: Flight, body: UpstreamBody, head: bytes) -> None:
        """Read a shared media body into its flight as fast as the upstream sends
        it, then keep it in the cache. Never waits on a client."""
        try:
            # Each piece as soon as it comes: a slow origin's bytes are never
            # held back to make a larger piece. But the last: it goes out with
            # the whole body, joined first, so that the join (milliseconds for
            # a 10 MB segment, all of it holding the GIL) is done before the
            # client has its last byte, never while it asks for the next (W7).
            chunk = head or body.read1(_CHUNK_SIZE)
            while chunk and flight.before_the_end(chunk):
                flight.append(chunk)
                chunk = body.read1(_CHUNK_SIZE)
            if body.truncated or flight.size + len(chunk) != flight.length:
                raise UpstreamError("upstream body ended early")
            resource = self.store(key, dataclasses.replace(flight.resource, body=flight.body(chunk)))
            flight.finish(resource)  # after store: whoever comes after finds it cached
        except HlsProxyError as error:
            flight.fail(error)
        except Exception:  # the last line of defence: the consumers get a clean failure
            _logger.exception("fetch from %s failed", urlsplit(flight.resource.url).hostname)
            flight.fail(UpstreamError("upstream fetch failed"))
        finally:
            body.close()
            self.flights.leave(key, flight)

    # -- live channels: one upstream connection for every viewer --------------------

    def _may_be_a_channel(self, response) -> bool:
        """Whether an answer's head allows a live channel (its first bytes tell the rest)."""
        return bool(self.config.max_channels) and not self._closing and response.status == HTTPStatus.OK \
            and _content_length(response) is None

    def _take_channel_slot(self) -> bool:
        """One more channel shared, if --max-channels allows it."""
        with self._lock:
            if self._channel_count >= self.config.max_channels:
                _logger.warning("--max-channels (%d) shared already: a new live channel goes to its viewer alone",
                                self.config.max_channels)
                return False
            self._channel_count += 1
            return True

    def _share_channel(self, target: ProxyTarget, flight: Flight, body: UpstreamBody, head: bytes) -> None:
        """Start sharing a live channel: its flight keeps its last bytes in a
        ring, which a pump of its own fills."""
        key = target.key
        ring = max(int(self.config.channel_buffer_mb * 1024 * 1024) // TS_PACKET, 2) * TS_PACKET
        flight.origins = {urlsplit(target.url)[:2], urlsplit(body.response.url)[:2]}  # asked, and answered
        resource = dataclasses.replace(_make_resource(MEDIA, body.response, b""), content_type="video/mp2t")
        flight.start(resource, None, ring, self.clock())
        rest = _append_packets(flight, [head])
        self.metrics.count("channel_opens_total")
        _logger.info("channel %s opened from %s", self.channel_id(key), urlsplit(flight.resource.url).hostname)
        self._pumps.run(self._pump_channel, key, flight, body, rest)

    def _pump_channel(self, key, flight: Flight, body: UpstreamBody, rest: bytes) -> None:
        """Read a live channel into its flight, whole TS packets at a time, as
        fast as the upstream sends them, until the upstream ends or fails, the
        proxy closes, or nobody has watched it for --channel-grace. A partial
        packet at the end is dropped: every viewer gets whole packets."""
        reason = "the proxy is stopping"
        try:
            reason = self._fill_ring(flight, body, rest)
        except HlsProxyError as error:
            reason = error.reason
        except Exception:  # the last line of defence: the viewers' answers end all the same
            _logger.exception("channel from %s failed", urlsplit(flight.resource.url).hostname)
            reason = "upstream fetch failed"
        finally:
            flight.end_live(0.0, None)  # every viewer reads what is kept, then its end
            body.close()
            flight.upstream_closed()
            self.flights.leave(key, flight)
            with self._lock:
                self._channel_count -= 1
            _logger.info("channel %s closed: %s", self.channel_id(key), reason)

    def _fill_ring(self, flight: Flight, body: UpstreamBody, rest: bytes) -> str:
        """_pump_channel's loop; returns why it ended."""
        pieces, gathered = [rest], 0
        most = min(_CHUNK_SIZE, flight.ring // 8)  # gathered at once: far less than the ring
        while not flight.end_live(self.clock(), None if self._closing else self.config.channel_grace):
            chunk = body.read1(_CHUNK_SIZE)
            if not chunk:
                _append_packets(flight, pieces)
                return "its upstream ended" + (" early" if body.truncated else "")
            pieces.append(chunk)
            gathered += len(chunk)
            if gathered < most and body.more_waiting():
                continue  # pieces that have come already go out together
            pieces = [_append_packets(flight, pieces)]
            if gathered < min(_LIVE_BATCH, most):
                # All that had come is appended, and it was little: an upstream
                # that sends 4 KiB at a time (a proxy's buffers) is given a
                # moment to send more, which then goes out at once (each append
                # may wake every viewer: bench W14).
                time.sleep(_LIVE_PAUSE)
                # While it sends nothing more, what came before is told to the
                # viewers once they are due (_LIVE_LAG after their last wake-up),
                # not with its next piece: a pause must not hold it back.
                while not body.more_waiting() and not flight.announce(_LIVE_LAG):
                    time.sleep(_LIVE_PAUSE)
            gathered = 0
        return "nobody watched it for %g s (--channel-grace), or the proxy is stopping" % self.config.channel_grace

    def _open_past_an_unwatched_channel(self, target: ProxyTarget, headers: Dict[str, str],
                                        timeout: float) -> UpstreamBody:
        """open(); but when the upstream refuses a request that may open a
        channel while a channel of the same origin that nobody watches holds a
        connection for its grace, that channel is ended, and the request asked
        again while the provider notices the connection is gone. A provider
        that allows one connection would refuse a zap to another channel until
        the grace is over."""
        try:
            return self.open(target, headers, timeout)
        except UpstreamError as error:
            if error.upstream_status not in _REFUSALS or target.segment \
                    or not self._end_an_unwatched_channel(target.url):
                raise
        for attempt, pause in enumerate(_PROVIDER_NOTICES, 1):
            time.sleep(pause)
            try:
                return self.open(target, headers, timeout)
            except UpstreamError as error:
                if error.upstream_status not in _REFUSALS or attempt == len(_PROVIDER_NOTICES):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _end_an_unwatched_channel(self, url: str) -> bool:
        """End a channel that nobody watches (in its grace) at ``url``'s origin,
        and wait (up to --timeout) until its upstream connection is closed;
        return whether one was."""
        origin = urlsplit(url)[:2]
        for key, flight in self.flights.channels():
            if not flight.viewers and origin in flight.origins and flight.end_live(0.0, None):
                _logger.info("channel %s ended early: another request to its origin was refused",
                             self.channel_id(key))
                return flight.wait_upstream_closed(self.config.timeout)
        return False

    def end_channels(self) -> None:
        """End every shared channel at its upstream's next bytes, and share no
        more: a viewer's answer never ends by itself, so a drain must end it."""
        self._closing = True

    def channel_id(self, key) -> str:
        """A channel's name in /metrics and the log: a keyed hash of its key
        (its URL may hold an account's name and password)."""
        return hmac.new(self._channel_salt, str(key).encode("utf-8", "surrogateescape"), "sha256").hexdigest()[:12]

    def channels(self) -> List[Tuple[str, int]]:
        """The live channels shared now: their ids and viewers."""
        return sorted((self.channel_id(key), flight.viewers) for key, flight in self.flights.channels())

    def open(self, target: ProxyTarget, headers: Dict[str, str], timeout: float) -> UpstreamBody:
        """open_upstream() for ``target`` (with its stream's cookies), timed and
        counted for /metrics: the answer, its body still to read (the caller closes it)."""
        self.before_blocking()
        started = time.monotonic()
        try:
            url = target.url + ("&" if "?" in target.url else "?") + target.cmcd if target.cmcd else target.url
            response = open_upstream(self.opener, url, headers, timeout, target.cookies)
            if response.url == url:
                response.url = target.url  # the base to rewrite against, and what is kept, is the target's
        except UpstreamError as error:
            self.metrics.observe_upstream(time.monotonic() - started, error.upstream_status)
            raise
        self.metrics.observe_upstream(time.monotonic() - started, response.status)
        return UpstreamBody(response, self.before_blocking)

    def timeout_for(self, target: ProxyTarget) -> float:
        """The upstream timeout of ``target``: --timeout, or longer for an LL-HLS
        blocking reload, which may be held upstream for up to about three target
        durations (draft-pantos-hls-rfc8216bis section 6.2.5.2)."""
        timeout = self.config.timeout
        if target.player_query and "_HLS_msn=" in target.url:
            timeout = max(timeout, 3 * self.target_duration(target.url.partition("?")[0]) + 1)
        return timeout

    # -- the cache ------------------------------------------------------------------

    def cached(self, key) -> Optional[CacheEntry]:
        """The live cache entry for ``key``, or None."""
        return self.cache.get(key)

    def store(self, key, resource: Resource) -> Resource:
        """Keep ``resource`` for as long as the policy allows; return it as kept
        (with its serial), or as it was when it is not kept."""
        if len(resource.body) > min(self.max_object_bytes, self.cache.max_bytes):
            return resource
        text = resource.body.decode("utf-8", "surrogateescape") if resource.kind != MEDIA else ""
        ttl = cache_ttl(self.config, resource.kind, resource.cache_control, text)
        with self._lock:  # without the GIL, two threads' next() could name two copies alike
            serial = next(self._serials)
        kept = dataclasses.replace(resource, serial=serial)
        return kept if self.cache.put(key, kept, len(resource.body) + _ENTRY_OVERHEAD, ttl) else resource

    def rewritten(self, target: ProxyTarget, resource: Resource, base: _RewriteBase, age: float,
                  uri_maker: Callable[[], Callable[[str, str], str]]) -> _RewrittenDocument:
        """``resource``, a document served for ``target``, rewritten for ``base``
        with the hook ``uri_maker()`` makes (only when it is rewritten). The
        rewrite of a kept copy is kept too, as a cache entry of its own, counted
        like any other and never outliving the copy it was made from. A
        playlist's target duration is remembered (to time blocking reloads), and
        its next segments prefetched if --prefetch says so."""
        entry = self.cache.get(base.cache_key(resource.serial)) if resource.serial else None
        if entry is not None:
            rewritten = entry.value
        else:
            self.before_blocking()  # 20,000 lines take tens of ms: hits need not wait for them
            rewritten = _rewrite_document(self.config, resource, uri_maker(), base.keep_relative, base.document_base)
            if resource.serial:
                ttl = cache_ttl(self.config, resource.kind, resource.cache_control, rewritten.text) - age
                self.cache.put(base.cache_key(resource.serial), rewritten._replace(text=""),
                               len(rewritten.data) + _ENTRY_OVERHEAD, ttl)
        if rewritten.target_duration:
            self.remember_target_duration(resource.url.partition("?")[0], rewritten.target_duration)
            self.remember_target_duration(target.url.partition("?")[0], rewritten.target_duration)
            if self.config.prefetch:
                self.before_blocking()  # reads the whole playlist again
                self.prefetch(resource.body.decode("utf-8", "surrogateescape"), resource.url, target.options,
                              resource.cookies)
        return rewritten

    def too_large(self, key) -> bool:
        """Whether ``key`` answered with a body too large to keep (bounded
        memory: forgotten now and then, when it is opened whole once more)."""
        return self._too_large.get(key, False)

    def remember_target_duration(self, url: str, seconds: float) -> None:
        """Remember a playlist's target duration (bounded), to time blocking reloads."""
        if self._durations.get(url) != seconds:
            self._durations.put(url, seconds)

    def target_duration(self, url: str, default: float = 10.0) -> float:
        return self._durations.get(url, default)

    # -- prefetch: the fetcher with no consumer ---------------------------------------

    def prefetch(self, playlist_text: str, base_url: str, options: Tuple[Tuple[str, str], ...],
                 cookies: Tuple[StreamCookie, ...] = ()) -> int:
        """Queue the next ``config.prefetch`` uncached segments of a media playlist
        for a background fetch into the cache; return how many were queued.

        "Next" is the live edge for a live playlist (the newest segments) and
        the first uncached ones for a VOD playlist.
        """
        uris = _segment_uris(playlist_text, base_url)
        if "#EXT-X-ENDLIST" not in playlist_text:
            uris = uris[-self.config.prefetch:]
        queued = 0
        for uri in uris:
            if queued >= self.config.prefetch:
                break
            try:
                target = ProxyTarget(validate_upstream_url(uri), options, cookies=cookies)
            except BadRequest:
                continue
            if target.key in self.flights or self.cache.get(target.key) is not None:
                continue
            try:
                self._prefetch_queue.put_nowait(target)
            except queue.Full:
                break
            queued += 1
        if queued:
            self._start_prefetch_workers()
        return queued

    def _start_prefetch_workers(self) -> None:
        with self._lock:
            while len(self._prefetch_workers) < min(self.config.prefetch, 4):
                worker = threading.Thread(target=self._prefetch_worker, name="hlsproxy-prefetch", daemon=True)
                worker.start()
                self._prefetch_workers.append(worker)

    def _prefetch_worker(self) -> None:
        while True:
            target = self._prefetch_queue.get()
            if target is None:
                return
            try:
                flight, _, unshared = self.fetch(target, [], self.config.timeout)
                if unshared is not None:
                    unshared.body.close()  # not shareable: nothing to keep
                flight.wait_ended(self.prefetch_wait)  # at most one fetch per worker at a time
            except Exception as error:  # a prefetch is a guess: log, and go on
                _logger.debug("prefetch from %s failed: %s", urlsplit(target.url).hostname, error)

    def close(self) -> None:
        """Stop the prefetch workers and the idle pumps, and close the idle upstream
        connections; shared channels end (end_channels)."""
        self.end_channels()
        for _ in self._prefetch_workers:
            try:
                self._prefetch_queue.put_nowait(None)
            except queue.Full:
                break
        self._pumps.close()
        self.pool.close()


# ---------------------------------------------------------------------------
# The diagnosis: GET /diagnose?url=… walks a stream as a player would
#
# "Why doesn't it play?" answered by the proxy itself: the start playlist, its
# first variants and renditions, and in each a key, an init section and the
# first and last segment, fetched fresh (never from or into the cache) through
# the same guarded opener, with the same per-URL options and stream cookies.
# A refusal (401, 403) is tried again with only what a per-URL option could
# add (the playlist's origin as Referer and Origin; a browser's User-Agent),
# so that the answer says which option to use. Bounded in requests and time.
# ---------------------------------------------------------------------------

#: A browser's User-Agent, the one variation a diagnosis tries for it.
_BROWSER_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/130.0 Safari/537.36")


@dataclasses.dataclass
class _DiagnosisStep:
    """One request of a diagnosis (or a note about the walk), as the report
    shows it; ``text``, ``final`` and ``cookies`` are what the walk goes on
    with (a playlist's text, its URL after redirects, its cookies), never shown."""

    what: str
    url: Optional[str] = None  #: None for a note
    ok: bool = False
    status: Optional[int] = None  #: the upstream's, when it answered
    content_type: Optional[str] = None
    bytes: int = 0
    redirects: int = 0
    ms: Optional[float] = None
    conclusion: str = ""
    redirected_to: Optional[str] = None
    retried: Optional[int] = None  #: the status of the variation that worked
    text: Optional[str] = None
    final: Optional[str] = None
    cookies: Tuple[StreamCookie, ...] = ()
    kind: str = ""  #: what the answer was (a DOCUMENT_KINDS name, or MEDIA)

    def report(self) -> Dict[str, object]:
        """The step as the JSON report has it."""
        if self.url is None:
            return {"what": self.what, "ok": self.ok, "conclusion": self.conclusion}
        shown = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                 if field.name not in ("text", "final", "cookies", "kind")}
        for optional in ("redirected_to", "retried"):
            if shown[optional] is None:
                del shown[optional]
        return shown


class Diagnosis:
    """One walk of one stream; ``run()`` returns the JSON-ready report."""

    #: At most this many upstream requests, variations included.
    max_requests = 30
    #: Media playlists looked at (variants and renditions, in the master's order).
    max_playlists = 4
    #: Bytes of a segment read to see what it is and how fast it comes.
    segment_read_limit = 2 * 1024 * 1024

    def __init__(self, fetcher: "Fetcher", target: ProxyTarget, clock: Callable[[], float] = time.monotonic) -> None:
        self.fetcher, self.config, self.target, self.clock = fetcher, fetcher.config, target, clock
        self.started = clock()
        self.deadline = self.started + max(20.0, 4 * self.config.timeout)
        self.requests = 0
        self.steps = []  # type: List[_DiagnosisStep]
        origin = urlsplit(target.url)
        self.page_origin = "%s://%s/" % (origin.scheme, origin.netloc)
        #: Header names this stream sends already (--headers and the URL's options), in lower case.
        self.sent = {name.lower() for name, _ in self.config.headers + target.options}

    def run(self) -> Dict[str, object]:
        start = self.step("start playlist", self.target.url, "playlist", self.target.cookies)
        if start and start.text is not None and start.kind == "mpd":
            self.walk_mpd(start)
        elif start and start.text is not None:
            uris = playlist_uris(start.text, start.final)
            media = [url for url, kind in uris if kind in ("playlist", "subtitles")]
            if media:
                for number, url in enumerate(media[:self.max_playlists], 1):
                    playlist = self.step("media playlist %d" % number, url, "playlist", start.cookies)
                    if playlist and playlist.text is not None:
                        self.walk_media(playlist, "%d: " % number)
                if len(media) > self.max_playlists:
                    self.note("%d more media playlists not looked at" % (len(media) - self.max_playlists))
            else:
                self.walk_media(start, "")
        failed = [step for step in self.steps if not step.ok]
        return {
            "url": redacted(self.target.url), "ok": not failed,
            "verdict": failed[0].conclusion if failed else "every request answered as a player needs",
            "requests": self.requests, "seconds": round(self.clock() - self.started, 3),
            "steps": [step.report() for step in self.steps],
        }

    def walk_mpd(self, mpd: _DiagnosisStep) -> None:
        """Each Representation of an MPD (its first Period): init section, first
        and last segment, as mpd_segments expands them, byte ranges included."""
        try:
            representations = mpd_segments(mpd.text, mpd.final)
        except HlsProxyError as error:
            return self.note("the MPD cannot be read: %s" % error.reason)
        for label, requests in representations[:self.max_playlists]:
            for what, url, span in requests:
                self.step("%s: %s" % (label, what), url, "media", mpd.cookies, span)
        if len(representations) > self.max_playlists:
            self.note("%d more Representations not looked at" % (len(representations) - self.max_playlists))

    def walk_media(self, playlist: _DiagnosisStep, prefix: str) -> None:
        uris = playlist_uris(playlist.text, playlist.final)
        keys = [url for url, kind in uris if kind == "key"]
        inits = [url for url, kind in uris if kind == "init"]
        segments = [url for url, kind in uris if kind in ("segment", "fmp4")]
        picks = [("key", keys[:1]), ("init section", inits[:1]),
                 ("first segment", segments[:1]), ("last segment", segments[1:][-1:])]
        for what, urls in picks:
            for url in urls:
                self.step(prefix + what, url, "media", playlist.cookies)

    def step(self, what: str, url: str, expect: str, cookies: Tuple[StreamCookie, ...],
             span: str = "") -> Optional[_DiagnosisStep]:
        """Fetch ``url`` (its bytes ``span``, "first-last", if given; and, refused,
        its variations); record what came of it."""
        if self.requests >= self.max_requests or self.clock() > self.deadline:
            self.note("%s not fetched: the diagnosis stops at %d requests or %.0f s"
                      % (what, self.max_requests, self.deadline - self.started))
            return None
        target = dataclasses.replace(self.target, url=url, cookies=cookies)
        record = self.fetch(target, expect, span)
        record.what, record.url = what, redacted(url)
        if record.ok and what.endswith("key") and record.bytes != 16:
            record.ok = False
            record.conclusion = "the key is %d bytes; AES-128 wants 16 (an error page?)" % record.bytes
        if record.ok or record.status not in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            self.steps.append(record)
            return record
        tried = []
        for change, headers in self.variations():
            if self.requests >= self.max_requests:
                break
            retry = self.fetch(dataclasses.replace(target, options=target.options + headers), expect, span)
            tried.append("retried with %s: %s" % (change, retry.status or retry.conclusion))
            if retry.ok:
                option = "&".join("%s=%s" % ({"Referer": "referer", "Origin": "origin", "User-Agent": "ua"}[name],
                                             quote(value, safe="")) for name, value in headers)
                record.retried = retry.status
                record.conclusion = "%s answered %s %s; %s; add %s to the proxy URL" % (
                    what, record.status, self.missing(), "; ".join(tried), "&" + option)
                break
        else:
            record.conclusion = "%s answered %s %s%s" % (what, record.status, self.missing(),
                                                        "; " + "; ".join(tried) if tried else "")
        self.steps.append(record)
        return record

    def variations(self) -> List[Tuple[str, Tuple[Tuple[str, str], ...]]]:
        """Headers a per-URL option could add that this stream does not send yet."""
        found = []
        if "referer" not in self.sent:
            found.append(("the playlist's origin as Referer and Origin",
                          (("Referer", self.page_origin), ("Origin", self.page_origin.rstrip("/")))))
        if "user-agent" not in self.sent:
            found.append(("a browser's User-Agent", (("User-Agent", _BROWSER_USER_AGENT),)))
        return found

    def missing(self) -> str:
        absent = [name for name in ("Referer", "User-Agent") if name.lower() not in self.sent]
        return "without a %s" % " or a ".join(absent) if absent else "with the headers given"

    def fetch(self, target: ProxyTarget, expect: str, span: str = "") -> _DiagnosisStep:
        """One upstream request of the walk, and what came of it."""
        self.requests += 1
        started = self.clock()
        record = _DiagnosisStep(what="", url=target.url)
        asked = [("Range", "bytes=" + span)] if span else []
        try:
            body = self.fetcher.open(target, upstream_request_headers(self.config, target, asked), self.config.timeout)
        except HlsProxyError as error:
            record.status, record.conclusion = getattr(error, "upstream_status", None), error.reason
            record.ms = self.ms(started)
            return record
        response = body.response
        try:
            record.status, record.content_type = response.status, response.headers.get("Content-Type")
            record.redirects, record.cookies = len(getattr(response, "hops", ())), response.stream_cookies
            record.final = response.url
            if response.url != target.url:
                record.redirected_to = redacted(response.url)
            kind, head = _classify(response, body)
            record.kind = kind
            if kind in ("playlist", "mpd"):
                data = body.read_document(head, self.config.max_playlist_bytes, self.config.timeout)
                record.text, record.bytes = data.decode("utf-8", "surrogateescape"), len(data)
            else:
                record.bytes = len(head) + self.drain(body)
            record.ok, record.conclusion = self.judge(expect, kind, head, record)
        except HlsProxyError as error:
            record.conclusion = error.reason
        finally:
            body.close()
        record.ms = self.ms(started)
        return record

    def drain(self, body: UpstreamBody) -> int:
        size = 0
        while size < self.segment_read_limit:
            chunk = body.read1(_CHUNK_SIZE)
            if not chunk:
                break
            size += len(chunk)
        return size

    @staticmethod
    def judge(expect: str, kind: str, head: bytes, record: _DiagnosisStep) -> Tuple[bool, str]:
        """Whether an answer is what a player wants here, and a sentence saying so."""
        if expect == "playlist":
            if kind == "mpd":
                text = record.text
                live = "live" if _mpd_root(text)[1].get("type") == "dynamic" else "static"
                return True, "MPD (%s): %d Periods, %d Representations" % (
                    live, len(re.findall(r"<(?:\w+:)?Period[\s>/]", text)),
                    len(re.findall(r"<(?:\w+:)?Representation[\s>/]", text)))
            if kind != "playlist":
                return False, "a player wanted a playlist here and got %s" % _what_it_looks_like(head)
            text = record.text
            if "#EXT-X-STREAM-INF" in text:
                return True, "master playlist: %d variants" % text.count("#EXT-X-STREAM-INF")
            segments = sum(1 for url, kind in playlist_uris(text, record.final) if kind in ("segment", "fmp4"))
            live = "VOD" if "#EXT-X-ENDLIST" in text else "live"
            return True, "media playlist (%s): %d segments, target duration %s s" % (
                live, segments, _number_text(playlist_target_duration(text) or 0))
        what = _media_kind(head)
        size = record.bytes
        if kind != MEDIA:
            return False, "a player wanted media here and got a %s" % kind
        if record.status not in (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT):
            return False, "answered %s" % record.status
        return True, "%s, %s bytes%s" % (what, "{:,}".format(size), " read" if size >= Diagnosis.segment_read_limit
                                          else "")

    def note(self, text: str) -> None:
        self.steps.append(_DiagnosisStep("note", ok=True, conclusion=text))

    def ms(self, started: float) -> float:
        return round((self.clock() - started) * 1000, 1)


# ---------------------------------------------------------------------------
# Metrics: what /metrics says, in Prometheus text
# ---------------------------------------------------------------------------

_STATUS_CLASSES = ("0xx", "1xx", "2xx", "3xx", "4xx", "5xx")


class Metrics:
    """Counters and one latency histogram, rendered in Prometheus text format.

    One lock, held for a few dict operations only. Per process: with
    ``--workers`` each worker counts its own.
    """

    #: Upper bounds of the upstream latency buckets, in seconds.
    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the upstream latency histogram
        self._counts = _ThreadCounts()  # (name, label) -> count: every answer adds to it
        self._latency = [0] * (len(self.BUCKETS) + 1)
        self._latency_sum = 0.0

    def count(self, name: str, label: str = "", amount: float = 1) -> None:
        self._counts.add([((name, label), amount)])

    def answered(self, status: int, sent: int, cache_result: Optional[str]) -> None:
        """One answer: its status class, body bytes and cache outcome."""
        pairs = [(("requests_total", _STATUS_CLASSES[status // 100]), 1), (("sent_bytes_total", ""), sent)]
        if cache_result:
            pairs.append((("cache_total", cache_result), 1))
        self._counts.add(pairs)

    def connections(self, change: int) -> None:
        self._counts.add([(("active_connections", ""), change)])

    def observe_upstream(self, seconds: float, status: Optional[int]) -> None:
        """One upstream fetch: its time to response headers, and the status it
        answered with (None: it never answered)."""
        index = next((i for i, bound in enumerate(self.BUCKETS) if seconds <= bound), len(self.BUCKETS))
        with self._lock:
            self._latency[index] += 1
            self._latency_sum += seconds
        if status is None:
            self.count("upstream_failures_total")
        else:
            self._counts.add([(("upstream_fetches_total", ""), 1),
                              (("upstream_responses_total", _STATUS_CLASSES[min(status // 100, 5)]), 1)])

    def render(self, cache: TTLCache, channels: List[Tuple[str, int]] = ()) -> str:
        """The metrics in Prometheus text exposition format (version 0.0.4);
        ``channels``: the live channels shared now, (id, viewers) each."""
        counts = self._counts.totals()
        with self._lock:
            latency, latency_sum = list(self._latency), self._latency_sum
        active = counts.get(("active_connections", ""), 0)
        lines = []

        def family(name: str, kind: str, help_text: str, samples: List[Tuple[str, float]]) -> None:
            lines.append("# HELP hlsproxy_%s %s" % (name, help_text))
            lines.append("# TYPE hlsproxy_%s %s" % (name, kind))
            for labels, value in samples:
                lines.append("hlsproxy_%s%s %s" % (name, labels, _number_text(value)))

        family("requests_total", "counter", "Requests answered, by status class.",
               [('{class="%s"}' % c, counts.get(("requests_total", c), 0))
                for c in ("1xx", "2xx", "3xx", "4xx", "5xx")])
        family("cache_requests_total", "counter", "Proxied requests by cache outcome.",
               [('{result="%s"}' % r, counts.get(("cache_total", r), 0)) for r in ("HIT", "MISS", "COALESCED")])
        family("upstream_fetches_total", "counter", "Upstream requests that got an answer.",
               [("", counts.get(("upstream_fetches_total", ""), 0))])
        family("upstream_responses_total", "counter", "Upstream answers, by status class.",
               [('{class="%s"}' % c, counts.get(("upstream_responses_total", c), 0))
                for c in ("1xx", "2xx", "3xx", "4xx", "5xx")])
        family("upstream_failures_total", "counter", "Upstream requests that got no answer (unreachable, timeout).",
               [("", counts.get(("upstream_failures_total", ""), 0))])
        family("sent_bytes_total", "counter", "Body bytes sent to clients.",
               [("", counts.get(("sent_bytes_total", ""), 0))])
        family("cache_bytes", "gauge", "Bytes held in the cache.", [("", cache.bytes)])
        family("cache_entries", "gauge", "Entries in the cache.", [("", len(cache))])
        family("active_connections", "gauge", "Client connections open now.", [("", active)])
        family("channels", "gauge", "Live TS channels shared now, one upstream connection each.",
               [("", len(channels))])
        family("channel_viewers", "gauge", "Viewers of each live channel, by its id (a keyed hash of its URL).",
               [('{channel="%s"}' % channel, viewers) for channel, viewers in channels])
        family("channel_opens_total", "counter", "Live channels opened upstream.",
               [("", counts.get(("channel_opens_total", ""), 0))])
        family("channel_skips_total", "counter", "Times a viewer the ring had left behind was moved to the newest PAT.",
               [("", counts.get(("channel_skips_total", ""), 0))])
        cumulative, samples = 0, []
        for bound, observed in zip(self.BUCKETS + (float("inf"),), latency):
            cumulative += observed
            samples.append(('{le="%s"}' % ("+Inf" if bound == float("inf") else _number_text(bound)), cumulative))
        family("upstream_fetch_seconds", "histogram", "Time to an upstream's response headers.", [])
        lines.extend("hlsproxy_upstream_fetch_seconds_bucket%s %d" % sample for sample in samples)
        lines.append("hlsproxy_upstream_fetch_seconds_sum %s" % _number_text(latency_sum))
        lines.append("hlsproxy_upstream_fetch_seconds_count %d" % cumulative)
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# The client side: the one writer
#
# Every byte a client gets goes out through its connection's ClientWriter: the
# head and its framing, the body by offset with Range slicing, in turns, and
# counted.
# ---------------------------------------------------------------------------

#: What a non-blocking send raises when the socket is full; over TLS a write may
#: also need to read first (a key update), which is a wait like any other.
_SEND_WOULD_BLOCK = (BlockingIOError,) + ((ssl.SSLWantWriteError, ssl.SSLWantReadError) if ssl is not None else ())

#: "HTTP/1.1 200 OK" and the rest, made once.
_STATUS_LINES = types.MappingProxyType({status.value: "HTTP/1.1 %d %s" % (status.value, status.phrase)
                                        for status in HTTPStatus})

#: A body up to this size goes out in one write with its head (a copy is cheaper than a second send).
_WHOLE_WRITE_LIMIT = 64 * 1024


class _ClientGone(ConnectionError):
    """The client closed its connection, or stopped reading: nothing more can be sent."""


class ClientWriter:
    """The one place that writes to a client.

    It owns an answer's head (status line, Server, Date, then the headers it is
    given), its framing (Content-Length, chunked, or the close; none for 1xx,
    204 and 304), the copy of a body by offset with Range slicing, the fair
    writes (every write in the connection's turn, and a write that would block
    gives the turn up until the socket drains), and the byte count for the
    access log and /metrics (body bytes, as nginx's ``$body_bytes_sent``). It
    is also the handler's ``wfile``.
    """

    def __init__(self, sock: socket.socket, turnstile: Turnstile, server: str) -> None:
        self._sock = sock
        self._turns = turnstile
        self._server = "Server: " + server
        self.closed = False
        self._date = (0, "")
        self.reset()

    def reset(self) -> None:
        """Before each request on the connection."""
        self.status = None  # type: Optional[int]
        self.sent = 0
        self.body = True  # False for HEAD, 1xx, 204 and 304: the head is all
        self._chunked = False
        #: Writes take turns. An answer copied from a fetch under way is paced by
        #: the upstream, not by the CPU: it writes without queueing for a turn at
        #: every chunk (which cost W3 two thirds of its throughput, bench/README.md),
        #: as each chunk is a few syscalls' work.
        self.takes_turns = True
        #: The Date the answer carries, when not now: a clock's answer carries its
        #: upstream's (an MPD's UTCTiming http-head reads it).
        self.date = None  # type: Optional[str]

    @property
    def started(self) -> bool:
        return self.status is not None

    # -- an answer -------------------------------------------------------------------

    def start(self, status: int, headers: List[Tuple[str, str]], length: Optional[int],
              version: str, close: bool, head_only: bool = False, data: bytes = b"") -> bool:
        """Send the head of an answer whose body is ``length`` bytes (None: not
        known yet), framed for ``version``, and ``data``, the first of the body
        (a small whole body goes out with its head, in one write); return whether
        the connection must close after it (asked, or an HTTP/1.0 body that
        ends at the close)."""
        bodiless = status < 200 or status == 204 or status == 304  # no body, no framing
        framing = []
        self._chunked = False
        if not bodiless:
            if length is not None:
                framing.append(("Content-Length", str(length)))
            elif version == "HTTP/1.1":
                framing.append(("Transfer-Encoding", "chunked"))
                self._chunked = not head_only
            else:
                close = True  # HTTP/1.0: the end of the body is the close
        if close:
            framing.append(("Connection", "close"))
        elif version == "HTTP/1.0":
            framing.append(("Connection", "keep-alive"))
        lines = [_STATUS_LINES.get(status) or "HTTP/1.1 %d " % status, self._server,
                 "Date: " + (self.date or self._http_date())]
        lines.extend([name + ": " + value for name, value in headers])
        lines.extend([name + ": " + value for name, value in framing])
        self.status, self.body = status, not (bodiless or head_only)
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        if data and self.body and not self._chunked and len(data) <= _WHOLE_WRITE_LIMIT:
            self._send(head + data)
            self.sent += len(data)
        else:
            self._send(head)
            self.write(data)
        return close

    def write(self, data) -> None:
        """Send part of the body, framed as start() decided."""
        if not self.body or not data:
            return
        self._send(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data)
        self.sent += len(data)

    def end(self) -> None:
        """The body is complete."""
        if self._chunked and self.body:
            self._send(b"0\r\n\r\n")

    def copy(self, read: Callable[[int], bytes], first: int, last: Optional[int]) -> int:
        """Send bytes ``first`` to ``last`` (inclusive; None: to the end) of a body
        that ``read(offset)`` returns a piece of at a time (b"" at its end);
        return the offset reached."""
        offset = first
        while last is None or offset <= last:
            data = read(offset)
            if not data:
                break
            if last is not None and offset + len(data) > last + 1:
                data = data[:last + 1 - offset]
            self.write(data)
            offset += len(data)
        return offset

    def interim(self, status: int) -> None:
        """An interim answer (100 Continue), outside the request's accounting."""
        self._send(b"HTTP/1.1 %d %s\r\n\r\n" % (status, HTTPStatus(status).phrase.encode()))

    # -- bytes on the wire ---------------------------------------------------------------

    def _send(self, data) -> None:
        """Write all of ``data``: in this connection's turn, never blocking in it
        (while the client's socket is full the turn is given up, and taken again
        once it drains), or without turns for an answer that writes at the
        upstream's pace. A client that takes nothing for the socket's timeout
        (--idle-timeout) is gone."""
        sock, view = self._sock, memoryview(data)
        try:
            if not self.takes_turns:
                while view:  # in the socket's timeout mode: each send waits for room
                    view = view[sock.send(view):]
                return
            self._turns.take()
            timeout = sock.gettimeout()
            sock.settimeout(0.0)  # send what fits now; EAGAIN instead of waiting
            try:
                while view:
                    try:
                        view = view[sock.send(view):]
                        continue
                    except _SEND_WOULD_BLOCK:
                        pass  # over TLS the same bytes are offered again, as OpenSSL wants
                    self._turns.give()  # the client's socket is full: wait for room without a turn
                    sock.settimeout(timeout)
                    view = view[sock.send(view):]  # waits for room, up to the timeout
                    sock.settimeout(0.0)
                    self._turns.take()
            finally:
                sock.settimeout(timeout)
        except (OSError, ValueError) as error:  # ValueError: the socket was closed under us
            raise _ClientGone(str(error) or "client stopped reading") from error

    def _http_date(self) -> str:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        return self._date[1]

    # -- as the handler's wfile (http.server flushes and closes it) ------------------------

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _close_after_input(sock: socket.socket) -> None:
    """Before closing a connection that was refused: stop sending, then read
    what the client is still sending, briefly. Closing with unread data sends a
    TCP reset, which can destroy the answer in flight."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(1.0)
        for _ in range(64):
            if not sock.recv(65536):
                break
    except OSError:
        pass


# ---------------------------------------------------------------------------
# The page at /
#
# Paste a stream URL (and a Referer), see the proxied URL, play it; or open a
# shared address (/?url=…&referer=…), which fills the form and plays.
# Self-contained; the one outside resource is hls.js, and the page says where
# from. Its own Content-Security-Policy lets its inline script and hls.js run,
# nothing else.
# ---------------------------------------------------------------------------

#: The page at /: paste a stream URL (and a Referer), see the proxied URL, play it.
#: Self-contained; the one outside resource is hls.js, and the page says where from.
_UI_PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>hlsproxy</title>
<style>*{box-sizing:border-box}
body{font:16px system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.6rem 0}input{display:block;width:100%;max-width:100%;padding:.4rem;font:inherit}
button{padding:.4rem 1.2rem;font:inherit;margin:.2rem .4rem .2rem 0}video{width:100%;background:#000;margin-top:1rem}
code{word-break:break-all;background:#eee;padding:.1rem .3rem}.note{color:#555;font-size:.9rem}
#status{color:#a00}.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.85rem;width:100%}
td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}
td.url{word-break:break-all;color:#555}tr.bad td{background:#fee}</style>
</head><body>
<h1>hlsproxy</h1>
<p>Plays an HLS or MPEG-DASH stream whose server sends no CORS headers, wants a Referer, or lives elsewhere.</p>
<form id="form">
<label>__URL_LABEL__ <input id="url" type="url" required placeholder="https://example.com/live/index.m3u8"></label>
__REFERER_FIELD__<button id="play">Play</button><button id="diagnose" type="button">Diagnose</button>
</form>
<p>Proxied URL: <code id="proxied">-</code></p>
<video id="video" controls muted playsinline></video>
<p id="status"></p>
<div id="report" class="scroll"></div>
<p class="note">__SIGNING_NOTE__Where the browser cannot play HLS itself, this page loads hls.js from
<code>__HLSJS_TEXT__</code> (<code>--hlsjs-url</code> points it elsewhere); for MPEG-DASH, which no
browser plays itself, dash.js from <code>__DASHJS_TEXT__</code> (<code>--dashjs-url</code>).</p>
<script>
"use strict";
const HLSJS = __HLSJS_JSON__, DASHJS = __DASHJS_JSON__, SIGNED = __SIGNED__;
const $ = (id) => document.getElementById(id);
// Relative to this page, so it works under any path prefix a reverse proxy adds.
const HERE = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
function proxied(url, referer) {
  if (SIGNED) return url;
  let src = location.origin + HERE + "proxy?url=" + encodeURIComponent(url);
  if (referer) src += "&referer=" + encodeURIComponent(referer);
  return src;
}
function diagnosis(src) {  // the same stream and options, asked of /diagnose
  const u = new URL(src, location.href);
  if (/\/proxy\/?$/.test(u.pathname)) u.pathname = u.pathname.replace(/\/proxy\/?$/, "/diagnose");
  else u.pathname = u.pathname.replace("/p/", "/diagnose/p/");
  return u.href;
}
function cell(row, text, kind) {
  const td = document.createElement(kind || "td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.appendChild(td);
  return td;
}
function diagnose(src) {
  $("report").textContent = "diagnosing...";
  fetch(diagnosis(src)).then((r) => r.json().then((report) => {
    const box = $("report"), table = document.createElement("table"), head = table.insertRow();
    box.textContent = "";
    const names = ["request", "status", "type", "bytes", "ms", "redirects", "what the proxy concluded"];
    for (const name of names) cell(head, name, "th");
    for (const step of report.steps || []) {
      const row = table.insertRow();
      if (!step.ok) row.className = "bad";
      cell(row, step.what);
      cell(row, step.retried ? step.status + " (then " + step.retried + ")" : step.status);
      cell(row, step.content_type); cell(row, step.bytes); cell(row, step.ms); cell(row, step.redirects);
      cell(row, step.conclusion);
      if (!step.url) continue;
      const line = table.insertRow(), url = cell(line, step.url);
      url.colSpan = names.length;
      url.className = "url";
      if (!step.ok) line.className = "bad";
    }
    const verdict = document.createElement("p");
    verdict.id = "verdict";
    verdict.textContent = report.verdict ? (report.ok ? "Diagnosis: " : "Diagnosis: problem: ") + report.verdict
      : "Diagnosis failed: HTTP " + r.status;
    box.appendChild(verdict);
    box.appendChild(table);
  })).catch((e) => { $("report").textContent = "diagnosis failed: " + e; });
}
function failed(url, src, what) {  // say why, in the proxy's words, then diagnose
  fetch(url).then((r) => r.text().then((text) => {
    const why = r.ok ? what : "HTTP " + r.status + ": " + text.trim().slice(0, 300);
    $("status").textContent = "playback failed: " + why;
  })).catch(() => { $("status").textContent = "playback failed: " + what + " (the proxy did not answer)"; });
  diagnose(src);
}
function withScript(url, loaded, flag, file, then) {  // hls.js or dash.js, loaded once
  if (loaded()) return then();
  const script = document.createElement("script");
  script.src = url;
  script.onload = then;
  script.onerror = () => {
    $("status").textContent = "could not load " + file.split(".")[0] + ".js from " + url + ": start hlsproxy with "
      + flag + " set to a copy of " + file + " this browser can reach (a /path served beside the proxy, "
      + "or another CDN)";
  };
  document.head.appendChild(script);
}
function withHlsjs(then) { withScript(HLSJS, () => window.Hls, "--hlsjs-url", "hls.min.js", then); }
function play(src) {
  $("status").textContent = ""; $("report").textContent = "";
  if (window.player) { (window.player.destroy || window.player.reset).call(window.player); window.player = null; }
  // HLS or DASH: the proxy tells them apart by content, and says which in its Content-Type.
  fetch(src, {method: "HEAD"}).then((r) => /dash\+xml/i.test(r.headers.get("Content-Type") || ""), () => false)
    .then((dash) => (dash ? playDash : playHls)(src));
}
function playDash(src) {
  const video = $("video");
  withScript(DASHJS, () => window.dashjs, "--dashjs-url", "dash.all.min.js", () => {
    const player = window.player = dashjs.MediaPlayer().create();
    // A live stream's clock, when its MPD names none: this proxy's Date, not a public time server.
    player.updateSettings({streaming: {utcSynchronization: {defaultTimingSource: {
      scheme: "urn:mpeg:dash:utc:http-head:2014", value: location.origin + HERE + "healthz"}}}});
    player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
      const error = e.error || {};
      failed(error.data && error.data.url || src, src, "dash.js error " + error.code + ": " + error.message);
    });
    player.initialize(video, src, true);
  });
}
function playHls(src) {
  const video = $("video");
  if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.onerror = () => failed(src, src, "the browser could not play it");
    video.src = src;
    video.play().catch(() => {});
    return;
  }
  withHlsjs(() => {
    if (!Hls.isSupported()) { $("status").textContent = "this browser cannot play HLS"; return; }
    const player = window.player = new Hls();
    player.on(Hls.Events.ERROR, (_, d) => {
      if (!d.fatal) return;
      const url = d.url || (d.context && d.context.url) || (d.frag && d.frag.url) || src;
      failed(url, src, d.details);
    });
    player.loadSource(src);
    player.attachMedia(video);
    player.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
  });
}
function source() {
  const referer = $("referer") ? $("referer").value.trim() : "";
  const src = proxied($("url").value.trim(), referer);
  $("proxied").textContent = src;
  // The address bar now holds this stream (/?url=...&referer=...): copy it to share it.
  const shared = new URLSearchParams({url: $("url").value.trim()});
  if (referer) shared.set("referer", referer);
  history.replaceState(null, "", HERE + "?" + shared);
  return src;
}
$("form").addEventListener("submit", (event) => { event.preventDefault(); play(source()); });
$("diagnose").addEventListener("click", () => { if ($("form").reportValidity()) diagnose(source()); });
// A shared address fills the form and plays. What comes from the address is data: set
// as a field's value (never parsed as markup), and played only if it is an http(s) URL.
const given = new URLSearchParams(location.search);
if (given.get("url")) {
  $("url").value = given.get("url");
  if ($("referer")) $("referer").value = given.get("referer") || given.get("referrer") || "";
  if (/^https?:\/\//i.test($("url").value.trim()) && $("form").checkValidity()) play(source());
}
</script>
</body></html>
"""


def render_page(config: Config) -> str:
    """The page at /, for ``config``: with --secret it plays signed URLs only and
    says how to make one, never exposing the secret."""
    hlsjs, dashjs = config.hlsjs_url or _DEFAULT_HLSJS_URL, config.dashjs_url or _DEFAULT_DASHJS_URL
    signed = bool(config.secret)
    base = _html_escape(config.public_url or "http://THIS-PROXY:PORT")
    note = ("This proxy serves signed URLs only: make one on the proxy's machine with "
            "<code>python3 hlsproxy.py sign URL --referer ... --public-url %s</code> (or set "
            "<code>HLSPROXY_PUBLIC_URL</code> and <code>HLSPROXY_SECRET</code> as for the proxy) "
            "and paste it above. " % base) if signed else ""
    replacements = {
        "__URL_LABEL__": "Signed proxy URL" if signed else "Stream URL",
        # Under --secret a signed URL carries its own headers: no Referer field at all.
        "__REFERER_FIELD__": "" if signed else '<label>Referer (optional) <input id="referer" type="url"></label>\n',
        "__SIGNING_NOTE__": note,
        "__HLSJS_TEXT__": _html_escape(hlsjs),
        # JSON is valid JavaScript; "</" is escaped so no value can close the script element.
        "__HLSJS_JSON__": json.dumps(hlsjs).replace("</", "<\\/"),
        "__DASHJS_TEXT__": _html_escape(dashjs),
        "__DASHJS_JSON__": json.dumps(dashjs).replace("</", "<\\/"),
        "__SIGNED__": "true" if signed else "false",
    }
    page = _UI_PAGE
    for marker, value in replacements.items():
        page = page.replace(marker, value)
    return page


def _page_policy(config: Config) -> str:
    """The page's own Content-Security-Policy: its inline script, hls.js and
    dash.js run, nothing else does; it plays from anywhere (a signed URL may
    name another base)."""
    sources = []
    for url in (config.hlsjs_url or _DEFAULT_HLSJS_URL, config.dashjs_url or _DEFAULT_DASHJS_URL):
        script = urlsplit(url)
        source = "%s://%s" % (script.scheme, script.netloc) if script.netloc else "'self'"
        if source not in sources:
            sources.append(source)
    return ("default-src 'self'; script-src 'unsafe-inline' %s; style-src 'unsafe-inline'; "
            "media-src * blob:; connect-src *; worker-src blob:; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'" % " ".join(sources))


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# ---------------------------------------------------------------------------
# HTTP handler: routing, the one way an answer starts, the one error path
# ---------------------------------------------------------------------------

#: On every answer but the page's own: whatever an upstream sends (an HTML page,
#: an SVG, a script) is served from the proxy's origin, the page's origin, so a
#: browser must neither guess its type nor run anything in it.
_CONTENT_GUARD = (("X-Content-Type-Options", "nosniff"),
                 ("Content-Security-Policy", "sandbox; default-src 'none'; frame-ancestors 'none'"))


class _PublicUrls:
    """How clients reach this proxy, and the URLs it writes for them: the
    --public-url path prefix a reverse proxy passes on, the proxy URLs asked
    for (parsed once, and remembered with a fixed bound), the public base and
    signature expiry written into rewritten documents.

    ``server_url`` is where the server listens, for a request whose Host
    header cannot be trusted to say.
    """

    def __init__(self, config: Config, server_url: str) -> None:
        self.config = config
        self.server_url = server_url
        self.scheme = urlsplit(server_url).scheme
        #: The --public-url path (``/hls``), routed as the root; "" when none.
        self.prefix = urlsplit(config.public_url or "").path.rstrip("/")
        self._targets = _BoundedMemo()  # request path -> ProxyTarget

    def route(self, path: str) -> str:
        """The request path with the --public-url path prefix removed: behind a
        reverse proxy that passes /hls/… on as it is, /hls/healthz is /healthz."""
        prefix = self.prefix
        if prefix and (path.startswith(prefix + "/") or path.split("?", 1)[0] == prefix):
            return path[len(prefix):] if path[len(prefix):len(prefix) + 1] == "/" else "/"
        return path

    def target(self, path: str) -> ProxyTarget:
        """parse_proxy_path, remembered for the paths players ask for again and again."""
        target = self._targets.get(path)
        if target is None or (target.expires and target.expires < time.time()):
            target = parse_proxy_path(path, secret=self.config.secret)
            self._targets.put(path, target)
        return target

    def rewrite_base(self, target: ProxyTarget, resource: Resource, routed: str, headers) -> _RewriteBase:
        """What ``resource``, served for ``target`` at ``routed``, is rewritten for.

        Served at /p/<token>/<name>, a playlist can keep its plain relative URIs:
        the player resolves them to /p/<token>/<path>, and the proxy the path
        against the token's URL, with the token's options and cookies. Not when
        that URL redirected (the base differs), when this answer set cookies the
        URIs must carry, or under --secret (a signature covers one file).
        """
        keep_relative = not self.config.secret and resource.url == target.url \
            and resource.cookies == target.cookies and routed.startswith("/p/") and not target.fragment_base
        return _RewriteBase(self.public_base(headers), self.expiry(), target.subtitles, keep_relative,
                            target.fragment_base)

    def public_base(self, headers) -> str:
        """The proxy's URL as the client reached it: --public-url, or what a
        trusted reverse proxy forwarded, or the Host header when it is sane."""
        config = self.config
        if config.public_url:
            return config.public_url
        if config.trust_forwarded:
            forwarded = forwarded_base(headers)
            if forwarded:
                return forwarded
        host = headers.get("Host", "")
        if not _HOST_HEADER.match(host):
            return self.server_url
        return self.scheme + "://" + host

    def expiry(self) -> int:
        """The expiry to sign into the URLs written now (0: never).

        Rounded up to a bucket of half the TTL, so that the URLs of one playlist,
        and of playlists served close together, are the same (deterministic
        mapping); each stays valid between one and one and a half TTLs.
        """
        ttl = self.config.url_ttl
        if not (self.config.secret and ttl):
            return 0
        bucket = max(1, int(ttl / 2))
        return (int(time.time() + ttl) // bucket + 1) * bucket

    def uri_maker(self, target: ProxyTarget, cookies: Tuple[StreamCookie, ...],
                  base: _RewriteBase) -> Callable[[str, str], str]:
        """The rewriter's hook for a document of ``target``: per-URL options
        travel with every URI of it, so segments, keys and variants are fetched
        with the same headers, and so do the stream's ``cookies``. A WebVTT
        rendition's segments are named .vtt, which only its master could tell."""
        prefix, options, secret = base.public_url.rstrip("/") + "/p/", target.options, self.config.secret
        expires = base.expires
        segment = "vtt" if target.subtitles else "segment"
        return lambda url, kind, base="", headers=(): _proxy_url(
            prefix, url, options + headers, secret, expires, segment if kind == "segment" else kind, cookies, base)


def _log_access(client: str, method: str, path: str, status: int, sent: int, seconds: float,
               cache: Optional[str], upstream_url: Optional[str]) -> None:
    """The access log line of one answer: as text, and as fields for --log-format json."""
    if not _access_logger.isEnabledFor(logging.INFO):
        return  # --quiet: not even the fields are made
    fields = {
        "client": client, "method": method or "-", "path": _loggable_path(path), "status": status, "bytes": sent,
        "ms": round(seconds * 1000, 1), "cache": cache or "-",
        "upstream": (urlsplit(upstream_url).hostname or "-") if upstream_url else "-",
    }
    _access_logger.info("%(client)s %(method)s %(path)s %(status)d %(bytes)d %(ms).1fms %(cache)s %(upstream)s",
                       fields, extra={"access": fields})


def _requested_headers(headers) -> str:
    """Echo Access-Control-Request-Headers, keeping only header-name characters."""
    requested = headers.get("Access-Control-Request-Headers", "")
    names = [n.strip() for n in requested.split(",") if _HEADER_NAME.match(n.strip())]
    return ", ".join(names) or "Range"


class ProxyHandler(BaseHTTPRequestHandler):
    """Answers /proxy and /p/ requests, the page, /healthz, /metrics and /diagnose.

    It reads a request (read_request_head, strictly), routes it, and answers
    through its ClientWriter, every answer with CORS headers (_answer) and
    every error the same way (_send_failure). It reads four members of its
    server: ``config``, ``fetcher`` (what to fetch), ``urls`` (PublicUrls) and
    ``connections`` (Connections: deadlines, requests in flight, turns).
    """

    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a length or is chunked
    server_version = "hlsproxy/" + __version__
    # Headers and body go out in separate writes; without this, Nagle's
    # algorithm meets the client's delayed ACK and small answers wait ~40 ms.
    disable_nagle_algorithm = True

    #: Longest request line accepted; a longer one gets 414 (http.server allows 64 KiB).
    max_request_line = 16 * 1024

    def setup(self) -> None:
        self.timeout = self.server.config.idle_timeout
        super().setup()
        self.turns = self.server.connections.turnstile
        self.writer = self.wfile = ClientWriter(self.connection, self.turns, self.version_string())
        self._reset()

    def handle(self) -> None:
        if self.server.connections.handshake(self.connection, self.client_address[0]):
            super().handle()

    def _reset(self) -> None:
        """Forget the last request on this connection before reading the next."""
        self._started = time.monotonic()
        self._cache_result = self._upstream_url = None
        self._routed = ""  # the request path less the --public-url prefix, once routed
        self.command, self.path, self.requestline, self.request_version = "", "", "", "HTTP/1.1"
        self.headers = None
        self._head_only = False
        self.writer.reset()

    def handle_one_request(self) -> None:
        """Read one request (see _read_request), answer it in turn, and account for it."""
        connections = self.server.connections
        try:
            self._reset()
            arrived = self.rfile.peek(1)  # an idle keep-alive connection waits here, up to idle_timeout
            if not arrived:
                self.close_connection = True
                return
            if not self._read_request(arrived):
                return
            connections.begin_request()
            self.turns.take()  # every call that may block gives it back (see Turnstile)
            try:
                getattr(self, "do_" + self.command)()
            finally:
                self._account()  # counted and logged while still in flight: a drain waits for it
                connections.end_request()
        except socket.timeout:
            self.close_connection = True
        finally:
            self._account()  # an answer given before dispatch (400, 405, 414, ...), if any
            self.turns.give()

    def _read_request(self, arrived: bytes) -> bool:
        """Read a request head and drop its body; True when it is ready to answer.

        The head is checked by parse_request_head; anything ambiguous is
        answered with its error and the connection closed. From the first byte,
        the head and any body must arrive within ``header_timeout``, enforced by
        the server's watchdog: a slowloris client cannot hold a thread by
        sending one byte at a time. A head that came whole in its first packet
        (the usual case) is parsed in turn: that cannot block.
        """
        connections = self.server.connections
        watched = b"\r\n\r\n" not in arrived
        if watched:
            connections.watch(self.connection)
        else:
            self.turns.take()
        try:
            # The method is kept as soon as it is read: a refusal's log line names it.
            head = read_request_head(self.rfile, self.max_request_line, lambda method: setattr(self, "command", method))
            if head is None:  # the client closed, or the watchdog cut it, mid-head
                self.close_connection = True
                return False
            self.command, self.path, self.request_version = head.method, head.target, head.version
            self.requestline = "%s - %s" % (head.method, head.version)  # never the target: it may hold secrets
            self.headers = _RequestFields(head.fields)
            self.close_connection, self._head_only = head.close, head.method == "HEAD"
            if head.body_length:
                self.turns.give()  # the body may not be here yet
                if not watched:
                    watched = True
                    connections.watch(self.connection)
                if not discard_request_body(self.rfile, head, lambda: self.writer.interim(HTTPStatus.CONTINUE)):
                    self.close_connection = True
                    return False
            return True
        except HlsProxyError as error:
            self._refuse(error)
            return False
        finally:
            if watched:
                connections.unwatch(self.connection)

    def _refuse(self, error: HlsProxyError) -> None:
        """Answer a request that could not be read safely, then close: what
        follows it on the connection cannot be trusted to be a request."""
        self.close_connection = True
        self._send_failure(error)
        self.turns.give()  # the client may take its time to finish sending
        _close_after_input(self.connection)

    def _account(self) -> None:
        """Count the answer for /metrics and write its access log line.

        The path is logged without its query and without the token, which
        carries per-URL header values and the signature: ``/p/…/seg12.ts``.
        Once per answer: a step that gave none, or was counted already, is skipped.
        """
        status = self.writer.status
        if status is None:
            return
        self.server.connections.metrics.answered(status, self.writer.sent, self._cache_result)
        _log_access(self.client_address[0], self.command, self.path, status, self.writer.sent,
                    time.monotonic() - self._started, self._cache_result, self._upstream_url)
        self.writer.status = None

    def log_request(self, code="-", size="-") -> None:  # the access line is _account's, once the answer is whole
        pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
        # http.server's own messages (log_error) may carry a raw request line,
        # token and query and all: they are logged redacted, like every line.
        _logger.warning("%s %s", self.client_address[0], redacted(format % args))

    # -- verbs and routes --------------------------------------------------------

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()  # the same answer as GET, less the body (_head_only)

    def do_OPTIONS(self) -> None:
        """A CORS preflight, answered here: it is never the upstream's business.
        A 204 has no body, so no Content-Length (RFC 9110 section 8.6)."""
        self._answer(HTTPStatus.NO_CONTENT, [
            ("Access-Control-Allow-Methods", ", ".join(_ALLOWED_METHODS)),
            ("Access-Control-Allow-Headers", _requested_headers(self.headers)),
            ("Access-Control-Max-Age", "86400"),
        ])

    def _serve(self) -> None:
        try:
            path = self._routed = self.server.urls.route(self.path)
            route = path.split("?", 1)[0]
            if route == "/" and not self.server.config.no_ui:
                return self._send_page()
            if route == "/healthz":  # for load balancers and orchestrators: no upstream touched
                return self._send_text(HTTPStatus.OK, "ok\n")
            if route == "/metrics":
                return self._send_metrics()
            if route == "/diagnose" or route.startswith("/diagnose/"):
                return self._send_diagnosis(path[len("/diagnose"):])
            target = self.server.urls.target(path)
            self._upstream_url = target.url
            self._proxy(target)
        except HlsProxyError as error:
            self._send_failure(error)
        except _ClientGone:
            _logger.debug("client went away during %s", _loggable_path(self.path))
            self.close_connection = True
        except Exception:  # the last line of defence: log it, answer 500, keep serving
            _logger.exception("unexpected error serving %s", _loggable_path(self.path))
            self._send_failure(HlsProxyError("internal error", HTTPStatus.INTERNAL_SERVER_ERROR))

    def _send_page(self) -> None:
        config = self.server.config
        self._send_whole(HTTPStatus.OK, [
            ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache"),
            ("Referrer-Policy", "no-referrer"),
        ], render_page(config).encode("utf-8"),
            guard=(("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", _page_policy(config))))

    def _send_diagnosis(self, rest: str) -> None:
        """GET /diagnose?url=… (or /diagnose/p/… for a signed URL): a Diagnosis, as JSON."""
        target = self.server.urls.target(rest if rest.startswith("/p/") else "/proxy" + rest)
        self._upstream_url = target.url
        report = Diagnosis(self.server.fetcher, target).run()
        self._send_whole(HTTPStatus.OK, [("Content-Type", "application/json; charset=utf-8"),
                                         ("Cache-Control", "no-store")],
                         json.dumps(report, indent=1, ensure_ascii=False).encode("utf-8"))

    def _send_metrics(self) -> None:
        token = self.server.config.metrics_token
        offered = (self.headers.get("Authorization") or "").partition("Bearer ")[2].strip()
        if token and not hmac.compare_digest(offered.encode(), token.encode()):
            raise HlsProxyError("/metrics needs 'Authorization: Bearer <token>'", HTTPStatus.UNAUTHORIZED)
        fetcher = self.server.fetcher
        data = self.server.connections.metrics.render(fetcher.cache, fetcher.channels()).encode("utf-8")
        self._send_whole(HTTPStatus.OK, [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                                         ("Cache-Control", "no-store")], data)

    # -- proxying: the cache, a flight, or a relay of our own ------------------------

    def _proxy(self, target: ProxyTarget) -> None:
        """Serve ``target``: from the cache, from the shared fetch (under way, or
        started here), or from an upstream answer of its own."""
        fetcher = self.server.fetcher
        if target.player_query or target.clock:  # answers of their moment (LL-HLS, a clock): never shared
            return self._relay_direct(target)
        entry = fetcher.cached(target.key)
        if entry is not None:
            return self._serve_resource(target, entry.value, "HIT", max(0.0, fetcher.clock() - entry.stored))
        if is_part_of_a_body(self.headers.get("Range")) and fetcher.too_large(target.key):
            # A part (a SegmentBase index, a byte-range segment, a seek) of a
            # file already found too large to keep: asked of the upstream as
            # that part, not opened whole first to see its size again.
            return self._relay_direct(target)
        flight, led, unshared = fetcher.fetch(target, list(self.headers.items()), fetcher.timeout_for(target))
        if unshared is None:
            return self._follow(target, flight, "MISS" if led else "COALESCED")
        if unshared.kind == MEDIA and "Range" in self.headers:
            unshared.body.close()  # too big, or not shareable: ask upstream for just the range
            return self._relay_direct(target)
        try:
            self._relay(target, unshared)
        finally:
            unshared.body.close()

    def _follow(self, target: ProxyTarget, flight: Flight, x_cache: str) -> None:
        """Answer from a shared fetch, with its bytes as they arrive, at this client's pace."""
        state = flight.wait_started()
        if state == Flight.RELEASED:
            return self._relay_direct(target)  # not shareable: fetch our own
        if state == Flight.FAILED:
            raise flight.error
        if state == Flight.PENDING:
            raise UpstreamError("upstream timed out", HTTPStatus.GATEWAY_TIMEOUT)
        if flight.ring:
            return self._watch(flight, x_cache)
        if state == Flight.DONE:
            return self._serve_resource(target, flight.resource, x_cache, 0.0)
        self.turns.give()
        self.writer.takes_turns = False  # paced by the upstream (see ClientWriter.reset)
        self._send_media(flight.resource, x_cache, 0.0, flight.length, flight.read, flight.size)

    def _watch(self, flight: Flight, x_cache: str) -> None:
        """Answer as one more viewer of a live channel, from the newest PAT its
        flight keeps, at this client's pace, until the channel ends (then the
        answer ends cleanly) or the client leaves. A viewer the ring has left
        behind is moved on to the newest PAT, not cut off: it sees a gap, as
        after lost packets, and plays on, where most players would not
        reconnect by themselves. One that takes nothing at all is cut by --idle-timeout."""
        fetcher, metrics = self.server.fetcher, self.server.connections.metrics
        position = flight.watch()

        def read(offset: int) -> bytes:  # ``offset`` is the answer's: the channel's is ``position``
            nonlocal position
            start, data = flight.read_from(position)
            if start != position:
                metrics.count("channel_skips_total")
            position = start + len(data)
            return data
        try:
            self.turns.give()
            self.writer.takes_turns = False  # paced by the upstream (see ClientWriter.reset)
            self._answer(HTTPStatus.OK, _channel_headers(flight.resource, x_cache))
            if self.writer.body:
                self.writer.copy(read, 0, None)
                self.writer.end()
        finally:
            flight.unwatch(fetcher.clock())

    def _relay_direct(self, target: ProxyTarget, whole: bool = False) -> None:
        """Fetch for this request alone (LL-HLS, a Range on what may not be shared,
        or an answer that may not be shared), with the client's Range.

        ``whole`` drops the client's Range: a playlist or JSON document is rewritten
        whole, and answered 200, which a client that asked for a range must accept
        (RFC 9110 section 14.2). ffmpeg and VLC ask for ``bytes=0-`` on everything.
        """
        fetcher = self.server.fetcher
        client_headers = [(name, value) for name, value in self.headers.items()
                          if not (whole and name.lower() in ("range", "if-range"))]
        headers = upstream_request_headers(self.server.config, target, client_headers)
        body = fetcher.open(target, headers, fetcher.timeout_for(target))
        try:
            kind, head = _classify(body.response, body, bool(target.fragment_base))
            if kind != MEDIA and body.response.status == HTTPStatus.PARTIAL_CONTENT \
                    and not _is_whole_range(body.response):
                body.close()
                return self._relay_direct(target, whole=True)  # a part of a playlist cannot be rewritten
            self._relay(target, _UnsharedAnswer(body, kind, head))
        finally:
            body.close()

    def _relay(self, target: ProxyTarget, answer: _UnsharedAnswer) -> None:
        """Answer with an upstream answer that is this request's alone."""
        body, response = answer.body, answer.body.response
        if answer.kind != MEDIA:
            data = body.read_document(answer.head, self.server.config.max_playlist_bytes,
                                      self.server.fetcher.timeout_for(target))
            return self._serve_resource(target, _make_resource(answer.kind, response, data), "MISS", 0.0)
        headers = _relayed_media_headers(self.server.config, response)
        if target.clock:  # what UTCTiming's http-head reads: the upstream's clock, not ours
            self.writer.date = _FIELD_VALUE_CONTROLS.sub("", response.headers.get("Date") or "") or None
        if response.status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            return self._answer(response.status, _not_modified_headers(headers))
        if response.status == HTTPStatus.OK and self._answered_not_modified(headers):
            return
        first, length = answer.head, None if body.decoded else _content_length(response)
        if target.segment and self.writer.body:  # (HEAD reads no body: the disguise stays unseen)
            first, skip = _undisguised(body, first, response)
            if skip:
                headers = [(name, value) for name, value in headers if name not in ("Content-Type", "ETag")]
                headers.append(("Content-Type", "video/mp2t"))
                length = None if length is None else length - skip
        self._answer(response.status, headers, length)
        if not self.writer.body:  # HEAD: the body is not read (its connection is not reused)
            return
        head = [first]

        def read(offset: int) -> bytes:
            return (head.pop() if head else b"") or body.read1(_CHUNK_SIZE)
        self.writer.copy(read, 0, None)
        if body.truncated:
            raise UpstreamError("upstream body ended early")
        self.writer.end()

    # -- answers from whole resources and flights -------------------------------------

    def _serve_resource(self, target: ProxyTarget, resource: Resource, x_cache: str, age: float) -> None:
        if resource.kind != MEDIA:
            return self._send_document(target, resource, x_cache, age)
        body = memoryview(resource.body)
        if target.segment and body[:1] != b"\x47" and _media_kind(resource.body[:192]) == "data":
            # Kept by a request that did not know it for a segment: undisguised here.
            skip = disguise_offset(resource.body[:DISGUISE_WINDOW])
            resource, _ = _served_as_ts(resource, None, skip)
            body = body[skip:]
        self._send_media(resource, x_cache, age, len(body), lambda offset: body[offset:], len(body))

    def _send_media(self, resource: Resource, x_cache: str, age: float, size: Optional[int],
                    read: Callable[[int], bytes], arrived: int) -> None:
        """Send a media body of ``size`` bytes that ``read(offset)`` returns in
        pieces, of which ``arrived`` are here already, or the part a Range asks
        for (RFC 9110 section 14), or 304."""
        headers = _media_headers(self.server.config, resource, x_cache, age)
        if self._answered_not_modified(headers):
            return
        span = requested_range(self.headers, _validators(headers), size) if size is not None else None
        if span == "unsatisfiable":  # an error like an upstream's 416: one line, and the size
            raise HlsProxyError("range not satisfiable: the body is %d bytes" % size,
                                HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, (("Content-Range", "bytes */%d" % size),))
        status, first, last = HTTPStatus.OK, 0, (size - 1 if size is not None else None)
        if span is not None:
            status, (first, last) = HTTPStatus.PARTIAL_CONTENT, span
            headers.append(("Content-Range", "bytes %d-%d/%d" % (first, last, size)))
        # What is here already goes out with the head: one write, and the client
        # has its first byte without this thread waiting again for the GIL
        # between two sends while a pump holds it (W7's TTFB).
        data = read(first)[:last + 1 - first] if last is not None and arrived > first else b""
        self._answer(status, headers, (last - first + 1) if size is not None else None, data=data)
        if not self.writer.body:
            return
        if last is not None and self.writer.copy(read, first + len(data), last) <= last:
            raise UpstreamError("upstream body ended early")
        self.writer.end()

    def _answered_not_modified(self, headers: List[Tuple[str, str]]) -> bool:
        """Answer 304 if the client's conditional request matches ``headers``'
        validators. Conditionals are never sent upstream: the proxy decides from
        the validators it has, the same way on a hit, a miss and a relay."""
        if not not_modified(self.headers, _validators(headers)):
            return False
        self._answer(HTTPStatus.NOT_MODIFIED, _not_modified_headers(headers))
        return True

    def _send_document(self, target: ProxyTarget, resource: Resource, x_cache: str, age: float) -> None:
        """A playlist or other document, rewritten for this request's public base."""
        urls = self.server.urls
        base = urls.rewrite_base(target, resource, self._routed, self.headers)
        rewritten = self.server.fetcher.rewritten(target, resource, base, age,
                                                  lambda: urls.uri_maker(target, resource.cookies, base))
        headers = [("X-Cache", x_cache)] + ([("Age", str(int(age)))] if x_cache == "HIT" else []) + [
            ("Content-Type", rewritten.content_type),
            ("Cache-Control", client_cache_control(rewritten.lifetime, resource.cache_control, age))]
        self._send_whole(HTTPStatus.OK, headers, rewritten.data)

    # -- sending: the one way an answer starts, and the one error path -------------------

    def _answer(self, status: int, headers: List[Tuple[str, str]], length: Optional[int] = None,
                guard: Tuple[Tuple[str, str], ...] = _CONTENT_GUARD, data: bytes = b"") -> None:
        """Start every answer: CORS headers, then ``headers``, then the content
        guard (the page passes its own), framed by the writer; ``data``, the
        body's first bytes, may go out with the head."""
        for name, value in headers:
            if name == "X-Cache":
                self._cache_result = value
        origin = self.headers.get("Origin") if self.headers is not None else None
        self.close_connection = self.writer.start(
            status, cors_headers(self.server.config, origin) + headers + list(guard), length,
            self.request_version, self.close_connection, self._head_only, data)

    def _send_whole(self, status: int, headers: List[Tuple[str, str]], data: bytes,
                    guard: Tuple[Tuple[str, str], ...] = _CONTENT_GUARD) -> None:
        """A whole answer, in one turn."""
        self.turns.take()
        self._answer(status, headers, len(data), guard, data)

    def _send_text(self, status: int, text: str, cache_control: str = "no-store",
                   extra: Tuple[Tuple[str, str], ...] = ()) -> None:
        headers = list(extra) + [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", cache_control)]
        self._send_whole(status, headers, text.encode("utf-8"))

    def _send_failure(self, error: HlsProxyError) -> None:
        """The one error path: a one-line answer, or an abort if the body has begun."""
        if self.writer.started:
            # The status is gone; a short body must not look whole, so cut the
            # connection rather than end the response cleanly.
            _logger.warning("%s %s %s aborted: %s", self.client_address[0], self.command or "-",
                           _loggable_path(self.path), redacted(error.reason))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        reason = redacted(error.reason)
        # What a user must see under --quiet: an upstream that failed, an address refused.
        level = logging.WARNING if isinstance(error, (UpstreamError, Forbidden)) else logging.INFO
        _logger.log(level, "%s %s %s -> %d %s", self.client_address[0], self.command or "-",
                   _loggable_path(self.path), error.status, reason)
        try:
            self._send_text(error.status, reason + "\n", extra=error.headers)
        except _ClientGone:
            self.close_connection = True

    def send_error(self, code, message=None, explain=None) -> None:
        """http.server's own error hook goes our way: with CORS, then a close."""
        try:
            reason = message or HTTPStatus(code).phrase
        except ValueError:
            reason = "error"
        self._refuse(HlsProxyError(str(reason), code))


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------

class _Connections:
    """The bookkeeping of a server's client connections: at most
    --max-connections at once (a slot each; beyond that a 503 at once, from the
    accepting thread, which never waits), a handler thread each (kept a while
    for the next), the watchdog that cuts a connection whose head is late
    (--header-timeout: slowloris) and closes refused ones a moment after their
    503, the requests in flight (what a drain waits for), the turns their
    writes take, and the Metrics they are counted in."""

    #: Refused connections waiting for the watchdog to close them, at most.
    max_lingering = 1024

    def __init__(self, config: Config, metrics: "Metrics", turnstile: Turnstile) -> None:
        self.metrics = metrics
        self.turnstile = turnstile
        self.header_timeout = config.header_timeout
        self._cors = b"Access-Control-Allow-Origin: *\r\n" if "*" in config.allow_origins else b""
        self._slots = threading.BoundedSemaphore(config.max_connections)
        self._handlers = _Workers("hlsproxy-client")  # a connection's thread, kept for the next
        self._requests = _ThreadCounts()  # requests begun, less those ended
        self._lock = threading.Lock()  # guards _watched, _lingering and the watchdog's start
        self._watched = {}  # type: Dict[socket.socket, float]
        self._lingering = []  # type: List[Tuple[float, socket.socket]]
        self._watchdog = None  # type: Optional[threading.Thread]
        self._closing = threading.Event()

    def admit(self, request: socket.socket, serve: Callable[[], None], tls: bool) -> None:
        """Serve ``request`` on a handler thread, or refuse it at once (503;
        unanswered over ``tls``, which would need a handshake) when every slot is taken."""
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(request, tls)
            return
        try:
            self._handlers.run(self._serve, serve)
        except BaseException:
            self._slots.release()
            raise

    def _serve(self, serve: Callable[[], None]) -> None:
        self.metrics.connections(+1)
        try:
            serve()
        finally:
            self.metrics.connections(-1)
            self._slots.release()

    def _refuse_busy(self, request: socket.socket, tls: bool) -> None:
        if tls:
            request.close()
            return
        body = b"too many connections\n"
        try:
            request.setblocking(False)  # ~250 bytes: a new socket's buffer takes them at once
            request.send(b"HTTP/1.1 503 Service Unavailable\r\n" + self._cors +
                         b"Retry-After: 1\r\nConnection: close\r\nCache-Control: no-store\r\n"
                         b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        # Closed with the client's request unread, the socket would send a reset
        # that can destroy the 503 in flight: the watchdog closes it a little later.
        with self._lock:
            if len(self._lingering) < self.max_lingering:
                self._lingering.append((time.monotonic() + 0.5, request))
                self._start_watchdog()
                return
        request.close()

    # -- requests in flight ------------------------------------------------------------

    def begin_request(self) -> None:
        self._requests.add([(None, 1)])

    def end_request(self) -> None:
        self._requests.add([(None, -1)])

    @property
    def in_flight(self) -> int:
        """Requests being answered now."""
        return int(self._requests.total(None))

    def drain(self, grace: float) -> bool:
        """Wait up to ``grace`` seconds for the requests in flight; True if none is
        left. It looks every 20 ms: a drain is once per process, a request every moment."""
        deadline = time.monotonic() + grace
        while self.in_flight > 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        return True

    # -- the watchdog ---------------------------------------------------------------------

    def handshake(self, connection: socket.socket, client: str) -> bool:
        """A TLS connection's handshake (True at once for plain HTTP), within
        --header-timeout: the watchdog cuts a client that stalls it. False,
        logged at debug, when it fails: port scanners and plain-HTTP clients
        are no error of ours."""
        if ssl is None or not isinstance(connection, ssl.SSLSocket):
            return True
        self.watch(connection)
        try:
            connection.do_handshake()
            return True
        except (OSError, ValueError) as error:
            _logger.debug("TLS handshake with %s failed: %s", client, error)
            return False
        finally:
            self.unwatch(connection)

    def watch(self, connection: socket.socket) -> None:
        """Cut ``connection`` if it is still watched --header-timeout from now."""
        deadline = time.monotonic() + self.header_timeout
        with self._lock:
            self._watched[connection] = deadline
            self._start_watchdog()

    def unwatch(self, connection: socket.socket) -> None:
        with self._lock:
            self._watched.pop(connection, None)

    def _start_watchdog(self) -> None:
        # Under self._lock.
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch, name="hlsproxy-watchdog", daemon=True)
            self._watchdog.start()

    def _watch(self) -> None:
        while not self._closing.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [connection for connection, deadline in self._watched.items() if deadline < now]
                for connection in late:
                    del self._watched[connection]
                done = [sock for when, sock in self._lingering if when < now]
                self._lingering = [(when, sock) for when, sock in self._lingering if when >= now]
            for connection in late:  # the reader blocked on it wakes to an empty read
                try:
                    # socket.socket's own: SSLSocket.shutdown would drop the TLS
                    # state under the thread still reading (or handshaking) on it.
                    socket.socket.shutdown(connection, socket.SHUT_RDWR)
                except OSError:
                    pass
            for sock in done:
                sock.close()

    def close(self) -> None:
        """Stop the watchdog, end the idle handler threads, close refused connections."""
        self._closing.set()
        self._handlers.close()
        with self._lock:
            lingering, self._lingering = self._lingering, []
        for _, sock in lingering:
            sock.close()


class ProxyServer(ThreadingHTTPServer):
    """A threading HTTP server that owns the Config, the Fetcher (and through
    it the cache, the fetches under way and the upstream pool), its client
    connections (_Connections: slots, deadlines, turns, Metrics) and the URLs
    clients reach it by (_PublicUrls): the four things its handlers read.

    State lives on the server instance, never in module globals, so two
    servers in one process do not interfere.
    """

    daemon_threads = True
    # socketserver's default backlog of 5 drops connections under a burst.
    request_queue_size = 1024

    def __init__(self, config: Config, handler=ProxyHandler,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        metrics, turnstile = Metrics(), Turnstile(_turn_slots())
        self.fetcher = Fetcher(config, metrics, clock, turnstile.give)
        self.connections = _Connections(config, metrics, turnstile)
        #: With --tls-cert: the certificate new connections are wrapped in (checked here, before binding).
        self.certificate = _ServerCertificate(config.tls_cert, config.tls_key) if config.tls_cert else None
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        super().__init__((config.host, config.port), handler)
        self.urls = _PublicUrls(config, self.url)

    #: Set in a pre-fork worker: the parent it must not outlive.
    parent_pid = None  # type: Optional[int]

    def service_actions(self) -> None:
        # Called by serve_forever() every poll: a worker whose parent died (even
        # by SIGKILL, which it cannot forward) stops instead of lingering.
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            self.parent_pid = None
            threading.Thread(target=self.shutdown, daemon=True).start()

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup
        # that can hang for seconds on a host without DNS (routers, CI boxes).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def scheme(self) -> str:
        """"https" with --tls-cert, else "http"."""
        return "http" if self.certificate is None else "https"

    @property
    def url(self) -> str:
        """The base URL this server answers on."""
        host, port = self.server_address[:2]
        return "%s://%s:%d" % (self.scheme, "[%s]" % host if ":" in host else host, port)

    @property
    def cache(self) -> TTLCache:
        """The fetcher's cache (for /metrics, tests and library users)."""
        return self.fetcher.cache

    @property
    def metrics(self) -> "Metrics":
        return self.connections.metrics

    @property
    def in_flight(self) -> int:
        """Requests being answered now."""
        return self.connections.in_flight

    def drain(self, grace: float) -> bool:
        """Wait up to ``grace`` seconds for the requests in flight; True if none is left."""
        return self.connections.drain(grace)

    # -- connections -------------------------------------------------------------

    def get_request(self):
        # The TLS handshake is the handler thread's (ProxyHandler.handle, under
        # the header deadline): the accepting thread never waits on a client.
        request, client_address = super().get_request()
        if self.certificate is not None:
            try:
                request = self.certificate.current().wrap_socket(request, server_side=True,
                                                                 do_handshake_on_connect=False)
            except OSError:
                request.close()
                raise
        return request, client_address

    def process_request(self, request, client_address) -> None:
        # At most max_connections at once, so a flood cannot start a thread per
        # connection; the thread that accepts never waits (see _Connections).
        self.connections.admit(request, functools.partial(self.process_request_thread, request, client_address),
                               tls=self.certificate is not None)

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, socket.timeout)):
            _logger.debug("client %s went away: %s", client_address, error)
        else:
            _logger.exception("error handling request from %s", client_address)

    def server_close(self) -> None:
        super().server_close()
        self.connections.close()
        self.fetcher.close()


def _server_tls_context(certificate: str, key: Optional[str] = None):
    """A TLS server context for HTTP/1.1 (TLS 1.2 and newer) with the chain in
    ``certificate`` and the key in ``key`` (or in ``certificate``); a file
    that cannot serve raises ConfigError with a sentence saying which."""
    if ssl is None:
        raise ConfigError("tls_cert", "needs a Python built with ssl")
    for field, path, marker, what in (("tls_cert", certificate, b"-----BEGIN CERTIFICATE-----", "a PEM certificate"),
                                      ("tls_key", key or certificate, b"PRIVATE KEY-----", "a PEM private key")):
        try:
            with open(path, "rb") as file:
                text = file.read(1024 * 1024)
        except OSError as error:
            raise ConfigError(field, "cannot be read: %s (%s)" % (path, error.strerror)) from None
        if marker not in text:
            raise ConfigError(field, "must be given: %s holds no private key" % path if field == "tls_key" and not key
                              else "must hold %s; %s holds none" % (what, path))

    def no_passphrase():
        raise ConfigError("tls_key", "is encrypted; give an unencrypted key (hlsproxy asks for no passphrase)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certificate, key, password=no_passphrase)
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise ConfigError("tls_key", "does not match the certificate in %s" % certificate) from None
        raise ConfigError("tls_cert", "cannot be loaded with its key (%s)" % (error.reason or "bad PEM")) from None
    return context


class _ServerCertificate:
    """The TLS context new client connections are wrapped in, built again when
    the certificate or key file changes (certbot renews every 60-90 days): no
    restart, and connections already open keep the one they began with.

    The files are looked at once a second at most, by the accepting thread, the
    only caller (so no lock). A renewal caught half-written (a new certificate,
    the old key) keeps the context in use, logs a warning once, and is tried
    again when the files change again.
    """

    check_every = 1.0

    def __init__(self, certificate: str, key: Optional[str] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._files = (certificate, key)
        self._clock = clock
        self._stamp = self._refused = self._stamps()
        self.context = _server_tls_context(certificate, key)
        self._checked = clock()

    def current(self):
        """The context to wrap a new connection in."""
        now = self._clock()
        if now - self._checked >= self.check_every:
            self._checked = now
            stamp = self._stamps()
            if stamp != self._stamp and stamp != self._refused:
                try:
                    self.context = _server_tls_context(*self._files)
                    self._stamp = stamp
                    _logger.info("TLS certificate reloaded from %s", self._files[0])
                except ConfigError as error:
                    self._refused = stamp
                    _logger.warning("TLS certificate not reloaded, the one in use is kept: %s %s",
                                   _flag_name(error.field), error.problem)
        return self.context

    def _stamps(self):
        stamps = []
        for path in self._files:
            try:
                info = os.stat(path) if path else None
                stamps.append(info and (info.st_mtime_ns, info.st_size, info.st_ino))
            except OSError:
                stamps.append(None)
        return tuple(stamps)


def make_server(config: Config) -> ProxyServer:
    """Build a ProxyServer bound to ``config.host``/``config.port``; call serve_forever()."""
    return ProxyServer(config)


def serve_until_signalled(server: ProxyServer) -> int:
    """serve_forever() until SIGTERM or SIGINT; then stop accepting, let the
    requests in flight finish for up to ``config.grace`` seconds, and return 0."""
    def stop(signum, frame) -> None:
        # shutdown() waits for serve_forever() to return: not from its own thread.
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.socket.close()  # new connections are refused, not queued, while we drain
    server.fetcher.end_channels()  # a live channel's viewers never finish by themselves
    if not server.drain(server.config.grace):
        _logger.warning("stopping with requests still in flight after %.0f s", server.config.grace)
    server.server_close()
    return 0


def serve_prefork(server: ProxyServer, workers: int) -> int:
    """Serve with ``workers`` processes sharing ``server``'s listening socket.

    Pre-fork (Linux, macOS): each worker is a copy of ``server``, with its own
    cache. A worker that dies is replaced; SIGTERM or SIGINT stops them all.
    """
    if not hasattr(os, "fork"):
        _logger.error("--workers needs os.fork (Linux, macOS); use --workers 1 here")
        return 2
    children = set()
    stopping = []

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            server.parent_pid = os.getppid()
            try:
                serve_until_signalled(server)
            finally:
                os._exit(0)
        children.add(pid)

    def stop_all(signum, frame) -> None:
        stopping.append(signum)
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass

    # Every worker wakes on a new connection and one wins it; with a blocking
    # socket the others would wait in accept() (deaf to shutdown) until the next.
    server.socket.setblocking(False)
    for _ in range(workers):
        spawn()
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    while children:
        try:
            pid, _ = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        if not stopping:
            _logger.warning("worker %d exited; starting another", pid)
            spawn()
    server.server_close()
    return 0


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

class _JsonFormatter(logging.Formatter):
    """One JSON object per line: access lines with their fields, others with a
    message; times in RFC 3339, UTC, to the millisecond (what log shippers parse
    without a pattern)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record), "level": record.levelname}
        line.update(getattr(record, "access", None) or {"message": record.getMessage()})
        return json.dumps(line, ensure_ascii=False)

    def formatTime(self, record: logging.LogRecord, datefmt: Optional[str] = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + ".%03dZ" % record.msecs


def _say(config: Config, text: str, stream, level: str = "INFO") -> None:
    """A line of the command line's own, outside the log (the first line on
    stdout, a refusal to start on stderr): under --log-format json, one more
    JSON object like every log line."""
    if config.log_format == "json":
        text = _JsonFormatter().format(logging.makeLogRecord({"levelname": level, "msg": text}))
    print(text, file=stream, flush=True)


def _log_formatter(log_format: str) -> logging.Formatter:
    """The formatter of every line the command line writes, the first one included."""
    if log_format == "json":
        return _JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(message)s")


def _machine_addresses(family: int) -> List[str]:
    """This machine's addresses of ``family``: the one its default route leaves
    from, and those its own name resolves to; loopback last."""
    found = []
    try:  # connecting a UDP socket sends nothing: it only picks the route, and so the address
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 9) if family == socket.AF_INET else ("fd00::1", 9))
            found.append(probe.getsockname()[0])
    except OSError:
        pass
    try:
        found += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, family, socket.SOCK_STREAM)]
    except OSError:
        pass
    addresses = []
    for address in found:
        if address not in addresses and not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            addresses.append(address)
    return addresses + ["127.0.0.1" if family == socket.AF_INET else "::1"]


def _first_line(server: "ProxyServer", addresses: Callable[[int], List[str]]) -> str:
    """The line printed at start: where the proxy listens, and a URL to play
    that someone can use (never http://0.0.0.0:…/): the --public-url, or this
    machine's addresses when it listens on all of them."""
    config, port = server.config, server.server_address[1]
    where = [server.url]
    if ipaddress.ip_address(server.server_address[0].split("%")[0]).is_unspecified:
        family = socket.AF_INET6 if ":" in server.server_address[0] else socket.AF_INET
        where = ["%s://%s:%d" % (server.scheme, "[%s]" % a if ":" in a else a, port) for a in addresses(family)]
    play = config.public_url or where[0]
    return "hlsproxy %s serving on %s - play %s/proxy?url=<percent-encoded playlist URL>%s" % (
        __version__, ", ".join(url + "/" for url in where), play,
        " (%d workers)" % config.workers if config.workers > 1 else "")


def _exposure_warnings(config: Config) -> List[str]:
    """What a proxy reachable from other machines exposes, said at start."""
    try:
        loopback = ipaddress.ip_address(config.host.split("%")[0]).is_loopback
    except ValueError:  # a name
        loopback = config.host == "localhost"
    if loopback:
        return []
    warnings = []
    if config.allow_private:
        warnings.append("listening on %s with --allow-private: anyone who can reach this port can use the proxy "
                        "to reach this machine and its LAN" % config.host)
    if config.metrics_token is None:
        warnings.append("listening on %s with /metrics open to anyone who can reach it; "
                        "set --metrics-token to require a token" % config.host)
    return warnings


def sign_main(argv: List[str], environ: Optional[Dict[str, str]] = None) -> int:
    """``hlsproxy.py sign URL``: print a signed proxy URL for a start playlist.

    --secret, --public-url and --url-ttl are the server's own settings, taken
    from the same flags or HLSPROXY_ names and checked the same way, so one
    environment serves both."""
    parser = _argument_parser(("secret", "public_url", "url_ttl"), prog="hlsproxy sign",
                              description="Print a signed proxy URL for a start playlist.")
    parser.add_argument("url", help="the upstream playlist URL")
    parser.add_argument("--referer")
    parser.add_argument("--origin")
    parser.add_argument("--ua", "--user-agent", dest="ua")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'")
    args, sources = _parse_with_environment(parser, argv, os.environ if environ is None else environ)
    settings = {name: args.pop(name) for name in ("secret", "public_url", "url_ttl") if name in args}
    try:
        config = Config(**settings)
    except ConfigError as error:
        parser.error("%s %s" % (sources.get(error.field, _flag_name(error.field)), error.problem))
    if not config.secret:
        parser.error("a secret is needed: --secret or HLSPROXY_SECRET, the proxy's own")
    try:
        url = validate_upstream_url(args["url"])
        options = tuple(_option_header(name, args[name]) for name in ("referer", "origin", "ua") if args.get(name))
        options += tuple(parse_header_line(line) for line in args["header"])
    except BadRequest as error:
        parser.error(error.reason)
    expires = int(time.time() + config.url_ttl) if config.url_ttl else 0
    print(make_proxy_url(config.public_url or "http://127.0.0.1:8000", url, options, config.secret, expires))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run the proxy until interrupted (or ``sign`` a URL); return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sign"]:
        return sign_main(argv[1:])
    config = Config.from_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_log_formatter(config.log_format))
    logging.basicConfig(level=logging.WARNING if config.quiet else logging.INFO, handlers=[handler])
    try:
        server = make_server(config)
    except ConfigError as error:  # a certificate, key or CA file that cannot serve
        _say(config, "hlsproxy: error: %s %s" % (_flag_name(error.field), error.problem), sys.stderr, "ERROR")
        return 2
    except OSError as error:
        _say(config, "hlsproxy: cannot listen on %s:%d: %s" % (config.host, config.port, error.strerror),
             sys.stderr, "ERROR")
        return 1
    _say(config, _first_line(server, _machine_addresses), sys.stdout)
    for warning in _exposure_warnings(config):
        _logger.warning("%s", warning)
    if config.workers > 1:
        return serve_prefork(server, config.workers)
    return serve_until_signalled(server)


if __name__ == "__main__":
    sys.exit(main())
