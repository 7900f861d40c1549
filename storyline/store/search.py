"""SQL of full-text search and user corrections (the web UI and API)"""

from __future__ import annotations

import json
import re
import zlib
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..models import Document, Enrichment
from ..sqlite import sqlite3

from .base import _iso, utcnow
from .index import shard_table


_WORDS = re.compile(r"\w+")
_NO_MARKS = str.maketrans("", "", "\x02\x03")
TRIGRAM = 3  # characters in a trigram: a shorter word cannot be looked up in the index
CJK_SNIPPET = 120  # characters of text shown around a CJK match (about what 32 words show)


class Hint:
    """Where the words of a search (`fts_expression`) may first match in a text: each word's opening.

    The index stems words ("protesters" matches "protest"), so the opening is the word less its last
    three letters, at least four; it only tells where to look, and the index then decides.
    """

    def __init__(self, stems: set[str]) -> None:
        self.stems = sorted(stems, key=len, reverse=True)
        self.pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, self.stems)) + ")", re.IGNORECASE)

    def first(self, text: str) -> int | None:
        """Where the first word opening with a stem starts in `text`, or None."""
        lower = text.lower()
        if len(lower) != len(text):  # a few letters lower-case to two, and positions would drift
            found = self.pattern.search(text)
            return found.start() if found else None
        # A rare word often matched in the title only: the text is then read to its end, and plain
        # finds do that ten times faster than a case-blind pattern (5 ms a page of long texts).
        best = None
        for stem in self.stems:
            end = len(lower) if best is None else best + len(stem) - 1  # only a stem that starts sooner
            at = lower.find(stem, 0, end)
            while at > 0 and (lower[at - 1].isalnum() or lower[at - 1] == "_"):
                at = lower.find(stem, at + 1, end)
            if at != -1:
                best = at
        return best


def match_hint(words: str) -> Hint | None:
    """The openings of a search's words to look for in a text, None without words."""
    stems = {w[: max(4, len(w) - 3)] for w in _WORDS.findall(words.lower())}
    return Hint(stems) if stems else None


