"""Read-side views of the store as plain dicts: what the CLI, the API and exports show."""

from __future__ import annotations

from typing import Any

from .sqlite import sqlite3
from .store import Store


def article_dict(row: sqlite3.Row) -> dict[str, Any]:
    """The public fields of an article."""
    return {
        "id": row["id"],
        "title": row["title"],
        "outlet": row["outlet"],
        "url": row["url"],
        "source": row["source"],
        "published": row["published"],
        "duplicate_of": row["duplicate_of"],
        "kind": row["kind"],
        "listed_by": row["listed_by"],
        "updated": bool(row["revisions"]) if "revisions" in row.keys() else False,
        "updated_at": row["updated_at"] if "updated_at" in row.keys() else None,
    }


def key_quote(store: Store, article_ids: list[int]) -> dict[str, str] | None:
    """The event's most telling attributed quote: the longest with a known speaker."""
    return best_quote(store.quotes(article_ids))


def best_quote(quotes: list[sqlite3.Row]) -> dict[str, str] | None:
    """The most telling of some quotes: the longest with a known speaker, else the longest."""
    attributed = [q for q in quotes if q["speaker"]]
    pool = attributed or quotes
    if not pool:
        return None
    best = max(pool, key=lambda q: (len(q["text"]), -q["id"]))
    return {"text": best["text"], "speaker": best["speaker"]}


def event_dict(store: Store, event: sqlite3.Row, detail: bool = False) -> dict[str, Any]:
    """An event with its articles; with `detail`, also entities, key quote and date evidence."""
    members = store.event_members(event["id"])
    out: dict[str, Any] = {
        "id": event["id"],
        "story_id": event["story_id"],
        "date": event["date"],
        "title": event["title"],
        "summary": event["summary"],
        "outlets": sorted({m["outlet"] for m in members if m["outlet"]}, key=str.lower),
        "articles": [article_dict(m) for m in members],
    }
    if detail:
        ids = [m["id"] for m in members]
        out["date_method"] = event["date_method"]
        out["date_evidence"] = event["date_evidence"]
        out["quote"] = key_quote(store, ids)
        out["entities"] = [
            {"name": e["name"], "kind": e["kind"], "count": e["n"]} for e in store.article_entities(ids)[:15]
        ]
    return out


def story_dict(store: Store, story_id: int, detail: bool = False) -> dict[str, Any] | None:
    """A story and its timeline of events, ordered by event date."""
    story = store.story(story_id)
    if story is None:
        return None
    return {
        "id": story["id"],
        "title": story["title"],
        "events": [event_dict(store, e, detail) for e in store.story_events(story_id) if e["n_articles"]],
    }


def stories_list(store: Store, detail: bool = False, limit: int = -1) -> list[dict[str, Any]]:
    """Stories, newest development first (at most `limit`; -1: all)."""
    return [story_dict(store, row["id"], detail) for row in store.stories(limit)]  # type: ignore[misc]
