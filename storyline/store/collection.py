"""SQL of subscriptions, polling and page fetching (collection)"""

from __future__ import annotations

import json
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..models import Document, Enrichment, strip_controls
from ..sqlite import sqlite3

from .base import MAX_ID, _iso, utcnow



def _feed_name(name: str | None) -> str | None:
    """A subscription's name on one line, without control characters (OPML files and forms bring them)."""
    return (" ".join(strip_controls(name).split()) or None) if name else None

class CollectionSQL:
    """SQL of subscriptions, polling and page fetching (collection) (a part of Store; `self.db` is its connection)."""

    db: sqlite3.Connection

    # -- feeds and fetching (collection) ----------------------------------------------------

    def add_feed(self, url: str, name: str | None, every_s: int) -> tuple[int, bool]:
        """Subscribe to a feed (due at once); return its id and whether it is new."""
        name = _feed_name(name)
        cur = self.db.execute(
            "INSERT OR IGNORE INTO feeds (url, name, every_s, added_at, next_poll) VALUES (?, ?, ?, ?, 0)",
            (url, name, int(every_s), utcnow()),
        )
        row = self.db.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
        return int(row[0]), cur.rowcount > 0

    def feed(self, ref: int | str) -> sqlite3.Row | None:
        """One subscription, by id or URL."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
            if int(ref) > MAX_ID:  # past SQLite's integers: no such row (binding it raised OverflowError)
                return None
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

    def feeds_waiting(self, after: float) -> tuple[int, float | None]:
        """How many subscriptions are not due at `after`, and when the first of them is (unix time)."""
        n, first = self.db.execute("SELECT COUNT(*), MIN(next_poll) FROM feeds WHERE next_poll > ?", (after,)).fetchone()
        return int(n), first

    def next_feed_due(self, after: float) -> float | None:
        """When the next subscription not yet due at `after` becomes due (unix time)."""
        return self.db.execute("SELECT MIN(next_poll) FROM feeds WHERE next_poll > ?", (after,)).fetchone()[0]

    _FEED_COLUMNS = frozenset(
        {"etag", "last_modified", "last_sha256", "last_polled", "last_success", "last_status", "last_error",
         "last_error_at", "error_count", "next_poll", "name", "every_s", "url"}
    )

    def update_feed(self, feed_id: int, **cols: Any) -> None:
        """Set some columns of a subscription."""
        if "name" in cols:
            cols["name"] = _feed_name(cols["name"])
        self._set("feeds", "id", self._FEED_COLUMNS, feed_id, cols)

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
        self._set("pages", "article_id", self._PAGE_COLUMNS, article_id, cols)

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
         "language", "event_day", "event_day_method", "event_day_evidence", "updated_at", "duplicate_of",
         "duplicate_kind"}
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
        self.clear_reading(article_id)

    def clear_reading(self, article_id: int) -> None:
        """Forget an article's entities and quotes, before it is read again."""
        self.db.execute("DELETE FROM article_entities WHERE article_id = ?", (article_id,))
        self.db.execute("DELETE FROM quotes WHERE article_id = ?", (article_id,))
