"""The search index's upkeep: its shards, their triggers, and the indexing of new articles at commit."""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING, Callable, ContextManager

if TYPE_CHECKING:
    from ..sqlite import sqlite3

SHARD_TABLE = "articles_fts"  # shard 0, made by migration 003; shard n > 0 is articles_fts_<n> (migration 010)
_FTS_COLUMNS = (
    "title, text, flags, content='articles_search', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2'"
)
# Kinds of trigger a shard had; "insert" only before migration 013, where new articles began to wait.
_TRIGGER_KINDS = ("insert", "delete", "unindex", "reindex")


def shard_table(n: int) -> str:
    """The FTS5 table of search shard n."""
    return SHARD_TABLE if n == 0 else f"{SHARD_TABLE}_{n}"


def _unpending(row: str) -> str:
    """The SQL test that an article row is indexed already, not waiting in search_pending."""
    return f"NOT EXISTS (SELECT 1 FROM search_pending p WHERE p.id = {row}.id)"


def shard_triggers(table: str, first_id: int, end_id: int | None) -> list[str]:
    """The triggers that keep one search shard in step with changes to its indexed articles.

    The shard holds the articles of ids first_id..end_id - 1 (None: all later). A new article is
    not indexed by a trigger but when its transaction commits (`index_pending`).
    """
    def held(row: str) -> str:
        span = f"{row}.id >= {int(first_id)}" + (f" AND {row}.id < {int(end_id)}" if end_id is not None else "")
        return f"{span} AND {_unpending(row)}"

    add = f"INSERT INTO {table} (rowid, title, text, flags) SELECT id, title, text, flags FROM articles_search"
    # Removal must repeat exactly what was indexed, so it reads the row before it changes.
    remove = (f"INSERT INTO {table} ({table}, rowid, title, text, flags) "
              f"SELECT 'delete', id, title, text, flags FROM articles_search")
    indexed = "title, text, duplicate_of, merged_into"  # only changes to these touch the index
    return [
        f"CREATE TRIGGER {table}_delete BEFORE DELETE ON articles WHEN {held('old')} BEGIN "
        f"{remove} WHERE id = old.id; END",
        f"CREATE TRIGGER {table}_unindex BEFORE UPDATE OF {indexed} ON articles WHEN {held('old')} BEGIN "
        f"{remove} WHERE id = old.id; END",
        f"CREATE TRIGGER {table}_reindex AFTER UPDATE OF {indexed} ON articles WHEN {held('new')} BEGIN "
        f"{add} WHERE id = new.id; END",
    ]


def written_in_cjk(row: str) -> str:
    """The SQL test for an article written in Chinese, Japanese, Korean or Thai (migration 012 says why)."""
    opening = f"substr(COALESCE({row}.title, '') || ' ' || COALESCE({row}.text, ''), 1, 300)"
    return f"length(CAST({opening} AS BLOB)) > 2 * length({opening})"


def cjk_triggers() -> list[str]:
    """The triggers that keep the trigram index of CJK articles in step with changes to the indexed ones."""
    def held(row: str) -> str:
        return f"{written_in_cjk(row)} AND {_unpending(row)}"

    add = "INSERT INTO articles_cjk (rowid, title, text) SELECT id, title, text FROM articles_search"
    remove = "INSERT INTO articles_cjk (articles_cjk, rowid, title, text) SELECT 'delete', id, title, text FROM articles_search"
    return [
        f"CREATE TRIGGER articles_cjk_delete BEFORE DELETE ON articles WHEN {held('old')} BEGIN {remove} WHERE id = old.id; END",
        f"CREATE TRIGGER articles_cjk_unindex BEFORE UPDATE OF title, text ON articles WHEN {held('old')} BEGIN "
        f"{remove} WHERE id = old.id; END",
        f"CREATE TRIGGER articles_cjk_reindex AFTER UPDATE OF title, text ON articles WHEN {held('new')} BEGIN "
        f"{add} WHERE id = new.id; END",
    ]


