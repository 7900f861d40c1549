"""The SQLite store: migrations, WAL, transactions."""

import sqlite3

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
