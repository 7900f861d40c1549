"""The targets the issues set for each benchmark, checked against a result: met or missed, and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

STORYLINE = "storyline"
Check = tuple[str, float | None, str, bool]  # (what, measured, target as text, met?)


def _rows(result: dict[str, Any], system: str, data: str | None = None) -> list[dict[str, Any]]:
    """Rows of one system (and data set, by folder name)."""
    return [
        r for r in result.get("rows", [])
        if r.get("system") == system and (data is None or Path(str(r.get("data", ""))).name == data)
    ]


def _value(rows: list[dict[str, Any]], key: str) -> float | None:
    """A metric of the first row, if any."""
    return float(rows[0][key]) if rows and rows[0].get(key) is not None else None


def _at_least(what: str, value: float | None, target: float, fmt: str = ".3f") -> Check:
    """A check that a value reaches a target."""
    return what, value, f"≥ {target:{fmt}}", value is not None and value >= target


def _extraction(result: dict[str, Any]) -> list[Check]:
    """F1 ≥ .965 at ≥ 0.8× the speed of plain trafilatura, same run."""
    ours = _rows(result, STORYLINE)
    reference = _rows(result, str(result.get("reference")))
    speed = _value(ours, "pages_per_s")
    peer = _value(reference, "pages_per_s")
    return [
        _at_least("F1", _value(ours, "f1"), 0.965),
        _at_least("speed / trafilatura no_fallback", speed / peer if speed and peer else None, 0.8, ".2f"),
    ]


def _dates(result: dict[str, Any]) -> list[Check]:
    """Exact-day accuracy ≥ .93."""
    return [_at_least("exact-day accuracy", _value(_rows(result, STORYLINE), "accuracy"), 0.93)]


def _clustering(result: dict[str, Any]) -> list[Check]:
    """BCubed F1 ≥ .93 on ECB+ and ≥ .85 on the UCI stream."""
    return [
        _at_least("ECB+ BCubed F1", _value(_rows(result, STORYLINE, "ecbplus"), "bcubed_f1"), 0.93),
        _at_least("UCI BCubed F1", _value(_rows(result, STORYLINE, "uci-news-aggregator"), "bcubed_f1"), 0.85),
    ]


def _timelines(result: dict[str, Any]) -> list[Check]:
    """Above Datewise on AR1, AR2 and date F1."""
    ours, datewise = _rows(result, STORYLINE), _rows(result, "Datewise")
    checks = []
    for key, label in (("ar1_f", "AR1 F"), ("ar2_f", "AR2 F"), ("date_f1", "date F1")):
        value, bar = _value(ours, key), _value(datewise, key)
        met = value is not None and bar is not None and value > bar
        checks.append((label, value, f"> {bar:.3f} (Datewise)" if bar is not None else "> Datewise", met))
    return checks


SEARCH_P95_MS, PAGES_P95_MS, TIME_RATIO = 50, 100, 11
SEARCH_PAGES = ("search_page", "search_api")
OTHER_PAGES = ("stories_page", "story_page_largest", "story_page_median")


def _serving(serve: dict[str, Any]) -> list[Check]:
    """Search p95 ≤ 50 ms and pages p95 ≤ 100 ms."""
    search, page = serve.get("search_p95_ms"), serve.get("page_p95_ms")
    return [
        ("search p95 ms", search, f"≤ {SEARCH_P95_MS}", search is not None and search <= SEARCH_P95_MS),
        ("pages p95 ms", page, f"≤ {PAGES_P95_MS}", page is not None and page <= PAGES_P95_MS),
    ]


def _rounds(serve: dict[str, Any], names: tuple[str, ...]) -> list[float]:
    """The dearest of some pages' p95 in each round of the serving bench ([] when the rounds are not there)."""
    detail = serve.get("detail") or {}
    rounds = [detail[n].get("p95_ms_rounds") or [] for n in names if n in detail]
    if not rounds or len({len(r) for r in rounds}) != 1:
        return []
    return [max(values) for values in zip(*rounds)]


