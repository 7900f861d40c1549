"""`storyline import jsonl`: read Storyline's own JSONL back into an empty store, ids and all.

Records may come in any order and from several files (foreign keys are checked once, at the end),
and the whole import is one transaction: a bad line stores nothing.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from ..models import strip_controls
from ..sqlite import sqlite3
from ..store import Store
from .common import PublishError


@dataclass(frozen=True)
class ImportSource:
    """One input: a name for messages and its lines (bytes are decoded as UTF-8 one line at a time)."""

    name: str
    lines: Iterable[str | bytes]


def decode(value: Any) -> Any:
    """A JSON value back to a column value: {"base64": ...} becomes bytes."""
    if isinstance(value, dict) and set(value) == {"base64"}:
        return base64.b64decode(value["base64"])
    return value


def _no_controls(value: Any) -> Any:
    """A parsed record with control characters stripped from every string, as ingest strips them (a dump is input too)."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {k: _no_controls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_controls(v) for v in value]
    return value


def columns_of(rec: dict[str, Any]) -> dict[str, Any]:
    """A record's values, decoded, without its type tag."""
    return {k: decode(v) for k, v in rec.items() if k != "type"}


def load_article(store: Store, rec: dict[str, Any]) -> None:
    """An article and what it embeds: outlet, entities and their counts, quotes, LSH bands."""
    aid = rec["id"]
    if rec.get("outlet_id") is not None and rec.get("outlet"):
        # an articles-only file still imports: outlet records, when present, are authoritative
        store.import_row("outlets", {"id": rec["outlet_id"], "name": rec["outlet"]}, "INSERT OR IGNORE")
    values = columns_of(rec) | {
        "title_inferred": int(bool(rec.get("title_inferred"))),
        "tags": json.dumps(rec.get("tags") or [], ensure_ascii=False),
        "keywords": json.dumps(rec.get("keywords") or [], ensure_ascii=False),
    }
    store.import_row("articles", values)
    store.article_added(int(aid))  # the search index is cut into shards as ingest cuts it
    for ent in rec.get("entities") or []:
        store.import_row("entities", {"id": ent["id"], "name": ent["name"], "kind": ent["kind"]}, "INSERT OR IGNORE")
        store.import_row("article_entities", {"article_id": aid, "entity_id": ent["id"], "count": ent["count"]})
    for q in rec.get("quotes") or []:
        store.import_row("quotes", {"id": q["id"], "article_id": aid, "text": q["text"], "speaker": q["speaker"]})
    for band, value in rec.get("minhash_bands") or []:
        store.import_row("minhash_bands", {"band": band, "hash": value, "article_id": aid})


def load_record(store: Store, rec: dict[str, Any]) -> str:
    """Store one record; return its type."""
    kind = rec.get("type")
    if kind == "article":
        load_article(store, rec)
    elif kind in ("outlet", "entity"):
        store.import_row({"outlet": "outlets", "entity": "entities"}[kind], columns_of(rec), "INSERT OR REPLACE")
    elif kind == "story":
        store.import_row("stories", columns_of(rec))
    elif kind == "event":
        store.import_row("events", columns_of(rec))
    elif kind == "raw":
        store.import_raw(columns_of(rec))
    elif kind == "row":
        # the dump is authoritative over rows a migration may have seeded in the new store
        values = {k: decode(v) for k, v in (rec.get("values") or {}).items()}
        if str(rec.get("table")) not in store.LAYOUT_TABLES:
            store.import_row(str(rec.get("table")), values, "INSERT OR REPLACE")
    else:
        raise ValueError(f"unknown record type {kind!r}")
    return str(kind)


def import_jsonl(store: Store, sources: Iterable[ImportSource]) -> Counter[str]:
    """Load JSONL exports into an empty store in one transaction; return records stored per type."""
    if filled := store.filled_tables():
        raise PublishError(f"{store.path}: the store already holds data ({', '.join(filled)}); import into a new, empty database")
    counts: Counter[str] = Counter()
    where = "input"
    try:
        with store.import_transaction():
            for source in sources:
                for number, raw in enumerate(source.lines, 1):
                    where = f"{source.name}:{number}"
                    # decoded here, not by the file: a reader decodes ahead in chunks, so a bad byte
                    # failed while an earlier line (or file) was named
                    line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                    if line.strip():
                        rec = _no_controls(json.loads(line))
                        if not isinstance(rec, dict):
                            raise ValueError("not a JSON object")
                        counts[load_record(store, rec)] += 1
            where = "end of import"
            if store.search_index_oversized():  # ids came out of order, and a shard took more than its share
                store.reshard_search()
    except (ValueError, KeyError, TypeError, sqlite3.Error) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise PublishError(f"{where}: {detail}; nothing was imported") from exc
    return counts
