"""Article history: when a stored article's feed entry or page changes, the article follows and keeps each version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import dates, dedup
from .events import match_coverage
from .models import Document, IngestResult
from .sqlite import sqlite3
from .store import _iso, utcnow

if TYPE_CHECKING:
    from .ingest import Batch, Pipeline

# Whose text wins when versions disagree: a fetched page over a local file over a feed summary.
_RANK = {"feed": 1, "file": 2, "page": 3}


def origin(kind: str) -> str:
    """What a document of this kind was read from: feed, page or file."""
    return {"feed-item": "feed", "html": "page"}.get(kind, "file")


def content_hash(text: str) -> str:
    """A hash of a text's words, blind to spacing, punctuation and case."""
    return dedup.text_hash(dedup.normalise(text or ""))


def _squash(value: str | None) -> str:
    """Whitespace-collapsed text for comparing headlines."""
    return " ".join((value or "").split())


def _baseline(store: Any, row: sqlite3.Row, source: str) -> sqlite3.Row | dict[str, Any] | None:
    """The last version read from `source`: a recorded one, else the article itself if it came from there."""
    version = store.latest_version(row["id"], source)
    if version is not None:
        return version
    if origin(row["kind"]) == source:
        return {"title": row["title"], "text_hash": row["text_hash"] or content_hash(row["text"]), "text": row["text"]}
    return None


def _differs(base: sqlite3.Row | dict[str, Any], doc: Document) -> bool:
    """Whether a document's headline or text changed against a version (description and dates do not count)."""
    old_hash = base["text_hash"] or content_hash(base["text"] or "")
    return _squash(base["title"]) != _squash(doc.title) or old_hash != content_hash(doc.text)


def is_news(store: Any, doc: Document) -> bool:
    """Whether storing a document would change anything: a new key, or changed content from its origin."""
    aid = store.article_id_by_key(doc.key)
    if aid is None:
        return True
    row = store.article(aid)
    if row["kind"] == "linked" or doc.kind == "linked":
        return False
    base = _baseline(store, row, origin(doc.kind))
    return base is None or _differs(base, doc) or _has_new_listings(store, doc)


def _has_new_listings(store: Any, doc: Document) -> bool:
    """Whether an aggregator item now lists coverage not stored yet."""
    return any(item.url and store.article_id_by_key(item.url) is None for item in doc.linked)


def _fields(doc: Document) -> dict[str, Any]:
    """The versioned fields of a document."""
    return {
        "title": doc.title, "description": doc.description, "text": doc.text,
        "text_hash": content_hash(doc.text), "published": _iso(doc.published),
    }


def _row_fields(row: sqlite3.Row) -> dict[str, Any]:
    """The versioned fields of a stored article."""
    return {
        "title": row["title"], "description": row["description"], "text": row["text"],
        "text_hash": content_hash(row["text"]), "published": row["published"],
    }


def revise(pipeline: Pipeline, doc: Document, aid: int, batch: Batch, result: IngestResult) -> None:
    """Bring a stored article up to date with a newer reading of it, keeping the old one as a version."""
    store = pipeline.store
    row = store.article(aid)
    if row["kind"] == "linked" or doc.kind == "linked":
        result.unchanged += 1  # listed coverage is matched by the core, never revised
        return
    source = origin(doc.kind)
    base = _baseline(store, row, source)
    if base is not None and not _differs(base, doc):
        _add_new_listings(pipeline, doc, row, batch, result)
        result.unchanged += 1
        return
    is_update = base is not None  # else this is the first reading from this origin (a page for a feed item)
    now = utcnow()
    if not store.version_origins(aid):
        store.add_version(aid, origin(row["kind"]), _row_fields(row), row["created_at"])
    store.add_version(aid, source, _fields(doc), now)
    changes = _changes(store, row, doc, source, is_update)
    if "text" in changes:
        _recompute(pipeline, aid, doc, changes)
    if is_update:
        changes["updated_at"] = now
    store.revise_article(aid, changes, counted=is_update and bool(changes.keys() & {"title", "text"}))
    result.updated += 1
    _add_new_listings(pipeline, doc, row, batch, result)
    if row["event_id"] is not None:
        match_coverage(store, row["event_id"])
        batch.events.add(row["event_id"])


def _changes(store: Any, row: sqlite3.Row, doc: Document, source: str, is_update: bool) -> dict[str, Any]:
    """The columns a newer reading changes: a changed headline, better text, metadata that was missing."""
    changes: dict[str, Any] = {}
    if doc.title and _squash(doc.title) != _squash(row["title"]):
        # A page's headline often differs from the feed's in form only: it fills a gap, it does not replace.
        if is_update or not row["title"] or row["title_inferred"]:
            changes.update(title=doc.title, title_inferred=int(doc.title_inferred))
    ranks = [_RANK[o] for o in store.version_origins(row["id"]) if o != source] + [_RANK[origin(row["kind"])]]
    if doc.text and content_hash(doc.text) != content_hash(row["text"]) and (
        _RANK[source] >= max(ranks) or not row["text"]
    ):
        changes.update(text=doc.text)
    if doc.description and not row["description"]:
        changes["description"] = doc.description
    if doc.published and not row["published"]:
        changes["published"] = _iso(doc.published)
    if doc.outlet and not row["outlet_id"]:
        changes["outlet_id"] = store.outlet_id(doc.outlet)
    for column in ("byline", "language"):
        if getattr(doc, column) and not row[column]:
            changes[column] = getattr(doc, column)
    return changes


def _recompute(pipeline: Pipeline, aid: int, doc: Document, changes: dict[str, Any]) -> None:
    """Redo what depends on the text: fingerprint, entities and quotes, the article's own event date."""
    store = pipeline.store
    store.clear_derived(aid)
    fp = dedup.fingerprint(doc.text)
    changes["text_hash"] = fp.text_hash
    if fp.signature:
        store.set_minhash(aid, fp.signature, fp.bands)
    original = store.article(aid)["duplicate_of"]
    if original is not None and not _still_a_copy(pipeline, store.article(original), fp):
        # No longer a copy: searched and shown as a report of its own again (it stays in its event).
        changes.update(duplicate_of=None, duplicate_kind=None)
    title = changes.get("title") or store.article(aid)["title"] or ""
    # As for a new article: the opening enrich_chars, and what the recogniser learns journalled.
    store.save_enrichment(aid, pipeline._enrich(title, doc.text))  # noqa: SLF001 - the core's own step
    published = doc.published.date() if doc.published else None
    when = dates.resolve_event_date(doc.text, published, title)
    if when is not None:
        changes.update(event_day=when.day.isoformat(), event_day_method=when.method, event_day_evidence=when.evidence)


def _still_a_copy(pipeline: Pipeline, original: sqlite3.Row, fp: dedup.Fingerprint) -> bool:
    """Whether a revised text still copies its original, exactly or nearly (as ingest decides)."""
    if fp.text_hash and fp.text_hash == original["text_hash"]:
        return True
    return bool(fp.signature and original["minhash"]) and (
        dedup.jaccard(fp.signature, original["minhash"]) >= pipeline.settings.near_dup_threshold
    )


def _add_new_listings(pipeline: Pipeline, doc: Document, row: sqlite3.Row, batch: Batch, result: IngestResult) -> None:
    """Store coverage an aggregator item lists now but did not before (Google News lists grow)."""
    if doc.linked and row["event_id"] is not None and _has_new_listings(pipeline.store, doc):
        pipeline._add_listings(doc, row["id"], row["event_id"], batch, result)  # noqa: SLF001 - the core's own step
        batch.events.add(row["event_id"])