def run_ratios(text: dict[str, Any]) -> list[float]:
    """time(largest) / time(next size) against each run of the next size ([] when its runs were not kept)."""
    per_run = text.get("run_seconds") or []
    if len(per_run) < 2 or not text.get("seconds"):
        return []
    return [text["seconds"][-1] / sec for sec in per_run[-2]]


def by_run(result: dict[str, Any]) -> dict[str, list[tuple[float, bool]]]:
    """Each run's value and whether it meets the target, for figures that are medians of runs the result keeps."""
    out: dict[str, list[tuple[float, bool]]] = {}
    text = result.get("text_path") or {}
    if ratios := run_ratios(text):
        out[f"time({text['sizes'][-1]}) / time({text['sizes'][-2]})"] = [(r, r <= TIME_RATIO) for r in ratios]
    serve = result.get("serving") or {}
    for what, names, limit in (("search p95 ms", SEARCH_PAGES, SEARCH_P95_MS), ("pages p95 ms", OTHER_PAGES, PAGES_P95_MS)):
        if values := _rounds(serve, names):
            out[what] = [(v, v <= limit) for v in values]
    return out


def _bench(result: dict[str, Any]) -> list[Check]:
    """Text path ≥ 300/s at 100k, time(100k)/time(10k) ≤ 11, RSS ≤ 1 GB; HTML ≥ 0.8× trafilatura; serving."""
    text = result["text_path"]
    sizes = list(text["sizes"])
    largest = sizes.index(max(sizes))
    ratio = text.get("time_ratio_last_two")
    checks = [
        _at_least(f"text path articles/s at {sizes[largest]}", text["articles_per_s"][largest], 300, ".0f"),
        (f"time({sizes[-1]}) / time({sizes[-2]})" if len(sizes) > 1 else "time ratio", ratio, f"≤ {TIME_RATIO}",
         ratio is not None and ratio <= TIME_RATIO),
        ("peak memory MB", max(text["peak_rss_mb"]), "≤ 1024", max(text["peak_rss_mb"]) <= 1024),
        _at_least("HTML path / trafilatura no_fallback", result["html_path"]["ratio"], 0.8, ".2f"),
    ]
    if "serving" in result:
        checks += _serving(result["serving"])
    return checks


CHECKS: dict[str, Callable[[dict[str, Any]], list[Check]]] = {
    "extraction": _extraction,
    "dates": _dates,
    "clustering": _clustering,
    "timelines": _timelines,
    "bench": _bench,
    "bench-serving": lambda result: _serving(result["serving"]),
}


