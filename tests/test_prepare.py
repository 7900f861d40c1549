"""Work done ahead in a worker process: same results as inline, in input order, errors kept per input."""

from __future__ import annotations

import json
import os

import pytest
from test_ingest import _write_corpus, ingest, snapshot

from storyline.models import Document
from storyline.ingest import Pipeline
from storyline.prepare import LOOKAHEAD, WARM_LOOKAHEAD, WORKER_NICE, Ahead, InOrder, prepare
from storyline.settings import load
from storyline.sqlite import sqlite3
from storyline.store import Store


def _square_or_fail(x: int) -> int:
    if x == 3:
        raise ValueError("three is refused")
    return x * x


@pytest.mark.parametrize("workers", [0, 1])
def test_ahead_keeps_input_order_and_keeps_each_error_with_its_job(workers):
    jobs = [(f"job{i}", (i,)) for i in range(12)] + [("skipped", None)]
    with Ahead(workers) as ahead:
        out = list(ahead.map(_square_or_fail, jobs))
    assert [key for key, _ in out] == [key for key, _ in jobs]
    values = {key: outcome for key, outcome in out}
    assert values["job5"].get() == 25 and values["job11"].get() == 121
    with pytest.raises(ValueError, match="three is refused"):
        values["job3"].get()
    assert values["skipped"].value is None and values["skipped"].error is None


def test_ahead_hands_out_more_inputs_while_this_process_warms_up():
    handed = []

    def jobs():
        for i in range(200):
            handed.append(i)
            yield i, (i,)

    at_idle = []
    out, leads = [], []
    with Ahead(2) as ahead:
        for key, outcome in ahead.map(_square_or_fail, jobs(), idle=lambda: at_idle.append(len(handed))):
            leads.append(len(handed) - len(out))
            out.append((key, outcome))
    # the workers get a bank of inputs to work through while idle() runs, not the usual few ...
    assert at_idle == [WARM_LOOKAHEAD * 2 + 1]
    # ... and once it is taken, no more than usual are held ahead
    assert max(leads[100:180]) == LOOKAHEAD * 2 + 1
    assert [key for key, _ in out] == list(range(200))
    assert out[199][1].get() == 199 * 199


class _Tally:
    """A stateful object for InOrder: each call's answer depends on every call before it."""

    def __init__(self, start: int) -> None:
        self.total = start
        self.pid = os.getpid()

    def add(self, n: int) -> tuple[int, int]:
        if n < 0:
            raise ValueError(f"{n} is negative")
        self.total += n
        return self.total, self.pid


def test_in_order_calls_one_object_in_another_process_in_the_order_made():
    with InOrder(_Tally, (100,)) as tally:
        futures = [tally.call("add", n) for n in (1, 2, -5, 3, 4)]
        results = []
        for f in futures:
            try:
                results.append(f.result(timeout=30))
            except ValueError as exc:
                results.append(str(exc))
        workers = list(tally._pool._processes.values())
    assert [r if isinstance(r, str) else r[0] for r in results] == [101, 103, "-5 is negative", 106, 110]
    assert {r[1] for r in results if not isinstance(r, str)} != {os.getpid()}  # kept in a child process
    assert workers and not any(p.is_alive() for p in workers)


def _parent_of_worker(_: int) -> int:
    return os.getppid()


def test_ahead_runs_jobs_in_another_process_and_stops_it_after():
    with Ahead(1) as ahead:
        (_, outcome), = list(ahead.map(_parent_of_worker, [("a", (0,))]))
        workers = list(ahead._pool._processes.values())
    assert outcome.get() == os.getpid()  # run by a child of this process, not inline
    assert workers and not any(p.is_alive() for p in workers)


def test_prepared_features_match_what_the_document_says():
    doc = Document(
        source="t", kind="text", key="t", title="Harbour crane collapses in Northbank",
        text="A harbour crane collapsed on Tuesday in Northbank, the port authority said. " * 20,
    )
    prep = prepare(doc, enrich_chars=200)
    assert prep.fingerprint.signature is not None and len(prep.fingerprint.bands) > 0
    assert "crane" in prep.weights
    names = {" ".join(t[2] for t in toks) for _, toks, _, _ in prep.runs}
    assert "Northbank" in names
    assert max(start for start, *_ in prep.runs) < 200  # runs are read from the enrich_chars head only


