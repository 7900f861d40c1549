"""`storyline bench`: speed and memory of the product's own code paths, on corpora built from real texts."""

from __future__ import annotations

import cProfile
import gzip
import io
import itertools
import json
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import median
from typing import Callable, Iterator

from .models import Document
from .settings import Settings

Progress = Callable[[int, int], None]
T17 = "data/timelines/t17"
AEB = "data/extraction/aeb"
HTML_REPEATS = 7  # side-by-side runs of a few seconds each on a machine whose speed drifts: the median of 7 holds still


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how often."""

    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    repeats: int = 3
    profile_size: int = 2_000
    batch: int = 25  # articles stored per transaction, as one polled feed or one input file delivers them
    serving_articles: int = 100_000
    polling_feeds: int = 1_000


def t17_articles(shared: Path) -> dict[str, list[tuple[datetime, list[str]]]]:
    """The T17 articles by topic: publication time and sentences."""
    topics: dict[str, list[tuple[datetime, list[str]]]] = defaultdict(list)
    for folder in sorted((shared / T17).iterdir()):
        topic = folder.name.split("_")[0].lower()
        with gzip.open(folder / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                sentences = [s.strip() for s in rec["text"].split("\n") if s.strip()]
                if len(sentences) >= 4:
                    when = datetime.fromisoformat(rec["time"][:10]).replace(tzinfo=timezone.utc)
                    topics[topic].append((when, sentences))
    return topics


def synthetic_corpus(shared: Path, n: int, seed: int = 7, originals: bool = True) -> Iterator[Document]:
    """n distinct articles made from real ones: half of each text's sentences swapped for other
    same-topic sentences, so no two are duplicates, and each round dated after the one before.

    `originals`: the first round is T17's texts as they are; otherwise it is mixed like the others.
    """
    topics = t17_articles(shared)
    names = sorted(topics)
    # Rounds follow one another in time, as a tracker's archive grows: each size then meets the same
    # number of reports per day (T17's). Shifted by a single year, up to eight rounds overlapped any
    # date, and the reports within three days of an article rose from 39 in the first 10,000 to about
    # 60 from 20,000 on, so the cost per article grew with the stream's density, not the archive.
    moments = [when for topic in names for when, _ in topics[topic]]
    shift = timedelta(days=366 * ((max(moments) - min(moments)).days // 366 + 1))
    rng = random.Random(seed)
    pools = {t: [s for _, sents in topics[t] for s in sents[1:]] for t in names}
    made = 0
    round_ = 0
    while made < n:
        for topic in names:
            for i, (when, sentences) in enumerate(topics[topic]):
                if made >= n:
                    return
                body = list(sentences[1:])
                if round_ or not originals:
                    for j in range(0, len(body), 2):
                        body[j] = rng.choice(pools[topic])
                yield Document(
                    source=f"bench:{topic}:{round_}:{i}",
                    kind="text",
                    key=f"bench:{topic}:{round_}:{i}",
                    title=sentences[0][:200],
                    text="\n\n".join(body),
                    published=when + shift * round_,
                )
                made += 1
        round_ += 1


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pss_kb(pid: int) -> int:
    """A process's proportional set size in kB (shared pages split between their sharers); 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    """The child processes of a process (Linux /proc)."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []


class PeakMemory:
    """Samples the memory of this process and its workers together (PSS, so a page the forked
    workers share with this process counts once); falls back to this process's peak RSS."""

    def __init__(self, every_s: float = 2.5) -> None:
        self.every_s = every_s
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="peak-memory")

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.every_s):  # reading smaps walks page tables: not too often
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(pid) for pid in [me, *_children(me)]))

    @property
    def mb(self) -> float:
        """The peak total in MB (this process's peak RSS where /proc has no PSS)."""
        return self.peak_kb / 1024 if self.peak_kb else peak_rss_mb()


def write_feeds(docs: Iterator[Document], folder: Path, batch: int) -> int:
    """Write documents as JSON Feed files of `batch` items each, named in input order; return how many files."""
    folder.mkdir(parents=True, exist_ok=True)
    files = 0
    while chunk := list(itertools.islice(docs, batch)):
        items = [
            {
                "id": doc.key,
                "title": doc.title,
                "content_text": doc.text,
                "date_published": doc.published.isoformat() if doc.published else None,
            }
            for doc in chunk
        ]
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Storyline bench", "items": items}
        files += 1
        (folder / f"feed-{files:06d}.json").write_text(json.dumps(feed, ensure_ascii=False), encoding="utf-8")
    return files


