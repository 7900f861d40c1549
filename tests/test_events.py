"""Online event assignment: thresholds by kind of report, the in-memory mirror, and bridging."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from storyline import events
from storyline.events import GroupAssigner, Matches, bridge
from storyline.settings import load
from storyline.store import Store
from storyline.vectors import DocVector, document_vector, unit

DAY = date(2024, 3, 4)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "events.db")


def assigner(store: Store, threshold: float = 0.3) -> GroupAssigner:
    return GroupAssigner(store, "events", window_days=3, threshold=threshold)


def group(a: GroupAssigner, terms: dict[str, float], day: date | None) -> int:
    gid = a.open(day)
    a.add(gid, unit(terms), day)
    return gid


def test_a_headline_alone_needs_less_similarity_than_a_full_text(store):
    a = assigner(store, threshold=0.3)
    gid = group(a, {"quake": 1.0, "island": 1.0, "ferry": 1.0, "port": 1.0}, DAY)
    terms = unit({"quake": 1.0, "storm": 1.0, "rail": 1.0, "grid": 1.0})  # similarity 0.25 to the group
    assert a.candidates(DocVector(terms, brief=False), DAY) == []
    found = a.candidates(DocVector(terms, brief=True), DAY)
    assert found.brief and [g for _, g in found] == [gid]
    assert 0.3 * events.BRIEF_RATIO <= found[0][0] < 0.3


def test_the_headline_threshold_can_be_set_apart(store):
    a = GroupAssigner(store, "events", window_days=3, threshold=0.3, brief_threshold=0.26)
    group(a, {"quake": 1.0, "island": 1.0, "ferry": 1.0, "port": 1.0}, DAY)
    terms = unit({"quake": 1.0, "storm": 1.0, "rail": 1.0, "grid": 1.0})
    assert a.candidates(DocVector(terms, brief=True), DAY) == []


def test_matches_are_a_plain_best_first_list(store):
    a = assigner(store, threshold=0.1)
    weak = group(a, {"quake": 1.0, "island": 3.0}, DAY)
    strong = group(a, {"quake": 3.0, "island": 1.0}, DAY)
    found = a.candidates(unit({"quake": 1.0}), DAY)
    assert isinstance(found, list) and not found.brief
    assert [g for _, g in found] == [strong, weak] and found[0][0] > found[1][0]


def test_a_fresh_assigner_on_the_same_database_chooses_the_same(store):
    a = assigner(store)
    made = [group(a, {f"topic{i % 5}": 1.0, f"detail{i}": 1.0}, DAY + timedelta(days=i)) for i in range(20)]
    queries = [(unit({f"topic{i % 5}": 1.0, f"detail{i}": 0.5}), DAY + timedelta(days=i)) for i in range(-3, 24)]
    before = [a.candidates(v, d) for v, d in queries]
    resumed = assigner(store)
    assert [resumed.candidates(v, d) for v, d in reversed(queries)] == list(reversed(before))
    assert {g for found in before for _, g in found} <= set(made)


def test_the_mirror_is_trimmed_yet_still_finds_old_groups(store, monkeypatch):
    monkeypatch.setattr(events, "MIRROR_CAP", 12)
    a = assigner(store)
    days = [DAY + timedelta(days=2 * i) for i in range(60)]
    made = [group(a, {"council": 1.0, f"vote{i}": 1.0}, d) for i, d in enumerate(days)]
    assert len(a.index) <= 2 * 12
    # Going back in time reads the old groups from the database again.
    for gid, d in zip(made, days):
        found = a.candidates(unit({"council": 1.0, f"vote{made.index(gid)}": 1.0}), d)
        assert found[0][1] == gid
        assert found == assigner(store).candidates(unit({"council": 1.0, f"vote{made.index(gid)}": 1.0}), d)


def test_a_jump_in_time_reads_no_groups_of_the_days_between(store):
    a = assigner(store)
    v = unit({"strike": 1.0, "port": 1.0})
    early, middle, late = (group(a, {"strike": 1.0, "port": 1.0}, DAY + timedelta(days=d)) for d in (0, 100, 200))
    fresh = assigner(store)
    fresh.candidates(v, DAY)
    found = fresh.candidates(v, DAY + timedelta(days=200))
    assert [g for _, g in found] == [late]
    assert early in fresh.index.items and middle not in fresh.index.items
    # Coming back to the middle days reads them then, and chooses as a fresh mirror would.
    assert fresh.candidates(v, DAY + timedelta(days=99)) == assigner(store).candidates(v, DAY + timedelta(days=99))
    assert middle in fresh.index.items


def test_undated_reports_meet_only_undated_groups(store):
    a = assigner(store)
    dated = group(a, {"strike": 1.0, "port": 1.0}, DAY)
    undated = group(a, {"strike": 1.0, "port": 1.0}, None)
    fresh = assigner(store)
    v = unit({"strike": 1.0, "port": 1.0})
    assert [g for _, g in fresh.candidates(v, None)] == [undated]
    assert dated not in fresh.index.items  # asking about undated reports reads no dated groups
    assert [g for _, g in fresh.candidates(v, DAY)] == [dated]


def two_events(store: Store) -> tuple[GroupAssigner, int, int]:
    a = assigner(store, threshold=0.2)
    first = group(a, {"bridge": 1.0, "collapse": 1.0, "river": 1.0, "crane": 0.4}, DAY)
    second = group(a, {"bridge": 1.0, "collapse": 1.0, "river": 1.0, "barge": 0.4}, DAY)
    return a, first, second


def test_an_article_matching_two_events_equally_merges_them(store):
    a, first, second = two_events(store)
    report = document_vector("Bridge collapse: river barge and crane", "")
    near = a.candidates(report, DAY)
    assert {g for _, g in near} == {first, second}
    a.add(near[0][1], report, DAY)
    kept, retired = bridge(a, store, near[0][1], near, load({}, env={}))
    assert (kept, retired) == (first, {second})
    assert store.event(second)["merged_into"] == first
    assert second not in a.index.items and a.centroid(first).n == 3


def test_events_a_user_separated_stay_apart(store):
    a, first, second = two_events(store)
    store.forbid_merge("events", first, second, None)
    near = Matches([(0.6, first), (0.59, second)], brief=False)
    assert bridge(a, store, first, near, load({}, env={})) == (first, set())
    assert store.event(second)["merged_into"] is None


def test_a_full_text_must_match_both_events_more_nearly_than_a_headline(store):
    a, first, second = two_events(store)
    settings = load({}, env={})
    assert bridge(a, store, first, Matches([(0.5, first), (0.4, second)], brief=False), settings) == (first, set())
    assert bridge(a, store, first, Matches([(0.5, first), (0.4, second)], brief=True), settings) == (first, {second})


def test_choose_title_reads_the_centroid_only_when_headlines_must_be_weighed():
    from storyline.events import choose_title
    from storyline.vectors import Centroid, headline_vector

    def no_centroid() -> Centroid:
        raise AssertionError("one report has nothing to weigh")

    quake = {"id": 1, "title": "Quake shakes coastal town", "kind": "text", "title_inferred": 0}
    rally = {"id": 2, "title": "Markets rally on rate hopes", "kind": "text", "title_inferred": 0}
    listed = {"id": 3, "title": "Rescuers search rubble after coastal quake", "kind": "linked", "title_inferred": 0}
    assert choose_title([quake], no_centroid) == "Quake shakes coastal town"
    assert choose_title([quake, listed], no_centroid) == "Quake shakes coastal town"  # stored text beats a listing
    asked: list[int] = []
    typical = Centroid(7, dict(headline_vector("Markets rally as rate hopes grow")), 1)
    assert choose_title([quake, rally], lambda: asked.append(7) or typical) == "Markets rally on rate hopes"
    assert asked == [7]


def test_coverage_day_after_day_becomes_several_events_of_one_story(tmp_path):
    from datetime import datetime, timezone

    from storyline.ingest import Pipeline
    from storyline.models import Document, IngestResult

    pipeline = Pipeline(Store(tmp_path / "daily.db"), load({"ner": "fast"}, env={}))
    start = datetime(2024, 5, 1, 9, tzinfo=timezone.utc)
    for i in range(21):  # three weeks of daily reports on one siege, each much like the day before
        text = (f"Day {i + 1} of the siege of Varnholt: rebel fighters shelled the old town again, the army said, "
                "and aid convoys waited at the river crossing while residents sheltered in cellars of Varnholt.")
        doc = Document(source=f"d{i}", kind="text", key=f"d{i}", title=f"Varnholt siege enters day {i + 1}", text=text,
                       published=start + timedelta(days=i))
        pipeline.store_documents([doc], IngestResult())
    pipeline.refresh()
    rows = pipeline.store.db.execute(
        "SELECT first_day, last_day, story_id FROM events WHERE merged_into IS NULL AND n_articles > 0").fetchall()
    spans = [(date.fromisoformat(r["last_day"]) - date.fromisoformat(r["first_day"])).days for r in rows]
    assert len(rows) >= 3 and max(spans) <= pipeline.settings.event_max_days
    assert len({r["story_id"] for r in rows}) == 1  # one story holds the run of events
    wide = Pipeline(Store(tmp_path / "wide.db"), load({"ner": "fast", "event_max_days": 1000}, env={}))
    for i in range(21):
        wide.store_documents([Document(source=f"d{i}", kind="text", key=f"d{i}", title=f"Varnholt siege enters day {i + 1}",
                                       text=pipeline.store.article(i + 1)["text"], published=start + timedelta(days=i))], IngestResult())
    # Unbounded, the window moves with each new report and the three weeks are one event.
    assert wide.store.db.execute("SELECT COUNT(*) FROM events WHERE merged_into IS NULL AND n_articles > 0").fetchone()[0] == 1
