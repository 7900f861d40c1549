"""The ingest pipeline: inputs -> articles -> duplicates, enrichment, events, stories, in one transaction per input."""

from __future__ import annotations

import gc
import json
import logging
from collections import deque
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from . import dedup, readers
from .enrich import Enricher, InOrderReader, Reading, ToRead
from .events import GroupAssigner, bridge, match_coverage, refresh, summarize_event, summary_sources
from .models import Document, Enrichment, IngestResult, sanitize
from .prepare import Ahead, InOrder, Outcome, ParsedInput, Prepared, parse_input, prepare
from .settings import Settings
from .sqlite import sqlite3
from .stories import StoryThreader, retitle
from .store import Store, StoreError
from .vectors import finish_vector

log = logging.getLogger("storyline.ingest")

Progress = Callable[[str, int, int], None]
ENTITY_FEATURES = 8  # the most mentioned entities take part in event matching
PARALLEL_MIN = 8  # inputs from which ingest_paths parses ahead in a worker process
# A bulk ingest makes thousands of short-lived objects an article. At Python's default (a young
# collection every 700 allocations, an older one every 10 of those) the collector took 1.5 to 1.7 s
# of a 10,000-article run's 53 to 65, and more as the mirrors and the lexicon grow; at these, 0.4 s,
# the run 2 to 4% faster, peak memory the same (interleaved pairs, 2026-12-03).
BULK_GC_THRESHOLDS = (10_000, 20, 20)
# Articles the in-order reader (entities, keywords, quotes) is given ahead of their storing: enough to
# keep it busy while this process stores, few enough that little is thrown away if it must be stopped.
READ_AHEAD = 64  # and at most this many inputs, however few articles they hold
READ_BATCH = 16  # articles handed over in one call, from as many inputs as it takes