# Why a target is missed, as far as the measurements show; printed only under a missed target.
WHY: dict[str, str] = {
    "exact-day accuracy": (
        "{undated_gold} of the 200 gold entries carry no date, and several others give a day the page "
        "itself contradicts (the UTC day where the page shows its local day, or the reverse). The one "
        "further rule that would win a page here (a wiki diff dated from dateModified) holds only for "
        "MediaWiki pages, so it is not used."
    ),
    "ECB+ BCubed F1": (
        "each ECB+ topic pairs a happening with a same-kind sibling (another quake, another hiring) "
        "that shares most of its words. Bag-of-words features, ours and the TF-IDF peers in this run "
        "alike, separate them at about .89 to .90: the wrong joins happen when the sibling's first "
        "report meets a young event at similarity .25 to .35, where right joins happen too."
    ),
    "UCI BCubed F1": (
        "the replay merges same-topic stories the aggregator keeps apart (daily market reports, one "
        "company's separate stories). A one-day window would reach about .85 only by exploiting that "
        "each aggregator story arrives within about a minute, so it is not used."
    ),
    "text path articles/s": (
        "the target sits within this machine's drift of the measured rate. The run of 23:24 on "
        "2026-12-03 (code before the last commit of that night, which made no measurable difference: "
        "312.1 against 312.9 articles/s over 40,000 in interleaved runs) gave 309.7 at 100,000, with "
        "341.0 at 10,000; the run above, 35 minutes later, 297.2 with 319.2 at 10,000. The main "
        "process sets the pace at 100,000: it places articles in events and stories and writes SQLite "
        "one input at a time, in input order, while entity recognition runs a few inputs ahead in a "
        "process of its own and the order-free work in the prepare workers. That night the workers were "
        "set to run at nice 10, so the main process gets a core when it needs one (at equal priority four "
        "processes shared the two cores evenly: 10,000 articles ran at 263-299 articles/s against 328-345), "
        "and new articles were indexed for search at each commit rather than one by one (FTS5 had written "
        "each as a segment of its own). What is left grows with the archive (see the next target): the "
        "rate falls from about 380 over the first tenth to about 325 over the last ones before the refresh."
    ),
    "time(": (
        "the table of tenths above shows the rate falling through the run. What grows with the archive "
        "is in the main process, which sets the pace at this size: the near-duplicate look-up (16 seeks "
        "an article into a MinHash band index that outgrows the 64 MB page cache; 160 MB made no "
        "difference), story threading (a story's window runs for months, so each new event meets more "
        "stories) and the SQLite indexes of entity rows. The last tenth holds the end-of-run refresh of "
        "every event's title, date and summary (52,667 events against 5,229). On 2026-12-03 the run of "
        "23:24 gave 11.01 and the run of 23:59, 35 minutes later with one more commit that changed no "
        "measured speed, 10.74: the ratio sits within this machine's drift of its limit."
    ),
    "peak memory MB": (
        "the figure adds up the main process and both prepare workers (PSS). At 100,000 articles the "
        "main process held about 520 MB at the end of ingest: its mirror of up to 5,000 events and "
        "5,000 stories near the days being ingested, the entity lexicon and the word caches; each "
        "worker held 70 to 90 MB."
    ),
    "HTML path / trafilatura no_fallback": (
        "plain trafilatura runs in one process and only extracts. `ingest` does more per page: its "
        "extraction adds the metadata and date rules, each page then goes through the text path "
        "(entity recognition, events, SQLite with FTS5), and the run ends with the refresh of titles "
        "and summaries. The prepare workers and the main process share two cores, so 0.8x needs all "
        "of it within about 2.5x trafilatura's CPU time; measured with CPU clocks it takes 2.2x to "
        "3x. Each system reads the pages for only a few seconds and this machine's speed drifts, so "
        "the side-by-side runs above spread widely."
    ),
    "search p95 ms": (
        "{clients} clients keep {clients} requests in flight on two server processes, which share the two "
        "cores with the ingest beside and the clients, so each search waits behind several others: p95 "
        "comes to six to nine times a search's own cost (the alone column above), and how fast this "
        "machine runs decides the rest (a search alone took 5.8 to 10.3 ms in runs of 2026-12-03). "
        "That day: (1) the search index is cut by article id into shards of 20,000 articles "
        "(migration 010), read newest first, so bm25's count of the rows holding each phrase covers the "
        "newest shard rather than the whole archive (in one process a search took 5.2 ms on average "
        "against 8.9); (2) uvicorn's C parser and event loop (httptools, uvloop) and two threads a "
        "server process; (3) the clients stay spread over the server processes (web/balance.py): the "
        "processes share one listening socket, and the old rule that had a busy one close every answer's "
        "connection made 9 requests in 10 come on a new connection; in interleaved runs over this store "
        "p95 went from 81.1-98.6 ms to 52.7-59.5 with an ingest beside (71.0-73.8 to 50.5-56.3 without); "
        "(4) SQLite 3.51 (pysqlite3-binary) rather than Debian's 3.40: p95 51.3-76.2 against 59.1-88.6 "
        "in interleaved rounds of a slow hour. With (1) and (2) only, the 05:25 run gave 60.8 ms, 8.8 "
        "times its search alone (6.9 ms); with all four, three runs gave 62.3, 60.4 and 68.1 ms (at 07:23, "
        "07:28 and 08:01; 6.4, 6.4 and 7.7 times a search alone), in hours that ran slower (8.8 to 9.8 ms "
        "alone; right after the 07:28 run the 05:25 code took 11.4 to 12.4 ms alone, against 8.9 to 10.2 for this code). "
        "Later runs that day, with no change to the search path, kept the ratio: 58.9 ms at 08:56 (8.2 alone, 7.2 times) "
        "and 73.7 at 10:54 (10.0 alone, 7.4 times); at 13:24, with the day's safety fixes (a host check of "
        "its own, marks stripped from each page's stretch), 62.6 (10.9 alone, 5.7 times; the API's 55.4); "
        "at 15:32, with a filter alone made a search (no change to a search with words), 63.3 (9.0 alone, 7.0 times); "
        "at 17:53, with a query in Chinese, Japanese, Korean or Thai sent to a trigram index instead (none of the "
        "measured queries is), 66.6 (10.0 alone, 6.7 times; the API's 61.8). "
        "What is left of a search, in one process: ranking the "
        "newest 1,001 matches of a common word takes 2 to 4 ms (bm25's work for each match, about 1.3 "
        "microseconds, and its count within the newest shard; a prefix like oil* merges every word it "
        "stands for), highlighting the page 1 to 1.7 ms, its rows and HTML 0.5 to 1 ms, and FastAPI's and "
        "uvicorn's share under a millisecond. Ranking fewer matches, or shorter stretches of text to "
        "highlight, would be doing less to meet the figure."
    ),
    "pages p95 ms": (
        "as for search, each page waits behind several others, so p95 comes to about ten times a page's "
        "own cost (the alone column above). The stories page and the largest story's page are the dearest "
        "(64 and 80 KB of HTML; about 1 ms of each is FastAPI's and uvicorn's). On 2026-12-02 their charts, "
        "report lines and entity links were built with less work, which took about a seventh off both in "
        "one process over this store (stories page 13.6 to 14.0 ms down to 11.5 to 12.3, largest story 12.6 "
        "to 13.0 down to 11.0 to 11.2, in a slow hour). The p95 of each round above shows how far rounds "
        "differ on this machine, and whole runs differ more: earlier that day the same code before that "
        "change gave 67.7, 140.7 and 104.5 ms in three runs within 80 minutes (the clients' own CPU per "
        "request, a measure of the machine's speed, was 0.3, 0.6 and 0.5 ms); after it, in slower hours "
        "(0.5 to 0.7 ms), 179.1 and 162.7 ms, and then the run above, whose stories page alone took 21.8 "
        "ms against 17.3 in the run before it with the same page code. On 2026-12-03 the run of 15:32 gave "
        "90.9 ms (rounds 90.9, 114.9, 68.6) and the run of 17:53, with no change to the pages' code but a "
        "CSS rule, 101.2 (rounds 105.2, 98.1, 101.2; the largest story's page 12.6 ms alone against 18.1)."
    ),
}


