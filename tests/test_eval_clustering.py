"""`eval clustering`: the BCubed scorer and both data formats, on small sets of our own."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from storyline.eval_clustering import bcubed, eval_clustering
from storyline.settings import load


def test_bcubed_perfect_and_one_big_cluster():
    gold = ["a", "a", "b", "b", "b"]
    assert bcubed([1, 1, 2, 2, 2], gold) == {"bcubed_f1": 1.0, "bcubed_p": 1.0, "bcubed_r": 1.0}
    lumped = bcubed([0] * 5, gold)
    assert lumped["bcubed_r"] == 1.0
    assert lumped["bcubed_p"] == pytest.approx((2 * 2 / 5 + 3 * 3 / 5) / 5)


def test_bcubed_singletons_and_a_split():
    gold = ["a", "a", "a", "a"]
    alone = bcubed([1, 2, 3, 4], gold)
    assert alone["bcubed_p"] == 1.0 and alone["bcubed_r"] == pytest.approx(0.25)
    split = bcubed([1, 1, 1, 2], gold)
    assert split["bcubed_r"] == pytest.approx((3 * 3 / 4 + 1 / 4) / 4)
    assert split["bcubed_f1"] == pytest.approx(2 * split["bcubed_r"] / (1 + split["bcubed_r"]))


# Two happenings of one kind (two ferry groundings) in our own words, four reports each.
FERRY_NORTH = [
    "The ferry Kestrel ran aground off Harlow Point on Tuesday with 212 passengers aboard. Coast guard boats "
    "took everyone ashore by nightfall and no one was hurt, the harbour master said.",
    "All 212 passengers of the Kestrel were brought ashore after the ferry grounded near Harlow Point on Tuesday. "
    "The harbour master said a rudder fault is suspected.",
    "Divers inspected the hull of the ferry Kestrel, aground since Tuesday at Harlow Point, and found a rudder "
    "fault. Its 212 passengers had been taken ashore unhurt.",
    "The Kestrel ferry grounding at Harlow Point: the harbour master blamed a rudder fault and said the 212 "
    "passengers were ashore within hours.",
]
FERRY_SOUTH = [
    "The car ferry Osprey struck a sandbar in the Merrin estuary on Friday in thick fog. Eleven crew were "
    "lifted off by helicopter; the ferry carried no passengers on the night crossing.",
    "Fog was blamed after the Osprey, a car ferry, hit a sandbar in the Merrin estuary late on Friday. A "
    "helicopter lifted its eleven crew to safety.",
    "Salvage tugs will try to refloat the Osprey from the Merrin estuary sandbar where it stuck in fog on "
    "Friday; its eleven crew were flown off by helicopter.",
    "Eleven crew rescued by helicopter as car ferry Osprey runs onto a sandbar in fog in the Merrin estuary.",
]


def _write_ferries(folder: Path) -> None:
    """The two ferry groundings as an ECB+-format set: one subtopic each."""
    rows = [
        {"doc_id": f"{i}_{side}", "topic": 1, "subtopic": side, "text": text}
        for i, pair in enumerate(zip(FERRY_NORTH, FERRY_SOUTH))
        for side, text in zip(("north", "south"), pair)
    ]
    (folder / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_ecbplus_format_keeps_two_same_kind_happenings_apart(tmp_path):
    _write_ferries(tmp_path)
    result = eval_clustering(tmp_path, load({"ner": "fast"}, env={}))
    row = result["rows"][0]
    assert row["docs"] == 8 and row["gold_clusters"] == 2
    assert row["bcubed_f1"] == 1.0, row
    assert row["event_threshold"] == load({}, env={}).event_threshold


def test_uci_format_replays_headlines_in_time_order(tmp_path):
    headlines = [
        ("Kestrel ferry runs aground off Harlow Point with 212 aboard", "north", "/kestrel-ferry-aground-harlow-point"),
        ("Harlow Point grounding: all 212 Kestrel passengers ashore", "north", "/kestrel-passengers-ashore"),
        ("Rudder fault suspected in Kestrel ferry grounding", "north", "/rudder-fault-kestrel-ferry"),
        ("City council approves new tram line to the airport", "tram", "/council-approves-airport-tram"),
        ("Airport tram line wins council vote after long debate", "tram", "/airport-tram-council-vote"),
        ("Council vote clears way for airport tram line", "tram", "/tram-line-airport-council"),
    ]
    with (tmp_path / "headlines.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ID", "TITLE", "URL", "PUBLISHER", "CATEGORY", "STORY", "HOSTNAME", "TIMESTAMP"])
        # Written out of time order: the replay sorts by timestamp.
        for i, (title, story, path) in reversed(list(enumerate(headlines))):
            writer.writerow([i + 1, title, f"https://news{i}.example.com{path}", f"Outlet {i}", "n", story,
                             f"news{i}.example.com", 1_394_500_000_000 + 60_000 * i])
    result = eval_clustering(tmp_path, load({"ner": "fast"}, env={}))
    row = result["rows"][0]
    assert (row["docs"], row["gold_clusters"], row["events"]) == (6, 2, 2)
    assert row["bcubed_f1"] == 1.0


def test_peer_rows_come_with_their_threshold_and_how_it_was_chosen(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("scipy")
    from storyline.eval_clustering import PEER_THRESHOLDS

    _write_ferries(tmp_path)
    result = eval_clustering(tmp_path, load({"ner": "fast"}, env={}))
    peers = {row["system"]: row for row in result["rows"][1:]}
    assert set(peers) == {"tfidf-average-link", "tfidf-single-pass"}
    for row in peers.values():
        assert row["version"].startswith("scikit-learn ")
        assert row["threshold"] in PEER_THRESHOLDS and "best of" in row["notes"]
        assert row["bcubed_f1"] == 1.0 and row["docs"] == 8  # two plainly different groundings
    assert eval_clustering(tmp_path, load({"ner": "fast"}, env={}), peers=False)["rows"][0]["system"] == "storyline"


def naive_single_pass(rows, t):
    """The textbook loop: each row joins the centroid (sum of members) most similar to it, or opens one."""
    import numpy as np

    sums, labels = [], []
    for x in rows:
        scores = [float(x @ c) / np.linalg.norm(c) if c.any() else 0.0 for c in sums]
        j = int(np.argmax(scores)) if scores else -1
        if j < 0 or scores[j] < t:
            sums.append(np.zeros_like(x))
            j = len(sums) - 1
        sums[j] = sums[j] + x
        labels.append(j)
    return labels


def test_single_pass_equals_the_textbook_loop():
    np = pytest.importorskip("numpy")
    sparse = pytest.importorskip("scipy.sparse")
    from storyline.eval_clustering import single_pass

    rng = np.random.default_rng(7)
    dense = rng.random((40, 12)) * (rng.random((40, 12)) < 0.3)
    dense[5] = 0.0  # a row with no terms opens its own cluster
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    dense = np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)
    got = single_pass(sparse.csr_matrix(dense), (0.2, 0.4, 0.6))
    for t, labels in got.items():
        assert labels == naive_single_pass(dense, t), t
    assert len(set(got[0.6])) > len(set(got[0.2]))


def test_average_link_cuts_at_the_similarity_threshold():
    np = pytest.importorskip("numpy")
    sparse = pytest.importorskip("scipy.sparse")
    from storyline.eval_clustering import average_link

    # Two pairs of near-identical rows, the pairs at right angles.
    rows = np.array([[1.0, 0.1, 0], [1.0, 0.0, 0], [0, 0, 1.0], [0, 0.1, 1.0]])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    cut = average_link(sparse.csr_matrix(rows), (0.5, 0.999))
    assert cut[0.5][0] == cut[0.5][1] != cut[0.5][2] == cut[0.5][3]
    assert len(set(cut[0.999])) == 4


def test_clustering_table_puts_row_notes_below_it():
    from storyline.evaluate import render

    result = {"task": "clustering", "data": "x", "rows": [
        {"system": "storyline", "bcubed_f1": 0.9},
        {"system": "tfidf-single-pass", "bcubed_f1": 0.8, "threshold": 0.25, "notes": "threshold best on this set"},
    ]}
    text = render("clustering", result)
    header = next(line for line in text.splitlines() if line.startswith("| system"))
    assert "notes" not in header and "threshold" in header
    assert "tfidf-single-pass: threshold best on this set" in text
