"""Benchmarks: main-text extraction and publication dates, against peers on shared data."""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import platform
import re
import shlex
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import targets

LOGGER = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
AEB = Path("data/extraction/aeb")
DATES = Path("data/extraction/dates-mediacloud")
STORYLINE = "storyline"
TRAFILATURA_FAST = "trafilatura (no_fallback)"
HTMLDATE_EXTENSIVE = "htmldate (extensive)"

Progress = Callable[[int, int], None]
Extractor = Callable[[str, str | None], str | None]


# --- scorer (article-extraction-benchmark metric) --------------------------------------------

_TOKEN = re.compile(r"\w+")
SHINGLE = 4


def shingles(text: str | None, n: int = SHINGLE) -> Counter[str]:
    """Counts of the n-token shingles of a text (one shorter shingle for a short text)."""
    tokens = _TOKEN.findall(text or "")
    return Counter(" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def page_score(gold: str | None, predicted: str | None) -> tuple[float, float, float]:
    """(TP, FP, FN) shingle shares of one page, each over TP+FP+FN so all pages weigh the same."""
    truth, guess = shingles(gold), shingles(predicted)
    if not truth and not guess:
        return 1.0, 0.0, 0.0
    tp = sum((truth & guess).values())
    fp = sum((guess - truth).values())
    fn = sum((truth - guess).values())
    total = tp + fp + fn
    return tp / total, fp / total, fn / total


def aggregate(scores: Iterable[tuple[float, float, float]]) -> dict[str, float]:
    """Mean precision and recall over pages (where defined) and their harmonic mean."""
    scores = list(scores)
    precisions = [tp / (tp + fp) for tp, fp, _ in scores if tp + fp > 0]
    recalls = [tp / (tp + fn) for tp, _, fn in scores if tp + fn > 0]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def score_extraction(gold: dict[str, str], predicted: dict[str, str | None]) -> dict[str, float]:
    """F1, precision and recall of predicted bodies against gold bodies (missing = empty)."""
    return aggregate(page_score(body, predicted.get(key)) for key, body in gold.items())


# --- data ------------------------------------------------------------------------------------


def shared_dir() -> Path:
    """The shared data folder: $STORYLINE_SHARED, else ../shared beside the checkout."""
    return Path(os.environ.get("STORYLINE_SHARED") or REPO.parent / "shared")


def default_data(task: str) -> Path:
    """Where the data set of a task ("extraction" or "dates") lives by default."""
    return shared_dir() / {"extraction": AEB, "dates": DATES}[task]


def _read_page(path: Path) -> str:
    """A stored page as text (gzip or plain; UTF-8, broken bytes replaced)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def _page_path(folder: Path, stem: str) -> Path | None:
    """The file for a page id, compressed or not."""
    for name in (f"{stem}.html.gz", f"{stem}.html", f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def load_aeb(data: Path) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Ground truth {id: {url, articleBody}} and pages {id: html} of an AEB-style folder."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for key in truth:
        path = _page_path(data / "html", key)
        if path is None:
            raise FileNotFoundError(f"no page for {key} in {data / 'html'}")
        pages[key] = _read_page(path)
    return truth, pages


def load_baselines(data: Path) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """Saved extractor outputs {system: (version, {id: {articleBody}})}."""
    found = {}
    for path in sorted((data / "baselines").glob("*.json")):
        content = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(content.get("output"), dict):
            found[path.stem] = (content.get("version"), content["output"])
        else:
            found[path.stem] = (None, content)
    return found


def load_dates(data: Path) -> tuple[dict[str, str | None], dict[str, str]]:
    """Gold days {url: "YYYY-MM-DD" or None} and pages {url: html} of a dates folder."""
    gold_file = json.loads((data / "gold.json").read_text(encoding="utf-8"))
    gold, pages = {}, {}
    for url, entry in gold_file.items():
        day = entry.get("date")
        # pages the labellers found undated carry NaN: no answer can match them
        gold[url] = day if isinstance(day, str) else None
        path = _page_path(data / "html", entry["file"])
        if path is None:
            raise FileNotFoundError(f"no page {entry['file']} in {data / 'html'}")
        pages[url] = _read_page(path)
    return gold, pages


# --- systems ---------------------------------------------------------------------------------


def _version(distribution: str) -> str | None:
    """Installed version of a distribution, None when absent."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _storyline_version() -> str:
    """The project's version."""
    from . import __version__

    return __version__


def _storyline_text(html: str, url: str | None) -> str | None:
    """Storyline's main text of a page (empty when it finds none)."""
    from .extract import ExtractError, extract_html

    try:
        return extract_html(html, source=url or "page", url=url).text
    except ExtractError:
        return ""


def _trafilatura(**options: Any) -> Extractor:
    """trafilatura.extract with fixed options."""
    import trafilatura

    return lambda html, url: trafilatura.extract(html, **options)


def _block_text(html: str) -> str:
    """Visible text of an HTML fragment, one line per block element."""
    import lxml.html

    if not html or not html.strip():
        return ""
    root = lxml.html.fromstring(html)
    for element in root.iter("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "blockquote", "tr", "pre"):
        element.tail = "\n" + (element.tail or "")
    return "\n".join(line.strip() for line in root.text_content().splitlines() if line.strip())


def _readability() -> Extractor:
    """readability-lxml's summary as text."""
    from readability import Document as Readable

    return lambda html, url: _block_text(Readable(html).summary(html_partial=True))


def _newspaper() -> Extractor:
    """newspaper4k's article text from already-fetched HTML."""
    from newspaper import Article

    def run(html: str, url: str | None) -> str:
        # no image fetching: it goes to the network for every candidate image
        article = Article(url or "http://example.com/", fetch_images=False)
        article.download(input_html=html)
        article.parse()
        return article.text

    return run


def _goose() -> Extractor:
    """goose3's cleaned text (one extractor reused, as its docs suggest)."""
    from goose3 import Goose

    goose = Goose({"enable_image_fetching": False})
    return lambda html, url: goose.extract(raw_html=html).cleaned_text


def _justext() -> Extractor:
    """jusText's non-boilerplate paragraphs with the English stoplist, as in the AEB runs."""
    import justext

    stoplist = justext.get_stoplist("English")
    return lambda html, url: "\n".join(
        paragraph.text for paragraph in justext.justext(html.encode("utf-8"), stoplist) if not paragraph.is_boilerplate
    )


# (row name, distribution for the version, factory); factories import lazily so a missing peer is skipped
_EXTRACTION_PEERS: tuple[tuple[str, str, Callable[[], Extractor]], ...] = (
    ("trafilatura (default)", "trafilatura", lambda: _trafilatura()),
    ("trafilatura (favor_precision)", "trafilatura", lambda: _trafilatura(favor_precision=True)),
    ("readability-lxml", "readability-lxml", _readability),
    ("newspaper4k", "newspaper4k", _newspaper),
    ("goose3", "goose3", _goose),
    ("jusText", "jusText", _justext),
)


def _systems(candidates: Iterable[tuple[str, str, Callable[[], Any]]]) -> list[tuple[str, str | None, Any]]:
    """Instantiate the systems that are installed; log and skip the others."""
    ready = []
    for name, distribution, factory in candidates:
        try:
            found = _storyline_version() if distribution == "storyline" else _version(distribution)
            ready.append((name, found, factory()))
        except ImportError as err:
            LOGGER.info("skipping %s: %s", name, err)
    return ready


# --- timing ----------------------------------------------------------------------------------


def _run_all(
    systems: list[tuple[str, str | None, Callable[[str, str | None], Any]]],
    pages: dict[str, str],
    urls: dict[str, str | None],
    repeats: int,
    progress: Progress | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, float], dict[str, int]]:
    """Run every system on every page, interleaved so load changes hit all alike.

    Returns outputs, seconds (per page the fastest of `repeats` runs, summed) and failures.
    """
    outputs: dict[str, dict[str, Any]] = {name: {} for name, _, _ in systems}
    seconds = dict.fromkeys(outputs, 0.0)
    failures = dict.fromkeys(outputs, 0)
    total = len(pages)
    with warnings.catch_warnings():
        # peers warn about deprecated options and odd markup; the table is the result
        warnings.simplefilter("ignore")
        for done, (key, html) in enumerate(pages.items(), start=1):
            for name, _, run in systems:
                best, failed = math.inf, False
                for _ in range(max(1, repeats)):
                    start = time.perf_counter()
                    try:
                        result = run(html, urls.get(key))
                    except Exception as err:  # a peer crashing on a page is a miss, not a failed benchmark
                        LOGGER.debug("%s failed on %s: %s", name, key, err)
                        result, failed = None, True
                    best = min(best, time.perf_counter() - start)
                outputs[name][key] = result
                seconds[name] += best
                failures[name] += failed
            if progress:
                progress(done, total)
    return outputs, seconds, failures


def machine() -> dict[str, Any]:
    """CPU model, core count and Python version of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version()}


def _command(task: str) -> str:
    """The command line that is running, or the CLI command for the task."""
    argv0 = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if argv0 == "storyline":
        return shlex.join(["storyline", *sys.argv[1:]])
    if argv0 == Path(__file__).name:
        return shlex.join(["python", "-m", __spec__.name if __spec__ else "storyline.evaluate", *sys.argv[1:]])
    return f"storyline eval {task}"


def _header(task: str, data: Path, pages: int, repeats: int, reference: str) -> dict[str, Any]:
    """The parts of a result that say how and where it was produced."""
    return {
        "task": task,
        "data": str(data),
        "pages": pages,
        "repeats": repeats,
        "reference": reference,
        "command": _command(task),
        "machine": machine(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# --- benchmarks ------------------------------------------------------------------------------


def eval_extraction(
    data: Path | None = None,
    peers: bool = True,
    progress: Progress | None = None,
    repeats: int = 2,
) -> dict[str, Any]:
    """Score Storyline, trafilatura and installed peers on an AEB-style folder, plus saved baselines."""
    data = Path(data) if data else default_data("extraction")
    truth, pages = load_aeb(data)
    gold = {key: entry.get("articleBody", "") for key, entry in truth.items()}
    urls = {key: entry.get("url") for key, entry in truth.items()}
    candidates: list[tuple[str, str, Callable[[], Extractor]]] = [
        (STORYLINE, "storyline", lambda: _storyline_text),
        (TRAFILATURA_FAST, "trafilatura", lambda: _trafilatura(fast=True)),
    ]
    if peers:
        candidates += _EXTRACTION_PEERS
    systems = _systems(candidates)
    outputs, seconds, failures = _run_all(systems, pages, urls, repeats, progress)
    rows = []
    for name, found_version, _ in systems:
        scores = score_extraction(gold, outputs[name])
        rows.append(
            {
                "system": name,
                "version": found_version,
                **scores,
                "pages_per_s": len(pages) / seconds[name] if seconds[name] else None,
                "failures": failures[name],
            }
        )
    baselines = [
        {"system": name, "version": saved_version, **score_extraction(gold, _bodies(output))}
        for name, (saved_version, output) in load_baselines(data).items()
    ]
    return {**_header("extraction", data, len(pages), repeats, TRAFILATURA_FAST), "rows": rows, "baselines": baselines}


def _bodies(output: dict[str, Any]) -> dict[str, str | None]:
    """{id: articleBody} out of a saved baseline output."""
    return {key: entry.get("articleBody") if isinstance(entry, dict) else entry for key, entry in output.items()}


def _storyline_day(html: str, url: str | None) -> str | None:
    """The publication day Storyline reads off a page, as the page shows it."""
    from .extract import extract_date

    moment = extract_date(html, url)
    return moment.date().isoformat() if moment else None


def _htmldate(extensive: bool) -> Callable[[str, str | None], str | None]:
    """htmldate.find_date for the original publication date."""
    from htmldate import find_date

    return lambda html, url: find_date(html, url=url, original_date=True, extensive_search=extensive)


def eval_dates(
    data: Path | None = None,
    peers: bool = True,
    progress: Progress | None = None,
    repeats: int = 2,
) -> dict[str, Any]:
    """Exact-day accuracy and speed of Storyline's publication dates against htmldate."""
    data = Path(data) if data else default_data("dates")
    gold, pages = load_dates(data)
    candidates: list[tuple[str, str, Callable[[], Any]]] = [
        (STORYLINE, "storyline", lambda: _storyline_day),
        (HTMLDATE_EXTENSIVE, "htmldate", lambda: _htmldate(True)),
    ]
    if peers:
        candidates.append(("htmldate (fast)", "htmldate", lambda: _htmldate(False)))
    systems = _systems(candidates)
    urls = {url: url for url in pages}
    outputs, seconds, failures = _run_all(systems, pages, urls, repeats, progress)
    rows = []
    for name, found_version, _ in systems:
        # an undated gold page counts against everyone, as in the published figures
        correct = sum(gold[url] is not None and outputs[name].get(url) == gold[url] for url in gold)
        rows.append(
            {
                "system": name,
                "version": found_version,
                "accuracy": correct / len(gold) if gold else 0.0,
                "correct": correct,
                "pages_per_s": len(pages) / seconds[name] if seconds[name] else None,
                "failures": failures[name],
            }
        )
    return {
        **_header("dates", data, len(pages), repeats, HTMLDATE_EXTENSIVE),
        "undated_gold": sum(day is None for day in gold.values()),
        "rows": rows,
    }


# --- report ----------------------------------------------------------------------------------

_TITLES = {
    "extraction": "Main-text extraction",
    "dates": "Publication dates",
    "clustering": "Event clustering (BCubed)",
    "timelines": "Timeline summarization (Timeline17)",
}


def _number(value: Any, digits: int = 3) -> str:
    """A table cell for a number (blank when missing)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _speed_ratio(row: dict[str, Any], result: dict[str, Any]) -> str:
    """Speed of a row relative to the reference system, as "1.05×"."""
    reference = next((r for r in result["rows"] if r["system"] == result.get("reference")), None)
    if not reference or not reference.get("pages_per_s") or not row.get("pages_per_s"):
        return ""
    return f"{row['pages_per_s'] / reference['pages_per_s']:.2f}×"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


def _scalar_table(rows: list[dict[str, Any]]) -> list[str]:
    """A markdown table of the scalar fields of some rows (nested values left out)."""
    keys = list(dict.fromkeys(k for row in rows for k, v in row.items() if not isinstance(v, (dict, list))))
    body = [
        [
            (f"**{row[k]}**" if k == "system" and row.get(k) == STORYLINE else
             _number(row[k], 4 if abs(row[k]) < 1 else 1) if isinstance(row.get(k), float) else
             "" if row.get(k) is None else str(row[k]))
            for k in keys
        ]
        for row in rows
    ]
    return _table(keys, body)


def _data_label(row: dict[str, Any]) -> str:
    """The row's data set, as " (name)", or nothing."""
    return f" ({Path(row['data']).name})" if row.get("data") else ""


def render_generic(section: str, result: dict[str, Any]) -> str:
    """Markdown for a result of any other task: its facts, then a table of its rows."""
    info = result.get("machine") or machine()
    lines = [
        f"## {_TITLES.get(section, section)}",
        "",
        f"- data: `{result.get('data')}`",
        f"- command: `{result.get('command') or _command(section)}`",
        f"- date: {result.get('date') or datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {info.get('cpu')}, {info.get('cores')} cores, Python {info.get('python')}",
    ]
    for key, value in result.items():
        if key not in {"task", "data", "rows", "machine", "date", "command"} and not isinstance(value, (dict, list)):
            lines.append(f"- {key}: {value}")
    lines.append("")
    rows = result.get("rows", [])
    # A row's notes (how a peer was run) are sentences, not a column: they follow the table.
    lines += _scalar_table([{k: v for k, v in row.items() if k != "notes"} for row in rows])
    row_notes = [f"{row['system']}{_data_label(row)}: {row['notes']}" for row in rows if row.get("notes")]
    for note in [*dict.fromkeys(row_notes), *result.get("notes", [])]:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def render_bench(result: dict[str, Any]) -> str:
    """Markdown for `storyline bench`: each measured path, the targets, and where time goes."""
    info = result.get("machine") or machine()
    text = result["text_path"]
    lines = [
        "## Speed and memory (`storyline bench`)",
        "",
        f"- command: `{result.get('command') or _command('bench')}`",
        f"- date: {result.get('date') or datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {info.get('cpu')}, {info.get('cores')} cores, Python {info.get('python')}",
        f"- settings: {result.get('settings')}",
        "",
        "### Text path (dedup, enrichment, event assignment, threading, SQLite with FTS), articles built from T17 texts",
        "",
        f"The articles are written as JSON Feed files of {result.get('settings', {}).get('batch', 25)} articles each before the clock starts; "
        "`ingest` reads them (one transaction per file), its end-of-run refresh included. "
        "The corpus repeats T17's articles in rounds, half of each text's sentences swapped for others of its topic "
        "(in every round, the first too), each round dated after the whole of the one before: every size meets the same "
        "kind of article and as many reports per day as T17 holds.",
        "",
    ]
    lines += _table(
        ["articles", "articles/s (median)", "seconds", "peak memory MB (PSS, with workers)", "runs"],
        [[str(n), _number(r, 1), _number(sec, 1), _number(m, 0), str(k)]
         for n, r, sec, m, k in zip(text["sizes"], text["articles_per_s"], text["seconds"], text["peak_rss_mb"], text["runs"])],
    )
    if text.get("order") and text["order"] != sorted(text["order"]):
        lines += ["", f"Run order: {', '.join(map(str, text['order']))}. The repeats of a smaller size are taken before and "
                  "after the larger runs, as this machine's speed drifts over the minutes the largest run takes."]
    if text.get("tenths_articles_per_s"):
        lines += ["", "Articles/s through each tenth of the run's input files (the first run at each size; the last tenth "
                  "includes the end-of-run refresh):", ""]
        lines += _table(["articles", *(f"{k}/10" for k in range(1, 11))],
                        [[str(n), *("" if r is None else _number(r, 0) for r in rates)] for n, rates in zip(text["sizes"], text["tenths_articles_per_s"])])
    if "time_ratio_last_two" in text:
        lines += ["", f"time({text['sizes'][-1]}) / time({text['sizes'][-2]}) = {text['time_ratio_last_two']:.2f} "
                  f"(size ratio {text['sizes'][-1] / text['sizes'][-2]:.0f})."]
        ratios = targets.run_ratios(text)
        if len(ratios) > 1:
            # The median hides how far the machine's speed moved between the runs the ratio divides.
            lines[-1] += (f" Against each {text['sizes'][-2]}-article run ("
                          + ", ".join(_number(sec, 1) for sec in text["run_seconds"][-2]) + " s, in run order): "
                          + ", ".join(_number(r, 2) for r in ratios) + ".")
    lines += ["", f"Where the text path spends its time (cProfile at {result.get('profile_size', 'n')} articles, all in one "
              "process so the stages of the prepare workers and of the in-order reader, which does the entity "
              "recognition when there are workers, show too; cumulative seconds):", ""]
    lines += _table(["stage", "seconds"], [[p["stage"], _number(p["seconds"], 2)] for p in result["text_path_profile"]])
    html = result["html_path"]
    lines += ["", "### HTML path (`ingest` of the aeb pages vs plain `trafilatura.extract(no_fallback=True)`)", ""]
    lines += _table(["pages", "storyline pages/s", "trafilatura pages/s", "ratio"],
                    [[str(html["pages"]), _number(html["pages_per_s"], 1), _number(html["trafilatura_pages_per_s"], 1), _number(html["ratio"], 2)]])
    if html.get("ratios"):
        lines += ["", f"The ratio is the median of {len(html['ratios'])} runs, each system timed side by side within a run: "
                  + ", ".join(_number(r, 2) for r in html["ratios"]) + "."]
    if "polling" in result:
        poll = result["polling"]
        lines += ["", "### Polling (`watch --once` over loopback feeds)", ""]
        lines += _table(["feeds", "hosts", "delay s", "cycle s", "politeness floor s", "overhead s", "failed"],
                        [[str(poll["feeds"]), str(poll["hosts"]), str(poll["delay_s"]), _number(poll["cycle_s"], 2),
                          _number(poll["politeness_floor_s"], 2), _number(poll["overhead_s"], 2), str(poll["failed"])]])
    if "serving" in result:
        lines += ["", render_serving(result["serving"]).rstrip("\n")]
    for note in result.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def render_serving(serve: dict[str, Any]) -> str:
    """Markdown for the serving figures: latency of the main pages under concurrent clients."""
    server = f"`storyline serve --workers {serve['workers']}`" if serve.get("workers") else "`storyline serve`"
    lines = [f"### Serving ({server}, {serve.get('clients')} concurrent clients, {serve['articles']} articles stored)", ""]
    detail = serve.get("detail", {})
    rounds = max((len(r.get("p95_ms_rounds", [])) for r in detail.values()), default=0)
    alone = any(r.get("alone_p50_ms") for r in detail.values())
    lines += _table(["page"] + (["alone p50 ms"] if alone else []) + ["p50 ms", "p95 ms", "requests/s"]
                    + (["p95 ms of each round"] if rounds > 1 else []),
                    [[name] + ([_number(r.get("alone_p50_ms"), 1)] if alone else [])
                     + [_number(r["p50_ms"], 1), _number(r["p95_ms"], 1), _number(r.get("requests_per_s"), 1)]
                     + ([", ".join(_number(v, 1) for v in r.get("p95_ms_rounds", []))] if rounds > 1 else [])
                     for name, r in detail.items()])
    if alone:
        lines += ["", "Alone: before the load, one client and nothing beside; what each page costs on this machine "
                      "in this run, and so how fast the machine was against other runs."]
    if rounds > 1:
        lines += ["", f"Each page was measured in {rounds} rounds, the pages taking turns; the table gives the medians."]
    client_cpu = [r["client_cpu_ms"] for r in detail.values() if r.get("client_cpu_ms")]
    if client_cpu:
        lines += ["", f"The clients (threads of one process, `http.client` on keep-alive connections) spent "
                      f"{_number(min(client_cpu), 2)} to {_number(max(client_cpu), 2)} ms of CPU per request, "
                      "on the same two cores as the server."]
    beside = serve.get("ingest_beside") or {}
    if beside.get("running"):
        lines += ["", f"An ingest ran beside the clients: asked {beside.get('rate_asked')}, "
                      f"achieved {beside.get('articles_per_s')} articles/s ({beside.get('articles')} in {beside.get('seconds')} s)."]
    return "\n".join(lines) + "\n"


def render(section: str, result: dict[str, Any]) -> str:
    """Markdown for one benchmark result with its targets checked, without the section markers."""
    return _render_body(section, result) + "".join(f"{line}\n" for line in targets.lines(section, result))


def _render_body(section: str, result: dict[str, Any]) -> str:
    """Markdown for one benchmark result's figures."""
    if section == "bench":
        return render_bench(result)
    if section == "bench-serving":
        info = result.get("machine") or machine()
        head = [
            "## Serving at scale (`storyline bench --only serving`)",
            "",
            f"- command: `{result.get('command') or _command(section)}`",
            f"- date: {result.get('date') or datetime.now(timezone.utc).isoformat(timespec='seconds')}",
            f"- machine: {info.get('cpu')}, {info.get('cores')} cores, Python {info.get('python')}",
            "- store: T17 texts through the pipeline plus rotated-sentence variants bulk-inserted (storyline/web/bench.py)",
            "",
        ]
        return "\n".join(head) + render_serving(result["serving"])
    if section not in ("extraction", "dates"):
        return render_generic(section, result)
    info = result.get("machine") or machine()
    ratio_header = f"speed vs {result.get('reference', 'reference')}"
    lines = [
        f"## {_TITLES.get(section, section)}",
        "",
        f"- data: `{result.get('data')}` ({result.get('pages', '?')} pages)",
        f"- command: `{result.get('command') or _command(section)}`",
        f"- date: {result.get('date') or datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {info.get('cpu')}, {info.get('cores')} cores, Python {info.get('python')}",
        f"- timing: one process, systems interleaved page by page, fastest of {result.get('repeats', 1)} runs per page",
        "",
    ]
    if section == "dates" or "accuracy" in (result["rows"][0] if result.get("rows") else {}):
        lines += _table(
            ["system", "version", "accuracy", "correct", "pages/s", ratio_header],
            [
                [
                    f"**{row['system']}**" if row["system"] == STORYLINE else row["system"],
                    row.get("version") or "",
                    _number(row.get("accuracy")),
                    f"{row.get('correct')}/{result.get('pages')}",
                    _number(row.get("pages_per_s"), 1),
                    _speed_ratio(row, result),
                ]
                for row in result["rows"]
            ],
        )
        if result.get("undated_gold"):
            lines += ["", f"{result['undated_gold']} gold pages carry no date; they count as misses for every system."]
    else:
        lines += _table(
            ["system", "version", "F1", "precision", "recall", "pages/s", ratio_header],
            [
                [
                    f"**{row['system']}**" if row["system"] == STORYLINE else row["system"],
                    row.get("version") or "",
                    _number(row.get("f1")),
                    _number(row.get("precision")),
                    _number(row.get("recall")),
                    _number(row.get("pages_per_s"), 1),
                    _speed_ratio(row, result),
                ]
                for row in result["rows"]
            ],
        )
    failed = [f"{row['system']} {row['failures']}" for row in result["rows"] if row.get("failures")]
    if failed:
        lines += ["", f"Pages a system raised an error on (scored as empty output): {', '.join(failed)}."]
    if result.get("baselines"):
        lines += ["", "Saved outputs of other extractors (`baselines/`), scored with the same scorer:", ""]
        lines += _table(
            ["system", "version", "F1", "precision", "recall"],
            [
                [row["system"], row.get("version") or "", *(_number(row[key]) for key in ("f1", "precision", "recall"))]
                for row in sorted(result["baselines"], key=lambda row: -row["f1"])
            ],
        )
    return "\n".join(lines) + "\n"


def write_benchmarks(section: str, result: dict[str, Any], path: Path = Path("docs/benchmarks.md")) -> None:
    """Replace (or add) one marked section of the benchmarks page, leaving the others intact."""
    path = Path(path)
    start, end = f"<!-- eval:{section} -->", f"<!-- /eval:{section} -->"
    block = f"{start}\n{render(section, result)}{end}"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in current and end in current.split(start, 1)[1]:
        before, rest = current.split(start, 1)
        after = rest.split(end, 1)[1]
        updated = f"{before}{block}{after}"
    else:
        updated = f"{current.rstrip()}\n\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Run one benchmark from the command line and print (and optionally record) its table."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m storyline.evaluate", description=main.__doc__)
    parser.add_argument("task", choices=["extraction", "dates"])
    parser.add_argument("--data", type=Path, help="data folder (default: the shared data set)")
    parser.add_argument("--no-peers", action="store_true", help="only Storyline and the reference system")
    parser.add_argument("--repeats", type=int, default=2, help="runs per page; the fastest counts")
    parser.add_argument("--write", type=Path, nargs="?", const=Path("docs/benchmarks.md"), help="update this page")
    args = parser.parse_args(argv)
    # extractors log a complaint per odd page; the table is what matters here
    logging.basicConfig(level=logging.ERROR)
    run = eval_extraction if args.task == "extraction" else eval_dates

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} pages", end="\n" if done == total else "", file=sys.stderr)

    result = run(args.data, peers=not args.no_peers, progress=progress, repeats=args.repeats)
    print(render(args.task, result))
    if args.write:
        write_benchmarks(args.task, result, args.write)


if __name__ == "__main__":
    main()
