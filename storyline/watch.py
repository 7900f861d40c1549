"""Live collection: subscriptions, their schedule, and the polling loop over feeds and article pages.

Worker threads only do HTTP; every database write happens on the calling thread, one input per
transaction, so stopping (or a kill) between two writes leaves the store consistent and a restart
resumes where it was.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import queue
import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from urllib.parse import quote_plus, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from . import feeds, opml, revisions
from .events import adopt_listing, pick_listing
from .fetch import (
    PERMANENT, FetchError, FetchOptions, Page, Validators, feed_bytes, fetch, google_news_target, is_google_news, make_client,
    page_text,
)
from .ingest import Pipeline
from .models import IngestResult, sanitize
from .politeness import (
    ROBOTS_MAX_BYTES, THROTTLED, HostGate, PolitenessOptions, crawl_delay, host_of, origin_of, parse_robots,
    robots_allows, robots_url,
)
from .readers import sha256
from .settings import MAX_INTERVAL_S, parse_interval  # noqa: F401 - the interval rule is the settings'
from .sqlite import sqlite3
from .store import Store, utcnow

log = logging.getLogger("storyline.watch")

TICK_S = 0.5  # the loop looks at the stop flag at least this often
_PRIORITY = {"robots": 0, "feed": 1, "page": 2}


@dataclass(frozen=True)
class WatchOptions:
    """How often, how politely and how persistently to collect."""

    every_s: int = 900  # poll interval of a new subscription
    workers: int = 8  # requests in flight over all hosts
    fetch_pages: bool = True  # fetch and extract the article page of each new feed item
    robots: bool = True  # honour robots.txt for pages (feeds are the user's own choice)
    max_backoff_s: float = 6 * 3600  # a failing feed is still retried at least this often
    page_retry_s: float = 1800  # first retry of a page that could not be fetched; doubles each time
    page_attempts: int = 5  # then the page is given up (the feed's title and summary stay)
    max_hops: int = 5  # redirects to other hosts a page or a feed poll may take
    robots_ttl_s: float = 86400
    reload_s: float = 15.0  # a long-running watch re-reads subscriptions this often (new ones, removals)
    refresh_s: float = 300.0  # event titles/summaries are recomputed at least this often while busy
    once_wait_s: float = 60.0  # --once leaves a host that asked to wait longer than this to the next run
    fetch: FetchOptions = FetchOptions()
    politeness: PolitenessOptions = PolitenessOptions()


@dataclass
class Job:
    """One request to make: a feed poll, an article page, or a site's robots.txt."""

    kind: str  # feed | page | robots
    ident: int | str  # feed id, article id, origin
    url: str
    host: str
    since: Validators | None = None
    hops: int = 0  # redirects to other hosts taken so far (feeds; a page keeps its count in the store)
    moved: bool = True  # ... and every one of them was permanent (301/308)

    @property
    def key(self) -> tuple[str, int | str]:
        """Identity of the job, so it is never queued twice."""
        return self.kind, self.ident


@dataclass
class Outcome:
    """What a worker brought back."""

    job: Job
    page: Page | None
    error: FetchError | None
    ended: float  # time.monotonic() when the request finished


