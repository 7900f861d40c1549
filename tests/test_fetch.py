"""Tests for storyline.fetch against real HTTP servers on 127.0.0.x started by the tests.

The `LocalServer` here is also used by tests/test_watch.py.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import brotli
import httpx
import pytest

from storyline.fetch import (
    FetchError, FetchOptions, Page, Validators, check_url, feed_bytes, fetch, google_news_target, is_public_address,
    make_client, page_text, parse_retry_after,
)

# -- a small real server ------------------------------------------------------------------------------


@dataclass
class Reply:
    """What the server answers: status, headers, body (bytes or chunks), an optional stall first."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    stall_s: float = 0.0


@dataclass
class Hit:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    start: float
    end: float = 0.0
    status: int = 0


App = Callable[[str, str, dict[str, str]], Reply]


class LocalServer:
    """A threaded HTTP server on a loopback address whose answers come from `app(method, path, headers)`."""

    def __init__(self, app: App, host: str = "127.0.0.1") -> None:
        self.app = app
        self.log: list[Hit] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
                server._serve(self)

            def do_CONNECT(self) -> None:  # noqa: N802 - proxied https: refused, but logged
                server._serve(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        """An absolute URL on this server."""
        return f"http://{self.host}:{self.port}{path}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, prefix: str = "") -> list[Hit]:
        """Logged requests whose path starts with `prefix`."""
        with self.lock:
            return [h for h in self.log if h.path.startswith(prefix)]

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        """Answer one request and log it with its start and end times."""
        hit = Hit(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, time.monotonic())
        with self.lock:
            self.log.append(hit)
        reply = self.app(handler.command, handler.path, hit.headers)
        hit.status = reply.status
        try:
            if reply.stall_s and self.closing.wait(reply.stall_s):
                return
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            if isinstance(reply.body, bytes):
                if "content-length" not in {k.lower() for k in reply.headers}:
                    handler.send_header("Content-Length", str(len(reply.body)))
                handler.end_headers()
                handler.wfile.write(reply.body)
            else:
                handler.end_headers()
                for chunk in reply.body:
                    if self.closing.is_set():
                        break
                    handler.wfile.write(chunk)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should on a bomb or an endless body
        finally:
            hit.end = time.monotonic()


def routes(table: dict[str, Reply | Callable[[dict[str, str]], Reply]]) -> App:
    """An app answering from a path table (404 for the rest)."""

    def app(method: str, path: str, headers: dict[str, str]) -> Reply:
        entry = table.get(path)
        if entry is None:
            return Reply(404, {"Content-Type": "text/plain"}, b"not here")
        return entry(headers) if callable(entry) else entry

    return app


ALLOW = FetchOptions(allow_private=True, timeout_s=2.0, deadline_s=5.0, max_bytes=1_000_000)
ARTICLE = (
    "<html><head><title>Harbour ferry resumes service</title></head><body><article><h1>Harbour ferry resumes service</h1>"
    + "".join(f"<p>The ferry between the two harbours ran again on Monday, paragraph {i}, after the storm repairs.</p>" for i in range(8))
    + "</article></body></html>"
)


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0, follow_redirects=False, trust_env=False) as c:
        yield c