@contextmanager
def spaced_collections() -> Iterator[None]:
    """Run the garbage collector less often for the duration (it is process-wide; restored after)."""
    before = gc.get_threshold()
    gc.set_threshold(*BULK_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@dataclass
class FileJob:
    """One input file as read: its bytes and hash, or why it needs no parsing (or failed)."""

    path: Path
    source: str
    data: bytes = b""
    sha: str = ""
    warc: bool = False
    unchanged: bool = False
    error: Exception | None = None

    def args(self, enrich_chars: int) -> tuple | None:
        """parse_input's arguments, or None when there is nothing to parse."""
        if self.error is not None or self.warc or self.unchanged:
            return None
        return (self.data, self.source, self.path.suffix, enrich_chars)


@dataclass
class _Handed:
    """Articles handed to the in-order reader in one call."""

    items: list[ToRead] = field(default_factory=list)
    sent: bool = False
    future: Future | None = None


@dataclass
class _Share:
    """One input's articles within a batch handed to the reader."""

    batch: _Handed
    start: int
    count: int


@dataclass
class Batch:
    """What one input changed, finished together before its transaction commits."""

    raw_id: int | None
    events: set[int] = field(default_factory=set)


class Pipeline:
    """Turns inputs into stored articles, events and stories."""

    def __init__(self, store: Store, settings: Settings, enricher: object | None = None) -> None:
        self.store = store
        self.settings = settings
        # Each article probes indexes that grow with the archive (near-duplicate bands, entities, the
        # FTS5 segments): with SQLite's 2 MB default they are read back from the file again and again.
        store.set_cache_mb(settings.ingest_cache_mb)
        store.checkpoint_in_background(settings.ingest_checkpoint_s)
        self._enricher = enricher
        self._own_enricher = enricher is None  # ours to journal and rebuild; a caller's is left alone
        # While an in-order reader enriches ahead in a process of its own: whether its readings are
        # still the ones this process would make, the next one due, and the spaCy budget after the last used.
        self._reader: InOrder | None = None
        self._reader_live = False
        self._next_reading = 1
        self._budget: tuple[int, int] | None = None
        self._corrections_seen = store.corrections_version()
        self._elsewhere_seen = store.written_elsewhere
        self.events = GroupAssigner(
            store, "events", settings.event_window_days, settings.event_threshold, settings.event_headline_threshold,
            settings.event_max_days,
        )
        self.stories = StoryThreader(store, settings)

    @property
    def enricher(self) -> Enricher:
        """The entity/keyword/quote extractor, loaded on first use with what it learned before."""
        if self._enricher is None:
            self._enricher = Enricher(ner=self.settings.ner)
            seen, runs = self.store.get_state("enrich_budget", "0 0").split()
            self._enricher.replay(self.store.lessons(), int(seen), int(runs))
        return self._enricher

    def warm_up(self) -> None:
        """Load the entity recogniser's model (in the tiers that use one) before the first article needs it.

        The in-order reader's process, forked from this one once the first inputs are parsed, finds it
        loaded: loading it there took as long as a hundred pages took to store.
        """
        # Our own recogniser is not built here: while a reader runs, it is rebuilt only if the reader stops.
        enricher = self.enricher if not self._own_enricher else Enricher(ner=self.settings.ner)
        if enricher.ner != "fast":
            enricher.nlp  # noqa: B018 - the property loads the model (once per process)

    def _enrich(self, title: str, text: str, prep: Prepared | None = None) -> Enrichment:
        """Enrich one article (with what was `prep`ared or read ahead) and journal what the recogniser learned."""
        reading = prep.reading if prep else None
        if self._take_reading(reading, "read"):
            assert reading is not None and reading.enrichment is not None
            if reading.lessons:
                self.store.add_lessons(reading.lessons)
            return reading.enrichment
        enricher = self.enricher
        runs, counted = (prep.runs, prep.counted) if prep else (None, None)
        enrichment = enricher.enrich(title, text[: self.settings.enrich_chars], runs, counted)
        if self._own_enricher and enricher.learned:
            self.store.add_lessons(enricher.learned)
            enricher.learned.clear()
        return enrichment

    def _journal_budget(self) -> None:
        """Record how much spaCy the recogniser has spent, in the transaction of the articles it read."""
        if not self._own_enricher:
            return
        if self._enricher is not None:
            self.store.set_state("enrich_budget", f"{self._enricher.seen} {self._enricher.spacy_runs}")
        elif self._budget is not None:
            self.store.set_state("enrich_budget", f"{self._budget[0]} {self._budget[1]}")

    # -- the in-order reader ----------------------------------------------------------------

    @contextmanager
    def _reading_ahead(self, workers: int) -> Iterator[InOrder | None]:
        """An in-order reader in a process of its own, starting from the store's lessons (None without workers).

        Entity recognition learns as it reads, so it must read the articles in input order: in its
        own process it does, a few inputs ahead of this one, which places and stores them.
        """
        if not workers or not self._own_enricher:
            yield None
            return
        self._enricher = None  # everything it learned is journalled: the reader starts from the same
        seen, runs = self.store.get_state("enrich_budget", "0 0").split()
        budget = (int(seen), int(runs))
        with InOrder(InOrderReader, (self.settings.ner, self.store.lessons(), budget)) as reader:
            self._reader, self._reader_live, self._next_reading = reader, True, 1
            try:
                yield reader
            finally:
                self._reader, self._reader_live, self._budget = None, False, None

    def _read_ahead(
        self, parsed: Iterator[tuple[FileJob, Outcome[ParsedInput]]], reader: InOrder | None
    ) -> Iterator[tuple[FileJob, Outcome[ParsedInput]]]:
        """Pass the parsed inputs on, each with its articles' readings when the reader read them ahead.

        Inputs' articles are handed over together, READ_BATCH or more a call: a page is one article,
        and a call per page cost the storing process about as much as the reading it saved.
        """
        if reader is None:
            yield from parsed
            return
        pending: deque[tuple[FileJob, Outcome[ParsedInput], _Share | None]] = deque()
        batch: _Handed | None = None
        ahead = 0  # articles handed over (or waiting to be) and not stored yet
        for job, outcome in parsed:
            share = None
            if self._reader_live and outcome.error is None and outcome.value is not None:
                items = self._to_read(outcome.value)
                if batch is None or batch.sent:
                    batch = _Handed()
                share = _Share(batch, len(batch.items), len(items))
                batch.items.extend(items)
                ahead += len(items)
                if len(batch.items) >= READ_BATCH:
                    self._hand(reader, batch)
            pending.append((job, outcome, share))
            while len(pending) > 1 and max(ahead, len(pending)) > READ_AHEAD:
                job, outcome, share = pending.popleft()
                ahead -= share.count if share else 0
                yield self._with_readings(reader, job, outcome, share)
        while pending:
            yield self._with_readings(reader, *pending.popleft())

    def _hand(self, reader: InOrder, batch: _Handed) -> None:
        """Hand a batch of articles to the reader (if it is still followed)."""
        batch.sent = True
        if not self._reader_live:
            return
        try:
            batch.future = reader.call("read", batch.items)
        except Exception:  # its process died (killed, out of memory, its model would not load)
            log.warning("the in-order reader stopped; reading here", exc_info=True)
            self._stop_reading_ahead()

    def _to_read(self, parsed: ParsedInput) -> list[ToRead]:
        """What the reader needs of an input's articles, with whether the store holds their keys and texts now."""
        chars = self.settings.enrich_chars
        out = []
        for doc, prep in zip(parsed.documents, parsed.prepared):
            text_hash = prep.fingerprint.text_hash
            out.append(
                ToRead(
                    doc.key,
                    text_hash,
                    self.store.article_id_by_key(doc.key) is not None,
                    bool(text_hash) and self.store.exact_duplicate(text_hash) is not None,
                    doc.title or "",
                    doc.text[:chars],
                    prep.runs,
                    prep.counted,
                )
            )
        return out

    def _with_readings(
        self, reader: InOrder, job: FileJob, outcome: Outcome[ParsedInput], share: _Share | None
    ) -> tuple[FileJob, Outcome[ParsedInput]]:
        """An input with its readings attached (none if the reader failed: this process reads them then)."""
        if share is None:
            return job, outcome
        if not share.batch.sent:
            self._hand(reader, share.batch)  # its batch is still filling: this input is due now
        if self._reader_live and share.batch.future is not None:
            try:
                readings = share.batch.future.result()
            except Exception:
                log.warning("the in-order reader stopped; reading here", exc_info=True)
                self._stop_reading_ahead()
            else:
                mine = readings[share.start : share.start + share.count]
                for prep, reading in zip(outcome.get().prepared, mine):
                    prep.reading = reading
        return job, outcome

    def _take_reading(self, reading: Reading | None, verdict: str) -> bool:
        """Use the reader's next reading if it is this article's and says what ingest found; else stop the reader.

        Ingest and the reader decide alike unless something the reader could not see happened (an input
        rolled back, a revision read here, another process's writes): then this process reads from here on,
        with the recogniser rebuilt from the lessons journalled so far.
        """
        if not self._reader_live:
            return False
        if isinstance(reading, Reading) and reading.seq == self._next_reading and reading.verdict == verdict:
            self._next_reading += 1
            if verdict == "read":  # as inline, where only a read makes a recogniser whose budget is journalled
                self._budget = reading.budget
            return True
        self._stop_reading_ahead()
        return False

    def _stop_reading_ahead(self) -> None:
        """Read in this process from now on, from the lessons and budget of the readings used."""
        self._reader_live = False
        if self._reader is not None:
            self._reader.stop()  # what it still has queued would go unused
        self._journal_budget()
        self._budget = None
        self._enricher = None

    def _sync_corrections(self) -> None:
        """Drop stale mirrors if a user corrected events or stories, or another process wrote the store.

        Called inside a write transaction, so nothing can land between the check and the writes.
        """
        seen = self.store.corrections_version()
        if seen != self._corrections_seen:
            self.reset()
            self._corrections_seen = seen
        elif self.store.written_elsewhere != self._elsewhere_seen:
            # Another ingest placed articles and merged events: placing by the old mirrors would put
            # articles in events it retired. The recogniser's lessons are only a cache; they stay.
            self.events.reset()
            self.stories.reset()
        self._elsewhere_seen = self.store.written_elsewhere

    def reset(self) -> None:
        """Drop in-memory state that a rolled-back transaction may have left ahead of the store."""
        self.events.reset()
        self.stories.reset()
        if self._own_enricher:
            self._enricher = None  # rebuilt from the store's lessons; the model itself is loaded once per process
            # The reader ahead read what was rolled back: its readings are no longer this store's.
            self._reader_live, self._budget = False, None
            if self._reader is not None:
                self._reader.stop()

    # -- inputs ---------------------------------------------------------------------------

    def ingest_paths(self, paths: list[Path], progress: Progress | None = None) -> IngestResult:
        """Ingest files and folders (recursively); one bad file never stops the others."""
        result = IngestResult()
        files = list(readers.iter_files(paths))
        # A worker pays off over many inputs; a few files are parsed here rather than fork for them.
        workers = self.settings.workers if len(files) >= PARALLEL_MIN else 0
        if workers:
            readers.preload(files)
        # Pages and archives are extraction-bound: the workers set the pace and this process waits on them,
        # so a reader ahead would only take their cores (the aeb pages: 0.78-0.80 of trafilatura's speed
        # with one, 0.82-0.84 without, in interleaved runs).
        pages = sum(1 for f in files if f.suffix.lower() in readers.HTML_SUFFIXES or readers.is_warc(f))
        with (
            spaced_collections(),
            Ahead(workers) as ahead,
            self._reading_ahead(workers if pages * 2 < len(files) else 0) as reader,
        ):
            jobs = ((job, job.args(self.settings.enrich_chars)) for job in map(self._read, files))
            parsed = ahead.map(parse_input, jobs, idle=self.warm_up)
            for i, (job, outcome) in enumerate(self._read_ahead(parsed, reader)):
                if progress:
                    progress(job.source, i, len(files))
                self._ingest_job(job, outcome, result)
            # The same workers: forked while this process was small, they hold far less than new ones would.
            self.refresh(ahead=ahead)
        if progress:
            progress("", len(files), len(files))
        return result

    def _read(self, path: Path) -> FileJob:
        """Read one input file and decide what it needs: parsing, streaming (WARC), nothing, or an error."""
        job = FileJob(path, str(path.resolve()))
        try:
            if not path.exists():
                raise readers.InputError("no such file")
            if readers.is_warc(path):
                job.warc = True  # streamed: an archive may be far larger than max_file_mb
                return job
            job.data = readers.read_input(path, int(self.settings.max_file_mb * 1_000_000))
            job.sha = readers.sha256(job.data)
            job.unchanged = self.store.raw_is_latest(job.source, job.sha)
        except Exception as exc:  # reported in input order, by _ingest_job
            job.error = exc
        return job

    def _ingest_job(self, job: FileJob, outcome: Outcome[ParsedInput], result: IngestResult) -> None:
        """Store one read (and parsed) input, recording a one-line error on failure."""
        try:
            if job.error is not None:
                raise job.error
            if job.warc:
                self.ingest_warc(job.path, result)
            elif job.unchanged or self.store.raw_is_latest(job.source, job.sha):
                # Asked again now: read ahead, a file named twice (or through a link) was not stored yet then.
                result.unchanged += 1
            else:
                self._store_parsed(job.source, job.sha, job.data, outcome.get(), result)
        except (readers.InputError, OSError) as exc:
            self._fail(result, job.source, str(exc) if isinstance(exc, readers.InputError) else exc.strerror or str(exc))
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc):  # every input would fail alike: one error for the run, naming the database
                raise StoreError(f"{self.store.path}: the database is read-only ({exc})") from None
            log.exception("ingest failed", extra={"source": job.source})
            self._fail(result, job.source, f"internal error: {type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug on one input must not lose the others
            log.exception("ingest failed", extra={"source": job.source})
            self._fail(result, job.source, f"internal error: {type(exc).__name__}: {exc}")

    def _fail(self, result: IngestResult, source: str, reason: str) -> None:
        """Count a failed input and keep its one-line reason."""
        result.failed += 1
        result.errors.append(f"{source}: {' '.join(reason.split())}")

    def ingest_bytes(self, data: bytes, source: str, suffix: str, result: IngestResult) -> None:
        """Parse and store one input in a single transaction."""
        readers.check_bytes(data, int(self.settings.max_file_mb * 1_000_000))
        sha = readers.sha256(data)
        if self.store.raw_is_latest(source, sha):
            result.unchanged += 1
            return
        parsed = parse_input(data, source, suffix, self.settings.enrich_chars, ahead=False)
        self._store_parsed(source, sha, data, parsed, result)

    def _store_parsed(self, source: str, sha: str, data: bytes, parsed: ParsedInput, result: IngestResult) -> None:
        """Store a parsed input's documents with its raw bytes (kept once: a file changed back to an earlier version has them)."""
        raw = None if self.store.raw_exists(source, sha) else (source, sha, parsed.fmt, data)
        self.store_documents(parsed.documents, result, raw=raw, prepared=parsed.prepared, packed=parsed.packed)
        if raw is None:
            self.store.touch_raw(source, sha)
        log.info("ingested", extra={"source": source, "format": parsed.fmt, "documents": len(parsed.documents)})

    def store_documents(
        self,
        docs: list[Document],
        result: IngestResult,
        raw: tuple[str, str, str, bytes] | None = None,
        prepared: list[Prepared] | None = None,
        packed: bytes | None = None,
    ) -> None:
        """Store the documents of one input, with its raw bytes, in one transaction (`prepared`, `packed`: done ahead)."""
        counted = (result.new, result.duplicates, result.updated)
        try:
            with self.store.transaction():
                self._sync_corrections()
                batch = Batch(self.store.add_raw(*raw, packed=packed) if raw else None)
                for i, doc in enumerate(docs):
                    self.add_document(doc, batch, result, prepared[i] if prepared else None)
                self.finish(batch)
        except BaseException:
            self.reset()
            result.new, result.duplicates, result.updated = counted  # rolled back: none of this input's articles were stored
            raise

    def ingest_warc(self, path: Path, result: IngestResult) -> None:
        """Stream a WARC archive's pages into the store in bounded batches, one transaction each."""
        from . import warc

        warc.ingest(self, path, result)

    # -- documents ------------------------------------------------------------------------

    def _duplicate_of(self, fp: dedup.Fingerprint) -> tuple[int | None, str | None]:
        """The earliest stored article this text duplicates, and how (exact or near)."""
        if fp.text_hash:
            original = self.store.exact_duplicate(fp.text_hash)
            if original:
                return original, "exact"
        shared = dedup.bands_needed(self.settings.near_dup_threshold)  # fewer could not reach the threshold
        for cid, signature in self.store.minhash_candidates(fp.bands, shared):
            if signature and dedup.jaccard(fp.signature, signature) >= self.settings.near_dup_threshold:
                return cid, "near"
        return None, None

    def add_document(self, doc: Document, batch: Batch, result: IngestResult, prep: Prepared | None = None) -> int | None:
        """Store one document and place it in an event; None when it was stored before."""
        if prep is None:
            sanitize(doc)  # a document prepared ahead was sanitized there, with the features read from it
        if (known := self.store.article_id_by_key(doc.key)) is not None:
            self._take_reading(prep.reading if prep else None, "stored")
            from .revisions import revise  # a changed feed entry or page updates the article, keeping history

            revise(self, doc, known, batch, result)
            return None
        prep = prep or prepare(doc, self.settings.enrich_chars)  # inline: only what is not stored yet
        fp, when = prep.fingerprint, prep.when
        dup_of, dup_kind = self._duplicate_of(fp)
        if dup_of is not None:
            root = self.store.article(dup_of)
            dup_of = root["duplicate_of"] or dup_of
        if dup_kind == "exact":
            self._take_reading(prep.reading, "copy")
            enrichment = Enrichment()
        else:
            enrichment = self._enrich(doc.title or "", doc.text, prep)
        day = when.day if when else None
        vec = finish_vector(prep.weights, [e.name for e in enrichment.entities[:ENTITY_FEATURES]], brief=not doc.text)
        listing, event_id = self._known_event(doc, dup_of)
        near = self.events.candidates(vec, day)
        if event_id is None and near:
            event_id = near[0][1]
        if event_id is None:
            event_id = self.events.open(day)
        self.events.add(event_id, vec, day, defer=True)
        event_id, retired = bridge(self.events, self.store, event_id, near, self.settings)
        batch.events.difference_update(retired)
        heir = self.store.event(event_id)["story_id"] if retired else None
        for drop in sorted(retired):
            story = self.store.event(drop)["story_id"]
            if heir is not None and story is not None:
                self.stories.settle(story, heir)
        # The row is written once, complete: SQLite rewrites a whole row (text included) on every update.
        aid = self.store.insert_article(
            doc,
            batch.raw_id,
            text_hash=fp.text_hash,
            duplicate_of=dup_of,
            duplicate_kind=dup_kind,
            event_day=when.day.isoformat() if when else None,
            event_day_method=when.method if when else None,
            event_day_evidence=when.evidence if when else None,
            event_id=event_id,
            minhash=fp.signature or None,
            keywords=json.dumps(enrichment.keywords, ensure_ascii=False),
        )
        if fp.signature:
            self.store.set_minhash_bands(aid, fp.bands)
        self.store.save_enrichment(aid, enrichment, keywords=False)
        if listing is not None:
            self.store.update_article(listing, merged_into=aid)
        if dup_of is not None:
            result.duplicates += 1
        else:
            result.new += 1
        self._add_listings(doc, aid, event_id, batch, result)
        match_coverage(self.store, event_id)
        batch.events.add(event_id)
        return aid

    def _known_event(self, doc: Document, dup_of: int | None) -> tuple[int | None, int | None]:
        """An event the article certainly belongs to: its original's, or the one that listed its URL.

        Returns (the listing this article turns out to be, or None; the event, or None).
        """
        if dup_of is not None:
            return None, self.store.article(dup_of)["event_id"]
        if doc.url and doc.kind != "linked":
            listing = self.store.linked_by_url(doc.url)
            if listing is not None:
                return listing["id"], listing["event_id"]
        for item in doc.linked:
            if item.url:
                row = self.store.article_by_url(item.url)
                if row is not None and row["event_id"] is not None:
                    return None, row["event_id"]
        return None, None

    def _add_listings(self, doc: Document, aid: int, event_id: int, batch: Batch, result: IngestResult) -> None:
        """Store an aggregator item's listed coverage as text-less articles of the same event."""
        for i, item in enumerate(doc.linked):
            key = item.url or f"{doc.key}#listed-{i}"
            if self.store.article_id_by_key(key) is not None:
                continue
            existing = self.store.article_by_url(item.url) if item.url else None
            listed = Document(
                source=doc.source, kind="linked", key=key, title=item.title, url=item.url, outlet=item.outlet
            )
            self.store.insert_article(
                listed,
                batch.raw_id,
                listed_by=aid,
                event_id=event_id,
                merged_into=existing["id"] if existing else None,
            )
            result.new += 1

    def finish(self, batch: Batch) -> None:
        """Count the events an input touched, mark them for refreshing, thread new ones into stories."""
        self._journal_budget()
        self.events.flush()
        for event_id in sorted(batch.events):
            if self.store.event(event_id)["story_id"] is None:
                centroid = self.events.centroid(event_id)
                # A story that takes several of the input's events is written once, after the last.
                self.stories.thread(event_id, centroid, centroid.first_day, defer=True)
            self.store.touch_event(event_id)
        self.stories.flush()

    def refresh(self, chunk: int = 200, ahead: Ahead | None = None) -> int:
        """Recompute titles, dates and summaries of the events and stories ingest touched; return how many.

        `ahead`: worker processes to write the summaries with, else started here when worth it.
        """
        ids = self.store.dirty_events(chunk)
        if ahead is None or ahead.workers == 0:
            # Summaries are most of the work and need only the members' texts: with many events to
            # redo, worker processes write them. No more workers than ingest uses: a third on two cores
            # was no faster (10,000 articles: 14.1 s against 12.8 s) and held 60 MB more at the peak.
            with Ahead(self.settings.workers if len(ids) >= PARALLEL_MIN else 0) as own:
                return self._refresh(ids, chunk, own)
        return self._refresh(ids, chunk, ahead)

    def _refresh(self, ids: list[int], chunk: int, ahead: Ahead) -> int:
        """Refresh the dirty events (the first chunk of them is `ids`), then retitle the dirty stories."""
        done = 0
        while ids:
            with self.store.transaction():
                self._sync_corrections()
                jobs = (
                    ((event_id, members), (summary_sources(members), self.settings.summary_sentences))
                    for event_id, members in ((i, self.store.event_members(i)) for i in ids)
                )
                for (event_id, members), outcome in ahead.map(summarize_event, jobs):
                    centroid = partial(self.events.centroid, event_id)
                    refresh(self.store, event_id, centroid, self.settings, members, outcome.get())
            done += len(ids)
            ids = self.store.dirty_events(chunk)
        while ids := self.store.dirty_stories(chunk):
            with self.store.transaction():
                for story_id in ids:
                    retitle(self.store, story_id)
        return done
