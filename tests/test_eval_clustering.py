"""`eval clustering`: the BCubed scorer and both data formats, on small sets of our own."""

from __future__ import annotations

import csv
import json

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


def test_ecbplus_format_keeps_two_same_kind_happenings_apart(tmp_path):
    rows = [
        {"doc_id": f"{i}_{side}", "topic": 1, "subtopic": side, "text": text}
        for i, pair in enumerate(zip(FERRY_NORTH, FERRY_SOUTH))
        for side, text in zip(("north", "south"), pair)
    ]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
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
