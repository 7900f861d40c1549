"""The per-story summaries (migration 004) stay equal to a recount after ingest, corrections, re-ingest and import."""

from __future__ import annotations

import io
import shutil
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from storyline.corrections import Corrector
from storyline.ingest import Pipeline
from storyline.models import Document, IngestResult
from storyline.publish.load import ImportSource, import_jsonl
from storyline.publish.tables import write_jsonl
from storyline.settings import load
from storyline.store import Store
from storyline.web import WebOptions, create_app
from storyline.web.server import running

SETTINGS = load({"ner": "fast"}, env={})
FERRY = (
    "The island ferry resumed its winter timetable on Monday after storms kept the boats in harbour for a week. "
    "The operator said extra sailings would clear the backlog of freight lorries, and foot passengers could "
    "book again online from the morning, ending days of uncertainty for residents and hauliers alike."
)

# What the summaries hold, recounted from the events and articles themselves (the queries they replaced).
RECOUNT = {
    "story_summary": (
        "SELECT story_id, COUNT(*), SUM(n_articles), MIN(date), MAX(date), MAX(updated_at), "
        "(SELECT x.id FROM events x WHERE x.story_id = e.story_id AND x.merged_into IS NULL AND x.n_articles > 0 "
        " ORDER BY x.date IS NULL, x.date DESC, x.id DESC LIMIT 1) "
        "FROM events e WHERE merged_into IS NULL AND n_articles > 0 AND story_id IS NOT NULL GROUP BY story_id"
    ),
    "story_outlet_counts": (
        "SELECT e.story_id, a.outlet_id, COUNT(*) FROM events e JOIN articles a ON a.event_id = e.id "
        "WHERE e.story_id IS NOT NULL AND e.merged_into IS NULL AND a.merged_into IS NULL AND a.outlet_id IS NOT NULL "
        "GROUP BY 1, 2"
    ),
    "story_day_counts": (
        "SELECT e.story_id, COALESCE(substr(a.published, 1, 10), e.date) AS day, COUNT(*) FROM events e "
        "JOIN articles a ON a.event_id = e.id WHERE e.story_id IS NOT NULL AND e.merged_into IS NULL "
        "AND a.merged_into IS NULL GROUP BY 1, 2 HAVING day IS NOT NULL"
    ),
    "story_event_days": (
        "SELECT story_id, date, SUM(n_articles) FROM events WHERE story_id IS NOT NULL AND merged_into IS NULL "
        "AND n_articles > 0 AND date IS NOT NULL GROUP BY 1, 2"
    ),
}


def assert_fresh(store: Store) -> None:
    """Every summary row equals its recount, and no row is missing or left over."""
    for table, sql in RECOUNT.items():
        kept = sorted(tuple(r) for r in store.db.execute(f"SELECT * FROM {table}"))
        recount = sorted(tuple(r) for r in store.db.execute(sql))
        assert kept == recount, table


def doc(key: str, title: str, outlet: str, day: str, published: bool = True) -> Document:
    """A ferry report of our own."""
    when = datetime.fromisoformat(day).replace(tzinfo=timezone.utc) if published else None
    return Document(source=f"test:{key}", kind="text", key=key, title=title, text=FERRY, outlet=outlet, published=when)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, seeds) -> Path:
    """The seeds plus a ferry story of our own, closed so it can be copied."""
    path = tmp_path_factory.mktemp("summary") / "seeded.db"
    store = Store(path)
    pipeline = Pipeline(store, SETTINGS)
    assert pipeline.ingest_paths([seeds]).failed == 0
    result = IngestResult()
    pipeline.store_documents([doc("ferry-1", "Island ferry sails again after storms", "Harbour News", "2024-02-05")], result)
    pipeline.store_documents([doc("ferry-2", "Ferry back on winter timetable (wire)", "Wire Agency", "2024-02-05")], result)
    pipeline.refresh()
    store.close()
    return path


@pytest.fixture()
def store(seeded, tmp_path) -> Store:
    path = tmp_path / "s.db"
    shutil.copy(seeded, path)
    return Store(path)


def _story_with_events(store: Store, n: int) -> int:
    """A story with at least `n` live events."""
    rows, _ = store.active_stories(1000, 0)
    return next(r["id"] for r in rows if r["n_events"] >= n)


def test_ingest_keeps_the_summaries_fresh(store):
    assert store.db.execute("SELECT COUNT(*) FROM story_summary").fetchone()[0] > 0
    assert_fresh(store)
    pipeline = Pipeline(store, SETTINGS)
    result = IngestResult()
    pipeline.store_documents([doc("ferry-3", "Ferry sailings extended", "Island Radio", "2024-02-07")], result)
    pipeline.store_documents([doc("ferry-4", "Ferry report without a date", "Island Radio", "", published=False)], result)
    assert_fresh(store)  # before refresh: new events, new counts
    pipeline.refresh()
    assert_fresh(store)


