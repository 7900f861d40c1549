"""SQL of exports and imports (publish)"""

from __future__ import annotations

import json
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..models import Document, Enrichment
from ..sqlite import sqlite3

from .base import _iso, pack, utcnow


class ExportSQL:
    """SQL of exports and imports (publish) (a part of Store; `self.db` is its connection)."""

    db: sqlite3.Connection

    # -- export and import (publish) ----------------------------------------------------

    # Tables whose rows a dump writes in their own record shapes; the rest go out as generic rows.
    _DUMPED_AS_RECORDS = frozenset(
        {"raw_inputs", "outlets", "entities", "stories", "events", "articles", "quotes", "article_entities", "minhash_bands"}
    )
    # Summaries the store's triggers derive from the records (migration 004): rebuilt on import, never dumped.
    _DERIVED = frozenset({"story_summary", "story_outlet_counts", "story_day_counts", "story_event_days"})
    # How this store lays out its search index (migrations 010, 013): its own, not data; an imported
    # store indexes the articles in a layout of its own making.
    LAYOUT_TABLES = frozenset({"search_shards", "search_pending"})

    def table_columns(self, table: str) -> list[str]:
        """A table's column names, in order (empty when there is no such table)."""
        return [r[0] for r in self.db.execute("SELECT name FROM pragma_table_info(?)", (table,))]

    def extra_tables(self) -> list[str]:
        """Plain tables beyond the main records (corrections, ...): no FTS shadows, no bookkeeping."""
        rows = self.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
        virtual = [r[0] for r in rows if (r[1] or "").upper().startswith("CREATE VIRTUAL TABLE")]
        return [
            r[0] for r in rows
            if r[0] not in self._DUMPED_AS_RECORDS | self._DERIVED | self.LAYOUT_TABLES and r[0] != "schema_migrations" and not r[0].startswith("sqlite_")
            and not any(r[0] == v or r[0].startswith(v + "_") for v in virtual)
        ]

    def iter_table(self, table: str) -> Iterator[sqlite3.Row]:
        """Every row of a table, streamed in primary-key order."""
        if table not in self.extra_tables() and table not in ("outlets", "entities"):
            raise ValueError(f"not an exportable table: {table!r}")
        keys = [r[0] for r in self.db.execute("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (table,))]
        order = ", ".join(f'"{k}"' for k in keys) or "rowid"
        yield from self.db.execute(f'SELECT * FROM "{table}" ORDER BY {order}')

    def iter_raw(self) -> Iterator[dict[str, Any]]:
        """Every stored input with its original (decompressed) bytes, streamed."""
        for row in self.db.execute("SELECT * FROM raw_inputs ORDER BY id"):
            yield dict(row) | {"content": zlib.decompress(row["content"])}

    def iter_stories(self) -> Iterator[sqlite3.Row]:
        """Every story row with its live event ids (JSON, by date), streamed."""
        yield from self.db.execute(
            "SELECT s.*, (SELECT json_group_array(id) FROM (SELECT id FROM events WHERE story_id = s.id "
            "AND merged_into IS NULL AND n_articles > 0 ORDER BY date IS NULL, date, id)) AS event_ids_json "
            "FROM stories s ORDER BY s.id"
        )

    def iter_events(self) -> Iterator[sqlite3.Row]:
        """Every event row with its member article ids and outlet names (JSON), streamed."""
        yield from self.db.execute(
            "SELECT e.*, (SELECT json_group_array(id) FROM (SELECT id FROM articles WHERE event_id = e.id "
            "AND merged_into IS NULL ORDER BY id)) AS article_ids_json, "
            "(SELECT json_group_array(name) FROM (SELECT DISTINCT o.name FROM articles a JOIN outlets o "
            "ON o.id = a.outlet_id WHERE a.event_id = e.id AND a.merged_into IS NULL ORDER BY o.name COLLATE NOCASE)) "
            "AS outlets_json FROM events e ORDER BY e.id"
        )

    def iter_articles(self) -> Iterator[sqlite3.Row]:
        """Every article row with outlet, story, event date, entities and quotes (JSON), streamed."""
        yield from self.db.execute(
            "SELECT a.*, o.name AS outlet, e.story_id AS story_id, e.date AS event_date, "
            "(SELECT json_group_array(json_object('id', id, 'text', text, 'speaker', speaker)) FROM "
            "(SELECT id, text, speaker FROM quotes WHERE article_id = a.id ORDER BY id)) AS quotes_json, "
            "(SELECT json_group_array(json_object('id', id, 'name', name, 'kind', kind, 'count', count)) FROM "
            "(SELECT en.id, en.name, en.kind, ae.count FROM article_entities ae JOIN entities en ON en.id = ae.entity_id "
            "WHERE ae.article_id = a.id ORDER BY ae.count DESC, en.name, en.id)) AS entities_json "
            "FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id LEFT JOIN events e ON e.id = a.event_id "
            "ORDER BY a.id"
        )

    def iter_minhash_bands(self) -> Iterator[sqlite3.Row]:
        """Every LSH band row by article (a sort, not an index: the table is only indexed by band)."""
        yield from self.db.execute("SELECT article_id, band, hash FROM minhash_bands ORDER BY article_id, band, hash")

    def live_story_ids(self) -> Iterator[int]:
        """Stories with at least one live event, by id, streamed."""
        for row in self.db.execute(
            "SELECT DISTINCT e.story_id FROM events e JOIN stories s ON s.id = e.story_id "
            "WHERE e.merged_into IS NULL AND e.n_articles > 0 AND s.merged_into IS NULL ORDER BY e.story_id"
        ):
            yield int(row[0])

    def iter_live_events(self) -> Iterator[sqlite3.Row]:
        """Events that have articles and were not merged away, by id, streamed."""
        yield from self.db.execute("SELECT * FROM events WHERE merged_into IS NULL AND n_articles > 0 ORDER BY id")

    def feed_events(self, story_id: int | None, limit: int) -> list[sqlite3.Row]:
        """Live events (optionally of one story), most recently updated first; limit < 0 means all."""
        return self.db.execute(
            "SELECT * FROM events WHERE merged_into IS NULL AND n_articles > 0 AND (?1 IS NULL OR story_id = ?1) "
            "ORDER BY updated_at DESC, id DESC LIMIT ?2",
            (story_id, limit),
        ).fetchall()

    def article_keywords(self, article_ids: Sequence[int]) -> list[list[str]]:
        """The keyword lists of some articles, in id order."""
        rows = self.db.execute(
            f"SELECT keywords FROM articles WHERE id IN ({self._marks(article_ids)}) ORDER BY id", tuple(article_ids)
        )
        return [json.loads(r[0] or "[]") for r in rows]

    def filled_tables(self) -> list[str]:
        """The tables an import writes that already hold rows (feeds and corrections as well as the records)."""
        tables = sorted(self._DUMPED_AS_RECORDS | set(self.extra_tables()))
        # Every store holds its identity from its creation (migration 011); an import replaces it with the dump's.
        mine = {"state": " WHERE key NOT IN ('store_id', 'store_created')"}
        return [t for t in tables if self.db.execute(f'SELECT 1 FROM "{t}"{mine.get(t, "")} LIMIT 1').fetchone()]

    def story_renames(self) -> dict[int, str]:
        """When each story a user renamed was last renamed (the corrections log), by story id."""
        rows = self.db.execute(
            "SELECT json_extract(params, '$.story_id'), MAX(created_at) FROM corrections "
            "WHERE action = 'rename_story' GROUP BY 1"
        )
        return {int(r[0]): r[1] for r in rows if r[0] is not None}

    def is_empty(self) -> bool:
        """Whether the store holds nothing an import would write."""
        return not self.filled_tables()

    @contextmanager
    def import_transaction(self) -> Iterator[None]:
        """One transaction for an import, foreign keys checked at the end (records may come in any order)."""
        with self.transaction():
            self.db.execute("PRAGMA defer_foreign_keys = ON")
            yield
            bad = self.db.execute("SELECT * FROM pragma_foreign_key_check LIMIT 3").fetchall()
            if bad:
                found = "; ".join(f"{r[0]} row {r[1]} -> missing {r[2]}" for r in bad)
                raise sqlite3.IntegrityError(f"dangling references: {found}")

    _IMPORT_VERBS = frozenset({"INSERT", "INSERT OR IGNORE", "INSERT OR REPLACE"})

    def import_row(self, table: str, values: dict[str, Any], verb: str = "INSERT") -> None:
        """Insert one row with its own ids; keys that are not columns of the table are ignored."""
        columns = self.table_columns(table)
        if not columns or table.startswith("sqlite_") or verb not in self._IMPORT_VERBS:
            raise ValueError(f"cannot import into {table!r} with {verb}")
        cols = [c for c in columns if c in values]
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        self.db.execute(f'{verb} INTO "{table}" ({names}) VALUES ({marks})', tuple(values[c] for c in cols))

    def import_raw(self, values: dict[str, Any]) -> None:
        """Insert one stored input, `content` given as its original bytes."""
        self.import_row("raw_inputs", values | {"content": pack(values["content"])})