def lines(section: str, result: dict[str, Any]) -> list[str]:
    """Markdown lines: the section's targets, what was measured, met or MISSED, why where missed, and which runs missed a met median."""
    check = CHECKS.get(section)
    if check is None:
        return []
    out = ["", "Targets (from the issues):", "", "| target | measured | required | |", "|---|---|---|---|"]
    reasons: list[str] = []
    facts = {"undated_gold": result.get("undated_gold", "?"), "clients": (result.get("serving") or {}).get("clients", 8)}
    runs = by_run(result)
    for what, value, required, met in check(result):
        # Two decimals up to 20, as for the runs: a ratio of 11.01 against a limit of 11 must not read 11.0.
        shown = "—" if value is None else f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}" if abs(value) < 20 else f"{value:.1f}"
        out.append(f"| {what} | {shown} | {required} | {'met' if met else '**MISSED**'} |")
        reason = next((text for key, text in WHY.items() if what.startswith(key)), None)
        if not met and reason:
            reasons.append(f"Why {what} is missed: {reason.format(**facts)}")
        if met and not all(ok for _, ok in runs.get(what, [])):
            # A median that meets the target while a run misses it is a margin this machine's drift can take away.
            each = ", ".join(f"{v:.2f}" if abs(v) < 20 else f"{v:.1f}" for v, _ in runs[what])
            reasons.append(f"{what} is met by the median, not in every run: {each} (in the order they ran).")
    for reason in dict.fromkeys(reasons):
        out += ["", reason]
    return out