def test_ingest_with_a_worker_stores_exactly_what_inline_ingest_does(tmp_path, shared):
    corpus = tmp_path / "corpus"
    _write_corpus(shared, corpus, 60)
    (corpus / "zz-broken.html").write_bytes(b"\x00\x01 not a page")
    inline = Store(tmp_path / "inline.db")
    ahead = Store(tmp_path / "ahead.db")
    r0 = ingest(inline, corpus, ner="fast", workers=0)
    r1 = ingest(ahead, corpus, ner="fast", workers=1)
    assert (r0.new, r0.duplicates, r0.failed) == (r1.new, r1.duplicates, r1.failed)
    assert r1.failed == 1 and r1.errors[0].startswith(str((corpus / "zz-broken.html").resolve()))
    assert r1.new >= 50
    assert snapshot(ahead) == snapshot(inline)
    again = ingest(ahead, corpus, ner="fast", workers=1)
    files = len(list(corpus.iterdir()))
    assert (again.new, again.unchanged, again.failed) == (0, files - 1, 1)


def _recogniser_state(store: Store) -> dict[str, list[tuple]]:
    """What the learning entity recogniser left behind, with everything snapshot() holds."""
    out = snapshot(store)
    out["lexicon"] = [tuple(r) for r in store.db.execute("SELECT id, name, kind FROM lexicon ORDER BY id")]
    out["budget"] = [tuple(r) for r in store.db.execute("SELECT value FROM state WHERE key = 'enrich_budget'")]
    out["keywords"] = [tuple(r) for r in store.db.execute("SELECT id, keywords FROM articles ORDER BY id")]
    return out


def _feed(folder, name: str, items: list[tuple[str, str]]) -> None:
    """A JSON Feed of (id, text) items about one harbour strike."""
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Harbour desk", "items": [
        {"id": i, "title": "Port Alma strike", "content_text": text, "date_published": "2024-05-02T09:00:00+00:00"}
        for i, text in items]}
    (folder / name).write_text(json.dumps(feed))


def test_reading_ahead_in_order_learns_and_stores_what_reading_inline_does(tmp_path, shared):
    corpus = tmp_path / "corpus"
    _write_corpus(shared, corpus, 60)
    first = sorted(corpus.iterdir())[0]
    # Sorted by name: a feed first, an exact copy of a report, then a feed whose third item is its first
    # with a new text (a revision, read in this process: the reader ahead can no longer be followed).
    lead = "Dock workers at Port Alma ended a strike on Tuesday after the union of Sam Okafor accepted a pay deal."
    _feed(corpus, "A0-feed.json", [("a", lead + " Ships queued for days.")])
    (corpus / "F0-copy.txt").write_bytes(first.read_bytes())
    _feed(corpus, "F5-feed.json", [
        ("b", lead + " Ships queued for days."),
        ("c", "Cranes at Port Alma were idle for a week, harbour master Ines Duarte told reporters in Kestrel Bay."),
        ("b", lead + " Ships queued for days, Mara Lindqvist of the Kestrel Bay shippers said."),
    ])
    runs = {}
    for workers in (0, 1):
        store = Store(tmp_path / f"w{workers}.db")
        pipeline = Pipeline(store, load({"ner": "auto", "workers": workers}, env={}))
        result = pipeline.ingest_paths([corpus])
        assert result.failed == 0 and result.updated == 1 and result.duplicates >= 1, result.errors
        runs[workers] = (_recogniser_state(store), pipeline._next_reading - 1)
    assert runs[1][0] == runs[0][0]
    assert len(runs[1][0]["lexicon"]) > 20  # spaCy taught it: the budget and lessons are the ones compared
    # the reader's readings were used up to the revision (its own reading included), and this process read the rest
    assert runs[1][1] == sum(1 for f in corpus.iterdir() if f.name < "F5-feed.json") + 3 > 10


def test_a_page_is_dated_by_its_own_calendar_day_not_by_utc(tmp_path):
    from storyline.extract import extract_html

    def page(stamp: str, lead: str) -> bytes:
        body = "".join(f"<p>{lead} Crews worked through the night to clear the roads, the county said ({i}).</p>" for i in range(4))
        return (f"<html><head><title>Storm damage in the county</title><meta property='article:published_time' "
                f"content='{stamp}'></head><body><article><h1>Storm damage in the county</h1>{body}</article></body></html>").encode()

    # 21:30 on 1 May in Chicago is 02:30 on 2 May in UTC: the page's day is the 1st, its "yesterday" the 30th.
    evening = extract_html(page("2024-05-01T21:30:00-05:00", "The storm struck the county yesterday, felling trees."), "a.html")
    assert evening.published.date().isoformat() == "2024-05-01"
    assert prepare(evening, 4000).when.day.isoformat() == "2024-04-30"
    undated = extract_html(page("2024-05-01T21:30:00-05:00", "Trees fell across the county in a storm."), "b.html")
    assert prepare(undated, 4000).when.day.isoformat() == "2024-05-01"
    store = Store(tmp_path / "s.db")  # the stored instant stays UTC
    from storyline.ingest import Pipeline
    from storyline.models import IngestResult
    from storyline.settings import load

    Pipeline(store, load({"ner": "fast"}, env={})).store_documents([undated], IngestResult())
    row = store.db.execute("SELECT published, event_day FROM articles").fetchone()
    assert (row["published"], row["event_day"]) == ("2024-05-02T02:30:00+00:00", "2024-05-01")


