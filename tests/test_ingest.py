"""The ingest pipeline end to end on real inputs: seeds, Google News, bad files, kill and resume."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import kill_when, wait_for_count
from lxml import etree

from storyline import views
from storyline.ingest import Pipeline
from storyline.settings import load
from storyline.store import Store

GN_US = "data/feeds/google_news/us_top_stories_2019-11-14.xml"


def ingest(store: Store, *paths: Path, **flags):
    return Pipeline(store, load(flags, env={})).ingest_paths(list(paths))


def prefix(source: str) -> str:
    return Path(source).name[:3]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, seeds):
    store = Store(tmp_path_factory.mktemp("seeds") / "s.db")
    result = ingest(store, seeds)
    assert result.failed == 0, result.errors
    return store


def snapshot(store: Store) -> dict[str, list[tuple]]:
    """Every row that matters, without wall-clock timestamps."""
    tables = {
        "articles": "SELECT id, key, kind, title, url, outlet_id, event_id, duplicate_of, merged_into, listed_by, event_day FROM articles ORDER BY id",
        "events": "SELECT id, story_id, title, date, summary, signature, first_day, last_day, n_articles FROM events ORDER BY id",
        "stories": "SELECT id, title, signature, first_day, last_day FROM stories ORDER BY id",
        "outlets": "SELECT id, name FROM outlets ORDER BY id",
        "quotes": "SELECT id, article_id, text, speaker FROM quotes ORDER BY id",
        "entities": "SELECT article_id, entity_id, count FROM article_entities ORDER BY 1, 2",
    }
    return {name: [tuple(r) for r in store.db.execute(sql)] for name, sql in tables.items()}


def test_seeds_make_one_story_with_three_dated_events(seeded):
    stories = views.stories_list(seeded)
    assert len(stories) == 1
    events = stories[0]["events"]
    assert len(events) == 3
    by_files = [sorted({prefix(a["source"]) for a in e["articles"] if a["kind"] != "linked"}) for e in events]
    assert by_files == [["002", "004"], ["003"], ["000", "001"]]
    assert events[0]["date"] == "2025-08-12"
    assert events[1]["date"] in {"2025-12-26", "2025-12-27"}
    assert events[2]["date"] == "2026-01-09"
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)


def test_every_storys_signature_is_stored_as_ingest_holds_it(tmp_path, seeds):
    # Threading defers writing a story's signature to the end of each input: it must not be left out.
    store = Store(tmp_path / "s.db")
    pipeline = Pipeline(store, load({}, env={}))
    assert pipeline.ingest_paths([seeds]).failed == 0
    held = pipeline.stories.groups.index.items
    stored = {r["id"]: r["signature"] for r in store.db.execute("SELECT id, signature FROM stories")}
    assert held and {sid: c.dumps() for sid, c in held.items()} == {sid: stored[sid] for sid in held}
    assert sum(c.n for c in held.values()) == store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def test_google_news_post_lists_its_outlets_and_wion_is_the_full_text(seeded):
    january = views.stories_list(seeded)[0]["events"][2]
    assert {"Vanguard News", "Reuters", "RealClearDefense", "NK News", "WION"} <= set(january["outlets"])
    wion = [a for a in january["articles"] if a["outlet"] == "WION"]
    assert len(wion) == 1 and prefix(wion[0]["source"]) == "001" and wion[0]["kind"] == "text"
    merged = seeded.db.execute(
        "SELECT l.title, a.source FROM articles l JOIN articles a ON a.id = l.merged_into WHERE l.kind = 'linked'"
    ).fetchall()
    assert [(t, prefix(s)) for t, s in merged] == [
        ("Kim Jong Un pledges 'unconditional support' to Vladimir Putin as Ukraine war drags on", "001")
    ]


def test_event_dates_keep_their_evidence(seeded):
    events = views.story_dict(seeded, views.stories_list(seeded)[0]["id"], detail=True)["events"]
    assert events[0]["date_method"] == "text" and "previous day" in events[0]["date_evidence"]
    assert events[2]["date_method"] == "text" and "Jan 9" in events[2]["date_evidence"]


def test_a_feed_items_relative_days_count_from_the_newsrooms_day(tmp_path):
    # 08:00 on Wednesday 13 August in Seoul is still the 12th in UTC; "the previous day" is the 12th.
    lead = ("North Korean leader Kim Jong Un and Russian President Vladimir Putin held phone talks the previous day, "
            "state media reported Wednesday, as the two leaders discussed the summit in Alaska and their ties.")
    rss = (f"<rss version='2.0'><channel><title>Seoul Desk</title><item><title>Kim and Putin hold phone talks</title>"
           f"<link>https://seoul.example/kim-putin</link><pubDate>{{date}}</pubDate><description>{lead}</description>"
           f"</item></channel></rss>")
    (tmp_path / "seoul.xml").write_text(rss.format(date="Wed, 13 Aug 2025 08:00:00 +0900"), encoding="utf-8")
    (tmp_path / "seoul.json").write_text(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Seoul Desk", "items": [{
            "id": "kim-putin-json", "title": "Kim and Putin hold phone talks", "content_text": lead,
            "date_published": "2025-08-13T08:00:00+09:00"}]}), encoding="utf-8")
    store = Store(tmp_path / "tz.db")
    assert ingest(store, tmp_path / "seoul.xml", tmp_path / "seoul.json").failed == 0
    rows = store.db.execute("SELECT published, event_day FROM articles ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("2025-08-12T23:00:00+00:00", "2025-08-12")] * 2  # stored in UTC all the same
    store.close()


def test_the_storing_process_keeps_a_larger_page_cache_than_sqlites_default(tmp_path):
    store = Store(tmp_path / "cache.db")
    assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -2000  # SQLite's 2 MB
    Pipeline(store, load({"ingest_cache_mb": 48}))
    assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -48 * 1024
    store.close()


def test_the_storing_process_checkpoints_in_a_thread_unless_told_not_to(tmp_path, seeds):
    store = Store(tmp_path / "bg.db")
    Pipeline(store, load({"ingest_checkpoint_s": 0.5}))
    assert store._checkpointer is not None and store._checkpointer.every_s == 0.5
    assert ingest(store, seeds).failed == 0  # the seeds go in through the store the thread checkpoints
    store.close()
    inline = Store(tmp_path / "inline.db")
    Pipeline(inline, load({"ingest_checkpoint_s": 0}))
    assert inline._checkpointer is None and inline.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    inline.close()


def test_a_bulk_ingest_spaces_the_collectors_runs_and_puts_them_back(tmp_path, seeds):
    import gc

    before = gc.get_threshold()
    during: list[tuple[int, int, int]] = []

    def progress(source: str, _done: int, _total: int) -> None:
        if source:  # an input being stored (the last call, "", comes after the run)
            during.append(gc.get_threshold())

    store = Store(tmp_path / "gc.db")
    result = Pipeline(store, load()).ingest_paths([seeds], progress)
    assert result.failed == 0 and len(during) == 5
    assert all(t[0] >= 10 * before[0] for t in during)  # young collections at least ten times rarer
    assert gc.get_threshold() == before
    store.close()


def test_reingesting_adds_nothing_and_changes_no_ids(seeded, seeds):
    before = snapshot(seeded)
    result = ingest(seeded, seeds)
    assert (result.new, result.duplicates, result.failed) == (0, 0, 0)
    assert snapshot(seeded) == before


def test_full_text_first_then_listing_still_merges(tmp_path, seeds):
    store = Store(tmp_path / "r.db")
    for name in ("001", "004", "002", "003", "000"):
        (path,) = seeds.glob(f"{name}_*")
        assert ingest(store, path).failed == 0
    stories = views.stories_list(store)
    assert len(stories) == 1
    january = [e for e in stories[0]["events"] if e["date"] == "2026-01-09"]
    assert len(january) == 1
    wion = [a for a in january[0]["articles"] if a["outlet"] == "WION"]
    assert [prefix(a["source"]) for a in wion] == ["001"]


def _items_with_lists(path: Path) -> list[tuple[str, set[str]]]:
    """(title, outlets listed in its <ol>) for each item, read independently of Storyline."""
    root = etree.parse(str(path))
    out = []
    for item in root.iter("item"):
        desc = item.findtext("description") or ""
        outlets = set(re.findall(r"<font color=\"#6f6f6f\">(.*?)</font>", desc)) if "<ol>" in desc else set()
        out.append((item.findtext("title"), {o.replace("&amp;", "&").strip() for o in outlets}))
    return out


def test_google_news_capture_gives_an_event_per_item_with_all_outlets(tmp_path, shared):
    path = shared / GN_US
    store = Store(tmp_path / "g.db")
    result = ingest(store, path)
    assert result.failed == 0
    items = store.db.execute(
        "SELECT a.id, a.event_id FROM articles a WHERE a.kind = 'feed-item' ORDER BY a.id"
    ).fetchall()
    assert len(items) == 38
    expected = _items_with_lists(path)
    with_lists = [(row, outlets) for row, (_, outlets) in zip(items, expected) if outlets]
    assert len(with_lists) == 34
    for row, outlets in with_lists:
        event = views.event_dict(store, store.event(row["event_id"]))
        assert outlets <= set(event["outlets"]), (row["id"], outlets - set(event["outlets"]))


def test_bad_inputs_fail_alone_with_one_clear_line(tmp_path, seeds):
    db = tmp_path / "bad.db"
    store = Store(db)
    (good,) = seeds.glob("003_*")
    assert ingest(store, good).failed == 0
    before = snapshot(store)
    store.close()

    bad = tmp_path / "inbox"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "blob.txt").write_bytes(bytes(range(256)) * 8)
    (bad / "broken.xml").write_text("<rss><channel><item><title>half</item></channel>")
    (bad / "latin.txt").write_bytes("date 2024-01-02\nCaf\xe9 owners protest the new parking rules in the old town.".encode("latin-1"))
    (bad / "huge.txt").write_bytes(b"date 2024-01-02\n" + b"word " * 10_000_000)
    (bad / "report.pdf").write_bytes(b"%PDF-1.4 not really")
    (bad / "ok.txt").write_text(
        "date 2024-02-01 Volunteers restore the old lighthouse\n\n"
        "Volunteers finished restoring the old lighthouse on the northern cape on Wednesday, "
        "repainting the tower and replacing the lamp that had been dark since the storm last winter.\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "storyline", "ingest", "--db", str(db), str(bad)],
        capture_output=True, text=True, env={**os.environ, "STORYLINE_NER": "fast", "COLUMNS": "400"}, timeout=300,
    )
    assert proc.returncode != 0
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    reasons = {Path(l.split(": ")[1]).name: l for l in lines}
    assert set(reasons) == {"empty.txt", "blob.txt", "broken.xml", "latin.txt", "huge.txt", "report.pdf"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["blob.txt"]
    assert "XML" in reasons["broken.xml"] or "feed" in reasons["broken.xml"]
    assert "UTF-8" in reasons["latin.txt"]
    assert "too large" in reasons["huge.txt"]
    assert "unknown format" in reasons["report.pdf"]
    assert "1 new" in proc.stdout and "6 failed" in proc.stdout
    store = Store(db)
    after = snapshot(store)
    for table, rows in before.items():
        assert after[table][: len(rows)] == rows
    titles = [r[0] for r in store.db.execute("SELECT title FROM articles")]
    assert "Volunteers restore the old lighthouse" in titles


def _write_corpus(shared: Path, folder: Path, n: int) -> None:
    """Text files in Storyline's dated-text format, made at test time from real T17 articles."""
    folder.mkdir()
    written = 0
    for topic in sorted((shared / "data/timelines/t17").iterdir()):
        with gzip.open(topic / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i >= n // 4:
                    break
                rec = json.loads(line)
                sentences = [s for s in rec["text"].split("\n") if s.strip()]
                if len(sentences) < 3:
                    continue
                body = "\n\n".join(sentences[1:])
                (folder / f"{topic.name}_{i:04d}.txt").write_text(f"date {rec['time'][:10]} {sentences[0][:150]}\n\n{body}\n")
                written += 1
        if written >= n:
            break


def test_kill_and_resume_ends_like_an_uninterrupted_run(tmp_path, shared):
    corpus = tmp_path / "corpus"
    _write_corpus(shared, corpus, 240)
    env = {k: v for k, v in os.environ.items() if k != "STORYLINE_NER"}  # the default recogniser, which learns as it goes
    cmd = [sys.executable, "-m", "storyline", "ingest", str(corpus)]
    whole, killed = tmp_path / "whole.db", tmp_path / "killed.db"
    subprocess.run(cmd + ["--db", str(whole)], env=env, capture_output=True, timeout=600, check=True)

    proc = subprocess.Popen(cmd + ["--db", str(killed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored = kill_when(proc, killed, "SELECT COUNT(*) FROM raw_inputs", 40, poll_s=0.2)
    assert stored != -1, "ingest finished before it could be killed"
    assert 0 < stored
    subprocess.run(cmd + ["--db", str(killed)], env=env, capture_output=True, timeout=600, check=True)
    assert snapshot(Store(killed)) == snapshot(Store(whole))


PAGE = """<!doctype html><html lang="en"><head><title>Tram line reopens | Northbank Post</title>
<meta property="og:site_name" content="Northbank Post">
<meta property="article:published_time" content="2024-04-11T07:15:00+00:00">
<link rel="canonical" href="https://northbank.example/tram-line-reopens"></head><body>
<nav><a href="/">Home</a> <a href="/city">City</a></nav><article><h1>Tram line reopens after flood repairs</h1>
<p>The riverside tram line reopened on Wednesday after six weeks of repairs to track washed out by the spring floods.</p>
<p>Engineers rebuilt two hundred metres of embankment and replaced the signal cables under the old mill bridge.</p>
<p>The operator said trams would run every ten minutes again from Thursday morning, with extra services at weekends.</p>
</article><footer>Northbank Post, all rights reserved</footer></body></html>"""

WIRE = (
    "date 2024-04-11 Riverside trams run again\n\n"
    "The riverside tram line reopened on Wednesday after six weeks of repairs to track washed out by the spring floods. "
    "Engineers rebuilt two hundred metres of embankment and replaced the signal cables under the old mill bridge. "
    "The operator said trams would run every ten minutes again from Thursday morning, with extra services at weekends.\n"
)


def test_html_page_and_its_wire_copy_share_an_event(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-page.html").write_text(PAGE)
    (inbox / "b-wire.txt").write_text(WIRE)
    store = Store(tmp_path / "h.db")
    result = ingest(store, inbox, ner="fast")
    assert result.failed == 0, result.errors
    rows = {Path(r["source"]).name: r for r in store.db.execute(
        "SELECT a.*, o.name AS outlet FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id")}
    page, wire = rows["a-page.html"], rows["b-wire.txt"]
    assert page["outlet"] == "Northbank Post" and page["url"] == "https://northbank.example/tram-line-reopens"
    assert page["published"].startswith("2024-04-11")
    assert page["event_day"] == "2024-04-10"  # "reopened on Wednesday", published on a Thursday
    assert wire["duplicate_of"] == page["id"] and wire["duplicate_kind"] in {"exact", "near"}
    assert wire["event_id"] == page["event_id"]
    assert result.duplicates == 1 and result.new == 1


def _feed(text: str) -> str:
    item = {"id": "courier:ferry-1", "title": "Ferry service resumes on the estuary", "content_text": text,
            "date_published": "2024-05-02T09:00:00+00:00"}
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Estuary Courier", "items": [item]})


def test_a_revised_article_is_read_for_entities_as_a_new_one_would_be(tmp_path):
    # Entities, keywords and quotes come from the opening enrich_chars of a text, revised or not.
    opening = "The estuary ferry returned to service on Thursday after the winter storms, Mayor Ellen Marsh said. "
    later = "Harbour master Tobias Wren said the new landing stage would open in June. " * 3
    first, revised = opening * 2, opening * 2 + "The timetable now adds an evening crossing. " + later
    flags = {"ner": "fast", "enrich_chars": len(opening) * 2 + 20}
    updated = Store(tmp_path / "updated.db")
    for text in (first, revised):  # the same feed file, read again after its item changed
        (tmp_path / "feed.json").write_text(_feed(text))
        assert ingest(updated, tmp_path / "feed.json", **flags).failed == 0
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "feed.json").write_text(_feed(revised))
    fresh = Store(tmp_path / "fresh.db")
    assert ingest(fresh, tmp_path / "fresh" / "feed.json", **flags).failed == 0
    [aid] = [r[0] for r in updated.db.execute("SELECT id FROM articles")]
    assert updated.article(aid)["revisions"] == 1 and "Tobias Wren" in updated.article(aid)["text"]
    names = {r["name"] for r in updated.article_entities([aid])}
    assert "Ellen Marsh" in names and "Tobias Wren" not in names  # past the opening the recogniser reads
    assert [tuple(r) for r in updated.article_entities([aid])] == [tuple(r) for r in fresh.article_entities([1])]
    assert updated.article(aid)["keywords"] == fresh.article(1)["keywords"]


GHOST = {
    "1.md": ("Volcano erupts near Kelmora village", "2026-03-02",
             "A volcano erupted near Kelmora village, sending lava flows toward farmland. Volcanologists monitoring the "
             "volcano said lava and ash covered the slopes. Kelmora residents watched the volcano glow as lava advanced."),
    "2.md": ("Tsunami warning issued for Drevant coast", "2026-03-02",
             "A tsunami warning was issued for the Drevant coast after seismographs recorded tremors. Coastguards evacuated "
             "Drevant harbours as the tsunami warning sirens sounded. Fishermen in Drevant moored boats away from the tsunami zone."),
    "3.md": ("Kelmora volcano erupts, Drevant tsunami warning issued", "2026-03-02",
             "The Kelmora volcano erupted, sending lava flows toward farmland, and a tsunami warning was issued for the Drevant "
             "coast. Volcanologists monitoring the volcano said lava and ash covered the slopes, while Drevant coastguards "
             "evacuated harbours as tsunami warning sirens sounded."),
    "4.md": ("Drevant tsunami warning lifted as coastguards reopen harbours", "2026-03-09",
             "The tsunami warning for the Drevant coast was lifted. Coastguards reopened Drevant harbours and fishermen "
             "returned their boats after the tsunami warning sirens fell silent."),
}


def test_a_story_emptied_by_an_automatic_merge_of_events_is_retired_into_the_survivors(tmp_path):
    store = Store(tmp_path / "ghost.db")
    for name, (title, day, text) in GHOST.items():  # one at a time: the third report bridges the first two events
        path = tmp_path / name
        path.write_text(f'---\ntitle: "{title}"\ndate: {day}\n---\n{text}\n', encoding="utf-8")
        assert ingest(store, path).failed == 0
    retired = store.db.execute("SELECT id, merged_into FROM events WHERE merged_into IS NOT NULL").fetchall()
    assert len(retired) == 1  # the two first events were found to be one
    live = views.stories_list(store)
    assert len(live) == 1 and all(s["events"] for s in live)  # no story left without events
    ghost = store.db.execute("SELECT merged_into FROM stories WHERE id != ?", (live[0]["id"],)).fetchall()
    assert [r[0] for r in ghost] == [live[0]["id"]]
    # The follow-up a week later threads into the story that holds the tsunami coverage.
    assert {e["title"] for e in live[0]["events"]} >= {"Drevant tsunami warning lifted as coastguards reopen harbours"}
    store.close()


def test_placeholder_publication_dates_are_unknown_and_the_rest_of_the_feed_is_stored(tmp_path):
    items = [
        {"id": "a", "url": "https://harbour.example/a", "title": "Harbour receives record fruit shipment",
         "content_text": "Workers at the harbour unloaded crates of apples on Monday, the largest shipment this season.",
         "date_published": "2026-01-05T10:00:00Z"},
        {"id": "b", "url": "https://harbour.example/b", "title": "Library opening planned",  # Go's zero time
         "content_text": "The town library will open a reading room and a cafe next spring, the council said.",
         "date_published": "0001-01-01T00:00:00Z"},
    ]
    (tmp_path / "feed.json").write_text(json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Town", "items": items}))
    (tmp_path / "far.md").write_text('---\ntitle: "Ferry timetable"\ndate: 9999-12-31\n---\nThe ferry keeps its winter timetable.\n')
    store = Store(tmp_path / "zero.db")
    result = ingest(store, tmp_path / "feed.json", tmp_path / "far.md")
    assert (result.new, result.failed) == (3, 0), result.errors
    published = dict(store.db.execute("SELECT title, published FROM articles"))
    assert published == {"Harbour receives record fruit shipment": "2026-01-05T10:00:00+00:00",
                         "Library opening planned": None, "Ferry timetable": None}
    store.close()


def test_an_input_that_fails_midway_counts_none_of_its_articles(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("date 2024-03-13\nTwo tugboats collided near the pier on Tuesday, officials said.\n")
    store = Store(tmp_path / "fail.db")
    pipeline = Pipeline(store, load({}, env={}))

    def broken(batch) -> None:  # a failure after the article was placed, before the commit
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "finish", broken)
    result = pipeline.ingest_paths([tmp_path / "a.txt"])
    assert (result.new, result.duplicates, result.failed) == (0, 0, 1)
    assert store.counts()["articles"] == 0
    store.close()


def test_a_file_changed_back_to_an_earlier_version_is_stored_again(tmp_path):
    lead = "date 2024-03-13\nTwo tugboats collided near the pier on Tuesday, officials said. "
    first, second = lead + "The harbour master closed the channel.\n", lead + "Divers checked the hulls and the channel reopened.\n"
    path = tmp_path / "tugs.txt"
    store = Store(tmp_path / "revert.db")
    for text in (first, second, first):
        path.write_text(text)
        assert ingest(store, path).failed == 0
    assert store.db.execute("SELECT text FROM articles").fetchone()[0].endswith("The harbour master closed the channel.")
    assert ingest(store, path).unchanged == 1  # and the same bytes again are nothing new
    assert ingest(store, path).unchanged == 1
    store.close()


@pytest.mark.parametrize("workers", [0, 2])
def test_a_file_named_twice_is_stored_once_with_or_without_workers(tmp_path, workers):
    folder = tmp_path / "d"
    folder.mkdir()
    for i in range(9):
        (folder / f"r{i}.txt").write_text(f"date 2024-03-1{i}\nReport {i}: the council of Town{i} approved a footbridge on Tuesday.\n")
    (folder / "zz-link.txt").symlink_to(folder / "r3.txt")  # the same file again, by another name
    store = Store(tmp_path / f"twice{workers}.db")
    result = ingest(store, folder, folder / "r3.txt", workers=workers)
    assert (result.new, result.unchanged, result.failed) == (9, 2, 0), result.errors
    store.close()


def test_a_read_only_database_stops_the_run_with_one_error_naming_it(tmp_path):
    from storyline.store import StoreError

    for i in range(2):
        (tmp_path / f"r{i}.txt").write_text(f"date 2024-03-1{i}\nReport {i}: the council approved a footbridge on Tuesday.\n")
    store = Store(tmp_path / "ro.db")
    store.db.execute("PRAGMA query_only = ON")  # writes fail as on a read-only file
    with pytest.raises(StoreError, match=r"ro\.db: the database is read-only"):
        Pipeline(store, load({}, env={})).ingest_paths([tmp_path / "r0.txt", tmp_path / "r1.txt"])
    store.close()


def _write_ghost(folder: Path, names: list[str], extra: dict | None = None) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for name in names:
        title, day, text = {**GHOST, **(extra or {})}[name]
        path = folder / name
        path.write_text(f'---\ntitle: "{title}"\ndate: {day}\n---\n{text}\n', encoding="utf-8")
        paths.append(path)
    return paths


ALERT = {"5.md": ("Drevant coast on tsunami alert after tremors", "2026-03-02",
                  "Coastguards evacuated Drevant harbours as tsunami warning sirens sounded along the Drevant coast. "
                  "Fishermen moored their boats away from the tsunami zone after seismographs recorded tremors.")}


def test_an_ingest_beside_another_places_nothing_in_the_events_the_other_merged(tmp_path):
    path = tmp_path / "two.db"
    first = Pipeline(Store(path), load({}, env={}))
    second = Pipeline(Store(path), load({}, env={}))
    assert first.ingest_paths(_write_ghost(tmp_path / "a", ["1.md", "2.md"])).failed == 0
    # The other process finds the two events one; the first still remembers them as two.
    assert second.ingest_paths(_write_ghost(tmp_path / "b", ["3.md"])).failed == 0
    (kept, retired), = first.store.db.execute("SELECT merged_into, id FROM events WHERE merged_into IS NOT NULL")
    assert first.ingest_paths(_write_ghost(tmp_path / "c", ["5.md"], ALERT)).failed == 0
    placed = dict(first.store.db.execute("SELECT a.key, e.merged_into FROM articles a JOIN events e ON e.id = a.event_id"))
    assert all(merged is None for merged in placed.values()), placed
    assert first.store.db.execute("SELECT event_id FROM articles WHERE title LIKE 'Drevant coast on%'").fetchone()[0] == kept
    counted = first.store.db.execute("SELECT SUM(n_articles) FROM story_summary").fetchone()[0]
    assert counted == first.store.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 4


def test_an_automatic_merge_never_undoes_a_users_split_of_stories(tmp_path):
    from storyline.corrections import Corrector

    store = Store(tmp_path / "split.db")
    pipeline = Pipeline(store, load({}, env={}))
    assert pipeline.ingest_paths(_write_ghost(tmp_path / "a", ["1.md", "2.md"])).failed == 0
    volcano, tsunami = [r[0] for r in store.db.execute("SELECT id FROM events ORDER BY id")]
    corrector = Corrector(store, pipeline.settings)
    stories = {store.event(e)["story_id"] for e in (volcano, tsunami)}
    if len(stories) == 2:  # the user first put both in one story, then split them apart again
        corrector.merge_stories(*sorted(stories))
    story = store.event(volcano)["story_id"]
    split = corrector.split_story(story, [tsunami], "Drevant tsunami")["result"]["story"]
    assert pipeline.ingest_paths(_write_ghost(tmp_path / "b", ["3.md"])).failed == 0  # bridges the two events
    assert store.db.execute("SELECT COUNT(*) FROM events WHERE merged_into IS NOT NULL").fetchone()[0] == 0
    assert store.story(split)["merged_into"] is None and store.story(split)["title"] == "Drevant tsunami"
    assert {store.event(volcano)["story_id"], store.event(tsunami)["story_id"]} == {story, split}


def test_two_ingests_of_one_folder_at_once_fail_nothing_and_store_everything_once(tmp_path, shared):
    folder = tmp_path / "in"
    folder.mkdir()
    topic = shared / "data/timelines/t17/H1N1_bbc"
    with gzip.open(topic / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        for i, line in zip(range(80), fh):
            row = json.loads(line)
            (folder / f"{i:03d}.txt").write_text(f"date {row['time'][:10]}\n{row['text'][:2500]}\n", encoding="utf-8")
    db = tmp_path / "both.db"
    Store(db).close()
    env = {**os.environ, "STORYLINE_NER": "fast"}
    cmd = [sys.executable, "-m", "storyline", "ingest", "--db", str(db), str(folder)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(" 0 failed" in out for out, _ in outputs), outputs
    store = Store(db)
    assert store.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 80
    assert store.db.execute("SELECT COUNT(*) FROM raw_inputs").fetchone()[0] == 80
    assert store.db.execute(
        "SELECT COUNT(*) FROM articles a JOIN events e ON e.id = a.event_id WHERE e.merged_into IS NOT NULL").fetchone()[0] == 0
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_a_copy_revised_into_a_text_of_its_own_is_a_report_of_its_own_again(tmp_path):
    from storyline.search import SearchQuery, search

    first = ("Two tugboats collided near the pier on Tuesday morning, officials said, and both crews were rescued "
             "by a passing ferry before the boats drifted onto the sandbank at the harbour mouth. The harbour master "
             "closed the channel for the afternoon while divers checked both hulls for damage below the waterline.")
    other = ("The town library will open a new reading room next spring with a cafe and a children's corner, "
             "the council said, after residents voted for the plan in a ballot held over the winter. Builders will "
             "start work on the old post office next door in March, and the reading room will keep late hours.")
    (tmp_path / "a.txt").write_text(f"date 2024-03-13\n{first}\n")
    (tmp_path / "b.txt").write_text(f"date 2024-03-13\n{first}\n")
    store = Store(tmp_path / "rev.db")
    assert ingest(store, tmp_path / "a.txt", tmp_path / "b.txt").duplicates == 1
    (tmp_path / "b.txt").write_text(f"date 2024-03-14\n{other}\n")
    result = ingest(store, tmp_path / "b.txt")
    assert result.updated == 1 and "1 updated" in result.summary()
    row = store.db.execute("SELECT id, duplicate_of, duplicate_kind FROM articles WHERE source LIKE '%b.txt'").fetchone()
    assert (row["duplicate_of"], row["duplicate_kind"]) == (None, None)
    with store.snapshot():
        assert [i["id"] for i in search(store, SearchQuery("library reading room"))["items"]] == [row["id"]]
    # A copy whose revision still copies the original stays a copy.
    (tmp_path / "c.txt").write_text(f"date 2024-03-13\n{first}\n")
    assert ingest(store, tmp_path / "c.txt").duplicates == 1
    (tmp_path / "c.txt").write_text(f"date 2024-03-13\n{first} Photographs: harbour office.\n")
    assert ingest(store, tmp_path / "c.txt").updated == 1
    assert store.db.execute("SELECT duplicate_of FROM articles WHERE source LIKE '%c.txt'").fetchone()[0] is not None
    store.close()


LOCKS = ("Engineers at Brimley reopened the canal locks on Friday after a month of repairs to the gates, and the "
         "first barges passed through at dawn. Harbour master Tobias Wren said the repaired gates would hold through "
         "the winter floods, and boat owners moored along the towpath welcomed the news after weeks of waiting.")


def test_a_file_whose_date_changed_is_updated_and_its_event_moves_with_it(tmp_path):
    path = tmp_path / "locks.txt"
    store = Store(tmp_path / "dated.db")

    def stored() -> tuple:
        row = store.db.execute("SELECT a.id, a.published, a.event_day, e.first_day, e.last_day, e.date FROM articles a "
                               "JOIN events e ON e.id = a.event_id").fetchone()
        return row["published"][:10], row["event_day"], row["first_day"], row["last_day"], row["date"]

    path.write_text(f"date 2024-03-05\nCanal locks reopen\n\n{LOCKS}\n")
    ingest(store, path, ner="fast")
    path.write_text(f"date 2023-03-05\nCanal locks reopen\n\n{LOCKS}\n")  # a wrong year put right, nothing else
    result = ingest(store, path, ner="fast")
    assert (result.updated, result.unchanged) == (1, 0)
    assert stored() == ("2023-03-05", "2023-03-03", "2023-03-03", "2023-03-03", "2023-03-03")  # "on Friday"
    [aid] = [r[0] for r in store.db.execute("SELECT id FROM articles")]
    assert [v["published"][:10] for v in store.article_versions(aid)] == ["2024-03-05", "2023-03-05"]
    assert store.article(aid)["revisions"] == 1
    # Date and text changed together: the new date is kept along with the new text.
    path.write_text(f"date 2023-04-12\nCanal locks reopen\n\n{LOCKS} The towpath cafe opened again too.\n")
    assert ingest(store, path, ner="fast").updated == 1
    assert stored() == ("2023-04-12", "2023-04-07", "2023-04-07", "2023-04-07", "2023-04-07")
    assert ingest(store, path, ner="fast").unchanged == 1
    store.close()


def test_copies_of_a_rewritten_original_follow_another_copy_or_stand_alone(tmp_path):
    from storyline.search import SearchQuery, search

    other = ("The town library will open a new reading room next spring with a cafe and a children's corner, "
             "the council said, after residents voted for the plan in a ballot held over the winter. Builders will "
             "start work on the old post office next door in March, and the reading room will keep late hours.")
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(f"date 2024-03-08\nCanal locks reopen\n\n{LOCKS}\n")
    store = Store(tmp_path / "copies.db")
    assert ingest(store, *(tmp_path / n for n in ("a.txt", "b.txt", "c.txt")), ner="fast").duplicates == 2
    (tmp_path / "a.txt").write_text(f"date 2024-03-08\nLibrary plans reading room\n\n{other}\n")
    assert ingest(store, tmp_path / "a.txt", ner="fast").updated == 1
    rows = {Path(r["source"]).name: r for r in store.db.execute("SELECT * FROM articles")}
    a, b, c = rows["a.txt"], rows["b.txt"], rows["c.txt"]
    assert (b["duplicate_of"], b["duplicate_kind"]) == (None, None)  # the earliest copy is the original now
    assert (c["duplicate_of"], c["duplicate_kind"]) == (b["id"], "exact")
    # Read as a report of its own: copies stored as exact ones had no entities or keywords.
    assert "Tobias Wren" in {e["name"] for e in store.article_entities([b["id"]])}
    assert json.loads(b["keywords"]) and not store.article_entities([c["id"]])
    with store.snapshot():
        assert [i["id"] for i in search(store, SearchQuery("towpath barges"))["items"]] == [b["id"]]
        assert [i["id"] for i in search(store, SearchQuery("reading room"))["items"]] == [a["id"]]
    store.close()


def test_a_copy_read_before_it_became_exact_is_read_again_without_doubling_its_rows(tmp_path):
    quoted = LOCKS + ' "The gates will hold whatever the river brings," Tobias Wren told the Brimley Gazette.'
    orig, copy = tmp_path / "orig.txt", tmp_path / "copy.txt"
    orig.write_text(f"date 2024-03-08\nCanal locks reopen\n\n{quoted}\n")
    copy.write_text(f"date 2024-03-08\nCanal locks reopen\n\n{quoted} Barge crews queued at the top lock.\n")
    store = Store(tmp_path / "reread.db")
    assert ingest(store, orig, copy, ner="fast").duplicates == 1  # a near copy: read for its names and quotes
    cid = store.db.execute("SELECT id FROM articles WHERE source LIKE '%copy.txt'").fetchone()[0]
    first = (store.article_entities([cid]), store.db.execute("SELECT text, speaker FROM quotes WHERE article_id = ?", (cid,)).fetchall())
    assert first[0] and first[1]
    orig.write_text(copy.read_text())  # the original now says exactly what the copy says: an exact copy, rows kept
    assert ingest(store, orig, ner="fast").updated == 1
    assert store.db.execute("SELECT duplicate_kind FROM articles WHERE id = ?", (cid,)).fetchone()[0] == "exact"
    orig.write_text(f"date 2024-03-08\nCanal locks reopen\n\n{quoted} Two lock keepers were hired for the winter.\n")
    result = ingest(store, orig, ner="fast")  # a near copy again: read once more, as a new article would be
    assert (result.updated, result.failed) == (1, 0), result.errors
    again = (store.article_entities([cid]), store.db.execute("SELECT text, speaker FROM quotes WHERE article_id = ?", (cid,)).fetchall())
    assert [tuple(r) for r in again[1]] == [tuple(r) for r in first[1]]  # its quotes once, not twice
    assert sorted(map(tuple, again[0])) == sorted(map(tuple, first[0]))
    store.close()


def test_ctrl_c_stops_an_ingest_without_tracebacks_from_its_workers(tmp_path, shared):
    import signal

    folder = tmp_path / "in"
    folder.mkdir()
    # Enough that the run is still storing when the signal comes (400 of them took about a second).
    i = 0
    for path in sorted((shared / "data/timelines/t17").glob("*/articles.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if i == 2000:
                    break
                row = json.loads(line)
                (folder / f"{i:04d}.txt").write_text(f"date {row['time'][:10]}\n{row['text']}\n", encoding="utf-8")
                i += 1
    assert i == 2000
    db = tmp_path / "int.db"
    proc = subprocess.Popen([sys.executable, "-m", "storyline", "ingest", "--db", str(db), str(folder)],
                            env={**os.environ, "STORYLINE_NER": "fast"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    wait_for_count(proc, db, "SELECT COUNT(*) FROM articles", 20, limit_s=120)
    assert proc.poll() is None, "ingest ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: the whole group
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in stderr and "ForkProcess" not in stderr, stderr[-2000:]


def test_the_refresh_ends_when_a_marked_story_lost_all_its_events_to_a_correction(tmp_path):
    import signal

    for i, (town, what) in enumerate([("Brimley", "canal locks reopened"), ("Ostwick", "a library opened")]):
        (tmp_path / f"r{i}.txt").write_text(f"date 2024-0{i + 3}-08\n{town}: {what}\n\n{LOCKS if i == 0 else what * 5}\n")
    store = Store(tmp_path / "moved.db")
    ingest(store, tmp_path / "r0.txt", tmp_path / "r1.txt", ner="fast")
    left, kept = [r[0] for r in store.db.execute("SELECT id FROM stories ORDER BY id")]
    # A run stopped before its refresh leaves a story marked; a correction then moves all its events away.
    with store.transaction():
        store.db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (left,))
        store.set_story(store.story_event_ids(left), kept)
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the refresh did not end"))
    signal.alarm(60)
    try:
        Pipeline(store, load({"ner": "fast"}, env={})).refresh()
    finally:
        signal.alarm(0)
    assert store.db.execute("SELECT COUNT(*) FROM stories WHERE dirty = 1").fetchone()[0] == 0
    store.close()
