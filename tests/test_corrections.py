"""Corrections: merge, split and move events and stories, rename; logged, and they survive ingestion."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storyline import views
from storyline.corrections import Conflict, CorrectionError, Corrector, NotFound
from storyline.ingest import Pipeline
from storyline.models import Document, IngestResult
from storyline.settings import load
from storyline.stories import retitle
from storyline.store import Store
from storyline.vectors import Centroid

SETTINGS = load({"ner": "fast"}, env={})
TRAIN = (
    "The overnight sleeper train between the two capitals was cancelled after a landslide covered the line "
    "near the border tunnel. Railway engineers said clearing the rocks would take at least four days, and "
    "passengers were offered seats on replacement coaches leaving from the central station each evening."
)


def doc(key: str, title: str, text: str, outlet: str, day: str) -> Document:
    """A document of our own."""
    when = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    return Document(source=f"test:{key}", kind="text", key=key, title=title, text=text, outlet=outlet, published=when)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, seeds) -> Path:
    """A database with the seeds and a story of our own with a wire copy, closed so it can be copied."""
    path = tmp_path_factory.mktemp("corr") / "seeded.db"
    store = Store(path)
    pipeline = Pipeline(store, SETTINGS)
    assert pipeline.ingest_paths([seeds]).failed == 0
    result = IngestResult()
    pipeline.store_documents([doc("train-1", "Sleeper train cancelled after landslide", TRAIN, "Rail Daily", "2024-05-02")], result)
    pipeline.store_documents([doc("train-2", "Landslide stops sleeper train (wire)", TRAIN, "Wire Agency", "2024-05-02")], result)
    pipeline.refresh()
    assert result.duplicates == 1
    store.close()
    return path


@pytest.fixture()
def store(seeded, tmp_path) -> Store:
    path = tmp_path / "c.db"
    shutil.copy(seeded, path)
    return Store(path)


@pytest.fixture()
def fix(store) -> Corrector:
    return Corrector(store, SETTINGS)


def seed_story(store: Store) -> dict:
    """The founding story's timeline."""
    sid = store.db.execute("SELECT story_id FROM events WHERE date = '2026-01-09'").fetchone()[0]
    return views.story_dict(store, sid)


def test_merge_events_retires_one_and_logs_it(store, fix):
    story = seed_story(store)
    first, second, third = story["events"]
    entry = fix.merge_events(first["id"], second["id"])
    assert entry["action"] == "merge_events" and entry["params"] == {"into": first["id"], "event": second["id"]}
    assert entry["result"]["retired_events"] == [second["id"]]
    assert store.event(second["id"])["merged_into"] == first["id"]
    after = seed_story(store)
    assert [e["id"] for e in after["events"]] == [first["id"], third["id"]]
    ids = {a["id"] for a in after["events"][0]["articles"]}
    assert {a["id"] for a in first["articles"] + second["articles"]} <= ids
    # The survivor's signature was rebuilt from all its members, its title and date recomputed.
    sig = Centroid.loads(first["id"], store.event(first["id"])["signature"], None, None)
    assert sig.n == len([a for a in after["events"][0]["articles"] if a["kind"] != "linked"])
    assert store.event(first["id"])["dirty"] == 0
    assert store.corrections_version() == entry["id"]


def test_merge_persists_through_reingest_and_new_coverage(store, fix, seeds, tmp_path):
    first, second, _ = seed_story(store)["events"]
    fix.merge_events(first["id"], second["id"])
    pipeline = Pipeline(store, SETTINGS)  # a pipeline started after the correction
    again = pipeline.ingest_paths([seeds])
    assert again.new == 0 and again.failed == 0
    more = IngestResult()
    text = (
        "Kim Jong Un sent New Year greetings to Vladimir Putin, state media KCNA said, praising the alliance "
        "between the DPRK and Russia as an invaluable asset and thanking Putin for his own New Year message. "
        "The message followed a year of deepening military cooperation between Pyongyang and Moscow."
    )
    pipeline.store_documents([doc("ny-more", "Kim sends New Year message to Putin", text, "Test Wire", "2025-12-28")], more)
    pipeline.refresh()
    aid = store.article_id_by_key("ny-more")
    assert store.article(aid)["event_id"] != second["id"]
    assert store.event(second["id"])["merged_into"] == first["id"]
    assert store.event(second["id"])["n_articles"] == 0
    story = seed_story(store)
    assert second["id"] not in [e["id"] for e in story["events"]]


