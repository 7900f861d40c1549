"""Online event assignment: a new article joins the most similar recent event or opens one."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Callable

from . import dates
from .models import EventDate
from .settings import Settings
from .sqlite import sqlite3
from .store import Store
from .summarize import OPENING_CHARS, summarize
from .vectors import Centroid, CentroidIndex, Vector, cosine, document_vector, headline_vector, top_terms

MERGE_MIN = 0.45  # title match at which listed coverage is taken to be a stored full text
MERGE_MARGIN = 0.05  # ... and by how much it must beat the next-best listing
# A headline alone shares few words with any group, so it joins at a lower similarity: measured on
# the UCI aggregator headlines against ECB+ full texts (storyline eval clustering).
BRIEF_RATIO = 0.7
# Groups held in memory before the farthest half are let go (the database keeps them): a search
# scans every mirrored group that shares a heavy term, near the day or not.
MIRROR_CAP = 5_000


class Matches(list[tuple[float, int]]):
    """(similarity, group id) pairs, best first, for one vector; `brief` when it is a headline alone."""

    def __init__(self, scored: list[tuple[float, int]], brief: bool) -> None:
        super().__init__(scored)
        self.brief = brief


def days_apart(centroid: Centroid, day: date) -> int:
    """Days between a dated group's span and a day (0 when the day falls inside it)."""
    assert centroid.first_day is not None and centroid.last_day is not None
    return max((centroid.first_day - day).days, (day - centroid.last_day).days, 0)