def run_text_path(shared: Path, n: int, settings: Settings, db: Path, batch: int = BenchOptions.batch) -> dict:
    """Ingest n synthetic articles into a fresh SQLite file with `ingest`'s own function, from JSON Feed
    files of `batch` articles each (one transaction per file, as for any input); return timings.

    The files are written beside `db` before the clock starts, so neither the corpus nor its
    making counts as the pipeline's time or memory.
    """
    from .ingest import Pipeline
    from .store import Store

    folder = db.parent / f"{db.stem}-feeds"
    # Every round mixed, the first too: a variant's words spread over its whole topic, so it meets more
    # candidate events than an original text (event search 0.65 ms an article over the originals of the
    # first round, about 1.0 over later rounds), and a first round of originals made the smaller sizes cheaper.
    write_feeds(synthetic_corpus(shared, n, originals=False), folder, batch)
    store = Store(db)
    pipeline = Pipeline(store, settings)
    clock: dict[int, float] = {}  # files done -> seconds since the start

    def progress(_source: str, done: int, _total: int) -> None:
        clock.setdefault(done, time.perf_counter() - start)

    with PeakMemory() as memory:
        start = time.perf_counter()
        result = pipeline.ingest_paths([folder], progress)
        total_s = time.perf_counter() - start
    if result.failed:
        raise RuntimeError(f"bench inputs failed: {result.errors[:3]}")
    counts = store.counts()
    store.close()
    return {
        "articles": n,
        "seconds": total_s,
        "articles_per_s": n / total_s,
        "peak_rss_mb": memory.mb,  # this process and its workers together (PSS)
        "events": counts["events"],
        "stories": counts["stories"],
        "new": result.new,
        "duplicates": result.duplicates,
        "tenths_articles_per_s": tenths(clock, n, batch),
    }


def tenths(clock: dict[int, float], n: int, batch: int) -> list[float | None]:
    """Articles/s over each tenth of a run's input files (`clock`: files done -> seconds), the last with the refresh.

    None for a tenth without a file of its own (fewer than ten files).
    """
    files = max(clock)
    bounds = [round(k * files / 10) for k in range(11)]
    rates: list[float | None] = []
    for a, b in zip(bounds, bounds[1:]):
        articles = min(b * batch, n) - min(a * batch, n)
        seconds = clock[b] - clock[a]
        rates.append(articles / seconds if b > a and seconds > 0 else None)
    return rates


