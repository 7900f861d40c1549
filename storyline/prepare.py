"""Per-document work that needs nothing but the document, done ahead: in a worker process when one helps.

Placing an article in an event must happen one article at a time, in order: each choice depends
on the ones before. Its fingerprint, its event date, its own words' terms and the word runs the
entity recogniser reads do not, and neither does parsing an input file. A second process does
those for the next inputs while this one stores the current one; the results are used in input
order, so a run with a worker stores exactly what a run without one does.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from . import dates, dedup, readers
from .enrich import Reading, Run, find_runs
from .models import Document, EventDate, sanitize
from .store.base import pack
from .summarize import WordCounts, word_counts, word_table
from .vectors import document_terms, own_weights

T = TypeVar("T")
R = TypeVar("R")
LOOKAHEAD = 4  # inputs prepared ahead: enough to keep the worker busy, few enough to bound memory
WARM_LOOKAHEAD = 16  # inputs handed out while this process warms up (loads a model) and would not collect
# Worker processes yield the CPU to the process that stores (os.nice): it does its part one input after
# another, and all the others wait on it, while the workers work ahead. At equal priority the four
# processes shared two cores evenly and it got about 70% of one: 10,000 articles of the text path ran at
# 263-299 articles/s, 328-345 with the workers at nice 10 (100,000: 291). Idle cores still go to them.
WORKER_NICE = 10


@dataclass
class Prepared:
    """What an article needs before it is placed: fingerprint, event date, own terms, name runs, word counts."""

    fingerprint: dedup.Fingerprint
    when: EventDate | None
    weights: dict[str, float]  # its own terms weighted (vectors.own_weights), before its entities join them
    runs: list[Run]
    counted: WordCounts  # what its keywords are chosen from, before its names are known
    reading: Reading | None = None  # the in-order reader's enrich.Reading of it, when one read ahead


@dataclass
class ParsedInput:
    """An input file parsed, with its documents prepared."""

    fmt: str
    documents: list[Document]
    prepared: list[Prepared]
    packed: bytes  # the input's bytes as the store keeps them


def prepare(doc: Document, enrich_chars: int) -> Prepared:
    """The order-free features of one document (its text fields stripped of control characters first)."""
    sanitize(doc)
    published = doc.published.date() if doc.published else None
    head = doc.text[:enrich_chars]
    title = doc.title or ""
    return Prepared(
        dedup.fingerprint(doc.text),
        dates.resolve_event_date(doc.text, published, doc.title),
        own_weights(document_terms(doc.title, doc.text, [li.title for li in doc.linked], doc.url), brief=not doc.text),
        find_runs(head or title),
        word_counts(title, head or title),  # the entity recogniser reads the title where there is no text
    )


def prepare_many(docs: list[Document], enrich_chars: int) -> list[Prepared]:
    """The order-free features of a batch of documents."""
    return [prepare(doc, enrich_chars) for doc in docs]


def parse_input(data: bytes, source: str, suffix: str, enrich_chars: int, ahead: bool = True) -> ParsedInput:
    """Parse one input's bytes (raises readers.InputError) and, `ahead` of storing, prepare its documents.

    Inline (ahead=False) the documents are prepared as they are stored, skipping those stored before.
    """
    parsed = readers.parse(data, source, suffix)
    prepared = prepare_many(parsed.documents, enrich_chars) if ahead else []
    return ParsedInput(parsed.fmt, parsed.documents, prepared, pack(data))


@dataclass
class Outcome(Generic[R]):
    """A job's result, or the exception it raised (kept so one bad input never stops the others)."""

    value: R | None = None
    error: BaseException | None = None

    def get(self) -> R:
        """The result, or raise what the job raised."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def _context() -> multiprocessing.context.BaseContext:
    """Fork where there is fork (a worker starts in milliseconds and needs no re-import); else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class Ahead:
    """Runs jobs ahead of their use in a worker process (or inline with workers=0), yielding in order."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: Executor | None = None

    def __enter__(self) -> "Ahead":
        if self.workers > 0:
            # The jobs weigh words by wordfreq's table; read before forking, one copy serves every worker.
            word_table()
            # A forked worker's garbage collector would walk (and so copy) every object this process
            # holds; frozen objects are left alone, so a worker stays small however big this one is.
            gc.freeze()
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=_context(), initializer=_watch_parent, initargs=(os.getpid(),)
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            gc.unfreeze()

    def map(
        self, fn: Callable[..., R], jobs: Iterable[tuple[T, tuple]], idle: Callable[[], object] | None = None
    ) -> Iterator[tuple[T, Outcome[R]]]:
        """(key, outcome of fn(*args)) for each (key, args) job, in order; jobs with args None pass through.

        `idle` runs once, when the first jobs are with the workers: this process would only wait.
        """
        if self._pool is None:
            for key, args in jobs:
                yield key, _run(fn, args)
            return
        pending: deque[tuple[T, Future | None]] = deque()
        limit = LOOKAHEAD * self.workers
        window = WARM_LOOKAHEAD * self.workers if idle is not None else limit
        for key, args in jobs:
            pending.append((key, None if args is None else self._pool.submit(fn, *args)))
            if len(pending) > window:
                if idle is not None:
                    idle()
                    idle = None
                yield _collect(*pending.popleft())
                if window > limit:
                    # results banked during the warm-up are taken two per new job, back down to the usual bound
                    window -= 1
                    yield _collect(*pending.popleft())
        if idle is not None and pending:
            idle()
        while pending:
            yield _collect(*pending.popleft())



class InOrder:
    """Calls the methods of one stateful object in a worker process, one call at a time, in the order made.

    Work whose result depends on all the work before it (the entity recogniser learns as it reads)
    can still run ahead of its use in a process of its own: one worker takes the calls first in, first out.
    """

    def __init__(self, factory: Callable[..., object], args: tuple) -> None:
        self._factory = factory
        self._args = args
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "InOrder":
        self._pool = ProcessPoolExecutor(
            1, mp_context=_context(), initializer=_start_in_order, initargs=(os.getpid(), self._factory, self._args)
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def stop(self) -> None:
        """Drop the calls not yet begun and let the worker end after the current one, without waiting for it."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def call(self, method: str, *args: object) -> Future:
        """Queue a call of the object's `method`; its future resolves once the calls before it have run."""
        assert self._pool is not None, "InOrder is used as a context manager"
        return self._pool.submit(_call_in_order, method, args)


