"""The SQLite store: every SQL statement Storyline runs lives in this module."""

from __future__ import annotations

import json
import sqlite3
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Sequence

from .models import Document, Enrichment


def utcnow() -> str:
    """The current time as an ISO 8601 UTC string."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _iso(value: datetime | None) -> str | None:
    """A datetime as an ISO 8601 string (UTC), or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def migrations() -> list[tuple[int, str]]:
    """The numbered migration scripts shipped with the package, in order."""
    folder = resources.files("storyline") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class StoreError(RuntimeError):
    """The database cannot be opened or is not a Storyline store."""


class Store:
    """A Storyline database: articles, outlets, events, stories, entities, quotes, raw inputs."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            if self.path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=10000")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open as a Storyline database ({exc})") from exc

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations this database has not seen yet; return the schema version."""
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {r[0] for r in self.db.execute("SELECT version FROM schema_migrations")}
        for version, script in migrations():
            if version in done:
                continue
            # executescript commits on its own, so the script and its record go in one BEGIN..COMMIT
            self.db.executescript(
                f"BEGIN;\n{script}\nINSERT INTO schema_migrations VALUES ({version}, '{utcnow()}');\nCOMMIT;"
            )
        return self.schema_version()

    def schema_version(self) -> int:
        """The highest migration applied."""
        row = self.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return row[0] or 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block in one transaction: all of it is stored, or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # -- raw inputs -----------------------------------------------------------------------

    def raw_exists(self, source: str, sha256: str) -> bool:
        """Whether this exact input was stored before."""
        row = self.db.execute(
            "SELECT 1 FROM raw_inputs WHERE source = ? AND sha256 = ?", (source, sha256)
        ).fetchone()
        return row is not None

    def add_raw(self, source: str, sha256: str, fmt: str, content: bytes) -> int:
        """Keep the original bytes of an input; return its id."""
        cur = self.db.execute(
            "INSERT INTO raw_inputs (source, sha256, format, content, ingested_at) VALUES (?, ?, ?, ?, ?)",
            (source, sha256, fmt, zlib.compress(content, 6), utcnow()),
        )
        return int(cur.lastrowid)

    def raw_content(self, raw_id: int) -> bytes:
        """The original bytes of a stored input."""
        row = self.db.execute("SELECT content FROM raw_inputs WHERE id = ?", (raw_id,)).fetchone()
        return zlib.decompress(row[0])

    # -- outlets and articles -------------------------------------------------------------

    def outlet_id(self, name: str | None, domain: str | None = None) -> int | None:
        """The id of an outlet by name, created on first sight."""
        if not name:
            return None
        row = self.db.execute("SELECT id FROM outlets WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row[0])
        cur = self.db.execute("INSERT INTO outlets (name, domain) VALUES (?, ?)", (name, domain))
        return int(cur.lastrowid)

    def article_id_by_key(self, key: str) -> int | None:
        """The id of the article stored under a stable key."""
        row = self.db.execute("SELECT id FROM articles WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else None

    def insert_article(self, doc: Document, raw_id: int | None, **extra: Any) -> int:
        """Store a parsed document as an article; `extra` sets further columns."""
        cols: dict[str, Any] = {
            "key": doc.key,
            "raw_id": raw_id,
            "kind": doc.kind,
            "source": doc.source,
            "url": doc.url,
            "title": doc.title,
            "title_inferred": int(doc.title_inferred),
            "text": doc.text or "",
            "description": doc.description,
            "published": _iso(doc.published),
            "outlet_id": self.outlet_id(doc.outlet),
            "byline": doc.byline,
            "language": doc.language,
            "tags": json.dumps(doc.tags, ensure_ascii=False),
            "created_at": utcnow(),
        }
        cols.update(extra)
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        cur = self.db.execute(f"INSERT INTO articles ({names}) VALUES ({marks})", tuple(cols.values()))
        return int(cur.lastrowid)

    _ARTICLE_COLUMNS = frozenset(
        {"event_id", "duplicate_of", "duplicate_kind", "merged_into", "url", "title", "title_inferred",
         "outlet_id", "keywords", "event_day", "event_day_method", "event_day_evidence", "published"}
    )

    def update_article(self, article_id: int, **cols: Any) -> None:
        """Set some columns of an article."""
        bad = set(cols) - self._ARTICLE_COLUMNS
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.db.execute(f"UPDATE articles SET {sets} WHERE id = ?", (*cols.values(), article_id))

    def article(self, article_id: int) -> sqlite3.Row | None:
        """One article with its outlet name."""
        return self.db.execute(
            "SELECT a.*, o.name AS outlet FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id WHERE a.id = ?",
            (article_id,),
        ).fetchone()

    def exact_duplicate(self, text_hash: str, exclude: int | None = None) -> int | None:
        """The first article with the same normalised text hash."""
        row = self.db.execute(
            "SELECT id FROM articles WHERE text_hash = ? AND id IS NOT ? ORDER BY id LIMIT 1",
            (text_hash, exclude),
        ).fetchone()
        return int(row[0]) if row else None

    def set_minhash(self, article_id: int, signature: bytes, bands: Sequence[int]) -> None:
        """Keep an article's MinHash signature and its LSH band hashes."""
        self.db.execute("UPDATE articles SET minhash = ? WHERE id = ?", (signature, article_id))
        self.db.executemany(
            "INSERT INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)",
            [(i, h, article_id) for i, h in enumerate(bands)],
        )

    def minhash_candidates(self, bands: Sequence[int]) -> list[tuple[int, bytes]]:
        """Articles sharing at least one LSH band with the given hashes, oldest first."""
        if not bands:
            return []
        clause = " OR ".join("(band = ? AND hash = ?)" for _ in bands)
        params: list[int] = []
        for i, h in enumerate(bands):
            params += [i, h]
        rows = self.db.execute(
            f"SELECT DISTINCT a.id, a.minhash FROM minhash_bands b JOIN articles a ON a.id = b.article_id "
            f"WHERE {clause} ORDER BY a.id",
            params,
        ).fetchall()
        return [(int(r[0]), r[1]) for r in rows]

    def save_enrichment(self, article_id: int, enrichment: Enrichment) -> None:
        """Store an article's entities, keywords and quotes."""
        if enrichment.entities:
            pairs = [(e.name, e.kind) for e in enrichment.entities]
            self.db.executemany("INSERT OR IGNORE INTO entities (name, kind) VALUES (?, ?)", pairs)
            values = ", ".join("(?, ?)" for _ in pairs)
            ids = {
                (r[1], r[2]): r[0]
                for r in self.db.execute(
                    f"SELECT id, name, kind FROM entities WHERE (name, kind) IN (VALUES {values})",
                    [x for pair in pairs for x in pair],
                )
            }
            self.db.executemany(
                "INSERT OR REPLACE INTO article_entities (article_id, entity_id, count) VALUES (?, ?, ?)",
                [(article_id, ids[(e.name, e.kind)], e.count) for e in enrichment.entities],
            )
        if enrichment.quotes:
            self.db.executemany(
                "INSERT INTO quotes (article_id, text, speaker) VALUES (?, ?, ?)",
                [(article_id, q.text, q.speaker) for q in enrichment.quotes],
            )
        if enrichment.keywords:
            self.update_article(article_id, keywords=json.dumps(enrichment.keywords, ensure_ascii=False))

    def add_lessons(self, lessons: Sequence[tuple[str, str]]) -> None:
        """Journal what the entity recogniser learned."""
        self.db.executemany("INSERT INTO lexicon (name, kind) VALUES (?, ?)", lessons)

    def lessons(self) -> list[tuple[str, str]]:
        """Everything the entity recogniser learned, in order."""
        return [(r[0], r[1]) for r in self.db.execute("SELECT name, kind FROM lexicon ORDER BY id")]

    def get_state(self, key: str, default: str = "") -> str:
        """A small piece of pipeline state."""
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_state(self, key: str, value: str) -> None:
        """Keep a small piece of pipeline state."""
        self.db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))

    # -- events and stories ---------------------------------------------------------------

    _GROUPS = ("events", "stories")

    def create_group(self, table: str, day: str | None, title: str = "") -> int:
        """Open a new, empty event or story."""
        assert table in self._GROUPS
        now = utcnow()
        cur = self.db.execute(
            f"INSERT INTO {table} (title, first_day, last_day, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (title, day, day, now, now),
        )
        return int(cur.lastrowid)

    def save_centroid(self, table: str, gid: int, signature: str, first_day: str | None, last_day: str | None) -> None:
        """Store an event's or story's signature and date span."""
        assert table in self._GROUPS
        self.db.execute(
            f"UPDATE {table} SET signature = ?, first_day = ?, last_day = ?, updated_at = ? WHERE id = ?",
            (signature, first_day, last_day, utcnow(), gid),
        )

    def group(self, table: str, gid: int) -> sqlite3.Row | None:
        """One event or story row."""
        assert table in self._GROUPS
        return self.db.execute(f"SELECT * FROM {table} WHERE id = ?", (gid,)).fetchone()

    def overlapping(self, table: str, lo: str, hi: str) -> list[sqlite3.Row]:
        """Events or stories whose date span overlaps [lo, hi] (undated ones too)."""
        assert table in self._GROUPS
        return self.db.execute(
            f"SELECT id, first_day, last_day, signature FROM {table} "
            "WHERE ((last_day >= ? AND first_day <= ?) OR first_day IS NULL) AND merged_into IS NULL ORDER BY id",
            (lo, hi),
        ).fetchall()

    _EVENT_COLUMNS = frozenset(
        {"story_id", "title", "date", "date_method", "date_evidence", "summary", "n_articles", "dirty"}
    )

    def update_event(self, event_id: int, **cols: Any) -> None:
        """Set some columns of an event."""
        bad = set(cols) - self._EVENT_COLUMNS
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        cols["updated_at"] = utcnow()
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.db.execute(f"UPDATE events SET {sets} WHERE id = ?", (*cols.values(), event_id))

    def event(self, event_id: int) -> sqlite3.Row | None:
        """One event."""
        return self.group("events", event_id)

    def event_members(self, event_id: int) -> list[sqlite3.Row]:
        """An event's articles (merged linked coverage excluded), oldest first."""
        return self.db.execute(
            "SELECT a.*, o.name AS outlet FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id "
            "WHERE a.event_id = ? AND a.merged_into IS NULL ORDER BY a.published IS NULL, a.published, a.id",
            (event_id,),
        ).fetchall()

    def unmerged_listings(self, event_id: int) -> list[sqlite3.Row]:
        """Listed coverage of an event not yet matched to a full text."""
        return self.db.execute(
            "SELECT a.id, a.title, a.url, o.name AS outlet FROM articles a "
            "LEFT JOIN outlets o ON o.id = a.outlet_id "
            "WHERE a.event_id = ? AND a.kind = 'linked' AND a.merged_into IS NULL ORDER BY a.id",
            (event_id,),
        ).fetchall()

    def full_texts(self, event_id: int) -> list[sqlite3.Row]:
        """Full-text articles of an event that no listing has been matched to yet."""
        return self.db.execute(
            "SELECT a.id, a.title, a.title_inferred, a.text, a.url, o.name AS outlet FROM articles a "
            "LEFT JOIN outlets o ON o.id = a.outlet_id WHERE a.event_id = ? AND a.text != '' "
            "AND a.duplicate_of IS NULL AND NOT EXISTS (SELECT 1 FROM articles m WHERE m.merged_into = a.id) "
            "ORDER BY a.id",
            (event_id,),
        ).fetchall()

    def linked_by_url(self, url: str) -> sqlite3.Row | None:
        """Unmerged listed coverage with this URL."""
        return self.db.execute(
            "SELECT id, event_id FROM articles WHERE url = ? AND kind = 'linked' AND merged_into IS NULL "
            "ORDER BY id LIMIT 1",
            (url,),
        ).fetchone()

    def article_by_url(self, url: str) -> sqlite3.Row | None:
        """A stored article (not listed coverage) with this URL."""
        return self.db.execute(
            "SELECT id, event_id FROM articles WHERE url = ? AND kind != 'linked' ORDER BY id LIMIT 1", (url,)
        ).fetchone()

    def update_story(self, story_id: int, title: str) -> None:
        """Set a story's title (and mark it clean)."""
        self.db.execute(
            "UPDATE stories SET title = ?, dirty = 0, updated_at = ? WHERE id = ?", (title, utcnow(), story_id)
        )

    def touch_event(self, event_id: int) -> None:
        """Recount an event's articles and mark it and its story for refreshing."""
        self.db.execute(
            "UPDATE events SET dirty = 1, updated_at = ?, n_articles = (SELECT COUNT(*) FROM articles "
            "WHERE event_id = ? AND merged_into IS NULL) WHERE id = ?",
            (utcnow(), event_id, event_id),
        )
        self.db.execute(
            "UPDATE stories SET dirty = 1 WHERE id = (SELECT story_id FROM events WHERE id = ?)", (event_id,)
        )

    def merge_events(self, keep: int, drop: int) -> None:
        """Move every article of event `drop` into event `keep` and retire `drop` (it points to `keep`)."""
        self.db.execute("UPDATE articles SET event_id = ? WHERE event_id = ?", (keep, drop))
        self.db.execute(
            "UPDATE events SET merged_into = ?, n_articles = 0, dirty = 0, first_day = NULL, last_day = NULL, "
            "signature = '{}', updated_at = ? WHERE id = ?",
            (keep, utcnow(), drop),
        )
        self.db.execute("UPDATE events SET merged_into = ? WHERE merged_into = ?", (keep, drop))
        self.touch_event(keep)

    def dirty_events(self, limit: int) -> list[int]:
        """Events whose title, date or summary is out of date."""
        return [r[0] for r in self.db.execute("SELECT id FROM events WHERE dirty = 1 ORDER BY id LIMIT ?", (limit,))]

    def dirty_stories(self, limit: int) -> list[int]:
        """Stories whose title is out of date."""
        return [r[0] for r in self.db.execute("SELECT id FROM stories WHERE dirty = 1 ORDER BY id LIMIT ?", (limit,))]

    def story_events(self, story_id: int) -> list[sqlite3.Row]:
        """A story's events, ordered by event date."""
        return self.db.execute(
            "SELECT * FROM events WHERE story_id = ? ORDER BY date IS NULL, date, id", (story_id,)
        ).fetchall()

    def story(self, story_id: int) -> sqlite3.Row | None:
        """One story."""
        return self.group("stories", story_id)

    # -- reading --------------------------------------------------------------------------

    def stories(self, limit: int = 1000) -> list[sqlite3.Row]:
        """Stories, newest development first, with event and article counts."""
        return self.db.execute(
            "SELECT s.*, COUNT(DISTINCT e.id) AS n_events, MAX(e.date) AS last_date, "
            "COALESCE(SUM(e.n_articles), 0) AS n_articles "
            "FROM stories s JOIN events e ON e.story_id = s.id GROUP BY s.id "
            "ORDER BY last_date DESC, s.id DESC LIMIT ?",
            (limit,),
        ).fetchall()

    def events(self, story_id: int | None = None, limit: int = 1000) -> list[sqlite3.Row]:
        """Events, newest first (optionally of one story)."""
        return self.db.execute(
            "SELECT * FROM events WHERE n_articles > 0 AND (? IS NULL OR story_id = ?) "
            "ORDER BY date DESC, id DESC LIMIT ?",
            (story_id, story_id, limit),
        ).fetchall()

    def articles(self, event_id: int | None = None, limit: int = 1000) -> list[sqlite3.Row]:
        """Articles, newest first (optionally of one event)."""
        return self.db.execute(
            "SELECT a.id, a.kind, a.source, a.url, a.title, a.published, a.event_id, a.duplicate_of, "
            "a.duplicate_kind, a.merged_into, a.listed_by, a.revisions, a.updated_at, o.name AS outlet "
            "FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id "
            "WHERE (? IS NULL OR a.event_id = ?) ORDER BY a.published DESC, a.id DESC LIMIT ?",
            (event_id, event_id, limit),
        ).fetchall()

    def article_entities(self, article_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Entities mentioned by some articles, with summed counts, most mentioned first."""
        if not article_ids:
            return []
        marks = ",".join("?" for _ in article_ids)
        return self.db.execute(
            f"SELECT e.name, e.kind, SUM(ae.count) AS n FROM article_entities ae JOIN entities e "
            f"ON e.id = ae.entity_id WHERE ae.article_id IN ({marks}) GROUP BY e.id ORDER BY n DESC, e.name",
            tuple(article_ids),
        ).fetchall()

    def quotes(self, article_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Quotes from some articles."""
        if not article_ids:
            return []
        marks = ",".join("?" for _ in article_ids)
        return self.db.execute(
            f"SELECT * FROM quotes WHERE article_id IN ({marks}) ORDER BY article_id, id", tuple(article_ids)
        ).fetchall()

    def counts(self) -> dict[str, int]:
        """How many rows each main table holds."""
        out = {}
        for table in ("raw_inputs", "outlets", "articles", "events", "stories", "entities", "quotes"):
            out[table] = self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        out["events"] = self.db.execute("SELECT COUNT(*) FROM events WHERE n_articles > 0").fetchone()[0]
        return out

    # -- search and corrections (web) ----------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read in one consistent snapshot while another process writes (WAL readers never block it)."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("ROLLBACK")

    def _marks(self, ids: Sequence[int]) -> str:
        """Placeholders for an IN list."""
        return ",".join("?" for _ in ids) or "NULL"

    def active_stories(self, limit: int, offset: int) -> tuple[list[sqlite3.Row], int]:
        """Stories with live events, newest development first, with their latest event; and how many."""
        # Grouped on the covering index events_live; story rows (long signatures) are read for the page only.
        # A story merged away keeps no events, so every group here is a live story.
        rows = self.db.execute(
            "WITH live AS (SELECT story_id, COUNT(*) AS n_events, MAX(date) AS last_date, SUM(n_articles) AS n_articles, "
            "MAX(updated_at) AS updated_at FROM events WHERE merged_into IS NULL AND n_articles > 0 "
            "AND story_id IS NOT NULL GROUP BY story_id), "
            "page AS (SELECT *, COUNT(*) OVER () AS total FROM live "
            "ORDER BY last_date IS NULL, last_date DESC, story_id DESC LIMIT ? OFFSET ?) "
            "SELECT s.id, s.title, s.user_title, page.*, (SELECT e.id FROM events e WHERE e.story_id = s.id "
            "AND e.merged_into IS NULL AND e.n_articles > 0 ORDER BY e.date IS NULL, e.date DESC, e.id DESC LIMIT 1) "
            "AS latest_event FROM page JOIN stories s ON s.id = page.story_id "
            "ORDER BY page.last_date IS NULL, page.last_date DESC, page.story_id DESC",
            (limit, offset),
        ).fetchall()
        total = rows[0]["total"] if rows else self.db.execute(
            "SELECT COUNT(DISTINCT story_id) FROM events WHERE merged_into IS NULL AND n_articles > 0"
        ).fetchone()[0]
        return rows, int(total)

    def story_stats(self, story_id: int) -> sqlite3.Row:
        """A story's live events: how many, their reports, first and last date."""
        return self.db.execute(
            "SELECT COUNT(*) AS n_events, COALESCE(SUM(n_articles), 0) AS n_articles, MIN(date) AS first_day, "
            "MAX(date) AS last_day FROM events WHERE story_id = ? AND merged_into IS NULL AND n_articles > 0",
            (story_id,),
        ).fetchone()

    def event_rows(self, event_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Some events, in the order asked."""
        found = self.db.execute(f"SELECT * FROM events WHERE id IN ({self._marks(event_ids)})", tuple(event_ids))
        rows = {r["id"]: r for r in found}
        return [rows[i] for i in event_ids if i in rows]

    def coverage_days(self, column: str, ids: Sequence[int]) -> list[sqlite3.Row]:
        """Reports per publication day (else the event's date) of some stories or events."""
        assert column in ("story_id", "id")
        return self.db.execute(
            f"SELECT e.{column} AS gid, COALESCE(substr(a.published, 1, 10), e.date) AS day, COUNT(*) AS n "
            f"FROM events e JOIN articles a ON a.event_id = e.id WHERE e.{column} IN ({self._marks(ids)}) "
            f"AND e.merged_into IS NULL AND a.merged_into IS NULL GROUP BY 1, 2 HAVING day IS NOT NULL ORDER BY 1, 2",
            tuple(ids),
        ).fetchall()

    def event_days(self, story_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Reports per event date of some stories (from the covering index alone: cheap for long stories)."""
        return self.db.execute(
            f"SELECT story_id AS gid, date AS day, SUM(n_articles) AS n FROM events WHERE story_id IN "
            f"({self._marks(story_ids)}) AND merged_into IS NULL AND n_articles > 0 AND date IS NOT NULL "
            f"GROUP BY 1, 2 ORDER BY 1, 2",
            tuple(story_ids),
        ).fetchall()

    def story_outlets(self, story_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Outlets covering some stories, with their report counts, most reports first."""
        # events_live holds story_id without the long signature rows; without statistics the planner
        # would pick events_story and read every event row.
        return self.db.execute(
            f"SELECT e.story_id, o.name, COUNT(*) AS n FROM events e INDEXED BY events_live "
            f"JOIN articles a ON a.event_id = e.id JOIN outlets o ON o.id = a.outlet_id "
            f"WHERE e.story_id IN ({self._marks(story_ids)}) "
            f"AND e.merged_into IS NULL AND a.merged_into IS NULL GROUP BY e.story_id, o.id ORDER BY n DESC, o.name",
            tuple(story_ids),
        ).fetchall()

    def timeline(self, story_id: int, limit: int, offset: int) -> tuple[list[sqlite3.Row], int]:
        """A page of a story's live events in date order, and how many there are."""
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM events WHERE story_id = ? AND merged_into IS NULL AND n_articles > 0 "
            "ORDER BY date IS NULL, date, id LIMIT ? OFFSET ?",
            (story_id, limit, offset),
        )]
        return self.event_rows(ids), int(self.story_stats(story_id)["n_events"])

    def _total(self, rows: list[sqlite3.Row], sql: str, params: tuple[Any, ...]) -> int:
        """The window total of a page, counted separately only when the page is empty."""
        return int(rows[0]["total"]) if rows else int(self.db.execute(sql, params).fetchone()[0])

    def event_page(self, story_id: int | None, limit: int, offset: int) -> tuple[list[sqlite3.Row], int]:
        """A page of live events, newest first (optionally of one story)."""
        rows = self.db.execute(
            "SELECT *, COUNT(*) OVER () AS total FROM events WHERE merged_into IS NULL AND n_articles > 0 "
            "AND (?1 IS NULL OR story_id = ?1) ORDER BY date IS NULL, date DESC, id DESC LIMIT ?2 OFFSET ?3",
            (story_id, limit, offset),
        ).fetchall()
        return rows, self._total(rows, "SELECT COUNT(*) FROM events WHERE merged_into IS NULL AND n_articles > 0 "
                                        "AND (?1 IS NULL OR story_id = ?1)", (story_id,))

    _COVERAGE = (
        "SELECT a.id, a.event_id, a.kind, a.source, a.url, a.title, a.published, a.language, a.duplicate_of, "
        "a.duplicate_kind, a.listed_by, a.merged_into, a.created_at, o.name AS outlet "
        "FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id "
    )

    def coverage(self, event_ids: Sequence[int]) -> list[sqlite3.Row]:
        """The reports of some events (no texts), earliest first."""
        return self.db.execute(
            self._COVERAGE + f"WHERE a.event_id IN ({self._marks(event_ids)}) AND a.merged_into IS NULL "
            "ORDER BY a.published IS NULL, a.published, a.id",
            tuple(event_ids),
        ).fetchall()

    def article_page(self, event_id: int | None, limit: int, offset: int) -> tuple[list[sqlite3.Row], int]:
        """A page of articles (no texts), newest first (optionally of one event)."""
        rows = self.db.execute(
            "SELECT * FROM (" + self._COVERAGE + "WHERE (?1 IS NULL OR a.event_id = ?1)) "
            "ORDER BY published IS NULL, published DESC, id DESC LIMIT ?2 OFFSET ?3",
            (event_id, limit, offset),
        ).fetchall()
        total = self.db.execute("SELECT COUNT(*) FROM articles WHERE (?1 IS NULL OR event_id = ?1)", (event_id,))
        return rows, int(total.fetchone()[0])

    def copies(self, article_id: int) -> list[sqlite3.Row]:
        """Duplicates of an article and listed coverage found to be it."""
        return self.db.execute(
            self._COVERAGE + "WHERE a.duplicate_of = ?1 OR a.merged_into = ?1 ORDER BY a.id", (article_id,)
        ).fetchall()

    def event_entities(self, event_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Entities of some events' reports with summed counts, most mentioned first."""
        return self.db.execute(
            f"SELECT a.event_id, e.name, e.kind, SUM(ae.count) AS n FROM articles a "
            f"JOIN article_entities ae ON ae.article_id = a.id JOIN entities e ON e.id = ae.entity_id "
            f"WHERE a.event_id IN ({self._marks(event_ids)}) AND a.merged_into IS NULL "
            f"GROUP BY a.event_id, e.id ORDER BY n DESC, e.name",
            tuple(event_ids),
        ).fetchall()

    _SEARCH_PAGE = (
        "SELECT a.id, a.kind, a.title, a.url, a.published, a.language, a.event_id, a.duplicate_of, "
        "substr(a.text, 1, 400) AS lead, o.name AS outlet, ev.title AS event_title, ev.date AS event_date, ev.story_id "
        "FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id LEFT JOIN events ev ON ev.id = a.event_id "
        "WHERE a.id IN ({ids})"
    )
    HIGHLIGHT_CHARS = 20_000  # snippets come from the opening of a text; longer ones are cut there

    def _marked(self, words: str, ids: str) -> dict[int, sqlite3.Row]:
        """Titles and snippets of some articles with the words that match marked (char 2 / char 3)."""
        # Highlighting in the big index re-runs the query for each row (slow for prefixes and long
        # texts); a scratch index of just this page, in this connection's temp schema, takes a millisecond.
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_page USING fts5(title, text, "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        self.db.execute("DELETE FROM temp.search_page")
        self.db.execute(
            f"INSERT INTO temp.search_page (rowid, title, text) SELECT id, title, substr(text, 1, ?) FROM articles "
            f"WHERE id IN ({ids})",
            (self.HIGHLIGHT_CHARS,),
        )
        rows = self.db.execute(
            "SELECT rowid AS id, highlight(search_page, 0, char(2), char(3)) AS title_marked, "
            "snippet(search_page, 1, char(2), char(3), '…', 32) AS snippet_marked FROM temp.search_page "
            "WHERE search_page MATCH ?",
            (words,),
        )
        return {r["id"]: r for r in rows}

    def search_articles(
        self, match: str, filters: dict[str, Any], limit: int, offset: int
    ) -> tuple[list[tuple[sqlite3.Row, sqlite3.Row | None, float]], int]:
        """Ranked matches (article, highlights, score) and their total; filters as in search.SearchQuery."""
        shown = "original OR copy" if filters.get("duplicates") else "original"
        words = f"{{title text}} : ({match})"
        params = {**filters, "match": f"{words} AND flags : ({shown})", "limit": limit, "offset": offset}
        where = []
        if filters.get("start"):
            where.append("substr(COALESCE(a.published, a.event_day), 1, 10) >= :start")
        if filters.get("end"):
            where.append("substr(COALESCE(a.published, a.event_day), 1, 10) <= :end")
        if filters.get("outlet"):
            where.append("a.outlet_id IN (SELECT id FROM outlets WHERE name = :outlet)")
        if filters.get("entity"):
            where.append("a.id IN (SELECT ae.article_id FROM article_entities ae JOIN entities n "
                         "ON n.id = ae.entity_id WHERE n.name = :entity COLLATE NOCASE)")
        if filters.get("story_id"):
            where.append("a.event_id IN (SELECT id FROM events WHERE story_id = :story_id)")
        # bm25 only works in the query that holds the MATCH; the title weighs 8 times the text.
        ranked = "SELECT rowid, bm25(articles_fts, 8.0, 1.0, 0.0) AS score FROM articles_fts WHERE articles_fts MATCH :match"
        if where:  # filters on article columns: rank, then look each match up
            sql = (f"SELECT f.rowid AS id, f.score, COUNT(*) OVER () AS total FROM ({ranked}) f JOIN articles a "
                   f"ON a.id = f.rowid WHERE {' AND '.join(where)} ORDER BY f.score, f.rowid LIMIT :limit OFFSET :offset")
        else:  # the index alone answers: no lookups into the big article rows
            sql = f"SELECT rowid AS id, score, 0 AS total FROM ({ranked}) ORDER BY score, rowid LIMIT :limit OFFSET :offset"
        hits = self.db.execute(sql, params).fetchall()
        if where:
            total = int(hits[0]["total"]) if hits else int(self.db.execute(
                f"SELECT COUNT(*) FROM ({ranked}) f JOIN articles a ON a.id = f.rowid WHERE {' AND '.join(where)}", params
            ).fetchone()[0])
        else:
            count = self.db.execute("SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH :match", params)
            total = int(count.fetchone()[0])
        ids = ",".join(str(int(h["id"])) for h in hits) or "NULL"  # integers from the index itself
        rows = {r["id"]: r for r in self.db.execute(self._SEARCH_PAGE.format(ids=ids))}
        marked = self._marked(words, ids) if hits else {}
        return [(rows[h["id"]], marked.get(h["id"]), float(h["score"])) for h in hits if h["id"] in rows], total

    def record_correction(self, action: str, params: dict[str, Any], result: dict[str, Any]) -> int:
        """Append a user edit to the audit log."""
        cur = self.db.execute(
            "INSERT INTO corrections (action, params, result, created_at) VALUES (?, ?, ?, ?)",
            (action, json.dumps(params, sort_keys=True), json.dumps(result, sort_keys=True), utcnow()),
        )
        return int(cur.lastrowid)

    def correction_log(self, limit: int, offset: int) -> tuple[list[sqlite3.Row], int]:
        """A page of the audit log, newest first."""
        rows = self.db.execute(
            "SELECT *, COUNT(*) OVER () AS total FROM corrections ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return rows, self._total(rows, "SELECT COUNT(*) FROM corrections", ())

    def corrections_version(self) -> int:
        """Grows with every correction: a running pipeline reloads its mirrors when it changes."""
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM corrections").fetchone()[0])

    def forbid_merge(self, table: str, a: int, b: int, correction_id: int | None) -> None:
        """Record that a user separated two events or stories."""
        assert table in self._GROUPS
        self.db.execute(
            "INSERT OR REPLACE INTO do_not_merge (kind, a, b, correction_id) VALUES (?, ?, ?, ?)",
            (table, min(a, b), max(a, b), correction_id),
        )

    def allow_merge(self, table: str, a: int, b: int) -> None:
        """Forget a do-not-merge pair (the user merged them after all)."""
        self.db.execute("DELETE FROM do_not_merge WHERE kind = ? AND a = ? AND b = ?", (table, min(a, b), max(a, b)))

    def do_not_merge(self, table: str, a: int, b: int) -> bool:
        """Whether a user separated these two events or stories."""
        row = self.db.execute(
            "SELECT 1 FROM do_not_merge WHERE kind = ? AND a = ? AND b = ?", (table, min(a, b), max(a, b))
        ).fetchone()
        return row is not None

    def article_family(self, article_id: int) -> list[int]:
        """An article with its duplicates, listings found to be it and coverage it listed, from its event."""
        rows = self.db.execute(
            "SELECT b.id FROM articles a JOIN articles b ON b.id = a.id OR (b.event_id IS a.event_id AND "
            "(b.duplicate_of = a.id OR b.merged_into = a.id OR (b.listed_by = a.id AND b.kind = 'linked'))) "
            "WHERE a.id = ? ORDER BY b.id",
            (article_id,),
        )
        return [int(r[0]) for r in rows]

    def set_event(self, article_ids: Sequence[int], event_id: int) -> None:
        """Move articles to an event."""
        self.db.execute(
            f"UPDATE articles SET event_id = ? WHERE id IN ({self._marks(article_ids)})", (event_id, *article_ids)
        )

    def set_story(self, event_ids: Sequence[int], story_id: int) -> None:
        """Move events (and the events merged into them) to a story."""
        marks = self._marks(event_ids)
        self.db.execute(
            f"UPDATE events SET story_id = ?, updated_at = ? WHERE id IN ({marks}) OR merged_into IN ({marks})",
            (story_id, utcnow(), *event_ids, *event_ids),
        )
        self.db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story_id,))

    def member_inputs(self, event_id: int) -> list[sqlite3.Row]:
        """An event's stored reports in arrival order, with their listed headlines and top entities."""
        # Exactly what ingest folded into the signature (vectors.document_vector's inputs), listings excluded.
        return self.db.execute(
            "SELECT a.id, a.title, a.text, a.url, a.event_day, "
            "(SELECT json_group_array(l.title) FROM articles l WHERE l.listed_by = a.id AND l.title IS NOT NULL) "
            "AS listed, (SELECT json_group_array(name) FROM (SELECT e.name FROM article_entities ae JOIN entities e "
            "ON e.id = ae.entity_id WHERE ae.article_id = a.id ORDER BY ae.count DESC, e.name LIMIT 8)) AS entities "
            "FROM articles a WHERE a.event_id = ? AND a.kind != 'linked' ORDER BY a.id",
            (event_id,),
        ).fetchall()

    def retire_story(self, drop: int, keep: int) -> None:
        """Retire a story without live events into another; its retired events follow."""
        self.db.execute("UPDATE events SET story_id = ? WHERE story_id = ?", (keep, drop))
        self.db.execute(
            "UPDATE stories SET merged_into = ?, signature = '{}', first_day = NULL, last_day = NULL, dirty = 0, "
            "updated_at = ? WHERE id = ?",
            (keep, utcnow(), drop),
        )
        self.db.execute("UPDATE stories SET merged_into = ? WHERE merged_into = ?", (keep, drop))

    def rename_story(self, story_id: int, title: str) -> None:
        """Give a story a user title, which later automatic titling keeps."""
        self.db.execute(
            "UPDATE stories SET user_title = ?1, title = ?1, dirty = 0, updated_at = ?2 WHERE id = ?3",
            (title, utcnow(), story_id),
        )

    def story_event_ids(self, story_id: int) -> list[int]:
        """A story's live events, oldest id first (the order they were threaded in)."""
        rows = self.db.execute(
            "SELECT id FROM events WHERE story_id = ? AND merged_into IS NULL AND n_articles > 0 ORDER BY id",
            (story_id,),
        )
        return [int(r[0]) for r in rows]

    # -- export and import (publish) ----------------------------------------------------

    # Tables whose rows a dump writes in their own record shapes; the rest go out as generic rows.
    _DUMPED_AS_RECORDS = frozenset(
        {"raw_inputs", "outlets", "entities", "stories", "events", "articles", "quotes", "article_entities", "minhash_bands"}
    )

    def table_columns(self, table: str) -> list[str]:
        """A table's column names, in order (empty when there is no such table)."""
        return [r[0] for r in self.db.execute("SELECT name FROM pragma_table_info(?)", (table,))]

    def extra_tables(self) -> list[str]:
        """Plain tables beyond the main records (corrections, ...): no FTS shadows, no bookkeeping."""
        rows = self.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
        virtual = [r[0] for r in rows if (r[1] or "").upper().startswith("CREATE VIRTUAL TABLE")]
        return [
            r[0] for r in rows
            if r[0] not in self._DUMPED_AS_RECORDS and r[0] != "schema_migrations" and not r[0].startswith("sqlite_")
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

    def is_empty(self) -> bool:
        """Whether the store holds no inputs, articles, events or stories yet."""
        return not any(
            self.db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
            for t in ("raw_inputs", "outlets", "entities", "articles", "events", "stories")
        )

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
        self.import_row("raw_inputs", values | {"content": zlib.compress(values["content"], 6)})

    # -- feeds and fetching (collection) ----------------------------------------------------

    def add_feed(self, url: str, name: str | None, every_s: int) -> tuple[int, bool]:
        """Subscribe to a feed (due at once); return its id and whether it is new."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO feeds (url, name, every_s, added_at, next_poll) VALUES (?, ?, ?, ?, 0)",
            (url, name, int(every_s), utcnow()),
        )
        row = self.db.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
        return int(row[0]), cur.rowcount > 0

    def feed(self, ref: int | str) -> sqlite3.Row | None:
        """One subscription, by id or URL."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return self.db.execute("SELECT * FROM feeds WHERE id = ?", (int(ref),)).fetchone()
        return self.db.execute("SELECT * FROM feeds WHERE url = ?", (ref,)).fetchone()

    def feeds(self) -> list[sqlite3.Row]:
        """Every subscription with how many items it brought and how its pages fare."""
        return self.db.execute(
            "SELECT f.*, (SELECT COUNT(*) FROM feed_items i WHERE i.feed_id = f.id) AS items_seen, "
            "(SELECT COUNT(*) FROM feed_items i JOIN pages p ON p.article_id = i.article_id "
            " WHERE i.feed_id = f.id AND p.state = 'pending') AS pages_pending, "
            "(SELECT COUNT(*) FROM feed_items i JOIN pages p ON p.article_id = i.article_id "
            " WHERE i.feed_id = f.id AND p.state = 'failed') AS pages_failed "
            "FROM feeds f ORDER BY f.id"
        ).fetchall()

    def remove_feed(self, feed_id: int) -> None:
        """Unsubscribe; stored articles stay, pages only this feed wanted are no longer fetched."""
        self.db.execute(
            "DELETE FROM pages WHERE state = 'pending' AND article_id IN "
            "(SELECT article_id FROM feed_items WHERE feed_id = ?) AND article_id NOT IN "
            "(SELECT article_id FROM feed_items WHERE feed_id != ?)",
            (feed_id, feed_id),
        )
        self.db.execute("DELETE FROM feed_items WHERE feed_id = ?", (feed_id,))
        self.db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))

    def due_feeds(self, now: float) -> list[sqlite3.Row]:
        """Subscriptions due for a poll, most overdue first."""
        return self.db.execute("SELECT * FROM feeds WHERE next_poll <= ? ORDER BY next_poll, id", (now,)).fetchall()

    def next_feed_due(self, after: float) -> float | None:
        """When the next subscription not yet due at `after` becomes due (unix time)."""
        return self.db.execute("SELECT MIN(next_poll) FROM feeds WHERE next_poll > ?", (after,)).fetchone()[0]

    _FEED_COLUMNS = frozenset(
        {"etag", "last_modified", "last_sha256", "last_polled", "last_success", "last_status", "last_error",
         "last_error_at", "error_count", "next_poll", "name", "every_s"}
    )

    def update_feed(self, feed_id: int, **cols: Any) -> None:
        """Set some columns of a subscription."""
        bad = set(cols) - self._FEED_COLUMNS
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.db.execute(f"UPDATE feeds SET {sets} WHERE id = ?", (*cols.values(), feed_id))

    def link_feed_items(self, feed_id: int, keys: Sequence[str]) -> list[int]:
        """Record which stored articles a feed listed; return the ids it had not listed before."""
        new = []
        for key in keys:
            aid = self.article_id_by_key(key)
            if aid is None:
                continue
            cur = self.db.execute(
                "INSERT OR IGNORE INTO feed_items (feed_id, article_id, first_seen) VALUES (?, ?, ?)",
                (feed_id, aid, utcnow()),
            )
            if cur.rowcount:
                new.append(aid)
        return new

    def enqueue_pages(self, article_ids: Sequence[int]) -> int:
        """Queue the pages of feed items for fetching (once each); return how many were queued."""
        if not article_ids:
            return 0
        cur = self.db.execute(
            f"INSERT OR IGNORE INTO pages (article_id, url) SELECT id, url FROM articles "
            f"WHERE id IN ({','.join('?' * len(article_ids))}) AND kind = 'feed-item' AND url IS NOT NULL",
            tuple(article_ids),
        )
        return cur.rowcount

    def due_pages(self, now: float, limit: int = 1000) -> list[sqlite3.Row]:
        """Pages waiting to be fetched whose time has come, oldest first."""
        return self.db.execute(
            "SELECT * FROM pages WHERE state = 'pending' AND next_try <= ? ORDER BY next_try, article_id LIMIT ?",
            (now, limit),
        ).fetchall()

    def next_page_due(self, after: float) -> float | None:
        """When the next pending page not yet due at `after` becomes due (unix time)."""
        return self.db.execute(
            "SELECT MIN(next_try) FROM pages WHERE state = 'pending' AND next_try > ?", (after,)
        ).fetchone()[0]

    _PAGE_COLUMNS = frozenset({"url", "state", "attempts", "hops", "next_try", "last_error", "fetched_at"})

    def update_page(self, article_id: int, **cols: Any) -> None:
        """Set some columns of a queued page."""
        bad = set(cols) - self._PAGE_COLUMNS
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.db.execute(f"UPDATE pages SET {sets} WHERE article_id = ?", (*cols.values(), article_id))

    def page(self, article_id: int) -> sqlite3.Row | None:
        """The fetch state of an article's page."""
        return self.db.execute("SELECT * FROM pages WHERE article_id = ?", (article_id,)).fetchone()

    def robots(self, origin: str) -> sqlite3.Row | None:
        """The stored robots.txt of a site."""
        return self.db.execute("SELECT * FROM robots WHERE origin = ?", (origin,)).fetchone()

    def save_robots(self, origin: str, status: int, body: str, fetched_at: float) -> None:
        """Keep a site's robots.txt (status 0: it could not be fetched)."""
        self.db.execute(
            "INSERT OR REPLACE INTO robots (origin, status, body, fetched_at) VALUES (?, ?, ?, ?)",
            (origin, status, body, fetched_at),
        )

    def article_versions(self, article_id: int) -> list[sqlite3.Row]:
        """Every recorded version of an article, oldest first."""
        return self.db.execute(
            "SELECT * FROM article_versions WHERE article_id = ? ORDER BY id", (article_id,)
        ).fetchall()

    def latest_version(self, article_id: int, origin: str) -> sqlite3.Row | None:
        """The newest version of an article read from one origin (feed, page, file)."""
        return self.db.execute(
            "SELECT * FROM article_versions WHERE article_id = ? AND origin = ? ORDER BY id DESC LIMIT 1",
            (article_id, origin),
        ).fetchone()

    def version_origins(self, article_id: int) -> set[str]:
        """The origins an article has versions from."""
        rows = self.db.execute("SELECT DISTINCT origin FROM article_versions WHERE article_id = ?", (article_id,))
        return {r[0] for r in rows}

    def add_version(self, article_id: int, origin: str, fields: dict[str, Any], seen_at: str | None = None) -> None:
        """Record one version of an article (title, description, text, text_hash, published)."""
        self.db.execute(
            "INSERT INTO article_versions (article_id, origin, title, description, text, text_hash, published, seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (article_id, origin, fields.get("title"), fields.get("description"), fields.get("text") or "",
             fields.get("text_hash"), fields.get("published"), seen_at or utcnow()),
        )

    _REVISED_COLUMNS = frozenset(
        {"title", "title_inferred", "text", "text_hash", "description", "published", "outlet_id", "byline",
         "language", "event_day", "event_day_method", "event_day_evidence", "updated_at"}
    )

    def revise_article(self, article_id: int, cols: dict[str, Any], counted: bool) -> None:
        """Change an article's content in place; `counted` marks it as updated since first seen."""
        bad = set(cols) - self._REVISED_COLUMNS
        if bad:
            raise ValueError(f"not revisable: {sorted(bad)}")
        sets = [f"{k} = ?" for k in cols] + (["revisions = revisions + 1"] if counted else [])
        if sets:
            self.db.execute(f"UPDATE articles SET {', '.join(sets)} WHERE id = ?", (*cols.values(), article_id))

    def clear_derived(self, article_id: int) -> None:
        """Forget what was computed from an article's old text: MinHash bands, entities, quotes."""
        self.db.execute("DELETE FROM minhash_bands WHERE article_id = ?", (article_id,))
        self.db.execute("UPDATE articles SET minhash = NULL WHERE id = ?", (article_id,))
        self.db.execute("DELETE FROM article_entities WHERE article_id = ?", (article_id,))
        self.db.execute("DELETE FROM quotes WHERE article_id = ?", (article_id,))