class SearchIndexSQL:
    """The search shards and the indexing of new articles (a part of the store, over its connection)."""

    db: sqlite3.Connection
    _shard_full_at: int
    atomic: Callable[[str], ContextManager[None]]
    transaction: Callable[[], ContextManager[None]]

    def defer_search_indexing(self) -> None:
        """Migration 013's second half: every shard's and the CJK index's triggers leave new articles alone."""
        for table, first, end in self._shard_spans():
            for kind in _TRIGGER_KINDS:
                self.db.execute(f"DROP TRIGGER IF EXISTS {table}_{kind}")
            for sql in shard_triggers(table, first, end):
                self.db.execute(sql)
        for kind in _TRIGGER_KINDS:
            self.db.execute(f"DROP TRIGGER IF EXISTS articles_cjk_{kind}")
        for sql in cjk_triggers():
            self.db.execute(sql)

    def _shard_spans(self) -> list[tuple[str, int, int | None]]:
        """(table, first id, end id or None) of the articles each search shard indexes, oldest first."""
        rows = [(int(n), int(first), int(lo)) for n, first, lo in
                self.db.execute("SELECT n, first_id, answers_from FROM search_shards ORDER BY n")]
        # A closed shard goes on indexing until the next one answers (its warm-up).
        ends: list[int | None] = [lo for _, _, lo in rows[1:]] + [None]
        return [(shard_table(n), first, end) for (n, first, _), end in zip(rows, ends)]

    def index_pending(self) -> int:
        """Index for search the articles waiting in search_pending (the transaction's new ones); return how many.

        Runs last in a transaction, just before it commits. FTS5 writes its pending words out as a new
        segment at every statement savepoint once an index is written in a transaction, and nearly
        every later statement opens one: indexed by a trigger, each article made a segment of its own
        (and more merging), where indexed here a transaction's articles make one.
        """
        low = self.db.execute("SELECT MIN(id) FROM search_pending").fetchone()[0]
        if low is None:
            return 0
        for table, first, end in self._shard_spans():
            if end is not None and end <= low:
                continue  # a closed shard of older articles
            below = "" if end is None else f" AND id < {int(end)}"
            self.db.execute(
                f"INSERT INTO {table} (rowid, title, text, flags) SELECT id, title, text, flags FROM articles_search "
                f"WHERE id IN (SELECT id FROM search_pending WHERE id >= ?{below})",
                (first,),
            )
        self.db.execute(
            "INSERT INTO articles_cjk (rowid, title, text) SELECT id, title, text FROM articles_search AS a "
            f"WHERE id IN (SELECT id FROM search_pending) AND {written_in_cjk('a')}"
        )
        return self.db.execute("DELETE FROM search_pending").rowcount

    def flush_search(self) -> None:
        """Index the waiting articles now: in the open transaction, else in one of their own."""
        if self.db.in_transaction:
            self.index_pending()
        else:
            with self.transaction():
                pass  # its commit indexes them

    def article_added(self, article_id: int) -> None:
        """What follows every new article row, however it was written (ingest, import): the search shards' upkeep."""
        if article_id >= self._shard_full_at:
            self.close_full_search_shard(article_id)

    # A search ranks with bm25, which counts every row of each searched word in its index on every
    # query, so its cost grew with the archive (a prefix like oil* read 12.8 ms of 100,000 articles).
    # The index is cut by article id into shards of about this many articles; a search reads the
    # newest shards first and stops once it holds its pool, so its cost stays that of one shard.
    SEARCH_SHARD_ARTICLES = 20_000
    # bm25 weighs a word by how many of the shard's articles hold it, which a young shard of a few
    # articles tells badly (a word in half of them is worth nothing). So a closed shard goes on indexing
    # this many articles past its end, and answers for them until the next shard holds them too.
    SEARCH_SHARD_WARMUP = 2_000

    def close_full_search_shard(self, article_id: int) -> None:
        """Start a new search shard after the newest article once the open one holds SEARCH_SHARD_ARTICLES."""
        n, first = self._open_shard()
        if article_id >= first + self.SEARCH_SHARD_ARTICLES:
            with self.atomic("search_shard"):
                n, first = self._open_shard()  # another process may have closed it meanwhile
                if article_id >= first + self.SEARCH_SHARD_ARTICLES:
                    first = self._close_shard(n, first)
        self._shard_full_at = first + self.SEARCH_SHARD_ARTICLES  # only where to look again

    def _open_shard(self) -> tuple[int, int]:
        """The open (newest) search shard: its number and first article id."""
        n, first = self.db.execute("SELECT n, first_id FROM search_shards ORDER BY n DESC LIMIT 1").fetchone()
        return int(n), int(first)

    def _close_shard(self, n: int, first: int) -> int:
        """Close shard n (first article id `first`) after the newest article; return the new shard's first id."""
        old, new = shard_table(n), shard_table(n + 1)
        start = int(self.db.execute("SELECT MAX(id) FROM articles").fetchone()[0]) + 1
        for kind in _TRIGGER_KINDS:
            self.db.execute(f"DROP TRIGGER IF EXISTS {old}_{kind}")
        self.db.execute(f"CREATE VIRTUAL TABLE {new} USING fts5({_FTS_COLUMNS})")
        answers_from = start + self.SEARCH_SHARD_WARMUP  # until then the old shard answers, and indexes
        for sql in shard_triggers(old, first, answers_from) + shard_triggers(new, start, None):
            self.db.execute(sql)
        self.db.execute(
            "INSERT INTO search_shards (n, first_id, answers_from) VALUES (?, ?, ?)", (n + 1, start, answers_from)
        )
        return start

    def _article_ids(self) -> list[int]:
        """Every article id, in order."""
        # Sorted here: SQLite reads them from a small index unasked, and in id order from the table itself,
        # past every article's text (56 s against 0.6 of 100,000 articles not yet in the page cache).
        return sorted(int(r[0]) for r in self.db.execute("SELECT id FROM articles"))

    def search_shard_sizes(self) -> list[tuple[int, int]]:
        """(number, articles it answers for) of each search shard, oldest first."""
        rows = [(int(n), int(lo)) for n, lo in self.db.execute("SELECT n, answers_from FROM search_shards ORDER BY n")]
        ids = self._article_ids()  # once: a count per shard would read the big article rows from its start on
        bounds = [bisect_left(ids, lo) for _, lo in rows] + [len(ids)]
        return [(n, bounds[k + 1] - bounds[k]) for k, (n, _) in enumerate(rows)]

    def search_index_oversized(self) -> bool:
        """Whether a search shard answers for more articles than ingest lets one hold (indexed before shards, or imported)."""
        most = self.SEARCH_SHARD_ARTICLES + self.SEARCH_SHARD_WARMUP
        return any(size > most for _, size in self.search_shard_sizes())

    RESHARD_CHUNK = 2_000  # articles indexed between two progress reports

    def reshard_search(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild the search index cut as ingest cuts it, SEARCH_SHARD_ARTICLES articles a shard; return how many shards.

        A store indexed before shards existed (migration 010), or filled by an older import, keeps all
        those articles in shard 0, so every search that reaches them pays bm25's count over all of them.
        One transaction: readers see the old index until it commits, and a crash leaves the old one whole.
        """
        size, warmup = self.SEARCH_SHARD_ARTICLES, self.SEARCH_SHARD_WARMUP
        with self.atomic("reshard_search"):
            self.index_pending()  # the rebuild below reads every article: none may still be waiting
            ids = self._article_ids()
            firsts = [0]  # where ingest would have started each shard: after the article that filled the one before
            while (full := bisect_left(ids, firsts[-1] + size)) < len(ids):
                firsts.append(ids[full] + 1)
            answers = [0] + [first + warmup for first in firsts[1:]]  # as _close_shard: the next shard's warm-up
            ends: list[int | None] = answers[1:] + [None]
            spans = [(bisect_left(ids, lo), len(ids) if hi is None else bisect_left(ids, hi)) for lo, hi in zip(firsts, ends)]
            total, done = sum(b - a for a, b in spans), 0
            for (n,) in self.db.execute("SELECT n FROM search_shards").fetchall():
                table = shard_table(int(n))
                for kind in _TRIGGER_KINDS:
                    self.db.execute(f"DROP TRIGGER IF EXISTS {table}_{kind}")
                self.db.execute(f"DROP TABLE IF EXISTS {table}")
            self.db.execute("DELETE FROM search_shards")
            for n, ((a, b), first, start, end) in enumerate(zip(spans, firsts, answers, ends)):
                table = shard_table(n)
                self.db.execute(f"CREATE VIRTUAL TABLE {table} USING fts5({_FTS_COLUMNS})")
                for lo in range(a, b, self.RESHARD_CHUNK):
                    hi = min(b, lo + self.RESHARD_CHUNK) - 1
                    self.db.execute(
                        f"INSERT INTO {table} (rowid, title, text, flags) SELECT id, title, text, flags "
                        f"FROM articles_search WHERE id >= ? AND id <= ?",
                        (ids[lo], ids[hi]),
                    )
                    done += hi + 1 - lo
                    if progress:
                        progress(done, total)
                for sql in shard_triggers(table, first, end):
                    self.db.execute(sql)
                self.db.execute("INSERT INTO search_shards (n, first_id, answers_from) VALUES (?, ?, ?)", (n, first, start))
        self._shard_full_at = 0  # where the open shard fills up is read again
        if not self.db.in_transaction:
            # The new index passed through the write-ahead log: give its space back rather than leave
            # a log the size of the index while other connections (a server) keep the file open.
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(firsts)
