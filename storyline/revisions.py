"""Article history: when a stored article's feed entry or page changes, the article follows and keeps each version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import dates, dedup
from .events import match_coverage, member_dates
from .models import Document, IngestResult
from .sqlite import sqlite3
from .store import _iso, utcnow
from .vectors import Centroid

if TYPE_CHECKING:
    from .ingest import Batch, Pipeline

# Whose text wins when versions disagree: a fetched page over a local file over a feed summary.
_RANK = {"feed": 1, "file": 2, "page": 3}
# Origins whose changed date is a correction: a local file's. A page that states no date is dated by
# its capture, so each later capture would read as a new date; and many feeds stamp every item with the
# time the feed was built, so each poll would update (and refetch) every item.
_DATED = frozenset({"file"})


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
        return {
            "title": row["title"], "text_hash": row["text_hash"] or content_hash(row["text"]), "text": row["text"],
            "published": row["published"],
        }
    return None


def _differs(base: sqlite3.Row | dict[str, Any], doc: Document, source: str) -> bool:
    """Whether a document's headline, text or stated date changed against a version (not its description)."""
    old_hash = base["text_hash"] or content_hash(base["text"] or "")
    reworded = _squash(base["title"]) != _squash(doc.title) or old_hash != content_hash(doc.text)
    return reworded or _redated(base, doc, source)


def _redated(base: sqlite3.Row | dict[str, Any], doc: Document, source: str) -> bool:
    """Whether a reading from `source` states another date than its last version did (a dropped date is kept)."""
    return source in _DATED and doc.published is not None and _iso(doc.published) != base["published"]


def is_news(store: Any, doc: Document) -> bool:
    """Whether storing a document would change anything: a new key, or changed content from its origin."""
    aid = store.article_id_by_key(doc.key)
    if aid is None:
        return True
    row = store.article(aid)
    if row["kind"] == "linked" or doc.kind == "linked":
        return False
    base = _baseline(store, row, origin(doc.kind))
    return base is None or _differs(base, doc, origin(doc.kind)) or _has_new_listings(store, doc)


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
    if base is not None and not _differs(base, doc, source):
        _add_new_listings(pipeline, doc, row, batch, result)
        result.unchanged += 1
        return
    is_update = base is not None  # else this is the first reading from this origin (a page for a feed item)
    now = utcnow()
    if not store.version_origins(aid):
        store.add_version(aid, origin(row["kind"]), _row_fields(row), row["created_at"])
    store.add_version(aid, source, _fields(doc), now)
    changes = _changes(store, row, doc, source, is_update, is_update and _redated(base, doc, source))
    if "text" in changes:
        _recompute(pipeline, aid, doc, changes)
    if changes.keys() & {"text", "published"}:
        _redate(row, doc, changes)
    if is_update:
        changes["updated_at"] = now
    store.revise_article(aid, changes, counted=is_update and bool(changes.keys() & {"title", "text", "published"}))
    result.updated += 1
    _add_new_listings(pipeline, doc, row, batch, result)
    # After the article's new hash and signature are stored: its copies are compared with them.
    touched = _recheck_copies(pipeline, aid) if "text" in changes else set()
    if row["event_id"] is not None:
        if changes.get("event_day", row["event_day"]) != row["event_day"]:
            _respan(pipeline, row["event_id"])
        touched.add(row["event_id"])
    for event_id in sorted(touched):
        match_coverage(store, event_id)
        batch.events.add(event_id)


def _changes(
    store: Any, row: sqlite3.Row, doc: Document, source: str, is_update: bool, redated: bool
) -> dict[str, Any]:
    """The columns a newer reading changes: a changed headline or date, better text, metadata that was missing."""
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
    if doc.published and (not row["published"] or redated) and _iso(doc.published) != row["published"]:
        changes["published"] = _iso(doc.published)
    if doc.outlet and not row["outlet_id"]:
        changes["outlet_id"] = store.outlet_id(doc.outlet)
    for column in ("byline", "language"):
        if getattr(doc, column) and not row[column]:
            changes[column] = getattr(doc, column)
    return changes


