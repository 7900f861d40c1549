"""Full-text search: FTS5 indexing new articles at commit and kept in step by triggers, safe query syntax, ranking, filters, highlights, pages."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone
from importlib import resources
from types import SimpleNamespace

import pytest

from storyline.ingest import Pipeline
from storyline.models import Document, IngestResult
from storyline import search as search_mod
from storyline.search import SearchQuery, fts_expression, marked_html, search
from storyline.settings import load
from storyline.store import Store

from conftest import store_at_version


def doc(key: str, title: str, text: str, outlet: str, day: str) -> Document:
    """A document of our own."""
    when = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    return Document(source=f"test:{key}", kind="text", key=key, title=title, text=text, outlet=outlet, published=when)


FERRY = (
    "The harbour ferry service stopped on Monday after crews walked out over rosters. "
    "Commuters crowded the quay while the operator promised a replacement timetable by Friday. "
    "Union leaders said talks would resume once the company withdrew the new shift pattern."
)


@pytest.fixture(scope="module")
def store(tmp_path_factory, seeds) -> Store:
    store = Store(tmp_path_factory.mktemp("search") / "s.db")
    pipeline = Pipeline(store, load({"ner": "fast"}, env={}))
    assert pipeline.ingest_paths([seeds]).failed == 0
    result = IngestResult()
    pipeline.store_documents([doc("ferry-1", "<b>Ferry</b> crews <script>strike</script>", FERRY, "Harbour Post", "2024-03-04")], result)
    pipeline.store_documents([doc("ferry-2", "Ferry strike: the copy", FERRY, "Wire Service", "2024-03-05")], result)
    pipeline.refresh()
    assert result.duplicates == 1
    return store


def test_every_term_is_quoted_so_no_input_is_fts_syntax():
    assert fts_expression('kim AND "full support" NEAR( x* -y col:z') == '"kim" "AND" "full support" "NEAR" "x"* "y" "col z"'
    assert fts_expression('"unbalanced') == '"unbalanced"'
    assert fts_expression("  ***  ()  ") == ""


@pytest.mark.parametrize("q", ['"', "AND", "NEAR(a b, 2)", "title:kim", "*", "a OR", "^kim", "'; DROP TABLE articles; --", "\x00kim"])
def test_odd_queries_never_raise(store, q):
    out = search(store, SearchQuery(q))
    assert out["total"] >= 0


def test_search_reaches_the_january_2026_event(store):
    out = search(store, SearchQuery("unconditionally"))
    assert out["total"] >= 1
    top = out["items"][0]
    assert top["event"]["date"] == "2026-01-09"
    assert "<mark>" in top["title_html"] + top["snippet_html"]
    assert all(hit["score"] > 0 for hit in out["items"])


def test_porter_stemming_finds_other_word_forms(store):
    assert search(store, SearchQuery("pledging"))["total"] == search(store, SearchQuery("pledge"))["total"] > 0


def test_phrases_and_prefixes(store):
    assert search(store, SearchQuery('"harbour ferry"'))["total"] == 1
    assert search(store, SearchQuery('"ferry harbour"'))["total"] == 0
    assert search(store, SearchQuery("harb*"))["total"] == 1


def test_highlights_escape_the_stored_title(store):
    hit = search(store, SearchQuery("ferry"))["items"][0]
    assert "<script>" not in hit["title_html"] and "<b>" not in hit["title_html"]
    assert "&lt;script&gt;" in hit["title_html"]
    assert "<mark>Ferry</mark>" in hit["title_html"]
    assert marked_html("a < \x02b\x03") == "a &lt; <mark>b</mark>"


def test_duplicates_are_folded_unless_asked_for(store):
    assert search(store, SearchQuery("commuters"))["total"] == 1
    assert search(store, SearchQuery("commuters", duplicates=True))["total"] == 2


def test_filters_date_outlet_entity_story(store):
    base = search(store, SearchQuery("putin"))["total"]
    assert base >= 3
    recent = search(store, SearchQuery("putin", start=date(2026, 1, 1)))["total"]
    older = search(store, SearchQuery("putin", end=date(2025, 12, 31)))["total"]
    assert 0 < recent < base and 0 < older < base and recent + older <= base  # undated listings match neither
    assert search(store, SearchQuery("ferry", outlet="Harbour Post"))["total"] == 1
    assert search(store, SearchQuery("ferry", outlet="Nobody"))["total"] == 0
    assert search(store, SearchQuery("kim", entity="vladimir putin"))["total"] >= 1
    assert search(store, SearchQuery("kim", entity="No Such Person"))["total"] == 0
    story_id = store.db.execute("SELECT story_id FROM events WHERE date = '2026-01-09'").fetchone()[0]
    assert search(store, SearchQuery("putin", story_id=story_id))["total"] == base
    assert search(store, SearchQuery("ferry", story_id=story_id))["total"] == 0


def test_filters_alone_list_the_newest_articles_latest_published_first(store, monkeypatch):
    named = {r[0] for r in store.db.execute(
        "SELECT ae.article_id FROM article_entities ae JOIN entities e ON e.id = ae.entity_id JOIN articles a "
        "ON a.id = ae.article_id WHERE e.name = 'Vladimir Putin' AND a.duplicate_of IS NULL AND a.merged_into IS NULL")}
    listed = search(store, SearchQuery("", entity="vladimir putin", limit=100))
    assert len(named) >= 2 and {h["id"] for h in listed["items"]} == named and listed["total"] == len(named)
    assert listed["ranked"] is False and not listed["total_is_lower_bound"]
    days = [h["published"] or "" for h in listed["items"]]
    assert days == sorted(days, reverse=True)
    pages = [h["id"] for off in range(0, len(named), 2)
             for h in search(store, SearchQuery("", entity="vladimir putin", limit=2, offset=off))["items"]]
    assert pages == [h["id"] for h in listed["items"]]
    recent = search(store, SearchQuery("", entity="vladimir putin", start=date(2026, 1, 1), limit=100))["items"]
    assert 0 < len(recent) < len(named) and all(h["published"] >= "2026-01-01" for h in recent)
    assert search(store, SearchQuery("", outlet="Harbour Post"))["total"] == 1
    assert search(store, SearchQuery("", outlet="Wire Service"))["total"] == 0  # a copy, folded
    assert search(store, SearchQuery(""))["total"] == 0 and search(store, SearchQuery("", start=date(2024, 1, 1)))["items"] == []
    monkeypatch.setattr(search_mod, "NEWEST_RANKED", 1)
    newest = search(store, SearchQuery("", entity="vladimir putin"))
    assert [h["id"] for h in newest["items"]] == [max(named)] and newest["total"] == 1 and newest["total_is_lower_bound"]


def test_pages_partition_the_results(store):
    full = search(store, SearchQuery("putin", limit=100))
    ids = [h["id"] for h in full["items"]]
    pages = [h["id"] for off in range(0, len(ids), 2) for h in search(store, SearchQuery("putin", limit=2, offset=off))["items"]]
    assert pages == ids
    beyond = search(store, SearchQuery("putin", limit=2, offset=1000))
    assert beyond["items"] == [] and beyond["total"] == full["total"]


def test_index_follows_title_changes(store):
    aid = store.article_id_by_key("ferry-1")
    before = "<b>Ferry</b> crews <script>strike</script>"
    assert search(store, SearchQuery("script"))["total"] == 1
    store.update_article(aid, title="Tram drivers walk out")
    try:
        assert search(store, SearchQuery("tram"))["total"] == 1
        assert search(store, SearchQuery("script"))["total"] == 0
    finally:
        store.update_article(aid, title=before)


def test_existing_databases_get_their_articles_indexed(tmp_path):
    path = tmp_path / "old.db"
    first = (resources.files("storyline") / "migrations" / "001_initial.sql").read_text(encoding="utf-8")
    db = sqlite3.connect(path)
    db.executescript(first)
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    db.execute("INSERT INTO schema_migrations VALUES (1, '2025-01-01T00:00:00+00:00')")
    db.execute(
        "INSERT INTO articles (key, kind, source, title, text, created_at) "
        "VALUES ('old', 'text', 'x', 'Lighthouse keepers', 'The keepers left the rock.', '2025-01-01')"
    )
    db.commit()
    db.close()
    assert search(Store(path), SearchQuery("lighthouse"))["total"] == 1


def test_a_store_of_version_8_learns_which_articles_search_leaves_out(tmp_path):
    path = tmp_path / "v8.db"
    db = store_at_version(path, 8)
    insert = "INSERT INTO articles (id, key, kind, source, title, text, created_at, duplicate_of, merged_into) VALUES (?, ?, 'text', 'x', ?, ?, '2026-01-01', ?, ?)"
    db.execute(insert, (1, "a", "Lighthouse keepers leave", "The keepers left the rock.", None, None))
    db.execute(insert, (2, "b", "Lighthouse keepers leave", "The keepers left the rock, a copy.", 1, None))
    db.execute(insert, (3, "c", "Lighthouse keepers listed", "", None, 1))
    db.commit()
    db.close()
    old = Store(path)
    assert dict(old.db.execute("SELECT id, kind FROM search_hidden")) == {2: "copy", 3: "merged"}
    assert [h["id"] for h in search(old, SearchQuery("lighthouse"))["items"]] == [1]
    assert sorted(h["id"] for h in search(old, SearchQuery("lighthouse", duplicates=True))["items"]) == [1, 2]


def test_index_follows_duplicate_and_merge_links(store):
    aid = store.article_id_by_key("ferry-2")  # the copy
    original = store.article_id_by_key("ferry-1")
    assert search(store, SearchQuery("commuters"))["items"][0]["id"] == original
    store.update_article(aid, duplicate_of=None)
    try:
        assert search(store, SearchQuery("commuters"))["total"] == 2
        store.update_article(aid, merged_into=original)
        assert search(store, SearchQuery("commuters", duplicates=True))["total"] == 1
    finally:
        store.update_article(aid, duplicate_of=original, merged_into=None)
    assert search(store, SearchQuery("commuters", duplicates=True))["total"] == 2
    # The external-content index still matches the articles exactly (triggers repeat what they indexed).
    store.db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")


def test_highlighting_leaves_its_scratch_index_in_place_and_empty(store):
    reader = Store(store.path)  # a connection of its own, as each of the web server's
    try:
        reader.keep_search_scratch()
        scratch = "SELECT COUNT(*) FROM temp.search_page"
        with reader.snapshot():  # as a web request reads, its snapshot rolled back at the end
            inside = search(reader, SearchQuery("ferry"))["items"][0]["title_html"]
            assert reader.db.execute(scratch).fetchone()[0] == 0
        assert reader.db.execute(scratch).fetchone()[0] == 0 and not reader.db.in_transaction
        outside = search(reader, SearchQuery("ferry"))["items"][0]["title_html"]  # autocommit, as the CLI
        assert inside == outside and "<mark>" in inside and reader.db.execute(scratch).fetchone()[0] == 0
    finally:
        reader.close()


def test_snippets_of_long_texts_fall_back_to_the_lead(tmp_path):
    store = Store(tmp_path / "long.db")
    filler = "Nothing of note happened in the valley that week. " * 600  # well past the highlighted opening
    text = "The valley report opens here. " + filler + "Finally the zeppelin landed."
    store.insert_article(doc("long", "Valley report", text, "Valley News", "2024-01-01"), None)
    hit = search(store, SearchQuery("zeppelin"))["items"][0]
    assert hit["snippet"].startswith("The valley report opens here.") and "<mark>" not in hit["snippet_html"]


def test_a_long_text_is_highlighted_around_its_match_with_the_cut_marked(tmp_path):
    store = Store(tmp_path / "window.db")
    filler = "Nothing of note happened in the valley that week. " * 160  # ~8,000 characters before the match
    text = "The valley report opens here. " + filler + "Then protests filled the square by noon. " + filler
    store.insert_article(doc("long", "Valley report", text, "Valley News", "2024-01-01"), None)
    hit = search(store, SearchQuery("protesters"))["items"][0]
    # "protesters" and "protests" share a stem: the index matches it, and the snippet shows it, cut on both sides
    assert "<mark>protests</mark> filled the square" in hit["snippet_html"]
    assert hit["snippet"].startswith("…") and hit["snippet"].endswith("…")


@pytest.mark.parametrize("q, marked", [("running", "runs"), ("cafe", "café"), ("café", "café")])
def test_a_match_the_hint_cannot_see_is_highlighted_where_it_is(tmp_path, q, marked):
    store = Store(tmp_path / "stem.db")
    filler = "Nothing of note happened in the valley that week. " * 60  # ~3,000 characters before the match
    text = "The valley report opens here. " + filler + "The mayor of Portvale runs the café on the quay. " + filler
    store.insert_article(doc("stem", "Valley report", text, "Valley News", "2024-01-01"), None)
    hit = search(store, SearchQuery(q))["items"][0]
    # The index matches the stem or the folded accent; the snippet shows that word, not the text's opening.
    assert f"<mark>{marked}</mark>" in hit["snippet_html"] and "Portvale" in hit["snippet"]


def test_snippet_window_looks_around_the_first_likely_match():
    from storyline.store.search import match_hint, snippet_window

    hint = match_hint(fts_expression('protesters "prime minister" oil*'))
    assert hint is not None and hint.first("the Protest grew") == 4 and hint.first("oils") == 0
    assert hint.first("ministers and oil") == 0 and hint.first("we met ministers") == 7
    assert hint.first("a quiet day") is None and match_hint("") is None
    assert hint.first("counterprotest, then a spoil; x_oil or boil") is None  # inside a word is no opening
    assert hint.first("İİ protest") == 3  # "İ" lower-cases to two letters: the position stays the text's
    for text in ("Oil first, protest later", "later: the protest. Oil", "x" * 50 + " MINISTER"):
        found = hint.pattern.search(text)  # the case-blind pattern it stands for
        assert hint.first(text) == (found.start() if found else None)
    text = "word " * 1000 + "protests began " + "word " * 1000
    start, end = snippet_window(text, hint, 1000)
    assert start <= text.index("protests") < end and end - start == 1000 and text[start - 1] == " "
    assert snippet_window("short text", hint, 1000) == (0, 10)  # a short text is read whole
    assert snippet_window("word " * 400, hint, 1000) == (0, 1000)  # nothing likely: the opening


def _full_bm25(store: Store, words: str) -> list[int]:
    """Every original matching, ranked by bm25 over the whole index (what search did before the pool)."""
    match = f"{{title text}} : ({fts_expression(words)}) AND flags : (original)"
    rows = store.db.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY bm25(articles_fts, 8.0, 1.0, 0.0), rowid",
        (match,),
    )
    return [r[0] for r in rows]


def test_up_to_the_pool_every_match_is_ranked_by_full_bm25(store, monkeypatch):
    ranked = _full_bm25(store, "putin")
    assert len(ranked) >= 4
    monkeypatch.setattr(search_mod, "NEWEST_RANKED", len(ranked))
    out = search(store, SearchQuery("putin", limit=100))
    assert [h["id"] for h in out["items"]] == ranked
    assert out["total"] == len(ranked) and out["total_is_lower_bound"] is False


def test_beyond_the_pool_only_the_newest_matches_are_ranked(store, monkeypatch):
    ranked = _full_bm25(store, "putin")
    newest = set(sorted(ranked)[-3:])
    monkeypatch.setattr(search_mod, "NEWEST_RANKED", 3)
    out = search(store, SearchQuery("putin", limit=100))
    assert [h["id"] for h in out["items"]] == [i for i in ranked if i in newest]
    assert out["total"] == 3 and out["total_is_lower_bound"] is True
    later = search(store, SearchQuery("putin", limit=2, offset=2))
    assert [h["id"] for h in later["items"]] == [i for i in ranked if i in newest][2:] and later["total_is_lower_bound"]


def test_filters_apply_before_the_newest_are_taken(store, monkeypatch):
    every = search(store, SearchQuery("kim", limit=100))["items"]
    newest = max(every, key=lambda h: h["id"])
    outlet = next(h["outlet"] for h in sorted(every, key=lambda h: h["id"]) if h["outlet"] not in (None, newest["outlet"]))
    of_outlet = [h["id"] for h in search(store, SearchQuery("kim", outlet=outlet, limit=100))["items"]]
    assert of_outlet and newest["id"] not in of_outlet
    monkeypatch.setattr(search_mod, "NEWEST_RANKED", 1)
    # The newest match overall is another outlet's, yet this outlet's own newest match is found.
    one = search(store, SearchQuery("kim", outlet=outlet))
    assert [h["id"] for h in one["items"]] == [max(of_outlet)]
    assert one["total"] == 1 and one["total_is_lower_bound"] is (len(of_outlet) > 1)
    assert [h["id"] for h in search(store, SearchQuery("kim", story_id=newest["event"]["story_id"]))["items"]] == [newest["id"]]
    assert search(store, SearchQuery("kim", outlet="Nobody"))["total"] == 0


def test_the_search_page_says_when_the_total_is_a_lower_bound(store, monkeypatch):
    from storyline.web.app import templates

    page = templates().get_template("search.html")
    context = {"title": "t", "q": "putin", "start": None, "end": None, "outlet": "", "entity": "", "story": None, "pager": None, "unsearchable": False, "operators": "", "missing_story": None,
               "request": SimpleNamespace(url="/search")}
    monkeypatch.setattr(search_mod, "NEWEST_RANKED", 2)
    assert "2+ results for" in page.render(results=search(store, SearchQuery("putin")), **context)
    monkeypatch.setattr(search_mod, "NEWEST_RANKED", 1_000)
    full = search(store, SearchQuery("putin"))
    assert f"{full['total']} results for" in page.render(results=full, **context)
    undated = dict(full, items=[dict(full["items"][0], published=None)])
    assert " · date unknown" in page.render(results=undated, **context)  # not "Reuters ·  · event:"


def test_the_index_is_cut_into_shards_that_a_search_reads_newest_first(tmp_path, monkeypatch):
    path = tmp_path / "shards.db"
    store = Store(path)
    store.SEARCH_SHARD_ARTICLES, store.SEARCH_SHARD_WARMUP = 4, 2
    towns = ["Ardmore", "Bantry", "Clifden", "Dingle", "Ennis", "Fermoy", "Galway", "Howth", "Inch", "Kells", "Lucan"]
    ids = []
    for i, town in enumerate(towns):
        text = f"The lighthouse keepers logged a storm on day {i}. Their relief boat could not land."
        ids.append(store.insert_article(doc(f"k{i}", f"Keepers at {town}", text, "Coast News", f"2024-01-{i + 1:02d}"), None))
    # A shard closes once it spans SEARCH_SHARD_ARTICLES ids, and the next starts after the newest article.
    assert [tuple(r) for r in store.db.execute("SELECT n, first_id FROM search_shards ORDER BY n")] == [(0, 0), (1, 5), (2, 10)]
    # A closed shard indexes the warm-up's articles past its end too, and answers for them.
    assert store.search_shards() == [("articles_fts_2", 12, None), ("articles_fts_1", 7, 12), ("articles_fts", 0, 7)]

    def held(table: str) -> list[int]:
        return [r[0] for r in store.db.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH 'lighthouse' ORDER BY rowid")]

    assert (held("articles_fts"), held("articles_fts_1"), held("articles_fts_2")) == (ids[:6], ids[4:], ids[9:])
    everything = search(store, SearchQuery("lighthouse", limit=50))
    assert sorted(h["id"] for h in everything["items"]) == ids  # each article once, the warm-up's too
    assert everything["total"] == 11 and not everything["total_is_lower_bound"]
    assert [h["id"] for h in search(store, SearchQuery("bantry"))["items"]] == [ids[1]]  # the oldest shard too
    # The pool is the newest matches, taken across shards, newest first.
    monkeypatch.setattr(search_mod, "NEWEST_RANKED", 6)
    pool = search(store, SearchQuery("lighthouse", limit=50))
    assert sorted(h["id"] for h in pool["items"]) == ids[5:] and pool["total_is_lower_bound"]
    # Filters apply in every shard before the pool is taken.
    old = search(store, SearchQuery("keepers", end=date(2024, 1, 3), limit=50))
    assert sorted(h["id"] for h in old["items"]) == ids[:3]
    # Changes reach every shard that holds the article, whichever connection writes them.
    other = Store(path)
    other.SEARCH_SHARD_ARTICLES, other.SEARCH_SHARD_WARMUP = 4, 2
    other.update_article(ids[1], title="Keepers at Youghal")
    other.update_article(ids[4], title="Keepers at Arklow")  # held by two shards
    other.db.execute("DELETE FROM articles WHERE id = ?", (ids[5],))  # held by two shards
    later = other.insert_article(doc("k11", "Keepers at Malahide", "The lighthouse keepers of Malahide.", "Coast News", "2024-01-12"), None)
    other.close()
    assert search(store, SearchQuery("youghal"))["total"] == 1 and search(store, SearchQuery("bantry"))["total"] == 0
    assert [h["id"] for h in search(store, SearchQuery("arklow"))["items"]] == [ids[4]]
    assert search(store, SearchQuery("ennis"))["total"] == 0 and search(store, SearchQuery("fermoy"))["total"] == 0
    assert [h["id"] for h in search(store, SearchQuery("malahide"))["items"]] == [later]
    for table, _, _ in store.search_shards():  # rank 0: the index itself (1 would compare it with every article)
        store.db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 0)")
    assert (held("articles_fts"), held("articles_fts_1"), held("articles_fts_2")) == (
        ids[:5], ids[4:5] + ids[6:], [ids[9], ids[10], later])
    assert [h["id"] for h in search(store, SearchQuery("arklow", duplicates=True))["items"]] == [ids[4]]
    # Where each shard answers from is the store's, not the reading connection's settings.
    fresh = Store(path)
    assert fresh.SEARCH_SHARD_WARMUP != 2 and fresh.search_shards() == store.search_shards()
    monkeypatch.setattr(search_mod, "NEWEST_RANKED", 1_000)
    assert search(fresh, SearchQuery("lighthouse", limit=50))["total"] == 11
    fresh.close()


TOWNS = ["Ardmore", "Bantry", "Clifden", "Dingle", "Ennis", "Fermoy", "Galway", "Howth", "Inch", "Kells", "Lucan"]


def _keepers(i: int, town: str) -> Document:
    """One of the lighthouse reports the shard tests store."""
    storm = " A storm tore the aerial down." if i % 3 == 0 else ""
    text = f"The lighthouse keepers at {town} logged the weather on day {i}.{storm} Their relief boat could not land."
    return doc(f"k{i}", f"Keepers at {town}", text, "Coast News", f"2024-01-{i + 1:02d}")


def _layout(store: Store) -> list[tuple[str, int, int | None, list[int]]]:
    """Each shard: its table, where it answers from and to, and the articles it indexes."""
    return [
        (table, lo, hi, [r[0] for r in store.db.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH 'lighthouse' ORDER BY rowid")])
        for table, lo, hi in store.search_shards()
    ]


def test_reindex_cuts_a_store_indexed_before_shards_as_ingest_would_have(tmp_path):
    # A store of version 9 held its whole index in one table; the migration to shards kept it there.
    path = tmp_path / "v9.db"
    store_at_version(path, 9).close()
    old = Store(path)
    for i, town in enumerate(TOWNS):
        old.insert_article(_keepers(i, town), None)
    assert len(old.search_shards()) == 1
    old.SEARCH_SHARD_ARTICLES, old.SEARCH_SHARD_WARMUP = 4, 2
    assert old.search_index_oversized()
    # The same articles stored with shards from the start: what the rebuild must reproduce.
    fresh = Store(tmp_path / "fresh.db")
    fresh.SEARCH_SHARD_ARTICLES, fresh.SEARCH_SHARD_WARMUP = 4, 2
    for i, town in enumerate(TOWNS):
        fresh.insert_article(_keepers(i, town), None)
    assert not fresh.search_index_oversized()

    def ranked(store: Store, q: str) -> list[tuple[int, float]]:
        return [(h["id"], h["score"]) for h in search(store, SearchQuery(q, limit=50))["items"]]

    reports: list[tuple[int, int]] = []
    assert old.reshard_search(lambda done, total: reports.append((done, total))) == 3
    assert _layout(old) == _layout(fresh)
    assert reports[-1][0] == reports[-1][1] == sum(len(held) for *_, held in _layout(fresh))
    assert not old.search_index_oversized()
    for q in ("lighthouse", "storm", "bantry", "keepers galway"):
        assert ranked(old, q) == ranked(fresh, q)
    # The rebuilt shards keep in step with later writes as a store's own do, and close as they fill.
    for store in (old, fresh):
        store.update_article(4, title="Keepers at Arklow")  # held by two shards
        store.db.execute("DELETE FROM articles WHERE id = 9")
        for i in range(11, 16):
            store.insert_article(_keepers(i, f"Port {i}"), None)
        for table, _, _ in store.search_shards():
            store.db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 0)")
    assert _layout(old) == _layout(fresh) and len(old.search_shards()) == 4
    assert ranked(old, "arklow") == ranked(fresh, "arklow") and ranked(old, "lighthouse") == ranked(fresh, "lighthouse")


def test_a_rebuild_cuts_an_empty_store_and_one_that_just_filled_a_shard_as_ingest_does(tmp_path):
    for count in (0, 4, 9, 10):  # with 4 a shard, ingest closes shards at ids 4 and 9, leaving an empty one open
        old, fresh = Store(tmp_path / f"old{count}.db"), Store(tmp_path / f"fresh{count}.db")
        old.SEARCH_SHARD_ARTICLES = 1_000
        fresh.SEARCH_SHARD_ARTICLES, fresh.SEARCH_SHARD_WARMUP = 4, 2
        for i in range(count):
            old.insert_article(_keepers(i, TOWNS[i]), None)
            fresh.insert_article(_keepers(i, TOWNS[i]), None)
        old.SEARCH_SHARD_ARTICLES, old.SEARCH_SHARD_WARMUP = 4, 2
        assert old.reshard_search() == len(fresh.search_shards())
        assert _layout(old) == _layout(fresh) and old.search_shard_sizes() == fresh.search_shard_sizes()
        later = [store.insert_article(_keepers(11, "Malahide"), None) for store in (old, fresh)]
        assert later[0] == later[1] and _layout(old) == _layout(fresh)


def test_a_rebuild_that_fails_midway_leaves_the_old_index_whole(tmp_path):
    store = Store(tmp_path / "s.db")
    store.SEARCH_SHARD_ARTICLES, store.SEARCH_SHARD_WARMUP = 100, 2
    for i, town in enumerate(TOWNS):
        store.insert_article(_keepers(i, town), None)
    before = _layout(store)
    store.SEARCH_SHARD_ARTICLES, store.RESHARD_CHUNK = 4, 1

    def interrupt(done: int, total: int) -> None:
        if done == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.reshard_search(interrupt)
    assert _layout(store) == before and search(store, SearchQuery("lighthouse", limit=50))["total"] == 11
    later = store.insert_article(_keepers(11, "Malahide"), None)
    assert [h["id"] for h in search(store, SearchQuery("malahide"))["items"]] == [later]


def test_a_young_shards_articles_are_ranked_with_the_words_counts_of_an_older_one(tmp_path):
    store = Store(tmp_path / "young.db")
    store.SEARCH_SHARD_ARTICLES, store.SEARCH_SHARD_WARMUP = 20, 5
    for i in range(20):
        storm = " A storm passed to the north." if i % 5 == 0 else ""
        store.insert_article(doc(f"d{i}", f"Harbour notes {i}", f"Boats came and went on day {i}.{storm}", "Coast News", "2024-02-01"), None)
    assert len(store.search_shards()) == 2
    newest = store.insert_article(doc("new", "Storm batters the harbour", "The storm tore boats loose; the storm ended at dawn.", "Coast News", "2024-02-02"), None)
    # Alone in its shard, "storm" would be in all of its articles, worth nothing to bm25, and this
    # strongest match would come last; the shard before it still answers for it, and counts "storm" rare.
    assert search(store, SearchQuery("storm"))["items"][0]["id"] == newest


# Our own short reports in Japanese, Chinese and Korean: their words run on without spaces (or with
# particles joined to them), so the word index alone finds a word only where a run begins.
HARBOUR_JA = (
    "港湾局は火曜日、古いフェリー桟橋を二年間閉鎖すると発表した。技術者の調査で、木製の杭の多くが腐っていることが分かった。"
    "桟橋は平日の朝に約四百人の通勤客を運んでおり、町から二十キロ以内にほかの渡し場はない。"
    "港湾局によると、魚市場の隣に仮の乗り場を設け、天候が許せば春の終わりまでに最初の船が使えるようになる。"
    "住民は修理の日程を文書で示すよう求め、運賃を上げないよう訴えた。通勤客は新しい時刻表を待っている。"
)
HARBOUR_ZH = "港务局周二宣布，旧渡轮码头将关闭两年。通勤者正在等待新的时刻表。"
HARBOUR_TH = "กรมเจ้าท่าประกาศปิดท่าเรือเฟอร์รี่เก่าเป็นเวลาสองปี ผู้โดยสารกำลังรอตารางเวลาใหม่"
HARBOUR_KO = "항만청은 화요일 낡은 여객선 부두를 이 년 동안 폐쇄한다고 발표했다. 통근자들은 새 시간표를 기다리고 있다."


@pytest.fixture()
def cjk_store(tmp_path) -> Store:
    store = Store(tmp_path / "cjk.db")
    pipeline = Pipeline(store, load({"ner": "fast"}, env={}))
    result = IngestResult()
    for key, title, text, outlet in [
        ("ja", "フェリー桟橋を閉鎖へ", HARBOUR_JA, "港湾新聞"),
        ("zh", "旧渡轮码头关闭", HARBOUR_ZH, "海港日报"),
        ("ko", "낡은 부두 폐쇄", HARBOUR_KO, "항구일보"),
        ("th", "ปิดท่าเรือเฟอร์รี่", HARBOUR_TH, "ข่าวท่าเรือ"),
        ("en", "Ferry pier to close", FERRY, "Harbour Post"),
        ("ja-copy", "フェリー桟橋を閉鎖へ（転載）", HARBOUR_JA, "地方紙"),
    ]:
        pipeline.store_documents([doc(key, title, text, outlet, "2024-03-05")], result)
    assert result.duplicates == 1  # the reprint is a copy of the first
    return store


def _found(store: Store, q: str, **filters) -> list[str]:
    return [item["title"] for item in search(store, SearchQuery(q, **filters))["items"]]


@pytest.mark.parametrize("q, titles", [
    ("桟橋", ["フェリー桟橋を閉鎖へ"]),  # two characters: no trigram, read for in the indexed texts
    ("時刻表", ["フェリー桟橋を閉鎖へ"]),  # inside a run, where the word index cannot see it
    ("时刻表", ["旧渡轮码头关闭"]),
    ("码头", ["旧渡轮码头关闭"]),
    ("여객선", ["낡은 부두 폐쇄"]),
    ("통근자", ["낡은 부두 폐쇄"]),  # "통근자들은": the particle joined to the word
    ("ตารางเวลา", ["ปิดท่าเรือเฟอร์รี่"]),  # Thai has no spaces between words either
    ("閉鎖 通勤客", ["フェリー桟橋を閉鎖へ"]),  # every term must occur
    ('"フェリー桟橋"', ["フェリー桟橋を閉鎖へ"]),
    ("時刻表*", ["フェリー桟橋を閉鎖へ"]),
    ("閉鎖 码头", []),
    ("空港", []),
    ("100%港", []),
])
def test_chinese_japanese_and_korean_words_are_found_anywhere_in_a_run(cjk_store, q, titles) -> None:
    assert _found(cjk_store, q) == titles


def test_a_cjk_match_is_highlighted_and_filtered_like_any_other(cjk_store) -> None:
    [item] = search(cjk_store, SearchQuery("時刻表"))["items"]
    # the stretch around the match, far into the text, with marks where the text goes on before it
    assert "<mark>時刻表</mark>" in item["snippet_html"] and item["snippet"].startswith("…") and len(item["snippet"]) < 130
    [item] = search(cjk_store, SearchQuery("桟橋"))["items"]
    assert item["title_html"] == "フェリー<mark>桟橋</mark>を閉鎖へ"
    assert _found(cjk_store, "時刻表", outlet="港湾新聞") == ["フェリー桟橋を閉鎖へ"]
    assert _found(cjk_store, "時刻表", outlet="海港日报") == []
    assert sorted(_found(cjk_store, "時刻表", duplicates=True)) == ["フェリー桟橋を閉鎖へ", "フェリー桟橋を閉鎖へ（転載）"]
    assert _found(cjk_store, "pier") == ["Ferry pier to close"]  # words without such script: the word index


def test_the_cjk_index_follows_rewrites_and_deletions(cjk_store) -> None:
    db = cjk_store.db
    aid = db.execute("SELECT id FROM articles WHERE key = 'zh'").fetchone()[0]
    with cjk_store.transaction():
        db.execute("UPDATE articles SET text = ? WHERE id = ?", ("港务局周三宣布，新码头明年开放。", aid))
    assert _found(cjk_store, "时刻表") == [] and _found(cjk_store, "明年开放") == ["旧渡轮码头关闭"]
    with cjk_store.transaction():
        db.execute("UPDATE articles SET text = ? WHERE id = ?", ("The harbour board said the new pier opens next year.", aid))
    assert _found(cjk_store, "明年开放") == [] and _found(cjk_store, "码头") == ["旧渡轮码头关闭"]  # its title still
    en = db.execute("SELECT id FROM articles WHERE key = 'en'").fetchone()[0]
    with cjk_store.transaction():
        db.execute("DELETE FROM quotes WHERE article_id IN (?, ?)", (aid, en))
        db.execute("DELETE FROM article_entities WHERE article_id IN (?, ?)", (aid, en))
        db.execute("DELETE FROM articles WHERE id = ?", (aid,))
    assert _found(cjk_store, "码头") == []
    db.execute("INSERT INTO articles_cjk (articles_cjk) VALUES ('integrity-check')")  # raises if out of step


def test_a_store_from_before_the_cjk_index_has_its_articles_indexed(tmp_path) -> None:
    db = store_at_version(tmp_path / "old.db", 11)
    db.execute(
        "INSERT INTO articles (key, kind, source, title, text, created_at) VALUES ('ja', 'text', 'test:ja', ?, ?, '2024-03-05')",
        ("フェリー桟橋を閉鎖へ", HARBOUR_JA),
    )
    db.execute("INSERT INTO articles (key, kind, source, title, text, created_at) VALUES ('en', 'text', 'test:en', 'Pier', ?, '2024-03-05')", (FERRY,))
    db.commit()
    db.close()
    store = Store(tmp_path / "old.db")
    assert _found(store, "時刻表") == ["フェリー桟橋を閉鎖へ"]
    assert store.db.execute("SELECT COUNT(*) FROM articles_cjk_docsize").fetchone()[0] == 1  # the English one is not in it


def _segments(store: Store, table: str) -> int:
    """How many FTS5 segments an index holds."""
    return store.db.execute(f"SELECT COUNT(DISTINCT segid) FROM {table}_idx").fetchone()[0]


def test_a_transactions_new_articles_are_indexed_together_when_it_commits(tmp_path):
    store = Store(tmp_path / "s.db")
    with store.transaction():
        ids = [store.insert_article(_keepers(i, town), None) for i, town in enumerate(TOWNS[:6])]
        assert _found(store, "lighthouse") == []  # not yet: they wait for the commit
        assert store.db.execute("SELECT COUNT(*) FROM search_pending").fetchone()[0] == 6
    assert store.db.execute("SELECT COUNT(*) FROM search_pending").fetchone()[0] == 0
    assert sorted(h["id"] for h in search(store, SearchQuery("lighthouse", limit=50))["items"]) == ids
    # One segment for the transaction: indexed by a trigger, each article had made one of its own.
    assert _segments(store, "articles_fts") == 1


def test_changes_to_waiting_and_indexed_articles_in_one_transaction_leave_the_index_as_the_articles_are(tmp_path):
    store, fresh = Store(tmp_path / "s.db"), Store(tmp_path / "fresh.db")
    for s in (store, fresh):
        s.SEARCH_SHARD_ARTICLES, s.SEARCH_SHARD_WARMUP = 4, 2
    for i in range(3):
        store.insert_article(_keepers(i, TOWNS[i]), None)
    with store.transaction():  # crosses two shard boundaries, with waiting articles changed and removed
        for i in range(3, 11):
            store.insert_article(_keepers(i, TOWNS[i]), None)
        store.update_article(1, title="Keepers at Arklow")  # indexed before
        store.update_article(5, title="Keepers at Wicklow")  # waiting
        store.update_article(7, duplicate_of=6)  # waiting: indexed as a copy
        store.db.execute("DELETE FROM articles WHERE id IN (2, 9)")  # one indexed, one waiting
    # The same writes, each on its own: every article indexed before it changes.
    for i in range(11):
        fresh.insert_article(_keepers(i, TOWNS[i]), None)
    fresh.update_article(1, title="Keepers at Arklow")
    fresh.update_article(5, title="Keepers at Wicklow")
    fresh.update_article(7, duplicate_of=6)
    fresh.db.execute("DELETE FROM articles WHERE id IN (2, 9)")
    assert _layout(store) == _layout(fresh) and len(store.search_shards()) == 3
    for q in ("arklow", "wicklow", "bantry", "inch", "galway"):
        assert _found(store, q, duplicates=True) == _found(fresh, q, duplicates=True)
    assert _found(store, "wicklow") == ["Keepers at Wicklow"] and _found(store, "bantry") == []
    assert [h["id"] for h in search(store, SearchQuery("galway", duplicates=True))["items"]] == [7]
    assert _found(store, "galway") == [] and _found(store, "inch") == []  # a copy is left out unless asked for
    for table, _, _ in store.search_shards():
        store.db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 0)")


def test_a_cjk_article_changed_before_its_commit_is_indexed_as_it_ended(tmp_path):
    store = Store(tmp_path / "s.db")
    with store.transaction():
        aid = store.insert_article(doc("ja", "フェリー桟橋を閉鎖へ", HARBOUR_JA, "港湾新聞", "2024-03-05"), None)
        store.update_article(aid, title="旧渡轮码头关闭")
        gone = store.insert_article(doc("zh", "码头", HARBOUR_ZH, "海港日报", "2024-03-05"), None)
        store.db.execute("DELETE FROM articles WHERE id = ?", (gone,))
    assert _found(store, "时刻表") == [] and _found(store, "码头") == ["旧渡轮码头关闭"]
    assert _found(store, "時刻表") == ["旧渡轮码头关闭"]
    store.db.execute("INSERT INTO articles_cjk (articles_cjk) VALUES ('integrity-check')")


def test_a_rolled_back_transaction_leaves_nothing_waiting_to_be_indexed(tmp_path):
    store = Store(tmp_path / "s.db")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.insert_article(_keepers(0, "Ardmore"), None)
            raise RuntimeError("stop")
    assert store.db.execute("SELECT COUNT(*) FROM search_pending").fetchone()[0] == 0
    aid = store.insert_article(_keepers(1, "Bantry"), None)  # on its own: searchable at once
    assert [h["id"] for h in search(store, SearchQuery("lighthouse"))["items"]] == [aid]


def test_a_store_of_version_12_with_two_shards_indexes_new_articles_at_commit(tmp_path):
    db = store_at_version(tmp_path / "v12.db", 12)
    # Shard 1 as Storyline 12 closed shard 0 after article 2: triggers of its own, insert among them.
    columns = ("title, text, flags, content='articles_search', content_rowid='id', "
               "tokenize='porter unicode61 remove_diacritics 2'")
    db.execute(f"CREATE VIRTUAL TABLE articles_fts_1 USING fts5({columns})")
    for name in ("insert", "delete", "unindex", "reindex"):
        db.execute(f"DROP TRIGGER articles_fts_{name}")
    add = "INSERT INTO {t} (rowid, title, text, flags) SELECT id, title, text, flags FROM articles_search WHERE id = new.id"
    remove = ("INSERT INTO {t} ({t}, rowid, title, text, flags) SELECT 'delete', id, title, text, flags "
              "FROM articles_search WHERE id = old.id")
    for t, held in (("articles_fts", "{r}.id >= 0 AND {r}.id < 5"), ("articles_fts_1", "{r}.id >= 3")):
        db.execute(f"CREATE TRIGGER {t}_insert AFTER INSERT ON articles WHEN {held.format(r='new')} BEGIN {add.format(t=t)}; END")
        db.execute(f"CREATE TRIGGER {t}_delete BEFORE DELETE ON articles WHEN {held.format(r='old')} BEGIN {remove.format(t=t)}; END")
        db.execute(f"CREATE TRIGGER {t}_unindex BEFORE UPDATE OF title, text ON articles WHEN {held.format(r='old')} "
                   f"BEGIN {remove.format(t=t)}; END")
        db.execute(f"CREATE TRIGGER {t}_reindex AFTER UPDATE OF title, text ON articles WHEN {held.format(r='new')} "
                   f"BEGIN {add.format(t=t)}; END")
    db.execute("INSERT INTO search_shards (n, first_id, answers_from) VALUES (1, 3, 5)")
    for i in range(4):
        db.execute("INSERT INTO articles (id, key, kind, source, title, text, created_at) VALUES (?, ?, 'text', 'x', ?, ?, '2024-01-01')",
                   (i + 1, f"k{i}", f"Keepers at {TOWNS[i]}", f"The lighthouse keepers at {TOWNS[i]} logged the weather."))
    db.commit()
    db.close()
    store = Store(tmp_path / "v12.db")
    triggers = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'articles_%'")}
    assert not {t for t in triggers if t.endswith("_insert")}
    assert {"articles_fts_1_delete", "articles_fts_1_unindex", "articles_fts_1_reindex", "articles_cjk_reindex"} <= triggers
    with store.transaction():
        new = [store.insert_article(_keepers(i, TOWNS[i]), None) for i in (4, 5)]
        store.update_article(4, title="Keepers at Arklow")  # in both shards (shard 0's warm-up)
    assert new == [5, 6]
    assert [(table, ids) for table, _, _, ids in _layout(store)] == [("articles_fts_1", [3, 4, 5, 6]), ("articles_fts", [1, 2, 3, 4])]
    assert _found(store, "arklow") == ["Keepers at Arklow"] and _found(store, "fermoy") == ["Keepers at Fermoy"]
    for table in ("articles_fts", "articles_fts_1", "articles_cjk"):
        store.db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 0)")