# -- addresses -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True), ("2606:4700:4700::1111", True),
        ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
        ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False),
        ("fe80::1", False), ("fd00:ec2::254", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False), ("224.0.0.1", False),
        # IPv4 inside NAT64 (a gateway relays it), IPv4-compatible and IPv4-translated forms
        ("64:ff9b::a00:1", False), ("64:ff9b:1::a9fe:a9fe", False), ("::127.0.0.1", False), ("::ffff:0:7f00:1", False),
        ("64:ff9b::808:808", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_internal_addresses_are_refused_unless_allowed() -> None:
    for url in ("http://127.0.0.1:9/feed", "http://[::1]/", "http://169.254.169.254/latest/meta-data/", "http://localhost/"):
        with pytest.raises(FetchError, match="refused: .* --allow-private"):
            check_url(url, FetchOptions())
    check_url("http://127.0.0.1:9/feed", FetchOptions(allow_private=True))
    for url in ("ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "http://[::1/"):
        with pytest.raises(FetchError):
            check_url(url, FetchOptions(allow_private=True))


def test_guarded_client_refuses_at_connect_time_too() -> None:
    """The connect-time check holds even when the URL check is skipped (DNS rebinding)."""
    with LocalServer(routes({"/": Reply(body=b"secret")})) as server:
        with make_client(FetchOptions()) as guarded:
            with pytest.raises(httpx.ConnectError, match="refused"):
                guarded.get(server.url("/"))
        with make_client(ALLOW) as allowed:
            assert allowed.get(server.url("/")).content == b"secret"
        assert len(server.hits()) == 1


def test_every_redirect_hop_is_checked(client, monkeypatch) -> None:
    import storyline.fetch as fetch_mod

    # Pretend the test server is a public host: only the redirect target is internal.
    monkeypatch.setattr(fetch_mod, "is_public_host", lambda host: host == "127.0.0.1")
    with LocalServer(routes({"/go": Reply(302, {"Location": "http://169.254.169.254/latest/"})})) as server:
        with pytest.raises(FetchError, match="refused: 169.254.169.254"):
            fetch(server.url("/go"), FetchOptions(), client)
        assert len(server.hits("/go")) == 1


# -- responses ---------------------------------------------------------------------------------------


def test_conditional_get_and_validators(client) -> None:
    def feed(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(200, {"ETag": '"v1"', "Last-Modified": "Mon, 03 Jun 2024 10:00:00 GMT"}, b"<rss/>")

    with LocalServer(routes({"/feed": feed})) as server:
        first = fetch(server.url("/feed"), ALLOW, client)
        assert first.status == 200 and first.body == b"<rss/>"
        assert first.validators == Validators('"v1"', "Mon, 03 Jun 2024 10:00:00 GMT")
        second = fetch(server.url("/feed"), ALLOW, client, since=first.validators)
        assert second.not_modified and second.body == b""
        sent = server.hits("/feed")[1].headers
        assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Mon, 03 Jun 2024 10:00:00 GMT"
        assert sent["user-agent"].startswith("Storyline/")
        assert "br" in sent["accept-encoding"] and "gzip" in sent["accept-encoding"]


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
        ("br", brotli.compress),
        ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),
    ],
)
def test_compressed_bodies(client, encoding: str, encode: Callable[[bytes], bytes]) -> None:
    body = ARTICLE.encode() * 20
    with LocalServer(routes({"/p": Reply(200, {"Content-Encoding": encoding}, encode(body))})) as server:
        assert fetch(server.url("/p"), ALLOW, client).body == body


@pytest.mark.parametrize("pack", [zlib.compress, lambda b: zlib.compress(b)[2:-4]])
def test_a_deflate_body_whose_first_piece_is_one_byte_still_decodes(pack: Callable[[bytes], bytes]) -> None:
    from storyline.fetch import read_body

    body = ARTICLE.encode() * 5
    packed = pack(body)
    pieces = iter([packed[:1], packed[1:2], packed[2:]])  # the zlib header is told by its first two bytes
    assert read_body(pieces, "deflate", ALLOW, time.monotonic() + 60) == body


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_decompression_bombs_are_refused(client, encoding: str) -> None:
    zeros = b"\0" * 50_000_000
    packed = {"gzip": gzip.compress, "br": brotli.compress, "deflate": zlib.compress}[encoding](zeros)
    assert len(packed) < 100_000
    with LocalServer(routes({"/bomb": Reply(200, {"Content-Encoding": encoding}, packed)})) as server:
        with pytest.raises(FetchError, match="refused: body larger than 1 MB after decompression"):
            fetch(server.url("/bomb"), ALLOW, client)