def test_event_touches_adjust_the_summary_in_place_or_recount(store):
    # Counts and forward last changes adjust the story's row in place; anything else recounts.
    sid = _story_with_events(store, 2)
    latest, *_ = store.timeline(sid, 1, 0)[0]
    other = next(e for e in store.timeline(sid, 10, 0)[0] if e["id"] != latest["id"])
    changes = [
        ("n_articles = n_articles + 3, updated_at = '2999-01-01T00:00:00+00:00'", latest["id"]),
        ("n_articles = n_articles - 1", other["id"]),
        ("updated_at = '2000-01-01T00:00:00+00:00'", latest["id"]),  # backwards: the story's latest change moves
        ("updated_at = '2998-01-01T00:00:00+00:00'", other["id"]),
        ("n_articles = 0", other["id"]),  # no longer live: one event fewer
        ("n_articles = 2", other["id"]),
    ]
    for change, event_id in changes:
        store.db.execute(f"UPDATE events SET {change} WHERE id = ?", (event_id,))
        assert_fresh(store)
    for event_id in (latest["id"], other["id"]):
        store.touch_event(event_id)
        assert_fresh(store)


def test_corrections_keep_the_summaries_fresh(store):
    fix = Corrector(store, SETTINGS)
    sid = store.db.execute("SELECT story_id FROM events WHERE date = '2026-01-09'").fetchone()[0]
    first, second, third = (e["id"] for e in store.timeline(sid, 3, 0)[0])  # the last has several reports
    fix.merge_events(first, second)
    assert_fresh(store)
    members = [m["id"] for m in store.event_members(third) if m["kind"] != "linked" and m["duplicate_of"] is None]
    new_event = fix.split_event(third, members[-1:])["result"]["event"]
    assert_fresh(store)
    fix.move_article(members[-1], first)
    assert_fresh(store)
    other = next(r["id"] for r in store.active_stories(1000, 0)[0] if r["id"] != sid)
    split = fix.split_story(sid, [first], "Split off")["result"]["story"]
    assert_fresh(store)
    fix.merge_stories(other, split)
    assert_fresh(store)
    fix.rename_story(other, "Renamed")
    assert_fresh(store)
    assert store.event(new_event)["merged_into"] is not None or store.event(new_event)["n_articles"] == 0


def test_reingest_and_revision_keep_the_summaries_fresh(store, seeds):
    pipeline = Pipeline(store, SETTINGS)
    assert pipeline.ingest_paths([seeds]).new == 0
    revised = doc("ferry-1", "Island ferry sails again after storms", "Harbour News", "2024-02-06")
    pipeline.store_documents([revised], IngestResult())
    pipeline.refresh()
    assert_fresh(store)


def test_import_rebuilds_the_summaries(store, tmp_path):
    dump = io.StringIO()
    write_jsonl(store, dump, "all")
    assert '"story_summary"' not in dump.getvalue()  # derived: never dumped
    target = Store(tmp_path / "copy.db")
    import_jsonl(target, [ImportSource("dump", io.StringIO(dump.getvalue()))])
    assert_fresh(target)
    for table in RECOUNT:
        sql = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert [tuple(r) for r in target.db.execute(sql)] == [tuple(r) for r in store.db.execute(sql)]


def test_the_stories_page_follows_a_moved_event(seeded, tmp_path):
    path = tmp_path / "web.db"
    shutil.copy(seeded, path)
    store = Store(path)
    sid = _story_with_events(store, 3)
    other = next(r["id"] for r in store.active_stories(1000, 0)[0] if r["id"] != sid)
    moved = store.story_event_ids(sid)[0]
    store.close()
    with running(create_app(load({"db": str(path), "ner": "fast"}, env={}), WebOptions())) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            def card(story_id: int) -> dict:
                items = http.get("/api/v1/stories", params={"limit": 100}).json()["items"]
                return next(c for c in items if c["id"] == story_id)

            before, target = card(sid), card(other)
            r = http.post("/api/v1/corrections/merge-stories", json={"into": other, "story": sid})
            assert r.status_code == 201
            after = card(other)
            assert after["n_events"] == before["n_events"] + target["n_events"]
            assert after["n_articles"] == before["n_articles"] + target["n_articles"]
            assert sid not in [c["id"] for c in http.get("/api/v1/stories", params={"limit": 100}).json()["items"]]
            split = http.post("/api/v1/corrections/split-story", json={"story_id": other, "event_ids": [moved]})
            assert split.status_code == 201
            assert card(other)["n_events"] == after["n_events"] - 1
            new = card(split.json()["result"]["story"])
            assert new["n_events"] == 1 and new["latest_event"]["id"] == moved
            page = http.get("/").text
            assert f'id="story-{new["id"]}"' in page
            head = http.get(f"/api/v1/stories/{other}").json()
            assert head["n_events"] == after["n_events"] - 1
