"""HTTP fetching with the safety rules every request obeys: no internal addresses, bounded size and time."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from . import __version__

USER_AGENT = f"Storyline/{__version__} (+https://github.com/storyline-news/storyline; news tracker)"


class FetchError(ValueError):
    """A URL that could not be fetched; the message is one line."""


@dataclass(frozen=True)
class FetchOptions:
    """How to fetch: limits, identity and which addresses are allowed."""

    timeout_s: float = 20.0
    max_bytes: int = 20_000_000
    max_redirects: int = 5
    allow_private: bool = False
    user_agent: str = USER_AGENT
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Page:
    """A fetched response."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes


def is_public_host(host: str) -> bool:
    """Whether every address a host name resolves to is a public one."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if not addr.is_global or addr.is_multicast:
            return False
    return True


def check_url(url: str, opts: FetchOptions) -> None:
    """Refuse non-HTTP URLs and, unless allowed, internal addresses."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    if not opts.allow_private and not is_public_host(parts.hostname):
        raise FetchError(f"refused: {parts.hostname} is a loopback, private or link-local address (use --allow-private)")


def fetch(url: str, opts: FetchOptions = FetchOptions(), client: httpx.Client | None = None) -> Page:
    """GET a URL, following redirects one hop at a time so every hop is checked."""
    own = client is None
    client = client or httpx.Client(timeout=opts.timeout_s, follow_redirects=False)
    try:
        for _ in range(opts.max_redirects + 1):
            check_url(url, opts)
            headers = {"User-Agent": opts.user_agent, "Accept-Encoding": "gzip, deflate", **opts.headers}
            try:
                with client.stream("GET", url, headers=headers) as resp:
                    if resp.is_redirect:
                        url = urljoin(url, resp.headers["location"])
                        continue
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > opts.max_bytes:
                            raise FetchError(f"refused: body larger than {opts.max_bytes / 1e6:.0f} MB")
                    if resp.status_code >= 400:
                        raise FetchError(f"HTTP {resp.status_code}")
                    return Page(str(resp.url), resp.status_code, dict(resp.headers), bytes(body))
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {exc}") from None
        raise FetchError(f"more than {opts.max_redirects} redirects")
    finally:
        if own:
            client.close()