_in_order: object = None  # in an InOrder worker process: the object its calls go to (one per process)


def _start_in_order(parent: int, factory: Callable[..., object], args: tuple) -> None:
    """In an InOrder worker: watch the parent and build the object the calls go to."""
    global _in_order
    _watch_parent(parent)
    _in_order = factory(*args)


def _call_in_order(method: str, args: tuple) -> object:
    """In an InOrder worker: one call."""
    return getattr(_in_order, method)(*args)


def _watch_parent(parent: int) -> None:
    """In a worker: run at a lower priority (WORKER_NICE), and exit when the process that started it is gone.

    A killed parent cannot say so, hence the watch. Ctrl-C reaches the whole process group: the parent
    stops the run and shuts the workers down, so a worker ignores it rather than print its own traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(WORKER_NICE)
    except (AttributeError, OSError):  # no os.nice on Windows; a refusal costs only the priority
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def _run(fn: Callable[..., R], args: tuple | None) -> Outcome[R]:
    """Run one job inline."""
    if args is None:
        return Outcome()
    try:
        return Outcome(fn(*args))
    except Exception as exc:  # handed to the consumer, which reports it against its input
        return Outcome(error=exc)


def _collect(key: T, future: Future | None) -> tuple[T, Outcome]:
    """Wait for one job's result."""
    if future is None:
        return key, Outcome()
    try:
        return key, Outcome(future.result())
    except Exception as exc:
        return key, Outcome(error=exc)