def _recompute(pipeline: Pipeline, aid: int, doc: Document, changes: dict[str, Any]) -> None:
    """Redo what depends on the text: fingerprint, what it copies, entities and quotes."""
    store = pipeline.store
    store.clear_derived(aid)
    fp = dedup.fingerprint(doc.text)
    changes["text_hash"] = fp.text_hash
    if fp.signature:
        store.set_minhash(aid, fp.signature, fp.bands)
    original = store.article(aid)["duplicate_of"]
    if original is not None:
        # A copy no more (none found) is searched and shown as a report of its own again, in its event.
        dup_of, dup_kind = _original_of(pipeline, aid, fp, original)
        changes.update(duplicate_of=dup_of, duplicate_kind=dup_kind)
    _read(pipeline, aid, changes.get("title") or store.article(aid)["title"] or "", doc.text)


def _read(pipeline: Pipeline, aid: int, title: str, text: str) -> None:
    """Store an article's entities, quotes and keywords, read as a new article's are."""
    # As for a new article: the opening enrich_chars, and what the recogniser learns journalled. What an
    # earlier reading stored goes first: a copy read while near, then exact, has its rows still.
    pipeline.store.clear_reading(aid)
    pipeline.store.save_enrichment(aid, pipeline._enrich(title, text))  # noqa: SLF001 - the core's own step


def _redate(row: sqlite3.Row, doc: Document, changes: dict[str, Any]) -> None:
    """Date the article's event again from its text, headline and publication date as they now stand."""
    title = changes.get("title") or row["title"] or ""
    text = changes.get("text", row["text"]) or ""
    kept = changes.get("published", row["published"])
    # The reading's own datetime keeps the zone it was written in (the newsroom's day); the stored one is UTC.
    if doc.published is not None and _iso(doc.published) == kept:
        published = doc.published.date()
    else:
        published = dates.parse_day(kept)
    when = dates.resolve_event_date(text, published, title)
    if when is not None:
        changes.update(event_day=when.day.isoformat(), event_day_method=when.method, event_day_evidence=when.evidence)


def _respan(pipeline: Pipeline, event_id: int) -> None:
    """Fit an event's date span to its members' days again (adding a member only ever widens it)."""
    events = pipeline.events
    days = [d.day for d in member_dates(pipeline.store.event_members(event_id))]
    old = events.centroid(event_id)
    fitted = Centroid(event_id, old.terms, old.n, min(days, default=None), max(days, default=None))
    # Into the mirror even if it was not there: the mirror must hold every group of the days it covers.
    events.index.put(fitted)
    first, last = (d.isoformat() if d else None for d in (fitted.first_day, fitted.last_day))
    pipeline.store.save_centroid("events", event_id, fitted.dumps(), first, last)


def _recheck_copies(pipeline: Pipeline, aid: int) -> set[int]:
    """Re-point the copies of a revised article, or make them reports of their own again; return their events."""
    store = pipeline.store
    events: set[int] = set()
    # Oldest first, as ingest met them: the first copy left without an original is the others' original.
    for copy in [c for c in store.copies(aid) if c["duplicate_of"] == aid]:
        row = store.article(copy["id"])
        dup_of, dup_kind = _original_of(pipeline, row["id"], dedup.fingerprint(row["text"] or ""), aid)
        store.update_article(row["id"], duplicate_of=dup_of, duplicate_kind=dup_kind)
        if row["duplicate_kind"] == "exact" and dup_kind != "exact":
            _read(pipeline, row["id"], row["title"] or "", row["text"] or "")  # ingest never reads exact copies
        if row["event_id"] is not None:
            events.add(row["event_id"])
    return events


def _original_of(pipeline: Pipeline, aid: int, fp: dedup.Fingerprint, original: int) -> tuple[int | None, str | None]:
    """What a copy's text copies now, and how: its original, else the earliest other report, else nothing."""
    store = pipeline.store
    # An exact copy shares every band; a near one at least those the threshold needs (_still_a_copy's tests).
    shared = dedup.bands_needed(pipeline.settings.near_dup_threshold)
    for cid in [original, *(cid for cid, _ in store.minhash_candidates(fp.bands, shared))]:
        found = store.article(cid)
        # Only reports of their own: other copies of a revised original are themselves being re-checked.
        if cid != aid and found["duplicate_of"] is None and _still_a_copy(pipeline, found, fp):
            return cid, "exact" if fp.text_hash and fp.text_hash == found["text_hash"] else "near"
    return None, None


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
