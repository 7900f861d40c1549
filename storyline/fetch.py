"""HTTP fetching with the safety rules every request obeys: no internal addresses, bounded size and time."""

from __future__ import annotations

import base64
import codecs
import contextvars
import datetime
import email.utils
import ipaddress
import re
import socket
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from . import __version__
from .politeness import THROTTLED
from .settings import Settings

USER_AGENT = f"Storyline/{__version__} (+https://github.com/storyline-news/storyline; news tracker)"
ACCEPT_ENCODING = "gzip, deflate, br"
REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}  # a subscription follows these for good; the others are asked again each time
_CHUNK = 64 * 1024  # decoded output is produced in pieces of this size, so a bomb never inflates at once
_XML_DECL = re.compile(rb"\A<\?xml[^>]*?\?>", re.S)
_XML_ENCODING = re.compile(rb"""\bencoding\s*=\s*["']([^"']*)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_GOOGLE_NEWS_PATH = re.compile(r"/(?:__i/rss/rd/|rss/)?articles/([A-Za-z0-9_-]+)")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


class FetchError(ValueError):
    """A URL that could not be fetched; the message is one line, status and Retry-After when the server said."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(" ".join(str(message).split()))
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchOptions:
    """How to fetch: limits, identity and which addresses are allowed."""

    timeout_s: float = 20.0  # connect, and each read or write
    deadline_s: float = 60.0  # the whole response, so a trickling server cannot hold a worker
    max_bytes: int = 20_000_000  # after decompression
    max_redirects: int = 5
    same_host_redirects: bool = False  # stop at a redirect to another host (the caller re-queues it politely)
    allow_private: bool = False
    truncate: bool = False  # keep the first max_bytes of a longer body rather than refuse it (robots.txt)
    user_agent: str = USER_AGENT
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, allow_private: bool = False) -> "FetchOptions":
        """The options the settings give (fetch_timeout_s, max_fetch_mb, user_agent)."""
        return cls(
            timeout_s=settings.fetch_timeout_s, max_bytes=int(settings.max_fetch_mb * 1_000_000),
            allow_private=allow_private, user_agent=settings.user_agent or USER_AGENT,
        )