class GroupAssigner:
    """Assigns members to events (or events to stories), mirroring in memory the groups near the days seen.

    The mirror always holds every group the database has for the days it covers (and the undated
    ones once an undated member came), so a run that is killed and resumed makes the same choices
    as one that was not. Groups that fall far behind the days being ingested are let go, so the
    cost of a search does not grow with the archive.
    """

    def __init__(
        self, store: Store, table: str, window_days: int, threshold: float, brief_threshold: float | None = None,
        max_span_days: int | None = None,
    ) -> None:
        self.store = store
        self.table = table
        self.window_days = window_days
        self.max_span_days = max_span_days
        self.threshold = threshold
        self.brief_threshold = threshold * BRIEF_RATIO if brief_threshold is None else brief_threshold
        self.reset()

    def reset(self) -> None:
        """Forget the mirror (after a rolled-back transaction)."""
        self.index = CentroidIndex(self.window_days, max_span_days=self.max_span_days)
        self.span: tuple[date, date] | None = None
        self.undated = False
        self.entered = 0  # groups that came into memory since the mirror was last trimmed
        self.unsaved: set[int] = set()  # groups whose signature changed since the last flush

    def _load(self, lo: date, hi: date) -> None:
        """Mirror the groups overlapping [lo, hi] (and the undated ones) from the database."""
        for row in self.store.overlapping(self.table, lo.isoformat(), hi.isoformat()):
            if row["id"] not in self.index.items:
                self.index.put(Centroid.loads(row["id"], row["signature"], row["first_day"], row["last_day"]))
                self.entered += 1

    def _ensure(self, day: date | None) -> None:
        """Make sure every group that could take a member of this day is in memory."""
        if day is None:
            if not self.undated:
                # An empty day range selects only the undated groups.
                self._load(date.max, date.min)
                self.undated = True
            return
        w = self.index.window + timedelta(days=1)
        lo, hi = day - w, day + w
        if self.span is None or lo > self.span[1] or hi < self.span[0]:
            # A jump past the mirrored days starts a new span: stretching the old one over the gap
            # would read every group of the days between, which grows with the archive. Groups
            # mirrored before stay until trimmed; a later load skips them, so memory keeps its copy.
            self._load(lo, hi)
            self.span = (lo, hi)
        else:
            if lo < self.span[0]:
                self._load(lo, self.span[0])
            if hi > self.span[1]:
                self._load(self.span[1], hi)
            self.span = (min(lo, self.span[0]), max(hi, self.span[1]))
        # Trimming scans the whole mirror, so it waits until half a mirror's worth came in anew.
        if len(self.index) > MIRROR_CAP and self.entered >= MIRROR_CAP // 2:
            self._let_go(day)
            self.entered = 0

    def _let_go(self, day: date) -> None:
        """Halve the mirror, keeping the dated groups nearest the day; the span shrinks to match."""
        assert self.span is not None
        self.flush()  # a group let go is read back from the store
        gaps = {gid: days_apart(c, day) for gid, c in self.index.items.items() if c.first_day is not None}
        if not gaps:
            return
        keep = max(sorted(gaps.values())[len(gaps) // 2], self.index.window.days + 1)
        for gid, g in gaps.items():
            if g > keep:
                self.index.remove(gid)
        self.index.compact()
        # Every group overlapping the new span is at most `keep` days away, so it stayed.
        reach = timedelta(days=keep)
        self.span = (max(self.span[0], day - reach), min(self.span[1], day + reach))

    def fits_span(self, a: Centroid, b: Centroid) -> bool:
        """Whether two groups together cover no more days than one may (always, without a bound or a date)."""
        days = [d for d in (a.first_day, a.last_day, b.first_day, b.last_day) if d]
        return self.max_span_days is None or not days or (max(days) - min(days)).days <= self.max_span_days

    def candidates(self, vec: Vector, day: date | None) -> Matches:
        """Groups in the window that reach the threshold, most similar first."""
        self._ensure(day)
        brief = bool(getattr(vec, "brief", False))
        threshold = self.brief_threshold if brief else self.threshold
        return Matches([(score, gid) for score, gid in self.index.search(vec, day) if score >= threshold], brief)

    def best(self, vec: Vector, day: date | None) -> tuple[int | None, float]:
        """The most similar group within the window if similar enough, and the similarity."""
        found = self.candidates(vec, day)
        return (found[0][1], found[0][0]) if found else (None, 0.0)

    def absorb(self, keep: int, drop: int) -> Centroid:
        """Fold group `drop` into group `keep` (signatures and spans); the caller moves the members."""
        a, b = self.centroid(keep), self.centroid(drop)
        terms = dict(a.terms)
        for k, v in b.terms.items():
            terms[k] = terms.get(k, 0.0) + v
        days = [d for d in (a.first_day, a.last_day, b.first_day, b.last_day) if d]
        merged = Centroid(keep, top_terms(terms, self.index.max_terms), a.n + b.n, min(days, default=None), max(days, default=None))
        self.index.remove(drop)
        self.index.put(merged)
        self.unsaved.discard(drop)
        self.unsaved.discard(keep)
        self._save(merged)
        return merged

    def open(self, day: date | None, title: str = "") -> int:
        """A new, empty group."""
        self._ensure(day)
        return self.store.create_group(self.table, day.isoformat() if day else None, title)

    def add(self, gid: int, vec: Vector, day: date | None, defer: bool = False) -> Centroid:
        """Fold a member into a group's signature and date span, in memory and in the store.

        With `defer` the store is written by `flush`, which the caller runs before its transaction
        commits: a batch of articles then writes each group it touched once, not once per article.
        """
        self._ensure(day)
        if gid not in self.index.items:
            self.index.put(self.centroid(gid))
            self.entered += 1
        c = self.index.add_member(gid, vec, day)
        if defer:
            self.unsaved.add(gid)
        else:
            self.unsaved.discard(gid)
            self._save(c)
        return c

    def flush(self) -> None:
        """Write the signatures `add(defer=True)` left in memory."""
        for gid in sorted(self.unsaved):
            if gid in self.index.items:
                self._save(self.index.items[gid])
        self.unsaved.clear()

    def _save(self, c: Centroid) -> None:
        """Write one group's signature and span."""
        self.store.save_centroid(
            self.table, c.id, c.dumps(),
            c.first_day.isoformat() if c.first_day else None,
            c.last_day.isoformat() if c.last_day else None,
        )

    def centroid(self, gid: int) -> Centroid:
        """A group's centroid (from memory or the store)."""
        c = self.index.items.get(gid)
        if c is None:
            row = self.store.group(self.table, gid)
            c = Centroid.loads(gid, row["signature"], row["first_day"], row["last_day"])
        return c


# An article bridges two events only if it matches the second almost as well as the first. Two
# same-kind happenings (two quakes, two fights of one boxer) share much of a full text's words, so
# a full text must match both very nearly equally; a headline's few words match two events about
# equally only when those events share their core words.
BRIDGE_RATIO = 0.85
BRIEF_BRIDGE_RATIO = 0.75
BRIDGE_CANDIDATES = 4


def bridge(
    events: GroupAssigner, store: Store, event_id: int, near: list[tuple[float, int]], settings: Settings
) -> tuple[int, set[int]]:
    """Merge the events an article bridges; return the event it ends in and the retired events.

    Reports of one happening that first arrived in different words open two events; an article
    matching both about equally, whose signatures also match, shows they are one. Only those
    events change: the archive is never re-clustered.
    """
    retired: set[int] = set()
    top = near[0][0] if near else 0.0
    ratio = BRIEF_BRIDGE_RATIO if getattr(near, "brief", False) else BRIDGE_RATIO
    for score, other in near[1:BRIDGE_CANDIDATES]:
        if other == event_id or other not in events.index.items or score < ratio * top:
            continue
        if store.do_not_merge("events", event_id, other) or _stories_kept_apart(store, event_id, other):
            continue
        if not events.fits_span(events.centroid(event_id), events.centroid(other)):
            continue  # together they would cover more days than one event may
        if cosine(events.centroid(event_id).terms, events.centroid(other).terms) < settings.event_merge_threshold:
            continue
        keep, drop = min(event_id, other), max(event_id, other)
        events.absorb(keep, drop)
        store.merge_events(keep, drop)
        retired.add(drop)
        event_id = keep
    return event_id, retired


def _stories_kept_apart(store: Store, a: int, b: int) -> bool:
    """Whether two events sit in stories a user separated (merging them would undo the split)."""
    sa, sb = store.event(a)["story_id"], store.event(b)["story_id"]
    return sa is not None and sb is not None and sa != sb and store.do_not_merge("stories", sa, sb)


def title_match(listed_title: str, title: str | None, text: str) -> float:
    """How well a listed headline matches a stored article's title and lead."""
    listed = headline_vector(listed_title)
    by_title = cosine(listed, headline_vector(title)) if title else 0.0
    by_lead = cosine(listed, document_vector(None, " ".join(text.split()[:120]))) if text else 0.0
    return (by_title + by_lead) / 2 if title and text else max(by_title, by_lead)


def outlets_compatible(a: str | None, b: str | None) -> bool:
    """Two outlet names that could be the same outlet (unknown fits anything)."""
    return not a or not b or a.strip().lower() == b.strip().lower()


def pick_listing(article: sqlite3.Row, listings: list[sqlite3.Row]) -> sqlite3.Row | None:
    """The one listed headline that is clearly this full-text article, if any."""
    scored = sorted(
        (
            (title_match(row["title"] or "", article["title"], article["text"]), row["id"], row)
            for row in listings
            if outlets_compatible(row["outlet"], article["outlet"])
        ),
        key=lambda t: (-t[0], t[1]),
    )
    if not scored or scored[0][0] < MERGE_MIN:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < MERGE_MARGIN:
        return None
    return scored[0][2]


def adopt_listing(store: Store, listing: sqlite3.Row, article: sqlite3.Row) -> None:
    """Merge listed coverage into the full text it turned out to be: the text gains outlet, URL, headline."""
    store.update_article(listing["id"], merged_into=article["id"])
    changes: dict[str, object] = {}
    if not article["outlet"] and listing["outlet"]:
        changes["outlet_id"] = store.outlet_id(listing["outlet"])
    if not article["url"] and listing["url"]:
        changes["url"] = listing["url"]
    if (article["title_inferred"] or not article["title"]) and listing["title"]:
        changes.update(title=listing["title"], title_inferred=0)
    if changes:
        store.update_article(article["id"], **changes)


def match_coverage(store: Store, event_id: int) -> None:
    """Pair an event's listed coverage with its full texts where the headline match is clear."""
    listings = list(store.unmerged_listings(event_id))
    if not listings:
        return
    for article in store.full_texts(event_id):
        chosen = pick_listing(article, listings)
        if chosen is not None:
            adopt_listing(store, chosen, article)
            listings.remove(chosen)
            if not listings:
                return


def member_dates(members: list[sqlite3.Row]) -> list[EventDate]:
    """The event-date readings of an event's articles."""
    out = []
    for row in members:
        if row["event_day"]:
            out.append(EventDate(dates.parse_day(row["event_day"]), row["event_day_method"], row["event_day_evidence"] or ""))
    return out


def choose_title(members: list[sqlite3.Row], centroid: Callable[[], Centroid]) -> str:
    """The headline most typical of the event, preferring real headlines of stored articles.

    `centroid` gives the event's centroid, asked for only when there are headlines to weigh: most
    events have one report, and reading a signature back from the store costs more than the rest.
    """
    pools = (
        [m for m in members if m["title"] and m["kind"] != "linked" and not m["title_inferred"]],
        [m for m in members if m["title"] and not m["title_inferred"]],
        [m for m in members if m["title"]],
    )
    for pool in pools:
        if len(pool) == 1:
            return pool[0]["title"]  # most events have one report: nothing to weigh
        if pool:
            typical = centroid()
            best = max(pool, key=lambda m: (typical.similarity(headline_vector(m["title"])), -m["id"]))
            return best["title"]
    return ""


SUMMARY_SOURCES = 12  # the earliest independent reports say what an event is; more only costs time


def summary_sources(members: list[sqlite3.Row]) -> list[tuple[str, str]]:
    """The (title, text) of the reports an event's summary is drawn from."""
    # Only the opening is read: the rest need not travel to the worker that writes the summary.
    keep = OPENING_CHARS + 1  # one character more: the summary then knows the text went on
    return [(m["title"] or "", (m["text"] or "")[:keep]) for m in members if m["duplicate_of"] is None][:SUMMARY_SOURCES]


def summarize_event(docs: list[tuple[str, str]], sentences: int) -> str:
    """An event's summary from its sources ("" without any)."""
    return summarize(docs, max_sentences=sentences) if docs else ""


def refresh(
    store: Store,
    event_id: int,
    centroid: Callable[[], Centroid],
    settings: Settings,
    members: list[sqlite3.Row] | None = None,
    summary: str | None = None,
) -> None:
    """Recompute an event's title, date and summary from its members (both given when read or made ahead).

    `centroid`: gives the event's centroid, only called if headlines must be weighed (see choose_title).
    """
    members = store.event_members(event_id) if members is None else members
    when = dates.combine(member_dates(members))
    if summary is None:
        summary = summarize_event(summary_sources(members), settings.summary_sentences)
    store.update_event(
        event_id,
        title=choose_title(members, centroid),
        date=when.day.isoformat() if when else None,
        date_method=when.method if when else None,
        date_evidence=when.evidence if when else None,
        summary=summary,
        n_articles=len(members),
        dirty=0,
    )
