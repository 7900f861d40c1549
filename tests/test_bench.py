"""The benchmark runs on a small size and reports what the issue asks for (no timings asserted)."""

from storyline import readers
from storyline.bench import html_path, polling, run_text_path, schedule, synthetic_corpus, tenths, write_feeds
from storyline.dedup import fingerprint, jaccard
from storyline.settings import load


def test_synthetic_corpus_is_distinct_real_text(shared):
    docs = list(synthetic_corpus(shared, 60))
    assert len({d.key for d in docs}) == 60
    first, variant = docs[0].text, None
    # Later rounds re-use topics with half the sentences swapped: never near-duplicates of the original.
    more = list(synthetic_corpus(shared, 4600))
    variant = next(d for d in more if d.source.endswith(":1:0") and d.source.startswith(docs[0].source.rsplit(":", 2)[0]))
    assert jaccard(fingerprint(first).signature, fingerprint(variant.text).signature) < 0.8
    assert variant.published.year > docs[0].published.year
    # Each round is dated after the whole of the one before: the stream's density does not grow with its size.
    rounds: dict[str, list] = {}
    for d in more:
        rounds.setdefault(d.source.split(":")[2], []).append(d.published)
    assert max(rounds["0"]) < min(rounds["1"])
    # Mixed from the first round on (as the text-path bench uses it): the same dates, other sentences.
    mixed = list(synthetic_corpus(shared, 60, originals=False))
    assert [d.published for d in mixed] == [d.published for d in docs]
    assert all(m.text != d.text and m.title == d.title for m, d in zip(mixed, docs) if d.text.count("\n\n") >= 2)
    assert jaccard(fingerprint(mixed[0].text).signature, fingerprint(first).signature) < 0.8


def test_text_path_small(shared, tmp_path):
    settings = load({"ner": "fast", "shared": str(shared)}, env={})
    result = run_text_path(shared, 60, settings, tmp_path / "b.db", batch=10)
    assert result["articles"] == 60 and result["articles_per_s"] > 0 and result["peak_rss_mb"] > 0
    assert 0 < result["events"] <= 60
    assert result["new"] + result["duplicates"] == 60
    rates = result["tenths_articles_per_s"]
    assert len(rates) == 10 and sum(r is not None for r in rates) == 6  # six files of ten: six tenths hold one


def test_schedule_brackets_the_large_run_with_the_smaller_ones():
    assert schedule((1_000, 10_000, 100_000), 2) == [1_000, 10_000, 100_000, 10_000, 1_000]
    assert schedule((1_000, 10_000), 3) == [1_000, 10_000, 10_000, 1_000, 1_000, 10_000]
    assert schedule((100_000,), 3) == [100_000]


def test_tenths_rate_each_tenth_of_the_files():
    # 20 files of 10 articles, the last holding 5: 1 s a file for the first half, then 2 s a file.
    clock = {i: float(i) if i <= 10 else 10.0 + 2 * (i - 10) for i in range(21)}
    rates = tenths(clock, 195, 10)
    assert rates[:5] == [10.0] * 5  # 20 articles in 2 s
    assert rates[5:9] == [5.0] * 4  # 20 articles in 4 s
    assert rates[9] == 15 / 4  # the short last file


def test_bench_feeds_read_back_as_the_corpus(shared, tmp_path):
    docs = list(synthetic_corpus(shared, 23))
    assert write_feeds(iter(docs), tmp_path, 10) == 3
    files = sorted(tmp_path.iterdir())
    read = [d for f in files for d in readers.parse(f.read_bytes(), str(f), f.suffix).documents]
    assert [len(readers.parse(f.read_bytes(), str(f), f.suffix).documents) for f in files] == [10, 10, 3]
    assert [d.text.split() for d in read] == [d.text.split() for d in docs]  # feeds keep one line per paragraph
    assert [d.published for d in read] == [d.published for d in docs]
    assert len({d.key for d in read}) == 23


def test_polling_cycle_counts_every_feed(tmp_path):
    result = polling(load({"ner": "fast"}, env={}), feeds=20, hosts=2, delay_s=0.01)
    assert (result["polled"], result["failed"], result["stored"]) == (20, 0, 100)
    assert result["cycle_s"] >= result["politeness_floor_s"]


def test_html_path_reports_the_side_by_side_ratio(shared):
    result = html_path(load({"ner": "fast", "shared": str(shared)}, env={}), repeats=1)
    assert result["pages"] == 181 and result["pages_per_s"] > 0 and result["trafilatura_pages_per_s"] > 0
    assert result["ratios"] == [result["ratio"]]
    assert result["ratio"] == result["pages_per_s"] / result["trafilatura_pages_per_s"]