def snippet_window(text: str, hint: Hint | None, size: int) -> tuple[int, int]:
    """Where in `text` to look for a snippet: all of a short text, else `size` characters around the first hint."""
    if len(text) <= size:
        return 0, len(text)
    found = hint.first(text) if hint is not None else None
    if found is None:
        return 0, size
    start = max(0, found - size // 4)
    if start:
        start = text.find(" ", start, found) + 1 or start  # begin on a word
    return start, min(len(text), start + size)


def _spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Where the terms occur in a text (any case), overlapping ones joined, in order."""
    lower, found = text.lower(), []
    for term in {t.lower() for t in terms if t}:
        at = lower.find(term)
        while at != -1:
            found.append((at, at + len(term)))
            at = lower.find(term, at + 1)
    joined: list[tuple[int, int]] = []
    for a, b in sorted(found):
        if joined and a <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(b, joined[-1][1]))
        else:
            joined.append((a, b))
    return joined


def _mark(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Text with the spans between the match markers (char 2 / char 3) search highlights."""
    out, at = [], 0
    for a, b in spans:
        out += [text[at:a], "\x02", text[a:b], "\x03"]
        at = b
    return "".join(out) + text[at:]


def _marked_terms(terms: Sequence[str], openings: Sequence[tuple[int, str | None, str]]) -> dict[int, dict[str, str | None]]:
    """Titles and snippets with every occurrence of the terms marked, as the trigram index matches them."""
    marked = {}
    for aid, title, text in openings:
        title, text = (title or "").translate(_NO_MARKS), text.translate(_NO_MARKS)
        spans = _spans(text, terms)
        snippet = None
        if spans:  # the stretch around the first match; without one the result shows the text's lead
            start = max(0, spans[0][0] - CJK_SNIPPET // 3)
            end = min(len(text), start + CJK_SNIPPET)
            inside = [(a - start, min(b, end) - start) for a, b in spans if a < end]
            snippet = ("…" if start else "") + _mark(text[start:end], inside) + ("…" if end < len(text) else "")
        marked[aid] = {"title_marked": _mark(title, _spans(title, terms)), "snippet_marked": snippet}
    return marked


class SearchSQL:
    """SQL of full-text search and user corrections (the web UI and API) (a part of Store; `self.db` is its connection)."""

    db: sqlite3.Connection

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
        # One indexed page of the summary the triggers of migration 004 keep (NULL dates sort last).
        rows = self.db.execute(
            "SELECT s.id, s.title, s.user_title, m.story_id, m.n_events, m.last_date, m.n_articles, m.updated_at, "
            "m.latest_event FROM story_summary m INDEXED BY story_summary_recent JOIN stories s ON s.id = m.story_id "
            "ORDER BY m.last_date DESC, m.story_id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        total = self.db.execute("SELECT COUNT(*) FROM story_summary").fetchone()[0]
        return rows, int(total)

    def story_stats(self, story_id: int) -> dict[str, Any]:
        """A story's live events: how many, their reports, first and last date."""
        row = self.db.execute(
            "SELECT n_events, n_articles, first_date, last_date FROM story_summary WHERE story_id = ?", (story_id,)
        ).fetchone()
        if row is None:
            return {"n_events": 0, "n_articles": 0, "first_day": None, "last_day": None}
        return {"n_events": row[0], "n_articles": row[1], "first_day": row[2], "last_day": row[3]}

    def event_rows(self, event_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Some events, in the order asked."""
        found = self.db.execute(f"SELECT * FROM events WHERE id IN ({self._marks(event_ids)})", tuple(event_ids))
        rows = {r["id"]: r for r in found}
        return [rows[i] for i in event_ids if i in rows]

    def _tuples(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
        """Rows as plain tuples (cheaper than sqlite3.Row by the thousand)."""
        cursor = self.db.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, params).fetchall()

    def coverage_days(self, column: str, ids: Sequence[int]) -> list[tuple[int, str, int]]:
        """(story or event id, day, reports) per publication day (else the event's date) of some stories or events."""
        assert column in ("story_id", "id")
        if column == "story_id":
            return self._tuples(
                f"SELECT story_id AS gid, day, n FROM story_day_counts WHERE story_id IN ({self._marks(ids)}) "
                f"ORDER BY 1, 2",
                tuple(ids),
            )
        return self._tuples(
            f"SELECT e.id AS gid, COALESCE(substr(a.published, 1, 10), e.date) AS day, COUNT(*) AS n "
            f"FROM events e JOIN articles a ON a.event_id = e.id WHERE e.id IN ({self._marks(ids)}) "
            f"AND e.merged_into IS NULL AND a.merged_into IS NULL GROUP BY 1, 2 HAVING day IS NOT NULL ORDER BY 1, 2",
            tuple(ids),
        )

    def story_day_range(self, story_id: int) -> tuple[str, str] | None:
        """The first and last publication day of a story's reports (None without dated reports)."""
        row = self._tuples(  # two subqueries: each is one index seek, where MIN and MAX together scan the story
            "SELECT (SELECT MIN(day) FROM story_day_counts WHERE story_id = ?1), "
            "(SELECT MAX(day) FROM story_day_counts WHERE story_id = ?1)",
            (story_id,),
        )[0]
        return None if row[0] is None else (row[0], row[1])

    def story_day_sums(self, story_id: int, edges: Sequence[str]) -> list[int]:
        """A story's reports published in each run of days from edges[i] up to (not including) edges[i + 1]."""
        # One index range per run: a long story has thousands of days, and a row for each costs more than its chart.
        runs = ",".join("(?, ?)" for _ in edges[1:])
        rows = self._tuples(
            f"WITH runs(lo, hi) AS (VALUES {runs}) SELECT (SELECT COALESCE(SUM(n), 0) FROM story_day_counts "
            f"WHERE story_id = ? AND day >= lo AND day < hi) FROM runs",
            (*(d for pair in zip(edges, edges[1:]) for d in pair), story_id),
        )
        return [int(r[0]) for r in rows]

    def event_days(self, story_ids: Sequence[int]) -> list[tuple[int, str, int]]:
        """(story id, event date, reports) of some stories."""
        return self._tuples(
            f"SELECT story_id AS gid, day, n FROM story_event_days WHERE story_id IN ({self._marks(story_ids)}) "
            f"ORDER BY 1, 2",
            tuple(story_ids),
        )

    def story_outlets(self, story_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Outlets covering some stories, with their report counts, most reports first."""
        return self.db.execute(
            f"SELECT c.story_id, o.name, c.n FROM story_outlet_counts c JOIN outlets o ON o.id = c.outlet_id "
            f"WHERE c.story_id IN ({self._marks(story_ids)}) ORDER BY c.n DESC, o.name",
            tuple(story_ids),
        ).fetchall()

    def timeline(self, story_id: int, limit: int, offset: int) -> tuple[list[sqlite3.Row], int]:
        """A page of a story's live events in date order (undated last), and how many there are."""
        stats = self.db.execute(
            "SELECT n_events, (SELECT COUNT(*) FROM events INDEXED BY events_timeline WHERE story_id = ?1 "
            "AND merged_into IS NULL AND n_articles > 0 AND date IS NULL) FROM story_summary WHERE story_id = ?1",
            (story_id,),
        ).fetchone()
        total, undated = (int(stats[0]), int(stats[1])) if stats else (0, 0)
        live = "FROM events INDEXED BY events_timeline WHERE story_id = ? AND merged_into IS NULL AND n_articles > 0 "
        dated = total - undated
        ids = [r[0] for r in self.db.execute(
            "SELECT id " + live + "AND date IS NOT NULL ORDER BY date, id LIMIT ? OFFSET ?",
            (story_id, limit, offset),
        )] if offset < dated else []
        if len(ids) < limit:
            ids += [r[0] for r in self.db.execute(
                "SELECT id " + live + "AND date IS NULL ORDER BY id LIMIT ? OFFSET ?",
                (story_id, limit - len(ids), max(0, offset - dated)),
            )]
        return self.event_rows(ids), total

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
        """A page of articles (no texts), newest first (optionally of one event).

        Listed coverage matched to a full text is that article (as in `coverage` and an event's report count).
        """
        rows = self.db.execute(
            "SELECT * FROM (" + self._COVERAGE + "WHERE (?1 IS NULL OR a.event_id = ?1) AND a.merged_into IS NULL) "
            "ORDER BY published IS NULL, published DESC, id DESC LIMIT ?2 OFFSET ?3",
            (event_id, limit, offset),
        ).fetchall()
        total = self.db.execute(
            "SELECT COUNT(*) FROM articles WHERE (?1 IS NULL OR event_id = ?1) AND merged_into IS NULL", (event_id,)
        )
        return rows, int(total.fetchone()[0])

    def copies(self, article_id: int) -> list[sqlite3.Row]:
        """Duplicates of an article and listed coverage found to be it."""
        return self.db.execute(
            self._COVERAGE + "WHERE a.duplicate_of = ?1 OR a.merged_into = ?1 ORDER BY a.id", (article_id,)
        ).fetchall()

    def event_entities(self, event_ids: Sequence[int], reports: Sequence[int] | None = None) -> list[sqlite3.Row]:
        """Entities of some events' reports (or of just the `reports` named) with summed counts, most mentioned first."""
        ids, column = (event_ids, "a.event_id") if reports is None else (reports, "a.id")
        return self.db.execute(
            f"SELECT a.event_id, e.name, e.kind, SUM(ae.count) AS n FROM articles a "
            f"JOIN article_entities ae ON ae.article_id = a.id JOIN entities e ON e.id = ae.entity_id "
            f"WHERE {column} IN ({self._marks(ids)}) AND a.merged_into IS NULL "
            f"GROUP BY a.event_id, e.id ORDER BY n DESC, e.name",
            tuple(ids),
        ).fetchall()

    _SEARCH_PAGE = (
        "SELECT a.id, a.kind, a.title, a.url, a.published, a.language, a.event_id, a.duplicate_of, "
        "substr(a.text, 1, :chars) AS opening, o.name AS outlet, ev.title AS event_title, ev.date AS event_date, ev.story_id "
        "FROM articles a LEFT JOIN outlets o ON o.id = a.outlet_id LEFT JOIN events ev ON ev.id = a.event_id "
        "WHERE a.id IN ({ids})"
    )
    HIGHLIGHT_CHARS = 20_000  # a match is looked for in the opening of a text; one further in is not shown
    # Of a longer opening, the stretch around its first likely match is highlighted: indexing it and
    # choosing its snippet cost in proportion to its length (1.55 ms a page of 3,000, 0.7 of 800).
    SNIPPET_CHARS = 1_000

    _SCRATCH = (
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_page USING fts5(title, text, "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )

    _HIGHLIGHT = (
        "SELECT rowid AS id, highlight(search_page, 0, char(2), char(3)) AS title_marked, "
        "snippet(search_page, 1, char(2), char(3), '…', 32) AS snippet_marked FROM temp.search_page "
        "WHERE search_page MATCH ?"
    )

    def keep_search_scratch(self) -> None:
        """Create the scratch index that search highlights in, for the life of this connection.

        Made outside any transaction: made inside a read snapshot, the snapshot's rollback took it
        away again, and making it took about 2 ms of every search.
        """
        if not self.db.in_transaction:
            self.db.execute(self._SCRATCH)

    def _marked(self, words: str, openings: Sequence[tuple[int, str | None, str]], hint: Hint | None) -> dict[int, sqlite3.Row]:
        """Titles and snippets of some articles, from their (id, title, opening), with the words that match marked (char 2 / char 3)."""
        # Highlighting in the big index re-runs the query for each row (slow for prefixes and long
        # texts); a scratch index of just this page, in this connection's temp schema, is quick, the
        # more so as it holds only a stretch of each long text: its cost grows with what it reads.
        self.db.execute(self._SCRATCH)
        # Filled in a savepoint and rolled back: nothing to delete next time, and one transaction for
        # all the rows where autocommit would write (and merge) a segment of the index for each.
        self.db.execute("SAVEPOINT search_page")
        try:
            pages = []
            for aid, title, text in openings:
                start, end = snippet_window(text, hint, self.SNIPPET_CHARS)
                # The marks are these two characters: any the text holds itself (stored before ingest
                # stripped them) would show as highlights.
                pages.append((aid, title and title.translate(_NO_MARKS), text[start:end].translate(_NO_MARKS)))
            self.db.executemany("INSERT INTO temp.search_page (rowid, title, text) VALUES (?, ?, ?)", pages)
            # The stretch starts a quarter of its length before the first likely match, so a snippet around
            # that match lies inside it, and the index's own "…" marks where the text goes on.
            found = {r["id"]: r for r in self.db.execute(self._HIGHLIGHT, (words,))}
            # A match the hint did not see (a stemmed form, "running" for "runs"; a folded accent, "cafe"
            # for "café") lies outside its stretch: those few are highlighted in their whole opening.
            missed = [(aid, title, text) for aid, title, text in openings if aid not in found and len(text) > self.SNIPPET_CHARS]
            if missed:
                ids = ",".join(str(aid) for aid, _, _ in missed)  # integers from the index itself
                self.db.execute(f"DELETE FROM temp.search_page WHERE rowid IN ({ids})")
                self.db.executemany(
                    "INSERT INTO temp.search_page (rowid, title, text) VALUES (?, ?, ?)",
                    [(aid, title and title.translate(_NO_MARKS), text.translate(_NO_MARKS)) for aid, title, text in missed],
                )
                found.update((r["id"], r) for r in self.db.execute(self._HIGHLIGHT + f" AND rowid IN ({ids})", (words,)))
            return found
        finally:
            self.db.execute("ROLLBACK TO search_page")
            self.db.execute("RELEASE search_page")

    def _search_where(self, filters: dict[str, Any], table: str, lookup: bool = False) -> tuple[list[str], list[str]]:
        """SQL conditions for a search's filters: on the article row `a`, and on the match's id alone (`lookup`: ids to seek)."""
        row, ids = [], []
        scan = "" if lookup else "+"
        if filters.get("start"):
            row.append("substr(COALESCE(a.published, a.event_day), 1, 10) >= :start")
        if filters.get("end"):
            row.append("substr(COALESCE(a.published, a.event_day), 1, 10) <= :end")
        if filters.get("outlet"):
            row.append("a.outlet_id IN (SELECT id FROM outlets WHERE name = :outlet)")
        # Entity and story come from indexes as sets of ids, with no lookup into the big article rows
        # (the unary + keeps them filters on the scan newest-first rather than lookups of each id; a
        # listing without words has no match to scan, so there it seeks the ids instead).
        if filters.get("entity"):
            ids.append(f"{scan}{table}.rowid IN (SELECT ae.article_id FROM article_entities ae JOIN entities n "
                       "ON n.id = ae.entity_id WHERE n.name = :entity COLLATE NOCASE)")
        if filters.get("story_id"):
            ids.append(f"{scan}{table}.rowid IN (SELECT id FROM articles WHERE event_id IN "
                       "(SELECT id FROM events WHERE story_id = :story_id))")
        # Originals only, unless duplicates are asked for; merged listings never (migration 009 keeps the ids).
        kind = " AND h.kind = 'merged'" if filters.get("duplicates") else ""
        ids.append(f"NOT EXISTS (SELECT 1 FROM search_hidden h WHERE h.id = {table}.rowid{kind})")
        return row, ids

    def search_shards(self) -> list[tuple[str, int, int | None]]:
        """The search index's shards, newest articles first: (table, first id, end id or None) each answers for."""
        rows = [(int(n), int(lo)) for n, lo in self.db.execute("SELECT n, answers_from FROM search_shards ORDER BY n")]
        ends: list[int | None] = [lo for _, lo in rows[1:]] + [None]
        return [(shard_table(n), lo, hi) for (n, lo), hi in reversed(list(zip(rows, ends)))]

    def _newest_scored(self, filters: dict[str, Any], params: dict[str, Any], newest: int) -> list[tuple[int, float]]:
        """(id, bm25 score) of the newest `newest` + 1 matches that pass the filters, newest (highest id) first."""
        # Each shard yields its matches in id order, so this reads only as far back as it must; bm25 (which
        # only works in the query that holds the MATCH) weighs the title 8 times the text. A shard's
        # scores count words within that shard: thousands of articles at least, enough to tell a
        # common word from a rare one, so the scores of two shards rank together.
        found: list[tuple[int, float]] = []
        for table, lo, hi in self.search_shards():
            row, ids = self._search_where(filters, table)
            ids.append(f"{table}.rowid >= {lo}" + (f" AND {table}.rowid < {hi}" if hi is not None else ""))
            join = f"JOIN articles a ON a.id = {table}.rowid " if row else ""
            # Plain tuples, as SQLite gives them (rowid, score): a sqlite3.Row each cost 0.5 ms of 1,001.
            found += self._tuples(
                f"SELECT {table}.rowid, bm25({table}, 8.0, 1.0, 0.0) FROM {table} {join}"
                f"WHERE {' AND '.join([f'{table} MATCH :match', *row, *ids])} ORDER BY {table}.rowid DESC LIMIT :pool",
                {**params, "pool": newest + 1 - len(found)},
            )
            if len(found) > newest:
                break
        return found

    def search_articles(
        self, match: str, filters: dict[str, Any], limit: int, offset: int, newest: int
    ) -> tuple[list[tuple[sqlite3.Row, sqlite3.Row | None, float]], int, bool]:
        """The newest `newest` matches (filters first) ranked: (article, highlights, score), their count, whether more match."""
        # Which articles are left out is asked of search_hidden, not said in the MATCH: bm25 counts every
        # row of each phrase in the whole index, and the copies are tens of thousands of rows.
        words = f"{{title text}} : ({match})"
        params = {**filters, "match": words}
        pool = self._newest_scored(filters, params, newest)
        return self._ranked_page(pool, limit, offset, newest, lambda openings: self._marked(words, openings, match_hint(match)))

    def _ranked_page(
        self, pool: list[tuple[int, float]], limit: int, offset: int, newest: int,
        mark: Callable[[list[tuple[int, str | None, str]]], dict[int, Any]],
    ) -> tuple[list[tuple[sqlite3.Row, Any, float]], int, bool]:
        """A page of scored matches, best first, with their rows and marks; their count, whether more match."""
        ranked = sorted(pool[:newest], key=itemgetter(1, 0))[offset:offset + limit]  # best first, then oldest
        ids = ",".join(str(i) for i, _ in ranked) or "NULL"  # integers from the index itself
        # The page's row holds the opening that is highlighted: a long text is read from disk once.
        rows = {r["id"]: r for r in self.db.execute(self._SEARCH_PAGE.format(ids=ids), {"chars": self.HIGHLIGHT_CHARS})}
        openings = [(i, r["title"], r["opening"] or "") for i, r in rows.items()]
        marked = mark(openings) if openings else {}
        found = [(rows[i], marked.get(i), score) for i, score in ranked if i in rows]
        return found, min(len(pool), newest), len(pool) > newest

    def search_cjk(
        self, terms: Sequence[str], filters: dict[str, Any], limit: int, offset: int, newest: int
    ) -> tuple[list[tuple[sqlite3.Row, dict[str, str | None], float]], int, bool]:
        """As search_articles, for words in Chinese, Japanese or Korean: each term found as written, anywhere in a text.

        The trigram index of migration 012 holds only the articles with those scripts; a term of three
        characters or more is looked up in it and ranked by bm25, a shorter one read for in its texts.
        """
        row, ids = self._search_where(filters, "articles_cjk")
        conds, params = [], {**filters, "pool": newest + 1}
        long = [t for t in terms if len(t) >= TRIGRAM]
        if long:  # every term a quoted string: no input is FTS5 syntax
            conds.append("articles_cjk MATCH :match")
            params["match"] = " ".join('"' + t.replace('"', '""') + '"' for t in long)
        for i, term in enumerate(t for t in terms if len(t) < TRIGRAM):
            conds.append(f"(articles_cjk.title LIKE :short{i} ESCAPE '\\' OR articles_cjk.text LIKE :short{i} ESCAPE '\\')")
            params[f"short{i}"] = "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"
        score = "bm25(articles_cjk, 8.0, 1.0)" if long else "0.0"
        join = "JOIN articles a ON a.id = articles_cjk.rowid " if row else ""
        pool = self._tuples(
            f"SELECT articles_cjk.rowid, {score} FROM articles_cjk {join}WHERE {' AND '.join([*conds, *row, *ids])} "
            f"ORDER BY articles_cjk.rowid DESC LIMIT :pool",
            params,
        )
        return self._ranked_page(pool, limit, offset, newest, lambda openings: _marked_terms(terms, openings))

    def filtered_articles(
        self, filters: dict[str, Any], limit: int, offset: int, newest: int
    ) -> tuple[list[sqlite3.Row], int, bool]:
        """The newest `newest` articles that pass a search's filters, latest published first: a page, their count, whether more pass."""
        # The filters of a search without words, so a listing finds what a search would: an entity's
        # name (normalised by enrich, "Turkish" is Turkey) is often in no text at all.
        row, ids = self._search_where(filters, "a", lookup=True)
        pool = self._tuples(
            f"SELECT a.id, a.published FROM articles a WHERE {' AND '.join([*row, *ids])} ORDER BY a.id DESC LIMIT :pool",
            {**filters, "pool": newest + 1},
        )
        # Among the newest by arrival (as a search ranks), the latest published first and undated last.
        listed = sorted(pool[:newest], key=lambda r: (r[1] is not None, r[1] or "", r[0]), reverse=True)
        page = [int(i) for i, _ in listed[offset:offset + limit]]
        ids_sql = ",".join(str(i) for i in page) or "NULL"  # integers from the store itself
        # A listing shows each article's lead, which lies in the start of its text.
        rows = {r["id"]: r for r in self.db.execute(self._SEARCH_PAGE.format(ids=ids_sql), {"chars": self.SNIPPET_CHARS})}
        return [rows[i] for i in page if i in rows], min(len(pool), newest), len(pool) > newest

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
            "(b.duplicate_of = a.id OR b.merged_into = a.id OR "
            # listed coverage found to be another article stays with that one
            "(b.listed_by = a.id AND b.kind = 'linked' AND (b.merged_into IS NULL OR b.merged_into = a.id)))) "
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
