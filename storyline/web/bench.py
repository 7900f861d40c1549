"""Serving figures: the stories page, a story page and a search on a large store, under concurrent clients.

The store is built from real texts (T17): a subset goes through the real pipeline (dedup, entities,
dates, events, stories, the FTS triggers); the rest are variants of those articles (sentences
rotated, dates shifted by whole years, outlets varied, some wire copies) bulk-inserted through the
Store API into cloned events and stories, so 100,000 articles take minutes rather than an hour.

While the clients measure, an ingest runs beside them in its own process: new articles (later
variants of the real texts) through the real pipeline into the same database, one transaction each,
paced at `ingest_rate` articles per second: by default 10, several times the average of a GDELT-sized
stream (~2-3 a second), so bursts are covered; 0 ingests as fast as it can.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit

import httpx

from ..bench import synthetic_corpus
from ..ingest import Pipeline
from ..models import Document, Enrichment, Entity, IngestResult, Quote
from ..settings import Settings
from ..stories import retitle
from ..store import Store

Progress = Callable[[str, int, int], None]
OUTLETS = (
    "BBC", "Reuters", "The Guardian", "CNN", "The Washington Post", "Associated Press", "AFP", "Al Jazeera",
    "The New York Times", "Deutsche Welle", "NPR", "Bloomberg", "France 24", "The Independent", "ABC News",
    "Sky News", "The Times of India", "South China Morning Post", "The Hindu", "Euronews",
)
QUERIES = ("government", "protesters", '"prime minister"', "swine flu", "oil*", "unconditionally")
COPY_EVERY = 5  # one variant in five is a wire copy of another report of its event
YEAR = timedelta(days=366)
GDELT_X4_RATE = 10.0  # articles per second: several times a GDELT-sized stream's average (~2-3 a second)


@dataclass(frozen=True)
class ServingOptions:
    """What to build and how hard to measure."""

    articles: int = 100_000
    pipeline_articles: int = 4_000  # real T17 texts through the full pipeline; the rest are variants
    clients: int = 8
    requests_per_client: int = 25
    rounds: int = 3  # each page measured this many times, the pages taking turns; medians reported
    # Before the load, one client and nothing beside: each page's own cost on this machine in this run,
    # which tells a slower hour of the machine from slower code.
    alone_requests: int = 30
    workers: int = 2  # `serve --workers`: one per core; lower p95 than one server process when measured side by side
    ner: str = "fast"
    ingest_beside: bool = True  # the pipeline ingests into the same store while the clients measure
    ingest_rate: float = GDELT_X4_RATE  # articles per second for that ingest; 0: as fast as it can


def _variant_text(text: str, shift: int) -> str:
    """The same sentences, rotated: a different text of the same length and vocabulary."""
    parts = [p for p in text.split("\n\n") if p.strip()]
    if len(parts) < 2:
        return text
    k = shift % len(parts)
    return "\n\n".join(parts[k:] + parts[:k])


def _shift(value: str | None, years: int) -> str | None:
    """An ISO date or time moved by whole years (366 days)."""
    if not value:
        return None
    if len(value) == 10:
        return (datetime.fromisoformat(value) + years * YEAR).date().isoformat()
    return (datetime.fromisoformat(value) + years * YEAR).isoformat()


class Cloner:
    """Copies the pipeline-built events into later years as new events of new or the same stories."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.enrichment: dict[int, Enrichment] = {}

    def _enrichment(self, aid: int) -> Enrichment:
        """A base article's entities and quotes (kept to copy onto its variants)."""
        if aid not in self.enrichment:
            self.enrichment[aid] = Enrichment(
                entities=[Entity(e["name"], e["kind"], e["n"]) for e in self.store.article_entities([aid])],
                quotes=[Quote(q["text"], q["speaker"]) for q in self.store.quotes([aid])],
            )
        return self.enrichment[aid]

    def clone_event(self, event: dict, members: list, round_: int, story_id: int) -> int:
        """One event of a later year, with a variant of each member; return how many articles were added."""
        gid = self.store.create_group("events", _shift(event["first_day"], round_), event["title"])
        self.store.update_event(
            gid, story_id=story_id, date=_shift(event["date"], round_), date_method=event["date_method"],
            date_evidence=event["date_evidence"], summary=event["summary"], dirty=0,
        )
        self.store.save_centroid("events", gid, event["signature"], _shift(event["first_day"], round_), _shift(event["last_day"], round_))
        originals: list[int] = []
        for i, m in enumerate(members):
            copy_of = originals[i % len(originals)] if originals and i % COPY_EVERY == COPY_EVERY - 1 else None
            outlet = OUTLETS[(m["id"] * 7 + round_ * 3 + i) % len(OUTLETS)]
            published = _shift(m["published"], round_)
            doc = Document(
                source=f"bench:{round_}:{m['id']}", kind=m["kind"], key=f"bench:{round_}:{m['id']}", title=m["title"],
                text=_variant_text(m["text"], round_ + i), outlet=outlet,
                url=f"https://{outlet.lower().replace(' ', '')}.example/{round_}/{m['id']}",
                published=datetime.fromisoformat(published) if published else None,
            )
            aid = self.store.insert_article(
                doc, None, event_id=gid, duplicate_of=copy_of, duplicate_kind="exact" if copy_of else None,
                event_day=_shift(m["event_day"], round_), event_day_method=m["event_day_method"],
            )
            self.store.save_enrichment(aid, self._enrichment(m["id"]))
            if copy_of is None:
                originals.append(aid)
        self.store.touch_event(gid)
        self.store.update_event(gid, dirty=0)
        return len(members)