@dataclass
class WatchReport:
    """What a watch run did."""

    polled: int = 0
    not_modified: int = 0
    failed: int = 0
    moved: int = 0  # subscriptions that follow a permanent redirect to their new address from now on
    updated: int = 0
    pages: int = 0
    pages_failed: int = 0
    stored: IngestResult = field(default_factory=IngestResult)
    errors: list[str] = field(default_factory=list)
    not_due: int = 0  # subscriptions a one-shot run left for later (not due yet)
    next_due: float | None = None  # when the first of them is (unix time)
    held: int = 0  # subscriptions `--all` left alone: their server answered 429/503 and asked for time

    def summary(self) -> str:
        """The one-line summary the CLI prints."""
        line = (
            f"{self.polled} feeds polled ({self.not_modified} unchanged, {self.failed} failed"
            + (f", {self.moved} moved" if self.moved else "") + "), "
            f"{self.stored.new} new, {self.stored.duplicates} duplicates, {self.updated} updated, "
            f"{self.pages} pages fetched, {self.pages_failed} pages failed"
        )
        if self.not_due:
            at = datetime.fromtimestamp(self.next_due, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if self.next_due else ""
            line += f"; {self.not_due} not due yet" + (f" (the first at {at})" if at else "") + ", which --all polls now"
        if self.held:
            line += f"; {self.held} left alone, as their server asked for time (429/503)"
        return line


# -- subscriptions --------------------------------------------------------------------------


def google_news_url(query: str, language: str = "en-US", country: str = "US") -> str:
    """The Google News RSS search feed for a query."""
    lang = language.split("-")[0]
    return (
        f"https://news.google.com/rss/search?q={quote_plus(query)}"
        f"&hl={quote_plus(language)}&gl={quote_plus(country)}&ceid={quote_plus(f'{country}:{lang}')}"
    )


def check_feed_url(url: str) -> str:
    """A subscription URL, stripped (feed:// read as http://), or ValueError when it is not http(s)."""
    url = (url or "").strip()
    if url[:5].lower() == "feed:":  # the feed: scheme of old browsers and OPML files wraps an http(s) URL
        url = url[5:] if url[5:].lower().startswith(("http://", "https://")) else "http:" + url[5:]
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError(f"malformed URL {url!r}: it holds spaces or control characters (percent-encode them)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"malformed URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    # Scheme and host are case-blind: "HTTP://Example.com/rss" is the feed already subscribed, not another.
    user, at, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(scheme=parts.scheme, netloc=user + at + host.lower()))


def subscribe(store: Store, url: str, name: str | None, every_s: int, update: bool = False) -> tuple[int, bool]:
    """Add a subscription (due at once); return its id and whether it is new.

    With `update`, a subscription already there takes the name (when given) and interval asked for.
    """
    with store.transaction():
        feed_id, new = store.add_feed(check_feed_url(url), name, every_s)
        if update and not new:
            store.update_feed(feed_id, every_s=int(every_s), **({"name": name} if name else {}))
        return feed_id, new


def unsubscribe(store: Store, ref: str) -> sqlite3.Row | None:
    """Remove a subscription by id or URL; return it (None when there was none)."""
    with store.transaction():
        row = store.feed(ref)
        if row is not None:
            store.remove_feed(row["id"])
    return row


def import_opml(store: Store, data: bytes, every_s: int) -> tuple[int, int, int]:
    """Subscribe to every feed an OPML file lists; return (added, already there, skipped: not http(s) feed URLs)."""
    outlines = opml.parse_opml(data)
    added = known = 0
    with store.transaction():
        for outline in outlines:
            try:
                _, new = store.add_feed(check_feed_url(outline.url), outline.name, every_s)
            except ValueError:
                continue
            added += new
            known += not new
    return added, known, len(outlines) - added - known


def export_opml(store: Store) -> bytes:
    """Every subscription as an OPML document."""
    return opml.write_opml([opml.Outline(r["url"], r["name"]) for r in store.feeds()])


_LAST_POLL = 253402300799  # 9999-12-31T23:59:59Z: a store written before intervals had a limit may hold later


def feed_status(row: sqlite3.Row) -> dict[str, object]:
    """A subscription's state as shown by `feeds list`."""
    if row["error_count"]:
        state = f"failing ({row['error_count']}x)"
    elif row["last_success"]:
        state = "ok"
    else:
        state = "new"
    next_poll = row["next_poll"] or 0
    return {
        "id": row["id"], "url": row["url"], "name": row["name"], "every_s": row["every_s"], "state": state,
        "last_success": row["last_success"], "last_error": row["last_error"], "last_error_at": row["last_error_at"],
        "error_count": row["error_count"], "last_status": row["last_status"],
        "next_poll": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(min(next_poll, _LAST_POLL))) if next_poll else "now",
        "items_seen": row["items_seen"], "pages_pending": row["pages_pending"], "pages_failed": row["pages_failed"],
    }


