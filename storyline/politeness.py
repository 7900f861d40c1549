"""Being a good guest on other people's servers: per-host limits and spacing, robots.txt."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

THROTTLED = frozenset({429, 503})  # a host's answers that it is too busy: it is left alone for a while

ROBOTS_AGENT = "Storyline"  # the product token robots.txt rules are matched against
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB


@dataclass(frozen=True)
class PolitenessOptions:
    """How hard Storyline may press one host."""

    per_host: int = 1  # requests in flight to one host at a time
    delay_s: float = 2.0  # at least this long from the end of one request to the start of the next
    jitter: float = 0.5  # the delay is stretched by up to this fraction, at random
    max_crawl_delay_s: float = 60.0  # a robots.txt Crawl-delay is honoured up to this
    # A host that answers 429 or 503 without saying for how long is left alone this long, doubled for each
    # further such answer in a row, up to the cap: at the plain delay it was asked again and again.
    throttled_pause_s: float = 30.0
    max_throttled_pause_s: float = 3600.0


@dataclass
class _Host:
    """What the gate knows about one host."""

    active: int = 0
    not_before: float = 0.0
    crawl_delay: float = 0.0
    throttled: int = 0  # 429/503 answers in a row


@dataclass
class HostGate:
    """Decides when a request to a host may start: a concurrency cap and a delay after each request."""

    opts: PolitenessOptions = PolitenessOptions()
    rng: random.Random = field(default_factory=random.Random)
    hosts: dict[str, _Host] = field(default_factory=dict)

    def _host(self, host: str) -> _Host:
        """The state of a host, created on first sight."""
        return self.hosts.setdefault(host, _Host())

    def wait(self, host: str, now: float) -> float:
        """Seconds until a request to `host` may start (inf while it is at its concurrency cap)."""
        state = self._host(host)
        if state.active >= self.opts.per_host:
            return math.inf
        return max(0.0, state.not_before - now)

    def start(self, host: str) -> None:
        """A request to `host` begins."""
        self._host(host).active += 1

    def finish(self, host: str, ended: float, pause_s: float | None = None, throttled: bool = False) -> None:
        """A request to `host` ended at `ended`; the next waits the delay, or `pause_s` when the host asked.

        `throttled`: the host answered 429 or 503 (too busy); without a `pause_s` of its own it gets a
        pause that doubles with each such answer in a row.
        """
        state = self._host(host)
        state.active = max(0, state.active - 1)
        state.throttled = state.throttled + 1 if throttled else 0
        if throttled and pause_s is None:  # "Retry-After: 0" is the host's word too: come back at once
            pause_s = min(self.opts.throttled_pause_s * 2 ** (state.throttled - 1), self.opts.max_throttled_pause_s)
        delay = max(self.opts.delay_s, state.crawl_delay) * (1 + self.opts.jitter * self.rng.random())
        state.not_before = max(state.not_before, ended + delay, ended + (pause_s or 0.0))

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        """Honour a robots.txt Crawl-delay (capped)."""
        self._host(host).crawl_delay = min(max(0.0, seconds or 0.0), self.opts.max_crawl_delay_s)


def host_of(url: str) -> str:
    """The politeness key of a URL: its lower-case host name."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL: what one robots.txt covers."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc.rpartition('@')[2]).lower()}"


def robots_url(url: str) -> str:
    """Where the robots.txt covering a URL lives."""
    return origin_of(url) + "/robots.txt"


def parse_robots(status: int, body: str) -> RobotFileParser:
    """Rules from a robots.txt response: found = its rules, 4xx = allow all, else (5xx, unreachable) = disallow all."""
    parser = RobotFileParser()
    if 200 <= status < 300:
        parser.parse(body.splitlines())
    elif 400 <= status < 500 and status != 429:
        parser.allow_all = True
    else:
        # RFC 9309: an unreachable robots.txt means the whole site is off limits for now.
        parser.disallow_all = True
    return parser


def robots_allows(parser: RobotFileParser, url: str) -> bool:
    """Whether robots.txt lets Storyline fetch a URL."""
    return parser.can_fetch(ROBOTS_AGENT, url)


def crawl_delay(parser: RobotFileParser) -> float | None:
    """The Crawl-delay robots.txt asks of Storyline, if any."""
    try:
        value = parser.crawl_delay(ROBOTS_AGENT)
    except (TypeError, ValueError):
        return None
    return float(value) if value is not None else None