def build_store(db: Path, shared: Path, options: ServingOptions, settings: Settings, progress: Progress | None = None) -> dict:
    """A store of `options.articles` articles: the pipeline for a subset, cloned variants for the rest."""
    store = Store(db)
    pipeline = Pipeline(store, settings)
    result = IngestResult()
    start = time.perf_counter()
    docs = list(synthetic_corpus(shared, min(options.pipeline_articles, options.articles)))
    for i, doc in enumerate(docs):
        pipeline.store_documents([doc], result)
        if progress and i % 200 == 0:
            progress("pipeline", i, len(docs))
    pipeline.refresh()
    pipeline_s = time.perf_counter() - start
    with store.transaction():
        for row in store.db.execute("SELECT id FROM articles WHERE outlet_id IS NULL").fetchall():
            store.update_article(row[0], outlet_id=store.outlet_id(OUTLETS[row[0] % len(OUTLETS)]))
    base = [dict(e) for e in store.db.execute("SELECT * FROM events WHERE merged_into IS NULL AND n_articles > 0 ORDER BY id")]
    members = {e["id"]: [dict(m) for m in store.event_members(e["id"]) if m["kind"] != "linked"] for e in base}
    cloner = Cloner(store)
    total = store.counts()["articles"]
    round_ = 0
    clone_start = time.perf_counter()
    while total < options.articles:
        round_ += 1
        stories: dict[int, int] = {}
        for event in base:
            if total >= options.articles:
                break
            # Even rounds continue the original stories (they grow long); odd rounds start new ones.
            sid = event["story_id"] if round_ % 2 == 0 else stories.get(event["story_id"])
            with store.transaction():
                if sid is None:
                    sid = stories[event["story_id"]] = store.create_group("stories", _shift(event["first_day"], round_))
                total += cloner.clone_event(event, members[event["id"]][: options.articles - total], round_, sid)
        if progress:
            progress("variants", total, options.articles)
    with store.transaction():
        for sid in store.dirty_stories(1_000_000):
            retitle(store, sid)
    counts = store.counts()
    store.close()
    return {
        "articles": counts["articles"], "events": counts["events"], "stories": counts["stories"],
        "pipeline_articles": len(docs), "pipeline_s": round(pipeline_s, 1),
        "variant_s": round(time.perf_counter() - clone_start, 1), "rounds": round_,
        "db_mb": round(db.stat().st_size / 1e6, 1),
    }


