"""Full-text search over article titles and texts (SQLite FTS5, BM25 ranking) with filters and highlights."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from .store import Store
from .models import UNSPACED

MARK_START, MARK_END = "\x02", "\x03"  # what the store puts around matched words
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)
LEAD_CHARS = 400  # a result whose match lies beyond its highlighted opening shows its text's start
# A search ranks by relevance only among the newest matches (by arrival): a news tracker's readers want
# recent reports, and ranking every match of a common word in a large store costs far too much.
NEWEST_RANKED = 1_000  # prefix* queries too: their cost is in reading the terms' lists, not in the pool


@dataclass(frozen=True)
class SearchQuery:
    """A search: words or "quoted phrases" (a trailing * matches prefixes), filters, and a page.

    Without words, an entity, outlet or story filter alone lists the articles that pass the filters.
    """

    q: str
    start: date | None = None
    end: date | None = None
    outlet: str | None = None
    entity: str | None = None
    story_id: int | None = None
    duplicates: bool = False
    limit: int = 20
    offset: int = 0


def fts_expression(q: str) -> str:
    """The user's words as a safe FTS5 query: every term a quoted string, all terms required."""
    # Quoting makes FTS5 syntax (AND, NEAR, column filters, stray quotes) plain words, so no input
    # can cause a syntax error; a trailing * still asks for a prefix match.
    parts = []
    for m in _TERM.finditer(q):
        phrase = m.group(1) if m.group(1) is not None else m.group(2)
        prefix = m.group(1) is None and phrase.endswith("*")
        words = _WORD.findall(phrase)
        if not words:
            continue
        parts.append('"' + " ".join(words) + '"' + ("*" if prefix else ""))
    return " ".join(parts)


def cjk_terms(q: str) -> list[str]:
    """The terms of a search in an unspaced script (Chinese, Japanese, Korean, Thai...), each to be found as written; [] without one.

    Such a search looks in the trigram index of migration 012, which holds the articles written mostly in those scripts.
    """
    if not UNSPACED.search(q):
        return []
    terms = []
    for m in _TERM.finditer(q):
        phrase = m.group(1) if m.group(1) is not None else m.group(2).rstrip("*")  # every term is a prefix here
        phrase = " ".join(phrase.split())
        if _WORD.search(phrase):
            terms.append(phrase)
    return terms


def marked_html(text: str | None) -> str:
    """Escape text for HTML and turn the store's match markers into <mark> elements."""
    safe = escape(text or "", quote=True)
    return safe.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def plain(text: str | None) -> str:
    """Text with the match markers removed."""
    return (text or "").replace(MARK_START, "").replace(MARK_END, "")


def _filters(query: SearchQuery) -> dict[str, Any]:
    """The store's filter mapping for a query."""
    return {
        "start": query.start.isoformat() if query.start else None,
        "end": query.end.isoformat() if query.end else None,
        "outlet": query.outlet or None,
        "entity": query.entity or None,
        "story_id": query.story_id,
        "duplicates": query.duplicates,
    }


def has_words(q: str) -> bool:
    """Whether a search's text holds anything to look for (not only operators or punctuation)."""
    return bool(fts_expression(q) or cjk_terms(q))


def has_filter(query: SearchQuery) -> bool:
    """Whether a query narrows by entity, outlet or story: enough to list articles without words."""
    return bool(query.entity or query.outlet or query.story_id)


def _hit(row: Any, marks: Any, score: float | None) -> dict[str, Any]:
    """One result; without marks (no words, or the match lies beyond the highlighted opening) the lead is the snippet."""
    title_marked = marks["title_marked"] if marks is not None else None
    snippet_marked = marks["snippet_marked"] if marks is not None else None
    if not snippet_marked:
        words = plain(row["opening"])[:LEAD_CHARS].split()  # without marks a stored text may hold itself
        snippet_marked = " ".join(words[:32]) + ("…" if len(words) > 32 else "")
    return {
        "id": row["id"],
        "title": row["title"],
        "outlet": row["outlet"],
        "url": row["url"],
        "published": row["published"],
        "language": row["language"],
        "kind": row["kind"],
        "duplicate_of": row["duplicate_of"],
        "event": {"id": row["event_id"], "title": row["event_title"], "date": row["event_date"], "story_id": row["story_id"]}
        if row["event_id"] is not None else None,
        "score": round(-score, 4) + 0.0 if score is not None else 0.0,  # + 0.0: no "-0.0" for a score of nothing
        "title_html": marked_html(title_marked) if title_marked is not None else escape(row["title"] or ""),
        "snippet_html": marked_html(snippet_marked),
        "snippet": plain(snippet_marked),
    }


def search(store: Store, query: SearchQuery) -> dict[str, Any]:
    """A page of the newest NEWEST_RANKED matches (filters first) ranked by relevance, highlighted; without words, listed."""
    # Up to NEWEST_RANKED matches, all are ranked and counted; beyond, `total` is NEWEST_RANKED and
    # `total_is_lower_bound` is true, and older matches are not returned. A listing (filters without
    # words) takes the same newest NEWEST_RANKED, latest published first.
    expression = fts_expression(query.q)
    page = {
        "query": query.q, "total": 0, "total_is_lower_bound": False, "ranked": bool(expression), "limit": query.limit,
        "offset": query.offset,
    }
    if terms := cjk_terms(query.q):
        found, total, more = store.search_cjk(terms, _filters(query), query.limit, query.offset, NEWEST_RANKED)
        items = [_hit(r, marks, score) for r, marks, score in found]
    elif expression:
        found, total, more = store.search_articles(expression, _filters(query), query.limit, query.offset, NEWEST_RANKED)
        items = [_hit(r, marks, score) for r, marks, score in found]
    elif has_filter(query):
        listed, total, more = store.filtered_articles(_filters(query), query.limit, query.offset, NEWEST_RANKED)
        items = [_hit(r, None, None) for r in listed]
    else:
        return page | {"items": []}
    return page | {"total": total, "total_is_lower_bound": more, "items": items}
