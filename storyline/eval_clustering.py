"""`storyline eval clustering`: BCubed scores of the product's online event assignment on real sets."""

from __future__ import annotations

import csv
import json
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Hashable, Sequence

from . import __version__, readers
from .models import Document, IngestResult
from .settings import Settings

Progress = Callable[[int, int], None]


def bcubed(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> dict[str, float]:
    """BCubed precision, recall and F1 of a clustering against gold labels."""
    by_pred: dict[Hashable, set[int]] = defaultdict(set)
    by_gold: dict[Hashable, set[int]] = defaultdict(set)
    for i, (p, g) in enumerate(zip(pred, gold)):
        by_pred[p].add(i)
        by_gold[g].add(i)
    precision = recall = 0.0
    for i, (p, g) in enumerate(zip(pred, gold)):
        both = len(by_pred[p] & by_gold[g])
        precision += both / len(by_pred[p])
        recall += both / len(by_gold[g])
    n = len(pred) or 1
    precision, recall = precision / n, recall / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"bcubed_f1": f1, "bcubed_p": precision, "bcubed_r": recall}


def _pipeline(settings: Settings):  # noqa: ANN202 - Pipeline import kept local (heavy)
    """A product pipeline over a fresh in-memory store."""
    from .ingest import Pipeline
    from .store import Store

    return Pipeline(Store(":memory:"), settings)


def ecbplus_events(path: Path, settings: Settings, progress: Progress | None = None) -> tuple[list, list]:
    """Ingest every ECB+ document as a scraped text file would be; return (event ids, gold subtopics)."""
    docs = [json.loads(line) for line in (path / "docs.jsonl").open(encoding="utf-8") if line.strip()]
    pipeline = _pipeline(settings)
    result = IngestResult()
    for i, doc in enumerate(docs):
        parsed = readers.parse_text(doc["text"], doc["doc_id"])
        # The set carries no publication dates (see its README): dates seen in some texts are not used.
        parsed.published = None
        pipeline.store_documents([parsed], result)
        if progress:
            progress(i + 1, len(docs))
    event_of = dict(pipeline.store.db.execute("SELECT source, event_id FROM articles"))
    pred = [event_of.get(d["doc_id"], f"failed-{i}") for i, d in enumerate(docs)]
    return pred, [d["subtopic"] for d in docs]


def uci_events(path: Path, settings: Settings, progress: Progress | None = None) -> tuple[list, list]:
    """Replay the UCI aggregator's headlines in time order as feed items; return (event ids, gold stories)."""
    with (path / "headlines.csv").open(encoding="utf-8", newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    pipeline = _pipeline(settings)
    result = IngestResult()
    for i, row in enumerate(rows):
        doc = Document(
            source=f"uci:{row['ID']}",
            kind="feed-item",
            key=f"uci:{row['ID']}",
            title=row["TITLE"],
            url=row["URL"],
            outlet=row["PUBLISHER"],
            published=datetime.fromtimestamp(int(row["TIMESTAMP"]) / 1000, tz=timezone.utc),
        )
        pipeline.store_documents([doc], result)
        if progress:
            progress(i + 1, len(rows))
    event_of = dict(pipeline.store.db.execute("SELECT key, event_id FROM articles"))
    return [event_of[f"uci:{r['ID']}"] for r in rows], [r["STORY"] for r in rows]


def eval_clustering(data: Path, settings: Settings, progress: Progress | None = None) -> dict:
    """Score the product's event assignment on one data set (ECB+ or UCI format, told by its files)."""
    runner = ecbplus_events if (data / "docs.jsonl").exists() else uci_events
    start = time.perf_counter()
    pred, gold = runner(data, settings, progress)
    seconds = time.perf_counter() - start
    row = {"system": "storyline", "version": __version__, **bcubed(pred, gold)}
    row.update(docs=len(gold), events=len(set(pred)), gold_clusters=len(set(gold)), docs_per_s=len(gold) / seconds)
    # A figure is only worth what its configuration says; these are the settings assignment reads.
    row.update(
        ner=settings.ner,
        event_threshold=settings.event_threshold,
        event_merge_threshold=settings.event_merge_threshold,
        event_window_days=settings.event_window_days,
    )
    return {"task": "clustering", "data": str(data), "rows": [row]}


def with_overrides(settings: Settings, **values: object) -> Settings:
    """Settings with some values replaced."""
    return replace(settings, **values)