def _percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of some values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def measure(base: str, paths: list[str], clients: int, per_client: int) -> dict:
    """Latency of GET requests cycling through `paths`, from `clients` concurrent clients on keep-alive connections."""
    # The clients share the server's two cores, so they must cost little: http.client reads a page for
    # about 0.5 ms of CPU where httpx took 2.3 to 3.4 ms with eight threads (a sixth of the machine).
    # Their own CPU per request is reported beside the latencies.
    address = urlsplit(base)
    host, port = address.hostname or "127.0.0.1", address.port
    quoted = [quote(p, safe="/?=&*%") for p in paths]
    times: list[float] = []
    errors: list[str] = []
    cpu: list[float] = []
    lock = threading.Lock()

    def once(conn: http.client.HTTPConnection, path: str) -> int:
        """One request and its whole answer; a connection the server closed opens again here."""
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status

    def get(conn: http.client.HTTPConnection, path: str) -> int:
        """One request, sent once more on a new connection if the server dropped an idle one."""
        try:
            return once(conn, path)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            return once(conn, path)

    def client(k: int) -> None:
        """One client's requests, in turn."""
        conn = http.client.HTTPConnection(host, port, timeout=60)
        start = time.thread_time()
        try:
            for i in range(per_client):
                path = quoted[(k + i) % len(quoted)]
                t = time.perf_counter()
                status = get(conn, path)
                elapsed = time.perf_counter() - t
                with lock:
                    times.append(elapsed)
                    if status != 200:
                        errors.append(f"{path}: {status}")
        finally:
            conn.close()
            with lock:
                cpu.append(time.thread_time() - start)

    warm = http.client.HTTPConnection(host, port, timeout=60)
    for path in quoted:
        get(warm, path)
    warm.close()
    wall = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    ms = [t * 1000 for t in times]
    return {
        "requests": len(ms), "errors": errors[:5], "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(_percentile(ms, 95), 1), "max_ms": round(max(ms), 1), "requests_per_s": round(len(ms) / wall, 1),
        "client_cpu_ms": round(sum(cpu) / max(1, len(ms)) * 1000, 2),
    }


def combine(rounds: list[dict]) -> dict:
    """One page's figures over several rounds of `measure`: the median of each round's p50, p95 and rate."""
    return {
        "requests": sum(r["requests"] for r in rounds),
        "errors": [e for r in rounds for e in r["errors"]][:5],
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p95_ms": statistics.median(r["p95_ms"] for r in rounds),
        "max_ms": max(r["max_ms"] for r in rounds),
        "requests_per_s": statistics.median(r["requests_per_s"] for r in rounds),
        "client_cpu_ms": statistics.median(r.get("client_cpu_ms", 0.0) for r in rounds),
        "p95_ms_rounds": [r["p95_ms"] for r in rounds],
    }


BESIDE_YEARS = 40  # the ingest beside brings news later than any stored (variants span 24 years)


def ingest_beside(db: Path, shared: Path, rate: float, ner: str = "fast") -> None:
    """Ingest new articles into `db` through the pipeline until killed, `rate` a second (0: flat out)."""
    from ..settings import load

    store = Store(db)
    pipeline = Pipeline(store, load({"db": str(db), "ner": ner, "shared": str(shared)}))
    docs = list(synthetic_corpus(shared, 2_000, seed=11))
    result = IngestResult()
    start = time.monotonic()
    i = 0
    while True:
        base = docs[i % len(docs)]
        years = BESIDE_YEARS + i // len(docs)
        doc = replace(
            base, source=f"beside:{i}", key=f"beside:{i}", text=_variant_text(base.text, i), outlet=OUTLETS[i % len(OUTLETS)],
            published=base.published + years * YEAR if base.published else None,
        )
        pipeline.store_documents([doc], result)
        i += 1
        if i % 100 == 0:
            pipeline.refresh()  # titles and dates of the events it touched, as `ingest` does at its end
        if rate:
            time.sleep(max(0.0, start + i / rate - time.monotonic()))


class Beside:
    """The ingest beside, in its own process (like `storyline ingest` next to `storyline serve`)."""

    def __init__(self, db: Path, shared: Path, options: ServingOptions) -> None:
        self.errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child must never block on it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "storyline.web.bench", "_ingest", str(db), str(shared), str(options.ingest_rate), options.ner],
            stdout=subprocess.DEVNULL, stderr=self.errors,
        )

    def check(self, what: str) -> None:
        """Raise with the child's last words if it has stopped."""
        if self.proc.poll() is not None:
            self.errors.seek(0)
            raise RuntimeError(f"the ingest beside {what}: {self.errors.read().decode(errors='replace')[-2000:]}")

    def stop(self) -> None:
        """End the child."""
        self.proc.terminate()
        self.proc.wait(30)
        self.errors.close()


def _stored(db: Path) -> int:
    """How many articles the store holds now."""
    store = Store(db)
    try:
        return store.counts()["articles"]
    finally:
        store.close()


