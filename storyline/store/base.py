"""The store's core: connection, migrations, transactions, articles, events and stories."""

from __future__ import annotations

import json
import logging
import threading
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..models import Document, Enrichment
from ..sqlite import sqlite3
from .index import SearchIndexSQL


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


def pack(content: bytes) -> bytes:
    """An input's bytes as stored: zlib at its fastest level (a fifth of the size, at ~1 ms per 100 KB page)."""
    return zlib.compress(content, 1)




MAX_ID = 2**63 - 1  # SQLite's largest integer: ids and counts past it cannot even be asked for


class StoreError(RuntimeError):
    """The database cannot be opened or is not a Storyline store."""


log = logging.getLogger("storyline.store")


class Checkpointer:
    """Copies a database's write-ahead log into its file from a thread and a connection of its own.

    SQLite's own checkpoint runs inside the commit that fills the log, so the process storing
    articles waited for the page copies and an fsync (1.2 to 1.8 ms an article, 10,000 to 100,000
    stored). Here a commit only appends to the log; the commits of `every_s` seconds share one
    checkpoint, so a page they all change (an index leaf, an FTS5 segment) is copied once.
    """

    IDLE_S = 30.0  # the thread ends after this long without a commit; the next commit starts another

    def __init__(self, path: str, every_s: float) -> None:
        self.path = path
        self.every_s = every_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """Say that a commit happened: a checkpoint follows within every_s seconds."""
        with self._lock:
            if self._halt.is_set():
                return
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="storyline-checkpoint", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        """Checkpoint (PASSIVE: never blocking a writer or a reader) after each gathering of commits."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while not self._halt.is_set():
                if not self._wake.wait(self.IDLE_S):
                    with self._lock:
                        if not self._wake.is_set():  # a nudge after this point starts a new thread
                            self._thread = None
                            return
                    continue
                if self._halt.wait(self.every_s):
                    return  # closing: the last connection to close checkpoints what is left
                self._wake.clear()
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the log stays, and SQLite's backstop checkpoints it
                    log.warning("%s: background checkpoint failed (%s)", self.path, exc)
        finally:
            db.close()

    def close(self) -> None:
        """Stop the thread (after its current checkpoint) and close its connection."""
        with self._lock:
            self._halt.set()
            thread = self._thread
        if thread is not None:
            thread.join()


class CoreStore(SearchIndexSQL):
    """A Storyline database: articles, outlets, events, stories, entities, quotes, raw inputs."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._entity_ids: dict[tuple[str, str], int] = {}
        self._checkpointer: Checkpointer | None = None
        self._shard_full_at = 0  # the article id at which the open search shard may be full (0: not read yet)
        self._data_version: int | None = None  # PRAGMA data_version when this connection last wrote
        self.written_elsewhere = 0  # transactions that found another connection's commits before them
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "schema_migrations" not in tables:
                # Someone else's database: migrating it (and switching it to WAL) would change their file.
                self.db.close()
                raise StoreError(f"{self.path}: not a Storyline database (it holds other tables: {', '.join(sorted(tables)[:3])})")
            self.db.execute("PRAGMA busy_timeout=10000")  # first: switching to WAL waits for a writer too
            if self.path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open as a Storyline database ({exc})") from exc

    def close(self) -> None:
        """Close the connection (and the background checkpoint's)."""
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self.db.close()

    # SQLite checkpoints inside a commit only when the log outgrows this many pages (the background
    # thread fell behind); its default, 1000 pages, is about 25 articles.
    BACKSTOP_PAGES = 20_000

    def checkpoint_in_background(self, every_s: float) -> None:
        """Copy the write-ahead log into the file from a thread, every_s seconds after commits (0: in the commits)."""
        if every_s <= 0 or self.path == ":memory:" or self._checkpointer is not None:
            return
        self.db.execute(f"PRAGMA wal_autocheckpoint = {self.BACKSTOP_PAGES}")
        self._checkpointer = Checkpointer(self.path, every_s)

    def set_cache_mb(self, mb: int) -> None:
        """Let this connection keep up to `mb` MB of database pages in memory (SQLite's default is 2 MB)."""
        self.db.execute(f"PRAGMA cache_size = {-int(mb) * 1024}")  # negative: KiB rather than pages

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations this database has not seen yet; return the schema version."""
        for version, script in self._pending_migrations():  # none: no lock taken, a read-only file opens
            # Each script under the write lock with its record: two commands opening a new file at once
            # both find it empty; the second waits, fails on the first's tables, and finds it applied.
            try:
                self.db.executescript(
                    f"BEGIN IMMEDIATE;\nCREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    f"applied_at TEXT NOT NULL);\n{script}"
                )
                if version in self._MIGRATION_STEPS:
                    getattr(self, self._MIGRATION_STEPS[version])()
                self.db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, utcnow()))
                self.db.execute("COMMIT")
            except sqlite3.DatabaseError:  # "table ... already exists", or the record itself
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if version in {v for v, _ in self._pending_migrations()}:
                    raise
        return self.schema_version()

    # Migrations whose work needs Python as well (triggers named after each search shard), run in
    # the script's transaction: a method of the store, after the script.
    _MIGRATION_STEPS = {13: "defer_search_indexing"}

    def _pending_migrations(self) -> list[tuple[int, str]]:
        """The shipped migrations this database has not applied."""
        try:
            done = {r[0] for r in self.db.execute("SELECT version FROM schema_migrations")}
        except sqlite3.OperationalError:  # a new, empty file
            done = set()
        return [(version, script) for version, script in migrations() if version not in done]

    def schema_version(self) -> int:
        """The highest migration applied."""
        row = self.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return row[0] or 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block in one transaction: all of it is stored, or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            if self._data_version is not None:
                # Another connection committed (another ingest, a correction): what this one remembers
                # of the store may be out of date.
                self.written_elsewhere += 1
                self._shard_full_at = 0
            self._data_version = version
        try:
            yield
            self.index_pending()
        except BaseException:
            self.db.execute("ROLLBACK")
            self._entity_ids.clear()  # ids handed out in the rolled-back transaction no longer exist
            self._shard_full_at = 0  # nor a search shard it may have closed
            raise
        else:
            self.db.execute("COMMIT")
            if self._checkpointer is not None:
                self._checkpointer.nudge()

    @contextmanager
    def atomic(self, name: str) -> Iterator[None]:
        """A block stored whole or not at all: a savepoint inside the caller's transaction, else one of its own."""
        if not self.db.in_transaction:
            # A write lock taken up front: a deferred read turned write fails at once (no busy wait)
            # when another process has committed since the read began.
            with self.transaction():
                yield
            return
        self.db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled the whole transaction back already
                self.db.execute(f"ROLLBACK TO {name}")
                self.db.execute(f"RELEASE {name}")
            raise
        self.db.execute(f"RELEASE {name}")

    # -- raw inputs -----------------------------------------------------------------------

    def raw_exists(self, source: str, sha256: str) -> bool:
        """Whether this exact input was stored before."""
        row = self.db.execute(
            "SELECT 1 FROM raw_inputs WHERE source = ? AND sha256 = ?", (source, sha256)
        ).fetchone()
        return row is not None

    def raw_is_latest(self, source: str, sha256: str) -> bool:
        """Whether these are the bytes last stored from this source (an older version of it does not count)."""
        row = self.db.execute(
            "SELECT sha256 FROM raw_inputs WHERE source = ? ORDER BY ingested_at DESC, id DESC LIMIT 1", (source,)
        ).fetchone()
        return row is not None and row[0] == sha256

    def touch_raw(self, source: str, sha256: str) -> None:
        """Mark stored bytes as the latest of their source again (a file changed back to an earlier version)."""
        now = datetime.now(timezone.utc).isoformat()  # to the microsecond: it must sort after a change of this second
        self.db.execute("UPDATE raw_inputs SET ingested_at = ? WHERE source = ? AND sha256 = ?", (now, source, sha256))

    def add_raw(self, source: str, sha256: str, fmt: str, content: bytes, packed: bytes | None = None) -> int:
        """Keep the original bytes of an input (`packed`: pack(content), if done ahead); return its id."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO raw_inputs (source, sha256, format, content, ingested_at) VALUES (?, ?, ?, ?, ?)",
            (source, sha256, fmt, pack(content) if packed is None else packed, utcnow()),
        )
        if cur.rowcount:
            return int(cur.lastrowid)
        # Another process stored these bytes since this one looked (two ingests of one folder).
        self.touch_raw(source, sha256)
        return int(self.db.execute("SELECT id FROM raw_inputs WHERE source = ? AND sha256 = ?", (source, sha256)).fetchone()[0])

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
        aid = int(cur.lastrowid)
        self.article_added(aid)
        if not self.db.in_transaction:  # stored on its own (autocommit): searchable at once, not at a later commit
            self.flush_search()
        return aid


    _ARTICLE_COLUMNS = frozenset(
        {"event_id", "duplicate_of", "duplicate_kind", "merged_into", "url", "title", "title_inferred",
         "outlet_id", "keywords", "event_day", "event_day_method", "event_day_evidence", "published"}
    )

    def _set(self, table: str, key: str, allowed: frozenset[str], row_id: int, cols: dict[str, Any]) -> None:
        """Set some columns of one row, refusing any column not in `allowed` (names go into the SQL)."""
        bad = set(cols) - allowed
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.db.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", (*cols.values(), row_id))

    def update_article(self, article_id: int, **cols: Any) -> None:
        """Set some columns of an article."""
        self._set("articles", "id", self._ARTICLE_COLUMNS, article_id, cols)

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
        self.set_minhash_bands(article_id, bands)

    def set_minhash_bands(self, article_id: int, bands: Sequence[int]) -> None:
        """Index an article's LSH band hashes (its signature is stored with the article)."""
        self.db.executemany(
            "INSERT INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)",
            [(i, h, article_id) for i, h in enumerate(bands)],
        )

    def minhash_candidates(self, bands: Sequence[int], at_least: int = 1) -> list[tuple[int, bytes]]:
        """Articles sharing at least `at_least` of the given LSH band hashes, oldest first, with their signatures."""
        if not bands:
            return []
        clause = " OR ".join("(band = ? AND hash = ?)" for _ in bands)
        params: list[int] = []
        for i, h in enumerate(bands):
            params += [i, h]
        # The bands are counted in their own index; only the articles that pass are read, past their text.
        rows = self.db.execute(
            f"SELECT a.id, a.minhash FROM (SELECT article_id FROM minhash_bands WHERE {clause} "
            f"GROUP BY article_id HAVING COUNT(*) >= ?) c JOIN articles a ON a.id = c.article_id ORDER BY a.id",
            [*params, at_least],
        ).fetchall()
        return [(int(r[0]), r[1]) for r in rows]

    def save_enrichment(self, article_id: int, enrichment: Enrichment, keywords: bool = True) -> None:
        """Store an article's entities and quotes, and its keywords unless they were stored with the article."""
        if enrichment.entities:
            counts: dict[int, int] = {}
            for e in enrichment.entities:  # two names can be one entity's: their mentions add up
                eid = self.entity_id(e.name, e.kind)
                counts[eid] = counts.get(eid, 0) + e.count
            # A plain INSERT: with foreign keys on, OR REPLACE made each row cost about ten times as much
            # (0.46 ms an article against 0.08 in a 3,000-article ingest). A re-read article's rows are cleared first.
            self.db.executemany(
                "INSERT INTO article_entities (article_id, entity_id, count) VALUES (?, ?, ?)",
                [(article_id, eid, n) for eid, n in counts.items()],
            )
        if enrichment.quotes:
            self.db.executemany(
                "INSERT INTO quotes (article_id, text, speaker) VALUES (?, ?, ?)",
                [(article_id, q.text, q.speaker) for q in enrichment.quotes],
            )
        if keywords and enrichment.keywords:
            self.update_article(article_id, keywords=json.dumps(enrichment.keywords, ensure_ascii=False))

    def entity_id(self, name: str, kind: str) -> int:
        """The id of an entity, created on first sight (ids are remembered: every article names a dozen)."""
        key = (name, kind)
        found = self._entity_ids.get(key)
        if found is None:
            row = self.db.execute("SELECT id FROM entities WHERE name = ? AND kind = ?", key).fetchone()
            found = int(row[0]) if row else int(self.db.execute("INSERT INTO entities (name, kind) VALUES (?, ?)", key).lastrowid)
            self._entity_ids[key] = found
        return found

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

    def overlapping_sql(self, table: str) -> str:
        """The query behind `overlapping` (for its test's query-plan check)."""
        assert table in self._GROUPS
        # Two halves rather than one OR, so each walks an index (migration 006) instead of every group.
        return (
            f"SELECT id, first_day, last_day, signature FROM {table} INDEXED BY {table}_span "
            "WHERE last_day >= ? AND first_day <= ? AND merged_into IS NULL "
            f"UNION ALL SELECT id, first_day, last_day, signature FROM {table} "
            "WHERE first_day IS NULL AND merged_into IS NULL ORDER BY id"
        )

    def overlapping(self, table: str, lo: str, hi: str) -> list[sqlite3.Row]:
        """Events or stories whose date span overlaps [lo, hi] (undated ones too)."""
        return self.db.execute(self.overlapping_sql(table), (lo, hi)).fetchall()

    _EVENT_COLUMNS = frozenset(
        {"story_id", "title", "date", "date_method", "date_evidence", "summary", "n_articles", "dirty", "updated_at"}
    )

    def update_event(self, event_id: int, **cols: Any) -> None:
        """Set some columns of an event."""
        self._set("events", "id", self._EVENT_COLUMNS, event_id, {**cols, "updated_at": utcnow()})

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

    def stories(self, limit: int = -1) -> list[sqlite3.Row]:
        """Stories, newest development first, with event and article counts (at most `limit`; -1: all)."""
        return self.db.execute(
            "SELECT s.*, COUNT(DISTINCT e.id) AS n_events, MAX(e.date) AS last_date, "
            "COALESCE(SUM(e.n_articles), 0) AS n_articles "
            "FROM stories s JOIN events e ON e.story_id = s.id GROUP BY s.id "
            "ORDER BY last_date DESC, s.id DESC LIMIT ?",
            (limit,),
        ).fetchall()

    def events(self, story_id: int | None = None, limit: int = -1) -> list[sqlite3.Row]:
        """Events, newest first (optionally of one story; at most `limit`, -1: all)."""
        return self.db.execute(
            "SELECT * FROM events WHERE n_articles > 0 AND (? IS NULL OR story_id = ?) "
            "ORDER BY date DESC, id DESC LIMIT ?",
            (story_id, story_id, limit),
        ).fetchall()

    def articles(self, event_id: int | None = None, limit: int = -1) -> list[sqlite3.Row]:
        """Articles, newest first (optionally of one event; at most `limit`, -1: all)."""
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
