"""The benchmark scorer, the benchmark runners on small subsets, and the report writer."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from storyline.evaluate import (
    aggregate,
    default_data,
    eval_dates,
    eval_extraction,
    load_baselines,
    load_dates,
    page_score,
    score_extraction,
    shingles,
    write_benchmarks,
)

# --- scorer on hand-made cases ----------------------------------------------------------------


def test_shingles() -> None:
    assert shingles("One, two three: four five!") == {"One two three four": 1, "two three four five": 1}
    # shorter than a shingle: one shingle of what there is
    assert shingles("just two") == {"just two": 1}
    assert shingles("") == {}
    assert shingles(None) == {}
    assert shingles("a b c d a b c d") == {"a b c d": 2, "b c d a": 1, "c d a b": 1, "d a b c": 1}


def test_page_score_by_hand() -> None:
    # gold shingles {1234, 2345}; predicted {1234, 2346}: one hit, one extra, one missed
    assert page_score("one two three four five", "one two three four six") == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert page_score("one two three four", "one two three four") == (1.0, 0.0, 0.0)
    assert page_score("one two three four", "") == (0.0, 0.0, 1.0)
    assert page_score("", "one two three four") == (0.0, 1.0, 0.0)
    assert page_score("", "") == (1.0, 0.0, 0.0)  # nothing to find, nothing found


def test_aggregate_by_hand() -> None:
    pages = [(1 / 3, 1 / 3, 1 / 3), (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)]
    # precision over pages that predicted something: (0.5 + 1) / 2; recall over all three: (0.5 + 0 + 1) / 3
    scores = aggregate(pages)
    assert scores["precision"] == pytest.approx(0.75)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.6)


def test_score_extraction_counts_missing_predictions_as_empty() -> None:
    gold = {"a": "one two three four five", "b": "six seven eight nine"}
    scores = score_extraction(gold, {"a": "one two three four five"})
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(0.5)


# --- scorer on the real benchmark -------------------------------------------------------------


def _aeb(shared: Path) -> Path:
    path = shared / "data/extraction/aeb"
    if not (path / "ground-truth.json").is_file():
        pytest.skip(f"AEB data not found at {path}")
    return path


def test_scorer_reproduces_published_baselines(shared: Path) -> None:
    data = _aeb(shared)
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    gold = {key: entry["articleBody"] for key, entry in truth.items()}
    baselines = load_baselines(data)
    published = {"trafilatura": (0.958, 0.938, 0.978), "news_please": (0.948, 0.964, 0.933)}
    for name, (f1, precision, recall) in published.items():
        _, output = baselines[name]
        scores = score_extraction(gold, {key: entry.get("articleBody") for key, entry in output.items()})
        assert scores["f1"] == pytest.approx(f1, abs=0.003), name
        assert scores["precision"] == pytest.approx(precision, abs=0.003), name
        assert scores["recall"] == pytest.approx(recall, abs=0.003), name


# --- runners on subsets -----------------------------------------------------------------------


def _aeb_subset(source: Path, target: Path, count: int) -> Path:
    """The first `count` pages of an AEB folder, with filtered gold and one filtered baseline."""
    truth = json.loads((source / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)[:count]
    (target / "html").mkdir(parents=True)
    (target / "baselines").mkdir()
    for key in keys:
        shutil.copy(source / "html" / f"{key}.html.gz", target / "html" / f"{key}.html.gz")
    (target / "ground-truth.json").write_text(json.dumps({key: truth[key] for key in keys}), encoding="utf-8")
    saved = json.loads((source / "baselines" / "trafilatura.json").read_text(encoding="utf-8"))
    output = {key: saved["output"][key] for key in keys}
    (target / "baselines" / "trafilatura.json").write_text(
        json.dumps({"version": saved.get("version"), "output": output}), encoding="utf-8"
    )
    return target


def test_eval_extraction_on_a_subset(shared: Path, tmp_path: Path) -> None:
    data = _aeb_subset(_aeb(shared), tmp_path / "aeb", 5)
    seen: list[tuple[int, int]] = []
    result = eval_extraction(data, peers=False, progress=lambda done, total: seen.append((done, total)), repeats=1)
    assert result["task"] == "extraction"
    assert result["data"] == str(data)
    assert result["pages"] == 5
    assert [row["system"] for row in result["rows"]] == ["storyline", "trafilatura (no_fallback)"]
    for row in result["rows"]:
        assert 0.5 < row["f1"] <= 1.0
        assert row["pages_per_s"] > 0
        assert set(row) >= {"system", "version", "f1", "precision", "recall", "pages_per_s"}
    assert [row["system"] for row in result["baselines"]] == ["trafilatura"]
    assert seen[-1] == (5, 5) and len(seen) == 5


def test_eval_dates_on_a_subset(shared: Path, tmp_path: Path) -> None:
    source = shared / "data/extraction/dates-mediacloud"
    if not (source / "gold.json").is_file():
        pytest.skip(f"dates data not found at {source}")
    gold = json.loads((source / "gold.json").read_text(encoding="utf-8"))
    subset = dict(sorted(gold.items())[:4])
    (tmp_path / "html").mkdir()
    for entry in subset.values():
        shutil.copy(source / "html" / entry["file"], tmp_path / "html" / entry["file"])
    (tmp_path / "gold.json").write_text(json.dumps(subset), encoding="utf-8")
    result = eval_dates(tmp_path, peers=True, repeats=1)
    assert [row["system"] for row in result["rows"]] == ["storyline", "htmldate (extensive)", "htmldate (fast)"]
    for row in result["rows"]:
        assert 0.0 <= row["accuracy"] <= 1.0
        assert row["correct"] == round(row["accuracy"] * 4)


def test_load_dates_treats_nan_as_undated(tmp_path: Path) -> None:
    (tmp_path / "html").mkdir()
    page = b"<html><body><p>hello</p></body></html>"
    (tmp_path / "html" / "a.gz").write_bytes(gzip.compress(page))
    (tmp_path / "html" / "b.gz").write_bytes(gzip.compress(page))
    (tmp_path / "gold.json").write_text(
        '{"https://a.example/": {"file": "a.gz", "date": "2020-06-07"}, "https://b.example/": {"file": "b.gz", "date": NaN}}',
        encoding="utf-8",
    )
    gold, pages = load_dates(tmp_path)
    assert gold == {"https://a.example/": "2020-06-07", "https://b.example/": None}
    assert pages["https://b.example/"].startswith("<html>")


def test_default_data_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STORYLINE_SHARED", str(tmp_path))
    assert default_data("extraction") == tmp_path / "data/extraction/aeb"
    assert default_data("dates") == tmp_path / "data/extraction/dates-mediacloud"


# --- report -----------------------------------------------------------------------------------

MACHINE = {"cpu": "Test CPU", "cores": 4, "python": "3.11.0"}


def _extraction_result() -> dict:
    return {
        "task": "extraction",
        "data": "/data/aeb",
        "pages": 3,
        "repeats": 1,
        "reference": "trafilatura (no_fallback)",
        "command": "storyline eval extraction",
        "machine": MACHINE,
        "date": "2024-03-05T12:00:00+00:00",
        "rows": [
            {"system": "storyline", "version": "0.1.0", "f1": 0.97, "precision": 0.96, "recall": 0.98, "pages_per_s": 90.0},
            {"system": "trafilatura (no_fallback)", "version": "2.3.1", "f1": 0.955, "precision": 0.93, "recall": 0.979, "pages_per_s": 100.0},
        ],
        "baselines": [{"system": "trafilatura", "version": "2.0.0", "f1": 0.958, "precision": 0.938, "recall": 0.978}],
    }


def _dates_result() -> dict:
    return {
        "task": "dates",
        "data": "/data/dates",
        "pages": 200,
        "reference": "htmldate (extensive)",
        "machine": MACHINE,
        "undated_gold": 5,
        "rows": [
            {"system": "storyline", "version": "0.1.0", "accuracy": 0.915, "correct": 183, "pages_per_s": 300.0},
            {"system": "htmldate (extensive)", "version": "1.11.0", "accuracy": 0.89, "correct": 178, "pages_per_s": 375.0},
        ],
    }


def test_write_benchmarks_creates_and_replaces_sections(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "benchmarks.md"
    write_benchmarks("extraction", _extraction_result(), path)
    write_benchmarks("dates", _dates_result(), path)
    first = path.read_text(encoding="utf-8")
    assert first.startswith("# Benchmarks\n")
    assert first.count("<!-- eval:extraction -->") == 1 and first.count("<!-- /eval:dates -->") == 1
    assert "| **storyline** | 0.1.0 | 0.970 | 0.960 | 0.980 | 90.0 | 0.90× |" in first
    assert "| trafilatura | 2.0.0 | 0.958 | 0.938 | 0.978 |" in first
    assert "| **storyline** | 0.1.0 | 0.915 | 183/200 | 300.0 | 0.80× |" in first
    assert "Test CPU, 4 cores, Python 3.11.0" in first
    assert "`storyline eval extraction`" in first

    # rewriting one section leaves the other and any hand-written text alone
    path.write_text(first + "\nNotes kept by hand.\n", encoding="utf-8")
    changed = _extraction_result()
    changed["rows"][0]["f1"] = 0.5
    write_benchmarks("extraction", changed, path)
    second = path.read_text(encoding="utf-8")
    assert "| **storyline** | 0.1.0 | 0.500 |" in second
    assert "0.970" not in second
    assert second.count("<!-- eval:extraction -->") == 1
    assert "183/200" in second and second.endswith("Notes kept by hand.\n")


def test_bench_page_shows_the_tenths_and_the_run_order():
    from storyline.evaluate import render_bench

    result = {
        "text_path": {
            "sizes": [100, 1000], "articles_per_s": [50.0, 40.0], "peak_rss_mb": [80.0, 90.0], "seconds": [2.0, 25.0],
            "runs": [2, 1], "order": [100, 1000, 100], "time_ratio_last_two": 12.5,
            "tenths_articles_per_s": [[60.0, None, 55.0] + [50.0] * 7, [45.0] * 9 + [20.0]],
        },
        "text_path_profile": [{"stage": "enrich", "seconds": 1.5}],
        "html_path": {"pages": 3, "pages_per_s": 8.0, "trafilatura_pages_per_s": 10.0, "ratio": 0.8, "ratios": [0.7, 0.8, 0.9]},
        "settings": {"batch": 25},
        "command": "storyline bench --sizes 100,1000",
        "date": "2026-01-01T00:00:00+00:00",
    }
    page = render_bench(result)
    assert "| 100 | 60 |  | 55 | 50 |" in page  # a tenth without a file of its own stays blank
    assert "| 1000 | 45 | 45 |" in page and page.count("| 20 |") == 1
    assert "Run order: 100, 1000, 100." in page
    assert "time(1000) / time(100) = 12.50" in page
    assert "Against each" not in page  # the runs' own seconds were not recorded
    result["text_path"]["run_seconds"] = [[1.6, 2.5], [25.0]]
    assert "Against each 100-article run (1.6, 2.5 s, in run order): 15.62, 10.00." in render_bench(result)
    assert "median of 3 runs" in page and "0.70, 0.80, 0.90" in page
    result["text_path"]["order"] = [100, 1000]
    assert "Run order" not in render_bench(result)  # back-to-back sizes: nothing to say


def test_serving_page_gives_the_medians_and_each_rounds_p95():
    from storyline.evaluate import render_serving

    page = {"p50_ms": 45.0, "p95_ms": 100.0, "requests_per_s": 140.0, "p95_ms_rounds": [90.0, 240.0, 100.0]}
    serve = {"workers": 2, "clients": 8, "articles": 1000, "detail": {"stories_page": page}}
    text = render_serving(serve)
    assert "| stories_page | 45.0 | 100.0 | 140.0 | 90.0, 240.0, 100.0 |" in text
    assert "measured in 3 rounds" in text and "`storyline serve --workers 2`, 8 concurrent clients" in text
    single = {**serve, "detail": {"stories_page": {k: v for k, v in page.items() if k != "p95_ms_rounds"}}}
    assert "rounds" not in render_serving(single)  # a result from before rounds renders as it did
    assert "CPU per request" not in text  # a result without the clients' own cost says nothing of it
    costs = {"stories_page": {**page, "client_cpu_ms": 0.45}, "search_page": {**page, "client_cpu_ms": 0.62}}
    assert "spent 0.45 to 0.62 ms of CPU per request" in render_serving({**serve, "detail": costs})
    assert "alone" not in text.lower()  # nor of each page on its own
    alone = render_serving({**serve, "detail": {"stories_page": {**page, "alone_p50_ms": 7.25}}})
    assert "| page | alone p50 ms | p50 ms |" in alone and "| stories_page | 7.2 | 45.0 | 100.0 | 140.0 |" in alone