# -- the loop ---------------------------------------------------------------------------------


class Watcher:
    """Polls due feeds and pages with per-host politeness; stores results on the calling thread."""

    def __init__(
        self, pipeline: Pipeline, opts: WatchOptions = WatchOptions(), client: httpx.Client | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self.opts = opts
        self.own_client = client is None
        self.client = client or make_client(opts.fetch)
        self.stop = stop or threading.Event()
        self.gate = HostGate(opts.politeness)
        self.rng = random.Random()
        self.report = WatchReport()
        self._pending: dict[str, list[tuple[int, int, Job]]] = {}
        self._queued: set[tuple[str, int | str]] = set()
        self._inflight: dict[tuple[str, int | str], Job] = {}
        self._results: queue.Queue[Outcome] = queue.Queue()
        self._robots: dict[str, tuple[RobotFileParser, float]] = {}
        self._seq = itertools.count()
        self._feeds_loaded = False
        self._deferred: set[tuple[str, int | str]] = set()
        self._reload = True
        self._next_load = 0.0
        self._stored = False
        self._last_refresh = time.monotonic()

    def close(self) -> None:
        """Release the HTTP client if the watcher made it."""
        if self.own_client:
            self.client.close()

    def run(self, once: bool = False, everything: bool = False) -> WatchReport:
        """Poll until stopped; with `once`, poll what is due (every feed with `everything`) and its pages, and return."""
        if everything:
            self._load(once, horizon=math.inf)
        # Events an earlier run stored but did not get to refresh (it was stopped) are refreshed too.
        self._stored = self._stored or bool(self.store.dirty_events(1) or self.store.dirty_stories(1))
        while not self.stop.is_set():
            if self._reload or (not once and time.monotonic() >= self._next_load):
                self._load(once)
            self._dispatch(once)
            idle = not self._inflight and not any(self._pending.values())
            if self._stored and (idle or time.monotonic() - self._last_refresh > self.opts.refresh_s):
                self._refresh()
            if idle and once:
                if self._load(once):
                    continue  # more pages were due than one load takes
                break
            try:
                outcome = self._results.get(timeout=self._timeout(once))
            except queue.Empty:
                continue
            self._handle(outcome)
        if self._stored:
            self._refresh()  # stopped: what was stored is titled and summarised before exiting
        return self.report

    # -- scheduling ---------------------------------------------------------------------

    def _load(self, once: bool, horizon: float = 0.0) -> int:
        """Queue the feeds and pages that are due (a one-shot run polls each feed once); return how many."""
        queued = len(self._queued)
        now = time.time()
        self._reload = False
        if not (once and self._feeds_loaded):
            for row in self.store.due_feeds(now + horizon):
                if row["next_poll"] > now and row["error_count"] and row["last_status"] in THROTTLED:
                    self.report.held += 1  # --all polls early, but not a server that asked for time
                    continue
                since = Validators(row["etag"], row["last_modified"])
                self._queue(Job("feed", row["id"], row["url"], host_of(row["url"]), since))
            if once and not self._feeds_loaded:
                self.report.not_due, self.report.next_due = self.store.feeds_waiting(now + horizon)
            self._feeds_loaded = True
        if self.opts.fetch_pages:
            for row in self.store.due_pages(now):
                url = row["url"]
                if row["hops"] == 0 and is_google_news(url):
                    url = google_news_target(url) or url  # older links carry the publisher URL inside
                self._queue(Job("page", row["article_id"], url, host_of(url)))
        due = [t for t in (self.store.next_feed_due(now), self.store.next_page_due(now)) if t is not None]
        wait = min([self.opts.reload_s] + [max(0.0, t - now) for t in due])
        self._next_load = time.monotonic() + wait
        return len(self._queued) - queued

    def _queue(self, job: Job) -> None:
        """Add a job to its host's queue unless it is queued, running, or left to the next run."""
        if job.key in self._queued or job.key in self._inflight or job.key in self._deferred:
            return
        self._queued.add(job.key)
        heapq.heappush(self._pending.setdefault(job.host, []), (_PRIORITY[job.kind], next(self._seq), job))

    def _dispatch(self, once: bool) -> None:
        """Start every queued job its host's gate and the worker limit allow."""
        now = time.monotonic()
        for host in list(self._pending):
            if once and self.opts.once_wait_s < self.gate.wait(host, now) < math.inf:
                for _, _, job in self._pending.pop(host):
                    self._queued.discard(job.key)
                    self._deferred.add(job.key)  # still due in the store: the next run takes it
                continue
            heap = self._pending[host]
            while heap and len(self._inflight) < self.opts.workers and self.gate.wait(host, now) == 0:
                job = heap[0][2]
                verdict = self._robots_verdict(job) if job.kind == "page" else "go"
                if verdict == "wait":
                    if heap[0][2] is job:
                        break  # this site's robots.txt is being fetched
                    continue  # its robots.txt was queued ahead of it
                heapq.heappop(heap)
                self._queued.discard(job.key)
                if verdict == "go":
                    self._start(job)
                else:
                    self._robots_blocked(job)
            if not heap:
                del self._pending[host]

    def _robots_verdict(self, job: Job) -> str:
        """go, wait (robots.txt first: queued) or blocked, for a page."""
        if not self.opts.robots:
            return "go"
        rules = self._robots_for(origin_of(job.url))
        if rules is None:
            self._queue(Job("robots", origin_of(job.url), robots_url(job.url), job.host))
            return "wait"
        return "go" if robots_allows(rules, job.url) else "blocked"

    def _robots_blocked(self, job: Job) -> None:
        """A page robots.txt forbids (or whose robots.txt is unreachable): try again when the rules expire."""
        rules, expires = self._robots[origin_of(job.url)]
        reason = "disallowed by robots.txt" if rules.last_checked else "robots.txt unreachable: site off limits for now"
        self._page_failed(int(job.ident), reason, retry_after=max(0.0, expires - time.time()))

    def _robots_for(self, origin: str) -> RobotFileParser | None:
        """A site's robots.txt rules, from memory or the store, while fresh."""
        cached = self._robots.get(origin)
        if cached is None:
            row = self.store.robots(origin)
            if row is None:
                return None
            cached = self._remember_robots(origin, row["status"], row["body"], row["fetched_at"])
        rules, expires = cached
        return rules if time.time() < expires else None

    def _remember_robots(self, origin: str, status: int, body: str, fetched_at: float) -> tuple[RobotFileParser, float]:
        """Parse and cache robots.txt; an unreachable one blocks only until the next page retry."""
        rules = parse_robots(status, body)
        reachable = 200 <= status < 500 and status != 429
        expires = fetched_at + (self.opts.robots_ttl_s if reachable else self.opts.page_retry_s)
        self._robots[origin] = (rules, expires)
        self.gate.set_crawl_delay(host_of(origin), crawl_delay(rules))
        return rules, expires

    def _start(self, job: Job) -> None:
        """Hand a job to a worker thread (a daemon: a hung server never holds the process)."""
        self.gate.start(job.host)
        self._inflight[job.key] = job
        threading.Thread(target=self._work, args=(job,), daemon=True, name=f"fetch-{job.kind}").start()

    def _work(self, job: Job) -> None:
        """Fetch one URL and report back; never raises."""
        opts = self.opts.fetch
        if job.kind in ("page", "feed"):
            opts = replace(opts, same_host_redirects=True)  # another host gets its own turn at its own gate
        elif job.kind == "robots":
            # RFC 9309: read at least 500 KiB and ignore the rest; refusing a longer file put the whole site off limits
            opts = replace(opts, max_bytes=ROBOTS_MAX_BYTES, truncate=True)
        page = error = None
        try:
            page = fetch(job.url, opts, self.client, job.since)
        except FetchError as exc:
            error = exc
        except Exception as exc:  # a bug must not kill the loop
            error = FetchError(f"internal error: {type(exc).__name__}: {exc}")
        self._results.put(Outcome(job, page, error, time.monotonic()))

    def _timeout(self, once: bool) -> float:
        """How long to wait for a result before looking at the queues again."""
        now = time.monotonic()
        wait = TICK_S
        if len(self._inflight) < self.opts.workers:
            for host in self._pending:
                wait = min(wait, self.gate.wait(host, now))
        if not once:
            wait = min(wait, self._next_load - now)
        return max(0.02, wait)

    def _refresh(self) -> None:
        """Recompute the titles and summaries of events this run touched."""
        self.pipeline.refresh()
        self._stored = False
        self._last_refresh = time.monotonic()

    # -- results ------------------------------------------------------------------------

    def _handle(self, outcome: Outcome) -> None:
        """Store what a worker brought back."""
        job = outcome.job
        self._inflight.pop(job.key, None)
        said = outcome.error.retry_after if outcome.error else None
        busy = outcome.error is not None and outcome.error.status in THROTTLED
        self.gate.finish(job.host, outcome.ended, None if said is None else min(said, self.opts.max_backoff_s), throttled=busy)
        try:
            if job.kind == "feed":
                self._feed_done(job, outcome.page, outcome.error)
            elif job.kind == "page":
                self._page_done(job, outcome.page, outcome.error)
            else:
                self._robots_done(job, outcome.page, outcome.error)
        except sqlite3.Error:
            raise
        except Exception as exc:  # one bad response must never stop the others
            log.exception("handling failed", extra={"url": job.url})
            if job.kind == "feed":
                self._feed_failed(int(job.ident), FetchError(f"internal error: {type(exc).__name__}: {exc}"))
            elif job.kind == "page":
                self._page_failed(int(job.ident), f"internal error: {type(exc).__name__}: {exc}", permanent=True)

    def _feed_done(self, job: Job, page: Page | None, error: FetchError | None) -> None:
        """A poll came back: store new and changed items, queue their pages, schedule the next poll."""
        feed = self.store.feed(int(job.ident))
        if feed is None:
            return  # unsubscribed meanwhile
        if error is None and page is not None and page.location:
            # Moved to another host: polled there in that host's turn, so many feeds sent to one host
            # do not all land on it at once, and its Retry-After pauses it rather than the host they left.
            if job.hops >= self.opts.max_hops:
                error = FetchError(f"more than {self.opts.max_hops} redirects", page.status)
            else:
                moved = job.moved and (page.moved or not page.redirects) and page.status in PERMANENT
                self._queue(replace(job, url=page.location, host=host_of(page.location), hops=job.hops + 1, moved=moved))
                return
        self.report.polled += 1
        if error is not None or page is None:
            self._feed_failed(feed["id"], error or FetchError("no response"))
            return
        self._follow_move(feed, job, page)
        now = time.time()
        state = {
            "last_polled": utcnow(), "last_success": utcnow(), "last_status": page.status, "error_count": 0,
            "next_poll": now + feed["every_s"] * (1 + 0.1 * self.rng.random()),
        }
        if page.not_modified:
            self.report.not_modified += 1
            with self.store.transaction():
                self.store.update_feed(feed["id"], **state)
            return
        data = feed_bytes(page)
        sha = sha256(data)
        keys: list[str] = []
        changed: list[int] = []
        if sha != feed["last_sha256"]:
            try:
                # Relative links start from where the feed answered; the subscription still names it.
                docs = feeds.parse_feed(data, feed["url"], base_url=page.url)
            except feeds.FeedError as exc:
                self._feed_failed(feed["id"], FetchError(str(exc), page.status))
                return
            keys, changed = self._store_items(feed["url"], docs, sha, data)
        else:
            self.report.not_modified += 1
        validators = page.validators
        with self.store.transaction():
            # After the items' own commit: a kill in between only means the next poll re-reads them.
            new_ids = self.store.link_feed_items(feed["id"], keys)
            if self.opts.fetch_pages:
                # Every item, not only new ones: items seen during a --no-pages run get their page now.
                self.store.enqueue_pages([aid for key in keys if (aid := self.store.article_id_by_key(key))])
                self._refetch_pages(changed)
            self.store.update_feed(
                feed["id"], etag=validators.etag, last_modified=validators.last_modified, last_sha256=sha, **state
            )
        if new_ids or keys:
            self._reload = True  # new pages may be due now

    def _follow_move(self, feed: sqlite3.Row, job: Job, page: Page) -> None:
        """A feed that answered from another address after permanent redirects only is polled there from now on."""
        redirected = job.hops > 0 or bool(page.redirects)
        if not redirected or page.url == feed["url"] or not job.moved or (page.redirects and not page.moved):
            return
        with self.store.transaction():
            if self.store.feed(page.url) is not None:  # subscribed there already: two subscriptions, one feed
                log.info("feed moved to a subscribed address", extra={"url": feed["url"], "to": page.url})
                return
            self.store.update_feed(feed["id"], url=page.url)
        self.report.moved += 1
        log.info("feed moved", extra={"url": feed["url"], "to": page.url})

    def _store_items(self, url: str, docs: list, sha: str, data: bytes) -> tuple[list[str], list[int]]:
        """Store a feed's new and changed items in one transaction; return all keys and the changed ids."""
        for doc in docs:
            sanitize(doc)  # as it will be stored: else a title with a bidi mark would look changed every time
        feeds.key_by_link(docs)  # as `ingest` keys a feed file's items
        fresh = [doc for doc in docs if revisions.is_news(self.store, doc)]
        changed = [aid for doc in fresh if (aid := self.store.article_id_by_key(doc.key)) is not None]
        if fresh:
            raw = None if self.store.raw_exists(url, sha) else (url, sha, "feed", data)
            self.pipeline.store_documents(fresh, self.report.stored, raw=raw)
            self._stored = True
            self.report.updated += len(changed)
        return [doc.key for doc in docs], changed

    def _refetch_pages(self, article_ids: list[int]) -> None:
        """A changed feed entry may mean a changed page: fetch fetched pages again."""
        for aid in article_ids:
            row = self.store.page(aid)
            if row is not None and row["state"] in ("done", "failed"):
                self.store.update_page(aid, state="pending", attempts=0, next_try=0)

    def _feed_failed(self, feed_id: int, error: FetchError) -> None:
        """Keep a failure visible and back off exponentially (or as long as the server asked)."""
        feed = self.store.feed(feed_id)
        if feed is None:
            return
        count = feed["error_count"] + 1
        backoff = feed["every_s"] * 2 ** min(count - 1, 20) * (0.9 + 0.2 * self.rng.random())
        wait = min(self.opts.max_backoff_s, max(backoff, error.retry_after or 0.0))
        reason = str(error) or "failed"
        self.report.failed += 1
        # A watch that runs for weeks keeps only the latest lines (the store keeps each feed's last error).
        self.report.errors = self.report.errors[-199:] + [f"{feed['url']}: {reason}"]
        with self.store.transaction():
            self.store.update_feed(
                feed_id, last_polled=utcnow(), last_status=error.status, last_error=reason, last_error_at=utcnow(),
                error_count=count, next_poll=time.time() + wait,
            )
        log.warning("feed failed", extra={"url": feed["url"], "error": reason, "retry_in_s": round(wait)})

    def _page_done(self, job: Job, page: Page | None, error: FetchError | None) -> None:
        """An article page came back: follow a redirect politely, or extract and store it."""
        aid = int(job.ident)
        row = self.store.page(aid)
        article = self.store.article(aid)
        if row is None or row["state"] != "pending":
            return
        if article is None:
            self._page_settled(aid, "failed", "article no longer stored")
            return
        if error is not None or page is None:
            self._page_failed(aid, str(error or "no response"), retry_after=error.retry_after if error else None)
            return
        if page.location:
            self._page_redirected(row, article, page.location)
            return
        if is_google_news(page.url):
            self._unresolved(aid, "Google News link could not be resolved")
            return
        from .extract import ExtractError, extract_html  # trafilatura is heavy to import

        try:
            doc = extract_html(page_text(page), page.url, page.url)
        except ExtractError as exc:
            self._page_failed(aid, str(exc), permanent=True)
            return
        doc.key, doc.url, doc.source = article["key"], article["url"], article["source"]
        sha = sha256(page.body)
        raw = None if self.store.raw_exists(page.url, sha) else (page.url, sha, "html", page.body)
        self.pipeline.store_documents([doc], self.report.stored, raw=raw)
        self._stored = True
        self.report.pages += 1
        self._page_settled(aid, "done", None)

    def _page_redirected(self, row: sqlite3.Row, article: sqlite3.Row, target: str) -> None:
        """A page moved to another host: queue it there, at that host's own pace and robots.txt."""
        aid = row["article_id"]
        if is_google_news(article["url"]) and host_of(target).endswith("google.com"):
            self._unresolved(aid, "Google News link could not be resolved (consent page)")
        elif row["hops"] >= self.opts.max_hops:
            self._page_failed(aid, f"more than {self.opts.max_hops} redirects", permanent=True)
        else:
            with self.store.transaction():
                self.store.update_page(aid, url=target, hops=row["hops"] + 1, next_try=0)
            self._reload = True

    def _unresolved(self, aid: int, reason: str) -> None:
        """A Google News link that leads nowhere: match the item to a full text of its event by title and outlet."""
        with self.store.transaction():
            self.store.update_page(aid, state="unresolved", last_error=reason, fetched_at=utcnow())
            item = self.store.article(aid)
            if item is None or item["event_id"] is None or item["text"]:
                return
            for full in self.store.full_texts(item["event_id"]):
                if full["id"] != aid and pick_listing(full, [item]) is not None:
                    adopt_listing(self.store, item, full)  # as the core does for listed coverage
                    self.store.touch_event(item["event_id"])
                    self._stored = True
                    return

    def _page_settled(self, aid: int, state: str, reason: str | None) -> None:
        """A page is done with: fetched, or known to be unfetchable."""
        with self.store.transaction():
            self.store.update_page(aid, state=state, last_error=reason, fetched_at=utcnow())

    def _page_failed(
        self, aid: int, reason: str, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        """Retry a page later with a growing wait, and give up after a few attempts."""
        row = self.store.page(aid)
        if row is None:
            return
        attempts = row["attempts"] + 1
        if permanent or attempts >= self.opts.page_attempts:
            self.report.pages_failed += 1
            with self.store.transaction():
                self.store.update_page(aid, state="failed", attempts=attempts, last_error=reason)
            return
        wait = max(self.opts.page_retry_s * 2 ** (attempts - 1), retry_after or 0.0)
        with self.store.transaction():
            self.store.update_page(aid, attempts=attempts, last_error=reason, next_try=time.time() + wait)

    def _robots_done(self, job: Job, page: Page | None, error: FetchError | None) -> None:
        """Keep a site's robots.txt (a 4xx allows everything; an unreachable one blocks for a while)."""
        origin = str(job.ident)
        status = page.status if page is not None else ((error.status or 0) if error else 0)
        body = page.body.decode("utf-8", "replace") if page is not None else ""
        now = time.time()
        with self.store.transaction():
            self.store.save_robots(origin, status, body, now)
        self._remember_robots(origin, status, body, now)


def stop_on_signals(stop: threading.Event) -> None:
    """Ctrl-C and SIGTERM ask the loop to stop after the current write."""
    import signal

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
