"""The SQLite store: migrations, WAL, transactions."""

import sqlite3
import subprocess
import sys

import pytest

from storyline.models import Document
from storyline.store import Store, StoreError, migrations

from conftest import store_at_version


def test_migrations_are_numbered_and_applied_once(tmp_path):
    path = tmp_path / "m.db"
    store = Store(path)
    versions = [v for v, _ in migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert store.schema_version() == versions[-1]
    store.close()
    again = Store(path)  # reopening applies nothing twice
    rows = again.db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    assert rows == len(versions)


def test_file_store_uses_wal(tmp_path):
    store = Store(tmp_path / "w.db")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_transaction_rolls_back_everything_on_error():
    store = Store(":memory:")
    doc = Document(source="mem", kind="text", key="k1", title="A ferry stops", text="body")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.insert_article(doc, None)
            raise RuntimeError("boom")
    assert store.article_id_by_key("k1") is None
    with store.transaction():
        aid = store.insert_article(doc, None)
    assert store.article(aid)["title"] == "A ferry stops"


def test_raw_input_round_trip():
    store = Store(":memory:")
    rid = store.add_raw("x.txt", "abc", "text", b"date 2024-01-01 hello")
    assert store.raw_exists("x.txt", "abc")
    assert store.raw_content(rid) == b"date 2024-01-01 hello"


def test_not_a_database_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(StoreError, match="notes.db"):
        Store(bogus)


@pytest.mark.parametrize("table", ["events", "stories"])
def test_overlapping_groups_are_found_through_indexes(table):
    store = Store(":memory:")
    with store.transaction():
        spans = {
            "march": ("2024-03-01", "2024-03-20"),
            "april": ("2024-04-10", "2024-04-12"),
            "long": ("2023-12-01", "2024-06-01"),
            "undated": (None, None),
        }
        ids = {}
        for name, (first, last) in spans.items():
            ids[name] = store.create_group(table, first)
            store.save_centroid(table, ids[name], "{}", first, last)
        gone = store.create_group(table, "2024-03-05")
        store.db.execute(f"UPDATE {table} SET merged_into = ? WHERE id = ?", (ids["march"], gone))
    found = [row["id"] for row in store.overlapping(table, "2024-03-15", "2024-03-31")]
    assert found == sorted([ids["march"], ids["long"], ids["undated"]])
    # Reading every group on each load made ingest slow down as the archive grew.
    sql = store.overlapping_sql(table)
    plan = " | ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql, ("2024-03-15", "2024-03-31")))
    assert f"SCAN {table} |" not in plan + " |" and f"INDEX {table}_span" in plan, plan


def test_dirty_stories_are_found_through_an_index():
    store = Store(":memory:")
    plan = store.db.execute("EXPLAIN QUERY PLAN SELECT id FROM stories WHERE dirty = 1 ORDER BY id LIMIT 5").fetchall()
    assert "stories_dirty" in plan[0][3]


def test_a_store_of_version_7_keeps_its_minhash_bands_keyed_by_article(tmp_path):
    from storyline import dedup

    path = tmp_path / "v7.db"
    db = store_at_version(path, 7)
    texts = ["The ferry crews walked out over rosters on Monday morning at the harbour. " * 8,
             "Snow closed the mountain pass and the villages below waited for the ploughs. " * 8]
    prints = [dedup.fingerprint(text) for text in texts]
    for aid, fp in enumerate(prints, 1):
        db.execute("INSERT INTO articles (id, key, kind, source, created_at, minhash) VALUES (?, ?, 'text', 'x', '2026-01-01', ?)",
                   (aid, f"k{aid}", fp.signature))
        db.executemany("INSERT INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)",
                       [(i, h, aid) for i, h in enumerate(fp.bands)])
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version() >= 8
    assert store.db.execute("SELECT COUNT(*) FROM minhash_bands").fetchone()[0] == 2 * len(prints[0].bands)
    assert [aid for aid, _ in store.minhash_candidates(prints[1].bands)] == [2]
    plan = " ".join(r[3] for r in store.db.execute("EXPLAIN QUERY PLAN DELETE FROM minhash_bands WHERE article_id = 2"))
    assert "PRIMARY KEY" in plan and "SCAN" not in plan  # a revision no longer reads every article's bands
    with store.transaction():
        store.clear_derived(2)
    assert store.minhash_candidates(prints[1].bands) == [] and len(store.minhash_candidates(prints[0].bands)) == 1


def _wait_for(condition, seconds: float = 10.0) -> bool:
    """Poll until condition() holds or the time is up (a wait for a thread, not a timing check)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _articles_in_main_file(path, tmp_path) -> int:
    """Articles the database file holds by itself, without its write-ahead log."""
    import shutil

    copy = tmp_path / "file-only.db"
    shutil.copy(path, copy)  # the -wal file is left behind
    db = sqlite3.connect(copy)
    try:
        return db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    except sqlite3.DatabaseError:  # the schema itself is still in the log, or the copy caught a page mid-write
        return 0
    finally:
        db.close()


def _store_one(store, i: int, words: int = 30) -> None:
    doc = Document(source="mem", kind="text", key=f"k{i}", title=f"Ferry {i} stops", text=" ".join(["harbour"] * words))
    with store.transaction():
        store.insert_article(doc, None)


def test_commits_reach_the_database_file_through_the_background_checkpoint(tmp_path):
    path = tmp_path / "c.db"
    inline = Store(tmp_path / "inline.db")  # SQLite's own checkpoint waits for 1000 pages of log
    for i in range(3):
        _store_one(inline, i)
    assert _articles_in_main_file(tmp_path / "inline.db", tmp_path) == 0
    inline.close()
    store = Store(path)
    store.checkpoint_in_background(0.01)
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == Store.BACKSTOP_PAGES
    for i in range(3):
        _store_one(store, i)
    assert _wait_for(lambda: _articles_in_main_file(path, tmp_path) == 3)
    thread = store._checkpointer._thread
    assert thread is not None and thread.is_alive()
    store.close()
    assert not thread.is_alive()  # closing the store stops its thread


def test_the_log_starts_over_once_checkpointed_rather_than_growing(tmp_path):
    path = tmp_path / "g.db"
    store = Store(path)
    store.checkpoint_in_background(0.01)
    wal = tmp_path / "g.db-wal"
    sizes = []
    for i in range(40):  # about 100 KB of log a commit (40 KB of text, its index)
        _store_one(store, i, words=5000)
        assert _wait_for(lambda i=i: _articles_in_main_file(path, tmp_path) == i + 1)
        sizes.append(wal.stat().st_size)
    # Each commit was copied before the next began, so the next wrote the log from its start
    # (the file keeps its largest size, set by the migrations); unchecked, 40 commits add 4 MB.
    assert sizes[-1] - sizes[0] < 200_000
    store.close()


def test_an_idle_checkpoint_thread_ends_and_the_next_commit_starts_one(tmp_path):
    path = tmp_path / "i.db"
    store = Store(path)
    store.checkpoint_in_background(0.01)
    checkpointer = store._checkpointer
    checkpointer.IDLE_S = 0.05
    _store_one(store, 0)
    first = checkpointer._thread
    assert _wait_for(lambda: not first.is_alive() and checkpointer._thread is None)
    _store_one(store, 1)
    assert checkpointer._thread is not None and checkpointer._thread is not first
    assert _wait_for(lambda: _articles_in_main_file(path, tmp_path) == 2)
    store.close()


def test_a_memory_store_or_zero_seconds_keeps_sqlites_own_checkpoints(tmp_path):
    memory = Store(":memory:")
    memory.checkpoint_in_background(2.0)
    assert memory._checkpointer is None
    store = Store(tmp_path / "z.db")
    store.checkpoint_in_background(0)
    assert store._checkpointer is None and store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000


def test_someone_elses_database_is_refused_and_left_as_it_was(tmp_path):
    import sqlite3 as stdlib_sqlite3

    from storyline.store import StoreError

    path = tmp_path / "contacts.db"
    other = stdlib_sqlite3.connect(path)
    other.execute("CREATE TABLE contacts (name TEXT)")
    other.execute("INSERT INTO contacts VALUES ('Ada')")
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a Storyline database"):
        Store(path)
    assert path.read_bytes() == before and not (tmp_path / "contacts.db-wal").exists()


def test_commands_opening_a_new_database_at_once_all_succeed(tmp_path):
    script = "import sys; from storyline.store import Store; Store(sys.argv[1]).close()"
    for attempt in range(4):
        db = tmp_path / f"new{attempt}.db"
        procs = [subprocess.Popen([sys.executable, "-c", script, str(db)], stderr=subprocess.PIPE, text=True) for _ in range(6)]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, errors
        store = Store(db)
        assert store.db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == store.schema_version() == len(migrations())
        store.close()


def test_an_entity_named_twice_in_one_article_is_one_row_with_both_counts():
    from storyline.models import Enrichment, Entity

    store = Store(":memory:")
    aid = store.insert_article(Document(source="a.txt", kind="text", key="a", title="Strike", text="Port Alma dockers."), None)
    store.save_enrichment(aid, Enrichment(entities=[Entity("Port Alma", "place", 2), Entity("Port Alma", "place", 3), Entity("Ines Duarte", "person")]))
    rows = store.db.execute(
        "SELECT e.name, ae.count FROM article_entities ae JOIN entities e ON e.id = ae.entity_id WHERE ae.article_id = ? ORDER BY e.name", (aid,)
    ).fetchall()
    assert [tuple(r) for r in rows] == [("Ines Duarte", 1), ("Port Alma", 5)]


def test_minhash_candidates_can_ask_for_several_shared_bands_and_count_them_in_the_band_index(tmp_path):
    store = Store(tmp_path / "bands.db")
    ids = [store.insert_article(Document(source="t", kind="text", key=f"b{i}", title=f"Pier {i}", text="Ferry pier."), None)
           for i in range(3)]
    mine = list(range(100, 116))
    store.set_minhash_bands(ids[0], mine)  # all 16 bands alike
    store.set_minhash_bands(ids[1], mine[:3] + [-1] * 13)  # 3 alike
    store.set_minhash_bands(ids[2], [-2] * 16)  # none
    assert [aid for aid, _ in store.minhash_candidates(mine)] == ids[:2]
    assert [aid for aid, _ in store.minhash_candidates(mine, 3)] == ids[:2]
    assert [aid for aid, _ in store.minhash_candidates(mine, 4)] == ids[:1]
    clause = " OR ".join("(band = ? AND hash = ?)" for _ in mine)
    plan = " ".join(r[3] for r in store.db.execute(
        f"EXPLAIN QUERY PLAN SELECT article_id FROM minhash_bands WHERE {clause} GROUP BY article_id HAVING COUNT(*) >= 4",
        [x for i, h in enumerate(mine) for x in (i, h)]))
    assert "minhash_bands_lookup" in plan  # seeks each band, never reads the whole table
