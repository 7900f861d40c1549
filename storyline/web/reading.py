"""What the pages and the API show, as plain dicts: story cards, timelines, coverage, articles."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import Any, Iterable, Sequence

from .. import views
from ..sqlite import sqlite3
from ..store import Store
from .charts import Chart, binned_chart, coverage_chart, day_number, frame

STORY_OUTLETS = 4  # outlets named on a story card
EVENT_ENTITIES = 8


def _group_by(rows: Iterable[Any], key: str | int) -> dict[Any, list[Any]]:
    """Rows (sqlite3.Row or tuples) grouped by one column, order kept."""
    out: dict[Any, list[Any]] = defaultdict(list)
    for r in rows:
        out[r[key]].append(r)
    return out


def _days(rows: Iterable[tuple[int, str, int]]) -> list[dict[str, Any]]:
    """Per-day counts, (id, day, count) tuples from the store, as dicts."""
    return [{"day": day, "n": n} for _, day, n in rows]


def event_ref(row: sqlite3.Row | None) -> dict[str, Any] | None:
    """The few fields that name an event."""
    if row is None:
        return None
    return {"id": row["id"], "title": row["title"], "date": row["date"], "story_id": row["story_id"]}


def story_cards(store: Store, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of active stories, newest development first, with latest event, outlets and coverage per day."""
    rows, total = store.active_stories(limit, offset)
    ids = [r["id"] for r in rows]
    latest = {e["id"]: e for e in store.event_rows([r["latest_event"] for r in rows if r["latest_event"]])}
    outlets = _group_by(store.story_outlets(ids), "story_id")
    days = _group_by(store.event_days(ids), 0)  # by event date: the index answers, however long the story
    cards = [
        {
            "id": r["id"],
            "title": r["title"],
            "n_events": r["n_events"],
            "n_articles": r["n_articles"],
            "n_outlets": len(outlets[r["id"]]),
            "outlets": [o["name"] for o in outlets[r["id"]][:STORY_OUTLETS]],
            "last_date": r["last_date"],
            "latest_event": event_ref(latest.get(r["latest_event"])),
            "coverage": _days(days[r["id"]]),
            "updated_at": r["updated_at"],
        }
        for r in rows
    ]
    return cards, total


def story_days(store: Store, story_id: int) -> list[dict[str, Any]]:
    """A story's reports per publication day."""
    return _days(store.coverage_days("story_id", [story_id]))


def story_summary(store: Store, story_id: int, days: bool = True) -> dict[str, Any] | None:
    """A story's header: title, counts, span and (unless `days` is false) coverage per day; None when there is no such story."""
    story = store.story(story_id)
    if story is None:
        return None
    stats = store.story_stats(story_id)
    return {
        "id": story["id"],
        "title": story["title"],
        "renamed": story["user_title"] is not None,
        "merged_into": story["merged_into"],
        "n_events": stats["n_events"],
        "n_articles": stats["n_articles"],
        "first_day": stats["first_day"],
        "last_day": stats["last_day"],
        "coverage": story_days(store, story_id) if days else [],
    }


def story_chart(store: Store, story_id: int, width: int, height: int, max_bars: int, min_days: int) -> Chart:
    """A story's reports per publication day as a chart, the days summed into bars by the store."""
    span = store.story_day_range(story_id)
    first, last = (day_number(span[0]), day_number(span[1])) if span else (None, None)
    if first is None or last is None:  # no dated report, or a day that is not a date: count day by day
        return coverage_chart(story_days(store, story_id), width=width, height=height, max_bars=max_bars, min_days=min_days)
    at = frame(first, last, max_bars=max_bars, min_days=min_days)
    edges = [date.fromordinal(at.first + i * at.step).isoformat() for i in range(at.n_bars + 1)]
    return binned_chart(at, store.story_day_sums(story_id, edges), width, height)


def _report(row: sqlite3.Row, seen: str | None) -> dict[str, Any]:
    """One report of an event."""
    return views.article_dict(row) | {
        "language": row["language"],
        "first": False,
        "new": bool(seen and row["created_at"] > seen),
        "copies": [],
    }


