"""Work done ahead in a worker process: same results as inline, in input order, errors kept per input."""

from __future__ import annotations

import os
import pytest
from test_ingest import _write_corpus, ingest, snapshot

from storyline.models import Document
from storyline.prepare import LOOKAHEAD, WARM_LOOKAHEAD, Ahead, prepare
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
    assert "crane" in prep.terms.counts
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