@pytest.mark.parametrize("seq, verdict", [(2, "read"), (1, "copy")])
def test_a_reading_out_of_turn_or_with_another_verdict_stops_the_reader_ahead(tmp_path, seq, verdict):
    from storyline.enrich import Reading
    from storyline.models import Enrichment

    pipeline = Pipeline(Store(tmp_path / "s.db"), load({"ner": "fast"}, env={}))
    pipeline._reader_live, pipeline._next_reading, pipeline._budget = True, 1, (0, 0)
    assert not pipeline._take_reading(Reading(seq, verdict, Enrichment()), "read")
    assert not pipeline._reader_live and pipeline._enricher is None  # rebuilt from the store's lessons when next needed
    assert pipeline._take_reading(Reading(1, "read", Enrichment()), "read") is False  # and never followed again


def _dies(*_args, **_kwargs):
    os._exit(1)  # as a reader killed from outside, or out of memory, would end


def _cannot_start(*_args, **_kwargs):
    raise OSError("model files missing")


@pytest.mark.parametrize("failure", ["read", "__init__"])
def test_a_reader_that_dies_or_cannot_start_leaves_the_reading_to_this_process(tmp_path, shared, monkeypatch, failure):
    from storyline.enrich import InOrderReader

    corpus = tmp_path / "corpus"
    _write_corpus(shared, corpus, 24)
    inline = Store(tmp_path / "inline.db")
    assert ingest(inline, corpus, ner="fast", workers=0).failed == 0
    # The worker is forked from this process: it runs the replaced method.
    monkeypatch.setattr(InOrderReader, failure, _dies if failure == "read" else _cannot_start)
    ahead = Store(tmp_path / "ahead.db")
    result = ingest(ahead, corpus, ner="fast", workers=1)
    assert result.failed == 0 and result.new > 20, result.errors
    assert _recogniser_state(ahead) == _recogniser_state(inline)


def test_a_run_that_reads_nothing_journals_no_budget_with_a_reader_or_without(tmp_path):
    corpus = tmp_path / "empty"
    corpus.mkdir()
    for i in range(9):
        _feed(corpus, f"f{i}.json", [])
    states = []
    for workers in (0, 1):
        store = Store(tmp_path / f"w{workers}.db")
        assert ingest(store, corpus, ner="fast", workers=workers).failed == 0
        states.append(_recogniser_state(store))
    assert states[1] == states[0] and states[0]["budget"] == []


def test_an_input_rolled_back_mid_store_leaves_the_same_store_with_a_reader_or_without(tmp_path, shared, monkeypatch):
    corpus = tmp_path / "corpus"
    _write_corpus(shared, corpus, 24)
    original = Store.insert_article
    calls = {"n": 0}

    def fails_once(self, doc, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:  # the seventh article of the run: its input is rolled back, the run goes on
            raise sqlite3.OperationalError("disk I/O error")
        return original(self, doc, *args, **kwargs)

    monkeypatch.setattr(Store, "insert_article", fails_once)
    states = []
    for workers in (0, 1):
        calls["n"] = 0
        store = Store(tmp_path / f"w{workers}.db")
        result = ingest(store, corpus, ner="auto", workers=workers)
        assert result.failed == 1 and "disk I/O error" in result.errors[0], result.errors
        states.append(_recogniser_state(store))
    assert states[1] == states[0] and states[0]["lexicon"]


def _niceness() -> int:
    return os.nice(0)


def test_the_workers_yield_the_cpu_to_the_process_that_stores():
    ours = os.nice(0)
    with Ahead(1) as ahead:
        [(_, outcome)] = list(ahead.map(_niceness, [("job", ())]))
    lower = min(19, ours + WORKER_NICE)  # 19 is the lowest there is
    assert outcome.get() == lower
    with InOrder(_Niceness, ()) as reader:
        assert reader.call("level").result() == lower
    assert os.nice(0) == ours  # this process keeps its own


class _Niceness:
    def level(self) -> int:
        return os.nice(0)