def _cut(pack: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """A packer whose output loses its last two thirds, as when a connection drops mid-body."""
    return lambda b: (lambda packed: packed[: len(packed) // 3])(pack(b))


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", _cut(gzip.compress)),
        ("deflate", _cut(zlib.compress)),
        ("deflate", _cut(lambda b: zlib.compress(b)[2:-4])),
        ("br", _cut(brotli.compress)),
        ("gzip, br", lambda b: brotli.compress(_cut(gzip.compress)(b))),  # only the inner stream is cut
    ],
    ids=["gzip", "zlib", "raw-deflate", "br", "gzip-in-br"],
)
def test_a_truncated_compressed_body_is_an_error(client, encoding: str, encode: Callable[[bytes], bytes]) -> None:
    body = ARTICLE.encode() * 20
    # A body without Content-Length ends when the server closes: only the decoder can tell it was cut.
    table = {
        "/cut": Reply(200, {"Content-Encoding": encoding}, iter([encode(body)])),
        "/empty": Reply(200, {"Content-Encoding": encoding}, iter([])),
        "/short": Reply(200, {"Content-Length": "100000"}, ARTICLE.encode()),
    }
    with LocalServer(routes(table)) as server:
        with pytest.raises(FetchError, match=r"^truncated (gzip|deflate|br) body"):
            fetch(server.url("/cut"), ALLOW, client)
        assert fetch(server.url("/empty"), ALLOW, client).body == b""  # no stream at all is an empty body
        with pytest.raises(FetchError):  # an identity body shorter than its Content-Length stays an error
            fetch(server.url("/short"), ALLOW, client)


def test_a_framed_compressed_body_without_its_stream_end_is_read_as_browsers_read_it(client) -> None:
    body = ARTICLE.encode() * 20
    no_trailer = gzip.compress(body)[:-8]  # the deflate data whole, the gzip trailer (CRC, size) left off
    sync = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    synced = sync.compress(body) + sync.flush(zlib.Z_SYNC_FLUSH)  # a raw deflate stream that never says it ended
    table = {
        "/gzip": Reply(200, {"Content-Encoding": "gzip", "Content-Length": str(len(no_trailer))}, no_trailer),
        "/deflate": Reply(200, {"Content-Encoding": "deflate", "Content-Length": str(len(synced))}, synced),
        "/cut": Reply(200, {"Content-Encoding": "gzip"}, iter([no_trailer])),  # ended by closing: may be cut
    }
    with LocalServer(routes(table)) as server:
        assert fetch(server.url("/gzip"), ALLOW, client).body == body
        assert fetch(server.url("/deflate"), ALLOW, client).body == body
        with pytest.raises(FetchError, match="truncated gzip body"):
            fetch(server.url("/cut"), ALLOW, client)


def test_long_content_encoding_chains_are_refused(client) -> None:
    body = ARTICLE.encode()
    table = {
        "/three": Reply(200, {"Content-Encoding": "gzip, gzip, gzip"}, gzip.compress(gzip.compress(gzip.compress(body)))),
        "/many": Reply(200, {"Content-Encoding": ", ".join(["gzip"] * 3000)}, b"\x1f\x8b junk"),
    }
    with LocalServer(routes(table)) as server:
        assert fetch(server.url("/three"), ALLOW, client).body == body
        with pytest.raises(FetchError, match="too many Content-Encodings"):
            fetch(server.url("/many"), ALLOW, client)


def test_a_bomb_between_stacked_encodings_is_refused(client) -> None:
    # The inner gzip stream ends at once; the 50 MB of zeros after it are trailing bytes it ignores,
    # so the last stage yields almost nothing while the outer one inflates them all.
    outer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    packed = outer.compress(gzip.compress(b"<rss/>")) + outer.compress(b"\0" * 50_000_000) + outer.flush()
    assert len(packed) < 100_000
    with LocalServer(routes({"/bomb": Reply(200, {"Content-Encoding": "gzip, gzip"}, packed)})) as server:
        with pytest.raises(FetchError, match="refused: body larger than 1 MB after decompression"):
            fetch(server.url("/bomb"), ALLOW, client)


@pytest.mark.parametrize("junk", ["UTF-8", "utf8", "none", "binary", "8bit", "7bit", "text", "chunked", "identity, none"])
def test_junk_content_encodings_are_ignored(client, junk: str) -> None:
    feed = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"
    table = {
        "/plain": Reply(200, {"Content-Encoding": junk}, feed),
        "/gzip": Reply(200, {"Content-Encoding": f"gzip, {junk}"}, gzip.compress(feed)),
        "/zstd": Reply(200, {"Content-Encoding": f"zstd, {junk}"}, feed),
    }
    with LocalServer(routes(table)) as server:
        assert fetch(server.url("/plain"), ALLOW, client).body == feed
        assert fetch(server.url("/gzip"), ALLOW, client).body == feed
        with pytest.raises(FetchError, match="unsupported Content-Encoding: zstd"):  # a real coding we cannot read
            fetch(server.url("/zstd"), ALLOW, client)


def test_huge_bodies_are_refused_declared_or_not(client) -> None:
    endless = (b"x" * 65536 for _ in range(1600))  # 100 MB, streamed without a length
    table = {
        "/declared": Reply(200, {"Content-Length": str(100_000_000)}, (b"x" * 65536 for _ in range(1600))),
        "/chunked": Reply(200, {}, endless),
    }
    with LocalServer(routes(table)) as server:
        with pytest.raises(FetchError, match="refused: body of 100.0 MB"):
            fetch(server.url("/declared"), ALLOW, client)
        with pytest.raises(FetchError, match="refused: body larger than 1 MB"):
            fetch(server.url("/chunked"), ALLOW, client)


def test_redirects_are_followed_bounded_and_loops_named(client) -> None:
    table = {
        "/a": Reply(301, {"Location": "/b"}),
        "/b": Reply(302, {"Location": "/c"}),
        "/c": Reply(200, {}, b"end"),
        "/loop1": Reply(302, {"Location": "/loop2"}),
        "/loop2": Reply(302, {"Location": "/loop1"}),
    }
    for i in range(10):
        table[f"/chain{i}"] = Reply(302, {"Location": f"/chain{i + 1}"})
    with LocalServer(routes(table)) as server:
        page = fetch(server.url("/a"), ALLOW, client)
        assert page.body == b"end" and page.url == server.url("/c")
        assert page.redirects == [server.url("/a"), server.url("/b")]
        with pytest.raises(FetchError, match="redirect loop"):
            fetch(server.url("/loop1"), ALLOW, client)
        with pytest.raises(FetchError, match="more than 5 redirects"):
            fetch(server.url("/chain0"), ALLOW, client)


def test_cross_host_redirect_can_be_left_to_the_caller(client) -> None:
    with LocalServer(routes({"/article": Reply(200, {}, b"moved here")}), host="127.0.0.2") as target:
        with LocalServer(routes({"/go": Reply(302, {"Location": target.url("/article")})})) as server:
            page = fetch(server.url("/go"), FetchOptions(allow_private=True, same_host_redirects=True), client)
            assert page.status == 302 and page.location == target.url("/article")
            assert target.hits() == []
            assert fetch(server.url("/go"), ALLOW, client).body == b"moved here"


def test_errors_carry_status_and_retry_after(client) -> None:
    table = {
        "/busy": Reply(429, {"Retry-After": "120"}),
        "/down": Reply(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        "/broken": Reply(500),
    }
    with LocalServer(routes(table)) as server:
        with pytest.raises(FetchError) as busy:
            fetch(server.url("/busy"), ALLOW, client)
        assert busy.value.status == 429 and busy.value.retry_after == 120.0
        assert str(busy.value).startswith("HTTP 429")
        with pytest.raises(FetchError) as down:
            fetch(server.url("/down"), ALLOW, client)
        assert down.value.status == 503 and down.value.retry_after == 0.0  # a date in the past
        with pytest.raises(FetchError) as broken:
            fetch(server.url("/broken"), ALLOW, client)
        assert broken.value.status == 500 and broken.value.retry_after is None


def test_hanging_and_trickling_servers_time_out(client) -> None:
    def trickle() -> Iterable[bytes]:
        for _ in range(100):
            time.sleep(0.2)
            yield b"x"

    table = {"/hang": Reply(stall_s=30), "/trickle": Reply(200, {}, trickle())}
    opts = FetchOptions(allow_private=True, timeout_s=0.5, deadline_s=1.5)
    with LocalServer(routes(table)) as server:
        with pytest.raises(FetchError, match="timed out"):
            fetch(server.url("/hang"), opts, client)
        with pytest.raises(FetchError, match="timed out: response not complete within 1.5 s"):
            fetch(server.url("/trickle"), opts, client)


def test_a_server_that_trickles_its_headers_is_cut_off_at_the_deadline() -> None:
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:  # a header line every 0.3 s for 30 s: no single read waits long
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(100):
                if stop.wait(0.3):
                    return
                try:
                    conn.sendall(b"X-Drip: a\r\n")
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    opts = FetchOptions(allow_private=True, timeout_s=1.0, deadline_s=1.5)
    start = time.monotonic()
    try:
        with pytest.raises(FetchError, match="timed out: response not complete within 1.5 s"):
            fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/", opts)
        assert time.monotonic() - start < 15  # the server would go on for 30 s
    finally:
        stop.set()
        listener.close()


def test_parse_retry_after() -> None:
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("\u00b2") is None and parse_retry_after("\u0663") is None  # digits to str, not to float


def test_retry_after_in_asctime_form_is_gmt(client) -> None:
    import os

    ahead = time.gmtime(time.time() + 3600)
    asctime = time.strftime("%a %b ", ahead) + f"{ahead.tm_mday:2d}" + time.strftime(" %H:%M:%S %Y", ahead)
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"  # a zone far from GMT, so a date read as local time is hours off
    time.tzset()
    try:
        assert parse_retry_after("Wed Oct 21 07:28:00 2015", now=1445412470.0) == 10.0
        with LocalServer(routes({"/down": Reply(503, {"Retry-After": asctime})})) as server:
            with pytest.raises(FetchError) as down:
                fetch(server.url("/down"), ALLOW, client)
        assert down.value.retry_after is not None and 3500 < down.value.retry_after <= 3600
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


# -- charsets and Google News --------------------------------------------------------------------------


def test_feed_charset_from_the_header_only_when_the_document_is_silent() -> None:
    cyrillic = "<rss version='2.0'><channel><title>Новости</title></channel></rss>"
    silent = Page("u", 200, {"content-type": "text/xml; charset=windows-1251"}, cyrillic.encode("cp1251"))
    assert feed_bytes(silent).decode("utf-8") == cyrillic
    declared = "<?xml version='1.0' encoding='koi8-r'?>" + cyrillic
    says_so = Page("u", 200, {"content-type": "text/xml; charset=windows-1251"}, declared.encode("koi8-r"))
    assert feed_bytes(says_so) == declared.encode("koi8-r")  # the XML parser honours the declaration
    utf8 = Page("u", 200, {"content-type": "text/xml; charset=iso-8859-1"}, cyrillic.encode("utf-8"))
    assert feed_bytes(utf8) == cyrillic.encode("utf-8")


def test_page_text_charsets() -> None:
    html = "<html><body><p>Grüße aus Köln</p></body></html>"
    by_header = Page("u", 200, {"content-type": "text/html; charset=iso-8859-1"}, html.encode("latin-1"))
    assert "Grüße aus Köln" in page_text(by_header)
    by_meta = Page("u", 200, {"content-type": "text/html"}, html.replace("<body>", "<head><meta charset='windows-1252'></head><body>").encode("cp1252"))
    assert "Grüße aus Köln" in page_text(by_meta)
    wrong_header = Page("u", 200, {"content-type": "text/html; charset=iso-8859-1"}, html.encode("utf-8"))
    assert "Grüße aus Köln" in page_text(wrong_header)


def test_google_news_links_carry_their_target() -> None:
    token = "CBMiN2h0dHBzOi8vd3d3LmFzYWhpLmNvbS9hcnRpY2xlcy9BU1MyNTZIR1ZTMjRVVElMMDBYLmh0bWzSAQA"
    assert google_news_target(f"https://news.google.com/rss/articles/{token}?oc=5") == (
        "https://www.asahi.com/articles/ASS256HGVS24UTIL00X.html"
    )
    assert google_news_target(f"https://news.google.com/__i/rss/rd/articles/{token}?oc=5") is not None
    # Newer links are opaque: nothing to read, the redirect has to be followed.
    assert google_news_target("https://news.google.com/rss/articles/CBMiqwFBVV95cUxPa0dJcnRz?oc=5") is None
    assert google_news_target(f"https://example.com/rss/articles/{token}") is None