def _serve(db: Path, workers: int) -> tuple[subprocess.Popen, str]:
    """`storyline serve` in its own process (clients and server must not share one interpreter lock)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyline", "serve", "--db", str(db), "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/v1/stories?limit=1", timeout=5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("storyline serve did not start")


def serving_bench(settings: Settings, options: ServingOptions | None = None, db: Path | None = None,
                  progress: Progress | None = None) -> dict:
    """Build (or reuse, when `db` exists) a large store and measure p50/p95 of the main pages under load."""
    options = options or ServingOptions()
    folder = None
    if db is None:
        folder = tempfile.TemporaryDirectory(prefix="storyline-serving-")
        db = Path(folder.name) / "serving.db"
    settings_used = replace(settings, ner=options.ner, db=str(db))
    built = build_store(db, settings.shared_path(), options, settings_used, progress) if not db.exists() else {}
    store = Store(db)
    largest, median_story = _stories(store)
    counts = store.counts()
    store.close()
    pages = {
        "stories_page": ["/"],
        "story_page_largest": [f"/stories/{largest}"],
        "story_page_median": [f"/stories/{median_story}"],
        "search_page": [f"/search?q={q}" for q in QUERIES],
        "search_api": [f"/api/v1/search?q={q}" for q in QUERIES],
    }
    proc, base = _serve(db, options.workers)
    ingest: Beside | None = None
    beside: dict = {"running": options.ingest_beside}
    if options.ingest_beside:
        beside["rate_asked"] = _rate_asked(options.ingest_rate)
    try:
        alone = {name: measure(base, paths, 1, options.alone_requests) for name, paths in pages.items()}
        if options.ingest_beside:
            ingest = Beside(db, settings.shared_path(), options)
            _wait_for_growth(db, counts["articles"], ingest)
        before, wall = _stored(db), time.perf_counter()
        # Rounds take turns through the pages, so a burst beside (the ingest's refresh) lands in one round
        # of one page rather than deciding that page's figures.
        runs: dict[str, list[dict]] = {name: [] for name in pages}
        for _ in range(options.rounds):
            for name, paths in pages.items():
                runs[name].append(measure(base, paths, options.clients, options.requests_per_client))
        results = {name: combine(rounds) | {"alone_p50_ms": alone[name]["p50_ms"]} for name, rounds in runs.items()}
        if ingest is not None:
            ingest.check("stopped")
            wall = time.perf_counter() - wall
            added = _stored(db) - before
            beside |= {"articles": added, "seconds": round(wall, 1), "articles_per_s": round(added / wall, 1)}
            if options.ingest_rate:
                beside["kept_up"] = added / wall >= 0.9 * options.ingest_rate
    finally:
        if ingest is not None:
            ingest.stop()
        proc.terminate()
        proc.wait(10)
        if folder is not None:
            folder.cleanup()
    return {
        "store": {**counts, **built}, "clients": options.clients, "workers": options.workers,
        "largest_story": largest, "median_story": median_story, "queries": list(QUERIES), "results": results,
        "ingest_beside": beside,
    }


def _rate_asked(rate: float) -> str:
    """The ingest beside's pace, in words."""
    if not rate:
        return "as fast as it can"
    gdelt = " (several times a GDELT-sized stream's ~2-3/s average)" if rate == GDELT_X4_RATE else ""
    return f"{rate:g} articles/s{gdelt}"


def _wait_for_growth(db: Path, articles: int, ingest: Beside, timeout: float = 120) -> None:
    """Wait until the ingest beside has stored its first article (it loads its corpus first)."""
    deadline = time.monotonic() + timeout
    while _stored(db) <= articles:
        ingest.check("did not start")
        if time.monotonic() > deadline:
            raise RuntimeError("the ingest beside stored nothing in time")
        time.sleep(0.5)


def _stories(store: Store) -> tuple[int, int]:
    """The story with the most events and one of median size (by events)."""
    rows, total = store.active_stories(1_000_000, 0)
    ranked = sorted(rows, key=lambda r: (r["n_events"], r["n_articles"], r["id"]))
    return ranked[-1]["id"], ranked[len(ranked) // 2]["id"]


if __name__ == "__main__":  # `python -m storyline.web.bench _ingest DB SHARED RATE NER`: the ingest beside
    if sys.argv[1:2] == ["_ingest"]:
        ingest_beside(Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