def test_a_running_pipeline_sees_corrections(store):
    pipeline = Pipeline(store, SETTINGS)  # like `watch`: running before and after the correction
    warmup = doc("warmup", "Sleeper trains run again", TRAIN.replace("cancelled", "restored"), "Rail Daily", "2025-12-27")
    pipeline.store_documents([warmup], IngestResult())  # its mirror now holds the events around that day
    first, second, _ = seed_story(store)["events"]
    Corrector(store, SETTINGS).merge_events(first["id"], second["id"])
    result = IngestResult()
    text = (
        "Kim Jong Un sent a New Year message to Vladimir Putin, KCNA reported, calling the DPRK-Russia alliance "
        "a valuable asset and answering the greetings Putin sent to Pyongyang for the coming year ahead."
    )
    title = "Kim Jong Un Extends New Year's Message to Putin"  # so the stale mirror's retired event matches best
    pipeline.store_documents([doc("ny-stale", title, text, "Test Wire", "2025-12-27")], result)
    assert store.article(store.article_id_by_key("ny-stale"))["event_id"] != second["id"]


def test_split_event_keeps_the_parts_apart(store, fix):
    event = seed_story(store)["events"][-1]
    independent = [a["id"] for a in event["articles"] if a["kind"] != "linked" and a["duplicate_of"] is None]
    moved = independent[-1]
    entry = fix.split_event(event["id"], [moved])
    new = entry["result"]["event"]
    assert store.article(moved)["event_id"] == new
    assert store.do_not_merge("events", event["id"], new) and store.do_not_merge("events", new, event["id"])
    assert store.event(new)["story_id"] == event["story_id"]
    assert store.event(new)["title"] and store.event(event["id"])["title"]
    assert store.event(new)["n_articles"] >= 1
    assert len(seed_story(store)["events"]) == 4
    with pytest.raises(CorrectionError) as err:
        fix.split_event(new, [m["id"] for m in store.event_members(new)])
    assert err.value.status == 409


def test_move_article_takes_its_copies_along(store, fix):
    original = store.article_id_by_key("train-1")
    copy = store.article_id_by_key("train-2")
    assert store.article(copy)["duplicate_of"] == original
    source = store.article(original)["event_id"]
    train_story = store.event(source)["story_id"]
    target = seed_story(store)["events"][0]["id"]
    entry = fix.move_article(original, target)
    assert set(entry["result"]["articles"]) == {original, copy}
    assert store.article(copy)["event_id"] == target
    # The emptied event lives on as the target, and so does its emptied story (as merges retire them).
    assert store.event(source)["merged_into"] == target
    assert entry["result"]["retired_events"] == [source]
    assert entry["result"]["retired_stories"] == [train_story]
    assert store.group("stories", train_story)["merged_into"] == store.event(target)["story_id"]
    assert train_story not in [s["id"] for s in views.stories_list(store)]
    # ... and back out into an event of its own.
    back = fix.move_article(original, None)
    assert back["result"]["new_event"] is True
    assert store.do_not_merge("events", target, back["result"]["event"])
    with pytest.raises(CorrectionError):
        fix.move_article(original, back["result"]["event"])


def test_moved_articles_stay_put_when_reingested(store, fix, seeds):
    event = seed_story(store)["events"][-1]
    aid = next(a["id"] for a in event["articles"] if a["kind"] != "linked")
    entry = fix.move_article(aid, None)
    Pipeline(store, SETTINGS).ingest_paths([seeds])
    assert store.article(aid)["event_id"] == entry["result"]["event"]


