"""Small presentation helpers the templates use: safe links, paragraphs, times, pagination."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from jinja2.filters import do_urlencode
from markupsafe import Markup, escape

_PARAGRAPH = re.compile(r"\n\s*\n")
_SEEN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def http_url(url: str | None) -> str | None:
    """The URL if it is an http(s) link, else None: a stored `javascript:` URL must never become a link."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def paragraphs(text: str | None) -> list[str]:
    """A text's paragraphs (blank-line separated; single lines when it has no blank lines)."""
    body = (text or "").strip()
    if not body:
        return []
    parts = _PARAGRAPH.split(body) if _PARAGRAPH.search(body) else body.splitlines()
    return [" ".join(p.split()) for p in parts if p.strip()]


def when(value: str | None) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM' (UTC), a day as itself."""
    if not value:
        return ""
    return value[:10] if len(value) <= 10 or value[11:16] == "00:00" else f"{value[:10]} {value[11:16]}"


@lru_cache(maxsize=4096)
def url_value(text: str) -> str:
    """Text quoted for a URL (Jinja's urlencode), remembered: the same entity names recur on every page."""
    return do_urlencode(text)


@lru_cache(maxsize=8192)
def entity_item(kind: str, name: str) -> str:
    """One entity as a list item linking to the articles that name it, escaped (remembered, as `url_value`)."""
    # The entity filter alone, not its name as words too: enrich normalises names ("Turkish" is Turkey),
    # so the name is often in no text.
    query = escape(url_value(name))
    return f'<li class="entity {escape(kind)}"><a href="/search?entity={query}">{escape(name)}</a></li>'


def entity_links(items: list[dict[str, Any]]) -> Markup:
    """Entities as a list of links to the articles naming them (built here: a page can show hundreds)."""
    if not items:
        return Markup("")
    links = "".join(entity_item(e["kind"], e["name"]) for e in items)
    return Markup(f'<ul class="entities">{links}</ul>')


def report_line(r: dict[str, Any]) -> Markup:
    """One report of an event: outlet, linked title and its badges (built here: a long story lists hundreds)."""
    badges = (
        ('<span class="badge first" title="earliest report">first report</span>' if r.get("first") else "")
        + ('<span class="badge">listed</span>' if r.get("kind") == "linked" else "")
        + ('<span class="badge new">new</span>' if r.get("new") else "")
    )
    return Markup(
        f'<span class="outlet">{escape(r.get("outlet") or "unknown outlet")}</span> '
        f'<a href="/articles/{int(r["id"])}">{escape(r.get("title") or "(untitled)")}</a> {badges}'
    )


def marked(html: str) -> Markup:
    """Search highlights: already escaped by `search.marked_html`, with only <mark> added."""
    return Markup(html)


def valid_seen(value: str | None) -> str | None:
    """A last-visit time from a cookie, if it has exactly the form we write."""
    return value if value and _SEEN.match(value) else None


@dataclass(frozen=True)
class Pager:
    """Where a page sits among all pages."""

    page: int
    pages: int
    total: int

    @property
    def prev(self) -> int | None:
        """The previous page number, if any."""
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        """The next page number, if any."""
        return self.page + 1 if self.page < self.pages else None


def pager(total: int, per_page: int, page: int) -> Pager:
    """Pagination for `total` items."""
    return Pager(page, max(1, math.ceil(total / per_page)), total)
