"""`storyline eval timelines`: the scorer on hand-made timelines, the protocol, and a run on a small real topic."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from storyline.eval_timelines import (
    align_rouge,
    approx_rouge1,
    average,
    date_scores,
    eval_timelines,
    load_topics,
    own_rouge_counts,
    porter,
    rouge_data_dir,
    rouge_tokens,
    targets,
    tilse_rouge,
    tilse_works,
)

D1, D2, D3, D4, D5 = (date(2010, 5, d) for d in range(1, 6))
needs_rouge_data = pytest.mark.skipif(rouge_data_dir() is None, reason="tilse (with its ROUGE-1.5.5 data) not installed")


def test_date_f1_counts_exact_days() -> None:
    pred = [(D1, ["a"]), (D2, ["b"]), (D3, ["c"])]
    gold = [(D2, ["x"]), (D3, ["y"]), (D4, ["z"]), (D5, ["w"])]
    # 2 shared days: precision 2/3, recall 2/4, F1 = 2 * (2/3) * (1/2) / (2/3 + 1/2) = 4/7.
    assert date_scores(pred, gold) == {"precision": 2 / 3, "recall": 0.5, "f_score": pytest.approx(4 / 7)}
    assert date_scores([], gold)["f_score"] == 0.0


def test_average_is_f1_of_mean_precision_and_recall() -> None:
    one = {"precision": 1.0, "recall": 0.0, "f_score": 0.0}
    other = {"precision": 0.0, "recall": 1.0, "f_score": 0.0}
    result = average([{m: one for m in ("rouge_1", "rouge_2", "date")}, {m: other for m in ("rouge_1", "rouge_2", "date")}])
    # Means 0.5 and 0.5 give F1 0.5, though each timeline's own F1 is 0 (news-tls `get_average_results`).
    assert result["ar1_f"] == result["date_f1"] == 0.5
    assert result["ar1_f_mean"] == 0.0


def test_targets_follow_the_gold_timeline() -> None:
    gold = [(D1, ["a", "b"]), (D3, ["c"]), (D5, ["d", "e", "f"])]
    assert targets(gold) == (3, 2, (D1, D5))
    # Python's round halves to even, as news-tls does: 1.5 -> 2, 2.5 -> 2.
    assert targets([(D1, ["a"]), (D2, ["b", "c"])])[1] == 2
    assert targets([(D1, ["a", "b"]), (D2, ["c", "d", "e"])])[1] == 2


def test_porter_matches_rouge_perl_stems() -> None:
    # Stems as ROUGE-1.5.5's Perl gives them (its step 4 keeps "-ement" words whole, like "agreem").
    expected = {
        "running": "run", "ponies": "poni", "relational": "relat", "agreement": "agreem", "settlement": "settlem",
        "generalization": "gener", "happily": "happili", "yelling": "yell", "explosion": "explos", "cities": "citi",
    }
    assert {w: porter(w) for w in expected} == expected


@needs_rouge_data
def test_rouge_tokens_follow_rouge_155() -> None:
    # Stopwords go, "-" splits words, words over 3 letters are stemmed, WordNet exceptions first ("grew" -> "grow").
    assert rouge_tokens(["The oil spill spread quickly ."]) == ["oil", "spill", "spread", "quickli"]
    assert rouge_tokens(["Anti-government rallies grew ."]) == ["anti", "govern", "ralli", "grow"]
    assert rouge_tokens(["BP capped the well ."]) == ["bp", "cap"]  # "well" is a SMART stopword


@needs_rouge_data
def test_rouge_counts_by_hand() -> None:
    # oil spill spread quickli / oil spill spread coast: 3 of 4 unigrams, 2 of 3 bigrams shared.
    counts = own_rouge_counts(["The oil spill spread quickly ."], ["Oil spill spreads to the coast ."])
    assert counts == {"rouge_1": (3, 4, 4), "rouge_2": (2, 3, 3)}


def test_alignment_cost_uses_raw_tokens() -> None:
    assert approx_rouge1(["a b c ."], ["a b d ."]) == pytest.approx(2 / 3)
    assert approx_rouge1([], ["a"]) == 0.0


@needs_rouge_data
def test_aligned_rouge_by_hand() -> None:
    text = ["Oil spill spreads to the coast ."]
    same = align_rouge([(D1, text)], [(D1, text)])
    assert same["rouge_1"] == {"precision": 1.0, "recall": 1.0, "f_score": 1.0}
    # One day off: the only alignment, weighted 1 / (1 + 1).
    late = align_rouge([(D2, text)], [(D1, text)])
    assert late["rouge_1"]["precision"] == late["rouge_1"]["recall"] == pytest.approx(0.5)
    assert late["rouge_2"]["f_score"] == pytest.approx(0.5)
    # Two predicted days map onto the one gold day (many-to-one): precision pays for both, recall takes
    # the best: P = (4 + 4/2) / (4 + 4) = 0.75, R = 4 / 4.
    two = align_rouge([(D1, text), (D2, text)], [(D1, text)])
    assert two["rouge_1"]["precision"] == pytest.approx(0.75)
    assert two["rouge_1"]["recall"] == pytest.approx(1.0)
    assert align_rouge([], [(D1, text)])["rouge_1"]["f_score"] == 0.0


@needs_rouge_data
def test_own_scorer_agrees_with_tilse() -> None:
    if not tilse_works():
        pytest.skip("tilse's Perl ROUGE does not run here (needs libxml-parser-perl)")
    pred = [
        (D1, ["The oil spill spread quickly .", "BP said it would pay ."]),
        (D3, ["BP capped the well , officials said ."]),
        (D5, ["Anti-government rallies grew in the south ."]),
    ]
    gold = [
        (D1, ["Oil spill spreads to the coast ."]),
        (D2, ["BP pledges to pay for the clean-up ."]),
        (D4, ["BP caps the leaking well at last .", "Officials say the cap holds ."]),
    ]
    for p, g in ((pred, gold), (gold, pred), (pred[:1], gold)):
        ours, theirs = align_rouge(p, g), tilse_rouge(p, g)
        for measure in ("rouge_1", "rouge_2"):
            for key in ("precision", "recall", "f_score"):
                assert ours[measure][key] == pytest.approx(theirs[measure][key], abs=1e-12)


def _write_topic(folder: Path, articles: list[dict], timelines: list, keywords: list[str]) -> None:
    folder.mkdir(parents=True)
    with gzip.open(folder / "articles.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(a) + "\n" for a in articles)
    (folder / "timelines.jsonl").write_text("".join(json.dumps(t) + "\n" for t in timelines), encoding="utf-8")
    (folder / "keywords.json").write_text(json.dumps(keywords), encoding="utf-8")


def test_source_folders_of_a_topic_are_merged(tmp_path: Path) -> None:
    tl = [["2010-05-02", ["Rain floods the valley ."]]]
    _write_topic(tmp_path / "storm_a", [{"id": "1", "time": "2010-05-02", "text": "Rain fell ."}], [tl], ["storm"])
    _write_topic(tmp_path / "storm_b", [{"id": "1", "time": "2010-05-03", "text": "Rain stopped ."}], [tl, tl], ["storm"])
    (topic,) = load_topics(tmp_path)
    assert topic.name == "storm" and len(topic.articles) == 2 and len(topic.timelines) == 3
    assert topic.timelines[0] == [(date(2010, 5, 2), ["Rain floods the valley ."])]


@needs_rouge_data
def test_eval_runs_on_a_small_real_topic(shared: Path, tmp_path: Path) -> None:
    source = shared / "data" / "timelines" / "t17" / "H1N1_guardian"
    if not source.is_dir():
        pytest.skip("Timeline17 not in the shared data")
    with gzip.open(source / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        articles = sorted((json.loads(line) for line in fh), key=lambda a: a["time"])[:40]
    timelines = [json.loads(line) for line in (source / "timelines.jsonl").read_text(encoding="utf-8").splitlines() if line]
    keywords = json.loads((source / "keywords.json").read_text(encoding="utf-8"))
    _write_topic(tmp_path / "H1N1_guardian", articles, timelines, keywords)
    seen: list[tuple[int, int]] = []
    result = eval_timelines(tmp_path, progress=lambda done, total: seen.append((done, total)), scorer="own", workers=1)
    assert result["task"] == "timelines" and result["scorer"] == "own" and result["timelines"] == 1
    storyline, baseline = result["rows"][:2]
    assert storyline["system"] == "storyline" and not storyline["published"]
    assert 0 < storyline["ar1_f"] < 1 and 0 <= storyline["ar2_f"] <= storyline["ar1_f"] and 0 < storyline["date_f1"] <= 1
    assert baseline["system"] == "lead baseline"
    assert all(row["published"] for row in result["rows"][2:])
    assert {row["system"] for row in result["rows"]} >= {"Datewise"}
    assert seen[-1] == (2, 2)