@dataclass(frozen=True)
class Validators:
    """What a server said identifies a response, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Page:
    """A fetched response (or a 304, or a cross-host redirect when those are not followed)."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    redirects: list[str] = field(default_factory=list)
    moved: bool = False  # every redirect followed to this response (one at least) was permanent

    @property
    def not_modified(self) -> bool:
        """Whether the server answered 304 to a conditional GET."""
        return self.status == 304

    @property
    def location(self) -> str | None:
        """Where a redirect that was not followed points."""
        loc = self.headers.get("location") if self.status in REDIRECTS else None
        return urljoin(self.url, loc) if loc else None

    @property
    def validators(self) -> Validators:
        """ETag and Last-Modified of this response."""
        return Validators(self.headers.get("etag") or None, self.headers.get("last-modified") or None)

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header names, if Python knows it."""
        return header_charset(self.headers.get("content-type", ""))


# -- addresses ----------------------------------------------------------------------------


def is_public_address(text: str) -> bool:
    """Whether an IP address is globally routable (not loopback, private, link-local, metadata, ...)."""
    addr = ipaddress.ip_address(text.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address):
        # An IPv4 address wrapped in IPv6 reaches the IPv4 host: judge that one.
        inner = addr.ipv4_mapped or addr.sixtofour or (addr.teredo[1] if addr.teredo else None)
        if inner is None and any(addr in net for net in _IPV4_CARRIERS):
            inner = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if inner is not None and not is_public_address(str(inner)):
            return False
    return addr.is_global and not addr.is_multicast


# IPv6 ranges whose last 32 bits are an IPv4 address that a gateway or the host's own stack reaches:
# NAT64 (well-known and local-use prefixes), IPv4-compatible and IPv4-translated addresses.
_IPV4_CARRIERS = tuple(
    ipaddress.IPv6Network(net) for net in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


def resolve(host: str, port: int = 80) -> list[str]:
    """The addresses a host name resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise FetchError(f"cannot resolve host {host!r}: {reason}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public_host(host: str) -> bool:
    """Whether every address a host name resolves to is a public one."""
    return all(is_public_address(a) for a in resolve(host))


def _refusal(host: str) -> str:
    """The one-line reason a private host is refused."""
    return f"refused: {host} is a loopback, private, link-local or metadata address (use --allow-private)"


def check_url(url: str, opts: FetchOptions) -> None:
    """Refuse non-HTTP URLs and, unless allowed, internal addresses."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise FetchError(f"malformed URL {url!r}: {exc}") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise FetchError(f"not an http(s) URL: {url}")
    if not opts.allow_private and not is_public_host(host):
        raise FetchError(_refusal(host))


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to the addresses it has checked, so DNS rebinding cannot reach an internal host."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve, check every address, then connect to a checked one."""
        try:
            addresses = resolve(host, port)
        except FetchError as exc:
            raise httpcore.ConnectError(str(exc)) from None
        if not self.allow_private and not all(is_public_address(a) for a in addresses):
            raise httpcore.ConnectError(_refusal(host))
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return _DeadlineStream(self.inner.connect_tcp(address, port, timeout, local_address, socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        """Never: only TCP to checked addresses."""
        raise httpcore.ConnectError("refused: unix sockets")

    def sleep(self, seconds: float) -> None:
        """Block for a while (httpcore's retry pause)."""
        time.sleep(seconds)


# The deadline of the fetch running in this thread: each read on a connection waits at most until then,
# so a server that trickles its headers (a line every half second) cannot outlast it; the read
# timeout alone restarts with every line, and the body's own check comes after the headers.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("storyline_fetch_deadline", default=None)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads end at the current fetch's deadline, headers included."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, waiting no longer than the read timeout or the time left before the deadline."""
        deadline = _DEADLINE.get()
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise httpcore.ReadTimeout("past the response deadline")
            timeout = left if timeout is None else min(timeout, left)
        return self.inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write to the connection."""
        self.inner.write(buffer, timeout)

    def close(self) -> None:
        """Close the connection."""
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        """Upgrade to TLS, keeping the deadline."""
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        """What the connection knows (its socket, its TLS object)."""
        return self.inner.get_extra_info(info)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the address check done at connect time; never uses proxy variables."""

    def __init__(self, allow_private: bool = False, limits: httpx.Limits = httpx.Limits(max_connections=100)) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(allow_private),
        )


def make_client(opts: FetchOptions) -> httpx.Client:
    """The client Storyline fetches with: guarded addresses, no automatic redirects, no proxy variables."""
    return httpx.Client(
        transport=GuardedTransport(opts.allow_private),
        timeout=httpx.Timeout(opts.timeout_s),
        follow_redirects=False,
        trust_env=False,
    )


# -- bodies -------------------------------------------------------------------------------


class _Inflate:
    """gzip/deflate decoding that yields bounded pieces."""

    def __init__(self, encoding: str, framed: bool = False) -> None:
        self.name = encoding
        self.gzip = encoding in {"gzip", "x-gzip"}
        self.d = zlib.decompressobj(16 + zlib.MAX_WBITS) if self.gzip else None
        self.head = b""  # "deflate": the first bytes, until there are two to tell the wrapping by
        self.fed = False
        # The body's length was framed (Content-Length, chunks), so it all came: a stream without its end
        # then is the server's way (a gzip trailer left off, a deflate stream ended by a sync flush), and
        # read as browsers read it. Only a body ended by closing the connection can have been cut.
        self.framed = framed

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Decode some input, a bounded piece at a time."""
        self.fed = self.fed or bool(data)
        if self.d is None:
            data = self.head + data
            if len(data) < 2:  # a first piece of one byte cannot show a zlib header yet
                self.head = data
                return
            # "deflate" is sent both zlib-wrapped and raw: a zlib header tells which.
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self.d = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            yield from self._pieces(data)
        except zlib.error as exc:
            raise FetchError(f"bad compressed body: {exc}") from None

    def _pieces(self, data: bytes) -> Iterator[bytes]:
        """Decompress with a cap per call; the rest waits in unconsumed_tail."""
        while True:
            if self.d.eof:
                data = self.d.unused_data + data
                if not self.gzip or not data.startswith(b"\x1f\x8b"):
                    return  # trailing bytes after the stream are ignored, as browsers do
                self.d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # another gzip member follows
            out = self.d.decompress(data, _CHUNK)
            yield out
            data = self.d.unconsumed_tail
            if not data and not self.d.eof and len(out) < _CHUNK:
                return

    def flush(self) -> Iterator[bytes]:
        """What is left at the end; a stream cut off before its end is an error, not a shorter body."""
        if self.d is None and self.head:  # a one-byte body: raw deflate, as a zlib stream is longer
            self.d = zlib.decompressobj(-zlib.MAX_WBITS)
            head, self.head = self.head, b""
            yield from self.decode(head)
        if self.d is not None:
            yield self.d.flush(_CHUNK)
            # An empty body is no stream rather than a cut one: servers send it for empty answers.
            if self.fed and not self.d.eof and not self.framed:
                raise FetchError(f"truncated {self.name} body: the compressed stream ends early")


class _Brotli:
    """Brotli decoding that yields bounded pieces (brotli >= 1.2 has an output limit)."""

    def __init__(self, framed: bool = False) -> None:
        import brotli

        self.d = brotli.Decompressor()
        self.error = brotli.error
        self.fed = False
        self.framed = framed  # as for gzip

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Decode some input, a bounded piece at a time."""
        self.fed = self.fed or bool(data)
        try:
            out = self.d.process(data, output_buffer_limit=_CHUNK)
            # Output beyond the limit stays inside the decoder until asked for with empty input.
            while out or not self.d.can_accept_more_data():
                yield out
                out = self.d.process(b"", output_buffer_limit=_CHUNK)
        except self.error as exc:
            raise FetchError(f"bad compressed body: brotli: {exc}") from None

    def flush(self) -> Iterator[bytes]:
        """Brotli keeps nothing back, but a stream cut off before its end is an error."""
        if self.fed and not self.d.is_finished() and not self.framed:  # an empty body is no stream, as for gzip
            raise FetchError("truncated br body: the compressed stream ends early")
        return iter(())


# Each coding is a decoder stage that can hide a bomb from the next one; real servers send one, rarely two.
_MAX_ENCODINGS = 3
# Registered codings (IANA HTTP Content Coding Registry) that Storyline cannot decode: a body in one of
# these is unreadable, and saying so beats handing the parser bytes it will call malformed.
_UNDECODABLE = {"compress", "x-compress", "zstd", "dcb", "dcz", "exi", "pack200-gzip", "aes128gcm"}


def _decoders(header: str, framed: bool = False) -> list[_Inflate | _Brotli]:
    """The decoders for a Content-Encoding header, in the order they must run (`framed`: the body's length was)."""
    stages: list[_Inflate | _Brotli] = []
    for name in reversed([p.strip().lower() for p in header.split(",") if p.strip()]):
        if name in {"gzip", "x-gzip", "deflate"}:
            stages.append(_Inflate(name, framed))
        elif name == "br":
            stages.append(_Brotli(framed))
        elif name in _UNDECODABLE:
            raise FetchError(f"unsupported Content-Encoding: {name}")
        # Anything else ("UTF-8", "none", "binary", "8bit", "chunked") is no content coding at all but a
        # misconfigured server describing its bytes as they are: ignored, as httpx and browsers do.
        if len(stages) > _MAX_ENCODINGS:
            raise FetchError(f"refused: too many Content-Encodings (more than {_MAX_ENCODINGS})")
    return stages


def _decoded(stage: _Inflate | _Brotli, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """One decoder applied to a whole stream of pieces, its end included."""
    for piece in pieces:
        yield from stage.decode(piece)
    yield from stage.flush()


def _bounded(pieces: Iterable[bytes], opts: FetchOptions, deadline: float, what: str, cut: bool = False) -> Iterator[bytes]:
    """Pass pieces on, refusing more than max_bytes in all (`cut`: ending there instead) or any piece past the deadline."""
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > opts.max_bytes and cut:
            yield piece[: len(piece) - (size - opts.max_bytes)]
            return
        if size > opts.max_bytes:
            raise FetchError(f"refused: body larger than {opts.max_bytes / 1e6:g} MB {what}")
        if time.monotonic() > deadline:
            raise FetchError(f"timed out: response not complete within {opts.deadline_s:g} s")
        yield piece


def read_body(raw: Iterable[bytes], encoding: str, opts: FetchOptions, deadline: float, framed: bool = False) -> bytes:
    """Decode and collect a body, refusing more than max_bytes (after decompression) or past the deadline."""
    stages = _decoders(encoding, framed)
    # With `truncate` only the decoded text is cut: a compressed stream cut short would not decode.
    pieces = _bounded(raw, opts, deadline, "", cut=opts.truncate and not stages)
    # Every stage is bounded, not only the last: an inner stage can swallow what an outer one inflates
    # (a gzip stream followed by gigabytes of "trailing bytes" it ignores) and the last would see nothing.
    for i, stage in enumerate(stages):
        last = i == len(stages) - 1
        pieces = _bounded(_decoded(stage, pieces), opts, deadline, "after decompression (decompression bomb)", cut=opts.truncate and last)
    return b"".join(pieces)


# -- requests -----------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() takes "²" too, which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # the asctime form names no zone, but HTTP dates are always GMT
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _request_headers(opts: FetchOptions, since: Validators | None) -> dict[str, str]:
    """Identity, accepted encodings and the conditional-GET validators."""
    headers = {"User-Agent": opts.user_agent, "Accept-Encoding": ACCEPT_ENCODING, **opts.headers}
    if since and since.etag:
        headers["If-None-Match"] = since.etag
    if since and since.last_modified:
        headers["If-Modified-Since"] = since.last_modified
    return headers


def _host(url: str) -> str:
    """Lower-case host name of a URL ('' when it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def fetch(
    url: str, opts: FetchOptions = FetchOptions(), client: httpx.Client | None = None, since: Validators | None = None
) -> Page:
    """GET a URL, following redirects one hop at a time so every hop is checked."""
    own = client is None
    client = client or make_client(opts)
    deadline = time.monotonic() + opts.deadline_s
    token = _DEADLINE.set(deadline)
    seen: list[str] = []
    permanent = True
    try:
        while True:
            check_url(url, opts)
            if url in seen:
                raise FetchError(f"redirect loop at {url}")
            if len(seen) > opts.max_redirects:
                raise FetchError(f"more than {opts.max_redirects} redirects")
            seen.append(url)
            page = _get(client, url, opts, since, deadline)
            page.redirects = seen[:-1]
            page.moved = permanent and bool(page.redirects)
            target = page.location
            if target is None:
                return page
            if opts.same_host_redirects and _host(target) != _host(url):
                return page
            permanent = permanent and page.status in PERMANENT
            url = target
    finally:
        _DEADLINE.reset(token)
        if own:
            client.close()


def _get(client: httpx.Client, url: str, opts: FetchOptions, since: Validators | None, deadline: float) -> Page:
    """One request: a page, a 304, a redirect to follow, or a FetchError."""
    try:
        timeout = httpx.Timeout(opts.timeout_s)
        with client.stream("GET", url, headers=_request_headers(opts, since), timeout=timeout) as resp:
            headers = dict(resp.headers)
            status = resp.status_code
            if status in REDIRECTS and headers.get("location") or status == 304:
                return Page(url, status, headers, b"")
            if status >= 400 or status < 200:
                wait = parse_retry_after(headers.get("retry-after")) if status in THROTTLED else None
                raise FetchError(f"HTTP {status} {resp.reason_phrase}".strip(), status, wait)
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > opts.max_bytes and not opts.truncate:
                raise FetchError(f"refused: body of {int(declared) / 1e6:.1f} MB is larger than {opts.max_bytes / 1e6:g} MB")
            framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()
            body = read_body(resp.iter_raw(), headers.get("content-encoding", ""), opts, deadline, framed)
            return Page(str(resp.url), status, headers, body)
    except httpx.TimeoutException as exc:
        if time.monotonic() >= deadline:
            raise FetchError(f"timed out: response not complete within {opts.deadline_s:g} s") from None
        raise FetchError(f"timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"malformed URL {url!r}: {exc}") from None


# -- charsets -----------------------------------------------------------------------------


def header_charset(content_type: str) -> str | None:
    """The charset a Content-Type header names, when it is one Python knows."""
    m = _CHARSET.search(content_type or "")
    if not m:
        return None
    try:
        return codecs.lookup(m.group(1).strip()).name
    except LookupError:
        return None


def _is_utf8(data: bytes) -> bool:
    """Whether bytes are valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def feed_bytes(page: Page) -> bytes:
    """A feed body, transcoded to UTF-8 when only the HTTP header says what it is."""
    body = page.body
    charset = page.charset
    if not charset or body.startswith(_BOMS) or _is_utf8(body):
        return body
    decl = _XML_DECL.match(body)
    if decl and _XML_ENCODING.search(decl.group(0)):
        return body  # the document says its own encoding: the XML parser honours it
    try:
        return body.decode(charset).encode("utf-8")
    except (UnicodeDecodeError, LookupError):
        return body


def page_text(page: Page) -> str:
    """An HTML page as text: BOM, valid UTF-8, the header's charset, then the page's own declaration."""
    from .extract import decode_html  # trafilatura is heavy to import; only pages need it

    body = page.body
    charset = page.charset
    if charset and not body.startswith(_BOMS) and not _is_utf8(body):
        try:
            return body.decode(charset)
        except (UnicodeDecodeError, LookupError):
            pass
    return decode_html(body)


# -- Google News --------------------------------------------------------------------------


def is_google_news(url: str | None) -> bool:
    """Whether a URL is on news.google.com."""
    host = _host(url or "")
    return host == "news.google.com" or host.endswith(".news.google.com")


def google_news_target(url: str) -> str | None:
    """The publisher URL an older Google News article link carries inside it, when it does."""
    if not is_google_news(url):
        return None
    m = _GOOGLE_NEWS_PATH.search(urlsplit(url).path)
    if not m:
        return None
    token = m.group(1)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    # A small protobuf: field 4 (tag 0x22) holds the URL, length-prefixed.
    at = raw.find(b"\x22")
    if at < 0:
        return None
    length, pos, shift = 0, at + 1, 0
    while pos < len(raw) and shift < 35:
        byte = raw[pos]
        length |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if not byte & 0x80:
            break
    target = raw[pos : pos + length]
    if len(target) != length or not target.startswith((b"http://", b"https://")):
        return None
    try:
        text = target.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if not is_google_news(text) else None