def _child(args: list[str]) -> dict:
    """Run one measurement in a fresh interpreter (so peak memory is its own) and read its JSON."""
    proc = subprocess.run([sys.executable, "-m", "storyline.bench", *args], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


SINGLE_RUN_FROM = 100_000  # text-path sizes this large run once: one run takes a quarter of an hour


def schedule(sizes: tuple[int, ...], repeats: int) -> list[int]:
    """The order of the text-path runs: up through the sizes, back down, and so on; a large size once.

    This machine's speed drifts over the minutes a large run takes: a smaller size measured both
    before and after it brackets the drift, where back-to-back repeats would meet only one side of it.
    """
    order: list[int] = []
    for r in range(repeats):
        for size in sizes if r % 2 == 0 else sizes[::-1]:
            if size < SINGLE_RUN_FROM or size not in order:
                order.append(size)
    return order


def text_path(settings: Settings, opts: BenchOptions, progress: Progress | None = None) -> dict:
    """Articles/s and peak RSS at each size (median of repeats), and time(largest)/time(previous)."""
    runs: dict[int, list[dict]] = {}
    order = schedule(tuple(opts.sizes), opts.repeats)
    for done, size in enumerate(order, 1):
        with tempfile.TemporaryDirectory() as tmp:
            runs.setdefault(size, []).append(
                _child(["_text", str(size), settings.shared_path().as_posix(), str(Path(tmp) / "bench.db"), settings.ner])
            )
        if progress:
            progress(done, len(order))
    sizes = list(runs)
    seconds = [median(r["seconds"] for r in runs[s]) for s in sizes]
    out = {
        "sizes": sizes,
        "articles_per_s": [median(r["articles_per_s"] for r in runs[s]) for s in sizes],
        "peak_rss_mb": [max(r["peak_rss_mb"] for r in runs[s]) for s in sizes],
        "seconds": seconds,
        "runs": [len(runs[s]) for s in sizes],
        # each run's seconds, in run order per size: how far this machine's speed moved between runs
        "run_seconds": [[r["seconds"] for r in runs[s]] for s in sizes],
        "order": order,
        # the rate through each tenth of the (first) run at each size: does it fall as the archive grows?
        "tenths_articles_per_s": [runs[s][0]["tenths_articles_per_s"] for s in sizes],
    }
    if len(sizes) >= 2:
        out["time_ratio_last_two"] = seconds[-1] / seconds[-2]
    return out


def profile_text_path(settings: Settings, n: int) -> list[tuple[str, float]]:
    """Where the text path spends its time: cumulative seconds per Storyline stage at size n.

    Profiled in one process (workers=0), so the stages the prepare workers take over show too.
    """
    with tempfile.TemporaryDirectory() as tmp:
        prof = cProfile.Profile()
        prof.enable()
        run_text_path(settings.shared_path(), n, replace(settings, workers=0), Path(tmp) / "p.db")
        prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    stages = {
        "prepare, in the workers: all of it": ("prepare.py", "prepare"),
        "prepare: fingerprint (dedup)": ("dedup.py", "fingerprint"),
        "prepare: event date": ("dates.py", "resolve_event_date"),
        "prepare: own terms": ("vectors.py", "document_terms"),
        "prepare: name runs": ("enrich.py", "find_runs"),
        "enrich (entities, keywords, quotes)": ("enrich.py", "enrich"),
        "event assignment (search)": ("events.py", "candidates"),
        "event signatures": ("events.py", "add"),
        "story threading": ("stories.py", "thread"),
        "coverage matching": ("events.py", "match_coverage"),
        "article rows (with the summary triggers)": ("base.py", "insert_article"),
        "entities and quotes rows": ("base.py", "save_enrichment"),
        "commits, with the search index of each input's articles": ("base.py", "transaction"),
        "search index (FTS5), at each commit": ("index.py", "index_pending"),
        "refresh (titles, dates, summaries)": ("ingest.py", "refresh"),
        "reading the input files (JSON Feed)": ("readers.py", "parse"),
        "whole ingest, with the refresh": ("ingest.py", "ingest_paths"),
    }
    found = []
    for label, (module, func) in stages.items():
        total = sum(
            v[3] for (file, _line, name), v in stats.stats.items() if file.endswith(module) and name == func  # type: ignore[attr-defined]
        )
        found.append((label, total))
    return found


def html_path(settings: Settings, repeats: int = 3) -> dict:
    """The aeb pages through `ingest` against plain trafilatura.extract(no_fallback=True), same run."""
    import trafilatura

    from .ingest import Pipeline
    from .store import Store

    pages = sorted((settings.shared_path() / AEB / "html").glob("*.html.gz"))
    html = {p.name[: -len(".gz")]: gzip.decompress(p.read_bytes()) for p in pages}
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pages"
        folder.mkdir()
        for name, data in html.items():
            (folder / name).write_bytes(data)
        for r in range(repeats):
            start = time.perf_counter()
            for data in html.values():
                trafilatura.extract(data.decode("utf-8", "replace"), no_fallback=True)
            theirs.append(len(html) / (time.perf_counter() - start))
            store = Store(Path(tmp) / f"h{r}.db")
            start = time.perf_counter()
            Pipeline(store, settings).ingest_paths([folder])
            ours.append(len(html) / (time.perf_counter() - start))
            store.close()
    # Each system reads the pages for a few seconds and this machine's speed drifts over minutes:
    # the ratio is taken within each repeat, side by side, and its median reported.
    ratios = [a / b for a, b in zip(ours, theirs)]
    return {
        "pages": len(html),
        "pages_per_s": median(ours),
        "trafilatura_pages_per_s": median(theirs),
        "ratio": median(ratios),
        "ratios": ratios,
    }


def _feed_server(host: str, feeds: int, items: int) -> tuple[object, int]:
    """A loopback HTTP server on `host` answering /feed/N.xml with an RSS feed of distinct items."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    def body(n: int) -> bytes:
        entries = "".join(
            f"<item><title>Council vote {n}-{i} on the harbour plan</title>"
            f"<link>http://{host}/a/{n}/{i}</link><guid>{host}-{n}-{i}</guid>"
            f"<pubDate>Mon, 0{1 + i % 9} Jan 2024 10:00:00 GMT</pubDate>"
            f"<description>Item {i} of feed {n}: councillors debated the harbour plan again.</description></item>"
            for i in range(items)
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>{entries}</channel></rss>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            try:
                n = int(self.path.rsplit("/", 1)[-1].split(".")[0])
            except ValueError:
                self.send_error(404)
                return
            data = body(n)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def polling(settings: Settings, feeds: int = 1000, hosts: int = 10, delay_s: float = 0.05) -> dict:
    """One full `watch --once` cycle over `feeds` loopback feeds on `hosts` hosts; overhead beyond politeness."""
    from .fetch import FetchOptions
    from .ingest import Pipeline
    from .politeness import PolitenessOptions
    from .store import Store
    from .watch import WatchOptions, Watcher, subscribe

    servers = [_feed_server(f"127.0.0.{h + 1}", feeds // hosts, 5) for h in range(hosts)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "poll.db")
            for i in range(feeds):
                server, port = servers[i % hosts]
                subscribe(store, f"http://127.0.0.{i % hosts + 1}:{port}/feed/{i}.xml", None, 900)
            opts = WatchOptions(
                fetch_pages=False,
                fetch=FetchOptions(allow_private=True),
                politeness=PolitenessOptions(delay_s=delay_s, jitter=0.0),
            )
            watcher = Watcher(Pipeline(store, settings), opts)
            start = time.perf_counter()
            report = watcher.run(once=True, everything=True)
            cycle = time.perf_counter() - start
            watcher.close()
            store.close()
    finally:
        for server, _port in servers:
            server.shutdown()  # type: ignore[attr-defined]
    floor = (feeds / hosts) * delay_s  # each host's requests are serial with the delay between them
    return {
        "feeds": feeds,
        "hosts": hosts,
        "delay_s": delay_s,
        "cycle_s": cycle,
        "politeness_floor_s": floor,
        "overhead_s": cycle - floor,
        "polled": report.polled,
        "failed": report.failed,
        "stored": report.stored.new,
    }


def serving(settings: Settings, articles: int) -> dict:
    """Page and search latency through `storyline serve` with `articles` stored (see web/bench.py)."""
    from .web.bench import ServingOptions, serving_bench

    result = serving_bench(settings, ServingOptions(articles=articles, pipeline_articles=min(4_000, articles)))
    res = result["results"]
    pages = [res[k] for k in ("stories_page", "story_page_largest", "story_page_median")]
    return {
        "articles": result["store"].get("articles", articles),
        "search_p50_ms": res["search_page"]["p50_ms"],
        "search_p95_ms": max(res["search_page"]["p95_ms"], res["search_api"]["p95_ms"]),
        "page_p50_ms": max(p["p50_ms"] for p in pages),
        "page_p95_ms": max(p["p95_ms"] for p in pages),
        "clients": result["clients"],
        "workers": result["workers"],
        "ingest_beside": result["ingest_beside"],
        "detail": res,
    }


def run_all(settings: Settings, opts: BenchOptions, progress: Progress | None = None) -> dict:
    """Every benchmark the issue names, as one JSON-able dict."""
    text = text_path(settings, opts, progress)
    stages = profile_text_path(settings, min(opts.profile_size, max(opts.sizes)))
    result = {
        "task": "bench",
        "text_path": text,
        "text_path_profile": [{"stage": label, "seconds": sec} for label, sec in stages],
        "profile_size": min(opts.profile_size, max(opts.sizes)),
        "html_path": html_path(settings, repeats=1 if opts.repeats == 1 else HTML_REPEATS),
        "polling": polling(settings, feeds=opts.polling_feeds),
        "settings": {"ner": settings.ner, "workers": settings.workers, "batch": opts.batch, "repeats": opts.repeats},
    }
    if opts.serving_articles:  # 0: measured on its own (`--only serving`), as it takes the longest
        result["serving"] = serving(settings, opts.serving_articles)
    return result


def main(argv: list[str]) -> None:
    """Child-process entry: `python -m storyline.bench _text N SHARED DB NER` prints one JSON line."""
    if argv[:1] == ["_text"]:
        from .settings import load

        n, shared, db, ner = int(argv[1]), Path(argv[2]), Path(argv[3]), argv[4]
        settings = load({"ner": ner, "shared": str(shared)})
        print(json.dumps(run_text_path(shared, n, settings, db)))


if __name__ == "__main__":
    main(sys.argv[1:])
