"""Targets are checked against results: met or MISSED, with the reason printed only when missed."""

from __future__ import annotations

from storyline import targets


def _dates(accuracy: float) -> dict:
    return {"task": "dates", "undated_gold": 5, "rows": [{"system": "storyline", "accuracy": accuracy}]}


def test_a_missed_target_is_marked_and_explained():
    out = "\n".join(targets.lines("dates", _dates(0.9)))
    assert "| exact-day accuracy | 0.900 | ≥ 0.930 | **MISSED** |" in out
    assert "Why exact-day accuracy is missed: 5 of the 200" in out


def test_a_met_target_has_no_reason():
    out = "\n".join(targets.lines("dates", _dates(0.95)))
    assert "| met |" in out and "MISSED" not in out and "Why" not in out


def test_bench_checks_every_path_the_issue_names():
    result = {
        "text_path": {"sizes": [1000, 10000, 100000], "articles_per_s": [400.0, 350.0, 310.0],
                      "peak_rss_mb": [300.0, 500.0, 1100.0], "time_ratio_last_two": 11.3},
        "html_path": {"ratio": 0.85},
        "serving": {"search_p95_ms": 40.0, "page_p95_ms": 120.0, "clients": 8},
    }
    marks = {what: met for what, _, _, met in targets.CHECKS["bench"](result)}
    assert marks == {
        "text path articles/s at 100000": True,
        "time(100000) / time(10000)": False,
        "peak memory MB": False,
        "HTML path / trafilatura no_fallback": True,
        "search p95 ms": True,
        "pages p95 ms": False,
    }


def test_timelines_must_beat_datewise_on_every_metric():
    rows = [{"system": "storyline", "ar1_f": 0.13, "ar2_f": 0.03, "date_f1": 0.6},
            {"system": "Datewise", "ar1_f": 0.12, "ar2_f": 0.035, "date_f1": 0.544}]
    marks = [met for *_, met in targets.CHECKS["timelines"]({"rows": rows})]
    assert marks == [True, False, True]