def group_reports(
    rows: Sequence[sqlite3.Row], seen: str | None, shown: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """An event's reports (the first `shown` of them) with duplicates folded under their original, the earliest
    marked first; and how many there are folded, shown or not."""
    by_id = {r["id"] for r in rows}
    originals = [r for r in rows if r["duplicate_of"] is None or r["duplicate_of"] not in by_id]
    index = {r["id"]: _report(r, seen) for r in (originals if shown is None else originals[:shown])}
    reports = list(index.values())
    for r in rows:
        if r["duplicate_of"] is not None and r["duplicate_of"] in index:
            index[r["duplicate_of"]]["copies"].append(views.article_dict(r))
    dated = [r for r in rows if r["published"]]
    if dated:
        first = min(dated, key=lambda r: (r["published"], r["id"]))
        root = index.get(first["id"]) or index.get(first["duplicate_of"])
        if root is not None:
            root["first"] = True
    return reports, len(originals)


QUOTE_REPORTS = 30000  # an event's key quote comes from at most this many of its reports (SQLite's variable limit)
# A story page lists a dozen reports of each event; an event's entities and key quote there come from its
# earliest reports only, so that an event of thousands of reports costs the page no more than a few hundred
# (an event of 2,177 reports: its story page took about 100 ms, 41 of them summing its entities).
PAGE_SAMPLE = 200


def _quotes(store: Store, reports: dict[Any, list[sqlite3.Row]], cap: int = QUOTE_REPORTS) -> dict[int, list[sqlite3.Row]]:
    """The quotes of some events' reports (the first `cap` of each), by event, fetched together (chosen from as the CLI does)."""
    event_of = {r["id"]: gid for gid, rows in reports.items() for r in rows[:cap]}
    ids = list(event_of)
    out: dict[int, list[sqlite3.Row]] = defaultdict(list)
    for start in range(0, len(ids), QUOTE_REPORTS):
        for q in store.quotes(ids[start:start + QUOTE_REPORTS]):
            out[event_of[q["article_id"]]].append(q)
    return out


def event_details(
    store: Store, events: Sequence[sqlite3.Row], seen: str | None = None, days: bool = True, shown: int | None = None
) -> list[dict[str, Any]]:
    """Events with their grouped reports, outlets, entities, key quote and (unless `days` is false) coverage per day.

    With `shown`, a page's view: only the first `shown` grouped reports of each event, and its entities
    and key quote from its first PAGE_SAMPLE reports; the counts and outlets are of all of them.
    """
    ids = [e["id"] for e in events]
    coverage = _group_by(store.coverage(ids), "event_id")
    if shown is None:
        entities = _group_by(store.event_entities(ids), "event_id")
        quotes = _quotes(store, coverage)
    else:
        sample = [r["id"] for rows in coverage.values() for r in rows[:PAGE_SAMPLE]]
        entities = _group_by(store.event_entities(ids, sample), "event_id")
        quotes = _quotes(store, coverage, PAGE_SAMPLE)
    per_day = _group_by(store.coverage_days("id", ids), 0) if days else {}
    out = []
    for e in events:
        rows = coverage[e["id"]]
        reports, n_grouped = group_reports(rows, seen, shown)
        out.append(
            {
                "id": e["id"],
                "story_id": e["story_id"],
                "date": e["date"],
                "date_method": e["date_method"],
                "date_evidence": e["date_evidence"],
                "title": e["title"],
                "summary": e["summary"],
                "quote": views.best_quote(quotes[e["id"]]),
                "entities": [
                    {"name": x["name"], "kind": x["kind"], "count": x["n"]} for x in entities[e["id"]][:EVENT_ENTITIES]
                ],
                "outlets": sorted({r["outlet"] for r in rows if r["outlet"]}, key=str.lower),
                "n_reports": len(rows),
                # as group_reports folds them: a copy whose original sits in another event is a report here
                "n_independent": n_grouped,  # as the list folds them: a copy of another event's report is one here
                "reports": reports,
                "n_grouped": n_grouped,
                "coverage": _days(per_day.get(e["id"], [])),
                "created_at": e["created_at"],
                "updated_at": e["updated_at"],
                "new": bool(seen and e["created_at"] > seen),
                "n_new": sum(1 for r in rows if seen and r["created_at"] > seen),
            }
        )
    return out


def timeline(
    store: Store, story_id: int, limit: int, offset: int, seen: str | None = None, days: bool = True,
    shown: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of a story's events in date order, in detail (coverage per day of each unless `days` is false; `shown`: see event_details)."""
    rows, total = store.timeline(story_id, limit, offset)
    return event_details(store, rows, seen, days, shown), total


def event_page(store: Store, story_id: int | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of events, newest first, in detail."""
    rows, total = store.event_page(story_id, limit, offset)
    return event_details(store, rows), total


def article_page(store: Store, event_id: int | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of articles (no texts), newest first."""
    rows, total = store.article_page(event_id, limit, offset)
    return [views.article_dict(r) for r in rows], total


def article_detail(store: Store, article_id: int) -> dict[str, Any] | None:
    """An article with text, metadata, entities, quotes, its event and its copies."""
    row = store.article(article_id)
    if row is None:
        return None
    event = store.event(row["event_id"]) if row["event_id"] is not None else None
    return views.article_dict(row) | {
        "text": row["text"],
        "description": row["description"],
        "byline": row["byline"],
        "language": row["language"],
        "tags": json.loads(row["tags"] or "[]"),
        "keywords": json.loads(row["keywords"] or "[]"),
        "event": event_ref(event),
        "duplicate_kind": row["duplicate_kind"],
        "merged_into": row["merged_into"],
        "event_day": row["event_day"],
        "event_day_evidence": row["event_day_evidence"],
        "entities": [{"name": e["name"], "kind": e["kind"], "count": e["n"]} for e in store.article_entities([article_id])],
        "quotes": [{"text": q["text"], "speaker": q["speaker"]} for q in store.quotes([article_id])],
        "copies": [views.article_dict(c) for c in store.copies(article_id)],
    }