def test_rename_story_survives_retitling_and_ingest(store, fix, seeds):
    sid = seed_story(store)["id"]
    fix.rename_story(sid, "  Kim and   Putin  ")
    assert store.story(sid)["title"] == "Kim and Putin"
    retitle(store, sid)
    store.update_story(sid, "machine title")
    assert store.story(sid)["title"] == "Kim and Putin"
    Pipeline(store, SETTINGS).ingest_paths([seeds])
    assert store.story(sid)["title"] == "Kim and Putin"
    with pytest.raises(CorrectionError):
        fix.rename_story(sid, "   ")


def test_split_and_merge_stories(store, fix):
    story = seed_story(store)
    sid = story["id"]
    first = story["events"][0]["id"]
    entry = fix.split_story(sid, [first], title="The phone call")
    new = entry["result"]["story"]
    assert store.event(first)["story_id"] == new and store.story(new)["title"] == "The phone call"
    assert store.do_not_merge("stories", sid, new)
    assert len(views.story_dict(store, sid)["events"]) == 2
    with pytest.raises(CorrectionError):
        fix.split_story(new, [first])  # would leave the new story empty
    merged = fix.merge_stories(sid, new)
    assert merged["result"]["retired_stories"] == [new]
    assert store.story(new)["merged_into"] == sid and store.event(first)["story_id"] == sid
    assert not store.do_not_merge("stories", sid, new)
    assert new not in [s["id"] for s in views.stories_list(store)]
    assert json.loads(store.story(sid)["signature"])["n"] == 3


def test_errors_say_what_is_wrong(store, fix):
    first, second, _ = seed_story(store)["events"]
    with pytest.raises(NotFound):
        fix.merge_events(first["id"], 999_999)
    with pytest.raises(CorrectionError):
        fix.merge_events(first["id"], first["id"])
    fix.merge_events(first["id"], second["id"])
    with pytest.raises(Conflict) as err:
        fix.merge_events(second["id"], first["id"])
    assert err.value.status == 409 and f"merged into {first['id']}" in str(err.value)
    with pytest.raises(NotFound) as missing:
        fix.move_article(999_999, None)
    assert missing.value.status == 404
    assert store.corrections_version() == 1  # failed corrections leave no trace


def test_a_copy_split_off_from_its_original_counts_as_an_independent_report(store, fix):
    from storyline.web.reading import event_details

    original, copy = store.article_id_by_key("train-1"), store.article_id_by_key("train-2")
    new = fix.split_event(store.article(original)["event_id"], [copy])["result"]["event"]
    [shown] = event_details(store, [store.event(new)], None)
    assert (shown["n_reports"], shown["n_independent"], [r["id"] for r in shown["reports"]]) == (1, 1, [copy])


def test_titles_of_invisible_characters_only_are_refused(store, fix):
    story = store.event(store.article(store.article_id_by_key("train-1"))["event_id"])["story_id"]
    for title in ("\u200b", "\u200b\u2060 \ufeff", "\u202e"):
        with pytest.raises(CorrectionError, match="title must not be empty"):
            fix.rename_story(story, title)
    assert fix.rename_story(story, "Night train \u200bline")["result"]


def test_a_listing_matched_to_another_article_is_that_article_in_listings_and_moves(store, fix):
    listing = store.db.execute(
        "SELECT id, merged_into, listed_by, event_id FROM articles WHERE merged_into IS NOT NULL AND listed_by IS NOT NULL"
    ).fetchone()
    assert listing is not None and listing["merged_into"] != listing["listed_by"]  # the seeds' Google News item has one
    rows, total = store.article_page(listing["event_id"], 100, 0)
    assert listing["id"] not in [r["id"] for r in rows] and total == len(rows)
    assert total == len(store.coverage([listing["event_id"]]))  # as the event's reports are counted
    # Moving the page that listed it leaves it with the article it was found to be.
    assert listing["id"] not in store.article_family(listing["listed_by"])
    moved = fix.move_article(listing["listed_by"], None)["result"]
    assert store.article(listing["id"])["event_id"] == store.article(listing["merged_into"])["event_id"] != moved["event"]
